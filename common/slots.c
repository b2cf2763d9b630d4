/* Connection slots and who may take one; see pl_slots.h. Peers live in a
 * hash table keyed with a random seed (so nobody can pick addresses that
 * all land in one chain), created with a peer's first slot and freed with
 * its last: the table never holds more peers than connections. */
#include "pl_slots.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define SLOTS_BUCKETS 4096u

enum { KEY_V4 = 4, KEY_V6 = 6, KEY_UID = 'u', KEY_OTHER = '?' };

typedef struct pl_slot_peer {
	pl_slot_key_t key;
	uint32_t held, pending;
	pl_slot_t *head, *tail; /* its pending slots */
	struct pl_slot_peer *next; /* in its bucket */
	/* among the peers with pending slots */
	struct pl_slot_peer *wprev, *wnext;
} peer_t;

struct pl_slots {
	pl_loop_t *loop;
	pl_slots_conf_t conf;
	pl_slots_drop_cb drop;
	void *arg;
	uint64_t seed;
	uint64_t rng; /* xorshift64*, for a random victim */
	peer_t *buckets[SLOTS_BUCKETS];
	pl_slot_t *head, *tail; /* every pending slot */
	peer_t *waiting;	/* the peers with pending slots */
	pl_timer_t *timer;
	uint64_t timer_at;
	pl_slots_stats_t st;
};

/* ---- keys ---- */

int pl_slot_key_addr(pl_slot_key_t *k, const struct sockaddr *sa)
{
	memset(k, 0, sizeof(*k));
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
		k->b[0] = KEY_V4;
		memcpy(k->b + 1, &s4->sin_addr, 4);
		k->len = 5;
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
		const uint8_t *a = s6->sin6_addr.s6_addr;
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			k->b[0] = KEY_V4;
			memcpy(k->b + 1, a + 12, 4);
			k->len = 5;
			return 0;
		}
		/* A host on an IPv6 network has a /64 to itself: counting
		 * single addresses would give it 2^64 caps. */
		k->b[0] = KEY_V6;
		memcpy(k->b + 1, a, 8);
		k->len = 9;
		return 0;
	}
	k->b[0] = KEY_OTHER;
	k->len = 1;
	return -1;
}

void pl_slot_key_uid(pl_slot_key_t *k, uid_t uid)
{
	uint32_t u = (uint32_t)uid;
	memset(k, 0, sizeof(*k));
	k->b[0] = KEY_UID;
	memcpy(k->b + 1, &u, sizeof(u));
	k->len = 5;
}

/* ---- peers ---- */

static uint32_t key_hash(const pl_slots_t *s, const pl_slot_key_t *k)
{
	uint64_t h = s->seed ^ 0xcbf29ce484222325ull;
	for (uint8_t i = 0; i < k->len; i++) {
		h ^= k->b[i];
		h *= 0x100000001b3ull;
	}
	h ^= h >> 33; /* FNV's low bits are weak: fold the high ones in */
	return (uint32_t)(h % SLOTS_BUCKETS);
}

static int key_eq(const pl_slot_key_t *a, const pl_slot_key_t *b)
{
	return a->len == b->len && memcmp(a->b, b->b, a->len) == 0;
}

static peer_t *peer_find(const pl_slots_t *s, const pl_slot_key_t *k)
{
	for (peer_t *p = s->buckets[key_hash(s, k)]; p; p = p->next)
		if (key_eq(&p->key, k))
			return p;
	return NULL;
}

static peer_t *peer_get(pl_slots_t *s, const pl_slot_key_t *k)
{
	peer_t *p = peer_find(s, k);
	if (p)
		return p;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	uint32_t b = key_hash(s, k);
	p->key = *k;
	p->next = s->buckets[b];
	s->buckets[b] = p;
	s->st.peers++;
	return p;
}

static void peer_put(pl_slots_t *s, peer_t *p)
{
	if (--p->held > 0)
		return;
	for (peer_t **pp = &s->buckets[key_hash(s, &p->key)]; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	s->st.peers--;
	free(p);
}

/* ---- the pending queues ---- */

static void arm(pl_slots_t *s);

static void queue_add(pl_slots_t *s, pl_slot_t *sl, uint64_t now)
{
	peer_t *p = sl->peer;
	sl->pending = 1;
	sl->since_ms = now;
	sl->next = sl->pnext = NULL;
	sl->prev = s->tail;
	if (s->tail)
		s->tail->next = sl;
	else
		s->head = sl;
	s->tail = sl;
	sl->pprev = p->tail;
	if (p->tail)
		p->tail->pnext = sl;
	else
		p->head = sl;
	p->tail = sl;
	if (p->pending++ == 0) {
		p->wprev = NULL;
		p->wnext = s->waiting;
		if (s->waiting)
			s->waiting->wprev = p;
		s->waiting = p;
	}
	if (++s->st.pending > s->st.pending_peak)
		s->st.pending_peak = s->st.pending;
	arm(s);
}

static void queue_del(pl_slots_t *s, pl_slot_t *sl)
{
	peer_t *p = sl->peer;
	if (!sl->pending)
		return;
	if (sl->prev)
		sl->prev->next = sl->next;
	else
		s->head = sl->next;
	if (sl->next)
		sl->next->prev = sl->prev;
	else
		s->tail = sl->prev;
	if (sl->pprev)
		sl->pprev->pnext = sl->pnext;
	else
		p->head = sl->pnext;
	if (sl->pnext)
		sl->pnext->pprev = sl->pprev;
	else
		p->tail = sl->pprev;
	sl->prev = sl->next = sl->pprev = sl->pnext = NULL;
	sl->pending = 0;
	if (--p->pending == 0) {
		if (p->wprev)
			p->wprev->wnext = p->wnext;
		else
			s->waiting = p->wnext;
		if (p->wnext)
			p->wnext->wprev = p->wprev;
	}
	s->st.pending--;
}

/* ---- the deadline ---- */

static void on_timer(pl_loop_t *loop, void *arg)
{
	pl_slots_t *s = arg;
	(void)loop;
	s->timer = NULL;
	pl_slots_sweep(s, pl_now_ms());
	arm(s);
}

/* One timer for all: the queue is in order of since_ms, so its head is
 * the next to expire. A timer already due no later stays. */
static void arm(pl_slots_t *s)
{
	if (!s->loop || !s->conf.deadline_ms || !s->head)
		return;
	uint64_t at = s->head->since_ms + s->conf.deadline_ms;
	if (s->timer && s->timer_at <= at)
		return;
	pl_loop_timer_cancel(s->loop, s->timer);
	uint64_t now = pl_now_ms();
	s->timer = pl_loop_timer(s->loop, at > now ? at - now : 0, on_timer, s);
	s->timer_at = at;
}

/* ---- the rules ---- */

void pl_slots_remove(pl_slots_t *s, pl_slot_t *sl)
{
	if (!s || !sl->peer)
		return;
	queue_del(s, sl);
	peer_put(s, sl->peer);
	sl->peer = NULL;
	s->st.held--;
}

static void drop(pl_slots_t *s, pl_slot_t *sl, pl_slot_why_t why)
{
	pl_slots_remove(s, sl);
	if (why == PL_SLOT_EVICTED)
		s->st.evicted++;
	else
		s->st.expired++;
	s->drop(s->arg, sl, why);
}

/* Which rule the newcomer breaks: 0 none, else the refusal. */
static int rule_broken(const pl_slots_t *s, const peer_t *p, int privileged)
{
	const pl_slots_conf_t *c = &s->conf;
	uint32_t total = c->max_total;
	if (!privileged)
		total = c->reserve < total ? total - c->reserve : 1;
	if (c->max_per_peer && p && p->held >= c->max_per_peer)
		return PL_SLOTS_PEER_FULL;
	if (s->st.held >= total || s->st.pending >= c->max_pending)
		return PL_SLOTS_FULL;
	return 0;
}

static int old_enough(const pl_slots_t *s, const pl_slot_t *sl, uint64_t now)
{
	return sl && now - sl->since_ms >= s->conf.grace_ms;
}

static uint64_t rnd(pl_slots_t *s)
{
	s->rng ^= s->rng >> 12;
	s->rng ^= s->rng << 25;
	s->rng ^= s->rng >> 27;
	return s->rng * 0x2545f4914f6cdd1dull;
}

/* Of n pending slots from head on (a peer's queue when own), the oldest
 * once it has waited grace_ms, else one at random. Age alone would let an
 * attacker who reconnects in bursts keep every slot younger than the
 * grace, and refuse everyone just after each burst; at random, a client
 * that needs a few milliseconds to authenticate is unlikely to be the one
 * picked meanwhile, and an honest burst larger than the pool still makes
 * progress. */
static pl_slot_t *pick(pl_slots_t *s, pl_slot_t *head, uint32_t n, int own, uint64_t now)
{
	if (!head || old_enough(s, head, now))
		return head;
	uint64_t k = rnd(s) % n;
	while (k-- > 0 && head)
		head = own ? head->pnext : head->next;
	return head;
}

/* The pending slot a newcomer from p may take when rule rc refuses it,
 * or NULL (none is pending). At its own cap, one of its own. Otherwise the
 * pool is shared fairly: the peer with the most pending slots gives up its
 * oldest, however young, to a peer with at least two fewer; only between
 * equals is it any peer's. So an attacker who reconnects as fast as it is
 * dropped, from any number of addresses short of a botnet, cannot crowd
 * out an address with one honest client. */
static pl_slot_t *victim(pl_slots_t *s, int rc, const peer_t *p, uint64_t now)
{
	if (rc == PL_SLOTS_PEER_FULL)
		return pick(s, p->head, p->pending, 1, now);
	const peer_t *rich = NULL;
	for (const peer_t *q = s->waiting; q; q = q->wnext)
		if (!rich || q->pending > rich->pending)
			rich = q;
	uint32_t mine = p ? p->pending : 0;
	if (rich && rich != p && rich->pending >= mine + 2)
		return rich->head;
	return pick(s, s->head, s->st.pending, 0, now);
}

int pl_slots_admit(pl_slots_t *s, pl_slot_t *sl, const pl_slot_key_t *key,
		   int privileged, uint64_t now)
{
	int rc;
	while ((rc = rule_broken(s, peer_find(s, key), privileged)) != 0) {
		pl_slot_t *v = victim(s, rc, peer_find(s, key), now);
		if (!v) {
			s->st.refused++;
			return rc;
		}
		drop(s, v, PL_SLOT_EVICTED);
	}
	peer_t *p = peer_get(s, key);
	if (!p) {
		s->st.refused++;
		return PL_SLOTS_FULL;
	}
	memset(sl, 0, sizeof(*sl));
	sl->peer = p;
	if (++p->held > s->st.peer_peak)
		s->st.peer_peak = p->held;
	s->st.held++;
	queue_add(s, sl, now);
	return 0;
}

void pl_slots_trust(pl_slots_t *s, pl_slot_t *sl)
{
	if (s && sl->peer)
		queue_del(s, sl);
}

void pl_slots_pend(pl_slots_t *s, pl_slot_t *sl, uint64_t now)
{
	if (!s || !sl->peer)
		return;
	queue_del(s, sl);
	queue_add(s, sl, now);
}

void pl_slots_sweep(pl_slots_t *s, uint64_t now)
{
	if (!s->conf.deadline_ms)
		return;
	while (s->head && now - s->head->since_ms >= s->conf.deadline_ms)
		drop(s, s->head, PL_SLOT_EXPIRED);
}

/* ---- the table ---- */

static void conf_fix(pl_slots_conf_t *c)
{
	if (c->max_total == 0)
		c->max_total = 1;
	if (c->max_pending == 0 || c->max_pending > c->max_total)
		c->max_pending = c->max_total;
}

pl_slots_t *pl_slots_new(pl_loop_t *loop, const pl_slots_conf_t *conf,
			 pl_slots_drop_cb dropcb, void *arg)
{
	pl_slots_t *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->loop = loop;
	s->conf = *conf;
	conf_fix(&s->conf);
	s->drop = dropcb;
	s->arg = arg;
	/* Only to spread the chains: a failed read leaves a fixed seed. */
	if (getrandom(&s->seed, sizeof(s->seed), GRND_NONBLOCK) != sizeof(s->seed))
		s->seed = (uint64_t)(uintptr_t)s;
	s->rng = s->seed | 1; /* xorshift needs a state that is not 0 */
	return s;
}

void pl_slots_set_conf(pl_slots_t *s, const pl_slots_conf_t *conf)
{
	s->conf = *conf;
	conf_fix(&s->conf);
	if (s->loop) {
		pl_loop_timer_cancel(s->loop, s->timer);
		s->timer = NULL;
		arm(s);
	}
}

void pl_slots_free(pl_slots_t *s)
{
	if (!s)
		return;
	if (s->loop)
		pl_loop_timer_cancel(s->loop, s->timer);
	for (uint32_t i = 0; i < SLOTS_BUCKETS; i++) {
		peer_t *p = s->buckets[i];
		while (p) {
			peer_t *next = p->next;
			free(p);
			p = next;
		}
	}
	free(s);
}

void pl_slots_stats(const pl_slots_t *s, pl_slots_stats_t *st)
{
	*st = s->st;
}

uint32_t pl_slots_peer_held(const pl_slots_t *s, const pl_slot_key_t *key)
{
	const peer_t *p = peer_find(s, key);
	return p ? p->held : 0;
}
