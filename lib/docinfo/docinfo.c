/* pl_docinfo: format sniffing, the stream's dispatch to the scanner of
 * its format, page size names, and the PostScript DSC scanner (small
 * enough to live here). PDF is docinfo-pdf.c, the rasters docinfo-raster.c. */
#include "docinfo-private.h"

#include <stdio.h>
#include <string.h>

const char *pl_docinfo_mime(pl_doc_format_t f)
{
	switch (f) {
	case PL_DOC_PDF: return "application/pdf";
	case PL_DOC_PS: return "application/postscript";
	case PL_DOC_PCL: return "application/vnd.hp-pcl";
	case PL_DOC_PWG: return "image/pwg-raster";
	case PL_DOC_URF: return "image/urf";
	case PL_DOC_JPEG: return "image/jpeg";
	case PL_DOC_PNG: return "image/png";
	case PL_DOC_TEXT: return "text/plain";
	default: return "application/octet-stream";
	}
}

static int starts(const uint8_t *p, size_t n, const char *sig, size_t len)
{
	return n >= len && memcmp(p, sig, len) == 0;
}

/* Length of the UTF-8 sequence at p (1..4), 0 when invalid; a sequence
 * cut by the end of the head counts as valid (the head is a prefix). */
static size_t utf8_len(const uint8_t *p, size_t n)
{
	size_t len = p[0] < 0xc2 ? 0 : p[0] < 0xe0 ? 2 : p[0] < 0xf0 ? 3
		   : p[0] < 0xf5 ? 4 : 0;
	for (size_t i = 1; i < len; i++) {
		if (i >= n)
			return n;
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	}
	return len;
}

/* Text: printable ASCII, tab, newlines, form feed, UTF-8; no control
 * bytes (ESC means PCL, NUL means binary). */
static int is_text(const uint8_t *p, size_t n)
{
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n;) {
		if (p[i] >= 0x80) {
			size_t len = utf8_len(p + i, n - i);
			if (len == 0)
				return 0;
			i += len;
			continue;
		}
		if (p[i] == 0 || (p[i] < 0x20 && !strchr("\t\n\r\f", p[i])))
			return 0;
		if (p[i] == 0x7f)
			return 0;
		i++;
	}
	return 1;
}

pl_doc_format_t pl_docinfo_sniff(const void *data, size_t n)
{
	const uint8_t *p = data;

	if (starts(p, n, "%PDF-", 5))
		return PL_DOC_PDF;
	if (starts(p, n, "%!", 2) || starts(p, n, "\x04%!", 3))
		return PL_DOC_PS;
	if (starts(p, n, "RaS2", 4))
		return PL_DOC_PWG;
	if (starts(p, n, "UNIRAST", 8)) /* with its NUL */
		return PL_DOC_URF;
	if (starts(p, n, "\xff\xd8\xff", 3))
		return PL_DOC_JPEG;
	if (starts(p, n, "\x89PNG\r\n\x1a\n", 8))
		return PL_DOC_PNG;
	/* PJL's universal exit language, a bare PJL line, PCL's reset, or
	 * a PCL XL stream's header (either byte order). */
	if (starts(p, n, "\x1b%-12345X", 9) || starts(p, n, "@PJL", 4) ||
	    starts(p, n, "\x1b" "E", 2) || starts(p, n, ") HP-PCL XL;", 12) ||
	    starts(p, n, "( HP-PCL XL;", 12))
		return PL_DOC_PCL;
	return is_text(p, n) ? PL_DOC_TEXT : PL_DOC_UNKNOWN;
}

void pl_docinfo_size_name(uint32_t w, uint32_t h, char *buf, size_t sz)
{
	static const struct { const char *name; uint32_t w, h; } sizes[] = {
		{ "A4", 2100, 2970 }, { "Letter", 2159, 2794 },
		{ "A3", 2970, 4200 }, { "A5", 1480, 2100 },
		{ "Legal", 2159, 3556 },
	};
	uint32_t lo = w < h ? w : h, hi = w < h ? h : w;

	/* Either orientation; 2 mm of slack for rounding to points. */
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		if (lo + 20 >= sizes[i].w && lo <= sizes[i].w + 20 &&
		    hi + 20 >= sizes[i].h && hi <= sizes[i].h + 20) {
			snprintf(buf, sz, "%s", sizes[i].name);
			return;
		}
	snprintf(buf, sz, "%ux%u mm", (w + 5) / 10, (h + 5) / 10);
}

void pl_docinfo_init(pl_docinfo_t *d)
{
	memset(d, 0, sizeof(*d));
}

static void feed_format(pl_docinfo_t *d, const uint8_t *p, size_t n)
{
	switch (d->format) {
	case PL_DOC_PDF: pl_docinfo_pdf_feed(&d->u.pdf, p, n); break;
	case PL_DOC_PS: pl_docinfo_ps_feed(&d->u.ps, p, n); break;
	case PL_DOC_PWG:
	case PL_DOC_URF: pl_docinfo_ras_feed(&d->u.ras, p, n); break;
	case PL_DOC_PCL: pl_docinfo_pcl_feed(&d->u.pcl, p, n); break;
	default: break;
	}
}

/* The format is known: start its scanner on the head collected so far
 * (the rasters' scanners start after their magic). */
static void decide(pl_docinfo_t *d)
{
	size_t skip = 0;

	d->decided = 1;
	d->format = pl_docinfo_sniff(d->head, d->hlen);
	if (d->format == PL_DOC_PWG || d->format == PL_DOC_URF) {
		pl_docinfo_ras_init(&d->u.ras, d->format == PL_DOC_URF);
		skip = d->format == PL_DOC_URF ? 8 : 4;
	} else if (d->format == PL_DOC_PCL) {
		pl_docinfo_pcl_init(&d->u.pcl);
	}
	feed_format(d, d->head + skip, d->hlen - skip);
}

void pl_docinfo_feed(pl_docinfo_t *d, const void *data, size_t n)
{
	const uint8_t *p = data;

	d->total += n;
	if (!d->decided) {
		size_t take = sizeof(d->head) - d->hlen;
		if (take > n)
			take = n;
		memcpy(d->head + d->hlen, p, take);
		d->hlen += take;
		p += take;
		n -= take;
		if (d->hlen < sizeof(d->head))
			return;
		decide(d);
	}
	feed_format(d, p, n);
}

void pl_docinfo_result(pl_docinfo_t *d, pl_docinfo_result_t *out)
{
	memset(out, 0, sizeof(*out));
	if (!d->decided)
		decide(d);
	out->format = d->format;
	out->mime = pl_docinfo_mime(d->format);
	switch (d->format) {
	case PL_DOC_PDF: pl_docinfo_pdf_result(&d->u.pdf, out); break;
	case PL_DOC_PS: pl_docinfo_ps_result(&d->u.ps, out); break;
	case PL_DOC_PWG:
	case PL_DOC_URF: pl_docinfo_ras_result(&d->u.ras, out); break;
	case PL_DOC_PCL: pl_docinfo_pcl_result(&d->u.pcl, out); break;
	case PL_DOC_JPEG:
	case PL_DOC_PNG: out->pages = 1; break;
	default: break;
	}
	if (out->pages > PL_DOCINFO_PAGES_MAX)
		out->pages = PL_PAGES_UNKNOWN;
}

/* ---- PostScript: DSC comments, one line at a time ---- */

/* The number after a DSC keyword, or -1 ("(atend)", garbage). */
static int64_t dsc_number(const char *s)
{
	int64_t v = 0;
	int digits = 0;

	while (*s == ' ' || *s == '\t')
		s++;
	for (; *s >= '0' && *s <= '9' && digits < 10; s++, digits++)
		v = v * 10 + (*s - '0');
	return digits && (*s == '\0' || *s == ' ' || *s == '\t') ? v : -1;
}

static void ps_line(pl_docinfo_ps_t *s)
{
	const char *l = s->line;

	if (strncmp(l, "%%BeginDocument", 15) == 0)
		s->nested++;
	else if (strncmp(l, "%%EndDocument", 13) == 0 && s->nested > 0)
		s->nested--;
	if (s->nested)
		return; /* an embedded EPS counts its own pages */
	if (strncmp(l, "%%Pages:", 8) == 0) {
		int64_t v = dsc_number(l + 8);
		if (v < 0 && strstr(l + 8, "(atend)") && !s->have_pages)
			s->pages_atend = 1;
		/* The first figure, unless the header deferred to the trailer
		 * (then the last one, which is the trailer's). */
		if (v >= 0 && (!s->have_pages || s->pages_atend)) {
			s->pages = v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
			s->have_pages = 1;
		}
	} else if (strncmp(l, "%%Page:", 7) == 0 && s->page_marks < UINT32_MAX) {
		s->page_marks++;
	}
}

void pl_docinfo_ps_feed(pl_docinfo_ps_t *s, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\n' || p[i] == '\r') {
			s->line[s->len] = '\0';
			if (s->len >= 2)
				ps_line(s);
			s->len = 0;
			s->skip_line = 0;
			continue;
		}
		/* Only DSC lines matter, and only their start. */
		if (s->skip_line || (s->len == 0 && p[i] != '%') ||
		    (s->len == 1 && p[i] != '%')) {
			s->skip_line = 1;
			continue;
		}
		if (s->len < sizeof(s->line) - 1)
			s->line[s->len++] = (char)p[i];
	}
}

void pl_docinfo_ps_result(pl_docinfo_ps_t *s, pl_docinfo_result_t *out)
{
	if (s->len >= 2 && !s->skip_line) { /* a last line without newline */
		s->line[s->len] = '\0';
		ps_line(s);
		s->len = 0;
	}
	out->pages = s->have_pages ? s->pages : s->page_marks;
}
