/* plsc-console: the administrators' web console (README "Web console").
 *   main.c      the service definition, settings, TLS material, start/stop
 *   http.c      libmicrohttpd on our event loop: requests, bodies, limits,
 *               static files, security headers, deferred answers
 *   session.c   sessions, CSRF tokens, the login lock-out table
 *   ctl.c       a non-blocking client of the supervisor's control socket
 *   api.c       /api/v1: login, services, logs, held jobs, history
 *   api-dir.c   /api/v1: users, printers, badge readers, workstation
 *               tokens, console administrators (the directory)
 *   dirw.c      changes to the directory, sent to plsc-directory
 * Everything runs on the service's one event loop except scrypt (logins),
 * which runs on a small worker pool. The console reads the directory; it
 * never writes it (plsc-directory does, DIR_WRITE). */
#ifndef CS_H
#define CS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "pl_directory.h"
#include "pl_ctlclient.h"
#include "pl_loop.h"
#include "pl_proto.h"
#include "pl_service.h"
#include "pl_work.h"

#define CS_NAME "plsc-console"
#define CS_DEFAULT_LISTEN "127.0.0.1:8443"
#define CS_JSON_MAX (64u * 1024u)	  /* a JSON request body */
#define CS_CSV_MAX (1024u * 1024u)	  /* a CSV import */
#define CS_MAX_SESSIONS 256
#define CS_MAX_LOCKS 4096
#define CS_TOKEN_LEN 64 /* 32 random bytes in hex */

typedef struct cs cs_t;
typedef struct cs_req cs_req_t;
typedef struct cs_http cs_http_t;

/* ---- session.c ---- */

typedef struct {
	char token[CS_TOKEN_LEN + 1];
	char csrf[CS_TOKEN_LEN + 1];
	char user[128];
	uint64_t created_ms, used_ms;
	int64_t login_wall_ms; /* unix ms: against the admin's updated_ms */
} cs_session_t;

typedef struct {
	char key[224]; /* "a ADDR", "p ADDR NAME" or "n NAME" */
	uint32_t failures;
	uint32_t inflight; /* password checks under way, counted in advance */
	uint64_t last_ms, locked_until_ms;
} cs_lock_t;

typedef struct {
	cs_session_t sessions[CS_MAX_SESSIONS];
	int nsessions;
	cs_lock_t locks[CS_MAX_LOCKS];
	int nlocks;
	uint64_t idle_ms, max_ms;
	uint32_t max_failures;
	uint64_t lockout_ms;
	uint64_t name_backoff_ms; /* the longest pause for a name (below) */
	/* counters for plsc status */
	uint64_t checked, failed, refused;
} cs_sessions_t;

void cs_sessions_init(cs_sessions_t *s, uint64_t idle_ms, uint64_t max_ms,
		      uint32_t max_failures, uint64_t lockout_ms, uint64_t name_backoff_ms);
/* A new session for user (the oldest goes when the table is full). */
const cs_session_t *cs_session_new(cs_sessions_t *s, const char *user, uint64_t now);
/* The live session of a cookie value, touched; NULL when unknown or
 * expired (*expired set when it was known but too old or idle). */
cs_session_t *cs_session_find(cs_sessions_t *s, const char *token, uint64_t now,
			      int *expired);
void cs_session_end(cs_sessions_t *s, const char *token);
void cs_session_end_user(cs_sessions_t *s, const char *user);
/* After user's password changed: every session of user ends but keep's
 * (a cookie value), which counts as a login from now on. The number
 * ended. */
int cs_session_renew(cs_sessions_t *s, const char *user, const char *keep);
/* Constant-time check of a request's CSRF header. 1 ok. */
int cs_session_csrf_ok(const cs_session_t *se, const char *header);
uint64_t cs_session_expires_in_ms(const cs_sessions_t *s, const cs_session_t *se,
				  uint64_t now);
/* The lock-out, counted three ways, each up to max_failures failures:
 *   - a name from an address: then locked for lockout_ms, doubling with
 *     each further failure (a day at most);
 *   - an address, whatever the names: the same;
 *   - a name, from any address: then not a lock but a pause between
 *     checks, 1 s doubling with each further failure up to
 *     name_backoff_ms, so a burst from elsewhere slows the real
 *     administrator's next try by seconds, never locks it out.
 * A check is counted before the password is: cs_login_begin reserves it
 * in all three, so concurrent attempts never add up past a limit. It
 * returns 0 (go ahead; cs_login_end must follow) or the ms to wait. */
uint64_t cs_login_begin(cs_sessions_t *s, const char *ip, const char *user, uint64_t now);
/* The outcome of a check begun: 1 right (the three are cleared), 0 wrong
 * (a failure in each), -1 not checked (the reservation is given back). */
void cs_login_end(cs_sessions_t *s, const char *ip, const char *user, int result,
		  uint64_t now);

/* Requests to the supervisor: the control-socket client of lib/ctl
 * (pl_ctlclient.h), on the console's loop. */

/* ---- http.c ---- */

struct cs_req {
	cs_t *cs;
	void *conn; /* struct MHD_Connection */
	char method[8];
	char url[1024];
	char ip[64];
	char *body;
	size_t len, cap, limit;
	size_t seen; /* body bytes received, kept or not */
	int too_large;
	int suspended;
	int done; /* an answer is ready */
	int status;
	json_t *answer;		/* JSON to send, or NULL with raw_* below */
	const char *raw_type;	/* a static file */
	const void *raw;
	size_t raw_len;
	char *raw_owned;	/* a generated text (CSV), freed with the request */
	char disposition[160];	/* Content-Disposition, when set */
	char set_cookie[256];
	char retry_after[16];
	/* Checked for /api/v1; valid only until the handler returns (the
	 * session table moves entries): later, use user. */
	cs_session_t *session;
	char user[128];
	/* a deferred answer's own state */
	void *work;
	void (*work_free)(void *);
};

cs_http_t *cs_http_start(cs_t *cs, int listen_fd, const char *cert_pem,
			 const char *key_pem, pl_err_t *err);
void cs_http_stop(cs_http_t *h);
/* Finish a request: JSON answer (taken over) or {"error": msg}. */
void cs_reply(cs_req_t *r, int status, json_t *answer);
void cs_reply_error(cs_req_t *r, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Finish a request with a generated text (taken over, freed with the
 * request) of type, offered as a download named filename (NULL: none).
 * text NULL answers 500 "out of memory". */
void cs_reply_text(cs_req_t *r, int status, const char *type, char *text, size_t len,
		   const char *filename);
/* A handler that returns without calling cs_reply defers its answer:
 * the connection is suspended (no thread waits) until whoever has the
 * answer calls cs_reply, which resumes it. */
/* A query argument ("?lines=50"), NULL when absent. */
const char *cs_req_arg(cs_req_t *r, const char *key);
const char *cs_req_header(cs_req_t *r, const char *name);

/* ---- api.c, api-dir.c ---- */

/* "NAME" or "NAME/sub" of a path into name and *sub ("" or "/sub"); -1
 * when the name is empty or longer than sz - 1. */
int cs_path_split(const char *rest, char *name, size_t sz, const char **sub);
/* The answer to a directory look-up: 0 (found) answers nothing; 1 is 404
 * "no KIND named NAME", -1 is 500 with the error. Returns rc. */
int cs_reply_lookup(cs_req_t *r, int rc, const char *kind, const char *name,
		    const pl_err_t *err);

/* Route one /api/v1 request (the body is complete). */
void cs_api(cs_req_t *r);
/* api-dir.c: the directory part; 1 handled, 0 not its path. */
int cs_api_dir(cs_req_t *r, const char *path);
/* Parse the request body as a JSON object; NULL after answering 400. */
json_t *cs_req_json(cs_req_t *r);
/* Run fn(arg) on the worker pool, then done(arg) on the loop (the
 * request is deferred meanwhile). fn may touch only what arg leads to
 * that nothing on the loop touches meanwhile (r->work). */
void cs_run(cs_req_t *r, void (*fn)(void *), void (*done)(void *), void *arg);

/* ---- dirw.c ---- */

#define CS_DIRW_TO "plsc-directory"
#define CS_DIRW_TIMEOUT_MS 30000u
/* A CSV part: up to CS_CSV_PART_LINES PINs to hash, ~50 ms each. */
#define CS_DIRW_IMPORT_TIMEOUT_MS 120000u
#define CS_CSV_PART (512u * 1024u)
#define CS_CSV_PART_LINES 500u

/* reply: the RESULT (from plsc-directory, or from the supervisor when it
 * could not deliver: no FROM then); NULL with why when none came. */
typedef void (*cs_dirw_cb)(cs_req_t *r, const pl_frame_t *reply, const char *why);
/* Send the DIR_WRITE m (TO set by the caller; seq set and m finished
 * here) for r; cb runs once with the answer. 0, or -1 (not sent, cb will
 * not run). */
int cs_dirw_send(cs_t *cs, pl_msg_t *m, uint32_t timeout_ms, cs_req_t *r, cs_dirw_cb cb);
/* A RESULT routed to us: the waiting request with its seq gets it. */
void cs_dirw_message(cs_t *cs, const pl_frame_t *f);
/* r went away: forget its requests (no callback). */
void cs_dirw_cancel(cs_t *cs, cs_req_t *r);
/* Stopping: every waiting request's callback, with no answer. */
void cs_dirw_free(cs_t *cs);

/* main.c: the login counters changed; plsc status shows them within a
 * second. */
void cs_status_note(cs_t *cs);

/* ---- the console ---- */

struct cs {
	pl_service_t *svc;
	pl_loop_t *loop;
	pl_dir_t *dir;
	pl_work_t *work;
	pl_ctl_t *ctl;
	cs_http_t *http;
	cs_sessions_t sessions;
	struct cs_dirw *dirw; /* DIR_WRITEs waiting for their answer */
	uint32_t dirw_seq;
	/* settings */
	char directory_path[4096];
	/* PrinterLogicServiceSNMP's status file (pl_prstatus.h), read-only;
	 * "" when its folder did not exist at start (no SNMP service). */
	char status_path[4096];
	char assets_dir[4096];
	char control_path[4096];
	uint32_t session_idle_s, session_max_s, login_max_failures, login_lockout_s;
	uint32_t login_name_backoff_s;
	pl_timer_t *status_timer; /* plsc status, at most once a second */
	uint32_t max_connections, max_per_address, request_timeout_s;
	/* static files, loaded at start */
	struct cs_asset {
		char name[128];
		const char *type;
		char *data;
		size_t len;
	} *assets;
	size_t nassets;
};

#endif
