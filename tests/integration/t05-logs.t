#!/usr/bin/env bash
# Per-service logs: capture, stamping of raw output, crash output, size
# rotation that keeps the configured count and loses or splits no line,
# plsc logs -n and -f.
. "$(dirname "$0")/../lib/lib.sh"
t_setup
plan 17

t_config '{"log_max_bytes": 65536, "log_keep": 3, "max_deaths": 50}' "{
  \"Flood\": $(svc Flood '{"flood_lines": 6000, "flood_line_len": 200}'),
  \"Crash\": $(svc Crash '{"mode": "crash", "crash_after_ms": 200}'),
  \"Quiet\": $(svc Quiet)}"
sup_start
wait_until 20 grep -q "flood done 6000 lines" "$T/log/Flood.log"
ok $? "the flood finished and its last line is in Flood.log"

files=$(cd "$T/log" && ls Flood.log* | sort | tr '\n' ' ')
is "$files" "Flood.log Flood.log.1 Flood.log.2 Flood.log.3 " "rotation keeps exactly log_keep=3 old files"
big=0
for f in "$T"/log/Flood.log*; do [ "$(stat -c %s "$f")" -le 65536 ] || big=1; done
is "$big" 0 "no file exceeds log_max_bytes"

all=$(cat "$T/log/Flood.log.3" "$T/log/Flood.log.2" "$T/log/Flood.log.1" "$T/log/Flood.log")
bad=$(echo "$all" | grep -cvE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z [a-z]+ Flood\[[0-9]+\]: ')
is "$bad" 0 "every line in every file is one whole, stamped line"
nums=$(echo "$all" | grep -oE 'flood [0-9]{8} ' | awk '{print $2 + 0}')
first=$(echo "$nums" | head -1); last=$(echo "$nums" | tail -1); count=$(echo "$nums" | wc -l)
is "$last" 5999 "the newest flood line is the last one written"
is "$count" $((last - first + 1)) "no line is missing between the oldest kept ($first) and the newest"
short=$(echo "$all" | grep -E 'flood [0-9]{8} ' | grep -cvE 'x{150}$')
is "$short" 0 "no flood line was split or truncated"

wait_until 5 grep -qE "^[0-9T:.Z-]+ output Quiet\[[0-9]+\]: raw output from testsvc" "$T/log/Quiet.log"
ok $? "raw stdout of a child is stamped with level 'output'"
wait_until 10 grep -q "output Crash\[[0-9]*\]: testsvc: crashing on request" "$T/log/Crash.log"
ok $? "a crashing child's last words (stderr) are in its log"

out=$(plsc logs Flood -n 5)
is "$(echo "$out" | wc -l)" 5 "plsc logs -n 5 prints 5 lines"
is "$out" "$(tail -5 "$T/log/Flood.log")" "the same lines as tail -5"

"$BIN/plsc" -c "$CONF" logs Quiet -f > "$T/follow.out" 2>&1 &
fpid=$!
sleep 0.3
plsc restart Quiet >/dev/null
wait_until 5 grep -q "graceful stop complete" "$T/follow.out"
ok $? "plsc logs -f shows new lines as they are written"
kill "$fpid" 2>/dev/null; wait "$fpid" 2>/dev/null

plsc logs NoSuch >/dev/null 2>&1
is "$?" 1 "logs of an unknown service fails (1)"
plsc logs ../../etc/passwd >/dev/null 2>&1
is "$?" 2 "a path in place of a name is refused (2)"

# Local time, by configuration: the supervisor's lines, a service's own
# and its raw output stamped by the supervisor all carry the offset.
sup_kill
t_config '{"log_time": "local"}' "{\"Local\": $(svc Local)}"
TZ=UTC-2 sup_start
wait_until 10 state_is Local running
like "$(tail -1 "$T/log/plsc-supervisor.log")" "^[0-9-]{10}T[0-9:.]{12}\+02:00 info plsc-supervisor" \
	"log_time local: the supervisor's lines in local time with the offset"
like "$(grep ' info Local\[' "$T/log/Local.log" | tail -1)" "^[0-9-]{10}T[0-9:.]{12}\+02:00 info Local" \
	"a service's own lines too"
like "$(grep ' output Local\[' "$T/log/Local.log" | tail -1)" "^[0-9-]{10}T[0-9:.]{12}\+02:00 output Local" \
	"and its raw output, stamped by the supervisor"
t_done
