/* libmicrohttpd on our event loop. MHD runs in "external" mode with its
 * own epoll set, whose fd is the one descriptor MHD lends the foreign-loop
 * adapter (pl_adapt.h): when it is readable, or MHD's timeout passes, the
 * adapter has us call MHD_run. (Its epoll fd rather than MHD_get_fdset2:
 * no FD_SETSIZE limit, and MHD's own set follows its connections.)
 * Nothing blocks:
 * a request that needs the supervisor or a worker thread is suspended
 * and resumed when its answer is ready (cs_defer, cs_reply).
 *
 * Every request is bounded: its URL, its body (by path: JSON or CSV), the
 * connections per address and their idle time. Only the files found in
 * assets_dir at start are served, by exact name, so no path can reach
 * outside it.
 *
 * Connections are admitted by our rules (pl_slots), not only MHD's: a
 * connection is pending until a whole request has arrived and again once
 * it is answered (keep-alive); it must bring a whole request within
 * request_timeout_s (MHD's own timeout is idle time, which a byte now and
 * then puts off for ever); pending connections take at most three
 * quarters of max_connections, so requests in progress (a release that
 * takes minutes) always have room; an address holds at most
 * max_connections_per_address; and a newcomer who would be refused takes
 * the slot of a pending connection instead (its address's own oldest, or
 * a fair share between addresses). So 32 slow-header connections from
 * loopback no longer shut out an administrator on loopback. MHD's limits
 * are twice ours, a backstop only: a connection our rules closed counts
 * in MHD's until MHD has seen it end, and against attackers reconnecting
 * as fast as they are closed a tighter MHD limit turned the newcomer away
 * before our rules could judge it. */
#include "cs.h"

#include <openssl/crypto.h>

#include <arpa/inet.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "pl_adapt.h"
#include "pl_log.h"
#include "pl_slots.h"
#include "pl_util.h"

#define HTTP_MHD_FACTOR 2   /* MHD's limits are ours times this (see above) */
#define HTTP_RESERVE_PCT 25 /* of max_connections, for requests in progress */
/* A browser sends its request within milliseconds of connecting; a
 * pending connection younger than this is not closed for an equal. */
#define HTTP_GRACE_MS 500u
#define HTTP_IDLE_S 30
/* An over-long body up to this size is read and dropped before the 413. */
#define HTTP_DRAIN_MAX (8u * 1024u * 1024u)
#define HTTP_COOKIE "plsc_session"
/* Modern TLS only: 1.2 and 1.3; in TLS 1.2, ECDHE with an AEAD cipher
 * only, as on 31989 (common/tls.c says why). GnuTLS spells it as what
 * remains of NORMAL: no CBC ciphers (their MACs go with -MAC-ALL, AEAD
 * stays), no RSA or DHE key exchange. TLS 1.3 negotiates its key
 * exchange by group and keeps its GCM and ChaCha20 suites. */
#define HTTP_TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:" \
	"-CIPHER-ALL:+AES-256-GCM:+CHACHA20-POLY1305:+AES-128-GCM:"         \
	"-MAC-ALL:+AEAD:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA"
#define HTTP_CSP "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

struct cs_http {
	cs_t *cs;
	struct MHD_Daemon *d;
	pl_adapt_t *adapt;
	int epfd; /* MHD's epoll set */
	pl_slots_t *slots;
	uint64_t warn_ms; /* refusals, logged a few a second */
	uint32_t warned;
};

/* One a connection (MHD's socket context). */
typedef struct {
	pl_slot_t slot;
	cs_http_t *h;
	int fd;
	char ip[64];
} http_conn_t;

typedef struct {
	cs_req_t r;
	cs_http_t *h;
	int dispatched;
} http_req_t;

/* ---- running MHD ---- */

static void http_refresh(pl_adapt_t *a, void *arg)
{
	cs_http_t *h = arg;
	pl_adapt_want(a, h->epfd, EPOLLIN);
}

static long http_timeout(pl_adapt_t *a, void *arg)
{
	cs_http_t *h = arg;
	MHD_UNSIGNED_LONG_LONG to = 0;
	(void)a;
	/* MHD's own deadlines (idle connections); 0 means "call again now"
	 * (data already decrypted and waiting). */
	if (MHD_get_timeout(h->d, &to) != MHD_YES)
		return -1;
	return to > 60000 ? 60000 : (long)to;
}

static void http_run(pl_adapt_t *a, const pl_adapt_ready_t *ready, size_t n,
		     void *arg)
{
	cs_http_t *h = arg;
	(void)a;
	(void)ready;
	(void)n;
	MHD_run(h->d);
}

static void http_kick(cs_http_t *h)
{
	if (h)
		pl_adapt_wake(h->adapt);
}

/* ---- who may connect ---- */

static void ip_str(const struct sockaddr *sa, char *buf, size_t sz)
{
	pl_strlcpy(buf, "?", sz);
	if (sa && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, buf, (socklen_t)sz);
	else if (sa && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, buf, (socklen_t)sz);
}

/* A flood of connections must not become a flood of log lines: a few a
 * second, then a count. */
static void http_warn(cs_http_t *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void http_warn(cs_http_t *h, const char *fmt, ...)
{
	uint64_t now = pl_now_ms();
	char msg[300];
	va_list ap;
	if (now - h->warn_ms >= 1000) {
		if (h->warned > 5)
			pl_warn("(%u more connections refused or closed in that second; not "
				"logged one by one)", h->warned - 5);
		h->warn_ms = now;
		h->warned = 0;
	}
	if (h->warned++ >= 5)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pl_warn("%s", msg);
}

static http_conn_t *conn_ctx(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci ? ci->socket_context : NULL;
}

/* Closed by our rules: MHD sees the end of the stream at its next run and
 * closes the connection itself (CLOSED below). */
static void conn_end(http_conn_t *hc)
{
	shutdown(hc->fd, SHUT_RDWR);
	http_kick(hc->h);
}

static void conn_dropped(void *arg, pl_slot_t *slot, pl_slot_why_t why)
{
	http_conn_t *hc = (http_conn_t *)(void *)((char *)slot - offsetof(http_conn_t, slot));
	cs_http_t *h = arg;
	if (why == PL_SLOT_EXPIRED)
		http_warn(h, "%s: no whole request within %u s (request_timeout_s); closed",
			  hc->ip, h->cs->request_timeout_s);
	else
		http_warn(h, "%s: closed to make room for another connection (no request "
			  "for %llu ms)", hc->ip, (unsigned long long)(pl_now_ms() - slot->since_ms));
	conn_end(hc);
}

static void conn_started(cs_http_t *h, struct MHD_Connection *conn, void **ctx)
{
	const union MHD_ConnectionInfo *fi =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	const union MHD_ConnectionInfo *ai =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	http_conn_t *hc = calloc(1, sizeof(*hc));
	pl_slot_key_t key;
	if (!hc || !fi || !ai) {
		free(hc);
		if (fi)
			shutdown(fi->connect_fd, SHUT_RDWR);
		return;
	}
	*ctx = hc;
	hc->h = h;
	hc->fd = fi->connect_fd;
	ip_str(ai->client_addr, hc->ip, sizeof(hc->ip));
	(void)pl_slot_key_addr(&key, ai->client_addr);
	int rc = pl_slots_admit(h->slots, &hc->slot, &key, 0, pl_now_ms());
	if (rc == 0)
		return;
	if (rc == PL_SLOTS_PEER_FULL)
		http_warn(h, "%s: refused: %u connections from that address already "
			  "(max_connections_per_address)", hc->ip, h->cs->max_per_address);
	else
		http_warn(h, "%s: refused: no free connection (max_connections %u)", hc->ip,
			  h->cs->max_connections);
	conn_end(hc);
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **ctx,
			  enum MHD_ConnectionNotificationCode toe)
{
	cs_http_t *h = cls;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		conn_started(h, conn, ctx);
		return;
	}
	http_conn_t *hc = *ctx;
	if (hc) {
		pl_slots_remove(h->slots, &hc->slot);
		free(hc);
		*ctx = NULL;
	}
}

static int slots_start(cs_http_t *h)
{
	const cs_t *cs = h->cs;
	uint32_t reserve = cs->max_connections * HTTP_RESERVE_PCT / 100;
	pl_slots_conf_t c = {
		.max_total = cs->max_connections,
		.max_pending = cs->max_connections - reserve,
		.max_per_peer = cs->max_per_address,
		.reserve = 0,
		.grace_ms = HTTP_GRACE_MS,
		.deadline_ms = (uint64_t)cs->request_timeout_s * 1000,
	};
	h->slots = pl_slots_new(cs->loop, &c, conn_dropped, h);
	return h->slots ? 0 : -1;
}

/* ---- answers ---- */

static void add_common_headers(struct MHD_Response *resp, int api)
{
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(resp, "Content-Security-Policy", HTTP_CSP);
	MHD_add_response_header(resp, "Strict-Transport-Security", "max-age=31536000");
	MHD_add_response_header(resp, "Cache-Control", api ? "no-store" : "no-cache");
}

static enum MHD_Result send_answer(http_req_t *hr)
{
	cs_req_t *r = &hr->r;
	struct MHD_Response *resp;
	int api = r->raw == NULL && r->raw_owned == NULL;

	if (api) {
		char *text = json_dumps(r->answer ? r->answer : json_object(),
					JSON_COMPACT | JSON_ENSURE_ASCII);
		if (!text)
			return MHD_NO;
		resp = MHD_create_response_from_buffer(strlen(text), text,
						       MHD_RESPMEM_MUST_FREE);
		if (!resp) {
			free(text);
			return MHD_NO;
		}
		MHD_add_response_header(resp, "Content-Type", "application/json");
	} else if (r->raw_owned) {
		resp = MHD_create_response_from_buffer(r->raw_len, r->raw_owned,
						       MHD_RESPMEM_MUST_FREE);
		if (!resp)
			return MHD_NO;
		r->raw_owned = NULL; /* MHD frees it */
		MHD_add_response_header(resp, "Content-Type", r->raw_type);
		if (r->disposition[0])
			MHD_add_response_header(resp, "Content-Disposition", r->disposition);
	} else {
		resp = MHD_create_response_from_buffer(r->raw_len, (void *)r->raw,
						       MHD_RESPMEM_PERSISTENT);
		if (!resp)
			return MHD_NO;
		MHD_add_response_header(resp, "Content-Type", r->raw_type);
	}
	/* A generated download is API data: not cached either. */
	add_common_headers(resp, api || strncmp(r->url, "/api/", 5) == 0);
	if (r->set_cookie[0])
		MHD_add_response_header(resp, "Set-Cookie", r->set_cookie);
	if (r->retry_after[0])
		MHD_add_response_header(resp, "Retry-After", r->retry_after);
	enum MHD_Result rc = MHD_queue_response(r->conn, (unsigned)r->status, resp);
	MHD_destroy_response(resp);
	return rc;
}

void cs_reply(cs_req_t *r, int status, json_t *answer)
{
	if (r->done) {
		json_decref(answer);
		return;
	}
	r->done = 1;
	r->status = status;
	r->answer = answer;
	if (r->suspended) {
		r->suspended = 0;
		MHD_resume_connection(r->conn);
		/* MHD in external mode picks a resumed connection up at its
		 * next MHD_run: make that now. */
		http_kick(r->cs->http);
	}
}

void cs_reply_error(cs_req_t *r, int status, const char *fmt, ...)
{
	char msg[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cs_reply(r, status, json_pack("{s:s}", "error", msg));
}

void cs_reply_text(cs_req_t *r, int status, const char *type, char *text, size_t len,
		   const char *filename)
{
	if (!text) {
		cs_reply_error(r, 500, "out of memory");
		return;
	}
	if (r->done) {
		free(text);
		return;
	}
	free(r->raw_owned);
	r->raw_owned = text;
	r->raw_len = len;
	r->raw_type = type;
	if (filename)
		snprintf(r->disposition, sizeof(r->disposition), "attachment; filename=\"%s\"",
			 filename);
	cs_reply(r, status, NULL);
}

const char *cs_req_arg(cs_req_t *r, const char *key)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, key);
}

const char *cs_req_header(cs_req_t *r, const char *name)
{
	if (strcmp(name, "Cookie:" HTTP_COOKIE) == 0)
		return MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, HTTP_COOKIE);
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

/* ---- static files ---- */

static const struct cs_asset *asset_find(const cs_t *cs, const char *name)
{
	for (size_t i = 0; i < cs->nassets; i++)
		if (strcmp(cs->assets[i].name, name) == 0)
			return &cs->assets[i];
	return NULL;
}

static void serve_static(cs_req_t *r)
{
	const char *name = NULL;
	if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0) {
		cs_reply_error(r, 405, "%s is not allowed here", r->method);
		return;
	}
	if (strcmp(r->url, "/favicon.ico") == 0) {
		r->raw = "";
		r->raw_type = "image/x-icon";
		cs_reply(r, 204, NULL); /* none: browsers ask anyway */
		return;
	}
	if (strcmp(r->url, "/") == 0 || strcmp(r->url, "/index.html") == 0)
		name = "index.html";
	else if (strncmp(r->url, "/static/", 8) == 0)
		name = r->url + 8;
	const struct cs_asset *a = name ? asset_find(r->cs, name) : NULL;
	if (!a) {
		cs_reply_error(r, 404, "no such page");
		return;
	}
	r->raw = a->data;
	r->raw_len = a->len;
	r->raw_type = a->type;
	cs_reply(r, 200, NULL);
}

/* ---- the request life cycle ---- */

static void dispatch(cs_req_t *r)
{
	if (r->too_large) {
		cs_reply_error(r, 413, "request body too large (limit %zu bytes)", r->limit);
		return;
	}
	if (strncmp(r->url, "/api/v1/", 8) == 0 || strcmp(r->url, "/api/v1") == 0)
		cs_api(r);
	else
		serve_static(r);
}

static void req_init(http_req_t *hr, cs_http_t *h, struct MHD_Connection *conn,
		     const char *url, const char *method)
{
	cs_req_t *r = &hr->r;
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	hr->h = h;
	r->cs = h->cs;
	r->conn = conn;
	pl_strlcpy(r->method, method, sizeof(r->method));
	if (strlen(url) >= sizeof(r->url))
		r->too_large = 1; /* answered 414 below */
	pl_strlcpy(r->url, url, sizeof(r->url));
	ip_str(ci ? ci->client_addr : NULL, r->ip, sizeof(r->ip));
	r->limit = strcmp(url, "/api/v1/users/import") == 0 ? CS_CSV_MAX : CS_JSON_MAX;
}

static void req_body(cs_req_t *r, const char *data, size_t n)
{
	r->seen += n;
	if (r->too_large)
		return;
	if (n > r->limit - r->len) {
		r->too_large = 1;
		free(r->body);
		r->body = NULL;
		r->len = r->cap = 0;
		return;
	}
	if (r->len + n + 1 > r->cap) {
		size_t cap = r->cap ? r->cap : 1024;
		while (cap < r->len + n + 1)
			cap *= 2;
		char *nb = realloc(r->body, cap);
		if (!nb) {
			r->too_large = 1;
			return;
		}
		r->body = nb;
		r->cap = cap;
	}
	memcpy(r->body + r->len, data, n);
	r->len += n;
	r->body[r->len] = '\0';
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn,
				 const char *url, const char *method,
				 const char *version, const char *upload_data,
				 size_t *upload_data_size, void **con_cls)
{
	cs_http_t *h = cls;
	http_req_t *hr = *con_cls;
	(void)version;

	if (!hr) {
		hr = calloc(1, sizeof(*hr));
		if (!hr)
			return MHD_NO;
		req_init(hr, h, conn, url, method);
		*con_cls = hr;
		if (hr->r.too_large) {
			cs_reply_error(&hr->r, 414, "URL too long");
			return send_answer(hr);
		}
		/* A body announced too large is not kept: a moderately large
		 * one is read and dropped so the client gets its 413 rather
		 * than a reset mid-upload; a huge one is refused at once. */
		const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
							     MHD_HTTP_HEADER_CONTENT_LENGTH);
		unsigned long long announced = cl ? strtoull(cl, NULL, 10) : 0;
		if (announced > HTTP_DRAIN_MAX) {
			cs_reply_error(&hr->r, 413, "request body too large (limit %zu bytes)",
				       hr->r.limit);
			return send_answer(hr);
		}
		if (announced > hr->r.limit)
			hr->r.too_large = 1;
		return MHD_YES;
	}
	if (*upload_data_size) {
		req_body(&hr->r, upload_data, *upload_data_size);
		*upload_data_size = 0;
		/* Chunked and endless: stop reading, answer, close. */
		if (hr->r.seen > HTTP_DRAIN_MAX) {
			cs_reply_error(&hr->r, 413, "request body too large (limit %zu bytes)",
				       hr->r.limit);
			return send_answer(hr);
		}
		return MHD_YES;
	}
	if (!hr->dispatched) {
		hr->dispatched = 1;
		/* A whole request: no longer held to request_timeout_s, and
		 * never closed for a newcomer while it is answered. */
		http_conn_t *hc = conn_ctx(conn);
		if (hc)
			pl_slots_trust(h->slots, &hc->slot);
		dispatch(&hr->r);
	}
	if (hr->r.done)
		return send_answer(hr);
	/* Deferred: wait, without a thread, for cs_reply. */
	hr->r.suspended = 1;
	MHD_suspend_connection(conn);
	return MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	cs_http_t *h = cls;
	http_req_t *hr = *con_cls;
	(void)toe;
	/* Answered: the connection waits for its next request (keep-alive),
	 * a pending one again. */
	http_conn_t *hc = conn_ctx(conn);
	if (hc)
		pl_slots_pend(h->slots, &hc->slot, pl_now_ms());
	if (!hr)
		return;
	pl_ctl_cancel(h->cs->ctl, &hr->r);
	cs_dirw_cancel(h->cs, &hr->r);
	if (hr->r.work_free)
		hr->r.work_free(hr->r.work);
	json_decref(hr->r.answer);
	/* A body may hold a PIN or a password. */
	if (hr->r.body)
		OPENSSL_cleanse(hr->r.body, hr->r.len);
	free(hr->r.raw_owned);
	free(hr->r.body);
	free(hr);
	*con_cls = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	pl_debug("http: %s", msg);
}

cs_http_t *cs_http_start(cs_t *cs, int listen_fd, const char *cert_pem,
			 const char *key_pem, pl_err_t *err)
{
	cs_http_t *h = calloc(1, sizeof(*h));
	if (!h) {
		pl_fmt(err->msg, sizeof(err->msg), "out of memory");
		return NULL;
	}
	h->cs = cs;
	if (slots_start(h) < 0) {
		pl_fmt(err->msg, sizeof(err->msg), "out of memory");
		free(h);
		return NULL;
	}
	unsigned per_ip = cs->max_per_address * HTTP_MHD_FACTOR; /* 0: none */
	h->d = MHD_start_daemon(
		MHD_USE_TLS | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG,
		0, NULL, NULL, on_access, h,
		MHD_OPTION_LISTEN_SOCKET, (MHD_socket)listen_fd,
		MHD_OPTION_HTTPS_MEM_CERT, cert_pem,
		MHD_OPTION_HTTPS_MEM_KEY, key_pem,
		MHD_OPTION_HTTPS_PRIORITIES, HTTP_TLS_PRIORITIES,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)(cs->max_connections * HTTP_MHD_FACTOR),
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_ip,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_IDLE_S,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
		MHD_OPTION_NOTIFY_CONNECTION, on_connection, h,
		MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
		MHD_OPTION_END);
	if (!h->d) {
		pl_fmt(err->msg, sizeof(err->msg),
		       "cannot start the HTTPS server (libmicrohttpd; see the debug log)");
		pl_slots_free(h->slots);
		free(h);
		return NULL;
	}
	static const pl_adapt_ops_t ops = {
		.refresh = http_refresh,
		.timeout = http_timeout,
		.run = http_run,
	};
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_EPOLL_FD);
	h->epfd = di ? di->epoll_fd : -1;
	h->adapt = h->epfd >= 0 ? pl_adapt_new(cs->loop, &ops, h) : NULL;
	if (!h->adapt) {
		MHD_stop_daemon(h->d);
		pl_slots_free(h->slots);
		free(h);
		pl_fmt(err->msg, sizeof(err->msg), "cannot watch the HTTPS server's epoll fd");
		return NULL;
	}
	pl_adapt_wake(h->adapt);
	return h;
}

void cs_http_stop(cs_http_t *h)
{
	if (!h)
		return;
	pl_adapt_free(h->adapt);
	/* MHD_quiesce would keep the listening socket; it is the
	 * supervisor's, and closing our copy is all that is needed. */
	MHD_stop_daemon(h->d);
	pl_slots_free(h->slots); /* after MHD's CLOSED callbacks */
	free(h);
}
