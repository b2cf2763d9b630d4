#!/usr/bin/env bash
# Off-network gateway storage lifecycle (#17): our gateway and our router
# (as in t91). With no router connected a job expires after
# job_expiry_seconds: its file is shredded, the status query says
# "expired", plsc status counts it, the log says so once. A job due while
# a router fetches its body is not expired under it: the RESULT wins and
# it prints once. A job offered to a router that then stops answering is
# never reported expired: when due it is shredded as "maybe-printed". The
# outcomes file is compacted at twice outcomes_keep (keeping the newest),
# answers the status query for the jobs it kept across a restart, and a
# kill -9 between the compaction's synced temp file and its rename leaves
# the old file whole (the temp file removed at the next start).
. "$(dirname "$0")/../lib/lib.sh"

t_setup
plan 43

rec_start P1
# a heartbeat timeout of 6 s: a stopped router, and the paused gateway
# (below), are not killed by the supervisor first
offnet_pair '{"heartbeat_timeout_ms": 6000}' '{}' '{"dead_s": 2, "job_expiry_seconds": 4,
	"expiry_check_s": 1, "outcomes_keep": 3}'
plsc printers add P1 "socket://127.0.0.1:$REC_PORT_P1" >/dev/null
token_for ws1
# the router reads job bodies slowly (20 ms a block), so that a job is
# still on its way when it falls due; the gateway's compaction pauses 1.5 s
# between its synced temp file and the rename, so that it can be killed
# there
export PL_TEST_OFFNET_BODY_SLOW_US=20000
export PL_TEST_OFFNET_GW_PAUSE_IN_COMPACT=1500
sup_start
wait_until 15 state_is "$GWN" running
ok $? "the gateway runs"
wait_until 15 sh -c "'$BIN/plsc' -c '$CONF' status --json | grep -q '1 router connected'"
ok $? "the router is connected"
[ "$T_FAILED" -eq 0 ] || exit 1

gsubmit() {
	"$BIN/plsc-submit" --server "127.0.0.1:$IN_PORT" --token-file "$T/token-ws1" \
		--user remote --printer P1 --ca "$C/ca.pem" --timeout 60 "$@"
}
query() {
	curl -sS --cacert "$C/ca.pem" -o "$T/q.json" -w '%{http_code}' \
		-H "Authorization: Bearer $(cat "$T/token-ws1")" \
		"https://127.0.0.1:$GW_PORT/v1/jobs/$1"
	echo " $(cat "$T/q.json" 2>/dev/null)"
}
state_of() { query "$1" | grep -q "\"state\":\"$2\""; }
stored() { find "$T/lib/$GWN/jobs" -maxdepth 1 -name '*.job' 2>/dev/null | grep -c .; }
detail() { plsc status --json | jq -r --arg n "$GWN" '.services[] | select(.name == $n) | .detail'; }
copies() { rec_copies "$1"; }
OUT=$T/lib/$GWN/outcomes
lines() { grep -c . "$OUT" 2>/dev/null; }

# ---- no router: the job expires
plsc disable "$ON" >/dev/null
wait_until 10 sh -c "'$BIN/plsc' -c '$CONF' status --json | grep -q '0 routers connected'"
ok $? "the router is off: 0 routers connected"
echo "nobody comes for me" > "$T/lonely"
ida=$(gsubmit "$T/lonely")
ok $? "a job is taken with no router connected: $ida"
like "$(query "$ida")" '^200 .*"state":"waiting"' "the status query says waiting"
is "$(stored)" 1 "it is stored"
wait_eval 20 'state_of "$ida" expired'
ok $? "after job_expiry_seconds the status query says expired"
like "$(query "$ida")" 'no router took it within 4 s' "with the reason"
wait_eval 10 '[ "$(stored)" -eq 0 ]'
ok $? "its file is gone from the gateway's disk"
wait_eval 10 'detail | grep -q "1 expired"'
ok $? "plsc status counts it: $(detail | grep -o '[0-9]* expired')"
is "$(log_of "$GWN" | grep -c "job $ida .*no router took it")" 1 "the log says so once"

# ---- a job that falls due while a router fetches it is not expired under it
plsc enable "$ON" >/dev/null
wait_until 15 sh -c "'$BIN/plsc' -c '$CONF' status --json | grep -q '1 router connected'"
ok $? "the router is back"
head -c 8388608 /dev/urandom > "$T/slow"
idb=$(gsubmit "$T/slow")
ok $? "an 8 MiB job (its body fetched at 20 ms a block): $idb"
wait_until 20 grep -q "job $idb: a router fetches its" "$T/log/$GWN.log"
ok $? "a router fetches its body"
sleep 5
like "$(query "$idb")" '"state":"sending"' "past its expiry, still on its way: sending"
is "$(stored)" 1 "and still stored"
wait_eval 90 'state_of "$idb" printed'
ok $? "its RESULT wins: printed"
is "$(copies "$T/slow")" 1 "printed once"
ok "$(log_of "$GWN" | grep -q "job $idb .*shredded"; test $? -ne 0; echo $?)" \
	"never expired"
wait_eval 10 '[ "$(stored)" -eq 0 ]'
ok $? "shredded after its RESULT"

# ---- offered to a router that stops answering: never "expired"
head -c 8388608 /dev/urandom > "$T/stuck"
idc=$(gsubmit "$T/stuck")
ok $? "another 8 MiB job: $idc"
wait_until 20 grep -q "job $idc: a router fetches its" "$T/log/$GWN.log"
ok $? "a router fetches its body"
rpid=$(svc_pid "$ON")
kill -STOP "$rpid"
wait_eval 30 'state_of "$idc" maybe-printed'
ok $? "the router stopped mid-fetch: once due, the job is shredded as maybe-printed"
like "$(query "$idc")" 'offered to a router that never answered' "and the reason says why"
kill -CONT "$rpid" 2>/dev/null
wait_eval 10 '[ "$(stored)" -eq 0 ]'
ok $? "its file is gone"
wait_until 30 sh -c "'$BIN/plsc' -c '$CONF' status --json | grep -q '1 router connected'"
ok $? "the router connects again"
sleep 1
ok "$(test "$(copies "$T/stuck")" -le 1; echo $?)" \
	"printed at most once (copies: $(copies "$T/stuck"); its connection dropped)"

# ---- compaction: outcomes_keep 3, so the file is rewritten past 6 lines.
# Five lines so far (expired; offered, printed; offered, maybe-printed):
# the next job's "offered" and "printed" make seven, and its RESULT starts
# a compaction, which the test hook holds between temp file and rename.
diag "outcomes: $(lines) lines before"
echo "small job 1 $RANDOM" > "$T/s1"
id1=$(gsubmit "$T/s1")
wait_until 30 test -e "$T/lib/$GWN/outcomes.tmp"
ok $? "a compaction writes outcomes.tmp"
before=$(lines)
gpid=$(svc_pid "$GWN")
kill -9 "$gpid"
is "$before" 7 "killed -9 there: the old file, whole ($before lines)"
wait_until 20 running_with_new_pid "$GWN" "$gpid"
ok $? "the supervisor restarts the gateway"
wait_eval 20 'log_of "$GWN" | grep -q "removed an unfinished compaction"'
ok $? "the leftover temp file is removed at start"
wait_eval 20 'log_of "$GWN" | grep -q "outcomes compacted: 7 lines"'
ok $? "and the restarted gateway compacts the file"
wait_eval 60 'state_of "$id1" printed'
ok $? "the job whose RESULT came just before the kill answers printed"
is "$(copies "$T/s1")" 1 "printed once"
like "$(query "$ida")" '"state":"expired"' "the expired job's outcome is kept (3 newest of 4)"
# More jobs until the file passes its bound again: twice the larger of
# outcomes_keep and what the last compaction kept (at most 5 lines here),
# so four jobs at the most.
compactions() { log_of "$GWN" | grep -c "outcomes compacted"; }
sent=("$id1")
for i in 2 3 4 5; do
	echo "small job $i $RANDOM" > "$T/s$i"
	id=$(gsubmit "$T/s$i")
	sent+=("$id")
	wait_eval 30 'state_of "$id" printed'
	[ "$(compactions)" -ge 2 ] && break
done
wait_eval 20 '[ "$(compactions)" -ge 2 ]'
ok $? "$((${#sent[@]} - 1)) more jobs: compacted again"
ok "$(test ! -e "$T/lib/$GWN/outcomes.tmp"; echo $?)" "no temp file left"
after=$(lines)
ok "$(test "$after" -le 8; echo $?)" "the file stays bounded: $after lines"
like "$(query "$ida")" '^404 ' "the oldest outcome (the expired job) was dropped"
like "$(query "$idc")" '"state":"maybe-printed"' \
	"the maybe-printed outcome (not final) is kept"
answers() {
	local n=${#sent[@]}
	state_of "${sent[n - 1]}" printed && state_of "${sent[n - 2]}" printed &&
		state_of "${sent[n - 3]}" printed
}
answers
ok $? "the newest three answer printed"
gpid=$(svc_pid "$GWN")
kill -9 "$gpid"
wait_until 20 running_with_new_pid "$GWN" "$gpid"
wait_until 15 state_is "$GWN" running
ok $? "killed -9 again: the gateway runs"
wait_eval 10 answers
ok $? "after the restart the kept outcomes still answer printed"
t_done
