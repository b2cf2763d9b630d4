/* Sessions, CSRF tokens and the login lock-out, all in memory: a console
 * restart logs everyone out, which is the safe direction. The tables are
 * fixed-size; the oldest entry makes room. */
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
		      uint32_t max_failures, uint64_t lockout_ms)
{
	memset(s, 0, sizeof(*s));
	s->idle_ms = idle_ms;
	s->max_ms = max_ms;
	s->max_failures = max_failures ? max_failures : 1;
	s->lockout_ms = lockout_ms;
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

static cs_lock_t *lock_get(cs_sessions_t *s, const char *kind, const char *what,
			   uint64_t now, int create)
{
	char key[sizeof(s->locks[0].key)];
	(void)pl_fmt(key, sizeof(key), "%s:%s", kind, what);
	for (int i = 0; i < s->nlocks; i++) {
		cs_lock_t *l = &s->locks[i];
		if (strcmp(l->key, key) != 0)
			continue;
		if (now - l->last_ms > LOCK_WINDOW_MS && now >= l->locked_until_ms)
			l->failures = 0; /* an old story */
		return l;
	}
	if (!create)
		return NULL;
	int slot = s->nlocks;
	if (slot == CS_MAX_LOCKS) { /* the stalest entry makes room */
		slot = 0;
		for (int i = 1; i < s->nlocks; i++)
			if (s->locks[i].last_ms < s->locks[slot].last_ms)
				slot = i;
	} else {
		s->nlocks++;
	}
	cs_lock_t *l = &s->locks[slot];
	memset(l, 0, sizeof(*l));
	pl_strlcpy(l->key, key, sizeof(l->key));
	return l;
}

static uint64_t lock_wait(const cs_lock_t *l, uint64_t now)
{
	return l && l->locked_until_ms > now ? l->locked_until_ms - now : 0;
}

uint64_t cs_login_wait_ms(cs_sessions_t *s, const char *ip, const char *user,
			  uint64_t now)
{
	uint64_t a = lock_wait(lock_get(s, "ip", ip, now, 0), now);
	uint64_t b = lock_wait(lock_get(s, "user", user, now, 0), now);
	return a > b ? a : b;
}

static void lock_fail(cs_sessions_t *s, const char *kind, const char *what,
		      uint64_t now)
{
	cs_lock_t *l = lock_get(s, kind, what, now, 1);
	l->failures++;
	l->last_ms = now;
	if (l->failures < s->max_failures)
		return;
	/* lockout_ms at the limit, doubling with each failure beyond it. */
	uint64_t ms = s->lockout_ms;
	for (uint32_t k = s->max_failures; k < l->failures && ms < LOCK_MAX_MS; k++)
		ms *= 2;
	if (ms > LOCK_MAX_MS)
		ms = LOCK_MAX_MS;
	l->locked_until_ms = now + ms;
}

void cs_login_failed(cs_sessions_t *s, const char *ip, const char *user, uint64_t now)
{
	lock_fail(s, "ip", ip, now);
	lock_fail(s, "user", user, now);
}

void cs_login_ok(cs_sessions_t *s, const char *ip, const char *user)
{
	cs_lock_t *l[2] = { lock_get(s, "ip", ip, 0, 0), lock_get(s, "user", user, 0, 0) };
	for (int i = 0; i < 2; i++) {
		if (l[i]) {
			l[i]->failures = 0;
			l[i]->locked_until_ms = 0;
		}
	}
}
