/* Request bodies and texts read into our types: the parsers of what a
 * browser (or anything that reaches port 8443) sends, kept apart from
 * libmicrohttpd and the request plumbing so that one libFuzzer target
 * (tests/fuzz/fuzz_console_body.c) runs them all, with the directory
 * records' parsers that plsc-directory shares (lib/directory/pl_dirbody.h).
 * Every function answers 0 or -1 with a sentence in err for the 400
 * answer; nothing is stored. */
#include "body.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int cs_body_login(json_t *j, char *user, size_t usz, char *pw, size_t psz, char *err,
		  size_t esz)
{
	json_t *u = json_object_get(j, "username"), *p = json_object_get(j, "password");
	if (!json_is_string(u) || !json_is_string(p) || !json_string_length(u))
		return fail(err, esz, "a login needs \"username\" and \"password\" strings");
	if (pl_dir_body_str(j, "username", user, usz, err, esz) < 0 ||
	    pl_dir_body_str(j, "password", pw, psz, err, esz) < 0)
		return -1;
	return 0;
}

/* The length of a valid UTF-8 sequence at p (at most n bytes), or 0. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
	unsigned c = p[0];
	size_t k;
	uint32_t cp;
	if (c >= 0x01 && c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF) {
		k = 2;
		cp = c & 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		k = 3;
		cp = c & 0x0F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		k = 4;
		cp = c & 0x07;
	} else {
		return 0; /* NUL, a continuation byte, 0xC0/0xC1, 0xF5.. */
	}
	if (k > n)
		return 0;
	for (size_t i = 1; i < k; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3F);
	}
	/* Overlong forms, surrogates, beyond U+10FFFF. */
	if ((k == 3 && cp < 0x800) || (k == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
	    (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return k;
}

json_t *cs_text_json(const char *p, size_t n)
{
	char *out = malloc(n * 3 + 1);
	size_t o = 0;
	if (!out)
		return json_string("");
	for (size_t i = 0; i < n;) {
		size_t k = utf8_seq((const unsigned char *)p + i, n - i);
		if (k) {
			memcpy(out + o, p + i, k);
			o += k;
			i += k;
		} else {
			memcpy(out + o, "\xEF\xBF\xBD", 3); /* U+FFFD */
			o += 3;
			i++;
		}
	}
	json_t *s = json_stringn(out, o);
	free(out);
	return s ? s : json_string("");
}

json_t *cs_history_json(const char *text, size_t len)
{
	json_t *events = json_array();
	const char *p = text, *end = text + len;
	while (events && p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		json_t *ev = json_loadb(p, n, JSON_REJECT_DUPLICATES, NULL);
		if (json_is_object(ev))
			json_array_insert_new(events, 0, ev); /* newest first */
		else
			json_decref(ev);
		p += n + 1;
	}
	return events;
}
