/* pl_badge: presets, formats, decoding to the canonical ID, the streaming
 * frame splitter (noise, chunking, fixed length), normalisation of typed
 * IDs, and masking. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "pl_badge.h"
#include "pl_util.h"

/* ---- helpers ---------------------------------------------------------- */

#define MAX_EVENTS 32

/* What the reader reported: "id:<id>" or "noise:<why>", in order. */
typedef struct {
	char ev[MAX_EVENTS][PL_ERR_MAX + 8];
	int n;
} events_t;

static void record(void *arg, const char *id, const char *why)
{
	events_t *e = arg;

	assert_true((id == NULL) != (why == NULL));
	assert_true(e->n < MAX_EVENTS);
	snprintf(e->ev[e->n++], sizeof(e->ev[0]), "%s:%s",
		 id != NULL ? "id" : "noise", id != NULL ? id : why);
}

static void feed_chunks(const pl_badge_format_t *f, const void *data,
			size_t n, size_t chunk, events_t *e)
{
	pl_badge_reader_t r;
	const char *p = data;

	memset(e, 0, sizeof(*e));
	pl_badge_reader_init(&r, f);
	if (chunk == 0)
		chunk = n > 0 ? n : 1;
	for (size_t off = 0; off < n; off += chunk)
		pl_badge_reader_feed(&r, p + off,
				     n - off < chunk ? n - off : chunk, record,
				     e);
}

static void feed_all(const pl_badge_format_t *f, const void *data, size_t n,
		     events_t *e)
{
	feed_chunks(f, data, n, 0, e);
}

/* A string literal, NULs included. */
#define FEED(f, lit, e) feed_all((f), (lit), sizeof(lit) - 1, (e))

static void preset(const char *name, pl_badge_format_t *f)
{
	pl_err_t err;

	assert_int_equal(pl_badge_preset(name, f, &err), 0);
}

static void parse_ok(const char *json, pl_badge_format_t *f)
{
	pl_err_t err = { "" };

	if (pl_badge_format_parse(json, f, &err) != 0)
		fail_msg("%s: %s", json, err.msg);
}

/* Decode a NUL-terminated frame; returns the ID or "ERR". */
static const char *dec(const pl_badge_format_t *f, const char *frame,
		       char id[PL_BADGE_MAX + 1])
{
	pl_err_t err;

	if (pl_badge_decode(f, frame, strlen(frame), id, &err) < 0)
		strcpy(id, "ERR");
	return id;
}

static const char *norm(const char *text, char id[PL_BADGE_MAX + 1])
{
	pl_err_t err;

	if (pl_badge_normalize(text, id, &err) < 0)
		strcpy(id, "ERR");
	return id;
}

/* ---- tests ------------------------------------------------------------ */

static void test_presets(void **state)
{
	static const char elatec[] = "04A1B2C3D4\r\n";
	static const char rfideas[] = "0012345678\r";
	pl_badge_format_t f;
	pl_err_t err;
	events_t e;

	(void)state;
	preset("elatec-tcpconv2", &f);
	assert_int_equal(f.term, PL_BADGE_TERM_CRLF);
	assert_int_equal(f.base, PL_BADGE_HEX);
	assert_int_equal(f.order, PL_BADGE_MSB_FIRST);
	assert_string_equal(f.prefix, "");
	assert_string_equal(f.suffix, "");
	assert_int_equal(f.max_len, 64);
	feed_all(&f, elatec, strlen(elatec), &e);
	assert_int_equal(e.n, 1);
	assert_string_equal(e.ev[0], "id:4a1b2c3d4");

	preset("rfideas-e241", &f);
	assert_int_equal(f.term, PL_BADGE_TERM_CR);
	assert_int_equal(f.base, PL_BADGE_DEC);
	assert_int_equal(f.max_len, 64);
	feed_all(&f, rfideas, strlen(rfideas), &e);
	assert_int_equal(e.n, 1);
	/* 12345678 = 0xbc614e */
	assert_string_equal(e.ev[0], "id:bc614e");

	assert_int_equal(pl_badge_preset("hid-omnikey", &f, &err), -1);
	assert_non_null(strstr(err.msg, "hid-omnikey"));
}

static void test_dec_equals_hex(void **state)
{
	pl_badge_format_t fh, fd;
	char id[PL_BADGE_MAX + 1];

	(void)state;
	parse_ok("{\"base\": \"hex\"}", &fh);
	parse_ok("{\"base\": \"dec\"}", &fd);
	assert_string_equal(dec(&fd, "6699", id), "1a2b");
	assert_string_equal(dec(&fh, "1A2B", id), "1a2b");
	assert_string_equal(dec(&fh, "1a2b", id), "1a2b");
	assert_string_equal(dec(&fh, "00001A2B", id), "1a2b");
	assert_string_equal(dec(&fd, "0006699", id), "1a2b");
	assert_string_equal(dec(&fh, "0000", id), "0");
	assert_string_equal(dec(&fd, "0", id), "0");
	assert_string_equal(dec(&fd, "255", id), "ff");
	assert_string_equal(dec(&fd, "256", id), "100");
	/* Wrong digits for the base. */
	assert_string_equal(dec(&fd, "1A2B", id), "ERR");
	assert_string_equal(dec(&fh, "1A2G", id), "ERR");
	assert_string_equal(dec(&fh, "1A 2B", id), "ERR");
	assert_string_equal(dec(&fh, "-1A2B", id), "ERR");
	assert_string_equal(dec(&fh, "", id), "ERR");
	assert_string_equal(dec(&fh, "  \t", id), "ERR");
}

static void test_lsb_order(void **state)
{
	pl_badge_format_t f;
	char id[PL_BADGE_MAX + 1];

	(void)state;
	parse_ok("{\"order\": \"lsb\"}", &f);
	assert_string_equal(dec(&f, "2B1A", id), "1a2b");
	/* Odd length: padded with a leading 0 (0B 1A), then reversed. */
	assert_string_equal(dec(&f, "B1A", id), "1a0b");
	assert_string_equal(dec(&f, "D4C3B2A104", id), "4a1b2c3d4");
	/* Trailing zero bytes become leading zeros, which go. */
	assert_string_equal(dec(&f, "2B1A0000", id), "1a2b");
	assert_string_equal(dec(&f, "00002B1A", id), "1a2b0000");
	assert_string_equal(dec(&f, "00", id), "0");
	/* Decimal IDs have no bytes to reverse. */
	parse_ok("{\"order\": \"lsb\", \"base\": \"dec\"}", &f);
	assert_string_equal(dec(&f, "6699", id), "1a2b");
}

/* Hex digits back to decimal by long division by 10, a different
 * algorithm from the decoder's multiply-add. */
static void hex_to_dec(const char *hex, char *out, size_t outsz)
{
	unsigned char d[PL_BADGE_MAX];
	size_t n = strlen(hex), o = 0;
	char rev[128];
	int nonzero;

	for (size_t i = 0; i < n; i++)
		d[i] = (unsigned char)(hex[i] <= '9' ? hex[i] - '0'
						    : hex[i] - 'a' + 10);
	do {
		unsigned rem = 0;

		nonzero = 0;
		for (size_t i = 0; i < n; i++) {
			unsigned v = rem * 16 + d[i];

			d[i] = (unsigned char)(v / 10);
			rem = v % 10;
			nonzero |= d[i] != 0;
		}
		rev[o++] = (char)('0' + rem);
	} while (nonzero && o < sizeof(rev));
	assert_true(o < outsz);
	for (size_t i = 0; i < o; i++)
		out[i] = rev[o - 1 - i];
	out[o] = '\0';
}

static void test_big_decimal(void **state)
{
	/* 30 digits; the hex is from Python: hex(123456789012345678901234567890) */
	static const char d30[] = "123456789012345678901234567890";
	static const char d40[] = "9999999999999999999999999999999999999999";
	pl_badge_format_t f;
	char id[PL_BADGE_MAX + 1], back[64];

	(void)state;
	parse_ok("{\"base\": \"dec\"}", &f);
	assert_string_equal(dec(&f, d30, id), "18ee90ff6c373e0ee4e3f0ad2");
	hex_to_dec(id, back, sizeof(back));
	assert_string_equal(back, d30);
	/* The largest accepted: 10^40 - 1 (Python: hex(10**40-1)). */
	assert_string_equal(dec(&f, d40, id),
			    "1d6329f1c35ca4bfabb9f560ffffffffff");
	hex_to_dec(id, back, sizeof(back));
	assert_string_equal(back, d40);
	/* 41 digits, even with leading zeros, is refused. */
	assert_string_equal(dec(&f, "0" "9999999999999999999999999999999999999999",
				id),
			    "ERR");
	/* Over the uint64_t range, by one: 2^64 = 18446744073709551616. */
	assert_string_equal(dec(&f, "18446744073709551616", id),
			    "10000000000000000");
	assert_string_equal(dec(&f, "18446744073709551615", id),
			    "ffffffffffffffff");
	/* Through normalize too. */
	assert_string_equal(norm(d30, id), "18ee90ff6c373e0ee4e3f0ad2");
	/* 40 hex digits accepted, 41 not. */
	parse_ok("{}", &f);
	assert_string_equal(dec(&f, "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF",
				id),
			    "ffffffffffffffffffffffffffffffffffffffff");
	assert_string_equal(dec(&f, "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF1",
				id),
			    "ERR");
}

static void test_prefix_suffix(void **state)
{
	pl_badge_format_t f;
	char id[PL_BADGE_MAX + 1];
	events_t e;
	static const char stream[] = "ID:1A2B;\nid:1A2B;\nID:;\n";

	(void)state;
	parse_ok("{\"preset\": \"elatec-tcpconv2\", \"prefix\": \"ID:\", "
		 "\"suffix\": \";\"}",
		 &f);
	assert_string_equal(f.prefix, "ID:");
	assert_string_equal(f.suffix, ";");
	assert_string_equal(dec(&f, "ID:1A2B;", id), "1a2b");
	assert_string_equal(dec(&f, "  ID: 1A2B ;\t", id), "1a2b");
	/* Optional: absent prefix or suffix is fine. */
	assert_string_equal(dec(&f, "1A2B;", id), "1a2b");
	assert_string_equal(dec(&f, "ID:1A2B", id), "1a2b");
	assert_string_equal(dec(&f, "1A2B", id), "1a2b");
	/* Case-sensitive: "id:" is not the prefix, and 'i' is no digit. */
	assert_string_equal(dec(&f, "id:1A2B;", id), "ERR");
	/* Only at the edges, once. */
	assert_string_equal(dec(&f, "1A;2B", id), "ERR");
	assert_string_equal(dec(&f, "ID:ID:1A2B", id), "ERR");
	assert_string_equal(dec(&f, "ID:;", id), "ERR");

	feed_all(&f, stream, strlen(stream), &e);
	assert_int_equal(e.n, 3);
	assert_string_equal(e.ev[0], "id:1a2b");
	assert_string_equal(e.ev[1], "noise:badge ID: 'i' at offset 0 is not a hex digit");
	assert_string_equal(e.ev[2], "noise:empty badge ID");
}

static void test_noise(void **state)
{
	pl_badge_format_t f;
	events_t e;
	char buf[512];
	size_t n = 0;

	(void)state;
	preset("elatec-tcpconv2", &f);

	/* Garbage text. */
	FEED(&f, "hello\r\n1A2B\r\n", &e);
	assert_int_equal(e.n, 2);
	assert_non_null(strstr(e.ev[0], "noise:"));
	assert_non_null(strstr(e.ev[0], "'h'"));
	assert_string_equal(e.ev[1], "id:1a2b");

	/* A NUL byte in the middle, and at the start. */
	FEED(&f, "1A\0002B\r\n\0001A2B\r\n1A2B\r\n", &e);
	assert_int_equal(e.n, 3);
	assert_string_equal(e.ev[0], "noise:control character \\x00 in frame");
	assert_string_equal(e.ev[1], "noise:control character \\x00 in frame");
	assert_string_equal(e.ev[2], "id:1a2b");

	/* Other controls (ESC, DEL), high bytes. */
	FEED(&f, "\0331A2B\r\n1A2B\177\r\n\x80\xff\xfe\r\n", &e);
	assert_int_equal(e.n, 3);
	assert_string_equal(e.ev[0], "noise:control character \\x1b in frame");
	assert_string_equal(e.ev[1], "noise:control character \\x7f in frame");
	assert_non_null(strstr(e.ev[2], "\\x80"));

	/* Over-long line: one report, dropped to the terminator, and the
	 * next frame is fine. 64 is still accepted (and then too many
	 * digits for an ID), 65 is too long. */
	memset(buf, 'A', 300);
	memcpy(buf + 300, "\r\n1A2B\r\n", 8);
	feed_all(&f, buf, 308, &e);
	assert_int_equal(e.n, 2);
	assert_string_equal(e.ev[0], "noise:frame too long");
	assert_string_equal(e.ev[1], "id:1a2b");
	memcpy(buf + 64, "\r\n", 2);
	feed_all(&f, buf, 66, &e);
	assert_int_equal(e.n, 1);
	assert_string_equal(e.ev[0], "noise:badge ID: 64 digits, at most 40");
	memset(buf, 'A', 65);
	memcpy(buf + 65, "\r\n", 2);
	feed_all(&f, buf, 67, &e);
	assert_int_equal(e.n, 1);
	assert_string_equal(e.ev[0], "noise:frame too long");
	/* max_length from the format. */
	parse_ok("{\"max_length\": 4}", &f);
	FEED(&f, "1A2B\r\n1A2B3\r\n12\r\n", &e);
	assert_int_equal(e.n, 3);
	assert_string_equal(e.ev[0], "id:1a2b");
	assert_string_equal(e.ev[1], "noise:frame too long");
	assert_string_equal(e.ev[2], "id:12");

	/* Binary: every byte value once, then a good frame. The stream
	 * holds CR and LF, so it splits into a few frames, all noise. */
	preset("elatec-tcpconv2", &f);
	for (int i = 0; i < 256; i++)
		buf[n++] = (char)i;
	memcpy(buf + n, "\r\n04A1B2C3D4\r\n", 14);
	n += 14;
	feed_all(&f, buf, n, &e);
	assert_true(e.n >= 2);
	for (int i = 0; i < e.n - 1; i++)
		assert_non_null(strstr(e.ev[i], "noise:"));
	assert_string_equal(e.ev[e.n - 1], "id:4a1b2c3d4");

	/* Empty and blank lines: nothing at all. */
	FEED(&f, "\r\n\r\n\n\r  \r\n\t\r\n", &e);
	assert_int_equal(e.n, 0);
	/* A partial frame without a terminator: nothing yet. */
	FEED(&f, "1A2B", &e);
	assert_int_equal(e.n, 0);
}

static void test_line_ends(void **state)
{
	pl_badge_format_t f;
	events_t e;

	(void)state;
	/* CRLF format: CR, LF and CRLF all end a line. */
	preset("elatec-tcpconv2", &f);
	FEED(&f, "1A\r2B\n3C\r\n4D\n\r5E", &e);
	assert_int_equal(e.n, 4);
	assert_string_equal(e.ev[0], "id:1a");
	assert_string_equal(e.ev[1], "id:2b");
	assert_string_equal(e.ev[2], "id:3c");
	assert_string_equal(e.ev[3], "id:4d");
	/* CR format fed CRLF: the LF is leading whitespace of the next. */
	preset("rfideas-e241", &f);
	FEED(&f, "12\r\n34\r\n", &e);
	assert_int_equal(e.n, 2);
	assert_string_equal(e.ev[0], "id:c");
	assert_string_equal(e.ev[1], "id:22");
	/* CR format: LF alone does not end a frame. */
	FEED(&f, "12\n34\r", &e);
	assert_int_equal(e.n, 1);
	assert_string_equal(e.ev[0], "noise:badge ID: \\x0a at offset 2 is not a decimal digit");
	/* LF format. */
	parse_ok("{\"terminator\": \"lf\", \"base\": \"dec\"}", &f);
	FEED(&f, "12\r\n34\n\r", &e);
	assert_int_equal(e.n, 2);
	assert_string_equal(e.ev[0], "id:c");
	assert_string_equal(e.ev[1], "id:22");
}

static void test_split_feeding(void **state)
{
	static const char stream[] =
		"04A1B2C3D4\r\nhello\r\n\r\n1A\0002B\r\n"
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
		"\r\nID:2B1A;\n\x80\x81\r\n 1a2b \r\n";
	static const char *const formats[] = {
		"{\"preset\": \"elatec-tcpconv2\"}",
		"{\"preset\": \"rfideas-e241\"}",
		("{\"terminator\": \"lf\", \"order\": \"lsb\", \"prefix\": "
		 "\"ID:\", \"suffix\": \";\"}"),
		"{\"terminator\": \"none\", \"length\": 7}",
		"{\"terminator\": \"cr\", \"max_length\": 5}",
	};
	size_t n = sizeof(stream) - 1;
	events_t whole, part;
	pl_badge_format_t f;

	(void)state;
	for (size_t i = 0; i < PL_ARRAY_LEN(formats); i++) {
		parse_ok(formats[i], &f);
		feed_all(&f, stream, n, &whole);
		assert_true(whole.n > 0);
		for (size_t chunk = 1; chunk <= 17; chunk++) {
			feed_chunks(&f, stream, n, chunk, &part);
			assert_int_equal(part.n, whole.n);
			for (int k = 0; k < whole.n; k++)
				assert_string_equal(part.ev[k], whole.ev[k]);
		}
	}
	/* The elatec result, spelled out. */
	parse_ok(formats[0], &f);
	feed_chunks(&f, stream, n, 1, &part);
	assert_int_equal(part.n, 7);
	assert_string_equal(part.ev[0], "id:4a1b2c3d4");
	assert_non_null(strstr(part.ev[1], "noise:"));
	assert_string_equal(part.ev[2], "noise:control character \\x00 in frame");
	assert_string_equal(part.ev[3], "noise:frame too long");
	assert_non_null(strstr(part.ev[4], "noise:")); /* ID:... */
	assert_non_null(strstr(part.ev[5], "noise:"));
	assert_string_equal(part.ev[6], "id:1a2b");
}

static void test_fixed_length(void **state)
{
	pl_badge_format_t f;
	events_t e;

	(void)state;
	parse_ok("{\"terminator\": \"none\", \"length\": 8}", &f);
	assert_int_equal(f.term, PL_BADGE_TERM_FIXED);
	assert_int_equal(f.fixed_len, 8);
	FEED(&f, "00001A2B0000FFFF12", &e);
	assert_int_equal(e.n, 2); /* "12" waits for 6 more bytes */
	assert_string_equal(e.ev[0], "id:1a2b");
	assert_string_equal(e.ev[1], "id:ffff");
	feed_chunks(&f, "00001A2B0000FFFF12", 18, 3, &e);
	assert_int_equal(e.n, 2);
	assert_string_equal(e.ev[1], "id:ffff");
	/* CR and LF are ordinary bytes here; a blank frame is reported. */
	FEED(&f, "1A2B\r\n  \0  1A2B         ", &e);
	assert_int_equal(e.n, 3);
	assert_string_equal(e.ev[0], "id:1a2b");
	assert_string_equal(e.ev[1], "noise:control character \\x00 in frame");
	assert_string_equal(e.ev[2], "noise:empty badge ID");
	/* Decimal with a prefix, lengths 1 and the largest. */
	parse_ok("{\"terminator\": \"none\", \"length\": 6, \"base\": \"dec\", "
		 "\"prefix\": \"#\"}",
		 &f);
	FEED(&f, "#06699#00255", &e);
	assert_int_equal(e.n, 2);
	assert_string_equal(e.ev[0], "id:1a2b");
	assert_string_equal(e.ev[1], "id:ff");
	parse_ok("{\"terminator\": \"none\", \"length\": 1}", &f);
	FEED(&f, "a0", &e);
	assert_int_equal(e.n, 2);
	assert_string_equal(e.ev[0], "id:a");
	assert_string_equal(e.ev[1], "id:0");
	parse_ok("{\"terminator\": \"none\", \"length\": 255}", &f);
	assert_int_equal(f.fixed_len, 255);
}

static void expect_err(const char *json, const char *needle)
{
	pl_badge_format_t f;
	pl_err_t err = { "" };

	if (pl_badge_format_parse(json, &f, &err) != -1)
		fail_msg("accepted: %s", json);
	if (strstr(err.msg, needle) == NULL)
		fail_msg("%s: \"%s\" lacks \"%s\"", json, err.msg, needle);
}

static void test_format_parse(void **state)
{
	pl_badge_format_t f;
	pl_err_t err;

	(void)state;
	/* Defaults: CRLF, hex, MSB first, 64. */
	parse_ok("{}", &f);
	assert_int_equal(f.term, PL_BADGE_TERM_CRLF);
	assert_int_equal(f.base, PL_BADGE_HEX);
	assert_int_equal(f.order, PL_BADGE_MSB_FIRST);
	assert_int_equal(f.max_len, 64);
	/* The preset comes first wherever it is written. */
	parse_ok("{\"base\": \"hex\", \"terminator\": \"lf\", "
		 "\"preset\": \"rfideas-e241\", \"max_length\": 200}",
		 &f);
	assert_int_equal(f.term, PL_BADGE_TERM_LF);
	assert_int_equal(f.base, PL_BADGE_HEX);
	assert_int_equal(f.max_len, 200);
	parse_ok("{\"preset\": \"elatec-tcpconv2\", \"order\": \"lsb\", "
		 "\"prefix\": \"123456789012345\"}",
		 &f);
	assert_int_equal(f.term, PL_BADGE_TERM_CRLF);
	assert_int_equal(f.order, PL_BADGE_LSB_FIRST);
	assert_string_equal(f.prefix, "123456789012345");
	parse_ok("{\"terminator\": \"cr\"}", &f);
	assert_int_equal(f.term, PL_BADGE_TERM_CR);

	expect_err("", "badge format");
	expect_err("{\"base\": \"hex\"", "badge format");
	expect_err("[1, 2]", "expected a JSON object");
	expect_err("{\"colour\": \"red\"}", "colour: unknown key");
	expect_err("{\"preset\": \"nope\"}", "preset: unknown badge reader preset \"nope\"");
	expect_err("{\"preset\": 3}", "preset: expected a string");
	expect_err("{\"terminator\": \"crcr\"}", "terminator: expected");
	expect_err("{\"terminator\": null}", "terminator: expected");
	expect_err("{\"terminator\": \"none\"}", "length: required");
	expect_err("{\"terminator\": \"none\", \"length\": 0}", "length: expected an integer between 1 and 255");
	expect_err("{\"terminator\": \"none\", \"length\": 256}", "length: expected");
	expect_err("{\"terminator\": \"none\", \"length\": \"8\"}", "length: expected");
	expect_err("{\"terminator\": \"none\", \"length\": 8.0}", "length: expected");
	expect_err("{\"length\": 8}", "length: only with terminator");
	expect_err("{\"prefix\": \"1234567890123456\"}", "prefix: too long");
	expect_err("{\"suffix\": \"1234567890123456\"}", "suffix: too long");
	expect_err("{\"suffix\": 1}", "suffix: expected a string");
	expect_err("{\"prefix\": \"\\u0001\"}", "prefix: control characters");
	expect_err("{\"base\": \"oct\"}", "base: expected \"hex\" or \"dec\"");
	expect_err("{\"base\": 16}", "base: expected");
	expect_err("{\"order\": \"little\"}", "order: expected \"msb\" or \"lsb\"");
	expect_err("{\"max_length\": 0}", "max_length: expected an integer between 1 and 255");
	expect_err("{\"max_length\": 256}", "max_length: expected");
	expect_err("{\"max_length\": -1}", "max_length: expected");
	expect_err("{\"base\": \"hex\", \"base\": \"dec\"}", "duplicate");
	/* A failed parse leaves the format alone. */
	parse_ok("{\"preset\": \"rfideas-e241\"}", &f);
	assert_int_equal(pl_badge_format_parse("{\"base\": \"hex\", \"x\": 1}",
					       &f, &err),
			 -1);
	assert_int_equal(f.base, PL_BADGE_DEC);
	assert_int_equal(pl_badge_format_parse(NULL, &f, &err), -1);
}

static void test_normalize(void **state)
{
	char id[PL_BADGE_MAX + 1];
	pl_err_t err;

	(void)state;
	assert_string_equal(norm("0x1A2B", id), "1a2b");
	assert_string_equal(norm("0X1a2b", id), "1a2b");
	assert_string_equal(norm("hex:1A2B", id), "1a2b");
	assert_string_equal(norm("HEX:001A2B", id), "1a2b");
	assert_string_equal(norm("1a2b", id), "1a2b");
	assert_string_equal(norm("6699", id), "1a2b");
	assert_string_equal(norm("dec:6699", id), "1a2b");
	assert_string_equal(norm(" dec:06699\n", id), "1a2b");
	assert_string_equal(norm("0x0", id), "0");
	assert_string_equal(norm("0", id), "0");
	/* Digits only is decimal: 1234 = 0x4d2. */
	assert_string_equal(norm("1234", id), "4d2");
	assert_string_equal(norm("0x1234", id), "1234");
	assert_string_equal(norm("", id), "ERR");
	assert_string_equal(norm("   ", id), "ERR");
	assert_string_equal(norm("0x", id), "ERR");
	assert_string_equal(norm("dec:", id), "ERR");
	assert_string_equal(norm("dec:1a", id), "ERR");
	assert_string_equal(norm("xyz", id), "ERR");
	assert_string_equal(norm("0x1A 2B", id), "ERR");
	assert_string_equal(norm("0x-1", id), "ERR");
	assert_int_equal(pl_badge_normalize(NULL, id, &err), -1);
	assert_int_equal(pl_badge_normalize("12g", id, &err), -1);
	assert_non_null(strstr(err.msg, "'g'"));
}

static void test_mask(void **state)
{
	char out[PL_BADGE_MAX + 1];
	char small[4];

	(void)state;
	pl_badge_mask("4a1b2c3d4", out, sizeof(out));
	assert_string_equal(out, "*****c3d4");
	pl_badge_mask("12345", out, sizeof(out));
	assert_string_equal(out, "*2345");
	pl_badge_mask("1a2b", out, sizeof(out));
	assert_string_equal(out, "***b");
	pl_badge_mask("abc", out, sizeof(out));
	assert_string_equal(out, "**c");
	pl_badge_mask("0", out, sizeof(out));
	assert_string_equal(out, "0");
	pl_badge_mask("", out, sizeof(out));
	assert_string_equal(out, "");
	pl_badge_mask(NULL, out, sizeof(out));
	assert_string_equal(out, "");
	/* Bounded: truncated, always terminated. */
	pl_badge_mask("4a1b2c3d4", small, sizeof(small));
	assert_string_equal(small, "***");
	pl_badge_mask("4a1b2c3d4", small, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_presets),
		cmocka_unit_test(test_dec_equals_hex),
		cmocka_unit_test(test_lsb_order),
		cmocka_unit_test(test_big_decimal),
		cmocka_unit_test(test_prefix_suffix),
		cmocka_unit_test(test_noise),
		cmocka_unit_test(test_line_ends),
		cmocka_unit_test(test_split_feeding),
		cmocka_unit_test(test_fixed_length),
		cmocka_unit_test(test_format_parse),
		cmocka_unit_test(test_normalize),
		cmocka_unit_test(test_mask),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
