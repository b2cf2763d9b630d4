/* Held-job positions, cursors and the merge of holders' pages; see
 * pl_jobpage.h. */
#include "pl_jobpage.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int pl_jobpos_cmp(uint64_t a_ms, const char *a_id, uint64_t b_ms, const char *b_id)
{
	if (a_ms != b_ms)
		return a_ms < b_ms ? -1 : 1;
	return strcmp(a_id, b_id);
}

int pl_jobpos_cmpp(const pl_jobpos_t *a, const pl_jobpos_t *b)
{
	return pl_jobpos_cmp(a->created_ms, a->id, b->created_ms, b->id);
}

int pl_jobpos_add(pl_msg_t *m, uint16_t tag, const pl_jobpos_t *p)
{
	pl_msg_nest_begin(m, tag);
	pl_msg_add_u64(m, PL_TAG_CREATED_MS, p->created_ms);
	pl_msg_add_str(m, PL_TAG_JOB_ID, p->id);
	return pl_msg_nest_end(m);
}

int pl_jobpos_decode(const pl_field_t *fl, pl_jobpos_t *p)
{
	pl_iter_t it;
	pl_field_t f;
	int have_ms = 0, have_id = 0, rc;
	memset(p, 0, sizeof(*p));
	if (pl_iter_nested(&it, fl) < 0)
		return -1;
	while ((rc = pl_iter_next(&it, &f)) == 1) {
		if (f.tag == PL_TAG_CREATED_MS)
			have_ms = pl_field_u64(&f, &p->created_ms) == 0;
		else if (f.tag == PL_TAG_JOB_ID)
			have_id = pl_field_str(&f, p->id, sizeof(p->id)) == 0;
	}
	return rc == 0 && have_ms && have_id ? 0 : -1;
}

int pl_jobpos_format(const pl_jobpos_t *p, char *buf, size_t sz)
{
	int n = snprintf(buf, sz, "%" PRIu64 "-%s", p->created_ms, p->id);
	return n > 0 && (size_t)n < sz ? 0 : -1;
}

int pl_jobpos_parse(const char *s, pl_jobpos_t *p)
{
	size_t digits = strspn(s, "0123456789");
	char *end;
	memset(p, 0, sizeof(*p));
	if (digits == 0 || digits > 20 || s[digits] != '-')
		return -1;
	/* The id only after the '-' is known to be there: s may end at
	 * digits. */
	const char *id = s + digits + 1;
	size_t idlen = strlen(id);
	if (idlen == 0 || idlen >= sizeof(p->id) || strspn(id, "0123456789abcdef") != idlen)
		return -1;
	/* 20 digits may still overflow: strtoull says so (ERANGE gives
	 * UINT64_MAX, which no clock reaches; it is refused). */
	p->created_ms = strtoull(s, &end, 10);
	if (end != s + digits || p->created_ms == UINT64_MAX)
		return -1;
	memcpy(p->id, id, idlen + 1);
	return 0;
}

void pl_jobmerge_init(pl_jobmerge_t *mg)
{
	memset(mg, 0, sizeof(*mg));
}

void pl_jobmerge_page(pl_jobmerge_t *mg, const pl_jobpos_t *last, int more)
{
	if (!more || !last)
		return;
	mg->more = 1;
	if (!mg->bounded || pl_jobpos_cmpp(last, &mg->bound) < 0)
		mg->bound = *last;
	mg->bounded = 1;
}

size_t pl_jobmerge_take(const pl_jobmerge_t *mg, const void *sorted, size_t n,
			size_t size, size_t limit, int *more)
{
	const unsigned char *base = sorted;
	size_t k = 0;
	while (k < n && k < limit) {
		const pl_jobpos_t *p = (const void *)(base + k * size);
		if (mg->bounded && pl_jobpos_cmpp(p, &mg->bound) > 0)
			break;
		k++;
	}
	*more = mg->more || k < n;
	return k;
}
