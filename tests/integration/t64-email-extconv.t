#!/usr/bin/env bash
# The Email service's optional external converter (issue 14; LibreOffice
# headless in production, which is not installed here: a small shell
# script plays it, run exactly as soffice would be). An Office attachment
# is converted, its PDF's pages appended after the body with the exact
# page count, and the job released to a recording printer; a converter
# that hangs is killed at external_timeout_s and the attachment skipped
# and named; a converter that tries to reach a real peer on 127.0.0.1
# cannot; with the converter off (the default) the attachment is skipped.
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/../lib/dovecot.sh"
t_setup
plan 14

EM=PrinterLogicServiceEmail
AUTHSERV=mx.corp.example
export EM

# The "converter": the attachment is "PK\3\4" + a PDF in base64 (so the
# service sees a .docx, not a PDF); HANG makes it sleep, NET makes it try
# the recording printer NET first and print only if that failed.
CONV='d=$(tail -c +5 "$1" | tr -d "\r\n")
case $d in
HANG*) sleep 120; exit 0 ;;
NET:*) p=${d#NET:}; p=${p%%:*}; d=${d#NET:*:}
	python3 -c "import socket,sys
try: socket.create_connection((\"127.0.0.1\", int(sys.argv[1])), 3).sendall(b\"LEAK\")
except OSError: sys.exit(0)
sys.exit(9)" "$p" || exit 9 ;;
esac
printf %s "$d" | base64 -d > "$2/in.pdf"'

# em_config [EXTRA_JSON]
em_config() {
	printf '%s\n' "$DV_PASS" > "$T/imap-password"
	chmod 600 "$T/imap-password"
	t_config '{}' "$(jq -n --arg p "$BIN/$EM" --arg s "localhost:$DV_PORT" \
		--arg u "$DV_USER" --arg pw "$T/imap-password" --arg ca "$DV_CA" \
		--arg a "$AUTHSERV" --argjson extra "${1:-{\}}" '{($ENV.EM):
		({path: $p, imap_server: $s, imap_user: $u, imap_password_file: $pw,
		  imap_ca_file: $ca, imap_timeout_s: 10, trusted_authserv_id: $a,
		  reconnect_max_s: 1, print_timeout_s: 5, print_connect_timeout_s: 2} + $extra)}')"
}

# make_pdf N FILE: an N-page PDF (each page its own content stream).
make_pdf() {
	python3 - "$1" "$2" <<'PY'
import sys
n, out = int(sys.argv[1]), sys.argv[2]
objs = ["<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [%s] /Count %d >>" % (" ".join("%d 0 R" % (3 + 2 * i) for i in range(n)), n)]
for i in range(n):
    s = b"0 0 m 100 100 l S"
    objs.append("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents %d 0 R >>" % (4 + 2 * i))
    objs.append("<< /Length %d >>\nstream\n%s\nendstream" % (len(s), s.decode()))
b = bytearray(b"%PDF-1.4\n")
offs = []
for i, o in enumerate(objs):
    offs.append(len(b))
    b += b"%d 0 obj\n%s\nendobj\n" % (i + 1, o.encode())
x = len(b)
b += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
for o in offs:
    b += b"%010d 00000 n \n" % o
b += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, x)
open(out, "wb").write(b)
PY
}

# office_mail FILE SUBJECT PAYLOAD: from alice, a body and report.docx
# holding "PK\3\4" + PAYLOAD.
office_mail() {
	{
		printf 'Authentication-Results: %s; dmarc=pass header.from=corp.example\r\n' "$AUTHSERV"
		printf 'From: Alice <alice@corp.example>\r\nTo: <print@corp.example>\r\nSubject: %s\r\n' "$2"
		printf 'Message-ID: <%s.%s@test>\r\nMIME-Version: 1.0\r\n' "$RANDOM" "$RANDOM"
		printf 'Content-Type: multipart/mixed; boundary="B"\r\n\r\n--B\r\n'
		printf 'Content-Type: text/plain\r\n\r\nPlease print the report.\r\n--B\r\n'
		printf 'Content-Type: application/vnd.openxmlformats-officedocument.wordprocessingml.document; name="report.docx"\r\n'
		printf 'Content-Disposition: attachment; filename="report.docx"\r\n'
		printf 'Content-Transfer-Encoding: base64\r\n\r\n'
		{ printf 'PK\003\004'; printf %s "$3"; } | base64 -w 76 | sed 's/$/\r/'
		printf -- '--B--\r\n'
	} > "$1"
}

pages_of() { qpdf --show-npages "$1" 2>/dev/null; }
held_for() { [ "$(plsc jobs --user "$1" --json | jq '.jobs | length')" = "$2" ]; }
count_is() { [ "$(dv_count "$1")" = "$2" ]; }
last_pages() { plsc jobs --user alice --json | jq -r '.jobs | max_by(.created) | .pages'; }

make_pdf 3 "$T/three.pdf"
PDF64=$(base64 -w 0 "$T/three.pdf")
rec_start P1
rec_start NET
dv_start
ok $? "Dovecot runs"

# 1. Off (the default): the attachment is skipped and named.
em_config
sup_start
plsc printers add P1 "socket://127.0.0.1:$REC_PORT_P1" >/dev/null
plsc users add alice --email alice@corp.example >/dev/null
wait_until 15 state_is "$EM" running
office_mail "$T/m0" "Off" "$PDF64"
dv_save "$T/m0"
wait_until 30 held_for alice 1
ok $? "with the converter off the message is held"
is "$(last_pages)" 1 "with the body only"
like_log "$EM" "skipped: report.docx" "report.docx named as skipped"
log_of "$EM" | grep -q "external converter ON"
is $? 1 "nothing about a converter at start"
sup_kill
rm -f "$T/run/plsc.sock"

# 2. On: converted, pages appended in order, exact count.
em_config "$(jq -n --arg c "$CONV" '{external_converter: ["/bin/sh", "-c", $c, "sh", "{in}", "{outdir}"],
	external_timeout_s: 3}')"
sup_start
wait_until 15 state_is "$EM" running
like_log "$EM" "external converter ON: /bin/sh" "logged at start when on"
office_mail "$T/m1" "On" "$PDF64"
dv_save "$T/m1"
wait_until 30 held_for alice 2
ok $? "the converted message is held"
is "$(last_pages)" 4 "body + the 3 pages of the converter's PDF"
out=$(plsc release --user alice --printer P1 --all 2>&1)
wait_until 10 test -s "$T/rec-P1/job-2.bin"
ok $? "released to P1 ($out)"
p=$(for f in "$T"/rec-P1/job-*.bin; do pages_of "$f"; done | sort -n | tr '\n' ' ')
is "$p" "1 4 " "the printer received 1 and 4 pages"

# 3. A converter that hangs: killed at external_timeout_s, skipped.
office_mail "$T/m2" "Hang" "HANG"
dv_save "$T/m2"
wait_until 30 held_for alice 1
ok $? "a message whose converter hangs is still held"
like_log "$EM" "report.docx \\([^)]*: external converter: time limit \\(3 s\\) exceeded\\)" \
	"the attachment is named with the reason"

# 4. A converter that tries the network: it cannot reach the peer.
office_mail "$T/m3" "Net" "NET:$REC_PORT_NET:$PDF64"
dv_save "$T/m3"
wait_until 30 held_for alice 2
ok $? "the message is held"
is "$(ls "$T/rec-NET" | grep -c 'job-')" 0 "the converter reached no peer on 127.0.0.1 (pages $(last_pages))"
t_done
