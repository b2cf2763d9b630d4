/* A blocking client of the supervisor's control socket (plsc, tests,
 * benchmarks). */
#ifndef PL_CTLCLIENT_H
#define PL_CTLCLIENT_H

#include "pl_proto.h"

#define PL_CTL_TIMEOUT_MS 10000

typedef struct {
	int fd;
	uint32_t seq;
	pl_reader_t rd;
} pl_ctl_client_t;

/* 0 ok; -1 with errno (ENOENT/ECONNREFUSED: no supervisor). */
int pl_ctl_connect(pl_ctl_client_t *c, const char *path);
void pl_ctl_close(pl_ctl_client_t *c);
/* Send type (with NAME if name != NULL) and wait for the reply frame,
 * which stays valid until the next call. 0 or a negative proto error. */
int pl_ctl_request(pl_ctl_client_t *c, uint16_t type, const char *name,
		pl_frame_t *reply);

/* Lower level: the next sequence number for a message the caller builds,
 * then send it and wait up to timeout_ms for its reply. */
uint32_t pl_ctl_next_seq(pl_ctl_client_t *c);
int pl_ctl_call(pl_ctl_client_t *c, const pl_msg_t *m, pl_frame_t *reply,
	     int timeout_ms);

#endif
