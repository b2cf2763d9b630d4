#!/usr/bin/env bash
# Off-network printing, router role (#17): PrinterLogicServiceOffNetworkServer
# keeps a wss:// connection to an independent External Gateway written in
# Node with the npm `ws` package (tests/wspeer/gateway.mjs) and prints what
# it pushes on a recording raw printer, each job exactly once: after a
# redelivery of a printed job, the gateway killed -9 mid-download, the
# connection cut mid-frame, the router killed -9 mid-print. A wrong token
# is refused before the upgrade; a gateway certificate from another CA is
# refused and logged.
. "$(dirname "$0")/../lib/lib.sh"

ON=PrinterLogicServiceOffNetworkServer
WSPEER_DIR=$TOP/tests/wspeer
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	echo "1..0 # SKIP node or npm missing (scripts/install-deps installs them)"
	exit 0
fi
t_setup
plan 26

wspeer_ready

# ---- certificates: our CA and the gateway's certificate for 127.0.0.1;
# another CA the router must not accept
C=$T/certs
tls_ca "$C"
tls_ca "$C" wrongca
tls_leaf "$C" gw
(umask 077; echo "site-token-$RANDOM$RANDOM" > "$T/token")

# gw_start [gateway options...]: the Node gateway on $GW (spool), port
# $GW_PORT when set (a restart keeps the router's URL), else a free one.
GW=$T/gw
gw_start() {
	mkdir -p "$GW"
	rm -f "$GW/port"
	local port=${GW_PORT:-0}
	node "$WSPEER_DIR/gateway.mjs" --cert "$C/gw.pem" --key "$C/gw.key" \
		--token "$(cat "$T/token")" --spool "$GW" --port "$port" "$@" \
		>>"$T/gateway.log" 2>&1 </dev/null &
	GW_PID=$!
	BG_PIDS+=($!)
	wait_until 20 test -s "$GW/port"
	GW_PORT=$(cat "$GW/port")
}
# gw_job ID PRINTER FILE: a job the gateway pushes.
gw_job() {
	cp "$3" "$GW/jobs/$1.bin"
	jq -n --arg p "$2" '{printer: $p, user: "remote", title: "t90"}' > "$GW/jobs/$1.tmp"
	mv "$GW/jobs/$1.tmp" "$GW/jobs/$1.json"
}
acked() { grep -q "^$1 " "$GW/acks" 2>/dev/null; }
acked_twice() { [ "$(grep -c "^$1 " "$GW/acks" 2>/dev/null)" -ge 2 ]; }
ack_of() { grep "^$1 " "$GW/acks" | tail -1 | cut -d' ' -f2-; }
# copies FILE PRINTER: complete copies of FILE the printer received.
copies() { rec_copies "$1" "$2"; }

rec_start P1
rec_start P2 slow 1048576
gw_start
t_config '{}' "$(jq -n --arg p "$BIN/$ON" --arg u "wss://127.0.0.1:$GW_PORT/offnet" \
	--arg t "$T/token" --arg ca "$C/ca.pem" '{($ARGS.named.n): {path: $p, role: "router",
	gateway_url: $u, token_file: $t, ca_file: $ca, ping_s: 1, dead_s: 3,
	backoff_min_ms: 50, backoff_max_ms: 400, print_timeout_s: 10}}' --arg n "$ON")"
sup_start
plsc printers add P1 "socket://127.0.0.1:$REC_PORT_P1" >/dev/null
plsc printers add P2 "socket://127.0.0.1:$REC_PORT_P2" >/dev/null
wait_until 15 state_is "$ON" running
ok $? "the off-network service runs"
wait_until 10 sh -c "'$BIN/plsc' -c '$CONF' status --json | grep -q '\"connected since'"
ok $? "plsc status: connected since ..."
[ "$T_FAILED" -eq 0 ] || exit 1
is "$(grep -c connected "$GW/connections")" 1 "one connection, with the site's token"

# ---- a small job, then 100 MiB: byte-identical at the printer
echo "hello from home" > "$T/small"
gw_job j001 P1 "$T/small"
wait_until 20 acked j001
is "$(ack_of j001)" "printed " "the router acknowledges a printed job"
is "$(copies "$T/small" P1)" 1 "the printer got it once, byte-identical"
test ! -e "$GW/jobs/j001.json"
ok $? "the gateway deleted it after the acknowledgement"
head -c 104857600 /dev/urandom > "$T/big"
gw_job j002 P1 "$T/big"
wait_until 120 acked j002
is "$(ack_of j002)" "printed " "a 100 MiB job is printed"
is "$(copies "$T/big" P1)" 1 "byte-identical, once"
rm -f "$T/big"

# ---- a printer by name only
gw_job j003 NOPE "$T/small"
wait_until 20 acked j003
is "$(ack_of j003)" "failed no such printer" "an unknown printer name: failed, and why"

# ---- a printed job delivered again is not printed again
gw_job j001 P1 "$T/small"
wait_until 20 acked_twice j001
is "$(ack_of j001)" "printed already printed" "a redelivered printed job is acknowledged"
is "$(copies "$T/small" P1)" 1 "and not printed twice"

# ---- the gateway killed -9 during a download; back on the same port
head -c 20971520 /dev/urandom > "$T/mid"
kill -9 "$GW_PID"; wait "$GW_PID" 2>/dev/null
gw_start --chunk-delay 20
gw_job j004 P1 "$T/mid"
wait_until 20 sh -c "'$BIN/plsc' -c '$CONF' status --json | grep -q '1 in flight'"
ok $? "a 20 MiB job is being downloaded"
kill -9 "$GW_PID"; wait "$GW_PID" 2>/dev/null
ok "$(acked j004; test $? -ne 0; echo $?)" "the gateway was killed -9 before the job was acknowledged"
wait_until 10 sh -c "'$BIN/plsc' -c '$CONF' status --json | grep -q '\"disconnected since'"
ok $? "plsc status: disconnected since ..."
gw_start
wait_until 60 acked j004
is "$(ack_of j004)" "printed " "after the gateway's restart the job comes again and prints"
is "$(copies "$T/mid" P1)" 1 "exactly once"

# ---- the connection cut in the middle of a WebSocket frame
kill "$GW_PID"; wait "$GW_PID" 2>/dev/null
gw_start --cut-once j005
gw_job j005 P1 "$T/mid"
wait_until 60 acked j005
ok "$(test -s "$GW/cuts"; echo $?)" "the gateway cut the connection mid-frame"
is "$(copies "$T/mid" P1)" 2 "the job was delivered again and printed once (two 20 MiB jobs in all)"

# ---- the router killed -9 while printing (a slow printer)
pid=$(svc_pid "$ON")
gw_job j006 P2 "$T/mid"
wait_until 30 sh -c "ls '$T/rec-P2'/*.part" 
kill -9 "$pid"
wait_until 60 acked j006
is "$(ack_of j006)" "printed " "after the router's restart the job prints"
is "$(copies "$T/mid" P2)" 1 "one complete copy at the printer"
like_log "$ON" "connection lost|printed on P2" "the log tells the story"

# ---- a wrong token: refused before the upgrade
kill "$GW_PID"; wait "$GW_PID" 2>/dev/null
GW_PORT= GW=$T/gw2 gw_start
(umask 077; echo "wrong-token" > "$T/badtoken")
jq -n --arg u "wss://127.0.0.1:$(cat "$T/gw2/port")/" --arg t "$T/badtoken" --arg ca "$C/ca.pem" \
	--arg n "$ON" --arg s "$T/fg" '{paths: {state_dir: $s}, services: {($n): {role: "router",
	gateway_url: $u, token_file: $t, ca_file: $ca, backoff_min_ms: 50, backoff_max_ms: 200}}}' \
	> "$T/fg.json"
timeout 3 "$BIN/$ON" --config "$T/fg.json" --foreground >"$T/fg-token.log" 2>&1
ok "$(test -s "$T/gw2/refused" && ! test -e "$T/gw2/connections"; echo $?)" \
	"a wrong token is refused before any WebSocket (401)"
like "$(cat "$T/fg-token.log")" "cannot connect" "and the router logs why"

# ---- a gateway certificate from another CA
jq --arg ca "$C/wrongca.pem" --arg t "$T/token" --arg n "$ON" \
	'.services[$n].ca_file = $ca | .services[$n].token_file = $t' "$T/fg.json" > "$T/fg2.json"
rm -f "$T/gw2/refused"
timeout 3 "$BIN/$ON" --config "$T/fg2.json" --foreground >"$T/fg-cert.log" 2>&1
like "$(cat "$T/fg-cert.log")" "cannot connect.*(certificate|verify|SSL)" \
	"a certificate from another CA is refused and logged"
ok "$(test ! -e "$T/gw2/refused" && ! test -e "$T/gw2/connections"; echo $?)" \
	"and no upgrade request was ever sent"

# ---- no gateway configured (the default configuration): idle, not failed
jq -n --arg s "$T/fg" --arg n "$ON" '{paths: {state_dir: $s}, services: {($n): {}}}' > "$T/fg3.json"
timeout 2 "$BIN/$ON" --config "$T/fg3.json" --foreground >"$T/fg-idle.log" 2>&1
like "$(cat "$T/fg-idle.log")" "no gateway_url and token_file: idle" \
	"without gateway_url and token_file the service idles and says why"
t_done
