/* Badge release benchmark ([7]): a swipe at a network badge reader ->
 * first byte at the reader's printer, with many readers swiping at once.
 * Driven by run-bench, which starts the supervisor with
 * PrinterLogicServiceOfflinePrint and PrinterLogicServiceSimpleBadgeRelease
 * (dedupe_ms 0, refresh_s 1), one recording printer per reader (DIR/rN),
 * printers PN, readers RN at 127.0.1.N (connect mode, elatec-tcpconv2,
 * most-recent) and users b7uN with badge 0xB000+N.
 *
 *   bench_badge submit HOST PORT TOKENFILE NUSERS PER KIB SOLO
 *       PER jobs of KIB KiB for each user b7u1..b7uNUSERS (one more for
 *       the first SOLO users), one client thread a user: "JOBS"
 *   bench_badge swipe BRPORT RECBASE NREADERS ROUNDS GAP_MS SOLO KIB
 *       NREADERS persistent connections from 127.0.1.N to the badge
 *       service; first readers 1..SOLO swipe one at a time (each waits
 *       for its job to be printed: the unloaded figure), then ROUNDS
 *       rounds in which every reader sends its badge frame at (nearly)
 *       the same moment; GAP_MS between rounds once every printer has its
 *       job. Each round is paired with a round of the bare delivery
 *       floor (which of the two goes first alternates): NREADERS threads,
 *       started beforehand, each connect to reader N's recording printer
 *       (RECBASE/rN/port) at the same moment and send KIB KiB of plain
 *       bytes; no service, no TLS, no crypto: what this machine needs to
 *       move that many first bytes into that many printer processes at
 *       once, measured under the same load from elsewhere as the swipes.
 *       "P50 P99 MAX N MIN SOLO_P50 SOLO_MAX BARE_P50 BARE_P99 BARE_MAX"
 *       in ns (N swipes)
 *
 *   bench_badge port
 *       a TCP port on 127.0.0.1 that can be listened on now (the kernel's
 *       pick: run-bench's free_port only checks that nothing listens, and
 *       a port that a closed client connection holds in TIME_WAIT passes
 *       that check yet fails the service's bind)
 *
 * t0 of a swipe is CLOCK_REALTIME just before its write(); its end is
 * RECBASE/rN/job-R.first (plsc-recprinter's stamp of the first byte of
 * its R-th connection): one job per reader per round, so each first byte
 * is attributable to one swipe. */
#include "bench.h"
#include "pl_tls.h"
#include "pl_util.h"
#include "submit.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>

#define BB_MAX_READERS 250
#define BB_MAX_ROUNDS 40

static int usage(void)
{
	fprintf(stderr, "usage: bench_badge submit|swipe ... (see the source)\n");
	return BENCH_EXIT_FAIL;
}

/* ---- submission (clients/submit.c underneath, as bench_heldjobs) ---- */

typedef struct {
	const char *host, *token_file;
	int port, idx, per, solo;
	const uint8_t *doc;
	size_t len;
	const uint8_t *sha;
	int jobs;
	char why[1100];
} bb_sub_t;

/* submit.c's connection on our long-lived SSL_CTX. */
static int bb_connect(sub_t *s, SSL_CTX *ctx)
{
	if (pl_reader_init(&s->rd, 64 * 1024) < 0)
		return SUB_EIO;
	int rc = sub_tcp_connect(s);
	if (rc == SUB_OK)
		rc = sub_tls_start(s, ctx);
	return rc == SUB_OK ? sub_tls_handshake(s) : rc;
}

static int bb_submit_one(sub_t *s, const uint8_t *doc, size_t len,
			 const uint8_t sha[32])
{
	pl_msg_t m;
	char id[64];
	size_t off = 0;
	int rc = sub_send_begin(s, len);
	while (rc == SUB_OK && off < len) {
		size_t n = len - off > SUB_CHUNK ? SUB_CHUNK : len - off;
		if (pl_msg_init(&m, PL_MSG_SUBMIT_DATA, 0, 0) < 0)
			return sub_fail(s, SUB_EIO, "out of memory");
		pl_msg_add(&m, PL_TAG_PAYLOAD, doc + off, n);
		rc = sub_send_msg(s, &m);
		pl_msg_free(&m);
		off += n;
	}
	if (rc != SUB_OK)
		return rc;
	if (pl_msg_init(&m, PL_MSG_SUBMIT_END, 0, ++s->seq) < 0)
		return sub_fail(s, SUB_EIO, "out of memory");
	pl_msg_add(&m, PL_TAG_SHA256, sha, 32);
	rc = sub_send_msg(s, &m);
	pl_msg_free(&m);
	return rc == SUB_OK ? sub_recv_result(s, id, sizeof(id)) : rc;
}

static void *submit_worker(void *arg)
{
	bb_sub_t *w = arg;
	char token[512], user[64];
	sub_opts_t o;
	sub_t s;
	pl_err_t err;
	SSL_CTX *ctx;

	memset(&o, 0, sizeof(o));
	memset(&s, 0, sizeof(s));
	s.fd = -1;
	s.o = &o;
	s.msg = w->why;
	s.msgsz = sizeof(w->why);
	if (sub_read_token(w->token_file, token, sizeof(token), w->why,
			   sizeof(w->why)) < 0)
		return NULL;
	snprintf(user, sizeof(user), "b7u%d", w->idx);
	o.host = w->host;
	o.port = w->port;
	o.token = token;
	o.user = user;
	o.title = "bench-badge";
	o.insecure = 1;
	o.timeout_ms = 3 * BENCH_TIMEOUT_MS;
	if (!(ctx = pl_tls_client_ctx(NULL, &err))) {
		snprintf(w->why, sizeof(w->why), "%s", err.msg);
		return NULL;
	}
	if (bb_connect(&s, ctx) == SUB_OK)
		for (int i = 0; i < w->per + (w->idx <= w->solo); i++) {
			if (bb_submit_one(&s, w->doc, w->len, w->sha) != SUB_OK)
				break;
			w->jobs++;
		}
	if (s.ssl) {
		SSL_shutdown(s.ssl);
		SSL_free(s.ssl);
	}
	if (s.fd >= 0)
		close(s.fd);
	pl_reader_free(&s.rd);
	SSL_CTX_free(ctx);
	OPENSSL_cleanse(token, sizeof(token));
	return NULL;
}

static int cmd_submit(const char *host, int port, const char *token_file,
		      int nusers, int per, long kib, int solo)
{
	static bb_sub_t w[BB_MAX_READERS];
	pthread_t th[BB_MAX_READERS];
	size_t len = (size_t)kib * 1024u;
	uint8_t sha[32];
	unsigned shalen = 0;
	int jobs = 0, rc = 0;
	uint8_t *doc;

	if (nusers < 1 || nusers > BB_MAX_READERS || per < 1 || kib < 1 || solo < 0 ||
	    !(doc = malloc(len)))
		return usage();
	for (size_t i = 0; i < len; i++)
		doc[i] = (uint8_t)(i * 131u + (i >> 12));
	EVP_Digest(doc, len, sha, &shalen, EVP_sha256(), NULL);
	for (int i = 0; i < nusers; i++) {
		w[i] = (bb_sub_t){ .host = host, .token_file = token_file,
				   .port = port, .idx = i + 1, .per = per, .solo = solo,
				   .doc = doc, .len = len, .sha = sha };
		if (pthread_create(&th[i], NULL, submit_worker, &w[i]) != 0) {
			free(doc);
			return BENCH_EXIT_FAIL;
		}
	}
	for (int i = 0; i < nusers; i++) {
		pthread_join(th[i], NULL);
		jobs += w[i].jobs;
		if (w[i].jobs != per + (i + 1 <= solo)) {
			if (!rc)
				fprintf(stderr, "bench_badge: submit for b7u%d: %s\n",
					i + 1, w[i].why);
			rc = BENCH_EXIT_FAIL;
		}
	}
	free(doc);
	if (!rc)
		printf("%d\n", jobs);
	return rc;
}

/* ---- swipes ---- */

static int reader_connect(int idx, int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET }, me = { .sin_family = AF_INET };
	char addr[32];
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	snprintf(addr, sizeof(addr), "127.0.1.%d", idx);
	inet_pton(AF_INET, addr, &me.sin_addr);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons((uint16_t)port);
	if (bind(fd, (struct sockaddr *)&me, sizeof(me)) < 0 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "bench_badge: connect from %s: %s\n", addr, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* The service closes a connection from an address that is not (yet) a
 * reader it knows: a connection still open after a while was accepted. */
static int conn_alive(int fd)
{
	struct pollfd p = { fd, POLLIN, 0 };
	char c;
	if (poll(&p, 1, 0) <= 0)
		return 1;
	return recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) < 0 && errno == EAGAIN;
}

/* RECBASE/rI/job-J.SUFFIX: wait for it; its value for .first */
static int wait_rec(const char *recbase, int i, int j, const char *suffix,
		    uint64_t *v)
{
	char path[4096];
	uint64_t end = bench_now_ns() + 3ull * BENCH_TIMEOUT_MS * 1000000ull;
	snprintf(path, sizeof(path), "%s/r%d/job-%d.%s", recbase, i, j, suffix);
	while (v ? bench_read_u64_file(path, v) < 0 : access(path, F_OK) < 0) {
		if (bench_now_ns() > end) {
			fprintf(stderr, "bench_badge: no %s\n", path);
			return -1;
		}
		bench_sleep_us(1000);
	}
	return 0;
}

/* ---- the bare delivery floor ---- */

typedef struct {
	int port;
	pthread_barrier_t *go;
	const uint8_t *doc;
	size_t len;
	uint64_t t0;
	int ok;
} bb_bare_t;

static void *bare_worker(void *arg)
{
	bb_bare_t *b = arg;
	struct sockaddr_in sa = { .sin_family = AF_INET };
	char c;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons((uint16_t)b->port);
	pthread_barrier_wait(b->go);
	b->t0 = bench_rt_now_ns();
	b->ok = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
		pl_write_all(fd, b->doc, b->len) == 0 && shutdown(fd, SHUT_WR) == 0;
	/* The printer closes once it has recorded everything. */
	while (b->ok && read(fd, &c, 1) > 0)
		;
	if (fd >= 0)
		close(fd);
	return NULL;
}

/* The printers' ports, from RECBASE/rN/port. */
static int bare_ports(const char *recbase, int nreaders, bb_bare_t *b,
		      const uint8_t *doc, size_t len)
{
	char path[4096];
	for (int i = 0; i < nreaders; i++) {
		uint64_t port = 0;
		snprintf(path, sizeof(path), "%s/r%d/port", recbase, i + 1);
		if (bench_read_u64_file(path, &port) < 0 || port == 0 || port > 65535) {
			fprintf(stderr, "bench_badge: no port in %s\n", path);
			return -1;
		}
		b[i] = (bb_bare_t){ .port = (int)port, .doc = doc, .len = len };
	}
	return 0;
}

/* One round: every sender connects and writes at once; job[i] is the
 * number printer i gives it. The latencies go to lat[*n...]. */
static int bare_round(const char *recbase, int nreaders, bb_bare_t *b,
		      int *job, uint64_t *lat, size_t *n)
{
	static pthread_t th[BB_MAX_READERS];
	pthread_barrier_t go;
	int rc = 0;

	pthread_barrier_init(&go, NULL, (unsigned)nreaders);
	for (int i = 0; i < nreaders; i++) {
		b[i].go = &go;
		if (pthread_create(&th[i], NULL, bare_worker, &b[i]) != 0)
			abort(); /* a barrier short of a thread would hang */
	}
	for (int i = 0; i < nreaders; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&go);
	for (int i = 0; i < nreaders; i++) {
		uint64_t first = 0;
		if (!b[i].ok) {
			fprintf(stderr, "bench_badge: bare delivery to printer %d failed\n", i + 1);
			rc = -1;
		} else if (wait_rec(recbase, i + 1, job[i], "first", &first) < 0 ||
			   wait_rec(recbase, i + 1, job[i], "bin", NULL) < 0) {
			rc = -1;
		} else {
			lat[(*n)++] = first > b[i].t0 ? first - b[i].t0 : 0;
		}
		job[i]++;
	}
	return rc;
}

/* Until every reader's connection has been accepted and kept: the
 * service learns of new readers every refresh_s. */
static int readers_up(int *fd, int nreaders, int port)
{
	uint64_t deadline = bench_now_ns() + 3ull * BENCH_TIMEOUT_MS * 1000000ull;
	int up = 0;
	while (up < nreaders) {
		if (bench_now_ns() > deadline) {
			fprintf(stderr, "bench_badge: only %d of %d readers accepted\n",
				up, nreaders);
			return -1;
		}
		for (int i = 0; i < nreaders; i++)
			if (fd[i] < 0 && (fd[i] = reader_connect(i + 1, port)) < 0)
				return -1;
		bench_sleep_us(300000);
		up = 0;
		for (int i = 0; i < nreaders; i++) {
			if (conn_alive(fd[i])) {
				up++;
			} else {
				close(fd[i]);
				fd[i] = -1;
			}
		}
		if (up < nreaders)
			bench_sleep_us(300000);
	}
	return 0;
}

typedef struct {
	int fd[BB_MAX_READERS];
	char frame[BB_MAX_READERS][32];
	size_t flen[BB_MAX_READERS];
} bb_readers_t;

static int swipe(bb_readers_t *rd, int i)
{
	if (write(rd->fd[i], rd->frame[i], rd->flen[i]) == (ssize_t)rd->flen[i])
		return 0;
	fprintf(stderr, "bench_badge: reader %d: write: %s\n", i + 1, strerror(errno));
	return -1;
}

/* Every reader swipes at (nearly) the same moment; job[i] is the number
 * reader i's printer gives the job. Every job is printed on return. */
static int swipe_round(bb_readers_t *rd, const char *recbase, int nreaders,
		       int *job, uint64_t *lat, size_t *n)
{
	static uint64_t t0[BB_MAX_READERS];
	for (int i = 0; i < nreaders; i++) {
		t0[i] = bench_rt_now_ns();
		if (swipe(rd, i) < 0)
			return -1;
	}
	for (int i = 0; i < nreaders; i++) {
		uint64_t first = 0;
		if (wait_rec(recbase, i + 1, job[i], "first", &first) < 0)
			return -1;
		lat[(*n)++] = first > t0[i] ? first - t0[i] : 0;
	}
	for (int i = 0; i < nreaders; i++)
		if (wait_rec(recbase, i + 1, job[i]++, "bin", NULL) < 0)
			return -1;
	return 0;
}

/* Solo: one swipe in flight at a time, same readers, same service. */
static int solo_swipes(bb_readers_t *rd, const char *recbase, int solo, long gap_ms,
		       int *job, uint64_t *sl)
{
	for (int i = 0; i < solo; i++) {
		uint64_t first = 0, t = bench_rt_now_ns();
		if (swipe(rd, i) < 0 || wait_rec(recbase, i + 1, job[i], "first", &first) < 0 ||
		    wait_rec(recbase, i + 1, job[i], "bin", NULL) < 0)
			return -1;
		job[i]++;
		sl[i] = first > t ? first - t : 0;
		bench_sleep_us(gap_ms * 1000);
	}
	return 0;
}

static void print_pcts(const uint64_t *v, size_t n)
{
	printf(" %llu %llu %llu", (unsigned long long)bench_pct(v, n, 50),
	       (unsigned long long)bench_pct(v, n, 99), (unsigned long long)v[n - 1]);
}

static int cmd_swipe(int port, const char *recbase, int nreaders, int rounds,
		     long gap_ms, int solo, long kib)
{
	static bb_readers_t rd;
	static bb_bare_t bare[BB_MAX_READERS];
	static uint64_t sl[BB_MAX_READERS], lat[BB_MAX_READERS * BB_MAX_ROUNDS],
		blat[BB_MAX_READERS * BB_MAX_ROUNDS];
	static int job[BB_MAX_READERS];
	size_t n = 0, bn = 0, len = (size_t)kib * 1024u;
	int rc = BENCH_EXIT_FAIL;
	uint8_t *doc = NULL;

	if (nreaders < 1 || nreaders > BB_MAX_READERS || rounds < 1 ||
	    rounds > BB_MAX_ROUNDS || gap_ms < 0 || solo < 0 || solo > nreaders ||
	    kib < 1 || !(doc = malloc(len)))
		return usage();
	memset(doc, 0x5a, len);
	for (int i = 0; i < nreaders; i++) {
		rd.fd[i] = -1;
		job[i] = 1; /* the printers number their connections from 1 */
		/* elatec-tcpconv2: the card ID in upper-case hex, CR LF */
		int k = snprintf(rd.frame[i], sizeof(rd.frame[i]), "%X\r\n",
				 0xB000u + (unsigned)i + 1);
		rd.flen[i] = (size_t)k;
	}
	if (bare_ports(recbase, nreaders, bare, doc, len) < 0 ||
	    readers_up(rd.fd, nreaders, port) < 0 ||
	    solo_swipes(&rd, recbase, solo, gap_ms, job, sl) < 0)
		goto out;
	/* Swipes and the bare floor in turns, each first every other round:
	 * load from elsewhere falls on both, and neither always follows the
	 * other's after-effects (the shreds after a round of swipes). */
	for (int r = 0; r < rounds; r++) {
		for (int k = 0; k < 2; k++) {
			int rc2 = (k == r % 2) ? swipe_round(&rd, recbase, nreaders, job, lat, &n)
					       : bare_round(recbase, nreaders, bare, job, blat, &bn);
			if (rc2 < 0)
				goto out;
			bench_sleep_us(gap_ms * 1000);
		}
	}
	qsort(lat, n, sizeof(lat[0]), bench_cmp_u64);
	qsort(blat, bn, sizeof(blat[0]), bench_cmp_u64);
	if (solo > 0)
		qsort(sl, (size_t)solo, sizeof(sl[0]), bench_cmp_u64);
	print_pcts(lat, n);
	printf(" %zu %llu %llu %llu", n, (unsigned long long)lat[0],
	       (unsigned long long)(solo > 0 ? bench_pct(sl, (size_t)solo, 50) : 0),
	       (unsigned long long)(solo > 0 ? sl[solo - 1] : 0));
	print_pcts(blat, bn);
	printf("\n");
	rc = 0;
out:
	for (int i = 0; i < nreaders; i++)
		if (rd.fd[i] >= 0)
			close(rd.fd[i]);
	free(doc);
	return rc;
}

static int cmd_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl) < 0) {
		fprintf(stderr, "bench_badge: port: %s\n", strerror(errno));
		if (fd >= 0)
			close(fd);
		return BENCH_EXIT_FAIL;
	}
	printf("%d\n", ntohs(sa.sin_port));
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2)
		return usage();
	if (strcmp(argv[1], "port") == 0 && argc == 2)
		return cmd_port();
	if (strcmp(argv[1], "submit") == 0 && argc == 9)
		return cmd_submit(argv[2], atoi(argv[3]), argv[4], atoi(argv[5]),
				  atoi(argv[6]), atol(argv[7]), atoi(argv[8]));
	if (strcmp(argv[1], "swipe") == 0 && argc == 9)
		return cmd_swipe(atoi(argv[2]), argv[3], atoi(argv[4]), atoi(argv[5]),
				 atol(argv[6]), atoi(argv[7]), atol(argv[8]));
	return usage();
}
