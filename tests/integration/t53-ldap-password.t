#!/usr/bin/env bash
# The LDAP password check that AirPrint uses (pl_ldap_check_password in
# lib/ldap: a simple bind as the user over LDAPS) against a real slapd:
# first directly (plsc-ldapcheck, a test peer that calls it once), then
# through PrinterLogicServiceAirprint with ipptool over IPPS and HTTP Basic
# (ldap_uri, ldap_user_dn, ldap_ca; the user has no PIN in the directory,
# so only the bind can prove them).
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/../lib/ldap.sh"
t_setup
ldap_skip_unless_slapd
plan 14

ldap_init 3
ok $? "slapadd: 3 users with passwords"
trap 'slapd_stop KILL; t_cleanup' EXIT
slapd_start
ok $? "slapd listens on ldaps://127.0.0.1:$PORT"

URI=ldaps://127.0.0.1:$PORT
DN=CN=user000001,OU=People,dc=example,dc=org
check() { # check PASSWORD [URI [CA [DN]]]
	printf '%s\n' "$1" | "$BIN/plsc-ldapcheck" "${2:-$URI}" "${3:-$L/ca.pem}" "${4:-$DN}" 2>&1
}
is "$(check pw-1)" right "the right password: right"
is "$(check pw-2)" wrong "another user's password: wrong"
is "$(check '')" wrong "an empty password: wrong (never an anonymous bind)"
is "$(check pw-1 "" "" CN=nobody,OU=People,dc=example,dc=org)" wrong "a DN that does not exist: wrong"
like "$(check pw-1 "" "$L/wrongca.pem")" "^error: .*(TLS|certificate|connect)" \
	"a server certificate from another CA: an error, not a verdict"
like "$(check pw-1 "ldap://127.0.0.1:$PORT")" "^error: " \
	"plain ldap:// without StartTLS: refused before anything is sent"

# ---- through AirPrint: ipptool as user000001, who is only in LDAP
AP=PrinterLogicServiceAirprint
IPPT=/usr/share/cups/ipptool
AP_PORT=$(free_port)
AP_PLAIN=$(free_port)
t_config '{}' "$(jq -n --arg ap "$BIN/$AP" --arg l "127.0.0.1:$AP_PORT" --arg pl "127.0.0.1:$AP_PLAIN" \
	--arg uri "$URI" --arg ca "$L/ca.pem" '{
	"PrinterLogicServiceAirprint": {path: $ap, listen: {main: $l, plain: $pl},
		printer_name: "Test AirPrint", client_timeout_s: 5, auth_max_failures: 5,
		auth_lockout_s: 2, ldap_uri: $uri, ldap_ca: $ca,
		ldap_user_dn: "CN=%s,OU=People,dc=example,dc=org"}}')"
sup_start
wait_until 15 state_is "$AP" running
ok $? "AirPrint runs with ldap_uri"
wait_until 5 grep -q "passwords also checked by LDAP bind" "$T/log/$AP.log"
ok $? "and says passwords are also checked by an LDAP bind"
printf '%%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Count 1/Kids[3 0 R]>>endobj\n3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\ntrailer<</Root 1 0 R>>\n%%%%EOF\n' > "$T/doc.pdf"
out=$(timeout 60 ipptool -t -T 20 -f "$T/doc.pdf" "ipps://user000001:pw-1@localhost:$AP_PORT/ipp/print" "$IPPT/print-job.test" 2>&1)
rc=$?
ok $rc "print-job.test passes as user000001 with the LDAP password"
[ $rc -eq 0 ] || diag "$out"
is "$(plsc jobs --user user000001 --json | jq '.jobs | length')" 1 "the job is held for user000001"
out=$(timeout 30 ipptool -t -T 10 -f "$T/doc.pdf" "ipps://user000001:pw-2@localhost:$AP_PORT/ipp/print" "$IPPT/print-job.test" 2>&1)
ok $((! $?)) "a wrong password is refused"
wait_until 5 grep -q "authentication failed for user user000001" "$T/log/$AP.log" &&
	[ "$(plsc jobs --user user000001 --json | jq '.jobs | length')" = 1 ]
ok $? "logged, and nothing more is held"

t_done
