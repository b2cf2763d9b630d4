#!/usr/bin/env bash
# Held jobs at scale (issue #12 item 2): more than 16,000 jobs held by two
# holders at once (OfflinePrint, and the same binary run as
# PrinterLogicServiceEmail, a holder by its name; its section holds only
# keys both services take, as the supervisor checks it against the Email
# service's schema), submitted concurrently
# so that their creation times interleave. A listing used to stop at 4096
# jobs (silently), and above 1 MiB (about 7,500 jobs) got the holder
# killed for its answer; now:
# - `plsc jobs` pages through every job: the count, no duplicates, oldest
#   first across both holders (the supervisor merges their pages); --json
#   too; --limit stops early; --user the same;
# - neither holder is killed (the same pids, no "killing it" in the log);
# - a most-recent release for a user with more than 4096 jobs prints their
#   newest job (its bytes checked at the recording printer), whichever
#   holder has it;
# - --all for a user with 600 jobs in both holders (three pages of 200)
#   releases every one of them.
# The times are printed for information only. HEAVY1 and HEAVY2 set how
# many jobs heavy holds in each holder (8,200 each by default).
. "$(dirname "$0")/../lib/lib.sh"
t_setup
plan 22

OP2=PrinterLogicServiceEmail
HEAVY1=${HEAVY1:-8200} # heavy's jobs in each holder: 16,400 in all
HEAVY2=${HEAVY2:-8200}
rec_start P1
OP_PORT=$(free_port)
OP2_PORT=$(free_port)
t_config '{}' "$(jq -n --arg p "$BIN/$OP" --arg l1 "127.0.0.1:$OP_PORT" --arg l2 "127.0.0.1:$OP2_PORT" '{
	"PrinterLogicServiceOfflinePrint": {path: $p, listen: {main: $l1}, client_timeout_s: 5,
		print_timeout_s: 5, print_connect_timeout_s: 2},
	"PrinterLogicServiceEmail": {path: $p, listen: {main: $l2},
		print_timeout_s: 5, print_connect_timeout_s: 2}}')"
sup_start
up=0
for s in "$OP" "$OP2"; do wait_until 15 state_is "$s" running || up=1; done
ok $up "two holders run: $OP and $OP2 (the same binary)"
plsc printers add P1 "socket://127.0.0.1:$REC_PORT_P1" >/dev/null
token_for ws1

ms() { date +%s%3N; }
bulk() { # bulk PORT USER COUNT
	"$BIN/plsc-bulksubmit" 127.0.0.1 "$1" "$T/token-ws1" "$2" "$3"
}
# Both holders at once: their jobs' creation times interleave.
t0=$(ms)
bulk "$OP_PORT" heavy "$HEAVY1" >"$T/bulk1.out" 2>&1 &
b1=$!
bulk "$OP2_PORT" heavy "$HEAVY2" >"$T/bulk2.out" 2>&1
rc2=$?
wait "$b1"
rc1=$?
is "$rc1 $rc2" "0 0" "$((HEAVY1 + HEAVY2)) jobs held for heavy in two holders at once"
diag "held: $(cat "$T/bulk1.out"); $(cat "$T/bulk2.out"); $(($(ms) - t0)) ms in all"
bulk "$OP_PORT" walker 400 >/dev/null 2>&1 && bulk "$OP2_PORT" walker 200 >/dev/null 2>&1
ok $? "600 jobs held for walker in the two holders"
TOTAL=$((HEAVY1 + HEAVY2 + 600))
PID1=$(svc_pid "$OP")
PID2=$(svc_pid "$OP2")

# Every job, once, oldest first.
t0=$(ms)
plsc jobs --json >"$T/all.json" 2>"$T/all.err"
rc=$?
t_json=$(($(ms) - t0))
is "$rc" 0 "plsc jobs --json lists $TOTAL jobs (exit 0)"
is "$(jq '.jobs | length' "$T/all.json")" "$TOTAL" "it lists every job"
is "$(jq '[.jobs[].id] | unique | length' "$T/all.json")" "$TOTAL" "no job twice"
is "$(jq '.total' "$T/all.json")" "$TOTAL" "its total says so too"
is "$(jq '[.jobs[].created_ms] as $c | $c == ($c | sort)' "$T/all.json")" true \
	"oldest first, across both holders"
is "$(jq -r '[.jobs[].service] | unique | join(" ")' "$T/all.json")" "$OP2 $OP" \
	"both holders' jobs are in it"
is "$(jq '[.jobs[] | select(.service == "'"$OP2"'")] | length' "$T/all.json")" \
	"$((HEAVY2 + 200))" "each with all of its jobs"
t0=$(ms)
plsc jobs >"$T/all.txt" 2>"$T/all.err"
rc=$?
t_table=$(($(ms) - t0))
is "$rc $(($(wc -l <"$T/all.txt") - 1))" "0 $TOTAL" "plsc jobs (the table) has a row for each"
diag "listing $TOTAL held jobs: plsc jobs --json took $t_json ms, the table $t_table ms"
is "$(plsc jobs --limit 10 2>"$T/limit.err" | tail -n +2 | awk '{print $1}' | tr '\n' ' ')" \
	"$(jq -r '.jobs[:10][].id' "$T/all.json" | tr '\n' ' ')" "--limit 10: the 10 oldest"
like "$(cat "$T/limit.err")" "10 of $TOTAL held jobs listed" "and it says there are more"
t0=$(ms)
is "$(plsc jobs --user heavy --json | jq '[.jobs[].id] | unique | length')" "$((HEAVY1 + HEAVY2))" \
	"plsc jobs --user heavy lists all of heavy's jobs"
diag "plsc jobs --user heavy --json: $(($(ms) - t0)) ms"
is "$(svc_pid "$OP") $(svc_pid "$OP2")" "$PID1 $PID2" "neither holder was killed or restarted"
is "$(grep -c 'killing it\|frame too large' "$T/log/plsc-supervisor.log")" 0 \
	"the supervisor killed nothing and saw no frame too large"

# The newest of heavy's 16,400 jobs, in the second holder: printed.
printf 'the newest job of heavy\n' >"$T/newest"
"$BIN/plsc-submit" --server "127.0.0.1:$OP2_PORT" --token-file "$T/token-ws1" \
	--user heavy --insecure --timeout 20 "$T/newest" >/dev/null
t0=$(ms)
like "$(plsc release --user heavy --printer P1)" "released 1 job to P1" \
	"a most-recent release for heavy ($((HEAVY1 + HEAVY2 + 1)) jobs) releases one"
diag "most-recent release among $((HEAVY1 + HEAVY2 + 1)) jobs: $(($(ms) - t0)) ms"
is "$(cat "$T/rec-P1/job-1.bin")" "the newest job of heavy" "the printer got heavy's newest job"
# The next one is the newest of the bulk jobs, in whichever holder.
next=$(jq -r '[.jobs[] | select(.user == "heavy")][-1] | .id + " " + .service' "$T/all.json")
plsc release --user heavy --printer P1 >/dev/null
is "$(plsc jobs --user heavy --json | jq --arg id "${next% *}" '[.jobs[] | select(.id == $id)] | length')" 0 \
	"the next most-recent release took the newest bulk job (${next#* })"

# All 600 of walker's, three pages of 200, both holders.
t0=$(ms)
like "$(plsc release --user walker --printer P1 --all)" "released 600 jobs to P1" \
	"--all releases all 600 of walker's jobs"
diag "--all for 600 jobs: $(($(ms) - t0)) ms"
is "$(plsc jobs --user walker --json | jq '.jobs | length')" 0 "none of walker's is left"
is "$(ls "$T/rec-P1" | grep -c '^job-.*\.bin$')" 602 "the printer got each of them"
t_done
