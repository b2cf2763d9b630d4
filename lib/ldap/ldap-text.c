/* pl_ldap text: filter escaping (RFC 4515), the checks on filters from
 * configuration, and the first value of a DN (RFC 4514). No network: unit
 * tested (tests/unit/test_ldap.c) and fuzzed (tests/fuzz/fuzz_ldap_map.c),
 * because DNs come from the server. */
#include "pl_ldap.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "pl_util.h"

#define FILTER_MAX 1024

size_t pl_ldap_filter_escape(const char *in, size_t len, char *out, size_t osz)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];
		/* Beyond RFC 4515's must (* ( ) \ NUL): every byte outside
		 * printable ASCII, so a value can never be read as anything but
		 * a value, whatever the server's parser does with UTF-8. */
		int esc = c == '*' || c == '(' || c == ')' || c == '\\' || c < 0x20 || c >= 0x7f;
		size_t need = esc ? 3 : 1;
		if (o + need >= osz)
			return (size_t)-1;
		if (esc) {
			out[o++] = '\\';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		} else {
			out[o++] = (char)c;
		}
	}
	if (o >= osz)
		return (size_t)-1;
	out[o] = '\0';
	return o;
}

const char *pl_ldap_filter_check(const char *f)
{
	size_t n = f ? strnlen(f, FILTER_MAX + 1) : 0;
	int depth = 0;
	if (n == 0)
		return "empty";
	if (n > FILTER_MAX)
		return "longer than 1024 bytes";
	if (f[0] != '(' || f[n - 1] != ')')
		return "not in parentheses";
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)f[i];
		if (c < 0x20 || c == 0x7f)
			return "a control character";
		if (c == '\\') {
			if (i + 2 >= n || pl_hex_digit(f[i + 1]) < 0 || pl_hex_digit(f[i + 2]) < 0)
				return "a backslash not followed by two hex digits";
			i += 2;
		} else if (c == '(') {
			depth++;
		} else if (c == ')' && --depth < 0) {
			return "unbalanced parentheses";
		} else if (c == ')' && depth == 0 && i != n - 1) {
			return "more than one filter (and them with (&...))";
		}
	}
	return depth == 0 ? NULL : "unbalanced parentheses";
}

int pl_ldap_valid_attr(const char *a)
{
	size_t n = a ? strlen(a) : 0;
	if (n == 0 || n > 64 || !((a[0] >= 'A' && a[0] <= 'Z') || (a[0] >= 'a' && a[0] <= 'z')))
		return 0;
	for (size_t i = 1; i < n; i++) {
		char c = a[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-'))
			return 0;
	}
	return 1;
}

int pl_ldap_filter_and_ge(const char *base, const char *attr, const char *value, char *out,
			  size_t osz)
{
	char esc[256];
	if (pl_ldap_filter_check(base) || !pl_ldap_valid_attr(attr) ||
	    pl_ldap_filter_escape(value, strlen(value), esc, sizeof(esc)) == (size_t)-1)
		return -1;
	return pl_fmt(out, osz, "(&%s(%s>=%s))", base, attr, esc);
}

/* ---- DNs ---- */

/* One RFC 4514 character of a value at dn[*i] into *c: a plain byte, a
 * "\X" for a special, or "\XX" hex. 0, 1 at the value's end (unescaped
 * ',' '+' or the end), -1 malformed. */
static int dn_char(const char *dn, size_t len, size_t *i, char *c)
{
	if (*i >= len || dn[*i] == ',' || dn[*i] == '+' || dn[*i] == ';')
		return 1;
	if (dn[*i] != '\\') {
		*c = dn[(*i)++];
		return *c == '\0' ? -1 : 0;
	}
	if (*i + 1 >= len)
		return -1;
	int h = pl_hex_digit(dn[*i + 1]), l = *i + 2 < len ? pl_hex_digit(dn[*i + 2]) : -1;
	if (h >= 0 && l >= 0) {
		*c = (char)(h << 4 | l);
		*i += 3;
		return *c == '\0' ? -1 : 0;
	}
	*c = dn[*i + 1];
	*i += 2;
	return *c == '\0' ? -1 : 0;
}

int pl_ldap_dn_first_value(const char *dn, size_t len, char *out, size_t osz)
{
	size_t i = 0, o = 0;
	if (!dn || osz == 0)
		return -1;
	while (i < len && dn[i] == ' ')
		i++;
	/* the attribute type: a name or a dotted OID, then '=' */
	size_t t = i;
	while (i < len && dn[i] != '=' && dn[i] != ',' && dn[i] != '\\')
		i++;
	if (i == t || i >= len || dn[i] != '=')
		return -1;
	i++;
	if (i < len && dn[i] == '#')
		return -1; /* a BER-encoded value: not a name */
	char c;
	int rc;
	while ((rc = dn_char(dn, len, &i, &c)) == 0) {
		if (o + 1 >= osz)
			return -1;
		out[o++] = c;
	}
	if (rc < 0)
		return -1;
	while (o > 0 && out[o - 1] == ' ')
		o--; /* trailing spaces are insignificant unless escaped */
	out[o] = '\0';
	return o ? 0 : -1;
}

/* An attribute by name, ignoring case and options (";range=0-1499"):
 * here, not in ldap.c, because it needs no libldap (the fuzz target that
 * maps entries links this file only). */
static int name_eq(const char *have, const char *want)
{
	size_t n = strlen(want);
	return strncasecmp(have, want, n) == 0 && (have[n] == '\0' || have[n] == ';');
}

const pl_ldap_attr_t *pl_ldap_entry_attr(const pl_ldap_entry_t *e, const char *name)
{
	for (size_t i = 0; i < e->nattrs; i++)
		if (name_eq(e->attrs[i].name, name))
			return &e->attrs[i];
	return NULL;
}

/* ---- ranged retrieval (Active Directory's member;range=) ---- */

/* A decimal of 1 to 10 digits into *v (at most PL_LDAP_RANGE_MAX); the
 * byte after it. NULL when none. */
static const char *range_num(const char *s, long *v)
{
	long n = 0;
	int digits = 0;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (++digits > 10)
			return NULL;
		n = n * 10 + (*s - '0');
	}
	if (digits == 0 || n > PL_LDAP_RANGE_MAX)
		return NULL;
	*v = n;
	return s;
}

int pl_ldap_range_parse(const char *name, const char *attr, long *lo, long *hi)
{
	size_t al = strlen(attr);
	int ranged = 0;
	if (!name || al == 0 || strncasecmp(name, attr, al) != 0 ||
	    (name[al] != '\0' && name[al] != ';'))
		return -1;
	const char *o = name + al;
	while (*o == ';') {
		o++;
		if (strncasecmp(o, "range=", 6) != 0) {
			o += strcspn(o, ";");
			continue;
		}
		const char *s = range_num(o + 6, lo);
		if (ranged || !s || *s != '-')
			return -1;
		s++;
		if (*s == '*') {
			*hi = -1;
			s++;
		} else if (!(s = range_num(s, hi)) || *hi < *lo) {
			return -1;
		}
		if (*s != '\0' && *s != ';')
			return -1;
		ranged = 1;
		o = s;
	}
	return ranged;
}

int pl_ldap_range_next(const char *attr, long want_lo, long lo, long hi, char *out,
		       size_t osz)
{
	if (lo != want_lo || (hi >= 0 && hi < lo))
		return -1; /* not the part asked for: no progress is sure */
	if (hi < 0)
		return 0;
	if (hi >= PL_LDAP_RANGE_MAX)
		return -1;
	return pl_fmt(out, osz, "%s;range=%ld-*", attr, hi + 1) < 0 ? -1 : 1;
}
