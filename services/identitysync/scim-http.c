/* SCIM over HTTPS: libmicrohttpd on the service's loop, as the console
 * runs it (console/http.c says why each piece is there): MHD in external
 * mode with its epoll fd lent to the foreign-loop adapter (pl_adapt.h),
 * GnuTLS with TLS 1.2 and 1.3 AEAD suites only, requests that need
 * plsc-directory suspended without a thread and resumed on its answer.
 *
 * Connections are admitted by pl_slots as the console's are: a whole
 * request within scim_request_timeout_s of connecting or of the last
 * answer, a quarter of scim_max_connections kept for requests in
 * progress, scim_max_connections_per_address, and a newcomer who would be
 * refused takes the place of a connection with no request in progress.
 * MHD's own limits are twice ours, a backstop.
 *
 * Every request must carry "Authorization: Bearer TOKEN"; the token's
 * SHA-256 is compared in constant time with the one stored by
 * scim-token (SCIM_TOKEN_FILE, 0600), read at each request so that a new
 * token takes effect without a restart. Only the token's hash is ever
 * on disk; neither is ever logged. */
#include "scim.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "pl_adapt.h"
#include "pl_log.h"
#include "pl_random.h"
#include "pl_slots.h"
#include "pl_util.h"

#define HTTP_MHD_FACTOR 2
#define HTTP_RESERVE_PCT 25
#define HTTP_GRACE_MS 500u
#define HTTP_IDLE_S 30
#define HTTP_DRAIN_MAX (1024u * 1024u)
#define HTTP_PREFIX "/scim/v2"
#define HTTP_TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:" \
	"-CIPHER-ALL:+AES-256-GCM:+CHACHA20-POLY1305:+AES-128-GCM:"         \
	"-MAC-ALL:+AEAD:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA"

struct scim_http {
	scim_t *s;
	struct MHD_Daemon *d;
	pl_adapt_t *adapt;
	int epfd;
	pl_slots_t *slots;
	uint32_t max_conn, max_per_addr, timeout_s;
	char state_dir[PATH_MAX];
	uint64_t warn_ms;
	uint32_t warned;
};

typedef struct {
	pl_slot_t slot;
	scim_http_t *h;
	int fd;
	char ip[64];
} http_conn_t;

typedef struct {
	scim_http_t *h;
	struct MHD_Connection *conn;
	scim_req_t *r;
	size_t seen;
	int too_large, dispatched, suspended, answered;
} http_req_t;

/* ---- the bearer token ---- */

static void sha256_hex(const char *text, char out[65])
{
	unsigned char md[32];
	unsigned int n = 0;
	EVP_Digest(text, strlen(text), md, &n, EVP_sha256(), NULL);
	pl_hex(md, sizeof(md), out);
}

int scim_token_check(const char *state_dir, const char *token)
{
	char path[PATH_MAX], got[65];
	size_t len = 0;
	if (pl_fmt(path, sizeof(path), "%s/%s", state_dir, SCIM_TOKEN_FILE) < 0)
		return -1;
	char *want = pl_read_file(path, 256, &len);
	if (!want || len < 64) {
		free(want);
		return -1;
	}
	sha256_hex(token, got);
	/* Hashes of equal length: the comparison's time says nothing about
	 * the token. */
	int ok = CRYPTO_memcmp(got, want, 64) == 0;
	free(want);
	return ok;
}

int scim_token_create(const char *state_dir, char *out, size_t osz, pl_err_t *err)
{
	unsigned char raw[32];
	char hex[65], path[PATH_MAX], hash[66];
	if (osz < 70 || RAND_bytes(raw, sizeof(raw)) != 1 ||
	    pl_fmt(path, sizeof(path), "%s/%s", state_dir, SCIM_TOKEN_FILE) < 0) {
		(void)pl_fmt(err->msg, sizeof(err->msg), "no random bytes, or a path too long");
		return -1;
	}
	pl_hex(raw, sizeof(raw), hex);
	OPENSSL_cleanse(raw, sizeof(raw));
	snprintf(out, osz, "scim_%s", hex);
	OPENSSL_cleanse(hex, sizeof(hex));
	sha256_hex(out, hash);
	hash[64] = '\n';
	hash[65] = '\0';
	if (pl_write_file_atomic(path, hash, 65, 0600) < 0) {
		(void)pl_fmt(err->msg, sizeof(err->msg), "%s: %s", path, strerror(errno));
		OPENSSL_cleanse(out, osz);
		return -1;
	}
	return 0;
}

/* ---- running MHD ---- */

static void http_refresh(pl_adapt_t *a, void *arg)
{
	scim_http_t *h = arg;
	pl_adapt_want(a, h->epfd, EPOLLIN);
}

static long http_timeout(pl_adapt_t *a, void *arg)
{
	scim_http_t *h = arg;
	MHD_UNSIGNED_LONG_LONG to = 0;
	(void)a;
	if (MHD_get_timeout(h->d, &to) != MHD_YES)
		return -1;
	return to > 60000 ? 60000 : (long)to;
}

static void http_run(pl_adapt_t *a, const pl_adapt_ready_t *ready, size_t n, void *arg)
{
	scim_http_t *h = arg;
	(void)a;
	(void)ready;
	(void)n;
	MHD_run(h->d);
}

/* ---- who may connect (as console/http.c) ---- */

static void ip_str(const struct sockaddr *sa, char *buf, size_t sz)
{
	pl_strlcpy(buf, "?", sz);
	if (sa && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, buf, (socklen_t)sz);
	else if (sa && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, buf, (socklen_t)sz);
}

static void http_warn(scim_http_t *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void http_warn(scim_http_t *h, const char *fmt, ...)
{
	uint64_t now = pl_now_ms();
	char msg[300];
	va_list ap;
	if (now - h->warn_ms >= 1000) {
		if (h->warned > 5)
			pl_warn("(%u more SCIM connections refused or closed in that second)",
				h->warned - 5);
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

static void conn_end(http_conn_t *hc)
{
	shutdown(hc->fd, SHUT_RDWR);
	pl_adapt_wake(hc->h->adapt);
}

static void conn_dropped(void *arg, pl_slot_t *slot, pl_slot_why_t why)
{
	http_conn_t *hc = (http_conn_t *)(void *)((char *)slot - offsetof(http_conn_t, slot));
	scim_http_t *h = arg;
	if (why == PL_SLOT_EXPIRED)
		http_warn(h, "SCIM %s: no whole request within %u s (scim_request_timeout_s); "
			  "closed", hc->ip, h->timeout_s);
	else
		http_warn(h, "SCIM %s: closed to make room for another connection", hc->ip);
	conn_end(hc);
}

static void conn_started(scim_http_t *h, struct MHD_Connection *conn, void **ctx)
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
		http_warn(h, "SCIM %s: refused: %u connections from that address already", hc->ip,
			  h->max_per_addr);
	else
		http_warn(h, "SCIM %s: refused: no free connection (scim_max_connections %u)",
			  hc->ip, h->max_conn);
	conn_end(hc);
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **ctx,
			  enum MHD_ConnectionNotificationCode toe)
{
	scim_http_t *h = cls;
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

/* ---- answers ---- */

static enum MHD_Result send_answer(http_req_t *hr, int status, json_t *answer,
				   const scim_req_t *r)
{
	char *text = answer ? json_dumps(answer, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
	struct MHD_Response *resp = MHD_create_response_from_buffer(
		text ? strlen(text) : 0, text ? text : (void *)"",
		text ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	hr->answered = 1;
	if (!resp) {
		free(text);
		return MHD_NO;
	}
	if (text)
		MHD_add_response_header(resp, "Content-Type", "application/scim+json; charset=utf-8");
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	if (status == 401)
		MHD_add_response_header(resp, "WWW-Authenticate", "Bearer realm=\"scim\"");
	if (r && r->etag[0])
		MHD_add_response_header(resp, "ETag", r->etag);
	if (r && r->location[0])
		MHD_add_response_header(resp, "Location", r->location);
	enum MHD_Result rc = MHD_queue_response(hr->conn, (unsigned)status, resp);
	MHD_destroy_response(resp);
	return rc;
}

static enum MHD_Result send_error(http_req_t *hr, int status, const char *type,
				  const char *detail)
{
	json_t *j = scim_error_json(status, type, detail);
	enum MHD_Result rc = send_answer(hr, status, j, NULL);
	json_decref(j);
	return rc;
}

/* scim.c answered r. */
static void on_done(scim_req_t *r)
{
	http_req_t *hr = r->http;
	if (hr && hr->suspended) {
		hr->suspended = 0;
		MHD_resume_connection(hr->conn);
		pl_adapt_wake(hr->h->adapt);
	}
}

/* ---- requests ---- */

/* "https://HOST/scim/v2" from the Host header, which is only echoed in
 * locations: anything but a host name, an address and a port is dropped. */
static void base_url(struct MHD_Connection *conn, char *out, size_t sz)
{
	const char *host = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Host");
	int ok = host && host[0] && strlen(host) < 256;
	for (const char *p = host; ok && *p; p++)
		ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		     (*p >= '0' && *p <= '9') || strchr(".-:[]", *p);
	snprintf(out, sz, "https://%s" HTTP_PREFIX, ok ? host : "localhost");
}

static int number_arg(struct MHD_Connection *conn, const char *key, long *out)
{
	const char *v = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, key);
	char *end;
	*out = -1;
	if (!v)
		return 0;
	errno = 0;
	long n = strtol(v, &end, 10);
	if (!v[0] || *end || errno || n < 0 || n > 1000000000L)
		return -1;
	*out = n;
	return 0;
}

static int req_init(http_req_t *hr, const char *url, const char *method)
{
	scim_req_t *r = calloc(1, sizeof(*r));
	struct MHD_Connection *conn = hr->conn;
	if (!r)
		return -1;
	hr->r = r;
	r->http = hr;
	r->on_done = on_done;
	pl_strlcpy(r->method, method, sizeof(r->method));
	pl_strlcpy(r->path, url + strlen(HTTP_PREFIX), sizeof(r->path));
	base_url(conn, r->base, sizeof(r->base));
	const char *f = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "filter");
	const char *ex = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND,
						     "excludedAttributes");
	if (f && strlen(f) >= sizeof(r->filter))
		r->bad_query = 1;
	pl_strlcpy(r->filter, f ? f : "", sizeof(r->filter));
	pl_strlcpy(r->excluded, ex ? ex : "", sizeof(r->excluded));
	if (number_arg(conn, "startIndex", &r->start_index) < 0 ||
	    number_arg(conn, "count", &r->count) < 0)
		r->bad_query = 1;
	return 0;
}

static void req_body(http_req_t *hr, const char *data, size_t n)
{
	scim_req_t *r = hr->r;
	hr->seen += n;
	if (hr->too_large)
		return;
	if (r->len + n > SCIM_BODY_MAX) {
		hr->too_large = 1;
		free(r->body);
		r->body = NULL;
		r->len = 0;
		return;
	}
	char *nb = realloc(r->body, r->len + n + 1);
	if (!nb) {
		hr->too_large = 1;
		return;
	}
	r->body = nb;
	memcpy(r->body + r->len, data, n);
	r->len += n;
	r->body[r->len] = '\0';
}

static int authorized(http_req_t *hr)
{
	const char *a = MHD_lookup_connection_value(hr->conn, MHD_HEADER_KIND, "Authorization");
	if (!a || strncasecmp(a, "Bearer ", 7) != 0)
		return 0;
	a += 7;
	while (*a == ' ')
		a++;
	int rc = scim_token_check(hr->h->state_dir, a);
	if (rc < 0)
		http_warn(hr->h, "SCIM request refused: no token yet (run "
			  "PrinterLogicServiceIdentitySync scim-token STATE_DIR)");
	return rc == 1;
}

static enum MHD_Result dispatch(http_req_t *hr)
{
	http_conn_t *hc = conn_ctx(hr->conn);
	scim_req_t *r = hr->r;
	if (hr->too_large)
		return send_error(hr, 413, NULL, "request body too large (at most 65536 bytes)");
	if (!authorized(hr)) {
		http_warn(hr->h, "SCIM %s %s from %s: no or a wrong bearer token (401)", r->method,
			  r->path, hc ? hc->ip : "?");
		return send_error(hr, 401, NULL, "a valid bearer token is required");
	}
	if (hc) /* a whole, authenticated request: no longer a stranger */
		pl_slots_trust(hr->h->slots, &hc->slot);
	hr->dispatched = 1;
	scim_submit(hr->h->s, r);
	if (r->done)
		return send_answer(hr, r->status, r->answer, r);
	hr->suspended = 1;
	MHD_suspend_connection(hr->conn);
	return MHD_YES;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url,
				 const char *method, const char *version,
				 const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	scim_http_t *h = cls;
	http_req_t *hr = *con_cls;
	(void)version;
	if (!hr) {
		hr = calloc(1, sizeof(*hr));
		if (!hr)
			return MHD_NO;
		hr->h = h;
		hr->conn = conn;
		*con_cls = hr;
		if (strlen(url) >= 200 + strlen(HTTP_PREFIX))
			return send_error(hr, 414, NULL, "URL too long");
		if (strncmp(url, HTTP_PREFIX, strlen(HTTP_PREFIX)) != 0 ||
		    (url[strlen(HTTP_PREFIX)] != '/' && url[strlen(HTTP_PREFIX)] != '\0'))
			return send_error(hr, 404, NULL, "SCIM lives under " HTTP_PREFIX);
		if (req_init(hr, url, method) < 0)
			return MHD_NO;
		const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
							     MHD_HTTP_HEADER_CONTENT_LENGTH);
		unsigned long long announced = cl ? strtoull(cl, NULL, 10) : 0;
		if (announced > HTTP_DRAIN_MAX)
			return send_error(hr, 413, NULL, "request body too large");
		if (announced > SCIM_BODY_MAX)
			hr->too_large = 1;
		return MHD_YES;
	}
	if (hr->answered) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (*upload_data_size) {
		req_body(hr, upload_data, *upload_data_size);
		*upload_data_size = 0;
		if (hr->seen > HTTP_DRAIN_MAX)
			return send_error(hr, 413, NULL, "request body too large");
		return MHD_YES;
	}
	if (!hr->dispatched)
		return dispatch(hr);
	if (hr->r->done)
		return send_answer(hr, hr->r->status, hr->r->answer, hr->r);
	hr->suspended = 1;
	MHD_suspend_connection(conn);
	return MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	scim_http_t *h = cls;
	http_req_t *hr = *con_cls;
	(void)toe;
	http_conn_t *hc = conn_ctx(conn);
	if (hc)
		pl_slots_pend(h->slots, &hc->slot, pl_now_ms());
	if (!hr)
		return;
	if (hr->r) {
		hr->r->http = NULL;
		if (hr->dispatched)
			scim_cancel(h->s, hr->r); /* freed now, or when it is answered */
		else
			scim_req_free(hr->r);
	}
	free(hr);
	*con_cls = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	pl_debug("scim http: %s", msg);
}

scim_http_t *scim_http_start(scim_t *s, pl_loop_t *loop, int listen_fd, const char *cert_pem,
			     const char *key_pem, uint32_t max_conn, uint32_t max_per_addr,
			     uint32_t timeout_s, const char *state_dir, pl_err_t *err)
{
	scim_http_t *h = calloc(1, sizeof(*h));
	if (!h) {
		(void)pl_fmt(err->msg, sizeof(err->msg), "out of memory");
		return NULL;
	}
	h->s = s;
	h->max_conn = max_conn;
	h->max_per_addr = max_per_addr;
	h->timeout_s = timeout_s;
	pl_strlcpy(h->state_dir, state_dir, sizeof(h->state_dir));
	uint32_t reserve = max_conn * HTTP_RESERVE_PCT / 100;
	pl_slots_conf_t c = {
		.max_total = max_conn,
		.max_pending = max_conn - reserve,
		.max_per_peer = max_per_addr,
		.reserve = 0,
		.grace_ms = HTTP_GRACE_MS,
		.deadline_ms = (uint64_t)timeout_s * 1000,
	};
	h->slots = pl_slots_new(loop, &c, conn_dropped, h);
	if (!h->slots) {
		free(h);
		(void)pl_fmt(err->msg, sizeof(err->msg), "out of memory");
		return NULL;
	}
	h->d = MHD_start_daemon(
		MHD_USE_TLS | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG, 0,
		NULL, NULL, on_access, h, MHD_OPTION_LISTEN_SOCKET, (MHD_socket)listen_fd,
		MHD_OPTION_HTTPS_MEM_CERT, cert_pem, MHD_OPTION_HTTPS_MEM_KEY, key_pem,
		MHD_OPTION_HTTPS_PRIORITIES, HTTP_TLS_PRIORITIES, MHD_OPTION_CONNECTION_LIMIT,
		(unsigned)(max_conn * HTTP_MHD_FACTOR), MHD_OPTION_PER_IP_CONNECTION_LIMIT,
		(unsigned)(max_per_addr * HTTP_MHD_FACTOR), MHD_OPTION_CONNECTION_TIMEOUT,
		(unsigned)HTTP_IDLE_S, MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
		MHD_OPTION_NOTIFY_CONNECTION, on_connection, h, MHD_OPTION_EXTERNAL_LOGGER,
		on_mhd_log, NULL, MHD_OPTION_END);
	static const pl_adapt_ops_t ops = {
		.refresh = http_refresh,
		.timeout = http_timeout,
		.run = http_run,
	};
	const union MHD_DaemonInfo *di = h->d ? MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_EPOLL_FD)
					      : NULL;
	h->epfd = di ? di->epoll_fd : -1;
	h->adapt = h->epfd >= 0 ? pl_adapt_new(loop, &ops, h) : NULL;
	if (!h->adapt) {
		if (h->d)
			MHD_stop_daemon(h->d);
		pl_slots_free(h->slots);
		free(h);
		(void)pl_fmt(err->msg, sizeof(err->msg),
			     "cannot start the SCIM HTTPS server (libmicrohttpd; see the debug log)");
		return NULL;
	}
	pl_adapt_wake(h->adapt);
	return h;
}

void scim_http_stop(scim_http_t *h)
{
	if (!h)
		return;
	pl_adapt_free(h->adapt);
	MHD_stop_daemon(h->d);
	pl_slots_free(h->slots);
	free(h);
}
