/* Directory records from JSON request bodies (pl_dirbody.h): moved here
 * from the web console so that plsc-directory checks what the console
 * forwards with the very parsers the console ran on the browser's body.
 * Every function answers 0 or -1 with a sentence in err; nothing is
 * stored. Untrusted input: fuzzed by tests/fuzz/fuzz_console_body.c. */
#include "pl_dirbody.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pl_badge.h"
#include "pl_util.h"

static int fail(char *err, size_t esz, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t esz, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, esz, fmt, ap);
	va_end(ap);
	return -1;
}

json_t *pl_dir_body_object(const char *body, size_t len, char *err, size_t esz)
{
	json_error_t e;
	if (!body || !len) {
		fail(err, esz, "a JSON object is expected in the request body");
		return NULL;
	}
	json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &e);
	if (!j) {
		fail(err, esz, "malformed JSON at line %d column %d: %s", e.line, e.column,
		     e.text);
		return NULL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		fail(err, esz, "a JSON object is expected in the request body");
		return NULL;
	}
	return j;
}

int pl_dir_body_str(json_t *j, const char *key, char *out, size_t sz, char *err, size_t esz)
{
	json_t *v = json_object_get(j, key);
	out[0] = '\0';
	if (!v || json_is_null(v))
		return 0;
	/* A string with a NUL in it would be cut short, silently: refused. */
	if (!json_is_string(v) || json_string_length(v) >= sz ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return fail(err, esz, "\"%s\" must be a string of at most %zu bytes", key,
			    sz - 1);
	pl_strlcpy(out, json_string_value(v), sz);
	return 0;
}

/* emails and badges: an array of strings, or one string of items split
 * by commas, semicolons or spaces. */
static int body_list(json_t *j, const char *key, char items[][256], int max, int *n,
		     char *err, size_t esz)
{
	json_t *v = json_object_get(j, key), *e;
	size_t i;
	*n = 0;
	if (!v || json_is_null(v))
		return 0;
	if (json_is_string(v)) {
		char buf[2048], *save = NULL;
		if (json_string_length(v) >= sizeof(buf))
			return fail(err, esz, "\"%s\" is too long", key);
		pl_strlcpy(buf, json_string_value(v), sizeof(buf));
		for (char *t = strtok_r(buf, ",; \t", &save); t; t = strtok_r(NULL, ",; \t", &save)) {
			if (*n == max)
				return fail(err, esz, "at most %d %s a user", max, key);
			pl_strlcpy(items[(*n)++], t, 256);
		}
		return 0;
	}
	if (!json_is_array(v))
		return fail(err, esz, "\"%s\" must be a list of strings", key);
	json_array_foreach(v, i, e) {
		if (!json_is_string(e) || json_string_length(e) >= 256 ||
		    strlen(json_string_value(e)) != json_string_length(e))
			return fail(err, esz, "\"%s\" must be a list of strings", key);
		if (!json_string_length(e))
			continue;
		if (*n == max)
			return fail(err, esz, "at most %d %s a user", max, key);
		pl_strlcpy(items[(*n)++], json_string_value(e), 256);
	}
	return 0;
}

int pl_dir_body_user(json_t *j, pl_dir_user_t *u, char *err, size_t esz)
{
	char emails[PL_DIR_MAX_EMAILS][256], badges[PL_DIR_MAX_BADGES][256];
	int ne, nb;
	if (pl_dir_body_str(j, "display_name", u->display_name, sizeof(u->display_name), err,
			esz) < 0 ||
	    pl_dir_body_str(j, "groups", u->groups, sizeof(u->groups), err, esz) < 0 ||
	    body_list(j, "emails", emails, PL_DIR_MAX_EMAILS, &ne, err, esz) < 0 ||
	    body_list(j, "badges", badges, PL_DIR_MAX_BADGES, &nb, err, esz) < 0)
		return -1;
	u->nemails = ne;
	for (int i = 0; i < ne; i++)
		pl_strlcpy(u->emails[i], emails[i], sizeof(u->emails[i]));
	u->nbadges = 0;
	for (int i = 0; i < nb; i++)
		if (pl_dir_user_add_badge(u, badges[i], err, esz) < 0)
			return -1;
	return 0;
}

int pl_dir_body_printer(json_t *j, int with_name, pl_dir_printer_t *p, char *err, size_t esz)
{
	if ((with_name && pl_dir_body_str(j, "name", p->name, sizeof(p->name), err, esz) < 0) ||
	    pl_dir_body_str(j, "uri", p->uri, sizeof(p->uri), err, esz) < 0 ||
	    pl_dir_body_str(j, "location", p->location, sizeof(p->location), err, esz) < 0 ||
	    pl_dir_body_str(j, "formats", p->formats, sizeof(p->formats), err, esz) < 0 ||
	    pl_dir_body_str(j, "email", p->email, sizeof(p->email), err, esz) < 0)
		return -1;
	json_t *g = json_object_get(j, "guest");
	if (g && !json_is_null(g) && !json_is_boolean(g))
		return fail(err, esz, "\"guest\" must be true or false");
	p->guest = json_is_true(g);
	if (!p->name[0] || !p->uri[0])
		return fail(err, esz, "a printer needs a \"name\" and a \"uri\"");
	return 0;
}

int pl_dir_body_reader(json_t *j, int with_name, pl_dir_reader_t *r, char *err, size_t esz)
{
	char preset[64];
	pl_badge_format_t fmt;
	pl_err_t e;
	if ((with_name && pl_dir_body_str(j, "name", r->name, sizeof(r->name), err, esz) < 0) ||
	    pl_dir_body_str(j, "address", r->address, sizeof(r->address), err, esz) < 0 ||
	    pl_dir_body_str(j, "direction", r->direction, sizeof(r->direction), err, esz) < 0 ||
	    pl_dir_body_str(j, "printer", r->printer, sizeof(r->printer), err, esz) < 0 ||
	    pl_dir_body_str(j, "mode", r->mode, sizeof(r->mode), err, esz) < 0 ||
	    pl_dir_body_str(j, "preset", preset, sizeof(preset), err, esz) < 0)
		return -1;
	/* The format as a JSON object, or that object as a string. */
	json_t *jf = json_object_get(j, "format");
	if (json_is_object(jf)) {
		char *s = json_dumps(jf, JSON_COMPACT);
		size_t n = s ? strlen(s) : 0;
		if (n && n < sizeof(r->format))
			pl_strlcpy(r->format, s, sizeof(r->format));
		free(s);
		if (!n || n >= sizeof(r->format))
			return fail(err, esz, "\"format\" is too long");
	} else if (pl_dir_body_str(j, "format", r->format, sizeof(r->format), err, esz) < 0) {
		return -1;
	}
	json_t *port = json_object_get(j, "port");
	if (port && !json_is_null(port) &&
	    (!json_is_integer(port) || json_integer_value(port) < 0 ||
	     json_integer_value(port) > 65535))
		return fail(err, esz, "\"port\" must be a number from 1 to 65535");
	r->port = port && json_is_integer(port) ? (int)json_integer_value(port) : 0;
	if (!r->direction[0])
		pl_strlcpy(r->direction, "connect", sizeof(r->direction));
	if (!r->mode[0])
		pl_strlcpy(r->mode, "most-recent", sizeof(r->mode));
	if (!with_name && (!r->address[0] || !r->printer[0]))
		return fail(err, esz, "a reader needs an \"address\" and a \"printer\"");
	if (!r->name[0] || !r->address[0] || !r->printer[0])
		return fail(err, esz, "a reader needs a \"name\", an \"address\" and a \"printer\"");
	if (preset[0] && r->format[0])
		return fail(err, esz, "give a \"preset\" or a \"format\", not both");
	if (!r->format[0]) {
		json_t *pj = json_pack("{s:s}", "preset", preset[0] ? preset : "elatec-tcpconv2");
		char *s = pj ? json_dumps(pj, JSON_COMPACT) : NULL;
		pl_strlcpy(r->format, s ? s : "", sizeof(r->format));
		free(s);
		json_decref(pj);
	}
	if (pl_badge_format_parse(r->format, &fmt, &e) < 0)
		return fail(err, esz, "%s", e.msg);
	return 0;
}

int pl_dir_body_sync_key(const char *p, size_t n, int *remove, char *key, size_t ksz)
{
	static const char rm[] = "{\"remove\":\"", ky[] = "{\"key\":\"";
	size_t pre = 0;
	*remove = 0;
	if (n > sizeof(rm) - 1 && memcmp(p, rm, sizeof(rm) - 1) == 0) {
		pre = sizeof(rm) - 1;
		*remove = 1;
	} else if (n > sizeof(ky) - 1 && memcmp(p, ky, sizeof(ky) - 1) == 0) {
		pre = sizeof(ky) - 1;
	} else {
		return 0;
	}
	const char *q = memchr(p + pre, '"', n - pre);
	size_t kl = q ? (size_t)(q - (p + pre)) : 0;
	if (!q || kl == 0 || kl >= ksz || memchr(p + pre, '\\', kl) || memchr(p + pre, '\0', kl))
		return 0;
	for (size_t i = 0; i < kl; i++)
		if ((unsigned char)p[pre + i] < 0x20)
			return 0; /* JSON would refuse it */
	size_t rest = n - (size_t)(q - p);
	/* no escape anywhere: "\\u0072emove" is a "remove" too */
	if (*remove ? rest != 2 || q[1] != '}'
		    : memmem(q, rest, "\"remove\"", 8) != NULL || memchr(q, '\\', rest) != NULL)
		return 0;
	memcpy(key, p + pre, kl);
	key[kl] = '\0';
	return 1;
}

/* ---- pl_dir_body_sync_put: a cursor over the line ---- */

typedef struct {
	const char *p;
	size_t n, pos;
} fast_t;

static int fast_lit(fast_t *f, const char *lit)
{
	size_t l = strlen(lit);
	if (f->n - f->pos < l || memcmp(f->p + f->pos, lit, l) != 0)
		return -1;
	f->pos += l;
	return 0;
}

/* A string's bytes up to its closing quote (the opening one read), into
 * out when shorter than sz (pl_dir_body_str refuses the others). */
static int fast_str(fast_t *f, char *out, size_t sz)
{
	const char *q = memchr(f->p + f->pos, '"', f->n - f->pos);
	size_t l = q ? (size_t)(q - (f->p + f->pos)) : 0;
	if (!q || l >= sz)
		return -1;
	memcpy(out, f->p + f->pos, l);
	out[l] = '\0';
	f->pos += l + 1;
	return 0;
}

/* "[]" or "[\"a\",\"b\"]": body_list's items (empty ones skipped). */
static int fast_list(fast_t *f, char items[][256], int max, int *n)
{
	char one[256];
	*n = 0;
	if (fast_lit(f, "[") < 0)
		return -1;
	if (fast_lit(f, "]") == 0)
		return 0;
	for (;;) {
		if (fast_lit(f, "\"") < 0 || fast_str(f, one, sizeof(one)) < 0)
			return -1;
		if (one[0]) {
			if (*n == max)
				return -1;
			memcpy(items[(*n)++], one, sizeof(one));
		}
		if (fast_lit(f, "]") == 0)
			return 0;
		if (fast_lit(f, ",") < 0)
			return -1;
	}
}

int pl_dir_body_sync_put(const char *line, size_t n, char *key, size_t ksz, pl_dir_user_t *u)
{
	char emails[PL_DIR_MAX_EMAILS][256], badges[PL_DIR_MAX_BADGES][256], err[300];
	int ne, nb;
	fast_t f = { line, n, 0 };
	/* printable ASCII: no escape, no control character, no UTF-8 to
	 * validate (a line with any of them takes the JSON way) */
	for (size_t i = 0; i < n; i++)
		if (line[i] < 0x20 || line[i] > 0x7e || line[i] == '\\')
			return 0;
	if (fast_lit(&f, "{\"key\":\"") < 0 || fast_str(&f, key, ksz) < 0 || !key[0] ||
	    fast_lit(&f, ",\"username\":\"") < 0 ||
	    fast_str(&f, u->username, sizeof(u->username)) < 0 ||
	    fast_lit(&f, ",\"display_name\":\"") < 0 ||
	    fast_str(&f, u->display_name, sizeof(u->display_name)) < 0 ||
	    fast_lit(&f, ",\"groups\":\"") < 0 || fast_str(&f, u->groups, sizeof(u->groups)) < 0 ||
	    fast_lit(&f, ",\"emails\":") < 0 || fast_list(&f, emails, PL_DIR_MAX_EMAILS, &ne) < 0 ||
	    fast_lit(&f, ",\"badges\":") < 0 || fast_list(&f, badges, PL_DIR_MAX_BADGES, &nb) < 0 ||
	    fast_lit(&f, "}") < 0 || f.pos != n)
		return 0;
	u->nemails = ne;
	for (int i = 0; i < ne; i++)
		pl_strlcpy(u->emails[i], emails[i], sizeof(u->emails[i]));
	u->nbadges = 0;
	for (int i = 0; i < nb; i++)
		if (pl_dir_user_add_badge(u, badges[i], err, sizeof(err)) < 0)
			return 0;
	return 1;
}
