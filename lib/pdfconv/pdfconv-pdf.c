/* A minimal PDF writer: one image a page. Objects 1 (catalog) and 2
 * (pages) are written last in the body, once the pages are known; the
 * cross-reference table gives every object's offset. */
#include "pl_pdfconv.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_OBJS (3u * 100000u)

struct pl_pdfw {
	uint8_t *buf;
	size_t len, cap;
	uint64_t max;
	size_t *offs; /* offs[i]: object i+1 */
	uint32_t nobj, cap_obj;
	uint32_t *page_objs;
	uint32_t npages;
	int failed;
};

static void put(pl_pdfw_t *w, const void *p, size_t n)
{
	if (w->failed)
		return;
	if (w->len + n > w->max) {
		w->failed = 1;
		return;
	}
	if (w->len + n > w->cap) {
		size_t nc = w->cap ? w->cap : 65536;
		while (nc < w->len + n)
			nc *= 2;
		uint8_t *nb = realloc(w->buf, nc);
		if (!nb) {
			w->failed = 1;
			return;
		}
		w->buf = nb;
		w->cap = nc;
	}
	memcpy(w->buf + w->len, p, n);
	w->len += n;
}

static void putf(pl_pdfw_t *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(pl_pdfw_t *w, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		w->failed = 1;
		return;
	}
	put(w, tmp, (size_t)n);
}

/* Reserve the next object number. */
static uint32_t obj_new(pl_pdfw_t *w)
{
	if (w->nobj == w->cap_obj) {
		uint32_t nc = w->cap_obj ? w->cap_obj * 2 : 64;
		size_t *no = nc <= MAX_OBJS ? realloc(w->offs, nc * sizeof(*no)) : NULL;
		if (!no) {
			w->failed = 1;
			return 0;
		}
		w->offs = no;
		w->cap_obj = nc;
	}
	w->offs[w->nobj] = 0;
	return ++w->nobj;
}

static void obj_begin(pl_pdfw_t *w, uint32_t n)
{
	if (w->failed || n == 0)
		return;
	w->offs[n - 1] = w->len;
	putf(w, "%u 0 obj\n", n);
}

pl_pdfw_t *pl_pdfw_new(uint64_t max_bytes)
{
	pl_pdfw_t *w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->max = max_bytes ? max_bytes : 512ull << 20;
	static const char head[] = "%PDF-1.4\n%\xe2\xe3\xcf\xd3\n";
	put(w, head, sizeof(head) - 1);
	(void)obj_new(w); /* 1: catalog */
	(void)obj_new(w); /* 2: pages */
	return w;
}

int pl_pdfw_image_page(pl_pdfw_t *w, uint32_t px_w, uint32_t px_h, int ncomp,
		       const char *filter, int decode_invert, const uint8_t *data, size_t len,
		       double w_pt, double h_pt)
{
	if (w->failed || px_w == 0 || px_h == 0 || (ncomp != 1 && ncomp != 3) || w_pt <= 0 ||
	    h_pt <= 0 || w_pt > 200000 || h_pt > 200000)
		return -1;
	uint32_t *np = realloc(w->page_objs, (w->npages + 1) * sizeof(*np));
	if (!np)
		return -1;
	w->page_objs = np;
	uint32_t img = obj_new(w), content = obj_new(w), page = obj_new(w);
	char cs[64];
	snprintf(cs, sizeof(cs), "%s", ncomp == 1 ? "/DeviceGray" : "/DeviceRGB");
	obj_begin(w, img);
	putf(w,
	     "<</Type/XObject/Subtype/Image/Width %u/Height %u/ColorSpace %s"
	     "/BitsPerComponent 8/Filter/%s%s/Length %zu>>\nstream\n",
	     px_w, px_h, cs, filter, decode_invert ? "/Decode[1 0]" : "", len);
	put(w, data, len);
	putf(w, "\nendstream\nendobj\n");
	char ops[160];
	int on = snprintf(ops, sizeof(ops), "q %.2f 0 0 %.2f 0 0 cm /Im0 Do Q\n", w_pt, h_pt);
	obj_begin(w, content);
	putf(w, "<</Length %d>>\nstream\n%sendstream\nendobj\n", on, ops);
	obj_begin(w, page);
	putf(w,
	     "<</Type/Page/Parent 2 0 R/MediaBox[0 0 %.2f %.2f]"
	     "/Resources<</XObject<</Im0 %u 0 R>>>>/Contents %u 0 R>>\nendobj\n",
	     w_pt, h_pt, img, content);
	if (w->failed)
		return -1;
	w->page_objs[w->npages++] = page;
	return 0;
}

int pl_pdfw_finish(pl_pdfw_t *w, uint8_t **out, size_t *len, uint32_t *pages)
{
	if (w->npages == 0)
		w->failed = 1;
	obj_begin(w, 2);
	putf(w, "<</Type/Pages/Count %u/Kids[", w->npages);
	for (uint32_t i = 0; i < w->npages && !w->failed; i++)
		putf(w, "%u 0 R ", w->page_objs[i]);
	putf(w, "]>>\nendobj\n");
	obj_begin(w, 1);
	putf(w, "<</Type/Catalog/Pages 2 0 R>>\nendobj\n");
	size_t xref = w->len;
	putf(w, "xref\n0 %u\n0000000000 65535 f \n", w->nobj + 1);
	for (uint32_t i = 0; i < w->nobj && !w->failed; i++)
		putf(w, "%010zu 00000 n \n", w->offs[i]);
	putf(w, "trailer\n<</Size %u/Root 1 0 R>>\nstartxref\n%zu\n%%%%EOF\n", w->nobj + 1, xref);
	if (w->failed) {
		pl_pdfw_free(w);
		return -1;
	}
	*out = w->buf;
	*len = w->len;
	*pages = w->npages;
	w->buf = NULL;
	pl_pdfw_free(w);
	return 0;
}

void pl_pdfw_free(pl_pdfw_t *w)
{
	if (!w)
		return;
	free(w->buf);
	free(w->offs);
	free(w->page_objs);
	free(w);
}
