/* pl_docinfo: PDF pages and the first page's MediaBox, from a streaming
 * lexer over the file's bytes. No cross-reference table, no object
 * streams, no decompression: only what the objects' dictionaries say in
 * plain sight. The lexer knows comments, literal strings (nested,
 * escaped), hex strings, names, numbers and keywords; stream data is
 * skipped to "endstream" so binary content cannot fake a dictionary. */
#include "docinfo-private.h"

#include <string.h>

enum { L_NORMAL, L_COMMENT, L_STRING, L_HEX, L_NAME, L_WORD, L_STREAM, L_LT, L_GT };
enum { W_NONE, W_COUNT, W_BOX_OPEN, W_BOX_NUM };

#define ENDSTREAM_TAIL 0x6e6473747265616dull /* "ndstream" */
#define DEPTH_MAX 8

static int is_space(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == 0;
}

static int is_delim(uint8_t c)
{
	return c && strchr("()<>[]{}/%", c) != NULL;
}

/* An integer or real, in thousandths; 0 on success. Bounded to what a
 * page could measure; anything else is not a number we use. */
static int parse_num(const char *s, int64_t *out)
{
	int64_t v = 0, frac = 0, scale = 1000;
	int neg = 0, digits = 0;

	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	for (; *s >= '0' && *s <= '9'; s++, digits++)
		if ((v = v * 10 + (*s - '0')) > 1000000000)
			return -1;
	if (*s == '.')
		for (s++; *s >= '0' && *s <= '9'; s++, digits++)
			if (scale > 1)
				frac += (*s - '0') * (scale /= 10);
	if (!digits || *s)
		return -1;
	*out = (v * 1000 + frac) * (neg ? -1 : 1);
	return 0;
}

static int in_dict(const pl_docinfo_pdf_t *s)
{
	return s->depth > 0 && s->depth <= DEPTH_MAX;
}

#define TOP(s) ((s)->d[(s)->depth - 1])

static void on_name(pl_docinfo_pdf_t *s, const char *name)
{
	int after_type = s->after_type;

	s->after_type = strcmp(name, "Type") == 0;
	s->want = W_NONE;
	if (!in_dict(s))
		return;
	if (after_type && strcmp(name, "Page") == 0) {
		TOP(s).page = 1;
		if (s->page_objs < UINT32_MAX)
			s->page_objs++;
	} else if (after_type && strcmp(name, "Pages") == 0) {
		TOP(s).pages = 1;
	} else if (strcmp(name, "Parent") == 0) {
		TOP(s).parent = 1;
	} else if (strcmp(name, "Count") == 0) {
		s->want = W_COUNT;
	} else if (strcmp(name, "MediaBox") == 0) {
		s->want = W_BOX_OPEN;
	}
}

static void on_number(pl_docinfo_pdf_t *s, const char *tok)
{
	int64_t v;
	int ok = parse_num(tok, &v) == 0;

	s->after_type = 0;
	if (s->want == W_COUNT && in_dict(s) && ok && v >= 0 && v % 1000 == 0) {
		TOP(s).count = (uint32_t)(v / 1000);
		TOP(s).has_count = 1;
	} else if (s->want == W_BOX_NUM && ok) {
		s->box[s->nbox++] = v;
		if (s->nbox < 4)
			return;
		if (in_dict(s)) {
			memcpy(TOP(s).box, s->box, sizeof(s->box));
			TOP(s).has_box = 1;
		}
	}
	s->want = W_NONE;
}

static void dict_open(pl_docinfo_pdf_t *s)
{
	s->after_type = 0;
	s->want = W_NONE;
	if (s->depth < DEPTH_MAX + 1000)
		s->depth++;
	if (in_dict(s))
		memset(&TOP(s), 0, sizeof(TOP(s)));
}

/* A closed page tree root (no /Parent) gives the count: the last one in
 * the file, as an incremental update appends the newer root. */
static void dict_close(pl_docinfo_pdf_t *s)
{
	s->after_type = 0;
	s->want = W_NONE;
	if (s->depth == 0)
		return;
	if (in_dict(s)) {
		if (TOP(s).pages && !TOP(s).parent && TOP(s).has_count) {
			s->root_count = TOP(s).count;
			s->have_root = 1;
		}
		/* The first page's own box wins over an inherited one. */
		if (TOP(s).has_box && (TOP(s).page || TOP(s).pages) &&
		    (s->have_box == 0 || (s->have_box == 1 && TOP(s).page))) {
			memcpy(s->first_box, TOP(s).box, sizeof(s->first_box));
			s->have_box = TOP(s).page ? 2 : 1;
		}
	}
	s->depth--;
}

static void on_word(pl_docinfo_pdf_t *s)
{
	s->tok[s->toklen] = '\0';
	if (s->state == L_NAME) {
		on_name(s, s->tok);
	} else if ((s->tok[0] >= '0' && s->tok[0] <= '9') || strchr("+-.", s->tok[0])) {
		on_number(s, s->tok);
	} else {
		s->after_type = 0;
		s->want = W_NONE;
		if (strcmp(s->tok, "stream") == 0) {
			s->state = L_STREAM;
			s->ring = 0;
			return;
		}
	}
	s->state = L_NORMAL;
}

static void on_delim(pl_docinfo_pdf_t *s, uint8_t c)
{
	switch (c) {
	case '%': s->state = L_COMMENT; return;
	case '(': s->state = L_STRING; s->str_depth = 1; s->sub = 0; break;
	case '<': s->state = L_LT; return;
	case '>': s->state = L_GT; return;
	case '/': s->state = L_NAME; s->toklen = 0; return;
	case '[':
		if (s->want == W_BOX_OPEN) {
			s->want = W_BOX_NUM;
			s->nbox = 0;
			s->after_type = 0;
			return;
		}
		break;
	default: break;
	}
	s->after_type = 0;
	s->want = W_NONE;
}

static void lex_normal(pl_docinfo_pdf_t *s, uint8_t c)
{
	if (is_space(c))
		return;
	if (is_delim(c)) {
		on_delim(s, c);
		return;
	}
	s->state = L_WORD;
	s->toklen = 0;
	s->tok[s->toklen++] = (char)c;
}

/* A name or word: collect (a long one is truncated and matches nothing
 * we look for), end at whitespace or a delimiter, which is then lexed. */
static void lex_token(pl_docinfo_pdf_t *s, uint8_t c)
{
	if (!is_space(c) && !is_delim(c)) {
		if (s->toklen < sizeof(s->tok) - 1)
			s->tok[s->toklen++] = (char)c;
		else
			s->tok[0] = '#'; /* too long: no match */
		return;
	}
	on_word(s);
	if (s->state == L_NORMAL)
		lex_normal(s, c);
}

static void lex_string(pl_docinfo_pdf_t *s, uint8_t c)
{
	if (s->sub) { /* the byte after a backslash is literal */
		s->sub = 0;
		return;
	}
	if (c == '\\')
		s->sub = 1;
	else if (c == '(')
		s->str_depth++;
	else if (c == ')' && --s->str_depth == 0)
		s->state = L_NORMAL;
}

static void lex_byte(pl_docinfo_pdf_t *s, uint8_t c)
{
	switch (s->state) {
	case L_COMMENT:
		if (c == '\r' || c == '\n')
			s->state = L_NORMAL;
		return;
	case L_STRING: lex_string(s, c); return;
	case L_HEX:
		if (c == '>')
			s->state = L_NORMAL;
		return;
	case L_STREAM:
		s->ring = s->ring << 8 | c;
		if (s->ring == ENDSTREAM_TAIL)
			s->state = L_NORMAL;
		return;
	case L_LT:
		s->state = L_NORMAL;
		if (c == '<') {
			dict_open(s);
			return;
		}
		s->state = L_HEX;
		lex_byte(s, c);
		return;
	case L_GT:
		s->state = L_NORMAL;
		if (c == '>') {
			dict_close(s);
			return;
		}
		lex_normal(s, c);
		return;
	case L_NAME:
	case L_WORD: lex_token(s, c); return;
	default: lex_normal(s, c); return;
	}
}

void pl_docinfo_pdf_feed(pl_docinfo_pdf_t *s, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		lex_byte(s, p[i]);
}

void pl_docinfo_pdf_result(pl_docinfo_pdf_t *s, pl_docinfo_result_t *out)
{
	if (s->state == L_NAME || s->state == L_WORD)
		on_word(s);
	out->pages = s->have_root && s->root_count ? s->root_count : s->page_objs;
	if (s->have_box) {
		int64_t w = s->first_box[2] - s->first_box[0];
		int64_t h = s->first_box[3] - s->first_box[1];
		w = w < 0 ? -w : w;
		h = h < 0 ? -h : h;
		/* Points to tenths of mm: x 254 / 72, from thousandths. */
		if (w > 0 && h > 0 && w < 100000000 && h < 100000000)
			pl_docinfo_size_name((uint32_t)(w * 254 / 72000),
					     (uint32_t)(h * 254 / 72000),
					     out->page_size, sizeof(out->page_size));
	}
}
