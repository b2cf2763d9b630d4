/* The optional external converter (issue 14: LibreOffice headless, off by
 * default). pl_jail forbids exec and every path, so a program such as
 * soffice cannot run in it; it runs in a separate, weaker confinement,
 * the same for every converter command:
 *   - its own empty directory (mkdtemp, 0700) holding only the input file
 *     "in.<ext>" (never the sender's file name); HOME and TMPDIR point
 *     there, so LibreOffice's profile is created there and removed with it;
 *   - a new process group, killed as a whole (SIGKILL) when the wall-clock
 *     limit is over and again once the converter has exited (no helper
 *     outlives it); PR_SET_PDEATHSIG;
 *   - stdin /dev/null, stdout and stderr into a pipe of which the first
 *     bytes are kept (for the skip reason), the rest read and dropped;
 *     every other descriptor closed;
 *   - rlimits: CPU (the timeout), AS (external_mem_mb: absolute, the
 *     exec'd program starts a fresh address space), FSIZE (the largest
 *     PDF accepted), NOFILE 256, CORE 0. NOT RLIMIT_NPROC: it counts every
 *     process of the user, and LibreOffice forks (oosplash, soffice.bin),
 *     so a bound low enough to matter would fail it in a one-user setup;
 *     the group kill bounds what it starts instead;
 *   - no network where allowed: unshare(CLONE_NEWNET), or with
 *     CLONE_NEWUSER when not root (a sandboxed service's filter refuses
 *     both: then only the next layer holds);
 *   - PR_SET_NO_NEW_PRIVS and pl_sandbox_restrict: Landlock with the
 *     system paths read-only, /usr /lib /lib64 /bin /sbin read and
 *     execute, the conversion directory read-write, no TCP bind or
 *     connect (ABI 4+; UDP and Unix sockets are not covered by Landlock);
 *     the service's seccomp deny list (no ptrace, mount, namespaces,
 *     setuid family, io_uring, ...).
 * What it does NOT get that pl_jail gives: exec and the system files are
 * allowed, UDP is not blocked, fork is allowed. The converter handles
 * hostile documents, so its output is never trusted: the PDF it writes
 * is read without following links, bounded, and then opened by MuPDF in
 * the normal pl_jail child like any PDF attachment. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mail-private.h"
#include "pl_sandbox.h"
#include "pl_util.h"

/* --- the conversion directory ------------------------------------------- */

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)f;
	if (flag == FTW_DP)
		(void)rmdir(path);
	else
		(void)unlink(path);
	return 0;
}

static void rm_tree(const char *dir)
{
	(void)nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

static int make_dir(const pl_mail_ext_t *e, char *dir, size_t dsz)
{
	const char *base = e->tmp_dir[0] ? e->tmp_dir : getenv("TMPDIR");
	if (!base || !base[0])
		base = "/tmp";
	if (pl_fmt(dir, dsz, "%s/plsc-ext-XXXXXX", base) < 0 || !mkdtemp(dir))
		return -1;
	return chmod(dir, 0700);
}

/* --- the child ---------------------------------------------------------- */

typedef struct {
	char *argv[PL_MAIL_EXT_ARGV_MAX + 1];
	char args[PL_MAIL_EXT_ARGV_MAX][1400];
	char *envp[6];
	char env[5][600];
	char dir[300];
	struct rlimit cpu, as, fsize;
	pid_t parent;
	int out; /* write end of the output pipe */
} child_t;

/* arg with {in}, {outdir} and {out} replaced, truncated to sz - 1. */
static void expand(const char *arg, const char *dir, const char *in, char *out, size_t sz)
{
	char pdf[320];
	snprintf(pdf, sizeof(pdf), "%s/in.pdf", dir);
	const struct {
		const char *key, *val;
	} rep[] = { { "{in}", in }, { "{outdir}", dir }, { "{out}", pdf } };
	size_t n = 0;
	while (*arg && n + 1 < sz) {
		size_t i = 0;
		while (i < PL_ARRAY_LEN(rep) && strncmp(arg, rep[i].key, strlen(rep[i].key)))
			i++;
		if (i == PL_ARRAY_LEN(rep)) {
			out[n++] = *arg++;
			continue;
		}
		for (const char *v = rep[i].val; *v && n + 1 < sz; v++)
			out[n++] = *v;
		arg += strlen(rep[i].key);
	}
	out[n] = 0;
}

static void setlim(int res, rlim_t v)
{
	struct rlimit r = { v, v };
	(void)setrlimit(res, &r);
}

/* The forked child: confine, exec. Exits 126 when it cannot. */
static void child_run(child_t *c)
{
	int null = open("/dev/null", O_RDONLY);
	if (null < 0 || dup2(null, 0) < 0 || dup2(c->out, 1) < 0 || dup2(c->out, 2) < 0)
		_exit(126);
	if (syscall(SYS_close_range, 3u, ~0u, 0u) < 0)
		for (int fd = 3; fd < 1024; fd++)
			(void)close(fd);
	sigset_t all;
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	for (int s = 1; s < NSIG; s++)
		(void)signal(s, SIG_DFL);
	if (setpgid(0, 0) < 0 || prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 ||
	    getppid() != c->parent)
		_exit(126);
	if (setrlimit(RLIMIT_CPU, &c->cpu) < 0 || setrlimit(RLIMIT_AS, &c->as) < 0 ||
	    setrlimit(RLIMIT_FSIZE, &c->fsize) < 0)
		_exit(126);
	setlim(RLIMIT_NOFILE, 256);
	setlim(RLIMIT_CORE, 0);
	if (unshare(CLONE_NEWNET) < 0)
		(void)unshare(CLONE_NEWUSER | CLONE_NEWNET);
	pl_sandbox_t sb;
	pl_sandbox_status_t st;
	memset(&st, 0, sizeof(st));
	pl_sandbox_init(&sb);
	sb.deny_tcp = 1;
	static const char *const rx[] = { "/usr", "/lib", "/lib64", "/bin", "/sbin" };
	for (size_t i = 0; i < PL_ARRAY_LEN(rx); i++)
		(void)pl_sandbox_allow(&sb, rx[i], PL_SANDBOX_RX);
	if (pl_sandbox_allow(&sb, c->dir, PL_SANDBOX_RW) < 0 || pl_sandbox_restrict(&sb, &st) < 0) {
		dprintf(2, "cannot confine the converter: %s\n", st.msg);
		_exit(126);
	}
	if (chdir(c->dir) < 0)
		_exit(126);
	execve(c->argv[0], c->argv, c->envp);
	dprintf(2, "exec %s: %s\n", c->argv[0], strerror(errno));
	_exit(127);
}

static void child_prepare(child_t *c, const pl_mail_ext_t *e, const char *dir, const char *in,
			  uint64_t max_pdf)
{
	memset(c, 0, sizeof(*c));
	pl_strlcpy(c->dir, dir, sizeof(c->dir));
	for (unsigned i = 0; i < e->argc && i < PL_MAIL_EXT_ARGV_MAX; i++) {
		expand(e->argv[i], dir, in, c->args[i], sizeof(c->args[i]));
		c->argv[i] = c->args[i];
	}
	snprintf(c->env[0], sizeof(c->env[0]), "HOME=%s", dir);
	snprintf(c->env[1], sizeof(c->env[1]), "TMPDIR=%s", dir);
	snprintf(c->env[2], sizeof(c->env[2]), "PATH=/usr/bin:/bin");
	snprintf(c->env[3], sizeof(c->env[3]), "LANG=C.UTF-8");
	snprintf(c->env[4], sizeof(c->env[4]), "SAL_USE_VCLPLUGIN=svp");
	for (int i = 0; i < 5; i++)
		c->envp[i] = c->env[i];
	rlim_t t = e->timeout_s ? e->timeout_s : 60;
	c->cpu = (struct rlimit){ t, t + 1 };
	rlim_t m = e->mem_bytes ? e->mem_bytes : (2ull << 30);
	c->as = (struct rlimit){ m, m };
	c->fsize = (struct rlimit){ max_pdf, max_pdf };
	c->parent = getpid();
}

/* --- the parent --------------------------------------------------------- */

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Read the converter's output until it closes (every process of the group
 * holding the pipe ended) or the deadline; keep the first logsz - 1
 * bytes. 1 at the deadline. */
static int drain(int fd, uint64_t deadline, char *log, size_t logsz)
{
	size_t n = 0;
	char junk[4096];
	for (;;) {
		uint64_t t = now_ms();
		if (t >= deadline)
			return 1;
		struct pollfd p = { fd, POLLIN, 0 };
		int r = poll(&p, 1, (int)(deadline - t > 1000 ? 1000 : deadline - t));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			continue;
		ssize_t k = read(fd, junk, sizeof(junk));
		if (k < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (k <= 0)
			return 0;
		if (log && n + 1 < logsz) {
			size_t c = (size_t)k < logsz - 1 - n ? (size_t)k : logsz - 1 - n;
			memcpy(log + n, junk, c);
			n += c;
			log[n] = 0;
		}
	}
}

static void printable(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 32 || *s == 127)
			*s = ' ';
}

/* Run the converter; 0 when it exited 0 in time, else -1 with why. */
static int convert(const pl_mail_ext_t *e, const char *dir, const char *in, uint64_t max_pdf,
		   char *why, size_t whysz, char *log, size_t logsz)
{
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return pl_fmt(why, whysz, "pipe: %s", strerror(errno)), -1;
	child_t *c = malloc(sizeof(*c));
	if (!c) {
		close(pfd[0]);
		close(pfd[1]);
		return pl_fmt(why, whysz, "out of memory"), -1;
	}
	child_prepare(c, e, dir, in, max_pdf);
	c->out = pfd[1];
	uint64_t start = now_ms(), limit = (uint64_t)(e->timeout_s ? e->timeout_s : 60) * 1000;
	pid_t pid = fork();
	if (pid == 0)
		child_run(c);
	close(pfd[1]);
	free(c);
	if (pid < 0) {
		close(pfd[0]);
		return pl_fmt(why, whysz, "fork: %s", strerror(errno)), -1;
	}
	int late = drain(pfd[0], start + limit, log, logsz);
	close(pfd[0]);
	int status = 0;
	if (late)
		(void)kill(-pid, SIGKILL), (void)kill(pid, SIGKILL);
	/* The pipe may close before the leader exits: wait for it, with the
	 * deadline (it may have closed its output and kept running). */
	while (!late && waitpid(pid, &status, WNOHANG) == 0) {
		if (now_ms() >= start + limit) {
			late = 1;
			(void)kill(-pid, SIGKILL);
			(void)kill(pid, SIGKILL);
			break;
		}
		struct timespec ts = { 0, 10 * 1000000 };
		nanosleep(&ts, NULL);
	}
	if (late)
		(void)waitpid(pid, &status, 0);
	(void)kill(-pid, SIGKILL); /* whatever it left behind */
	if (log)
		printable(log);
	if (late)
		return pl_fmt(why, whysz, "external converter: time limit (%u s) exceeded",
			      e->timeout_s ? e->timeout_s : 60), -1;
	if (WIFSIGNALED(status))
		return pl_fmt(why, whysz, "external converter: killed by signal %d%s",
			      WTERMSIG(status), WTERMSIG(status) == SIGXCPU ? " (CPU limit)" : ""), -1;
	if (WEXITSTATUS(status) != 0)
		return pl_fmt(why, whysz, "external converter: exit %d: %.80s", WEXITSTATUS(status),
			      log ? log : ""), -1;
	return 0;
}

/* The PDF the converter left: a regular file (no link followed), at most
 * max bytes, starting with %PDF-. */
static int take_pdf(const char *dir, uint64_t max, uint8_t **pdf, size_t *len, char *why,
		    size_t whysz)
{
	char path[320];
	pl_fmt(path, sizeof(path), "%s/in.pdf", dir);
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	if (fd < 0)
		return pl_fmt(why, whysz, "external converter wrote no PDF"), -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > max ||
	    st.st_size < 5) {
		close(fd);
		return pl_fmt(why, whysz, "external converter's output is not a usable file"), -1;
	}
	uint8_t *b = malloc((size_t)st.st_size);
	ssize_t k = b ? pread(fd, b, (size_t)st.st_size, 0) : -1;
	close(fd);
	if (k != st.st_size || memcmp(b, "%PDF-", 5)) {
		free(b);
		return pl_fmt(why, whysz, "external converter's output is not a PDF"), -1;
	}
	*pdf = b;
	*len = (size_t)st.st_size;
	return 0;
}

int pl_mail_ext_run(const pl_mail_ext_t *e, const uint8_t *data, size_t len, const char *ext,
		    uint64_t max_pdf, uint8_t **pdf, size_t *pdf_len, char *why, size_t whysz,
		    char *log, size_t logsz)
{
	char dir[300], in[320];
	*pdf = NULL;
	*pdf_len = 0;
	if (log && logsz)
		log[0] = 0;
	if (!e->argc || e->argv[0][0] != '/')
		return pl_fmt(why, whysz, "external converter not configured"), -1;
	if (make_dir(e, dir, sizeof(dir)) < 0)
		return pl_fmt(why, whysz, "external converter: temp dir: %s", strerror(errno)), -1;
	pl_fmt(in, sizeof(in), "%s/in.%s", dir, ext);
	int rc = -1;
	int fd = open(in, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || pl_write_all(fd, data, len) < 0) {
		pl_fmt(why, whysz, "external converter: input file: %s", strerror(errno));
	} else {
		close(fd);
		fd = -1;
		if (convert(e, dir, in, max_pdf, why, whysz, log, logsz) == 0)
			rc = take_pdf(dir, max_pdf, pdf, pdf_len, why, whysz);
	}
	if (fd >= 0)
		close(fd);
	rm_tree(dir);
	return rc;
}
