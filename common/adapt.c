/* Foreign loop adapter: a table of the library's fds indexed by fd number,
 * each with its pl_loop watcher, and a pair of loop hooks around the
 * wait. See pl_adapt.h. */
#include "pl_adapt.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* Far above what select()-style libraries can use (FD_SETSIZE) and what a
 * service opens; a bound on the table, not a tuning knob. */
#define ADAPT_MAX_FD 65536

typedef struct {
	pl_watch_t *w; /* NULL: not watched */
	uint32_t events;
	uint32_t revents; /* gathered by the watcher during the wait */
	unsigned gen;	  /* the refresh that last declared it */
} adapt_fd_t;

struct pl_adapt {
	pl_loop_t *loop;
	pl_adapt_ops_t ops;
	void *arg;
	pl_hook_t *hook;
	adapt_fd_t *fds;
	int cap; /* fds[0..cap) */
	size_t count;
	pl_adapt_ready_t *ready; /* this round's ready fds, count long */
	size_t ready_cap;
	unsigned gen;
	uint64_t deadline; /* pl_now_ms(); 0 = none */
	int wake;
	int ran;     /* ops.run since the last refresh */
	int in_run;
	int dying;   /* pl_adapt_free inside ops.run: free after it */
};

static void on_io(pl_loop_t *loop, int fd, uint32_t ev, void *arg)
{
	pl_adapt_t *a = arg;
	(void)loop;
	if (fd >= 0 && fd < a->cap && a->fds[fd].w)
		a->fds[fd].revents |= ev;
}

static int grow(pl_adapt_t *a, int fd)
{
	if (fd < a->cap)
		return 0;
	if (fd >= ADAPT_MAX_FD) {
		errno = EMFILE;
		return -1;
	}
	int cap = a->cap ? a->cap : 64;
	while (cap <= fd)
		cap *= 2;
	adapt_fd_t *n = realloc(a->fds, (size_t)cap * sizeof(*n));
	if (!n)
		return -1;
	memset(n + a->cap, 0, (size_t)(cap - a->cap) * sizeof(*n));
	a->fds = n;
	a->cap = cap;
	return 0;
}

static void drop(pl_adapt_t *a, int fd)
{
	adapt_fd_t *e = &a->fds[fd];
	pl_loop_unwatch(a->loop, e->w);
	memset(e, 0, sizeof(*e));
	a->count--;
}

static int add(pl_adapt_t *a, int fd, uint32_t events)
{
	if (grow(a, fd) < 0)
		return -1;
	adapt_fd_t *e = &a->fds[fd];
	e->w = pl_loop_watch(a->loop, fd, events, on_io, a);
	if (!e->w)
		return -1;
	e->events = events;
	e->revents = 0;
	a->count++;
	return 0;
}

/* Change a watched fd's events. With verify, also when they are the same:
 * a library may close an fd and open another with the same number inside
 * one call, and epoll, which forgot the closed one silently, says so only
 * when asked (ENOENT); then the new one is added. */
static int change(pl_adapt_t *a, int fd, uint32_t events, int verify)
{
	adapt_fd_t *e = &a->fds[fd];
	if (e->events == events && !verify)
		return 0;
	if (pl_loop_watch_mod(a->loop, e->w, events) == 0) {
		e->events = events;
		return 0;
	}
	if (errno != ENOENT)
		return -1;
	drop(a, fd);
	return add(a, fd, events);
}

int pl_adapt_set(pl_adapt_t *a, int fd, uint32_t events)
{
	if (fd < 0) {
		errno = EBADF;
		return -1;
	}
	int have = fd < a->cap && a->fds[fd].w;
	if (!events) {
		if (have)
			drop(a, fd);
		return 0;
	}
	/* The library says it is the same fd; no need to verify. */
	return have ? change(a, fd, events, 0) : add(a, fd, events);
}

int pl_adapt_want(pl_adapt_t *a, int fd, uint32_t events)
{
	if (fd < 0) {
		errno = EBADF;
		return -1;
	}
	int rc;
	if (fd < a->cap && a->fds[fd].w)
		rc = change(a, fd, events, a->ran);
	else
		rc = add(a, fd, events);
	if (rc == 0)
		a->fds[fd].gen = a->gen;
	return rc;
}

int pl_adapt_want_fdset(pl_adapt_t *a, int nfds, const fd_set *rs,
			const fd_set *ws, const fd_set *es)
{
	int rc = 0;
	if (nfds > FD_SETSIZE)
		nfds = FD_SETSIZE;
	for (int fd = 0; fd < nfds; fd++) {
		uint32_t ev = 0;
		if (rs && FD_ISSET(fd, rs))
			ev |= EPOLLIN;
		if (ws && FD_ISSET(fd, ws))
			ev |= EPOLLOUT;
		if (es && FD_ISSET(fd, es))
			ev |= EPOLLPRI;
		if (ev && pl_adapt_want(a, fd, ev) < 0)
			rc = -1;
	}
	return rc;
}

void pl_adapt_fdset(const pl_adapt_ready_t *ready, size_t n, fd_set *rs,
		    fd_set *ws, fd_set *es, int *nfds)
{
	FD_ZERO(rs);
	FD_ZERO(ws);
	FD_ZERO(es);
	*nfds = 0;
	for (size_t i = 0; i < n; i++) {
		int fd = ready[i].fd;
		uint32_t ev = ready[i].events;
		if (fd >= FD_SETSIZE)
			continue;
		if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR))
			FD_SET(fd, rs);
		if (ev & (EPOLLOUT | EPOLLHUP | EPOLLERR))
			FD_SET(fd, ws);
		if (ev & EPOLLPRI)
			FD_SET(fd, es);
		if (fd + 1 > *nfds)
			*nfds = fd + 1;
	}
}

void pl_adapt_set_timeout(pl_adapt_t *a, long ms)
{
	if (ms < 0) {
		a->deadline = 0;
		return;
	}
	a->deadline = pl_now_ms() + (uint64_t)ms;
	if (!a->deadline)
		a->deadline = 1;
}

void pl_adapt_wake(pl_adapt_t *a)
{
	a->wake = 1;
}

size_t pl_adapt_count(const pl_adapt_t *a)
{
	return a->count;
}

/* ---- around the wait ---- */

static void refresh(pl_adapt_t *a)
{
	a->gen++;
	a->ops.refresh(a, a->arg);
	for (int fd = 0; fd < a->cap; fd++)
		if (a->fds[fd].w && a->fds[fd].gen != a->gen)
			drop(a, fd);
	a->ran = 0;
}

static int before(pl_loop_t *loop, void *arg)
{
	pl_adapt_t *a = arg;
	(void)loop;
	if (a->ops.refresh)
		refresh(a);
	if (a->ops.timeout) {
		long t = a->ops.timeout(a, a->arg);
		if (t < 0)
			a->deadline = 0;
		else
			pl_adapt_set_timeout(a, t);
	}
	if (a->wake)
		return 0;
	if (!a->deadline)
		return -1;
	uint64_t now = pl_now_ms();
	if (a->deadline <= now)
		return 0;
	uint64_t ms = a->deadline - now;
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

/* The ready fds, their flags cleared for the next round. */
static size_t collect(pl_adapt_t *a)
{
	size_t n = 0;
	if (a->ready_cap < a->count) {
		pl_adapt_ready_t *r = realloc(a->ready, a->count * sizeof(*r));
		if (!r)
			return 0; /* level-triggered: they are reported again */
		a->ready = r;
		a->ready_cap = a->count;
	}
	for (int fd = 0; fd < a->cap && n < a->ready_cap; fd++) {
		adapt_fd_t *e = &a->fds[fd];
		if (e->w && e->revents) {
			a->ready[n].fd = fd;
			a->ready[n++].events = e->revents;
			e->revents = 0;
		}
	}
	return n;
}

static void adapt_destroy(pl_adapt_t *a)
{
	for (int fd = 0; fd < a->cap; fd++)
		if (a->fds[fd].w)
			pl_loop_unwatch(a->loop, a->fds[fd].w);
	pl_loop_unhook(a->loop, a->hook);
	free(a->fds);
	free(a->ready);
	free(a);
}

static void after(pl_loop_t *loop, void *arg)
{
	pl_adapt_t *a = arg;
	(void)loop;
	size_t n = collect(a);
	int due = a->deadline && a->deadline <= pl_now_ms();
	if (!n && !due && !a->wake)
		return;
	a->wake = 0;
	if (due)
		a->deadline = 0; /* fired; ops.timeout or the library sets the next */
	a->in_run = 1;
	a->ops.run(a, a->ready, n, a->arg);
	a->in_run = 0;
	a->ran = 1;
	if (a->dying)
		adapt_destroy(a);
}

pl_adapt_t *pl_adapt_new(pl_loop_t *loop, const pl_adapt_ops_t *ops, void *arg)
{
	pl_adapt_t *a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	a->loop = loop;
	a->ops = *ops;
	a->arg = arg;
	a->hook = pl_loop_hook(loop, before, after, a);
	if (!a->hook) {
		free(a);
		return NULL;
	}
	return a;
}

void pl_adapt_free(pl_adapt_t *a)
{
	if (!a)
		return;
	if (a->in_run) {
		a->dying = 1;
		return;
	}
	adapt_destroy(a);
}
