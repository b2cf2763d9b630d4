/* make bench [10]: messages converted to PDF per second through
 * pl_mail_to_pdf (the jailed child, MuPDF), for a fixed corpus: a plain
 * text mail, an HTML mail with three cid: images, a mail with a 50-page
 * PDF attached.
 *
 *   bench_mail convert ROUNDS   each message ROUNDS times: prints
 *                               "all text html pdf" in messages/s and the
 *                               pages of each PDF
 *   bench_mail jail ROUNDS      the floor: the bare jail (fork, confine,
 *                               an empty fn, reap) ROUNDS times: runs/s
 *   bench_mail corpus DIR       the bodies as files (mail.txt, mail.html,
 *                               fifty.pdf) for an outside converter
 *                               (LibreOffice, when installed) */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <mupdf/fitz.h>
#include <mupdf/pdf.h>

#include "bench.h"
#include "pl_jail.h"
#include "pl_mail.h"
#include "pl_util.h"

typedef struct {
	char *p;
	size_t len, cap;
} sbuf_t;

static void sadd(sbuf_t *b, const void *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->p = realloc(b->p, b->cap);
		if (!b->p)
			exit(BENCH_EXIT_FAIL);
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
}

static void sfmt(sbuf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sfmt(sbuf_t *b, const char *fmt, ...)
{
	char tmp[4096];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	sadd(b, tmp, (size_t)n);
}

static void sb64(sbuf_t *b, const unsigned char *d, size_t n)
{
	static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)d[i] << 16 | (i + 1 < n ? (uint32_t)d[i + 1] << 8 : 0) |
			     (i + 2 < n ? d[i + 2] : 0);
		char q[4] = {t[v >> 18], t[(v >> 12) & 63], i + 1 < n ? t[(v >> 6) & 63] : '=',
			     i + 2 < n ? t[v & 63] : '='};
		sadd(b, q, 4);
		if (i % 57 == 54)
			sadd(b, "\r\n", 2);
	}
	sadd(b, "\r\n", 2);
}

/* A 50-page PDF with some text on each page, and a PNG photo-sized. */
static fz_buffer *make_pdf(fz_context *ctx, int pages)
{
	pdf_document *doc = pdf_create_document(ctx);
	fz_font *font = fz_new_base14_font(ctx, "Helvetica");
	for (int i = 0; i < pages; i++) {
		fz_rect mb = fz_make_rect(0, 0, 595, 842);
		pdf_obj *res = NULL;
		fz_buffer *contents = NULL;
		fz_device *dev = pdf_page_write(ctx, doc, mb, &res, &contents);
		fz_text *text = fz_new_text(ctx);
		for (int l = 0; l < 40; l++) {
			char line[80];
			snprintf(line, sizeof(line), "Page %d, line %d: the quick brown fox jumps", i + 1, l);
			fz_show_string(ctx, text, font, fz_translate(72, 800 - 18 * l), line, 0, 0,
				       FZ_BIDI_LTR, FZ_LANG_UNSET);
		}
		float black = 0;
		fz_fill_text(ctx, dev, text, fz_identity, fz_device_gray(ctx), &black, 1,
			     fz_default_color_params);
		fz_drop_text(ctx, text);
		fz_close_device(ctx, dev);
		fz_drop_device(ctx, dev);
		pdf_obj *page = pdf_add_page(ctx, doc, mb, 0, res, contents);
		pdf_insert_page(ctx, doc, -1, page);
		pdf_drop_obj(ctx, page);
		pdf_drop_obj(ctx, res);
		fz_drop_buffer(ctx, contents);
	}
	fz_drop_font(ctx, font);
	fz_buffer *buf = fz_new_buffer(ctx, 4096);
	fz_output *out = fz_new_output_with_buffer(ctx, buf);
	pdf_write_document(ctx, doc, out, NULL);
	fz_close_output(ctx, out);
	fz_drop_output(ctx, out);
	pdf_drop_document(ctx, doc);
	return buf;
}

static fz_buffer *make_png(fz_context *ctx, int w, int h)
{
	fz_pixmap *pix = fz_new_pixmap(ctx, fz_device_rgb(ctx), w, h, NULL, 0);
	unsigned char *s = fz_pixmap_samples(ctx, pix);
	for (int i = 0; i < w * h * 3; i++)
		s[i] = (unsigned char)((i * 7) ^ (i / (w * 3)));
	fz_buffer *b = fz_new_buffer_from_pixmap_as_png(ctx, pix, fz_default_color_params);
	fz_drop_pixmap(ctx, pix);
	return b;
}

static const char *HEAD = "From: Alice <alice@example.com>\r\nTo: print@example.com\r\n"
			  "Subject: bench\r\nMIME-Version: 1.0\r\n";

static void text_body(sbuf_t *b)
{
	for (int i = 0; i < 60; i++)
		sfmt(b, "Paragraph %d. Dear colleague, please find the figures for this quarter "
			"below; the totals are in the last column.\r\n", i);
}

static void html_body(sbuf_t *b)
{
	sfmt(b, "<html><body><h1>Newsletter</h1>");
	for (int i = 0; i < 3; i++)
		sfmt(b, "<h2>Item %d</h2><p>Some <b>rich</b> text around an image.</p>"
			"<img src=\"cid:img%d@bench\" width=\"300\"/>", i, i);
	sfmt(b, "</body></html>\r\n");
}

static void corpus(sbuf_t msg[3], fz_buffer **pdf_out)
{
	fz_context *ctx = fz_new_context(NULL, NULL, FZ_STORE_DEFAULT);
	sfmt(&msg[0], "%sContent-Type: text/plain; charset=utf-8\r\n\r\n", HEAD);
	text_body(&msg[0]);
	sfmt(&msg[1], "%sContent-Type: multipart/related; boundary=R\r\n\r\n--R\r\n"
		      "Content-Type: text/html; charset=utf-8\r\n\r\n", HEAD);
	html_body(&msg[1]);
	for (int i = 0; i < 3; i++) {
		fz_buffer *png = make_png(ctx, 400, 300);
		unsigned char *d;
		size_t n = fz_buffer_storage(ctx, png, &d);
		sfmt(&msg[1], "--R\r\nContent-Type: image/png\r\nContent-ID: <img%d@bench>\r\n"
			      "Content-Transfer-Encoding: base64\r\n\r\n", i);
		sb64(&msg[1], d, n);
		fz_drop_buffer(ctx, png);
	}
	sfmt(&msg[1], "--R--\r\n");
	fz_buffer *pdf = make_pdf(ctx, 50);
	unsigned char *d;
	size_t n = fz_buffer_storage(ctx, pdf, &d);
	sfmt(&msg[2], "%sContent-Type: multipart/mixed; boundary=M\r\n\r\n--M\r\n"
		      "Content-Type: text/plain\r\n\r\nThe report is attached.\r\n--M\r\n"
		      "Content-Type: application/pdf; name=report.pdf\r\n"
		      "Content-Disposition: attachment; filename=report.pdf\r\n"
		      "Content-Transfer-Encoding: base64\r\n\r\n", HEAD);
	sb64(&msg[2], d, n);
	sfmt(&msg[2], "--M--\r\n");
	if (pdf_out) {
		*pdf_out = pdf;
		return; /* the context leaks with it: a one-shot mode */
	}
	fz_drop_buffer(ctx, pdf);
	fz_drop_context(ctx);
}

static int empty_fn(int in, int out, void *arg)
{
	(void)in;
	(void)out;
	(void)arg;
	return 0;
}

static int write_file(const char *dir, const char *name, const void *d, size_t n)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	if (!f || fwrite(d, 1, n, f) != n)
		return -1;
	return fclose(f);
}

int main(int argc, char **argv)
{
	if (argc != 3 || !strcmp(argv[1], "--help")) {
		fprintf(stderr, "usage: bench_mail convert ROUNDS | jail ROUNDS | corpus DIR\n");
		return argc == 2 && !strcmp(argv[1], "--help") ? 0 : BENCH_EXIT_FAIL;
	}
	if (!strcmp(argv[1], "corpus")) {
		sbuf_t msg[3] = {{0}};
		fz_buffer *pdf;
		corpus(msg, &pdf);
		sbuf_t t = {0}, h = {0};
		text_body(&t);
		html_body(&h);
		unsigned char *d;
		size_t n = fz_buffer_storage(NULL, pdf, &d);
		if (write_file(argv[2], "mail.txt", t.p, t.len) < 0 ||
		    write_file(argv[2], "mail.html", h.p, h.len) < 0 ||
		    write_file(argv[2], "fifty.pdf", d, n) < 0) {
			perror("bench_mail corpus");
			return BENCH_EXIT_FAIL;
		}
		return 0;
	}
	int rounds = atoi(argv[2]);
	if (rounds < 1 || rounds > 10000)
		return BENCH_EXIT_FAIL;
	if (!strcmp(argv[1], "jail")) {
		int fd = memfd_create("j", MFD_CLOEXEC);
		uint64_t t0 = bench_now_ns();
		for (int i = 0; i < rounds; i++) {
			pl_jail_result_t r;
			if (pl_jail_run(NULL, fd, fd, empty_fn, NULL, &r) < 0) {
				fprintf(stderr, "bench_mail: jail: %s\n", r.msg);
				return BENCH_EXIT_FAIL;
			}
		}
		double s = (double)(bench_now_ns() - t0) / 1e9;
		printf("%.1f\n", rounds / s);
		return 0;
	}
	sbuf_t msg[3] = {{0}};
	corpus(msg, NULL);
	pl_mail_opts_t o;
	pl_mail_opts_default(&o);
	double rate[3];
	unsigned pages[3] = {0, 0, 0};
	double total = 0;
	for (int m = 0; m < 3; m++) {
		int in = memfd_create("msg", MFD_CLOEXEC), out = memfd_create("pdf", MFD_CLOEXEC);
		if (in < 0 || out < 0 || pl_write_all(in, msg[m].p, msg[m].len) < 0)
			return BENCH_EXIT_FAIL;
		uint64_t t0 = bench_now_ns();
		for (int i = 0; i < rounds; i++) {
			pl_mail_result_t r;
			pl_err_t err;
			int rc = pl_mail_to_pdf(in, out, &o, &r, &err);
			if (rc != 0) {
				fprintf(stderr, "bench_mail: message %d: %s\n", m,
					rc == -1 ? err.msg : r.reason);
				return BENCH_EXIT_FAIL;
			}
			pages[m] = r.pages;
		}
		double s = (double)(bench_now_ns() - t0) / 1e9;
		rate[m] = rounds / s;
		total += s;
		close(in);
		close(out);
	}
	printf("%.2f %.2f %.2f %.2f %u %u %u\n", 3 * rounds / total, rate[0], rate[1], rate[2],
	       pages[0], pages[1], pages[2]);
	return 0;
}
