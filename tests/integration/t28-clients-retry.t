#!/usr/bin/env bash
# Clients that behave like CUPS backends (#11 item 4): a server that is
# down, busy, short of space or cuts the connection is "try again later"
# (plsc-submit 3, the backend CUPS_BACKEND_RETRY 6), never a SIGPIPE (141)
# nor a stopped queue; only a token, a certificate or the queue's own
# settings stop the queue (CUPS_BACKEND_STOP 4). Refusals the server can
# foresee answer SUBMIT_BEGIN, before any data, and name no server path.
. "$(dirname "$0")/../lib/lib.sh"
t_setup
plan 46

rec_start P1
op_config
sup_start
wait_until 15 state_is "$OP" running
ok $? "the held-jobs service runs"
plsc printers add P1 "socket://127.0.0.1:$REC_PORT_P1" >/dev/null
token_for ws1
head -c 300000 /dev/urandom > "$T/doc"
cert="$T/lib/$OP/tls-cert.pem"
fp=$(openssl x509 -in "$cert" -noout -fingerprint -sha256 | cut -d= -f2)
evil() { ASAN_OPTIONS=detect_leaks=0 "$BIN/plsc-evilclient" "$@"; }

# backend URI_QUERY JOB FILE [PORT]: the CUPS backend as cupsd runs it,
# stdout and stderr together; its exit status in $?.
backend() {
	DEVICE_URI="plsc://127.0.0.1:${4:-$OP_PORT}/?$1" PLSC_TOKEN_FILE="${TOKEN_FILE:-$T/token-ws1}" \
		PLSC_SALT_FILE="$T/backend-salt" "$BIN/plsc-backend" "$2" alice "report" 1 "" "$3" 2>&1
}
# reload_op JQ_EXPR: change the service's settings and wait until it has them.
n_updates=0
reload_op() {
	jq ".services[\"$OP\"] |= ($1)" "$CONF" > "$CONF.new" && mv "$CONF.new" "$CONF"
	plsc reload >/dev/null
	n_updates=$((n_updates + 1))
	wait_eval 10 'test "$(grep -c "settings updated" "$T/log/$OP.log")" -ge "$n_updates"'
}

# ---- nobody listening: retry ----
down=$(free_port)
out=$("$BIN/plsc-submit" --server "127.0.0.1:$down" --token-file "$T/token-ws1" --user alice \
	--insecure "$T/doc" 2>&1); rc=$?
is "$rc" 3 "plsc-submit, connection refused: 3 (try again later)"
like "$out" "Connection refused" "and says so"
out=$(backend insecure=1 101 "$T/doc" "$down"); rc=$?
is "$rc" 6 "backend, connection refused: CUPS_BACKEND_RETRY (6), the queue keeps going"
like "$out" $'STATE: \\+connecting-to-device\n' "it reports connecting-to-device while it tries"
like "$out" $'STATE: \\+offline-report\n' "then offline-report"
like "$out" "WARNING: 127.0.0.1:$down: Connection refused; CUPS will retry the job later" \
	"with a WARNING: line that says what happens next"

# ---- busy: max_clients reached, the server closes before the handshake ----
# The one slot is held by an authenticated upload that has stalled: an
# idle connection that never authenticated would give its place to the
# newcomer (pl_slots), so it would not make the server busy.
reload_op '.max_clients = 1 | .client_timeout_s = 20 | .auth_reserve_pct = 0'
ok $? "max_clients 1 applied"
evil stall 127.0.0.1 "$OP_PORT" "$(cat "$T/token-ws1")" >/dev/null 2>&1 &
stall_pid=$!
BG_PIDS+=($stall_pid)
sleep 0.5
out=$(backend insecure=1 102 "$T/doc"); rc=$?
is "$rc" 6 "backend, server busy (closed before the TLS handshake): RETRY (6), not SIGPIPE (141) nor STOP"
like "$out" "WARNING: 127.0.0.1:$OP_PORT ended the connection during the TLS handshake .*busy or restarting\?; CUPS will retry" \
	"with a clear message"
out=$(submit ws1 alice "$T/doc" 2>&1); rc=$?
is "$rc" 3 "plsc-submit, server busy: 3"
kill "$stall_pid" 2>/dev/null
reload_op '.max_clients = 256 | .client_timeout_s = 2'
like "$(submit ws1 alice "$T/doc")" "^[0-9a-f]{32}$" "with the slot free again, the job is held"

# ---- the server cuts the connection mid-upload (a fake server) ----
mkdir -p "$T/fake-refuse" "$T/fake-reset" "$T/fake-lose"
for m in refuse reset lose; do
	mode=$m-midway
	[ $m = lose ] && mode=lose-answer
	"$BIN/plsc-fakeop" -d "$T/fake-$m" -m "$mode" -n 1000000 </dev/null >/dev/null 2>&1 &
	BG_PIDS+=($!)
done
for m in refuse reset lose; do wait_until 10 test -s "$T/fake-$m/port"; done
head -c 20000000 /dev/urandom > "$T/big"
fsub() { "$BIN/plsc-submit" --server "127.0.0.1:$(cat "$T/fake-$1/port")" --token-file "$T/token-ws1" \
	--user alice --insecure --timeout 10 "$T/big" 2>&1; }
out=$(fsub refuse); rc=$?
is "$rc" 3 "plsc-submit, refused mid-upload (the server closed while we wrote): 3, no SIGPIPE"
like "$out" "refused by the server: the server ran out of disk space for held jobs; try again later" \
	"the reason the server gave before closing reaches the user"
out=$(backend insecure=1 103 "$T/big" "$(cat "$T/fake-refuse/port")"); rc=$?
is "$rc" 6 "backend, refused mid-upload: RETRY (6)"
like "$out" "WARNING: refused by the server: the server ran out of disk space" "with the server's reason"
out=$(fsub reset); rc=$?
is "$rc" 3 "plsc-submit, connection reset mid-upload: 3"
like "$out" "lost while sending" "and says the connection was lost while sending"
out=$(backend insecure=1 104 "$T/big" "$(cat "$T/fake-reset/port")"); rc=$?
is "$rc" 6 "backend, connection reset mid-upload: RETRY (6)"
out=$(fsub lose); rc=$?
is "$rc" 3 "plsc-submit, answer lost after the whole job was sent: 3"
like "$out" "may be held or not; to try again without holding it twice: --idempotency-key [0-9a-f]{32}" \
	"and names the key that makes a retry safe"
out=$(backend insecure=1 105 "$T/big" "$(cat "$T/fake-lose/port")"); rc=$?
is "$rc" 6 "backend, answer lost: RETRY (6)"
like "$out" "INFO: the job may be held already; the retry will not hold it twice" "and says the retry is safe"

# A real server killed during an upload: a reset, not a SIGPIPE.
head -c 100000000 /dev/urandom > "$T/huge"
( submit ws1 alice "$T/huge" > "$T/killed.out" 2>&1; echo $? > "$T/killed.rc" ) &
upid=$!
wait_until 10 uploading
kill -9 "$(svc_pid "$OP")"
wait "$upid"
is "$(cat "$T/killed.rc")" 3 "plsc-submit, the service killed mid-upload: 3"
wait_until 15 state_is "$OP" running

# ---- what only an administrator can fix: the queue stops ----
echo plsc_00000000_AAAA > "$T/token-bad"; chmod 600 "$T/token-bad"
out=$(TOKEN_FILE="$T/token-bad" backend insecure=1 106 "$T/doc"); rc=$?
is "$rc" 4 "backend, token refused: CUPS_BACKEND_STOP (4)"
like "$out" "ERROR: refused by the server: missing, wrong or revoked workstation token" "the server's reason"
like "$out" "ERROR: the queue is stopped until an administrator fixes this \(the workstation's token\)" \
	"and what to fix"
out=$(submit bad alice "$T/doc" 2>&1); rc=$?
is "$rc" 1 "plsc-submit, token refused: 1 (retrying will not help)"
if [ "${fp%%:*}" = 00 ]; then wrong="01:${fp#*:}"; else wrong="00:${fp#*:}"; fi
out=$(backend "fingerprint=$wrong" 107 "$T/doc"); rc=$?
is "$rc" 4 "backend, wrong certificate fingerprint: STOP (4)"
like "$out" $'STATE: \\+cups-pki-changed\n' "printer-state-reasons cups-pki-changed"
like "$out" "ERROR: server certificate fingerprint .* does not match" "and the ERROR: line says why"
out=$(PLSC_CA_FILE="$T/fake-refuse/tls-cert.pem" backend "" 108 "$T/doc"); rc=$?
is "$rc" 4 "backend, a certificate the CA file does not vouch for: STOP (4)"
like "$out" $'STATE: \\+cups-pki-invalid\n' "printer-state-reasons cups-pki-invalid"
out=$(backend "fingerprint=$fp" 109 "$T/doc"); rc=$?
is "$rc" 0 "with the right fingerprint the job is held"
like "$out" "STATE: -cups-pki-invalid,cups-pki-changed,offline-report" "and the reasons are cleared"

# ---- refusals foreseen at SUBMIT_BEGIN, before any data ----
reload_op '.max_job_mb = 1'
out=$(evil announce 127.0.0.1 "$OP_PORT" "$(cat "$T/token-ws1")" 2097152)
is "$out" "result 3 job of 2097152 bytes is over the limit of 1048576 bytes" \
	"a job over max_job_mb is refused in answer to SUBMIT_BEGIN"
head -c 2097152 /dev/urandom > "$T/two-mib"
out=$(backend insecure=1 110 "$T/two-mib"); rc=$?
is "$rc" 5 "backend, a job over the size limit: CUPS_BACKEND_CANCEL (5): it can never be held"
like "$out" "ERROR: refused by the server: job of 2097152 bytes is over the limit" "with the reason"
ok "$(grep -c 'connection lost during the upload' "$T/log/$OP.log")" "no upload was started for it"
reload_op '.max_job_mb = 2048'

# Free space below the announced size (a small file system: root only).
if [ "$(id -u)" -ne 0 ] || ! mount -t tmpfs -o size=8m plsc-test "$T/lib/$OP/jobs" 2>/dev/null; then
	for i in $(seq 1 7); do ok 0 "# SKIP no tmpfs (not root)"; done
	t_done
	exit
fi
trap 'sup_kill; umount -l "$T/lib/$OP/jobs" 2>/dev/null; t_cleanup' EXIT
head -c 16000000 /dev/urandom > "$T/sixteen"
out=$(evil announce 127.0.0.1 "$OP_PORT" "$(cat "$T/token-ws1")" 16000000)
like "$out" "^result 5 not enough free disk space for this job: 15\.[0-9] MiB needed, [0-9.]+ MiB free; try again later$" \
	"a job larger than the free space: BUSY in answer to SUBMIT_BEGIN"
out=$(submit ws1 alice "$T/sixteen" 2>&1); rc=$?
is "$rc" 3 "plsc-submit: 3 (try again later)"
out=$(backend insecure=1 111 "$T/sixteen"); rc=$?
is "$rc" 6 "backend: RETRY (6)"
like "$out" "WARNING: refused by the server: not enough free disk space" "with the reason"
# Two 6 MB jobs at once: each fits alone; the second meets a full disk
# (mid-upload, or at SUBMIT_BEGIN if the first got ahead).
head -c 6000000 /dev/urandom > "$T/six"
submit ws1 alice "$T/six" > "$T/six-1.out" 2>&1 &
p1=$!
submit ws1 bob "$T/six" > "$T/six-2.out" 2>&1 &
p2=$!
wait $p1; r1=$?
wait $p2; r2=$?
is "$(echo $r1 $r2 | tr ' ' '\n' | sort | tr '\n' ' ')" "0 3 " "one is held, the other told to try again later (3)"
like "$(cat "$T/six-1.out" "$T/six-2.out")" "disk space" "the reason says the server is out of disk space"
[[ "$(cat "$T/six-1.out" "$T/six-2.out")" != *"$T"* ]]
ok $? "and names no path on the server"
t_done
