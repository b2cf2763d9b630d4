/* Resident memory (VmRSS) of a process at rest.
 *
 *   bench_rss supervisor CTL_SOCKET N
 *       wait until the supervisor on CTL_SOCKET has N services running,
 *       let it settle, then read the supervisor's VmRSS.
 *   bench_rss idle PROGRAM
 *       the floor: start PROGRAM (bench_idle), wait until it sleeps in
 *       pause(), read its VmRSS, kill it.
 *
 * Prints "VMRSS_KIB RSSANON_KIB RSSFILE_KIB PSS_KIB" on stdout: the split
 * tells private memory from shared library pages mapped in, and Pss
 * (smaps_rollup: each shared page divided among the processes mapping
 * it) what the process costs beyond the libc every process maps. */
#include <limits.h>

#include "bench.h"
#include "bench_ctl.h"

/* Long enough for start-up logging and the first heartbeat round to have
 * touched what steady state touches. */
#define SETTLE_US 1500000

typedef struct {
	long rss, anon, file, pss; /* KiB */
} rss_t;

static int read_rss(pid_t pid, rss_t *r)
{
	char path[64], line[256];
	r->rss = r->anon = r->file = r->pss = -1;
	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		sscanf(line, "VmRSS: %ld kB", &r->rss);
		sscanf(line, "RssAnon: %ld kB", &r->anon);
		sscanf(line, "RssFile: %ld kB", &r->file);
	}
	fclose(f);
	snprintf(path, sizeof(path), "/proc/%ld/smaps_rollup", (long)pid);
	if ((f = fopen(path, "r"))) {
		while (fgets(line, sizeof(line), f))
			sscanf(line, "Pss: %ld kB", &r->pss);
		fclose(f);
	}
	return r->rss < 0 ? -1 : 0;
}

static int count_running(const bench_status_t *st)
{
	int n = 0;
	for (int i = 0; i < st->n; i++)
		n += bench_running(&st->svc[i]);
	return n;
}

static int run_supervisor(const char *sock, int want, rss_t *r)
{
	pl_ctl_client_t c;
	bench_status_t st;
	uint64_t deadline = bench_now_ns() + BENCH_TIMEOUT_MS * 1000000ull;

	if (bench_ctl_connect(&c, sock) < 0) {
		fprintf(stderr, "bench_rss: connect %s: %s\n", sock, strerror(errno));
		return -1;
	}
	int rc;
	while ((rc = bench_status(&c, &st)) == 0 && count_running(&st) < want &&
	       bench_now_ns() < deadline)
		bench_sleep_us(20000);
	pl_ctl_close(&c);
	if (rc < 0 || count_running(&st) < want) {
		fprintf(stderr, "bench_rss: %d of %d services running\n",
			rc < 0 ? 0 : count_running(&st), want);
		return -1;
	}
	/* Measure with no control client attached: a client's buffers are
	 * not part of the resting footprint. */
	bench_sleep_us(SETTLE_US);
	return read_rss((pid_t)st.sup_pid, r);
}

/* Asleep in pause() under the program's own image: exec and the dynamic
 * loader are done. */
static int idle_ready(pid_t pid, const char *want_exe)
{
	char path[64], exe[PATH_MAX], buf[512];
	snprintf(path, sizeof(path), "/proc/%ld/exe", (long)pid);
	ssize_t n = readlink(path, exe, sizeof(exe) - 1);
	if (n < 0)
		return 0;
	exe[n] = '\0';
	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	size_t len = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[len] = '\0';
	const char *p = strrchr(buf, ')');
	return strcmp(exe, want_exe) == 0 && p && p[1] == ' ' && p[2] == 'S';
}

static int run_idle(const char *prog, rss_t *r)
{
	char want[PATH_MAX];
	if (!realpath(prog, want))
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		char *argv[] = { (char *)prog, NULL };
		execv(prog, argv);
		_exit(127);
	}
	uint64_t deadline = bench_now_ns() + BENCH_TIMEOUT_MS * 1000000ull;
	while (!idle_ready(pid, want) && bench_now_ns() < deadline)
		bench_sleep_us(1000);
	bench_sleep_us(100000);
	int rc = idle_ready(pid, want) ? read_rss(pid, r) : -1;
	bench_kill_reap(pid);
	return rc;
}

int main(int argc, char **argv)
{
	rss_t r;
	int rc = -1;
	signal(SIGPIPE, SIG_IGN);
	if (argc == 4 && strcmp(argv[1], "supervisor") == 0)
		rc = run_supervisor(argv[2], atoi(argv[3]), &r);
	else if (argc == 3 && strcmp(argv[1], "idle") == 0)
		rc = run_idle(argv[2], &r);
	else
		fprintf(stderr, "usage: bench_rss supervisor CTL_SOCKET N\n"
				"       bench_rss idle PROGRAM\n");
	if (rc < 0) {
		fprintf(stderr, "bench_rss: %s failed\n", argc > 1 ? argv[1] : "?");
		return BENCH_EXIT_FAIL;
	}
	printf("%ld %ld %ld %ld\n", r.rss, r.anon, r.file, r.pss);
	return 0;
}
