/* pl_loop: a small epoll event loop with fd watchers, one-shot timers,
 * signals (signalfd), hooks around each wait and a thread-safe post.
 *
 * Everything here except pl_loop_post and pl_now_ms belongs to the loop's
 * thread (the one calling pl_loop_run).
 *
 * Foreign loops, two ways:
 *  - the library lends us its descriptors and timeout (libmicrohttpd,
 *    libcurl multi, net-snmp, libwebsockets' external poll): pl_adapt.h
 *    builds on the hooks below to keep them in this loop;
 *  - the library insists on waiting itself: the loop's own epoll fd is
 *    pollable (timers arm a timerfd inside it), so add pl_loop_fd() to that
 *    loop, call pl_loop_run_once(loop, 0) when it is readable, and bound
 *    the foreign wait by pl_loop_next_timeout(). */
#ifndef PL_LOOP_H
#define PL_LOOP_H

#include <stdint.h>
#include <sys/epoll.h>

typedef struct pl_loop pl_loop_t;
typedef struct pl_watch pl_watch_t;
typedef struct pl_timer pl_timer_t;

typedef void (*pl_io_cb)(pl_loop_t *loop, int fd, uint32_t events, void *arg);
typedef void (*pl_timer_cb)(pl_loop_t *loop, void *arg);
typedef void (*pl_signal_cb)(pl_loop_t *loop, int signo, void *arg);
typedef void (*pl_post_cb)(pl_loop_t *loop, void *arg);

typedef struct pl_hook pl_hook_t;
/* Called before each wait; returns the longest the wait may last in ms, or
 * -1 for "no limit of mine". The loop waits for the smallest answer, so a
 * hook can only shorten the wait, never lengthen another's. */
typedef int (*pl_hook_before_cb)(pl_loop_t *loop, void *arg);
/* Called after each wait, once the ready watchers' callbacks have run. */
typedef void (*pl_hook_after_cb)(pl_loop_t *loop, void *arg);

pl_loop_t *pl_loop_new(void);
void pl_loop_free(pl_loop_t *loop);
int pl_loop_fd(const pl_loop_t *loop);

/* Watch fd for events (EPOLLIN/EPOLLOUT...). The watcher is freed by
 * pl_loop_unwatch (safe inside a callback) or pl_loop_free. */
pl_watch_t *pl_loop_watch(pl_loop_t *loop, int fd, uint32_t events,
			  pl_io_cb cb, void *arg);
int pl_loop_watch_mod(pl_loop_t *loop, pl_watch_t *w, uint32_t events);
void pl_loop_unwatch(pl_loop_t *loop, pl_watch_t *w);

/* One-shot timer after ms milliseconds. Cancel is safe inside callbacks,
 * and a fired timer is freed after its callback returns: don't cancel it
 * then (set your pointer to NULL in the callback). */
pl_timer_t *pl_loop_timer(pl_loop_t *loop, uint64_t ms, pl_timer_cb cb,
			  void *arg);
void pl_loop_timer_cancel(pl_loop_t *loop, pl_timer_t *t);

/* Handle a signal in the loop (blocks it for the process; children forked
 * later must unblock with pl_loop_unblock_signals). */
int pl_loop_signal(pl_loop_t *loop, int signo, pl_signal_cb cb, void *arg);
void pl_loop_unblock_signals(void);

/* Hooks run in registration order around every wait of pl_loop_run_once;
 * either callback may be NULL. Unhook is safe inside any callback (the hook
 * is freed after the round); pl_loop_free frees hooks still registered. */
pl_hook_t *pl_loop_hook(pl_loop_t *loop, pl_hook_before_cb before,
			pl_hook_after_cb after, void *arg);
void pl_loop_unhook(pl_loop_t *loop, pl_hook_t *h);

/* Milliseconds until the next timer is due (0 = overdue), -1 if none. */
int pl_loop_next_timeout(const pl_loop_t *loop);

/* Run fn(loop, arg) on the loop thread, soon. The one call that any thread
 * may make (the loop must outlive every thread that posts). Ownership:
 * from a successful post on, arg belongs to fn; the poster must not touch
 * it again. fn runs exactly once, in post order per posting thread: in a
 * later round of the loop, or in pl_loop_free when the loop ends first
 * (so free what fn needs only after pl_loop_free, or make fn cope). A
 * post made from inside fn runs in the next round, not in this one.
 * Returns 0, or -1 (out of memory, or more than a million posts waiting:
 * the loop is stuck) and fn will not run. */
int pl_loop_post(pl_loop_t *loop, pl_post_cb fn, void *arg);

/* Run until pl_loop_stop. Returns 0, or -1 on an epoll failure. */
int pl_loop_run(pl_loop_t *loop);
/* One round: before hooks, wait up to timeout_ms (-1 forever, 0 poll) or
 * less if a hook says so, dispatch, after hooks. Returns the number of
 * ready watchers (0 on timeout or EINTR), or -1 on an epoll failure. */
int pl_loop_run_once(pl_loop_t *loop, int timeout_ms);
void pl_loop_stop(pl_loop_t *loop);
int pl_loop_stopped(const pl_loop_t *loop);

/* Monotonic milliseconds. */
uint64_t pl_now_ms(void);

#endif
