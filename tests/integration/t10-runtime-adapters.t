#!/usr/bin/env bash
# The service runtime with foreign loops, watchdogs and pools, through
# plsc-adaptsvc (tests/lib/adaptsvc.c) under the real supervisor:
#  - libcurl multi ("set + timeout" adapter) downloads a file from a
#    python3 http.server on 127.0.0.1; the bytes and sha256 match;
#  - a libwebsockets client ("one by one" adapter) talks to an independent
#    WebSocket echo peer (node + ws, tests/wspeer) on 127.0.0.1;
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
plan 16

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

asvc() { # asvc MODE_JSON
	jq -n --arg p "$ADAPTSVC" --argjson extra "$1" '{path: $p} + $extra'
}
t_config '{}' "{
  \"Fetch\": $(asvc "{\"mode\": \"curl\", \"url\": \"http://127.0.0.1:$HTTP_PORT/blob\"}"),
  \"Echo\": $(asvc "{\"mode\": \"ws\", \"ws_port\": ${WS_PORT:-1}, \"count\": 3}"),
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

# (c) a watchdog: healthy while kicked, restart when silent
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

# (d) a stuck pool in plsc status
wait_until 15 bash -c "[[ \"\$('$BIN/plsc' -c '$CONF' status --json | jq -r '.services[] | select(.name == \"Stuck\") | .detail')\" =~ pool\ slow:\ 1\ pending,\ oldest\ [0-9]+\ s ]]"
ok $? "a pool whose oldest job is older than its threshold appears in the status detail"
like "$(plsc status 2>/dev/null)" "one slow job; pool slow: 1 pending, oldest [0-9]+ s" \
	"plsc status shows it after the service's own line"
touch "$T/lib/Stuck/release"
wait_until 15 bash -c "[ \"\$('$BIN/plsc' -c '$CONF' status --json | jq -r '.services[] | select(.name == \"Stuck\") | .detail')\" = 'one slow job' ]"
ok $? "once the job is done, the pool leaves the detail"
is "$(field Stuck restarts)" 0 "a stuck pool alone does not restart the service"
t_done
