/* Authentication-Results (RFC 8601) from the organisation's own MTA:
 * does it vouch for the From domain? Only dmarc=pass, or dkim=pass /
 * spf=pass aligned with the From domain, count as a pass. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mail-private.h"
#include "pl_util.h"

/* The organisational domain of d, approximated without the public
 * suffix list: the last two labels, or three when the last two look
 * like a country's second level ("co.uk", "com.au", "ac.jp"). */
static const char *org_domain(const char *d)
{
	static const char *const second[] = {"co", "com", "net", "org", "gov", "edu",
					     "ac", "or", "ne", "go", "gv", "mil"};
	const char *dots[3] = {NULL, NULL, NULL}; /* last, second last, third last */
	for (const char *p = d; *p; p++) {
		if (*p == '.') {
			dots[2] = dots[1];
			dots[1] = dots[0];
			dots[0] = p;
		}
	}
	if (!dots[0])
		return d;
	const char *two = dots[1] ? dots[1] + 1 : d;
	size_t tld = strlen(dots[0] + 1);
	size_t sl = (size_t)(dots[0] - two);
	int cc_second = 0;
	if (tld == 2)
		for (size_t i = 0; i < PL_ARRAY_LEN(second); i++)
			if (strlen(second[i]) == sl && !strncasecmp(two, second[i], sl))
				cc_second = 1;
	if (cc_second)
		return dots[1] ? (dots[2] ? dots[2] + 1 : d) : d;
	return two;
}

int pl_mail_domain_aligned(const char *a, const char *b)
{
	if (!a || !b || !*a || !*b)
		return 0;
	const char *oa = org_domain(a), *ob = org_domain(b);
	/* a bare suffix ("com") is nobody's organisation */
	if (!strchr(oa, '.'))
		return 0;
	return !strcasecmp(oa, ob);
}

/* value with comments replaced by spaces and white space around '='
 * removed, into out (same size bound). Quoted strings are kept. */
static void normalise(const char *v, char *out, size_t outsz)
{
	size_t o = 0;
	int depth = 0, quoted = 0;
	for (size_t i = 0; v[i] && o + 1 < outsz; i++) {
		char c = v[i];
		if (quoted) {
			if (c == '\\' && v[i + 1]) {
				out[o++] = v[++i];
				continue;
			}
			if (c == '"')
				quoted = 0;
			out[o++] = c;
			continue;
		}
		if (depth) {
			if (c == '\\' && v[i + 1])
				i++;
			else if (c == '(')
				depth = depth < 64 ? depth + 1 : 64;
			else if (c == ')')
				depth--;
			if (!depth)
				out[o++] = ' ';
			continue;
		}
		if (c == '(') {
			depth = 1;
			continue;
		}
		if (c == '"')
			quoted = 1;
		if (c == '\t')
			c = ' ';
		if (c == ' ' && (v[i + 1] == '=' || (o > 0 && out[o - 1] == '=')))
			continue;
		if (c == '=')
			while (o > 0 && out[o - 1] == ' ')
				o--;
		out[o++] = c;
	}
	out[o] = 0;
}

/* Strip surrounding quotes of a token in place. */
static char *unquote(char *t)
{
	size_t l = strlen(t);
	if (l >= 2 && t[0] == '"' && t[l - 1] == '"') {
		t[l - 1] = 0;
		return t + 1;
	}
	return t;
}

/* The domain of an identity "user@dom", "@dom" or "dom". */
static const char *domain_of(const char *id)
{
	const char *at = strrchr(id, '@');
	return at ? at + 1 : id;
}

/* One resinfo ("dkim=pass header.d=example.com ..."): 1 when it is an
 * aligned pass. */
static int resinfo_pass(char *r, const char *from_domain)
{
	char *save = NULL;
	char *tok = strtok_r(r, " ", &save);
	if (!tok)
		return 0;
	char *eq = strchr(tok, '=');
	if (!eq)
		return 0;
	*eq = 0;
	char *method = tok, *result = eq + 1;
	char *slash = strchr(method, '/'); /* method version */
	if (slash)
		*slash = 0;
	if (strcasecmp(result, "pass"))
		return 0;
	const char *hd = NULL, *hi = NULL, *mf = NULL, *hf = NULL;
	while ((tok = strtok_r(NULL, " ", &save))) {
		eq = strchr(tok, '=');
		if (!eq)
			continue;
		*eq = 0;
		char *val = unquote(eq + 1);
		if (!strcasecmp(tok, "header.d"))
			hd = val;
		else if (!strcasecmp(tok, "header.i"))
			hi = val;
		else if (!strcasecmp(tok, "smtp.mailfrom"))
			mf = val;
		else if (!strcasecmp(tok, "header.from"))
			hf = val;
	}
	if (!strcasecmp(method, "dmarc"))
		return !hf || !strcasecmp(domain_of(hf), from_domain);
	if (!strcasecmp(method, "dkim"))
		return (hd && pl_mail_domain_aligned(hd, from_domain)) ||
		       (hi && pl_mail_domain_aligned(domain_of(hi), from_domain));
	if (!strcasecmp(method, "spf"))
		return mf && pl_mail_domain_aligned(domain_of(mf), from_domain);
	return 0;
}

int pl_mail_authres_eval(const char *value, const char *trusted,
			 const char *from_domain)
{
	size_t n = strlen(value) + 1;
	char *v = malloc(n);
	if (!v)
		return PL_MAIL_AUTH_NONE;
	normalise(value, v, n);
	/* authserv-id: up to white space or ';' */
	char *p = v;
	while (*p == ' ')
		p++;
	char *id = p;
	if (*p == '"') {
		p++;
		while (*p && *p != '"')
			p++;
		if (*p)
			p++;
	} else {
		while (*p && *p != ' ' && *p != ';')
			p++;
	}
	char save = *p;
	*p = 0;
	int trusted_id = !strcasecmp(unquote(id), trusted);
	*p = save;
	if (!trusted_id) {
		free(v);
		return PL_MAIL_AUTH_NONE;
	}
	int pass = 0;
	if (from_domain && *from_domain) {
		/* the resinfos, split at ';' outside quotes; the first piece
		 * is the id (and version) */
		int quoted = 0, first = 1;
		char *start = p;
		for (char *q = p;; q++) {
			if (*q == '"')
				quoted = !quoted;
			if (*q && (*q != ';' || quoted))
				continue;
			char end = *q;
			*q = 0;
			if (!first && !pass)
				pass = resinfo_pass(start, from_domain);
			first = 0;
			start = q + 1;
			if (!end)
				break;
		}
	}
	free(v);
	return pass ? PL_MAIL_AUTH_PASS : PL_MAIL_AUTH_FAIL;
}
