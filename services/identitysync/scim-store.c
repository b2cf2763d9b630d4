/* scim.db: what the IdP pushed, in the service's own state dir (0600).
 * One table of resources (users 'u' and groups 'g': the id we gave,
 * the unique name, the IdP's externalId, the stored attributes as JSON,
 * times and a version for ETags) and one of memberships. scim.c holds a
 * write transaction open while plsc-directory applies the projection and
 * commits only once the directory took it; requests run one at a time,
 * so nothing else sees the uncommitted state. */
#include "scim.h"

#include <openssl/rand.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "pl_util.h"

struct scim_store {
	sqlite3 *db;
};

static const char *const SCHEMA =
	"PRAGMA journal_mode = WAL;"
	"PRAGMA synchronous = FULL;"
	"CREATE TABLE IF NOT EXISTS res("
	" seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	" kind TEXT NOT NULL, id TEXT NOT NULL UNIQUE,"
	" name TEXT NOT NULL COLLATE NOCASE, external_id TEXT,"
	" doc TEXT NOT NULL, created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL,"
	" version INTEGER NOT NULL, UNIQUE(kind, name));"
	"CREATE TABLE IF NOT EXISTS members("
	" gid TEXT NOT NULL, uid TEXT NOT NULL, PRIMARY KEY(gid, uid));"
	"CREATE INDEX IF NOT EXISTS members_uid ON members(uid);";

static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int sqlfail(scim_store_t *s, pl_err_t *err, const char *what)
{
	(void)pl_fmt(err->msg, sizeof(err->msg), "scim.db: %s: %s", what,
		     s && s->db ? sqlite3_errmsg(s->db) : "cannot open");
	return -1;
}

int scim_store_open(scim_store_t **out, const char *path, pl_err_t *err)
{
	scim_store_t *s = calloc(1, sizeof(*s));
	*out = NULL;
	if (!s) {
		(void)pl_fmt(err->msg, sizeof(err->msg), "out of memory");
		return -1;
	}
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
		    SQLITE_OK ||
	    sqlite3_busy_timeout(s->db, 5000) != SQLITE_OK ||
	    sqlite3_exec(s->db, SCHEMA, NULL, NULL, NULL) != SQLITE_OK) {
		sqlfail(s, err, path);
		scim_store_close(s);
		return -1;
	}
	(void)chmod(path, 0600);
	*out = s;
	return 0;
}

void scim_store_close(scim_store_t *s)
{
	if (!s)
		return;
	sqlite3_close(s->db);
	free(s);
}

static int exec(scim_store_t *s, const char *sql, pl_err_t *err)
{
	return sqlite3_exec(s->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : sqlfail(s, err, sql);
}

int scim_store_begin(scim_store_t *s, pl_err_t *err)
{
	return exec(s, "BEGIN IMMEDIATE", err);
}

int scim_store_commit(scim_store_t *s, pl_err_t *err)
{
	return exec(s, "COMMIT", err);
}

void scim_store_rollback(scim_store_t *s)
{
	if (!sqlite3_get_autocommit(s->db))
		(void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

/* Prepared with text parameters (NULL: SQL NULL). */
static sqlite3_stmt *prep(scim_store_t *s, const char *sql, pl_err_t *err, int n, ...)
	__attribute__((sentinel(0)));

static sqlite3_stmt *prep(scim_store_t *s, const char *sql, pl_err_t *err, int n, ...)
{
	sqlite3_stmt *st;
	va_list ap;
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
		sqlfail(s, err, "prepare");
		return NULL;
	}
	va_start(ap, n);
	for (int i = 1; i <= n; i++) {
		const char *v = va_arg(ap, const char *);
		if ((v ? sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT)
		       : sqlite3_bind_null(st, i)) != SQLITE_OK) {
			va_end(ap);
			sqlite3_finalize(st);
			sqlfail(s, err, "bind");
			return NULL;
		}
	}
	va_end(ap);
	return st;
}

static int run(scim_store_t *s, sqlite3_stmt *st, pl_err_t *err)
{
	if (!st)
		return -1;
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : sqlfail(s, err, "write");
}

static const char *kind_str(int kind)
{
	return kind == 'g' ? "g" : "u";
}

static int row_read(sqlite3_stmt *st, scim_row_t *row)
{
	const char *doc = (const char *)sqlite3_column_text(st, 1);
	memset(row, 0, sizeof(*row));
	pl_strlcpy(row->id, (const char *)sqlite3_column_text(st, 0), sizeof(row->id));
	row->doc = doc ? json_loads(doc, 0, NULL) : NULL;
	if (!json_is_object(row->doc)) {
		json_decref(row->doc);
		row->doc = json_object();
	}
	row->created_ms = sqlite3_column_int64(st, 2);
	row->updated_ms = sqlite3_column_int64(st, 3);
	row->version = sqlite3_column_int64(st, 4);
	return 0;
}

#define ROW_COLUMNS "id, doc, created_ms, updated_ms, version"

int scim_store_get(scim_store_t *s, int kind, const char *id, scim_row_t *row, pl_err_t *err)
{
	sqlite3_stmt *st = prep(s, "SELECT " ROW_COLUMNS " FROM res WHERE kind = ?1 AND id = ?2",
				err, 2, kind_str(kind), id, NULL);
	if (!st)
		return -1;
	int rc = sqlite3_step(st), out = rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : -1;
	if (out == 0)
		row_read(st, row);
	else if (out < 0)
		sqlfail(s, err, "read");
	sqlite3_finalize(st);
	return out;
}

int scim_store_find_name(scim_store_t *s, int kind, const char *name, char *id, size_t isz,
			 pl_err_t *err)
{
	sqlite3_stmt *st = prep(s, "SELECT id FROM res WHERE kind = ?1 AND name = ?2", err, 2,
				kind_str(kind), name, NULL);
	if (!st)
		return -1;
	int rc = sqlite3_step(st), out = rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : -1;
	if (out == 0)
		pl_strlcpy(id, (const char *)sqlite3_column_text(st, 0), isz);
	else if (out < 0)
		sqlfail(s, err, "read");
	sqlite3_finalize(st);
	return out;
}

int scim_store_put(scim_store_t *s, int kind, const char *id, const json_t *doc, pl_err_t *err)
{
	const char *name = json_string_value(
		scim_get(doc, kind == 'g' ? "displayName" : "userName", NULL));
	const char *ext = json_string_value(scim_get(doc, "externalId", NULL));
	char *text = json_dumps(doc, JSON_COMPACT);
	char now[32];
	snprintf(now, sizeof(now), "%lld", (long long)wall_ms());
	if (!text || !name) {
		free(text);
		(void)pl_fmt(err->msg, sizeof(err->msg), "scim.db: a resource without its name");
		return -1;
	}
	int rc = run(s, prep(s,
			     "INSERT INTO res(kind, id, name, external_id, doc, created_ms,"
			     " updated_ms, version) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?6, 1)"
			     " ON CONFLICT(id) DO UPDATE SET name = ?3, external_id = ?4, doc = ?5,"
			     " updated_ms = ?6, version = version + 1",
			     err, 6, kind_str(kind), id, name, ext, text, now, NULL),
		     err);
	free(text);
	return rc;
}

int scim_store_del(scim_store_t *s, int kind, const char *id, pl_err_t *err)
{
	if (run(s, prep(s, "DELETE FROM res WHERE kind = ?1 AND id = ?2", err, 2, kind_str(kind),
			id, NULL),
		err) < 0)
		return -1;
	return run(s, prep(s, kind == 'g' ? "DELETE FROM members WHERE gid = ?1"
					  : "DELETE FROM members WHERE uid = ?1",
			   err, 1, id, NULL),
		   err);
}

int scim_store_list(scim_store_t *s, int kind, const char *attr, const char *value,
		    long start, long max, scim_row_t **rows, size_t *n, long *total,
		    pl_err_t *err)
{
	/* attr is ours (scim.c), never the request's text */
	char where[128], sql[300];
	snprintf(where, sizeof(where), "kind = ?1%s%s%s", attr ? " AND " : "", attr ? attr : "",
		 attr ? " = ?2" : "");
	*rows = NULL;
	*n = 0;
	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM res WHERE %s", where);
	sqlite3_stmt *st = prep(s, sql, err, attr ? 2 : 1, kind_str(kind), value, NULL);
	if (!st)
		return -1;
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		return sqlfail(s, err, "count");
	}
	*total = (long)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (max <= 0)
		return 0;
	*rows = calloc((size_t)max, sizeof(**rows));
	if (!*rows) {
		(void)pl_fmt(err->msg, sizeof(err->msg), "out of memory");
		return -1;
	}
	snprintf(sql, sizeof(sql), "SELECT " ROW_COLUMNS " FROM res WHERE %s ORDER BY seq"
		 " LIMIT %ld OFFSET %ld", where, max, start > 1 ? start - 1 : 0);
	st = prep(s, sql, err, attr ? 2 : 1, kind_str(kind), value, NULL);
	if (!st)
		return -1;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && *n < (size_t)max)
		row_read(st, &(*rows)[(*n)++]);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : sqlfail(s, err, "list");
}

void scim_rows_free(scim_row_t *rows, size_t n)
{
	for (size_t i = 0; i < n; i++)
		json_decref(rows[i].doc);
	free(rows);
}

/* The first column of every row, as a JSON array of strings. */
static int column_list(scim_store_t *s, sqlite3_stmt *st, json_t **out, pl_err_t *err)
{
	*out = NULL;
	if (!st)
		return -1;
	json_t *arr = json_array();
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		json_array_append_new(arr, json_string((const char *)sqlite3_column_text(st, 0)));
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		json_decref(arr);
		return sqlfail(s, err, "read");
	}
	*out = arr;
	return 0;
}

int scim_store_members(scim_store_t *s, const char *gid, json_t **ids, pl_err_t *err)
{
	return column_list(s, prep(s, "SELECT uid FROM members WHERE gid = ?1 ORDER BY uid", err,
				   1, gid, NULL),
			   ids, err);
}

int scim_store_set_members(scim_store_t *s, const char *gid, const json_t *ids, pl_err_t *err)
{
	size_t i;
	json_t *v;
	if (run(s, prep(s, "DELETE FROM members WHERE gid = ?1", err, 1, gid, NULL), err) < 0)
		return -1;
	json_array_foreach(ids, i, v)
		if (run(s, prep(s, "INSERT OR IGNORE INTO members(gid, uid) VALUES(?1, ?2)", err, 2,
				gid, json_string_value(v), NULL),
			err) < 0)
			return -1;
	return 0;
}

int scim_store_user_groups(scim_store_t *s, const char *uid, json_t **groups, pl_err_t *err)
{
	sqlite3_stmt *st = prep(s,
				"SELECT res.id, res.name FROM members JOIN res ON res.kind = 'g'"
				" AND res.id = members.gid WHERE members.uid = ?1 ORDER BY res.name",
				err, 1, uid, NULL);
	*groups = NULL;
	if (!st)
		return -1;
	json_t *arr = json_array();
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		json_array_append_new(arr, json_pack("{s:s,s:s}", "value",
						     (const char *)sqlite3_column_text(st, 0),
						     "display",
						     (const char *)sqlite3_column_text(st, 1)));
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		json_decref(arr);
		return sqlfail(s, err, "read");
	}
	*groups = arr;
	return 0;
}

int scim_store_user_ids(scim_store_t *s, json_t **ids, pl_err_t *err)
{
	return column_list(s, prep(s, "SELECT id FROM res WHERE kind = 'u' ORDER BY seq", err, 0,
				   NULL),
			   ids, err);
}

void scim_new_id(char id[40])
{
	unsigned char b[16];
	if (RAND_bytes(b, sizeof(b)) != 1)
		abort(); /* no randomness: nothing safe to hand out */
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(id, 40,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
		 b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
		 b[14], b[15]);
}
