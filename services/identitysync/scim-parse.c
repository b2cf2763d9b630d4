/* SCIM filters and PATCH paths (RFC 7644 3.4.2.2, 3.5.2): text from the
 * network, so every piece is bounded and checked, and anything beyond the
 * little we serve is refused with a reason rather than half understood.
 * A filter is one comparison, ATTR eq VALUE: what Entra ID and Okta send
 * to find a user or a group before creating it. A path may name an
 * extension's attribute by its schema URI, select values of a
 * multi-valued attribute with one such comparison in brackets, and go
 * one sub-attribute down. Fuzzed: tests/fuzz/fuzz_scim.c. */
#include "scim.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pl_util.h"

static int why_set(char *why, size_t wsz, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int why_set(char *why, size_t wsz, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, wsz, fmt, ap);
	va_end(ap);
	return -1;
}

static int name_char(unsigned char c)
{
	return isalnum(c) || c == '-' || c == '_' || c == '$';
}

/* An ATTRNAME (or subAttr) of n bytes at p into out. */
static int copy_name(const char *p, size_t n, char *out, char *why, size_t wsz)
{
	if (n == 0)
		return why_set(why, wsz, "an empty attribute name");
	if (n >= SCIM_NAME_MAX)
		return why_set(why, wsz, "an attribute name over %d bytes", SCIM_NAME_MAX - 1);
	for (size_t i = 0; i < n; i++)
		if (!name_char((unsigned char)p[i]))
			return why_set(why, wsz, "an attribute name with '%c' in it",
				       isprint((unsigned char)p[i]) ? p[i] : '?');
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

/* [URI ":"] ATTRNAME ["." subAttr], n bytes at p. The URI holds dots
 * ("2.0") and colons, so the name starts after its last colon. The core
 * schemas' URIs name no extension: "". */
static int attr_path(const char *p, size_t n, char *uri, char *attr, char *sub, char *why,
		     size_t wsz)
{
	const char *name = p;
	uri[0] = sub[0] = '\0';
	if (n > 4 && strncasecmp(p, "urn:", 4) == 0) {
		const char *colon = NULL;
		for (const char *q = p; q < p + n; q++)
			if (*q == ':')
				colon = q;
		size_t ulen = (size_t)(colon - p);
		if (ulen >= SCIM_URI_MAX)
			return why_set(why, wsz, "a schema URI over %d bytes", SCIM_URI_MAX - 1);
		for (size_t i = 0; i < ulen; i++)
			if ((unsigned char)p[i] <= 0x20 || (unsigned char)p[i] >= 0x7f)
				return why_set(why, wsz, "a schema URI with a space or a control "
					       "character");
		memcpy(uri, p, ulen);
		uri[ulen] = '\0';
		if (strcasecmp(uri, SCIM_URI_USER) == 0 || strcasecmp(uri, SCIM_URI_GROUP) == 0)
			uri[0] = '\0';
		name = colon + 1;
	}
	size_t rest = (size_t)(p + n - name);
	const char *dot = memchr(name, '.', rest);
	if (dot) {
		if (copy_name(dot + 1, (size_t)(p + n - dot - 1), sub, why, wsz) < 0)
			return -1;
		rest = (size_t)(dot - name);
	}
	return copy_name(name, rest, attr, why, wsz);
}

/* A JSON string literal starting at p (the opening quote): its end (past
 * the closing quote) or NULL. */
static const char *string_end(const char *p)
{
	for (p++; *p; p++) {
		if (*p == '\\') {
			if (!p[1])
				return NULL;
			p++;
		} else if (*p == '"') {
			return p + 1;
		}
	}
	return NULL;
}

/* compValue = false / null / true / number / string, n bytes at p. */
static int comp_value(const char *p, size_t n, scim_filter_t *f, char *why, size_t wsz)
{
	if (n && p[0] == '"') {
		json_error_t je;
		json_t *s = json_loadb(p, n, JSON_DECODE_ANY, &je);
		int bad = !json_is_string(s) || json_string_length(s) >= SCIM_VALUE_MAX ||
			  strlen(json_string_value(s)) != json_string_length(s);
		if (!bad)
			pl_strlcpy(f->value, json_string_value(s), sizeof(f->value));
		json_decref(s);
		if (bad)
			return why_set(why, wsz, "a value that is not a string of at most %d bytes",
				       SCIM_VALUE_MAX - 1);
		f->is_str = 1;
		return 0;
	}
	if (n == 0 || n >= 32)
		return why_set(why, wsz, "a value missing or not a JSON literal");
	char lit[32];
	memcpy(lit, p, n);
	lit[n] = '\0';
	if (strcmp(lit, "true") == 0 || strcmp(lit, "false") == 0 || strcmp(lit, "null") == 0) {
		pl_strlcpy(f->value, lit, sizeof(f->value));
		return 0;
	}
	char *end;
	(void)strtod(lit, &end);
	if (*end || !(isdigit((unsigned char)lit[0]) || lit[0] == '-'))
		return why_set(why, wsz, "a value that is not a quoted string, a number, true, "
			       "false or null");
	pl_strlcpy(f->value, lit, sizeof(f->value));
	return 0;
}

static const char *skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

int scim_filter_parse(const char *text, scim_filter_t *f, char *why, size_t wsz)
{
	static const char *const others[] = { "ne", "co", "sw", "ew", "pr", "gt", "ge", "lt",
					      "le" };
	memset(f, 0, sizeof(*f));
	if (strlen(text) > SCIM_TEXT_MAX)
		return why_set(why, wsz, "a filter over %d bytes", SCIM_TEXT_MAX);
	const char *p = skip_ws(text), *a = p;
	while (*p && *p != ' ' && *p != '\t' && *p != '(' && *p != '[')
		p++;
	if (*p == '(' || *p == '[' || *a == '(')
		return why_set(why, wsz, "grouping and [...] are not supported: one comparison, "
			       "ATTRIBUTE eq \"VALUE\"");
	if (attr_path(a, (size_t)(p - a), f->uri, f->attr, f->sub, why, wsz) < 0)
		return -1;
	p = skip_ws(p);
	const char *o = p;
	while (*p && *p != ' ' && *p != '\t')
		p++;
	size_t olen = (size_t)(p - o);
	if (olen != 2 || strncasecmp(o, "eq", 2) != 0) {
		for (size_t i = 0; i < PL_ARRAY_LEN(others); i++)
			if (olen == 2 && strncasecmp(o, others[i], 2) == 0)
				return why_set(why, wsz, "operator \"%.2s\" is not supported (only "
					       "eq)", o);
		return why_set(why, wsz, "expected ATTRIBUTE eq \"VALUE\"");
	}
	p = skip_ws(p);
	const char *v = p, *vend = *v == '"' ? string_end(v) : NULL;
	if (*v == '"' && !vend)
		return why_set(why, wsz, "an unterminated string");
	if (!vend)
		for (vend = v; *vend && *vend != ' ' && *vend != '\t'; vend++)
			;
	if (comp_value(v, (size_t)(vend - v), f, why, wsz) < 0)
		return -1;
	if (*skip_ws(vend))
		return why_set(why, wsz, "one comparison only (no and, or, not)");
	return 0;
}

/* The closing bracket of a filter that starts after p's '[', strings
 * skipped. */
static const char *bracket_end(const char *p)
{
	for (p++; *p; p++) {
		if (*p == '"') {
			p = string_end(p);
			if (!p)
				return NULL;
			p--;
		} else if (*p == ']') {
			return p;
		}
	}
	return NULL;
}

int scim_path_parse(const char *text, scim_path_t *p, char *why, size_t wsz)
{
	char inner[SCIM_TEXT_MAX + 1];
	memset(p, 0, sizeof(*p));
	size_t n = strlen(text);
	if (n > SCIM_TEXT_MAX)
		return why_set(why, wsz, "a path over %d bytes", SCIM_TEXT_MAX);
	const char *open = strchr(text, '[');
	if (!open)
		return attr_path(text, n, p->uri, p->attr, p->sub, why, wsz);
	const char *close = bracket_end(open);
	if (!close)
		return why_set(why, wsz, "a '[' without its ']'");
	char nosub[SCIM_NAME_MAX];
	if (attr_path(text, (size_t)(open - text), p->uri, p->attr, nosub, why, wsz) < 0)
		return -1;
	if (nosub[0])
		return why_set(why, wsz, "a filter after a sub-attribute");
	memcpy(inner, open + 1, (size_t)(close - open - 1));
	inner[close - open - 1] = '\0';
	if (scim_filter_parse(inner, &p->filter, why, wsz) < 0)
		return -1;
	if (p->filter.uri[0] || p->filter.sub[0])
		return why_set(why, wsz, "the filter in [...] names a sub-attribute of each value");
	p->has_filter = 1;
	const char *rest = close + 1;
	if (!*rest)
		return 0;
	if (*rest != '.')
		return why_set(why, wsz, "after ']' only \".SUBATTRIBUTE\"");
	return copy_name(rest + 1, strlen(rest + 1), p->sub, why, wsz);
}

json_t *scim_get(const json_t *obj, const char *key, const char **real)
{
	const char *k;
	json_t *v;
	if (real)
		*real = NULL;
	if (!json_is_object(obj))
		return NULL;
	json_object_foreach((json_t *)obj, k, v)
		if (strcasecmp(k, key) == 0) {
			if (real)
				*real = k;
			return v;
		}
	return NULL;
}

int scim_bool(const json_t *v)
{
	if (json_is_boolean(v))
		return json_is_true(v);
	if (json_is_string(v)) {
		if (strcasecmp(json_string_value(v), "true") == 0)
			return 1;
		if (strcasecmp(json_string_value(v), "false") == 0)
			return 0;
	}
	return -1;
}

int scim_value_eq(const json_t *v, const scim_filter_t *f, int exact)
{
	if (f->is_str) {
		if (json_is_string(v))
			return exact ? strcmp(json_string_value(v), f->value) == 0
				     : strcasecmp(json_string_value(v), f->value) == 0;
		return 0;
	}
	if (strcmp(f->value, "null") == 0)
		return !v || json_is_null(v);
	if (strcmp(f->value, "true") == 0 || strcmp(f->value, "false") == 0)
		return scim_bool(v) == (f->value[0] == 't');
	return json_is_number(v) && json_number_value(v) == strtod(f->value, NULL);
}
