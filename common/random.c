/* Random bytes and identifiers; see pl_random.h. */
#include "pl_random.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdint.h>

int pl_random_bytes(void *p, size_t n)
{
	return RAND_bytes(p, (int)n) == 1 ? 0 : -1;
}

void pl_hex(const void *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = '\0';
}

int pl_random_hex(char *out, size_t nbytes)
{
	uint8_t b[64];
	if (nbytes > sizeof(b) || pl_random_bytes(b, nbytes) < 0)
		return -1;
	pl_hex(b, nbytes, out);
	OPENSSL_cleanse(b, nbytes);
	return 0;
}
