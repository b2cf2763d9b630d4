#!/usr/bin/env bash
# Each service in its own cgroup (root): a helper that left the service's
# process group with setsid and a double fork is killed when the service
# restarts or is switched off; the supervisor says so; its cgroup
# directory is gone when it stops. Under privilege separation each
# service's user is held to max_processes (RLIMIT_NPROC).
. "$(dirname "$0")/../lib/lib.sh"
t_setup
plan 10

if [ "$(id -u)" -ne 0 ]; then
	for i in $(seq 1 10); do echo "ok $i # SKIP not running as root"; done
	exit 0
fi
t_config '{}' "{\"E\": $(svc E '{"mode": "escape"}')}"
sup_start
wait_until 10 state_is E running
cg=$(grep '^0::' "/proc/$(svc_pid E)/cgroup" | cut -d: -f3)
if [ -z "$cg" ] || ! grep -q "/plsc\.$SUP_PID/E\$" <<<"$cg"; then
	diag "no cgroup v2 for services here ($cg); see the supervisor's log:"
	suplog | grep -i cgroup | sed 's/^/# /'
	for i in $(seq 1 10); do echo "ok $i # SKIP no usable cgroup v2"; done
	exit 0
fi
ok 0 "the service runs in its own cgroup ($cg)"
wait_until 5 test -s "$T/lib/E/escapee"
esc=$(cat "$T/lib/E/escapee")
kill -0 "$esc" 2>/dev/null
ok $? "its helper runs (pid $esc)"
ok $([ "$(ps -o sid= -p "$esc" | tr -d ' ')" != "$(ps -o sid= -p "$(svc_pid E)" | tr -d ' ')" ]; echo $?) \
	"in a session of its own, out of the process group"

rm -f "$T/lib/E/escapee"
plsc restart E >/dev/null
wait_until 10 test -s "$T/lib/E/escapee"
wait_until 5 bash -c "! kill -0 $esc 2>/dev/null"
ok $? "a restart kills the helper that escaped the process group"
like "$(suplog)" "E: killed 1 process it left behind" "the supervisor says so"

esc=$(cat "$T/lib/E/escapee")
plsc disable E >/dev/null
wait_until 5 bash -c "! kill -0 $esc 2>/dev/null"
ok $? "switching the service off kills it too"

base=$(dirname "/sys/fs/cgroup/unified$cg")
[ -d "$base" ] || base=$(dirname "/sys/fs/cgroup$cg")
ok $([ -d "$base" ]; echo $?) "the supervisor's cgroup directory exists while it runs"
sup_kill
ok $([ ! -d "$base" ]; echo $?) "and is removed when it stops"

# Privilege separation: RLIMIT_NPROC for the service's own user.
t_config '{"privsep": true}' "{\"F\": $(svc F '{"user": "plsc-t13-f", "max_processes": 64}')}"
t_privsep
chmod 755 "$(dirname "$TESTSVC")" 2>/dev/null
sup_start
wait_until 10 state_is F running
ok $? "F runs"
is "$(awk '/^Max processes/ {print $3}' "/proc/$(svc_pid F)/limits")" 64 \
	"held to max_processes (RLIMIT_NPROC 64)"
t_done
