/* Routing TLV messages between services. A frame with a TO field goes to
 * the named service (or "*holders": every running service that holds
 * jobs), with FROM set by us so no service can impersonate another, if
 * the allow-list (policy.c) lets a service of the sender's role send that
 * type to one of the receiver's; anything else is dropped, counted and
 * logged. We never interpret the payload. */
#include "sv.h"

#include <string.h>

#include "pl_log.h"

#define ROUTE_HOLDERS "*holders"

static int copy_except(pl_msg_t *m, const pl_frame_t *f, uint16_t skip)
{
	pl_iter_t it;
	pl_field_t fl;
	int rc;
	pl_iter_frame(&it, f);
	while ((rc = pl_iter_next(&it, &fl)) == 1)
		if (fl.tag != skip)
			pl_msg_add(m, fl.tag, fl.val, fl.len);
	return rc;
}

static void reply_error(sv_svc_t *from, const pl_frame_t *f, const char *msg)
{
	pl_msg_t m;
	if (pl_msg_init(&m, PL_MSG_RESULT, PL_FLAG_REPLY | PL_FLAG_ERROR,
			f->seq) < 0)
		return;
	pl_msg_add_u32(&m, PL_TAG_STATUS, 1);
	pl_msg_add_str(&m, PL_TAG_MESSAGE, msg);
	if (pl_msg_finish(&m) == 0)
		sv_svc_send(from, &m);
	pl_msg_free(&m);
}

static int forward(sv_svc_t *from, sv_svc_t *to, const pl_frame_t *f)
{
	pl_msg_t m;
	if (pl_msg_init(&m, f->type, f->flags & ~PL_FLAG_FD, f->seq) < 0)
		return -1;
	copy_except(&m, f, PL_TAG_FROM);
	pl_msg_add_str(&m, PL_TAG_FROM, from->conf.name);
	int rc = pl_msg_finish(&m);
	if (rc == 0)
		rc = sv_svc_send(to, &m);
	pl_msg_free(&m);
	return rc;
}

void sv_route(sv_sup_t *sup, sv_svc_t *from, const pl_frame_t *f)
{
	char to[SV_NAME_MAX];
	char msg[160];

	if (pl_frame_get_str(f, PL_TAG_TO, to, sizeof(to)) < 0) {
		if (f->type == PL_MSG_RESULT)
			return; /* a late answer to an operation that timed out */
		pl_warn("%s: %s without a destination; dropped", from->conf.name,
			pl_msg_type_name(f->type));
		return;
	}
	int reply = (f->flags & PL_FLAG_REPLY) != 0;
	if (strcmp(to, ROUTE_HOLDERS) == 0) {
		const sv_role_t holder = SV_ROLE_HOLDER;
		if (!sv_policy_allows(f->type, reply, from->conf.role, &holder)) {
			sv_policy_deny(from, f, to, "not allowed to job holders");
			return;
		}
		int n = 0;
		for (int i = 0; i < sup->nsvcs; i++) {
			sv_svc_t *s = sup->svcs[i];
			if (s != from && s->state == SV_RUNNING &&
			    (s->caps & PL_CAP_HOLDS_JOBS) &&
			    sv_policy_allows(f->type, reply, from->conf.role,
					     &s->conf.role) &&
			    forward(from, s, f) == 0)
				n++;
		}
		if (n == 0 && !(f->flags & PL_FLAG_REPLY))
			reply_error(from, f, "no running service holds jobs");
		return;
	}
	sv_svc_t *dst = sv_find(sup, to);
	/* Checked before whether the destination runs: a denied sender
	 * learns nothing about the others. */
	if (dst && !sv_policy_allows(f->type, reply, from->conf.role,
				     &dst->conf.role)) {
		sv_policy_deny(from, f, to, "not in the allow-list");
		return;
	}
	if (!dst) {
		/* Not configured: judged by the role its name would have, so
		 * OfflinePrint's token-used to a plsc-directory that this
		 * configuration leaves out is "not running", not a denial. */
		const sv_role_t role = sv_role_of(to);
		if (!sv_policy_allows(f->type, reply, from->conf.role, &role)) {
			sv_policy_deny(from, f, to, "not in the allow-list");
			return;
		}
	}
	if (!dst || dst->state != SV_RUNNING) {
		snprintf(msg, sizeof(msg), "service %s is not running", to);
		if (!(f->flags & PL_FLAG_REPLY))
			reply_error(from, f, msg);
		return;
	}
	if (forward(from, dst, f) < 0 && !(f->flags & PL_FLAG_REPLY))
		reply_error(from, f, "cannot deliver to the destination");
}
