/* PrinterLogicServiceOfflinePrint: workstations submit print jobs over TLS
 * (port 31989); jobs are held encrypted until released to a printer, then
 * shredded. See op.h for the modules and docs/PrinterLogicServiceOfflinePrint.8. */
#include "op.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pl_log.h"
#include "pl_tls.h"
#include "pl_util.h"

#define MIB (1024ull * 1024ull)

static const char *const op_keys[] = {
	"enabled", "path", "log_level", "listen", "tls_cert", "tls_key",
	"expiry_hours", "quota_user_mb", "quota_total_mb", "max_job_mb",
	"client_timeout_s", "max_clients", "report_titles", "directory",
	"print_connect_timeout_s", "print_timeout_s", "expiry_seconds",
	"expiry_check_s", "print_workers", NULL
};

static int op_settings(op_t *op, const pl_cnode_t *cfg, pl_err_t *err)
{
	long long exp_h, exp_s, exp_chk, qu, qt, mj, ct, mc, pct, pt, pw;
	const char *dirpath;
	char def[PATH_MAX];

	/* The directory lives beside the services' private dirs:
	 * <state_dir>/directory/directory.db. */
	snprintf(def, sizeof(def), "%s/../directory/directory.db",
		 pl_service_state_dir(op->svc));
	if (pl_cnode_check_keys(cfg, op_keys, err) < 0 ||
	    pl_cnode_int(cfg, "expiry_hours", 1, 24 * 365, 24, &exp_h, err) < 0 ||
	    pl_cnode_int(cfg, "expiry_seconds", 0, 86400LL * 365, 0, &exp_s, err) < 0 ||
	    pl_cnode_int(cfg, "expiry_check_s", 1, 3600, 60, &exp_chk, err) < 0 ||
	    pl_cnode_int(cfg, "quota_user_mb", 0, 1 << 30, 0, &qu, err) < 0 ||
	    pl_cnode_int(cfg, "quota_total_mb", 0, 1 << 30, 0, &qt, err) < 0 ||
	    pl_cnode_int(cfg, "max_job_mb", 1, 1 << 20, 2048, &mj, err) < 0 ||
	    pl_cnode_int(cfg, "client_timeout_s", 1, 3600, 30, &ct, err) < 0 ||
	    pl_cnode_int(cfg, "max_clients", 1, 100000, 256, &mc, err) < 0 ||
	    pl_cnode_int(cfg, "print_connect_timeout_s", 1, 600, 10, &pct, err) < 0 ||
	    pl_cnode_int(cfg, "print_timeout_s", 1, 3600, 60, &pt, err) < 0 ||
	    pl_cnode_int(cfg, "print_workers", 1, 64, 32, &pw, err) < 0 ||
	    pl_cnode_bool(cfg, "report_titles", 1, &op->report_titles, err) < 0 ||
	    pl_cnode_str(cfg, "directory", def, &dirpath, err) < 0)
		return -1;
	/* expiry_seconds, when set, is the finer-grained override. */
	op->expiry_ms = exp_s ? exp_s * 1000 : exp_h * 3600 * 1000;
	op->expiry_check_ms = (uint32_t)exp_chk * 1000;
	op->quota_user_bytes = (uint64_t)qu * MIB;
	op->quota_total_bytes = (uint64_t)qt * MIB;
	op->max_job_bytes = (uint64_t)mj * MIB;
	op->client_timeout_ms = (uint32_t)ct * 1000;
	op->max_clients = (uint32_t)mc;
	op->print_connect_timeout_ms = (uint32_t)pct * 1000;
	op->print_io_timeout_ms = (uint32_t)pt * 1000;
	op->print_workers = (uint32_t)pw;
	pl_strlcpy(op->directory_path, dirpath, sizeof(op->directory_path));
	return 0;
}

static int open_store(op_t *op, pl_err_t *err)
{
	char jobs[PATH_MAX], key[PATH_MAX];
	const char *sd = pl_service_state_dir(op->svc);
	if (pl_fmt(jobs, sizeof(jobs), "%s/jobs", sd) < 0 ||
	    pl_fmt(key, sizeof(key), "%s/master.key", sd) < 0) {
		pl_fmt(err->msg, sizeof(err->msg), "state dir path too long");
		return -1;
	}
	pl_jobstore_opts_t o = {
		.dir = jobs,
		.master_key = key,
		.expiry_ms = (uint64_t)op->expiry_ms,
		.quota_user_bytes = op->quota_user_bytes,
		.quota_total_bytes = op->quota_total_bytes,
	};
	if (pl_jobstore_open(&op->store, &o, err) < 0)
		return -1;
	size_t n = 0;
	pl_job_meta_t *jobs_list = NULL;
	pl_jobstore_list(op->store, NULL, &jobs_list, &n);
	free(jobs_list);
	pl_info("job store %s: %zu held job%s%s", jobs, n, n == 1 ? "" : "s",
		pl_jobstore_corrupt_count(op->store) ? " (damaged files set aside)" : "");
	if (pl_jobstore_corrupt_count(op->store))
		pl_err("%u damaged job file(s) renamed *.corrupt in %s",
		       pl_jobstore_corrupt_count(op->store), jobs);
	return 0;
}

static int open_tls(op_t *op, const pl_cnode_t *cfg, pl_err_t *err)
{
	const char *cert, *key;
	char fp[128];
	if (pl_cnode_str(cfg, "tls_cert", NULL, &cert, err) < 0 ||
	    pl_cnode_str(cfg, "tls_key", NULL, &key, err) < 0)
		return -1;
	if (!cert != !key) {
		pl_cnode_error(cfg, cert ? "tls_key" : "tls_cert", err,
			       "tls_cert and tls_key go together");
		return -1;
	}
	op->tls = pl_tls_server_ctx(cert, key, pl_service_state_dir(op->svc),
				    "PrinterLogicServiceOfflinePrint", err);
	if (!op->tls)
		return -1;
	if (pl_tls_fingerprint(op->tls, fp, sizeof(fp)) == 0)
		pl_info("TLS certificate %s, SHA-256 %s",
			cert ? cert : "self-signed (tls-cert.pem in the state dir)", fp);
	return 0;
}

typedef struct {
	op_t *op;
	pl_job_meta_t *gone; /* shredded: for the job events */
	size_t ngone;
	int failed;
	pl_err_t err;
} expiry_t;

static void expiry_work(void *arg)
{
	expiry_t *x = arg;
	pl_job_meta_t *jobs = NULL;
	size_t n = 0;
	int64_t now = pl_log_now_ms();
	if (pl_jobstore_list(x->op->store, NULL, &jobs, &n) < 0)
		return;
	x->gone = calloc(n ? n : 1, sizeof(*x->gone));
	for (size_t i = 0; x->gone && i < n; i++) {
		if (jobs[i].expires_ms > now)
			continue;
		if (pl_jobstore_delete(x->op->store, jobs[i].id, &x->err) == 0)
			x->gone[x->ngone++] = jobs[i];
		else
			x->failed++;
	}
	free(jobs);
}

static void expiry_done(void *arg)
{
	expiry_t *x = arg;
	if (x->ngone)
		pl_info("shredded %zu expired job%s", x->ngone, x->ngone == 1 ? "" : "s");
	for (size_t i = 0; i < x->ngone; i++)
		op_event(x->op, "expired", &x->gone[i], NULL);
	if (x->failed)
		pl_err("expiry: %d job(s) could not be shredded: %s", x->failed,
		       x->err.msg);
	free(x->gone);
	free(x);
}

static void expiry_tick(pl_loop_t *loop, void *arg)
{
	op_t *op = arg;
	op->expiry_timer = pl_loop_timer(loop, op->expiry_check_ms, expiry_tick, op);
	expiry_t *x = calloc(1, sizeof(*x));
	if (x) {
		x->op = op;
		if (pl_work_submit(op->disk, expiry_work, expiry_done, x) < 0)
			free(x);
	}
}

static int op_start(pl_service_t *svc, const pl_cnode_t *cfg, void *ctx)
{
	op_t *op = ctx;
	pl_err_t err;
	char msg[256];

	op->svc = svc;
	op->loop = pl_service_loop(svc);
	if (op_settings(op, cfg, &err) < 0 || open_tls(op, cfg, &err) < 0) {
		pl_err("%s", err.msg);
		return PL_EXIT_CONFIG;
	}
	if (pl_dir_open(&op->dir, op->directory_path, PL_DIR_READ_CREATE, &err) < 0) {
		pl_err("directory: %s", err.msg);
		return 1;
	}
	if (open_store(op, &err) < 0) {
		pl_err("%s", err.msg);
		return strstr(err.msg, "master key") ? PL_EXIT_CONFIG : 1;
	}
	op->disk = pl_work_new(op->loop, "op-disk", 4, 0);
	/* One printer conversation a thread: releases to different printers
	 * (many badge swipes at once) must not queue behind each other. */
	op->print = pl_work_new(op->loop, "op-print", (int)op->print_workers, 0);
	/* One thread: shreds queue up behind each other and share their
	 * directory fsyncs; nice 10 so that they wait out a burst of
	 * releases instead of competing with it. */
	op->shred = pl_work_new(op->loop, "op-shred", 1, 10);
	if (!op->disk || !op->print || !op->shred)
		return 1;
	int fd = pl_service_listen_fd(svc, "main");
	if (fd < 0) {
		fd = pl_listen_tcp(OP_DEFAULT_LISTEN, 128, msg, sizeof(msg));
		if (fd < 0) {
			pl_err("listen: %s", msg);
			return 1;
		}
	}
	if (op_conn_listen(op, fd) < 0)
		return 1;
	expiry_tick(op->loop, op);
	return 0;
}

static int op_reconfig(pl_service_t *svc, const pl_cnode_t *cfg, void *ctx)
{
	op_t *op = ctx;
	pl_err_t err;
	(void)svc;
	op_t probe = *op;
	if (op_settings(&probe, cfg, &err) < 0) {
		pl_err("%s", err.msg);
		return -1;
	}
	/* Limits and timeouts apply to new jobs at once; the job store's
	 * quotas and expiry and the TLS identity need a restart. */
	op->report_titles = probe.report_titles;
	op->client_timeout_ms = probe.client_timeout_ms;
	op->max_clients = probe.max_clients;
	op->max_job_bytes = probe.max_job_bytes;
	op->print_connect_timeout_ms = probe.print_connect_timeout_ms;
	op->print_io_timeout_ms = probe.print_io_timeout_ms;
	pl_info("settings updated");
	return 0;
}

static void drain_check(pl_loop_t *loop, void *arg)
{
	op_t *op = arg;
	if (pl_work_pending(op->disk) == 0 && pl_work_pending(op->print) == 0 &&
	    pl_work_pending(op->shred) == 0) {
		pl_info("in-flight work finished");
		pl_service_exit(op->svc, 0);
		return;
	}
	pl_loop_timer(loop, 20, drain_check, op);
}

static void op_shutdown(pl_service_t *svc, uint32_t grace_ms, void *ctx)
{
	op_t *op = ctx;
	(void)svc;
	(void)grace_ms;
	op->draining = 1;
	op_conn_stop_accepting(op);
	drain_check(op->loop, op);
}

static void op_message(pl_service_t *svc, const pl_frame_t *f, void *ctx)
{
	op_t *op = ctx;
	(void)svc;
	if (f->fd >= 0)
		close(f->fd);
	switch (f->type) {
	case PL_MSG_JOBS_QUERY: op_handle_query(op, f); break;
	case PL_MSG_RELEASE_JOBS: op_handle_release(op, f); break;
	case PL_MSG_DELETE_JOBS: op_handle_delete(op, f); break;
	default: pl_debug("ignoring %s", pl_msg_type_name(f->type));
	}
}

static void op_stop(pl_service_t *svc, void *ctx)
{
	op_t *op = ctx;
	(void)svc;
	op_conn_stop_accepting(op);
	op_conn_close_all(op);
	pl_work_free(op->print); /* waits for releases in flight */
	pl_work_free(op->shred); /* after print: its done callbacks queue shreds */
	pl_work_free(op->disk);
	pl_loop_timer_cancel(op->loop, op->expiry_timer);
	if (op->listen_fd > 0)
		close(op->listen_fd);
	pl_jobstore_close(op->store);
	pl_dir_close(op->dir);
	SSL_CTX_free(op->tls);
}

int main(int argc, char **argv)
{
	static const pl_service_def_t def = {
		.name = OP_NAME,
		.summary = "Held print jobs: workstations submit over TLS (port 31989);\n"
			   "jobs wait encrypted until released to a printer.",
		.help = "Configuration (services.PrinterLogicServiceOfflinePrint):\n"
			"  listen.main              \"0.0.0.0:31989\"\n"
			"  tls_cert, tls_key        PEM files (default: self-signed, generated)\n"
			"  expiry_hours             24      unreleased jobs are shredded after\n"
			"  expiry_seconds           0       finer override of expiry_hours\n"
			"  expiry_check_s           60      how often expiry runs\n"
			"  quota_user_mb            0       per user (0 = unlimited)\n"
			"  quota_total_mb           0       all users (0 = unlimited)\n"
			"  max_job_mb               2048    largest single job\n"
			"  client_timeout_s         30      idle or stalled client\n"
			"  max_clients              256\n"
			"  report_titles            true    titles in job-events.jsonl\n"
			"  print_connect_timeout_s  10\n"
			"  print_timeout_s          60      printer I/O timeout\n"
			"  print_workers            32      releases in flight at once\n"
			"  directory                <state_dir>/directory/directory.db\n"
			"See PrinterLogicServiceOfflinePrint(8).\n",
		.caps = PL_CAP_HOLDS_JOBS,
		.start = op_start,
		.reconfig = op_reconfig,
		.shutdown = op_shutdown,
		.message = op_message,
		.stop = op_stop,
	};
	op_t op;
	memset(&op, 0, sizeof(op));
	op.listen_fd = -1;
	return pl_service_main(argc, argv, &def, &op);
}
