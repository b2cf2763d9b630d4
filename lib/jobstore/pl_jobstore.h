/* pl_jobstore: held print jobs, encrypted at rest (DESIGN.md §5).
 *
 * One file per job in the owning service's jobs directory. Data is
 * AES-256-GCM in fixed-size chunks, each with its own nonce and tag; the
 * chunk index and a "final" flag are authenticated, so bit flips,
 * truncation, reordering and splicing are all detected. Every job has a
 * random data key, wrapped (AES-256-GCM) by the service's master key
 * (a 0600 file; the store refuses a key file readable by others).
 * Metadata (owner, title, ...) is encrypted and authenticated with the
 * same data key. Deleting a job overwrites its wrapped key and fsyncs
 * before unlinking (crypto-shred). A job is durable before commit
 * returns: the job file is written under its final name, unreadable to
 * its owner until sealed, then made 0600 and fsynced once; the directory
 * fsync is shared by concurrent commits.
 *
 * Releases are exactly-once across crashes: a claim is recorded (and
 * fsynced) in <dir>/release.journal before a byte goes out, and each job
 * the printer took is marked printed at once. After a crash, a job that
 * was claimed but not marked is held again as maybe-printed; it is then
 * printed only by a claim that asks for it (PL_JS_CLAIM_REPRINT), never
 * by a badge swipe or "most recent". A printed job is never offered
 * again, shredded or not.
 *
 * Thread safety: the index is protected by a mutex; a writer or reader
 * handle is used by one thread at a time. */
#ifndef PL_JOBSTORE_H
#define PL_JOBSTORE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "pl_config.h" /* pl_err_t */

#define PL_JOB_ID_LEN 32 /* hex characters of a 128-bit random id */
#define PL_JOB_KEY_MAX 64 /* an idempotency key: 1..64 of [A-Za-z0-9._:-] */
#define PL_JOB_OPTS_MAX 255 /* print options (pl_jobw_options) */

typedef struct {
	char id[PL_JOB_ID_LEN + 1];
	char owner[128];
	char workstation[128];
	char title[256];
	char printer[128]; /* "" = pull printing: released at any printer */
	char format[64];   /* MIME document-format, e.g. application/pdf */
	char page_size[32];
	char source[32];   /* the service that took the job */
	uint32_t pages;	    /* 0 = unknown (PL_PAGES_UNKNOWN in pl_docinfo.h) */
	uint64_t size;      /* plaintext bytes */
	int64_t created_ms; /* unix epoch, milliseconds */
	int64_t expires_ms;
	uint8_t sha256[32]; /* of the plaintext */
	/* The submitter's name for this submission ("" = none): a second
	 * begin with the same key, owner and workstation finds this job
	 * instead of holding another (pl_jobstore_find_key). */
	char idem_key[PL_JOB_KEY_MAX + 1];
	/* Not 0: a release of this job was cut off (the holder died, or the
	 * printer stopped answering) after bytes had gone out, at this time:
	 * it may have printed. Kept in the release journal, not sealed. */
	int64_t maybe_printed_ms;
} pl_job_meta_t;

typedef struct {
	const char *dir;	    /* jobs directory (created 0700) */
	const char *master_key;	    /* key file path (created 0600) */
	uint64_t expiry_ms;	    /* default 24 h */
	uint64_t quota_user_bytes;  /* 0 = unlimited */
	uint64_t quota_total_bytes; /* 0 = unlimited */
	uint32_t chunk_size;	    /* default 64 KiB */
	int verify_on_open;	    /* also check every data chunk at open */
} pl_jobstore_opts_t;

typedef struct pl_jobstore pl_jobstore_t;
typedef struct pl_jobw pl_jobw_t;
typedef struct pl_jobr pl_jobr_t;

/* Error classes for callers that answer clients (pl_err_t has the text). */
typedef enum {
	PL_JS_OK = 0,
	PL_JS_EIO = -1,	     /* disk error (incl. disk full: "no space left") */
	PL_JS_EQUOTA = -2,   /* per-user or total quota exceeded */
	PL_JS_ECORRUPT = -3, /* authentication failed / truncated / bad file */
	PL_JS_ENOENT = -4,   /* no such job */
	PL_JS_EINVAL = -5,   /* bad argument (size mismatch, sha mismatch, ...) */
	PL_JS_EKEY = -6,     /* master key missing, unreadable or too open */
	PL_JS_EBUSY = -7,    /* the job is being released; or (begin) a job
				with the same idempotency key is being stored */
	PL_JS_ENOSPACE = -8, /* begin: the file system has no room for the job */
	PL_JS_EEXIST = -9,   /* begin: a job with this idempotency key is held */
	PL_JS_EMAYBE = -10,  /* may have printed already: claim with REPRINT */
} pl_js_err_t;

/* Open (creating the directory and master key on first use). Recovery:
 * uploads that never committed (job files still unreadable to their
 * owner, temp files of earlier versions) are removed; every committed
 * job is indexed (its
 * header, wrapped key, trailer and metadata authenticated; with
 * verify_on_open every data chunk too); a file that fails that is renamed
 * <name>.corrupt, left for the administrator, and counted. Close only
 * after every writer and reader is done. */
int pl_jobstore_open(pl_jobstore_t **js, const pl_jobstore_opts_t *o,
		     pl_err_t *err);
void pl_jobstore_close(pl_jobstore_t *js);
/* Number of files found corrupt (and moved aside) by open. */
unsigned pl_jobstore_corrupt_count(const pl_jobstore_t *js);

/* Start a job. meta->size is the announced size, checked against quotas
 * now (in-flight uploads count), against the free space of the file
 * system (ENOSPACE: the whole job file would not fit now; concurrent
 * uploads are not subtracted, so one may still meet a full disk) and
 * against the bytes written at commit. id, created_ms and expires_ms are
 * assigned. owner must not be empty; strings must be UTF-8. With an
 * idempotency key that a held job of the same owner and workstation has,
 * EEXIST (nothing started); that a job being stored has, EBUSY: checked
 * with the reservation, so of two begins with one key only one stores. */
int pl_jobstore_begin(pl_jobstore_t *js, const pl_job_meta_t *meta,
		      pl_jobw_t **w, pl_err_t *err);
/* Bytes beyond the announced size are refused (EINVAL). Any failure ends
 * the job at once (job file removed, quota returned); later calls repeat
 * the error, and w must still be freed by commit or abort. */
int pl_jobw_write(pl_jobw_t *w, const void *p, size_t n, pl_err_t *err);
/* The same, but the n bytes at p are lent rather than copied: they must
 * stay unchanged until pl_jobw_settle(w, *ticket), commit or abort
 * returns (a ticket of 0 needs no settling). A large job's SHA-256 is then
 * computed on a thread of the writer's own, beside the caller's reading
 * and the sealing, which reads p in place. */
int pl_jobw_write_lent(pl_jobw_t *w, const void *p, size_t n,
		       uint64_t *ticket, pl_err_t *err);
/* Wait until the bytes lent with ticket (and all before) are read. */
void pl_jobw_settle(pl_jobw_t *w, uint64_t ticket);
/* What the data turned out to be, learnt while it passed (the metadata
 * is sealed at commit, after the data): a NULL or "" string leaves that
 * field as begin had it. EINVAL for a string too long or not UTF-8. */
int pl_jobw_describe(pl_jobw_t *w, const char *format, uint32_t pages,
		     const char *page_size, pl_err_t *err);
/* Print options for the printer (pl_print_opts_t.options: "name=value"
 * pairs, spaces between), sealed with the metadata at commit; the store
 * keeps them opaque: printable ASCII, at most PL_JOB_OPTS_MAX bytes, else
 * EINVAL. They are read back only by a reader (pl_jobr_options): not in
 * pl_job_meta_t, the index or its cache, which stay as small as before.
 * A job without any, and every job stored before options existed, reads
 * back "". */
int pl_jobw_options(pl_jobw_t *w, const char *options, pl_err_t *err);
/* Seal, fsync and index. If sha256 is not NULL it must match the
 * plaintext. sync_dir = 1 also makes the directory entry durable first,
 * with pl_jobstore_sync_dir (group commit); with 0 the caller must call
 * that before acknowledging. On success fills *out (if not NULL) and
 * frees w; on failure removes the job file and frees w. */
int pl_jobw_commit(pl_jobw_t *w, const uint8_t *sha256, int sync_dir,
		   pl_job_meta_t *out, pl_err_t *err);
void pl_jobw_abort(pl_jobw_t *w);
int pl_jobstore_sync_dir(pl_jobstore_t *js, pl_err_t *err);

/* The held job (claimed ones too) of owner and workstation that was
 * begun with idempotency key: 1 and its id in id (PL_JOB_ID_LEN + 1
 * bytes), PL_JS_EBUSY when such a job is still being stored, 0 when
 * none. The keys live in the jobs' metadata, so they survive restarts
 * and go with the job (released, deleted or expired). */
int pl_jobstore_find_key(pl_jobstore_t *js, const char *owner,
			 const char *workstation, const char *key, char *id);
/* Held jobs, oldest first; owner NULL = all. Caller frees *out. */
int pl_jobstore_list(pl_jobstore_t *js, const char *owner,
		     pl_job_meta_t **out, size_t *n);
/* One page of a listing of held jobs (those on offer, as
 * pl_jobstore_list), in the order of pl_jobpage.h: by created_ms, then
 * id; oldest first, or newest first. */
typedef struct {
	const char *owner;	/* NULL: every owner's */
	int newest_first;
	const char *after_id;	/* with after_ms, the cursor: the page starts */
	int64_t after_ms;	/* strictly after it; NULL or "": at the start */
	size_t limit;		/* at most this many jobs in the page */
	/* NULL, or 0 leaves a job out of the listing (every page). Called
	 * with the store's lock held, for every job on offer (of owner):
	 * cheap, and no calls into the store. */
	int (*keep)(const pl_job_meta_t *m, void *arg);
	void *keep_arg;
} pl_jobstore_page_t;

typedef struct {
	size_t total; /* jobs in the whole listing (kept), every page */
	int more;     /* jobs follow this page */
} pl_jobstore_page_info_t;

/* One pass over owner's jobs (or all), copying only the page: O(n log
 * limit). Caller frees *out. PL_JS_OK or PL_JS_EIO (memory). */
int pl_jobstore_list_page(pl_jobstore_t *js, const pl_jobstore_page_t *q,
			  pl_job_meta_t **out, size_t *n,
			  pl_jobstore_page_info_t *info);
int pl_jobstore_get(pl_jobstore_t *js, const char *id, pl_job_meta_t *out);
/* Take a job for release: it leaves listings and expiry, and a second
 * claim gets EBUSY, so two swipes cannot print it twice. The claim is
 * durable when this returns (EIO, not claimed, when it cannot be made
 * so). A maybe-printed job gives EMAYBE unless flags has
 * PL_JS_CLAIM_REPRINT. The releaser then calls printed (the printer took
 * every byte) and later deletes it, or unclaims it. */
#define PL_JS_CLAIM_REPRINT 1u
int pl_jobstore_claim(pl_jobstore_t *js, const char *id, unsigned flags,
		      pl_job_meta_t *out, pl_err_t *err);
/* claim in two steps, so that the releaser can verify the job and connect
 * to the printer while the claim's journal record is made durable: hold
 * takes the job as claim does (EBUSY, EMAYBE, ENOENT alike) and records
 * nothing; commit records it (EIO: handed back, as claim's failure), and
 * must return before a byte goes out. A held claim ends with commit,
 * unclaim(js, id, 0) or set_aside. */
int pl_jobstore_claim_hold(pl_jobstore_t *js, const char *id, unsigned flags,
			   pl_job_meta_t *out, pl_err_t *err);
int pl_jobstore_claim_commit(pl_jobstore_t *js, const char *id, pl_err_t *err);
/* Hand a claimed job back. bytes_out: some of it reached a printer that
 * did not confirm it, so it is held again as maybe-printed. */
void pl_jobstore_unclaim(pl_jobstore_t *js, const char *id, int bytes_out);
/* The printer took every byte: never offered again, even after a crash
 * before the delete that follows. */
int pl_jobstore_printed(pl_jobstore_t *js, const char *id, pl_err_t *err);
/* Releases that a crash interrupted, found by open (those jobs are now
 * maybe-printed): the caller takes the array (free it) and the count. */
size_t pl_jobstore_take_interrupted(pl_jobstore_t *js,
				    char (**ids)[PL_JOB_ID_LEN + 1]);
/* Printed before a crash and shredded by open. */
unsigned pl_jobstore_printed_at_open(const pl_jobstore_t *js);

/* Save the start-up index cache (<dir>/index.cache: every job's metadata,
 * sealed under the master key) when at least min_changes jobs came or went
 * since the last save: 1 saved, 0 not needed, <0 error. Close saves it
 * too. A call while another save runs returns 0. */
int pl_jobstore_save_index(pl_jobstore_t *js, uint64_t min_changes, pl_err_t *err);
/* How many jobs open took from the index cache, not from their files. */
size_t pl_jobstore_opened_from_cache(const pl_jobstore_t *js);

/* Check every chunk of one job (what a release does before printing):
 * PL_JS_OK, ECORRUPT, ENOENT or EIO. */
int pl_jobstore_verify(pl_jobstore_t *js, const char *id, pl_err_t *err);
/* A damaged job leaves the index and goes aside as <id>.job.corrupt for
 * the administrator, so it never again stands in front of its owner's
 * other jobs. */
int pl_jobstore_set_aside(pl_jobstore_t *js, const char *id, pl_err_t *err);

int pl_jobstore_read_open(pl_jobstore_t *js, const char *id, pl_jobr_t **r,
			  pl_err_t *err);
/* Check every chunk of the job and its SHA-256, then open it for reading
 * from the start (a release verifies first, so a damaged job never sends
 * a byte to a printer). A job of up to 1 MiB is decrypted once, into
 * memory, and the reads hand out exactly the bytes that were checked
 * (cleansed at close); a larger one is decrypted again as it is read, and
 * those reads authenticate again: a file changed between the passes
 * fails the read, never passes unchecked. ECORRUPT when the job is
 * damaged; no reader is returned then. */
int pl_jobstore_read_verified(pl_jobstore_t *js, const char *id, pl_jobr_t **r,
			      pl_err_t *err);
/* The job's print options as pl_jobw_options sealed them ("" if none). */
const char *pl_jobr_options(const pl_jobr_t *r);
/* >0 bytes, 0 at the authenticated end, <0 error (ECORRUPT on tamper;
 * EINVAL for n == 0). Errors are sticky. */
ssize_t pl_jobr_read(pl_jobr_t *r, void *buf, size_t n, pl_err_t *err);
/* Before the first read: the reads skip the data's SHA-256, for a caller
 * that checks it itself (the off-network gateway serving a body, which
 * the router hashes before printing). Every chunk is still
 * authenticated, in order, up to the final record and the trailer, so a
 * changed, reordered or cut file still fails the read. */
void pl_jobr_skip_digest(pl_jobr_t *r);
void pl_jobr_close(pl_jobr_t *r);

/* Crypto-shred and remove (claimed or not). Concurrent deletes share
 * their directory fsyncs. */
int pl_jobstore_delete(pl_jobstore_t *js, const char *id, pl_err_t *err);
/* Crypto-shred and remove n jobs, as many deletes would, with one
 * directory fsync for them all (each wrapped key is still overwritten and
 * synced before its name goes). rcs[i] is job i's result, as
 * pl_jobstore_delete's (ENOENT: gone already); err has the first failure
 * other than ENOENT. Returns how many were shredded. */
size_t pl_jobstore_delete_batch(pl_jobstore_t *js, const char (*ids)[PL_JOB_ID_LEN + 1],
				size_t n, int *rcs, pl_err_t *err);
/* Shred every job whose expires_ms <= now_ms; returns how many, or the
 * first error (<0, err set) when a delete failed (the others are still
 * tried). */
int pl_jobstore_expire(pl_jobstore_t *js, int64_t now_ms, pl_err_t *err);
/* Up to max jobs whose expires_ms <= now_ms and that no release holds,
 * for a caller that records something for each before it deletes it: one
 * pass under the lock copying only those, not a listing of every job. */
int pl_jobstore_list_due(pl_jobstore_t *js, int64_t now_ms, size_t max,
			 pl_job_meta_t **out, size_t *n);
/* Bytes of committed jobs: of one owner, or of all when owner is NULL. */
uint64_t pl_jobstore_bytes(pl_jobstore_t *js, const char *owner);
/* Committed jobs (held, or claimed by a release not yet done): of one
 * owner, or of all when owner is NULL. Kept with the index: no pass. */
size_t pl_jobstore_count(pl_jobstore_t *js, const char *owner);

#endif
