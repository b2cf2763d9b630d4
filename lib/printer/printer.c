/* pl_printer: printer URIs, the delivery entry point, and raw socket://
 * (AppSocket/JetDirect) delivery. IPP lives in printer-ipp.c.
 *
 * A raw printer has no status channel. The only evidence that a job
 * arrived whole is that every byte was accepted and that the printer then
 * closed its side after seeing our end of data (shutdown(SHUT_WR)). On any
 * failure we close with a reset (SO_LINGER 0) instead of a FIN, so the
 * printer sees an aborted connection rather than a clean end of job. */
#include "printer-private.h"

#include <cups/http.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "pl_util.h"

#define SOCKET_DEFAULT_PORT 9100
#define SOCKET_CHUNK (64 * 1024)
#define SOCKET_SENDFILE_MAX (1024 * 1024) /* a sendfile(2) call at most */
/* Some printers talk back (PJL status); we discard it, but not forever. */
#define SOCKET_BACKTALK_MAX (1024 * 1024)

#define URI_EXPECTED \
	"expected socket://host[:port], ipp://host[:port]/path or ipps://host[:port]/path"

/* ---- errors ---------------------------------------------------------- */

const char *pl_printer_strerror(int e, char *buf, size_t sz)
{
	/* GNU strerror_r may return a static string instead of filling buf. */
	const char *s = strerror_r(e, buf, sz);

	if (s != buf)
		pl_strlcpy(buf, s, sz);
	/* "Connection refused" reads better mid-sentence as "connection
	 * refused"; leave "I/O error" and the like alone. */
	if (buf[0] >= 'A' && buf[0] <= 'Z' && buf[1] >= 'a' && buf[1] <= 'z')
		buf[0] = (char)(buf[0] - 'A' + 'a');
	return buf;
}

int pl_printer_fail(pl_printer_job_t *job, const char *fmt, ...)
{
	char msg[PL_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Truncation only shortens an already long message. */
	(void)pl_fmt(job->err->msg, sizeof(job->err->msg), "%s: %s",
		     job->u.where, msg);
	return -1;
}

static int uri_fail(pl_err_t *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int uri_fail(pl_err_t *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -1;
}

/* ---- URIs ------------------------------------------------------------ */

static const struct {
	const char *name;
	pl_printer_kind_t kind;
} uri_schemes[] = {
	{ "socket", PL_PRINTER_SOCKET },
	{ "ipp", PL_PRINTER_IPP },
	{ "ipps", PL_PRINTER_IPPS },
};

static int is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int is_hex(int c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Whole-string checks first, so the parsers below never see spaces,
 * control bytes or unbounded input. */
static int uri_check_text(const char *uri, pl_err_t *err)
{
	size_t len;

	if (uri == NULL || *uri == '\0')
		return uri_fail(err, "no printer URI (%s)", URI_EXPECTED);
	len = strnlen(uri, PL_PRINTER_URI_MAX);
	if (len >= PL_PRINTER_URI_MAX)
		return uri_fail(err, "printer URI too long (at most %d bytes)",
				PL_PRINTER_URI_MAX - 1);
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)uri[i] <= ' ' || uri[i] == 0x7f)
			return uri_fail(err, "printer URI contains a space or control character at byte %zu",
					i + 1);
	return 0;
}

static int uri_scheme(const char *uri, pl_printer_kind_t *kind, pl_err_t *err)
{
	const char *sep = strstr(uri, "://");
	size_t len = sep != NULL ? (size_t)(sep - uri) : 0;

	if (len == 0 || !is_alpha((unsigned char)uri[0]))
		return uri_fail(err, "invalid printer URI (%s)", URI_EXPECTED);
	for (size_t i = 1; i < len; i++) {
		int c = (unsigned char)uri[i];
		if (!is_alpha(c) && !is_digit(c) && c != '+' && c != '-' &&
		    c != '.')
			return uri_fail(err, "invalid printer URI (%s)",
					URI_EXPECTED);
	}
	for (size_t i = 0; i < PL_ARRAY_LEN(uri_schemes); i++) {
		if (strlen(uri_schemes[i].name) == len &&
		    strncasecmp(uri, uri_schemes[i].name, len) == 0) {
			*kind = uri_schemes[i].kind;
			return 0;
		}
	}
	return uri_fail(err, "unsupported printer URI scheme '%.*s' (use socket://, ipp:// or ipps://)",
			(int)(len > 32 ? 32 : len), uri);
}

static int uri_port(const char *s, size_t len, int *port, pl_err_t *err)
{
	int v = 0;

	if (len == 0 || len > 5)
		goto bad;
	for (size_t i = 0; i < len; i++) {
		if (!is_digit((unsigned char)s[i]))
			goto bad;
		v = v * 10 + (s[i] - '0');
	}
	if (v < 1 || v > 65535)
		goto bad;
	*port = v;
	return 0;
bad:
	return uri_fail(err, "bad port '%.*s' in printer URI (expected 1-65535)",
			(int)(len > 16 ? 16 : len), s);
}

/* Names and IPv4 literals: letters, digits, '-', '.', '_'. IPv6 literals
 * (bracketed): hex digits, ':' and '.' (an embedded IPv4 tail). */
static int uri_host_ok(const char *h, int v6)
{
	for (; *h != '\0'; h++) {
		int c = (unsigned char)*h;
		if (v6 ? !(is_hex(c) || c == ':' || c == '.')
		       : !(is_alpha(c) || is_digit(c) || c == '-' ||
			   c == '.' || c == '_'))
			return 0;
	}
	return 1;
}

/* host and port of a socket:// authority, p..p+len, no userinfo. */
static int uri_authority(const char *p, size_t len, pl_printer_uri_t *u,
			 pl_err_t *err)
{
	const char *end = p + len, *port = NULL, *host = p;
	size_t hlen;
	int v6 = p[0] == '[';

	if (v6) {
		const char *close = memchr(p, ']', len);
		if (close == NULL)
			return uri_fail(err, "missing ']' after the IPv6 address in printer URI");
		host = p + 1;
		hlen = (size_t)(close - host);
		if (close + 1 < end && close[1] != ':')
			return uri_fail(err, "unexpected characters after ']' in printer URI");
		port = close + 1 < end ? close + 2 : NULL;
	} else {
		const char *colon = memchr(p, ':', len);
		hlen = colon != NULL ? (size_t)(colon - p) : len;
		port = colon != NULL ? colon + 1 : NULL;
		if (port != NULL && memchr(port, ':', (size_t)(end - port)))
			return uri_fail(err, "IPv6 addresses in printer URIs go in brackets (socket://[::1]:9100)");
	}
	if (hlen == 0)
		return uri_fail(err, "missing host in printer URI");
	if (hlen >= sizeof(u->host))
		return uri_fail(err, "host name in printer URI too long");
	memcpy(u->host, host, hlen);
	u->host[hlen] = '\0';
	if (!uri_host_ok(u->host, v6))
		return uri_fail(err, "invalid host '%.64s' in printer URI",
				u->host);
	u->port = SOCKET_DEFAULT_PORT;
	return port != NULL ? uri_port(port, (size_t)(end - port), &u->port, err)
			    : 0;
}

/* Our own parser: libcups' httpSeparateURI accepts socket:// too, but it
 * also takes user names, paths and options that mean nothing to a raw
 * printer; refusing them here catches typos before a job is released. */
static int uri_parse_socket(const char *uri, pl_printer_uri_t *u,
			    pl_err_t *err)
{
	const char *p = strstr(uri, "://") + 3;
	size_t alen = strcspn(p, "/?#");
	const char *rest = p + alen;

	if (*rest != '\0' && strcmp(rest, "/") != 0)
		return uri_fail(err, "socket:// printer URIs take no path or options ('%.64s')",
				rest);
	if (memchr(p, '@', alen) != NULL)
		return uri_fail(err, "user names and passwords in printer URIs are not supported");
	return uri_authority(p, alen, u, err);
}

static int uri_parse_ipp(const char *uri, pl_printer_uri_t *u, pl_err_t *err)
{
	char scheme[16], user[256];
	http_uri_status_t st;

	st = httpSeparateURI(HTTP_URI_CODING_ALL, uri, scheme, sizeof(scheme),
			     user, sizeof(user), u->host, sizeof(u->host),
			     &u->port, u->resource, sizeof(u->resource));
	if (st == HTTP_URI_STATUS_BAD_PORT)
		return uri_fail(err, "bad port in printer URI (expected 1-65535)");
	if (st == HTTP_URI_STATUS_BAD_HOSTNAME)
		return uri_fail(err, "invalid host in printer URI");
	if (st < HTTP_URI_STATUS_OK)
		return uri_fail(err, "invalid printer URI: %s",
				httpURIStatusString(st));
	if (user[0] != '\0')
		return uri_fail(err, "user names and passwords in printer URIs are not supported");
	if (u->host[0] == '\0')
		return uri_fail(err, "missing host in printer URI");
	if (u->port < 1 || u->port > 65535)
		return uri_fail(err, "bad port in printer URI (expected 1-65535)");
	if (u->resource[0] == '\0')
		pl_strlcpy(u->resource, "/", sizeof(u->resource));
	return 0;
}

int pl_printer_parse_uri(const char *uri, pl_printer_uri_t *u, pl_err_t *err)
{
	int rc;

	memset(u, 0, sizeof(*u));
	if (uri_check_text(uri, err) < 0 || uri_scheme(uri, &u->kind, err) < 0)
		return -1;
	rc = u->kind == PL_PRINTER_SOCKET ? uri_parse_socket(uri, u, err)
					  : uri_parse_ipp(uri, u, err);
	if (rc < 0)
		return -1;
	(void)pl_fmt(u->where, sizeof(u->where),
		     strchr(u->host, ':') != NULL ? "[%s]:%d" : "%s:%d",
		     u->host, u->port);
	return 0;
}

int pl_printer_check_uri(const char *uri, pl_err_t *err)
{
	pl_printer_uri_t u;
	pl_err_t dummy;

	return pl_printer_parse_uri(uri, &u, err != NULL ? err : &dummy);
}

/* SIGPIPE blocked in this thread, and one raised meanwhile swallowed
 * before the old mask returns: a printer that hangs up can never kill a
 * caller that did not ignore SIGPIPE (libcups' send, our sendfile). */
void pl_printer_sigpipe_block(pl_printer_sigpipe_t *s)
{
	sigset_t set, pending;

	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	sigemptyset(&pending);
	(void)sigpending(&pending);
	s->was_pending = sigismember(&pending, SIGPIPE) == 1;
	pthread_sigmask(SIG_BLOCK, &set, &s->old);
}

void pl_printer_sigpipe_restore(const pl_printer_sigpipe_t *s)
{
	static const struct timespec zero = { 0, 0 };
	sigset_t set, pending;

	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	sigemptyset(&pending);
	(void)sigpending(&pending);
	if (!s->was_pending && sigismember(&pending, SIGPIPE) == 1)
		while (sigtimedwait(&set, NULL, &zero) < 0 && errno == EINTR)
			;
	pthread_sigmask(SIG_SETMASK, &s->old, NULL);
}

/* ---- delivery entry point --------------------------------------------- */

ssize_t pl_printer_pull(pl_printer_job_t *job, void *buf, size_t n)
{
	pl_err_t serr;
	ssize_t got;

	serr.msg[0] = '\0';
	got = job->src(job->arg, buf, n, &serr);
	if (got < 0)
		return pl_printer_fail(job, "document source failed after %zu bytes: %s",
				       job->sent,
				       serr.msg[0] != '\0' ? serr.msg : "no reason given");
	if ((size_t)got > n)
		return pl_printer_fail(job, "document source returned %zd bytes for a %zu-byte buffer",
				       got, n);
	return got;
}

void pl_printer_not_applied(pl_printer_job_t *job, const char *opt)
{
	char *d = job->o.not_applied;
	size_t sz = job->o.not_applied_sz;
	if (d == NULL || sz == 0 || opt == NULL || opt[0] == '\0')
		return;
	size_t have = strlen(d);
	/* whole options only: one that does not fit is left out */
	if (have + (have > 0) + strlen(opt) < sz)
		snprintf(d + have, sz - have, "%s%s", have > 0 ? " " : "", opt);
}

static void opts_resolve(const pl_print_opts_t *o, pl_print_opts_t *out)
{
	static const pl_print_opts_t none = { 0 };

	*out = o != NULL ? *o : none;
	if (out->connect_timeout_ms <= 0)
		out->connect_timeout_ms = PL_PRINTER_CONNECT_MS;
	if (out->io_timeout_ms <= 0)
		out->io_timeout_ms = PL_PRINTER_IO_MS;
	if (out->format == NULL || out->format[0] == '\0')
		out->format = "application/octet-stream";
}

int pl_print(const char *uri, const pl_print_opts_t *o,
	     pl_print_source_t src, void *arg, size_t *sent, pl_err_t *err)
{
	return pl_print_via(NULL, uri, o, src, arg, sent, err);
}

int pl_print_via(pl_print_conn_t *pre, const char *uri, const pl_print_opts_t *o,
		 pl_print_source_t src, void *arg, size_t *sent, pl_err_t *err)
{
	pl_printer_job_t job;
	pl_err_t dummy;
	int rc;

	if (err == NULL)
		err = &dummy;
	err->msg[0] = '\0';
	if (sent != NULL)
		*sent = 0;
	memset(&job, 0, sizeof(job));
	job.pre = pre;
	if (pl_printer_parse_uri(uri, &job.u, err) < 0 || src == NULL) {
		pl_print_cancel(pre);
		return src == NULL ? uri_fail(err, "no document source") : -1;
	}
	job.uri = uri;
	job.src = src;
	job.arg = arg;
	job.err = err;
	opts_resolve(o, &job.o);
	if (job.o.not_applied != NULL && job.o.not_applied_sz > 0)
		job.o.not_applied[0] = '\0';
	if (job.u.kind == PL_PRINTER_SOCKET)
		pl_printer_drop_options(&job); /* raw: no job attributes */
	rc = job.u.kind == PL_PRINTER_SOCKET ? pl_printer_socket_print(&job)
					     : pl_printer_ipp_print(&job);
	pl_print_cancel(job.pre); /* not taken: ipp://, or a failure before */
	if (sent != NULL)
		*sent = job.sent;
	return rc;
}

/* ---- socket:// --------------------------------------------------------- */

typedef struct {
	pl_printer_job_t *job;
	int fd;
	size_t backtalk; /* bytes the printer sent us, discarded */
	char *buf;
} sock_t;

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* poll one fd for at most ms in all, restarting after signals: 1 ready
 * (*rev set), 0 timed out, -1 error (errno). */
static int sock_wait(int fd, short events, int ms, short *rev)
{
	long long end = now_ms() + ms;

	for (;;) {
		struct pollfd p = { .fd = fd, .events = events, .revents = 0 };
		long long left = end - now_ms();
		int n = poll(&p, 1, left > 0 ? (int)left : 0);
		if (n > 0) {
			*rev = p.revents;
			return 1;
		}
		if (n == 0)
			return 0;
		if (errno != EINTR)
			return -1;
	}
}

/* Start a non-blocking connect to one address: the socket (connected or
 * connecting), or -1 with *why = errno. */
static int sock_connect_begin(const struct addrinfo *ai, int *why)
{
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			ai->ai_protocol);

	if (fd < 0) {
		*why = errno;
		return -1;
	}
	/* After EINTR a non-blocking connect carries on in the background,
	 * exactly as after EINPROGRESS. */
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 || errno == EINPROGRESS ||
	    errno == EINTR)
		return fd;
	*why = errno;
	close(fd);
	return -1;
}

/* Wait at most ms for fd's connect to finish: fd, or -1 (fd closed) with
 * *why = errno, or *why = 0 when our own timer ran out. */
static int sock_connect_wait(int fd, int ms, int *why)
{
	int soerr = 0, r;
	socklen_t sl = sizeof(soerr);
	short rev = 0;

	r = sock_wait(fd, POLLOUT, ms, &rev);
	if (r > 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
		soerr = errno;
	if (r <= 0 || soerr != 0) {
		*why = r == 0 ? 0 : r < 0 ? errno : soerr;
		close(fd);
		return -1;
	}
	return fd;
}

/* Connect to one address within ms. The socket, or -1 with *why = errno,
 * or *why = 0 when our own timer ran out. */
static int sock_connect_one(const struct addrinfo *ai, int ms, int *why)
{
	int fd = sock_connect_begin(ai, why);

	return fd < 0 ? -1 : sock_connect_wait(fd, ms, why);
}

static int connect_failed(pl_printer_job_t *job, int why)
{
	char eb[128];

	if (why == 0)
		return pl_printer_fail(job, "timed out after %d ms connecting",
				       job->o.connect_timeout_ms);
	return pl_printer_fail(job, "%s", pl_printer_strerror(why, eb, sizeof(eb)));
}

static int resolve(const pl_printer_uri_t *u, struct addrinfo **res)
{
	struct addrinfo hints;
	char port[8];

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%d", u->port);
	return getaddrinfo(u->host, port, &hints, res);
}

/* Try every address of the host in turn, each with the full connect
 * timeout (a dead first address must not starve a live second one).
 * getaddrinfo itself blocks for as long as the resolver is configured to
 * wait; this runs off the main loop, as pl_printer.h says. */
int pl_printer_connect(pl_printer_job_t *job)
{
	struct addrinfo *res = NULL;
	char eb[128];
	int rc, fd = -1, why = 0;

	rc = resolve(&job->u, &res);
	if (rc != 0)
		return pl_printer_fail(job, "cannot resolve host: %s",
				       rc == EAI_SYSTEM ? pl_printer_strerror(errno, eb, sizeof(eb))
							: gai_strerror(rc));
	for (struct addrinfo *ai = res; ai != NULL && fd < 0; ai = ai->ai_next)
		fd = sock_connect_one(ai, job->o.connect_timeout_ms, &why);
	freeaddrinfo(res);
	return fd >= 0 ? fd : connect_failed(job, why);
}

/* ---- connecting ahead of the document ---- */

struct pl_print_conn {
	struct addrinfo *res;	   /* the host's addresses */
	const struct addrinfo *ai; /* the one fd is connecting to */
	int fd;			   /* connecting or connected, or -1 */
	int why;		   /* errno of the last address refused at once */
	long long started;	   /* now_ms() when the connect began */
};

pl_print_conn_t *pl_print_start(const char *uri)
{
	pl_printer_uri_t u;
	pl_err_t e;
	pl_print_conn_t *c;

	/* Anything but a socket:// printer connects as pl_print does, later;
	 * so does one whose address cannot be resolved now (pl_print_via
	 * then says why). */
	if (pl_printer_parse_uri(uri, &u, &e) < 0 || u.kind != PL_PRINTER_SOCKET ||
	    (c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->fd = -1;
	if (resolve(&u, &c->res) != 0) {
		free(c);
		return NULL;
	}
	c->started = now_ms();
	for (c->ai = c->res; c->ai != NULL && c->fd < 0; c->ai = c->ai->ai_next)
		if ((c->fd = sock_connect_begin(c->ai, &c->why)) >= 0)
			break;
	return c;
}

void pl_print_cancel(pl_print_conn_t *c)
{
	if (c == NULL)
		return;
	if (c->fd >= 0) {
		/* A reset, not a FIN: not one byte of a job went out. */
		struct linger l = { .l_onoff = 1, .l_linger = 0 };
		(void)setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
		close(c->fd);
	}
	if (c->res != NULL)
		freeaddrinfo(c->res);
	free(c);
}

/* The connect pl_print_start began, finished within what is left of the
 * connect timeout; then any further address, each with the full timeout,
 * as pl_printer_connect. Takes job->pre. */
static int pre_connect(pl_printer_job_t *job)
{
	pl_print_conn_t *c = job->pre;
	int fd = c->fd, why = c->why;
	long long left = job->o.connect_timeout_ms - (now_ms() - c->started);
	const struct addrinfo *ai = c->ai ? c->ai->ai_next : NULL;

	c->fd = -1;
	if (fd >= 0)
		fd = sock_connect_wait(fd, left > 0 ? (int)left : 0, &why);
	for (; ai != NULL && fd < 0; ai = ai->ai_next)
		fd = sock_connect_one(ai, job->o.connect_timeout_ms, &why);
	pl_print_cancel(c);
	job->pre = NULL;
	return fd >= 0 ? fd : connect_failed(job, why);
}

/* Read and discard whatever the printer has sent, so that neither side
 * blocks on a full buffer. 1 still open, 0 the printer closed, -1 error
 * (errno; EMSGSIZE when it would not stop talking). */
static int sock_drain(sock_t *s)
{
	char buf[4096];

	for (;;) {
		ssize_t n = recv(s->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n > 0) {
			s->backtalk += (size_t)n;
			if (s->backtalk > SOCKET_BACKTALK_MAX) {
				errno = EMSGSIZE;
				return -1;
			}
			continue;
		}
		if (n == 0)
			return 0;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 1;
		if (errno != EINTR)
			return -1;
	}
}

static int sock_io_error(sock_t *s, int e, const char *doing)
{
	char eb[128];

	if (e == EPIPE || e == ECONNRESET)
		return pl_printer_fail(s->job, "connection reset by the printer (%zu bytes sent)",
				       s->job->sent);
	if (e == EMSGSIZE)
		return pl_printer_fail(s->job, "printer sent more than %d bytes back while %s; giving up",
				       SOCKET_BACKTALK_MAX, doing);
	return pl_printer_fail(s->job, "%s while %s (%zu bytes sent)",
			       pl_printer_strerror(e, eb, sizeof(eb)), doing,
			       s->job->sent);
}

/* The printer took nothing: wait up to io_timeout_ms until it takes
 * more, reading what it says meanwhile. 0, or -1 with the job failed. */
static int sock_await(sock_t *s)
{
	pl_printer_job_t *job = s->job;
	short rev = 0;
	int r = sock_wait(s->fd, POLLOUT | POLLIN, job->o.io_timeout_ms, &rev), d;

	if (r == 0)
		return pl_printer_fail(job, "timed out after %d ms writing to the printer (%zu bytes sent)",
				       job->o.io_timeout_ms, job->sent);
	if (r < 0)
		return sock_io_error(s, errno, "writing to the printer");
	if ((rev & (POLLIN | POLLHUP | POLLERR)) == 0)
		return 0;
	/* A close before our end of data is an early hang-up, not a
	 * finished job. */
	d = sock_drain(s);
	if (d == 0)
		return pl_printer_fail(job, "printer closed the connection early (%zu bytes sent)",
				       job->sent);
	if (d < 0)
		return sock_io_error(s, errno, "writing to the printer");
	return 0;
}

/* Write n bytes, allowing io_timeout_ms each time the printer stops
 * taking data. MSG_NOSIGNAL: a printer that hangs up must not raise
 * SIGPIPE in the caller. */
static int sock_send(sock_t *s, const char *p, size_t n)
{
	pl_printer_job_t *job = s->job;

	while (n > 0) {
		ssize_t w = send(s->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w > 0) {
			p += w;
			n -= (size_t)w;
			job->sent += (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return sock_io_error(s, errno, "writing to the printer");
		if (sock_await(s) < 0)
			return -1;
	}
	return 0;
}

/* pl_print_fd_source's file straight to the (non-blocking) socket, with
 * the same timeouts: 0 at its end, 1 when sendfile cannot take this
 * file (nothing sent: read and send it instead), -1 failed. sendfile
 * has no MSG_NOSIGNAL: the caller blocks SIGPIPE around it. */
static int sock_sendfile(sock_t *s, int fd)
{
	pl_printer_job_t *job = s->job;

	for (;;) {
		ssize_t w = sendfile(s->fd, fd, NULL, SOCKET_SENDFILE_MAX);

		if (w > 0) {
			job->sent += (size_t)w;
			continue;
		}
		if (w == 0)
			return 0;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			if (sock_await(s) < 0)
				return -1;
			continue;
		}
		if ((errno == EINVAL || errno == ENOSYS) && job->sent == 0)
			return 1;
		return sock_io_error(s, errno, "sending the document to the printer");
	}
}

ssize_t pl_print_fd_source(void *arg, void *buf, size_t n, pl_err_t *err)
{
	ssize_t r;

	do
		r = read(*(const int *)arg, buf, n);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		snprintf(err->msg, sizeof(err->msg), "reading the document: %s",
			 strerror(errno));
	return r;
}

/* All data written: say so with a FIN, then wait for the printer's own
 * close, the "I have it all" of AppSocket. */
static int sock_finish(sock_t *s)
{
	pl_printer_job_t *job = s->job;

	if (shutdown(s->fd, SHUT_WR) < 0)
		return sock_io_error(s, errno, "ending the job");
	for (;;) {
		short rev = 0;
		int r = sock_wait(s->fd, POLLIN, job->o.io_timeout_ms, &rev), d;

		if (r == 0)
			return pl_printer_fail(job, "timed out after %d ms waiting for the printer to finish (all %zu bytes sent)",
					       job->o.io_timeout_ms, job->sent);
		if (r < 0)
			return sock_io_error(s, errno, "waiting for the printer to finish");
		d = sock_drain(s);
		if (d == 0)
			return 0;
		if (d < 0)
			return sock_io_error(s, errno, "waiting for the printer to finish");
	}
}

static int sock_stream(sock_t *s)
{
	if (s->job->src == pl_print_fd_source) {
		pl_printer_sigpipe_t sp;
		pl_printer_sigpipe_block(&sp);
		int rc = sock_sendfile(s, *(const int *)s->job->arg);
		pl_printer_sigpipe_restore(&sp);
		if (rc <= 0)
			return rc;
	}
	for (;;) {
		ssize_t n = pl_printer_pull(s->job, s->buf, SOCKET_CHUNK);
		if (n <= 0)
			return (int)n;
		if (sock_send(s, s->buf, (size_t)n) < 0)
			return -1;
	}
}

/* After a failure, reset rather than close: a FIN would tell the printer
 * the job ended normally, and it would print the part it has. */
static void sock_close(sock_t *s, int ok)
{
	if (!ok) {
		struct linger l = { .l_onoff = 1, .l_linger = 0 };
		(void)setsockopt(s->fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	}
	close(s->fd);
}

int pl_printer_socket_print(pl_printer_job_t *job)
{
	sock_t s = { .job = job, .fd = -1, .backtalk = 0, .buf = NULL };
	int rc;

	if ((s.buf = malloc(SOCKET_CHUNK)) == NULL)
		return pl_printer_fail(job, "out of memory");
	s.fd = job->pre ? pre_connect(job) : pl_printer_connect(job);
	if (s.fd < 0) {
		free(s.buf);
		return -1;
	}
	rc = sock_stream(&s);
	if (rc == 0)
		rc = sock_finish(&s);
	sock_close(&s, rc == 0);
	free(s.buf);
	return rc;
}
