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
	cs_sessions_init(&S, 1000, 5000, 3, 2000);
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
	cs_sessions_init(&S, 100000, 100000, 3, 2000);
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
	cs_sessions_init(&S, 100000, 100000, 3, 2000);
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

static void test_lockout(void **state)
{
	(void)state;
	cs_sessions_init(&S, 1000, 5000, 3, 2000);
	assert_int_equal(cs_login_wait_ms(&S, "10.0.0.1", "alice", 0), 0);
	cs_login_failed(&S, "10.0.0.1", "alice", 10);
	cs_login_failed(&S, "10.0.0.1", "alice", 20);
	assert_int_equal(cs_login_wait_ms(&S, "10.0.0.1", "alice", 30), 0);
	cs_login_failed(&S, "10.0.0.1", "alice", 30);
	/* the third failure locks the name and the address for 2 s */
	assert_int_equal(cs_login_wait_ms(&S, "10.0.0.1", "alice", 30), 2000);
	assert_int_equal(cs_login_wait_ms(&S, "10.0.0.2", "alice", 30), 2000);
	assert_int_equal(cs_login_wait_ms(&S, "10.0.0.1", "bob", 30), 2000);
	assert_int_equal(cs_login_wait_ms(&S, "10.0.0.2", "bob", 30), 0);
	assert_int_equal(cs_login_wait_ms(&S, "10.0.0.1", "alice", 2030), 0);
	/* a further failure doubles it */
	cs_login_failed(&S, "10.0.0.1", "alice", 2100);
	assert_int_equal(cs_login_wait_ms(&S, "10.0.0.1", "alice", 2100), 4000);
	/* a success clears both */
	cs_login_ok(&S, "10.0.0.1", "alice");
	assert_int_equal(cs_login_wait_ms(&S, "10.0.0.1", "alice", 2200), 0);
	/* failures spread over more than an hour are forgotten */
	cs_login_failed(&S, "10.0.0.3", "carol", 1000);
	cs_login_failed(&S, "10.0.0.3", "carol", 2000);
	cs_login_failed(&S, "10.0.0.3", "carol", 2000 + 3600ull * 1000 + 1);
	assert_int_equal(cs_login_wait_ms(&S, "10.0.0.3", "carol", 2000 + 3600ull * 1000 + 2), 0);
}

static void test_lockout_table_bounded(void **state)
{
	(void)state;
	char ip[32];
	cs_sessions_init(&S, 1000, 5000, 1, 60000);
	/* a flood of addresses never grows the table past its size */
	for (int i = 0; i < CS_MAX_LOCKS + 100; i++) {
		snprintf(ip, sizeof(ip), "10.%d.%d.%d", i >> 16 & 255, i >> 8 & 255, i & 255);
		cs_login_failed(&S, ip, "mallory", (uint64_t)i);
	}
	assert_int_equal(S.nlocks, CS_MAX_LOCKS);
	/* the name is still locked: its entry is the freshest */
	assert_true(cs_login_wait_ms(&S, "192.0.2.1", "mallory", CS_MAX_LOCKS + 200) > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_find_expire),
		cmocka_unit_test(test_tokens_and_csrf),
		cmocka_unit_test(test_end_user_and_full_table),
		cmocka_unit_test(test_lockout),
		cmocka_unit_test(test_lockout_table_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
