#!/usr/bin/env bash
# The Email service killed -9 in each window of a message's life, against a
# real Dovecot: after the job is durable but before its UID is recorded,
# after the UID is recorded but before the move, and in the middle of a
# direct print; each time no message is printed twice and none is lost.
# Then notices to known senders over SMTP submission (STARTTLS, AUTH) to a
# recording peer, none to strangers.
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/../lib/dovecot.sh"
t_setup
plan 36

EM=PrinterLogicServiceEmail
export EM
AUTHSERV=mx.corp.example

em_config() {
	printf '%s\n' "$DV_PASS" > "$T/imap-password"
	chmod 600 "$T/imap-password"
	t_config '{}' "$(jq -n --arg p "$BIN/$EM" --arg s "localhost:$DV_PORT" \
		--arg u "$DV_USER" --arg pw "$T/imap-password" --arg ca "$DV_CA" \
		--arg a "$AUTHSERV" --argjson extra "${1:-{\}}" '{($ENV.EM):
		({path: $p, imap_server: $s, imap_user: $u, imap_password_file: $pw,
		  imap_ca_file: $ca, imap_timeout_s: 10, trusted_authserv_id: $a,
		  reconnect_max_s: 1, print_timeout_s: 5, print_connect_timeout_s: 2} + $extra)}')"
}

mail() {
	local f=$1 from=$2 to=$3 subj=$4
	{
		printf 'Authentication-Results: %s; dmarc=pass header.from=%s\r\n' "$AUTHSERV" "${from#*@}"
		printf 'From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\n' "$from" "$to" "$subj"
		printf 'Message-ID: <%s.%s@test>\r\n\r\nPrint %s, once.\r\n' "$RANDOM" "$RANDOM" "$subj"
	} > "$f"
}

count_is() { [ "$(dv_count "$1")" = "$2" ]; }
held_for() { [ "$(plsc jobs --user "$1" --json | jq '.jobs | length')" = "$2" ]; }
log_has() { grep -q "$1" "$T/log/$EM.log"; }
# kill9_at WHAT UID: wait for the test hook's pause, then kill -9.
kill9_at() {
	wait_until 30 log_has "pausing .* before the $1 of uid $2"
	local pid
	pid=$(svc_pid "$EM")
	kill -9 "$pid"
	wait_until 30 running_with_new_pid "$EM" "$pid"
}

rec_start LOBBY
dv_start
em_config
export PL_TEST_EMAIL_PAUSE_BEFORE_RECORD=1500 PL_TEST_EMAIL_PAUSE_BEFORE_MOVE=1500
sup_start
unset PL_TEST_EMAIL_PAUSE_BEFORE_RECORD PL_TEST_EMAIL_PAUSE_BEFORE_MOVE
plsc printers add LOBBY "socket://127.0.0.1:$REC_PORT_LOBBY" --email lobby@corp.example >/dev/null
plsc users add alice --email alice@corp.example >/dev/null
wait_until 15 state_is "$EM" running
ok $? "the Email service runs, with pauses before recording and before moving"
like_log "$EM" "test hooks set" "the hooks are logged loudly"

# 1. Killed after the job is durable, before the UID is recorded: the
# message is fetched again and finds its job by its idempotency key.
mail "$T/m1" alice@corp.example print@corp.example "one"
dv_save "$T/m1"
kill9_at record 1
ok $? "killed -9 with job 1 held and its UID not recorded; restarted"
wait_until 30 count_is Printed 1
ok $? "after the restart the message is moved to Printed"
is "$(plsc jobs --user alice --json | jq '.jobs | length')" 1 "and held once, not twice"
like_log "$EM" "uid 1\\): already held for alice" "the second fetch found the held job"

# 2. Killed after the UID is recorded, before the move: only moved.
mail "$T/m2" alice@corp.example print@corp.example "two"
dv_save "$T/m2"
kill9_at move 2
ok $? "killed -9 with UID 2 recorded and the message not moved; restarted"
wait_until 30 count_is Printed 2
ok $? "after the restart the message is moved"
is "$(plsc jobs --user alice --json | jq '.jobs | length')" 2 "two jobs held: one a message"
is "$(dv_count INBOX)" 0 "nothing left in the inbox"

# 3. Killed after a direct print, before the UID is recorded: the print
# began (recorded), so it is not printed again.
mail "$T/m3" alice@corp.example lobby@corp.example "three"
dv_save "$T/m3"
kill9_at record 3
ok $? "killed -9 after a direct print, before its UID is recorded; restarted"
wait_until 30 count_is Printed 3
ok $? "after the restart the message is moved"
is "$(ls "$T/rec-LOBBY" | grep -c 'job-.*\.bin')" 1 "LOBBY printed it once"
like_log "$EM" "uid 3\\): a print to LOBBY began before a restart" "the log says why not again"
wait_until 5 grep -q '"event":"maybe-printed"' "$T/log/job-events.jsonl"
ok $? "a maybe-printed job event"
is "$(grep -c '"event":"held"' "$T/log/job-events.jsonl")" 2 "two held events in all"
sup_kill

# 4. A new UIDVALIDITY (the folder deleted and made again): logged, every
# message in it taken again, a held one not held twice.
# (Dovecot says nothing to a session whose folder is deleted, and its stale
# view of the folder may answer SEARCH with nothing: the service selects
# the folder again before each round, after each IDLE of idle_renew_s, and
# before each move.) A pause before each move leaves room for 4b's race.
em_config '{"mailbox": "Print", "idle_renew_s": 2}'
dv_mkdir Print
export PL_TEST_EMAIL_PAUSE_BEFORE_MOVE=5000
sup_start
unset PL_TEST_EMAIL_PAUSE_BEFORE_MOVE
mail "$T/u1" alice@corp.example print@corp.example "uidvalidity"
dv_save "$T/u1" Print
wait_until 30 held_for alice 3
ok $? "a message in the folder Print is held"
like_log "$EM" "not the mailbox of imap.state" "another mailbox than before starts afresh"
wait_until 30 count_is Print 0
ok $? "it leaves the folder before the folder is deleted"
doveadm -c "$T/dv/dovecot.conf" mailbox delete -u "$DV_USER" Print
dv_mkdir Print
dv_save "$T/u1" Print
wait_until 30 log_has "UIDVALIDITY changed"
ok $? "the new UIDVALIDITY is noticed and logged"
msgid() { sed -n 's/^Message-ID: \(<[^>]*>\).*/\1/p' "$1" | tr -d '\r'; }
u1id=$(msgid "$T/u1")
wait_until 30 log_has "message $u1id (uid 1): already held for alice"
ok $? "the same message again is found held"
is "$(plsc jobs --user alice --json | jq '.jobs | length')" 3 "not held twice"
wait_until 30 count_is Print 0
ok $? "and it leaves the folder"

# 4b. The race: the folder deleted and made again between the hold and the
# move. The old UID is never moved out of the new folder; the service
# selects again, logs the new UIDVALIDITY once and finds the message held.
log_count() { grep -c "$1" "$T/log/$EM.log"; }
paused_before_move() { [ "$(log_count "pausing .* before the move of uid 2")" -gt "$1" ]; }
n_pause=$(log_count "pausing .* before the move of uid 2")
mail "$T/u2" alice@corp.example print@corp.example "race"
dv_save "$T/u2" Print
wait_until 30 paused_before_move "$n_pause"
ok $? "message 2 held, the service paused before its move"
t0=$(date +%s%N)
doveadm -c "$T/dv/dovecot.conf" mailbox delete -u "$DV_USER" Print
dv_mkdir Print
dv_save "$T/u2" Print
t1=$(date +%s%N)
[ $(((t1 - t0) / 1000000)) -lt 4000 ] && [ "$(log_count "UIDVALIDITY changed")" = 1 ]
ok $? "the folder deleted and made again during the pause"
two_changes() { [ "$(log_count "UIDVALIDITY changed")" -ge 2 ]; }
wait_until 30 two_changes
ok $? "after the pause the new UIDVALIDITY is noticed and logged"
u2id=$(msgid "$T/u2")
wait_until 30 log_has "message $u2id (uid 1): already held for alice"
ok $? "the message saved again is found held"
wait_until 30 count_is Print 0
ok $? "and it leaves the folder"
is "$(plsc jobs --user alice --json | jq '.jobs | length')" 4 "held once, not twice"
is "$(log_count "UIDVALIDITY changed")" 2 "the change logged once"
is "$(grep -c "error .*UID MOVE" "$T/log/$EM.log")" 0 "no move of a stale UID was tried"
sup_kill

# 5. Notices over SMTP submission: STARTTLS, AUTH, to known senders only.
mkdir -p "$T/smtp"
python3 "$(dirname "$0")/../lib/smtpsink.py" "$T/smtp" "$T/dv/good/server.pem" \
	"$T/dv/good/server.key" notices smtp-secret 2>"$T/smtp/stderr" &
BG_PIDS+=($!)
wait_until 10 test -s "$T/smtp/port"
printf 'smtp-secret\n' > "$T/smtp-password"
em_config "$(jq -n --arg s "localhost:$(cat "$T/smtp/port")" --arg pw "$T/smtp-password" \
	--arg ca "$DV_CA" '{smtp_server: $s, smtp_user: "notices", smtp_password_file: $pw,
	smtp_ca_file: $ca, smtp_from: "print@corp.example"}')"
sup_start
wait_until 15 state_is "$EM" running
mail "$T/n1" alice@corp.example print@corp.example "Notice me"
mail "$T/n2" stranger@elsewhere.example print@corp.example "Stranger"
dv_save "$T/n1"
dv_save "$T/n2"
wait_until 30 test -s "$T/smtp/msg-1.eml"
ok $? "a notice is sent over STARTTLS with AUTH"
n1=$(cat "$T/smtp/msg-1.eml")
like "$n1" "X-Envelope-To: <alice@corp.example>" "to alice"
like "$n1" "Subject: Held for printing" "saying the message is held"
like "$n1" "Release it at any printer" "and how to release it"
wait_until 30 count_is Rejected 1
sleep 1
is "$(ls "$T/smtp" | grep -c 'msg-.*\.eml$')" 1 "no notice to the stranger (no backscatter)"
t_done
