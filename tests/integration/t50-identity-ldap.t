#!/usr/bin/env bash
# IdentitySync against a real slapd: LDAPS with a CA made here, a size
# limit below the user count (only paged searches get them all), AD-like
# attributes (msuser.schema: sAMAccountName, userAccountControl, memberOf,
# employeeID), badges in decimal and hex. A full sync, then add, badge
# change, rename, disable and delete each reflected by the next
# incremental sync; a dry run changes nothing; a wrong password, a wrong CA
# and a server killed during a sync apply nothing. The leavers end to end:
# once the disabled and the deleted user are gone from the directory,
# their badges release none of their held jobs through the badge service
# (plsc-reademu as the reader, plsc-recprinter as the printer), while a
# current user's badge still does. PINs from an attribute (employeeType):
# set, changed, removed in the source, and a value that is not a PIN
# reported without being logged; the directory's PIN check takes them.
# Groups from a group search (groupOfNames' member, DNs in another case).
# slapd runs the syncprov overlay, as a server that offers syncrepl would
# (the service uses modifyTimestamp, which the issue allows).
# IDS_USERS (default 10000, the issue's figure) sets the population.
. "$(dirname "$0")/../lib/lib.sh"
t_setup
plan 46

IDS=PrinterLogicServiceIdentitySync
N=${IDS_USERS:-10000}
SLAPD=/usr/sbin/slapd
if [ ! -x "$SLAPD" ] || ! command -v ldapmodify >/dev/null; then
	echo "1..0 # SKIP slapd or ldap-utils missing (scripts/install-deps)"
	exit 0
fi

# ---- certificates: our CA, a server certificate for 127.0.0.1, another CA
L=$T/ldap
mkdir -p "$L/db"
for ca in ca wrongca; do
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=test $ca" \
		-keyout "$L/$ca.key" -out "$L/$ca.pem" 2>/dev/null
done
openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$L/server.key" \
	-out "$L/server.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\n' > "$L/ext"
openssl x509 -req -in "$L/server.csr" -CA "$L/ca.pem" -CAkey "$L/ca.key" -CAcreateserial \
	-days 2 -extfile "$L/ext" -out "$L/server.pem" 2>/dev/null
chmod 644 "$L"/*.key

# ---- slapd: a read-only reader account, a size limit of 500
PORT=$(free_port)
cat > "$L/slapd.conf" <<CONF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
include /etc/ldap/schema/msuser.schema
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload syncprov
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
overlay syncprov
syncprov-sessionlog 1000
access to attrs=userPassword by anonymous auth by * none
access to * by dn.exact="cn=reader,dc=example,dc=org" read by * none
CONF

user_ldif() { # user_ldif I [UAC]
	printf 'dn: CN=user%05d,OU=People,dc=example,dc=org\nobjectClass: user\nobjectClass: extensibleObject\ncn: user%05d\nsn: U%d\n' "$1" "$1" "$1"
	printf 'sAMAccountName: user%05d\ndisplayName: User %d\nmail: user%d@example.org\n' "$1" "$1" "$1"
	printf 'userAccountControl: %s\nemployeeNumber: %d\nemployeeID: 0x%x\n' "${2:-512}" $((100000 + $1)) $((0xa00000 + $1))
	printf 'memberOf: CN=Print Users,OU=Groups,dc=example,dc=org\ninstanceType: 4\n'
	case $1 in # PINs: three good ones, one that is not a PIN
	1) echo 'employeeType: 4711' ;; 2) echo 'employeeType: 2222' ;;
	3) echo 'employeeType: 003333' ;; 10) echo 'employeeType: 98x76zz' ;;
	esac
	printf 'nTSecurityDescriptor:: AQ==\nobjectCategory: CN=Person,CN=Schema,dc=example,dc=org\n\n'
}
{
	printf 'dn: dc=example,dc=org\nobjectClass: dcObject\nobjectClass: organization\no: Example\ndc: example\n\n'
	printf 'dn: OU=People,dc=example,dc=org\nobjectClass: organizationalUnit\nou: People\n\n'
	printf 'dn: cn=reader,dc=example,dc=org\nobjectClass: person\ncn: reader\nsn: reader\nuserPassword: readersecret\n\n'
	printf 'dn: OU=Groups,dc=example,dc=org\nobjectClass: organizationalUnit\nou: Groups\n\n'
	printf 'dn: CN=Badge Admins,OU=Groups,dc=example,dc=org\nobjectClass: groupOfNames\ncn: Badge Admins\n'
	printf 'member: CN=user00042,OU=People,dc=example,dc=org\nmember: cn=USER00043,ou=people,DC=EXAMPLE,DC=ORG\n\n'
	printf 'dn: CN=Night Shift,OU=Groups,dc=example,dc=org\nobjectClass: groupOfNames\ncn: Night Shift\n'
	printf 'member: CN=user00042,OU=People,dc=example,dc=org\n\n'
	for i in $(seq 1 "$N"); do user_ldif "$i"; done
} > "$L/seed.ldif"
slapadd -q -f "$L/slapd.conf" -l "$L/seed.ldif" 2>"$L/slapadd.err"
ok $? "slapadd: $N users"

slapd_start() {
	"$SLAPD" -h "ldaps://127.0.0.1:$PORT/" -f "$L/slapd.conf" 2>>"$L/slapd.err"
	wait_until 10 test -s "$L/slapd.pid" &&
		# the pid file comes before the listener takes connections
		wait_until 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT" 2>/dev/null
}
slapd_stop() {
	local pid
	pid=$(cat "$L/slapd.pid" 2>/dev/null) || return 0
	kill -"${1:-TERM}" "$pid" 2>/dev/null
	wait_until 10 bash -c "! kill -0 $pid"
	rm -f "$L/slapd.pid"
}
trap 'slapd_stop KILL; t_cleanup' EXIT
slapd_start
ok $? "slapd listens on ldaps://127.0.0.1:$PORT"
export LDAPTLS_CACERT=$L/ca.pem
lsearch() { ldapsearch -LLL -H "ldaps://127.0.0.1:$PORT" -x -D cn=reader,dc=example,dc=org -w readersecret "$@"; }
lmodify() { ldapmodify -H "ldaps://127.0.0.1:$PORT" -x -D cn=admin,dc=example,dc=org -w adminsecret "$@" >/dev/null; }
lsearch -b dc=example,dc=org "(objectClass=user)" dn >/dev/null 2>&1
is $? 4 "the size limit (500) stops an unpaged search of $N users"

# ---- the Service Client: the directory's writer and IdentitySync, with
# the held-jobs and badge services for the leavers' badges
BR=PrinterLogicServiceSimpleBadgeRelease
OP_PORT=$(free_port)
BR_PORT=$(free_port)
rec_start P1
ids_conf_mode() { # ids_conf_mode CA_FILE [INCREMENTAL_SECONDS [GROUP_BASE_DN [INCREMENTAL]]]
	jq -n --arg d "$BIN/plsc-directory" --arg i "$BIN/$IDS" --arg uri "ldaps://127.0.0.1:$PORT" \
		--arg ca "$1" --argjson inc "${2:-1}" --arg op "$BIN/$OP" --arg br "$BIN/$BR" \
		--arg gb "${3:-}" --arg mode "${4:-syncrepl}" \
		--arg opl "127.0.0.1:$OP_PORT" --arg brl "127.0.0.1:$BR_PORT" '{
		"plsc-directory": {path: $d},
		"PrinterLogicServiceOfflinePrint": {path: $op, listen: {main: $opl}},
		"PrinterLogicServiceSimpleBadgeRelease": {path: $br, listen: {main: $brl},
			dedupe_ms: 100, refresh_s: 1},
		"PrinterLogicServiceIdentitySync": {path: $i, uri: $uri, ca_file: $ca,
			bind_dn: "cn=reader,dc=example,dc=org", base_dns: ["OU=People,dc=example,dc=org"],
			server_type: "ad", key_attr: "entryUUID", change_attr: "modifyTimestamp",
			filter: "(objectClass=user)", badge_attrs: "employeeNumber:dec,employeeID:hex",
			page_size: 200, incremental_seconds: $inc, full_sync_minutes: 1440,
			pin_attr: "employeeType", group_base_dn: $gb,
			group_filter: "(objectClass=groupOfNames)", incremental: $mode}}'
}
ids_conf() { ids_conf_mode "$@"; }
t_config '{}' "$(ids_conf "$L/ca.pem")"
mkdir -p "$T/lib/$IDS"
echo readersecret | "$BIN/$IDS" set-password "$T/lib/$IDS" >/dev/null
ok $? "set-password stores the bind password encrypted"
! grep -q readersecret "$T/lib/$IDS"/* && [ "$(stat -c %a "$T/lib/$IDS/bind-password.key")" = 600 ]
ok $? "no clear password in the state dir; the key is 0600"
"$BIN/plsc-supervisor" -c "$CONF" -n >/dev/null
ok $? "plsc-supervisor -n accepts the IdentitySync section"

count() { plsc users list --json | jq '[.users[] | select(.source == "ldap")] | length'; }
user_json() { plsc users list --json --show-badges | jq -c --arg u "$1" '.users[] | select(.username == $u)'; }
sup_start
wait_until 120 bash -c "[ \"\$($BIN/plsc -c $CONF users list --json | jq '.users | length')\" = $N ]"
ok $? "the first (full) sync brings all $N users, through pages of 200"
u=$(user_json user00042)
is "$(jq -r '.badges | join(" ")' <<<"$u")" "$(printf '%x %x' $((100042)) $((0xa00000 + 42)))" \
	"badges from a decimal and a hex attribute, normalised"
is "$(jq -r '[.display_name, .groups, .emails[0], .source] | join("|")' <<<"$u")" \
	"User 42|Print Users|user42@example.org|ldap" "display name, group from memberOf, mail, source"
wait_until 10 bash -c "$BIN/plsc -c $CONF status --json | jq -r '.services[] | select(.name==\"$IDS\") | .detail' | grep -q 'last sync full .*$N\\|added'"
like "$($BIN/plsc -c "$CONF" status --json | jq -r ".services[] | select(.name==\"$IDS\") | .detail")" \
	"last sync (full|incremental) .*[0-9.]+ s: .*added" "plsc status shows the last sync's time, duration and counts"

# ---- PINs from employeeType: the directory's PIN check takes them
pin_ok() { # pin_ok USER PIN: the directory's check says right
	printf '%s\n' "$2" > "$T/pin" && chmod 600 "$T/pin"
	plsc users check-pin "$1" --pin-file "$T/pin" >/dev/null 2>&1
}
pin_ok user00001 4711 && pin_ok user00003 003333 && ! pin_ok user00001 4712
ok $? "PINs set from the source: right PIN accepted, a wrong one refused"
is "$(user_json user00010 | jq -r .has_pin)" false "a value that is not a PIN sets none"
sync_now() { # plsc sync now, again while an incremental sync is running
	local i out
	for i in $(seq 50); do
		out=$(plsc sync now "$@" 2>&1)
		grep -q "a sync is running" <<<"$out" || break
		sleep 0.2
	done
	printf '%s\n' "$out"
}
out=$(sync_now --json)
jq -e '.errors[] | select(.dn | test("user00010")) | .message | test("not a PIN")' <<<"$out" >/dev/null
ok $? "and is reported for that user"
! grep -rq 98x76zz "$T/log" && ! grep -q 98x76zz <<<"$out"
ok $? "without its value, in the report or any log"
like "$(jq -r '"\(.added) \(.updated)"' <<<"$out")" "^0 0$" "a full sync of unchanged PINs changes nothing (no rehash)"

# ---- read-only for the CLI
out=$(plsc users del user00001 2>&1)
like "$out" "synced from ldap" "a synced user cannot be deleted by plsc users del"

# ---- held jobs for three synced users; a current user's badge releases
plsc printers add P1 "socket://127.0.0.1:$REC_PORT_P1" >/dev/null
plsc readers add R1 --address 127.0.0.2 --printer P1 --preset elatec-tcpconv2 >/dev/null
token_for ws1
for i in 4 5 7; do
	echo "user0000$i job" > "$T/job$i"
	submit ws1 "user0000$i" "$T/job$i" >/dev/null || break
done
ok $? "jobs held for user00004, user00005 and user00007"
swipe() { "$BIN/plsc-reademu" connect 127.0.0.1 "$BR_PORT" 127.0.0.2 elatec-tcpconv2 "badge:$(printf %x $((100000 + $1)))"; }
# the badge service re-reads its readers every refresh_s: swipe once it has
# them all
wait_until 10 grep -q "1 badge reader configured" "$T/log/$BR.log"
swipe 7
wait_until 10 test -e "$T/rec-P1/job-1.bin"
is "$(cat "$T/rec-P1/job-1.bin" 2>/dev/null)" "user00007 job" "a synced user's badge releases their job"

# ---- changes, each seen by the next incremental sync
sleep 1 # modifyTimestamp has a one-second grain; changes land after the mark
user_ldif 99999 | lmodify -a
lmodify <<LDIF
dn: CN=user00002,OU=People,dc=example,dc=org
changetype: modify
replace: employeeNumber
employeeNumber: 777777

dn: CN=user00003,OU=People,dc=example,dc=org
changetype: modify
replace: sAMAccountName
sAMAccountName: renamed3

dn: CN=user00004,OU=People,dc=example,dc=org
changetype: modify
replace: userAccountControl
userAccountControl: 514

dn: CN=user00005,OU=People,dc=example,dc=org
changetype: delete

dn: CN=user00002,OU=People,dc=example,dc=org
changetype: modify
replace: employeeType
employeeType: 5555

dn: CN=user00001,OU=People,dc=example,dc=org
changetype: modify
delete: employeeType
LDIF
ok $? "ldapmodify: add, badge change, rename, disable, delete, PIN change and removal"
wait_until 60 bash -c "$BIN/plsc -c $CONF users list --json | jq -e '[.users[].username] | index(\"renamed3\") and index(\"user99999\") and (index(\"user00005\") | not) and (index(\"user00004\") | not)'"
ok $? "the next incremental sync: user added, renamed, disabled and deleted users gone"
grep -Eq "incremental sync \(syncrepl\): .*[1-9][0-9]* (added|updated|removed)" "$T/log/$IDS.log" &&
	grep -q "incremental sync (syncrepl): 0 added, 0 updated, 0 disabled, 0 removed" "$T/log/$IDS.log"
ok $? "read through syncrepl (a cookie; deletions from slapd's session log), and no-change syncs too"
is "$(user_json user00002 | jq -r '.badges[0]')" "$(printf '%x' 777777)" "the changed badge"
is "$(user_json renamed3 | jq -r '.badges[0]')" "$(printf '%x' 100003)" "the renamed user keeps its badges"
is "$(count)" "$((N - 1))" "$((N - 1)) users: one added, two gone"
wait_until 20 bash -c "$(declare -f pin_ok plsc); T=$T BIN=$BIN CONF=$CONF; pin_ok user00002 5555"
ok $? "a PIN changed in the source: the new one is right"
! pin_ok user00002 2222
ok $? "and the old one wrong"
is "$(user_json user00001 | jq -r .has_pin)" false "a PIN removed in the source is removed"
pin_ok renamed3 003333
ok $? "a renamed user keeps their PIN"
swipe 4
swipe 5
wait_until 10 bash -c "[ \$(grep -c 'unknown badge .*nothing released' '$T/log/$BR.log') -ge 2 ]"
ok $? "the disabled and the deleted user's badges are unknown to the badge service"
[ ! -e "$T/rec-P1/job-2.bin" ] &&
	[ "$(plsc jobs --json | jq '[.jobs[] | select(.user == "user00004" or .user == "user00005")] | length')" = 2 ]
ok $? "and release nothing: both leavers' jobs stay held"

# ---- the fallback: incremental "timestamp" (modifyTimestamp and a presence
# pass), as for a server without syncrepl; same deletes and changes
ids_conf() { ids_conf_mode "$1" "${2:-1}" "${3:-}" timestamp; }
t_config '{}' "$(ids_conf "$L/ca.pem")"
plsc reload >/dev/null
wait_until 60 bash -c "grep -q 'incremental sync (timestamp)' '$T/log/$IDS.log'"
ok $? "incremental: timestamp reads by modifyTimestamp"
sleep 1 # modifyTimestamp's one-second grain
lmodify <<LDIF
dn: CN=user00008,OU=People,dc=example,dc=org
changetype: delete

dn: CN=user00009,OU=People,dc=example,dc=org
changetype: modify
replace: userAccountControl
userAccountControl: 514

dn: CN=user00011,OU=People,dc=example,dc=org
changetype: modify
replace: employeeNumber
employeeNumber: 888888
LDIF
wait_until 60 bash -c "$BIN/plsc -c $CONF users list --json | jq -e '[.users[].username] | (index(\"user00008\") | not) and (index(\"user00009\") | not)'"
ok $? "timestamp: a deleted and a disabled user gone at the next incremental sync"
# The three changes may straddle two syncs (ldapmodify applies them one by
# one): wait for the badge too rather than expect it in the same sync.
wait_until 60 bash -c "[ \"\$($BIN/plsc -c $CONF users list --json --show-badges | jq -r '.users[] | select(.username == \"user00011\") | .badges[0]')\" = $(printf '%x' 888888) ]"
is "$(user_json user00011 | jq -r '.badges[0]')" "$(printf '%x' 888888)" "timestamp: the changed badge"
is "$(count)" "$((N - 3))" "$((N - 3)) users"
ids_conf() { ids_conf_mode "$@"; }

# ---- dry run (no incremental syncs meanwhile: the restart's full sync, then none)
detail() { "$BIN/plsc" -c "$CONF" status --json | jq -r ".services[] | select(.name==\"$IDS\") | .detail"; }
t_config '{}' "$(ids_conf "$L/ca.pem" 3600)"
plsc reload >/dev/null
wait_until 60 bash -c "$(declare -f detail); BIN=$BIN CONF=$CONF IDS=$IDS; detail | grep -q 'last sync full'"
lmodify <<LDIF
dn: CN=user00006,OU=People,dc=example,dc=org
changetype: delete
LDIF
out=$(plsc sync now --dry-run 2>&1)
like "$out" "dry run of a full sync: 0 added, 0 updated, 2 disabled, 1 removed" "sync now --dry-run reports a removal"
[ -n "$(user_json user00006)" ]
ok $? "and removes nothing"

# ---- a wrong bind password: a clear error, nothing deleted
echo wrongsecret | "$BIN/$IDS" set-password "$T/lib/$IDS" >/dev/null
before=$(count)
out=$(plsc sync now 2>&1)
like "$out" "invalid credentials" "a wrong bind password: a clear error"
is "$(count)" "$before" "nothing deleted"
echo readersecret | "$BIN/$IDS" set-password "$T/lib/$IDS" >/dev/null

# ---- the server killed during a sync: nothing half-applied
kill -STOP "$(cat "$L/slapd.pid")"
plsc sync now >"$T/killed.out" 2>&1 &
SYNC=$!
sleep 1
slapd_stop KILL
wait "$SYNC"
like "$(cat "$T/killed.out")" "failed" "slapd killed during a sync: the sync fails"
is "$(count)" "$before" "and nothing is applied (user00006 still there)"

# ---- a wrong CA: refused
slapd_start
t_config '{}' "$(ids_conf "$L/wrongca.pem")"
plsc reload >/dev/null
wait_until 20 bash -c "$BIN/plsc -c $CONF sync now 2>&1 | grep -q 'TLS\|certificate\|connect'"
ok $? "a server certificate from another CA is refused"

# ---- groups from a group search (groupOfNames, member DNs in any case)
t_config '{}' "$(ids_conf "$L/ca.pem" 3600 "OU=Groups,dc=example,dc=org")"
plsc reload >/dev/null
wait_until 60 bash -c "$(declare -f user_json plsc); BIN=$BIN CONF=$CONF; [ \"\$(user_json user00042 | jq -r .groups)\" = 'Badge Admins,Night Shift' ]"
ok $? "a group search gives user00042 both groups, sorted"
is "$(user_json user00043 | jq -r .groups)" "Badge Admins" "a member DN in another case is the same user"
is "$(user_json user00044 | jq -r .groups)" "" "a user in no group has none (memberOf no longer read)"

# ---- a server without syncrepl: incremental "auto" reads by timestamp
slapd_stop
sed -i '/syncprov/d' "$L/slapd.conf"
slapd_start
n0=$(grep -c 'incremental sync (timestamp)' "$T/log/$IDS.log")
t_config '{}' "$(ids_conf_mode "$L/ca.pem" 1 "" auto)"
plsc reload >/dev/null
# the reloads above came fast enough for the supervisor's crash-loop
# throttle (5 exits in 30 s): a restart by hand clears it
wait_until 10 bash -c "grep -q 'PrinterLogicServiceIdentitySync: 5 deaths' '$T/log/plsc-supervisor.log'"
plsc restart "$IDS" >/dev/null 2>&1
wait_until 60 bash -c "[ \$(grep -c 'incremental sync (timestamp)' '$T/log/$IDS.log') -gt $n0 ]"
ok $? "auto, against slapd without syncprov: incremental syncs read by timestamp"
wait_until 5 grep -q "no syncrepl: incremental syncs read by modifyTimestamp" "$T/log/$IDS.log"
ok $? "and the full sync says why, once"

t_done
