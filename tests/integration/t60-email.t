#!/usr/bin/env bash
# E-mail printing end to end against a real Dovecot (IMAPS, our own CA):
# held for a known sender and released to a recording printer (the PDF and
# its page count), direct to a printer's own address, guest printing with
# its daily limit, strangers and forged senders refused into Rejected,
# IDLE delivery, plsc status and plsc email test.
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/../lib/dovecot.sh"
t_setup
plan 36

EM=PrinterLogicServiceEmail
AUTHSERV=mx.corp.example

# em_config [EXTRA_JSON]: the Email service on the test's Dovecot.
em_config() {
	printf '%s\n' "$DV_PASS" > "$T/imap-password"
	chmod 600 "$T/imap-password"
	t_config '{}' "$(jq -n --arg p "$BIN/$EM" --arg s "localhost:$DV_PORT" \
		--arg u "$DV_USER" --arg pw "$T/imap-password" --arg ca "$DV_CA" \
		--arg a "$AUTHSERV" --argjson extra "${1:-{\}}" '{($ENV.EM):
		({path: $p, imap_server: $s, imap_user: $u, imap_password_file: $pw,
		  imap_ca_file: $ca, imap_timeout_s: 10, trusted_authserv_id: $a,
		  direct_domain: "print.corp.example", reconnect_max_s: 1,
		  guest_max_per_day: 2, guest_max_pages: 5, max_message_mb: 1,
		  print_timeout_s: 5, print_connect_timeout_s: 2} + $extra)}')"
}
export EM

# mail FILE FROM TO SUBJECT [AUTH]: a message; AUTH "pass" (default) adds
# our MTA's Authentication-Results, "none" none, "foreign" another's.
mail() {
	local f=$1 from=$2 to=$3 subj=$4 auth=${5:-pass} dom=${2#*@}
	{
		case $auth in
		pass) printf 'Authentication-Results: %s; dmarc=pass header.from=%s\r\n' "$AUTHSERV" "$dom" ;;
		foreign) printf 'Authentication-Results: mx.evil.example; dmarc=pass header.from=%s\r\n' "$dom" ;;
		esac
		printf 'From: Sender <%s>\r\nTo: <%s>\r\nSubject: %s\r\n' "$from" "$to" "$subj"
		printf 'Message-ID: <%s.%s@test>\r\nDate: Sun, 06 Dec 2026 09:00:00 +0000\r\n' "$RANDOM" "$RANDOM"
		printf 'MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n'
		printf 'Hello, this is %s.\r\nPlease print me.\r\n' "$subj"
	} > "$f"
}

pages_of() { qpdf --show-npages "$1" 2>/dev/null; }
detail() { field "$EM" detail; }
is_idle() { detail | grep -q '^idle'; }
held_for() { [ "$(plsc jobs --user "$1" --json | jq '.jobs | length')" = "$2" ]; }
# count_is FOLDER N (for wait_until: evaluated at each try)
count_is() { [ "$(dv_count "$1")" = "$2" ]; }

rec_start P1
rec_start LOBBY
rec_start GUEST
dv_start
ok $? "Dovecot runs on 127.0.0.1:$DV_PORT with its own CA"
em_config
sup_start
plsc printers add P1 "socket://127.0.0.1:$REC_PORT_P1" >/dev/null
plsc printers add LOBBY "socket://127.0.0.1:$REC_PORT_LOBBY" --email lobby@corp.example >/dev/null
ok $? "plsc printers add --email"
plsc printers add GUEST "socket://127.0.0.1:$REC_PORT_GUEST" --email guest@corp.example --guest >/dev/null
like "$(plsc printers list)" "lobby@corp.example" "plsc printers list shows the printer's address"
is "$(plsc printers list --json | jq -r '.printers[] | select(.name=="GUEST") | .guest')" true \
	"and the guest flag in --json"
plsc users add alice --email Alice.Smith@Corp.Example --email alice@home.example >/dev/null
ok $? "a user with two addresses"

wait_until 15 state_is "$EM" running
ok $? "the Email service runs"
wait_until 15 is_idle
ok $? "it logs in over verified TLS and waits in IDLE ($(detail))"
like_log "$EM" "connected \\(IDLE" "the log says so"

# 1. Email printing: held for alice (address matched without case).
mail "$T/m1" alice.smith@corp.example print@corp.example "Quarterly report"
dv_save "$T/m1"
wait_until 30 held_for alice 1
ok $? "a message from alice (while IDLE) is held for her"
job=$(plsc jobs --user alice --json | jq -c '.jobs[0]')
is "$(echo "$job" | jq -r .format)" application/pdf "as a PDF"
is "$(echo "$job" | jq -r .title)" "Quarterly report" "titled with the subject"
wait_until 10 count_is Printed 1
ok $? "the message moved to Printed"
is "$(dv_count INBOX)" 0 "and left the inbox"
out=$(plsc release --user alice --printer P1)
like "$out" "released 1 job to P1" "plsc release prints it"
head -c 5 "$T/rec-P1/job-1.bin" > "$T/magic"
is "$(cat "$T/magic")" "%PDF-" "the printer received a PDF"
pages=$(pages_of "$T/rec-P1/job-1.bin")
is "$pages" "$(echo "$job" | jq -r .pages)" "with the page count the job had ($pages)"
wait_until 5 grep -q '"event":"held".*"service":"'"$EM"'"' "$T/log/job-events.jsonl"
ok $? "a held event from $EM in job-events.jsonl"

# 2. Direct printing: to the printer's own address, from a known user.
mail "$T/m2" alice@home.example lobby@corp.example "Direct one"
dv_save "$T/m2"
wait_until 30 test -s "$T/rec-LOBBY/job-1.bin"
ok $? "mail to lobby@corp.example prints on LOBBY at once"
is "$(head -c 5 "$T/rec-LOBBY/job-1.bin")" "%PDF-" "a PDF"
# ... and to <printer name>@direct_domain
mail "$T/m3" alice@home.example LOBBY@print.corp.example "Direct two"
dv_save "$T/m3"
wait_until 30 test -s "$T/rec-LOBBY/job-2.bin"
ok $? "mail to lobby@print.corp.example (the printer's name) prints there too"

# 3. Guest printing: any sender, at most 2 messages a day.
# the same sender three times
for i in 1 2 3; do
	mail "$T/g$i" visitor@elsewhere.example guest@corp.example "Guest $i" none
	dv_save "$T/g$i"
done
wait_until 30 count_is Rejected 1
ok $? "a guest's third message of the day is refused"
is "$(ls "$T/rec-GUEST" | grep -c 'job-.*\.bin')" 2 "two guest messages printed"
like_log "$EM" "guest messages today" "the log says why"

# 4. Refused: a stranger to a non-guest printer, a forged sender, a
# foreign Authentication-Results, a stranger to the mailbox.
mail "$T/r1" stranger@elsewhere.example lobby@corp.example "Stranger direct" none
mail "$T/r2" alice.smith@corp.example print@corp.example "Forged" none
mail "$T/r3" alice.smith@corp.example print@corp.example "Foreign authserv" foreign
mail "$T/r4" stranger@elsewhere.example print@corp.example "Stranger" pass
for f in r1 r2 r3 r4; do dv_save "$T/$f"; done
wait_until 30 count_is Rejected 5
ok $? "all four are moved to Rejected"
is "$(plsc jobs --user alice --json | jq '.jobs | length')" 0 "nothing is held for alice"
is "$(ls "$T/rec-LOBBY" | grep -c 'job-.*\.bin')" 2 "nothing more printed on LOBBY"
like_log "$EM" "rejected message <.*> \\(uid [0-9]+\\) from alice.smith@corp.example: the sender .* is not authenticated" \
	"a forged From is refused, logged with its Message-ID"
ok $(log_of "$EM" | grep -c "Please print me") "no message body in the log"
is "$(grep -c '"event":"rejected"' "$T/log/job-events.jsonl")" 5 "five rejected job events"

# A message over max_message_mb is refused by its size, never fetched.
mail "$T/big" alice.smith@corp.example print@corp.example "Too big"
head -c 1500000 /dev/urandom | base64 >> "$T/big"
dv_save "$T/big"
wait_until 30 count_is Rejected 6
ok $? "a message over max_message_mb is moved to Rejected"
like_log "$EM" "rejected: message of [0-9]+ bytes is over max_message_mb" "by its size"

# 5. Admin: plsc status detail, plsc email test.
# (a service's status line reaches the supervisor within a second)
status_counts() { detail | grep -Eq "^idle, localhost INBOX, last check [0-9:]+Z; 1 held, 4 printed, 6 rejected, 0 failed$"; }
wait_until 10 status_counts
ok $? "plsc status shows the mailbox state and counts ($(detail))"
out=$(plsc email test)
rc=$?
is "$rc" 0 "plsc email test: the mailbox is usable"
like "$out" "ok: TLS verified .* logged in as $DV_USER" "it says what it checked"
printf 'wrong\n' > "$T/bad-password"
jq --arg f "$T/bad-password" '.services[$ENV.EM].imap_password_file = $f' "$CONF" > "$T/bad.json"
out=$("$BIN/plsc" -c "$T/bad.json" email test)
is "$?" 1 "plsc email test with a wrong password fails"
like "$out" "FAILED: LOGIN" "and says the login failed"
t_done
