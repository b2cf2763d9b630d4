/* JSON configuration: Jansson builds the tree; a small tokenizer of our own
 * re-walks the original text to turn a key path into a line and column,
 * because Jansson keeps no positions for values. */
#include "pl_config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A config is edited by hand and a few KiB long; anything this big is a
 * mistake (a log or a disk image named by accident), not a config. */
#define PL_CONFIG_MAX (4u * 1024 * 1024)

struct pl_config {
	char *name;
	char *text; /* the original bytes, NUL-terminated, for locating */
	size_t len;
	json_t *root;
};

static void err_set(pl_err_t *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void err_set(pl_err_t *err, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}

/* ---- locating a key path in the text ---- */

typedef enum {
	TOK_ERR = 0,
	TOK_EOF,
	TOK_STR,
	TOK_NUM,
	TOK_LIT,
	TOK_PUNCT,
} tok_kind_t;

typedef struct {
	const char *p, *end;
	int line, col;
} lex_t;

typedef struct {
	tok_kind_t kind;
	char punct;	    /* for TOK_PUNCT */
	const char *s;	    /* TOK_STR: the raw bytes between the quotes */
	size_t n;
	int line, col;	    /* of the token's first byte */
} tok_t;

/* One byte forward; a newline starts a new line, anything else (including
 * each byte of a UTF-8 sequence) is one column. */
static void lex_adv(lex_t *lx)
{
	if (*lx->p == '\n') {
		lx->line++;
		lx->col = 1;
	} else
		lx->col++;
	lx->p++;
}

static void lex_ws(lex_t *lx)
{
	while (lx->p < lx->end && (*lx->p == ' ' || *lx->p == '\t' ||
	    *lx->p == '\r' || *lx->p == '\n'))
		lex_adv(lx);
}

static int lex_str(lex_t *lx, tok_t *t)
{
	lex_adv(lx); /* the opening quote */
	t->s = lx->p;
	while (lx->p < lx->end && *lx->p != '"') {
		if (*lx->p == '\\') {
			lex_adv(lx);
			if (lx->p == lx->end)
				return -1;
		}
		lex_adv(lx);
	}
	if (lx->p == lx->end)
		return -1;
	t->n = (size_t)(lx->p - t->s);
	lex_adv(lx);
	return 0;
}

static int lex_lit(lex_t *lx)
{
	static const char *const lits[] = {"true", "false", "null"};
	size_t i, n;

	for (i = 0; i < sizeof(lits) / sizeof(lits[0]); i++) {
		n = strlen(lits[i]);
		if ((size_t)(lx->end - lx->p) >= n &&
		    memcmp(lx->p, lits[i], n) == 0) {
			while (n-- > 0)
				lex_adv(lx);
			return 0;
		}
	}
	return -1;
}

static void lex_next(lex_t *lx, tok_t *t)
{
	char c;

	lex_ws(lx);
	memset(t, 0, sizeof(*t));
	t->line = lx->line;
	t->col = lx->col;
	if (lx->p == lx->end) {
		t->kind = TOK_EOF;
		return;
	}
	c = *lx->p;
	if (c == '"') {
		t->kind = lex_str(lx, t) == 0 ? TOK_STR : TOK_ERR;
	} else if (strchr("{}[]:,", c) != NULL && c != '\0') {
		t->kind = TOK_PUNCT;
		t->punct = c;
		lex_adv(lx);
	} else if (c == '-' || (c >= '0' && c <= '9')) {
		t->kind = TOK_NUM;
		while (lx->p < lx->end && strchr("+-.eE0123456789", *lx->p) &&
		    *lx->p != '\0')
			lex_adv(lx);
	} else
		t->kind = lex_lit(lx) == 0 ? TOK_LIT : TOK_ERR;
}

static int tok_is(const tok_t *t, char punct)
{
	return t->kind == TOK_PUNCT && t->punct == punct;
}

/* Skip the rest of a value whose first token is t. Nesting is only
 * counted, not checked: the text was validated by Jansson already, and on
 * arbitrary input we only need to stay in bounds and terminate. */
static int skip_value(lex_t *lx, const tok_t *t)
{
	tok_t u;
	size_t depth;

	if (t->kind == TOK_STR || t->kind == TOK_NUM || t->kind == TOK_LIT)
		return 0;
	if (!tok_is(t, '{') && !tok_is(t, '['))
		return -1;
	for (depth = 1; depth > 0;) {
		lex_next(lx, &u);
		if (u.kind == TOK_ERR || u.kind == TOK_EOF)
			return -1;
		if (tok_is(&u, '{') || tok_is(&u, '['))
			depth++;
		else if (tok_is(&u, '}') || tok_is(&u, ']'))
			depth--;
	}
	return 0;
}

static int hex4(const char *s, unsigned *out)
{
	unsigned v = 0;
	int i;

	for (i = 0; i < 4; i++) {
		v <<= 4;
		if (s[i] >= '0' && s[i] <= '9')
			v |= (unsigned)(s[i] - '0');
		else if (s[i] >= 'a' && s[i] <= 'f')
			v |= (unsigned)(s[i] - 'a' + 10);
		else if (s[i] >= 'A' && s[i] <= 'F')
			v |= (unsigned)(s[i] - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

static size_t utf8_put(unsigned cp, char *b)
{
	if (cp < 0x80) {
		b[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		b[0] = (char)(0xc0 | cp >> 6);
		b[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		b[0] = (char)(0xe0 | cp >> 12);
		b[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	b[0] = (char)(0xf0 | cp >> 18);
	b[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	b[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	b[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Decode one \u escape (and its low surrogate, if a pair) at s (just after
 * the "\u"); *used gets the bytes consumed after the "\u". */
static int unescape_u(const char *s, const char *end, unsigned *cp,
		      size_t *used)
{
	unsigned lo;

	if (end - s < 4 || hex4(s, cp) != 0)
		return -1;
	*used = 4;
	if (*cp >= 0xdc00 && *cp <= 0xdfff)
		return -1;
	if (*cp < 0xd800 || *cp > 0xdbff)
		return 0;
	if (end - s < 10 || s[4] != '\\' || s[5] != 'u' ||
	    hex4(s + 6, &lo) != 0 || lo < 0xdc00 || lo > 0xdfff)
		return -1;
	*cp = 0x10000 + ((*cp - 0xd800) << 10) + (lo - 0xdc00);
	*used = 10;
	return 0;
}

/* Decode the escape at s (just after the backslash) into b. */
static int unescape(const char *s, const char *end, char *b, size_t *blen,
		    size_t *used)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *q;
	unsigned cp;

	if (s == end)
		return -1;
	if (*s == 'u') {
		if (unescape_u(s + 1, end, &cp, used) != 0)
			return -1;
		*blen = utf8_put(cp, b);
		(*used)++;
		return 0;
	}
	if (*s == '\0' || (q = strchr(from, *s)) == NULL)
		return -1;
	b[0] = to[q - from];
	*blen = 1;
	*used = 1;
	return 0;
}

/* Does the raw string body s[0..n) decode to exactly key[0..klen)? */
static int key_eq(const char *s, size_t n, const char *key, size_t klen)
{
	const char *end = s + n;
	char b[4];
	size_t blen, used, k = 0;

	while (s < end) {
		if (*s != '\\') {
			if (k == klen || key[k++] != *s++)
				return 0;
			continue;
		}
		if (unescape(s + 1, end, b, &blen, &used) != 0)
			return 0;
		if (klen - k < blen || memcmp(key + k, b, blen) != 0)
			return 0;
		k += blen;
		s += 1 + used;
	}
	return k == klen;
}

/* One step of a key path: ".key" or "[index]". */
typedef struct {
	int is_index;
	const char *key;
	size_t klen;
	size_t index;
} step_t;

/* Take the next step off *pp. Returns 1 with a step, 0 at the end, -1 on
 * a malformed path ("a..b", "a[x]", "a[1"). */
static int path_step(const char **pp, int first, step_t *st)
{
	const char *p = *pp;
	size_t v;

	memset(st, 0, sizeof(*st));
	if (*p == '\0')
		return 0;
	if (*p == '[') {
		if (!(p[1] >= '0' && p[1] <= '9'))
			return -1;
		for (v = 0, p++; *p >= '0' && *p <= '9'; p++) {
			if (v > (SIZE_MAX - 9) / 10)
				return -1;
			v = v * 10 + (size_t)(*p - '0');
		}
		if (*p++ != ']')
			return -1;
		st->is_index = 1;
		st->index = v;
		*pp = p;
		return 1;
	}
	if (!first && *p++ != '.')
		return -1;
	st->key = p;
	st->klen = strcspn(p, ".[");
	if (st->klen == 0)
		return -1;
	*pp = p + st->klen;
	return 1;
}

/* In the object whose '{' is t, find the member st->key. On a match,
 * *pos gets the key token and t the first token of its value. Returns 1 if
 * found, 0 if the object ends without it, -1 on malformed text. */
static int find_member(lex_t *lx, tok_t *t, const step_t *st, tok_t *pos)
{
	tok_t k, u;

	if (!tok_is(t, '{'))
		return -1;
	for (;;) {
		lex_next(lx, &k);
		if (tok_is(&k, '}'))
			return 0;
		if (k.kind != TOK_STR)
			return -1;
		lex_next(lx, &u);
		if (!tok_is(&u, ':'))
			return -1;
		lex_next(lx, t);
		if (key_eq(k.s, k.n, st->key, st->klen)) {
			*pos = k;
			return 1;
		}
		if (skip_value(lx, t) != 0)
			return -1;
		lex_next(lx, &u);
		if (tok_is(&u, '}'))
			return 0;
		if (!tok_is(&u, ','))
			return -1;
	}
}

/* In the array whose '[' is t, find element st->index; as find_member. */
static int find_element(lex_t *lx, tok_t *t, const step_t *st, tok_t *pos)
{
	tok_t u;
	size_t i;

	if (!tok_is(t, '['))
		return -1;
	for (i = 0;; i++) {
		lex_next(lx, t);
		if (i == 0 && tok_is(t, ']'))
			return 0;
		if (i == st->index) {
			*pos = *t;
			return 1;
		}
		if (skip_value(lx, t) != 0)
			return -1;
		lex_next(lx, &u);
		if (tok_is(&u, ']'))
			return 0;
		if (!tok_is(&u, ','))
			return -1;
	}
}

int pl_config_locate(const char *text, size_t len, const char *path, int *line,
		     int *col)
{
	lex_t lx = {text, text + len, 1, 1};
	tok_t t, pos, container;
	step_t st;
	int r, first = 1;

	if (text == NULL || path == NULL)
		return -1;
	lex_next(&lx, &t);
	pos = t;
	while ((r = path_step(&path, first, &st)) == 1) {
		first = 0;
		container = t;
		r = st.is_index ? find_element(&lx, &t, &st, &pos) :
				  find_member(&lx, &t, &st, &pos);
		if (r < 0)
			return -1;
		if (r == 0) {
			/* Missing: point at the enclosing object or array,
			 * but only for the last step of the path. */
			if (*path != '\0')
				return -1;
			pos = container;
			break;
		}
	}
	if (r < 0 || pos.kind == TOK_ERR || pos.kind == TOK_EOF)
		return -1;
	*line = pos.line;
	*col = pos.col;
	return 0;
}

/* ---- loading ---- */

/* Line and column (bytes, 1-based) of byte offset off in text. */
static void offset_pos(const char *text, size_t off, int *line, int *col)
{
	size_t i;

	*line = 1;
	*col = 1;
	for (i = 0; i < off; i++) {
		if (text[i] == '\n') {
			(*line)++;
			*col = 1;
		} else
			(*col)++;
	}
}

/* Jansson reports the position just after the token it choked on, counting
 * characters, and column 0 at the end of the file. Point at the token's
 * first byte instead (the "near '...'" text is that token's raw bytes), or
 * at the end of the text, so parse errors agree with pl_config_locate. */
static void parse_error_pos(const char *text, size_t len,
			    const json_error_t *je, int *line, int *col)
{
	size_t off, tlen;
	const char *near;

	off = je->position > 0 ? (size_t)je->position : 0;
	if (off > len)
		off = len;
	near = strstr(je->text, " near '");
	if (near != NULL) {
		near += strlen(" near '");
		tlen = strlen(near);
		if (tlen > 1 && near[tlen - 1] == '\'' && tlen - 1 <= off &&
		    memcmp(text + off - (tlen - 1), near, tlen - 1) == 0)
			off -= tlen - 1;
		else if (off > 0)
			off--;
	} else if (off > 0 && off < len)
		off--;
	offset_pos(text, off, line, col);
}

void pl_config_free(pl_config_t *cfg)
{
	if (cfg == NULL)
		return;
	json_decref(cfg->root);
	free(cfg->text);
	free(cfg->name);
	free(cfg);
}

static pl_config_t *config_new(const char *name, const char *text,
			       size_t len)
{
	pl_config_t *cfg;

	if ((cfg = calloc(1, sizeof(*cfg))) == NULL)
		return NULL;
	cfg->name = strdup(name);
	cfg->text = malloc(len + 1);
	if (cfg->name == NULL || cfg->text == NULL) {
		pl_config_free(cfg);
		return NULL;
	}
	if (len > 0)
		memcpy(cfg->text, text, len);
	cfg->text[len] = '\0';
	cfg->len = len;
	return cfg;
}

pl_config_t *pl_config_parse(const char *name, const char *text, size_t len,
			     pl_err_t *err)
{
	pl_config_t *cfg;
	pl_cnode_t root;
	json_error_t je;
	int line, col;

	if (name == NULL)
		name = "config";
	if (len > PL_CONFIG_MAX) {
		err_set(err, "%s: file is too large (over %u MiB)", name,
			PL_CONFIG_MAX / (1024 * 1024));
		return NULL;
	}
	if ((cfg = config_new(name, text, len)) == NULL) {
		err_set(err, "%s: %s", name, strerror(ENOMEM));
		return NULL;
	}
	/* JSON_DECODE_ANY: a scalar at the top gets our message below
	 * rather than Jansson's "'[' or '{' expected". */
	cfg->root = json_loadb(cfg->text, len,
			       JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
	if (cfg->root == NULL) {
		parse_error_pos(cfg->text, len, &je, &line, &col);
		err_set(err, "%s:%d:%d: %s", name, line, col, je.text);
		pl_config_free(cfg);
		return NULL;
	}
	if (!json_is_object(cfg->root)) {
		root = pl_config_root(cfg);
		pl_cnode_error(&root, NULL, err,
			       "expected a JSON object at the top level");
		pl_config_free(cfg);
		return NULL;
	}
	return cfg;
}

/* Read at most PL_CONFIG_MAX + 1 bytes, so an oversized file is noticed
 * without reading it all (and without trusting st_size, which is 0 for
 * pipes and /proc files). */
static char *read_bounded(int fd, size_t *lenp)
{
	size_t cap = 64 * 1024, len = 0;
	char *buf, *nbuf;
	ssize_t n;

	if ((buf = malloc(cap)) == NULL)
		return NULL;
	for (;;) {
		if (len == cap) {
			cap = cap * 2 > PL_CONFIG_MAX + 1 ? PL_CONFIG_MAX + 1 :
							    cap * 2;
			if (len == cap)
				break;
			if ((nbuf = realloc(buf, cap)) == NULL)
				goto fail;
			buf = nbuf;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	*lenp = len;
	return buf;
fail:
	free(buf);
	return NULL;
}

pl_config_t *pl_config_load(const char *file, pl_err_t *err)
{
	pl_config_t *cfg;
	size_t len = 0;
	char *text;
	int fd, saved;

	if ((fd = open(file, O_RDONLY | O_CLOEXEC)) < 0) {
		err_set(err, "%s: %s", file, strerror(errno));
		return NULL;
	}
	text = read_bounded(fd, &len);
	saved = errno;
	close(fd);
	if (text == NULL) {
		err_set(err, "%s: %s", file, strerror(saved));
		return NULL;
	}
	/* Parse refuses len > PL_CONFIG_MAX with the same message. */
	cfg = pl_config_parse(file, text, len, err);
	free(text);
	return cfg;
}

json_t *pl_config_json(const pl_config_t *cfg)
{
	return cfg->root;
}

const char *pl_config_name(const pl_config_t *cfg)
{
	return cfg->name;
}

/* ---- nodes and paths ---- */

/* A path that does not fit ends in "...", which pl_config_locate rejects
 * (empty keys), so a message shows it truncated and without a position
 * rather than at a wrong place. */
static void path_set(char *dst, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void path_set(char *dst, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(dst, PL_CPATH_MAX, fmt, ap);
	va_end(ap);
	if (n < 0)
		dst[0] = '\0';
	else if (n >= PL_CPATH_MAX)
		memcpy(dst + PL_CPATH_MAX - 4, "...", 4);
}

static void path_child(char *dst, const char *path, const char *key)
{
	if (key == NULL)
		path_set(dst, "%s", path);
	else if (path[0] == '\0')
		path_set(dst, "%s", key);
	else
		path_set(dst, "%s.%s", path, key);
}

pl_cnode_t pl_config_root(pl_config_t *cfg)
{
	pl_cnode_t n;

	pl_cnode_make(&n, cfg, cfg->root, "");
	return n;
}

void pl_cnode_make(pl_cnode_t *n, pl_config_t *cfg, json_t *node,
		   const char *path)
{
	n->cfg = cfg;
	n->node = node;
	path_set(n->path, "%s", path != NULL ? path : "");
}

void pl_cnode_index(const pl_cnode_t *arr, size_t i, pl_cnode_t *out)
{
	out->cfg = arr->cfg;
	out->node = json_array_get(arr->node, i);
	path_set(out->path, "%s[%zu]", arr->path, i);
}

int pl_cnode_error(const pl_cnode_t *n, const char *key, pl_err_t *err,
		   const char *fmt, ...)
{
	char path[PL_CPATH_MAX], msg[PL_ERR_MAX], where[64] = "";
	const pl_config_t *cfg = n->cfg;
	const char *name = cfg != NULL ? cfg->name : NULL;
	int line, col;
	va_list ap;

	if (err == NULL)
		return -1;
	path_child(path, n->path, key);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (cfg != NULL && pl_config_locate(cfg->text, cfg->len, path, &line,
					    &col) == 0)
		snprintf(where, sizeof(where), ":%d:%d", line, col);
	/* "name:l:c: path: msg", leaving out what we do not have. A long
	 * message (many allowed keys) is cut, visibly. */
	if (snprintf(err->msg, sizeof(err->msg), "%s%s%s%s%s%s",
		     name ? name : "", where, name ? ": " : "", path,
		     path[0] ? ": " : "", msg) >= (int)sizeof(err->msg))
		memcpy(err->msg + sizeof(err->msg) - 4, "...", 4);
	return -1;
}

/* ---- typed getters ---- */

/* The value at n.key (n itself when key is NULL) into *v, NULL if absent.
 * A missing parent section reads as empty, so optional sections yield
 * defaults; a parent that is not an object is an error. */
static int lookup(const pl_cnode_t *n, const char *key, json_t **v,
		  pl_err_t *err)
{
	*v = NULL;
	if (key == NULL) {
		*v = n->node;
		return 0;
	}
	if (n->node == NULL)
		return 0;
	if (!json_is_object(n->node))
		return pl_cnode_error(n, NULL, err, "expected an object");
	*v = json_object_get(n->node, key);
	return 0;
}

static int missing(const pl_cnode_t *n, const char *key, int required,
		   pl_err_t *err)
{
	if (required)
		return pl_cnode_error(n, key, err, "required key is missing");
	return 0;
}

static int container(const pl_cnode_t *n, const char *key, int required,
		     int want_object, pl_cnode_t *out, pl_err_t *err)
{
	json_t *v;

	out->cfg = n->cfg;
	out->node = NULL;
	path_child(out->path, n->path, key);
	if (lookup(n, key, &v, err) != 0)
		return -1;
	if (v == NULL)
		return missing(n, key, required, err);
	if (want_object && !json_is_object(v))
		return pl_cnode_error(n, key, err, "expected an object");
	if (!want_object && !json_is_array(v))
		return pl_cnode_error(n, key, err, "expected an array");
	out->node = v;
	return 0;
}

int pl_cnode_object(const pl_cnode_t *n, const char *key, int required,
		    pl_cnode_t *out, pl_err_t *err)
{
	return container(n, key, required, 1, out, err);
}

int pl_cnode_array(const pl_cnode_t *n, const char *key, int required,
		   pl_cnode_t *out, pl_err_t *err)
{
	return container(n, key, required, 0, out, err);
}

int pl_cnode_int(const pl_cnode_t *n, const char *key, long long min,
		 long long max, long long def, long long *out, pl_err_t *err)
{
	json_t *v;
	long long i;

	if (lookup(n, key, &v, err) != 0)
		return -1;
	if (v == NULL) {
		*out = def;
		return 0;
	}
	/* A real such as 5.0 is refused: it is a typo more often than not,
	 * and the value the user meant is not ours to guess. */
	if (!json_is_integer(v))
		return pl_cnode_error(n, key, err, "expected an integer");
	i = json_integer_value(v);
	if (i < min || i > max)
		return pl_cnode_error(n, key, err,
				      "expected an integer between %lld and %lld",
				      min, max);
	*out = i;
	return 0;
}

int pl_cnode_bool(const pl_cnode_t *n, const char *key, int def, int *out,
		  pl_err_t *err)
{
	json_t *v;

	if (lookup(n, key, &v, err) != 0)
		return -1;
	if (v == NULL) {
		*out = def;
		return 0;
	}
	if (!json_is_boolean(v))
		return pl_cnode_error(n, key, err, "expected true or false");
	*out = json_is_true(v);
	return 0;
}

static int get_str(const pl_cnode_t *n, const char *key, int required,
		   const char *def, const char **out, pl_err_t *err)
{
	json_t *v;

	if (lookup(n, key, &v, err) != 0)
		return -1;
	if (v == NULL) {
		*out = def;
		return missing(n, key, required, err);
	}
	if (!json_is_string(v))
		return pl_cnode_error(n, key, err, "expected a string");
	*out = json_string_value(v);
	return 0;
}

int pl_cnode_str(const pl_cnode_t *n, const char *key, const char *def,
		 const char **out, pl_err_t *err)
{
	return get_str(n, key, 0, def, out, err);
}

int pl_cnode_str_req(const pl_cnode_t *n, const char *key, const char **out,
		     pl_err_t *err)
{
	return get_str(n, key, 1, NULL, out, err);
}

static int key_allowed(const char *key, const char *const *allowed)
{
	for (; *allowed != NULL; allowed++)
		if (strcmp(key, *allowed) == 0)
			return 1;
	return 0;
}

int pl_cnode_check_keys(const pl_cnode_t *n, const char *const *allowed,
			pl_err_t *err)
{
	char list[PL_ERR_MAX];
	const char *key;
	json_t *v;
	size_t i, used = 0;

	if (n->node == NULL)
		return 0;
	if (!json_is_object(n->node))
		return pl_cnode_error(n, NULL, err, "expected an object");
	json_object_foreach(n->node, key, v) {
		(void)v;
		if (key_allowed(key, allowed))
			continue;
		if (allowed[0] == NULL)
			return pl_cnode_error(n, key, err,
					      "unknown key (no keys allowed here)");
		list[0] = '\0';
		for (i = 0; allowed[i] != NULL && used < sizeof(list); i++)
			used += (size_t)snprintf(list + used,
			    sizeof(list) - used, "%s%s", i ? ", " : "",
			    allowed[i]);
		return pl_cnode_error(n, key, err,
				      "unknown key (expected one of: %s)", list);
	}
	return 0;
}
