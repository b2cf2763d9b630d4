#!/usr/bin/env bash
# A release of ten jobs whose holder dies on the way counts ten jobs
# (#11 item 8): "released 0 of 10", each job with its own result, never
# "released 0 of 1" for the lost batch.
. "$(dirname "$0")/../lib/lib.sh"
t_setup
plan 6

rec_start Stall stall
op_config '{"print_timeout_s": 30}'
sup_start
wait_until 15 state_is "$OP" running
ok $? "the held-jobs service runs"
plsc printers add Stall "socket://127.0.0.1:$REC_PORT_Stall" >/dev/null
token_for ws1
for i in $(seq 1 10); do
	echo "job $i" > "$T/doc"
	submit ws1 alice "$T/doc" >/dev/null
done
is "$(plsc jobs --user alice --json | jq '.jobs | length')" 10 "ten jobs held for alice"

# The printer takes the connection and never reads: the release waits.
plsc release --user alice --printer Stall --all > "$T/release.out" 2> "$T/release.err" &
rpid=$!
wait_until 10 test -e "$T/rec-Stall/job-1.part"
ok $? "the release is under way (the printer has a connection)"
kill -9 "$(svc_pid "$OP")"
wait "$rpid"
is "$?" 1 "the release fails (1)"
like "$(cat "$T/release.err")" \
	"released 0 of 10 jobs to Stall: [0-9a-f]{32}: $OP stopped during the operation; whether it printed is not known" \
	"it counts the ten jobs asked for, none confirmed"
is "$(grep -c 'FAILED: .*whether it printed is not known' "$T/release.out")" 10 \
	"and lists each of the ten with its result"
t_done
