#!/usr/bin/env bash
# SIGTERM stops every child within the grace; a stuck child is SIGKILLed;
# children exit when their supervisor dies.
. "$(dirname "$0")/../lib/lib.sh"
t_setup
plan 8

t_config '{"stop_grace_ms": 1000}' "{
  \"A\": $(svc A), \"B\": $(svc B '{"stop_delay_ms": 300}'),
  \"Stuck\": $(svc Stuck '{"ignore_shutdown": true}')}"
sup_start
wait_until 10 state_is Stuck running && wait_until 5 state_is A running && wait_until 5 state_is B running
ok $? "three services running"
pids="$(svc_pid A) $(svc_pid B) $(svc_pid Stuck)"
start=$(date +%s%N)
kill -TERM "$SUP_PID"
wait "$SUP_PID"; rc=$?
end=$(date +%s%N)
SUP_PID=
is "$rc" 0 "the supervisor exits 0 on SIGTERM"
el=$(( (end - start) / 1000000 ))
diag "shutdown took $el ms"
ok $(( el < 1000 + 1500 ? 0 : 1 )) "within the grace period plus the kill margin"
alive=0
for p in $pids; do kill -0 "$p" 2>/dev/null && alive=1; done
is "$alive" 0 "no child is left"
wait_until 5 grep -q "graceful stop complete" "$T/log/B.log"
ok $? "B finished its in-flight work (graceful stop)"
wait_until 5 grep -q "Stuck.*did not stop within the grace period" "$T/log/plsc-supervisor.log"
ok $? "the stuck child was killed after the grace, and the log says so"
[ ! -S "$T/run/plsc.sock" ]
ok $? "the control socket is removed"

# Supervisor killed with -9: children notice and exit (no orphans).
sup_start
wait_until 10 state_is A running
pid=$(svc_pid A)
kill -9 "$SUP_PID"; wait "$SUP_PID" 2>/dev/null; SUP_PID=
wait_until 5 bash -c "! kill -0 $pid"
ok $? "a child exits when its supervisor dies"
t_done
