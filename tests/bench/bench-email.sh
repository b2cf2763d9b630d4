#!/usr/bin/env bash
# make bench [11]: mail arrival -> job held, with IDLE, against a real
# Dovecot. N messages, one at a time: the time each is delivered (just
# before `doveadm save`) to the moment PrinterLogicServiceEmail logs it
# held (its log line's timestamp), and, as the floor in the same run, to
# the moment a bare IMAP client in IDLE (idleclient.py) sees its EXISTS.
#   bench-email.sh BUILD WORKDIR N  ->  "p50 p99 floor_p50 floor_p99" (ms)
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PLSC_BUILD=$ROOT/$1
T=$2
N=$3
. "$ROOT/tests/lib/lib.sh"
. "$ROOT/tests/lib/dovecot.sh"
trap t_cleanup EXIT
T_FAILED=0
KEEP=
CONF=$T/plsc.json
EM=PrinterLogicServiceEmail
export EM

dv_start >&2 || { echo "Dovecot did not start" >&2; exit 1; }
printf '%s\n' "$DV_PASS" > "$T/imap-password"
t_config '{}' "$(jq -n --arg p "$BIN/$EM" --arg s "localhost:$DV_PORT" \
	--arg u "$DV_USER" --arg pw "$T/imap-password" --arg ca "$DV_CA" '{($ENV.EM):
	{path: $p, imap_server: $s, imap_user: $u, imap_password_file: $pw,
	 imap_ca_file: $ca, trusted_authserv_id: "mx.corp.example"}}')"
sup_start
plsc users add alice --email alice@corp.example >/dev/null
wait_until 15 bash -c "grep -q 'connected (IDLE' '$T/log/$EM.log'" || { echo "no IDLE" >&2; exit 1; }
python3 "$ROOT/tests/bench/idleclient.py" localhost "$DV_PORT" "$DV_CA" "$DV_USER" "$DV_PASS" \
	"$T/floor.ns" 2>/dev/null &
BG_PIDS+=($!)
wait_until 10 test -e "$T/floor.ns.ready" || { echo "the IDLE client did not start" >&2; exit 1; }
touch "$T/floor.ns"
held() { [ "$(grep -c 'held job ' "$T/log/$EM.log")" -ge "$1" ]; }
floor_seen() { [ "$(wc -l < "$T/floor.ns")" -ge "$1" ]; }
for i in $(seq 1 "$N"); do
	{
		printf 'Authentication-Results: mx.corp.example; dmarc=pass header.from=corp.example\r\n'
		printf 'From: <alice@corp.example>\r\nTo: <print@corp.example>\r\nSubject: bench %d\r\n' "$i"
		printf 'Message-ID: <bench.%d.%s@test>\r\n\r\nA short message, %d.\r\n' "$i" "$RANDOM" "$i"
	} > "$T/m"
	date +%s%N >> "$T/sent.ns"
	dv_save "$T/m"
	wait_until 30 held "$i" || { echo "message $i was not held" >&2; exit 1; }
	# a notification the bare client never saw is left out of the floor
	wait_until 5 floor_seen "$i" || echo x >> "$T/floor.ns"
	sleep 0.2
done
grep 'held job ' "$T/log/$EM.log" | cut -d' ' -f1 > "$T/held.ts"
python3 - "$T/sent.ns" "$T/held.ts" "$T/floor.ns" <<'PY'
import sys, datetime
sent = [int(x) / 1e6 for x in open(sys.argv[1])]
held = [datetime.datetime.strptime(x.strip(), "%Y-%m-%dT%H:%M:%S.%fZ")
        .replace(tzinfo=datetime.timezone.utc).timestamp() * 1000 for x in open(sys.argv[2])]
floor = [int(x) / 1e6 if x.strip() != "x" else None for x in open(sys.argv[3])]
def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]
lat = [h - s for s, h in zip(sent, held)]
fl = [f - s for s, f in zip(sent, floor) if f is not None]
if len(lat) < len(sent) or len(fl) < len(sent) // 2:
    sys.exit("missing samples: %d held, %d floor, %d sent" % (len(lat), len(fl), len(sent)))
print("%.1f %.1f %.1f %.1f" % (pct(lat, 50), pct(lat, 99), pct(fl, 50), pct(fl, 99)))
PY
