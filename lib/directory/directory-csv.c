/* The CSV of users (username, display name, email, badge IDs, PIN; see
 * pl_directory.h), parsed in memory one line at a time into a bounded
 * stack buffer. Nothing here touches the database, so the parser of this
 * untrusted text can be fuzzed on its own (tests/fuzz/fuzz_csv_users.c);
 * directory-import.c stores what it yields. */
#include "pl_directory.h"

#include <ctype.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "pl_badge.h"
#include "pl_util.h"

#define LINE_MAX_BYTES 4095 /* without the line end */
#define FIELDS 5
#define BADGE_SEPARATORS " ;|"
#define HEADER_WORD "username"
#define MSG_MAX 600

static const char utf8_bom[] = "\xef\xbb\xbf";

/* Split one CSV record (RFC 4180 quoting, no embedded newlines) into at
 * most nf fields, in place. Returns the field count or -1. */
static int csv_split(char *line, char **f, int nf)
{
	int n = 0;
	char *p = line, *o;
	while (n < nf) {
		f[n++] = o = p;
		if (*p == '"') {
			p++;
			for (;;) {
				if (*p == '\0')
					return -1; /* unterminated quote */
				if (*p == '"' && p[1] == '"') {
					*o++ = '"';
					p += 2;
				} else if (*p == '"') {
					p++;
					break;
				} else {
					*o++ = *p++;
				}
			}
			if (*p != ',' && *p != '\0')
				return -1;
		} else {
			while (*p && *p != ',')
				*o++ = *p++;
		}
		int more = *p == ',';
		if (*p)
			p++;
		*o = '\0';
		if (!more)
			return n;
	}
	return -1; /* too many fields */
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

int pl_dir_user_add_badge(pl_dir_user_t *u, const char *text, char *msg, size_t msz)
{
	pl_err_t err;
	if (u->nbadges >= PL_DIR_MAX_BADGES) {
		(void)pl_fmt(msg, msz, "at most %d badges a user", PL_DIR_MAX_BADGES);
		return -1;
	}
	if (pl_badge_normalize(text, u->badges[u->nbadges], &err) < 0) {
		(void)pl_fmt(msg, msz, "badge '%s': %s", text, err.msg);
		return -1;
	}
	u->nbadges++;
	return 0;
}

/* One record (trimmed, not a comment or header) into *u and *pin. 0, or
 * -1 with msg set. */
static int parse_record(char *line, pl_dir_user_t *u, const char **pin,
			char *msg, size_t msz)
{
	char *f[FIELDS] = { 0 };
	int n = csv_split(line, f, FIELDS);
	if (n < 1 || !trim(f[0])[0]) {
		(void)pl_fmt(msg, msz, "%s",
			     n < 0 ? "malformed CSV (quotes or too many columns)"
				   : "no username");
		return -1;
	}
	memset(u, 0, sizeof(*u));
	pl_strlcpy(u->source, "local", sizeof(u->source));
	/* A field too long for the struct is an error, not cut short: a
	 * truncated name would be another user. Messages as user_put's. */
	if (pl_strlcpy(u->username, trim(f[0]), sizeof(u->username)) >=
	    sizeof(u->username)) {
		(void)pl_fmt(msg, msz, "invalid user name");
		return -1;
	}
	if (n > 1 && pl_strlcpy(u->display_name, trim(f[1]),
				sizeof(u->display_name)) >= sizeof(u->display_name)) {
		(void)pl_fmt(msg, msz, "user %s: invalid display name "
			     "(printable, at most %zu bytes)",
			     u->username, sizeof(u->display_name) - 1);
		return -1;
	}
	if (n > 2 && trim(f[2])[0] &&
	    pl_strlcpy(u->emails[u->nemails++], trim(f[2]), sizeof(u->emails[0])) >=
		    sizeof(u->emails[0])) {
		(void)pl_fmt(msg, msz, "user %s: invalid email address: more than %zu bytes",
			     u->username, sizeof(u->emails[0]) - 1);
		return -1;
	}
	if (n > 3) {
		char *save = NULL;
		for (char *b = strtok_r(f[3], BADGE_SEPARATORS, &save); b;
		     b = strtok_r(NULL, BADGE_SEPARATORS, &save))
			if (pl_dir_user_add_badge(u, b, msg, msz) < 0)
				return -1;
	}
	/* An empty PIN column keeps the user's PIN. */
	*pin = (n > 4 && trim(f[4])[0]) ? trim(f[4]) : NULL;
	return 0;
}

/* One line (without its line end) to fn: skipped lines (blank, comment,
 * header) are not reported. */
static int parse_line(const char *s, size_t n, long lineno, pl_dir_csv_fn fn,
		      void *arg)
{
	char buf[LINE_MAX_BYTES + 1], msg[MSG_MAX];
	pl_dir_user_t u;
	const char *pin = NULL;
	if (n > LINE_MAX_BYTES)
		return fn(arg, lineno, NULL, NULL, "line too long; skipped");
	if (memchr(s, '\0', n))
		return fn(arg, lineno, NULL, NULL, "a NUL byte in the line");
	memcpy(buf, s, n);
	buf[n] = '\0';
	char *t = trim(buf);
	if (!t[0] || t[0] == '#')
		return 0;
	/* A header, its first field maybe quoted. */
	if (lineno == 1 &&
	    strncasecmp(t + (t[0] == '"'), HEADER_WORD, strlen(HEADER_WORD)) == 0)
		return 0;
	if (parse_record(t, &u, &pin, msg, sizeof(msg)) < 0)
		return fn(arg, lineno, NULL, NULL, msg);
	int rc = fn(arg, lineno, &u, pin, NULL);
	OPENSSL_cleanse(buf, sizeof(buf)); /* the PIN was in it */
	return rc;
}

void pl_dir_users_csv_parse(const char *text, size_t len, pl_dir_csv_fn fn, void *arg)
{
	pl_dir_users_csv_parse_from(text, len, 1, fn, arg);
}

void pl_dir_users_csv_parse_from(const char *text, size_t len, long first_line,
				 pl_dir_csv_fn fn, void *arg)
{
	size_t pos = 0;
	long lineno = first_line > 0 ? first_line - 1 : 0;
	/* Excel's "CSV UTF-8" starts the file with a byte-order mark; a
	 * later part of a file (first_line > 1) has none to skip. */
	if (lineno == 0 && len >= sizeof(utf8_bom) - 1 &&
	    memcmp(text, utf8_bom, sizeof(utf8_bom) - 1) == 0)
		pos = sizeof(utf8_bom) - 1;
	while (pos < len) {
		const char *s = text + pos;
		const char *nl = memchr(s, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - s) : len - pos;
		pos += n + (nl != NULL);
		lineno++;
		if (n && s[n - 1] == '\r')
			n--; /* CR LF */
		parse_line(s, n, lineno, fn, arg);
	}
}
