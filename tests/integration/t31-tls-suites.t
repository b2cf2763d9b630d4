#!/usr/bin/env bash
# TLS on 31989 (OfflinePrint, OpenSSL) and on the console's port (GnuTLS)
# (#11 item 8): TLS 1.2 offers only ECDHE with AES-GCM or ChaCha20-Poly1305;
# a client that asks for a CBC suite is refused;
# TLS 1.3 is unaffected. Checked with openssl s_client on loopback.
. "$(dirname "$0")/../lib/lib.sh"
t_setup
plan 14

console_config
sup_start
wait_until 15 state_is "$OP" running && wait_until 15 state_is "$CS" running
ok $? "the held-jobs service and the console run"

# cipher PORT ARGS...: the suite a TLS client got, or "refused".
cipher() {
	local port=$1
	shift
	local out
	out=$(timeout 10 openssl s_client -connect "127.0.0.1:$port" "$@" </dev/null 2>&1)
	if [[ $out =~ Cipher\ is\ ([A-Z0-9_-]+) ]] && [ "${BASH_REMATCH[1]}" != NONE ]; then
		echo "${BASH_REMATCH[1]}"
	else
		echo refused
	fi
}

for svc in OP CS; do
	port=$OP_PORT
	[ $svc = CS ] && port=$CS_PORT
	name=$([ $svc = OP ] && echo "31989 (OfflinePrint)" || echo "the console")
	for cbc in ECDHE-ECDSA-AES128-SHA ECDHE-ECDSA-AES256-SHA384 ECDHE-ECDSA-AES128-SHA256; do
		is "$(cipher "$port" -tls1_2 -cipher "$cbc")" refused "$name, TLS 1.2: the CBC suite $cbc is refused"
	done
	is "$(cipher "$port" -tls1_2 -cipher ECDHE-ECDSA-AES128-GCM-SHA256)" ECDHE-ECDSA-AES128-GCM-SHA256 \
		"$name, TLS 1.2: ECDHE with AES-GCM is accepted"
	is "$(cipher "$port" -tls1_2 -cipher ECDHE-ECDSA-CHACHA20-POLY1305)" ECDHE-ECDSA-CHACHA20-POLY1305 \
		"$name, TLS 1.2: ECDHE with ChaCha20-Poly1305 is accepted"
	like "$(cipher "$port" -tls1_3)" "^TLS_(AES_256_GCM_SHA384|CHACHA20_POLY1305_SHA256|AES_128_GCM_SHA256)$" \
		"$name, TLS 1.3 is unaffected"
done

# The clients still get through.
token_for ws1
echo hello > "$T/doc"
like "$(submit ws1 alice "$T/doc")" "^[0-9a-f]{32}$" "plsc-submit still submits"
t_done
