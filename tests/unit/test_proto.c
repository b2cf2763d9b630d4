/* Unit tests for proto/: encoding round trips, every malformed-input error,
 * the streaming reader, the send queue, fd passing and the blocking
 * helpers. Sockets are AF_UNIX socketpairs only: no network. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "pl_proto.h"

/* ---- helpers ---- */

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* A header written by hand, so malformed ones can be made. */
static void raw_hdr(uint8_t *b, uint16_t magic, uint8_t ver, uint8_t flags,
		    uint16_t type, uint32_t seq, uint32_t len)
{
	put16(b, magic);
	b[2] = ver;
	b[3] = flags;
	put16(b + 4, type);
	put16(b + 6, 0);
	put32(b + 8, seq);
	put32(b + 12, len);
}

static void raw_field(uint8_t *b, uint16_t tag, uint32_t len)
{
	put16(b, tag);
	put32(b + 2, len);
}

static int parse(const uint8_t *b, size_t len, pl_frame_t *f)
{
	size_t used = 0;
	return pl_frame_parse(b, len, PL_PROTO_DEFAULT_MAX, f, &used);
}

/* Parse a finished message and insist it is exactly one frame. */
static void parse_msg(const pl_msg_t *m, pl_frame_t *f)
{
	size_t used = 0;
	assert_int_equal(pl_frame_parse(m->buf, m->len, PL_PROTO_DEFAULT_MAX,
					f, &used), 0);
	assert_int_equal(used, m->len);
}

static void next_field(pl_iter_t *it, pl_field_t *f, uint16_t tag,
		       uint32_t len)
{
	assert_int_equal(pl_iter_next(it, f), 1);
	assert_int_equal(f->tag, tag);
	assert_int_equal(f->len, len);
}

static void make_pair(int sv[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK |
					    SOCK_CLOEXEC, 0, sv), 0);
}

static void close_pair(int sv[2])
{
	if (sv[0] >= 0)
		close(sv[0]);
	if (sv[1] >= 0)
		close(sv[1]);
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void write_all(int fd, const void *p, size_t n)
{
	assert_int_equal(write(fd, p, n), (ssize_t)n);
}

/* A HELLO with a recognisable shape, reused by the reader tests. */
static void hello(pl_msg_t *m, uint32_t seq, const char *name)
{
	assert_int_equal(pl_msg_init(m, PL_MSG_HELLO, 0, seq), 0);
	pl_msg_add_str(m, PL_TAG_NAME, name);
	pl_msg_add_u32(m, PL_TAG_PID, 4242 + seq);
	pl_msg_add_str(m, PL_TAG_VERSION, "0.1.0");
	pl_msg_add_u32(m, PL_TAG_CAPS, PL_CAP_HOLDS_JOBS);
	assert_int_equal(pl_msg_finish(m), 0);
}

static void check_hello(const pl_frame_t *f, uint32_t seq, const char *name)
{
	char buf[64];
	uint32_t v;

	assert_int_equal(f->type, PL_MSG_HELLO);
	assert_int_equal(f->seq, seq);
	assert_int_equal(pl_frame_get_str(f, PL_TAG_NAME, buf, sizeof(buf)), 0);
	assert_string_equal(buf, name);
	assert_int_equal(pl_frame_get_u32(f, PL_TAG_PID, &v), 0);
	assert_int_equal(v, 4242 + seq);
}

/* ---- encoding round trips ---- */

static void test_header_bytes(void **state)
{
	(void)state;
	pl_msg_t m;
	static const uint8_t want[] = {
		0x50, 0x4c, 0x01, 0x02, 0x00, 0x04, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x00,
	};

	assert_int_equal(pl_msg_init(&m, PL_MSG_PONG, PL_FLAG_REPLY, 7), 0);
	assert_int_equal(pl_msg_finish(&m), 0);
	assert_int_equal(m.len, PL_PROTO_HDR_LEN);
	assert_memory_equal(m.buf, want, sizeof(want));
	pl_msg_free(&m);
}

static void test_roundtrip_scalars(void **state)
{
	(void)state;
	pl_msg_t m;
	pl_frame_t f;
	pl_iter_t it;
	pl_field_t fl;
	static const uint8_t blob[] = { 0x00, 0xff, 0x00, 0x10, 0x80 };
	uint8_t u8;
	uint32_t u32;
	uint64_t u64;
	char s[32];

	assert_int_equal(pl_msg_init(&m, PL_MSG_RESULT,
				     PL_FLAG_REPLY | PL_FLAG_ERROR, 0xfeedf00du), 0);
	pl_msg_add_u8(&m, PL_TAG_ENABLED, 0);
	pl_msg_add_u8(&m, PL_TAG_ENABLED, 0xff);
	pl_msg_add_u32(&m, PL_TAG_STATUS, 0);
	pl_msg_add_u32(&m, PL_TAG_STATUS, 0xdeadbeefu);
	pl_msg_add_u32(&m, PL_TAG_STATUS, UINT32_MAX);
	pl_msg_add_u64(&m, PL_TAG_UPTIME_MS, 0x0123456789abcdefull);
	pl_msg_add_u64(&m, PL_TAG_UPTIME_MS, UINT64_MAX);
	pl_msg_add_str(&m, PL_TAG_MESSAGE, "hello, world");
	pl_msg_add_str(&m, PL_TAG_MESSAGE, "");
	pl_msg_add_str(&m, PL_TAG_MESSAGE, NULL);
	pl_msg_add(&m, PL_TAG_PAYLOAD, blob, sizeof(blob));
	pl_msg_add(&m, PL_TAG_PAYLOAD, NULL, 0);
	assert_int_equal(pl_msg_finish(&m), 0);
	assert_int_equal(m.err, 0);

	parse_msg(&m, &f);
	assert_int_equal(f.type, PL_MSG_RESULT);
	assert_int_equal(f.flags, PL_FLAG_REPLY | PL_FLAG_ERROR);
	assert_int_equal(f.seq, 0xfeedf00du);
	assert_int_equal(f.fd, -1);
	assert_int_equal(f.len, m.len - PL_PROTO_HDR_LEN);

	pl_iter_frame(&it, &f);
	next_field(&it, &fl, PL_TAG_ENABLED, 1);
	assert_int_equal(pl_field_u8(&fl, &u8), 0);
	assert_int_equal(u8, 0);
	next_field(&it, &fl, PL_TAG_ENABLED, 1);
	assert_int_equal(pl_field_u8(&fl, &u8), 0);
	assert_int_equal(u8, 0xff);
	next_field(&it, &fl, PL_TAG_STATUS, 4);
	assert_int_equal(pl_field_u32(&fl, &u32), 0);
	assert_int_equal(u32, 0);
	next_field(&it, &fl, PL_TAG_STATUS, 4);
	assert_int_equal(pl_field_u32(&fl, &u32), 0);
	assert_int_equal(u32, 0xdeadbeefu);
	assert_memory_equal(fl.val, "\xde\xad\xbe\xef", 4); /* big-endian */
	next_field(&it, &fl, PL_TAG_STATUS, 4);
	assert_int_equal(pl_field_u32(&fl, &u32), 0);
	assert_int_equal(u32, UINT32_MAX);
	next_field(&it, &fl, PL_TAG_UPTIME_MS, 8);
	assert_int_equal(pl_field_u64(&fl, &u64), 0);
	assert_true(u64 == 0x0123456789abcdefull);
	assert_memory_equal(fl.val, "\x01\x23\x45\x67\x89\xab\xcd\xef", 8);
	next_field(&it, &fl, PL_TAG_UPTIME_MS, 8);
	assert_int_equal(pl_field_u64(&fl, &u64), 0);
	assert_true(u64 == UINT64_MAX);
	next_field(&it, &fl, PL_TAG_MESSAGE, 12);
	assert_int_equal(pl_field_str(&fl, s, sizeof(s)), 0);
	assert_string_equal(s, "hello, world");
	next_field(&it, &fl, PL_TAG_MESSAGE, 0);
	assert_int_equal(pl_field_str(&fl, s, sizeof(s)), 0);
	assert_string_equal(s, "");
	next_field(&it, &fl, PL_TAG_MESSAGE, 0);
	assert_int_equal(pl_field_str(&fl, s, 1), 0);
	assert_string_equal(s, "");
	next_field(&it, &fl, PL_TAG_PAYLOAD, sizeof(blob));
	assert_memory_equal(fl.val, blob, sizeof(blob));
	next_field(&it, &fl, PL_TAG_PAYLOAD, 0);
	assert_int_equal(pl_iter_next(&it, &fl), 0);
	assert_int_equal(pl_iter_next(&it, &fl), 0); /* end stays end */

	/* The convenience getters take the first field with the tag. */
	assert_int_equal(pl_frame_get_u32(&f, PL_TAG_STATUS, &u32), 0);
	assert_int_equal(u32, 0);
	assert_int_equal(pl_frame_get_u64(&f, PL_TAG_UPTIME_MS, &u64), 0);
	assert_true(u64 == 0x0123456789abcdefull);
	assert_int_equal(pl_frame_get_str(&f, PL_TAG_MESSAGE, s, sizeof(s)), 0);
	assert_string_equal(s, "hello, world");
	pl_msg_free(&m);
}

static void test_roundtrip_empty(void **state)
{
	(void)state;
	pl_msg_t m;
	pl_frame_t f;
	pl_iter_t it;
	pl_field_t fl;

	assert_int_equal(pl_msg_init(&m, PL_MSG_READY, 0, 0), 0);
	assert_int_equal(pl_msg_finish(&m), 0);
	parse_msg(&m, &f);
	assert_int_equal(f.type, PL_MSG_READY);
	assert_int_equal(f.len, 0);
	pl_iter_frame(&it, &f);
	assert_int_equal(pl_iter_next(&it, &fl), 0);
	assert_int_equal(pl_frame_find(&f, PL_TAG_NAME, &fl), 0);
	pl_msg_free(&m);
}

static void test_roundtrip_nested(void **state)
{
	(void)state;
	pl_msg_t m;
	pl_frame_t f;
	pl_iter_t top, svc, sub;
	pl_field_t fl, in, deep;
	char s[32];
	uint8_t u8;
	uint32_t u32;
	uint64_t u64;

	assert_int_equal(pl_msg_init(&m, PL_MSG_RESULT, PL_FLAG_REPLY, 3), 0);
	pl_msg_add_u32(&m, PL_TAG_STATUS, 0);
	pl_msg_nest_begin(&m, PL_TAG_SERVICE);
	pl_msg_add_str(&m, PL_TAG_NAME, "Email");
	pl_msg_add_u8(&m, PL_TAG_ENABLED, 1);
	pl_msg_nest_begin(&m, PL_TAG_SUPERVISOR); /* level two */
	pl_msg_add_u32(&m, PL_TAG_PID, 99);
	pl_msg_add_u64(&m, PL_TAG_UPTIME_MS, 1ull << 40);
	pl_msg_nest_end(&m);
	pl_msg_add_str(&m, PL_TAG_STATE, "running");
	pl_msg_nest_end(&m);
	pl_msg_nest_begin(&m, PL_TAG_SERVICE); /* empty nest */
	pl_msg_nest_end(&m);
	pl_msg_add_str(&m, PL_TAG_MESSAGE, "ok");
	assert_int_equal(pl_msg_finish(&m), 0);

	parse_msg(&m, &f);
	pl_iter_frame(&top, &f);
	next_field(&top, &fl, PL_TAG_STATUS, 4);
	next_field(&top, &fl, PL_TAG_SERVICE, 6 + 5 + 6 + 1 + 6 + 10 + 14 + 6 + 7);
	assert_int_equal(pl_iter_nested(&svc, &fl), 0);
	next_field(&svc, &in, PL_TAG_NAME, 5);
	assert_int_equal(pl_field_str(&in, s, sizeof(s)), 0);
	assert_string_equal(s, "Email");
	next_field(&svc, &in, PL_TAG_ENABLED, 1);
	assert_int_equal(pl_field_u8(&in, &u8), 0);
	assert_int_equal(u8, 1);
	next_field(&svc, &in, PL_TAG_SUPERVISOR, 10 + 14);
	assert_int_equal(pl_iter_nested(&sub, &in), 0);
	next_field(&sub, &deep, PL_TAG_PID, 4);
	assert_int_equal(pl_field_u32(&deep, &u32), 0);
	assert_int_equal(u32, 99);
	next_field(&sub, &deep, PL_TAG_UPTIME_MS, 8);
	assert_int_equal(pl_field_u64(&deep, &u64), 0);
	assert_true(u64 == 1ull << 40);
	assert_int_equal(pl_iter_next(&sub, &deep), 0);
	next_field(&svc, &in, PL_TAG_STATE, 7);
	assert_int_equal(pl_iter_next(&svc, &in), 0);
	next_field(&top, &fl, PL_TAG_SERVICE, 0);
	assert_int_equal(pl_iter_nested(&svc, &fl), 0);
	assert_int_equal(pl_iter_next(&svc, &in), 0);
	next_field(&top, &fl, PL_TAG_MESSAGE, 2);
	assert_int_equal(pl_iter_next(&top, &fl), 0);
	pl_msg_free(&m);
}

static void test_msg_reset_reuses_buffer(void **state)
{
	(void)state;
	pl_msg_t m;
	pl_frame_t f;
	uint32_t v;

	assert_int_equal(pl_msg_init(&m, PL_MSG_PING, 0, 1), 0);
	pl_msg_add_str(&m, PL_TAG_MESSAGE, "first");
	pl_msg_set_fd(&m, 0);
	pl_msg_reset(&m, PL_MSG_SHUTDOWN, 0, 2);
	assert_int_equal(m.fd, -1);
	pl_msg_add_u32(&m, PL_TAG_GRACE_MS, 5000);
	assert_int_equal(pl_msg_finish(&m), 0);
	parse_msg(&m, &f);
	assert_int_equal(f.type, PL_MSG_SHUTDOWN);
	assert_int_equal(f.flags, 0); /* the fd flag went with the reset */
	assert_int_equal(f.seq, 2);
	assert_int_equal(pl_frame_get_u32(&f, PL_TAG_GRACE_MS, &v), 0);
	assert_int_equal(v, 5000);
	assert_int_equal(pl_frame_get_u32(&f, PL_TAG_PID, &v),
			 -PL_PROTO_EMISSING);
	pl_msg_free(&m);
}

static void test_set_fd_flag(void **state)
{
	(void)state;
	pl_msg_t m;

	assert_int_equal(pl_msg_init(&m, PL_MSG_ECHO, PL_FLAG_REPLY, 0), 0);
	pl_msg_set_fd(&m, 5);
	assert_int_equal(m.buf[3], PL_FLAG_REPLY | PL_FLAG_FD);
	pl_msg_set_fd(&m, -1);
	assert_int_equal(m.buf[3], PL_FLAG_REPLY);
	pl_msg_free(&m);
}

/* ---- malformed input ---- */

static void test_bad_magic(void **state)
{
	(void)state;
	uint8_t b[PL_PROTO_HDR_LEN];
	pl_frame_t f;

	raw_hdr(b, 0x4c50, 1, 0, PL_MSG_PING, 0, 0);
	assert_int_equal(parse(b, sizeof(b), &f), -PL_PROTO_EMAGIC);
	raw_hdr(b, 0, 1, 0, PL_MSG_PING, 0, 0);
	assert_int_equal(parse(b, sizeof(b), &f), -PL_PROTO_EMAGIC);
}

static void test_bad_version(void **state)
{
	(void)state;
	uint8_t b[PL_PROTO_HDR_LEN];
	pl_frame_t f;

	raw_hdr(b, PL_PROTO_MAGIC, 0, 0, PL_MSG_PING, 0, 0);
	assert_int_equal(parse(b, sizeof(b), &f), -PL_PROTO_EVERSION);
	raw_hdr(b, PL_PROTO_MAGIC, 2, 0, PL_MSG_PING, 0, 0);
	assert_int_equal(parse(b, sizeof(b), &f), -PL_PROTO_EVERSION);
	raw_hdr(b, PL_PROTO_MAGIC, 1, 0, PL_MSG_PING, 0, 0);
	assert_int_equal(parse(b, sizeof(b), &f), 0);
}

static void test_unknown_flags(void **state)
{
	(void)state;
	uint8_t b[PL_PROTO_HDR_LEN];
	pl_frame_t f;

	for (unsigned bit = 3; bit < 8; bit++) {
		raw_hdr(b, PL_PROTO_MAGIC, 1, (uint8_t)(1u << bit),
			PL_MSG_PING, 0, 0);
		assert_int_equal(parse(b, sizeof(b), &f), -PL_PROTO_EFLAGS);
	}
	raw_hdr(b, PL_PROTO_MAGIC, 1, PL_FLAG_MASK, PL_MSG_PING, 0, 0);
	assert_int_equal(parse(b, sizeof(b), &f), 0);
	assert_int_equal(f.flags, PL_FLAG_MASK);
}

static void test_truncated_header(void **state)
{
	(void)state;
	uint8_t b[PL_PROTO_HDR_LEN];
	pl_frame_t f;

	raw_hdr(b, PL_PROTO_MAGIC, 1, 0, PL_MSG_PING, 0, 0);
	for (size_t n = 0; n < PL_PROTO_HDR_LEN; n++) {
		assert_int_equal(parse(b, n, &f), -PL_PROTO_ETRUNC);
		assert_int_equal(pl_frame_parse_header(b, n, 1024, &f),
				 -PL_PROTO_ETRUNC);
	}
}

static void test_truncated_payload(void **state)
{
	(void)state;
	pl_msg_t m;
	pl_frame_t f;

	hello(&m, 1, "Email");
	for (size_t n = PL_PROTO_HDR_LEN; n < m.len; n++)
		assert_int_equal(parse(m.buf, n, &f), -PL_PROTO_ETRUNC);
	assert_int_equal(parse(m.buf, m.len, &f), 0);
	pl_msg_free(&m);
}

static void test_frame_over_max(void **state)
{
	(void)state;
	uint8_t b[PL_PROTO_HDR_LEN];
	pl_frame_t f;
	size_t used;

	raw_hdr(b, PL_PROTO_MAGIC, 1, 0, PL_MSG_ECHO, 0, 101);
	assert_int_equal(pl_frame_parse_header(b, sizeof(b), 100, &f),
			 -PL_PROTO_ETOOBIG);
	assert_int_equal(pl_frame_parse(b, sizeof(b), 100, &f, &used),
			 -PL_PROTO_ETOOBIG);
	raw_hdr(b, PL_PROTO_MAGIC, 1, 0, PL_MSG_ECHO, 0, 100);
	assert_int_equal(pl_frame_parse_header(b, sizeof(b), 100, &f), 0);
	assert_int_equal(f.len, 100);
	/* A caller's max above the hard ceiling is clamped to it. */
	raw_hdr(b, PL_PROTO_MAGIC, 1, 0, PL_MSG_ECHO, 0, PL_PROTO_MAX_FRAME + 1);
	assert_int_equal(pl_frame_parse_header(b, sizeof(b), SIZE_MAX, &f),
			 -PL_PROTO_ETOOBIG);
	raw_hdr(b, PL_PROTO_MAGIC, 1, 0, PL_MSG_ECHO, 0, UINT32_MAX);
	assert_int_equal(pl_frame_parse_header(b, sizeof(b), SIZE_MAX, &f),
			 -PL_PROTO_ETOOBIG);
}

static void test_msg_over_max(void **state)
{
	(void)state;
	pl_msg_t m;
	uint8_t big[64] = { 0 };

	assert_int_equal(pl_msg_init(&m, PL_MSG_ECHO, 0, 0), 0);
	m.max = 100;
	assert_int_equal(pl_msg_add(&m, PL_TAG_PAYLOAD, big, 64), 0);
	assert_int_equal(pl_msg_add(&m, PL_TAG_PAYLOAD, big, 64),
			 -PL_PROTO_ETOOBIG);
	/* Sticky: later adds and finish report the first error. */
	assert_int_equal(pl_msg_add_u8(&m, PL_TAG_ENABLED, 1),
			 -PL_PROTO_ETOOBIG);
	assert_int_equal(pl_msg_finish(&m), -PL_PROTO_ETOOBIG);
	pl_msg_free(&m);
}

static void test_field_past_frame(void **state)
{
	(void)state;
	uint8_t b[PL_PROTO_HDR_LEN + 16];
	pl_frame_t f;

	/* A field claiming 11 value bytes in a 16-byte payload: 1 too many. */
	raw_hdr(b, PL_PROTO_MAGIC, 1, 0, PL_MSG_ECHO, 0, 16);
	raw_field(b + 16, PL_TAG_PAYLOAD, 11);
	memset(b + 22, 'x', 10);
	assert_int_equal(parse(b, sizeof(b), &f), -PL_PROTO_EFIELD);
	/* A huge field length must not wrap the bounds check. */
	raw_field(b + 16, PL_TAG_PAYLOAD, UINT32_MAX);
	assert_int_equal(parse(b, sizeof(b), &f), -PL_PROTO_EFIELD);
	/* Second field running past. */
	raw_field(b + 16, PL_TAG_PAYLOAD, 0);
	raw_field(b + 22, PL_TAG_PAYLOAD, 5);
	assert_int_equal(parse(b, sizeof(b), &f), -PL_PROTO_EFIELD);
	raw_field(b + 22, PL_TAG_PAYLOAD, 4);
	assert_int_equal(parse(b, sizeof(b), &f), 0);
}

static void test_leftover_bytes(void **state)
{
	(void)state;
	uint8_t b[PL_PROTO_HDR_LEN + 10 + 5];
	pl_frame_t f;

	for (uint32_t extra = 1; extra <= 5; extra++) {
		memset(b, 0, sizeof(b));
		raw_hdr(b, PL_PROTO_MAGIC, 1, 0, PL_MSG_PING, 0, 10 + extra);
		raw_field(b + 16, PL_TAG_PID, 4);
		assert_int_equal(parse(b, 16 + 10 + extra, &f),
				 -PL_PROTO_ELEFTOVER);
		/* Leftovers alone, no field at all. */
		raw_hdr(b, PL_PROTO_MAGIC, 1, 0, PL_MSG_PING, 0, extra);
		assert_int_equal(parse(b, 16 + extra, &f), -PL_PROTO_ELEFTOVER);
		assert_int_equal(pl_fields_validate(b + 16, extra),
				 -PL_PROTO_ELEFTOVER);
	}
}

static void test_nested_malformed(void **state)
{
	(void)state;
	uint8_t p[6 + 8];
	pl_iter_t it;
	pl_field_t fl;

	/* Outer field fine; its contents are a field running past it. */
	raw_field(p, PL_TAG_SERVICE, 8);
	raw_field(p + 6, PL_TAG_NAME, 3);
	p[12] = 'a';
	p[13] = 'b';
	pl_iter_init(&it, p, sizeof(p));
	assert_int_equal(pl_iter_next(&it, &fl), 1);
	assert_int_equal(pl_iter_nested(&it, &fl), -PL_PROTO_EFIELD);
	/* Contents that leave 2 bytes after the last inner field. */
	raw_field(p + 6, PL_TAG_NAME, 0);
	pl_iter_init(&it, p, sizeof(p));
	assert_int_equal(pl_iter_next(&it, &fl), 1);
	assert_int_equal(pl_iter_nested(&it, &fl), -PL_PROTO_ELEFTOVER);
}

static void test_wrong_size_ints(void **state)
{
	(void)state;
	static const uint8_t v[9] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };
	pl_field_t fl = { PL_TAG_PID, 0, v };
	uint8_t u8 = 0x5a;
	uint32_t u32 = 0x5a;
	uint64_t u64 = 0x5a;

	for (uint32_t n = 0; n <= 9; n++) {
		fl.len = n;
		if (n != 1)
			assert_int_equal(pl_field_u8(&fl, &u8), -PL_PROTO_ETYPE);
		if (n != 4)
			assert_int_equal(pl_field_u32(&fl, &u32),
					 -PL_PROTO_ETYPE);
		if (n != 8)
			assert_int_equal(pl_field_u64(&fl, &u64),
					 -PL_PROTO_ETYPE);
	}
	/* Failed accessors leave the output alone. */
	assert_int_equal(u8, 0x5a);
	assert_int_equal(u32, 0x5a);
	assert_true(u64 == 0x5a);
}

static void test_frame_get_wrong_type(void **state)
{
	(void)state;
	pl_msg_t m;
	pl_frame_t f;
	uint32_t u32;
	uint64_t u64;

	assert_int_equal(pl_msg_init(&m, PL_MSG_HELLO, 0, 0), 0);
	pl_msg_add_u64(&m, PL_TAG_PID, 1);
	pl_msg_add_u32(&m, PL_TAG_UPTIME_MS, 1);
	assert_int_equal(pl_msg_finish(&m), 0);
	parse_msg(&m, &f);
	assert_int_equal(pl_frame_get_u32(&f, PL_TAG_PID, &u32),
			 -PL_PROTO_ETYPE);
	assert_int_equal(pl_frame_get_u64(&f, PL_TAG_UPTIME_MS, &u64),
			 -PL_PROTO_ETYPE);
	assert_int_equal(pl_frame_get_u64(&f, PL_TAG_CAPS, &u64),
			 -PL_PROTO_EMISSING);
	pl_msg_free(&m);
}

static void test_string_embedded_nul(void **state)
{
	(void)state;
	pl_field_t fl = { PL_TAG_NAME, 5, (const uint8_t *)"ab\0cd" };
	char s[16];

	assert_int_equal(pl_field_str(&fl, s, sizeof(s)), -PL_PROTO_ESTR);
	fl.len = 3; /* trailing NUL on the wire is not allowed either */
	assert_int_equal(pl_field_str(&fl, s, sizeof(s)), -PL_PROTO_ESTR);
	fl.len = 2;
	assert_int_equal(pl_field_str(&fl, s, sizeof(s)), 0);
	assert_string_equal(s, "ab");
}

static void test_string_too_long(void **state)
{
	(void)state;
	pl_field_t fl = { PL_TAG_NAME, 5, (const uint8_t *)"abcde" };
	char s[8];

	assert_int_equal(pl_field_str(&fl, s, 5), -PL_PROTO_ESTR);
	assert_int_equal(pl_field_str(&fl, s, 0), -PL_PROTO_ESTR);
	assert_int_equal(pl_field_str(&fl, s, 6), 0); /* exactly fits */
	assert_string_equal(s, "abcde");
}

static void test_nest_depth_exceeded(void **state)
{
	(void)state;
	pl_msg_t m;

	assert_int_equal(pl_msg_init(&m, PL_MSG_RESULT, 0, 0), 0);
	for (int i = 0; i < PL_PROTO_MAX_DEPTH; i++)
		assert_int_equal(pl_msg_nest_begin(&m, PL_TAG_SERVICE), 0);
	assert_int_equal(pl_msg_nest_begin(&m, PL_TAG_SERVICE),
			 -PL_PROTO_EDEPTH);
	assert_int_equal(pl_msg_add_u8(&m, PL_TAG_ENABLED, 1),
			 -PL_PROTO_EDEPTH);
	assert_int_equal(pl_msg_finish(&m), -PL_PROTO_EDEPTH);

	/* Exactly PL_PROTO_MAX_DEPTH levels is fine. */
	pl_msg_reset(&m, PL_MSG_RESULT, 0, 0);
	for (int i = 0; i < PL_PROTO_MAX_DEPTH; i++)
		pl_msg_nest_begin(&m, PL_TAG_SERVICE);
	pl_msg_add_u8(&m, PL_TAG_ENABLED, 1);
	for (int i = 0; i < PL_PROTO_MAX_DEPTH; i++)
		assert_int_equal(pl_msg_nest_end(&m), 0);
	assert_int_equal(pl_msg_finish(&m), 0);
	pl_msg_free(&m);
}

static void test_nest_end_without_begin(void **state)
{
	(void)state;
	pl_msg_t m;

	assert_int_equal(pl_msg_init(&m, PL_MSG_RESULT, 0, 0), 0);
	assert_int_equal(pl_msg_nest_end(&m), -PL_PROTO_EDEPTH);
	assert_int_equal(pl_msg_finish(&m), -PL_PROTO_EDEPTH);
	/* And a begin never closed is caught by finish. */
	pl_msg_reset(&m, PL_MSG_RESULT, 0, 0);
	pl_msg_nest_begin(&m, PL_TAG_SERVICE);
	assert_int_equal(pl_msg_finish(&m), -PL_PROTO_EDEPTH);
	pl_msg_free(&m);
}

static void test_unknown_tags_skipped(void **state)
{
	(void)state;
	pl_msg_t m;
	pl_frame_t f;
	pl_iter_t it;
	pl_field_t fl;
	int known = 0, unknown = 0;
	uint32_t v;
	char s[16];

	assert_int_equal(pl_msg_init(&m, PL_MSG_HELLO, 0, 0), 0);
	pl_msg_add(&m, 0x7fff, "future", 6);
	pl_msg_add_str(&m, PL_TAG_NAME, "Airprint");
	pl_msg_add(&m, 0xffff, NULL, 0);
	pl_msg_nest_begin(&m, 0xabcd);
	pl_msg_add_u32(&m, PL_TAG_PID, 1); /* inside the unknown nest */
	pl_msg_nest_end(&m);
	pl_msg_add_u32(&m, PL_TAG_PID, 77);
	assert_int_equal(pl_msg_finish(&m), 0);
	parse_msg(&m, &f);

	pl_iter_frame(&it, &f);
	while (pl_iter_next(&it, &fl) == 1) {
		if (fl.tag == PL_TAG_NAME || fl.tag == PL_TAG_PID)
			known++;
		else
			unknown++;
	}
	assert_int_equal(known, 2);
	assert_int_equal(unknown, 3);
	/* pl_find walks past unknown tags and does not look inside nests. */
	assert_int_equal(pl_frame_find(&f, PL_TAG_PID, &fl), 1);
	assert_int_equal(pl_field_u32(&fl, &v), 0);
	assert_int_equal(v, 77);
	assert_int_equal(pl_frame_get_str(&f, PL_TAG_NAME, s, sizeof(s)), 0);
	assert_string_equal(s, "Airprint");
	assert_int_equal(pl_frame_find(&f, PL_TAG_CAPS, &fl), 0);
	pl_msg_free(&m);
}

static void test_find_malformed(void **state)
{
	(void)state;
	uint8_t p[6 + 6 + 3];
	pl_field_t fl;

	raw_field(p, PL_TAG_NAME, 0);
	raw_field(p + 6, PL_TAG_PID, 9); /* runs past */
	assert_int_equal(pl_find(p, sizeof(p), PL_TAG_NAME, &fl), 1);
	assert_int_equal(pl_find(p, sizeof(p), PL_TAG_PID, &fl),
			 -PL_PROTO_EFIELD);
	assert_int_equal(pl_find(p, 6 + 3, PL_TAG_PID, &fl),
			 -PL_PROTO_ELEFTOVER);
	assert_int_equal(pl_find(NULL, 0, PL_TAG_PID, &fl), 0);
}

static void test_strerror_and_names(void **state)
{
	(void)state;
	static const uint16_t types[] = {
		PL_MSG_HELLO, PL_MSG_READY, PL_MSG_PING, PL_MSG_PONG,
		PL_MSG_CONFIG, PL_MSG_SHUTDOWN, PL_MSG_RESULT,
		PL_MSG_CTL_STATUS, PL_MSG_CTL_ENABLE, PL_MSG_CTL_DISABLE,
		PL_MSG_CTL_RESTART, PL_MSG_CTL_RELOAD, PL_MSG_CTL_STOP,
		PL_MSG_ECHO, PL_MSG_RELEASE, PL_MSG_JOB_EVENT,
		PL_MSG_SUBMIT_BEGIN, PL_MSG_SUBMIT_DATA, PL_MSG_SUBMIT_END,
	};

	for (int e = PL_PROTO_OK; e <= PL_PROTO_EMISSING; e++) {
		assert_string_not_equal(pl_proto_strerror(e),
					"unknown protocol error");
		assert_string_equal(pl_proto_strerror(-e), pl_proto_strerror(e));
	}
	assert_string_equal(pl_proto_strerror(9999), "unknown protocol error");
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		assert_string_not_equal(pl_msg_type_name(types[i]), "UNKNOWN");
	assert_string_equal(pl_msg_type_name(PL_MSG_CTL_STATUS), "CTL_STATUS");
	assert_string_equal(pl_msg_type_name(0xbeef), "UNKNOWN");
}

/* ---- streaming reader ---- */

static void test_reader_byte_at_a_time(void **state)
{
	(void)state;
	pl_msg_t m[3];
	pl_reader_t r;
	pl_frame_t f;
	static const char *names[] = { "A", "OfflinePrint", "" };
	uint32_t got = 0;

	for (uint32_t i = 0; i < 3; i++)
		hello(&m[i], i, names[i]);
	assert_int_equal(pl_reader_init(&r, 0), 0);
	for (uint32_t i = 0; i < 3; i++) {
		for (size_t k = 0; k < m[i].len; k++) {
			assert_int_equal(pl_reader_feed(&r, m[i].buf + k, 1), 0);
			int rc = pl_reader_next(&r, &f);
			if (k + 1 < m[i].len) {
				assert_int_equal(rc, 0);
				continue;
			}
			assert_int_equal(rc, 1);
			check_hello(&f, i, names[i]);
			assert_int_equal(f.fd, -1);
			got++;
		}
		assert_int_equal(pl_reader_next(&r, &f), 0);
	}
	assert_int_equal(got, 3);
	pl_reader_free(&r);
	for (int i = 0; i < 3; i++)
		pl_msg_free(&m[i]);
}

/* Reading straight into the reader (TLS): the room offered never runs
 * past the frame being received, whatever the sizes; a frame handed out
 * keeps its bytes until the next pl_reader_space, so it can be lent; a
 * header over the limit is refused before any room is offered for it. */
static void test_reader_space(void **state)
{
	(void)state;
	pl_reader_t r;
	pl_frame_t f;
	pl_msg_t m;
	pl_field_t fl;
	uint8_t *stream = NULL, *p, big[20000];
	size_t len = 0, off = 0, n, bounds[8], nb = 0, sizes[] = { 1, 5000, 0, 20000 };

	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		assert_int_equal(pl_msg_init(&m, PL_MSG_SUBMIT_DATA, 0, (uint32_t)i), 0);
		pl_msg_add(&m, PL_TAG_PAYLOAD, big, sizes[i]);
		assert_int_equal(pl_msg_finish(&m), 0);
		stream = realloc(stream, len + m.len);
		memcpy(stream + len, m.buf, m.len);
		len += m.len;
		bounds[nb++] = len;
		pl_msg_free(&m);
	}
	assert_int_equal(pl_reader_init(&r, 32768), 0);
	for (size_t i = 0; i < nb; i++) {
		/* Reads of up to 3000 bytes, as records come. */
		for (;;) {
			assert_int_equal(pl_reader_space(&r, &p, &n), 0);
			if (n == 0)
				break;
			assert_true(off + n <= bounds[i]);
			if (n > 3000)
				n = 3000;
			memcpy(p, stream + off, n);
			pl_reader_commit(&r, n);
			off += n;
		}
		assert_int_equal(off, bounds[i]);
		assert_int_equal(pl_reader_next(&r, &f), 1);
		assert_int_equal(f.seq, (uint32_t)i);
		assert_int_equal(pl_frame_find(&f, PL_TAG_PAYLOAD, &fl), 1);
		assert_int_equal(fl.len, sizes[i]);
		assert_memory_equal(fl.val, big, sizes[i]);
		/* Empty now; the frame's bytes are untouched until the next
		 * room is asked for. */
		assert_int_equal(pl_reader_next(&r, &f), 0);
		assert_memory_equal(fl.val, big, sizes[i]);
	}
	/* A header announcing more than the limit: refused, and stays so. */
	assert_int_equal(pl_msg_init(&m, PL_MSG_SUBMIT_DATA, 0, 9), 0);
	pl_msg_add(&m, PL_TAG_PAYLOAD, big, 20000);
	assert_int_equal(pl_msg_finish(&m), 0);
	pl_reader_free(&r);
	assert_int_equal(pl_reader_init(&r, 1000), 0);
	assert_int_equal(pl_reader_space(&r, &p, &n), 0);
	assert_int_equal(n, PL_PROTO_HDR_LEN);
	memcpy(p, m.buf, n);
	pl_reader_commit(&r, n);
	assert_int_equal(pl_reader_space(&r, &p, &n), -PL_PROTO_ETOOBIG);
	assert_int_equal(n, 0);
	assert_true(pl_reader_next(&r, &f) < 0);
	assert_int_equal(pl_reader_space(&r, &p, &n), -PL_PROTO_ETOOBIG);
	pl_msg_free(&m);
	pl_reader_free(&r);
	free(stream);
}

static void test_reader_many_in_one_feed(void **state)
{
	(void)state;
	pl_msg_t m;
	pl_reader_t r;
	pl_frame_t f;
	uint8_t buf[8192];
	size_t len = 0;
	uint32_t n = 0;

	assert_int_equal(pl_reader_init(&r, 0), 0);
	for (uint32_t i = 0; i < 100; i++) {
		hello(&m, i, "Email");
		memcpy(buf + len, m.buf, m.len);
		len += m.len;
		pl_msg_free(&m);
	}
	/* Plus half of one more, which must wait. */
	hello(&m, 100, "Email");
	memcpy(buf + len, m.buf, 10);
	len += 10;
	assert_true(len > 4096); /* more than the reader's first buffer */
	assert_int_equal(pl_reader_feed(&r, buf, len), 0);
	while (pl_reader_next(&r, &f) == 1)
		check_hello(&f, n++, "Email");
	assert_int_equal(n, 100);
	assert_int_equal(pl_reader_next(&r, &f), 0);
	assert_int_equal(pl_reader_feed(&r, m.buf + 10, m.len - 10), 0);
	assert_int_equal(pl_reader_next(&r, &f), 1);
	check_hello(&f, 100, "Email");
	assert_int_equal(pl_reader_next(&r, &f), 0);
	pl_msg_free(&m);
	pl_reader_free(&r);
}

static void test_reader_huge_header_fails_early(void **state)
{
	(void)state;
	uint8_t b[PL_PROTO_HDR_LEN];
	pl_reader_t r;
	pl_frame_t f;
	int sv[2];

	raw_hdr(b, PL_PROTO_MAGIC, 1, 0, PL_MSG_ECHO, 0, 1u << 30);
	assert_int_equal(pl_reader_init(&r, 0), 0);
	assert_int_equal(pl_reader_feed(&r, b, sizeof(b)), 0);
	assert_int_equal(pl_reader_next(&r, &f), -PL_PROTO_ETOOBIG);
	assert_true(r.cap <= 8192);
	/* The error is sticky: the connection is done. */
	assert_int_equal(pl_reader_next(&r, &f), -PL_PROTO_ETOOBIG);
	pl_reader_free(&r);

	/* Same over a socket, with the reader's own bound lower still. */
	make_pair(sv);
	assert_int_equal(pl_reader_init(&r, 1024), 0);
	raw_hdr(b, PL_PROTO_MAGIC, 1, 0, PL_MSG_ECHO, 0, 1025);
	write_all(sv[1], b, sizeof(b));
	assert_int_equal(pl_reader_fill(&r, sv[0]), (ssize_t)sizeof(b));
	assert_int_equal(pl_reader_next(&r, &f), -PL_PROTO_ETOOBIG);
	assert_true(r.cap <= 8192);
	pl_reader_free(&r);
	close_pair(sv);
}

static void test_reader_bad_header_sticky(void **state)
{
	(void)state;
	uint8_t b[PL_PROTO_HDR_LEN * 2];
	pl_reader_t r;
	pl_frame_t f;

	raw_hdr(b, PL_PROTO_MAGIC, 9, 0, PL_MSG_PING, 0, 0);
	raw_hdr(b + 16, PL_PROTO_MAGIC, 1, 0, PL_MSG_PING, 0, 0);
	assert_int_equal(pl_reader_init(&r, 0), 0);
	assert_int_equal(pl_reader_feed(&r, b, sizeof(b)), 0);
	assert_int_equal(pl_reader_next(&r, &f), -PL_PROTO_EVERSION);
	assert_int_equal(pl_reader_next(&r, &f), -PL_PROTO_EVERSION);
	pl_reader_free(&r);
}

static void test_reader_split_over_socket(void **state)
{
	(void)state;
	pl_msg_t m;
	pl_reader_t r;
	pl_frame_t f;
	pl_field_t fl;
	uint8_t *blob = malloc(20000);
	int sv[2];
	/* Cut inside the header, inside a field header, and in the value. */
	static const size_t cuts[] = { 7, 16 + 3, 16 + 6 + 5000, 16 + 6 + 19999 };
	size_t off = 0;

	assert_non_null(blob);
	for (size_t i = 0; i < 20000; i++)
		blob[i] = (uint8_t)(i * 7);
	assert_int_equal(pl_msg_init(&m, PL_MSG_ECHO, 0, 11), 0);
	pl_msg_add(&m, PL_TAG_PAYLOAD, blob, 20000);
	assert_int_equal(pl_msg_finish(&m), 0);
	make_pair(sv);
	assert_int_equal(pl_reader_init(&r, 64 * 1024), 0);
	assert_int_equal(pl_reader_fill(&r, sv[0]), 0); /* nothing yet */
	for (size_t c = 0; c <= sizeof(cuts) / sizeof(cuts[0]); c++) {
		size_t end = c < sizeof(cuts) / sizeof(cuts[0]) ? cuts[c] : m.len;
		write_all(sv[1], m.buf + off, end - off);
		while (off < end) {
			ssize_t n = pl_reader_fill(&r, sv[0]);
			assert_true(n > 0);
			off += (size_t)n;
		}
		assert_int_equal(off, end);
		int rc = pl_reader_next(&r, &f);
		assert_int_equal(rc, end == m.len ? 1 : 0);
	}
	assert_int_equal(f.seq, 11);
	assert_int_equal(pl_frame_find(&f, PL_TAG_PAYLOAD, &fl), 1);
	assert_int_equal(fl.len, 20000);
	assert_memory_equal(fl.val, blob, 20000);
	assert_int_equal(pl_reader_next(&r, &f), 0);
	assert_int_equal(pl_reader_fill(&r, sv[0]), 0);
	pl_reader_free(&r);
	pl_msg_free(&m);
	close_pair(sv);
	free(blob);
}

static void test_reader_fill_pipe(void **state)
{
	(void)state;
	pl_msg_t m;
	pl_reader_t r;
	pl_frame_t f;
	int p[2];

	/* Not a socket: the reader falls back to read(). */
	assert_int_equal(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
	hello(&m, 5, "SNMP");
	write_all(p[1], m.buf, m.len);
	assert_int_equal(pl_reader_init(&r, 0), 0);
	assert_int_equal(pl_reader_fill(&r, p[0]), (ssize_t)m.len);
	assert_int_equal(pl_reader_next(&r, &f), 1);
	check_hello(&f, 5, "SNMP");
	assert_int_equal(pl_reader_fill(&r, p[0]), 0);
	close(p[1]);
	assert_int_equal(pl_reader_fill(&r, p[0]), -PL_PROTO_EOF);
	close(p[0]);
	pl_reader_free(&r);
	pl_msg_free(&m);
}

/* ---- fd passing and the send queue ---- */

static void test_fd_passing(void **state)
{
	(void)state;
	int before = count_fds();
	pl_msg_t m;
	pl_wq_t q;
	pl_reader_t r;
	pl_frame_t f;
	int sv[2], p[2], got[2];
	char buf[16];

	make_pair(sv);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	pl_wq_init(&q, 0);
	/* fd, no fd, fd: each fd must land on its own frame. */
	for (uint32_t i = 0; i < 3; i++) {
		assert_int_equal(pl_msg_init(&m, PL_MSG_JOB_EVENT, 0, i), 0);
		pl_msg_add_str(&m, PL_TAG_TO, "Email");
		if (i != 1)
			pl_msg_set_fd(&m, p[i == 0 ? 0 : 1]);
		assert_int_equal(pl_msg_finish(&m), 0);
		assert_int_equal(pl_wq_push(&q, &m), 0);
		pl_msg_free(&m);
	}
	close(p[0]); /* the queue holds its own duplicates */
	close(p[1]);
	assert_int_equal(pl_wq_flush(&q, sv[1]), 1);
	assert_true(pl_wq_empty(&q));

	assert_int_equal(pl_reader_init(&r, 0), 0);
	for (uint32_t i = 0, k = 0; i < 3; i++) {
		while (pl_reader_next(&r, &f) == 0)
			assert_true(pl_reader_fill(&r, sv[0]) > 0);
		assert_int_equal(f.seq, i);
		if (i == 1) {
			assert_int_equal(f.fd, -1);
			assert_int_equal(f.flags & PL_FLAG_FD, 0);
			continue;
		}
		assert_int_equal(f.flags & PL_FLAG_FD, PL_FLAG_FD);
		assert_true(f.fd > 2);
		assert_true(fcntl(f.fd, F_GETFD) & FD_CLOEXEC);
		got[k++] = f.fd;
	}
	/* got[0] is the read end, got[1] the write end. */
	write_all(got[1], "through", 7);
	assert_int_equal(read(got[0], buf, sizeof(buf)), 7);
	assert_memory_equal(buf, "through", 7);
	close(got[0]);
	close(got[1]);
	pl_reader_free(&r);
	close_pair(sv);
	assert_int_equal(count_fds(), before);
}

static void test_fd_flag_without_fd(void **state)
{
	(void)state;
	pl_msg_t m;
	pl_wq_t q;
	pl_reader_t r;
	pl_frame_t f;
	int sv[2];

	/* The flag set by hand, no descriptor attached. */
	assert_int_equal(pl_msg_init(&m, PL_MSG_ECHO, PL_FLAG_FD, 1), 0);
	assert_int_equal(pl_msg_finish(&m), 0);

	assert_int_equal(pl_reader_init(&r, 0), 0);
	assert_int_equal(pl_reader_feed(&r, m.buf, m.len), 0);
	assert_int_equal(pl_reader_next(&r, &f), -PL_PROTO_EFD);
	assert_int_equal(pl_reader_next(&r, &f), -PL_PROTO_EFD);
	pl_reader_free(&r);

	make_pair(sv);
	pl_wq_init(&q, 0);
	assert_int_equal(pl_wq_push(&q, &m), 0);
	assert_int_equal(pl_wq_flush(&q, sv[1]), 1);
	assert_int_equal(pl_reader_init(&r, 0), 0);
	assert_true(pl_reader_fill(&r, sv[0]) > 0);
	assert_int_equal(pl_reader_next(&r, &f), -PL_PROTO_EFD);
	pl_reader_free(&r);
	pl_wq_free(&q);
	close_pair(sv);
	pl_msg_free(&m);
}

static void test_wq_bound(void **state)
{
	(void)state;
	pl_msg_t m;
	pl_wq_t q;
	int sv[2];

	assert_int_equal(pl_msg_init(&m, PL_MSG_PING, 0, 0), 0);
	pl_msg_add_u32(&m, PL_TAG_PID, 1);
	assert_int_equal(pl_msg_finish(&m), 0);
	assert_int_equal(m.len, 26);
	pl_wq_init(&q, 60);
	assert_int_equal(pl_wq_push(&q, &m), 0);
	assert_int_equal(pl_wq_push(&q, &m), 0);
	assert_int_equal(q.queued, 52);
	assert_int_equal(pl_wq_push(&q, &m), -PL_PROTO_EQUEUE);
	assert_int_equal(q.queued, 52);
	make_pair(sv);
	assert_int_equal(pl_wq_flush(&q, sv[1]), 1);
	assert_int_equal(q.queued, 0);
	assert_int_equal(pl_wq_push(&q, &m), 0); /* room again */
	pl_wq_free(&q);
	assert_int_equal(q.queued, 0);
	/* A message with a sticky error is refused. */
	m.err = PL_PROTO_ETOOBIG;
	assert_int_equal(pl_wq_push(&q, &m), -PL_PROTO_ETOOBIG);
	close_pair(sv);
	pl_msg_free(&m);
}

static void test_wq_partial_writes(void **state)
{
	(void)state;
	const size_t big = 1024 * 1024;
	uint8_t *blob = malloc(big);
	pl_msg_t m;
	pl_wq_t q;
	pl_reader_t r;
	pl_frame_t f;
	pl_field_t fl;
	int sv[2], small = 4096, rc, partial = 0, frames = 0;

	assert_non_null(blob);
	for (size_t i = 0; i < big; i++)
		blob[i] = (uint8_t)(i ^ (i >> 8));
	make_pair(sv);
	assert_int_equal(setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &small,
				    sizeof(small)), 0);
	assert_int_equal(setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &small,
				    sizeof(small)), 0);
	assert_int_equal(pl_msg_init(&m, PL_MSG_ECHO, 0, 1), 0);
	pl_msg_add(&m, PL_TAG_PAYLOAD, blob, big);
	assert_int_equal(pl_msg_finish(&m), 0);
	pl_wq_init(&q, 0);
	assert_int_equal(pl_wq_push(&q, &m), 0);
	pl_msg_reset(&m, PL_MSG_ECHO, 0, 2); /* a small one queued behind */
	assert_int_equal(pl_msg_finish(&m), 0);
	assert_int_equal(pl_wq_push(&q, &m), 0);
	assert_int_equal(pl_reader_init(&r, 2 * big), 0);

	while ((rc = pl_wq_flush(&q, sv[1])) == 0 || frames < 2) {
		assert_true(rc >= 0);
		if (rc == 0)
			partial++;
		while (pl_reader_fill(&r, sv[0]) > 0)
			;
		while (pl_reader_next(&r, &f) == 1) {
			frames++;
			if (f.seq != 1)
				continue;
			assert_int_equal(pl_frame_find(&f, PL_TAG_PAYLOAD, &fl), 1);
			assert_int_equal(fl.len, big);
			assert_memory_equal(fl.val, blob, big);
		}
	}
	assert_int_equal(rc, 1);
	assert_int_equal(frames, 2);
	assert_true(partial > 10);
	assert_int_equal(q.queued, 0);
	pl_reader_free(&r);
	pl_wq_free(&q);
	pl_msg_free(&m);
	close_pair(sv);
	free(blob);
}

/* ---- blocking helpers ---- */

static void test_send_recv_frame(void **state)
{
	(void)state;
	pl_msg_t m;
	pl_reader_t r;
	pl_frame_t f;
	int sv[2];

	make_pair(sv);
	hello(&m, 9, "Email");
	assert_int_equal(pl_send_frame(sv[1], &m, 1000), 0);
	assert_int_equal(pl_send_frame(sv[1], &m, 1000), 0);
	assert_int_equal(pl_reader_init(&r, 0), 0);
	assert_int_equal(pl_recv_frame(sv[0], &r, &f, 1000), 0);
	check_hello(&f, 9, "Email");
	/* Both frames arrived in one fill; the second comes from the buffer. */
	assert_int_equal(pl_recv_frame(sv[0], &r, &f, 1000), 0);
	check_hello(&f, 9, "Email");
	pl_reader_free(&r);
	pl_msg_free(&m);
	close_pair(sv);
}

static void test_recv_timeout(void **state)
{
	(void)state;
	pl_reader_t r;
	pl_frame_t f;
	int sv[2];

	make_pair(sv);
	assert_int_equal(pl_reader_init(&r, 0), 0);
	long long t0 = now_ms();
	errno = 0;
	assert_int_equal(pl_recv_frame(sv[0], &r, &f, 50), -PL_PROTO_EIO);
	assert_int_equal(errno, ETIMEDOUT);
	long long dt = now_ms() - t0;
	assert_true(dt >= 45 && dt < 2000);
	/* Half a header, then silence: still a timeout, not a frame. */
	write_all(sv[1], "PL\x01", 3);
	errno = 0;
	assert_int_equal(pl_recv_frame(sv[0], &r, &f, 50), -PL_PROTO_EIO);
	assert_int_equal(errno, ETIMEDOUT);
	pl_reader_free(&r);
	close_pair(sv);
}

static void test_send_timeout(void **state)
{
	(void)state;
	const size_t big = 4 * 1024 * 1024;
	pl_msg_t m;
	int sv[2], small = 4096;

	make_pair(sv);
	assert_int_equal(setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &small,
				    sizeof(small)), 0);
	assert_int_equal(pl_msg_init(&m, PL_MSG_ECHO, 0, 0), 0);
	uint8_t *blob = calloc(1, big);
	assert_non_null(blob);
	pl_msg_add(&m, PL_TAG_PAYLOAD, blob, big);
	assert_int_equal(pl_msg_finish(&m), 0);
	/* Nobody reads the other end. */
	errno = 0;
	assert_int_equal(pl_send_frame(sv[1], &m, 50), -PL_PROTO_EIO);
	assert_int_equal(errno, ETIMEDOUT);
	pl_msg_free(&m);
	free(blob);
	close_pair(sv);
}

static void test_eof(void **state)
{
	(void)state;
	pl_reader_t r;
	pl_frame_t f;
	pl_msg_t m;
	pl_wq_t q;
	int sv[2];

	make_pair(sv);
	assert_int_equal(pl_reader_init(&r, 0), 0);
	close(sv[1]);
	sv[1] = -1;
	assert_int_equal(pl_recv_frame(sv[0], &r, &f, 1000), -PL_PROTO_EOF);
	assert_int_equal(pl_reader_fill(&r, sv[0]), -PL_PROTO_EOF);
	pl_reader_free(&r);
	close_pair(sv);

	/* EOF in the middle of a frame is EOF too. */
	make_pair(sv);
	hello(&m, 1, "Email");
	write_all(sv[1], m.buf, m.len - 1);
	close(sv[1]);
	sv[1] = -1;
	assert_int_equal(pl_reader_init(&r, 0), 0);
	assert_int_equal(pl_recv_frame(sv[0], &r, &f, 1000), -PL_PROTO_EOF);
	pl_reader_free(&r);

	/* Writing to a closed peer is an error, not SIGPIPE. */
	pl_wq_init(&q, 0);
	int sv2[2];
	make_pair(sv2);
	close(sv2[0]);
	sv2[0] = -1;
	assert_int_equal(pl_wq_push(&q, &m), 0);
	assert_int_equal(pl_wq_flush(&q, sv2[1]), -PL_PROTO_EIO);
	assert_int_equal(errno, EPIPE);
	pl_wq_free(&q);
	close_pair(sv2);
	close_pair(sv);
	pl_msg_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_bytes),
		cmocka_unit_test(test_roundtrip_scalars),
		cmocka_unit_test(test_roundtrip_empty),
		cmocka_unit_test(test_roundtrip_nested),
		cmocka_unit_test(test_msg_reset_reuses_buffer),
		cmocka_unit_test(test_set_fd_flag),
		cmocka_unit_test(test_bad_magic),
		cmocka_unit_test(test_bad_version),
		cmocka_unit_test(test_unknown_flags),
		cmocka_unit_test(test_truncated_header),
		cmocka_unit_test(test_truncated_payload),
		cmocka_unit_test(test_frame_over_max),
		cmocka_unit_test(test_msg_over_max),
		cmocka_unit_test(test_field_past_frame),
		cmocka_unit_test(test_leftover_bytes),
		cmocka_unit_test(test_nested_malformed),
		cmocka_unit_test(test_wrong_size_ints),
		cmocka_unit_test(test_frame_get_wrong_type),
		cmocka_unit_test(test_string_embedded_nul),
		cmocka_unit_test(test_string_too_long),
		cmocka_unit_test(test_nest_depth_exceeded),
		cmocka_unit_test(test_nest_end_without_begin),
		cmocka_unit_test(test_unknown_tags_skipped),
		cmocka_unit_test(test_find_malformed),
		cmocka_unit_test(test_strerror_and_names),
		cmocka_unit_test(test_reader_byte_at_a_time),
		cmocka_unit_test(test_reader_many_in_one_feed),
		cmocka_unit_test(test_reader_space),
		cmocka_unit_test(test_reader_huge_header_fails_early),
		cmocka_unit_test(test_reader_bad_header_sticky),
		cmocka_unit_test(test_reader_split_over_socket),
		cmocka_unit_test(test_reader_fill_pipe),
		cmocka_unit_test(test_fd_passing),
		cmocka_unit_test(test_fd_flag_without_fd),
		cmocka_unit_test(test_wq_bound),
		cmocka_unit_test(test_wq_partial_writes),
		cmocka_unit_test(test_send_recv_frame),
		cmocka_unit_test(test_recv_timeout),
		cmocka_unit_test(test_send_timeout),
		cmocka_unit_test(test_eof),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
