/* pl_docinfo: format sniffing, and page counts and sizes from real
 * documents: PDFs written here, PostScript with DSC comments, PWG and
 * Apple (URF) raster written by libcups' own raster writer, so the
 * decoder is checked against an independent encoder. Every document is
 * also fed one byte at a time: chunking must not change the answer. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cups/raster.h>
#include <zlib.h>

#include "pl_docinfo.h"

/* ---- helpers ---------------------------------------------------------- */

static void info_of(const void *p, size_t n, size_t chunk, pl_docinfo_result_t *r)
{
	pl_docinfo_t d;
	pl_docinfo_init(&d);
	for (size_t off = 0; off < n; off += chunk)
		pl_docinfo_feed(&d, (const uint8_t *)p + off, n - off < chunk ? n - off : chunk);
	pl_docinfo_result(&d, r);
}

/* The result, the same whole and byte by byte. */
static void check(const void *p, size_t n, const char *mime, uint32_t pages,
		  const char *size)
{
	pl_docinfo_result_t whole, bytes;
	info_of(p, n, n ? n : 1, &whole);
	info_of(p, n, 1, &bytes);
	assert_string_equal(whole.mime, mime);
	assert_int_equal(whole.pages, pages);
	assert_string_equal(whole.page_size, size);
	assert_int_equal(bytes.format, whole.format);
	assert_int_equal(bytes.pages, whole.pages);
	assert_string_equal(bytes.page_size, whole.page_size);
}

static void check_str(const char *doc, const char *mime, uint32_t pages, const char *size)
{
	check(doc, strlen(doc), mime, pages, size);
}

/* A PDF of n pages (n <= 20), each with a content stream that says
 * "/Type /Page" in its data, as text can. */
static char *pdf_doc(int n, const char *box, int with_count)
{
	static char buf[16384];
	size_t len = 0;
	len += (size_t)snprintf(buf + len, sizeof(buf) - len,
				"%%PDF-1.7\n%%\xe2\xe3\xcf\xd3\n"
				"1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
				"2 0 obj\n<< /Type /Pages /Kids [");
	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%d 0 R ", 10 + i);
	if (with_count)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "] /Count %d >>\nendobj\n", n);
	else
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "] >>\nendobj\n");
	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len,
					"%d 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox %s "
					"/Resources << /Font << /F1 5 0 R >> >> /Contents %d 0 R >>\n"
					"endobj\n%d 0 obj\n<< /Length 44 >>\nstream\n"
					"BT /F1 12 Tf (/Type /Page) Tj ET <</Type/Page>>\n"
					"endstream\nendobj\n",
					10 + i, box, 40 + i, 40 + i);
	len += (size_t)snprintf(buf + len, sizeof(buf) - len,
				"trailer\n<< /Root 1 0 R /Info << /Title (a \\) (/Type /Page)) >> >>\n"
				"%%%%EOF\n");
	return buf;
}

/* A document being built, for the formats written byte by byte. */
typedef struct {
	uint8_t *p;
	size_t len, cap;
} buf_t;

static void put(buf_t *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2 + 1024;
		b->p = realloc(b->p, b->cap);
		assert_non_null(b->p);
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void puts_(buf_t *b, const char *s)
{
	put(b, s, strlen(s));
}

static void putf(buf_t *b, const char *fmt, ...)
{
	char tmp[4096];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n < sizeof(tmp));
	put(b, tmp, (size_t)n);
}

/* An object stream: the header of object numbers and offsets, then the
 * objects (body[i] is object nums[i]), deflated by zlib's compress2. */
static void put_objstm(buf_t *b, int num, const int *nums, const char *const *body, int n,
		       const char *extra, const char *eol)
{
	buf_t hdr = { 0 }, objs = { 0 }, all = { 0 };
	for (int i = 0; i < n; i++) {
		putf(&hdr, "%d %zu ", nums[i], objs.len);
		put(&objs, body[i], strlen(body[i]));
		put(&objs, "\n", 1);
	}
	put(&all, hdr.p, hdr.len);
	put(&all, objs.p, objs.len);
	uLongf zlen = compressBound(all.len);
	uint8_t *z = malloc(zlen);
	assert_int_equal(compress2(z, &zlen, all.p, all.len, 9), Z_OK);
	putf(b, "%d 0 obj\n<< /Type /ObjStm /N %d /First %zu /Filter /FlateDecode%s /Length %lu >>\n"
		"stream%s", num, n, hdr.len, extra, (unsigned long)zlen, eol);
	put(b, z, zlen);
	putf(b, "\nendstream\nendobj\n");
	free(z);
	free(hdr.p);
	free(objs.p);
	free(all.p);
}

static void check_buf(buf_t *b, const char *mime, uint32_t pages, const char *size)
{
	check(b->p, b->len, mime, pages, size);
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* ---- sniffing ---------------------------------------------------------- */

static void test_sniff(void **state)
{
	(void)state;
	assert_int_equal(pl_docinfo_sniff("%PDF-1.4\n", 9), PL_DOC_PDF);
	assert_int_equal(pl_docinfo_sniff("%!PS-Adobe-3.0\n", 15), PL_DOC_PS);
	assert_int_equal(pl_docinfo_sniff("\x04%!PS", 5), PL_DOC_PS);
	assert_int_equal(pl_docinfo_sniff("\x1b%-12345X@PJL\r\n", 16), PL_DOC_PCL);
	assert_int_equal(pl_docinfo_sniff("@PJL JOB\r\n", 10), PL_DOC_PCL);
	assert_int_equal(pl_docinfo_sniff("\x1b" "E\x1b&l0O", 7), PL_DOC_PCL);
	assert_int_equal(pl_docinfo_sniff(") HP-PCL XL;2;0\n", 16), PL_DOC_PCL);
	assert_int_equal(pl_docinfo_sniff("( HP-PCL XL;3;0\n", 16), PL_DOC_PCL);
	assert_int_equal(pl_docinfo_sniff("RaS2PwgRaster", 13), PL_DOC_PWG);
	assert_int_equal(pl_docinfo_sniff("UNIRAST\0\0\0\0\1", 12), PL_DOC_URF);
	assert_int_equal(pl_docinfo_sniff("UNIRAST", 7), PL_DOC_TEXT);
	assert_int_equal(pl_docinfo_sniff("\xff\xd8\xff\xe0", 4), PL_DOC_JPEG);
	assert_int_equal(pl_docinfo_sniff("\x89PNG\r\n\x1a\n", 8), PL_DOC_PNG);
	assert_int_equal(pl_docinfo_sniff("Hello, w\xc3\xb6rld\n\f", 15), PL_DOC_TEXT);
	assert_int_equal(pl_docinfo_sniff("caf\xc3", 4), PL_DOC_TEXT); /* cut UTF-8 */
	assert_int_equal(pl_docinfo_sniff("bin\0ary", 7), PL_DOC_UNKNOWN);
	assert_int_equal(pl_docinfo_sniff("\xc3\x28", 2), PL_DOC_UNKNOWN);
	assert_int_equal(pl_docinfo_sniff("", 0), PL_DOC_UNKNOWN);
	assert_string_equal(pl_docinfo_mime(PL_DOC_UNKNOWN), "application/octet-stream");
	assert_string_equal(pl_docinfo_mime(PL_DOC_URF), "image/urf");
}

static void test_size_names(void **state)
{
	char b[32];
	(void)state;
	pl_docinfo_size_name(2100, 2970, b, sizeof(b));
	assert_string_equal(b, "A4");
	pl_docinfo_size_name(2970, 2100, b, sizeof(b)); /* landscape */
	assert_string_equal(b, "A4");
	pl_docinfo_size_name(2159, 2794, b, sizeof(b));
	assert_string_equal(b, "Letter");
	pl_docinfo_size_name(1000, 1500, b, sizeof(b));
	assert_string_equal(b, "100x150 mm");
}

/* ---- PDF ---------------------------------------------------------------- */

static void test_pdf(void **state)
{
	(void)state;
	check_str(pdf_doc(3, "[0 0 595.276 841.89]", 1), "application/pdf", 3, "A4");
	check_str(pdf_doc(1, "[ 0 0 612 792 ]", 1), "application/pdf", 1, "Letter");
	/* No /Count: the page objects are counted. */
	check_str(pdf_doc(2, "[0 0 283.46 425.2]", 0), "application/pdf", 2, "100x150 mm");
}

/* Whitespace runs and comments are skipped as a run (a fast path): a
 * page tree behind a megabyte of padding, tokens separated by runs of
 * every whitespace byte, and comments that hold a fake page dictionary
 * and end in CR or LF give the same answer whole and byte by byte. */
static void test_pdf_padding(void **state)
{
	(void)state;
	static const char head[] =
		"%PDF-1.4\n% << /Type /Page >> a comment\r"
		"1 0 obj \t\r\n\f<< /Type \n\n /Catalog /Pages 2 0 R >>endobj\n"
		"2 0 obj<</Type/Pages/Count 2/Kids[3 0 R 4 0 R]>>endobj\n"
		"%<< /Type /Pages /Count 9 >>\n";
	static const char tail[] =
		"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
		"4 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
		"trailer<</Root 1 0 R>>\n%%EOF\n";
	size_t pad = 1024 * 1024, n = strlen(head) + pad + strlen(tail);
	char *doc = malloc(n);
	assert_non_null(doc);
	memcpy(doc, head, strlen(head));
	for (size_t i = 0; i < pad; i++)
		doc[strlen(head) + i] = " \t\r\n\f"[i % 5];
	memcpy(doc + strlen(head) + pad, tail, strlen(tail));
	check(doc, n, "application/pdf", 2, "A4");
	free(doc);
}

/* The t23 PDF: compact, no whitespace around names. */
static void test_pdf_compact(void **state)
{
	(void)state;
	check_str("%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages"
		  "/Kids[3 0 R]/Count 1>>endobj 3 0 obj<</Type/Page/Parent 2 0 R/MediaBox"
		  "[0 0 612 792]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n",
		  "application/pdf", 1, "Letter");
}

/* An incremental update appends a new root page tree: the last one wins
 * over the first root and over the page objects (5 in the file). */
static void test_pdf_update(void **state)
{
	char doc[20000];
	(void)state;
	snprintf(doc, sizeof(doc), "%s"
		 "2 0 obj\n<< /Type /Pages /Kids [10 0 R 11 0 R] /Count 2 >>\nendobj\n"
		 "%%%%EOF\n", pdf_doc(3, "[0 0 595 842]", 1));
	check_str(doc, "application/pdf", 2, "A4");
}

/* Subtrees have a /Parent and smaller counts; an outline's /Count is not
 * a page tree's. */
static void test_pdf_tree(void **state)
{
	(void)state;
	check_str("%PDF-1.5\n"
		  "1 0 obj<</Type/Outlines/Count 40>>endobj\n"
		  "2 0 obj<</Type/Pages/Kids[3 0 R 4 0 R]/Count 7/MediaBox[0 0 842 1191]>>endobj\n"
		  "3 0 obj<</Type/Pages/Parent 2 0 R/Count 4/Kids[]>>endobj\n"
		  "4 0 obj<</Type/Pages/Parent 2 0 R/Count 3/Kids[]>>endobj\n",
		  "application/pdf", 7, "A3");
}

/* Pages only inside compressed object streams: nothing to see, unknown. */
static void test_pdf_unknown(void **state)
{
	static const char doc[] =
		"%PDF-1.5\n5 0 obj<</Type/ObjStm/N 3/First 20/Filter/FlateDecode/Length 6>>"
		"stream\nx\x9c\0\x01(>\nendstream\nendobj\n%%EOF\n";
	(void)state;
	check(doc, sizeof(doc) - 1, "application/pdf", PL_PAGES_UNKNOWN, "");
	/* Hostile: unterminated string, deep nesting, huge count. */
	check_str("%PDF-1.4\n<<<<<<<<<<<<<<<<<<<<<<<</Type/Page>>>>>>>>>>>>>>>>>>>>>>>> (((",
		  "application/pdf", 0, "");
	check_str("%PDF-1.4\n<</Type/Pages/Count 99999999999>>", "application/pdf", 0, "");
	check_str("%PDF-1.4\n<</Type/Pages/Count 2000000>>", "application/pdf", 0, "");
	/* An indirect /Count is in an object we do not follow. */
	check_str("%PDF-1.4\n2 0 obj<</Type/Pages/Count 5 0 R/Kids[3 0 R]>>endobj\n"
		  "3 0 obj<</Type/Page/Parent 2 0 R>>endobj\n", "application/pdf", 1, "");
	check_str("%PDF-1.4\n2 0 obj<</Type/Pages/Count 5 /Kids[3 0 R]>>endobj\n",
		  "application/pdf", 5, "");
	/* No root, and updated: a page object may be counted twice. */
	check_str("%PDF-1.4\n3 0 obj<</Type/Page>>endobj\nstartxref\n9\n%%EOF\n"
		  "3 0 obj<</Type/Page/Rotate 90>>endobj\nstartxref\n99\n%%EOF\n",
		  "application/pdf", PL_PAGES_UNKNOWN, "");
}

/* PDF 1.5: the catalog, the page tree and the pages inside a compressed
 * object stream; only the cross-reference stream is plain. */
static void test_pdf_objstm(void **state)
{
	static const int nums[] = { 1, 2, 3, 4, 5, 6 };
	static const char *const body[] = {
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R 4 0 R 5 0 R 6 0 R] /Count 4 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595.28 841.89] >>",
		"<< /Type /Page /Parent 2 0 R >>", "<< /Type /Page /Parent 2 0 R >>",
		"<< /Type /Page /Parent 2 0 R >>",
	};
	buf_t b = { 0 };
	(void)state;
	putf(&b, "%%PDF-1.7\n%%\xe2\xe3\xcf\xd3\n");
	put_objstm(&b, 7, nums, body, 6, "", "\n");
	putf(&b, "8 0 obj\n<< /Type /XRef /W [1 2 1] /Size 9 /Root 1 0 R /Filter /FlateDecode "
		 "/DecodeParms << /Columns 4 /Predictor 12 >> /Length 3 >>\nstream\nxyz\nendstream\n"
		 "endobj\nstartxref\n0\n%%%%EOF\n");
	check_buf(&b, "application/pdf", 4, "A4");

	/* CRLF after "stream", and the page tree's root chosen by the
	 * catalog: a stray /Pages without /Parent comes after it. */
	static const int nums2[] = { 10, 11, 12 };
	static const char *const body2[] = {
		"<< /Type /Catalog /Pages 11 0 R >>",
		"<< /Type /Pages /Kids [] /Count 9 >>",
		"<< /Type /Pages /Kids [] /Count 2 >>",
	};
	putf(&b, "%%PDF-1.5\n");
	put_objstm(&b, 20, nums2, body2, 3, "", "\r\n");
	putf(&b, "%%%%EOF\n");
	check_buf(&b, "application/pdf", 9, "");

	/* The same objects in plain sight, the stray root last. */
	check_str("%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 3 0 R>>endobj\n"
		  "3 0 obj<</Type/Pages/Count 5/Kids[]>>endobj\n"
		  "9 0 obj<</Type/Pages/Count 2/Kids[]>>endobj\n%%EOF\n",
		  "application/pdf", 5, "");
}

/* Object streams that cannot be read, or are not worth reading: unknown
 * rather than a count that one of them could have changed. */
static void test_pdf_objstm_unread(void **state)
{
	static const int nums[] = { 1, 2 };
	static const char *const body[] = {
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [] /Count 3 >>",
	};
	buf_t b = { 0 };
	(void)state;
	/* A predictor we do not undo. */
	putf(&b, "%%PDF-1.5\n");
	put_objstm(&b, 7, nums, body, 2, " /DecodeParms << /Predictor 12 >>", "\n");
	check_buf(&b, "application/pdf", PL_PAGES_UNKNOWN, "");
	/* A plain root, then an update in a stream we cannot read. */
	putf(&b, "%%PDF-1.5\n2 0 obj<</Type/Pages/Kids[]/Count 5>>endobj\n");
	putf(&b, "7 0 obj<</Type/ObjStm/N 1/First 4/Filter/LZWDecode/Length 3>>stream\nabc\n"
		 "endstream\nendobj\n");
	check_buf(&b, "application/pdf", PL_PAGES_UNKNOWN, "");
	/* ... but a root after such a stream is newer than what it holds. */
	putf(&b, "%%PDF-1.5\n7 0 obj<</Type/ObjStm/N 1/First 4/Filter/LZWDecode/Length 3>>stream\n"
		 "abc\nendstream\nendobj\n2 0 obj<</Type/Pages/Kids[]/Count 5>>endobj\n");
	check_buf(&b, "application/pdf", 5, "");
	/* Cut inside the compressed data. */
	putf(&b, "%%PDF-1.5\n");
	put_objstm(&b, 7, nums, body, 2, "", "\n");
	b.len -= 30;
	check_buf(&b, "application/pdf", PL_PAGES_UNKNOWN, "");
	/* Corrupt compressed data ("endstream" where the data should go on). */
	putf(&b, "%%PDF-1.5\n");
	put_objstm(&b, 7, nums, body, 2, "", "\n");
	uint8_t *data = memmem(b.p, b.len, "stream\n", 7);
	assert_non_null(data);
	memcpy(data + 7 + 12, "\nendstream\n", 11);
	check_buf(&b, "application/pdf", PL_PAGES_UNKNOWN, "");
}

/* A zip bomb costs a fixed budget (16 MiB inflated per document): the
 * root behind it is not reached, and the count is unknown, not the page
 * objects seen elsewhere. */
static void test_pdf_objstm_bomb(void **state)
{
	size_t big = 17u * 1024 * 1024;
	char *pad = malloc(big + 64);
	buf_t b = { 0 };
	(void)state;
	memset(pad, ' ', big);
	strcpy(pad + big, "<< /Type /Pages /Kids [] /Count 3 >>");
	static const int nums[] = { 2 };
	const char *body[] = { pad };
	putf(&b, "%%PDF-1.5\n3 0 obj<</Type/Page/Parent 2 0 R>>endobj\n");
	put_objstm(&b, 7, nums, body, 1, "", "\n");
	free(pad);
	pl_docinfo_result_t r;
	info_of(b.p, b.len, 65536, &r);
	assert_int_equal(r.pages, PL_PAGES_UNKNOWN);
	free(b.p);
}

/* Many small object streams: after the 4096th, the rest are not read. */
static void test_pdf_objstm_many(void **state)
{
	static const int nums[] = { 2 };
	static const char *const junk[] = { "<< /Type /Font >>" };
	static const char *const root[] = { "<< /Type /Pages /Kids [] /Count 3 >>" };
	buf_t b = { 0 };
	(void)state;
	putf(&b, "%%PDF-1.5\n");
	for (int i = 0; i < 4095; i++)
		put_objstm(&b, 100 + i, nums, junk, 1, "", "\n");
	put_objstm(&b, 99, nums, root, 1, "", "\n");
	pl_docinfo_result_t r;
	info_of(b.p, b.len, b.len, &r);
	assert_int_equal(r.pages, 3);
	b.len = 0;
	putf(&b, "%%PDF-1.5\n");
	for (int i = 0; i < 4096; i++)
		put_objstm(&b, 100 + i, nums, junk, 1, "", "\n");
	put_objstm(&b, 99, nums, root, 1, "", "\n");
	info_of(b.p, b.len, b.len, &r);
	assert_int_equal(r.pages, PL_PAGES_UNKNOWN);
	free(b.p);
}

/* The linearization dictionary's /N, when its /L is the file's length. */
static void test_pdf_linearized(void **state)
{
	buf_t b = { 0 };
	char len[16];
	(void)state;
	/* Pages in a stream we cannot read: the /N alone tells. */
	putf(&b, "%%PDF-1.5\n1 0 obj<</Linearized 1/L 0000000000/N 12/H[10 20]/O 4/E 9/T 99>>"
		 "endobj\n7 0 obj<</Type/ObjStm/N 1/First 4/Filter/LZWDecode/Length 3>>stream\n"
		 "abc\nendstream\nendobj\n%%%%EOF\n");
	snprintf(len, sizeof(len), "%010zu", b.len);
	memcpy((uint8_t *)memmem(b.p, b.len, "/L ", 3) + 3, len, 10);
	buf_t c = { 0 };
	put(&c, b.p, b.len);
	check_buf(&c, "application/pdf", 12, "");
	/* Updated since: the length differs, the /N is stale. */
	putf(&b, "2 0 obj<</Type/Pages/Kids[]/Count 13>>endobj\n%%%%EOF\n");
	put(&c, b.p, b.len);
	check_buf(&c, "application/pdf", 13, "");
	/* Linearized, and a root that disagrees: unknown. */
	b.len = 0;
	putf(&b, "%%PDF-1.5\n1 0 obj<</Linearized 1/L 0000000000/N 12>>endobj\n"
		 "2 0 obj<</Type/Pages/Kids[]/Count 11>>endobj\n%%%%EOF\n");
	snprintf(len, sizeof(len), "%010zu", b.len);
	memcpy((uint8_t *)memmem(b.p, b.len, "/L ", 3) + 3, len, 10);
	check_buf(&b, "application/pdf", PL_PAGES_UNKNOWN, "");
	/* Not the first object: not a linearization dictionary. */
	putf(&b, "%%PDF-1.5\n2 0 obj<</Type/Font>>endobj\n1 0 obj<</Linearized 1/L 0000000000/N 12>>"
		 "endobj\n");
	snprintf(len, sizeof(len), "%010zu", b.len);
	memcpy((uint8_t *)memmem(b.p, b.len, "/L ", 3) + 3, len, 10);
	check_buf(&b, "application/pdf", PL_PAGES_UNKNOWN, "");
}

/* ---- PostScript --------------------------------------------------------- */

static void test_ps(void **state)
{
	(void)state;
	check_str("%!PS-Adobe-3.0\n%%Pages: 4\n%%EndComments\n%%Page: 1 1\nshowpage\n",
		  "application/postscript", 4, "");
	check_str("%!PS-Adobe-3.0\r\n%%Pages: (atend)\r\n%%Page: 1 1\r\n"
		  "%%BeginDocument: x.eps\r\n%%Pages: 9\r\n%%EndDocument\r\n"
		  "%%Trailer\r\n%%Pages: 2\r\n%%EOF",
		  "application/postscript", 2, "");
	/* No %%Pages: the %%Page: comments, not an embedded document's. */
	check_str("%!PS\n%%Page: 1 1\n%%BeginDocument\n%%Page: 1 1\n%%EndDocument\n"
		  "%%Page: 2 2\n(%%Page: 3 3) show\n%%Page: 3 3",
		  "application/postscript", 3, "");
	check_str("%!PS\nshowpage\n", "application/postscript", PL_PAGES_UNKNOWN, "");
	check_str("%!PS\n%%Pages: many\n", "application/postscript", PL_PAGES_UNKNOWN, "");
}

/* ---- PCL XL ------------------------------------------------------------- */

/* A PCL XL stream, low byte first (le) or high byte first. */
typedef struct {
	buf_t b;
	int le;
} xl_t;

static void xl_u16(xl_t *x, unsigned v)
{
	uint8_t p[2] = { (uint8_t)(x->le ? v : v >> 8), (uint8_t)(x->le ? v >> 8 : v) };
	put(&x->b, p, 2);
}

static void xl_u32(xl_t *x, uint32_t v)
{
	for (int i = 0; i < 4; i++) {
		uint8_t c = (uint8_t)(v >> (x->le ? 8 * i : 8 * (3 - i)));
		put(&x->b, &c, 1);
	}
}

static void xl_byte(xl_t *x, unsigned v)
{
	uint8_t c = (uint8_t)v;
	put(&x->b, &c, 1);
}

/* ubyte value, then the attribute id. */
static void xl_attr_ubyte(xl_t *x, unsigned v, unsigned attr)
{
	xl_byte(x, 0xc0);
	xl_byte(x, v);
	xl_byte(x, 0xf8);
	xl_byte(x, attr);
}

static void xl_attr_u16(xl_t *x, unsigned v, unsigned attr)
{
	xl_byte(x, 0xc1);
	xl_u16(x, v);
	xl_byte(x, 0xf8);
	xl_byte(x, attr);
}

/* Embedded data: each byte of it an operator's, if it were read as tags:
 * EndPage, BeginPage, ESC, UEL. */
static void xl_data(xl_t *x, size_t n, int byte_len)
{
	static const uint8_t fake[] = { 0x44, 0x43, 0x44, 0x1b, 0xfa, 0xff };
	if (byte_len) {
		xl_byte(x, 0xfb);
		xl_byte(x, (unsigned)n);
	} else {
		xl_byte(x, 0xfa);
		xl_u32(x, (uint32_t)n);
	}
	for (size_t i = 0; i < n; i++)
		put(&x->b, &fake[i % sizeof(fake)], 1);
}

/* One page: a rectangle (a box of uint16), text (a ubyte array and a
 * uint16-counted array of sint16), an image whose data is 300 bytes of
 * things that look like operators, a real32 pair. */
static void xl_page(xl_t *x)
{
	xl_attr_ubyte(x, 0, 0x28); /* Orientation */
	xl_attr_ubyte(x, 2, 0x25); /* MediaSize A4 */
	xl_byte(x, 0x43);	   /* BeginPage */
	xl_byte(x, 0xe1);	   /* uint16_box */
	xl_u16(x, 100), xl_u16(x, 100), xl_u16(x, 600), xl_u16(x, 400);
	xl_byte(x, 0xf8), xl_byte(x, 0x42); /* BoundingBox */
	xl_byte(x, 0xa0);		    /* Rectangle */
	xl_byte(x, 0xc8), xl_byte(x, 0xc0), xl_byte(x, 5);
	put(&x->b, "DCD\x1b\x44", 5); /* the text "DCD", ESC, 'D' */
	xl_byte(x, 0xf8), xl_byte(x, 0xab); /* TextData */
	xl_byte(x, 0xcb), xl_byte(x, 0xc1), xl_u16(x, 3);
	xl_u16(x, 0x4444), xl_u16(x, 0x1b44), xl_u16(x, 0x4343);
	xl_byte(x, 0xf8), xl_byte(x, 0xaf); /* XSpacingData */
	xl_byte(x, 0xa8);		    /* Text */
	xl_attr_ubyte(x, 1, 0x64);	    /* ColorMapping */
	xl_attr_ubyte(x, 0, 0x62);	    /* ColorDepth */
	xl_attr_u16(x, 100, 0x6c);	    /* SourceWidth */
	xl_attr_u16(x, 24, 0x6b);	    /* SourceHeight */
	xl_byte(x, 0xb0);		    /* BeginImage */
	xl_attr_u16(x, 0, 0x6d);	    /* StartLine */
	xl_attr_u16(x, 24, 0x63);	    /* BlockHeight */
	xl_attr_ubyte(x, 0, 0x65);	    /* CompressMode */
	xl_byte(x, 0xb1);		    /* ReadImage */
	xl_data(x, 300, 0);
	xl_byte(x, 0xb1);
	xl_data(x, 200, 1);
	xl_byte(x, 0xb2); /* EndImage */
	xl_byte(x, 0xd5); /* real32_xy */
	put(&x->b, "\0\0\x44\x43\0\0\x44\x44", 8);
	xl_byte(x, 0xf8), xl_byte(x, 0x4c); /* Point */
	xl_byte(x, 0x6b);		    /* SetCursor */
	xl_attr_u16(x, 1, 0x31);	    /* PageCopies */
	xl_byte(x, 0x44);		    /* EndPage */
}

static void xl_doc(xl_t *x, int le, int pages, int pjl)
{
	memset(x, 0, sizeof(*x));
	x->le = le;
	if (pjl)
		putf(&x->b, "\x1b%%-12345X@PJL JOB NAME=\"x\"\r\n@PJL SET RESOLUTION=600\r\n"
			    "@PJL ENTER LANGUAGE=PCLXL\r\n");
	putf(&x->b, "%c HP-PCL XL;2;0;Comment, written by test_docinfo\n", le ? ')' : '(');
	xl_byte(x, 0xd1), xl_u16(x, 600), xl_u16(x, 600);
	xl_byte(x, 0xf8), xl_byte(x, 0x89); /* UnitsPerMeasure */
	xl_attr_ubyte(x, 0, 0x86);	    /* Measure */
	xl_byte(x, 0x41);		    /* BeginSession */
	xl_attr_ubyte(x, 0, 0x88);	    /* SourceType */
	xl_attr_ubyte(x, le ? 1 : 0, 0x82); /* DataOrg */
	xl_byte(x, 0x48);		    /* OpenDataSource */
	for (int i = 0; i < pages; i++)
		xl_page(x);
	xl_byte(x, 0x49); /* CloseDataSource */
	xl_byte(x, 0x42); /* EndSession */
	if (pjl)
		putf(&x->b, "\x1b%%-12345X@PJL EOJ\r\n\x1b%%-12345X");
}

static void test_pclxl(void **state)
{
	xl_t x;
	(void)state;
	xl_doc(&x, 1, 3, 1);
	check_buf(&x.b, "application/vnd.hp-pcl", 3, "");
	xl_doc(&x, 0, 2, 1); /* high byte first: lengths read the other way */
	check_buf(&x.b, "application/vnd.hp-pcl", 2, "");
	xl_doc(&x, 1, 1, 0); /* no PJL: the stream header alone */
	check_buf(&x.b, "application/vnd.hp-pcl", 1, "");
	xl_doc(&x, 1, 0, 1); /* a session without pages */
	check_buf(&x.b, "application/vnd.hp-pcl", PL_PAGES_UNKNOWN, "");
}

static void test_pclxl_unknown(void **state)
{
	xl_t x;
	(void)state;
	/* Cut inside the image data, or after BeginPage. */
	xl_doc(&x, 1, 2, 1);
	x.b.len -= 400;
	check_buf(&x.b, "application/vnd.hp-pcl", PL_PAGES_UNKNOWN, "");
	xl_doc(&x, 1, 1, 0);
	xl_attr_ubyte(&x, 0, 0x28);
	xl_byte(&x, 0x43);
	check_buf(&x.b, "application/vnd.hp-pcl", PL_PAGES_UNKNOWN, "");
	/* A tag that is not PCL XL's; an EndPage outside a page; an
	 * ExecStream; a byte that is not an operator any printer knows. */
	static const uint8_t bad[] = { 0xf0, 0x44, 0x5e, 0x45 };
	for (size_t i = 0; i < sizeof(bad); i++) {
		xl_doc(&x, 1, 1, 0);
		xl_byte(&x, bad[i]);
		check_buf(&x.b, "application/vnd.hp-pcl", PL_PAGES_UNKNOWN, "");
	}
	/* The ASCII binding, a protocol class we do not know, no header. */
	check_str("\x1b%-12345X@PJL ENTER LANGUAGE=PCLXL\r\n' HP-PCL XL;2;0\nBeginPage EndPage",
		  "application/vnd.hp-pcl", PL_PAGES_UNKNOWN, "");
	check_str("\x1b%-12345X@PJL ENTER LANGUAGE=PCLXL\r\n) HP-PCL XL;7;0\n\x43\x44",
		  "application/vnd.hp-pcl", PL_PAGES_UNKNOWN, "");
	check_str("\x1b%-12345X@PJL ENTER LANGUAGE=PCLXL\r\n\x43\x44",
		  "application/vnd.hp-pcl", PL_PAGES_UNKNOWN, "");
	/* Something other than a UEL after ESC. */
	xl_doc(&x, 1, 1, 0);
	putf(&x.b, "\x1b" "E");
	check_buf(&x.b, "application/vnd.hp-pcl", PL_PAGES_UNKNOWN, "");
}

/* ---- PCL 5 -------------------------------------------------------------- */

#define UEL "\x1b%-12345X"
#define PJL_PCL UEL "@PJL JOB\r\n@PJL ENTER LANGUAGE=PCL\r\n"
#define PJL_END UEL "@PJL EOJ\r\n" UEL

static void check_pcl(const char *doc, uint32_t pages)
{
	check(doc, strlen(doc), "application/vnd.hp-pcl", pages, "");
}

/* Form feeds, resets, and the last page without one. */
static void test_pcl5(void **state)
{
	(void)state;
	check_pcl(PJL_PCL "\x1b" "E\x1b&l26A\x1b(s0p12h10v0s0b3T\x1b*p300x400YHello\f"
		  "\x1b*p300x400YWorld\f\x1b" "E" PJL_END, 2);
	check_pcl("\x1b" "Eone\ftwo\x1b" "E", 2);  /* the reset prints the last */
	check_pcl("\x1b" "Eone\ftwo", 2);	      /* and so does the end */
	check_pcl("\x1b" "E\f\f\x1b" "E", 2);      /* a form feed ejects a blank page */
	check_pcl("\x1b" "Eone\x1b&l0Htwo\x1b&l0H\x1b&l0H\x1b" "E", 2); /* unmarked: none */
	check_pcl("\x1b" "Eone\x1b&l2Htwo\x1b&l1S\x1b&a0G\x1b&l26A", 2);
	/* Combined commands, fonts, patterns and rasters carry bytes that
	 * look like form feeds and escapes: skipped exactly. */
	check_pcl("\x1b" "E\x1b)s8W\f\f\x1b" "E\f\f\x1b" "E\x1b*c50a60b0P\x1b*t300R\x1b*r0A"
		  "\x1b*b2m3W\f\x1b\f\x1b*b0y2W\x0c\x0c\x1b*rC\x1b&l0H"
		  "\x1b*r1A\x1b*b4V\f\f\f\f\x1b*b1W\x1b\x1b*rB\f"
		  "\x1b&p3X\f\f\fabc\x1b(f2W\f\f\x1b*c1W\f\f", 3);
	/* An unknown two-character command's character is text. */
	check_pcl("\x1b" "E\x1b" "B", 1);
	/* Value fields as the printers read them. */
	check_pcl("\x1b" "E\x1b&l 2 6 a0o+0.5E\x1b&k2G\x1b(8U\x1b(s+1.50P\x1b&a-5.5R!\f", 1);
}

/* Line feeds: followed while they cannot reach the bottom margin. */
static void test_pcl5_lines(void **state)
{
	char doc[16384];
	size_t len;
	(void)state;
	/* Three pages of 40 lines, each ended by a form feed. */
	len = (size_t)snprintf(doc, sizeof(doc), "\x1b" "E");
	for (int p = 0; p < 3; p++) {
		for (int l = 0; l < 40; l++)
			len += (size_t)snprintf(doc + len, sizeof(doc) - len, "line %d\r\n", l);
		len += (size_t)snprintf(doc + len, sizeof(doc) - len, "\f");
	}
	check_pcl(doc, 3);
	/* 60 lines then a form feed: on A4 (64 lines) two pages; on Letter
	 * (60 lines) the line feed after the 60th ejects a page of its own,
	 * and on paper we do not know it might. */
	for (int paper = 0; paper < 3; paper++) {
		len = (size_t)snprintf(doc, sizeof(doc), "\x1b" "E%s",
				       paper == 0 ? "\x1b&l26a0O" : paper == 1 ? "\x1b&l2a0O" : "");
		for (int p = 0; p < 2; p++) {
			for (int l = 0; l < 60; l++)
				len += (size_t)snprintf(doc + len, sizeof(doc) - len, "line %d\r\n", l);
			len += (size_t)snprintf(doc + len, sizeof(doc) - len, "\f");
		}
		check_pcl(doc, paper == 0 ? 2 : PL_PAGES_UNKNOWN);
	}
	/* 8 lines an inch: 80 lines fit A4; 12 lines an inch and a short
	 * text length: they do not. */
	len = (size_t)snprintf(doc, sizeof(doc), "\x1b" "E\x1b&l26a0o8D");
	for (int l = 0; l < 80; l++)
		len += (size_t)snprintf(doc + len, sizeof(doc) - len, "l\n");
	check_pcl(doc, 1);
	/* The line spacing set before the paper: perhaps the default again. */
	check_pcl("\x1b" "E\x1b&l8d26a0Oa\nb\f", PL_PAGES_UNKNOWN);
	len = (size_t)snprintf(doc, sizeof(doc), "\x1b" "E\x1b&l26a0o12d20F");
	for (int l = 0; l < 30; l++)
		len += (size_t)snprintf(doc + len, sizeof(doc) - len, "l\n");
	check_pcl(doc, PL_PAGES_UNKNOWN);
	/* After the cursor was placed, a line feed could be the last. */
	check_pcl("\x1b" "E\x1b*p0x3000Ytext\r\nmore\f", PL_PAGES_UNKNOWN);
	check_pcl("\x1b" "E\x1b&a60Rtext\r\nmore\f", PL_PAGES_UNKNOWN);
	check_pcl("\x1b" "E\x1b*p0x3000Ytext\fmore\r\nmore\f", 2); /* a new page */
	/* PJL's FORMLINES: the line spacing is not the factory's. */
	check_pcl(UEL "@PJL SET FORMLINES=5\r\n@PJL ENTER LANGUAGE=PCL\r\n\x1b" "Ea\r\nb\f",
		  PL_PAGES_UNKNOWN);
	check_pcl(UEL "@PJL SET FORMLINES=5\r\n@PJL ENTER LANGUAGE=PCL\r\n\x1b" "E\x1b&l6Da\r\nb\f",
		  1);
	check_pcl(UEL "@PJL DEFAULT LPARM:PCL FORMLINES = 5\r\n@PJL ENTER LANGUAGE=PCL\r\n"
		  "\x1b" "Ea\nb\f", PL_PAGES_UNKNOWN);
	/* PJL's PAPER: A5 is smaller than we assume, unless the job says. */
	check_pcl(UEL "@PJL SET PAPER=A5\r\n@PJL ENTER LANGUAGE=PCL\r\n\x1b" "Ea\nb\f",
		  PL_PAGES_UNKNOWN);
	check_pcl(UEL "@PJL SET PAPER=A5\r\n@PJL ENTER LANGUAGE=PCL\r\n\x1b" "E\x1b&l25Aa\nb\f", 1);
	check_pcl(UEL "@PJL SET PAPER=A5\r\n@PJL ENTER LANGUAGE=PCL\r\n\x1b" "Ea\fb\f", 2);
	/* CR is CR-LF (the job says so, or PJL may have), and text wraps at
	 * the margin. */
	check_pcl("\x1b" "E\x1b&k1G\x1b*p0x3000Ya\rb\f", PL_PAGES_UNKNOWN);
	check_pcl("\x1b" "E\x1b*p0x3000Ya\rb\f", 1);
	check_pcl(UEL "@PJL SET LPARM:PCL LINETERMINATION=ON\r\n@PJL ENTER LANGUAGE=PCL\r\n"
		  "\x1b" "E\x1b*p0x3000Ya\rb\f", PL_PAGES_UNKNOWN);
	check_pcl("\x1b" "E\x1b&s0Ca very long line\f", PL_PAGES_UNKNOWN);
}

static void test_pcl5_unknown(void **state)
{
	(void)state;
	check_pcl("\x1b" "E\x1b%0BIN;PD0,0,100,100;\x1b%0A\f", PL_PAGES_UNKNOWN); /* HP-GL/2 */
	check_pcl("\x1b" "E\x1b&f1y0X\f\x1b&f1X\x1b&f1y3X", PL_PAGES_UNKNOWN);	/* a macro */
	check_pcl("\x1b" "E   \x1b" "E", PL_PAGES_UNKNOWN);   /* spaces: marked or not? */
	check_pcl("\x1b" "E\x80\x1b" "E", PL_PAGES_UNKNOWN);	/* a byte it may not print */
	check_pcl("\x1b" "Eabc\x1b&l1O", PL_PAGES_UNKNOWN);	/* perhaps the orientation already */
	check_pcl("\x1b" "E\x1b&l0Oabc\x1b&l1Odef", 2);	/* a change: a new page */
	check_pcl("\x1b" "E\x1b&l0Oabc\x1b&l0Odef", 1);	/* the same: ignored */
	check_pcl("\x1b" "E\x1b*b-5Wabcde\f", PL_PAGES_UNKNOWN);   /* negative data length */
	check_pcl("\x1b" "E\x1b*b5Wabc", PL_PAGES_UNKNOWN);	     /* cut inside data */
	check_pcl("\x1b" "Eabc\x1b*p", PL_PAGES_UNKNOWN);	     /* cut inside a sequence */
	check_pcl("\x1b" "E\x1b&t21Pab\f", PL_PAGES_UNKNOWN);	     /* two bytes a character */
	check_pcl("\x1b" "EY\x1bYab\fc\x1bZ", PL_PAGES_UNKNOWN);    /* display functions */
	check_pcl("\x1b" "Eabc\x1b&a10W0123456789", PL_PAGES_UNKNOWN); /* the page erased */
	check_pcl("\x1b" "E\x1b*b0W\x1b" "E", PL_PAGES_UNKNOWN);  /* a seed row, repeated? */
	check_pcl("\x1b" "E\x1b*c0P\x1b" "E", PL_PAGES_UNKNOWN);   /* a rectangle of no size */
	check_pcl("\x1b" "E\x1b*c300a2b0P\x1b" "E", PL_PAGES_UNKNOWN); /* 2 dots high */
	check_pcl("\x1b" "E\x1b*c300a20b0P\x1b" "E", 1);
}

/* PJL: sections in several languages, summed; a language we do not
 * count, or bytes no language claims, make the whole count unknown. */
static void test_pjl(void **state)
{
	buf_t b = { 0 };
	xl_t x;
	(void)state;
	puts_(&b, UEL "@PJL COMMENT a job in four languages\r\n@PJL ENTER LANGUAGE = pcl\r\n"
		  "\x1b" "Eone\ftwo\f" UEL "@PJL ENTER LANGUAGE=POSTSCRIPT\n"
		  "%!PS-Adobe-3.0\n%%Pages: 2\n%%EndComments\nshowpage showpage\n"
		  UEL "@PJL ENTER LANGUAGE=PDF\r\n");
	puts_(&b, pdf_doc(3, "[0 0 612 792]", 1));
	puts_(&b, UEL);
	xl_doc(&x, 1, 2, 1);
	put(&b, x.b.p, x.b.len);
	free(x.b.p);
	check_buf(&b, "application/vnd.hp-pcl", 2 + 2 + 3 + 2, "");

	/* Switched by the first bytes, without ENTER LANGUAGE. */
	check_pcl(UEL "@PJL JOB\r\n%!PS\n%%Pages: 4\n" UEL, 4);
	check_pcl(UEL "\x1b" "Eabc\f" UEL "\x1b" "Edef\f" UEL, 2);
	/* A UEL cut short in PostScript is PostScript's. */
	check_pcl(UEL "@PJL ENTER LANGUAGE=POSTSCRIPT\r\n%!PS\n%%Pages: 3\n\x1b%-123", 3);

	check_pcl(UEL "@PJL ENTER LANGUAGE=ZJS\r\nabc" UEL, PL_PAGES_UNKNOWN);
	check_pcl(UEL "@PJL JOB\r\nplain text\f" UEL, PL_PAGES_UNKNOWN);
	check_pcl(UEL "@PJL ENTER LANGUAGE=POSTSCRIPT\r\n%!PS\nshowpage\n" UEL, PL_PAGES_UNKNOWN);
	check_pcl(UEL "@PJL ENTER LANGUAGE=PCL\r\n\x1b" "Eabc\f" UEL
		  "@PJL ENTER LANGUAGE=PCL\r\n\x1b%1B" UEL, PL_PAGES_UNKNOWN);
	check_pcl(UEL "@PJL JOB\r\n@PJL EOJ\r\n" UEL, PL_PAGES_UNKNOWN); /* no pages at all */
	check_pcl("@PJL JOB\r\n@PJX\r\n\x1b" "Ea\f", PL_PAGES_UNKNOWN);
}

/* ---- rasters, written by libcups ---------------------------------------- */

static size_t write_raster(cups_mode_t mode, const char *sizes[], int n, uint8_t **out)
{
	FILE *f = tmpfile();
	size_t len;
	assert_non_null(f);
	cups_raster_t *r = cupsRasterOpen(fileno(f), mode);
	assert_non_null(r);
	for (int i = 0; i < n; i++) {
		cups_page_header2_t h;
		pwg_media_t *m = pwgMediaForPWG(sizes[i]);
		assert_non_null(m);
		assert_true(cupsRasterInitPWGHeader(&h, m, "sgray_8", 72, 72, "one-sided", NULL));
		assert_true(cupsRasterWriteHeader2(r, &h));
		unsigned char *line = malloc(h.cupsBytesPerLine);
		for (unsigned y = 0; y < h.cupsHeight; y++) {
			for (unsigned x = 0; x < h.cupsBytesPerLine; x++)
				line[x] = (unsigned char)(y % 7 == 0 ? 255 : (x * y) & 0xff);
			assert_int_equal(cupsRasterWritePixels(r, line, h.cupsBytesPerLine),
					 h.cupsBytesPerLine);
		}
		free(line);
	}
	cupsRasterClose(r);
	len = (size_t)ftell(f);
	*out = malloc(len);
	rewind(f);
	assert_int_equal(fread(*out, 1, len, f), len);
	fclose(f);
	return len;
}

static void test_pwg(void **state)
{
	const char *sizes[] = { "iso_a4_210x297mm", "na_letter_8.5x11in", "iso_a4_210x297mm" };
	uint8_t *doc;
	(void)state;
	size_t n = write_raster(CUPS_RASTER_WRITE_PWG, sizes, 3, &doc);
	check(doc, n, "image/pwg-raster", 3, "A4");
	/* Cut short: unknown, not 2. */
	check(doc, n - 10, "image/pwg-raster", PL_PAGES_UNKNOWN, "");
	/* A run that overflows its line. */
	doc[4 + 1796 + 1] = 0x7f;
	doc[4 + 1796 + 2] = 0x7f;
	pl_docinfo_result_t r;
	info_of(doc, n, n, &r);
	assert_true(r.pages == PL_PAGES_UNKNOWN || r.pages == 3);
	free(doc);
	sizes[0] = "na_letter_8.5x11in";
	n = write_raster(CUPS_RASTER_WRITE_PWG, sizes, 1, &doc);
	check(doc, n, "image/pwg-raster", 1, "Letter");
	free(doc);
}

static void test_urf(void **state)
{
	const char *sizes[] = { "iso_a4_210x297mm", "iso_a4_210x297mm" };
	uint8_t *doc;
	(void)state;
	size_t n = write_raster(CUPS_RASTER_WRITE_APPLE, sizes, 2, &doc);
	check(doc, n, "image/urf", 2, "A4");
	check(doc, n - 1, "image/urf", PL_PAGES_UNKNOWN, "");
	free(doc);
}

/* ---- the rest ----------------------------------------------------------- */

static void test_others(void **state)
{
	(void)state;
	check("\xff\xd8\xff\xe0\0\x10JFIF", 10, "image/jpeg", 1, "");
	check("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16, "image/png", 1, "");
	check_str("\x1b%-12345X@PJL ENTER LANGUAGE=PCL\r\n\x1b" "Epage\f\f",
		  "application/vnd.hp-pcl", 2, "");
	check_str("plain\ftext\f", "text/plain", PL_PAGES_UNKNOWN, "");
	check("", 0, "application/octet-stream", PL_PAGES_UNKNOWN, "");
	check("\0\1\2\3", 4, "application/octet-stream", PL_PAGES_UNKNOWN, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sniff),
		cmocka_unit_test(test_size_names),
		cmocka_unit_test(test_pdf),
		cmocka_unit_test(test_pdf_padding),
		cmocka_unit_test(test_pdf_compact),
		cmocka_unit_test(test_pdf_update),
		cmocka_unit_test(test_pdf_tree),
		cmocka_unit_test(test_pdf_unknown),
		cmocka_unit_test(test_pdf_objstm),
		cmocka_unit_test(test_pdf_objstm_unread),
		cmocka_unit_test(test_pdf_objstm_bomb),
		cmocka_unit_test(test_pdf_objstm_many),
		cmocka_unit_test(test_pdf_linearized),
		cmocka_unit_test(test_ps),
		cmocka_unit_test(test_pclxl),
		cmocka_unit_test(test_pclxl_unknown),
		cmocka_unit_test(test_pcl5),
		cmocka_unit_test(test_pcl5_lines),
		cmocka_unit_test(test_pcl5_unknown),
		cmocka_unit_test(test_pjl),
		cmocka_unit_test(test_pwg),
		cmocka_unit_test(test_urf),
		cmocka_unit_test(test_others),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
