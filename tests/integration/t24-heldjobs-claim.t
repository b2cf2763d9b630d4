#!/usr/bin/env bash
# A job being released is off offer: a second release (another swipe, or
# the CLI) cannot print it twice; if the printer fails it is held again.
# Printed jobs are shredded after the answer, off the release's path.
# Both with one holder (a most-recent release goes straight to it) and
# with two (the supervisor asks each for its newest job).
. "$(dirname "$0")/../lib/lib.sh"
t_setup
plan 19

rec_start Stall stall
rec_start P1
op_config '{"print_timeout_s": 3}' '{"log_max_bytes": 4096, "log_keep": 2, "log_level": "debug"}'
sup_start
wait_until 15 state_is "$OP" running
ok $? "the held-jobs service runs"
plsc printers add Stall "socket://127.0.0.1:$REC_PORT_Stall" >/dev/null
plsc printers add P1 "socket://127.0.0.1:$REC_PORT_P1" >/dev/null
token_for ws1
echo "only once" > "$T/doc"
id=$(submit ws1 carol "$T/doc")

# The stalled printer takes the bytes and never confirms: the release
# waits for print_timeout_s.
plsc release --user carol --printer Stall > "$T/first.out" 2>&1 &
first=$!
carol_has_none() { [ "$(plsc jobs --user carol --json | jq '.jobs | length')" = 0 ]; }
wait_until 5 carol_has_none
ok $? "while it is being released the job is not listed"
out=$(plsc release --user carol --printer P1 2>&1); rc=$?
is "$rc" 1 "a second release meanwhile finds nothing to print (1)"
like "$out" "no held jobs for carol" "and says so"
wait "$first"
is "$?" 1 "the release to the stalled printer fails (1)"
is "$(plsc jobs --user carol --json | jq -r '.jobs[0].id')" "$id" "the job is held again"
# The stalled printer had taken the bytes: the job may have printed, so it
# is flagged and only an explicit reprint prints it again.
is "$(plsc jobs --user carol --json | jq -r '.jobs[0].maybe_printed_ms | type')" number \
	"flagged maybe-printed (the printer took bytes and never confirmed)"
out=$(plsc release --user carol --printer P1 2>&1)
like "$out" "may have printed already" "a release by user passes over it, and says why"

plsc release --job "$id" --printer P1 --reprint >/dev/null
is "$(cat "$T/rec-P1/job-1.bin" 2>/dev/null)" "only once" "a reprint by id prints it, once"
wait_eval 10 'test "$(jobs_on_disk)" -eq 0'
ok $? "and it is shredded"

is "$(releases_straight carol) $(releases_asking carol)" "3 0" \
	"one holder: the releases by user went straight to it"

# Two holders: the same rules when the supervisor asks each of them.
holder2_add '{"print_timeout_s": 3}'
ok $? "a second holder runs ($OP2)"
echo "only once too" > "$T/doc2"
id2=$(submit2 ws1 carl "$T/doc2")
plsc release --user carl --printer Stall > "$T/first2.out" 2>&1 &
first=$!
carl_has_none() { [ "$(plsc jobs --user carl --json | jq '.jobs | length')" = 0 ]; }
wait_until 5 carl_has_none
out=$(plsc release --user carl --printer P1 2>&1); rc=$?
is "$rc" 1 "two holders: a second release meanwhile finds nothing to print (1)"
like "$out" "no held jobs for carl" "and says so"
wait "$first"
is "$?" 1 "the release to the stalled printer fails (1)"
out=$(plsc release --user carl --printer P1 2>&1)
like "$out" "may have printed already" "two holders: a release by user passes over the maybe-printed job, and says why"
is "$(releases_straight carl) $(releases_asking carl)" "0 3" \
	"two holders: each release by user asked both"

# job-events.jsonl rotates like the logs (log_max_bytes 4096 here), in
# whole lines.
for i in $(seq 1 12); do submit ws1 "user$i" "$T/doc" --title "a title to make the line longer $i" >/dev/null; done
wait_until 5 test -s "$T/log/job-events.jsonl.1"
ok $? "job-events.jsonl is rotated by size into job-events.jsonl.1"
cat "$T/log/job-events.jsonl.1" "$T/log/job-events.jsonl" | jq -e -s 'length >= 12' >/dev/null
ok $? "every line in both files is a whole JSON event"
