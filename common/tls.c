/* TLS contexts and self-signed certificate generation. */
#include "pl_tls.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "pl_util.h"

#define TLS_CERT_DAYS 3650
/* TLS 1.2 suites a server offers: ECDHE (forward secrecy) with an AEAD
 * cipher only. CBC suites (MAC-then-encrypt: Lucky 13 and the padding
 * oracles) and static RSA key exchange are off; TLS 1.3 has only AEAD
 * suites and keeps OpenSSL's defaults. Every client we ship, and any
 * browser of the last decade, has these. */
#define TLS12_SERVER_SUITES                                                    \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"           \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"           \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256"

const char *pl_tls_errstr(char *buf, size_t sz)
{
	unsigned long e = ERR_get_error();
	if (!e) {
		pl_strlcpy(buf, "unknown TLS error", sz);
	} else {
		ERR_error_string_n(e, buf, sz);
		ERR_clear_error();
	}
	return buf;
}

static int tls_fail(pl_err_t *err, const char *what)
{
	char e[256];
	(void)pl_fmt(err->msg, sizeof(err->msg), "%s: %s", what,
		 pl_tls_errstr(e, sizeof(e)));
	return -1;
}

static int write_pem_key(const char *path, EVP_PKEY *pk)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	FILE *f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		return -1;
	}
	int ok = PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL);
	ok = (fflush(f) == 0 && fsync(fileno(f)) == 0) && ok;
	return (fclose(f) == 0 && ok) ? 0 : -1;
}

static int write_pem_cert(const char *path, X509 *x)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	FILE *f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		return -1;
	}
	int ok = PEM_write_X509(f, x);
	ok = (fflush(f) == 0 && fsync(fileno(f)) == 0) && ok;
	return (fclose(f) == 0 && ok) ? 0 : -1;
}

/* Names a client can check with --ca: this host's name and loopback.
 * Clients that reach the server by another name pin its fingerprint. */
static int add_san(X509 *x)
{
	char host[256] = "localhost", san[600];
	X509V3_CTX v3;
	if (gethostname(host, sizeof(host) - 1) < 0 || !host[0] ||
	    strpbrk(host, ",:"))
		pl_strlcpy(host, "localhost", sizeof(host));
	snprintf(san, sizeof(san), "DNS:%s,DNS:localhost,IP:127.0.0.1,IP:::1", host);
	X509V3_set_ctx_nodb(&v3);
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, san);
	if (!ext)
		return -1;
	int ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : -1;
}

static X509 *make_cert(EVP_PKEY *pk, const char *cn)
{
	X509 *x = X509_new();
	unsigned char serial[16];
	BIGNUM *bn = NULL;
	if (!x || RAND_bytes(serial, sizeof(serial)) != 1)
		goto fail;
	serial[0] &= 0x7f;
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	if (!bn || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)))
		goto fail;
	X509_set_version(x, 2);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400L * TLS_CERT_DAYS);
	X509_set_pubkey(x, pk);
	X509_NAME *name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
				   (const unsigned char *)"Service Client", -1, -1, 0);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
				   (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, name);
	if (add_san(x) < 0 || !X509_sign(x, pk, EVP_sha256()))
		goto fail;
	BN_free(bn);
	return x;
fail:
	BN_free(bn);
	X509_free(x);
	return NULL;
}

/* Generate into temp names and rename, so a crash never leaves a key
 * without its certificate. */
static int generate_pair(const char *cert, const char *key, const char *cn,
			 pl_err_t *err)
{
	char tc[PATH_MAX + 8], tk[PATH_MAX + 8];
	EVP_PKEY *pk = EVP_EC_gen("P-256");
	X509 *x = pk ? make_cert(pk, cn) : NULL;
	int rc = -1;
	if (!x) {
		tls_fail(err, "generating a self-signed certificate");
		goto out;
	}
	snprintf(tc, sizeof(tc), "%s.tmp", cert);
	snprintf(tk, sizeof(tk), "%s.tmp", key);
	if (write_pem_key(tk, pk) < 0 || write_pem_cert(tc, x) < 0 ||
	    rename(tk, key) < 0 || rename(tc, cert) < 0 ||
	    pl_fsync_dir_of(cert) < 0) {
		(void)pl_fmt(err->msg, sizeof(err->msg), "writing %s: %s", cert,
			 strerror(errno));
		unlink(tc);
		unlink(tk);
		goto out;
	}
	rc = 0;
out:
	X509_free(x);
	EVP_PKEY_free(pk);
	return rc;
}

static int key_private_enough(const char *key, pl_err_t *err)
{
	struct stat st;
	if (stat(key, &st) < 0) {
		(void)pl_fmt(err->msg, sizeof(err->msg), "%s: %s", key, strerror(errno));
		return -1;
	}
	if (st.st_mode & 0077) {
		(void)pl_fmt(err->msg, sizeof(err->msg),
			 "TLS key %s is readable by group or others (mode %04o); chmod 600 it",
			 key, (unsigned)(st.st_mode & 07777));
		return -1;
	}
	return 0;
}

SSL_CTX *pl_tls_server_ctx(const char *cert, const char *key,
			   const char *gen_dir, const char *cn, pl_err_t *err)
{
	char gc[PATH_MAX], gk[PATH_MAX];
	if (!cert || !key) {
		if (pl_fmt(gc, sizeof(gc), "%s/tls-cert.pem", gen_dir) < 0 ||
		    pl_fmt(gk, sizeof(gk), "%s/tls-key.pem", gen_dir) < 0) {
			(void)pl_fmt(err->msg, sizeof(err->msg), "state dir path too long");
			return NULL;
		}
		cert = gc;
		key = gk;
		if ((access(cert, R_OK) < 0 || access(key, R_OK) < 0) &&
		    generate_pair(cert, key, cn, err) < 0)
			return NULL;
	}
	if (key_private_enough(key, err) < 0)
		return NULL;
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx) {
		tls_fail(err, "SSL_CTX_new");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	if (SSL_CTX_set_cipher_list(ctx, TLS12_SERVER_SUITES) != 1) {
		tls_fail(err, "TLS 1.2 cipher suites");
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
				      SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/* Read bursts of records per read(2) rather than two reads a
	 * record: bulk uploads are our main traffic (make bench: intake).
	 * Four records' worth, not more: OpenSSL 3.0 moves what is left in
	 * its buffer to the front before each record (to align the payload),
	 * so the copying grows with the square of the buffer (256 KiB cost
	 * a fifth more CPU per byte received than 64 KiB). Callers must
	 * drain SSL_read until WANT_READ, since data can wait inside OpenSSL
	 * where epoll cannot see it. */
	SSL_CTX_set_read_ahead(ctx, 1);
	SSL_CTX_set_default_read_buffer_len(ctx, 64 * 1024);
	char what[PATH_MAX + 32];
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		snprintf(what, sizeof(what), "certificate %s", cert);
		tls_fail(err, what);
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(what, sizeof(what), "key %s", key);
		tls_fail(err, what);
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

SSL_CTX *pl_tls_client_ctx(const char *ca, pl_err_t *err)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx) {
		tls_fail(err, "SSL_CTX_new");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_AUTO_RETRY);
	if (ca) {
		if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
			char what[PATH_MAX + 16];
			snprintf(what, sizeof(what), "CA file %s", ca);
			tls_fail(err, what);
			SSL_CTX_free(ctx);
			return NULL;
		}
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	} else {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	}
	return ctx;
}

int pl_tls_fingerprint(SSL_CTX *ctx, char *out, size_t outsz)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	X509 *x = SSL_CTX_get0_certificate(ctx);
	if (!x || !X509_digest(x, EVP_sha256(), md, &n) || outsz < n * 3)
		return -1;
	for (unsigned i = 0; i < n; i++)
		snprintf(out + i * 3, outsz - i * 3, "%02X%s", md[i],
			 i + 1 < n ? ":" : "");
	return 0;
}

int pl_tls_sandbox(const pl_cnode_t *cfg, pl_sandbox_t *sb, pl_err_t *err)
{
	static const char *const keys[] = { "tls_cert", "tls_key" };
	for (size_t i = 0; i < PL_ARRAY_LEN(keys); i++) {
		const char *path;
		if (pl_cnode_str(cfg, keys[i], NULL, &path, err) < 0)
			return -1;
		if (path && pl_sandbox_allow(sb, path, PL_SANDBOX_RO) < 0)
			return pl_cnode_error(cfg, keys[i], err, "sandbox: %s", strerror(errno));
	}
	return 0;
}
