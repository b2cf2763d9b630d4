/* Held-jobs benchmarks (PrinterLogicServiceOfflinePrint), driven by
 * run-bench, which starts the supervisor with the service, a recording raw
 * printer (plsc-recprinter), a printer entry and a workstation token.
 *
 *   bench_heldjobs wait SOCK SERVICE
 *       until SERVICE is running (CTL_STATUS): "PID"
 *   bench_heldjobs gen FILE MIB
 *       MIB MiB of /dev/urandom-derived bytes (no two 4 KiB blocks equal)
 *   bench_heldjobs diskfloor DIR MIB
 *       write MIB MiB to a new file in DIR, fsync: "MB_PER_S"
 *   bench_heldjobs intake HOST PORT TOKENFILE FILE
 *       one job of FILE: "TOTAL_NS UPLOAD_NS JOB_ID" (BEGIN sent -> id)
 *   bench_heldjobs tlsfloor DIR TOKENFILE FILE hash|recv
 *       the floor of intake: the same client sends FILE to a bare TLS
 *       server in a child process (a pl_tls server context, its
 *       self-signed pair in DIR) that only receives the frames, in one
 *       thread, and with "hash" SHA-256s the data and checks it as the
 *       service does: "TOTAL_NS CPU_NS" (BEGIN sent -> answer to END;
 *       the CPU time the receiver used, user and system)
 *   bench_heldjobs rate HOST PORT TOKENFILE CLIENTS SECONDS MODE
 *       CLIENTS threads, 4 KiB jobs: "JOBS_PER_S JOBS FAILED"; MODE is
 *       reuse (one TLS connection a client) or connect (one a job)
 *   bench_heldjobs fsyncloop DIR SECONDS [THREADS]
 *       THREADS (default 1) threads, each: new file, 4 KiB, fsync,
 *       close: "FILES_PER_S" (all threads together). The files stay
 *       (names unique to this process): the caller removes them once the
 *       measurement is over, see cmd_fsyncloop.
 *   bench_heldjobs release SOCK HOST PORT TOKENFILE RECDIR PRINTER N KIB
 *       N x (floor sample, release sample), interleaved:
 *       "REL_P50 REL_P99 REL_MAX FLOOR_P50 FLOOR_P99 FLOOR_MAX" in ns
 *   bench_heldjobs list SOCK USERS N
 *       N listings of one user's jobs (CTL_JOBS --user, as plsc jobs
 *       --user asks), the users taken in turn from u0..u(USERS-1):
 *       "P50_NS P99_NS JOBS" (JOBS: in the last listing)
 *
 * The submission side is clients/submit.c itself (compiled in), so the
 * bytes on the wire are what plsc-submit and the CUPS backend send: BEGIN,
 * wait for its RESULT, DATA frames of 256 KiB, END(SHA-256), wait for the
 * job id. Two deliberate differences, both to measure the service rather
 * than the client: the document's SHA-256 is computed before the clock
 * starts (a real client hashes while it sends), and a client that sends
 * many jobs keeps one SSL_CTX (plsc-submit builds one per run).
 *
 * Release latency uses CLOCK_REALTIME on both sides: plsc-recprinter
 * stamps the first byte of every connection in DIR/job-N.first. */
#include "bench.h"
#include "bench_ctl.h"
#include "pl_tls.h"
#include "pl_util.h"
#include "submit.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/stat.h>

#define HJ_4K 4096u
#define HJ_MAX_CLIENTS 256
#define HJ_MAX_SAMPLES 10000

static int usage(void)
{
	fprintf(stderr, "usage: bench_heldjobs wait|gen|diskfloor|intake|tlsfloor|rate|fsyncloop|release|list ... "
			"(see the source)\n");
	return BENCH_EXIT_FAIL;
}

/* ---- wait ---- */

static int cmd_wait(const char *sock, const char *name)
{
	pl_ctl_client_t c;
	bench_status_t st;
	uint64_t deadline = bench_now_ns() + 3ull * BENCH_TIMEOUT_MS * 1000000ull;
	if (bench_ctl_connect(&c, sock) < 0) {
		fprintf(stderr, "bench_heldjobs: connect %s: %s\n", sock, strerror(errno));
		return BENCH_EXIT_FAIL;
	}
	while (bench_now_ns() < deadline) {
		if (bench_status(&c, &st) < 0)
			break;
		const bench_svc_t *s = bench_find(&st, name);
		if (bench_running(s)) {
			printf("%u\n", (unsigned)s->pid);
			pl_ctl_close(&c);
			return 0;
		}
		bench_sleep_us(20000);
	}
	pl_ctl_close(&c);
	fprintf(stderr, "bench_heldjobs: %s is not running\n", name);
	return BENCH_EXIT_FAIL;
}

/* ---- files ---- */

static int write_full(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;
	while (n > 0) {
		ssize_t w = write(fd, b, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

static int fill_random(uint8_t *buf, size_t n)
{
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	size_t got = 0;
	if (fd < 0)
		return -1;
	while (got < n) {
		ssize_t r = read(fd, buf + got, n - got);
		if (r <= 0) {
			close(fd);
			return -1;
		}
		got += (size_t)r;
	}
	close(fd);
	return 0;
}

/* 1 MiB from /dev/urandom, repeated with the block number written into
 * the first 8 bytes of every 4 KiB, so the document is neither zeros nor
 * has two identical blocks. Content does not change AES or SHA-256 speed;
 * it only keeps anything clever (sparse files, compression, dedup) from
 * flattering the figures. */
static int cmd_gen(const char *path, long mib)
{
	const size_t mb = 1u << 20;
	uint8_t *base = malloc(mb), *buf = malloc(mb), sha[32];
	char shapath[4096];
	unsigned shalen = 0;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600), sfd = -1;
	int rc = BENCH_EXIT_FAIL;
	snprintf(shapath, sizeof(shapath), "%s.sha256", path);
	if (!base || !buf || !md || fd < 0 || fill_random(base, mb) < 0 ||
	    !EVP_DigestInit_ex(md, EVP_sha256(), NULL))
		goto out;
	for (long i = 0; i < mib; i++) {
		memcpy(buf, base, mb);
		for (size_t off = 0; off < mb; off += HJ_4K) {
			uint64_t v = (uint64_t)i * (mb / HJ_4K) + off / HJ_4K;
			memcpy(buf + off, &v, sizeof(v));
		}
		if (write_full(fd, buf, mb) < 0 || !EVP_DigestUpdate(md, buf, mb))
			goto out;
	}
	/* Not dirty any more when the intake is measured (a no-op on tmpfs). */
	if (fsync(fd) < 0 || !EVP_DigestFinal_ex(md, sha, &shalen))
		goto out;
	sfd = open(shapath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (sfd < 0 || write_full(sfd, sha, sizeof(sha)) < 0)
		goto out;
	rc = 0;
out:
	if (rc)
		fprintf(stderr, "bench_heldjobs: gen %s: %s\n", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	if (sfd >= 0)
		close(sfd);
	EVP_MD_CTX_free(md);
	free(base);
	free(buf);
	return rc;
}

/* What the disk itself does: MIB MiB written and fsynced, no crypto. */
static int cmd_diskfloor(const char *dir, long mib)
{
	char path[4096];
	const size_t mb = 1u << 20;
	uint8_t *buf = malloc(mb);
	snprintf(path, sizeof(path), "%s/diskfloor.bin", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int rc = BENCH_EXIT_FAIL;
	if (!buf || fd < 0 || fill_random(buf, mb) < 0)
		goto out;
	uint64_t t0 = bench_now_ns();
	for (long i = 0; i < mib; i++) {
		buf[0] = (uint8_t)i;
		if (write_full(fd, buf, mb) < 0)
			goto out;
	}
	if (fsync(fd) < 0)
		goto out;
	uint64_t dt = bench_now_ns() - t0;
	printf("%.1f\n", (double)mib * (double)mb / ((double)dt / 1e9) / 1e6);
	rc = 0;
out:
	if (rc)
		fprintf(stderr, "bench_heldjobs: diskfloor %s: %s\n", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	unlink(path);
	free(buf);
	return rc;
}

/* ---- submission client (clients/submit.c underneath) ---- */

typedef struct {
	sub_opts_t o;
	char token[512];
	char user[64];
	SSL_CTX *ctx;
	sub_t s;
	char msg[512];
	int connected;
} hj_client_t;

static int hj_client_init(hj_client_t *c, const char *host, int port,
			  const char *token_file, const char *user)
{
	pl_err_t err;
	memset(c, 0, sizeof(*c));
	if (sub_read_token(token_file, c->token, sizeof(c->token), c->msg,
			   sizeof(c->msg)) < 0) {
		fprintf(stderr, "bench_heldjobs: %s\n", c->msg);
		return -1;
	}
	pl_strlcpy(c->user, user, sizeof(c->user));
	c->o.host = host;
	c->o.port = port;
	c->o.token = c->token;
	c->o.user = c->user;
	c->o.title = "bench";
	c->o.insecure = 1;
	c->o.timeout_ms = 3 * BENCH_TIMEOUT_MS;
	c->ctx = pl_tls_client_ctx(NULL, &err);
	if (!c->ctx) {
		fprintf(stderr, "bench_heldjobs: %s\n", err.msg);
		return -1;
	}
	return 0;
}

static void hj_disconnect(hj_client_t *c)
{
	if (!c->connected)
		return;
	if (c->s.ssl) {
		SSL_shutdown(c->s.ssl);
		SSL_free(c->s.ssl);
	}
	if (c->s.fd >= 0)
		close(c->s.fd);
	pl_reader_free(&c->s.rd);
	c->connected = 0;
}

static void hj_client_free(hj_client_t *c)
{
	hj_disconnect(c);
	SSL_CTX_free(c->ctx);
	OPENSSL_cleanse(c->token, sizeof(c->token));
}

/* tcp_connect and the handshake of submit.c, on our long-lived SSL_CTX. */
static int hj_connect(hj_client_t *c)
{
	sub_t *s = &c->s;
	memset(s, 0, sizeof(*s));
	s->o = &c->o;
	s->fd = -1;
	s->msg = c->msg;
	s->msgsz = sizeof(c->msg);
	if (pl_reader_init(&s->rd, 64 * 1024) < 0)
		return SUB_EIO;
	c->connected = 1;
	int rc = sub_tcp_connect(s);
	if (rc != SUB_OK)
		return rc;
	rc = sub_tls_start(s, c->ctx);
	return rc == SUB_OK ? sub_tls_handshake(s) : rc;
}

/* BEGIN (and its RESULT), DATA frames of at most SUB_CHUNK, END(sha),
 * the job id: the sequence of sub_send(), data from memory or a file. */
static int hj_submit(hj_client_t *c, const uint8_t *data, int fd, uint64_t size,
		     const uint8_t sha[32], char *id, size_t idsz,
		     uint64_t *upload_ns)
{
	sub_t *s = &c->s;
	pl_msg_t m;
	uint8_t *buf = NULL;
	int rc = sub_send_begin(s, size);
	uint64_t off = 0;
	if (rc == SUB_OK && fd >= 0 && !(buf = malloc(SUB_CHUNK)))
		rc = sub_fail(s, SUB_EIO, "out of memory");
	while (rc == SUB_OK && off < size) {
		size_t n = size - off > SUB_CHUNK ? SUB_CHUNK : (size_t)(size - off);
		const uint8_t *p = data ? data + off : buf;
		if (fd >= 0) {
			ssize_t r = pread(fd, buf, n, (off_t)off);
			if (r <= 0) {
				rc = sub_fail(s, SUB_EIO, "reading the document: %s",
					  r < 0 ? strerror(errno) : "short file");
				break;
			}
			n = (size_t)r;
		}
		if (pl_msg_init(&m, PL_MSG_SUBMIT_DATA, 0, 0) < 0) {
			rc = sub_fail(s, SUB_EIO, "out of memory");
			break;
		}
		pl_msg_add(&m, PL_TAG_PAYLOAD, p, n);
		rc = sub_send_msg(s, &m);
		pl_msg_free(&m);
		off += n;
	}
	free(buf);
	if (rc != SUB_OK)
		return rc;
	if (upload_ns)
		*upload_ns = bench_now_ns();
	if (pl_msg_init(&m, PL_MSG_SUBMIT_END, 0, ++s->seq) < 0)
		return sub_fail(s, SUB_EIO, "out of memory");
	pl_msg_add(&m, PL_TAG_SHA256, sha, 32);
	rc = sub_send_msg(s, &m);
	pl_msg_free(&m);
	return rc == SUB_OK ? sub_recv_result(s, id, idsz) : rc;
}

static int sha256_fd(int fd, uint8_t sha[32])
{
	uint8_t *buf = malloc(1u << 20);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned len = 0;
	int rc = -1;
	if (!buf || !md || !EVP_DigestInit_ex(md, EVP_sha256(), NULL))
		goto out;
	for (off_t off = 0;;) {
		ssize_t n = pread(fd, buf, 1u << 20, off);
		if (n < 0)
			goto out;
		if (n == 0)
			break;
		EVP_DigestUpdate(md, buf, (size_t)n);
		off += n;
	}
	rc = EVP_DigestFinal_ex(md, sha, &len) == 1 ? 0 : -1;
out:
	EVP_MD_CTX_free(md);
	free(buf);
	return rc;
}

/* ---- intake: one big job ---- */

/* gen leaves the document's SHA-256 in FILE.sha256 (32 bytes), so that
 * each of the runs over it need not read 1 GiB first to hash it. */
static int sha_sidecar(const char *path, uint8_t sha[32])
{
	char p[4096];
	snprintf(p, sizeof(p), "%s.sha256", path);
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, sha, 32);
	close(fd);
	return n == 32 ? 0 : -1;
}

/* One job of the file at path to host:port, timed from BEGIN sent to the
 * job id: total and up (the last DATA byte written) in ns. */
static int submit_file(const char *host, int port, const char *token_file,
		       const char *path, uint64_t *total, uint64_t *up,
		       char *id, size_t idsz)
{
	hj_client_t c;
	struct stat st;
	uint8_t sha[32];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0 ||
	    (sha_sidecar(path, sha) < 0 && sha256_fd(fd, sha) < 0)) {
		fprintf(stderr, "bench_heldjobs: %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (hj_client_init(&c, host, port, token_file, "bench-intake") < 0) {
		close(fd);
		return -1;
	}
	id[0] = '\0';
	int rc = hj_connect(&c);
	uint64_t t0 = bench_now_ns(), t1;
	*up = 0;
	if (rc == SUB_OK)
		rc = hj_submit(&c, NULL, fd, (uint64_t)st.st_size, sha, id, idsz, up);
	t1 = bench_now_ns();
	close(fd);
	if (rc != SUB_OK || !id[0])
		fprintf(stderr, "bench_heldjobs: intake: %s\n", c.msg);
	hj_client_free(&c);
	if (rc != SUB_OK || !id[0])
		return -1;
	*total = t1 - t0;
	*up = *up > t0 ? *up - t0 : 0;
	return 0;
}

static int cmd_intake(const char *host, int port, const char *token_file,
		      const char *path)
{
	char id[64];
	uint64_t total, up;
	if (submit_file(host, port, token_file, path, &total, &up, id, sizeof(id)) < 0)
		return BENCH_EXIT_FAIL;
	printf("%llu %llu %s\n", (unsigned long long)total,
	       (unsigned long long)up, id);
	return 0;
}

/* ---- tlsfloor: what intake cannot beat ---- */

/* The bare receiver: a frame buffer that SSL_read fills directly (the
 * only copy is OpenSSL's, out of its record buffer), frames parsed in
 * place, DATA payloads hashed (hash) or only counted, and the answers the
 * client waits for. One thread, blocking I/O, no job store, no limits:
 * the least a server must do to take a submission over TLS. */
#define FLOOR_FRAME_MAX (1024u * 1024u)
#define FLOOR_BUF (2u * (PL_PROTO_HDR_LEN + FLOOR_FRAME_MAX))

typedef struct {
	SSL *ssl;
	EVP_MD_CTX *md;
	int hash;
	uint64_t bytes;
	uint8_t sha[32];
} floor_srv_t;

static int floor_reply(floor_srv_t *fs, const pl_frame_t *f, const char *id)
{
	pl_msg_t m;
	if (pl_msg_init(&m, PL_MSG_RESULT, PL_FLAG_REPLY, f->seq) < 0)
		return -1;
	pl_msg_add_u32(&m, PL_TAG_STATUS, PL_STATUS_OK);
	pl_msg_add_str(&m, PL_TAG_MESSAGE, "ok");
	if (id)
		pl_msg_add_str(&m, PL_TAG_JOB_ID, id);
	int rc = pl_msg_finish(&m) == 0 &&
		 SSL_write(fs->ssl, m.buf, (int)m.len) == (int)m.len ? 0 : -1;
	pl_msg_free(&m);
	return rc;
}

/* 1 after END (answered), 0 to go on, -1 on error. */
static int floor_frame(floor_srv_t *fs, const pl_frame_t *f)
{
	pl_field_t fl;
	unsigned len = 0;
	switch (f->type) {
	case PL_MSG_SUBMIT_BEGIN:
		fs->bytes = 0;
		if (fs->hash && !EVP_DigestInit_ex(fs->md, EVP_sha256(), NULL))
			return -1;
		return floor_reply(fs, f, NULL);
	case PL_MSG_SUBMIT_DATA:
		if (pl_frame_find(f, PL_TAG_PAYLOAD, &fl) != 1)
			return -1;
		if (fs->hash && !EVP_DigestUpdate(fs->md, fl.val, fl.len))
			return -1;
		fs->bytes += fl.len;
		return 0;
	case PL_MSG_SUBMIT_END:
		if (pl_frame_find(f, PL_TAG_SHA256, &fl) != 1 || fl.len != 32)
			return -1;
		if (fs->hash && (!EVP_DigestFinal_ex(fs->md, fs->sha, &len) ||
				 memcmp(fs->sha, fl.val, 32) != 0)) {
			fprintf(stderr, "bench_heldjobs: tlsfloor: SHA-256 mismatch\n");
			return -1;
		}
		return floor_reply(fs, f, "floor") < 0 ? -1 : 1;
	default:
		return -1;
	}
}

static int floor_serve(floor_srv_t *fs)
{
	uint8_t *buf = malloc(FLOOR_BUF);
	size_t start = 0, end = 0, used;
	pl_frame_t f;
	int rc = -1;
	if (!buf)
		return -1;
	for (;;) {
		int r;
		while ((r = pl_frame_parse(buf + start, end - start, FLOOR_FRAME_MAX,
					   &f, &used)) == 0) {
			start += used;
			if ((rc = floor_frame(fs, &f)) != 0)
				goto out;
		}
		if (r != -PL_PROTO_ETRUNC)
			break;
		/* Only the frame being received moves: at most one record. */
		if (start > 0) {
			memmove(buf, buf + start, end - start);
			end -= start;
			start = 0;
		}
		int n = SSL_read(fs->ssl, buf + end, (int)(FLOOR_BUF - end));
		if (n <= 0)
			break;
		end += (size_t)n;
	}
	rc = -1;
out:
	free(buf);
	return rc == 1 ? 0 : -1;
}

static int floor_child(int lfd, const char *dir, int hash)
{
	pl_err_t err;
	floor_srv_t fs = { .hash = hash };
	SSL_CTX *ctx = pl_tls_server_ctx(NULL, NULL, dir, "bench-floor", &err);
	int fd = -1, rc = 1;
	if (!ctx) {
		fprintf(stderr, "bench_heldjobs: tlsfloor: %s\n", err.msg);
		return 1;
	}
	fs.md = EVP_MD_CTX_new();
	fd = accept(lfd, NULL, NULL);
	if (fd < 0 || !fs.md || !(fs.ssl = SSL_new(ctx)))
		goto out;
	int one = 1; /* as the service: its answers are latency-bound */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	SSL_set_fd(fs.ssl, fd);
	if (SSL_accept(fs.ssl) == 1 && floor_serve(&fs) == 0)
		rc = 0;
	SSL_shutdown(fs.ssl);
out:
	SSL_free(fs.ssl);
	if (fd >= 0)
		close(fd);
	EVP_MD_CTX_free(fs.md);
	SSL_CTX_free(ctx);
	return rc;
}

static int listen_any(int *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, 4) < 0 || getsockname(fd, (struct sockaddr *)&sa, &sl) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*port = ntohs(sa.sin_port);
	return fd;
}

static int cmd_tlsfloor(const char *dir, const char *token_file,
			const char *path, const char *mode)
{
	int hash = strcmp(mode, "hash") == 0, port = 0, status = 0;
	uint64_t total, up;
	char id[64];
	if (!hash && strcmp(mode, "recv") != 0)
		return usage();
	int lfd = listen_any(&port);
	if (lfd < 0) {
		fprintf(stderr, "bench_heldjobs: tlsfloor: listen: %s\n", strerror(errno));
		return BENCH_EXIT_FAIL;
	}
	/* Its own process, as the service is: the kernel schedules the two
	 * sides as it does for intake. */
	pid_t pid = fork();
	if (pid == 0)
		_exit(floor_child(lfd, dir, hash));
	close(lfd);
	if (pid < 0)
		return BENCH_EXIT_FAIL;
	int rc = submit_file("127.0.0.1", port, token_file, path, &total, &up,
			     id, sizeof(id));
	if (rc < 0)
		kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	if (rc < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "bench_heldjobs: tlsfloor %s failed\n", mode);
		return BENCH_EXIT_FAIL;
	}
	/* The receiver's CPU time: what the same work costs whatever else
	 * the machine is doing, unlike the wall clock. */
	struct rusage ru;
	getrusage(RUSAGE_CHILDREN, &ru);
	uint64_t cpu = (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000ull +
		       (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000ull;
	printf("%llu %llu\n", (unsigned long long)total, (unsigned long long)cpu);
	return 0;
}

/* ---- rate: many small jobs from many clients ---- */

typedef struct {
	const char *host, *token_file;
	int port, reuse, idx;
	uint64_t deadline; /* written before the "go" barrier */
	pthread_barrier_t *ready, *go;
	uint64_t jobs, failed;
	int broken;
	char why[512];
} hj_worker_t;

static void *rate_worker(void *arg)
{
	hj_worker_t *w = arg;
	hj_client_t c;
	uint8_t doc[HJ_4K], sha[32];
	char user[32], id[64];
	unsigned shalen = 0;

	snprintf(user, sizeof(user), "bench-rate-%d", w->idx);
	for (size_t i = 0; i < sizeof(doc); i++)
		doc[i] = (uint8_t)(i * 131u + (unsigned)w->idx);
	EVP_Digest(doc, sizeof(doc), sha, &shalen, EVP_sha256(), NULL);
	int ok = hj_client_init(&c, w->host, w->port, w->token_file, user) == 0;
	if (ok && w->reuse && hj_connect(&c) != SUB_OK) {
		snprintf(w->why, sizeof(w->why), "%s", c.msg);
		ok = 0;
	}
	if (!ok)
		w->broken = 1;
	pthread_barrier_wait(w->ready);
	pthread_barrier_wait(w->go);
	while (ok) {
		uint64_t now = bench_now_ns();
		if (now >= w->deadline)
			break;
		if (!w->reuse && hj_connect(&c) != SUB_OK) {
			snprintf(w->why, sizeof(w->why), "%s", c.msg);
			w->failed++;
			hj_disconnect(&c);
			if (w->failed > 100) {
				w->broken = 1;
				break;
			}
			continue;
		}
		int rc = hj_submit(&c, doc, -1, sizeof(doc), sha, id, sizeof(id), NULL);
		if (rc != SUB_OK) {
			snprintf(w->why, sizeof(w->why), "%s", c.msg);
			w->broken = 1;
			break;
		}
		if (bench_now_ns() <= w->deadline)
			w->jobs++;
		if (!w->reuse)
			hj_disconnect(&c);
	}
	hj_client_free(&c);
	return NULL;
}

static int cmd_rate(const char *host, int port, const char *token_file,
		    int nclients, double seconds, const char *mode)
{
	int reuse = strcmp(mode, "reuse") == 0;
	static hj_worker_t w[HJ_MAX_CLIENTS];
	pthread_t th[HJ_MAX_CLIENTS];
	pthread_barrier_t ready, go;
	uint64_t jobs = 0, failed = 0;
	int broken = 0;

	if (nclients < 1 || nclients > HJ_MAX_CLIENTS || seconds <= 0)
		return usage();
	pthread_barrier_init(&ready, NULL, (unsigned)nclients + 1);
	pthread_barrier_init(&go, NULL, (unsigned)nclients + 1);
	for (int i = 0; i < nclients; i++) {
		w[i] = (hj_worker_t){ .host = host, .token_file = token_file,
				      .port = port, .reuse = reuse, .idx = i,
				      .ready = &ready, .go = &go };
	}
	for (int i = 0; i < nclients; i++)
		if (pthread_create(&th[i], NULL, rate_worker, &w[i]) != 0)
			return BENCH_EXIT_FAIL;
	/* Everyone connected (reuse): the clock starts now. */
	pthread_barrier_wait(&ready);
	uint64_t deadline = bench_now_ns() + (uint64_t)(seconds * 1e9);
	for (int i = 0; i < nclients; i++)
		w[i].deadline = deadline;
	pthread_barrier_wait(&go);
	for (int i = 0; i < nclients; i++) {
		pthread_join(th[i], NULL);
		jobs += w[i].jobs;
		failed += w[i].failed;
		if (w[i].broken) {
			if (!broken)
				fprintf(stderr, "bench_heldjobs: client %d: %s\n", i, w[i].why);
			broken = 1;
		}
	}
	pthread_barrier_destroy(&ready);
	pthread_barrier_destroy(&go);
	if (broken)
		return BENCH_EXIT_FAIL;
	printf("%.1f %llu %llu\n", (double)jobs / seconds, (unsigned long long)jobs,
	       (unsigned long long)failed);
	return 0;
}

/* The floor: THREADS threads, each creating a new 4 KiB file and
 * fsyncing it, one at a time. With one thread it is the disk's latency;
 * with as many threads as the service has disk workers it is what the
 * disk gives concurrent fsyncs (the store's group commit shares work only
 * beyond that). */
typedef struct {
	const char *dir;
	int idx;
	uint64_t end, n;
	int failed;
	pthread_barrier_t *go;
} hj_fsync_t;

static void *fsync_worker(void *arg)
{
	hj_fsync_t *t = arg;
	char path[4096];
	uint8_t doc[HJ_4K];
	for (size_t i = 0; i < sizeof(doc); i++)
		doc[i] = (uint8_t)(i * 7u + 1u + (unsigned)t->idx);
	pthread_barrier_wait(t->go);
	while (bench_now_ns() < t->end) {
		snprintf(path, sizeof(path), "%s/f-%ld-%d-%llu", t->dir, (long)getpid(),
			 t->idx, (unsigned long long)t->n);
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0 || write_full(fd, doc, sizeof(doc)) < 0 || fsync(fd) < 0) {
			fprintf(stderr, "bench_heldjobs: %s: %s\n", path, strerror(errno));
			if (fd >= 0)
				close(fd);
			t->failed = 1;
			break;
		}
		close(fd);
		t->n++;
	}
	return NULL;
}

static int cmd_fsyncloop(const char *dir, double seconds, int nthreads)
{
	hj_fsync_t t[64];
	pthread_t th[64];
	pthread_barrier_t go;
	uint64_t n = 0;
	int failed = 0;
	if (nthreads < 1 || nthreads > 64 || seconds <= 0)
		return usage();
	pthread_barrier_init(&go, NULL, (unsigned)nthreads + 1);
	for (int i = 0; i < nthreads; i++) {
		t[i] = (hj_fsync_t){ .dir = dir, .idx = i, .go = &go };
		if (pthread_create(&th[i], NULL, fsync_worker, &t[i]) != 0)
			return BENCH_EXIT_FAIL;
	}
	uint64_t t0 = bench_now_ns();
	for (int i = 0; i < nthreads; i++)
		t[i].end = t0 + (uint64_t)(seconds * 1e9);
	pthread_barrier_wait(&go);
	for (int i = 0; i < nthreads; i++) {
		pthread_join(th[i], NULL);
		n += t[i].n;
		failed |= t[i].failed;
	}
	uint64_t t1 = bench_now_ns();
	pthread_barrier_destroy(&go);
	/* No unlink here: on ext4 without a journal, an inode freed less than
	 * 30 s ago (5.5 min while its inode table block is dirty) is skipped
	 * by every later allocation in its block group, one buffer-cache
	 * look-up each (ialloc.c, recently_deleted()). Thousands of files
	 * removed between the service's turns made each of its new job
	 * files scan past them: 47% of its CPU in a perf profile of [6]. */
	if (failed)
		return BENCH_EXIT_FAIL;
	printf("%.1f\n", (double)n / ((double)(t1 - t0) / 1e9));
	return 0;
}

/* ---- release latency ---- */

/* The recording printer numbers connections 1, 2, ...: the highest N of
 * a job-N.* file in dir. */
static int rec_last_job(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int max = 0;
	if (!d)
		return -1;
	while ((de = readdir(d)) != NULL) {
		int n;
		if (sscanf(de->d_name, "job-%d.", &n) == 1 && n > max)
			max = n;
	}
	closedir(d);
	return max;
}

/* job-N.first, waiting briefly in case the printer is still writing it. */
static int rec_first(const char *dir, int n, uint64_t *ns)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/job-%d.first", dir, n);
	for (int i = 0; i < 1000; i++) {
		if (bench_read_u64_file(path, ns) == 0)
			return 0;
		bench_sleep_us(1000);
	}
	fprintf(stderr, "bench_heldjobs: no %s\n", path);
	return -1;
}

static int wait_fd(int fd, short ev)
{
	struct pollfd p = { fd, ev, 0 };
	int n;
	while ((n = poll(&p, 1, BENCH_TIMEOUT_MS)) < 0 && errno == EINTR)
		;
	return n == 1 ? 0 : -1;
}

/* The floor: a plain process connects and writes the same bytes, then
 * ends the job as the service does (FIN, wait for the printer's close).
 * Returns the CLOCK_REALTIME instant just before connect(). */
static int floor_sample(int port, const uint8_t *doc, size_t len, uint64_t *t0)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	char buf[4096];
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	size_t off = 0;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons((uint16_t)port);
	if (fd < 0)
		return -1;
	*t0 = bench_rt_now_ns();
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		goto fail;
	while (off < len) {
		ssize_t w = send(fd, doc + off, len - off, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			goto fail;
		off += (size_t)w;
	}
	if (shutdown(fd, SHUT_WR) < 0)
		goto fail;
	for (;;) {
		if (wait_fd(fd, POLLIN) < 0)
			goto fail;
		ssize_t r = read(fd, buf, sizeof(buf));
		if (r == 0)
			break;
		if (r < 0 && errno != EINTR)
			goto fail;
	}
	close(fd);
	return 0;
fail:
	fprintf(stderr, "bench_heldjobs: floor connection: %s\n", strerror(errno));
	close(fd);
	return -1;
}

/* CTL_RELEASE as `plsc release --user U --printer P` sends it. Returns the
 * CLOCK_REALTIME instant just before the request went out. */
static int release_sample(pl_ctl_client_t *ctl, const char *user,
			  const char *printer, uint64_t *t0)
{
	pl_msg_t m;
	pl_frame_t f;
	char msg[512] = "";
	uint32_t st = PL_STATUS_ERROR;
	int rc = pl_msg_init(&m, PL_MSG_CTL_RELEASE, 0, 0);
	if (rc < 0)
		return -1;
	pl_msg_add_str(&m, PL_TAG_USER, user);
	pl_msg_add_str(&m, PL_TAG_PRINTER, printer);
	pl_msg_add_str(&m, PL_TAG_MODE, "most-recent");
	rc = pl_msg_finish(&m);
	*t0 = bench_rt_now_ns();
	if (rc == 0)
		rc = pl_ctl_call(ctl, &m, &f, 3 * BENCH_TIMEOUT_MS);
	pl_msg_free(&m);
	if (rc < 0) {
		fprintf(stderr, "bench_heldjobs: release: %s\n", pl_proto_strerror(rc));
		return -1;
	}
	pl_frame_get_u32(&f, PL_TAG_STATUS, &st);
	pl_frame_get_str(&f, PL_TAG_MESSAGE, msg, sizeof(msg));
	if ((f.flags & PL_FLAG_ERROR) || st != PL_STATUS_OK) {
		fprintf(stderr, "bench_heldjobs: release: %s\n", msg);
		return -1;
	}
	return 0;
}

static int cmd_release(const char *sock, const char *host, int port,
		       const char *token_file, const char *recdir,
		       const char *printer, int n, long kib)
{
	static uint64_t rel[HJ_MAX_SAMPLES], flo[HJ_MAX_SAMPLES];
	const char *user = "bench-release";
	char path[4096], id[64];
	uint8_t sha[32];
	unsigned shalen = 0;
	uint64_t recport = 0, t0, first;
	size_t len = (size_t)kib * 1024u;
	pl_ctl_client_t ctl;
	hj_client_t c;
	int rc = BENCH_EXIT_FAIL, job, have_ctl = 0, have_client = 0;
	uint8_t *doc = malloc(len ? len : 1);

	if (n < 1 || n > HJ_MAX_SAMPLES || !doc || fill_random(doc, len) < 0)
		goto out;
	EVP_Digest(doc, len, sha, &shalen, EVP_sha256(), NULL);
	snprintf(path, sizeof(path), "%s/port", recdir);
	if (bench_read_u64_file(path, &recport) < 0 || (job = rec_last_job(recdir)) < 0) {
		fprintf(stderr, "bench_heldjobs: no recording printer in %s\n", recdir);
		goto out;
	}
	if (bench_ctl_connect(&ctl, sock) < 0) {
		fprintf(stderr, "bench_heldjobs: connect %s: %s\n", sock, strerror(errno));
		goto out;
	}
	have_ctl = 1;
	if (hj_client_init(&c, host, port, token_file, user) < 0)
		goto out;
	have_client = 1;
	if (hj_connect(&c) != SUB_OK) {
		fprintf(stderr, "bench_heldjobs: %s\n", c.msg);
		goto out;
	}
	for (int i = 0; i < n; i++) {
		/* The floor first; then a job to hold, released once the
		 * service has said it is durable. Only the release is timed. */
		if (floor_sample((int)recport, doc, len, &t0) < 0 ||
		    rec_first(recdir, ++job, &first) < 0)
			goto out;
		flo[i] = first > t0 ? first - t0 : 0;
		if (hj_submit(&c, doc, -1, len, sha, id, sizeof(id), NULL) != SUB_OK) {
			fprintf(stderr, "bench_heldjobs: submit: %s\n", c.msg);
			goto out;
		}
		if (release_sample(&ctl, user, printer, &t0) < 0 ||
		    rec_first(recdir, ++job, &first) < 0)
			goto out;
		rel[i] = first > t0 ? first - t0 : 0;
	}
	qsort(rel, (size_t)n, sizeof(rel[0]), bench_cmp_u64);
	qsort(flo, (size_t)n, sizeof(flo[0]), bench_cmp_u64);
	printf("%llu %llu %llu %llu %llu %llu\n",
	       (unsigned long long)bench_pct(rel, (size_t)n, 50),
	       (unsigned long long)bench_pct(rel, (size_t)n, 99),
	       (unsigned long long)rel[n - 1],
	       (unsigned long long)bench_pct(flo, (size_t)n, 50),
	       (unsigned long long)bench_pct(flo, (size_t)n, 99),
	       (unsigned long long)flo[n - 1]);
	rc = 0;
out:
	if (have_client)
		hj_client_free(&c);
	if (have_ctl)
		pl_ctl_close(&ctl);
	free(doc);
	return rc;
}

/* ---- one user's listing ---- */

static int list_sample(pl_ctl_client_t *ctl, const char *user, uint64_t *ns,
		       size_t *jobs)
{
	pl_msg_t m;
	pl_frame_t f;
	pl_iter_t it;
	pl_field_t fl;
	if (pl_msg_init(&m, PL_MSG_CTL_JOBS, 0, 0) < 0)
		return -1;
	pl_msg_add_str(&m, PL_TAG_USER, user);
	int rc = pl_msg_finish(&m);
	uint64_t t0 = bench_now_ns();
	if (rc == 0)
		rc = pl_ctl_call(ctl, &m, &f, 3 * BENCH_TIMEOUT_MS);
	*ns = bench_now_ns() - t0;
	pl_msg_free(&m);
	if (rc < 0 || (f.flags & PL_FLAG_ERROR)) {
		fprintf(stderr, "bench_heldjobs: listing %s: %s\n", user,
			rc < 0 ? pl_proto_strerror(rc) : "refused");
		return -1;
	}
	*jobs = 0;
	pl_iter_frame(&it, &f);
	while (pl_iter_next(&it, &fl) == 1)
		*jobs += fl.tag == PL_TAG_JOB;
	return 0;
}

static int cmd_list(const char *sock, int users, int n)
{
	static uint64_t t[HJ_MAX_SAMPLES];
	pl_ctl_client_t ctl;
	char user[32];
	size_t jobs = 0;
	if (users < 1 || n < 1 || n > HJ_MAX_SAMPLES)
		return usage();
	if (bench_ctl_connect(&ctl, sock) < 0) {
		fprintf(stderr, "bench_heldjobs: connect %s: %s\n", sock, strerror(errno));
		return BENCH_EXIT_FAIL;
	}
	for (int i = 0; i < n; i++) {
		snprintf(user, sizeof(user), "u%d", (i * 7) % users);
		if (list_sample(&ctl, user, &t[i], &jobs) < 0) {
			pl_ctl_close(&ctl);
			return BENCH_EXIT_FAIL;
		}
	}
	pl_ctl_close(&ctl);
	qsort(t, (size_t)n, sizeof(t[0]), bench_cmp_u64);
	printf("%llu %llu %zu\n", (unsigned long long)bench_pct(t, (size_t)n, 50),
	       (unsigned long long)bench_pct(t, (size_t)n, 99), jobs);
	return 0;
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2)
		return usage();
	const char *cmd = argv[1];
	if (strcmp(cmd, "wait") == 0 && argc == 4)
		return cmd_wait(argv[2], argv[3]);
	if (strcmp(cmd, "gen") == 0 && argc == 4)
		return cmd_gen(argv[2], atol(argv[3]));
	if (strcmp(cmd, "diskfloor") == 0 && argc == 4)
		return cmd_diskfloor(argv[2], atol(argv[3]));
	if (strcmp(cmd, "list") == 0 && argc == 5)
		return cmd_list(argv[2], atoi(argv[3]), atoi(argv[4]));
	if (strcmp(cmd, "intake") == 0 && argc == 6)
		return cmd_intake(argv[2], atoi(argv[3]), argv[4], argv[5]);
	if (strcmp(cmd, "tlsfloor") == 0 && argc == 6)
		return cmd_tlsfloor(argv[2], argv[3], argv[4], argv[5]);
	if (strcmp(cmd, "rate") == 0 && argc == 8)
		return cmd_rate(argv[2], atoi(argv[3]), argv[4], atoi(argv[5]),
				atof(argv[6]), argv[7]);
	if (strcmp(cmd, "fsyncloop") == 0 && (argc == 4 || argc == 5))
		return cmd_fsyncloop(argv[2], atof(argv[3]), argc == 5 ? atoi(argv[4]) : 1);
	if (strcmp(cmd, "release") == 0 && argc == 10)
		return cmd_release(argv[2], argv[3], atoi(argv[4]), argv[5], argv[6],
				   argv[7], atoi(argv[8]), atol(argv[9]));
	return usage();
}
