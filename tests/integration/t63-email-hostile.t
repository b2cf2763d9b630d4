#!/usr/bin/env bash
# The Email service against a hostile IMAP server (tests/lib/evilimap.py,
# TLS with the test's CA, any login accepted): a message announced as 100
# bytes whose FETCH answer is a literal of 4 GiB, streamed. The service
# must cut the connection off at its read budget (the announced size plus
# 16 MiB), not buffer the literal through libetpan, and keep running.
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/../lib/dovecot.sh"
t_setup
plan 5

EM=PrinterLogicServiceEmail
export EM
dv_ca "$T/dv/good" localhost
mkdir -p "$T/evil"
python3 "$(dirname "$0")/../lib/evilimap.py" "$T/evil" "$T/dv/good/server.pem" \
	"$T/dv/good/server.key" $((4 << 30)) 2>"$T/evil/stderr" &
BG_PIDS+=($!)
wait_until 10 test -s "$T/evil/port"
printf 'whatever\n' > "$T/pw"
t_config '{}' "$(jq -n --arg p "$BIN/$EM" --arg s "localhost:$(cat "$T/evil/port")" \
	--arg pw "$T/pw" --arg ca "$T/dv/good/ca.pem" '{($ENV.EM):
	{path: $p, imap_server: $s, imap_user: "x", imap_password_file: $pw, imap_ca_file: $ca,
	 imap_timeout_s: 10, require_authentication: false, reconnect_max_s: 1}}')"
sup_start
wait_until 15 state_is "$EM" running
ok $? "the Email service runs against the hostile server"
wait_until 60 test -s "$T/evil/sent"
ok $? "it stopped reading the endless literal"
sent=$(cat "$T/evil/sent")
ok $((sent > 64 << 20)) "after at most the budget and the socket buffers ($((sent >> 20)) MiB of 4096 sent)"
like_log "$EM" "UID FETCH: connection lost or timed out" "logged as a lost connection"
rss=$(awk '/VmHWM/ { print $2 }' "/proc/$(svc_pid "$EM")/status")
ok $((rss > 200 * 1024)) "its peak memory stayed small (${rss} KiB)"
t_done
