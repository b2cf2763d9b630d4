/* Badge reader connections. Readers in "connect" mode open a TCP
 * connection to us (port 31990); only the addresses of configured readers
 * are served, anything else is closed at once (logged, rate-limited).
 * Readers in "listen" mode are dialled by us, with a reconnect backoff.
 * Badge readers are plain devices without TLS (DESIGN.md §7): the address
 * allow-list is what protects this port. One connection per reader: a
 * newer connection from the same reader replaces the old one (a reader
 * that rebooted), so idle or duplicate connections cannot pile up. */
#include "br.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pl_log.h"
#include "pl_util.h"

#define DIAL_MIN_MS 500u
#define DIAL_TIMEOUT_MS 10000u
/* A reader that stays unreachable: one warning, then a reminder this
 * often, not a line every redial. */
#define DOWN_REMIND_MS (10u * 60u * 1000u)

struct br_conn {
	br_t *br;
	br_reader_t *reader; /* NULL once detached */
	int fd;
	int connecting; /* dial in progress */
	pl_watch_t *w;
	pl_timer_t *dial_timer; /* gives up a dial that gets no answer */
	pl_badge_reader_t parser;
	char peer[64];
	br_conn_t *next;
};

static void dial_reader(br_t *br, br_reader_t *r);

static void conn_free(br_conn_t *c)
{
	br_t *br = c->br;
	for (br_conn_t **pp = &br->conns; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	br->nconns--;
	pl_loop_unwatch(br->loop, c->w);
	pl_loop_timer_cancel(br->loop, c->dial_timer);
	close(c->fd);
	if (c->reader && c->reader->conn == c)
		c->reader->conn = NULL;
	free(c);
}

static void redial_due(pl_loop_t *loop, void *arg)
{
	br_reader_t *r = arg;
	(void)loop;
	r->redial = NULL;
	if (!r->conn)
		dial_reader(r->br, r);
}

/* A dialled reader went away: try again later, backing off. */
static void schedule_redial(br_t *br, br_reader_t *r)
{
	if (!r->dial || r->redial)
		return;
	r->backoff_ms = r->backoff_ms ? r->backoff_ms * 2 : DIAL_MIN_MS;
	if (r->backoff_ms > br->redial_max_ms)
		r->backoff_ms = br->redial_max_ms;
	r->redial_at = pl_now_ms() + r->backoff_ms;
	r->redial = pl_loop_timer(br->loop, r->backoff_ms, redial_due, r);
}

/* A reader we dial cannot be reached (or went away): warn once, then
 * remind now and then while it stays so; the redials in between are
 * debug lines. */
static void reader_down(br_reader_t *r, const char *peer, const char *why)
{
	uint64_t now = pl_now_ms();
	if (!r->down_since_ms) {
		r->down_since_ms = r->down_said_ms = now;
		pl_warn("reader %s (%s): %s; trying again (at most every %u s)",
			r->d.name, peer, why, r->br->redial_max_ms / 1000);
	} else if (now - r->down_said_ms >= DOWN_REMIND_MS) {
		r->down_said_ms = now;
		pl_warn("reader %s (%s): still unreachable after %llu min: %s",
			r->d.name, peer,
			(unsigned long long)((now - r->down_since_ms) / 60000), why);
	} else {
		pl_debug("reader %s (%s): %s", r->d.name, peer, why);
	}
}

static void conn_close(br_conn_t *c, const char *why)
{
	br_reader_t *r = c->reader;
	br_t *br = c->br;
	if (why && r && r->dial)
		reader_down(r, c->peer, why);
	else if (why)
		pl_info("reader %s (%s): %s", r ? r->d.name : "?", c->peer, why);
	conn_free(c);
	if (r)
		schedule_redial(br, r);
}

/* ---- frames ---- */

static void on_badge(void *arg, const char *id, const char *why)
{
	br_conn_t *c = arg;
	br_reader_t *r = c->reader;
	if (!r)
		return;
	r->backoff_ms = 0; /* a working reader: reset the dial backoff */
	if (!id) {
		pl_warn("reader %s (%s): ignored a frame: %s", r->d.name, c->peer, why);
		return;
	}
	br_swipe(c->br, r, id);
}

static void conn_io(pl_loop_t *loop, int fd, uint32_t ev, void *arg)
{
	br_conn_t *c = arg;
	char buf[4096];
	(void)loop;
	if (c->connecting) {
		int err = 0;
		socklen_t sl = sizeof(err);
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl);
		if (err) {
			conn_close(c, strerror(err));
			return;
		}
		c->connecting = 0;
		pl_loop_timer_cancel(c->br->loop, c->dial_timer);
		c->dial_timer = NULL;
		pl_loop_watch_mod(c->br->loop, c->w, EPOLLIN);
		br_reader_t *r = c->reader;
		if (r->down_since_ms)
			pl_info("reader %s (%s): connected, after %llu s unreachable",
				r->d.name, c->peer,
				(unsigned long long)((pl_now_ms() - r->down_since_ms) / 1000));
		else
			pl_info("reader %s (%s): connected", r->d.name, c->peer);
		r->down_since_ms = 0;
		return;
	}
	(void)ev;
	/* Bounded per wake-up: a reader spewing noise must not starve the
	 * others or the heartbeat. */
	for (int i = 0; i < 8; i++) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n > 0) {
			pl_badge_reader_feed(&c->parser, buf, (size_t)n, on_badge, c);
			if (!c->reader)
				return;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		conn_close(c, n == 0 ? "disconnected" : strerror(errno));
		return;
	}
}

/* Readers sit idle between swipes; keepalive notices one that lost power
 * or its network (then a dialled reader is dialled again). */
static void keepalive(int fd)
{
	int on = 1, idle = 60, intvl = 10, cnt = 3;
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
}

static br_conn_t *conn_new(br_t *br, br_reader_t *r, int fd, uint32_t ev)
{
	br_conn_t *c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return NULL;
	}
	c->br = br;
	c->reader = r;
	c->fd = fd;
	keepalive(fd);
	pl_badge_reader_init(&c->parser, &r->fmt);
	c->w = pl_loop_watch(br->loop, fd, ev, conn_io, c);
	c->next = br->conns;
	br->conns = c;
	br->nconns++;
	if (r->conn)
		conn_free(r->conn); /* the newer connection wins */
	r->conn = c;
	if (!c->w) {
		conn_free(c);
		return NULL;
	}
	return c;
}

/* ---- accepting ---- */

static void addr_text(const struct sockaddr_storage *ss, char *host,
		      size_t hsz, int *port)
{
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)ss;
		*port = ntohs(s6->sin6_port);
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
			inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12], host, (socklen_t)hsz);
		else
			inet_ntop(AF_INET6, &s6->sin6_addr, host, (socklen_t)hsz);
	} else {
		const struct sockaddr_in *s4 = (const void *)ss;
		*port = ntohs(s4->sin_port);
		inet_ntop(AF_INET, &s4->sin_addr, host, (socklen_t)hsz);
	}
}

/* A configured address in the form addr_text gives a peer's: an IPv6
 * address in its one canonical text ("2001:DB8:0::1" is "2001:db8::1"),
 * an IPv4-mapped one as IPv4. Anything else (a host name) is left as it
 * is and matches only itself. */
static void addr_canon(const char *in, char *out, size_t osz)
{
	struct in6_addr a6;
	struct in_addr a4;
	if (inet_pton(AF_INET, in, &a4) == 1) {
		inet_ntop(AF_INET, &a4, out, (socklen_t)osz);
	} else if (inet_pton(AF_INET6, in, &a6) == 1) {
		if (IN6_IS_ADDR_V4MAPPED(&a6))
			inet_ntop(AF_INET, &a6.s6_addr[12], out, (socklen_t)osz);
		else
			inet_ntop(AF_INET6, &a6, out, (socklen_t)osz);
	} else {
		pl_strlcpy(out, in, osz);
	}
}

static br_reader_t *reader_for(br_t *br, const char *host)
{
	char want[INET6_ADDRSTRLEN + 64];
	for (size_t i = 0; i < br->nreaders; i++) {
		if (br->readers[i].dial)
			continue;
		addr_canon(br->readers[i].d.address, want, sizeof(want));
		if (strcmp(want, host) == 0)
			return &br->readers[i];
	}
	return NULL;
}

static void refuse(br_t *br, const char *host)
{
	uint64_t now = pl_now_ms();
	br->refused_peers++;
	br_report(br);
	if (now - br->refuse_log_ms >= 10000) {
		if (br->refuse_suppressed)
			pl_warn("(%u more connections from unlisted addresses refused)",
				br->refuse_suppressed);
		br->refuse_log_ms = now;
		br->refuse_suppressed = 0;
		pl_warn("refused a connection from %s: not a configured badge reader", host);
	} else {
		br->refuse_suppressed++;
	}
}

static void on_accept(pl_loop_t *loop, int lfd, uint32_t ev, void *arg)
{
	br_t *br = arg;
	(void)loop;
	(void)ev;
	for (int i = 0; i < 64; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		char host[INET6_ADDRSTRLEN] = "?";
		int port = 0;
		int fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		addr_text(&ss, host, sizeof(host), &port);
		br_reader_t *r = reader_for(br, host);
		if (!r) {
			refuse(br, host);
			close(fd);
			continue;
		}
		if (!r->conn && br->nconns >= br->max_conns) {
			pl_warn("reader %s: max_connections (%u) reached; connection closed",
				r->d.name, br->max_conns);
			close(fd);
			continue;
		}
		br_conn_t *c = conn_new(br, r, fd, EPOLLIN);
		if (c) {
			snprintf(c->peer, sizeof(c->peer), "%s:%d", host, port);
			pl_debug("reader %s (%s): connected", r->d.name, c->peer);
		}
	}
}

int br_listen(br_t *br, int fd)
{
	br->listen_fd = fd;
	pl_set_nonblock(fd);
	br->listen_w = pl_loop_watch(br->loop, fd, EPOLLIN, on_accept, br);
	return br->listen_w ? 0 : -1;
}

/* ---- dialling ---- */

static void dial_timeout(pl_loop_t *loop, void *arg)
{
	br_conn_t *c = arg;
	(void)loop;
	c->dial_timer = NULL;
	if (c->connecting)
		conn_close(c, "no answer to our connection attempt");
}

static void dial_reader(br_t *br, br_reader_t *r)
{
	char port[16];
	struct addrinfo hints = { 0 }, *res = NULL;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%d", r->d.port);
	if (getaddrinfo(r->d.address, port, &hints, &res) != 0 || !res) {
		reader_down(r, r->d.address, "cannot resolve the address");
		schedule_redial(br, r);
		return;
	}
	int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || (connect(fd, res->ai_addr, res->ai_addrlen) < 0 &&
		       errno != EINPROGRESS)) {
		char peer[80];
		(void)pl_fmt(peer, sizeof(peer), "%s:%d", r->d.address, r->d.port);
		reader_down(r, peer, strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(res);
		schedule_redial(br, r);
		return;
	}
	freeaddrinfo(res);
	br_conn_t *c = conn_new(br, r, fd, EPOLLOUT);
	if (c) {
		c->connecting = 1;
		c->dial_timer = pl_loop_timer(br->loop, DIAL_TIMEOUT_MS, dial_timeout, c);
		(void)pl_fmt(c->peer, sizeof(c->peer), "%s:%d", r->d.address, r->d.port);
	}
}

/* ---- the reader list ---- */

static int same_reader(const br_reader_t *a, const br_reader_t *b)
{
	return strcmp(a->d.name, b->d.name) == 0 &&
	       strcmp(a->d.address, b->d.address) == 0 &&
	       strcmp(a->d.direction, b->d.direction) == 0 &&
	       a->d.port == b->d.port && strcmp(a->d.format, b->d.format) == 0;
}

/* Install a new list (from the directory). Readers that did not change
 * keep their connection, dial state and de-duplication memory; the rest
 * are dropped and started afresh. Takes ownership of list. */
void br_readers_apply(br_t *br, br_reader_t *list, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		br_reader_t *nr = &list[i];
		nr->br = br;
		for (size_t k = 0; k < br->nreaders; k++) {
			br_reader_t *old = &br->readers[k];
			if (!old->br || !same_reader(old, nr))
				continue;
			/* printer and mode may change without a reconnect */
			nr->conn = old->conn;
			nr->redial = old->redial;
			nr->backoff_ms = old->backoff_ms;
			nr->down_since_ms = old->down_since_ms;
			nr->down_said_ms = old->down_said_ms;
			memcpy(nr->last_badge, old->last_badge, sizeof(nr->last_badge));
			nr->last_ms = old->last_ms;
			if (nr->conn)
				nr->conn->reader = nr;
			if (nr->redial) {
				/* Same due time, but pointing at the new entry. */
				uint64_t now = pl_now_ms();
				pl_loop_timer_cancel(br->loop, nr->redial);
				nr->redial_at = old->redial_at;
				nr->redial = pl_loop_timer(br->loop,
					nr->redial_at > now ? nr->redial_at - now : 0,
					redial_due, nr);
			}
			old->br = NULL; /* carried over */
			old->conn = NULL;
			old->redial = NULL;
			break;
		}
	}
	for (size_t k = 0; k < br->nreaders; k++) {
		br_reader_t *old = &br->readers[k];
		if (old->conn) {
			old->conn->reader = NULL;
			conn_free(old->conn);
		}
		pl_loop_timer_cancel(br->loop, old->redial);
	}
	free(br->readers);
	br->readers = list;
	br->nreaders = n;
	for (size_t i = 0; i < n; i++)
		if (list[i].dial && !list[i].conn && !list[i].redial)
			dial_reader(br, &list[i]);
}

void br_close_all(br_t *br)
{
	while (br->conns) {
		br->conns->reader = NULL;
		conn_free(br->conns);
	}
	for (size_t k = 0; k < br->nreaders; k++)
		pl_loop_timer_cancel(br->loop, br->readers[k].redial);
	free(br->readers);
	br->readers = NULL;
	br->nreaders = 0;
	if (br->listen_w)
		pl_loop_unwatch(br->loop, br->listen_w);
	br->listen_w = NULL;
}
