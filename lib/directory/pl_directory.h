/* pl_directory: the embedded directory (DESIGN.md §6): an SQLite database
 * in WAL mode at <state_dir>/directory/directory.db with versioned schema
 * migrations: printers and workstation tokens (version 1); users, their
 * badges and PIN hashes, and badge readers (version 2); administrators of
 * the web console with their password hashes (version 3); the stable key
 * of users synced from LDAP or SCIM (version 4); the keyed mark of a
 * synced PIN (version 5); per-printer SNMP options (version 6,
 * printer_snmp; directory-snmp.c); a printer's e-mail address and guest
 * flag (version 7); users, addresses and badges without rowids (version 8).
 *
 * Tokens: "plsc_<id>_<secret>" where id (8 hex) names the row and secret
 * (32 random bytes, base64url) is stored only as SHA-256. Shown once at
 * creation. Verification is constant-time on the hash. */
#ifndef PL_DIRECTORY_H
#define PL_DIRECTORY_H

#include <stddef.h>
#include <stdint.h>

#include "pl_config.h" /* pl_err_t */
#include "pl_sandbox.h"

#define PL_DIR_SCHEMA_VERSION 8
#define PL_TOKEN_MAX 96
#define PL_DIR_TOKEN_ID_LEN 8 /* hex digits */

typedef struct pl_dir pl_dir_t;

typedef struct {
	char name[128];
	char uri[512];
	char location[256];
	char formats[256]; /* comma-separated MIME types; "" = any */
	/* Mail to this address prints here at once (PrinterLogicServiceEmail,
	 * direct printing); "" = none. An addr-spec as pl_dir_email_check. */
	char email[256];
	int guest; /* 1: mail from anyone prints here (guest printing, limited) */
} pl_dir_printer_t;

typedef struct {
	char workstation[128];
	char id[16];
	int64_t created_ms;
	int64_t last_used_ms; /* 0 = never */
	int revoked;
} pl_dir_token_t;

/* How to open: PL_DIR_WRITE opens or creates (with migrations);
 * PL_DIR_READ opens read-only without creating (token checks then record
 * no last use); PL_DIR_READ_CREATE is PL_DIR_READ after creating a
 * missing database where the caller may. Services that face the network
 * read (with privilege separation they cannot write, privsep.c). */
enum { PL_DIR_WRITE = 0, PL_DIR_READ = 1, PL_DIR_READ_CREATE = 2 };
int pl_dir_open(pl_dir_t **d, const char *path, int mode, pl_err_t *err);
/* What a service that will pl_dir_open(path, mode) needs in its sandbox
 * (pl_sandbox.h), added to sb; call it before the sandbox is applied.
 * PL_DIR_WRITE: the database's folder (created 0750 if missing, as
 * pl_dir_open would) for regular files: read, write, create, delete,
 * because SQLite in WAL mode creates and removes the -wal and -shm files
 * beside the database and every writer updates the -shm index. No new
 * directories there. PL_DIR_READ, PL_DIR_READ_CREATE: the folder
 * read-only, as privilege separation makes it; READ_CREATE first creates
 * a missing database (what pl_dir_open would do, done while it still
 * may). SQLite then reads the WAL database with a read-only -shm, which
 * the writers keep (SQLITE_FCNTL_PERSIST_WAL). */
int pl_dir_sandbox(pl_sandbox_t *sb, const char *path, int mode, pl_err_t *err);
void pl_dir_close(pl_dir_t *d);
int pl_dir_schema_version(pl_dir_t *d);

/* Printers. add fails if the name exists (unless replace). get: 0 found,
 * 1 not found, -1 error. */
int pl_dir_printer_add(pl_dir_t *d, const pl_dir_printer_t *p, int replace,
		       pl_err_t *err);
int pl_dir_printer_del(pl_dir_t *d, const char *name, pl_err_t *err);
int pl_dir_printer_get(pl_dir_t *d, const char *name, pl_dir_printer_t *out,
		       pl_err_t *err);
int pl_dir_printer_list(pl_dir_t *d, pl_dir_printer_t **out, size_t *n,
			pl_err_t *err);
/* The printer whose email is addr, compared without regard to case: 0
 * found, 1 none, -1 error. */
int pl_dir_printer_by_email(pl_dir_t *d, const char *addr, pl_dir_printer_t *out,
			    pl_err_t *err);

/* Workstation tokens. create writes the token (shown once) into tok. A
 * workstation may hold several tokens; revoke revokes all of its tokens
 * (or the one whose id is given as "id:<id>"). verify: 1 valid (fills
 * workstation, updates last_used), 0 unknown/wrong/revoked, -1 error. */
int pl_dir_token_create(pl_dir_t *d, const char *workstation,
			char tok[PL_TOKEN_MAX], pl_err_t *err);
int pl_dir_token_verify(pl_dir_t *d, const char *token, char *workstation,
			size_t wsz, pl_err_t *err);
int pl_dir_token_revoke(pl_dir_t *d, const char *which, pl_err_t *err);
/* The id (not secret) of a well-formed token into id; 0, or -1 when the
 * token is not one. Nothing is looked up. */
int pl_dir_token_id(const char *token, char id[PL_DIR_TOKEN_ID_LEN + 1]);
/* Record that the token with this id was used now: what verify does on a
 * handle that may write, for a service that verified the token on a
 * read-only one (OfflinePrint asks plsc-directory, DIR_WRITE token-used).
 * At most once a minute (every write is an fsync), never for a revoked
 * token. 1 recorded; 0 not (used within the minute, or revoked); -1
 * error ("invalid token id ...", "no token with id ..."). */
int pl_dir_token_touch(pl_dir_t *d, const char *id, pl_err_t *err);
int pl_dir_token_list(pl_dir_t *d, pl_dir_token_t **out, size_t *n,
		      pl_err_t *err);

/* ---- users, badges, badge readers (schema version 2) ---- */

#define PL_DIR_MAX_BADGES 8
#define PL_DIR_MAX_EMAILS 4
#define PL_DIR_EXTERNAL_ID_MAX 129
#define PL_DIR_PIN_MARK_MAX 65
#define PL_DIR_PIN_HASH_MAX 256

typedef struct {
	char username[128];
	char display_name[256];
	char emails[PL_DIR_MAX_EMAILS][256];
	int nemails;
	char groups[512]; /* comma-separated */
	char badges[PL_DIR_MAX_BADGES][65]; /* canonical IDs (pl_badge) */
	int nbadges;
	int has_pin;
	char source[16]; /* "local", "ldap", "scim" */
	/* A synced user's stable key in its source (entryUUID, objectGUID
	 * as hex); "" for a local user. */
	char external_id[PL_DIR_EXTERNAL_ID_MAX];
	/* A PIN set by a sync from the source's PIN attribute: a keyed MAC
	 * of it (IdentitySync's key; hex), so a sync tells a changed PIN
	 * without the slow hash; "" when the PIN (if any) was not set that
	 * way. */
	char pin_mark[PL_DIR_PIN_MARK_MAX];
	int64_t created_ms, updated_ms;
} pl_dir_user_t;

typedef struct {
	char name[128];
	char address[256];  /* IP address (or host) of the reader */
	char direction[16]; /* "connect" (it connects to us) or "listen" (we dial it) */
	int port;	    /* its port when we dial; 0 otherwise */
	char format[512];   /* JSON frame format (pl_badge_format_parse) */
	char printer[128];
	char mode[16];	    /* "most-recent" or "all" */
} pl_dir_reader_t;

/* NULL when addr is an e-mail address the directory takes (a conservative
 * addr-spec: a dot-atom of ASCII atext, at most 64, @, a domain of LDH
 * labels with at least one dot, at most 255; see directory-email.c),
 * else why not, in a few words that do not repeat the address. */
const char *pl_dir_email_check(const char *addr);

/* Users. put adds or replaces (replace=1) a user with its emails and
 * badges; a badge already owned by another user is refused ("badge ...
 * already belongs to bob"). A user synced from LDAP or SCIM (source not
 * local) is read-only to put and del: "user bob is synced from ldap
 * (IdentitySync): change it in the identity source"; only
 * pl_dir_sync_apply changes it (a PIN may still be set). pin (may be NULL: keep / none; "" clears) is
 * stored as a salted slow hash (scrypt). get: 0 found, 1 not found, -1
 * error. */
int pl_dir_user_put(pl_dir_t *d, const pl_dir_user_t *u, const char *pin,
		    int replace, pl_err_t *err);
int pl_dir_user_del(pl_dir_t *d, const char *username, pl_err_t *err);
int pl_dir_user_get(pl_dir_t *d, const char *username, pl_dir_user_t *out,
		    pl_err_t *err);
int pl_dir_user_list(pl_dir_t *d, pl_dir_user_t **out, size_t *n,
		     pl_err_t *err);
/* The checks put and sync-apply make of a record (name, display name,
 * groups, e-mail addresses, badges), for a writer that wants to refuse a
 * bad record before it is sent (IdentitySync's SCIM server). 0, or -1
 * with err. */
int pl_dir_user_check(const pl_dir_user_t *u, pl_err_t *err);
/* The users of one source ("ldap"), with their external_id, by
 * username. */
int pl_dir_user_list_source(pl_dir_t *d, const char *source, pl_dir_user_t **out,
			    size_t *n, pl_err_t *err);
/* The same one user at a time, without holding them all (a sync of
 * 100,000 users): fn gets each (valid only during the call), in username
 * order; a non-zero return stops the walk and is returned. 0, the
 * callback's value, or -1 with err. Holds the handle's mutex throughout:
 * keep fn short. */
typedef int (*pl_dir_user_fn)(void *arg, const pl_dir_user_t *u);
int pl_dir_user_each_source(pl_dir_t *d, const char *source, pl_dir_user_fn fn, void *arg,
			    pl_err_t *err);
/* Only the keys and names of one source's users (an incremental sync's
 * presence check), in no particular order; fn as above. */
typedef int (*pl_dir_key_fn)(void *arg, const char *key, const char *username);
int pl_dir_user_keys_source(pl_dir_t *d, const char *source, pl_dir_key_fn fn, void *arg,
			    pl_err_t *err);
/* The user one of whose e-mail addresses is addr, compared without
 * regard to case (as mail systems treat them): 0 found (username), 1
 * none, -1 error. Two users with the same address: the first by name. */
int pl_dir_user_by_email(pl_dir_t *d, const char *addr, char *username, size_t usz,
			 pl_err_t *err);
/* The owner of a canonical badge ID: 0 found, 1 unknown, -1 error. */
int pl_dir_badge_user(pl_dir_t *d, const char *badge, char *username,
		      size_t usz, pl_err_t *err);
/* Check a PIN: 1 right, 0 wrong or no PIN set, -1 error. set: NULL or ""
 * clears the PIN. */
int pl_dir_pin_check(pl_dir_t *d, const char *username, const char *pin,
		     pl_err_t *err);
int pl_dir_pin_set(pl_dir_t *d, const char *username, const char *pin,
		   pl_err_t *err);
/* Is pin a PIN the directory takes (4 to 32 digits)? */
int pl_dir_pin_valid(const char *pin);
/* The stored form of a valid PIN (a salted scrypt hash, ~50 ms, no lock
 * taken), for a writer that sends it in a sync batch (IdentitySync).
 * 0, or -1 with err (not a PIN: "a PIN is 4 to 32 digits"). */
int pl_dir_pin_hash(const char *pin, char out[PL_DIR_PIN_HASH_MAX], pl_err_t *err);

/* Badge readers. put adds (replace=1: adds or replaces). update changes
 * every field of the reader named r->name, which must exist ("no reader
 * named ..."): the name is the key and stays, as a printer's does; it
 * never creates one. Both check the record and that its printer exists.
 * get: 0 found, 1 not found (also for a name that is not valid), -1
 * error. */
int pl_dir_reader_put(pl_dir_t *d, const pl_dir_reader_t *r, int replace,
		      pl_err_t *err);
int pl_dir_reader_update(pl_dir_t *d, const pl_dir_reader_t *r, pl_err_t *err);
int pl_dir_reader_del(pl_dir_t *d, const char *name, pl_err_t *err);
int pl_dir_reader_get(pl_dir_t *d, const char *name, pl_dir_reader_t *out,
		      pl_err_t *err);
int pl_dir_reader_list(pl_dir_t *d, pl_dir_reader_t **out, size_t *n,
		       pl_err_t *err);

/* CSV import of users (plsc users import, the web console). text (len
 * bytes, need not be NUL-terminated) holds one user a line, columns:
 * username, display name, email, badge IDs (separated by spaces, ';' or
 * '|'; normalised with pl_badge_normalize), PIN. Trailing columns may be
 * left out; RFC 4180 quotes, but no field spans lines. A UTF-8 byte-order
 * mark at the very start is skipped; lines end with LF or CR LF; blank
 * lines and lines starting with '#' are skipped, and so is a first line
 * starting with "username" (a header; the word may be quoted). A line
 * longer than 4095 bytes (without its line end) is an error for that
 * line, and so is a field too long for pl_dir_user_t (never cut short).
 *
 * Each line is stored like pl_dir_user_put(replace=1) with source "local":
 * an existing user gets the line's name, email and badges, its groups are
 * cleared, and an empty PIN column keeps its PIN. Lines are independent:
 * on_error (may be NULL) gets each bad line's 1-based number (counting
 * every line) and a message, and the import goes on with the next line.
 * imported and failed (may be NULL) get the counts of good and bad lines.
 * Returns 0, or -1 on a fatal error (bad arguments), which is reported
 * through on_error with line 0 and counts nothing. Each PIN costs a scrypt
 * hash (~50 ms); nothing holds the handle's mutex between lines. */
/* The parser under the import, which stores nothing: fn gets each
 * record's user (badges normalised) and PIN (NULL: none given), or, for a
 * bad line, u NULL and a message. Blank, comment and header lines are not
 * passed on. Untrusted input: fuzzed (tests/fuzz/fuzz_csv_users.c). */
/* Append a badge ID, typed in any form pl_badge_normalize takes, to u
 * (canonical). 0, or -1 with msg: not a badge ID, or too many. */
int pl_dir_user_add_badge(pl_dir_user_t *u, const char *text, char *msg, size_t msz);
typedef int (*pl_dir_csv_fn)(void *arg, long line, pl_dir_user_t *u, const char *pin,
			     const char *bad);
void pl_dir_users_csv_parse(const char *text, size_t len, pl_dir_csv_fn fn, void *arg);
typedef void (*pl_dir_import_err_fn)(void *arg, long line, const char *message);
int pl_dir_user_import_csv(pl_dir_t *d, const char *text, size_t len,
			   pl_dir_import_err_fn on_error, void *arg,
			   long *imported, long *failed);
/* The same for a part of a file that begins at line first_line (1: the
 * whole file, as above). A file too large for one message travels in
 * parts cut at line ends (DIR_WRITE users-import, proto/PROTOCOL.md);
 * with first_line > 1 the part's lines are numbered on from there, and
 * neither a byte-order mark nor a header is looked for, so the parts
 * import exactly as the whole file would. */
void pl_dir_users_csv_parse_from(const char *text, size_t len, long first_line,
				 pl_dir_csv_fn fn, void *arg);
int pl_dir_user_import_csv_from(pl_dir_t *d, const char *text, size_t len,
				long first_line, pl_dir_import_err_fn on_error,
				void *arg, long *imported, long *failed);

/* ---- users synced from an identity source (directory-sync.c) ---- */

/* One change of a sync: remove the user whose key is key, or put user
 * (user.external_id is the key; user.source is set by apply). */
typedef struct {
	int remove;
	char key[PL_DIR_EXTERNAL_ID_MAX];
	pl_dir_user_t user;
	/* The PIN: PL_DIR_SYNC_PIN_KEEP (as it is), _SET (pin_hash, a
	 * stored form from pl_dir_pin_hash, with user.pin_mark) or _CLEAR
	 * (PIN and mark). */
	int pin_op;
	char pin_hash[PL_DIR_PIN_HASH_MAX];
} pl_dir_sync_item_t;

enum { PL_DIR_SYNC_PIN_KEEP = 0, PL_DIR_SYNC_PIN_SET, PL_DIR_SYNC_PIN_CLEAR };

typedef struct {
	long added, updated, renamed, removed, failed;
} pl_dir_sync_counts_t;

typedef void (*pl_dir_sync_err_fn)(void *arg, const pl_dir_sync_item_t *it,
				   const char *message);
/* Apply a sync's changes for source ("ldap", "scim") in ONE transaction:
 * committed whole, or (a database error) not at all. Items are matched by
 * key within the source, never by name: a put renames a user whose key
 * it carries, and neither a put nor a remove ever touches a user of
 * another source (a local user of the same name is an item error:
 * "user bob exists as a local user; not replaced"). Removes go first,
 * then the badges of every user the batch puts are cleared, then the puts:
 * a badge that moves between two users in one batch is not a conflict. An
 * item that is refused (a bad record, a badge of another user, a name
 * taken) is refused by checks made before anything of it is written, and
 * goes to on_error; the rest commits.
 * A removed user's emails, badges and PIN go with it. A put's pin_op sets
 * (a hash that is not a well-formed stored hash is an item error) or
 * clears the PIN with its mark; a rename keeps both. 0 (counts set), or
 * -1 with err: nothing applied. */
int pl_dir_sync_apply(pl_dir_t *d, const char *source, const pl_dir_sync_item_t *items,
		      size_t n, pl_dir_sync_err_fn on_error, void *arg,
		      pl_dir_sync_counts_t *counts, pl_err_t *err);
/* The same with the items from next, which fills *it and returns 1, 0 at
 * the end, or -1 with err (a malformed batch: nothing is applied). It is
 * walked at most twice, each walk from its first line, asked with restart
 * PL_DIR_SYNC_RESTART_KEYS (a walk that uses only remove, key and
 * user.external_id, so next may fill only those) or
 * PL_DIR_SYNC_RESTART_WHOLE (whole items; the keys-only walk is skipped
 * when it would change nothing), restart 0 for the lines after the first,
 * so a large batch need not be held as items (plsc-directory keeps it as
 * text). */
#define PL_DIR_SYNC_RESTART_KEYS 1
#define PL_DIR_SYNC_RESTART_WHOLE 2
typedef int (*pl_dir_sync_next_fn)(void *arg, int restart, pl_dir_sync_item_t *it,
				   pl_err_t *err);
int pl_dir_sync_apply_from(pl_dir_t *d, const char *source, pl_dir_sync_next_fn next,
			   void *narg, pl_dir_sync_err_fn on_error, void *arg,
			   pl_dir_sync_counts_t *counts, pl_err_t *err);

/* The same transaction, applied as the batch arrives (plsc-directory
 * applies IdentitySync's parts while IdentitySync still reads): begin
 * opens it (BEGIN IMMEDIATE: SQLite's write lock is held until end) when
 * the source has no synced user yet, where the two walks above come down
 * to the puts in order, and returns 0; 1 when the source has users
 * (nothing is left open: apply the batch whole instead); -1 with err.
 * part applies next's items (restart as above, whole items) in order into
 * *counts (added to); -1 a database error or a malformed batch: end it
 * without commit. end commits (commit 1) or rolls back (0, or a failed
 * COMMIT: -1 with err): all or nothing, as pl_dir_sync_apply. Use a
 * handle of its own for the stream (pl_dir_open again), one stream at a
 * time, its calls in order: from begin to end the handle writes with
 * foreign keys off (the stream keeps the children in step itself). */
int pl_dir_sync_stream_begin(pl_dir_t *d, const char *source, pl_err_t *err);
int pl_dir_sync_stream_part(pl_dir_t *d, const char *source, pl_dir_sync_next_fn next,
			    void *narg, pl_dir_sync_err_fn on_error, void *arg,
			    pl_dir_sync_counts_t *counts, pl_err_t *err);
int pl_dir_sync_stream_end(pl_dir_t *d, int commit, pl_err_t *err);
/* The stream's handle leaves the WAL as its COMMIT wrote it (a first
 * sync's whole database): this copies it back into the database, later,
 * off the answer's path (a passive checkpoint: readers and writers go on). */
void pl_dir_sync_stream_checkpoint(pl_dir_t *d);

/* ---- administrators of the web console (schema version 3) ---- */

#define PL_DIR_ADMIN_PASSWORD_MIN 10   /* characters (UTF-8) */
#define PL_DIR_ADMIN_PASSWORD_MAX 1024 /* bytes */

typedef struct {
	char name[128];
	int64_t created_ms, updated_ms;
} pl_dir_admin_t;

/* put: add (replace=0; "administrator NAME already exists") or set the
 * password of an existing one (replace=1; "no administrator NAME"). name
 * as pl_dir_valid_name ([A-Za-z0-9._-]{1,127}); password at least 10
 * characters ("password too short: at least 10 characters") and at most
 * 1024 bytes, stored only as a salted scrypt hash (~50 ms, outside the
 * handle's mutex). 0 or -1.
 * del: 0, or -1 ("no administrator NAME").
 * check: 1 right password; 0 wrong password, unknown or invalid name, or
 * a password NULL or over 1024 bytes (not hashed); -1 error (e.g. a
 * malformed stored hash). An unknown or invalid name costs the same
 * scrypt work as a wrong password, so timing does not tell which names
 * exist. Call it off the event loop: ~50 ms.
 * exists: 1 yes, 0 no, -1 error (an invalid name: "invalid administrator
 * name (...)").
 * list: by name, without hashes; the caller frees *out (NULL when empty). */
int pl_dir_admin_put(pl_dir_t *d, const char *name, const char *password,
		     int replace, pl_err_t *err);
int pl_dir_admin_del(pl_dir_t *d, const char *name, pl_err_t *err);
/* del, but never the last administrator ("NAME is the last
 * administrator"): checked and deleted in one statement (plsc-directory,
 * for the console). */
int pl_dir_admin_del_not_last(pl_dir_t *d, const char *name, pl_err_t *err);
int pl_dir_admin_check(pl_dir_t *d, const char *name, const char *password,
		       pl_err_t *err);
int pl_dir_admin_exists(pl_dir_t *d, const char *name, pl_err_t *err);
/* One administrator without the hash: 0 found, 1 no such, -1 error. The
 * console ends sessions older than updated_ms (a password change). */
int pl_dir_admin_get(pl_dir_t *d, const char *name, pl_dir_admin_t *out,
		     pl_err_t *err);
int pl_dir_admin_list(pl_dir_t *d, pl_dir_admin_t **out, size_t *n,
		      pl_err_t *err);

/* ---- per-printer SNMP options (directory-snmp.c) ----
 * The text form, comma-separated, any order: "off" (not polled), "on",
 * interval=SECONDS (1..86400, default 60), timeout=MS (100..60000,
 * default 2000), retries=N (0..10, default 1), port=N (1..65535, default
 * 161), profile=NAME (a profile of PrinterLogicServiceSNMP's "profiles",
 * default "default"), host=HOST (default: the host of the printer's URI).
 * No community or passphrase is ever stored here: those live in the
 * service's profiles (files of mode 0600). */
#define PL_DIR_SNMP_TEXT_MAX 512

typedef struct {
	int enabled;
	int interval_s, timeout_ms, retries, port;
	char profile[64];
	char host[256]; /* "": the URI's host */
} pl_dir_snmp_t;

void pl_dir_snmp_defaults(pl_dir_snmp_t *o);
/* Parse text over the defaults. 0, or -1 with why ("unknown option
 * 'x'", "interval: 10 to 86400 seconds"). */
int pl_dir_snmp_parse(const char *text, pl_dir_snmp_t *o, char *why, size_t whysz);
/* Store a printer's options (checked; the printer must exist). "" or
 * "default" removes them (the defaults apply). 0, or -1 with err. */
int pl_dir_snmp_set(pl_dir_t *d, const char *printer, const char *text, pl_err_t *err);
/* A printer's option text: 0 found, 1 none (defaults), -1 error. */
int pl_dir_snmp_get(pl_dir_t *d, const char *printer, char text[PL_DIR_SNMP_TEXT_MAX],
		    pl_err_t *err);
/* The host a printer's URI names ("ipp://[::1]:631/x" -> "::1"): 0, or
 * -1 when the URI has none. */
int pl_dir_uri_host(const char *uri, char *host, size_t size);

/* ---- records as JSON (directory-json.c): the shape of `plsc ... list
 * --json` and of the console's API ---- */
json_t *pl_dir_user_json(const pl_dir_user_t *u);
json_t *pl_dir_printer_json(const pl_dir_printer_t *p);
json_t *pl_dir_reader_json(const pl_dir_reader_t *r);

#endif
