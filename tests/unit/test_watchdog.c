/* pl_watchdog: kicks keep it healthy, silence expires it and is reported
 * once per episode, parking exempts an idle thread, a kick from another
 * thread counts; pl_work: the age of the oldest queued-or-running job and
 * its status line. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "pl_loop.h"
#include "pl_watchdog.h"
#include "pl_work.h"

static void test_expiry(void **state)
{
	(void)state;
	int first;
	pl_watchdogs_t *set = pl_watchdogs_new();
	pl_watchdog_t *a = pl_watchdogs_add(set, "imap", 1000);
	pl_watchdog_t *b = pl_watchdogs_add(set, "worker", 50000);
	uint64_t now = pl_now_ms();
	assert_string_equal(pl_watchdog_name(a), "imap");
	assert_null(pl_watchdogs_check(set, now, &first));
	/* 2 s later: a is silent too long, reported once. */
	assert_ptr_equal(pl_watchdogs_check(set, now + 2000, &first), a);
	assert_int_equal(first, 1);
	assert_true(pl_watchdog_silence(a, now + 2000) >= 2000);
	assert_ptr_equal(pl_watchdogs_check(set, now + 2100, &first), a);
	assert_int_equal(first, 0);
	/* Kicked: healthy again, and a new episode is reported again. */
	pl_watchdog_kick(a);
	assert_null(pl_watchdogs_check(set, pl_now_ms(), &first));
	assert_ptr_equal(pl_watchdogs_check(set, pl_now_ms() + 5000, &first), a);
	assert_int_equal(first, 1);
	/* Parked: never expires; b expires later on its own. */
	pl_watchdog_park(a);
	assert_int_equal(pl_watchdog_silence(a, pl_now_ms() + 99999), 0);
	assert_ptr_equal(pl_watchdogs_check(set, pl_now_ms() + 60000, &first), b);
	pl_watchdogs_remove(set, b);
	assert_null(pl_watchdogs_check(set, pl_now_ms() + 60000, &first));
	pl_watchdogs_free(set);
}

static void *kicker(void *arg)
{
	pl_watchdog_kick(arg);
	return NULL;
}

static void test_kick_from_thread(void **state)
{
	(void)state;
	int first;
	pl_watchdogs_t *set = pl_watchdogs_new();
	pl_watchdog_t *a = pl_watchdogs_add(set, "t", 20);
	usleep(60000);
	assert_non_null(pl_watchdogs_check(set, pl_now_ms(), &first));
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, kicker, a), 0);
	pthread_join(th, NULL);
	assert_null(pl_watchdogs_check(set, pl_now_ms(), &first));
	pl_watchdogs_free(set);
}

static void slow(void *arg)
{
	(void)arg;
	usleep(300000);
}

static void test_work_age(void **state)
{
	(void)state;
	char line[200];
	size_t pending;
	pl_loop_t *loop = pl_loop_new();
	pl_work_t *w = pl_work_new(loop, "print", 1, 0);
	assert_string_equal(pl_work_name(w), "print");
	assert_int_equal(pl_work_oldest_ms(w, &pending), 0);
	assert_int_equal(pending, 0);
	pl_work_submit(w, slow, NULL, NULL);
	pl_work_submit(w, slow, NULL, NULL);
	usleep(150000);
	/* One running, one queued; the running one is the oldest. */
	assert_true(pl_work_oldest_ms(w, &pending) >= 100);
	assert_int_equal(pending, 2);
	assert_int_equal(pl_work_describe(w, 60000, line, sizeof(line)), 0);
	assert_int_equal(pl_work_describe(w, 50, line, sizeof(line)), 1);
	assert_string_equal(line, "pool print: 2 pending, oldest 0 s");
	pl_work_free(w);
	pl_loop_free(loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_expiry),
		cmocka_unit_test(test_kick_from_thread),
		cmocka_unit_test(test_work_age),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
