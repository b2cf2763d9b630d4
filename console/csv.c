/* CSV text for the console's exports: see csv.h. */
#include "csv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void put(cs_csv_t *c, const char *s, size_t n)
{
	if (c->oom)
		return;
	if (c->len + n + 1 > c->cap) {
		size_t cap = c->cap ? c->cap : 4096;
		while (cap < c->len + n + 1) {
			if (cap > ((size_t)-1) / 2) {
				c->oom = 1;
				return;
			}
			cap *= 2;
		}
		char *np = realloc(c->p, cap);
		if (!np) {
			c->oom = 1;
			return;
		}
		c->p = np;
		c->cap = cap;
	}
	memcpy(c->p + c->len, s, n);
	c->len += n;
	c->p[c->len] = '\0';
}

static int needs_guard(const char *s, size_t n)
{
	return n > 0 && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' ||
			 s[0] == '\t' || s[0] == '\r');
}

static int needs_quotes(const char *s, size_t n)
{
	if (n > 0 && (s[0] == ' ' || s[n - 1] == ' '))
		return 1;
	for (size_t i = 0; i < n; i++)
		if (s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n')
			return 1;
	return 0;
}

void cs_csv_cell_n(cs_csv_t *c, const char *s, size_t n)
{
	if (!s)
		n = 0;
	if (c->in_row)
		put(c, ",", 1);
	c->in_row = 1;
	int q = needs_quotes(s, n);
	if (q)
		put(c, "\"", 1);
	if (needs_guard(s, n))
		put(c, "'", 1);
	size_t from = 0;
	for (size_t i = 0; q && i < n; i++)
		if (s[i] == '"') {
			put(c, s + from, i + 1 - from); /* up to and with the quote */
			put(c, "\"", 1);
			from = i + 1;
		}
	put(c, s ? s + from : "", n - from);
	if (q)
		put(c, "\"", 1);
}

void cs_csv_cell(cs_csv_t *c, const char *s)
{
	cs_csv_cell_n(c, s, s ? strlen(s) : 0);
}

void cs_csv_json(cs_csv_t *c, const json_t *v)
{
	char num[32];
	if (!v || json_is_null(v)) {
		cs_csv_cell(c, "");
	} else if (json_is_string(v)) {
		cs_csv_cell_n(c, json_string_value(v), json_string_length(v));
	} else if (json_is_integer(v)) {
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		cs_csv_cell(c, num);
	} else if (json_is_boolean(v)) {
		cs_csv_cell(c, json_is_true(v) ? "true" : "false");
	} else {
		int strings = json_is_array(v);
		size_t i;
		json_t *e;
		json_t *a = (json_t *)v; /* jansson's iteration is not const */
		json_array_foreach(a, i, e) strings = strings && json_is_string(e);
		if (strings) {
			cs_csv_t cat = { 0 };
			json_array_foreach(a, i, e) {
				if (i)
					put(&cat, " ", 1);
				put(&cat, json_string_value(e), json_string_length(e));
			}
			c->oom |= cat.oom;
			cs_csv_cell_n(c, cat.p ? cat.p : "", cat.len);
			cs_csv_free(&cat);
			return;
		}
		char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		if (!t)
			c->oom = 1;
		cs_csv_cell(c, t ? t : "");
		free(t);
	}
}

void cs_csv_row_end(cs_csv_t *c)
{
	put(c, "\r\n", 2);
	c->in_row = 0;
}

char *cs_csv_take(cs_csv_t *c, size_t *len)
{
	if (!c->p)
		put(c, "", 0); /* an empty text is still a text */
	char *p = c->oom ? NULL : c->p;
	*len = p ? c->len : 0;
	if (!p)
		free(c->p);
	memset(c, 0, sizeof(*c));
	return p;
}

void cs_csv_free(cs_csv_t *c)
{
	free(c->p);
	memset(c, 0, sizeof(*c));
}
