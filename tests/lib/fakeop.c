/* plsc-fakeop: a held-print server on 127.0.0.1 that fails on purpose,
 * for the tests of what plsc-submit and the CUPS backend do then.
 *
 *   plsc-fakeop -d DIR -m MODE [-n BYTES]
 *
 * Its port goes to DIR/port, a self-signed certificate to DIR (as the real
 * service makes one). One connection at a time, blocking: a test tool.
 * Each connection: TLS, SUBMIT_BEGIN answered "send the data", then by
 * MODE:
 *   refuse-midway  after BYTES of data, a RESULT (BUSY, "out of disk
 *                  space") and close without reading the rest, as the
 *                  real service refuses mid-upload (the unread data makes
 *                  the close a reset)
 *   reset-midway   after BYTES of data, a reset (SO_LINGER 0), no RESULT
 *   lose-answer    the whole job, END included, then close without the
 *                  answer: the client cannot know whether it is held
 * DIR/log gets one line a connection: "MODE got N bytes". */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "pl_proto.h"
#include "pl_tls.h"

typedef struct {
	const char *dir, *mode;
	long long limit;
	SSL *ssl;
	pl_reader_t rd;
	long long got;
} fake_t;

/* The next frame, or -1 when the client went away. */
static int next_frame(fake_t *f, pl_frame_t *fr)
{
	uint8_t buf[65536];
	for (;;) {
		int rc = pl_reader_next(&f->rd, fr);
		if (rc != 0)
			return rc == 1 ? 0 : -1;
		int n = SSL_read(f->ssl, buf, sizeof(buf));
		if (n <= 0 || pl_reader_feed(&f->rd, buf, (size_t)n) < 0)
			return -1;
	}
}

static void answer(fake_t *f, uint32_t seq, uint32_t status, const char *msg)
{
	pl_msg_t m;
	pl_msg_init(&m, PL_MSG_RESULT, PL_FLAG_REPLY | (status ? PL_FLAG_ERROR : 0), seq);
	pl_msg_add_u32(&m, PL_TAG_STATUS, status);
	pl_msg_add_str(&m, PL_TAG_MESSAGE, msg);
	if (pl_msg_finish(&m) == 0)
		SSL_write(f->ssl, m.buf, (int)m.len);
	pl_msg_free(&m);
}

/* Read the job until the mode says stop; 1 = fail now, 0 = client left. */
static int take_job(fake_t *f)
{
	pl_frame_t fr;
	pl_field_t fl;
	while (next_frame(f, &fr) == 0) {
		if (fr.type == PL_MSG_SUBMIT_BEGIN) {
			answer(f, fr.seq, PL_STATUS_OK, "send the data");
			continue;
		}
		if (fr.type == PL_MSG_SUBMIT_DATA && pl_frame_find(&fr, PL_TAG_PAYLOAD, &fl) == 1)
			f->got += fl.len;
		if (fr.type == PL_MSG_SUBMIT_END || (strcmp(f->mode, "lose-answer") != 0 &&
						     f->got >= f->limit))
			return 1;
	}
	return 0;
}

static void serve(fake_t *f, SSL_CTX *ctx, int fd)
{
	struct linger rst = { 1, 0 };
	f->ssl = SSL_new(ctx);
	f->got = 0;
	pl_reader_init(&f->rd, 1u << 20);
	SSL_set_fd(f->ssl, fd);
	if (SSL_accept(f->ssl) == 1 && take_job(f)) {
		if (strcmp(f->mode, "refuse-midway") == 0)
			answer(f, 0, PL_STATUS_BUSY, "the server ran out of disk space for "
			       "held jobs; try again later");
		if (strcmp(f->mode, "reset-midway") == 0)
			setsockopt(fd, SOL_SOCKET, SO_LINGER, &rst, sizeof(rst));
	}
	char path[4096];
	snprintf(path, sizeof(path), "%s/log", f->dir);
	FILE *lf = fopen(path, "a");
	if (lf) {
		fprintf(lf, "%s got %lld bytes\n", f->mode, f->got);
		fclose(lf);
	}
	SSL_free(f->ssl); /* no close_notify: the client must cope with a bare close */
	pl_reader_free(&f->rd);
	close(fd);
}

static int listen_on(const char *dir)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	char path[4096], final[4096];
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl) < 0) {
		perror("listen");
		return -1;
	}
	snprintf(path, sizeof(path), "%s/port.tmp", dir);
	snprintf(final, sizeof(final), "%s/port", dir);
	FILE *pf = fopen(path, "w");
	if (!pf)
		return -1;
	fprintf(pf, "%d\n", ntohs(sa.sin_port));
	fclose(pf);
	rename(path, final);
	return fd;
}

int main(int argc, char **argv)
{
	fake_t f = { .mode = "refuse-midway", .limit = 1 };
	pl_err_t err;
	int c;

	while ((c = getopt(argc, argv, "d:m:n:")) != -1) {
		switch (c) {
		case 'd': f.dir = optarg; break;
		case 'm': f.mode = optarg; break;
		case 'n': f.limit = atoll(optarg); break;
		default:
			fprintf(stderr, "Usage: plsc-fakeop -d DIR -m refuse-midway|reset-midway|"
					"lose-answer [-n BYTES]\n");
			return 2;
		}
	}
	if (!f.dir)
		return 2;
	signal(SIGPIPE, SIG_IGN);
	SSL_CTX *ctx = pl_tls_server_ctx(NULL, NULL, f.dir, "plsc-fakeop", &err);
	if (!ctx) {
		fprintf(stderr, "plsc-fakeop: %s\n", err.msg);
		return 1;
	}
	/* Blocking sockets: one client at a time is all a test needs. */
	SSL_CTX_set_mode(ctx, SSL_MODE_AUTO_RETRY);
	int lfd = listen_on(f.dir);
	if (lfd < 0)
		return 1;
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0)
			serve(&f, ctx, fd);
		else if (errno != EINTR)
			return 1;
	}
}
