#!/usr/bin/env bash
# refuse_offline_printers under privilege separation (started as root):
# PrinterLogicServiceSNMP and PrinterLogicServiceOfflinePrint run as two
# different users; the SNMP service's state dir is 0711 and its status
# file 0644, so OfflinePrint's print worker can read a printer's last
# poll (its sandbox allows that dir read-only) and refuses a release to a
# printer whose agent says offline, at once, the job still held. The
# SNMP service is off when OfflinePrint starts: its state dir comes from
# the supervisor (made for every configured service before any starts, at
# start and on reload), so OfflinePrint reads the status once SNMP runs,
# without a restart. Skipped when not root.
. "$(dirname "$0")/../lib/lib.sh"

SNMP=PrinterLogicServiceSNMP
if [ "$(id -u)" -ne 0 ]; then
	echo "1..0 # SKIP not running as root"
	exit 0
fi
if [ ! -x "$SNMPD" ]; then
	plan 1
	ok 1 "snmpd is installed (run scripts/install-deps)"
	exit 1
fi
t_setup
plan 11

P=.1.3.6.1.2.1
# jammed and offline (error state 0x06), hrDeviceStatus down
SNMPD_EXTRA="override $P.25.3.2.1.5.1 integer 5
override $P.25.3.5.1.1.1 integer 1
override $P.25.3.5.1.2.1 octet_str 0x06" \
	snmpd_start c "Test LaserJet Dead" dead.test && PC=$SNMPD_PORT
rec_start dead
ok $([ -n "${PC:-}" ] && [ -n "${REC_PORT_dead:-}" ]; echo $?) "an offline agent and a printer"

OP_PORT=$(free_port)
# SNMP off at first: OfflinePrint builds its sandbox before SNMP ever ran
cfg() {
	t_config '{"privsep": true}' "$(jq -n --arg ds "$BIN/plsc-directory" --arg sn "$BIN/$SNMP" \
	--arg op "$BIN/$OP" --arg opl "127.0.0.1:$OP_PORT" --argjson more "${1:-{\}}" '{
	"plsc-directory": {path: $ds},
	"PrinterLogicServiceSNMP": {path: $sn, enabled: false,
		profiles: {default: {version: "2c", community: "public"}}},
	"PrinterLogicServiceOfflinePrint": {path: $op, listen: {main: $opl},
		print_timeout_s: 5, print_connect_timeout_s: 2, refuse_offline_printers: true}} + $more')"
}
cfg
t_privsep
ok $? "plsc-supervisor --create-users"
plsc printers add dead "socket://127.0.0.1:$REC_PORT_dead" >/dev/null &&
	plsc printers snmp dead "interval=1,timeout=300,retries=1,port=$PC" >/dev/null
sup_start
wait_until 15 state_is "$OP" running
is "$(stat -c '%a %U' "$T/lib/$SNMP" 2>&1) $(state_is "$SNMP" disabled && echo off)" \
	"700 plsc-snmp off" "the SNMP state dir exists, 0700 and its user's, before SNMP ever ran"
plsc enable "$SNMP" >/dev/null
wait_until 15 state_is "$SNMP" running
ok $? "SNMP and OfflinePrint run as their own users"
status_of() { plsc printers list --json | jq -r --arg n "$1" '.printers[] | select(.name == $n) | .status'; }
st_is() { [ "$(status_of "$1")" = "$2" ]; }
wait_until 20 st_is dead error
is "$(stat -c '%a' "$T/lib/$SNMP") $(stat -c '%a' "$T/lib/$SNMP/printer-status.db")" "711 644" \
	"the SNMP state dir is 0711, its status file 0644"
uid_op=$(cat "$T/lib/$OP/uid" 2>/dev/null || stat -c %u "$T/lib/$OP")
uid_sn=$(cat "$T/lib/$SNMP/uid" 2>/dev/null || stat -c %u "$T/lib/$SNMP")
ok $([ -n "$uid_op" ] && [ "$uid_op" != 0 ] && [ "$uid_op" != "$uid_sn" ]; echo $?) \
	"OfflinePrint and SNMP are different unprivileged users"

wait_until 15 state_is "$OP" running
token_for ws1
echo "a page" > "$T/doc"
chmod 644 "$T/doc"
id=$(submit ws1 erin "$T/doc")
out=$(plsc release --user erin --printer dead 2>&1)
like "$out" "dead is offline \(SNMP, polled [0-9]+ s ago: jammed/offline\): not released; the job stays held" \
	"OfflinePrint (its own user, sandboxed) read the status and refused at once"
is "$(plsc jobs --user erin --json | jq -r '.jobs[0] | "\(.id) \(.maybe_printed_ms)"')" "$id null" \
	"the job stays held, not maybe-printed"
ok $(! ls "$T/rec-dead"/job-* >/dev/null 2>&1; echo $?) "the printer was not connected to"
# a service added by a reload, off: its state dir is made all the same
cfg "$(jq -n --arg em "$BIN/PrinterLogicServiceEmail" '{"PrinterLogicServiceEmail": {path: $em, enabled: false}}')"
t_privsep
plsc reload >/dev/null 2>&1
wait_until 10 test -d "$T/lib/PrinterLogicServiceEmail"
is "$(stat -c '%a %U' "$T/lib/PrinterLogicServiceEmail" 2>&1)" "700 plsc-email" \
	"a reload makes a new service's state dir, 0700 and its user's"
sup_kill
ok $(! grep -qE "ERROR: AddressSanitizer|runtime error:|LeakSanitizer" "$T"/log/*.log; echo $?) \
	"no sanitizer report in any log"
t_done
