/* Streaming reader and bounded send queue for non-blocking sockets, with
 * SCM_RIGHTS fd passing (one fd a frame, sent with the frame's first byte). */
#include "pl_proto.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define READER_INITIAL 4096u

int pl_reader_init(pl_reader_t *r, size_t max_payload)
{
	memset(r, 0, sizeof(*r));
	if (max_payload == 0 || max_payload > PL_PROTO_MAX_FRAME)
		max_payload = PL_PROTO_MAX_FRAME;
	r->max = max_payload;
	r->cap = READER_INITIAL;
	r->buf = malloc(r->cap);
	if (!r->buf)
		return -PL_PROTO_ENOMEM;
	return 0;
}

void pl_reader_free(pl_reader_t *r)
{
	for (int i = 0; i < r->nfds; i++)
		close(r->fds[i]);
	r->nfds = 0;
	free(r->buf);
	r->buf = NULL;
}

static void reader_compact(pl_reader_t *r)
{
	if (r->start == 0)
		return;
	memmove(r->buf, r->buf + r->start, r->end - r->start);
	r->end -= r->start;
	r->start = 0;
}

static int reader_grow(pl_reader_t *r, size_t want)
{
	size_t limit = PL_PROTO_HDR_LEN + r->max;
	if (want <= r->cap)
		return 0;
	size_t ncap = r->cap;
	while (ncap < want)
		ncap *= 2;
	if (ncap > limit)
		ncap = limit;
	if (ncap < want)
		return -PL_PROTO_ETOOBIG;
	uint8_t *nb = realloc(r->buf, ncap);
	if (!nb)
		return -PL_PROTO_ENOMEM;
	r->buf = nb;
	r->cap = ncap;
	return 0;
}

int pl_reader_feed(pl_reader_t *r, const void *p, size_t n)
{
	reader_compact(r);
	if (r->end + n > r->cap) {
		/* Feeding more than one frame's worth at once is fine: grow past
		 * the frame bound only as far as the caller hands us. */
		size_t ncap = r->cap;
		while (ncap < r->end + n)
			ncap *= 2;
		uint8_t *nb = realloc(r->buf, ncap);
		if (!nb)
			return -PL_PROTO_ENOMEM;
		r->buf = nb;
		r->cap = ncap;
	}
	memcpy(r->buf + r->end, p, n);
	r->end += n;
	return 0;
}

int pl_reader_space(pl_reader_t *r, uint8_t **p, size_t *n)
{
	pl_frame_t f;
	size_t avail, need = PL_PROTO_HDR_LEN;

	*p = NULL;
	*n = 0;
	if (r->err)
		return -r->err;
	reader_compact(r);
	avail = r->end - r->start;
	if (avail >= PL_PROTO_HDR_LEN) {
		int rc = pl_frame_parse_header(r->buf + r->start, avail, r->max, &f);
		if (rc < 0)
			return -(r->err = -rc);
		need += (size_t)f.len;
	}
	if (avail >= need)
		return 0;
	int rc = reader_grow(r, need);
	if (rc < 0)
		return -(r->err = -rc);
	*p = r->buf + r->end;
	*n = need - avail;
	return 0;
}

void pl_reader_commit(pl_reader_t *r, size_t n)
{
	r->end += n;
}

static void reader_take_fds(pl_reader_t *r, struct msghdr *mh)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		int *fds = (int *)(void *)CMSG_DATA(c);
		for (size_t i = 0; i < n; i++) {
			if (r->nfds < PL_READER_MAX_FDS) {
				r->fds[r->nfds++] = fds[i];
			} else {
				close(fds[i]);
				r->err = PL_PROTO_EFD;
			}
		}
	}
}

ssize_t pl_reader_fill(pl_reader_t *r, int sock)
{
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int) * PL_READER_MAX_FDS)];
	} cbuf;

	reader_compact(r);
	if (r->end == r->cap) {
		size_t want = r->cap * 2;
		if (want > PL_PROTO_HDR_LEN + r->max)
			want = PL_PROTO_HDR_LEN + r->max;
		if (want <= r->cap)
			return 0; /* a whole frame is waiting: drain it first */
		int rc = reader_grow(r, want);
		if (rc < 0)
			return rc;
	}
	struct iovec iov = { r->buf + r->end, r->cap - r->end };
	struct msghdr mh = { 0 };
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf.b;
	mh.msg_controllen = sizeof(cbuf.b);
	ssize_t n;
	do {
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		if (errno == ENOTSOCK) {
			/* pipes and files: plain read */
			do {
				n = read(sock, iov.iov_base, iov.iov_len);
			} while (n < 0 && errno == EINTR);
			if (n < 0)
				return (errno == EAGAIN) ? 0 : -PL_PROTO_EIO;
		} else {
			return -PL_PROTO_EIO;
		}
	} else {
		reader_take_fds(r, &mh);
		if (mh.msg_flags & MSG_CTRUNC)
			r->err = PL_PROTO_EFD;
	}
	if (n == 0)
		return -PL_PROTO_EOF;
	r->end += (size_t)n;
	return n;
}

int pl_reader_next(pl_reader_t *r, pl_frame_t *f)
{
	if (r->err)
		return -r->err;
	size_t avail = r->end - r->start;
	int rc = pl_frame_parse_header(r->buf + r->start, avail, r->max, f);
	if (rc == -PL_PROTO_ETRUNC)
		return 0;
	if (rc < 0)
		return -(r->err = -rc);
	size_t need = PL_PROTO_HDR_LEN + (size_t)f->len;
	if (avail < need) {
		reader_compact(r);
		rc = reader_grow(r, need);
		if (rc < 0)
			return -(r->err = -rc);
		return 0;
	}
	size_t used;
	rc = pl_frame_parse(r->buf + r->start, avail, r->max, f, &used);
	if (rc < 0)
		return -(r->err = -rc);
	if (f->flags & PL_FLAG_FD) {
		if (r->nfds == 0)
			return -(r->err = PL_PROTO_EFD);
		f->fd = r->fds[0];
		memmove(r->fds, r->fds + 1, sizeof(int) * (size_t)(--r->nfds));
	}
	r->start += used;
	return 1;
}

/* ---- send queue ---- */

struct pl_wq_item {
	pl_wq_item_t *next;
	size_t len, off;
	int fd;
	uint8_t data[];
};

void pl_wq_init(pl_wq_t *q, size_t max_queued)
{
	q->head = q->tail = NULL;
	q->queued = 0;
	q->max_queued = max_queued;
}

static void wq_pop(pl_wq_t *q)
{
	pl_wq_item_t *it = q->head;
	q->head = it->next;
	if (!q->head)
		q->tail = NULL;
	q->queued -= it->len - it->off;
	if (it->fd >= 0)
		close(it->fd);
	free(it);
}

void pl_wq_free(pl_wq_t *q)
{
	while (q->head)
		wq_pop(q);
}

int pl_wq_empty(const pl_wq_t *q)
{
	return q->head == NULL;
}

int pl_wq_push(pl_wq_t *q, const pl_msg_t *m)
{
	if (m->err)
		return -m->err;
	if (q->max_queued && q->queued + m->len > q->max_queued)
		return -PL_PROTO_EQUEUE;
	pl_wq_item_t *it = malloc(sizeof(*it) + m->len);
	if (!it)
		return -PL_PROTO_ENOMEM;
	it->next = NULL;
	it->len = m->len;
	it->off = 0;
	it->fd = -1;
	if (m->fd >= 0) {
		it->fd = fcntl(m->fd, F_DUPFD_CLOEXEC, 3);
		if (it->fd < 0) {
			free(it);
			return -PL_PROTO_EIO;
		}
	}
	memcpy(it->data, m->buf, m->len);
	if (q->tail)
		q->tail->next = it;
	else
		q->head = it;
	q->tail = it;
	q->queued += m->len;
	return 0;
}

static ssize_t wq_send(int sock, pl_wq_item_t *it)
{
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int))];
	} cbuf;
	struct iovec iov = { it->data + it->off, it->len - it->off };
	struct msghdr mh = { 0 };
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (it->off == 0 && it->fd >= 0) {
		memset(&cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf.b;
		mh.msg_controllen = sizeof(cbuf.b);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &it->fd, sizeof(int));
	}
	ssize_t n;
	do {
		n = sendmsg(sock, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	} while (n < 0 && errno == EINTR);
	return n;
}

int pl_wq_flush(pl_wq_t *q, int sock)
{
	while (q->head) {
		pl_wq_item_t *it = q->head;
		ssize_t n = wq_send(sock, it);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return -PL_PROTO_EIO;
		}
		if (it->off == 0 && it->fd >= 0 && n > 0) {
			close(it->fd); /* the kernel holds its own reference now */
			it->fd = -1;
		}
		it->off += (size_t)n;
		q->queued -= (size_t)n;
		if (it->off == it->len)
			wq_pop(q);
	}
	return 1;
}

/* ---- blocking helpers ---- */

static long long mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int wait_fd(int fd, short ev, long long deadline)
{
	for (;;) {
		long long left = deadline - mono_ms();
		if (left < 0)
			left = 0;
		struct pollfd p = { fd, ev, 0 };
		int n = poll(&p, 1, (int)left);
		if (n > 0)
			return 0;
		if (n == 0) {
			errno = ETIMEDOUT;
			return -PL_PROTO_EIO;
		}
		if (errno != EINTR)
			return -PL_PROTO_EIO;
	}
}

int pl_send_frame(int sock, const pl_msg_t *m, int timeout_ms)
{
	pl_wq_t q;
	long long deadline = mono_ms() + timeout_ms;
	int rc;

	pl_wq_init(&q, 0);
	rc = pl_wq_push(&q, m);
	while (rc == 0) {
		rc = pl_wq_flush(&q, sock);
		if (rc == 0)
			rc = wait_fd(sock, POLLOUT, deadline);
	}
	pl_wq_free(&q);
	return rc < 0 ? rc : 0;
}

int pl_recv_frame(int sock, pl_reader_t *r, pl_frame_t *f, int timeout_ms)
{
	long long deadline = mono_ms() + timeout_ms;
	for (;;) {
		int rc = pl_reader_next(r, f);
		if (rc != 0)
			return rc < 0 ? rc : 0;
		ssize_t n = pl_reader_fill(r, sock);
		if (n < 0)
			return (int)n;
		if (n == 0) {
			rc = wait_fd(sock, POLLIN, deadline);
			if (rc < 0)
				return rc;
		}
	}
}
