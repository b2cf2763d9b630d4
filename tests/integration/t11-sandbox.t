#!/usr/bin/env bash
# Sandboxing under the real supervisor (README "Sandboxing"): every service
# runs with no_new_privs and a seccomp filter; where the kernel has
# Landlock, a service writes only its state dir (and reads the directory's
# folder), reads system paths, and reaches nothing else, in its worker
# threads too. A --foreground service is confined the same way.
. "$(dirname "$0")/../lib/lib.sh"
t_setup
plan 21

OP_PORT=$(free_port)
BR_PORT=$(free_port)
mkdir -p "$T/lib/B"
echo "B's secret" > "$T/lib/B/secret"
probe=$(jq -n --arg w "$T/escape" --arg r "$T/lib/B/secret" \
	'{mode: "sandbox_probe", probe_write: $w, probe_read: $r}')
t_config '{}' "$(jq -n --arg ts "$TESTSVC" --argjson probe "$probe" \
	--arg op "$BIN/$OP" --arg opl "127.0.0.1:$OP_PORT" \
	--arg br "$BIN/PrinterLogicServiceSimpleBadgeRelease" --arg brl "127.0.0.1:$BR_PORT" '{
	A: ({path: $ts} + $probe),
	B: {path: $ts},
	"PrinterLogicServiceOfflinePrint": {path: $op, listen: {main: $opl}},
	"PrinterLogicServiceSimpleBadgeRelease": {path: $br, listen: {main: $brl}}}')"
sup_start
BR=PrinterLogicServiceSimpleBadgeRelease
for s in A B $OP $BR; do
	wait_until 10 state_is "$s" running
done

status_field() { # status_field PID FIELD
	awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status" 2>/dev/null
}

for s in A $OP $BR; do
	pid=$(svc_pid "$s")
	is "$(status_field "$pid" NoNewPrivs)" 1 "$s runs with no_new_privs"
	is "$(status_field "$pid" Seccomp)" 2 "$s runs under a seccomp filter"
done
threads_ok=0
for st in /proc/"$(svc_pid $OP)"/task/*/status; do
	grep -q '^Seccomp:[[:space:]]*2$' "$st" || threads_ok=1
done
ok $threads_ok "every thread of OfflinePrint (workers too) runs under the filter"
like_log $OP "sandbox: no_new_privs, seccomp filter" "OfflinePrint logs its sandbox"
ok "$(log_of $OP | grep -c 'Landlock does not bind')" "no thread of OfflinePrint ran before the sandbox"

if log_of A | grep -q "sandbox: .*Landlock ABI"; then
	wait_until 5 test -s "$T/lib/A/probe"
	probe_out=$(cat "$T/lib/A/probe" 2>/dev/null)
	like "$probe_out" "write=EACCES" "A cannot create a file outside its state dir"
	ok "$(test -e "$T/escape"; echo $((1 - $?)))" "and none was created"
	like "$probe_out" "read=EACCES" "A cannot read another service's state dir"
	like "$probe_out" "etc=0" "A still reads system paths (/etc/passwd)"
	like "$probe_out" "own=0" "A writes its own state dir (tmp + rename)"
	is "$(cat "$T/lib/A/uid" 2>/dev/null)" "$(id -u)" "A wrote its uid file as before"
	like_log $OP "ro $T/lib/$OP/../directory" \
		"OfflinePrint reads the directory's folder, read-only"
	like_log $BR "ro $T/lib/$BR/../directory" \
		"badge release reads the directory's folder, read-only"
	# The directory works from inside the sandbox (WAL: -wal, -shm).
	token_for ws1
	printf 'job\n' > "$T/job.txt"
	id=$(submit ws1 alice "$T/job.txt" 2>"$T/submit.err")
	like "$id" "^[0-9a-f]+" "OfflinePrint verifies a token and stores a job, sandboxed"
	is "$(plsc jobs --user alice --json | jq -r ".jobs | length")" 1 "the job is held"

	# --foreground: the same runtime, the same sandbox.
	fg=$(jq -n --arg ts "$TESTSVC" --arg w "$T/escape-fg" \
		'{mode: "sandbox_probe", probe_write: $w, path: $ts}')
	jq --argjson fg "$fg" '.services = {Solo: $fg}' "$CONF" > "$T/fg.json"
	"$TESTSVC" --foreground -n Solo -c "$T/fg.json" > "$T/solo.out" 2>&1 &
	fgpid=$!
	BG_PIDS+=($fgpid)
	wait_until 5 test -s "$T/lib/Solo/probe"
	like "$(cat "$T/lib/Solo/probe" 2>/dev/null)" "write=EACCES" \
		"a --foreground service is confined too"
	kill -TERM "$fgpid"
	wait "$fgpid"
	is "$?" 0 "and stops cleanly"
else
	diag "no Landlock in this kernel: $(log_of A | grep -m1 'sandbox:')"
	for i in $(seq 1 12); do echo "ok $((T_N + 1)) # SKIP no Landlock"; T_N=$((T_N + 1)); done
fi
t_done
