/* plsc-console's sessions, CSRF tokens and login lock-out
 * (console/session.c): pure logic with a clock the test drives. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../console/cs.h"

static cs_sessions_t S; /* large: not on the stack */

static void test_new_find_expire(void **state)
{
	(void)state;
	int expired;
	cs_sessions_init(&S, 1000, 5000, 3, 2000, 8000);
	const cs_session_t *a = cs_session_new(&S, "alice", 100);
	assert_non_null(a);
	assert_int_equal(strlen(a->token), CS_TOKEN_LEN);
	assert_int_equal(strlen(a->csrf), CS_TOKEN_LEN);
	assert_string_not_equal(a->token, a->csrf);
	char tok[CS_TOKEN_LEN + 1];
	strcpy(tok, a->token);
	/* used within the idle time: alive, and touched */
	assert_non_null(cs_session_find(&S, tok, 900, &expired));
	assert_non_null(cs_session_find(&S, tok, 1800, &expired));
	assert_int_equal(cs_session_expires_in_ms(&S, cs_session_find(&S, tok, 1800, &expired),
						  1800), 1000);
	/* idle too long */
	assert_null(cs_session_find(&S, tok, 2800, &expired));
	assert_int_equal(expired, 1);
	/* and gone: unknown now, not "expired" */
	assert_null(cs_session_find(&S, tok, 2801, &expired));
	assert_int_equal(expired, 0);
	/* the hard limit, however busy the session */
	a = cs_session_new(&S, "alice", 10000);
	strcpy(tok, a->token);
	for (uint64_t t = 10500; t < 15000; t += 500)
		assert_non_null(cs_session_find(&S, tok, t, &expired));
	assert_null(cs_session_find(&S, tok, 15000, &expired));
	assert_int_equal(expired, 1);
}

static void test_tokens_and_csrf(void **state)
{
	(void)state;
	int expired;
	cs_sessions_init(&S, 100000, 100000, 3, 2000, 8000);
	const cs_session_t *a = cs_session_new(&S, "alice", 1);
	char tok[CS_TOKEN_LEN + 1], csrf[CS_TOKEN_LEN + 1];
	strcpy(tok, a->token);
	strcpy(csrf, a->csrf);
	cs_session_t *se = cs_session_find(&S, tok, 2, &expired);
	assert_true(cs_session_csrf_ok(se, csrf));
	assert_false(cs_session_csrf_ok(se, NULL));
	assert_false(cs_session_csrf_ok(se, ""));
	assert_false(cs_session_csrf_ok(se, tok));
	csrf[5] ^= 1;
	assert_false(cs_session_csrf_ok(se, csrf));
	/* near misses of the cookie find nothing */
	tok[CS_TOKEN_LEN - 1] ^= 1;
	assert_null(cs_session_find(&S, tok, 3, &expired));
	assert_null(cs_session_find(&S, "short", 3, &expired));
	assert_null(cs_session_find(&S, NULL, 3, &expired));
	tok[CS_TOKEN_LEN - 1] ^= 1;
	cs_session_end(&S, tok);
	assert_null(cs_session_find(&S, tok, 4, &expired));
}

static void test_end_user_and_full_table(void **state)
{
	(void)state;
	int expired;
	char first[CS_TOKEN_LEN + 1], bob[CS_TOKEN_LEN + 1];
	cs_sessions_init(&S, 100000, 100000, 3, 2000, 8000);
	strcpy(first, cs_session_new(&S, "alice", 1)->token);
	strcpy(bob, cs_session_new(&S, "bob", 2)->token);
	for (int i = 0; i < CS_MAX_SESSIONS; i++)
		assert_non_null(cs_session_new(&S, "alice", 10 + (uint64_t)i));
	/* the least recently used made room: alice's first, then bob's */
	assert_int_equal(S.nsessions, CS_MAX_SESSIONS);
	assert_null(cs_session_find(&S, first, 1000, &expired));
	cs_session_end_user(&S, "alice");
	assert_int_equal(S.nsessions, 0);
	(void)bob;
}

/* One check from ip for user at now, with its outcome (1 right, 0
 * wrong): 0 when it ran, or the wait asked for (and nothing ran). */
static uint64_t try_login(const char *ip, const char *user, uint64_t now, int result)
{
	uint64_t wait = cs_login_begin(&S, ip, user, now);
	if (wait == 0)
		cs_login_end(&S, ip, user, result, now);
	return wait;
}

static void test_lockout(void **state)
{
	(void)state;
	/* 3 failures; a 2 s lock-out; a name's pause up to 8 s */
	cs_sessions_init(&S, 1000, 5000, 3, 2000, 8000);
	assert_int_equal(try_login("10.0.0.1", "alice", 10, 0), 0);
	assert_int_equal(try_login("10.0.0.1", "alice", 20, 0), 0);
	assert_int_equal(try_login("10.0.0.1", "alice", 30, 0), 0);
	/* the third locks the name from that address, and the address */
	assert_int_equal(cs_login_begin(&S, "10.0.0.1", "alice", 30), 2000);
	assert_int_equal(cs_login_begin(&S, "10.0.0.1", "bob", 30), 2000);
	/* from elsewhere the name only pauses, for a second */
	assert_int_equal(cs_login_begin(&S, "10.0.0.2", "alice", 30), 1000);
	assert_int_equal(try_login("10.0.0.2", "bob", 30, 0), 0);
	/* after the pause, one check; failing, it pauses twice as long */
	assert_int_equal(try_login("10.0.0.2", "alice", 1030, 0), 0);
	assert_int_equal(cs_login_begin(&S, "10.0.0.2", "alice", 1030), 2000);
	/* ... up to name_backoff_ms */
	uint64_t t = 3030;
	for (int i = 0; i < 6; i++) {
		assert_int_equal(try_login("10.0.0.3", "alice", t, 0), 0);
		uint64_t w = cs_login_begin(&S, "10.0.0.4", "alice", t);
		assert_true(w > 0 && w <= 8000);
		t += w;
	}
	assert_int_equal(cs_login_begin(&S, "10.0.0.4", "alice", t - 1), 1);
	/* the lock-out from 10.0.0.1 has ended: one check; a failure locks
	 * it again for twice as long (the address too), and the name pauses */
	assert_int_equal(try_login("10.0.0.1", "alice", t, 0), 0);
	assert_int_equal(cs_login_begin(&S, "10.0.0.1", "bob", t), 4000);
	assert_int_equal(cs_login_begin(&S, "10.0.0.1", "alice", t), 8000);
	/* the right password from another address clears the name, not the
	 * lock-out of 10.0.0.1 */
	t += 8000;
	assert_int_equal(try_login("10.0.0.5", "alice", t, 1), 0);
	assert_int_equal(cs_login_begin(&S, "10.0.0.6", "alice", t), 0);
	cs_login_end(&S, "10.0.0.6", "alice", -1, t);
	assert_int_equal(try_login("10.0.0.1", "alice", t, 0), 0);
	assert_int_equal(cs_login_begin(&S, "10.0.0.1", "alice", t), 8000);
	assert_int_equal(cs_login_begin(&S, "10.0.0.7", "alice", t), 0);
	/* failures spread over more than an hour are forgotten */
	cs_sessions_init(&S, 1000, 5000, 3, 2000, 8000);
	assert_int_equal(try_login("10.0.0.3", "carol", 1000, 0), 0);
	assert_int_equal(try_login("10.0.0.3", "carol", 2000, 0), 0);
	assert_int_equal(try_login("10.0.0.3", "carol", 2000 + 3600ull * 1000 + 1, 0), 0);
	assert_int_equal(cs_login_begin(&S, "10.0.0.3", "carol", 2000 + 3600ull * 1000 + 2), 0);
}

/* Counted before the check: a burst of concurrent attempts gets no more
 * checks than the limit, from one address or from many; an attempt that
 * could not be checked gives its place back. */
static void test_lockout_burst(void **state)
{
	(void)state;
	char ip[32];
	int ran = 0;
	cs_sessions_init(&S, 1000, 5000, 5, 300000, 30000);
	for (int i = 0; i < 40; i++)
		ran += cs_login_begin(&S, "10.0.0.1", "alice", 0) == 0;
	assert_int_equal(ran, 5);
	assert_int_equal(S.checked, 5);
	assert_int_equal(S.refused, 35);
	for (int i = 0; i < 5; i++)
		cs_login_end(&S, "10.0.0.1", "alice", 0, 10);
	/* locked for that pair and address; the name pauses a second */
	assert_int_equal(cs_login_begin(&S, "10.0.0.1", "alice", 10), 300000);
	assert_int_equal(cs_login_begin(&S, "10.0.0.2", "alice", 10), 1000);
	assert_int_equal(try_login("10.0.0.2", "alice", 1010, 1), 0);

	cs_sessions_init(&S, 1000, 5000, 5, 300000, 30000);
	ran = 0;
	for (int i = 0; i < 40; i++) {
		snprintf(ip, sizeof(ip), "10.1.0.%d", i);
		ran += cs_login_begin(&S, ip, "alice", 0) == 0;
	}
	assert_int_equal(ran, 5);
	/* checks that never ran give their places back */
	for (int i = 0; i < 5; i++) {
		snprintf(ip, sizeof(ip), "10.1.0.%d", i);
		cs_login_end(&S, ip, "alice", -1, 10);
	}
	assert_int_equal(cs_login_begin(&S, "10.1.0.99", "alice", 10), 0);
}

static void test_lockout_table_bounded(void **state)
{
	(void)state;
	char ip[32];
	cs_sessions_init(&S, 1000, 5000, 1, 60000, 30000);
	/* a flood of addresses never grows the table past its size */
	for (int i = 0; i < CS_MAX_LOCKS + 100; i++) {
		snprintf(ip, sizeof(ip), "10.%d.%d.%d", i >> 16 & 255, i >> 8 & 255, i & 255);
		uint64_t t = (uint64_t)i * 31000; /* past each pause of the name */
		if (cs_login_begin(&S, ip, "mallory", t) == 0)
			cs_login_end(&S, ip, "mallory", 0, t);
	}
	assert_int_equal(S.nlocks, CS_MAX_LOCKS);
	/* the name still pauses: its entry is the freshest */
	assert_true(cs_login_begin(&S, "192.0.2.1", "mallory",
				   (uint64_t)(CS_MAX_LOCKS + 99) * 31000 + 1) > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_find_expire),
		cmocka_unit_test(test_tokens_and_csrf),
		cmocka_unit_test(test_end_user_and_full_table),
		cmocka_unit_test(test_lockout),
		cmocka_unit_test(test_lockout_burst),
		cmocka_unit_test(test_lockout_table_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
