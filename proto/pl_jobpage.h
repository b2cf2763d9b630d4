/* pl_jobpage: listings of held jobs a page at a time (PROTOCOL.md §8).
 *
 * Every listing of held jobs is in one order, the same in each holder,
 * in the supervisor and in the clients: by creation time, then by job id
 * (ids are 128-bit random, so two jobs never share a position). A page
 * starts strictly after a position, the cursor: the last job the asker
 * saw. A cursor is not an offset, so a job released, deleted or held
 * meanwhile neither shifts a later page nor makes it repeat a job.
 *
 * The supervisor merges the pages of several holders (a k-way merge, by
 * sorting what they sent): it asks each for LIMIT jobs after the cursor
 * and answers with the first LIMIT of the merge, but never a job past
 * the last one of a holder that said it has more (that holder's next
 * jobs may come before it). The answer's last job is the next cursor. */
#ifndef PL_JOBPAGE_H
#define PL_JOBPAGE_H

#include <stddef.h>
#include <stdint.h>

#include "pl_proto.h"

#define PL_JOBPOS_ID_MAX 64 /* an id and its NUL (ids are 32 hex today) */
/* The string form of a position, for a URL: "<created_ms>-<id>". */
#define PL_JOBPOS_STR_MAX (20 + 1 + PL_JOBPOS_ID_MAX)

typedef struct {
	uint64_t created_ms;
	char id[PL_JOBPOS_ID_MAX];
} pl_jobpos_t;

/* <0, 0, >0 as position a comes before, is, or comes after b. */
int pl_jobpos_cmp(uint64_t a_ms, const char *a_id, uint64_t b_ms, const char *b_id);
int pl_jobpos_cmpp(const pl_jobpos_t *a, const pl_jobpos_t *b);

/* A position as a nested field (CREATED_MS, JOB_ID) under tag. */
int pl_jobpos_add(pl_msg_t *m, uint16_t tag, const pl_jobpos_t *p);
/* 0, or -1 when the nest is malformed or lacks either field. */
int pl_jobpos_decode(const pl_field_t *fl, pl_jobpos_t *p);
/* The string form: 0, or -1 when it does not fit. */
int pl_jobpos_format(const pl_jobpos_t *p, char *buf, size_t sz);
/* 0, or -1 unless s is decimal digits, '-', then 1 to 63 of
 * [0-9a-f] (what a cursor from pl_jobpos_format looks like). */
int pl_jobpos_parse(const char *s, pl_jobpos_t *p);

/* The merge of the pages of several holders. */
typedef struct {
	pl_jobpos_t bound; /* no job past it (when bounded) */
	int bounded;
	int more; /* some holder has jobs after its page */
} pl_jobmerge_t;

void pl_jobmerge_init(pl_jobmerge_t *mg);
/* One holder's page: last is its last (largest) job, NULL when it sent
 * none; more as it said. A holder that says "more" with no job is
 * broken (the walk would not advance): its "more" is ignored. */
void pl_jobmerge_page(pl_jobmerge_t *mg, const pl_jobpos_t *last, int more);
/* Of n jobs from every page, sorted by position (each element of size
 * bytes begins with its pl_jobpos_t), how many the answer takes: at most
 * limit, none past the bound. *more: whether jobs remain after them. */
size_t pl_jobmerge_take(const pl_jobmerge_t *mg, const void *sorted, size_t n,
			size_t size, size_t limit, int *more);

#endif
