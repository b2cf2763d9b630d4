/* One router connection's job stream (proto/PROTOCOL.md §12): the oldest
 * stored job not on its way elsewhere goes as SUBMIT_BEGIN, SUBMIT_DATA
 * (read from the encrypted store, verified as it is read), SUBMIT_END;
 * then nothing more until the router's RESULT for it. The outcome is
 * recorded durably, and only then is the job shredded: a crash between
 * the two sends it again, which the router answers "already printed". A
 * connection that drops leaves the job stored for the next one. (A held
 * job's later JOB_EVENTs are gw-server.c's and gw_event_record's.) */
#include "gw.h"

#include <stdlib.h>
#include <string.h>

#include "pl_log.h"
#include "pl_util.h"

void gw_push_abort(gw_push_t *p)
{
	int body = p->body; /* the connection's, not the job's */
	if (p->r)
		pl_jobr_close(p->r);
	memset(p, 0, sizeof(*p));
	p->body = body;
}

/* The oldest job stored, not busy and not past its expiry (gw-expire.c
 * shreds it): 1 with its metadata, else 0. One pass under the store's
 * lock that keeps the oldest eligible job, not a copy of the whole
 * listing per pick (~1 KiB a job: 94 MB and a sort with 100,000 stored,
 * on the loop, for every job pushed). */
typedef struct {
	gw_t *gw;
	gw_busy_fn busy;
	void *arg;
	int64_t now;
} pick_t;

static int pick_keep(const pl_job_meta_t *m, void *arg)
{
	const pick_t *k = arg;
	return !k->busy(k->arg, m->id) && !gw_expire_due(k->gw, m, k->now);
}

static int pick(gw_t *gw, pl_job_meta_t *out, gw_busy_fn busy, void *arg)
{
	pick_t k = { .gw = gw, .busy = busy, .arg = arg, .now = pl_log_now_ms() };
	pl_jobstore_page_t q = { .limit = 1, .keep = pick_keep, .keep_arg = &k };
	pl_jobstore_page_info_t info;
	pl_job_meta_t *jobs = NULL;
	size_t n = 0;
	if (pl_jobstore_list_page(gw->store, &q, &jobs, &n, &info) != PL_JS_OK || n == 0) {
		free(jobs);
		return 0;
	}
	*out = jobs[0];
	free(jobs);
	return 1;
}

static long finish(pl_msg_t *m, uint8_t *buf, size_t cap)
{
	long len = -1;
	if (pl_msg_finish(m) == 0 && m->len <= cap) {
		memcpy(buf, m->buf, m->len);
		len = (long)m->len;
	}
	pl_msg_free(m);
	return len;
}

static long msg_begin(gw_push_t *p, uint8_t *buf, size_t cap)
{
	pl_msg_t m;
	if (pl_msg_init(&m, PL_MSG_SUBMIT_BEGIN, 0, 0) < 0)
		return -1;
	m.max = ON_MSG_MAX;
	pl_msg_add_str(&m, PL_TAG_JOB_ID, p->meta.id);
	pl_msg_add_str(&m, PL_TAG_PRINTER, p->meta.printer);
	pl_msg_add_u64(&m, PL_TAG_SIZE, p->meta.size);
	pl_msg_add(&m, PL_TAG_SHA256, p->meta.sha256, sizeof(p->meta.sha256));
	pl_msg_add_str(&m, PL_TAG_USER, p->meta.owner);
	if (p->meta.title[0])
		pl_msg_add_str(&m, PL_TAG_TITLE, p->meta.title);
	if (p->meta.format[0])
		pl_msg_add_str(&m, PL_TAG_FORMAT, p->meta.format);
	if (strcmp(p->meta.source, GW_SOURCE_HOLD) == 0)
		pl_msg_add_u8(&m, PL_TAG_OFFNET_HOLD, 1);
	if (p->body)
		pl_msg_add_u8(&m, PL_TAG_OFFNET_BODY, 1);
	return finish(&m, buf, cap);
}

static long msg_data(gw_t *gw, gw_push_t *p, uint8_t *buf, size_t cap)
{
	static uint8_t chunk[ON_DATA_MAX]; /* loop thread only */
	pl_err_t err;
	pl_msg_t m;
	size_t want = sizeof(chunk);
	if (p->meta.size - p->sent < want)
		want = (size_t)(p->meta.size - p->sent);
	ssize_t n = pl_jobr_read(p->r, chunk, want, &err);
	if (n <= 0) {
		gw_error(gw, "job %s: cannot read it from the store: %s", p->meta.id,
			 n < 0 ? err.msg : "shorter than its size");
		return -1;
	}
	if (pl_msg_init(&m, PL_MSG_SUBMIT_DATA, 0, 0) < 0)
		return -1;
	m.max = ON_MSG_MAX;
	pl_msg_add(&m, PL_TAG_PAYLOAD, chunk, (size_t)n);
	p->sent += (uint64_t)n;
	return finish(&m, buf, cap);
}

static long msg_end(gw_push_t *p, uint8_t *buf, size_t cap)
{
	pl_msg_t m;
	if (pl_msg_init(&m, PL_MSG_SUBMIT_END, 0, 0) < 0)
		return -1;
	m.max = ON_MSG_MAX;
	pl_msg_add_str(&m, PL_TAG_JOB_ID, p->meta.id);
	return finish(&m, buf, cap);
}

long gw_push_next(gw_t *gw, gw_push_t *p, uint8_t *buf, size_t cap, gw_busy_fn busy,
		  void *arg)
{
	pl_err_t err;
	if (!p->active) {
		if (gw->draining || !pick(gw, &p->meta, busy, arg))
			return 0;
		/* durably, so that expiry after a drop or a restart knows a
		 * router may have printed it (gw-expire.c) */
		if (gw_outcome_offered(gw, &p->meta) < 0)
			return 0;
		if (p->body) { /* the router GETs it (gw-server.c) */
			p->active = 1;
			p->stage = GW_P_WAIT;
			p->sent = 0;
			gw->pushed++;
			pl_info("job %s: offering %llu bytes to a router for %s (body over HTTPS)",
				p->meta.id, (unsigned long long)p->meta.size, p->meta.printer);
			return msg_begin(p, buf, cap);
		}
		/* Read as it goes (a large job is decrypted and authenticated
		 * again chunk by chunk): a damaged file stops mid-way, and
		 * the router, which checks the SHA-256, prints nothing. */
		if (pl_jobstore_read_open(gw->store, p->meta.id, &p->r, &err) < 0) {
			gw_error(gw, "job %s: %s", p->meta.id, err.msg);
			return 0;
		}
		p->active = 1;
		p->stage = GW_P_BEGIN;
		p->sent = 0;
		gw->pushed++;
		pl_info("job %s: pushing %llu bytes to a router for %s", p->meta.id,
			(unsigned long long)p->meta.size, p->meta.printer);
	}
	long len;
	switch (p->stage) {
	case GW_P_BEGIN:
		len = msg_begin(p, buf, cap);
		p->stage = p->meta.size ? GW_P_DATA : GW_P_END;
		return len;
	case GW_P_DATA:
		len = msg_data(gw, p, buf, cap);
		if (p->sent == p->meta.size)
			p->stage = GW_P_END;
		return len;
	case GW_P_END:
		pl_jobr_close(p->r);
		p->r = NULL;
		p->stage = GW_P_WAIT;
		return msg_end(p, buf, cap);
	default:
		return 0;
	}
}

int gw_push_result(gw_t *gw, gw_push_t *p, const on_msg_t *m)
{
	pl_err_t err;
	if (m->kind != ON_M_RESULT) {
		gw_error(gw, "a router sent %s: only RESULT goes that way",
			 m->kind == ON_M_BEGIN ? "SUBMIT_BEGIN" : "a job message");
		return -1;
	}
	if (!p->active || p->stage != GW_P_WAIT || strcmp(m->id, p->meta.id) != 0) {
		/* A late answer for a job of an earlier connection is harmless:
		 * that job went again (or is gone) and gets its own. */
		pl_info("RESULT %s (%s) for no job awaiting one here: ignored", m->id, m->event);
		return 0;
	}
	pl_info("job %s: %s%s%s", m->id, m->event, m->reason[0] ? ": " : "", m->reason);
	if (strcmp(m->event, "printed") == 0)
		gw->printed++;
	else if (strcmp(m->event, "held") == 0)
		gw->held++;
	else
		gw->failed++;
	/* A JOB_EVENT of this job already recorded (we died after the
	 * router held it, before we recorded that; it went again and the
	 * router answers "already held"): the newer state stays. */
	const gw_outcome_t *old = gw_outcome_find(gw, p->meta.id);
	int rc = old && old->seq ? 0 : gw_outcome_add(gw, &p->meta, m->event, m->reason);
	/* Not recorded: the job stays stored and goes again; the router
	 * answers it without printing it twice. */
	if (rc == 0 && pl_jobstore_delete(gw->store, p->meta.id, &err) < 0 && err.msg[0])
		gw_error(gw, "job %s: delete: %s", p->meta.id, err.msg);
	gw_push_abort(p);
	gw_status_note(gw);
	return 0;
}
