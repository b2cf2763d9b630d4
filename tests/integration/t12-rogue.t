#!/usr/bin/env bash
# A compromised service, as an attacker would drive it (plsc-testsvc in
# its rogue mode, tests/lib/rogue.c), beside the held-jobs service with a
# job held and the console. It sends every message the allow-list forbids
# it: SHUTDOWN, CONFIG and PING to the held-jobs service, DELETE_JOBS and
# RELEASE_JOBS for the held job, CTL_STOP, JOB_EVENT, RELEASE, and
# DIR_WRITE to plsc-directory (the directory's writer); and, as
# root with a system user of its own, it tries to read the held-jobs
# service's master key and job, to write the directory and to connect to
# the control socket. Nothing may happen but log lines. The console, which
# only reads the directory, still changes it through plsc-directory; its
# own user cannot write directory.db. The held-jobs service, which reads it
# only too, has a workstation token's last use recorded by plsc-directory
# (DIR_WRITE token-used), once a minute, not once a job.
. "$(dirname "$0")/../lib/lib.sh"
t_setup
plan 40

root=0
[ "$(id -u)" -eq 0 ] && root=1
sup_extra='{}'
[ $root -eq 1 ] && sup_extra='{"privsep": true}'
# The console's pages from $T: its user may not enter the checkout.
cp -r "$TOP/console/www" "$T/www"
chmod -R a+rX "$T/www"

rec_start P1
# rogue_config [ENABLED [JOB_ID JOB_FILE]]
rogue_config() {
	OP_PORT=${OP_PORT:-$(free_port)}
	CS_PORT=${CS_PORT:-$(free_port)}
	CS_URL="https://127.0.0.1:$CS_PORT"
	local op_dir="$T/lib/$OP"
	t_config "$sup_extra" "$(jq -n --arg op "$BIN/$OP" --arg opl "127.0.0.1:$OP_PORT" \
		--arg cs "$BIN/$CS" --arg csl "127.0.0.1:$CS_PORT" --arg www "$T/www" \
		--arg ds "$BIN/$DS" --arg ts "$TESTSVC" --argjson en "${1:-false}" \
		--arg job "${2:-none}" \
		--arg jobfile "${3:-$op_dir/jobs}" --arg opd "$op_dir" --arg t "$T" '{
		"PrinterLogicServiceOfflinePrint": {path: $op, listen: {main: $opl},
			client_timeout_s: 2, print_timeout_s: 5, print_connect_timeout_s: 2},
		"plsc-console": {path: $cs, listen: {main: $csl}, assets_dir: $www},
		"plsc-directory": {path: $ds},
		"Rogue": {path: $ts, enabled: $en, mode: "rogue",
			victim: "PrinterLogicServiceOfflinePrint", job_id: $job,
			read: [($opd + "/master.key"), $jobfile,
			       ($t + "/lib/directory/directory.db")],
			write: [($t + "/lib/directory/directory.db"), ($opd + "/master.key")],
			connect: [($t + "/run/plsc.sock")], flood: 20000}}')"
}
rogue_config false
if [ $root -eq 1 ]; then
	t_privsep
	ok $? "the services' users are made"
else
	echo "ok 1 # SKIP privilege separation needs root"
	T_N=1
fi
sup_start
wait_until 15 state_is "$OP" running && wait_until 15 state_is "$CS" running &&
	wait_until 15 state_is "$DS" running
ok $? "the held-jobs service, the console and the directory's writer run"
is "$(field "$OP" restarts) $(field "$CS" restarts)" "0 0" \
	"they started after the directory's writer, once (no failed first start)"

plsc printers add P1 "socket://127.0.0.1:$REC_PORT_P1" >/dev/null
token_for ws1
echo "secret document" > "$T/doc"
id=$(submit ws1 alice "$T/doc")
like "$id" "^[0-9a-f]{32}$" "a job is held for alice"
jobfile=$(ls "$T/lib/$OP/jobs/"*.job | head -1)
op_pid=$(svc_pid "$OP")
cs_pid=$(svc_pid "$CS")
# OfflinePrint reads the directory only; it asks plsc-directory to record
# the token's last use (DIR_WRITE token-used), once a minute at most.
wait_until 10 bash -c "[ \$($BIN/plsc -c $CONF token list --json | jq '.tokens[] | select(.workstation == \"ws1\") | .last_used_ms') -gt 0 ]"
ok $? "plsc token list shows when ws1's token was last used (recorded by plsc-directory)"
used=$(plsc token list --json | jq '.tokens[] | select(.workstation == "ws1") | .last_used_ms')
for i in 1 2 3; do submit ws1 dave "$T/doc" >/dev/null; done
is "$(plsc jobs --user dave --json | jq '.jobs | length')" 3 "three more jobs with that token, for dave"
is "$(plsc token list --json | jq '.tokens[] | select(.workstation == "ws1") | .last_used_ms')" "$used" \
	"within the minute they do not write its last use again"
like "$(plsc status --json | jq -r '.services[] | select(.name == "plsc-directory") | .detail')" \
	", 1 token uses$" "OfflinePrint reported the token's use once, not once a job"

rogue_config true "$id" "$jobfile"
plsc reload >/dev/null
wait_until 15 grep -q '^done' "$T/lib/Rogue/rogue.txt"
ok $? "the rogue service made every attempt"
sleep 1 # anything it set off would have happened by now

is "$(svc_pid "$OP")" "$op_pid" "the held-jobs service was not stopped or restarted"
is "$(svc_pid "$CS")" "$cs_pid" "the console was not stopped or restarted"
kill -0 "$SUP_PID" 2>/dev/null
ok $? "the supervisor still runs (CTL_STOP on a service channel does nothing)"
is "$(plsc jobs --user alice --json | jq -r '.jobs[0].id')" "$id" "the job is still held"
test -f "$jobfile"
ok $? "and still on disk"
is "$(ls "$T/rec-P1" | grep -c '^job-')" 0 "nothing was printed"
ok "$(log_of "$OP" | grep -c 'shutting down\|reconfigured\|deleted')" \
	"the held-jobs service saw no SHUTDOWN, CONFIG or DELETE_JOBS"
for type in SHUTDOWN CONFIG PING DELETE_JOBS RELEASE_JOBS JOBS_QUERY CTL_STOP JOB_EVENT RELEASE \
	DIR_WRITE; do
	suplog | grep -q "Rogue\[[0-9]*\]: denied $type .*from role other"
	ok $? "the supervisor logs the denied $type with its sender and role"
done
plsc printers list --json | jq -e '.printers[] | select(.name == "P1")' >/dev/null
ok $? "the printer its DIR_WRITE asked to delete is still there"
flooded=$(sed -n 's/^flood sent //p' "$T/lib/Rogue/rogue.txt")
[ "${flooded:-0}" -ge 10000 ]
ok $? "it flooded the supervisor with $flooded more forbidden SHUTDOWNs"
wait_until 10 bash -c "[ \$($BIN/plsc -c $CONF status --json | jq '.services[] | select(.name==\"Rogue\") | .denied') -ge $((flooded + 20)) ]"
ok $? "plsc status counts every denied message ($(field Rogue denied))"
lines=$(suplog | grep -c 'Rogue\[[0-9]*\]: denied')
[ "$lines" -le 64 ]
ok $? "and the supervisor's log holds only $lines lines about them"
like "$(cat "$T/lib/Rogue/rogue.txt")" "control socket in environment: no" \
	"the rogue service is not told where the control socket is"

if [ $root -eq 1 ]; then
	r=$(cat "$T/lib/Rogue/rogue.txt")
	like "$r" "read $T/lib/$OP/master.key: EACCES" "it cannot read the held-jobs service's master key"
	like "$r" "read $jobfile: EACCES" "it cannot read a held job"
	like "$r" "write $T/lib/directory/directory.db: EACCES" "it cannot write the directory"
	if log_of Rogue | grep -q 'sandbox: .*Landlock ABI'; then
		# Its sandbox names no directory (README "Sandboxing").
		like "$r" "read $T/lib/directory/directory.db: EACCES" \
			"it cannot read the directory either: its sandbox does not name it"
	else
		like "$r" "read $T/lib/directory/directory.db: ok" "it can read the directory (shared data)"
	fi
	like "$r" "connect $T/run/plsc.sock: EACCES" "it cannot connect to the control socket"
else
	for i in 1 2 3 4 5; do T_N=$((T_N + 1)); echo "ok $T_N # SKIP file permissions need root"; done
fi

# The console keeps its rights: the control socket, and changes to the
# directory through plsc-directory; its own user cannot write the file.
if [ $root -eq 1 ]; then
	cs_user=$(stat -c %U "/proc/$cs_pid")
	setpriv --reuid="$cs_user" --regid="$(id -g "$cs_user")" --init-groups \
		sh -c 'exec 3<>"$1"' sh "$T/lib/directory/directory.db" 2>/dev/null
	[ $? -ne 0 ]
	ok $? "the console's user ($cs_user) cannot open directory.db for writing"
else
	T_N=$((T_N + 1)); echo "ok $T_N # SKIP file permissions need root"
fi
admin_add admin 'correct horse battery'
console_login admin 'correct horse battery'
api GET /api/v1/services
is "$API_STATUS" 200 "the console still reaches the supervisor"
api POST /api/v1/printers '{"name": "P2", "uri": "socket://127.0.0.1:9"}'
is "$API_STATUS" 201 "the console still changes the directory (through plsc-directory)"
log_of "$DS" | grep -q 'printer P2 added (asked by plsc-console for admin)'
ok $? "plsc-directory logs the change with who asked"
t_done
