/* Operations on held jobs across every job-holding service (DESIGN.md §1):
 * a listing, a release (most recent across the whole Service Client, or
 * all) and a delete. The supervisor never sees job data, and metadata
 * only as far as it needs it:
 *   1. JOBS_QUERY(user) to every running holder; collect nested JOBs: for
 *      a release only ids and creation times, the full listing (titles,
 *      sizes, ...) only for CTL_JOBS, which shows it.
 *   2. RELEASE: pick the newest (or all), send each holder RELEASE_JOBS
 *      for its own ids, collect per-job results.
 * Secure print: a job submitted for a printer prints only there. A
 * release by user asks each holder for the jobs releasable at the
 * release's printer (RELEASE_AT), so "most recent" is the newest job that
 * may print there; the holders answer for the printer and the job's own
 * printer never reaches the supervisor. The holder enforces the rule
 * again on RELEASE_JOBS (a release by job id is refused there, with its
 * reason). Only the control socket may override it (ANY_PRINTER). 
 *   3. Answer the asker with one combined RESULT.
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
#include "pl_util.h"

#define OP_QUERY_MS 5000u
#define OP_ACT_MS (15u * 60u * 1000u) /* a release of a large job to a slow printer */
#define OP_MAX_JOBS 4096

typedef struct {
	char svc[SV_NAME_MAX];
	uint32_t seq;
	int done;
} op_wait_t;

typedef struct {
	char svc[SV_NAME_MAX];
	char id[64];
	uint64_t created;
	uint8_t *raw; /* CTL_JOBS only: the nested JOB field's content, as sent */
	uint32_t rawlen;
	uint64_t maybe; /* a release of it was cut off then: it may have printed */
	int chosen;
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
	op_wait_t waits[SV_MAX_SERVICES];
	int nwaits, pending;
	op_job_t *jobs;
	int njobs, capjobs;
	pl_msg_t results; /* nested per-job results, built as they arrive */
	uint32_t ok, failed;
	char first_error[256];
	pl_timer_t *timer;
	struct sv_op *next;
} sv_op_t;

static void op_free(sv_op_t *op)
{
	sv_sup_t *sup = op->sup;
	for (sv_op_t **pp = &sup->ops; *pp; pp = &(*pp)->next)
		if (*pp == op) {
			*pp = op->next;
			break;
		}
	pl_loop_timer_cancel(sup->loop, op->timer);
	for (int i = 0; i < op->njobs; i++)
		free(op->jobs[i].raw);
	free(op->jobs);
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

static int cmp_created(const void *a, const void *b)
{
	const op_job_t *x = a, *y = b;
	return (x->created > y->created) - (x->created < y->created);
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

static void finish_jobs(sv_op_t *op)
{
	pl_msg_t m;
	if (op->njobs > 1)
		qsort(op->jobs, (size_t)op->njobs, sizeof(op->jobs[0]), cmp_created);
	if (pl_msg_init(&m, PL_MSG_RESULT, PL_FLAG_REPLY, op->asker.seq) == 0) {
		pl_msg_add_u32(&m, PL_TAG_STATUS, PL_STATUS_OK);
		pl_msg_add_u32(&m, PL_TAG_COUNT, (uint32_t)op->njobs);
		for (int i = 0; i < op->nunavailable; i++)
			pl_msg_add_str(&m, PL_TAG_UNAVAILABLE, op->unavailable[i]);
		for (int i = 0; i < op->njobs; i++)
			add_job(&m, &op->jobs[i]);
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
			 op->ok, op->ok + op->failed, op->printer, op->first_error);
	else if (all_ok)
		(void)pl_fmt(msg, sizeof(msg), "deleted job %s", op->job_id);
	else
		(void)pl_fmt(msg, sizeof(msg), "%.300s",
			 op->first_error[0] ? op->first_error : "no such job");
	if (op->passed[0] && strlen(msg) + 20 < sizeof(msg))
		(void)pl_fmt(msg + strlen(msg), sizeof(msg) - strlen(msg),
			     " (passed over job %.150s)", op->passed);
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

static int send_query(sv_op_t *op)
{
	sv_sup_t *sup = op->sup;
	op->nwaits = op->pending = 0;
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
		if (op->user[0])
			pl_msg_add_str(&m, PL_TAG_USER, op->user);
		/* Least disclosure: a release needs ids and times only. */
		if (op->kind == SV_OP_JOBS)
			pl_msg_add_u8(&m, PL_TAG_FULL, 1);
		/* A release by user: only what may print at its printer. A
		 * release by id looks for the job anywhere, so that a refusal
		 * says why rather than "no held job". */
		if (op->kind == SV_OP_RELEASE && !op->job_id[0] && !op->any_printer)
			pl_msg_add_str(&m, PL_TAG_RELEASE_AT, op->printer);
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
 * supervisor busy for a second misses its children's heartbeats. */
static int grow_jobs(sv_op_t *op)
{
	int cap = op->capjobs ? op->capjobs * 2 : 64;
	if (cap > OP_MAX_JOBS)
		cap = OP_MAX_JOBS;
	op_job_t *nj = realloc(op->jobs, sizeof(*nj) * (size_t)cap);
	if (!nj)
		return -1;
	op->jobs = nj;
	op->capjobs = cap;
	return 0;
}

static int collect_jobs(sv_op_t *op, const char *svc, const pl_frame_t *f)
{
	pl_iter_t it, jt;
	pl_field_t fl, jf;
	uint32_t elsewhere = 0;
	int rc;
	pl_iter_frame(&it, f);
	while ((rc = pl_iter_next(&it, &fl)) == 1) {
		if (fl.tag == PL_TAG_ELSEWHERE && pl_field_u32(&fl, &elsewhere) == 0 &&
		    elsewhere <= OP_MAX_JOBS)
			op->elsewhere += elsewhere; /* gossip: a wild count is dropped */
		if (fl.tag != PL_TAG_JOB || op->njobs >= OP_MAX_JOBS)
			continue;
		op_job_t j = { 0 };
		if (pl_iter_nested(&jt, &fl) < 0)
			return -1;
		while (pl_iter_next(&jt, &jf) == 1) {
			if (jf.tag == PL_TAG_JOB_ID)
				pl_field_str(&jf, j.id, sizeof(j.id));
			else if (jf.tag == PL_TAG_CREATED_MS)
				pl_field_u64(&jf, &j.created);
			else if (jf.tag == PL_TAG_MAYBE_PRINTED)
				pl_field_u64(&jf, &j.maybe);
		}
		if (!j.id[0])
			continue; /* gossip: a malformed entry is dropped */
		pl_strlcpy(j.svc, svc, sizeof(j.svc));
		if (op->kind == SV_OP_JOBS && keep_raw(&j, &fl) < 0)
			return -1;
		if (op->njobs == op->capjobs && grow_jobs(op) < 0) {
			free(j.raw);
			return -1;
		}
		op->jobs[op->njobs++] = j;
	}
	return rc;
}

/* ---- phase 2: act ---- */

static void note_result(sv_op_t *op, const char *svc, const pl_field_t *fl)
{
	pl_result_row_t res;
	if (pl_result_row_decode(fl, &res) < 0)
		return;
	uint32_t status = res.status;
	const char *id = res.id, *msg = res.message;
	if (status == PL_STATUS_NOTFOUND && op->kind == SV_OP_DELETE)
		return; /* deletes go to every holder; only the owner matters */
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
	pl_msg_nest_begin(m, PL_TAG_JOB);
	pl_msg_add_str(m, PL_TAG_JOB_ID, id);
	pl_msg_add_u32(m, PL_TAG_STATUS, status);
	if (msg[0])
		pl_msg_add_str(m, PL_TAG_MESSAGE, msg);
	pl_msg_add_str(m, PL_TAG_SOURCE, svc);
	pl_msg_nest_end(m);
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
			pl_msg_add_str(&m, PL_TAG_JOB_ID, op->jobs[i].id);
			n++;
		}
	}
	int rc = -1;
	if (n && pl_msg_finish(&m) == 0 && sv_svc_send(s, &m) == 0)
		rc = op_expect(op, s, seq);
	pl_msg_free(&m);
	return rc;
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
	if (op->pending == 0) {
		op_fail(op, PL_STATUS_ERROR, "the services holding the jobs went away");
		return;
	}
	op->timer = pl_loop_timer(sup->loop, OP_ACT_MS, op_timeout, op);
}

static void after_query(sv_op_t *op)
{
	if (op->kind == SV_OP_JOBS) {
		finish_jobs(op);
		return;
	}
	if (op->job_id[0]) {
		/* One job by its id (the console's release button). */
		int found = 0;
		for (int i = 0; i < op->njobs; i++)
			if (strcmp(op->jobs[i].id, op->job_id) == 0)
				op->jobs[i].chosen = found = 1;
		if (!found) {
			char msg[200];
			(void)pl_fmt(msg, sizeof(msg), "no held job %s", op->job_id);
			op_fail(op, PL_STATUS_NOTFOUND, msg);
			return;
		}
		start_act(op);
		return;
	}
	if (op->njobs == 0 && op->elsewhere) {
		char msg[400];
		(void)pl_fmt(msg, sizeof(msg),
			     "no held jobs for %s that may print at %s: %u secure job%s "
			     "for another printer, to be released there", op->user,
			     op->printer, op->elsewhere, op->elsewhere == 1 ? "" : "s");
		op_fail(op, PL_STATUS_NOTFOUND, msg);
		return;
	}
	if (op->njobs == 0) {
		char msg[200];
		(void)pl_fmt(msg, sizeof(msg), "no held jobs for %s", op->user);
		op_fail(op, PL_STATUS_NOTFOUND, msg);
		return;
	}
	if (op->njobs > 1)
		qsort(op->jobs, (size_t)op->njobs, sizeof(op->jobs[0]), cmp_created);
	/* A job that may have printed already is printed again only when
	 * asked for by its id: never by a swipe, "most recent" or "all". */
	int all = strcmp(op->mode, "all") == 0, any = 0;
	for (int i = op->njobs - 1; i >= 0; i--) {
		if (op->jobs[i].maybe) {
			op->maybe++;
			continue;
		}
		if (!all && any)
			continue;
		op->jobs[i].chosen = any = 1; /* newest across holders first */
	}
	if (!any) {
		char msg[400];
		(void)pl_fmt(msg, sizeof(msg),
			     "no held jobs for %s that may print now: %u may have "
			     "printed already (a release was cut off); release %s by "
			     "id with reprint", op->user, op->maybe,
			     op->maybe == 1 ? "it" : "them");
		op_fail(op, PL_STATUS_NOTFOUND, msg);
		return;
	}
	start_act(op);
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
	for (int i = 0; i < op->njobs; i++)
		free(op->jobs[i].raw);
	free(op->jobs);
	op->jobs = NULL;
	op->njobs = 0;
	op->ok = op->failed = op->refused = op->damaged = op->maybe = 0;
	op->elsewhere = 0;
	op->first_error[0] = '\0';
	op->phase = 0;
	pl_msg_free(&op->results);
	pl_msg_init(&op->results, PL_MSG_RESULT, PL_FLAG_REPLY, op->asker.seq);
	pl_loop_timer_cancel(op->sup->loop, op->timer);
	op->timer = NULL;
	if (send_query(op) < 0)
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
	else if (!retry_past_damaged(op))
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
		op->failed += op->phase;
		if (op->phase && !op->first_error[0])
			(void)pl_fmt(op->first_error, sizeof(op->first_error),
				 "%s did not answer in time", op->waits[i].svc);
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
			} else {
				pl_iter_t it;
				pl_field_t fl;
				pl_iter_frame(&it, f);
				while (pl_iter_next(&it, &fl) == 1)
					if (fl.tag == PL_TAG_JOB)
						note_result(op, from->conf.name, &fl);
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
			if (op->phase) {
				op->failed++;
				if (!op->first_error[0])
					(void)pl_fmt(op->first_error, sizeof(op->first_error),
						 "%s stopped during the operation", w->svc);
			}
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
	if (send_query(op) < 0) {
		if (kind == SV_OP_JOBS)
			finish_jobs(op);
		else
			op_fail(op, PL_STATUS_ERROR, "no running service holds jobs");
	}
}
