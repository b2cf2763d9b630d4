// fuzz-sources: lib/badge/badge.c common/util.c
/* libFuzzer target: badge-reader frames and typed badge IDs.
 * (badge.c parses formats with Jansson: scripts/fuzz links every target
 * with it.)
 *
 * Input layout:
 *   byte 0   bits 0-2: the format (one of `formats` below, parsed from
 *            JSON, so pl_badge_format_parse runs too); bits 3-7: seed of
 *            the chunk sizes
 *   rest     the bytes a reader sends
 * The rest goes through pl_badge_reader_feed twice, all at once and in
 * random-sized chunks (1..32 bytes): chunking must not change what the
 * reader reports. Every reported ID must be canonical, and must survive
 * pl_badge_normalize("hex:" ID) unchanged. The rest, as a C string, is
 * also handed to pl_badge_normalize and to pl_badge_format_parse. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pl_badge.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) abort(); } while (0)

static const char *const formats[8] = {
	"{\"preset\": \"elatec-tcpconv2\"}",
	"{\"preset\": \"rfideas-e241\"}",
	("{\"terminator\": \"lf\", \"order\": \"lsb\", \"prefix\": \"ID:\", "
	 "\"suffix\": \";\"}"),
	"{\"terminator\": \"none\", \"length\": 10}",
	("{\"terminator\": \"cr\", \"base\": \"dec\", \"prefix\": \"#\", "
	 "\"max_length\": 12}"),
	"{\"terminator\": \"none\", \"length\": 1, \"base\": \"dec\"}",
	("{\"preset\": \"elatec-tcpconv2\", \"max_length\": 255, "
	 "\"order\": \"lsb\"}"),
	("{\"terminator\": \"none\", \"length\": 255, \"suffix\": "
	 "\"123456789012345\"}"),
};

/* A canonical ID: lowercase hex, no leading zero unless "0". */
static void check_canonical(const char *id)
{
	size_t n = strnlen(id, PL_BADGE_MAX + 1);

	CHECK(n >= 1 && n <= PL_BADGE_MAX);
	for (size_t i = 0; i < n; i++)
		CHECK((id[i] >= '0' && id[i] <= '9') ||
		      (id[i] >= 'a' && id[i] <= 'f'));
	CHECK(id[0] != '0' || n == 1);
}

static void check_id(const char *id)
{
	char text[PL_BADGE_MAX + 8], again[PL_BADGE_MAX + 1];
	char masked[PL_BADGE_MAX + 1];
	pl_err_t err;
	size_t n = strlen(id);

	check_canonical(id);
	memcpy(text, "hex:", 4);
	memcpy(text + 4, id, n + 1);
	CHECK(pl_badge_normalize(text, again, &err) == 0);
	CHECK(strcmp(again, id) == 0);
	pl_badge_mask(id, masked, sizeof(masked));
	CHECK(strlen(masked) == n);
	CHECK(masked[n - 1] == id[n - 1]);
}

/* Everything a reader reports, folded into a hash and a count. */
typedef struct {
	uint64_t hash;
	size_t ids, noise;
} tally_t;

static void fold(tally_t *t, const char *s, size_t max)
{
	size_t n = strnlen(s, max);

	CHECK(n < max);
	for (size_t i = 0; i <= n; i++)
		t->hash = (t->hash ^ (uint8_t)s[i]) * 1099511628211u;
}

static void on_frame(void *arg, const char *id, const char *why)
{
	tally_t *t = arg;

	CHECK((id == NULL) != (why == NULL));
	if (id != NULL) {
		check_id(id);
		t->ids++;
		fold(t, "id", 3);
		fold(t, id, PL_BADGE_MAX + 1);
	} else {
		CHECK(why[0] != '\0');
		t->noise++;
		fold(t, "noise", 6);
		fold(t, why, PL_ERR_MAX);
	}
}

static void run(const pl_badge_format_t *f, const uint8_t *p, size_t n,
		uint32_t seed, tally_t *t)
{
	pl_badge_reader_t r;
	size_t off = 0;

	memset(t, 0, sizeof(*t));
	t->hash = 14695981039346656037u;
	pl_badge_reader_init(&r, f);
	while (off < n) {
		size_t chunk = n - off;

		if (seed != 0) {
			seed = seed * 1103515245u + 12345u;
			chunk = 1 + (seed >> 16) % 32;
			if (chunk > n - off)
				chunk = n - off;
		}
		pl_badge_reader_feed(&r, p + off, chunk, on_frame, t);
		CHECK(r.len < PL_BADGE_FRAME_MAX);
		off += chunk;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pl_badge_format_t f;
	pl_err_t err;
	tally_t whole, part;
	char id[PL_BADGE_MAX + 1];
	char *text;

	if (size == 0)
		return 0;
	CHECK(pl_badge_format_parse(formats[data[0] & 7], &f, &err) == 0);
	run(&f, data + 1, size - 1, 0, &whole);
	run(&f, data + 1, size - 1, (uint32_t)(data[0] >> 3) | 0x100u, &part);
	CHECK(whole.hash == part.hash && whole.ids == part.ids &&
	      whole.noise == part.noise);

	/* The rest as typed text, and as a format description. */
	text = malloc(size);
	if (text == NULL)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	if (pl_badge_normalize(text, id, &err) == 0)
		check_id(id);
	else
		CHECK(err.msg[0] != '\0');
	if (pl_badge_format_parse(text, &f, &err) == 0) {
		CHECK(f.max_len >= 1 && f.max_len < PL_BADGE_FRAME_MAX);
		CHECK(f.term != PL_BADGE_TERM_FIXED ||
		      (f.fixed_len >= 1 && f.fixed_len < PL_BADGE_FRAME_MAX));
		CHECK(strnlen(f.prefix, sizeof(f.prefix)) < sizeof(f.prefix));
		CHECK(strnlen(f.suffix, sizeof(f.suffix)) < sizeof(f.suffix));
	} else {
		CHECK(err.msg[0] != '\0');
	}
	free(text);
	return 0;
}
