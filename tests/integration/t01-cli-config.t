#!/usr/bin/env bash
# CLI and config checking without a running supervisor.
. "$(dirname "$0")/../lib/lib.sh"
t_setup
plan 27

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

ok_help=0
for b in plsc plsc-supervisor plsc-testsvc; do
	"$BIN/$b" --help | grep -q Usage || ok_help=1
	"$BIN/$b" --version | grep -q '[0-9]\.[0-9]' || ok_help=1
done
is "$ok_help" 0 "every binary answers --help and --version"
t_done
