/* /api/v1: users, printers and badge readers, in the directory (SQLite,
 * shared with the services and plsc). Reads run on the loop (they take
 * milliseconds); every write runs on the worker pool, since a user's PIN
 * or a CSV import means scrypt, tens of milliseconds a hash. The same
 * checks as plsc: badge IDs normalised, printer URIs parsed, reader
 * formats parsed, before anything is stored. */
#include "cs.h"
#include "body.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "pl_log.h"
#include "pl_printer.h"
#include "pl_util.h"

enum { DW_USER_ADD, DW_USER_PUT, DW_USER_DEL, DW_PIN, DW_IMPORT, DW_PRINTER_ADD,
       DW_PRINTER_PUT, DW_PRINTER_DEL, DW_READER_ADD, DW_READER_DEL };

typedef struct {
	int kind;
	cs_t *cs;
	char name[128];
	pl_dir_user_t user;
	pl_dir_printer_t printer;
	pl_dir_reader_t reader;
	char pin[256];
	int has_pin;
	const char *csv; /* the request's body, alive while it is deferred */
	size_t csv_len;
	long imported, failed;
	json_t *errors;
	int rc;
	pl_err_t err;
} dw_t;

static void dw_free(void *arg)
{
	dw_t *w = arg;
	OPENSSL_cleanse(w->pin, sizeof(w->pin));
	json_decref(w->errors);
	free(w);
}

static void import_error(void *arg, long line, const char *message)
{
	dw_t *w = arg;
	if (line == 0) { /* fatal: nothing was imported */
		pl_strlcpy(w->err.msg, message, sizeof(w->err.msg));
		return;
	}
	json_array_append_new(w->errors, json_pack("{s:I,s:s}", "line", (json_int_t)line,
						   "message", message));
}

static void dw_work(void *arg)
{
	dw_t *w = ((cs_req_t *)arg)->work;
	pl_dir_t *d = w->cs->dir;
	switch (w->kind) {
	case DW_USER_ADD:
	case DW_USER_PUT:
		w->rc = pl_dir_user_put(d, &w->user, w->has_pin ? w->pin : NULL,
					w->kind == DW_USER_PUT, &w->err);
		break;
	case DW_USER_DEL: w->rc = pl_dir_user_del(d, w->name, &w->err); break;
	case DW_PIN: w->rc = pl_dir_pin_set(d, w->name, w->pin, &w->err); break;
	case DW_IMPORT:
		w->rc = pl_dir_user_import_csv(d, w->csv, w->csv_len, import_error, w,
					       &w->imported, &w->failed);
		break;
	case DW_PRINTER_ADD:
	case DW_PRINTER_PUT:
		w->rc = pl_dir_printer_add(d, &w->printer, w->kind == DW_PRINTER_PUT, &w->err);
		break;
	case DW_PRINTER_DEL: w->rc = pl_dir_printer_del(d, w->name, &w->err); break;
	case DW_READER_ADD: w->rc = pl_dir_reader_put(d, &w->reader, 0, &w->err); break;
	case DW_READER_DEL: w->rc = pl_dir_reader_del(d, w->name, &w->err); break;
	}
	OPENSSL_cleanse(w->pin, sizeof(w->pin));
}

/* The directory's words decide the status: "... already exists" is a
 * conflict, "no user named ..." a missing thing, anything else bad input. */
static int dir_status(const char *msg)
{
	if (strstr(msg, "already exists"))
		return 409;
	if (strncmp(msg, "no ", 3) == 0 && strstr(msg, " named "))
		return 404;
	if (strstr(msg, "database") || strstr(msg, "SQLite") || strstr(msg, "disk"))
		return 500;
	return 400;
}

static const char *what_done(int kind)
{
	switch (kind) {
	case DW_USER_ADD: return "user %s added";
	case DW_USER_PUT: return "user %s saved";
	case DW_USER_DEL: return "user %s deleted";
	case DW_PIN: return "PIN of %s changed";
	case DW_PRINTER_ADD: return "printer %s added";
	case DW_PRINTER_PUT: return "printer %s saved";
	case DW_PRINTER_DEL: return "printer %s deleted";
	case DW_READER_ADD: return "reader %s added";
	default: return "reader %s deleted";
	}
}

static void dw_done(void *arg)
{
	cs_req_t *r = arg;
	dw_t *w = r->work;
	char msg[400];
	if (w->kind == DW_IMPORT) {
		if (w->rc < 0) {
			cs_reply_error(r, 400, "%s", w->err.msg);
			return;
		}
		pl_info("%s imported %ld users (%ld lines with errors)", r->user,
			w->imported, w->failed);
		cs_reply(r, 200, json_pack("{s:I,s:O}", "imported", (json_int_t)w->imported,
					   "errors", w->errors));
		return;
	}
	if (w->rc < 0) {
		cs_reply_error(r, dir_status(w->err.msg), "%s", w->err.msg);
		return;
	}
	(void)pl_fmt(msg, sizeof(msg), what_done(w->kind), w->name);
	pl_info("%s: %s", r->user, msg);
	int created = w->kind == DW_USER_ADD || w->kind == DW_PRINTER_ADD ||
		      w->kind == DW_READER_ADD;
	cs_reply(r, created ? 201 : 200, json_pack("{s:s}", "message", msg));
}

static dw_t *dw_new(cs_req_t *r, int kind, const char *name)
{
	dw_t *w = calloc(1, sizeof(*w));
	if (!w) {
		cs_reply_error(r, 500, "out of memory");
		return NULL;
	}
	w->kind = kind;
	w->cs = r->cs;
	pl_strlcpy(w->name, name, sizeof(w->name));
	r->work = w;
	r->work_free = dw_free;
	return w;
}

static void dw_go(cs_req_t *r)
{
	cs_run(r, dw_work, dw_done, r);
}

/* A write that needs nothing but the name (the deletes). */
static void dw_start(cs_req_t *r, int kind, const char *name)
{
	if (dw_new(r, kind, name))
		dw_go(r);
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
	if (cs_body_str(j, key, out, sz, err, sizeof(err)) < 0) {
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

static int user_from_json(cs_req_t *r, json_t *j, pl_dir_user_t *u)
{
	char err[400];
	if (cs_body_user(j, u, err, sizeof(err)) < 0) {
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
	dw_t *w = NULL;
	char name[128];
	if (get_str(r, j, "username", name, sizeof(name)) < 0)
		goto out;
	if (!name[0]) {
		cs_reply_error(r, 400, "a user needs a \"username\"");
		goto out;
	}
	if (!(w = dw_new(r, DW_USER_ADD, name)))
		goto out;
	pl_strlcpy(w->user.username, name, sizeof(w->user.username));
	pl_strlcpy(w->user.source, "local", sizeof(w->user.source));
	if (user_from_json(r, j, &w->user) < 0 ||
	    get_str(r, j, "pin", w->pin, sizeof(w->pin)) < 0)
		goto out;
	w->has_pin = w->pin[0] != '\0';
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
	dw_t *w = dw_new(r, DW_USER_PUT, name);
	if (w) {
		pl_strlcpy(w->user.username, name, sizeof(w->user.username));
		pl_strlcpy(w->user.source, old.source, sizeof(w->user.source));
		if (user_from_json(r, j, &w->user) == 0)
			dw_go(r); /* the PIN is kept: has_pin 0 passes NULL */
	}
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
	dw_t *w = NULL;
	if (!json_is_string(json_object_get(j, "pin")))
		cs_reply_error(r, 400, "a PIN reset needs \"pin\" (\"\" clears the PIN)");
	else if ((w = dw_new(r, DW_PIN, name)) &&
		 get_str(r, j, "pin", w->pin, sizeof(w->pin)) == 0)
		dw_go(r);
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
	w->errors = json_array();
	dw_go(r);
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
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, pl_dir_printer_json(&v[i]));
	free(v);
	cs_reply(r, 200, json_pack("{s:o}", "printers", arr));
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
	if (cs_body_printer(j, kind == DW_PRINTER_ADD, &p, msg, sizeof(msg)) < 0) {
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
	dw_t *w = dw_new(r, kind, p.name);
	if (w) {
		w->printer = p;
		dw_go(r);
	}
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
	if (strcmp(r->method, "PUT") == 0)
		printer_write(r, name, DW_PRINTER_PUT);
	else if (strcmp(r->method, "DELETE") == 0)
		dw_start(r, DW_PRINTER_DEL, name);
	else
		cs_reply_error(r, 405, "use PUT or DELETE");
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

static void reader_add(cs_req_t *r)
{
	json_t *j = cs_req_json(r);
	pl_dir_reader_t rd;
	char msg[400];
	if (!j)
		return;
	memset(&rd, 0, sizeof(rd));
	if (cs_body_reader(j, &rd, msg, sizeof(msg)) < 0) {
		cs_reply_error(r, 400, "%s", msg);
	} else {
		dw_t *w = dw_new(r, DW_READER_ADD, rd.name);
		if (w) {
			w->reader = rd;
			dw_go(r);
		}
	}
	json_decref(j);
}

static void api_readers(cs_req_t *r, const char *rest)
{
	char name[128];
	if (!rest[0]) {
		if (strcmp(r->method, "GET") == 0)
			readers_list(r);
		else if (strcmp(r->method, "POST") == 0)
			reader_add(r);
		else
			cs_reply_error(r, 405, "use GET or POST");
		return;
	}
	if (path_name(r, rest, name, sizeof(name)) < 0)
		return;
	if (strcmp(r->method, "DELETE") == 0)
		dw_start(r, DW_READER_DEL, name);
	else
		cs_reply_error(r, 405, "use DELETE");
}

int cs_api_dir(cs_req_t *r, const char *path)
{
	if (strcmp(path, "/users") == 0)
		api_users(r, "");
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
	else
		return 0;
	return 1;
}
