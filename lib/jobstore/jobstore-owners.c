/* The index's owner -> jobs map: for each owner, the slots of their jobs
 * and the bytes they hold. A listing of one user's jobs, a quota check and
 * an idempotency-key lookup cost O(k) in that user's jobs, not a pass over
 * every job held (issue #12: 100,000 held jobs). Owners are names a
 * workstation chose, so an owner with no job left is removed at once
 * (backward-shift deletion, as in the id map): a flood of made-up names
 * leaves nothing behind. */
#include "jobstore-private.h"

#include <stdlib.h>
#include <string.h>

struct pl_jso_owner {
	uint64_t hash;
	uint64_t bytes;	 /* plaintext bytes of their indexed jobs */
	uint32_t *slot;	 /* slots in the index array, in no order */
	size_t n, cap;
	char name[];
};

static uint64_t jso_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

void pl_jso_free(pl_jso_t *m)
{
	for (size_t i = 0; i < m->cap; i++) {
		if (m->tab[i]) {
			free(m->tab[i]->slot);
			free(m->tab[i]);
		}
	}
	free(m->tab);
	memset(m, 0, sizeof(*m));
}

static size_t jso_pos(const pl_jso_t *m, const char *owner, uint64_t h)
{
	size_t i = h & (m->cap - 1);
	while (m->tab[i] && (m->tab[i]->hash != h || strcmp(m->tab[i]->name, owner)))
		i = (i + 1) & (m->cap - 1);
	return i;
}

pl_jso_owner_t *pl_jso_get(const pl_jso_t *m, const char *owner)
{
	if (m->cap == 0)
		return NULL;
	return m->tab[jso_pos(m, owner, jso_hash(owner))];
}

static int jso_grow(pl_jso_t *m)
{
	size_t cap = m->cap ? m->cap * 2 : 64;
	pl_jso_owner_t **t = calloc(cap, sizeof(*t));
	if (!t)
		return -1;
	for (size_t i = 0; i < m->cap; i++) {
		pl_jso_owner_t *o = m->tab[i];
		if (!o)
			continue;
		size_t k = o->hash & (cap - 1);
		while (t[k])
			k = (k + 1) & (cap - 1);
		t[k] = o;
	}
	free(m->tab);
	m->tab = t;
	m->cap = cap;
	return 0;
}

/* Record that slot k (owner, size) joined the index. 0 or -1 (memory). */
int pl_jso_add(pl_jso_t *m, const char *owner, uint64_t size, size_t k)
{
	if ((m->n + 1) * 2 > m->cap && jso_grow(m) < 0)
		return -1;
	uint64_t h = jso_hash(owner);
	size_t i = jso_pos(m, owner, h);
	pl_jso_owner_t *o = m->tab[i];
	if (!o) {
		size_t len = strlen(owner) + 1;
		if ((o = calloc(1, sizeof(*o) + len)) == NULL)
			return -1;
		o->hash = h;
		memcpy(o->name, owner, len);
		m->tab[i] = o;
		m->n++;
	}
	if (o->n == o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 4;
		uint32_t *s = realloc(o->slot, cap * sizeof(*s));
		if (!s)
			return -1; /* an empty new owner stays: harmless, reused */
		o->slot = s;
		o->cap = cap;
	}
	o->slot[o->n++] = (uint32_t)k;
	o->bytes += size;
	return 0;
}

/* Remove the table entry at i, shifting later entries of its run back. */
static void jso_unlink(pl_jso_t *m, size_t i)
{
	size_t mask = m->cap - 1, j = i;
	pl_jso_owner_t *gone = m->tab[i];
	m->tab[i] = NULL;
	m->n--;
	free(gone->slot);
	free(gone);
	for (;;) {
		j = (j + 1) & mask;
		if (!m->tab[j])
			return;
		size_t home = m->tab[j]->hash & mask;
		if ((j > i && (home <= i || home > j)) ||
		    (j < i && (home <= i && home > j))) {
			m->tab[i] = m->tab[j];
			m->tab[j] = NULL;
			i = j;
		}
	}
}

/* Slot k (owner, size) left the index. */
void pl_jso_del(pl_jso_t *m, const char *owner, uint64_t size, size_t k)
{
	if (m->cap == 0)
		return;
	size_t i = jso_pos(m, owner, jso_hash(owner));
	pl_jso_owner_t *o = m->tab[i];
	if (!o)
		return;
	for (size_t x = 0; x < o->n; x++) {
		if (o->slot[x] == (uint32_t)k) {
			o->slot[x] = o->slot[--o->n];
			break;
		}
	}
	o->bytes -= size;
	if (o->n == 0)
		jso_unlink(m, i);
}

/* The job at slot from moved to slot to. */
void pl_jso_move(pl_jso_t *m, const char *owner, size_t from, size_t to)
{
	pl_jso_owner_t *o = pl_jso_get(m, owner);
	if (!o)
		return;
	for (size_t x = 0; x < o->n; x++)
		if (o->slot[x] == (uint32_t)from) {
			o->slot[x] = (uint32_t)to;
			return;
		}
}

uint64_t pl_jso_bytes(const pl_jso_owner_t *o)
{
	return o ? o->bytes : 0;
}

size_t pl_jso_slots(const pl_jso_owner_t *o, const uint32_t **slots)
{
	*slots = o ? o->slot : NULL;
	return o ? o->n : 0;
}
