#!/usr/bin/env bash
# Exactly-once release across crashes (README "Held jobs: what a crash
# does to a release"): releases to a slow printer while the holder is
# killed with -9 again and again. Every job prints completely at most once;
# none is lost (each is printed, or still held); a job whose release was
# cut off after bytes went out is held as maybe-printed and prints again
# only with --reprint. Every third round is a most-recent release, which
# goes straight to the one holder (RELEASE_JOBS with NEWEST), the others
# release all.
. "$(dirname "$0")/../lib/lib.sh"
t_setup
plan 12

NJOBS=24
KILLS=12
# About 6 MB/s. Loopback socket buffers take a few hundred KiB at once, so
# a small job is usually all in the printer's buffers when the kill comes
# (printed, unconfirmed: maybe-printed), and a 2 MiB one is cut off.
rec_start P1 slow 65536
op_config '{}' '{"max_deaths": 64, "log_level": "debug"}'
sup_start
wait_until 15 state_is "$OP" running
plsc printers add P1 "socket://127.0.0.1:$REC_PORT_P1" >/dev/null
token_for ws1

declare -A SHA_OF # content sha256 -> job id
for i in $(seq 1 $NJOBS); do
	head -c $(( i % 2 ? 2097152 : 131072 )) /dev/urandom > "$T/doc$i"
	id=$(submit ws1 eve "$T/doc$i")
	SHA_OF[$(sha256sum < "$T/doc$i" | cut -d' ' -f1)]=$id
done
is "$(plsc jobs --json | jq '.jobs | length')" "$NJOBS" "$NJOBS jobs held"

wait_running() { # the service is back (a new pid, running)
	wait_until 20 bash -c "[ \"\$($BIN/plsc -c $CONF status --json | jq -r '.services[] | select(.name==\"$OP\") | .state')\" = running ]"
}

# Kill the holder while it prints: each round starts a release of all of
# eve's jobs and kills the holder after a random 30-300 ms.
kills=0
for k in $(seq 1 $KILLS); do
	mode=--all
	[ $((k % 3)) -eq 0 ] && mode=
	( plsc release --user eve --printer P1 $mode >/dev/null 2>&1 ) &
	rel=$!
	sleep "0.$(( 3 + RANDOM % 27 ))"
	pid=$(svc_pid "$OP")
	if [ -n "$pid" ] && [ "$pid" != 0 ] && kill -9 "$pid" 2>/dev/null; then
		kills=$((kills + 1))
	fi
	wait "$rel"
	wait_running || break
done
ok $(( kills >= 10 ? 0 : 1 )) "the holder was killed $kills times during releases"
is "$(releases_straight eve)" "$((KILLS / 3))" "the most-recent ones went straight to the one holder"

# What is left: release everything that may print (maybe-printed jobs are
# passed over), until nothing is.
for round in 1 2 3; do
	plsc release --user eve --printer P1 --all >/dev/null 2>&1 || break
done
left=$(plsc release --user eve --printer P1 --all 2>&1)
like "$left" "no held jobs" "in the end nothing is left that may print"

# Count complete prints per job.
declare -A PRINTS
doubles=0
cutoff=0
for f in "$T"/rec-P1/job-*.bin; do
	[ -e "$f" ] || continue
	s=$(sha256sum < "$f" | cut -d' ' -f1)
	id=${SHA_OF[$s]:-}
	# The holder died mid-job: the kernel closed its socket and the
	# printer took what it had as a (short) job.
	[ -n "$id" ] || { cutoff=$((cutoff + 1)); continue; }
	PRINTS[$id]=$(( ${PRINTS[$id]:-0} + 1 ))
	[ "${PRINTS[$id]}" -gt 1 ] && doubles=$((doubles + 1))
done
diag "complete prints: ${#PRINTS[@]} jobs; cut-off prints: $cutoff; kills: $kills"
is "$doubles" 0 "no job printed completely twice"

held=$(plsc jobs --json)
lost=0
maybe_held=0
for id in "${SHA_OF[@]}"; do
	inlist=$(jq -r --arg id "$id" '[.jobs[] | select(.id == $id)] | length' <<<"$held")
	m=$(jq -r --arg id "$id" '.jobs[] | select(.id == $id) | .maybe_printed_ms // empty' <<<"$held")
	[ -n "$m" ] && maybe_held=$((maybe_held + 1))
	if [ "${PRINTS[$id]:-0}" -eq 0 ] && [ "$inlist" -eq 0 ]; then
		lost=$((lost + 1))
		diag "lost: $id"
	fi
	# A held job that is not flagged must not have printed.
	if [ "$inlist" -eq 1 ] && [ -z "$m" ] && [ "${PRINTS[$id]:-0}" -gt 0 ]; then
		diag "held unflagged but printed: $id"
		lost=$((lost + 100))
	fi
done
is "$lost" 0 "no job lost: each printed or still held, and a held job that printed is flagged"
is "$(jq '[.jobs[] | select(.maybe_printed_ms == null)] | length' <<<"$held")" 0 \
	"every job still held is maybe-printed"
diag "maybe-printed, held: $maybe_held"
is "$(( ${#PRINTS[@]} + maybe_held >= NJOBS ? 1 : 0 ))" 1 "every job is accounted for"

# A maybe-printed job: refused without --reprint, printed with it.
mid=$(jq -r '.jobs[0].id // empty' <<<"$held")
if [ -z "$mid" ]; then
	# no release was cut off mid-job this time: make one
	head -c 262144 /dev/urandom > "$T/docx"
	mid=$(submit ws1 eve "$T/docx")
	( plsc release --job "$mid" --printer P1 >/dev/null 2>&1 ) &
	rel=$!
	sleep 0.03
	kill -9 "$(svc_pid "$OP")"
	wait "$rel"
	wait_running
fi
out=$(plsc release --job "$mid" --printer P1 2>&1)
like "$out" "may have printed" "without --reprint a maybe-printed job is refused, with the reason"
before=$(ls "$T"/rec-P1/ | grep -c '\.bin$')
out=$(plsc release --job "$mid" --printer P1 --reprint 2>&1)
ok $? "with --reprint it prints ($out)"
is "$(ls "$T"/rec-P1/ | grep -c '\.bin$')" "$((before + 1))" "one more complete print"
wait_until 5 grep -q '"event":"maybe-printed"' "$T/log/job-events.jsonl"
ok $? "the job events say maybe-printed"
t_done
