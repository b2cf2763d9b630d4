/* Internals of the directory shared by directory.c (connection, printers,
 * tokens), directory-schema.c (versioned migrations), directory-users.c
 * (users, badges, PINs), directory-readers.c (badge readers),
 * directory-admins.c (console administrators), directory-import.c (CSV
 * user import) and directory-secret.c (scrypt hashes of PINs and
 * passwords). */
#ifndef PL_DIRECTORY_PRIVATE_H
#define PL_DIRECTORY_PRIVATE_H

#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "pl_directory.h"

/* The connection is opened SQLITE_OPEN_NOMUTEX and guarded by mu instead:
 * every public call holds mu from its first statement to its last, so a
 * multi-statement operation (select then update, a migration) and the
 * sqlite3_errmsg() read after a failure see no other thread's work. With
 * FULLMUTEX alone each API call would be atomic but the sequence would
 * not, and an error message could belong to another thread's call. */
/* Statements a hot path runs again and again (a job's token check, a
 * swipe's badge, a release's printer) stay prepared in the handle instead
 * of being parsed each time. Each is used only under mu, like every
 * statement, so the threads sharing a handle (a service's loop and its
 * workers) never step one at the same time; and each is reset as soon as
 * its row is read, which ends its read transaction: the next use sees the
 * database as it is then (a token revoked since is refused). */
typedef enum {
	PL_DIR_ST_TOKEN_MATCH,
	PL_DIR_ST_TOKEN_TOUCH,
	PL_DIR_ST_BADGE_OWNER,
	PL_DIR_ST_PRINTER_GET,
	PL_DIR_ST_COUNT
} pl_dir_st_t;

/* Statements a sync runs for every user: parsing them again each time
 * was most of a large sync's cost. */
#define PL_DIR_KEPT_MAX 48

struct pl_dir {
	sqlite3 *db;
	pthread_mutex_t mu;
	int readonly;
	char path[PATH_MAX];
	sqlite3_stmt *cached[PL_DIR_ST_COUNT]; /* NULL until first used */
	/* statements kept by their SQL text's address (pl_dir_kept) */
	struct {
		const char *sql;
		sqlite3_stmt *st;
	} kept[PL_DIR_KEPT_MAX];
};

/* Set err (may be NULL) and return -1, so callers can `return pl_dir_fail(...)`. */
int pl_dir_fail(pl_err_t *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* "<what>: <sqlite's message for the last call on d>"; returns -1. */
int pl_dir_sqlfail(pl_dir_t *d, pl_err_t *err, const char *what);
/* Run constant SQL (one or more statements, no parameters). 0 or -1. */
int pl_dir_exec(pl_dir_t *d, const char *sql, const char *what, pl_err_t *err);
/* Run a statement that yields one integer (e.g. "PRAGMA user_version"). */
int pl_dir_query_int(pl_dir_t *d, const char *sql, int *out, pl_err_t *err);

/* Prepare; NULL (err set) on failure. */
sqlite3_stmt *pl_dir_prepare(pl_dir_t *d, const char *sql, pl_err_t *err);
/* The kept statement which (see pl_dir_st_t), prepared from sql on first
 * use; NULL (err set) on failure. Bind, step, read, then pl_dir_cached_done
 * instead of finalizing. Under the handle's mutex. */
sqlite3_stmt *pl_dir_cached(pl_dir_t *d, pl_dir_st_t which, const char *sql,
			    pl_err_t *err);
/* The statement for sql, a string literal: prepared on first use and kept
 * by the literal's address (no enum to extend); when the table is full, a
 * fresh one. Bind, step, read, then pl_dir_kept_done (which finalizes a
 * fresh one). Under the handle's mutex. pl_dir_run_kept: step once
 * expecting SQLITE_DONE, as pl_dir_run, then pl_dir_kept_done. */
sqlite3_stmt *pl_dir_kept(pl_dir_t *d, const char *sql, pl_err_t *err);
void pl_dir_kept_done(pl_dir_t *d, sqlite3_stmt *st);
int pl_dir_run_kept(pl_dir_t *d, sqlite3_stmt *st, const char *what, pl_err_t *err);
/* Reset and unbind a kept statement: its read ends, nothing stays bound
 * (bindings are SQLITE_STATIC: they point into the caller's strings). */
void pl_dir_cached_done(sqlite3_stmt *st);
/* Step a statement that yields no rows and finalize it: the (extended)
 * result code, SQLITE_DONE on success (err set otherwise). */
int pl_dir_run(pl_dir_t *d, sqlite3_stmt *st, const char *what, pl_err_t *err);
/* The same for a kept statement, which is reset instead. */
int pl_dir_run_cached(pl_dir_t *d, sqlite3_stmt *st, const char *what,
		      pl_err_t *err);
/* SQLITE_STATIC: s must outlive the statement. 0 or -1. */
int pl_dir_bind_text(sqlite3_stmt *st, int i, const char *s);
/* A text column, "" for NULL. */
const char *pl_dir_col_text(sqlite3_stmt *st, int i);
int64_t pl_dir_now_ms(void);
/* The handle's mutex (see struct pl_dir). */
void pl_dir_lock(pl_dir_t *d);
void pl_dir_unlock(pl_dir_t *d);
/* BEGIN IMMEDIATE (write) or BEGIN (a consistent read of several
 * statements). end commits when rc >= 0 and returns rc, else (or if the
 * commit fails) rolls back and returns -1. Both under the mutex. */
int pl_dir_begin(pl_dir_t *d, int write, const char *what, pl_err_t *err);
int pl_dir_end(pl_dir_t *d, int rc, const char *what, pl_err_t *err);
/* Collect every row of a query into a malloc'ed array of elem-sized
 * elements filled by row(); the caller frees *out (NULL when empty). */
int pl_dir_collect(pl_dir_t *d, const char *sql, size_t elem,
		   void (*row)(sqlite3_stmt *, void *), void **out, size_t *n,
		   const char *what, pl_err_t *err);
/* Base64 without padding in the given alphabet (tokens use the url-safe
 * one, PIN hashes the standard one). encode: out holds
 * ceil(n * 4 / 3) + 1 bytes. decode is strict (one spelling per value:
 * unused low bits must be zero); the decoded length or -1. */
extern const char pl_dir_b64[], pl_dir_b64url[];
void pl_dir_b64_encode(const char *alphabet, const unsigned char *in, size_t n,
		       char *out);
long pl_dir_b64_decode(const char *alphabet, const char *s, size_t n,
		       unsigned char *out, size_t cap);
/* Users (directory-users.c), for the sync (directory-sync.c): a record's
 * check; a user's emails and badges replaced (inside the caller's
 * transaction, under the mutex); 0 when username is absent or local, else
 * -1 with "user bob is synced from ldap ...". */
int pl_dir_user_check(const pl_dir_user_t *u, pl_err_t *err);
int pl_dir_user_emails_put(pl_dir_t *d, const pl_dir_user_t *u, pl_err_t *err);
int pl_dir_user_badges_put(pl_dir_t *d, const pl_dir_user_t *u, pl_err_t *err);
/* The same for a user that has none yet: no rows to delete first. */
int pl_dir_user_emails_add(pl_dir_t *d, const pl_dir_user_t *u, pl_err_t *err);
int pl_dir_user_badges_add(pl_dir_t *d, const pl_dir_user_t *u, pl_err_t *err);
/* A child row (a user's address or badge): sql, a literal (a kept
 * statement), binds ?1 the user, ?2 the value and ?3 its place in the
 * user's list (pos: children read back in that order). SQLite's result,
 * err set but for SQLITE_DONE. */
int pl_dir_child_insert(pl_dir_t *d, const char *sql, const char *username,
			const char *value, int pos, const char *what, pl_err_t *err);
int pl_dir_user_local_only(pl_dir_t *d, const char *username, pl_err_t *err);
/* The owner of a canonical badge ID into owner: 0 found, 1 unknown, -1
 * error. Under the mutex. */
int pl_dir_badge_owner(pl_dir_t *d, const char *badge, char *owner, size_t osz,
		       pl_err_t *err);
/* A printer, reader or administrator name: [A-Za-z0-9._-]{1,127}. */
int pl_dir_valid_name(const char *s);

/* Salted slow hashes of secrets (PINs, administrators' passwords), as
 * scrypt PHC strings (directory-secret.c). Each costs ~50 ms: call them
 * outside the handle's mutex. what ("PIN", "password") starts the error
 * messages ("PIN: stored hash is malformed").
 * hash: a new hash of secret (a NUL-terminated string) with a fresh salt
 * into out; 0 or -1.
 * verify: 1 secret matches stored, 0 not, -1 stored is malformed or
 * scrypt failed. stored NULL (no such name, no secret set) runs the same
 * work against a fixed dummy hash and returns 0 (or -1), so that a
 * missing name takes as long as a wrong secret. */
#define PL_DIR_SECRET_HASH_MAX 256
int pl_dir_secret_hash(const char *secret, char out[PL_DIR_SECRET_HASH_MAX],
		       const char *what, pl_err_t *err);
int pl_dir_secret_verify(const char *secret, const char *stored,
			 const char *what, pl_err_t *err);
/* Is stored a well-formed stored hash (parameters within bounds)? */
int pl_dir_secret_wellformed(const char *stored);

/* Read-write open: bring the schema up to PL_DIR_SCHEMA_VERSION, one
 * migration per transaction. Read-only open: require exactly that version.
 * Both refuse a database newer than this program. */
int pl_dir_schema_upgrade(pl_dir_t *d, pl_err_t *err);
int pl_dir_schema_check(pl_dir_t *d, pl_err_t *err);

#endif
