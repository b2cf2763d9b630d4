#!/usr/bin/env bash
# Printer down -> job kept and failure reported, next release prints it;
# expiry shreds; a PDF released to a real IPP printer (ippeveprinter)
# arrives; the CUPS backend run the way cupsd runs it holds a job.
. "$(dirname "$0")/../lib/lib.sh"
t_setup
plan 17

op_config '{"expiry_seconds": 3, "expiry_check_s": 1}'
sup_start
wait_until 15 state_is "$OP" running
token_for ws1

# Printer down: nothing listens on its port.
dead=$(free_port)
plsc printers add Down "socket://127.0.0.1:$dead" >/dev/null
echo "important" > "$T/doc"
id=$(submit ws1 alice "$T/doc")
out=$(plsc release --user alice --printer Down 2>&1); rc=$?
is "$rc" 1 "a release to a printer that is down fails (1)"
like "$out" "connection refused|refused" "and says why"
is "$(plsc jobs --json | jq -r '.jobs[0].id')" "$id" "the job is kept"
# The printer comes back on the same port.
mkdir -p "$T/rec-Back"
"$BIN/plsc-recprinter" -d "$T/rec-Back" -p "$dead" & rp=$!
wait_until 5 test -s "$T/rec-Back/port"
plsc release --user alice --printer Down >/dev/null
is "$(cat "$T/rec-Back/job-1.bin" 2>/dev/null)" "important" "the next release prints it"
kill "$rp"; wait "$rp" 2>/dev/null

# Expiry: a job not released within expiry_seconds is shredded.
id=$(submit ws1 bob "$T/doc")
ok $([ -e "$T/lib/$OP/jobs/$id.job" ]; echo $?) "a new job is on disk"
wait_until 10 bash -c "[ ! -e '$T/lib/$OP/jobs/$id.job' ]"
ok $? "it is shredded after expiry"
# the line reaches the log through the supervisor, just after the file goes
wait_until 5 grep -q "shredded 1 expired job" "$T/log/$OP.log"
ok $? "and the log says so"
wait_until 5 grep -q '"event":"expired".*"user":"bob"' "$T/log/job-events.jsonl"
ok $? "and job-events.jsonl records the expiry"

# A PDF to ippeveprinter, a real IPP printer.
ipp_start
ok $? "ippeveprinter is up"
plsc printers add IPP "ipp://localhost:$IPP_PORT/ipp/print" >/dev/null
printf '%%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj 3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]>>endobj\ntrailer<</Root 1 0 R>>\n%%%%EOF\n' > "$T/doc.pdf"
id=$(submit ws1 carol "$T/doc.pdf" --format application/pdf)
out=$(plsc release --user carol --printer IPP 2>&1)
like "$out" "released 1 job to IPP" "a PDF release to the IPP printer succeeds"
wait_until 10 bash -c "ls '$T/ipp' | grep -q '\.pdf$'"
ok $? "the PDF arrives in the IPP printer's spool"

# The CUPS backend, invoked as cupsd does: argv, DEVICE_URI, file argument.
echo "from cups" > "$T/cups-doc"
out=$(DEVICE_URI="plsc://127.0.0.1:$OP_PORT/?insecure=1" PLSC_TOKEN_FILE="$T/token-ws1" \
	CONTENT_TYPE=text/plain "$BIN/plsc-backend" 42 dave "CUPS test" 1 "" "$T/cups-doc" 2>&1); rc=$?
is "$rc" 0 "the CUPS backend exits CUPS_BACKEND_OK"
like "$out" "INFO: held on the Service Client as job [0-9a-f]{32}" "and reports the held job id"
is "$(plsc jobs --user dave --json | jq -r '.jobs[0].title')" "CUPS test" "the job is held with the CUPS title"
out=$("$BIN/plsc-backend"); rc=$?
is "$rc $out" '0 network plsc "Unknown" "Service Client (held print)"' "without arguments it prints its discovery line"
chmod 644 "$T/token-ws1"
out=$(DEVICE_URI="plsc://127.0.0.1:$OP_PORT/?insecure=1" PLSC_TOKEN_FILE="$T/token-ws1" \
	"$BIN/plsc-backend" 43 dave t 1 "" "$T/cups-doc" 2>&1); rc=$?
is "$rc" 4 "a token file readable by others stops the queue (CUPS_BACKEND_STOP)"
like "$out" "ERROR: token file .* readable by group or others" "with a clear ERROR: line"
t_done
