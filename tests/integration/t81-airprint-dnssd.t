#!/usr/bin/env bash
# AirPrint discovery: PrinterLogicServiceAirprint advertises itself through
# a real avahi-daemon, checked with avahi-browse. Everything runs in a
# network namespace of its own (unshare -n, with a mount namespace so
# avahi-daemon's fixed /run/avahi-daemon is a private tmpfs), where only
# lo exists: no multicast leaves the machine. avahi-daemon takes lo when
# allow-interfaces names it (IPv4; IPv6 multicast has no route on lo);
# its D-Bus is a private bus the test starts, which DBUS_SYSTEM_BUS_ADDRESS
# names for the daemon, avahi-browse and the service alike.
#   - the name, port, subtypes and every TXT key, against the zone fragment
#     (--dns-sd-zone prints the same keys: one source of truth);
#   - a name held by another publisher, through the same daemon and from a
#     second avahi-daemon (another host on the link): ours is renamed
#     ("NAME #2");
#   - avahi-daemon killed: one warning, IPP still served; started again:
#     advertised again, without a restart of the service;
#   - no avahi-daemon at start and no D-Bus at all: one warning each, IPP
#     served; dns_sd false: not advertised;
#   - avahi-daemon hung (SIGSTOP): heartbeats and IPP go on (Avahi's
#     blocking D-Bus calls run on its own thread);
#   - a printer_name longer than a DNS label: cut to 63 bytes.
. "$(dirname "$0")/../lib/lib.sh"

NEED="avahi-daemon avahi-browse avahi-publish dbus-daemon unshare ip jq ipptool"
if [ -z "${T81_IN_NS:-}" ]; then
	missing=
	for c in $NEED; do
		PATH=$PATH:/usr/sbin:/sbin command -v "$c" >/dev/null 2>&1 || missing+=" $c"
	done
	if [ -n "$missing" ]; then
		if [ "$(id -u)" -ne 0 ]; then
			echo "1..0 # SKIP missing:$missing (scripts/install-deps installs them, as root)"
			exit 0
		fi
		plan 1
		ok 1 "the test's dependencies are installed (missing:$missing; run scripts/install-deps)"
		exit 1
	fi
	# a network and a mount namespace; a user namespace too when not root,
	# or when root lacks CAP_SYS_ADMIN (a container)
	flags=-rnm
	[ "$(id -u)" -ne 0 ] || flags=-nm
	if ! why=$(unshare $flags --propagation private true 2>&1); then
		[ $flags = -nm ] && why2=$(unshare -rnm --propagation private true 2>&1) && flags=-rnm
		if [ $flags = -nm ]; then
			echo "1..0 # SKIP unshare -nm and -rnm are impossible here: $why; $why2"
			exit 0
		elif ! why=$(unshare $flags --propagation private true 2>&1); then
			echo "1..0 # SKIP unshare $flags is impossible here: $why"
			exit 0
		fi
	fi
	exec unshare $flags --propagation private env T81_IN_NS=1 T81_FLAGS=$flags \
		PATH="$PATH:/usr/sbin:/sbin" bash "$0" "$@"
fi

# ---- inside the namespaces ----
ip link set lo up || { echo "1..0 # SKIP cannot bring lo up in the namespace"; exit 0; }
if [ ! -d /run/avahi-daemon ] && ! mkdir -p /run/avahi-daemon 2>/dev/null; then
	echo "1..0 # SKIP no /run/avahi-daemon to mount a private tmpfs on"
	exit 0
fi
mount -t tmpfs -o mode=0755 t81 /run/avahi-daemon ||
	{ echo "1..0 # SKIP cannot mount a tmpfs in the mount namespace"; exit 0; }

t_setup
if [ "$T81_FLAGS" = -rnm ]; then
	# In a user namespace only our own uid and gid are mapped (as 0), and
	# avahi-daemon insists that /run/avahi-daemon belong to its user and
	# group (it chowns it, then checks): make "avahi" uid and gid 0 here,
	# in this mount namespace's view of /etc/passwd and /etc/group.
	sed -e 's/^avahi:x:[0-9]*:[0-9]*:/avahi:x:0:0:/' /etc/passwd > "$T/passwd" &&
		sed -e 's/^avahi:x:[0-9]*:/avahi:x:0:/' /etc/group > "$T/group" &&
		mount --bind "$T/passwd" /etc/passwd && mount --bind "$T/group" /etc/group ||
		{ echo "1..0 # SKIP cannot give avahi-daemon its user in the user namespace"; exit 0; }
fi
plan 48

AP=PrinterLogicServiceAirprint
NAME="T81 Printer"
# as avahi-browse -p prints them (\DDD: a decimal byte)
ENAME='T81\032Printer'
ENAME2='T81\032Printer\032\0352' # "T81 Printer #2"
AHOST=plsc-t81

cat > "$T/bus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$T/bus.sock</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_type="method_call"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
EOF
cat > "$T/avahi.conf" <<EOF
[server]
host-name=$AHOST
use-ipv4=yes
use-ipv6=no
allow-interfaces=lo
ratelimit-interval-usec=1000000
ratelimit-burst=1000
[wide-area]
enable-wide-area=no
[publish]
publish-hinfo=no
publish-workstation=no
EOF

dbus-daemon --config-file="$T/bus.conf" --nofork >"$T/dbus.log" 2>&1 &
BUS_PID=$!
BG_PIDS+=($BUS_PID)
wait_until 10 test -S "$T/bus.sock"
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$T/bus.sock

AVAHI_PID=
avahi_start() {
	avahi-daemon -f "$T/avahi.conf" --no-drop-root --no-rlimits --no-chroot \
		>>"$T/avahi.log" 2>&1 &
	AVAHI_PID=$!
	BG_PIDS+=($AVAHI_PID)
	wait_until 15 avahi-browse -pt _nothing._tcp
}
avahi_stop() {
	kill "$AVAHI_PID" 2>/dev/null
	wait "$AVAHI_PID" 2>/dev/null
	AVAHI_PID=
}
# browse TYPE: resolved records (avahi-browse -p, one line each)
browse() { timeout 20 avahi-browse -rptk "$1" 2>/dev/null | grep '^='; }
# rec_of NAME PORT [TYPE]: the resolved record of NAME (escaped) on lo at
# PORT, compared as strings (awk -v would undo the escapes)
rec_of() {
	browse "${3:-_ipps._tcp}" |
		N=$1 P=$2 awk -F';' '$2 == "lo" && $4 == ENVIRON["N"] && $9 == ENVIRON["P"]'
}
has() { [ -n "$(rec_of "$@")" ]; }
count() { grep -c -- "$2" "$T/log/$1.log" 2>/dev/null; }

AP_PORT=$(free_port)
ap_config() { # ap_config EXTRA_JSON
	t_config '{}' "$(jq -n --arg ap "$BIN/$AP" --arg l "127.0.0.1:$AP_PORT" \
		--arg n "$NAME" --argjson x "${1:-{\}}" '{
		"PrinterLogicServiceAirprint": ({path: $ap, listen: {main: $l},
			printer_name: $n, client_timeout_s: 5} + $x)}')"
}
gpa() {
	timeout 30 ipptool -t -T 10 "ipps://localhost:$AP_PORT/ipp/print" \
		/usr/share/cups/ipptool/get-printer-attributes.test >/dev/null 2>&1
}

# 1. Advertised, with every TXT key.
avahi_start
ok $? "avahi-daemon runs in the namespace on lo"
ap_config
sup_start
wait_until 15 state_is "$AP" running
ok $? "the AirPrint service runs"
wait_until 20 has "$ENAME" "$AP_PORT"
ok $? "avahi-browse -rpt _ipps._tcp finds \"$NAME\" on lo at our port"
rec=$(rec_of "$ENAME" "$AP_PORT" | head -1)
is "$(cut -d';' -f7,8 <<<"$rec")" "$AHOST.local;127.0.0.1" "at avahi's host name and our address"
rtxt=$(cut -d';' -f10- <<<"$rec")
for sub in _universal._sub._ipps._tcp _print._sub._ipps._tcp; do
	wait_until 10 has "$ENAME" "$AP_PORT" $sub
	ok $? "and under the subtype $sub"
done
like_log "$AP" "DNS-SD: advertised as \"$NAME\" \\(_ipps._tcp" "the advertisement is logged"

# The TXT keys, each checked against the zone fragment's (the same
# function makes both; the zone's adminurl names the host we give it).
uuid=$(cat "$T/lib/$AP/printer-uuid")
zone=$("$BIN/$AP" --dns-sd-zone --domain example.org --host "$AHOST.local" --port "$AP_PORT" \
	--name "$NAME" --state-dir "$T/lib/$AP" | grep ' IN TXT ')
txt_of() { # txt_of KEY TXT: the value of KEY in a list of "k=v" strings
	grep -o "\"$1=[^\"]*\"" <<<"$2" | head -1 | sed "s/^\"$1=//; s/\"\$//"
}
declare -A want=([txtvers]=1 [qtotal]=1 [rp]=ipp/print [ty]="$NAME"
	[pdl]="application/pdf,image/jpeg,image/png,image/pwg-raster,image/urf"
	[URF]="$(txt_of URF "$zone")" [TLS]=1.2 [UUID]="${uuid#urn:uuid:}" [Color]=T [Duplex]=T
	[kind]="document,photo" [air]="username,password"
	[adminurl]="https://$AHOST.local:$AP_PORT/")
for k in txtvers qtotal rp ty pdl URF TLS UUID Color Duplex kind air adminurl; do
	got=$(txt_of "$k" "$rtxt")
	if [ -n "$got" ] && [ "$got" = "${want[$k]}" ] && [ "$got" = "$(txt_of "$k" "$zone")" ]; then
		ok 0 "TXT $k=$got, as in the zone fragment"
	else
		ok 1 "TXT $k: got '$got', expected '${want[$k]}' (zone: '$(txt_of "$k" "$zone")')"
	fi
done
like "$(txt_of URF "$rtxt")" "SRGB24.*W8" "URF lists the raster types (sRGB, 8-bit grey)"

# 2. Withdrawn when the service stops; renamed when the name is taken.
plsc disable "$AP" >/dev/null
wait_until 10 state_is "$AP" disabled
wait_until 15 eval '! has "$ENAME" "$AP_PORT"'
ok $? "withdrawn when the service stops"
OTHER_PORT=$(free_port)
avahi-publish -s "$NAME" _ipps._tcp "$OTHER_PORT" "ty=someone else" >"$T/publish.log" 2>&1 &
PUB=$!
BG_PIDS+=($PUB)
wait_until 15 has "$ENAME" "$OTHER_PORT"
ok $? "another publisher takes \"$NAME\""
plsc enable "$AP" >/dev/null
wait_until 15 state_is "$AP" running
wait_until 20 has "$ENAME2" "$AP_PORT"
rc=$?
ok $rc "ours is renamed \"$NAME #2\", on our port"
[ $rc -eq 0 ] || diag "$(browse _ipps._tcp)"
like_log "$AP" "another service on the link is called \"$NAME\"; advertising as \"$NAME #2\"" \
	"the rename is logged"
has "$ENAME" "$OTHER_PORT"
ok $? "the other publisher keeps its name"
kill "$PUB" 2>/dev/null
wait "$PUB" 2>/dev/null

# The same with another host on the link: a second avahi-daemon (its own
# D-Bus, its own /run/avahi-daemon in a mount namespace of its own, the
# same network namespace; publish-addresses=no, or the two would fight
# over 127.0.0.1's reverse name) holds the name first. Ours now loses the
# mDNS probe (Avahi's entry-group COLLISION), not a local check.
sed -e "s|$T/bus.sock|$T/peer-bus.sock|" "$T/bus.conf" > "$T/peer-bus.conf"
printf '[server]\nhost-name=t81-peer\nuse-ipv4=yes\nuse-ipv6=no\nallow-interfaces=lo\n[wide-area]\nenable-wide-area=no\n[publish]\npublish-addresses=no\npublish-hinfo=no\npublish-workstation=no\n' > "$T/peer-avahi.conf"
plsc disable "$AP" >/dev/null
wait_until 10 state_is "$AP" disabled
PEER_PORT=$(free_port)
unshare -m --propagation private bash -c '
	trap "kill \$(jobs -p) 2>/dev/null; wait" TERM EXIT
	mount -t tmpfs t81peer /run/avahi-daemon || exit 1
	dbus-daemon --config-file="$1/peer-bus.conf" --nofork &
	for _ in $(seq 100); do [ -S "$1/peer-bus.sock" ] && break; sleep 0.05; done
	export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$1/peer-bus.sock
	avahi-daemon -f "$1/peer-avahi.conf" --no-drop-root --no-rlimits --no-chroot &
	for _ in $(seq 100); do avahi-browse -pt _nothing._tcp >/dev/null 2>&1 && break; sleep 0.1; done
	# its SRV names our daemon'"'"'s host, which has an address, so it resolves
	avahi-publish -s -H "$3.local" "$4" _ipps._tcp "$2" "ty=the peer" &
	wait' t81-peer "$T" "$PEER_PORT" "$AHOST" "$NAME" >"$T/peer.log" 2>&1 &
PEER=$!
BG_PIDS+=($PEER)
wait_until 20 has "$ENAME" "$PEER_PORT"
ok $? "another host on the link (a second avahi-daemon) advertises \"$NAME\""
plsc enable "$AP" >/dev/null
wait_until 15 state_is "$AP" running
wait_until 20 has "$ENAME2" "$AP_PORT"
rc=$?
ok $rc "ours loses the probe and is renamed \"$NAME #2\", on our port"
[ $rc -eq 0 ] || diag "$(browse _ipps._tcp)"
is "$(count "$AP" "another service on the link is called \"$NAME\"")" 2 "that rename is logged too"
has "$ENAME" "$PEER_PORT"
ok $? "the other host keeps its name"
kill "$PEER" 2>/dev/null
wait "$PEER" 2>/dev/null
wait_until 15 eval '! has "$ENAME" "$PEER_PORT"'

# 3. avahi-daemon killed: a warning, IPP still served; back: advertised
# again by the same process.
pid=$(svc_pid "$AP")
avahi_stop
wait_until 10 grep -q "avahi-daemon went away" "$T/log/$AP.log"
ok $? "avahi-daemon killed: the service says so"
gpa
ok $? "and still answers IPP"
avahi_start
wait_until 30 has "$ENAME2" "$AP_PORT"
ok $? "avahi-daemon started again: advertised again"
is "$(svc_pid "$AP")" "$pid" "by the same process (no restart)"

# 4. No avahi-daemon when the service starts: one warning, IPP served;
# advertised when the daemon comes.
avahi_stop
plsc restart "$AP" >/dev/null
wait_until 15 running_with_new_pid "$AP" "$pid"
wait_until 10 grep -q "avahi-daemon is not running" "$T/log/$AP.log"
ok $? "started without avahi-daemon: a warning"
gpa
ok $? "IPP served meanwhile"
sleep 2
is "$(count "$AP" 'avahi-daemon is not running')" 1 "one warning, not one a retry"
avahi_start
wait_until 30 has "$ENAME" "$AP_PORT"
ok $? "advertised once avahi-daemon starts"

# 4b. avahi-daemon hung (SIGSTOP) while the service starts: libavahi-client
# blocks on D-Bus for up to 25 s, on Avahi's own thread, so the main loop
# keeps answering heartbeats (600 ms here) and IPP; continued, it advertises.
kill -STOP "$AVAHI_PID"
pid=$(svc_pid "$AP")
plsc restart "$AP" >/dev/null
wait_until 15 running_with_new_pid "$AP" "$pid"
pid=$(svc_pid "$AP")
gpa
ok $? "avahi-daemon hung: the restarted service serves IPP"
sleep 3
is "$(svc_pid "$AP") $(field "$AP" state)" "$pid running" "and is not restarted for missed heartbeats"
kill -CONT "$AVAHI_PID"
wait_until 40 has "$ENAME" "$AP_PORT"
ok $? "avahi-daemon continued: advertised"

# 5. A printer_name longer than a DNS label (63 bytes): the instance name
# is cut there, ty keeps it whole.
sup_kill
LONG=$(printf 'L%.0s' $(seq 70))
ap_config "$(jq -n --arg n "$LONG" '{printer_name: $n}')"
sup_start
wait_until 15 state_is "$AP" running
wait_until 20 has "${LONG:0:63}" "$AP_PORT"
ok $? "a 70-byte printer_name is advertised as its first 63 bytes"
is "$(txt_of ty "$(rec_of "${LONG:0:63}" "$AP_PORT" | cut -d';' -f10-)")" "$LONG" "ty keeps all 70"

# 6. dns_sd false: not advertised; no D-Bus at all: one warning, served.
sup_kill
ap_config '{"dns_sd": false}'
sup_start
wait_until 15 state_is "$AP" running && gpa
ok $? "dns_sd false: served"
sleep 2
browse _ipps._tcp | cut -d';' -f9 | grep -qx "$AP_PORT"
ok $((! $?)) "and not advertised"
sup_kill
ap_config
DBUS_SYSTEM_BUS_ADDRESS=unix:path=$T/no-bus.sock sup_start
wait_until 15 state_is "$AP" running
wait_until 10 grep -q "DNS-SD: no D-Bus system bus" "$T/log/$AP.log"
ok $? "no D-Bus: a warning"
gpa
ok $? "and IPP served"
is "$(count "$AP" 'no D-Bus system bus')" 1 "one warning"
sup_kill
avahi_stop
t_done
