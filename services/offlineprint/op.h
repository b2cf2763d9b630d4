/* PrinterLogicServiceOfflinePrint: held jobs from workstations.
 *   main.c     the service definition, configuration
 *   conn.c     TLS connections on 31989 and the submission protocol
 *   touch.c    a workstation token's last use, reported to plsc-directory
 * Listing, release, delete, expiry and job events are lib/holder's. */
#ifndef OP_H
#define OP_H

#include <openssl/ssl.h>
#include <stdint.h>

#include "pl_directory.h"
#include "pl_holder.h"
#include "pl_jobstore.h"
#include "pl_loop.h"
#include "pl_proto.h"
#include "pl_service.h"
#include "pl_work.h"

#define OP_NAME "PrinterLogicServiceOfflinePrint"
#define OP_DEFAULT_LISTEN "0.0.0.0:31989"
#define OP_FRAME_MAX (1024u * 1024u) /* one SUBMIT_DATA frame at most */

typedef struct op_conn op_conn_t;

/* Tokens whose last use was reported lately (touch.c). */
#define OP_TOUCH_SLOTS 1024
#define OP_TOUCH_EVERY_MS 60000u
typedef struct {
	char id[PL_DIR_TOKEN_ID_LEN + 1]; /* "" when free */
	uint64_t sent_ms;		  /* pl_now_ms() of the report */
} op_touch_slot_t;

typedef struct {
	/* settings */
	pl_holder_conf_t hconf; /* the held-jobs part, shared by every holder */
	uint64_t max_job_bytes;
	uint32_t client_timeout_ms;
	uint32_t max_clients;
	/* state */
	pl_service_t *svc;
	pl_loop_t *loop;
	SSL_CTX *tls;
	pl_jobstore_t *store;
	pl_dir_t *dir;
	pl_holder_t *holder;
	pl_work_t *disk; /* the holder's: commits queue with its deletes */
	int listen_fd;
	pl_watch_t *listen_w;
	op_conn_t *conns;
	uint32_t nconns;
	int draining;
	uint64_t rate_last_ms;
	uint32_t rate_suppressed;
	op_touch_slot_t touch[OP_TOUCH_SLOTS];
} op_t;

/* conn.c */
int op_conn_listen(op_t *op, int fd);
void op_conn_close_all(op_t *op);
void op_conn_stop_accepting(op_t *op);

/* touch.c. A token that verified: tell plsc-directory it was used (its
 * id only), at most once a minute a token and OP_TOUCH_SLOTS tokens a
 * minute. */
void op_token_used(op_t *op, const char *token);
/* 1 when f is the answer to such a report (logged at debug), else 0. */
int op_touch_answer(const pl_frame_t *f);

#endif
