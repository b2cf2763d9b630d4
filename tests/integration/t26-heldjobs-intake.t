#!/usr/bin/env bash
# Intake of held jobs (#10 items 5 and 6): an empty document is refused
# by plsc-submit, by the CUPS backend and by the service itself; the
# format is detected when not given; pages are counted by the service for
# PDF (object streams too), PostScript, PCL XL, PCL 5 and PJL jobs, PWG
# raster and URF, and are null (JSON) or "–" (table) when the document
# does not tell; the CUPS backend holds a job for a printer the server
# does not know.
. "$(dirname "$0")/../lib/lib.sh"
t_setup
plan 35

rec_start P1
op_config
sup_start
wait_until 15 state_is "$OP" running
ok $? "the held-jobs service runs"
plsc printers add P1 "socket://127.0.0.1:$REC_PORT_P1" >/dev/null
token_for ws1
evil() { ASAN_OPTIONS=detect_leaks=0 exec "$BIN/plsc-evilclient" "$@"; }
job() { plsc jobs --user "$1" --json | jq -c ".jobs[0] | $2"; }

# ---- empty documents ----
: > "$T/empty"
out=$(submit ws1 erin "$T/empty" 2>&1); rc=$?
is "$rc" 1 "plsc-submit refuses an empty file (exit 1)"
like "$out" "^plsc-submit: the document is empty \(0 bytes\)" "and says why"
out=$(submit ws1 erin - < /dev/null 2>&1); rc=$?
is "$rc" 1 "an empty standard input too"
ok "$(grep -c 'erin' "$T/log/$OP.log")" "the server never heard of it (refused before connecting)"
out=$(evil empty 127.0.0.1 "$OP_PORT" "$(cat "$T/token-ws1")")
like "$out" "^result 4 empty job \(SIZE 0\)" "the service refuses SUBMIT_BEGIN with SIZE 0 (BADREQ)"
is "$(jobs_on_disk)" 0 "no empty job is held"

# ---- formats and pages ----
# A 3-page A4 PDF, written as a PDF writer does (page objects, a content
# stream that mentions /Type /Page, the page tree root's /Count).
{
	printf '%%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n'
	printf '2 0 obj\n<< /Type /Pages /Kids [3 0 R 4 0 R 5 0 R] /Count 3 >>\nendobj\n'
	for i in 3 4 5; do
		printf '%d 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595.28 841.89] /Contents 9 0 R >>\nendobj\n' $i
	done
	printf '9 0 obj\n<< /Length 27 >>\nstream\nBT (/Type /Page) Tj ET\nendstream\nendobj\n'
	printf 'trailer\n<< /Root 1 0 R >>\n%%%%EOF\n'
} > "$T/three.pdf"
submit ws1 pat "$T/three.pdf" >/dev/null
is "$(job pat .format)" '"application/pdf"' "a PDF sent without --format is held as application/pdf"
is "$(job pat .pages)" 3 "its pages are counted (3)"
is "$(job pat .page_size)" '"A4"' "and its page size read (A4)"
like_log "$OP" "held job [0-9a-f]{32} for pat .*application/pdf, 3 pages" "the service logs format and pages"

# The client's claims do not override what the bytes say.
submit ws1 liar "$T/three.pdf" --format text/plain --pages 99 >/dev/null
is "$(job liar '[.format, .pages]')" '["application/pdf",3]' "a wrong --format and --pages are corrected by the service"

printf '%%!PS-Adobe-3.0\n%%%%Pages: (atend)\n%%%%EndComments\n%%%%Page: 1 1\nshowpage\n%%%%Page: 2 2\nshowpage\n%%%%Trailer\n%%%%Pages: 2\n%%%%EOF\n' > "$T/two.ps"
submit ws1 paul "$T/two.ps" >/dev/null
is "$(job paul '[.format, .pages]')" '["application/postscript",2]' "PostScript: DSC %%Pages: (atend) counted from the trailer"

# Rasters written by libcups (the fuzz seeds, after their first byte).
tail -c +2 "$(dirname "$0")/../fuzz/corpus/fuzz_docinfo/pwg-two-pages" > "$T/two.pwg"
submit ws1 rita "$T/two.pwg" >/dev/null
is "$(job rita '[.format, .pages, .page_size]')" '["image/pwg-raster",2,"10x10 mm"]' \
	"PWG raster: format, the page headers counted, the page size"
tail -c +2 "$(dirname "$0")/../fuzz/corpus/fuzz_docinfo/urf-two-pages" > "$T/two.urf"
submit ws1 uma "$T/two.urf" >/dev/null
is "$(job uma '[.format, .pages]')" '["image/urf",2]' "Apple URF: format and pages"

# A PDF whose page tree is in a compressed object stream; PCL XL whose
# image data holds EndPage bytes; a PJL job in four languages (PCL 5,
# PostScript, PCL XL, PDF: 3 + 2 + 2 + 2 pages); HP-GL/2 is not counted.
seed() { tail -c +2 "$(dirname "$0")/../fuzz/corpus/fuzz_docinfo/$1" > "$T/$1"; }
seed pdf-objstm
submit ws1 olga "$T/pdf-objstm" >/dev/null
is "$(job olga '[.format, .pages, .page_size]')" '["application/pdf",2,"A4"]' \
	"PDF with its pages in an object stream: inflated and counted"
seed pclxl-two-pages
submit ws1 xavier "$T/pclxl-two-pages" >/dev/null
is "$(job xavier '[.format, .pages]')" '["application/vnd.hp-pcl",2]' "PCL XL: detected, EndPage counted"
seed pjl-four-languages
submit ws1 jane "$T/pjl-four-languages" >/dev/null
is "$(job jane '[.format, .pages]')" '["application/vnd.hp-pcl",9]' "a PJL job: each section counted, summed"
printf '\033E\033%%0BIN;PD0,0,100,100;\033%%0A\f' > "$T/hpgl.pcl"
submit ws1 hugo "$T/hpgl.pcl" >/dev/null
is "$(job hugo '[.format, .pages]')" '["application/vnd.hp-pcl",null]' "PCL with HP-GL/2: pages null"

# Unknown stays unknown: null in JSON, an en dash in the table, never 0.
printf 'a letter\fits second page\n' > "$T/letter.txt"
submit ws1 tess "$T/letter.txt" >/dev/null
is "$(job tess '[.format, .pages]')" '["text/plain",null]' "plain text: detected, pages null"
like "$(plsc jobs --user tess | tail -1)" "^[0-9a-f]{32} +tess +\(any\) +[0-9]+ +– " "the table shows – for unknown pages"
head -c 3000 /dev/urandom | tr '\000' '\001' | sed '1s/^/\x00/' > "$T/blob"
submit ws1 bob "$T/blob" >/dev/null
is "$(job bob '[.format, .pages]')" '["application/octet-stream",null]' "an unknown format stays octet-stream, pages null"
is "$(plsc jobs --user pat | tail -1 | awk '{print $5}')" 3 "a known count is shown in the table"

# History: the held event carries pages, null when not known.
wait_until 5 grep -q '"user":"tess"' "$T/log/job-events.jsonl"
is "$(grep '"event":"held"' "$T/log/job-events.jsonl" | jq -c 'select(.user=="tess") | .pages')" null \
	"job-events.jsonl: pages null when not known"
is "$(grep '"event":"held"' "$T/log/job-events.jsonl" | jq -c 'select(.user=="pat") | .pages')" 3 \
	"job-events.jsonl: pages when counted"

# A release to the printer sends the bytes unchanged.
plsc release --user pat --printer P1 >/dev/null
is "$(sha256sum < "$T/rec-P1/job-1.bin")" "$(sha256sum < "$T/three.pdf")" "the PDF prints byte for byte"

# ---- the CUPS backend ----
backend() { # backend JOB-ID FILE [printer]: as cupsd runs it
	DEVICE_URI="plsc://127.0.0.1:$OP_PORT/?insecure=1${3:+&printer=$3}" \
	PLSC_TOKEN_FILE="$T/token-ws1" "$BIN/plsc-backend" "$1" dave "CUPS job" 1 "" "$2" 2>&1
}
out=$(backend 50 "$T/empty"); rc=$?
is "$rc" 5 "CUPS backend, empty document: CUPS_BACKEND_CANCEL (5)"
like "$out" "ERROR: the document is empty" "with an ERROR: line CUPS shows the user"
out=$(backend 51 "$T/three.pdf" NOPE); rc=$?
is "$rc" 3 "CUPS backend, a printer the server does not know: CUPS_BACKEND_HOLD (3)"
like "$out" "ERROR: refused by the server: unknown printer 'NOPE'" "the ERROR: line names the printer"
like "$out" "ERROR: job held: add printer 'NOPE' .*lp -i 51 -H resume" "and says how to get the job going"
is "$(plsc jobs --user dave --json | jq '.jobs | length')" 0 "nothing is held for it"
out=$(backend 52 "$T/three.pdf" P1); rc=$?
is "$rc" 0 "with a known printer the same job is held"
is "$(job dave '[.format, .pages, .printer]')" '["application/pdf",3,"P1"]' \
	"CUPS backend without CONTENT_TYPE: format detected, pages counted"
# No file argument: the job comes on standard input.
out=$(DEVICE_URI="plsc://127.0.0.1:$OP_PORT/?insecure=1" PLSC_TOKEN_FILE="$T/token-ws1" \
	"$BIN/plsc-backend" 53 dave "CUPS job" 1 "" < "$T/empty" 2>&1); rc=$?
is "$rc" 5 "an empty job on standard input: cancelled as well"
t_done
