/* pl_work: a small pool of worker threads for blocking work (fsync,
 * printing, conversion) so the service's main loop keeps answering
 * heartbeats. fn runs on a worker; done runs afterwards on the loop
 * thread (woken through an eventfd), where it may touch loop state. */
#ifndef PL_WORK_H
#define PL_WORK_H

#include <stddef.h>
#include <stdint.h>

#include "pl_loop.h"

typedef struct pl_work pl_work_t;
typedef void (*pl_work_fn)(void *arg);

/* name: the threads' name as ps -L and top -H show it (15 bytes kept).
 * nice 1..19 lowers their priority: background work (shredding printed
 * jobs) that must not take the CPU from requests someone waits for. */
pl_work_t *pl_work_new(pl_loop_t *loop, const char *name, int nthreads, int nice);
/* Queue fn(arg) then done(arg). 0 or -1 (out of memory). */
int pl_work_submit(pl_work_t *w, pl_work_fn fn, pl_work_fn done, void *arg);
/* Jobs queued or running, not yet done. */
size_t pl_work_pending(pl_work_t *w);
/* The name given to pl_work_new (threads' name, and the pool's in status
 * lines). */
const char *pl_work_name(const pl_work_t *w);
/* Age in ms of the oldest job queued or running (0: none), and, when
 * pending is not NULL, pl_work_pending's count. Any thread. */
uint64_t pl_work_oldest_ms(pl_work_t *w, size_t *pending);
/* When the oldest job is older than stuck_ms, writes
 * "pool NAME: 3 pending, oldest 42 s" to buf and returns 1; else 0.
 * The service runtime does this for pools registered with
 * pl_service_add_pool, so services need not. */
int pl_work_describe(pl_work_t *w, uint64_t stuck_ms, char *buf, size_t size);
/* Wait for every queued job (running their done callbacks), then stop the
 * threads and free the pool. */
void pl_work_free(pl_work_t *w);

#endif
