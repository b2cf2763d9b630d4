/* Writes the generated seeds of fuzz_docinfo (the text seeds are plain
 * printf output): the two rasters with libcups' own raster writer, a PDF
 * whose pages live in a compressed object stream with zlib, and PCL XL,
 * PCL 5 and a PJL job of several languages byte by byte:
 *
 *   cc tests/fuzz/gen-docinfo-seeds.c -o /tmp/gen-docinfo-seeds -lcups -lz
 *   D=tests/fuzz/corpus/fuzz_docinfo
 *   /tmp/gen-docinfo-seeds pwg $D/pwg-two-pages
 *   /tmp/gen-docinfo-seeds urf $D/urf-two-pages
 *   /tmp/gen-docinfo-seeds pdf-objstm $D/pdf-objstm
 *   /tmp/gen-docinfo-seeds pclxl $D/pclxl-two-pages
 *   /tmp/gen-docinfo-seeds pcl5 $D/pcl5-three-pages
 *   /tmp/gen-docinfo-seeds pjl $D/pjl-four-languages
 *
 * Each is a chunking seed byte, then a small document (two pages where
 * it has pages), so a mutation is cheap to run. */
#include <cups/raster.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

static unsigned char doc[8192];
static size_t len;

static void put(const void *p, size_t n)
{
	if (len + n > sizeof(doc))
		exit(1);
	memcpy(doc + len, p, n);
	len += n;
}

static void puts_(const char *s) { put(s, strlen(s)); }
static void byte(unsigned v) { unsigned char c = (unsigned char)v; put(&c, 1); }
static void u16le(unsigned v) { byte(v & 0xff); byte(v >> 8); }

static int raster(int fd, int pwg)
{
	cups_raster_t *r = cupsRasterOpen(fd, pwg ? CUPS_RASTER_WRITE_PWG : CUPS_RASTER_WRITE_APPLE);
	pwg_media_t *m = pwgMediaForPWG("oe_small_0.4x0.4in");
	if (!m) m = pwgMediaForSize(1000, 1000);
	for (int p = 0; p < 2; p++) {
		cups_page_header2_t h;
		cupsRasterInitPWGHeader(&h, m, p ? "srgb_8" : "sgray_8", 72, 72, "one-sided", NULL);
		cupsRasterWriteHeader2(r, &h);
		unsigned char *line = calloc(1, h.cupsBytesPerLine);
		for (unsigned y = 0; y < h.cupsHeight; y++) {
			for (unsigned x = 0; x < h.cupsBytesPerLine; x++) line[x] = (unsigned char)(y & 1 ? x : 255);
			cupsRasterWritePixels(r, line, h.cupsBytesPerLine);
		}
		free(line);
	}
	cupsRasterClose(r);
	return 0;
}

/* Catalog, page tree and two pages in one deflated object stream. */
static void pdf_objstm(void)
{
	static const char *const objs[] = {
		"<< /Type /Catalog /Pages 2 0 R >>\n",
		"<< /Type /Pages /Kids [3 0 R 4 0 R] /Count 2 >>\n",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>\n",
		"<< /Type /Page /Parent 2 0 R >>\n",
	};
	char plain[512], head[160];
	size_t hlen = 0, off = 0;
	unsigned char z[512];
	uLongf zlen = sizeof(z);
	for (int i = 0; i < 4; off += strlen(objs[i]), i++)
		hlen += (size_t)snprintf(plain + hlen, sizeof(plain) - hlen, "%d %zu ", i + 1, off);
	size_t first = hlen;
	for (int i = 0; i < 4; i++)
		hlen += (size_t)snprintf(plain + hlen, sizeof(plain) - hlen, "%s", objs[i]);
	if (compress2(z, &zlen, (const Bytef *)plain, hlen, 9) != Z_OK)
		exit(1);
	puts_("%PDF-1.5\n");
	snprintf(head, sizeof(head), "5 0 obj\n<< /Type /ObjStm /N 4 /First %zu /Filter /FlateDecode "
		 "/Length %lu >>\nstream\n", first, (unsigned long)zlen);
	puts_(head);
	put(z, zlen);
	puts_("\nendstream\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n");
}

/* PCL XL, low byte first: a rectangle, text, an image whose data holds
 * EndPage bytes, on each of two pages. */
static void pclxl_page(void)
{
	byte(0xc0), byte(0), byte(0xf8), byte(0x28);	       /* Orientation */
	byte(0xc0), byte(2), byte(0xf8), byte(0x25);	       /* MediaSize */
	byte(0x43);					       /* BeginPage */
	byte(0xe1), u16le(10), u16le(10), u16le(90), u16le(50); /* uint16_box */
	byte(0xf8), byte(0x42), byte(0xa0);		       /* Rectangle */
	byte(0xc8), byte(0xc0), byte(3), puts_("D\x1b" "C");   /* ubyte_array */
	byte(0xf8), byte(0xab), byte(0xa8);		       /* Text */
	byte(0xc1), u16le(8), byte(0xf8), byte(0x6c);	       /* SourceWidth */
	byte(0xc1), u16le(2), byte(0xf8), byte(0x6b);	       /* SourceHeight */
	byte(0xb0);					       /* BeginImage */
	byte(0xb1), byte(0xfb), byte(2), byte(0x44), byte(0x43); /* ReadImage, data */
	byte(0xb2);					       /* EndImage */
	byte(0x44);					       /* EndPage */
}

static void pclxl(int pjl)
{
	if (pjl)
		puts_("\x1b%-12345X@PJL ENTER LANGUAGE=PCLXL\r\n");
	puts_(") HP-PCL XL;2;0;seed\n");
	byte(0xc0), byte(0), byte(0xf8), byte(0x86), byte(0x41); /* BeginSession */
	pclxl_page();
	pclxl_page();
	byte(0x42); /* EndSession */
	if (pjl)
		puts_("\x1b%-12345X");
}

/* PCL 5: a font header and raster rows whose data holds form feeds and
 * escapes, lines of text, pages ended by form feeds and by a reset. */
static void pcl5(void)
{
	puts_("\x1b" "E\x1b&l26a0o6D\x1b)s4W\f\x1b\f\f\x1b*t300R\x1b*r0A\x1b*b2m3W\f\x1b\f"
	      "\x1b*b0y2W\f\f\x1b*rC\fHello\r\nworld\x1b*p300x300Y!\f\x1b&p2X\f\fpage three"
	      "\x1b*c10a10b0P\x1b" "E");
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "Usage: gen-docinfo-seeds pwg|urf|pdf-objstm|pclxl|pcl5|pjl OUT\n");
		return 2;
	}
	const char *kind = argv[1];
	int fd = open(argv[2], O_WRONLY|O_CREAT|O_TRUNC, 0644);
	if (fd < 0 || write(fd, "\x0b", 1) != 1) return 1;
	if (strcmp(kind, "pwg") == 0 || strcmp(kind, "urf") == 0)
		return raster(fd, kind[0] == 'p');
	if (strcmp(kind, "pdf-objstm") == 0) {
		pdf_objstm();
	} else if (strcmp(kind, "pclxl") == 0) {
		pclxl(0);
	} else if (strcmp(kind, "pcl5") == 0) {
		pcl5();
	} else if (strcmp(kind, "pjl") == 0) {
		puts_("\x1b%-12345X@PJL JOB\r\n@PJL ENTER LANGUAGE=PCL\r\n");
		pcl5();
		puts_("\x1b%-12345X@PJL ENTER LANGUAGE=POSTSCRIPT\r\n%!PS\n%%Pages: 2\n\x1b%-12345X");
		pclxl(1);
		puts_("@PJL ENTER LANGUAGE=PDF\r\n");
		pdf_objstm();
		puts_("\x1b%-12345X@PJL EOJ\r\n\x1b%-12345X");
	} else {
		return 2;
	}
	if (write(fd, doc, len) != (ssize_t)len) return 1;
	close(fd);
	return 0;
}
