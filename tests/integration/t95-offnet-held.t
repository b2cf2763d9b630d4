#!/usr/bin/env bash
# Off-network held (secure/pull) jobs (#17): the independent Node gateway
# (tests/wspeer/gateway.mjs) pushes jobs with OFFNET_HOLD 1; the router
# holds them through lib/holder, encrypted, for a directory user, answers
# RESULT held only once the job is durable, and they are released like any
# other (plsc release) on a recording printer; what becomes of them
# (printed, deleted) goes back to the gateway in a JOB_EVENT, kept in the
# router's outbox and sent again after a restart until acknowledged. The
# router killed -9 between the hold and its RESULT holds the redelivered
# job once, not twice. An unknown user: failed. gateway_fingerprint: the
# right pin connects to a self-signed gateway, a wrong one is refused and
# logged. The console's history shows the off-network jobs by their own
# filter.
. "$(dirname "$0")/../lib/lib.sh"

ON=PrinterLogicServiceOffNetworkServer
WSPEER_DIR=$TOP/tests/wspeer
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	echo "1..0 # SKIP node or npm missing (scripts/install-deps installs them)"
	exit 0
fi
t_setup
plan 54

wspeer_ready

# ---- certificates: a CA and the gateway's certificate for 127.0.0.1; a
# self-signed one for the pinned gateway
C=$T/certs
tls_ca "$C"
tls_leaf "$C" gw
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=gateway.example" \
	-keyout "$C/self.key" -out "$C/self.pem" 2>/dev/null
(umask 077; echo "site-token-$RANDOM$RANDOM" > "$T/token")

GW=$T/gw
gw_start() { # gw_start [gateway options...]
	mkdir -p "$GW"
	rm -f "$GW/port"
	node "$WSPEER_DIR/gateway.mjs" --cert "${GW_CERT:-$C/gw.pem}" --key "${GW_KEY:-$C/gw.key}" \
		--token "$(cat "$T/token")" --spool "$GW" --port "${GW_PORT:-0}" "$@" \
		>>"$T/gateway.log" 2>&1 </dev/null &
	GW_PID=$!
	BG_PIDS+=($!)
	wait_until 20 test -s "$GW/port"
	GW_PORT=$(cat "$GW/port")
}
gw_stop() { kill "$GW_PID" 2>/dev/null; wait "$GW_PID" 2>/dev/null; }
# gw_hold ID USER PRINTER FILE: a held job the gateway pushes.
gw_hold() {
	cp "$4" "$GW/jobs/$1.bin"
	jq -n --arg u "$2" --arg p "$3" '{printer: $p, user: $u, title: "t95", hold: true}' \
		> "$GW/jobs/$1.tmp"
	mv "$GW/jobs/$1.tmp" "$GW/jobs/$1.json"
}
acked() { grep -q "^$1 " "$GW/acks" 2>/dev/null; }
acked_twice() { [ "$(grep -c "^$1 " "$GW/acks" 2>/dev/null)" -ge 2 ]; }
ack_of() { grep "^$1 " "$GW/acks" | tail -1 | cut -d' ' -f2-; }
event_of() { grep "^$1 $2 " "$GW/events" 2>/dev/null | tail -1; }
has_event() { grep -q "^$1 $2 " "$GW/events" 2>/dev/null; }
events_of() { grep -c "^$1 $2 " "$GW/events" 2>/dev/null; }
copies() { rec_copies "$1" "$2"; } # copies FILE PRINTER
jobs_of() { plsc jobs --user "$1" --json | jq '.jobs | length'; }
detail() { plsc status --json | jq -r --arg n "$ON" '.services[] | select(.name == $n) | .detail'; }
outbox_is() { detail | grep -q "; $1 outcomes to send"; }

rec_start P1
gw_start
# The window between a durable hold and its RESULT, widened for the kill -9
# below (the router waits this long before it answers "held").
export PL_TEST_OFFNET_PAUSE_BEFORE_RESULT=1500
CS_PORT=$(free_port)
CS_URL="https://127.0.0.1:$CS_PORT"
t_config '{}' "$(jq -n --arg p "$BIN/$ON" --arg u "wss://127.0.0.1:$GW_PORT/offnet" \
	--arg t "$T/token" --arg ca "$C/ca.pem" --arg cs "$BIN/$CS" \
	--arg csl "127.0.0.1:$CS_PORT" --arg www "$TOP/console/www" '{($ARGS.named.n): {path: $p,
	role: "router", gateway_url: $u, token_file: $t, ca_file: $ca, ping_s: 1, dead_s: 3,
	backoff_min_ms: 50, backoff_max_ms: 400, print_timeout_s: 10,
	print_connect_timeout_s: 5},
	"plsc-console": {path: $cs, listen: {main: $csl}, assets_dir: $www}}' --arg n "$ON")"
sup_start
plsc printers add P1 "socket://127.0.0.1:$REC_PORT_P1" >/dev/null
plsc users add alice --name "Alice" >/dev/null
wait_until 15 state_is "$ON" running
ok $? "the off-network service runs"
wait_until 10 sh -c "'$BIN/plsc' -c '$CONF' status --json | grep -q '\"connected since'"
ok $? "it is connected to the gateway"
[ "$T_FAILED" -eq 0 ] || exit 1

# ---- a pull job: held, then released like any other
head -c 300000 /dev/urandom > "$T/doc1"
printf 'OFFNET-PLAINTEXT-MARKER %.0s' $(seq 200) >> "$T/doc1"
gw_hold h001 alice "" "$T/doc1"
wait_until 20 acked h001
is "$(ack_of h001)" "held " "RESULT held, once the job is stored"
is "$(jobs_of alice)" 1 "plsc jobs lists alice's held job"
is "$(plsc jobs --user alice --json | jq -r '.jobs[0].service')" "$ON" "held by the off-network service"
is "$(plsc jobs --user alice --json | jq -r '.jobs[0].printer')" "" "a pull job: any printer"
ok "$(grep -rqa OFFNET-PLAINTEXT-MARKER "$T/lib/$ON/jobs"; test $? -eq 1; echo $?)" \
	"the job store holds it encrypted (no plaintext on disk)"
is "$(copies "$T/doc1" P1)" 0 "nothing printed before the release"
like "$(plsc release --user alice --printer P1)" "released 1 job to P1" "plsc release prints it"
wait_eval 10 'test "$(copies "$T/doc1" P1)" = 1'
is "$(copies "$T/doc1" P1)" 1 "byte-identical at the printer, once"
wait_until 20 has_event h001 printed
like "$(event_of h001 printed)" "^h001 printed [0-9]+ P1" "JOB_EVENT printed (and where) reaches the gateway"
wait_until 10 outbox_is 0
ok $? "the gateway acknowledged it: nothing left to send"
is "$(jobs_of alice)" 0 "the printed job is no longer held"
gw_hold h001 alice "" "$T/doc1"
wait_until 20 acked_twice h001
is "$(ack_of h001)" "held already held" "delivered again after its release: answered held ..."
is "$(jobs_of alice):$(copies "$T/doc1" P1)" "0:1" "... and neither held nor printed again"
ev=$(grep -c '"service":"'"$ON"'"' "$T/log/job-events.jsonl" 2>/dev/null)
ok "$(test "${ev:-0}" -ge 2; echo $?)" "job-events.jsonl has its held and printed events (service $ON)"

# ---- the console: off-network jobs in the history, by their own filter
wait_until 15 state_is "$CS" running
PW=pw-$RANDOM$RANDOM
admin_add admin "$PW"
console_login admin "$PW"
api GET "/api/v1/history?service=$ON&limit=10"
is "$API_STATUS:$(jq -r '[.events[] | "\(.event)/\(.user)"] | join(",")' <<<"$API_BODY")" \
	"200:printed/alice,held/alice" "console: GET /history?service=$ON lists the off-network job's events"
is "$(jq -r '[.events[] | .service] | unique | join(",")' <<<"$API_BODY")" "$ON" \
	"and only the off-network service's"
api GET "/api/v1/history.csv?service=$ON"
is "$(tail -n +2 "$T/api.out" | cut -d, -f2 | paste -sd, -)" "printed,held" "the CSV export filters alike"

# ---- an unknown user, and a secure job for an unknown printer
gw_hold h002 mallory "" "$T/doc1"
wait_until 20 acked h002
is "$(ack_of h002)" "failed unknown user" "a user not in the directory: failed, and why"
gw_hold h003 alice NOPE "$T/doc1"
wait_until 20 acked h003
is "$(ack_of h003)" "failed no such printer" "a secure job for an unknown printer: failed"
is "$(jobs_of alice)" 0 "neither was held"

# ---- the router killed -9 between the durable hold and its RESULT
pid=$(svc_pid "$ON")
echo "second document" > "$T/doc2"
gw_hold h004 alice P1 "$T/doc2"
wait_until 20 sh -c "grep -q 'job h004: held as' '$T/log/$ON.log'"
ok $? "the job is held (durable) ..."
kill -9 "$pid"
ok "$(acked h004; test $? -ne 0; echo $?)" "... and the router killed -9 before its RESULT"
wait_until 30 acked h004
is "$(ack_of h004)" "held already held" "redelivered after the restart: answered held"
is "$(jobs_of alice)" 1 "one held job, not two"
like_log "$ON" "job h004: delivered again, already held for alice: not held twice" \
	"the log says why"
is "$(plsc jobs --user alice --json | jq -r '.jobs[0].printer')" "P1" "a secure job: for its printer"

# ---- an outcome the gateway has not acknowledged survives a restart
gw_stop
gw_start --event-ack 0
wait_until 10 sh -c "'$BIN/plsc' -c '$CONF' status --json | grep -q '\"connected since'"
id=$(plsc jobs --user alice --json | jq -r '.jobs[0].id')
plsc delete "$id" >/dev/null
ok $? "plsc delete shreds the held job"
wait_until 20 has_event h004 deleted
ok $? "JOB_EVENT deleted reaches the gateway"
wait_until 5 outbox_is 1
ok $? "not acknowledged: 1 outcome to send"
pid=$(svc_pid "$ON")
kill -9 "$pid"
wait_until 20 running_with_new_pid "$ON" "$pid"
ok $? "the router killed -9 comes back"
wait_until 20 sh -c "[ \$(grep -c '^h004 deleted ' '$GW/events') -ge 2 ]"
ok $? "it sends the outcome again on its new connection"
wait_until 5 outbox_is 1
ok $? "still not acknowledged: kept"
gw_stop
gw_start
wait_until 20 outbox_is 0
ok $? "a gateway that acknowledges: nothing left to send"
n=$(events_of h004 deleted)
ok "$(test "$n" -ge 3; echo $?)" "the gateway saw it each time (same SEQ: a repeat it can recognise)"
is "$(grep '^h004 deleted ' "$GW/events" | cut -d' ' -f3 | sort -u | wc -l)" 1 "one SEQ for the one outcome"
ok "$(test ! -e "$GW/dups"; echo $?)" "never the same outcome twice on one connection"

# ---- an outcome made durable while the router is connecting goes once on
# that connection: by the resend at its establishment, not also from the
# send queue (the gateway counts an SEQ that comes twice on a connection)
gw_hold h005 alice "" "$T/doc2"
wait_until 20 acked h005
is "$(ack_of h005)" "held " "another pull job held"
gw_stop
rm -f "$GW/upgrading"
gw_start --upgrade-delay 4000
wait_until 10 test -e "$GW/upgrading"
ok $? "the router is connecting (the gateway holds its upgrade back)"
id=$(plsc jobs --user alice --json | jq -r '.jobs[0].id')
plsc delete "$id" >/dev/null
ok $? "the job is deleted meanwhile"
wait_until 10 sh -c "grep -q 'job h005: deleted; telling the gateway' '$T/log/$ON.log'"
ok $? "its outcome is made durable before the connection is up"
wait_until 20 has_event h005 deleted
ok $? "it reaches the gateway once connected"
wait_until 10 outbox_is 0
ok $? "and is acknowledged"
is "$(events_of h005 deleted)" 1 "sent once, not twice"
ok "$(test ! -e "$GW/dups"; echo $?)" "no SEQ twice on a connection"

like "$(detail)" "[0-9]+ printed, [0-9]+ held, [0-9]+ failed" "plsc status counts held jobs"

# ---- gateway_fingerprint: a self-signed gateway, pinned
SAVE_PORT=$GW_PORT
GW=$T/gwself GW_PORT= GW_CERT=$C/self.pem GW_KEY=$C/self.key gw_start
SELF_PORT=$(cat "$T/gwself/port")
pin=$(openssl x509 -in "$C/self.pem" -noout -fingerprint -sha256 | cut -d= -f2)
fg_conf() { # fg_conf FILE PIN [PORT [CA]]
	jq -n --arg u "wss://127.0.0.1:${3:-$SELF_PORT}/" --arg t "$T/token" --arg n "$ON" \
		--arg s "$T/fg" --arg pin "$2" --arg ca "${4:-}" '{paths: {state_dir: $s},
		services: {($n): ({role: "router", gateway_url: $u, token_file: $t,
		gateway_fingerprint: $pin, backoff_min_ms: 50, backoff_max_ms: 200}
		+ (if $ca != "" then {ca_file: $ca} else {} end))}}' > "$1"
}
fg_conf "$T/fg-pin.json" "$pin"
timeout 3 "$BIN/$ON" --config "$T/fg-pin.json" --foreground >"$T/fg-pin.log" 2>&1
ok "$(test -s "$T/gwself/connections"; echo $?)" \
	"the right pin (colon form) connects to a self-signed gateway"
like "$(cat "$T/fg-pin.log")" "connected to the gateway" "and says so"
rm -f "$T/gwself/connections"
wrong=$(printf '%064d' 0)
fg_conf "$T/fg-wrong.json" "$wrong"
timeout 3 "$BIN/$ON" --config "$T/fg-wrong.json" --foreground >"$T/fg-wrong.log" 2>&1
ok "$(test ! -e "$T/gwself/connections"; echo $?)" "a wrong pin is refused: no WebSocket"
like "$(cat "$T/fg-wrong.log")" "SHA-256 [0-9a-f]{64} is not gateway_fingerprint" \
	"and logged, with the digest seen"
# a wrong pin is refused even when the CA vouches for the certificate (the
# first gateway: CA-signed, for 127.0.0.1)
n=$(grep -c connected "$T/gw/connections")
fg_conf "$T/fg-ca.json" "$wrong" "$SAVE_PORT" "$C/ca.pem"
timeout 3 "$BIN/$ON" --config "$T/fg-ca.json" --foreground >"$T/fg-ca.log" 2>&1
is "$(grep -c connected "$T/gw/connections")" "$n" \
	"a wrong pin is refused even where the CA and name check would pass"
like "$(cat "$T/fg-ca.log")" "is not gateway_fingerprint" "and logged"
fg_conf "$T/fg-bad.json" "not-hex"
timeout 3 "$BIN/$ON" --config "$T/fg-bad.json" --foreground >"$T/fg-bad.log" 2>&1
like "$(cat "$T/fg-bad.log")" "gateway_fingerprint: want the SHA-256" "a malformed pin is a config error"
t_done
