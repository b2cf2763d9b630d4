/* plsc-bulksubmit: hold many small jobs quickly, for tests that need a
 * long listing (the console's held-jobs pager over 10,000 jobs, t41).
 * One process, a few TLS connections, each submitting its share of jobs
 * one after the other with the bytes plsc-submit sends (clients/submit.c
 * underneath): BEGIN, DATA, END(SHA-256), the job id. Spawning plsc-submit
 * once a job would spend most of the time starting processes and TLS
 * sessions.
 *
 *   plsc-bulksubmit HOST PORT TOKENFILE USER COUNT [CONNECTIONS]
 *
 * Each job is a line of text naming its number ("bulk job 42\n"). Prints
 * "COUNT jobs held in MS ms" on success; exit 1, with the first error, if
 * any job was refused or a connection broke. CONNECTIONS (default 4, at
 * most 32) lets the service's commits overlap; jobs then interleave, so
 * their order is the order the service held them in, not their numbers'. */
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pl_proto.h"
#include "pl_tls.h"
#include "submit.h"

#define BULK_MAX_CONNS 32
#define BULK_MAX_JOBS 1000000L

typedef struct {
	const char *host, *token, *user;
	int port;
	SSL_CTX *ctx;
	long first, count; /* job numbers [first, first + count) */
	long done;
	char msg[512];
} bulk_conn_t;

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* DATA then END with the document's SHA-256, and the job id back. */
static int send_doc(sub_t *s, const char *doc, size_t len)
{
	uint8_t sha[32];
	unsigned shalen = 0;
	pl_msg_t m;
	char id[80];
	if (EVP_Digest(doc, len, sha, &shalen, EVP_sha256(), NULL) != 1)
		return sub_fail(s, SUB_EIO, "SHA-256 failed");
	if (pl_msg_init(&m, PL_MSG_SUBMIT_DATA, 0, 0) < 0)
		return sub_fail(s, SUB_EIO, "out of memory");
	pl_msg_add(&m, PL_TAG_PAYLOAD, doc, len);
	int rc = sub_send_msg(s, &m);
	pl_msg_free(&m);
	if (rc != SUB_OK)
		return rc;
	if (pl_msg_init(&m, PL_MSG_SUBMIT_END, 0, ++s->seq) < 0)
		return sub_fail(s, SUB_EIO, "out of memory");
	pl_msg_add(&m, PL_TAG_SHA256, sha, sizeof(sha));
	rc = sub_send_msg(s, &m);
	pl_msg_free(&m);
	return rc != SUB_OK ? rc : sub_recv_result(s, id, sizeof(id));
}

static int conn_open(bulk_conn_t *c, sub_t *s, sub_opts_t *o)
{
	memset(o, 0, sizeof(*o));
	o->host = c->host;
	o->port = c->port;
	o->token = c->token;
	o->user = c->user;
	o->format = "text/plain";
	o->insecure = 1;
	o->timeout_ms = 30000;
	memset(s, 0, sizeof(*s));
	s->o = o;
	s->fd = -1;
	s->msg = c->msg;
	s->msgsz = sizeof(c->msg);
	if (pl_reader_init(&s->rd, 64 * 1024) < 0)
		return sub_fail(s, SUB_EIO, "out of memory");
	int rc = sub_tcp_connect(s);
	if (rc == SUB_OK)
		rc = sub_tls_start(s, c->ctx);
	return rc == SUB_OK ? sub_tls_handshake(s) : rc;
}

static void conn_close(sub_t *s)
{
	if (s->ssl) {
		SSL_shutdown(s->ssl);
		SSL_free(s->ssl);
	}
	if (s->fd >= 0)
		close(s->fd);
	pl_reader_free(&s->rd);
}

static void *conn_run(void *arg)
{
	bulk_conn_t *c = arg;
	sub_opts_t o;
	sub_t s;
	char doc[64];
	int rc = conn_open(c, &s, &o);
	for (long i = 0; rc == SUB_OK && i < c->count; i++) {
		int n = snprintf(doc, sizeof(doc), "bulk job %ld\n", c->first + i);
		rc = sub_send_begin(&s, (uint64_t)n);
		if (rc == SUB_OK)
			rc = send_doc(&s, doc, (size_t)n);
		if (rc == SUB_OK)
			c->done++;
	}
	conn_close(&s);
	return NULL;
}

static int usage(void)
{
	fprintf(stderr, "usage: plsc-bulksubmit HOST PORT TOKENFILE USER COUNT [CONNECTIONS]\n");
	return 2;
}

int main(int argc, char **argv)
{
	static bulk_conn_t conns[BULK_MAX_CONNS];
	pthread_t th[BULK_MAX_CONNS];
	char token[512], msg[512];
	pl_err_t err;
	if (argc < 6 || argc > 7)
		return usage();
	long count = atol(argv[5]), nconn = argc == 7 ? atol(argv[6]) : 4;
	if (count < 1 || count > BULK_MAX_JOBS || nconn < 1 || nconn > BULK_MAX_CONNS)
		return usage();
	if (nconn > count)
		nconn = count;
	if (sub_read_token(argv[3], token, sizeof(token), msg, sizeof(msg)) < 0) {
		fprintf(stderr, "plsc-bulksubmit: %s\n", msg);
		return 1;
	}
	SSL_CTX *ctx = pl_tls_client_ctx(NULL, &err);
	if (!ctx) {
		fprintf(stderr, "plsc-bulksubmit: %s\n", err.msg);
		return 1;
	}
	uint64_t t0 = now_ms();
	long first = 1, started = 0;
	for (long i = 0; i < nconn; i++) {
		long share = count / nconn + (i < count % nconn ? 1 : 0);
		conns[i] = (bulk_conn_t){ .host = argv[1], .port = atoi(argv[2]), .token = token,
					  .user = argv[4], .ctx = ctx, .first = first,
					  .count = share };
		first += share;
		if (pthread_create(&th[i], NULL, conn_run, &conns[i]) != 0)
			break;
		started++;
	}
	long done = 0;
	const char *why = started < nconn ? "cannot start a thread" : NULL;
	for (long i = 0; i < started; i++) {
		pthread_join(th[i], NULL);
		done += conns[i].done;
		if (!why && conns[i].done < conns[i].count)
			why = conns[i].msg[0] ? conns[i].msg : "connection broke";
	}
	SSL_CTX_free(ctx);
	if (done < count) {
		fprintf(stderr, "plsc-bulksubmit: %ld of %ld jobs held: %s\n", done, count,
			why ? why : "?");
		return 1;
	}
	printf("%ld jobs held in %llu ms\n", count, (unsigned long long)(now_ms() - t0));
	return 0;
}
