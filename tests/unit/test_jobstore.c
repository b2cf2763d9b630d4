/* pl_jobstore: round trips, recovery, tamper detection, the master key,
 * quotas, crypto-shredding, expiry and concurrent writers. Every test has
 * its own mkdtemp directory: <base>/jobs and <base>/master.key. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pl_jobstore.h"

/* The documented format (jobstore-private.h), restated so that a change
 * of layout is a deliberate one. */
#define HDR_LEN 80
#define OFF_WRAP 20
#define WRAP_LEN 60
#define REC_OVERHEAD 20
#define TRAILER_LEN 12

#define CS 64 /* a small chunk size: many records in a small file */
#define MiB (1024ull * 1024)

typedef struct {
	char base[PATH_MAX];
	char dir[PATH_MAX + 64];
	char key[PATH_MAX + 64];
	pl_jobstore_opts_t o;
} fx_t;

/* ---- fixture and file helpers ---- */

static int setup(void **state)
{
	const char *tmp = getenv("TMPDIR");
	fx_t *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	snprintf(f->base, sizeof(f->base), "%s/test_jobstore.XXXXXX",
		 tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	if (mkdtemp(f->base) == NULL) {
		free(f);
		return -1;
	}
	snprintf(f->dir, sizeof(f->dir), "%s/jobs", f->base);
	snprintf(f->key, sizeof(f->key), "%s/master.key", f->base);
	f->o.dir = f->dir;
	f->o.master_key = f->key;
	f->o.chunk_size = CS;
	f->o.verify_on_open = 1; /* so data tampering is quarantined at reopen */
	*state = f;
	return 0;
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static int teardown(void **state)
{
	fx_t *f = *state;

	nftw(f->base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static pl_jobstore_t *store_open(const fx_t *f)
{
	pl_jobstore_t *js = NULL;
	pl_err_t err = { "" };
	int rc = pl_jobstore_open(&js, &f->o, &err);

	if (rc != 0)
		fail_msg("open: %d %s", rc, err.msg);
	return js;
}

static void pattern(uint8_t *p, size_t n, uint32_t seed)
{
	uint32_t x = seed * 2654435761u + 1;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (uint8_t)x;
	}
}

static void sha256(const void *p, size_t n, uint8_t *md)
{
	assert_int_equal(EVP_Digest(p, n, md, NULL, EVP_sha256(), NULL), 1);
}

static pl_job_meta_t meta_for(const char *owner, uint64_t size)
{
	pl_job_meta_t m;

	memset(&m, 0, sizeof(m));
	snprintf(m.owner, sizeof(m.owner), "%s", owner);
	snprintf(m.workstation, sizeof(m.workstation), "ws-%s", owner);
	snprintf(m.title, sizeof(m.title), "report of %s", owner);
	snprintf(m.format, sizeof(m.format), "application/pdf");
	snprintf(m.source, sizeof(m.source), "OfflinePrint");
	m.pages = 3;
	m.size = size;
	return m;
}

/* Store n bytes in pieces of piece bytes; returns the committed meta. */
static pl_job_meta_t put_as(pl_jobstore_t *js, pl_job_meta_t m,
			    const uint8_t *data, size_t piece)
{
	pl_jobw_t *w = NULL;
	pl_job_meta_t out;
	pl_err_t err = { "" };
	uint8_t md[32];
	int rc;

	sha256(data, (size_t)m.size, md);
	rc = pl_jobstore_begin(js, &m, &w, &err);
	if (rc != 0)
		fail_msg("begin: %d %s", rc, err.msg);
	for (size_t off = 0; off < m.size; off += piece) {
		size_t k = m.size - off < piece ? (size_t)(m.size - off) : piece;
		if ((rc = pl_jobw_write(w, data + off, k, &err)) != 0)
			fail_msg("write: %d %s", rc, err.msg);
	}
	if ((rc = pl_jobw_commit(w, md, 1, &out, &err)) != 0)
		fail_msg("commit: %d %s", rc, err.msg);
	return out;
}

static pl_job_meta_t put(pl_jobstore_t *js, const char *owner,
			 const uint8_t *data, size_t n)
{
	return put_as(js, meta_for(owner, n), data, 1000);
}

/* Verify a whole job (what a release does before the first byte). */
static int verify(pl_jobstore_t *js, const char *id, pl_err_t *err)
{
	pl_jobr_t *r = NULL;
	int rc = pl_jobstore_read_verified(js, id, &r, err);
	pl_jobr_close(r);
	return rc;
}

/* Read a whole job with reads of piece bytes and compare; skip: with
 * pl_jobr_skip_digest. */
static void check_read_opt(pl_jobstore_t *js, const char *id,
			   const uint8_t *data, size_t n, size_t piece, int skip)
{
	pl_jobr_t *r = NULL;
	pl_err_t err = { "" };
	uint8_t *buf = malloc(n + 1);
	size_t got = 0;
	ssize_t k;

	assert_non_null(buf);
	assert_int_equal(pl_jobstore_read_open(js, id, &r, &err), 0);
	if (skip)
		pl_jobr_skip_digest(r);
	while ((k = pl_jobr_read(r, buf + got, got < n ? piece : 1, &err)) > 0) {
		got += (size_t)k;
		assert_true(got <= n);
	}
	if (k < 0)
		fail_msg("read: %zd %s", k, err.msg);
	assert_int_equal(got, n);
	assert_memory_equal(buf, data, n);
	/* The end stays the end. */
	assert_int_equal(pl_jobr_read(r, buf, 1, &err), 0);
	pl_jobr_close(r);
	free(buf);
}

static void check_read(pl_jobstore_t *js, const char *id,
		       const uint8_t *data, size_t n, size_t piece)
{
	check_read_opt(js, id, data, n, piece, 0);
}

static void job_file(const fx_t *f, const char *id, char *path, size_t sz)
{
	snprintf(path, sz, "%s/%s.job", f->dir, id);
}

static uint8_t *slurp(const char *path, size_t *n)
{
	struct stat st;
	uint8_t *p;
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	p = malloc((size_t)st.st_size + 1);
	assert_non_null(p);
	assert_int_equal(read(fd, p, (size_t)st.st_size), st.st_size);
	close(fd);
	*n = (size_t)st.st_size;
	return p;
}

static void spit(const char *path, const void *p, size_t n, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, p, n), (ssize_t)n);
	close(fd);
}

static int exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* Files in dir whose name starts with prefix; the last one's name goes
 * to last (if not NULL). */
static int find_prefix(const char *dir, const char *prefix, char *last,
		       size_t sz)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		/* the release journal is the store's, not a job's */
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
		    strcmp(de->d_name, "release.journal") == 0 ||
		    strcmp(de->d_name, "index.cache") == 0 ||
		    strncmp(de->d_name, prefix, strlen(prefix)) != 0)
			continue;
		if (last != NULL)
			snprintf(last, sz, "%s/%s", dir, de->d_name);
		n++;
	}
	closedir(d);
	return n;
}

static int count_prefix(const char *dir, const char *prefix)
{
	return find_prefix(dir, prefix, NULL, 0);
}

/* Uploads on disk: "<id>.job" files not yet readable by their owner (the
 * writer makes a job 0600 when it seals it). The last one's path goes to
 * last (if not NULL). */
static int find_uploads(const char *dir, char *last, size_t sz)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	struct stat st;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		if (len < 4 || strcmp(de->d_name + len - 4, ".job") != 0 ||
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    (st.st_mode & S_IRUSR))
			continue;
		if (last != NULL)
			snprintf(last, sz, "%s/%s", dir, de->d_name);
		n++;
	}
	closedir(d);
	return n;
}

static int count_uploads(const char *dir)
{
	return find_uploads(dir, NULL, 0);
}

static void expect_err(int rc, int want, const pl_err_t *err,
		       const char *substr)
{
	if (rc != want || strstr(err->msg, substr) == NULL)
		fail_msg("expected %d \"%s\", got %d \"%s\"", want, substr, rc,
			 err->msg);
}

/* ---- round trips ---- */

static void test_roundtrip_sizes(void **state)
{
	fx_t *f = *state;
	const size_t big = 3 * MiB + 5;
	const size_t sizes[] = { 0, 1, 1023, 1024, 1025, 2048, big };
	pl_jobstore_t *js;
	pl_err_t err = { "" };
	uint8_t *data = malloc(big), md[32];

	assert_non_null(data);
	pattern(data, big, 1);
	f->o.chunk_size = 1024;
	f->o.expiry_ms = 3600 * 1000;
	js = store_open(f);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		pl_job_meta_t m = put(js, "alice", data, sizes[i]);
		assert_int_equal(strlen(m.id), PL_JOB_ID_LEN);
		assert_int_equal(strspn(m.id, "0123456789abcdef"), PL_JOB_ID_LEN);
		assert_int_equal(m.size, sizes[i]);
		assert_string_equal(m.owner, "alice");
		assert_int_equal(m.expires_ms - m.created_ms, 3600 * 1000);
		sha256(data, sizes[i], md);
		assert_memory_equal(m.sha256, md, 32);
		assert_int_equal(verify(js, m.id, &err), 0);
		check_read(js, m.id, data, sizes[i], 700);
		check_read(js, m.id, data, sizes[i], 1 << 20);
		check_read_opt(js, m.id, data, sizes[i], 700, 1);
	}
	assert_int_equal(pl_jobstore_bytes(js, NULL),
			 0 + 1 + 1023 + 1024 + 1025 + 2048 + big);
	/* No plaintext on disk: a run of the data is in no job file. */
	{
		char path[PATH_MAX * 2];
		pl_job_meta_t *l;
		size_t n, len;
		pl_jobstore_list(js, NULL, &l, &n);
		assert_int_equal(n, 7);
		job_file(f, l[6].id, path, sizeof(path));
		uint8_t *file = slurp(path, &len);
		assert_true(len > big);
		assert_null(memmem(file, len, data + 4096, 32));
		free(file);
		free(l);
	}
	pl_jobstore_close(js);
	free(data);
}

static void test_reopen_same_meta(void **state)
{
	fx_t *f = *state;
	pl_jobstore_t *js = store_open(f);
	pl_job_meta_t a, b, c, got, *l;
	uint8_t data[3000];
	size_t n;

	pattern(data, sizeof(data), 2);
	a = meta_for("alice", 3000);
	/* Strings JSON must escape, and UTF-8, come back unchanged. */
	snprintf(a.title, sizeof(a.title), "Übersicht \"Q3\" \\ tab\there ✓");
	snprintf(a.printer, sizeof(a.printer), "hall-2");
	snprintf(a.page_size, sizeof(a.page_size), "iso_a4_210x297mm");
	a.pages = 4000000000u;
	a = put_as(js, a, data, 333);
	b = put(js, "bob", data, 0);
	c = put(js, "alice", data, 1);
	pl_jobstore_close(js);

	js = store_open(f);
	assert_int_equal(pl_jobstore_corrupt_count(js), 0);
	assert_int_equal(pl_jobstore_get(js, a.id, &got), 0);
	assert_memory_equal(&got, &a, sizeof(got));
	assert_int_equal(pl_jobstore_get(js, b.id, &got), 0);
	assert_memory_equal(&got, &b, sizeof(got));
	assert_int_equal(pl_jobstore_get(js, c.id, &got), 0);
	assert_memory_equal(&got, &c, sizeof(got));
	check_read(js, a.id, data, 3000, 100);
	assert_int_equal(pl_jobstore_list(js, NULL, &l, &n), 0);
	assert_int_equal(n, 3);
	free(l);
	assert_int_equal(pl_jobstore_bytes(js, NULL), 3001);
	assert_int_equal(pl_jobstore_bytes(js, "alice"), 3001);
	assert_int_equal(pl_jobstore_bytes(js, "bob"), 0);
	/* the counts come back with the index, and follow it */
	assert_int_equal(pl_jobstore_count(js, NULL), 3);
	assert_int_equal(pl_jobstore_count(js, "alice"), 2);
	assert_int_equal(pl_jobstore_count(js, "bob"), 1);
	assert_int_equal(pl_jobstore_count(js, "carol"), 0);
	/* New jobs stay newer than recovered ones. */
	assert_true(put(js, "bob", data, 5).created_ms > c.created_ms);
	assert_int_equal(pl_jobstore_count(js, NULL), 4);
	assert_int_equal(pl_jobstore_count(js, "bob"), 2);
	{
		pl_err_t err = { "" };
		assert_int_equal(pl_jobstore_delete(js, b.id, &err), 0);
	}
	assert_int_equal(pl_jobstore_count(js, NULL), 3);
	assert_int_equal(pl_jobstore_count(js, "bob"), 1);
	pl_jobstore_close(js);
}

static void test_list_owner_oldest_first(void **state)
{
	fx_t *f = *state;
	pl_jobstore_t *js = store_open(f);
	const char *owners[] = { "alice", "bob", "alice", "carol", "alice" };
	char ids[5][PL_JOB_ID_LEN + 1];
	pl_job_meta_t *l;
	uint8_t data[10] = { 0 };
	size_t n;

	for (int i = 0; i < 5; i++)
		strcpy(ids[i], put(js, owners[i], data, sizeof(data)).id);
	for (int pass = 0; pass < 2; pass++) {
		assert_int_equal(pl_jobstore_list(js, "alice", &l, &n), 0);
		assert_int_equal(n, 3);
		assert_string_equal(l[0].id, ids[0]);
		assert_string_equal(l[1].id, ids[2]);
		assert_string_equal(l[2].id, ids[4]);
		assert_true(l[0].created_ms < l[1].created_ms);
		assert_true(l[1].created_ms < l[2].created_ms);
		free(l);
		assert_int_equal(pl_jobstore_list(js, NULL, &l, &n), 0);
		assert_int_equal(n, 5);
		for (int i = 0; i < 5; i++)
			assert_string_equal(l[i].id, ids[i]);
		free(l);
		assert_int_equal(pl_jobstore_list(js, "dave", &l, &n), 0);
		assert_int_equal(n, 0);
		free(l);
		/* The same after a restart. */
		pl_jobstore_close(js);
		js = store_open(f);
	}
	pl_jobstore_close(js);
}

/* Every page as a slice of the full listing, oldest or newest first; a
 * filter (keep) applies to every page and to the total; claimed jobs are
 * off offer; the cursor is a position, so a job deleted behind it moves
 * nothing. */
static int keep_low(const pl_job_meta_t *m, void *arg)
{
	(*(int *)arg)++;
	return m->id[0] < '8';
}

static void walk_pages(pl_jobstore_t *js, const char *owner, int newest, size_t limit,
		       int filter)
{
	pl_job_meta_t *all, *pg;
	size_t nall, n, seen = 0, want = 0;
	int calls = 0;
	assert_int_equal(pl_jobstore_list(js, owner, &all, &nall), 0);
	for (size_t i = 0; i < nall; i++)
		want += !filter || all[i].id[0] < '8';
	pl_jobstore_page_t q = { .owner = owner, .newest_first = newest, .limit = limit,
				 .keep = filter ? keep_low : NULL, .keep_arg = &calls };
	char cur[PL_JOB_ID_LEN + 1] = "";
	for (int more = 1; more;) {
		pl_jobstore_page_info_t info;
		assert_int_equal(pl_jobstore_list_page(js, &q, &pg, &n, &info), 0);
		assert_int_equal(info.total, want);
		assert_true(n <= limit);
		for (size_t k = 0; k < n; k++) {
			/* the next job of the full listing (filtered) */
			size_t i;
			do {
				assert_true(seen < nall);
				i = newest ? nall - 1 - seen : seen;
				seen++;
			} while (filter && all[i].id[0] >= '8');
			assert_string_equal(pg[k].id, all[i].id);
		}
		more = info.more;
		if (n) {
			strcpy(cur, pg[n - 1].id);
			q.after_id = cur;
			q.after_ms = pg[n - 1].created_ms;
		}
		free(pg);
	}
	for (; seen < nall; seen++) /* none left but filtered ones */
		assert_true(filter && all[newest ? nall - 1 - seen : seen].id[0] >= '8');
	assert_true(!filter || calls > 0);
	free(all);
}

static void test_list_page(void **state)
{
	fx_t *f = *state;
	enum { N = 90 };
	pl_jobstore_t *js = store_open(f);
	pl_job_meta_t m[N], got, *pg;
	uint8_t data[3] = { 1 };
	pl_err_t err;
	size_t n;
	for (int i = 0; i < N; i++)
		m[i] = put(js, i % 3 ? "odd" : "even", data, sizeof(data));
	/* Being released: off offer, in no page. */
	assert_int_equal(pl_jobstore_claim(js, m[4].id, 0, &got, &err), 0);
	for (int newest = 0; newest <= 1; newest++)
		for (size_t limit = 1; limit <= 128; limit = limit * 3 + 1)
			for (int filter = 0; filter <= 1; filter++) {
				walk_pages(js, NULL, newest, limit, filter);
				walk_pages(js, "odd", newest, limit, filter);
			}
	walk_pages(js, "nobody", 0, 10, 0);

	/* The newest job of an owner: a page of one, newest first. */
	pl_jobstore_page_t q = { .owner = "even", .newest_first = 1, .limit = 1 };
	pl_jobstore_page_info_t info;
	assert_int_equal(pl_jobstore_list_page(js, &q, &pg, &n, &info), 0);
	assert_int_equal(n, 1);
	assert_string_equal(pg[0].id, m[87].id);
	assert_true(info.more);
	assert_int_equal(info.total, N / 3);
	free(pg);

	/* A cursor on a job deleted since: the page goes on after it. */
	q = (pl_jobstore_page_t){ .owner = NULL, .limit = 2, .after_id = m[10].id,
				  .after_ms = m[10].created_ms };
	assert_int_equal(pl_jobstore_delete(js, m[10].id, &err), 0);
	assert_int_equal(pl_jobstore_delete(js, m[11].id, &err), 0);
	assert_int_equal(pl_jobstore_list_page(js, &q, &pg, &n, &info), 0);
	assert_int_equal(n, 2);
	assert_string_equal(pg[0].id, m[12].id);
	assert_string_equal(pg[1].id, m[13].id);
	free(pg);
	/* Limit 0: nothing, but the count and whether there is more. */
	q = (pl_jobstore_page_t){ .owner = "odd", .limit = 0 };
	assert_int_equal(pl_jobstore_list_page(js, &q, &pg, &n, &info), 0);
	assert_int_equal(n, 0);
	assert_null(pg);
	assert_true(info.more);
	assert_int_equal(info.total, 2 * N / 3 - 3); /* 4 claimed, 10 and 11 deleted */
	pl_jobstore_unclaim(js, m[4].id, 0);
	pl_jobstore_close(js);
}

/* ---- tamper detection ---- */

/* Two 1000-byte jobs in 64-byte chunks: 15 full records of 84 bytes, one
 * of 40 + 20, the metadata record, the trailer. */
#define T_SIZE 1000
#define T_FULL (CS + REC_OVERHEAD)
#define T_NCHUNKS 16
#define T_META_OFF (HDR_LEN + 15 * T_FULL + 40 + REC_OVERHEAD)

typedef struct {
	const fx_t *f;
	char victim[PATH_MAX * 2], other[PATH_MAX * 2];
	char victim_id[PL_JOB_ID_LEN + 1], other_id[PL_JOB_ID_LEN + 1];
	size_t len; /* of the victim file */
} tamper_t;

typedef void (*mutate_fn)(tamper_t *t, long arg);

static void mut_flip(tamper_t *t, long off)
{
	size_t n;
	uint8_t *p = slurp(t->victim, &n);

	if (off < 0)
		off += (long)n;
	p[off] ^= 0x01;
	spit(t->victim, p, n, 0600);
	free(p);
}

static void mut_truncate(tamper_t *t, long len)
{
	if (len < 0)
		len += (long)t->len;
	assert_int_equal(truncate(t->victim, len), 0);
}

static void mut_append(tamper_t *t, long byte)
{
	size_t n;
	uint8_t *p = slurp(t->victim, &n);

	p[n] = (uint8_t)byte;
	spit(t->victim, p, n + 1, 0600);
	free(p);
}

static void mut_swap(tamper_t *t, long pair)
{
	size_t n;
	uint8_t *p = slurp(t->victim, &n), tmp[T_FULL];
	uint8_t *a = p + HDR_LEN + (pair >> 8) * T_FULL;
	uint8_t *b = p + HDR_LEN + (pair & 0xff) * T_FULL;

	memcpy(tmp, a, T_FULL);
	memcpy(a, b, T_FULL);
	memcpy(b, tmp, T_FULL);
	spit(t->victim, p, n, 0600);
	free(p);
}

/* Chunk i of the other job (same size, same chunk size, same index). */
static void mut_splice(tamper_t *t, long i)
{
	size_t n, m;
	uint8_t *p = slurp(t->victim, &n), *q = slurp(t->other, &m);

	assert_int_equal(n, m);
	memcpy(p + HDR_LEN + i * T_FULL, q + HDR_LEN + i * T_FULL, T_FULL);
	spit(t->victim, p, n, 0600);
	free(p);
	free(q);
}

/* Chunk i left out, everything else kept. */
static void mut_drop(tamper_t *t, long i)
{
	size_t n;
	uint8_t *p = slurp(t->victim, &n);
	size_t at = HDR_LEN + (size_t)i * T_FULL;

	memmove(p + at, p + at + T_FULL, n - at - T_FULL);
	spit(t->victim, p, n - T_FULL, 0600);
	free(p);
}

/* The other job's header (its wrapped key) on the victim. */
static void mut_header_swap(tamper_t *t, long unused)
{
	size_t n, m;
	uint8_t *p = slurp(t->victim, &n), *q = slurp(t->other, &m);

	(void)unused;
	memcpy(p, q, HDR_LEN);
	spit(t->victim, p, n, 0600);
	free(p);
	free(q);
}

/* The other job's metadata record and trailer (same length) on the
 * victim. */
static void mut_meta_swap(tamper_t *t, long unused)
{
	size_t n, m;
	uint8_t *p = slurp(t->victim, &n), *q = slurp(t->other, &m);

	(void)unused;
	assert_int_equal(n, m);
	memcpy(p + T_META_OFF, q + T_META_OFF, n - T_META_OFF);
	spit(t->victim, p, n, 0600);
	free(p);
	free(q);
}

/* A forged end: the file cut after chunk i, with a trailer that names
 * chunk i - 1 as the metadata record (its index is the one a reader
 * derives, so only the final flag and the content stand in the way). */
static void mut_forge_end(tamper_t *t, long i)
{
	size_t n;
	uint8_t *p = slurp(t->victim, &n);
	size_t at = HDR_LEN + (size_t)i * T_FULL;

	p[at] = 0;
	p[at + 1] = 0;
	p[at + 2] = 0;
	p[at + 3] = T_FULL;
	memcpy(p + at + 4, "PLJOBEND", 8);
	spit(t->victim, p, at + TRAILER_LEN, 0600);
	free(p);
}

/* The file must fail verify and read with ECORRUPT, and be moved aside
 * at the next open, leaving the other job alone. A reader must stop
 * before handing out a byte of a bad chunk: deliver_max (if >= 0) bounds
 * what it may return first. */
static void expect_corrupt(tamper_t *t, pl_jobstore_t *js, long deliver_max,
			   const char *what)
{
	long delivered = 0;
	pl_err_t err = { "" };
	pl_jobr_t *r = NULL;
	uint8_t buf[256];
	ssize_t k;
	int rc;

	rc = verify(js, t->victim_id, &err);
	if (rc != PL_JS_ECORRUPT)
		fail_msg("%s: verify returned %d (%s)", what, rc, err.msg);
	assert_true(strstr(err.msg, t->victim_id) != NULL);
	/* and without the SHA-256 (pl_jobr_skip_digest): the AEAD alone */
	for (int skip = 0; skip < 2; skip++) {
		delivered = 0;
		rc = pl_jobstore_read_open(js, t->victim_id, &r, &err);
		if (rc != 0) {
			if (rc != PL_JS_ECORRUPT)
				fail_msg("%s: read_open returned %d (%s)", what, rc,
					 err.msg);
			continue;
		}
		if (skip)
			pl_jobr_skip_digest(r);
		while ((k = pl_jobr_read(r, buf, sizeof(buf), &err)) > 0)
			delivered += k;
		pl_jobr_close(r);
		if (k != PL_JS_ECORRUPT)
			fail_msg("%s: read ended with %zd (skip %d)", what, k, skip);
		if (deliver_max >= 0 && delivered > deliver_max)
			fail_msg("%s: %ld bytes read before the error", what,
				 delivered);
	}
	assert_int_equal(verify(js, t->other_id, &err), 0);
}

static void tamper_case(const fx_t *f0, int n, mutate_fn fn, long arg,
			long deliver_max, const char *what)
{
	fx_t f = *f0;
	tamper_t t = { .f = &f };
	char path[PATH_MAX * 2 + 16];
	pl_job_meta_t v, o, got;
	pl_jobstore_t *js;
	uint8_t data[T_SIZE];

	/* One jobs directory per case; the master key is shared. */
	snprintf(f.dir, sizeof(f.dir), "%s/jobs-%d", f0->base, n);
	f.o.dir = f.dir;
	js = store_open(&f);
	pattern(data, sizeof(data), 3);
	v = put(js, "alice", data, sizeof(data));
	o = put(js, "alice", data, sizeof(data));
	strcpy(t.victim_id, v.id);
	strcpy(t.other_id, o.id);
	job_file(&f, v.id, t.victim, sizeof(t.victim));
	job_file(&f, o.id, t.other, sizeof(t.other));
	free(slurp(t.victim, &t.len));
	assert_true(t.len > T_META_OFF + REC_OVERHEAD + TRAILER_LEN);
	fn(&t, arg);
	expect_corrupt(&t, js, deliver_max, what);
	pl_jobstore_close(js);

	js = store_open(&f);
	if (pl_jobstore_corrupt_count(js) != 1)
		fail_msg("%s: %u corrupt on reopen", what,
			 pl_jobstore_corrupt_count(js));
	assert_false(exists(t.victim));
	snprintf(path, sizeof(path), "%s.corrupt", t.victim);
	assert_true(exists(path));
	assert_int_equal(pl_jobstore_get(js, v.id, &got), PL_JS_ENOENT);
	assert_int_equal(pl_jobstore_get(js, o.id, &got), 0);
	check_read(js, o.id, data, sizeof(data), 64);
	pl_jobstore_close(js);
}

static void test_tamper_header(void **state)
{
	/* magic, version, chunk size, nonce prefix, wrap nonce, wrapped key,
	 * wrap tag */
	const long offs[] = { 0, 7, 11, 14, 16, 19, 20, 31, 32, 63, 64, 79 };
	char what[64];

	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		snprintf(what, sizeof(what), "header flip at %ld", offs[i]);
		tamper_case(*state, (int)i, mut_flip, offs[i], 0, what);
	}
	tamper_case(*state, 99, mut_header_swap, 0, 0, "other job's header");
}

static void test_tamper_data(void **state)
{
	/* chunk 0: length, ciphertext, tag; a middle chunk; the short last
	 * chunk: length, ciphertext, tag */
	const long offs[] = { HDR_LEN, HDR_LEN + 3, HDR_LEN + 4, HDR_LEN + 50,
			      HDR_LEN + T_FULL - 1, HDR_LEN + 7 * T_FULL + 30,
			      HDR_LEN + 15 * T_FULL + 3,
			      HDR_LEN + 15 * T_FULL + 10, T_META_OFF - 1 };
	char what[64];

	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		snprintf(what, sizeof(what), "data flip at %ld", offs[i]);
		tamper_case(*state, (int)i, mut_flip, offs[i],
			    (offs[i] - HDR_LEN) / T_FULL * CS, what);
	}
}

static void test_tamper_metadata_and_trailer(void **state)
{
	/* metadata record: length, ciphertext, tag; trailer: length, magic */
	const long offs[] = { T_META_OFF, T_META_OFF + 3, T_META_OFF + 4,
			      T_META_OFF + 60, -TRAILER_LEN - 1,
			      -TRAILER_LEN - 16, -TRAILER_LEN, -TRAILER_LEN + 3,
			      -8, -1 };
	char what[64];

	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		snprintf(what, sizeof(what), "meta/trailer flip at %ld", offs[i]);
		tamper_case(*state, (int)i, mut_flip, offs[i], -1, what);
	}
	tamper_case(*state, 98, mut_meta_swap, 0, -1, "other job's metadata");
	tamper_case(*state, 99, mut_append, 0, -1, "a byte appended");
}

static void test_tamper_truncate(void **state)
{
	const long lens[] = { 0, 1, 8, HDR_LEN - 1, HDR_LEN, HDR_LEN + 1,
			      HDR_LEN + T_FULL, HDR_LEN + 8 * T_FULL + 5,
			      T_META_OFF, T_META_OFF + 10, -TRAILER_LEN - 1,
			      -TRAILER_LEN, -5, -1 };
	char what[64];

	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		snprintf(what, sizeof(what), "truncated to %ld", lens[i]);
		tamper_case(*state, (int)i, mut_truncate, lens[i], -1, what);
	}
	tamper_case(*state, 98, mut_forge_end, 15, -1, "end forged after 14");
	tamper_case(*state, 99, mut_forge_end, 1, -1, "end forged after 0");
}

static void test_tamper_reorder_splice(void **state)
{
	tamper_case(*state, 0, mut_swap, 1 << 8 | 2, CS, "chunks 1, 2 swapped");
	tamper_case(*state, 1, mut_swap, 0 << 8 | 14, 0, "chunks 0, 14 swapped");
	tamper_case(*state, 2, mut_splice, 3, 3 * CS, "chunk 3 from another job");
	tamper_case(*state, 3, mut_splice, 0, 0, "chunk 0 from another job");
	/* Dropping a chunk shifts the index of the metadata: open fails. */
	tamper_case(*state, 4, mut_drop, 5, -1, "chunk 5 dropped");
	tamper_case(*state, 5, mut_drop, 14, -1, "chunk 14 dropped");
}

/* A job file renamed to another id does not open as that job. */
static void test_tamper_rename(void **state)
{
	fx_t *f = *state;
	pl_jobstore_t *js = store_open(f);
	char from[PATH_MAX * 2], to[PATH_MAX * 2];
	pl_job_meta_t m;
	uint8_t data[100] = { 1 };

	m = put(js, "alice", data, sizeof(data));
	pl_jobstore_close(js);
	job_file(f, m.id, from, sizeof(from));
	snprintf(to, sizeof(to), "%s/0123456789abcdef0123456789abcdef.job",
		 f->dir);
	assert_int_equal(rename(from, to), 0);
	js = store_open(f);
	assert_int_equal(pl_jobstore_corrupt_count(js), 1);
	assert_int_equal(pl_jobstore_get(js, "0123456789abcdef0123456789abcdef",
					 &m),
			 PL_JS_ENOENT);
	pl_jobstore_close(js);
}

/* ---- recovery ---- */

/* A crash mid-upload leaves the job file as far as it got, still in its
 * upload mode (unreadable to its owner): recovery removes it, whatever it
 * holds, and counts nothing corrupt. A sealed job damaged later (here cut
 * short, trailer and all) is set aside instead: never removed. */
static void test_partial_upload_removed(void **state)
{
	fx_t *f = *state;
	pl_jobstore_t *js = store_open(f);
	char path[PATH_MAX * 2], crashed[PATH_MAX * 2], legacy[PATH_MAX * 2];
	char sealed[PATH_MAX * 2], cut[PATH_MAX * 2], aside[PATH_MAX * 3];
	pl_job_meta_t m = meta_for("alice", 3 * MiB), *l, kept, unsealed, damaged;
	pl_jobw_t *w;
	pl_err_t err;
	struct stat st;
	uint8_t *data = malloc(2 * MiB), *p;
	size_t n;

	assert_non_null(data);
	pattern(data, 2 * MiB, 4);
	kept = put(js, "alice", data, 10);
	job_file(f, kept.id, path, sizeof(path));
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* The upload as it was when the power went: no trailer yet. */
	assert_int_equal(pl_jobstore_begin(js, &m, &w, &err), 0);
	assert_int_equal(pl_jobw_write(w, data, 2 * MiB, &err), 0);
	assert_int_equal(find_uploads(f->dir, path, sizeof(path)), 1);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0200);
	assert_int_equal(chmod(path, 0600), 0); /* to read it as root would */
	p = slurp(path, &n);
	assert_true(n >= MiB); /* written a MiB at a time */
	snprintf(crashed, sizeof(crashed), "%s/0123456789abcdef0123456789abcdef.job",
		 f->dir);
	spit(crashed, p, n, 0200);
	free(p);
	pl_jobw_abort(w);
	assert_false(exists(path));
	/* A temp file of an earlier version's writer. */
	snprintf(legacy, sizeof(legacy), "%s/.tmp-crashed", f->dir);
	spit(legacy, "x", 1, 0600);
	/* Killed after the last write but before the mode changed: complete,
	 * but never acknowledged, so removed all the same. */
	unsealed = put(js, "bob", data, 10);
	job_file(f, unsealed.id, sealed, sizeof(sealed));
	assert_int_equal(chmod(sealed, 0200), 0);
	/* A held job cut short afterwards. */
	damaged = put(js, "carol", data, 10);
	job_file(f, damaged.id, cut, sizeof(cut));
	assert_int_equal(truncate(cut, 3000), 0);
	pl_jobstore_close(js);
	/* Names that are not ours are left alone. */
	snprintf(path, sizeof(path), "%s/README", f->dir);
	spit(path, "x", 1, 0600);
	snprintf(path, sizeof(path), "%s/notes.job", f->dir);
	spit(path, "x", 1, 0200);

	js = store_open(f);
	assert_false(exists(crashed));
	assert_false(exists(legacy));
	assert_false(exists(sealed));
	assert_int_equal(count_uploads(f->dir), 1); /* notes.job, not ours */
	assert_true(exists(path));
	assert_int_equal(pl_jobstore_corrupt_count(js), 1);
	snprintf(aside, sizeof(aside), "%s.corrupt", cut);
	assert_true(exists(aside));
	assert_int_equal(pl_jobstore_list(js, NULL, &l, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(l[0].id, kept.id);
	free(l);
	assert_int_equal(verify(js, kept.id, &err), 0);
	pl_jobstore_close(js);
	free(data);
}

/* Acknowledged means durable as it is: a store that is never closed (the
 * process killed right after commit returned) still holds the job,
 * readable byte for byte, when it is opened again. */
static void test_acknowledged_survives(void **state)
{
	fx_t *f = *state;
	pl_jobstore_t *js = store_open(f), *again;
	pl_job_meta_t m;
	uint8_t data[70000];
	char path[PATH_MAX * 2];
	struct stat st;

	pattern(data, sizeof(data), 12);
	m = put(js, "alice", data, sizeof(data));
	job_file(f, m.id, path, sizeof(path));
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(count_uploads(f->dir), 0);
	again = store_open(f);
	assert_int_equal(pl_jobstore_corrupt_count(again), 0);
	check_read(again, m.id, data, sizeof(data), 777);
	pl_jobstore_close(again);
	pl_jobstore_close(js);
}

/* ---- the master key ---- */

static void test_master_key_created_0600(void **state)
{
	fx_t *f = *state;
	struct stat st;
	pl_jobstore_t *js;
	mode_t old = umask(0);

	js = store_open(f);
	umask(old);
	assert_int_equal(stat(f->key, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_size, 32);
	assert_int_equal(stat(f->dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(count_prefix(f->base, "master.key.tmp"), 0);
	pl_jobstore_close(js);
}

static void test_master_key_too_open(void **state)
{
	fx_t *f = *state;
	const mode_t modes[] = { 0644, 0640, 0604, 0620, 0602, 0601, 0610 };
	pl_jobstore_t *js;
	pl_err_t err;
	char want[PATH_MAX * 2];

	pl_jobstore_close(store_open(f));
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		assert_int_equal(chmod(f->key, modes[i]), 0);
		js = NULL;
		memset(&err, 0, sizeof(err));
		assert_int_equal(pl_jobstore_open(&js, &f->o, &err), PL_JS_EKEY);
		assert_null(js);
		if (modes[i] & 044)
			snprintf(want, sizeof(want),
				 "master key %s is readable by group or others "
				 "(mode %04o); chmod 600 it",
				 f->key, (unsigned)modes[i]);
		else
			snprintf(want, sizeof(want),
				 "master key %s is writable or executable by "
				 "group or others (mode %04o); chmod 600 it",
				 f->key, (unsigned)modes[i]);
		assert_string_equal(err.msg, want);
	}
	assert_int_equal(chmod(f->key, 0600), 0);
	pl_jobstore_close(store_open(f));
	assert_int_equal(chmod(f->key, 0400), 0);
	pl_jobstore_close(store_open(f));
}

static void test_master_key_wrong_size(void **state)
{
	fx_t *f = *state;
	const size_t sizes[] = { 0, 31, 33, 64 };
	uint8_t key[64] = { 0 };
	pl_jobstore_t *js = NULL;
	pl_err_t err;
	char want[64];

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		spit(f->key, key, sizes[i], 0600);
		assert_int_equal(pl_jobstore_open(&js, &f->o, &err), PL_JS_EKEY);
		assert_null(js);
		snprintf(want, sizeof(want), "is %zu bytes, expected 32",
			 sizes[i]);
		expect_err(PL_JS_EKEY, PL_JS_EKEY, &err, want);
		assert_non_null(strstr(err.msg, f->key));
	}
	/* A directory is not a key either. */
	unlink(f->key);
	assert_int_equal(mkdir(f->key, 0700), 0);
	assert_int_equal(pl_jobstore_open(&js, &f->o, &err), PL_JS_EKEY);
	rmdir(f->key);
}

/* Another master key opens nothing: the jobs are moved aside. */
static void test_master_key_other(void **state)
{
	fx_t *f = *state;
	pl_jobstore_t *js = store_open(f);
	uint8_t data[100] = { 0 }, key[32];

	put(js, "alice", data, sizeof(data));
	pl_jobstore_close(js);
	pattern(key, sizeof(key), 9);
	spit(f->key, key, sizeof(key), 0600);
	js = store_open(f);
	assert_int_equal(pl_jobstore_corrupt_count(js), 1);
	pl_jobstore_close(js);
}

/* ---- quotas and announced sizes ---- */

static void test_quota_user(void **state)
{
	fx_t *f = *state;
	pl_jobstore_t *js;
	pl_jobw_t *a10, *a2, *b3, *w;
	pl_job_meta_t m;
	pl_err_t err;
	uint8_t data[6 * 1024];

	f->o.quota_user_bytes = 12 * MiB;
	js = store_open(f);
	/* In-flight uploads count before a byte is written. */
	m = meta_for("alice", 10 * MiB);
	assert_int_equal(pl_jobstore_begin(js, &m, &a10, &err), 0);
	m = meta_for("alice", 3 * MiB);
	expect_err(pl_jobstore_begin(js, &m, &w, &err), PL_JS_EQUOTA, &err,
		   "quota exceeded for user alice: 10 MiB held, limit 12 MiB");
	assert_null(w);
	m = meta_for("bob", 3 * MiB);
	assert_int_equal(pl_jobstore_begin(js, &m, &b3, &err), 0);
	m = meta_for("alice", 2 * MiB); /* exactly the limit */
	assert_int_equal(pl_jobstore_begin(js, &m, &a2, &err), 0);
	m = meta_for("alice", 1);
	expect_err(pl_jobstore_begin(js, &m, &w, &err), PL_JS_EQUOTA, &err,
		   "12 MiB held, limit 12 MiB");
	/* An abort gives the reservation back. */
	pl_jobw_abort(a10);
	m = meta_for("alice", 3 * MiB);
	assert_int_equal(pl_jobstore_begin(js, &m, &w, &err), 0);
	pl_jobw_abort(w);
	pl_jobw_abort(a2);
	pl_jobw_abort(b3);
	pl_jobstore_close(js);

	/* Committed jobs count, in KiB this time, across a restart. */
	f->o.quota_user_bytes = 10 * 1024;
	js = store_open(f);
	pattern(data, sizeof(data), 5);
	put(js, "alice", data, sizeof(data));
	pl_jobstore_close(js);
	js = store_open(f);
	m = meta_for("alice", 5 * 1024);
	expect_err(pl_jobstore_begin(js, &m, &w, &err), PL_JS_EQUOTA, &err,
		   "quota exceeded for user alice: 6 KiB held, limit 10 KiB "
		   "(this job: 5 KiB)");
	m = meta_for("alice", 4 * 1024);
	assert_int_equal(pl_jobstore_begin(js, &m, &w, &err), 0);
	pl_jobw_abort(w);
	pl_jobstore_close(js);
}

static void test_quota_total(void **state)
{
	fx_t *f = *state;
	pl_jobstore_t *js;
	pl_jobw_t *a, *w;
	pl_job_meta_t m, held;
	pl_err_t err;
	uint8_t data[4096];

	f->o.quota_total_bytes = 10 * 1024;
	js = store_open(f);
	pattern(data, sizeof(data), 6);
	held = put(js, "carol", data, 3000);
	m = meta_for("alice", 6 * 1024);
	assert_int_equal(pl_jobstore_begin(js, &m, &a, &err), 0);
	m = meta_for("bob", 2 * 1024);
	expect_err(pl_jobstore_begin(js, &m, &w, &err), PL_JS_EQUOTA, &err,
		   "quota exceeded for all users: 8.9 KiB held, limit 10 KiB");
	/* A failed upload gives its reservation back too. */
	assert_int_equal(pl_jobw_commit(a, NULL, 1, NULL, &err), PL_JS_EINVAL);
	assert_int_equal(pl_jobstore_begin(js, &m, &w, &err), 0);
	pl_jobw_abort(w);
	/* So does a delete. */
	m = meta_for("bob", 8 * 1024);
	assert_int_equal(pl_jobstore_begin(js, &m, &w, &err), PL_JS_EQUOTA);
	assert_int_equal(pl_jobstore_delete(js, held.id, &err), 0);
	assert_int_equal(pl_jobstore_begin(js, &m, &w, &err), 0);
	pl_jobw_abort(w);
	assert_int_equal(count_uploads(f->dir), 0);
	pl_jobstore_close(js);
}

static void test_size_mismatch(void **state)
{
	fx_t *f = *state;
	pl_jobstore_t *js = store_open(f);
	pl_job_meta_t m = meta_for("alice", 100), *l;
	pl_jobw_t *w;
	pl_err_t err;
	uint8_t data[100] = { 0 };
	size_t n;

	assert_int_equal(pl_jobstore_begin(js, &m, &w, &err), 0);
	assert_int_equal(pl_jobw_write(w, data, 50, &err), 0);
	/* A small job is gathered in memory: its file is made at commit
	 * (on the committing thread), none exists before. */
	assert_int_equal(count_uploads(f->dir), 0);
	expect_err(pl_jobw_commit(w, NULL, 1, NULL, &err), PL_JS_EINVAL, &err,
		   "size mismatch: announced 100, received 50");
	assert_int_equal(count_uploads(f->dir), 0);
	assert_int_equal(pl_jobstore_list(js, NULL, &l, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(pl_jobstore_bytes(js, NULL), 0);
	pl_jobstore_close(js);
}

static void test_sha_mismatch(void **state)
{
	fx_t *f = *state;
	pl_jobstore_t *js = store_open(f);
	pl_job_meta_t m = meta_for("alice", 100), *l;
	pl_jobw_t *w;
	pl_err_t err;
	uint8_t data[100], md[32];
	size_t n;

	pattern(data, sizeof(data), 7);
	sha256(data, sizeof(data), md);
	md[31] ^= 1;
	assert_int_equal(pl_jobstore_begin(js, &m, &w, &err), 0);
	assert_int_equal(pl_jobw_write(w, data, sizeof(data), &err), 0);
	expect_err(pl_jobw_commit(w, md, 1, NULL, &err), PL_JS_EINVAL, &err,
		   "SHA-256 mismatch");
	assert_int_equal(count_uploads(f->dir), 0);
	assert_int_equal(count_prefix(f->dir, ""), 0);
	assert_int_equal(pl_jobstore_list(js, NULL, &l, &n), 0);
	assert_int_equal(n, 0);
	pl_jobstore_close(js);
}

static void test_write_beyond_announced(void **state)
{
	fx_t *f = *state;
	pl_jobstore_t *js = store_open(f);
	pl_job_meta_t m = meta_for("alice", 10);
	pl_jobw_t *w;
	pl_err_t err;
	uint8_t data[100] = { 0 };

	assert_int_equal(pl_jobstore_begin(js, &m, &w, &err), 0);
	assert_int_equal(pl_jobw_write(w, data, 6, &err), 0);
	expect_err(pl_jobw_write(w, data, 5, &err), PL_JS_EINVAL, &err,
		   "write beyond the announced size: announced 10, received 11");
	/* The job is dead at once; later calls say why. */
	assert_int_equal(count_uploads(f->dir), 0);
	expect_err(pl_jobw_write(w, data, 1, &err), PL_JS_EINVAL, &err,
		   "write beyond");
	expect_err(pl_jobw_commit(w, NULL, 1, NULL, &err), PL_JS_EINVAL, &err,
		   "write beyond");
	assert_int_equal(pl_jobstore_bytes(js, NULL), 0);

	/* Aborted uploads leave nothing either. */
	assert_int_equal(pl_jobstore_begin(js, &m, &w, &err), 0);
	assert_int_equal(pl_jobw_write(w, data, 10, &err), 0);
	pl_jobw_abort(w);
	pl_jobw_abort(NULL);
	assert_int_equal(count_prefix(f->dir, ""), 0);
	pl_jobstore_close(js);
}

/* A write the file system refuses (here RLIMIT_FSIZE: EFBIG; a full disk
 * takes the same path with ENOSPC) fails with EIO and leaves nothing. */
static void test_write_error_removes_file(void **state)
{
	fx_t *f = *state;
	pl_jobstore_t *js = store_open(f);
	pl_job_meta_t m = meta_for("alice", 2 * MiB);
	struct rlimit old, lim;
	pl_jobw_t *w;
	pl_err_t err;
	uint8_t data[1000] = { 0 };
	int rc = 0;

	assert_int_equal(pl_jobstore_begin(js, &m, &w, &err), 0);
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = 8192;
	/* Nothing else may write a file until the limit is back. */
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	/* Written a MiB at a time: the first of them fails. */
	for (int i = 0; i < 2048 && rc == 0; i++)
		rc = pl_jobw_write(w, data, sizeof(data), &err);
	setrlimit(RLIMIT_FSIZE, &old);
	signal(SIGXFSZ, SIG_DFL);
	expect_err(rc, PL_JS_EIO, &err, "writing");
	assert_non_null(strstr(err.msg, ".job"));
	assert_int_equal(count_uploads(f->dir), 0);
	assert_int_equal(count_prefix(f->dir, ""), 0);
	assert_int_equal(pl_jobw_commit(w, NULL, 1, NULL, &err), PL_JS_EIO);
	pl_jobstore_close(js);
}

static void test_bad_arguments(void **state)
{
	fx_t *f = *state;
	pl_jobstore_t *js = NULL;
	pl_job_meta_t m = meta_for("alice", 1), got;
	pl_jobw_t *w;
	pl_jobr_t *r;
	pl_err_t err;

	f->o.chunk_size = 8;
	assert_int_equal(pl_jobstore_open(&js, &f->o, &err), PL_JS_EINVAL);
	f->o.chunk_size = 0; /* the default */
	js = store_open(f);
	m.owner[0] = '\0';
	expect_err(pl_jobstore_begin(js, &m, &w, &err), PL_JS_EINVAL, &err,
		   "owner");
	m = meta_for("alice", 1);
	memset(m.title, 'x', sizeof(m.title));
	expect_err(pl_jobstore_begin(js, &m, &w, &err), PL_JS_EINVAL, &err,
		   "unterminated");
	m = meta_for("alice", 1);
	strcpy(m.title, "bad \xff utf-8");
	expect_err(pl_jobstore_begin(js, &m, &w, &err), PL_JS_EINVAL, &err,
		   "UTF-8");
	assert_int_equal(count_prefix(f->dir, ""), 0);
	/* Ids are checked before they can name a file. */
	assert_int_equal(pl_jobstore_get(js, "../master.key", &got), PL_JS_ENOENT);
	assert_int_equal(pl_jobstore_delete(js, "../../etc/passwd", &err),
			 PL_JS_EINVAL);
	assert_int_equal(pl_jobstore_read_open(js, "0123456789ABCDEF0123456789abcdef",
					       &r, &err),
			 PL_JS_EINVAL);
	expect_err(verify(js, "0123456789abcdef0123456789abcdef",
				      &err),
		   PL_JS_ENOENT, &err, "no job");
	assert_int_equal(pl_jobstore_delete(js, "0123456789abcdef0123456789abcdef",
					    &err),
			 PL_JS_ENOENT);
	pl_jobstore_close(js);
}

/* ---- deleting and expiring ---- */

static void test_delete_shreds(void **state)
{
	fx_t *f = *state;
	pl_jobstore_t *js = store_open(f);
	char path[PATH_MAX * 2], link_path[PATH_MAX * 2];
	uint8_t data[5000], *before, *after;
	pl_job_meta_t m, got;
	pl_err_t err;
	size_t n1, n2;

	pattern(data, sizeof(data), 8);
	m = put(js, "alice", data, sizeof(data));
	job_file(f, m.id, path, sizeof(path));
	/* A second name for the inode: what the unlink leaves behind. */
	snprintf(link_path, sizeof(link_path), "%s/kept", f->base);
	assert_int_equal(link(path, link_path), 0);
	before = slurp(link_path, &n1);
	assert_int_equal(pl_jobstore_delete(js, m.id, &err), 0);
	after = slurp(link_path, &n2);
	assert_int_equal(n1, n2);
	assert_memory_not_equal(before + OFF_WRAP, after + OFF_WRAP, WRAP_LEN);
	/* Only the wrapped key changed. */
	assert_memory_equal(before, after, OFF_WRAP);
	assert_memory_equal(before + HDR_LEN, after + HDR_LEN, n1 - HDR_LEN);
	assert_false(exists(path));
	assert_int_equal(pl_jobstore_get(js, m.id, &got), PL_JS_ENOENT);
	assert_int_equal(verify(js, m.id, &err), PL_JS_ENOENT);
	assert_int_equal(pl_jobstore_delete(js, m.id, &err), PL_JS_ENOENT);
	assert_int_equal(pl_jobstore_bytes(js, NULL), 0);
	pl_jobstore_close(js);

	/* Put back, the shredded file opens for no one. */
	spit(path, after, n2, 0600);
	js = store_open(f);
	assert_int_equal(pl_jobstore_corrupt_count(js), 1);
	assert_int_equal(pl_jobstore_get(js, m.id, &got), PL_JS_ENOENT);
	pl_jobstore_close(js);
	free(before);
	free(after);
}

static void test_expire(void **state)
{
	fx_t *f = *state;
	pl_jobstore_t *js;
	pl_job_meta_t a, b, c, *l;
	pl_err_t err;
	uint8_t data[300] = { 0 };
	size_t n;

	f->o.expiry_ms = 60 * 1000;
	js = store_open(f);
	a = put(js, "alice", data, 100);
	b = put(js, "bob", data, 200);
	c = put(js, "alice", data, 300);
	assert_int_equal(a.expires_ms, a.created_ms + 60 * 1000);
	/* the due ones only, at most max */
	assert_int_equal(pl_jobstore_list_due(js, a.expires_ms - 1, 8, &l, &n), 0);
	assert_int_equal(n, 0);
	free(l);
	assert_int_equal(pl_jobstore_list_due(js, b.expires_ms, 8, &l, &n), 0);
	assert_int_equal(n, 2);
	free(l);
	assert_int_equal(pl_jobstore_list_due(js, INT64_MAX, 1, &l, &n), 0);
	assert_int_equal(n, 1);
	free(l);
	assert_int_equal(pl_jobstore_expire(js, a.expires_ms - 1, &err), 0);
	assert_int_equal(pl_jobstore_expire(js, a.expires_ms, &err), 1);
	assert_int_equal(pl_jobstore_get(js, a.id, &a), PL_JS_ENOENT);
	assert_int_equal(pl_jobstore_expire(js, c.expires_ms, &err), 2);
	assert_int_equal(pl_jobstore_list(js, NULL, &l, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(pl_jobstore_expire(js, INT64_MAX, &err), 0);
	assert_int_equal(count_prefix(f->dir, ""), 0);
	assert_int_equal(pl_jobstore_bytes(js, NULL), 0);
	(void)b;
	pl_jobstore_close(js);
}

/* A claimed job leaves listings and expiry and cannot be claimed twice;
 * unclaim puts it back; claims are not persistent. */
static void test_claim(void **state)
{
	fx_t *f = *state;
	pl_jobstore_t *js;
	pl_job_meta_t a, b, got, *l;
	pl_err_t err;
	uint8_t data[300] = { 0 };
	size_t n;

	f->o.expiry_ms = 60 * 1000;
	js = store_open(f);
	a = put(js, "alice", data, 100);
	b = put(js, "alice", data, 200);
	assert_int_equal(pl_jobstore_claim(js, a.id, 0, &got, NULL), PL_JS_OK);
	assert_string_equal(got.id, a.id);
	assert_int_equal(got.size, 100);
	assert_int_equal(pl_jobstore_claim(js, a.id, 0, &got, NULL), PL_JS_EBUSY);
	assert_int_equal(pl_jobstore_claim(js, "0123456789abcdef0123456789abcdef", 0, &got, NULL),
			 PL_JS_ENOENT);
	assert_int_equal(pl_jobstore_claim(js, "../x", 0, &got, NULL), PL_JS_ENOENT);
	assert_int_equal(pl_jobstore_list(js, "alice", &l, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(l[0].id, b.id);
	free(l);
	/* Still held: its bytes count, get finds it, expiry leaves it. */
	assert_int_equal(pl_jobstore_bytes(js, "alice"), 300);
	assert_int_equal(pl_jobstore_list_due(js, INT64_MAX, 8, &l, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(l[0].id, b.id);
	free(l);
	assert_int_equal(pl_jobstore_get(js, a.id, &got), PL_JS_OK);
	assert_int_equal(pl_jobstore_expire(js, INT64_MAX, &err), 1);
	assert_int_equal(pl_jobstore_get(js, b.id, &got), PL_JS_ENOENT);
	pl_jobstore_unclaim(js, a.id, 0);
	assert_int_equal(pl_jobstore_list(js, NULL, &l, &n), 0);
	assert_int_equal(n, 1);
	free(l);
	/* A claim outlives the process: after a "crash" (close without an
	 * outcome) the job is held again, maybe-printed, and only a REPRINT
	 * claim takes it. */
	assert_int_equal(pl_jobstore_claim(js, a.id, 0, &got, NULL), PL_JS_OK);
	pl_jobstore_close(js);
	js = store_open(f);
	assert_int_equal(pl_jobstore_claim(js, a.id, 0, &got, NULL), PL_JS_EMAYBE);
	assert_int_equal(pl_jobstore_claim(js, a.id, PL_JS_CLAIM_REPRINT, &got, NULL),
			 PL_JS_OK);
	/* A claimed job can be deleted (printed, or an operator's delete). */
	assert_int_equal(pl_jobstore_delete(js, a.id, &err), 0);
	assert_int_equal(pl_jobstore_claim(js, a.id, 0, &got, NULL), PL_JS_ENOENT);
	assert_int_equal(pl_jobstore_bytes(js, NULL), 0);
	pl_jobstore_close(js);
}

/* Verify, then read from the start through the same reader. */
static void test_read_verified(void **state)
{
	fx_t *f = *state;
	const size_t len = 5 * 1024 + 17;
	uint8_t *data = malloc(len), *buf = malloc(len + 1);
	pl_jobstore_t *js;
	pl_jobr_t *r = NULL;
	pl_job_meta_t m;
	pl_err_t err = { "" };
	char path[PATH_MAX * 2];
	size_t got = 0, n;
	ssize_t k;

	assert_non_null(data);
	assert_non_null(buf);
	pattern(data, len, 21);
	f->o.chunk_size = 1024;
	js = store_open(f);
	m = put(js, "alice", data, len);
	assert_int_equal(pl_jobstore_read_verified(js, m.id, &r, &err), 0);
	while ((k = pl_jobr_read(r, buf + got, 333, &err)) > 0)
		got += (size_t)k;
	assert_int_equal(k, 0);
	assert_int_equal(got, len);
	assert_memory_equal(buf, data, len);
	pl_jobr_close(r);
	/* Damage in the last chunk: refused before a byte is handed out. */
	job_file(f, m.id, path, sizeof(path));
	uint8_t *file = slurp(path, &n);
	file[n - 100] ^= 0x40;
	spit(path, file, n, 0600);
	free(file);
	r = NULL;
	expect_err(pl_jobstore_read_verified(js, m.id, &r, &err), PL_JS_ECORRUPT, &err, "");
	assert_null(r);
	assert_int_equal(pl_jobstore_read_verified(js, "0123456789abcdef0123456789abcdef",
						   &r, &err), PL_JS_ENOENT);
	pl_jobstore_close(js);
	free(data);
	free(buf);
}

/* read_verified and its reads, whole: the bytes handed out, or <0. */
static ssize_t read_all(pl_jobr_t *r, uint8_t *buf, size_t cap, size_t piece,
			pl_err_t *err)
{
	size_t got = 0;
	ssize_t k;

	while ((k = pl_jobr_read(r, buf + got, got + piece <= cap ? piece : 1,
				 err)) > 0) {
		got += (size_t)k;
		assert_true(got <= cap);
	}
	return k < 0 ? k : (ssize_t)got;
}

/* Small jobs (up to 1 MiB) are decrypted once: read_verified checks every
 * chunk into memory and the reads hand out those very bytes, identical to
 * what was stored, whatever happens to the file afterwards. A damaged
 * small job gives no reader, so not one byte. Past 1 MiB the reads
 * decrypt (and authenticate) again. */
static void test_read_verified_one_pass(void **state)
{
	fx_t *f = *state;
	const size_t sizes[] = { 0, 1, 4095, 4096, 4097, 65536, MiB, MiB + 1 };
	const size_t cap = MiB + 2;
	uint8_t *data = malloc(cap), *buf = malloc(cap);
	char path[PATH_MAX * 2];
	pl_err_t err = { "" };
	pl_jobstore_t *js;

	assert_non_null(data);
	assert_non_null(buf);
	f->o.chunk_size = 4096;
	f->o.verify_on_open = 0;
	js = store_open(f);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t len = sizes[i], n;
		pl_jobr_t *r = NULL;
		pattern(data, len, (uint32_t)(100 + i));
		pl_job_meta_t m = put_as(js, meta_for("alice", len), data, 7000);
		assert_int_equal(pl_jobstore_read_verified(js, m.id, &r, &err), 0);
		/* Change the file under the open reader: a bit of the data. */
		job_file(f, m.id, path, sizeof(path));
		uint8_t *file = slurp(path, &n);
		if (len > 0) {
			file[HDR_LEN + 4 + len / 2 / 4096 * (4096 + REC_OVERHEAD)] ^= 0x01;
			spit(path, file, n, 0600);
		}
		ssize_t got = read_all(r, buf, cap, 1000, &err);
		if (len <= MiB || len == 0) {
			/* The checked bytes, not a second decryption. */
			assert_int_equal(got, (ssize_t)len);
			assert_memory_equal(buf, data, len);
			assert_int_equal(pl_jobr_read(r, buf, 1, &err), 0);
		} else {
			expect_err((int)got, PL_JS_ECORRUPT, &err, "failed authentication");
		}
		pl_jobr_close(r);
		if (len == 0) {
			free(file);
			continue;
		}
		/* Damaged before the release: no reader at all. */
		r = NULL;
		expect_err(pl_jobstore_read_verified(js, m.id, &r, &err),
			   PL_JS_ECORRUPT, &err, "");
		assert_null(r);
		/* ... nor when only the last byte of its last chunk is, or it
		 * is cut short. */
		size_t last = HDR_LEN + (len - 1) / 4096 * (4096 + REC_OVERHEAD) + 4 +
			      (len - 1) % 4096;
		file[HDR_LEN + 4 + len / 2 / 4096 * (4096 + REC_OVERHEAD)] ^= 0x01;
		file[last] ^= 0x80;
		spit(path, file, n, 0600);
		expect_err(pl_jobstore_read_verified(js, m.id, &r, &err),
			   PL_JS_ECORRUPT, &err, "");
		assert_null(r);
		file[last] ^= 0x80;
		spit(path, file, n > 5000 ? n - 4096 : n - 1, 0600);
		expect_err(pl_jobstore_read_verified(js, m.id, &r, &err),
			   PL_JS_ECORRUPT, &err, "");
		assert_null(r);
		free(file);
	}
	pl_jobstore_close(js);
	free(data);
	free(buf);
}

static void test_group_commit(void **state)
{
	fx_t *f = *state;
	pl_jobstore_t *js = store_open(f);
	pl_job_meta_t m = meta_for("alice", 10), out[3], got;
	pl_jobw_t *w;
	pl_err_t err;
	uint8_t data[10] = { 0 };

	for (int i = 0; i < 3; i++) {
		assert_int_equal(pl_jobstore_begin(js, &m, &w, &err), 0);
		assert_int_equal(pl_jobw_write(w, data, 10, &err), 0);
		assert_int_equal(pl_jobw_commit(w, NULL, 0, &out[i], &err), 0);
		assert_int_equal(pl_jobstore_get(js, out[i].id, &got), 0);
	}
	assert_int_equal(pl_jobstore_sync_dir(js, &err), 0);
	pl_jobstore_close(js);
	js = store_open(f);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(pl_jobstore_get(js, out[i].id, &got), 0);
		assert_memory_equal(&got, &out[i], sizeof(got));
	}
	pl_jobstore_close(js);
}

/* Lent writes, as a TLS connection makes them: two buffers taking turns,
 * each refilled only once its ticket is settled. A large job's SHA-256
 * then runs on the writer's thread; the job reads back byte for byte and
 * a wrong announced SHA-256 is still caught. A small job needs no
 * settling. An abort with pieces still queued returns every buffer and
 * leaves nothing on disk. */
static void lent_upload(pl_jobw_t *w, const uint8_t *data, size_t size,
			size_t piece, uint8_t *buf[2], int settle)
{
	uint64_t ticket[2] = { 0, 0 };
	pl_err_t err;
	int cur = 0;

	for (size_t off = 0; off < size; off += piece) {
		size_t k = size - off < piece ? size - off : piece;
		if (settle)
			pl_jobw_settle(w, ticket[cur]);
		memcpy(buf[cur], data + off, k);
		assert_int_equal(pl_jobw_write_lent(w, buf[cur], k, &ticket[cur], &err), 0);
		cur ^= 1;
	}
}

static void test_lent_writes(void **state)
{
	fx_t *f = *state;
	pl_jobstore_t *js;
	/* Past a writeback step (8 MiB), which the hash thread starts. */
	const size_t size = 9 * MiB + 12345, piece = 256 * 1024 + 16;
	uint8_t *data = malloc(size), *buf[2] = { malloc(piece), malloc(piece) };
	uint8_t md[32], bad[32];
	pl_job_meta_t m = meta_for("alice", size), out;
	pl_jobw_t *w;
	pl_err_t err;
	uint64_t ticket = 1;

	assert_non_null(data);
	assert_non_null(buf[0]);
	assert_non_null(buf[1]);
	f->o.chunk_size = 64 * 1024; /* the service's: whole chunks sealed in place */
	js = store_open(f);
	pattern(data, size, 21);
	sha256(data, size, md);
	assert_int_equal(pl_jobstore_begin(js, &m, &w, &err), 0);
	lent_upload(w, data, size, piece, buf, 1);
	assert_int_equal(pl_jobw_commit(w, md, 1, &out, &err), 0);
	assert_memory_equal(out.sha256, md, 32);
	check_read(js, out.id, data, size, 65536);
	assert_int_equal(verify(js, out.id, &err), 0);

	memcpy(bad, md, 32);
	bad[0] ^= 1;
	assert_int_equal(pl_jobstore_begin(js, &m, &w, &err), 0);
	lent_upload(w, data, size, piece, buf, 1);
	expect_err(pl_jobw_commit(w, bad, 1, NULL, &err), PL_JS_EINVAL, &err,
		   "SHA-256 mismatch");

	m = meta_for("bob", 4096);
	assert_int_equal(pl_jobstore_begin(js, &m, &w, &err), 0);
	assert_int_equal(pl_jobw_write_lent(w, data, 4096, &ticket, &err), 0);
	assert_int_equal(ticket, 0);
	sha256(data, 4096, md);
	assert_int_equal(pl_jobw_commit(w, md, 1, &out, &err), 0);
	check_read(js, out.id, data, 4096, 1000);

	/* Abort without settling anything: the writer waits for its thread. */
	m = meta_for("carol", size);
	assert_int_equal(pl_jobstore_begin(js, &m, &w, &err), 0);
	lent_upload(w, data, 3 * MiB, piece, buf, 0);
	pl_jobw_abort(w);
	assert_int_equal(count_uploads(f->dir), 0);
	/* A write beyond the announced size kills the job: no settling
	 * needed after it either. */
	m = meta_for("dave", 2 * MiB);
	assert_int_equal(pl_jobstore_begin(js, &m, &w, &err), 0);
	lent_upload(w, data, 2 * MiB, piece, buf, 1);
	expect_err(pl_jobw_write_lent(w, data, 1, &ticket, &err), PL_JS_EINVAL, &err,
		   "write beyond");
	pl_jobw_settle(w, 99);
	pl_jobw_abort(w);
	assert_int_equal(count_uploads(f->dir), 0);
	assert_int_equal(pl_jobstore_bytes(js, NULL), size + 4096);
	pl_jobstore_close(js);
	free(data);
	free(buf[0]);
	free(buf[1]);
}

/* ---- concurrency ---- */

#define THREADS 8
#define PER_THREAD 12

typedef struct {
	pl_jobstore_t *js;
	int n;
	int failures;
	uint64_t bytes;
	char msg[PL_ERR_MAX];
} worker_t;

static void *writer_thread(void *arg)
{
	worker_t *t = arg;
	uint8_t data[3000];
	char owner[16];

	snprintf(owner, sizeof(owner), "user%d", t->n);
	for (int i = 0; i < PER_THREAD; i++) {
		size_t len = (size_t)(t->n * 131 + i * 257) % sizeof(data);
		pl_job_meta_t m = meta_for(owner, len), out, *l;
		pl_jobw_t *w;
		pl_err_t err;
		size_t nl;

		pattern(data, len, (uint32_t)(t->n * 100 + i));
		if (pl_jobstore_begin(t->js, &m, &w, &err) != 0 ||
		    pl_jobw_write(w, data, len, &err) != 0 ||
		    pl_jobw_commit(w, NULL, i % 2, &out, &err) != 0 ||
		    verify(t->js, out.id, &err) != 0 ||
		    pl_jobstore_list(t->js, owner, &l, &nl) != 0) {
			t->failures++;
			snprintf(t->msg, sizeof(t->msg), "%s", err.msg);
			continue;
		}
		t->failures += nl != (size_t)i + 1;
		free(l);
		t->bytes += len;
	}
	return NULL;
}

static void test_concurrent_writers(void **state)
{
	fx_t *f = *state;
	pl_jobstore_t *js;
	pthread_t th[THREADS];
	worker_t w[THREADS];
	pl_job_meta_t *l;
	uint64_t total = 0;
	size_t n;

	f->o.chunk_size = 256;
	js = store_open(f);
	for (int i = 0; i < THREADS; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].js = js;
		w[i].n = i;
		assert_int_equal(pthread_create(&th[i], NULL, writer_thread,
						&w[i]),
				 0);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		if (w[i].failures)
			fail_msg("thread %d: %d failures (%s)", i,
				 w[i].failures, w[i].msg);
		total += w[i].bytes;
	}
	assert_int_equal(pl_jobstore_bytes(js, NULL), total);
	assert_int_equal(pl_jobstore_list(js, NULL, &l, &n), 0);
	assert_int_equal(n, THREADS * PER_THREAD);
	for (size_t i = 1; i < n; i++)
		assert_true(l[i - 1].created_ms < l[i].created_ms);
	free(l);
	assert_int_equal(pl_jobstore_sync_dir(js, NULL), 0);
	pl_jobstore_close(js);
	js = store_open(f);
	assert_int_equal(pl_jobstore_bytes(js, NULL), total);
	pl_jobstore_close(js);
}

/* ---- the release journal: exactly-once across crashes ---- */

static int listed(pl_jobstore_t *js, const char *id, int64_t *maybe)
{
	pl_job_meta_t *l;
	size_t n;
	int found = 0;
	assert_int_equal(pl_jobstore_list(js, NULL, &l, &n), 0);
	for (size_t i = 0; i < n; i++)
		if (strcmp(l[i].id, id) == 0) {
			found = 1;
			if (maybe)
				*maybe = l[i].maybe_printed_ms;
		}
	free(l);
	return found;
}

static off_t journal_size(const fx_t *f)
{
	char path[PATH_MAX + 80];
	struct stat st;
	snprintf(path, sizeof(path), "%s/release.journal", f->dir);
	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

/* Every outcome of a release, then a "crash" (close with claims open):
 * printed jobs never come back, a claim without an outcome comes back
 * maybe-printed, and only a REPRINT claim takes a maybe-printed job. */
static void test_journal_outcomes(void **state)
{
	fx_t *f = *state;
	pl_job_meta_t printed, handed_back, cut_off, crashed, got;
	uint8_t data[100] = { 1 };
	int64_t maybe = 0;
	pl_err_t err;

	pl_jobstore_t *js = store_open(f);
	printed = put(js, "ann", data, 10);
	handed_back = put(js, "ann", data, 20);
	cut_off = put(js, "ann", data, 30);
	crashed = put(js, "ann", data, 40);

	assert_int_equal(pl_jobstore_claim(js, printed.id, 0, &got, &err), 0);
	assert_int_equal(pl_jobstore_printed(js, printed.id, &err), 0);
	assert_false(listed(js, printed.id, NULL));
	/* printed and not yet shredded: never claimable again */
	assert_int_equal(pl_jobstore_claim(js, printed.id, PL_JS_CLAIM_REPRINT, &got, &err),
			 PL_JS_ENOENT);

	assert_int_equal(pl_jobstore_claim(js, handed_back.id, 0, &got, &err), 0);
	pl_jobstore_unclaim(js, handed_back.id, 0);
	assert_true(listed(js, handed_back.id, &maybe));
	assert_int_equal(maybe, 0);

	assert_int_equal(pl_jobstore_claim(js, cut_off.id, 0, &got, &err), 0);
	pl_jobstore_unclaim(js, cut_off.id, 1);
	assert_true(listed(js, cut_off.id, &maybe));
	assert_true(maybe > 0);
	assert_int_equal(pl_jobstore_claim(js, cut_off.id, 0, &got, &err), PL_JS_EMAYBE);

	assert_int_equal(pl_jobstore_claim(js, crashed.id, 0, &got, &err), 0);
	pl_jobstore_close(js); /* the holder dies mid-release */

	js = store_open(f);
	assert_int_equal(pl_jobstore_printed_at_open(js), 1);
	assert_int_equal(pl_jobstore_get(js, printed.id, &got), PL_JS_ENOENT);
	char(*ids)[PL_JOB_ID_LEN + 1] = NULL;
	assert_int_equal(pl_jobstore_take_interrupted(js, &ids), 1);
	assert_string_equal(ids[0], crashed.id);
	free(ids);
	assert_true(listed(js, handed_back.id, &maybe));
	assert_int_equal(maybe, 0);
	assert_true(listed(js, cut_off.id, &maybe));
	assert_true(maybe > 0);
	assert_true(listed(js, crashed.id, &maybe));
	assert_true(maybe > 0);
	assert_int_equal(pl_jobstore_claim(js, crashed.id, 0, &got, &err), PL_JS_EMAYBE);
	assert_int_equal(got.maybe_printed_ms, 0); /* EMAYBE leaves *out alone */
	/* the journal was rewritten with what is still true: two M records */
	assert_int_equal(journal_size(f), 2 * 52);

	/* A reprint that fails before any byte went out: still maybe. */
	assert_int_equal(pl_jobstore_claim(js, crashed.id, PL_JS_CLAIM_REPRINT, &got, &err), 0);
	pl_jobstore_unclaim(js, crashed.id, 0);
	pl_jobstore_close(js);
	js = store_open(f);
	assert_true(listed(js, crashed.id, &maybe));
	assert_true(maybe > 0);
	/* A reprint that the printer confirms: gone for good. */
	assert_int_equal(pl_jobstore_claim(js, crashed.id, PL_JS_CLAIM_REPRINT, &got, &err), 0);
	assert_int_equal(pl_jobstore_printed(js, crashed.id, &err), 0);
	assert_int_equal(pl_jobstore_delete(js, crashed.id, &err), 0);
	pl_jobstore_close(js);
	js = store_open(f);
	assert_int_equal(pl_jobstore_get(js, crashed.id, &got), PL_JS_ENOENT);
	assert_int_equal(pl_jobstore_printed_at_open(js), 0);
	pl_jobstore_close(js);
}

/* A claim in two steps: held, the job is off offer and a second claim
 * is busy, yet nothing is in the journal (a crash now leaves the job on
 * offer, untouched: no byte can have gone out); committed, it is recorded
 * as a claim. */
static void test_claim_hold_commit(void **state)
{
	fx_t *f = *state;
	uint8_t data[64] = { 3 };
	pl_job_meta_t a, b, got;
	pl_err_t err;
	int64_t maybe = 1;

	pl_jobstore_t *js = store_open(f);
	a = put(js, "kim", data, 10);
	b = put(js, "kim", data, 20);
	off_t j0 = journal_size(f);
	assert_int_equal(pl_jobstore_claim_hold(js, a.id, 0, &got, &err), 0);
	assert_string_equal(got.id, a.id);
	assert_false(listed(js, a.id, NULL));
	assert_int_equal(pl_jobstore_claim(js, a.id, 0, &got, &err), PL_JS_EBUSY);
	assert_int_equal(pl_jobstore_claim_hold(js, a.id, 0, &got, &err), PL_JS_EBUSY);
	assert_int_equal(journal_size(f), j0);
	pl_jobstore_unclaim(js, a.id, 0);
	assert_true(listed(js, a.id, &maybe));
	assert_int_equal(maybe, 0);
	assert_int_equal(journal_size(f), j0); /* nothing to follow up */

	assert_int_equal(pl_jobstore_claim_hold(js, a.id, 0, &got, &err), 0);
	assert_int_equal(pl_jobstore_claim_commit(js, a.id, &err), 0);
	assert_int_equal(journal_size(f), j0 + 52);
	assert_int_equal(pl_jobstore_claim_hold(js, b.id, 0, &got, &err), 0);
	pl_jobstore_close(js); /* a crash: a committed, b only held */

	js = store_open(f);
	assert_true(listed(js, a.id, &maybe));
	assert_true(maybe > 0);
	assert_true(listed(js, b.id, &maybe));
	assert_int_equal(maybe, 0);
	char(*ids)[PL_JOB_ID_LEN + 1] = NULL;
	assert_int_equal(pl_jobstore_take_interrupted(js, &ids), 1);
	assert_string_equal(ids[0], a.id);
	free(ids);
	pl_jobstore_close(js);
}

/* Many shreds, one directory fsync: each job is gone (file and index),
 * printed or not, claimed or not; one already gone or never there is
 * ENOENT and does not stop the others; a bad id is refused. */
static void test_delete_batch(void **state)
{
	fx_t *f = *state;
	uint8_t data[300] = { 9 };
	pl_job_meta_t j[4], got;
	pl_err_t err = { "" };
	char ids[7][PL_JOB_ID_LEN + 1];
	int rcs[7];

	pl_jobstore_t *js = store_open(f);
	for (int i = 0; i < 4; i++)
		j[i] = put(js, "lee", data, 100 + (size_t)i);
	assert_int_equal(pl_jobstore_claim(js, j[0].id, 0, &got, &err), 0);
	assert_int_equal(pl_jobstore_printed(js, j[0].id, &err), 0);
	assert_int_equal(pl_jobstore_claim_hold(js, j[1].id, 0, &got, &err), 0);
	assert_int_equal(pl_jobstore_delete(js, j[3].id, &err), 0);
	for (int i = 0; i < 4; i++)
		memcpy(ids[i], j[i].id, sizeof(ids[i]));
	snprintf(ids[4], sizeof(ids[4]), "0123456789abcdef0123456789abcdef");
	snprintf(ids[5], sizeof(ids[5]), "../etc/passwd");
	memcpy(ids[6], j[0].id, sizeof(ids[6])); /* twice */
	assert_int_equal(pl_jobstore_delete_batch(js, (const char(*)[PL_JOB_ID_LEN + 1])ids,
						  7, rcs, &err), 3);
	assert_int_equal(rcs[0], PL_JS_OK);
	assert_int_equal(rcs[1], PL_JS_OK);
	assert_int_equal(rcs[2], PL_JS_OK);
	assert_int_equal(rcs[3], PL_JS_ENOENT);
	assert_int_equal(rcs[4], PL_JS_ENOENT);
	assert_int_equal(rcs[5], PL_JS_EINVAL);
	assert_int_equal(rcs[6], PL_JS_ENOENT);
	assert_non_null(strstr(err.msg, "bad job id"));
	for (int i = 0; i < 4; i++)
		assert_int_equal(pl_jobstore_get(js, j[i].id, &got), PL_JS_ENOENT);
	assert_int_equal(count_prefix(f->dir, ""), 0);
	assert_int_equal(pl_jobstore_delete_batch(js, NULL, 0, rcs, &err), 0);
	pl_jobstore_close(js);
	js = store_open(f);
	assert_int_equal(pl_jobstore_printed_at_open(js), 0);
	assert_false(listed(js, j[1].id, NULL));
	pl_jobstore_close(js);
}

/* A crash in the middle of an append leaves a torn record: cut off at
 * open (its claim never finished, so nothing was printed). Garbage that
 * is not ours is cut the same way, never read as a claim. */
static void test_journal_torn(void **state)
{
	fx_t *f = *state;
	pl_job_meta_t a, got;
	uint8_t data[10] = { 2 };
	pl_err_t err;
	char path[PATH_MAX + 80];

	pl_jobstore_t *js = store_open(f);
	a = put(js, "bo", data, 10);
	assert_int_equal(pl_jobstore_claim(js, a.id, 0, &got, &err), 0);
	pl_jobstore_close(js);
	snprintf(path, sizeof(path), "%s/release.journal", f->dir);
	FILE *fp = fopen(path, "a");
	assert_non_null(fp);
	fprintf(fp, "P %.20s", a.id); /* a torn "printed" */
	fclose(fp);
	js = store_open(f);
	int64_t maybe = 0;
	assert_true(listed(js, a.id, &maybe)); /* the C stands: maybe, not printed */
	assert_true(maybe > 0);
	assert_int_equal(journal_size(f), 52);
	pl_jobstore_close(js);
}

/* Many jobs, deleted in an order that exercises the id map's shifts. */
static void test_index_many(void **state)
{
	fx_t *f = *state;
	enum { N = 400 };
	static pl_job_meta_t m[N];
	pl_job_meta_t got;
	uint8_t data[4] = { 3 };
	pl_err_t err;

	f->o.verify_on_open = 0;
	pl_jobstore_t *js = store_open(f);
	for (int i = 0; i < N; i++)
		m[i] = put(js, i % 2 ? "odd" : "even", data, 4);
	for (int i = 0; i < N; i += 3)
		assert_int_equal(pl_jobstore_delete(js, m[i].id, &err), 0);
	for (int i = 0; i < N; i++)
		assert_int_equal(pl_jobstore_get(js, m[i].id, &got),
				 i % 3 == 0 ? PL_JS_ENOENT : PL_JS_OK);
	/* The owner map followed every move: per-owner lists and bytes. */
	size_t odd = 0, even = 0, n;
	for (int i = 0; i < N; i++)
		if (i % 3)
			*(i % 2 ? &odd : &even) += 1;
	pl_job_meta_t *l;
	assert_int_equal(pl_jobstore_list(js, "odd", &l, &n), 0);
	assert_int_equal(n, odd);
	for (size_t k = 0; k < n; k++)
		assert_string_equal(l[k].owner, "odd");
	free(l);
	assert_int_equal(pl_jobstore_list(js, "even", &l, &n), 0);
	assert_int_equal(n, even);
	free(l);
	assert_int_equal(pl_jobstore_bytes(js, "odd"), 4 * odd);
	assert_int_equal(pl_jobstore_bytes(js, "nobody"), 0);
	/* An owner whose last job goes is gone from the map, and comes back. */
	assert_int_equal(pl_jobstore_list(js, "solo", &l, &n), 0);
	assert_int_equal(n, 0);
	pl_job_meta_t solo = put(js, "solo", data, 4);
	assert_int_equal(pl_jobstore_bytes(js, "solo"), 4);
	assert_int_equal(pl_jobstore_delete(js, solo.id, &err), 0);
	assert_int_equal(pl_jobstore_bytes(js, "solo"), 0);
	solo = put(js, "solo", data, 4);
	assert_int_equal(pl_jobstore_list(js, "solo", &l, &n), 0);
	assert_int_equal(n, 1);
	free(l);
	pl_jobstore_close(js);
	js = store_open(f);
	for (int i = 0; i < N; i++)
		assert_int_equal(pl_jobstore_get(js, m[i].id, &got),
				 i % 3 == 0 ? PL_JS_ENOENT : PL_JS_OK);
	pl_jobstore_close(js);
}

/* A job whose data does not authenticate is set aside, not left to block
 * its owner's releases; the file stays for the administrator. */
static void test_set_aside(void **state)
{
	fx_t *f = *state;
	pl_job_meta_t a, b, got;
	uint8_t data[300] = { 4 };
	pl_err_t err;
	char path[PATH_MAX + 160];

	f->o.verify_on_open = 0; /* open checks the metadata, not the data */
	pl_jobstore_t *js = store_open(f);
	a = put(js, "cy", data, 300);
	b = put(js, "cy", data, 100);
	snprintf(path, sizeof(path), "%s/%s.job", f->dir, a.id);
	FILE *fp = fopen(path, "r+");
	assert_non_null(fp);
	assert_int_equal(fseek(fp, HDR_LEN + 30, SEEK_SET), 0);
	int c = fgetc(fp);
	assert_int_equal(fseek(fp, HDR_LEN + 30, SEEK_SET), 0);
	fputc(c ^ 0x40, fp);
	fclose(fp);
	assert_int_equal(pl_jobstore_verify(js, b.id, &err), PL_JS_OK);
	assert_int_equal(pl_jobstore_verify(js, a.id, &err), PL_JS_ECORRUPT);
	assert_int_equal(pl_jobstore_set_aside(js, a.id, &err), PL_JS_OK);
	assert_int_equal(pl_jobstore_get(js, a.id, &got), PL_JS_ENOENT);
	assert_int_equal(pl_jobstore_set_aside(js, a.id, &err), PL_JS_ENOENT);
	assert_true(listed(js, b.id, NULL));
	snprintf(path, sizeof(path), "%s/%s.job.corrupt", f->dir, a.id);
	assert_int_equal(access(path, F_OK), 0);
	pl_jobstore_close(js);
	js = store_open(f);
	assert_int_equal(pl_jobstore_get(js, a.id, &got), PL_JS_ENOENT);
	pl_jobstore_close(js);
}

/* ---- idempotency keys and free space ---- */

static pl_job_meta_t keyed(const char *owner, const char *ws, const char *key,
			   uint64_t size)
{
	pl_job_meta_t m = meta_for(owner, size);

	snprintf(m.workstation, sizeof(m.workstation), "%s", ws);
	snprintf(m.idem_key, sizeof(m.idem_key), "%s", key);
	return m;
}

/* A key names one job of one owner from one workstation: a second begin
 * finds it (EEXIST) or, while it is being stored, waits (EBUSY); another
 * owner or workstation with the same key is another job. The key lives in
 * the metadata: it survives a restart and goes with the job. */
static void test_idempotency_key(void **state)
{
	fx_t *f = *state;
	pl_jobstore_t *js = store_open(f);
	pl_job_meta_t m, held;
	pl_jobw_t *w, *w2;
	pl_err_t err;
	char id[PL_JOB_ID_LEN + 1];
	uint8_t data[300];

	pattern(data, sizeof(data), 11);
	m = keyed("alice", "ws1", "k-1", sizeof(data));
	assert_int_equal(pl_jobstore_begin(js, &m, &w, &err), 0);
	assert_int_equal(pl_jobstore_find_key(js, "alice", "ws1", "k-1", id), PL_JS_EBUSY);
	expect_err(pl_jobstore_begin(js, &m, &w2, &err), PL_JS_EBUSY, &err, "being stored");
	assert_null(w2);
	pl_jobw_abort(w); /* an aborted upload leaves no key behind */
	assert_int_equal(pl_jobstore_find_key(js, "alice", "ws1", "k-1", id), 0);
	held = put_as(js, m, data, 100);
	assert_string_equal(held.idem_key, "k-1");
	assert_int_equal(pl_jobstore_find_key(js, "alice", "ws1", "k-1", id), 1);
	assert_string_equal(id, held.id);
	expect_err(pl_jobstore_begin(js, &m, &w2, &err), PL_JS_EEXIST, &err, held.id);
	assert_int_equal(pl_jobstore_find_key(js, "bob", "ws1", "k-1", id), 0);
	assert_int_equal(pl_jobstore_find_key(js, "alice", "ws2", "k-1", id), 0);
	assert_int_equal(pl_jobstore_find_key(js, "alice", "ws1", "", id), 0);
	m = keyed("bob", "ws1", "k-1", sizeof(data));
	put_as(js, m, data, 100);
	pl_jobstore_close(js);

	js = store_open(f);
	assert_int_equal(pl_jobstore_find_key(js, "alice", "ws1", "k-1", id), 1);
	assert_string_equal(id, held.id);
	assert_int_equal(pl_jobstore_delete(js, held.id, &err), 0);
	assert_int_equal(pl_jobstore_find_key(js, "alice", "ws1", "k-1", id), 0);
	/* Metadata without a key (older files, keyless clients) reads as "". */
	held = put(js, "carol", data, sizeof(data));
	pl_jobstore_close(js);
	js = store_open(f);
	assert_int_equal(pl_jobstore_get(js, held.id, &m), 0);
	assert_string_equal(m.idem_key, "");
	pl_jobstore_close(js);
}

/* The announced size against the file system's free space, at begin. */
static void test_free_space(void **state)
{
	fx_t *f = *state;
	pl_jobstore_t *js = store_open(f);
	pl_job_meta_t m = meta_for("alice", INT64_MAX);
	pl_jobw_t *w;
	pl_err_t err;

	expect_err(pl_jobstore_begin(js, &m, &w, &err), PL_JS_ENOSPACE, &err,
		   "not enough free disk space for this job: 8192.0 PiB needed, ");
	assert_null(w);
	assert_int_equal(pl_jobstore_bytes(js, NULL), 0);
	m = meta_for("alice", 1000); /* the reservation was returned */
	assert_int_equal(pl_jobstore_begin(js, &m, &w, &err), 0);
	pl_jobw_abort(w);
	pl_jobstore_close(js);
}

/* The start-up index cache: a reopen reads the cache, not the files; a
 * stale cache (jobs added after it was saved, as after a crash), a
 * damaged one, and a job file that is not the cached one all fall back
 * to opening the files, with the same result. */
static void copy_file(const char *from, const char *to)
{
	char *s = NULL;
	FILE *f = fopen(from, "rb");
	assert_non_null(f);
	s = malloc(64 << 20);
	size_t n = fread(s, 1, 64 << 20, f);
	fclose(f);
	f = fopen(to, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(s, 1, n, f), n);
	fclose(f);
	free(s);
}

static void test_index_cache(void **state)
{
	fx_t *f = *state;
	enum { N = 300 };
	static pl_job_meta_t m[N];
	pl_job_meta_t got, extra;
	uint8_t data[8] = { 5 };
	pl_err_t err;
	char cache[PATH_MAX + 80], saved[PATH_MAX + 80];

	f->o.verify_on_open = 0;
	snprintf(cache, sizeof(cache), "%s/index.cache", f->dir);
	snprintf(saved, sizeof(saved), "%s/cache.saved", f->base);
	pl_jobstore_t *js = store_open(f);
	for (int i = 0; i < N; i++)
		m[i] = put(js, i % 3 ? "ann" : "bob", data, 8);
	assert_int_equal(pl_jobstore_save_index(js, 1, &err), 1);
	assert_int_equal(pl_jobstore_save_index(js, 1, &err), 0); /* nothing new */
	copy_file(cache, saved);
	extra = put(js, "cy", data, 8); /* after the save: as after a crash */
	pl_jobstore_close(js);

	js = store_open(f);
	assert_int_equal(pl_jobstore_opened_from_cache(js), N + 1);
	for (int i = 0; i < N; i += 7) {
		assert_int_equal(pl_jobstore_get(js, m[i].id, &got), 0);
		assert_string_equal(got.owner, m[i].owner);
		assert_string_equal(got.title, m[i].title);
		assert_int_equal(got.created_ms, m[i].created_ms);
		assert_memory_equal(got.sha256, m[i].sha256, 32);
	}
	pl_jobstore_close(js);

	/* The older cache: the job added after it is read from its file. */
	copy_file(saved, cache);
	js = store_open(f);
	assert_int_equal(pl_jobstore_opened_from_cache(js), N);
	assert_int_equal(pl_jobstore_get(js, extra.id, &got), 0);
	assert_string_equal(got.owner, "cy");
	pl_jobstore_close(js);

	/* A job file replaced (another inode): read from the file. */
	char p1[PATH_MAX + 160], p2[PATH_MAX + 80];
	snprintf(p1, sizeof(p1), "%s/%s.job", f->dir, m[0].id);
	snprintf(p2, sizeof(p2), "%s/copy", f->base);
	copy_file(p1, p2);
	assert_int_equal(rename(p2, p1), 0);
	js = store_open(f);
	assert_int_equal(pl_jobstore_opened_from_cache(js), N);
	assert_int_equal(pl_jobstore_get(js, m[0].id, &got), 0);
	/* A job whose file is gone is not listed, whatever the cache says. */
	assert_int_equal(pl_jobstore_delete(js, m[1].id, &err), 0);
	pl_jobstore_close(js);

	/* A damaged cache is not used; nothing is lost. */
	FILE *fp = fopen(cache, "r+b");
	assert_non_null(fp);
	fseek(fp, 100, SEEK_SET);
	int c = fgetc(fp);
	fseek(fp, 100, SEEK_SET);
	fputc(c ^ 1, fp);
	fclose(fp);
	js = store_open(f);
	assert_int_equal(pl_jobstore_opened_from_cache(js), 0);
	pl_job_meta_t *l;
	size_t n;
	assert_int_equal(pl_jobstore_list(js, NULL, &l, &n), 0);
	assert_int_equal(n, N); /* N + extra - deleted */
	free(l);
	assert_int_equal(pl_jobstore_get(js, m[1].id, &got), PL_JS_ENOENT);
	pl_jobstore_close(js);
	unlink(saved);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_roundtrip_sizes),
		T(test_reopen_same_meta),
		T(test_list_owner_oldest_first),
		T(test_list_page),
		T(test_tamper_header),
		T(test_tamper_data),
		T(test_tamper_metadata_and_trailer),
		T(test_tamper_truncate),
		T(test_tamper_reorder_splice),
		T(test_tamper_rename),
		T(test_partial_upload_removed),
		T(test_acknowledged_survives),
		T(test_master_key_created_0600),
		T(test_master_key_too_open),
		T(test_master_key_wrong_size),
		T(test_master_key_other),
		T(test_quota_user),
		T(test_quota_total),
		T(test_size_mismatch),
		T(test_sha_mismatch),
		T(test_write_beyond_announced),
		T(test_write_error_removes_file),
		T(test_bad_arguments),
		T(test_delete_shreds),
		T(test_expire),
		T(test_claim),
		T(test_journal_outcomes),
		T(test_journal_torn),
		T(test_index_many),
		T(test_set_aside),
		T(test_index_cache),
		T(test_read_verified),
		T(test_read_verified_one_pass),
		T(test_claim_hold_commit),
		T(test_delete_batch),
		T(test_group_commit),
		T(test_lent_writes),
		T(test_concurrent_writers),
		T(test_idempotency_key),
		T(test_free_space),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
