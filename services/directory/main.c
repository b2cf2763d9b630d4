/* plsc-directory: the directory's one writer. It has no listening socket
 * and no network peer: the services that face the network (the web
 * console, later IdentitySync, and the job holders for a token's last
 * use) read the directory themselves and send
 * each change they want as a routed DIR_WRITE, which the supervisor
 * delivers only from the roles its allow-list names. See ds.h,
 * proto/PROTOCOL.md and plsc-directory(8). */
#include "ds.h"

#include <limits.h>
#include <openssl/crypto.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pl_log.h"
#include "pl_schemas.h"
#include "pl_service.h"
#include "pl_util.h"
#include "pl_work.h"

/* A pool job older than this shows in plsc status (a CSV part of a few
 * hundred PINs takes tens of seconds of scrypt). */
#define DS_STUCK_MS 120000

typedef struct {
	pl_service_t *svc;
	pl_dir_t *dir;
	pl_work_t *work;
	ds_stage_t stage; /* sync-apply's parts (sync.c) */
	pl_timer_t *expiry; /* a streamed sync's idle bound */
	char directory_path[PATH_MAX];
	unsigned long long changes, refused, touches;
} ds_t;

typedef struct {
	ds_t *ds;
	ds_req_t *q;
} ds_job_t;

static int ds_settings(ds_t *ds, const pl_cnode_t *cfg, pl_err_t *err)
{
	const char *dirpath;
	char def[PATH_MAX];
	snprintf(def, sizeof(def), "%s/../directory/directory.db",
		 pl_service_state_dir(ds->svc));
	/* The key: pl_schema_directory (pl_schemas.h), which the supervisor
	 * checks too. */
	if (pl_schema_check(&pl_schema_directory, cfg, err) < 0 ||
	    pl_schema_str(&pl_schema_directory, cfg, "directory", &dirpath, err) < 0)
		return -1;
	if (!dirpath)
		dirpath = def;
	if (pl_fmt(ds->directory_path, sizeof(ds->directory_path), "%s", dirpath) < 0)
		return pl_cnode_error(cfg, "directory", err, "path too long");
	return 0;
}

static void ds_report(ds_t *ds)
{
	pl_service_status(ds->svc, "%llu changes, %llu refused, %llu token uses", ds->changes,
			  ds->refused, ds->touches);
}

/* A streamed sync whose sender stopped sending parts is rolled back, so
 * the write lock it holds is freed (sync.c). */
static void expiry_tick(pl_loop_t *loop, void *arg)
{
	ds_t *ds = arg;
	char id[128];
	if (ds_stage_expire(&ds->stage, pl_now_ms(), id, sizeof(id)))
		pl_err("sync %s: no part for %d s; rolled back, nothing applied", id,
		       DS_SYNC_IDLE_MS / 1000);
	ds->expiry = pl_loop_timer(loop, 5000, expiry_tick, ds);
}

static void job_work(void *arg)
{
	ds_job_t *j = arg;
	ds_req_run(j->q, j->ds->dir);
}

static void checkpoint_work(void *arg)
{
	ds_stage_checkpoint(&((ds_t *)arg)->stage);
}

/* Back on the loop: log, count, answer. */
static void job_done(void *arg)
{
	ds_job_t *j = arg;
	pl_msg_t m;
	ds_req_log(j->q);
	if (j->q->status == PL_STATUS_OK && strcmp(j->q->op, DS_OP_TOKEN_USED) == 0)
		j->ds->touches++;
	else if (j->q->status == PL_STATUS_OK)
		j->ds->changes++;
	else
		j->ds->refused++;
	ds_report(j->ds);
	if (ds_req_reply(j->q, &m) < 0) {
		pl_err("cannot build the answer to %s's %s (seq %u)", j->q->from, j->q->op,
		       j->q->seq);
	} else {
		if (pl_service_send(j->ds->svc, &m) < 0)
			pl_err("cannot answer %s's %s (seq %u): channel queue full",
			       j->q->from, j->q->op, j->q->seq);
		/* It may carry a new token. */
		OPENSSL_cleanse(m.buf, m.len);
		pl_msg_free(&m);
	}
	ds_req_free(j->q);
	/* a streamed sync's WAL goes back into the database now that its
	 * answer is out */
	if (__atomic_load_n(&j->ds->stage.checkpoint_due, __ATOMIC_ACQUIRE) &&
	    pl_work_submit(j->ds->work, checkpoint_work, NULL, j->ds) < 0)
		pl_err("out of memory: the checkpoint waits for the next write");
	free(j);
}

static void ds_message(pl_service_t *svc, const pl_frame_t *f, void *ctx)
{
	ds_t *ds = ctx;
	(void)svc;
	if (f->fd >= 0)
		close(f->fd);
	if (f->type != PL_MSG_DIR_WRITE || (f->flags & PL_FLAG_REPLY)) {
		pl_debug("ignored %s", pl_msg_type_name(f->type));
		return;
	}
	ds_job_t *j = calloc(1, sizeof(*j));
	if (j)
		j->q = ds_req_parse(f);
	if (!j || !j->q) {
		pl_err("out of memory: DIR_WRITE seq %u dropped", f->seq);
		free(j);
		return;
	}
	j->ds = ds;
	j->q->stage = &ds->stage;
	/* Even a refusal goes through the pool: answers keep their order. */
	if (pl_work_submit(ds->work, job_work, job_done, j) < 0) {
		pl_err("out of memory: DIR_WRITE seq %u dropped", f->seq);
		ds_req_free(j->q);
		free(j);
	}
}

/* The sandbox beyond the default: the directory's folder, for regular
 * files (the database and SQLite's -wal and -shm beside it). */
static int ds_sandbox(pl_service_t *svc, const pl_cnode_t *cfg, pl_sandbox_t *sb,
		      void *ctx)
{
	ds_t *ds = ctx;
	pl_err_t err = { "" };
	ds->svc = svc;
	if (ds_settings(ds, cfg, &err) < 0) {
		pl_err("%s", err.msg);
		return PL_EXIT_CONFIG;
	}
	if (pl_dir_sandbox(sb, ds->directory_path, PL_DIR_WRITE, &err) < 0) {
		pl_err("sandbox: %s", err.msg);
		return 1;
	}
	return 0;
}

static int ds_start(pl_service_t *svc, const pl_cnode_t *cfg, void *ctx)
{
	ds_t *ds = ctx;
	pl_err_t err = { "" };
	ds->svc = svc;
	if (ds_settings(ds, cfg, &err) < 0) {
		pl_err("%s", err.msg);
		return PL_EXIT_CONFIG;
	}
	if (pl_dir_open(&ds->dir, ds->directory_path, PL_DIR_WRITE, &err) < 0) {
		pl_err("directory: %s", err.msg);
		return 1;
	}
	ds_stage_init(&ds->stage, ds->directory_path);
	ds->expiry = pl_loop_timer(pl_service_loop(svc), 5000, expiry_tick, ds);
	/* Two threads: one long import does not hold up a quick delete. */
	ds->work = pl_work_new(pl_service_loop(svc), "ds-work", 2, 0);
	if (!ds->work) {
		pl_err("out of memory");
		return 1;
	}
	(void)pl_service_add_pool(svc, ds->work, DS_STUCK_MS);
	pl_info("writing the directory %s", ds->directory_path);
	ds_report(ds);
	return 0;
}

static void ds_stop(pl_service_t *svc, void *ctx)
{
	ds_t *ds = ctx;
	if (ds->expiry)
		pl_loop_timer_cancel(pl_service_loop(svc), ds->expiry);
	ds->expiry = NULL;
	if (ds->work) {
		pl_service_remove_pool(svc, ds->work);
		pl_work_free(ds->work); /* finishes and answers what is queued */
	}
	pl_dir_close(ds->dir);
	if (ds->work)
		ds_stage_free(&ds->stage);
	pl_info("%llu changes, %llu refused, %llu token uses", ds->changes, ds->refused,
		ds->touches);
}

int main(int argc, char **argv)
{
	static const pl_service_def_t def = {
		.name = DS_NAME,
		.summary = "The directory's one writer: users, PINs, printers, badge\n"
			   "readers, workstation tokens and console administrators\n"
			   "changed on behalf of the web console (DIR_WRITE).",
		.schema = &pl_schema_directory,
		.help = "No listening socket. See plsc-directory(8).\n",
		.start = ds_start,
		.message = ds_message,
		.stop = ds_stop,
		.sandbox = ds_sandbox,
	};
	static ds_t ds;
	/* No memory statistics: with them every SQLite allocation takes a
	 * global mutex (8% of a 100,000-user sync). Before any database is
	 * opened: the setting is process-wide and fixed at initialisation. */
	(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	return pl_service_main(argc, argv, &def, &ds);
}
