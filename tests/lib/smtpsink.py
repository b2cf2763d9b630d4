#!/usr/bin/env python3
"""A recording SMTP submission peer for the Email service's notices:
STARTTLS (required before AUTH), AUTH PLAIN / LOGIN checked against one
user and password, each message written to DIR/msg-N.eml with its envelope
in the first lines. One connection at a time. Usage:
  smtpsink.py DIR CERT KEY USER PASSWORD   (writes DIR/port when listening)"""
import base64, os, socket, ssl, sys

d, cert, key, user, password = sys.argv[1:6]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 0))
srv.listen(8)
with open(os.path.join(d, "port.tmp"), "w") as f:
    f.write(str(srv.getsockname()[1]))
os.rename(os.path.join(d, "port.tmp"), os.path.join(d, "port"))
n = 0


def serve(conn):
    global n
    tls = False
    authed = False
    rf = conn.makefile("rb")

    def say(s):
        conn.sendall((s + "\r\n").encode())

    say("220 sink ESMTP")
    env_from, rcpts = None, []
    while True:
        line = rf.readline()
        if not line:
            return
        cmd = line.decode(errors="replace").rstrip("\r\n")
        up = cmd.upper()
        if up.startswith("EHLO") or up.startswith("HELO"):
            caps = ["250-sink"]
            caps.append("250-AUTH PLAIN LOGIN" if tls else "250-STARTTLS")
            caps.append("250 8BITMIME")
            say("\r\n".join(caps))
        elif up == "STARTTLS" and not tls:
            say("220 go ahead")
            conn = ctx.wrap_socket(conn, server_side=True)
            rf = conn.makefile("rb")
            tls = True
        elif up.startswith("AUTH PLAIN"):
            parts = cmd.split(" ", 2)
            if len(parts) < 3:
                say("334 ")
                parts.append(rf.readline().decode().strip())
            raw = base64.b64decode(parts[2]).split(b"\0")
            ok = tls and len(raw) == 3 and raw[1].decode() == user and raw[2].decode() == password
            authed = ok
            say("235 ok" if ok else "535 bad credentials")
        elif up.startswith("AUTH LOGIN"):
            say("334 VXNlcm5hbWU6")
            u = base64.b64decode(rf.readline().strip()).decode()
            say("334 UGFzc3dvcmQ6")
            p = base64.b64decode(rf.readline().strip()).decode()
            authed = tls and u == user and p == password
            say("235 ok" if authed else "535 bad credentials")
        elif up.startswith("MAIL FROM:"):
            if not authed:
                say("530 authentication required")
                continue
            env_from, rcpts = cmd[10:].strip(), []
            say("250 ok")
        elif up.startswith("RCPT TO:"):
            rcpts.append(cmd[8:].strip())
            say("250 ok")
        elif up == "DATA":
            say("354 end with .")
            body = []
            while True:
                l = rf.readline()
                if not l or l in (b".\r\n", b".\n"):
                    break
                body.append(l[1:] if l.startswith(b"..") else l)
            n += 1
            p = os.path.join(d, "msg-%d.eml" % n)
            with open(p + ".tmp", "wb") as f:
                f.write(("X-Envelope-From: %s\r\nX-Envelope-To: %s\r\n" % (env_from, ",".join(rcpts))).encode())
                f.write(b"".join(body))
            os.rename(p + ".tmp", p)
            say("250 queued")
        elif up == "QUIT":
            say("221 bye")
            return
        elif up in ("RSET", "NOOP"):
            say("250 ok")
        else:
            say("502 no")


while True:
    c, _ = srv.accept()
    try:
        serve(c)
    except Exception as e:  # a test peer: note it and go on
        sys.stderr.write("smtpsink: %s\n" % e)
    finally:
        c.close()
