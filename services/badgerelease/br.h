/* PrinterLogicServiceSimpleBadgeRelease: network badge readers release
 * their owner's held jobs at the reader's printer.
 *   main.c     service definition, configuration, reader list refresh
 *   readers.c  connections: readers that connect to us (port 31990) and
 *              readers we dial, frame decoding, de-duplication
 *   swipe.c    badge -> user -> RELEASE through the supervisor */
#ifndef BR_H
#define BR_H

#include <netinet/in.h>
#include <stdint.h>

#include "pl_badge.h"
#include "pl_directory.h"
#include "pl_loop.h"
#include "pl_schemas.h"
#include "pl_service.h"

#define BR_NAME "PrinterLogicServiceSimpleBadgeRelease"
#define BR_DEFAULT_LISTEN "0.0.0.0:31990"
#define BR_MAX_READERS PL_SCHEMA_BR_MAX_READERS /* max_connections' range too */

typedef struct br br_t;
typedef struct br_conn br_conn_t;

/* One configured reader (from the directory). */
typedef struct {
	br_t *br;
	pl_dir_reader_t d;
	pl_badge_format_t fmt;
	int dial; /* we connect to it */
	br_conn_t *conn;	 /* its live connection, if any */
	pl_timer_t *redial;
	uint64_t redial_at; /* when it fires (carried over on a refresh) */
	uint32_t backoff_ms;
	/* a dialled reader we cannot reach: since when, last said when */
	uint64_t down_since_ms, down_said_ms;
	/* de-duplication: the last badge read here and when */
	char last_badge[PL_BADGE_MAX + 1];
	uint64_t last_ms;
} br_reader_t;

struct br {
	pl_service_t *svc;
	pl_loop_t *loop;
	pl_dir_t *dir;
	char directory_path[4096];
	uint32_t dedupe_ms;
	uint32_t refresh_ms;
	uint32_t redial_max_ms;
	uint32_t max_conns;
	int listen_fd;
	pl_watch_t *listen_w;
	br_reader_t *readers;
	size_t nreaders;
	br_conn_t *conns;
	uint32_t nconns;
	pl_timer_t *refresh;
	uint32_t seq;
	struct br_pending *pending;
	/* counters for the log and status */
	uint64_t swipes, unknown, refused_peers;
	uint64_t refuse_log_ms;
	uint32_t refuse_suppressed;
};

/* readers.c */
int br_listen(br_t *br, int fd);
void br_readers_apply(br_t *br, br_reader_t *list, size_t n);
void br_close_all(br_t *br);

/* swipe.c */
void br_swipe(br_t *br, br_reader_t *r, const char *badge);
/* Counters into plsc status. */
void br_report(br_t *br);
void br_result(br_t *br, const pl_frame_t *f);
void br_pending_free(br_t *br);

#endif
