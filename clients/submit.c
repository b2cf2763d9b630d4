/* Submission client: TLS connect with a timeout, then BEGIN, DATA...,
 * END(SHA-256), and the job id once the server says the job is durable. */
#include "submit.h"

#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "pl_docinfo.h"
#include "pl_proto.h"
#include "pl_random.h"
#include "pl_tls.h"
#include "pl_util.h"



int sub_fail(sub_t *s, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->msg, s->msgsz, fmt, ap);
	va_end(ap);
	return code;
}

/* poll one descriptor: its revents, or 0 on timeout. */
static short wait_io(int fd, short ev, int ms)
{
	struct pollfd p = { fd, ev, 0 };
	int n;
	do {
		n = poll(&p, 1, ms);
	} while (n < 0 && errno == EINTR);
	return n > 0 ? p.revents : 0;
}

int sub_tcp_connect(sub_t *s)
{
	char port[16];
	struct addrinfo hints = { 0 }, *res, *ai;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(port, sizeof(port), "%d", s->o->port);
	int gai = getaddrinfo(s->o->host, port, &hints, &res);
	if (gai)
		return sub_fail(s, SUB_ECONNECT, "%s: %s", s->o->host, gai_strerror(gai));
	int err = 0;
	for (ai = res; ai; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 ||
		    (errno == EINPROGRESS && wait_io(fd, POLLOUT, s->o->timeout_ms) != 0)) {
			socklen_t sl = sizeof(err);
			getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl);
			if (err == 0) {
				/* The last DATA and END go in separate writes:
				 * no Nagle wait for the server's delayed ACK. */
				int one = 1;
				setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
				s->fd = fd;
				break;
			}
		} else {
			err = errno == EINPROGRESS ? ETIMEDOUT : errno;
		}
		close(fd);
	}
	freeaddrinfo(res);
	if (s->fd < 0)
		return sub_fail(s, SUB_ECONNECT, "%s:%d: %s", s->o->host, s->o->port,
			    strerror(err ? err : ECONNREFUSED));
	return SUB_OK;
}

/* How a wait for an SSL call ended. errno is cleared before each SSL
 * call, so that SSL_ERROR_SYSCALL with errno 0 means a plain EOF. */
enum { W_RETRY = 0, W_ANSWER = 1, W_LOST = -1, W_TLS = -2, W_TIMEOUT = -3 };

/* Why an SSL call failed for good, in a few words, and its class: the
 * connection ended (closed, reset: W_LOST) or TLS itself failed (W_TLS). */
static int ssl_why(sub_t *s, int rc, char *why, size_t sz)
{
	int e = SSL_get_error(s->ssl, rc);
	unsigned long err = ERR_peek_error();

	if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && errno == 0) ||
	    (e == SSL_ERROR_SSL && ERR_GET_REASON(err) == SSL_R_UNEXPECTED_EOF_WHILE_READING)) {
		pl_strlcpy(why, "the server closed the connection", sz);
		ERR_clear_error();
		return W_LOST;
	}
	if (e == SSL_ERROR_SYSCALL) {
		(void)pl_fmt(why, sz, "%s", errno == EPIPE ? "the server closed the connection"
			     : strerror(errno));
		ERR_clear_error();
		return W_LOST;
	}
	pl_tls_errstr(why, sz);
	return W_TLS;
}

/* Wait until the SSL call that returned rc may be repeated (W_RETRY), or
 * say why not. During an upload a write also watches for something to
 * read (W_ANSWER): the server speaks then only to refuse. */
static int ssl_wait(sub_t *s, int rc, char *why, size_t sz)
{
	int e = SSL_get_error(s->ssl, rc);
	short ev, got;

	if (e == SSL_ERROR_WANT_READ)
		ev = POLLIN;
	else if (e == SSL_ERROR_WANT_WRITE)
		ev = POLLOUT | (s->uploading ? POLLIN : 0);
	else
		return ssl_why(s, rc, why, sz);
	got = wait_io(s->fd, ev, s->o->timeout_ms);
	if (got == 0) {
		(void)pl_fmt(why, sz, "no progress for %d s", s->o->timeout_ms / 1000);
		return W_TIMEOUT;
	}
	return s->uploading && (got & POLLIN) ? W_ANSWER : W_RETRY;
}

/* The connection ended while `when`: ELOST (a retry may work). */
static int lost(sub_t *s, const char *when, const char *why)
{
	return sub_fail(s, SUB_ELOST, "connection to %s:%d lost %s: %s", s->o->host,
			s->o->port, when, why);
}

int sub_fingerprint_parse(const char *text, unsigned char out[32])
{
	size_t n = 0;
	for (const char *p = text; *p; p++) {
		int hi, lo;
		if (*p == ':')
			continue;
		if (n == 32 || !p[1] || (hi = pl_hex_digit(p[0])) < 0 ||
		    (lo = pl_hex_digit(p[1])) < 0)
			return -1;
		out[n++] = (unsigned char)(hi << 4 | lo);
		p++;
	}
	return n == 32 ? 0 : -1;
}

static int check_peer(sub_t *s)
{
	char fp[128];
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	if (!s->o->fingerprint)
		return SUB_OK;
	X509 *x = SSL_get1_peer_certificate(s->ssl);
	if (!x || !X509_digest(x, EVP_sha256(), md, &n)) {
		X509_free(x);
		return sub_fail(s, SUB_EPEER, "the server sent no certificate");
	}
	X509_free(x);
	for (unsigned i = 0; i < n; i++)
		snprintf(fp + i * 3, sizeof(fp) - i * 3, "%02X%s", md[i], i + 1 < n ? ":" : "");
	unsigned char want[32];
	if (sub_fingerprint_parse(s->o->fingerprint, want) < 0 || n != 32 ||
	    memcmp(want, md, 32) != 0)
		return sub_fail(s, SUB_EPEER, "server certificate fingerprint %s does not match "
			    "the configured %s", fp, s->o->fingerprint);
	return SUB_OK;
}

/* A TLS session on the connected socket, named for the host we dial. */
int sub_tls_start(sub_t *s, SSL_CTX *ctx)
{
	s->ssl = SSL_new(ctx);
	if (!s->ssl)
		return sub_fail(s, SUB_ETLS, "SSL_new failed");
	SSL_set_fd(s->ssl, s->fd);
	SSL_set_tlsext_host_name(s->ssl, s->o->host);
	return SUB_OK;
}

/* A failed handshake, by who must act: a certificate that did not verify
 * or TLS that could not be agreed is the administrator's (ETLS); a server
 * that closed or reset the connection, or went silent, may be busy or
 * restarting (ELOST: the server closes connections over max_clients
 * before the handshake). */
static int handshake_failed(sub_t *s, int cls, const char *why)
{
	long v = SSL_get_verify_result(s->ssl);

	if (s->o->ca && v != X509_V_OK)
		return sub_fail(s, SUB_EPEER, "the certificate of %s:%d does not verify "
				"against %s: %s", s->o->host, s->o->port, s->o->ca,
				X509_verify_cert_error_string(v));
	if (cls == W_LOST || cls == W_TIMEOUT)
		return sub_fail(s, SUB_ELOST, "%s:%d ended the connection during the TLS "
				"handshake (%s): busy or restarting?", s->o->host,
				s->o->port, why);
	return sub_fail(s, SUB_ETLS, "TLS with %s:%d failed: %s", s->o->host,
			s->o->port, why);
}

/* The handshake on the non-blocking socket, within the I/O timeout. */
int sub_tls_handshake(sub_t *s)
{
	char why[256];
	for (;;) {
		ERR_clear_error();
		errno = 0;
		int rc = SSL_connect(s->ssl);
		if (rc == 1)
			return SUB_OK;
		int w = ssl_wait(s, rc, why, sizeof(why));
		if (w < 0)
			return handshake_failed(s, w, why);
	}
}

static int tls_connect(sub_t *s)
{
	pl_err_t err;
	int rc;
	s->ctx = pl_tls_client_ctx(s->o->ca, &err);
	if (!s->ctx)
		return sub_fail(s, SUB_ETLS, "%s", err.msg);
	if ((rc = sub_tls_start(s, s->ctx)) != SUB_OK)
		return rc;
	if (s->o->ca) {
		/* Check the name we dialled: a DNS name, or an address
		 * against the certificate's IP entries. */
		unsigned char a[16];
		X509_VERIFY_PARAM *vp = SSL_get0_param(s->ssl);
		if (inet_pton(AF_INET, s->o->host, a) == 1 ||
		    inet_pton(AF_INET6, s->o->host, a) == 1)
			X509_VERIFY_PARAM_set1_ip_asc(vp, s->o->host);
		else
			SSL_set1_host(s->ssl, s->o->host);
	}
	if ((rc = sub_tls_handshake(s)) != SUB_OK)
		return rc;
	return check_peer(s);
}

/* The server spoke during an upload: read what came. It may be TLS
 * housekeeping only (TLS 1.3 session tickets arrive after the handshake):
 * W_RETRY, go on writing. W_ANSWER when a frame has begun. */
static int upload_peek(sub_t *s, char *why, size_t sz)
{
	uint8_t buf[4096];
	ERR_clear_error();
	errno = 0;
	int n = SSL_read(s->ssl, buf, sizeof(buf));
	if (n > 0)
		return pl_reader_feed(&s->rd, buf, (size_t)n) < 0 ? W_LOST : W_ANSWER;
	int e = SSL_get_error(s->ssl, n);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
		return W_RETRY;
	return ssl_why(s, n, why, sz);
}

/* A write failed or the server spoke first: a server that refuses says
 * why, then closes, so read its RESULT if it came. Our refusal on its
 * terms, or ELOST when it closed without a word. */
static int refused_midway(sub_t *s, const char *why)
{
	int rc = sub_recv_result(s, NULL, 0);
	if (rc == SUB_OK)
		return lost(s, "while sending", "unexpected answer from the server");
	return rc == SUB_ELOST ? lost(s, "while sending", why) : rc;
}

int sub_send_msg(sub_t *s, pl_msg_t *m)
{
	char why[256];
	size_t off = 0;
	if (pl_msg_finish(m) < 0)
		return sub_fail(s, SUB_EIO, "message too large");
	while (off < m->len) {
		ERR_clear_error();
		errno = 0;
		int n = SSL_write(s->ssl, m->buf + off, (int)(m->len - off));
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		int w = ssl_wait(s, n, why, sizeof(why));
		if (w == W_ANSWER)
			w = upload_peek(s, why, sizeof(why));
		if (w == W_ANSWER || (w == W_LOST && s->uploading))
			return refused_midway(s, why);
		if (w < 0)
			return lost(s, "while sending", why);
	}
	return SUB_OK;
}

/* Wait for the RESULT answering seq; translate its status. */
int sub_recv_result(sub_t *s, char *job_id, size_t idsz)
{
	char why[256];
	pl_frame_t f;
	uint8_t buf[16384];
	for (;;) {
		int rc = pl_reader_next(&s->rd, &f);
		if (rc < 0)
			return sub_fail(s, SUB_ELOST, "bad answer from the server: %s",
				    pl_proto_strerror(rc));
		if (rc == 1)
			break;
		ERR_clear_error();
		errno = 0;
		int n = SSL_read(s->ssl, buf, sizeof(buf));
		if (n > 0) {
			pl_reader_feed(&s->rd, buf, (size_t)n);
			continue;
		}
		if (ssl_wait(s, n, why, sizeof(why)) < 0)
			return lost(s, "waiting for the answer", why);
	}
	uint32_t st = PL_STATUS_ERROR;
	char text[512] = "";
	pl_frame_get_u32(&f, PL_TAG_STATUS, &st);
	pl_frame_get_str(&f, PL_TAG_MESSAGE, text, sizeof(text));
	if (job_id)
		pl_frame_get_str(&f, PL_TAG_JOB_ID, job_id, idsz);
	if (st == PL_STATUS_OK)
		return SUB_OK;
	return sub_fail(s, st == PL_STATUS_AUTH ? SUB_EAUTH
		    : (st == PL_STATUS_BUSY || st == PL_STATUS_ERROR) ? SUB_EBUSY
		    : st == PL_STATUS_NOTFOUND ? SUB_ENOPRINTER
		    : SUB_EREFUSED, "refused by the server: %s", text);
}

int sub_send_begin(sub_t *s, uint64_t size)
{
	const sub_opts_t *o = s->o;
	pl_msg_t m;
	pl_msg_init(&m, PL_MSG_SUBMIT_BEGIN, 0, ++s->seq);
	pl_msg_add_str(&m, PL_TAG_TOKEN, o->token);
	pl_msg_add_str(&m, PL_TAG_USER, o->user);
	pl_msg_add_u64(&m, PL_TAG_SIZE, size);
	if (o->title)
		pl_msg_add_str(&m, PL_TAG_TITLE, o->title);
	if (o->printer)
		pl_msg_add_str(&m, PL_TAG_PRINTER, o->printer);
	if (o->format)
		pl_msg_add_str(&m, PL_TAG_FORMAT, o->format);
	if (o->page_size)
		pl_msg_add_str(&m, PL_TAG_PAGE_SIZE, o->page_size);
	if (o->pages)
		pl_msg_add_u32(&m, PL_TAG_PAGES, o->pages);
	if (o->idem_key)
		pl_msg_add_str(&m, PL_TAG_IDEMPOTENCY_KEY, o->idem_key);
	if (o->hold)
		pl_msg_add_u8(&m, PL_TAG_OFFNET_HOLD, 1);
	int rc = sub_send_msg(s, &m);
	pl_msg_free(&m);
	s->known_id[0] = '\0';
	return rc ? rc : sub_recv_result(s, s->known_id, sizeof(s->known_id));
}

/* SUBMIT_DATA frames with exactly size bytes of in (a file that grows
 * meanwhile is cut at the size announced), hashed into sha. */
static int send_data(sub_t *s, int in, uint64_t size, uint8_t sha[32])
{
	uint8_t *buf = malloc(SUB_CHUNK);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned int shalen = 0;
	int rc = SUB_OK;

	if (!buf || !md || !EVP_DigestInit_ex(md, EVP_sha256(), NULL))
		rc = sub_fail(s, SUB_EIO, "out of memory");
	s->uploading = 1;
	while (rc == SUB_OK && size > 0) {
		ssize_t n = read(in, buf, size < SUB_CHUNK ? (size_t)size : SUB_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = sub_fail(s, SUB_EIO, "reading the document: %s",
				      n < 0 ? strerror(errno) : "it shrank while being sent");
			break;
		}
		size -= (uint64_t)n;
		EVP_DigestUpdate(md, buf, (size_t)n);
		pl_msg_t m;
		pl_msg_init(&m, PL_MSG_SUBMIT_DATA, 0, 0);
		pl_msg_add(&m, PL_TAG_PAYLOAD, buf, (size_t)n);
		rc = sub_send_msg(s, &m);
		pl_msg_free(&m);
	}
	s->uploading = 0;
	if (rc == SUB_OK && !EVP_DigestFinal_ex(md, sha, &shalen))
		rc = sub_fail(s, SUB_EIO, "SHA-256 failed");
	free(buf);
	EVP_MD_CTX_free(md);
	return rc;
}

/* BEGIN, DATA..., END, and the job id once the job is durable (or at
 * once, when the server already holds this submission). */
static int send_job(sub_t *s, int in, uint64_t size, char *job_id, size_t idsz)
{
	uint8_t sha[32];
	pl_msg_t m;
	int rc = sub_send_begin(s, size);

	if (rc != SUB_OK)
		return rc;
	if (s->known_id[0]) {
		pl_strlcpy(job_id, s->known_id, idsz);
		sub_fail(s, SUB_OK, "already held as job %s (the same idempotency key): "
			 "nothing sent again", s->known_id);
		return SUB_OK;
	}
	if ((rc = send_data(s, in, size, sha)) != SUB_OK)
		return rc;
	pl_msg_init(&m, PL_MSG_SUBMIT_END, 0, ++s->seq);
	pl_msg_add(&m, PL_TAG_SHA256, sha, 32);
	rc = sub_send_msg(s, &m);
	pl_msg_free(&m);
	if (rc == SUB_OK)
		rc = sub_recv_result(s, job_id, idsz);
	/* Sent in full, then no answer: the commit may have happened. */
	return rc == SUB_ELOST ? SUB_EUNKNOWN : rc;
}

/* Everything a submission checks before it connects: SUB_OK or why not. */
static int send_check(sub_t *s, const struct stat *st)
{
	const sub_opts_t *o = s->o;
	uint8_t sha[32];

	if (!S_ISREG(st->st_mode))
		return sub_fail(s, SUB_EUSAGE, "the input must be a regular file (use sub_spool)");
	/* Nothing to print is a failure upstream (a filter that wrote
	 * nothing), not a job: say so here, without a round trip. */
	if (st->st_size == 0)
		return sub_fail(s, SUB_EEMPTY, "the document is empty (0 bytes): nothing "
			    "to hold; was it produced by a program that failed?");
	if (!o->ca && !o->fingerprint && !o->insecure)
		return sub_fail(s, SUB_EUSAGE, "no way to check the server's identity: give "
			    "its certificate (--ca) or fingerprint (--fingerprint), or "
			    "--insecure for testing");
	if (o->fingerprint && sub_fingerprint_parse(o->fingerprint, sha) < 0)
		return sub_fail(s, SUB_EUSAGE, "malformed fingerprint '%.100s': expected "
			    "the SHA-256 of the server's certificate, 64 hex digits, "
			    "in either case, with or without colons", o->fingerprint);
	if (o->idem_key && !sub_key_valid(o->idem_key))
		return sub_fail(s, SUB_EUSAGE, "malformed idempotency key: 1 to %d of "
			    "A-Z a-z 0-9 . _ : -", SUB_KEY_MAX);
	return SUB_OK;
}

typedef struct {
	sub_t *s;
	int in;
	uint64_t size;
	char *job_id;
	size_t idsz;
} sub_run_t;

static int sub_run(void *arg)
{
	sub_run_t *r = arg;
	sub_t *s = r->s;
	int rc;

	pl_reader_init(&s->rd, 64 * 1024);
	if ((rc = sub_tcp_connect(s)) == SUB_OK && (rc = tls_connect(s)) == SUB_OK)
		rc = send_job(s, r->in, r->size, r->job_id, r->idsz);
	if (s->ssl) {
		/* close_notify, unless the connection is gone (OpenSSL: no
		 * more I/O after a fatal error). */
		if (rc != SUB_ELOST && rc != SUB_EUNKNOWN)
			SSL_shutdown(s->ssl);
		SSL_free(s->ssl);
	}
	SSL_CTX_free(s->ctx);
	if (s->fd >= 0)
		close(s->fd);
	pl_reader_free(&s->rd);
	return rc;
}

int sub_send(const sub_opts_t *o, int in, char *job_id, size_t idsz,
	     char *msg, size_t msgsz)
{
	sub_t s = { .o = o, .fd = -1, .msg = msg, .msgsz = msgsz };
	struct stat st;
	int rc;

	msg[0] = '\0';
	if (fstat(in, &st) < 0)
		return sub_fail(&s, SUB_EIO, "the document: %s", strerror(errno));
	if ((rc = send_check(&s, &st)) != SUB_OK)
		return rc;
	sub_run_t r = { &s, in, (uint64_t)st.st_size, job_id, idsz };
	return sub_nosigpipe(sub_run, &r);
}

int sub_nosigpipe(int (*fn)(void *), void *arg)
{
	sigset_t pipe_set, old, pending;
	struct timespec zero = { 0, 0 };
	int was_pending;

	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	sigpending(&pending);
	was_pending = sigismember(&pending, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
	int rc = fn(arg);
	/* Take back a SIGPIPE our own writes raised (one that was pending
	 * before is not ours), then unblock. */
	sigpending(&pending);
	if (!was_pending && sigismember(&pending, SIGPIPE))
		while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR)
			;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

int sub_key_valid(const char *key)
{
	size_t n = strlen(key);
	if (n == 0 || n > SUB_KEY_MAX)
		return 0;
	return strspn(key, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			   "0123456789._:-") == n;
}

int sub_key_random(char *out, size_t sz)
{
	if (sz < 33)
		return -1;
	return pl_random_hex(out, 16);
}

int sub_spool(int in, char *msg, size_t msgsz)
{
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	int fd = open(tmp, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	char buf[65536];
	if (fd < 0) {
		snprintf(msg, msgsz, "cannot create a temporary file in %s: %s", tmp,
			 strerror(errno));
		return -1;
	}
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n < 0) {
				snprintf(msg, msgsz, "reading standard input: %s", strerror(errno));
				close(fd);
				return -1;
			}
			break;
		}
		if (pl_write_all(fd, buf, (size_t)n) < 0) {
			snprintf(msg, msgsz, "spooling: %s", strerror(errno));
			close(fd);
			return -1;
		}
	}
	lseek(fd, 0, SEEK_SET);
	return fd;
}

int sub_read_token(const char *path, char *tok, size_t sz, char *msg,
		   size_t msgsz)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		snprintf(msg, msgsz, "token file %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (st.st_mode & 0077) {
		snprintf(msg, msgsz, "token file %s is readable by group or others "
			 "(mode %04o); chmod 600 it", path, (unsigned)(st.st_mode & 07777));
		close(fd);
		return -1;
	}
	ssize_t n = read(fd, tok, sz - 1);
	close(fd);
	if (n <= 0) {
		snprintf(msg, msgsz, "token file %s is empty", path);
		return -1;
	}
	tok[n] = '\0';
	tok[strcspn(tok, " \t\r\n")] = '\0';
	return 0;
}

const char *sub_detect_format(int fd)
{
	uint8_t head[PL_DOCINFO_HEAD];
	ssize_t n;

	do {
		n = pread(fd, head, sizeof(head), 0);
	} while (n < 0 && errno == EINTR);
	return pl_docinfo_mime(pl_docinfo_sniff(head, n > 0 ? (size_t)n : 0));
}
