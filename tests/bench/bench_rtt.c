/* Request/reply round trips per second, one in flight at a time.
 *
 *   bench_rtt TESTSVC STATE_DIR SECONDS
 *
 * The floor: two processes ping-pong 16-byte messages over an AF_UNIX
 * SOCK_STREAM socketpair with plain write/poll/read.
 * The measured side: the test service on the real runtime, started with its
 * supervisor channel as the supervisor starts it; we send PING (a 16-byte
 * frame) with pl_msg + pl_wq_flush and read its PONG with pl_reader on the
 * non-blocking socket, waiting with poll, as the supervisor does.
 *
 * Both peers are started up front and the two sides run in alternating
 * slices, SECONDS in all each, so that load from elsewhere on the machine
 * (this is a 2-CPU box shared with builds) falls on both alike.
 *
 * Prints "RAW_PER_SECOND CHANNEL_PER_SECOND" on stdout. */
#include "bench.h"

#define SLICE_NS 20000000ull /* 20 ms: fine enough to share bursts of load */
#define MSG_LEN 16

static int wait_in(int fd)
{
	struct pollfd p = { fd, POLLIN, 0 };
	int n;
	while ((n = poll(&p, 1, BENCH_TIMEOUT_MS)) < 0 && errno == EINTR)
		;
	return n == 1 ? 0 : -1;
}

/* Wait, then read exactly MSG_LEN bytes from a non-blocking socket: the
 * same poll-then-read order as the channel side. */
static int read_msg(int fd, char *buf)
{
	size_t got = 0;
	while (got < MSG_LEN) {
		if (wait_in(fd) < 0)
			return -1;
		ssize_t n = read(fd, buf + got, MSG_LEN - got);
		if (n > 0)
			got += (size_t)n;
		else if (n == 0 || (errno != EAGAIN && errno != EINTR))
			return -1;
	}
	return 0;
}

static int write_msg(int fd, const char *buf)
{
	/* 16 bytes always fit an empty socket buffer: one write. */
	return write(fd, buf, MSG_LEN) == MSG_LEN ? 0 : -1;
}

static void raw_echo(int fd)
{
	char buf[MSG_LEN];
	while (read_msg(fd, buf) == 0 && write_msg(fd, buf) == 0)
		;
	_exit(0);
}

/* The floor's peer: an echo child on one end of a fresh socketpair. */
static int start_raw(pid_t *pid)
{
	int sp[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
		       sp) < 0)
		return -1;
	*pid = fork();
	if (*pid < 0) {
		close(sp[0]);
		close(sp[1]);
		return -1;
	}
	if (*pid == 0) {
		close(sp[0]);
		raw_echo(sp[1]);
	}
	close(sp[1]);
	return sp[0];
}

static int raw_once(int fd)
{
	char buf[MSG_LEN] = "ping-ping-ping!";
	return write_msg(fd, buf) == 0 ? read_msg(fd, buf) : -1;
}

/* One PING out, its PONG back. */
static int channel_once(int chan, pl_wq_t *q, pl_reader_t *rd, pl_msg_t *m,
			uint32_t seq)
{
	pl_frame_t f;
	pl_msg_reset(m, PL_MSG_PING, 0, seq);
	/* One 16-byte frame into an idle socket is always flushed whole. */
	if (pl_msg_finish(m) < 0 || pl_wq_push(q, m) < 0 ||
	    pl_wq_flush(q, chan) != 1)
		return -1;
	for (;;) {
		int rc = pl_reader_next(rd, &f);
		if (rc < 0)
			return -1;
		if (rc == 1 && f.type == PL_MSG_PONG && f.seq == seq)
			return 0;
		if (rc == 1)
			continue; /* a stray frame (none expected): skip it */
		if (wait_in(chan) < 0 || pl_reader_fill(rd, chan) < 0)
			return -1;
	}
}

typedef struct {
	int raw, chan;
	pid_t raw_pid, chan_pid;
	pl_reader_t rd;
	pl_wq_t q;
	pl_msg_t m;
	uint32_t seq;
	uint64_t n[2], ns[2]; /* [0] raw, [1] channel */
} rtt_t;

/* Run one side for a slice; 0 or -1. */
static int slice(rtt_t *b, int side)
{
	uint64_t t0 = bench_now_ns(), end = t0 + SLICE_NS, now = t0;
	int rc = 0;
	while (rc == 0 && (now = bench_now_ns()) < end) {
		rc = side ? channel_once(b->chan, &b->q, &b->rd, &b->m, ++b->seq)
			  : raw_once(b->raw);
		b->n[side] += rc == 0;
	}
	b->ns[side] += now - t0;
	return rc;
}

static int rtt_start(rtt_t *b, const char *path, const char *state_dir)
{
	memset(b, 0, sizeof(*b));
	b->raw = b->chan = -1;
	pl_wq_init(&b->q, 1u << 20);
	if (pl_reader_init(&b->rd, PL_PROTO_DEFAULT_MAX) < 0 ||
	    pl_msg_init(&b->m, PL_MSG_PING, 0, 0) < 0)
		return -1;
	/* The echo child first, so it holds no copy of the channel (the
	 * service would then miss EOF if we died). */
	b->raw = start_raw(&b->raw_pid);
	if (b->raw < 0)
		return -1;
	bench_service_env("BenchRtt", state_dir);
	b->chan = bench_spawn_service(path, &b->chan_pid);
	if (b->chan < 0 || bench_handshake(b->chan, &b->rd) < 0) {
		fprintf(stderr, "bench_rtt: cannot start %s\n", path);
		return -1;
	}
	return 0;
}

static void rtt_stop(rtt_t *b)
{
	bench_kill_reap(b->chan >= 0 ? b->chan_pid : -1);
	bench_kill_reap(b->raw >= 0 ? b->raw_pid : -1);
	if (b->chan >= 0)
		close(b->chan);
	if (b->raw >= 0)
		close(b->raw);
	pl_wq_free(&b->q);
	pl_msg_free(&b->m);
	pl_reader_free(&b->rd);
}

int main(int argc, char **argv)
{
	rtt_t b;
	if (argc != 4) {
		fprintf(stderr, "usage: bench_rtt TESTSVC STATE_DIR SECONDS\n");
		return BENCH_EXIT_FAIL;
	}
	signal(SIGPIPE, SIG_IGN);
	uint64_t total = (uint64_t)(atof(argv[3]) * 1e9);
	int rc = rtt_start(&b, argv[1], argv[2]);
	while (rc == 0 && b.ns[1] < total)
		rc = slice(&b, 0) == 0 ? slice(&b, 1) : -1;
	rtt_stop(&b);
	if (rc < 0 || b.ns[0] == 0 || b.ns[1] == 0) {
		fprintf(stderr, "bench_rtt: a round trip failed\n");
		return BENCH_EXIT_FAIL;
	}
	printf("%.0f %.0f\n", (double)b.n[0] * 1e9 / (double)b.ns[0],
	       (double)b.n[1] * 1e9 / (double)b.ns[1]);
	return 0;
}
