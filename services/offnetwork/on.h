/* PrinterLogicServiceOffNetworkServer: off-network printing through an
 * External Gateway (issue 17). Two roles. The router (the Internal
 * Routing Service): one persistent wss:// connection out to the gateway,
 * jobs pushed down it are printed at once on a printer named in the
 * directory, or held for release (secure/pull), and each is acknowledged
 * only after the printer took every byte or the job is durably held (or a
 * durable record says it already was). The gateway (gw-*.c): workstations
 * submit to it, routers collect from it, and held jobs' outcomes come back
 * to it in JOB_EVENTs.
 *   main.c     the service definition, configuration, plsc status detail
 *   msg.c      the messages on the WebSocket: one TLV frame a binary
 *              message (proto/PROTOCOL.md §12); decoding is fuzzed
 *              (tests/fuzz/fuzz_offnet_msg.c)
 *   router.c   libwebsockets client inside pl_loop (pl_adapt), TLS
 *              verification, keepalive, reconnect with backoff + jitter,
 *              DNS on a worker
 *   job.c      receiving a job into an anonymous spool file, printing it
 *              on a worker, the "printed" record, the acknowledgement
 *   hold.c     secure/pull jobs (OFFNET_HOLD): held through lib/holder in
 *              our own encrypted job store, for a directory user, exactly
 *              once by the gateway's job id as idempotency key
 *   outbox.c   what became of a held job (printed, deleted, expired...),
 *              told to the gateway in JOB_EVENTs, kept in <state>/outbox
 *              and sent again on every connection until acknowledged
 *   body.c     a job's body fetched over HTTPS with libcurl on a worker
 *              when the gateway offers it (OFFNET_BODY, §12.4), not in
 *              SUBMIT_DATA frames
 *   pin.c      gateway_fingerprint: the pinned SHA-256 of the gateway's
 *              certificate, checked in the TLS handshake
 *   gw-*.c     the gateway role (gw.h), when role is "gateway" */
#ifndef ON_H
#define ON_H

#include <stdatomic.h>
#include <stdint.h>
#include <stddef.h>

#include <openssl/evp.h>

#include "pl_config.h"
#include "pl_directory.h"
#include "pl_holder.h"
#include "pl_jobstore.h"
#include "pl_loop.h"
#include "pl_proto.h"
#include "pl_service.h"
#include "pl_work.h"

#define ON_NAME "PrinterLogicServiceOffNetworkServer"
#define ON_SUBPROTOCOL "plsc-offnet-1"
/* The router's upgrade request says it fetches bodies over HTTPS (§12.4);
 * a gateway that sees it may send SUBMIT_BEGIN with OFFNET_BODY 1. */
#define ON_BODY_HEADER "x-plsc-offnet-body:"
/* One WebSocket message: a TLV frame with at most this much payload. The
 * gateway sends job data in SUBMIT_DATA frames of at most ON_DATA_MAX. */
#define ON_MSG_MAX (256u * 1024u)
#define ON_DATA_MAX (ON_MSG_MAX - 64u)
#define ON_ID_MAX 64 /* a gateway job id: 1..64 of [A-Za-z0-9._:-] */
/* Gateway job ids remembered as printed (job.c): a redelivery comes within
 * minutes, so the newest ON_PRINTED_KEEP are plenty. */
#define ON_PRINTED_KEEP 100000u
/* Held jobs: the job store's workstation and source for every job taken
 * from the gateway (the idempotency key is the gateway's id, unique per
 * owner and workstation). */
#define ON_WORKSTATION "off-network"
#define ON_SOURCE "offnetwork"
/* Outcomes not yet acknowledged by the gateway: at most this many are
 * kept (the oldest is dropped, with a warning, beyond it). */
#define ON_OUTBOX_MAX 10000u

typedef enum {
	ON_M_BEGIN = 1, /* gateway -> router: a job's metadata */
	ON_M_DATA,	/* gateway -> router: the next bytes of the job */
	ON_M_END,	/* gateway -> router: every byte sent */
	ON_M_RESULT,	/* router -> gateway: the job's outcome (the ack) */
	ON_M_EVENT,	/* router -> gateway: later, what became of a held job */
	ON_M_EVENT_ACK, /* gateway -> router: that JOB_EVENT is recorded */
} on_kind_t;

typedef struct {
	on_kind_t kind;
	char id[ON_ID_MAX + 1];
	char printer[128];
	char user[128];
	char title[256];
	char format[128];
	uint64_t size;
	uint8_t hold; /* 1: secure/pull, held for release */
	uint8_t sha256[32];
	int has_sha;
	uint8_t body; /* ON_M_BEGIN: 1 = the body comes over HTTPS (§12.4) */
	const uint8_t *data; /* ON_M_DATA: a view into the message */
	size_t dlen;
	char event[16];	  /* ON_M_RESULT: "printed", "held", "failed";
			     ON_M_EVENT: on_event_valid */
	char reason[256]; /* ON_M_RESULT: why, when failed; ON_M_EVENT: detail */
	uint64_t seq;	  /* ON_M_EVENT, ON_M_EVENT_ACK: the router's number */
	uint64_t time_ms; /* ON_M_EVENT: when it happened (unix ms) */
} on_msg_t;

/* msg.c */
/* Decode one WebSocket message. 0, or -1 with the reason in err. */
int on_msg_decode(const uint8_t *buf, size_t len, on_msg_t *m, pl_err_t *err);
/* 1 when id is a valid gateway job id. */
int on_id_valid(const char *id);
/* Build the RESULT for a job into m (pl_msg_init'ed by the caller). */
int on_msg_result(pl_msg_t *m, const char *id, const char *event, const char *reason);
/* 1 when event is one a JOB_EVENT may carry (PROTOCOL.md §12.1). */
int on_event_valid(const char *event);
/* Build a JOB_EVENT (router -> gateway): printer and detail may be NULL. */
int on_msg_job_event(pl_msg_t *m, uint64_t seq, const char *id, const char *event,
		     uint64_t time_ms, const char *printer, const char *detail);
/* 1 when a JOB_EVENT's seq is one the gateway has recorded already for
 * the job, last (a repeat, or an older one sent again): the same epoch
 * (high 32 bits) and a count not above last's. 0: new (old 0: none yet;
 * another epoch: the router numbers anew, §12.1). */
int on_seq_repeat(uint64_t last, uint64_t seq);
/* Build its acknowledgement (gateway -> router): a RESULT with SEQ. */
int on_msg_event_ack(pl_msg_t *m, uint64_t seq, const char *id);

typedef struct on on_t;
typedef struct on_job on_job_t;

/* A durable record of gateway job ids (job.c): <state>/printed (printed
 * here) and <state>/held (held here), one id a line, appended and synced
 * before the RESULT; the newest ON_PRINTED_KEEP are kept in memory. */
typedef struct {
	char **ids; /* oldest first */
	size_t n, cap;
	int fd;
} on_idrec_t;

/* main.c: a string key of the service's schema into DST (absent: ""). */
int on_cfg_str(const pl_cnode_t *cfg, const char *key, char *dst, size_t size, pl_err_t *err);

/* router.c */
/* libwebsockets' errors and warnings into our log (both roles). */
void on_lws_log(int level, const char *line);
int on_router_start(on_t *on, pl_err_t *err);
void on_router_stop(on_t *on);
/* Queue the acknowledgement of a job; sent when the connection is up
 * (lost with it otherwise: the gateway then delivers the job again). */
void on_router_ack(on_t *on, const char *id, const char *event, const char *reason);
/* Close the connection (a body download failed: the gateway sends the
 * job again on the next one). */
void on_router_drop(on_t *on, const char *why);
/* Queue a finished frame to the gateway: 0, or -1 when not connected. */
int on_router_send(on_t *on, const pl_msg_t *m);
/* The established connection's number (1, 2, ... since start), or 0 while
 * none is (connecting counts as none). */
uint64_t on_router_connection(const on_t *on);

/* job.c */
int on_jobs_open(on_t *on, pl_err_t *err);
void on_jobs_close(on_t *on);
/* A decoded message of the job stream. 0, or -1 (protocol error: the
 * router drops the connection). */
int on_job_message(on_t *on, const on_msg_t *m);
/* The connection dropped: a job being received is discarded. */
void on_job_abort(on_t *on);
size_t on_jobs_in_flight(const on_t *on);
/* Append id to the record and fdatasync it (any thread): 0 or -1. */
int on_idrec_append(on_idrec_t *r, const char *id);

/* hold.c */
/* The job store and lib/holder, whether or not a gateway is configured
 * (held jobs stay releasable). 0, or an exit code with err. */
int on_hold_open(on_t *on, pl_err_t *err);
void on_hold_close(on_t *on);
/* Is a held job with this gateway id (of this user) stored already? 1
 * yes, 0 no, -1 being stored right now (EBUSY). */
int on_hold_known(on_t *on, const char *user, const char *id);
/* Hold the spooled job (fd at any offset, size bytes) on a worker; done
 * runs on the loop with ok and the job store's id or the reason. */
typedef void (*on_hold_done_fn)(void *arg, int ok, const char *job_id, const char *why);
int on_hold_submit(on_t *on, int fd, uint64_t size, const char *id, const char *user,
		   const char *printer, const char *title, const char *format,
		   on_hold_done_fn done, void *arg);

/* outbox.c */
int on_outbox_open(on_t *on, pl_err_t *err);
void on_outbox_close(on_t *on);
/* An outcome of held job id (the gateway's) to tell the gateway: made
 * durable on a worker, then sent (loop thread). */
void on_outbox_add(on_t *on, const char *id, const char *event, const char *printer,
		   const char *detail);
void on_outbox_ack(on_t *on, uint64_t seq);
/* Connected: every outcome not yet acknowledged goes (again). */
void on_outbox_resend(on_t *on);
size_t on_outbox_pending(on_t *on);

/* body.c: one body download (the router fetches it, job.c owns it). */
typedef struct on_body on_body_t;
struct on_body {
	on_t *on;
	char id[ON_ID_MAX + 1];
	int fd;		 /* the spool, written from offset 0 */
	EVP_MD_CTX *md;	 /* fed as the bytes arrive */
	uint64_t size;	 /* announced: more is refused */
	uint64_t epoch;	 /* on->body_epoch when it started */
	uint64_t t0_ms;	 /* when it started (the log's figure) */
	void (*done)(on_body_t *b); /* on the loop */
	void *arg;
	/* the worker's */
	void *h; /* CURL * */
	uint64_t got;
	long http;
	int checked, ok, too_big, pin_ok;
	char why[256];
};
int on_body_open(on_t *on, pl_err_t *err);
void on_body_close(on_t *on);
/* Start fetching b->id (b->fd, b->md, b->size, b->done set): 0 or -1. */
int on_body_fetch(on_t *on, on_body_t *b);

/* pin.c */
/* Parse gateway_fingerprint: 64 hex digits, colons or spaces between
 * allowed. 0, or -1 with err. */
int on_pin_parse(const char *text, uint8_t pin[32], pl_err_t *err);
/* The TLS verify step for one certificate of the chain (libwebsockets'
 * OPENSSL_PERFORM_SERVER_CERT_VERIFICATION: x509_ctx, preverify_ok):
 * 0 accept, 1 refuse. */
int on_pin_verify(on_t *on, void *x509_ctx, int preverify_ok);

/* main.c */
void on_status_note(on_t *on);

typedef struct {
	char url[1024];	   /* wss://host[:port]/path */
	char host[256];	   /* from url */
	int port;
	char path[512];
	char token[512];
	char ca_file[4096];
	char client_cert[4096], client_key[4096];
	uint32_t ping_s, dead_s;
	uint32_t backoff_min_ms, backoff_max_ms;
	uint64_t max_job_bytes;
	uint32_t print_connect_timeout_ms, print_io_timeout_ms;
	char directory_path[4096];
	uint8_t pin[32];     /* gateway_fingerprint */
	int has_pin;
	uint32_t pause_before_result_ms; /* PL_TEST_OFFNET_PAUSE_BEFORE_RESULT */
	int no_body; /* PL_TEST_OFFNET_NO_BODY: not announced (§12.4) */
	uint32_t body_slow_us; /* PL_TEST_OFFNET_BODY_SLOW_US: per block read */
	pl_holder_conf_t hconf;
	int unconfigured; /* no gateway_url/token_file: idle */
} on_conf_t;

struct on {
	on_conf_t conf;
	pl_service_t *svc;
	pl_loop_t *loop;
	pl_dir_t *dir;
	/* router.c */
	void *rt; /* on_router_t */
	/* body.c: bumped when the connection drops, so that a body download
	 * of that connection stops (read by the worker) */
	pl_work_t *body;
	_Atomic uint64_t body_epoch;
	size_t downloading;
	/* job.c */
	on_job_t *rx;	  /* the job being received */
	pl_work_t *print; /* printing, one job at a time, in order */
	on_job_t *queue;  /* jobs handed to it, not yet done */
	size_t in_flight; /* received, not yet acknowledged */
	on_idrec_t printed; /* gateway ids printed here */
	on_idrec_t held;    /* gateway ids held here (hold.c) */
	/* hold.c */
	pl_jobstore_t *store;
	pl_holder_t *holder;
	pl_work_t *hold;
	uint64_t held_total;
	/* outbox.c */
	void *outbox; /* on_outbox_t */
	/* pin.c: the last refusal, for the log line */
	char pin_seen[65];
	/* status */
	int connected;
	pl_timer_t *status_timer;
	uint64_t since_ms; /* wall clock ms of the last connect/disconnect */
	char last_error[256];
	uint64_t printed_total, failed_total;
	int draining;
	/* the gateway role (gw.h); NULL in the router role */
	void *gw;
};

#endif
