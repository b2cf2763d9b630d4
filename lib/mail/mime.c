/* The MIME walk (RFC 2045/2046): every leaf part of a message decoded,
 * typed and given a role (body, attachment, cid resource), under the
 * bounds of pl_mail_opts_t. Our own walker, not libetpan's
 * mailmime_parse: that parser recurses once per nesting level with no
 * limit (a message nested 100,000 deep exhausts the stack before any
 * depth could be checked), builds a full tree with an allocation per
 * header field before anything can be bounded, and decodes nothing under
 * a byte budget. Here the depth is checked before each descent, every
 * decoded byte is counted against max_decoded_bytes as it is produced,
 * and the part count is capped; the recursion is at most max_depth (and
 * never more than 64) deep. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mail-private.h"
#include "pl_util.h"

#define DEPTH_CAP 64u

void pl_mail_opts_default(pl_mail_opts_t *o)
{
	memset(o, 0, sizeof(*o));
	o->max_message_bytes = 25ull << 20;
	o->max_attachments = 20;
	o->max_pages = 200;
	o->max_depth = 8;
	o->max_decoded_bytes = 100ull << 20;
	o->cpu_seconds = 30;
	o->wall_ms = 60000;
	o->mem_bytes = 1ull << 30;
	o->body = 1;
	o->monospace = 0;
	o->ext.timeout_s = 60;
	o->ext.mem_bytes = 2ull << 30;
	pl_mail_ext_default_types(&o->ext);
}

typedef struct {
	const pl_mail_opts_t *o;
	pl_mail_parts_t *ps;
	unsigned visits;
	int have_body;
} walk_t;

/* What a part's header says. */
typedef struct {
	char type[80];     /* "text/plain" */
	char boundary[80]; /* RFC 2046: at most 70 */
	char charset[48];
	char name[128];
	char cid[128];
	char cte[32];
	int attachment;    /* Content-Disposition: attachment */
	int typed;         /* a Content-Type field was there */
} phead_t;

static int reject(walk_t *w, const char *why)
{
	if (!w->ps->reason[0])
		pl_strlcpy(w->ps->reason, why, sizeof(w->ps->reason));
	return PL_MAIL_EREJECT;
}

/* --- parameters (RFC 2045 5.1, RFC 2231) --------------------------------- */

static void lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

/* A token or quoted-string at *p into out; advances *p. */
static void param_value(const char **p, char *out, size_t outsz)
{
	size_t o = 0;
	const char *s = *p;
	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == '"') {
		s++;
		while (*s && *s != '"') {
			if (*s == '\\' && s[1])
				s++;
			if (o + 1 < outsz)
				out[o++] = *s;
			s++;
		}
		if (*s)
			s++;
	} else {
		while (*s && *s != ';' && *s != ' ' && *s != '\t') {
			if (o + 1 < outsz)
				out[o++] = *s;
			s++;
		}
	}
	out[o] = 0;
	*p = s;
}

/* RFC 2231 extended value "charset'lang'%xx..." to UTF-8. */
static void ext_value(const char *v, char *out, size_t outsz)
{
	char cs[48] = "";
	const char *q1 = strchr(v, '\'');
	const char *q2 = q1 ? strchr(q1 + 1, '\'') : NULL;
	if (q2 && (size_t)(q1 - v) < sizeof(cs)) {
		memcpy(cs, v, (size_t)(q1 - v));
		cs[q1 - v] = 0;
		v = q2 + 1;
	}
	char raw[512];
	size_t o = 0;
	for (; *v && o + 1 < sizeof(raw); v++) {
		if (*v == '%' && pl_hex_digit(v[1]) >= 0 && pl_hex_digit(v[2]) >= 0) {
			raw[o++] = (char)(pl_hex_digit(v[1]) * 16 + pl_hex_digit(v[2]));
			v += 2;
		} else {
			raw[o++] = *v;
		}
	}
	pl_mail_buf_t b = {.max = outsz * 4};
	if (pl_mail_to_utf8(cs, (const uint8_t *)raw, o, &b) == 0 && b.p)
		pl_strlcpy(out, b.p, outsz);
	else
		out[0] = 0;
	pl_mail_buf_free(&b);
}

/* The parameter key of value s ("type/sub; a=b; key=..."): plain
 * (RFC 2047 words decoded, as senders do), extended, or continued. */
static void param(const char *s, const char *key, char *out, size_t outsz)
{
	size_t kl = strlen(key);
	char val[512], cont[512] = "";
	int ext_cont = 0;
	out[0] = 0;
	const char *p = strchr(s, ';');
	while (p) {
		p++;
		while (*p == ' ' || *p == '\t' || *p == ';')
			p++;
		const char *k = p;
		while (*p && *p != '=' && *p != ';')
			p++;
		if (!*p)
			break;
		if (*p != '=')
			continue; /* a bare token: on to the next ';' */
		size_t klen = (size_t)(p - k);
		while (klen && (k[klen - 1] == ' ' || k[klen - 1] == '\t'))
			klen--;
		p++;
		param_value(&p, val, sizeof(val));
		if (klen == kl && !strncasecmp(k, key, kl)) {
			pl_mail_decode_words(val, out, outsz);
			return;
		}
		if (klen == kl + 1 && !strncasecmp(k, key, kl) && k[kl] == '*') {
			ext_value(val, out, outsz);
			return;
		}
		if (klen > kl + 1 && !strncasecmp(k, key, kl) && k[kl] == '*' &&
		    isdigit((unsigned char)k[kl + 1])) {
			if (k[klen - 1] == '*')
				ext_cont = 1;
			size_t cl = strlen(cont);
			pl_strlcpy(cont + cl, val, sizeof(cont) - cl);
		}
		p = strchr(p, ';');
	}
	if (cont[0]) {
		if (ext_cont)
			ext_value(cont, out, outsz);
		else
			pl_mail_decode_words(cont, out, outsz);
	}
}

/* A file name as it may appear in a notice: printable, no path. */
static void clean_name(char *s)
{
	const char *base = s;
	for (const char *p = s; *p; p++)
		if (*p == '/' || *p == '\\')
			base = p + 1;
	memmove(s, base, strlen(base) + 1);
	for (char *p = s; *p; p++)
		if ((unsigned char)*p < 32 || *p == ';')
			*p = '_';
}

static void parse_head(const uint8_t *p, size_t hlen, phead_t *h, char *v)
{
	pl_mail_hdr_iter_t it;
	const char *name;
	size_t nlen, vlen;
	const uint8_t *val;
	memset(h, 0, sizeof(*h));
	it.p = p;
	it.len = hlen;
	it.pos = 0;
	while (pl_mail_hdr_next(&it, &name, &nlen, &val, &vlen)) {
		if (pl_mail_name_is(name, nlen, "Content-Type") && !h->type[0]) {
			pl_mail_unfold(val, vlen, v, PL_MAIL_FIELD_MAX);
			size_t l = strcspn(v, "; \t");
			h->typed = 1;
			if (l < sizeof(h->type) && memchr(v, '/', l)) {
				memcpy(h->type, v, l);
				h->type[l] = 0;
				lower(h->type);
			}
			param(v, "boundary", h->boundary, sizeof(h->boundary));
			param(v, "charset", h->charset, sizeof(h->charset));
			if (!h->name[0])
				param(v, "name", h->name, sizeof(h->name));
		} else if (pl_mail_name_is(name, nlen, "Content-Transfer-Encoding")) {
			pl_mail_unfold(val, vlen, v, PL_MAIL_FIELD_MAX);
			pl_strlcpy(h->cte, v, sizeof(h->cte));
			lower(h->cte);
		} else if (pl_mail_name_is(name, nlen, "Content-Disposition")) {
			pl_mail_unfold(val, vlen, v, PL_MAIL_FIELD_MAX);
			h->attachment = !strncasecmp(v, "attachment", 10);
			char fn[128];
			param(v, "filename", fn, sizeof(fn));
			if (fn[0])
				pl_strlcpy(h->name, fn, sizeof(h->name));
		} else if (pl_mail_name_is(name, nlen, "Content-ID") && !h->cid[0]) {
			pl_mail_unfold(val, vlen, v, PL_MAIL_FIELD_MAX);
			const char *s = v;
			while (*s == '<' || *s == ' ')
				s++;
			size_t l = strcspn(s, ">");
			if (l < sizeof(h->cid)) {
				memcpy(h->cid, s, l);
				h->cid[l] = 0;
			}
		}
	}
	clean_name(h->name);
	if (!h->type[0])
		pl_strlcpy(h->type, "text/plain", sizeof(h->type));
}

/* --- kinds ----------------------------------------------------------------- */

static int ends_with(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);
	return a >= b && !strcasecmp(s + a - b, suf);
}

static int has(const uint8_t *d, size_t n, const char *m, size_t at)
{
	size_t l = strlen(m);
	return n >= at + l && !memcmp(d + at, m, l);
}

static int is_svg(const uint8_t *d, size_t n)
{
	size_t lim = n < 1024 ? n : 1024;
	for (size_t i = 0; i + 4 <= lim; i++)
		if (!memcmp(d + i, "<svg", 4))
			return 1;
	return 0;
}

pl_mail_kind_t pl_mail_kind_of(const char *type, const char *name,
			       const uint8_t *d, size_t n)
{
	/* the bytes first: what MuPDF will see */
	size_t lim = n < 1024 ? n : 1024;
	for (size_t i = 0; i + 5 <= lim; i++)
		if (!memcmp(d + i, "%PDF-", 5))
			return PL_MAIL_K_PDF;
	if (has(d, n, "\xff\xd8\xff", 0) || has(d, n, "\x89PNG\r\n\x1a\n", 0) ||
	    has(d, n, "GIF87a", 0) || has(d, n, "GIF89a", 0) ||
	    has(d, n, "II*\0", 0) || has(d, n, "MM\0*", 0) || has(d, n, "BM", 0))
		return PL_MAIL_K_IMAGE;
	if (has(d, n, "PK\3\4", 0)) {
		if (has(d, n, "mimetypeapplication/epub+zip", 30))
			return PL_MAIL_K_EPUB;
		if (!strcmp(type, "application/vnd.ms-xpsdocument") ||
		    !strcmp(type, "application/oxps") || ends_with(name, ".xps") ||
		    ends_with(name, ".oxps"))
			return PL_MAIL_K_XPS;
		return PL_MAIL_K_SKIP; /* Office files, archives */
	}
	if (!strcmp(type, "image/svg+xml") || ends_with(name, ".svg"))
		return is_svg(d, n) ? PL_MAIL_K_SVG : PL_MAIL_K_SKIP;
	if (!strcmp(type, "text/html"))
		return PL_MAIL_K_HTML;
	if (!strcmp(type, "text/plain") || !strcmp(type, "text/csv") ||
	    ((!strcmp(type, "application/octet-stream") || !strncmp(type, "text/", 5)) &&
	     (ends_with(name, ".txt") || ends_with(name, ".log") || ends_with(name, ".csv"))))
		return PL_MAIL_K_TEXT;
	return PL_MAIL_K_SKIP;
}

const char *pl_mail_kind_magic(pl_mail_kind_t k, const uint8_t *d, size_t n)
{
	switch (k) {
	case PL_MAIL_K_PDF: return "application/pdf";
	case PL_MAIL_K_XPS: return "application/vnd.ms-xpsdocument";
	case PL_MAIL_K_EPUB: return "application/epub+zip";
	case PL_MAIL_K_SVG: return "image/svg+xml";
	case PL_MAIL_K_IMAGE:
		if (has(d, n, "\xff\xd8\xff", 0)) return "image/jpeg";
		if (has(d, n, "\x89PNG", 0)) return "image/png";
		if (has(d, n, "GIF8", 0)) return "image/gif";
		if (has(d, n, "BM", 0)) return "image/bmp";
		return "image/tiff";
	default: return NULL;
	}
}

/* --- the external converter's types (its runner is ext.c) -------------- */

/* The default types: extension and media type. */
static const struct {
	const char *ext, *type;
} office[] = {
	{ "doc", "application/msword" },
	{ "docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document" },
	{ "xls", "application/vnd.ms-excel" },
	{ "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" },
	{ "ppt", "application/vnd.ms-powerpoint" },
	{ "pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation" },
	{ "odt", "application/vnd.oasis.opendocument.text" },
	{ "ods", "application/vnd.oasis.opendocument.spreadsheet" },
	{ "odp", "application/vnd.oasis.opendocument.presentation" },
	{ "rtf", "application/rtf" },
	{ "rtf", "text/rtf" },
};

void pl_mail_ext_default_types(pl_mail_ext_t *e)
{
	e->ntypes = 0;
	for (size_t i = 0; i < PL_ARRAY_LEN(office); i++) {
		pl_strlcpy(e->types[e->ntypes++], office[i].type, sizeof(e->types[0]));
		if (i == 0 || strcmp(office[i].ext, office[i - 1].ext))
			pl_strlcpy(e->types[e->ntypes++], office[i].ext, sizeof(e->types[0]));
	}
}

/* The extension of name: letters and digits only, at most 8, or NULL. */
static const char *name_ext(const char *name)
{
	const char *dot = strrchr(name, '.');
	if (!dot || !dot[1] || strlen(dot + 1) > 8)
		return NULL;
	for (const char *p = dot + 1; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')))
			return NULL;
	return dot + 1;
}

const char *pl_mail_ext_match(const pl_mail_ext_t *e, const char *type, const char *name)
{
	static __thread char ext[9];
	if (!e->argc)
		return NULL;
	const char *ne = name_ext(name);
	for (unsigned i = 0; i < e->ntypes; i++) {
		const char *t = e->types[i];
		int hit = strchr(t, '/') ? !strcasecmp(t, type)
					 : ne && !strcasecmp(t[0] == '.' ? t + 1 : t, ne);
		if (!hit)
			continue;
		/* the file name the converter sees: the sender's extension
		 * when it has a sane one, else the type's, else "bin" */
		const char *x = ne;
		for (size_t k = 0; !x && k < PL_ARRAY_LEN(office); k++)
			if (!strcasecmp(office[k].type, type))
				x = office[k].ext;
		pl_strlcpy(ext, x ? x : "bin", sizeof(ext));
		for (char *p = ext; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
		return ext;
	}
	return NULL;
}

/* --- the walk -------------------------------------------------------------- */

static void add_skipped(pl_mail_parts_t *ps, const phead_t *h)
{
	size_t l = strlen(ps->skipped);
	char item[256];
	snprintf(item, sizeof(item), "%s%s (%s)", l ? "; " : "",
		 h->name[0] ? h->name : "unnamed", h->type);
	if (l + strlen(item) < sizeof(ps->skipped))
		memcpy(ps->skipped + l, item, strlen(item) + 1);
}

static int walk(walk_t *w, const uint8_t *p, size_t len, unsigned depth, pl_mail_role_t role,
		int digest);

/* The body of a leaf: decoded, typed, stored. */
static int leaf(walk_t *w, const phead_t *h, const uint8_t *body, size_t blen,
		pl_mail_role_t role)
{
	pl_mail_parts_t *ps = w->ps;
	uint64_t left = w->o->max_decoded_bytes > ps->decoded ? w->o->max_decoded_bytes - ps->decoded : 0;
	pl_mail_buf_t raw = {.max = left > SIZE_MAX / 2 ? SIZE_MAX / 2 : (size_t)left};
	int rc;
	if (!strcmp(h->cte, "base64"))
		rc = pl_mail_b64_decode(body, blen, &raw);
	else if (!strcmp(h->cte, "quoted-printable"))
		rc = pl_mail_qp_decode(body, blen, &raw);
	else
		rc = pl_mail_buf_add(&raw, body, blen);
	if (rc < 0) {
		int nomem = raw.nomem;
		pl_mail_buf_free(&raw);
		if (nomem)
			return -1;
		char why[128];
		snprintf(why, sizeof(why), "decoded parts over %llu bytes",
			 (unsigned long long)w->o->max_decoded_bytes);
		return reject(w, why);
	}
	const uint8_t *d = raw.p ? (const uint8_t *)raw.p : (const uint8_t *)"";
	pl_mail_kind_t k = pl_mail_kind_of(h->type, h->name, d, raw.len);
	int textual = k == PL_MAIL_K_TEXT || k == PL_MAIL_K_HTML;
	if (role == PL_MAIL_R_BODY && (!textual || h->attachment || w->have_body))
		role = PL_MAIL_R_ATTACH;
	if (role == PL_MAIL_R_RESOURCE && !h->cid[0])
		role = PL_MAIL_R_ATTACH; /* nothing can refer to it: print it */
	if (role == PL_MAIL_R_ATTACH && ++ps->n_attach > w->o->max_attachments) {
		pl_mail_buf_free(&raw);
		char why[128];
		snprintf(why, sizeof(why), "more than %u attachments", w->o->max_attachments);
		return reject(w, why);
	}
	/* what MuPDF cannot read may go to the external converter */
	if (k == PL_MAIL_K_SKIP && role == PL_MAIL_R_ATTACH &&
	    pl_mail_ext_match(&w->o->ext, h->type, h->name))
		k = PL_MAIL_K_EXT;
	if (k == PL_MAIL_K_SKIP) {
		if (role == PL_MAIL_R_ATTACH)
			add_skipped(ps, h);
		pl_mail_buf_free(&raw);
		return 0;
	}
	if (ps->n >= PL_MAIL_PARTS_MAX) {
		pl_mail_buf_free(&raw);
		return reject(w, "too many parts");
	}
	pl_mail_part_t *pt = &ps->v[ps->n];
	memset(pt, 0, sizeof(*pt));
	if (textual) {
		pl_mail_buf_t u = {.max = raw.max};
		if (pl_mail_to_utf8(h->charset, d, raw.len, &u) < 0) {
			int nomem = u.nomem;
			pl_mail_buf_free(&u);
			pl_mail_buf_free(&raw);
			if (nomem)
				return -1;
			return reject(w, "decoded text over the decoded-bytes limit");
		}
		pl_mail_buf_free(&raw);
		raw = u;
		if (!raw.p && pl_mail_buf_add(&raw, "", 0) < 0)
			return -1;
	}
	ps->decoded += raw.len;
	pt->kind = k;
	pt->role = role;
	pl_strlcpy(pt->type, h->type, sizeof(pt->type));
	pl_strlcpy(pt->name, h->name, sizeof(pt->name));
	pl_strlcpy(pt->cid, h->cid, sizeof(pt->cid));
	pt->data = (uint8_t *)raw.p;
	pt->len = raw.len;
	ps->n++;
	if (role == PL_MAIL_R_BODY)
		w->have_body = 1;
	return 0;
}

/* The parts of a multipart body: calls fn for each [start, end). */
typedef struct {
	size_t start[PL_MAIL_PARTS_MAX];
	size_t end[PL_MAIL_PARTS_MAX];
	unsigned n;
} split_t;

/* Is the line at p[i..] a delimiter "--boundary" (then "--" for the
 * close)? 1 delimiter, 2 close, 0 no. */
static int delim(const uint8_t *p, size_t len, size_t i, const char *b, size_t bl)
{
	if (len - i < bl + 2 || p[i] != '-' || p[i + 1] != '-' || memcmp(p + i + 2, b, bl))
		return 0;
	size_t j = i + 2 + bl;
	if (j + 1 < len + 0 && p[j] == '-' && p[j + 1] == '-')
		return 2;
	/* only white space may follow on the line */
	while (j < len && (p[j] == ' ' || p[j] == '\t' || p[j] == '\r'))
		j++;
	return j >= len || p[j] == '\n' ? 1 : 0;
}

static int split(walk_t *w, const uint8_t *p, size_t len, const char *b, split_t *s)
{
	size_t bl = strlen(b);
	long cur = -1; /* start of the open part */
	s->n = 0;
	for (size_t i = 0; i < len;) {
		int d = (i == 0 || p[i - 1] == '\n') ? delim(p, len, i, b, bl) : 0;
		const uint8_t *nl = memchr(p + i, '\n', len - i);
		size_t next = nl ? (size_t)(nl - p) + 1 : len;
		if (d) {
			if (cur >= 0) {
				/* the CRLF before the delimiter belongs to it */
				size_t e = i;
				if (e > (size_t)cur && p[e - 1] == '\n')
					e--;
				if (e > (size_t)cur && p[e - 1] == '\r')
					e--;
				if (s->n >= PL_MAIL_PARTS_MAX)
					return reject(w, "too many parts");
				s->start[s->n] = (size_t)cur;
				s->end[s->n++] = e;
			}
			if (d == 2)
				return 0;
			cur = (long)next;
		}
		i = next;
	}
	if (cur >= 0 && (size_t)cur < len) { /* no close delimiter: to the end */
		if (s->n >= PL_MAIL_PARTS_MAX)
			return reject(w, "too many parts");
		s->start[s->n] = (size_t)cur;
		s->end[s->n++] = len;
	}
	return 0;
}

/* For multipart/alternative: the child to print (HTML, richer, last
 * wins among equals, as RFC 2046 5.1.4 orders them). */
static unsigned pick_alternative(const uint8_t *p, const split_t *s, char *v)
{
	unsigned best = 0;
	int best_score = -1;
	for (unsigned i = 0; i < s->n; i++) {
		phead_t h;
		size_t hl = pl_mail_hdr_end(p + s->start[i], s->end[i] - s->start[i]);
		parse_head(p + s->start[i], hl, &h, v);
		int score = 0;
		if (!strcmp(h.type, "text/plain"))
			score = 1;
		else if (!strcmp(h.type, "text/html"))
			score = 2;
		else if (!strncmp(h.type, "multipart/", 10))
			score = 3;
		if (score >= best_score) {
			best = i;
			best_score = score;
		}
	}
	return best;
}

static int walk_multipart(walk_t *w, const phead_t *h, const uint8_t *body, size_t blen,
			  unsigned depth, pl_mail_role_t role, char *v)
{
	if (depth + 1 > w->o->max_depth || depth + 1 > DEPTH_CAP) {
		char why[128];
		snprintf(why, sizeof(why), "nested deeper than %u levels", w->o->max_depth);
		return reject(w, why);
	}
	if (!h->boundary[0]) { /* no boundary: the body is text */
		phead_t t = *h;
		pl_strlcpy(t.type, "text/plain", sizeof(t.type));
		return leaf(w, &t, body, blen, role);
	}
	split_t *s = malloc(sizeof(*s));
	if (!s)
		return -1;
	int rc = split(w, body, blen, h->boundary, s);
	if (rc == 0 && s->n == 0) { /* the boundary never appears */
		phead_t t = *h;
		pl_strlcpy(t.type, "text/plain", sizeof(t.type));
		rc = leaf(w, &t, body, blen, role);
	}
	int digest = !strcmp(h->type, "multipart/digest");
	if (rc == 0 && s->n > 0 && !strcmp(h->type, "multipart/alternative")) {
		unsigned i = pick_alternative(body, s, v);
		rc = walk(w, body + s->start[i], s->end[i] - s->start[i], depth + 1, role, 0);
	} else if (rc == 0 && !strcmp(h->type, "multipart/related")) {
		for (unsigned i = 0; rc == 0 && i < s->n; i++)
			rc = walk(w, body + s->start[i], s->end[i] - s->start[i], depth + 1,
				  i == 0 ? role : PL_MAIL_R_RESOURCE, 0);
	} else {
		for (unsigned i = 0; rc == 0 && i < s->n; i++)
			rc = walk(w, body + s->start[i], s->end[i] - s->start[i], depth + 1,
				  i == 0 ? role : PL_MAIL_R_ATTACH, digest);
	}
	free(s);
	return rc;
}

static int walk(walk_t *w, const uint8_t *p, size_t len, unsigned depth, pl_mail_role_t role,
		int digest)
{
	if (++w->visits > 4 * PL_MAIL_PARTS_MAX)
		return reject(w, "too many parts");
	size_t hl = pl_mail_hdr_end(p, len);
	if (hl > PL_MAIL_HEADER_MAX)
		return reject(w, "a header block over 256 KiB");
	char *v = malloc(PL_MAIL_FIELD_MAX);
	if (!v)
		return -1;
	phead_t h;
	parse_head(p, hl, &h, v);
	if (digest && !h.typed) /* RFC 2046 5.1.5: a digest's default */
		pl_strlcpy(h.type, "message/rfc822", sizeof(h.type));
	const uint8_t *body = p + hl;
	size_t blen = len - hl;
	int rc;
	if (!strncmp(h.type, "multipart/", 10)) {
		rc = walk_multipart(w, &h, body, blen, depth, role, v);
	} else if (!strcmp(h.type, "message/rfc822") || !strcmp(h.type, "message/global")) {
		if (depth + 1 > w->o->max_depth || depth + 1 > DEPTH_CAP) {
			char why[128];
			snprintf(why, sizeof(why), "nested deeper than %u levels", w->o->max_depth);
			rc = reject(w, why);
		} else {
			/* an attached message prints after the body, all of it;
			 * only an encoding-free body can be walked in place */
			rc = walk(w, body, blen, depth + 1,
				  role == PL_MAIL_R_BODY && !h.attachment ? PL_MAIL_R_BODY
									  : PL_MAIL_R_ATTACH, 0);
		}
	} else {
		rc = leaf(w, &h, body, blen, role);
	}
	free(v);
	return rc;
}

int pl_mail_walk(const uint8_t *msg, size_t len, const pl_mail_opts_t *o,
		 pl_mail_parts_t *ps)
{
	memset(ps, 0, sizeof(*ps));
	walk_t w = {.o = o, .ps = ps};
	if (len > o->max_message_bytes) {
		snprintf(ps->reason, sizeof(ps->reason), "message over %llu bytes",
			 (unsigned long long)o->max_message_bytes);
		return PL_MAIL_EREJECT;
	}
	int rc = walk(&w, msg, len, 0, PL_MAIL_R_BODY, 0);
	if (rc != 0) {
		pl_mail_parts_free(ps);
		ps->n = 0;
	}
	return rc;
}

void pl_mail_parts_free(pl_mail_parts_t *ps)
{
	for (unsigned i = 0; i < ps->n; i++) {
		free(ps->v[i].data);
		ps->v[i].data = NULL;
	}
}
