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
#include "pl_schemas.h"
#include "pl_tls.h"
#include "pl_util.h"

#define MIB (1024ull * 1024ull)

/* The connection limits' keys (limits.c has what they mean). */
static int op_limit_settings(op_t *op, const pl_cnode_t *cfg, pl_err_t *err)
{
	const pl_schema_t *s = &pl_schema_offlineprint;
	long long ad, pa, rp, mu, uw;
	if (pl_schema_int(s, cfg, "auth_deadline_s", &ad, err) < 0 ||
	    pl_schema_int(s, cfg, "max_clients_per_address", &pa, err) < 0 ||
	    pl_schema_int(s, cfg, "auth_reserve_pct", &rp, err) < 0 ||
	    pl_schema_int(s, cfg, "min_upload_kib_s", &mu, err) < 0 ||
	    pl_schema_int(s, cfg, "upload_window_s", &uw, err) < 0)
		return -1;
	op->auth_deadline_ms = (uint32_t)ad * 1000;
	op->max_per_address = (uint32_t)pa;
	op->auth_reserve_pct = (uint32_t)rp;
	op->min_upload_kib_s = (uint32_t)mu;
	op->upload_window_ms = (uint32_t)uw * 1000;
	return 0;
}

/* The keys, ranges and defaults: pl_schema_offlineprint (pl_schemas.h),
 * which the supervisor checks too. */
static int op_settings(op_t *op, const pl_cnode_t *cfg, pl_err_t *err)
{
	const pl_schema_t *s = &pl_schema_offlineprint;
	long long mj, ct, mc;

	if (pl_schema_check(s, cfg, err) < 0 ||
	    pl_holder_conf_parse(&op->hconf, cfg, pl_service_state_dir(op->svc), err) < 0 ||
	    pl_schema_int(s, cfg, "max_job_mb", &mj, err) < 0 ||
	    pl_schema_int(s, cfg, "client_timeout_s", &ct, err) < 0 ||
	    pl_schema_int(s, cfg, "max_clients", &mc, err) < 0 ||
	    op_limit_settings(op, cfg, err) < 0)
		return -1;
	op->max_job_bytes = (uint64_t)mj * MIB;
	op->client_timeout_ms = (uint32_t)ct * 1000;
	op->max_clients = (uint32_t)mc;
	return 0;
}

static int open_tls(op_t *op, const pl_cnode_t *cfg, pl_err_t *err)
{
	const char *cert, *key;
	char fp[128];
	/* op_settings checked them, "needs" included: both or neither. */
	if (pl_schema_str(&pl_schema_offlineprint, cfg, "tls_cert", &cert, err) < 0 ||
	    pl_schema_str(&pl_schema_offlineprint, cfg, "tls_key", &key, err) < 0)
		return -1;
	op->tls = pl_tls_server_ctx(cert, key, pl_service_state_dir(op->svc),
				    "PrinterLogicServiceOfflinePrint", err);
	if (!op->tls)
		return -1;
	if (pl_tls_fingerprint(op->tls, fp, sizeof(fp)) == 0)
		pl_info("TLS certificate %s, SHA-256 %s",
			cert ? cert : "self-signed (tls-cert.pem in the state dir)", fp);
	return 0;
}

/* Answers and job events go to the supervisor over the service channel. */
static int op_send(void *arg, const pl_msg_t *m)
{
	op_t *op = arg;
	return pl_service_send(op->svc, m);
}

static int start_holder(op_t *op, pl_err_t *err)
{
	int rc = pl_holder_store_open(pl_service_state_dir(op->svc), &op->hconf,
				      &op->store, err);
	if (rc < 0)
		return rc == PL_JS_EKEY ? PL_EXIT_CONFIG : 1;
	pl_holder_opts_t ho = {
		.loop = op->loop,
		.name = "op",
		.store = op->store,
		.dir = op->dir,
		.send = op_send,
		.send_arg = op,
		/* with --foreground there is no one to tell */
		.events = pl_service_supervised(op->svc),
		.conf = &op->hconf,
	};
	if (pl_holder_new(&op->holder, &ho, err) < 0)
		return 1;
	op->disk = pl_holder_disk(op->holder);
	return 0;
}

/* The sandbox beyond the default (state dir rw: jobs, master key, the
 * generated certificate): the directory's folder read-only (it faces the
 * network, so it only reads the directory: token checks, printers), the
 * SNMP service's state dir read-only (refuse_offline_printers) and
 * configured TLS files read-only. Sockets stay usable: releases print
 * over the network. */
static int op_sandbox(pl_service_t *svc, const pl_cnode_t *cfg, pl_sandbox_t *sb,
		      void *ctx)
{
	op_t *op = ctx;
	pl_err_t err;
	op->svc = svc;
	if (op_settings(op, cfg, &err) < 0 || pl_tls_sandbox(cfg, sb, &err) < 0) {
		pl_err("%s", err.msg);
		return PL_EXIT_CONFIG;
	}
	if (pl_dir_sandbox(sb, op->hconf.directory_path, PL_DIR_READ_CREATE, &err) < 0 ||
	    pl_holder_sandbox(sb, &op->hconf, &err) < 0) {
		pl_err("%s", err.msg);
		return 1;
	}
	return 0;
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
	if (pl_dir_open(&op->dir, op->hconf.directory_path, PL_DIR_READ_CREATE, &err) < 0) {
		pl_err("directory: %s", err.msg);
		return 1;
	}
	int rc = start_holder(op, &err);
	if (rc != 0) {
		pl_err("%s", err.msg);
		return rc;
	}
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
	 * quotas and expiry, the pools and the TLS identity need a restart. */
	op->hconf.report_titles = probe.hconf.report_titles;
	op->hconf.print_connect_timeout_ms = probe.hconf.print_connect_timeout_ms;
	op->hconf.print_io_timeout_ms = probe.hconf.print_io_timeout_ms;
	op->hconf.refuse_offline = probe.hconf.refuse_offline;
	pl_holder_reconfig(op->holder, &op->hconf);
	op->client_timeout_ms = probe.client_timeout_ms;
	op->max_clients = probe.max_clients;
	op->max_job_bytes = probe.max_job_bytes;
	op->auth_deadline_ms = probe.auth_deadline_ms;
	op->max_per_address = probe.max_per_address;
	op->auth_reserve_pct = probe.auth_reserve_pct;
	op->min_upload_kib_s = probe.min_upload_kib_s;
	op->upload_window_ms = probe.upload_window_ms;
	op_limits_reconfig(op);
	pl_info("settings updated");
	return 0;
}

static void drain_check(pl_loop_t *loop, void *arg)
{
	op_t *op = arg;
	if (pl_holder_pending(op->holder) == 0) {
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
	if (!pl_holder_message(op->holder, f) && !op_touch_answer(f))
		pl_debug("ignoring %s", pl_msg_type_name(f->type));
}

static void op_stop(pl_service_t *svc, void *ctx)
{
	op_t *op = ctx;
	(void)svc;
	op_conn_stop_accepting(op);
	op_conn_close_all(op);
	op_limits_stop(op);
	pl_holder_free(op->holder); /* waits for the work in flight */
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
		.schema = &pl_schema_offlineprint,
		.help = "listen.main defaults to \"0.0.0.0:31989\".\n"
			"See PrinterLogicServiceOfflinePrint(8).\n",
		.caps = PL_CAP_HOLDS_JOBS | PL_CAP_RELEASE_NEWEST, /* lib/holder */
		.start = op_start,
		.reconfig = op_reconfig,
		.shutdown = op_shutdown,
		.message = op_message,
		.stop = op_stop,
		.sandbox = op_sandbox,
	};
	static op_t op; /* the token table makes it large for a stack */
	op.listen_fd = -1;
	return pl_service_main(argc, argv, &def, &op);
}
