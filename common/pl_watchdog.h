/* pl_watchdog: "this thread (or foreign loop) is still making progress".
 *
 * A thread kicks its watchdog whenever it gets through a turn of its work;
 * the kick is one relaxed atomic store of a timestamp, lock-free, so any
 * thread may kick at any rate. A watchdog not kicked for longer than its
 * maximum silence has expired. A thread about to wait for work with no
 * bound (a worker idle on its queue) parks its watchdog: a parked one never
 * expires, and the next kick unparks it.
 *
 * The service runtime keeps a set of them (pl_service_watchdog) and answers
 * the supervisor's PING only while none has expired, so a hung helper
 * thread gets the process restarted just as a hung main loop does. The set
 * below is the loop thread's; only pl_watchdog_kick and pl_watchdog_park
 * may be called from other threads. */
#ifndef PL_WATCHDOG_H
#define PL_WATCHDOG_H

#include <stddef.h>
#include <stdint.h>

typedef struct pl_watchdog pl_watchdog_t;
typedef struct pl_watchdogs pl_watchdogs_t;

#define PL_WATCHDOG_NAME_MAX 32
/* Watchdogs a set holds: threads and foreign loops of one service. */
#define PL_WATCHDOGS_MAX 32

/* Any thread. */
void pl_watchdog_kick(pl_watchdog_t *wd);
void pl_watchdog_park(pl_watchdog_t *wd);

const char *pl_watchdog_name(const pl_watchdog_t *wd);
/* Milliseconds since the last kick at now (pl_now_ms()); 0 when parked. */
uint64_t pl_watchdog_silence(const pl_watchdog_t *wd, uint64_t now);

pl_watchdogs_t *pl_watchdogs_new(void);
/* Frees the set and every watchdog in it. */
void pl_watchdogs_free(pl_watchdogs_t *set);
/* A new watchdog, kicked now. name: printable, truncated to
 * PL_WATCHDOG_NAME_MAX - 1 bytes. NULL if the set is full or out of
 * memory. */
pl_watchdog_t *pl_watchdogs_add(pl_watchdogs_t *set, const char *name,
				uint32_t max_silence_ms);
/* Remove and free one (the thread that kicked it must be done with it). */
void pl_watchdogs_remove(pl_watchdogs_t *set, pl_watchdog_t *wd);
/* The first expired watchdog at now, or NULL. When it is found expired for
 * the first time since it was last healthy, *first is set to 1 (so the
 * caller logs once), else 0. */
pl_watchdog_t *pl_watchdogs_check(pl_watchdogs_t *set, uint64_t now,
				  int *first);

#endif
