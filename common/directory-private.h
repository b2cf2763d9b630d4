/* Internals of the directory shared by directory.c (connection, printers,
 * tokens) and directory-schema.c (versioned migrations). */
#ifndef PL_DIRECTORY_PRIVATE_H
#define PL_DIRECTORY_PRIVATE_H

#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>

#include "pl_directory.h"

/* The connection is opened SQLITE_OPEN_NOMUTEX and guarded by mu instead:
 * every public call holds mu from its first statement to its last, so a
 * multi-statement operation (select then update, a migration) and the
 * sqlite3_errmsg() read after a failure see no other thread's work. With
 * FULLMUTEX alone each API call would be atomic but the sequence would
 * not, and an error message could belong to another thread's call. */
struct pl_dir {
	sqlite3 *db;
	pthread_mutex_t mu;
	int readonly;
	char path[PATH_MAX];
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

/* Read-write open: bring the schema up to PL_DIR_SCHEMA_VERSION, one
 * migration per transaction. Read-only open: require exactly that version.
 * Both refuse a database newer than this program. */
int pl_dir_schema_upgrade(pl_dir_t *d, pl_err_t *err);
int pl_dir_schema_check(pl_dir_t *d, pl_err_t *err);

#endif
