/* gateway_fingerprint: the SHA-256 of the gateway's certificate (of its
 * DER encoding: what `openssl x509 -noout -fingerprint -sha256` prints),
 * pinned. When set it replaces the CA and host-name checks: the leaf
 * certificate must have exactly this digest, whoever signed it (so a
 * customer's gateway with a self-signed certificate can be trusted
 * without a CA), and any other certificate is refused even if a CA
 * vouches for it. Without it, the CA and the host name decide (router.c).
 * There is no setting that accepts any certificate.
 *
 * libwebsockets calls its OPENSSL_PERFORM_SERVER_CERT_VERIFICATION
 * callback for each certificate of the chain, leaf last (depth 0), with
 * OpenSSL's verdict; we overrule that verdict only for a pinned leaf that
 * matches, and for the chain above it (whose errors cannot matter: the
 * leaf is trusted by its digest alone). */
#include "on.h"

#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <stdio.h>
#include <string.h>

#include "pl_log.h"
#include "pl_util.h"

int on_pin_parse(const char *text, uint8_t pin[32], pl_err_t *err)
{
	size_t n = 0;
	int hi = -1;
	for (const char *p = text; *p; p++) {
		if (*p == ':' || *p == ' ')
			continue;
		int v = pl_hex_digit((unsigned char)*p);
		if (v < 0 || n == 32)
			goto bad;
		if (hi < 0) {
			hi = v;
		} else {
			pin[n++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	if (n == 32 && hi < 0)
		return 0;
bad:
	snprintf(err->msg, sizeof(err->msg),
		 "gateway_fingerprint: want the SHA-256 of the gateway's certificate, 64 hex "
		 "digits (colons allowed), got \"%.200s\"", text);
	return -1;
}

int on_pin_verify(on_t *on, void *x509_ctx, int preverify_ok)
{
	X509_STORE_CTX *ctx = x509_ctx;
	if (!on->conf.has_pin) /* OpenSSL's verdict stands (CA + name) */
		return 0;
	if (X509_STORE_CTX_get_error_depth(ctx) > 0) {
		/* Above the leaf: the pin alone decides, at depth 0. */
		X509_STORE_CTX_set_error(ctx, X509_V_OK);
		return 0;
	}
	X509 *leaf = X509_STORE_CTX_get_current_cert(ctx);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	if (!leaf || X509_digest(leaf, EVP_sha256(), md, &n) != 1 || n != 32) {
		X509_STORE_CTX_set_error(ctx, X509_V_ERR_UNSPECIFIED);
		return 1;
	}
	if (memcmp(md, on->conf.pin, 32) != 0) {
		for (unsigned i = 0; i < 32; i++)
			snprintf(on->pin_seen + 2 * i, 3, "%02x", md[i]);
		X509_STORE_CTX_set_error(ctx, X509_V_ERR_CERT_REJECTED);
		snprintf(on->last_error, sizeof(on->last_error),
			 "certificate refused: its SHA-256 %.64s is not gateway_fingerprint",
			 on->pin_seen);
		pl_warn("gateway %s: %s", on->conf.url, on->last_error);
		return 1;
	}
	(void)preverify_ok;
	X509_STORE_CTX_set_error(ctx, X509_V_OK);
	return 0;
}
