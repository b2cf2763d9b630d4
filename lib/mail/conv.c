/* The conversion of a walked message to one PDF with MuPDF. Runs in the
 * jailed child only (pl_mail_conv_child; tests call pl_mail_conv_parts
 * directly): everything here handles hostile documents. The child's own
 * fz_context, its messages to stderr (bounded), never to fd 1: that is
 * the PDF.
 *
 * What becomes pages, in order:
 *   the body (text/plain wrapped, text/html laid out by MuPDF's story
 *   engine with cid: images from the message's own parts only: the story
 *   gets a tree archive holding exactly those parts, so a src of
 *   "/etc/passwd", "../../x" or "file:///x" names no entry and loads
 *   nothing; the jail's Landlock rules would refuse the open anyway);
 *   then each attachment: PDF pages grafted as they are (each page first
 *   run through a bbox device, so a page whose content streams cannot be
 *   decoded within the limits refuses the message rather than reaching a
 *   printer), images one a page fitted to A4, XPS, EPUB (laid out to A4)
 *   and SVG pages fitted to A4. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <mupdf/fitz.h>
#include <mupdf/pdf.h>

#include "mail-private.h"
#include "pl_jail.h"
#include "pl_util.h"

#define A4_W 595.0f
#define A4_H 842.0f
#define MARGIN 36.0f
#define STORE_BYTES (64u << 20)

typedef struct {
	const pl_mail_opts_t *o;
	pl_mail_result_t *r;
	pdf_document *dst;
	unsigned pages;
	int refuse; /* r->reason says why the whole message is refused */
	unsigned msgs; /* MuPDF messages written to stderr */
	const pl_mail_extout_t *ext; /* the external converter's results */
	unsigned n_ext;
} conv_t;

/* MuPDF's warnings and errors: a few bounded lines on stderr. */
static void say(void *user, const char *msg)
{
	conv_t *c = user;
	if (c->msgs++ >= 20)
		return;
	char line[240];
	int n = snprintf(line, sizeof(line), "mupdf: %.200s\n", msg);
	if (n > 0 && write(2, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1) < 0)
		c->msgs = 20;
}

static void refuse(fz_context *ctx, conv_t *c, const char *why)
{
	if (!c->refuse) {
		pl_strlcpy(c->r->reason, why, sizeof(c->r->reason));
		c->refuse = 1;
	}
	fz_throw(ctx, FZ_ERROR_GENERIC, "%s", why);
}

/* One more page may be added, or the message is refused. */
static void need_pages(fz_context *ctx, conv_t *c, unsigned n)
{
	if (n > c->o->max_pages || c->pages > c->o->max_pages - n) {
		char why[96];
		snprintf(why, sizeof(why), "more than %u pages", c->o->max_pages);
		refuse(ctx, c, why);
	}
}

static fz_rect a4(void)
{
	return fz_make_rect(0, 0, A4_W, A4_H);
}

/* A new page of dst drawn by fn. */
typedef void (*draw_fn)(fz_context *ctx, fz_device *dev, void *arg);

static void new_page(fz_context *ctx, conv_t *c, fz_rect mb, draw_fn fn, void *arg)
{
	pdf_obj *res = NULL, *page = NULL;
	fz_buffer *contents = NULL;
	fz_device *dev = NULL;
	need_pages(ctx, c, 1);
	fz_var(res);
	fz_var(page);
	fz_var(contents);
	fz_var(dev);
	fz_try(ctx) {
		dev = pdf_page_write(ctx, c->dst, mb, &res, &contents);
		fn(ctx, dev, arg);
		fz_close_device(ctx, dev);
		page = pdf_add_page(ctx, c->dst, mb, 0, res, contents);
		pdf_insert_page(ctx, c->dst, -1, page);
		c->pages++;
	}
	fz_always(ctx) {
		fz_drop_device(ctx, dev);
		pdf_drop_obj(ctx, page);
		pdf_drop_obj(ctx, res);
		fz_drop_buffer(ctx, contents);
	}
	fz_catch(ctx)
		fz_rethrow(ctx);
}

/* --- stories: text and HTML ------------------------------------------------ */

struct story_arg {
	fz_story *story;
	int more;
};

static void draw_story(fz_context *ctx, fz_device *dev, void *arg)
{
	struct story_arg *s = arg;
	fz_rect where = fz_make_rect(MARGIN, MARGIN, A4_W - MARGIN, A4_H - MARGIN), filled;
	s->more = fz_place_story(ctx, s->story, where, &filled);
	fz_draw_story(ctx, s->story, dev, fz_identity);
}

static void story_pages(fz_context *ctx, conv_t *c, fz_buffer *html, const char *css,
			fz_archive *arch)
{
	struct story_arg s = {NULL, 1};
	s.story = fz_new_story(ctx, html, css, 11, arch);
	fz_try(ctx) {
		while (s.more)
			new_page(ctx, c, a4(), draw_story, &s);
	}
	fz_always(ctx)
		fz_drop_story(ctx, s.story);
	fz_catch(ctx)
		fz_rethrow(ctx);
}

/* The cid: parts, and nothing else, for the HTML's images. MuPDF looks
 * an image up as cleanname(base + "/" + src): "cid:x", "/cid:x" or
 * "./cid:x" depending on the base; all three name the part. */
static fz_archive *cid_archive(fz_context *ctx, const pl_mail_parts_t *ps)
{
	fz_archive *a = fz_new_tree_archive(ctx, NULL);
	fz_try(ctx) {
		for (unsigned i = 0; i < ps->n; i++) {
			const pl_mail_part_t *p = &ps->v[i];
			if (!p->cid[0] || p->kind != PL_MAIL_K_IMAGE)
				continue;
			char name[160];
			snprintf(name, sizeof(name), "cid:%s", p->cid);
			fz_buffer *b = fz_new_buffer_from_shared_data(ctx, p->data, p->len);
			fz_tree_archive_add_buffer(ctx, a, name, b);
			snprintf(name, sizeof(name), "/cid:%s", p->cid);
			fz_tree_archive_add_buffer(ctx, a, name, b);
			fz_drop_buffer(ctx, b);
		}
	}
	fz_catch(ctx) {
		fz_drop_archive(ctx, a);
		fz_rethrow(ctx);
	}
	return a;
}

static void text_part(fz_context *ctx, conv_t *c, const pl_mail_part_t *p)
{
	fz_buffer *html = fz_new_buffer(ctx, p->len + 256);
	fz_try(ctx) {
		fz_append_string(ctx, html, "<html><head><meta charset=\"utf-8\"/></head><body><div>");
		size_t run = 0; /* bytes since the last place a line may break */
		for (size_t i = 0; i < p->len; i++) {
			char ch = (char)p->data[i];
			/* a zero-width space in a long unbroken run (a URL, a hash)
			 * lets the layout break it instead of running off the
			 * page; only between characters, never inside one */
			if (ch == ' ' || ch == '\t' || ch == '\n')
				run = 0;
			else if (++run > 60 && ((unsigned char)ch & 0xc0) != 0x80) {
				fz_append_string(ctx, html, "\xe2\x80\x8b");
				run = 1;
			}
			if (ch == '<')
				fz_append_string(ctx, html, "&lt;");
			else if (ch == '>')
				fz_append_string(ctx, html, "&gt;");
			else if (ch == '&')
				fz_append_string(ctx, html, "&amp;");
			else if (ch == '\r' || ch == 0 || ch == '\f')
				continue;
			else
				fz_append_byte(ctx, html, ch);
		}
		fz_append_string(ctx, html, "</div></body></html>");
		story_pages(ctx, c, html,
			    c->o->monospace ? "div{white-space:pre-wrap;font-family:monospace;font-size:10pt}"
					    : "div{white-space:pre-wrap;font-family:serif;font-size:11pt}",
			    NULL);
	}
	fz_always(ctx)
		fz_drop_buffer(ctx, html);
	fz_catch(ctx)
		fz_rethrow(ctx);
}

/* Where needle (lower case) is in s[0..n), case-insensitively, or NULL. */
static char *find_ci(char *s, size_t n, const char *needle)
{
	size_t l = strlen(needle);
	for (size_t i = 0; i + l <= n; i++)
		if (!strncasecmp(s + i, needle, l))
			return s + i;
	return NULL;
}

/* The walk made the HTML UTF-8. MuPDF re-decodes a document whose
 * <?xml encoding=...?> or <meta http-equiv="Content-Type"
 * content="...; charset=..."> names a single-byte charset, which would
 * turn the UTF-8 into mojibake (a byte order mark does not stop it): the
 * declarations are renamed in place (same length) so it finds none. */
static void defuse_charsets(char *s, size_t n)
{
	char *end = s + n;
	for (char *m = find_ci(s, n, "<meta"); m; m = find_ci(m + 5, (size_t)(end - m - 5), "<meta")) {
		char *gt = memchr(m, '>', (size_t)(end - m));
		size_t tl = gt ? (size_t)(gt - m) : (size_t)(end - m);
		char *c = find_ci(m, tl, "charset=");
		if (c)
			c[5] = 'z'; /* "charzet=" */
	}
	char *gt = memchr(s, '>', n);
	if (gt) {
		char *e = find_ci(s, (size_t)(gt - s), "encoding=");
		if (e)
			e[7] = 'x'; /* "encodixg=" */
	}
}

static void html_part(fz_context *ctx, conv_t *c, const pl_mail_parts_t *ps,
		      const pl_mail_part_t *p)
{
	fz_archive *arch = cid_archive(ctx, ps);
	fz_buffer *html = NULL;
	fz_var(html);
	fz_try(ctx) {
		html = fz_new_buffer_from_copied_data(ctx, p->data, p->len);
		unsigned char *d;
		size_t n = fz_buffer_storage(ctx, html, &d);
		defuse_charsets((char *)d, n);
		story_pages(ctx, c, html, "body{font-size:11pt}", arch);
	}
	fz_always(ctx) {
		fz_drop_buffer(ctx, html);
		fz_drop_archive(ctx, arch);
	}
	fz_catch(ctx)
		fz_rethrow(ctx);
}

/* --- documents: PDF, images, XPS, EPUB, SVG -------------------------------- */

/* The transform that fits r into A4's printable area, centred. */
static fz_matrix fit_a4(fz_rect r)
{
	float w = r.x1 - r.x0, h = r.y1 - r.y0;
	float aw = A4_W - 2 * MARGIN, ah = A4_H - 2 * MARGIN;
	if (w <= 0 || h <= 0)
		return fz_identity;
	float s = aw / w < ah / h ? aw / w : ah / h;
	fz_matrix m = fz_translate(-r.x0, -r.y0);
	m = fz_concat(m, fz_scale(s, s));
	return fz_concat(m, fz_translate((A4_W - w * s) / 2, (A4_H - h * s) / 2));
}

struct page_arg {
	fz_page *page;
	fz_matrix ctm;
};

static void draw_page(fz_context *ctx, fz_device *dev, void *arg)
{
	struct page_arg *a = arg;
	fz_run_page(ctx, a->page, dev, a->ctm, NULL);
}

struct image_arg {
	fz_image *img;
	fz_matrix ctm;
};

static void draw_image(fz_context *ctx, fz_device *dev, void *arg)
{
	struct image_arg *a = arg;
	fz_fill_image(ctx, dev, a->img, a->ctm, 1, fz_default_color_params);
}

static void image_part(fz_context *ctx, conv_t *c, const pl_mail_part_t *p)
{
	fz_buffer *b = fz_new_buffer_from_shared_data(ctx, p->data, p->len);
	struct image_arg a = {NULL, fz_identity};
	fz_var(a.img);
	fz_try(ctx) {
		a.img = fz_new_image_from_buffer(ctx, b);
		if ((uint64_t)a.img->w * (uint64_t)a.img->h > PL_MAIL_PIXELS_MAX)
			refuse(ctx, c, "an image over 64 megapixels");
		int xres, yres;
		fz_image_resolution(a.img, &xres, &yres);
		fz_rect r = fz_make_rect(0, 0, a.img->w * 72.0f / (xres > 0 ? xres : 96),
					 a.img->h * 72.0f / (yres > 0 ? yres : 96));
		/* the image space is the unit square */
		a.ctm = fz_concat(fz_scale(r.x1, r.y1), fit_a4(r));
		new_page(ctx, c, a4(), draw_image, &a);
	}
	fz_always(ctx) {
		fz_drop_image(ctx, a.img);
		fz_drop_buffer(ctx, b);
	}
	fz_catch(ctx)
		fz_rethrow(ctx);
}

/* Run a page through a bbox device: content streams decoded, under the
 * jail's limits, before the page may be copied. */
static void check_page(fz_context *ctx, fz_document *doc, int i)
{
	fz_page *page = fz_load_page(ctx, doc, i);
	fz_rect bbox = fz_empty_rect;
	fz_device *dev = NULL;
	fz_var(dev);
	fz_try(ctx) {
		dev = fz_new_bbox_device(ctx, &bbox);
		fz_run_page(ctx, page, dev, fz_identity, NULL);
		fz_close_device(ctx, dev);
	}
	fz_always(ctx) {
		fz_drop_device(ctx, dev);
		fz_drop_page(ctx, page);
	}
	fz_catch(ctx)
		fz_rethrow(ctx);
}

static void pdf_pages(fz_context *ctx, conv_t *c, fz_document *doc)
{
	pdf_document *src = pdf_specifics(ctx, doc);
	if (!src)
		fz_throw(ctx, FZ_ERROR_GENERIC, "not a PDF");
	int n = pdf_count_pages(ctx, src);
	if (n <= 0)
		fz_throw(ctx, FZ_ERROR_GENERIC, "no pages");
	need_pages(ctx, c, (unsigned)n);
	for (int i = 0; i < n; i++)
		check_page(ctx, doc, i);
	pdf_graft_map *map = pdf_new_graft_map(ctx, c->dst);
	fz_try(ctx) {
		for (int i = 0; i < n; i++) {
			pdf_graft_mapped_page(ctx, map, -1, src, i);
			c->pages++;
		}
	}
	fz_always(ctx)
		pdf_drop_graft_map(ctx, map);
	fz_catch(ctx)
		fz_rethrow(ctx);
}

static void other_pages(fz_context *ctx, conv_t *c, fz_document *doc)
{
	int n = fz_count_pages(ctx, doc);
	if (n <= 0)
		fz_throw(ctx, FZ_ERROR_GENERIC, "no pages");
	need_pages(ctx, c, (unsigned)n);
	for (int i = 0; i < n; i++) {
		struct page_arg a = {fz_load_page(ctx, doc, i), fz_identity};
		fz_try(ctx) {
			a.ctm = fit_a4(fz_bound_page(ctx, a.page));
			new_page(ctx, c, a4(), draw_page, &a);
		}
		fz_always(ctx)
			fz_drop_page(ctx, a.page);
		fz_catch(ctx)
			fz_rethrow(ctx);
	}
}

static void doc_part(fz_context *ctx, conv_t *c, const pl_mail_part_t *p)
{
	const char *magic = pl_mail_kind_magic(p->kind, p->data, p->len);
	fz_stream *stm = fz_open_memory(ctx, p->data, p->len);
	fz_document *doc = NULL;
	fz_var(doc);
	fz_try(ctx) {
		doc = fz_open_document_with_stream(ctx, magic, stm);
		if (fz_needs_password(ctx, doc))
			fz_throw(ctx, FZ_ERROR_GENERIC, "encrypted");
		if (p->kind == PL_MAIL_K_EPUB)
			fz_layout_document(ctx, doc, A4_W - 2 * MARGIN, A4_H - 2 * MARGIN, 11);
		if (p->kind == PL_MAIL_K_PDF)
			pdf_pages(ctx, c, doc);
		else
			other_pages(ctx, c, doc);
	}
	fz_always(ctx) {
		fz_drop_document(ctx, doc);
		fz_drop_stream(ctx, stm);
	}
	fz_catch(ctx)
		fz_rethrow(ctx);
}

/* --- the message ------------------------------------------------------------ */

static int blank(const pl_mail_part_t *p)
{
	for (size_t i = 0; i < p->len; i++)
		if (p->data[i] != ' ' && p->data[i] != '\t' && p->data[i] != '\r' && p->data[i] != '\n')
			return 0;
	return 1;
}

static void note_skipped(conv_t *c, const pl_mail_part_t *p, const char *why)
{
	size_t l = strlen(c->r->skipped);
	char item[512];
	snprintf(item, sizeof(item), "%s%s (%s: %.60s)", l ? "; " : "",
		 p->name[0] ? p->name : "unnamed", p->type, why);
	if (l + strlen(item) < sizeof(c->r->skipped))
		memcpy(c->r->skipped + l, item, strlen(item) + 1);
}

/* A part the external converter had: its PDF (never trusted: opened like
 * any PDF attachment), or the reason it has none. */
static void ext_part(fz_context *ctx, conv_t *c, const pl_mail_parts_t *ps,
		     const pl_mail_part_t *p)
{
	unsigned idx = (unsigned)(p - ps->v);
	for (unsigned i = 0; i < c->n_ext; i++) {
		const pl_mail_extout_t *x = &c->ext[i];
		if (x->part != idx)
			continue;
		if (!x->pdf)
			fz_throw(ctx, FZ_ERROR_GENERIC, "%s", x->why);
		pl_mail_part_t q = *p;
		q.kind = PL_MAIL_K_PDF;
		q.data = (uint8_t *)(uintptr_t)x->pdf;
		q.len = x->len;
		doc_part(ctx, c, &q);
		return;
	}
	fz_throw(ctx, FZ_ERROR_GENERIC, "not converted by the external converter");
}

static void one_part(fz_context *ctx, conv_t *c, const pl_mail_parts_t *ps,
		     const pl_mail_part_t *p)
{
	switch (p->kind) {
	case PL_MAIL_K_EXT: ext_part(ctx, c, ps, p); break;
	case PL_MAIL_K_TEXT: text_part(ctx, c, p); break;
	case PL_MAIL_K_HTML: html_part(ctx, c, ps, p); break;
	case PL_MAIL_K_IMAGE: image_part(ctx, c, p); break;
	default: doc_part(ctx, c, p); break;
	}
}

/* A part that MuPDF cannot read is skipped and named; a bound, or memory
 * running out, refuses the whole message. 0 or -1 (refused). */
static int convert_one(fz_context *ctx, conv_t *c, const pl_mail_parts_t *ps,
		       const pl_mail_part_t *p)
{
	fz_try(ctx)
		one_part(ctx, c, ps, p);
	fz_catch(ctx) {
		if (c->refuse)
			return -1;
		if (fz_caught(ctx) == FZ_ERROR_MEMORY) {
			pl_strlcpy(c->r->reason, "out of memory converting a part (memory limit)",
				   sizeof(c->r->reason));
			c->refuse = 1;
			return -1;
		}
		if (p->role == PL_MAIL_R_BODY) {
			snprintf(c->r->reason, sizeof(c->r->reason), "the body cannot be converted: %.150s",
				 fz_caught_message(ctx));
			c->refuse = 1;
			return -1;
		}
		note_skipped(c, p, fz_caught_message(ctx));
		return 0;
	}
	c->r->parts++;
	return 0;
}

static int convert_all(fz_context *ctx, conv_t *c, const pl_mail_parts_t *ps)
{
	/* body first, then attachments in order */
	for (int pass = 0; pass < 2; pass++) {
		for (unsigned i = 0; i < ps->n; i++) {
			const pl_mail_part_t *p = &ps->v[i];
			if (pass == 0 && (p->role != PL_MAIL_R_BODY || !c->o->body || blank(p)))
				continue;
			if (pass == 1 && p->role != PL_MAIL_R_ATTACH)
				continue;
			if (convert_one(ctx, c, ps, p) < 0)
				return -1;
		}
	}
	if (c->pages == 0) {
		pl_strlcpy(c->r->reason, "nothing printable", sizeof(c->r->reason));
		c->refuse = 1;
		return -1;
	}
	return 0;
}

static int write_pdf(fz_context *ctx, conv_t *c, uint8_t **pdf, size_t *pdf_len)
{
	fz_buffer *buf = NULL;
	fz_output *out = NULL;
	int rc = 0;
	fz_var(buf);
	fz_var(out);
	fz_try(ctx) {
		buf = fz_new_buffer(ctx, 64 * 1024);
		out = fz_new_output_with_buffer(ctx, buf);
		pdf_write_options opts = pdf_default_write_options;
		opts.do_compress = 1;
		pdf_write_document(ctx, c->dst, out, &opts);
		fz_close_output(ctx, out);
		c->r->pages = (unsigned)pdf_count_pages(ctx, c->dst);
		unsigned char *data;
		size_t n = fz_buffer_storage(ctx, buf, &data);
		*pdf = malloc(n ? n : 1);
		if (!*pdf)
			fz_throw(ctx, FZ_ERROR_MEMORY, "out of memory");
		memcpy(*pdf, data, n);
		*pdf_len = n;
	}
	fz_always(ctx) {
		fz_drop_output(ctx, out);
		fz_drop_buffer(ctx, buf);
	}
	fz_catch(ctx) {
		snprintf(c->r->reason, sizeof(c->r->reason), "writing the PDF: %.150s",
			 fz_caught_message(ctx));
		rc = -1;
	}
	return rc;
}

int pl_mail_conv_parts(const pl_mail_parts_t *ps, const pl_mail_opts_t *o,
		       uint8_t **pdf, size_t *pdf_len, pl_mail_result_t *r)
{
	return pl_mail_conv_parts_ext(ps, o, NULL, 0, pdf, pdf_len, r);
}

int pl_mail_conv_parts_ext(const pl_mail_parts_t *ps, const pl_mail_opts_t *o,
			   const pl_mail_extout_t *ext, unsigned n_ext, uint8_t **pdf,
			   size_t *pdf_len, pl_mail_result_t *r)
{
	memset(r, 0, sizeof(*r));
	pl_strlcpy(r->skipped, ps->skipped, sizeof(r->skipped));
	*pdf = NULL;
	*pdf_len = 0;
	conv_t c = {.o = o, .r = r, .ext = ext, .n_ext = n_ext};
	fz_context *ctx = fz_new_context(NULL, NULL, STORE_BYTES);
	if (!ctx) {
		pl_strlcpy(r->reason, "out of memory (memory limit)", sizeof(r->reason));
		return PL_MAIL_EREJECT;
	}
	fz_set_warning_callback(ctx, say, &c);
	fz_set_error_callback(ctx, say, &c);
	int rc = 0;
	fz_try(ctx) {
		fz_register_document_handlers(ctx);
		c.dst = pdf_create_document(ctx);
	}
	fz_catch(ctx) {
		pl_strlcpy(r->reason, "out of memory (memory limit)", sizeof(r->reason));
		rc = PL_MAIL_EREJECT;
	}
	if (rc == 0 && convert_all(ctx, &c, ps) < 0)
		rc = PL_MAIL_EREJECT;
	if (rc == 0 && write_pdf(ctx, &c, pdf, pdf_len) < 0)
		rc = PL_MAIL_EREJECT;
	pdf_drop_document(ctx, c.dst);
	fz_drop_context(ctx);
	if (rc != 0) {
		free(*pdf);
		*pdf = NULL;
		*pdf_len = 0;
		r->pages = 0;
	}
	return rc;
}

/* --- the jailed child ------------------------------------------------------- */

static int read_all(int fd, uint64_t max, uint8_t **buf, size_t *len)
{
	size_t cap = 64 * 1024, n = 0;
	uint8_t *b = malloc(cap);
	if (!b)
		return -1;
	for (;;) {
		if (n == cap) {
			if (cap > max + 1) {
				break;
			}
			uint8_t *nb = realloc(b, cap * 2);
			if (!nb) {
				free(b);
				return -1;
			}
			b = nb;
			cap *= 2;
		}
		ssize_t r = read(fd, b + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			free(b);
			return -2;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	*buf = b;
	*len = n;
	return 0;
}

/* The extract pass: each EXT part as a record, then the end record. */
static int write_ext_parts(int out, const pl_mail_parts_t *ps)
{
	pl_mail_xrec_t x;
	for (unsigned i = 0; i <= ps->n; i++) {
		if (i < ps->n && ps->v[i].kind != PL_MAIL_K_EXT)
			continue;
		memset(&x, 0, sizeof(x));
		memcpy(x.magic, PL_MAIL_XREC_MAGIC, 8);
		x.part = i < ps->n ? i : UINT32_MAX;
		if (i < ps->n) {
			x.len = ps->v[i].len;
			pl_strlcpy(x.type, ps->v[i].type, sizeof(x.type));
			pl_strlcpy(x.name, ps->v[i].name, sizeof(x.name));
		}
		if (pl_write_all(out, &x, sizeof(x)) < 0 ||
		    (x.len && pl_write_all(out, ps->v[i].data, ps->v[i].len) < 0))
			return errno == EFBIG ? PL_JAIL_EXIT_TOOBIG : 1;
	}
	return 0;
}

int pl_mail_conv_child(int in, int out, void *arg)
{
	const pl_mail_job_t *job = arg;
	const pl_mail_opts_t *o = job->o;
	pl_mail_trailer_t t;
	memset(&t, 0, sizeof(t));
	memcpy(t.magic, PL_MAIL_TRAILER_MAGIC, 8);
	uint8_t *msg = NULL, *pdf = NULL;
	size_t len = 0, pdf_len = 0;
	int rc = read_all(in, o->max_message_bytes, &msg, &len);
	if (rc == -1)
		return PL_JAIL_EXIT_NOMEM;
	if (rc < 0)
		return 1;
	pl_mail_parts_t *ps = calloc(1, sizeof(*ps));
	pl_mail_result_t *r = calloc(1, sizeof(*r));
	if (!ps || !r)
		return PL_JAIL_EXIT_NOMEM;
	rc = pl_mail_walk(msg, len, o, ps);
	if (rc == -1)
		return PL_JAIL_EXIT_NOMEM;
	free(msg);
	if (job->extract) /* a refused message has nothing to extract */
		return rc == 0 ? write_ext_parts(out, ps) : 0;
	if (rc == PL_MAIL_EREJECT)
		pl_strlcpy(r->reason, ps->reason, sizeof(r->reason));
	else
		rc = pl_mail_conv_parts_ext(ps, o, job->ext, job->n_ext, &pdf, &pdf_len, r);
	pl_mail_parts_free(ps);
	t.status = rc == 0 ? 0 : 1;
	t.pages = r->pages;
	t.parts = r->parts;
	t.pdf_len = pdf_len;
	pl_strlcpy(t.skipped, r->skipped, sizeof(t.skipped));
	pl_strlcpy(t.reason, r->reason, sizeof(t.reason));
	if ((pdf_len && pl_write_all(out, pdf, pdf_len) < 0) ||
	    pl_write_all(out, &t, sizeof(t)) < 0)
		return errno == EFBIG ? PL_JAIL_EXIT_TOOBIG : 1;
	return 0;
}
