/* The printers' last SNMP poll (pl_prstatus.h). */
#include "pl_prstatus.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "pl_util.h"

struct pl_prstatus {
	sqlite3 *db;
	sqlite3_stmt *put;
};

static int fail(pl_err_t *err, const char *what, sqlite3 *db)
{
	(void)pl_fmt(err->msg, sizeof(err->msg), "printer status: %s: %s", what,
		     db ? sqlite3_errmsg(db) : "out of memory");
	return -1;
}

int pl_prstatus_path(const char *state_dir, char *out, size_t size)
{
	return pl_fmt(out, size, "%s/%s/%s", state_dir, PL_PRSTATUS_SERVICE, PL_PRSTATUS_FILE);
}

pl_prstatus_t *pl_prstatus_open(const char *path, int write, pl_err_t *err)
{
	pl_prstatus_t *s = calloc(1, sizeof(*s));
	int flags = write ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY;
	if (!s) {
		(void)fail(err, "open", NULL);
		return NULL;
	}
	if (!write && access(path, R_OK) < 0) {
		(void)pl_fmt(err->msg, sizeof(err->msg), "no printer status yet (%s: %s)", path,
			     strerror(errno));
		free(s);
		return NULL;
	}
	if (sqlite3_open_v2(path, &s->db, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		(void)fail(err, path, s->db);
		pl_prstatus_close(s);
		return NULL;
	}
	sqlite3_busy_timeout(s->db, 3000);
	if (write &&
	    sqlite3_exec(s->db,
			 "PRAGMA journal_mode=DELETE; PRAGMA synchronous=NORMAL;"
			 "CREATE TABLE IF NOT EXISTS status("
			 " printer TEXT PRIMARY KEY, polled_ms INTEGER NOT NULL,"
			 " row TEXT NOT NULL)",
			 NULL, NULL, NULL) != SQLITE_OK) {
		(void)fail(err, "create", s->db);
		pl_prstatus_close(s);
		return NULL;
	}
	return s;
}

void pl_prstatus_close(pl_prstatus_t *s)
{
	if (!s)
		return;
	sqlite3_finalize(s->put);
	sqlite3_close(s->db);
	free(s);
}

int pl_prstatus_begin(pl_prstatus_t *s, pl_err_t *err)
{
	return sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK
		       ? 0 : fail(err, "begin", s->db);
}

int pl_prstatus_commit(pl_prstatus_t *s, pl_err_t *err)
{
	if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK)
		return 0;
	(void)fail(err, "commit", s->db);
	(void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

int pl_prstatus_put(pl_prstatus_t *s, const char *printer, const json_t *row, pl_err_t *err)
{
	char *text = json_dumps(row, JSON_COMPACT);
	int rc;
	if (!text)
		return fail(err, "put", NULL);
	if (!s->put && sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO status(printer, "
				"polled_ms, row) VALUES(?, ?, ?)", -1, &s->put, NULL) != SQLITE_OK) {
		free(text);
		return fail(err, "put", s->db);
	}
	sqlite3_bind_text(s->put, 1, printer, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s->put, 2, json_integer_value(json_object_get(row, "polled_ms")));
	sqlite3_bind_text(s->put, 3, text, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(s->put) == SQLITE_DONE ? 0 : fail(err, "put", s->db);
	sqlite3_reset(s->put);
	free(text);
	return rc;
}

int pl_prstatus_prune(pl_prstatus_t *s, const char *const *keep, size_t n, pl_err_t *err)
{
	sqlite3_stmt *q = NULL, *del = NULL;
	int rc = 0;
	if (sqlite3_prepare_v2(s->db, "SELECT printer FROM status", -1, &q, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(s->db, "DELETE FROM status WHERE printer = ?", -1, &del, NULL) !=
		    SQLITE_OK)
		rc = fail(err, "prune", s->db);
	/* collect first: no delete while the select is open */
	char **gone = NULL;
	size_t ng = 0;
	while (rc == 0 && sqlite3_step(q) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(q, 0);
		size_t i = 0;
		while (i < n && strcmp(keep[i], name) != 0)
			i++;
		if (i < n)
			continue;
		char **g = realloc(gone, (ng + 1) * sizeof(*gone));
		if (!g)
			break;
		gone = g;
		gone[ng++] = strdup(name);
	}
	sqlite3_finalize(q);
	for (size_t i = 0; i < ng; i++) {
		if (rc == 0 && gone[i]) {
			sqlite3_bind_text(del, 1, gone[i], -1, SQLITE_STATIC);
			if (sqlite3_step(del) != SQLITE_DONE)
				rc = fail(err, "prune", s->db);
			sqlite3_reset(del);
		}
		free(gone[i]);
	}
	free(gone);
	sqlite3_finalize(del);
	return rc;
}

json_t *pl_prstatus_get(pl_prstatus_t *s, const char *printer, pl_err_t *err)
{
	sqlite3_stmt *q = NULL;
	json_t *row = NULL;
	err->msg[0] = '\0';
	if (sqlite3_prepare_v2(s->db, "SELECT row FROM status WHERE printer = ?", -1, &q, NULL) !=
	    SQLITE_OK) {
		(void)fail(err, "get", s->db);
		return NULL;
	}
	sqlite3_bind_text(q, 1, printer, -1, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_ROW)
		row = json_loads((const char *)sqlite3_column_text(q, 0), 0, NULL);
	sqlite3_finalize(q);
	return row;
}

json_t *pl_prstatus_all(pl_prstatus_t *s, pl_err_t *err)
{
	sqlite3_stmt *q = NULL;
	json_t *all = json_object();
	if (!all || sqlite3_prepare_v2(s->db, "SELECT printer, row FROM status", -1, &q, NULL) !=
			    SQLITE_OK) {
		json_decref(all);
		(void)fail(err, "list", s->db);
		return NULL;
	}
	while (sqlite3_step(q) == SQLITE_ROW) {
		json_t *row = json_loads((const char *)sqlite3_column_text(q, 1), 0, NULL);
		if (row)
			json_object_set_new(all, (const char *)sqlite3_column_text(q, 0), row);
	}
	sqlite3_finalize(q);
	return all;
}

const char *pl_prstatus_word(const json_t *row)
{
	const char *w = json_string_value(json_object_get(row, "state"));
	return w ? w : "-";
}

/* "jammed/offline" from the poll's error names, or what else says why. */
static void offline_why(const json_t *row, int unreachable, char *out, size_t size)
{
	const json_t *errs = json_object_get(json_object_get(row, "snmp"), "errors");
	size_t o = 0, i;
	const json_t *e;
	out[0] = '\0';
	if (unreachable) {
		pl_strlcpy(out, "no answer", size);
		return;
	}
	json_array_foreach(errs, i, e) {
		const char *w = json_string_value(e);
		if (!w || o >= size)
			continue;
		int n = snprintf(out + o, size - o, "%s%s", o ? "/" : "", w);
		if (n < 0 || (size_t)n >= size - o) {
			out[o] = '\0';
			break;
		}
		o += (size_t)n;
	}
	if (!out[0])
		pl_strlcpy(out, "device down", size);
}

/* A jammed printer that is also offline polls as "error" (the worse
 * word wins the column): its offline bit or hrDeviceStatus down still
 * says it is off. */
static int says_offline(const json_t *row)
{
	const json_t *snmp = json_object_get(row, "snmp");
	const char *dev = json_string_value(json_object_get(snmp, "device_status"));
	const json_t *e;
	size_t i;
	if (!json_is_true(json_object_get(row, "reachable")))
		return 0;
	if (dev && strcmp(dev, "down") == 0)
		return 1;
	json_array_foreach(json_object_get(snmp, "errors"), i, e) {
		const char *w = json_string_value(e);
		if (w && strcmp(w, "offline") == 0)
			return 1;
	}
	return 0;
}

int pl_prstatus_offline(const json_t *row, const char *printer, int64_t now_ms, char *msg,
			size_t size)
{
	const char *state = json_string_value(json_object_get(row, "state"));
	const json_t *polled = json_object_get(row, "polled_ms");
	const json_t *interval = json_object_get(row, "interval_s");
	if (!state || !json_is_integer(polled) || !json_is_integer(interval))
		return 0;
	int unreachable = strcmp(state, "unreachable") == 0;
	if (!unreachable && strcmp(state, "offline") != 0 && !says_offline(row))
		return 0;
	json_int_t iv = json_integer_value(interval);
	json_int_t at = json_integer_value(polled);
	/* the file is written by a service that faces the network: no
	 * arithmetic on its numbers before they are in range */
	if (iv < 1 || iv > 86400 || at < 0 || now_ms < 0 || at > now_ms + 1000)
		return 0; /* nonsense, or written by a clock ahead of ours */
	int64_t age = now_ms - (int64_t)at;
	int64_t fresh = (int64_t)iv * 1000 * PL_PRSTATUS_FRESH_POLLS;
	if (fresh < PL_PRSTATUS_FRESH_MIN_MS)
		fresh = PL_PRSTATUS_FRESH_MIN_MS;
	if (age > fresh)
		return 0;
	char why[200];
	offline_why(row, unreachable, why, sizeof(why));
	(void)pl_fmt(msg, size, "%s is offline (SNMP, polled %lld s ago: %s): not released; "
		     "the job stays held", printer, (long long)(age < 0 ? 0 : age / 1000), why);
	return 1;
}
