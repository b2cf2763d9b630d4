/* A job pushed by the gateway: received into an anonymous spool file
 * (O_TMPFILE, 0600 in the state dir: nothing stays on disk after a crash,
 * and the gateway still has the job until we acknowledge it), printed on
 * a worker through lib/printer, then acknowledged.
 *
 * Exactly once: the acknowledgement goes out only after the printer took
 * every byte and the gateway's job id was appended to <state>/printed and
 * fdatasync'ed. A job delivered again (the ack was lost with the
 * connection, or either side restarted) whose id is in that record is
 * acknowledged as printed without printing. The one window left is
 * between the printer's clean close and the fdatasync of the record: a
 * crash exactly there prints the job a second time (at least once, never
 * lost). */
#include "on.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pl_log.h"
#include "pl_printer.h"
#include "pl_util.h"

struct on_job {
	on_t *on;
	char id[ON_ID_MAX + 1];
	char printer[128];
	char uri[512];
	char user[128];
	char title[256];
	char format[128];
	uint64_t size, got;
	int fd; /* the spool; -1 when the job is not kept (dup, failed) */
	EVP_MD_CTX *md;
	uint8_t sha[32];
	int has_sha;
	int hold;	  /* secure/pull: held (hold.c), not printed */
	int dup_held;	  /* held already (a redelivery): answer held */
	int dup;	  /* already printed: acknowledge, print nothing */
	int dup_inflight; /* the same id is printing now: ignore this copy */
	char fail[256];	  /* refused: acknowledge as failed, with this */
	on_body_t body;	  /* the body fetched over HTTPS (§12.4) */
	uint64_t t_print_ms; /* handed to the print worker (the log's figure) */
	/* the worker's result */
	int ok;
	pl_err_t err;
	on_job_t *next; /* on->queue */
};

static int idrec_has(const on_idrec_t *r, const char *id)
{
	for (size_t i = r->n; i-- > 0;)
		if (strcmp(r->ids[i], id) == 0)
			return 1;
	return 0;
}

static int idrec_add(on_idrec_t *r, const char *id)
{
	if (r->n == ON_PRINTED_KEEP) {
		free(r->ids[0]);
		memmove(r->ids, r->ids + 1, (r->n - 1) * sizeof(char *));
		r->n--;
	}
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 256;
		char **p = realloc(r->ids, cap * sizeof(char *));
		if (!p)
			return -1;
		r->ids = p;
		r->cap = cap;
	}
	char *s = strdup(id);
	if (!s)
		return -1;
	r->ids[r->n++] = s;
	return 0;
}

int on_idrec_append(on_idrec_t *r, const char *id)
{
	char line[ON_ID_MAX + 2];
	int n = snprintf(line, sizeof(line), "%s\n", id);
	if (n < 0 || (size_t)n >= sizeof(line) || r->fd < 0)
		return -1;
	return pl_write_all(r->fd, line, (size_t)n) < 0 || fdatasync(r->fd) < 0 ? -1 : 0;
}

/* Load <state>/name (one gateway job id a line), then keep it open for
 * appending. */
static int idrec_open(on_idrec_t *r, on_t *on, const char *name, pl_err_t *err)
{
	char path[4096], line[ON_ID_MAX + 8];
	snprintf(path, sizeof(path), "%.4000s/%s", pl_service_state_dir(on->svc), name);
	FILE *f = fopen(path, "r");
	if (!f && errno != ENOENT) {
		snprintf(err->msg, sizeof(err->msg), "%.900s: %s", path, strerror(errno));
		return -1;
	}
	while (f && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		/* a torn last line (crash mid-append) is not an id: skipped */
		if (on_id_valid(line) && idrec_add(r, line) < 0)
			break;
	}
	if (f)
		fclose(f);
	r->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (r->fd < 0) {
		snprintf(err->msg, sizeof(err->msg), "%.900s: %s", path, strerror(errno));
		return -1;
	}
	if (pl_fsync_dir_of(path) < 0)
		pl_warn("cannot sync the directory of %s", path);
	return 0;
}

static void idrec_close(on_idrec_t *r)
{
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
	for (size_t i = 0; i < r->n; i++)
		free(r->ids[i]);
	free(r->ids);
	r->ids = NULL;
	r->n = r->cap = 0;
}

int on_jobs_open(on_t *on, pl_err_t *err)
{
	if (idrec_open(&on->printed, on, "printed", err) < 0 ||
	    idrec_open(&on->held, on, "held", err) < 0)
		return -1;
	on->print = pl_work_new(on->loop, "on-print", 1, 0);
	if (!on->print) {
		snprintf(err->msg, sizeof(err->msg), "cannot start the print worker");
		return -1;
	}
	pl_info("%zu printed and %zu held job ids remembered", on->printed.n, on->held.n);
	return 0;
}

static void job_free(on_job_t *j)
{
	if (!j)
		return;
	if (j->fd >= 0)
		close(j->fd);
	EVP_MD_CTX_free(j->md);
	free(j);
}

void on_job_abort(on_t *on)
{
	/* a body download of this connection stops; its job is freed when
	 * the worker hands it back (body_done) */
	atomic_fetch_add(&on->body_epoch, 1);
	if (on->rx)
		pl_info("job %s: connection lost after %llu of %llu bytes; the gateway sends it again",
			on->rx->id, (unsigned long long)on->rx->got,
			(unsigned long long)on->rx->size);
	job_free(on->rx);
	on->rx = NULL;
}

void on_jobs_close(on_t *on)
{
	on_job_abort(on);
	pl_work_free(on->print); /* runs the done callbacks of what is queued */
	on->print = NULL;
	idrec_close(&on->printed);
	idrec_close(&on->held);
}

size_t on_jobs_in_flight(const on_t *on)
{
	return on->in_flight + on->downloading + (on->rx ? 1 : 0);
}

static int inflight_has(const on_t *on, const char *id)
{
	for (on_job_t *q = on->queue; q; q = q->next)
		if (strcmp(q->id, id) == 0)
			return 1;
	return 0;
}

static int job_spool(on_t *on, on_job_t *j)
{
	j->fd = open(pl_service_state_dir(on->svc), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	j->md = EVP_MD_CTX_new();
	if (j->fd < 0 || !j->md || EVP_DigestInit_ex(j->md, EVP_sha256(), NULL) != 1) {
		snprintf(j->fail, sizeof(j->fail), "cannot spool: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* A held job: for a user of the directory; PRINTER "" is pull printing
 * (any printer), a name makes it a secure job for that printer. */
static void job_route_hold(on_t *on, on_job_t *j, const on_msg_t *m)
{
	pl_dir_user_t u;
	pl_dir_printer_t p;
	pl_err_t err;
	int rc = m->user[0] ? pl_dir_user_get(on->dir, m->user, &u, &err) : 1;
	if (rc == 0 && m->printer[0])
		rc = pl_dir_printer_get(on->dir, m->printer, &p, &err) == 0 ? 0 : 2;
	if (rc != 0) {
		snprintf(j->fail, sizeof(j->fail), "%s",
			 rc == 1 ? "unknown user" : rc == 2 ? "no such printer" : "directory error");
		if (rc < 0)
			pl_err("job %s: directory: %s", j->id, err.msg);
		return;
	}
	j->hold = 1;
	rc = on_hold_known(on, m->user, m->id);
	if (rc == 1)
		j->dup_held = 1;
	else if (rc < 0)
		j->dup_inflight = 1;
	else
		job_spool(on, j);
}

/* Where the job goes: a printer of the directory, by name only (a job from
 * the internet never names an address). */
static void job_route(on_t *on, on_job_t *j, const on_msg_t *m)
{
	pl_dir_printer_t p;
	pl_err_t err;
	if (m->hold) {
		job_route_hold(on, j, m);
		return;
	}
	int rc = pl_dir_printer_get(on->dir, m->printer, &p, &err);
	if (rc != 0) {
		snprintf(j->fail, sizeof(j->fail), "%s",
			 rc == 1 ? "no such printer" : "directory error");
		if (rc < 0)
			pl_err("job %s: directory: %s", j->id, err.msg);
		return;
	}
	pl_strlcpy(j->uri, p.uri, sizeof(j->uri));
	job_spool(on, j);
}

static int job_begin(on_t *on, const on_msg_t *m)
{
	if (on->rx) {
		pl_warn("job %s began before job %s ended", m->id, on->rx->id);
		return -1;
	}
	on_job_t *j = calloc(1, sizeof(*j));
	if (!j)
		return -1;
	j->on = on;
	j->fd = -1;
	pl_strlcpy(j->id, m->id, sizeof(j->id));
	pl_strlcpy(j->printer, m->printer, sizeof(j->printer));
	pl_strlcpy(j->user, m->user, sizeof(j->user));
	pl_strlcpy(j->title, m->title, sizeof(j->title));
	pl_strlcpy(j->format, m->format, sizeof(j->format));
	j->size = m->size;
	j->has_sha = m->has_sha;
	memcpy(j->sha, m->sha256, sizeof(j->sha));
	on->rx = j;
	on_status_note(on);
	if (idrec_has(&on->printed, m->id))
		j->dup = 1;
	else if (m->hold && idrec_has(&on->held, m->id))
		j->dup_held = 1;
	else if (inflight_has(on, m->id))
		j->dup_inflight = 1;
	else if (m->size > on->conf.max_job_bytes)
		snprintf(j->fail, sizeof(j->fail), "job larger than max_job_mb");
	else
		job_route(on, j, m);
	return 0;
}

static int job_data(on_t *on, const on_msg_t *m)
{
	on_job_t *j = on->rx;
	if (!j || m->dlen > j->size - j->got) {
		pl_warn("job data %s", j ? "beyond the announced size" : "outside a job");
		return -1;
	}
	j->got += m->dlen;
	if (j->fd < 0 || j->fail[0])
		return 0;
	if (pl_write_all(j->fd, m->data, m->dlen) < 0) {
		snprintf(j->fail, sizeof(j->fail), "cannot spool: %s", strerror(errno));
		return 0;
	}
	EVP_DigestUpdate(j->md, m->data, m->dlen);
	return 0;
}

/* ---- printing, on the worker ---- */

static void print_run(void *arg)
{
	on_job_t *j = arg;
	on_t *on = j->on;
	pl_print_opts_t o = {
		.connect_timeout_ms = (int)on->conf.print_connect_timeout_ms,
		.io_timeout_ms = (int)on->conf.print_io_timeout_ms,
		.job_name = j->title[0] ? j->title : j->id,
		.user = j->user[0] ? j->user : NULL,
		.format = j->format[0] ? j->format : NULL,
	};
	if (lseek(j->fd, 0, SEEK_SET) < 0) {
		snprintf(j->err.msg, sizeof(j->err.msg), "spool: %s", strerror(errno));
		return;
	}
	/* the spool by its descriptor: a raw printer gets it by sendfile */
	if (pl_print(j->uri, &o, pl_print_fd_source, &j->fd, NULL, &j->err) < 0)
		return;
	/* Durable before acknowledged: the record first. */
	if (on_idrec_append(&on->printed, j->id) < 0)
		pl_err("job %s: printed, but the record failed: %s", j->id, strerror(errno));
	j->ok = 1;
}

static void queue_remove(on_t *on, on_job_t *j)
{
	for (on_job_t **pp = &on->queue; *pp; pp = &(*pp)->next)
		if (*pp == j) {
			*pp = j->next;
			return;
		}
}

static void print_done(void *arg)
{
	on_job_t *j = arg;
	on_t *on = j->on;
	queue_remove(on, j);
	on->in_flight--;
	if (j->ok) {
		idrec_add(&on->printed, j->id);
		on->printed_total++;
		pl_info("job %s: printed on %s (%llu bytes, user %s, %llu ms)", j->id, j->printer,
			(unsigned long long)j->size, j->user[0] ? j->user : "-",
			(unsigned long long)(pl_now_ms() - j->t_print_ms));
		on_router_ack(on, j->id, "printed", NULL);
	} else {
		on->failed_total++;
		pl_warn("job %s: printing on %s failed: %s", j->id, j->printer, j->err.msg);
		pl_strlcpy(on->last_error, j->err.msg, sizeof(on->last_error));
		on_router_ack(on, j->id, "failed", j->err.msg);
	}
	job_free(j);
	on_status_note(on);
}

/* ---- holding ---- */

typedef struct {
	on_t *on;
	char id[ON_ID_MAX + 1];
	char event[16];
	char reason[256];
} late_ack_t;

static void late_ack_run(pl_loop_t *loop, void *arg)
{
	late_ack_t *a = arg;
	(void)loop;
	on_router_ack(a->on, a->id, a->event, a->reason);
	free(a);
}

/* The RESULT, after PL_TEST_OFFNET_PAUSE_BEFORE_RESULT when a test set it
 * (the window between the durable hold and the RESULT, widened so that a
 * test can kill the router in it). */
static void ack_maybe_late(on_t *on, const char *id, const char *event, const char *reason)
{
	late_ack_t *a;
	if (!on->conf.pause_before_result_ms || !(a = calloc(1, sizeof(*a)))) {
		on_router_ack(on, id, event, reason);
		return;
	}
	a->on = on;
	pl_strlcpy(a->id, id, sizeof(a->id));
	pl_strlcpy(a->event, event, sizeof(a->event));
	pl_strlcpy(a->reason, reason ? reason : "", sizeof(a->reason));
	pl_loop_timer(on->loop, on->conf.pause_before_result_ms, late_ack_run, a);
}

static void hold_done(void *arg, int ok, const char *job_id, const char *why)
{
	on_job_t *j = arg;
	on_t *on = j->on;
	(void)job_id;
	queue_remove(on, j);
	on->in_flight--;
	if (ok) {
		idrec_add(&on->held, j->id);
		ack_maybe_late(on, j->id, "held", NULL);
	} else {
		on->failed_total++;
		pl_warn("job %s: cannot hold it for %s: %s", j->id, j->user, why);
		pl_strlcpy(on->last_error, why, sizeof(on->last_error));
		on_router_ack(on, j->id, "failed", why);
	}
	job_free(j);
	on_status_note(on);
}

/* Every byte received (or none needed): print, hold, or answer. */
static int job_finish(on_t *on, on_job_t *j)
{
	uint8_t md[32];
	unsigned int mdlen = 0;
	if (j->dup_inflight) { /* the copy printing now answers */
		job_free(j);
		return 0;
	}
	if (j->dup_held) {
		pl_info("job %s: delivered again, already held for %s: not held twice", j->id,
			j->user);
		on_router_ack(on, j->id, "held", "already held");
		job_free(j);
		return 0;
	}
	if (j->dup) {
		pl_info("job %s: delivered again, already printed: not printed twice", j->id);
		on_router_ack(on, j->id, "printed", "already printed");
		job_free(j);
		return 0;
	}
	if (!j->fail[0] && j->has_sha &&
	    (EVP_DigestFinal_ex(j->md, md, &mdlen) != 1 || memcmp(md, j->sha, 32) != 0))
		snprintf(j->fail, sizeof(j->fail), "SHA-256 mismatch");
	if (j->fail[0]) {
		pl_warn("job %s: refused: %s", j->id, j->fail);
		on->failed_total++;
		pl_strlcpy(on->last_error, j->fail, sizeof(on->last_error));
		on_router_ack(on, j->id, "failed", j->fail);
		job_free(j);
		return 0;
	}
	int rc = j->hold ? on_hold_submit(on, j->fd, j->size, j->id, j->user, j->printer,
					  j->title, j->format, hold_done, j)
			 : pl_work_submit(on->print, print_run, print_done, j);
	j->t_print_ms = pl_now_ms();
	if (rc < 0) {
		job_free(j); /* not acknowledged: it comes again */
		return -1;
	}
	j->next = on->queue;
	on->queue = j;
	on->in_flight++;
	on_status_note(on);
	return 0;
}

static int job_end(on_t *on, const on_msg_t *m)
{
	on_job_t *j = on->rx;
	if (!j || strcmp(j->id, m->id) != 0 || j->got != j->size) {
		pl_warn("job end %s does not match the job received", m->id);
		return -1;
	}
	on->rx = NULL;
	return job_finish(on, j);
}

/* ---- the body over HTTPS (body.c) ---- */

static void body_done(on_body_t *b)
{
	on_job_t *j = b->arg;
	on_t *on = j->on;
	on->downloading--;
	if (b->epoch != atomic_load(&on->body_epoch)) {
		pl_info("job %s: body download ended with its connection (%llu of %llu "
			"bytes); the gateway sends it again", j->id,
			(unsigned long long)b->got, (unsigned long long)j->size);
		job_free(j);
		on_status_note(on);
		return;
	}
	j->got = b->got;
	if (b->ok)
		pl_info("job %s: body fetched over HTTPS, %llu bytes in %llu ms", j->id,
			(unsigned long long)b->got, (unsigned long long)(pl_now_ms() - b->t0_ms));
	if (!b->ok && b->too_big) {
		snprintf(j->fail, sizeof(j->fail), "%s", b->why);
	} else if (!b->ok) {
		/* Not answered: the job stays at the gateway, which sends
		 * it again on the next connection. */
		pl_warn("job %s: body download failed after %llu of %llu bytes: %s", j->id,
			(unsigned long long)b->got, (unsigned long long)j->size, b->why);
		pl_strlcpy(on->last_error, b->why, sizeof(on->last_error));
		job_free(j);
		on_router_drop(on, "a job's body download failed");
		on_status_note(on);
		return;
	}
	if (job_finish(on, j) < 0)
		on_router_drop(on, "cannot queue the job");
}

/* SUBMIT_BEGIN with OFFNET_BODY 1: no SUBMIT_DATA/END follow; the body
 * is fetched now, unless the job is answered without it. */
static int job_body(on_t *on)
{
	on_job_t *j = on->rx;
	on->rx = NULL;
	if (j->fd < 0 || j->fail[0] || j->dup || j->dup_held || j->dup_inflight)
		return job_finish(on, j);
	on_body_t *b = &j->body;
	pl_strlcpy(b->id, j->id, sizeof(b->id));
	b->fd = j->fd;
	b->md = j->md;
	b->size = j->size;
	b->done = body_done;
	b->arg = j;
	if (on_body_fetch(on, b) < 0) {
		job_free(j);
		return -1;
	}
	on->downloading++;
	return 0;
}

int on_job_message(on_t *on, const on_msg_t *m)
{
	switch (m->kind) {
	case ON_M_BEGIN:
		if (job_begin(on, m) < 0)
			return -1;
		return m->body ? job_body(on) : 0;
	case ON_M_DATA:
		return job_data(on, m);
	case ON_M_END:
		return job_end(on, m);
	default:
		pl_warn("unexpected message from the gateway");
		return -1;
	}
}
