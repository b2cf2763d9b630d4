/* The index's id -> slot map: open addressing with linear probing over
 * slot numbers into the index array. Every new job, claim, get and delete
 * looked its id up by scanning the whole index with strcmp (79% of the
 * CPU at 100,000 held jobs); ids are 128 random bits, so their first
 * 64 bits hash them well with no further mixing. Deletion shifts the
 * following entries back (no tombstones), so a long-lived store never
 * degrades. The map is kept at most half full. */
#include "jobstore-private.h"

#include <stdlib.h>
#include <string.h>

#define EMPTY UINT32_MAX

static uint64_t idm_hash(const char *id)
{
	uint64_t h = 0;
	for (int i = 0; i < 16; i++) {
		char c = id[i];
		h = h << 4 | (uint64_t)(c <= '9' ? c - '0' : c - 'a' + 10);
	}
	return h;
}

void pl_jsi_free(pl_jsi_t *m)
{
	free(m->slot);
	memset(m, 0, sizeof(*m));
}

static int idm_resize(pl_jsi_t *m, const pl_job_meta_t *jobs, size_t n,
		      size_t cap)
{
	uint32_t *s = malloc(cap * sizeof(*s));
	if (s == NULL)
		return -1;
	for (size_t i = 0; i < cap; i++)
		s[i] = EMPTY;
	free(m->slot);
	m->slot = s;
	m->cap = cap;
	m->n = 0;
	for (size_t k = 0; k < n; k++) {
		size_t i = idm_hash(jobs[k].id) & (cap - 1);
		while (s[i] != EMPTY)
			i = (i + 1) & (cap - 1);
		s[i] = (uint32_t)k;
		m->n++;
	}
	return 0;
}

/* Room for n entries at most half full; jobs[0..n) are (re)inserted when
 * the table grows. 0 or -1 (out of memory; the map is unchanged). */
int pl_jsi_reserve(pl_jsi_t *m, const pl_job_meta_t *jobs, size_t n, size_t want)
{
	size_t cap = m->cap ? m->cap : 64;
	while (cap < 2 * want)
		cap *= 2;
	if (cap == m->cap)
		return 0;
	return idm_resize(m, jobs, n, cap);
}

ssize_t pl_jsi_find(const pl_jsi_t *m, const pl_job_meta_t *jobs, const char *id)
{
	if (m->cap == 0)
		return -1;
	size_t i = idm_hash(id) & (m->cap - 1);
	while (m->slot[i] != EMPTY) {
		if (memcmp(jobs[m->slot[i]].id, id, PL_JOB_ID_LEN) == 0)
			return m->slot[i];
		i = (i + 1) & (m->cap - 1);
	}
	return -1;
}

/* jobs[k] is new; pl_jsi_reserve made room. */
void pl_jsi_put(pl_jsi_t *m, const pl_job_meta_t *jobs, size_t k)
{
	size_t i = idm_hash(jobs[k].id) & (m->cap - 1);
	while (m->slot[i] != EMPTY)
		i = (i + 1) & (m->cap - 1);
	m->slot[i] = (uint32_t)k;
	m->n++;
}

static size_t idm_pos(const pl_jsi_t *m, const pl_job_meta_t *jobs, size_t k)
{
	size_t i = idm_hash(jobs[k].id) & (m->cap - 1);
	while (m->slot[i] != (uint32_t)k)
		i = (i + 1) & (m->cap - 1);
	return i;
}

/* Remove jobs[k]'s entry (it must be there). */
void pl_jsi_del(pl_jsi_t *m, const pl_job_meta_t *jobs, size_t k)
{
	size_t mask = m->cap - 1, i = idm_pos(m, jobs, k), j = i;
	m->slot[i] = EMPTY;
	m->n--;
	/* Backward shift: move up every later entry of the run whose home
	 * is not between the hole and it (cyclically). */
	for (;;) {
		j = (j + 1) & mask;
		if (m->slot[j] == EMPTY)
			return;
		size_t home = idm_hash(jobs[m->slot[j]].id) & mask;
		if ((j > i && (home <= i || home > j)) ||
		    (j < i && (home <= i && home > j))) {
			m->slot[i] = m->slot[j];
			m->slot[j] = EMPTY;
			i = j;
		}
	}
}

/* jobs[from] moved to jobs[to] (its entry must be there). */
void pl_jsi_move(pl_jsi_t *m, const pl_job_meta_t *jobs, size_t from, size_t to)
{
	m->slot[idm_pos(m, jobs, from)] = (uint32_t)to;
}
