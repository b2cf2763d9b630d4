/* pl_adapt: a foreign library's descriptors and timeout inside pl_loop.
 *
 * Libraries with their own idea of a loop expose it in one of two shapes,
 * and one adapter serves both:
 *
 *  "set + timeout": before each wait the library hands out every fd it
 *     wants and how long it may sleep; after the wait it is told which fds
 *     are ready. libmicrohttpd (MHD_get_fdset2, MHD_get_timeout,
 *     MHD_run_from_select; or its epoll fd alone), libcurl multi
 *     (curl_multi_fdset, curl_multi_timeout, curl_multi_perform), net-snmp
 *     (snmp_select_info, snmp_read, snmp_timeout). Give ops.refresh (declare
 *     each fd with pl_adapt_want or pl_adapt_want_fdset) and ops.timeout.
 *
 *  "one by one": the library registers, changes and removes fds through
 *     callbacks, and sets a timer: libwebsockets' external poll
 *     (LWS_CALLBACK_ADD_POLL_FD / DEL_POLL_FD / CHANGE_MODE_POLL_FD, then
 *     lws_service_fd), curl's CURLMOPT_SOCKETFUNCTION and
 *     CURLMOPT_TIMERFUNCTION (curl_multi_socket_action). Call pl_adapt_set
 *     and pl_adapt_set_timeout from those callbacks; leave ops.refresh NULL.
 *
 * Either way ops.run is called after a wait in which one of the library's
 * fds was ready, its deadline passed, or pl_adapt_wake asked for it, with
 * the ready fds of that round. Before each wait the adapter diffs the
 * declared set against the pl_loop watchers it holds (adding, changing and
 * dropping only what changed) and shortens the wait to the library's
 * deadline. Events are epoll's (EPOLLIN, EPOLLOUT, ...), which on Linux
 * equal poll(2)'s POLLIN, POLLOUT, so lws_pollargs and pollfd values pass
 * through unchanged.
 *
 * Tested with real peers in tests/integration/t10-runtime-adapters.t
 * (tests/lib/adaptsvc.c): libcurl multi and net-snmp single sessions "set +
 * timeout", libwebsockets "one by one"; the console runs libmicrohttpd on
 * it. net-snmp: ask snmp_sess_select_info about each session with a block
 * flag of its own (reset to 1) and take the earliest timeout yourself:
 * asked about an idle session it sets *block = 1 whatever an earlier
 * session had set, so one shared flag loses the deadline.
 *
 * The adapter links no foreign library: each service links its own and
 * supplies the callbacks. Everything here runs on the loop's thread. The
 * fds remain the library's: the adapter never closes one. */
#ifndef PL_ADAPT_H
#define PL_ADAPT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/select.h>

#include "pl_loop.h"

typedef struct pl_adapt pl_adapt_t;

typedef struct {
	int fd;
	uint32_t events; /* what epoll reported: EPOLLIN, EPOLLOUT, EPOLLHUP... */
} pl_adapt_ready_t;

typedef struct {
	/* "Set + timeout" libraries: declare, with pl_adapt_want, every fd
	 * the library wants watched now. An fd not declared is dropped.
	 * NULL for "one by one" libraries. */
	void (*refresh)(pl_adapt_t *a, void *arg);
	/* Milliseconds until the library must run even with nothing ready
	 * (0 = at once, -1 = no deadline), asked before each wait. NULL:
	 * the deadline is whatever pl_adapt_set_timeout said last. */
	long (*timeout)(pl_adapt_t *a, void *arg);
	/* Do the library's work: ready[0..n) are this round's ready fds (n is
	 * 0 when only the deadline or a wake-up brought us here). */
	void (*run)(pl_adapt_t *a, const pl_adapt_ready_t *ready, size_t n,
		    void *arg);
} pl_adapt_ops_t;

/* ops is copied. NULL on out of memory. */
pl_adapt_t *pl_adapt_new(pl_loop_t *loop, const pl_adapt_ops_t *ops, void *arg);
/* Unwatches the fds (the library closes them). Safe inside ops.run. */
void pl_adapt_free(pl_adapt_t *a);

/* In ops.refresh: watch fd for events this round. 0, or -1 (errno). */
int pl_adapt_want(pl_adapt_t *a, int fd, uint32_t events);
/* In ops.refresh: every fd below nfds in the sets (rs -> EPOLLIN, ws ->
 * EPOLLOUT, es -> EPOLLPRI; any may be NULL). */
int pl_adapt_want_fdset(pl_adapt_t *a, int nfds, const fd_set *rs,
			const fd_set *ws, const fd_set *es);
/* For a library that wants fd_sets back (MHD_run_from_select): clears the
 * three sets and fills them from the ready fds; *nfds = highest fd + 1.
 * A hang-up or error counts as readable and writable, so the library
 * notices it on its next read or write. */
void pl_adapt_fdset(const pl_adapt_ready_t *ready, size_t n, fd_set *rs,
		    fd_set *ws, fd_set *es, int *nfds);

/* "One by one" libraries: start watching fd, or change its events; events
 * 0 stops watching it (call that before the library closes the fd).
 * 0, or -1 (errno). */
int pl_adapt_set(pl_adapt_t *a, int fd, uint32_t events);
/* Run the library once ms from now (0 = at the next round), replacing the
 * previous deadline; -1 cancels. Cleared when it fires (curl's timer
 * callback semantics). */
void pl_adapt_set_timeout(pl_adapt_t *a, long ms);
/* Run the library at the end of this round (or the next one, when called
 * outside a round), ready or not: e.g. after resuming a suspended MHD
 * connection. */
void pl_adapt_wake(pl_adapt_t *a);

/* How many fds the adapter watches now (tests, diagnostics). */
size_t pl_adapt_count(const pl_adapt_t *a);

#endif
