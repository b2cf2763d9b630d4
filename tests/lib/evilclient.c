/* plsc-evilclient: a misbehaving workstation for the held-jobs tests.
 *   plsc-evilclient MODE HOST PORT [TOKEN]
 * Modes: garbage (random bytes, no TLS), plain (a valid frame without
 * TLS), oversized (a frame header claiming 100 MiB), sha (a job whose
 * SHA-256 is wrong), badtoken (BEGIN with TOKEN as given), stall (BEGIN,
 * half the data, then silence), size (more data than announced),
 * disconnect (BEGIN, some data, then close), empty (BEGIN with SIZE 0,
 * which plsc-submit never sends), announce (BEGIN with SIZE the fifth
 * argument, and nothing more: what the server answers before any data),
 * trickle (a good job sent in ten pieces half a second apart: slow, but
 * never idle for long), bigframes (a good 9 MB job in frames of 1 MB, the
 * largest the server takes, where plsc-submit sends 256 KiB).
 * Prints one line: "result STATUS MESSAGE" for a RESULT from the server,
 * or "closed" when the server closed without one. */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

#include "pl_proto.h"

static int tcp(const char *host, int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	sa.sin_port = htons((uint16_t)port);
	inet_pton(AF_INET, host, &sa.sin_addr);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("connect");
		exit(1);
	}
	return fd;
}

static void raw_result(int fd)
{
	pl_reader_t r;
	pl_frame_t f;
	pl_reader_init(&r, 1 << 20);
	int rc = pl_recv_frame(fd, &r, &f, 20000);
	if (rc == 0) {
		uint32_t st = 0;
		char msg[512] = "";
		pl_frame_get_u32(&f, PL_TAG_STATUS, &st);
		pl_frame_get_str(&f, PL_TAG_MESSAGE, msg, sizeof(msg));
		printf("result %u %s\n", st, msg);
	} else {
		printf("closed\n");
	}
	pl_reader_free(&r);
}

static void put(SSL *s, pl_msg_t *m)
{
	pl_msg_finish(m);
	if (SSL_write(s, m->buf, (int)m->len) <= 0) {
		printf("closed\n");
		exit(0);
	}
}

/* 1 = got a result (printed), 0 = closed. */
static int ssl_result(SSL *s, int quiet_ok)
{
	pl_reader_t r;
	pl_frame_t f;
	uint8_t buf[4096];
	pl_reader_init(&r, 1 << 20);
	for (;;) {
		if (pl_reader_next(&r, &f) == 1)
			break;
		int n = SSL_read(s, buf, sizeof(buf));
		if (n <= 0) {
			printf("closed\n");
			pl_reader_free(&r);
			return 0;
		}
		pl_reader_feed(&r, buf, (size_t)n);
	}
	uint32_t st = 0;
	char msg[512] = "";
	pl_frame_get_u32(&f, PL_TAG_STATUS, &st);
	pl_frame_get_str(&f, PL_TAG_MESSAGE, msg, sizeof(msg));
	if (!(quiet_ok && st == 0))
		printf("result %u %s\n", st, msg);
	pl_reader_free(&r);
	return st == 0 ? 2 : 1;
}

static void begin(SSL *s, const char *token, uint64_t size)
{
	pl_msg_t m;
	pl_msg_init(&m, PL_MSG_SUBMIT_BEGIN, 0, 1);
	pl_msg_add_str(&m, PL_TAG_TOKEN, token);
	pl_msg_add_str(&m, PL_TAG_USER, "mallory");
	pl_msg_add_str(&m, PL_TAG_TITLE, "evil");
	pl_msg_add_u64(&m, PL_TAG_SIZE, size);
	put(s, &m);
	pl_msg_free(&m);
}

static void data(SSL *s, size_t n)
{
	pl_msg_t m;
	uint8_t *b = calloc(1, n);
	pl_msg_init(&m, PL_MSG_SUBMIT_DATA, 0, 0);
	pl_msg_add(&m, PL_TAG_PAYLOAD, b, n);
	put(s, &m);
	pl_msg_free(&m);
	free(b);
}

/* A job of n frames of len zero bytes each, usec apart (the BEGIN was
 * answered), its SHA-256 right: prints the result. */
static int good_job(SSL *s, const char *token, int n, size_t len, useconds_t usec)
{
	uint8_t md[32];
	unsigned mdlen = 0;
	uint8_t *zeros = calloc(1, len * (size_t)n);
	pl_msg_t m;

	begin(s, token, len * (uint64_t)n);
	if (!zeros || ssl_result(s, 1) != 2) {
		free(zeros);
		return 0;
	}
	for (int i = 0; i < n; i++) {
		if (usec)
			usleep(usec);
		data(s, len);
	}
	EVP_Digest(zeros, len * (size_t)n, md, &mdlen, EVP_sha256(), NULL);
	free(zeros);
	pl_msg_init(&m, PL_MSG_SUBMIT_END, 0, 2);
	pl_msg_add(&m, PL_TAG_SHA256, md, 32);
	put(s, &m);
	pl_msg_free(&m);
	ssl_result(s, 0);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "Usage: plsc-evilclient MODE HOST PORT [TOKEN]\n");
		return 2;
	}
	const char *mode = argv[1], *token = argc > 4 ? argv[4] : "";
	int fd = tcp(argv[2], atoi(argv[3]));
	if (strcmp(mode, "garbage") == 0) {
		char junk[4096];
		for (size_t i = 0; i < sizeof(junk); i++)
			junk[i] = (char)(rand() & 0xff);
		if (write(fd, junk, sizeof(junk)) < 0)
			perror("write");
		raw_result(fd);
		return 0;
	}
	if (strcmp(mode, "plain") == 0) {
		pl_msg_t m;
		pl_msg_init(&m, PL_MSG_SUBMIT_BEGIN, 0, 1);
		pl_msg_add_str(&m, PL_TAG_USER, "mallory");
		pl_msg_finish(&m);
		if (write(fd, m.buf, m.len) < 0)
			perror("write");
		raw_result(fd);
		return 0;
	}
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL *s = SSL_new(ctx);
	SSL_set_fd(s, fd);
	if (SSL_connect(s) != 1) {
		printf("closed\n");
		return 0;
	}
	if (strcmp(mode, "oversized") == 0) {
		uint8_t h[16] = { 0x50, 0x4c, 1, 0, 0x03, 0x01, 0, 0, 0, 0, 0, 1,
				  0x06, 0x40, 0x00, 0x00 }; /* 100 MiB */
		SSL_write(s, h, sizeof(h));
		ssl_result(s, 0);
		return 0;
	}
	if (strcmp(mode, "empty") == 0) {
		begin(s, token, 0);
		ssl_result(s, 0);
		return 0;
	}
	if (strcmp(mode, "announce") == 0) {
		begin(s, token, argc > 5 ? strtoull(argv[5], NULL, 10) : 1);
		ssl_result(s, 0);
		return 0;
	}
	if (strcmp(mode, "badtoken") == 0) {
		begin(s, token, 10);
		ssl_result(s, 0);
		return 0;
	}
	if (strcmp(mode, "bigframes") == 0)
		return good_job(s, token, 9, 1000000, 0);
	if (strcmp(mode, "trickle") == 0) /* 5 s: over client_timeout_s */
		return good_job(s, token, 10, 10000, 500000);
	begin(s, token, 100000);
	if (ssl_result(s, 1) != 2)
		return 0;
	if (strcmp(mode, "stall") == 0) {
		data(s, 50000);
		sleep(600); /* the server must drop us long before this */
		return 0;
	}
	if (strcmp(mode, "disconnect") == 0) {
		data(s, 50000);
		usleep(200000);
		printf("closed\n");
		return 0;
	}
	if (strcmp(mode, "size") == 0) {
		data(s, 100000);
		data(s, 10);
		ssl_result(s, 0);
		return 0;
	}
	/* sha */
	data(s, 100000);
	pl_msg_t m;
	uint8_t bad[32] = { 1, 2, 3 };
	pl_msg_init(&m, PL_MSG_SUBMIT_END, 0, 2);
	pl_msg_add(&m, PL_TAG_SHA256, bad, 32);
	put(s, &m);
	pl_msg_free(&m);
	ssl_result(s, 0);
	return 0;
}
