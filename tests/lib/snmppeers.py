#!/usr/bin/env python3
"""Small SNMP test peers for t70 (loopback only; nothing here parses SNMP).

  snmppeers.py silent PORTFILE
      a UDP port that swallows every datagram (a printer that never
      answers); its port is written to PORTFILE.
  snmppeers.py spoof PORTFILE AGENT_PORT COUNTFILE
      forwards each request to the real agent on 127.0.0.1:AGENT_PORT and
      sends the agent's answer back from ANOTHER socket (another port): a
      response from an address the poller did not ask. COUNTFILE gets the
      number of answers sent that way.
  snmppeers.py smtp PORTFILE MAILDIR
      a recording SMTP sink: each message's DATA goes to MAILDIR/N.eml.
"""
import os
import socket
import sys
import threading


def write(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def udp(port=0):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", port))
    return s


def silent(portfile):
    s = udp()
    write(portfile, str(s.getsockname()[1]))
    while True:
        s.recv(65536)


def spoof(portfile, agent_port, countfile):
    front, other = udp(), udp()
    write(portfile, str(front.getsockname()[1]))
    n = 0
    while True:
        data, peer = front.recvfrom(65536)
        up = udp()
        up.settimeout(2)
        up.sendto(data, ("127.0.0.1", int(agent_port)))
        try:
            answer = up.recv(65536)
        except socket.timeout:
            continue
        finally:
            up.close()
        other.sendto(answer, peer)  # from the wrong port
        n += 1
        write(countfile, str(n))


def smtp_session(conn, maildir, counter):
    f = conn.makefile("rwb")

    def say(line):
        f.write(line.encode() + b"\r\n")
        f.flush()

    say("220 sink ESMTP")
    data = None
    while True:
        line = f.readline()
        if not line:
            return
        cmd = line.decode(errors="replace").strip()
        if data is not None:
            if cmd == ".":
                counter[0] += 1
                write(os.path.join(maildir, "%d.eml" % counter[0]), "".join(data))
                data = None
                say("250 queued")
            else:
                data.append(line.decode(errors="replace"))
            continue
        verb = cmd.split(" ")[0].upper()
        if verb in ("EHLO", "HELO"):
            say("250 sink")
        elif verb == "DATA":
            data = []
            say("354 go on")
        elif verb == "QUIT":
            say("221 bye")
            return
        else:
            say("250 ok")


def smtp(portfile, maildir):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(8)
    write(portfile, str(s.getsockname()[1]))
    counter = [0]
    while True:
        conn, _ = s.accept()
        threading.Thread(target=smtp_session, args=(conn, maildir, counter), daemon=True).start()


if __name__ == "__main__":
    {"silent": silent, "spoof": spoof, "smtp": smtp}[sys.argv[1]](*sys.argv[2:])
