/* pl_loop: a small epoll event loop with fd watchers, one-shot timers and
 * signals (signalfd). The loop's own epoll fd is pollable (timers arm a
 * timerfd inside it), so a service that must run under a foreign library's
 * loop (libmicrohttpd, libwebsockets, net-snmp) can add pl_loop_fd() to that
 * loop and call pl_loop_run_once(loop, 0) when it is readable. */
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

/* Run until pl_loop_stop. Returns 0, or -1 on an epoll failure. */
int pl_loop_run(pl_loop_t *loop);
/* One round: wait up to timeout_ms (-1 forever, 0 poll), dispatch. */
int pl_loop_run_once(pl_loop_t *loop, int timeout_ms);
void pl_loop_stop(pl_loop_t *loop);
int pl_loop_stopped(const pl_loop_t *loop);

/* Monotonic milliseconds. */
uint64_t pl_now_ms(void);

#endif
