/* PrinterLogicServiceOfflinePrint: held jobs from workstations.
 *   main.c     the service definition, configuration, timers
 *   conn.c     TLS connections on 31989 and the submission protocol
 *   release.c  JOBS_QUERY, RELEASE_JOBS, DELETE_JOBS from the supervisor
 *   events.c   job events (metadata only) to the supervisor */
#ifndef OP_H
#define OP_H

#include <openssl/ssl.h>
#include <stdint.h>

#include "pl_directory.h"
#include "pl_jobstore.h"
#include "pl_loop.h"
#include "pl_proto.h"
#include "pl_service.h"
#include "pl_work.h"

#define OP_NAME "PrinterLogicServiceOfflinePrint"
#define OP_DEFAULT_LISTEN "0.0.0.0:31989"
#define OP_FRAME_MAX (1024u * 1024u) /* one SUBMIT_DATA frame at most */

typedef struct op_conn op_conn_t;

typedef struct {
	/* settings */
	int64_t expiry_ms;
	uint32_t expiry_check_ms;
	uint64_t quota_user_bytes, quota_total_bytes, max_job_bytes;
	uint32_t client_timeout_ms;
	uint32_t max_clients;
	int report_titles;
	uint32_t print_connect_timeout_ms, print_io_timeout_ms;
	uint32_t print_workers;
	char directory_path[4096];
	/* state */
	pl_service_t *svc;
	pl_loop_t *loop;
	SSL_CTX *tls;
	pl_jobstore_t *store;
	pl_dir_t *dir;
	pl_work_t *disk;  /* commits, deletes, expiry */
	pl_work_t *print; /* releases: one printer conversation each */
	pl_work_t *shred; /* printed jobs, shredded at low priority */
	int listen_fd;
	pl_watch_t *listen_w;
	op_conn_t *conns;
	uint32_t nconns;
	pl_timer_t *expiry_timer;
	int draining;
	uint64_t rate_last_ms;
	uint32_t rate_suppressed;
} op_t;

/* conn.c */
int op_conn_listen(op_t *op, int fd);
void op_conn_close_all(op_t *op);
void op_conn_stop_accepting(op_t *op);

/* release.c */
void op_handle_query(op_t *op, const pl_frame_t *f);
void op_handle_release(op_t *op, const pl_frame_t *f);
void op_handle_delete(op_t *op, const pl_frame_t *f);

/* events.c: event is "held", "printed", "print-failed", "expired",
 * "deleted", "refused". detail may be NULL. */
void op_event(op_t *op, const char *event, const pl_job_meta_t *m,
	      const char *detail);
/* Reply helpers for frames from the supervisor. */
void op_reply(op_t *op, const pl_msg_t *m);

#endif
