/* Per-printer SNMP options (pl_directory.h, schema: the printer_snmp
 * migration). Stored as their text; PrinterLogicServiceSNMP parses them
 * again at each poll round, so a change needs no restart. */
#include "directory-private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pl_util.h"

void pl_dir_snmp_defaults(pl_dir_snmp_t *o)
{
	memset(o, 0, sizeof(*o));
	o->enabled = 1;
	o->interval_s = 60;
	o->timeout_ms = 2000;
	o->retries = 1;
	o->port = 161;
	pl_strlcpy(o->profile, "default", sizeof(o->profile));
}

static int num(const char *v, long lo, long hi, int *out)
{
	char *end;
	long n = strtol(v, &end, 10);
	if (!*v || *end || n < lo || n > hi)
		return -1;
	*out = (int)n;
	return 0;
}

/* Printable ASCII without spaces, commas or '=': names and hosts. */
static int word_ok(const char *v, size_t cap)
{
	size_t n = strlen(v);
	if (n == 0 || n >= cap)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)v[i] <= 0x20 || (unsigned char)v[i] >= 0x7f || v[i] == ',' ||
		    v[i] == '=')
			return 0;
	return 1;
}

static int one(char *opt, pl_dir_snmp_t *o, char *why, size_t whysz)
{
	char *v = strchr(opt, '=');
	if (strcmp(opt, "off") == 0 || strcmp(opt, "on") == 0) {
		o->enabled = opt[1] == 'n';
		return 0;
	}
	if (!v) {
		snprintf(why, whysz, "unknown option '%.40s'", opt);
		return -1;
	}
	*v++ = '\0';
	if (strcmp(opt, "interval") == 0 && num(v, 1, 86400, &o->interval_s) == 0)
		return 0;
	if (strcmp(opt, "timeout") == 0 && num(v, 100, 60000, &o->timeout_ms) == 0)
		return 0;
	if (strcmp(opt, "retries") == 0 && num(v, 0, 10, &o->retries) == 0)
		return 0;
	if (strcmp(opt, "port") == 0 && num(v, 1, 65535, &o->port) == 0)
		return 0;
	if (strcmp(opt, "profile") == 0 && word_ok(v, sizeof(o->profile))) {
		pl_strlcpy(o->profile, v, sizeof(o->profile));
		return 0;
	}
	if (strcmp(opt, "host") == 0 && word_ok(v, sizeof(o->host))) {
		pl_strlcpy(o->host, v, sizeof(o->host));
		return 0;
	}
	static const char *const hint[][2] = {
		{ "interval", "1 to 86400 seconds" }, { "timeout", "100 to 60000 ms" },
		{ "retries", "0 to 10" }, { "port", "1 to 65535" },
		{ "profile", "a name of at most 63 characters" },
		{ "host", "a host name or address" },
	};
	for (size_t i = 0; i < PL_ARRAY_LEN(hint); i++)
		if (strcmp(opt, hint[i][0]) == 0) {
			snprintf(why, whysz, "%s: %s", hint[i][0], hint[i][1]);
			return -1;
		}
	snprintf(why, whysz, "unknown option '%.40s'", opt);
	return -1;
}

int pl_dir_snmp_parse(const char *text, pl_dir_snmp_t *o, char *why, size_t whysz)
{
	char buf[PL_DIR_SNMP_TEXT_MAX], *save = NULL;
	pl_dir_snmp_defaults(o);
	if (pl_fmt(buf, sizeof(buf), "%s", text) < 0) {
		snprintf(why, whysz, "options too long");
		return -1;
	}
	for (char *t = strtok_r(buf, ", ", &save); t; t = strtok_r(NULL, ", ", &save))
		if (strcmp(t, "default") != 0 && one(t, o, why, whysz) < 0)
			return -1;
	return 0;
}

int pl_dir_snmp_set(pl_dir_t *d, const char *printer, const char *text, pl_err_t *err)
{
	pl_dir_snmp_t o;
	char why[128];
	int del = !text[0] || strcmp(text, "default") == 0;
	if (!del && pl_dir_snmp_parse(text, &o, why, sizeof(why)) < 0)
		return pl_dir_fail(err, "printer %s: SNMP options: %s", printer, why);
	if (!pl_dir_valid_name(printer))
		return pl_dir_fail(err, "invalid printer name");
	pl_dir_lock(d);
	sqlite3_stmt *st = pl_dir_prepare(d, "SELECT 1 FROM printers WHERE name = ?1", err);
	int rc = st && pl_dir_bind_text(st, 1, printer) == 0 ? sqlite3_step(st) : SQLITE_ERROR;
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW) {
		pl_dir_unlock(d);
		return rc == SQLITE_DONE ? pl_dir_fail(err, "no printer named %s", printer)
					 : pl_dir_sqlfail(d, err, "printer SNMP options");
	}
	st = pl_dir_prepare(d, del ? "DELETE FROM printer_snmp WHERE printer = ?1"
				   : "INSERT OR REPLACE INTO printer_snmp(printer, options, "
				     "updated_ms) VALUES(?1, ?2, ?3)", err);
	if (st && (pl_dir_bind_text(st, 1, printer) < 0 ||
		   (!del && (pl_dir_bind_text(st, 2, text) < 0 ||
			     sqlite3_bind_int64(st, 3, pl_dir_now_ms()) != SQLITE_OK)))) {
		sqlite3_finalize(st);
		st = NULL;
	}
	rc = st && pl_dir_run(d, st, "printer SNMP options", err) == SQLITE_DONE ? 0 : -1;
	pl_dir_unlock(d);
	return rc;
}

int pl_dir_snmp_get(pl_dir_t *d, const char *printer, char text[PL_DIR_SNMP_TEXT_MAX],
		    pl_err_t *err)
{
	text[0] = '\0';
	pl_dir_lock(d);
	sqlite3_stmt *st = pl_dir_prepare(d, "SELECT options FROM printer_snmp WHERE printer = ?1",
					  err);
	int rc = st && pl_dir_bind_text(st, 1, printer) == 0 ? sqlite3_step(st) : SQLITE_ERROR;
	if (rc == SQLITE_ROW)
		pl_strlcpy(text, pl_dir_col_text(st, 0), PL_DIR_SNMP_TEXT_MAX);
	else if (rc != SQLITE_DONE && st)
		pl_dir_sqlfail(d, err, "printer SNMP options");
	sqlite3_finalize(st);
	pl_dir_unlock(d);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : -1;
}

int pl_dir_uri_host(const char *uri, char *host, size_t size)
{
	const char *p = strstr(uri, "://");
	if (!p)
		return -1;
	p += 3;
	const char *at = strchr(p, '@'), *slash = strchr(p, '/');
	if (at && (!slash || at < slash))
		p = at + 1;
	size_t n;
	if (*p == '[') {
		const char *e = strchr(p, ']');
		if (!e)
			return -1;
		p++;
		n = (size_t)(e - p);
	} else {
		n = strcspn(p, ":/?#");
	}
	if (n == 0 || n >= size)
		return -1;
	memcpy(host, p, n);
	host[n] = '\0';
	return 0;
}
