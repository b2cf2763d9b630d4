#!/usr/bin/env bash
# PrinterLogicServiceSNMP under the real supervisor against real peers on
# loopback:
#  - snmpd (net-snmp) agents serving Printer-MIB values with `override`
#    lines (supplies with a level of -3 and a waste-toner receptacle, an
#    error-state bitmask, the page counter, an alert row), answering v2c,
#    v1 and a v3 authPriv user (SHA-256, AES) created in a test-private
#    persistent dir;
#  - a UDP port that never answers ("no-snmp", not "offline"), and a
#    forwarder that answers with the agent's response from another port
#    (ignored: the printer stays "no-snmp");
#  - v3 with a wrong passphrase: refused and reported ("auth-failed", a
#    warning in the log); a printer with polling off ("snmp-off");
#  - plsc printers list (STATUS column) and show NAME (text, --json); the
#    console's API (the status in the printers list, GET /printers/NAME);
#  - low-toner raised only after alert_polls (2) polls, logged, written to
#    job-events.jsonl and mailed to a recording SMTP sink (python3); then
#    cleared the same way once the printer points at an agent with full
#    toner;
#  - no passphrase or community secret in any log or in the status file;
#  - refuse_offline_printers (OfflinePrint): a held job for a printer
#    whose agent says offline (jammed and offline bits, hrDeviceStatus
#    down) is printed as today with the setting off; with it on (a
#    reload), refused at once with the SNMP reason, still held, no
#    maybe-printed event, nothing sent to the printer; a no-snmp printer
#    is still tried.
. "$(dirname "$0")/../lib/lib.sh"

SNMP=PrinterLogicServiceSNMP
PEERS=$(dirname "$0")/../lib/snmppeers.py
missing=
command -v python3 >/dev/null 2>&1 || missing+=" python3"
[ -x "$SNMPD" ] || missing+=" snmpd"
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
plan 48

AUTHPW=auth-Secret-7731
PRIVPW=priv-Secret-9924
COMM_B=comm-Secret-5518
P=.1.3.6.1.2.1
SNMPD_EXTRA="createUser plscv3 SHA-256 \"$AUTHPW\" AES \"$PRIVPW\"
rouser plscv3 priv
createUser plscv3b SHA-256 \"$AUTHPW\" AES \"$PRIVPW\"
rouser plscv3b priv
override $P.25.3.2.1.5.1 integer 3
override $P.25.3.5.1.1.1 integer 3
override $P.25.3.5.1.2.1 octet_str 0x2000
override $P.43.10.2.1.4.1.1 counter 48213
override $P.43.5.1.1.17.1 octet_str \"CNB1234\"
override $P.43.11.1.1.4.1.1 integer 3
override $P.43.11.1.1.5.1.1 integer 3
override $P.43.11.1.1.6.1.1 octet_str \"Black Toner\"
override $P.43.11.1.1.7.1.1 integer 13
override $P.43.11.1.1.8.1.1 integer 10000
override $P.43.11.1.1.9.1.1 integer 800
override $P.43.11.1.1.4.1.2 integer 4
override $P.43.11.1.1.5.1.2 integer 4
override $P.43.11.1.1.6.1.2 octet_str \"Waste Toner\"
override $P.43.11.1.1.7.1.2 integer 19
override $P.43.11.1.1.8.1.2 integer 100
override $P.43.11.1.1.9.1.2 integer -3
override $P.43.18.1.1.2.1.1 integer 4
override $P.43.18.1.1.7.1.1 integer 1104
override $P.43.18.1.1.8.1.1 octet_str \"Toner low\"" \
	snmpd_start a "Test LaserJet 4000" lobby.test && PA=$SNMPD_PORT
# agent B: full toner, nothing wrong, its own community
SNMPD_EXTRA="rocommunity $COMM_B 127.0.0.1
override $P.25.3.2.1.5.1 integer 2
override $P.25.3.5.1.1.1 integer 3
override $P.25.3.5.1.2.1 octet_str 0x00
override $P.43.11.1.1.4.1.1 integer 3
override $P.43.11.1.1.5.1.1 integer 3
override $P.43.11.1.1.6.1.1 octet_str \"Black Toner\"
override $P.43.11.1.1.8.1.1 integer 10000
override $P.43.11.1.1.9.1.1 integer 9000" \
	snmpd_start b "Test LaserJet 5000" full.test && PB=$SNMPD_PORT

# agent C: jammed and offline (error state 0x06), hrDeviceStatus down
SNMPD_EXTRA="override $P.25.3.2.1.5.1 integer 5
override $P.25.3.5.1.1.1 integer 1
override $P.25.3.5.1.2.1 octet_str 0x06" \
	snmpd_start c "Test LaserJet Dead" dead.test && PC=$SNMPD_PORT
rec_start dead
rec_start nosnmp

python3 "$PEERS" silent "$T/silent.port" >"$T/silent.log" 2>&1 </dev/null &
BG_PIDS+=($!)
python3 "$PEERS" spoof "$T/spoof.port" "${PA:-1}" "$T/spoof.count" >"$T/spoof.log" 2>&1 </dev/null &
BG_PIDS+=($!)
mkdir -p "$T/mail"
python3 "$PEERS" smtp "$T/smtp.port" "$T/mail" >"$T/smtp.log" 2>&1 </dev/null &
BG_PIDS+=($!)
wait_until 10 test -s "$T/silent.port" && wait_until 10 test -s "$T/spoof.port" &&
	wait_until 10 test -s "$T/smtp.port"
PS=$(cat "$T/silent.port" 2>/dev/null)
PF=$(cat "$T/spoof.port" 2>/dev/null)
PM=$(cat "$T/smtp.port" 2>/dev/null)
ok $([ -n "${PA:-}" ] && [ -n "${PB:-}" ] && [ -n "${PC:-}" ] && [ -n "$PS" ] && [ -n "$PF" ] &&
	[ -n "$PM" ] && [ -n "${REC_PORT_dead:-}" ] && [ -n "${REC_PORT_nosnmp:-}" ]
	echo $?) "three snmpd agents, a silent port, a spoofing forwarder, an SMTP sink, two printers"

# secrets in 0600 files
mkdir -p "$T/secrets"
printf '%s\n' "$AUTHPW" > "$T/secrets/auth"
printf '%s\n' "$PRIVPW" > "$T/secrets/priv"
printf '%s\n' "wrong-passphrase-1" > "$T/secrets/bad"
printf '%s\n' "$COMM_B" > "$T/secrets/comm"
chmod 600 "$T"/secrets/*

CS_PORT=$(free_port)
CS_URL="https://127.0.0.1:$CS_PORT"
OP_PORT=$(free_port)
t_config '{}' "$(jq -n --arg ds "$BIN/plsc-directory" --arg sn "$BIN/$SNMP" --arg s "$T/secrets" \
	--arg smtp "smtp://127.0.0.1:$PM" --arg cs "$BIN/$CS" --arg csl "127.0.0.1:$CS_PORT" \
	--arg www "$TOP/console/www" --arg op "$BIN/$OP" --arg opl "127.0.0.1:$OP_PORT" '{
	"plsc-directory": {path: $ds},
	"PrinterLogicServiceOfflinePrint": {path: $op, listen: {main: $opl},
		print_timeout_s: 5, print_connect_timeout_s: 2},
	"plsc-console": {path: $cs, listen: {main: $csl}, assets_dir: $www},
	"PrinterLogicServiceSNMP": {path: $sn, alert_polls: 2, toner_low_percent: 10,
		mail_to: "admin@example.test", mail_from: "plsc@example.test", smtp_url: $smtp,
		profiles: {
			v1: {version: "1", community: "public"},
			b: {version: "2c", community_file: ($s + "/comm")},
			v3: {version: "3", user: "plscv3", auth: "SHA-256",
				auth_password_file: ($s + "/auth"), priv: "AES",
				priv_password_file: ($s + "/priv")},
			v3bad: {version: "3", user: "plscv3b", auth: "SHA-256",
				auth_password_file: ($s + "/bad"), priv: "AES",
				priv_password_file: ($s + "/priv")}}}}')"
"$BIN/plsc-supervisor" -c "$CONF" -n >/dev/null
ok $? "plsc-supervisor -n accepts the SNMP section"

chmod 644 "$T/secrets/auth"
"$BIN/$SNMP" -c "$CONF" --foreground >"$T/fg.out" 2>&1 &
fgpid=$!
wait_until 10 bash -c "! kill -0 $fgpid 2>/dev/null"
like "$(cat "$T/fg.out")" "auth_password_file.*readable by others" \
	"a secret file readable by others is refused"
kill "$fgpid" 2>/dev/null
chmod 600 "$T/secrets/auth"

add() { plsc printers add "$1" "$2" >/dev/null && plsc printers snmp "$1" "$3" >/dev/null; }
add lobby "ipp://127.0.0.1:631/ipp/print" "interval=1,timeout=300,retries=1,port=$PA"
add v1 "socket://127.0.0.1:9100" "interval=1,timeout=300,port=$PA,profile=v1"
add v3ok "socket://127.0.0.1:9100" "interval=1,timeout=300,port=$PA,profile=v3"
add v3bad "socket://127.0.0.1:9100" "interval=1,timeout=300,port=$PA,profile=v3bad"
add silent "socket://127.0.0.1:9100" "interval=1,timeout=200,retries=1,port=$PS"
add spoof "socket://127.0.0.1:9100" "interval=1,timeout=300,retries=1,port=$PF"
add off "socket://127.0.0.1:9100" "off"
add dead "socket://127.0.0.1:$REC_PORT_dead" "interval=1,timeout=300,retries=1,port=$PC"
add nosnmp "socket://127.0.0.1:$REC_PORT_nosnmp" "interval=1,timeout=200,retries=1,port=$PS"
ok $? "printers and their SNMP options set with plsc printers add / snmp"
plsc printers snmp lobby "interval=0" >/dev/null 2>"$T/bad.err"
like "$(cat "$T/bad.err")" "interval: 1 to 86400 seconds" "a bad option is refused with the reason"

sup_start
wait_until 15 state_is "$SNMP" running
ok $? "PrinterLogicServiceSNMP runs"

status_of() { plsc printers list --json | jq -r --arg n "$1" '.printers[] | select(.name == $n) | .status'; }
st_is() { [ "$(status_of "$1")" = "$2" ]; }
wait_until 20 st_is lobby warning
is "$(status_of lobby)" warning "lobby (v2c): warning (lowToner, device warning)"
like "$(plsc printers list)" "lobby +warning +ipp://127.0.0.1:631/ipp/print" \
	"plsc printers list has a STATUS column"

J=$(plsc printers show lobby --json)
is "$(jq -r .snmp_status.snmp.pages <<<"$J")" 48213 "show --json: the page counter"
is "$(jq -r .snmp_status.snmp.serial <<<"$J")" CNB1234 "show --json: the serial number"
is "$(jq -c .snmp_status.snmp.errors <<<"$J")" '["lowToner"]' "show --json: the error bits by name"
is "$(jq -r '.snmp_status.snmp.supplies[0] | "\(.description) \(.percent)"' <<<"$J")" \
	"Black Toner 8" "show --json: toner 800 of 10000 is 8%"
is "$(jq -r '.snmp_status.snmp.supplies[1] | "\(.class) \(.level_text) \(.percent)"' <<<"$J")" \
	"receptacle some remaining null" "show --json: level -3 is 'some remaining', no percentage"
is "$(jq -r '.snmp_status.snmp.printer_alerts[0].description' <<<"$J")" "Toner low" \
	"show --json: the printer's own alert table"
like "$(plsc printers show lobby)" "supplies:.*Black Toner +8%" "show (text) lists the supplies"

wait_until 20 st_is v1 warning
is "$(plsc printers show v1 --json | jq -r .snmp_status.snmp.pages)" 48213 \
	"v1 (GET, then GETNEXT walks): the same values"
wait_until 20 st_is v3ok warning
is "$(plsc printers show v3ok --json | jq -r '.snmp_status.snmp.supplies[0].percent')" 8 \
	"v3 authPriv (SHA-256, AES): the same values"
wait_until 20 st_is v3bad auth-failed
is "$(status_of v3bad)" auth-failed "v3 with a wrong passphrase: auth-failed"
like "$(plsc printers show v3bad --json | jq -r .snmp_status.why)" "v3 refused: .*[Aa]uthentication" \
	"the reason is the agent's report (authentication failure)"
like_log $SNMP "warn .*printer v3bad .*v3 refused" "and the log says so"
wait_until 20 st_is silent no-snmp
is "$(status_of silent)" no-snmp "a printer that never answers: no-snmp (not offline)"
wait_until 20 test -s "$T/spoof.count"
wait_until 20 st_is spoof no-snmp
is "$(status_of spoof)" no-snmp "answers from another port are ignored: no-snmp"
ok $([ "$(cat "$T/spoof.count" 2>/dev/null || echo 0)" -ge 1 ]; echo $?) \
	"(the forwarder did send the agent's answers, from the wrong port)"
wait_until 20 st_is off snmp-off
is "$(status_of off)" snmp-off "polling off: snmp-off"

# ---- the console's API: the status column and the detail view's data
admin_add alice 'alice long password'
wait_until 15 state_is "$CS" running
console_login alice 'alice long password'
api GET /api/v1/printers
is "$(jq -r '.printers[] | select(.name == "lobby") | .status' <<<"$API_BODY")" warning \
	"console API: the printers list carries each printer's status"
api GET /api/v1/printers/lobby
is "$API_STATUS $(jq -r '.snmp_status.snmp.supplies[0].percent' <<<"$API_BODY")" "200 8" \
	"console API: GET /printers/NAME has the whole last poll (the detail view)"

# ---- alerts: low toner (8% <= 10%) after 2 polls
wait_until 20 grep -q "alert raised: printer lobby low-toner" "$T/log/$SNMP.log"
like_log $SNMP "warn .*alert raised: printer lobby low-toner \(.*, 2 polls\)" \
	"low-toner raised after 2 polls, logged"
wait_until 10 grep -q '"printer-alert"' "$T/log/job-events.jsonl"
line=$(grep '"printer-alert"' "$T/log/job-events.jsonl" | grep '"lobby"' | head -1)
like "$line" '"event":"printer-alert".*"printer":"lobby".*low-toner' \
	"written as a printer-alert event in job-events.jsonl"
wait_until 20 grep -lq "lobby: low-toner raised" "$T"/mail/*.eml
ok $? "mailed to the admin through SMTP (libcurl)"
# the status file is written once a round is done (or at the next tick)
lobby_alerts() { plsc printers show lobby --json | jq -c .snmp_status.alerts; }
wait_until 10 bash -c "$(declare -f plsc lobby_alerts); BIN='$BIN' CONF='$CONF'; lobby_alerts | grep -q low-toner"
like "$(lobby_alerts)" "low-toner" "show lists the active alert"

# the same printer, now with full toner: cleared after 2 polls
plsc printers snmp lobby "interval=1,timeout=300,port=$PB,profile=b" >/dev/null
wait_until 30 grep -q "alert cleared: printer lobby low-toner" "$T/log/$SNMP.log"
ok $? "low-toner cleared once the toner is full (2 polls agree)"
wait_until 10 grep -q '"printer-alert-cleared".*"lobby"' "$T/log/job-events.jsonl"
ok $? "written as a printer-alert-cleared event"
is "$(status_of lobby)" idle "lobby now idle (community from a 0600 file)"

# ---- refuse_offline_printers (OfflinePrint; off by default)
wait_until 20 st_is dead error
is "$(plsc printers show dead --json | jq -c '[.snmp_status.snmp.device_status, .snmp_status.snmp.errors]')" \
	'["down",["jammed","offline"]]' "dead: down, jammed and offline"
wait_until 20 st_is nosnmp no-snmp
wait_until 15 state_is "$OP" running
token_for ws1
echo "first page" > "$T/doc1"
id1=$(submit ws1 erin "$T/doc1")
out=$(plsc release --user erin --printer dead 2>&1)
is "$(cat "$T/rec-dead/job-1.bin" 2>/dev/null)" "first page" \
	"setting off: a release to a printer SNMP says is offline is tried as today (printed: $out)"

jq '.services["PrinterLogicServiceOfflinePrint"].refuse_offline_printers = true' "$CONF" \
	> "$CONF.new" && mv "$CONF.new" "$CONF"
plsc reload >/dev/null
wait_until 15 bash -c "grep -c 'settings updated' '$T/log/$OP.log' | grep -q '^[1-9]'"
ok $? "refuse_offline_printers turned on by a reload (no restart)"
echo "second page" > "$T/doc2"
id2=$(submit ws1 erin "$T/doc2")
out=$(plsc release --user erin --printer dead 2>&1); rc=$?
is "$rc" 1 "setting on: the release fails"
like "$out" "dead is offline \(SNMP, polled [0-9]+ s ago: jammed/offline\): not released; the job stays held" \
	"at once, with the SNMP reason"
is "$(plsc jobs --user erin --json | jq -r --arg i "$id2" '.jobs[] | select(.id == $i) | "\(.id) \(.maybe_printed_ms)"')" \
	"$id2 null" "the job stays held, not maybe-printed"
ok $(! ls "$T/rec-dead"/job-2.* >/dev/null 2>&1; echo $?) "the printer was not even connected to"
ok $(! grep "\"$id2\"" "$T/log/job-events.jsonl" | grep -q maybe-printed; echo $?) \
	"no maybe-printed event"
out=$(plsc release --user erin --printer nosnmp 2>&1)
is "$(cat "$T/rec-nosnmp/job-1.bin" 2>/dev/null)" "second page" \
	"a no-snmp printer is still tried (printed: $out)"

# ---- secrets
all=$(cat "$T"/log/*.log "$T"/mail/*.eml 2>/dev/null; sqlite3 "$T/lib/$SNMP/printer-status.db" .dump 2>/dev/null)
ok $(! grep -q -e "$AUTHPW" -e "$PRIVPW" -e "$COMM_B" -e wrong-passphrase <<<"$all"; echo $?) \
	"no passphrase or community in the logs, the mail or the status file"
is "$(stat -c %a "$T/lib/$SNMP/printer-status.db")" 644 "the status file is readable (not secret)"

# a deleted printer leaves the status file
plsc printers del off >/dev/null
wait_until 10 bash -c "! sqlite3 '$T/lib/$SNMP/printer-status.db' \"select 1 from status where printer='off'\" | grep -q 1"
ok $? "a printer deleted from the directory leaves the status file"
is "$(field $SNMP state)" running "the service is still running"
like "$(field $SNMP detail)" "printers; [0-9]+ polls: [0-9]+ answered" "plsc status shows its counters"
sup_kill
ok $(! grep -qE "ERROR: AddressSanitizer|runtime error:|LeakSanitizer" "$T"/log/*.log; echo $?) \
	"no sanitizer report in any log after an orderly stop"
t_done
