/* pl_chan: one framed TLV channel on a pl_loop, the pump every peer of
 * the protocol shares (a service's supervisor channel, the supervisor's
 * side of it, a control-socket client and the control socket's clients):
 * a non-blocking socket, a bounded reader, a bounded write queue flushed
 * when the socket is writable, one callback per frame and one when the
 * channel breaks.
 *
 * Ownership: the channel owns its fd (closed by pl_chan_close/free). A
 * frame's passed descriptor (f->fd) belongs to the frame callback, which
 * must close it or keep it. pl_chan_close and pl_chan_free may be called
 * from inside either callback: no callback runs after pl_chan_close, and
 * the memory goes once the dispatch returns. */
#ifndef PL_CHAN_H
#define PL_CHAN_H

#include <stddef.h>

#include "pl_loop.h"
#include "pl_proto.h"

/* The supervisor channel's frame bound, the same at both ends (the
 * supervisor's side and the service runtime's): 1 MiB of payload. */
#define PL_CHAN_SUPERVISOR_MAX_FRAME (1024u * 1024u)

typedef struct pl_chan pl_chan_t;

typedef struct {
	/* One complete frame; valid only during the call. */
	void (*frame)(pl_chan_t *ch, pl_frame_t *f, void *arg);
	/* The channel broke: rc is -PL_PROTO_EOF (the peer closed), a read
	 * or write error, or a bad frame (a protocol error). The channel is
	 * closed already; free it here or later. Not called after
	 * pl_chan_close. */
	void (*closed)(pl_chan_t *ch, int rc, void *arg);
} pl_chan_ops_t;

/* fd: a connected stream socket (made non-blocking here). max_frame
 * bounds what we accept, max_queue what we buffer for a slow peer. NULL
 * (with errno) on failure; the fd is then still the caller's. */
pl_chan_t *pl_chan_new(pl_loop_t *loop, int fd, size_t max_frame,
		       size_t max_queue, const pl_chan_ops_t *ops, void *arg);
/* The largest payload the peer accepts (default PL_PROTO_MAX_FRAME). A
 * frame over it would be a protocol error at the peer, which ends the
 * connection (the supervisor kills a service for it): such a frame is
 * refused here instead, and the channel stays up. */
void pl_chan_set_send_max(pl_chan_t *ch, size_t max_payload);
/* Queue m and write what the socket takes now; the rest goes when it is
 * writable. 0, -PL_PROTO_ETOOBIG (over the send bound: not sent, the
 * channel is fine), -PL_PROTO_EQUEUE (the peer does not read: the queue
 * is full; the caller decides), or another negative error (closed). */
int pl_chan_send(pl_chan_t *ch, const pl_msg_t *m);
/* Try to write out the queue for up to timeout_ms (before an exit). */
void pl_chan_drain(pl_chan_t *ch, int timeout_ms);
int pl_chan_fd(const pl_chan_t *ch);   /* -1 once closed */
int pl_chan_queued(const pl_chan_t *ch); /* anything left to write? */
/* Close the socket now; no callback runs after this. */
void pl_chan_close(pl_chan_t *ch);
/* Close and free (deferred while a callback of this channel runs). */
void pl_chan_free(pl_chan_t *ch);

#endif
