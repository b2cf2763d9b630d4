/* pl_badge: badge-reader frames and canonical badge IDs.
 *
 * Everything here parses bytes from the network (a badge reader is a plain
 * TCP device), so every buffer is bounded and every input is checked before
 * it is used. Errors come back as text in pl_err_t; nothing is logged.
 *
 * Decisions this file takes (the spec in pl_badge.h leaves them open):
 *
 * - Line ends. CR and LF formats split on that one byte. The CRLF format
 *   treats CR, LF and CRLF all as line ends: a CR ends the line and the LF
 *   that follows it ends an empty line, which is ignored. So a reader set to
 *   "CR" or "LF" by mistake still works with a CRLF format.
 * - In CR and LF formats, the other line-end byte is not special: it is
 *   whitespace, which decoding strips at the edges of a frame. A CR-format
 *   reader that really sends CRLF thus still decodes ("\n123" -> "123").
 * - Noise: a frame holding a control character other than whitespace (NUL,
 *   ESC, ...) or DEL is noise ("control character"), as is a frame that
 *   does not decode (the decoder's message is the reason). A line longer
 *   than max_len is reported once ("frame too long") and then dropped up to
 *   the next line end. Lines that are empty or only whitespace are ignored
 *   without a report (keep-alives, the LF of a CRLF). Fixed-length frames
 *   always get a report: a blank one is noise ("empty badge ID"), and
 *   max_len does not apply to them (fixed_len is their length).
 * - pl_badge_reader_init takes any format: a max_len of 0 means the
 *   default (64), and max_len and fixed_len are held to
 *   1..PL_BADGE_FRAME_MAX-1, the size of the frame buffer.
 * - A format described without "preset" starts from: CRLF (so CR, LF and
 *   CRLF all work), hex, most significant byte first, max_len 64.
 * - Decoding strips whitespace, then the prefix and suffix when present,
 *   then whitespace again ("ID: 1234" with prefix "ID:"). Prefix and suffix
 *   are optional: a frame without them is still decoded.
 * - The byte order applies to hex IDs only. A decimal ID is a number; there
 *   are no bytes to reverse.
 * - IDs longer than PL_BADGE_DIGITS_MAX digits are refused: 40 hex digits
 *   are 160 bits, more than any card number we know of (the longest, ISO
 *   14443 10-byte UIDs, are 20 hex digits).
 * - Masking (for logs): "****1a2b" keeps the last 4 characters; an ID of 4
 *   characters or fewer shows only its last character ("***b"), so a short
 *   ID is never printed whole unless it is a single character. */
#include "pl_badge.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "pl_util.h"

#define PL_BADGE_DIGITS_MAX 40
/* 10^40 < 2^133: 17 bytes hold any 40-digit decimal number. */
#define DEC_BYTES 17
#define DEFAULT_MAX_LEN 64

static int fail(pl_err_t *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int fail(pl_err_t *err, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL) {
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return -1;
}

static int is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' ||
	       c == '\r';
}

/* A control character that makes a frame noise: C0 except whitespace,
 * and DEL. */
static int is_noise_ctl(unsigned char c)
{
	return (c < 0x20 && !is_space(c)) || c == 0x7f;
}

/* A byte for a message: printable as itself, otherwise as \xNN. */
static const char *show_char(unsigned char c, char buf[8])
{
	if (c > 0x20 && c < 0x7f)
		snprintf(buf, 8, "'%c'", c);
	else
		snprintf(buf, 8, "\\x%02x", c);
	return buf;
}

/* ---- presets and formats ---------------------------------------------- */

static void format_default(pl_badge_format_t *f)
{
	memset(f, 0, sizeof(*f));
	f->term = PL_BADGE_TERM_CRLF;
	f->base = PL_BADGE_HEX;
	f->order = PL_BADGE_MSB_FIRST;
	f->max_len = DEFAULT_MAX_LEN;
}

int pl_badge_preset(const char *name, pl_badge_format_t *f, pl_err_t *err)
{
	if (name == NULL || f == NULL)
		return fail(err, "badge preset: no name");
	format_default(f);
	if (strcmp(name, "elatec-tcpconv2") == 0) {
		/* ELATEC TCPConv2 in its default output mode, "ASCII hex +
		 * CR LF": the card number as hex text, most significant byte
		 * first, each read ended by CR LF, nothing before or after. */
		f->term = PL_BADGE_TERM_CRLF;
		f->base = PL_BADGE_HEX;
		f->order = PL_BADGE_MSB_FIRST;
		return 0;
	}
	if (strcmp(name, "rfideas-e241") == 0) {
		/* rf IDEAS Ethernet 241 (E-241) by default sends what its USB
		 * readers would type as keystrokes: the card number in
		 * decimal followed by Enter (CR), no prefix or suffix. The
		 * byte order does not apply to decimal numbers. */
		f->term = PL_BADGE_TERM_CR;
		f->base = PL_BADGE_DEC;
		f->order = PL_BADGE_MSB_FIRST;
		return 0;
	}
	return fail(err,
		    "unknown badge reader preset \"%.64s\" (known: "
		    "elatec-tcpconv2, rfideas-e241)",
		    name);
}

/* A string value of key; -1 with a message naming the key otherwise. */
static int json_str(json_t *v, const char *key, const char **out,
		    pl_err_t *err)
{
	if (!json_is_string(v))
		return fail(err, "badge format: %s: expected a string", key);
	*out = json_string_value(v);
	if (strlen(*out) != json_string_length(v))
		return fail(err, "badge format: %s: NUL in string", key);
	return 0;
}

static int json_len(json_t *v, const char *key, size_t *out, pl_err_t *err)
{
	json_int_t i;

	if (!json_is_integer(v) || (i = json_integer_value(v)) < 1 ||
	    i > PL_BADGE_FRAME_MAX - 1)
		return fail(err,
			    "badge format: %s: expected an integer between 1 "
			    "and %d",
			    key, PL_BADGE_FRAME_MAX - 1);
	*out = (size_t)i;
	return 0;
}

/* prefix / suffix: shorter than the field, printable. */
static int json_affix(json_t *v, const char *key, char *dst, size_t dstsz,
		      pl_err_t *err)
{
	const char *s;

	if (json_str(v, key, &s, err) < 0)
		return -1;
	if (strlen(s) >= dstsz)
		return fail(err,
			    "badge format: %s: too long (at most %zu "
			    "characters)",
			    key, dstsz - 1);
	for (const char *p = s; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return fail(err,
				    "badge format: %s: control characters "
				    "are not allowed",
				    key);
	pl_strlcpy(dst, s, dstsz);
	return 0;
}

/* The choice of key among names; -1 with the expected ones listed. */
static int json_choice(json_t *v, const char *key, const char *const *names,
		       size_t n, const char *expect, int *out, pl_err_t *err)
{
	const char *s;

	if (json_is_string(v)) {
		s = json_string_value(v);
		for (size_t i = 0; i < n; i++)
			if (strcmp(s, names[i]) == 0) {
				*out = (int)i;
				return 0;
			}
	}
	return fail(err, "badge format: %s: expected %s", key, expect);
}

int pl_badge_format_parse(const char *json, pl_badge_format_t *f,
			  pl_err_t *err)
{
	static const char *const terms[] = { "cr", "lf", "crlf", "none" };
	static const char *const bases[] = { "hex", "dec" };
	static const char *const orders[] = { "msb", "lsb" };
	pl_badge_format_t nf;
	json_error_t jerr;
	json_t *root, *v;
	const char *key, *s;
	int have_len = 0, choice = 0, rc = -1;
	size_t len = 0;

	if (json == NULL || f == NULL)
		return fail(err, "badge format: no description");
	root = json_loads(json, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL)
		return fail(err, "badge format: %d:%d: %s", jerr.line,
			    jerr.column, jerr.text);
	if (!json_is_object(root)) {
		fail(err, "badge format: expected a JSON object");
		goto out;
	}
	format_default(&nf);
	/* The preset first, whatever its place: the other keys override. */
	if ((v = json_object_get(root, "preset")) != NULL) {
		if (json_str(v, "preset", &s, err) < 0)
			goto out;
		if (pl_badge_preset(s, &nf, err) < 0) {
			char msg[PL_ERR_MAX];

			pl_strlcpy(msg, err != NULL ? err->msg : "", sizeof(msg));
			fail(err, "badge format: preset: %s", msg);
			goto out;
		}
	}
	json_object_foreach(root, key, v) {
		if (strcmp(key, "preset") == 0)
			continue;
		if (strcmp(key, "terminator") == 0) {
			if (json_choice(v, key, terms, PL_ARRAY_LEN(terms),
					"\"cr\", \"lf\", \"crlf\" or \"none\"",
					&choice, err) < 0)
				goto out;
			nf.term = choice == 0	? PL_BADGE_TERM_CR
				  : choice == 1 ? PL_BADGE_TERM_LF
				  : choice == 2 ? PL_BADGE_TERM_CRLF
						: PL_BADGE_TERM_FIXED;
		} else if (strcmp(key, "length") == 0) {
			if (json_len(v, key, &len, err) < 0)
				goto out;
			have_len = 1;
		} else if (strcmp(key, "max_length") == 0) {
			if (json_len(v, key, &nf.max_len, err) < 0)
				goto out;
		} else if (strcmp(key, "prefix") == 0) {
			if (json_affix(v, key, nf.prefix, sizeof(nf.prefix),
				       err) < 0)
				goto out;
		} else if (strcmp(key, "suffix") == 0) {
			if (json_affix(v, key, nf.suffix, sizeof(nf.suffix),
				       err) < 0)
				goto out;
		} else if (strcmp(key, "base") == 0) {
			if (json_choice(v, key, bases, PL_ARRAY_LEN(bases),
					"\"hex\" or \"dec\"", &choice, err) < 0)
				goto out;
			nf.base = choice == 0 ? PL_BADGE_HEX : PL_BADGE_DEC;
		} else if (strcmp(key, "order") == 0) {
			if (json_choice(v, key, orders, PL_ARRAY_LEN(orders),
					"\"msb\" or \"lsb\"", &choice, err) < 0)
				goto out;
			nf.order = choice == 0 ? PL_BADGE_MSB_FIRST
					       : PL_BADGE_LSB_FIRST;
		} else {
			fail(err,
			     "badge format: %.64s: unknown key (known: preset, "
			     "terminator, length, prefix, suffix, base, order, "
			     "max_length)",
			     key);
			goto out;
		}
	}
	/* "length" belongs to terminator "none" and nothing else, so a
	 * forgotten terminator is not silently read as a line format. */
	if (nf.term == PL_BADGE_TERM_FIXED && !have_len) {
		fail(err, "badge format: length: required with terminator "
			  "\"none\"");
		goto out;
	}
	if (nf.term != PL_BADGE_TERM_FIXED && have_len) {
		fail(err, "badge format: length: only with terminator "
			  "\"none\"");
		goto out;
	}
	nf.fixed_len = have_len ? len : 0;
	*f = nf;
	rc = 0;
out:
	json_decref(root);
	return rc;
}

/* ---- decoding --------------------------------------------------------- */

static void trim(const char **p, size_t *n)
{
	while (*n > 0 && is_space((unsigned char)**p)) {
		(*p)++;
		(*n)--;
	}
	while (*n > 0 && is_space((unsigned char)(*p)[*n - 1]))
		(*n)--;
}

/* Bytes (big-endian, n of them) to canonical hex: lowercase, no leading
 * zeros, "0" for zero. */
static void bytes_to_id(const unsigned char *b, size_t n,
			char id[PL_BADGE_MAX + 1])
{
	static const char digits[] = "0123456789abcdef";
	size_t o = 0;
	int started = 0;

	for (size_t i = 0; i < n && o + 2 <= PL_BADGE_MAX; i++) {
		unsigned hi = b[i] >> 4, lo = b[i] & 0x0f;

		if (started || hi != 0) {
			id[o++] = digits[hi];
			started = 1;
		}
		if (started || lo != 0) {
			id[o++] = digits[lo];
			started = 1;
		}
	}
	if (o == 0)
		id[o++] = '0';
	id[o] = '\0';
}

/* Digits (already checked: 1..PL_BADGE_DIGITS_MAX of the base) to the
 * canonical ID. */
static void digits_to_id(const char *s, size_t n, pl_badge_base_t base,
			 pl_badge_order_t order, char id[PL_BADGE_MAX + 1])
{
	unsigned char b[PL_BADGE_DIGITS_MAX / 2 + 1];
	size_t nb;

	memset(b, 0, sizeof(b));
	if (base == PL_BADGE_DEC) {
		/* value = value * 10 + digit, over a big-endian byte array:
		 * any length, not just what fits a uint64_t. */
		for (size_t i = 0; i < n; i++) {
			unsigned carry = (unsigned)(s[i] - '0');

			for (size_t j = DEC_BYTES; j-- > 0;) {
				unsigned v = b[j] * 10u + carry;

				b[j] = (unsigned char)(v & 0xff);
				carry = v >> 8;
			}
		}
		bytes_to_id(b, DEC_BYTES, id);
		return;
	}
	/* Hex: digits into bytes, an odd count padded with a leading 0. */
	nb = (n + 1) / 2;
	for (size_t i = 0; i < n; i++) {
		size_t pos = i + (n & 1); /* position in the padded string */

		b[pos / 2] |= (unsigned char)(pl_hex_digit((unsigned char)s[i])
					      << (pos % 2 == 0 ? 4 : 0));
	}
	if (order == PL_BADGE_LSB_FIRST)
		for (size_t i = 0; i < nb / 2; i++) {
			unsigned char t = b[i];

			b[i] = b[nb - 1 - i];
			b[nb - 1 - i] = t;
		}
	bytes_to_id(b, nb, id);
}

/* Check the digits of s for base, then convert. */
static int decode_digits(const char *s, size_t n, pl_badge_base_t base,
			 pl_badge_order_t order, char id[PL_BADGE_MAX + 1],
			 pl_err_t *err)
{
	char cb[8];

	if (base != PL_BADGE_HEX && base != PL_BADGE_DEC)
		return fail(err, "badge ID: unknown base %d", (int)base);
	if (order != PL_BADGE_MSB_FIRST && order != PL_BADGE_LSB_FIRST)
		return fail(err, "badge ID: unknown byte order %d", (int)order);
	if (n == 0)
		return fail(err, "empty badge ID");
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		int ok = base == PL_BADGE_HEX ? pl_hex_digit(c) >= 0
					      : (c >= '0' && c <= '9');

		if (!ok)
			return fail(err,
				    "badge ID: %s at offset %zu is not a %s "
				    "digit",
				    show_char(c, cb), i,
				    base == PL_BADGE_HEX ? "hex" : "decimal");
	}
	if (n > PL_BADGE_DIGITS_MAX)
		return fail(err, "badge ID: %zu digits, at most %d", n,
			    PL_BADGE_DIGITS_MAX);
	digits_to_id(s, n, base, order, id);
	return 0;
}

int pl_badge_decode(const pl_badge_format_t *f, const char *frame, size_t n,
		    char id[PL_BADGE_MAX + 1], pl_err_t *err)
{
	size_t plen, slen;

	if (f == NULL || (frame == NULL && n > 0) || id == NULL)
		return fail(err, "badge ID: no frame");
	if (frame == NULL)
		frame = "";
	trim(&frame, &n);
	plen = strnlen(f->prefix, sizeof(f->prefix));
	slen = strnlen(f->suffix, sizeof(f->suffix));
	if (plen == sizeof(f->prefix) || slen == sizeof(f->suffix))
		return fail(err, "badge format: prefix or suffix too long");
	if (plen > 0 && n >= plen && memcmp(frame, f->prefix, plen) == 0) {
		frame += plen;
		n -= plen;
	}
	if (slen > 0 && n >= slen &&
	    memcmp(frame + n - slen, f->suffix, slen) == 0)
		n -= slen;
	trim(&frame, &n);
	return decode_digits(frame, n, f->base, f->order, id, err);
}

static int has_prefix_ci(const char *s, size_t n, const char *p)
{
	size_t pl = strlen(p);

	if (n < pl)
		return 0;
	for (size_t i = 0; i < pl; i++) {
		char c = s[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c != p[i])
			return 0;
	}
	return 1;
}

/* "0x1A2B", "hex:1A2B", "1a2b": hex, most significant byte first.
 * "dec:6699", "6699": decimal. Digits only means decimal: a hex ID made
 * of digits only must be written with "0x" or "hex:". The prefixes are
 * case-insensitive. */
int pl_badge_normalize(const char *text, char id[PL_BADGE_MAX + 1],
		       pl_err_t *err)
{
	const char *s = text;
	size_t n;
	pl_badge_base_t base = PL_BADGE_DEC;

	if (text == NULL || id == NULL)
		return fail(err, "badge ID: none given");
	n = strlen(s);
	trim(&s, &n);
	if (has_prefix_ci(s, n, "0x")) {
		s += 2;
		n -= 2;
		base = PL_BADGE_HEX;
	} else if (has_prefix_ci(s, n, "hex:")) {
		s += 4;
		n -= 4;
		base = PL_BADGE_HEX;
	} else if (has_prefix_ci(s, n, "dec:")) {
		s += 4;
		n -= 4;
	} else {
		for (size_t i = 0; i < n; i++)
			if (pl_hex_digit((unsigned char)s[i]) >= 10) {
				base = PL_BADGE_HEX;
				break;
			}
	}
	return decode_digits(s, n, base, PL_BADGE_MSB_FIRST, id, err);
}

void pl_badge_mask(const char *id, char *out, size_t outsz)
{
	size_t n, keep, o = 0;

	if (out == NULL || outsz == 0)
		return;
	if (id == NULL) {
		out[0] = '\0';
		return;
	}
	n = strlen(id);
	keep = n > 4 ? 4 : (n > 0 ? 1 : 0);
	for (size_t i = 0; i < n && o + 1 < outsz; i++)
		out[o++] = i < n - keep ? '*' : id[i];
	out[o] = '\0';
}

/* ---- the frame splitter ----------------------------------------------- */

void pl_badge_reader_init(pl_badge_reader_t *r, const pl_badge_format_t *f)
{
	memset(r, 0, sizeof(*r));
	if (f != NULL)
		r->fmt = *f;
	else
		format_default(&r->fmt);
	/* The buffer bounds what a format may ask for. */
	if (r->fmt.max_len == 0)
		r->fmt.max_len = DEFAULT_MAX_LEN;
	if (r->fmt.max_len > PL_BADGE_FRAME_MAX - 1)
		r->fmt.max_len = PL_BADGE_FRAME_MAX - 1;
	if (r->fmt.fixed_len == 0)
		r->fmt.fixed_len = 1;
	if (r->fmt.fixed_len > PL_BADGE_FRAME_MAX - 1)
		r->fmt.fixed_len = PL_BADGE_FRAME_MAX - 1;
}

/* A complete frame in r->buf: decode it, or say why it is noise. */
static void frame_done(pl_badge_reader_t *r, int blank_is_silent,
		       pl_badge_cb cb, void *arg)
{
	char id[PL_BADGE_MAX + 1];
	pl_err_t err;
	size_t len = r->len, i;

	r->len = 0;
	for (i = 0; i < len && is_space((unsigned char)r->buf[i]); i++)
		;
	if (i == len && blank_is_silent)
		return;
	for (i = 0; i < len; i++)
		if (is_noise_ctl((unsigned char)r->buf[i])) {
			char cbuf[8];

			snprintf(err.msg, sizeof(err.msg),
				 "control character %s in frame",
				 show_char((unsigned char)r->buf[i], cbuf));
			cb(arg, NULL, err.msg);
			return;
		}
	if (pl_badge_decode(&r->fmt, r->buf, len, id, &err) < 0)
		cb(arg, NULL, err.msg);
	else
		cb(arg, id, NULL);
}

static int is_term(const pl_badge_format_t *f, unsigned char c)
{
	switch (f->term) {
	case PL_BADGE_TERM_CR:
		return c == '\r';
	case PL_BADGE_TERM_LF:
		return c == '\n';
	case PL_BADGE_TERM_CRLF:
		return c == '\r' || c == '\n';
	default:
		return 0;
	}
}

void pl_badge_reader_feed(pl_badge_reader_t *r, const void *p, size_t n,
			  pl_badge_cb cb, void *arg)
{
	const unsigned char *b = p;

	if (r == NULL || cb == NULL || (p == NULL && n > 0))
		return;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = b[i];

		if (r->fmt.term == PL_BADGE_TERM_FIXED) {
			r->buf[r->len++] = (char)c;
			if (r->len >= r->fmt.fixed_len)
				frame_done(r, 0, cb, arg);
			continue;
		}
		if (is_term(&r->fmt, c)) {
			if (r->discarding)
				r->discarding = 0; /* reported already */
			else
				frame_done(r, 1, cb, arg);
			r->len = 0;
			continue;
		}
		if (r->discarding)
			continue;
		if (r->len >= r->fmt.max_len) {
			r->len = 0;
			r->discarding = 1;
			cb(arg, NULL, "frame too long");
			continue;
		}
		r->buf[r->len++] = (char)c;
	}
}
