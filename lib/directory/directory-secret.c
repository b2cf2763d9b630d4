/* Salted slow hashes of the directory's secrets: users' PINs
 * (directory-users.c) and administrators' passwords (directory-admins.c).
 * scrypt in the PHC string format
 *   $scrypt$ln=14,r=8,p=1$<salt, base64>$<key, base64>
 * (standard alphabet, no padding). Verification reads the parameters from
 * the stored string, so they can be raised later without a migration.
 *
 * scrypt costs ~50 ms a hash: callers run it outside the handle's mutex.
 * A secret is never copied (the caller owns and wipes its buffer);
 * derived keys and encoded keys are wiped once used. */
#include "directory-private.h"

#include <stdint.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "pl_util.h"

/* New hashes: N = 2^14, r = 8, p = 1 (16 MiB, ~50 ms). */
#define SCRYPT_LN 14
#define SCRYPT_R 8
#define SCRYPT_P 1
#define SALT_BYTES 16
#define KEY_BYTES 32
/* Accepted when reading a stored hash: room to raise the cost. */
#define SCRYPT_LN_MAX 24
#define SCRYPT_R_MAX 32
#define SCRYPT_P_MAX 16
#define SALT_MIN 8
#define SALT_MAX 64
#define KEY_MIN 16
#define KEY_MAX 64
#define SCRYPT_PREFIX "$scrypt$"

typedef struct {
	int ln, r, p;
	unsigned char salt[SALT_MAX];
	size_t salt_len;
	unsigned char key[KEY_MAX];
	size_t key_len;
} scrypt_hash_t;

/* Checked against this when there is no stored hash (no such user or
 * administrator, no PIN set), so that an absent name costs the same time
 * as a wrong secret: no enumeration by timing. Same parameters as new
 * hashes. */
static const char dummy_hash[] =
	"$scrypt$ln=14,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA"
	"$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

static int derive(const char *secret, const scrypt_hash_t *h,
		  unsigned char *key, size_t key_len)
{
	uint64_t n = (uint64_t)1 << h->ln;
	/* scrypt needs 128 * r * (N + p) bytes and a little more; OpenSSL's
	 * default ceiling (32 MiB) would refuse raised parameters. */
	uint64_t mem = 128 * (uint64_t)h->r * (n + (uint64_t)h->p + 2) + (1u << 20);
	int ok = EVP_PBE_scrypt(secret, strlen(secret), h->salt, h->salt_len, n,
				(uint64_t)h->r, (uint64_t)h->p, mem, key,
				key_len) == 1;
	return ok ? 0 : -1;
}

int pl_dir_secret_hash(const char *secret, char out[PL_DIR_SECRET_HASH_MAX],
		       const char *what, pl_err_t *err)
{
	scrypt_hash_t h = { .ln = SCRYPT_LN, .r = SCRYPT_R, .p = SCRYPT_P,
			    .salt_len = SALT_BYTES, .key_len = KEY_BYTES };
	char salt64[SALT_MAX * 4 / 3 + 2], key64[KEY_MAX * 4 / 3 + 2];
	int rc = -1;
	if (RAND_bytes(h.salt, SALT_BYTES) != 1) {
		pl_dir_fail(err, "%s: no random bytes", what);
		goto out;
	}
	if (derive(secret, &h, h.key, h.key_len) < 0) {
		pl_dir_fail(err, "%s: scrypt failed", what);
		goto out;
	}
	pl_dir_b64_encode(pl_dir_b64, h.salt, h.salt_len, salt64);
	pl_dir_b64_encode(pl_dir_b64, h.key, h.key_len, key64);
	rc = pl_fmt(out, PL_DIR_SECRET_HASH_MAX,
		    SCRYPT_PREFIX "ln=%d,r=%d,p=%d$%s$%s", h.ln, h.r, h.p,
		    salt64, key64);
	if (rc < 0)
		pl_dir_fail(err, "%s: hash too long", what);
out:
	OPENSSL_cleanse(&h, sizeof(h));
	OPENSSL_cleanse(key64, sizeof(key64));
	return rc < 0 ? -1 : 0;
}

/* A small decimal in [lo, hi] spelled without leading zeros, then sep. */
static const char *parse_param(const char *s, const char *name, int lo, int hi,
			       char sep, int *out)
{
	size_t nl = strlen(name);
	if (strncmp(s, name, nl) != 0 || s[nl] != '=')
		return NULL;
	s += nl + 1;
	int v = 0, digits = 0;
	for (; *s >= '0' && *s <= '9'; s++, digits++) {
		if (digits == 0 && *s == '0' && s[1] >= '0' && s[1] <= '9')
			return NULL;
		if (digits >= 4)
			return NULL;
		v = v * 10 + (*s - '0');
	}
	if (digits == 0 || v < lo || v > hi || *s != sep)
		return NULL;
	*out = v;
	return s + 1;
}

static int hash_parse(const char *s, scrypt_hash_t *h)
{
	if (strncmp(s, SCRYPT_PREFIX, strlen(SCRYPT_PREFIX)) != 0)
		return -1;
	s += strlen(SCRYPT_PREFIX);
	if (!(s = parse_param(s, "ln", 1, SCRYPT_LN_MAX, ',', &h->ln)) ||
	    !(s = parse_param(s, "r", 1, SCRYPT_R_MAX, ',', &h->r)) ||
	    !(s = parse_param(s, "p", 1, SCRYPT_P_MAX, '$', &h->p)))
		return -1;
	const char *dollar = strchr(s, '$');
	if (!dollar)
		return -1;
	long sl = pl_dir_b64_decode(pl_dir_b64, s, (size_t)(dollar - s),
				    h->salt, sizeof(h->salt));
	long kl = pl_dir_b64_decode(pl_dir_b64, dollar + 1, strlen(dollar + 1),
				    h->key, sizeof(h->key));
	if (sl < SALT_MIN || kl < KEY_MIN)
		return -1;
	h->salt_len = (size_t)sl;
	h->key_len = (size_t)kl;
	return 0;
}

int pl_dir_secret_wellformed(const char *stored)
{
	scrypt_hash_t h;
	int ok = stored && strnlen(stored, PL_DIR_SECRET_HASH_MAX) < PL_DIR_SECRET_HASH_MAX &&
		 hash_parse(stored, &h) == 0;
	OPENSSL_cleanse(&h, sizeof(h));
	return ok;
}

int pl_dir_secret_verify(const char *secret, const char *stored,
			 const char *what, pl_err_t *err)
{
	scrypt_hash_t h;
	unsigned char key[KEY_MAX];
	int rc = -1;
	memset(&h, 0, sizeof(h));
	if (hash_parse(stored ? stored : dummy_hash, &h) < 0)
		pl_dir_fail(err, "%s: stored hash is malformed", what);
	else if (derive(secret, &h, key, h.key_len) < 0)
		pl_dir_fail(err, "%s: scrypt failed", what);
	else
		rc = CRYPTO_memcmp(key, h.key, h.key_len) == 0;
	OPENSSL_cleanse(&h, sizeof(h));
	OPENSSL_cleanse(key, sizeof(key));
	/* Nothing matches the dummy, whatever its key happens to be. */
	return stored || rc < 0 ? rc : 0;
}
