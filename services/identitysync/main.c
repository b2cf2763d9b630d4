/* PrinterLogicServiceIdentitySync (ids.h, README "Identity sync",
 * PrinterLogicServiceIdentitySync(8)). The loop owns the schedule and the
 * conversation with plsc-directory; the worker (pull.c) owns LDAP.
 *
 * One sync at a time: a sync's batch goes to plsc-directory as
 * DIR_WRITE sync-apply parts while the worker still reads (below, "sending
 * the batch"), each sent after the previous one's answer; the last part's
 * answer says what was applied, in one transaction. Only then is the
 * high-water mark saved (sync-state.json), so a sync that did not apply
 * is read again next time. */
#include "ids.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pl_log.h"
#include "pl_random.h"
#include "pl_schemas.h"
#include "pl_service.h"
#include "pl_tls.h"
#include "pl_util.h"
#include "scim.h"

#define IDS_DIRECTORY "plsc-directory"
/* plsc-directory's answer to the last part (a staged batch is applied
 * whole then), and to one of the others (staged, or applied at once
 * while streamed: well under a second each; a part lost with a
 * plsc-directory that died is never answered). */
#define IDS_ANSWER_MS 300000
#define IDS_PART_ANSWER_MS 30000
#define IDS_STATE_FILE "sync-state.json"
/* While a streamed batch is open in plsc-directory, a part at least this
 * often (its idle bound is 60 s: DS_SYNC_IDLE_MS). */
#define IDS_KEEPALIVE_MS 10000

typedef struct {
	pl_service_t *svc;
	ids_conf_t conf;
	pl_dir_t *dir;
	pl_work_t *work;
	pl_watchdog_t *wd;
	pl_timer_t *tick;
	char hwm[64];
	ids_cookies_t cookies; /* syncrepl's, from the last sync */
	uint64_t last_full_ms;
	/* the sync in progress */
	ids_job_t *job;
	uint32_t asker_seq; /* SYNC_NOW being answered; 0: none */
	int asked;
	int reading;	 /* the worker still runs the job */
	int aborting;	 /* the part in flight says the sync failed */
	int abort_due;	 /* ... to be sent when the part in flight is answered */
	int final_sent;	 /* the last part (no MORE) went */
	uint32_t part, seq, next_seq;
	uint32_t fail_status; /* a part refused (or unanswered) while reading */
	char fail_msg[400];
	pl_timer_t *answer_timer, *keepalive;
	/* the last sync, for plsc status */
	char last[400];
	unsigned long long syncs, failures;
	scim_t *scim; /* NULL: SCIM off */
	pl_timer_t *status_timer;
	char status[700]; /* the last one sent */
} ids_t;

static void schedule(ids_t *ids);

/* ---- state: the high-water mark ---- */

/* What the cookies were taken for: a cookie says what changed on this
 * server among the entries of these bases and this filter, under this
 * key. */
static void cookies_for(const ids_conf_t *c, char out[17])
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a: a fingerprint, not a secret */
	const char *parts[IDS_MAX_BASES + 3];
	int n = 0;
	parts[n++] = c->uri; /* another server's cookie means nothing here */
	parts[n++] = c->filter;
	parts[n++] = c->key_attr;
	for (int b = 0; b < c->nbases; b++)
		parts[n++] = c->bases[b];
	for (int i = 0; i < n; i++)
		for (const unsigned char *q = (const unsigned char *)parts[i];; q++) {
			h = (h ^ *q) * 1099511628211ull;
			if (!*q)
				break;
		}
	snprintf(out, 17, "%016llx", (unsigned long long)h);
}

/* hex (2 n digits) to n bytes. 0 or -1. */
static int unhex(const char *h, char *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int hi = pl_hex_digit(h[2 * i]), lo = pl_hex_digit(h[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (char)(hi << 4 | lo);
	}
	return 0;
}

static void cookies_load(ids_t *ids, json_t *j)
{
	char fp[17];
	json_t *a = json_object_get(j, "cookies");
	const char *f = json_string_value(json_object_get(j, "cookies_for"));
	cookies_for(&ids->conf, fp);
	if (!f || strcmp(f, fp) || json_array_size(a) != (size_t)ids->conf.nbases)
		return; /* none, or for another configuration: the next full sync takes them */
	for (size_t i = 0; i < json_array_size(a); i++) {
		const char *h = json_string_value(json_array_get(a, i));
		size_t hl = h ? strlen(h) : 0;
		pl_ldap_cookie_t *c = &ids->cookies.c[i];
		if (!hl || hl % 2 || hl / 2 > sizeof(c->v) || unhex(h, c->v, hl / 2) < 0) {
			memset(&ids->cookies, 0, sizeof(ids->cookies));
			return;
		}
		c->len = hl / 2;
		c->set = 1;
	}
	ids->cookies.n = ids->conf.nbases;
}

static void state_load(ids_t *ids)
{
	char path[PATH_MAX];
	size_t len;
	if (pl_fmt(path, sizeof(path), "%s/%s", ids->conf.state_dir, IDS_STATE_FILE) < 0)
		return;
	char *text = pl_read_file(path, 64 * 1024, &len);
	json_t *j = text ? json_loadb(text, len, 0, NULL) : NULL;
	const char *h = json_string_value(json_object_get(j, "hwm"));
	if (h && strlen(h) < sizeof(ids->hwm))
		pl_strlcpy(ids->hwm, h, sizeof(ids->hwm));
	cookies_load(ids, j);
	json_decref(j);
	free(text);
}

/* The cookies as hex (a cookie is the server's bytes, not always text). */
static json_t *cookies_json(const ids_cookies_t *k)
{
	json_t *a = json_array();
	char hex[2 * PL_LDAP_COOKIE_MAX + 1];
	for (int i = 0; a && i < k->n; i++) {
		pl_hex(k->c[i].v, k->c[i].len, hex);
		json_array_append_new(a, json_string(hex));
	}
	return a;
}

static void state_save(ids_t *ids)
{
	char path[PATH_MAX], fp[17];
	cookies_for(&ids->conf, fp);
	json_t *j = json_pack("{s:s,s:o,s:s}", "hwm", ids->hwm, "cookies",
			      cookies_json(&ids->cookies), "cookies_for", fp);
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
	if (!s || pl_fmt(path, sizeof(path), "%s/%s", ids->conf.state_dir, IDS_STATE_FILE) < 0 ||
	    pl_write_file_atomic(path, s, strlen(s), 0600) < 0)
		pl_err("cannot save the sync state; the next sync reads more than it needs");
	free(s);
	json_decref(j);
}

/* ---- the end of a sync ---- */

static void answer_asker(ids_t *ids, uint32_t status, const char *msg, json_t *report)
{
	pl_msg_t m;
	if (!ids->asked)
		return;
	ids->asked = 0;
	if (pl_msg_init(&m, PL_MSG_RESULT, PL_FLAG_REPLY | (status ? PL_FLAG_ERROR : 0),
			ids->asker_seq) < 0)
		return;
	pl_msg_add_u32(&m, PL_TAG_STATUS, status);
	pl_msg_add_str(&m, PL_TAG_MESSAGE, msg);
	char *s = report ? json_dumps(report, JSON_COMPACT) : NULL;
	if (s && strlen(s) < IDS_PART_MAX)
		pl_msg_add(&m, PL_TAG_PAYLOAD, s, strlen(s));
	free(s);
	if (pl_msg_finish(&m) == 0 && pl_service_send(ids->svc, &m) < 0)
		pl_err("cannot answer the sync request: channel queue full");
	pl_msg_free(&m);
}

static void report_status(ids_t *ids)
{
	const char *scim = ids->scim ? scim_status(ids->scim) : "";
	char now[sizeof(ids->status)];
	if (!ids->conf.ldap)
		snprintf(now, sizeof(now), "%s", scim[0] ? scim : "SCIM: no requests yet");
	else
		snprintf(now, sizeof(now), "%s; %llu syncs, %llu failed%s%s",
			 ids->last[0] ? ids->last : "no sync yet", ids->syncs, ids->failures,
			 scim[0] ? "; " : "", scim);
	if (strcmp(now, ids->status) == 0)
		return; /* unchanged: nothing to tell the supervisor */
	pl_strlcpy(ids->status, now, sizeof(ids->status));
	pl_service_status(ids->svc, "%s", now);
}

/* SCIM's counters change with every request: plsc status gets them every
 * few seconds rather than a status message a request. */
static void status_tick(pl_loop_t *loop, void *arg)
{
	ids_t *ids = arg;
	report_status(ids);
	ids->status_timer = pl_loop_timer(loop, 2000, status_tick, ids);
}

/* No sync in progress: nothing of the last one's sending is left. */
static void sending_reset(ids_t *ids)
{
	pl_loop_t *loop = pl_service_loop(ids->svc);
	if (ids->keepalive)
		pl_loop_timer_cancel(loop, ids->keepalive);
	if (ids->answer_timer)
		pl_loop_timer_cancel(loop, ids->answer_timer);
	ids->keepalive = ids->answer_timer = NULL;
	ids->reading = ids->aborting = ids->abort_due = ids->final_sent = 0;
	ids->part = ids->seq = 0;
	ids->fail_status = 0;
	ids->fail_msg[0] = '\0';
}

/* counts: the directory's answer (added, updated, renamed, removed,
 * failed), or NULL for a dry run / nothing to apply (the pull's). */
static void finish(ids_t *ids, uint32_t status, const char *err, json_t *counts)
{
	ids_job_t *j = ids->job;
	char when[32], msg[400];
	time_t t = (time_t)(j->started_ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	json_t *r = j->report;
	long added = counts ? (long)json_integer_value(json_object_get(counts, "added")) : j->adds;
	long updated = counts ? (long)(json_integer_value(json_object_get(counts, "updated")) +
				       json_integer_value(json_object_get(counts, "renamed")))
			      : j->updates;
	long removed = counts ? (long)json_integer_value(json_object_get(counts, "removed"))
			      : j->removes;
	long errors = j->errors + (counts ? (long)json_integer_value(
						    json_object_get(counts, "failed")) : 0);
	if (status == PL_STATUS_OK)
		snprintf(msg, sizeof(msg),
			 "%s%s sync%s%s%s: %ld added, %ld updated, %ld disabled, %ld removed, "
			 "%ld errors (%ld entries read, %.3f s)",
			 j->dry_run ? "dry run of a " : "", j->full ? "full" : "incremental",
			 j->full ? "" : " (", j->full ? "" : j->path, j->full ? "" : ")", added,
			 updated, j->disabled, removed, errors, j->entries, j->took_ms / 1000.0);
	else
		snprintf(msg, sizeof(msg), "%s sync failed: %s", j->full ? "full" : "incremental",
			 err);
	if (r) {
		json_object_set_new(r, "kind", json_string(j->full ? "full" : "incremental"));
		/* how changes were read: full, syncrepl or timestamp */
		json_object_set_new(r, "read_by", json_string(j->path ? j->path : "full"));
		json_object_set_new(r, "dry_run", json_boolean(j->dry_run));
		json_object_set_new(r, "added", json_integer(added));
		json_object_set_new(r, "updated", json_integer(updated));
		json_object_set_new(r, "disabled", json_integer(j->disabled));
		json_object_set_new(r, "removed", json_integer(removed));
		json_object_set_new(r, "errors_count", json_integer(errors));
		json_object_set_new(r, "entries", json_integer(j->entries));
		json_object_set_new(r, "duration_ms", json_integer((json_int_t)j->took_ms));
		json_t *de = json_object_get(counts, "errors");
		for (size_t i = 0; i < json_array_size(de); i++)
			json_array_append(json_object_get(r, "errors"), json_array_get(de, i));
	}
	if (status == PL_STATUS_OK) {
		pl_info("%s", msg);
		if (!j->dry_run) {
			ids->syncs++;
			snprintf(ids->last, sizeof(ids->last), "last sync %s %s, %.1f s: %ld added, "
				 "%ld updated, %ld removed, %ld errors", j->full ? "full" : "incremental",
				 when, j->took_ms / 1000.0, added, updated, removed, errors);
			pl_strlcpy(ids->hwm, j->hwm_out, sizeof(ids->hwm));
			ids->cookies = j->cookies;
			state_save(ids);
			if (j->full)
				ids->last_full_ms = j->started_ms;
		}
	} else {
		pl_err("%s", msg);
		ids->failures++;
		snprintf(ids->last, sizeof(ids->last), "last sync %s FAILED: %.300s", when, err);
	}
	report_status(ids);
	answer_asker(ids, status, msg, r);
	ids_job_free(j);
	ids->job = NULL;
	sending_reset(ids);
	schedule(ids);
}

/* ---- sending the batch ----
 *
 * The batch goes to plsc-directory while the worker is still reading:
 * a part as soon as IDS_PART_MAX bytes of lines wait (the worker posts
 * part_ready), one part in flight at a time, the last one (no MORE) once
 * the reading is over. plsc-directory applies a first sync's parts as
 * they come inside one transaction and commits at the last (its sync.c);
 * a sync that fails after parts went sends a part saying so
 * ({"abort": WHY}), and plsc-directory rolls everything back. While
 * parts are out and the reading goes on, a part (empty if need be) goes
 * at least every IDS_KEEPALIVE_MS, so plsc-directory can tell a slow
 * server from a dead sender (it rolls back after 60 s without one). */

static void sync_failed(ids_t *ids, uint32_t status, const char *msg);

static void answer_late(pl_loop_t *loop, void *arg)
{
	ids_t *ids = arg;
	(void)loop;
	ids->answer_timer = NULL;
	ids->seq = 0;
	sync_failed(ids, PL_STATUS_ERROR, "plsc-directory did not answer in time");
}

/* Part ++part, with payload (n bytes) and MORE more. 0 or -1. */
static int send_msg(ids_t *ids, const char *payload, size_t n, int more)
{
	pl_msg_t m;
	char id[64];
	snprintf(id, sizeof(id), "ldap-%llu", (unsigned long long)ids->job->started_ms);
	if (pl_msg_init(&m, PL_MSG_DIR_WRITE, 0, ids->next_seq + 1) < 0)
		return -1;
	pl_msg_add_str(&m, PL_TAG_TO, IDS_DIRECTORY);
	pl_msg_add_str(&m, PL_TAG_OP, "sync-apply");
	pl_msg_add_str(&m, PL_TAG_NAME, id);
	pl_msg_add_u32(&m, PL_TAG_LINE, ids->part + 1);
	pl_msg_add_u8(&m, PL_TAG_MORE, (uint8_t)more);
	pl_msg_add(&m, PL_TAG_PAYLOAD, payload, n);
	int rc = pl_msg_finish(&m) == 0 ? pl_service_send(ids->svc, &m) : -1;
	pl_msg_free(&m);
	if (rc < 0)
		return -1;
	ids->seq = ++ids->next_seq;
	ids->part++;
	ids->answer_timer = pl_loop_timer(pl_service_loop(ids->svc),
					  more ? IDS_PART_ANSWER_MS : IDS_ANSWER_MS, answer_late, ids);
	return 0;
}

/* The next part: up to IDS_PART_MAX bytes of whole lines from the batch;
 * the last one when the reading is over and the rest fits. The part is
 * copied into the message under the lock, and what was sent is dropped
 * from the batch now and then (the worker keeps appending). 0 or -1. */
static int send_part(ids_t *ids)
{
	ids_job_t *j = ids->job;
	pthread_mutex_lock(&j->mu);
	size_t n = j->batch.len - j->sent;
	if (n > IDS_PART_MAX) {
		/* cut after the last line end that fits */
		const char *p = j->batch.text + j->sent;
		n = IDS_PART_MAX;
		while (n > 0 && p[n - 1] != '\n')
			n--;
	}
	int more = ids->reading || j->sent + n < j->batch.len;
	int rc = n == 0 && j->batch.len > j->sent
			 ? -1 /* a line over a part: cannot happen (bounded users) */
			 : send_msg(ids, n ? j->batch.text + j->sent : "", n, more);
	if (rc == 0) {
		j->sent += n;
		ids->final_sent = !more;
	}
	if (rc == 0 && j->sent >= 4 * IDS_PART_MAX) {
		memmove(j->batch.text, j->batch.text + j->sent, j->batch.len - j->sent + 1);
		j->batch.len -= j->sent;
		j->sent = 0;
	}
	pthread_mutex_unlock(&j->mu);
	return rc;
}

/* While reading: a part when one is due and none is in flight (keepalive:
 * whatever is there, once parts have gone). */
static void pump(ids_t *ids, int keepalive)
{
	ids_job_t *j = ids->job;
	if (!j || !ids->reading || ids->seq || ids->fail_status)
		return;
	pthread_mutex_lock(&j->mu);
	j->wake_posted = 0;
	size_t ready = j->batch.len - j->sent;
	pthread_mutex_unlock(&j->mu);
	if (ready < IDS_PART_MAX && !(keepalive && ids->part > 0))
		return;
	if (send_part(ids) < 0)
		sync_failed(ids, PL_STATUS_ERROR, "cannot send the batch to plsc-directory");
}

/* Posted by the worker: a part's worth waits. */
static void part_ready(pl_loop_t *loop, void *arg)
{
	(void)loop;
	pump(arg, 0);
}

static void keepalive_tick(pl_loop_t *loop, void *arg)
{
	ids_t *ids = arg;
	ids->keepalive = NULL;
	if (!ids->job || !ids->reading)
		return;
	pump(ids, 1);
	ids->keepalive = pl_loop_timer(loop, IDS_KEEPALIVE_MS, keepalive_tick, ids);
}

/* The sync cannot be applied: said at once when the worker is done,
 * else when it is (it is asked to stop; the job is its until then). A
 * part plsc-directory refused ended the batch there; otherwise the
 * parts sent are rolled back by an abort part (sync_done). */
static void sync_failed(ids_t *ids, uint32_t status, const char *msg)
{
	if (!ids->reading) {
		finish(ids, status, msg, NULL);
		return;
	}
	if (!ids->fail_status) {
		ids->fail_status = status ? status : PL_STATUS_ERROR;
		pl_strlcpy(ids->fail_msg, msg, sizeof(ids->fail_msg));
	}
	__atomic_store_n(&ids->job->stop, 1, __ATOMIC_RELEASE);
}

static int send_abort(ids_t *ids, const char *why)
{
	json_t *a = json_pack("{s:s}", "abort", why);
	char *s = a ? json_dumps(a, JSON_COMPACT) : NULL;
	json_decref(a);
	int rc = s ? send_msg(ids, s, strlen(s), 0) : -1;
	free(s);
	if (rc == 0)
		ids->aborting = 1;
	return rc;
}

static void on_answer(ids_t *ids, const pl_frame_t *f)
{
	uint32_t status = PL_STATUS_ERROR;
	char msg[512] = "";
	pl_field_t fl;
	pl_loop_timer_cancel(pl_service_loop(ids->svc), ids->answer_timer);
	ids->answer_timer = NULL;
	ids->seq = 0;
	(void)pl_frame_get_u32(f, PL_TAG_STATUS, &status);
	(void)pl_frame_get_str(f, PL_TAG_MESSAGE, msg, sizeof(msg));
	if (ids->aborting) {
		/* the abort's answer: the sync's own error is what to report */
		finish(ids, PL_STATUS_ERROR, ids->job->err, NULL);
		return;
	}
	if (ids->abort_due) {
		ids->abort_due = 0;
		if (status != PL_STATUS_OK || send_abort(ids, ids->job->err) < 0)
			finish(ids, PL_STATUS_ERROR, ids->job->err, NULL);
		return;
	}
	if (status != PL_STATUS_OK) {
		ids->part = 0; /* plsc-directory dropped the batch: nothing to abort */
		sync_failed(ids, status, msg[0] ? msg : "plsc-directory refused the batch");
		return;
	}
	if (ids->reading) {
		pump(ids, 0);
		return;
	}
	/* the last part, possibly empty: the parts sent while reading all
	 * said MORE, even when the reading then added nothing */
	if (!ids->final_sent) {
		if (send_part(ids) < 0)
			finish(ids, PL_STATUS_ERROR, "cannot send the batch to plsc-directory", NULL);
		return;
	}
	json_t *counts = pl_frame_find(f, PL_TAG_PAYLOAD, &fl) == 1
				 ? json_loadb((const char *)fl.val, fl.len, 0, NULL)
				 : NULL;
	finish(ids, PL_STATUS_OK, NULL, json_is_object(counts) ? counts : NULL);
	json_decref(counts);
}

/* ---- running a sync ---- */

/* The worker is done with the job. */
static void sync_done(ids_t *ids)
{
	ids_job_t *j = ids->job;
	ids->reading = 0;
	if (ids->fail_status) {
		/* the reason, not the worker's "stopped" */
		j->failed = 1;
		pl_strlcpy(j->err, ids->fail_msg, sizeof(j->err));
	}
	if (ids->fail_status && !ids->part) {
		finish(ids, ids->fail_status, ids->fail_msg, NULL);
	} else if (j->failed && ids->part) {
		/* parts went: plsc-directory rolls them back at this one */
		if (!ids->seq && send_abort(ids, j->err) < 0)
			finish(ids, PL_STATUS_ERROR, j->err, NULL);
		else if (ids->seq)
			ids->abort_due = 1; /* when the part in flight is answered */
	} else if (j->failed) {
		finish(ids, PL_STATUS_ERROR, j->err, NULL);
	} else if (j->dry_run || (j->batch.len == 0 && !ids->part)) {
		finish(ids, PL_STATUS_OK, NULL, NULL);
	} else if (!ids->seq && send_part(ids) < 0) {
		finish(ids, PL_STATUS_ERROR, "cannot send the batch to plsc-directory", NULL);
	}
}

typedef struct {
	ids_t *ids;
	ids_job_t *job;
} ids_task_t;

static void task_work(void *arg)
{
	ids_pull_run(((ids_task_t *)arg)->job);
}

static void task_done(void *arg)
{
	ids_task_t *t = arg;
	sync_done(t->ids);
	free(t);
}

static int start_sync(ids_t *ids, int full, int dry_run)
{
	ids_job_t *j = calloc(1, sizeof(*j));
	ids_task_t *t = calloc(1, sizeof(*t));
	if (!j || !t) {
		free(j);
		free(t);
		return -1;
	}
	j->conf = ids->conf;
	j->dir = ids->dir;
	j->wd = ids->wd;
	/* syncrepl and nothing else: no cookie yet, a full sync takes them */
	j->full = full || !ids->hwm[0] ||
		  (ids->conf.inc_mode == IDS_INC_SYNCREPL && !ids->cookies.n);
	j->dry_run = dry_run;
	pl_strlcpy(j->hwm_in, ids->hwm, sizeof(j->hwm_in));
	j->cookies = ids->cookies;
	pthread_mutex_init(&j->mu, NULL);
	j->loop = pl_service_loop(ids->svc);
	if (!dry_run) { /* a dry run sends nothing */
		j->ready = part_ready;
		j->ready_arg = ids;
	}
	*t = (ids_task_t){ ids, j };
	ids->job = j;
	sending_reset(ids);
	ids->reading = 1;
	if (pl_work_submit(ids->work, task_work, task_done, t) < 0) {
		ids->job = NULL;
		ids->reading = 0;
		free(t);
		ids_job_free(j);
		return -1;
	}
	if (!dry_run)
		ids->keepalive = pl_loop_timer(j->loop, IDS_KEEPALIVE_MS, keepalive_tick, ids);
	return 0;
}

static void on_tick(pl_loop_t *loop, void *arg)
{
	ids_t *ids = arg;
	(void)loop;
	ids->tick = NULL;
	if (ids->job)
		return; /* the running sync schedules the next */
	uint64_t now = pl_now_ms();
	int full = !ids->last_full_ms ||
		   now - ids->last_full_ms >= (uint64_t)ids->conf.full_minutes * 60000u;
	if (start_sync(ids, full, 0) < 0) {
		pl_err("out of memory: sync skipped");
		schedule(ids);
	}
}

static void schedule(ids_t *ids)
{
	pl_loop_t *loop = pl_service_loop(ids->svc);
	if (ids->tick)
		pl_loop_timer_cancel(loop, ids->tick);
	ids->tick = pl_loop_timer(loop, (uint64_t)ids->conf.incremental_s * 1000u, on_tick, ids);
}

static void on_sync_now(ids_t *ids, const pl_frame_t *f)
{
	uint8_t dry = 0;
	pl_field_t fl;
	if (pl_frame_find(f, PL_TAG_DRY_RUN, &fl) == 1 && pl_field_u8(&fl, &dry) < 0)
		dry = 0;
	if (!ids->conf.ldap) {
		ids->asked = 1;
		ids->asker_seq = f->seq;
		answer_asker(ids, PL_STATUS_BADREQ, "no LDAP server is configured (uri); SCIM "
			     "changes apply as the identity provider sends them", NULL);
		return;
	}
	if (ids->job) {
		ids->asked = 1;
		ids->asker_seq = f->seq;
		answer_asker(ids, PL_STATUS_BUSY, "a sync is running; try again when it is done",
			     NULL);
		return;
	}
	if (start_sync(ids, 1, dry) < 0) {
		ids->asked = 1;
		ids->asker_seq = f->seq;
		answer_asker(ids, PL_STATUS_BUSY, "out of memory", NULL);
		return;
	}
	ids->asked = 1;
	ids->asker_seq = f->seq;
}

static void ids_message(pl_service_t *svc, const pl_frame_t *f, void *ctx)
{
	ids_t *ids = ctx;
	(void)svc;
	if (f->fd >= 0)
		close(f->fd);
	if (f->type == PL_MSG_SYNC_NOW && !(f->flags & PL_FLAG_REPLY))
		on_sync_now(ids, f);
	else if (f->type == PL_MSG_RESULT && (f->seq & SCIM_SEQ_BIT) && ids->scim)
		(void)scim_on_answer(ids->scim, f);
	else if (f->type == PL_MSG_RESULT && (f->flags & PL_FLAG_REPLY) && ids->job &&
		 ids->seq && f->seq == ids->seq)
		on_answer(ids, f);
	else
		pl_debug("ignored %s", pl_msg_type_name(f->type));
}

/* ---- the service ---- */

static int ids_settings(ids_t *ids, const pl_cnode_t *cfg)
{
	pl_err_t err = { "" };
	if (ids_conf_parse(cfg, pl_service_state_dir(ids->svc), &ids->conf, &err) < 0) {
		pl_err("%s", err.msg);
		return PL_EXIT_CONFIG;
	}
	return 0;
}

static int ids_sandbox(pl_service_t *svc, const pl_cnode_t *cfg, pl_sandbox_t *sb, void *ctx)
{
	ids_t *ids = ctx;
	pl_err_t err = { "" };
	ids->svc = svc;
	int rc = ids_settings(ids, cfg);
	if (rc)
		return rc;
	const char *ro[] = { ids->conf.ldap ? ids->conf.ca_file : "", ids->conf.scim_cert,
			     ids->conf.scim_key };
	if (pl_dir_sandbox(sb, ids->conf.directory_path, PL_DIR_READ_CREATE, &err) < 0) {
		pl_err("sandbox: %s", err.msg);
		return 1;
	}
	for (size_t i = 0; i < PL_ARRAY_LEN(ro); i++)
		if (ro[i][0] && pl_sandbox_allow(sb, ro[i], PL_SANDBOX_RO) < 0) {
			pl_err("sandbox: %s", ro[i]);
			return 1;
		}
	return 0;
}

/* SCIM's certificate: the administrator's (full chain, key 0600), or a
 * self-signed one made on first start in the state dir; OpenSSL checks
 * the pair, libmicrohttpd takes the PEM text (as the console). */
static int scim_tls(ids_t *ids, char **cert_pem, char **key_pem, pl_err_t *err)
{
	const ids_conf_t *c = &ids->conf;
	const char *dir = pl_service_state_dir(ids->svc);
	char fp[128], cpath[PATH_MAX], kpath[PATH_MAX];
	SSL_CTX *ctx = pl_tls_server_ctx(c->scim_cert[0] ? c->scim_cert : NULL,
					 c->scim_key[0] ? c->scim_key : NULL, dir, IDS_NAME, err);
	if (!ctx)
		return -1;
	if (pl_tls_fingerprint(ctx, fp, sizeof(fp)) == 0)
		pl_info("SCIM TLS certificate %s, SHA-256 %s",
			c->scim_cert[0] ? c->scim_cert : "self-signed (tls-cert.pem in the state dir)",
			fp);
	SSL_CTX_free(ctx);
	if ((c->scim_cert[0] ? pl_fmt(cpath, sizeof(cpath), "%s", c->scim_cert)
			     : pl_fmt(cpath, sizeof(cpath), "%s/tls-cert.pem", dir)) < 0 ||
	    (c->scim_key[0] ? pl_fmt(kpath, sizeof(kpath), "%s", c->scim_key)
			    : pl_fmt(kpath, sizeof(kpath), "%s/tls-key.pem", dir)) < 0)
		return -1;
	*cert_pem = pl_read_file(cpath, 1u << 20, NULL);
	*key_pem = pl_read_file(kpath, 1u << 20, NULL);
	if (!*cert_pem || !*key_pem) {
		(void)pl_fmt(err->msg, sizeof(err->msg), "cannot read %s or %s", cpath, kpath);
		return -1;
	}
	return 0;
}

static int scim_begin(ids_t *ids, pl_err_t *err)
{
	const ids_conf_t *c = &ids->conf;
	char *cert = NULL, *key = NULL;
	scim_rules_t rules = { "", c->scim_badge_dec, c->lowercase };
	int fd = pl_service_listen_fd(ids->svc, "scim"), rc = -1;
	pl_strlcpy(rules.badge_path, c->scim_badge_attr, sizeof(rules.badge_path));
	if (fd < 0)
		(void)pl_fmt(err->msg, sizeof(err->msg), "no listening socket \"scim\" (listen)");
	else if (scim_tls(ids, &cert, &key, err) == 0 &&
		 (ids->scim = scim_start(ids->svc, &rules, ids->dir, c->state_dir, fd, cert, key,
					 (uint32_t)c->scim_max_conn, (uint32_t)c->scim_max_per_addr,
					 (uint32_t)c->scim_timeout_s, err)))
		rc = 0;
	if (key)
		OPENSSL_cleanse(key, strlen(key));
	free(cert);
	free(key);
	if (rc == 0)
		pl_info("SCIM 2.0 served under /scim/v2; badge attribute %s (%s)",
			c->scim_badge_attr[0] ? c->scim_badge_attr : "none",
			c->scim_badge_dec ? "dec" : "hex");
	return rc;
}

static int ids_start(pl_service_t *svc, const pl_cnode_t *cfg, void *ctx)
{
	ids_t *ids = ctx;
	pl_err_t err = { "" };
	ids->svc = svc;
	int rc = ids_settings(ids, cfg);
	if (rc)
		return rc;
	if (pl_dir_open(&ids->dir, ids->conf.directory_path, PL_DIR_READ_CREATE, &err) < 0) {
		pl_err("directory: %s", err.msg);
		return 1;
	}
	if (ids->conf.scim && scim_begin(ids, &err) < 0) {
		pl_err("SCIM: %s", err.msg);
		return 1;
	}
	ids->status_timer = pl_loop_timer(pl_service_loop(svc), 2000, status_tick, ids);
	if (!ids->conf.ldap) {
		report_status(ids);
		return 0;
	}
	/* The search kicks it at every entry; a page may take up to the
	 * operation timeout, and connecting the network timeout. */
	uint32_t silence = (uint32_t)(ids->conf.op_timeout_s + ids->conf.net_timeout_s + 30) *
			   1000u;
	ids->work = pl_work_new(pl_service_loop(svc), "ids-ldap", 1, 0);
	ids->wd = pl_service_watchdog(svc, "ldap", silence);
	if (!ids->work || !ids->wd) {
		pl_err("out of memory");
		return 1;
	}
	pl_watchdog_park(ids->wd);
	state_load(ids);
	pl_info("syncing users from %s (bind as %s), a full sync every %lld min, incremental "
		"every %lld s", ids->conf.uri, ids->conf.bind_dn, ids->conf.full_minutes,
		ids->conf.incremental_s);
	report_status(ids);
	/* the first sync at once: full */
	if (start_sync(ids, 1, 0) < 0)
		schedule(ids);
	return 0;
}

static void ids_stop(pl_service_t *svc, void *ctx)
{
	ids_t *ids = ctx;
	if (ids->tick)
		pl_loop_timer_cancel(pl_service_loop(svc), ids->tick);
	if (ids->answer_timer)
		pl_loop_timer_cancel(pl_service_loop(svc), ids->answer_timer);
	if (ids->keepalive)
		pl_loop_timer_cancel(pl_service_loop(svc), ids->keepalive);
	ids->keepalive = NULL;
	if (ids->status_timer)
		pl_loop_timer_cancel(pl_service_loop(svc), ids->status_timer);
	ids->tick = ids->answer_timer = ids->status_timer = NULL;
	scim_stop(ids->scim);
	ids->scim = NULL;
	if (ids->work)
		pl_work_free(ids->work); /* a running sync finishes (bounded by timeouts) */
	if (ids->job) {
		ids_job_free(ids->job);
		ids->job = NULL;
	}
	pl_dir_close(ids->dir);
}

/* PrinterLogicServiceIdentitySync set-password STATE_DIR: the bind
 * password from standard input (one line), encrypted into STATE_DIR. */
static int set_password(int argc, char **argv)
{
	char pw[IDS_PASSWORD_MAX + 2];
	pl_err_t err = { "" };
	if (argc != 3) {
		fprintf(stderr, "usage: %s set-password STATE_DIR < password\n", argv[0]);
		return 2;
	}
	if (!fgets(pw, sizeof(pw), stdin)) {
		fprintf(stderr, "set-password: no password on standard input\n");
		return 1;
	}
	pw[strcspn(pw, "\r\n")] = '\0';
	int rc = ids_secret_store(argv[2], pw, &err);
	OPENSSL_cleanse(pw, sizeof(pw));
	if (rc < 0) {
		fprintf(stderr, "set-password: %s\n", err.msg);
		return 1;
	}
	printf("bind password stored encrypted in %s/%s\n", argv[2], IDS_SECRET_FILE);
	return 0;
}

/* PrinterLogicServiceIdentitySync scim-token STATE_DIR: a new bearer
 * token for the IdP, printed once; only its SHA-256 is kept (0600), and
 * it replaces the previous token at once. */
static int scim_token(int argc, char **argv)
{
	char tok[80];
	pl_err_t err = { "" };
	if (argc != 3) {
		fprintf(stderr, "usage: %s scim-token STATE_DIR\n", argv[0]);
		return 2;
	}
	if (scim_token_create(argv[2], tok, sizeof(tok), &err) < 0) {
		fprintf(stderr, "scim-token: %s\n", err.msg);
		return 1;
	}
	printf("%s\n", tok);
	fprintf(stderr, "the SCIM bearer token above is shown once: give it to the identity "
		"provider now (its SHA-256 is in %s/%s; it replaces any previous token)\n",
		argv[2], SCIM_TOKEN_FILE);
	OPENSSL_cleanse(tok, sizeof(tok));
	return 0;
}

int main(int argc, char **argv)
{
	static const pl_service_def_t def = {
		.name = IDS_NAME,
		.summary = "Keeps the directory's users, badges and e-mail addresses in\n"
			   "step with an LDAP server or Active Directory, and serves SCIM 2.0\n"
			   "for identity providers that push (Entra ID, Okta).",
		.schema = &pl_schema_identitysync,
		.help = "The bind password: PrinterLogicServiceIdentitySync set-password STATE_DIR\n"
			"(reads it from standard input). The SCIM bearer token:\n"
			"PrinterLogicServiceIdentitySync scim-token STATE_DIR (printed once).\n"
			"See PrinterLogicServiceIdentitySync(8).\n",
		.start = ids_start,
		.message = ids_message,
		.stop = ids_stop,
		.sandbox = ids_sandbox,
	};
	static ids_t ids;
	if (argc >= 2 && strcmp(argv[1], "set-password") == 0)
		return set_password(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "scim-token") == 0)
		return scim_token(argc, argv);
	return pl_service_main(argc, argv, &def, &ids);
}
