/* E-mail addresses of users: a conservative addr-spec (RFC 5322 section
 * 3.4.1, as RFC 5321 limits it), because an address is shown in the
 * console, exported as CSV and will be written into mail headers: what
 * passes here is plain ASCII with no quote, angle bracket, space, comma,
 * semicolon or backslash anywhere. Refused although RFC 5322 allows them:
 * quoted local parts ("a b"@x.org), comments, address literals
 * (a@[192.0.2.1]), a domain without a dot (a@localhost) or with a numeric
 * last label, and non-ASCII (SMTPUTF8; an IDN domain is given in its
 * xn-- form). */
#include "directory-private.h"

#include <string.h>

#define LOCAL_MAX 64   /* RFC 5321 4.5.3.1.1 */
#define DOMAIN_MAX 255 /* RFC 5321 4.5.3.1.2 */
#define LABEL_MAX 63   /* RFC 1035 */

static int is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* atext: letters, digits and !#$%&'*+-/=?^_`{|}~ */
static int is_atext(char c)
{
	return is_alnum(c) || (c && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* A dot-atom: atext runs joined by single dots. */
static const char *local_check(const char *s, size_t n)
{
	if (n == 0)
		return "nothing before the @";
	if (n > LOCAL_MAX)
		return "more than 64 characters before the @";
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '.' && (i == 0 || i + 1 == n || s[i + 1] == '.'))
			return "a dot at the start or end of the part before the @, "
			       "or two dots in a row";
		if (s[i] != '.' && !is_atext(s[i]))
			return "a character that is not allowed before the @ (letters, "
			       "digits and !#$%&'*+-/=?^_`{|}~ with single dots)";
	}
	return NULL;
}

/* Labels of letters, digits and hyphens, 1 to 63 each, no hyphen at
 * either end, joined by dots; at least two, the last not all digits. */
static const char *domain_check(const char *s, size_t n)
{
	size_t start = 0, labels = 0;
	int digits_only = 1;

	if (n == 0)
		return "no domain after the @";
	if (n > DOMAIN_MAX)
		return "a domain of more than 255 characters";
	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != '.') {
			if (!is_alnum(s[i]) && s[i] != '-')
				return "a domain may hold only letters, digits, hyphens "
				       "and dots";
			digits_only &= s[i] >= '0' && s[i] <= '9';
			continue;
		}
		size_t len = i - start;
		if (len == 0 || len > LABEL_MAX)
			return "an empty or over-long (63) part of the domain";
		if (s[start] == '-' || s[i - 1] == '-')
			return "a part of the domain starts or ends with a hyphen";
		labels++;
		if (i < n)
			digits_only = 1;
		start = i + 1;
	}
	if (labels < 2)
		return "a domain needs a dot (example.org)";
	if (digits_only)
		return "the domain's last part is a number";
	return NULL;
}

const char *pl_dir_email_check(const char *addr)
{
	const char *at = addr ? strchr(addr, '@') : NULL;

	if (!at)
		return "needs an @";
	if (strchr(at + 1, '@'))
		return "more than one @";
	const char *why = local_check(addr, (size_t)(at - addr));
	return why ? why : domain_check(at + 1, strlen(at + 1));
}
