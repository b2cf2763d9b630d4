#!/usr/bin/env bash
# AirPrint: ipptool (a real IPP client) against PrinterLogicServiceAirprint
# over IPPS with HTTP Basic; the job is held as a PDF and released to a
# recording printer like any other held job.
. "$(dirname "$0")/../lib/lib.sh"
t_setup
plan 50

AP=PrinterLogicServiceAirprint
IPPT=/usr/share/cups/ipptool
rec_start P1
AP_PORT=$(free_port)
AP_PLAIN=$(free_port)
BR=PrinterLogicServiceSimpleBadgeRelease
BR_PORT=$(free_port)
t_config '{}' "$(jq -n --arg ap "$BIN/$AP" --arg l "127.0.0.1:$AP_PORT" --arg pl "127.0.0.1:$AP_PLAIN" \
	--arg br "$BIN/$BR" --arg brl "0.0.0.0:$BR_PORT" '{
	"PrinterLogicServiceAirprint": {path: $ap, listen: {main: $l, plain: $pl},
		printer_name: "Test AirPrint", client_timeout_s: 5, auth_max_failures: 3,
		auth_lockout_s: 2, dns_sd: false},
	"PrinterLogicServiceSimpleBadgeRelease": {path: $br, listen: {main: $brl},
		dedupe_ms: 500, refresh_s: 1}}')"
sup_start
wait_until 15 state_is "$AP" running && wait_until 15 state_is "$BR" running
ok $? "the AirPrint and badge services run"
plsc printers add P1 "socket://127.0.0.1:$REC_PORT_P1" >/dev/null
echo 4711 | plsc users add alice --name "Alice A" --badge 6699 --pin >/dev/null &&
	plsc readers add R1 --address 127.0.0.2 --printer P1 --preset elatec-tcpconv2 >/dev/null
ok $? "alice has a PIN and a badge; a reader at P1"

URI="ipps://alice:4711@localhost:$AP_PORT/ipp/print"
BAD="ipps://alice:1111@localhost:$AP_PORT/ipp/print"
ipt() { timeout 60 ipptool -q -T 20 "$@" </dev/null; }

out=$(timeout 60 ipptool -t -T 20 "ipps://localhost:$AP_PORT/ipp/print" "$IPPT/get-printer-attributes.test" 2>&1)
rc=$?
ok $rc "get-printer-attributes.test passes (no credentials needed)"
[ $rc -eq 0 ] || diag "$out"
attrs=$(timeout 30 ipptool -tv -T 20 "ipps://localhost:$AP_PORT/ipp/print" "$IPPT/get-printer-attributes.test" 2>&1)
for a in printer-uuid urf-supported pwg-raster-document-resolution-supported \
	pwg-raster-document-type-supported printer-kind printer-more-info job-password-supported \
	identify-actions-supported media-col-ready sides-supported print-color-mode-supported; do
	echo "$attrs" | grep -q " $a " || echo "missing $a"
done > "$T/missing"
is "$(cat "$T/missing")" "" "the attributes iOS asks for are there"
like "$(echo "$attrs" | grep document-format-supported)" \
	"application/pdf.*image/jpeg.*image/pwg-raster.*image/urf" "PDF, JPEG, PWG raster and URF offered"

# a PDF
printf '%%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Count 1/Kids[3 0 R]>>endobj\n3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\ntrailer<</Root 1 0 R>>\n%%%%EOF\n' > "$T/doc.pdf"
out=$(timeout 60 ipptool -t -T 20 -f "$T/doc.pdf" "$URI" "$IPPT/print-job.test" 2>&1)
rc=$?
ok $rc "print-job.test passes as alice (PDF)"
[ $rc -eq 0 ] || diag "$out"
like "$(plsc jobs --user alice --json | jq -r '.jobs[0].format + " " + (.jobs[0].pages|tostring)')" \
	"application/pdf 1" "held as a PDF of one page for alice"
out=$(timeout 60 ipptool -t -T 20 -f "$T/doc.pdf" "$URI" "$IPPT/validate-job.test" 2>&1)
ok $? "validate-job.test passes"
out=$(timeout 60 ipptool -t -T 20 "$URI" "$IPPT/get-jobs.test" 2>&1)
ok $? "get-jobs.test passes"
like "$out" "alice" "alice sees her held job"

out=$(plsc release --user alice --printer P1)
like "$out" "released 1 job to P1" "plsc release alice P1"
is "$(sha256sum < "$T/rec-P1/job-1.bin")" "$(sha256sum < "$T/doc.pdf")" "the printer got the PDF"

# JPEG, URF and PWG raster: converted to PDF (in a jailed child), held,
# released as a PDF.
SEEDS=$(cd "$(dirname "$0")/../fuzz/corpus/fuzz_raster" && pwd)
n=1
for f in page.jpg srgb.urf sgray.pwg; do
	n=$((n + 1))
	out=$(timeout 60 ipptool -t -T 20 -f "$SEEDS/$f" "$URI" "$IPPT/print-job.test" 2>&1)
	rc=$?
	ok $rc "print-job.test with $f"
	[ $rc -eq 0 ] || diag "$out"
	is "$(plsc jobs --user alice --json | jq -r '.jobs[0].format + " " + (.jobs[0].pages|tostring)')" \
		"application/pdf 1" "$f held as a PDF of one page"
	plsc release --user alice --printer P1 >/dev/null
	is "$(head -c 5 "$T/rec-P1/job-$n.bin")" "%PDF-" "$f reached the printer as a PDF"
done
# released by alice's badge at the reader by P1
out=$(timeout 60 ipptool -t -T 20 -f "$T/doc.pdf" "$URI" "$IPPT/print-job.test" 2>&1)
ok $? "another PDF held"
# The badge service reads its readers every refresh_s (1 s): swipe once it has R1.
wait_until 10 grep -q "1 badge reader configured" "$T/log/$BR.log"
"$BIN/plsc-reademu" connect 127.0.0.1 "$BR_PORT" 127.0.0.2 elatec-tcpconv2 badge:1a2b
wait_until 10 test -e "$T/rec-P1/job-5.bin"
is "$(sha256sum < "$T/rec-P1/job-5.bin" 2>/dev/null)" "$(sha256sum < "$T/doc.pdf")" \
	"alice's badge released it to P1"

printf 'UNIRAST\0\0\0\0\1\30\1\0\0\0\0\0\0\0\0\0\0\0\0\100\0\0\0\100\0\0\0\110' > "$T/bad.urf"
out=$(timeout 60 ipptool -t -T 20 -f "$T/bad.urf" "$URI" "$IPPT/print-job.test" 2>&1)
ok $((! $?)) "a truncated URF is refused"
like "$out" "document-format-error|client-error" "with an IPP error"

# wrong password: 401, nothing held
before=$(plsc jobs --user alice --json | jq '.jobs | length')
out=$(timeout 30 ipptool -t -T 10 -f "$T/doc.pdf" "$BAD" "$IPPT/print-job.test" 2>&1)
ok $((! $?)) "a wrong PIN is refused"
is "$(plsc jobs --user alice --json | jq '.jobs | length')" "$before" "and nothing is held"
wait_until 5 grep -q "authentication failed for user alice" "$T/log/$AP.log"
ok $? "the refusal is logged"
out=$(timeout 30 ipptool -t -T 10 "$URI" "$IPPT/get-jobs.test" 2>&1)
ok $((! $?)) "after 3 failures even the right PIN is refused for a while"
wait_until 5 grep -q "too many failed attempts" "$T/log/$AP.log"
ok $? "the lock-out is logged"
sleep 2.2

# Credentials over plain IPP: refused (426, before they are checked), with
# a Get-Printer-Attributes request made by hand; without them it answers.
printf '\x02\x00\x00\x0b\x00\x00\x00\x01\x01\x47\x00\x12attributes-charset\x00\x05utf-8\x48\x00\x1battributes-natural-language\x00\x02en\x45\x00\x0bprinter-uri\x00\x19ipp://localhost/ipp/print\x03' > "$T/gpa.bin"
code=$(curl -s -o /dev/null -w '%{http_code}' -m 20 -u alice:4711 -H 'Content-Type: application/ipp' \
	--data-binary @"$T/gpa.bin" "http://127.0.0.1:$AP_PLAIN/ipp/print")
is "$code" 426 "credentials over plain IPP are refused (426 Upgrade Required)"
wait_until 5 grep -q "credentials over plain IPP refused" "$T/log/$AP.log"
ok $? "and that is logged"
out=$(timeout 30 ipptool -t -T 10 "ipp://localhost:$AP_PLAIN/ipp/print" "$IPPT/get-printer-attributes.test" 2>&1)
ok $? "plain IPP still answers Get-Printer-Attributes"
out=$(timeout 30 ipptool -t -T 10 -f "$T/doc.pdf" "ipp://localhost:$AP_PLAIN/ipp/print" "$IPPT/print-job.test" 2>&1)
ok $((! $?)) "but takes no job"

# cancel-current-job
timeout 60 ipptool -q -T 20 -f "$T/doc.pdf" "$URI" "$IPPT/print-job.test" >/dev/null 2>&1
out=$(timeout 60 ipptool -t -T 20 "$URI" "$IPPT/cancel-current-job.test" 2>&1)
rc=$?
ok $rc "cancel-current-job.test passes"
[ $rc -eq 0 ] || diag "$out"
is "$(plsc jobs --user alice --json | jq '.jobs | length')" "0" "the canceled job is shredded"

# The conformance suites. Their "Get-Job-Attributes Until Job Complete"
# waits for the job to finish: a held job finishes when it is released, so
# alice releases whatever she has every half second meanwhile.
(while :; do plsc release --user alice --printer P1 --all >/dev/null 2>&1; sleep 0.5; done) &
RELEASER=$!
BG_PIDS+=($RELEASER)
for s in ipp-1.1 ipp-2.0; do
	out=$(timeout 300 ipptool -t -T 20 -f "$T/doc.pdf" "$URI" "$IPPT/$s.test" 2>&1)
	rc=$?
	ok $rc "$s.test passes"
	[ $rc -eq 0 ] || diag "$(echo "$out" | grep -A8 FAIL | head -40)"
done
kill "$RELEASER" 2>/dev/null; wait "$RELEASER" 2>/dev/null

# A Print-Job of 10 MiB without credentials, sent with "Expect: 100-continue":
# the 401 comes before the body, which is never sent (curl's size_upload 0),
# and the connection ends; with alice's credentials the same request gets
# 100 Continue and its job is held. The request is made by hand: an IPP
# Print-Job header, then doc.pdf padded to 10 MiB.
{
	printf '\x02\x00\x00\x02\x00\x00\x00\x01\x01\x47\x00\x12attributes-charset\x00\x05utf-8\x48\x00\x1battributes-natural-language\x00\x02en\x45\x00\x0bprinter-uri\x00\x19ipp://localhost/ipp/print'
	printf '\x49\x00\x0fdocument-format\x00\x0fapplication/pdf\x42\x00\x08job-name\x00\x03big\x03'
	cat "$T/doc.pdf"
	head -c $((10 * 1024 * 1024)) /dev/zero
} > "$T/big.bin"
big=$(stat -c %s "$T/big.bin")
post_big() {
	curl -sk --http1.1 -o "$T/big.out" -w '%{http_code} %{size_upload}' -m 60 --expect100-timeout 30 \
		-H 'Expect: 100-continue' -H 'Content-Type: application/ipp' "$@" \
		--data-binary @"$T/big.bin" "https://127.0.0.1:$AP_PORT/ipp/print"
}
out=$(post_big)
is "$out" "401 0" "a 10 MiB Print-Job without credentials: 401 before the body, none of it sent"
wait_until 5 grep -q "a request of $big bytes without credentials: 401 before its body, which is not read" \
	"$T/log/$AP.log"
ok $? "the service logs that it did not read the body"
out=$(post_big -u alice:1111)
is "$out" "401 0" "with a wrong PIN: the same, the PIN checked before 100 Continue"
out=$(post_big -u alice:4711)
is "$out" "200 $big" "with alice's PIN the same request is sent whole (100 Continue)"
is "$(od -An -tx1 -j2 -N2 "$T/big.out" | tr -d ' ')" "0000" "and answered successful-ok"
is "$(plsc jobs --user alice --json | jq '[.jobs[] | select(.title == "big" and .size > 10485760)] | length')" 1 \
	"the 10 MiB job is held for alice"
# The unicast DNS-SD zone fragment: loads in a zone with named-checkzone,
# and carries the records and TXT keys iOS needs.
uuid=$(cat "$T/lib/$AP/printer-uuid")
{
	printf '$TTL 300\n@ IN SOA ns.example.org. hostmaster.example.org. 1 3600 600 86400 300\n'
	printf '@ IN NS ns.example.org.\nns IN A 127.0.0.1\nprint IN A 127.0.0.1\n'
	"$BIN/$AP" --dns-sd-zone --domain example.org --host print.example.org \
		--name "Test AirPrint" --state-dir "$T/lib/$AP"
} > "$T/site.zone"
out=$(named-checkzone -D example.org "$T/site.zone" 2>&1)
ok $? "the zone fragment loads (named-checkzone)"
like "$out" "_universal._sub._ipps._tcp.example.org.[[:space:]]+300 IN PTR[[:space:]]+Test\\\\032AirPrint._ipps._tcp.example.org." \
	"a _universal subtype PTR"
like "$out" "Test\\\\032AirPrint._ipps._tcp.example.org.[[:space:]]+300 IN SRV[[:space:]]+0 0 631 print.example.org." \
	"the SRV record"
txt=$(echo "$out" | grep " TXT")
for k in txtvers=1 qtotal=1 rp=ipp/print "ty=Test AirPrint" pdl=application/pdf,image/jpeg,image/png,image/pwg-raster,image/urf \
	URF=V1.4 TLS=1.2 "UUID=${uuid#urn:uuid:}" Color=T Duplex=T kind=document air=username,password \
	adminurl=https://print.example.org:631/; do
	case "$txt" in *"\"$k"*) ;; *) echo "missing $k";; esac
done > "$T/txt-missing"
is "$(cat "$T/txt-missing")" "" "the TXT record has the keys iOS needs"
echo "$out" | grep -q "b._dns-sd._udp.example.org..*PTR.*example.org." &&
	echo "$out" | grep -q "lb._dns-sd._udp.example.org..*PTR.*example.org."
ok $? "b and lb browse-domain PTRs"
# A taken port is reported as exactly that (here: the running service's
# own, bound by a second copy in --foreground with its own state dir).
jq --arg l "127.0.0.1:$AP_PORT" '.services.PrinterLogicServiceAirprint.listen = {main: $l} |
	.paths.state_dir = (.paths.state_dir + "-fg")' "$CONF" > "$T/fg.json"
out=$(timeout 20 "$BIN/$AP" --foreground -c "$T/fg.json" 2>&1)
like "$out" "127.0.0.1:$AP_PORT: Address already in use" "a taken port is reported as such"
t_done
