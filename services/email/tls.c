/* The IMAP connection: TCP and TLS done here with OpenSSL, lent to
 * libetpan as a mailstream_low driver. Debian's libetpan does its own TLS
 * with GnuTLS and verifies no certificate at all, so it never gets the
 * chance: the peer is verified here, before libetpan reads the greeting,
 * against the configured CA file (or the system's CAs) with the host
 * name, or against a pinned SHA-256 fingerprint. Every read and write
 * waits at most timeout_ms, and a write to wake_fd ends a wait (stop). */
#include "em.h"

#include <errno.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libetpan/libetpan.h>

#include "pl_tls.h"
#include "pl_util.h"

struct em_conn {
	int fd;
	int wake_fd;
	SSL_CTX *ctx;
	SSL *ssl;
	int timeout_ms;
	/* bytes the next reads may bring at most (0: no bound): a server that
	 * lies about a message's size, or answers a search with no end, is
	 * cut off instead of filling memory through libetpan's buffers */
	uint64_t budget;
	char name[256];
	char ca_file[4096];
	char fingerprint[128];
};

/* Wait for fd to be ready for ev: 1 ready, 0 timeout or stop, -1 error. */
static int conn_wait(em_conn_t *k, short ev)
{
	struct pollfd p[2] = { { .fd = k->fd, .events = ev }, { .fd = k->wake_fd, .events = POLLIN } };
	for (;;) {
		int n = poll(p, k->wake_fd >= 0 ? 2 : 1, k->timeout_ms);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n;
		if (k->wake_fd >= 0 && (p[1].revents & POLLIN))
			return 0;
		return 1;
	}
}

/* One TCP connection to any address of host, non-blocking with a timeout. */
static int tcp_connect(const char *host, int port, em_conn_t *k, pl_err_t *err)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_ADDRCONFIG }, *ai;
	char ps[8], why[128] = "no address";
	snprintf(ps, sizeof(ps), "%d", port);
	int rc = getaddrinfo(host, ps, &hints, &ai);
	if (rc != 0)
		return pl_fmt(err->msg, sizeof(err->msg), "%s: %s", host, gai_strerror(rc)), -1;
	for (struct addrinfo *a = ai; a; a = a->ai_next) {
		int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0)
			continue;
		k->fd = fd;
		if (connect(fd, a->ai_addr, a->ai_addrlen) == 0 ||
		    (errno == EINPROGRESS && conn_wait(k, POLLOUT) == 1)) {
			int e = 0;
			socklen_t el = sizeof(e);
			getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el);
			if (e == 0) {
				freeaddrinfo(ai);
				return 0;
			}
			errno = e;
		} else if (errno == EINPROGRESS) {
			errno = ETIMEDOUT;
		}
		pl_strlcpy(why, strerror(errno), sizeof(why));
		close(fd);
		k->fd = -1;
	}
	freeaddrinfo(ai);
	pl_fmt(err->msg, sizeof(err->msg), "%s:%d: %s", host, port, why);
	return -1;
}

static SSL_CTX *client_ctx(em_conn_t *k, pl_err_t *err)
{
	char e[256];
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx)
		goto fail;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	if (k->fingerprint[0]) {
		/* the pin replaces the CA: checked after the handshake */
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
		return ctx;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (k->ca_file[0] ? SSL_CTX_load_verify_locations(ctx, k->ca_file, NULL) != 1
			  : SSL_CTX_set_default_verify_paths(ctx) != 1)
		goto fail;
	return ctx;
fail:
	pl_fmt(err->msg, sizeof(err->msg), "TLS setup (%s): %s",
	       k->ca_file[0] ? k->ca_file : "system CAs", pl_tls_errstr(e, sizeof(e)));
	SSL_CTX_free(ctx);
	return NULL;
}

/* "AB:CD:..." compared without regard to case or colons. */
static int fingerprint_matches(X509 *cert, const char *want)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	char got[EVP_MAX_MD_SIZE * 2 + 1], w[EVP_MAX_MD_SIZE * 2 + 1];
	size_t j = 0;
	if (!cert || X509_digest(cert, EVP_sha256(), md, &n) != 1)
		return 0;
	for (unsigned i = 0; i < n; i++)
		snprintf(got + 2 * i, 3, "%02x", md[i]);
	for (const char *p = want; *p && j + 1 < sizeof(w); p++)
		if (*p != ':' && *p != ' ')
			w[j++] = (char)(*p >= 'A' && *p <= 'F' ? *p + 32 : *p);
	w[j] = 0;
	return strcmp(got, w) == 0;
}

static int handshake_loop(em_conn_t *k)
{
	for (;;) {
		int r = SSL_connect(k->ssl);
		if (r == 1)
			return 0;
		int e = SSL_get_error(k->ssl, r);
		if (e == SSL_ERROR_WANT_READ && conn_wait(k, POLLIN) == 1)
			continue;
		if (e == SSL_ERROR_WANT_WRITE && conn_wait(k, POLLOUT) == 1)
			continue;
		return -1;
	}
}

static int tls_fail(em_conn_t *k, pl_err_t *err, const char *what)
{
	char e[256];
	long v = k->ssl ? SSL_get_verify_result(k->ssl) : X509_V_OK;
	if (v != X509_V_OK)
		pl_fmt(err->msg, sizeof(err->msg),
		       "TLS with %s refused: the certificate does not verify (%s)", k->name,
		       X509_verify_cert_error_string(v));
	else
		pl_fmt(err->msg, sizeof(err->msg), "TLS with %s: %s%s", k->name, what,
		       pl_tls_errstr(e, sizeof(e)));
	return -1;
}

int em_conn_starttls(em_conn_t *k, pl_err_t *err)
{
	k->ctx = client_ctx(k, err);
	if (!k->ctx)
		return -1;
	k->ssl = SSL_new(k->ctx);
	if (!k->ssl || SSL_set_fd(k->ssl, k->fd) != 1)
		return tls_fail(k, err, "");
	/* The name the certificate must carry: a DNS name (also sent as SNI)
	 * or an IP address. */
	X509_VERIFY_PARAM *vp = SSL_get0_param(k->ssl);
	if (!k->fingerprint[0]) {
		if (X509_VERIFY_PARAM_set1_ip_asc(vp, k->name) != 1 &&
		    SSL_set1_host(k->ssl, k->name) != 1)
			return tls_fail(k, err, "bad name: ");
	}
	SSL_set_tlsext_host_name(k->ssl, k->name);
	if (handshake_loop(k) < 0)
		return tls_fail(k, err, "handshake failed: ");
	if (k->fingerprint[0]) {
		X509 *c = SSL_get1_peer_certificate(k->ssl);
		int ok = fingerprint_matches(c, k->fingerprint);
		X509_free(c);
		if (!ok) {
			pl_fmt(err->msg, sizeof(err->msg),
			       "TLS with %s refused: the certificate's SHA-256 is not "
			       "imap_fingerprint", k->name);
			return -1;
		}
	}
	return 0;
}

static void conn_free(em_conn_t *k)
{
	if (!k)
		return;
	if (k->ssl) {
		SSL_free(k->ssl);
	}
	SSL_CTX_free(k->ctx);
	if (k->fd >= 0)
		close(k->fd);
	free(k);
}

em_conn_t *em_conn_open(const em_conf_t *c, int tls, int wake_fd, pl_err_t *err)
{
	em_conn_t *k = calloc(1, sizeof(*k));
	if (!k) {
		pl_strlcpy(err->msg, "out of memory", sizeof(err->msg));
		return NULL;
	}
	k->fd = -1;
	k->wake_fd = wake_fd;
	k->timeout_ms = (int)c->timeout_ms;
	pl_strlcpy(k->name, c->tls_name, sizeof(k->name));
	pl_strlcpy(k->ca_file, c->ca_file, sizeof(k->ca_file));
	pl_strlcpy(k->fingerprint, c->fingerprint, sizeof(k->fingerprint));
	if (tcp_connect(c->host, c->port, k, err) < 0 || (tls && em_conn_starttls(k, err) < 0)) {
		conn_free(k);
		return NULL;
	}
	return k;
}

int em_conn_fd(const em_conn_t *k)
{
	return k->fd;
}

void em_conn_budget(em_conn_t *k, uint64_t bytes)
{
	k->budget = bytes ? bytes + 1 : 0; /* 1 means spent */
}

int em_conn_pending(const em_conn_t *k)
{
	return k->ssl ? SSL_pending(k->ssl) : 0;
}

/* ---- the mailstream_low driver ---- */

static ssize_t drv_read_once(em_conn_t *k, void *buf, size_t n);

static ssize_t drv_read(mailstream_low *s, void *buf, size_t n)
{
	em_conn_t *k = s->data;
	if (k->budget == 1)
		return -1; /* spent */
	if (k->budget && n > k->budget - 1)
		n = (size_t)(k->budget - 1);
	ssize_t r = drv_read_once(k, buf, n);
	if (r > 0 && k->budget)
		k->budget -= (uint64_t)r;
	return r;
}

static ssize_t drv_read_once(em_conn_t *k, void *buf, size_t n)
{
	for (;;) {
		if (!k->ssl) {
			ssize_t r = read(k->fd, buf, n);
			if (r >= 0)
				return r;
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN && conn_wait(k, POLLIN) == 1)
				continue;
			return -1;
		}
		int r = SSL_read(k->ssl, buf, n > INT32_MAX ? INT32_MAX : (int)n);
		if (r > 0)
			return r;
		int e = SSL_get_error(k->ssl, r);
		if (e == SSL_ERROR_ZERO_RETURN)
			return 0;
		if (e == SSL_ERROR_WANT_READ && conn_wait(k, POLLIN) == 1)
			continue;
		if (e == SSL_ERROR_WANT_WRITE && conn_wait(k, POLLOUT) == 1)
			continue;
		return -1;
	}
}

static ssize_t drv_write(mailstream_low *s, const void *buf, size_t n)
{
	em_conn_t *k = s->data;
	for (;;) {
		if (!k->ssl) {
			ssize_t r = send(k->fd, buf, n, MSG_NOSIGNAL);
			if (r >= 0)
				return r;
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN && conn_wait(k, POLLOUT) == 1)
				continue;
			return -1;
		}
		int r = SSL_write(k->ssl, buf, n > INT32_MAX ? INT32_MAX : (int)n);
		if (r > 0)
			return r;
		int e = SSL_get_error(k->ssl, r);
		if (e == SSL_ERROR_WANT_READ && conn_wait(k, POLLIN) == 1)
			continue;
		if (e == SSL_ERROR_WANT_WRITE && conn_wait(k, POLLOUT) == 1)
			continue;
		return -1;
	}
}

static int drv_close(mailstream_low *s)
{
	em_conn_t *k = s->data;
	if (k->ssl)
		(void)SSL_shutdown(k->ssl); /* best effort, non-blocking */
	if (k->fd >= 0)
		close(k->fd);
	k->fd = -1;
	return 0;
}

static int drv_get_fd(mailstream_low *s)
{
	em_conn_t *k = s->data;
	return k->fd;
}

static void drv_free(mailstream_low *s)
{
	conn_free(s->data);
	free(s);
}

static void drv_cancel(mailstream_low *s)
{
	(void)s;
}

static struct mailstream_cancel *drv_get_cancel(mailstream_low *s)
{
	(void)s;
	return NULL;
}

static carray *drv_chain(mailstream_low *s)
{
	(void)s;
	return NULL;
}

static int drv_idle_nop(mailstream_low *s)
{
	(void)s;
	return -1;
}

static mailstream_low_driver em_driver = {
	.mailstream_read = drv_read,
	.mailstream_write = drv_write,
	.mailstream_close = drv_close,
	.mailstream_get_fd = drv_get_fd,
	.mailstream_free = drv_free,
	.mailstream_cancel = drv_cancel,
	.mailstream_get_cancel = drv_get_cancel,
	.mailstream_get_certificate_chain = drv_chain,
	.mailstream_setup_idle = drv_idle_nop,
	.mailstream_unsetup_idle = drv_idle_nop,
	.mailstream_interrupt_idle = drv_idle_nop,
};

mailstream *em_conn_stream(em_conn_t *k)
{
	mailstream_low *low = mailstream_low_new(k, &em_driver);
	if (!low) {
		conn_free(k);
		return NULL;
	}
	mailstream *s = mailstream_new(low, 8192);
	if (!s)
		mailstream_low_free(low); /* frees k too */
	return s;
}
