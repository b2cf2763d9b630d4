#!/usr/bin/env bash
# Enable/disable at run time, persisted across supervisor restarts.
. "$(dirname "$0")/../lib/lib.sh"
t_setup
plan 18

t_config '{}' "{\"A\": $(svc A), \"B\": $(svc B)}"
sup_start
wait_until 10 state_is A running
ok $? "A is running"
pid=$(svc_pid A)

out=$(plsc disable A); rc=$?
is "$rc" 0 "plsc disable A exits 0"
like "$(suplog)" "A: disabled by control request from uid $(id -u) pid [0-9]+" \
	"the supervisor's log names who asked (the kernel's uid and pid)"
is "$out" "A disabled" "and says so"
wait_until 5 state_is A disabled
ok $? "A is shown disabled"
ok $(kill -0 "$pid" 2>/dev/null; echo $(( ! $? ))) "A's process is gone"
is "$(field A enabled)" false "enabled=false in status --json"
is "$(jq -r .A "$T/lib/supervisor/services.json")" false "the choice is persisted in the state dir"

# Supervisor restart: A stays disabled, B comes back.
sup_kill
sup_start
wait_until 10 state_is B running
ok $? "after a supervisor restart B runs again"
state_is A disabled
ok $? "and A is still disabled"

plsc restart A >/dev/null 2>&1
is "$?" 1 "plsc restart of a disabled service fails (1)"

out=$(plsc enable A); rc=$?
is "$rc" 0 "plsc enable A exits 0"
like "$out" "A enabled, running \(pid [0-9]+\)" "once A runs, and says so"
wait_until 5 state_is A running
ok $? "A runs again"

# A service that fails at once: enable says so, and exits 1.
t_config '{}' "{\"A\": $(svc A), \"B\": $(svc B), \"Bad\": $(svc Bad '{"enabled": false, "mode": "bad_config"}')}"
plsc reload >/dev/null
out=$(plsc enable Bad 2>&1); rc=$?
is "$rc" 1 "plsc enable of a service that fails at once exits 1"
like "$out" "Bad enabled, but it did not start: failed \(exit 78 \(bad configuration\)" \
	"and says how it ended"

plsc disable NoSuchService >/dev/null 2>&1
is "$?" 1 "disabling an unknown service fails (1)"
out=$(plsc disable NoSuchService 2>&1)
like "$out" "no such service: NoSuchService" "with a clear message"
t_done
