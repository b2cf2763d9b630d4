#!/usr/bin/env python3
"""A hostile IMAP server for the Email service's bounds (t63): implicit
TLS with the test's certificate, any login accepted, one message in INBOX
whose announced size is small but whose FETCH BODY[] is a literal of
LITERAL bytes, streamed for as long as the client reads. Writes DIR/port,
and DIR/sent (bytes of the literal sent) when the client goes.
  evilimap.py DIR CERT KEY LITERAL"""
import os, socket, ssl, sys

d, cert, key, literal = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 0))
srv.listen(4)
with open(os.path.join(d, "port.tmp"), "w") as f:
    f.write(str(srv.getsockname()[1]))
os.rename(os.path.join(d, "port.tmp"), os.path.join(d, "port"))
CAPS = "IMAP4rev1 IDLE MOVE UIDPLUS"


def serve(c):
    f = c.makefile("rb")
    c.sendall(b"* OK [CAPABILITY %s] evil ready\r\n" % CAPS.encode())
    while True:
        line = f.readline()
        if not line:
            return
        parts = line.decode(errors="replace").rstrip("\r\n").split(" ")
        tag, cmd = parts[0], " ".join(parts[1:]).upper()
        if cmd.startswith("CAPABILITY"):
            c.sendall(b"* CAPABILITY %s\r\n%s OK done\r\n" % (CAPS.encode(), tag.encode()))
        elif cmd.startswith("LOGIN"):
            c.sendall(b"%s OK [CAPABILITY %s] logged in\r\n" % (tag.encode(), CAPS.encode()))
        elif cmd.startswith("SELECT"):
            c.sendall(b"* 1 EXISTS\r\n* OK [UIDVALIDITY 7] v\r\n%s OK [READ-WRITE] done\r\n" % tag.encode())
        elif cmd.startswith("UID SEARCH"):
            c.sendall(b"* SEARCH 1\r\n%s OK done\r\n" % tag.encode())
        elif cmd.startswith("UID FETCH") and "RFC822.SIZE" in cmd:
            c.sendall(b"* 1 FETCH (UID 1 RFC822.SIZE 100)\r\n%s OK done\r\n" % tag.encode())
        elif cmd.startswith("UID FETCH"):
            c.sendall(b"* 1 FETCH (UID 1 BODY[] {%d}\r\n" % literal)
            chunk = b"X" * 65536
            sent = 0
            try:
                while sent < literal:
                    c.sendall(chunk)
                    sent += len(chunk)
            finally:
                with open(os.path.join(d, "sent"), "w") as o:
                    o.write(str(sent))
            return
        elif cmd.startswith("LOGOUT"):
            c.sendall(b"* BYE\r\n%s OK bye\r\n" % tag.encode())
            return
        else:
            c.sendall(b"%s OK fine\r\n" % tag.encode())


while True:
    conn, _ = srv.accept()
    try:
        serve(ctx.wrap_socket(conn, server_side=True))
    except Exception as e:  # the client cut us off: what the test wants
        sys.stderr.write("evilimap: %s\n" % e)
    finally:
        conn.close()
