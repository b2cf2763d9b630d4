/* pl_tls: TLS for our network listeners and clients (OpenSSL 3).
 * A server context takes its certificate and key from files named in the
 * config or, when none are named, from a self-signed pair generated on
 * first start in the service's state directory (tls-cert.pem,
 * tls-key.pem, 0600) and reused afterwards. TLS 1.2 minimum. */
#ifndef PL_TLS_H
#define PL_TLS_H

#include <openssl/ssl.h>

#include "pl_config.h" /* pl_err_t */
#include "pl_sandbox.h"

/* cert/key NULL: use or create the self-signed pair in gen_dir for
 * common name cn. */
SSL_CTX *pl_tls_server_ctx(const char *cert, const char *key,
			   const char *gen_dir, const char *cn, pl_err_t *err);
/* A client context. ca NULL: no verification (development only; say so
 * to the user). ca given: verify the server against that file. */
SSL_CTX *pl_tls_client_ctx(const char *ca, pl_err_t *err);
/* SHA-256 fingerprint "AB:CD:..." of the context's certificate. */
int pl_tls_fingerprint(SSL_CTX *ctx, char *out, size_t outsz);
/* The last OpenSSL error as text (for messages), clearing the queue. */
const char *pl_tls_errstr(char *buf, size_t sz);

/* The section's tls_cert and tls_key files, when set, read-only in the
 * sandbox (a generated pair lives in the state dir, writable anyway).
 * 0, or -1 with err (a key of the wrong type, a path too long). */
int pl_tls_sandbox(const pl_cnode_t *cfg, pl_sandbox_t *sb, pl_err_t *err);

#endif
