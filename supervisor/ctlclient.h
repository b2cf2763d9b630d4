/* A blocking client of the supervisor's control socket (plsc, tests,
 * benchmarks). */
#ifndef CTLCLIENT_H
#define CTLCLIENT_H

#include "pl_proto.h"

#define CTL_TIMEOUT_MS 10000

typedef struct {
	int fd;
	uint32_t seq;
	pl_reader_t rd;
} ctl_client_t;

/* 0 ok; -1 with errno (ENOENT/ECONNREFUSED: no supervisor). */
int ctl_connect(ctl_client_t *c, const char *path);
void ctl_close(ctl_client_t *c);
/* Send type (with NAME if name != NULL) and wait for the reply frame,
 * which stays valid until the next call. 0 or a negative proto error. */
int ctl_request(ctl_client_t *c, uint16_t type, const char *name,
		pl_frame_t *reply);

/* Lower level: the next sequence number for a message the caller builds,
 * then send it and wait up to timeout_ms for its reply. */
uint32_t ctl_next_seq(ctl_client_t *c);
int ctl_call(ctl_client_t *c, const pl_msg_t *m, pl_frame_t *reply,
	     int timeout_ms);

#endif
