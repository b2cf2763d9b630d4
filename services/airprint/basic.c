/* HTTP Basic credentials and user names, apart from the checks (auth.c)
 * so that the fuzz target (tests/fuzz/fuzz_ipp_auth.c) reaches them
 * without a directory. */
#include "ap-basic.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <string.h>
#include <strings.h>

/* "Basic <base64 of user:password>" -> user, password. 0 or -1. */
int ap_basic_decode(const char *authz, char *user, size_t usz, char *pass, size_t psz)
{
	unsigned char out[AP_BASIC_MAX + 4];
	if (strncasecmp(authz, "Basic ", 6) != 0)
		return -1;
	const char *b = authz + 6;
	while (*b == ' ')
		b++;
	size_t n = strlen(b);
	if (n == 0 || n > (AP_BASIC_MAX / 3) * 4 || n % 4)
		return -1;
	int len = EVP_DecodeBlock(out, (const unsigned char *)b, (int)n);
	if (len < 0)
		return -1;
	/* EVP_DecodeBlock counts the padding's zero bytes */
	if (n >= 1 && b[n - 1] == '=')
		len--;
	if (n >= 2 && b[n - 2] == '=')
		len--;
	out[len] = '\0';
	char *colon = strchr((char *)out, ':');
	int rc = -1;
	/* no NUL inside; a name and a password that fit */
	if (!memchr(out, '\0', (size_t)len) && colon &&
	    (size_t)(colon - (char *)out) < usz && strlen(colon + 1) < psz) {
		*colon = '\0';
		memcpy(user, out, (size_t)(colon - (char *)out) + 1);
		memcpy(pass, colon + 1, strlen(colon + 1) + 1);
		rc = 0;
	}
	OPENSSL_cleanse(out, sizeof(out));
	return rc;
}

/* User names as the directory spells them; nothing that means anything
 * inside an LDAP DN. */
int ap_user_name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 127)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '.' || *s == '_' || *s == '-' ||
		      *s == '@'))
			return 0;
	return 1;
}

