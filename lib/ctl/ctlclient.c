/* The blocking calls: the loop client on a private loop, run until the
 * answer or the deadline. */
#include "pl_ctlclient.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int pl_ctl_connect(pl_ctl_client_t *c, const char *path)
{
	memset(c, 0, sizeof(*c));
	c->loop = pl_loop_new();
	if (!c->loop)
		return -1;
	c->ctl = pl_ctl_new(c->loop, path);
	if (!c->ctl || pl_ctl_open(c->ctl) < 0) {
		int e = errno;
		pl_ctl_close(c);
		errno = e;
		return -1;
	}
	return 0;
}

void pl_ctl_close(pl_ctl_client_t *c)
{
	pl_ctl_free(c->ctl);
	pl_loop_free(c->loop);
	free((void *)c->last.payload);
	memset(c, 0, sizeof(*c));
}

/* The frame lives in the reader until the callback returns: keep a copy
 * for the caller, valid until the next call. */
static void got_reply(void *arg, const pl_frame_t *f, const char *why)
{
	pl_ctl_client_t *c = arg;
	(void)why;
	c->done = 1;
	c->rc = -PL_PROTO_EIO;
	if (!f)
		return;
	uint8_t *copy = malloc(f->len ? f->len : 1);
	if (!copy) {
		c->rc = -PL_PROTO_ENOMEM;
		return;
	}
	memcpy(copy, f->payload, f->len);
	free((void *)c->last.payload);
	c->last = *f;
	c->last.payload = copy;
	c->last.fd = -1; /* closed by the client already */
	c->rc = 0;
}

int pl_ctl_call(pl_ctl_client_t *c, pl_msg_t *m, pl_frame_t *reply,
		int timeout_ms)
{
	c->done = 0;
	if (pl_ctl_send(c->ctl, m, (uint32_t)timeout_ms, got_reply, c) < 0)
		return -PL_PROTO_EIO;
	while (!c->done)
		if (pl_loop_run_once(c->loop, -1) < 0)
			return -PL_PROTO_EIO;
	if (c->rc == 0)
		*reply = c->last;
	return c->rc;
}

int pl_ctl_request(pl_ctl_client_t *c, uint16_t type, const char *name,
		   pl_frame_t *reply)
{
	pl_msg_t m;
	int rc = pl_msg_init(&m, type, 0, 0);
	if (rc < 0)
		return rc;
	if (name)
		pl_msg_add_str(&m, PL_TAG_NAME, name);
	rc = pl_ctl_call(c, &m, reply, PL_CTL_TIMEOUT_MS);
	pl_msg_free(&m);
	return rc;
}
