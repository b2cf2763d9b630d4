#!/usr/bin/env bash
# IdentitySync's first full sync is applied while it is read: plsc-directory
# applies each part as it comes inside one transaction and commits at the
# last (services/directory/sync.c). A sync cut off mid-way must leave the
# directory as before, never half-applied, and the next sync must apply it
# whole. Caught mid-way (part 1 applied, not committed: slapd stopped with
# SIGSTOP at that moment), three ways:
#   IdentitySync killed -9: its restart's sync replaces the open batch;
#   plsc-directory killed -9: SQLite never committed it; the sync whose
#     part reaches the restarted writer fails, the next one applies;
#   the LDAP server killed: IdentitySync sends the part that abandons the
#     batch, plsc-directory rolls back at once and takes writes again.
# Meanwhile readers see the directory as before, and a write by plsc waits
# for the transaction and fails cleanly. IDS_USERS (default 30000) sets the
# population (enough parts to stop the reading between two of them).
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/../lib/ldap.sh"
t_setup
ldap_skip_unless_slapd
plan 18

IDS=PrinterLogicServiceIdentitySync
N=${IDS_USERS:-30000}
ldap_init "$N"
ok $? "slapadd: $N users"
trap 'slapd_stop KILL; t_cleanup' EXIT
slapd_start
ok $? "slapd listens on ldaps://127.0.0.1:$PORT"

t_config '{}' "$(jq -n --arg d "$BIN/plsc-directory" --arg i "$BIN/$IDS" \
	--arg uri "ldaps://127.0.0.1:$PORT" --arg ca "$L/ca.pem" '{
	"plsc-directory": {path: $d},
	"PrinterLogicServiceIdentitySync": {path: $i, uri: $uri, ca_file: $ca,
		bind_dn: "cn=reader,dc=example,dc=org", base_dns: ["OU=People,dc=example,dc=org"],
		server_type: "ad", key_attr: "entryUUID", change_attr: "modifyTimestamp",
		filter: "(objectClass=user)", badge_attrs: "employeeNumber:dec,employeeID:hex",
		page_size: 200, incremental_seconds: 3600, full_sync_minutes: 1440}}')"
mkdir -p "$T/lib/$IDS"
echo readersecret | "$BIN/$IDS" set-password "$T/lib/$IDS" >/dev/null
DB=$T/lib/directory/directory.db
DLOG=$T/log/plsc-directory.log
ILOG=$T/log/$IDS.log
count() { plsc users list --json | jq '[.users[] | select(.source == "ldap")] | length'; }
slapd_pid() { cat "$L/slapd.pid"; }
fresh() { # an empty directory and no sync state: the next sync is a first one
	sup_kill
	rm -f "$DB" "$DB-wal" "$DB-shm" "$T/lib/$IDS/sync-state.json"
}
# mid_stream: slapd stopped as soon as plsc-directory has applied part 1
# of a new batch; 0 when that batch is then neither committed nor dropped
mid_stream() {
	local p0=$1 a0=$2
	for _ in $(seq 6000); do
		[ "$(grep -c 'part 1 applied (not committed yet)' "$DLOG" 2>/dev/null)" -gt "$p0" ] &&
			kill -STOP "$(slapd_pid)" && break
		sleep 0.01
	done
	sleep 0.5 # the parts already read reach plsc-directory
	[ "$(grep -c ' applied: ' "$DLOG")" -eq "$a0" ]
}
marks() { echo "$(grep -c 'part 1 applied (not committed yet)' "$DLOG" 2>/dev/null || echo 0) $(grep -c ' applied: ' "$DLOG" 2>/dev/null || echo 0)"; }

# ---- IdentitySync killed mid-sync
sup_start
mid_stream 0 0
ok $? "the first sync caught mid-way: parts applied, none committed"
is "$(count)" 0 "readers see the directory as before (no synced user)"
out=$(plsc printers add P9 socket://127.0.0.1:9 2>&1)
st=$?
[ $st -ne 0 ] && ! plsc printers list 2>/dev/null | grep -q P9
ok $? "a write by plsc waits for the sync's transaction, then fails cleanly ($out)"
old=$(svc_pid "$IDS")
kill -9 "$old"
wait_until 20 running_with_new_pid "$IDS" "$old"
ok $? "IdentitySync killed -9 mid-sync is restarted"
kill -CONT "$(slapd_pid)"
wait_until 120 bash -c "[ \"\$($BIN/plsc -c $CONF users list --json | jq '[.users[] | select(.source == \"ldap\")] | length')\" = $N ]"
ok $? "its restart's full sync brings all $N users"
grep -q " applied: $N added, 0 updated, 0 renamed, 0 removed, 0 refused" "$DLOG" &&
	[ "$(grep -c ' applied: ' "$DLOG")" = 1 ]
ok $? "as one batch of $N additions: nothing of the killed sync's batch was kept"
plsc printers add P9 socket://127.0.0.1:9 >/dev/null 2>&1
ok $? "the directory takes writes again"

# ---- plsc-directory killed mid-sync
fresh
read -r p0 a0 <<<"$(marks)"
sup_start
mid_stream "$p0" "$a0"
ok $? "a first sync caught mid-way again"
old=$(svc_pid plsc-directory)
kill -9 "$old"
wait_until 20 running_with_new_pid plsc-directory "$old"
ok $? "plsc-directory killed -9 mid-sync is restarted"
is "$(count)" 0 "the directory holds nothing of that sync"
is "$(sqlite3 "$DB" 'PRAGMA integrity_check')" ok "and is intact (integrity_check)"
f0=$(grep -c 'full sync failed' "$ILOG")
kill -CONT "$(slapd_pid)"
# (a part in flight when it died is never answered: 30 s, then the same)
wait_until 90 bash -c "[ \$(grep -c 'full sync failed' '$ILOG') -gt $f0 ]"
ok $? "the sync whose next part reaches the restarted writer fails ($(grep 'full sync failed' "$ILOG" | tail -n 1 | sed 's/.*failed: //'))"
plsc sync now >/dev/null 2>&1
wait_until 120 bash -c "[ \"\$($BIN/plsc -c $CONF users list --json | jq '[.users[] | select(.source == \"ldap\")] | length')\" = $N ]"
ok $? "and the next one applies all $N users"

# ---- the LDAP server gone mid-sync: the batch is abandoned at once
fresh
read -r p0 a0 <<<"$(marks)"
sup_start
mid_stream "$p0" "$a0"
ok $? "a first sync caught mid-way a third time"
slapd_stop KILL
wait_until 30 grep -q 'abandoned by its sender' "$DLOG"
ok $? "slapd killed: IdentitySync abandons the batch and plsc-directory rolls it back ($(grep -o 'abandoned by its sender ([^)]*)' "$DLOG" | tail -n 1))"
[ "$(count)" = 0 ] && plsc printers add P8 socket://127.0.0.1:9 >/dev/null 2>&1
ok $? "nothing of it is applied, and writes are taken again at once"

t_done
