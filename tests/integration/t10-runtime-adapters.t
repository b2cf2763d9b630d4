#!/usr/bin/env bash
# The service runtime with foreign loops, watchdogs and pools, through
# plsc-adaptsvc (tests/lib/adaptsvc.c) under the real supervisor:
#  - libcurl multi ("set + timeout" adapter) downloads a file from a
#    python3 http.server on 127.0.0.1; the bytes and sha256 match;
#  - a libwebsockets client ("one by one" adapter) talks to an independent
#    WebSocket echo peer (node + ws, tests/wspeer) on 127.0.0.1;
#  - net-snmp sessions ("set + timeout" adapter) GET sysDescr.0 and
#    sysName.0 from two real snmpd agents on 127.0.0.1 and time out on a
#    third port where nothing answers, all at once, while the service keeps
#    answering heartbeats;
#  - a worker thread whose watchdog goes silent gets the service restarted
#    by the heartbeat timeout, and both logs name the watchdog;
#  - a pool whose job is stuck shows up in `plsc status`, and leaves it
#    when the job ends.
. "$(dirname "$0")/../lib/lib.sh"

WSPEER_DIR=$TOP/tests/wspeer
ADAPTSVC=$BIN/plsc-adaptsvc
missing=
command -v python3 >/dev/null 2>&1 || missing+=" python3"
command -v node >/dev/null 2>&1 || missing+=" node"
command -v npm >/dev/null 2>&1 || missing+=" npm"
[ -x "$SNMPD" ] || missing+=" snmpd"
if [ -n "$missing" ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "1..0 # SKIP missing:$missing (scripts/install-deps installs them, as root)"
		exit 0
	fi
	plan 1
	ok 1 "the test's dependencies are installed (missing:$missing; run scripts/install-deps)"
	exit 1
fi

t_setup
plan 22

if [ ! -d "$WSPEER_DIR/node_modules/ws" ]; then
	if ! (cd "$WSPEER_DIR" && npm ci --no-audit --no-fund) >"$T/npm-ci.log" 2>&1; then
		ok 1 "npm ci in tests/wspeer"
		tail -20 "$T/npm-ci.log" | sed 's/^/#   /'
		exit 1
	fi
fi

# The peers: a static HTTP server and a WebSocket echo server, loopback only.
mkdir -p "$T/www"
head -c 300000 /dev/urandom > "$T/www/blob"
HTTP_PORT=
for _ in 1 2 3; do
	HTTP_PORT=$(free_port)
	python3 -m http.server --bind 127.0.0.1 --directory "$T/www" "$HTTP_PORT" \
		>"$T/http.log" 2>&1 </dev/null &
	BG_PIDS+=($!)
	wait_until 10 curl -sf -o /dev/null "http://127.0.0.1:$HTTP_PORT/blob" && break
	HTTP_PORT=
done
node "$WSPEER_DIR/echo.mjs" "$T/ws.port" >"$T/wspeer.log" 2>&1 </dev/null &
BG_PIDS+=($!)
wait_until 20 test -s "$T/ws.port"
WS_PORT=$(cat "$T/ws.port" 2>/dev/null)
ok $([ -n "$HTTP_PORT" ] && [ -n "$WS_PORT" ]; echo $?) "the HTTP and WebSocket peers listen on 127.0.0.1"

# The SNMP peers: two snmpd agents, and a UDP port that swallows every
# request (bound, so no ICMP error ends the wait early: a true timeout).
snmpd_start a "Test printer alpha" alpha.test && SNMP_A=$SNMPD_PORT
snmpd_start b "Test printer beta" beta.test && SNMP_B=$SNMPD_PORT
python3 -u -c 'import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
while True:
    s.recv(65536)' >"$T/silent.port" 2>"$T/silent.log" </dev/null &
BG_PIDS+=($!)
wait_until 10 test -s "$T/silent.port"
SNMP_SILENT=$(cat "$T/silent.port" 2>/dev/null)
ok $([ -n "${SNMP_A:-}" ] && [ -n "${SNMP_B:-}" ] && [ -n "$SNMP_SILENT" ]; echo $?) \
	"two snmpd agents and a silent UDP port on 127.0.0.1"

asvc() { # asvc MODE_JSON
	jq -n --arg p "$ADAPTSVC" --argjson extra "$1" '{path: $p} + $extra'
}
t_config '{}' "{
  \"Fetch\": $(asvc "{\"mode\": \"curl\", \"url\": \"http://127.0.0.1:$HTTP_PORT/blob\"}"),
  \"Echo\": $(asvc "{\"mode\": \"ws\", \"ws_port\": ${WS_PORT:-1}, \"count\": 3}"),
  \"Poll\": $(asvc "$(jq -n --arg a "udp:127.0.0.1:${SNMP_A:-1}" --arg b "udp:127.0.0.1:${SNMP_B:-1}" \
	--arg s "udp:127.0.0.1:${SNMP_SILENT:-1}" \
	'{mode: "snmp", agents: [$a, $b, $s], community: "public", timeout_ms: 400, retries: 2}')"),
  \"Hang\": $(asvc '{"mode": "hang", "watchdog_ms": 400}'),
  \"Stuck\": $(asvc '{"mode": "stuck", "stuck_ms": 300}')
}"
sup_start

# (a) libcurl through the adapter
wait_until 30 test -s "$T/lib/Fetch/download"
want="bytes 300000 sha256 $(sha256sum "$T/www/blob" | cut -d' ' -f1)"
is "$(cat "$T/lib/Fetch/download" 2>/dev/null)" "$want" "curl multi on the adapter downloads every byte (size and sha256 match)"
like "$(field Fetch detail)" "downloaded 300000 bytes" "plsc status shows the service's own line"
is "$(field Fetch state)" running "and the service keeps running"

# (b) libwebsockets through the adapter
wait_until 30 test -s "$T/lib/Echo/ws"
is "$(cat "$T/lib/Echo/ws" 2>/dev/null)" "$(printf 'echo: hello 1\necho: hello 2\necho: hello 3')" \
	"the lws client on the adapter got each echo from the ws peer, in order"
is "$(field Echo state)" running "the WebSocket service keeps running"

# (c) net-snmp through the adapter. The silent agent's GETs are pending for
# 1.2 s (400 ms, two retries), twice the heartbeat timeout: had the wait
# for them blocked the loop, the supervisor would have restarted Poll.
wait_until 10 state_is Poll running
pid=$(svc_pid Poll)
wait_until 30 test -s "$T/lib/Poll/snmp"
got=$(cat "$T/lib/Poll/snmp" 2>/dev/null)
is "$(grep -v timeout <<<"$got")" "udp:127.0.0.1:${SNMP_A:-} sysDescr.0 = Test printer alpha
udp:127.0.0.1:${SNMP_A:-} sysName.0 = alpha.test
udp:127.0.0.1:${SNMP_B:-} sysDescr.0 = Test printer beta
udp:127.0.0.1:${SNMP_B:-} sysName.0 = beta.test" \
	"net-snmp sessions on the adapter got sysDescr.0 and sysName.0 from both snmpd agents"
is "$(grep timeout <<<"$got")" "udp:127.0.0.1:$SNMP_SILENT sysDescr.0 timeout
udp:127.0.0.1:$SNMP_SILENT sysName.0 timeout" \
	"the silent agent's GETs time out through the adapter's deadline"
like_log Poll "info .*snmp: 4 values from 3 agents, 2 requests timed out \(1 agents\)" \
	"the service logged the counts"
like "$(field Poll detail)" "snmp: 4 values, 2 timeouts" "plsc status shows the SNMP service's own line"
sleep 1
is "$(field Poll state):$(svc_pid Poll):$(field Poll restarts)" "running:$pid:0" \
	"the SNMP service answered heartbeats throughout (running, same pid, no restart)"

# (d) a watchdog: healthy while kicked, restart when silent
wait_until 10 state_is Hang running
pid=$(svc_pid Hang)
sleep 1.5
is "$(svc_pid Hang):$(field Hang restarts)" "$pid:0" "a kicked watchdog keeps heartbeats answered (no restart)"
touch "$T/lib/Hang/hang"
wait_until 20 running_with_new_pid Hang "$pid"
ok $? "a silent watchdog gets the service restarted (heartbeat timeout)"
like "$(field Hang last_exit)" "no heartbeat reply for [0-9]+ ms \(watchdog 'worker' silent for [0-9]+ ms\)" \
	"last_exit names the watchdog"
like "$(suplog | grep 'Hang\[' | grep 'no heartbeat')" "no heartbeat reply for [0-9]+ ms \(watchdog 'worker' silent for [0-9]+ ms\); killing it" \
	"the supervisor log names the watchdog"
n=$(log_of Hang | grep -c "error .*watchdog 'worker' silent for [0-9]* ms")
is "$n" 1 "the service logged the silent watchdog once, at error level"
ok $(kill -0 "$pid" 2>/dev/null; echo $(( ! $? ))) "the hung process is gone"

# (e) a stuck pool in plsc status
wait_until 15 bash -c "[[ \"\$('$BIN/plsc' -c '$CONF' status --json | jq -r '.services[] | select(.name == \"Stuck\") | .detail')\" =~ pool\ slow:\ 1\ pending,\ oldest\ [0-9]+\ s ]]"
ok $? "a pool whose oldest job is older than its threshold appears in the status detail"
like "$(plsc status 2>/dev/null)" "one slow job; pool slow: 1 pending, oldest [0-9]+ s" \
	"plsc status shows it after the service's own line"
touch "$T/lib/Stuck/release"
wait_until 15 bash -c "[ \"\$('$BIN/plsc' -c '$CONF' status --json | jq -r '.services[] | select(.name == \"Stuck\") | .detail')\" = 'one slow job' ]"
ok $? "once the job is done, the pool leaves the detail"
is "$(field Stuck restarts)" 0 "a stuck pool alone does not restart the service"
t_done
