/* pl_jobstore's print options (pl_jobw_options / pl_jobr_options), kept
 * apart from test_jobstore.c: sealed with the metadata, read back by a
 * reader after a reopen (from the files and from the index cache), refused
 * when too long or not printable; and a store written before options
 * existed (jobstore-v1-fixture.h, made by main's build) still opens, its
 * job reads whole and has no options. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pl_jobstore.h"
#include "jobstore-v1-fixture.h"

typedef struct {
	char base[PATH_MAX];
	char dir[PATH_MAX + 64];
	char key[PATH_MAX + 64];
	pl_jobstore_opts_t o;
} fx_t;

static int setup(void **state)
{
	const char *tmp = getenv("TMPDIR");
	fx_t *f = calloc(1, sizeof(*f));
	if (f == NULL)
		return -1;
	snprintf(f->base, sizeof(f->base), "%s/test_jobopts.XXXXXX",
		 tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	if (mkdtemp(f->base) == NULL) {
		free(f);
		return -1;
	}
	snprintf(f->dir, sizeof(f->dir), "%s/jobs", f->base);
	snprintf(f->key, sizeof(f->key), "%s/master.key", f->base);
	f->o.dir = f->dir;
	f->o.master_key = f->key;
	f->o.verify_on_open = 0; /* 1 would bypass the index cache */
	*state = f;
	return 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
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

static const char doc[] = "%PDF-1.4 with options\n";

/* One job with options opts (NULL: none set); its id in id. */
static void put(pl_jobstore_t *js, const char *opts, char *id)
{
	pl_job_meta_t m, out;
	pl_jobw_t *w = NULL;
	pl_err_t err = { "" };
	memset(&m, 0, sizeof(m));
	strcpy(m.owner, "alice");
	strcpy(m.format, "application/pdf");
	strcpy(m.source, "airprint");
	m.size = sizeof(doc) - 1;
	assert_int_equal(pl_jobstore_begin(js, &m, &w, &err), 0);
	assert_int_equal(pl_jobw_write(w, doc, m.size, &err), 0);
	if (opts)
		assert_int_equal(pl_jobw_options(w, opts, &err), 0);
	assert_int_equal(pl_jobw_commit(w, NULL, 1, &out, &err), 0);
	memcpy(id, out.id, PL_JOB_ID_LEN + 1);
}

/* Read job id whole (verified first, as a release does): its options
 * into opts, its bytes checked against want. */
static void read_back(pl_jobstore_t *js, const char *id, const char *want, size_t wlen,
		      char *opts, size_t osz)
{
	pl_jobr_t *r = NULL;
	pl_err_t err = { "" };
	char buf[256];
	size_t n = 0;
	ssize_t k;
	int rc = pl_jobstore_read_verified(js, id, &r, &err);
	if (rc != 0)
		fail_msg("read %s: %d %s", id, rc, err.msg);
	snprintf(opts, osz, "%s", pl_jobr_options(r));
	while ((k = pl_jobr_read(r, buf + n, sizeof(buf) - n, &err)) > 0)
		n += (size_t)k;
	assert_int_equal(k, 0);
	pl_jobr_close(r);
	assert_int_equal(n, wlen);
	assert_memory_equal(buf, want, wlen);
}

static void test_options_sealed_and_read_back(void **state)
{
	fx_t *f = *state;
	const char *o = "copies=2 sides=two-sided-long-edge print-color-mode=monochrome "
			"media=iso_a4_210x297mm";
	char a[PL_JOB_ID_LEN + 1], b[PL_JOB_ID_LEN + 1], got[PL_JOB_OPTS_MAX + 1];
	pl_jobstore_t *js = store_open(f);
	put(js, o, a);
	put(js, NULL, b);
	read_back(js, a, doc, sizeof(doc) - 1, got, sizeof(got));
	assert_string_equal(got, o);
	pl_jobstore_close(js);

	/* reopened from the files (no index cache yet) */
	char cache[PATH_MAX + 80];
	snprintf(cache, sizeof(cache), "%s/index.cache", f->dir);
	unlink(cache);
	js = store_open(f);
	assert_int_equal(pl_jobstore_opened_from_cache(js), 0);
	read_back(js, a, doc, sizeof(doc) - 1, got, sizeof(got));
	assert_string_equal(got, o);
	read_back(js, b, doc, sizeof(doc) - 1, got, sizeof(got));
	assert_string_equal(got, "");
	pl_err_t err = { "" };
	/* the store keeps an index cache from 256 jobs on */
	char more[PL_JOB_ID_LEN + 1];
	for (int i = 0; i < 254; i++)
		put(js, NULL, more);
	assert_int_equal(pl_jobstore_save_index(js, 0, &err), 1);
	pl_jobstore_close(js);

	/* reopened from the index cache, which does not carry options: the
	 * reader still finds them in the job's sealed metadata */
	js = store_open(f);
	assert_int_equal(pl_jobstore_opened_from_cache(js), 256);
	read_back(js, a, doc, sizeof(doc) - 1, got, sizeof(got));
	assert_string_equal(got, o);
	pl_jobstore_close(js);
}

static void test_options_refused(void **state)
{
	fx_t *f = *state;
	pl_jobstore_t *js = store_open(f);
	pl_job_meta_t m;
	pl_jobw_t *w = NULL;
	pl_err_t err = { "" };
	char lng[PL_JOB_OPTS_MAX + 2];
	memset(lng, 'x', sizeof(lng) - 1);
	lng[sizeof(lng) - 1] = '\0';
	memset(&m, 0, sizeof(m));
	strcpy(m.owner, "bob");
	m.size = sizeof(doc) - 1;
	assert_int_equal(pl_jobstore_begin(js, &m, &w, &err), 0);
	assert_int_equal(pl_jobw_options(w, lng, &err), PL_JS_EINVAL);
	assert_int_equal(pl_jobw_options(w, "copies=2\nsides=x", &err), PL_JS_EINVAL);
	assert_int_equal(pl_jobw_options(w, "media=\xc3\xa4", &err), PL_JS_EINVAL);
	lng[PL_JOB_OPTS_MAX] = '\0'; /* the longest taken */
	assert_int_equal(pl_jobw_options(w, lng, &err), 0);
	/* a refusal does not end the job */
	assert_int_equal(pl_jobw_write(w, doc, m.size, &err), 0);
	assert_int_equal(pl_jobw_commit(w, NULL, 1, NULL, &err), 0);
	pl_jobstore_close(js);
}

static void write_file(const char *path, const unsigned char *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, p, n), (ssize_t)n);
	assert_int_equal(close(fd), 0);
}

static void test_store_before_options(void **state)
{
	fx_t *f = *state;
	char path[PATH_MAX + 128], got[PL_JOB_OPTS_MAX + 1];
	pl_job_meta_t *jobs = NULL;
	size_t n = 0;
	assert_int_equal(mkdir(f->dir, 0700), 0);
	write_file(f->key, v1_master_key, v1_master_key_len);
	snprintf(path, sizeof(path), "%s/%s.job", f->dir, V1_JOB_ID);
	write_file(path, v1_job, v1_job_len);

	pl_jobstore_t *js = store_open(f);
	assert_int_equal(pl_jobstore_corrupt_count(js), 0);
	assert_int_equal(pl_jobstore_list(js, NULL, &jobs, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(jobs[0].id, V1_JOB_ID);
	assert_string_equal(jobs[0].owner, "alice");
	assert_string_equal(jobs[0].title, "old format");
	free(jobs);
	read_back(js, V1_JOB_ID, V1_DOC, sizeof(V1_DOC) - 1, got, sizeof(got));
	assert_string_equal(got, "");
	/* and a new job with options beside it */
	char id[PL_JOB_ID_LEN + 1];
	put(js, "copies=3", id);
	pl_jobstore_close(js);
	js = store_open(f);
	read_back(js, id, doc, sizeof(doc) - 1, got, sizeof(got));
	assert_string_equal(got, "copies=3");
	read_back(js, V1_JOB_ID, V1_DOC, sizeof(V1_DOC) - 1, got, sizeof(got));
	assert_string_equal(got, "");
	pl_jobstore_close(js);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_options_sealed_and_read_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_options_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_before_options, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
