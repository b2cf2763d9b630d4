/* plsc-slowclient: many connections that hold a server's slots while
 * doing as little as possible (slowloris), for the limits tests.
 *   plsc-slowclient [options] MODE TARGET COUNT SECONDS
 * TARGET is HOST:PORT, or a Unix socket's path for the unix modes.
 * Modes:
 *   tcp-idle     connect, then say nothing
 *   tls-drip     TLS, then one byte (of a frame that never ends) each interval
 *   upload-drip  TLS, SUBMIT_BEGIN with -t TOKEN, then a 100-byte
 *                SUBMIT_DATA each interval (100 B/s at the default interval)
 *   http-drip    TLS, then an HTTP request's headers one byte each interval
 *   unix-idle    connect to the Unix socket, then say nothing
 *   unix-status  connect, ask CTL_STATUS once (and read the answer), then
 *                say nothing
 * Options: -s ADDR binds the connections to that source address (any of
 * 127.0.0.0/8 works on Linux loopback); -i MS the interval (1000); -r
 * reconnects a connection the server closed at the next interval (an
 * attacker keeps up the pressure).
 * Prints "ready" once the first COUNT attempts are done, then after
 * SECONDS one line:
 *   opened=N refused=N dropped=N held_max=N held_end=N longest_ms=N
 * opened: connections set up (and, for TLS, handshaken); refused: attempts
 * the server closed or never accepted; dropped: set-up connections the
 * server closed later; longest_ms: the longest any connection lived, the
 * ones still open at the end counted to then. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "pl_proto.h"

#define MAX_CONNS 4096

enum { M_TCP_IDLE, M_TLS_DRIP, M_UPLOAD_DRIP, M_HTTP_DRIP, M_UNIX_IDLE, M_UNIX_STATUS };

typedef struct {
	int fd;
	SSL *ssl;
	uint64_t opened_ms;
	size_t sent; /* drip position */
} conn_t;

static struct {
	int mode;
	const char *target, *src, *token;
	int interval_ms, reconnect;
	SSL_CTX *ctx;
	char host[64];
	int port;
} O = { .interval_ms = 1000 };

static conn_t C[MAX_CONNS];
static unsigned long opened, refused, dropped, held, held_max;
static uint64_t longest;

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void timeouts(int fd, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)); /* connect too */
}

static int dial_unix(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", O.target);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	timeouts(fd, 2000);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int dial_tcp(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET }, me = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	sa.sin_port = htons((uint16_t)O.port);
	inet_pton(AF_INET, O.host, &sa.sin_addr);
	timeouts(fd, 2000);
	if (O.src) {
		inet_pton(AF_INET, O.src, &me.sin_addr);
		if (bind(fd, (struct sockaddr *)&me, sizeof(me)) < 0) {
			perror("bind");
			exit(2);
		}
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The first reply frame: 0 when it says OK, -1 otherwise. */
static int read_result(conn_t *c)
{
	pl_reader_t r;
	pl_frame_t f;
	uint8_t buf[4096];
	int rc = -1;
	pl_reader_init(&r, 1 << 20);
	for (;;) {
		if (pl_reader_next(&r, &f) == 1) {
			uint32_t st = 1;
			pl_frame_get_u32(&f, PL_TAG_STATUS, &st);
			rc = st == 0 ? 0 : -1;
			break;
		}
		int n = c->ssl ? SSL_read(c->ssl, buf, sizeof(buf))
			       : (int)read(c->fd, buf, sizeof(buf));
		if (n <= 0)
			break;
		pl_reader_feed(&r, buf, (size_t)n);
	}
	pl_reader_free(&r);
	return rc;
}

static int put_msg(conn_t *c, pl_msg_t *m)
{
	pl_msg_finish(m);
	int ok = c->ssl ? SSL_write(c->ssl, m->buf, (int)m->len) == (int)m->len
			: write(c->fd, m->buf, m->len) == (ssize_t)m->len;
	pl_msg_free(m);
	return ok ? 0 : -1;
}

static int begin(conn_t *c)
{
	pl_msg_t m;
	pl_msg_init(&m, PL_MSG_SUBMIT_BEGIN, 0, 1);
	pl_msg_add_str(&m, PL_TAG_TOKEN, O.token ? O.token : "");
	pl_msg_add_str(&m, PL_TAG_USER, "slowpoke");
	pl_msg_add_u64(&m, PL_TAG_SIZE, 100u * 1024u * 1024u);
	return put_msg(c, &m) < 0 ? -1 : read_result(c);
}

static int status(conn_t *c)
{
	pl_msg_t m;
	pl_msg_init(&m, PL_MSG_CTL_STATUS, 0, 1);
	return put_msg(c, &m) < 0 ? -1 : read_result(c);
}

static void conn_close(conn_t *c)
{
	if (c->ssl)
		SSL_free(c->ssl);
	if (c->fd >= 0)
		close(c->fd);
	c->ssl = NULL;
	c->fd = -1;
}

/* Set up one connection (blocking, bounded by the socket timeouts). */
static void conn_open(conn_t *c)
{
	int unix_mode = O.mode == M_UNIX_IDLE || O.mode == M_UNIX_STATUS;
	memset(c, 0, sizeof(*c));
	c->fd = unix_mode ? dial_unix() : dial_tcp();
	if (c->fd < 0) {
		refused++;
		return;
	}
	int ok = 1;
	if (O.mode == M_TLS_DRIP || O.mode == M_UPLOAD_DRIP || O.mode == M_HTTP_DRIP) {
		c->ssl = SSL_new(O.ctx);
		SSL_set_fd(c->ssl, c->fd);
		ok = SSL_connect(c->ssl) == 1;
		ERR_clear_error();
	}
	if (ok && O.mode == M_UPLOAD_DRIP)
		ok = begin(c) == 0;
	if (ok && O.mode == M_UNIX_STATUS)
		ok = status(c) == 0;
	if (ok && O.mode == M_HTTP_DRIP)
		ok = SSL_write(c->ssl, "GET / HTTP/1.1\r\nHost: x\r\n", 25) == 25;
	if (!ok) {
		conn_close(c);
		refused++;
		return;
	}
	fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
	c->opened_ms = now_ms();
	opened++;
	if (++held > held_max)
		held_max = held;
}

static void lost(conn_t *c)
{
	uint64_t life = now_ms() - c->opened_ms;
	if (life > longest)
		longest = life;
	conn_close(c);
	dropped++;
	held--;
}

/* Has the server closed c? Whatever it said is read and dropped. */
static int closed_by_server(conn_t *c)
{
	struct pollfd p = { .fd = c->fd, .events = POLLIN };
	char buf[4096];
	if (poll(&p, 1, 0) <= 0)
		return 0;
	for (;;) {
		int n = c->ssl ? SSL_read(c->ssl, buf, sizeof(buf))
			       : (int)recv(c->fd, buf, sizeof(buf), 0);
		if (n > 0)
			continue;
		if (c->ssl) {
			int e = SSL_get_error(c->ssl, n);
			ERR_clear_error();
			return e != SSL_ERROR_WANT_READ;
		}
		return n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
	}
}

static int drip(conn_t *c)
{
	/* a frame of 960 KiB (under the 1 MiB limit: nothing to refuse) */
	static const uint8_t frame_start[] = { 0x50, 0x4c, 1, 0, 0x03, 0x01, 0, 0,
					       0, 0, 0, 1, 0x00, 0x0f, 0x00, 0x00 };
	static const char hdr[] = "X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
	uint8_t b;
	switch (O.mode) {
	case M_TLS_DRIP:
		/* a frame header and then a payload that never ends */
		b = c->sent < sizeof(frame_start) ? frame_start[c->sent] : 0;
		c->sent++;
		return SSL_write(c->ssl, &b, 1) == 1 ? 0 : -1;
	case M_HTTP_DRIP:
		b = (uint8_t)hdr[c->sent++ % (sizeof(hdr) - 1)];
		return SSL_write(c->ssl, &b, 1) == 1 ? 0 : -1;
	case M_UPLOAD_DRIP: {
		uint8_t data[100] = { 0 };
		pl_msg_t m;
		pl_msg_init(&m, PL_MSG_SUBMIT_DATA, 0, 0);
		pl_msg_add(&m, PL_TAG_PAYLOAD, data, sizeof(data));
		return put_msg(c, &m);
	}
	default:
		return 0;
	}
}

static void round_trip(int count)
{
	for (int i = 0; i < count; i++) {
		conn_t *c = &C[i];
		if (c->fd > 0 && (closed_by_server(c) || drip(c) < 0)) {
			ERR_clear_error();
			lost(c);
		}
		if (c->fd <= 0 && O.reconnect)
			conn_open(c);
	}
}

static int parse_mode(const char *m)
{
	static const char *const names[] = { "tcp-idle", "tls-drip", "upload-drip",
					     "http-drip", "unix-idle", "unix-status" };
	for (int i = 0; i < (int)(sizeof(names) / sizeof(names[0])); i++)
		if (strcmp(m, names[i]) == 0)
			return i;
	return -1;
}

int main(int argc, char **argv)
{
	int opt;
	while ((opt = getopt(argc, argv, "s:i:t:r")) != -1) {
		switch (opt) {
		case 's': O.src = optarg; break;
		case 'i': O.interval_ms = atoi(optarg); break;
		case 't': O.token = optarg; break;
		case 'r': O.reconnect = 1; break;
		default: return 2;
		}
	}
	if (argc - optind != 4 || (O.mode = parse_mode(argv[optind])) < 0) {
		fprintf(stderr, "Usage: plsc-slowclient [-s ADDR] [-i MS] [-t TOKEN] [-r] "
				"MODE TARGET COUNT SECONDS\n");
		return 2;
	}
	O.target = argv[optind + 1];
	int count = atoi(argv[optind + 2]), secs = atoi(argv[optind + 3]);
	if (count < 1 || count > MAX_CONNS)
		return 2;
	if (O.mode != M_UNIX_IDLE && O.mode != M_UNIX_STATUS &&
	    sscanf(O.target, "%63[^:]:%d", O.host, &O.port) != 2)
		return 2;
	signal(SIGPIPE, SIG_IGN);
	O.ctx = SSL_CTX_new(TLS_client_method());
	for (int i = 0; i < count; i++)
		conn_open(&C[i]);
	printf("ready\n");
	fflush(stdout);
	uint64_t end = now_ms() + (uint64_t)secs * 1000u;
	while (now_ms() < end) {
		usleep((useconds_t)O.interval_ms * 1000u);
		round_trip(count);
	}
	uint64_t now = now_ms();
	for (int i = 0; i < count; i++)
		if (C[i].fd > 0 && now - C[i].opened_ms > longest)
			longest = now - C[i].opened_ms;
	printf("opened=%lu refused=%lu dropped=%lu held_max=%lu held_end=%lu longest_ms=%llu\n",
	       opened, refused, dropped, held_max, held, (unsigned long long)longest);
	return 0;
}
