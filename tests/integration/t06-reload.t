#!/usr/bin/env bash
# SIGHUP / plsc reload: new settings reach running services without a
# restart; path or socket changes restart; added services start; removed
# ones stop; a broken config is refused and the running one kept.
. "$(dirname "$0")/../lib/lib.sh"
t_setup
plan 14

t_config '{}' "{\"A\": $(svc A '{"colour": "red"}'), \"B\": $(svc B), \"Gone\": $(svc Gone)}"
sup_start
wait_until 10 state_is A running && wait_until 5 state_is B running && wait_until 5 state_is Gone running
ok $? "A, B and Gone are running"
a=$(svc_pid A); b=$(svc_pid B); gone=$(svc_pid Gone)
port=$(free_port)

# A: a new setting; B: a new socket (needs a restart); Gone: removed; New: added.
t_config '{}' "{\"A\": $(svc A '{"colour": "blue"}'),
  \"B\": $(svc B "{\"listen\": {\"main\": \"127.0.0.1:$port\"}}"),
  \"New\": $(svc New)}"
kill -HUP "$SUP_PID"
wait_until 5 grep -q 'reconfigured: {"colour":"blue"' "$T/log/A.log"
ok $? "A received the new setting over its channel"
is "$(svc_pid A)" "$a" "without a restart (same pid)"
wait_until 5 running_with_new_pid B "$b"
ok $? "B was restarted for its new socket"
out=$(timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port; cat <&3")
like "$out" "^testsvc B uid" "B serves on the socket the supervisor bound for it"
wait_until 5 state_is New running
ok $? "a service added to the config is started"
wait_until 5 bash -c "! kill -0 $gone"
ok $? "a service removed from the config is stopped"
wait_until 5 bash -c "[ -z \"\$($BIN/plsc -c $CONF status --json | jq -r '.services[] | select(.name==\"Gone\") | .name')\" ]"
ok $? "and no longer listed"

# A broken config: refused, the running one stays.
cp "$CONF" "$T/good.json"
jq --argjson p 42 '.services.A.path = $p' "$T/good.json" > "$CONF"
out=$(plsc reload 2>&1); rc=$?
is "$rc" 1 "plsc reload of a broken config fails (1)"
like "$out" "reload refused, the running configuration stays: $CONF:[0-9]+:[0-9]+: services.A.path: expected a string" \
	"and says where the error is"
wait_until 5 grep -q "reload failed, keeping the running configuration: .*services.A.path: expected a string" "$T/log/plsc-supervisor.log"
ok $? "the supervisor log says so too"
state_is New running && state_is A running
ok $? "the services keep running"
cp "$T/good.json" "$CONF"
plsc reload >/dev/null
grep -q "configuration reloaded" "$T/log/plsc-supervisor.log"
ok $? "a good config reloads again"

# A service that was not running when it was removed is dropped too.
plsc disable New >/dev/null
wait_until 5 state_is New disabled
jq 'del(.services.New)' "$T/good.json" > "$CONF"
plsc reload >/dev/null
wait_until 5 bash -c "[ -z \"\$($BIN/plsc -c $CONF status --json | jq -r '.services[] | select(.name==\"New\") | .name')\" ]"
ok $? "a disabled service removed from the config is no longer listed"
t_done
