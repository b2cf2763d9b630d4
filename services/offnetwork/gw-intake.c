/* Workstations submit to the gateway with OfflinePrint's own intake
 * (services/offlineprint/conn.c and its limits), not a copy of it: the
 * §7 wire over TLS, the workstation tokens of the directory, idempotent
 * retries, slow-upload and connection limits, the durable commit into an
 * encrypted pl_jobstore. op_hooks_t is where the gateway differs: the
 * jobs' source is "offnetwork" ("offnetwork-hold" with the hold flag,
 * plsc-submit --hold: the router holds it), printer names are the remote
 * site's (the
 * router checks them), each job passes the per-token rate limits, and a
 * stored job is handed to the routers. A pl_holder is there because the
 * intake commits on its disk pool; it sends no job events (this service
 * holds nothing for release) and runs no expiry: a gateway job goes only
 * when a router answered for it. */
#include "gw.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "op.h"
#include "pl_log.h"
#include "pl_tls.h"
#include "pl_util.h"

static uint32_t intake_admit(void *arg, const pl_job_meta_t *m, char *why, size_t n)
{
	gw_t *gw = arg;
	/* a held job without one is a pull job: released at any printer */
	if (!m->printer[0] && strcmp(m->source, GW_SOURCE_HOLD) != 0) {
		pl_strlcpy(why, "the gateway needs a printer name (PRINTER), or the hold flag",
			   n);
		return PL_STATUS_BADREQ;
	}
	return gw_rate_admit(gw, m, why, n);
}

static void intake_held(void *arg, const pl_job_meta_t *m)
{
	gw_t *gw = arg;
	pl_info("job %s from %s for %s at %s: %llu bytes%s, waiting for a router", m->id,
		m->workstation, m->owner, m->printer[0] ? m->printer : "any printer",
		(unsigned long long)m->size,
		strcmp(m->source, GW_SOURCE_HOLD) == 0 ? ", to be held for release" : "");
	gw_status_note(gw);
	gw_server_kick(gw);
}

static int no_send(void *arg, const pl_msg_t *m)
{
	(void)arg;
	(void)m;
	return 0;
}

int gw_intake_start(gw_t *gw, int listen_fd, pl_err_t *err)
{
	op_t *op = calloc(1, sizeof(*op));
	if (!op) {
		pl_strlcpy(err->msg, "out of memory", sizeof(err->msg));
		return -1;
	}
	gw->intake = op;
	op->listen_fd = -1;
	op->hooks = (op_hooks_t){ .source = "offnetwork", .hold_source = GW_SOURCE_HOLD,
				  .any_printer = 1, .no_touch = 1,
				  .own_status = 1, .admit = intake_admit,
				  .held = intake_held, .arg = gw };
	op->svc = gw->svc;
	op->loop = gw->loop;
	op->store = gw->store;
	op->dir = gw->dir;
	/* OfflinePrint's defaults (its schema): the same limits for the
	 * same wire. */
	op->max_job_bytes = gw->conf.max_job_bytes;
	op->client_timeout_ms = 30000;
	op->max_clients = 256;
	op->auth_deadline_ms = 10000;
	op->max_per_address = 16;
	op->auth_reserve_pct = 25;
	op->min_upload_kib_s = 1;
	op->upload_window_ms = 30000;
	op->hconf.expiry_ms = INT64_MAX / 4;
	op->hconf.print_workers = 1;
	op->hconf.print_connect_timeout_ms = 10000;
	op->hconf.print_io_timeout_ms = 60000;
	op->hconf.report_titles = 1;
	pl_strlcpy(op->hconf.directory_path, gw->conf.directory_path,
		   sizeof(op->hconf.directory_path));
	op->tls = pl_tls_server_ctx(gw->conf.tls_cert, gw->conf.tls_key, NULL, ON_NAME, err);
	if (!op->tls)
		return -1;
	pl_holder_opts_t ho = {
		.loop = gw->loop, .name = "gw", .store = gw->store, .dir = gw->dir,
		.send = no_send, .send_arg = gw, .events = 0, .conf = &op->hconf,
	};
	if (pl_holder_new(&op->holder, &ho, err) < 0)
		return -1;
	op->disk = pl_holder_disk(op->holder);
	if (op_conn_listen(op, listen_fd) < 0) {
		pl_strlcpy(err->msg, "intake: cannot listen", sizeof(err->msg));
		return -1;
	}
	return 0;
}

void gw_intake_stop_accepting(gw_t *gw)
{
	op_t *op = gw->intake;
	if (!op)
		return;
	op->draining = 1;
	op_conn_stop_accepting(op);
}

size_t gw_intake_pending(gw_t *gw)
{
	op_t *op = gw->intake;
	return op && op->holder ? pl_holder_pending(op->holder) : 0;
}

void gw_intake_free(gw_t *gw)
{
	op_t *op = gw->intake;
	if (!op)
		return;
	op_conn_stop_accepting(op);
	op_conn_close_all(op);
	op_limits_stop(op);
	if (op->holder)
		pl_holder_free(op->holder);
	if (op->listen_fd >= 0)
		close(op->listen_fd);
	if (op->tls)
		SSL_CTX_free(op->tls);
	free(op);
	gw->intake = NULL;
}
