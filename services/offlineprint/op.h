/* PrinterLogicServiceOfflinePrint: held jobs from workstations.
 *   main.c     the service definition, configuration
 *   conn.c     TLS connections on 31989 and the submission protocol
 *   touch.c    a workstation token's last use, reported to plsc-directory
 *   limits.c   who may hold a connection before authenticating, and how
 *              slowly an upload may go (pl_slots rules from the settings)
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
#include "pl_slots.h"
#include "pl_work.h"

#define OP_NAME "PrinterLogicServiceOfflinePrint"
#define OP_DEFAULT_LISTEN "0.0.0.0:31989"
#define OP_FRAME_MAX (1024u * 1024u) /* one SUBMIT_DATA frame at most */
/* A connection not yet authenticated this long is the first closed for a
 * newcomer (oldest first): an honest client finishes TLS and SUBMIT_BEGIN
 * well within it, while a socket that idles or drips bytes is older than
 * this soon enough. Younger ones go at random (pl_slots.h). */
#define OP_EVICT_GRACE_MS 1000u

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
	uint32_t auth_deadline_ms;
	uint32_t max_per_address; /* 0: no cap */
	uint32_t auth_reserve_pct;
	uint32_t min_upload_kib_s; /* 0: no minimum */
	uint32_t upload_window_ms;
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
	pl_slots_t *slots;	/* limits.c */
	uint64_t limit_last_ms; /* its warnings, rate-limited */
	uint32_t limit_suppressed;
	uint64_t slow_uploads;	   /* dropped below min_upload_kib_s */
	pl_timer_t *status_timer; /* plsc status, at most once a second */
	op_touch_slot_t touch[OP_TOUCH_SLOTS];
} op_t;

/* conn.c */
int op_conn_listen(op_t *op, int fd);
void op_conn_close_all(op_t *op);
void op_conn_stop_accepting(op_t *op);

/* limits.c */
/* The pl_slots rules of the settings. */
void op_limits_conf(const op_t *op, pl_slots_conf_t *c);
/* New settings: for newcomers, and new deadlines for every connection
 * not yet authenticated. */
void op_limits_reconfig(op_t *op);
/* The bytes an upload must bring in each upload window; 0: no minimum. */
uint64_t op_upload_min_bytes(const op_t *op);
/* Connections changed: plsc status shows the counts within a second. */
void op_limits_note(op_t *op);
void op_limits_stop(op_t *op);
/* A warning about a refused or dropped connection: under attack there is
 * one a socket, so at most a few a second are logged, then a count. */
void op_limit_warn(op_t *op, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* touch.c. A token that verified: tell plsc-directory it was used (its
 * id only), at most once a minute a token and OP_TOUCH_SLOTS tokens a
 * minute. */
void op_token_used(op_t *op, const char *token);
/* 1 when f is the answer to such a report (logged at debug), else 0. */
int op_touch_answer(const pl_frame_t *f);

#endif
