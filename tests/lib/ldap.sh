# slapd for the LDAP tests t52 and t53 (t50 keeps its own, richer setup):
# LDAPS on a free loopback port with a CA made here, the AD-like schema
# (msuser.schema), a size limit of 500 (only paged searches get more), a
# read-only reader account, N users written by awk (a shell loop takes
# too long for tens of thousands). Source after lib.sh; needs $T.
#   ldap_init N [WRONG_CA]  certificates, slapd.conf, slapadd of N users
#   slapd_start / slapd_stop [SIGNAL]
# Sets L (its folder), PORT, SLAPD; exports LDAPTLS_CACERT.

SLAPD=/usr/sbin/slapd

ldap_skip_unless_slapd() {
	if [ ! -x "$SLAPD" ] || ! command -v slapadd >/dev/null; then
		echo "1..0 # SKIP slapd or ldap-utils missing (scripts/install-deps)"
		exit 0
	fi
}

ldap_users() { # ldap_users N: the tree and N users, as LDIF
	awk -v n="$1" 'BEGIN {
		printf "dn: dc=example,dc=org\nobjectClass: dcObject\nobjectClass: organization\no: Example\ndc: example\n\n"
		printf "dn: OU=People,dc=example,dc=org\nobjectClass: organizationalUnit\nou: People\n\n"
		printf "dn: cn=reader,dc=example,dc=org\nobjectClass: person\ncn: reader\nsn: reader\nuserPassword: readersecret\n\n"
		for (i = 1; i <= n; i++) {
			printf "dn: CN=user%06d,OU=People,dc=example,dc=org\nobjectClass: user\nobjectClass: extensibleObject\ncn: user%06d\nsn: U%d\n", i, i, i
			printf "sAMAccountName: user%06d\ndisplayName: User %d\nmail: user%d@example.org\n", i, i, i
			printf "userAccountControl: 512\nemployeeNumber: %d\nemployeeID: 0x%x\n", 1000000 + i, 10485760 + i
			printf "instanceType: 4\nuserPassword: pw-%d\n", i
			printf "nTSecurityDescriptor:: AQ==\nobjectCategory: CN=Person,CN=Schema,dc=example,dc=org\n\n"
		}
	}'
}

ldap_init() { # ldap_init N
	L=$T/ldap
	mkdir -p "$L/db"
	for ca in ca wrongca; do
		openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=test $ca" \
			-keyout "$L/$ca.key" -out "$L/$ca.pem" 2>/dev/null || return 1
	done
	openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$L/server.key" \
		-out "$L/server.csr" 2>/dev/null &&
		printf 'subjectAltName=IP:127.0.0.1\n' >"$L/ext" &&
		openssl x509 -req -in "$L/server.csr" -CA "$L/ca.pem" -CAkey "$L/ca.key" \
			-CAcreateserial -days 2 -extfile "$L/ext" -out "$L/server.pem" 2>/dev/null ||
		return 1
	chmod 644 "$L"/*.key
	PORT=$(free_port)
	cat >"$L/slapd.conf" <<CONF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
include /etc/ldap/schema/msuser.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile $L/slapd.pid
TLSCACertificateFile $L/ca.pem
TLSCertificateFile $L/server.pem
TLSCertificateKeyFile $L/server.key
sizelimit size.soft=500 size.hard=500 size.prtotal=unlimited
database mdb
maxsize 1073741824
suffix "dc=example,dc=org"
rootdn "cn=admin,dc=example,dc=org"
rootpw adminsecret
directory $L/db
access to attrs=userPassword by anonymous auth by self read by * none
access to * by dn.exact="cn=reader,dc=example,dc=org" read by self read by * none
CONF
	export LDAPTLS_CACERT=$L/ca.pem
	ldap_users "$1" | slapadd -q -f "$L/slapd.conf" 2>"$L/slapadd.err"
}

slapd_start() {
	"$SLAPD" -h "ldaps://127.0.0.1:$PORT/" -f "$L/slapd.conf" 2>>"$L/slapd.err"
	wait_until 10 test -s "$L/slapd.pid" &&
		# the pid file comes before the listener takes connections
		wait_until 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT" 2>/dev/null
}

slapd_stop() {
	local pid
	pid=$(cat "$L/slapd.pid" 2>/dev/null) || return 0
	[ "${1:-TERM}" = KILL ] || kill -CONT "$pid" 2>/dev/null # a stopped one takes no TERM
	kill -"${1:-TERM}" "$pid" 2>/dev/null
	wait_until 10 bash -c "! kill -0 $pid"
	rm -f "$L/slapd.pid"
}
