/* Watchdogs: an atomic "last kick" timestamp each, in a small set owned by
 * the loop thread. */
#include "pl_watchdog.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "pl_loop.h"
#include "pl_util.h"

/* The "last kick" value of a parked watchdog. */
#define WD_PARKED UINT64_MAX

struct pl_watchdog {
	_Atomic uint64_t last; /* pl_now_ms() of the last kick, or WD_PARKED */
	uint32_t max_ms;
	int reported; /* loop thread only: expiry already reported */
	char name[PL_WATCHDOG_NAME_MAX];
};

struct pl_watchdogs {
	pl_watchdog_t *wd[PL_WATCHDOGS_MAX];
	size_t n;
};

void pl_watchdog_kick(pl_watchdog_t *wd)
{
	/* Relaxed: the timestamp is the whole message; nothing else is
	 * published with it. */
	atomic_store_explicit(&wd->last, pl_now_ms(), memory_order_relaxed);
}

void pl_watchdog_park(pl_watchdog_t *wd)
{
	atomic_store_explicit(&wd->last, WD_PARKED, memory_order_relaxed);
}

const char *pl_watchdog_name(const pl_watchdog_t *wd)
{
	return wd->name;
}

uint64_t pl_watchdog_silence(const pl_watchdog_t *wd, uint64_t now)
{
	uint64_t last = atomic_load_explicit(&wd->last, memory_order_relaxed);
	/* A kick on another thread may be a hair newer than our now. */
	if (last == WD_PARKED || last >= now)
		return 0;
	return now - last;
}

pl_watchdogs_t *pl_watchdogs_new(void)
{
	return calloc(1, sizeof(pl_watchdogs_t));
}

void pl_watchdogs_free(pl_watchdogs_t *set)
{
	if (!set)
		return;
	for (size_t i = 0; i < set->n; i++)
		free(set->wd[i]);
	free(set);
}

pl_watchdog_t *pl_watchdogs_add(pl_watchdogs_t *set, const char *name,
				uint32_t max_silence_ms)
{
	if (set->n >= PL_WATCHDOGS_MAX)
		return NULL;
	pl_watchdog_t *wd = calloc(1, sizeof(*wd));
	if (!wd)
		return NULL;
	pl_strlcpy(wd->name, name, sizeof(wd->name));
	wd->max_ms = max_silence_ms;
	atomic_init(&wd->last, pl_now_ms());
	set->wd[set->n++] = wd;
	return wd;
}

void pl_watchdogs_remove(pl_watchdogs_t *set, pl_watchdog_t *wd)
{
	for (size_t i = 0; i < set->n; i++) {
		if (set->wd[i] != wd)
			continue;
		set->wd[i] = set->wd[--set->n];
		free(wd);
		return;
	}
}

pl_watchdog_t *pl_watchdogs_check(pl_watchdogs_t *set, uint64_t now,
				  int *first)
{
	pl_watchdog_t *bad = NULL;
	*first = 0;
	for (size_t i = 0; i < set->n; i++) {
		pl_watchdog_t *wd = set->wd[i];
		if (pl_watchdog_silence(wd, now) <= wd->max_ms) {
			wd->reported = 0;
			continue;
		}
		if (bad)
			continue;
		bad = wd;
		*first = !wd->reported;
		wd->reported = 1;
	}
	return bad;
}
