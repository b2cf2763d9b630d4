#!/usr/bin/env bash
# Held jobs end to end: workstation -> TLS 31989 -> encrypted store ->
# release -> recording raw printer, byte-identical; then gone from disk.
# A most-recent release goes straight to the one holder; with a second
# holder running it asks both and takes the newest across them; with the
# second one disabled, straight again (PROTOCOL.md §8).
. "$(dirname "$0")/../lib/lib.sh"
t_setup
plan 36

rec_start P1
op_config '{}' '{"log_level": "debug"}'
sup_start
wait_until 15 state_is "$OP" running
ok $? "the held-jobs service runs"
plsc printers add P1 "socket://127.0.0.1:$REC_PORT_P1" --location "2nd floor" >/dev/null
ok $? "plsc printers add"
like "$(plsc printers list)" "P1 +- +socket://127.0.0.1:$REC_PORT_P1" "plsc printers list shows it"
token_for ws1
like "$(cat "$T/token-ws1")" "^plsc_[0-9a-f]{8}_" "plsc token create prints a token once"

# 1 byte, 10 MiB and 200 MiB: byte-identical at the printer, then shredded.
n=0
for size in 1 10485760 209715200; do
	n=$((n + 1))
	head -c "$size" /dev/urandom > "$T/doc-$size"
	id=$(submit ws1 alice "$T/doc-$size" --title "doc $size")
	like "$id" "^[0-9a-f]{32}$" "a $size-byte job is accepted (id $id)"
	is "$(plsc jobs --user alice --json | jq -r '.jobs[0].size')" "$size" "plsc jobs lists it with its size"
	out=$(plsc release --user alice --printer P1)
	like "$out" "released 1 job to P1" "plsc release prints it"
	is "$(sha256sum < "$T/rec-P1/job-$n.bin")" "$(sha256sum < "$T/doc-$size")" \
		"the printer received exactly the $size bytes"
	wait_eval 10 'test "$(jobs_on_disk)" -eq 0'
	ok $? "and the job is gone from disk (shredded just after the answer)"
done

# Several jobs: most recent first, then --all.
for i in 1 2 3; do echo "job $i" > "$T/small-$i"; submit ws1 bob "$T/small-$i" >/dev/null; sleep 0.01; done
plsc release --user bob --printer P1 >/dev/null
is "$(cat "$T/rec-P1/job-4.bin")" "job 3" "most-recent releases the newest job"
out=$(plsc release --user bob --printer P1 --all)
like "$out" "released 2 jobs to P1" "--all releases the rest"
is "$(cat "$T/rec-P1/job-5.bin" "$T/rec-P1/job-6.bin" | sort | tr '\n' ' ')" "job 1 job 2 " "oldest jobs printed"
plsc release --user bob --printer P1 >/dev/null 2>&1
is "$?" 1 "releasing with nothing held fails (1)"

# Job events: metadata only.
ev=$(tail -1 "$T/log/job-events.jsonl")
is "$(echo "$ev" | jq -r '.event + " " + .user + " " + .printer + " " + .service')" \
	"printed bob P1 $OP" "job-events.jsonl records who, what, where"
ok $(grep -c 'job 1' "$T/log/job-events.jsonl") "no document content in the events log"

is "$(releases_straight) $(releases_asking)" "5 0" \
	"one holder: each most-recent release went straight to it (RELEASE_JOBS with NEWEST)"

# Two holders: most recent across both, asking each for its newest.
holder2_add
ok $? "a second holder runs ($OP2)"
echo "dora old" > "$T/d1"; submit ws1 dora "$T/d1" >/dev/null; sleep 0.01
echo "dora new" > "$T/d2"; submit2 ws1 dora "$T/d2" >/dev/null
like "$(plsc release --user dora --printer P1)" "released 1 job to P1" "two holders: a most-recent release"
is "$(cat "$T/rec-P1/job-7.bin")" "dora new" "prints the newest across both (in $OP2)"
plsc release --user dora --printer P1 >/dev/null
is "$(cat "$T/rec-P1/job-8.bin")" "dora old" "then the next one (in $OP)"
plsc printers add P2 "socket://127.0.0.1:$(free_port)" >/dev/null
echo "dora secure" > "$T/d3"; submit2 ws1 dora "$T/d3" --printer P1 >/dev/null
out=$(plsc release --user dora --printer P2 2>&1); rc=$?
is "$rc" 1 "two holders: a release at the wrong printer fails (1)"
like "$out" "no held jobs for dora that may print at P2: 1 secure job for another printer" \
	"and says why, as with one holder"
is "$(releases_straight) $(releases_asking)" "5 3" "two holders: each release asked both"
plsc disable "$OP2" >/dev/null
wait_until 10 state_is "$OP2" disabled
plsc release --user dora --printer P2 >/dev/null 2>&1
is "$(releases_straight) $(releases_asking)" "6 3" "the second one disabled: straight to the one holder again"
plsc enable "$OP2" >/dev/null && wait_until 15 state_is "$OP2" running
out=$(plsc release --user dora --printer P1)
like "$out" "released 1 job to P1" "enabled again: its job is released"
is "$(cat "$T/rec-P1/job-9.bin") $(releases_asking)" "dora secure 4" "asking both holders"

t_done
