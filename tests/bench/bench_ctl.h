/* The supervisor's control socket, for benchmarks: CTL_STATUS decoded into
 * a small table. The client is lib/ctl (pl_ctlclient.h). */
#ifndef BENCH_CTL_H
#define BENCH_CTL_H

#include "pl_ctlclient.h"

#define BENCH_MAX_SVCS 32

typedef struct {
	char name[64];
	char state[32];
	uint32_t pid;
} bench_svc_t;

typedef struct {
	uint32_t sup_pid;
	int n;
	bench_svc_t svc[BENCH_MAX_SVCS];
} bench_status_t;

static inline int bench_nested_pid(const pl_field_t *outer, uint32_t *pid)
{
	pl_iter_t it;
	pl_field_t f;
	int rc = pl_iter_nested(&it, outer);
	while (rc == 0 && (rc = pl_iter_next(&it, &f)) == 1)
		if (f.tag == PL_TAG_PID)
			return pl_field_u32(&f, pid);
	return rc < 0 ? rc : -PL_PROTO_EMISSING;
}

static inline int bench_parse_svc(const pl_field_t *outer, bench_svc_t *s)
{
	pl_iter_t it;
	pl_field_t f;
	int rc = pl_iter_nested(&it, outer);
	memset(s, 0, sizeof(*s));
	while (rc == 0 && (rc = pl_iter_next(&it, &f)) == 1) {
		if (f.tag == PL_TAG_NAME)
			rc = pl_field_str(&f, s->name, sizeof(s->name));
		else if (f.tag == PL_TAG_STATE)
			rc = pl_field_str(&f, s->state, sizeof(s->state));
		else if (f.tag == PL_TAG_PID)
			rc = pl_field_u32(&f, &s->pid);
		if (rc > 0)
			rc = 0;
		else if (rc < 0)
			return rc;
	}
	return rc;
}

/* One CTL_STATUS round trip. 0 or a negative proto error. */
static inline int bench_status(pl_ctl_client_t *c, bench_status_t *st)
{
	pl_frame_t f;
	pl_iter_t it;
	pl_field_t fl;
	int rc = pl_ctl_request(c, PL_MSG_CTL_STATUS, NULL, &f);
	if (rc < 0)
		return rc;
	st->n = 0;
	st->sup_pid = 0;
	pl_iter_frame(&it, &f);
	while ((rc = pl_iter_next(&it, &fl)) == 1) {
		if (fl.tag == PL_TAG_SUPERVISOR)
			rc = bench_nested_pid(&fl, &st->sup_pid);
		else if (fl.tag == PL_TAG_SERVICE && st->n < BENCH_MAX_SVCS)
			rc = bench_parse_svc(&fl, &st->svc[st->n++]);
		if (rc < 0)
			return rc;
	}
	return rc;
}

static inline const bench_svc_t *bench_find(const bench_status_t *st,
					    const char *name)
{
	for (int i = 0; i < st->n; i++)
		if (strcmp(st->svc[i].name, name) == 0)
			return &st->svc[i];
	return NULL;
}

static inline int bench_running(const bench_svc_t *s)
{
	return s && s->pid > 0 && strcmp(s->state, "running") == 0;
}

/* Connect, retrying while the supervisor is still starting up. */
static inline int bench_ctl_connect(pl_ctl_client_t *c, const char *path)
{
	uint64_t deadline = bench_now_ns() + BENCH_TIMEOUT_MS * 1000000ull;
	while (pl_ctl_connect(c, path) < 0) {
		if ((errno != ENOENT && errno != ECONNREFUSED) ||
		    bench_now_ns() > deadline)
			return -1;
		bench_sleep_us(10000);
	}
	return 0;
}

#endif
