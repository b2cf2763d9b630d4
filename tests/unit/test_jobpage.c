/* Unit tests for proto/jobpage.c: the order of held jobs, cursors (nested
 * and as strings) and the merge of several holders' pages, walked as the
 * supervisor walks them: every job once, in order, whatever the page
 * sizes, the holders' own caps, and jobs coming and going between pages. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pl_jobpage.h"

/* ---- positions and cursors ---- */

static void test_order(void **state)
{
	(void)state;
	assert_true(pl_jobpos_cmp(1, "b", 2, "a") < 0); /* time first */
	assert_true(pl_jobpos_cmp(2, "a", 1, "b") > 0);
	assert_true(pl_jobpos_cmp(5, "a1", 5, "a2") < 0); /* then the id */
	assert_int_equal(pl_jobpos_cmp(5, "ff", 5, "ff"), 0);
}

static void test_nested_round_trip(void **state)
{
	pl_jobpos_t p = { .created_ms = 1795850600903ull }, q;
	pl_msg_t m;
	pl_frame_t f;
	pl_field_t fl;
	size_t used;
	(void)state;
	strcpy(p.id, "0123456789abcdef0123456789abcdef");
	assert_int_equal(pl_msg_init(&m, PL_MSG_CTL_JOBS, 0, 1), 0);
	assert_int_equal(pl_jobpos_add(&m, PL_TAG_AFTER, &p), 0);
	assert_int_equal(pl_msg_finish(&m), 0);
	assert_int_equal(pl_frame_parse(m.buf, m.len, PL_PROTO_DEFAULT_MAX, &f, &used), 0);
	assert_int_equal(pl_frame_find(&f, PL_TAG_AFTER, &fl), 1);
	assert_int_equal(pl_jobpos_decode(&fl, &q), 0);
	assert_int_equal(q.created_ms, p.created_ms);
	assert_string_equal(q.id, p.id);
	pl_msg_free(&m);

	/* Either field missing, or of the wrong type: not a cursor. */
	for (int which = 0; which < 3; which++) {
		assert_int_equal(pl_msg_init(&m, PL_MSG_CTL_JOBS, 0, 1), 0);
		pl_msg_nest_begin(&m, PL_TAG_AFTER);
		if (which != 0)
			pl_msg_add_str(&m, PL_TAG_JOB_ID, "ab");
		if (which == 1)
			pl_msg_add_u32(&m, PL_TAG_CREATED_MS, 7); /* u64 expected */
		if (which == 2)
			pl_msg_add_u64(&m, PL_TAG_SIZE, 7);
		if (which == 0)
			pl_msg_add_u64(&m, PL_TAG_CREATED_MS, 7);
		pl_msg_nest_end(&m);
		assert_int_equal(pl_msg_finish(&m), 0);
		assert_int_equal(pl_frame_parse(m.buf, m.len, PL_PROTO_DEFAULT_MAX, &f, &used), 0);
		assert_int_equal(pl_frame_find(&f, PL_TAG_AFTER, &fl), 1);
		assert_int_equal(pl_jobpos_decode(&fl, &q), -1);
		pl_msg_free(&m);
	}
}

static void test_string_form(void **state)
{
	pl_jobpos_t p = { .created_ms = 1795850600903ull }, q;
	char buf[PL_JOBPOS_STR_MAX];
	(void)state;
	strcpy(p.id, "00ff");
	assert_int_equal(pl_jobpos_format(&p, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "1795850600903-00ff");
	assert_int_equal(pl_jobpos_parse(buf, &q), 0);
	assert_int_equal(q.created_ms, p.created_ms);
	assert_string_equal(q.id, "00ff");
	assert_int_equal(pl_jobpos_format(&p, buf, 5), -1);

	static const char *const bad[] = {
		"", "-ab", "12-", "12", "12ab", "x-ab", "12-AB", "12-a b", "+12-ab",
		" 12-ab", "12-ab/", "99999999999999999999-ab", "123456789012345678901-ab",
		"1-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(pl_jobpos_parse(bad[i], &q), -1);
	assert_int_equal(pl_jobpos_parse("0-a", &q), 0);
}

/* ---- the merge ---- */

typedef struct {
	pl_jobpos_t pos; /* first, as pl_jobmerge_take wants */
	int holder;
} job_t;

#define NHOLDERS 3
#define MAXJOBS 400

typedef struct {
	job_t jobs[MAXJOBS]; /* sorted */
	int n;
	size_t cap; /* the most a page of this holder holds */
} holder_t;

static int cmp_job(const void *a, const void *b)
{
	return pl_jobpos_cmpp(a, b);
}

static void hold(holder_t *h, int holder, uint64_t ms, const char *id)
{
	assert_true(h->n < MAXJOBS);
	job_t *j = &h->jobs[h->n++];
	j->pos.created_ms = ms;
	snprintf(j->pos.id, sizeof(j->pos.id), "%s", id);
	j->holder = holder;
	qsort(h->jobs, (size_t)h->n, sizeof(h->jobs[0]), cmp_job);
}

static void drop(holder_t *h, int k)
{
	memmove(&h->jobs[k], &h->jobs[k + 1], sizeof(h->jobs[0]) * (size_t)(h->n - k - 1));
	h->n--;
}

/* A holder's answer: up to min(limit, its cap) jobs after the cursor. */
static size_t holder_page(const holder_t *h, const pl_jobpos_t *after, size_t limit,
			  job_t *out, int *more)
{
	size_t lim = limit < h->cap ? limit : h->cap, n = 0;
	*more = 0;
	for (int i = 0; i < h->n; i++) {
		if (after && pl_jobpos_cmpp(&h->jobs[i].pos, after) <= 0)
			continue;
		if (n == lim) {
			*more = 1;
			break;
		}
		out[n++] = h->jobs[i];
	}
	return n;
}

/* The supervisor's step: ask every holder, merge, take. Returns how many
 * jobs went into page; *more as the answer says. */
static size_t merged_page(holder_t *hs, const pl_jobpos_t *after, size_t limit,
			  job_t *page, int *more)
{
	static job_t all[NHOLDERS * MAXJOBS];
	pl_jobmerge_t mg;
	size_t n = 0;
	pl_jobmerge_init(&mg);
	for (int k = 0; k < NHOLDERS; k++) {
		int hmore;
		size_t got = holder_page(&hs[k], after, limit, all + n, &hmore);
		pl_jobmerge_page(&mg, got ? &all[n + got - 1].pos : NULL, hmore);
		n += got;
	}
	qsort(all, n, sizeof(all[0]), cmp_job);
	size_t take = pl_jobmerge_take(&mg, all, n, sizeof(all[0]), limit, more);
	memcpy(page, all, take * sizeof(page[0]));
	return take;
}

static void fill(holder_t *hs, unsigned seed)
{
	char id[16];
	memset(hs, 0, sizeof(*hs) * NHOLDERS);
	srand(seed);
	for (int i = 0; i < 3 * 90; i++) {
		int k = rand() % NHOLDERS;
		/* Few distinct times: many jobs share a millisecond, across
		 * holders too, so the id decides. */
		snprintf(id, sizeof(id), "%08x", (unsigned)rand());
		hold(&hs[k], k, 1000 + (uint64_t)(rand() % 40), id);
	}
}

/* Every job once, in order, for every page size and holder cap. */
static void test_walk_every_job_once(void **state)
{
	static holder_t hs[NHOLDERS];
	static job_t page[MAXJOBS], seen[NHOLDERS * MAXJOBS];
	(void)state;
	for (unsigned seed = 1; seed <= 20; seed++) {
		for (size_t limit = 1; limit <= 64; limit = limit * 2 + 1) {
			fill(hs, seed);
			size_t total = 0;
			for (int k = 0; k < NHOLDERS; k++) {
				hs[k].cap = k == 1 ? (size_t)(1 + seed % 5) : 1000; /* one caps low */
				total += (size_t)hs[k].n;
			}
			pl_jobpos_t cur;
			const pl_jobpos_t *after = NULL;
			size_t nseen = 0;
			int more = 1, rounds = 0;
			while (more) {
				assert_true(++rounds <= (int)total + 2); /* advances */
				size_t got = merged_page(hs, after, limit, page, &more);
				assert_true(got <= limit);
				assert_true(got > 0 || !more);
				memcpy(seen + nseen, page, got * sizeof(page[0]));
				nseen += got;
				if (got) {
					cur = page[got - 1].pos;
					after = &cur;
				}
			}
			assert_int_equal(nseen, total);
			for (size_t i = 1; i < nseen; i++)
				assert_true(pl_jobpos_cmpp(&seen[i - 1].pos, &seen[i].pos) < 0);
		}
	}
}

/* Jobs released or held between pages: each job there all along is seen
 * exactly once; none is seen twice. */
static void test_walk_with_changes(void **state)
{
	static holder_t hs[NHOLDERS];
	static job_t page[MAXJOBS], seen[4 * NHOLDERS * MAXJOBS];
	(void)state;
	for (unsigned seed = 1; seed <= 20; seed++) {
		fill(hs, seed);
		/* The jobs there from start to end get this mark: the rest
		 * may or may not be seen. */
		static char steady[NHOLDERS][MAXJOBS][16];
		int nsteady[NHOLDERS];
		for (int k = 0; k < NHOLDERS; k++) {
			hs[k].cap = 7;
			nsteady[k] = 0;
		}
		pl_jobpos_t cur;
		const pl_jobpos_t *after = NULL;
		size_t nseen = 0;
		int more = 1, round = 0;
		char id[16];
		while (more) {
			size_t got = merged_page(hs, after, 10, page, &more);
			memcpy(seen + nseen, page, got * sizeof(page[0]));
			nseen += got;
			if (got) {
				cur = page[got - 1].pos;
				after = &cur;
			}
			/* Between pages: release one job anywhere, hold one old
			 * and one new one. */
			int k = round++ % NHOLDERS;
			if (hs[k].n > 1)
				drop(&hs[k], rand() % hs[k].n);
			snprintf(id, sizeof(id), "n%07x", (unsigned)rand() & 0xfffffff);
			hold(&hs[k], k, 1000 + (uint64_t)(rand() % 40), id);
			snprintf(id, sizeof(id), "z%07x", (unsigned)round);
			hold(&hs[(k + 1) % NHOLDERS], (k + 1) % NHOLDERS, 5000 + (uint64_t)round, id);
		}
		/* What is left now was there throughout unless held during
		 * the walk; held before the first page: the fill ones. */
		for (int k = 0; k < NHOLDERS; k++)
			for (int i = 0; i < hs[k].n; i++)
				if (hs[k].jobs[i].pos.id[0] != 'n' && hs[k].jobs[i].pos.id[0] != 'z')
					snprintf(steady[k][nsteady[k]++], 16, "%s", hs[k].jobs[i].pos.id);
		for (size_t i = 1; i < nseen; i++)
			assert_true(pl_jobpos_cmpp(&seen[i - 1].pos, &seen[i].pos) < 0);
		for (int k = 0; k < NHOLDERS; k++) {
			for (int s = 0; s < nsteady[k]; s++) {
				int times = 0;
				for (size_t i = 0; i < nseen; i++)
					times += strcmp(seen[i].pos.id, steady[k][s]) == 0;
				assert_int_equal(times, 1);
			}
		}
	}
}

/* The bound: a holder with more stops the answer at its last job. */
static void test_bound(void **state)
{
	job_t jobs[4] = { 0 };
	pl_jobmerge_t mg;
	int more;
	(void)state;
	for (int i = 0; i < 4; i++) {
		jobs[i].pos.created_ms = 10 + (uint64_t)i;
		strcpy(jobs[i].pos.id, "aa");
	}
	pl_jobmerge_init(&mg);
	assert_int_equal(pl_jobmerge_take(&mg, jobs, 4, sizeof(jobs[0]), 10, &more), 4);
	assert_false(more);
	assert_int_equal(pl_jobmerge_take(&mg, jobs, 4, sizeof(jobs[0]), 3, &more), 3);
	assert_true(more);
	pl_jobmerge_page(&mg, &jobs[3].pos, 0); /* no more: no bound */
	pl_jobmerge_page(&mg, NULL, 1);		/* more, but no job: broken, ignored */
	assert_int_equal(pl_jobmerge_take(&mg, jobs, 4, sizeof(jobs[0]), 10, &more), 4);
	assert_false(more);
	pl_jobmerge_page(&mg, &jobs[2].pos, 1);
	pl_jobmerge_page(&mg, &jobs[1].pos, 1); /* the smaller bound wins */
	pl_jobmerge_page(&mg, &jobs[2].pos, 1);
	assert_int_equal(pl_jobmerge_take(&mg, jobs, 4, sizeof(jobs[0]), 10, &more), 2);
	assert_true(more);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_nested_round_trip),
		cmocka_unit_test(test_string_form),
		cmocka_unit_test(test_walk_every_job_once),
		cmocka_unit_test(test_walk_with_changes),
		cmocka_unit_test(test_bound),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
