/* Who may hold a connection on 31989, and for how long without proving
 * anything. A workstation token is checked only once a whole SUBMIT_BEGIN
 * has arrived, so before that a stranger costs us a slot for nothing:
 *   - auth_deadline_s from accept (TLS included) to an authenticated
 *     SUBMIT_BEGIN, however many bytes trickle in meanwhile;
 *   - max_clients_per_address connections from one address (an IPv6 /64);
 *   - connections not yet authenticated share max_clients minus
 *     auth_reserve_pct, so authenticated uploads always have room;
 *   - a newcomer refused by one of these rules takes instead the slot of a
 *     connection not yet authenticated (of its own address, for that rule;
 *     a fair share between addresses otherwise; the one that has waited
 *     longest if that is OP_EVICT_GRACE_MS, else one at random): a
 *     legitimate workstation does not wait behind sockets doing nothing.
 * After authentication an upload must bring min_upload_kib_s on average
 * over each upload_window_s, so a slow drip cannot hold a slot either.
 * Loopback is not exempt: a local process is as able to flood as any.
 * The rules are pl_slots' (common/slots.c); conn.c applies them. */
#include "op.h"

#include <stdarg.h>
#include <stdio.h>

#include "pl_log.h"

void op_limits_conf(const op_t *op, pl_slots_conf_t *c)
{
	uint32_t reserve = (uint32_t)((uint64_t)op->max_clients * op->auth_reserve_pct / 100);
	*c = (pl_slots_conf_t){
		.max_total = op->max_clients,
		.max_pending = op->max_clients > reserve ? op->max_clients - reserve : 1,
		.max_per_peer = op->max_per_address,
		.reserve = 0, /* no privileged peers on 31989 */
		.grace_ms = OP_EVICT_GRACE_MS,
		.deadline_ms = op->auth_deadline_ms,
	};
}

void op_limits_reconfig(op_t *op)
{
	pl_slots_conf_t c;
	if (!op->slots)
		return;
	op_limits_conf(op, &c);
	pl_slots_set_conf(op->slots, &c);
}

uint64_t op_upload_min_bytes(const op_t *op)
{
	return (uint64_t)op->min_upload_kib_s * 1024u * op->upload_window_ms / 1000u;
}

static void status_now(pl_loop_t *loop, void *arg)
{
	op_t *op = arg;
	pl_slots_stats_t st;
	(void)loop;
	op->status_timer = NULL;
	if (!op->slots || op->hooks.own_status)
		return;
	pl_slots_stats(op->slots, &st);
	pl_service_status(op->svc, "%u connections, %u not authenticated (at most %u at once, "
			  "%u from one address); %llu refused, %llu closed unauthenticated, "
			  "%llu slow uploads dropped", st.held, st.pending, st.pending_peak,
			  st.peer_peak, (unsigned long long)st.refused,
			  (unsigned long long)(st.evicted + st.expired),
			  (unsigned long long)op->slow_uploads);
}

void op_limits_note(op_t *op)
{
	if (!op->status_timer)
		op->status_timer = pl_loop_timer(op->loop, 1000, status_now, op);
}

void op_limits_stop(op_t *op)
{
	pl_loop_timer_cancel(op->loop, op->status_timer);
	op->status_timer = NULL;
	pl_slots_free(op->slots);
	op->slots = NULL;
}

void op_limit_warn(op_t *op, const char *fmt, ...)
{
	uint64_t now = pl_now_ms();
	char msg[512];
	va_list ap;
	if (now - op->limit_last_ms >= 1000) {
		if (op->limit_suppressed > 5)
			pl_warn("(%u more connections refused or dropped in that second; "
				"not logged one by one)", op->limit_suppressed - 5);
		op->limit_last_ms = now;
		op->limit_suppressed = 0;
	}
	if (op->limit_suppressed++ >= 5)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pl_warn("%s", msg);
}
