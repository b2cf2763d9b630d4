/* plsc sync now: a control request (CTL_SYNC) relayed to IdentitySync as
 * SYNC_NOW, and its RESULT relayed back to the client. The supervisor
 * copies STATUS, MESSAGE and PAYLOAD (the service's report, JSON) as bytes
 * and parses none of it (DESIGN.md §7: the root supervisor reads no JSON a
 * child wrote). A sync that outlasts the wait is answered "still running":
 * its outcome then shows in plsc status. */
#include "sv.h"

#include <stdlib.h>
#include <string.h>

#include "pl_log.h"
#include "pl_util.h"

/* Below the control socket's idle limit (60 s), so the client is still
 * there to be told. */
#define SYNC_WAIT_MS 55000

struct sv_relay {
	sv_sup_t *sup;
	uint64_t client_id;
	uint32_t client_seq;
	char svc[SV_NAME_MAX];
	uint32_t seq;
	pl_timer_t *timer;
	struct sv_relay *next;
};

static void relay_free(sv_relay_t *r)
{
	for (sv_relay_t **pp = &r->sup->relays; *pp; pp = &(*pp)->next) {
		if (*pp == r) {
			*pp = r->next;
			break;
		}
	}
	if (r->timer)
		pl_loop_timer_cancel(r->sup->loop, r->timer);
	free(r);
}

static void answer(sv_relay_t *r, uint32_t status, const char *msg)
{
	pl_msg_t m;
	if (pl_msg_init(&m, PL_MSG_RESULT, PL_FLAG_REPLY | (status ? PL_FLAG_ERROR : 0),
			r->client_seq) == 0) {
		pl_msg_add_u32(&m, PL_TAG_STATUS, status);
		pl_msg_add_str(&m, PL_TAG_MESSAGE, msg);
		(void)sv_control_send(r->sup, r->client_id, &m);
		pl_msg_free(&m);
	}
	relay_free(r);
}

static void relay_timeout(pl_loop_t *loop, void *arg)
{
	sv_relay_t *r = arg;
	(void)loop;
	r->timer = NULL;
	answer(r, PL_STATUS_BUSY,
	       "the sync is still running; its outcome will show in plsc status");
}

/* The service NAME names, or the first one of the identity role. */
static sv_svc_t *identity_service(sv_sup_t *sup, const pl_frame_t *f)
{
	char name[SV_NAME_MAX];
	if (pl_frame_get_str(f, PL_TAG_NAME, name, sizeof(name)) == 0 && name[0]) {
		sv_svc_t *s = sv_find(sup, name);
		return s && s->conf.role == SV_ROLE_IDENTITY ? s : NULL;
	}
	for (int i = 0; i < sup->nsvcs; i++)
		if (sup->svcs[i]->conf.role == SV_ROLE_IDENTITY)
			return sup->svcs[i];
	return NULL;
}

void sv_syncreq_start(sv_sup_t *sup, sv_client_t *c, uint64_t client_id, const pl_frame_t *f,
		      const char *who)
{
	uint8_t dry = 0;
	pl_field_t fl;
	sv_svc_t *s = identity_service(sup, f);
	if (pl_frame_find(f, PL_TAG_DRY_RUN, &fl) == 1 && pl_field_u8(&fl, &dry) < 0)
		dry = 0;
	if (!s) {
		sv_client_reply(c, f->seq, PL_STATUS_NOTFOUND,
				"no identity sync service is configured");
		return;
	}
	if (s->state != SV_RUNNING) {
		sv_client_reply(c, f->seq, PL_STATUS_CONFLICT, "%s is not running", s->conf.name);
		return;
	}
	sv_relay_t *r = calloc(1, sizeof(*r));
	pl_msg_t m;
	if (!r || pl_msg_init(&m, PL_MSG_SYNC_NOW, 0, ++sup->next_seq) < 0) {
		free(r);
		sv_client_reply(c, f->seq, PL_STATUS_BUSY, "out of memory");
		return;
	}
	pl_msg_add_u8(&m, PL_TAG_DRY_RUN, dry ? 1 : 0);
	int rc = pl_msg_finish(&m) == 0 ? sv_svc_send(s, &m) : -1;
	pl_msg_free(&m);
	if (rc < 0) {
		free(r);
		sv_client_reply(c, f->seq, PL_STATUS_ERROR, "cannot reach %s", s->conf.name);
		return;
	}
	pl_info("%s: %s by control request from %s", s->conf.name,
		dry ? "dry-run sync" : "sync now", who);
	*r = (sv_relay_t){ sup, client_id, f->seq, "", sup->next_seq, NULL, sup->relays };
	pl_strlcpy(r->svc, s->conf.name, sizeof(r->svc));
	r->timer = pl_loop_timer(sup->loop, SYNC_WAIT_MS, relay_timeout, r);
	sup->relays = r;
}

int sv_syncreq_reply(sv_sup_t *sup, sv_svc_t *from, const pl_frame_t *f)
{
	for (sv_relay_t *r = sup->relays; r; r = r->next) {
		if (r->seq != f->seq || strcmp(r->svc, from->conf.name) != 0)
			continue;
		pl_msg_t m;
		pl_field_t fl;
		if (pl_msg_init(&m, PL_MSG_RESULT, PL_FLAG_REPLY | (f->flags & PL_FLAG_ERROR),
				r->client_seq) == 0) {
			static const uint16_t tags[] = { PL_TAG_STATUS, PL_TAG_MESSAGE,
							 PL_TAG_PAYLOAD };
			for (size_t i = 0; i < PL_ARRAY_LEN(tags); i++)
				if (pl_frame_find(f, tags[i], &fl) == 1)
					pl_msg_add(&m, fl.tag, fl.val, fl.len);
			if (pl_msg_finish(&m) == 0)
				(void)sv_control_send(sup, r->client_id, &m);
			pl_msg_free(&m);
		}
		relay_free(r);
		return 1;
	}
	return 0;
}

void sv_syncreq_service_gone(sv_sup_t *sup, sv_svc_t *s)
{
	sv_relay_t *r = sup->relays;
	while (r) {
		sv_relay_t *next = r->next;
		if (strcmp(r->svc, s->conf.name) == 0)
			answer(r, PL_STATUS_ERROR, "the identity sync service stopped during the sync");
		r = next;
	}
}

void sv_syncreq_free_all(sv_sup_t *sup)
{
	while (sup->relays)
		relay_free(sup->relays);
}
