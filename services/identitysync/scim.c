/* The SCIM endpoints (RFC 7644) over scim.db, one request at a time.
 *
 * A change: scim.db's write transaction opened, the resource written,
 * the projection of every user it touches (the user; a group's members)
 * sent to plsc-directory as one sync-apply batch (source "scim", the
 * SCIM id as the key), and only when the directory applied all of it is
 * scim.db committed and the IdP answered 2xx. A refusal (a badge another
 * user holds, a local user of that name) rolls scim.db back and answers
 * 409 or 400 with the directory's words; the directory not running is a
 * 503, which IdPs retry. An answer that never comes leaves us unsure
 * whether the directory applied it, so scim.db is rolled back and the
 * projection compared again (below) before the next request.
 *
 * The projection is also compared with the directory at start (and after
 * such a doubt): every scim.db user against the directory's users of
 * source scim, and the difference sent. A crash between the directory's
 * commit and ours is mended there: scim.db, which the IdP's next retry
 * will fill in, wins.
 *
 * Deactivating (active: false) keeps the user and its record in the
 * directory but sends no badges: no badge releases its jobs, and
 * reactivating brings the badges back. DELETE removes the user from
 * scim.db and the directory with its e-mail addresses, badges and PIN.
 * Held jobs stay held until they expire in both cases (an administrator
 * can still release or delete them). */
#include "scim.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "ids.h"
#include "pl_log.h"
#include "pl_util.h"

#define SCIM_DIRECTORY "plsc-directory"
#define SCIM_ANSWER_MS 30000
#define SCIM_RETRY_MS 10000
/* A batch fits one frame (1 MiB) with room to spare. */
#define SCIM_BATCH_MAX (768u * 1024u)
#define SCIM_PAGE_DEFAULT 100

struct scim {
	pl_service_t *svc;
	pl_loop_t *loop;
	scim_rules_t rules;
	scim_store_t *st;
	pl_dir_t *dir;
	scim_http_t *http;
	scim_req_t *head, *tail; /* waiting */
	scim_req_t *cur;	 /* waiting for plsc-directory */
	scim_req_t reconcile;	 /* the projection check, an internal request */
	int need_reconcile;
	pl_timer_t *answer_timer, *retry_timer;
	uint32_t next_seq;
	unsigned long long requests, changes, refused;
	char status[200];
};

static void pump(scim_t *s);

json_t *scim_error_json(int status, const char *type, const char *detail)
{
	char st[8];
	snprintf(st, sizeof(st), "%d", status);
	json_t *j = json_pack("{s:[s],s:s,s:s}", "schemas", SCIM_URI_ERROR, "status", st,
			      "detail", detail);
	if (j && type && type[0])
		json_object_set_new(j, "scimType", json_string(type));
	return j;
}

static void reply(scim_req_t *r, int status, json_t *answer)
{
	r->status = status;
	r->answer = answer;
	r->done = 1;
	if (r->on_done && !r->gone)
		r->on_done(r);
	else if (r->gone)
		scim_req_free(r);
}

static void reply_err(scim_req_t *r, const scim_err_t *e)
{
	r->s->refused++;
	pl_info("SCIM %s %s: %d %s", r->method, r->path, e->status, e->detail);
	reply(r, e->status, scim_error_json(e->status, e->type, e->detail));
}

static void fail(scim_req_t *r, int status, const char *type, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void fail(scim_req_t *r, int status, const char *type, const char *fmt, ...)
{
	scim_err_t e = { status, "", "" };
	va_list ap;
	pl_strlcpy(e.type, type ? type : "", sizeof(e.type));
	va_start(ap, fmt);
	vsnprintf(e.detail, sizeof(e.detail), fmt, ap);
	va_end(ap);
	reply_err(r, &e);
}

/* ---- rendering ---- */

static void iso_ms(int64_t ms, char *out, size_t sz)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	char base[32];
	gmtime_r(&t, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, sz, "%s.%03dZ", base, (int)(ms % 1000));
}

static int excluded(const scim_req_t *r, const char *name)
{
	char list[256], *save = NULL;
	pl_strlcpy(list, r->excluded, sizeof(list));
	for (char *t = strtok_r(list, ", ", &save); t; t = strtok_r(NULL, ", ", &save))
		if (strcasecmp(t, name) == 0)
			return 1;
	return 0;
}

/* The resource as the IdP sees it: what it sent (as stored), id, meta,
 * schemas, and for a user its groups, for a group its members. */
static json_t *render(scim_t *s, const scim_req_t *r, int kind, const scim_row_t *row)
{
	char created[40], modified[40], loc[400], ver[32];
	json_t *j = json_deep_copy(row->doc), *schemas = json_array(), *extra = NULL;
	pl_err_t err;
	const char *k;
	json_t *v;
	json_array_append_new(schemas, json_string(kind == 'g' ? SCIM_URI_GROUP : SCIM_URI_USER));
	json_object_foreach(j, k, v)
		if (strncasecmp(k, "urn:", 4) == 0 && json_is_object(v))
			json_array_append_new(schemas, json_string(k));
	iso_ms(row->created_ms, created, sizeof(created));
	iso_ms(row->updated_ms, modified, sizeof(modified));
	snprintf(loc, sizeof(loc), "%s/%s/%s", r->base, kind == 'g' ? "Groups" : "Users", row->id);
	snprintf(ver, sizeof(ver), "W/\"%lld\"", (long long)row->version);
	json_object_set_new(j, "schemas", schemas);
	json_object_set_new(j, "id", json_string(row->id));
	json_object_set_new(j, "meta", json_pack("{s:s,s:s,s:s,s:s,s:s}", "resourceType",
						 kind == 'g' ? "Group" : "User", "created", created,
						 "lastModified", modified, "location", loc, "version",
						 ver));
	if (kind == 'u' && !scim_get(j, "active", NULL))
		json_object_set_new(j, "active", json_true());
	if (kind == 'u' && !excluded(r, "groups") &&
	    scim_store_user_groups(s->st, row->id, &extra, &err) == 0 && json_array_size(extra))
		json_object_set(j, "groups", extra);
	if (kind == 'g' && !excluded(r, "members") &&
	    scim_store_members(s->st, row->id, &extra, &err) == 0) {
		json_t *m = json_array();
		size_t i;
		json_array_foreach(extra, i, v)
			json_array_append_new(m, json_pack("{s:O}", "value", v));
		json_object_set_new(j, "members", m);
	}
	json_decref(extra);
	return j;
}

static void reply_row(scim_req_t *r, int status, int kind, const scim_row_t *row)
{
	json_t *j = render(r->s, r, kind, row);
	snprintf(r->etag, sizeof(r->etag), "W/\"%lld\"", (long long)row->version);
	if (status == 201)
		snprintf(r->location, sizeof(r->location), "%s/%s/%s", r->base,
			 kind == 'g' ? "Groups" : "Users", row->id);
	reply(r, status, j);
}

/* ---- the projection ---- */

/* The directory user of scim.db's user uid (its groups from scim.db, in
 * this transaction). 0, 1 no such user, -1 with e. */
static int project(scim_t *s, const char *uid, pl_dir_user_t *u, scim_err_t *e)
{
	scim_row_t row;
	pl_err_t err = { "" };
	json_t *groups = NULL;
	int rc = scim_store_get(s->st, 'u', uid, &row, &err);
	if (rc != 0)
		return rc < 0 ? scim_fail(e, 500, NULL, "%s", err.msg) : 1;
	rc = scim_user_check(row.doc, &s->rules, u, e);
	json_decref(row.doc);
	if (rc < 0)
		return -1;
	pl_strlcpy(u->external_id, uid, sizeof(u->external_id));
	if (scim_store_user_groups(s->st, uid, &groups, &err) < 0)
		return scim_fail(e, 500, NULL, "%s", err.msg);
	size_t i, len = 0;
	json_t *g;
	json_array_foreach(groups, i, g) {
		char name[256];
		pl_strlcpy(name, json_string_value(json_object_get(g, "display")), sizeof(name));
		for (char *p = name; *p; p++)
			if (*p == ',')
				*p = ' '; /* the directory's list separator */
		size_t n = strlen(name);
		if (len + n + 1 >= sizeof(u->groups)) {
			pl_warn("user %s: groups beyond %zu bytes left out of the directory",
				u->username, sizeof(u->groups) - 1);
			break;
		}
		if (len)
			u->groups[len++] = ',';
		memcpy(u->groups + len, name, n + 1);
		len += n;
	}
	json_decref(groups);
	return 0;
}

typedef ids_batch_t batch_t; /* batch.c, shared with the LDAP pull */

static int batch_add(batch_t *b, json_t *line)
{
	return ids_batch_add(b, SCIM_BATCH_MAX, line);
}


/* The projections of the users in uids (a JSON array of ids; a user gone
 * from scim.db is removed). */
static int batch_users(scim_t *s, batch_t *b, const json_t *uids, scim_err_t *e)
{
	size_t i;
	json_t *v;
	json_array_foreach(uids, i, v) {
		pl_dir_user_t u;
		const char *uid = json_string_value(v);
		int rc = project(s, uid, &u, e);
		if (rc < 0)
			return -1;
		if (batch_add(b, rc == 0 ? ids_user_line(&u) : json_pack("{s:s}", "remove", uid)) < 0)
			return scim_fail(e, 400, "tooMany",
					 "the change touches too many users at once; send it in "
					 "smaller parts");
	}
	return 0;
}

/* ---- talking to plsc-directory ---- */

static void answer_late(pl_loop_t *loop, void *arg)
{
	scim_t *s = arg;
	scim_req_t *r = s->cur;
	(void)loop;
	s->answer_timer = NULL;
	s->cur = NULL;
	scim_store_rollback(s->st);
	s->need_reconcile = 1; /* did it apply? the comparison will tell */
	pl_err("plsc-directory did not answer a SCIM change within %d s", SCIM_ANSWER_MS / 1000);
	if (r && r != &s->reconcile)
		fail(r, 503, NULL, "the directory did not answer in time; try again");
	pump(s);
}

static int dir_send(scim_t *s, scim_req_t *r, const batch_t *b)
{
	pl_msg_t m;
	char name[32];
	s->next_seq = (s->next_seq + 1) & 0x7fffffffu;
	if (!s->next_seq)
		s->next_seq = 1;
	r->seq = SCIM_SEQ_BIT | s->next_seq;
	snprintf(name, sizeof(name), "scim-%u", s->next_seq);
	if (pl_msg_init(&m, PL_MSG_DIR_WRITE, 0, r->seq) < 0)
		return -1;
	pl_msg_add_str(&m, PL_TAG_TO, SCIM_DIRECTORY);
	pl_msg_add_str(&m, PL_TAG_OP, "sync-apply");
	pl_msg_add_str(&m, PL_TAG_NAME, name);
	pl_msg_add_str(&m, PL_TAG_SOURCE, "scim");
	pl_msg_add_u32(&m, PL_TAG_LINE, 1);
	pl_msg_add_u8(&m, PL_TAG_MORE, 0);
	pl_msg_add(&m, PL_TAG_PAYLOAD, b->text, b->len);
	int rc = pl_msg_finish(&m) == 0 ? pl_service_send(s->svc, &m) : -1;
	pl_msg_free(&m);
	if (rc < 0)
		return -1;
	s->cur = r;
	s->answer_timer = pl_loop_timer(s->loop, SCIM_ANSWER_MS, answer_late, s);
	return 0;
}

/* Send b for r (inside scim.db's transaction), or commit at once when
 * there is nothing to send. r's answer is the caller's (after). */
static int change_send(scim_t *s, scim_req_t *r, batch_t *b)
{
	pl_err_t err = { "" };
	if (b->len == 0) {
		int rc = scim_store_commit(s->st, &err);
		free(b->text);
		if (rc < 0) {
			scim_store_rollback(s->st);
			fail(r, 500, NULL, "%s", err.msg);
			return -1;
		}
		return 0;
	}
	int rc = dir_send(s, r, b);
	free(b->text);
	if (rc < 0) {
		scim_store_rollback(s->st);
		fail(r, 503, NULL, "cannot reach the directory now; try again");
		return -1;
	}
	return 1;
}

/* ---- answering a change once the directory applied it ---- */

static void change_done(scim_t *s, scim_req_t *r);

/* The change stored in scim.db's open transaction reaches the directory
 * (the projections of the users it touched), or is rolled back; r is
 * answered either way, now or when the directory has answered. */
static void change_apply(scim_t *s, scim_req_t *r, const json_t *touched)
{
	batch_t b = { 0 };
	scim_err_t e;
	if (batch_users(s, &b, touched, &e) < 0) {
		scim_store_rollback(s->st);
		free(b.text);
		reply_err(r, &e);
	} else if (change_send(s, r, &b) == 0) {
		change_done(s, r);
	}
}

static void change_done(scim_t *s, scim_req_t *r)
{
	scim_row_t row;
	pl_err_t err = { "" };
	s->changes++;
	if (strcmp(r->method, "DELETE") == 0) {
		reply(r, 204, NULL);
		return;
	}
	if (scim_store_get(s->st, r->kind, r->id, &row, &err) != 0) {
		fail(r, 500, NULL, "%s", err.msg[0] ? err.msg : "the resource vanished");
		return;
	}
	reply_row(r, strcmp(r->method, "POST") == 0 ? 201 : 200, r->kind, &row);
	json_decref(row.doc);
}

static void retry(pl_loop_t *loop, void *arg);

static void reconcile_done(scim_t *s, int ok, const char *msg)
{
	if (ok) {
		s->need_reconcile = 0;
		pl_info("SCIM: the directory's scim users now match scim.db (%s)", msg);
		return;
	}
	if (!s->retry_timer)
		s->retry_timer = pl_loop_timer(s->loop, SCIM_RETRY_MS, retry, s);
	pl_warn("SCIM: the directory's scim users could not be brought in line with scim.db: %s;"
		" trying again in %d s", msg, SCIM_RETRY_MS / 1000);
}

int scim_on_answer(scim_t *s, const pl_frame_t *f)
{
	scim_req_t *r = s->cur;
	uint32_t status = PL_STATUS_ERROR;
	char msg[512] = "";
	pl_field_t fl;
	pl_err_t err = { "" };
	if (!r || f->seq != r->seq || !(f->flags & PL_FLAG_REPLY))
		return (f->seq & SCIM_SEQ_BIT) != 0;
	pl_loop_timer_cancel(s->loop, s->answer_timer);
	s->answer_timer = NULL;
	s->cur = NULL;
	(void)pl_frame_get_u32(f, PL_TAG_STATUS, &status);
	(void)pl_frame_get_str(f, PL_TAG_MESSAGE, msg, sizeof(msg));
	json_t *res = pl_frame_find(f, PL_TAG_PAYLOAD, &fl) == 1
			      ? json_loadb((const char *)fl.val, fl.len, 0, NULL)
			      : NULL;
	json_t *first = json_array_get(json_object_get(res, "errors"), 0);
	long failed = (long)json_integer_value(json_object_get(res, "failed"));
	if (status == PL_STATUS_OK && failed == 0) {
		if (r == &s->reconcile)
			reconcile_done(s, 1, msg);
		else if (scim_store_commit(s->st, &err) < 0) {
			scim_store_rollback(s->st);
			s->need_reconcile = 1; /* the directory has it, scim.db not */
			fail(r, 500, NULL, "%s", err.msg);
		} else
			change_done(s, r);
	} else {
		const char *why = first ? json_string_value(json_object_get(first, "message")) : msg;
		why = why && why[0] ? why : "the directory refused the change";
		if (r == &s->reconcile) {
			reconcile_done(s, 0, why);
		} else {
			scim_store_rollback(s->st);
			if (status == PL_STATUS_OK || status == PL_STATUS_BADREQ)
				fail(r, strstr(why, "exists") || strstr(why, "already") ? 409 : 400,
				     strstr(why, "exists") || strstr(why, "already") ? "uniqueness"
										: "invalidValue",
				     "%s", why);
			else
				fail(r, 503, NULL, "%s", why);
		}
	}
	json_decref(res);
	pump(s);
	return 1;
}

/* ---- the comparison of scim.db with the directory ---- */

static int cmp_key(const void *a, const void *b)
{
	return strcmp(((const pl_dir_user_t *)a)->external_id,
		      ((const pl_dir_user_t *)b)->external_id);
}

static void reconcile_run(scim_t *s)
{
	pl_dir_user_t *cur = NULL, u;
	size_t ncur = 0, i;
	json_t *ids = NULL, *v;
	batch_t b = { 0 };
	pl_err_t err = { "" };
	scim_err_t e;
	int rc = scim_store_user_ids(s->st, &ids, &err) == 0 &&
			 pl_dir_user_list_source(s->dir, "scim", &cur, &ncur, &err) == 0
		 ? 0
		 : -1;
	char *seen = rc == 0 ? calloc(ncur + 1, 1) : NULL;
	if (rc == 0 && !seen)
		rc = -1;
	if (rc == 0 && ncur > 1) /* never qsort(NULL, 0): UBSan */
		qsort(cur, ncur, sizeof(*cur), cmp_key);
	json_array_foreach(ids, i, v) {
		if (rc < 0)
			break;
		if (project(s, json_string_value(v), &u, &e) != 0) {
			pl_warn("SCIM user %s cannot be projected: %s", json_string_value(v), e.detail);
			continue;
		}
		pl_dir_user_t *d = ncur ? bsearch(&u, cur, ncur, sizeof(*cur), cmp_key) : NULL;
		if (d)
			seen[d - cur] = 1;
		if (!d || !ids_user_same(d, &u))
			rc = batch_add(&b, ids_user_line(&u));
	}
	for (i = 0; rc == 0 && i < ncur; i++)
		if (!seen[i])
			rc = batch_add(&b, json_pack("{s:s}", "remove", cur[i].external_id));
	free(seen);
	free(cur);
	json_decref(ids);
	if (rc < 0) {
		free(b.text);
		reconcile_done(s, 0, err.msg[0] ? err.msg : "out of memory or too many changes");
		return;
	}
	if (b.len == 0) {
		s->need_reconcile = 0;
		return;
	}
	rc = dir_send(s, &s->reconcile, &b);
	free(b.text);
	if (rc < 0)
		reconcile_done(s, 0, "cannot send to plsc-directory");
}

static void retry(pl_loop_t *loop, void *arg)
{
	scim_t *s = arg;
	(void)loop;
	s->retry_timer = NULL;
	pump(s);
}

/* ---- the endpoints ---- */

static json_t *parse_body(scim_req_t *r)
{
	json_error_t je;
	if (!r->body || r->len == 0) {
		fail(r, 400, "invalidSyntax", "a JSON body is required");
		return NULL;
	}
	json_t *j = json_loadb(r->body, r->len, JSON_REJECT_DUPLICATES, &je);
	if (!j)
		fail(r, 400, "invalidSyntax", "malformed JSON at line %d, column %d: %s", je.line,
		     je.column, je.text);
	else if (!json_is_object(j)) {
		fail(r, 400, "invalidSyntax", "the body is a JSON object");
		json_decref(j);
		j = NULL;
	}
	return j;
}

static void list(scim_t *s, scim_req_t *r, int kind)
{
	scim_filter_t f;
	char why[200];
	const char *col = NULL;
	if (r->filter[0]) {
		if (scim_filter_parse(r->filter, &f, why, sizeof(why)) < 0) {
			fail(r, 400, "invalidFilter", "%s", why);
			return;
		}
		if (!f.uri[0] && !f.sub[0] && strcasecmp(f.attr, "externalId") == 0)
			col = "external_id";
		else if (!f.uri[0] && !f.sub[0] &&
			 strcasecmp(f.attr, kind == 'g' ? "displayName" : "userName") == 0)
			col = "name";
		if (!col || !f.is_str) {
			fail(r, 400, "invalidFilter", "filters here: %s eq \"...\" or externalId eq "
			     "\"...\"", kind == 'g' ? "displayName" : "userName");
			return;
		}
	}
	long start = r->start_index < 1 ? 1 : r->start_index;
	long count = r->count < 0 ? SCIM_PAGE_DEFAULT
				  : r->count > SCIM_PAGE_MAX ? SCIM_PAGE_MAX : r->count;
	scim_row_t *rows = NULL;
	size_t n = 0;
	long total = 0;
	pl_err_t err = { "" };
	if (scim_store_list(s->st, kind, col, col ? f.value : NULL, start, count, &rows, &n,
			    &total, &err) < 0) {
		fail(r, 500, NULL, "%s", err.msg);
		return;
	}
	json_t *res = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(res, render(s, r, kind, &rows[i]));
	scim_rows_free(rows, n);
	reply(r, 200, json_pack("{s:[s],s:I,s:I,s:I,s:o}", "schemas", SCIM_URI_LIST,
				"totalResults", (json_int_t)total, "startIndex", (json_int_t)start,
				"itemsPerPage", (json_int_t)n, "Resources", res));
}

static void get_one(scim_t *s, scim_req_t *r, int kind, const char *id)
{
	scim_row_t row;
	pl_err_t err = { "" };
	int rc = scim_store_get(s->st, kind, id, &row, &err);
	if (rc < 0)
		fail(r, 500, NULL, "%s", err.msg);
	else if (rc > 0)
		fail(r, 404, NULL, "no %s with id %.64s", kind == 'g' ? "group" : "user", id);
	else {
		reply_row(r, 200, kind, &row);
		json_decref(row.doc);
	}
}

/* The unique name is free, or ours. */
static int name_free(scim_t *s, scim_req_t *r, int kind, const json_t *doc, const char *id)
{
	char other[40];
	pl_err_t err = { "" };
	const char *name = json_string_value(
		scim_get(doc, kind == 'g' ? "displayName" : "userName", NULL));
	int rc = name ? scim_store_find_name(s->st, kind, name, other, sizeof(other), &err) : 1;
	if (rc < 0) {
		fail(r, 500, NULL, "%s", err.msg);
		return 0;
	}
	if (rc == 0 && (!id || strcmp(other, id) != 0)) {
		fail(r, 409, "uniqueness", "%s %s exists (id %s)", kind == 'g' ? "group" : "user",
		     name, other);
		return 0;
	}
	return 1;
}

/* Every id in members is a user here. */
static int members_exist(scim_t *s, scim_req_t *r, const json_t *members)
{
	size_t i;
	json_t *v;
	json_array_foreach(members, i, v) {
		scim_row_t row;
		pl_err_t err = { "" };
		int rc = scim_store_get(s->st, 'u', json_string_value(v), &row, &err);
		if (rc == 0)
			json_decref(row.doc);
		else {
			fail(r, rc < 0 ? 500 : 400, rc < 0 ? NULL : "invalidValue",
			     "members: %.64s is not a user here%s", json_string_value(v),
			     rc < 0 ? "" : " (groups hold users, not groups)");
			return 0;
		}
	}
	return 1;
}

/* Write a user (doc, checked) and send its projection. */
static void user_write(scim_t *s, scim_req_t *r, json_t *doc)
{
	pl_dir_user_t u;
	scim_err_t e;
	pl_err_t err = { "" };
	json_t *one = json_pack("[s]", r->id);
	if (scim_user_check(doc, &s->rules, &u, &e) < 0) {
		reply_err(r, &e);
	} else if (name_free(s, r, 'u', doc, r->id)) {
		if (scim_store_begin(s->st, &err) < 0 ||
		    scim_store_put(s->st, 'u', r->id, doc, &err) < 0) {
			scim_store_rollback(s->st);
			fail(r, 500, NULL, "%s", err.msg);
		} else {
			change_apply(s, r, one);
		}
	}
	json_decref(one);
	json_decref(doc);
}

static int has_str(const json_t *arr, const char *str)
{
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v)
		if (str && json_string_value(v) && strcmp(json_string_value(v), str) == 0)
			return 1;
	return 0;
}

/* Write a group and send the projections of the users whose groups
 * change: those who joined or left, all members when it was renamed. */
static void group_write(scim_t *s, scim_req_t *r, json_t *doc, int is_new)
{
	json_t *members = NULL, *old = NULL, *touched = json_array();
	scim_err_t e;
	pl_err_t err = { "" };
	scim_row_t row = { 0 };
	if (scim_group_check(doc, &members, &e) < 0) {
		reply_err(r, &e);
		goto out;
	}
	if (!name_free(s, r, 'g', doc, r->id) || !members_exist(s, r, members))
		goto out;
	int renamed = 1;
	if (!is_new && scim_store_get(s->st, 'g', r->id, &row, &err) == 0) {
		const char *a = json_string_value(scim_get(row.doc, "displayName", NULL));
		const char *n = json_string_value(scim_get(doc, "displayName", NULL));
		renamed = !a || !n || strcmp(a, n) != 0;
		json_decref(row.doc);
	}
	if (scim_store_members(s->st, r->id, &old, &err) < 0)
		goto fail500;
	size_t i;
	json_t *v;
	json_array_foreach(members, i, v)
		if (renamed || !has_str(old, json_string_value(v)))
			json_array_append(touched, v);
	json_array_foreach(old, i, v)
		if (!has_str(members, json_string_value(v)) || renamed)
			if (!has_str(touched, json_string_value(v)))
				json_array_append(touched, v);
	if (scim_store_begin(s->st, &err) < 0 || scim_store_put(s->st, 'g', r->id, doc, &err) < 0 ||
	    scim_store_set_members(s->st, r->id, members, &err) < 0) {
		scim_store_rollback(s->st);
		goto fail500;
	}
	change_apply(s, r, touched);
	goto out;
fail500:
	fail(r, 500, NULL, "%s", err.msg);
out:
	json_decref(members);
	json_decref(old);
	json_decref(touched);
	json_decref(doc);
}

static void create(scim_t *s, scim_req_t *r, int kind)
{
	json_t *doc = parse_body(r);
	if (!doc)
		return;
	scim_new_id(r->id);
	r->kind = kind;
	if (kind == 'u')
		user_write(s, r, doc);
	else
		group_write(s, r, doc, 1);
}

/* PUT (patch NULL) or PATCH of an existing resource. */
static void change(scim_t *s, scim_req_t *r, int kind, const char *id, int patch)
{
	scim_row_t row;
	scim_err_t e;
	pl_err_t err = { "" };
	json_t *body = parse_body(r);
	if (!body)
		return;
	int rc = scim_store_get(s->st, kind, id, &row, &err);
	if (rc != 0) {
		if (rc < 0)
			fail(r, 500, NULL, "%s", err.msg);
		else
			fail(r, 404, NULL, "no %s with id %.64s", kind == 'g' ? "group" : "user", id);
		json_decref(body);
		return;
	}
	pl_strlcpy(r->id, id, sizeof(r->id));
	r->kind = kind;
	json_t *doc = row.doc;
	if (patch && kind == 'g') { /* members live in their own table */
		json_t *m = NULL, *arr = json_array(), *v;
		size_t i;
		if (scim_store_members(s->st, id, &m, &err) == 0)
			json_array_foreach(m, i, v)
				json_array_append_new(arr, json_pack("{s:O}", "value", v));
		json_decref(m);
		json_object_set_new(doc, "members", arr);
	}
	if (!patch) {
		json_decref(doc);
		doc = json_incref(body);
	} else if (scim_patch_apply(doc, body, kind == 'g', &e) < 0) {
		json_decref(doc);
		json_decref(body);
		reply_err(r, &e);
		return;
	}
	json_decref(body);
	if (kind == 'u')
		user_write(s, r, doc);
	else
		group_write(s, r, doc, 0);
}

static void destroy(scim_t *s, scim_req_t *r, int kind, const char *id)
{
	scim_row_t row;
	pl_err_t err = { "" };
	json_t *touched = NULL;
	int rc = scim_store_get(s->st, kind, id, &row, &err);
	if (rc != 0) {
		if (rc < 0)
			fail(r, 500, NULL, "%s", err.msg);
		else
			fail(r, 404, NULL, "no %s with id %.64s", kind == 'g' ? "group" : "user", id);
		return;
	}
	json_decref(row.doc);
	pl_strlcpy(r->id, id, sizeof(r->id));
	r->kind = kind;
	if (kind == 'g' ? scim_store_members(s->st, id, &touched, &err) < 0
			: !(touched = json_pack("[s]", id))) {
		fail(r, 500, NULL, "%s", err.msg);
		return;
	}
	if (scim_store_begin(s->st, &err) < 0 || scim_store_del(s->st, kind, id, &err) < 0) {
		scim_store_rollback(s->st);
		fail(r, 500, NULL, "%s", err.msg);
	} else {
		change_apply(s, r, touched);
	}
	json_decref(touched);
}

/* "/Users/ID" into kind and id ("" for the collection); 0, or -1 when
 * the path is none of ours. */
static int resource_path(const char *path, int *kind, char *id, size_t isz)
{
	const char *rest;
	if (strncasecmp(path, "/Users", 6) == 0) {
		*kind = 'u';
		rest = path + 6;
	} else if (strncasecmp(path, "/Groups", 7) == 0) {
		*kind = 'g';
		rest = path + 7;
	} else {
		return -1;
	}
	id[0] = '\0';
	if (!*rest || strcmp(rest, "/") == 0)
		return 0;
	if (*rest != '/' || strlen(rest + 1) >= isz || strchr(rest + 1, '/'))
		return -1;
	pl_strlcpy(id, rest + 1, isz);
	return 0;
}

static void handle(scim_t *s, scim_req_t *r)
{
	int kind;
	char id[64];
	const char *m = r->method;
	s->requests++;
	if (r->bad_query) {
		fail(r, 400, "invalidValue", "startIndex and count are whole numbers");
		return;
	}
	json_t *meta = scim_meta_doc(r->path, r->base);
	if (meta) {
		if (strcmp(m, "GET") == 0)
			reply(r, 200, meta);
		else {
			json_decref(meta);
			fail(r, 405, NULL, "%s is read-only", r->path);
		}
		return;
	}
	if (resource_path(r->path, &kind, id, sizeof(id)) < 0) {
		fail(r, 404, NULL, "no such resource: %.100s", r->path);
		return;
	}
	if (!id[0] && strcmp(m, "GET") == 0)
		list(s, r, kind);
	else if (!id[0] && strcmp(m, "POST") == 0)
		create(s, r, kind);
	else if (!id[0])
		fail(r, 405, NULL, "%s is not allowed on %s", m, r->path);
	else if (strcmp(m, "GET") == 0)
		get_one(s, r, kind, id);
	else if (strcmp(m, "PUT") == 0)
		change(s, r, kind, id, 0);
	else if (strcmp(m, "PATCH") == 0)
		change(s, r, kind, id, 1);
	else if (strcmp(m, "DELETE") == 0)
		destroy(s, r, kind, id);
	else
		fail(r, 405, NULL, "%s is not allowed on %s", m, r->path);
}

/* ---- the queue ---- */

static void pump(scim_t *s)
{
	while (!s->cur) {
		if (s->need_reconcile && !s->retry_timer) {
			reconcile_run(s); /* a failure sets retry_timer */
			if (s->cur)
				return;
			continue;
		}
		scim_req_t *r = s->head;
		if (!r)
			break;
		s->head = r->next;
		if (!s->head)
			s->tail = NULL;
		r->next = NULL;
		handle(s, r);
	}
	snprintf(s->status, sizeof(s->status), "SCIM: %llu requests, %llu changes, %llu refused",
		 s->requests, s->changes, s->refused);
}

void scim_submit(scim_t *s, scim_req_t *r)
{
	r->s = s;
	if (s->tail)
		s->tail->next = r;
	else
		s->head = r;
	s->tail = r;
	pump(s);
}

void scim_cancel(scim_t *s, scim_req_t *r)
{
	if (r->done) {
		scim_req_free(r);
		return;
	}
	r->gone = 1;
	if (s->cur == r)
		return; /* freed when its answer comes */
	for (scim_req_t **p = &s->head; *p; p = &(*p)->next)
		if (*p == r) {
			*p = r->next;
			if (s->tail == r) {
				s->tail = NULL;
				for (scim_req_t *q = s->head; q; q = q->next)
					s->tail = q;
			}
			break;
		}
	scim_req_free(r);
}

void scim_req_free(scim_req_t *r)
{
	if (!r)
		return;
	json_decref(r->answer);
	free(r->body);
	free(r);
}

const char *scim_status(scim_t *s)
{
	return s->status;
}

scim_t *scim_start(pl_service_t *svc, const scim_rules_t *rules, pl_dir_t *d,
		   const char *state_dir, int listen_fd, const char *cert_pem,
		   const char *key_pem, uint32_t max_conn, uint32_t max_per_addr,
		   uint32_t timeout_s, pl_err_t *err)
{
	char path[PATH_MAX];
	scim_t *s = calloc(1, sizeof(*s));
	if (!s || pl_fmt(path, sizeof(path), "%s/scim.db", state_dir) < 0) {
		free(s);
		(void)pl_fmt(err->msg, sizeof(err->msg), "out of memory or state dir too long");
		return NULL;
	}
	s->svc = svc;
	s->loop = pl_service_loop(svc);
	s->rules = *rules;
	s->dir = d;
	s->reconcile.s = s;
	pl_strlcpy(s->reconcile.method, "SYNC", sizeof(s->reconcile.method));
	s->need_reconcile = 1;
	if (scim_store_open(&s->st, path, err) < 0 ||
	    !(s->http = scim_http_start(s, s->loop, listen_fd, cert_pem, key_pem, max_conn,
					max_per_addr, timeout_s, state_dir, err))) {
		scim_store_close(s->st);
		free(s);
		return NULL;
	}
	pump(s);
	return s;
}

void scim_stop(scim_t *s)
{
	if (!s)
		return;
	pl_loop_timer_cancel(s->loop, s->answer_timer);
	pl_loop_timer_cancel(s->loop, s->retry_timer);
	if (s->cur && s->cur != &s->reconcile) {
		scim_req_t *r = s->cur;
		s->cur = NULL;
		fail(r, 503, NULL, "the service is stopping; try again");
	}
	scim_store_rollback(s->st);
	while (s->head) {
		scim_req_t *r = s->head;
		s->head = r->next;
		fail(r, 503, NULL, "the service is stopping; try again");
	}
	scim_http_stop(s->http);
	scim_store_close(s->st);
	free(s);
}
