#!/usr/bin/env python3
"""A one-connection TLS peer for t93: listens on 127.0.0.1 (the port is
written to PORTFILE), takes one connection, records every byte the client
sends before the blank line of its request into LOG, answers 200 with BODY.
Usage: tls_once.py CERT KEY PORTFILE LOG BODY"""
import socket
import ssl
import sys

cert, key, portfile, log, body = sys.argv[1:6]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
ls.bind(("127.0.0.1", 0))
ls.listen(1)
with open(portfile + ".tmp", "w") as f:
    f.write(str(ls.getsockname()[1]))
import os
os.rename(portfile + ".tmp", portfile)
ls.settimeout(30)
c, _ = ls.accept()
c.settimeout(10)
got = b""
try:
    s = ctx.wrap_socket(c, server_side=True)
    while b"\r\n\r\n" not in got:
        d = s.recv(4096)
        if not d:
            break
        got += d
    if b"\r\n\r\n" in got:
        data = open(body, "rb").read()
        s.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(data) + data)
        s.close()
except (ssl.SSLError, OSError) as e:
    got += ("\n[tls: %s]\n" % e).encode()
with open(log, "wb") as f:
    f.write(got)
