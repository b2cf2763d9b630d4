/* Requests from the supervisor about our held jobs: list them, release
 * some to a printer, delete some. Releases run on the print pool, one
 * task per request, so the main loop keeps answering heartbeats while a
 * large job streams to a slow printer. A job is verified end to end
 * before its first byte goes out, and shredded only after the printer
 * confirmed it took every byte. A release claims its jobs first, so a
 * second swipe cannot print them again. The shred itself runs later on a
 * low-priority thread: the printer already has the job, and the fsyncs
 * must not take the CPU from the next badge swipe (make bench: [7]). */
#include "op.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pl_log.h"
#include "pl_printer.h"
#include "pl_util.h"

#define REL_MAX_IDS 256

typedef struct {
	char id[PL_JOB_ID_LEN + 1];
	uint32_t status;
	char msg[300];
	pl_job_meta_t meta;
	int have_meta;
	int delivered; /* printed: shred it */
	int shred_rc;
	pl_err_t shred_err;
} rel_item_t;

typedef struct rel_task {
	op_t *op;
	uint32_t seq;
	int is_delete;
	char printer[128];
	char uri[512];
	int nitems;
	rel_item_t items[]; /* sized to the request: see task_from */
} rel_task_t;

void op_reply(op_t *op, const pl_msg_t *m)
{
	if (pl_service_send(op->svc, m) < 0)
		pl_warn("cannot answer the supervisor");
}

/* ---- listing ---- */

static void add_job(pl_msg_t *m, const pl_job_meta_t *j, int titles)
{
	pl_msg_nest_begin(m, PL_TAG_JOB);
	pl_msg_add_str(m, PL_TAG_JOB_ID, j->id);
	pl_msg_add_str(m, PL_TAG_USER, j->owner);
	pl_msg_add_str(m, PL_TAG_WORKSTATION, j->workstation);
	pl_msg_add_str(m, PL_TAG_TITLE, titles ? j->title : "");
	pl_msg_add_str(m, PL_TAG_PRINTER, j->printer);
	pl_msg_add_str(m, PL_TAG_FORMAT, j->format);
	pl_msg_add_str(m, PL_TAG_PAGE_SIZE, j->page_size);
	pl_msg_add_u32(m, PL_TAG_PAGES, j->pages);
	pl_msg_add_u64(m, PL_TAG_SIZE, j->size);
	pl_msg_add_u64(m, PL_TAG_CREATED_MS, (uint64_t)j->created_ms);
	pl_msg_add_u64(m, PL_TAG_EXPIRES_MS, (uint64_t)j->expires_ms);
	pl_msg_nest_end(m);
}

void op_handle_query(op_t *op, const pl_frame_t *f)
{
	char user[128] = "";
	pl_job_meta_t *jobs = NULL;
	size_t n = 0;
	pl_msg_t m;

	pl_frame_get_str(f, PL_TAG_USER, user, sizeof(user));
	if (pl_jobstore_list(op->store, user[0] ? user : NULL, &jobs, &n) < 0)
		n = 0;
	if (pl_msg_init(&m, PL_MSG_RESULT, PL_FLAG_REPLY, f->seq) == 0) {
		pl_msg_add_u32(&m, PL_TAG_STATUS, PL_STATUS_OK);
		pl_msg_add_u32(&m, PL_TAG_COUNT, (uint32_t)n);
		/* Titles are for the operator's console and CLI; the
		 * report_titles switch only governs the job-events log. */
		for (size_t i = 0; i < n; i++)
			add_job(&m, &jobs[i], 1);
		if (pl_msg_finish(&m) == 0)
			op_reply(op, &m);
		pl_msg_free(&m);
	}
	free(jobs);
}

/* ---- release and delete ---- */

/* Sized to the ids the request carries. A task for the largest request
 * is about 300 KiB; allocating that for every badge swipe made the main
 * loop fault in fresh pages per request, which serialised a burst of
 * swipes at about 1 ms each (make bench: [7]). */
static rel_task_t *task_from(op_t *op, const pl_frame_t *f, int is_delete)
{
	pl_iter_t it;
	pl_field_t fl;
	size_t n = 0;
	pl_iter_frame(&it, f);
	while (pl_iter_next(&it, &fl) == 1)
		n += fl.tag == PL_TAG_JOB_ID && n < REL_MAX_IDS;
	rel_task_t *t = calloc(1, sizeof(*t) + n * sizeof(t->items[0]));
	if (!t)
		return NULL;
	t->op = op;
	t->seq = f->seq;
	t->is_delete = is_delete;
	pl_frame_get_str(f, PL_TAG_PRINTER, t->printer, sizeof(t->printer));
	pl_iter_frame(&it, f);
	while (pl_iter_next(&it, &fl) == 1) {
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

static void release_one(rel_task_t *t, rel_item_t *r)
{
	op_t *op = t->op;
	pl_err_t err;
	pl_jobr_t *rd = NULL;

	int rc = pl_jobstore_claim(op->store, r->id, &r->meta);
	if (rc == PL_JS_EBUSY) {
		set_result(r, PL_STATUS_BUSY, "already being released");
		return;
	}
	if (rc < 0) {
		set_result(r, PL_STATUS_NOTFOUND, "no such job");
		return;
	}
	r->have_meta = 1;
	rc = pl_jobstore_read_verified(op->store, r->id, &rd, &err);
	if (rc < 0) {
		pl_jobstore_unclaim(op->store, r->id);
		if (rc == PL_JS_ECORRUPT)
			set_result(r, PL_STATUS_INTEGRITY, "job is damaged, not printed: %s",
				   err.msg);
		else
			set_result(r, PL_STATUS_ERROR, "%s", err.msg);
		return;
	}
	pl_print_opts_t po = {
		.connect_timeout_ms = (int)op->print_connect_timeout_ms,
		.io_timeout_ms = (int)op->print_io_timeout_ms,
		.job_name = r->meta.title[0] ? r->meta.title : r->meta.id,
		.user = r->meta.owner,
		.format = r->meta.format,
	};
	size_t sent = 0;
	rc = pl_print(t->uri, &po, job_source, rd, &sent, &err);
	pl_jobr_close(rd);
	if (rc < 0) {
		pl_jobstore_unclaim(op->store, r->id);
		set_result(r, PL_STATUS_PRINTER, "%s; the job is kept", err.msg);
		return;
	}
	/* Delivered: now, and only now, it may be shredded (release_done
	 * queues that; the claim keeps it from being printed again). */
	r->delivered = 1;
	set_result(r, PL_STATUS_OK, "printed");
}

static void release_work(void *arg)
{
	rel_task_t *t = arg;
	for (int i = 0; i < t->nitems; i++) {
		rel_item_t *r = &t->items[i];
		if (r->status != 0 || r->msg[0])
			continue; /* already answered (unknown printer) */
		if (t->is_delete) {
			pl_err_t err;
			if (pl_jobstore_get(t->op->store, r->id, &r->meta) < 0)
				set_result(r, PL_STATUS_NOTFOUND, "no such job");
			else if ((r->have_meta = 1,
				  pl_jobstore_delete(t->op->store, r->id, &err) < 0))
				set_result(r, PL_STATUS_ERROR, "%s", err.msg);
			else
				set_result(r, PL_STATUS_OK, "deleted");
			continue;
		}
		release_one(t, r);
	}
}

/* ---- shredding what was printed (the shred pool, at low priority) ---- */

static void shred_work(void *arg)
{
	rel_task_t *t = arg;
	for (int i = 0; i < t->nitems; i++) {
		rel_item_t *r = &t->items[i];
		if (!r->delivered)
			continue;
		r->shred_rc = pl_jobstore_delete(t->op->store, r->id, &r->shred_err);
		if (r->shred_rc == PL_JS_ENOENT)
			r->shred_rc = PL_JS_OK; /* deleted on request meanwhile */
	}
}

static void shred_done(void *arg)
{
	rel_task_t *t = arg;
	for (int i = 0; i < t->nitems; i++) {
		rel_item_t *r = &t->items[i];
		if (r->delivered && r->shred_rc < 0)
			pl_err("job %s of %s was printed but could not be shredded: %s; "
			       "it is held again", r->id, r->meta.owner, r->shred_err.msg);
	}
	free(t);
}

static void shred_delivered(rel_task_t *t)
{
	int any = 0;
	for (int i = 0; i < t->nitems; i++)
		any |= t->items[i].delivered;
	if (!any) {
		free(t);
		return;
	}
	if (pl_work_submit(t->op->shred, shred_work, shred_done, t) < 0) {
		shred_work(t); /* out of memory: do it here rather than not */
		shred_done(t);
	}
}

static void release_done(void *arg)
{
	rel_task_t *t = arg;
	op_t *op = t->op;
	pl_msg_t m;

	for (int i = 0; i < t->nitems; i++) {
		rel_item_t *r = &t->items[i];
		if (!r->have_meta)
			continue;
		if (t->is_delete) {
			if (r->status == PL_STATUS_OK) {
				pl_info("deleted job %s of %s on request", r->id, r->meta.owner);
				op_event(op, "deleted", &r->meta, NULL);
			}
		} else if (r->status == PL_STATUS_OK) {
			pl_info("released job %s of %s to %s (%llu bytes)", r->id,
				r->meta.owner, t->printer, (unsigned long long)r->meta.size);
			pl_strlcpy(r->meta.printer, t->printer, sizeof(r->meta.printer));
			op_event(op, "printed", &r->meta, NULL);
		} else {
			pl_err("release of job %s of %s to %s failed: %s", r->id,
			       r->meta.owner, t->printer, r->msg);
			pl_strlcpy(r->meta.printer, t->printer, sizeof(r->meta.printer));
			op_event(op, "print-failed", &r->meta, r->msg);
		}
	}
	if (pl_msg_init(&m, PL_MSG_RESULT, PL_FLAG_REPLY, t->seq) == 0) {
		pl_msg_add_u32(&m, PL_TAG_STATUS, PL_STATUS_OK);
		for (int i = 0; i < t->nitems; i++) {
			pl_msg_nest_begin(&m, PL_TAG_JOB);
			pl_msg_add_str(&m, PL_TAG_JOB_ID, t->items[i].id);
			pl_msg_add_u32(&m, PL_TAG_STATUS, t->items[i].status);
			pl_msg_add_str(&m, PL_TAG_MESSAGE, t->items[i].msg);
			pl_msg_nest_end(&m);
		}
		if (pl_msg_finish(&m) == 0)
			op_reply(op, &m);
		pl_msg_free(&m);
	}
	shred_delivered(t);
}

void op_handle_release(op_t *op, const pl_frame_t *f)
{
	pl_err_t err;
	pl_dir_printer_t p;
	rel_task_t *t = task_from(op, f, 0);
	if (!t)
		return;
	int rc = pl_dir_printer_get(op->dir, t->printer, &p, &err);
	if (rc != 0) {
		for (int i = 0; i < t->nitems; i++)
			set_result(&t->items[i], PL_STATUS_NOTFOUND, "%s",
				   rc > 0 ? "unknown printer" : err.msg);
		release_done(t);
		return;
	}
	pl_strlcpy(t->uri, p.uri, sizeof(t->uri));
	if (pl_work_submit(op->print, release_work, release_done, t) < 0) {
		for (int i = 0; i < t->nitems; i++)
			set_result(&t->items[i], PL_STATUS_BUSY, "out of memory; try again");
		release_done(t); /* an answer, never silence */
	}
}

void op_handle_delete(op_t *op, const pl_frame_t *f)
{
	rel_task_t *t = task_from(op, f, 1);
	if (t && pl_work_submit(op->disk, release_work, release_done, t) < 0) {
		for (int i = 0; i < t->nitems; i++)
			set_result(&t->items[i], PL_STATUS_BUSY, "out of memory; try again");
		release_done(t);
	}
}
