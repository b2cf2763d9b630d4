/* pl_pdfconv: JPEG and raster (URF, PWG) to PDF (PNG: pdfconv-png.c). */
#include "pdfconv-private.h"
#include "pl_util.h"

#include <cups/raster.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>


#define A4_W 595.0
#define A4_H 842.0

pl_pdfconv_fmt_t pl_pdfconv_format(const char *mime, const uint8_t *p, size_t n)
{
	if (mime && strcmp(mime, "application/octet-stream") != 0) {
		if (!strcmp(mime, "application/pdf"))
			return PL_PDFCONV_PDF;
		if (!strcmp(mime, "image/jpeg"))
			return PL_PDFCONV_JPEG;
		if (!strcmp(mime, "image/png"))
			return PL_PDFCONV_PNG;
		if (!strcmp(mime, "image/urf"))
			return PL_PDFCONV_URF;
		if (!strcmp(mime, "image/pwg-raster"))
			return PL_PDFCONV_PWG;
		return PL_PDFCONV_UNKNOWN;
	}
	if (n >= 5 && !memcmp(p, "%PDF-", 5))
		return PL_PDFCONV_PDF;
	if (n >= 3 && p[0] == 0xff && p[1] == 0xd8 && p[2] == 0xff)
		return PL_PDFCONV_JPEG;
	if (n >= 8 && !memcmp(p, "\x89PNG\r\n\x1a\n", 8))
		return PL_PDFCONV_PNG;
	if (n >= 8 && !memcmp(p, "UNIRAST", 8))
		return PL_PDFCONV_URF;
	if (n >= 4 && !memcmp(p, "RaS2", 4))
		return PL_PDFCONV_PWG;
	return PL_PDFCONV_UNKNOWN;
}

void pl_pdfconv_default_limits(const pl_pdfconv_limits_t *in, pl_pdfconv_limits_t *l)
{
	memset(l, 0, sizeof(*l));
	if (in)
		*l = *in;
	if (!l->max_pages)
		l->max_pages = 1000;
	if (!l->max_page_pixels)
		l->max_page_pixels = 150ull * 1000 * 1000;
	if (!l->max_out_bytes)
		l->max_out_bytes = 512ull << 20;
}

void pl_pdfconv_fit_a4(uint32_t w, uint32_t h, double *pw, double *ph)
{
	double s = w >= h ? (A4_H / w < A4_W / h ? A4_H / w : A4_W / h)
			  : (A4_W / w < A4_H / h ? A4_W / w : A4_H / h);
	*pw = w * s;
	*ph = h * s;
}

/* ---- JPEG: the frame header only ---- */
static int jpeg_frame(const uint8_t *p, size_t n, uint32_t *w, uint32_t *h, int *nc)
{
	size_t i = 2;
	if (n < 4 || p[0] != 0xff || p[1] != 0xd8)
		return -1;
	while (i + 4 <= n) {
		if (p[i] != 0xff)
			return -1;
		uint8_t m = p[i + 1];
		if (m == 0xff) { /* fill byte */
			i++;
			continue;
		}
		if (m == 0x01 || (m >= 0xd0 && m <= 0xd7)) {
			i += 2;
			continue;
		}
		if (m == 0xd9 || m == 0xda) /* EOI or SOS before a frame */
			return -1;
		size_t len = (size_t)p[i + 2] << 8 | p[i + 3];
		if (len < 2 || i + 2 + len > n)
			return -1;
		int sof = m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc;
		if (sof) {
			if (len < 8 || p[i + 4] != 8)
				return -1;
			*h = (uint32_t)p[i + 5] << 8 | p[i + 6];
			*w = (uint32_t)p[i + 7] << 8 | p[i + 8];
			*nc = p[i + 9];
			return *w && *h && (*nc == 1 || *nc == 3) ? 0 : -1;
		}
		i += 2 + len;
	}
	return -1;
}

static int conv_jpeg(const uint8_t *in, size_t n, const pl_pdfconv_limits_t *l, pl_pdfw_t *w,
		     char *msg, size_t msz)
{
	uint32_t pw, ph;
	int nc;
	double wpt, hpt;
	if (jpeg_frame(in, n, &pw, &ph, &nc) < 0) {
		(void)pl_fmt(msg, msz, "not a JPEG this printer takes (8-bit gray or colour)");
		return -1;
	}
	if ((uint64_t)pw * ph > l->max_page_pixels) {
		(void)pl_fmt(msg, msz, "JPEG of %ux%u pixels is too large", pw, ph);
		return -1;
	}
	pl_pdfconv_fit_a4(pw, ph, &wpt, &hpt);
	if (pl_pdfw_image_page(w, pw, ph, nc, "DCTDecode", 0, in, n, wpt, hpt) < 0) {
		(void)pl_fmt(msg, msz, "PDF too large");
		return -1;
	}
	return 0;
}

/* ---- URF and PWG raster, read by libcups ---- */
typedef struct {
	const uint8_t *p;
	size_t n, pos;
} mem_rd_t;

static ssize_t mem_read(void *ctx, unsigned char *buf, size_t len)
{
	mem_rd_t *m = ctx;
	size_t left = m->n - m->pos, take = len < left ? len : left;
	memcpy(buf, m->p + m->pos, take);
	m->pos += take;
	return (ssize_t)take;
}

/* components and inversion for a header; 0 or -1 */
static int ras_color(const cups_page_header2_t *h, int *nc, int *invert)
{
	*invert = 0;
	if (h->cupsBitsPerColor != 8)
		return -1;
	if (h->cupsBitsPerPixel == 8) {
		*nc = 1;
		if (h->cupsColorSpace == CUPS_CSPACE_K)
			*invert = 1;
		else if (h->cupsColorSpace != CUPS_CSPACE_SW && h->cupsColorSpace != CUPS_CSPACE_W)
			return -1;
		return 0;
	}
	if (h->cupsBitsPerPixel == 24 &&
	    (h->cupsColorSpace == CUPS_CSPACE_SRGB || h->cupsColorSpace == CUPS_CSPACE_RGB ||
	     h->cupsColorSpace == CUPS_CSPACE_ADOBERGB)) {
		*nc = 3;
		return 0;
	}
	return -1;
}

/* Deflate a page's lines as they are read. */
static int ras_page(cups_raster_t *r, const cups_page_header2_t *h, int nc, uint8_t **z,
		    size_t *zlen, uint64_t max_out)
{
	uint8_t *line = malloc(h->cupsBytesPerLine);
	size_t cap = 1 << 16, len = 0;
	uint8_t *out = malloc(cap);
	z_stream s;
	int rc = -1;
	(void)nc;
	memset(&s, 0, sizeof(s));
	if (!line || !out || deflateInit(&s, 6) != Z_OK)
		goto done;
	for (uint32_t y = 0; y <= h->cupsHeight; y++) {
		int last = y == h->cupsHeight;
		if (!last) {
			if (cupsRasterReadPixels(r, line, h->cupsBytesPerLine) != h->cupsBytesPerLine)
				goto end;
			s.next_in = line;
			s.avail_in = h->cupsBytesPerLine;
		}
		for (;;) {
			if (len == cap) {
				if (cap * 2 > max_out)
					goto end;
				uint8_t *nb = realloc(out, cap * 2);
				if (!nb)
					goto end;
				out = nb;
				cap *= 2;
			}
			s.next_out = out + len;
			s.avail_out = (uInt)(cap - len);
			int zr = deflate(&s, last ? Z_FINISH : Z_NO_FLUSH);
			len = cap - s.avail_out;
			if (zr == Z_STREAM_END)
				break;
			if (zr != Z_OK && zr != Z_BUF_ERROR)
				goto end;
			/* a line is done when deflate took it all and had room */
			if (!last && s.avail_in == 0 && s.avail_out > 0)
				break;
		}
	}
	*z = out;
	*zlen = len;
	out = NULL;
	rc = 0;
end:
	deflateEnd(&s);
done:
	free(line);
	free(out);
	return rc;
}

static int conv_raster(const uint8_t *in, size_t n, const pl_pdfconv_limits_t *l, pl_pdfw_t *w,
		       char *msg, size_t msz)
{
	mem_rd_t m = { in, n, 0 };
	cups_page_header2_t h;
	uint32_t pages = 0;
	cups_raster_t *r = cupsRasterOpenIO(mem_read, &m, CUPS_RASTER_READ);
	if (!r) {
		(void)pl_fmt(msg, msz, "not a raster stream");
		return -1;
	}
	int rc = 0;
	while (cupsRasterReadHeader2(r, &h)) {
		int nc, inv;
		uint8_t *z = NULL;
		size_t zlen = 0;
		double wpt, hpt;
		if (++pages > l->max_pages) {
			(void)pl_fmt(msg, msz, "more than %u pages", l->max_pages);
			rc = -1;
			break;
		}
		if (ras_color(&h, &nc, &inv) < 0 || h.cupsWidth == 0 || h.cupsHeight == 0 ||
		    (uint64_t)h.cupsWidth * h.cupsHeight > l->max_page_pixels ||
		    h.cupsBytesPerLine != h.cupsWidth * (uint32_t)nc) {
			(void)pl_fmt(msg, msz, "page %u: %ux%u pixels, %u bits in colour space %d: not taken",
			     pages, h.cupsWidth, h.cupsHeight, h.cupsBitsPerPixel, (int)h.cupsColorSpace);
			rc = -1;
			break;
		}
		uint32_t xdpi = h.HWResolution[0], ydpi = h.HWResolution[1];
		if (xdpi < 36 || ydpi < 36 || xdpi > 4800 || ydpi > 4800) {
			pl_pdfconv_fit_a4(h.cupsWidth, h.cupsHeight, &wpt, &hpt);
		} else {
			wpt = h.cupsWidth * 72.0 / xdpi;
			hpt = h.cupsHeight * 72.0 / ydpi;
		}
		if (ras_page(r, &h, nc, &z, &zlen, l->max_out_bytes) < 0) {
			(void)pl_fmt(msg, msz, "page %u: the raster data is damaged or too large", pages);
			rc = -1;
			break;
		}
		rc = pl_pdfw_image_page(w, h.cupsWidth, h.cupsHeight, nc, "FlateDecode", inv, z, zlen,
					wpt, hpt);
		free(z);
		if (rc < 0) {
			(void)pl_fmt(msg, msz, "PDF too large");
			break;
		}
	}
	cupsRasterClose(r);
	if (rc == 0 && pages == 0) {
		(void)pl_fmt(msg, msz, "no pages in the raster stream");
		rc = -1;
	}
	return rc;
}

int pl_pdfconv_convert(pl_pdfconv_fmt_t fmt, const uint8_t *in, size_t n,
		       const pl_pdfconv_limits_t *lim, uint8_t **out, size_t *out_len,
		       uint32_t *pages, char *msg, size_t msz)
{
	pl_pdfconv_limits_t l;
	pl_pdfconv_default_limits(lim, &l);
	pl_pdfw_t *w = pl_pdfw_new(l.max_out_bytes);
	if (!w) {
		(void)pl_fmt(msg, msz, "out of memory");
		return -1;
	}
	int rc;
	switch (fmt) {
	case PL_PDFCONV_JPEG:
		rc = conv_jpeg(in, n, &l, w, msg, msz);
		break;
	case PL_PDFCONV_PNG:
		rc = pl_pdfconv_png(in, n, &l, w, msg, msz);
		break;
	case PL_PDFCONV_URF:
	case PL_PDFCONV_PWG:
		rc = conv_raster(in, n, &l, w, msg, msz);
		break;
	default:
		(void)pl_fmt(msg, msz, "this format is not converted");
		rc = -1;
	}
	if (rc < 0) {
		pl_pdfw_free(w);
		return -1;
	}
	if (pl_pdfw_finish(w, out, out_len, pages) < 0) {
		(void)pl_fmt(msg, msz, "PDF too large");
		return -1;
	}
	return 0;
}
