/* jobstore internals shared by jobstore.c (the store: index, quotas,
 * writers, readers) and jobstore-crypto.c (the on-disk format, its
 * cryptography, the master key and the metadata encoding).
 *
 * File <dir>/<id>.job, every integer big-endian:
 *
 *   off  len  header (80 bytes)
 *     0    8  magic "PLJOB\0v1"
 *     8    4  u32 format version (1)
 *    12    4  u32 chunk size (plaintext bytes of a full data chunk)
 *    16    4  nonce prefix (random per job)
 *    20   12  wrap nonce (random)                \  the wrapped data key:
 *    32   32  data key, AES-256-GCM ciphertext    > overwritten with random
 *    64   16  wrap tag                           /  bytes on delete
 *             wrap AAD = header bytes 0..19 || id (32 ASCII hex)
 *    80       data records, then the metadata record:
 *               u32 n (plaintext length) || ciphertext (n) || tag (16)
 *               nonce = prefix || u64 index, AAD = id || u64 index || u8 final
 *             data records: index 0, 1, ...; final = 0; every one holds a
 *             full chunk except the last, which holds 1..chunk size bytes
 *             (a zero-length job has none); the metadata record (JSON)
 *             follows with the next index and final = 1
 *   end-12    trailer: u32 metadata record length (4 + n + 16) ||
 *             "PLJOBEND"
 *
 * The data region's length therefore fixes the metadata record's index,
 * and the metadata's size fixes the data region's length: a reader finds
 * the metadata from the end, and any removed, added, reordered or
 * foreign record breaks a tag. */
#ifndef PL_JOBSTORE_PRIVATE_H
#define PL_JOBSTORE_PRIVATE_H

#include <openssl/evp.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "pl_jobstore.h"

#define PL_JS_MAGIC "PLJOB\0v1"
#define PL_JS_MAGIC_LEN 8
#define PL_JS_END_MAGIC "PLJOBEND"
#define PL_JS_VERSION 1u

#define PL_JS_KEY_LEN 32
#define PL_JS_NONCE_LEN 12
#define PL_JS_PREFIX_LEN 4
#define PL_JS_TAG_LEN 16

#define PL_JS_OFF_VERSION 8
#define PL_JS_OFF_CHUNK 12
#define PL_JS_OFF_PREFIX 16
#define PL_JS_OFF_WRAP 20 /* the wrapped key: nonce || ciphertext || tag */
#define PL_JS_WRAP_LEN (PL_JS_NONCE_LEN + PL_JS_KEY_LEN + PL_JS_TAG_LEN)
#define PL_JS_HDR_LEN (PL_JS_OFF_WRAP + PL_JS_WRAP_LEN) /* 80 */

#define PL_JS_REC_OVERHEAD (4 + PL_JS_TAG_LEN)
#define PL_JS_TRAILER_LEN 12
/* Metadata is a few hundred bytes; worst-case escaping of every string
 * field stays under 6 KiB, so this bounds a reader's allocation. */
#define PL_JS_META_MAX 16384u

/* Jobs up to this size are read whole into memory by
 * pl_jobstore_read_verified, decrypted and authenticated once: the
 * printer gets the bytes that were checked (a badge swipe's job is
 * usually far smaller). Larger ones take two streaming passes. */
#define PL_JS_MEM_MAX (1024u * 1024u)

#define PL_JS_CHUNK_MIN 16u
#define PL_JS_CHUNK_MAX (16u * 1024 * 1024)
#define PL_JS_CHUNK_DEFAULT (64u * 1024)

/* One job's records: a GCM context keyed once with the data key; each
 * record only sets its nonce. */
typedef struct {
	EVP_CIPHER_CTX *ctx;
	uint8_t prefix[PL_JS_PREFIX_LEN];
	char id[PL_JOB_ID_LEN + 1];
	int enc;
} pl_jsc_aead_t;

/* Set err (if not NULL) and return code, so callers can
 * `return pl_js_fail(err, PL_JS_EINVAL, ...)`. */
int pl_js_fail(pl_err_t *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static inline void pl_js_put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline uint32_t pl_js_get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static inline void pl_js_put_u64(uint8_t *p, uint64_t v)
{
	pl_js_put_u32(p, (uint32_t)(v >> 32));
	pl_js_put_u32(p + 4, (uint32_t)v);
}

/* ---- jobstore-crypto.c ---- */


/* Fill hdr with a fresh nonce prefix and data key wrapped by mkey;
 * dkey receives the data key (the caller cleanses it). 0 or -1. */
int pl_jsc_header_make(const uint8_t *mkey, const char *id,
		       uint32_t chunk_size, uint8_t *hdr, uint8_t *dkey);
/* Check the magic and version and unwrap the data key (which
 * authenticates the whole header). PL_JS_OK or PL_JS_ECORRUPT. */
int pl_jsc_header_open(const uint8_t *mkey, const char *id,
		       const uint8_t *hdr, uint8_t *dkey,
		       uint32_t *chunk_size, pl_err_t *err);

int pl_jsc_aead_init(pl_jsc_aead_t *a, const uint8_t *dkey,
		     const uint8_t *prefix, const char *id, int enc);
void pl_jsc_aead_free(pl_jsc_aead_t *a);
/* Encrypt n bytes into rec = u32 n || ciphertext || tag. 0 or -1. */
int pl_jsc_seal(pl_jsc_aead_t *a, uint64_t idx, int final,
		const uint8_t *pt, uint32_t n, uint8_t *rec);
/* Decrypt body = ciphertext (n) || tag into pt. 0, or -1 when the tag
 * does not verify (pt is then cleansed: nothing unauthenticated leaks). */
int pl_jsc_open(pl_jsc_aead_t *a, uint64_t idx, int final,
		const uint8_t *body, uint32_t n, uint8_t *pt);

/* Load the master key, creating it (0600) when the file does not exist.
 * PL_JS_OK, PL_JS_EKEY or PL_JS_EIO. */
int pl_jsc_master_load(const char *path, uint8_t *key, pl_err_t *err);

/* Metadata as compact JSON. encode: PL_JS_OK or PL_JS_EINVAL (a string
 * that is not UTF-8, or too long). decode: 0 or -1. opts: the job's print
 * options (pl_jobw_options), an optional key: NULL or "" writes none, and
 * decode gives "" for a file without (every file before they existed);
 * decode's opts may be NULL (osz > PL_JOB_OPTS_MAX otherwise). */
int pl_jsc_meta_encode(const pl_job_meta_t *m, const char *opts, uint8_t *buf,
		       size_t cap, size_t *len, pl_err_t *err);
int pl_jsc_meta_decode(const uint8_t *buf, size_t len, pl_job_meta_t *m,
		       char *opts, size_t osz);

/* ---- jobstore-hash.c: a writer's SHA-256 on its own thread ---- */

#define PL_JSH_QUEUE 8 /* lent pieces in flight; the caller waits beyond */

typedef struct {
	EVP_MD_CTX *md; /* the writer's: the thread's alone until stopped */
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv; /* queued, hashed or stopping */
	struct {
		const uint8_t *p;
		size_t n;
	} q[PL_JSH_QUEUE];
	unsigned head, len;
	uint64_t queued, done; /* tickets: pieces pushed, pieces hashed */
	int running, stop, drain, failed;
	int wb_fd;		/* writeback to start, when wb_len != 0 */
	uint64_t wb_off, wb_len;
} pl_jsh_t;

/* Start the thread that hashes into md. 0, or -1 (then hash inline). */
int pl_jsh_start(pl_jsh_t *h, EVP_MD_CTX *md);
/* Queue n bytes at p, which stay unchanged until the returned ticket is
 * settled; waits while PL_JSH_QUEUE pieces are queued. */
uint64_t pl_jsh_push(pl_jsh_t *h, const uint8_t *p, size_t n);
/* Wait until the piece of ticket (and every one before it) is hashed. */
void pl_jsh_settle(pl_jsh_t *h, uint64_t ticket);
/* Start writeback of len bytes of fd at off (sync_file_range) on the
 * thread too: it may wait for a busy disk, the caller should not. A range
 * not yet started is merged with the new one. fd stays open until stop. */
void pl_jsh_writeback(pl_jsh_t *h, int fd, uint64_t off, uint64_t len);
/* End the thread: with drain, after hashing everything queued (then md
 * holds the whole digest so far); without, after the piece at hand. No
 * lent buffer is read after this returns. 0, or -1 when an update failed
 * (or, with drain, did not happen). A no-op when never started. */
int pl_jsh_stop(pl_jsh_t *h, int drain);

/* ---- jobstore-journal.c: the release journal ---- */

typedef struct {
	char dir[4096], path[4096 + 32];
	int fd, inited;
	int broken;	      /* a torn append could not be cut off */
	uint64_t size;
	pthread_mutex_t mu;   /* appends and rewrites */
	pthread_mutex_t sync_mu; /* group commit of fdatasyncs */
	pthread_cond_t sync_cv;
	uint64_t sync_asked, sync_done;
	int sync_busy, sync_errno;
} pl_jsj_t;

typedef void (*pl_jsj_apply_fn)(void *arg, char type, const char *id, int64_t ms);
/* Fill *buf (malloc'ed) with whole records (pl_jsj_record); 0 or -1. */
typedef int (*pl_jsj_emit_fn)(void *arg, char **buf, size_t *n);

#define PL_JSJ_REC_LEN (1 + 1 + PL_JOB_ID_LEN + 1 + 16 + 1)

int pl_jsj_open(pl_jsj_t *j, const char *dir, pl_err_t *err);
void pl_jsj_close(pl_jsj_t *j);
int pl_jsj_replay(pl_jsj_t *j, pl_jsj_apply_fn apply, void *arg,
		  uint64_t *dropped, pl_err_t *err);
/* type is C, P, M or U; with sync the record is durable on return. */
int pl_jsj_append(pl_jsj_t *j, char type, const char *id, int64_t ms,
		  int sync, pl_err_t *err);
int pl_jsj_rewrite(pl_jsj_t *j, pl_jsj_emit_fn emit, void *arg, pl_err_t *err);
uint64_t pl_jsj_size(pl_jsj_t *j);
/* Format one record into out (PL_JSJ_REC_LEN bytes); returns the length. */
int pl_jsj_record(char *out, char type, const char *id, int64_t ms);

/* ---- jobstore-idmap.c: id -> slot of the index ---- */

typedef struct {
	uint32_t *slot; /* slot numbers into the index array, or UINT32_MAX */
	size_t cap, n;	/* cap: a power of two */
} pl_jsi_t;

void pl_jsi_free(pl_jsi_t *m);
int pl_jsi_reserve(pl_jsi_t *m, const pl_job_meta_t *jobs, size_t n, size_t want);
ssize_t pl_jsi_find(const pl_jsi_t *m, const pl_job_meta_t *jobs, const char *id);
void pl_jsi_put(pl_jsi_t *m, const pl_job_meta_t *jobs, size_t k);
void pl_jsi_del(pl_jsi_t *m, const pl_job_meta_t *jobs, size_t k);
void pl_jsi_move(pl_jsi_t *m, const pl_job_meta_t *jobs, size_t from, size_t to);

/* ---- jobstore-owners.c: owner -> slots and bytes ---- */

typedef struct pl_jso_owner pl_jso_owner_t;
typedef struct {
	pl_jso_owner_t **tab; /* open addressing, at most half full */
	size_t cap, n;
} pl_jso_t;

void pl_jso_free(pl_jso_t *m);
pl_jso_owner_t *pl_jso_get(const pl_jso_t *m, const char *owner);
int pl_jso_add(pl_jso_t *m, const char *owner, uint64_t size, size_t k);
void pl_jso_del(pl_jso_t *m, const char *owner, uint64_t size, size_t k);
void pl_jso_move(pl_jso_t *m, const char *owner, size_t from, size_t to);
uint64_t pl_jso_bytes(const pl_jso_owner_t *o);
size_t pl_jso_slots(const pl_jso_owner_t *o, const uint32_t **slots);

/* ---- jobstore-cache.c: the start-up index cache ---- */

#define PL_JSX_NAME "index.cache"
#define PL_JSX_TMP_NAME ".tmp-index.cache" /* removed by recovery if left */

/* One entry's encoding, at most PL_JSX_ENTRY_MAX bytes; its length. */
#define PL_JSX_ENTRY_MAX 1100
size_t pl_jsx_encode(const pl_job_meta_t *m, uint64_t ino, uint8_t *out);
/* Seal the encoded entries pt[0..n) into the cache file (a new salt and
 * key), replacing it. PL_JS_OK or PL_JS_EIO. */
int pl_jsx_write(const char *dir, const uint8_t *mkey, const uint8_t *pt,
		 size_t n, pl_err_t *err);
/* The loaded cache: the jobs it knew, their inodes, an id map over them. */
typedef struct {
	pl_job_meta_t *meta;
	uint64_t *ino;
	size_t n;
	pl_jsi_t map;
} pl_jsx_t;

/* Load the cache: 0, or -1 when there is none usable (missing, torn,
 * another key, forged); free it with pl_jsx_free either way. */
int pl_jsx_load(const char *dir, const uint8_t *mkey, pl_jsx_t *c);
void pl_jsx_free(pl_jsx_t *c);
/* Its entry for this job file if it is the same file (the same inode: a
 * committed job file never changes): the index in meta, or -1. */
ssize_t pl_jsx_find(const pl_jsx_t *c, const char *id, uint64_t ino);

/* ---- jobstore-page.c: the first jobs of a listing page ---- */

/* Keeps, of the jobs offered one at a time, the limit first in listing
 * order (a bounded heap): a page of a listing of n jobs costs a pass and
 * O(n log limit), and copies only the page. ids point into the index:
 * used and sorted with the store's lock held. */
typedef struct {
	int64_t ms;
	const char *id;
	uint32_t slot;
} pl_jsp_item_t;

typedef struct {
	pl_jsp_item_t *heap; /* the last kept in order on top */
	size_t n, cap, limit;
	int dir;	/* 1 oldest first, -1 newest first */
	size_t past;	/* jobs offered (past the cursor), kept or not */
	int err;	/* out of memory: the page is incomplete */
} pl_jsp_t;

void pl_jsp_init(pl_jsp_t *p, size_t limit, int newest_first);
void pl_jsp_free(pl_jsp_t *p);
/* Whether (ms, id) comes after the cursor in p's order (no cursor: yes). */
int pl_jsp_past(const pl_jsp_t *p, int64_t ms, const char *id,
		int64_t after_ms, const char *after_id);
void pl_jsp_offer(pl_jsp_t *p, int64_t ms, const char *id, uint32_t slot);
/* The kept jobs, in listing order, in p->heap[0 .. p->n). */
void pl_jsp_sort(pl_jsp_t *p);

#endif
