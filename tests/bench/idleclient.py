#!/usr/bin/env python3
"""The floor of make bench [11]: a bare IMAP client in IDLE on the same
Dovecot mailbox, printing the wall-clock time (ns) at which each
"* N EXISTS" arrives, one a line, flushed. No libetpan, no conversion,
no store: what the server's notification alone costs.
  idleclient.py HOST PORT CAFILE USER PASSWORD OUTFILE"""
import socket, ssl, sys, time

host, port, ca, user, pw, out = sys.argv[1:7]
ctx = ssl.create_default_context(cafile=ca)
s = ctx.wrap_socket(socket.create_connection((host, int(port))), server_hostname=host)
f = s.makefile("rb")
f.readline()


def cmd(tag, line):
    s.sendall(("%s %s\r\n" % (tag, line)).encode())
    while True:
        l = f.readline()
        if not l or l.startswith(tag.encode() + b" "):
            return l


cmd("a1", 'LOGIN "%s" "%s"' % (user, pw))
cmd("a2", "SELECT INBOX")
s.sendall(b"a3 IDLE\r\n")
f.readline()  # "+ idling"
open(out + ".ready", "w").close()
with open(out, "a") as o:
    while True:
        l = f.readline()
        if not l:
            break
        if l.startswith(b"* ") and l.rstrip().endswith(b"EXISTS"):
            o.write("%d\n" % time.time_ns())
            o.flush()
