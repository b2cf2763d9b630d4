/* snmp_poll: many printers polled at once over SNMP with net-snmp's
 * asynchronous single sessions, inside the service's pl_loop through the
 * "set + timeout" adapter (pl_adapt.h).
 *
 * At most `window` printers are in flight at once (one session, one UDP
 * socket each); the rest wait in a queue. A printer's poll is a short
 * conversation: (v3 only) an engine-ID probe, a GET of the scalars, then
 * GETBULK (v1: GETNEXT) walks of the supplies and alert columns, each
 * step bounded by the printer's timeout and retries, the walk by a number
 * of requests. Read-only: no SET is ever built.
 *
 * Answers are matched by request id (v3: message id) by net-snmp, and by
 * source address by the kernel: each session's socket is connect()ed to
 * the printer's address, so a datagram from any other address or port
 * never reaches net-snmp.
 *
 * v3 keys: Ku (the passphrase hashed over a megabyte, milliseconds each)
 * is computed once per profile (sp_profile_keys) and handed to every
 * session, which only localises it to the agent's engine ID. */
#ifndef SNMP_POLL_H
#define SNMP_POLL_H

#include <stddef.h>
#include <stdint.h>

#include "decode.h"
#include "pl_loop.h"

#define SP_NAME_MAX 64
#define SP_SECRET_MAX 128
#define SP_KEY_MAX 64

typedef struct {
	char name[SP_NAME_MAX];
	int version; /* 1, 2 (v2c) or 3 */
	char community[SP_SECRET_MAX];
	/* v3 */
	char user[SP_NAME_MAX];
	int level; /* 2 authNoPriv, 3 authPriv */
	int auth;  /* 1 SHA-1, 224, 256, 384, 512 (SHA-2) */
	int priv;  /* 1 AES-128 */
	char auth_pass[SP_SECRET_MAX], priv_pass[SP_SECRET_MAX];
	unsigned char ku_auth[SP_KEY_MAX], ku_priv[SP_KEY_MAX];
	size_t ku_auth_len, ku_priv_len;
} sp_profile_t;

/* Compute the profile's Ku keys and wipe its passphrases. 0, or -1 with
 * why (a passphrase under 8 characters, an unknown protocol). */
int sp_profile_keys(sp_profile_t *p, char *why, size_t whysz);

enum {
	SP_OK = 0,
	SP_NO_ANSWER, /* nothing came back within timeout x (retries + 1) */
	SP_AUTH,      /* v3: the agent refused our credentials */
	SP_ERROR,     /* anything else (bad address, cannot open) */
};

typedef struct sp_target sp_target_t;
struct sp_target {
	/* in */
	char name[128];
	char host[256]; /* IPv4, IPv6 or a name (resolved when opened) */
	unsigned port;
	long timeout_ms;
	int retries;
	const sp_profile_t *prof;
	void *user;
	/* out */
	int outcome;
	char why[160];
	sd_state_t st;
	uint64_t took_ms;
	/* private to poll.c */
	void *sess;
	int fd, phase, nreq, done, step, answered;
	size_t nonrep; /* scalars leading the next GETBULK */
	uint64_t started_ms, deadline_ms;
	uint32_t cursor[SD_NCOLUMNS][SD_OID_MAX];
	size_t cursor_len[SD_NCOLUMNS];
	unsigned char walking[SD_NCOLUMNS];
	sp_target_t *next;
};

typedef struct sp_poll sp_poll_t;
typedef void (*sp_done_fn)(sp_target_t *t, void *arg);

/* net-snmp set up once a process: no config files, no MIBs, nothing
 * persisted (persist_dir is only named, never written). */
void sp_global_init(const char *persist_dir);

sp_poll_t *sp_new(pl_loop_t *loop, size_t window, sp_done_fn done, void *arg);
/* Queue t (the caller owns it until done(t) has been called). */
void sp_submit(sp_poll_t *p, sp_target_t *t);
/* Printers queued or in flight. */
size_t sp_busy(const sp_poll_t *p);
/* Closes every session; targets in flight are not reported. */
void sp_free(sp_poll_t *p);

#endif
