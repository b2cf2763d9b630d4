/* A non-blocking client of the supervisor's control socket: the same TLV
 * requests as plsc(1), many in flight, each answered through a callback
 * matched by sequence number, each with its own deadline. The connection
 * is made on first use and again after the supervisor closed it (it drops
 * clients idle for a minute). */
#include "cs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "pl_log.h"
#include "pl_util.h"

/* A listing of 4096 held jobs is about 2 MiB. */
#define CTL_REPLY_MAX (8u * 1024u * 1024u)
#define CTL_QUEUE_MAX (1024u * 1024u)

typedef struct ctl_call {
	uint32_t seq;
	cs_ctl_cb cb;
	void *arg;
	pl_timer_t *timer;
	cs_ctl_t *ctl;
	struct ctl_call *next;
} ctl_call_t;

struct cs_ctl {
	pl_loop_t *loop;
	char path[108];
	int fd;
	pl_watch_t *w;
	pl_reader_t rd;
	pl_wq_t wq;
	uint32_t seq;
	ctl_call_t *calls;
};

static void call_unlink(cs_ctl_t *c, ctl_call_t *k)
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
static void ctl_drop(cs_ctl_t *c, const char *why)
{
	if (c->w)
		pl_loop_unwatch(c->loop, c->w);
	c->w = NULL;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	pl_reader_free(&c->rd);
	pl_wq_free(&c->wq);
	while (c->calls) {
		ctl_call_t *k = c->calls;
		cs_ctl_cb cb = k->cb;
		void *arg = k->arg;
		call_unlink(c, k);
		cb(arg, NULL, why);
	}
}

static void ctl_io(pl_loop_t *loop, int fd, uint32_t ev, void *arg)
{
	cs_ctl_t *c = arg;
	pl_frame_t f;
	int rc;
	(void)loop;

	if ((ev & EPOLLOUT) && pl_wq_flush(&c->wq, fd) < 0) {
		ctl_drop(c, "the supervisor's control socket closed");
		return;
	}
	if (c->fd >= 0 && c->w)
		pl_loop_watch_mod(c->loop, c->w,
				  EPOLLIN | (pl_wq_empty(&c->wq) ? 0 : EPOLLOUT));
	if (!(ev & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return;
	ssize_t n = pl_reader_fill(&c->rd, fd);
	while ((rc = pl_reader_next(&c->rd, &f)) == 1) {
		if (f.fd >= 0)
			close(f.fd);
		for (ctl_call_t *k = c->calls; k; k = k->next) {
			if (k->seq != f.seq)
				continue;
			cs_ctl_cb cb = k->cb;
			void *karg = k->arg;
			call_unlink(c, k);
			cb(karg, &f, NULL);
			break;
		}
		if (c->fd < 0)
			return; /* a callback's new call failed and dropped us */
	}
	if (rc < 0 || n < 0)
		ctl_drop(c, rc < 0 ? "garbled answer from the supervisor"
				   : "the supervisor closed the control connection");
}

static int ctl_connect(cs_ctl_t *c)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	pl_strlcpy(sa.sun_path, c->path, sizeof(sa.sun_path));
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -1;
	/* A Unix socket connects at once or not at all (EAGAIN: its backlog
	 * is full; the next request tries again). */
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(c->fd);
		c->fd = -1;
		errno = e;
		return -1;
	}
	pl_reader_init(&c->rd, CTL_REPLY_MAX);
	pl_wq_init(&c->wq, CTL_QUEUE_MAX);
	c->w = pl_loop_watch(c->loop, c->fd, EPOLLIN, ctl_io, c);
	if (!c->w) {
		ctl_drop(c, "out of memory");
		return -1;
	}
	return 0;
}

cs_ctl_t *cs_ctl_new(pl_loop_t *loop, const char *path)
{
	cs_ctl_t *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	if (strlen(path) >= sizeof(c->path)) {
		free(c);
		errno = ENAMETOOLONG;
		return NULL;
	}
	c->loop = loop;
	c->fd = -1;
	pl_strlcpy(c->path, path, sizeof(c->path));
	return c;
}

void cs_ctl_free(cs_ctl_t *c)
{
	if (!c)
		return;
	ctl_drop(c, "the console is stopping");
	free(c);
}

static void call_timeout(pl_loop_t *loop, void *arg)
{
	ctl_call_t *k = arg;
	cs_ctl_cb cb = k->cb;
	void *karg = k->arg;
	(void)loop;
	k->timer = NULL;
	call_unlink(k->ctl, k);
	cb(karg, NULL, "no answer from the supervisor in time");
}

int cs_ctl_call(cs_ctl_t *c, pl_msg_t *m, uint32_t timeout_ms, cs_ctl_cb cb,
		void *arg)
{
	if (c->fd < 0 && ctl_connect(c) < 0) {
		pl_warn("control socket %s: %s", c->path, strerror(errno));
		return -1;
	}
	ctl_call_t *k = calloc(1, sizeof(*k));
	if (!k)
		return -1;
	if (++c->seq == 0)
		c->seq = 1;
	pl_msg_set_seq(m, c->seq);
	if (pl_msg_finish(m) < 0 || pl_wq_push(&c->wq, m) < 0 ||
	    pl_wq_flush(&c->wq, c->fd) < 0) {
		free(k);
		ctl_drop(c, "the supervisor's control socket closed");
		return -1;
	}
	k->seq = c->seq;
	k->cb = cb;
	k->arg = arg;
	k->ctl = c;
	k->timer = pl_loop_timer(c->loop, timeout_ms, call_timeout, k);
	k->next = c->calls;
	c->calls = k;
	pl_loop_watch_mod(c->loop, c->w, EPOLLIN | (pl_wq_empty(&c->wq) ? 0 : EPOLLOUT));
	return 0;
}

void cs_ctl_cancel(cs_ctl_t *c, void *arg)
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
