/* The first jobs of a listing page, chosen in one pass over the index;
 * see jobstore-private.h and pl_jobstore_list_page. */
#include "jobstore-private.h"

#include <stdlib.h>

#include "pl_jobpage.h"

/* <0 when a comes before b in the listing's order. */
static int order(const pl_jsp_t *p, const pl_jsp_item_t *a, const pl_jsp_item_t *b)
{
	return p->dir * pl_jobpos_cmp((uint64_t)a->ms, a->id, (uint64_t)b->ms, b->id);
}

void pl_jsp_init(pl_jsp_t *p, size_t limit, int newest_first)
{
	*p = (pl_jsp_t){ .limit = limit, .dir = newest_first ? -1 : 1 };
}

void pl_jsp_free(pl_jsp_t *p)
{
	free(p->heap);
	p->heap = NULL;
}

int pl_jsp_past(const pl_jsp_t *p, int64_t ms, const char *id,
		int64_t after_ms, const char *after_id)
{
	if (!after_id || !after_id[0])
		return 1;
	return p->dir * pl_jobpos_cmp((uint64_t)ms, id, (uint64_t)after_ms, after_id) > 0;
}

static void swap(pl_jsp_item_t *a, pl_jsp_item_t *b)
{
	pl_jsp_item_t t = *a;
	*a = *b;
	*b = t;
}

/* The heap's top is the item that comes last. */
static void sift_up(pl_jsp_t *p, size_t i)
{
	while (i > 0 && order(p, &p->heap[(i - 1) / 2], &p->heap[i]) < 0) {
		swap(&p->heap[(i - 1) / 2], &p->heap[i]);
		i = (i - 1) / 2;
	}
}

static void sift_down(pl_jsp_t *p, size_t i, size_t n)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, top = i;
		if (l < n && order(p, &p->heap[top], &p->heap[l]) < 0)
			top = l;
		if (r < n && order(p, &p->heap[top], &p->heap[r]) < 0)
			top = r;
		if (top == i)
			return;
		swap(&p->heap[i], &p->heap[top]);
		i = top;
	}
}

/* Grown as jobs come, so that a page of a small listing costs little
 * whatever its limit. */
static int room(pl_jsp_t *p)
{
	if (p->n < p->cap)
		return 0;
	size_t cap = p->cap ? p->cap * 2 : 64;
	if (cap > p->limit)
		cap = p->limit;
	pl_jsp_item_t *h = realloc(p->heap, cap * sizeof(*h));
	if (!h)
		return -1;
	p->heap = h;
	p->cap = cap;
	return 0;
}

void pl_jsp_offer(pl_jsp_t *p, int64_t ms, const char *id, uint32_t slot)
{
	pl_jsp_item_t it = { ms, id, slot };
	p->past++;
	if (p->limit == 0 || p->err)
		return;
	if (p->n < p->limit) {
		if (room(p) < 0) {
			p->err = 1;
			return;
		}
		p->heap[p->n] = it;
		sift_up(p, p->n++);
	} else if (order(p, &it, &p->heap[0]) < 0) {
		p->heap[0] = it;
		sift_down(p, 0, p->n);
	}
}

void pl_jsp_sort(pl_jsp_t *p)
{
	/* Heapsort: the last in order goes to the end, and so on. */
	for (size_t n = p->n; n > 1; n--) {
		swap(&p->heap[0], &p->heap[n - 1]);
		sift_down(p, 0, n - 1);
	}
}
