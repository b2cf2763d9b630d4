#!/usr/bin/env bash
# AirPrint, what #15 left: the print options iOS sends (copies, sides,
# print-color-mode, media or media-col) checked at submission, sealed with
# the held job and applied at release by a real IPP printer (ippeveprinter,
# whose jobs we then ask for their attributes); a raw printer gets the
# document without them (logged); PNG held as a PDF; job ids that go on
# after a restart.
. "$(dirname "$0")/../lib/lib.sh"
t_setup
plan 42

AP=PrinterLogicServiceAirprint
IPPT=/usr/share/cups/ipptool
rec_start P1
AP_PORT=$(free_port)
t_config '{}' "$(jq -n --arg ap "$BIN/$AP" --arg l "127.0.0.1:$AP_PORT" '{
	"PrinterLogicServiceAirprint": {path: $ap, listen: {main: $l},
		printer_name: "Test AirPrint", client_timeout_s: 5}}')"
sup_start
wait_until 15 state_is "$AP" running
ok $? "the AirPrint service runs"
# duplex, monochrome only: sides applies, print-color-mode=color cannot
ipp_start -2 -s 10,0
ok $? "ippeveprinter (duplex, monochrome) is up"
plsc printers add IPP1 "ipp://localhost:$IPP_PORT/ipp/print" >/dev/null &&
	plsc printers add P1 "socket://127.0.0.1:$REC_PORT_P1" >/dev/null &&
	echo 4711 | plsc users add alice --name "Alice A" --pin >/dev/null
ok $? "printers IPP1 and P1; alice has a PIN"

URI="ipps://alice:4711@localhost:$AP_PORT/ipp/print"
printf '%%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Count 1/Kids[3 0 R]>>endobj\n3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\ntrailer<</Root 1 0 R>>\n%%%%EOF\n' > "$T/doc.pdf"

# job_test NAME STATUS JOB-ATTRS: an ipptool test file, a Print-Job of
# doc.pdf with JOB-ATTRS (ipptool ATTR lines) that expects STATUS
job_test() {
	cat > "$T/$1.test" <<TEST
{
	NAME "$1"
	OPERATION Print-Job
	GROUP operation-attributes-tag
	ATTR charset attributes-charset utf-8
	ATTR naturalLanguage attributes-natural-language en
	ATTR uri printer-uri \$uri
	ATTR name requesting-user-name alice
	ATTR name job-name "$1"
	ATTR mimeMediaType document-format application/pdf
	GROUP job-attributes-tag
	$3
	FILE $T/doc.pdf
	STATUS $2
	EXPECT job-id
}
TEST
}
ipt() { timeout 60 ipptool -tv -T 20 "$@" </dev/null 2>&1; }
held() { plsc jobs --user alice --json | jq '.jobs | length'; }

# ---- refused at submission, never a surprise at release ----
n=0
for bad in "ATTR integer copies 1000" "ATTR integer copies 0" "ATTR keyword sides two-sided-sideways" \
	"ATTR keyword print-color-mode sepia" "ATTR keyword media iso_a0_841x1189mm" \
	"ATTR collection media-col { MEMBER collection media-size { MEMBER integer x-dimension 84100 MEMBER integer y-dimension 118900 } }"; do
	n=$((n + 1))
	job_test "bad$n" client-error-attributes-or-values-not-supported "$bad"
	sed -i '/EXPECT job-id/d' "$T/bad$n.test"
	out=$(ipt "$URI" "$T/bad$n.test")
	rc=$?
	ok $rc "refused at submission: $bad"
	[ $rc -eq 0 ] || diag "$out"
done
is "$(held)" 0 "nothing was held"

# ---- kept with the job, applied by an IPP printer ----
job_test opts successful-ok "ATTR integer copies 2
	ATTR keyword sides two-sided-long-edge
	ATTR keyword print-color-mode color
	ATTR keyword media iso_a4_210x297mm"
out=$(ipt "$URI" "$T/opts.test")
ok $? "Print-Job with copies, sides, print-color-mode and media is held"
id1=$(echo "$out" | sed -n 's/.*job-id (integer) = \([0-9]*\).*/\1/p' | head -1)
cat > "$T/gja.test" <<'TEST'
{
	OPERATION Get-Job-Attributes
	GROUP operation-attributes-tag
	ATTR charset attributes-charset utf-8
	ATTR naturalLanguage attributes-natural-language en
	ATTR uri printer-uri $uri
	ATTR integer job-id $job
	ATTR name requesting-user-name alice
	ATTR keyword requested-attributes all
	STATUS successful-ok
}
TEST
out=$(ipt -d job="$id1" "$URI" "$T/gja.test")
like "$out" "copies \(integer\) = 2" "Get-Job-Attributes shows copies 2"
like "$out" "sides \(keyword\) = two-sided-long-edge" "and sides"
# released to IPP1: its job has the options it supports
out=$(plsc release --user alice --printer IPP1 2>&1)
like "$out" "released 1 job to IPP1" "released to the IPP printer"
cat > "$T/ipp-jobs.test" <<'TEST'
{
	OPERATION Get-Jobs
	GROUP operation-attributes-tag
	ATTR charset attributes-charset utf-8
	ATTR naturalLanguage attributes-natural-language en
	ATTR uri printer-uri $uri
	ATTR keyword which-jobs all
	ATTR keyword requested-attributes job-id,job-name,copies,sides,media,print-color-mode,job-originating-user-name
	STATUS successful-ok
}
TEST
ipp_job() { # the attributes of ippeveprinter's job named $1
	ipt "ipp://localhost:$IPP_PORT/ipp/print" "$T/ipp-jobs.test" |
		awk -v n="$1" '/job-id \(integer\)/ { blk = "" } { blk = blk $0 "\n" }
			/job-name \(nameWithoutLanguage\)/ && $NF == n { found = 1 }
			found && /job-originating-user-name/ { printf "%s", blk; exit }'
}
wait_until 10 bash -c "ls '$T/ipp' | grep -q '\.pdf$'"
j=$(ipp_job opts)
like "$j" "job-name \(nameWithoutLanguage\) = opts" "ippeveprinter has the job (named opts)"
like "$j" "copies \(integer\) = 2" "ippeveprinter's job has copies 2"
like "$j" "sides \(keyword\) = two-sided-long-edge" "and sides two-sided-long-edge"
like "$j" "media \(keyword\) = iso_a4_210x297mm" "and media iso_a4_210x297mm"
case "$j" in *"print-color-mode (keyword) = color"*) r=1 ;; *) r=0 ;; esac
ok $r "but not print-color-mode color, which it does not support"
wait_until 5 grep -q "printed at IPP1 without print-color-mode=color: the printer does not list them as supported" \
	"$T/log/$AP.log"
ok $? "the log says which option was left out, and why"

# media-col (as iOS sends it): its size, as a PWG media name
job_test mcol successful-ok "ATTR integer copies 3
	ATTR collection media-col { MEMBER collection media-size { MEMBER integer x-dimension 21590 MEMBER integer y-dimension 27940 } MEMBER keyword media-source auto }"
out=$(ipt "$URI" "$T/mcol.test")
ok $? "Print-Job with media-col is held"
plsc release --user alice --printer IPP1 >/dev/null 2>&1
wait_until 10 bash -c "[ \$(ls '$T/ipp' | grep -c '\.pdf$') -ge 2 ]"
j=$(ipp_job mcol)
like "$j" "media \(keyword\) = na_letter_8.5x11in" "media-col's size reaches the printer as media na_letter_8.5x11in"
like "$j" "copies \(integer\) = 3" "with copies 3"

# a raw printer: the document, without the options (logged)
out=$(ipt "$URI" "$T/opts.test")
ok $? "another job with options held"
plsc release --user alice --printer P1 >/dev/null 2>&1
wait_until 10 test -e "$T/rec-P1/job-1.bin"
is "$(sha256sum < "$T/rec-P1/job-1.bin" 2>/dev/null)" "$(sha256sum < "$T/doc.pdf")" \
	"the raw printer got the document once, as it was"
wait_until 5 grep -q "printed at P1 without copies=2 media=iso_a4_210x297mm print-color-mode=color sides=two-sided-long-edge: a raw (socket://) printer takes no print options" "$T/log/$AP.log"
ok $? "the log says a raw printer takes no print options"

# ---- PNG ----
attrs=$(ipt "ipps://localhost:$AP_PORT/ipp/print" "$IPPT/get-printer-attributes.test")
like "$(echo "$attrs" | grep document-format-supported)" "image/png" "image/png is offered"
SEEDS=$(cd "$(dirname "$0")/../fuzz/corpus/fuzz_raster" && pwd)
out=$(ipt -f "$SEEDS/rgba.png" "$URI" "$IPPT/print-job.test")
rc=$?
ok $rc "print-job.test with a PNG (with transparency)"
[ $rc -eq 0 ] || diag "$out"
is "$(plsc jobs --user alice --json | jq -r '.jobs[0].format + " " + (.jobs[0].pages|tostring)')" \
	"application/pdf 1" "held as a PDF of one page"
plsc release --user alice --printer P1 >/dev/null 2>&1
wait_until 10 test -e "$T/rec-P1/job-2.bin"
is "$(head -c 5 "$T/rec-P1/job-2.bin" 2>/dev/null)" "%PDF-" "it reached the printer as a PDF"
printf '\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR\0\0\0\x10' > "$T/bad.png"
out=$(ipt -f "$T/bad.png" "$URI" "$IPPT/print-job.test")
ok $((! $?)) "a truncated PNG is refused"

# ---- job ids across a restart ----
out=$(ipt "$URI" "$T/opts.test")
last=$(echo "$out" | sed -n 's/.*job-id (integer) = \([0-9]*\).*/\1/p' | head -1)
ok $([ -n "$last" ] && [ "$last" -gt "$id1" ]; echo $?) "ids grow ($id1, then $last)"
oldpid=$(svc_pid "$AP")
restarted() { local p; p=$(svc_pid "$AP"); [ -n "$p" ] && [ "$p" != "$oldpid" ] && state_is "$AP" running; }
plsc restart "$AP" >/dev/null
wait_until 15 restarted
ok $? "the service restarted"
out=$(ipt -d job="$last" "$URI" "$T/gja.test")
ok $? "Get-Job-Attributes for a job held before the restart, by its old id"
like "$out" "job-state \(enum\) = pending-held" "it is still held"
like "$out" "job-name \(nameWithoutLanguage\) = opts" "and it is that job"
out=$(ipt -d job="$id1" "$URI" "$T/gja.test")
ok $((! $?)) "the id of a job printed before the restart finds no other job"
like "$out" "client-error-not-found" "it is not found"
out=$(ipt "$URI" "$T/opts.test")
new=$(echo "$out" | sed -n 's/.*job-id (integer) = \([0-9]*\).*/\1/p' | head -1)
ok $([ -n "$new" ] && [ "$new" -gt "$last" ]; echo $?) "the first id after the restart ($new) is past every earlier one ($last)"
# a damaged job-ids file: a warning, and ids still past the held jobs'
echo garbage > "$T/lib/$AP/job-ids"
oldpid=$(svc_pid "$AP")
plsc restart "$AP" >/dev/null
wait_until 15 restarted
ok $? "the service restarts with a damaged job-ids file"
wait_until 5 grep -q "job-ids: not a job id mark" "$T/log/$AP.log"
ok $? "which is logged"
out=$(ipt "$URI" "$T/opts.test")
again=$(echo "$out" | sed -n 's/.*job-id (integer) = \([0-9]*\).*/\1/p' | head -1)
ok $([ -n "$again" ] && [ "$again" -gt "$new" ]; echo $?) "a new job's id ($again) is past the held jobs' ($new)"
t_done
