/* The control-socket client on a loop; see pl_ctlclient.h. */
#include "pl_ctlclient.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "pl_chan.h"
#include "pl_util.h"

#define CTL_QUEUE_MAX (1024u * 1024u)

typedef struct ctl_call {
	uint32_t seq;
	pl_ctl_cb cb;
	void *arg;
	pl_timer_t *timer;
	pl_ctl_t *ctl;
	struct ctl_call *next;
} ctl_call_t;

struct pl_ctl {
	pl_loop_t *loop;
	char path[108];
	pl_chan_t *chan;
	uint32_t seq;
	ctl_call_t *calls;
};

static void call_unlink(pl_ctl_t *c, ctl_call_t *k)
{
	for (ctl_call_t **pp = &c->calls; *pp; pp = &(*pp)->next)
		if (*pp == k) {
			*pp = k->next;
			break;
		}
	pl_loop_timer_cancel(c->loop, k->timer);
	free(k);
}

/* Every call in flight fails with why; the connection is closed. */
static void ctl_drop(pl_ctl_t *c, const char *why)
{
	pl_chan_free(c->chan);
	c->chan = NULL;
	while (c->calls) {
		ctl_call_t *k = c->calls;
		pl_ctl_cb cb = k->cb;
		void *arg = k->arg;
		call_unlink(c, k);
		cb(arg, NULL, why);
	}
}

static void ctl_frame(pl_chan_t *ch, pl_frame_t *f, void *arg)
{
	pl_ctl_t *c = arg;
	(void)ch;
	if (f->fd >= 0)
		close(f->fd);
	for (ctl_call_t *k = c->calls; k; k = k->next) {
		if (k->seq != f->seq)
			continue;
		pl_ctl_cb cb = k->cb;
		void *karg = k->arg;
		call_unlink(c, k);
		cb(karg, f, NULL);
		return;
	}
}

static void ctl_closed(pl_chan_t *ch, int rc, void *arg)
{
	(void)ch;
	ctl_drop(arg, rc == -PL_PROTO_EOF || rc == -PL_PROTO_EIO
			      ? "the supervisor closed the control connection"
			      : "garbled answer from the supervisor");
}

static const pl_chan_ops_t ctl_ops = { ctl_frame, ctl_closed };

int pl_ctl_open(pl_ctl_t *c)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (c->chan)
		return 0;
	pl_strlcpy(sa.sun_path, c->path, sizeof(sa.sun_path));
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	/* A Unix socket connects at once or not at all (EAGAIN: its backlog
	 * is full; the next request tries again). */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    !(c->chan = pl_chan_new(c->loop, fd, PL_CTL_REPLY_MAX, CTL_QUEUE_MAX,
				    &ctl_ops, c))) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return 0;
}

pl_ctl_t *pl_ctl_new(pl_loop_t *loop, const char *path)
{
	pl_ctl_t *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	if (strlen(path) >= sizeof(c->path)) {
		free(c);
		errno = ENAMETOOLONG;
		return NULL;
	}
	c->loop = loop;
	pl_strlcpy(c->path, path, sizeof(c->path));
	return c;
}

void pl_ctl_free(pl_ctl_t *c)
{
	if (!c)
		return;
	ctl_drop(c, "the client is stopping");
	free(c);
}

static void call_timeout(pl_loop_t *loop, void *arg)
{
	ctl_call_t *k = arg;
	pl_ctl_cb cb = k->cb;
	void *karg = k->arg;
	(void)loop;
	k->timer = NULL;
	call_unlink(k->ctl, k);
	cb(karg, NULL, "no answer from the supervisor in time");
}

int pl_ctl_send(pl_ctl_t *c, pl_msg_t *m, uint32_t timeout_ms, pl_ctl_cb cb,
		void *arg)
{
	if (pl_ctl_open(c) < 0)
		return -1;
	ctl_call_t *k = calloc(1, sizeof(*k));
	if (!k)
		return -1;
	if (++c->seq == 0)
		c->seq = 1;
	pl_msg_set_seq(m, c->seq);
	if (pl_msg_finish(m) < 0 || pl_chan_send(c->chan, m) < 0) {
		free(k);
		ctl_drop(c, "the supervisor's control socket closed");
		errno = EPIPE;
		return -1;
	}
	k->seq = c->seq;
	k->cb = cb;
	k->arg = arg;
	k->ctl = c;
	k->timer = pl_loop_timer(c->loop, timeout_ms, call_timeout, k);
	k->next = c->calls;
	c->calls = k;
	return 0;
}

void pl_ctl_cancel(pl_ctl_t *c, void *arg)
{
	if (!c)
		return; /* stopping: the calls are gone already */
	ctl_call_t *k = c->calls;
	while (k) {
		ctl_call_t *next = k->next;
		if (k->arg == arg)
			call_unlink(c, k);
		k = next;
	}
}
