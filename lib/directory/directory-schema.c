/* Versioned schema migrations for the directory. The version lives in
 * PRAGMA user_version (a field of the database header, so it commits and
 * rolls back with the migration that sets it). */
#include "directory-private.h"

#include "pl_util.h"

/* migrations[i] takes the schema from version i to version i + 1. Adding
 * one: append its SQL here and bump PL_DIR_SCHEMA_VERSION (the assertion
 * below keeps the two in step). Never edit a migration that has shipped:
 * databases in the field have already run it. */
static const char *const migrations[] = {
	/* 1: printers and workstation tokens */
	"CREATE TABLE printers("
	" name TEXT PRIMARY KEY,"
	" uri TEXT NOT NULL,"
	" location TEXT NOT NULL DEFAULT '',"
	" formats TEXT NOT NULL DEFAULT '',"
	" created_ms INTEGER NOT NULL);"
	"CREATE TABLE tokens("
	" id TEXT PRIMARY KEY,"
	" workstation TEXT NOT NULL,"
	" secret_sha256 BLOB NOT NULL,"
	" created_ms INTEGER NOT NULL,"
	" last_used_ms INTEGER NOT NULL DEFAULT 0,"
	" revoked INTEGER NOT NULL DEFAULT 0);"
	/* revoke and list go by workstation */
	"CREATE INDEX tokens_workstation ON tokens(workstation, created_ms);",

	/* 2: users with their emails and badges, badge readers. The
	 * children cascade with their user (PRAGMA foreign_keys=ON on every
	 * connection). pin_hash NULL: no PIN. A reader's printer is checked
	 * when the reader is put, not by a foreign key: deleting a printer
	 * must not fail on, nor silently delete, the readers that name it. */
	"CREATE TABLE users("
	" username TEXT PRIMARY KEY,"
	" display_name TEXT NOT NULL DEFAULT '',"
	" groups TEXT NOT NULL DEFAULT '',"
	" pin_hash TEXT,"
	" source TEXT NOT NULL DEFAULT 'local'"
	"  CHECK(source IN ('local', 'ldap', 'scim')),"
	" created_ms INTEGER NOT NULL,"
	" updated_ms INTEGER NOT NULL);"
	"CREATE TABLE user_emails("
	" username TEXT NOT NULL REFERENCES users(username) ON DELETE CASCADE,"
	" email TEXT NOT NULL,"
	" PRIMARY KEY(username, email));"
	/* the Email service finds the sender by address */
	"CREATE INDEX user_emails_email ON user_emails(email);"
	"CREATE TABLE badges("
	" badge_id TEXT PRIMARY KEY,"
	" username TEXT NOT NULL REFERENCES users(username) ON DELETE CASCADE);"
	/* a user's badges, and the cascade, go by username */
	"CREATE INDEX badges_username ON badges(username);"
	"CREATE TABLE readers("
	" name TEXT PRIMARY KEY,"
	" address TEXT NOT NULL,"
	" direction TEXT NOT NULL CHECK(direction IN ('connect', 'listen')),"
	" port INTEGER NOT NULL DEFAULT 0 CHECK(port BETWEEN 0 AND 65535),"
	" format TEXT NOT NULL,"
	" printer TEXT NOT NULL,"
	" mode TEXT NOT NULL CHECK(mode IN ('most-recent', 'all')),"
	" created_ms INTEGER NOT NULL);",

	/* 3: administrators of the web console, with their passwords as
	 * scrypt PHC strings (directory-secret.c), never in clear. */
	"CREATE TABLE admins("
	" name TEXT PRIMARY KEY,"
	" password_hash TEXT NOT NULL,"
	" created_ms INTEGER NOT NULL,"
	" updated_ms INTEGER NOT NULL);",

	/* 4: the stable key of a user synced from an identity source
	 * (IdentitySync: LDAP entryUUID, AD objectGUID), so that a rename
	 * in the source renames the user here instead of adding a second
	 * one. NULL for local users; unique within a source. */
	"ALTER TABLE users ADD COLUMN external_id TEXT;"
	"CREATE UNIQUE INDEX users_external ON users(source, external_id)"
	" WHERE external_id IS NOT NULL;",

	/* 5: the mark of a PIN a sync set from the source's PIN attribute
	 * (pl_dir_user_t.pin_mark): a keyed MAC, so that the next sync
	 * tells a changed PIN without hashing every user's again. NULL:
	 * no PIN, or one set by plsc or the console. */
	"ALTER TABLE users ADD COLUMN pin_mark TEXT;",

	/* 6: per-printer SNMP options (PrinterLogicServiceSNMP): the option
	 * text of pl_dir_snmp_parse, e.g. "interval=30,profile=v3ro" or
	 * "off". No row: the defaults. A table of its own, so a printer's
	 * other fields and this migration stay apart; the options go with
	 * their printer. */
	"CREATE TABLE printer_snmp("
	" printer TEXT PRIMARY KEY REFERENCES printers(name) ON DELETE CASCADE,"
	" options TEXT NOT NULL,"
	" updated_ms INTEGER NOT NULL);",

	/* 7: e-mail printing (PrinterLogicServiceEmail): a printer's own
	 * address for direct printing and its guest flag; senders are found
	 * by address without regard to case. */
	"ALTER TABLE printers ADD COLUMN email TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE printers ADD COLUMN guest INTEGER NOT NULL DEFAULT 0;"
	"CREATE INDEX printers_email ON printers(email COLLATE NOCASE) WHERE email != '';"
	"CREATE INDEX user_emails_email_nocase ON user_emails(email COLLATE NOCASE);",

	/* 8: users, user_emails and badges rebuilt WITHOUT ROWID, each
	 * table its own key's index: a user with an address and two badges
	 * was 13 b-tree inserts (every table a rowid b-tree beside its key's
	 * index, and user_emails_email, which no query used), now 8; an
	 * identity source's first sync of 100,000 users is mostly these
	 * inserts. users' CHECK is the same rule as ORs: "IN (list)" made SQLite build the
	 * list as a temporary b-tree at every INSERT and UPDATE. A child's
	 * order was its rowid; it is pos now (the old rowid here, the place
	 * in the user's list for rows written later), so addresses and
	 * badges read back in the order they were put, as before.
	 * The old tables are renamed out of the way (their children's
	 * REFERENCES follow, so nothing cascades), copied, and dropped,
	 * children first. Rows the old schema's keys allowed but the
	 * constraints say cannot be (a NULL key, a child of no user: only a
	 * tool writing with foreign keys off could leave one) are not
	 * copied; every constraint and ON DELETE CASCADE is as before. */
	"DROP INDEX users_external;"
	"DROP INDEX user_emails_email;"
	"DROP INDEX user_emails_email_nocase;"
	"DROP INDEX badges_username;"
	"ALTER TABLE badges RENAME TO badges_v7;"
	"ALTER TABLE user_emails RENAME TO user_emails_v7;"
	"ALTER TABLE users RENAME TO users_v7;"
	"CREATE TABLE users("
	" username TEXT NOT NULL PRIMARY KEY,"
	" display_name TEXT NOT NULL DEFAULT '',"
	" groups TEXT NOT NULL DEFAULT '',"
	" pin_hash TEXT,"
	" source TEXT NOT NULL DEFAULT 'local'"
	"  CHECK(source = 'local' OR source = 'ldap' OR source = 'scim'),"
	" created_ms INTEGER NOT NULL,"
	" updated_ms INTEGER NOT NULL,"
	" external_id TEXT,"
	" pin_mark TEXT) WITHOUT ROWID;"
	"INSERT INTO users(username, display_name, groups, pin_hash, source,"
	" created_ms, updated_ms, external_id, pin_mark)"
	" SELECT username, display_name, groups, pin_hash, source,"
	" created_ms, updated_ms, external_id, pin_mark FROM users_v7"
	" WHERE username IS NOT NULL;"
	"CREATE TABLE user_emails("
	" username TEXT NOT NULL REFERENCES users(username) ON DELETE CASCADE,"
	" email TEXT NOT NULL,"
	" pos INTEGER NOT NULL,"
	" PRIMARY KEY(username, email)) WITHOUT ROWID;"
	"INSERT INTO user_emails(username, email, pos)"
	" SELECT e.username, e.email, e.rowid FROM user_emails_v7 e"
	" JOIN users u ON u.username = e.username;"
	"CREATE TABLE badges("
	" badge_id TEXT NOT NULL PRIMARY KEY,"
	" username TEXT NOT NULL REFERENCES users(username) ON DELETE CASCADE,"
	" pos INTEGER NOT NULL) WITHOUT ROWID;"
	"INSERT INTO badges(badge_id, username, pos)"
	" SELECT b.badge_id, b.username, b.rowid FROM badges_v7 b"
	" JOIN users u ON u.username = b.username"
	" WHERE b.badge_id IS NOT NULL;"
	"DROP TABLE badges_v7;"
	"DROP TABLE user_emails_v7;"
	"DROP TABLE users_v7;"
	"CREATE UNIQUE INDEX users_external ON users(source, external_id)"
	" WHERE external_id IS NOT NULL;"
	/* the Email service finds the sender by address, in any case */
	"CREATE INDEX user_emails_email_nocase ON user_emails(email COLLATE NOCASE);"
	/* a user's badges in order, and the cascade, go by username */
	"CREATE INDEX badges_username ON badges(username, pos);",
};

_Static_assert(PL_ARRAY_LEN(migrations) == PL_DIR_SCHEMA_VERSION,
	       "one migration per schema version");

static int version_read(pl_dir_t *d, int *v, pl_err_t *err)
{
	return pl_dir_query_int(d, "PRAGMA user_version", v, err);
}

static int refuse_newer(const pl_dir_t *d, int v, pl_err_t *err)
{
	if (v <= PL_DIR_SCHEMA_VERSION)
		return 0;
	return pl_dir_fail(err,
			   "%s has schema version %d, this program knows up to %d: "
			   "upgrade the Service Client",
			   d->path, v, PL_DIR_SCHEMA_VERSION);
}

/* PRAGMA takes no bound parameters, so the statement is formatted; the
 * number is our own migration index, never outside input. */
static int version_write(pl_dir_t *d, int v, pl_err_t *err)
{
	char sql[64];
	if (pl_fmt(sql, sizeof(sql), "PRAGMA user_version = %d", v) < 0)
		return pl_dir_fail(err, "schema version %d: statement too long", v);
	return pl_dir_exec(d, sql, "set schema version", err);
}

static int migration_body(pl_dir_t *d, int target, pl_err_t *err)
{
	char what[64];
	int v;
	if (version_read(d, &v, err) < 0 || refuse_newer(d, v, err) < 0)
		return -1;
	/* Another process (the CLI and a service start together) may have
	 * migrated while we waited for the write lock. */
	if (v >= target)
		return 0;
	(void)pl_fmt(what, sizeof(what), "schema migration %d", target);
	if (pl_dir_exec(d, migrations[target - 1], what, err) < 0)
		return -1;
	return version_write(d, target, err);
}

/* One migration, one transaction: a failure leaves the database at the
 * previous version, never half-migrated. IMMEDIATE takes the write lock
 * up front so two openers serialise here instead of failing at COMMIT. */
static int migration_apply(pl_dir_t *d, int target, pl_err_t *err)
{
	if (pl_dir_exec(d, "BEGIN IMMEDIATE", "schema migration", err) < 0)
		return -1;
	if (migration_body(d, target, err) < 0 ||
	    pl_dir_exec(d, "COMMIT", "schema migration", err) < 0) {
		(void)sqlite3_exec(d->db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return 0;
}

int pl_dir_schema_upgrade(pl_dir_t *d, pl_err_t *err)
{
	int v;
	if (version_read(d, &v, err) < 0 || refuse_newer(d, v, err) < 0)
		return -1;
	for (int next = v + 1; next <= PL_DIR_SCHEMA_VERSION; next++)
		if (migration_apply(d, next, err) < 0)
			return -1;
	return 0;
}

int pl_dir_schema_check(pl_dir_t *d, pl_err_t *err)
{
	int v;
	if (version_read(d, &v, err) < 0 || refuse_newer(d, v, err) < 0)
		return -1;
	if (v < PL_DIR_SCHEMA_VERSION)
		return pl_dir_fail(err,
				   "%s has schema version %d, this program needs %d: "
				   "open it read-write once (start the Service Client) "
				   "to upgrade it",
				   d->path, v, PL_DIR_SCHEMA_VERSION);
	return 0;
}
