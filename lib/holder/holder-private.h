/* pl_holder internals, shared by holder.c, holder-release.c and
 * holder-events.c. */
#ifndef HOLDER_PRIVATE_H
#define HOLDER_PRIVATE_H

#include "pl_holder.h"

/* A printed job waiting for its shred (holder-release.c). */
typedef struct {
	char id[PL_JOB_ID_LEN + 1];
	char owner[sizeof(((pl_job_meta_t *)0)->owner)]; /* for a failure's log line */
} holder_shred_t;

struct pl_holder {
	pl_loop_t *loop;
	pl_jobstore_t *store;
	pl_dir_t *dir;
	pl_holder_send_fn send;
	void *send_arg;
	int events;
	void (*event_hook)(void *arg, const char *event, const pl_job_meta_t *m,
			   const char *detail);
	void *event_arg;
	pl_holder_conf_t conf;
	pl_work_t *disk;  /* commits, deletes, expiry */
	pl_work_t *print; /* releases: one printer conversation each */
	pl_work_t *shred; /* printed jobs, shredded at low priority */
	pl_timer_t *expiry_timer;
	/* printed jobs waiting to be shredded in one batch (loop thread) */
	holder_shred_t *shreds;
	size_t nshreds, cap_shreds;
	int shredding;	 /* a batch is on the shred pool */
	int closing;	 /* pl_holder_free: shred at once, on this thread */
	pl_timer_t *shred_timer;
};

/* Queue a frame to the supervisor (a failure is logged). */
void holder_send(pl_holder_t *h, const pl_msg_t *m);

/* holder-query.c */
void holder_query(pl_holder_t *h, const pl_frame_t *f);
/* A u8 flag field: 1 is on; absent, malformed or anything else is off,
 * so a mangled override never widens a release. */
int holder_flag_on(const pl_frame_t *f, uint16_t tag);
/* Secure print: a pull job (no printer) prints anywhere, a secure job
 * only at its own printer. */
int holder_releasable_at(const pl_job_meta_t *j, const char *printer);

/* The newest of user's held jobs a most-recent release may print:
 * releasable at `at` ("": anywhere, the administrator's override), not
 * maybe-printed; the jobs passed over are counted as JOBS_QUERY's NEWEST
 * counts them. 1 with its id (PL_JOB_ID_LEN + 1 bytes), 0 when none, -1
 * out of memory. Safe on any thread (the store locks). */
int holder_newest(pl_holder_t *h, const char *user, const char *at, char *id,
		  uint32_t *elsewhere, uint32_t *maybe);

/* holder-release.c */
void holder_release(pl_holder_t *h, const pl_frame_t *f);
void holder_delete(pl_holder_t *h, const pl_frame_t *f);
/* Shred the printed jobs waiting now, and from now on each at once (the
 * holder is closing; the print pool has finished). */
void holder_shred_flush(pl_holder_t *h);

#endif
