#!/usr/bin/env bash
# Idle connections to the control socket (issue #11 item 3): 64 sockets
# that said nothing used to shut plsc out. Now a uid holds 16 connections
# at most, a first request must come within 5 s, and a quiet connection
# makes room for a newcomer. Here every client is this test's uid (no
# privilege separation), the case where only the quiet rule can tell plsc
# from the attacker. During each attack `plsc status` must answer within
# 2x its idle latency plus the 5 s first-request deadline (both printed).
. "$(dirname "$0")/../lib/lib.sh"
t_setup
plan 14

FIRST=5 # CTL_FIRST_MS
t_config '{}' "{\"A\": $(svc A)}"
sup_start
wait_until 10 state_is A running
ok $? "the supervisor and a service run"
SOCK=$T/run/plsc.sock
slow() { ASAN_OPTIONS=detect_leaks=0 "$BIN/plsc-slowclient" "$@"; }
now_ms() { date +%s%3N; }
timed_status() {
	local t0
	t0=$(now_ms)
	ST_OUT=$(plsc status 2>&1)
	ST_RC=$?
	LAT=$(($(now_ms) - t0))
}
stat_of() { grep -o "$2=[0-9]*" "$1" | cut -d= -f2; }

lats=()
for _ in 1 2 3 4 5; do
	timed_status
	lats+=("$LAT")
done
IDLE=$(printf '%s\n' "${lats[@]}" | sort -n | sed -n 3p)
diag "idle plsc status latency: ${IDLE} ms (of ${lats[*]})"

# attack NAME ARGS: plsc-slowclient ARGS in the background, in place and
# quiet past the grace; then plsc status, timed; then its report in $F.
attack() {
	local name=$1
	shift
	F="$T/att-$name.out"
	slow "$@" > "$F" 2>&1 &
	local pid=$!
	BG_PIDS+=($pid)
	wait_until 30 grep -q '^ready' "$F"
	sleep 0.5
	timed_status
	is "$ST_RC" 0 "$name: plsc status answers during the attack"
	local bound=$((2 * IDLE + FIRST * 1000))
	diag "$name: plsc status took ${LAT} ms during the attack (idle ${IDLE} ms, bound ${bound} ms)"
	[ "$LAT" -le "$bound" ]
	ok $? "$name: within 2x the idle latency + the ${FIRST} s first-request deadline"
	wait "$pid"
	diag "$name: $(tail -1 "$F")"
}

# ---- 64 connections that say nothing ----
attack idle unix-idle "$SOCK" 64 $((FIRST + 3))
is "$(stat_of "$F" opened)/$(stat_of "$F" dropped)" 64/64 \
	"all 64 were closed by the supervisor"
l=$(stat_of "$F" longest_ms)
[ "$l" -ge $((FIRST * 1000 - 500)) ] && [ "$l" -le $((FIRST * 1000 + 3000)) ]
ok $? "the last of them at the first-request deadline ($l ms)"

# ---- the same, reconnecting as soon as they are dropped ----
attack idle-reconnect -r unix-idle "$SOCK" 64 8

# ---- one request each, then silence (an established client keeps its
# slot only until someone needs it) ----
attack status-then-quiet -r unix-status "$SOCK" 64 8
[ "$(stat_of "$F" opened)" -ge 16 ]
ok $? "their requests were answered (they got in)"

grep -Eq "control socket: closed the connection of uid $(id -u) pid [0-9]+, quiet for [0-9]+ ms, to make room" "$T/log/plsc-supervisor.log"
ok $? "connections closed to make room are logged, naming the uid and pid"
# (at most five a second, then a count)
grep -Eq "control socket: [0-9]+ more clients refused or dropped in that second" "$T/log/plsc-supervisor.log"
ok $? "a flood of refusals is counted, not logged one by one"

# ---- afterwards ----
timed_status
is "$ST_RC" 0 "after the attacks plsc status answers"
diag "after the attacks: ${LAT} ms"
out=$(plsc disable A); rc=$?
is "$rc:$out" "0:A disabled" "and plsc changes things as before"
plsc enable A >/dev/null
t_done
