#!/usr/bin/env bash
# Held jobs end to end: workstation -> TLS 31989 -> encrypted store ->
# release -> recording raw printer, byte-identical; then gone from disk.
. "$(dirname "$0")/../lib/lib.sh"
t_setup
plan 25

rec_start P1
op_config
sup_start
wait_until 15 state_is "$OP" running
ok $? "the held-jobs service runs"
plsc printers add P1 "socket://127.0.0.1:$REC_PORT_P1" --location "2nd floor" >/dev/null
ok $? "plsc printers add"
like "$(plsc printers list)" "P1 +socket://127.0.0.1:$REC_PORT_P1" "plsc printers list shows it"
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
	wait_until 10 test "$(jobs_on_disk)" -eq 0
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
t_done
