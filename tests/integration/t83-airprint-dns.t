#!/usr/bin/env bash
# AirPrint's unicast DNS-SD zone fragment (--dns-sd-zone) served by a real
# DNS server: BIND's named, started here as the test's own peer on a free
# port of 127.0.0.1 with the fragment in a zone, and asked with dig for the
# records a DNS-SD browser on a routed network follows: the browse domain
# (b._dns-sd._udp), the service type and its subtypes (PTR), then the
# instance (SRV, TXT). t80 checks the service's own printer-uuid goes in.
. "$(dirname "$0")/../lib/lib.sh"
NAMED=/usr/sbin/named
if [ ! -x "$NAMED" ] || ! command -v dig >/dev/null; then
	echo "1..0 # SKIP named or dig missing (bind9, bind9-dnsutils: scripts/install-deps)"
	exit 0
fi
t_setup
plan 11

AP=PrinterLogicServiceAirprint
UUID=urn:uuid:2f0c3b1e-8d3a-4c55-9a1e-0c7d2b5e6f11
D=$T/named
mkdir -p "$D"
{
	printf '$TTL 300\n@ IN SOA ns.example.org. hostmaster.example.org. 1 3600 600 86400 300\n'
	printf '@ IN NS ns.example.org.\nns IN A 127.0.0.1\nprint IN A 127.0.0.1\n'
	"$BIN/$AP" --dns-sd-zone --domain example.org --host print.example.org \
		--name "Test AirPrint" --uuid "$UUID"
} > "$D/site.zone"
ok $? "--dns-sd-zone prints the fragment"

# Debian's named has an AppArmor profile (usr.sbin.named) that confines
# it to /etc/bind and /var/cache/bind: where that profile is loaded, a copy
# of the binary under $T runs unconfined (profiles attach by path), so it
# can read its config here. Nothing else differs.
if grep -qs '^named ' /sys/kernel/security/apparmor/profiles; then
	cp "$NAMED" "$D/named" && NAMED=$D/named
fi

# named_start: on a free port (TCP and UDP: named wants both; retried when
# another process takes it first). No control channel (rndc would listen
# on 127.0.0.1:953), no recursion, nothing written outside $D.
named_start() {
	local try
	for try in 1 2 3 4 5; do
		DNS_PORT=$(free_port) || return 1
		cat > "$D/named.conf" <<CONF
options {
	directory "$D";
	pid-file "$D/named.pid";
	session-keyfile "$D/session.key";
	listen-on port $DNS_PORT { 127.0.0.1; };
	listen-on-v6 { none; };
	recursion no;
	dnssec-validation no;
	notify no;
};
controls { };
zone "example.org" { type primary; file "$D/site.zone"; };
CONF
		rm -f "$D/named.pid"
		"$NAMED" -g -4 -c "$D/named.conf" >"$D/named.log" 2>&1 &
		NAMED_PID=$!
		BG_PIDS+=("$NAMED_PID")
		if wait_until 15 named_ready; then
			return 0
		fi
		kill "$NAMED_PID" 2>/dev/null
		wait "$NAMED_PID" 2>/dev/null
		grep -q "address in use" "$D/named.log" || return 1
	done
	return 1
}
named_ready() {
	kill -0 "$NAMED_PID" 2>/dev/null &&
		[ -n "$(q SOA example.org)" ]
}
# q TYPE NAME: the answer's data, one record a line (+short), sorted.
# Asked up to three times while the answer is empty: one CI run got an
# empty answer to the first question right after named answered the
# ready check, and the same question answered at once after it.
q() {
	local try out
	for try in 1 2 3; do
		out=$(dig @127.0.0.1 -p "$DNS_PORT" +short +norecurse +time=2 +tries=2 "$2" "$1" 2>/dev/null | sort)
		[ -n "$out" ] && break
		sleep 0.2
	done
	echo "$out"
}

named_start
rc=$?
ok $rc "named serves the zone with the fragment on 127.0.0.1:${DNS_PORT:-?}"
[ $rc -eq 0 ] || diag "$(tail -20 "$D/named.log")"

INST='Test\032AirPrint._ipps._tcp.example.org.'
is "$(q PTR b._dns-sd._udp.example.org)" "example.org." \
	"PTR b._dns-sd._udp: example.org is a browse domain"
is "$(q PTR lb._dns-sd._udp.example.org)" "example.org." \
	"PTR lb._dns-sd._udp: and the legacy browse domain"
is "$(q PTR _ipps._tcp.example.org)" "$INST" "PTR _ipps._tcp: the printer"
is "$(q PTR _universal._sub._ipps._tcp.example.org)" "$INST" \
	"PTR _universal._sub._ipps._tcp: the printer (what iOS browses)"
is "$(q PTR _print._sub._ipps._tcp.example.org)" "$INST" \
	"PTR _print._sub._ipps._tcp: the printer"
is "$(q SRV 'Test\032AirPrint._ipps._tcp.example.org')" "0 0 631 print.example.org." \
	"SRV of the instance: port 631 on print.example.org"
is "$(q A print.example.org)" "127.0.0.1" "the SRV target resolves (the site's own A record)"
txt=$(q TXT 'Test\032AirPrint._ipps._tcp.example.org')
for k in txtvers=1 qtotal=1 rp=ipp/print "ty=Test AirPrint" \
	pdl=application/pdf,image/jpeg,image/png,image/pwg-raster,image/urf \
	URF=V1.4,CP1,DM1,IS1,MT1,PQ4,RS300,SRGB24,W8 TLS=1.2 "UUID=${UUID#urn:uuid:}" Color=T \
	Duplex=T kind=document,photo air=username,password adminurl=https://print.example.org:631/; do
	case "$txt" in *"\"$k\""*) ;; *) echo "missing $k" ;; esac
done > "$T/txt-missing"
is "$(cat "$T/txt-missing")" "" "TXT of the instance: every key iOS needs, one string each"
[ -s "$T/txt-missing" ] && diag "TXT: $txt"
# the answer is authoritative (aa): named loaded the fragment as zone data
flags=$(dig @127.0.0.1 -p "$DNS_PORT" +norecurse +time=2 +tries=2 SRV \
	'Test\032AirPrint._ipps._tcp.example.org' 2>/dev/null | grep -m1 'flags:')
like "$flags" "flags:[a-z ]* aa[ ;]" "named answers for the zone with authority"
t_done
