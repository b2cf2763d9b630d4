/* Changes to the directory: the console only reads the directory; each
 * change goes to plsc-directory as a routed DIR_WRITE (proto/PROTOCOL.md)
 * through the service runtime's channel, and its RESULT comes back to our
 * message callback with the same seq. Requests wait here, each with a
 * deadline, while their HTTP request stays deferred; whatever happens,
 * each callback runs once (an answer, the deadline, or the console
 * stopping) unless its request went away first (cs_dirw_cancel). */
#include "cs.h"

#include <stdlib.h>
#include <string.h>

#include "pl_log.h"

struct cs_dirw {
	uint32_t seq;
	cs_req_t *r;
	cs_dirw_cb cb;
	pl_timer_t *deadline;
	cs_t *cs;
	struct cs_dirw *next;
};

/* Take p off the list and cancel its deadline. */
static void unlink_one(cs_t *cs, struct cs_dirw *p)
{
	for (struct cs_dirw **pp = &cs->dirw; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	if (p->deadline)
		pl_loop_timer_cancel(cs->loop, p->deadline);
}

static void on_deadline(pl_loop_t *loop, void *arg)
{
	struct cs_dirw *p = arg;
	(void)loop;
	p->deadline = NULL; /* fired: nothing to cancel */
	unlink_one(p->cs, p);
	pl_warn("%s did not answer DIR_WRITE seq %u in time", CS_DIRW_TO, p->seq);
	p->cb(p->r, NULL, CS_DIRW_TO " did not answer in time; the change may or may "
			  "not have been made");
	free(p);
}

int cs_dirw_send(cs_t *cs, pl_msg_t *m, uint32_t timeout_ms, cs_req_t *r, cs_dirw_cb cb)
{
	struct cs_dirw *p = calloc(1, sizeof(*p));
	if (!p)
		return -1;
	/* 0 is never used: a frame without a seq matches nothing. */
	if (++cs->dirw_seq == 0)
		cs->dirw_seq = 1;
	pl_msg_set_seq(m, cs->dirw_seq);
	if (pl_msg_finish(m) < 0 || pl_service_send(cs->svc, m) < 0) {
		free(p);
		return -1;
	}
	*p = (struct cs_dirw){ .seq = cs->dirw_seq, .r = r, .cb = cb, .cs = cs,
			       .next = cs->dirw };
	p->deadline = pl_loop_timer(cs->loop, timeout_ms, on_deadline, p);
	cs->dirw = p;
	return 0;
}

void cs_dirw_message(cs_t *cs, const pl_frame_t *f)
{
	if (f->type != PL_MSG_RESULT || !(f->flags & PL_FLAG_REPLY))
		return;
	for (struct cs_dirw *p = cs->dirw; p; p = p->next) {
		if (p->seq != f->seq)
			continue;
		unlink_one(cs, p);
		p->cb(p->r, f, NULL);
		free(p);
		return;
	}
	pl_debug("RESULT seq %u matches no directory change (late or unknown)", f->seq);
}

void cs_dirw_cancel(cs_t *cs, cs_req_t *r)
{
	struct cs_dirw *p = cs->dirw, *next;
	for (; p; p = next) {
		next = p->next;
		if (p->r == r) {
			unlink_one(cs, p);
			free(p);
		}
	}
}

void cs_dirw_free(cs_t *cs)
{
	while (cs->dirw) {
		struct cs_dirw *p = cs->dirw;
		unlink_one(cs, p);
		p->cb(p->r, NULL, "the console is stopping");
		free(p);
	}
}
