#!/usr/bin/env bash
# CLI and config checking without a running supervisor.
. "$(dirname "$0")/../lib/lib.sh"
t_setup
plan 40

t_config '{}' "{\"A\": $(svc A)}"

out=$(plsc status 2>&1); rc=$?
is "$rc" 3 "plsc status with no supervisor exits 3"
like "$out" "supervisor is not running" "and says so clearly"

plsc >/dev/null 2>&1; is "$?" 2 "plsc without a command is a usage error (2)"
plsc frobnicate >/dev/null 2>&1; is "$?" 2 "unknown command is a usage error (2)"
plsc enable >/dev/null 2>&1; is "$?" 2 "enable without NAME is a usage error (2)"
plsc enable '../x' >/dev/null 2>&1; is "$?" 2 "an invalid service name is refused (2)"

"$BIN/plsc-supervisor" -c "$CONF" -n >/dev/null 2>&1
is "$?" 0 "-n accepts a good config"

# The issue's example: a wrong type names file, line, column and key path.
cat > "$T/bad.json" <<'JSON'
{
  "paths": {"state_dir": "/tmp/x", "log_dir": "/tmp/x", "run_dir": "/tmp/x"},
  "supervisor": {
    "heartbeat_interval_ms": "fast"
  },
  "services": {}
}
JSON
out=$("$BIN/plsc-supervisor" -c "$T/bad.json" -n 2>&1); rc=$?
is "$rc" 1 "-n rejects a wrongly typed value with exit 1"
is "$out" "$T/bad.json:4:5: supervisor.heartbeat_interval_ms: expected an integer" \
	"the error is file:line:col: key.path: message"
sed -i 's/"fast"/5/' "$T/bad.json"
out=$("$BIN/plsc-supervisor" -c "$T/bad.json" -n 2>&1)
is "$out" "$T/bad.json:4:5: supervisor.heartbeat_interval_ms: expected an integer between 10 and 3600000" \
	"an out-of-range value names the range"

printf '{\n  "services": {\n    "A": {"path": "/bin/true",}\n  }\n}\n' > "$T/syntax.json"
out=$("$BIN/plsc-supervisor" -c "$T/syntax.json" -n 2>&1); rc=$?
is "$rc" 1 "-n rejects a syntax error"
like "$out" "^$T/syntax.json:3:[0-9]+: " "a syntax error names file:line:col"

printf '{"services": {"A": {"path": "/bin/true", "enabled": "yes"}}, "colour": 1}\n' > "$T/key.json"
out=$("$BIN/plsc-supervisor" -c "$T/key.json" -n 2>&1)
like "$out" "colour: unknown key" "an unknown top-level key is reported"

printf '{"services": {"A": {"path": "relative/bin"}}}\n' > "$T/rel.json"
out=$("$BIN/plsc-supervisor" -c "$T/rel.json" -n 2>&1)
like "$out" "services.A.path: expected an absolute path" "a relative service path is refused"

# A service's own keys are checked against its schema (issue #10 item 3):
# a typo and a value out of range fail -n, not the service's next start.
cat > "$T/op.json" <<JSON
{
  "paths": {"state_dir": "$T/s", "log_dir": "$T/l", "run_dir": "$T/r"},
  "services": {
    "PrinterLogicServiceOfflinePrint": {
      "path": "$BIN/PrinterLogicServiceOfflinePrint",
      "expiry_hour": 12
    }
  }
}
JSON
out=$("$BIN/plsc-supervisor" -c "$T/op.json" -n 2>&1); rc=$?
is "$rc" 1 "-n rejects an unknown key in OfflinePrint's section"
is "$out" "$T/op.json:6:7: services.PrinterLogicServiceOfflinePrint.expiry_hour: unknown key (did you mean expiry_hours?)" \
	"with file:line:col, the key path and the key it resembles"
sed -i 's/"expiry_hour": 12/"max_clients": 0/' "$T/op.json"
out=$("$BIN/plsc-supervisor" -c "$T/op.json" -n 2>&1); rc=$?
is "$rc" 1 "-n rejects max_clients: 0"
is "$out" "$T/op.json:6:7: services.PrinterLogicServiceOfflinePrint.max_clients: expected an integer between 1 and 100000" \
	"and names the range"
sed -i 's/"max_clients": 0/"max_clients": 1, "user": "plsc-op", "expiry_hours": 12/' "$T/op.json"
"$BIN/plsc-supervisor" -c "$T/op.json" -n >/dev/null 2>&1
is "$?" 0 "-n accepts the service's keys and the supervisor's (user) in its section"
jq '.services["plsc-console"] = {path: "/bin/true", tls_cert: "/etc/c.pem"}
    | .services["plsc-directory"] = {path: "/bin/true", directory: "rel.db"}' \
	"$T/op.json" > "$T/cs.json"
out=$("$BIN/plsc-supervisor" -c "$T/cs.json" -n 2>&1)
like "$out" "services.plsc-console.tls_cert: needs tls_key too" "tls_cert without tls_key is refused"
jq '.services["plsc-console"].tls_key = "/etc/k.pem"' "$T/cs.json" > "$T/cs2.json"
out=$("$BIN/plsc-supervisor" -c "$T/cs2.json" -n 2>&1)
like "$out" "services.plsc-directory.directory: expected an absolute path" \
	"a path key must be absolute"
# Sections of services without a schema (here the test service) are theirs.
t_config '{}' "{\"A\": $(svc A '{"anything": [1, 2]}')}"
"$BIN/plsc-supervisor" -c "$CONF" -n >/dev/null 2>&1
is "$?" 0 "a service without a schema keeps its section unchecked"
t_config '{}' "{\"A\": $(svc A)}"

out=$("$BIN/plsc-supervisor" -c "$T/missing.json" -n 2>&1); rc=$?
is "$rc" 1 "-n on a missing file exits 1"

"$BIN/plsc-supervisor" --print-default-config --base "$T/d" > "$T/default.json"
"$BIN/plsc-supervisor" -c "$T/default.json" -n >/dev/null 2>&1
is "$?" 0 "the printed default config passes -n"
n=$(jq '.services | keys | length' "$T/default.json")
is "$n" 9 "the default config names all seven services, the console and plsc-directory"
is "$(jq -r '.services["plsc-console"].listen.main' "$T/default.json")" "127.0.0.1:8443" \
	"the console listens on 127.0.0.1:8443 by default"
is "$(jq -r '[.services | to_entries[] | select(.value.enabled == false) | .key] | sort | join(" ")' "$T/default.json")" \
	"PrinterLogicServiceAirprint PrinterLogicServiceEmail PrinterLogicServiceIdentitySync" \
	"off by default: the services that need the site's settings first (mailbox, LAN address, directory server)"

# A PIN never on the command line (#11 item 8): ps shows every argument.
has_pin() { plsc users list --json | jq -r ".users[] | select(.username == \"$1\") | .has_pin"; }
out=$(plsc users add pat --pin 2468 2>&1); rc=$?
is "$rc" 2 "plsc users add --pin 2468 (a PIN in the arguments) is a usage error (2)"
like "$out" "--pin takes no value .*shows in ps.*--pin-file FILE" "and says why and what to do instead"
echo 2468 | plsc users add pat --pin >/dev/null
is "$?:$(has_pin pat)" "0:true" "--pin reads the PIN as one line of standard input"
printf '13579\n' > "$T/pin"; chmod 644 "$T/pin"
out=$(plsc users add pia --pin-file "$T/pin" 2>&1); rc=$?
like "$rc:$out" "^1:plsc: PIN file .* is readable by group or others \(mode 0644\); chmod 600 it" \
	"a PIN file others can read is refused"
chmod 600 "$T/pin"
plsc users add pia --pin-file "$T/pin" >/dev/null
is "$?:$(has_pin pia)" "0:true" "--pin-file FILE reads it from a private file"
: > "$T/nopin"; chmod 600 "$T/nopin"
plsc users add pia --replace --pin-file "$T/nopin" >/dev/null
is "$?:$(has_pin pia)" "0:false" "an empty PIN file clears the PIN (with --replace)"
out=$(echo 12 | plsc users add pim --pin 2>&1); rc=$?
like "$rc:$out" "^1:.*a PIN is 4 to 32 digits" "a bad PIN on standard input is refused"
# On a terminal: asked twice, not echoed.
tty_out=$(python3 - "$BIN/plsc" -c "$CONF" users add pit --pin <<'PY'
import os, pty, select, sys, time
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
out, answers = b"", [b"8642\n", b"8642\n"]
deadline = time.time() + 10
while time.time() < deadline:
    if not select.select([fd], [], [], 0.5)[0]:
        continue
    try:
        chunk = os.read(fd, 1024)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
    # one answer per prompt shown: the newline plsc prints after an
    # answer can come on its own, and out.rstrip() would then still end
    # with the answered prompt (a second answer sent too soon is echoed
    # and then flushed by the next prompt's TCSAFLUSH)
    shown = out.count(b"PIN: ") + out.count(b"Again: ")
    if answers and shown > 2 - len(answers) and out.endswith((b"PIN: ", b"Again: ")):
        os.write(fd, answers.pop(0))
if time.time() >= deadline:
    os.kill(pid, 9)
os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors="replace").replace("\r", ""))
PY
)
like "$tty_out" "PIN: .*Again: " "on a terminal the PIN is asked for twice"
[[ "$tty_out" != *8642* ]]
ok $? "without echo"
is "$(has_pin pit)" true "and set"

# E-mail addresses are addr-specs (#11 item 8): markup is not one.
out=$(plsc users add mal --email '"><script>alert(1)</script>@x.org' 2>&1); rc=$?
like "$rc:$out" "^1:plsc: user mal: invalid email address: a character that is not allowed before the @" \
	"plsc users add refuses an e-mail address that is not an addr-spec"
plsc users add meg --email meg.o\'brien+print@mail.example.org >/dev/null
is "$?:$(plsc users list --json | jq -r '.users[] | select(.username == "meg") | .emails[0]')" \
	"0:meg.o'brien+print@mail.example.org" "and takes one that is"

ok_help=0
for b in plsc plsc-supervisor plsc-testsvc; do
	"$BIN/$b" --help | grep -q Usage || ok_help=1
	"$BIN/$b" --version | grep -q '[0-9]\.[0-9]' || ok_help=1
done
is "$ok_help" 0 "every binary answers --help and --version"
t_done
