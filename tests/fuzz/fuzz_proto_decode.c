// fuzz-sources: proto/*.c
/* libFuzzer target: the frame decoder. The input is a byte stream of
 * frames, decoded back to back with pl_frame_parse until the first error;
 * every field of every frame is walked (nested contents too, through
 * pl_iter_nested) and handed to every typed accessor, because a receiver
 * may ask for any type on any tag a peer chooses to send.
 *
 * Beyond "no crash", it checks what the parser promises: a frame it accepts
 * re-encodes through pl_msg_* to the same bytes, and the getters agree with
 * the iterator. A broken promise aborts, which libFuzzer reports. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pl_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Deep enough to walk anything a real message holds, shallow enough that a
 * long chain of nested headers cannot exhaust the stack. */
#define WALK_DEPTH (4 * PL_PROTO_MAX_DEPTH)

#define CHECK(c) do { if (!(c)) abort(); } while (0)

static void access_field(const pl_field_t *f)
{
	uint8_t u8;
	uint32_t u32;
	uint64_t u64;
	char small[4], big[256];
	int rc;

	CHECK((pl_field_u8(f, &u8) == 0) == (f->len == 1));
	CHECK((pl_field_u32(f, &u32) == 0) == (f->len == 4));
	CHECK((pl_field_u64(f, &u64) == 0) == (f->len == 8));
	rc = pl_field_str(f, small, sizeof(small));
	if (rc == 0)
		CHECK(strlen(small) == f->len);
	rc = pl_field_str(f, big, sizeof(big));
	if (rc == 0)
		CHECK(strlen(big) == f->len &&
		      memcmp(big, f->val, f->len) == 0);
	else
		CHECK(rc == -PL_PROTO_ESTR);
}

static void walk(pl_iter_t *it, int depth)
{
	pl_field_t f;
	pl_iter_t sub;
	int rc;

	while ((rc = pl_iter_next(it, &f)) == 1) {
		access_field(&f);
		if (depth < WALK_DEPTH && pl_iter_nested(&sub, &f) == 0)
			walk(&sub, depth + 1);
	}
	/* Contents were validated (frame) or checked by pl_iter_nested. */
	CHECK(rc == 0);
}

/* The getters must see what a walk sees: the first field with the tag. */
static void check_getters(const pl_frame_t *fr, uint16_t tag)
{
	pl_field_t first = { 0, 0, NULL }, f;
	pl_iter_t it;
	uint32_t u32;
	uint64_t u64;
	char s[64];
	int found = 0, rc;

	pl_iter_frame(&it, fr);
	while (pl_iter_next(&it, &f) == 1)
		if (f.tag == tag) {
			first = f;
			found = 1;
			break;
		}
	rc = pl_frame_find(fr, tag, &f);
	CHECK(rc == found);
	if (found)
		CHECK(f.val == first.val && f.len == first.len);
	rc = pl_frame_get_u32(fr, tag, &u32);
	CHECK(found ? (rc == 0) == (first.len == 4) : rc == -PL_PROTO_EMISSING);
	rc = pl_frame_get_u64(fr, tag, &u64);
	CHECK(found ? (rc == 0) == (first.len == 8) : rc == -PL_PROTO_EMISSING);
	rc = pl_frame_get_str(fr, tag, s, sizeof(s));
	CHECK(found || rc == -PL_PROTO_EMISSING);
}

/* Rebuild the frame through the encoder and compare. Bytes 6..7 of the
 * header are reserved: the encoder writes zero, the decoder ignores them. */
static void check_reencode(const uint8_t *raw, const pl_frame_t *fr)
{
	pl_msg_t m;
	pl_iter_t it;
	pl_field_t f;

	if (pl_msg_init(&m, fr->type, fr->flags, fr->seq) < 0)
		return;
	pl_iter_frame(&it, fr);
	while (pl_iter_next(&it, &f) == 1)
		pl_msg_add(&m, f.tag, f.val, f.len);
	CHECK(pl_msg_finish(&m) == 0);
	CHECK(m.len == PL_PROTO_HDR_LEN + (size_t)fr->len);
	CHECK(memcmp(m.buf, raw, 6) == 0);
	CHECK(memcmp(m.buf + 8, raw + 8, m.len - 8) == 0);
	pl_msg_free(&m);
}

static void one_frame(const uint8_t *raw, const pl_frame_t *fr, size_t used)
{
	pl_frame_t h;
	pl_iter_t it;
	pl_field_t f;
	int n = 0;

	CHECK(used == PL_PROTO_HDR_LEN + (size_t)fr->len);
	CHECK(fr->payload == raw + PL_PROTO_HDR_LEN && fr->fd == -1);
	CHECK(pl_frame_parse_header(raw, used, PL_PROTO_MAX_FRAME, &h) == 0);
	CHECK(h.type == fr->type && h.flags == fr->flags &&
	      h.seq == fr->seq && h.len == fr->len);
	CHECK(pl_fields_validate(fr->payload, fr->len) == 0);
	(void)pl_msg_type_name(fr->type);
	pl_iter_frame(&it, fr);
	walk(&it, 0);
	/* Getters for the tags present (a few suffice) and one usually not. */
	pl_iter_frame(&it, fr);
	while (n++ < 8 && pl_iter_next(&it, &f) == 1)
		check_getters(fr, f.tag);
	check_getters(fr, PL_TAG_GRACE_MS);
	check_reencode(raw, fr);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pl_frame_t fr;
	size_t off = 0, used;
	int rc;

	while (off < size) {
		rc = pl_frame_parse(data + off, size - off, PL_PROTO_MAX_FRAME,
				    &fr, &used);
		(void)pl_proto_strerror(rc);
		if (rc < 0)
			break;
		CHECK(used <= size - off);
		one_frame(data + off, &fr, used);
		off += used;
	}
	/* A small bound must refuse exactly what is over it, nothing else. */
	if (size >= PL_PROTO_HDR_LEN) {
		rc = pl_frame_parse_header(data, size, 64, &fr);
		if (rc == 0)
			CHECK(fr.len <= 64);
	}
	return 0;
}
