#!/usr/bin/env bash
# Nothing lost, nothing partial: kill -9 during an upload and after the
# reply; a flipped bit or a truncated job file is detected and not printed.
. "$(dirname "$0")/../lib/lib.sh"
t_setup
plan 17

rec_start P1
op_config
sup_start
wait_until 15 state_is "$OP" running
plsc printers add P1 "socket://127.0.0.1:$REC_PORT_P1" >/dev/null
token_for ws1

# kill -9 during an upload: a slow upload of a big job through a pipe.
head -c 100000000 /dev/urandom > "$T/big"
( "$BIN/plsc-submit" --server "127.0.0.1:$OP_PORT" --token-file "$T/token-ws1" \
	--user alice --insecure "$T/big" > "$T/upload.out" 2>&1 ) &
upid=$!
wait_until 10 uploading
ok $? "an upload is in progress (its job file, not yet sealed, present)"
old=$(svc_pid "$OP")
kill -9 "$old"
wait "$upid"
ok $(( $? != 0 ? 0 : 1 )) "the client is told the upload failed"
# A new process, not the old one before the supervisor saw it die.
wait_until 10 running_with_new_pid "$OP" "$old"
ok $? "the service is restarted"
is "$(uploads_on_disk)" 0 "no part of the upload remains after the restart"
is "$(plsc jobs --json | jq '.jobs | length')" 0 "no job is listed"

# kill -9 right after the reply: the job survives and prints correctly.
head -c 3000000 /dev/urandom > "$T/doc"
id=$(submit ws1 alice "$T/doc")
old=$(svc_pid "$OP")
kill -9 "$old"
wait_until 10 running_with_new_pid "$OP" "$old"
is "$(plsc jobs --json | jq -r '.jobs[0].id')" "$id" "a job acknowledged before kill -9 is still held"
plsc release --user alice --printer P1 >/dev/null
is "$(sha256sum < "$T/rec-P1/job-1.bin")" "$(sha256sum < "$T/doc")" "and prints byte-identical"

# Tamper: flip one bit in the middle of a job file.
head -c 500000 /dev/urandom > "$T/doc2"
id=$(submit ws1 carol "$T/doc2")
f="$T/lib/$OP/jobs/$id.job"
python3 - "$f" <<'PY' 2>/dev/null || perl -e 'open(F,"+<",$ARGV[0]);seek(F,250000,0);read(F,$b,1);seek(F,250000,0);print F chr(ord($b)^1);close F' "$f"
import sys
p = sys.argv[1]
with open(p, "r+b") as f:
    f.seek(250000); b = f.read(1); f.seek(250000); f.write(bytes([b[0] ^ 1]))
PY
out=$(plsc release --user carol --printer P1 2>&1)
like "$out" "damaged" "a flipped bit is detected and the job is not printed"
[ ! -e "$T/rec-P1/job-2.bin" ] && [ ! -e "$T/rec-P1/job-2.part" ]
ok $? "the printer received nothing"
wait_until 5 grep -q "damaged" "$T/log/$OP.log"
ok $? "and the service log says so"

# Truncate another job file.
id=$(submit ws1 dave "$T/doc2")
f="$T/lib/$OP/jobs/$id.job"
truncate -s $(( $(stat -c %s "$f") - 100 )) "$f"
out=$(plsc release --user dave --printer P1 2>&1)
like "$out" "damaged|corrupt|no held jobs" "a truncated job file is detected, not printed"
[ ! -e "$T/rec-P1/job-2.bin" ]
ok $? "the printer still received nothing"
# A damaged job never blocks the others (#11): erin's newest job is
# damaged; a most-recent release sets it aside and prints her next one.
head -c 200000 /dev/urandom > "$T/older"
older=$(submit ws1 erin "$T/older")
sleep 0.01
bad=$(submit ws1 erin "$T/doc2")
flip() {
	python3 - "$1" <<'PY'
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(5000); b = f.read(1); f.seek(5000); f.write(bytes([b[0] ^ 1]))
PY
}
flip "$T/lib/$OP/jobs/$bad.job"
out=$(plsc release --user erin --printer P1 2>&1)
like "$out" "released 1 job.*passed over job $bad" "the release passes over the damaged job and says so"
is "$(sha256sum < "$T/rec-P1/job-2.bin")" "$(sha256sum < "$T/older")" "and prints the owner's next job"
[ -e "$T/lib/$OP/jobs/$bad.job.corrupt" ]
ok $? "the damaged job is set aside as .corrupt"

# At start, the data of every job is checked in the background: a job
# damaged while the service was down is set aside without a release.
id=$(submit ws1 frank "$T/doc2")
plsc disable "$OP" >/dev/null
flip "$T/lib/$OP/jobs/$id.job"
plsc enable "$OP" >/dev/null
wait_until 10 test -e "$T/lib/$OP/jobs/$id.job.corrupt"
ok $? "a job damaged while the service was down is set aside at start"
wait_until 5 grep -q "\"event\":\"damaged\".*$id" "$T/log/job-events.jsonl"
ok $? "with a damaged job event"
t_done
