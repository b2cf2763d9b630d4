#!/usr/bin/env bash
# Off-network printing, both roles of our service on one machine (#17):
# PrinterLogicServiceOffNetworkServer as the router and the same binary as
# the External Gateway under a second name (OffNetworkGateway, role
# "gateway"). plsc-submit sends jobs to the gateway's intake (the
# OfflinePrint wire over TLS); the gateway pushes them over WSS to the
# router, which prints them on a recording raw printer. Byte-identical
# small and 100 MiB jobs; the gateway killed -9 during a download and the
# job printed exactly once; a wrong site token refused with 401 before the
# upgrade; a wrong workstation token refused; the per-token rate limits
# trip; the status query by job id shows "printed", only to the
# workstation that sent the job; with the router off a job waits,
# encrypted at rest, and goes on the next connection; the router killed -9
# mid-download gets the job again and prints it once.
. "$(dirname "$0")/../lib/lib.sh"

ON=PrinterLogicServiceOffNetworkServer
GWN=OffNetworkGateway
t_setup
plan 44

# ---- certificates: our CA and the gateway's certificate for 127.0.0.1
C=$T/certs
tls_ca "$C"
tls_leaf "$C" gw
(umask 077; echo "site-token-$RANDOM$RANDOM$RANDOM$RANDOM" > "$T/site-token")

rec_start P1
GW_PORT=$(free_port)
IN_PORT=$(free_port)
t_config '{}' "$(jq -n --arg p "$BIN/$ON" --arg u "wss://127.0.0.1:$GW_PORT/offnet" \
	--arg t "$T/site-token" --arg ca "$C/ca.pem" --arg r "$ON" --arg g "$GWN" \
	--arg lm "127.0.0.1:$GW_PORT" --arg li "127.0.0.1:$IN_PORT" \
	--arg cert "$C/gw-chain.pem" --arg key "$C/gw.key" '{
	($r): {path: $p, role: "router", gateway_url: $u, token_file: $t, ca_file: $ca,
		ping_s: 1, dead_s: 3, backoff_min_ms: 50, backoff_max_ms: 400, print_timeout_s: 10},
	($g): {path: $p, role: "gateway", listen: {main: $lm, intake: $li},
		tls_cert: $cert, tls_key: $key, site_token_file: $t,
		rate_jobs_per_min: 5, rate_mb_per_min: 150, ping_s: 1, dead_s: 3}}')"
# The directory first: the two services would both create it otherwise.
plsc printers add P1 "socket://127.0.0.1:$REC_PORT_P1" >/dev/null
for ws in ws1 ws2 ws3 ws4 ws5; do token_for $ws; done
# the router reads job bodies slowly enough (1 ms a block) that the
# gateway can be killed in the middle of one (below)
export PL_TEST_OFFNET_BODY_SLOW_US=1000
sup_start
wait_until 15 state_is "$GWN" running
ok $? "the gateway runs (a second instance of the binary, under its own name)"
wait_until 15 state_is "$ON" running
ok $? "the router runs"
wait_until 10 sh -c "'$BIN/plsc' -c '$CONF' status --json | grep -q '1 router connected'"
ok $? "plsc status: the gateway has 1 router connected"
wait_until 10 sh -c "'$BIN/plsc' -c '$CONF' status --json | grep -q '\"connected since'"
ok $? "plsc status: the router is connected"
[ "$T_FAILED" -eq 0 ] || exit 1

# gsubmit WS FILE [options]: plsc-submit to the gateway's intake, verifying
# its certificate against our CA; prints the job id.
gsubmit() {
	local ws=$1 file=$2
	shift 2
	"$BIN/plsc-submit" --server "127.0.0.1:$IN_PORT" --token-file "$T/token-$ws" \
		--user remote --printer P1 --ca "$C/ca.pem" --timeout 60 "$@" "$file"
}
# query WS ID: the status query's answer (HTTP code, then the body).
query() {
	curl -sS --cacert "$C/ca.pem" -o "$T/q.json" -w '%{http_code}' \
		-H "Authorization: Bearer $(cat "$T/token-$1")" \
		"https://127.0.0.1:$GW_PORT/v1/jobs/$2"
	echo " $(cat "$T/q.json" 2>/dev/null)"
}
printed() { query "$1" "$2" | grep -q '"state":"printed"'; }
copies() { rec_copies "$1" P1; }
stored() { find "$T/lib/$GWN/jobs" -maxdepth 1 -name '*.job' 2>/dev/null | grep -c .; }

# ---- a small job: plsc-submit -> gateway -> router -> printer
echo "hello from home" > "$T/small"
id1=$(gsubmit ws1 "$T/small")
ok $? "plsc-submit hands a job to the gateway unchanged (the §7 wire over TLS): $id1"
wait_until 20 printed ws1 "$id1"
ok $? "the status query says printed"
is "$(copies "$T/small")" 1 "the printer got it once, byte-identical"
wait_until 10 sh -c "[ \$(find '$T/lib/$GWN/jobs' -maxdepth 1 -name '*.job' | grep -c .) -eq 0 ]"
ok $? "the gateway deleted the job after the router's RESULT"
like "$(query ws2 "$id1")" "^404 " "another workstation's token learns nothing of the job (404)"
like "$(curl -sS --cacert "$C/ca.pem" -o /dev/null -w '%{http_code}' \
	"https://127.0.0.1:$GW_PORT/v1/jobs/$id1")" "^401" "no token: 401"

# ---- 100 MiB; then a second one at once: over 150 MiB a minute from ws4
head -c 104857600 /dev/urandom > "$T/big"
id2=$(gsubmit ws4 "$T/big")
ok $? "a 100 MiB job is stored"
out=$(gsubmit ws4 "$T/big" 2>&1)
ok "$(test $? -ne 0; echo $?)" "a second 100 MiB job within the minute is refused"
like "$out" "rate limit: at most 150 MiB a minute" "and the client is told why"
wait_until 120 printed ws4 "$id2"
ok $? "the first is printed"
is "$(copies "$T/big")" 1 "byte-identical, once"
rm -f "$T/big"
# the body went over HTTPS, not in SUBMIT_DATA frames (§12.4)
like_log "$GWN" "site token accepted \\(fetches job bodies over HTTPS\\)" \
	"the router announces the body path in its upgrade"
like_log "$GWN" "job $id2: a router fetches its 104857600 bytes" \
	"the 100 MiB body was fetched over HTTPS"
# body URL: the site token only; only a job offered to a router right now
body_code() {
	curl -sS --cacert "$C/ca.pem" -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $1" \
		"https://127.0.0.1:$GW_PORT/v1/router/jobs/$2/body"
}
is "$(body_code wrong-token "$id2")" 401 "a wrong token on the body URL: 401"
is "$(body_code "$(cat "$T/token-ws4")" "$id2")" 401 "a workstation's token on the body URL: 401"
is "$(body_code "$(cat "$T/site-token")" "$id2")" 404 "the site token, but a job not offered now: 404"
is "$(body_code "$(cat "$T/site-token")" 0123456789abcdef0123456789abcdef)" 404 \
	"the site token, a job never seen: 404"

# ---- rate limits: jobs
n=0
for i in 1 2 3 4 5; do gsubmit ws3 "$T/small" >/dev/null 2>&1 && n=$((n + 1)); done
is "$n" 5 "five jobs a minute from ws3 are taken"
out=$(gsubmit ws3 "$T/small" 2>&1)
like "$out" "rate limit: at most 5 jobs a minute" "the sixth is refused"
like "$(plsc status --json)" "refused by rate limits" "plsc status counts the refusals"

# ---- a wrong workstation token
(umask 077; echo "plsc_nope_nope" > "$T/token-bad")
out=$(gsubmit bad "$T/small" 2>&1)
ok "$(test $? -ne 0; echo $?)" "a wrong workstation token is refused"
like "$out" "token" "and told so"

# ---- a router with a wrong site token: 401 before any upgrade
code=$(curl -sS --cacert "$C/ca.pem" -o /dev/null -w '%{http_code}' --http1.1 \
	-H "Connection: Upgrade" -H "Upgrade: websocket" -H "Sec-WebSocket-Version: 13" \
	-H "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==" \
	-H "Sec-WebSocket-Protocol: plsc-offnet-1" -H "Authorization: Bearer wrong-token" \
	"https://127.0.0.1:$GW_PORT/offnet")
is "$code" 401 "a wrong site token: 401, no WebSocket"
like_log "$GWN" "without the site token: 401" "and the gateway logs it"

# ---- the gateway killed -9 while the router downloads a job
head -c 62914560 /dev/urandom > "$T/mid"
id3=$(gsubmit ws2 "$T/mid")
ok $? "a 60 MiB job is stored"
gpid=$(svc_pid "$GWN")
# mid-body: the router reads the body slowly (PL_TEST_OFFNET_BODY_SLOW_US)
wait_until 30 sh -c "grep -q 'job $id3: a router fetches its' '$T/log/$GWN.log'"
sleep 0.5
kill -9 "$gpid"
wait_until 20 running_with_new_pid "$GWN" "$gpid"
ok $? "the supervisor restarts the gateway"
wait_until 120 printed ws2 "$id3"
ok $? "the job is delivered again (or its RESULT recorded) and printed"
like_log "$ON" "job $id3: body download (failed|ended with its connection)" \
	"the gateway died mid-body: the router dropped the partial body"
is "$(copies "$T/mid")" 1 "exactly once"
wait_until 60 sh -c "'$BIN/plsc' -c '$CONF' status --json | grep -q '0 jobs waiting'"
ok $? "plsc status: nothing left waiting at the gateway"

# ---- no router: the job waits, encrypted at rest, and goes on the next connection
plsc disable "$ON" >/dev/null
wait_until 10 sh -c "'$BIN/plsc' -c '$CONF' status --json | grep -q '0 routers connected'"
ok $? "with the router off, the gateway has 0 routers connected"
marker="PLAINTEXT-MARKER-$RANDOM$RANDOM"
{ for _ in $(seq 64); do echo "$marker"; done; head -c 1048576 /dev/urandom; } > "$T/secret"
id4=$(gsubmit ws5 "$T/secret")
ok $? "a job is taken while no router is connected"
like "$(query ws5 "$id4")" '^200 .*"state":"waiting"' "the status query says waiting"
is "$(stored)" 1 "it is stored"
ok "$(! grep -rqa "$marker" "$T/lib/$GWN/jobs"; echo $?)" "encrypted at rest: the document's text is not on the gateway's disk"
plsc enable "$ON" >/dev/null
wait_until 60 printed ws5 "$id4"
ok $? "the router comes back: the job goes on the new connection and prints"
is "$(copies "$T/secret")" 1 "once, byte-identical"

# ---- the router killed -9 while it downloads: the job goes again and prints once
head -c 62914560 /dev/urandom > "$T/mid2"
rpid=$(svc_pid "$ON")
id5=$(gsubmit ws5 "$T/mid2")
ok $? "another 60 MiB job is stored"
wait_until 30 sh -c "'$BIN/plsc' -c '$CONF' status --json | grep -q '1 in flight'"
kill -9 "$rpid"
wait_until 60 printed ws5 "$id5"
ok $? "after the router's restart the job is pushed again and prints"
is "$(copies "$T/mid2")" 1 "exactly once"
t_done
