/* The IPP job table and the held-job store. IPP job ids go on across
 * restarts (jobids.c). The table (job_table slots) keeps the full IPP
 * state of the jobs in flight (being received or converted) and of the
 * newest finished or held ones; the held job itself is in the service's
 * pl_jobstore, where lib/holder lists, releases and expires it like any
 * other, sealed with the key AP_ID_KEY + its IPP id. So the table does not
 * bound how many jobs are held (the holder's quotas and expiry do): a new
 * job takes the slot of the oldest held one when it must, and that one is
 * answered from the store by its key (ap_job_from_store). A job the
 * holder released or shredded is shown completed while it is in the
 * table, and is not found once it is out of it. */
#include "ap.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pl_docinfo.h"
#include "pl_log.h"
#include "pl_util.h"

/* Which slot a new job may take, lower first: a free one, a finished
 * job's, a held job's (it stays in the store), a Create-Job whose
 * document never came within a connection's whole life (abandoned); a
 * job being received or converted never. Ties: the oldest, and among
 * those of one second the lowest id (ids grow with creation, across
 * restarts too): with seconds alone, jobs made in the same second as
 * the newest would go on taking each other's slot and keep the old ones
 * in the table for ever. */
static int slot_rank(const ap_job_t *j, int64_t now)
{
	if (!j->id)
		return 0;
	if (j->state >= IPP_JSTATE_CANCELED)
		return 1;
	if (j->state == IPP_JSTATE_HELD && j->store_id[0])
		return 2;
	if (j->awaiting_doc && now - j->created_s > (int64_t)(AP_CONN_MAX_MS / 1000))
		return 3;
	return -1;
}

static int64_t slot_age(const ap_job_t *j)
{
	return j->state >= IPP_JSTATE_CANCELED ? j->completed_s : j->created_s;
}

static int slot_older(const ap_job_t *a, const ap_job_t *b)
{
	int64_t x = slot_age(a), y = slot_age(b);
	return x < y || (x == y && a->id < b->id);
}

uint32_t ap_user_inflight_cap(const ap_t *ap)
{
	uint32_t half = ap->job_table / 2;
	uint32_t cap = ap->user_inflight_max < half ? ap->user_inflight_max : half;
	return cap ? cap : 1;
}

ap_job_t *ap_job_new(ap_t *ap, const char *owner, const char *name, const char **why)
{
	*why = "too many jobs being received at once; try again later";
	ap_job_t *slot = NULL;
	int best = -1;
	uint32_t mine = 0, cap = ap_user_inflight_cap(ap);
	int64_t now = time(NULL);
	/* one pass: the slot, and the owner's jobs in flight (a rank below 0:
	 * being received or converted, or a Create-Job still waiting for its
	 * document); every slot is looked at, a free one does not end it */
	for (uint32_t i = 0; i < ap->job_table; i++) {
		ap_job_t *j = &ap->jobs[i];
		int rank = slot_rank(j, now);
		if (rank < 0) {
			mine += strcmp(j->owner, owner) == 0;
			continue;
		}
		if (!slot || rank < best || (rank == best && slot_older(j, slot))) {
			slot = j;
			best = rank;
		}
	}
	if (mine >= cap) {
		/* one user's Create-Jobs that never send a document would
		 * otherwise hold every slot for AP_CONN_MAX_MS */
		pl_warn("a new job of %s refused: %u jobs of theirs in flight "
			"(max_user_jobs_in_flight %u)", owner, mine, cap);
		*why = "you have too many jobs being sent or waiting for their document "
		       "(max_user_jobs_in_flight); send or cancel one, or try again later";
		return NULL;
	}
	if (!slot)
		return NULL;
	int id = ap_jobids_next(ap);
	if (id < 0) {
		*why = "job ids cannot be recorded on this server's disk; try again later";
		return NULL;
	}
	if (best == 3)
		pl_info("job %d of %s: no document came; its slot goes to a new job", slot->id,
			slot->owner);
	memset(slot, 0, sizeof(*slot));
	slot->id = id;
	(void)pl_fmt(slot->owner, sizeof(slot->owner), "%s", owner);
	(void)pl_fmt(slot->name, sizeof(slot->name), "%s", name && *name ? name : "Untitled");
	slot->state = IPP_JSTATE_PENDING;
	slot->created_s = time(NULL);
	slot->copies = 1;
	return slot;
}

static void opt_add(char *buf, size_t sz, const char *name, const char *value)
{
	size_t n = strlen(buf);
	if (value[0])
		(void)pl_fmt(buf + n, sz - n, "%s%s=%s", n ? " " : "", name, value);
}

void ap_job_options(const ap_job_t *j, char *buf, size_t sz)
{
	/* only values ipp.c checked against our supported lists: keywords,
	 * no spaces or quotes, so the printer side can parse them back */
	char copies[16] = "";
	if (j->copies > 1)
		(void)pl_fmt(copies, sizeof(copies), "%d", j->copies);
	buf[0] = '\0';
	opt_add(buf, sz, "copies", copies);
	opt_add(buf, sz, "sides", j->sides);
	opt_add(buf, sz, "print-color-mode", j->color);
	opt_add(buf, sz, "media", j->media);
}

static int by_created(const void *a, const void *b)
{
	const pl_job_meta_t *x = a, *y = b;
	return x->created_ms < y->created_ms ? -1 : x->created_ms > y->created_ms;
}

/* The IPP id in a held job's key, or 0 when it is not one of ours. */
int ap_job_key_id(const pl_job_meta_t *m)
{
	char *end;
	if (strncmp(m->idem_key, AP_ID_KEY, strlen(AP_ID_KEY)) != 0)
		return 0;
	long id = strtol(m->idem_key + strlen(AP_ID_KEY), &end, 10);
	return *end || id <= 0 || id > AP_ID_MAX ? 0 : (int)id;
}

void ap_job_from_meta(ap_job_t *j, int id, const pl_job_meta_t *m)
{
	memset(j, 0, sizeof(*j));
	j->id = id;
	(void)pl_fmt(j->store_id, sizeof(j->store_id), "%s", m->id);
	(void)pl_fmt(j->owner, sizeof(j->owner), "%s", m->owner);
	(void)pl_fmt(j->name, sizeof(j->name), "%s", m->title);
	(void)pl_fmt(j->format, sizeof(j->format), "%s", m->format);
	j->pages = m->pages;
	j->created_s = m->created_ms / 1000;
	j->state = IPP_JSTATE_HELD;
	/* copies 0: the options are sealed in the job file, not listed */
}

int ap_job_from_store(ap_t *ap, int id, const char *owner, ap_job_t *out)
{
	char key[PL_JOB_KEY_MAX + 1], sid[PL_JOB_ID_LEN + 1];
	pl_job_meta_t m;
	if (id <= 0 || !owner[0])
		return 0;
	(void)pl_fmt(key, sizeof(key), AP_ID_KEY "%d", id);
	/* the key index is the store's (owner, workstation, key): one look-up,
	 * however many jobs are held */
	if (pl_jobstore_find_key(ap->store, owner, "airprint", key, sid) != 1 ||
	    pl_jobstore_get(ap->store, sid, &m) != PL_JS_OK || ap_job_key_id(&m) != id)
		return 0;
	ap_job_from_meta(out, id, &m);
	return 1;
}

void ap_jobs_restore(ap_t *ap)
{
	pl_job_meta_t *jobs = NULL;
	size_t n = 0, kept = 0;
	if (pl_jobstore_list(ap->store, NULL, &jobs, &n) != PL_JS_OK || n == 0) {
		free(jobs);
		return;
	}
	qsort(jobs, n, sizeof(*jobs), by_created);
	/* the newest job_table; the older ones are answered from the store */
	for (size_t i = n > ap->job_table ? n - ap->job_table : 0; i < n; i++) {
		const pl_job_meta_t *m = &jobs[i];
		int id = ap_job_key_id(m);
		if (!id || ap_job_find(ap, id))
			continue;
		ap_job_from_meta(&ap->jobs[kept++], id, m);
		if (id > ap->next_job_id)
			ap->next_job_id = id; /* were job-ids lost: still past them */
	}
	/* ids past the held jobs' too, those not in the table included */
	for (size_t i = 0; i < n; i++) {
		int id = ap_job_key_id(&jobs[i]);
		if (id > ap->next_job_id)
			ap->next_job_id = id;
	}
	free(jobs);
	if (kept)
		pl_info("%zu held jobs keep their IPP job ids (%zu held in all)", kept, n);
}

ap_job_t *ap_job_find(ap_t *ap, int id)
{
	for (uint32_t i = 0; i < ap->job_table; i++)
		if (id > 0 && ap->jobs[i].id == id)
			return &ap->jobs[i];
	return NULL;
}

void ap_job_refresh(ap_t *ap, ap_job_t *j)
{
	pl_job_meta_t m;
	if (j->state != IPP_JSTATE_HELD || !j->store_id[0])
		return;
	if (pl_jobstore_get(ap->store, j->store_id, &m) == PL_JS_ENOENT) {
		/* released (or expired): it left the store */
		j->state = IPP_JSTATE_COMPLETED;
		j->completed_s = time(NULL);
	}
}

/* A job event, made on a worker, sent from the loop thread (the holder
 * is the loop's). */
typedef struct {
	ap_t *ap;
	char event[16];
	pl_job_meta_t m;
} ap_event_t;

static void post_event(pl_loop_t *loop, void *arg)
{
	ap_event_t *e = arg;
	(void)loop;
	pl_holder_event(e->ap->holder, e->event, &e->m, NULL);
	free(e);
}

static void send_event(ap_t *ap, const char *event, const pl_job_meta_t *m)
{
	ap_event_t *e = malloc(sizeof(*e));
	if (!e)
		return;
	e->ap = ap;
	(void)pl_fmt(e->event, sizeof(e->event), "%s", event);
	e->m = *m;
	if (pl_loop_post(ap->loop, post_event, e) < 0)
		free(e);
}

static ipp_status_t store_status(int rc)
{
	switch (rc) {
	case PL_JS_EQUOTA:
		return IPP_STATUS_ERROR_NOT_POSSIBLE;
	case PL_JS_ENOSPACE:
		return IPP_STATUS_ERROR_BUSY;
	default:
		return IPP_STATUS_ERROR_INTERNAL;
	}
}

ipp_status_t ap_job_store(ap_t *ap, int id, const uint8_t *doc, size_t len, const char *format,
			  char *msg, size_t msz)
{
	pl_job_meta_t m, out;
	pl_jobw_t *w = NULL;
	pl_err_t err;
	pl_docinfo_result_t info = { 0 };

	pl_docinfo_t *di = malloc(sizeof(*di));
	if (!di) {
		(void)pl_fmt(msg, msz, "out of memory");
		return IPP_STATUS_ERROR_INTERNAL;
	}
	pl_docinfo_init(di);
	pl_docinfo_feed(di, doc, len);
	pl_docinfo_result(di, &info);
	free(di);

	memset(&m, 0, sizeof(m));
	char opts[PL_JOB_OPTS_MAX + 1] = "";
	pthread_mutex_lock(&ap->jobs_lock);
	ap_job_t *j = ap_job_find(ap, id);
	if (j) {
		(void)pl_fmt(m.owner, sizeof(m.owner), "%s", j->owner);
		(void)pl_fmt(m.title, sizeof(m.title), "%s", j->name);
		ap_job_options(j, opts, sizeof(opts));
	}
	pthread_mutex_unlock(&ap->jobs_lock);
	if (!j) {
		(void)pl_fmt(msg, msz, "the job is gone");
		return IPP_STATUS_ERROR_NOT_FOUND;
	}
	(void)pl_fmt(m.workstation, sizeof(m.workstation), "airprint");
	(void)pl_fmt(m.format, sizeof(m.format), "%s", format);
	(void)pl_fmt(m.source, sizeof(m.source), AP_SOURCE);
	/* the IPP job id goes with the held job, so that a restart can show
	 * the job under the id the phone knows (ap_jobs_restore) */
	(void)pl_fmt(m.idem_key, sizeof(m.idem_key), AP_ID_KEY "%d", id);
	m.size = len;
	int rc = pl_jobstore_begin(ap->store, &m, &w, &err);
	if (rc == 0) {
		(void)pl_jobw_describe(w, NULL, info.pages, info.page_size, &err);
		rc = pl_jobw_options(w, opts, &err);
		if (rc == 0)
			rc = pl_jobw_write(w, doc, len, &err);
		if (rc == 0)
			rc = pl_jobw_commit(w, NULL, 1, &out, &err);
		else
			pl_jobw_abort(w);
	}
	if (rc != 0) {
		pl_err("job %d of %s not held: %s", id, m.owner, err.msg);
		(void)pl_fmt(msg, msz, "not held: %s", err.msg);
		pthread_mutex_lock(&ap->jobs_lock);
		if ((j = ap_job_find(ap, id)) != NULL) {
			j->state = IPP_JSTATE_ABORTED;
			j->completed_s = time(NULL);
		}
		pthread_mutex_unlock(&ap->jobs_lock);
		return store_status(rc);
	}
	pthread_mutex_lock(&ap->jobs_lock);
	if ((j = ap_job_find(ap, id)) != NULL) {
		(void)pl_fmt(j->store_id, sizeof(j->store_id), "%s", out.id);
		(void)pl_fmt(j->format, sizeof(j->format), "%s", format);
		j->pages = out.pages;
		j->state = IPP_JSTATE_HELD;
		j->awaiting_doc = 0;
	}
	pthread_mutex_unlock(&ap->jobs_lock);
	__atomic_add_fetch(&ap->held, 1, __ATOMIC_RELAXED);
	pl_info("held job %d (%s) of %s: %zu bytes, %u pages", id, out.id, out.owner, len,
		out.pages);
	send_event(ap, "held", &out);
	return IPP_STATUS_OK;
}

ipp_status_t ap_job_cancel(ap_t *ap, int id, const char *user, char *msg, size_t msz)
{
	char sid[PL_JOB_ID_LEN + 1] = "";
	pl_err_t err;
	pl_job_meta_t m;

	ap_job_t old;
	pthread_mutex_lock(&ap->jobs_lock);
	ap_job_t *j = ap_job_find(ap, id);
	if (j)
		ap_job_refresh(ap, j);
	else if (ap_job_from_store(ap, id, user, &old))
		j = &old; /* held, out of the table: the owner's (by the key) */
	ipp_status_t st = IPP_STATUS_OK;
	if (!j || strcmp(j->owner, user) != 0) {
		/* another user's job answers as one that does not exist, in the
		 * table or out of it: no one learns which ids are in use */
		(void)pl_fmt(msg, msz, "no job %d of yours", id);
		st = IPP_STATUS_ERROR_NOT_FOUND;
	} else if (j->state >= IPP_JSTATE_CANCELED) {
		(void)pl_fmt(msg, msz, "job %d is already %s", id,
			     j->state == IPP_JSTATE_CANCELED ? "canceled" : "finished");
		st = IPP_STATUS_ERROR_NOT_POSSIBLE;
	} else {
		(void)pl_fmt(sid, sizeof(sid), "%s", j->store_id);
		j->state = IPP_JSTATE_CANCELED;
		j->completed_s = time(NULL);
	}
	pthread_mutex_unlock(&ap->jobs_lock);
	if (st != IPP_STATUS_OK || !sid[0])
		return st;
	int have = pl_jobstore_get(ap->store, sid, &m) == PL_JS_OK;
	int rc = pl_jobstore_delete(ap->store, sid, &err);
	if (rc == PL_JS_OK && have)
		send_event(ap, "deleted", &m);
	else if (rc != PL_JS_ENOENT)
		pl_warn("cancel job %d (%s): %s", id, sid, err.msg);
	return IPP_STATUS_OK;
}
