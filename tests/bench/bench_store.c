/* bench_store: the job store as it grows (make bench: [8]).
 *
 *   bench_store fill DIR N      hold N jobs of 4 KiB in DIR/jobs (adds what
 *                               is missing; owners u0..u999, so 100 jobs
 *                               each at 100k), without fsyncs: the figures
 *                               below are CPU and page cache, not the disk
 *   bench_store open DIR        open the store (start-up): "open_ms N jobs"
 *   bench_store floor DIR       readdir + read the first 80 bytes of every
 *                               job file: "floor_ms N files" (the least an
 *                               open that looks at each file must do)
 *   bench_store ops DIR         one user's listing, claim + unclaim, get:
 *                               "list_us claim_us get_us" (medians of 200)
 *
 * The store is opened with the production options (no data verification
 * at open). DIR/master.key is created on first use. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "pl_jobstore.h"

static int store_open(const char *dir, pl_jobstore_t **js)
{
	char jobs[4096], key[4096];
	pl_err_t err = { "" };
	snprintf(jobs, sizeof(jobs), "%s/jobs", dir);
	snprintf(key, sizeof(key), "%s/master.key", dir);
	pl_jobstore_opts_t o = { .dir = jobs, .master_key = key };
	if (pl_jobstore_open(js, &o, &err) < 0) {
		fprintf(stderr, "bench_store: open %s: %s\n", jobs, err.msg);
		return -1;
	}
	return 0;
}

static int put(pl_jobstore_t *js, const char *owner, const uint8_t *data, size_t n)
{
	pl_job_meta_t m = { 0 }, out;
	pl_jobw_t *w = NULL;
	pl_err_t err = { "" };
	snprintf(m.owner, sizeof(m.owner), "%s", owner);
	snprintf(m.workstation, sizeof(m.workstation), "ws-bench");
	snprintf(m.title, sizeof(m.title), "a document of %s", owner);
	snprintf(m.format, sizeof(m.format), "application/pdf");
	snprintf(m.source, sizeof(m.source), "bench");
	m.size = n;
	if (pl_jobstore_begin(js, &m, &w, &err) < 0 || pl_jobw_write(w, data, n, &err) < 0 ||
	    pl_jobw_commit(w, NULL, 0, &out, &err) < 0) {
		fprintf(stderr, "bench_store: put: %s\n", err.msg);
		return -1;
	}
	return 0;
}

static int cmd_fill(const char *dir, long want)
{
	pl_jobstore_t *js;
	static uint8_t data[4096];
	if (store_open(dir, &js) < 0)
		return BENCH_EXIT_FAIL;
	pl_job_meta_t *l = NULL;
	size_t have = 0;
	pl_jobstore_list(js, NULL, &l, &have);
	free(l);
	for (long i = (long)have; i < want; i++) {
		char owner[32];
		snprintf(owner, sizeof(owner), "u%ld", i % 1000);
		data[i % sizeof(data)] ^= 1;
		if (put(js, owner, data, sizeof(data)) < 0)
			return BENCH_EXIT_FAIL;
	}
	pl_jobstore_sync_dir(js, NULL);
	pl_jobstore_close(js);
	return 0;
}

static int cmd_open(const char *dir)
{
	pl_jobstore_t *js;
	uint64_t t0 = bench_now_ns();
	if (store_open(dir, &js) < 0)
		return BENCH_EXIT_FAIL;
	uint64_t t1 = bench_now_ns();
	pl_job_meta_t *l = NULL;
	size_t n = 0;
	pl_jobstore_list(js, NULL, &l, &n);
	free(l);
	pl_jobstore_close(js);
	printf("%.1f %zu\n", (double)(t1 - t0) / 1e6, n);
	return 0;
}

static int cmd_floor(const char *dir)
{
	char jobs[4096];
	snprintf(jobs, sizeof(jobs), "%s/jobs", dir);
	uint64_t t0 = bench_now_ns();
	DIR *d = opendir(jobs);
	struct dirent *de;
	size_t n = 0;
	if (!d)
		return BENCH_EXIT_FAIL;
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		if (len < 5 || strcmp(de->d_name + len - 4, ".job") != 0)
			continue;
		int fd = openat(dirfd(d), de->d_name, O_RDONLY | O_CLOEXEC);
		uint8_t hdr[80];
		if (fd >= 0) {
			if (pread(fd, hdr, sizeof(hdr), 0) == (ssize_t)sizeof(hdr))
				n++;
			close(fd);
		}
	}
	closedir(d);
	printf("%.1f %zu\n", (double)(bench_now_ns() - t0) / 1e6, n);
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

static int cmd_ops(const char *dir)
{
	enum { R = 200 };
	pl_jobstore_t *js;
	uint64_t tl[R], tc[R], tg[R];
	if (store_open(dir, &js) < 0)
		return BENCH_EXIT_FAIL;
	for (int r = 0; r < R; r++) {
		char owner[32];
		pl_job_meta_t *l = NULL, got;
		size_t n = 0;
		pl_err_t err;
		snprintf(owner, sizeof(owner), "u%d", (r * 7) % 1000);
		uint64_t t0 = bench_now_ns();
		pl_jobstore_list(js, owner, &l, &n);
		uint64_t t1 = bench_now_ns();
		if (n == 0) {
			free(l);
			fprintf(stderr, "bench_store: no jobs for %s\n", owner);
			return BENCH_EXIT_FAIL;
		}
		char id[PL_JOB_ID_LEN + 1];
		memcpy(id, l[n - 1].id, sizeof(id));
		free(l);
		uint64_t t2 = bench_now_ns();
		if (pl_jobstore_claim(js, id, 0, &got, &err) < 0) {
			fprintf(stderr, "bench_store: claim: %s\n", err.msg);
			return BENCH_EXIT_FAIL;
		}
		pl_jobstore_unclaim(js, id, 0);
		uint64_t t3 = bench_now_ns();
		pl_jobstore_get(js, id, &got);
		uint64_t t4 = bench_now_ns();
		tl[r] = t1 - t0;
		tc[r] = t3 - t2;
		tg[r] = t4 - t3;
	}
	pl_jobstore_close(js);
	qsort(tl, R, sizeof(tl[0]), cmp_u64);
	qsort(tc, R, sizeof(tc[0]), cmp_u64);
	qsort(tg, R, sizeof(tg[0]), cmp_u64);
	printf("%.1f %.1f %.1f\n", (double)tl[R / 2] / 1e3, (double)tc[R / 2] / 1e3,
	       (double)tg[R / 2] / 1e3);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "fill") == 0)
		return cmd_fill(argv[2], atol(argv[3]));
	if (argc == 3 && strcmp(argv[1], "open") == 0)
		return cmd_open(argv[2]);
	if (argc == 3 && strcmp(argv[1], "floor") == 0)
		return cmd_floor(argv[2]);
	if (argc == 3 && strcmp(argv[1], "ops") == 0)
		return cmd_ops(argv[2]);
	fprintf(stderr, "usage: bench_store fill DIR N | open DIR | floor DIR | ops DIR\n");
	return BENCH_EXIT_FAIL;
}
