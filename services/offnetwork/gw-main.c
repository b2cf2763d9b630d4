/* The gateway role: settings, start and stop, plsc status, the durable
 * record of outcomes (what the status query answers once a job is gone),
 * and the per-token rate limits of the intake. gw.h has the modules. */
#include "gw.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pl_holder.h"
#include "pl_log.h"
#include "pl_schemas.h"
#include "pl_tls.h"
#include "pl_util.h"

#define MIB (1024ull * 1024ull)
/* job_expiry_hours 0: a job waits for a router however long it takes */
#define GW_NEVER_MS (3650ll * 86400 * 1000)

static const pl_schema_t *const S = &pl_schema_offnetwork;

int gw_role(const pl_cnode_t *cfg)
{
	const char *role = NULL;
	pl_err_t err;
	return pl_schema_str(S, cfg, "role", &role, &err) == 0 && role &&
	       strcmp(role, "gateway") == 0;
}

static int read_token(const char *path, char *tok, size_t sz, pl_err_t *err)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err->msg, sizeof(err->msg), "site_token_file %.900s: %s", path,
			 strerror(errno));
		return -1;
	}
	if (!fgets(tok, (int)sz, f))
		tok[0] = '\0';
	fclose(f);
	tok[strcspn(tok, "\r\n")] = '\0';
	for (const char *t = tok; *t; t++)
		if (*t < 0x21 || *t > 0x7e)
			tok[0] = '\0';
	if (strlen(tok) < 16) {
		snprintf(err->msg, sizeof(err->msg),
			 "site_token_file %.900s: no token of 16 or more characters on its first line",
			 path);
		return -1;
	}
	return 0;
}

/* read_tok: 0 in the sandbox callback (the token is read inside it). */
static int gw_settings(gw_conf_t *c, const pl_cnode_t *cfg, const char *state, int read_tok,
		       pl_err_t *err)
{
	char tokfile[4096];
	long long mj, rj, rm, ping, dead, exp_h, exp_s, exp_chk, okeep, odays;
	memset(c, 0, sizeof(*c));
	if (pl_schema_check(S, cfg, err) < 0 ||
	    on_cfg_str(cfg, "tls_cert", c->tls_cert, sizeof(c->tls_cert), err) < 0 ||
	    on_cfg_str(cfg, "tls_key", c->tls_key, sizeof(c->tls_key), err) < 0 ||
	    on_cfg_str(cfg, "site_token_file", tokfile, sizeof(tokfile), err) < 0 ||
	    on_cfg_str(cfg, "directory", c->directory_path, sizeof(c->directory_path), err) < 0 ||
	    pl_schema_int(S, cfg, "max_job_mb", &mj, err) < 0 ||
	    pl_schema_int(S, cfg, "rate_jobs_per_min", &rj, err) < 0 ||
	    pl_schema_int(S, cfg, "rate_mb_per_min", &rm, err) < 0 ||
	    pl_schema_int(S, cfg, "ping_s", &ping, err) < 0 ||
	    pl_schema_int(S, cfg, "dead_s", &dead, err) < 0 ||
	    pl_schema_int(S, cfg, "job_expiry_hours", &exp_h, err) < 0 ||
	    pl_schema_int(S, cfg, "job_expiry_seconds", &exp_s, err) < 0 ||
	    pl_schema_int(&pl_schema_holder, cfg, "expiry_check_s", &exp_chk, err) < 0 ||
	    pl_schema_int(S, cfg, "outcomes_keep", &okeep, err) < 0 ||
	    pl_schema_int(S, cfg, "outcomes_days", &odays, err) < 0)
		return -1;
	if (!c->tls_cert[0] || !tokfile[0]) {
		snprintf(err->msg, sizeof(err->msg),
			 "role \"gateway\" needs tls_cert and tls_key (the full chain and its key) "
			 "and site_token_file");
		return -1;
	}
	if (dead <= ping) {
		snprintf(err->msg, sizeof(err->msg), "dead_s must exceed ping_s");
		return -1;
	}
	if (read_tok && read_token(tokfile, c->site_token, sizeof(c->site_token), err) < 0)
		return -1;
	if (!c->directory_path[0])
		snprintf(c->directory_path, sizeof(c->directory_path),
			 "%.3000s/../directory/directory.db", state);
	c->max_job_bytes = (uint64_t)mj * MIB;
	c->rate_jobs_per_min = (uint32_t)rj;
	c->rate_bytes_per_min = (uint64_t)rm * MIB;
	c->ping_s = (uint32_t)ping;
	c->dead_s = (uint32_t)dead;
	/* job_expiry_seconds, when set, is the finer-grained override, as
	 * the held jobs' expiry_seconds */
	c->expiry_ms = exp_s ? exp_s * 1000 : exp_h * 3600 * 1000;
	c->expiry_check_ms = (uint32_t)exp_chk * 1000;
	c->outcomes_keep = (uint32_t)okeep;
	c->outcomes_age_ms = odays * 86400 * 1000;
	const char *pc = getenv("PL_TEST_OFFNET_GW_PAUSE_IN_COMPACT");
	c->pause_in_compact_ms = pc ? (uint32_t)strtoul(pc, NULL, 10) : 0;
	if (c->pause_in_compact_ms)
		pl_warn("test hook: PL_TEST_OFFNET_GW_PAUSE_IN_COMPACT=%u ms",
			c->pause_in_compact_ms);
	const char *p = getenv("PL_TEST_OFFNET_GW_PAUSE_BEFORE_ACK");
	c->pause_before_ack_ms = p ? (uint32_t)strtoul(p, NULL, 10) : 0;
	if (c->pause_before_ack_ms)
		pl_warn("test hook: PL_TEST_OFFNET_GW_PAUSE_BEFORE_ACK=%u ms",
			c->pause_before_ack_ms);
	return 0;
}

/* ---- plsc status ---- */

static void status_send(pl_loop_t *loop, void *arg)
{
	gw_t *gw = arg;
	size_t n = pl_jobstore_count(gw->store, NULL); /* kept with the index */
	(void)loop;
	gw->status_timer = NULL;
	pl_service_status(gw->svc,
			  "gateway: %u router%s connected; %zu job%s waiting; %llu pushed, "
			  "%llu printed, %llu held, %llu failed, %llu expired; "
			  "%llu held-job events (%llu unknown); %llu refused by rate limits; "
			  "%zu outcomes recorded (%llu compactions)%s%s",
			  gw->routers, gw->routers == 1 ? "" : "s", n, n == 1 ? "" : "s",
			  (unsigned long long)gw->pushed, (unsigned long long)gw->printed,
			  (unsigned long long)gw->held, (unsigned long long)gw->failed,
			  (unsigned long long)gw->expired, (unsigned long long)gw->events, (unsigned long long)gw->events_unknown,
			  (unsigned long long)gw->refused_rate, gw->oc.lines,
			  (unsigned long long)gw->compactions, gw->last_error[0] ? "; last error: " : "", gw->last_error);
}

void gw_status_note(gw_t *gw)
{
	if (!gw->status_timer)
		gw->status_timer = pl_loop_timer(gw->loop, 200, status_send, gw);
}

void gw_error(gw_t *gw, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(gw->last_error, sizeof(gw->last_error), fmt, ap);
	va_end(ap);
	pl_warn("%s", gw->last_error);
	gw_status_note(gw);
}

/* ---- outcomes (gw-outcomes.c has the record and its compaction) ---- */

static int outcome_append(gw_t *gw, gw_outcome_t *o, int sync)
{
	pl_err_t err;
	o->at_ms = pl_log_now_ms();
	if (gw_oc_append(&gw->oc, o, sync, &err) < 0) {
		gw_error(gw, "%s", err.msg);
		return -1;
	}
	gw_outcomes_tend(gw);
	return 0;
}

int gw_outcomes_sync(gw_t *gw)
{
	pl_err_t err;
	if (gw_oc_sync(&gw->oc, &err) < 0) {
		gw_error(gw, "%s", err.msg);
		return -1;
	}
	return 0;
}

static int still_stored(void *arg, const char *id)
{
	gw_t *gw = arg;
	pl_job_meta_t m;
	return pl_jobstore_get(gw->store, id, &m) == 0;
}

void gw_outcomes_tend(gw_t *gw)
{
	pl_err_t err;
	int64_t now = pl_log_now_ms();
	if (!gw_oc_due(&gw->oc, now))
		return;
	size_t before = gw->oc.lines;
	long dropped = gw_oc_compact(&gw->oc, now, still_stored, gw, &err);
	if (dropped < 0) {
		gw_error(gw, "%s", err.msg);
		return;
	}
	gw->compactions++;
	pl_info("outcomes compacted: %zu lines, %ld dropped (keep %zu, age limit %lld h)",
		before, dropped, gw->oc.keep, (long long)(gw->oc.age_ms / 3600000));
	gw_status_note(gw);
}

static int outcome_of(gw_t *gw, const pl_job_meta_t *m, const char *event,
		      const char *reason, int sync)
{
	gw_outcome_t o;
	memset(&o, 0, sizeof(o));
	pl_strlcpy(o.id, m->id, sizeof(o.id));
	pl_strlcpy(o.workstation, m->workstation, sizeof(o.workstation));
	pl_strlcpy(o.event, event, sizeof(o.event));
	pl_strlcpy(o.reason, reason ? reason : "", sizeof(o.reason));
	return outcome_append(gw, &o, sync);
}

int gw_outcome_add(gw_t *gw, const pl_job_meta_t *m, const char *event, const char *reason)
{
	return outcome_of(gw, m, event, reason, 1);
}

int gw_outcome_offered(gw_t *gw, const pl_job_meta_t *m)
{
	/* Once is enough; and a job with an answer recorded (we died
	 * before its shred) goes again only to be answered again. */
	if (gw_oc_find(&gw->oc, m->id))
		return 0;
	return outcome_of(gw, m, "offered", "", 1);
}

int gw_event_record(gw_t *gw, const on_msg_t *m)
{
	const gw_outcome_t *old = gw_outcome_find(gw, m->id);
	pl_job_meta_t meta;
	gw_outcome_t o;
	char reason[sizeof(m->printer) + sizeof(m->reason) + 8];
	const char *ws;
	if (old && on_seq_repeat(old->seq, m->seq)) {
		/* sent again: our acknowledgement was lost (we died, or the
		 * connection did, between the record and the ack) */
		pl_info("job %s: %s (event %llu) already recorded", m->id, m->event,
			(unsigned long long)m->seq);
		return 0;
	}
	if (old) {
		ws = old->workstation;
	} else if (strlen(m->id) == PL_JOB_ID_LEN && pl_jobstore_get(gw->store, m->id, &meta) == 0) {
		/* Still stored: we died between the router's RESULT held and our
		 * record of it; the job goes again and is answered "already
		 * held", which must not hide this newer state (gw-push.c). */
		ws = meta.workstation;
	} else {
		/* Forgotten (compacted away: outcomes_keep, outcomes_days) or never ours (the router
		 * had another gateway before): nothing to show anyone. Acked,
		 * so that the router stops sending it. */
		gw->events_unknown++;
		pl_notice("job %s: %s from a router, but this gateway does not know the job: "
			  "acknowledged, not recorded", m->id, m->event);
		return 0;
	}
	memset(&o, 0, sizeof(o));
	pl_strlcpy(o.id, m->id, sizeof(o.id));
	o.seq = m->seq;
	/* where it printed, for the remote user, with the router's why */
	snprintf(reason, sizeof(reason), "%s%s%s%s", m->printer[0] ? "at " : "", m->printer,
		 m->printer[0] && m->reason[0] ? ": " : "", m->reason);
	pl_strlcpy(o.workstation, ws, sizeof(o.workstation));
	pl_strlcpy(o.event, m->event, sizeof(o.event));
	pl_strlcpy(o.reason, reason, sizeof(o.reason));
	if (outcome_append(gw, &o, 0) < 0)
		return -1;
	gw->events++;
	pl_info("job %s: %s%s%s (held at the router; event %llu)", m->id, m->event,
		reason[0] ? ", " : "", reason, (unsigned long long)m->seq);
	gw_status_note(gw);
	return 0;
}

const gw_outcome_t *gw_outcome_find(const gw_t *gw, const char *id)
{
	return gw_oc_find(&gw->oc, id);
}

/* ---- rate limits: per workstation (its token), fixed one-minute windows ---- */

uint32_t gw_rate_admit(gw_t *gw, const pl_job_meta_t *m, char *why, size_t n)
{
	uint64_t now = pl_now_ms();
	gw_rate_t *slot = NULL, *oldest = &gw->rate[0];
	for (size_t i = 0; i < GW_RATE_SLOTS; i++) {
		gw_rate_t *r = &gw->rate[i];
		if (r->ws[0] && strcmp(r->ws, m->workstation) == 0) {
			slot = r;
			break;
		}
		if (r->window_ms < oldest->window_ms)
			oldest = r;
	}
	if (!slot) { /* the least recently active workstation's slot */
		slot = oldest;
		memset(slot, 0, sizeof(*slot));
		pl_strlcpy(slot->ws, m->workstation, sizeof(slot->ws));
	}
	if (now - slot->window_ms >= 60000) {
		slot->window_ms = now;
		slot->jobs = 0;
		slot->bytes = 0;
	}
	uint64_t wait_s = (slot->window_ms + 60000 - now + 999) / 1000;
	if (gw->conf.rate_jobs_per_min && slot->jobs + 1 > gw->conf.rate_jobs_per_min) {
		snprintf(why, n, "rate limit: at most %u jobs a minute from workstation %s; "
			 "try again in %llu s", gw->conf.rate_jobs_per_min, m->workstation,
			 (unsigned long long)wait_s);
		gw->refused_rate++;
		gw_status_note(gw);
		return PL_STATUS_QUOTA;
	}
	if (gw->conf.rate_bytes_per_min && slot->bytes + m->size > gw->conf.rate_bytes_per_min &&
	    slot->jobs > 0) {
		snprintf(why, n, "rate limit: at most %llu MiB a minute from workstation %s; "
			 "try again in %llu s",
			 (unsigned long long)(gw->conf.rate_bytes_per_min / MIB), m->workstation,
			 (unsigned long long)wait_s);
		gw->refused_rate++;
		gw_status_note(gw);
		return PL_STATUS_QUOTA;
	}
	slot->jobs++;
	slot->bytes += m->size;
	return PL_STATUS_OK;
}

/* ---- the role ---- */

int gw_sandbox(on_t *on, pl_service_t *svc, const pl_cnode_t *cfg, pl_sandbox_t *sb)
{
	gw_conf_t c;
	pl_err_t err;
	const char *tok = NULL;
	(void)on;
	if (gw_settings(&c, cfg, pl_service_state_dir(svc), 0, &err) < 0) {
		pl_err("%s", err.msg);
		return PL_EXIT_CONFIG;
	}
	if (pl_schema_str(S, cfg, "site_token_file", &tok, &err) < 0 ||
	    (tok && pl_sandbox_allow(sb, tok, PL_SANDBOX_RO) < 0) ||
	    pl_tls_sandbox(cfg, sb, &err) < 0 ||
	    pl_dir_sandbox(sb, c.directory_path, PL_DIR_READ_CREATE, &err) < 0) {
		pl_err("sandbox: %s", err.msg);
		return 1;
	}
	return 0;
}

static int outcomes_open(gw_t *gw, pl_err_t *err)
{
	if (gw_oc_open(&gw->oc, pl_service_state_dir(gw->svc), gw->conf.outcomes_keep,
		       gw->conf.outcomes_age_ms, pl_log_now_ms(), err) < 0)
		return -1;
	gw->oc.pause_ms = gw->conf.pause_in_compact_ms;
	pl_info("outcomes: %zu recorded", gw->oc.lines);
	gw_outcomes_tend(gw);
	return 0;
}

static int open_store(gw_t *gw, pl_err_t *err)
{
	pl_holder_conf_t hc;
	memset(&hc, 0, sizeof(hc));
	/* The store stamps each job's expiry when it is committed, as for
	 * held jobs: a changed setting applies to the jobs stored after. */
	hc.expiry_ms = gw->conf.expiry_ms ? gw->conf.expiry_ms : GW_NEVER_MS;
	int rc = pl_holder_store_open(pl_service_state_dir(gw->svc), &hc, &gw->store, err);
	return rc < 0 ? -1 : 0;
}

int gw_start(on_t *on, pl_service_t *svc, const pl_cnode_t *cfg)
{
	pl_err_t err;
	gw_t *gw = calloc(1, sizeof(*gw));
	if (!gw)
		return 1;
	on->gw = gw;
	gw->on = on;
	gw->svc = svc;
	gw->loop = pl_service_loop(svc);
	gw->oc.fd = -1;
	if (gw_settings(&gw->conf, cfg, pl_service_state_dir(svc), 1, &err) < 0) {
		pl_err("%s", err.msg);
		return PL_EXIT_CONFIG;
	}
	int lmain = pl_service_listen_fd(svc, "main");
	int lintake = pl_service_listen_fd(svc, "intake");
	if (lmain < 0 || lintake < 0) {
		pl_err("role \"gateway\" needs listen.main (routers, HTTPS + WSS) and "
		       "listen.intake (workstations, TLS)");
		return PL_EXIT_CONFIG;
	}
	if (pl_dir_open(&gw->dir, gw->conf.directory_path, PL_DIR_READ_CREATE, &err) < 0) {
		pl_err("directory: %s", err.msg);
		return 1;
	}
	if (open_store(gw, &err) < 0 || outcomes_open(gw, &err) < 0 ||
	    gw_server_start(gw, lmain, &err) < 0 || gw_intake_start(gw, lintake, &err) < 0) {
		pl_err("%s", err.msg);
		return 1;
	}
	pl_info("gateway: routers on listen.main, workstations on listen.intake");
	if (gw->conf.pause_before_ack_ms)
		pl_warn("test hook set: pause %u ms before a JOB_EVENT's acknowledgement",
			gw->conf.pause_before_ack_ms);
	gw_status_note(gw);
	gw_server_kick(gw);
	gw_expire_start(gw);
	return 0;
}

static void drain_check(pl_loop_t *loop, void *arg)
{
	gw_t *gw = arg;
	if (gw_intake_pending(gw) == 0) {
		pl_service_exit(gw->svc, 0);
		return;
	}
	pl_loop_timer(loop, 20, drain_check, gw);
}

/* Uploads being committed finish (their ids are durable); a job on its
 * way to a router stays stored and goes again on the next connection. */
void gw_shutdown(on_t *on)
{
	gw_t *gw = on->gw;
	gw->draining = 1;
	gw_intake_stop_accepting(gw);
	drain_check(gw->loop, gw);
}

void gw_stop(on_t *on)
{
	gw_t *gw = on->gw;
	if (!gw)
		return;
	gw_expire_stop(gw);
	gw_intake_free(gw);
	gw_server_stop(gw); /* its connections' ends note the status */
	if (gw->status_timer)
		pl_loop_timer_cancel(gw->loop, gw->status_timer);
	if (gw->store)
		pl_jobstore_close(gw->store);
	if (gw->dir)
		pl_dir_close(gw->dir);
	gw_oc_close(&gw->oc);
	free(gw);
	on->gw = NULL;
}
