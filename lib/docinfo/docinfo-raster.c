/* pl_docinfo: PWG raster (PWG 5102.4) and Apple URF page counts. Both are
 * a page header followed by the page's lines, compressed in the same
 * way: each line (group) starts with a repeat count byte, then runs until
 * the line is full: n in 0..127 repeats the next pixel n+1 times, n in
 * 129..255 copies 257-n pixels, 128 fills the rest of the line. The
 * lines are not stored: only their lengths are followed, so the next
 * header is found and each page counted. A run past the end of a line,
 * an absurd header or a stream that ends mid-page makes the count
 * unknown: the file is not what it claims. */
#include "docinfo-private.h"

#include <string.h>

#define PWG_HEADER 1796
#define URF_FILE_HEADER 4 /* page count, after "UNIRAST\0" */
#define URF_HEADER 32
#define LINE_MAX_BYTES (1u << 22) /* 4 MiB a line: 1 m at 2400 dpi, 64 bpp */
#define LINES_MAX (1u << 20)

enum { R_FILE, R_HEADER, R_REPEAT, R_CODE, R_SKIP, R_BAD };

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void pl_docinfo_ras_init(pl_docinfo_ras_t *s, int urf)
{
	memset(s, 0, sizeof(*s));
	s->hsize = urf ? URF_FILE_HEADER : PWG_HEADER;
	s->state = urf ? R_FILE : R_HEADER;
}

static void first_size(pl_docinfo_ras_t *s, uint64_t w_mm10, uint64_t h_mm10)
{
	if (s->pages == 1 && w_mm10 > 0 && h_mm10 > 0 && w_mm10 < 100000 && h_mm10 < 100000) {
		s->w_mm10 = (uint32_t)w_mm10;
		s->h_mm10 = (uint32_t)h_mm10;
	}
}

/* PWG: cupsBitsPerPixel 388, cupsBytesPerLine 392, cupsHeight 376,
 * cupsWidth 372, PageSize (points) 352. */
static int pwg_page(pl_docinfo_ras_t *s)
{
	const uint8_t *h = s->hdr;
	uint32_t bpp = be32(h + 388), bpl = be32(h + 392), height = be32(h + 376);
	uint32_t width = be32(h + 372);

	if (bpp == 0 || bpp > 240 || height == 0 || height > LINES_MAX || bpl == 0 ||
	    bpl > LINE_MAX_BYTES || ((uint64_t)width * bpp + 7) / 8 != bpl)
		return -1;
	s->unit = (bpp + 7) / 8;
	if (bpl % s->unit)
		return -1;
	s->line_bytes = bpl;
	s->lines_left = height;
	s->pages++;
	first_size(s, (uint64_t)be32(h + 352) * 254 / 72, (uint64_t)be32(h + 356) * 254 / 72);
	return 0;
}

/* URF: bits per pixel 0, width 12, height 16, resolution (dpi) 20. */
static int urf_page(pl_docinfo_ras_t *s)
{
	const uint8_t *h = s->hdr;
	uint32_t bpp = h[0], width = be32(h + 12), height = be32(h + 16);
	uint32_t dpi = be32(h + 20);

	if (bpp == 0 || bpp % 8 || width == 0 || height == 0 || height > LINES_MAX ||
	    (uint64_t)width * (bpp / 8) > LINE_MAX_BYTES)
		return -1;
	s->unit = bpp / 8;
	s->line_bytes = width * s->unit;
	s->lines_left = height;
	s->pages++;
	if (dpi > 0)
		first_size(s, (uint64_t)width * 254 / dpi, (uint64_t)height * 254 / dpi);
	return 0;
}

static void header_done(pl_docinfo_ras_t *s)
{
	int rc;

	s->hlen = 0;
	if (s->state == R_FILE) { /* URF's page count: we count for ourselves */
		s->hsize = URF_HEADER;
		s->state = R_HEADER;
		return;
	}
	rc = s->hsize == PWG_HEADER ? pwg_page(s) : urf_page(s);
	s->state = rc < 0 ? R_BAD : R_REPEAT;
}

/* One run code of the current line. */
static void run_code(pl_docinfo_ras_t *s, uint8_t c)
{
	uint64_t bytes;

	if (c == 128) { /* the rest of the line is blank */
		s->pos = s->line_bytes;
	} else {
		bytes = (uint64_t)(c < 128 ? 1 : 257 - c) * s->unit;
		if (s->pos + (c < 128 ? (uint64_t)(c + 1) * s->unit : bytes) > s->line_bytes) {
			s->state = R_BAD;
			return;
		}
		s->pos += (uint32_t)(c < 128 ? (uint64_t)(c + 1) * s->unit : bytes);
		s->run_left = (uint32_t)(c < 128 ? s->unit : bytes);
		s->state = R_SKIP;
		return;
	}
	s->state = R_CODE;
}

/* The line group is full: the page may be too. */
static void line_check(pl_docinfo_ras_t *s)
{
	if (s->state != R_CODE || s->pos < s->line_bytes)
		return;
	s->state = s->lines_left == 0 ? R_HEADER : R_REPEAT;
}

static size_t ras_step(pl_docinfo_ras_t *s, const uint8_t *p, size_t n)
{
	size_t take;

	switch (s->state) {
	case R_FILE:
	case R_HEADER:
		take = s->hsize - s->hlen < n ? s->hsize - s->hlen : n;
		memcpy(s->hdr + s->hlen, p, take);
		if ((s->hlen += take) == s->hsize)
			header_done(s);
		return take;
	case R_REPEAT:
		/* The count covers this line and p[0] more: clamp to the page. */
		s->lines_left -= (uint32_t)p[0] + 1 < s->lines_left ? (uint32_t)p[0] + 1
								    : s->lines_left;
		s->pos = 0;
		s->state = R_CODE;
		return 1;
	case R_CODE:
		run_code(s, p[0]);
		line_check(s);
		return 1;
	case R_SKIP:
		take = s->run_left < n ? s->run_left : n;
		if ((s->run_left -= (uint32_t)take) == 0) {
			s->state = R_CODE;
			line_check(s);
		}
		return take;
	default:
		return n; /* R_BAD: nothing more to learn */
	}
}

void pl_docinfo_ras_feed(pl_docinfo_ras_t *s, const uint8_t *p, size_t n)
{
	while (n > 0) {
		size_t used = ras_step(s, p, n);
		p += used;
		n -= used;
	}
}

void pl_docinfo_ras_result(pl_docinfo_ras_t *s, pl_docinfo_result_t *out)
{
	/* Complete pages only: between pages, nothing of the next one read. */
	if (s->state != R_HEADER || s->hlen != 0 || s->pages == 0)
		return;
	out->pages = s->pages;
	if (s->w_mm10)
		pl_docinfo_size_name(s->w_mm10, s->h_mm10, out->page_size,
				     sizeof(out->page_size));
}
