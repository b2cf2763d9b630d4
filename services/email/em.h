/* PrinterLogicServiceEmail: users print by sending mail to a mailbox.
 *   main.c     the service definition, settings, the holder, status
 *   conf.c     the section read into em_conf_t (shared with --test)
 *   tls.c      TCP + TLS with OpenSSL (CA and host name, or a pinned
 *              fingerprint), lent to libetpan as a mailstream driver:
 *              Debian's libetpan does TLS with GnuTLS and verifies nothing
 *   imap.c     the IMAP thread: connect, log in, IDLE or poll, fetch, move
 *   state.c    what survives a crash: UIDVALIDITY, the last UID handled,
 *              a direct print in progress, guests' daily counts
 *   decide.c   one message: who sent it, to which printer, in which mode
 *   handle.c   one message: convert, hold or print, reject, notify
 *   notice.c   notices to the sender over SMTP (libcurl)
 *   check.c    --test: log in, look at the folders, say what is wrong
 * Listing, release, delete, expiry and job events are lib/holder's. */
#ifndef EM_H
#define EM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "pl_directory.h"
#include "pl_holder.h"
#include "pl_jobstore.h"
#include "pl_mail.h"
#include "pl_service.h"

#define EM_NAME "PrinterLogicServiceEmail"
#define EM_WORKSTATION "email" /* the held job's workstation: its source */

enum { EM_SEC_TLS = 0, EM_SEC_STARTTLS = 1 };
enum { EM_AUTH_LOGIN = 0, EM_AUTH_XOAUTH2 = 1 };

typedef struct {
	pl_holder_conf_t hconf;
	char host[256];
	int port;
	int security; /* EM_SEC_* */
	int auth;     /* EM_AUTH_* */
	char user[256];
	char password_file[4096];
	char token_file[4096];
	char ca_file[4096];     /* "": the system's CAs */
	char fingerprint[128];  /* "": verify by CA and name */
	char tls_name[256];
	uint32_t timeout_ms;
	char mailbox[256];
	char printed[256]; /* "": flag and expunge */
	char rejected[256];
	uint32_t idle_renew_ms;
	uint32_t poll_ms;
	uint32_t reconnect_max_ms;
	char authserv[256]; /* "": the check is off */
	int require_auth;
	char direct_domain[256];
	pl_mail_opts_t mopts;
	uint32_t guest_max_pages;
	uint32_t guest_max_per_day;
	/* notices */
	int notices;
	char smtp_host[256];
	int smtp_port;
	int smtp_security; /* EM_SEC_* */
	char smtp_user[256];
	char smtp_password_file[4096];
	char smtp_ca_file[4096];
	char smtp_from[321];
	/* test hooks (ms): PL_TEST_EMAIL_PAUSE_BEFORE_RECORD (the job is
	 * durable or printed, the UID not yet recorded) and
	 * PL_TEST_EMAIL_PAUSE_BEFORE_MOVE (recorded, not yet moved): they
	 * make the windows a kill -9 must be safe in hittable */
	uint32_t pause_before_record_ms;
	uint32_t pause_before_move_ms;
} em_conf_t;

/* conf.c: 0, or -1 with err. */
int em_conf_read(em_conf_t *c, const pl_cnode_t *cfg, const char *state_dir,
		 pl_err_t *err);

/* ---- tls.c: a connected stream for libetpan ---- */
typedef struct em_conn em_conn_t;
/* Connect to host:port within timeout_ms; with tls, handshake and verify
 * at once (implicit TLS). NULL with err. */
em_conn_t *em_conn_open(const em_conf_t *c, int tls, int wake_fd, pl_err_t *err);
/* STARTTLS: handshake and verify on the connected socket. */
int em_conn_starttls(em_conn_t *k, pl_err_t *err);
/* The libetpan stream over it, which owns k from then on (mailstream_close
 * frees it); NULL (k freed) when out of memory. */
struct _mailstream *em_conn_stream(em_conn_t *k);
int em_conn_fd(const em_conn_t *k);
/* The reads from now on may bring at most bytes (0: no bound); beyond
 * them a read fails, and libetpan sees the connection lost. */
void em_conn_budget(em_conn_t *k, uint64_t bytes);
/* Bytes OpenSSL holds already decrypted. */
int em_conn_pending(const em_conn_t *k);

/* ---- state.c ---- */
typedef struct {
	/* which mailbox the UIDs are of: a hash of user, host and folder, so
	 * that a configuration naming another mailbox starts afresh even if
	 * its UIDVALIDITY happened to be the same */
	uint32_t mbox;
	uint32_t uidvalidity;
	uint32_t last_uid;  /* every message up to it is done */
	uint32_t printing;  /* a direct/guest print of this UID began */
	char last_dest[16]; /* "printed" or "rejected": last_uid's folder */
} em_state_t;

/* 0 (a missing file is an empty state), -1 with err. */
int em_state_load(const char *state_dir, em_state_t *s, pl_err_t *err);
/* The mbox hash of a configuration. */
uint32_t em_state_mbox(const em_conf_t *c);
/* Durable before it returns (tmp, fsync, rename, fsync dir). */
int em_state_save(const char *state_dir, const em_state_t *s, pl_err_t *err);
/* The guest counter of sender for today: count a message (durably),
 * unless max are counted already: 1 counted, 0 over the limit, -1 err. */
int em_guest_take(const char *state_dir, const char *sender, uint32_t max,
		  pl_err_t *err);

/* ---- the service ---- */
typedef struct em em_t;

typedef struct {
	uint64_t held, printed, rejected, failed;
} em_counts_t;

struct em {
	em_conf_t conf;
	pl_service_t *svc;
	pl_loop_t *loop;
	pl_jobstore_t *store;
	pl_dir_t *dir;
	pl_holder_t *holder;
	pl_watchdog_t *wd;
	pthread_t thread;
	int thread_started;
	int wake_fd; /* eventfd: stop the IMAP thread's waits */
	atomic_int stop;
	int stopped; /* stop() ran: posts still queued do nothing */
	/* written by the IMAP thread only, read by it for status lines */
	em_counts_t counts;
	char state_word[32]; /* "connecting", "idle", "polling", ... */
	char last_error[256];
	int64_t last_check_ms;
};

/* imap.c */
int em_imap_start(em_t *em, pl_err_t *err);
void em_imap_stop(em_t *em);
/* The IMAP thread tells the loop what to show in plsc status. */
void em_status_post(em_t *em);

/* One fetched message, as handle.c sees it. */
typedef struct {
	uint32_t uid;
	uint32_t uidvalidity;
	const uint8_t *data;
	size_t len;
} em_msg_t;

/* What became of a message: where it goes. */
typedef enum { EM_DONE_PRINTED = 0, EM_DONE_REJECTED = 1, EM_DONE_RETRY = 2 } em_done_t;

/* handle.c: decide, convert, hold or print, or reject; the IMAP thread
 * then records the UID and moves the message. state is the durable state
 * (a direct print records its start there). RETRY: an error of ours
 * (disk, cannot fork): leave the message, try again later. */
em_done_t em_handle(em_t *em, const em_msg_t *m, em_state_t *state);

/* decide.c */
typedef enum { EM_MODE_REJECT, EM_MODE_HOLD, EM_MODE_DIRECT, EM_MODE_GUEST } em_mode_t;
typedef struct {
	em_mode_t mode;
	char user[128];		 /* the known sender (HOLD, DIRECT; GUEST maybe) */
	pl_dir_printer_t printer; /* DIRECT, GUEST */
	char reason[512];	 /* REJECT */
} em_decision_t;
/* -1: an error of ours (the directory), err set. */
int em_decide(em_t *em, const pl_mail_head_t *h, em_decision_t *d, pl_err_t *err);

/* notice.c: tell sender (a known user) what happened; logged, never fatal. */
void em_notice(em_t *em, const char *to, const char *subject, const char *text);

/* Post a job event to the loop (any thread). */
void em_event(em_t *em, const char *event, const pl_job_meta_t *m, const char *detail);

/* check.c: --test, for plsc email test. Exit code. */
int em_check(const char *config_file);
/* imap.c: log in and look at the folders, printing each finding. 0 or 1. */
int em_imap_check(const em_conf_t *c);

#endif
