/* pl_loop: hooks around the wait (order, shortening the wait, unhook inside
 * a hook), pl_loop_next_timeout, and pl_loop_post from the loop thread and
 * from several threads at once (every post runs once, in order per
 * thread; posts left at pl_loop_free still run). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pl_loop.h"

/* ---- hooks ---- */

typedef struct {
	char trace[64];
	int n;
	int limit;
	pl_hook_t *self;
	int unhook_after;
} hook_rec_t;

static void trace(hook_rec_t *r, char c)
{
	if (r->n < (int)sizeof(r->trace) - 1)
		r->trace[r->n++] = c;
}

static int rec_before(pl_loop_t *loop, void *arg)
{
	hook_rec_t *r = arg;
	(void)loop;
	trace(r, 'b');
	return r->limit;
}

static void rec_after(pl_loop_t *loop, void *arg)
{
	hook_rec_t *r = arg;
	trace(r, 'a');
	if (r->unhook_after && --r->unhook_after == 0)
		pl_loop_unhook(loop, r->self);
}

static void on_pipe(pl_loop_t *loop, int fd, uint32_t ev, void *arg)
{
	char c;
	(void)loop;
	(void)ev;
	assert_int_equal(read(fd, &c, 1), 1);
	trace(arg, 'w');
}

static void test_hooks_wrap_the_wait(void **state)
{
	(void)state;
	pl_loop_t *loop = pl_loop_new();
	hook_rec_t r = { .limit = -1 };
	int p[2];
	assert_int_equal(pipe(p), 0);
	pl_watch_t *w = pl_loop_watch(loop, p[0], EPOLLIN, on_pipe, &r);
	assert_non_null(pl_loop_hook(loop, rec_before, rec_after, &r));
	assert_int_equal(write(p[1], "x", 1), 1);
	assert_int_equal(pl_loop_run_once(loop, 1000), 1);
	/* before, then the watcher, then after */
	assert_string_equal(r.trace, "bwa");
	pl_loop_unwatch(loop, w);
	pl_loop_free(loop);
	close(p[0]);
	close(p[1]);
}

static void test_hook_shortens_wait(void **state)
{
	(void)state;
	pl_loop_t *loop = pl_loop_new();
	hook_rec_t a = { .limit = 20 }, b = { .limit = -1 };
	pl_loop_hook(loop, rec_before, NULL, &a);
	pl_loop_hook(loop, rec_before, NULL, &b);
	uint64_t t0 = pl_now_ms();
	/* Would wait forever without a's 20 ms. */
	assert_int_equal(pl_loop_run_once(loop, -1), 0);
	uint64_t took = pl_now_ms() - t0;
	assert_true(took >= 15);
	assert_true(took < 5000);
	/* A hook cannot lengthen the caller's wait. */
	a.limit = 10000;
	t0 = pl_now_ms();
	assert_int_equal(pl_loop_run_once(loop, 0), 0);
	assert_true(pl_now_ms() - t0 < 5000);
	pl_loop_free(loop);
}

static void test_unhook_inside_hook(void **state)
{
	(void)state;
	pl_loop_t *loop = pl_loop_new();
	hook_rec_t r = { .limit = 0, .unhook_after = 2 };
	r.self = pl_loop_hook(loop, rec_before, rec_after, &r);
	for (int i = 0; i < 4; i++)
		pl_loop_run_once(loop, 0);
	assert_string_equal(r.trace, "baba");
	pl_loop_free(loop);
}

/* ---- next timeout ---- */

static void nop_timer(pl_loop_t *loop, void *arg)
{
	(void)loop;
	(void)arg;
}

static void test_next_timeout(void **state)
{
	(void)state;
	pl_loop_t *loop = pl_loop_new();
	assert_int_equal(pl_loop_next_timeout(loop), -1);
	pl_timer_t *t1 = pl_loop_timer(loop, 60000, nop_timer, NULL);
	int ms = pl_loop_next_timeout(loop);
	assert_true(ms > 50000 && ms <= 60000);
	pl_timer_t *t2 = pl_loop_timer(loop, 500, nop_timer, NULL);
	ms = pl_loop_next_timeout(loop);
	assert_true(ms >= 0 && ms <= 500);
	pl_loop_timer_cancel(loop, t2);
	assert_true(pl_loop_next_timeout(loop) > 500);
	pl_loop_timer_cancel(loop, t1);
	assert_int_equal(pl_loop_next_timeout(loop), -1);
	pl_loop_free(loop);
}

/* ---- posts ---- */

#define POST_THREADS 4
#define POST_EACH 5000

typedef struct {
	pthread_t self_thread;
	int ran[POST_THREADS];
	int out_of_order;
	int wrong_thread;
	int total;
} post_rec_t;

typedef struct {
	post_rec_t *rec;
	int thread;
	int seq;
} post_item_t;

static void on_post(pl_loop_t *loop, void *arg)
{
	post_item_t *it = arg;
	post_rec_t *r = it->rec;
	(void)loop;
	if (!pthread_equal(pthread_self(), r->self_thread))
		r->wrong_thread++;
	if (it->seq != r->ran[it->thread])
		r->out_of_order++;
	r->ran[it->thread]++;
	r->total++;
	free(it); /* the post's arg belongs to the callback */
}

typedef struct {
	pl_loop_t *loop;
	post_rec_t *rec;
	int thread;
	int failed;
} poster_t;

static void *poster(void *arg)
{
	poster_t *p = arg;
	for (int i = 0; i < POST_EACH; i++) {
		post_item_t *it = malloc(sizeof(*it));
		it->rec = p->rec;
		it->thread = p->thread;
		it->seq = i;
		if (pl_loop_post(p->loop, on_post, it) < 0) {
			free(it);
			p->failed++;
		}
	}
	return NULL;
}

static void test_post_from_threads(void **state)
{
	(void)state;
	pl_loop_t *loop = pl_loop_new();
	post_rec_t rec = { .self_thread = pthread_self() };
	poster_t ps[POST_THREADS];
	pthread_t th[POST_THREADS];
	for (int i = 0; i < POST_THREADS; i++) {
		ps[i] = (poster_t){ .loop = loop, .rec = &rec, .thread = i };
		assert_int_equal(pthread_create(&th[i], NULL, poster, &ps[i]), 0);
	}
	/* Run the loop while they post; it must wake for them. */
	uint64_t end = pl_now_ms() + 20000;
	while (rec.total < POST_THREADS * POST_EACH && pl_now_ms() < end)
		pl_loop_run_once(loop, 1000);
	for (int i = 0; i < POST_THREADS; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(ps[i].failed, 0);
	}
	assert_int_equal(rec.total, POST_THREADS * POST_EACH);
	for (int i = 0; i < POST_THREADS; i++)
		assert_int_equal(rec.ran[i], POST_EACH);
	assert_int_equal(rec.out_of_order, 0);
	assert_int_equal(rec.wrong_thread, 0);
	pl_loop_free(loop);
}

static int reposts;

static void repost(pl_loop_t *loop, void *arg)
{
	(void)arg;
	/* A post made from a post runs in the next round. */
	if (++reposts < 3)
		assert_int_equal(pl_loop_post(loop, repost, NULL), 0);
}

static void test_post_from_post_next_round(void **state)
{
	(void)state;
	pl_loop_t *loop = pl_loop_new();
	reposts = 0;
	assert_int_equal(pl_loop_post(loop, repost, NULL), 0);
	pl_loop_run_once(loop, 1000);
	assert_int_equal(reposts, 1);
	pl_loop_run_once(loop, 1000);
	assert_int_equal(reposts, 2);
	pl_loop_run_once(loop, 1000);
	assert_int_equal(reposts, 3);
	/* Nothing left: the round times out. */
	assert_int_equal(pl_loop_run_once(loop, 0), 0);
	pl_loop_free(loop);
}

static void count_post(pl_loop_t *loop, void *arg)
{
	(void)loop;
	(*(int *)arg)++;
}

static void test_post_runs_at_free(void **state)
{
	(void)state;
	int n = 0;
	pl_loop_t *loop = pl_loop_new();
	pl_loop_post(loop, count_post, &n);
	pl_loop_post(loop, count_post, &n);
	pl_loop_free(loop);
	assert_int_equal(n, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hooks_wrap_the_wait),
		cmocka_unit_test(test_hook_shortens_wait),
		cmocka_unit_test(test_unhook_inside_hook),
		cmocka_unit_test(test_next_timeout),
		cmocka_unit_test(test_post_from_threads),
		cmocka_unit_test(test_post_from_post_next_round),
		cmocka_unit_test(test_post_runs_at_free),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
