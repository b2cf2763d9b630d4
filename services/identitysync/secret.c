/* The bind account's password at rest: AES-256-GCM under a random key of
 * the service's own, both files 0600 in its state directory (which only
 * its system user can enter when the supervisor runs as root). Neither the
 * configuration nor a backup of it carries the password, and it never
 * reaches a log line: callers wipe their copy once the bind is done.
 * File: "PLIDS1\0\0" | nonce (12) | tag (16) | ciphertext. */
#include "ids.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pl_util.h"

#define MAGIC "PLIDS1\0\0"
#define HDR (8 + 12 + 16)

/* "PATH: WHY" (why NULL: errno's words). */
static int fail(pl_err_t *err, const char *path, const char *why)
{
	snprintf(err->msg, sizeof(err->msg), "%.400s: %s", path, why ? why : strerror(errno));
	return -1;
}

/* A key (file name in dir): read, or (create) made. 0 or -1. */
static int key_file(const char *dir, const char *name, int create, unsigned char key[32],
		    pl_err_t *err)
{
	char path[PATH_MAX];
	size_t len = 0;
	if (pl_fmt(path, sizeof(path), "%s/%s", dir, name) < 0)
		return fail(err, dir, "path too long");
	char *k = pl_read_file(path, 64, &len);
	if (k && len == 32) {
		memcpy(key, k, 32);
		OPENSSL_cleanse(k, len);
		free(k);
		return 0;
	}
	free(k);
	if (k || !create)
		return fail(err, path, k ? "not a key (32 bytes)" : "missing (run set-password)");
	if (RAND_bytes(key, 32) != 1)
		return fail(err, path, "no random bytes");
	if (pl_write_file_atomic(path, key, 32, 0600) < 0)
		return fail(err, path, NULL);
	return 0;
}

static int key_get(const char *dir, int create, unsigned char key[32], pl_err_t *err)
{
	return key_file(dir, IDS_KEY_FILE, create, key, err);
}

/* A key apart from the password's: the marks are stored in the
 * directory, which other services read. */
int ids_pin_key(const char *dir, unsigned char key[32], pl_err_t *err)
{
	return key_file(dir, IDS_PIN_KEY_FILE, 1, key, err);
}

static int gcm(int enc, const unsigned char key[32], const unsigned char *nonce,
	       unsigned char *tag, const unsigned char *in, int n, unsigned char *out)
{
	EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
	int len = 0, fin = 0, ok = x && EVP_CipherInit_ex(x, EVP_aes_256_gcm(), NULL, key, nonce,
							   enc) == 1;
	ok = ok && EVP_CipherUpdate(x, out, &len, in, n) == 1;
	if (ok && !enc)
		ok = EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_SET_TAG, 16, tag) == 1;
	ok = ok && EVP_CipherFinal_ex(x, out + len, &fin) == 1;
	if (ok && enc)
		ok = EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_GET_TAG, 16, tag) == 1;
	EVP_CIPHER_CTX_free(x);
	return ok ? len + fin : -1;
}

int ids_secret_store(const char *dir, const char *password, pl_err_t *err)
{
	unsigned char key[32], buf[HDR + IDS_PASSWORD_MAX];
	char path[PATH_MAX];
	size_t n = strlen(password);
	if (n == 0 || n > IDS_PASSWORD_MAX) {
		snprintf(err->msg, sizeof(err->msg), "a password of 1 to %d bytes",
			 IDS_PASSWORD_MAX);
		return -1;
	}
	if (pl_fmt(path, sizeof(path), "%s/%s", dir, IDS_SECRET_FILE) < 0)
		return fail(err, dir, "path too long");
	if (key_get(dir, 1, key, err) < 0)
		return -1;
	memcpy(buf, MAGIC, 8);
	int rc = RAND_bytes(buf + 8, 12) == 1 &&
			 gcm(1, key, buf + 8, buf + 20, (const unsigned char *)password, (int)n,
			     buf + HDR) == (int)n
		 ? 0
		 : -1;
	OPENSSL_cleanse(key, sizeof(key));
	if (rc == 0 && pl_write_file_atomic(path, buf, HDR + n, 0600) < 0)
		rc = fail(err, path, NULL);
	else if (rc < 0)
		snprintf(err->msg, sizeof(err->msg), "encryption failed");
	OPENSSL_cleanse(buf, sizeof(buf));
	return rc;
}

int ids_secret_load(const char *dir, char *out, size_t osz, pl_err_t *err)
{
	unsigned char key[32];
	char path[PATH_MAX];
	size_t len = 0;
	if (pl_fmt(path, sizeof(path), "%s/%s", dir, IDS_SECRET_FILE) < 0)
		return fail(err, dir, "path too long");
	unsigned char *buf = (unsigned char *)pl_read_file(path, HDR + IDS_PASSWORD_MAX, &len);
	if (!buf)
		return fail(err, path, errno == ENOENT ? "no bind password (run set-password)" : NULL);
	int rc = -1;
	if (len > HDR && len - HDR < osz && memcmp(buf, MAGIC, 8) == 0 &&
	    key_get(dir, 0, key, err) == 0) {
		int n = gcm(0, key, buf + 8, buf + 20, buf + HDR, (int)(len - HDR),
			    (unsigned char *)out);
		OPENSSL_cleanse(key, sizeof(key));
		if (n >= 0) {
			out[n] = '\0';
			rc = 0;
		}
	}
	if (rc < 0 && !err->msg[0])
		fail(err, path, "the bind password cannot be decrypted (set it again)");
	OPENSSL_cleanse(buf, len);
	free(buf);
	return rc;
}
