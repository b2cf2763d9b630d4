/* Operations on held jobs across every job-holding service (DESIGN.md §1):
 * a listing, a release (most recent across the whole Service Client, or
 * all) and a delete. The supervisor never sees job data, and metadata
 * only as far as it needs it; and never a listing larger than a page:
 *   1. JOBS_QUERY to every running holder, each answer one page at most
 *      (lib/holder/holder-query.c), well under the channel's frame:
 *      - CTL_JOBS: LIMIT jobs after the asker's cursor (AFTER), the full
 *        listing (FULL); the pages are merged by creation time
 *        (pl_jobpage.h) and the answer is the first LIMIT, with MORE, the
 *        next cursor and the sum of the holders' TOTALs. plsc and the
 *        console walk the pages.
 *      - most recent: NEWEST, each holder's newest job that may print
 *        (ids and creation times only); the newest of those wins.
 *      - all: pages of ids and times, walked: release a page, then ask
 *        for the next one after it (a cursor, so a job that failed and
 *        stays held is not asked for again).
 *      - by id: JOB_ID, that job wherever it is.
 *   2. RELEASE: each holder gets RELEASE_JOBS for its own ids of the
 *      page, per-job results are collected.
 * Secure print: a job submitted for a printer prints only there. A
 * release by user asks each holder for the jobs releasable at the
 * release's printer (RELEASE_AT), so "most recent" is the newest job that
 * may print there; the holders answer for the printer and the job's own
 * printer never reaches the supervisor. The holder enforces the rule
 * again on RELEASE_JOBS (a release by job id is refused there, with its
 * reason). Only the control socket may override it (ANY_PRINTER).
 *   3. Answer the asker with one combined RESULT.
 * One holder: a most-recent release by user while exactly one holder runs
 * (and no other may be about to) skips step 1: RELEASE_JOBS with USER and
 * NEWEST goes straight to it, and it chooses its newest job that may
 * print, by the same rules as its answer to NEWEST, and releases it in the
 * same step; its answer carries the job's result, or, when it found
 * none, what it passed over (ELSEWHERE, MAYBE_COUNT) for the same "no held
 * jobs ..." message. One hop and one listing fewer a swipe.
 * Every step has a deadline; a holder that dies or stays silent counts as
 * a failure for its part, never as success. */
#include "sv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pl_log.h"
#include "pl_ctlreply.h"
#include "pl_jobpage.h"
#include "pl_util.h"

#define OP_QUERY_MS 5000u
#define OP_ACT_MS (15u * 60u * 1000u) /* a release of a large job to a slow printer */
/* Jobs in a CTL_JOBS answer at most: a holder's page (HQ_PAGE_MAX), so
 * that each holder's answer can fill it. */
#define OP_PAGE_MAX 500u
/* Jobs an "all" release takes a round: what a holder releases in one
 * request (REL_MAX_IDS, lib/holder). */
#define OP_ALL_PAGE 200u
/* The per-job results an answer carries: a service's RELEASE is answered
 * on the 1 MiB channel; past this the answer counts the rest. */
#define OP_RESULTS_BYTES (256u * 1024u)
/* A count a holder reports past this is not believed (gossip). */
#define OP_WILD_COUNT 100000000u

typedef struct {
	char svc[SV_NAME_MAX];
	uint32_t seq;
	int done;
} op_wait_t;

typedef struct {
	pl_jobpos_t pos; /* first: pl_jobmerge_take reads it */
	char svc[SV_NAME_MAX];
	uint8_t *raw; /* CTL_JOBS only: the nested JOB field's content, as sent */
	uint32_t rawlen;
	uint64_t maybe; /* a release of it was cut off then: it may have printed */
	int chosen;
	int answered; /* its holder sent a result for it */
} op_job_t;

typedef struct sv_op {
	sv_sup_t *sup;
	/* Holders that may hold jobs but were not asked or did not answer: a
	 * listing names them rather than looking complete (an empty list is
	 * not "no jobs" when the held-jobs service is down). */
	char unavailable[SV_MAX_SERVICES][SV_NAME_MAX];
	int nunavailable;
	int kind;
	int phase; /* 0 query, 1 act */
	int direct; /* this round's act went straight to the one holder */
	sv_asker_t asker;
	char user[128], printer[128], mode[16], job_id[64];
	int any_printer;    /* the administrator's override (control socket only) */
	uint32_t elsewhere; /* secure jobs for other printers, left out */
	uint32_t refused;   /* per-job failures that were the secure-print rule */
	int reprint;	    /* a maybe-printed job may print again (control socket) */
	uint32_t maybe;	    /* maybe-printed jobs passed over by most-recent/all */
	uint32_t damaged;   /* per-job failures: the job was damaged (set aside) */
	int retries;	    /* most-recent tried again past damaged jobs */
	char passed[300];   /* what those damaged jobs were, for the answer */
	/* Paging: the page asked for (LIMIT, AFTER), what the holders said
	 * about theirs, and the answer's next cursor. */
	uint32_t limit;
	pl_jobpos_t after;
	int has_after;
	int round;	    /* "all": pages released so far */
	int more;	    /* jobs after this page */
	uint64_t total;	    /* CTL_JOBS: the holders' TOTALs */
	pl_jobmerge_t merge;
	op_wait_t waits[SV_MAX_SERVICES];
	int nwaits, pending;
	op_job_t *jobs;
	int njobs, capjobs;
	pl_msg_t results; /* nested per-job results, built as they arrive */
	uint32_t nresults_left_out; /* past OP_RESULTS_BYTES */
	uint32_t asked;	  /* jobs chosen for release, every round */
	uint32_t ok, failed;
	char first_error[256];
	pl_timer_t *timer;
	struct sv_op *next;
} sv_op_t;

static void free_jobs(sv_op_t *op)
{
	for (int i = 0; i < op->njobs; i++)
		free(op->jobs[i].raw);
	free(op->jobs);
	op->jobs = NULL;
	op->njobs = op->capjobs = 0;
}

static void op_free(sv_op_t *op)
{
	sv_sup_t *sup = op->sup;
	for (sv_op_t **pp = &sup->ops; *pp; pp = &(*pp)->next)
		if (*pp == op) {
			*pp = op->next;
			break;
		}
	pl_loop_timer_cancel(sup->loop, op->timer);
	free_jobs(op);
	pl_msg_free(&op->results);
	free(op);
}

void sv_jobops_free_all(sv_sup_t *sup)
{
	while (sup->ops)
		op_free(sup->ops);
}

/* ---- answering ---- */

static void op_send(sv_op_t *op, pl_msg_t *m)
{
	if (pl_msg_finish(m) < 0)
		return;
	if (op->asker.is_client) {
		sv_control_send(op->sup, op->asker.client_id, m);
		return;
	}
	sv_svc_t *s = sv_find(op->sup, op->asker.svc);
	if (s && s->state == SV_RUNNING)
		sv_svc_send(s, m);
}

static void op_fail(sv_op_t *op, uint32_t status, const char *msg)
{
	pl_msg_t m;
	char buf[700];
	/* A most-recent release that passed over damaged jobs says so. */
	if (op->passed[0] && pl_fmt(buf, sizeof(buf), "%s (passed over job %s)",
				    msg, op->passed) == 0)
		msg = buf;
	if (pl_msg_init(&m, PL_MSG_RESULT, PL_FLAG_REPLY | PL_FLAG_ERROR,
			op->asker.seq) == 0) {
		pl_msg_add_u32(&m, PL_TAG_STATUS, status);
		pl_msg_add_str(&m, PL_TAG_MESSAGE, msg);
		op_send(op, &m);
		pl_msg_free(&m);
	}
	op_free(op);
}

/* The listings' one order (pl_jobpage.h): creation time, then id. */
static int cmp_pos(const void *a, const void *b)
{
	const op_job_t *x = a, *y = b;
	return pl_jobpos_cmpp(&x->pos, &y->pos);
}

static void sort_jobs(sv_op_t *op)
{
	if (op->njobs > 1)
		qsort(op->jobs, (size_t)op->njobs, sizeof(op->jobs[0]), cmp_pos);
}

static uint32_t clamp32(uint64_t v)
{
	return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

static void add_job(pl_msg_t *m, const op_job_t *j)
{
	pl_msg_nest_begin(m, PL_TAG_JOB);
	pl_msg_append_fields(m, j->raw, j->rawlen);
	pl_msg_add_str(m, PL_TAG_SOURCE, j->svc);
	pl_msg_nest_end(m);
}

static void note_unavailable(sv_op_t *op, const char *svc)
{
	if (op->nunavailable < SV_MAX_SERVICES)
		pl_strlcpy(op->unavailable[op->nunavailable++], svc, SV_NAME_MAX);
}

/* A holder that has a state directory has run, and may hold jobs on disk
 * even when it does not run now; one that never ran (no binary yet, say)
 * holds nothing. */
static int may_hold_jobs(const sv_svc_t *s)
{
	char dir[PATH_MAX];
	struct stat st;
	return sv_role_holds_jobs(s->conf.role) &&
	       pl_fmt(dir, sizeof(dir), "%s/%s", s->sup->cfg.state_dir,
		      s->conf.name) == 0 &&
	       stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
}

/* A page of the listing: the holders' pages merged, the first LIMIT
 * jobs that no holder's next page can come before, and where the next
 * page starts. */
static void finish_jobs(sv_op_t *op)
{
	pl_msg_t m;
	int more;
	sort_jobs(op);
	size_t k = pl_jobmerge_take(&op->merge, op->jobs, (size_t)op->njobs,
				    sizeof(op->jobs[0]), op->limit, &more);
	if (pl_msg_init(&m, PL_MSG_RESULT, PL_FLAG_REPLY, op->asker.seq) == 0) {
		pl_msg_add_u32(&m, PL_TAG_STATUS, PL_STATUS_OK);
		pl_msg_add_u32(&m, PL_TAG_COUNT, (uint32_t)k);
		pl_msg_add_u32(&m, PL_TAG_TOTAL, clamp32(op->total));
		for (int i = 0; i < op->nunavailable; i++)
			pl_msg_add_str(&m, PL_TAG_UNAVAILABLE, op->unavailable[i]);
		for (size_t i = 0; i < k; i++)
			add_job(&m, &op->jobs[i]);
		if (more)
			pl_msg_add_u8(&m, PL_TAG_MORE, 1);
		if (more && k)
			pl_jobpos_add(&m, PL_TAG_AFTER, &op->jobs[k - 1].pos);
		op_send(op, &m);
		pl_msg_free(&m);
	}
	op_free(op);
}

static void finish_act(sv_op_t *op)
{
	char msg[512] = "";
	pl_msg_t m;
	int all_ok = op->failed == 0 && op->ok > 0;

	if (op->kind == SV_OP_RELEASE && all_ok)
		(void)pl_fmt(msg, sizeof(msg), "released %u job%s to %s", op->ok,
			 op->ok == 1 ? "" : "s", op->printer);
	else if (op->kind == SV_OP_RELEASE)
		(void)pl_fmt(msg, sizeof(msg), "released %u of %u jobs to %s: %.300s",
			 op->ok, op->asked, op->printer, op->first_error);
	else if (all_ok)
		(void)pl_fmt(msg, sizeof(msg), "deleted job %s", op->job_id);
	else
		(void)pl_fmt(msg, sizeof(msg), "%.300s",
			 op->first_error[0] ? op->first_error : "no such job");
	if (op->passed[0] && strlen(msg) + 20 < sizeof(msg))
		(void)pl_fmt(msg + strlen(msg), sizeof(msg) - strlen(msg),
			     " (passed over job %.150s)", op->passed);
	if (op->nresults_left_out && strlen(msg) + 20 < sizeof(msg))
		(void)pl_fmt(msg + strlen(msg), sizeof(msg) - strlen(msg),
			     " (the results of %u jobs are not listed)", op->nresults_left_out);
	/* Refused by the secure-print rule alone: not a printer's fault. */
	int only_rule = op->failed && op->failed == op->refused;
	uint32_t status = all_ok ? PL_STATUS_OK
			: op->kind == SV_OP_RELEASE && only_rule ? PL_STATUS_CONFLICT
			: op->kind == SV_OP_RELEASE ? PL_STATUS_PRINTER
			: op->failed ? PL_STATUS_ERROR : PL_STATUS_NOTFOUND;
	if (pl_msg_init(&m, PL_MSG_RESULT,
			PL_FLAG_REPLY | (all_ok ? 0 : PL_FLAG_ERROR),
			op->asker.seq) == 0) {
		pl_msg_add_u32(&m, PL_TAG_STATUS, status);
		pl_msg_add_u32(&m, PL_TAG_COUNT, op->ok);
		pl_msg_add_str(&m, PL_TAG_MESSAGE, msg);
		/* the per-job results collected along the way */
		pl_msg_append_fields(&m, op->results.buf + PL_PROTO_HDR_LEN,
				     op->results.len - PL_PROTO_HDR_LEN);
		op_send(op, &m);
		pl_msg_free(&m);
	}
	op_free(op);
}

/* ---- phase 1: query ---- */

static int op_expect(sv_op_t *op, sv_svc_t *s, uint32_t seq)
{
	if (op->nwaits >= SV_MAX_SERVICES)
		return -1;
	op_wait_t *w = &op->waits[op->nwaits++];
	pl_strlcpy(w->svc, s->conf.name, sizeof(w->svc));
	w->seq = seq;
	w->done = 0;
	op->pending++;
	return 0;
}

static void op_timeout(pl_loop_t *loop, void *arg);

static int is_all(const sv_op_t *op)
{
	return op->kind == SV_OP_RELEASE && !op->job_id[0] && strcmp(op->mode, "all") == 0;
}

/* The most jobs one holder's answer may bring (what we asked for). */
static uint32_t page_cap(const sv_op_t *op)
{
	return op->kind == SV_OP_JOBS ? op->limit : is_all(op) ? OP_ALL_PAGE : 1;
}

/* What each holder is asked: see the comment at the top. */
static void add_query(const sv_op_t *op, pl_msg_t *m)
{
	if (op->user[0])
		pl_msg_add_str(m, PL_TAG_USER, op->user);
	/* Least disclosure: a release needs ids and times only. */
	if (op->kind == SV_OP_JOBS)
		pl_msg_add_u8(m, PL_TAG_FULL, 1);
	/* A release by user: only what may print at its printer. A
	 * release by id looks for the job anywhere, so that a refusal
	 * says why rather than "no held job". */
	if (op->kind == SV_OP_RELEASE && !op->job_id[0] && !op->any_printer)
		pl_msg_add_str(m, PL_TAG_RELEASE_AT, op->printer);
	if (op->kind == SV_OP_RELEASE && op->job_id[0])
		pl_msg_add_str(m, PL_TAG_JOB_ID, op->job_id);
	else if (op->kind == SV_OP_RELEASE && !is_all(op))
		pl_msg_add_u8(m, PL_TAG_NEWEST, 1);
	if (op->kind == SV_OP_JOBS || is_all(op))
		pl_msg_add_u32(m, PL_TAG_LIMIT, page_cap(op));
	if ((op->kind == SV_OP_JOBS || is_all(op)) && op->has_after)
		pl_jobpos_add(m, PL_TAG_AFTER, &op->after);
}

static int send_query(sv_op_t *op)
{
	sv_sup_t *sup = op->sup;
	op->nwaits = op->pending = 0;
	pl_jobmerge_init(&op->merge);
	for (int i = 0; i < sup->nsvcs; i++) {
		sv_svc_t *s = sup->svcs[i];
		if (s->state != SV_RUNNING || !(s->caps & PL_CAP_HOLDS_JOBS)) {
			if (may_hold_jobs(s))
				note_unavailable(op, s->conf.name);
			continue;
		}
		pl_msg_t m;
		uint32_t seq = ++sup->next_seq;
		if (pl_msg_init(&m, PL_MSG_JOBS_QUERY, 0, seq) < 0)
			continue;
		add_query(op, &m);
		if (pl_msg_finish(&m) == 0 && sv_svc_send(s, &m) == 0)
			op_expect(op, s, seq);
		else
			note_unavailable(op, s->conf.name);
		pl_msg_free(&m);
	}
	if (op->pending == 0)
		return -1;
	op->timer = pl_loop_timer(sup->loop, OP_QUERY_MS, op_timeout, op);
	return 0;
}

/* The holder a most-recent release can go straight to: the one service
 * that holds jobs and runs, when it can take NEWEST in RELEASE_JOBS, and
 * no other holder's state is unknown (starting, or running but not yet
 * introduced): NULL otherwise, and the release asks every holder. */
static sv_svc_t *sole_holder(sv_sup_t *sup)
{
	sv_svc_t *one = NULL;
	for (int i = 0; i < sup->nsvcs; i++) {
		sv_svc_t *s = sup->svcs[i];
		if (!sv_role_holds_jobs(s->conf.role))
			continue;
		if (s->state == SV_STARTING || (s->state == SV_RUNNING && !s->helloed))
			return NULL;
		if (s->state != SV_RUNNING || !(s->caps & PL_CAP_HOLDS_JOBS))
			continue;
		if (one)
			return NULL;
		one = s;
	}
	return one && (one->caps & PL_CAP_RELEASE_NEWEST) ? one : NULL;
}

/* A most-recent release by user with one holder: RELEASE_JOBS(USER,
 * NEWEST) to it, the act at once (see the top). 1 sent, 0 not (ask every
 * holder instead). */
static int send_direct(sv_op_t *op)
{
	if (op->kind != SV_OP_RELEASE || op->job_id[0] || is_all(op) || !op->user[0])
		return 0;
	sv_svc_t *s = sole_holder(op->sup);
	if (!s)
		return 0;
	pl_msg_t m;
	uint32_t seq = ++op->sup->next_seq;
	int rc = 0;
	if (pl_msg_init(&m, PL_MSG_RELEASE_JOBS, 0, seq) < 0)
		return 0;
	pl_msg_add_str(&m, PL_TAG_PRINTER, op->printer);
	if (op->any_printer) {
		pl_msg_add_u8(&m, PL_TAG_ANY_PRINTER, 1);
		pl_msg_add_str(&m, PL_TAG_ASKED_BY, op->asker.who);
	}
	pl_msg_add_str(&m, PL_TAG_USER, op->user);
	pl_msg_add_u8(&m, PL_TAG_NEWEST, 1);
	if (pl_msg_finish(&m) == 0 && sv_svc_send(s, &m) == 0 && op_expect(op, s, seq) == 0)
		rc = 1;
	pl_msg_free(&m);
	if (!rc)
		return 0;
	pl_debug("release for %s at %s: straight to %s, the one holder", op->user,
		 op->printer, s->conf.name);
	op->direct = 1;
	op->phase = 1;
	op->timer = pl_loop_timer(op->sup->loop, OP_ACT_MS, op_timeout, op);
	return 1;
}

/* A release's first step: straight to the one holder, or a query to
 * every holder. -1: no running holder. */
static int send_release(sv_op_t *op)
{
	if (send_direct(op))
		return 0;
	if (op->kind == SV_OP_RELEASE && !op->job_id[0] && !is_all(op))
		pl_debug("release for %s at %s: asking every holder for its newest job",
			 op->user, op->printer);
	return send_query(op);
}

/* A listing forwards each job as its holder described it; a release
 * keeps nothing but the id and the time. */
static int keep_raw(op_job_t *j, const pl_field_t *fl)
{
	j->raw = malloc(fl->len ? fl->len : 1);
	if (!j->raw)
		return -1;
	memcpy(j->raw, fl->val, fl->len);
	j->rawlen = fl->len;
	return 0;
}

/* Room for more jobs, doubling: grown one job at a time, a listing of
 * thousands copied the array thousands of times (quadratic wherever
 * realloc moves the block: under AddressSanitizer, always), and a
 * supervisor busy for a second misses its children's heartbeats. A
 * round holds a page of each holder at most (page_cap). */
static int grow_jobs(sv_op_t *op)
{
	int cap = op->capjobs ? op->capjobs * 2 : 64;
	op_job_t *nj = realloc(op->jobs, sizeof(*nj) * (size_t)cap);
	if (!nj)
		return -1;
	op->jobs = nj;
	op->capjobs = cap;
	return 0;
}

/* One JOB of a holder's answer: 1 kept, 0 dropped (gossip: malformed,
 * or not after the cursor we asked for), -1 out of memory. */
static int collect_job(sv_op_t *op, const char *svc, const pl_field_t *fl)
{
	pl_iter_t jt;
	pl_field_t jf;
	op_job_t j = { 0 };
	if (pl_iter_nested(&jt, fl) < 0)
		return 0;
	while (pl_iter_next(&jt, &jf) == 1) {
		if (jf.tag == PL_TAG_JOB_ID)
			pl_field_str(&jf, j.pos.id, sizeof(j.pos.id));
		else if (jf.tag == PL_TAG_CREATED_MS)
			pl_field_u64(&jf, &j.pos.created_ms);
		else if (jf.tag == PL_TAG_MAYBE_PRINTED)
			pl_field_u64(&jf, &j.maybe);
	}
	if (!j.pos.id[0] || (op->has_after && pl_jobpos_cmpp(&j.pos, &op->after) <= 0))
		return 0;
	pl_strlcpy(j.svc, svc, sizeof(j.svc));
	if (op->kind == SV_OP_JOBS && keep_raw(&j, fl) < 0)
		return -1;
	if (op->njobs == op->capjobs && grow_jobs(op) < 0) {
		free(j.raw);
		return -1;
	}
	op->jobs[op->njobs++] = j;
	return 1;
}

/* A count a holder reports, added to *sum; a wild one is dropped. */
static void add_count(const pl_field_t *fl, uint64_t *sum)
{
	uint32_t v;
	if (pl_field_u32(fl, &v) == 0 && v <= OP_WILD_COUNT)
		*sum += v;
}

/* A holder's answer to JOBS_QUERY: its page of jobs (at most what we
 * asked for), its counts, and whether it has more (for the merge). */
static void collect_jobs(sv_op_t *op, const char *svc, const pl_frame_t *f)
{
	pl_iter_t it;
	pl_field_t fl;
	uint64_t elsewhere = 0, maybe = 0, total = 0;
	uint32_t got = 0, cap = page_cap(op);
	uint8_t more = 0;
	int first = op->njobs;
	if (f->flags & PL_FLAG_ERROR) {
		pl_warn("%s: could not list its held jobs", svc);
		note_unavailable(op, svc);
		return;
	}
	pl_iter_frame(&it, f);
	while (pl_iter_next(&it, &fl) == 1) {
		if (fl.tag == PL_TAG_ELSEWHERE)
			add_count(&fl, &elsewhere);
		else if (fl.tag == PL_TAG_MAYBE_COUNT)
			add_count(&fl, &maybe);
		else if (fl.tag == PL_TAG_TOTAL)
			add_count(&fl, &total);
		else if (fl.tag == PL_TAG_MORE && pl_field_u8(&fl, &more) < 0)
			more = 0;
		else if (fl.tag == PL_TAG_JOB && got >= cap)
			more = 1; /* more than asked for: the rest is its next page */
		else if (fl.tag == PL_TAG_JOB && collect_job(op, svc, &fl) > 0)
			got++;
	}
	/* "All" passes over the same secure jobs on every page. */
	op->elsewhere += op->round == 0 ? clamp32(elsewhere) : 0;
	op->maybe += clamp32(maybe);
	op->total += total;
	const pl_jobpos_t *last = NULL;
	for (int i = first; i < op->njobs; i++)
		if (!last || pl_jobpos_cmpp(&op->jobs[i].pos, last) > 0)
			last = &op->jobs[i].pos;
	pl_jobmerge_page(&op->merge, last, more == 1);
}

/* ---- phase 2: act ---- */

static void add_result(sv_op_t *op, const char *svc, const char *id,
		       uint32_t status, const char *msg);

/* The one holder's answer to RELEASE_JOBS(NEWEST): the result of the job
 * it chose, or none and what it passed over. An error answer (it could not
 * choose) answers the asker: -1, op freed. */
static int collect_direct(sv_op_t *op, const char *svc, const pl_frame_t *f)
{
	pl_iter_t it;
	pl_field_t fl;
	uint64_t elsewhere = 0, maybe = 0;
	pl_result_row_t res;
	if (f->flags & PL_FLAG_ERROR) {
		char msg[256] = "failed", why[400];
		pl_frame_get_str(f, PL_TAG_MESSAGE, msg, sizeof(msg));
		(void)pl_fmt(why, sizeof(why), "%s could not release: %s", svc, msg);
		op_fail(op, PL_STATUS_ERROR, why);
		return -1;
	}
	pl_iter_frame(&it, f);
	while (pl_iter_next(&it, &fl) == 1) {
		if (fl.tag == PL_TAG_ELSEWHERE)
			add_count(&fl, &elsewhere);
		else if (fl.tag == PL_TAG_MAYBE_COUNT)
			add_count(&fl, &maybe);
		else if (fl.tag == PL_TAG_JOB && !op->asked && /* one job: more is gossip */
			 pl_result_row_decode(&fl, &res) == 0 && res.id[0]) {
			op->asked++;
			add_result(op, svc, res.id, res.status, res.message);
		}
	}
	op->elsewhere += clamp32(elsewhere);
	op->maybe += clamp32(maybe);
	return 0;
}

/* The chosen job svc holds with this id, not yet answered for; or NULL
 * (an answer for a job we did not ask about, or a second one: gossip). */
static op_job_t *asked_job(sv_op_t *op, const char *svc, const char *id)
{
	for (int i = 0; i < op->njobs; i++) {
		op_job_t *j = &op->jobs[i];
		if (j->chosen && !j->answered && strcmp(j->pos.id, id) == 0 &&
		    strcmp(j->svc, svc) == 0)
			return j;
	}
	return NULL;
}

static void add_result(sv_op_t *op, const char *svc, const char *id,
		       uint32_t status, const char *msg)
{
	if (status == PL_STATUS_OK) {
		op->ok++;
	} else {
		op->failed++;
		op->refused += status == PL_STATUS_CONFLICT;
		op->damaged += status == PL_STATUS_INTEGRITY;
		if (!op->first_error[0])
			(void)pl_fmt(op->first_error, sizeof(op->first_error), "%s: %s",
				 id, msg[0] ? msg : "failed");
	}
	pl_msg_t *m = &op->results;
	/* Room for this result, the answer's own fields and the biggest
	 * job id, source and message a result may have. */
	if (m->len + strlen(msg) + 1024 > OP_RESULTS_BYTES) {
		op->nresults_left_out++;
		return;
	}
	pl_msg_nest_begin(m, PL_TAG_JOB);
	pl_msg_add_str(m, PL_TAG_JOB_ID, id);
	pl_msg_add_u32(m, PL_TAG_STATUS, status);
	if (msg[0])
		pl_msg_add_str(m, PL_TAG_MESSAGE, msg);
	pl_msg_add_str(m, PL_TAG_SOURCE, svc);
	pl_msg_nest_end(m);
}

/* Every job chosen from svc that has no result yet (its holder stopped,
 * went silent, left it out of its answer, or was never asked) is a
 * failure of its own, with msg: "released 0 of 10", never "0 of 1" for
 * one lost batch. */
static void unanswered_fail(sv_op_t *op, const char *svc, const char *msg)
{
	for (int i = 0; i < op->njobs; i++) {
		op_job_t *j = &op->jobs[i];
		if (!j->chosen || j->answered || strcmp(j->svc, svc) != 0)
			continue;
		j->answered = 1;
		add_result(op, svc, j->pos.id, PL_STATUS_PRINTER, msg);
	}
}

static void note_result(sv_op_t *op, const char *svc, const pl_field_t *fl)
{
	pl_result_row_t res;
	if (pl_result_row_decode(fl, &res) < 0)
		return;
	uint32_t status = res.status;
	const char *id = res.id, *msg = res.message;
	if (status == PL_STATUS_NOTFOUND && op->kind == SV_OP_DELETE)
		return; /* deletes go to every holder; only the owner matters */
	if (op->kind == SV_OP_RELEASE) {
		op_job_t *j = asked_job(op, svc, id);
		if (!j)
			return;
		j->answered = 1;
	}
	add_result(op, svc, id, status, msg);
}

/* A holder that stopped or went silent during the act phase: each job it
 * was asked to release fails on its own; a delete fails once. */
static void act_lost(sv_op_t *op, const char *svc, const char *what)
{
	char why[256];
	if (op->direct) {
		/* Which job it chose, and whether it printed, it could not say:
		 * one job asked for, failed. */
		(void)pl_fmt(why, sizeof(why), "%s %s; whether it printed is not known",
			     svc, what);
		op->asked++;
		op->failed++;
		if (!op->first_error[0])
			pl_strlcpy(op->first_error, why, sizeof(op->first_error));
		return;
	}
	if (op->kind == SV_OP_RELEASE) {
		/* What it printed before it stopped, it could not say. */
		(void)pl_fmt(why, sizeof(why), "%s %s; whether it printed is not known",
			     svc, what);
		unanswered_fail(op, svc, why);
		return;
	}
	(void)pl_fmt(why, sizeof(why), "%s %s", svc, what);
	op->failed++;
	if (!op->first_error[0])
		pl_strlcpy(op->first_error, why, sizeof(op->first_error));
}

static int send_act(sv_op_t *op, sv_svc_t *s, uint16_t type)
{
	pl_msg_t m;
	uint32_t seq = ++op->sup->next_seq;
	int n = 0;
	if (pl_msg_init(&m, type, 0, seq) < 0)
		return -1;
	if (op->kind == SV_OP_RELEASE)
		pl_msg_add_str(&m, PL_TAG_PRINTER, op->printer);
	if (op->kind == SV_OP_RELEASE && op->any_printer) {
		pl_msg_add_u8(&m, PL_TAG_ANY_PRINTER, 1);
		pl_msg_add_str(&m, PL_TAG_ASKED_BY, op->asker.who);
	}
	if (op->kind == SV_OP_RELEASE && op->reprint)
		pl_msg_add_u8(&m, PL_TAG_REPRINT, 1);
	if (op->kind == SV_OP_DELETE) {
		pl_msg_add_str(&m, PL_TAG_JOB_ID, op->job_id);
		n = 1;
	}
	for (int i = 0; i < op->njobs; i++) {
		if (op->jobs[i].chosen && strcmp(op->jobs[i].svc, s->conf.name) == 0) {
			pl_msg_add_str(&m, PL_TAG_JOB_ID, op->jobs[i].pos.id);
			n++;
		}
	}
	int rc = -1;
	if (n && pl_msg_finish(&m) == 0 && sv_svc_send(s, &m) == 0)
		rc = op_expect(op, s, seq);
	pl_msg_free(&m);
	return rc;
}

/* Chosen jobs whose holder was not asked (it stopped between the query
 * and now): failures, counted like the others. */
static void not_asked_fail(sv_op_t *op)
{
	for (int i = 0; i < op->njobs; i++) {
		const op_job_t *j = &op->jobs[i];
		int asked = 0;
		for (int k = 0; k < op->nwaits && !asked; k++)
			asked = strcmp(op->waits[k].svc, j->svc) == 0;
		if (j->chosen && !j->answered && !asked) {
			char why[128];
			(void)pl_fmt(why, sizeof(why), "%s is not running; not printed", j->svc);
			unanswered_fail(op, j->svc, why);
		}
	}
}

static void start_act(sv_op_t *op)
{
	sv_sup_t *sup = op->sup;
	op->phase = 1;
	op->nwaits = op->pending = 0;
	pl_loop_timer_cancel(sup->loop, op->timer);
	op->timer = NULL;
	for (int i = 0; i < sup->nsvcs; i++) {
		sv_svc_t *s = sup->svcs[i];
		if (s->state != SV_RUNNING || !(s->caps & PL_CAP_HOLDS_JOBS))
			continue;
		send_act(op, s, op->kind == SV_OP_DELETE ? PL_MSG_DELETE_JOBS
							 : PL_MSG_RELEASE_JOBS);
	}
	if (op->kind == SV_OP_RELEASE)
		not_asked_fail(op);
	if (op->pending == 0 && op->kind == SV_OP_RELEASE && op->failed) {
		finish_act(op); /* "released 0 of N", each job with its reason */
		return;
	}
	if (op->pending == 0) {
		op_fail(op, PL_STATUS_ERROR, "the services holding the jobs went away");
		return;
	}
	op->timer = pl_loop_timer(sup->loop, OP_ACT_MS, op_timeout, op);
}

/* Nothing to release: why, as precisely as the holders said. */
static void none_left(sv_op_t *op)
{
	char msg[400];
	if (op->maybe)
		(void)pl_fmt(msg, sizeof(msg),
			     "no held jobs for %s that may print now: %u may have "
			     "printed already (a release was cut off); release %s by "
			     "id with reprint", op->user, op->maybe,
			     op->maybe == 1 ? "it" : "them");
	else if (op->elsewhere)
		(void)pl_fmt(msg, sizeof(msg),
			     "no held jobs for %s that may print at %s: %u secure job%s "
			     "for another printer, to be released there", op->user,
			     op->printer, op->elsewhere, op->elsewhere == 1 ? "" : "s");
	else
		(void)pl_fmt(msg, sizeof(msg), "no held jobs for %s", op->user);
	op_fail(op, PL_STATUS_NOTFOUND, msg);
}

/* One job by its id (the console's release button). */
static void choose_by_id(sv_op_t *op)
{
	for (int i = 0; i < op->njobs; i++)
		if (strcmp(op->jobs[i].pos.id, op->job_id) == 0) {
			op->jobs[i].chosen = 1;
			op->asked++;
		}
	if (!op->asked) {
		char msg[200];
		(void)pl_fmt(msg, sizeof(msg), "no held job %s", op->job_id);
		op_fail(op, PL_STATUS_NOTFOUND, msg);
		return;
	}
	start_act(op);
}

/* A job that may have printed already is printed again only when asked
 * for by its id: never by a swipe, "most recent" or "all". The holders
 * leave those out of NEWEST already; a page for "all" has them. */
static int choose(sv_op_t *op, op_job_t *j)
{
	if (j->maybe) {
		op->maybe++;
		return 0;
	}
	j->chosen = 1;
	op->asked++;
	return 1;
}

/* Each holder sent its newest job that may print: the newest of those
 * is the most recent in the whole Service Client. */
static void choose_newest(sv_op_t *op)
{
	sort_jobs(op);
	for (int i = op->njobs - 1; i >= 0; i--) {
		if (choose(op, &op->jobs[i])) {
			start_act(op);
			return;
		}
	}
	none_left(op);
}

static int next_page(sv_op_t *op);

/* "All", a page at a time: the first jobs of the merged pages, released;
 * the next page starts after the last of them (op_step). */
static void choose_page(sv_op_t *op)
{
	int more, any = 0;
	sort_jobs(op);
	size_t k = pl_jobmerge_take(&op->merge, op->jobs, (size_t)op->njobs,
				    sizeof(op->jobs[0]), OP_ALL_PAGE, &more);
	op->njobs = (int)k; /* the rest: asked for again after these */
	op->more = more && k;
	if (op->more) {
		op->after = op->jobs[k - 1].pos;
		op->has_after = 1;
	}
	for (size_t i = 0; i < k; i++)
		any |= choose(op, &op->jobs[i]);
	if (any)
		start_act(op);
	else if (next_page(op))
		; /* a page of maybe-printed jobs only: on to the next */
	else if (op->asked)
		finish_act(op); /* released on earlier pages */
	else
		none_left(op);
}

static void after_query(sv_op_t *op)
{
	if (op->kind == SV_OP_JOBS)
		finish_jobs(op);
	else if (op->job_id[0])
		choose_by_id(op);
	else if (is_all(op))
		choose_page(op);
	else
		choose_newest(op);
}

/* The next round of queries, from scratch but for what the answer
 * collects (results, counts) and where it is (the cursor). */
static void new_round(sv_op_t *op)
{
	free_jobs(op);
	op->phase = 0;
	op->direct = 0;
	op->more = 0;
	pl_loop_timer_cancel(op->sup->loop, op->timer);
	op->timer = NULL;
}

/* "All" goes on with the page after the last one released: 1 when the
 * next round started (or failed and was answered). */
static int next_page(sv_op_t *op)
{
	if (!is_all(op) || !op->more)
		return 0;
	new_round(op);
	op->round++;
	if (send_query(op) < 0) {
		/* The holders went away: what was released so far stands. */
		if (op->asked)
			finish_act(op);
		else
			op_fail(op, PL_STATUS_ERROR, "no running service holds jobs");
	}
	return 1;
}

/* "Most recent" met only damaged jobs, which their holders have now set
 * aside: ask again, so the owner's next job prints (a few times at most:
 * each round sets at least one job aside). */
static int retry_past_damaged(sv_op_t *op)
{
	if (op->kind != SV_OP_RELEASE || op->job_id[0] || op->ok ||
	    strcmp(op->mode, "most-recent") != 0 || !op->failed ||
	    op->damaged != op->failed || op->retries >= 3)
		return 0;
	pl_warn("release for %s: job %s; trying the next one", op->user,
		op->first_error);
	op->retries++;
	if (!op->passed[0])
		pl_strlcpy(op->passed, op->first_error, sizeof(op->passed));
	new_round(op);
	op->ok = op->failed = op->refused = op->damaged = op->maybe = 0;
	op->elsewhere = 0;
	op->asked = op->nresults_left_out = 0;
	op->first_error[0] = '\0';
	pl_msg_free(&op->results);
	pl_msg_init(&op->results, PL_MSG_RESULT, PL_FLAG_REPLY, op->asker.seq);
	if (send_release(op) < 0)
		op_fail(op, PL_STATUS_ERROR, "no running service holds jobs");
	return 1;
}

/* ---- replies and failures ---- */

static void op_step(sv_op_t *op)
{
	if (op->pending > 0)
		return;
	if (op->phase == 0)
		after_query(op);
	else if (op->direct && !op->asked)
		none_left(op); /* the one holder had none that may print */
	else if (!retry_past_damaged(op) && !next_page(op))
		finish_act(op);
}

static void op_timeout(pl_loop_t *loop, void *arg)
{
	sv_op_t *op = arg;
	(void)loop;
	op->timer = NULL;
	for (int i = 0; i < op->nwaits; i++) {
		if (op->waits[i].done)
			continue;
		pl_warn("%s: no answer to %s in time", op->waits[i].svc,
			op->phase ? "a release" : "a job query");
		op->waits[i].done = 1;
		if (op->phase == 0)
			note_unavailable(op, op->waits[i].svc);
		else
			act_lost(op, op->waits[i].svc, "did not answer in time");
	}
	op->pending = 0;
	op_step(op);
}

int sv_jobops_reply(sv_sup_t *sup, sv_svc_t *from, const pl_frame_t *f)
{
	for (sv_op_t *op = sup->ops; op; op = op->next) {
		for (int i = 0; i < op->nwaits; i++) {
			op_wait_t *w = &op->waits[i];
			if (w->done || w->seq != f->seq ||
			    strcmp(w->svc, from->conf.name) != 0)
				continue;
			w->done = 1;
			op->pending--;
			if (op->phase == 0) {
				collect_jobs(op, from->conf.name, f);
			} else if (op->direct) {
				if (collect_direct(op, from->conf.name, f) < 0)
					return 1;
			} else {
				pl_iter_t it;
				pl_field_t fl;
				pl_iter_frame(&it, f);
				while (pl_iter_next(&it, &fl) == 1)
					if (fl.tag == PL_TAG_JOB)
						note_result(op, from->conf.name, &fl);
				if (op->kind == SV_OP_RELEASE)
					unanswered_fail(op, from->conf.name, "no result for this "
							"job in the answer; whether it printed is "
							"not known");
			}
			op_step(op);
			return 1;
		}
	}
	return 0;
}

void sv_jobops_service_gone(sv_sup_t *sup, sv_svc_t *s)
{
	sv_op_t *op = sup->ops;
	while (op) {
		sv_op_t *next = op->next;
		for (int i = 0; i < op->nwaits; i++) {
			op_wait_t *w = &op->waits[i];
			if (w->done || strcmp(w->svc, s->conf.name) != 0)
				continue;
			w->done = 1;
			op->pending--;
			if (op->phase == 0)
				note_unavailable(op, w->svc);
			else
				act_lost(op, w->svc, "stopped during the operation");
		}
		if (op->pending == 0)
			op_step(op); /* may free op */
		op = next;
	}
}

/* ---- starting ---- */

/* The override of the secure-print rule (ANY_PRINTER u8 1): an
 * administrator's, so only from the control socket. A service asking for
 * it (a badge swipe must never print a secure job elsewhere; a service
 * that sends it has been subverted or is wrong) is refused, nothing is
 * released, and the log says who. -1 when the op was answered and freed. */
static int any_printer_asked(sv_op_t *op, const pl_frame_t *f)
{
	pl_field_t fl;
	uint8_t v = 0;
	if (pl_frame_find(f, PL_TAG_ANY_PRINTER, &fl) != 1 ||
	    pl_field_u8(&fl, &v) < 0 || v != 1)
		return 0;
	if (!op->asker.is_client) {
		pl_warn("%s: a RELEASE with ANY_PRINTER refused: only an administrator "
			"may release a secure job at another printer", op->asker.svc);
		op_fail(op, PL_STATUS_AUTH, "only an administrator (plsc, the console) "
			"may release a secure job at another printer");
		return -1;
	}
	op->any_printer = 1;
	pl_info("release to %s with ANY_PRINTER: secure jobs may print there, "
		"asked by %s", op->printer, op->asker.who);
	return 0;
}

/* Printing a maybe-printed job again (REPRINT u8 1) is a person's choice:
 * from the control socket only, and only with a job id. */
static int reprint_asked(sv_op_t *op, const pl_frame_t *f)
{
	pl_field_t fl;
	uint8_t v = 0;
	if (pl_frame_find(f, PL_TAG_REPRINT, &fl) != 1 ||
	    pl_field_u8(&fl, &v) < 0 || v != 1)
		return 0;
	if (!op->asker.is_client || !op->job_id[0]) {
		op_fail(op, PL_STATUS_BADREQ, "reprint needs a job id, from plsc or "
			"the console");
		return -1;
	}
	op->reprint = 1;
	pl_info("release of job %s to %s with reprint, asked by %s", op->job_id,
		op->printer, op->asker.who);
	return 0;
}

/* CTL_JOBS: the page asked for. No LIMIT: a whole page. A cursor that
 * does not parse is refused: read as "from the start", it would send a
 * client walking the pages round in a circle. -1 when answered. */
static int page_asked(sv_op_t *op, const pl_frame_t *f)
{
	pl_field_t fl;
	if (pl_frame_get_u32(f, PL_TAG_LIMIT, &op->limit) < 0 || op->limit > OP_PAGE_MAX)
		op->limit = OP_PAGE_MAX;
	if (pl_frame_find(f, PL_TAG_AFTER, &fl) != 1)
		return 0;
	if (pl_jobpos_decode(&fl, &op->after) < 0) {
		op_fail(op, PL_STATUS_BADREQ, "malformed cursor (AFTER)");
		return -1;
	}
	op->has_after = 1;
	return 0;
}

void sv_jobops_start(sv_sup_t *sup, int kind, const pl_frame_t *f,
		     const sv_asker_t *asker)
{
	sv_op_t *op = calloc(1, sizeof(*op));
	if (!op)
		return;
	op->sup = sup;
	op->kind = kind;
	op->asker = *asker;
	op->next = sup->ops;
	sup->ops = op;
	pl_msg_init(&op->results, PL_MSG_RESULT, PL_FLAG_REPLY, asker->seq);
	pl_frame_get_str(f, PL_TAG_USER, op->user, sizeof(op->user));
	pl_frame_get_str(f, PL_TAG_PRINTER, op->printer, sizeof(op->printer));
	pl_frame_get_str(f, PL_TAG_JOB_ID, op->job_id, sizeof(op->job_id));
	if (pl_frame_get_str(f, PL_TAG_MODE, op->mode, sizeof(op->mode)) < 0)
		pl_strlcpy(op->mode, "most-recent", sizeof(op->mode));
	if (kind == SV_OP_JOBS && page_asked(op, f) < 0)
		return;
	if (kind == SV_OP_RELEASE && any_printer_asked(op, f) < 0)
		return;
	if (kind == SV_OP_RELEASE && reprint_asked(op, f) < 0)
		return;
	if (kind == SV_OP_RELEASE && ((!op->user[0] && !op->job_id[0]) || !op->printer[0])) {
		op_fail(op, PL_STATUS_BADREQ, "a release needs a user or a job id, and a printer");
		return;
	}
	if (kind == SV_OP_RELEASE && strcmp(op->mode, "all") != 0 &&
	    strcmp(op->mode, "most-recent") != 0) {
		op_fail(op, PL_STATUS_BADREQ, "mode must be most-recent or all");
		return;
	}
	if (kind == SV_OP_DELETE) {
		if (!op->job_id[0]) {
			op_fail(op, PL_STATUS_BADREQ, "a delete needs a job id");
			return;
		}
		start_act(op);
		return;
	}
	if (send_release(op) < 0) {
		if (kind == SV_OP_JOBS)
			finish_jobs(op);
		else
			op_fail(op, PL_STATUS_ERROR, "no running service holds jobs");
	}
}
