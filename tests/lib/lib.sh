# Shared helpers for the integration tests (bash, TAP output).
# Each test sources this, calls t_setup, writes a config with t_config,
# starts the real supervisor with sup_start and drives it with plsc.
set -u

BUILD_DIR=${PLSC_BUILD:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build}
BIN=$BUILD_DIR/bin
TESTSVC=$BIN/plsc-testsvc
# In /usr/sbin, which a normal user's PATH may lack.
SNMPD=$(command -v snmpd 2>/dev/null || echo /usr/sbin/snmpd)
T_N=0
T_FAILED=0
SUP_PID=

plan() { echo "1..$1"; }

ok() { # ok STATUS DESCRIPTION  (STATUS 0 = pass)
	T_N=$((T_N + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $T_N - $2"
	else
		echo "not ok $T_N - $2"
		T_FAILED=$((T_FAILED + 1))
	fi
}

is() { # is GOT EXPECTED DESCRIPTION
	if [ "$1" = "$2" ]; then
		ok 0 "$3"
	else
		ok 1 "$3"
		echo "#   got:      '$1'"
		echo "#   expected: '$2'"
	fi
}

like() { # like GOT REGEX DESCRIPTION
	if [[ $1 =~ $2 ]]; then
		ok 0 "$3"
	else
		ok 1 "$3"
		echo "#   got:         '$1'"
		echo "#   should match '$2'"
	fi
}

diag() { echo "# $*"; }

t_setup() {
	T=$(mktemp -d /tmp/plsc-it.XXXXXX)
	CONF=$T/plsc.json
	trap t_cleanup EXIT
}

BG_PIDS=()

t_cleanup() {
	sup_kill
	for p in "${BG_PIDS[@]+"${BG_PIDS[@]}"}"; do
		kill "$p" 2>/dev/null
	done
	# snmpd writes its persistent state as it exits: let the peers finish
	# (a few seconds at most) before rm -rf races them
	for p in "${BG_PIDS[@]+"${BG_PIDS[@]}"}"; do
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
	done
	# Children follow their supervisor (PDEATHSIG), but be thorough.
	for f in "$T"/lib/*/pid; do
		[ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null
	done
	if [ "$T_FAILED" -gt 0 ] || [ -n "${KEEP:-}" ]; then
		diag "kept $T for inspection"
		for f in "$T"/log/*.log; do
			[ -f "$f" ] || continue
			diag "--- tail of $f"
			tail -15 "$f" | sed 's/^/#   /'
		done
	else
		rm -rf "$T"
	fi
}

# t_config SUPERVISOR_EXTRA_JSON SERVICES_JSON
# Writes $CONF with fast test timings; the first argument is merged into
# the "supervisor" object (jq), the second is the "services" object.
t_config() {
	local extra=${1:-'{}'} services=$2
	jq -n --arg t "$T" --argjson extra "$extra" --argjson svcs "$services" '{
		paths: {state_dir: ($t + "/lib"), log_dir: ($t + "/log"), run_dir: ($t + "/run")},
		supervisor: ({privsep: false, heartbeat_interval_ms: 100, heartbeat_timeout_ms: 600,
			start_timeout_ms: 5000, stop_grace_ms: 1500, restart_first_ms: 0,
			restart_base_ms: 100, restart_max_ms: 2000, stable_after_ms: 3000,
			throttle_ms: 300, max_deaths: 5, death_window_ms: 30000} + $extra),
		services: $svcs}' > "$CONF"
}

# A testsvc entry: svc NAME [EXTRA_JSON]
svc() {
	jq -n --arg p "$TESTSVC" --argjson extra "${2:-{\}}" '{path: $p} + $extra'
}

plsc() { "$BIN/plsc" -c "$CONF" "$@"; }

sup_start() {
	"$BIN/plsc-supervisor" -c "$CONF" -q >>"$T/supervisor.stderr" 2>&1 &
	SUP_PID=$!
	wait_until 10 test -S "$T/run/plsc.sock"
}

sup_kill() {
	if [ -n "$SUP_PID" ] && kill -0 "$SUP_PID" 2>/dev/null; then
		kill -TERM "$SUP_PID" 2>/dev/null
		for _ in $(seq 1 100); do
			kill -0 "$SUP_PID" 2>/dev/null || break
			sleep 0.05
		done
		kill -9 "$SUP_PID" 2>/dev/null
		wait "$SUP_PID" 2>/dev/null
	fi
	SUP_PID=
}

# wait_until SECONDS CMD...: poll CMD every 50 ms; 0 when it succeeded.
wait_until() {
	local limit=$1
	shift
	local end=$((SECONDS + limit))
	while [ $SECONDS -le $end ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	return 1
}

# wait_eval SECONDS 'SHELL TEST': like wait_until, but the test is a string
# evaluated afresh each time, so that command substitutions in it ("$(f)")
# run each time too. (wait_until 10 test "$(f)" -eq 0 would run f once, at
# the call, and then wait on that one stale answer.)
wait_eval() {
	local _we_end=$((SECONDS + $1))
	while [ $SECONDS -le $_we_end ]; do
		eval "$2" >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	return 1
}

# tls_ca DIR [NAME]: a test CA, DIR/NAME.pem and DIR/NAME.key (NAME: ca).
tls_ca() {
	mkdir -p "$1"
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=test ${2:-ca}" \
		-keyout "$1/${2:-ca}.key" -out "$1/${2:-ca}.pem" 2>/dev/null
}

# tls_leaf DIR NAME: a certificate for 127.0.0.1 signed by DIR/ca.pem:
# DIR/NAME.key (0600), DIR/NAME.pem, and DIR/NAME-chain.pem (the leaf, then
# the CA: the full chain, as an admin has it).
tls_leaf() {
	openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$1/$2.key" \
		-out "$1/$2.csr" 2>/dev/null
	printf 'subjectAltName=IP:127.0.0.1\n' > "$1/$2.ext"
	openssl x509 -req -in "$1/$2.csr" -CA "$1/ca.pem" -CAkey "$1/ca.key" -CAcreateserial \
		-days 2 -extfile "$1/$2.ext" -out "$1/$2.pem" 2>/dev/null
	cat "$1/$2.pem" "$1/ca.pem" > "$1/$2-chain.pem"
	chmod 600 "$1/$2.key"
}

# offnet_pair SUPERVISOR_EXTRA ROUTER_EXTRA GATEWAY_EXTRA: both off-network
# roles on this machine (#17): our CA and the gateway's certificate for
# 127.0.0.1 in $C, a site token in $T/site-token, free ports GW_PORT
# (routers, HTTPS + WSS) and IN_PORT (workstations), and $CONF with the
# router $ON and the gateway $GWN (the same binary under its own name),
# each with fast test timings and then its extra keys (JSON objects; the
# first is t_config's). After t_setup.
offnet_pair() {
	ON=PrinterLogicServiceOffNetworkServer
	GWN=OffNetworkGateway
	C=$T/certs
	tls_ca "$C"
	tls_leaf "$C" gw
	(umask 077; echo "site-token-$RANDOM$RANDOM$RANDOM$RANDOM" > "$T/site-token")
	GW_PORT=$(free_port)
	IN_PORT=$(free_port)
	t_config "$1" "$(jq -n --arg p "$BIN/$ON" --arg u "wss://127.0.0.1:$GW_PORT/offnet" \
		--arg t "$T/site-token" --arg ca "$C/ca.pem" --arg r "$ON" --arg g "$GWN" \
		--arg lm "127.0.0.1:$GW_PORT" --arg li "127.0.0.1:$IN_PORT" \
		--arg cert "$C/gw-chain.pem" --arg key "$C/gw.key" \
		--argjson rx "$2" --argjson gx "$3" '{
		($r): ({path: $p, role: "router", gateway_url: $u, token_file: $t, ca_file: $ca,
			ping_s: 1, dead_s: 3, backoff_min_ms: 50, backoff_max_ms: 400,
			print_timeout_s: 10} + $rx),
		($g): ({path: $p, role: "gateway", listen: {main: $lm, intake: $li},
			tls_cert: $cert, tls_key: $key, site_token_file: $t, ping_s: 1,
			dead_s: 3} + $gx)}')"
}

# wspeer_ready: the Node WebSocket peer's packages (tests/wspeer, npm ci
# once); says not ok and exits when npm fails. After t_setup and plan.
wspeer_ready() {
	[ -d "$TOP/tests/wspeer/node_modules/ws" ] && return 0
	(cd "$TOP/tests/wspeer" && npm ci --no-audit --no-fund) >"$T/npm-ci.log" 2>&1 && return 0
	ok 1 "npm ci in tests/wspeer"
	exit 1
}

# field NAME KEY: one field of one service from `plsc status --json`.
field() {
	plsc status --json 2>/dev/null |
		jq -r --arg n "$1" --arg k "$2" '.services[] | select(.name == $n) | .[$k]'
}

state_is() { [ "$(field "$1" state)" = "$2" ]; }

# running_with_new_pid NAME OLDPID
running_with_new_pid() {
	state_is "$1" running && [ "$(field "$1" pid)" != "$2" ] &&
		[ "$(field "$1" pid)" != null ]
}

svc_pid() { field "$1" pid; }

# free_port: a TCP port on 127.0.0.1 that nothing listens on now, below
# the kernel's ephemeral range (32768 up): a port there may be the local
# end of some connection, which a connect test does not see but a bind
# does ("Address already in use").
free_port() {
	local p
	for _ in $(seq 1 50); do
		p=$((20000 + RANDOM % 12000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

# free_udp_port: a UDP port on 127.0.0.1 that nothing is bound to now
# (free_port's connect test says nothing about UDP). The kernel picks it;
# callers retry when another process takes it before they bind it.
free_udp_port() {
	python3 -c 'import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# snmpd_start NAME SYSDESCR SYSNAME: a real snmpd (Debian's snmpd package)
# on a free UDP port of 127.0.0.1, answering SNMPv2c community "public"
# from 127.0.0.1 only, with those sysDescr.0 and sysName.0. Everything it
# reads or writes is in $T/snmpd-NAME: its config (-C: no system config
# files), pid file, persistent state (SNMP_PERSISTENT_DIR) and an empty MIB
# dir (no MIB modules loaded); no AgentX master, no trap sink. It never
# uses port 161, so a system snmpd (Debian's package enables one) does not
# matter. SNMPD_EXTRA: more lines for its config. Sets SNMPD_PORT; the pid
# joins BG_PIDS.
snmpd_start() {
	local d="$T/snmpd-$1" pid
	mkdir -p "$d/persist" "$d/mibs"
	printf 'rocommunity public 127.0.0.1\nsysdescr %s\nsysname %s\n' "$2" "$3" > "$d/snmpd.conf"
	# more configuration lines (override, createUser, rouser) from the caller
	[ -n "${SNMPD_EXTRA:-}" ] && printf '%s\n' "$SNMPD_EXTRA" >> "$d/snmpd.conf"
	SNMPD_PORT=
	for _ in 1 2 3; do
		local port
		port=$(free_udp_port) || return 1
		SNMP_PERSISTENT_DIR="$d/persist" MIBS= \
			"$SNMPD" -f -Lo -C -c "$d/snmpd.conf" -M "$d/mibs" -p "$d/snmpd.pid" \
			"udp:127.0.0.1:$port" >"$d/snmpd.log" 2>&1 </dev/null &
		pid=$!
		BG_PIDS+=($pid)
		# It logs its version once its port is open; it exits when the
		# port was taken meanwhile.
		if wait_until 10 grep -q '^NET-SNMP version' "$d/snmpd.log" &&
			kill -0 "$pid" 2>/dev/null; then
			SNMPD_PORT=$port
			return 0
		fi
		kill "$pid" 2>/dev/null
	done
	return 1
}

log_of() { cat "$T/log/$1.log" 2>/dev/null; }

# like_log SERVICE REGEX DESCRIPTION: like on a service's log, after
# waiting up to 5 s for REGEX to match: a service's lines reach its log
# through the supervisor, a moment after the state the test looked at.
like_log() {
	local end=$((SECONDS + 5))
	while [ $SECONDS -le $end ]; do
		[[ $(log_of "$1") =~ $2 ]] && break
		sleep 0.05
	done
	like "$(log_of "$1")" "$2" "$3"
}

# t_privsep: as root, before sup_start with {"privsep": true} in the
# supervisor's config: each service runs as its own system user, made here
# as `make install` makes them. $T becomes enterable by those users (the
# binaries need not be: the supervisor executes them through a descriptor
# it opened as root, so a checkout under /root works).
t_privsep() {
	chmod 755 "$T"
	"$BIN/plsc-supervisor" -c "$CONF" --create-users >"$T/create-users.out" 2>&1
}
suplog() { cat "$T/log/plsc-supervisor.log" 2>/dev/null; }

t_done() {
	[ "$T_FAILED" -eq 0 ]
}

# ---- held jobs (PrinterLogicServiceOfflinePrint) ----
OP=PrinterLogicServiceOfflinePrint

# rec_start NAME [MODE [BYTES]]: a recording raw printer in $T/rec-NAME.
rec_start() {
	local d="$T/rec-$1"
	mkdir -p "$d"
	"$BIN/plsc-recprinter" -d "$d" -m "${2:-normal}" -n "${3:-0}" </dev/null >/dev/null 2>&1 &
	eval "REC_PID_$1=$!"
	BG_PIDS+=($!)
	wait_until 5 test -s "$d/port"
	eval "REC_PORT_$1=$(cat "$d/port")"
}

# rec_copies FILE [NAME]: how many jobs recording printer NAME (P1) got
# that are FILE byte for byte.
rec_copies() {
	local want n=0 f
	want=$(sha256sum < "$1")
	for f in "$T/rec-${2:-P1}"/job-*.bin; do
		[ -f "$f" ] && [ "$(sha256sum < "$f")" = "$want" ] && n=$((n + 1))
	done
	echo "$n"
}

rec_stop() {
	local v="REC_PID_$1"
	[ -n "${!v:-}" ] && kill "${!v}" 2>/dev/null && wait "${!v}" 2>/dev/null
	eval "REC_PID_$1="
}

# op_config [OP_EXTRA_JSON [SUPERVISOR_EXTRA_JSON]]: config with the
# held-jobs service on a free port.
op_config() {
	OP_PORT=$(free_port)
	local extra=${1:-'{}'}
	t_config "${2:-{\}}" "$(jq -n --arg p "$BIN/$OP" --arg l "127.0.0.1:$OP_PORT" \
		--argjson extra "$extra" '{"PrinterLogicServiceOfflinePrint":
		({path: $p, listen: {main: $l}, client_timeout_s: 2,
		  print_timeout_s: 5, print_connect_timeout_s: 2} + $extra)}')"
}

# A second holder: the OfflinePrint binary run as PrinterLogicServiceEmail
# (a holder by its name; its section holds only keys both services take,
# as the supervisor checks it against the Email service's schema), added
# to the running suite by a reload. While
# two holders run, a most-recent release asks every holder for its newest
# job (PROTOCOL.md §8); with one, it goes straight to it. holder2_add
# [EXTRA_JSON]; then submit2 as submit, to it.
OP2=PrinterLogicServiceEmail
holder2_add() {
	OP2_PORT=$(free_port)
	jq --arg p "$BIN/$OP" --arg l "127.0.0.1:$OP2_PORT" --argjson extra "${1:-{\}}" \
		'.services["PrinterLogicServiceEmail"] = ({path: $p, listen: {main: $l},
		 print_timeout_s: 5, print_connect_timeout_s: 2} + $extra)' \
		"$CONF" > "$CONF.new" && mv "$CONF.new" "$CONF"
	plsc reload >/dev/null && wait_until 15 state_is "$OP2" running
}
submit2() {
	local ws=$1 user=$2 file=$3
	shift 3
	"$BIN/plsc-submit" --server "127.0.0.1:$OP2_PORT" --token-file "$T/token-$ws" \
		--user "$user" --insecure --timeout 20 "$@" "$file"
}
# How the supervisor sent its most-recent releases [for USER] so far (its
# log at debug: {"log_level": "debug"} in its section; rotated files
# too): straight to the one holder, or asking every holder.
releases_straight() {
	cat "$T"/log/plsc-supervisor.log* 2>/dev/null |
		grep -c "release for ${1:-[^ ]*} at .*: straight to .*, the one holder$"
}
releases_asking() {
	cat "$T"/log/plsc-supervisor.log* 2>/dev/null |
		grep -c "release for ${1:-[^ ]*} at .*: asking every holder for its newest job$"
}

# token_for WORKSTATION: create a token into $T/token-WORKSTATION (0600).
token_for() {
	(umask 077; plsc token create "$1" > "$T/token-$1" 2>/dev/null)
}

# submit WORKSTATION USER FILE [plsc-submit options...]: prints the job id.
submit() {
	local ws=$1 user=$2 file=$3
	shift 3
	"$BIN/plsc-submit" --server "127.0.0.1:$OP_PORT" --token-file "$T/token-$ws" \
		--user "$user" --insecure --timeout 20 "$@" "$file"
}

# jobs_on_disk: held job files of the service (sealed: 0600).
jobs_on_disk() { find "$T/lib/$OP/jobs" -maxdepth 1 -name '*.job' -perm -0400 2>/dev/null | grep -c .; }
# uploads_on_disk: job files still being written (unreadable to their
# owner until sealed), and temp files of earlier versions.
uploads_on_disk() {
	find "$T/lib/$OP/jobs" -maxdepth 1 \( -name '.tmp*' -o \( -name '*.job' ! -perm -0400 \) \) \
		2>/dev/null | grep -c .
}
uploading() { [ "$(uploads_on_disk)" -gt 0 ]; }

# ipp_start: a real IPP printer (ippeveprinter from cups-ipp-utils) on a
# free port, spooling into $T/ipp. CUPS 2.4's ippeveprinter will not start
# without a D-Bus system bus for its Avahi client even with DNS-SD off, so
# it gets a private dbus-daemon on a socket in $T with nothing behind it:
# nothing is advertised, nothing leaves loopback. Sets IPP_PORT. Arguments
# are more ippeveprinter options (-2: duplex; -s 10,0: monochrome only).
ipp_start() {
	mkdir -p "$T/ipp" "$T/ipp-keys"
	cat > "$T/dbus.conf" <<XML
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>session</type><listen>unix:path=$T/bus</listen>
<auth>EXTERNAL</auth><policy context="default"><allow user="*"/><allow own="*"/>
<allow send_destination="*"/><allow receive_sender="*"/></policy></busconfig>
XML
	dbus-daemon --config-file="$T/dbus.conf" --nofork --nopidfile >"$T/dbus.log" 2>&1 &
	BG_PIDS+=($!)
	wait_until 5 test -S "$T/bus" || return 1
	for _ in 1 2 3; do
		IPP_PORT=$(free_port)
		DBUS_SYSTEM_BUS_ADDRESS="unix:path=$T/bus" ippeveprinter -p "$IPP_PORT" \
			-n localhost -d "$T/ipp" -K "$T/ipp-keys" -c /bin/true -k -r off \
			-f application/pdf,application/octet-stream "$@" TestIPP >"$T/ipp.log" 2>&1 &
		IPP_PID=$!
		BG_PIDS+=($IPP_PID)
		wait_until 10 ipptool -q "ipp://localhost:$IPP_PORT/ipp/print" \
			get-printer-attributes.test && return 0
		kill "$IPP_PID" 2>/dev/null
	done
	return 1
}

# ---- the web console (plsc-console) ----
CS=plsc-console
# The directory's one writer: the console's changes go through it.
DS=plsc-directory
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# console_config [CONSOLE_EXTRA_JSON [SERVICES_EXTRA_JSON]]: the held-jobs
# service, a test service "Toggle", the console, each on a free port, and
# plsc-directory, which makes the console's changes to the directory;
# SERVICES_EXTRA_JSON adds sections of more services. Sets OP_PORT,
# CS_PORT and CS_URL.
console_config() {
	OP_PORT=$(free_port)
	CS_PORT=$(free_port)
	CS_URL="https://127.0.0.1:$CS_PORT"
	t_config '{}' "$(jq -n --arg op "$BIN/$OP" --arg opl "127.0.0.1:$OP_PORT" \
		--arg cs "$BIN/$CS" --arg csl "127.0.0.1:$CS_PORT" --arg www "$TOP/console/www" \
		--arg ds "$BIN/$DS" --arg ts "$TESTSVC" --argjson extra "${1:-{\}}" \
		--argjson more "${2:-{\}}" '{
		"PrinterLogicServiceOfflinePrint": {path: $op, listen: {main: $opl},
			client_timeout_s: 2, print_timeout_s: 5, print_connect_timeout_s: 2},
		"Toggle": {path: $ts},
		"plsc-console": ({path: $cs, listen: {main: $csl}, assets_dir: $www} + $extra),
		"plsc-directory": {path: $ds}} + $more')"
}

# admin_add NAME PASSWORD
admin_add() { printf '%s\n' "$2" | plsc admin add "$1" >/dev/null; }

# api METHOD PATH [BODY [CONTENT_TYPE]]: one request to the console with
# the cookie jar $T/jar and, when set, the CSRF token $CSRF. Sets
# API_STATUS, API_BODY and API_HEADERS.
api() {
	local method=$1 path=$2 body=${3-} ctype=${4:-application/json}
	local args=(-sk --path-as-is -o "$T/api.out" -D "$T/api.hdr" -w '%{http_code}'
		-b "$T/jar" -c "$T/jar" -X "$method" --max-time 30)
	[ -n "${CSRF:-}" ] && args+=(-H "X-CSRF-Token: $CSRF")
	if [ -n "$body" ]; then
		args+=(-H "Content-Type: $ctype" --data-binary "$body")
	fi
	API_STATUS=$(curl "${args[@]}" "$CS_URL$path")
	API_BODY=$(cat "$T/api.out" 2>/dev/null)
	API_HEADERS=$(cat "$T/api.hdr" 2>/dev/null)
}

# console_login NAME PASSWORD: log in, set CSRF.
console_login() {
	CSRF=
	api POST /api/v1/login "$(jq -n --arg u "$1" --arg p "$2" '{username: $u, password: $p}')"
	CSRF=$(printf '%s' "$API_BODY" | jq -r '.csrf_token // empty')
}

# snmpsim_start DATADIR N: snmpsimd (Debian's snmpsim) in --v2c-arch mode on
# N free UDP ports of 127.0.0.1, endpoint i serving
# DATADIR/public/1.3.6.1.6.1.1.i.snmprec to community "public"
# (tests/lib/snmpsim-data.py writes those). As root it runs as nobody
# (snmpsimd refuses root), so DATADIR and its cache dir are made readable.
# Sets SIMPORTS (the ports, in endpoint order); the pid joins BG_PIDS.
# At most 250 endpoints a process (snmpsimd's loop uses select()).
snmpsim_start() {
	local data=$1 n=$2 args=() i port pid cache
	cache=$(mktemp -d "$T/simcache.XXXXXX")
	SIMPORTS=()
	for ((i = 0; i < n; i++)); do
		port=$(free_udp_port) || return 1
		SIMPORTS+=("$port")
		args+=("--agent-udpv4-endpoint=127.0.0.1:$port")
	done
	[ "$(id -u)" -eq 0 ] && args+=(--process-user=nobody --process-group=nogroup)
	chmod -R a+rX "$data"
	chmod 777 "$cache"
	chmod a+x "$T"
	snmpsimd --v2c-arch --data-dir="$data" --cache-dir="$cache" --logging-method=null \
		"${args[@]}" >"$cache/out.log" 2>&1 </dev/null &
	pid=$!
	BG_PIDS+=($pid)
	# ready once the last endpoint answers
	wait_until 60 snmpget -v2c -c public -t 1 -r 0 "127.0.0.1:${SIMPORTS[$((n - 1))]}" \
		1.3.6.1.2.1.1.3.0
}
