/* jobstore: the on-disk format's cryptography (header and key wrap,
 * records), the master key file and the metadata encoding. The layout is
 * described in jobstore-private.h. */
#include "jobstore-private.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pl_random.h"
#include "pl_util.h"

/* ---- one-shot AES-256-GCM, for wrapping data keys ---- */

static int gcm_oneshot(int enc, const uint8_t *key, const uint8_t *nonce,
		       const uint8_t *aad, int aadlen, const uint8_t *in,
		       int n, uint8_t *out, uint8_t *tag)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int len, ok;

	if (ctx == NULL)
		return -1;
	ok = EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce,
			       enc) == 1 &&
	     EVP_CipherUpdate(ctx, NULL, &len, aad, aadlen) == 1 &&
	     EVP_CipherUpdate(ctx, out, &len, in, n) == 1;
	if (ok && !enc)
		ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG,
					 PL_JS_TAG_LEN, tag) == 1;
	/* For decryption Final is where the tag is checked. */
	ok = ok && EVP_CipherFinal_ex(ctx, out + n, &len) == 1;
	if (ok && enc)
		ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG,
					 PL_JS_TAG_LEN, tag) == 1;
	EVP_CIPHER_CTX_free(ctx);
	if (!ok && !enc)
		OPENSSL_cleanse(out, (size_t)n);
	return ok ? 0 : -1;
}

/* ---- header ---- */

/* The wrap authenticates every header field before it (version, chunk
 * size, nonce prefix) and the job id, so no header byte can change and a
 * file renamed to another id does not open. */
static void wrap_aad(const uint8_t *hdr, const char *id, uint8_t *aad)
{
	memcpy(aad, hdr, PL_JS_OFF_WRAP);
	memcpy(aad + PL_JS_OFF_WRAP, id, PL_JOB_ID_LEN);
}

int pl_jsc_header_make(const uint8_t *mkey, const char *id,
		       uint32_t chunk_size, uint8_t *hdr, uint8_t *dkey)
{
	uint8_t aad[PL_JS_OFF_WRAP + PL_JOB_ID_LEN];
	uint8_t *nonce = hdr + PL_JS_OFF_WRAP;
	uint8_t *ct = nonce + PL_JS_NONCE_LEN;
	/* One call for all three (each costs a lock and a DRBG round, per
	 * job): prefix || wrap nonce || data key. */
	uint8_t rnd[PL_JS_PREFIX_LEN + PL_JS_NONCE_LEN + PL_JS_KEY_LEN];

	memcpy(hdr, PL_JS_MAGIC, PL_JS_MAGIC_LEN);
	pl_js_put_u32(hdr + PL_JS_OFF_VERSION, PL_JS_VERSION);
	pl_js_put_u32(hdr + PL_JS_OFF_CHUNK, chunk_size);
	if (pl_random_bytes(rnd, sizeof(rnd)) < 0)
		return -1;
	memcpy(hdr + PL_JS_OFF_PREFIX, rnd, PL_JS_PREFIX_LEN);
	memcpy(nonce, rnd + PL_JS_PREFIX_LEN, PL_JS_NONCE_LEN);
	memcpy(dkey, rnd + PL_JS_PREFIX_LEN + PL_JS_NONCE_LEN, PL_JS_KEY_LEN);
	OPENSSL_cleanse(rnd, sizeof(rnd));
	wrap_aad(hdr, id, aad);
	return gcm_oneshot(1, mkey, nonce, aad, (int)sizeof(aad), dkey,
			   PL_JS_KEY_LEN, ct, ct + PL_JS_KEY_LEN);
}

int pl_jsc_header_open(const uint8_t *mkey, const char *id,
		       const uint8_t *hdr, uint8_t *dkey,
		       uint32_t *chunk_size, pl_err_t *err)
{
	uint8_t aad[PL_JS_OFF_WRAP + PL_JOB_ID_LEN];
	const uint8_t *nonce = hdr + PL_JS_OFF_WRAP;
	const uint8_t *ct = nonce + PL_JS_NONCE_LEN;
	uint8_t tag[PL_JS_TAG_LEN];
	uint32_t v = pl_js_get_u32(hdr + PL_JS_OFF_VERSION);

	if (memcmp(hdr, PL_JS_MAGIC, PL_JS_MAGIC_LEN) != 0)
		return pl_js_fail(err, PL_JS_ECORRUPT,
				  "job %s: not a job file (bad magic)", id);
	if (v != PL_JS_VERSION)
		return pl_js_fail(err, PL_JS_ECORRUPT,
				  "job %s: unknown format version %u", id,
				  (unsigned)v);
	wrap_aad(hdr, id, aad);
	memcpy(tag, ct + PL_JS_KEY_LEN, sizeof(tag));
	if (gcm_oneshot(0, mkey, nonce, aad, (int)sizeof(aad), ct,
			PL_JS_KEY_LEN, dkey, tag) < 0)
		return pl_js_fail(err, PL_JS_ECORRUPT,
				  "job %s: header failed authentication (damaged, "
				  "shredded, or another master key)",
				  id);
	*chunk_size = pl_js_get_u32(hdr + PL_JS_OFF_CHUNK);
	return PL_JS_OK;
}

/* ---- records ---- */

int pl_jsc_aead_init(pl_jsc_aead_t *a, const uint8_t *dkey,
		     const uint8_t *prefix, const char *id, int enc)
{
	memcpy(a->prefix, prefix, PL_JS_PREFIX_LEN);
	memcpy(a->id, id, PL_JOB_ID_LEN);
	a->id[PL_JOB_ID_LEN] = '\0';
	a->enc = enc;
	if ((a->ctx = EVP_CIPHER_CTX_new()) == NULL)
		return -1;
	if (EVP_CipherInit_ex(a->ctx, EVP_aes_256_gcm(), NULL, dkey, NULL,
			      enc) != 1) {
		pl_jsc_aead_free(a);
		return -1;
	}
	return 0;
}

void pl_jsc_aead_free(pl_jsc_aead_t *a)
{
	/* EVP_CIPHER_CTX_free cleanses the key schedule. */
	EVP_CIPHER_CTX_free(a->ctx);
	a->ctx = NULL;
}

/* Nonce and AAD of record idx: the index is in both, and the AAD carries
 * the id and the final flag, so a record is only valid at its own place
 * in its own job, and only the metadata record can end a job. */
static int record_start(pl_jsc_aead_t *a, uint64_t idx, int final)
{
	uint8_t nonce[PL_JS_NONCE_LEN];
	uint8_t aad[PL_JOB_ID_LEN + 8 + 1];
	int len;

	memcpy(nonce, a->prefix, PL_JS_PREFIX_LEN);
	pl_js_put_u64(nonce + PL_JS_PREFIX_LEN, idx);
	memcpy(aad, a->id, PL_JOB_ID_LEN);
	pl_js_put_u64(aad + PL_JOB_ID_LEN, idx);
	aad[PL_JOB_ID_LEN + 8] = final ? 1 : 0;
	if (EVP_CipherInit_ex(a->ctx, NULL, NULL, NULL, nonce, a->enc) != 1 ||
	    EVP_CipherUpdate(a->ctx, NULL, &len, aad, (int)sizeof(aad)) != 1)
		return -1;
	return 0;
}

int pl_jsc_seal(pl_jsc_aead_t *a, uint64_t idx, int final,
		const uint8_t *pt, uint32_t n, uint8_t *rec)
{
	uint8_t *ct = rec + 4;
	int len;

	pl_js_put_u32(rec, n);
	if (record_start(a, idx, final) < 0 ||
	    EVP_CipherUpdate(a->ctx, ct, &len, pt, (int)n) != 1 ||
	    EVP_CipherFinal_ex(a->ctx, ct + n, &len) != 1 ||
	    EVP_CIPHER_CTX_ctrl(a->ctx, EVP_CTRL_AEAD_GET_TAG, PL_JS_TAG_LEN,
				ct + n) != 1)
		return -1;
	return 0;
}

int pl_jsc_open(pl_jsc_aead_t *a, uint64_t idx, int final,
		const uint8_t *body, uint32_t n, uint8_t *pt)
{
	uint8_t tag[PL_JS_TAG_LEN];
	int len;

	memcpy(tag, body + n, sizeof(tag));
	if (record_start(a, idx, final) < 0 ||
	    EVP_CipherUpdate(a->ctx, pt, &len, body, (int)n) != 1 ||
	    EVP_CIPHER_CTX_ctrl(a->ctx, EVP_CTRL_AEAD_SET_TAG, PL_JS_TAG_LEN,
				tag) != 1 ||
	    EVP_CipherFinal_ex(a->ctx, pt + n, &len) != 1) {
		OPENSSL_cleanse(pt, n);
		return -1;
	}
	return 0;
}

/* ---- master key ---- */

/* Create the key under a temporary name, then link() it into place:
 * unlike rename, link never replaces a key another process created
 * meanwhile (replacing it would orphan every job sealed with it). */
static int master_create(const char *path, pl_err_t *err)
{
	uint8_t key[PL_JS_KEY_LEN], r[4];
	char tmp[PATH_MAX];
	int fd, rc = PL_JS_OK;

	if (pl_random_bytes(r, sizeof(r)) < 0 ||
	    pl_fmt(tmp, sizeof(tmp), "%s.tmp-%02x%02x%02x%02x", path, r[0],
		   r[1], r[2], r[3]) < 0)
		return pl_js_fail(err, PL_JS_EKEY,
				  "cannot create master key %s", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		  0600);
	if (fd < 0)
		return pl_js_fail(err, PL_JS_EKEY,
				  "cannot create master key %s: %s", tmp,
				  strerror(errno));
	/* fchmod: a umask cannot widen 0600, but one could make it unreadable. */
	if (pl_random_bytes(key, sizeof(key)) < 0 || fchmod(fd, 0600) < 0 ||
	    pl_write_all(fd, key, sizeof(key)) < 0 || fsync(fd) < 0)
		rc = pl_js_fail(err, PL_JS_EKEY, "cannot write master key %s: %s",
				tmp, strerror(errno));
	OPENSSL_cleanse(key, sizeof(key));
	if (close(fd) < 0 && rc == PL_JS_OK)
		rc = pl_js_fail(err, PL_JS_EKEY, "cannot write master key %s: %s",
				tmp, strerror(errno));
	if (rc == PL_JS_OK && link(tmp, path) < 0 && errno != EEXIST)
		rc = pl_js_fail(err, PL_JS_EKEY, "cannot create master key %s: %s",
				path, strerror(errno));
	unlink(tmp);
	if (rc == PL_JS_OK && pl_fsync_dir_of(path) < 0)
		rc = pl_js_fail(err, PL_JS_EKEY, "cannot sync the directory of %s: %s",
				path, strerror(errno));
	return rc;
}

static int master_check(const char *path, int fd, pl_err_t *err)
{
	struct stat st;
	unsigned mode;

	if (fstat(fd, &st) < 0)
		return pl_js_fail(err, PL_JS_EKEY, "master key %s: %s", path,
				  strerror(errno));
	mode = (unsigned)(st.st_mode & 07777);
	if (!S_ISREG(st.st_mode))
		return pl_js_fail(err, PL_JS_EKEY,
				  "master key %s is not a regular file", path);
	if (mode & 044)
		return pl_js_fail(err, PL_JS_EKEY,
				  "master key %s is readable by group or others "
				  "(mode %04o); chmod 600 it",
				  path, mode);
	if (mode & 077)
		return pl_js_fail(err, PL_JS_EKEY,
				  "master key %s is writable or executable by "
				  "group or others (mode %04o); chmod 600 it",
				  path, mode);
	if (st.st_size != PL_JS_KEY_LEN)
		return pl_js_fail(err, PL_JS_EKEY,
				  "master key %s is %lld bytes, expected %d "
				  "(damaged or not a key; restore it from backup)",
				  path, (long long)st.st_size, PL_JS_KEY_LEN);
	return PL_JS_OK;
}

static int master_read(const char *path, int fd, uint8_t *key, pl_err_t *err)
{
	size_t got = 0;

	while (got < PL_JS_KEY_LEN) {
		ssize_t r = read(fd, key + got, PL_JS_KEY_LEN - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			OPENSSL_cleanse(key, PL_JS_KEY_LEN);
			return pl_js_fail(err, PL_JS_EKEY,
					  "cannot read master key %s: %s", path,
					  r < 0 ? strerror(errno) : "short file");
		}
		got += (size_t)r;
	}
	return PL_JS_OK;
}

static int master_parent(const char *path, pl_err_t *err)
{
	char dir[PATH_MAX];
	char *slash;

	if (pl_fmt(dir, sizeof(dir), "%s", path) < 0)
		return pl_js_fail(err, PL_JS_EKEY, "master key path too long");
	if ((slash = strrchr(dir, '/')) == NULL || slash == dir)
		return PL_JS_OK;
	*slash = '\0';
	if (pl_mkdir_p(dir, 0700) < 0)
		return pl_js_fail(err, PL_JS_EKEY, "cannot create %s: %s", dir,
				  strerror(errno));
	return PL_JS_OK;
}

int pl_jsc_master_load(const char *path, uint8_t *key, pl_err_t *err)
{
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		if ((rc = master_parent(path, err)) < 0 ||
		    (rc = master_create(path, err)) < 0)
			return rc;
		fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	if (fd < 0)
		return pl_js_fail(err, PL_JS_EKEY, "cannot open master key %s: %s",
				  path, strerror(errno));
	rc = master_check(path, fd, err);
	if (rc == PL_JS_OK)
		rc = master_read(path, fd, key, err);
	close(fd);
	return rc;
}

/* ---- metadata ---- */

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static int hex_decode(const char *s, uint8_t *out, size_t n)
{
	if (strlen(s) != 2 * n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int hi = hex_value(s[2 * i]), lo = hex_value(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

int pl_jsc_meta_encode(const pl_job_meta_t *m, const char *opts, uint8_t *buf,
		       size_t cap, size_t *len, pl_err_t *err)
{
	char sha[2 * sizeof(m->sha256) + 1];
	json_t *o;
	size_t n;

	pl_hex(m->sha256, sizeof(m->sha256), sha);
	/* "s" fails on a string that is not UTF-8: reported, not stored. */
	o = json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, "
		      "s:I, s:I, s:I, s:s}",
		      "v", 1, "id", m->id, "owner", m->owner, "workstation",
		      m->workstation, "title", m->title, "printer", m->printer,
		      "format", m->format, "page_size", m->page_size, "source",
		      m->source, "pages", (json_int_t)m->pages, "size",
		      (json_int_t)m->size, "created_ms",
		      (json_int_t)m->created_ms, "expires_ms",
		      (json_int_t)m->expires_ms, "sha256", sha);
	if (o == NULL)
		return pl_js_fail(err, PL_JS_EINVAL,
				  "job metadata has a field that is not valid UTF-8");
	/* Optional (absent in older files): only jobs submitted with one. */
	if (m->idem_key[0] &&
	    json_object_set_new(o, "idem_key", json_string(m->idem_key)) < 0) {
		json_decref(o);
		return pl_js_fail(err, PL_JS_EINVAL, "bad idempotency key");
	}
	/* Optional too, so that a file without print options is byte for
	 * byte what it was before they existed, and an older build reading a
	 * newer file just ignores the key. */
	if (opts && opts[0] &&
	    json_object_set_new(o, "options", json_string(opts)) < 0) {
		json_decref(o);
		return pl_js_fail(err, PL_JS_EINVAL, "bad print options");
	}
	n = json_dumpb(o, (char *)buf, cap, JSON_COMPACT);
	json_decref(o);
	if (n == 0 || n > cap)
		return pl_js_fail(err, PL_JS_EINVAL, "job metadata too large");
	*len = n;
	return PL_JS_OK;
}

static int meta_str(json_t *o, const char *key, char *dst, size_t sz)
{
	const char *s = json_string_value(json_object_get(o, key));

	if (s == NULL || strlen(s) >= sz)
		return -1;
	memcpy(dst, s, strlen(s) + 1);
	return 0;
}

static int meta_int(json_t *o, const char *key, json_int_t min,
		    json_int_t max, json_int_t *v)
{
	json_t *j = json_object_get(o, key);

	if (!json_is_integer(j))
		return -1;
	*v = json_integer_value(j);
	return *v >= min && *v <= max ? 0 : -1;
}

int pl_jsc_meta_decode(const uint8_t *buf, size_t len, pl_job_meta_t *m,
		       char *opts, size_t osz)
{
	json_t *o = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES,
			       NULL);
	json_int_t v, pages, size, created, expires;
	char sha[2 * sizeof(m->sha256) + 1];
	int rc = -1;

	memset(m, 0, sizeof(*m));
	if (opts)
		opts[0] = '\0';
	if (json_is_object(o) && meta_int(o, "v", 1, 1, &v) == 0 &&
	    meta_str(o, "id", m->id, sizeof(m->id)) == 0 &&
	    meta_str(o, "owner", m->owner, sizeof(m->owner)) == 0 &&
	    meta_str(o, "workstation", m->workstation,
		     sizeof(m->workstation)) == 0 &&
	    meta_str(o, "title", m->title, sizeof(m->title)) == 0 &&
	    meta_str(o, "printer", m->printer, sizeof(m->printer)) == 0 &&
	    meta_str(o, "format", m->format, sizeof(m->format)) == 0 &&
	    meta_str(o, "page_size", m->page_size, sizeof(m->page_size)) == 0 &&
	    meta_str(o, "source", m->source, sizeof(m->source)) == 0 &&
	    meta_int(o, "pages", 0, UINT32_MAX, &pages) == 0 &&
	    meta_int(o, "size", 0, INT64_MAX, &size) == 0 &&
	    meta_int(o, "created_ms", INT64_MIN, INT64_MAX, &created) == 0 &&
	    meta_int(o, "expires_ms", INT64_MIN, INT64_MAX, &expires) == 0 &&
	    meta_str(o, "sha256", sha, sizeof(sha)) == 0 &&
	    hex_decode(sha, m->sha256, sizeof(m->sha256)) == 0) {
		m->pages = (uint32_t)pages;
		m->size = (uint64_t)size;
		if (json_object_get(o, "idem_key") != NULL &&
		    meta_str(o, "idem_key", m->idem_key, sizeof(m->idem_key)) < 0)
			goto out;
		if (opts && json_object_get(o, "options") != NULL &&
		    meta_str(o, "options", opts, osz) < 0)
			goto out;
		m->created_ms = created;
		m->expires_ms = expires;
		rc = 0;
	}
out:
	json_decref(o);
	return rc;
}
