#!/usr/bin/env bash
# AirPrint: the IPP job table does not bound how many jobs are held (#15's
# capacity bug: 1024 jobs waiting for release refused every new one). With
# a table of 4 (job_table), alice holds 10 jobs: every one is accepted, the
# ones pushed out of the table are still answered from the store by their
# id (Get-Job-Attributes, Get-Jobs, Cancel-Job by their owner only, and
# after a restart), and all are released by plsc release; to anyone else a
# job is not found, in the table or out of it, with the same answer.
# queued-job-count counts every held job, not the table's. Jobs in flight
# (Create-Job waiting for its document) are capped per user
# (max_user_jobs_in_flight 2): alice at her cap is refused as busy while bob
# still prints; with every slot in flight the next job is refused as busy,
# with a message.
. "$(dirname "$0")/../lib/lib.sh"
t_setup
plan 40

AP=PrinterLogicServiceAirprint
rec_start P1
AP_PORT=$(free_port)
t_config '{}' "$(jq -n --arg ap "$BIN/$AP" --arg l "127.0.0.1:$AP_PORT" '{
	"PrinterLogicServiceAirprint": {path: $ap, listen: {main: $l},
		printer_name: "Test AirPrint", client_timeout_s: 5, job_table: 4,
		max_user_jobs_in_flight: 2}}')"
sup_start
wait_until 15 state_is "$AP" running
ok $? "the AirPrint service runs (job_table 4)"
plsc printers add P1 "socket://127.0.0.1:$REC_PORT_P1" >/dev/null &&
	echo 4711 | plsc users add alice --name "Alice A" --pin >/dev/null &&
	echo 8080 | plsc users add bob --name "Bob B" --pin >/dev/null &&
	echo 9090 | plsc users add carol --name "Carol C" --pin >/dev/null
ok $? "printer P1; alice, bob and carol have PINs"

URI="ipps://alice:4711@localhost:$AP_PORT/ipp/print"
BURI="ipps://bob:8080@localhost:$AP_PORT/ipp/print"
CURI="ipps://carol:9090@localhost:$AP_PORT/ipp/print"
printf '%%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Count 1/Kids[3 0 R]>>endobj\n3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\ntrailer<</Root 1 0 R>>\n%%%%EOF\n' > "$T/doc.pdf"

# op_test NAME OPERATION STATUS [LINES]: an ipptool test file
op_test() {
	cat > "$T/$1.test" <<TEST
{
	NAME "$1"
	OPERATION $2
	GROUP operation-attributes-tag
	ATTR charset attributes-charset utf-8
	ATTR naturalLanguage attributes-natural-language en
	ATTR uri printer-uri \$uri
	ATTR name requesting-user-name alice
	$4
	STATUS $3
}
TEST
}
op_test print Print-Job successful-ok "ATTR name job-name \$name
	ATTR mimeMediaType document-format application/pdf
	FILE $T/doc.pdf
	EXPECT job-id"
op_test gja Get-Job-Attributes successful-ok "ATTR integer job-id \$job
	ATTR keyword requested-attributes all"
op_test gja-gone Get-Job-Attributes client-error-not-found "ATTR integer job-id \$job"
op_test cancel Cancel-Job successful-ok "ATTR integer job-id \$job"
op_test cancel-gone Cancel-Job client-error-not-found "ATTR integer job-id \$job"
op_test jobs Get-Jobs successful-ok "ATTR keyword which-jobs not-completed
	ATTR keyword requested-attributes job-id,job-name,job-state"
op_test create Create-Job successful-ok "ATTR name job-name waiting
	EXPECT job-id"
op_test create-capped Create-Job server-error-busy "ATTR name job-name over-cap"
op_test gpa Get-Printer-Attributes successful-ok "ATTR keyword requested-attributes queued-job-count"
op_test busy Print-Job server-error-busy "ATTR name job-name refused
	ATTR mimeMediaType document-format application/pdf
	FILE $T/doc.pdf"
op_test cancel-mine Cancel-My-Jobs successful-ok ""
ipt() { timeout 60 ipptool -tv -T 20 "$@" </dev/null 2>&1; }
# the status-message, with the job id as N
smsg() { sed -n 's/.*status-message (textWithoutLanguage) = //p' | head -1 | sed 's/[0-9][0-9]*/N/'; }
qcount() { ipt "$URI" "$T/gpa.test" | sed -n 's/.*queued-job-count (integer) = \([0-9]*\).*/\1/p'; }
held() { plsc jobs --user alice --json | jq '.jobs | length'; }
job_id() { sed -n 's/.*job-id (integer) = \([0-9]*\).*/\1/p' | head -1; }

# ---- more held jobs than the table has slots: all accepted ----
ids=()
fails=0
for n in 1 2 3 4 5 6 7 8 9 10; do
	out=$(ipt -d name="j$n" "$URI" "$T/print.test") || { fails=$((fails + 1)); diag "$out"; }
	ids+=("$(echo "$out" | job_id)")
done
is "$fails" 0 "10 Print-Jobs accepted with a table of 4"
is "$(held)" 10 "10 jobs held"
grep -q "too many jobs" "$T/log/$AP.log"
ok $((! $?)) "no job was refused as too many"
is "$(qcount)" 10 "queued-job-count: 10 (every held job, not the table's 4)"

# ---- an old one, out of the table, answered from the store ----
out=$(ipt -d job="${ids[0]}" "$URI" "$T/gja.test")
ok $? "Get-Job-Attributes of the first job (out of the table)"
like "$out" "job-state \(enum\) = pending-held" "it is held"
like "$out" "job-name \(nameWithoutLanguage\) = j1" "and it is that job (j1)"
out=$(ipt "$URI" "$T/jobs.test")
is "$(echo "$out" | grep -c 'job-id (integer)')" 10 "Get-Jobs lists all 10 held jobs"
like "$(echo "$out" | grep 'job-name (name' | head -1)" "= j10" "newest first"

GJA_MSG="no job N of yours (a job that was released, canceled or expired is remembered only among the newest 4)"
# ---- only its owner sees it or cancels it; to anyone else it is not
# found, in the table (j10) as out of it (j1), with the same message ----
out=$(ipt -d job="${ids[0]}" "$BURI" "$T/gja-gone.test")
ok $? "bob's Get-Job-Attributes of alice's old job: not found"
gja_out=$(echo "$out" | smsg)
out=$(ipt -d job="${ids[9]}" "$BURI" "$T/gja-gone.test")
ok $? "bob's Get-Job-Attributes of alice's newest job (in the table): not found too"
is "$(echo "$out" | smsg) / $gja_out" "$GJA_MSG / $GJA_MSG" "with the same message"
out=$(ipt -d job="${ids[0]}" "$BURI" "$T/cancel-gone.test")
ok $? "bob's Cancel-Job of her old job: not found"
cancel_out=$(echo "$out" | smsg)
out=$(ipt -d job="${ids[9]}" "$BURI" "$T/cancel-gone.test")
ok $? "bob's Cancel-Job of her newest job (in the table): not found too"
is "$(echo "$out" | smsg) / $cancel_out" "no job N of yours / no job N of yours" "with the same message"
is "$(held)" 10 "still 10 held"
ipt -d job="${ids[1]}" "$URI" "$T/cancel.test" >/dev/null
ok $? "alice's Cancel-Job of her old job j2 (out of the table)"
is "$(held)" 9 "9 held"
plsc jobs --user alice --json | jq -r '.jobs[].title' | grep -qx j2
ok $((! $?)) "j2 is the one gone"
out=$(ipt -d job="${ids[1]}" "$URI" "$T/gja-gone.test")
ok $? "Get-Job-Attributes of the canceled j2: not found"
like "$out" "remembered only among the newest 4" "with a message that says why"

# ---- after a restart: the newest 4 in the table, the rest by their key ----
oldpid=$(svc_pid "$AP")
restarted() { local p; p=$(svc_pid "$AP"); [ -n "$p" ] && [ "$p" != "$oldpid" ] && state_is "$AP" running; }
plsc restart "$AP" >/dev/null
wait_until 15 restarted
ok $? "the service restarted"
out=$(ipt -d job="${ids[2]}" "$URI" "$T/gja.test")
like "$out" "job-name \(nameWithoutLanguage\) = j3" "j3 (not in the restored table) still answers by its id"
out=$(ipt -d name=j11 "$URI" "$T/print.test")
new=$(echo "$out" | job_id)
ok $([ -n "$new" ] && [ "$new" -gt "${ids[9]}" ]; echo $?) "a new job's id ($new) is past every held one's (${ids[9]})"

# ---- all released ----
out=$(plsc release --user alice --printer P1 --all 2>&1)
like "$out" "released 10 jobs to P1" "plsc release releases all 10 (old ones included)"
wait_until 20 test -e "$T/rec-P1/job-10.bin"
ok $? "P1 got 10 documents"
out=$(ipt -d job="${ids[0]}" "$URI" "$T/gja-gone.test")
ok $? "a released job out of the table: not found (documented)"

# ---- Cancel-My-Jobs reaches the held jobs out of the table too ----
for n in 12 13 14 15 16 17; do ipt -d name="j$n" "$URI" "$T/print.test" >/dev/null; done
is "$(held)" 6 "6 more held"
out=$(ipt "$URI" "$T/cancel-mine.test")
ok $? "Cancel-My-Jobs"
is "$(held)" 0 "none held"

# ---- jobs in flight: capped per user, and they still bound the table ----
fails=0
for n in 1 2; do ipt "$URI" "$T/create.test" >/dev/null || fails=$((fails + 1)); done
is "$fails" 0 "alice's 2 Create-Jobs, waiting for their documents"
out=$(ipt "$URI" "$T/create-capped.test")
ok $? "her third is refused as busy (max_user_jobs_in_flight 2)"
like "$out" "status-message .* = you have too many jobs being sent or waiting" "with a message that says why"
grep -q "a new job of alice refused: 2 jobs of theirs in flight" "$T/log/$AP.log"
ok $? "and the log says so"
ipt -d name=bob1 "$BURI" "$T/print.test" >/dev/null
ok $? "bob still prints meanwhile"
is "$(qcount)" 3 "queued-job-count: bob's held job and alice's 2 waiting"
for n in 1 2; do ipt "$BURI" "$T/create.test" >/dev/null; done
out=$(ipt "$CURI" "$T/busy.test")
ok $? "with 4 Create-Jobs of two users waiting for their documents, carol's job is refused as busy"
like "$out" "too many jobs being received at once" "as the table is full"
t_done
