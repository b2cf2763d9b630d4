/* pl_holder: settings, the pools, the supervisor's frames, expiry. */
#include "holder-private.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pl_log.h"
#include "pl_prstatus.h"
#include "pl_schemas.h"
#include "pl_util.h"

#define MIB (1024ull * 1024ull)

int pl_holder_conf_parse(pl_holder_conf_t *c, const pl_cnode_t *cfg,
			 const char *state_dir, pl_err_t *err)
{
	const pl_schema_t *s = &pl_schema_holder;
	long long exp_h, exp_s, exp_chk, qu, qt, pct, pt, pw;
	const char *dirpath;
	char def[PATH_MAX];

	if (pl_schema_int(s, cfg, "expiry_hours", &exp_h, err) < 0 ||
	    pl_schema_int(s, cfg, "expiry_seconds", &exp_s, err) < 0 ||
	    pl_schema_int(s, cfg, "expiry_check_s", &exp_chk, err) < 0 ||
	    pl_schema_int(s, cfg, "quota_user_mb", &qu, err) < 0 ||
	    pl_schema_int(s, cfg, "quota_total_mb", &qt, err) < 0 ||
	    pl_schema_int(s, cfg, "print_connect_timeout_s", &pct, err) < 0 ||
	    pl_schema_int(s, cfg, "print_timeout_s", &pt, err) < 0 ||
	    pl_schema_int(s, cfg, "print_workers", &pw, err) < 0 ||
	    pl_schema_bool(s, cfg, "report_titles", &c->report_titles, err) < 0 ||
	    pl_schema_bool(s, cfg, "refuse_offline_printers", &c->refuse_offline, err) < 0 ||
	    pl_schema_str(s, cfg, "directory", &dirpath, err) < 0)
		return -1;
	/* The directory lives beside the services' private dirs:
	 * <state_dir>/directory/directory.db. */
	if (!dirpath) {
		snprintf(def, sizeof(def), "%s/../directory/directory.db", state_dir);
		dirpath = def;
	}
	/* expiry_seconds, when set, is the finer-grained override. */
	c->expiry_ms = exp_s ? exp_s * 1000 : exp_h * 3600 * 1000;
	c->expiry_check_ms = (uint32_t)exp_chk * 1000;
	c->quota_user_bytes = (uint64_t)qu * MIB;
	c->quota_total_bytes = (uint64_t)qt * MIB;
	c->print_connect_timeout_ms = (uint32_t)pct * 1000;
	c->print_io_timeout_ms = (uint32_t)pt * 1000;
	c->print_workers = (uint32_t)pw;
	pl_strlcpy(c->directory_path, dirpath, sizeof(c->directory_path));
	/* The SNMP service's status file, beside our own state dir. */
	if (pl_fmt(def, sizeof(def), "%s/..", state_dir) < 0 ||
	    pl_prstatus_path(def, c->prstatus_path, sizeof(c->prstatus_path)) < 0) {
		(void)pl_fmt(err->msg, sizeof(err->msg), "state dir path too long");
		return -1;
	}
	return 0;
}

int pl_holder_sandbox(pl_sandbox_t *sb, const pl_holder_conf_t *c, pl_err_t *err)
{
	char dir[PATH_MAX];
	pl_strlcpy(dir, c->prstatus_path, sizeof(dir));
	char *slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	/* 0700 as the supervisor makes it, for every configured service
	 * before any starts; the SNMP service opens it to 0711 itself.
	 * Missing here: SNMP is not configured (or was added by a reload
	 * after we started), and under privilege separation we may not
	 * create it. */
	if (access(dir, F_OK) < 0 && pl_mkdir_p(dir, 0700) < 0 && c->refuse_offline)
		pl_warn("refuse_offline_printers: %s does not exist yet (%s): the printers' "
			"SNMP status is not read until this service restarts with "
			"PrinterLogicServiceSNMP configured", dir, strerror(errno));
	if (pl_sandbox_allow(sb, dir, PL_SANDBOX_RO) < 0) {
		(void)pl_fmt(err->msg, sizeof(err->msg), "sandbox: %s: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

int pl_holder_store_open(const char *state_dir, const pl_holder_conf_t *c,
			 pl_jobstore_t **js, pl_err_t *err)
{
	char jobs[PATH_MAX], key[PATH_MAX];
	if (pl_fmt(jobs, sizeof(jobs), "%s/jobs", state_dir) < 0 ||
	    pl_fmt(key, sizeof(key), "%s/master.key", state_dir) < 0) {
		pl_fmt(err->msg, sizeof(err->msg), "state dir path too long");
		return PL_JS_EINVAL;
	}
	pl_jobstore_opts_t o = {
		.dir = jobs,
		.master_key = key,
		.expiry_ms = (uint64_t)c->expiry_ms,
		.quota_user_bytes = c->quota_user_bytes,
		.quota_total_bytes = c->quota_total_bytes,
	};
	int rc = pl_jobstore_open(js, &o, err);
	if (rc < 0)
		return rc;
	size_t n = pl_jobstore_count(*js, NULL);
	unsigned bad = pl_jobstore_corrupt_count(*js);
	size_t cached = pl_jobstore_opened_from_cache(*js);
	pl_info("job store %s: %zu held job%s%s%s", jobs, n, n == 1 ? "" : "s",
		cached ? " (metadata from the index cache)" : "",
		bad ? " (damaged files set aside)" : "");
	if (bad)
		pl_err("%u damaged job file(s) renamed *.corrupt in %s", bad, jobs);
	unsigned printed = pl_jobstore_printed_at_open(*js);
	if (printed)
		pl_info("shredded %u job%s printed before the last stop", printed,
			printed == 1 ? "" : "s");
	return 0;
}

void holder_send(pl_holder_t *h, const pl_msg_t *m)
{
	int rc = h->send(h->send_arg, m);
	if (rc < 0)
		pl_warn("cannot answer the supervisor: %s", pl_proto_strerror(rc));
}

/* ---- expiry ---- */

#define INDEX_SAVE_CHANGES 1000

typedef struct {
	pl_holder_t *h;
	pl_job_meta_t *gone; /* shredded: for the job events */
	size_t ngone;
	int failed;
	pl_err_t err;
} expiry_t;

/* Expired jobs are looked up a batch at a time (pl_jobstore_list_due),
 * not by listing every held job: ~1 KiB a job, and with 100,000 held a
 * listing and its copy were ~190 MB touched each expiry_check_s. */
#define EXPIRY_BATCH 1024u

static void expiry_work(void *arg)
{
	expiry_t *x = arg;
	int64_t now = pl_log_now_ms();
	size_t cap = 0;
	for (;;) {
		pl_job_meta_t *jobs = NULL;
		size_t n = 0, deleted = 0;
		if (pl_jobstore_list_due(x->h->store, now, EXPIRY_BATCH, &jobs, &n) < 0 || n == 0) {
			free(jobs);
			break;
		}
		if (x->ngone + n > cap) {
			pl_job_meta_t *g = realloc(x->gone, (x->ngone + n) * sizeof(*g));
			if (g == NULL) {
				free(jobs);
				break;
			}
			x->gone = g;
			cap = x->ngone + n;
		}
		for (size_t i = 0; i < n; i++) {
			if (pl_jobstore_delete(x->h->store, jobs[i].id, &x->err) == 0) {
				x->gone[x->ngone++] = jobs[i];
				deleted++;
			} else {
				x->failed++;
			}
		}
		free(jobs);
		/* a batch that shredded nothing would come back the same */
		if (n < EXPIRY_BATCH || deleted == 0)
			break;
	}
	/* The start-up index cache, after enough change that a restart would
	 * open many job files one by one (close saves it too). */
	pl_err_t e;
	if (pl_jobstore_save_index(x->h->store, INDEX_SAVE_CHANGES, &e) < 0)
		pl_warn("cannot save the job index cache: %s", e.msg);
}

static void expiry_done(void *arg)
{
	expiry_t *x = arg;
	if (x->ngone)
		pl_info("shredded %zu expired job%s", x->ngone, x->ngone == 1 ? "" : "s");
	for (size_t i = 0; i < x->ngone; i++)
		pl_holder_event(x->h, "expired", &x->gone[i], NULL);
	if (x->failed)
		pl_err("expiry: %d job(s) could not be shredded: %s", x->failed,
		       x->err.msg);
	free(x->gone);
	free(x);
}

static void expiry_tick(pl_loop_t *loop, void *arg)
{
	pl_holder_t *h = arg;
	h->expiry_timer = pl_loop_timer(loop, h->conf.expiry_check_ms, expiry_tick, h);
	expiry_t *x = calloc(1, sizeof(*x));
	if (x) {
		x->h = h;
		if (pl_work_submit(h->disk, expiry_work, expiry_done, x) < 0)
			free(x);
	}
}

/* ---- after a restart ---- */

/* Releases the last run did not finish: their jobs are held again as
 * maybe-printed, and the administrator and the owner are told. */
static void report_interrupted(pl_holder_t *h)
{
	char(*ids)[PL_JOB_ID_LEN + 1] = NULL;
	size_t n = pl_jobstore_take_interrupted(h->store, &ids);
	for (size_t i = 0; i < n; i++) {
		pl_job_meta_t m;
		if (pl_jobstore_get(h->store, ids[i], &m) < 0)
			continue;
		pl_warn("job %s of %s was being released when the service stopped; "
			"it may have printed, so it is held again, marked "
			"maybe-printed (release it with reprint to print it again)",
			m.id, m.owner);
		pl_holder_event(h, "maybe-printed", &m,
				"the release was cut off by a restart");
	}
	free(ids);
}

/* Opening authenticated each job's header, key and metadata; its data
 * chunks are checked here, after start-up (whose time must not grow with
 * the bytes held), on the low-priority shred thread. A damaged job is set
 * aside at once instead of waiting for the swipe it would spoil. */
typedef struct {
	pl_holder_t *h;
	pl_job_meta_t *bad;
	size_t nbad;
} scrub_t;

static void scrub_work(void *arg)
{
	scrub_t *x = arg;
	pl_job_meta_t *jobs = NULL;
	size_t n = 0;
	if (pl_jobstore_list(x->h->store, NULL, &jobs, &n) < 0 || n == 0 ||
	    (x->bad = calloc(n, sizeof(*x->bad))) == NULL) {
		free(jobs);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		pl_err_t e;
		if (pl_jobstore_verify(x->h->store, jobs[i].id, &e) != PL_JS_ECORRUPT)
			continue; /* fine, gone meanwhile, or being released */
		/* ENOENT: shredded meanwhile (a shred overwrites the key
		 * first, so a job being shredded can look damaged). */
		if (pl_jobstore_set_aside(x->h->store, jobs[i].id, &e) != PL_JS_ENOENT)
			x->bad[x->nbad++] = jobs[i];
	}
	free(jobs);
}

static void scrub_done(void *arg)
{
	scrub_t *x = arg;
	for (size_t i = 0; i < x->nbad; i++) {
		pl_err("job %s of %s is damaged: set aside as %s.job.corrupt for "
		       "the administrator", x->bad[i].id, x->bad[i].owner, x->bad[i].id);
		pl_holder_event(x->h, "damaged", &x->bad[i],
				"its data does not authenticate; set aside");
	}
	free(x->bad);
	free(x);
}

static void scrub_start(pl_holder_t *h)
{
	scrub_t *x = calloc(1, sizeof(*x));
	if (!x)
		return;
	x->h = h;
	if (pl_work_submit(h->shred, scrub_work, scrub_done, x) < 0)
		free(x);
}

/* ---- life cycle ---- */

static pl_work_t *pool(pl_holder_t *h, const char *prefix, const char *what,
		       int nthreads, int nice)
{
	char name[32];
	(void)pl_fmt(name, sizeof(name), "%s-%s", prefix, what);
	return pl_work_new(h->loop, name, nthreads, nice);
}

int pl_holder_new(pl_holder_t **out, const pl_holder_opts_t *o, pl_err_t *err)
{
	pl_holder_t *h = calloc(1, sizeof(*h));
	*out = NULL;
	if (!h) {
		pl_fmt(err->msg, sizeof(err->msg), "out of memory");
		return -1;
	}
	h->loop = o->loop;
	h->store = o->store;
	h->dir = o->dir;
	h->send = o->send;
	h->send_arg = o->send_arg;
	h->events = o->events;
	h->event_hook = o->event_hook;
	h->event_arg = o->event_arg;
	h->conf = *o->conf;
	h->disk = pool(h, o->name, "disk", 4, 0);
	/* One printer conversation a thread: releases to different printers
	 * (many badge swipes at once) must not queue behind each other. */
	h->print = pool(h, o->name, "print", (int)h->conf.print_workers, 0);
	/* One thread: shreds queue up behind each other and share their
	 * directory fsyncs; nice 10 so that they wait out a burst of
	 * releases instead of competing with it. */
	h->shred = pool(h, o->name, "shred", 1, 10);
	if (!h->disk || !h->print || !h->shred) {
		pl_holder_free(h);
		pl_fmt(err->msg, sizeof(err->msg), "cannot start worker threads");
		return -1;
	}
	if (h->conf.expiry_check_ms)
		expiry_tick(h->loop, h);
	report_interrupted(h);
	scrub_start(h);
	*out = h;
	return 0;
}

void pl_holder_free(pl_holder_t *h)
{
	if (!h)
		return;
	pl_loop_timer_cancel(h->loop, h->expiry_timer);
	h->expiry_timer = NULL;
	if (h->print)
		pl_work_free(h->print); /* waits for releases in flight */
	h->print = NULL;
	/* After print: its done callbacks queued shreds. From here on they
	 * run at once on this thread, after the batch on the pool, if any. */
	holder_shred_flush(h);
	if (h->shred)
		pl_work_free(h->shred);
	h->shred = NULL;
	holder_shred_flush(h);
	if (h->disk)
		pl_work_free(h->disk);
	free(h->shreds);
	free(h);
}

void pl_holder_reconfig(pl_holder_t *h, const pl_holder_conf_t *c)
{
	h->conf.report_titles = c->report_titles;
	h->conf.print_connect_timeout_ms = c->print_connect_timeout_ms;
	h->conf.print_io_timeout_ms = c->print_io_timeout_ms;
	h->conf.refuse_offline = c->refuse_offline;
}

int pl_holder_message(pl_holder_t *h, const pl_frame_t *f)
{
	switch (f->type) {
	case PL_MSG_JOBS_QUERY: holder_query(h, f); return 1;
	case PL_MSG_RELEASE_JOBS: holder_release(h, f); return 1;
	case PL_MSG_DELETE_JOBS: holder_delete(h, f); return 1;
	default: return 0;
	}
}

pl_work_t *pl_holder_disk(pl_holder_t *h)
{
	return h->disk;
}

size_t pl_holder_pending(pl_holder_t *h)
{
	/* Printed jobs waiting for their batch count too: a draining service
	 * waits for their shred (the print pool idle starts it). */
	return pl_work_pending(h->disk) + pl_work_pending(h->print) +
	       pl_work_pending(h->shred) + h->nshreds;
}
