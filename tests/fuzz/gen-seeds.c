/* Writes the committed seed corpora of the proto fuzz targets:
 *
 *   cc -std=c11 -D_GNU_SOURCE -Iproto proto/frame.c proto/stream.c \
 *       tests/fuzz/gen-seeds.c -o /tmp/gen-seeds
 *   /tmp/gen-seeds tests/fuzz/corpus
 *
 * Valid frames come from the real encoder, so the seeds follow the code;
 * malformed ones are valid frames with the one byte that matters broken,
 * so each error path starts one mutation away from a good frame. The
 * output is deterministic: rerunning it rewrites the same files. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "pl_proto.h"

#define SEED_MAX 8192

typedef struct {
	uint8_t b[SEED_MAX];
	size_t len;
} seed_t;

static const char *outdir;

static void die(const char *what)
{
	fprintf(stderr, "gen-seeds: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void append(seed_t *s, const void *p, size_t n)
{
	if (s->len + n > SEED_MAX) {
		fprintf(stderr, "gen-seeds: seed too large\n");
		exit(1);
	}
	memcpy(s->b + s->len, p, n);
	s->len += n;
}

/* Finish m and append its bytes; the message is freed. */
static void append_msg(seed_t *s, pl_msg_t *m)
{
	if (pl_msg_finish(m) < 0) {
		fprintf(stderr, "gen-seeds: encode: %s\n",
			pl_proto_strerror(m->err));
		exit(1);
	}
	append(s, m->buf, m->len);
	pl_msg_free(m);
}

static void write_seed(const char *target, const char *name, const seed_t *s)
{
	char path[1024];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", outdir, target);
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		die(path);
	snprintf(path, sizeof(path), "%s/%s/%s", outdir, target, name);
	fp = fopen(path, "wb");
	if (!fp || fwrite(s->b, 1, s->len, fp) != s->len || fclose(fp) != 0)
		die(path);
}

/* ---- valid messages ---- */

static void msg_hello(seed_t *s)
{
	pl_msg_t m;
	pl_msg_init(&m, PL_MSG_HELLO, 0, 0);
	pl_msg_add_str(&m, PL_TAG_NAME, "PrinterLogicServiceEmail");
	pl_msg_add_u32(&m, PL_TAG_PID, 4242);
	pl_msg_add_str(&m, PL_TAG_VERSION, "0.1.0");
	pl_msg_add_u32(&m, PL_TAG_CAPS, PL_CAP_HOLDS_JOBS);
	append_msg(s, &m);
}

static void msg_simple(seed_t *s, uint16_t type, uint8_t flags, uint32_t seq)
{
	pl_msg_t m;
	pl_msg_init(&m, type, flags, seq);
	append_msg(s, &m);
}

static void msg_config(seed_t *s)
{
	pl_msg_t m;
	pl_msg_init(&m, PL_MSG_CONFIG, 0, 0);
	pl_msg_add_str(&m, PL_TAG_CONFIG,
		       "{\"enabled\":true,\"poll_seconds\":30}");
	append_msg(s, &m);
}

static void msg_shutdown(seed_t *s)
{
	pl_msg_t m;
	pl_msg_init(&m, PL_MSG_SHUTDOWN, 0, 0);
	pl_msg_add_u32(&m, PL_TAG_GRACE_MS, 10000);
	append_msg(s, &m);
}

static void msg_result(seed_t *s, uint32_t status, const char *text)
{
	pl_msg_t m;
	pl_msg_init(&m, PL_MSG_RESULT,
		    PL_FLAG_REPLY | (status ? PL_FLAG_ERROR : 0), 12);
	pl_msg_add_u32(&m, PL_TAG_STATUS, status);
	pl_msg_add_str(&m, PL_TAG_MESSAGE, text);
	append_msg(s, &m);
}

static void add_service(pl_msg_t *m, const char *name, uint8_t on,
			const char *state, uint32_t pid)
{
	pl_msg_nest_begin(m, PL_TAG_SERVICE);
	pl_msg_add_str(m, PL_TAG_NAME, name);
	pl_msg_add_u8(m, PL_TAG_ENABLED, on);
	pl_msg_add_str(m, PL_TAG_STATE, state);
	pl_msg_add_u32(m, PL_TAG_PID, pid);
	pl_msg_add_u32(m, PL_TAG_RESTARTS, 2);
	pl_msg_add_u64(m, PL_TAG_UPTIME_MS, 86400000ull * 3);
	pl_msg_add_str(m, PL_TAG_LAST_EXIT, "signal 9");
	pl_msg_add_str(m, PL_TAG_PATH, "/usr/libexec/plsc/plsc-email");
	pl_msg_nest_end(m);
}

/* CTL_STATUS reply: services, and a supervisor block two levels deep. */
static void msg_status(seed_t *s)
{
	pl_msg_t m;
	pl_msg_init(&m, PL_MSG_RESULT, PL_FLAG_REPLY, 1);
	pl_msg_add_u32(&m, PL_TAG_STATUS, 0);
	add_service(&m, "PrinterLogicServiceEmail", 1, "running", 4242);
	add_service(&m, "PrinterLogicServiceSNMP", 0, "disabled", 0);
	pl_msg_nest_begin(&m, PL_TAG_SUPERVISOR);
	pl_msg_add_u32(&m, PL_TAG_PID, 1);
	pl_msg_nest_begin(&m, PL_TAG_SERVICE);
	pl_msg_add_str(&m, PL_TAG_NAME, "inner");
	pl_msg_nest_end(&m);
	pl_msg_nest_end(&m);
	append_msg(s, &m);
}

static void msg_echo(seed_t *s)
{
	static const uint8_t blob[] = { 0, 1, 2, 0xff, 0xfe, 0, 'P', 'L' };
	pl_msg_t m;
	pl_msg_init(&m, PL_MSG_ECHO, 0, 77);
	pl_msg_add_str(&m, PL_TAG_TO, "PrinterLogicServiceSNMP");
	pl_msg_add_str(&m, PL_TAG_FROM, "PrinterLogicServiceEmail");
	pl_msg_add(&m, PL_TAG_PAYLOAD, blob, sizeof(blob));
	append_msg(s, &m);
}

/* A RELEASE that says an fd rides along: the bytes alone cannot carry it. */
static void msg_fd(seed_t *s)
{
	pl_msg_t m;
	pl_msg_init(&m, PL_MSG_RELEASE, 0, 5);
	pl_msg_add_str(&m, PL_TAG_TO, "*holders");
	pl_msg_set_fd(&m, 0);
	append_msg(s, &m);
}

static void msg_unknown_tags(seed_t *s)
{
	pl_msg_t m;
	pl_msg_init(&m, 0x7777, 0, 0);
	pl_msg_add(&m, 0xfffe, "future", 6);
	pl_msg_add_str(&m, PL_TAG_NAME, "x");
	pl_msg_add(&m, 0x4000, NULL, 0);
	append_msg(s, &m);
}

static void msg_wrong_sizes(seed_t *s)
{
	pl_msg_t m;
	pl_msg_init(&m, PL_MSG_HELLO, 0, 0);
	pl_msg_add(&m, PL_TAG_PID, "\0\0\1", 3);
	pl_msg_add(&m, PL_TAG_ENABLED, "\1\1", 2);
	pl_msg_add_u32(&m, PL_TAG_UPTIME_MS, 7);
	pl_msg_add_u64(&m, PL_TAG_CAPS, 7);
	append_msg(s, &m);
}

static void msg_str_nul(seed_t *s)
{
	pl_msg_t m;
	pl_msg_init(&m, PL_MSG_HELLO, 0, 0);
	pl_msg_add(&m, PL_TAG_NAME, "Em\0ail", 6);
	pl_msg_add(&m, PL_TAG_VERSION, "0.1.0\0", 6);
	append_msg(s, &m);
}

static void msg_long_str(seed_t *s)
{
	char big[300];
	pl_msg_t m;
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	pl_msg_init(&m, PL_MSG_RESULT, PL_FLAG_REPLY, 0);
	pl_msg_add_str(&m, PL_TAG_MESSAGE, big);
	append_msg(s, &m);
}

/* Eight nested levels, more than the encoder allows: built by hand. */
static void msg_deep(seed_t *s)
{
	enum { LEVELS = 8 };
	uint8_t b[PL_PROTO_HDR_LEN + LEVELS * PL_FIELD_HDR_LEN + 4];
	pl_msg_t m;
	size_t at = PL_PROTO_HDR_LEN;

	pl_msg_init(&m, PL_MSG_RESULT, 0, 0);
	pl_msg_finish(&m);
	memcpy(b, m.buf, PL_PROTO_HDR_LEN);
	pl_msg_free(&m);
	put32(b + 12, (uint32_t)(sizeof(b) - PL_PROTO_HDR_LEN));
	for (int i = 0; i < LEVELS; i++) {
		b[at] = 0;
		b[at + 1] = PL_TAG_SERVICE;
		put32(b + at + 2, (uint32_t)(sizeof(b) - at - PL_FIELD_HDR_LEN));
		at += PL_FIELD_HDR_LEN;
	}
	memcpy(b + at, "abcd", 4);
	append(s, b, sizeof(b));
}

/* ---- malformed: a good frame with one thing broken ---- */

static void broken(seed_t *s, size_t at, uint8_t byte)
{
	msg_hello(s);
	s->b[at] = byte;
}

static void build_decode(void)
{
	static const char *t = "fuzz_proto_decode";
	seed_t s;

#define SEED(name, body) \
	do { s.len = 0; body; write_seed(t, name, &s); } while (0)

	SEED("hello", msg_hello(&s));
	SEED("ready", msg_simple(&s, PL_MSG_READY, 0, 0));
	SEED("ping", msg_simple(&s, PL_MSG_PING, 0, 41));
	SEED("pong", msg_simple(&s, PL_MSG_PONG, PL_FLAG_REPLY, 41));
	SEED("config", msg_config(&s));
	SEED("shutdown", msg_shutdown(&s));
	SEED("result-error", msg_result(&s, 3, "no such service"));
	SEED("status-nested", msg_status(&s));
	SEED("echo-bytes", msg_echo(&s));
	SEED("fd-flag", msg_fd(&s));
	SEED("unknown-tags", msg_unknown_tags(&s));
	SEED("wrong-size-ints", msg_wrong_sizes(&s));
	SEED("str-embedded-nul", msg_str_nul(&s));
	SEED("str-long", msg_long_str(&s));
	SEED("nest-deep", msg_deep(&s));
	SEED("two-frames", msg_hello(&s); msg_status(&s));
	SEED("bad-magic", broken(&s, 0, 'X'));
	SEED("bad-version", broken(&s, 2, 2));
	SEED("bad-flags", broken(&s, 3, 0x80));
	SEED("trunc-header", msg_hello(&s); s.len = 10);
	SEED("trunc-payload", msg_hello(&s); s.len -= 3);
	SEED("too-big", msg_simple(&s, PL_MSG_ECHO, 0, 0); put32(s.b + 12, 1u << 30));
	/* First field NAME: its length byte at 16+5 claims too much. */
	SEED("field-past-frame", broken(&s, 16 + 5, 0xff));
	/* Payload length + 3: three stray bytes after the last field. */
	SEED("leftover-3", msg_hello(&s); s.b[15] += 3;
	     append(&s, "\0\0\0", 3));
	/* A nest whose inner field runs past the nest. */
	SEED("nested-field-past", msg_status(&s); s.b[16 + 10 + 6 + 5] += 1);
#undef SEED
}

/* ---- reader seeds: two control bytes, then the stream ---- */

static void build_reader(void)
{
	static const char *t = "fuzz_proto_reader";
	seed_t s;

	/* mode: bits 0-5 largest chunk - 1, 0x40 vary, 0x80 all at once */
#define SEED(name, mode, seed, body) \
	do { s.b[0] = (mode); s.b[1] = (seed); s.len = 2; body; \
	     write_seed(t, name, &s); } while (0)

	SEED("hello-bytewise", 0x00, 0xff, msg_hello(&s));
	SEED("hello-whole", 0x80, 0xff, msg_hello(&s));
	SEED("stream-chunk7", 0x06, 0xff,
	     msg_hello(&s); msg_simple(&s, PL_MSG_READY, 0, 0);
	     msg_simple(&s, PL_MSG_PONG, PL_FLAG_REPLY, 1));
	SEED("stream-vary", 0x7f, 0x2a,
	     msg_hello(&s); msg_status(&s); msg_echo(&s); msg_config(&s));
	SEED("two-frames", 0x3f, 0xff, msg_hello(&s); msg_status(&s));
	SEED("small-max", 0x0f, 0x20, msg_hello(&s); msg_status(&s));
	SEED("fd-flag", 0x03, 0xff, msg_hello(&s); msg_fd(&s));
	SEED("bad-after-good", 0x45, 0x11, msg_hello(&s); size_t at = s.len;
	     msg_hello(&s); s.b[at + 2] = 9);
	SEED("trunc-end", 0x07, 0xff, msg_hello(&s); msg_status(&s);
	     s.len -= 5);
	SEED("too-big", 0x00, 0xff, msg_simple(&s, PL_MSG_ECHO, 0, 0);
	     put32(s.b + 2 + 12, 1u << 30));
	SEED("field-past", 0x41, 0x05, broken(&s, 2 + 16 + 5, 0xff));
	SEED("leftover", 0x02, 0xff, msg_hello(&s); s.b[2 + 15] += 2;
	     append(&s, "\0\0", 2));
	SEED("str-long", 0x1f, 0xff, msg_long_str(&s); msg_long_str(&s));
	SEED("nest-deep", 0x08, 0x40, msg_deep(&s); msg_simple(&s, PL_MSG_PING, 0, 2));
	SEED("bad-magic", 0x00, 0xff, msg_simple(&s, PL_MSG_PING, 0, 0);
	     s.b[2] = 'X');
	SEED("empty-stream", 0x00, 0x00, (void)0);
	SEED("many-pings", 0x4f, 0x99,
	     for (uint32_t i = 0; i < 40; i++) msg_simple(&s, PL_MSG_PING, 0, i));
#undef SEED
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: gen-seeds tests/fuzz/corpus\n");
		return 2;
	}
	outdir = argv[1];
	if (mkdir(outdir, 0755) < 0 && errno != EEXIST)
		die(outdir);
	build_decode();
	build_reader();
	return 0;
}
