#!/usr/bin/env bash
# A release of ten jobs whose holder dies on the way counts ten jobs
# (#11 item 8): "released 0 of 10", each job with its own result, never
# "released 0 of 1" for the lost batch. A most-recent release sent
# straight to the one holder, which dies on the way, fails its one job the
# same way (the holder chose it: the answer cannot name it).
. "$(dirname "$0")/../lib/lib.sh"
t_setup
plan 9

rec_start Stall stall
op_config '{"print_timeout_s": 30}' '{"log_level": "debug"}'
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

wait_until 20 state_is "$OP" running
echo "zed's job" > "$T/doc"
submit ws1 zed "$T/doc" >/dev/null
conns() { find "$T/rec-Stall" -name 'job-*' | grep -c .; }
before=$(conns)
plsc release --user zed --printer Stall > "$T/release.out" 2> "$T/release.err" &
rpid=$!
wait_eval 10 'test "$(conns)" -gt "$before"'
kill -9 "$(svc_pid "$OP")"
wait "$rpid"
is "$?" 1 "one holder: the most-recent release fails (1)"
like "$(cat "$T/release.err")" \
	"released 0 of 1 jobs to Stall: $OP stopped during the operation; whether it printed is not known" \
	"it counts the one job the holder chose, not confirmed"
is "$(releases_straight zed)" 1 "that release went straight to the one holder"
t_done
