/* Secure/pull jobs from the gateway (SUBMIT_BEGIN with OFFNET_HOLD 1):
 * held through lib/holder in this service's own encrypted job store
 * (<state>/jobs, source "offnetwork"), for a user of the directory, and
 * released like every other held job (plsc release, a badge).
 *
 * Exactly once: the job is stored under the idempotency key = the
 * gateway's job id, owner = the user, workstation "off-network"; RESULT
 * held goes out only after pl_jobw_commit made it durable (file and
 * directory entry synced). A job delivered again (the router died between
 * the commit and the RESULT, or the RESULT was lost with the connection)
 * finds its key (pl_jobstore_find_key, or EEXIST at begin) and is answered
 * held without a second copy. The key goes with the job (once it is
 * released, deleted or expired, find_key no longer knows it), so the id
 * is also appended to <state>/held and synced after the commit, before
 * the RESULT: a copy delivered again even after a release is answered
 * held, not stored again.
 *
 * What later becomes of the job (printed, deleted, expired...) reaches
 * the gateway through outbox.c, fed by the holder's event hook. */
#include "on.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pl_log.h"
#include "pl_util.h"

#define CHUNK (64u * 1024u)

static int hold_send(void *arg, const pl_msg_t *m)
{
	on_t *on = arg;
	return pl_service_send(on->svc, m);
}

/* The holder's event hook: an outcome of one of our held jobs goes to
 * the gateway that sent it ("held" itself was the RESULT). */
static void hold_event(void *arg, const char *event, const pl_job_meta_t *m,
		       const char *detail)
{
	on_t *on = arg;
	if (!on_event_valid(event) || !on_id_valid(m->idem_key))
		return;
	on_outbox_add(on, m->idem_key, event, m->printer, detail);
}

int on_hold_open(on_t *on, pl_err_t *err)
{
	const char *sd = pl_service_state_dir(on->svc);
	int rc = pl_holder_store_open(sd, &on->conf.hconf, &on->store, err);
	if (rc < 0)
		return rc == PL_JS_EKEY ? PL_EXIT_CONFIG : 1;
	pl_holder_opts_t ho = {
		.loop = on->loop,
		.name = "on",
		.store = on->store,
		.dir = on->dir,
		.send = hold_send,
		.send_arg = on,
		.events = pl_service_supervised(on->svc),
		.conf = &on->conf.hconf,
		.event_hook = hold_event,
		.event_arg = on,
	};
	if (pl_holder_new(&on->holder, &ho, err) < 0)
		return 1;
	on->hold = pl_work_new(on->loop, "on-hold", 1, 0);
	if (!on->hold) {
		snprintf(err->msg, sizeof(err->msg), "cannot start the hold worker");
		return 1;
	}
	return 0;
}

void on_hold_close(on_t *on)
{
	pl_work_free(on->hold); /* runs the done callbacks of what is queued */
	on->hold = NULL;
	pl_holder_free(on->holder);
	on->holder = NULL;
	pl_jobstore_close(on->store);
	on->store = NULL;
}

int on_hold_known(on_t *on, const char *user, const char *id)
{
	char jid[PL_JOB_ID_LEN + 1];
	int rc = pl_jobstore_find_key(on->store, user, ON_WORKSTATION, id, jid);
	return rc == PL_JS_EBUSY ? -1 : rc == 1;
}

typedef struct {
	on_t *on;
	int fd;
	uint64_t size;
	pl_job_meta_t meta, out;
	int ok, again;
	pl_err_t err;
	on_hold_done_fn done;
	void *arg;
} hold_task_t;

static int copy_spool(hold_task_t *t, pl_jobw_t *w)
{
	static __thread unsigned char buf[CHUNK];
	for (uint64_t off = 0; off < t->size;) {
		ssize_t n = pread(t->fd, buf, CHUNK, (off_t)off);
		if (n <= 0) {
			snprintf(t->err.msg, sizeof(t->err.msg), "spool: %s",
				 n < 0 ? strerror(errno) : "short");
			return -1;
		}
		if (pl_jobw_write(w, buf, (size_t)n, &t->err) < 0)
			return -1;
		off += (uint64_t)n;
	}
	return 0;
}

/* On the worker: begin (quota, key), copy, seal, fsync, index. */
static void hold_run(void *arg)
{
	hold_task_t *t = arg;
	pl_jobw_t *w = NULL;
	int rc = pl_jobstore_begin(t->on->store, &t->meta, &w, &t->err);
	if (rc == PL_JS_EEXIST) { /* a redelivery raced its first copy */
		t->ok = t->again = 1;
		return;
	}
	if (rc == PL_JS_EQUOTA) {
		snprintf(t->err.msg, sizeof(t->err.msg), "over the print quota");
		return;
	}
	if (rc < 0)
		return;
	if (copy_spool(t, w) < 0) {
		pl_jobw_abort(w);
		return;
	}
	if (pl_jobw_commit(w, NULL, 1, &t->out, &t->err) < 0)
		return;
	t->ok = 1;
	/* Also remembered by id, so that a copy delivered again after the
	 * job was released (its key gone with it) is not held a second time;
	 * should this fail, the key still answers while the job is held. */
	if (on_idrec_append(&t->on->held, t->meta.idem_key) < 0)
		pl_warn("job %s: held, but the record of it failed: %s", t->meta.idem_key,
			strerror(errno));
}

static void hold_done(void *arg)
{
	hold_task_t *t = arg;
	on_t *on = t->on;
	if (t->ok && !t->again) {
		on->held_total++;
		pl_info("job %s: held as %s for %s (%llu bytes, %s)", t->meta.idem_key, t->out.id,
			t->out.owner, (unsigned long long)t->out.size,
			t->out.printer[0] ? t->out.printer : "any printer");
		pl_holder_event(on->holder, "held", &t->out, "off-network");
	} else if (t->ok) {
		pl_info("job %s: delivered again, already held for %s: not held twice",
			t->meta.idem_key, t->meta.owner);
	}
	t->done(t->arg, t->ok, t->ok ? t->out.id : NULL, t->ok ? NULL : t->err.msg);
	free(t);
}

int on_hold_submit(on_t *on, int fd, uint64_t size, const char *id, const char *user,
		   const char *printer, const char *title, const char *format,
		   on_hold_done_fn done, void *arg)
{
	hold_task_t *t = calloc(1, sizeof(*t));
	if (!t)
		return -1;
	t->on = on;
	t->fd = fd;
	t->size = size;
	t->done = done;
	t->arg = arg;
	pl_job_meta_t *m = &t->meta;
	pl_strlcpy(m->owner, user, sizeof(m->owner));
	pl_strlcpy(m->workstation, ON_WORKSTATION, sizeof(m->workstation));
	pl_strlcpy(m->title, title[0] ? title : id, sizeof(m->title));
	pl_strlcpy(m->printer, printer, sizeof(m->printer));
	pl_strlcpy(m->format, format[0] ? format : "application/octet-stream",
		   sizeof(m->format));
	pl_strlcpy(m->source, ON_SOURCE, sizeof(m->source));
	pl_strlcpy(m->idem_key, id, sizeof(m->idem_key));
	m->size = size;
	if (pl_work_submit(on->hold, hold_run, hold_done, t) < 0) {
		free(t);
		return -1;
	}
	return 0;
}
