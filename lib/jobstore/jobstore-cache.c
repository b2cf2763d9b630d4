/* The start-up index cache, <jobs dir>/index.cache: every indexed job's
 * metadata as it was at the last save, so that opening a store of 100,000
 * jobs reads one file and the directory instead of opening, unwrapping
 * and decrypting 100,000 files (2.7 s before; issue #12 asks for 1 s).
 *
 * It is only a cache. Job files never change once committed, so a cached
 * entry stands for the file with the same name and the same inode; a job
 * file the cache does not know (committed after the save, or a cache that
 * is missing, stale, torn or forged) is opened and authenticated as
 * before, and a cached job whose file is gone is dropped. Nothing is
 * synced: a cache lost to a power cut just costs the slow open once.
 *
 * Format (integers big-endian):
 *   "PLJIDX01" | salt (16) | nonce prefix (4) | records
 * Records are sealed as job records are (jobstore-crypto.c: u32 n ||
 * ciphertext || tag, nonce = prefix || index, AAD = a fixed name || index
 * || final), the last one final, under a key of its own:
 * SHA-256("plsc index cache v1" || master key || salt), a fresh salt per
 * save, so no nonce is ever used twice under one key. Whoever can forge
 * the cache could forge a job file, and a job is verified end to end
 * before it prints anyway.
 *
 * The records' plaintext, end to end, is a sequence of entries:
 *   id (32) | u64 inode | u32 pages | u64 size | u64 created | u64 expires
 *   | sha256 (32) | then owner, workstation, title, printer, format,
 *   page_size, source, idem_key, each u16 length || bytes */
#include "jobstore-private.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pl_random.h"
#include "pl_util.h"

#define JSC_MAGIC "PLJIDX01"
#define JSC_HDR (8 + 16 + PL_JS_PREFIX_LEN)
#define JSC_CHUNK (1024u * 1024u)
#define JSC_FILE_MAX (1024ull * 1024 * 1024) /* a sanity bound, ~4M jobs */
#define JSC_AAD_NAME "plsc-index-cache-v1-............" /* 32 characters */

static int jsc_key(const uint8_t *mkey, const uint8_t *salt, uint8_t *key)
{
	static const char label[] = "plsc index cache v1";
	uint8_t in[sizeof(label) - 1 + PL_JS_KEY_LEN + 16];
	unsigned len = 0;
	memcpy(in, label, sizeof(label) - 1);
	memcpy(in + sizeof(label) - 1, mkey, PL_JS_KEY_LEN);
	memcpy(in + sizeof(label) - 1 + PL_JS_KEY_LEN, salt, 16);
	int ok = EVP_Digest(in, sizeof(in), key, &len, EVP_sha256(), NULL) == 1;
	OPENSSL_cleanse(in, sizeof(in));
	return ok ? 0 : -1;
}

/* ---- encoding ---- */

static void put_str(uint8_t **p, const char *s)
{
	size_t n = strlen(s);
	(*p)[0] = (uint8_t)(n >> 8);
	(*p)[1] = (uint8_t)n;
	memcpy(*p + 2, s, n);
	*p += 2 + n;
}

/* Largest encoding of one entry (PL_JSX_ENTRY_MAX checks it). */
#define JSC_ENTRY_MAX (32 + 8 + 4 + 8 * 3 + 32 + 8 * 2 + sizeof(((pl_job_meta_t *)0)->owner) + \
	sizeof(((pl_job_meta_t *)0)->workstation) + sizeof(((pl_job_meta_t *)0)->title) + \
	sizeof(((pl_job_meta_t *)0)->printer) + sizeof(((pl_job_meta_t *)0)->format) + \
	sizeof(((pl_job_meta_t *)0)->page_size) + sizeof(((pl_job_meta_t *)0)->source) + \
	sizeof(((pl_job_meta_t *)0)->idem_key))

_Static_assert(JSC_ENTRY_MAX <= PL_JSX_ENTRY_MAX, "PL_JSX_ENTRY_MAX too small");

size_t pl_jsx_encode(const pl_job_meta_t *m, uint64_t ino, uint8_t *out)
{
	uint8_t *p = out;
	memcpy(p, m->id, PL_JOB_ID_LEN);
	p += PL_JOB_ID_LEN;
	pl_js_put_u64(p, ino);
	pl_js_put_u32(p + 8, m->pages);
	pl_js_put_u64(p + 12, m->size);
	pl_js_put_u64(p + 20, (uint64_t)m->created_ms);
	pl_js_put_u64(p + 28, (uint64_t)m->expires_ms);
	memcpy(p + 36, m->sha256, 32);
	p += 68;
	put_str(&p, m->owner);
	put_str(&p, m->workstation);
	put_str(&p, m->title);
	put_str(&p, m->printer);
	put_str(&p, m->format);
	put_str(&p, m->page_size);
	put_str(&p, m->source);
	put_str(&p, m->idem_key);
	return (size_t)(p - out);
}

static uint64_t get_u64(const uint8_t *p)
{
	return (uint64_t)pl_js_get_u32(p) << 32 | pl_js_get_u32(p + 4);
}

static int get_str(const uint8_t **p, const uint8_t *end, char *dst, size_t sz)
{
	if (end - *p < 2)
		return -1;
	size_t n = (size_t)(*p)[0] << 8 | (*p)[1];
	if (n >= sz || (size_t)(end - *p - 2) < n || memchr(*p + 2, '\0', n))
		return -1;
	memcpy(dst, *p + 2, n);
	dst[n] = '\0';
	*p += 2 + n;
	return 0;
}

static int jsc_decode(const uint8_t **p, const uint8_t *end, pl_job_meta_t *m,
		      uint64_t *ino)
{
	const uint8_t *q = *p;
	memset(m, 0, sizeof(*m));
	if (end - q < 68 + PL_JOB_ID_LEN)
		return -1;
	memcpy(m->id, q, PL_JOB_ID_LEN);
	q += PL_JOB_ID_LEN;
	*ino = get_u64(q);
	m->pages = pl_js_get_u32(q + 8);
	m->size = get_u64(q + 12);
	m->created_ms = (int64_t)get_u64(q + 20);
	m->expires_ms = (int64_t)get_u64(q + 28);
	memcpy(m->sha256, q + 36, 32);
	q += 68;
	if (get_str(&q, end, m->owner, sizeof(m->owner)) < 0 ||
	    get_str(&q, end, m->workstation, sizeof(m->workstation)) < 0 ||
	    get_str(&q, end, m->title, sizeof(m->title)) < 0 ||
	    get_str(&q, end, m->printer, sizeof(m->printer)) < 0 ||
	    get_str(&q, end, m->format, sizeof(m->format)) < 0 ||
	    get_str(&q, end, m->page_size, sizeof(m->page_size)) < 0 ||
	    get_str(&q, end, m->source, sizeof(m->source)) < 0 ||
	    get_str(&q, end, m->idem_key, sizeof(m->idem_key)) < 0)
		return -1;
	*p = q;
	return 0;
}

/* ---- saving ---- */

typedef struct {
	int fd;
	pl_jsc_aead_t aead;
	uint64_t idx;
	uint8_t *pt, *rec;
	size_t n;
} jsc_writer_t;

static int jsc_flush(jsc_writer_t *w, int final)
{
	if (pl_jsc_seal(&w->aead, w->idx++, final, w->pt, (uint32_t)w->n, w->rec) < 0)
		return -1;
	size_t len = 4 + w->n + PL_JS_TAG_LEN, off = 0;
	while (off < len) {
		ssize_t k = write(w->fd, w->rec + off, len - off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		off += (size_t)k;
	}
	w->n = 0;
	return 0;
}

int pl_jsx_write(const char *dir, const uint8_t *mkey, const uint8_t *pt,
		 size_t n, pl_err_t *err)
{
	char tmp[PATH_MAX], path[PATH_MAX];
	uint8_t hdr[JSC_HDR], key[PL_JS_KEY_LEN];
	jsc_writer_t w = { .fd = -1 };
	int rc = -1;

	if (pl_fmt(tmp, sizeof(tmp), "%s/" PL_JSX_TMP_NAME, dir) < 0 ||
	    pl_fmt(path, sizeof(path), "%s/" PL_JSX_NAME, dir) < 0)
		return pl_js_fail(err, PL_JS_EINVAL, "jobs directory path too long");
	memcpy(hdr, JSC_MAGIC, 8);
	if (pl_random_bytes(hdr + 8, 16 + PL_JS_PREFIX_LEN) < 0 ||
	    jsc_key(mkey, hdr + 8, key) < 0 ||
	    pl_jsc_aead_init(&w.aead, key, hdr + 24, JSC_AAD_NAME, 1) < 0) {
		OPENSSL_cleanse(key, sizeof(key));
		return pl_js_fail(err, PL_JS_EIO, "cannot set up the index cache's key");
	}
	OPENSSL_cleanse(key, sizeof(key));
	w.rec = malloc(4 + JSC_CHUNK + PL_JS_TAG_LEN);
	w.fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (!w.rec || w.fd < 0 || write(w.fd, hdr, sizeof(hdr)) != (ssize_t)sizeof(hdr))
		goto out;
	size_t off = 0;
	do {
		w.n = n - off < JSC_CHUNK ? n - off : JSC_CHUNK;
		w.pt = (uint8_t *)pt + off; /* sealed, never written */
		off += w.n;
		if (jsc_flush(&w, off == n) < 0)
			goto out;
	} while (off < n);
	rc = close(w.fd);
	w.fd = -1;
	if (rc == 0)
		rc = rename(tmp, path);
out:
	if (rc < 0) {
		pl_js_fail(err, PL_JS_EIO, "writing %s: %s", path, strerror(errno));
		unlink(tmp);
	}
	if (w.fd >= 0)
		close(w.fd);
	free(w.rec);
	pl_jsc_aead_free(&w.aead);
	return rc < 0 ? PL_JS_EIO : PL_JS_OK;
}

/* ---- loading ---- */

static int jsc_read_file(const char *path, uint8_t **buf, size_t *len)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	*buf = NULL;
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size < JSC_HDR ||
	    (uint64_t)st.st_size > JSC_FILE_MAX || (*buf = malloc((size_t)st.st_size)) == NULL) {
		close(fd);
		return -1;
	}
	size_t got = 0;
	while (got < (size_t)st.st_size) {
		ssize_t k = read(fd, *buf + got, (size_t)st.st_size - got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		got += (size_t)k;
	}
	close(fd);
	*len = got;
	return got == (size_t)st.st_size ? 0 : -1;
}

/* Decode the entries of the authenticated plaintext. */
static int jsc_take(const uint8_t *pt, size_t n, pl_jsx_t *c)
{
	const uint8_t *p = pt, *end = pt + n;
	size_t cap = 0;
	while (p < end) {
		if (c->n == cap) {
			cap = cap ? cap * 2 : n / 160 + 16; /* about 160 bytes an entry */
			pl_job_meta_t *m = realloc(c->meta, cap * sizeof(*m));
			if (m)
				c->meta = m;
			uint64_t *i = realloc(c->ino, cap * sizeof(*i));
			if (i)
				c->ino = i;
			if (!m || !i)
				return -1;
		}
		if (jsc_decode(&p, end, &c->meta[c->n], &c->ino[c->n]) < 0)
			return -1;
		c->n++;
	}
	return 0;
}

void pl_jsx_free(pl_jsx_t *c)
{
	pl_jsi_free(&c->map);
	free(c->meta);
	free(c->ino);
	memset(c, 0, sizeof(*c));
}

ssize_t pl_jsx_find(const pl_jsx_t *c, const char *id, uint64_t ino)
{
	ssize_t k = pl_jsi_find(&c->map, c->meta, id);
	return k >= 0 && c->ino[k] == ino ? k : -1;
}

int pl_jsx_load(const char *dir, const uint8_t *mkey, pl_jsx_t *c)
{
	char path[PATH_MAX];
	uint8_t *buf = NULL, *pt = NULL, key[PL_JS_KEY_LEN];
	size_t len = 0, off = JSC_HDR, ptn = 0;
	pl_jsc_aead_t a = { 0 };
	int rc = -1, final = 0;

	memset(c, 0, sizeof(*c));
	if (pl_fmt(path, sizeof(path), "%s/" PL_JSX_NAME, dir) < 0 ||
	    jsc_read_file(path, &buf, &len) < 0 || memcmp(buf, JSC_MAGIC, 8) != 0 ||
	    jsc_key(mkey, buf + 8, key) < 0)
		goto out;
	int ok = pl_jsc_aead_init(&a, key, buf + 24, JSC_AAD_NAME, 0) == 0;
	OPENSSL_cleanse(key, sizeof(key));
	/* The plaintext is never longer than the file. */
	if (!ok || (pt = malloc(len)) == NULL)
		goto out;
	for (uint64_t idx = 0; off < len && !final; idx++) {
		if (len - off < 4 + PL_JS_TAG_LEN)
			goto out;
		uint32_t n = pl_js_get_u32(buf + off);
		if (n > JSC_CHUNK || len - off - 4 < (size_t)n + PL_JS_TAG_LEN)
			goto out;
		final = off + 4 + n + PL_JS_TAG_LEN == len;
		if (pl_jsc_open(&a, idx, final, buf + off + 4, n, pt + ptn) < 0)
			goto out;
		ptn += n;
		off += 4 + (size_t)n + PL_JS_TAG_LEN;
	}
	rc = final && jsc_take(pt, ptn, c) == 0 &&
	     pl_jsi_reserve(&c->map, c->meta, 0, c->n) == 0 ? 0 : -1;
	for (size_t k = 0; rc == 0 && k < c->n; k++)
		pl_jsi_put(&c->map, c->meta, k);
out:
	if (rc < 0)
		pl_jsx_free(c);
	if (pt) {
		OPENSSL_cleanse(pt, ptn);
		free(pt);
	}
	free(buf);
	pl_jsc_aead_free(&a);
	return rc;
}
