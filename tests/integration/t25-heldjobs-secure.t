#!/usr/bin/env bash
# Secure print vs pull print: a job submitted for a printer (plsc-submit
# --printer, printer= in the CUPS backend's URI) prints only at that
# printer; an administrator may override that for one release
# (plsc release --any-printer), which is logged; a job without a printer
# prints anywhere. A badge swipe at the wrong printer prints no secure job.
. "$(dirname "$0")/../lib/lib.sh"
t_setup
plan 24

BR=PrinterLogicServiceSimpleBadgeRelease
rec_start Lobby
rec_start P2
BR_PORT=$(free_port)
OP_PORT=$(free_port)
t_config '{}' "$(jq -n --arg op "$BIN/$OP" --arg br "$BIN/$BR" \
	--arg opl "127.0.0.1:$OP_PORT" --arg brl "0.0.0.0:$BR_PORT" '{
	"PrinterLogicServiceOfflinePrint": {path: $op, listen: {main: $opl},
		client_timeout_s: 2, print_timeout_s: 5, print_connect_timeout_s: 2},
	"PrinterLogicServiceSimpleBadgeRelease": {path: $br, listen: {main: $brl},
		dedupe_ms: 200, refresh_s: 1}}')"
sup_start
wait_until 15 state_is "$OP" running && wait_until 15 state_is "$BR" running
ok $? "the held-jobs and badge services run"
plsc printers add Lobby "socket://127.0.0.1:$REC_PORT_Lobby" >/dev/null
plsc printers add P2 "socket://127.0.0.1:$REC_PORT_P2" >/dev/null
token_for ws1
printed() { ls "$T/rec-$1" 2>/dev/null | grep -c '^job-.*\.bin$'; }
held() { plsc jobs --user "$1" --json | jq -r '[.jobs[].id] | join(" ")'; }

# A secure job at another printer: refused, not printed, still held.
echo "payslip" > "$T/secure"
sec=$(submit ws1 alice "$T/secure" --printer Lobby --title payslip)
is "$(plsc jobs --user alice --json | jq -r '.jobs[0].printer')" "Lobby" "the job is held for Lobby"
out=$(plsc release --job "$sec" --printer P2 2>&1); rc=$?
is "$rc" 1 "plsc release --job at P2 fails (1)"
like "$out" "secure job for Lobby: release it there" "and says where it must be released"
is "$(printed P2)" 0 "P2 printed nothing"
is "$(held alice)" "$sec" "the job is still held"
like_log "$OP" "release of job $sec of alice to P2 refused: secure job for Lobby" \
	"the holder logs the refusal"
out=$(plsc release --user alice --printer P2 2>&1); rc=$?
is "$rc" 1 "plsc release --user at P2 finds nothing to print there (1)"
like "$out" "no held jobs for alice that may print at P2: 1 secure job for another printer" \
	"and says a secure job waits elsewhere"

# At its own printer it prints.
out=$(plsc release --user alice --printer Lobby)
like "$out" "released 1 job to Lobby" "at Lobby it is released"
is "$(cat "$T/rec-Lobby/job-1.bin" 2>/dev/null)" "payslip" "Lobby printed it"

# The override: printed elsewhere, logged with who asked, in the job event.
echo "urgent" > "$T/urgent"
urg=$(submit ws1 alice "$T/urgent" --printer Lobby)
out=$(plsc release --job "$urg" --printer P2 --any-printer)
like "$out" "released 1 job to P2" "--any-printer releases a secure job at P2"
is "$(cat "$T/rec-P2/job-1.bin" 2>/dev/null)" "urgent" "P2 printed it"
like_log "$OP" "released job $urg of alice to P2 .*override: secure job for Lobby released at P2, asked by uid [0-9]+" \
	"the holder logs the override and who asked"
like "$(suplog)" "release to P2 with ANY_PRINTER: secure jobs may print there, asked by uid" \
	"so does the supervisor"
wait_until 5 grep -q "\"event\":\"printed\",\"job_id\":\"$urg\"" "$T/log/job-events.jsonl"
like "$(jq -r --arg id "$urg" 'select(.job_id == $id and .event == "printed") | .detail' \
	"$T/log/job-events.jsonl")" "^override: secure job for Lobby released at P2, asked by uid [0-9]+" \
	"the printed event's detail records the override"

# A pull job prints anywhere; most-recent at P2 skips the newer secure job.
echo "menu" > "$T/pull"
pull=$(submit ws1 bob "$T/pull")
sleep 0.02
echo "bob's secret" > "$T/bobsec"
bsec=$(submit ws1 bob "$T/bobsec" --printer Lobby)
out=$(plsc release --user bob --printer P2)
like "$out" "released 1 job to P2" "bob's most recent job releasable at P2 is released there"
is "$(cat "$T/rec-P2/job-2.bin" 2>/dev/null)" "menu" "it is the older pull job, not the newer secure one"
is "$(held bob)" "$bsec" "the secure job is still held"

# A badge swipe at the wrong printer prints no secure job.
plsc users add bob --badge 6699 >/dev/null
plsc readers add R2 --address 127.0.0.3 --printer P2 --preset elatec-tcpconv2 --mode all >/dev/null
# the badge service re-reads its readers every refresh_s: swipe once it has
# them all
wait_until 10 grep -q "1 badge reader configured" "$T/log/$BR.log"
"$BIN/plsc-reademu" connect 127.0.0.1 "$BR_PORT" 127.0.0.3 elatec-tcpconv2 badge:1a2b
wait_until 10 grep -q "no held jobs for bob that may print at P2" "$T/log/$BR.log"
ok $? "bob's badge at P2's reader: the badge service is told there is nothing for P2"
is "$(printed P2)" 2 "P2 printed nothing more"
is "$(held bob)" "$bsec" "the secure job is still held"

# A pull job swiped at P2 prints; the secure one (mode all) still does not.
echo "agenda" > "$T/pull2"
submit ws1 bob "$T/pull2" >/dev/null
sleep 0.3 # past dedupe_ms
"$BIN/plsc-reademu" connect 127.0.0.1 "$BR_PORT" 127.0.0.3 elatec-tcpconv2 badge:1a2b
wait_until 10 test -e "$T/rec-P2/job-3.bin"
is "$(cat "$T/rec-P2/job-3.bin" 2>/dev/null)" "agenda" "a swipe at P2 prints bob's pull job"
sleep 0.5
is "$(held bob)" "$bsec" "and leaves the secure one held"

t_done
