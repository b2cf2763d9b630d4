/* Restart latency: from SIGKILL of a service to the moment it is READY
 * again.
 *
 *   bench_restart TESTSVC FLOOR_STATE_DIR CTL_SOCKET SERVICE N
 *
 * The measured side: kill -9 SERVICE, which the plsc-supervisor on
 * CTL_SOCKET supervises, then poll CTL_STATUS every 200 us until it is
 * "running" with a new pid. The floor: a minimal launcher doing only
 * fork + exec of the same test service with its channel, HELLO,
 * CONFIG "{}", READY, timed from fork; then kill and reap. N of each, run
 * in alternating batches so that load from elsewhere on the machine falls
 * on both alike.
 *
 * Prints "SUP_P50_US SUP_P99_US FLOOR_P50_US FLOOR_P99_US" on stdout. Exit
 * 0, or BENCH_EXIT_FAIL with a reason on stderr. */
#include "bench.h"
#include "bench_ctl.h"

#define POLL_US 200
/* The supervisor fails a service after max_deaths deaths within
 * death_window_ms (64 in 1 s in run-bench's config). A graceful restart
 * through the control socket before each batch clears the tally, so the
 * benchmark measures restarts and never trips the crash-loop guard. Small
 * batches also interleave the two sides finely. */
#define BATCH 10

static void report(uint64_t *lat, size_t n)
{
	qsort(lat, n, sizeof(lat[0]), bench_cmp_u64);
	printf("%llu %llu", (unsigned long long)(bench_pct(lat, n, 50) / 1000),
	       (unsigned long long)(bench_pct(lat, n, 99) / 1000));
}

/* ---- floor ---- */

static int floor_once(const char *path, uint64_t *ns)
{
	pl_reader_t rd;
	pid_t pid;

	if (pl_reader_init(&rd, PL_PROTO_DEFAULT_MAX) < 0)
		return -1;
	uint64_t t0 = bench_now_ns();
	int chan = bench_spawn_service(path, &pid);
	int rc = chan < 0 ? -1 : bench_handshake(chan, &rd);
	*ns = bench_now_ns() - t0;
	if (rc < 0)
		fprintf(stderr, "bench_restart: floor: %s\n",
			chan < 0 ? strerror(errno) : pl_proto_strerror(rc));
	bench_kill_reap(chan < 0 ? -1 : pid);
	if (chan >= 0)
		close(chan);
	pl_reader_free(&rd);
	return rc < 0 ? -1 : 0;
}

static int floor_batch(const char *path, uint64_t *lat, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (floor_once(path, &lat[i]) < 0)
			return -1;
	return 0;
}

/* ---- supervised ---- */

static int current_pid(pl_ctl_client_t *c, const char *name, uint32_t *pid)
{
	bench_status_t st;
	int rc = bench_status(c, &st);
	if (rc < 0)
		return rc;
	const bench_svc_t *s = bench_find(&st, name);
	*pid = bench_running(s) ? s->pid : 0;
	if (s && strcmp(s->state, "failed") == 0) {
		fprintf(stderr, "bench_restart: %s failed (death tally?)\n", name);
		return -PL_PROTO_EIO;
	}
	return 0;
}

/* Poll until NAME runs under a pid other than old; 0 or <0. */
static int wait_new_pid(pl_ctl_client_t *c, const char *name, uint32_t old,
			uint32_t *pid)
{
	uint64_t deadline = bench_now_ns() + BENCH_TIMEOUT_MS * 1000000ull;
	for (;;) {
		int rc = current_pid(c, name, pid);
		if (rc < 0)
			return rc;
		if (*pid != 0 && *pid != old)
			return 0;
		if (bench_now_ns() > deadline) {
			fprintf(stderr, "bench_restart: %s not running again "
				"after %d ms\n", name, BENCH_TIMEOUT_MS);
			return -PL_PROTO_EIO;
		}
		bench_sleep_us(POLL_US);
	}
}

/* A graceful restart by control request: resets the death tally. */
static int reset_tally(pl_ctl_client_t *c, const char *name, uint32_t *pid)
{
	pl_frame_t f;
	uint32_t old = *pid;
	int rc = pl_ctl_request(c, PL_MSG_CTL_RESTART, name, &f);
	if (rc == 0 && (f.flags & PL_FLAG_ERROR))
		rc = -PL_PROTO_EIO;
	return rc < 0 ? rc : wait_new_pid(c, name, old, pid);
}

/* Kill and wait for the restart n times; the batch starts with the tally
 * cleared, so it must stay below max_deaths. */
static int supervised_batch(pl_ctl_client_t *c, const char *name, uint32_t *pid,
			    uint64_t *lat, size_t n)
{
	int rc = reset_tally(c, name, pid);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		uint64_t t0 = bench_now_ns();
		if (kill((pid_t)*pid, SIGKILL) < 0)
			return -PL_PROTO_EIO;
		rc = wait_new_pid(c, name, *pid, pid);
		lat[i] = bench_now_ns() - t0;
	}
	return rc;
}

static int run(char **argv, size_t n, uint64_t *sup, uint64_t *flo)
{
	pl_ctl_client_t c;
	uint32_t pid = 0;
	if (bench_ctl_connect(&c, argv[3]) < 0) {
		fprintf(stderr, "bench_restart: connect %s: %s\n", argv[3],
			strerror(errno));
		return -1;
	}
	bench_service_env("BenchFloor", argv[2]);
	int rc = wait_new_pid(&c, argv[4], 0, &pid);
	for (size_t i = 0; rc == 0 && i < n; i += BATCH) {
		size_t k = n - i < BATCH ? n - i : BATCH;
		rc = supervised_batch(&c, argv[4], &pid, sup + i, k);
		if (rc < 0)
			fprintf(stderr, "bench_restart: supervised: %s\n",
				pl_proto_strerror(rc));
		else if (floor_batch(argv[1], flo + i, k) < 0)
			rc = -1;
	}
	pl_ctl_close(&c);
	return rc < 0 ? -1 : 0;
}

int main(int argc, char **argv)
{
	if (argc != 6) {
		fprintf(stderr, "usage: bench_restart TESTSVC FLOOR_STATE_DIR "
				"CTL_SOCKET SERVICE N\n");
		return BENCH_EXIT_FAIL;
	}
	size_t n = (size_t)strtoul(argv[5], NULL, 10);
	if (n == 0 || n > 100000) {
		fprintf(stderr, "bench_restart: N must be 1..100000\n");
		return BENCH_EXIT_FAIL;
	}
	uint64_t *sup = calloc(n, sizeof(*sup)), *flo = calloc(n, sizeof(*flo));
	signal(SIGPIPE, SIG_IGN);
	int rc = sup && flo ? run(argv, n, sup, flo) : -1;
	if (rc == 0) {
		report(sup, n);
		putchar(' ');
		report(flo, n);
		putchar('\n');
	}
	free(sup);
	free(flo);
	return rc == 0 ? 0 : BENCH_EXIT_FAIL;
}
