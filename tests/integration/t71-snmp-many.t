#!/usr/bin/env bash
# PrinterLogicServiceSNMP against many fake printers from one snmpsim
# process (Debian's snmpsim, --v2c-arch: each UDP endpoint its own data
# file, tests/lib/snmpsim-data.py), the odd ones printers get wrong in the
# wild: a 2-octet error state (jammed, inputTrayMissing), no supplies
# table, a supply at level -3, text in ISO 8859-1, sysDescr 700 ms late
# (snmpsim's delay variation), and printers that never answer (a
# community snmpsim does not know). All are polled in one round with a
# window smaller than their number.
. "$(dirname "$0")/../lib/lib.sh"

SNMP=PrinterLogicServiceSNMP
missing=
command -v python3 >/dev/null 2>&1 || missing+=" python3"
command -v snmpsimd >/dev/null 2>&1 || missing+=" snmpsim"
command -v snmpget >/dev/null 2>&1 || missing+=" snmp"
if [ -n "$missing" ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "1..0 # SKIP missing:$missing (scripts/install-deps installs them, as root)"
		exit 0
	fi
	plan 1
	ok 1 "the test's dependencies are installed (missing:$missing; run scripts/install-deps)"
	exit 1
fi

t_setup
plan 13
KINDS=(normal twooctet nosupplies somelevel latin1 delay normal normal normal normal)
N=${#KINDS[@]}
python3 "$(dirname "$0")/../lib/snmpsim-data.py" "$T/sim" "$N" "${KINDS[@]}"
snmpsim_start "$T/sim" "$N"
ok $? "snmpsim serves $N fake printers on $N ports"

t_config '{}' "$(jq -n --arg sn "$BIN/$SNMP" '{
	"PrinterLogicServiceSNMP": {path: $sn, window: 4,
		profiles: {nope: {version: "2c", community: "unknown-community"}}}}')"
for ((i = 0; i < N; i++)); do
	plsc printers add "p$i" "ipp://127.0.0.1:631/ipp/p$i" >/dev/null &&
		plsc printers snmp "p$i" "interval=3600,timeout=2000,retries=0,port=${SIMPORTS[$i]}" >/dev/null
done
# two printers that never answer
for i in 0 1; do
	plsc printers add "dead$i" "socket://127.0.0.1:9100" >/dev/null &&
		plsc printers snmp "dead$i" "interval=3600,timeout=500,retries=1,port=${SIMPORTS[0]},profile=nope" >/dev/null
done
sup_start
wait_until 15 state_is "$SNMP" running
ok $? "PrinterLogicServiceSNMP runs"
polled() { [ "$(sqlite3 "$T/lib/$SNMP/printer-status.db" 'select count(*) from status' 2>/dev/null)" = $((N + 2)) ]; }
wait_until 60 polled
ok $? "every printer polled (window 4 of $((N + 2)))"

js() { plsc printers show "$1" --json; }
is "$(js p0 | jq -r '.status + " " + (.snmp_status.snmp.supplies[0].percent|tostring)')" \
	"idle 10" "a normal printer: idle, toner 100 of 1000 = 10%"
is "$(js p1 | jq -c .snmp_status.snmp.errors)" '["jammed","inputTrayMissing"]' \
	"a 2-octet error state: jammed and inputTrayMissing"
is "$(js p1 | jq -r .status)" error "so the printer is in error"
is "$(js p1 | jq -r '.snmp_status.snmp.printer_alerts[0] | .severity + " " + .description')" \
	"critical Paper jam" "its alert table row"
is "$(js p2 | jq -r '.status + " " + (.snmp_status.snmp.supplies|length|tostring) + " " + (.snmp_status.snmp.pages|tostring)')" \
	"idle 0 10002" "no supplies table: no supplies, the rest is there"
is "$(js p3 | jq -r '.snmp_status.snmp.supplies[0] | .level_text + " " + (.percent|tostring)')" \
	"some remaining null" "level -3: some remaining, no percentage"
is "$(js p4 | jq -r '.snmp_status.snmp.supplies[0].description')" "Bac à toner" \
	"ISO 8859-1 text is shown as UTF-8"
is "$(js p5 | jq -r '.status + " " + (.snmp_status.snmp.pages|tostring)')" "idle 10005" \
	"a printer 700 ms late within a 2 s timeout: polled"
is "$(js dead0 | jq -r .status)/$(js dead1 | jq -r .status)" "no-snmp/no-snmp" \
	"printers that never answer: no-snmp"
sup_kill
ok $(! grep -qE "ERROR: AddressSanitizer|runtime error:|LeakSanitizer" "$T"/log/*.log; echo $?) \
	"no sanitizer report in any log after an orderly stop"
t_done
