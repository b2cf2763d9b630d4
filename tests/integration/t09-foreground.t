#!/usr/bin/env bash
# A service binary runs alone with --foreground for debugging: it reads its
# section of the config file itself, binds its own sockets, stops on SIGTERM,
# and reports its own config errors with file:line:col.
. "$(dirname "$0")/../lib/lib.sh"
t_setup
plan 5

port=$(free_port)
t_config '{}' "{\"Solo\": $(svc Solo "{\"listen\": {\"main\": \"127.0.0.1:$port\"}}")}"
"$TESTSVC" --foreground -n Solo -c "$CONF" > "$T/solo.out" 2>&1 &
pid=$!
wait_until 5 grep -q "ready (foreground)" "$T/solo.out"
ok $? "the test service starts alone with --foreground"
out=$(timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port; cat <&3")
like "$out" "^testsvc Solo uid" "it binds and serves its own socket"
kill -TERM "$pid"; wait "$pid"; rc=$?
is "$rc" 0 "SIGTERM stops it cleanly (exit 0)"

jq '.services["plsc-testsvc"] = {"path": "/x", "crash_after_ms": "soon"}' "$CONF" > "$T/bad.json"
out=$("$TESTSVC" --foreground -c "$T/bad.json" 2>&1); rc=$?
is "$rc" 78 "a bad setting exits 78 (bad config)"
like "$out" "$T/bad.json:[0-9]+:[0-9]+: services.plsc-testsvc.crash_after_ms: expected an integer" \
	"and names file:line:col and the key"
t_done
