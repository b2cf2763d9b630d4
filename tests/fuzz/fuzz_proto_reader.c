// fuzz-sources: proto/*.c
/* libFuzzer target: the streaming reader, fed the way a TLS connection
 * feeds it (pl_reader_feed in arbitrary chunks, draining pl_reader_next
 * after each).
 *
 * Input layout:
 *   byte 0   chunking: bits 0-5 = largest chunk - 1 (1..64 bytes);
 *            bit 6 = vary chunk sizes (1..largest, a little LCG seeded by
 *            byte 1); bit 7 = feed everything at once
 *   byte 1   LCG seed, and the small frame bound of the second pass (1..256)
 *   rest     the byte stream
 * The stream goes through twice: once with the default bound, once with
 * the small one. Each time the reader must produce exactly the frames, and
 * the first error, that pl_frame_parse finds walking the whole stream:
 * chunking must never change the outcome. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pl_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) abort(); } while (0)

typedef struct {
	uint8_t mode, seed;
	uint32_t lcg;
} chunker_t;

static size_t next_chunk(chunker_t *c, size_t left)
{
	size_t n, largest = (size_t)(c->mode & 0x3f) + 1;

	if (c->mode & 0x80)
		return left;
	if (c->mode & 0x40) {
		c->lcg = c->lcg * 1103515245u + 12345u;
		n = (size_t)(c->lcg >> 16) % largest + 1;
	} else {
		n = largest;
	}
	return n < left ? n : left;
}

/* What the reader should do with the stream at e->off: yield the frame
 * there (1), wait for bytes that never come (0), or fail (<0); and how
 * many bytes from e->off it needs to see before it knows (e->need). */
typedef struct {
	const uint8_t *s;
	size_t len, max;
	size_t off, need, used;
	pl_frame_t want;
	int what;
} expect_t;

static void expect_next(expect_t *e)
{
	const uint8_t *p = e->s + e->off;
	size_t left = e->len - e->off;
	pl_frame_t h;
	int rc;

	memset(&e->want, 0, sizeof(e->want));
	rc = pl_frame_parse(p, left, e->max, &e->want, &e->used);
	if (rc == -PL_PROTO_ETRUNC) {
		e->what = 0;
		e->need = SIZE_MAX;
		return;
	}
	/* A bad header is known from the header alone. */
	if (rc < 0 && pl_frame_parse_header(p, left, e->max, &h) < 0)
		e->need = PL_PROTO_HDR_LEN;
	else
		e->need = PL_PROTO_HDR_LEN + (size_t)e->want.len;
	e->what = rc < 0 ? rc : 1;
	/* Bytes cannot carry a descriptor: a frame that claims one is fatal. */
	if (rc == 0 && (e->want.flags & PL_FLAG_FD))
		e->what = -PL_PROTO_EFD;
}

static void check_frame(const expect_t *e, const pl_frame_t *f)
{
	CHECK(f->type == e->want.type && f->flags == e->want.flags &&
	      f->seq == e->want.seq && f->len == e->want.len && f->fd == -1);
	CHECK(memcmp(f->payload, e->s + e->off + PL_PROTO_HDR_LEN,
		     f->len) == 0);
	CHECK(pl_fields_validate(f->payload, f->len) == 0);
}

static void run(const uint8_t *s, size_t len, uint8_t mode, uint8_t seed,
		size_t max)
{
	chunker_t c = { mode, seed, seed };
	expect_t e = { .s = s, .len = len };
	pl_reader_t r;
	pl_frame_t f;
	size_t fed = 0;
	int rc;

	if (pl_reader_init(&r, max) < 0)
		return;
	e.max = r.max;
	expect_next(&e);
	while (fed < len) {
		size_t n = next_chunk(&c, len - fed);
		if (pl_reader_feed(&r, s + fed, n) < 0)
			break;
		fed += n;
		while ((rc = pl_reader_next(&r, &f)) == 1) {
			CHECK(e.what == 1 && e.need <= fed - e.off);
			check_frame(&e, &f);
			e.off += e.used;
			expect_next(&e);
		}
		/* The bound holds however the bytes arrive. */
		CHECK(r.cap <= 2 * fed + 4096 + PL_PROTO_HDR_LEN + r.max);
		if (rc < 0) {
			CHECK(rc == e.what && e.need <= fed - e.off);
			CHECK(pl_reader_next(&r, &f) == rc); /* sticky */
			break;
		}
		/* Waiting is right only while the deciding bytes are missing. */
		CHECK(e.need > fed - e.off);
	}
	pl_reader_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	run(data + 2, size - 2, data[0], data[1], PL_PROTO_DEFAULT_MAX);
	run(data + 2, size - 2, data[0], data[1], (size_t)data[1] + 1);
	return 0;
}
