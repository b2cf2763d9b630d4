/* Sessions, CSRF tokens and the login lock-out, all in memory: a console
 * restart logs everyone out, which is the safe direction (it also forgets
 * the lock-outs, which is not; but a restart is the supervisor's doing, or
 * a crash it logs). The tables are fixed-size; the oldest entry makes
 * room. */
#include "cs.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#include "pl_log.h"
#include "pl_random.h"
#include "pl_util.h"

#define LOCK_MAX_MS (24ull * 3600 * 1000)
/* Failures older than this are forgotten (a slow trickle never locks). */
#define LOCK_WINDOW_MS (3600ull * 1000)

void cs_sessions_init(cs_sessions_t *s, uint64_t idle_ms, uint64_t max_ms,
		      uint32_t max_failures, uint64_t lockout_ms, uint64_t name_backoff_ms)
{
	memset(s, 0, sizeof(*s));
	s->idle_ms = idle_ms;
	s->max_ms = max_ms;
	s->max_failures = max_failures ? max_failures : 1;
	s->lockout_ms = lockout_ms;
	s->name_backoff_ms = name_backoff_ms ? name_backoff_ms : 1000;
}

static void session_drop(cs_sessions_t *s, int i)
{
	OPENSSL_cleanse(&s->sessions[i], sizeof(s->sessions[i]));
	s->sessions[i] = s->sessions[--s->nsessions];
}

static int expired(const cs_sessions_t *s, const cs_session_t *se, uint64_t now)
{
	return now - se->used_ms >= s->idle_ms || now - se->created_ms >= s->max_ms;
}

const cs_session_t *cs_session_new(cs_sessions_t *s, const char *user, uint64_t now)
{
	for (int i = s->nsessions - 1; i >= 0; i--)
		if (expired(s, &s->sessions[i], now))
			session_drop(s, i);
	if (s->nsessions == CS_MAX_SESSIONS) {
		int oldest = 0;
		for (int i = 1; i < s->nsessions; i++)
			if (s->sessions[i].used_ms < s->sessions[oldest].used_ms)
				oldest = i;
		session_drop(s, oldest);
	}
	cs_session_t *se = &s->sessions[s->nsessions];
	memset(se, 0, sizeof(*se));
	if (pl_random_hex(se->token, CS_TOKEN_LEN / 2) < 0 ||
	    pl_random_hex(se->csrf, CS_TOKEN_LEN / 2) < 0)
		return NULL;
	pl_strlcpy(se->user, user, sizeof(se->user));
	se->created_ms = se->used_ms = now;
	se->login_wall_ms = pl_log_now_ms();
	s->nsessions++;
	return se;
}

/* Every entry is compared, in constant time, so the time taken does not
 * tell how much of a guessed token was right. */
static int session_index(const cs_sessions_t *s, const char *token)
{
	int found = -1;
	if (!token || strlen(token) != CS_TOKEN_LEN)
		return -1;
	for (int i = 0; i < s->nsessions; i++)
		if (CRYPTO_memcmp(s->sessions[i].token, token, CS_TOKEN_LEN) == 0)
			found = i;
	return found;
}

cs_session_t *cs_session_find(cs_sessions_t *s, const char *token, uint64_t now,
			      int *was_expired)
{
	int i = session_index(s, token);
	*was_expired = 0;
	if (i < 0)
		return NULL;
	if (expired(s, &s->sessions[i], now)) {
		*was_expired = 1;
		session_drop(s, i);
		return NULL;
	}
	s->sessions[i].used_ms = now;
	return &s->sessions[i];
}

void cs_session_end(cs_sessions_t *s, const char *token)
{
	int i = session_index(s, token);
	if (i >= 0)
		session_drop(s, i);
}

void cs_session_end_user(cs_sessions_t *s, const char *user)
{
	for (int i = s->nsessions - 1; i >= 0; i--)
		if (strcmp(s->sessions[i].user, user) == 0)
			session_drop(s, i);
}

int cs_session_renew(cs_sessions_t *s, const char *user, const char *keep)
{
	int n = 0;
	for (int i = s->nsessions - 1; i >= 0; i--) {
		cs_session_t *se = &s->sessions[i];
		if (strcmp(se->user, user) != 0)
			continue;
		if (keep && strlen(keep) == CS_TOKEN_LEN &&
		    CRYPTO_memcmp(se->token, keep, CS_TOKEN_LEN) == 0) {
			se->login_wall_ms = pl_log_now_ms();
		} else {
			session_drop(s, i);
			n++;
		}
	}
	return n;
}

int cs_session_csrf_ok(const cs_session_t *se, const char *header)
{
	return header && strlen(header) == CS_TOKEN_LEN &&
	       CRYPTO_memcmp(se->csrf, header, CS_TOKEN_LEN) == 0;
}

uint64_t cs_session_expires_in_ms(const cs_sessions_t *s, const cs_session_t *se,
				  uint64_t now)
{
	uint64_t idle = se->used_ms + s->idle_ms, hard = se->created_ms + s->max_ms;
	uint64_t end = idle < hard ? idle : hard;
	return end > now ? end - now : 0;
}

/* ---- lock-out ---- */

#define LOCK_RETRY_MS 1000u /* while a limit is full of checks under way */

enum { K_ADDR, K_PAIR, K_NAME };

static int lock_stale(const cs_lock_t *l, uint64_t now)
{
	return l->inflight == 0 && l->locked_until_ms <= now;
}

static cs_lock_t *lock_get(cs_sessions_t *s, const char *key, uint64_t now, int create)
{
	for (int i = 0; i < s->nlocks; i++) {
		cs_lock_t *l = &s->locks[i];
		if (strcmp(l->key, key) != 0)
			continue;
		if (now - l->last_ms > LOCK_WINDOW_MS && lock_stale(l, now))
			l->failures = 0; /* an old story */
		return l;
	}
	if (!create)
		return NULL;
	int slot = s->nlocks;
	if (slot == CS_MAX_LOCKS) {
		/* The stalest entry makes room, one neither locked nor being
		 * checked when there is one. */
		slot = 0;
		for (int i = 1; i < s->nlocks; i++) {
			int a = lock_stale(&s->locks[i], now), b = lock_stale(&s->locks[slot], now);
			if (a > b || (a == b && s->locks[i].last_ms < s->locks[slot].last_ms))
				slot = i;
		}
	} else {
		s->nlocks++;
	}
	cs_lock_t *l = &s->locks[slot];
	memset(l, 0, sizeof(*l));
	pl_strlcpy(l->key, key, sizeof(l->key));
	l->last_ms = now;
	return l;
}

static void lock_keys(char keys[3][sizeof(((cs_lock_t *)0)->key)], const char *ip,
		      const char *user)
{
	(void)pl_fmt(keys[K_ADDR], sizeof(keys[0]), "a %s", ip);
	(void)pl_fmt(keys[K_PAIR], sizeof(keys[0]), "p %s %s", ip, user);
	(void)pl_fmt(keys[K_NAME], sizeof(keys[0]), "n %s", user);
}

/* How long a new check must wait for this counter; 0: it may go. */
static uint64_t lock_wait(const cs_sessions_t *s, const cs_lock_t *l, uint64_t now)
{
	if (l->locked_until_ms > now)
		return l->locked_until_ms - now;
	if (l->failures + l->inflight < s->max_failures)
		return 0;
	/* Past a lock or a pause: one check at a time (a failure locks or
	 * pauses again, for longer). Short of one, the checks under way
	 * will lock it or clear it: wait for them. */
	if (l->failures >= s->max_failures && l->inflight == 0)
		return 0;
	return LOCK_RETRY_MS;
}

uint64_t cs_login_begin(cs_sessions_t *s, const char *ip, const char *user, uint64_t now)
{
	char keys[3][sizeof(s->locks[0].key)];
	cs_lock_t *l[3];
	uint64_t wait = 0;
	lock_keys(keys, ip, user);
	for (int k = 0; k < 3; k++) {
		l[k] = lock_get(s, keys[k], now, 1);
		uint64_t w = lock_wait(s, l[k], now);
		if (w > wait)
			wait = w;
	}
	/* a later lock_get may have reused an earlier one's entry */
	for (int k = 0; k < 3; k++)
		if (strcmp(l[k]->key, keys[k]) != 0)
			wait = wait ? wait : LOCK_RETRY_MS;
	if (wait) {
		s->refused++;
		return wait;
	}
	for (int k = 0; k < 3; k++)
		l[k]->inflight++;
	s->checked++;
	return 0;
}

/* A failure counted at now: the lock or the pause it brings. */
static void lock_fail(cs_sessions_t *s, cs_lock_t *l, int kind, uint64_t now)
{
	l->failures++;
	l->last_ms = now;
	if (l->failures < s->max_failures)
		return;
	uint64_t ms = kind == K_NAME ? 1000 : s->lockout_ms;
	uint64_t max = kind == K_NAME ? s->name_backoff_ms : LOCK_MAX_MS;
	for (uint32_t k = s->max_failures; k < l->failures && ms < max; k++)
		ms *= 2;
	l->locked_until_ms = now + (ms < max ? ms : max);
}

void cs_login_end(cs_sessions_t *s, const char *ip, const char *user, int result,
		  uint64_t now)
{
	char keys[3][sizeof(s->locks[0].key)];
	lock_keys(keys, ip, user);
	if (result == 0)
		s->failed++;
	for (int k = 0; k < 3; k++) {
		/* Gone only if the table was flooded meanwhile: then there is
		 * nothing to give back, and a failure starts a new count. */
		cs_lock_t *l = lock_get(s, keys[k], now, result == 0);
		if (!l)
			continue;
		if (l->inflight)
			l->inflight--;
		if (result == 1) {
			l->failures = 0;
			l->locked_until_ms = 0;
		} else if (result == 0) {
			lock_fail(s, l, k, now);
		}
	}
}
