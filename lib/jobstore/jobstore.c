/* Held jobs, encrypted at rest (DESIGN.md §5): the store's index and
 * quotas, writers, readers, recovery and crypto-shredding. The file format
 * and its cryptography are in jobstore-crypto.c; the layout is described
 * in jobstore-private.h. */
#include "jobstore-private.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "pl_log.h" /* pl_log_now_ms */
#include "pl_random.h"
#include "pl_util.h"

#define EXPIRY_DEFAULT_MS (24ull * 3600 * 1000)
#define EXPIRY_MAX_MS (100ull * 366 * 24 * 3600 * 1000)
/* Temp files of earlier versions, which renamed a finished job into
 * place; recovery still removes them. */
#define TMP_PREFIX ".tmp-"
/* A job file is created unreadable to its owner and made 0600 when the
 * job is sealed, just before the one fsync that makes it durable: a
 * "<id>.job" its owner cannot read is an upload that never committed. */
#define UPLOAD_MODE 0200
#define JOB_MODE 0600
#define JOB_SUFFIX ".job"
#define CORRUPT_SUFFIX ".corrupt"
/* The longest name in the directory: "<id>.job.corrupt". */
#define NAME_MAX_LEN (PL_JOB_ID_LEN + sizeof(JOB_SUFFIX CORRUPT_SUFFIX))

struct pl_jobstore {
	char dir[PATH_MAX];
	uint8_t mkey[PL_JS_KEY_LEN];
	uint64_t expiry_ms, quota_user, quota_total;
	uint32_t chunk_size;
	int verify_on_open;
	unsigned corrupt;	/* set by open only */
	pthread_mutex_t mu;	/* guards everything below */
	pl_job_meta_t *jobs;	/* the index, in no particular order */
	uint8_t *claimed;	/* parallel to jobs: a JS_* release state */
	size_t njobs, cap;
	pl_jsi_t map;		/* id -> slot in jobs */
	pl_jso_t owners;	/* owner -> their slots and bytes */
	pl_jsj_t journal;	/* the release journal (jobstore-journal.c) */
	/* Found by open: releases a crash interrupted (now maybe-printed),
	 * printed jobs it shredded, journal bytes it cut off. */
	char (*interrupted)[PL_JOB_ID_LEN + 1];
	size_t ninterrupted;
	unsigned printed_at_open;
	uint64_t journal_dropped;
	size_t from_cache;	/* jobs open took from the index cache */
	pthread_mutex_t save_mu; /* one index-cache save at a time */
	int mkey_loaded;
	uint64_t changes;	/* index changes, ever */
	uint64_t saved_changes; /* ... when the index cache was last saved */
	uint64_t held;		/* plaintext bytes of the indexed jobs */
	pl_jobw_t *inflight;	/* writers holding a quota reservation */
	size_t ninflight;
	uint64_t reserved;	/* bytes they announced */
	int64_t last_created_ms;
	/* Group commit of directory fsyncs (pl_jobstore_sync_dir). */
	pthread_mutex_t gc_mu;
	pthread_cond_t gc_cv;
	uint64_t gc_asked, gc_done;
	int gc_busy, gc_rc;
	pl_err_t gc_err;
};

#define WRITEBACK_STEP (8u * 1024u * 1024u)
/* Sealed records are gathered and written about a MiB at a time: a large
 * job costs 16 writes a MiB fewer than one per 64 KiB record. */
#define WRITE_BATCH (1024u * 1024u)
/* From this size a job's SHA-256 runs on a thread of its own when its
 * data is lent (pl_jobw_write_lent); smaller jobs hash inline, where a
 * thread would cost more than it saves. */
#define HASH_THREAD_MIN (1024u * 1024u)

/* Release states of an indexed job (js->claimed). JS_HELD: claimed, its
 * journal record not yet written (pl_jobstore_claim_hold). */
enum { JS_OFFERED = 0, JS_CLAIMED = 1, JS_PRINTED = 2, JS_HELD = 3 };

/* The release journal is rewritten when it grows past this. */
#define JOURNAL_REWRITE_BYTES (1024u * 1024u)

struct pl_jobw {
	pl_jobstore_t *js;
	pl_jobw_t *next; /* in js->inflight while reserved */
	int reserved;
	int fd;
	int failed;	 /* once set, the job is dead: the error returned */
	pl_err_t why;	 /* and its text */
	int own_file;	 /* path is ours to remove if the job dies */
	char path[PATH_MAX];
	pl_job_meta_t meta;
	char options[PL_JOB_OPTS_MAX + 1]; /* sealed with meta, not indexed */
	pl_jsc_aead_t aead;
	EVP_MD_CTX *sha;
	uint32_t cs;
	pl_jsh_t hash;	 /* SHA-256 beside the caller (lent writes) */
	uint8_t *pt; /* plaintext: a partial chunk being filled, then the metadata */
	size_t pt_len, pt_cap;
	uint8_t *out; /* header and sealed records not yet written (+ trailer) */
	size_t out_len, out_cap;
	uint64_t written, idx;
	uint64_t file_off, synced_off; /* bytes in the file; started writeback */
};

struct pl_jobr {
	int fd;
	int state; /* 0 reading, 1 at the authenticated end, <0 sticky error */
	pl_err_t why;
	char id[PL_JOB_ID_LEN + 1];
	pl_jsc_aead_t aead;
	EVP_MD_CTX *sha;
	pl_job_meta_t meta;
	char options[PL_JOB_OPTS_MAX + 1];
	uint32_t cs, meta_rec;
	uint64_t fsize, meta_off, nchunks, off, idx, total;
	uint8_t *pt; /* the decrypted chunk being handed out */
	size_t pt_len, pt_pos, pt_cap, pt_hi;
	uint8_t *rec;
	/* A small job read whole by pl_jobstore_read_verified: its plaintext,
	 * already authenticated, handed out from here (and cleansed at close). */
	uint8_t *mem;
	size_t mem_pos;
	int nodigest; /* pl_jobr_skip_digest: the caller checks the SHA-256 */
};

/* ---- errors and small helpers ---- */

int pl_js_fail(pl_err_t *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL) {
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return code;
}

/* A failed system call on path; a full disk gets the words clients and
 * administrators look for. */
static int io_fail(pl_err_t *err, int e, const char *what, const char *path)
{
	if (e == ENOSPC || e == EDQUOT)
		return pl_js_fail(err, PL_JS_EIO, "%s %s: no space left on device%s",
				  what, path, e == EDQUOT ? " (disk quota)" : "");
	return pl_js_fail(err, PL_JS_EIO, "%s %s: %s", what, path, strerror(e));
}

static int copy_err(pl_err_t *dst, const pl_err_t *src, int rc)
{
	if (dst != NULL && dst != src)
		memcpy(dst->msg, src->msg, sizeof(dst->msg));
	return rc;
}

/* "10 MiB", "1.5 GiB", "512 B" */
static const char *fmt_bytes(char *buf, size_t sz, uint64_t v)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB" };
	uint64_t div = 1024;
	size_t u = 0;

	if (v < 1024) {
		snprintf(buf, sz, "%llu B", (unsigned long long)v);
		return buf;
	}
	while (v / div >= 1024 && u + 1 < PL_ARRAY_LEN(units)) {
		div *= 1024;
		u++;
	}
	if (v % div == 0)
		snprintf(buf, sz, "%llu %s", (unsigned long long)(v / div),
			 units[u]);
	else
		snprintf(buf, sz, "%.1f %s", (double)v / (double)div, units[u]);
	return buf;
}

/* Ids name files, so only exactly 32 lowercase hex digits pass: nothing
 * a caller sends can reach another path. */
static int id_valid(const char *id)
{
	if (id == NULL)
		return 0;
	for (size_t i = 0; i < PL_JOB_ID_LEN; i++)
		if (!((id[i] >= '0' && id[i] <= '9') ||
		      (id[i] >= 'a' && id[i] <= 'f')))
			return 0;
	return id[PL_JOB_ID_LEN] == '\0';
}

static void job_path(const pl_jobstore_t *js, const char *id, char *buf)
{
	/* open checked that the directory leaves room for every name. */
	(void)pl_fmt(buf, PATH_MAX, "%s/%s" JOB_SUFFIX, js->dir, id);
}

static int sync_dir(const pl_jobstore_t *js, pl_err_t *err)
{
	int fd = open(js->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || fsync(fd) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return io_fail(err, e, "syncing directory", js->dir);
	}
	close(fd);
	return PL_JS_OK;
}

/* Full-length pread; returns the bytes read (fewer at end of file) or
 * -1 with errno. */
static ssize_t pread_full(int fd, void *buf, size_t n, uint64_t off)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = pread(fd, (uint8_t *)buf + got, n - got,
				  (off_t)(off + got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

static int pwrite_full(int fd, const void *buf, size_t n, uint64_t off)
{
	size_t done = 0;

	while (done < n) {
		ssize_t w = pwrite(fd, (const uint8_t *)buf + done, n - done,
				   (off_t)(off + done));
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		done += (size_t)w;
	}
	return 0;
}

/* Plaintext bytes -> bytes of data records. */
static uint64_t data_region_len(uint64_t size, uint32_t cs)
{
	uint64_t rem = size % cs;

	return size / cs * (cs + PL_JS_REC_OVERHEAD) +
	       (rem ? rem + PL_JS_REC_OVERHEAD : 0);
}

/* ---- the index (every *_locked function runs with js->mu held) ---- */

static ssize_t idx_find_locked(const pl_jobstore_t *js, const char *id)
{
	return pl_jsi_find(&js->map, js->jobs, id);
}

static int idx_grow_locked(pl_jobstore_t *js, size_t want)
{
	pl_job_meta_t *nj;
	uint8_t *nc;
	size_t cap = js->cap ? js->cap : 16;

	if (pl_jsi_reserve(&js->map, js->jobs, js->njobs, want) < 0)
		return -1;
	if (want <= js->cap)
		return 0;
	while (cap < want)
		cap *= 2;
	if ((nc = realloc(js->claimed, cap)) == NULL)
		return -1;
	js->claimed = nc;
	if ((nj = realloc(js->jobs, cap * sizeof(*nj))) == NULL)
		return -1;
	js->jobs = nj;
	js->cap = cap;
	return 0;
}

static int idx_add_locked(pl_jobstore_t *js, const pl_job_meta_t *m)
{
	if (idx_grow_locked(js, js->njobs + 1) < 0)
		return -1;
	if (pl_jso_add(&js->owners, m->owner, m->size, js->njobs) < 0)
		return -1;
	js->claimed[js->njobs] = JS_OFFERED;
	js->jobs[js->njobs] = *m;
	pl_jsi_put(&js->map, js->jobs, js->njobs);
	js->njobs++;
	js->changes++;
	js->held += m->size;
	if (m->created_ms > js->last_created_ms)
		js->last_created_ms = m->created_ms;
	return 0;
}

static void idx_remove_locked(pl_jobstore_t *js, size_t i)
{
	js->held -= js->jobs[i].size;
	js->changes++;
	pl_jsi_del(&js->map, js->jobs, i);
	pl_jso_del(&js->owners, js->jobs[i].owner, js->jobs[i].size, i);
	js->njobs--;
	if (i == js->njobs)
		return;
	pl_jsi_move(&js->map, js->jobs, js->njobs, i);
	pl_jso_move(&js->owners, js->jobs[js->njobs].owner, js->njobs, i);
	js->jobs[i] = js->jobs[js->njobs];
	js->claimed[i] = js->claimed[js->njobs];
}

/* Held by owner: committed jobs and in-flight reservations. */
static uint64_t owner_bytes_locked(const pl_jobstore_t *js, const char *owner)
{
	uint64_t sum = pl_jso_bytes(pl_jso_get(&js->owners, owner));

	for (const pl_jobw_t *w = js->inflight; w != NULL; w = w->next)
		if (strcmp(w->meta.owner, owner) == 0)
			sum += w->meta.size;
	return sum;
}

static int id_known_locked(const pl_jobstore_t *js, const char *id)
{
	if (idx_find_locked(js, id) >= 0)
		return 1;
	for (const pl_jobw_t *w = js->inflight; w != NULL; w = w->next)
		if (strcmp(w->meta.id, id) == 0)
			return 1;
	return 0;
}

/* ---- idempotency keys ---- */

static int key_match(const pl_job_meta_t *m, const char *owner,
		     const char *workstation, const char *key)
{
	return m->idem_key[0] && strcmp(m->idem_key, key) == 0 &&
	       strcmp(m->owner, owner) == 0 &&
	       strcmp(m->workstation, workstation) == 0;
}

/* 1 (id set) for a held job with the key, EBUSY for one being stored,
 * 0 for none. A pass over the owner's jobs (the owner map), rebuilt from
 * the metadata at open. */
static int key_find_locked(const pl_jobstore_t *js, const char *owner,
			   const char *workstation, const char *key, char *id)
{
	const uint32_t *slot;
	size_t n = pl_jso_slots(pl_jso_get(&js->owners, owner), &slot);
	for (size_t k = 0; k < n; k++)
		if (key_match(&js->jobs[slot[k]], owner, workstation, key)) {
			memcpy(id, js->jobs[slot[k]].id, PL_JOB_ID_LEN + 1);
			return 1;
		}
	for (const pl_jobw_t *w = js->inflight; w != NULL; w = w->next)
		if (key_match(&w->meta, owner, workstation, key))
			return PL_JS_EBUSY;
	return 0;
}

/* ---- quotas and reservations ---- */

static int quota_refuse(pl_err_t *err, const char *who, uint64_t held,
			uint64_t limit, uint64_t size)
{
	char h[32], l[32], s[32];

	fmt_bytes(h, sizeof(h), held);
	fmt_bytes(l, sizeof(l), limit);
	fmt_bytes(s, sizeof(s), size);
	return pl_js_fail(err, PL_JS_EQUOTA,
			  "quota exceeded for %s: %s held, limit %s (this job: %s)",
			  who, h, l, s);
}

static int quota_check_locked(const pl_jobstore_t *js, const char *owner,
			      uint64_t size, pl_err_t *err)
{
	char who[160];
	uint64_t held;

	if (js->quota_user != 0) {
		held = owner_bytes_locked(js, owner);
		/* Written so that no sum can overflow. */
		if (size > js->quota_user || held > js->quota_user - size) {
			snprintf(who, sizeof(who), "user %s", owner);
			return quota_refuse(err, who, held, js->quota_user, size);
		}
	}
	if (js->quota_total != 0) {
		held = js->held + js->reserved;
		if (size > js->quota_total || held > js->quota_total - size)
			return quota_refuse(err, "all users", held,
					    js->quota_total, size);
	}
	return PL_JS_OK;
}

static int id_assign_locked(const pl_jobstore_t *js, char *id, pl_err_t *err)
{
	/* 128 random bits never collide in practice; checking is cheap. */
	do {
		if (pl_random_hex(id, PL_JOB_ID_LEN / 2) < 0)
			return pl_js_fail(err, PL_JS_EIO,
					  "no random bytes for a job id");
	} while (id_known_locked(js, id));
	return PL_JS_OK;
}

/* A key already known (held: EEXIST, being stored: EBUSY) starts
 * nothing: its job is the one the caller wants. */
static int key_check_locked(const pl_jobstore_t *js, const pl_job_meta_t *m,
			    pl_err_t *err)
{
	char id[PL_JOB_ID_LEN + 1];
	int rc;

	if (!m->idem_key[0])
		return PL_JS_OK;
	rc = key_find_locked(js, m->owner, m->workstation, m->idem_key, id);
	if (rc == 1)
		return pl_js_fail(err, PL_JS_EEXIST,
				  "job %s has this idempotency key", id);
	if (rc == PL_JS_EBUSY)
		return pl_js_fail(err, PL_JS_EBUSY, "a job with this idempotency "
				  "key is being stored");
	return PL_JS_OK;
}

/* Room on the file system for the whole job file (records, metadata,
 * trailer), now: refused at begin rather than after the upload. Uploads
 * in progress are not subtracted: they may have written part of theirs
 * already, and two that together overrun the disk meet ENOSPC, which
 * ends one of them with the same answer. */
static int space_check(const pl_jobstore_t *js, uint64_t size, pl_err_t *err)
{
	struct statvfs sv;
	char need_s[32], free_s[32];

	if (statvfs(js->dir, &sv) < 0)
		return PL_JS_OK; /* say nothing we do not know; writes will tell */
	uint64_t avail = (uint64_t)sv.f_bavail * sv.f_frsize;
	/* size <= avail first: then the sum cannot overflow. */
	uint64_t need = size > avail ? size
			: PL_JS_HDR_LEN + data_region_len(size, js->chunk_size) +
			  PL_JS_META_MAX + PL_JS_REC_OVERHEAD + PL_JS_TRAILER_LEN;
	if (need <= avail)
		return PL_JS_OK;
	return pl_js_fail(err, PL_JS_ENOSPACE, "not enough free disk space for this job: "
			  "%s needed, %s free", fmt_bytes(need_s, sizeof(need_s), need),
			  fmt_bytes(free_s, sizeof(free_s), avail));
}

/* Check quotas, then hold the announced size until commit or abort, so
 * concurrent uploads cannot together overrun a quota. Also assigns the id
 * and times; created_ms is strictly increasing within a store so "oldest
 * first" and "most recent" are never ties. */
static int writer_reserve(pl_jobw_t *w)
{
	pl_jobstore_t *js = w->js;
	int rc;

	pthread_mutex_lock(&js->mu);
	rc = key_check_locked(js, &w->meta, &w->why);
	if (rc == PL_JS_OK)
		rc = quota_check_locked(js, w->meta.owner, w->meta.size, &w->why);
	if (rc == PL_JS_OK)
		rc = id_assign_locked(js, w->meta.id, &w->why);
	if (rc == PL_JS_OK) {
		int64_t now = pl_log_now_ms();
		if (now <= js->last_created_ms)
			now = js->last_created_ms + 1;
		js->last_created_ms = now;
		w->meta.created_ms = now;
		w->meta.expires_ms = now + (int64_t)js->expiry_ms;
		w->next = js->inflight;
		js->inflight = w;
		js->ninflight++;
		js->reserved += w->meta.size;
		w->reserved = 1;
		/* Room in the index for every upload now, so that commit
		 * does not fail for memory after the file is in place
		 * (failing here is harmless: commit tries again). */
		(void)idx_grow_locked(js, js->njobs + js->ninflight);
	}
	pthread_mutex_unlock(&js->mu);
	return rc;
}

static void writer_release_locked(pl_jobw_t *w)
{
	pl_jobstore_t *js = w->js;

	if (!w->reserved)
		return;
	for (pl_jobw_t **pp = &js->inflight; *pp != NULL; pp = &(*pp)->next)
		if (*pp == w) {
			*pp = w->next;
			break;
		}
	js->ninflight--;
	js->reserved -= w->meta.size;
	w->reserved = 0;
}

/* ---- writing a job ---- */

static int meta_str_ok(const char *s, size_t sz)
{
	return memchr(s, '\0', sz) != NULL;
}

static int meta_check(const pl_job_meta_t *m, pl_err_t *err)
{
	if (m == NULL)
		return pl_js_fail(err, PL_JS_EINVAL, "no job metadata");
	if (!meta_str_ok(m->owner, sizeof(m->owner)) ||
	    !meta_str_ok(m->workstation, sizeof(m->workstation)) ||
	    !meta_str_ok(m->title, sizeof(m->title)) ||
	    !meta_str_ok(m->printer, sizeof(m->printer)) ||
	    !meta_str_ok(m->format, sizeof(m->format)) ||
	    !meta_str_ok(m->page_size, sizeof(m->page_size)) ||
	    !meta_str_ok(m->source, sizeof(m->source)) ||
	    !meta_str_ok(m->idem_key, sizeof(m->idem_key)))
		return pl_js_fail(err, PL_JS_EINVAL,
				  "job metadata has an unterminated string");
	if (m->owner[0] == '\0')
		return pl_js_fail(err, PL_JS_EINVAL,
				  "a held job needs an owner");
	/* The metadata stores the size as a JSON integer (int64). */
	if (m->size > INT64_MAX)
		return pl_js_fail(err, PL_JS_EINVAL, "announced size too large");
	return PL_JS_OK;
}

static void writer_free(pl_jobw_t *w)
{
	(void)pl_jsh_stop(&w->hash, 0); /* before md goes: it may be hashing */
	pl_jsc_aead_free(&w->aead);
	EVP_MD_CTX_free(w->sha);
	if (w->pt != NULL) {
		OPENSSL_cleanse(w->pt, w->pt_cap);
		free(w->pt);
	}
	free(w->out);
	free(w);
}

/* The whole job file as the writer will write it, bounded by what one
 * write gathers; and never less than the largest single piece (a full
 * chunk, or the metadata record with the trailer). */
static size_t writer_out_cap(const pl_jobw_t *w)
{
	uint64_t file = PL_JS_HDR_LEN + data_region_len(w->meta.size, w->cs) +
			PL_JS_META_MAX + PL_JS_REC_OVERHEAD + PL_JS_TRAILER_LEN;
	size_t piece = (w->cs > PL_JS_META_MAX ? w->cs : PL_JS_META_MAX) +
		       PL_JS_REC_OVERHEAD + PL_JS_TRAILER_LEN;
	size_t cap = file < WRITE_BATCH ? (size_t)file : WRITE_BATCH;
	return cap > piece ? cap : piece;
}

static pl_jobw_t *writer_new(pl_jobstore_t *js, const pl_job_meta_t *meta)
{
	pl_jobw_t *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return NULL;
	w->js = js;
	w->fd = -1;
	w->meta = *meta;
	memset(w->meta.id, 0, sizeof(w->meta.id));
	memset(w->meta.sha256, 0, sizeof(w->meta.sha256));
	w->cs = js->chunk_size;
	/* The same buffer later holds the metadata. A small job needs no
	 * room for a full chunk (less to clear, too). */
	w->pt_cap = w->cs < meta->size ? w->cs : (size_t)meta->size;
	if (w->pt_cap < PL_JS_META_MAX)
		w->pt_cap = PL_JS_META_MAX;
	w->pt = malloc(w->pt_cap);
	w->out_cap = writer_out_cap(w);
	w->out = malloc(w->out_cap);
	w->sha = EVP_MD_CTX_new();
	if (w->pt == NULL || w->out == NULL || w->sha == NULL ||
	    EVP_DigestInit_ex(w->sha, EVP_sha256(), NULL) != 1) {
		writer_free(w);
		return NULL;
	}
	return w;
}

/* Fresh data key, header, and the job file itself under its final name
 * (no temp file to rename: one directory change a job, which the fsync
 * at commit and the grouped directory fsync make durable). */
static int writer_create(pl_jobw_t *w)
{
	pl_jobstore_t *js = w->js;
	uint8_t hdr[PL_JS_HDR_LEN], dkey[PL_JS_KEY_LEN];
	int rc = 0;

	job_path(js, w->meta.id, w->path);
	if (pl_jsc_header_make(js->mkey, w->meta.id, w->cs, hdr, dkey) < 0 ||
	    pl_jsc_aead_init(&w->aead, dkey, hdr + PL_JS_OFF_PREFIX,
			     w->meta.id, 1) < 0)
		rc = pl_js_fail(&w->why, PL_JS_EIO,
				"cannot set up encryption for job %s",
				w->meta.id);
	OPENSSL_cleanse(dkey, sizeof(dkey));
	if (rc < 0)
		return rc;
	/* Written with the first records (a small job: all in one write). */
	memcpy(w->out, hdr, sizeof(hdr));
	w->out_len = sizeof(hdr);
	return PL_JS_OK;
}

/* The job file is created at the first write of gathered output, not at
 * begin: a small job's whole output is gathered until commit, so its
 * file is made on the committing thread (a disk worker), not on the
 * caller's event loop. Creating an inode is the costly step on ext4
 * without a journal, where every allocation skips the group's inodes
 * freed in the last 30 s to 5.5 min (make bench [6]: 40-54% of the
 * service's CPU on its loop thread after a burst of deletions). No file
 * during the upload is no job at recovery, as a file without its sealed
 * trailer already was. */
static int writer_open(pl_jobw_t *w)
{
	if (w->fd >= 0)
		return PL_JS_OK;
	w->fd = open(w->path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		     UPLOAD_MODE);
	if (w->fd < 0) /* EEXIST too: not ours to remove */
		return io_fail(&w->why, errno, "creating", w->path);
	w->own_file = 1;
	return PL_JS_OK;
}

/* Undo everything but the memory: the hash thread stops (no lent byte is
 * read after a failure), the job file goes, the quota reservation is
 * returned. */
static int writer_die(pl_jobw_t *w, int rc)
{
	(void)pl_jsh_stop(&w->hash, 0);
	if (w->fd >= 0) {
		close(w->fd);
		w->fd = -1;
	}
	if (w->own_file)
		unlink(w->path);
	w->own_file = 0;
	pthread_mutex_lock(&w->js->mu);
	writer_release_locked(w);
	pthread_mutex_unlock(&w->js->mu);
	OPENSSL_cleanse(w->pt, w->pt_cap);
	w->failed = rc;
	return rc;
}

/* Write what is gathered. */
static int writer_out_flush(pl_jobw_t *w)
{
	int rc;

	if (w->out_len == 0)
		return PL_JS_OK;
	if ((rc = writer_open(w)) < 0)
		return rc;
	if (pl_write_all(w->fd, w->out, w->out_len) < 0)
		return io_fail(&w->why, errno, "writing", w->path);
	w->file_off += w->out_len;
	w->out_len = 0;
	/* Start writeback as we go, so the fsync at commit does not face a
	 * whole large job at once (make bench: intake); on the hash thread
	 * when there is one. Advisory: errors show up at the fsync. */
	if (w->file_off - w->synced_off >= WRITEBACK_STEP) {
		uint64_t len = w->file_off - w->synced_off;
		if (w->hash.running)
			pl_jsh_writeback(&w->hash, w->fd, w->synced_off, len);
		else
			sync_file_range(w->fd, (off64_t)w->synced_off, (off64_t)len,
					SYNC_FILE_RANGE_WRITE);
		w->synced_off = w->file_off;
	}
	return PL_JS_OK;
}

/* Seal n bytes at pt as the next record, straight into the gathered
 * output (written first if the record would not fit). */
static int writer_put_record(pl_jobw_t *w, const uint8_t *pt, size_t n,
			     int final)
{
	size_t len = n + PL_JS_REC_OVERHEAD, room = len + PL_JS_TRAILER_LEN;
	int rc;

	if (w->out_len + room > w->out_cap && (rc = writer_out_flush(w)) < 0)
		return rc;
	uint8_t *rec = w->out + w->out_len;
	if (pl_jsc_seal(&w->aead, w->idx, final, pt, (uint32_t)n, rec) < 0)
		return pl_js_fail(&w->why, PL_JS_EIO,
				  "job %s: encryption failed", w->meta.id);
	if (final) {
		/* The trailer rides in the same write as the record it names. */
		pl_js_put_u32(rec + len, (uint32_t)len);
		memcpy(rec + len + 4, PL_JS_END_MAGIC, 8);
		len += PL_JS_TRAILER_LEN;
	}
	w->idx++;
	w->out_len += len;
	return PL_JS_OK;
}

static int writer_flush(pl_jobw_t *w)
{
	int rc;

	if (w->pt_len == 0)
		return PL_JS_OK;
	rc = writer_put_record(w, w->pt, w->pt_len, 0);
	w->pt_len = 0;
	return rc;
}

/* Seal the data: whole chunks straight from the caller's bytes, only a
 * partial chunk through pt. Data chunks are never final (the metadata
 * record is), so a full chunk can go out at once. */
static int writer_seal_data(pl_jobw_t *w, const uint8_t *p, size_t n)
{
	int rc;

	while (n > 0) {
		size_t k = w->cs - w->pt_len;
		if (k > n)
			k = n;
		if (w->pt_len == 0 && k == w->cs) {
			rc = writer_put_record(w, p, k, 0);
		} else {
			memcpy(w->pt + w->pt_len, p, k);
			w->pt_len += k;
			rc = w->pt_len == w->cs ? writer_flush(w) : PL_JS_OK;
		}
		if (rc < 0)
			return rc;
		w->written += k;
		p += k;
		n -= k;
	}
	return PL_JS_OK;
}

/* The SHA-256 of the data: inline, or (lent bytes of a large job) queued
 * for the writer's hash thread, *ticket saying when p is free again. */
static int writer_hash(pl_jobw_t *w, const uint8_t *p, size_t n, int lent,
		       uint64_t *ticket)
{
	*ticket = 0;
	if (lent && !w->hash.running && w->meta.size >= HASH_THREAD_MIN &&
	    w->written == 0)
		(void)pl_jsh_start(&w->hash, w->sha);
	if (w->hash.running) {
		*ticket = pl_jsh_push(&w->hash, p, n);
		return PL_JS_OK;
	}
	if (EVP_DigestUpdate(w->sha, p, n) != 1)
		return pl_js_fail(&w->why, PL_JS_EIO, "SHA-256 failed");
	return PL_JS_OK;
}

static int writer_append(pl_jobw_t *w, const uint8_t *p, size_t n, int lent,
			 uint64_t *ticket)
{
	int rc;

	*ticket = 0;
	if (n > w->meta.size - w->written)
		return pl_js_fail(&w->why, PL_JS_EINVAL,
				  "write beyond the announced size: announced "
				  "%llu, received %llu",
				  (unsigned long long)w->meta.size,
				  (unsigned long long)(w->written + n));
	if ((rc = writer_hash(w, p, n, lent, ticket)) < 0)
		return rc;
	return writer_seal_data(w, p, n);
}

static int writer_check(pl_jobw_t *w, const uint8_t *sha256)
{
	char want[65], got[65];
	unsigned len;

	if (w->written != w->meta.size)
		return pl_js_fail(&w->why, PL_JS_EINVAL,
				  "size mismatch: announced %llu, received %llu",
				  (unsigned long long)w->meta.size,
				  (unsigned long long)w->written);
	/* The hash thread's last pieces, then the digest is ours again. */
	if (pl_jsh_stop(&w->hash, 1) < 0 ||
	    EVP_DigestFinal_ex(w->sha, w->meta.sha256, &len) != 1)
		return pl_js_fail(&w->why, PL_JS_EIO, "SHA-256 failed");
	if (sha256 != NULL &&
	    CRYPTO_memcmp(sha256, w->meta.sha256, sizeof(w->meta.sha256)) != 0) {
		for (size_t i = 0; i < 32; i++) {
			snprintf(want + 2 * i, 3, "%02x", sha256[i]);
			snprintf(got + 2 * i, 3, "%02x", w->meta.sha256[i]);
		}
		return pl_js_fail(&w->why, PL_JS_EINVAL,
				  "SHA-256 mismatch: announced %s, received %s",
				  want, got);
	}
	return PL_JS_OK;
}

/* Last data chunk, metadata record and trailer, the job's final mode,
 * then one fsync for all of it: after this the file is a complete job. */
static int writer_seal(pl_jobw_t *w, const uint8_t *sha256)
{
	size_t len;
	int rc;

	if ((rc = writer_check(w, sha256)) < 0 || (rc = writer_flush(w)) < 0)
		return rc;
	rc = pl_jsc_meta_encode(&w->meta, w->options, w->pt, w->pt_cap, &len, &w->why);
	if (rc == PL_JS_OK)
		rc = writer_put_record(w, w->pt, len, 1);
	OPENSSL_cleanse(w->pt, w->pt_cap);
	if (rc == PL_JS_OK)
		rc = writer_out_flush(w);
	if (rc < 0)
		return rc;
	if (fchmod(w->fd, JOB_MODE) < 0)
		return io_fail(&w->why, errno, "completing", w->path);
	if (fsync(w->fd) < 0)
		return io_fail(&w->why, errno, "syncing", w->path);
	rc = close(w->fd);
	w->fd = -1;
	if (rc < 0)
		return io_fail(&w->why, errno, "closing", w->path);
	return PL_JS_OK;
}

/* Make the directory entry durable (sharing the fsync with concurrent
 * commits) and index the job. A job whose entry could not be synced is
 * removed again: failure means nothing was stored. */
static int writer_publish(pl_jobw_t *w, int sync)
{
	pl_jobstore_t *js = w->js;
	int rc;

	if (sync && (rc = pl_jobstore_sync_dir(js, &w->why)) < 0)
		return rc; /* writer_die removes the file */
	pthread_mutex_lock(&js->mu);
	writer_release_locked(w);
	rc = idx_add_locked(js, &w->meta);
	pthread_mutex_unlock(&js->mu);
	if (rc < 0)
		return pl_js_fail(&w->why, PL_JS_EIO, "out of memory");
	w->own_file = 0; /* the store's now */
	return PL_JS_OK;
}

int pl_jobstore_begin(pl_jobstore_t *js, const pl_job_meta_t *meta,
		      pl_jobw_t **wp, pl_err_t *err)
{
	pl_jobw_t *w;
	size_t len;
	int rc;

	*wp = NULL;
	if ((rc = meta_check(meta, err)) < 0)
		return rc;
	if ((w = writer_new(js, meta)) == NULL)
		return pl_js_fail(err, PL_JS_EIO, "out of memory");
	/* Encode once now so that bad metadata is refused before any data
	 * is sent, not at commit. */
	rc = pl_jsc_meta_encode(&w->meta, w->options, w->pt, w->pt_cap, &len, &w->why);
	if (rc == PL_JS_OK)
		rc = writer_reserve(w);
	if (rc == PL_JS_OK)
		rc = space_check(js, w->meta.size, &w->why);
	if (rc == PL_JS_OK)
		rc = writer_create(w);
	if (rc < 0) {
		writer_die(w, rc);
		copy_err(err, &w->why, rc);
		writer_free(w);
		return rc;
	}
	*wp = w;
	return PL_JS_OK;
}

static int writer_write(pl_jobw_t *w, const void *p, size_t n, int lent,
			uint64_t *ticket, pl_err_t *err)
{
	int rc;

	*ticket = 0;
	if (w == NULL)
		return pl_js_fail(err, PL_JS_EINVAL, "no job writer");
	if (w->failed)
		return copy_err(err, &w->why, w->failed);
	if ((rc = writer_append(w, p, n, lent, ticket)) < 0)
		return copy_err(err, &w->why, writer_die(w, rc));
	return PL_JS_OK;
}

int pl_jobw_write(pl_jobw_t *w, const void *p, size_t n, pl_err_t *err)
{
	uint64_t ticket;

	return writer_write(w, p, n, 0, &ticket, err);
}

int pl_jobw_write_lent(pl_jobw_t *w, const void *p, size_t n,
		       uint64_t *ticket, pl_err_t *err)
{
	return writer_write(w, p, n, 1, ticket, err);
}

void pl_jobw_settle(pl_jobw_t *w, uint64_t ticket)
{
	if (w != NULL && ticket != 0 && w->hash.running)
		pl_jsh_settle(&w->hash, ticket);
}

int pl_jobw_describe(pl_jobw_t *w, const char *format, uint32_t pages,
		     const char *page_size, pl_err_t *err)
{
	pl_job_meta_t m;

	if (w == NULL)
		return pl_js_fail(err, PL_JS_EINVAL, "no job writer");
	m = w->meta;
	if (format && format[0])
		pl_strlcpy(m.format, format, sizeof(m.format));
	if (page_size && page_size[0])
		pl_strlcpy(m.page_size, page_size, sizeof(m.page_size));
	m.pages = pages;
	if ((format && strlen(format) >= sizeof(m.format)) ||
	    (page_size && strlen(page_size) >= sizeof(m.page_size)))
		return pl_js_fail(err, PL_JS_EINVAL, "document description too long");
	int rc = meta_check(&m, err);
	if (rc == PL_JS_OK)
		w->meta = m;
	return rc;
}

int pl_jobw_options(pl_jobw_t *w, const char *options, pl_err_t *err)
{
	if (w == NULL)
		return pl_js_fail(err, PL_JS_EINVAL, "no job writer");
	size_t n = options ? strlen(options) : 0;
	if (n > PL_JOB_OPTS_MAX)
		return pl_js_fail(err, PL_JS_EINVAL, "print options too long");
	for (size_t i = 0; i < n; i++)
		if (options[i] < 0x20 || options[i] > 0x7e)
			return pl_js_fail(err, PL_JS_EINVAL, "print options must be printable ASCII");
	memcpy(w->options, n ? options : "", n + 1);
	return PL_JS_OK;
}

const char *pl_jobr_options(const pl_jobr_t *r)
{
	return r->options;
}

int pl_jobw_commit(pl_jobw_t *w, const uint8_t *sha256, int sync,
		   pl_job_meta_t *out, pl_err_t *err)
{
	int rc;

	if (w == NULL)
		return pl_js_fail(err, PL_JS_EINVAL, "no job writer");
	rc = w->failed;
	if (rc == PL_JS_OK)
		rc = writer_seal(w, sha256);
	if (rc == PL_JS_OK)
		rc = writer_publish(w, sync);
	if (rc < 0) {
		if (!w->failed)
			writer_die(w, rc);
		copy_err(err, &w->why, rc);
	} else if (out != NULL) {
		*out = w->meta;
	}
	writer_free(w);
	return rc;
}

void pl_jobw_abort(pl_jobw_t *w)
{
	if (w == NULL)
		return;
	if (!w->failed)
		writer_die(w, PL_JS_EINVAL);
	writer_free(w);
}

/* ---- reading a job ---- */

static int reader_fail(pl_jobr_t *r, pl_err_t *err, const char *what)
{
	return pl_js_fail(err, PL_JS_ECORRUPT, "job %s: %s", r->id, what);
}

static int reader_pread(pl_jobr_t *r, void *buf, size_t n, uint64_t off,
			pl_err_t *err)
{
	ssize_t got = pread_full(r->fd, buf, n, off);

	if (got < 0)
		return pl_js_fail(err, PL_JS_EIO, "job %s: read: %s", r->id,
				  strerror(errno));
	if ((size_t)got != n)
		return reader_fail(r, err, "truncated");
	return PL_JS_OK;
}

/* The length field of the record at off (not yet authenticated: only
 * bounds are checked against it). */
static int reader_rec_len(pl_jobr_t *r, uint64_t off, uint32_t *n,
			  pl_err_t *err)
{
	uint8_t b[4];
	int rc = reader_pread(r, b, sizeof(b), off, err);

	*n = pl_js_get_u32(b);
	return rc;
}

/* Read the n-byte record body at off and authenticate it into pt: r->pt
 * (through r->rec), or the job's place in r->mem, where it is read and
 * decrypted in place (mem has room for the last record's tag). */
static int reader_rec_body(pl_jobr_t *r, uint64_t off, uint32_t n,
			   int final, uint8_t *pt, pl_err_t *err)
{
	char what[64];
	uint8_t *ct = pt == r->pt ? r->rec : pt;
	int rc = reader_pread(r, ct, (size_t)n + PL_JS_TAG_LEN, off + 4, err);

	if (rc < 0)
		return rc;
	if (pt == r->pt && n > r->pt_hi)
		r->pt_hi = n; /* what close must cleanse */
	if (pl_jsc_open(&r->aead, r->idx, final, ct, n, pt) < 0) {
		snprintf(what, sizeof(what), "%s %llu failed authentication",
			 final ? "metadata record" : "chunk",
			 (unsigned long long)r->idx);
		return reader_fail(r, err, what);
	}
	return PL_JS_OK;
}

/* The metadata record (index nchunks, final); its plaintext is left in
 * r->pt. */
static int reader_meta_record(pl_jobr_t *r, uint32_t *n, pl_err_t *err)
{
	uint64_t idx = r->idx;
	int rc = reader_rec_len(r, r->meta_off, n, err);

	if (rc < 0)
		return rc;
	if (*n != r->meta_rec - PL_JS_REC_OVERHEAD)
		return reader_fail(r, err, "metadata record length mismatch");
	r->idx = r->nchunks;
	rc = reader_rec_body(r, r->meta_off, *n, 1, r->pt, err);
	r->idx = idx;
	return rc;
}

static int reader_file(pl_jobr_t *r, const char *path, pl_err_t *err)
{
	struct stat st;

	r->fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (r->fd < 0 && errno == ENOENT)
		return pl_js_fail(err, PL_JS_ENOENT, "no job %s", r->id);
	if (r->fd < 0 && errno == ELOOP)
		return reader_fail(r, err, "not a regular file");
	if (r->fd < 0 || fstat(r->fd, &st) < 0)
		return pl_js_fail(err, PL_JS_EIO, "job %s: open %s: %s", r->id,
				  path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return reader_fail(r, err, "not a regular file");
	r->fsize = (uint64_t)st.st_size;
	if (r->fsize < PL_JS_HDR_LEN + PL_JS_REC_OVERHEAD + 1 + PL_JS_TRAILER_LEN)
		return reader_fail(r, err, "truncated");
	return PL_JS_OK;
}

static int reader_header(pl_jobr_t *r, const uint8_t *mkey, pl_err_t *err)
{
	uint8_t hdr[PL_JS_HDR_LEN], dkey[PL_JS_KEY_LEN];
	int rc = reader_pread(r, hdr, sizeof(hdr), 0, err);

	if (rc == PL_JS_OK)
		rc = pl_jsc_header_open(mkey, r->id, hdr, dkey, &r->cs, err);
	if (rc < 0)
		return rc;
	/* Authenticated, but still bounds what we allocate. */
	if (r->cs < PL_JS_CHUNK_MIN || r->cs > PL_JS_CHUNK_MAX)
		rc = reader_fail(r, err, "chunk size out of range");
	else if (pl_jsc_aead_init(&r->aead, dkey, hdr + PL_JS_OFF_PREFIX,
				  r->id, 0) < 0)
		rc = pl_js_fail(err, PL_JS_EIO, "job %s: cannot set up decryption",
				r->id);
	OPENSSL_cleanse(dkey, sizeof(dkey));
	return rc;
}

/* Locate the metadata record from the trailer; the data region before it
 * determines the record's index. */
static int reader_trailer(pl_jobr_t *r, pl_err_t *err)
{
	uint8_t t[PL_JS_TRAILER_LEN];
	uint64_t region, full = r->cs + PL_JS_REC_OVERHEAD;
	int rc = reader_pread(r, t, sizeof(t), r->fsize - sizeof(t), err);

	if (rc < 0)
		return rc;
	if (memcmp(t + 4, PL_JS_END_MAGIC, 8) != 0)
		return reader_fail(r, err, "bad trailer (truncated?)");
	r->meta_rec = pl_js_get_u32(t);
	if (r->meta_rec <= PL_JS_REC_OVERHEAD ||
	    r->meta_rec > PL_JS_META_MAX + PL_JS_REC_OVERHEAD ||
	    r->meta_rec > r->fsize - PL_JS_HDR_LEN - PL_JS_TRAILER_LEN)
		return reader_fail(r, err, "bad trailer");
	r->meta_off = r->fsize - PL_JS_TRAILER_LEN - r->meta_rec;
	region = r->meta_off - PL_JS_HDR_LEN;
	r->nchunks = region / full + (region % full != 0);
	return PL_JS_OK;
}

static int reader_meta(pl_jobr_t *r, pl_err_t *err)
{
	uint32_t n;
	int rc = reader_meta_record(r, &n, err);

	if (rc < 0)
		return rc;
	rc = pl_jsc_meta_decode(r->pt, n, &r->meta, r->options, sizeof(r->options));
	OPENSSL_cleanse(r->pt, n);
	if (rc < 0)
		return reader_fail(r, err, "unreadable metadata");
	if (strcmp(r->meta.id, r->id) != 0)
		return reader_fail(r, err, "metadata names another job");
	/* Ciphertext is never shorter than plaintext: checked first so the
	 * layout arithmetic below cannot overflow. */
	if (r->meta.size > r->fsize ||
	    data_region_len(r->meta.size, r->cs) != r->meta_off - PL_JS_HDR_LEN)
		return reader_fail(r, err, "file length does not match the job size");
	return PL_JS_OK;
}

/* Room for the metadata record; a streaming read grows them to a chunk
 * (reader_chunk_buffers). A job read into memory needs no more: three
 * 64 KiB buffers a release, freed each time, made the allocator give
 * memory back and fault it in again, page by page. */
static int reader_buffers(pl_jobr_t *r, pl_err_t *err)
{
	r->pt_cap = PL_JS_META_MAX;
	r->pt = malloc(r->pt_cap);
	r->rec = malloc(r->pt_cap + PL_JS_TAG_LEN);
	r->sha = EVP_MD_CTX_new();
	if (r->pt == NULL || r->rec == NULL || r->sha == NULL ||
	    EVP_DigestInit_ex(r->sha, EVP_sha256(), NULL) != 1)
		return pl_js_fail(err, PL_JS_EIO, "out of memory");
	return PL_JS_OK;
}

static int reader_open_path(const pl_jobstore_t *js, const char *path,
			    const char *id, pl_jobr_t **rp, pl_err_t *err)
{
	pl_jobr_t *r = calloc(1, sizeof(*r));
	int rc;

	*rp = NULL;
	if (r == NULL)
		return pl_js_fail(err, PL_JS_EIO, "out of memory");
	r->fd = -1;
	memcpy(r->id, id, PL_JOB_ID_LEN);
	rc = reader_file(r, path, err);
	/* Buffers before the metadata: it is decrypted into r->pt. */
	if (rc == PL_JS_OK)
		rc = reader_header(r, js->mkey, err);
	if (rc == PL_JS_OK)
		rc = reader_buffers(r, err);
	if (rc == PL_JS_OK)
		rc = reader_trailer(r, err);
	if (rc == PL_JS_OK)
		rc = reader_meta(r, err);
	if (rc < 0) {
		pl_jobr_close(r);
		return rc;
	}
	r->off = PL_JS_HDR_LEN;
	*rp = r;
	return PL_JS_OK;
}

/* The end: the metadata record again (so the whole file is read and
 * authenticated in order), the trailer, nothing after it, and the data's
 * hash as the metadata recorded it. */
static int reader_finish(pl_jobr_t *r, pl_err_t *err)
{
	uint8_t t[PL_JS_TRAILER_LEN + 1], want[PL_JS_TRAILER_LEN];
	uint8_t sha[32];
	unsigned len;
	uint32_t n;
	int rc;

	if (r->idx != r->nchunks || r->total != r->meta.size)
		return reader_fail(r, err, "data does not match the job size");
	if ((rc = reader_meta_record(r, &n, err)) < 0)
		return rc;
	OPENSSL_cleanse(r->pt, n);
	pl_js_put_u32(want, r->meta_rec);
	memcpy(want + 4, PL_JS_END_MAGIC, 8);
	if (pread_full(r->fd, t, sizeof(t), r->meta_off + r->meta_rec) !=
		    PL_JS_TRAILER_LEN ||
	    memcmp(t, want, sizeof(want)) != 0)
		return reader_fail(r, err, "bad trailer");
	if (!r->nodigest && (EVP_DigestFinal_ex(r->sha, sha, &len) != 1 ||
			     CRYPTO_memcmp(sha, r->meta.sha256, sizeof(sha)) != 0))
		return reader_fail(r, err, "data does not match its SHA-256");
	r->state = 1;
	return 0;
}

static int reader_chunk_buffers(pl_jobr_t *r, pl_err_t *err)
{
	uint8_t *pt = malloc(r->cs), *rec = realloc(r->rec, (size_t)r->cs + PL_JS_TAG_LEN);

	if (rec != NULL)
		r->rec = rec;
	if (pt == NULL || rec == NULL) {
		free(pt);
		return pl_js_fail(err, PL_JS_EIO, "out of memory");
	}
	/* A new buffer, not realloc: no plaintext left in freed memory. */
	OPENSSL_cleanse(r->pt, r->pt_hi);
	free(r->pt);
	r->pt = pt;
	r->pt_cap = r->cs;
	r->pt_hi = 0;
	return PL_JS_OK;
}

/* Decrypt the next data chunk into r->pt, or into its place in r->mem
 * when the whole job is being read into memory: 1, 0 at the
 * authenticated end, or an error. */
static int reader_next(pl_jobr_t *r, pl_err_t *err)
{
	uint64_t end;
	uint32_t n;
	uint8_t *pt;
	int rc;

	if (r->off >= r->meta_off)
		return reader_finish(r, err);
	if ((rc = reader_rec_len(r, r->off, &n, err)) < 0)
		return rc;
	end = r->off + PL_JS_REC_OVERHEAD + n;
	/* Every chunk but the last is full; none crosses into the metadata. */
	if (n == 0 || n > r->cs || end > r->meta_off ||
	    (end < r->meta_off && n != r->cs))
		return reader_fail(r, err, "bad chunk length");
	if (r->mem != NULL) {
		/* The layout checks make the chunks add up to the size; this
		 * keeps a write into mem in bounds whatever they say. */
		if (n > r->meta.size - r->total)
			return reader_fail(r, err, "data longer than the job size");
		pt = r->mem + r->total;
	} else {
		if (r->pt_cap < r->cs && (rc = reader_chunk_buffers(r, err)) < 0)
			return rc;
		pt = r->pt;
	}
	if ((rc = reader_rec_body(r, r->off, n, 0, pt, err)) < 0)
		return rc;
	if (!r->nodigest && EVP_DigestUpdate(r->sha, pt, n) != 1)
		return pl_js_fail(err, PL_JS_EIO, "SHA-256 failed");
	r->off = end;
	r->idx++;
	r->total += n;
	r->pt_len = n;
	r->pt_pos = 0;
	return 1;
}

int pl_jobstore_read_open(pl_jobstore_t *js, const char *id, pl_jobr_t **r,
			  pl_err_t *err)
{
	char path[PATH_MAX];
	int found;

	*r = NULL;
	if (!id_valid(id))
		return pl_js_fail(err, PL_JS_EINVAL, "bad job id");
	pthread_mutex_lock(&js->mu);
	found = idx_find_locked(js, id) >= 0;
	pthread_mutex_unlock(&js->mu);
	if (!found)
		return pl_js_fail(err, PL_JS_ENOENT, "no job %s", id);
	job_path(js, id, path);
	return reader_open_path(js, path, id, r, err);
}

/* A job read whole into memory: every byte of it is authenticated. */
static ssize_t reader_mem_read(pl_jobr_t *r, void *buf, size_t n)
{
	size_t k = r->meta.size - r->mem_pos;

	if (k > n)
		k = n;
	memcpy(buf, r->mem + r->mem_pos, k);
	r->mem_pos += k;
	return (ssize_t)k;
}

void pl_jobr_skip_digest(pl_jobr_t *r)
{
	if (r != NULL && r->idx == 0 && r->total == 0)
		r->nodigest = 1;
}

ssize_t pl_jobr_read(pl_jobr_t *r, void *buf, size_t n, pl_err_t *err)
{
	size_t k;

	if (r == NULL || n == 0)
		return pl_js_fail(err, PL_JS_EINVAL, "bad read arguments");
	if (r->mem != NULL)
		return reader_mem_read(r, buf, n);
	while (r->state == 0 && r->pt_pos == r->pt_len) {
		int rc = reader_next(r, &r->why);
		if (rc < 0) {
			OPENSSL_cleanse(r->pt, r->pt_hi);
			r->pt_len = r->pt_pos = 0;
			r->state = rc;
		}
	}
	if (r->state < 0)
		return copy_err(err, &r->why, r->state);
	if (r->pt_pos == r->pt_len)
		return 0;
	k = r->pt_len - r->pt_pos;
	if (k > n)
		k = n;
	memcpy(buf, r->pt + r->pt_pos, k);
	r->pt_pos += k;
	return (ssize_t)k;
}

void pl_jobr_close(pl_jobr_t *r)
{
	if (r == NULL)
		return;
	if (r->fd >= 0)
		close(r->fd);
	pl_jsc_aead_free(&r->aead);
	EVP_MD_CTX_free(r->sha);
	if (r->pt != NULL) {
		/* Only what held plaintext: cleansing the whole 64 KiB buffer of
		 * every job opened at start-up was 15% of opening 100k jobs. */
		OPENSSL_cleanse(r->pt, r->pt_hi);
		free(r->pt);
	}
	if (r->mem != NULL) {
		OPENSSL_cleanse(r->mem, r->meta.size);
		free(r->mem);
	}
	free(r->rec);
	free(r);
}

/* Authenticate every remaining record, keeping no data: 0 at the
 * authenticated end, or the error. */
static int reader_check_all(pl_jobr_t *r, pl_err_t *err)
{
	int rc;

	while ((rc = reader_next(r, err)) == 1)
		;
	return rc;
}

/* reader_check_all, then close r. On success *meta (if not NULL) is the
 * job's metadata. */
static int reader_drain(pl_jobr_t *r, pl_job_meta_t *meta, pl_err_t *err)
{
	int rc = reader_check_all(r, err);

	if (rc == 0 && meta != NULL)
		*meta = r->meta;
	pl_jobr_close(r);
	return rc;
}

/* Back to the first data chunk, as just after opening: the header, key,
 * trailer and metadata stay as authenticated. */
static int reader_rewind(pl_jobr_t *r, pl_err_t *err)
{
	OPENSSL_cleanse(r->pt, r->pt_hi);
	r->off = PL_JS_HDR_LEN;
	r->idx = r->total = 0;
	r->pt_len = r->pt_pos = 0;
	r->state = 0;
	if (EVP_DigestInit_ex(r->sha, EVP_sha256(), NULL) != 1)
		return pl_js_fail(err, PL_JS_EIO, "SHA-256 failed");
	return PL_JS_OK;
}

/* A small job in one pass: every chunk decrypted straight into one
 * buffer and authenticated, the hash and the trailer checked, and the
 * reader then hands out those bytes. The printer gets what was verified,
 * not a second decryption (make bench: [7]). */
static int reader_load(pl_jobr_t *r, pl_err_t *err)
{
	/* Each record is read where its plaintext goes: room for a tag. */
	if ((r->mem = malloc(r->meta.size + PL_JS_TAG_LEN)) == NULL)
		return pl_js_fail(err, PL_JS_EIO, "out of memory");
	r->mem_pos = 0;
	return reader_check_all(r, err);
}

/* Small jobs (PL_JS_MEM_MAX) are read whole into memory, once; larger ones
 * are checked, then decrypted again as they stream, with one file open,
 * one key unwrap and one pair of buffers for both passes. */
int pl_jobstore_read_verified(pl_jobstore_t *js, const char *id, pl_jobr_t **rp,
			      pl_err_t *err)
{
	pl_jobr_t *r;
	int rc = pl_jobstore_read_open(js, id, &r, err);

	*rp = NULL;
	if (rc < 0)
		return rc;
	if (r->meta.size <= PL_JS_MEM_MAX) {
		rc = reader_load(r, err);
	} else {
		rc = reader_check_all(r, err);
		if (rc == 0)
			rc = reader_rewind(r, err);
	}
	if (rc < 0) {
		pl_jobr_close(r);
		return rc;
	}
	*rp = r;
	return PL_JS_OK;
}

/* ---- opening: configuration and recovery ---- */

static int store_config(pl_jobstore_t *js, const pl_jobstore_opts_t *o,
			pl_err_t *err)
{
	if (o == NULL || o->dir == NULL || o->dir[0] == '\0')
		return pl_js_fail(err, PL_JS_EINVAL, "no jobs directory");
	if (o->master_key == NULL || o->master_key[0] == '\0')
		return pl_js_fail(err, PL_JS_EKEY, "no master key file");
	/* Room for "/<id>.job.corrupt" after the directory. */
	if (strlen(o->dir) + 1 + NAME_MAX_LEN > sizeof(js->dir))
		return pl_js_fail(err, PL_JS_EINVAL,
				  "jobs directory path too long");
	pl_strlcpy(js->dir, o->dir, sizeof(js->dir));
	js->chunk_size = o->chunk_size ? o->chunk_size : PL_JS_CHUNK_DEFAULT;
	if (js->chunk_size < PL_JS_CHUNK_MIN || js->chunk_size > PL_JS_CHUNK_MAX)
		return pl_js_fail(err, PL_JS_EINVAL,
				  "chunk size %u out of range (%u to %u bytes)",
				  (unsigned)js->chunk_size, PL_JS_CHUNK_MIN,
				  PL_JS_CHUNK_MAX);
	js->expiry_ms = o->expiry_ms ? o->expiry_ms : EXPIRY_DEFAULT_MS;
	if (js->expiry_ms > EXPIRY_MAX_MS)
		return pl_js_fail(err, PL_JS_EINVAL, "expiry too long");
	js->quota_user = o->quota_user_bytes;
	js->quota_total = o->quota_total_bytes;
	js->verify_on_open = o->verify_on_open;
	return PL_JS_OK;
}

static int is_tmp_name(const char *name)
{
	return strncmp(name, TMP_PREFIX, strlen(TMP_PREFIX)) == 0;
}

/* "<id>.job"; any other name is not ours and is left alone. */
static int is_job_name(const char *name, char *id)
{
	if (strlen(name) != PL_JOB_ID_LEN + strlen(JOB_SUFFIX) ||
	    strcmp(name + PL_JOB_ID_LEN, JOB_SUFFIX) != 0)
		return 0;
	memcpy(id, name, PL_JOB_ID_LEN);
	id[PL_JOB_ID_LEN] = '\0';
	return id_valid(id);
}

/* Names of temp and job files, collected before anything is renamed
 * (readdir makes no promise about entries renamed while it runs). */
static int store_names(DIR *d, char ***out, uint64_t **inos, size_t *n,
		       pl_err_t *err)
{
	char id[PL_JOB_ID_LEN + 1], **v = NULL, **nv;
	uint64_t *in = NULL, *ni;
	struct dirent *de;
	size_t cap = 0;

	*n = 0;
	while ((de = readdir(d)) != NULL) {
		if (!is_tmp_name(de->d_name) && !is_job_name(de->d_name, id))
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			if ((nv = realloc(v, cap * sizeof(*v))) == NULL)
				break;
			v = nv;
			if ((ni = realloc(in, cap * sizeof(*in))) == NULL)
				break;
			in = ni;
		}
		if ((v[*n] = strdup(de->d_name)) == NULL)
			break;
		in[*n] = (uint64_t)de->d_ino;
		(*n)++;
	}
	*out = v;
	*inos = in;
	if (de != NULL)
		return pl_js_fail(err, PL_JS_EIO, "out of memory");
	return PL_JS_OK;
}

/* A job that does not authenticate goes aside for the administrator. */
static int store_quarantine(pl_jobstore_t *js, int dfd, const char *name,
			    pl_err_t *err)
{
	char to[NAME_MAX_LEN];

	snprintf(to, sizeof(to), "%s" CORRUPT_SUFFIX, name);
	if (renameat(dfd, name, dfd, to) < 0)
		return io_fail(err, errno, "moving aside", name);
	js->corrupt++;
	return PL_JS_OK;
}

/* Verify one job file completely and index it. */
static int store_index_file(pl_jobstore_t *js, const char *name,
			    pl_err_t *err)
{
	char id[PL_JOB_ID_LEN + 1], path[PATH_MAX];
	pl_job_meta_t m;
	pl_jobr_t *r;
	int rc;

	(void)is_job_name(name, id);
	job_path(js, id, path);
	if ((rc = reader_open_path(js, path, id, &r, err)) < 0)
		return rc;
	/* Opening authenticated the header, the key, the trailer and the
	 * metadata. Reading every data chunk too would make start-up time
	 * grow with the bytes held; a release verifies the whole job before
	 * printing anyway. */
	if (js->verify_on_open) {
		if ((rc = reader_drain(r, &m, err)) < 0)
			return rc;
	} else {
		m = r->meta;
		pl_jobr_close(r);
	}
	pthread_mutex_lock(&js->mu);
	rc = idx_add_locked(js, &m);
	pthread_mutex_unlock(&js->mu);
	return rc < 0 ? pl_js_fail(err, PL_JS_EIO, "out of memory") : PL_JS_OK;
}

/* A job file still in its upload mode: the writer never sealed it (the
 * process died mid-upload, or before the fsync that acknowledges). Told
 * by the mode, not by the content, so that a sealed job damaged later is
 * still set aside for the administrator rather than removed. */
static int is_upload_file(int dfd, const char *name)
{
	struct stat st;

	return fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	       S_ISREG(st.st_mode) && !(st.st_mode & S_IRUSR);
}

/* One directory entry: a temp file or an unsealed job file is an upload
 * that never committed and goes; a job that fails authentication is moved
 * aside; any other error (a disk that cannot be read) fails open rather
 * than hide jobs. */
static int store_recover_one(pl_jobstore_t *js, int dfd, const char *name,
			     int *changed, pl_err_t *err)
{
	int rc;

	if (is_tmp_name(name) || is_upload_file(dfd, name)) {
		*changed = 1;
		if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
			return io_fail(err, errno, "removing", name);
		return PL_JS_OK;
	}
	rc = store_index_file(js, name, err);
	if (rc == PL_JS_ECORRUPT) {
		*changed = 1;
		rc = store_quarantine(js, dfd, name, err);
	}
	return rc;
}

static int store_recover(pl_jobstore_t *js, pl_err_t *err)
{
	DIR *d = opendir(js->dir);
	char **names = NULL;
	uint64_t *inos = NULL;
	pl_jsx_t cache;
	size_t n = 0;
	int rc, changed = 0;

	if (d == NULL)
		return io_fail(err, errno, "reading directory", js->dir);
	/* With verify_on_open every file is read in full anyway. */
	memset(&cache, 0, sizeof(cache));
	if (!js->verify_on_open)
		(void)pl_jsx_load(js->dir, js->mkey, &cache);
	rc = store_names(d, &names, &inos, &n, err);
	pthread_mutex_lock(&js->mu);
	if (rc == PL_JS_OK && idx_grow_locked(js, n) < 0) /* one allocation */
		rc = pl_js_fail(err, PL_JS_EIO, "out of memory");
	pthread_mutex_unlock(&js->mu);
	for (size_t i = 0; rc == PL_JS_OK && i < n; i++) {
		char id[PL_JOB_ID_LEN + 1];
		ssize_t k = cache.n && is_job_name(names[i], id)
			? pl_jsx_find(&cache, id, inos[i]) : -1;
		if (k >= 0) {
			pthread_mutex_lock(&js->mu);
			rc = idx_add_locked(js, &cache.meta[k]) < 0
				? pl_js_fail(err, PL_JS_EIO, "out of memory") : PL_JS_OK;
			pthread_mutex_unlock(&js->mu);
			js->from_cache++;
			continue;
		}
		rc = store_recover_one(js, dirfd(d), names[i], &changed, err);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(inos);
	pl_jsx_free(&cache);
	closedir(d);
	if (rc == PL_JS_OK && changed)
		rc = sync_dir(js, err);
	return rc;
}

static int journal_emit_locked(void *arg, char **buf, size_t *n);

/* What the journal says about each indexed job, replayed oldest first:
 * the claim still open (C), the last "maybe printed" (M), printed (P). */
typedef struct {
	pl_jobstore_t *js;
	int64_t *pending; /* per slot: ms of an open claim, or 0 */
	uint8_t *printed;
} replay_t;

static void replay_apply(void *arg, char type, const char *id, int64_t ms)
{
	replay_t *r = arg;
	ssize_t i = idx_find_locked(r->js, id);
	if (i < 0)
		return; /* shredded, expired or deleted since */
	if (ms <= 0)
		ms = 1; /* 0 means "not maybe printed" */
	switch (type) {
	case 'C': r->pending[i] = ms; break;
	case 'U': r->pending[i] = 0; break;
	case 'M': r->pending[i] = 0; r->js->jobs[i].maybe_printed_ms = ms; break;
	case 'P': r->printed[i] = 1; break;
	}
}

/* A claim without its outcome: the holder died mid-release. */
static int replay_interrupted(pl_jobstore_t *js, const replay_t *r)
{
	size_t k = 0;
	for (size_t i = 0; i < js->njobs; i++)
		k += r->pending[i] && !r->printed[i];
	if (k && (js->interrupted = malloc(k * sizeof(*js->interrupted))) == NULL)
		return -1;
	for (size_t i = 0; i < js->njobs; i++) {
		if (!r->pending[i] || r->printed[i])
			continue;
		js->jobs[i].maybe_printed_ms = r->pending[i];
		memcpy(js->interrupted[js->ninterrupted++], js->jobs[i].id,
		       PL_JOB_ID_LEN + 1);
	}
	return 0;
}

/* Printed before the crash but not yet shredded: shred now, never offer. */
static int replay_shred(pl_jobstore_t *js, const replay_t *r, pl_err_t *err)
{
	char(*ids)[PL_JOB_ID_LEN + 1] = NULL;
	size_t k = 0;
	for (size_t i = 0; i < js->njobs; i++)
		k += r->printed[i];
	if (k == 0)
		return PL_JS_OK;
	if ((ids = malloc(k * sizeof(*ids))) == NULL)
		return pl_js_fail(err, PL_JS_EIO, "out of memory");
	k = 0;
	for (size_t i = 0; i < js->njobs; i++)
		if (r->printed[i])
			memcpy(ids[k++], js->jobs[i].id, PL_JOB_ID_LEN + 1);
	int rc = PL_JS_OK;
	for (size_t i = 0; i < k && rc == PL_JS_OK; i++) {
		rc = pl_jobstore_delete(js, ids[i], err);
		js->printed_at_open += rc == PL_JS_OK;
	}
	free(ids);
	return rc;
}

/* Open the release journal, apply it to the index and rewrite it with
 * what is still true. Runs alone (open), so the index needs no lock. */
static int store_journal(pl_jobstore_t *js, pl_err_t *err)
{
	replay_t r = { .js = js };
	int rc = pl_jsj_open(&js->journal, js->dir, err);
	if (rc < 0)
		return rc;
	if (pl_jsj_size(&js->journal) == 0)
		return sync_dir(js, err); /* a new file: its name durable too */
	r.pending = calloc(js->njobs + 1, sizeof(*r.pending));
	r.printed = calloc(js->njobs + 1, 1);
	if (r.pending == NULL || r.printed == NULL)
		rc = pl_js_fail(err, PL_JS_EIO, "out of memory");
	if (rc == PL_JS_OK)
		rc = pl_jsj_replay(&js->journal, replay_apply, &r,
				   &js->journal_dropped, err);
	if (rc == PL_JS_OK && replay_interrupted(js, &r) < 0)
		rc = pl_js_fail(err, PL_JS_EIO, "out of memory");
	if (rc == PL_JS_OK)
		rc = replay_shred(js, &r, err);
	free(r.pending);
	free(r.printed);
	if (rc == PL_JS_OK)
		rc = pl_jsj_rewrite(&js->journal, journal_emit_locked, js, err);
	return rc;
}

int pl_jobstore_open(pl_jobstore_t **jsp, const pl_jobstore_opts_t *o,
		     pl_err_t *err)
{
	pl_jobstore_t *js = calloc(1, sizeof(*js));
	int rc;

	*jsp = NULL;
	if (js == NULL)
		return pl_js_fail(err, PL_JS_EIO, "out of memory");
	if (pthread_mutex_init(&js->gc_mu, NULL) != 0 ||
	    pthread_mutex_init(&js->save_mu, NULL) != 0 ||
	    pthread_cond_init(&js->gc_cv, NULL) != 0 ||
	    pthread_mutex_init(&js->mu, NULL) != 0) {
		free(js);
		return pl_js_fail(err, PL_JS_EIO, "cannot create a mutex");
	}
	rc = store_config(js, o, err);
	if (rc == PL_JS_OK && pl_mkdir_p(js->dir, 0700) < 0)
		rc = io_fail(err, errno, "creating jobs directory", js->dir);
	if (rc == PL_JS_OK)
		rc = pl_jsc_master_load(o->master_key, js->mkey, err);
	js->mkey_loaded = rc == PL_JS_OK;
	if (rc == PL_JS_OK)
		rc = store_recover(js, err);
	if (rc == PL_JS_OK)
		rc = store_journal(js, err);
	/* What did not come from the index cache is what a save would add. */
	js->saved_changes = js->changes - (js->njobs - js->from_cache);
	if (rc < 0) {
		pl_jobstore_close(js);
		return rc;
	}
	*jsp = js;
	return PL_JS_OK;
}

void pl_jobstore_close(pl_jobstore_t *js)
{
	pl_err_t e;
	if (js == NULL)
		return;
	/* The next start reads one file instead of every job's. */
	if (js->mkey_loaded)
		(void)pl_jobstore_save_index(js, 1, &e);
	OPENSSL_cleanse(js->mkey, sizeof(js->mkey));
	pl_jsj_close(&js->journal);
	pl_jsi_free(&js->map);
	pl_jso_free(&js->owners);
	free(js->interrupted);
	free(js->jobs);
	free(js->claimed);
	pthread_mutex_destroy(&js->mu);
	pthread_mutex_destroy(&js->gc_mu);
	pthread_mutex_destroy(&js->save_mu);
	pthread_cond_destroy(&js->gc_cv);
	free(js);
}

unsigned pl_jobstore_corrupt_count(const pl_jobstore_t *js)
{
	return js->corrupt;
}

/* Group commit: every caller needs a directory fsync that started after
 * its rename. One caller at a time runs it; whoever arrives meanwhile
 * waits for the next one, which then covers all of them. Concurrent small
 * jobs thus share directory fsyncs (make bench: 4 KiB jobs). */
int pl_jobstore_sync_dir(pl_jobstore_t *js, pl_err_t *err)
{
	pthread_mutex_lock(&js->gc_mu);
	uint64_t mine = ++js->gc_asked;
	int rc = PL_JS_OK;
	while (js->gc_done < mine) {
		if (js->gc_busy) {
			pthread_cond_wait(&js->gc_cv, &js->gc_mu);
			continue;
		}
		uint64_t covers = js->gc_asked;
		js->gc_busy = 1;
		pthread_mutex_unlock(&js->gc_mu);
		pl_err_t e = { .msg = "" };
		int r = sync_dir(js, &e);
		pthread_mutex_lock(&js->gc_mu);
		js->gc_busy = 0;
		js->gc_done = covers;
		js->gc_rc = r;
		js->gc_err = e;
		pthread_cond_broadcast(&js->gc_cv);
	}
	if (js->gc_rc < 0) {
		rc = js->gc_rc;
		if (err)
			*err = js->gc_err;
	}
	pthread_mutex_unlock(&js->gc_mu);
	return rc;
}

/* ---- queries ---- */

static int cmp_oldest(const void *a, const void *b)
{
	const pl_job_meta_t *x = a, *y = b;

	if (x->created_ms != y->created_ms)
		return x->created_ms < y->created_ms ? -1 : 1;
	return strcmp(x->id, y->id);
}

/* A job being released is no longer on offer. */
/* One owner's jobs through the owner map (O(k)), everyone's by a pass. */
int pl_jobstore_list(pl_jobstore_t *js, const char *owner,
		     pl_job_meta_t **out, size_t *n)
{
	const uint32_t *slot = NULL;
	size_t m;

	*out = NULL;
	*n = 0;
	pthread_mutex_lock(&js->mu);
	m = owner ? pl_jso_slots(pl_jso_get(&js->owners, owner), &slot) : js->njobs;
	if (m > 0 && (*out = malloc(m * sizeof(**out))) == NULL) {
		pthread_mutex_unlock(&js->mu);
		return PL_JS_EIO;
	}
	for (size_t k = 0; k < m; k++) {
		size_t i = slot ? slot[k] : k;
		if (js->claimed[i] == JS_OFFERED) /* being released: off offer */
			(*out)[(*n)++] = js->jobs[i];
	}
	pthread_mutex_unlock(&js->mu);
	if (*n > 1)
		qsort(*out, *n, sizeof(**out), cmp_oldest);
	return PL_JS_OK;
}

/* A listing a page at a time: a pass under the lock that keeps only the
 * page's jobs (jobstore-page.c), then a copy of those alone. */
int pl_jobstore_list_page(pl_jobstore_t *js, const pl_jobstore_page_t *q,
			  pl_job_meta_t **out, size_t *n,
			  pl_jobstore_page_info_t *info)
{
	const uint32_t *slot = NULL;
	pl_jsp_t p;
	size_t m;

	*out = NULL;
	*n = 0;
	memset(info, 0, sizeof(*info));
	pl_jsp_init(&p, q->limit, q->newest_first);
	pthread_mutex_lock(&js->mu);
	m = q->owner ? pl_jso_slots(pl_jso_get(&js->owners, q->owner), &slot) : js->njobs;
	for (size_t k = 0; k < m; k++) {
		size_t i = slot ? slot[k] : k;
		const pl_job_meta_t *j = &js->jobs[i];
		if (js->claimed[i] != JS_OFFERED || (q->keep && !q->keep(j, q->keep_arg)))
			continue;
		info->total++;
		if (pl_jsp_past(&p, j->created_ms, j->id, q->after_ms, q->after_id))
			pl_jsp_offer(&p, j->created_ms, j->id, (uint32_t)i);
	}
	pl_jsp_sort(&p);
	if (p.n && !p.err && (*out = malloc(p.n * sizeof(**out))) != NULL)
		for (size_t k = 0; k < p.n; k++)
			(*out)[(*n)++] = js->jobs[p.heap[k].slot];
	pthread_mutex_unlock(&js->mu);
	info->more = p.past > *n;
	pl_jsp_free(&p);
	return *n == p.n && !p.err ? PL_JS_OK : PL_JS_EIO;
}

int pl_jobstore_get(pl_jobstore_t *js, const char *id, pl_job_meta_t *out)
{
	ssize_t i;

	if (!id_valid(id))
		return PL_JS_ENOENT;
	pthread_mutex_lock(&js->mu);
	i = idx_find_locked(js, id);
	if (i >= 0)
		*out = js->jobs[i];
	pthread_mutex_unlock(&js->mu);
	return i >= 0 ? PL_JS_OK : PL_JS_ENOENT;
}

int pl_jobstore_find_key(pl_jobstore_t *js, const char *owner,
			 const char *workstation, const char *key, char *id)
{
	int rc;

	if (key == NULL || !key[0])
		return 0;
	pthread_mutex_lock(&js->mu);
	rc = key_find_locked(js, owner, workstation, key, id);
	pthread_mutex_unlock(&js->mu);
	return rc;
}


/* ---- releases (the journal's records: jobstore-journal.c) ---- */

/* Everything still true, as records: a claim in flight (C), a printed job
 * not yet shredded (P), a job that may have printed (M). js->mu held. */
static int journal_emit_locked(void *arg, char **buf, size_t *n)
{
	const pl_jobstore_t *js = arg;
	size_t k = 0, cap = 0;
	*buf = NULL;
	*n = 0;
	for (size_t i = 0; i < js->njobs; i++)
		cap += js->claimed[i] != JS_OFFERED || js->jobs[i].maybe_printed_ms;
	if (cap == 0)
		return 0;
	if ((*buf = malloc(cap * PL_JSJ_REC_LEN)) == NULL)
		return -1;
	for (size_t i = 0; i < js->njobs; i++) {
		const pl_job_meta_t *m = &js->jobs[i];
		char type = js->claimed[i] == JS_CLAIMED   ? 'C'
			  : js->claimed[i] == JS_PRINTED   ? 'P'
			  : m->maybe_printed_ms		   ? 'M'
							   : 0;
		if (type)
			k += (size_t)pl_jsj_record(*buf + k, type, m->id,
						   type == 'M' ? m->maybe_printed_ms
							       : pl_log_now_ms());
	}
	*n = k;
	return 0;
}

/* Keep the journal small: rewritten from the index (under js->mu, so no
 * state changes meanwhile; appends after it go to the new file). */
static void journal_trim(pl_jobstore_t *js)
{
	pl_err_t e;
	if (pl_jsj_size(&js->journal) < JOURNAL_REWRITE_BYTES)
		return;
	pthread_mutex_lock(&js->mu);
	(void)pl_jsj_rewrite(&js->journal, journal_emit_locked, js, &e);
	pthread_mutex_unlock(&js->mu);
	/* On failure the old journal stays, true and longer; next time. */
}

int pl_jobstore_claim_hold(pl_jobstore_t *js, const char *id, unsigned flags,
			   pl_job_meta_t *out, pl_err_t *err)
{
	ssize_t i;
	int rc = PL_JS_OK;

	if (!id_valid(id))
		return pl_js_fail(err, PL_JS_ENOENT, "no such job");
	journal_trim(js);
	pthread_mutex_lock(&js->mu);
	i = idx_find_locked(js, id);
	if (i < 0 || js->claimed[i] == JS_PRINTED)
		rc = pl_js_fail(err, PL_JS_ENOENT, "no such job");
	else if (js->claimed[i] != JS_OFFERED)
		rc = pl_js_fail(err, PL_JS_EBUSY, "already being released");
	else if (js->jobs[i].maybe_printed_ms && !(flags & PL_JS_CLAIM_REPRINT))
		rc = pl_js_fail(err, PL_JS_EMAYBE, "may have printed already");
	if (rc == PL_JS_OK) {
		js->claimed[i] = JS_HELD;
		*out = js->jobs[i];
	}
	pthread_mutex_unlock(&js->mu);
	return rc;
}

/* Durable before the first byte goes out: a crash from here on leaves the
 * job maybe-printed, never on offer as if untouched. */
int pl_jobstore_claim_commit(pl_jobstore_t *js, const char *id, pl_err_t *err)
{
	ssize_t i;
	int rc;
	pl_err_t e;

	/* CLAIMED before the C record is appended: a journal rewrite
	 * (journal_trim, another thread) between the append and its fsync
	 * writes the index's C records to the new file and counts every
	 * asked sync as done. Were the job still HELD then, its C would be
	 * in neither file and the claim would "succeed" without a durable
	 * record: after a crash the job would be offered as untouched and
	 * could print twice. */
	pthread_mutex_lock(&js->mu);
	if ((i = idx_find_locked(js, id)) >= 0 && js->claimed[i] == JS_HELD)
		js->claimed[i] = JS_CLAIMED;
	pthread_mutex_unlock(&js->mu);
	rc = pl_jsj_append(&js->journal, 'C', id, pl_log_now_ms(), 1, err);
	if (rc < 0) {
		pthread_mutex_lock(&js->mu);
		if ((i = idx_find_locked(js, id)) >= 0 && js->claimed[i] == JS_CLAIMED)
			js->claimed[i] = JS_OFFERED;
		pthread_mutex_unlock(&js->mu);
		/* A rewrite meanwhile may have written a C for it: undo it
		 * if the journal takes a record at all (lost, the job comes
		 * back maybe-printed: the safe side). */
		(void)pl_jsj_append(&js->journal, 'U', id, pl_log_now_ms(), 0, &e);
		pl_js_fail(err, rc, "cannot record the release, so it is not "
			   "printed: %.200s", err ? err->msg : "");
	}
	return rc;
}

int pl_jobstore_claim(pl_jobstore_t *js, const char *id, unsigned flags,
		      pl_job_meta_t *out, pl_err_t *err)
{
	int rc = pl_jobstore_claim_hold(js, id, flags, out, err);

	return rc < 0 ? rc : pl_jobstore_claim_commit(js, id, err);
}

void pl_jobstore_unclaim(pl_jobstore_t *js, const char *id, int bytes_out)
{
	ssize_t i;
	int64_t now = pl_log_now_ms();
	pl_err_t e;
	uint8_t was = JS_OFFERED;

	pthread_mutex_lock(&js->mu);
	if ((i = idx_find_locked(js, id)) >= 0)
		was = js->claimed[i];
	if (was == JS_CLAIMED || was == JS_HELD) {
		js->claimed[i] = JS_OFFERED;
		if (bytes_out)
			js->jobs[i].maybe_printed_ms = now;
	}
	pthread_mutex_unlock(&js->mu);
	/* No fsync: lost to a power cut, the C before it still says "maybe
	 * printed", which is never the unsafe side. A claim only held was
	 * never recorded, so there is nothing to follow it up. */
	if (i >= 0 && was != JS_HELD)
		(void)pl_jsj_append(&js->journal, bytes_out ? 'M' : 'U', id, now, 0, &e);
}

int pl_jobstore_printed(pl_jobstore_t *js, const char *id, pl_err_t *err)
{
	ssize_t i;

	pthread_mutex_lock(&js->mu);
	if ((i = idx_find_locked(js, id)) >= 0) {
		js->claimed[i] = JS_PRINTED;
		js->jobs[i].maybe_printed_ms = 0;
	}
	pthread_mutex_unlock(&js->mu);
	if (i < 0)
		return pl_js_fail(err, PL_JS_ENOENT, "no job %s", id);
	/* Written at once, per job; its fsync comes with the shred's. Lost
	 * to a power cut, the job comes back maybe-printed (the C record). */
	return pl_jsj_append(&js->journal, 'P', id, pl_log_now_ms(), 0, err);
}

size_t pl_jobstore_take_interrupted(pl_jobstore_t *js,
				    char (**ids)[PL_JOB_ID_LEN + 1])
{
	size_t n = js->ninterrupted;
	*ids = js->interrupted;
	js->interrupted = NULL;
	js->ninterrupted = 0;
	return n;
}

unsigned pl_jobstore_printed_at_open(const pl_jobstore_t *js)
{
	return js->printed_at_open;
}

uint64_t pl_jobstore_bytes(pl_jobstore_t *js, const char *owner)
{
	uint64_t sum = 0;

	pthread_mutex_lock(&js->mu);
	sum = owner ? pl_jso_bytes(pl_jso_get(&js->owners, owner)) : js->held;
	pthread_mutex_unlock(&js->mu);
	return sum;
}

size_t pl_jobstore_count(pl_jobstore_t *js, const char *owner)
{
	size_t n;
	const uint32_t *slots;

	pthread_mutex_lock(&js->mu);
	if (owner) {
		const pl_jso_owner_t *o = pl_jso_get(&js->owners, owner);
		n = o ? pl_jso_slots(o, &slots) : 0;
	} else {
		n = js->njobs;
	}
	pthread_mutex_unlock(&js->mu);
	return n;
}

/* ---- the start-up index cache (jobstore-cache.c) ---- */

#define CACHE_MIN_JOBS 256 /* below this, opening every file is quick */

typedef struct {
	char id[PL_JOB_ID_LEN];
	uint64_t ino;
} name_ino_t;

static int cmp_name_ino(const void *a, const void *b)
{
	return memcmp(a, b, PL_JOB_ID_LEN);
}

/* The inode of every job file, sorted by id (what readdir says). */
static int cache_inodes(const pl_jobstore_t *js, name_ino_t **out, size_t *n)
{
	DIR *d = opendir(js->dir);
	struct dirent *de;
	size_t cap = 0;
	*out = NULL;
	*n = 0;
	if (!d)
		return -1;
	while ((de = readdir(d)) != NULL) {
		char id[PL_JOB_ID_LEN + 1];
		if (!is_job_name(de->d_name, id))
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 1024;
			name_ino_t *v = realloc(*out, cap * sizeof(*v));
			if (!v) {
				closedir(d);
				return -1;
			}
			*out = v;
		}
		memcpy((*out)[*n].id, id, PL_JOB_ID_LEN);
		(*out)[(*n)++].ino = (uint64_t)de->d_ino;
	}
	closedir(d);
	qsort(*out, *n, sizeof(**out), cmp_name_ino);
	return 0;
}

/* Encode every indexed job that has a file (js->mu held). */
static int cache_encode_locked(const pl_jobstore_t *js, const name_ino_t *f,
			       size_t nf, uint8_t **buf, size_t *len)
{
	size_t cap = js->njobs * 256 + PL_JSX_ENTRY_MAX;
	*len = 0;
	if ((*buf = malloc(cap)) == NULL)
		return -1;
	for (size_t i = 0; i < js->njobs; i++) {
		const name_ino_t *e = bsearch(js->jobs[i].id, f, nf, sizeof(*f), cmp_name_ino);
		if (!e)
			continue; /* not on disk (yet): the next open reads it */
		if (cap - *len < PL_JSX_ENTRY_MAX) {
			uint8_t *nb = realloc(*buf, cap * 2);
			if (!nb)
				return -1;
			*buf = nb;
			cap *= 2;
		}
		*len += pl_jsx_encode(&js->jobs[i], e->ino, *buf + *len);
	}
	return 0;
}

static int save_index(pl_jobstore_t *js, uint64_t min_changes, pl_err_t *err);

int pl_jobstore_save_index(pl_jobstore_t *js, uint64_t min_changes, pl_err_t *err)
{
	/* A save already running covers this one's purpose. */
	if (pthread_mutex_trylock(&js->save_mu) != 0)
		return 0;
	int rc = save_index(js, min_changes, err);
	pthread_mutex_unlock(&js->save_mu);
	return rc;
}

static int save_index(pl_jobstore_t *js, uint64_t min_changes, pl_err_t *err)
{
	name_ino_t *files = NULL;
	uint8_t *buf = NULL;
	size_t nf = 0, len = 0;
	char path[PATH_MAX + 32];
	int rc;

	pthread_mutex_lock(&js->mu);
	uint64_t at = js->changes;
	size_t njobs = js->njobs;
	pthread_mutex_unlock(&js->mu);
	if (at - js->saved_changes < min_changes)
		return 0;
	if (njobs < CACHE_MIN_JOBS) {
		/* A small store opens fast; a stale cache would only cost. */
		if (pl_fmt(path, sizeof(path), "%s/" PL_JSX_NAME, js->dir) == 0)
			unlink(path);
		js->saved_changes = at;
		return 0;
	}
	if (cache_inodes(js, &files, &nf) < 0) {
		free(files);
		return pl_js_fail(err, PL_JS_EIO, "reading %s: %s", js->dir, strerror(errno));
	}
	pthread_mutex_lock(&js->mu);
	at = js->changes;
	rc = cache_encode_locked(js, files, nf, &buf, &len);
	pthread_mutex_unlock(&js->mu);
	free(files);
	if (rc < 0) {
		free(buf);
		return pl_js_fail(err, PL_JS_EIO, "out of memory");
	}
	rc = pl_jsx_write(js->dir, js->mkey, buf, len, err);
	OPENSSL_cleanse(buf, len); /* titles, owners: metadata is secret too */
	free(buf);
	if (rc < 0)
		return rc;
	js->saved_changes = at;
	return 1;
}

size_t pl_jobstore_opened_from_cache(const pl_jobstore_t *js)
{
	return js->from_cache;
}

/* ---- damaged jobs ---- */

/* Streamed whatever the size: nothing is kept, so no job is held whole. */
int pl_jobstore_verify(pl_jobstore_t *js, const char *id, pl_err_t *err)
{
	pl_jobr_t *r;
	int rc = pl_jobstore_read_open(js, id, &r, err);
	if (rc == PL_JS_OK)
		rc = reader_drain(r, NULL, err);
	return rc;
}

int pl_jobstore_set_aside(pl_jobstore_t *js, const char *id, pl_err_t *err)
{
	char from[PATH_MAX], to[PATH_MAX + sizeof(CORRUPT_SUFFIX)];
	ssize_t i;

	if (!id_valid(id))
		return pl_js_fail(err, PL_JS_EINVAL, "bad job id");
	pthread_mutex_lock(&js->mu);
	if ((i = idx_find_locked(js, id)) >= 0)
		idx_remove_locked(js, (size_t)i);
	pthread_mutex_unlock(&js->mu);
	if (i < 0)
		return pl_js_fail(err, PL_JS_ENOENT, "no job %s", id);
	job_path(js, id, from);
	snprintf(to, sizeof(to), "%s" CORRUPT_SUFFIX, from);
	/* Out of the index whatever happens: a job that does not
	 * authenticate must never block its owner's other jobs again. The
	 * next open moves it aside if this rename failed. */
	if (rename(from, to) < 0)
		return io_fail(err, errno, "moving aside", from);
	return pl_jobstore_sync_dir(js, err);
}

/* ---- deleting ---- */

/* Crypto-shred: random bytes over the wrapped data key, made durable,
 * before the name goes. Without the wrapped key the rest of the file is
 * undecryptable even to someone holding the master key, including in
 * copies the filesystem may keep of the unlinked blocks. The name's
 * removal is made durable by the caller's directory fsync. */
static int store_shred(pl_jobstore_t *js, const char *id, pl_err_t *err)
{
	char path[PATH_MAX];
	uint8_t junk[PL_JS_WRAP_LEN];
	int fd, rc = PL_JS_OK;

	job_path(js, id, path);
	fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return PL_JS_OK; /* already gone */
	if (fd < 0)
		return io_fail(err, errno, "opening", path);
	if (pl_random_bytes(junk, sizeof(junk)) < 0)
		rc = pl_js_fail(err, PL_JS_EIO, "no random bytes to shred %s", path);
	else if (pwrite_full(fd, junk, sizeof(junk), PL_JS_OFF_WRAP) < 0 ||
		 fdatasync(fd) < 0) /* the overwritten bytes; not the mtime */
		rc = io_fail(err, errno, "shredding", path);
	close(fd);
	if (rc == PL_JS_OK && unlink(path) < 0)
		rc = io_fail(err, errno, "removing", path);
	return rc;
}

/* Out of the index, so two deleters cannot both shred: 1 taken (its
 * metadata and release state in *m, *state), 0 not indexed. */
static int delete_take(pl_jobstore_t *js, const char *id, pl_job_meta_t *m,
		       uint8_t *state)
{
	ssize_t i;

	pthread_mutex_lock(&js->mu);
	if ((i = idx_find_locked(js, id)) >= 0) {
		*m = js->jobs[i];
		*state = js->claimed[i];
		idx_remove_locked(js, (size_t)i);
	}
	pthread_mutex_unlock(&js->mu);
	return i >= 0;
}

/* A shred that failed: still there, in the state it was in (a printed job
 * stays out of every offer; the journal's P shreds it at the next open).
 * Should even this fail for memory, the file is indexed again at the next
 * open, and the journal decides. */
static void delete_undo(pl_jobstore_t *js, const pl_job_meta_t *m, uint8_t state)
{
	pthread_mutex_lock(&js->mu);
	if (idx_add_locked(js, m) == 0)
		js->claimed[js->njobs - 1] = state;
	pthread_mutex_unlock(&js->mu);
}

int pl_jobstore_delete(pl_jobstore_t *js, const char *id, pl_err_t *err)
{
	pl_job_meta_t m;
	uint8_t state = JS_OFFERED;
	int rc;

	if (!id_valid(id))
		return pl_js_fail(err, PL_JS_EINVAL, "bad job id");
	if (!delete_take(js, id, &m, &state))
		return pl_js_fail(err, PL_JS_ENOENT, "no job %s", id);
	rc = store_shred(js, id, err);
	if (rc == PL_JS_OK)
		rc = pl_jobstore_sync_dir(js, err); /* shared with concurrent shreds */
	if (rc < 0)
		delete_undo(js, &m, state);
	return rc;
}

size_t pl_jobstore_delete_batch(pl_jobstore_t *js, const char (*ids)[PL_JOB_ID_LEN + 1],
				size_t n, int *rcs, pl_err_t *err)
{
	pl_job_meta_t *m = malloc((n ? n : 1) * sizeof(*m));
	uint8_t *state = malloc(n ? n : 1);
	pl_err_t e;
	size_t done = 0, shredded = 0;
	int first = PL_JS_OK;

	if (m == NULL || state == NULL) {
		free(m);
		free(state);
		for (size_t i = 0; i < n; i++)
			rcs[i] = PL_JS_EIO;
		pl_js_fail(err, PL_JS_EIO, "out of memory");
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		if (!id_valid(ids[i]))
			rcs[i] = pl_js_fail(&e, PL_JS_EINVAL, "bad job id");
		else if (!delete_take(js, ids[i], &m[i], &state[i]))
			rcs[i] = pl_js_fail(&e, PL_JS_ENOENT, "no job %s", ids[i]);
		else if ((rcs[i] = store_shred(js, ids[i], &e)) == PL_JS_OK)
			shredded++;
		else
			delete_undo(js, &m[i], state[i]);
		if (rcs[i] < 0 && rcs[i] != PL_JS_ENOENT && first == PL_JS_OK)
			first = copy_err(err, &e, rcs[i]);
	}
	/* One directory fsync for every name removed. */
	int rc = shredded ? pl_jobstore_sync_dir(js, &e) : PL_JS_OK;
	for (size_t i = 0; i < n; i++) {
		if (rcs[i] != PL_JS_OK)
			continue;
		if (rc < 0) {
			rcs[i] = rc;
			delete_undo(js, &m[i], state[i]);
		} else {
			done++;
		}
	}
	if (rc < 0 && first == PL_JS_OK)
		copy_err(err, &e, rc);
	free(m);
	free(state);
	return done;
}

int pl_jobstore_list_due(pl_jobstore_t *js, int64_t now_ms, size_t max,
			 pl_job_meta_t **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (max == 0)
		return PL_JS_OK;
	pthread_mutex_lock(&js->mu);
	for (size_t i = 0; i < js->njobs && *n < max; i++) {
		if (js->jobs[i].expires_ms > now_ms || js->claimed[i] != JS_OFFERED)
			continue;
		if (*out == NULL && (*out = malloc(max * sizeof(**out))) == NULL) {
			pthread_mutex_unlock(&js->mu);
			return PL_JS_EIO;
		}
		(*out)[(*n)++] = js->jobs[i];
	}
	pthread_mutex_unlock(&js->mu);
	return PL_JS_OK;
}

int pl_jobstore_expire(pl_jobstore_t *js, int64_t now_ms, pl_err_t *err)
{
	char(*ids)[PL_JOB_ID_LEN + 1] = NULL;
	size_t k = 0;
	int count = 0, first = PL_JS_OK;
	pl_err_t e;

	pthread_mutex_lock(&js->mu);
	if (js->njobs > 0 && (ids = malloc(js->njobs * sizeof(*ids))) == NULL) {
		pthread_mutex_unlock(&js->mu);
		return pl_js_fail(err, PL_JS_EIO, "out of memory");
	}
	/* A job being released is left to its releaser, which shreds it
	 * once printed or hands it back. */
	for (size_t i = 0; i < js->njobs; i++)
		if (js->jobs[i].expires_ms <= now_ms && !js->claimed[i])
			memcpy(ids[k++], js->jobs[i].id, sizeof(*ids));
	pthread_mutex_unlock(&js->mu);
	/* Keep going past a failure; report the first. ENOENT is a job a
	 * concurrent delete took. */
	for (size_t i = 0; i < k; i++) {
		int rc = pl_jobstore_delete(js, ids[i], &e);
		if (rc == PL_JS_OK)
			count++;
		else if (rc != PL_JS_ENOENT && first == PL_JS_OK)
			first = copy_err(err, &e, rc);
	}
	free(ids);
	return first < 0 ? first : count;
}
