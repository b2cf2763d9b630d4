"""An OAuth 2.0 token introspection endpoint (RFC 7662) for Dovecot's oauth2
passdb in the Email tests: a token is active when it is a word of
TOKENS_FILE (read again at each request), for the user printmail.
  oauth2introspect.py PORT_FILE TOKENS_FILE"""
import http.server, json, sys, os

class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length", 0)); body = self.rfile.read(n).decode()
        tok = ""
        for kv in body.split("&"):
            if kv.startswith("token="): tok = kv[6:]
        auth = self.headers.get("Authorization", "")
        if not tok and auth.startswith("Bearer "): tok = auth[7:]
        good = set(open(sys.argv[2]).read().split())
        r = {"active": True, "username": "printmail"} if tok in good else {"active": False}
        b = json.dumps(r).encode()
        self.send_response(200); self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(b))); self.end_headers(); self.wfile.write(b)
    def do_GET(self): self.do_POST()
    def log_message(self, *a): sys.stderr.write("introspect: %s\n" % (a,))
s = http.server.HTTPServer(("127.0.0.1", 0), H)
open(sys.argv[1] + ".tmp", "w").write(str(s.server_port)); os.rename(sys.argv[1] + ".tmp", sys.argv[1])
s.serve_forever()
