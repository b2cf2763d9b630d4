/* pl_adapt: a fake "set + timeout" library and a fake "one by one" library
 * on pipes: the declared set is diffed into watchers, ready fds reach
 * ops.run (also as fd_sets), the library's deadline shortens the wait,
 * an fd closed and reopened under the same number inside run is watched
 * again, and the adapter can be freed from inside run. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "pl_adapt.h"

typedef struct {
	int want[8]; /* fds the fake library wants readable; -1 = none */
	long timeout;
	int runs;
	int ready_fds[8];
	size_t nready;
	int reopen; /* in run: close want[0] and reopen the same number */
	int reopen_src;
	int free_in_run;
	pl_adapt_t *a;
} fake_t;

static void fake_refresh(pl_adapt_t *a, void *arg)
{
	fake_t *f = arg;
	fd_set rs;
	int nfds = 0;
	FD_ZERO(&rs);
	for (int i = 0; i < 8; i++)
		if (f->want[i] >= 0) {
			FD_SET(f->want[i], &rs);
			if (f->want[i] + 1 > nfds)
				nfds = f->want[i] + 1;
		}
	assert_int_equal(pl_adapt_want_fdset(a, nfds, &rs, NULL, NULL), 0);
}

static long fake_timeout(pl_adapt_t *a, void *arg)
{
	(void)a;
	return ((fake_t *)arg)->timeout;
}

static void fake_run(pl_adapt_t *a, const pl_adapt_ready_t *ready, size_t n,
		     void *arg)
{
	fake_t *f = arg;
	fd_set rs, ws, es;
	int nfds;
	f->runs++;
	f->nready = n;
	pl_adapt_fdset(ready, n, &rs, &ws, &es, &nfds);
	for (size_t i = 0; i < n && i < 8; i++) {
		char buf[16];
		f->ready_fds[i] = ready[i].fd;
		assert_true(FD_ISSET(ready[i].fd, &rs));
		assert_true(ready[i].fd < nfds);
		assert_true(read(ready[i].fd, buf, sizeof(buf)) > 0);
	}
	if (f->reopen) {
		f->reopen = 0;
		close(f->want[0]);
		assert_int_equal(dup2(f->reopen_src, f->want[0]), f->want[0]);
	}
	if (f->free_in_run)
		pl_adapt_free(a);
}

static const pl_adapt_ops_t set_ops = {
	.refresh = fake_refresh,
	.timeout = fake_timeout,
	.run = fake_run,
};

static void fake_init(fake_t *f)
{
	memset(f, 0, sizeof(*f));
	for (int i = 0; i < 8; i++)
		f->want[i] = -1;
	f->timeout = -1;
}

static void test_set_style(void **state)
{
	(void)state;
	pl_loop_t *loop = pl_loop_new();
	fake_t f;
	int p1[2], p2[2];
	fake_init(&f);
	assert_int_equal(pipe(p1), 0);
	assert_int_equal(pipe(p2), 0);
	f.want[0] = p1[0];
	f.want[1] = p2[0];
	pl_adapt_t *a = pl_adapt_new(loop, &set_ops, &f);
	assert_non_null(a);

	/* Nothing ready, no deadline: a poll round does not run it. */
	pl_loop_run_once(loop, 0);
	assert_int_equal(pl_adapt_count(a), 2);
	assert_int_equal(f.runs, 0);

	assert_int_equal(write(p2[1], "x", 1), 1);
	pl_loop_run_once(loop, 1000);
	assert_int_equal(f.runs, 1);
	assert_int_equal(f.nready, 1);
	assert_int_equal(f.ready_fds[0], p2[0]);

	/* Dropped from the set: unwatched, and its data no longer wakes us. */
	f.want[1] = -1;
	assert_int_equal(write(p2[1], "y", 1), 1);
	pl_loop_run_once(loop, 0);
	assert_int_equal(pl_adapt_count(a), 1);
	assert_int_equal(f.runs, 1);

	/* The library's deadline shortens an endless wait and runs it. */
	f.timeout = 10;
	uint64_t t0 = pl_now_ms();
	pl_loop_run_once(loop, -1);
	assert_true(pl_now_ms() - t0 < 5000);
	assert_int_equal(f.runs, 2);
	assert_int_equal(f.nready, 0);
	f.timeout = -1;

	/* A wake-up runs it at the end of the round. */
	pl_adapt_wake(a);
	pl_loop_run_once(loop, -1);
	assert_int_equal(f.runs, 3);

	pl_adapt_free(a);
	pl_loop_run_once(loop, 0);
	pl_loop_free(loop);
	close(p1[0]);
	close(p1[1]);
	close(p2[0]);
	close(p2[1]);
}

static void test_fd_reused_inside_run(void **state)
{
	(void)state;
	pl_loop_t *loop = pl_loop_new();
	fake_t f;
	int p1[2], p2[2];
	fake_init(&f);
	assert_int_equal(pipe(p1), 0);
	assert_int_equal(pipe(p2), 0);
	f.want[0] = p1[0];
	pl_adapt_t *a = pl_adapt_new(loop, &set_ops, &f);
	assert_int_equal(write(p1[1], "x", 1), 1);
	/* In run, p1[0] is closed and p2[0]'s pipe takes its number. */
	f.reopen = 1;
	f.reopen_src = p2[0];
	pl_loop_run_once(loop, 1000);
	assert_int_equal(f.runs, 1);
	/* Same number, same events: only a check finds the new file. */
	assert_int_equal(write(p2[1], "z", 1), 1);
	pl_loop_run_once(loop, 1000);
	assert_int_equal(f.runs, 2);
	assert_int_equal(f.ready_fds[0], p1[0]);
	pl_adapt_free(a);
	pl_loop_free(loop);
	close(p1[0]);
	close(p1[1]);
	close(p2[0]);
	close(p2[1]);
}

static void test_free_inside_run(void **state)
{
	(void)state;
	pl_loop_t *loop = pl_loop_new();
	fake_t f;
	int p[2];
	fake_init(&f);
	assert_int_equal(pipe(p), 0);
	f.want[0] = p[0];
	f.free_in_run = 1;
	pl_adapt_new(loop, &set_ops, &f);
	assert_int_equal(write(p[1], "x", 1), 1);
	pl_loop_run_once(loop, 1000);
	assert_int_equal(f.runs, 1);
	assert_int_equal(write(p[1], "x", 1), 1);
	pl_loop_run_once(loop, 0); /* gone: no run, no crash */
	assert_int_equal(f.runs, 1);
	pl_loop_free(loop);
	close(p[0]);
	close(p[1]);
}

/* ---- one by one ---- */

typedef struct {
	int runs;
	size_t nready;
	uint32_t events;
} onebyone_t;

static void obo_run(pl_adapt_t *a, const pl_adapt_ready_t *ready, size_t n,
		    void *arg)
{
	onebyone_t *o = arg;
	(void)a;
	o->runs++;
	o->nready = n;
	o->events = n ? ready[0].events : 0;
}

static void test_one_by_one(void **state)
{
	(void)state;
	static const pl_adapt_ops_t ops = { .run = obo_run };
	pl_loop_t *loop = pl_loop_new();
	onebyone_t o = { 0 };
	int p[2];
	assert_int_equal(pipe(p), 0);
	pl_adapt_t *a = pl_adapt_new(loop, &ops, &o);

	/* The write end wants out: ready at once. */
	assert_int_equal(pl_adapt_set(a, p[1], EPOLLOUT), 0);
	assert_int_equal(pl_adapt_count(a), 1);
	pl_loop_run_once(loop, 1000);
	assert_int_equal(o.runs, 1);
	assert_true(o.events & EPOLLOUT);

	/* Changed to "in" on a write end: never ready. */
	assert_int_equal(pl_adapt_set(a, p[1], EPOLLIN), 0);
	pl_loop_run_once(loop, 0);
	assert_int_equal(o.runs, 1);

	/* A timer, fired once. */
	pl_adapt_set_timeout(a, 5);
	pl_loop_run_once(loop, -1);
	assert_int_equal(o.runs, 2);
	assert_int_equal(o.nready, 0);
	pl_loop_run_once(loop, 0);
	assert_int_equal(o.runs, 2);

	/* Cancelled timer: nothing. */
	pl_adapt_set_timeout(a, 0);
	pl_adapt_set_timeout(a, -1);
	pl_loop_run_once(loop, 0);
	assert_int_equal(o.runs, 2);

	assert_int_equal(pl_adapt_set(a, p[1], 0), 0);
	assert_int_equal(pl_adapt_count(a), 0);
	pl_adapt_free(a);
	pl_loop_free(loop);
	close(p[0]);
	close(p[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_set_style),
		cmocka_unit_test(test_fd_reused_inside_run),
		cmocka_unit_test(test_free_inside_run),
		cmocka_unit_test(test_one_by_one),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
