/* /api/v1: the gate (session cookie, CSRF token, lock-out), login and
 * logout, and the parts answered by the supervisor: services, logs, held
 * jobs and the job history. The directory's part is in api-dir.c.
 * README "JSON API" is the contract. */
#include "cs.h"
#include "body.h"
#include "csv.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pl_ctlreply.h"
#include "pl_jobpage.h"
#include "pl_log.h"
#include "pl_util.h"

#define API_CTL_MS 10000u
#define API_RELEASE_MS (16u * 60u * 1000u) /* a large job to a slow printer */
#define API_MAX_LINES 2000
/* Held jobs a page of GET /api/v1/jobs: by default, and at most (the
 * supervisor's page, OP_PAGE_MAX). */
#define API_JOBS_PAGE 100
#define API_JOBS_PAGE_MAX 500

/* ---- small helpers ---- */

json_t *cs_req_json(cs_req_t *r)
{
	char err[300];
	json_t *j = pl_dir_body_object(r->body, r->len, err, sizeof(err));
	if (!j)
		cs_reply_error(r, 400, "%s", err);
	return j;
}

/* The HTTP status for a supervisor's RESULT status. */
static int http_status(uint32_t st)
{
	switch (st) {
	case PL_STATUS_OK: return 200;
	case PL_STATUS_BADREQ: return 400;
	case PL_STATUS_NOTFOUND: return 404;
	case PL_STATUS_CONFLICT: return 409;
	case PL_STATUS_BUSY: return 503;
	case PL_STATUS_PRINTER: return 502;
	default: return 500;
	}
}

static int reply_failed(cs_req_t *r, const pl_frame_t *f, const char *why)
{
	char msg[512] = "";
	uint32_t st = PL_STATUS_OK;
	if (!f) {
		cs_reply_error(r, 503, "%s", why);
		return 1;
	}
	pl_frame_get_u32(f, PL_TAG_STATUS, &st);
	if (st == PL_STATUS_OK && !(f->flags & PL_FLAG_ERROR))
		return 0;
	pl_frame_get_str(f, PL_TAG_MESSAGE, msg, sizeof(msg));
	cs_reply_error(r, http_status(st ? st : PL_STATUS_ERROR), "%s",
		       msg[0] ? msg : "the supervisor refused the request");
	return 1;
}

/* Ask the supervisor; cb answers the request. */
static void ask(cs_req_t *r, pl_msg_t *m, uint32_t ms, pl_ctl_cb cb)
{
	/* Who, for the supervisor's log: the administrator, not "the
	 * console". */
	if (r->user[0])
		pl_msg_add_str(m, PL_TAG_ASKED_BY, r->user);
	if (pl_ctl_send(r->cs->ctl, m, ms, cb, r) < 0)
		cs_reply_error(r, 503, "the supervisor cannot be reached");
	pl_msg_free(m);
}

int cs_path_split(const char *rest, char *name, size_t sz, const char **sub)
{
	size_t n = strcspn(rest, "/");
	if (n == 0 || n >= sz)
		return -1;
	memcpy(name, rest, n);
	name[n] = '\0';
	*sub = rest + n;
	return 0;
}

int cs_reply_lookup(cs_req_t *r, int rc, const char *kind, const char *name,
		    const pl_err_t *err)
{
	if (rc > 0)
		cs_reply_error(r, 404, "no %s named %s", kind, name);
	else if (rc < 0)
		cs_reply_error(r, 500, "%s", err->msg);
	return rc;
}

/* ---- login, logout, session ---- */

typedef struct {
	cs_t *cs;
	char user[128], password[1025], ip[64];
	int result;
	int counted; /* begun in the lock-out counters, not yet ended */
	pl_err_t err;
} login_t;

static void login_free(void *arg)
{
	login_t *l = arg;
	/* Never checked (the worker pool refused it): the count goes back. */
	if (l->counted)
		cs_login_end(&l->cs->sessions, l->ip, l->user, -1, pl_now_ms());
	OPENSSL_cleanse(l->password, sizeof(l->password));
	free(l);
}

static void login_work(void *arg)
{
	login_t *l = ((cs_req_t *)arg)->work;
	l->result = pl_dir_admin_check(l->cs->dir, l->user, l->password, &l->err);
	OPENSSL_cleanse(l->password, sizeof(l->password));
}

static json_t *session_json(const cs_t *cs, const cs_session_t *se)
{
	return json_pack("{s:s,s:s,s:I}", "user", se->user, "csrf_token", se->csrf,
			 "expires_in_s",
			 (json_int_t)(cs_session_expires_in_ms(&cs->sessions, se, pl_now_ms()) / 1000));
}

static void login_done(void *arg)
{
	cs_req_t *r = arg;
	login_t *l = r->work;
	cs_t *cs = r->cs;
	uint64_t now = pl_now_ms();
	/* The check was counted when it began (api_login): now its outcome. */
	cs_login_end(&cs->sessions, l->ip, l->user, l->result < 0 ? -1 : l->result, now);
	l->counted = 0;
	cs_status_note(cs);
	if (l->result < 0) {
		pl_err("login: %s", l->err.msg);
		cs_reply_error(r, 500, "cannot check the password (see the console's log)");
		return;
	}
	if (l->result == 0) {
		pl_warn("failed login for '%s' from %s", l->user, l->ip);
		cs_reply_error(r, 401, "wrong user name or password");
		return;
	}
	const cs_session_t *se = cs_session_new(&cs->sessions, l->user, now);
	if (!se) {
		cs_reply_error(r, 500, "no random bytes for a session");
		return;
	}
	pl_info("%s logged in from %s", l->user, l->ip);
	(void)pl_fmt(r->set_cookie, sizeof(r->set_cookie),
		     "plsc_session=%s; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=%u",
		     se->token, cs->session_max_s);
	cs_reply(r, 200, session_json(cs, se));
}

static void api_login(cs_req_t *r)
{
	const char *ct = cs_req_header(r, "Content-Type");
	json_t *j;
	/* An HTML form on another site cannot send application/json. */
	if (!ct || strncasecmp(ct, "application/json", 16) != 0) {
		cs_reply_error(r, 415, "the login must be sent as application/json");
		return;
	}
	char user[128], pw[1025], err[300];
	if (!(j = cs_req_json(r)))
		return;
	int bad = cs_body_login(j, user, sizeof(user), pw, sizeof(pw), err, sizeof(err));
	json_decref(j);
	if (bad) {
		cs_reply_error(r, 400, "%s", err);
		return;
	}
	login_t *l = calloc(1, sizeof(*l));
	if (!l) {
		OPENSSL_cleanse(pw, sizeof(pw));
		cs_reply_error(r, 500, "out of memory");
		return;
	}
	/* Counted before the password is checked, so that a burst of
	 * concurrent attempts cannot get more checks than the limit. */
	uint64_t wait = cs_login_begin(&r->cs->sessions, r->ip, user, pl_now_ms());
	cs_status_note(r->cs);
	if (wait) {
		unsigned s = (unsigned)((wait + 999) / 1000);
		OPENSSL_cleanse(pw, sizeof(pw));
		free(l);
		pl_debug("login for '%s' from %s refused by the lock-out for %u s", user, r->ip, s);
		snprintf(r->retry_after, sizeof(r->retry_after), "%u", s);
		cs_reply_error(r, 429, "too many failed logins; try again in %u s", s);
		return;
	}
	l->cs = r->cs;
	pl_strlcpy(l->user, user, sizeof(l->user));
	pl_strlcpy(l->password, pw, sizeof(l->password));
	OPENSSL_cleanse(pw, sizeof(pw));
	pl_strlcpy(l->ip, r->ip, sizeof(l->ip));
	l->counted = 1;
	r->work = l;
	r->work_free = login_free;
	cs_run(r, login_work, login_done, r);
}

static void api_logout(cs_req_t *r)
{
	pl_info("%s logged out", r->session->user);
	cs_session_end(&r->cs->sessions, r->session->token);
	r->session = NULL;
	pl_strlcpy(r->set_cookie,
		   "plsc_session=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0",
		   sizeof(r->set_cookie));
	cs_reply(r, 200, json_pack("{s:b}", "ok", 1));
}

/* ---- services ---- */

/* As plsc status --json: null where there is nothing to say (no process,
 * no exit yet). */
static json_t *service_json(const pl_field_t *fl)
{
	pl_svc_row_t v;
	if (pl_svc_row_decode(fl, &v) < 0)
		return NULL;
	return json_pack("{s:s,s:b,s:s,s:o,s:o,s:i,s:o,s:s}", "name", v.name, "enabled",
			 v.enabled, "state", v.state, "pid",
			 v.pid ? json_integer(v.pid) : json_null(), "uptime_ms",
			 v.has_uptime ? json_integer((json_int_t)v.uptime) : json_null(),
			 "restarts", (int)v.restarts, "last_exit",
			 v.last_exit[0] ? json_string(v.last_exit) : json_null(), "detail", v.detail);
}

static void services_done(void *arg, const pl_frame_t *f, const char *why)
{
	cs_req_t *r = arg;
	pl_iter_t it;
	pl_field_t fl;
	pl_sup_row_t sr;
	if (reply_failed(r, f, why))
		return;
	json_t *svcs = json_array(), *sup = json_object();
	pl_iter_frame(&it, f);
	while (pl_iter_next(&it, &fl) == 1) {
		if (fl.tag == PL_TAG_SERVICE) {
			json_t *s = service_json(&fl);
			if (s)
				json_array_append_new(svcs, s);
		} else if (fl.tag == PL_TAG_SUPERVISOR && pl_sup_row_decode(&fl, &sr) == 0) {
			json_object_set_new(sup, "version", json_string(sr.version));
			json_object_set_new(sup, "pid", json_integer(sr.pid));
			json_object_set_new(sup, "uptime_ms", json_integer((json_int_t)sr.uptime));
		}
	}
	cs_reply(r, 200, json_pack("{s:o,s:o}", "supervisor", sup, "services", svcs));
}

static void message_done(void *arg, const pl_frame_t *f, const char *why)
{
	cs_req_t *r = arg;
	char msg[512] = "";
	if (reply_failed(r, f, why))
		return;
	pl_frame_get_str(f, PL_TAG_MESSAGE, msg, sizeof(msg));
	cs_reply(r, 200, json_pack("{s:s}", "message", msg));
}

static void api_services(cs_req_t *r, const char *rest)
{
	pl_msg_t m;
	if (!rest[0]) {
		if (strcmp(r->method, "GET") != 0) {
			cs_reply_error(r, 405, "use GET");
			return;
		}
		pl_msg_init(&m, PL_MSG_CTL_STATUS, 0, 0);
		ask(r, &m, API_CTL_MS, services_done);
		return;
	}
	/* NAME/enable | NAME/disable | NAME/restart */
	char name[128];
	const char *slash;
	if (cs_path_split(rest, name, sizeof(name), &slash) < 0 || !*slash) {
		cs_reply_error(r, 404, "no such API path");
		return;
	}
	uint16_t type = strcmp(slash, "/enable") == 0	? PL_MSG_CTL_ENABLE
		      : strcmp(slash, "/disable") == 0	? PL_MSG_CTL_DISABLE
		      : strcmp(slash, "/restart") == 0	? PL_MSG_CTL_RESTART
							: 0;
	if (!type) {
		cs_reply_error(r, 404, "no such API path");
		return;
	}
	if (strcmp(r->method, "POST") != 0) {
		cs_reply_error(r, 405, "use POST");
		return;
	}
	pl_info("%s: %s %s", r->user, slash + 1, name);
	pl_msg_init(&m, type, 0, 0);
	pl_msg_add_str(&m, PL_TAG_NAME, name);
	ask(r, &m, API_CTL_MS, message_done);
}

/* ---- logs and history ---- */

static void logs_done(void *arg, const pl_frame_t *f, const char *why)
{
	cs_req_t *r = arg;
	pl_field_t text;
	uint64_t file = 0, off = 0;
	uint32_t rot = 0;
	char fid[32];
	if (reply_failed(r, f, why))
		return;
	if (pl_frame_find(f, PL_TAG_TEXT, &text) != 1)
		text.len = 0;
	pl_frame_get_u64(f, PL_TAG_FILE_ID, &file);
	pl_frame_get_u64(f, PL_TAG_OFFSET, &off);
	pl_field_t rf;
	if (pl_frame_find(f, PL_TAG_ROTATED, &rf) == 1 && rf.len == 1)
		rot = rf.val[0];
	snprintf(fid, sizeof(fid), "%llu", (unsigned long long)file);
	cs_reply(r, 200, json_pack("{s:o,s:s,s:I,s:b}", "text",
				   cs_text_json(text.len ? (const char *)text.val : "", text.len),
				   "file", fid, "offset", (json_int_t)off, "rotated", (int)rot));
}

static int parse_u64(const char *s, uint64_t max, uint64_t *v)
{
	char *end;
	if (!s || !*s || *s == '-')
		return -1;
	unsigned long long x = strtoull(s, &end, 10);
	if (*end || x > max)
		return -1;
	*v = x;
	return 0;
}

static void api_logs(cs_req_t *r, const char *name)
{
	const char *lines = cs_req_arg(r, "lines"), *file = cs_req_arg(r, "file"),
		   *off = cs_req_arg(r, "offset");
	uint64_t nl = 200, fid = 0, o = 0;
	pl_msg_t m;
	if (strcmp(r->method, "GET") != 0) {
		cs_reply_error(r, 405, "use GET");
		return;
	}
	if (!name[0] || strchr(name, '/') || !pl_valid_name(name)) {
		cs_reply_error(r, 404, "no such log");
		return;
	}
	if ((lines && parse_u64(lines, API_MAX_LINES, &nl) < 0) ||
	    (!file != !off) || (file && (parse_u64(file, UINT64_MAX, &fid) < 0 ||
					 parse_u64(off, UINT64_MAX, &o) < 0))) {
		cs_reply_error(r, 400, "lines must be 0 to %d; file and offset go together "
				       "and are numbers", API_MAX_LINES);
		return;
	}
	pl_msg_init(&m, PL_MSG_CTL_LOGS, 0, 0);
	pl_msg_add_str(&m, PL_TAG_NAME, name);
	if (file) {
		pl_msg_add_u64(&m, PL_TAG_FILE_ID, fid);
		pl_msg_add_u64(&m, PL_TAG_OFFSET, o);
	} else {
		pl_msg_add_u32(&m, PL_TAG_COUNT, (uint32_t)nl);
	}
	ask(r, &m, API_CTL_MS, logs_done);
}

/* A history request's filter: events of one service (its "service"
 * field), the newest `limit` of them. The supervisor gives the newest
 * lines of the whole file; with a filter it is asked for the most it
 * gives (API_MAX_LINES) and the matching ones are kept. */
typedef struct {
	char service[128]; /* "": every event */
	size_t limit;
} hist_filter_t;

static json_t *history_events(cs_req_t *r, const pl_frame_t *f)
{
	const hist_filter_t *hf = r->work;
	pl_field_t text;
	json_t *events = pl_frame_find(f, PL_TAG_TEXT, &text) == 1
				 ? cs_history_json((const char *)text.val, text.len)
				 : json_array();
	if (!events || !hf || !hf->service[0])
		return events;
	json_t *out = json_array(), *ev;
	size_t i;
	json_array_foreach(events, i, ev) {
		const char *svc = json_string_value(json_object_get(ev, "service"));
		if (out && json_array_size(out) < hf->limit && svc &&
		    strcmp(svc, hf->service) == 0)
			json_array_append(out, ev);
	}
	json_decref(events);
	return out ? out : json_array();
}

static void history_done(void *arg, const pl_frame_t *f, const char *why)
{
	cs_req_t *r = arg;
	if (reply_failed(r, f, why))
		return;
	cs_reply(r, 200, json_pack("{s:o}", "events", history_events(r, f)));
}

/* The export's columns: the job-events.jsonl fields (README "Job events"). */
static const char *const history_cols[] = {
	"time", "event", "job_id", "user", "workstation", "printer", "title", "page_size",
	"pages", "size", "format", "service", "detail",
};

static void history_csv_done(void *arg, const pl_frame_t *f, const char *why)
{
	cs_req_t *r = arg;
	cs_csv_t c = { 0 };
	size_t i, k, len;
	json_t *ev;
	if (reply_failed(r, f, why))
		return;
	json_t *events = history_events(r, f);
	for (k = 0; k < sizeof(history_cols) / sizeof(history_cols[0]); k++)
		cs_csv_cell(&c, history_cols[k]);
	cs_csv_row_end(&c);
	json_array_foreach(events, i, ev) {
		for (k = 0; k < sizeof(history_cols) / sizeof(history_cols[0]); k++)
			cs_csv_json(&c, json_object_get(ev, history_cols[k]));
		cs_csv_row_end(&c);
	}
	json_decref(events);
	char *csv = cs_csv_take(&c, &len);
	cs_reply_text(r, 200, "text/csv; charset=utf-8", csv, len, "job-history.csv");
}

/* GET /history (JSON) or /history.csv (the same events as CSV: a download;
 * its default is every event it may give); ?service=NAME keeps the events
 * of one service (the held jobs of off-network printing:
 * PrinterLogicServiceOffNetworkServer). */
static void api_history(cs_req_t *r, int csv)
{
	const char *limit = cs_req_arg(r, "limit"), *service = cs_req_arg(r, "service");
	uint64_t n = csv ? API_MAX_LINES : 200;
	pl_msg_t m;
	if (strcmp(r->method, "GET") != 0) {
		cs_reply_error(r, 405, "use GET");
		return;
	}
	if (limit && parse_u64(limit, API_MAX_LINES, &n) < 0) {
		cs_reply_error(r, 400, "limit must be 0 to %d", API_MAX_LINES);
		return;
	}
	if (service && *service) {
		hist_filter_t *hf = calloc(1, sizeof(*hf));
		if (strlen(service) >= sizeof(hf->service) || !pl_valid_name(service)) {
			free(hf);
			cs_reply_error(r, 400, "service must be a service's name");
			return;
		}
		if (!hf) {
			cs_reply_error(r, 503, "out of memory");
			return;
		}
		pl_strlcpy(hf->service, service, sizeof(hf->service));
		hf->limit = (size_t)n;
		r->work = hf;
		r->work_free = free;
		n = API_MAX_LINES;
	}
	pl_msg_init(&m, PL_MSG_CTL_LOGS, 0, 0);
	pl_msg_add_str(&m, PL_TAG_NAME, "job-events");
	pl_msg_add_u32(&m, PL_TAG_COUNT, (uint32_t)n);
	ask(r, &m, API_CTL_MS, csv ? history_csv_done : history_done);
}

/* ---- held jobs ---- */

static json_t *job_json(const pl_field_t *fl)
{
	pl_job_row_t j;
	if (pl_job_row_decode(fl, &j) < 0)
		return NULL;
	/* Pages 0 is "not known": null, shown as such, never as 0. A job
	 * whose release was cut off carries when (it may have printed). */
	return json_pack("{s:s,s:o,s:o,s:o,s:s,s:s,s:o,s:I,s:I,s:I,s:s,s:o}", "id", j.id,
			 "user", cs_text_json(j.user, strlen(j.user)), "workstation",
			 cs_text_json(j.ws, strlen(j.ws)), "title",
			 cs_text_json(j.title, strlen(j.title)), "printer", j.printer, "format",
			 j.format, "pages",
			 j.pages ? json_integer((json_int_t)j.pages) : json_null(), "size", (json_int_t)j.size,
			 "created_ms", (json_int_t)j.created, "expires_ms", (json_int_t)j.expires,
			 "source", j.source, "maybe_printed_ms",
			 j.maybe ? json_integer((json_int_t)j.maybe) : json_null());
}

/* Where the next page starts, as the string the client sends back as
 * ?cursor=; null on the last page. */
static json_t *next_cursor(const pl_frame_t *f)
{
	pl_field_t fl;
	pl_jobpos_t after;
	char buf[PL_JOBPOS_STR_MAX];
	uint8_t more = 0;
	if (pl_frame_find(f, PL_TAG_MORE, &fl) != 1 || pl_field_u8(&fl, &more) < 0 ||
	    more != 1 || pl_frame_find(f, PL_TAG_AFTER, &fl) != 1 ||
	    pl_jobpos_decode(&fl, &after) < 0 || pl_jobpos_format(&after, buf, sizeof(buf)) < 0)
		return json_null();
	return json_string(buf);
}

static void jobs_done(void *arg, const pl_frame_t *f, const char *why)
{
	cs_req_t *r = arg;
	pl_iter_t it;
	pl_field_t fl;
	uint32_t total = 0;
	if (reply_failed(r, f, why))
		return;
	json_t *jobs = json_array(), *missing = json_array();
	pl_iter_frame(&it, f);
	while (pl_iter_next(&it, &fl) == 1) {
		char name[64];
		json_t *j = fl.tag == PL_TAG_JOB ? job_json(&fl) : NULL;
		if (j)
			json_array_append_new(jobs, j);
		/* A holder that did not answer: the list is not complete. */
		if (fl.tag == PL_TAG_UNAVAILABLE &&
		    pl_field_str(&fl, name, sizeof(name)) == 0)
			json_array_append_new(missing, json_string(name));
	}
	pl_frame_get_u32(f, PL_TAG_TOTAL, &total);
	cs_reply(r, 200, json_pack("{s:o,s:o,s:I,s:o}", "jobs", jobs, "unavailable", missing,
				   "total", (json_int_t)total, "next", next_cursor(f)));
}

/* GET /api/v1/jobs[?user=U][&limit=N][&cursor=C]: one page of the held
 * jobs, oldest first; C is the "next" of the page before. */
static void api_jobs_list(cs_req_t *r)
{
	const char *user = cs_req_arg(r, "user"), *limit = cs_req_arg(r, "limit"),
		   *cursor = cs_req_arg(r, "cursor");
	uint64_t n = API_JOBS_PAGE;
	pl_jobpos_t after;
	pl_msg_t m;
	if (strcmp(r->method, "GET") != 0) {
		cs_reply_error(r, 405, "use GET");
		return;
	}
	if (limit && (parse_u64(limit, API_JOBS_PAGE_MAX, &n) < 0 || n == 0)) {
		cs_reply_error(r, 400, "limit must be 1 to %d", API_JOBS_PAGE_MAX);
		return;
	}
	if (cursor && cursor[0] && pl_jobpos_parse(cursor, &after) < 0) {
		cs_reply_error(r, 400, "malformed cursor (use the \"next\" of the page before)");
		return;
	}
	pl_msg_init(&m, PL_MSG_CTL_JOBS, 0, 0);
	if (user && user[0])
		pl_msg_add_str(&m, PL_TAG_USER, user);
	pl_msg_add_u32(&m, PL_TAG_LIMIT, (uint32_t)n);
	if (cursor && cursor[0])
		pl_jobpos_add(&m, PL_TAG_AFTER, &after);
	ask(r, &m, API_CTL_MS, jobs_done);
}

static void release_done(void *arg, const pl_frame_t *f, const char *why)
{
	cs_req_t *r = arg;
	pl_iter_t it;
	pl_field_t fl;
	char msg[512] = "";
	uint32_t st = PL_STATUS_OK;
	if (!f) {
		cs_reply_error(r, 503, "%s", why);
		return;
	}
	pl_frame_get_u32(f, PL_TAG_STATUS, &st);
	pl_frame_get_str(f, PL_TAG_MESSAGE, msg, sizeof(msg));
	json_t *results = json_array();
	pl_result_row_t res;
	pl_iter_frame(&it, f);
	while (pl_iter_next(&it, &fl) == 1)
		if (fl.tag == PL_TAG_JOB && pl_result_row_decode(&fl, &res) == 0)
			json_array_append_new(results,
					      json_pack("{s:s,s:i,s:s}", "id", res.id, "status",
							(int)res.status, "message", res.message));
	int code = (st == PL_STATUS_OK && !(f->flags & PL_FLAG_ERROR)) ? 200
		 : http_status(st ? st : PL_STATUS_ERROR);
	json_t *ans = json_pack("{s:s,s:o}", "message", msg, "results", results);
	if (code != 200)
		json_object_set_new(ans, "error", json_string(msg));
	cs_reply(r, code, ans);
}

static int job_id_ok(const char *id)
{
	size_t n = strlen(id);
	return n > 0 && n < 64 && strspn(id, "0123456789abcdef") == n;
}

static void api_jobs(cs_req_t *r, const char *rest)
{
	pl_msg_t m;
	if (!rest[0]) {
		api_jobs_list(r);
		return;
	}
	char id[64];
	const char *slash;
	if (cs_path_split(rest, id, sizeof(id), &slash) < 0 || !job_id_ok(id)) {
		cs_reply_error(r, 404, "no such job");
		return;
	}
	if (!*slash && strcmp(r->method, "DELETE") == 0) {
		pl_info("%s: delete job %s", r->user, id);
		pl_msg_init(&m, PL_MSG_CTL_DELETE, 0, 0);
		pl_msg_add_str(&m, PL_TAG_JOB_ID, id);
		ask(r, &m, API_RELEASE_MS, message_done);
		return;
	}
	if (strcmp(slash, "/release") == 0 && strcmp(r->method, "POST") == 0) {
		json_t *j = cs_req_json(r);
		const char *printer = NULL;
		int any = 0, reprint = 0;
		if (!j)
			return;
		if (json_unpack(j, "{s:s,s?b,s?b}", "printer", &printer, "any_printer", &any,
				"reprint", &reprint) < 0 ||
		    !printer[0]) {
			json_decref(j);
			cs_reply_error(r, 400, "a release needs a \"printer\" (and "
				       "\"any_printer\" and \"reprint\", if given, are true "
				       "or false)");
			return;
		}
		pl_dir_printer_t pr;
		pl_err_t err;
		if (cs_reply_lookup(r, pl_dir_printer_get(r->cs->dir, printer, &pr, &err),
				    "printer", printer, &err) != 0) {
			json_decref(j);
			return;
		}
		pl_info("%s: release job %s to %s%s%s", r->user, id, printer,
			any ? " (override: a secure job may print there)" : "",
			reprint ? " (reprint: it may have printed already)" : "");
		pl_msg_init(&m, PL_MSG_CTL_RELEASE, 0, 0);
		pl_msg_add_str(&m, PL_TAG_JOB_ID, id);
		pl_msg_add_str(&m, PL_TAG_PRINTER, printer);
		/* The holder refuses a secure job at another printer unless the
		 * administrator overrides it; ask() adds their name (ASKED_BY). */
		if (any)
			pl_msg_add_u8(&m, PL_TAG_ANY_PRINTER, 1);
		if (reprint)
			pl_msg_add_u8(&m, PL_TAG_REPRINT, 1);
		json_decref(j);
		ask(r, &m, API_RELEASE_MS, release_done);
		return;
	}
	cs_reply_error(r, *slash ? 404 : 405, *slash ? "no such API path" : "use DELETE");
}

/* ---- the gate ---- */

static int api_gate(cs_req_t *r)
{
	cs_t *cs = r->cs;
	int was_expired = 0;
	const char *token = cs_req_header(r, "Cookie:plsc_session");
	r->session = token ? cs_session_find(&cs->sessions, token, pl_now_ms(), &was_expired)
			   : NULL;
	if (!r->session) {
		cs_reply_error(r, 401, was_expired ? "your session has expired; please log in again"
						   : "not logged in");
		return -1;
	}
	pl_strlcpy(r->user, r->session->user, sizeof(r->user));
	/* An administrator deleted meanwhile is logged out everywhere; one
	 * whose password changed since this login, from this session. */
	pl_err_t err;
	pl_dir_admin_t a;
	int rc = pl_dir_admin_get(cs->dir, r->user, &a, &err);
	if (rc != 0 || a.updated_ms > r->session->login_wall_ms) {
		if (rc == 1) {
			pl_notice("%s is no longer an administrator; sessions ended", r->user);
			cs_session_end_user(&cs->sessions, r->user);
		} else if (rc == 0) {
			cs_session_end(&cs->sessions, r->session->token);
		}
		r->session = NULL;
		cs_reply_error(r, 401, rc == 1 ? "not logged in"
				       : rc == 0 ? "the password was changed; please log in again"
						 : "cannot check the session (see the console's log)");
		return -1;
	}
	if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0 &&
	    !cs_session_csrf_ok(r->session, cs_req_header(r, "X-CSRF-Token"))) {
		cs_reply_error(r, 403, "missing or wrong CSRF token (X-CSRF-Token)");
		return -1;
	}
	return 0;
}

void cs_api(cs_req_t *r)
{
	const char *path = r->url + strlen("/api/v1");
	if (strcmp(path, "/login") == 0) {
		if (strcmp(r->method, "POST") != 0)
			cs_reply_error(r, 405, "use POST");
		else
			api_login(r);
		return;
	}
	if (api_gate(r) < 0)
		return;
	if (strcmp(path, "/logout") == 0) {
		if (strcmp(r->method, "POST") != 0)
			cs_reply_error(r, 405, "use POST");
		else
			api_logout(r);
	} else if (strcmp(path, "/session") == 0) {
		cs_reply(r, 200, session_json(r->cs, r->session));
	} else if (strcmp(path, "/services") == 0) {
		api_services(r, "");
	} else if (strncmp(path, "/services/", 10) == 0) {
		api_services(r, path + 10);
	} else if (strncmp(path, "/logs/", 6) == 0) {
		api_logs(r, path + 6);
	} else if (strcmp(path, "/jobs") == 0) {
		api_jobs(r, "");
	} else if (strncmp(path, "/jobs/", 6) == 0) {
		api_jobs(r, path + 6);
	} else if (strcmp(path, "/history") == 0) {
		api_history(r, 0);
	} else if (strcmp(path, "/history.csv") == 0) {
		api_history(r, 1);
	} else if (!cs_api_dir(r, path)) {
		cs_reply_error(r, 404, "no such API path");
	}
}
