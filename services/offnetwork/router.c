/* The router role: one persistent wss:// connection to the gateway,
 * libwebsockets driven inside pl_loop through pl_adapt ("one by one": our
 * Debian lws has no external-poll callbacks, so the connection's fd is
 * tracked here with the events it waits for, as tests/lib/adaptsvc.c does).
 *
 *  - TLS: the gateway's certificate must chain to ca_file (or the system
 *    store) and name the URL's host; or, with gateway_fingerprint, have
 *    exactly that SHA-256 (pin.c); never "allow self-signed".
 *  - The site's token goes in "Authorization: Bearer" on the upgrade, so a
 *    gateway refuses a stranger before any WebSocket exists.
 *  - Keepalive: lws sends a ping after ping_s of silence and drops the
 *    connection after dead_s without a valid frame (dead peer).
 *  - DNS runs on a worker (our lws has no asynchronous resolver): lws is
 *    given the numeric address, and the host name for SNI, Host and the
 *    certificate check.
 *  - Reconnect after any failure, synchronous (connect_via_info NULL) or
 *    asynchronous (CONNECTION_ERROR, CLOSED), with exponential backoff
 *    from backoff_min_ms to backoff_max_ms and jitter (a random 50..100%
 *    of the step, so a fleet of sites does not reconnect in step).
 *  - permessage-deflate is never offered (no extensions). */
#include "on.h"

#include <arpa/inet.h>
#include <libwebsockets.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>

#include "pl_adapt.h"
#include "pl_log.h"
#include "pl_random.h"
#include "pl_util.h"

typedef struct ack {
	struct ack *next;
	size_t len;
	uint8_t buf[]; /* LWS_PRE + frame */
} ack_t;

typedef struct {
	on_t *on;
	pl_adapt_t *adapt;
	struct lws_context *lws;
	struct lws *wsi;
	pl_work_t *dns;
	pl_timer_t *retry;
	pl_timer_t *guard;
	lws_retry_bo_t keepalive;
	uint32_t failures; /* in a row: the backoff step */
	int fd;		   /* the connection's fd as tracked, -1 none */
	uint32_t fd_events;
	int established;
	uint64_t conn; /* established connections so far */
	size_t round_bytes; /* received in this loop round */
	pl_timer_t *resume; /* rx paused until the next round */
	int resolving, stopping;
	/* the resolver's answer */
	char addr[INET6_ADDRSTRLEN];
	char dns_err[128];
	/* a message being reassembled from fragments */
	uint8_t *rx;
	size_t rxlen;
	ack_t *acks, **acks_tail;
	int drop; /* on_router_drop: closed at the next writable */
	char auth[600];
} rt_t;

static void rt_schedule(rt_t *r);

/* plsc status shows since when, in calendar time. */
static uint64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void rt_track(rt_t *r, struct lws *wsi, uint32_t events)
{
	int fd = (int)lws_get_socket_fd(wsi);
	if (fd < 0)
		return;
	pl_adapt_set(r->adapt, fd, events);
	if (wsi == r->wsi) {
		r->fd = events ? fd : -1;
		r->fd_events = events;
	}
}

/* Before each wait: lws may have opened the connection's socket (or a new
 * one, trying the next address) since we last looked, without telling us
 * (no external poll): watch whatever fd the connection has now. Until the
 * upgrade is done, writable matters too (connect, TLS, the request). */
static void rt_sync(rt_t *r)
{
	if (!r->wsi)
		return;
	int fd = (int)lws_get_socket_fd(r->wsi);
	uint32_t ev = EPOLLIN;
	if (!r->established || r->acks)
		ev |= EPOLLOUT;
	if (fd == r->fd && ev == r->fd_events)
		return;
	if (r->fd >= 0 && r->fd != fd)
		pl_adapt_set(r->adapt, r->fd, 0);
	r->fd = -1;
	pl_debug("watching fd %d events %x", fd, ev);
	if (fd >= 0 && pl_adapt_set(r->adapt, fd, ev) == 0) {
		r->fd = fd;
		r->fd_events = ev;
	}
}

static void rt_error(rt_t *r, const char *what, const char *why)
{
	on_t *on = r->on;
	snprintf(on->last_error, sizeof(on->last_error), "%.40s: %.200s", what, why);
	pl_warn("gateway %s: %s", on->conf.url, on->last_error);
	on_status_note(on);
}

static void rt_set_connected(rt_t *r, int up)
{
	on_t *on = r->on;
	if (on->connected == up)
		return;
	on->connected = up;
	on->since_ms = wall_ms();
	on_status_note(on);
}

/* ---- the acknowledgements ---- */

int on_router_send(on_t *on, const pl_msg_t *m)
{
	rt_t *r = on->rt;
	/* Connecting counts: the frame goes once the upgrade is done. */
	if (!r || !r->wsi)
		return -1; /* not connected: the peer gets it again later */
	ack_t *a = malloc(sizeof(*a) + LWS_PRE + m->len);
	if (!a)
		return -1;
	a->next = NULL;
	a->len = m->len;
	memcpy(a->buf + LWS_PRE, m->buf, m->len);
	*r->acks_tail = a;
	r->acks_tail = &a->next;
	rt_track(r, r->wsi, EPOLLIN | EPOLLOUT);
	lws_callback_on_writable(r->wsi);
	return 0;
}

uint64_t on_router_connection(const on_t *on)
{
	const rt_t *r = on->rt;
	return r && r->wsi && r->established ? r->conn : 0;
}

void on_router_ack(on_t *on, const char *id, const char *event, const char *reason)
{
	pl_msg_t m;
	if (pl_msg_init(&m, PL_MSG_RESULT, 0, 0) < 0)
		return;
	if (on_msg_result(&m, id, event, reason) == 0)
		(void)on_router_send(on, &m); /* not connected: the job comes again */
	pl_msg_free(&m);
}

static void acks_drop(rt_t *r)
{
	while (r->acks) {
		ack_t *a = r->acks;
		r->acks = a->next;
		free(a);
	}
	r->acks_tail = &r->acks;
}

void on_router_drop(on_t *on, const char *why)
{
	rt_t *r = on->rt;
	if (!r || !r->wsi)
		return;
	pl_warn("closing the connection to the gateway: %s", why);
	r->drop = 1;
	rt_track(r, r->wsi, EPOLLIN | EPOLLOUT);
	lws_callback_on_writable(r->wsi);
}

static int rt_writable(rt_t *r, struct lws *wsi)
{
	ack_t *a = r->acks;
	if (r->drop) {
		r->drop = 0;
		return -1;
	}
	if (!a) {
		rt_track(r, wsi, EPOLLIN);
		return 0;
	}
	if (lws_write(wsi, a->buf + LWS_PRE, a->len, LWS_WRITE_BINARY) < (int)a->len)
		return -1;
	r->acks = a->next;
	if (!r->acks)
		r->acks_tail = &r->acks;
	free(a);
	if (r->acks)
		lws_callback_on_writable(wsi);
	else
		rt_track(r, wsi, EPOLLIN);
	return 0;
}

/* ---- receiving ---- */

static void rt_resume(pl_loop_t *loop, void *arg)
{
	rt_t *r = arg;
	(void)loop;
	r->resume = NULL;
	if (r->wsi)
		lws_rx_flow_control(r->wsi, 1);
}

/* lws drains what TLS has buffered in one service call; a fast gateway
 * could keep the loop (and so the heartbeat) from turning for long. After
 * ON_ROUND_BYTES in one round the connection's reading pauses until the
 * next round. */
#define ON_ROUND_BYTES (2u * 1024u * 1024u)
static void rt_yield(rt_t *r, struct lws *wsi, size_t n)
{
	r->round_bytes += n;
	if (r->round_bytes < ON_ROUND_BYTES || r->resume)
		return;
	lws_rx_flow_control(wsi, 0);
	r->resume = pl_loop_timer(r->on->loop, 0, rt_resume, r);
}

static int rt_receive(rt_t *r, struct lws *wsi, const void *in, size_t len)
{
	pl_err_t err;
	on_msg_t m;
	const uint8_t *msg = in;
	if (!lws_frame_is_binary(wsi) && r->rxlen == 0 && len) {
		rt_error(r, "protocol", "a text message (only binary frames are ours)");
		return -1;
	}
	if (len > PL_PROTO_HDR_LEN + ON_MSG_MAX - r->rxlen) {
		rt_error(r, "protocol", "a message over the size cap");
		return -1;
	}
	int whole = lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi);
	size_t n = len;
	/* A message that came in one piece (rx_buffer_size holds the largest)
	 * is decoded where lws put it: no copy. Pieces are put together. */
	if (r->rxlen || !whole) {
		memcpy(r->rx + r->rxlen, in, len);
		r->rxlen += len;
		if (!whole)
			return 0;
		msg = r->rx;
		n = r->rxlen;
		r->rxlen = 0;
	}
	if (on_msg_decode(msg, n, &m, &err) < 0) {
		rt_error(r, "protocol", err.msg);
		return -1;
	}
	if (m.kind == ON_M_EVENT_ACK) {
		on_outbox_ack(r->on, m.seq);
		return 0;
	}
	if (on_job_message(r->on, &m) < 0) {
		rt_error(r, "protocol", "a job stream out of order");
		return -1;
	}
	rt_yield(r, wsi, n);
	return 0;
}

/* ---- lws callback ---- */

static int rt_handshake_headers(rt_t *r, struct lws *wsi, void *in, size_t len)
{
	unsigned char **p = in, *end = *p + len;
	if (lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_AUTHORIZATION,
					 (const unsigned char *)r->auth,
					 (int)strlen(r->auth), p, end) ||
	    (!r->on->conf.no_body &&
	     lws_add_http_header_by_name(wsi, (const unsigned char *)ON_BODY_HEADER,
					(const unsigned char *)"1", 1, p, end)))
		return -1;
	rt_track(r, wsi, EPOLLIN | EPOLLOUT);
	return 0;
}

/* The connection ended, or never started. lws may report a failure from
 * inside lws_client_connect_via_info, before r->wsi was set (pwsi makes it
 * NULL then): one connection at a time, so that is ours too. */
static void rt_closed(rt_t *r, struct lws *wsi)
{
	if (r->wsi && r->wsi != wsi)
		return;
	/* By the fd we watch: lws may have closed it already, and a stale
	 * entry would hide the same number reused by the next attempt. */
	if (r->fd >= 0)
		pl_adapt_set(r->adapt, r->fd, 0);
	r->wsi = NULL;
	r->fd = -1;
	r->established = 0;
	r->drop = 0;
	r->rxlen = 0;
	acks_drop(r);
	on_job_abort(r->on);
	rt_set_connected(r, 0);
	rt_schedule(r);
}

static int rt_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user,
		 void *in, size_t len)
{
	rt_t *r = lws_context_user(lws_get_context(wsi));
	(void)user;
	switch (reason) {
	case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
		return rt_handshake_headers(r, wsi, in, len);
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		pl_info("connected to the gateway %s (%s)", r->on->conf.url, r->addr);
		r->failures = 0;
		r->on->last_error[0] = '\0';
		r->established = 1;
		r->conn++;
		rt_set_connected(r, 1);
		rt_track(r, wsi, EPOLLIN);
		on_outbox_resend(r->on);
		break;
	case LWS_CALLBACK_OPENSSL_PERFORM_SERVER_CERT_VERIFICATION:
		/* user is the X509_STORE_CTX here, len OpenSSL's verdict */
		return on_pin_verify(r->on, user, (int)len);
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		return rt_writable(r, wsi);
	case LWS_CALLBACK_CLIENT_RECEIVE:
		return rt_receive(r, wsi, in, len);
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		pl_debug("connection error");
		rt_error(r, "cannot connect", in ? (const char *)in : "connection error");
		rt_closed(r, wsi);
		break;
	case LWS_CALLBACK_WSI_DESTROY:
		/* Some failures (a refused connect inside lws' own retries)
		 * end here without CONNECTION_ERROR or CLOSED. */
		if (r->wsi == wsi || !r->wsi)
			rt_closed(r, wsi);
		break;
	case LWS_CALLBACK_CLIENT_CLOSED:
		if (r->wsi == wsi)
			pl_info("disconnected from the gateway");
		if (!r->on->last_error[0])
			pl_strlcpy(r->on->last_error, "connection closed",
				   sizeof(r->on->last_error));
		rt_closed(r, wsi);
		break;
	default:
		break;
	}
	return 0;
}

/* ---- connecting ---- */

static void rt_connect(rt_t *r)
{
	on_conf_t *c = &r->on->conf;
	struct lws_client_connect_info cc;
	memset(&cc, 0, sizeof(cc));
	cc.context = r->lws;
	cc.address = r->addr;
	cc.port = c->port;
	cc.path = c->path;
	cc.host = c->host; /* SNI, Host and the certificate's name */
	cc.origin = c->host;
	cc.protocol = ON_SUBPROTOCOL;
	cc.ssl_connection = LCCSCF_USE_SSL; /* verification stays on */
	cc.retry_and_idle_policy = &r->keepalive;
	cc.pwsi = &r->wsi; /* set early, and NULL again on a failure */
	struct lws *wsi = lws_client_connect_via_info(&cc);
	pl_debug("connecting to %s: wsi %p/%p fd %d", r->addr, (void *)wsi, (void *)r->wsi,
		 r->wsi ? (int)lws_get_socket_fd(r->wsi) : -2);
	if (!wsi || !r->wsi) { /* a synchronous failure */
		r->wsi = NULL;
		if (!r->on->last_error[0])
			rt_error(r, "cannot connect", "libwebsockets refused to start");
		rt_schedule(r); /* at most one retry is pending */
		return;
	}
	/* Connecting: writable means connected. Dropped first, so that the
	 * watch is new even when the number is the last connection's. */
	r->fd = (int)lws_get_socket_fd(wsi);
	if (r->fd >= 0)
		pl_adapt_set(r->adapt, r->fd, 0);
	r->fd = -1;
	rt_sync(r);
}

static void dns_run(void *arg)
{
	rt_t *r = arg;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai = NULL;
	r->addr[0] = r->dns_err[0] = '\0';
	int rc = getaddrinfo(r->on->conf.host, NULL, &hints, &ai);
	if (rc != 0) {
		pl_strlcpy(r->dns_err, gai_strerror(rc), sizeof(r->dns_err));
		return;
	}
	const void *a = ai->ai_family == AF_INET6
				? (const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr
				: (const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr;
	inet_ntop(ai->ai_family, a, r->addr, sizeof(r->addr));
	freeaddrinfo(ai);
}

static void dns_done(void *arg)
{
	rt_t *r = arg;
	r->resolving = 0;
	if (r->stopping)
		return;
	if (!r->addr[0]) {
		rt_error(r, "cannot resolve", r->dns_err);
		rt_schedule(r);
		return;
	}
	rt_connect(r);
}

static void rt_start(pl_loop_t *loop, void *arg)
{
	rt_t *r = arg;
	(void)loop;
	r->retry = NULL;
	if (r->stopping || r->resolving || r->wsi)
		return;
	r->resolving = 1;
	pl_debug("resolving %s", r->on->conf.host);
	if (pl_work_submit(r->dns, dns_run, dns_done, r) < 0) {
		r->resolving = 0;
		rt_schedule(r);
	}
}

/* The next attempt: min * 2^failures, capped, then a random 50..100% of
 * it; the first retry after a connection that worked comes quickly. */
static void rt_schedule(rt_t *r)
{
	const on_conf_t *c = &r->on->conf;
	uint64_t step = c->backoff_min_ms;
	uint32_t rnd = 0;
	if (r->stopping || r->retry)
		return;
	for (uint32_t i = 0; i < r->failures && step < c->backoff_max_ms; i++)
		step *= 2;
	if (step > c->backoff_max_ms)
		step = c->backoff_max_ms;
	r->failures++;
	pl_random_bytes(&rnd, sizeof(rnd));
	uint64_t ms = step / 2 + (step / 2 + 1) * (rnd % 1000) / 1000;
	pl_debug("reconnecting in %llu ms", (unsigned long long)ms);
	r->retry = pl_loop_timer(r->on->loop, ms, rt_start, r);
}

/* Belt and braces: idle with no attempt pending (a path of lws that
 * reported nothing) is never a state to stay in. */
static void rt_guard(pl_loop_t *loop, void *arg)
{
	rt_t *r = arg;
	r->guard = pl_loop_timer(loop, 1000, rt_guard, r);
	if (!r->stopping && !r->wsi && !r->resolving && !r->retry) {
		pl_debug("no connection and none pending: reconnecting");
		rt_schedule(r);
	}
}

/* ---- lws inside pl_loop ---- */

static long rt_timeout(pl_adapt_t *a, void *arg)
{
	rt_t *r = arg;
	(void)a;
	rt_sync(r);
	/* lws keeps its timers (ping, hang-up, handshake) inside; a second
	 * at most between services lets them fire. 0: data is buffered in
	 * TLS and wants servicing now. */
	return lws_service_adjust_timeout(r->lws, 1000, 0);
}

static void rt_run(pl_adapt_t *a, const pl_adapt_ready_t *ready, size_t n, void *arg)
{
	rt_t *r = arg;
	(void)a;
	r->round_bytes = 0;
	for (size_t i = 0; i < n; i++) {
		struct lws_pollfd pfd = {
			.fd = ready[i].fd,
			.events = (short)ready[i].events,
			.revents = (short)ready[i].events,
		};
		lws_service_fd(r->lws, &pfd);
	}
	if (!n)
		lws_service(r->lws, -1);
}

void on_lws_log(int level, const char *line)
{
	char msg[512];
	pl_strlcpy(msg, line, sizeof(msg));
	msg[strcspn(msg, "\n")] = '\0';
	if (level & LLL_ERR)
		pl_err("lws: %s", msg);
	else
		pl_warn("lws: %s", msg);
}

static int rt_context(rt_t *r, pl_err_t *err)
{
	static const struct lws_protocols protocols[] = {
		{ ON_SUBPROTOCOL, rt_cb, 0, ON_MSG_MAX + PL_PROTO_HDR_LEN, 0, NULL, 0 },
		{ NULL, NULL, 0, 0, 0, NULL, 0 },
	};
	const on_conf_t *c = &r->on->conf;
	struct lws_context_creation_info info;
	memset(&info, 0, sizeof(info));
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	info.user = r;
	info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	/* lws reads at most this much a service call (4 KiB by default):
	 * a whole TLS record and more, fewer loop rounds a job (no change
	 * [14] could show on a loaded machine). */
	info.pt_serv_buf_size = 64u * 1024u;
	info.client_ssl_ca_filepath = c->ca_file[0] ? c->ca_file : NULL;
	info.client_ssl_cert_filepath = c->client_cert[0] ? c->client_cert : NULL;
	info.client_ssl_private_key_filepath = c->client_key[0] ? c->client_key : NULL;
	r->lws = lws_create_context(&info);
	if (!r->lws) {
		snprintf(err->msg, sizeof(err->msg),
			 "libwebsockets: cannot create the client (ca_file, client_cert?)");
		return -1;
	}
	return 0;
}

int on_router_start(on_t *on, pl_err_t *err)
{
	static const pl_adapt_ops_t ops = { .timeout = rt_timeout, .run = rt_run };
	rt_t *r = calloc(1, sizeof(*r));
	if (!r || !(r->rx = malloc(PL_PROTO_HDR_LEN + ON_MSG_MAX))) {
		free(r);
		snprintf(err->msg, sizeof(err->msg), "out of memory");
		return -1;
	}
	on->rt = r;
	r->on = on;
	r->acks_tail = &r->acks;
	r->fd = -1;
	snprintf(r->auth, sizeof(r->auth), "Bearer %s", on->conf.token);
	r->keepalive.secs_since_valid_ping = (uint16_t)on->conf.ping_s;
	r->keepalive.secs_since_valid_hangup = (uint16_t)on->conf.dead_s;
	lws_set_log_level(LLL_ERR | LLL_WARN, on_lws_log);
	/* The adapter first: lws may register fds while it starts. */
	r->adapt = pl_adapt_new(on->loop, &ops, r);
	r->dns = pl_work_new(on->loop, "on-dns", 1, 0);
	if (!r->adapt || !r->dns) {
		snprintf(err->msg, sizeof(err->msg), "cannot start the router");
		return -1;
	}
	if (rt_context(r, err) < 0)
		return -1;
	rt_start(on->loop, r);
	r->guard = pl_loop_timer(on->loop, 1000, rt_guard, r);
	return 0;
}

void on_router_stop(on_t *on)
{
	rt_t *r = on->rt;
	if (!r)
		return;
	r->stopping = 1;
	if (r->retry)
		pl_loop_timer_cancel(on->loop, r->retry);
	if (r->guard)
		pl_loop_timer_cancel(on->loop, r->guard);
	if (r->resume)
		pl_loop_timer_cancel(on->loop, r->resume);
	pl_work_free(r->dns);
	if (r->lws)
		lws_context_destroy(r->lws);
	pl_adapt_free(r->adapt);
	acks_drop(r);
	free(r->rx);
	free(r);
	on->rt = NULL;
}
