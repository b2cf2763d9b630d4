/* A badge read: de-duplicate, find its owner, ask the supervisor to
 * release (RELEASE(user, printer, mode): it finds the newest job across
 * every holder, or all), and log the outcome when the answer comes. */
#include "br.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pl_log.h"
#include "pl_util.h"

struct br_pending {
	uint32_t seq;
	char reader[128], user[128], printer[128];
	uint64_t at;
	struct br_pending *next;
};

void br_report(br_t *br)
{
	pl_service_status(br->svc, "%zu readers, %llu swipes, %llu unknown badges, "
			  "%llu connections refused", br->nreaders,
			  (unsigned long long)br->swipes, (unsigned long long)br->unknown,
			  (unsigned long long)br->refused_peers);
}

void br_swipe(br_t *br, br_reader_t *r, const char *badge)
{
	char user[128], masked[80];
	pl_err_t err;
	uint64_t now = pl_now_ms();

	pl_badge_mask(badge, masked, sizeof(masked));
	/* Readers repeat a read while the card stays on them: count once. */
	if (strcmp(r->last_badge, badge) == 0 && now - r->last_ms < br->dedupe_ms) {
		pl_debug("reader %s: repeated read of %s ignored", r->d.name, masked);
		r->last_ms = now;
		return;
	}
	pl_strlcpy(r->last_badge, badge, sizeof(r->last_badge));
	r->last_ms = now;
	br->swipes++;
	br_report(br);
	int rc = pl_dir_badge_user(br->dir, badge, user, sizeof(user), &err);
	if (rc < 0) {
		pl_err("reader %s: badge lookup: %s", r->d.name, err.msg);
		return;
	}
	if (rc > 0) {
		br->unknown++;
		br_report(br);
		pl_warn("reader %s: unknown badge %s; nothing released (%llu unknown badges so far)",
			r->d.name, masked, (unsigned long long)br->unknown);
		return;
	}
	struct br_pending *p = calloc(1, sizeof(*p));
	pl_msg_t m;
	if (!p || pl_msg_init(&m, PL_MSG_RELEASE, 0, ++br->seq) < 0) {
		free(p);
		return;
	}
	pl_msg_add_str(&m, PL_TAG_USER, user);
	pl_msg_add_str(&m, PL_TAG_PRINTER, r->d.printer);
	pl_msg_add_str(&m, PL_TAG_MODE, r->d.mode);
	if (pl_msg_finish(&m) < 0 || pl_service_send(br->svc, &m) < 0) {
		pl_err("reader %s: cannot ask the supervisor to release %s's jobs",
		       r->d.name, user);
		free(p);
		pl_msg_free(&m);
		return;
	}
	pl_msg_free(&m);
	p->seq = br->seq;
	p->at = now;
	pl_strlcpy(p->reader, r->d.name, sizeof(p->reader));
	pl_strlcpy(p->user, user, sizeof(p->user));
	pl_strlcpy(p->printer, r->d.printer, sizeof(p->printer));
	p->next = br->pending;
	br->pending = p;
	pl_info("reader %s: badge %s is %s; releasing (%s) to %s", r->d.name, masked,
		user, r->d.mode, r->d.printer);
}

void br_result(br_t *br, const pl_frame_t *f)
{
	for (struct br_pending **pp = &br->pending; *pp; pp = &(*pp)->next) {
		struct br_pending *p = *pp;
		if (p->seq != f->seq)
			continue;
		char msg[512] = "";
		uint32_t count = 0;
		pl_frame_get_str(f, PL_TAG_MESSAGE, msg, sizeof(msg));
		pl_frame_get_u32(f, PL_TAG_COUNT, &count);
		if (f->flags & PL_FLAG_ERROR)
			pl_warn("reader %s: release for %s at %s: %s (%llu ms)", p->reader,
				p->user, p->printer, msg,
				(unsigned long long)(pl_now_ms() - p->at));
		else
			pl_info("reader %s: %s for %s (%llu ms)", p->reader, msg, p->user,
				(unsigned long long)(pl_now_ms() - p->at));
		*pp = p->next;
		free(p);
		return;
	}
}

void br_pending_free(br_t *br)
{
	while (br->pending) {
		struct br_pending *p = br->pending;
		br->pending = p->next;
		free(p);
	}
}
