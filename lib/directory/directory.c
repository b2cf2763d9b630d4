/* The directory (DESIGN.md §6): an SQLite database in WAL mode holding
 * printers and workstation tokens; users, badges and PINs live in
 * directory-users.c, badge readers in directory-readers.c, console
 * administrators in directory-admins.c. Every statement
 * is prepared with bound parameters; inputs are validated here, at the
 * edge, before any SQL. */
#include "directory-private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "pl_random.h"
#include "pl_util.h"

/* The CLI and a service may write at once; SQLite serialises writers, and
 * a writer waits this long for the lock before reporting "locked". */
#define DIR_BUSY_MS 5000
#define DIR_DIR_MODE 0750
/* The directory will hold PIN hashes: not world-readable. SQLite gives the
 * -wal and -shm files the mode of the database file. */
#define DIR_FILE_MODE 0640

#define TOKEN_PREFIX "plsc_"
#define TOKEN_PREFIX_LEN (sizeof(TOKEN_PREFIX) - 1)
#define TOKEN_ID_LEN PL_DIR_TOKEN_ID_LEN
#define TOKEN_ID_BYTES (TOKEN_ID_LEN / 2)
#define SECRET_BYTES 32
#define SECRET_B64_LEN 43 /* ceil(32 * 8 / 6), no padding */
#define TOKEN_LEN (TOKEN_PREFIX_LEN + TOKEN_ID_LEN + 1 + SECRET_B64_LEN)
#define HASH_BYTES 32
#define TOKEN_ID_TRIES 16
#define REVOKE_ID_PREFIX "id:"
#define REVOKE_ID_PREFIX_LEN (sizeof(REVOKE_ID_PREFIX) - 1)

_Static_assert(TOKEN_LEN < PL_TOKEN_MAX, "token fits PL_TOKEN_MAX");

/* ---- errors and small helpers shared with directory-schema.c ---- */

int pl_dir_fail(pl_err_t *err, const char *fmt, ...)
{
	va_list ap;
	if (!err)
		return -1;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -1;
}

int pl_dir_sqlfail(pl_dir_t *d, pl_err_t *err, const char *what)
{
	return pl_dir_fail(err, "%s: %s", what, sqlite3_errmsg(d->db));
}

int pl_dir_exec(pl_dir_t *d, const char *sql, const char *what, pl_err_t *err)
{
	char *msg = NULL;
	if (sqlite3_exec(d->db, sql, NULL, NULL, &msg) == SQLITE_OK)
		return 0;
	pl_dir_fail(err, "%s: %s", what, msg ? msg : sqlite3_errmsg(d->db));
	sqlite3_free(msg);
	return -1;
}

sqlite3_stmt *pl_dir_prepare(pl_dir_t *d, const char *sql, pl_err_t *err)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(d->db, sql, -1, &st, NULL) != SQLITE_OK) {
		pl_dir_sqlfail(d, err, "prepare");
		sqlite3_finalize(st);
		return NULL;
	}
	return st;
}

sqlite3_stmt *pl_dir_cached(pl_dir_t *d, pl_dir_st_t which, const char *sql,
			    pl_err_t *err)
{
	if (!d->cached[which])
		d->cached[which] = pl_dir_prepare(d, sql, err);
	return d->cached[which];
}

sqlite3_stmt *pl_dir_kept(pl_dir_t *d, const char *sql, pl_err_t *err)
{
	size_t i = 0;
	for (; i < PL_DIR_KEPT_MAX && d->kept[i].sql; i++)
		if (d->kept[i].sql == sql)
			return d->kept[i].st;
	sqlite3_stmt *st = pl_dir_prepare(d, sql, err);
	if (st && i < PL_DIR_KEPT_MAX) {
		d->kept[i].sql = sql;
		d->kept[i].st = st;
	}
	return st;
}

void pl_dir_kept_done(pl_dir_t *d, sqlite3_stmt *st)
{
	for (size_t i = 0; i < PL_DIR_KEPT_MAX && d->kept[i].sql; i++)
		if (d->kept[i].st == st) {
			pl_dir_cached_done(st);
			return;
		}
	sqlite3_finalize(st);
}

int pl_dir_run_kept(pl_dir_t *d, sqlite3_stmt *st, const char *what, pl_err_t *err)
{
	int rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		pl_dir_sqlfail(d, err, what);
	pl_dir_kept_done(d, st);
	return rc;
}

void pl_dir_cached_done(sqlite3_stmt *st)
{
	/* reset repeats the last step's error, which the caller has seen. */
	(void)sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

int pl_dir_query_int(pl_dir_t *d, const char *sql, int *out, pl_err_t *err)
{
	sqlite3_stmt *st = pl_dir_prepare(d, sql, err);
	if (!st)
		return -1;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int(st, 0);
	else
		pl_dir_fail(err, "%s: %s", sql,
			    rc == SQLITE_DONE ? "no result" : sqlite3_errmsg(d->db));
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

/* Step a statement that yields no rows and finalize it. Returns the
 * (extended) result code, SQLITE_DONE on success; err is set otherwise so
 * callers need only look at the code for the cases they handle. */
int pl_dir_run(pl_dir_t *d, sqlite3_stmt *st, const char *what,
	       pl_err_t *err)
{
	int rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		pl_dir_sqlfail(d, err, what);
	sqlite3_finalize(st);
	return rc;
}

int pl_dir_bind_text(sqlite3_stmt *st, int i, const char *s)
{
	return sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC) == SQLITE_OK ? 0 : -1;
}

int pl_dir_run_cached(pl_dir_t *d, sqlite3_stmt *st, const char *what,
		      pl_err_t *err)
{
	int rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		pl_dir_sqlfail(d, err, what);
	pl_dir_cached_done(st);
	return rc;
}

const char *pl_dir_col_text(sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);
	return s ? (const char *)s : "";
}

int64_t pl_dir_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void pl_dir_lock(pl_dir_t *d)
{
	pthread_mutex_lock(&d->mu);
}

void pl_dir_unlock(pl_dir_t *d)
{
	pthread_mutex_unlock(&d->mu);
}

int pl_dir_begin(pl_dir_t *d, int write, const char *what, pl_err_t *err)
{
	return pl_dir_exec(d, write ? "BEGIN IMMEDIATE" : "BEGIN", what, err);
}

int pl_dir_end(pl_dir_t *d, int rc, const char *what, pl_err_t *err)
{
	if (rc >= 0 && pl_dir_exec(d, "COMMIT", what, err) == 0)
		return rc;
	/* Keeps the first error: err already says what went wrong. */
	(void)sqlite3_exec(d->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

/* Grow a result array to hold n + 1 elements; NULL on allocation failure
 * (arr is still valid then). */
static void *grow(void *arr, size_t n, size_t *cap, size_t elem)
{
	if (n < *cap)
		return arr;
	size_t ncap = *cap ? *cap * 2 : 16;
	void *p = realloc(arr, ncap * elem);
	if (p)
		*cap = ncap;
	return p;
}

/* Run a query and collect every row into a malloc'ed array of elem-sized
 * elements filled by row(). The caller frees *out; an empty result is
 * *out == NULL, *n == 0. */
int pl_dir_collect(pl_dir_t *d, const char *sql, size_t elem,
		   void (*row)(sqlite3_stmt *, void *), void **out, size_t *n,
		   const char *what, pl_err_t *err)
{
	unsigned char *arr = NULL;
	size_t cnt = 0, cap = 0;
	int rc;
	*out = NULL;
	*n = 0;
	sqlite3_stmt *st = pl_dir_prepare(d, sql, err);
	if (!st)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		unsigned char *na = grow(arr, cnt, &cap, elem);
		if (!na) {
			rc = SQLITE_NOMEM;
			break;
		}
		arr = na;
		row(st, arr + cnt++ * elem);
	}
	if (rc == SQLITE_DONE) {
		*out = arr;
		*n = cnt;
	} else {
		pl_dir_fail(err, "%s: %s", what,
			    rc == SQLITE_NOMEM ? "out of memory" : sqlite3_errmsg(d->db));
		free(arr);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* ---- open and close ---- */

/* A read-only open must not create the file, and SQLite's own message for
 * a missing one ("unable to open database file") says neither which file
 * nor why. */
static int prepare_readonly(const char *path, pl_err_t *err)
{
	if (access(path, R_OK) == 0)
		return 0;
	if (errno == ENOENT)
		return pl_dir_fail(err, "directory %s does not exist "
				   "(a read-only open does not create it)", path);
	return pl_dir_fail(err, "directory %s: %s", path, strerror(errno));
}

/* Create the parent directory and the file ourselves so both get our
 * modes rather than SQLite's 0644 under the caller's umask. */
static int prepare_create(const char *path, pl_err_t *err)
{
	char parent[PATH_MAX];
	pl_strlcpy(parent, path, sizeof(parent));
	char *slash = strrchr(parent, '/');
	if (slash && slash != parent) {
		*slash = '\0';
		if (pl_mkdir_p(parent, DIR_DIR_MODE) < 0)
			return pl_dir_fail(err, "directory %s: cannot create %s: %s",
					   path, parent, strerror(errno));
	}
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, DIR_FILE_MODE);
	if (fd < 0)
		return pl_dir_fail(err, "directory %s: %s", path, strerror(errno));
	close(fd);
	return 0;
}

static int want_wal(pl_dir_t *d, pl_err_t *err)
{
	sqlite3_stmt *st = pl_dir_prepare(d, "PRAGMA journal_mode=WAL", err);
	if (!st)
		return -1;
	int rc = sqlite3_step(st);
	int ok = rc == SQLITE_ROW && strcmp(pl_dir_col_text(st, 0), "wal") == 0;
	if (rc != SQLITE_ROW)
		pl_dir_sqlfail(d, err, d->path);
	else if (!ok)
		pl_dir_fail(err, "%s: cannot switch to WAL mode (journal mode is %s)",
			    d->path, pl_dir_col_text(st, 0));
	sqlite3_finalize(st);
	return ok ? 0 : -1;
}

/* WAL lets the CLI read while a service writes. synchronous=FULL: in WAL
 * mode NORMAL may lose the last commits on power failure, and a token or
 * printer the CLI reported as added must survive that. */
static int configure(pl_dir_t *d, pl_err_t *err)
{
	sqlite3_extended_result_codes(d->db, 1);
	sqlite3_busy_timeout(d->db, DIR_BUSY_MS);
	if (!d->readonly && want_wal(d, err) < 0)
		return -1;
	/* Keep the -wal and -shm files when the last writer closes: the
	 * services that only read (their user may not create files here,
	 * privsep.c) can open a WAL database read-only only while those
	 * files exist. */
	int persist = 1;
	if (!d->readonly)
		sqlite3_file_control(d->db, "main", SQLITE_FCNTL_PERSIST_WAL, &persist);
	return pl_dir_exec(d, "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON",
			   d->path, err);
}

static int connect_db(pl_dir_t *d, pl_err_t *err)
{
	int flags = SQLITE_OPEN_NOMUTEX |
		    (d->readonly ? SQLITE_OPEN_READONLY
				 : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
	int rc = sqlite3_open_v2(d->path, &d->db, flags, NULL);
	if (rc != SQLITE_OK)
		return pl_dir_fail(err, "directory %s: %s", d->path,
				   d->db ? sqlite3_errmsg(d->db) : sqlite3_errstr(rc));
	if (configure(d, err) < 0)
		return -1;
	return d->readonly ? pl_dir_schema_check(d, err)
			   : pl_dir_schema_upgrade(d, err);
}

int pl_dir_open(pl_dir_t **out, const char *path, int readonly, pl_err_t *err)
{
	*out = NULL;
	if (!path || !*path || strlen(path) >= PATH_MAX)
		return pl_dir_fail(err, "directory: invalid path");
	if (readonly == PL_DIR_READ_CREATE) {
		/* Read-only, but a missing database is made first where we may
		 * (development: every service as one user). */
		if (access(path, F_OK) < 0 && errno == ENOENT) {
			pl_dir_t *w;
			if (pl_dir_open(&w, path, PL_DIR_WRITE, err) < 0) {
				if (errno == EACCES)
					pl_dir_fail(err, "directory %s does not exist yet, and "
						    "this service may not create it (plsc or "
						    "the console makes it)", path);
				return -1;
			}
			pl_dir_close(w);
		}
		readonly = PL_DIR_READ;
	}
	if ((readonly ? prepare_readonly(path, err) : prepare_create(path, err)) < 0)
		return -1;
	pl_dir_t *d = calloc(1, sizeof(*d));
	if (!d)
		return pl_dir_fail(err, "directory %s: out of memory", path);
	if (pthread_mutex_init(&d->mu, NULL) != 0) {
		free(d);
		return pl_dir_fail(err, "directory %s: cannot create mutex", path);
	}
	d->readonly = readonly;
	pl_strlcpy(d->path, path, sizeof(d->path));
	if (connect_db(d, err) < 0) {
		pl_dir_close(d);
		return -1;
	}
	*out = d;
	return 0;
}

int pl_dir_sandbox(pl_sandbox_t *sb, const char *path, int mode, pl_err_t *err)
{
	char parent[PATH_MAX];
	if (!path || !*path || pl_fmt(parent, sizeof(parent), "%s", path) < 0)
		return pl_dir_fail(err, "directory: invalid path");
	char *slash = strrchr(parent, '/');
	if (!slash)
		pl_strlcpy(parent, ".", sizeof(parent));
	else if (slash == parent)
		slash[1] = '\0';
	else
		*slash = '\0';
	if (mode == PL_DIR_WRITE && pl_mkdir_p(parent, DIR_DIR_MODE) < 0)
		return pl_dir_fail(err, "directory %s: cannot create %s: %s", path, parent,
				   strerror(errno));
	if (mode == PL_DIR_READ_CREATE && access(path, F_OK) < 0 && errno == ENOENT) {
		/* Where we may not create it, pl_dir_open says so later. */
		pl_dir_t *w;
		if (pl_dir_open(&w, path, PL_DIR_WRITE, err) == 0)
			pl_dir_close(w);
	}
	if (pl_sandbox_allow(sb, parent, mode == PL_DIR_WRITE ? PL_SANDBOX_RW_FILES
							  : PL_SANDBOX_RO) < 0)
		return pl_dir_fail(err, "directory %s: sandbox: %s", path, strerror(errno));
	return 0;
}

void pl_dir_close(pl_dir_t *d)
{
	if (!d)
		return;
	/* Every other statement is finalized by the call that prepared it,
	 * so the connection closes (and the last one out checkpoints the
	 * WAL). */
	for (size_t i = 0; i < PL_DIR_ST_COUNT; i++)
		sqlite3_finalize(d->cached[i]);
	for (size_t i = 0; i < PL_DIR_KEPT_MAX; i++)
		sqlite3_finalize(d->kept[i].st);
	sqlite3_close_v2(d->db);
	pthread_mutex_destroy(&d->mu);
	free(d);
}

int pl_dir_schema_version(pl_dir_t *d)
{
	int v;
	pl_dir_lock(d);
	int rc = pl_dir_query_int(d, "PRAGMA user_version", &v, NULL);
	pl_dir_unlock(d);
	return rc < 0 ? -1 : v;
}

/* ---- printers ---- */

int pl_dir_valid_name(const char *s)
{
	size_t n = strnlen(s, 128);
	if (n == 0 || n > 127)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			 (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
		if (!ok)
			return 0;
	}
	return 1;
}

/* The struct's fields are fixed arrays: a field that fills its array has
 * no terminator and is too long. Scheme checks belong to the printer
 * module, which knows what it can deliver to. */
static int printer_check(const pl_dir_printer_t *p, pl_err_t *err)
{
	if (!pl_dir_valid_name(p->name))
		return pl_dir_fail(err, "invalid printer name");
	size_t n = strnlen(p->uri, sizeof(p->uri));
	if (n == 0)
		return pl_dir_fail(err, "printer %s: empty uri", p->name);
	if (n >= sizeof(p->uri))
		return pl_dir_fail(err, "printer %s: uri too long (at most %zu bytes)",
				   p->name, sizeof(p->uri) - 1);
	if (strnlen(p->location, sizeof(p->location)) >= sizeof(p->location))
		return pl_dir_fail(err, "printer %s: location too long", p->name);
	if (strnlen(p->formats, sizeof(p->formats)) >= sizeof(p->formats))
		return pl_dir_fail(err, "printer %s: formats too long", p->name);
	if (strnlen(p->email, sizeof(p->email)) >= sizeof(p->email))
		return pl_dir_fail(err, "printer %s: email too long", p->name);
	const char *why = p->email[0] ? pl_dir_email_check(p->email) : NULL;
	if (why)
		return pl_dir_fail(err, "printer %s: invalid email address: %s", p->name, why);
	return 0;
}

static const char sql_printer_insert[] =
	"INSERT INTO printers(name, uri, location, formats, created_ms, email, guest)"
	" VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)";
/* Replace keeps the original created_ms: the printer is the same one. */
static const char sql_printer_upsert[] =
	"INSERT INTO printers(name, uri, location, formats, created_ms, email, guest)"
	" VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)"
	" ON CONFLICT(name) DO UPDATE SET uri = excluded.uri,"
	" location = excluded.location, formats = excluded.formats,"
	" email = excluded.email, guest = excluded.guest";

static int printer_insert(pl_dir_t *d, const pl_dir_printer_t *p, int replace,
			  pl_err_t *err)
{
	sqlite3_stmt *st = pl_dir_prepare(
		d, replace ? sql_printer_upsert : sql_printer_insert, err);
	if (!st)
		return -1;
	if (pl_dir_bind_text(st, 1, p->name) < 0 ||
	    pl_dir_bind_text(st, 2, p->uri) < 0 ||
	    pl_dir_bind_text(st, 3, p->location) < 0 ||
	    pl_dir_bind_text(st, 4, p->formats) < 0 ||
	    sqlite3_bind_int64(st, 5, pl_dir_now_ms()) != SQLITE_OK ||
	    pl_dir_bind_text(st, 6, p->email) < 0 ||
	    sqlite3_bind_int(st, 7, p->guest ? 1 : 0) != SQLITE_OK) {
		pl_dir_sqlfail(d, err, "add printer");
		sqlite3_finalize(st);
		return -1;
	}
	int rc = pl_dir_run(d, st, "add printer", err);
	if (rc == SQLITE_CONSTRAINT_PRIMARYKEY)
		return pl_dir_fail(err, "printer %s already exists", p->name);
	return rc == SQLITE_DONE ? 0 : -1;
}

int pl_dir_printer_add(pl_dir_t *d, const pl_dir_printer_t *p, int replace,
		       pl_err_t *err)
{
	if (printer_check(p, err) < 0)
		return -1;
	pl_dir_lock(d);
	int rc = printer_insert(d, p, replace, err);
	pl_dir_unlock(d);
	return rc;
}

static int printer_delete(pl_dir_t *d, const char *name, pl_err_t *err)
{
	sqlite3_stmt *st = pl_dir_prepare(d, "DELETE FROM printers WHERE name = ?1", err);
	if (!st)
		return -1;
	if (pl_dir_bind_text(st, 1, name) < 0) {
		pl_dir_sqlfail(d, err, "delete printer");
		sqlite3_finalize(st);
		return -1;
	}
	if (pl_dir_run(d, st, "delete printer", err) != SQLITE_DONE)
		return -1;
	if (sqlite3_changes(d->db) == 0)
		return pl_dir_fail(err, "no printer named %s", name);
	return 0;
}

int pl_dir_printer_del(pl_dir_t *d, const char *name, pl_err_t *err)
{
	if (!name || !pl_dir_valid_name(name))
		return pl_dir_fail(err, "invalid printer name");
	pl_dir_lock(d);
	int rc = printer_delete(d, name, err);
	pl_dir_unlock(d);
	return rc;
}

#define PRINTER_COLUMNS "SELECT name, uri, location, formats, email, guest FROM printers"

/* void *: also the row callback of pl_dir_collect. */
static void printer_from_row(sqlite3_stmt *st, void *elem)
{
	pl_dir_printer_t *p = elem;
	memset(p, 0, sizeof(*p));
	pl_strlcpy(p->name, pl_dir_col_text(st, 0), sizeof(p->name));
	pl_strlcpy(p->uri, pl_dir_col_text(st, 1), sizeof(p->uri));
	pl_strlcpy(p->location, pl_dir_col_text(st, 2), sizeof(p->location));
	pl_strlcpy(p->formats, pl_dir_col_text(st, 3), sizeof(p->formats));
	pl_strlcpy(p->email, pl_dir_col_text(st, 4), sizeof(p->email));
	p->guest = sqlite3_column_int(st, 5) != 0;
}

static int printer_select(pl_dir_t *d, const char *name, pl_dir_printer_t *out,
			  pl_err_t *err)
{
	sqlite3_stmt *st = pl_dir_cached(d, PL_DIR_ST_PRINTER_GET,
					 PRINTER_COLUMNS " WHERE name = ?1", err);
	if (!st)
		return -1;
	int rc = pl_dir_bind_text(st, 1, name) < 0 ? SQLITE_ERROR : sqlite3_step(st);
	if (rc == SQLITE_ROW)
		printer_from_row(st, out);
	else if (rc != SQLITE_DONE)
		pl_dir_sqlfail(d, err, "get printer");
	pl_dir_cached_done(st);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : -1;
}

int pl_dir_printer_get(pl_dir_t *d, const char *name, pl_dir_printer_t *out,
		       pl_err_t *err)
{
	if (!name || !pl_dir_valid_name(name))
		return pl_dir_fail(err, "invalid printer name");
	pl_dir_lock(d);
	int rc = printer_select(d, name, out, err);
	pl_dir_unlock(d);
	return rc;
}

int pl_dir_printer_list(pl_dir_t *d, pl_dir_printer_t **out, size_t *n,
			pl_err_t *err)
{
	void *arr = NULL;
	pl_dir_lock(d);
	int rc = pl_dir_collect(d, PRINTER_COLUMNS " ORDER BY name", sizeof(**out),
			     printer_from_row, &arr, n, "list printers", err);
	pl_dir_unlock(d);
	*out = arr;
	return rc;
}

/* One row of sql (bound to addr) into out through fill: 0, 1 none, -1. */
static int by_email(pl_dir_t *d, const char *sql, const char *addr,
		    void (*fill)(sqlite3_stmt *, void *), void *out, pl_err_t *err)
{
	if (!addr || !addr[0] || strlen(addr) > 320)
		return 1;
	pl_dir_lock(d);
	sqlite3_stmt *st = pl_dir_prepare(d, sql, err);
	int rc = SQLITE_ERROR;
	if (st) {
		rc = pl_dir_bind_text(st, 1, addr) < 0 ? SQLITE_ERROR : sqlite3_step(st);
		if (rc == SQLITE_ROW)
			fill(st, out);
		else if (rc != SQLITE_DONE)
			pl_dir_sqlfail(d, err, "look up an e-mail address");
		sqlite3_finalize(st);
	}
	pl_dir_unlock(d);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : -1;
}

int pl_dir_printer_by_email(pl_dir_t *d, const char *addr, pl_dir_printer_t *out,
			    pl_err_t *err)
{
	return by_email(d, PRINTER_COLUMNS " WHERE email = ?1 COLLATE NOCASE AND email != ''"
			" ORDER BY name LIMIT 1", addr, printer_from_row, out, err);
}

typedef struct {
	char *name;
	size_t sz;
} name_out_t;

static void name_from_row(sqlite3_stmt *st, void *arg)
{
	name_out_t *o = arg;
	pl_strlcpy(o->name, pl_dir_col_text(st, 0), o->sz);
}

int pl_dir_user_by_email(pl_dir_t *d, const char *addr, char *username, size_t usz,
			 pl_err_t *err)
{
	name_out_t o = { username, usz };
	return by_email(d, "SELECT username FROM user_emails WHERE email = ?1 COLLATE NOCASE"
			" ORDER BY username LIMIT 1", addr, name_from_row, &o, err);
}

/* ---- base64 (tokens: url-safe; PIN and password hashes: standard) ---- */

const char pl_dir_b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const char pl_dir_b64url[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void pl_dir_b64_encode(const char *alphabet, const unsigned char *in, size_t n,
		       char *out)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			out[o++] = alphabet[(acc >> bits) & 63];
		}
		acc &= (1u << bits) - 1;
	}
	if (bits > 0)
		out[o++] = alphabet[(acc << (6 - bits)) & 63];
	out[o] = '\0';
}

long pl_dir_b64_decode(const char *alphabet, const char *s, size_t n,
		       unsigned char *out, size_t cap)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t o = 0;
	if (n % 4 == 1)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const char *p = s[i] ? strchr(alphabet, s[i]) : NULL;
		if (!p)
			return -1;
		acc = (acc << 6) | (uint32_t)(p - alphabet);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= cap)
				return -1;
			out[o++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	return acc == 0 ? (long)o : -1;
}

/* Ids are lowercase only, so each has one spelling. */
static int is_id_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/* A whole NUL-terminated string that is a token id. */
static int is_token_id(const char *s)
{
	return strnlen(s, TOKEN_ID_LEN + 1) == TOKEN_ID_LEN &&
	       is_id_hex(s, TOKEN_ID_LEN);
}

/* "plsc_<8 lowercase hex>_<43 base64url>" and nothing else. The secret's
 * alphabet includes '_', so the shape is checked by position and length,
 * not by splitting on underscores. */
static int token_parse(const char *tok, char id[TOKEN_ID_LEN + 1],
		       unsigned char secret[SECRET_BYTES])
{
	if (!tok || strnlen(tok, TOKEN_LEN + 1) != TOKEN_LEN ||
	    memcmp(tok, TOKEN_PREFIX, TOKEN_PREFIX_LEN) != 0)
		return -1;
	const char *p = tok + TOKEN_PREFIX_LEN;
	if (!is_id_hex(p, TOKEN_ID_LEN) || p[TOKEN_ID_LEN] != '_')
		return -1;
	if (pl_dir_b64_decode(pl_dir_b64url, p + TOKEN_ID_LEN + 1, SECRET_B64_LEN, secret,
			  SECRET_BYTES) != SECRET_BYTES)
		return -1;
	memcpy(id, p, TOKEN_ID_LEN);
	id[TOKEN_ID_LEN] = '\0';
	return 0;
}

static int sha256(const unsigned char *in, size_t n,
		  unsigned char out[HASH_BYTES])
{
	unsigned int len = 0;
	if (EVP_Digest(in, n, out, &len, EVP_sha256(), NULL) != 1)
		return -1;
	return len == HASH_BYTES ? 0 : -1;
}

/* Printable ASCII so the name shows safely in logs and `plsc` output; no
 * "id:" prefix, which pl_dir_token_revoke reads as a token id. */
static int valid_workstation(const char *s)
{
	size_t n = s ? strnlen(s, 128) : 0;
	if (n == 0 || n > 127)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return 0;
	return strncmp(s, REVOKE_ID_PREFIX, REVOKE_ID_PREFIX_LEN) != 0;
}

/* ---- tokens ---- */

/* Insert under a fresh random id. Returns 0, 1 if the id is taken (pick
 * another), -1 on error. */
static int token_insert(pl_dir_t *d, const char *id, const char *workstation,
			const unsigned char hash[HASH_BYTES], pl_err_t *err)
{
	sqlite3_stmt *st = pl_dir_prepare(
		d,
		"INSERT INTO tokens(id, workstation, secret_sha256, created_ms)"
		" VALUES(?1, ?2, ?3, ?4)",
		err);
	if (!st)
		return -1;
	if (pl_dir_bind_text(st, 1, id) < 0 || pl_dir_bind_text(st, 2, workstation) < 0 ||
	    sqlite3_bind_blob(st, 3, hash, HASH_BYTES, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 4, pl_dir_now_ms()) != SQLITE_OK) {
		pl_dir_sqlfail(d, err, "create token");
		sqlite3_finalize(st);
		return -1;
	}
	int rc = pl_dir_run(d, st, "create token", err);
	if (rc == SQLITE_CONSTRAINT_PRIMARYKEY)
		return 1;
	return rc == SQLITE_DONE ? 0 : -1;
}

static int token_store(pl_dir_t *d, const char *workstation,
		       const unsigned char hash[HASH_BYTES],
		       char id[TOKEN_ID_LEN + 1], pl_err_t *err)
{
	for (int i = 0; i < TOKEN_ID_TRIES; i++) {
		if (pl_random_hex(id, TOKEN_ID_BYTES) < 0)
			return pl_dir_fail(err, "create token: no random bytes");
		int rc = token_insert(d, id, workstation, hash, err);
		if (rc <= 0)
			return rc;
	}
	return pl_dir_fail(err, "create token: no free token id after %d tries",
			   TOKEN_ID_TRIES);
}

static int token_make(pl_dir_t *d, const char *workstation,
		      char tok[PL_TOKEN_MAX], pl_err_t *err)
{
	unsigned char secret[SECRET_BYTES], hash[HASH_BYTES];
	char b64[SECRET_B64_LEN + 1], id[TOKEN_ID_LEN + 1];
	int rc = -1;
	if (pl_random_bytes(secret, sizeof(secret)) < 0 ||
	    sha256(secret, sizeof(secret), hash) < 0) {
		pl_dir_fail(err, "create token: no random bytes or no SHA-256");
		goto out;
	}
	if (token_store(d, workstation, hash, id, err) < 0)
		goto out;
	pl_dir_b64_encode(pl_dir_b64url, secret, sizeof(secret), b64);
	rc = pl_fmt(tok, PL_TOKEN_MAX, TOKEN_PREFIX "%s_%s", id, b64);
out:
	/* The secret exists only in the caller's buffer from here on. */
	OPENSSL_cleanse(secret, sizeof(secret));
	OPENSSL_cleanse(b64, sizeof(b64));
	return rc;
}

int pl_dir_token_create(pl_dir_t *d, const char *workstation,
			char tok[PL_TOKEN_MAX], pl_err_t *err)
{
	if (!valid_workstation(workstation))
		return pl_dir_fail(err, "invalid workstation name");
	pl_dir_lock(d);
	int rc = token_make(d, workstation, tok, err);
	pl_dir_unlock(d);
	return rc;
}

/* Look the id up and compare hashes: 1 match (workstation copied into ws),
 * 0 unknown/wrong/revoked, -1 error. */
static int token_match(pl_dir_t *d, const char *id,
		       const unsigned char hash[HASH_BYTES], char ws[128],
		       pl_err_t *err)
{
	sqlite3_stmt *st = pl_dir_cached(
		d, PL_DIR_ST_TOKEN_MATCH,
		"SELECT workstation, secret_sha256, revoked FROM tokens WHERE id = ?1",
		err);
	if (!st)
		return -1;
	int rc = pl_dir_bind_text(st, 1, id) < 0 ? SQLITE_ERROR : sqlite3_step(st);
	int ok = 0;
	if (rc == SQLITE_ROW) {
		const void *h = sqlite3_column_blob(st, 1);
		ok = h && sqlite3_column_bytes(st, 1) == HASH_BYTES &&
		     CRYPTO_memcmp(h, hash, HASH_BYTES) == 0 &&
		     sqlite3_column_int(st, 2) == 0;
		if (ok)
			pl_strlcpy(ws, pl_dir_col_text(st, 0), 128);
	} else if (rc != SQLITE_DONE) {
		pl_dir_sqlfail(d, err, "verify token");
		ok = -1;
	}
	pl_dir_cached_done(st);
	return ok;
}

/* "AND revoked = 0" makes the revocation check and the update one step: a
 * revoke that commits between our select and this update wins. */
static int token_touch(pl_dir_t *d, const char *id, pl_err_t *err)
{
	sqlite3_stmt *st = pl_dir_cached(
		d, PL_DIR_ST_TOKEN_TOUCH,
		/* At most once a minute: with synchronous=FULL every write is
		 * an fsync, and a busy workstation submits many jobs a
		 * minute (see make bench). */
		"UPDATE tokens SET last_used_ms = ?2 WHERE id = ?1 AND revoked = 0"
		" AND last_used_ms < ?2 - 60000",
		err);
	if (!st)
		return -1;
	if (pl_dir_bind_text(st, 1, id) < 0 ||
	    sqlite3_bind_int64(st, 2, pl_dir_now_ms()) != SQLITE_OK) {
		pl_dir_sqlfail(d, err, "verify token");
		pl_dir_cached_done(st);
		return -1;
	}
	if (pl_dir_run_cached(d, st, "verify token", err) != SQLITE_DONE)
		return -1;
	return sqlite3_changes(d->db) == 1 ? 1 : 0;
}

static int token_check(pl_dir_t *d, const char *token, char ws[128],
		       pl_err_t *err)
{
	unsigned char secret[SECRET_BYTES], hash[HASH_BYTES];
	char id[TOKEN_ID_LEN + 1];
	if (token_parse(token, id, secret) < 0)
		return 0;
	int rc = sha256(secret, sizeof(secret), hash);
	OPENSSL_cleanse(secret, sizeof(secret));
	if (rc < 0)
		return pl_dir_fail(err, "verify token: SHA-256 failed");
	rc = token_match(d, id, hash, ws, err);
	if (rc != 1)
		return rc;
	/* Read-only (a service that faces the network, privsep.c): the
	 * last use is not recorded. */
	if (d->readonly)
		return 1;
	rc = token_touch(d, id, err);
	/* Not touched: used within the minute, or revoked since the match;
	 * a second (read-only) match tells which. */
	return rc == 0 ? token_match(d, id, hash, ws, err) : rc;
}

static int token_exists(pl_dir_t *d, const char *id, pl_err_t *err)
{
	sqlite3_stmt *st = pl_dir_prepare(d, "SELECT 1 FROM tokens WHERE id = ?1", err);
	if (!st)
		return -1;
	int rc = pl_dir_bind_text(st, 1, id) < 0 ? SQLITE_ERROR : sqlite3_step(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		pl_dir_sqlfail(d, err, "token last use");
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int pl_dir_token_id(const char *token, char id[PL_DIR_TOKEN_ID_LEN + 1])
{
	unsigned char secret[SECRET_BYTES];
	int rc = token_parse(token, id, secret);
	OPENSSL_cleanse(secret, sizeof(secret));
	return rc;
}

int pl_dir_token_touch(pl_dir_t *d, const char *id, pl_err_t *err)
{
	if (!id || !is_token_id(id))
		return pl_dir_fail(err, "invalid token id (expected %d hex digits)",
				   TOKEN_ID_LEN);
	pl_dir_lock(d);
	int rc = token_touch(d, id, err);
	/* Not touched: used within the minute, revoked, or no such token. */
	if (rc == 0) {
		int known = token_exists(d, id, err);
		if (known == 0)
			rc = pl_dir_fail(err, "no token with id %s", id);
		else if (known < 0)
			rc = -1;
	}
	pl_dir_unlock(d);
	return rc;
}

int pl_dir_token_verify(pl_dir_t *d, const char *token, char *workstation,
			size_t wsz, pl_err_t *err)
{
	char ws[128] = "";
	pl_dir_lock(d);
	int rc = token_check(d, token, ws, err);
	pl_dir_unlock(d);
	if (rc == 1 && workstation && wsz)
		pl_strlcpy(workstation, ws, wsz);
	return rc;
}

/* Revoking an already revoked token again is not an error: the row
 * matches, and the operator's intent holds. */
static int token_mark_revoked(pl_dir_t *d, const char *sql, const char *key,
			      pl_err_t *err)
{
	sqlite3_stmt *st = pl_dir_prepare(d, sql, err);
	if (!st)
		return -1;
	if (pl_dir_bind_text(st, 1, key) < 0) {
		pl_dir_sqlfail(d, err, "revoke token");
		sqlite3_finalize(st);
		return -1;
	}
	if (pl_dir_run(d, st, "revoke token", err) != SQLITE_DONE)
		return -1;
	return sqlite3_changes(d->db);
}

static int token_revoke_id(pl_dir_t *d, const char *id, pl_err_t *err)
{
	int n = token_mark_revoked(
		d, "UPDATE tokens SET revoked = 1 WHERE id = ?1", id, err);
	if (n == 0)
		return pl_dir_fail(err, "no token with id %s", id);
	return n < 0 ? -1 : 0;
}

static int token_revoke_ws(pl_dir_t *d, const char *ws, pl_err_t *err)
{
	int n = token_mark_revoked(
		d, "UPDATE tokens SET revoked = 1 WHERE workstation = ?1", ws, err);
	if (n == 0)
		return pl_dir_fail(err, "no token for workstation %s", ws);
	return n < 0 ? -1 : 0;
}

int pl_dir_token_revoke(pl_dir_t *d, const char *which, pl_err_t *err)
{
	int by_id = which && strncmp(which, REVOKE_ID_PREFIX,
				     REVOKE_ID_PREFIX_LEN) == 0;
	if (by_id && !is_token_id(which + REVOKE_ID_PREFIX_LEN))
		return pl_dir_fail(err, "invalid token id (expected id:<%d hex digits>)",
				   TOKEN_ID_LEN);
	if (!by_id && !valid_workstation(which))
		return pl_dir_fail(err, "invalid workstation name");
	pl_dir_lock(d);
	int rc = by_id ? token_revoke_id(d, which + REVOKE_ID_PREFIX_LEN, err)
		       : token_revoke_ws(d, which, err);
	pl_dir_unlock(d);
	return rc;
}

static void token_from_row(sqlite3_stmt *st, void *elem)
{
	pl_dir_token_t *t = elem;
	memset(t, 0, sizeof(*t));
	pl_strlcpy(t->workstation, pl_dir_col_text(st, 0), sizeof(t->workstation));
	pl_strlcpy(t->id, pl_dir_col_text(st, 1), sizeof(t->id));
	t->created_ms = sqlite3_column_int64(st, 2);
	t->last_used_ms = sqlite3_column_int64(st, 3);
	t->revoked = sqlite3_column_int(st, 4) != 0;
}

/* rowid breaks ties between tokens created in the same millisecond, in
 * creation order. */
#define TOKEN_LIST_SQL \
	"SELECT workstation, id, created_ms, last_used_ms, revoked" \
	" FROM tokens ORDER BY workstation, created_ms, rowid"

int pl_dir_token_list(pl_dir_t *d, pl_dir_token_t **out, size_t *n,
		      pl_err_t *err)
{
	void *arr = NULL;
	pl_dir_lock(d);
	int rc = pl_dir_collect(d, TOKEN_LIST_SQL, sizeof(**out), token_from_row,
			     &arr, n, "list tokens", err);
	pl_dir_unlock(d);
	*out = arr;
	return rc;
}
