/* HTTP Basic decoding (basic.c). */
#ifndef AP_BASIC_H
#define AP_BASIC_H

#include <stddef.h>

#define AP_BASIC_MAX 512 /* user:password, decoded */

/* "Basic <base64 of user:password>" -> user, password (NUL-terminated,
 * no NUL inside). 0 or -1. The password buffer is the caller's to
 * cleanse. */
int ap_basic_decode(const char *authz, char *user, size_t usz, char *pass, size_t psz);
/* User names as the directory spells them ([A-Za-z0-9._@-]{1,127}):
 * nothing that means anything inside an LDAP DN. */
int ap_user_name_ok(const char *s);

#endif
