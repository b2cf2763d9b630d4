/* pl_docinfo: PCL XL (PCL 6) pages, from a tokenizer of the binary
 * stream (PCL XL Feature Reference, protocol classes 1.0 to 3.0).
 *
 * The stream starts with a header line: the binding (')' numbers low
 * byte first, '(' high byte first; the ASCII binding is not read), then
 * " HP-PCL XL;" and the protocol class, to a line feed. Then tokens:
 * white space; data values (a type tag and its bytes: scalars, xy
 * pairs, boxes, and arrays with their own length); attribute ids; the
 * operators; and embedded data, a length then that many bytes. Image,
 * raster pattern, font, character and stream data come as embedded data
 * and are skipped exactly, so bytes that look like operators inside them
 * are never taken for operators, which is why this is a tokenizer and not
 * a search for EndPage bytes.
 *
 * Each EndPage that closes a BeginPage is a page. A tag that is not PCL
 * XL's, a page left open, a stream cut short, an ExecStream (a stored
 * stream could hold pages of its own) or an unread binding: unknown. The
 * section ends at a UEL (ESC %-12345X). */
#include "docinfo-private.h"

#include <string.h>

enum { X_BIND, X_HEAD, X_CLASS, X_SEMI, X_REST, X_TAG, X_ARRLEN, X_NUM, X_SKIP, X_UEL };
enum { K_ARRAY, K_DATA };

#define HEAD_REST_MAX 512 /* the header's comment, to its line feed */
#define OP_BEGIN_PAGE 0x43
#define OP_END_PAGE 0x44
#define OP_EXEC_STREAM 0x5e

static const char head[] = " HP-PCL XL;";
static const char uel[] = "\x1b%-12345X";

/* The operators an interpreter knows (those of GhostPDL's, which follows
 * HP's printers), 0x40 to 0xbf, a bit each: bit b of byte k is 0x40+8k+b. */
static int is_operator(uint8_t t)
{
	static const uint8_t ops[16] = {
		0xde, 0x83, /* 41-44 46-49 4f */
		0xff, 0xf9, /* 50-58 5b-5f */
		0xff, 0xff, 0xff, 0xff, /* 60-7f */
		0x7f, 0x00, /* 80-86 */
		0xfe, 0xeb, /* 91-99 9b 9d-9f */
		0x0f, 0x03, /* a0-a3 a8-a9 */
		0x7f, 0x83, /* b0-b6 b8-b9 bf */
	};
	int i = t - 0x40;
	return i >= 0 && i < 128 && (ops[i / 8] >> (i % 8)) & 1;
}

/* The bytes of one value of a data type tag's type (ubyte, uint16,
 * uint32, sint16, sint32, real32); 0 for a type that does not exist. */
static uint32_t type_size(uint8_t t)
{
	static const uint8_t size[8] = { 1, 2, 4, 2, 4, 4, 0, 0 };
	return size[t & 7];
}

void pl_docinfo_pclxl_init(pl_docinfo_pclxl_t *s)
{
	memset(s, 0, sizeof(*s));
	s->state = X_BIND;
}

static void want_number(pl_docinfo_pclxl_t *s, int kind, uint32_t bytes)
{
	s->kind = kind;
	s->nlen = 0;
	s->nwant = bytes;
	s->state = X_NUM;
}

static void skip_bytes(pl_docinfo_pclxl_t *s, uint64_t n)
{
	s->skip = n;
	s->state = n ? X_SKIP : X_TAG;
}

static void on_operator(pl_docinfo_pclxl_t *s, uint8_t t)
{
	if (!is_operator(t) || t == OP_EXEC_STREAM) {
		s->bad = 1;
	} else if (t == OP_BEGIN_PAGE) {
		s->bad |= s->in_page;
		s->in_page = 1;
	} else if (t == OP_END_PAGE) {
		s->bad |= !s->in_page;
		s->in_page = 0;
		if (s->pages < UINT32_MAX)
			s->pages++;
	}
}

/* One tag, at the start of a token. */
static void on_tag(pl_docinfo_pclxl_t *s, uint8_t t)
{
	if (t == 0 || (t >= 0x09 && t <= 0x0d) || t == 0x20)
		return; /* white space */
	if (t == 0x1b) {
		s->uel = 1;
		s->state = X_UEL;
	} else if (t >= 0x40 && t <= 0xbf) {
		on_operator(s, t);
	} else if (t >= 0xc0 && t <= 0xe5 && type_size(t)) {
		uint32_t count = (t & 0xf8) == 0xc0 ? 1 : (t & 0xf8) == 0xd0 ? 2
			       : (t & 0xf8) == 0xe0 ? 4 : 0;
		s->elem = type_size(t);
		if (count)
			skip_bytes(s, (uint64_t)count * s->elem);
		else if ((t & 0xf8) == 0xc8)
			s->state = X_ARRLEN;
		else
			s->bad = 1;
	} else if (t == 0xf8 || t == 0xf9) { /* attribute id: ubyte, uint16 */
		skip_bytes(s, t == 0xf8 ? 1 : 2);
	} else if (t == 0xfa || t == 0xfb) { /* embedded data: uint32, ubyte length */
		want_number(s, K_DATA, t == 0xfa ? 4 : 1);
	} else {
		s->bad = 1;
	}
}

/* A length is read: skip what it measures. */
static void number_done(pl_docinfo_pclxl_t *s)
{
	uint64_t v = 0;

	for (uint32_t i = 0; i < s->nwant; i++)
		v |= (uint64_t)s->num[s->be ? s->nwant - 1 - i : i] << (8 * i);
	skip_bytes(s, s->kind == K_ARRAY ? v * s->elem : v);
}

/* The header line: binding, " HP-PCL XL;", class 1 to 3, ';', the rest. */
static void head_byte(pl_docinfo_pclxl_t *s, uint8_t c)
{
	switch (s->state) {
	case X_BIND:
		if (c != '(' && c != ')')
			s->bad = 1;
		s->be = c == '(';
		s->state = X_HEAD;
		return;
	case X_HEAD:
		if (c != (uint8_t)head[s->hlen++])
			s->bad = 1;
		else if (s->hlen == sizeof(head) - 1)
			s->state = X_CLASS;
		return;
	case X_CLASS:
		s->bad |= c < '1' || c > '3';
		s->state = X_SEMI;
		return;
	case X_SEMI:
		s->bad |= c != ';';
		s->state = X_REST;
		return;
	default:
		if (c == '\n')
			s->state = X_TAG;
		else if (++s->hlen > HEAD_REST_MAX)
			s->bad = 1;
		return;
	}
}

static void token_byte(pl_docinfo_pclxl_t *s, uint8_t c)
{
	switch (s->state) {
	case X_TAG: on_tag(s, c); return;
	case X_ARRLEN: /* an array's length: a ubyte or uint16 value */
		if (c == 0xc0 || c == 0xc1)
			want_number(s, K_ARRAY, c == 0xc0 ? 1 : 2);
		else
			s->bad = 1;
		return;
	case X_NUM:
		s->num[s->nlen++] = c;
		if (s->nlen == s->nwant)
			number_done(s);
		return;
	case X_UEL:
		if (c != (uint8_t)uel[s->uel++])
			s->bad = 1;
		else if (s->uel == sizeof(uel) - 1)
			s->done = 1;
		return;
	default: head_byte(s, c); return;
	}
}

size_t pl_docinfo_pclxl_feed(pl_docinfo_pclxl_t *s, const uint8_t *p, size_t n)
{
	size_t i = 0;

	while (i < n && !s->done && !s->bad) {
		if (s->state == X_SKIP) {
			uint64_t take = s->skip < n - i ? s->skip : n - i;
			i += (size_t)take;
			if ((s->skip -= take) == 0)
				s->state = X_TAG;
			continue;
		}
		token_byte(s, p[i++]);
	}
	return s->bad ? n : i;
}

int64_t pl_docinfo_pclxl_end(pl_docinfo_pclxl_t *s)
{
	/* Between tokens, no page open: else cut short, or not PCL XL. */
	if (s->bad || s->in_page || (s->state != X_TAG && !s->done))
		return -1;
	return (int64_t)s->pages;
}
