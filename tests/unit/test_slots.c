/* pl_slots: admission, eviction and deadlines, with a clock the test
 * drives (no loop, no wall clock). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>

#include "pl_slots.h"

#define N 64

static pl_slot_t slots[N];
static int dropped[N]; /* why, by index */
static int ndropped;

static void on_drop(void *arg, pl_slot_t *sl, pl_slot_why_t why)
{
	(void)arg;
	dropped[sl - slots] = (int)why;
	ndropped++;
}

static pl_slots_t *mk(uint32_t total, uint32_t pending, uint32_t per_peer,
		      uint32_t reserve, uint64_t grace, uint64_t deadline)
{
	pl_slots_conf_t c = { total, pending, per_peer, reserve, grace, deadline };
	memset(slots, 0, sizeof(slots));
	memset(dropped, 0, sizeof(dropped));
	ndropped = 0;
	pl_slots_t *s = pl_slots_new(NULL, &c, on_drop, NULL);
	assert_non_null(s);
	return s;
}

static pl_slot_key_t v4(const char *a)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	pl_slot_key_t k;
	inet_pton(AF_INET, a, &sa.sin_addr);
	assert_int_equal(pl_slot_key_addr(&k, (struct sockaddr *)&sa), 0);
	return k;
}

static pl_slot_key_t v6(const char *a)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6 };
	pl_slot_key_t k;
	inet_pton(AF_INET6, a, &sa.sin6_addr);
	assert_int_equal(pl_slot_key_addr(&k, (struct sockaddr *)&sa), 0);
	return k;
}

static void test_keys(void **state)
{
	(void)state;
	pl_slots_t *s = mk(10, 10, 2, 0, 0, 0);
	pl_slot_key_t a = v6("2001:db8:1:2::1"), b = v6("2001:db8:1:2:ffff::9");
	/* one /64, one peer */
	assert_int_equal(pl_slots_admit(s, &slots[0], &a, 0, 0), 0);
	assert_int_equal(pl_slots_admit(s, &slots[1], &b, 0, 0), 0);
	assert_int_equal(pl_slots_peer_held(s, &a), 2);
	pl_slot_key_t c = v6("2001:db8:1:3::1");
	assert_int_equal(pl_slots_peer_held(s, &c), 0);
	/* an IPv4-mapped address is its IPv4 address */
	pl_slot_key_t m = v6("::ffff:192.0.2.7"), d = v4("192.0.2.7");
	assert_int_equal(pl_slots_admit(s, &slots[2], &m, 0, 0), 0);
	assert_int_equal(pl_slots_peer_held(s, &d), 1);
	pl_slot_key_t u1, u2;
	pl_slot_key_uid(&u1, 1000);
	pl_slot_key_uid(&u2, 1001);
	assert_int_equal(pl_slots_admit(s, &slots[3], &u1, 0, 0), 0);
	assert_int_equal(pl_slots_peer_held(s, &u1), 1);
	assert_int_equal(pl_slots_peer_held(s, &u2), 0);
	pl_slots_free(s);
}

/* A peer at its cap: one of its own slots makes room, never another
 * peer's, and the oldest first once it is old enough. */
static void test_per_peer(void **state)
{
	(void)state;
	pl_slots_t *s = mk(100, 100, 3, 0, 1000, 0);
	pl_slot_key_t a = v4("10.0.0.1"), b = v4("10.0.0.2");
	for (int i = 0; i < 3; i++)
		assert_int_equal(pl_slots_admit(s, &slots[i], &a, 0, (uint64_t)i), 0);
	assert_int_equal(pl_slots_admit(s, &slots[10], &b, 0, 5), 0);
	/* old enough: the oldest (slot 0) goes */
	assert_int_equal(pl_slots_admit(s, &slots[3], &a, 0, 1000), 0);
	assert_int_equal(ndropped, 1);
	assert_int_equal(dropped[0], PL_SLOT_EVICTED);
	assert_int_equal(pl_slots_peer_held(s, &a), 3);
	assert_int_equal(pl_slots_peer_held(s, &b), 1);
	/* trusted slots are never dropped: with none pending, refused */
	pl_slots_trust(s, &slots[1]);
	pl_slots_trust(s, &slots[2]);
	pl_slots_trust(s, &slots[3]);
	assert_int_equal(pl_slots_admit(s, &slots[4], &a, 0, 100000), PL_SLOTS_PEER_FULL);
	assert_int_equal(ndropped, 1);
	/* a slot given back makes room, and removing twice is harmless */
	pl_slots_remove(s, &slots[2]);
	pl_slots_remove(s, &slots[2]);
	assert_int_equal(pl_slots_admit(s, &slots[4], &a, 0, 100000), 0);
	pl_slots_stats_t st;
	pl_slots_stats(s, &st);
	assert_int_equal(st.held, 4);
	assert_int_equal(st.peers, 2);
	assert_int_equal(st.evicted, 1);
	assert_int_equal(st.refused, 1);
	assert_int_equal(st.peer_peak, 3);
	assert_int_equal(st.pending_peak, 4);
	pl_slots_free(s);
}

/* When every pending slot is young (an attacker reconnecting in bursts),
 * one at random makes room: the newcomer is never refused for it, and no
 * slot is always the one. */
static void test_random_when_young(void **state)
{
	(void)state;
	pl_slots_t *s = mk(100, 100, 4, 0, 1000, 0);
	pl_slot_key_t a = v4("10.0.0.1");
	int picked[4] = { 0 };
	for (int i = 0; i < 4; i++)
		assert_int_equal(pl_slots_admit(s, &slots[i], &a, 0, 0), 0);
	for (int round = 0; round < 200; round++) {
		ndropped = 0;
		memset(dropped, 0, sizeof(dropped));
		assert_int_equal(pl_slots_admit(s, &slots[4], &a, 0, 10), 0);
		assert_int_equal(ndropped, 1);
		int v = -1;
		for (int i = 0; i < 4; i++)
			if (dropped[i])
				v = i;
		assert_true(v >= 0);
		assert_int_equal(dropped[4], 0);
		picked[v]++;
		/* the newcomer leaves, the dropped one comes back */
		pl_slots_remove(s, &slots[4]);
		assert_int_equal(pl_slots_admit(s, &slots[v], &a, 0, 0), 0);
	}
	for (int i = 0; i < 4; i++)
		assert_true(picked[i] > 0);
	pl_slots_free(s);
}

/* Pending slots fill at most max_pending: the rest is for trusted ones. */
static void test_pending_pool(void **state)
{
	(void)state;
	pl_slots_t *s = mk(6, 4, 0, 0, 100, 0);
	char ip[32];
	for (int i = 0; i < 4; i++) {
		snprintf(ip, sizeof(ip), "10.0.1.%d", i);
		pl_slot_key_t k = v4(ip);
		assert_int_equal(pl_slots_admit(s, &slots[i], &k, 0, (uint64_t)i * 10), 0);
	}
	pl_slot_key_t w = v4("192.0.2.1");
	/* one of them is trusted: room for a pending newcomer */
	pl_slots_trust(s, &slots[1]);
	assert_int_equal(pl_slots_admit(s, &slots[4], &w, 0, 50), 0);
	assert_int_equal(ndropped, 0);
	/* full of pending again: the oldest pending goes (slot 0), never the
	 * trusted one */
	assert_int_equal(pl_slots_admit(s, &slots[5], &w, 0, 200), 0);
	assert_int_equal(ndropped, 1);
	assert_int_equal(dropped[0], PL_SLOT_EVICTED);
	/* pend sends a slot to the back of the queue */
	pl_slots_pend(s, &slots[2], 300);
	assert_int_equal(pl_slots_admit(s, &slots[6], &w, 0, 300), 0);
	assert_int_equal(dropped[3], PL_SLOT_EVICTED);
	assert_int_equal(dropped[2], 0);
	assert_int_equal(dropped[1], 0);
	pl_slots_free(s);
}

/* A full pool is shared fairly: a peer with two fewer pending slots than
 * the richest takes the richest's oldest, however young. */
static void test_fair_share(void **state)
{
	(void)state;
	pl_slots_t *s = mk(8, 6, 0, 0, 1000, 0);
	pl_slot_key_t a = v4("10.0.0.1"), b = v4("10.0.0.2"), w = v4("192.0.2.1");
	for (int i = 4; i < 6; i++)
		assert_int_equal(pl_slots_admit(s, &slots[i], &b, 0, 0), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(pl_slots_admit(s, &slots[i], &a, 0, 100), 0);
	/* b (2 pending) against a (4): a gives up its oldest, young as it is,
	 * though b's own are older */
	assert_int_equal(pl_slots_admit(s, &slots[6], &b, 0, 200), 0);
	assert_int_equal(ndropped, 1);
	assert_int_equal(dropped[0], PL_SLOT_EVICTED);
	/* a newcomer's address with nothing takes from a richest (3 >= 0 + 2):
	 * a's oldest (slot 1) or b's (slot 4) */
	assert_int_equal(pl_slots_admit(s, &slots[7], &w, 0, 200), 0);
	assert_int_equal(ndropped, 2);
	assert_true(dropped[1] == PL_SLOT_EVICTED || dropped[4] == PL_SLOT_EVICTED);
	assert_int_equal(dropped[7], 0);
	pl_slots_free(s);
}

/* The last `reserve` slots are for privileged newcomers. */
static void test_reserve(void **state)
{
	(void)state;
	pl_slots_t *s = mk(4, 4, 0, 2, 1000, 0);
	pl_slot_key_t u, root;
	pl_slot_key_uid(&u, 1000);
	pl_slot_key_uid(&root, 0);
	assert_int_equal(pl_slots_admit(s, &slots[0], &u, 0, 0), 0);
	assert_int_equal(pl_slots_admit(s, &slots[1], &u, 0, 0), 0);
	pl_slots_trust(s, &slots[0]);
	pl_slots_trust(s, &slots[1]);
	/* the unprivileged have their two; nothing pending to drop */
	assert_int_equal(pl_slots_admit(s, &slots[2], &u, 0, 0), PL_SLOTS_FULL);
	assert_int_equal(pl_slots_admit(s, &slots[2], &root, 1, 0), 0);
	assert_int_equal(pl_slots_admit(s, &slots[3], &root, 1, 0), 0);
	pl_slots_trust(s, &slots[3]);
	/* full: the one pending slot makes room, even in the reserve */
	assert_int_equal(pl_slots_admit(s, &slots[4], &root, 1, 5000), 0);
	assert_int_equal(dropped[2], PL_SLOT_EVICTED);
	assert_int_equal(ndropped, 1);
	pl_slots_free(s);
}

static void test_deadline(void **state)
{
	(void)state;
	pl_slots_t *s = mk(10, 10, 0, 0, 0, 1000);
	pl_slot_key_t k = v4("10.0.0.1");
	assert_int_equal(pl_slots_admit(s, &slots[0], &k, 0, 0), 0);
	assert_int_equal(pl_slots_admit(s, &slots[1], &k, 0, 400), 0);
	assert_int_equal(pl_slots_admit(s, &slots[2], &k, 0, 600), 0);
	pl_slots_trust(s, &slots[2]);
	pl_slots_sweep(s, 999);
	assert_int_equal(ndropped, 0);
	pl_slots_sweep(s, 1000);
	assert_int_equal(ndropped, 1);
	assert_int_equal(dropped[0], PL_SLOT_EXPIRED);
	/* pending again: its deadline counts from then */
	pl_slots_pend(s, &slots[1], 1200);
	pl_slots_sweep(s, 2100);
	assert_int_equal(ndropped, 1);
	pl_slots_sweep(s, 2200);
	assert_int_equal(dropped[1], PL_SLOT_EXPIRED);
	/* a trusted slot has no deadline */
	pl_slots_sweep(s, 1000000);
	assert_int_equal(dropped[2], 0);
	pl_slots_stats_t st;
	pl_slots_stats(s, &st);
	assert_int_equal(st.expired, 2);
	assert_int_equal(st.held, 1);
	assert_int_equal(st.pending, 0);
	pl_slots_free(s);
}

/* Many peers come and go: the table holds only those with slots. */
static void test_churn(void **state)
{
	(void)state;
	pl_slots_t *s = mk(N, N, 2, 0, 0, 0);
	char ip[32];
	for (int round = 0; round < 100; round++) {
		for (int i = 0; i < N; i++) {
			snprintf(ip, sizeof(ip), "10.%d.%d.1", round, i);
			pl_slot_key_t k = v4(ip);
			assert_int_equal(pl_slots_admit(s, &slots[i], &k, 0, (uint64_t)round), 0);
		}
		for (int i = 0; i < N; i++)
			pl_slots_remove(s, &slots[i]);
	}
	pl_slots_stats_t st;
	pl_slots_stats(s, &st);
	assert_int_equal(st.held, 0);
	assert_int_equal(st.peers, 0);
	assert_int_equal(st.pending, 0);
	pl_slots_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_per_peer),
		cmocka_unit_test(test_random_when_young),
		cmocka_unit_test(test_pending_pool),
		cmocka_unit_test(test_fair_share),
		cmocka_unit_test(test_reserve),
		cmocka_unit_test(test_deadline),
		cmocka_unit_test(test_churn),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
