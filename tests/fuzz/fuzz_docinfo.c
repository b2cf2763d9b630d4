// fuzz-sources: lib/docinfo/*.c
/* libFuzzer target: pl_docinfo, the page counter that reads held jobs'
 * documents as they arrive (hostile input: any workstation sends them).
 *
 * Input layout:
 *   byte 0   seed of the chunk sizes
 *   rest     the document
 * The document goes through the scanner twice, all at once and in
 * random-sized chunks (1..64 bytes): the answers must be the same. The
 * answer must be sane: a known MIME type, a page count within the limit,
 * a page size that is a terminated string. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pl_docinfo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) abort(); } while (0)

static void run(const uint8_t *p, size_t n, uint32_t seed, pl_docinfo_result_t *r)
{
	pl_docinfo_t d;
	size_t off = 0;

	pl_docinfo_init(&d);
	while (off < n) {
		size_t chunk = n - off;

		if (seed != 0) {
			seed = seed * 1103515245u + 12345u;
			chunk = 1 + (seed >> 16) % 64;
			if (chunk > n - off)
				chunk = n - off;
		}
		pl_docinfo_feed(&d, p + off, chunk);
		off += chunk;
	}
	pl_docinfo_result(&d, r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pl_docinfo_result_t whole, part;

	if (size == 0)
		return 0;
	run(data + 1, size - 1, 0, &whole);
	run(data + 1, size - 1, (uint32_t)data[0] | 0x100u, &part);
	CHECK(whole.format == part.format && whole.pages == part.pages);
	CHECK(strcmp(whole.page_size, part.page_size) == 0);
	CHECK(strnlen(whole.page_size, sizeof(whole.page_size)) < sizeof(whole.page_size));
	CHECK(whole.pages <= PL_DOCINFO_PAGES_MAX);
	CHECK(strcmp(whole.mime, pl_docinfo_mime(whole.format)) == 0);
	CHECK(whole.format == pl_docinfo_sniff(data + 1, size - 1 < PL_DOCINFO_HEAD
							      ? size - 1 : PL_DOCINFO_HEAD));
	return 0;
}
