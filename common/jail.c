/* The converter child: fork, confine, run the decoder, wait with a
 * deadline, say how it ended. See pl_jail.h for the contract and why fork
 * without exec is sound here. */
#include "pl_jail.h"
#include "sandbox-private.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pl_sandbox.h"
#include "pl_util.h"

#define JAIL_DEF_CPU_S 10
#define JAIL_DEF_AS (512ull << 20)
#define JAIL_DEF_FSIZE (256ull << 20)
#define JAIL_DEF_NOFILE 16
#define JAIL_DEF_WALL_MS 30000
#define JAIL_POLL_MS 10 /* waiting without a pidfd (Linux < 5.3) */

/* Everything the child needs, prepared by the parent before the fork so
 * the child allocates nothing before fn. */
typedef struct {
	pl_jail_limits_t lim;
	uint64_t as_total;
	int in_fd, out_fd;
	pid_t parent;
	int abi;
	const struct sock_filter *filter;
	int nfilter;
	int (*fn)(int in, int out, void *arg);
	void *arg;
} child_t;

/* ---- the child: system calls only until fn ---- */

__attribute__((noreturn)) static void child_die(const char *what)
{
	static const char pfx[] = "plsc jail: cannot set up the child: ";
	if (write(2, pfx, sizeof(pfx) - 1) >= 0 && write(2, what, strlen(what)) >= 0)
		(void)!write(2, "\n", 1);
	_exit(PL_JAIL_EXIT_SETUP);
}

/* in -> 0, out -> 1, 2 stays, everything else closed. */
static void child_fds(const child_t *c)
{
	int a = fcntl(c->in_fd, F_DUPFD, 3);
	int b = fcntl(c->out_fd, F_DUPFD, 3);
	if (a < 0 || b < 0 || dup2(a, 0) < 0 || dup2(b, 1) < 0)
		child_die("fds");
	if (syscall(SYS_close_range, 3u, ~0u, 0u) < 0) {
		struct rlimit r;
		rlim_t max = getrlimit(RLIMIT_NOFILE, &r) == 0 ? r.rlim_cur : 1024;
		for (rlim_t fd = 3; fd < max && fd < 65536; fd++)
			close((int)fd);
	}
}

static void child_signals(void)
{
	sigset_t none;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (int s = 1; s < NSIG; s++)
		(void)sigaction(s, &sa, NULL); /* SIGKILL, SIGSTOP: EINVAL */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

static void set_limit(int res, rlim_t soft, rlim_t hard, const char *name)
{
	struct rlimit r = { .rlim_cur = soft, .rlim_max = hard };
	if (setrlimit(res, &r) < 0)
		child_die(name);
}

static void child_limits(const child_t *c)
{
	set_limit(RLIMIT_CORE, 0, 0, "RLIMIT_CORE");
	/* SIGXCPU at the soft limit; SIGKILL at the hard one in case the
	 * decoder blocks or handles SIGXCPU. */
	set_limit(RLIMIT_CPU, c->lim.cpu_s, c->lim.cpu_s + 1, "RLIMIT_CPU");
	set_limit(RLIMIT_FSIZE, c->lim.fsize_bytes, c->lim.fsize_bytes, "RLIMIT_FSIZE");
	set_limit(RLIMIT_NOFILE, c->lim.nofile, c->lim.nofile, "RLIMIT_NOFILE");
	set_limit(RLIMIT_NPROC, 0, 0, "RLIMIT_NPROC");
	set_limit(RLIMIT_AS, c->as_total, c->as_total, "RLIMIT_AS");
}

static void child_confine(const child_t *c)
{
	/* Best effort: root may, a user may with a user namespace, a
	 * sandboxed service may not (its filter refuses unshare). The
	 * Landlock and seccomp layers below hold in every case. */
	if (unshare(CLONE_NEWNET) < 0)
		(void)unshare(CLONE_NEWUSER | CLONE_NEWNET);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		child_die("no_new_privs");
	if (c->abi > 0 && pl_sb_landlock_nothing(c->abi) < 0)
		child_die("Landlock");
	if (c->nfilter > 0 &&
	    pl_sb_filter_install((struct sock_filter *)c->filter, (size_t)c->nfilter, 0) < 0 &&
	    errno != ENOSYS && errno != EINVAL)
		child_die("seccomp");
}

__attribute__((noreturn)) static void child_run(const child_t *c)
{
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid() != c->parent)
		_exit(PL_JAIL_EXIT_SETUP); /* the parent is gone already */
	child_fds(c);
	child_signals();
	child_limits(c);
	child_confine(c);
	int rc = c->fn(0, 1, c->arg);
	_exit(rc < 0 || rc > 255 ? 1 : rc);
}

/* ---- the parent ---- */

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The address space a forked child starts with (VmSize). */
static uint64_t inherited_vm(void)
{
	char *s = pl_read_file("/proc/self/statm", 4096, NULL);
	unsigned long long pages = s ? strtoull(s, NULL, 10) : 0;
	free(s);
	return (uint64_t)pages * (uint64_t)sysconf(_SC_PAGESIZE);
}

static void resolve(const pl_jail_limits_t *in, pl_jail_limits_t *l)
{
	*l = in ? *in : (pl_jail_limits_t){ 0 };
	if (!l->cpu_s)
		l->cpu_s = JAIL_DEF_CPU_S;
	if (!l->as_bytes)
		l->as_bytes = JAIL_DEF_AS;
	if (!l->fsize_bytes)
		l->fsize_bytes = JAIL_DEF_FSIZE;
	if (!l->nofile)
		l->nofile = JAIL_DEF_NOFILE;
	if (!l->wall_ms)
		l->wall_ms = JAIL_DEF_WALL_MS;
}

/* Wait until the child ended (not reaped) or the deadline passed, then
 * kill it. The pid cannot be reused before we reap it. 1 = timed out. */
static int wait_deadline(pid_t pid, uint64_t deadline)
{
	int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	for (;;) {
		uint64_t now = now_ms();
		if (now >= deadline)
			break;
		if (pfd >= 0) {
			struct pollfd p = { .fd = pfd, .events = POLLIN };
			int r = poll(&p, 1, (int)(deadline - now));
			if (r > 0) {
				close(pfd);
				return 0;
			}
			if (r < 0 && errno != EINTR)
				break;
			continue;
		}
		siginfo_t si;
		memset(&si, 0, sizeof(si));
		if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
		    si.si_pid == pid)
			return 0;
		struct timespec ts = { 0, JAIL_POLL_MS * 1000000L };
		nanosleep(&ts, NULL);
	}
	if (pfd >= 0)
		close(pfd);
	kill(pid, SIGKILL);
	return 1;
}

static void set_end(pl_jail_result_t *r, pl_jail_end_t end, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_end(pl_jail_result_t *r, pl_jail_end_t end, const char *fmt, ...)
{
	va_list ap;
	r->end = end;
	va_start(ap, fmt);
	vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
	va_end(ap);
}

static void classify_signal(pl_jail_result_t *r, const pl_jail_limits_t *l)
{
	const char *abbrev = sigabbrev_np(r->signo);
	if (r->signo == SIGXCPU || (r->signo == SIGKILL && r->cpu_ms >= l->cpu_s * 1000ull))
		set_end(r, PL_JAIL_CPU, "CPU limit (%u s) exceeded", l->cpu_s);
	else if (r->signo == SIGXFSZ)
		set_end(r, PL_JAIL_OUTPUT, "output limit (%llu bytes) exceeded",
			(unsigned long long)l->fsize_bytes);
	else
		set_end(r, PL_JAIL_SIGNAL, "killed by signal %d (SIG%s)", r->signo,
			abbrev ? abbrev : "?");
}

static void classify(pl_jail_result_t *r, int status, int timed_out,
		     const pl_jail_limits_t *l)
{
	/* Our SIGKILL, unless the child ended on its own just before it. */
	if (timed_out && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) {
		r->signo = SIGKILL;
		set_end(r, PL_JAIL_TIMEOUT, "timeout: killed after %u ms", l->wall_ms);
	} else if (WIFSIGNALED(status)) {
		r->signo = WTERMSIG(status);
		classify_signal(r, l);
	} else if (!WIFEXITED(status)) {
		set_end(r, PL_JAIL_ERROR, "unexpected wait status %#x", (unsigned)status);
	} else if ((r->code = WEXITSTATUS(status)) == 0) {
		set_end(r, PL_JAIL_OK, "ok");
	} else if (r->code == PL_JAIL_EXIT_NOMEM) {
		set_end(r, PL_JAIL_MEMORY, "memory limit (%llu bytes) exceeded",
			(unsigned long long)l->as_bytes);
	} else if (r->code == PL_JAIL_EXIT_TOOBIG) {
		set_end(r, PL_JAIL_OUTPUT, "output limit (%llu bytes) exceeded",
			(unsigned long long)l->fsize_bytes);
	} else if (r->code == PL_JAIL_EXIT_SETUP) {
		set_end(r, PL_JAIL_ERROR, "the child could not be confined (its stderr says why)");
	} else {
		set_end(r, PL_JAIL_FAILED, "exit %d", r->code);
	}
}

int pl_jail_run(const pl_jail_limits_t *lim, int in_fd, int out_fd,
		int (*fn)(int in, int out, void *arg), void *arg,
		pl_jail_result_t *res)
{
	struct sock_filter filter[PL_SB_FILTER_MAX];
	child_t c = { .in_fd = in_fd, .out_fd = out_fd, .fn = fn, .arg = arg };
	int status = 0;
	struct rusage ru;

	memset(res, 0, sizeof(*res));
	if (!fn || in_fd < 0 || out_fd < 0) {
		set_end(res, PL_JAIL_ERROR, "no function or no descriptors to run it on");
		return -1;
	}
	resolve(lim, &c.lim);
	c.parent = getpid();
	c.abi = pl_sandbox_landlock_abi();
	c.nfilter = pl_sb_filter_build(filter, PL_ARRAY_LEN(filter), PL_SB_FILTER_JAIL);
	c.filter = filter;
	uint64_t base = inherited_vm();
	c.as_total = base > UINT64_MAX - c.lim.as_bytes ? RLIM_INFINITY : base + c.lim.as_bytes;
	uint64_t t0 = now_ms();
	pid_t pid = fork();
	if (pid < 0) {
		set_end(res, PL_JAIL_ERROR, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0)
		child_run(&c);
	int timed_out = wait_deadline(pid, t0 + c.lim.wall_ms);
	memset(&ru, 0, sizeof(ru));
	while (wait4(pid, &status, 0, &ru) < 0) {
		if (errno != EINTR) {
			set_end(res, PL_JAIL_ERROR, "wait: %s", strerror(errno));
			return -1;
		}
	}
	res->wall_ms = now_ms() - t0;
	res->cpu_ms = (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000 +
		      (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
	classify(res, status, timed_out, &c.lim);
	return res->end == PL_JAIL_OK ? 0 : -1;
}

const char *pl_jail_end_name(pl_jail_end_t end)
{
	static const char *const names[] = {
		[PL_JAIL_OK] = "ok",
		[PL_JAIL_FAILED] = "failed",
		[PL_JAIL_SIGNAL] = "crashed",
		[PL_JAIL_CPU] = "cpu limit",
		[PL_JAIL_MEMORY] = "memory limit",
		[PL_JAIL_OUTPUT] = "output limit",
		[PL_JAIL_TIMEOUT] = "timeout",
		[PL_JAIL_ERROR] = "error",
	};
	return (unsigned)end < PL_ARRAY_LEN(names) ? names[end] : "?";
}
