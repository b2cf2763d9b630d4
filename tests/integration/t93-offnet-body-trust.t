#!/usr/bin/env bash
# Off-network job bodies over HTTPS (#17, PROTOCOL.md §12.4): the router's
# body download (services/offnetwork/body.c, run alone by plsc-bodyget)
# trusts the gateway as the WebSocket does. Against a real one-connection
# TLS peer (tests/lib/tls_once.py, which records what the client sent):
# gateway_fingerprint right -> the body, byte-identical; wrong -> refused
# before any request byte (the peer sees no request, so not the token);
# no pin and not signed by a trusted CA -> refused; a CA that signed the
# certificate but for another host name -> refused; the right CA and name
# -> the body; more bytes than announced -> refused. Then the whole path
# with our gateway on a self-signed certificate and the router pinning it:
# a 20 MiB job fetched over HTTPS in the pinned mode and printed once.
. "$(dirname "$0")/../lib/lib.sh"

t_setup
plan 20

C=$T/certs
mkdir -p "$C"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=gw self-signed" \
	-keyout "$C/self.key" -out "$C/self.pem" 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=test ca" \
	-keyout "$C/ca.key" -out "$C/ca.pem" 2>/dev/null
for name in 127.0.0.1 127.0.0.2; do
	openssl req -newkey rsa:2048 -nodes -subj "/CN=$name" -keyout "$C/$name.key" \
		-out "$C/$name.csr" 2>/dev/null
	printf 'subjectAltName=IP:%s\n' "$name" > "$C/ext"
	openssl x509 -req -in "$C/$name.csr" -CA "$C/ca.pem" -CAkey "$C/ca.key" \
		-CAcreateserial -days 2 -extfile "$C/ext" -out "$C/$name.pem" 2>/dev/null
done
(umask 077; echo "site-token-$RANDOM$RANDOM" > "$T/token")
head -c 3000000 /dev/urandom > "$T/body"
SIZE=$(stat -c %s "$T/body")
FP=$(openssl x509 -in "$C/self.pem" -noout -fingerprint -sha256 | cut -d= -f2)
BAD="00${FP:2}"
[ "$BAD" != "$FP" ] || BAD="11${FP:2}"
ID=job-$RANDOM

# get CERT KEY [plsc-bodyget options]: one connection to a fresh peer;
# the peer's record of the request in $T/seen, plsc-bodyget's line in $T/got
get() {
	local cert=$1 key=$2 pid
	shift 2
	rm -f "$T/port" "$T/seen" "$T/out"
	python3 "$(dirname "$0")/../lib/tls_once.py" "$cert" "$key" "$T/port" "$T/seen" \
		"$T/body" &
	pid=$!
	wait_until 10 test -s "$T/port"
	"$BIN/plsc-bodyget" --host 127.0.0.1 --port "$(cat "$T/port")" --token-file "$T/token" \
		--id "$ID" --out "$T/out" --dead-s 3 "$@" > "$T/got" 2>&1
	local rc=$?
	wait "$pid"
	return $rc
}
want="ok $(sha256sum < "$T/body" | cut -d' ' -f1)"

get "$C/self.pem" "$C/self.key" --size "$SIZE" --pin "$FP"
ok $? "gateway_fingerprint right: the body is fetched"
is "$(cat "$T/got")" "$want" "hashed as it arrived: the SHA-256 of what was sent"
cmp -s "$T/body" "$T/out"
ok $? "spooled byte-identical"
like "$(cat "$T/seen")" "^GET /v1/router/jobs/$ID/body HTTP/1.1" "the request: GET the job's body"
like "$(cat "$T/seen")" "Authorization: Bearer site-token-" "with the site token as Bearer"

get "$C/self.pem" "$C/self.key" --size "$SIZE" --pin "$BAD"
ok "$(test $? -ne 0; echo $?)" "gateway_fingerprint wrong: refused"
like "$(cat "$T/got")" "not the pinned one" "and says why"
ok "$(grep -q . "$T/seen"; test $? -ne 0; echo $?)" \
	"before any request byte: the peer got no request (so not the token)"

get "$C/self.pem" "$C/self.key" --size "$SIZE"
ok "$(test $? -ne 0; echo $?)" "no pin, a self-signed certificate: refused (verification stays on)"
ok "$(grep -q "Bearer" "$T/seen"; test $? -ne 0; echo $?)" "and the token never went"

get "$C/127.0.0.2.pem" "$C/127.0.0.2.key" --size "$SIZE" --ca "$C/ca.pem"
ok "$(test $? -ne 0; echo $?)" "signed by the CA, but for another host name: refused"

get "$C/127.0.0.1.pem" "$C/127.0.0.1.key" --size "$SIZE" --ca "$C/ca.pem"
ok $? "the CA and the host name right: the body is fetched"
is "$(cat "$T/got")" "$want" "byte for byte"

get "$C/self.pem" "$C/self.key" --size $((SIZE - 1)) --pin "$FP"
like "$(cat "$T/got")" "refused: more bytes than the announced size" \
	"more bytes than SUBMIT_BEGIN announced: refused"

# ---- our gateway, self-signed, the router pinning it (gateway_fingerprint)
ON=PrinterLogicServiceOffNetworkServer
GWN=OffNetworkGateway
rec_start P1
GW_PORT=$(free_port)
IN_PORT=$(free_port)
t_config '{}' "$(jq -n --arg p "$BIN/$ON" --arg u "wss://127.0.0.1:$GW_PORT/offnet" \
	--arg t "$T/token" --arg fp "$FP" --arg r "$ON" --arg g "$GWN" \
	--arg lm "127.0.0.1:$GW_PORT" --arg li "127.0.0.1:$IN_PORT" \
	--arg cert "$C/self.pem" --arg key "$C/self.key" '{
	($r): {path: $p, role: "router", gateway_url: $u, token_file: $t, gateway_fingerprint: $fp,
		ping_s: 1, dead_s: 3, backoff_min_ms: 50, backoff_max_ms: 400},
	($g): {path: $p, role: "gateway", listen: {main: $lm, intake: $li},
		tls_cert: $cert, tls_key: $key, site_token_file: $t, ping_s: 1, dead_s: 3}}')"
chmod 600 "$C/self.key"
plsc printers add P1 "socket://127.0.0.1:$REC_PORT_P1" >/dev/null
token_for ws1
sup_start
wait_until 20 sh -c "'$BIN/plsc' -c '$CONF' status --json | grep -q '1 router connected'"
ok $? "the router, pinning the self-signed gateway, is connected"
head -c 20971520 /dev/urandom > "$T/job"
jid=$("$BIN/plsc-submit" --server "127.0.0.1:$IN_PORT" --token-file "$T/token-ws1" \
	--user remote --printer P1 --fingerprint "$FP" --timeout 60 "$T/job" 2>"$T/submit.err")
ok $? "a 20 MiB job submitted to our gateway: $jid"
wait_until 60 sh -c "grep -q 'job $jid: printed' '$T/log/$GWN.log'"
ok $? "printed"
like_log "$ON" "job $jid: body fetched over HTTPS, 20971520 bytes" \
	"its body fetched over HTTPS in the pinned mode"
n=0
for f in "$T/rec-P1"/job-*.bin; do cmp -s "$f" "$T/job" && n=$((n + 1)); done
is "$n" 1 "byte-identical, once"
like_log "$GWN" "job $jid: a router fetches its 20971520 bytes" "served by our gateway"
t_done
