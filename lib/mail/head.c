/* The header block of a message (RFC 5322, obsolete syntax included):
 * fields, unfolding, address lists, and pl_mail_head_parse, which the
 * service calls on every message before anything else. Pure functions
 * over a byte buffer, bounded: fuzz_mail_head drives them. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mail-private.h"
#include "pl_util.h"

size_t pl_mail_hdr_end(const uint8_t *msg, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (msg[i] != '\n')
			continue;
		/* a line start: empty line (LF or CRLF)? */
		if (i + 1 < len && msg[i + 1] == '\n')
			return i + 2;
		if (i + 2 < len && msg[i + 1] == '\r' && msg[i + 2] == '\n')
			return i + 3;
	}
	/* a message that starts with the empty line has no header */
	if (len >= 1 && msg[0] == '\n')
		return 1;
	if (len >= 2 && msg[0] == '\r' && msg[1] == '\n')
		return 2;
	return len;
}

void pl_mail_hdr_init(pl_mail_hdr_iter_t *it, const uint8_t *msg, size_t len)
{
	it->p = msg;
	it->len = pl_mail_hdr_end(msg, len);
	it->pos = 0;
}

/* The end of the line starting at pos (index of its LF, or len). */
static size_t line_end(const uint8_t *p, size_t len, size_t pos)
{
	const uint8_t *nl = memchr(p + pos, '\n', len - pos);
	return nl ? (size_t)(nl - p) : len;
}

int pl_mail_hdr_next(pl_mail_hdr_iter_t *it, const char **name, size_t *nlen,
		     const uint8_t **val, size_t *vlen)
{
	while (it->pos < it->len) {
		size_t start = it->pos;
		size_t end = line_end(it->p, it->len, start);
		/* continuation lines belong to this field */
		while (end + 1 < it->len && (it->p[end + 1] == ' ' || it->p[end + 1] == '\t'))
			end = line_end(it->p, it->len, end + 1);
		it->pos = end < it->len ? end + 1 : it->len;
		const uint8_t *colon = memchr(it->p + start, ':', end - start);
		if (!colon || colon == it->p + start)
			continue; /* not a field ("From " line, garbage, empty line) */
		size_t nl = (size_t)(colon - (it->p + start));
		/* the name: printable ASCII without space (obs-fields allow WSP
		 * before the colon: trim it) */
		while (nl > 0 && (it->p[start + nl - 1] == ' ' || it->p[start + nl - 1] == '\t'))
			nl--;
		int ok = nl > 0;
		for (size_t i = 0; ok && i < nl; i++)
			ok = it->p[start + i] > 32 && it->p[start + i] < 127;
		if (!ok)
			continue;
		*name = (const char *)it->p + start;
		*nlen = nl;
		*val = colon + 1;
		*vlen = (size_t)(it->p + end - (colon + 1));
		return 1;
	}
	return 0;
}

size_t pl_mail_unfold(const uint8_t *v, size_t n, char *out, size_t outsz)
{
	size_t o = 0;
	if (!outsz)
		return 0;
	for (size_t i = 0; i < n && o + 1 < outsz; i++) {
		uint8_t c = v[i];
		if (c == '\r' || c == '\n')
			continue;
		out[o++] = c == 0 ? ' ' : (char)c;
	}
	out[o] = 0;
	size_t s = 0;
	while (s < o && (out[s] == ' ' || out[s] == '\t'))
		s++;
	while (o > s && (out[o - 1] == ' ' || out[o - 1] == '\t'))
		o--;
	memmove(out, out + s, o - s);
	out[o - s] = 0;
	return o - s;
}

int pl_mail_name_is(const char *name, size_t nlen, const char *want)
{
	return strlen(want) == nlen && !strncasecmp(name, want, nlen);
}

/* --- addresses ------------------------------------------------------------ */

/* Skip a comment starting at s[*i] == '(' (nested, escaped); bounded
 * nesting: a deeper comment runs to the end of the field. */
static void skip_comment(const char *s, size_t *i)
{
	int depth = 0;
	while (s[*i]) {
		char c = s[(*i)++];
		if (c == '\\' && s[*i])
			(*i)++;
		else if (c == '(' && ++depth > 64)
			depth = 64;
		else if (c == ')' && --depth == 0)
			return;
	}
}

static void skip_quoted(const char *s, size_t *i)
{
	(*i)++;
	while (s[*i]) {
		char c = s[(*i)++];
		if (c == '\\' && s[*i])
			(*i)++;
		else if (c == '"')
			return;
	}
}

/* An addr-spec from s[a..b): comments and white space dropped, quoted
 * local parts kept with their quotes, lower-cased; 0 when valid. */
static int addr_spec(const char *s, size_t a, size_t b, char out[PL_MAIL_ADDR_MAX + 1])
{
	size_t o = 0, at = 0;
	int ats = 0;
	for (size_t i = a; i < b;) {
		char c = s[i];
		if (c == '(') {
			skip_comment(s, &i);
			continue;
		}
		if (c == ' ' || c == '\t') {
			i++;
			continue;
		}
		if (c == '"') {
			size_t q = i;
			skip_quoted(s, &i);
			if (i > b)
				return -1;
			for (size_t k = q; k < i; k++) {
				if (o >= PL_MAIL_ADDR_MAX || (unsigned char)s[k] < 32)
					return -1;
				out[o++] = (char)tolower((unsigned char)s[k]);
			}
			continue;
		}
		if (c == '@') {
			ats++;
			at = o;
		}
		if ((unsigned char)c < 33 || c == 127 || strchr("<>,;:\\", c))
			return -1;
		if (o >= PL_MAIL_ADDR_MAX)
			return -1;
		out[o++] = (char)tolower((unsigned char)c);
		i++;
	}
	out[o] = 0;
	if (ats != 1 || at == 0 || at + 1 >= o)
		return -1;
	/* the domain: dot-atom of letters, digits, '-' (and UTF-8), or a
	 * literal; no empty labels */
	const char *d = out + at + 1;
	if (d[0] == '[')
		return d[strlen(d) - 1] == ']' ? 0 : -1;
	if (d[0] == '.' || d[strlen(d) - 1] == '.' || strstr(d, ".."))
		return -1;
	for (const char *p = d; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.' && (unsigned char)*p < 0x80)
			return -1;
	if (out[0] == '.' || out[at - 1] == '.')
		return out[0] == '"' ? 0 : -1;
	return 0;
}

/* One mailbox in s[a..b): "addr", "Name <addr>", "<@route:addr>". */
static int mailbox(const char *s, size_t a, size_t b, char out[PL_MAIL_ADDR_MAX + 1])
{
	size_t lt = 0, gt = 0;
	int have_lt = 0;
	for (size_t i = a; i < b;) {
		char c = s[i];
		if (c == '(') {
			skip_comment(s, &i);
			continue;
		}
		if (c == '"') {
			skip_quoted(s, &i);
			continue;
		}
		if (c == '<' && !have_lt) {
			have_lt = 1;
			lt = i;
		} else if (c == '>' && have_lt && !gt) {
			gt = i;
		}
		i++;
	}
	if (!have_lt)
		return addr_spec(s, a, b, out);
	if (!gt)
		return -1;
	size_t from = lt + 1;
	/* obs-route: "@a,@b:" before the address */
	for (size_t i = from; i < gt; i++) {
		if (s[i] == '"')
			break;
		if (s[i] == ':') {
			from = i + 1;
			break;
		}
	}
	return addr_spec(s, from, gt, out);
}

unsigned pl_mail_addr_list(const char *s, void (*fn)(const char *addr, void *arg),
			   void *arg, unsigned *bad)
{
	unsigned good = 0;
	size_t i = 0, start = 0;
	int in_angle = 0;
	char addr[PL_MAIL_ADDR_MAX + 1];
	*bad = 0;
	for (;;) {
		char c = s[i];
		if (c == '(') {
			skip_comment(s, &i);
			continue;
		}
		if (c == '"') {
			skip_quoted(s, &i);
			continue;
		}
		if (c == '<')
			in_angle = 1;
		else if (c == '>')
			in_angle = 0;
		if (c == ':' && !in_angle) {
			start = i + 1; /* a group's display name ends */
		} else if (c == 0 || ((c == ',' || c == ';') && !in_angle)) {
			/* an item: empty ones (", ,", "group:;") are nothing */
			int blank = 1;
			for (size_t k = start; k < i && blank; k++)
				blank = s[k] == ' ' || s[k] == '\t';
			if (!blank) {
				if (mailbox(s, start, i, addr) == 0) {
					good++;
					fn(addr, arg);
				} else {
					(*bad)++;
				}
			}
			start = i + 1;
			in_angle = 0;
			if (!c)
				break;
		}
		i++;
	}
	return good;
}

/* --- pl_mail_head_parse --------------------------------------------------- */

struct from_acc {
	char addr[PL_MAIL_ADDR_MAX + 1];
	unsigned n;
};

static void from_cb(const char *a, void *arg)
{
	struct from_acc *f = arg;
	if (f->n++ == 0)
		pl_strlcpy(f->addr, a, sizeof(f->addr));
}

static void rcpt_cb(const char *a, void *arg)
{
	pl_mail_head_t *h = arg;
	for (unsigned i = 0; i < h->n_rcpt; i++)
		if (!strcmp(h->rcpt[i], a))
			return;
	if (h->n_rcpt < PL_MAIL_RCPT_MAX)
		pl_strlcpy(h->rcpt[h->n_rcpt++], a, sizeof(h->rcpt[0]));
}

static void message_id(const char *v, char *out, size_t outsz)
{
	size_t o = 0;
	for (const char *p = v; *p && o + 1 < outsz; p++)
		if ((unsigned char)*p > 32 && (unsigned char)*p < 127)
			out[o++] = *p;
	out[o] = 0;
}

int pl_mail_head_parse(const uint8_t *msg, size_t len, const char *trusted_authserv,
		       pl_mail_head_t *h, pl_err_t *err)
{
	memset(h, 0, sizeof(*h));
	if (len > PL_MAIL_HEADER_MAX)
		len = PL_MAIL_HEADER_MAX;
	pl_mail_hdr_iter_t it;
	pl_mail_hdr_init(&it, msg, len);
	char *v = malloc(PL_MAIL_FIELD_MAX);
	if (!v) {
		pl_strlcpy(err->msg, "out of memory", sizeof(err->msg));
		return -1;
	}
	const char *name;
	size_t nlen, vlen;
	const uint8_t *val;
	unsigned fields = 0, froms = 0, bad;
	struct from_acc from = {{0}, 0};
	while (pl_mail_hdr_next(&it, &name, &nlen, &val, &vlen)) {
		fields++;
		pl_mail_unfold(val, vlen, v, PL_MAIL_FIELD_MAX);
		if (pl_mail_name_is(name, nlen, "From")) {
			froms++;
			pl_mail_addr_list(v, from_cb, &from, &bad);
			from.n += bad;
		} else if (pl_mail_name_is(name, nlen, "To") || pl_mail_name_is(name, nlen, "Cc") ||
			   pl_mail_name_is(name, nlen, "Delivered-To") ||
			   pl_mail_name_is(name, nlen, "X-Original-To")) {
			pl_mail_addr_list(v, rcpt_cb, h, &bad);
		} else if (pl_mail_name_is(name, nlen, "Subject") && !h->subject[0]) {
			pl_mail_decode_words(v, h->subject, sizeof(h->subject));
		} else if (pl_mail_name_is(name, nlen, "Message-ID") && !h->message_id[0]) {
			message_id(v, h->message_id, sizeof(h->message_id));
		}
	}
	if (froms == 1 && from.n == 1)
		pl_strlcpy(h->from, from.addr, sizeof(h->from));
	if (fields == 0) {
		free(v);
		pl_strlcpy(err->msg, "no header fields: not a message", sizeof(err->msg));
		return -1;
	}
	if (trusted_authserv && *trusted_authserv) {
		/* RFC 8601 section 5: the trusted MTA removes fields with its own
		 * authserv-id from what it receives; as a second guard only the
		 * first block of trusted fields counts (a Received field after
		 * it ends it: what follows came from further away). */
		const char *dom = strchr(h->from, '@');
		int seen = 0, verdict = PL_MAIL_AUTH_NONE;
		pl_mail_hdr_init(&it, msg, len);
		while (pl_mail_hdr_next(&it, &name, &nlen, &val, &vlen)) {
			if (pl_mail_name_is(name, nlen, "Received")) {
				if (seen)
					break;
				continue;
			}
			if (!pl_mail_name_is(name, nlen, "Authentication-Results"))
				continue;
			pl_mail_unfold(val, vlen, v, PL_MAIL_FIELD_MAX);
			int r = pl_mail_authres_eval(v, trusted_authserv, dom ? dom + 1 : "");
			if (r == PL_MAIL_AUTH_NONE)
				continue;
			seen = 1;
			if (r == PL_MAIL_AUTH_PASS)
				verdict = PL_MAIL_AUTH_PASS;
			else if (verdict == PL_MAIL_AUTH_NONE)
				verdict = PL_MAIL_AUTH_FAIL;
		}
		h->auth = verdict;
	}
	free(v);
	return 0;
}
