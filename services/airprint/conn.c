/* Connections. The loop accepts (non-blocking) and hands each connection
 * to a worker thread of the "ap-conn" pool, which serves it with libcups'
 * blocking HTTP layer: TLS handshake, requests, answers, each read and
 * write bounded by client_timeout_s, the whole connection by
 * AP_CONN_MAX_MS, so a worker is never stuck for longer than that (the
 * runtime reports a pool whose oldest job is older, and plsc status shows
 * it). libcups owns the HTTP parsing; we read its fields. */
#include "ap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "pl_log.h"
#include "pl_util.h"

typedef struct {
	ap_t *ap;
	http_t *http;
	int tls;
	int port;
	char addr[64];
	/* The Authorization that last proved a user on this connection, and
	 * that user: a client repeats it on every request, and the PIN hash
	 * (scrypt) is slow by design, so the same header on the same
	 * connection is not checked again. Cleansed at close. */
	char authz[1024];
	char authz_user[128];
} ap_conn_t;

static int conn_timeout_cb(http_t *http, void *arg)
{
	(void)http;
	(void)arg;
	return 0; /* a timeout ends the call: no retries */
}

/* An answer without a body. www_auth: a WWW-Authenticate challenge (or
 * NULL); close: tell the client this connection ends. */
static void respond_plain(http_t *http, http_status_t st, const char *www_auth, int close)
{
	httpClearFields(http);
	if (www_auth)
		httpSetField(http, HTTP_FIELD_WWW_AUTHENTICATE, www_auth);
	if (close)
		httpSetField(http, HTTP_FIELD_CONNECTION, "close");
	httpSetField(http, HTTP_FIELD_CONTENT_TYPE, "text/plain");
	httpSetLength(http, 0);
	(void)httpWriteResponse(http, st);
}

static ssize_t http_write_cb(void *ctx, ipp_uchar_t *data, size_t n)
{
	return httpWrite2(ctx, (const char *)data, n);
}

/* resp, with extra (pre-encoded printer attributes, or NULL) */
static int respond_ipp(http_t *http, ipp_t *resp, const uint8_t *extra, size_t elen, int close)
{
	httpClearFields(http);
	if (close)
		httpSetField(http, HTTP_FIELD_CONNECTION, "close");
	httpSetField(http, HTTP_FIELD_CONTENT_TYPE, "application/ipp");
	httpSetLength(http, ap_ipp_length(resp, elen));
	if (httpWriteResponse(http, HTTP_STATUS_OK) < 0)
		return -1;
	return ap_ipp_write(resp, extra, elen, http_write_cb, http);
}

/* The printer-more-info page: its name and where it is, nothing else (no
 * web UI). */
static void respond_page(ap_conn_t *c)
{
	char body[512];
	int n = snprintf(body, sizeof(body),
			 "<!DOCTYPE html><html><head><title>%s</title></head><body>"
			 "<h1>%s</h1><p>Print from your device; release the job at any "
			 "printer.</p></body></html>\n",
			 c->ap->printer_name, c->ap->printer_name);
	httpClearFields(c->http);
	httpSetField(c->http, HTTP_FIELD_CONTENT_TYPE, "text/html; charset=utf-8");
	httpSetLength(c->http, (size_t)n);
	if (httpWriteResponse(c->http, HTTP_STATUS_OK) == 0 &&
	    httpGetState(c->http) != HTTP_STATE_HEAD)
		(void)httpWrite2(c->http, body, (size_t)n);
}

/* The Host header's name and port, for the URIs we answer with. */
static void req_host(ap_conn_t *c, char *host, size_t hsz, int *port)
{
	const char *h = c->ap->hostname[0] ? c->ap->hostname : httpGetField(c->http, HTTP_FIELD_HOST);
	*port = c->port;
	if (!h || !*h)
		h = "localhost";
	(void)pl_fmt(host, hsz, "%s", h);
	char *colon = strrchr(host, ':');
	if (colon && !strchr(colon, ']')) {
		*port = atoi(colon + 1);
		*colon = '\0';
	}
}

/* Read and drop the rest of a request body we will not use, up to 1 MiB:
 * 0 when it was all read (the connection can go on), -1 when not. */
static int drain_body(http_t *http)
{
	char buf[16384];
	size_t left = 1024 * 1024;
	ssize_t n = 1;
	if (httpGetState(http) != HTTP_STATE_POST_RECV)
		return 0;
	while (left > 0 && (n = httpRead2(http, buf, sizeof(buf))) > 0)
		left = (size_t)n < left ? left - (size_t)n : 0;
	return n == 0 ? 0 : -1;
}

/* An unauthenticated request whose body is larger than this (or of a
 * length not announced: chunked) and that waits for 100 Continue gets its
 * 401 before the body is sent: no operation that goes without credentials
 * (Get-Printer-Attributes, Validate-Job, Identify-Printer) comes near it,
 * so only a job's document is refused unread. */
#define AP_ANON_BODY_MAX (64 * 1024)

#define AP_LINGER_MS 2000 /* wait for the client to close, after a 401 */

/* After an answer that ends the connection before the body: a client
 * such as libcups sends the IPP request right behind its headers and
 * waits for 100 Continue only before the document, so bytes of it may
 * arrive after our 401. Closing with them unread would send a TCP reset,
 * which can destroy the 401 before the client reads it. So: end our
 * side (FIN; libcups waits for it before it gives up on the connection
 * and retries with credentials; without it each retry took AP_LINGER_MS),
 * then wait, at most AP_LINGER_MS, for the client to close, dropping what
 * it sends unread (the raw, still encrypted bytes; at most
 * AP_ANON_BODY_MAX of them), as web servers do in a "lingering close".
 * The TLS close_notify is not sent: httpClose's comes after the FIN and
 * goes nowhere, which the client sees as the end it is waiting for. */
static void linger(ap_conn_t *c)
{
	char buf[4096];
	size_t dropped = 0;
	int fd = httpGetFd(c->http);
	uint64_t t0 = pl_now_ms();
	(void)httpFlushWrite(c->http);
	(void)shutdown(fd, SHUT_WR);
	while (dropped < AP_ANON_BODY_MAX) {
		uint64_t spent = pl_now_ms() - t0;
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (spent >= AP_LINGER_MS || poll(&p, 1, (int)(AP_LINGER_MS - spent)) <= 0)
			break;
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			break; /* the client closed: done */
		if (n > 0)
			dropped += (size_t)n;
	}
}

/* A client that asked for 100 Continue: send it, or, when the request is
 * not authenticated (authed != 1) and carries a body no unauthenticated
 * operation has, answer 401 without reading the body and end the
 * connection (the client may send the body anyway: it cannot be told
 * from the next request). 1: 401 sent; 0: go on. */
static int answer_expect(ap_conn_t *c, int authed)
{
	const char *te = httpGetField(c->http, HTTP_FIELD_TRANSFER_ENCODING);
	int chunked = te && strcasecmp(te, "chunked") == 0;
	off_t len = chunked ? -1 : httpGetLength2(c->http);
	if (authed == 1 || (!chunked && len <= AP_ANON_BODY_MAX)) {
		/* our answer comes after the body: let the client send it */
		(void)httpWriteResponse(c->http, HTTP_STATUS_CONTINUE);
		return 0;
	}
	const char *creds = authed < 0 ? "without credentials" : "with refused credentials";
	if (chunked)
		pl_info("%s: a request of unknown length (chunked) %s: 401 before its body, "
			"which is not read", c->addr, creds);
	else
		pl_info("%s: a request of %lld bytes %s: 401 before its body, which is not read",
			c->addr, (long long)len, creds);
	respond_plain(c->http, HTTP_STATUS_UNAUTHORIZED, "Basic realm=\"Service Client\"", 1);
	linger(c);
	return 1;
}

/* One IPP request, headers read; expect: the client waits for 100
 * Continue before it sends the body. 0: the connection may go on. */
static int serve_ipp(ap_conn_t *c, int expect)
{
	ap_t *ap = c->ap;
	char user[128] = "", host[256];
	const char *why = NULL;
	const char *authz = httpGetField(c->http, HTTP_FIELD_AUTHORIZATION);
	int port;
	int have_creds = authz && *authz;

	if (have_creds && !c->tls) {
		/* credentials in the clear: refused before they are checked */
		pl_warn("%s: credentials over plain IPP refused", c->addr);
		httpClearFields(c->http);
		httpSetField(c->http, HTTP_FIELD_UPGRADE, "TLS/1.2,HTTP/1.1");
		httpSetField(c->http, HTTP_FIELD_CONNECTION, "close");
		httpSetLength(c->http, 0);
		(void)httpWriteResponse(c->http, HTTP_STATUS_UPGRADE_REQUIRED);
		return -1;
	}
	int authed = -1;
	if (have_creds && c->authz[0] && strcmp(authz, c->authz) == 0) {
		authed = 1;
		(void)pl_fmt(user, sizeof(user), "%s", c->authz_user);
	} else if (have_creds) {
		authed = ap_auth_check(ap, authz, c->addr, user, sizeof(user), &why);
		if (authed == 1 && strlen(authz) < sizeof(c->authz)) {
			(void)pl_fmt(c->authz, sizeof(c->authz), "%s", authz);
			(void)pl_fmt(c->authz_user, sizeof(c->authz_user), "%s", user);
		}
	}
	if (authed == 0)
		pl_warn("%s: authentication refused: %s", c->addr, why ? why : "wrong credentials");
	if (expect && answer_expect(c, authed))
		return -1;

	ipp_t *req = ippNew();
	ipp_state_t s;
	do {
		s = ippRead(c->http, req);
	} while (s != IPP_STATE_DATA && s != IPP_STATE_ERROR);
	if (s == IPP_STATE_ERROR) {
		ippDelete(req);
		pl_info("%s: unreadable IPP request", c->addr);
		respond_plain(c->http, HTTP_STATUS_BAD_REQUEST, NULL, 1);
		return -1;
	}
	if (authed != 1 && ap_ipp_needs_auth(req)) {
		if (!c->tls) {
			pl_warn("%s: %s over plain IPP refused: it needs credentials, over TLS only",
				c->addr, ippOpString(ippGetOperation(req)));
			httpClearFields(c->http);
			httpSetField(c->http, HTTP_FIELD_UPGRADE, "TLS/1.2,HTTP/1.1");
			httpSetField(c->http, HTTP_FIELD_CONNECTION, "close");
			httpSetLength(c->http, 0);
			(void)httpWriteResponse(c->http, HTTP_STATUS_UPGRADE_REQUIRED);
			ippDelete(req);
			return -1;
		}
		ippDelete(req);
		/* ask for credentials; the client sends the request again */
		int rc = drain_body(c->http);
		respond_plain(c->http, HTTP_STATUS_UNAUTHORIZED, "Basic realm=\"Service Client\"",
			      rc < 0);
		return rc;
	}
	req_host(c, host, sizeof(host), &port);
	ap_req_t r = { .ap = ap, .http = c->http, .user = authed == 1 ? user : "",
		       .host = host, .port = port, .tls = c->tls };
	ipp_t *resp = ap_ipp_handle(&r, req);
	ippDelete(req);
	/* a document we did not take (a refused Print-Job) */
	int rc = drain_body(c->http);
	if (respond_ipp(c->http, resp, r.extra, r.extra_len, rc < 0) < 0)
		rc = -1;
	ippDelete(resp);
	free(r.extra);
	return rc;
}

/* One HTTP request: 0 the connection goes on, -1 it ends. */
static int serve_one(ap_conn_t *c)
{
	char uri[1024];
	http_state_t st = httpReadRequest(c->http, uri, sizeof(uri));
	if (st == HTTP_STATE_WAITING)
		return 0;
	if (st == HTTP_STATE_ERROR || st == HTTP_STATE_UNKNOWN_METHOD ||
	    st == HTTP_STATE_UNKNOWN_VERSION) {
		if (st != HTTP_STATE_ERROR)
			respond_plain(c->http, HTTP_STATUS_BAD_REQUEST, NULL, 1);
		return -1;
	}
	http_status_t hs;
	while ((hs = httpUpdate(c->http)) == HTTP_STATUS_CONTINUE)
		;
	if (hs != HTTP_STATUS_OK)
		return -1;
	switch (st) {
	case HTTP_STATE_POST:
		if (strcmp(uri, AP_RESOURCE) && strcmp(uri, "/ipp/print/") && strcmp(uri, "/")) {
			respond_plain(c->http, HTTP_STATUS_NOT_FOUND, NULL, 1);
			return -1;
		}
		{
			const char *ct = httpGetField(c->http, HTTP_FIELD_CONTENT_TYPE);
			if (!ct || strncmp(ct, "application/ipp", 15)) {
				respond_plain(c->http, HTTP_STATUS_BAD_REQUEST, NULL, 1);
				return -1;
			}
		}
		/* 100 Continue is serve_ipp's: credentials are checked first */
		return serve_ipp(c, httpGetExpect(c->http) == HTTP_STATUS_CONTINUE);
	case HTTP_STATE_GET:
	case HTTP_STATE_HEAD:
		if (strcmp(uri, "/") == 0 || strcmp(uri, AP_RESOURCE) == 0) {
			respond_page(c);
			return 0;
		}
		respond_plain(c->http, HTTP_STATUS_NOT_FOUND, NULL, 0);
		return 0;
	case HTTP_STATE_OPTIONS:
		httpClearFields(c->http);
		httpSetField(c->http, HTTP_FIELD_ALLOW, "GET, HEAD, OPTIONS, POST");
		httpSetLength(c->http, 0);
		(void)httpWriteResponse(c->http, HTTP_STATUS_OK);
		return 0;
	default:
		respond_plain(c->http, HTTP_STATUS_METHOD_NOT_ALLOWED, NULL, 1);
		return -1;
	}
}

/* Worker thread: the whole connection. */
static void conn_run(void *arg)
{
	ap_conn_t *c = arg;
	ap_t *ap = c->ap;
	uint64_t t0 = pl_now_ms();

	httpSetTimeout(c->http, ap->client_timeout_ms / 1000.0, conn_timeout_cb, NULL);
	if (c->tls && httpEncryption(c->http, HTTP_ENCRYPTION_ALWAYS) < 0) {
		pl_info("%s: TLS handshake failed: %s", c->addr, cupsLastErrorString());
		return;
	}
	while (!__atomic_load_n(&ap->stopping, __ATOMIC_RELAXED) &&
	       pl_now_ms() - t0 < AP_CONN_MAX_MS) {
		/* idle between requests: wait in short steps so a shutdown
		 * is noticed; the client gets client_timeout_s in all */
		uint64_t idle0 = pl_now_ms();
		int ready = 0;
		while (!__atomic_load_n(&ap->stopping, __ATOMIC_RELAXED) &&
		       pl_now_ms() - idle0 < ap->client_timeout_ms) {
			if ((ready = httpWait(c->http, 250)) != 0)
				break;
		}
		if (!ready || serve_one(c) < 0)
			break;
		const char *conn = httpGetField(c->http, HTTP_FIELD_CONNECTION);
		if (conn && strcasecmp(conn, "close") == 0)
			break;
	}
}

static void conn_done(void *arg)
{
	ap_conn_t *c = arg;
	httpClose(c->http); /* closes the socket (TLS bye first) */
	OPENSSL_cleanse(c->authz, sizeof(c->authz));
	c->ap->nconns--;
	free(c);
}

static void on_accept(pl_loop_t *loop, int fd, uint32_t events, void *arg, int tls)
{
	ap_t *ap = arg;
	(void)loop;
	(void)events;
	for (int i = 0; i < 64; i++) {
		http_t *http = httpAcceptConnection(fd, 0);
		if (!http)
			return; /* EAGAIN, or the peer left: nothing to do */
		ap_conn_t *c = calloc(1, sizeof(*c));
		char buf[64];
		if (!c || ap->nconns >= ap->max_clients || ap->stopping) {
			pl_warn("connection refused: %u clients connected (max_clients)",
				ap->nconns);
			httpClose(http);
			free(c);
			continue;
		}
		c->ap = ap;
		c->http = http;
		c->tls = tls;
		c->port = tls ? ap->listen_port : ap->plain_port;
		(void)pl_fmt(c->addr, sizeof(c->addr), "%s",
			     httpAddrString(httpGetAddress(http), buf, sizeof(buf)));
		ap->nconns++;
		if (pl_work_submit(ap->conns, conn_run, conn_done, c) < 0) {
			conn_done(c);
			continue;
		}
	}
}

static void on_accept_tls(pl_loop_t *loop, int fd, uint32_t events, void *arg)
{
	on_accept(loop, fd, events, arg, 1);
}

static void on_accept_plain(pl_loop_t *loop, int fd, uint32_t events, void *arg)
{
	on_accept(loop, fd, events, arg, 0);
}

int ap_conn_listen(ap_t *ap, int fd, int tls)
{
	pl_set_nonblock(fd);
	pl_watch_t *w = pl_loop_watch(ap->loop, fd, EPOLLIN,
				      tls ? on_accept_tls : on_accept_plain, ap);
	if (!w)
		return -1;
	if (tls)
		ap->listen_w = w;
	else
		ap->plain_w = w;
	return 0;
}

void ap_conn_stop(ap_t *ap)
{
	__atomic_store_n(&ap->stopping, 1, __ATOMIC_RELAXED);
	if (ap->listen_w)
		pl_loop_unwatch(ap->loop, ap->listen_w);
	if (ap->plain_w)
		pl_loop_unwatch(ap->loop, ap->plain_w);
	ap->listen_w = ap->plain_w = NULL;
}
