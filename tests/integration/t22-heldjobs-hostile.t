#!/usr/bin/env bash
# Bad tokens and hostile or broken clients get a clear error (or are
# dropped), while other clients keep being served.
. "$(dirname "$0")/../lib/lib.sh"
t_setup
plan 31

rec_start P1
op_config
sup_start
wait_until 15 state_is "$OP" running
plsc printers add P1 "socket://127.0.0.1:$REC_PORT_P1" >/dev/null
token_for ws1
token_for ws2
echo hello > "$T/doc"
# A test tool: its leaks at exit are not ours to chase.
evil() { ASAN_OPTIONS=detect_leaks=0 exec "$BIN/plsc-evilclient" "$@"; }

# A stalled upload holds a connection while others are served.
evil stall 127.0.0.1 "$OP_PORT" "$(cat "$T/token-ws1")" > "$T/stall.out" &
spid=$!
BG_PIDS+=($spid)
sleep 0.3
id=$(submit ws2 alice "$T/doc")
like "$id" "^[0-9a-f]{32}$" "a good client is served while another stalls"
wait_until 10 grep -q "upload stalled" "$T/log/$OP.log"
ok $? "the stalled upload is dropped after client_timeout_s, and logged"
kill "$spid" 2>/dev/null; wait "$spid" 2>/dev/null
# Slow is not idle: an upload whose pieces come well within the timeout
# is kept, however long it takes in all.
out=$(evil trickle 127.0.0.1 "$OP_PORT" "$(cat "$T/token-ws2")")
like "$out" "^result 0 " "an upload slower than client_timeout_s in all, never idle as long, is held"
# The largest frames the server takes (1 MB; plsc-submit sends 256 KiB):
# more of them lent to the job writer at once than it allows is no error.
out=$(evil bigframes 127.0.0.1 "$OP_PORT" "$(cat "$T/token-ws2")")
like "$out" "^result 0 " "a 9 MB job in 1 MB frames is held"
for id in $(plsc jobs --user mallory --json | jq -r '.jobs[].id'); do plsc delete "$id" >/dev/null; done

out=$(evil badtoken 127.0.0.1 "$OP_PORT" "plsc_00000000_AAAA")
like "$out" "^result 2 .*token" "a wrong token is refused with a clear message"
wait_until 5 grep -q '"event":"refused"' "$T/log/job-events.jsonl"
like "$(grep '"event":"refused"' "$T/log/job-events.jsonl" | head -1 | jq -r '"\(.user)|\(.detail)"')" \
	'^\|bad token from 127\.0\.0\.1:[0-9]+, claiming user ' \
	"the refused event files the claimed user under detail, not user"
out=$(evil badtoken 127.0.0.1 "$OP_PORT" "")
like "$out" "^result 2 " "a missing token is refused"
plsc token revoke ws1 >/dev/null
out=$(evil badtoken 127.0.0.1 "$OP_PORT" "$(cat "$T/token-ws1")")
like "$out" "^result 2 " "a revoked token is refused"

# A hostile title (quotes, newlines, control bytes, invalid UTF-8; the
# user name is checked by the service first) reaches the supervisor as
# typed fields: job-events.jsonl still
# holds one valid JSON object a line, and the bad bytes became U+FFFD.
echo plsc_00000000_AAAA > "$T/token-bad"; chmod 600 "$T/token-bad"
submit bad mallory2 "$T/doc" \
	--title $'x"y\nz\x01\x7f\xff\xc3(\r\n{"event":"printed","user":"root"}' >/dev/null 2>&1
wait_until 5 grep -q 'claiming user mallory2' "$T/log/job-events.jsonl"
is "$(jq -c . "$T/log/job-events.jsonl" | wc -l)" "$(wc -l < "$T/log/job-events.jsonl")" \
	"hostile job events stay one valid JSON object a line"
is "$(grep 'claiming user mallory2' "$T/log/job-events.jsonl" | jq -r '.title')" \
	$'x"y\uFFFDz\uFFFD\uFFFD\uFFFD\uFFFD(\uFFFD\uFFFD{"event":"printed","user":"root"}' \
	"control bytes and invalid UTF-8 in a title become U+FFFD"
out=$(submit ws1 alice "$T/doc" 2>&1); rc=$?
is "$rc" 1 "plsc-submit with a revoked token exits 1"
like "$out" "token" "and says the token was refused"
wait_until 5 grep -q "missing, wrong or revoked workstation token" "$T/log/$OP.log"
ok $? "refusals are logged"

out=$(evil garbage 127.0.0.1 "$OP_PORT")
is "$out" "closed" "garbage instead of TLS: connection closed"
out=$(evil plain 127.0.0.1 "$OP_PORT")
is "$out" "closed" "a plain-TCP client: connection closed"
wait_until 5 grep -q "TLS handshake failed" "$T/log/$OP.log"
ok $? "failed handshakes are logged"
out=$(evil oversized 127.0.0.1 "$OP_PORT" "$(cat "$T/token-ws2")")
like "$out" "^result 4 .*frame too large" "an oversized frame is refused with a clear message"
out=$(evil sha 127.0.0.1 "$OP_PORT" "$(cat "$T/token-ws2")")
like "$out" "^result 6 .*SHA-256" "a SHA-256 mismatch is refused"
out=$(evil size 127.0.0.1 "$OP_PORT" "$(cat "$T/token-ws2")")
like "$out" "^result 4 " "more data than announced is refused"

is "$(plsc jobs --json | jq '[.jobs[] | select(.user == "mallory")] | length')" 0 \
	"none of the bad uploads left a job"
id2=$(submit ws2 bob "$T/doc")
like "$id2" "^[0-9a-f]{32}$" "the service still serves good clients"

# Checking the server's identity: its self-signed certificate as a CA
# (it names this host and loopback), or its fingerprint pinned.
cert="$T/lib/$OP/tls-cert.pem"
sub() { "$BIN/plsc-submit" --server "$1" --token-file "$T/token-ws2" --user bob "${@:2}" "$T/doc"; }
like "$(sub "127.0.0.1:$OP_PORT" --ca "$cert")" "^[0-9a-f]{32}$" "--ca with the server certificate, by address"
like "$(sub "localhost:$OP_PORT" --ca "$cert")" "^[0-9a-f]{32}$" "--ca with the server certificate, by name"
fp=$(openssl x509 -in "$cert" -noout -fingerprint -sha256 | cut -d= -f2)
like "$(sub "127.0.0.1:$OP_PORT" --fingerprint "$fp")" "^[0-9a-f]{32}$" "--fingerprint pins the certificate"
bare=$(echo "$fp" | tr -d : | tr 'A-F' 'a-f')
like "$(sub "127.0.0.1:$OP_PORT" --fingerprint "$bare")" "^[0-9a-f]{32}$" \
	"in lower case without colons too"
out=$(sub "127.0.0.1:$OP_PORT" --fingerprint "${bare:0:60}zz" 2>&1); rc=$?
is "$rc" 2 "a malformed fingerprint is a usage error (2)"
like "$out" "malformed fingerprint" "called malformed, not 'does not match'"
# Wrong in its first byte, whatever that byte is (a fixed "00" matched
# one certificate in 256).
if [ "${fp%%:*}" = 00 ]; then wrong="01:${fp#*:}"; else wrong="00:${fp#*:}"; fi
out=$(sub "127.0.0.1:$OP_PORT" --fingerprint "$wrong" 2>&1); rc=$?
is "$rc" 1 "a wrong fingerprint is refused (1)"
like "$out" "fingerprint .* does not match" "with a clear message"
out=$(sub "127.0.0.1:$OP_PORT" 2>&1); rc=$?
is "$rc" 2 "no way to check the server is a usage error (2)"
out=$("$BIN/plsc-submit" --server "127.0.0.1:$OP_PORT" --token-file "$T/token-ws2" --insecure "$T/doc" 2>&1); rc=$?
is "$rc:$out" "2:plsc-submit: --user is required (see --help)" "a missing option is named"
t_done
