// fuzz-sources: lib/pdfconv/pdfconv.c lib/pdfconv/pdfconv-pdf.c lib/pdfconv/pdfconv-png.c common/util.c
// fuzz-ldflags: -lcups -lmupdf -lmupdf-third -lharfbuzz -lfreetype -ljbig2dec -lopenjp2 -lgumbo -lmujs -ljpeg -lpng16 -lz -lm
// fuzz-options: -malloc_limit_mb=4096 -rss_limit_mb=4096
/* libFuzzer target: pl_pdfconv, which turns what a phone sends (Apple
 * URF, PWG raster, JPEG, PNG) into PDF pages (hostile input: anyone who can
 * authenticate to the AirPrint service). The format comes from the magic
 * (UNIRAST, RaS2, FF D8 FF, 89 "PNG") as the service sniffs it; other inputs are
 * tried as each format in turn. Small limits keep each run short. The
 * PNG is MuPDF's decoder with our bounds and drawing around it. The
 * answer must be sane: a PDF with 1..max_pages pages, or a refusal with a
 * message.
 *
 * fuzz-options: libcups allocates the line buffer a raster header declares
 * (up to 4 GiB) inside cupsRasterReadHeader, before pl_pdfconv can look at
 * the header; libFuzzer's default 2 GiB malloc limit reports that as a
 * crash. In the service the decoder runs in the pl_jail child, whose
 * RLIMIT_AS makes that calloc fail and the page refused; here the higher
 * limit lets the (lazily zeroed) allocation succeed and our own pixel
 * bound refuse the page. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pl_pdfconv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) abort(); } while (0)

static void one(pl_pdfconv_fmt_t f, const uint8_t *data, size_t size)
{
	pl_pdfconv_limits_t lim = { .max_pages = 8, .max_page_pixels = 1u << 20,
				    .max_out_bytes = 8u << 20 };
	uint8_t *out = NULL;
	size_t len = 0;
	uint32_t pages = 0;
	char msg[160] = "";
	if (pl_pdfconv_convert(f, data, size, &lim, &out, &len, &pages, msg, sizeof(msg)) == 0) {
		CHECK(out && len > 5 && memcmp(out, "%PDF-", 5) == 0);
		CHECK(pages >= 1 && pages <= lim.max_pages);
		free(out);
	} else {
		CHECK(msg[0] != '\0');
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pl_pdfconv_fmt_t f = pl_pdfconv_format(NULL, data, size);
	if (f == PL_PDFCONV_JPEG || f == PL_PDFCONV_PNG || f == PL_PDFCONV_URF ||
	    f == PL_PDFCONV_PWG) {
		one(f, data, size);
		return 0;
	}
	one(PL_PDFCONV_URF, data, size);
	one(PL_PDFCONV_PWG, data, size);
	one(PL_PDFCONV_JPEG, data, size);
	return 0;
}
