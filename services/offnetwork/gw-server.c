/* The gateway's HTTPS + WSS server: libwebsockets as a server inside
 * pl_loop through pl_adapt, one library for both roles.
 *
 *  - The supervisor binds listen.main; we accept on it in pl_loop and hand
 *    each connection to lws (lws_adopt_descriptor_vhost), so lws never
 *    listens and we know every fd it serves. Our Debian lws has no
 *    external-poll callbacks: each connection is watched for reading, and
 *    for writing while we asked lws for a writable callback or lws holds
 *    unsent bytes (lws_partial_buffered). lws_service(-1) at least once a
 *    second (pl_adapt's timeout) serves whatever else lws might wait for.
 *  - TLS with the admin's certificate (full chain) and key; HTTP/1.1 only
 *    (no h2 streams: one wsi a connection).
 *  - Routers: subprotocol plsc-offnet-1, the site token in
 *    "Authorization: Bearer", compared in constant time in
 *    HTTP_CONFIRM_UPGRADE, before any WebSocket exists: 401 otherwise. No
 *    extensions (no permessage-deflate); messages over 256 KiB close the
 *    connection. gw-push.c has the job stream.
 *  - Job bodies (§12.4): a router whose upgrade carried
 *    "x-plsc-offnet-body: 1" gets SUBMIT_BEGIN with OFFNET_BODY 1 and no
 *    SUBMIT_DATA; it then GETs /v1/router/jobs/ID/body with the site
 *    token (constant time; 401 otherwise), for a job offered to a router
 *    connection right now (404 otherwise), streamed from the store
 *    chunk by chunk as the socket takes it (HTTP_WRITEABLE), decrypted
 *    and authenticated as it is read: never a whole job in memory.
 *  - The status query: GET /v1/jobs/ID with the workstation's own token as
 *    Bearer: {"id", "state", "reason"}; a job of another workstation is
 *    404, like one never seen. */
#include "gw.h"

#include <errno.h>
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "pl_adapt.h"
#include "pl_log.h"
#include "pl_util.h"

#define GW_RX_MAX (PL_PROTO_HDR_LEN + ON_MSG_MAX)
#define GW_HTTP_LIFE_MS 30000u
/* A connection that is not a router's reported ready this often in one
 * second is one lws does not read (an end of file in a state it does not
 * expect, with no poll loop of its own to notice): closed, not spun on. */
#define GW_SPIN_MAX 1000u
/* JOB_EVENTs recorded and not yet acknowledged on one connection: more
 * than a router ever keeps (ON_OUTBOX_MAX), so only a misbehaving one
 * fills it; it is then dropped, and what it sent is recorded already. */
#define GW_ACKS_MAX (2u * ON_OUTBOX_MAX)

struct gw_conn {
	struct lws *wsi;
	int fd;
	int router;
	int want_write;
	uint64_t born_ms;
	uint64_t spin_ms; /* the second being counted, and its ready reports */
	unsigned spins;
	gw_push_t push;
	uint8_t *rx;
	size_t rxlen;
	uint64_t *acks; /* a ring of JOB_EVENT seqs to acknowledge */
	size_t ack_head, nacks;
	uint64_t ack_after_ms; /* the test hook's pause (gw_conf_t) */
	/* a job body being served to a router (§12.4) */
	pl_jobr_t *br;
	uint64_t bleft;
	char bid[ON_ID_MAX + 1];
	int bdone; /* the last bytes written: closed at the next writable */
};

typedef struct {
	gw_t *gw;
	pl_adapt_t *adapt;
	struct lws_context *lws;
	struct lws_vhost *vh;
	int listen_fd;
	pl_watch_t *listen_w;
	gw_conn_t *conns[GW_MAX_CONNS];
	uint8_t *tx; /* LWS_PRE + one message */
	lws_retry_bo_t keepalive;
	uint64_t refused_last_ms;
	pl_timer_t *ack_timer; /* the test hook's pause ends */
} srv_t;

static void conn_watch(srv_t *s, gw_conn_t *c)
{
	uint32_t ev = EPOLLIN;
	if (c->want_write || (c->wsi && lws_partial_buffered(c->wsi)))
		ev |= EPOLLOUT;
	pl_adapt_set(s->adapt, c->fd, ev);
}

static void conn_writable(srv_t *s, gw_conn_t *c)
{
	c->want_write = 1;
	lws_callback_on_writable(c->wsi);
	conn_watch(s, c);
}

static int busy_elsewhere(void *arg, const char *id)
{
	srv_t *s = arg;
	for (unsigned i = 0; i < GW_MAX_CONNS; i++) {
		gw_conn_t *c = s->conns[i];
		if (c && c->push.active && strcmp(c->push.meta.id, id) == 0)
			return 1;
	}
	return 0;
}

int gw_server_busy(gw_t *gw, const char *id)
{
	return gw->srv && busy_elsewhere(gw->srv, id);
}

void gw_server_kick(gw_t *gw)
{
	srv_t *s = gw->srv;
	if (!s)
		return;
	for (unsigned i = 0; i < GW_MAX_CONNS; i++) {
		gw_conn_t *c = s->conns[i];
		if (c && c->router && !c->push.active)
			conn_writable(s, c);
	}
}

/* ---- HTTP ---- */

static int bearer_of(struct lws *wsi, char *tok, size_t toksz)
{
	char hdr[700];
	int n = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_AUTHORIZATION);
	if (n <= 0 || n >= (int)sizeof(hdr) ||
	    lws_hdr_copy(wsi, hdr, (int)sizeof(hdr), WSI_TOKEN_HTTP_AUTHORIZATION) < 0)
		return 0;
	int ok = gw_parse_bearer(hdr, tok, toksz);
	OPENSSL_cleanse(hdr, sizeof(hdr));
	return ok;
}

static int http_reply(struct lws *wsi, unsigned code, const char *body)
{
	uint8_t hbuf[LWS_PRE + 1024], bbuf[LWS_PRE + 1024];
	uint8_t *start = hbuf + LWS_PRE, *p = start, *end = hbuf + sizeof(hbuf) - 1;
	size_t len = strlen(body);
	if (len > sizeof(bbuf) - LWS_PRE)
		len = sizeof(bbuf) - LWS_PRE;
	memcpy(bbuf + LWS_PRE, body, len);
	if (lws_add_http_common_headers(wsi, code, "application/json", len, &p, end) ||
	    (code == 401 &&
	     lws_add_http_header_by_name(wsi, (const unsigned char *)"www-authenticate:",
					 (const unsigned char *)"Bearer", 6, &p, end)) ||
	    lws_finalize_write_http_header(wsi, start, &p, end))
		return -1;
	(void)lws_write(wsi, bbuf + LWS_PRE, len, LWS_WRITE_HTTP_FINAL);
	/* One request a connection: our lws leaves an idle keep-alive
	 * connection's EOF unread when it is not its own poll loop, and a
	 * status query needs no second request. */
	return -1;
}

/* The state of job id for workstation ws: "waiting", "sending" or the
 * router's outcome; 0, or -1 when there is none for ws. */
static int job_state(srv_t *s, const char *id, const char *ws, char *state, size_t ssz,
		     char *reason, size_t rsz)
{
	pl_job_meta_t m;
	reason[0] = '\0';
	if (strlen(id) == PL_JOB_ID_LEN && pl_jobstore_get(s->gw->store, id, &m) == 0) {
		if (strcmp(m.workstation, ws) != 0)
			return -1;
		pl_strlcpy(state, busy_elsewhere(s, id) ? "sending" : "waiting", ssz);
		return 0;
	}
	const gw_outcome_t *o = gw_outcome_find(s->gw, id);
	if (!o || strcmp(o->workstation, ws) != 0)
		return -1;
	pl_strlcpy(state, o->event, ssz);
	pl_strlcpy(reason, o->reason, rsz);
	return 0;
}

/* The router connection a job is offered to for fetching, or NULL. */
static gw_conn_t *offered(srv_t *s, const char *id)
{
	for (unsigned i = 0; i < GW_MAX_CONNS; i++) {
		gw_conn_t *c = s->conns[i];
		if (c && c->router && c->push.active && c->push.body &&
		    c->push.stage == GW_P_WAIT && strcmp(c->push.meta.id, id) == 0)
			return c;
	}
	return NULL;
}

static int body_request(srv_t *s, gw_conn_t *c, struct lws *wsi, const char *id)
{
	uint8_t hbuf[LWS_PRE + 1024];
	uint8_t *start = hbuf + LWS_PRE, *p = start, *end = hbuf + sizeof(hbuf) - 1;
	char tok[600];
	pl_err_t err;
	int ok = bearer_of(wsi, tok, sizeof(tok)) && gw_token_equal(tok, s->gw->conf.site_token);
	OPENSSL_cleanse(tok, sizeof(tok));
	if (!ok)
		return http_reply(wsi, 401, "{\"error\":\"the site token, as Bearer\"}");
	gw_conn_t *r = offered(s, id);
	if (!r || !c)
		return http_reply(wsi, 404, "{\"error\":\"no such job offered to a router\"}");
	if (pl_jobstore_read_open(s->gw->store, id, &c->br, &err) < 0) {
		gw_error(s->gw, "job %s: %s", id, err.msg);
		return http_reply(wsi, 404, "{\"error\":\"no such job\"}");
	}
	/* The router hashes the body before it prints (§12.4), and the
	 * store's AEAD still checks every chunk here: a second SHA-256 of
	 * every byte was a third of the gateway's CPU for a body. */
	pl_jobr_skip_digest(c->br);
	c->bleft = r->push.meta.size;
	pl_strlcpy(c->bid, id, sizeof(c->bid));
	if (lws_add_http_common_headers(wsi, 200, "application/octet-stream", c->bleft, &p,
					end) ||
	    lws_finalize_write_http_header(wsi, start, &p, end))
		return -1;
	pl_info("job %s: a router fetches its %llu bytes", id, (unsigned long long)c->bleft);
	conn_writable(s, c);
	return 0;
}

/* The next chunk of the body, as the socket takes it; lws calls again
 * only once what it buffered of the last one is sent. */
static int body_writable(srv_t *s, gw_conn_t *c)
{
	pl_err_t err;
	c->want_write = 0;
	if (c->bdone || !c->br)
		return -1; /* everything went: one request a connection */
	/* As much as the buffer holds (several store chunks): fewer, larger
	 * writes, one writable round a quarter MiB instead of one a chunk. */
	size_t want = GW_RX_MAX, n = 0;
	if (c->bleft < want)
		want = (size_t)c->bleft;
	while (n < want) {
		ssize_t k = pl_jobr_read(c->br, s->tx + LWS_PRE + n, want - n, &err);
		if (k <= 0) {
			/* a damaged file: the router sees a short body, prints nothing */
			gw_error(s->gw, "a job body: cannot read it from the store: %s",
				 k < 0 ? err.msg : "shorter than its size");
			return -1;
		}
		n += (size_t)k;
	}
	c->bleft -= (uint64_t)n;
	int final = c->bleft == 0;
	if (lws_write(c->wsi, s->tx + LWS_PRE, (size_t)n,
		      final ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) < (int)n)
		return -1;
	if (final) {
		pl_jobr_close(c->br);
		c->br = NULL;
		c->bdone = 1;
	}
	conn_writable(s, c);
	return 0;
}

static int http_request(srv_t *s, gw_conn_t *c, struct lws *wsi, const char *uri)
{
	char id[ON_ID_MAX + 1], tok[PL_TOKEN_MAX], ws[128], state[32], reason[256];
	char esc[600], body[900];
	pl_err_t err;
	if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) <= 0)
		return http_reply(wsi, 405, "{\"error\":\"GET only\"}");
	if (gw_parse_body_path(uri, id))
		return body_request(s, c, wsi, id);
	if (!gw_parse_job_path(uri, id))
		return http_reply(wsi, 404, "{\"error\":\"GET /v1/jobs/ID\"}");
	int ok = bearer_of(wsi, tok, sizeof(tok)) &&
		 pl_dir_token_verify(s->gw->dir, tok, ws, sizeof(ws), &err) == 1;
	OPENSSL_cleanse(tok, sizeof(tok));
	if (!ok)
		return http_reply(wsi, 401, "{\"error\":\"a valid workstation token, as Bearer\"}");
	if (job_state(s, id, ws, state, sizeof(state), reason, sizeof(reason)) < 0)
		return http_reply(wsi, 404, "{\"error\":\"no such job for this workstation\"}");
	gw_json_escape(esc, sizeof(esc), reason);
	snprintf(body, sizeof(body), "{\"id\":\"%s\",\"state\":\"%s\",\"reason\":\"%s\"}", id,
		 state, esc);
	return http_reply(wsi, 200, body);
}

/* Before the upgrade: the site token and the subprotocol, else no
 * WebSocket. >0: refused with a reply of ours. */
static int confirm_upgrade(srv_t *s, gw_conn_t *c, struct lws *wsi)
{
	char tok[600], proto[64] = "", peer[64] = "?";
	int ok = bearer_of(wsi, tok, sizeof(tok)) && gw_token_equal(tok, s->gw->conf.site_token);
	OPENSSL_cleanse(tok, sizeof(tok));
	lws_get_peer_simple(wsi, peer, sizeof(peer));
	if (!ok) {
		uint64_t now = pl_now_ms();
		if (now - s->refused_last_ms > 1000) { /* at most one line a second */
			s->refused_last_ms = now;
			gw_error(s->gw, "a router from %s without the site token: 401", peer);
		}
		return http_reply(wsi, 401, "{\"error\":\"the site token, as Bearer\"}") < 0 ? -1 : 1;
	}
	if (lws_hdr_copy(wsi, proto, sizeof(proto), WSI_TOKEN_PROTOCOL) < 0 ||
	    strcmp(proto, ON_SUBPROTOCOL) != 0)
		return http_reply(wsi, 400, "{\"error\":\"subprotocol plsc-offnet-1 only\"}") < 0
			       ? -1 : 1;
	if (s->gw->draining)
		return http_reply(wsi, 503, "{\"error\":\"shutting down\"}") < 0 ? -1 : 1;
	char body[8] = "";
	int bl = lws_hdr_custom_length(wsi, ON_BODY_HEADER, (int)strlen(ON_BODY_HEADER));
	if (c && bl > 0 && bl < (int)sizeof(body) &&
	    lws_hdr_custom_copy(wsi, body, (int)sizeof(body), ON_BODY_HEADER,
				(int)strlen(ON_BODY_HEADER)) > 0)
		c->push.body = strcmp(body, "1") == 0;
	pl_info("router from %s: site token accepted%s", peer,
		c && c->push.body ? " (fetches job bodies over HTTPS)" : "");
	return 0;
}

/* ---- the router connection ---- */

static int ws_established(srv_t *s, gw_conn_t *c)
{
	if (!c->rx && !(c->rx = malloc(GW_RX_MAX)))
		return -1;
	c->router = 1;
	s->gw->routers++;
	s->gw->last_error[0] = '\0';
	gw_status_note(s->gw);
	conn_writable(s, c);
	return 0;
}

/* One acknowledgement a writable callback (lws writes one message a
 * callback), before the job stream; each only once the events it covers
 * are synced, in one fdatasync for all those received since the last. */
static int send_ack(srv_t *s, gw_conn_t *c)
{
	pl_msg_t m;
	long len = -1;
	if (gw_outcomes_sync(s->gw) < 0 || pl_msg_init(&m, PL_MSG_RESULT, 0, 0) < 0)
		return -1;
	if (on_msg_event_ack(&m, c->acks[c->ack_head], NULL) == 0 && m.len <= GW_RX_MAX) {
		memcpy(s->tx + LWS_PRE, m.buf, m.len);
		len = (long)m.len;
	}
	pl_msg_free(&m);
	if (len < 0 || lws_write(c->wsi, s->tx + LWS_PRE, (size_t)len, LWS_WRITE_BINARY) < len)
		return -1;
	c->ack_head = (c->ack_head + 1) % GW_ACKS_MAX;
	c->nacks--;
	conn_writable(s, c); /* the next ack, or the job stream */
	return 0;
}

static void ack_timer_run(pl_loop_t *loop, void *arg)
{
	srv_t *s = arg;
	(void)loop;
	s->ack_timer = NULL;
	for (unsigned i = 0; i < GW_MAX_CONNS; i++)
		if (s->conns[i] && s->conns[i]->nacks)
			conn_writable(s, s->conns[i]);
}

static int ws_writable(srv_t *s, gw_conn_t *c)
{
	c->want_write = 0;
	if (c->nacks) {
		uint64_t now = pl_now_ms();
		if (now >= c->ack_after_ms)
			return send_ack(s, c);
		if (!s->ack_timer) /* the test hook's pause: come back after it */
			s->ack_timer = pl_loop_timer(s->gw->loop,
						     c->ack_after_ms - now + 1,
						     ack_timer_run, s);
	}
	long len = gw_push_next(s->gw, &c->push, s->tx + LWS_PRE, GW_RX_MAX, busy_elsewhere, s);
	if (len < 0)
		return -1;
	if (len > 0) {
		if (lws_write(c->wsi, s->tx + LWS_PRE, (size_t)len, LWS_WRITE_BINARY) < len)
			return -1;
		if (c->push.active && c->push.stage != GW_P_WAIT)
			conn_writable(s, c);
	}
	conn_watch(s, c);
	return 0;
}

/* A held job's later state: recorded, then acknowledged (send_ack). */
static int ws_event(srv_t *s, gw_conn_t *c, const on_msg_t *m)
{
	if (!c->acks && !(c->acks = malloc(GW_ACKS_MAX * sizeof(*c->acks))))
		return -1;
	if (c->nacks == GW_ACKS_MAX) {
		gw_error(s->gw, "a router sent %u JOB_EVENTs without reading their "
			 "acknowledgements: dropped", GW_ACKS_MAX);
		return -1;
	}
	if (gw_event_record(s->gw, m) < 0)
		return -1; /* not acknowledged: the router sends it again */
	c->acks[(c->ack_head + c->nacks) % GW_ACKS_MAX] = m->seq;
	c->nacks++;
	uint32_t pause = s->gw->conf.pause_before_ack_ms;
	if (pause) {
		if (gw_outcomes_sync(s->gw) < 0)
			return -1;
		c->ack_after_ms = pl_now_ms() + pause;
		if (!s->ack_timer)
			s->ack_timer = pl_loop_timer(s->gw->loop, pause + 1, ack_timer_run, s);
	}
	conn_writable(s, c);
	return 0;
}

static int ws_receive(srv_t *s, gw_conn_t *c, const void *in, size_t len)
{
	pl_err_t err;
	on_msg_t m;
	if (!lws_frame_is_binary(c->wsi) && c->rxlen == 0 && len) {
		gw_error(s->gw, "a router sent a text message (only binary frames are ours)");
		return -1;
	}
	if (len > GW_RX_MAX - c->rxlen) {
		gw_error(s->gw, "a router sent a message over the size cap");
		return -1;
	}
	memcpy(c->rx + c->rxlen, in, len);
	c->rxlen += len;
	if (!lws_is_final_fragment(c->wsi) || lws_remaining_packet_payload(c->wsi))
		return 0;
	size_t n = c->rxlen;
	c->rxlen = 0;
	if (on_msg_decode(c->rx, n, &m, &err) < 0) {
		gw_error(s->gw, "a router: %s", err.msg);
		return -1;
	}
	if (m.kind == ON_M_EVENT)
		return ws_event(s, c, &m);
	if (gw_push_result(s->gw, &c->push, &m) < 0)
		return -1;
	if (!c->push.active)
		conn_writable(s, c); /* the next job */
	return 0;
}

static void conn_gone(srv_t *s, gw_conn_t *c)
{
	if (c->router) {
		c->router = 0;
		s->gw->routers--;
		if (c->push.active)
			pl_info("job %s: the router left before its RESULT; it stays for the next",
				c->push.meta.id);
		gw_push_abort(&c->push);
		gw_status_note(s->gw);
	}
}

static void conn_free(srv_t *s, gw_conn_t *c)
{
	conn_gone(s, c);
	pl_adapt_set(s->adapt, c->fd, 0);
	for (unsigned i = 0; i < GW_MAX_CONNS; i++)
		if (s->conns[i] == c)
			s->conns[i] = NULL;
	if (c->br)
		pl_jobr_close(c->br);
	free(c->rx);
	free(c->acks);
	free(c);
}

static int gw_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		 size_t len)
{
	struct lws_context *ctx = lws_get_context(wsi);
	srv_t *s = ctx ? lws_context_user(ctx) : NULL;
	gw_conn_t *c = wsi ? lws_get_opaque_user_data(wsi) : NULL;
	(void)user;
	if (!s)
		return 0;
	switch (reason) {
	case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
		return confirm_upgrade(s, c, wsi);
	case LWS_CALLBACK_HTTP:
		return http_request(s, c, wsi, in ? (const char *)in : "");
	case LWS_CALLBACK_HTTP_WRITEABLE:
		return c && (c->br || c->bdone) ? body_writable(s, c) : 0;
	case LWS_CALLBACK_ESTABLISHED:
		return c ? ws_established(s, c) : -1;
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return c && c->router ? ws_writable(s, c) : 0;
	case LWS_CALLBACK_RECEIVE:
		return c && c->router ? ws_receive(s, c, in, len) : -1;
	case LWS_CALLBACK_CLOSED:
		if (c)
			conn_gone(s, c);
		break;
	case LWS_CALLBACK_WSI_DESTROY:
		if (c) {
			lws_set_opaque_user_data(wsi, NULL);
			conn_free(s, c);
		}
		break;
	default:
		break;
	}
	return 0;
}

/* ---- accepting ---- */

static int slot_free(srv_t *s)
{
	for (unsigned i = 0; i < GW_MAX_CONNS; i++)
		if (!s->conns[i])
			return (int)i;
	return -1;
}

static void on_accept(pl_loop_t *loop, int lfd, uint32_t ev, void *arg)
{
	srv_t *s = arg;
	(void)loop;
	(void)ev;
	for (int k = 0; k < 16; k++) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		int i = slot_free(s);
		gw_conn_t *c = i >= 0 && !s->gw->draining ? calloc(1, sizeof(*c)) : NULL;
		if (!c) {
			close(fd); /* full: closed before TLS */
			continue;
		}
		lws_sock_file_fd_type d = { .sockfd = fd };
		c->fd = fd;
		c->born_ms = pl_now_ms();
		s->conns[i] = c;
		struct lws *wsi = lws_adopt_descriptor_vhost(
			s->vh, LWS_ADOPT_SOCKET | LWS_ADOPT_HTTP | LWS_ADOPT_ALLOW_SSL, d, NULL,
			NULL);
		if (!wsi) { /* lws closed the fd */
			s->conns[i] = NULL;
			free(c);
			continue;
		}
		c->wsi = wsi;
		lws_set_opaque_user_data(wsi, c);
		conn_watch(s, c);
	}
}

/* ---- lws inside pl_loop ---- */

static long srv_timeout(pl_adapt_t *a, void *arg)
{
	srv_t *s = arg;
	(void)a;
	return lws_service_adjust_timeout(s->lws, 1000, 0);
}

static gw_conn_t *conn_of_fd(srv_t *s, int fd)
{
	for (unsigned i = 0; i < GW_MAX_CONNS; i++)
		if (s->conns[i] && s->conns[i]->fd == fd)
			return s->conns[i];
	return NULL;
}

/* 1 when c spins (counted here) and was closed. */
static int conn_spins(gw_conn_t *c, uint64_t now)
{
	if (c->router || c->br || c->bdone) /* a body goes out: ready is progress */
		return 0;
	if (now - c->spin_ms >= 1000) {
		c->spin_ms = now;
		c->spins = 0;
	}
	if (++c->spins <= GW_SPIN_MAX)
		return 0;
	pl_debug("fd %d: ready %u times in a second and not read: closed", c->fd, c->spins);
	lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_SYNC);
	return 1;
}

static void srv_run(pl_adapt_t *a, const pl_adapt_ready_t *ready, size_t n, void *arg)
{
	srv_t *s = arg;
	uint64_t t = pl_now_ms();
	(void)a;
	for (size_t i = 0; i < n; i++) {
		gw_conn_t *c = conn_of_fd(s, ready[i].fd);
		if (c && c->wsi && conn_spins(c, t))
			continue;
		struct lws_pollfd pfd = {
			.fd = ready[i].fd,
			.events = (short)ready[i].events,
			.revents = (short)ready[i].events,
		};
		lws_service_fd(s->lws, &pfd);
	}
	if (!n)
		lws_service(s->lws, -1);
	uint64_t now = pl_now_ms();
	for (unsigned i = 0; i < GW_MAX_CONNS; i++) {
		gw_conn_t *c = s->conns[i];
		if (!c || !c->wsi)
			continue;
		/* Whatever lws' state, a connection that never became a
		 * router's is gone after GW_HTTP_LIFE_MS (freed here, by the
		 * callbacks of the close). */
		if (!c->router && !c->br && !c->bdone && now - c->born_ms > GW_HTTP_LIFE_MS) {
			lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_SYNC);
			continue;
		}
		/* A body whose job is no longer offered (its router left, or
		 * answered): no one waits for the rest. */
		if (c->br && !offered(s, c->bid)) {
			lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_SYNC);
			continue;
		}
		conn_watch(s, c);
	}
}

static int srv_context(srv_t *s, pl_err_t *err)
{
	static const struct lws_protocols protocols[] = {
		{ "http", gw_cb, 0, 0, 0, NULL, 0 },
		{ ON_SUBPROTOCOL, gw_cb, 0, GW_RX_MAX, 0, NULL, 0 },
		{ NULL, NULL, 0, 0, 0, NULL, 0 },
	};
	const gw_conf_t *c = &s->gw->conf;
	struct lws_context_creation_info info;
	memset(&info, 0, sizeof(info));
	info.port = CONTEXT_PORT_NO_LISTEN_SERVER;
	info.protocols = protocols;
	info.user = s;
	info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT | LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
	info.pt_serv_buf_size = 64u * 1024u;
	s->lws = lws_create_context(&info);
	if (!s->lws)
		goto bad;
	info.vhost_name = "gateway";
	info.ssl_cert_filepath = c->tls_cert;
	info.ssl_private_key_filepath = c->tls_key[0] ? c->tls_key : NULL;
	info.alpn = "http/1.1";
	info.retry_and_idle_policy = &s->keepalive;
	info.timeout_secs = 10; /* TLS, the request, the upgrade */
	s->vh = lws_create_vhost(s->lws, &info);
	if (!s->vh)
		goto bad;
	return 0;
bad:
	snprintf(err->msg, sizeof(err->msg),
		 "libwebsockets: cannot create the server (tls_cert, tls_key?)");
	return -1;
}

int gw_server_start(gw_t *gw, int listen_fd, pl_err_t *err)
{
	static const pl_adapt_ops_t ops = { .timeout = srv_timeout, .run = srv_run };
	srv_t *s = calloc(1, sizeof(*s));
	if (!s || !(s->tx = malloc(LWS_PRE + GW_RX_MAX))) {
		free(s);
		pl_strlcpy(err->msg, "out of memory", sizeof(err->msg));
		return -1;
	}
	gw->srv = s;
	s->gw = gw;
	s->listen_fd = listen_fd;
	s->keepalive.secs_since_valid_ping = (uint16_t)gw->conf.ping_s;
	s->keepalive.secs_since_valid_hangup = (uint16_t)gw->conf.dead_s;
	lws_set_log_level(LLL_ERR | LLL_WARN, on_lws_log);
	s->adapt = pl_adapt_new(gw->loop, &ops, s);
	if (!s->adapt) {
		pl_strlcpy(err->msg, "cannot start the server", sizeof(err->msg));
		return -1;
	}
	if (srv_context(s, err) < 0)
		return -1;
	pl_set_nonblock(listen_fd);
	s->listen_w = pl_loop_watch(gw->loop, listen_fd, EPOLLIN, on_accept, s);
	if (!s->listen_w) {
		pl_strlcpy(err->msg, "cannot watch listen.main", sizeof(err->msg));
		return -1;
	}
	return 0;
}

void gw_server_stop(gw_t *gw)
{
	srv_t *s = gw->srv;
	if (!s)
		return;
	if (s->listen_w)
		pl_loop_unwatch(gw->loop, s->listen_w);
	if (s->ack_timer)
		pl_loop_timer_cancel(gw->loop, s->ack_timer);
	if (s->lws)
		lws_context_destroy(s->lws); /* WSI_DESTROY frees each conn */
	for (unsigned i = 0; i < GW_MAX_CONNS; i++)
		if (s->conns[i])
			conn_free(s, s->conns[i]);
	pl_adapt_free(s->adapt);
	close(s->listen_fd);
	free(s->tx);
	free(s);
	gw->srv = NULL;
}
