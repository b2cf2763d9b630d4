/* Writes the two raster seeds of fuzz_docinfo with libcups' own raster
 * writer (the text seeds are plain printf output):
 *
 *   cc tests/fuzz/gen-docinfo-seeds.c -o /tmp/gen-docinfo-seeds -lcups
 *   /tmp/gen-docinfo-seeds pwg tests/fuzz/corpus/fuzz_docinfo/pwg-two-pages
 *   /tmp/gen-docinfo-seeds urf tests/fuzz/corpus/fuzz_docinfo/urf-two-pages
 *
 * Each is a chunking seed byte, then a two-page raster of a small custom
 * size at 72 dpi (gray, then RGB), so a mutation is cheap to run. */
#include <cups/raster.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "Usage: gen-docinfo-seeds pwg|urf OUT\n");
		return 2;
	}
	int fd = open(argv[2], O_WRONLY|O_CREAT|O_TRUNC, 0644);
	if (write(fd, "\x0b", 1) != 1) return 1;
	cups_raster_t *r = cupsRasterOpen(fd, argv[1][0]=='p' ? CUPS_RASTER_WRITE_PWG : CUPS_RASTER_WRITE_APPLE);
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
	close(fd);
	return 0;
}
