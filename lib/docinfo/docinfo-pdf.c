/* pl_docinfo: PDF pages and the first page's MediaBox, from a streaming
 * lexer over the file's bytes. No cross-reference table: only what the
 * objects' dictionaries say. The lexer knows comments, literal strings
 * (nested, escaped), hex strings, names, numbers and keywords; stream data
 * is skipped to "endstream" so binary content cannot fake a dictionary.
 *
 * Object streams (/Type /ObjStm, PDF 1.5) are where many files keep their
 * page tree: one filtered only by /FlateDecode is inflated as it passes
 * (zlib, in a fixed arena, under a budget per document) and its bytes go
 * through a second lexer that knows each object's number from the
 * stream's header. Any other object stream is "not read", and a page
 * count that such a stream could have replaced is not trusted.
 *
 * The count, in order of preference:
 *   1. the linearization dictionary's /N, when it is the file's first
 *      object and its /L is the file's length (an update after
 *      linearizing changes the length, and the /N is then stale);
 *   2. the /Count of the page tree root: the /Type /Pages dictionary the
 *      catalog's /Pages names (the newest copy of that object), else the
 *      last one without /Parent (an incremental update appends the newer
 *      root; a /Count with a /Parent is a subtree's, partial);
 *   3. the number of /Type /Page dictionaries.
 * When 1 and 2 both speak and disagree, the count is unknown. */
#include "docinfo-private.h"

#include <string.h>

enum { L_NORMAL, L_COMMENT, L_STRING, L_HEX, L_NAME, L_WORD, L_STREAM, L_LT, L_GT };
enum {
	W_NONE, W_COUNT, W_COUNT_GEN, W_COUNT_R, W_BOX_OPEN, W_BOX_NUM, W_REF_NUM,
	W_REF_GEN, W_REF_R,
	W_N, W_LEN, W_FIRST, W_LIN, W_FILTER, W_FILTER_ARR,
};

#define ENDSTREAM_TAIL 0x6e6473747265616dull /* "ndstream" */
#define DEPTH_MAX 8
/* A zip bomb costs at most this much inflating, then the rest is unread. */
#define INFLATE_BUDGET (16u * 1024 * 1024)
#define OBJSTM_MAX 4096u

typedef pl_docinfo_pdflex_t lex_t;

static void lex_byte(pl_docinfo_pdf_t *s, lex_t *l, uint8_t c);

static const uint8_t space_tab[256] = {
	[' '] = 1, ['\t'] = 1, ['\r'] = 1, ['\n'] = 1, ['\f'] = 1, [0] = 1,
};

static int is_space(uint8_t c)
{
	return space_tab[c];
}

static int is_delim(uint8_t c)
{
	switch (c) {
	case '(': case ')': case '<': case '>': case '[': case ']':
	case '{': case '}': case '/': case '%':
		return 1;
	default:
		return 0;
	}
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

/* A plain unsigned integer (object numbers, lengths); -1 for anything
 * else, a sign, a fraction or more than 15 digits. */
static int64_t parse_uint(const char *s)
{
	int64_t v = 0;
	int digits = 0;

	for (; *s >= '0' && *s <= '9'; s++)
		if (++digits > 15)
			return -1;
		else
			v = v * 10 + (*s - '0');
	return digits && !*s ? v : -1;
}

static int in_dict(const lex_t *l)
{
	return l->depth > 0 && l->depth <= DEPTH_MAX;
}

#define TOP(l) ((l)->d[(l)->depth - 1])

/* ---- what the dictionaries say ---------------------------------------- */

/* A page tree root: a newer copy of the same object replaces the older. */
static void add_root(pl_docinfo_pdf_t *s, uint32_t obj, uint32_t count)
{
	uint32_t i = 0;

	if (obj != 0)
		for (i = 0; i < s->nroots && s->roots[i].obj != obj; i++)
			;
	if (obj == 0 || i == s->nroots) {
		if (s->nroots == PL_DOCINFO_ROOTS) { /* forget the oldest */
			memmove(&s->roots[0], &s->roots[1], sizeof(s->roots[0]) * (PL_DOCINFO_ROOTS - 1));
			s->nroots--;
		}
		i = s->nroots++;
	}
	s->roots[i].obj = obj;
	s->roots[i].count = count;
	s->roots[i].seq = ++s->seq;
}

/* An object stream we cannot read: what it holds may be newer. */
static void objstm_unread(pl_docinfo_pdf_t *s)
{
	s->fail_seq = ++s->seq;
}

static void name_in_type(lex_t *l, const char *name)
{
	if (strcmp(name, "Page") == 0)
		TOP(l).page = 1;
	else if (strcmp(name, "Pages") == 0)
		TOP(l).pages = 1;
	else if (strcmp(name, "Catalog") == 0)
		TOP(l).catalog = 1;
	else if (strcmp(name, "ObjStm") == 0)
		TOP(l).objstm = 1;
}

/* A key: which value comes next. */
static void name_as_key(lex_t *l, const char *name)
{
	static const struct { const char *key; int want; } keys[] = {
		{ "Count", W_COUNT }, { "MediaBox", W_BOX_OPEN }, { "Pages", W_REF_NUM },
		{ "N", W_N }, { "L", W_LEN }, { "First", W_FIRST },
		{ "Linearized", W_LIN }, { "Filter", W_FILTER },
	};

	if (strcmp(name, "Parent") == 0)
		TOP(l).parent = 1;
	else if (strcmp(name, "DecodeParms") == 0)
		TOP(l).parms = 1;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(name, keys[i].key) == 0)
			l->want = keys[i].want;
}

static void on_name(lex_t *l, const char *name)
{
	int after_type = l->after_type, want = l->want;

	l->after_type = strcmp(name, "Type") == 0;
	l->want = W_NONE;
	if (!in_dict(l))
		return;
	if (want == W_FILTER || want == W_FILTER_ARR) {
		if (TOP(l).nfilters < 255)
			TOP(l).nfilters++;
		if (strcmp(name, "FlateDecode") != 0)
			TOP(l).other_filter = 1;
		if (want == W_FILTER_ARR)
			l->want = W_FILTER_ARR;
		return;
	}
	if (after_type)
		name_in_type(l, name);
	else
		name_as_key(l, name);
}

/* A value that must be a plain integer. */
static void on_int_value(lex_t *l, int want, int64_t u)
{
	if (u < 0 || !in_dict(l))
		return;
	switch (want) {
	case W_N: TOP(l).n = u > UINT32_MAX ? UINT32_MAX : (uint32_t)u; break;
	case W_FIRST: TOP(l).first = u > UINT32_MAX ? UINT32_MAX : (uint32_t)u; break;
	case W_LEN: TOP(l).len = (uint64_t)u; break;
	case W_LIN: TOP(l).lin = 1; break;
	default: break;
	}
}

/* A reference "N G R" after /Pages: the numbers, then the keyword. */
static int on_ref_number(lex_t *l, int64_t u)
{
	if (u < 0 || u > UINT32_MAX)
		return 0;
	if (l->want == W_REF_NUM) {
		l->ref = (uint32_t)u;
		l->want = W_REF_GEN;
	} else {
		l->want = W_REF_R;
	}
	return 1;
}

/* An object stream's header: pairs of object number and offset, before
 * /First. Offsets must grow; when they do not, no number is trusted. */
static void header_number(pl_docinfo_pdf_t *s, int64_t u)
{
	uint32_t i = s->nheader / 2;

	if (s->nheader < UINT32_MAX)
		s->nheader++;
	if (u < 0 || u > UINT32_MAX) {
		s->pairs_bad = 1;
		return;
	}
	if (i >= PL_DOCINFO_OBJSTM_PAIRS) {
		s->pairs_cut = 1;
		return;
	}
	if (s->nheader % 2 == 1) {
		s->pairs[i][0] = (uint32_t)u;
		return;
	}
	if (i > 0 && (uint32_t)u <= s->pairs[i - 1][1])
		s->pairs_bad = 1;
	s->pairs[i][1] = (uint32_t)u;
	s->npairs = i + 1;
}

static void on_number(pl_docinfo_pdf_t *s, lex_t *l, const char *tok)
{
	int64_t v = 0, u = parse_uint(tok);
	int ok = parse_num(tok, &v) == 0;
	int want = l->want;

	l->after_type = 0;
	if (l == &s->sub && l->tok_pos < s->stm_first && l->depth == 0) {
		header_number(s, u);
		return;
	}
	if (l->depth == 0) { /* "N G obj" */
		l->num[0] = l->num[1];
		l->num[1] = u;
	}
	if ((want == W_REF_NUM || want == W_REF_GEN) && on_ref_number(l, u))
		return;
	l->want = W_NONE;
	if (want == W_COUNT && in_dict(l) && ok && v >= 0 && v % 1000 == 0) {
		TOP(l).count = (uint32_t)(v / 1000);
		TOP(l).has_count = 1;
		l->want = W_COUNT_GEN; /* unless "N G R" follows */
	} else if (want == W_COUNT_GEN && u >= 0) {
		l->want = W_COUNT_R;
	} else if (want == W_BOX_NUM && ok) {
		l->box[l->nbox++] = v;
		if (l->nbox < 4) {
			l->want = W_BOX_NUM;
			return;
		}
		if (in_dict(l)) {
			memcpy(TOP(l).box, l->box, sizeof(l->box));
			TOP(l).has_box = 1;
		}
	} else {
		on_int_value(l, want, u);
	}
}

/* In an object stream, the object a dictionary at the top belongs to:
 * the last one whose offset it has passed. */
static uint32_t objstm_obj(pl_docinfo_pdf_t *s, uint64_t pos)
{
	if (s->pairs_bad || s->npairs == 0 || pos < (uint64_t)s->stm_first + s->pairs[0][1])
		return 0;
	while (s->pair_idx + 1 < s->npairs &&
	       pos >= (uint64_t)s->stm_first + s->pairs[s->pair_idx + 1][1])
		s->pair_idx++;
	/* Past the last pair we kept, the object could be a later one. */
	if (s->pairs_cut && s->pair_idx + 1 >= s->npairs)
		return 0;
	return s->pairs[s->pair_idx][0];
}

static void dict_open(pl_docinfo_pdf_t *s, lex_t *l)
{
	l->after_type = 0;
	l->want = W_NONE;
	if (l->depth == 0 && l == &s->sub)
		l->obj = objstm_obj(s, l->pos);
	if (l->depth < DEPTH_MAX + 1000)
		l->depth++;
	if (in_dict(l))
		memset(&TOP(l), 0, sizeof(TOP(l)));
}

/* An object's own dictionary, closed: catalog, page tree root, the
 * linearization dictionary, an object stream's parameters. */
static void object_dict(pl_docinfo_pdf_t *s, lex_t *l)
{
	const pl_docinfo_pdfdict_t *d = &TOP(l);

	if (d->catalog && d->has_pages_ref) {
		s->catalog_pages = d->pages_ref;
		s->have_catalog = 1;
	}
	if (l != &s->top)
		return;
	if (s->ndicts++ == 0 && d->lin && d->len > 0) {
		s->have_lin = 1;
		s->lin_n = d->n;
		s->lin_len = d->len;
	}
	l->last = *d;
	l->have_last = 1;
}

/* A page tree root (no /Parent) gives the count; the first page's own
 * box wins over an inherited one. */
static void dict_close(pl_docinfo_pdf_t *s, lex_t *l)
{
	l->after_type = 0;
	l->want = W_NONE;
	if (l->depth == 0)
		return;
	if (in_dict(l)) {
		const pl_docinfo_pdfdict_t *d = &TOP(l);
		if (d->pages && !d->parent && d->has_count)
			add_root(s, l->depth == 1 ? l->obj : 0, d->count);
		if (d->page && s->page_objs < UINT32_MAX)
			s->page_objs++;
		if (d->has_box && (d->page || d->pages) &&
		    (s->have_box == 0 || (s->have_box == 1 && d->page))) {
			memcpy(s->first_box, d->box, sizeof(s->first_box));
			s->have_box = d->page ? 2 : 1;
		}
		if (l->depth == 1)
			object_dict(s, l);
	}
	l->depth--;
}

/* ---- object streams ------------------------------------------------------ */

/* zlib's allocations come from the arena: no malloc, nothing to free.
 * Each stream starts the arena afresh (inflateEnd ran before). */
static voidpf arena_alloc(voidpf opaque, uInt items, uInt size)
{
	pl_docinfo_pdf_t *s = opaque;
	size_t need = ((size_t)items * size + 15) & ~(size_t)15;

	if (size != 0 && items > SIZE_MAX / 2 / size)
		return Z_NULL;
	if (need > sizeof(s->arena) - s->arena_used)
		return Z_NULL;
	s->arena_used += need;
	return s->arena + s->arena_used - need;
}

static void arena_free(voidpf opaque, voidpf p)
{
	(void)opaque;
	(void)p;
}

static void objstm_stop(pl_docinfo_pdf_t *s, int ok)
{
	if (!s->inflating)
		return;
	inflateEnd(&s->z);
	s->inflating = 0;
	if (!ok)
		objstm_unread(s);
}

/* "stream" after an object's dictionary: inflate it when it is an object
 * stream we can read, else note that it was not read. */
static void objstm_begin(pl_docinfo_pdf_t *s, const pl_docinfo_pdfdict_t *d)
{
	if (!d->objstm)
		return;
	if (d->nfilters != 1 || d->other_filter || d->parms || d->first == 0 ||
	    s->nstreams >= OBJSTM_MAX || s->inflated >= INFLATE_BUDGET) {
		objstm_unread(s);
		return;
	}
	s->nstreams++;
	memset(&s->z, 0, sizeof(s->z));
	s->z.zalloc = arena_alloc;
	s->z.zfree = arena_free;
	s->z.opaque = s;
	s->arena_used = 0;
	if (inflateInit(&s->z) != Z_OK) {
		objstm_unread(s);
		return;
	}
	memset(&s->sub, 0, sizeof(s->sub));
	s->sub.state = L_NORMAL;
	s->stm_first = d->first;
	s->npairs = s->nheader = s->pair_idx = 0;
	s->pairs_cut = s->pairs_bad = 0;
	s->inflating = 1;
	s->skip_lf = s->top.stream_cr;
}

/* The inflated bytes, through the object stream's lexer. */
static void objstm_lex(pl_docinfo_pdf_t *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		lex_byte(s, &s->sub, s->out[i]);
		s->sub.pos++;
	}
}

/* The stream's end: the last token, then the lexer is done. */
static void objstm_end(pl_docinfo_pdf_t *s)
{
	if (s->sub.state == L_NAME || s->sub.state == L_WORD)
		lex_byte(s, &s->sub, ' ');
	objstm_stop(s, 1);
}

static void objstm_feed(pl_docinfo_pdf_t *s, const uint8_t *p, size_t n)
{
	if (s->skip_lf && n > 0) {
		s->skip_lf = 0;
		if (p[0] == '\n') {
			p++;
			n--;
		}
	}
	s->z.next_in = (Bytef *)(uintptr_t)p;
	s->z.avail_in = (uInt)n;
	while (s->inflating && (s->z.avail_in > 0 || s->z.avail_out == 0)) {
		/* Never past the budget, whatever the chunking: the same bytes
		 * are read before a bomb is given up. */
		uint64_t room = INFLATE_BUDGET - s->inflated;
		uInt want = room < sizeof(s->out) ? (uInt)room : (uInt)sizeof(s->out);
		if (want == 0) {
			objstm_stop(s, 0);
			return;
		}
		s->z.next_out = s->out;
		s->z.avail_out = want;
		int rc = inflate(&s->z, Z_NO_FLUSH);
		size_t got = want - s->z.avail_out;
		s->inflated += got;
		/* What came out before an error is read all the same: had the
		 * data come in smaller chunks, it would have been already. */
		objstm_lex(s, got);
		if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
			objstm_stop(s, 0);
			return;
		}
		if (rc == Z_STREAM_END) {
			objstm_end(s);
			return;
		}
		if (rc == Z_BUF_ERROR && got == 0)
			return;
	}
}

/* Where "ndstream" ends in the stream data (just past it), or 0: the
 * ring holds the last bytes before p, so a match across chunks is seen,
 * and the rest is searched with memmem, a stream being most of a PDF. */
static size_t endstream_at(pl_docinfo_pdf_t *s, const uint8_t *p, size_t n)
{
	static const char tail[] = "ndstream";
	uint64_t ring = s->top.ring;
	size_t k = n < 7 ? n : 7, used;
	const uint8_t *m;

	for (size_t i = 0; i < k; i++)
		if ((ring = ring << 8 | p[i]) == ENDSTREAM_TAIL)
			return i + 1;
	m = memmem(p, n, tail, 8);
	used = m ? (size_t)(m - p) + 8 : n;
	for (size_t i = used > 8 ? used - 8 : 0; i < used; i++)
		s->top.ring = s->top.ring << 8 | p[i];
	return m ? used : 0;
}

/* Stream data up to "endstream": inflated when it is an object stream. */
static size_t stream_run(pl_docinfo_pdf_t *s, const uint8_t *p, size_t n)
{
	size_t i = endstream_at(s, p, n);
	int end = i != 0;

	if (!end)
		i = n;
	if (s->inflating) {
		/* zlib stops at the stream's end; "endstream" is not fed after. */
		objstm_feed(s, p, i);
		if (end)
			objstm_stop(s, 0); /* the data ended before the stream did */
	}
	if (end)
		s->top.state = L_NORMAL;
	return i;
}

/* ---- the lexer ------------------------------------------------------------ */

/* A keyword: "obj", "endobj", "R" of a reference, "stream". */
static void on_keyword(pl_docinfo_pdf_t *s, lex_t *l, uint8_t term)
{
	int want = l->want;

	l->after_type = 0;
	l->want = W_NONE;
	if (strcmp(l->tok, "R") == 0 && want == W_REF_R && in_dict(l)) {
		TOP(l).pages_ref = l->ref;
		TOP(l).has_pages_ref = 1;
	} else if (strcmp(l->tok, "R") == 0 && want == W_COUNT_R && in_dict(l)) {
		TOP(l).has_count = 0; /* /Count N G R: in an object we do not follow */
	} else if (strcmp(l->tok, "startxref") == 0 && l == &s->top) {
		if (s->nxref < UINT32_MAX)
			s->nxref++;
	} else if (strcmp(l->tok, "obj") == 0 && l->depth == 0 && l == &s->top) {
		l->obj = l->num[0] > 0 && l->num[0] <= UINT32_MAX && l->num[1] >= 0
				 ? (uint32_t)l->num[0] : 0;
		l->have_last = 0;
	} else if (strcmp(l->tok, "endobj") == 0 && l == &s->top) {
		l->obj = 0;
		l->have_last = 0;
	} else if (strcmp(l->tok, "stream") == 0) {
		l->state = L_STREAM;
		l->ring = 0;
		if (l == &s->top && l->have_last) {
			l->stream_cr = term == '\r';
			if (term == '\r' || term == '\n')
				objstm_begin(s, &l->last);
			else if (l->last.objstm)
				objstm_unread(s); /* no end of line: not a stream we know */
		}
		l->have_last = 0;
	}
	if (l->depth == 0)
		l->num[0] = l->num[1] = -1;
}

static void on_word(pl_docinfo_pdf_t *s, lex_t *l, uint8_t term)
{
	l->tok[l->toklen] = '\0';
	if (l->state == L_NAME) {
		on_name(l, l->tok);
		if (l->depth == 0)
			l->num[0] = l->num[1] = -1;
	} else if ((l->tok[0] >= '0' && l->tok[0] <= '9') || strchr("+-.", l->tok[0])) {
		on_number(s, l, l->tok);
	} else {
		on_keyword(s, l, term);
		if (l->state == L_STREAM)
			return;
	}
	l->state = L_NORMAL;
}

static void on_delim(pl_docinfo_pdf_t *s, lex_t *l, uint8_t c)
{
	switch (c) {
	case '%': l->state = L_COMMENT; return;
	case '(': l->state = L_STRING; l->str_depth = 1; l->sub = 0; break;
	case '<': l->state = L_LT; return;
	case '>': l->state = L_GT; return;
	case '/': l->state = L_NAME; l->toklen = 0; l->tok_pos = l->pos; return;
	case '[':
		if (l->want == W_BOX_OPEN || l->want == W_FILTER) {
			l->want = l->want == W_BOX_OPEN ? W_BOX_NUM : W_FILTER_ARR;
			l->nbox = 0;
			l->after_type = 0;
			return;
		}
		break;
	default: break;
	}
	(void)s;
	l->after_type = 0;
	l->want = W_NONE;
	if (l->depth == 0)
		l->num[0] = l->num[1] = -1;
}

static void lex_normal(pl_docinfo_pdf_t *s, lex_t *l, uint8_t c)
{
	if (is_space(c))
		return;
	if (is_delim(c)) {
		on_delim(s, l, c);
		return;
	}
	l->state = L_WORD;
	l->toklen = 0;
	l->tok_pos = l->pos;
	l->tok[l->toklen++] = (char)c;
}

/* A name or word: collect (a long one is truncated and matches nothing
 * we look for), end at whitespace or a delimiter, which is then lexed. */
static void lex_token(pl_docinfo_pdf_t *s, lex_t *l, uint8_t c)
{
	if (!is_space(c) && !is_delim(c)) {
		if (l->toklen < sizeof(l->tok) - 1)
			l->tok[l->toklen++] = (char)c;
		else
			l->tok[0] = '#'; /* too long: no match */
		return;
	}
	on_word(s, l, c);
	if (l->state == L_NORMAL)
		lex_normal(s, l, c);
}

static void lex_string(lex_t *l, uint8_t c)
{
	if (l->sub) { /* the byte after a backslash is literal */
		l->sub = 0;
		return;
	}
	if (c == '\\')
		l->sub = 1;
	else if (c == '(')
		l->str_depth++;
	else if (c == ')' && --l->str_depth == 0)
		l->state = L_NORMAL;
}

static void lex_byte(pl_docinfo_pdf_t *s, lex_t *l, uint8_t c)
{
	switch (l->state) {
	case L_COMMENT:
		if (c == '\r' || c == '\n')
			l->state = L_NORMAL;
		return;
	case L_STRING: lex_string(l, c); return;
	case L_HEX:
		if (c == '>')
			l->state = L_NORMAL;
		return;
	case L_STREAM: /* inside an object stream: nothing to learn */
		l->ring = l->ring << 8 | c;
		if (l->ring == ENDSTREAM_TAIL)
			l->state = L_NORMAL;
		return;
	case L_LT:
		l->state = L_NORMAL;
		if (c == '<') {
			dict_open(s, l);
			return;
		}
		l->state = L_HEX;
		lex_byte(s, l, c);
		return;
	case L_GT:
		l->state = L_NORMAL;
		if (c == '>') {
			dict_close(s, l);
			return;
		}
		lex_normal(s, l, c);
		return;
	case L_NAME:
	case L_WORD: lex_token(s, l, c); return;
	default: lex_normal(s, l, c); return;
	}
}

void pl_docinfo_pdf_init(pl_docinfo_pdf_t *s)
{
	memset(s, 0, sizeof(*s));
}

/* How many bytes from p the top lexer would pass over without a state
 * change: whitespace between tokens, a comment's text up to its end of
 * line. Skipped as a run: a file padded with them (or a long comment)
 * costs a scan, not a call a byte. 0: lex this byte. */
static size_t idle_run(const lex_t *l, const uint8_t *p, size_t n)
{
	size_t i = 0;
	if (l->state == L_NORMAL) {
		/* padding is mostly spaces: eight at a time */
		uint64_t w;
		while (i + 8 <= n && (memcpy(&w, p + i, 8), w == 0x2020202020202020ull))
			i += 8;
		while (i < n && is_space(p[i]))
			i++;
	}
	else if (l->state == L_COMMENT)
		while (i < n && p[i] != '\r' && p[i] != '\n')
			i++;
	return i;
}

void pl_docinfo_pdf_feed(pl_docinfo_pdf_t *s, const uint8_t *p, size_t n)
{
	s->nbytes += n;
	while (n > 0) {
		size_t used = 1;
		if (s->top.state == L_STREAM) {
			used = stream_run(s, p, n);
		} else if ((used = idle_run(&s->top, p, n)) > 0) {
			s->top.pos += used;
		} else {
			used = 1;
			lex_byte(s, &s->top, p[0]);
			s->top.pos++;
		}
		p += used;
		n -= used;
	}
}

/* ---- the answer ------------------------------------------------------------ */

/* The page tree root's count: the catalog's, else the last root; 0 when
 * none, or when an object stream read after it could hold a newer one. */
static uint32_t root_count(const pl_docinfo_pdf_t *s)
{
	int pick = -1;

	if (s->nroots == 0)
		return 0;
	if (s->have_catalog)
		for (uint32_t i = 0; i < s->nroots; i++)
			if (s->roots[i].obj == s->catalog_pages)
				pick = (int)i;
	if (pick < 0)
		pick = (int)s->nroots - 1;
	if (s->fail_seq > s->roots[pick].seq)
		return 0;
	return s->roots[pick].count;
}

static uint32_t pdf_pages(const pl_docinfo_pdf_t *s)
{
	uint32_t root = root_count(s);
	uint32_t lin = s->have_lin && s->lin_len == s->nbytes ? s->lin_n : 0;

	if (lin && root && lin != root)
		return 0; /* two exact sources disagree: not a count we trust */
	if (lin)
		return lin;
	if (root)
		return root;
	/* No root at all: the page objects, unless some were not read, or
	 * the file was updated (an update repeats the pages it changes). */
	if (s->nroots == 0 && s->fail_seq == 0 && s->nxref <= 1)
		return s->page_objs;
	return 0;
}

void pl_docinfo_pdf_result(pl_docinfo_pdf_t *s, pl_docinfo_result_t *out)
{
	if (s->top.state == L_NAME || s->top.state == L_WORD)
		on_word(s, &s->top, ' ');
	objstm_stop(s, 0); /* the file ended inside an object stream */
	out->pages = pdf_pages(s);
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
