#!/usr/bin/env bash
# Restart policy: kill -9, hang, crash loop, bad config, missing binary.
. "$(dirname "$0")/../lib/lib.sh"
t_setup
plan 24

t_config '{}' "{
  \"Kill\": $(svc Kill),
  \"Hang\": $(svc Hang),
  \"Loop\": $(svc Loop '{"mode": "crash", "crash_after_ms": 50}'),
  \"BadCfg\": $(svc BadCfg '{"mode": "bad_config"}'),
  \"Early\": $(svc Early '{"mode": "exit_before_ready"}'),
  \"PrinterLogicServiceSNMP\": {\"path\": \"$T/no/such/PrinterLogicServiceSNMP\"}
}"
sup_start
# died before READY -> throttled
wait_until 5 state_is Early throttled
ok $? "a service that dies before READY is throttled"
wait_until 10 state_is Kill running
ok $? "Kill is running"

# kill -9 -> restarted with a new pid, restarts=1
pid=$(svc_pid Kill)
kill -9 "$pid"
wait_until 5 running_with_new_pid Kill "$pid"
ok $? "after kill -9 Kill runs again with a new pid"
is "$(field Kill restarts)" 1 "restarts=1"
like "$(field Kill last_exit)" "SIGKILL" "last_exit says SIGKILL"
ms=$(suplog | grep -oE "Kill: restarting in [0-9]+ ms" | tail -1 | grep -oE '[0-9]+')
ok $(( ms <= 50 ? 0 : 1 )) "first restart scheduled within 50 ms (got ${ms} ms)"

# hang -> heartbeat watchdog kills and restarts it
wait_until 10 state_is Hang running
pid=$(svc_pid Hang)
kill -USR1 "$pid"
wait_until 10 running_with_new_pid Hang "$pid"
ok $? "a hung service is killed and restarted"
like "$(field Hang last_exit)" "no heartbeat reply" "last_exit names the heartbeat timeout"
ok $(kill -0 "$pid" 2>/dev/null; echo $(( ! $? ))) "the hung process is gone"

# crash loop -> growing backoff, then failed
wait_until 20 state_is Loop failed
ok $? "a crash-looping service ends up failed"
delays=$(suplog | grep -oE "Loop: restarting in [0-9]+ ms" | grep -oE '[0-9]+' | tr '\n' ' ')
diag "Loop delays: $delays"
grow=0; prev=-1
for d in $delays; do [ "$d" -ge "$prev" ] || grow=1; prev=$d; done
ok $grow "backoff delays never shrink"
set -- $delays
ok $(( $# >= 3 && ${!#} > $1 ? 0 : 1 )) "backoff grew from $1 to ${!#} ms"
like "$(suplog | grep 'Loop: ' | tail -3)" "5 deaths in 30 s" "the log says N deaths in T seconds"
r1=$(field Loop restarts); sleep 0.5
is "$(field Loop restarts)" "$r1" "failed stays failed (no more restarts)"
starts() { grep -c "Loop\[[0-9]*\]: started" "$T/log/plsc-supervisor.log"; }
n0=$(starts)
plsc restart Loop >/dev/null
wait_until 5 bash -c "[ \$(grep -c 'Loop\[[0-9]*\]: started' '$T/log/plsc-supervisor.log') -gt $n0 ]"
ok $? "plsc restart clears failed and starts it again"

# exit 78 -> failed at once
wait_until 10 state_is BadCfg failed
ok $? "exit 78 (bad config) makes the service failed"
is "$(field BadCfg restarts)" 0 "and it is not restarted"
like "$(field BadCfg last_exit)" "exit 78 \(bad configuration\)" "last_exit explains exit 78"
like "$(field BadCfg last_exit)" "exit 78 \(bad configuration\): services.mode: bad_config requested\$" \
	"and quotes the service's own last error line"


wait_until 5 grep -q "Early: restarting in 300 ms (throttled)" "$T/log/plsc-supervisor.log"
ok $? "a throttled restart waits throttle_ms"

# binary missing -> failed, clear message, no busy loop
wait_until 5 state_is PrinterLogicServiceSNMP failed
ok $? "a missing binary makes the service failed"
like "$(field PrinterLogicServiceSNMP last_exit)" "binary not found" "status says binary not found"
sleep 0.5
is "$(field PrinterLogicServiceSNMP restarts)" 0 "no restart loop for a missing binary"
wait_until 5 grep -q "PrinterLogicServiceSNMP: binary not found" "$T/log/plsc-supervisor.log"
ok $? "the supervisor log names the missing binary"
t_done
