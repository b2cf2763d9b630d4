/* epoll loop: watchers, timers on one timerfd, signals on one signalfd,
 * hooks around each wait, and a thread-safe post queue woken through an
 * eventfd. */
#include "pl_loop.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define LOOP_MAX_EVENTS 64
#define LOOP_NSIG 65
/* Posts waiting for the loop thread. The queue grows (one small node a
 * post); this bound only stops a runaway poster from eating the memory
 * while the loop is stuck (the watchdogs report that). */
#define LOOP_POST_MAX (1u << 20)

struct pl_watch {
	pl_watch_t *prev, *next; /* every live watcher, so free can find them */
	int fd;
	int dead;
	pl_io_cb cb;
	void *arg;
	pl_watch_t *next_dead;
};

struct pl_timer {
	uint64_t due;
	pl_timer_cb cb;
	void *arg;
	pl_timer_t *prev, *next;
};

struct pl_hook {
	pl_hook_before_cb before;
	pl_hook_after_cb after;
	void *arg;
	int dead;
	pl_hook_t *next;
};

typedef struct loop_post {
	pl_post_cb fn;
	void *arg;
	struct loop_post *next;
} loop_post_t;

struct pl_loop {
	int epfd;
	int tfd;
	int sfd;
	int stop;
	uint64_t armed; /* deadline the timerfd is set to; 0 = disarmed */
	pl_watch_t *tw, *sw;
	pl_watch_t *live;
	pl_watch_t *dead;
	pl_timer_t *timers; /* sorted by due */
	sigset_t sigs;
	pl_hook_t *hooks; /* in registration order; dead ones reaped after a round */
	int hooks_dead;
	/* Posts: the only state touched by other threads, under post_mu. */
	pthread_mutex_t post_mu;
	loop_post_t *post_head, *post_tail;
	size_t post_n;
	int pfd; /* eventfd: "posts are waiting" */
	pl_watch_t *pw;
	struct {
		pl_signal_cb cb;
		void *arg;
	} sig[LOOP_NSIG];
};

uint64_t pl_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void timer_fire(pl_loop_t *loop, int fd, uint32_t ev, void *arg);
static void signal_fire(pl_loop_t *loop, int fd, uint32_t ev, void *arg);
static void post_fire(pl_loop_t *loop, int fd, uint32_t ev, void *arg);
static void post_drain(pl_loop_t *loop);

pl_loop_t *pl_loop_new(void)
{
	pl_loop_t *loop = calloc(1, sizeof(*loop));
	if (!loop)
		return NULL;
	loop->sfd = -1;
	sigemptyset(&loop->sigs);
	pthread_mutex_init(&loop->post_mu, NULL);
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	loop->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	loop->pfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (loop->epfd < 0 || loop->tfd < 0 || loop->pfd < 0)
		goto fail;
	loop->tw = pl_loop_watch(loop, loop->tfd, EPOLLIN, timer_fire, NULL);
	if (!loop->tw)
		goto fail;
	loop->pw = pl_loop_watch(loop, loop->pfd, EPOLLIN, post_fire, NULL);
	if (!loop->pw)
		goto fail;
	return loop;
fail:
	pl_loop_free(loop);
	return NULL;
}

static void reap_dead(pl_loop_t *loop)
{
	while (loop->dead) {
		pl_watch_t *w = loop->dead;
		loop->dead = w->next_dead;
		free(w);
	}
}

void pl_loop_free(pl_loop_t *loop)
{
	if (!loop)
		return;
	/* Posts still queued run now, before anything is freed: each post
	 * runs exactly once (pl_loop.h), so an arg that owns memory is not
	 * leaked. */
	post_drain(loop);
	while (loop->hooks) {
		pl_hook_t *h = loop->hooks;
		loop->hooks = h->next;
		free(h);
	}
	/* Watchers still registered are freed with the loop (their fds
	 * belong to their owners). */
	while (loop->live)
		pl_loop_unwatch(loop, loop->live);
	reap_dead(loop);
	while (loop->timers) {
		pl_timer_t *t = loop->timers;
		loop->timers = t->next;
		free(t);
	}
	if (loop->epfd >= 0)
		close(loop->epfd);
	if (loop->tfd >= 0)
		close(loop->tfd);
	if (loop->sfd >= 0)
		close(loop->sfd);
	if (loop->pfd >= 0)
		close(loop->pfd);
	pthread_mutex_destroy(&loop->post_mu);
	free(loop);
}

int pl_loop_fd(const pl_loop_t *loop)
{
	return loop->epfd;
}

pl_watch_t *pl_loop_watch(pl_loop_t *loop, int fd, uint32_t events,
			  pl_io_cb cb, void *arg)
{
	pl_watch_t *w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->fd = fd;
	w->cb = cb;
	w->arg = arg;
	struct epoll_event ev = { .events = events, .data.ptr = w };
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int e = errno;
		free(w);
		errno = e;
		return NULL;
	}
	w->next = loop->live;
	if (w->next)
		w->next->prev = w;
	loop->live = w;
	return w;
}

int pl_loop_watch_mod(pl_loop_t *loop, pl_watch_t *w, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };
	return epoll_ctl(loop->epfd, EPOLL_CTL_MOD, w->fd, &ev);
}

void pl_loop_unwatch(pl_loop_t *loop, pl_watch_t *w)
{
	if (!w || w->dead)
		return;
	/* The fd may already be closed, in which case epoll dropped it. */
	epoll_ctl(loop->epfd, EPOLL_CTL_DEL, w->fd, NULL);
	w->dead = 1;
	if (w->prev)
		w->prev->next = w->next;
	else
		loop->live = w->next;
	if (w->next)
		w->next->prev = w->prev;
	/* Freed after the current dispatch round: events already fetched for
	 * this round may still point at it. */
	w->next_dead = loop->dead;
	loop->dead = w;
}

/* ---- timers ---- */

static void timer_arm(pl_loop_t *loop)
{
	uint64_t due = loop->timers ? loop->timers->due : 0;
	if (due == loop->armed)
		return;
	struct itimerspec its = { 0 };
	if (due) {
		its.it_value.tv_sec = (time_t)(due / 1000);
		its.it_value.tv_nsec = (long)(due % 1000) * 1000000L;
	}
	timerfd_settime(loop->tfd, TFD_TIMER_ABSTIME, &its, NULL);
	loop->armed = due;
}

pl_timer_t *pl_loop_timer(pl_loop_t *loop, uint64_t ms, pl_timer_cb cb,
			  void *arg)
{
	pl_timer_t *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->due = pl_now_ms() + ms;
	if (t->due == 0)
		t->due = 1; /* 0 means "disarmed" to timer_arm */
	t->cb = cb;
	t->arg = arg;
	pl_timer_t **pp = &loop->timers, *prev = NULL;
	while (*pp && (*pp)->due <= t->due) {
		prev = *pp;
		pp = &(*pp)->next;
	}
	t->next = *pp;
	t->prev = prev;
	if (*pp)
		(*pp)->prev = t;
	*pp = t;
	return t;
}

static void timer_unlink(pl_loop_t *loop, pl_timer_t *t)
{
	if (t->prev)
		t->prev->next = t->next;
	else
		loop->timers = t->next;
	if (t->next)
		t->next->prev = t->prev;
}

void pl_loop_timer_cancel(pl_loop_t *loop, pl_timer_t *t)
{
	if (!t)
		return;
	timer_unlink(loop, t);
	free(t);
}

static void timer_fire(pl_loop_t *loop, int fd, uint32_t ev, void *arg)
{
	uint64_t ticks;
	(void)ev;
	(void)arg;
	if (read(fd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
		return;
	loop->armed = 0;
	uint64_t now = pl_now_ms();
	while (loop->timers && loop->timers->due <= now) {
		pl_timer_t *t = loop->timers;
		timer_unlink(loop, t);
		t->cb(loop, t->arg);
		free(t);
	}
}

/* ---- signals ---- */

int pl_loop_signal(pl_loop_t *loop, int signo, pl_signal_cb cb, void *arg)
{
	if (signo <= 0 || signo >= LOOP_NSIG)
		return -1;
	loop->sig[signo].cb = cb;
	loop->sig[signo].arg = arg;
	sigaddset(&loop->sigs, signo);
	if (sigprocmask(SIG_BLOCK, &loop->sigs, NULL) < 0)
		return -1;
	int fd = signalfd(loop->sfd, &loop->sigs, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		return -1;
	if (loop->sfd < 0) {
		loop->sfd = fd;
		loop->sw = pl_loop_watch(loop, fd, EPOLLIN, signal_fire, NULL);
		if (!loop->sw)
			return -1;
	}
	return 0;
}

void pl_loop_unblock_signals(void)
{
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

static void signal_fire(pl_loop_t *loop, int fd, uint32_t ev, void *arg)
{
	struct signalfd_siginfo si;
	(void)ev;
	(void)arg;
	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		int s = (int)si.ssi_signo;
		if (s > 0 && s < LOOP_NSIG && loop->sig[s].cb)
			loop->sig[s].cb(loop, s, loop->sig[s].arg);
	}
}

int pl_loop_next_timeout(const pl_loop_t *loop)
{
	if (!loop->timers)
		return -1;
	uint64_t now = pl_now_ms();
	if (loop->timers->due <= now)
		return 0;
	uint64_t ms = loop->timers->due - now;
	return ms > INT32_MAX ? INT32_MAX : (int)ms;
}

/* ---- posts (any thread) ---- */

int pl_loop_post(pl_loop_t *loop, pl_post_cb fn, void *arg)
{
	uint64_t one = 1;
	loop_post_t *p = malloc(sizeof(*p));
	if (!p)
		return -1;
	p->fn = fn;
	p->arg = arg;
	p->next = NULL;
	pthread_mutex_lock(&loop->post_mu);
	if (loop->post_n >= LOOP_POST_MAX) {
		pthread_mutex_unlock(&loop->post_mu);
		free(p);
		errno = ENOBUFS;
		return -1;
	}
	if (loop->post_tail)
		loop->post_tail->next = p;
	else
		loop->post_head = p;
	loop->post_tail = p;
	loop->post_n++;
	pthread_mutex_unlock(&loop->post_mu);
	/* Outside the lock: a full eventfd counter cannot happen (2^64-2),
	 * and a failed write still leaves the post for the next wake-up. */
	if (write(loop->pfd, &one, sizeof(one)) < 0) {
		/* nothing to undo */
	}
	return 0;
}

/* Runs the posts queued so far; posts made while they run wait for the
 * next round (the eventfd is set again), so a callback that posts again
 * cannot starve the loop. */
static void post_drain(pl_loop_t *loop)
{
	pthread_mutex_lock(&loop->post_mu);
	loop_post_t *p = loop->post_head;
	loop->post_head = loop->post_tail = NULL;
	loop->post_n = 0;
	pthread_mutex_unlock(&loop->post_mu);
	while (p) {
		loop_post_t *next = p->next;
		p->fn(loop, p->arg);
		free(p);
		p = next;
	}
}

static void post_fire(pl_loop_t *loop, int fd, uint32_t ev, void *arg)
{
	uint64_t n;
	(void)ev;
	(void)arg;
	/* Read before draining: a post after the drain's swap writes again
	 * and wakes us next round. */
	if (read(fd, &n, sizeof(n)) < 0) {
		/* EAGAIN: already drained */
	}
	post_drain(loop);
}

/* ---- hooks ---- */

pl_hook_t *pl_loop_hook(pl_loop_t *loop, pl_hook_before_cb before,
			pl_hook_after_cb after, void *arg)
{
	pl_hook_t *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->before = before;
	h->after = after;
	h->arg = arg;
	pl_hook_t **pp = &loop->hooks;
	while (*pp)
		pp = &(*pp)->next;
	*pp = h;
	return h;
}

void pl_loop_unhook(pl_loop_t *loop, pl_hook_t *h)
{
	if (!h)
		return;
	/* Freed after the round: the hook list may be being walked. */
	h->dead = 1;
	loop->hooks_dead = 1;
}

static void hooks_reap(pl_loop_t *loop)
{
	if (!loop->hooks_dead)
		return;
	pl_hook_t **pp = &loop->hooks;
	while (*pp) {
		pl_hook_t *h = *pp;
		if (h->dead) {
			*pp = h->next;
			free(h);
		} else {
			pp = &h->next;
		}
	}
	loop->hooks_dead = 0;
}

/* The wait lasts at most the smallest of the caller's timeout and each
 * "before" hook's answer (-1 = no limit). */
static int hooks_before(pl_loop_t *loop, int timeout_ms)
{
	for (pl_hook_t *h = loop->hooks; h; h = h->next) {
		if (h->dead || !h->before)
			continue;
		int t = h->before(loop, h->arg);
		if (t >= 0 && (timeout_ms < 0 || t < timeout_ms))
			timeout_ms = t;
	}
	return timeout_ms;
}

static void hooks_after(pl_loop_t *loop)
{
	for (pl_hook_t *h = loop->hooks; h; h = h->next)
		if (!h->dead && h->after)
			h->after(loop, h->arg);
}

/* ---- running ---- */

int pl_loop_run_once(pl_loop_t *loop, int timeout_ms)
{
	struct epoll_event evs[LOOP_MAX_EVENTS];

	timeout_ms = hooks_before(loop, timeout_ms);
	timer_arm(loop);
	int n = epoll_wait(loop->epfd, evs, LOOP_MAX_EVENTS, timeout_ms);
	if (n < 0 && errno != EINTR)
		return -1;
	for (int i = 0; i < n; i++) {
		pl_watch_t *w = evs[i].data.ptr;
		if (!w->dead)
			w->cb(loop, w->fd, evs[i].events, w->arg);
	}
	/* After the watchers, so an adapter's hook sees this round's
	 * readiness, and also after an EINTR: a before hook may have
	 * prepared state its after hook expects to settle. */
	hooks_after(loop);
	reap_dead(loop);
	hooks_reap(loop);
	return n < 0 ? 0 : n;
}

int pl_loop_run(pl_loop_t *loop)
{
	loop->stop = 0;
	while (!loop->stop)
		if (pl_loop_run_once(loop, -1) < 0)
			return -1;
	return 0;
}

void pl_loop_stop(pl_loop_t *loop)
{
	loop->stop = 1;
}

int pl_loop_stopped(const pl_loop_t *loop)
{
	return loop->stop;
}
