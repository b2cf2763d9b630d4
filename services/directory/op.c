/* One DIR_WRITE request: its fields, the change, the answer. Every record
 * body is checked again here with the parsers the console ran
 * (pl_dirbody.h), and printer URIs and reader formats too: what arrives
 * comes from a service that faces the network, so it is trusted no more
 * than the browser's body was. Workstation tokens and console
 * administrators are changed only for the console (FROM plsc-console, an
 * administrator named in USER): a token lets a workstation submit jobs,
 * an administrator can do everything. The services that hold jobs may
 * ask for one thing only, token-used (a token's last use), and only they
 * may ask for it. The secrets (a new token, a password) never reach a
 * log line. */
#include "ds.h"

#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pl_dirbody.h"
#include "pl_log.h"
#include "pl_printer.h"
#include "pl_util.h"

static void fail(ds_req_t *q, uint32_t status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void fail(ds_req_t *q, uint32_t status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(q->msg, sizeof(q->msg), fmt, ap);
	va_end(ap);
	q->status = status;
}

/* An optional string field; -1 after failing q when it is malformed. */
static int get_str(ds_req_t *q, const pl_frame_t *f, uint16_t tag, const char *what,
		   char *out, size_t sz)
{
	int rc = pl_frame_get_str(f, tag, out, sz);
	if (rc == 0 || rc == -PL_PROTO_EMISSING)
		return 0;
	fail(q, PL_STATUS_BADREQ, "%s: %s", what, pl_proto_strerror(-rc));
	return -1;
}

ds_req_t *ds_req_parse(const pl_frame_t *f)
{
	ds_req_t *q = calloc(1, sizeof(*q));
	pl_field_t fl;
	if (!q)
		return NULL;
	q->seq = f->seq;
	q->first_line = 1;
	if (get_str(q, f, PL_TAG_FROM, "FROM", q->from, sizeof(q->from)) < 0 ||
	    get_str(q, f, PL_TAG_USER, "USER", q->admin, sizeof(q->admin)) < 0 ||
	    get_str(q, f, PL_TAG_OP, "OP", q->op, sizeof(q->op)) < 0 ||
	    get_str(q, f, PL_TAG_NAME, "NAME", q->name, sizeof(q->name)) < 0 ||
	    get_str(q, f, PL_TAG_SOURCE, "SOURCE", q->source, sizeof(q->source)) < 0)
		return q;
	if (!q->op[0]) {
		fail(q, PL_STATUS_BADREQ, "DIR_WRITE without OP");
		return q;
	}
	if (pl_frame_find(f, PL_TAG_LINE, &fl) == 1 &&
	    (pl_field_u32(&fl, &q->first_line) < 0 || q->first_line < 1)) {
		fail(q, PL_STATUS_BADREQ, "LINE: a line number from 1");
		return q;
	}
	if (pl_frame_find(f, PL_TAG_MORE, &fl) == 1 && pl_field_u8(&fl, &q->more) < 0) {
		fail(q, PL_STATUS_BADREQ, "MORE: a u8");
		return q;
	}
	if (pl_frame_find(f, PL_TAG_PAYLOAD, &fl) == 1) {
		q->payload = malloc(fl.len + 1);
		if (!q->payload) {
			fail(q, PL_STATUS_BUSY, "out of memory");
			return q;
		}
		memcpy(q->payload, fl.val, fl.len);
		q->payload[fl.len] = '\0';
		q->len = fl.len;
	}
	return q;
}

/* ---- the operations ---- */

/* The directory's words decide the status, as the console's did: "...
 * already exists" is a conflict, "no user named ..." a missing thing, a
 * database failure an error, anything else a bad request. */
static void dir_failed(ds_req_t *q, const pl_err_t *err)
{
	uint32_t st = PL_STATUS_BADREQ;
	if (strstr(err->msg, "already exists"))
		st = PL_STATUS_CONFLICT;
	else if (strncmp(err->msg, "no ", 3) == 0 &&
		 (strstr(err->msg, " named ") || strncmp(err->msg, "no administrator ", 17) == 0 ||
		  strncmp(err->msg, "no token ", 9) == 0))
		st = PL_STATUS_NOTFOUND;
	else if (strstr(err->msg, "is the last administrator") || strstr(err->msg, " is synced from "))
		st = PL_STATUS_CONFLICT;
	else if (strstr(err->msg, "database") || strstr(err->msg, "SQLite") ||
		 strstr(err->msg, "disk"))
		st = PL_STATUS_ERROR;
	fail(q, st, "%s", err->msg);
}

static void done(ds_req_t *q, int rc, const pl_err_t *err, const char *what)
{
	if (rc < 0)
		dir_failed(q, err);
	else
		(void)pl_fmt(q->msg, sizeof(q->msg), what, q->name);
}

/* The body as a JSON object; NULL after failing q. */
static json_t *body(ds_req_t *q)
{
	char err[300];
	if (q->len > DS_BODY_MAX) {
		fail(q, PL_STATUS_BADREQ, "record body over %u bytes", DS_BODY_MAX);
		return NULL;
	}
	json_t *j = pl_dir_body_object(q->payload, q->len, err, sizeof(err));
	if (!j)
		fail(q, PL_STATUS_BADREQ, "%s", err);
	return j;
}

static int need_name(ds_req_t *q)
{
	if (q->name[0])
		return 0;
	fail(q, PL_STATUS_BADREQ, "%s needs NAME", q->op);
	return -1;
}

/* 0 when the user exists (its record in *u), else -1 after failing q. */
static int user_exists(ds_req_t *q, pl_dir_t *d, pl_dir_user_t *u)
{
	pl_err_t err;
	int rc = pl_dir_user_get(d, q->name, u, &err);
	if (rc == 0)
		return 0;
	if (rc > 0)
		fail(q, PL_STATUS_NOTFOUND, "no user named %s", q->name);
	else
		fail(q, PL_STATUS_ERROR, "%s", err.msg);
	return -1;
}

static void user_write(ds_req_t *q, pl_dir_t *d, int replace)
{
	pl_dir_user_t u, old;
	char pin[256] = "", err[400];
	pl_err_t e;
	json_t *j;
	memset(&u, 0, sizeof(u));
	if (replace && (need_name(q) < 0 || user_exists(q, d, &old) < 0))
		return;
	if (!(j = body(q)))
		return;
	if (!replace &&
	    pl_dir_body_str(j, "username", q->name, sizeof(q->name), err, sizeof(err)) < 0) {
		fail(q, PL_STATUS_BADREQ, "%s", err);
	} else if (!q->name[0]) {
		fail(q, PL_STATUS_BADREQ, "a user needs a \"username\"");
	} else if (pl_dir_body_user(j, &u, err, sizeof(err)) < 0 ||
		   (!replace && pl_dir_body_str(j, "pin", pin, sizeof(pin), err,
						sizeof(err)) < 0)) {
		fail(q, PL_STATUS_BADREQ, "%s", err);
	} else {
		pl_strlcpy(u.username, q->name, sizeof(u.username));
		/* A new user is local; a saved one keeps where it came from. */
		pl_strlcpy(u.source, replace ? old.source : "local", sizeof(u.source));
		/* A save keeps the PIN (NULL); an add sets it when given. */
		done(q, pl_dir_user_put(d, &u, pin[0] ? pin : NULL, replace, &e), &e,
		     replace ? "user %s saved" : "user %s added");
	}
	OPENSSL_cleanse(pin, sizeof(pin));
	json_decref(j);
}

static void pin_set(ds_req_t *q, pl_dir_t *d)
{
	pl_dir_user_t old;
	char pin[256] = "", err[300];
	pl_err_t e;
	json_t *j;
	if (need_name(q) < 0 || user_exists(q, d, &old) < 0 || !(j = body(q)))
		return;
	if (!json_is_string(json_object_get(j, "pin")))
		fail(q, PL_STATUS_BADREQ, "a PIN reset needs \"pin\" (\"\" clears the PIN)");
	else if (pl_dir_body_str(j, "pin", pin, sizeof(pin), err, sizeof(err)) < 0)
		fail(q, PL_STATUS_BADREQ, "%s", err);
	else
		done(q, pl_dir_pin_set(d, q->name, pin, &e), &e, "PIN of %s changed");
	OPENSSL_cleanse(pin, sizeof(pin));
	json_decref(j);
}

static void import_error(void *arg, long line, const char *message)
{
	ds_req_t *q = arg;
	if (line == 0) { /* fatal: nothing was imported */
		fail(q, PL_STATUS_BADREQ, "%s", message);
		return;
	}
	size_t cost = strlen(message) + 40;
	if (q->errors_bytes + cost > DS_ERRORS_MAX)
		return;
	q->errors_bytes += cost;
	json_array_append_new(q->errors, json_pack("{s:I,s:s}", "line", (json_int_t)line,
						   "message", message));
}

static void users_import(ds_req_t *q, pl_dir_t *d)
{
	q->errors = json_array();
	if (!q->errors) {
		fail(q, PL_STATUS_BUSY, "out of memory");
		return;
	}
	if (pl_dir_user_import_csv_from(d, q->payload ? q->payload : "", q->len,
					q->first_line, import_error, q, &q->imported,
					&q->failed) < 0)
		return;
	(void)pl_fmt(q->msg, sizeof(q->msg), "imported %ld users (%ld lines with errors)",
		     q->imported, q->failed);
}

static void printer_write(ds_req_t *q, pl_dir_t *d, int replace)
{
	pl_dir_printer_t p, old;
	char msg[300];
	pl_err_t e;
	json_t *j;
	memset(&p, 0, sizeof(p));
	if ((replace && need_name(q) < 0) || !(j = body(q)))
		return;
	if (replace)
		pl_strlcpy(p.name, q->name, sizeof(p.name));
	if (pl_dir_body_printer(j, !replace, &p, msg, sizeof(msg)) < 0) {
		fail(q, PL_STATUS_BADREQ, "%s", msg);
	} else if (pl_printer_check_uri(p.uri, &e) < 0) {
		fail(q, PL_STATUS_BADREQ, "%s", e.msg);
	} else {
		int rc = replace ? pl_dir_printer_get(d, p.name, &old, &e) : 0;
		pl_strlcpy(q->name, p.name, sizeof(q->name));
		if (rc > 0)
			fail(q, PL_STATUS_NOTFOUND, "no printer named %s", p.name);
		else if (rc < 0)
			fail(q, PL_STATUS_ERROR, "%s", e.msg);
		else
			done(q, pl_dir_printer_add(d, &p, replace, &e), &e,
			     replace ? "printer %s saved" : "printer %s added");
	}
	json_decref(j);
}

/* reader-add, or reader-put: every field of the reader NAME replaced, its
 * name kept (a "name" in the body is ignored, as a printer's), checked
 * with the parsers of an add; a reader that does not exist is not
 * created. */
static void reader_write(ds_req_t *q, pl_dir_t *d, int replace)
{
	pl_dir_reader_t rd;
	char msg[400];
	pl_err_t e;
	json_t *j;
	memset(&rd, 0, sizeof(rd));
	if ((replace && need_name(q) < 0) || !(j = body(q)))
		return;
	if (replace)
		pl_strlcpy(rd.name, q->name, sizeof(rd.name));
	if (pl_dir_body_reader(j, !replace, &rd, msg, sizeof(msg)) < 0) {
		fail(q, PL_STATUS_BADREQ, "%s", msg);
	} else {
		pl_strlcpy(q->name, rd.name, sizeof(q->name));
		if (replace)
			done(q, pl_dir_reader_update(d, &rd, &e), &e, "reader %s saved");
		else
			done(q, pl_dir_reader_put(d, &rd, 0, &e), &e, "reader %s added");
	}
	json_decref(j);
}

/* A delete: only the name. */
static void del(ds_req_t *q, pl_dir_t *d, int (*fn)(pl_dir_t *, const char *, pl_err_t *),
		const char *what)
{
	pl_err_t e;
	if (need_name(q) == 0)
		done(q, fn(d, q->name, &e), &e, what);
}

/* ---- tokens and administrators: the console only ---- */

/* 0 when the console asks for an administrator, else -1 after failing q. */
static int console_only(ds_req_t *q)
{
	if (strcmp(q->from, DS_CONSOLE) != 0) {
		fail(q, PL_STATUS_AUTH, "%s is for %s only, not for %s", q->op, DS_CONSOLE,
		     q->from[0] ? q->from : "an unknown sender");
		return -1;
	}
	if (!q->admin[0]) {
		fail(q, PL_STATUS_BADREQ, "%s needs the administrator who asks (USER)", q->op);
		return -1;
	}
	return 0;
}

static void token_create(ds_req_t *q, pl_dir_t *d)
{
	pl_err_t e;
	if (need_name(q) < 0)
		return;
	if (pl_dir_token_create(d, q->name, q->token, &e) < 0) {
		OPENSSL_cleanse(q->token, sizeof(q->token));
		fail(q, PL_STATUS_BADREQ, "%s", e.msg);
		return;
	}
	/* "plsc_<id>_<secret>": the id alone is not secret. */
	const char *id = q->token + 5;
	size_t n = strcspn(id, "_");
	if (n >= sizeof(q->token_id))
		n = sizeof(q->token_id) - 1;
	memcpy(q->token_id, id, n);
	q->token_id[n] = '\0';
	(void)pl_fmt(q->msg, sizeof(q->msg), "token %s created for workstation %s",
		     q->token_id, q->name);
}

static void token_revoke(ds_req_t *q, pl_dir_t *d)
{
	char which[160];
	pl_err_t e;
	if (need_name(q) < 0)
		return;
	(void)pl_fmt(which, sizeof(which), "id:%s", q->name);
	done(q, pl_dir_token_revoke(d, which, &e), &e, "token %s revoked");
}

/* A password member of the body into out; -1 after failing q. */
static int body_password(ds_req_t *q, json_t *j, const char *key, char *out, size_t sz)
{
	json_t *v = json_object_get(j, key);
	if (!json_is_string(v)) {
		fail(q, PL_STATUS_BADREQ, "%s needs \"%s\"", q->op, key);
		return -1;
	}
	if (json_string_length(v) >= sz || strlen(json_string_value(v)) != json_string_length(v)) {
		fail(q, PL_STATUS_BADREQ, "\"%s\": at most %d bytes, no NUL", key,
		     PL_DIR_ADMIN_PASSWORD_MAX);
		return -1;
	}
	memcpy(out, json_string_value(v), json_string_length(v) + 1);
	return 0;
}

static void admin_add(ds_req_t *q, pl_dir_t *d)
{
	char pw[PL_DIR_ADMIN_PASSWORD_MAX + 2] = "", err[300];
	pl_err_t e;
	json_t *j = body(q);
	if (!j)
		return;
	if (pl_dir_body_str(j, "name", q->name, sizeof(q->name), err, sizeof(err)) < 0)
		fail(q, PL_STATUS_BADREQ, "%s", err);
	else if (!q->name[0])
		fail(q, PL_STATUS_BADREQ, "an administrator needs a \"name\"");
	else if (body_password(q, j, "password", pw, sizeof(pw)) == 0)
		done(q, pl_dir_admin_put(d, q->name, pw, 0, &e), &e,
		     "administrator %s added");
	OPENSSL_cleanse(pw, sizeof(pw));
	/* The body's copy of the password too. */
	json_t *v = json_object_get(j, "password");
	if (json_is_string(v))
		OPENSSL_cleanse((char *)json_string_value(v), json_string_length(v));
	json_decref(j);
}

static void admin_del(ds_req_t *q, pl_dir_t *d)
{
	pl_err_t e;
	if (need_name(q) < 0)
		return;
	if (strcmp(q->name, q->admin) == 0) {
		fail(q, PL_STATUS_CONFLICT, "%s cannot delete their own account", q->admin);
		return;
	}
	done(q, pl_dir_admin_del_not_last(d, q->name, &e), &e, "administrator %s deleted");
}

/* An administrator's own password: the current one first. */
static void admin_passwd(ds_req_t *q, pl_dir_t *d)
{
	char cur[PL_DIR_ADMIN_PASSWORD_MAX + 2] = "", pw[PL_DIR_ADMIN_PASSWORD_MAX + 2] = "";
	pl_err_t e;
	json_t *j, *v;
	if (need_name(q) < 0)
		return;
	if (strcmp(q->name, q->admin) != 0) {
		fail(q, PL_STATUS_AUTH, "an administrator changes only their own password");
		return;
	}
	if (!(j = body(q)))
		return;
	if (body_password(q, j, "current", cur, sizeof(cur)) < 0 ||
	    body_password(q, j, "password", pw, sizeof(pw)) < 0)
		goto out;
	int ok = pl_dir_admin_check(d, q->name, cur, &e);
	if (ok < 0)
		fail(q, PL_STATUS_ERROR, "%s", e.msg);
	else if (ok == 0 && pl_dir_admin_exists(d, q->name, &e) == 0)
		fail(q, PL_STATUS_NOTFOUND, "no administrator %s", q->name);
	else if (ok == 0)
		fail(q, PL_STATUS_AUTH, "the current password is wrong");
	else
		done(q, pl_dir_admin_put(d, q->name, pw, 1, &e), &e, "password of %s changed");
out:
	OPENSSL_cleanse(cur, sizeof(cur));
	OPENSSL_cleanse(pw, sizeof(pw));
	const char *keys[] = { "current", "password" };
	for (size_t i = 0; i < 2; i++)
		if (json_is_string(v = json_object_get(j, keys[i])))
			OPENSSL_cleanse((char *)json_string_value(v), json_string_length(v));
	json_decref(j);
}

/* ---- token-used: the services that hold jobs only ---- */

static int from_holder(const ds_req_t *q)
{
	static const char *const holders[] = DS_HOLDERS;
	for (size_t i = 0; i < sizeof(holders) / sizeof(holders[0]); i++)
		if (strcmp(q->from, holders[i]) == 0)
			return 1;
	return 0;
}

/* NAME: the id of a token the holder verified (never the token). */
static void token_used(ds_req_t *q, pl_dir_t *d)
{
	pl_err_t e;
	if (need_name(q) < 0)
		return;
	int rc = pl_dir_token_touch(d, q->name, &e);
	if (rc < 0)
		dir_failed(q, &e);
	else if (rc == 1)
		(void)pl_fmt(q->msg, sizeof(q->msg), "last use of token %s recorded", q->name);
	else
		(void)pl_fmt(q->msg, sizeof(q->msg),
			     "last use of token %s not recorded: used within the minute, or revoked",
			     q->name);
}

/* 1 when the sender holds jobs or the op is token-used (carried out, or
 * refused), else 0. A holder faces the network: if it is compromised,
 * the worst it can do here is mark a token used. */
static int holder_op(ds_req_t *q, pl_dir_t *d)
{
	int holder = from_holder(q), touch = strcmp(q->op, DS_OP_TOKEN_USED) == 0;
	if (holder && touch)
		token_used(q, d);
	else if (holder)
		fail(q, PL_STATUS_AUTH, "%s may ask only for %s, not for %s", q->from,
		     DS_OP_TOKEN_USED, q->op);
	else if (touch)
		fail(q, PL_STATUS_AUTH, "%s is for the services that hold jobs only, not for %s",
		     DS_OP_TOKEN_USED, q->from[0] ? q->from : "an unknown sender");
	return holder || touch;
}

static const struct {
	const char *op;
	void (*fn)(ds_req_t *, pl_dir_t *);
} console_ops[] = {
	{ "token-create", token_create }, { "token-revoke", token_revoke },
	{ "admin-put", admin_add },	  { "admin-del", admin_del },
	{ "admin-passwd", admin_passwd },
};

/* 1 when op is one of console_ops (carried out, or refused), else 0. */
static int console_op(ds_req_t *q, pl_dir_t *d)
{
	for (size_t i = 0; i < sizeof(console_ops) / sizeof(console_ops[0]); i++) {
		if (strcmp(q->op, console_ops[i].op) != 0)
			continue;
		if (console_only(q) == 0)
			console_ops[i].fn(q, d);
		return 1;
	}
	return 0;
}

/* 1 when the sender is IdentitySync or the op is sync-apply (carried
 * out, or refused), else 0. IdentitySync faces the network (an LDAP
 * server's answers): compromised, it can change the users it syncs and
 * nothing else; local users are out of its reach (pl_dir_sync_apply). */
static int identity_op(ds_req_t *q, pl_dir_t *d)
{
	int identity = strcmp(q->from, DS_IDENTITY) == 0, sync = strcmp(q->op, DS_OP_SYNC) == 0;
	if (identity && sync)
		ds_sync_run(q, d);
	else if (identity)
		fail(q, PL_STATUS_AUTH, "%s may ask only for %s, not for %s", q->from, DS_OP_SYNC,
		     q->op);
	else if (sync)
		fail(q, PL_STATUS_AUTH, "%s is for %s only, not for %s", DS_OP_SYNC, DS_IDENTITY,
		     q->from[0] ? q->from : "an unknown sender");
	return identity || sync;
}

void ds_req_run(ds_req_t *q, pl_dir_t *d)
{
	const char *op = q->op;
	if (q->status != PL_STATUS_OK)
		return; /* refused while reading the frame */
	/* A streamed sync holds SQLite's write lock on its own connection
	 * (sync.c): a write here would wait for it, then fail, holding a
	 * worker; a clear answer at once is better. */
	if (strcmp(op, DS_OP_SYNC) != 0 && q->stage && ds_stage_streaming(q->stage))
		fail(q, PL_STATUS_BUSY, "the directory is applying a sync from %s; try again in a "
		     "moment", DS_IDENTITY);
	else if (holder_op(q, d) || identity_op(q, d))
		;
	else if (strcmp(op, "user-add") == 0)
		user_write(q, d, 0);
	else if (strcmp(op, "user-put") == 0)
		user_write(q, d, 1);
	else if (strcmp(op, "user-del") == 0)
		del(q, d, pl_dir_user_del, "user %s deleted");
	else if (strcmp(op, "pin-set") == 0)
		pin_set(q, d);
	else if (strcmp(op, "users-import") == 0)
		users_import(q, d);
	else if (strcmp(op, "printer-add") == 0)
		printer_write(q, d, 0);
	else if (strcmp(op, "printer-put") == 0)
		printer_write(q, d, 1);
	else if (strcmp(op, "printer-del") == 0)
		del(q, d, pl_dir_printer_del, "printer %s deleted");
	else if (strcmp(op, "reader-add") == 0)
		reader_write(q, d, 0);
	else if (strcmp(op, "reader-put") == 0)
		reader_write(q, d, 1);
	else if (strcmp(op, "reader-del") == 0)
		del(q, d, pl_dir_reader_del, "reader %s deleted");
	else if (console_op(q, d))
		;
	else
		fail(q, PL_STATUS_BADREQ, "unknown directory operation \"%s\"", op);
	/* The PIN may have been in the body. */
	if (q->payload)
		OPENSSL_cleanse(q->payload, q->len);
}

int ds_req_reply(const ds_req_t *q, pl_msg_t *m)
{
	uint8_t flags = PL_FLAG_REPLY | (q->status != PL_STATUS_OK ? PL_FLAG_ERROR : 0);
	if (pl_msg_init(m, PL_MSG_RESULT, flags, q->seq) < 0)
		return -1;
	pl_msg_add_str(m, PL_TAG_TO, q->from);
	pl_msg_add_u32(m, PL_TAG_STATUS, q->status);
	pl_msg_add_str(m, PL_TAG_MESSAGE, q->msg);
	/* A new token: its secret goes to the console, in this answer only. */
	if (q->status == PL_STATUS_OK && q->token[0]) {
		pl_msg_add_str(m, PL_TAG_TOKEN, q->token);
		pl_msg_add_str(m, PL_TAG_NAME, q->token_id);
	}
	if (q->sync_result) {
		char *s = json_dumps(q->sync_result, JSON_COMPACT);
		if (s)
			pl_msg_add(m, PL_TAG_PAYLOAD, s, strlen(s));
		else
			m->err = PL_PROTO_ENOMEM;
		free(s);
	}
	if (q->errors && q->status == PL_STATUS_OK) {
		json_t *res = json_pack("{s:I,s:O}", "failed", (json_int_t)q->failed, "errors",
					q->errors);
		char *s = res ? json_dumps(res, JSON_COMPACT) : NULL;
		pl_msg_add_u32(m, PL_TAG_COUNT, (uint32_t)q->imported);
		if (s)
			pl_msg_add(m, PL_TAG_PAYLOAD, s, strlen(s));
		else
			m->err = PL_PROTO_ENOMEM;
		free(s);
		json_decref(res);
	}
	if (pl_msg_finish(m) < 0) {
		pl_msg_free(m);
		return -1;
	}
	return 0;
}

void ds_req_log(const ds_req_t *q)
{
	const char *by = q->from[0] ? q->from : "?";
	const char *admin = q->admin[0] ? q->admin : "-";
	/* A token's last use: up to one a minute for each busy workstation,
	 * routine; not worth a line each. */
	if (q->status == PL_STATUS_OK && strcmp(q->op, DS_OP_TOKEN_USED) == 0)
		pl_debug("%s (asked by %s)", q->msg, by);
	else if (q->status == PL_STATUS_OK)
		pl_info("%s (asked by %s for %s)", q->msg, by, admin);
	else
		pl_warn("%s%s%s refused (asked by %s for %s): %s", q->op[0] ? q->op : "request",
			q->name[0] ? " " : "", q->name, by, admin, q->msg);
}

void ds_req_free(ds_req_t *q)
{
	if (!q)
		return;
	if (q->payload) {
		OPENSSL_cleanse(q->payload, q->len);
		free(q->payload);
	}
	json_decref(q->errors);
	json_decref(q->sync_result);
	OPENSSL_cleanse(q->token, sizeof(q->token));
	free(q);
}
