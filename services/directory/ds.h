/* plsc-directory: the directory's one writer (README "Running as root").
 *   main.c  the service definition, settings, sandbox, the worker pool,
 *           routed DIR_WRITE requests in and RESULT answers out
 *   op.c    one request: read from its frame, carried out on a worker,
 *           answered (tests/unit/test_dirsvc.c drives it directly)
 * Services that face the network (the web console, later IdentitySync,
 * the services that hold jobs) only read the directory; each change they
 * want travels as a DIR_WRITE through the supervisor, whose allow-list
 * names who may ask, and op.c which operations each may ask for. */
#ifndef DS_H
#define DS_H

#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "pl_directory.h"
#include "pl_proto.h"

#define DS_NAME "plsc-directory"
/* The only sender (FROM) of the token and administrator operations: the
 * console's configured name, which the supervisor gives the console role
 * (supervisor/policy.c). IdentitySync may send DIR_WRITE too, but never
 * these. */
#define DS_CONSOLE "plsc-console"
/* The services that hold jobs (the holder role of supervisor/policy.c,
 * which names them the same way) may send one operation and no other:
 * token-used, the last use of a workstation token they verified on
 * their read-only directory. Nobody else may send it. */
#define DS_OP_TOKEN_USED "token-used"
#define DS_HOLDERS                                                        \
	{ "PrinterLogicServiceOfflinePrint", "PrinterLogicServiceEmail", \
	  "PrinterLogicServiceAirprint" }
/* IdentitySync (the identity role of supervisor/policy.c) may send one
 * operation and no other: sync-apply, a batch of changes to the users it
 * syncs, in parts (sync.c). Nobody else may send it. */
#define DS_IDENTITY "PrinterLogicServiceIdentitySync"
#define DS_OP_SYNC "sync-apply"
/* A batch's text staged across parts, at most this much. */
#define DS_SYNC_MAX (256u * 1024u * 1024u)

/* A streamed batch with no part for this long is rolled back (its sender
 * died or hung: the write lock it holds must not stay taken). IdentitySync
 * sends a part, empty if need be, at least every 10 s while it reads. */
#define DS_SYNC_IDLE_MS 60000

/* The parts of the batch being received (one at a time: the sender waits
 * for each part's answer before the next). Shared by the pool's threads.
 * A batch is either staged (text, applied whole at its last part) or,
 * when its source has no synced user yet (a first sync), streamed: each
 * part applied at once inside one transaction on sdir, committed at the
 * last part (pl_dir_sync_stream_begin). */
typedef struct {
	pthread_mutex_t mu;
	char id[128];	    /* the batch's NAME */
	uint32_t next_part; /* the LINE expected next; 0: none in progress */
	char *text;
	size_t len, cap;
	/* streaming (path "": never; unit tests of the staging) */
	char path[PATH_MAX];
	pl_dir_t *sdir;	 /* the stream's own connection, opened at the first */
	int streaming;	 /* read without mu by other requests (__atomic) */
	char source[16];
	uint64_t last_ms; /* the last part's time */
	pl_dir_sync_counts_t counts;
	json_t *errors; /* refused items so far */
	int checkpoint_due; /* a stream committed (__atomic): ds_stage_checkpoint */
} ds_stage_t;

/* The largest record body a request carries (the console's own limit on
 * a JSON body is 64 KiB); a CSV part may use the whole frame. */
#define DS_BODY_MAX (64u * 1024u)
/* Per-line import errors listed in one answer, in bytes of JSON: the
 * answer must fit a channel frame (1 MiB); lines beyond it are counted
 * in "failed" but not listed. */
#define DS_ERRORS_MAX (256u * 1024u)

typedef struct {
	uint32_t seq;
	char from[128];  /* the asking service (FROM, stamped by the supervisor) */
	char admin[128]; /* the person behind it (USER), "" when none */
	char op[32];
	char name[128];	 /* NAME: the record a put, pin-set or delete is about */
	char *payload;	 /* PAYLOAD: a JSON body, or CSV text (users-import) */
	size_t len;
	uint32_t first_line; /* LINE: where a CSV part begins (1: the file); a sync part's number */
	uint8_t more;	     /* MORE: sync-apply parts follow */
	char source[16];     /* SOURCE: sync-apply's identity source ("ldap" when absent) */
	ds_stage_t *stage;   /* sync-apply's staging (NULL: refused) */
	json_t *sync_result; /* sync-apply: counts and errors, the answer's PAYLOAD */
	/* the outcome */
	uint32_t status; /* pl_status_t */
	char msg[512];
	char token[PL_TOKEN_MAX]; /* token-create: the secret, for the answer only */
	char token_id[16];	  /* token-create: its id (NAME in the answer) */
	long imported, failed;
	json_t *errors; /* users-import: [{line, message}] */
	size_t errors_bytes;
} ds_req_t;

/* The request in frame f (a DIR_WRITE routed to us): never NULL but for
 * lack of memory. A request that cannot be carried out (no OP, a field
 * too long) comes back with status PL_STATUS_BADREQ already set. */
ds_req_t *ds_req_parse(const pl_frame_t *f);
/* Carry it out against d (a worker thread: scrypt, imports). Unknown
 * operations and bad records end in PL_STATUS_BADREQ; a record that is
 * missing in PL_STATUS_NOTFOUND; one that exists in PL_STATUS_CONFLICT. */
void ds_req_run(ds_req_t *q, pl_dir_t *d);
/* The RESULT answer (PL_FLAG_REPLY, q's seq, PL_FLAG_ERROR on failure),
 * addressed to q->from, into m (initialised here). 0 or -1. */
int ds_req_reply(const ds_req_t *q, pl_msg_t *m);
/* The log line of a finished request (no secrets: PINs, passwords and
 * tokens never appear). */
void ds_req_log(const ds_req_t *q);
void ds_req_free(ds_req_t *q);

/* sync.c: sync-apply (q->from already checked to be IdentitySync). */
void ds_sync_run(ds_req_t *q, pl_dir_t *d);
/* path: the directory, for the stream's own connection; NULL: batches
 * are always staged. */
void ds_stage_init(ds_stage_t *st, const char *path);
void ds_stage_free(ds_stage_t *st);
/* Is a streamed batch open (SQLite's write lock held)? Other writes are
 * answered BUSY meanwhile. */
int ds_stage_streaming(ds_stage_t *st);
/* Roll back a streamed batch idle for DS_SYNC_IDLE_MS (the loop's timer;
 * never waits for a part being applied). 1 when one was rolled back
 * (its id into id), else 0. */
int ds_stage_expire(ds_stage_t *st, uint64_t now_ms, char *id, size_t idsz);
/* After a streamed batch's answer went (checkpoint_due): its WAL copied
 * back into the database (pl_dir_sync_stream_checkpoint), on a worker. */
void ds_stage_checkpoint(ds_stage_t *st);

#endif
