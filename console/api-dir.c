/* /api/v1: users, printers, badge readers, workstation tokens and console
 * administrators, in the directory (SQLite,
 * shared with the services and plsc). Reads run on the loop (they take
 * milliseconds) against the directory opened read-only; every write is a
 * DIR_WRITE to plsc-directory, the directory's one writer (dirw.c): the
 * request waits, deferred, for its answer. The same checks as plsc run
 * here first (badge IDs normalised, printer URIs parsed, reader formats
 * parsed), so a bad body is answered at once; plsc-directory runs them
 * again on the body we forward, since it trusts us no more than we trust
 * the browser. A new token's secret is in one answer (201) and nowhere
 * else: never logged, never listed again. */
#include "cs.h"
#include "body.h"
#include "csv.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pl_log.h"
#include "pl_printer.h"
#include "pl_prstatus.h"
#include "pl_util.h"

enum { DW_USER_ADD, DW_USER_PUT, DW_USER_DEL, DW_PIN, DW_IMPORT, DW_PRINTER_ADD,
       DW_PRINTER_PUT, DW_PRINTER_DEL, DW_READER_ADD, DW_READER_PUT, DW_READER_DEL,
       DW_TOKEN_CREATE,
       DW_TOKEN_REVOKE, DW_ADMIN_ADD, DW_ADMIN_DEL, DW_ADMIN_PASSWD };

/* DIR_WRITE's OP for each kind (proto/PROTOCOL.md). */
static const char *const dw_ops[] = {
	[DW_USER_ADD] = "user-add",	  [DW_USER_PUT] = "user-put",
	[DW_USER_DEL] = "user-del",	  [DW_PIN] = "pin-set",
	[DW_IMPORT] = "users-import",	  [DW_PRINTER_ADD] = "printer-add",
	[DW_PRINTER_PUT] = "printer-put", [DW_PRINTER_DEL] = "printer-del",
	[DW_READER_ADD] = "reader-add",	  [DW_READER_PUT] = "reader-put",
	[DW_READER_DEL] = "reader-del",
	[DW_TOKEN_CREATE] = "token-create", [DW_TOKEN_REVOKE] = "token-revoke",
	[DW_ADMIN_ADD] = "admin-put",	  [DW_ADMIN_DEL] = "admin-del",
	[DW_ADMIN_PASSWD] = "admin-passwd",
};

typedef struct {
	int kind;
	char name[128]; /* NAME: the record a put, PIN or delete is about */
	/* a CSV import, sent in parts of whole lines */
	const char *csv; /* the request's body, alive while it is deferred */
	size_t csv_len, pos;
	uint32_t line; /* the first line of the next part */
	char *cut;     /* an over-long line, shortened (see csv_part) */
	long imported, failed;
	json_t *errors;
	char session[CS_TOKEN_LEN + 1]; /* admin-passwd: the session that asked */
	char ip[64];
	/* admin-passwd: the current password's check, begun in the lock-out
	 * counters (cs_login_begin) and not yet ended */
	cs_t *counted;
	char user[128];
} dw_t;

/* The current password's check is over: 1 right, 0 wrong, -1 unknown. */
static void dw_count(dw_t *w, int result)
{
	if (!w->counted)
		return;
	cs_login_end(&w->counted->sessions, w->ip, w->user, result, pl_now_ms());
	cs_status_note(w->counted);
	w->counted = NULL;
}

static void dw_free(void *arg)
{
	dw_t *w = arg;
	dw_count(w, -1);
	json_decref(w->errors);
	free(w->cut);
	OPENSSL_cleanse(w->session, sizeof(w->session));
	free(w);
}

/* The HTTP status for plsc-directory's RESULT status: what the console
 * answered when it wrote the directory itself. */
static int dw_http_status(uint32_t st)
{
	switch (st) {
	case PL_STATUS_BADREQ: return 400;
	case PL_STATUS_AUTH: return 403;
	case PL_STATUS_NOTFOUND: return 404;
	case PL_STATUS_CONFLICT: return 409;
	case PL_STATUS_BUSY: return 503;
	default: return 500;
	}
}

static void dw_answer(cs_req_t *r, const pl_frame_t *f, const char *why);

/* Send one DIR_WRITE for r: its OP, NAME when set, the administrator,
 * body (may be NULL) and, for a CSV part, its first line. */
static void dw_send(cs_req_t *r, const char *body, size_t len, uint32_t timeout_ms)
{
	dw_t *w = r->work;
	pl_msg_t m;
	if (pl_msg_init(&m, PL_MSG_DIR_WRITE, 0, 0) < 0) {
		cs_reply_error(r, 500, "out of memory");
		return;
	}
	pl_msg_add_str(&m, PL_TAG_TO, CS_DIRW_TO);
	pl_msg_add_str(&m, PL_TAG_OP, dw_ops[w->kind]);
	if (w->name[0])
		pl_msg_add_str(&m, PL_TAG_NAME, w->name);
	pl_msg_add_str(&m, PL_TAG_USER, r->user);
	if (w->kind == DW_IMPORT)
		pl_msg_add_u32(&m, PL_TAG_LINE, w->line);
	if (body)
		pl_msg_add(&m, PL_TAG_PAYLOAD, len ? body : "", len);
	if (cs_dirw_send(r->cs, &m, timeout_ms, r, dw_answer) < 0)
		cs_reply_error(r, 503, "busy; try again");
	pl_msg_free(&m);
}

/* The next part of the CSV from w->pos: whole lines, at most CS_CSV_PART
 * bytes and CS_CSV_PART_LINES lines (each may carry a PIN to hash), so
 * that it fits a channel frame and is answered in reasonable time. A
 * line longer than a part is an error line in any case (the parser
 * refuses lines over 4095 bytes before looking inside); it goes on its
 * own, shortened to 8 KiB, which is refused alike. */
static void csv_part(cs_req_t *r)
{
	dw_t *w = r->work;
	const char *s = w->csv + w->pos;
	size_t left = w->csv_len - w->pos, end = 0;
	uint32_t lines = 0;
	while (lines < CS_CSV_PART_LINES) {
		const char *nl = memchr(s + end, '\n', left - end);
		size_t next = nl ? (size_t)(nl - s) + 1 : left;
		if (next > CS_CSV_PART)
			break;
		end = next;
		if (!nl)
			break;
		lines++;
	}
	if (end == 0 && left > 0) { /* one line over CS_CSV_PART */
		const char *nl = memchr(s, '\n', left);
		free(w->cut);
		if (!(w->cut = malloc(8192))) {
			cs_reply_error(r, 500, "out of memory");
			return;
		}
		memcpy(w->cut, s, 8192);
		w->pos += nl ? (size_t)(nl - s) + 1 : left;
		dw_send(r, w->cut, 8192, CS_DIRW_IMPORT_TIMEOUT_MS);
		w->line++;
		return;
	}
	w->pos += end;
	dw_send(r, s, end, CS_DIRW_IMPORT_TIMEOUT_MS);
	w->line += lines;
}

/* One CSV part's answer: counts and the lines with errors. 0, or -1
 * after answering r. */
static int import_part(cs_req_t *r, const pl_frame_t *f)
{
	dw_t *w = r->work;
	pl_field_t fl;
	uint32_t n = 0;
	json_t *res = NULL, *e;
	size_t i;
	pl_frame_get_u32(f, PL_TAG_COUNT, &n);
	if (pl_frame_find(f, PL_TAG_PAYLOAD, &fl) == 1)
		res = json_loadb((const char *)fl.val, fl.len, 0, NULL);
	if (!json_is_object(res) || !json_is_array(json_object_get(res, "errors"))) {
		json_decref(res);
		cs_reply_error(r, 500, "%s answered the import without its results", CS_DIRW_TO);
		return -1;
	}
	w->imported += n;
	w->failed += (long)json_integer_value(json_object_get(res, "failed"));
	json_array_foreach(json_object_get(res, "errors"), i, e)
		json_array_append(w->errors, e);
	json_decref(res);
	return 0;
}

static int created(int kind)
{
	return kind == DW_USER_ADD || kind == DW_PRINTER_ADD || kind == DW_READER_ADD ||
	       kind == DW_ADMIN_ADD;
}

/* A new token: the secret into the answer, and only there. */
static void token_created(cs_req_t *r, const pl_frame_t *f, const char *msg)
{
	dw_t *w = r->work;
	char tok[PL_TOKEN_MAX] = "", id[16] = "";
	if (pl_frame_get_str(f, PL_TAG_TOKEN, tok, sizeof(tok)) < 0 || !tok[0]) {
		cs_reply_error(r, 500, "%s answered without the token", CS_DIRW_TO);
		return;
	}
	pl_frame_get_str(f, PL_TAG_NAME, id, sizeof(id));
	pl_info("%s: %s", r->user, msg);
	cs_reply(r, 201, json_pack("{s:s,s:s,s:s,s:s}", "message", msg, "token", tok, "id", id,
				   "workstation", w->name));
	OPENSSL_cleanse(tok, sizeof(tok));
}

/* plsc-directory's answer (or the supervisor's, or none): the HTTP answer
 * the console gave when it wrote the directory itself. */
static void dw_answer(cs_req_t *r, const pl_frame_t *f, const char *why)
{
	dw_t *w = r->work;
	char msg[512] = "";
	uint32_t st = PL_STATUS_ERROR;
	pl_field_t from;
	if (!f) {
		cs_reply_error(r, 503, "%s", why);
		return;
	}
	pl_frame_get_u32(f, PL_TAG_STATUS, &st);
	pl_frame_get_str(f, PL_TAG_MESSAGE, msg, sizeof(msg));
	/* A password change checked the current password: a wrong one counts
	 * as a failed login, a right one clears the counts. */
	if (pl_frame_find(f, PL_TAG_FROM, &from) == 1)
		dw_count(w, st == PL_STATUS_AUTH ? 0 : st == PL_STATUS_OK ? 1 : -1);
	if (pl_frame_find(f, PL_TAG_FROM, &from) != 1) {
		/* The supervisor's own answer: it could not deliver. */
		cs_reply_error(r, 503, "the directory cannot be changed now: %s",
			       msg[0] ? msg : "service " CS_DIRW_TO " is not running");
		return;
	}
	if (st != PL_STATUS_OK || (f->flags & PL_FLAG_ERROR)) {
		/* A wrong current password counts as a failed login. */
		if (w->kind == DW_ADMIN_PASSWD && st == PL_STATUS_AUTH)
			pl_warn("%s: password change refused from %s: %s", r->user, w->ip, msg);
		cs_reply_error(r, dw_http_status(st ? st : PL_STATUS_ERROR), "%s",
			       msg[0] ? msg : "the directory refused the change");
		return;
	}
	if (w->kind == DW_TOKEN_CREATE) {
		token_created(r, f, msg);
		return;
	}
	if (w->kind == DW_ADMIN_PASSWD) {
		/* The other sessions of this administrator end; this one goes on. */
		int n = cs_session_renew(&r->cs->sessions, r->user, w->session);
		pl_info("%s: %s (%d other sessions ended)", r->user, msg, n);
		cs_reply(r, 200, json_pack("{s:s,s:i}", "message", msg, "sessions_ended", n));
		return;
	}
	if (w->kind == DW_IMPORT) {
		if (import_part(r, f) < 0)
			return;
		if (w->pos < w->csv_len) {
			csv_part(r);
			return;
		}
		pl_info("%s imported %ld users (%ld lines with errors)", r->user,
			w->imported, w->failed);
		cs_reply(r, 200, json_pack("{s:I,s:O}", "imported", (json_int_t)w->imported,
					   "errors", w->errors));
		return;
	}
	pl_info("%s: %s", r->user, msg);
	cs_reply(r, created(w->kind) ? 201 : 200, json_pack("{s:s}", "message", msg));
}

static dw_t *dw_new(cs_req_t *r, int kind, const char *name)
{
	dw_t *w = calloc(1, sizeof(*w));
	if (!w) {
		cs_reply_error(r, 500, "out of memory");
		return NULL;
	}
	w->kind = kind;
	pl_strlcpy(w->name, name ? name : "", sizeof(w->name));
	r->work = w;
	r->work_free = dw_free;
	return w;
}

/* Send the request's JSON body (checked) as the record. */
static void dw_go(cs_req_t *r)
{
	dw_send(r, r->body ? r->body : "", r->len, CS_DIRW_TIMEOUT_MS);
}

/* A write that needs nothing but the name (the deletes). */
static void dw_start(cs_req_t *r, int kind, const char *name)
{
	if (dw_new(r, kind, name))
		dw_send(r, NULL, 0, CS_DIRW_TIMEOUT_MS);
}

/* The last path component ("users/alice" -> "alice"), checked. */
static int path_name(cs_req_t *r, const char *s, char *out, size_t sz)
{
	const char *sub;
	if (cs_path_split(s, out, sz, &sub) < 0 || *sub) {
		cs_reply_error(r, 404, "no such API path");
		return -1;
	}
	return 0;
}

/* A string member into out ("" when absent); -1 after answering 400. */
static int get_str(cs_req_t *r, json_t *j, const char *key, char *out, size_t sz)
{
	char err[300];
	if (pl_dir_body_str(j, key, out, sz, err, sizeof(err)) < 0) {
		cs_reply_error(r, 400, "%s", err);
		return -1;
	}
	return 0;
}

/* ---- users ---- */

static void users_list(cs_req_t *r)
{
	pl_dir_user_t *v = NULL;
	size_t n = 0;
	pl_err_t err;
	if (pl_dir_user_list(r->cs->dir, &v, &n, &err) < 0) {
		cs_reply_error(r, 500, "%s", err.msg);
		return;
	}
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, pl_dir_user_json(&v[i]));
	free(v);
	cs_reply(r, 200, json_pack("{s:o}", "users", arr));
}

/* GET /users.csv: the list as a download, one user a row; lists joined by
 * spaces. */
static void users_csv(cs_req_t *r)
{
	static const char *const cols[] = { "username", "display_name", "emails", "groups",
					     "badges",   "has_pin",	     "source" };
	pl_dir_user_t *v = NULL;
	size_t n = 0, k, len;
	pl_err_t err;
	cs_csv_t c = { 0 };
	if (strcmp(r->method, "GET") != 0) {
		cs_reply_error(r, 405, "use GET");
		return;
	}
	if (pl_dir_user_list(r->cs->dir, &v, &n, &err) < 0) {
		cs_reply_error(r, 500, "%s", err.msg);
		return;
	}
	for (k = 0; k < sizeof(cols) / sizeof(cols[0]); k++)
		cs_csv_cell(&c, cols[k]);
	cs_csv_row_end(&c);
	for (size_t i = 0; i < n; i++) {
		json_t *u = pl_dir_user_json(&v[i]);
		for (k = 0; k < sizeof(cols) / sizeof(cols[0]); k++)
			cs_csv_json(&c, json_object_get(u, cols[k]));
		cs_csv_row_end(&c);
		json_decref(u);
	}
	free(v);
	char *csv = cs_csv_take(&c, &len);
	cs_reply_text(r, 200, "text/csv; charset=utf-8", csv, len, "users.csv");
}

static int user_from_json(cs_req_t *r, json_t *j, pl_dir_user_t *u)
{
	char err[400];
	if (pl_dir_body_user(j, u, err, sizeof(err)) < 0) {
		cs_reply_error(r, 400, "%s", err);
		return -1;
	}
	return 0;
}

static void user_add(cs_req_t *r)
{
	json_t *j = cs_req_json(r);
	if (!j)
		return;
	pl_dir_user_t u;
	char name[128], pin[256];
	memset(&u, 0, sizeof(u));
	if (get_str(r, j, "username", name, sizeof(name)) < 0)
		goto out;
	if (!name[0]) {
		cs_reply_error(r, 400, "a user needs a \"username\"");
		goto out;
	}
	if (user_from_json(r, j, &u) < 0 || get_str(r, j, "pin", pin, sizeof(pin)) < 0)
		goto out;
	OPENSSL_cleanse(pin, sizeof(pin));
	if (dw_new(r, DW_USER_ADD, ""))
		dw_go(r);
out:
	json_decref(j);
}

static void user_put(cs_req_t *r, const char *name)
{
	pl_dir_user_t old;
	pl_err_t err;
	if (cs_reply_lookup(r, pl_dir_user_get(r->cs->dir, name, &old, &err), "user", name,
			    &err) != 0)
		return;
	json_t *j = cs_req_json(r);
	if (!j)
		return;
	pl_dir_user_t u;
	memset(&u, 0, sizeof(u));
	/* The PIN is kept; plsc-directory keeps the user's source. */
	if (user_from_json(r, j, &u) == 0 && dw_new(r, DW_USER_PUT, name))
		dw_go(r);
	json_decref(j);
}

static void user_pin(cs_req_t *r, const char *name)
{
	pl_dir_user_t old;
	pl_err_t err;
	if (cs_reply_lookup(r, pl_dir_user_get(r->cs->dir, name, &old, &err), "user", name,
			    &err) != 0)
		return;
	json_t *j = cs_req_json(r);
	if (!j)
		return;
	char pin[256];
	if (!json_is_string(json_object_get(j, "pin"))) {
		cs_reply_error(r, 400, "a PIN reset needs \"pin\" (\"\" clears the PIN)");
	} else if (get_str(r, j, "pin", pin, sizeof(pin)) == 0) {
		OPENSSL_cleanse(pin, sizeof(pin));
		if (dw_new(r, DW_PIN, name))
			dw_go(r);
	}
	json_decref(j);
}

static void users_import(cs_req_t *r)
{
	const char *ct = cs_req_header(r, "Content-Type");
	if (strcmp(r->method, "POST") != 0) {
		cs_reply_error(r, 405, "use POST");
		return;
	}
	if (!ct || strncasecmp(ct, "text/csv", 8) != 0) {
		cs_reply_error(r, 415, "send the CSV file as text/csv");
		return;
	}
	dw_t *w = dw_new(r, DW_IMPORT, "");
	if (!w)
		return;
	w->csv = r->body ? r->body : "";
	w->csv_len = r->len;
	w->line = 1;
	if (!(w->errors = json_array())) {
		cs_reply_error(r, 500, "out of memory");
		return;
	}
	csv_part(r);
}

static void api_users(cs_req_t *r, const char *rest)
{
	char name[128];
	if (!rest[0]) {
		if (strcmp(r->method, "GET") == 0)
			users_list(r);
		else if (strcmp(r->method, "POST") == 0)
			user_add(r);
		else
			cs_reply_error(r, 405, "use GET or POST");
		return;
	}
	if (strcmp(rest, "import") == 0) {
		users_import(r);
		return;
	}
	const char *sub;
	if (cs_path_split(rest, name, sizeof(name), &sub) == 0 && strcmp(sub, "/pin") == 0) {
		if (strcmp(r->method, "POST") != 0)
			cs_reply_error(r, 405, "use POST");
		else
			user_pin(r, name);
		return;
	}
	if (path_name(r, rest, name, sizeof(name)) < 0)
		return;
	if (strcmp(r->method, "PUT") == 0)
		user_put(r, name);
	else if (strcmp(r->method, "DELETE") == 0)
		dw_start(r, DW_USER_DEL, name);
	else
		cs_reply_error(r, 405, "use PUT or DELETE");
}

/* ---- printers ---- */

static void printers_list(cs_req_t *r)
{
	pl_dir_printer_t *v = NULL;
	size_t n = 0;
	pl_err_t err;
	if (pl_dir_printer_list(r->cs->dir, &v, &n, &err) < 0) {
		cs_reply_error(r, 500, "%s", err.msg);
		return;
	}
	pl_prstatus_t *st = r->cs->status_path[0] ? pl_prstatus_open(r->cs->status_path, 0, &err)
						  : NULL;
	json_t *all = st ? pl_prstatus_all(st, &err) : NULL;
	pl_prstatus_close(st);
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *j = pl_dir_printer_json(&v[i]);
		json_object_set_new(j, "status",
				    json_string(pl_prstatus_word(json_object_get(all, v[i].name))));
		json_array_append_new(arr, j);
	}
	json_decref(all);
	free(v);
	cs_reply(r, 200, json_pack("{s:o}", "printers", arr));
}

/* One printer with its SNMP options and its last poll (the detail view):
 * {name, uri, location, formats, status, snmp_options, snmp_status}. */
static void printer_show(cs_req_t *r, const char *name)
{
	pl_dir_printer_t p;
	pl_err_t err = { "" };
	char opts[PL_DIR_SNMP_TEXT_MAX];
	if (cs_reply_lookup(r, pl_dir_printer_get(r->cs->dir, name, &p, &err), "printer", name,
			    &err) != 0)
		return;
	if (pl_dir_snmp_get(r->cs->dir, name, opts, &err) < 0)
		opts[0] = '\0';
	pl_prstatus_t *st = r->cs->status_path[0] ? pl_prstatus_open(r->cs->status_path, 0, &err)
						  : NULL;
	json_t *row = st ? pl_prstatus_get(st, name, &err) : NULL;
	pl_prstatus_close(st);
	json_t *j = pl_dir_printer_json(&p);
	json_object_set_new(j, "status", json_string(pl_prstatus_word(row)));
	json_object_set_new(j, "snmp_options", json_string(opts[0] ? opts : "default"));
	json_object_set_new(j, "snmp_status", row ? row : json_null());
	cs_reply(r, 200, j);
}

static void printer_write(cs_req_t *r, const char *name, int kind)
{
	json_t *j = cs_req_json(r);
	pl_dir_printer_t p;
	pl_err_t err;
	if (!j)
		return;
	char msg[300];
	memset(&p, 0, sizeof(p));
	if (kind == DW_PRINTER_PUT)
		pl_strlcpy(p.name, name, sizeof(p.name));
	if (pl_dir_body_printer(j, kind == DW_PRINTER_ADD, &p, msg, sizeof(msg)) < 0) {
		cs_reply_error(r, 400, "%s", msg);
		goto out;
	}
	if (pl_printer_check_uri(p.uri, &err) < 0) {
		cs_reply_error(r, 400, "%s", err.msg);
		goto out;
	}
	if (kind == DW_PRINTER_PUT) {
		pl_dir_printer_t old;
		if (cs_reply_lookup(r, pl_dir_printer_get(r->cs->dir, p.name, &old, &err),
				    "printer", p.name, &err) != 0)
			goto out;
	}
	if (dw_new(r, kind, kind == DW_PRINTER_PUT ? p.name : ""))
		dw_go(r);
out:
	json_decref(j);
}

static void api_printers(cs_req_t *r, const char *rest)
{
	char name[128];
	if (!rest[0]) {
		if (strcmp(r->method, "GET") == 0)
			printers_list(r);
		else if (strcmp(r->method, "POST") == 0)
			printer_write(r, NULL, DW_PRINTER_ADD);
		else
			cs_reply_error(r, 405, "use GET or POST");
		return;
	}
	if (path_name(r, rest, name, sizeof(name)) < 0)
		return;
	if (strcmp(r->method, "GET") == 0)
		printer_show(r, name);
	else if (strcmp(r->method, "PUT") == 0)
		printer_write(r, name, DW_PRINTER_PUT);
	else if (strcmp(r->method, "DELETE") == 0)
		dw_start(r, DW_PRINTER_DEL, name);
	else
		cs_reply_error(r, 405, "use GET, PUT or DELETE");
}

/* ---- readers ---- */

static void readers_list(cs_req_t *r)
{
	pl_dir_reader_t *v = NULL;
	size_t n = 0;
	pl_err_t err;
	if (pl_dir_reader_list(r->cs->dir, &v, &n, &err) < 0) {
		cs_reply_error(r, 500, "%s", err.msg);
		return;
	}
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, pl_dir_reader_json(&v[i]));
	free(v);
	cs_reply(r, 200, json_pack("{s:o}", "readers", arr));
}

/* POST adds a reader; PUT replaces every field of the reader NAME but its
 * name (a "name" in the body is ignored: the path names the reader, as
 * for a printer). Both are parsed here as plsc-directory will, so a bad
 * body is answered at once. */
static void reader_write(cs_req_t *r, const char *name, int kind)
{
	json_t *j = cs_req_json(r);
	pl_dir_reader_t rd, old;
	pl_err_t err;
	char msg[400];
	if (!j)
		return;
	memset(&rd, 0, sizeof(rd));
	if (kind == DW_READER_PUT)
		pl_strlcpy(rd.name, name, sizeof(rd.name));
	if (pl_dir_body_reader(j, kind == DW_READER_ADD, &rd, msg, sizeof(msg)) < 0)
		cs_reply_error(r, 400, "%s", msg);
	else if (kind == DW_READER_PUT &&
		 cs_reply_lookup(r, pl_dir_reader_get(r->cs->dir, rd.name, &old, &err),
				 "reader", rd.name, &err) != 0)
		; /* answered: 404 */
	else if (dw_new(r, kind, kind == DW_READER_PUT ? rd.name : ""))
		dw_go(r);
	json_decref(j);
}

static void api_readers(cs_req_t *r, const char *rest)
{
	char name[128];
	if (!rest[0]) {
		if (strcmp(r->method, "GET") == 0)
			readers_list(r);
		else if (strcmp(r->method, "POST") == 0)
			reader_write(r, NULL, DW_READER_ADD);
		else
			cs_reply_error(r, 405, "use GET or POST");
		return;
	}
	if (path_name(r, rest, name, sizeof(name)) < 0)
		return;
	if (strcmp(r->method, "PUT") == 0)
		reader_write(r, name, DW_READER_PUT);
	else if (strcmp(r->method, "DELETE") == 0)
		dw_start(r, DW_READER_DEL, name);
	else
		cs_reply_error(r, 405, "use PUT or DELETE");
}

/* ---- workstation tokens ---- */

static void tokens_list(cs_req_t *r)
{
	pl_dir_token_t *v = NULL;
	size_t n = 0;
	pl_err_t err;
	if (pl_dir_token_list(r->cs->dir, &v, &n, &err) < 0) {
		cs_reply_error(r, 500, "%s", err.msg);
		return;
	}
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(
			arr, json_pack("{s:s,s:s,s:I,s:o,s:b}", "workstation", v[i].workstation,
				       "id", v[i].id, "created_ms", (json_int_t)v[i].created_ms,
				       "last_used_ms",
				       v[i].last_used_ms ? json_integer(v[i].last_used_ms)
							 : json_null(),
				       "revoked", v[i].revoked));
	free(v);
	cs_reply(r, 200, json_pack("{s:o}", "tokens", arr));
}

static void token_create(cs_req_t *r)
{
	json_t *j = cs_req_json(r);
	char ws[128];
	if (!j)
		return;
	if (get_str(r, j, "workstation", ws, sizeof(ws)) == 0) {
		if (!ws[0])
			cs_reply_error(r, 400, "a token needs a \"workstation\"");
		else if (dw_new(r, DW_TOKEN_CREATE, ws))
			dw_send(r, NULL, 0, CS_DIRW_TIMEOUT_MS);
	}
	json_decref(j);
}

static int token_id_ok(const char *id)
{
	return strlen(id) == 8 && strspn(id, "0123456789abcdef") == 8;
}

static void api_tokens(cs_req_t *r, const char *rest)
{
	char id[16];
	const char *sub;
	if (!rest[0]) {
		if (strcmp(r->method, "GET") == 0)
			tokens_list(r);
		else if (strcmp(r->method, "POST") == 0)
			token_create(r);
		else
			cs_reply_error(r, 405, "use GET or POST");
		return;
	}
	if (cs_path_split(rest, id, sizeof(id), &sub) < 0 || !token_id_ok(id) ||
	    (*sub && strcmp(sub, "/revoke") != 0)) {
		cs_reply_error(r, 404, "no such token");
		return;
	}
	if (strcmp(r->method, *sub ? "POST" : "DELETE") != 0)
		cs_reply_error(r, 405, *sub ? "use POST" : "use DELETE");
	else
		dw_start(r, DW_TOKEN_REVOKE, id);
}

/* ---- console administrators ---- */

static void admins_list(cs_req_t *r)
{
	pl_dir_admin_t *v = NULL;
	size_t n = 0;
	pl_err_t err;
	if (pl_dir_admin_list(r->cs->dir, &v, &n, &err) < 0) {
		cs_reply_error(r, 500, "%s", err.msg);
		return;
	}
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, json_pack("{s:s,s:I,s:I,s:b}", "name", v[i].name,
						     "created_ms", (json_int_t)v[i].created_ms,
						     "updated_ms", (json_int_t)v[i].updated_ms,
						     "you", strcmp(v[i].name, r->user) == 0));
	free(v);
	cs_reply(r, 200, json_pack("{s:o,s:s}", "admins", arr, "you", r->user));
}

/* 0 when the body has the string members keys (a password is checked
 * by plsc-directory, with plsc admin's rules); -1 after answering 400. */
static int has_strings(cs_req_t *r, json_t *j, const char *const *keys, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!json_is_string(json_object_get(j, keys[i]))) {
			cs_reply_error(r, 400, "\"%s\" is required (a string)", keys[i]);
			return -1;
		}
	}
	return 0;
}

static void admin_add(cs_req_t *r)
{
	static const char *const keys[] = { "name", "password" };
	json_t *j = cs_req_json(r);
	if (!j)
		return;
	if (has_strings(r, j, keys, 2) == 0 && dw_new(r, DW_ADMIN_ADD, ""))
		dw_go(r);
	json_decref(j);
}

static void admin_passwd(cs_req_t *r, const char *name)
{
	static const char *const keys[] = { "current", "password" };
	if (strcmp(name, r->user) != 0) {
		cs_reply_error(r, 403, "you can change only your own password");
		return;
	}
	json_t *j = cs_req_json(r);
	if (!j)
		return;
	dw_t *w;
	if (has_strings(r, j, keys, 2) == 0 && (w = dw_new(r, DW_ADMIN_PASSWD, name))) {
		/* The current password is checked: counted as a login is,
		 * before the check. */
		uint64_t wait = cs_login_begin(&r->cs->sessions, r->ip, r->user, pl_now_ms());
		cs_status_note(r->cs);
		if (wait) {
			unsigned s = (unsigned)((wait + 999) / 1000);
			snprintf(r->retry_after, sizeof(r->retry_after), "%u", s);
			cs_reply_error(r, 429, "too many wrong passwords; try again in %u s", s);
		} else {
			w->counted = r->cs;
			pl_strlcpy(w->user, r->user, sizeof(w->user));
			pl_strlcpy(w->session, r->session->token, sizeof(w->session));
			pl_strlcpy(w->ip, r->ip, sizeof(w->ip));
			dw_go(r);
		}
	}
	json_decref(j);
}

static void api_admins(cs_req_t *r, const char *rest)
{
	char name[128];
	const char *sub;
	if (!rest[0]) {
		if (strcmp(r->method, "GET") == 0)
			admins_list(r);
		else if (strcmp(r->method, "POST") == 0)
			admin_add(r);
		else
			cs_reply_error(r, 405, "use GET or POST");
		return;
	}
	if (cs_path_split(rest, name, sizeof(name), &sub) == 0 &&
	    strcmp(sub, "/password") == 0) {
		if (strcmp(r->method, "POST") != 0)
			cs_reply_error(r, 405, "use POST");
		else
			admin_passwd(r, name);
		return;
	}
	if (path_name(r, rest, name, sizeof(name)) < 0)
		return;
	if (strcmp(r->method, "DELETE") != 0)
		cs_reply_error(r, 405, "use DELETE");
	else if (strcmp(name, r->user) == 0)
		cs_reply_error(r, 409, "you cannot delete your own account");
	else
		dw_start(r, DW_ADMIN_DEL, name);
}

int cs_api_dir(cs_req_t *r, const char *path)
{
	if (strcmp(path, "/users") == 0)
		api_users(r, "");
	else if (strcmp(path, "/users.csv") == 0)
		users_csv(r);
	else if (strncmp(path, "/users/", 7) == 0)
		api_users(r, path + 7);
	else if (strcmp(path, "/printers") == 0)
		api_printers(r, "");
	else if (strncmp(path, "/printers/", 10) == 0)
		api_printers(r, path + 10);
	else if (strcmp(path, "/readers") == 0)
		api_readers(r, "");
	else if (strncmp(path, "/readers/", 9) == 0)
		api_readers(r, path + 9);
	else if (strcmp(path, "/tokens") == 0)
		api_tokens(r, "");
	else if (strncmp(path, "/tokens/", 8) == 0)
		api_tokens(r, path + 8);
	else if (strcmp(path, "/admins") == 0)
		api_admins(r, "");
	else if (strncmp(path, "/admins/", 8) == 0)
		api_admins(r, path + 8);
	else
		return 0;
	return 1;
}
