/* lib/mail: header parsing (addresses, RFC 2047, Authentication-
 * Results), the MIME walk and its bounds, and the conversion to PDF in
 * the jailed child. Every message is built here; every PDF the
 * converter writes is opened again with MuPDF and its pages counted.
 * Images of each type are made here too (PNG by MuPDF, JPEG by libjpeg,
 * TIFF, GIF and BMP byte by byte), so no decoder checks itself. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jpeglib.h>
#include <mupdf/fitz.h>
#include <mupdf/pdf.h>
#include <zlib.h>

#include "mail-private.h"
#include "pl_mail.h"
#include "pl_sandbox.h"

/* The memory-limit test needs a failed allocation in the child to return
 * NULL (MuPDF then throws, and the message is refused with that reason),
 * as in a normal build, rather than end the child with an ASan report. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "allocator_may_return_null=1";
}

/* ---- building messages ------------------------------------------------- */

typedef struct {
	char *p;
	size_t len, cap;
} sbuf_t;

static void sadd(sbuf_t *b, const void *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->p = realloc(b->p, b->cap);
		assert_non_null(b->p);
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
}

static void sfmt(sbuf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sfmt(sbuf_t *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	assert_true(n >= 0);
	sadd(b, s, (size_t)n);
	free(s);
}

static void sb64(sbuf_t *b, const uint8_t *d, size_t n)
{
	static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t col = 0;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)d[i] << 16 | (i + 1 < n ? (uint32_t)d[i + 1] << 8 : 0) |
			     (i + 2 < n ? d[i + 2] : 0);
		char q[4] = {t[v >> 18], t[(v >> 12) & 63], i + 1 < n ? t[(v >> 6) & 63] : '=',
			     i + 2 < n ? t[v & 63] : '='};
		sadd(b, q, 4);
		if ((col += 4) >= 76) {
			sadd(b, "\r\n", 2);
			col = 0;
		}
	}
	sadd(b, "\r\n", 2);
}

static const char *HEAD = "From: Alice <alice@example.com>\r\nTo: print@example.com\r\n"
			  "Subject: test\r\nMessage-ID: <1@example.com>\r\nMIME-Version: 1.0\r\n";

/* A multipart/mixed message: text body, then attachments (type, name, data). */
typedef struct {
	const char *type, *name;
	const uint8_t *data;
	size_t len;
} att_t;

static char *mixed(const char *body, const att_t *a, unsigned n, size_t *len)
{
	sbuf_t b = {0};
	sfmt(&b, "%sContent-Type: multipart/mixed; boundary=\"BOUND\"\r\n\r\npreamble\r\n", HEAD);
	if (body)
		sfmt(&b, "--BOUND\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n", body);
	for (unsigned i = 0; i < n; i++) {
		sfmt(&b, "--BOUND\r\nContent-Type: %s; name=\"%s\"\r\nContent-Disposition: attachment; "
			 "filename=\"%s\"\r\nContent-Transfer-Encoding: base64\r\n\r\n",
		     a[i].type, a[i].name, a[i].name);
		sb64(&b, a[i].data, a[i].len);
	}
	sfmt(&b, "--BOUND--\r\nepilogue\r\n");
	*len = b.len;
	return b.p;
}

/* ---- documents made here ------------------------------------------------- */

static uint8_t *make_pdf(int pages, size_t *len)
{
	fz_context *ctx = fz_new_context(NULL, NULL, FZ_STORE_DEFAULT);
	pdf_document *doc = pdf_create_document(ctx);
	for (int i = 0; i < pages; i++) {
		fz_rect mb = fz_make_rect(0, 0, 612, 792);
		pdf_obj *res = NULL;
		fz_buffer *contents = NULL;
		fz_device *dev = pdf_page_write(ctx, doc, mb, &res, &contents);
		fz_path *path = fz_new_path(ctx);
		fz_rectto(ctx, path, 100, 100, 200, 200);
		float black = 0;
		fz_fill_path(ctx, dev, path, 0, fz_identity, fz_device_gray(ctx), &black, 1,
			     fz_default_color_params);
		fz_drop_path(ctx, path);
		fz_close_device(ctx, dev);
		fz_drop_device(ctx, dev);
		pdf_obj *page = pdf_add_page(ctx, doc, mb, 0, res, contents);
		pdf_insert_page(ctx, doc, -1, page);
		pdf_drop_obj(ctx, page);
		pdf_drop_obj(ctx, res);
		fz_drop_buffer(ctx, contents);
	}
	fz_buffer *buf = fz_new_buffer(ctx, 4096);
	fz_output *out = fz_new_output_with_buffer(ctx, buf);
	pdf_write_document(ctx, doc, out, NULL);
	fz_close_output(ctx, out);
	fz_drop_output(ctx, out);
	unsigned char *d;
	*len = fz_buffer_storage(ctx, buf, &d);
	uint8_t *r = malloc(*len);
	memcpy(r, d, *len);
	fz_drop_buffer(ctx, buf);
	pdf_drop_document(ctx, doc);
	fz_drop_context(ctx);
	return r;
}

static uint8_t *make_png(int w, int h, size_t *len)
{
	fz_context *ctx = fz_new_context(NULL, NULL, FZ_STORE_DEFAULT);
	fz_pixmap *pix = fz_new_pixmap(ctx, w > 1000 ? fz_device_gray(ctx) : fz_device_rgb(ctx),
				       w, h, NULL, 0);
	fz_clear_pixmap_with_value(ctx, pix, 0x80);
	fz_buffer *buf = fz_new_buffer_from_pixmap_as_png(ctx, pix, fz_default_color_params);
	unsigned char *d;
	*len = fz_buffer_storage(ctx, buf, &d);
	uint8_t *r = malloc(*len);
	memcpy(r, d, *len);
	fz_drop_buffer(ctx, buf);
	fz_drop_pixmap(ctx, pix);
	fz_drop_context(ctx);
	return r;
}

static uint8_t *make_jpeg(size_t *len)
{
	struct jpeg_compress_struct c;
	struct jpeg_error_mgr e;
	unsigned char *out = NULL;
	unsigned long n = 0;
	c.err = jpeg_std_error(&e);
	jpeg_create_compress(&c);
	jpeg_mem_dest(&c, &out, &n);
	c.image_width = 16;
	c.image_height = 8;
	c.input_components = 3;
	c.in_color_space = JCS_RGB;
	jpeg_set_defaults(&c);
	jpeg_start_compress(&c, TRUE);
	unsigned char row[16 * 3];
	memset(row, 0x40, sizeof(row));
	while (c.next_scanline < c.image_height) {
		JSAMPROW r = row;
		jpeg_write_scanlines(&c, &r, 1);
	}
	jpeg_finish_compress(&c);
	jpeg_destroy_compress(&c);
	*len = n;
	return out;
}

static void le16(uint8_t *p, unsigned v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void le32(uint8_t *p, uint32_t v) { le16(p, v & 0xffff); le16(p + 2, v >> 16); }

static uint8_t *make_bmp(size_t *len)
{
	/* 2x2, 24 bits, rows padded to 4 bytes */
	*len = 54 + 2 * 8;
	uint8_t *b = calloc(1, *len);
	b[0] = 'B';
	b[1] = 'M';
	le32(b + 2, (uint32_t)*len);
	le32(b + 10, 54);
	le32(b + 14, 40);
	le32(b + 18, 2);
	le32(b + 22, 2);
	le16(b + 26, 1);
	le16(b + 28, 24);
	le32(b + 34, 16);
	memset(b + 54, 0x7f, 16);
	return b;
}

static uint8_t *make_tiff(size_t *len)
{
	/* 1x1 8-bit grey, uncompressed, little-endian */
	static const uint16_t tags[8][2] = {{256, 1}, {257, 1}, {258, 8}, {259, 1},
					    {262, 1}, {273, 110}, {278, 1}, {279, 1}};
	*len = 111;
	uint8_t *b = calloc(1, *len);
	memcpy(b, "II*\0", 4);
	le32(b + 4, 8);
	le16(b + 8, 8);
	for (int i = 0; i < 8; i++) {
		uint8_t *e = b + 10 + 12 * i;
		le16(e, tags[i][0]);
		le16(e + 2, 3); /* SHORT */
		le32(e + 4, 1);
		le16(e + 8, tags[i][1]);
	}
	le32(b + 10 + 96, 0);
	b[110] = 0x80;
	return b;
}

/* A zip of (name, text) entries, stored (not deflated) when store. */
static uint8_t *make_zip(const char *const (*e)[2], int n, int store, size_t *len)
{
	fz_context *ctx = fz_new_context(NULL, NULL, FZ_STORE_DEFAULT);
	fz_buffer *buf = fz_new_buffer(ctx, 4096);
	fz_output *out = fz_new_output_with_buffer(ctx, buf);
	fz_zip_writer *z = fz_new_zip_writer_with_output(ctx, out);
	for (int i = 0; i < n; i++) {
		fz_buffer *b = fz_new_buffer_from_copied_data(ctx, (const unsigned char *)e[i][1],
							       strlen(e[i][1]));
		fz_write_zip_entry(ctx, z, e[i][0], b, !store);
		fz_drop_buffer(ctx, b);
	}
	fz_close_zip_writer(ctx, z);
	fz_drop_zip_writer(ctx, z);
	unsigned char *d;
	*len = fz_buffer_storage(ctx, buf, &d);
	uint8_t *r = malloc(*len);
	memcpy(r, d, *len);
	fz_drop_buffer(ctx, buf);
	fz_drop_context(ctx);
	return r;
}

static uint8_t *make_epub(size_t *len)
{
	static const char *const e[][2] = {
		{"mimetype", "application/epub+zip"},
		{"META-INF/container.xml",
		 "<?xml version=\"1.0\"?><container version=\"1.0\" "
		 "xmlns=\"urn:oasis:names:tc:opendocument:xmlns:container\"><rootfiles>"
		 "<rootfile full-path=\"content.opf\" media-type=\"application/oebps-package+xml\"/>"
		 "</rootfiles></container>"},
		{"content.opf",
		 "<?xml version=\"1.0\"?><package xmlns=\"http://www.idpf.org/2007/opf\" version=\"2.0\">"
		 "<metadata/><manifest><item id=\"c1\" href=\"c1.xhtml\" media-type=\"application/xhtml+xml\"/>"
		 "</manifest><spine><itemref idref=\"c1\"/></spine></package>"},
		{"c1.xhtml",
		 "<html xmlns=\"http://www.w3.org/1999/xhtml\"><body><h1>epubchapter</h1><p>text</p></body></html>"},
	};
	return make_zip(e, 4, 1, len);
}

static uint8_t *make_xps(size_t *len)
{
	static const char *const e[][2] = {
		{"[Content_Types].xml",
		 "<?xml version=\"1.0\"?><Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">"
		 "<Default Extension=\"fdseq\" ContentType=\"application/vnd.ms-package.xps-fixeddocumentsequence+xml\"/>"
		 "<Default Extension=\"fdoc\" ContentType=\"application/vnd.ms-package.xps-fixeddocument+xml\"/>"
		 "<Default Extension=\"fpage\" ContentType=\"application/vnd.ms-package.xps-fixedpage+xml\"/>"
		 "<Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/>"
		 "</Types>"},
		{"_rels/.rels",
		 "<?xml version=\"1.0\"?><Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
		 "<Relationship Type=\"http://schemas.microsoft.com/xps/2005/06/fixedrepresentation\" "
		 "Target=\"/FixedDocSeq.fdseq\" Id=\"R0\"/></Relationships>"},
		{"FixedDocSeq.fdseq",
		 "<FixedDocumentSequence xmlns=\"http://schemas.microsoft.com/xps/2005/06\">"
		 "<DocumentReference Source=\"/Doc.fdoc\"/></FixedDocumentSequence>"},
		{"Doc.fdoc",
		 "<FixedDocument xmlns=\"http://schemas.microsoft.com/xps/2005/06\">"
		 "<PageContent Source=\"/P1.fpage\"/><PageContent Source=\"/P2.fpage\"/></FixedDocument>"},
		{"P1.fpage",
		 "<FixedPage xmlns=\"http://schemas.microsoft.com/xps/2005/06\" Width=\"816\" Height=\"1056\">"
		 "<Path Data=\"M 10,10 L 200,10 L 200,200 Z\" Fill=\"#FF000000\"/></FixedPage>"},
		{"P2.fpage",
		 "<FixedPage xmlns=\"http://schemas.microsoft.com/xps/2005/06\" Width=\"816\" Height=\"1056\">"
		 "<Path Data=\"M 10,10 L 100,10 L 100,100 Z\" Fill=\"#FF000000\"/></FixedPage>"},
	};
	return make_zip(e, 6, 0, len);
}

static const uint8_t GIF[] = "GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\x00\x00\x00\x00\x00"
			     ",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02\x44\x01\x00;";

/* ---- running the converter ----------------------------------------------- */

typedef struct {
	int rc;
	pl_mail_result_t r;
	int pages;        /* counted by opening the PDF, -1 when none */
	char *text;       /* the PDF's text */
	int images;       /* "/Subtype/Image" objects in the PDF */
} conv_out_t;

static void pdf_check(const uint8_t *d, size_t n, conv_out_t *c)
{
	fz_context *ctx = fz_new_context(NULL, NULL, FZ_STORE_DEFAULT);
	fz_register_document_handlers(ctx);
	fz_stream *stm = fz_open_memory(ctx, d, n);
	fz_document *doc = fz_open_document_with_stream(ctx, "application/pdf", stm);
	c->pages = fz_count_pages(ctx, doc);
	sbuf_t t = {0};
	sadd(&t, "", 0);
	for (int i = 0; i < c->pages; i++) {
		fz_buffer *b = fz_new_buffer_from_page_number(ctx, doc, i, NULL);
		unsigned char *s;
		size_t l = fz_buffer_storage(ctx, b, &s);
		sadd(&t, s, l);
		fz_drop_buffer(ctx, b);
	}
	c->text = t.p;
	pdf_document *pdf = pdf_specifics(ctx, doc);
	int nobj = pdf_xref_len(ctx, pdf);
	c->images = 0;
	for (int i = 1; i < nobj; i++) {
		pdf_obj *o = pdf_load_object(ctx, pdf, i);
		if (pdf_name_eq(ctx, pdf_dict_get(ctx, o, PDF_NAME(Subtype)), PDF_NAME(Image)))
			c->images++;
		pdf_drop_obj(ctx, o);
	}
	fz_drop_document(ctx, doc);
	fz_drop_stream(ctx, stm);
	fz_drop_context(ctx);
}

static int memfd_with(const void *d, size_t n)
{
	int fd = memfd_create("t", MFD_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, d, n), (ssize_t)n);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

static conv_out_t convert_with(const char *msg, size_t len, const pl_mail_opts_t *o)
{
	conv_out_t c;
	memset(&c, 0, sizeof(c));
	c.pages = -1;
	int in = memfd_with(msg, len);
	int out = memfd_create("pdf", MFD_CLOEXEC);
	assert_true(out >= 0);
	assert_int_equal(write(out, "junk", 4), 4); /* truncated by the converter */
	pl_err_t err = {{0}};
	c.rc = pl_mail_to_pdf(in, out, o, &c.r, &err);
	if (c.rc == -1)
		fail_msg("pl_mail_to_pdf: %s", err.msg);
	struct stat st;
	assert_int_equal(fstat(out, &st), 0);
	if (c.rc == 0) {
		uint8_t *d = malloc((size_t)st.st_size);
		assert_int_equal(pread(out, d, (size_t)st.st_size, 0), st.st_size);
		pdf_check(d, (size_t)st.st_size, &c);
		free(d);
		assert_int_equal(c.pages, (int)c.r.pages);
	} else {
		assert_int_equal(st.st_size, 0);
		assert_true(c.r.reason[0] != 0);
	}
	close(in);
	close(out);
	return c;
}

static conv_out_t convert(const char *msg, size_t len)
{
	pl_mail_opts_t o;
	pl_mail_opts_default(&o);
	return convert_with(msg, len, &o);
}

static void done(conv_out_t *c)
{
	free(c->text);
}

/* ---- headers ----------------------------------------------------------- */

static void parse(const char *m, const char *trusted, pl_mail_head_t *h)
{
	pl_err_t err;
	assert_int_equal(pl_mail_head_parse((const uint8_t *)m, strlen(m), trusted, h, &err), 0);
}

static void test_head_addresses(void **st)
{
	(void)st;
	pl_mail_head_t h;
	parse("From: \"Smith, Bob\" (the boss) <Bob.Smith@Example.COM>\r\n"
	      "To: undisclosed-recipients:;\r\n"
	      "To: Team: a@x.org, \"q\" <B@X.org>;, c@x.org (comment)\r\n"
	      "Cc: <@relay.example:d@x.org>, a@x.org, bad address, e@\r\n"
	      "Delivered-To: Print@Example.com\r\n"
	      "Subject: =?UTF-8?B?w6lsw6h2ZQ==?= =?ISO-8859-1?Q?_caf=E9?= plain\r\n"
	      "Message-ID: <abc@host>\r\n\r\nbody", NULL, &h);
	assert_string_equal(h.from, "bob.smith@example.com");
	assert_int_equal(h.n_rcpt, 5);
	assert_string_equal(h.rcpt[0], "a@x.org");
	assert_string_equal(h.rcpt[1], "b@x.org");
	assert_string_equal(h.rcpt[2], "c@x.org");
	assert_string_equal(h.rcpt[3], "d@x.org");
	assert_string_equal(h.rcpt[4], "print@example.com");
	assert_string_equal(h.subject, "\xc3\xa9l\xc3\xa8ve caf\xc3\xa9 plain");
	assert_string_equal(h.message_id, "<abc@host>");
	assert_int_equal(h.auth, PL_MAIL_AUTH_NONE);

	/* several From addresses, several From fields, a broken one: no From */
	parse("From: a@x.org, b@x.org\r\n\r\n", NULL, &h);
	assert_string_equal(h.from, "");
	parse("From: a@x.org\r\nFrom: b@x.org\r\n\r\n", NULL, &h);
	assert_string_equal(h.from, "");
	parse("From: <a@x..org>\r\n\r\n", NULL, &h);
	assert_string_equal(h.from, "");
	/* folded, LF only, control characters out of the subject */
	parse("From: Someone\n <s@x.org>\nSubject: a\n\tb\x01\x7f c\n\n", NULL, &h);
	assert_string_equal(h.from, "s@x.org");
	assert_string_equal(h.subject, "a b c");
	/* a bogus charset reads as Latin-1 */
	parse("From: s@x.org\r\nSubject: =?x-no-such?Q?=E9t=E9?=\r\n\r\n", NULL, &h);
	assert_string_equal(h.subject, "\xc3\xa9t\xc3\xa9");
	/* more recipients than the table holds */
	sbuf_t b = {0};
	sfmt(&b, "From: s@x.org\r\nTo: ");
	for (int i = 0; i < 40; i++)
		sfmt(&b, "%su%d@x.org", i ? ", " : "", i);
	sfmt(&b, "\r\n\r\n");
	parse(b.p, NULL, &h);
	assert_int_equal(h.n_rcpt, PL_MAIL_RCPT_MAX);
	free(b.p);
	/* not a message */
	pl_err_t err;
	assert_int_equal(pl_mail_head_parse((const uint8_t *)"\r\nbody", 6, NULL, &h, &err), -1);
}

static void test_head_huge(void **st)
{
	(void)st;
	/* a 1 MiB header: the first 256 KiB are looked at, nothing breaks */
	sbuf_t b = {0};
	sfmt(&b, "From: s@x.org\r\nSubject: ");
	for (int i = 0; i < 1 << 20; i++)
		sadd(&b, i % 70 ? "a" : "\r\n ", i % 70 ? 1 : 3);
	sfmt(&b, "\r\nTo: late@x.org\r\n\r\n");
	pl_mail_head_t h;
	parse(b.p, NULL, &h);
	assert_string_equal(h.from, "s@x.org");
	assert_int_equal(strlen(h.subject), 255);
	assert_int_equal(h.n_rcpt, 0); /* beyond 256 KiB */
	free(b.p);
}

static int auth(const char *hdrs, const char *from)
{
	char m[4096];
	snprintf(m, sizeof(m), "%sFrom: %s\r\nSubject: x\r\n\r\nbody", hdrs, from);
	pl_mail_head_t h;
	parse(m, "mx.corp.example", &h);
	return h.auth;
}

static void test_authres(void **st)
{
	(void)st;
	const char *f = "a@corp.example";
	assert_int_equal(auth("", f), PL_MAIL_AUTH_NONE);
	assert_int_equal(auth("Authentication-Results: mx.corp.example; dmarc=pass header.from=corp.example\r\n", f),
			 PL_MAIL_AUTH_PASS);
	assert_int_equal(auth("Authentication-Results: MX.Corp.Example (comment); dmarc=pass\r\n", f),
			 PL_MAIL_AUTH_PASS);
	assert_int_equal(auth("Authentication-Results: mx.corp.example; dmarc=fail header.from=corp.example\r\n", f),
			 PL_MAIL_AUTH_FAIL);
	assert_int_equal(auth("Authentication-Results: mx.corp.example; none\r\n", f), PL_MAIL_AUTH_FAIL);
	/* a pass from someone else's server is nothing */
	assert_int_equal(auth("Authentication-Results: evil.example; dmarc=pass\r\n", f), PL_MAIL_AUTH_NONE);
	assert_int_equal(auth("Authentication-Results: mx.corp.example.evil; dmarc=pass\r\n", f),
			 PL_MAIL_AUTH_NONE);
	/* DMARC pass for another From domain */
	assert_int_equal(auth("Authentication-Results: mx.corp.example; dmarc=pass header.from=evil.example\r\n", f),
			 PL_MAIL_AUTH_FAIL);
	/* DKIM: aligned (same, sub-domain, relaxed) or not */
	assert_int_equal(auth("Authentication-Results: mx.corp.example;\r\n dkim=pass (2048-bit key) header.d=corp.example header.s=s1\r\n", f),
			 PL_MAIL_AUTH_PASS);
	assert_int_equal(auth("Authentication-Results: mx.corp.example; dkim=pass header.d=mail.corp.example\r\n", f),
			 PL_MAIL_AUTH_PASS);
	assert_int_equal(auth("Authentication-Results: mx.corp.example; dkim=pass header.i=@corp.example\r\n", f),
			 PL_MAIL_AUTH_PASS);
	assert_int_equal(auth("Authentication-Results: mx.corp.example; dkim=pass header.d=mailer.example\r\n", f),
			 PL_MAIL_AUTH_FAIL);
	assert_int_equal(auth("Authentication-Results: mx.corp.example; dkim=pass header.d=example\r\n", f),
			 PL_MAIL_AUTH_FAIL);
	assert_int_equal(auth("Authentication-Results: mx.corp.example; dkim=pass header.d=co.uk\r\n",
			      "a@shop.co.uk"), PL_MAIL_AUTH_FAIL);
	assert_int_equal(auth("Authentication-Results: mx.corp.example; dkim=pass header.d=mail.shop.co.uk\r\n",
			      "a@shop.co.uk"), PL_MAIL_AUTH_PASS);
	/* SPF: the envelope sender's domain must align */
	assert_int_equal(auth("Authentication-Results: mx.corp.example; spf=pass smtp.mailfrom=bounce@corp.example\r\n", f),
			 PL_MAIL_AUTH_PASS);
	assert_int_equal(auth("Authentication-Results: mx.corp.example; spf=pass smtp.mailfrom=x@bulk.example\r\n", f),
			 PL_MAIL_AUTH_FAIL);
	/* several results in one field, several fields */
	assert_int_equal(auth("Authentication-Results: mx.corp.example; spf=fail smtp.mailfrom=corp.example;\r\n"
			      " dkim=pass header.d=corp.example; dmarc=pass\r\n", f), PL_MAIL_AUTH_PASS);
	assert_int_equal(auth("Authentication-Results: evil.example; dmarc=pass\r\n"
			      "Authentication-Results: mx.corp.example; dmarc=fail\r\n", f), PL_MAIL_AUTH_FAIL);
	assert_int_equal(auth("Authentication-Results: mx.corp.example; dkim=fail header.d=corp.example\r\n"
			      "Authentication-Results: mx.corp.example; dmarc=pass\r\n", f), PL_MAIL_AUTH_PASS);
	/* a trusted-looking field below a Received trace that follows the
	 * real block came from further away: ignored */
	assert_int_equal(auth("Authentication-Results: mx.corp.example; dmarc=fail\r\n"
			      "Received: from evil by relay\r\n"
			      "Authentication-Results: mx.corp.example; dmarc=pass\r\n", f), PL_MAIL_AUTH_FAIL);
	/* a quoted authserv-id, and no usable From: never a pass */
	assert_int_equal(auth("Authentication-Results: \"mx.corp.example\"; dmarc=pass\r\n", f), PL_MAIL_AUTH_PASS);
	assert_int_equal(auth("Authentication-Results: mx.corp.example; dmarc=pass\r\n", "a@x, b@y"), PL_MAIL_AUTH_FAIL);
	/* the check off: nothing is evaluated */
	pl_mail_head_t h;
	parse("Authentication-Results: mx.corp.example; dmarc=pass\r\nFrom: a@corp.example\r\n\r\n", NULL, &h);
	assert_int_equal(h.auth, PL_MAIL_AUTH_NONE);
}

/* ---- the walk ---------------------------------------------------------- */

static int walk(const char *m, size_t len, const pl_mail_opts_t *o, pl_mail_parts_t **ps)
{
	*ps = calloc(1, sizeof(**ps));
	return pl_mail_walk((const uint8_t *)m, len, o, *ps);
}

static void test_walk(void **st)
{
	(void)st;
	pl_mail_opts_t o;
	pl_mail_opts_default(&o);
	pl_mail_parts_t *ps;
	/* alternative: HTML chosen; related: the image is a resource; QP and
	 * Latin-1 decoded */
	const char *m = "Content-Type: multipart/alternative; boundary=a\r\n\r\n"
			"--a\r\nContent-Type: text/plain\r\n\r\nplain\r\n"
			"--a\r\nContent-Type: multipart/related; boundary=\"r r\"\r\n\r\n"
			"--r r\r\nContent-Type: text/html; charset=iso-8859-1\r\n"
			"Content-Transfer-Encoding: quoted-printable\r\n\r\n<p>caf=E9=\r\n!</p>\r\n"
			"--r r\r\nContent-Type: image/gif\r\nContent-ID: <img1@x>\r\n"
			"Content-Transfer-Encoding: base64\r\n\r\nR0lGODlhAQABAIAAAP8AAAAAACwAAAAAAQABAAACAkQBADs=\r\n"
			"--r r--\r\n--a--\r\n";
	assert_int_equal(walk(m, strlen(m), &o, &ps), 0);
	assert_int_equal(ps->n, 2);
	assert_int_equal(ps->v[0].kind, PL_MAIL_K_HTML);
	assert_int_equal(ps->v[0].role, PL_MAIL_R_BODY);
	assert_string_equal((char *)ps->v[0].data, "<p>caf\xc3\xa9!</p>");
	assert_int_equal(ps->v[1].kind, PL_MAIL_K_IMAGE);
	assert_int_equal(ps->v[1].role, PL_MAIL_R_RESOURCE);
	assert_string_equal(ps->v[1].cid, "img1@x");
	assert_int_equal(ps->v[1].len, 35);
	pl_mail_parts_free(ps);
	free(ps);

	/* bad boundaries: never appearing (the body is text), never closed */
	m = "Content-Type: multipart/mixed; boundary=nope\r\n\r\n--other\r\n\r\nhello\r\n";
	assert_int_equal(walk(m, strlen(m), &o, &ps), 0);
	assert_int_equal(ps->n, 1);
	assert_int_equal(ps->v[0].kind, PL_MAIL_K_TEXT);
	pl_mail_parts_free(ps);
	free(ps);
	m = "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\none\r\n--b\r\n"
	    "Content-Type: text/plain; name=two.txt\r\n\r\ntwo";
	assert_int_equal(walk(m, strlen(m), &o, &ps), 0);
	assert_int_equal(ps->n, 2);
	assert_string_equal((char *)ps->v[1].data, "two");
	assert_int_equal(ps->v[1].role, PL_MAIL_R_ATTACH);
	pl_mail_parts_free(ps);
	free(ps);
	/* multipart without a boundary parameter */
	m = "Content-Type: multipart/mixed\r\n\r\ntext";
	assert_int_equal(walk(m, strlen(m), &o, &ps), 0);
	assert_int_equal(ps->n, 1);
	pl_mail_parts_free(ps);
	free(ps);

	/* bad base64: garbage skipped, a truncated quantum dropped */
	m = "Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\naGVs!!bG8g\r\nd2*9y\r\n";
	assert_int_equal(walk(m, strlen(m), &o, &ps), 0);
	assert_string_equal((char *)ps->v[0].data, "hello wor");
	pl_mail_parts_free(ps);
	free(ps);

	/* a bogus charset (and one that tries a path) reads as Latin-1 */
	m = "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
	    "Content-Type: text/plain; charset=x-no-such\r\n\r\n\xe9t\xe9\r\n--b\r\n"
	    "Content-Type: text/plain; charset=\"../../../tmp/evil\"; name=a.txt\r\n\r\n\xe9\r\n--b--\r\n";
	assert_int_equal(walk(m, strlen(m), &o, &ps), 0);
	assert_int_equal(ps->n, 2);
	assert_string_equal((char *)ps->v[0].data, "\xc3\xa9t\xc3\xa9");
	assert_string_equal((char *)ps->v[1].data, "\xc3\xa9");
	pl_mail_parts_free(ps);
	free(ps);

	/* RFC 2231 file name, an Office file skipped and named */
	m = "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nbody\r\n--b\r\n"
	    "Content-Type: application/vnd.openxmlformats-officedocument.wordprocessingml.document\r\n"
	    "Content-Disposition: attachment; filename*=utf-8''r%C3%A9sum%C3%A9.docx\r\n\r\nPK\003\004xx\r\n--b--\r\n";
	assert_int_equal(walk(m, strlen(m), &o, &ps), 0);
	assert_int_equal(ps->n, 1);
	assert_int_equal(ps->n_attach, 1);
	assert_non_null(strstr(ps->skipped, "r\xc3\xa9sum\xc3\xa9.docx (application/vnd.openxml"));
	pl_mail_parts_free(ps);
	free(ps);
}

static void test_walk_bounds(void **st)
{
	(void)st;
	pl_mail_opts_t o;
	pl_mail_opts_default(&o);
	pl_mail_parts_t *ps;
	/* nesting beyond max_depth */
	sbuf_t b = {0};
	for (int i = 0; i < 12; i++)
		sfmt(&b, "Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n", i, i);
	sfmt(&b, "Content-Type: text/plain\r\n\r\ndeep\r\n");
	assert_int_equal(walk(b.p, b.len, &o, &ps), PL_MAIL_EREJECT);
	assert_string_equal(ps->reason, "nested deeper than 8 levels");
	free(ps);
	o.max_depth = 20;
	assert_int_equal(walk(b.p, b.len, &o, &ps), 0);
	assert_int_equal(ps->n, 1);
	pl_mail_parts_free(ps);
	free(ps);
	free(b.p);
	/* message/rfc822 counts as a level */
	pl_mail_opts_default(&o);
	memset(&b, 0, sizeof(b));
	for (int i = 0; i < 9; i++)
		sfmt(&b, "Content-Type: message/rfc822\r\n\r\n");
	sfmt(&b, "Subject: x\r\n\r\ndeep\r\n");
	assert_int_equal(walk(b.p, b.len, &o, &ps), PL_MAIL_EREJECT);
	free(ps);
	free(b.p);
	/* a 100,000-deep message is refused, not a stack overflow */
	memset(&b, 0, sizeof(b));
	for (int i = 0; i < 100000; i++)
		sfmt(&b, "Content-Type: message/rfc822\n\n");
	o.max_depth = 1000000;
	assert_int_equal(walk(b.p, b.len, &o, &ps), PL_MAIL_EREJECT);
	free(ps);
	free(b.p);
	pl_mail_opts_default(&o);
	/* more attachments than allowed */
	att_t a[21];
	for (int i = 0; i < 21; i++)
		a[i] = (att_t){"image/gif", "x.gif", GIF, sizeof(GIF) - 1};
	size_t len;
	char *m = mixed("hi", a, 21, &len);
	assert_int_equal(walk(m, len, &o, &ps), PL_MAIL_EREJECT);
	assert_string_equal(ps->reason, "more than 20 attachments");
	free(ps);
	o.max_attachments = 21;
	assert_int_equal(walk(m, len, &o, &ps), 0);
	pl_mail_parts_free(ps);
	free(ps);
	free(m);
	/* decoded bytes, message size */
	pl_mail_opts_default(&o);
	o.max_decoded_bytes = 1000;
	char big[3000];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	m = mixed(big, NULL, 0, &len);
	assert_int_equal(walk(m, len, &o, &ps), PL_MAIL_EREJECT);
	assert_string_equal(ps->reason, "decoded parts over 1000 bytes");
	free(ps);
	o.max_message_bytes = 100;
	assert_int_equal(walk(m, len, &o, &ps), PL_MAIL_EREJECT);
	free(ps);
	free(m);
	/* a header block over 256 KiB */
	memset(&b, 0, sizeof(b));
	for (int i = 0; i < 300000 / 20; i++)
		sfmt(&b, "X-Pad: 0123456789ab\r\n");
	sfmt(&b, "\r\nbody");
	pl_mail_opts_default(&o);
	assert_int_equal(walk(b.p, b.len, &o, &ps), PL_MAIL_EREJECT);
	free(ps);
	free(b.p);
}

/* ---- conversion ---------------------------------------------------------- */

static void test_conv_text(void **st)
{
	(void)st;
	sbuf_t b = {0};
	sfmt(&b, "%sContent-Type: text/plain; charset=windows-1252\r\n\r\n", HEAD);
	sfmt(&b, "Caf\xe9 \x93quoted\x94 <b>not bold</b>\r\n");
	for (int i = 0; i < 150; i++)
		sfmt(&b, "line %d of a long mail that wraps because it goes on and on and on past the right margin of the page\r\n", i);
	conv_out_t c = convert(b.p, b.len);
	assert_int_equal(c.rc, 0);
	assert_true(c.pages >= 3);
	assert_int_equal(c.r.parts, 1);
	assert_non_null(strstr(c.text, "Caf\xc3\xa9"));
	assert_non_null(strstr(c.text, "\xe2\x80\x9cquoted\xe2\x80\x9d"));
	assert_non_null(strstr(c.text, "<b>not bold</b>"));
	assert_non_null(strstr(c.text, "line 149"));
	done(&c);
	/* monospace: the same text, still all there */
	pl_mail_opts_t o;
	pl_mail_opts_default(&o);
	o.monospace = 1;
	c = convert_with(b.p, b.len, &o);
	assert_int_equal(c.rc, 0);
	assert_non_null(strstr(c.text, "line 149"));
	done(&c);
	free(b.p);
	/* a line of 20,000 characters without a space wraps over pages */
	sbuf_t l = {0};
	sfmt(&l, "%sContent-Type: text/plain\r\n\r\n", HEAD);
	for (int i = 0; i < 2000; i++)
		sfmt(&l, "%09d\xc3\xa9", i);
	c = convert(l.p, l.len);
	assert_int_equal(c.rc, 0);
	assert_true(c.pages >= 3);
	assert_non_null(strstr(c.text, "000001999"));
	done(&c);
	free(l.p);
	/* KOI8-R, Shift_JIS and UTF-16: iconv's modules, in the jail */
	const char *cs[3][2] = {{"koi8-r", "\xf0\xd2\xc9\xd7\xc5\xd4"},
				{"shift_jis", "\x93\xfa\x96\x7b"},
				{"utf-16le", "h\0\xe9\0l\0l\0o\0"}};
	const char *want[3] = {"\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82",
			       "\xe6\x97\xa5\xe6\x9c\xac", "h\xc3\xa9llo"};
	size_t cl[3] = {6, 4, 10};
	for (int i = 0; i < 3; i++) {
		sbuf_t m = {0};
		sfmt(&m, "%sContent-Type: text/plain; charset=%s\r\n\r\n", HEAD, cs[i][0]);
		sadd(&m, cs[i][1], cl[i]);
		c = convert(m.p, m.len);
		assert_int_equal(c.rc, 0);
		if (!strstr(c.text, want[i]))
			fail_msg("%s: got \"%s\"", cs[i][0], c.text);
		done(&c);
		free(m.p);
	}
	/* an empty body and nothing else: nothing printable */
	const char *e = "From: a@x.org\r\n\r\n  \r\n";
	c = convert(e, strlen(e));
	assert_int_equal(c.rc, PL_MAIL_EREJECT);
	assert_string_equal(c.r.reason, "nothing printable");
	done(&c);
}

static void test_conv_html_cid(void **st)
{
	(void)st;
	size_t pl;
	uint8_t *png = make_png(40, 20, &pl);
	sbuf_t b = {0};
	sfmt(&b, "%sContent-Type: multipart/related; boundary=R\r\n\r\n--R\r\n"
		 "Content-Type: text/html; charset=utf-8\r\n\r\n"
		 "<html><body><h1>Hello</h1><p>An image: <img src=\"cid:logo@x\"/></p></body></html>\r\n"
		 "--R\r\nContent-Type: image/png\r\nContent-ID: <logo@x>\r\n"
		 "Content-Transfer-Encoding: base64\r\n\r\n", HEAD);
	sb64(&b, png, pl);
	sfmt(&b, "--R--\r\n");
	conv_out_t c = convert(b.p, b.len);
	assert_int_equal(c.rc, 0);
	assert_int_equal(c.pages, 1);
	assert_non_null(strstr(c.text, "Hello"));
	assert_int_equal(c.images, 1);
	done(&c);
	free(b.p);
	free(png);
	/* Latin-1 HTML that says so in a <meta>: converted once, not twice */
	const char *m = "Content-Type: text/html; charset=iso-8859-1\r\n\r\n<html><head>"
			"<META HTTP-EQUIV=\"Content-Type\" CONTENT=\"text/html; CHARSET=iso-8859-1\">"
			"<meta charset=\"iso-8859-1\"></head><body><p>caf\xe9 na\xefve</p></body></html>";
	c = convert(m, strlen(m));
	assert_int_equal(c.rc, 0);
	if (!strstr(c.text, "caf\xc3\xa9 na\xc3\xafve"))
		fail_msg("got \"%s\"", c.text);
	done(&c);
	m = "Content-Type: text/html; charset=windows-1252\r\n\r\n"
	    "<?xml version=\"1.0\" encoding=\"windows-1252\"?><html><body><p>\x93q\x94</p></body></html>";
	c = convert(m, strlen(m));
	assert_int_equal(c.rc, 0);
	if (!strstr(c.text, "\xe2\x80\x9cq\xe2\x80\x9d"))
		fail_msg("got \"%s\"", c.text);
	done(&c);
}

/* HTML that names local files: none of them reaches the PDF, whether
 * in the jail or (to prove the archive alone holds) in this process. */
static void test_conv_html_local_files(void **st)
{
	(void)st;
	char dir[] = "/tmp/plsc-mail-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[256];
	size_t pl;
	uint8_t *png = make_png(30, 30, &pl);
	snprintf(path, sizeof(path), "%s/secret.png", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fwrite(png, 1, pl, f);
	fclose(f);
	char css[256];
	snprintf(css, sizeof(css), "%s/secret.css", dir);
	f = fopen(css, "w");
	assert_non_null(f);
	fputs("p { display: none }\n", f);
	fclose(f);
	sbuf_t b = {0};
	sfmt(&b, "%sContent-Type: text/html\r\n\r\n<html><head>"
		 "<link rel=\"stylesheet\" href=\"%s\"/><link rel=\"stylesheet\" href=\"file://%s\"/>"
		 "<style>@import url(\"%s\");</style></head><body><p>visible</p>"
		 "<img src=\"%s\"/><img src=\"file://%s\"/><img src=\"../../../../../..%s\"/>"
		 "<img src=\"/etc/passwd\"/><img src=\"file:///etc/passwd\"/><img src=\"../../etc/passwd\"/>"
		 "<img src=\"cid:../../../..%s\"/>"
		 "</body></html>\r\n", HEAD, css, css, css, path, path, path, path);
	conv_out_t c = convert(b.p, b.len);
	assert_int_equal(c.rc, 0);
	assert_int_equal(c.images, 0);
	assert_non_null(strstr(c.text, "visible")); /* the local CSS did not hide it */
	assert_null(strstr(c.text, "root:"));
	done(&c);
	/* an SVG and an EPUB that name the same file */
	char svg[1024], xhtml[1024];
	snprintf(svg, sizeof(svg),
		 "<svg xmlns=\"http://www.w3.org/2000/svg\" xmlns:xlink=\"http://www.w3.org/1999/xlink\" "
		 "width=\"100\" height=\"100\"><image width=\"50\" height=\"50\" xlink:href=\"%s\"/>"
		 "<image width=\"50\" height=\"50\" xlink:href=\"file://%s\"/>"
		 "<text x=\"1\" y=\"90\">svgvisible</text></svg>", path, path);
	snprintf(xhtml, sizeof(xhtml),
		 "<html xmlns=\"http://www.w3.org/1999/xhtml\"><body><p>epubvisible</p>"
		 "<img src=\"../../../../../../..%s\"/><img src=\"file://%s\"/></body></html>", path, path);
	const char *const ee[][2] = {
		{"mimetype", "application/epub+zip"},
		{"META-INF/container.xml",
		 "<?xml version=\"1.0\"?><container version=\"1.0\" "
		 "xmlns=\"urn:oasis:names:tc:opendocument:xmlns:container\"><rootfiles>"
		 "<rootfile full-path=\"content.opf\" media-type=\"application/oebps-package+xml\"/>"
		 "</rootfiles></container>"},
		{"content.opf",
		 "<?xml version=\"1.0\"?><package xmlns=\"http://www.idpf.org/2007/opf\" version=\"2.0\">"
		 "<metadata/><manifest><item id=\"c1\" href=\"c1.xhtml\" media-type=\"application/xhtml+xml\"/>"
		 "</manifest><spine><itemref idref=\"c1\"/></spine></package>"},
		{"c1.xhtml", xhtml},
	};
	size_t el;
	uint8_t *epub = make_zip(ee, 4, 1, &el);
	att_t at[2] = {{"image/svg+xml", "s.svg", (const uint8_t *)svg, strlen(svg)},
		       {"application/epub+zip", "b.epub", epub, el}};
	size_t ml;
	char *mm = mixed(NULL, at, 2, &ml);
	c = convert(mm, ml);
	assert_int_equal(c.rc, 0);
	assert_int_equal(c.pages, 2);
	assert_int_equal(c.images, 0);
	assert_non_null(strstr(c.text, "svgvisible"));
	assert_non_null(strstr(c.text, "epubvisible"));
	done(&c);
	free(mm);
	free(epub);
	/* in this process, without the jail */
	pl_mail_opts_t o;
	pl_mail_opts_default(&o);
	pl_mail_parts_t *ps = calloc(1, sizeof(*ps));
	assert_int_equal(pl_mail_walk((uint8_t *)b.p, b.len, &o, ps), 0);
	uint8_t *pdf;
	size_t n;
	pl_mail_result_t r;
	assert_int_equal(pl_mail_conv_parts(ps, &o, &pdf, &n, &r), 0);
	conv_out_t d = {0};
	pdf_check(pdf, n, &d);
	assert_int_equal(d.images, 0);
	assert_non_null(strstr(d.text, "visible"));
	free(d.text);
	free(pdf);
	pl_mail_parts_free(ps);
	free(ps);
	free(b.p);
	free(png);
	unlink(path);
	unlink(css);
	rmdir(dir);
}

/* A forwarded message (message/rfc822 attachment) prints after the
 * body, its own body and attachments included; the message file is
 * left as it was. */
static void test_conv_forwarded(void **st)
{
	(void)st;
	sbuf_t b = {0};
	sfmt(&b, "%sContent-Type: multipart/mixed; boundary=O\r\n\r\n--O\r\n"
		 "Content-Type: text/plain\r\n\r\nouterbody\r\n--O\r\n"
		 "Content-Type: message/rfc822\r\nContent-Disposition: attachment; filename=fwd.eml\r\n\r\n"
		 "From: bob@x.org\r\nSubject: inner\r\nContent-Type: multipart/mixed; boundary=I\r\n\r\n"
		 "--I\r\nContent-Type: text/html\r\n\r\n<p>innerhtml</p>\r\n--I\r\n"
		 "Content-Type: image/gif\r\nContent-Transfer-Encoding: base64\r\n\r\n"
		 "R0lGODlhAQABAIAAAP8AAAAAACwAAAAAAQABAAACAkQBADs=\r\n--I--\r\n--O--\r\n", HEAD);
	char *copy = malloc(b.len);
	memcpy(copy, b.p, b.len);
	int in = memfd_with(b.p, b.len);
	int out = memfd_create("pdf", MFD_CLOEXEC);
	pl_mail_opts_t o;
	pl_mail_opts_default(&o);
	pl_mail_result_t r;
	pl_err_t err;
	assert_int_equal(pl_mail_to_pdf(in, out, &o, &r, &err), 0);
	assert_int_equal(r.pages, 3);
	assert_int_equal(r.parts, 3);
	char *after = malloc(b.len + 1);
	assert_int_equal(pread(in, after, b.len + 1, 0), (ssize_t)b.len);
	assert_memory_equal(after, copy, b.len);
	conv_out_t c = convert(b.p, b.len);
	assert_non_null(strstr(c.text, "outerbody"));
	assert_non_null(strstr(c.text, "innerhtml"));
	assert_true(strstr(c.text, "outerbody") < strstr(c.text, "innerhtml"));
	done(&c);
	close(in);
	close(out);
	free(after);
	free(copy);
	free(b.p);
}

static void test_conv_pdf(void **st)
{
	(void)st;
	size_t l3, l50;
	uint8_t *p3 = make_pdf(3, &l3), *p50 = make_pdf(50, &l50);
	att_t a[2] = {{"application/pdf", "three.pdf", p3, l3},
		      {"application/octet-stream", "fifty.bin", p50, l50}};
	size_t len;
	char *m = mixed("see attached", a, 2, &len);
	conv_out_t c = convert(m, len);
	assert_int_equal(c.rc, 0);
	assert_int_equal(c.pages, 1 + 3 + 50);
	assert_int_equal(c.r.parts, 3);
	done(&c);
	/* attachments only */
	pl_mail_opts_t o;
	pl_mail_opts_default(&o);
	o.body = 0;
	c = convert_with(m, len, &o);
	assert_int_equal(c.rc, 0);
	assert_int_equal(c.pages, 53);
	done(&c);
	/* over max_pages */
	pl_mail_opts_default(&o);
	o.max_pages = 40;
	c = convert_with(m, len, &o);
	assert_int_equal(c.rc, PL_MAIL_EREJECT);
	assert_string_equal(c.r.reason, "more than 40 pages");
	done(&c);
	free(m);
	free(p3);
	free(p50);
}

static void test_conv_images(void **st)
{
	(void)st;
	size_t lp, lj, lb, lt;
	uint8_t *png = make_png(300, 100, &lp), *jpg = make_jpeg(&lj), *bmp = make_bmp(&lb),
		*tif = make_tiff(&lt);
	att_t a[5] = {{"image/png", "a.png", png, lp}, {"image/jpeg", "b.jpg", jpg, lj},
		      {"image/tiff", "c.tif", tif, lt}, {"image/gif", "d.gif", GIF, sizeof(GIF) - 1},
		      {"image/bmp", "e.bmp", bmp, lb}};
	for (unsigned i = 0; i < 5; i++) {
		size_t len;
		char *m = mixed(NULL, &a[i], 1, &len);
		conv_out_t c = convert(m, len);
		if (c.rc != 0)
			fail_msg("%s: %s", a[i].name, c.r.reason);
		assert_int_equal(c.pages, 1);
		assert_true(c.images >= 1); /* with an alpha mask: 2 */
		assert_string_equal(c.r.skipped, "");
		done(&c);
		free(m);
	}
	size_t len;
	char *m = mixed("five images", a, 5, &len);
	conv_out_t c = convert(m, len);
	assert_int_equal(c.rc, 0);
	assert_int_equal(c.pages, 6);
	done(&c);
	free(m);
	free(png);
	free(jpg);
	free(bmp);
	free(tif);
}

static void test_conv_epub_xps(void **st)
{
	(void)st;
	size_t le, lx;
	uint8_t *epub = make_epub(&le), *xps = make_xps(&lx);
	att_t a[2] = {{"application/epub+zip", "book.epub", epub, le},
		      {"application/vnd.ms-xpsdocument", "doc.xps", xps, lx}};
	size_t len;
	char *m = mixed(NULL, &a[0], 1, &len);
	conv_out_t c = convert(m, len);
	if (c.rc != 0)
		fail_msg("epub: %s", c.r.reason);
	assert_int_equal(c.pages, 1);
	assert_non_null(strstr(c.text, "epubchapter"));
	done(&c);
	free(m);
	m = mixed(NULL, &a[1], 1, &len);
	c = convert(m, len);
	if (c.rc != 0)
		fail_msg("xps: %s (skipped: %s)", c.r.reason, c.r.skipped);
	assert_int_equal(c.pages, 2);
	done(&c);
	free(m);
	/* the same XPS called .zip with a generic type: an archive, skipped */
	att_t z = {"application/zip", "doc.zip", xps, lx};
	m = mixed("body", &z, 1, &len);
	c = convert(m, len);
	assert_int_equal(c.rc, 0);
	assert_int_equal(c.pages, 1);
	assert_string_equal(c.r.skipped, "doc.zip (application/zip)");
	done(&c);
	free(m);
	free(epub);
	free(xps);
}

static void test_conv_svg_skipped(void **st)
{
	(void)st;
	const char *svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"100\" height=\"50\">"
			  "<rect width=\"100\" height=\"50\" fill=\"red\"/><text x=\"5\" y=\"30\">svgtext</text></svg>";
	const char *zip = "PK\003\004 an archive";
	const char *broken = "%PDF-1.4 nothing else";
	att_t a[4] = {{"image/svg+xml", "s.svg", (const uint8_t *)svg, strlen(svg)},
		      {"application/zip", "z.zip", (const uint8_t *)zip, strlen(zip)},
		      {"application/msword", "w.doc", (const uint8_t *)"\xd0\xcf\x11\xe0", 4},
		      {"application/pdf", "broken.pdf", (const uint8_t *)broken, strlen(broken)}};
	size_t len;
	char *m = mixed("body", a, 4, &len);
	conv_out_t c = convert(m, len);
	assert_int_equal(c.rc, 0);
	assert_int_equal(c.pages, 2);
	assert_non_null(strstr(c.text, "svgtext"));
	assert_non_null(strstr(c.r.skipped, "z.zip (application/zip)"));
	assert_non_null(strstr(c.r.skipped, "w.doc (application/msword)"));
	assert_non_null(strstr(c.r.skipped, "broken.pdf (application/pdf"));
	done(&c);
	free(m);
}

/* Decompression bombs: an image whose header claims 400 megapixels, and
 * a PDF page whose content stream inflates to 256 MiB. */
static void test_conv_bombs(void **st)
{
	(void)st;
	/* PNG header 20000 x 20000 with a small IDAT */
	uint8_t png[128];
	size_t n = 0;
	memcpy(png, "\x89PNG\r\n\x1a\n", 8);
	n = 8;
	uint8_t ihdr[17] = "IHDR";
	ihdr[4] = 0; ihdr[5] = 0; ihdr[6] = 0x4e; ihdr[7] = 0x20;
	ihdr[8] = 0; ihdr[9] = 0; ihdr[10] = 0x4e; ihdr[11] = 0x20;
	ihdr[12] = 8; ihdr[13] = 2; ihdr[14] = 0; ihdr[15] = 0; ihdr[16] = 0;
	png[n++] = 0; png[n++] = 0; png[n++] = 0; png[n++] = 13;
	memcpy(png + n, ihdr, 17);
	n += 17;
	uint32_t crc = (uint32_t)crc32(0, ihdr, 17);
	png[n++] = (uint8_t)(crc >> 24); png[n++] = (uint8_t)(crc >> 16);
	png[n++] = (uint8_t)(crc >> 8); png[n++] = (uint8_t)crc;
	memcpy(png + n, "\0\0\0\0IEND\xae\x42\x60\x82", 12);
	n += 12;
	att_t a = {"image/png", "bomb.png", png, n};
	size_t len;
	char *m = mixed("body", &a, 1, &len);
	conv_out_t c = convert(m, len);
	assert_int_equal(c.rc, PL_MAIL_EREJECT);
	assert_string_equal(c.r.reason, "an image over 64 megapixels");
	done(&c);
	free(m);

	/* the PDF: 256 MiB of spaces and one operator, deflated */
	size_t raw = 256u << 20;
	uLong bound = compressBound((uLong)raw);
	uint8_t *z = malloc(bound);
	z_stream zs;
	memset(&zs, 0, sizeof(zs));
	assert_int_equal(deflateInit(&zs, 9), Z_OK);
	static uint8_t spaces[1 << 16];
	memset(spaces, ' ', sizeof(spaces));
	zs.next_out = z;
	zs.avail_out = (uInt)bound;
	for (size_t done_b = 0; done_b < raw; done_b += sizeof(spaces)) {
		zs.next_in = spaces;
		zs.avail_in = sizeof(spaces);
		assert_int_not_equal(deflate(&zs, Z_NO_FLUSH), Z_STREAM_ERROR);
	}
	zs.next_in = (Bytef *)"0 0 m 1 1 l S";
	zs.avail_in = 13;
	assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
	size_t zl = zs.total_out;
	deflateEnd(&zs);
	sbuf_t p = {0};
	sfmt(&p, "%%PDF-1.4\n1 0 obj <</Type/Catalog/Pages 2 0 R>> endobj\n"
		 "2 0 obj <</Type/Pages/Kids[3 0 R]/Count 1>> endobj\n"
		 "3 0 obj <</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]/Contents 4 0 R>> endobj\n"
		 "4 0 obj <</Length %zu/Filter/FlateDecode>> stream\n", zl);
	sadd(&p, z, zl);
	sfmt(&p, "\nendstream endobj\ntrailer <</Root 1 0 R>>\n%%%%EOF\n");
	free(z);
	a = (att_t){"application/pdf", "bomb.pdf", (uint8_t *)p.p, p.len};
	m = mixed("body", &a, 1, &len);
	pl_mail_opts_t o;
	pl_mail_opts_default(&o);
	o.cpu_seconds = 1;
	c = convert_with(m, len, &o);
	/* refused at the CPU limit, or read within it: bounded either way,
	 * and the caller is still here */
	assert_true(c.rc == 0 || c.rc == PL_MAIL_EREJECT);
	if (c.rc == 0)
		assert_int_equal(c.pages, 2);
	else
		print_message("zip-bomb PDF: %s\n", c.r.reason);
	done(&c);
	free(m);
	free(p.p);
}

/* The child is assumed compromised: limits it hits are a refusal. */
static void test_conv_limits(void **st)
{
	(void)st;
	size_t l50;
	uint8_t *p50 = make_pdf(50, &l50);
	att_t a = {"application/pdf", "fifty.pdf", p50, l50};
	size_t len;
	char *m = mixed("x", &a, 1, &len);
	pl_mail_opts_t o;
	pl_mail_opts_default(&o);
	/* a 7000 x 7000 grey PNG takes 49 MB decoded: over 16 MiB */
	size_t lp;
	uint8_t *png = make_png(7000, 7000, &lp);
	att_t big = {"image/png", "big.png", png, lp};
	size_t blen;
	char *bm = mixed("x", &big, 1, &blen);
	o.mem_bytes = 16u << 20;
	conv_out_t c = convert_with(bm, blen, &o);
	assert_int_equal(c.rc, PL_MAIL_EREJECT);
	print_message("memory limit: %s\n", c.r.reason);
	done(&c);
	free(bm);
	free(png);
	/* the wall-clock limit: a millisecond is less than any conversion */
	pl_mail_opts_default(&o);
	o.wall_ms = 1;
	c = convert_with(m, len, &o);
	assert_int_equal(c.rc, PL_MAIL_EREJECT);
	assert_non_null(strstr(c.r.reason, "timeout"));
	done(&c);
	/* the message size is checked before any child runs */
	pl_mail_opts_default(&o);
	o.max_message_bytes = 1000;
	c = convert_with(m, len, &o);
	assert_int_equal(c.rc, PL_MAIL_EREJECT);
	assert_non_null(strstr(c.r.reason, "message over 1000 bytes"));
	done(&c);
	free(m);
	free(p50);
}

/* What a compromised child may write instead of a PDF and its trailer. */
static int trailer_case(const char *pdf, const pl_mail_trailer_t *t, size_t tlen,
			pl_mail_result_t *r)
{
	int fd = memfd_create("pdf", MFD_CLOEXEC);
	assert_int_equal(write(fd, pdf, strlen(pdf)), (ssize_t)strlen(pdf));
	assert_int_equal(write(fd, t, tlen), (ssize_t)tlen);
	pl_mail_opts_t o;
	pl_mail_opts_default(&o);
	int rc = pl_mail_trailer_read(fd, &o, r);
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	if (rc == 0)
		assert_int_equal(st.st_size, (off_t)strlen(pdf));
	else
		assert_int_equal(st.st_size, 0);
	close(fd);
	return rc;
}

/* ---- the external converter (LibreOffice's place, played by scripts) ----- */

/* A script run as /bin/sh -c script sh {in} {outdir}: each proves one thing
 * about the confinement and writes in.pdf only when it holds. The
 * attachments are "PK\3\4" + a PDF in base64 (a PDF marker anywhere near
 * the start would make it a PDF attachment), so "tail -c +5 | base64 -d"
 * is the conversion. */
static const char *const ext_scripts[] = {
	/* good: only the input in its dir, HOME there, then the PDF */
	"[ \"$(ls -A \"$2\")\" = in.docx ] || exit 4\n"
	"[ \"$HOME\" = \"$2\" ] || exit 5\n"
	"tail -c +5 \"$1\" | base64 -di > \"$2/in.pdf\"\n",
	/* hang: the wall-clock limit kills it (and the sleep it started) */
	"sleep 30\n",
	/* garbage: not a PDF */
	"echo garbage > \"$2/in.pdf\"\n",
	/* fails loudly */
	"echo 'cannot open display' >&2; exit 3\n",
	/* network: a connect to 127.0.0.1 must not even be refused by a
	 * listener (no listener needed: ECONNREFUSED means it got through) */
	"python3 -c 'import socket,sys\n"
	"try: socket.create_connection((\"127.0.0.1\", 9), 2)\n"
	"except ConnectionRefusedError: sys.exit(6)\n"
	"except OSError: pass\n"
	"else: sys.exit(6)' || exit 6\n"
	"tail -c +5 \"$1\" | base64 -di > \"$2/in.pdf\"\n",
	/* writes outside its dir: must fail */
	"echo x > \"$OUTSIDE\" 2>/dev/null && exit 7\n"
	"echo x > \"$2/../outside2\" 2>/dev/null && exit 7\n"
	"tail -c +5 \"$1\" | base64 -di > \"$2/in.pdf\"\n",
	/* a symbolic link to a file it may not read as its "PDF" (Landlock
	 * refuses the link; without it, the link is not followed) */
	"ln -s /etc/passwd \"$2/in.pdf\" 2>/dev/null; exit 0\n",
};

static conv_out_t ext_convert_with(const char *dir, unsigned script, unsigned timeout_s,
				   const uint8_t *att, size_t alen)
{
	pl_mail_opts_t o;
	pl_mail_opts_default(&o);
	/* the script as an argument: the converter may not read the
	 * test's dir (only the system paths and its own dir) */
	static const char *const argv[] = { "/bin/sh", "-c", NULL, "sh", "{in}", "{outdir}" };
	o.ext.argc = 6;
	for (unsigned i = 0; i < 6; i++) {
		const char *v = argv[i] ? argv[i] : ext_scripts[script];
		assert_true(strlen(v) < sizeof(o.ext.argv[0]));
		snprintf(o.ext.argv[i], sizeof(o.ext.argv[i]), "%s", v);
	}
	o.ext.timeout_s = timeout_s;
	snprintf(o.ext.tmp_dir, sizeof(o.ext.tmp_dir), "%s", dir);
	att_t a[2] = {{"application/octet-stream", "report.docx", att, alen},
		      {"application/zip", "z.zip", (const uint8_t *)"PK\003\004 zip", 8}};
	size_t len;
	char *m = mixed("body", a, 2, &len);
	conv_out_t c = convert_with(m, len, &o);
	free(m);
	return c;
}

static void test_conv_external(void **st)
{
	(void)st;
	char dir[] = "/tmp/plsc-test-ext-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char outside[300];
	snprintf(outside, sizeof(outside), "%s/outside", dir);
	setenv("OUTSIDE", outside, 1);
	size_t pl;
	uint8_t *pdf = make_pdf(2, &pl);
	sbuf_t b64 = {0};
	sfmt(&b64, "PK\003\004");
	sb64(&b64, pdf, pl);
	uint8_t *att = (uint8_t *)b64.p;
	pl = b64.len - 4;
	int landlock = pl_sandbox_landlock_abi() > 0;

	/* off (the default): skipped and named as before */
	size_t len;
	att_t a[1] = {{"application/octet-stream", "report.docx", att, pl + 4}};
	char *m = mixed("body", a, 1, &len);
	conv_out_t c = convert(m, len);
	free(m);
	assert_int_equal(c.rc, 0);
	assert_int_equal(c.pages, 1);
	assert_non_null(strstr(c.r.skipped, "report.docx"));
	done(&c);

	/* good: body + the two pages, in order; the zip still skipped */
	c = ext_convert_with(dir, 0, 30, att, pl + 4);
	assert_int_equal(c.rc, 0);
	assert_int_equal(c.pages, 3);
	assert_int_equal(c.r.parts, 2);
	assert_null(strstr(c.r.skipped, "report.docx"));
	assert_non_null(strstr(c.r.skipped, "z.zip"));
	done(&c);

	static const struct {
		unsigned script;
		const char *why;
	} bad[] = {
		{ 1, "time limit (1 s) exceeded" },
		{ 2, "output is not a PDF" },
		{ 3, "exit 3: cannot open display" },
		{ 6, "wrote no PDF" }, /* O_NOFOLLOW: the link is not followed */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		c = ext_convert_with(dir, bad[i].script, 1, att, pl + 4);
		assert_int_equal(c.rc, 0);
		assert_int_equal(c.pages, 1);
		if (!strstr(c.r.skipped, bad[i].why))
			fail_msg("script %u: skipped \"%s\"", bad[i].script, c.r.skipped);
		assert_non_null(strstr(c.r.skipped, "report.docx"));
		done(&c);
	}
	if (landlock) {
		/* no network, no writes outside its dir */
		for (unsigned s = 4; s <= 5; s++) {
			c = ext_convert_with(dir, s, 30, att, pl + 4);
			assert_int_equal(c.rc, 0);
			if (c.pages != 3)
				fail_msg("script %u: skipped \"%s\"", s, c.r.skipped);
			done(&c);
		}
		assert_int_equal(access(outside, F_OK), -1);
	}
	/* nothing left behind */
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "test -z \"$(ls -A %s)\"", dir);
	assert_int_equal(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	free(att);
	free(pdf);
}

static void test_trailer(void **st)
{
	(void)st;
	const char *pdf = "%PDF-1.7 the pages";
	pl_mail_trailer_t good, t;
	pl_mail_result_t r;
	memset(&good, 0, sizeof(good));
	memcpy(good.magic, PL_MAIL_TRAILER_MAGIC, 8);
	good.pages = 3;
	good.parts = 2;
	good.pdf_len = strlen(pdf);
	strcpy(good.skipped, "a.zip (application/zip)");
	assert_int_equal(trailer_case(pdf, &good, sizeof(good), &r), 0);
	assert_int_equal(r.pages, 3);
	assert_int_equal(r.parts, 2);
	assert_string_equal(r.skipped, "a.zip (application/zip)");
	/* strings unterminated, with control characters */
	t = good;
	memset(t.skipped, '\n', sizeof(t.skipped));
	assert_int_equal(trailer_case(pdf, &t, sizeof(t), &r), 0);
	assert_int_equal(strlen(r.skipped), sizeof(r.skipped) - 1);
	assert_null(strchr(r.skipped, '\n'));
	/* a refusal, its reason unterminated */
	t = good;
	t.status = 1;
	t.pdf_len = 0;
	memset(t.reason, 'x', sizeof(t.reason));
	assert_int_equal(trailer_case("", &t, sizeof(t), &r), PL_MAIL_EREJECT);
	assert_int_equal(strlen(r.reason), sizeof(r.reason) - 1);
	/* lies: the length, the magic, the pages, no PDF, a short trailer */
	t = good;
	t.pdf_len = 5;
	assert_int_equal(trailer_case(pdf, &t, sizeof(t), &r), PL_MAIL_EREJECT);
	assert_string_equal(r.reason, "the converter's result is malformed");
	t = good;
	t.magic[0] = 'X';
	assert_int_equal(trailer_case(pdf, &t, sizeof(t), &r), PL_MAIL_EREJECT);
	t = good;
	t.pages = 201;
	assert_int_equal(trailer_case(pdf, &t, sizeof(t), &r), PL_MAIL_EREJECT);
	t = good;
	t.pages = 0;
	assert_int_equal(trailer_case(pdf, &t, sizeof(t), &r), PL_MAIL_EREJECT);
	t = good;
	t.pdf_len = strlen("GIF89a the pages");
	assert_int_equal(trailer_case("GIF89a the pages", &t, sizeof(t), &r), PL_MAIL_EREJECT);
	assert_int_equal(trailer_case(pdf, &good, sizeof(good) - 1, &r), PL_MAIL_EREJECT);
	assert_int_equal(trailer_case("", &good, 10, &r), PL_MAIL_EREJECT);
	assert_string_equal(r.reason, "the converter gave no result");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_head_addresses),
		cmocka_unit_test(test_head_huge),
		cmocka_unit_test(test_authres),
		cmocka_unit_test(test_walk),
		cmocka_unit_test(test_walk_bounds),
		cmocka_unit_test(test_conv_text),
		cmocka_unit_test(test_conv_html_cid),
		cmocka_unit_test(test_conv_html_local_files),
		cmocka_unit_test(test_conv_forwarded),
		cmocka_unit_test(test_conv_pdf),
		cmocka_unit_test(test_conv_images),
		cmocka_unit_test(test_conv_epub_xps),
		cmocka_unit_test(test_conv_svg_skipped),
		cmocka_unit_test(test_conv_bombs),
		cmocka_unit_test(test_conv_limits),
		cmocka_unit_test(test_conv_external),
		cmocka_unit_test(test_trailer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
