/* The framed-channel pump; see pl_chan.h. */
#include "pl_chan.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

#include "pl_util.h"

struct pl_chan {
	pl_loop_t *loop;
	int fd;
	pl_watch_t *w;
	pl_reader_t rd;
	pl_wq_t wq;
	const pl_chan_ops_t *ops;
	void *arg;
	size_t send_max; /* payload bytes the peer accepts */
	int busy;   /* inside a callback of ours */
	int doomed; /* pl_chan_free while busy */
};

static void chan_watch(pl_chan_t *ch)
{
	if (ch->w)
		pl_loop_watch_mod(ch->loop, ch->w,
				  EPOLLIN | (pl_wq_empty(&ch->wq) ? 0 : EPOLLOUT));
}

static void chan_broken(pl_chan_t *ch, int rc)
{
	pl_chan_close(ch);
	if (ch->ops->closed)
		ch->ops->closed(ch, rc, ch->arg);
}

static void chan_io(pl_loop_t *loop, int fd, uint32_t ev, void *arg)
{
	pl_chan_t *ch = arg;
	pl_frame_t f;
	int rc = 0;
	(void)loop;

	ch->busy++;
	if (ev & EPOLLOUT) {
		rc = pl_wq_flush(&ch->wq, fd);
		if (rc < 0)
			chan_broken(ch, rc);
		else
			chan_watch(ch);
	}
	if (ch->fd >= 0 && (ev & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
		/* One read a wake-up: a peer that sends without pause cannot
		 * starve the other descriptors of the loop. */
		ssize_t n = pl_reader_fill(&ch->rd, fd);
		while (ch->fd >= 0 && (rc = pl_reader_next(&ch->rd, &f)) == 1)
			ch->ops->frame(ch, &f, ch->arg);
		if (ch->fd >= 0 && (rc < 0 || n < 0))
			chan_broken(ch, rc < 0 ? rc : (int)n);
	}
	if (--ch->busy == 0 && ch->doomed)
		pl_chan_free(ch);
}

pl_chan_t *pl_chan_new(pl_loop_t *loop, int fd, size_t max_frame,
		       size_t max_queue, const pl_chan_ops_t *ops, void *arg)
{
	pl_chan_t *ch = calloc(1, sizeof(*ch));
	if (!ch)
		return NULL;
	ch->loop = loop;
	ch->fd = fd;
	ch->ops = ops;
	ch->arg = arg;
	ch->send_max = PL_PROTO_MAX_FRAME;
	if (pl_reader_init(&ch->rd, max_frame) < 0) {
		free(ch);
		errno = ENOMEM;
		return NULL;
	}
	pl_wq_init(&ch->wq, max_queue);
	pl_set_nonblock(fd);
	ch->w = pl_loop_watch(loop, fd, EPOLLIN, chan_io, ch);
	if (!ch->w) {
		int e = errno;
		pl_reader_free(&ch->rd);
		free(ch);
		errno = e;
		return NULL;
	}
	return ch;
}

void pl_chan_set_send_max(pl_chan_t *ch, size_t max_payload)
{
	ch->send_max = max_payload < PL_PROTO_MAX_FRAME ? max_payload : PL_PROTO_MAX_FRAME;
}

int pl_chan_send(pl_chan_t *ch, const pl_msg_t *m)
{
	if (ch->fd < 0)
		return -PL_PROTO_EIO;
	if (m->len < PL_PROTO_HDR_LEN || m->len - PL_PROTO_HDR_LEN > ch->send_max)
		return -PL_PROTO_ETOOBIG;
	int rc = pl_wq_push(&ch->wq, m);
	if (rc < 0)
		return rc;
	rc = pl_wq_flush(&ch->wq, ch->fd);
	if (rc < 0)
		return rc; /* the read side sees the broken socket next */
	chan_watch(ch);
	return 0;
}

void pl_chan_drain(pl_chan_t *ch, int timeout_ms)
{
	uint64_t end = pl_now_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);
	while (ch->fd >= 0 && !pl_wq_empty(&ch->wq)) {
		if (pl_wq_flush(&ch->wq, ch->fd) < 0)
			return;
		uint64_t now = pl_now_ms();
		if (pl_wq_empty(&ch->wq) || now >= end)
			return;
		struct pollfd p = { .fd = ch->fd, .events = POLLOUT };
		if (poll(&p, 1, (int)(end - now)) <= 0)
			return;
	}
}

int pl_chan_fd(const pl_chan_t *ch)
{
	return ch->fd;
}

int pl_chan_queued(const pl_chan_t *ch)
{
	return !pl_wq_empty(&ch->wq);
}

void pl_chan_close(pl_chan_t *ch)
{
	if (ch->fd < 0)
		return;
	pl_loop_unwatch(ch->loop, ch->w);
	ch->w = NULL;
	close(ch->fd);
	ch->fd = -1;
}

void pl_chan_free(pl_chan_t *ch)
{
	if (!ch)
		return;
	pl_chan_close(ch);
	if (ch->busy) {
		ch->doomed = 1;
		return;
	}
	pl_reader_free(&ch->rd);
	pl_wq_free(&ch->wq);
	free(ch);
}
