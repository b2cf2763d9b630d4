/* The gateway role of PrinterLogicServiceOffNetworkServer (issue 17): the
 * External Gateway a customer hosts on a Service Client.
 *   gw-main.c    settings, start and stop, plsc status, the outcomes
 *                record, per-token rate limits
 *   gw-intake.c  workstations submit over TLS with OfflinePrint's intake
 *                (services/offlineprint/conn.c, limits.c, touch.c, linked
 *                here, changed through op_hooks_t): the §7 wire, so
 *                plsc-submit and the CUPS backend work unchanged; jobs go
 *                into this service's pl_jobstore, encrypted at rest
 *   gw-server.c  libwebsockets as a server inside pl_loop (pl_adapt):
 *                HTTPS + WSS on listen.main; routers authenticate with the
 *                site token before the upgrade; the status query
 *                and the job bodies routers fetch (§12.4), streamed
 *                from the store
 *   gw-push.c    each stored job pushed to one router at a time, deleted
 *                only after its RESULT
 *   gw-outcomes.c the durable record of outcomes and its compaction
 *   gw-expire.c  jobs no router took in time are shredded ("expired")
 *   gw-main.c also records the routers' JOB_EVENTs (what became of a
 *                held job) in the outcomes; gw-server.c acknowledges each
 *                once that record is synced
 *   gw-parse.c   what the server reads from HTTP requests (fuzzed by
 *                tests/fuzz/fuzz_offnet_gw.c); router messages are msg.c's
 * proto/PROTOCOL.md §12 has the wire. */
#ifndef GW_H
#define GW_H

#include <stddef.h>
#include <stdint.h>

#include "on.h"
#include "pl_jobstore.h"

#define GW_MAX_CONNS 64u    /* routers and status queries at once */
#define GW_RATE_SLOTS 1024u /* workstations rate-limited at once */
/* The stored source of a job sent with the hold flag (OFFNET_HOLD 1 on
 * the intake's SUBMIT_BEGIN): pushed with OFFNET_HOLD 1, held at the
 * router for release. */
#define GW_SOURCE_HOLD "offnetwork-hold"

/* gw-parse.c */
/* "Bearer TOKEN" (case-insensitive scheme, one space or more): 1 and the
 * token in tok, else 0. */
int gw_parse_bearer(const char *hdr, char *tok, size_t toksz);
/* "/v1/jobs/ID" with a valid job id (on_id_valid): 1 and the id, else 0. */
int gw_parse_job_path(const char *path, char id[ON_ID_MAX + 1]);
/* "/v1/router/jobs/ID/body" (a router fetching a job's body, §12.4) with
 * a valid job id: 1 and the id, else 0. */
int gw_parse_body_path(const char *path, char id[ON_ID_MAX + 1]);
/* Constant-time comparison of two strings (lengths may differ). */
int gw_token_equal(const char *a, const char *b);
/* A string as a JSON string body (quotes not included), truncated to fit. */
void gw_json_escape(char *dst, size_t dsz, const char *s);

typedef struct {
	char tls_cert[4096], tls_key[4096];
	char site_token[512];
	char directory_path[4096];
	uint64_t max_job_bytes;
	uint32_t rate_jobs_per_min;
	uint64_t rate_bytes_per_min;
	uint32_t ping_s, dead_s;
	/* PL_TEST_OFFNET_GW_PAUSE_BEFORE_ACK (tests only): a JOB_EVENT is
	 * acknowledged this long after its record is synced, so that a test
	 * can kill the gateway in between */
	uint32_t pause_before_ack_ms;
	/* PL_TEST_OFFNET_GW_PAUSE_IN_COMPACT (tests only): compaction waits
	 * this long between its synced temp file and the rename */
	uint32_t pause_in_compact_ms;
	int64_t expiry_ms;	  /* stored jobs; 0: never */
	uint32_t expiry_check_ms; /* how often the sweep runs */
	uint32_t outcomes_keep;
	int64_t outcomes_age_ms;  /* 0: by count only */
} gw_conf_t;

typedef struct {
	char id[PL_JOB_ID_LEN + 1];
	char workstation[128];
	char event[16];
	char reason[200];
	uint64_t seq; /* the router's JOB_EVENT number; 0: the RESULT's */
	int64_t at_ms; /* recorded (wall clock) */
} gw_outcome_t;

/* gw-outcomes.c: the record, in memory as on disk (oldest first) */
typedef struct {
	char path[4200], tmp[4220];
	gw_outcome_t *out;
	size_t n, cap;
	size_t lines;	  /* in the file */
	size_t keep;	  /* compaction keeps the newest keep ids (and more) */
	size_t after;	  /* lines the last compaction kept */
	int64_t age_ms;	  /* and none older than this (0: no limit) */
	int64_t last_age_ms;
	int fd;
	int dirty;	  /* appended since the last fdatasync */
	uint32_t pause_ms; /* test hook, see gw_conf_t */
} gw_oc_t;

/* 1 when a line of id must outlive compaction whatever its age (its job
 * is still stored). */
typedef int (*gw_needed_fn)(void *arg, const char *id);
int gw_oc_open(gw_oc_t *oc, const char *dir, size_t keep, int64_t age_ms, int64_t now_ms,
	       pl_err_t *err);
/* Append o (text fields cleaned of tabs and newlines); sync now or leave
 * that to gw_oc_sync. 0 or -1 with err. */
int gw_oc_append(gw_oc_t *oc, const gw_outcome_t *o, int sync, pl_err_t *err);
int gw_oc_sync(gw_oc_t *oc, pl_err_t *err);
/* The newest line of id, or NULL (valid until the next append). */
const gw_outcome_t *gw_oc_find(const gw_oc_t *oc, const char *id);
/* 1 when the file is over its bound (or old lines are due to go). */
int gw_oc_due(const gw_oc_t *oc, int64_t now_ms);
/* Rewrite the file atomically with what is kept: the lines dropped, or
 * -1 with err (the old file stays the record). */
long gw_oc_compact(gw_oc_t *oc, int64_t now_ms, gw_needed_fn needed, void *arg, pl_err_t *err);
void gw_oc_close(gw_oc_t *oc);
int gw_oc_parse_line(char *line, gw_outcome_t *o);

typedef struct {
	char ws[128]; /* "" when free */
	uint64_t window_ms;
	uint32_t jobs;
	uint64_t bytes;
} gw_rate_t;

typedef struct gw gw_t;
typedef struct gw_conn gw_conn_t;

struct gw {
	on_t *on;
	gw_conf_t conf;
	pl_service_t *svc;
	pl_loop_t *loop;
	pl_dir_t *dir;
	pl_jobstore_t *store;
	void *intake; /* gw-intake.c: the embedded OfflinePrint intake */
	void *srv;    /* gw-server.c */
	gw_oc_t oc; /* outcomes */
	pl_timer_t *expiry_timer;
	gw_rate_t rate[GW_RATE_SLOTS];
	/* status */
	pl_timer_t *status_timer;
	unsigned routers;
	uint64_t pushed, printed, held, failed, refused_rate, expired;
	uint64_t compactions;
	uint64_t events, events_unknown; /* JOB_EVENTs recorded, not ours */
	char last_error[256];
	int draining;
};

/* gw-main.c */
int gw_role(const pl_cnode_t *cfg);
int gw_sandbox(on_t *on, pl_service_t *svc, const pl_cnode_t *cfg, pl_sandbox_t *sb);
int gw_start(on_t *on, pl_service_t *svc, const pl_cnode_t *cfg);
void gw_shutdown(on_t *on);
void gw_stop(on_t *on);
void gw_status_note(gw_t *gw);
void gw_error(gw_t *gw, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Record a job's outcome durably (before the job is deleted). 0 or -1. */
int gw_outcome_add(gw_t *gw, const pl_job_meta_t *m, const char *event, const char *reason);
const gw_outcome_t *gw_outcome_find(const gw_t *gw, const char *id);
/* A router's JOB_EVENT: recorded when the job is ours and the event newer
 * than what is recorded (not synced yet: gw_outcomes_sync before the
 * acknowledgement); a repeat, or a job this gateway does not know, is
 * logged only. 0: acknowledge it; -1: do not (the record failed). */
int gw_event_record(gw_t *gw, const on_msg_t *m);
/* fdatasync what gw_event_record appended. 0 or -1. */
int gw_outcomes_sync(gw_t *gw);
/* Record that job m is being offered to a router, durably, before its
 * first offer (expiry must know that a router may have printed it). 0 or
 * -1 (then it is not offered). */
int gw_outcome_offered(gw_t *gw, const pl_job_meta_t *m);
/* 1 when the status query's state is final (no later change;
 * gw-outcomes.c). */
int gw_state_final(const char *state);
/* Compact the outcomes when due (after an append, and on each sweep). */
void gw_outcomes_tend(gw_t *gw);
/* The rate check of a new job from workstation: PL_STATUS_OK or QUOTA. */
uint32_t gw_rate_admit(gw_t *gw, const pl_job_meta_t *m, char *why, size_t n);

/* gw-intake.c */
int gw_intake_start(gw_t *gw, int listen_fd, pl_err_t *err);
void gw_intake_stop_accepting(gw_t *gw);
size_t gw_intake_pending(gw_t *gw);
void gw_intake_free(gw_t *gw);

/* gw-server.c */
int gw_server_start(gw_t *gw, int listen_fd, pl_err_t *err);
void gw_server_stop(gw_t *gw);
/* A job was stored: idle routers take it. */
void gw_server_kick(gw_t *gw);
/* 1 when job id is on its way on a router connection (offered, being
 * fetched or awaiting its RESULT). */
int gw_server_busy(gw_t *gw, const char *id);

/* gw-expire.c */
void gw_expire_start(gw_t *gw);
void gw_expire_stop(gw_t *gw);
/* 1 when job m is past its expiry (never offered again). */
int gw_expire_due(const gw_t *gw, const pl_job_meta_t *m, int64_t now_ms);

/* gw-push.c: one router connection's job stream. */
typedef struct {
	int active; /* a job on its way or awaiting its RESULT */
	int stage;  /* GW_P_BEGIN, _DATA, _END, _WAIT */
	int body;   /* the router fetches bodies over HTTPS (§12.4): BEGIN
		       with OFFNET_BODY 1, then straight to _WAIT */
	pl_job_meta_t meta;
	pl_jobr_t *r;
	uint64_t sent;
} gw_push_t;
enum { GW_P_BEGIN, GW_P_DATA, GW_P_END, GW_P_WAIT };

/* 1 when a job with id is on its way on some connection. */
typedef int (*gw_busy_fn)(void *arg, const char *id);
/* The next message of p into buf (LWS_PRE bytes before it are free), at
 * most cap bytes: its length; 0 nothing to send (idle or waiting for the
 * RESULT); -1 error (the connection is dropped, the job stays). Picks the
 * oldest job not busy elsewhere when idle. */
long gw_push_next(gw_t *gw, gw_push_t *p, uint8_t *buf, size_t cap, gw_busy_fn busy,
		  void *arg);
/* A decoded message from the router: 0, or -1 (protocol error). */
int gw_push_result(gw_t *gw, gw_push_t *p, const on_msg_t *m);
/* The connection dropped: the job stays for the next one. */
void gw_push_abort(gw_push_t *p);

#endif
