/* pl_random: random bytes and random identifiers (OpenSSL's CSPRNG), and
 * lowercase hex. One place for job ids, workstation token ids and the
 * console's session tokens. Apart from pl_util so that binaries that need
 * no OpenSSL (the supervisor) do not link it. */
#ifndef PL_RANDOM_H
#define PL_RANDOM_H

#include <stddef.h>

/* n random bytes into p: 0, or -1 when the generator fails. */
int pl_random_bytes(void *p, size_t n);
/* n bytes as 2n lowercase hex digits and a NUL into out. */
void pl_hex(const void *p, size_t n, char *out);
/* nbytes random bytes as hex (out holds 2 * nbytes + 1): 0 or -1. The
 * bytes themselves are wiped. */
int pl_random_hex(char *out, size_t nbytes);

#endif
