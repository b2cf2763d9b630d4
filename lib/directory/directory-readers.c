/* Badge readers in the directory (schema version 2): where a reader is,
 * how we talk to it, how its frames look, and which printer it releases
 * to. The frame format is JSON text for pl_badge_format_parse; it is
 * stored as given and parsed by the badge release service. */
#include "directory-private.h"

#include <stdlib.h>
#include <string.h>

#include "pl_util.h"

/* Printable ASCII, no spaces: an address shows in logs and is compared
 * with a peer's. */
static int valid_address(const char *s, size_t cap)
{
	size_t n = strnlen(s, cap);
	if (n == 0 || n >= cap)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return 0;
	return 1;
}

static int is_one_of(const char *s, size_t cap, const char *a, const char *b)
{
	return strncmp(s, a, cap) == 0 || strncmp(s, b, cap) == 0;
}

static int reader_check(const pl_dir_reader_t *r, pl_err_t *err)
{
	if (!pl_dir_valid_name(r->name))
		return pl_dir_fail(err, "invalid reader name");
	const char *name = r->name;
	if (!valid_address(r->address, sizeof(r->address)))
		return pl_dir_fail(err, "reader %s: invalid address "
				   "(not empty, no spaces, at most %zu bytes)",
				   name, sizeof(r->address) - 1);
	if (!is_one_of(r->direction, sizeof(r->direction), "connect", "listen"))
		return pl_dir_fail(err, "reader %s: direction must be connect or listen",
				   name);
	int listen = strcmp(r->direction, "listen") == 0;
	if (listen && (r->port < 1 || r->port > 65535))
		return pl_dir_fail(err, "reader %s: a listening reader needs "
				   "a port (1 to 65535)", name);
	if (r->port < 0 || r->port > 65535)
		return pl_dir_fail(err, "reader %s: invalid port (0 to 65535)",
				   name);
	size_t fl = strnlen(r->format, sizeof(r->format));
	if (fl == 0 || fl >= sizeof(r->format))
		return pl_dir_fail(err, "reader %s: format must be JSON text "
				   "of 1 to %zu bytes", name, sizeof(r->format) - 1);
	if (!pl_dir_valid_name(r->printer))
		return pl_dir_fail(err, "reader %s: invalid printer name", name);
	if (!is_one_of(r->mode, sizeof(r->mode), "most-recent", "all"))
		return pl_dir_fail(err, "reader %s: mode must be most-recent or all",
				   name);
	return 0;
}

static int printer_exists(pl_dir_t *d, const char *name, const char *what,
			  pl_err_t *err)
{
	sqlite3_stmt *st = pl_dir_prepare(
		d, "SELECT 1 FROM printers WHERE name = ?1", err);
	if (!st)
		return -1;
	int rc = pl_dir_bind_text(st, 1, name) < 0 ? SQLITE_ERROR
						   : sqlite3_step(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		pl_dir_sqlfail(d, err, what);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

static const char sql_reader_insert[] =
	"INSERT INTO readers(name, address, direction, port, format, printer,"
	" mode, created_ms) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
/* Replace keeps the original created_ms: the reader is the same one. */
static const char sql_reader_upsert[] =
	"INSERT INTO readers(name, address, direction, port, format, printer,"
	" mode, created_ms) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
	" ON CONFLICT(name) DO UPDATE SET address = excluded.address,"
	" direction = excluded.direction, port = excluded.port,"
	" format = excluded.format, printer = excluded.printer,"
	" mode = excluded.mode";

/* An update changes a reader that exists, and never creates one: the
 * console edits a row it listed, and a reader deleted meanwhile must stay
 * deleted ("no reader named ..."), not come back. The name is the key and
 * stays (as a printer's does); created_ms stays too. */
static const char sql_reader_update[] =
	"UPDATE readers SET address = ?2, direction = ?3, port = ?4,"
	" format = ?5, printer = ?6, mode = ?7 WHERE name = ?1";

/* 0, or -1 with err set: a reader must name a printer that exists. */
static int printer_known(pl_dir_t *d, const pl_dir_reader_t *r,
			 const char *what, pl_err_t *err)
{
	int known = printer_exists(d, r->printer, what, err);
	if (known <= 0)
		return known < 0 ? -1 : pl_dir_fail(err, "unknown printer %s",
						    r->printer);
	return 0;
}

/* The reader's fields bound as ?1..?7 (name first). 0 or -1. */
static int reader_bind(sqlite3_stmt *st, const pl_dir_reader_t *r)
{
	if (pl_dir_bind_text(st, 1, r->name) < 0 ||
	    pl_dir_bind_text(st, 2, r->address) < 0 ||
	    pl_dir_bind_text(st, 3, r->direction) < 0 ||
	    sqlite3_bind_int(st, 4, r->port) != SQLITE_OK ||
	    pl_dir_bind_text(st, 5, r->format) < 0 ||
	    pl_dir_bind_text(st, 6, r->printer) < 0 ||
	    pl_dir_bind_text(st, 7, r->mode) < 0)
		return -1;
	return 0;
}

static int reader_insert(pl_dir_t *d, const pl_dir_reader_t *r, int replace,
			 pl_err_t *err)
{
	if (printer_known(d, r, "put reader", err) < 0)
		return -1;
	sqlite3_stmt *st = pl_dir_prepare(
		d, replace ? sql_reader_upsert : sql_reader_insert, err);
	if (!st)
		return -1;
	if (reader_bind(st, r) < 0 ||
	    sqlite3_bind_int64(st, 8, pl_dir_now_ms()) != SQLITE_OK) {
		pl_dir_sqlfail(d, err, "put reader");
		sqlite3_finalize(st);
		return -1;
	}
	int rc = pl_dir_run(d, st, "put reader", err);
	if (rc == SQLITE_CONSTRAINT_PRIMARYKEY)
		return pl_dir_fail(err, "reader %s already exists", r->name);
	return rc == SQLITE_DONE ? 0 : -1;
}

int pl_dir_reader_put(pl_dir_t *d, const pl_dir_reader_t *r, int replace,
		      pl_err_t *err)
{
	if (!r)
		return pl_dir_fail(err, "put reader: no reader");
	if (reader_check(r, err) < 0)
		return -1;
	pl_dir_lock(d);
	/* One transaction: the printer cannot vanish between check and insert. */
	int rc = pl_dir_begin(d, 1, "put reader", err);
	if (rc == 0)
		rc = pl_dir_end(d, reader_insert(d, r, replace, err), "put reader",
				err);
	pl_dir_unlock(d);
	return rc;
}

static int reader_change(pl_dir_t *d, const pl_dir_reader_t *r, pl_err_t *err)
{
	if (printer_known(d, r, "update reader", err) < 0)
		return -1;
	sqlite3_stmt *st = pl_dir_prepare(d, sql_reader_update, err);
	if (!st)
		return -1;
	if (reader_bind(st, r) < 0) {
		pl_dir_sqlfail(d, err, "update reader");
		sqlite3_finalize(st);
		return -1;
	}
	if (pl_dir_run(d, st, "update reader", err) != SQLITE_DONE)
		return -1;
	return sqlite3_changes(d->db) > 0
		       ? 0
		       : pl_dir_fail(err, "no reader named %s", r->name);
}

int pl_dir_reader_update(pl_dir_t *d, const pl_dir_reader_t *r, pl_err_t *err)
{
	if (!r)
		return pl_dir_fail(err, "update reader: no reader");
	if (reader_check(r, err) < 0)
		return -1;
	pl_dir_lock(d);
	/* One transaction, as put: the printer checked is the one stored. */
	int rc = pl_dir_begin(d, 1, "update reader", err);
	if (rc == 0)
		rc = pl_dir_end(d, reader_change(d, r, err), "update reader", err);
	pl_dir_unlock(d);
	return rc;
}

int pl_dir_reader_del(pl_dir_t *d, const char *name, pl_err_t *err)
{
	if (!name || !pl_dir_valid_name(name))
		return pl_dir_fail(err, "invalid reader name");
	pl_dir_lock(d);
	int rc = -1;
	sqlite3_stmt *st = pl_dir_prepare(d, "DELETE FROM readers WHERE name = ?1",
					  err);
	if (st && pl_dir_bind_text(st, 1, name) < 0) {
		pl_dir_sqlfail(d, err, "delete reader");
		sqlite3_finalize(st);
	} else if (st && pl_dir_run(d, st, "delete reader", err) == SQLITE_DONE) {
		rc = sqlite3_changes(d->db) > 0
			     ? 0
			     : pl_dir_fail(err, "no reader named %s", name);
	}
	pl_dir_unlock(d);
	return rc;
}

static void reader_from_row(sqlite3_stmt *st, void *elem)
{
	pl_dir_reader_t *r = elem;
	memset(r, 0, sizeof(*r));
	pl_strlcpy(r->name, pl_dir_col_text(st, 0), sizeof(r->name));
	pl_strlcpy(r->address, pl_dir_col_text(st, 1), sizeof(r->address));
	pl_strlcpy(r->direction, pl_dir_col_text(st, 2), sizeof(r->direction));
	r->port = sqlite3_column_int(st, 3);
	pl_strlcpy(r->format, pl_dir_col_text(st, 4), sizeof(r->format));
	pl_strlcpy(r->printer, pl_dir_col_text(st, 5), sizeof(r->printer));
	pl_strlcpy(r->mode, pl_dir_col_text(st, 6), sizeof(r->mode));
}

#define READER_COLUMNS "SELECT name, address, direction, port, format, printer, mode FROM readers"

int pl_dir_reader_get(pl_dir_t *d, const char *name, pl_dir_reader_t *out,
		      pl_err_t *err)
{
	/* No reader has a name that is not valid: not found, not an error
	 * (the console answers 404 for a path it was given). */
	if (!name || !pl_dir_valid_name(name))
		return 1;
	pl_dir_lock(d);
	int rc = -1;
	sqlite3_stmt *st = pl_dir_prepare(d, READER_COLUMNS " WHERE name = ?1", err);
	if (st) {
		int s = pl_dir_bind_text(st, 1, name) < 0 ? SQLITE_ERROR : sqlite3_step(st);
		if (s == SQLITE_ROW)
			reader_from_row(st, out);
		if (s == SQLITE_ROW || s == SQLITE_DONE)
			rc = s == SQLITE_ROW ? 0 : 1;
		else
			pl_dir_sqlfail(d, err, "get reader");
		sqlite3_finalize(st);
	}
	pl_dir_unlock(d);
	return rc;
}

int pl_dir_reader_list(pl_dir_t *d, pl_dir_reader_t **out, size_t *n,
		       pl_err_t *err)
{
	void *arr = NULL;
	pl_dir_lock(d);
	int rc = pl_dir_collect(d, READER_COLUMNS " ORDER BY name",
				sizeof(**out), reader_from_row, &arr, n,
				"list readers", err);
	pl_dir_unlock(d);
	*out = arr;
	return rc;
}
