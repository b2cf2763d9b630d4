/* Expiry of the gateway's stored jobs (job_expiry_hours): a gateway whose
 * routers stay away must not fill its disk. The job store stamps each
 * job's expires_ms at commit, as for held jobs (pl_holder_store_open
 * with the gateway's expiry); this sweep, every expiry_check_s on the loop
 * thread, shreds the jobs past it. The rule that keeps a job from being
 * both printed and reported expired:
 *   - a job past its expiry is never offered again (gw-push.c asks
 *     gw_expire_due before it offers one);
 *   - a job on its way on a live router connection (offered, its body
 *     being fetched, its RESULT awaited) is left alone: the RESULT wins,
 *     and the job is recorded and shredded as for any other;
 *   - a job offered earlier whose router never answered (the connection
 *     dropped, or this gateway restarted: gw-push.c records "offered"
 *     durably before the first offer) may have printed there; it is
 *     shredded with the outcome "maybe-printed", never "expired";
 *   - a job never offered is shredded with the outcome "expired".
 * The outcome is synced before the shred: a crash in between leaves a
 * job that is never offered and is shredded by the next sweep. Everything
 * runs on the loop thread, so no offer can come between the check and
 * the shred. */
#include "gw.h"

#include <stdlib.h>
#include <string.h>

#include "pl_log.h"
#include "pl_util.h"

/* Shreds a sweep makes before it lets the loop run again (each is a few
 * fsyncs); the rest follow at once. A sweep looks at the due jobs only,
 * at most GW_EXPIRE_LOOK of them (room for those in flight, which it
 * skips): a listing of every job would copy ~1 KiB a job, 94 MB a
 * minute with 100,000 stored. */
#define GW_EXPIRE_BATCH 32u
#define GW_EXPIRE_LOOK 256u

int gw_expire_due(const gw_t *gw, const pl_job_meta_t *m, int64_t now_ms)
{
	return gw->conf.expiry_ms > 0 && m->expires_ms <= now_ms;
}

/* 0, or -1 when the job must wait for the next sweep. */
static int expire_one(gw_t *gw, const pl_job_meta_t *m)
{
	pl_err_t err;
	const gw_outcome_t *old = gw_outcome_find(gw, m->id);
	char hours[64];
	int offered = old && strcmp(old->event, "offered") == 0;
	snprintf(hours, sizeof(hours), "%lld s", (long long)(gw->conf.expiry_ms / 1000));
	if (gw->conf.expiry_ms % 3600000 == 0)
		snprintf(hours, sizeof(hours), "%lld h",
			 (long long)(gw->conf.expiry_ms / 3600000));
	if (!old || offered) {
		char why[200];
		snprintf(why, sizeof(why),
			 offered ? "expired after %s: offered to a router that never answered, "
				   "so it may have printed there"
				 : "no router took it within %s",
			 hours);
		/* A router's answer already recorded (a crash before the shred)
		 * stands; otherwise the outcome goes first. */
		if (gw_outcome_add(gw, m, offered ? "maybe-printed" : "expired", why) < 0)
			return -1;
		gw->expired++;
		pl_notice("job %s from %s for %s: %s: shredded", m->id, m->workstation, m->printer,
			  why);
	}
	if (pl_jobstore_delete(gw->store, m->id, &err) < 0 && err.msg[0]) {
		gw_error(gw, "job %s: expiry: %s", m->id, err.msg);
		return -1;
	}
	return 0;
}

static void sweep(pl_loop_t *loop, void *arg)
{
	gw_t *gw = arg;
	pl_job_meta_t *jobs = NULL;
	size_t n = 0, done = 0;
	int more = 0;
	int64_t now = pl_log_now_ms();
	gw->expiry_timer = NULL;
	if (gw->conf.expiry_ms <= 0 ||
	    pl_jobstore_list_due(gw->store, now, GW_EXPIRE_LOOK, &jobs, &n) < 0)
		n = 0;
	for (size_t i = 0; i < n && !more; i++) {
		if (!gw_expire_due(gw, &jobs[i], now) || gw_server_busy(gw, jobs[i].id))
			continue;
		if (done == GW_EXPIRE_BATCH)
			more = 1;
		else if (expire_one(gw, &jobs[i]) == 0)
			done++;
	}
	/* a full look: more may be due beyond it */
	if (n == GW_EXPIRE_LOOK && done)
		more = 1;
	free(jobs);
	if (done)
		gw_status_note(gw);
	gw_outcomes_tend(gw);
	gw->expiry_timer = pl_loop_timer(loop, more ? 1 : gw->conf.expiry_check_ms, sweep, gw);
}

void gw_expire_start(gw_t *gw)
{
	/* the outcomes' age limit needs the timer too */
	if (gw->conf.expiry_check_ms)
		sweep(gw->loop, gw);
}

void gw_expire_stop(gw_t *gw)
{
	if (gw->expiry_timer)
		pl_loop_timer_cancel(gw->loop, gw->expiry_timer);
	gw->expiry_timer = NULL;
}
