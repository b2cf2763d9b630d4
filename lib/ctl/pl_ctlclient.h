/* pl_ctl: the one client of the supervisor's control socket, for plsc,
 * the console, tests and benchmarks.
 *
 * The client is non-blocking on a pl_loop (the console's): many requests
 * in flight, each answered through a callback matched by its sequence
 * number, each with its own deadline; the connection is made on first use
 * and again after the supervisor closed it (it drops clients idle for a
 * minute). Underneath is pl_chan, the pump every protocol peer shares.
 *
 * The blocking calls (plsc, tests) are the same client on a private loop,
 * run until the answer or the deadline. */
#ifndef PL_CTLCLIENT_H
#define PL_CTLCLIENT_H

#include "pl_loop.h"
#include "pl_proto.h"

#define PL_CTL_TIMEOUT_MS 10000
/* The largest answer taken: the protocol's own bound. */
#define PL_CTL_REPLY_MAX PL_PROTO_MAX_FRAME

/* ---- on a loop ---- */

typedef struct pl_ctl pl_ctl_t;

/* reply is NULL when the supervisor could not be asked or did not answer
 * (why says so). */
typedef void (*pl_ctl_cb)(void *arg, const pl_frame_t *reply, const char *why);

pl_ctl_t *pl_ctl_new(pl_loop_t *loop, const char *path);
void pl_ctl_free(pl_ctl_t *c);
/* Connect now (rather than on the first call): 0, or -1 with errno
 * (ENOENT, ECONNREFUSED: no supervisor; EACCES: not in its group). */
int pl_ctl_open(pl_ctl_t *c);
/* Send m (its seq is set here) and call cb with the reply. 0, or -1 and cb
 * is not called. */
int pl_ctl_send(pl_ctl_t *c, pl_msg_t *m, uint32_t timeout_ms, pl_ctl_cb cb,
		void *arg);
/* Forget the callbacks for arg (its request went away). */
void pl_ctl_cancel(pl_ctl_t *c, void *arg);

/* ---- blocking ---- */

typedef struct {
	pl_loop_t *loop;
	pl_ctl_t *ctl;
	pl_frame_t last;    /* the last answer; its payload is ours */
	int done;
	int rc;
} pl_ctl_client_t;

/* 0 ok; -1 with errno (ENOENT/ECONNREFUSED: no supervisor). */
int pl_ctl_connect(pl_ctl_client_t *c, const char *path);
void pl_ctl_close(pl_ctl_client_t *c);
/* Send type (with NAME if name != NULL) and wait for the reply frame,
 * which stays valid until the next call. 0 or a negative proto error. */
int pl_ctl_request(pl_ctl_client_t *c, uint16_t type, const char *name,
		   pl_frame_t *reply);
/* Send m (its seq is set here) and wait up to timeout_ms for its reply. */
int pl_ctl_call(pl_ctl_client_t *c, pl_msg_t *m, pl_frame_t *reply,
		int timeout_ms);

#endif
