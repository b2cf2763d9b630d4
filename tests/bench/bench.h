/* Helpers shared by the benchmark programs behind `make bench`.
 *
 * Every .c file in tests/bench becomes its own binary (see the Makefile), so shared
 * code lives here as static inline functions: inline keeps -Wunused-function
 * quiet in programs that use only some of them. */
#ifndef BENCH_H
#define BENCH_H

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pl_proto.h"
#include "pl_service.h"

/* Long enough for a loaded CI box, short enough that a wedged benchmark
 * fails well inside run-bench's own time limit. */
#define BENCH_TIMEOUT_MS 10000

/* Benchmarks report failure with this exit code and a message on stderr;
 * run-bench then says the figure could not be measured. */
#define BENCH_EXIT_FAIL 2

static inline uint64_t bench_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Wall-clock ns: what plsc-recprinter writes to job-N.first. */
static inline uint64_t bench_rt_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A file holding one non-zero decimal number (job-N.first): 0 or -1. */
static inline int bench_read_u64_file(const char *path, uint64_t *v)
{
	char buf[64];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	*v = strtoull(buf, NULL, 10);
	return *v ? 0 : -1;
}

static inline void bench_sleep_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static inline int bench_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of a sorted array: p99 of 100 samples is the
 * 99th smallest, so one outlier in a hundred does not move it. */
static inline uint64_t bench_pct(const uint64_t *sorted, size_t n, unsigned p)
{
	size_t rank = (n * p + 99) / 100;
	if (rank == 0)
		rank = 1;
	return sorted[rank - 1];
}

/* fork + exec the test service the way the supervisor does, minus the
 * supervisor: the channel is one end of a socketpair on fd 3 and the
 * environment names it. stdio goes to /dev/null, the cheapest sink, so the
 * floor carries no log capture. Returns our (non-blocking) end or -1. */
static inline int bench_spawn_service(const char *path, pid_t *pid)
{
	int sp[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
		return -1;
	*pid = fork();
	if (*pid < 0) {
		close(sp[0]);
		close(sp[1]);
		return -1;
	}
	if (*pid == 0) {
		int devnull = open("/dev/null", O_RDWR);
		/* Park the channel above 3 first: dup2 onto itself would keep
		 * FD_CLOEXEC and the child would lose it at exec. */
		int high = fcntl(sp[1], F_DUPFD, 10);
		dup2(devnull, 0);
		dup2(devnull, 1);
		dup2(devnull, 2);
		dup2(high, PL_CHANNEL_FD);
		char *argv[] = { (char *)path, NULL };
		execv(path, argv);
		_exit(127);
	}
	close(sp[1]);
	fcntl(sp[0], F_SETFL, fcntl(sp[0], F_GETFL) | O_NONBLOCK);
	return sp[0];
}

/* Set once before spawning: children inherit it, and fork stays free of
 * allocations. */
static inline void bench_service_env(const char *name, const char *state_dir)
{
	setenv(PL_ENV_CHANNEL, "3", 1);
	setenv(PL_ENV_SERVICE, name, 1);
	setenv(PL_ENV_STATE_DIR, state_dir, 1);
	unsetenv(PL_ENV_LISTEN);
}

/* Read frames until one of the wanted type arrives (HELLO may be preceded
 * by nothing else today, but skip anything unexpected rather than fail). */
static inline int bench_expect(int chan, pl_reader_t *rd, uint16_t type)
{
	pl_frame_t f;
	for (;;) {
		int rc = pl_recv_frame(chan, rd, &f, BENCH_TIMEOUT_MS);
		if (rc < 0)
			return rc;
		if (f.fd >= 0)
			close(f.fd);
		if (f.type == type)
			return 0;
	}
}

/* The supervisor's side of start-up: HELLO in, CONFIG "{}" out, READY in. */
static inline int bench_handshake(int chan, pl_reader_t *rd)
{
	pl_msg_t m;
	int rc = bench_expect(chan, rd, PL_MSG_HELLO);
	if (rc < 0)
		return rc;
	rc = pl_msg_init(&m, PL_MSG_CONFIG, 0, 0);
	if (rc < 0)
		return rc;
	pl_msg_add_str(&m, PL_TAG_CONFIG, "{}");
	rc = pl_msg_finish(&m);
	if (rc == 0)
		rc = pl_send_frame(chan, &m, BENCH_TIMEOUT_MS);
	pl_msg_free(&m);
	return rc < 0 ? rc : bench_expect(chan, rd, PL_MSG_READY);
}

static inline void bench_kill_reap(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

#endif
