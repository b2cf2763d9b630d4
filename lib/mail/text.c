/* Bytes of a message to text: transfer decodings (base64, quoted-
 * printable), charsets to UTF-8, RFC 2047 encoded words. All bounded by
 * the caller's output limit. */
#include <ctype.h>
#include <errno.h>
#include <iconv.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mail-private.h"
#include "pl_util.h"

int pl_mail_buf_add(pl_mail_buf_t *b, const void *s, size_t n)
{
	if (n > b->max - b->len || b->len > b->max) {
		b->over = 1;
		return -1;
	}
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *np = realloc(b->p, cap);
		if (!np) {
			b->nomem = 1;
			return -1;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
	return 0;
}

void pl_mail_buf_free(pl_mail_buf_t *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

static int b64_val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int pl_mail_b64_decode(const uint8_t *in, size_t n, pl_mail_buf_t *out)
{
	uint32_t acc = 0;
	int bits = 0;
	uint8_t chunk[512];
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (in[i] == '=')
			break; /* padding: the rest is not data */
		int v = b64_val(in[i]);
		if (v < 0)
			continue;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			chunk[k++] = (uint8_t)(acc >> bits);
			if (k == sizeof(chunk)) {
				if (pl_mail_buf_add(out, chunk, k) < 0)
					return -1;
				k = 0;
			}
		}
	}
	return k ? pl_mail_buf_add(out, chunk, k) : pl_mail_buf_add(out, "", 0);
}

int pl_mail_qp_decode(const uint8_t *in, size_t n, pl_mail_buf_t *out)
{
	uint8_t chunk[512];
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = in[i];
		if (c == '=') {
			/* soft line break: "=" then optional white space, CRLF or LF */
			size_t j = i + 1;
			while (j < n && (in[j] == ' ' || in[j] == '\t'))
				j++;
			if (j < n && in[j] == '\r')
				j++;
			if (j < n && in[j] == '\n') {
				i = j;
				continue;
			}
			if (j >= n) {
				i = j;
				continue;
			}
			if (i + 2 < n + 0 && pl_hex_digit(in[i + 1]) >= 0 &&
			    pl_hex_digit(in[i + 2]) >= 0) {
				c = (uint8_t)(pl_hex_digit(in[i + 1]) * 16 + pl_hex_digit(in[i + 2]));
				i += 2;
			} /* else: a lone "=" stays (robustness, RFC 2045 6.7 note) */
		}
		chunk[k++] = c;
		if (k == sizeof(chunk)) {
			if (pl_mail_buf_add(out, chunk, k) < 0)
				return -1;
			k = 0;
		}
	}
	return k ? pl_mail_buf_add(out, chunk, k) : pl_mail_buf_add(out, "", 0);
}

/* Windows-1252 0x80..0x9f (0 = undefined: U+FFFD). */
static const uint16_t cp1252[32] = {
	0x20ac, 0, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021,
	0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017d, 0,
	0, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
	0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0, 0x017e, 0x0178,
};

static uint32_t latin9(uint8_t c)
{
	switch (c) {
	case 0xa4: return 0x20ac;
	case 0xa6: return 0x0160;
	case 0xa8: return 0x0161;
	case 0xb4: return 0x017d;
	case 0xb8: return 0x017e;
	case 0xbc: return 0x0152;
	case 0xbd: return 0x0153;
	case 0xbe: return 0x0178;
	default: return c;
	}
}

static size_t utf8_put(uint32_t u, char o[4])
{
	if (u < 0x80) {
		o[0] = (char)u;
		return 1;
	}
	if (u < 0x800) {
		o[0] = (char)(0xc0 | (u >> 6));
		o[1] = (char)(0x80 | (u & 0x3f));
		return 2;
	}
	if (u < 0x10000) {
		o[0] = (char)(0xe0 | (u >> 12));
		o[1] = (char)(0x80 | ((u >> 6) & 0x3f));
		o[2] = (char)(0x80 | (u & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | (u >> 18));
	o[1] = (char)(0x80 | ((u >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((u >> 6) & 0x3f));
	o[3] = (char)(0x80 | (u & 0x3f));
	return 4;
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when invalid. */
static size_t utf8_valid(const uint8_t *s, size_t n)
{
	uint8_t c = s[0];
	size_t need;
	uint32_t u;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		need = 2;
		u = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 3;
		u = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 4;
		u = c & 0x07;
	} else {
		return 0;
	}
	if (n < need)
		return 0;
	for (size_t i = 1; i < need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		u = (u << 6) | (s[i] & 0x3f);
	}
	if ((need == 3 && (u < 0x800 || (u >= 0xd800 && u <= 0xdfff))) ||
	    (need == 4 && (u < 0x10000 || u > 0x10ffff)))
		return 0;
	return need;
}

static int from_utf8(const uint8_t *in, size_t n, pl_mail_buf_t *out)
{
	size_t i = 0, start = 0;
	while (i < n) {
		size_t l = utf8_valid(in + i, n - i);
		if (l) {
			i += l;
			continue;
		}
		if (pl_mail_buf_add(out, in + start, i - start) < 0 ||
		    pl_mail_buf_add(out, "\xef\xbf\xbd", 3) < 0)
			return -1;
		i++;
		start = i;
	}
	return pl_mail_buf_add(out, in + start, n - start);
}

/* 0 latin1, 1 latin9, 2 cp1252 */
static int from_8bit(int table, const uint8_t *in, size_t n, pl_mail_buf_t *out)
{
	char chunk[1024];
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		uint32_t u = in[i];
		if (table == 1)
			u = latin9(in[i]);
		else if (table == 2 && u >= 0x80 && u < 0xa0)
			u = cp1252[u - 0x80] ? cp1252[u - 0x80] : 0xfffd;
		k += utf8_put(u, chunk + k);
		if (k > sizeof(chunk) - 4) {
			if (pl_mail_buf_add(out, chunk, k) < 0)
				return -1;
			k = 0;
		}
	}
	return pl_mail_buf_add(out, chunk, k);
}

static int via_iconv(iconv_t cd, const uint8_t *in, size_t n, pl_mail_buf_t *out)
{
	char chunk[1024];
	char *ip = (char *)(uintptr_t)in;
	size_t il = n;
	while (il > 0) {
		char *op = chunk;
		size_t ol = sizeof(chunk);
		size_t rc = iconv(cd, &ip, &il, &op, &ol);
		if (pl_mail_buf_add(out, chunk, (size_t)(op - chunk)) < 0)
			return -1;
		if (rc == (size_t)-1 && errno != E2BIG) {
			/* invalid or truncated input: one replacement, go on */
			if (pl_mail_buf_add(out, "\xef\xbf\xbd", 3) < 0)
				return -1;
			ip++;
			il--;
		}
	}
	return pl_mail_buf_add(out, "", 0);
}

int pl_mail_to_utf8(const char *cs, const uint8_t *in, size_t n, pl_mail_buf_t *out)
{
	if (!cs || !*cs || !strcasecmp(cs, "utf-8") || !strcasecmp(cs, "utf8") ||
	    !strcasecmp(cs, "us-ascii") || !strcasecmp(cs, "ascii"))
		return from_utf8(in, n, out);
	if (!strcasecmp(cs, "iso-8859-1") || !strcasecmp(cs, "latin1"))
		return from_8bit(0, in, n, out);
	if (!strcasecmp(cs, "iso-8859-15"))
		return from_8bit(1, in, n, out);
	if (!strcasecmp(cs, "windows-1252") || !strcasecmp(cs, "cp1252"))
		return from_8bit(2, in, n, out);
	/* iconv only with a name that looks like a charset: no '/' (a
	 * gconv path trick) and bounded. */
	size_t l = strlen(cs);
	int sane = l < 40;
	for (size_t i = 0; sane && i < l; i++)
		sane = isalnum((unsigned char)cs[i]) || strchr("-_.:", cs[i]);
	if (sane) {
		iconv_t cd = iconv_open("UTF-8", cs);
		if (cd != (iconv_t)-1) {
			int rc = via_iconv(cd, in, n, out);
			iconv_close(cd);
			return rc;
		}
	}
	return from_8bit(0, in, n, out);
}

/* Append text to out, dropping control characters (tabs become spaces),
 * stopping before a character that would not fit. */
static void put_clean(const char *s, size_t n, char *out, size_t outsz, size_t *o)
{
	size_t i = 0;
	while (i < n) {
		size_t l = utf8_valid((const uint8_t *)s + i, n - i);
		if (!l) {
			i++;
			continue;
		}
		unsigned char c = (unsigned char)s[i];
		if (l == 1 && (c < 0x20 || c == 0x7f)) {
			if (c == '\t' && *o + 1 < outsz)
				out[(*o)++] = ' ';
			i++;
			continue;
		}
		/* C1 controls U+0080..U+009F */
		if (l == 2 && c == 0xc2 && (unsigned char)s[i + 1] < 0xa0) {
			i += 2;
			continue;
		}
		if (*o + l >= outsz)
			return;
		memcpy(out + *o, s + i, l);
		*o += l;
		i += l;
	}
}

/* One encoded word at s ("=?cs?e?text?="): its decoded UTF-8 in dec and
 * its length in *used; 0, or -1 when s is not one. */
static int encoded_word(const char *s, pl_mail_buf_t *dec, size_t *used)
{
	if (s[0] != '=' || s[1] != '?')
		return -1;
	const char *cs = s + 2;
	const char *q1 = strchr(cs, '?');
	if (!q1 || q1 - cs > 60 || q1 == cs)
		return -1;
	char enc = (char)toupper((unsigned char)q1[1]);
	if ((enc != 'B' && enc != 'Q') || q1[2] != '?')
		return -1;
	const char *txt = q1 + 3;
	/* an encoded word is at most 75 characters (RFC 2047 2); look a
	 * little further, never to the end of a long field for each "=?" */
	size_t tl = strnlen(txt, 1002);
	const char *end = memmem(txt, tl, "?=", 2);
	if (!end || end - txt > 1000)
		return -1;
	for (const char *p = txt; p < end; p++)
		if (*p == ' ' || *p == '\t')
			return -1;
	char charset[64];
	memcpy(charset, cs, (size_t)(q1 - cs));
	charset[q1 - cs] = 0;
	char *star = strchr(charset, '*'); /* RFC 2231 language */
	if (star)
		*star = 0;
	pl_mail_buf_t raw = {.max = 1024};
	int rc;
	if (enc == 'B') {
		rc = pl_mail_b64_decode((const uint8_t *)txt, (size_t)(end - txt), &raw);
	} else {
		char tmp[1024];
		size_t n = (size_t)(end - txt);
		for (size_t i = 0; i < n; i++)
			tmp[i] = txt[i] == '_' ? ' ' : txt[i];
		rc = pl_mail_qp_decode((const uint8_t *)tmp, n, &raw);
	}
	if (rc == 0)
		rc = pl_mail_to_utf8(charset, (const uint8_t *)(raw.p ? raw.p : ""), raw.len, dec);
	pl_mail_buf_free(&raw);
	*used = (size_t)(end + 2 - s);
	return rc < 0 ? -1 : 0;
}

void pl_mail_decode_words(const char *s, char *out, size_t outsz)
{
	size_t o = 0;
	int last_word = 0; /* white space between two encoded words vanishes */
	size_t n = strlen(s);
	size_t i = 0;
	if (!outsz)
		return;
	while (i < n && o + 1 < outsz) {
		if (s[i] == '=' && s[i + 1] == '?') {
			pl_mail_buf_t dec = {.max = 4096};
			size_t used;
			if (encoded_word(s + i, &dec, &used) == 0) {
				put_clean(dec.p ? dec.p : "", dec.len, out, outsz, &o);
				pl_mail_buf_free(&dec);
				i += used;
				last_word = 1;
				continue;
			}
			pl_mail_buf_free(&dec);
		}
		size_t j = i;
		while (j < n && (s[j] == ' ' || s[j] == '\t'))
			j++;
		if (j > i) {
			if (last_word && s[j] == '=' && s[j + 1] == '?') {
				pl_mail_buf_t dec = {.max = 4096};
				size_t used;
				int ok = encoded_word(s + j, &dec, &used) == 0;
				pl_mail_buf_free(&dec);
				if (ok) {
					i = j;
					continue;
				}
			}
			put_clean(" ", 1, out, outsz, &o);
			i = j;
			last_word = 0;
			continue;
		}
		/* a run of ordinary text: raw UTF-8, or else Latin-1 */
		while (j < n && s[j] != ' ' && s[j] != '\t' && !(s[j] == '=' && s[j + 1] == '?'))
			j++;
		if (j == i)
			j++;
		pl_mail_buf_t dec = {.max = 4 * (j - i) + 16};
		int valid = 1;
		for (size_t k = i; k < j && valid;) {
			size_t l = utf8_valid((const uint8_t *)s + k, j - k);
			valid = l > 0;
			k += l;
		}
		if (valid)
			put_clean(s + i, j - i, out, outsz, &o);
		else if (from_8bit(0, (const uint8_t *)s + i, j - i, &dec) == 0)
			put_clean(dec.p, dec.len, out, outsz, &o);
		pl_mail_buf_free(&dec);
		i = j;
		last_word = 0;
	}
	out[o] = 0;
}
