/* Requests from the supervisor about our held jobs: release some to a
 * printer, delete some (the listings: holder-query.c). Releases run on the print pool, one
 * task per request, so the main loop keeps answering heartbeats while a
 * large job streams to a slow printer. A job is verified end to end
 * before its first byte goes out, and shredded only after the printer
 * confirmed it took every byte. A release claims its jobs first, so a
 * second swipe cannot print them again. The shreds run later, in batches
 * on a low-priority thread once the print pool is idle: the printer
 * already has the job, and the fsyncs must not take the CPU from the next
 * badge swipe (make bench: [7]).
 *
 * A most-recent release may come as USER and NEWEST instead of job ids
 * (the supervisor's form when we are the only holder, PROTOCOL.md §8): the
 * print worker chooses the newest job that may print, as JOBS_QUERY's
 * NEWEST would (holder_newest), and releases it like any other; the answer
 * adds what was passed over, for the supervisor's "no held jobs" message.
 *
 * Secure print and pull print: a job submitted for a printer (its
 * metadata names one) is a secure job, printed only at that printer; a
 * job without one is a pull job, printed anywhere. The rule is enforced
 * here, where releases are carried out, whoever asked: the supervisor's
 * choice of jobs is only a convenience. An administrator may override it
 * for one release (ANY_PRINTER, which the supervisor takes only from the
 * control socket); every such release is logged and its job event says
 * so. */
#include "holder-private.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "pl_log.h"
#include "pl_printer.h"
#include "pl_prstatus.h"
#include "pl_util.h"

#define REL_MAX_IDS 256

typedef struct {
	char id[PL_JOB_ID_LEN + 1];
	uint32_t status;
	char msg[300];
	pl_job_meta_t meta;
	int have_meta;
	int delivered; /* printed: shred it */
	int maybe;     /* cut off after bytes went out: now maybe-printed */
	int refused_maybe; /* maybe-printed and not asked to reprint */
	int damaged;   /* set aside as *.corrupt */
	int overridden; /* a secure job printed elsewhere by ANY_PRINTER */
	char own_printer[sizeof(((pl_job_meta_t *)0)->printer)];
} rel_item_t;

typedef struct rel_task {
	pl_holder_t *h;
	uint32_t seq;
	int is_delete;
	/* the timeouts when the request came: a reload during a release
	 * changes the next one, and the workers never read h->conf */
	int connect_timeout_ms, io_timeout_ms;
	int any_printer;   /* the administrator's override, for this release */
	int reprint;	   /* maybe-printed jobs may print again (asked for) */
	char asked_by[200]; /* who asked for it, for the override's log line */
	int refuse_offline; /* refuse_offline_printers when the request came */
	char offline[300];  /* set: SNMP saw the printer offline; the answer */
	char printer[128];
	char uri[512];
	/* A most-recent release sent straight to us (NEWEST with USER, the
	 * only holder running): we choose the job, on the print pool, and
	 * count what we passed over for the supervisor's message. */
	int newest;
	int newest_failed; /* out of memory choosing: answered as an error */
	char user[128];
	uint32_t elsewhere, maybe;
	int nitems;
	rel_item_t items[]; /* sized to the request: see task_from */
} rel_task_t;

/* ---- release and delete ---- */

/* Sized to the ids the request carries. A task for the largest request
 * is about 300 KiB; allocating that for every badge swipe made the main
 * loop fault in fresh pages per request, which serialised a burst of
 * swipes at about 1 ms each (make bench: [7]). */
static rel_task_t *task_from(pl_holder_t *h, const pl_frame_t *f, int is_delete)
{
	pl_iter_t it;
	pl_field_t fl;
	size_t n = 0;
	pl_iter_frame(&it, f);
	while (pl_iter_next(&it, &fl) == 1)
		n += fl.tag == PL_TAG_JOB_ID && n < REL_MAX_IDS;
	char user[128] = "";
	int newest = !is_delete && holder_flag_on(f, PL_TAG_NEWEST) &&
		     pl_frame_get_str(f, PL_TAG_USER, user, sizeof(user)) == 0 && user[0];
	if (newest)
		n = 1; /* the one we choose; the request's ids are ignored */
	rel_task_t *t = calloc(1, sizeof(*t) + n * sizeof(t->items[0]));
	if (!t)
		return NULL;
	t->newest = newest;
	pl_strlcpy(t->user, user, sizeof(t->user));
	t->h = h;
	t->seq = f->seq;
	t->is_delete = is_delete;
	t->connect_timeout_ms = (int)h->conf.print_connect_timeout_ms;
	t->io_timeout_ms = (int)h->conf.print_io_timeout_ms;
	t->refuse_offline = !is_delete && h->conf.refuse_offline;
	pl_frame_get_str(f, PL_TAG_PRINTER, t->printer, sizeof(t->printer));
	/* A maybe-printed job prints again only when asked for by its id. */
	t->reprint = !is_delete && !newest && holder_flag_on(f, PL_TAG_REPRINT);
	if (!is_delete && holder_flag_on(f, PL_TAG_ANY_PRINTER)) {
		t->any_printer = 1;
		if (pl_frame_get_str(f, PL_TAG_ASKED_BY, t->asked_by, sizeof(t->asked_by)) < 0 ||
		    !t->asked_by[0])
			pl_strlcpy(t->asked_by, "an administrator", sizeof(t->asked_by));
	}
	pl_iter_frame(&it, f);
	while (!newest && pl_iter_next(&it, &fl) == 1) {
		if (fl.tag != PL_TAG_JOB_ID || (size_t)t->nitems >= n)
			continue;
		rel_item_t *r = &t->items[t->nitems];
		if (pl_field_str(&fl, r->id, sizeof(r->id)) < 0)
			continue;
		t->nitems++;
	}
	return t;
}

static void set_result(rel_item_t *r, uint32_t status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_result(rel_item_t *r, uint32_t status, const char *fmt, ...)
{
	va_list ap;
	r->status = status;
	va_start(ap, fmt);
	vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
	va_end(ap);
}

static ssize_t job_source(void *arg, void *buf, size_t n, pl_err_t *err)
{
	return pl_jobr_read(arg, buf, n, err);
}

/* Claimed and verified: hand it to the printer, over the connection pre
 * begun meanwhile (NULL: pl_print_via connects). */
static void print_one(rel_task_t *t, rel_item_t *r, pl_jobr_t *rd,
		      pl_print_conn_t *pre)
{
	pl_jobstore_t *js = t->h->store;
	pl_err_t err;
	char not_applied[PL_JOB_OPTS_MAX + 1];
	/* the print options sealed with the job (AirPrint's copies, sides,
	 * colour, media) are the reader's: not in the index */
	pl_print_opts_t po = {
		.connect_timeout_ms = t->connect_timeout_ms,
		.io_timeout_ms = t->io_timeout_ms,
		.job_name = r->meta.title[0] ? r->meta.title : r->meta.id,
		.user = r->meta.owner,
		.format = r->meta.format,
		.options = pl_jobr_options(rd),
		.not_applied = not_applied,
		.not_applied_sz = sizeof(not_applied),
	};
	size_t sent = 0;
	int rc = pl_print_via(pre, t->uri, &po, job_source, rd, &sent, &err);
	pl_jobr_close(rd);
	if (rc == 0 && not_applied[0])
		pl_info("job %s printed at %s without %s: %s", r->id, t->printer, not_applied,
			strncasecmp(t->uri, "socket:", 7) == 0
				? "a raw (socket://) printer takes no print options"
				: "the printer does not list them as supported");
	if (rc < 0 && sent == 0) {
		pl_jobstore_unclaim(js, r->id, 0);
		set_result(r, PL_STATUS_PRINTER, "%s; the job is kept", err.msg);
		return;
	}
	if (rc < 0) {
		/* Some bytes reached the printer, which never confirmed: it
		 * may have printed all of it. Held again, flagged, and
		 * printed again only when someone asks for that. */
		pl_jobstore_unclaim(js, r->id, 1);
		r->maybe = 1;
		set_result(r, PL_STATUS_PRINTER, "%s after %zu bytes; the job may have "
			   "printed: it is kept, marked maybe-printed", err.msg, sent);
		return;
	}
	/* Delivered: marked printed now, per job, so that no crash from
	 * here on offers it again; shredded later (release_done queues it). */
	if (pl_jobstore_printed(js, r->id, &err) < 0)
		pl_err("job %s was printed but could not be marked so: %s; it "
		       "will be held as maybe-printed after a restart", r->id, err.msg);
	r->delivered = 1;
	set_result(r, PL_STATUS_OK, "printed");
}

/* The job's data does not authenticate: set aside (*.corrupt) so that it
 * never again stands in front of its owner's other jobs. */
static void set_aside(rel_task_t *t, rel_item_t *r, const pl_err_t *why)
{
	pl_err_t err;
	r->damaged = 1;
	if (pl_jobstore_set_aside(t->h->store, r->id, &err) < 0)
		pl_err("job %s: cannot move the damaged file aside: %s", r->id, err.msg);
	set_result(r, PL_STATUS_INTEGRITY, "job is damaged, not printed (set aside "
		   "for the administrator): %s", why->msg);
}

/* A secure job asked for at another printer: refused without a claim,
 * so it never leaves the listing and a release at the right printer
 * meanwhile is not told it is busy. 1 if refused. */
static int refuse_elsewhere(rel_task_t *t, rel_item_t *r)
{
	if (pl_jobstore_get(t->h->store, r->id, &r->meta) < 0 ||
	    holder_releasable_at(&r->meta, t->printer))
		return 0;
	pl_strlcpy(r->own_printer, r->meta.printer, sizeof(r->own_printer));
	if (t->any_printer) {
		r->overridden = 1;
		return 0;
	}
	r->have_meta = 1;
	set_result(r, PL_STATUS_CONFLICT, "secure job for %s: release it there",
		   r->meta.printer);
	return 1;
}

/* Claim, verify, print. The claim is taken first (no second release can
 * have the job), then the job is verified (a small one decrypted once,
 * into memory), and only a job that passed connects to the printer: a
 * damaged job never touches it. The connect then runs while the claim's
 * journal record is made durable, which must happen before the first
 * byte (make bench: [7]). */
static void release_one(rel_task_t *t, rel_item_t *r)
{
	pl_jobstore_t *js = t->h->store;
	pl_err_t err;
	pl_jobr_t *rd = NULL;

	if (refuse_elsewhere(t, r))
		return;
	if (t->offline[0]) {
		/* before the claim: the job never leaves the listing and can
		 * never become maybe-printed */
		r->have_meta = pl_jobstore_get(js, r->id, &r->meta) == 0;
		set_result(r, r->have_meta ? PL_STATUS_PRINTER : PL_STATUS_NOTFOUND, "%s",
			   r->have_meta ? t->offline : "no such job");
		return;
	}
	int rc = pl_jobstore_claim_hold(js, r->id, t->reprint ? PL_JS_CLAIM_REPRINT : 0,
					&r->meta, &err);
	if (rc == PL_JS_EBUSY) {
		set_result(r, PL_STATUS_BUSY, "already being released");
		return;
	}
	if (rc == PL_JS_EMAYBE) {
		r->have_meta = pl_jobstore_get(js, r->id, &r->meta) == 0;
		r->refused_maybe = 1;
		set_result(r, PL_STATUS_CONFLICT, "a release of this job was cut off "
			   "after it had started printing, so it may have printed "
			   "already; release it again with reprint to print it again");
		return;
	}
	if (rc == PL_JS_ENOENT) {
		set_result(r, PL_STATUS_NOTFOUND, "no such job");
		return;
	}
	if (rc < 0) {
		set_result(r, PL_STATUS_ERROR, "%s", err.msg);
		return;
	}
	r->have_meta = 1;
	rc = pl_jobstore_read_verified(js, r->id, &rd, &err);
	if (rc == PL_JS_ECORRUPT) {
		set_aside(t, r, &err);
		return;
	}
	if (rc < 0) {
		pl_jobstore_unclaim(js, r->id, 0);
		set_result(r, PL_STATUS_ERROR, "%s", err.msg);
		return;
	}
	pl_print_conn_t *pre = pl_print_start(t->uri);
	if ((rc = pl_jobstore_claim_commit(js, r->id, &err)) < 0) {
		pl_print_cancel(pre); /* not a byte sent */
		pl_jobr_close(rd);
		set_result(r, PL_STATUS_ERROR, "%s", err.msg);
		return;
	}
	print_one(t, r, rd, pre);
}

static void delete_one(rel_task_t *t, rel_item_t *r)
{
	pl_err_t err;
	if (pl_jobstore_get(t->h->store, r->id, &r->meta) < 0) {
		set_result(r, PL_STATUS_NOTFOUND, "no such job");
		return;
	}
	r->have_meta = 1;
	if (pl_jobstore_delete(t->h->store, r->id, &err) < 0)
		set_result(r, PL_STATUS_ERROR, "%s", err.msg);
	else
		set_result(r, PL_STATUS_OK, "deleted");
}

/* NEWEST: the user's newest job that may print here (anywhere, with the
 * override), the item of the task; none, and the task has no item. The
 * choice and the claim are two steps: a job another release claims in
 * between answers "already being released", as when the supervisor
 * chose it. */
static void choose_newest(rel_task_t *t)
{
	rel_item_t *r = &t->items[0];
	int rc = holder_newest(t->h, t->user, t->any_printer ? "" : t->printer, r->id,
			       &t->elsewhere, &t->maybe);
	if (rc < 0)
		t->newest_failed = 1;
	t->nitems = rc > 0;
}

/* refuse_offline_printers: the printer's last SNMP poll, read here on
 * the print pool (a small SQLite read). Anything short of a fresh
 * "offline" or "unreachable" -- no status file, no row, an error -- and
 * the printer is tried as without the setting. */
static void check_offline(rel_task_t *t)
{
	pl_err_t err = { "" };
	pl_prstatus_t *st = pl_prstatus_open(t->h->conf.prstatus_path, 0, &err);
	json_t *row = st ? pl_prstatus_get(st, t->printer, &err) : NULL;
	if (!row && err.msg[0])
		pl_debug("refuse_offline_printers: %s: %s; trying the printer", t->printer,
			 err.msg);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	int64_t now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	if (!pl_prstatus_offline(row, t->printer, now_ms, t->offline, sizeof(t->offline)))
		t->offline[0] = '\0';
	json_decref(row);
	pl_prstatus_close(st);
}

static void release_work(void *arg)
{
	rel_task_t *t = arg;
	if (t->newest && !t->nitems && !t->newest_failed)
		choose_newest(t);
	if (t->refuse_offline && t->nitems)
		check_offline(t);
	for (int i = 0; i < t->nitems; i++) {
		rel_item_t *r = &t->items[i];
		if (r->status != 0 || r->msg[0])
			continue; /* already answered (unknown printer) */
		if (t->is_delete)
			delete_one(t, r);
		else
			release_one(t, r);
	}
}

/* ---- shredding what was printed (the shred pool, at low priority) ----
 *
 * Printed jobs wait in h->shreds and are shredded in batches, with one
 * directory fsync a batch: when the print pool has nothing left to do (a
 * burst of swipes is over), or when SHRED_BATCH_MAX are waiting, or
 * SHRED_WAIT_MS after the first one, whichever comes first. Until then a
 * printed job is out of every listing, and the journal's P record has it
 * shredded at the next start should the service stop first. */

#define SHRED_BATCH_MAX 256
#define SHRED_WAIT_MS 2000

typedef struct {
	pl_holder_t *h;
	size_t n;
	holder_shred_t *v; /* taken from h->shreds */
	int *rc;
	pl_err_t err;	   /* the first failure's (a batch's share one cause) */
} shred_batch_t;

static void shred_work(void *arg)
{
	shred_batch_t *b = arg;
	char(*ids)[PL_JOB_ID_LEN + 1] = malloc(b->n * sizeof(*ids));
	if (!ids) {
		for (size_t i = 0; i < b->n; i++)
			b->rc[i] = PL_JS_EIO;
		(void)pl_fmt(b->err.msg, sizeof(b->err.msg), "out of memory");
		return;
	}
	for (size_t i = 0; i < b->n; i++)
		memcpy(ids[i], b->v[i].id, sizeof(ids[i]));
	(void)pl_jobstore_delete_batch(b->h->store, (const char(*)[PL_JOB_ID_LEN + 1])ids,
				       b->n, b->rc, &b->err);
	free(ids);
}

static void shred_kick(pl_holder_t *h);

static void shred_done(void *arg)
{
	shred_batch_t *b = arg;
	for (size_t i = 0; i < b->n; i++)
		if (b->rc[i] < 0 && b->rc[i] != PL_JS_ENOENT) /* ENOENT: deleted meanwhile */
			pl_err("job %s of %s was printed but could not be shredded: %s; "
			       "it is not offered again and is shredded at the next "
			       "start", b->v[i].id, b->v[i].owner, b->err.msg);
	pl_holder_t *h = b->h;
	h->shredding = 0;
	free(b->v);
	free(b->rc);
	free(b);
	shred_kick(h); /* what was printed meanwhile */
}

static void shred_timer_fired(pl_loop_t *loop, void *arg);

static void shred_now(pl_holder_t *h)
{
	shred_batch_t *b = calloc(1, sizeof(*b));
	if (!b || !(b->rc = calloc(h->nshreds, sizeof(*b->rc)))) {
		free(b);
		/* Out of memory: try again later. */
		if (!h->shred_timer && !h->closing)
			h->shred_timer = pl_loop_timer(h->loop, SHRED_WAIT_MS,
						       shred_timer_fired, h);
		return;
	}
	b->h = h;
	b->v = h->shreds;
	b->n = h->nshreds;
	h->shreds = NULL;
	h->nshreds = h->cap_shreds = 0;
	h->shredding = 1;
	if (h->closing || !h->shred ||
	    pl_work_submit(h->shred, shred_work, shred_done, b) < 0) {
		shred_work(b); /* closing, or out of memory: here rather than not */
		shred_done(b);
	}
}

static void shred_timer_fired(pl_loop_t *loop, void *arg)
{
	pl_holder_t *h = arg;
	(void)loop;
	h->shred_timer = NULL;
	if (!h->shredding && h->nshreds)
		shred_now(h);
}

/* Shred what is waiting if now is the time, else make sure a timer will. */
static void shred_kick(pl_holder_t *h)
{
	if (h->shredding || !h->nshreds)
		return;
	if (h->closing || h->nshreds >= SHRED_BATCH_MAX || !h->print ||
	    !pl_work_pending(h->print)) {
		pl_loop_timer_cancel(h->loop, h->shred_timer);
		h->shred_timer = NULL;
		shred_now(h);
	} else if (!h->shred_timer) {
		h->shred_timer = pl_loop_timer(h->loop, SHRED_WAIT_MS, shred_timer_fired, h);
	}
}

void holder_shred_flush(pl_holder_t *h)
{
	h->closing = 1;
	pl_loop_timer_cancel(h->loop, h->shred_timer);
	h->shred_timer = NULL;
	if (!h->shredding && h->nshreds)
		shred_now(h);
}

static void shred_queue(pl_holder_t *h, const rel_item_t *r)
{
	if (h->nshreds == h->cap_shreds) {
		size_t cap = h->cap_shreds ? 2 * h->cap_shreds : 16;
		holder_shred_t *v = realloc(h->shreds, cap * sizeof(*v));
		if (!v) {
			/* It stays printed (never offered) and is shredded at
			 * the next start. */
			pl_err("job %s of %s was printed; no memory to queue its "
			       "shred: it is shredded at the next start", r->id,
			       r->meta.owner);
			return;
		}
		h->shreds = v;
		h->cap_shreds = cap;
	}
	holder_shred_t *q = &h->shreds[h->nshreds++];
	pl_strlcpy(q->id, r->id, sizeof(q->id));
	pl_strlcpy(q->owner, r->meta.owner, sizeof(q->owner));
}

static void shred_delivered(rel_task_t *t)
{
	pl_holder_t *h = t->h;
	for (int i = 0; i < t->nitems; i++)
		if (t->items[i].delivered)
			shred_queue(h, &t->items[i]);
	free(t);
	shred_kick(h);
}

/* The log line and job event for one answered item. */
static void report_item(rel_task_t *t, rel_item_t *r)
{
	if (t->is_delete) {
		if (r->status == PL_STATUS_OK) {
			pl_info("deleted job %s of %s on request", r->id, r->meta.owner);
			pl_holder_event(t->h, "deleted", &r->meta, NULL);
		}
		return;
	}
	pl_strlcpy(r->meta.printer, t->printer, sizeof(r->meta.printer));
	if (r->status == PL_STATUS_OK && r->overridden) {
		char detail[400];
		(void)pl_fmt(detail, sizeof(detail),
			     "override: secure job for %s released at %s, asked by %s",
			     r->own_printer, t->printer, t->asked_by);
		pl_warn("released job %s of %s to %s (%llu bytes); %s", r->id,
			r->meta.owner, t->printer, (unsigned long long)r->meta.size, detail);
		pl_holder_event(t->h, "printed", &r->meta, detail);
	} else if (r->status == PL_STATUS_OK) {
		pl_info("released job %s of %s to %s (%llu bytes)", r->id,
			r->meta.owner, t->printer, (unsigned long long)r->meta.size);
		pl_holder_event(t->h, "printed", &r->meta, NULL);
	} else if (r->damaged) {
		pl_err("job %s of %s is damaged and was set aside: %s", r->id,
		       r->meta.owner, r->msg);
		pl_holder_event(t->h, "damaged", &r->meta, r->msg);
	} else if (r->refused_maybe) {
		pl_warn("release of job %s of %s to %s refused: it may have printed "
			"already (asked without reprint)", r->id, r->meta.owner, t->printer);
	} else if (r->maybe) {
		pl_err("release of job %s of %s to %s cut off: %s", r->id,
		       r->meta.owner, t->printer, r->msg);
		pl_holder_event(t->h, "maybe-printed", &r->meta, r->msg);
	} else if (t->offline[0] && strcmp(r->msg, t->offline) == 0) {
		/* refuse_offline_printers at work: the printer was not tried */
		pl_warn("release of job %s of %s to %s refused: %s", r->id, r->meta.owner,
			t->printer, r->msg);
		pl_holder_event(t->h, "print-failed", &r->meta, r->msg);
	} else if (r->status == PL_STATUS_CONFLICT) {
		/* The rule at work (a swipe at the wrong printer), not a fault. */
		pl_warn("release of job %s of %s to %s refused: %s", r->id,
			r->meta.owner, t->printer, r->msg);
		pl_holder_event(t->h, "print-failed", &r->meta, r->msg);
	} else {
		pl_err("release of job %s of %s to %s failed: %s", r->id,
		       r->meta.owner, t->printer, r->msg);
		pl_holder_event(t->h, "print-failed", &r->meta, r->msg);
	}
}

static void release_done(void *arg)
{
	rel_task_t *t = arg;
	pl_msg_t m;

	for (int i = 0; i < t->nitems; i++)
		if (t->items[i].have_meta)
			report_item(t, &t->items[i]);
	if (t->newest_failed &&
	    pl_msg_init(&m, PL_MSG_RESULT, PL_FLAG_REPLY | PL_FLAG_ERROR, t->seq) == 0) {
		pl_err("cannot choose the newest job of %s: out of memory", t->user);
		pl_msg_add_u32(&m, PL_TAG_STATUS, PL_STATUS_ERROR);
		pl_msg_add_str(&m, PL_TAG_MESSAGE, "out of memory choosing the job");
		if (pl_msg_finish(&m) == 0)
			holder_send(t->h, &m);
		pl_msg_free(&m);
	} else if (!t->newest_failed &&
		   pl_msg_init(&m, PL_MSG_RESULT, PL_FLAG_REPLY, t->seq) == 0) {
		pl_msg_add_u32(&m, PL_TAG_STATUS, PL_STATUS_OK);
		/* NEWEST that found nothing: why, for the supervisor's
		 * "no held jobs ..." (as JOBS_QUERY's answer says it) */
		if (t->elsewhere)
			pl_msg_add_u32(&m, PL_TAG_ELSEWHERE, t->elsewhere);
		if (t->maybe)
			pl_msg_add_u32(&m, PL_TAG_MAYBE_COUNT, t->maybe);
		for (int i = 0; i < t->nitems; i++) {
			pl_msg_nest_begin(&m, PL_TAG_JOB);
			pl_msg_add_str(&m, PL_TAG_JOB_ID, t->items[i].id);
			pl_msg_add_u32(&m, PL_TAG_STATUS, t->items[i].status);
			pl_msg_add_str(&m, PL_TAG_MESSAGE, t->items[i].msg);
			pl_msg_nest_end(&m);
		}
		if (pl_msg_finish(&m) == 0)
			holder_send(t->h, &m);
		pl_msg_free(&m);
	}
	shred_delivered(t);
}

/* An answer, never silence: every item fails with the same reason. */
static void fail_all(rel_task_t *t, uint32_t status, const char *why)
{
	for (int i = 0; i < t->nitems; i++)
		set_result(&t->items[i], status, "%s", why);
	release_done(t);
}

void holder_release(pl_holder_t *h, const pl_frame_t *f)
{
	pl_err_t err;
	pl_dir_printer_t p;
	rel_task_t *t = task_from(h, f, 0);
	if (!t)
		return;
	int rc = pl_dir_printer_get(h->dir, t->printer, &p, &err);
	if (rc != 0) {
		/* The job the supervisor would have chosen fails, as it would
		 * have: chosen here, on the loop (a rare path). */
		if (t->newest)
			choose_newest(t);
		fail_all(t, PL_STATUS_NOTFOUND, rc > 0 ? "unknown printer" : err.msg);
		return;
	}
	pl_strlcpy(t->uri, p.uri, sizeof(t->uri));
	if (pl_work_submit(h->print, release_work, release_done, t) < 0)
		fail_all(t, PL_STATUS_BUSY, "out of memory; try again");
}

void holder_delete(pl_holder_t *h, const pl_frame_t *f)
{
	rel_task_t *t = task_from(h, f, 1);
	if (t && pl_work_submit(h->disk, release_work, release_done, t) < 0)
		fail_all(t, PL_STATUS_BUSY, "out of memory; try again");
}
