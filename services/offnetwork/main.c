/* PrinterLogicServiceOffNetworkServer: remote users print to printers
 * behind the firewall through an External Gateway; this service keeps a
 * WebSocket over TLS open to it and prints what it pushes (on.h has the
 * modules; docs/PrinterLogicServiceOffNetworkServer.8). */
#include "on.h"
#include "gw.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pl_log.h"
#include "pl_schemas.h"
#include "pl_util.h"

#define MIB (1024ull * 1024ull)

static const pl_schema_t *const S = &pl_schema_offnetwork;

/* wss://host[:port][/path]; [v6] hosts in brackets. 0 or -1. */
static int parse_url(on_conf_t *c, const char *url, pl_err_t *err)
{
	const char *p = url + 6, *host_end, *path;
	if (strncmp(url, "wss://", 6) != 0)
		goto bad;
	pl_strlcpy(c->url, url, sizeof(c->url));
	path = strchr(p, '/');
	if (!path)
		path = p + strlen(p);
	if (*p == '[') {
		host_end = strchr(p, ']');
		if (!host_end || host_end > path)
			goto bad;
		p++;
	} else {
		host_end = memchr(p, ':', (size_t)(path - p));
		if (!host_end)
			host_end = path;
	}
	if (host_end == p || (size_t)(host_end - p) >= sizeof(c->host))
		goto bad;
	memcpy(c->host, p, (size_t)(host_end - p));
	c->host[host_end - p] = '\0';
	c->port = 443;
	const char *colon = memchr(host_end, ':', (size_t)(path - host_end));
	if (colon) {
		char *e;
		long port = strtol(colon + 1, &e, 10);
		if (e != path || port < 1 || port > 65535)
			goto bad;
		c->port = (int)port;
	}
	pl_strlcpy(c->path, *path ? path : "/", sizeof(c->path));
	return 0;
bad:
	snprintf(err->msg, sizeof(err->msg), "gateway_url: want wss://host[:port][/path], got \"%.900s\"", url);
	return -1;
}

/* The site's token: the first line of token_file (kept out of plsc.json,
 * which many can read; the file should be 0600). */
static int read_token(on_conf_t *c, const char *path, pl_err_t *err)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err->msg, sizeof(err->msg), "token_file %.900s: %s", path, strerror(errno));
		return -1;
	}
	if (!fgets(c->token, sizeof(c->token), f))
		c->token[0] = '\0';
	fclose(f);
	c->token[strcspn(c->token, "\r\n")] = '\0';
	for (const char *t = c->token; *t; t++)
		if (*t < 0x21 || *t > 0x7e)
			c->token[0] = '\0';
	if (!c->token[0]) {
		snprintf(err->msg, sizeof(err->msg), "token_file %.900s: no token on its first line", path);
		return -1;
	}
	return 0;
}

int on_cfg_str(const pl_cnode_t *cfg, const char *key, char *dst, size_t size, pl_err_t *err)
{
	const char *v = NULL;
	if (pl_schema_str(S, cfg, key, &v, err) < 0)
		return -1;
	pl_strlcpy(dst, v ? v : "", size);
	return 0;
}

/* The pinned certificate digest and the test hook. */
static int on_settings_more(on_conf_t *c, const pl_cnode_t *cfg, pl_err_t *err)
{
	const char *pin = NULL;
	if (pl_schema_str(S, cfg, "gateway_fingerprint", &pin, err) < 0)
		return -1;
	if (pin && on_pin_parse(pin, c->pin, err) < 0)
		return -1;
	c->has_pin = pin != NULL;
	const char *p = getenv("PL_TEST_OFFNET_PAUSE_BEFORE_RESULT");
	c->pause_before_result_ms = p ? (uint32_t)strtoul(p, NULL, 10) : 0;
	if (c->pause_before_result_ms)
		pl_warn("test hook: PL_TEST_OFFNET_PAUSE_BEFORE_RESULT=%u ms",
			c->pause_before_result_ms);
	/* the bench's "before" figure: job bodies in SUBMIT_DATA frames, as
	 * an older router takes them */
	c->no_body = getenv("PL_TEST_OFFNET_NO_BODY") != NULL;
	if (c->no_body)
		pl_warn("test hook: PL_TEST_OFFNET_NO_BODY: job bodies in SUBMIT_DATA frames");
	/* a body fetch slowed down, so that a test can kill the gateway in it */
	p = getenv("PL_TEST_OFFNET_BODY_SLOW_US");
	c->body_slow_us = p ? (uint32_t)strtoul(p, NULL, 10) : 0;
	if (c->body_slow_us)
		pl_warn("test hook: PL_TEST_OFFNET_BODY_SLOW_US=%u a block of a job body",
			c->body_slow_us);
	return 0;
}

static int on_settings(on_conf_t *c, const pl_cnode_t *cfg, const char *state, pl_err_t *err)
{
	const char *role = NULL, *url = NULL, *tok = NULL;
	long long ping, dead, bmin, bmax, mj, pct, pt;
	memset(c, 0, sizeof(*c));
	if (pl_schema_check(S, cfg, err) < 0 ||
	    pl_holder_conf_parse(&c->hconf, cfg, state, err) < 0 ||
	    on_settings_more(c, cfg, err) < 0)
		return -1;
	pl_strlcpy(c->directory_path, c->hconf.directory_path, sizeof(c->directory_path));
	if (pl_schema_str(S, cfg, "role", &role, err) < 0 ||
	    pl_schema_str(S, cfg, "gateway_url", &url, err) < 0 ||
	    pl_schema_str(S, cfg, "token_file", &tok, err) < 0 ||
	    on_cfg_str(cfg, "ca_file", c->ca_file, sizeof(c->ca_file), err) < 0 ||
	    on_cfg_str(cfg, "client_cert", c->client_cert, sizeof(c->client_cert), err) < 0 ||
	    on_cfg_str(cfg, "client_key", c->client_key, sizeof(c->client_key), err) < 0 ||
	    pl_schema_int(S, cfg, "ping_s", &ping, err) < 0 ||
	    pl_schema_int(S, cfg, "dead_s", &dead, err) < 0 ||
	    pl_schema_int(S, cfg, "backoff_min_ms", &bmin, err) < 0 ||
	    pl_schema_int(S, cfg, "backoff_max_ms", &bmax, err) < 0 ||
	    pl_schema_int(S, cfg, "max_job_mb", &mj, err) < 0 ||
	    pl_schema_int(S, cfg, "print_connect_timeout_s", &pct, err) < 0 ||
	    pl_schema_int(S, cfg, "print_timeout_s", &pt, err) < 0)
		return -1;
	if (strcmp(role, "router") != 0) {
		snprintf(err->msg, sizeof(err->msg),
			 "role \"%.64s\": \"router\" or \"gateway\"", role);
		return -1;
	}
	if (!url || !tok) {
		/* The default configuration names every service: without a
		 * gateway the router waits, idle, and says so in plsc status.
		 * (The schema makes the two keys go together.) */
		c->unconfigured = 1;
		return 0;
	}
	if (dead <= ping || bmax < bmin) {
		snprintf(err->msg, sizeof(err->msg),
			 "dead_s must exceed ping_s, backoff_max_ms be at least backoff_min_ms");
		return -1;
	}
	if (parse_url(c, url, err) < 0 || read_token(c, tok, err) < 0)
		return -1;
	c->ping_s = (uint32_t)ping;
	c->dead_s = (uint32_t)dead;
	c->backoff_min_ms = (uint32_t)bmin;
	c->backoff_max_ms = (uint32_t)bmax;
	c->max_job_bytes = (uint64_t)mj * MIB;
	c->print_connect_timeout_ms = (uint32_t)pct * 1000;
	c->print_io_timeout_ms = (uint32_t)pt * 1000;
	return 0;
}

/* ---- plsc status ---- */

static void status_send(pl_loop_t *loop, void *arg)
{
	on_t *on = arg;
	char since[32] = "";
	time_t t = (time_t)(on->since_ms / 1000);
	struct tm tm;
	(void)loop;
	on->status_timer = NULL;
	if (on->since_ms && gmtime_r(&t, &tm))
		strftime(since, sizeof(since), "%Y-%m-%dT%H:%M:%SZ", &tm);
	pl_service_status(on->svc,
			  "%s%s%s; %zu in flight; %llu printed, %llu held, %llu failed; "
			  "%zu outcomes to send%s%s",
			  on->connected ? "connected" : "disconnected",
			  since[0] ? " since " : "", since, on_jobs_in_flight(on),
			  (unsigned long long)on->printed_total,
			  (unsigned long long)on->held_total,
			  (unsigned long long)on->failed_total, on_outbox_pending(on),
			  on->last_error[0] ? "; last error: " : "", on->last_error);
}

/* The detail changes with every job: plsc status gets it at most a few
 * times a second rather than a message a job. */
void on_status_note(on_t *on)
{
	if (!on->status_timer)
		on->status_timer = pl_loop_timer(on->loop, 200, status_send, on);
}

/* ---- the service ---- */

static int on_sandbox(pl_service_t *svc, const pl_cnode_t *cfg, pl_sandbox_t *sb, void *ctx)
{
	on_t *on = ctx;
	on_conf_t c;
	pl_err_t err;
	const char *tok = NULL;
	if (gw_role(cfg))
		return gw_sandbox(on, svc, cfg, sb);
	/* The token is read in start(), inside the sandbox. */
	if (pl_schema_str(S, cfg, "token_file", &tok, &err) == 0 && tok &&
	    pl_sandbox_allow(sb, tok, PL_SANDBOX_RO) < 0)
		return 1;
	if (on_settings(&c, cfg, pl_service_state_dir(svc), &err) < 0) {
		pl_err("%s", err.msg);
		return PL_EXIT_CONFIG;
	}
	(void)on;
	/* held jobs stay releasable without a gateway: directory and holder */
	if (pl_dir_sandbox(sb, c.directory_path, PL_DIR_READ_CREATE, &err) < 0 ||
	    pl_holder_sandbox(sb, &c.hconf, &err) < 0) {
		pl_err("%s", err.msg);
		return 1;
	}
	if (c.unconfigured)
		return 0;
	const char *ro[] = { c.ca_file, c.client_cert, c.client_key };
	for (size_t i = 0; i < PL_ARRAY_LEN(ro); i++)
		if (ro[i][0] && pl_sandbox_allow(sb, ro[i], PL_SANDBOX_RO) < 0)
			return 1;
	return 0;
}

static int on_start(pl_service_t *svc, const pl_cnode_t *cfg, void *ctx)
{
	on_t *on = ctx;
	pl_err_t err;
	on->svc = svc;
	on->loop = pl_service_loop(svc);
	if (gw_role(cfg))
		return gw_start(on, svc, cfg);
	if (on_settings(&on->conf, cfg, pl_service_state_dir(svc), &err) < 0) {
		pl_err("%s", err.msg);
		return PL_EXIT_CONFIG;
	}
	if (pl_dir_open(&on->dir, on->conf.directory_path, PL_DIR_READ_CREATE, &err) < 0) {
		pl_err("directory: %s", err.msg);
		return 1;
	}
	/* The outbox first, with or without a gateway: outcomes of held jobs
	 * wait there for one, those the holder reports as it starts (a
	 * release cut off by a restart: maybe-printed) included. */
	int rc = on_outbox_open(on, &err) < 0 ? 1 : on_hold_open(on, &err);
	if (rc != 0) {
		pl_err("%s", err.msg);
		return rc;
	}
	if (on->conf.unconfigured) {
		pl_notice("no gateway_url and token_file: idle (held jobs stay releasable)");
		pl_service_status(svc, "not configured (gateway_url, token_file)");
		return 0;
	}
	if (on_jobs_open(on, &err) < 0 || on_body_open(on, &err) < 0 ||
	    on_router_start(on, &err) < 0) {
		pl_err("%s", err.msg);
		return 1;
	}
	if (on->conf.has_pin)
		pl_info("gateway certificate pinned by its SHA-256 (gateway_fingerprint), "
			"instead of a CA");
	if (on->conf.pause_before_result_ms)
		pl_warn("test hook set: pause %u ms before a held job's RESULT",
			on->conf.pause_before_result_ms);
	pl_info("router: gateway %s, printers by name from the directory", on->conf.url);
	on_status_note(on);
	return 0;
}

static void drain_check(pl_loop_t *loop, void *arg)
{
	on_t *on = arg;
	if (on->in_flight == 0 && (!on->holder || pl_holder_pending(on->holder) == 0)) {
		pl_service_exit(on->svc, 0);
		return;
	}
	pl_loop_timer(loop, 20, drain_check, on);
}

/* Jobs being printed finish (and are acknowledged if the connection is
 * up); one being received is dropped: the gateway keeps it. */
static void on_shutdown(pl_service_t *svc, uint32_t grace_ms, void *ctx)
{
	on_t *on = ctx;
	(void)svc;
	(void)grace_ms;
	if (on->gw) {
		gw_shutdown(on);
		return;
	}
	on->draining = 1;
	drain_check(on->loop, on);
}

static void on_stop(pl_service_t *svc, void *ctx)
{
	on_t *on = ctx;
	(void)svc;
	if (on->gw) {
		gw_stop(on);
		return;
	}
	if (on->status_timer)
		pl_loop_timer_cancel(on->loop, on->status_timer);
	on->status_timer = NULL;
	/* before the router: done callbacks may ack, events be sent */
	if (!on->conf.unconfigured) {
		if (on->body)
			on_body_close(on); /* before the print worker it feeds */
		on_jobs_close(on);
	}
	on_hold_close(on);
	on_outbox_close(on);
	on_router_stop(on);
	pl_dir_close(on->dir);
}

/* The gateway role holds no jobs, yet HELLO said PL_CAP_HOLDS_JOBS (it
 * goes before the configuration, so before the role is known): the
 * supervisor's asks are answered "none" at once rather than left to time
 * out, which would hold up every plsc jobs and release. */
static int gw_answer_none(pl_service_t *svc, const pl_frame_t *f)
{
	pl_msg_t m;
	if (f->type != PL_MSG_JOBS_QUERY && f->type != PL_MSG_RELEASE_JOBS &&
	    f->type != PL_MSG_DELETE_JOBS)
		return 0;
	if (pl_msg_init(&m, PL_MSG_RESULT, PL_FLAG_REPLY, f->seq) < 0)
		return 1;
	pl_msg_add_u32(&m, PL_TAG_STATUS, PL_STATUS_OK);
	if (f->type == PL_MSG_JOBS_QUERY) {
		pl_msg_add_u32(&m, PL_TAG_TOTAL, 0);
		pl_msg_add_u32(&m, PL_TAG_COUNT, 0);
	}
	if (pl_msg_finish(&m) == 0)
		(void)pl_service_send(svc, &m);
	pl_msg_free(&m);
	return 1;
}

static void on_message(pl_service_t *svc, const pl_frame_t *f, void *ctx)
{
	on_t *on = ctx;
	if (f->fd >= 0)
		close(f->fd);
	if (on->gw ? !gw_answer_none(svc, f)
		   : (!on->holder || !pl_holder_message(on->holder, f)))
		pl_debug("ignoring %s", pl_msg_type_name(f->type));
}

int main(int argc, char **argv)
{
	static const pl_service_def_t def = {
		.name = ON_NAME,
		.summary = "Off-network printing: keeps a WebSocket over TLS open to the\n"
			   "External Gateway and prints the jobs it pushes.",
		.schema = &pl_schema_offnetwork,
		.help = "role \"router\" dials gateway_url; no listening socket.\n"
			"Secure/pull jobs are held here and released like all others.\n"
			"role \"gateway\" listens on listen.main (routers, HTTPS + WSS)\n"
			"and listen.intake (workstations, the OfflinePrint wire over TLS).\n"
			"See PrinterLogicServiceOffNetworkServer(8).\n",
		.caps = PL_CAP_HOLDS_JOBS, /* lib/holder (hold.c) */
		.start = on_start,
		.shutdown = on_shutdown,
		.message = on_message,
		.stop = on_stop,
		.sandbox = on_sandbox,
	};
	static on_t on;
	on.printed.fd = on.held.fd = -1;
	return pl_service_main(argc, argv, &def, &on);
}
