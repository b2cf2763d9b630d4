#!/usr/bin/env bash
# Held off-network jobs end to end through OUR gateway (#17): plsc-submit
# --hold to the gateway's intake (OFFNET_HOLD 1 on its SUBMIT_BEGIN) -> the
# gateway stores the job and pushes it with OFFNET_HOLD 1 -> the router
# holds it (RESULT held) -> the gateway records "held" and shreds its copy
# -> the status query says held -> plsc release at the router's site ->
# printed on the recording printer -> the router's JOB_EVENT printed ->
# the gateway records it, then acknowledges it -> the status query says
# printed. A pull job deleted at the router: deleted. Without --hold and
# without a printer the gateway refuses the job. The gateway killed -9
# after it recorded a JOB_EVENT and before it acknowledged it: the router
# sends it again after the restart, the gateway acknowledges the repeat
# without recording it a second time. An event for a job the gateway does
# not know is acknowledged, logged and counted. The CUPS backend with hold=1
# in its device URI. A router that lost its outbox journal numbers its
# events in a new epoch, which the gateway records. The gateway role answers the
# supervisor's job queries at once (it holds nothing) rather than let plsc
# jobs wait for it.
. "$(dirname "$0")/../lib/lib.sh"

t_setup
plan 56

# The window between the gateway's synced record of a JOB_EVENT and its
# acknowledgement, widened for the kill -9 below (a test hook of the
# gateway role; the router ignores it).
export PL_TEST_OFFNET_GW_PAUSE_BEFORE_ACK=2000

rec_start P1
offnet_pair '{}' '{"dead_s": 4}' '{"dead_s": 4}'
# The directory first: the two services would both create it otherwise.
plsc printers add P1 "socket://127.0.0.1:$REC_PORT_P1" >/dev/null
plsc users add alice --name "Alice" >/dev/null
token_for ws1
sup_start
wait_until 15 state_is "$GWN" running
ok $? "the gateway runs"
wait_until 15 state_is "$ON" running
ok $? "the router runs"
wait_until 10 sh -c "'$BIN/plsc' -c '$CONF' status --json | grep -q '1 router connected'"
ok $? "the router is connected to our gateway"
[ "$T_FAILED" -eq 0 ] || exit 1

gsubmit() { # gsubmit FILE [options]: to the gateway's intake; prints the job id
	local file=$1
	shift
	"$BIN/plsc-submit" --server "127.0.0.1:$IN_PORT" --token-file "$T/token-ws1" \
		--user alice --ca "$C/ca.pem" --timeout 60 "$@" "$file"
}
query() { # query ID: the status query's HTTP code and body
	curl -sS --cacert "$C/ca.pem" -o "$T/q.json" -w '%{http_code}' \
		-H "Authorization: Bearer $(cat "$T/token-ws1")" \
		"https://127.0.0.1:$GW_PORT/v1/jobs/$1"
	echo " $(cat "$T/q.json" 2>/dev/null)"
}
state_of() { query "$1" | grep -q "\"state\":\"$2\""; }
copies() { rec_copies "$1"; }
stored() { find "$T/lib/$GWN/jobs" -maxdepth 1 -name '*.job' 2>/dev/null | grep -c .; }
jobs_of() { plsc jobs --user alice --json | jq '.jobs | length'; }
detail() { plsc status --json | jq -r --arg n "$1" '.services[] | select(.name == $n) | .detail'; }
outcome_lines() { grep -c "^$1	.*	$2	" "$T/lib/$GWN/outcomes" 2>/dev/null; }

# ---- a secure job: plsc-submit --hold ... --printer P1
head -c 200000 /dev/urandom > "$T/doc1"
id1=$(gsubmit "$T/doc1" --hold --printer P1)
ok $? "plsc-submit --hold hands a held job to the gateway: $id1"
wait_until 20 state_of "$id1" held
ok $? "the status query says held once the router holds it"
wait_until 10 sh -c "[ \$(find '$T/lib/$GWN/jobs' -maxdepth 1 -name '*.job' | grep -c .) -eq 0 ]"
ok $? "the gateway shredded its copy after the router's RESULT held"
is "$(jobs_of)" 1 "plsc jobs lists alice's job, held by the router (the gateway answered none, at once)"
is "$(plsc jobs --user alice --json | jq -r '.jobs[0].service')" "$ON" "held by the router"
is "$(plsc jobs --user alice --json | jq -r '.jobs[0].printer')" "P1" "a secure job, for P1"
is "$(copies "$T/doc1")" 0 "nothing printed before the release"
like "$(plsc release --user alice --printer P1)" "released 1 job to P1" "plsc release at the router's site"
wait_eval 20 'test "$(copies "$T/doc1")" -ge 1'
is "$(copies "$T/doc1")" 1 "printed once, byte-identical"
wait_until 20 state_of "$id1" printed
ok $? "the status query moves from held to printed (the router's JOB_EVENT)"
like "$(query "$id1")" '"reason":"at P1' "and says where"
wait_until 10 sh -c "'$BIN/plsc' -c '$CONF' status --json | grep -q '; 1 outcomes to send'"
ok $? "recorded, not yet acknowledged (the test hook's pause): 1 outcome waits at the router"
wait_until 20 sh -c "'$BIN/plsc' -c '$CONF' status --json | grep -q '; 0 outcomes to send'"
ok $? "then the gateway acknowledges it: the router's outbox is empty"
like "$(detail "$GWN")" "1 held-job events" "the gateway's plsc status counts it"

# ---- a pull job (no printer) deleted at the router
echo "pull job" > "$T/doc2"
id2=$(gsubmit "$T/doc2" --hold)
ok $? "a held job without a printer is taken (a pull job)"
wait_until 20 state_of "$id2" held
ok $? "held"
is "$(plsc jobs --user alice --json | jq -r '.jobs[0].printer')" "" "any printer"
jid=$(plsc jobs --user alice --json | jq -r '.jobs[0].id')
plsc delete "$jid" >/dev/null
wait_until 20 state_of "$id2" deleted
ok $? "deleted at the router: the status query says deleted"
wait_until 20 sh -c "'$BIN/plsc' -c '$CONF' status --json | grep -q '; 0 outcomes to send'"
ok $? "acknowledged"

# ---- the CUPS backend: hold=1 in the device URI (plsc-submit --hold)
backend() { # backend JOBID FILE URI-OPTIONS
	DEVICE_URI="plsc://127.0.0.1:$IN_PORT/?$3" PLSC_TOKEN_FILE="$T/token-ws1" \
		PLSC_CA_FILE="$C/ca.pem" PLSC_SALT_FILE="$T/backend-salt" \
		"$BIN/plsc-backend" "$1" alice "CUPS job" 1 "" "$2" 2>&1
}
head -c 50000 /dev/urandom > "$T/doc5"
out=$(backend 71 "$T/doc5" "printer=P1&hold=1"); rc=$?
is "$rc" 0 "plsc-backend with hold=1 hands the job to the gateway"
id5=$(sed -n 's/^INFO: held on the Service Client as job \([^ ]*\)$/\1/p' <<<"$out")
ok "$(test -n "$id5"; echo $?)" "and names it: $id5"
wait_until 20 state_of "$id5" held
ok $? "held at the router (not printed at once)"
is "$(copies "$T/doc5")" 0 "nothing printed before the release"
plsc release --user alice --printer P1 >/dev/null
wait_until 20 state_of "$id5" printed
ok $? "released: printed"
is "$(copies "$T/doc5")" 1 "byte-identical, once"
head -c 50000 /dev/urandom > "$T/doc6"
out=$(backend 72 "$T/doc6" "printer=P1"); rc=$?
is "$rc" 0 "without hold=1 the gateway takes it too ..."
wait_eval 20 'test "$(copies "$T/doc6")" = 1'
is "$(copies "$T/doc6")" 1 "... and it prints at once"
out=$(backend 73 "$T/doc6" "hold=0"); rc=$?
ok "$(test "$rc" -ne 0; echo $?)" "hold=0 and no printer: refused"
like "$out" "printer name .*or the hold flag" "and CUPS is told why"

# ---- without --hold a job must name a printer
out=$(gsubmit "$T/doc2" 2>&1)
ok "$(test $? -ne 0; echo $?)" "no --hold and no --printer: refused"
like "$out" "printer name .*or the hold flag" "and told why"

# ---- the gateway killed -9 between the record of a JOB_EVENT and its ack
head -c 100000 /dev/urandom > "$T/doc3"
id3=$(gsubmit "$T/doc3" --hold --printer P1)
wait_until 20 state_of "$id3" held
ok $? "a third held job"
gpid=$(svc_pid "$GWN")
plsc release --user alice --printer P1 >/dev/null
wait_until 20 sh -c "grep -q 'job $id3: printed' '$T/log/$GWN.log'"
ok $? "the gateway recorded its printed event"
kill -9 "$gpid"
is "$(outcome_lines "$id3" printed)" 1 "killed before the acknowledgement: the record is on disk"
wait_until 20 running_with_new_pid "$GWN" "$gpid"
ok $? "the supervisor restarts the gateway"
wait_until 30 sh -c "grep -q 'job $id3: printed (event [0-9]*) already recorded' '$T/log/$GWN.log'"
ok $? "the router sent the event again; the gateway knows it"
wait_until 20 sh -c "'$BIN/plsc' -c '$CONF' status --json | grep -q '; 0 outcomes to send'"
ok $? "and acknowledged it this time (the router's outbox is empty)"
is "$(outcome_lines "$id3" printed)" 1 "recorded once"
ok "$(state_of "$id3" printed; echo $?)" "the status query says printed"
is "$(copies "$T/doc3")" 1 "printed once"

# ---- an event for a job the gateway does not know: acknowledged, not recorded
echo "forgotten" > "$T/doc4"
id4=$(gsubmit "$T/doc4" --hold --printer P1)
wait_until 20 state_of "$id4" held
ok $? "a fourth held job"
plsc disable "$GWN" >/dev/null
wait_until 10 sh -c "'$BIN/plsc' -c '$CONF' status --json | grep -q 'disconnected since'"
rm -f "$T/lib/$GWN/outcomes" # the gateway forgets every job (as if long ago)
plsc release --user alice --printer P1 >/dev/null
wait_eval 20 'test "$(copies "$T/doc4")" -ge 1'
wait_until 10 sh -c "'$BIN/plsc' -c '$CONF' status --json | grep -q '; 1 outcomes to send'"
ok $? "released while the gateway is off: the event waits at the router"
plsc enable "$GWN" >/dev/null
wait_until 30 sh -c "'$BIN/plsc' -c '$CONF' status --json | grep -q '; 0 outcomes to send'"
ok $? "the gateway, back, acknowledges the event of a job it does not know"
like_log "$GWN" "job $id4: printed from a router, but this gateway does not know the job" \
	"and logs it"
# (once: the router sends each unacknowledged event once a connection)
like "$(detail "$GWN")" "0 held-job events \(1 unknown\)" "plsc status counts it once, not recorded"
like "$(query "$id4")" "^404 " "the status query knows nothing of it"

# ---- a router that lost its outbox numbers its events in a new epoch: the
# gateway, which recorded an event of the job under the old numbering,
# records the new one (it would have taken a count from 1 for a repeat)
echo "failed first" > "$T/doc7"
id7=$(gsubmit "$T/doc7" --hold)
wait_until 20 state_of "$id7" held
ok $? "a pull job held"
plsc printers add P2 "socket://127.0.0.1:$(free_port)" >/dev/null
plsc release --user alice --printer P2 >/dev/null 2>&1
wait_until 20 sh -c "grep -q 'job $id7: print-failed' '$T/log/$GWN.log'"
ok $? "released to a printer that is down: print-failed recorded"
seq1=$(grep "^$id7	.*	print-failed	" "$T/lib/$GWN/outcomes" | tail -1 | cut -f5)
ok "$(test "$seq1" -gt 4294967295; echo $?)" "its number has an epoch ($seq1)"
wait_until 20 sh -c "'$BIN/plsc' -c '$CONF' status --json | grep -q '; 0 outcomes to send'"
plsc disable "$ON" >/dev/null
wait_until 10 sh -c "'$BIN/plsc' -c '$CONF' status --json | grep -q '0 routers connected'"
rm -f "$T/lib/$ON/outbox"
plsc enable "$ON" >/dev/null
wait_until 20 sh -c "'$BIN/plsc' -c '$CONF' status --json | grep -q '1 router connected'"
ok $? "the router back without its outbox"
plsc release --user alice --printer P1 >/dev/null
wait_until 20 state_of "$id7" printed
ok $? "released again: the status query says printed"
seq2=$(grep "^$id7	.*	printed	" "$T/lib/$GWN/outcomes" | tail -1 | cut -f5)
ok "$(test $((seq2 >> 32)) -ne $((seq1 >> 32)); echo $?)" "under another epoch ($seq2)"
is "$(copies "$T/doc7")" 1 "printed once"
t_done
