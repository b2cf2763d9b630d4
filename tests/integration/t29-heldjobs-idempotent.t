#!/usr/bin/env bash
# Idempotent submission (#11 item 5): a job stored but never acknowledged
# (the client killed or cut off after the commit) is not held twice when
# the submission is tried again: the same idempotency key, from the same
# workstation for the same user, is answered with the job already held.
# Another user or workstation with the same key is another job. The key
# survives a restart and goes with its job.
. "$(dirname "$0")/../lib/lib.sh"
t_setup
plan 22

rec_start P1
# A quota that a second copy would overrun: the retry must be answered
# before the quota is checked.
op_config '{"quota_user_mb": 1}'
sup_start
wait_until 15 state_is "$OP" running
ok $? "the held-jobs service runs"
plsc printers add P1 "socket://127.0.0.1:$REC_PORT_P1" >/dev/null
token_for ws1
token_for ws2
head -c 700000 /dev/urandom > "$T/doc"
count() { plsc jobs --user "$1" --json | jq '.jobs | length'; }
evil() { ASAN_OPTIONS=detect_leaks=0 "$BIN/plsc-evilclient" "$@"; }
key=3f1c0d6a9b2e4f7081a2b3c4d5e6f708

id1=$(submit ws1 alice "$T/doc" --idempotency-key "$key")
like "$id1" "^[0-9a-f]{32}$" "a job with an idempotency key is held"
# The retry of a job whose answer was lost: the same command again.
out=$(submit ws1 alice "$T/doc" --idempotency-key "$key" 2>"$T/err"); rc=$?
is "$rc:$out" "0:$id1" "the same key again: exit 0 and the same job id (a second copy would be over quota)"
like "$(cat "$T/err")" "already held as job $id1 \(the same idempotency key\): nothing sent again" \
	"plsc-submit says nothing was sent again"
is "$(count alice)" 1 "one job held, not two"
is "$(jobs_on_disk)" 1 "one job file"
wait_until 5 grep -q "job $id1 for alice is already held (the same idempotency key)" "$T/log/$OP.log"
ok $? "the service logs the repeated key"

id2=$(submit ws1 bob "$T/doc" --idempotency-key "$key")
like "$id2" "^[0-9a-f]{32}$" "another user with the same key: a job of its own"
[ "$id2" != "$id1" ]
ok $? "not merged with alice's (id $id2)"
head -c 200000 /dev/urandom > "$T/doc2"
id3=$(submit ws2 alice "$T/doc2" --idempotency-key "$key")
like "$id3" "^[0-9a-f]{32}$" "the same user and key from another workstation: a job of its own"
is "$(count alice)" 2 "two jobs for alice now"

# Survives a restart: the key is in the job's encrypted metadata.
kill -9 "$(svc_pid "$OP")"
sleep 0.2
wait_until 15 state_is "$OP" running
is "$(submit ws1 alice "$T/doc" --idempotency-key "$key" 2>/dev/null)" "$id1" \
	"after kill -9 and a restart the key still finds the job"
is "$(count alice)" 2 "and nothing more is held"

# Keys go with their job: once released, the key starts a new job.
plsc release --user alice --printer P1 --all >/dev/null
ok $? "the jobs are released"
id4=$(submit ws1 alice "$T/doc" --idempotency-key "$key")
like "$id4" "^[0-9a-f]{32}$" "the key of a released job holds a new job"
[ "$id4" != "$id1" ]
ok $? "with a new id"

# Keys are checked: 1 to 64 of A-Z a-z 0-9 . _ : -
out=$(submit ws1 alice "$T/doc" --idempotency-key 'not a key!' 2>&1); rc=$?
is "$rc" 2 "a malformed key is a usage error (2)"

# The CUPS backend: CUPS tries a job again with the same job id, user and
# title; its key is derived from them (and the queue's URI, and a salt of
# this workstation), so the retry finds the held job.
head -c 1000 /dev/urandom > "$T/small"
backend() { # backend JOB-ID
	DEVICE_URI="plsc://127.0.0.1:$OP_PORT/?insecure=1&printer=P1" PLSC_TOKEN_FILE="$T/token-ws1" \
	PLSC_SALT_FILE="$T/var/backend-salt" "$BIN/plsc-backend" "$1" carol "CUPS job" 1 "" "$T/small" 2>&1
}
out=$(backend 200); rc=$?
is "$rc" 0 "the backend holds CUPS job 200"
first=$(echo "$out" | sed -n 's/^INFO: held on the Service Client as job \([0-9a-f]*\)$/\1/p')
is "$(stat -c %a "$T/var/backend-salt")" 600 "its salt is made on first use, mode 0600"
out=$(backend 200); rc=$?
is "$rc:$(echo "$out" | grep '^INFO: already held')" "0:INFO: already held on the Service Client as job $first" \
	"CUPS's retry of job 200 is answered with the same held job"
backend 201 >/dev/null
is "$(count carol)" 2 "CUPS job 201 is another job: two held for carol"

# A client without a key (older ones) is served as before.
like "$(evil announce 127.0.0.1 "$OP_PORT" "$(cat "$T/token-ws1")" 10)" "^result 0 send the data" \
	"SUBMIT_BEGIN without a key is accepted as before"
t_done
