#!/usr/bin/env bash
# SIGHUP / plsc reload: new settings reach running services without a
# restart; path or socket changes restart; added services start; removed
# ones stop; a broken config is refused and the running one kept, also when
# only a service's own key is wrong (its schema); a file that does not even
# parse still lets plsc reach the supervisor.
. "$(dirname "$0")/../lib/lib.sh"
t_setup
plan 32

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
wait_until 5 grep -q "configuration reloaded" "$T/log/plsc-supervisor.log"
ok $? "a good config reloads again"

# A service that was not running when it was removed is dropped too.
plsc disable New >/dev/null
wait_until 5 state_is New disabled
jq 'del(.services.New)' "$T/good.json" > "$CONF"
plsc reload >/dev/null
wait_until 5 bash -c "[ -z \"\$($BIN/plsc -c $CONF status --json | jq -r '.services[] | select(.name==\"New\") | .name')\" ]"
ok $? "a disabled service removed from the config is no longer listed"

# A service's own keys (issue #10 item 3): OfflinePrint joins by a reload;
# then a typo, and a value out of range, in its section are refused, and
# with them the rest of that config (A's new colour): all of it or none.
op_port=$(free_port)
jq --arg n "$OP" --arg p "$BIN/$OP" --arg l "127.0.0.1:$op_port" \
	'.services[$n] = {path: $p, listen: {main: $l}, max_clients: 4}' "$CONF" > "$T/op-good.json"
cp "$T/op-good.json" "$CONF"
plsc reload >/dev/null
wait_until 15 state_is "$OP" running
ok $? "OfflinePrint, added by a reload, runs"
op=$(svc_pid "$OP"); a=$(svc_pid A)
check_refused() { # check_refused JQ_EDIT KEY MESSAGE_REGEX
	jq --arg n "$OP" "$1 | .services.A.colour = \"green\"" "$T/op-good.json" > "$CONF"
	out=$(plsc reload 2>&1); rc=$?
	is "$rc" 1 "plsc reload with $2 fails (1)"
	like "$out" "reload refused, the running configuration stays: $CONF:[0-9]+:[0-9]+: services.$OP.$2: $3" \
		"and says where and why"
	is "$(svc_pid "$OP") $(svc_pid A) $(field "$OP" state)" "$op $a running" \
		"OfflinePrint and A keep running (same pids)"
	! grep -q '"colour":"green"' "$T/log/A.log" && ! grep -q "settings updated\|rejected" "$T/log/$OP.log"
	ok $? "neither got any of the refused configuration"
	(exec 3<>"/dev/tcp/127.0.0.1/$op_port") 2>/dev/null
	ok $? "OfflinePrint still accepts connections on its port"
}
check_refused '.services[$n].expiry_hour = 12' expiry_hour "unknown key \\(did you mean expiry_hours\\?\\)"
check_refused '.services[$n].max_clients = 0' max_clients "expected an integer between 1 and 100000"
jq --arg n "$OP" '.services[$n].max_clients = 8' "$T/op-good.json" > "$CONF"
plsc reload >/dev/null
wait_until 5 grep -q "settings updated" "$T/log/$OP.log" && [ "$(svc_pid "$OP")" = "$op" ]
ok $? "a good change of its keys reaches OfflinePrint without a restart"

# A JSON syntax error must not lock the admin out.
sed 's/"services": {/"services": {,/' "$CONF" > "$T/syntax.json"
cp "$T/syntax.json" "$CONF"
out=$(plsc status 2>"$T/status.err"); rc=$?
is "$rc" 0 "plsc status works with a config that does not parse"
like "$(cat "$T/status.err")" "$CONF:[0-9]+:[0-9]+: .*control socket $T/run/plsc.sock" \
	"it says what is wrong and which socket it used"
like "$out" "$OP" "and lists the services"
"$BIN/plsc" -c "$CONF" -s "$T/run/plsc.sock" status >/dev/null 2>&1
ok $? "plsc -s SOCKET status works too"
plsc reload >/dev/null 2>&1
is "$?" 1 "plsc reload refuses the file"
plsc stop >/dev/null 2>&1 && wait_until 10 bash -c "! kill -0 $SUP_PID"
ok $? "plsc stop stops the supervisor"
t_done
