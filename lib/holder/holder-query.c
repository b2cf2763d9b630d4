/* JOBS_QUERY: our held jobs for the supervisor, a page at a time
 * (PROTOCOL.md §8). Every answer fits the supervisor channel whatever we
 * hold: a page has at most HQ_PAGE_MAX jobs, and that many jobs at their
 * largest stay well under the channel's frame (checked when this
 * compiles), so a listing of 100,000 jobs is many small answers and never
 * one the supervisor would take for a protocol violation.
 *
 * Three kinds of question:
 *   a page       LIMIT jobs after the cursor AFTER, oldest first (the
 *                listing for plsc jobs and the console, with FULL; the
 *                pages of an "all" release, without), with TOTAL and MORE
 *   NEWEST       the one newest job that may be released (releasable at
 *                RELEASE_AT, not maybe-printed): a most-recent release
 *                needs no more, however many jobs the user has
 *   JOB_ID       that job, if we hold it (a release by id)
 * Without FULL a job is its id and creation time only (and MAYBE_PRINTED
 * when set): the supervisor never sees a title or a size for a swipe.
 *
 * Secure print: with RELEASE_AT (a release by user, without the
 * override), we answer for that printer, so "most recent" is the newest
 * job that may print there; a swipe at the wrong printer neither prints a
 * secure job nor stops at it while an older pull job waits. The filter
 * happens here, so a job's printer never reaches the supervisor for a
 * badge swipe (least disclosure, as without FULL). */
#include "holder-private.h"

#include <stdlib.h>
#include <string.h>

#include "pl_chan.h"
#include "pl_jobpage.h"
#include "pl_log.h"
#include "pl_util.h"

#define HQ_PAGE_MAX 500u

/* A string field at its longest (the metadata's buffer, less its NUL). */
#define HQ_STR(field) (PL_FIELD_HDR_LEN + sizeof(((pl_job_meta_t *)0)->field) - 1)
#define HQ_NUM(bytes) (PL_FIELD_HDR_LEN + (bytes))
/* A job's nested JOB with FULL, every field at its largest. */
#define HQ_JOB_MAX                                                                      \
	(PL_FIELD_HDR_LEN + HQ_STR(id) + HQ_STR(owner) + HQ_STR(workstation) +          \
	 HQ_STR(title) + HQ_STR(printer) + HQ_STR(format) + HQ_STR(page_size) +         \
	 HQ_NUM(4) + 4 * HQ_NUM(8))
/* What a page may fill: half the frame, the rest for the fields around
 * the jobs and for what the supervisor adds to each (SOURCE). */
#define HQ_PAGE_BYTES (PL_CHAN_SUPERVISOR_MAX_FRAME / 2)
_Static_assert(HQ_PAGE_MAX * HQ_JOB_MAX <= HQ_PAGE_BYTES,
	       "a page of jobs at their largest must fit half a channel frame");

typedef struct {
	char user[128], at[128], job_id[PL_JOBPOS_ID_MAX];
	int full, newest, has_after;
	uint32_t limit;
	pl_jobpos_t after;
	uint32_t elsewhere; /* left out: secure jobs for another printer */
	uint32_t maybe;	    /* left out by NEWEST: maybe-printed */
} hq_t;

int holder_flag_on(const pl_frame_t *f, uint16_t tag)
{
	pl_field_t fl;
	uint8_t v = 0;
	if (pl_frame_find(f, tag, &fl) == 1 && pl_field_u8(&fl, &v) < 0)
		v = 0;
	return v == 1;
}

/* Names compare exactly, as the directory's primary key does, and the
 * submission checked the name against it. */
int holder_releasable_at(const pl_job_meta_t *j, const char *printer)
{
	return !j->printer[0] || strcmp(j->printer, printer) == 0;
}

/* The full listing, for plsc jobs and the console. Titles are for the
 * operator; the report_titles switch only governs the job events. */
static void add_job(pl_msg_t *m, const pl_job_meta_t *j)
{
	pl_msg_nest_begin(m, PL_TAG_JOB);
	pl_msg_add_str(m, PL_TAG_JOB_ID, j->id);
	pl_msg_add_str(m, PL_TAG_USER, j->owner);
	pl_msg_add_str(m, PL_TAG_WORKSTATION, j->workstation);
	pl_msg_add_str(m, PL_TAG_TITLE, j->title);
	pl_msg_add_str(m, PL_TAG_PRINTER, j->printer);
	pl_msg_add_str(m, PL_TAG_FORMAT, j->format);
	pl_msg_add_str(m, PL_TAG_PAGE_SIZE, j->page_size);
	if (j->pages) /* absent = unknown (PROTOCOL.md) */
		pl_msg_add_u32(m, PL_TAG_PAGES, j->pages);
	pl_msg_add_u64(m, PL_TAG_SIZE, j->size);
	pl_msg_add_u64(m, PL_TAG_CREATED_MS, (uint64_t)j->created_ms);
	pl_msg_add_u64(m, PL_TAG_EXPIRES_MS, (uint64_t)j->expires_ms);
	if (j->maybe_printed_ms)
		pl_msg_add_u64(m, PL_TAG_MAYBE_PRINTED, (uint64_t)j->maybe_printed_ms);
	pl_msg_nest_end(m);
}

/* What a release needs to choose jobs across holders, and no more. */
static void add_brief(pl_msg_t *m, const pl_job_meta_t *j)
{
	pl_msg_nest_begin(m, PL_TAG_JOB);
	pl_msg_add_str(m, PL_TAG_JOB_ID, j->id);
	pl_msg_add_u64(m, PL_TAG_CREATED_MS, (uint64_t)j->created_ms);
	/* "All" passes over it; a release by id needs REPRINT (the
	 * supervisor learns why it was passed over). */
	if (j->maybe_printed_ms)
		pl_msg_add_u64(m, PL_TAG_MAYBE_PRINTED, (uint64_t)j->maybe_printed_ms);
	pl_msg_nest_end(m);
}

static void parse(hq_t *q, const pl_frame_t *f)
{
	pl_field_t fl;
	memset(q, 0, sizeof(*q));
	pl_frame_get_str(f, PL_TAG_USER, q->user, sizeof(q->user));
	pl_frame_get_str(f, PL_TAG_RELEASE_AT, q->at, sizeof(q->at));
	pl_frame_get_str(f, PL_TAG_JOB_ID, q->job_id, sizeof(q->job_id));
	q->full = holder_flag_on(f, PL_TAG_FULL);
	q->newest = holder_flag_on(f, PL_TAG_NEWEST);
	/* No LIMIT (or a malformed one): a page as large as we give. */
	if (pl_frame_get_u32(f, PL_TAG_LIMIT, &q->limit) < 0 || q->limit > HQ_PAGE_MAX)
		q->limit = HQ_PAGE_MAX;
	/* A malformed cursor starts at the beginning: a page too many,
	 * never a job skipped. */
	q->has_after = pl_frame_find(f, PL_TAG_AFTER, &fl) == 1 &&
		       pl_jobpos_decode(&fl, &q->after) == 0;
	if (q->newest || q->job_id[0])
		q->limit = 1;
}

/* Called by the store, locked, for every job on offer (of the user). */
static int keep(const pl_job_meta_t *m, void *arg)
{
	hq_t *q = arg;
	if (q->job_id[0])
		return strcmp(m->id, q->job_id) == 0;
	if (q->at[0] && !holder_releasable_at(m, q->at)) {
		q->elsewhere++;
		return 0;
	}
	if (q->newest && m->maybe_printed_ms) {
		q->maybe++;
		return 0;
	}
	return 1;
}

/* The jobs, then whether more follow and where the next page starts. A
 * page that would outgrow HQ_PAGE_BYTES stops early (with MORE): it
 * cannot while the assertion above holds, but a field added to a job one
 * day must not make a listing kill its holder. */
static void add_page(pl_msg_t *m, const hq_t *q, const pl_job_meta_t *jobs, size_t n,
		     int more)
{
	size_t k = 0;
	for (; k < n && m->len + HQ_JOB_MAX <= HQ_PAGE_BYTES; k++) {
		if (q->full)
			add_job(m, &jobs[k]);
		else
			add_brief(m, &jobs[k]);
	}
	pl_msg_add_u32(m, PL_TAG_COUNT, (uint32_t)k);
	if (!more && k == n)
		return;
	pl_jobpos_t last = { .created_ms = k ? (uint64_t)jobs[k - 1].created_ms : 0 };
	pl_msg_add_u8(m, PL_TAG_MORE, 1);
	if (!k)
		return; /* a LIMIT of 0: nothing to continue after */
	memcpy(last.id, jobs[k - 1].id, sizeof(jobs[k - 1].id));
	pl_jobpos_add(m, PL_TAG_AFTER, &last);
}

static void answer(pl_holder_t *h, const pl_frame_t *f, const hq_t *q,
		   const pl_job_meta_t *jobs, size_t n, const pl_jobstore_page_info_t *info)
{
	pl_msg_t m;
	if (pl_msg_init(&m, PL_MSG_RESULT, PL_FLAG_REPLY, f->seq) < 0)
		return;
	pl_msg_add_u32(&m, PL_TAG_STATUS, PL_STATUS_OK);
	pl_msg_add_u32(&m, PL_TAG_TOTAL, info->total > UINT32_MAX ? UINT32_MAX
								  : (uint32_t)info->total);
	if (q->elsewhere)
		pl_msg_add_u32(&m, PL_TAG_ELSEWHERE, q->elsewhere);
	if (q->maybe)
		pl_msg_add_u32(&m, PL_TAG_MAYBE_COUNT, q->maybe);
	/* NEWEST and JOB_ID ask for one job, not for a page of a listing. */
	add_page(&m, q, jobs, n, info->more && !q->newest && !q->job_id[0]);
	if (pl_msg_finish(&m) == 0)
		holder_send(h, &m);
	pl_msg_free(&m);
}

static void answer_error(pl_holder_t *h, const pl_frame_t *f, const char *why)
{
	pl_msg_t m;
	if (pl_msg_init(&m, PL_MSG_RESULT, PL_FLAG_REPLY | PL_FLAG_ERROR, f->seq) < 0)
		return;
	pl_msg_add_u32(&m, PL_TAG_STATUS, PL_STATUS_ERROR);
	pl_msg_add_str(&m, PL_TAG_MESSAGE, why);
	if (pl_msg_finish(&m) == 0)
		holder_send(h, &m);
	pl_msg_free(&m);
}

int holder_newest(pl_holder_t *h, const char *user, const char *at, char *id,
		  uint32_t *elsewhere, uint32_t *maybe)
{
	hq_t q;
	pl_job_meta_t *jobs = NULL;
	pl_jobstore_page_info_t info;
	size_t n = 0;

	memset(&q, 0, sizeof(q));
	pl_strlcpy(q.user, user, sizeof(q.user));
	pl_strlcpy(q.at, at ? at : "", sizeof(q.at));
	q.newest = 1;
	pl_jobstore_page_t page = {
		.owner = q.user,
		.newest_first = 1,
		.limit = 1,
		.keep = keep,
		.keep_arg = &q,
	};
	if (pl_jobstore_list_page(h->store, &page, &jobs, &n, &info) < 0)
		return -1;
	*elsewhere = q.elsewhere;
	*maybe = q.maybe;
	if (n)
		memcpy(id, jobs[0].id, sizeof(jobs[0].id));
	free(jobs);
	return n ? 1 : 0;
}

void holder_query(pl_holder_t *h, const pl_frame_t *f)
{
	hq_t q;
	pl_job_meta_t *jobs = NULL;
	pl_jobstore_page_info_t info;
	size_t n = 0;

	parse(&q, f);
	pl_jobstore_page_t page = {
		.owner = q.user[0] ? q.user : NULL,
		.newest_first = q.newest,
		.after_id = q.has_after ? q.after.id : NULL,
		.after_ms = (int64_t)q.after.created_ms,
		.limit = q.limit,
		.keep = keep,
		.keep_arg = &q,
	};
	if (pl_jobstore_list_page(h->store, &page, &jobs, &n, &info) < 0) {
		pl_err("cannot list held jobs: out of memory");
		answer_error(h, f, "out of memory listing held jobs");
		return;
	}
	answer(h, f, &q, jobs, n, &info);
	free(jobs);
}
