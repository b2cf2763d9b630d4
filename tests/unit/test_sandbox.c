/* pl_jail and pl_sandbox, for real: every limit is hit by a child that
 * really exceeds it, every denial by a call that really tries. The
 * restrict-self tests run in a forked child (restricting is for good), which
 * reports a failed check by its exit code and a line on stderr. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pl_jail.h"
#include "pl_sandbox.h"
#include "pl_util.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

/* The memory-limit test needs a failed allocation to return NULL, as in
 * a normal build, rather than end the child with an ASan report. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "allocator_may_return_null=1";
}

static char dir[64]; /* this run's scratch directory under /tmp */

static int setup(void **state)
{
	(void)state;
	pl_strlcpy(dir, "/tmp/plsc-sandbox.XXXXXX", sizeof(dir));
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static int scratch(const char *name, const char *content)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	if (content)
		assert_int_equal(pl_write_all(fd, content, strlen(content)), 0);
	lseek(fd, 0, SEEK_SET);
	return fd;
}

static void run(const pl_jail_limits_t *lim, int (*fn)(int, int, void *), void *arg,
		pl_jail_result_t *r)
{
	int in = scratch("in", "hello, jail\n"), out = scratch("out", NULL);
	pl_jail_run(lim, in, out, fn, arg, r);
	printf("# %s: %s (cpu %llu ms, wall %llu ms)\n", pl_jail_end_name(r->end), r->msg,
	       (unsigned long long)r->cpu_ms, (unsigned long long)r->wall_ms);
	close(in);
	close(out);
}

/* ---- (a) the decoder works ---- */

static int fn_copy(int in, int out, void *arg)
{
	char buf[4096];
	ssize_t n;
	(void)arg;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (pl_write_all(out, buf, (size_t)n) < 0)
			return 2;
	/* Only 0, 1 and 2 are open. */
	return n < 0 || fcntl(3, F_GETFD) != -1 ? 3 : 0;
}

static void test_copy(void **state)
{
	pl_jail_result_t r;
	(void)state;
	int in = scratch("in", "hello, jail\n"), out = scratch("out", NULL);
	int extra = scratch("extra", "an fd the child must not see");
	assert_int_equal(pl_jail_run(NULL, in, out, fn_copy, NULL, &r), 0);
	assert_int_equal(r.end, PL_JAIL_OK);
	char got[64] = "";
	assert_int_equal(pread(out, got, sizeof(got) - 1, 0), 12);
	assert_string_equal(got, "hello, jail\n");
	close(in);
	close(out);
	close(extra);
}

/* ---- (b) no network ---- */

static int fn_net(int in, int out, void *arg)
{
	const struct sockaddr_in *sa = arg;
	int sv[2];
	(void)in;
	(void)out;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		return 2; /* AF_UNIX stays usable */
	int s = socket(AF_INET, SOCK_STREAM, 0);
	if (s >= 0 && connect(s, (const struct sockaddr *)sa, sizeof(*sa)) == 0)
		return 3; /* reached the parent's listener */
	if (socket(AF_INET6, SOCK_DGRAM, 0) >= 0 || socket(AF_NETLINK, SOCK_RAW, 0) >= 0)
		return 4;
	return s < 0 && errno == EPERM ? 0 : 5;
}

static void test_no_network(void **state)
{
	pl_jail_result_t r;
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	(void)state;
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(l, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(l, 4), 0);
	getsockname(l, (struct sockaddr *)&sa, &len);
	run(NULL, fn_net, &sa, &r);
	assert_int_equal(r.end, PL_JAIL_OK);
	close(l);
}

/* ---- (c) no file system ---- */

static int fn_files(int in, int out, void *arg)
{
	char path[256];
	(void)in;
	(void)out;
	if (open("/etc/passwd", O_RDONLY) >= 0 || errno != EACCES)
		return 2;
	snprintf(path, sizeof(path), "%s/secret", (const char *)arg);
	if (open(path, O_RDONLY) >= 0 || errno != EACCES)
		return 3;
	snprintf(path, sizeof(path), "%s/created", (const char *)arg);
	if (open(path, O_WRONLY | O_CREAT, 0600) >= 0 || errno != EACCES)
		return 4;
	return 0;
}

static void test_no_files(void **state)
{
	pl_jail_result_t r;
	(void)state;
	if (pl_sandbox_landlock_abi() == 0) {
		printf("# no Landlock in this kernel: the jail cannot deny paths\n");
		skip();
	}
	close(scratch("secret", "key material"));
	run(NULL, fn_files, dir, &r);
	assert_int_equal(r.end, PL_JAIL_OK);
}

/* ---- (d) memory ---- */

/* Kept where the compiler cannot see them unused (clang elides a malloc
 * nobody reads). */
static char *volatile kept[64];

static int fn_mem(int in, int out, void *arg)
{
	size_t chunk = 16u << 20;
	(void)in;
	(void)out;
	(void)arg;
	for (int i = 0; i < 64; i++) { /* 1 GiB in all */
		char *p = malloc(chunk);
		if (!p)
			return PL_JAIL_EXIT_NOMEM;
		memset(p, i, chunk);
		kept[i] = p;
	}
	return 0;
}

static void test_memory_limit(void **state)
{
	pl_jail_limits_t lim = { .as_bytes = 64u << 20 };
	pl_jail_result_t r;
	(void)state;
	run(&lim, fn_mem, NULL, &r);
	assert_int_equal(r.end, PL_JAIL_MEMORY);
	assert_non_null(strstr(r.msg, "memory limit"));
}

/* ---- (e) CPU ---- */

static int fn_spin(int in, int out, void *arg)
{
	volatile unsigned long x = 0;
	(void)in;
	(void)out;
	(void)arg;
	for (;;)
		x++;
	return 0;
}

static void test_cpu_limit(void **state)
{
	pl_jail_limits_t lim = { .cpu_s = 1, .wall_ms = 20000 };
	pl_jail_result_t r;
	(void)state;
	run(&lim, fn_spin, NULL, &r);
	assert_int_equal(r.end, PL_JAIL_CPU);
	assert_non_null(strstr(r.msg, "CPU limit"));
	assert_true(r.cpu_ms >= 500);
}

/* ---- (f) output size ---- */

static int fn_big(int in, int out, void *arg)
{
	static char block[64 * 1024];
	(void)in;
	(void)arg;
	memset(block, 'x', sizeof(block));
	for (int i = 0; i < 64; i++)
		if (pl_write_all(out, block, sizeof(block)) < 0)
			return errno == EFBIG ? PL_JAIL_EXIT_TOOBIG : 2;
	return 0;
}

static void test_output_limit(void **state)
{
	pl_jail_limits_t lim = { .fsize_bytes = 256u << 10 };
	pl_jail_result_t r;
	(void)state;
	run(&lim, fn_big, NULL, &r);
	assert_int_equal(r.end, PL_JAIL_OUTPUT);
	assert_non_null(strstr(r.msg, "output limit"));
	struct stat st;
	char path[256];
	snprintf(path, sizeof(path), "%s/out", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_true(st.st_size <= 256 << 10);
}

/* ---- (g) wall clock ---- */

static int fn_sleep(int in, int out, void *arg)
{
	(void)in;
	(void)out;
	(void)arg;
	sleep(30);
	return 0;
}

static void test_timeout(void **state)
{
	pl_jail_limits_t lim = { .wall_ms = 300 };
	pl_jail_result_t r;
	(void)state;
	run(&lim, fn_sleep, NULL, &r);
	assert_int_equal(r.end, PL_JAIL_TIMEOUT);
	assert_non_null(strstr(r.msg, "timeout"));
	assert_true(r.wall_ms >= 300 && r.wall_ms < 5000);
}

/* ---- (h) the kernel's attack surface ---- */

static int fn_priv(int in, int out, void *arg)
{
	(void)in;
	(void)out;
	(void)arg;
	if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) == 0 || errno != EPERM)
		return 2;
	if (mount("none", "/mnt", "tmpfs", 0, NULL) == 0 || errno != EPERM)
		return 3;
	if (unshare(CLONE_NEWUSER) == 0 || errno != EPERM)
		return 4;
	pid_t pid = fork();
	if (pid == 0)
		_exit(0);
	if (pid > 0 || (errno != EPERM && errno != EAGAIN))
		return 5;
	return 0;
}

static void test_privileged_calls(void **state)
{
	pl_jail_result_t r;
	(void)state;
	run(NULL, fn_priv, NULL, &r);
	assert_int_equal(r.end, PL_JAIL_OK);
}

/* A crash is a crash, with its signal named. */
static int fn_crash(int in, int out, void *arg)
{
	(void)in;
	(void)out;
	(void)arg;
	abort();
}

static void test_crash_and_exit(void **state)
{
	pl_jail_result_t r;
	(void)state;
	run(NULL, fn_crash, NULL, &r);
	assert_int_equal(r.end, PL_JAIL_SIGNAL);
	assert_non_null(strstr(r.msg, "SIGABRT"));
}

/* ---- from a worker thread of a busy, threaded process ---- */

static volatile int churning;

static void *churn(void *arg)
{
	(void)arg;
	while (churning) {
		void *p = malloc(1000 + (size_t)(rand() % 100000));
		free(p);
	}
	return NULL;
}

static int fn_alloc_copy(int in, int out, void *arg)
{
	/* malloc in the child while the parent's other threads held arena
	 * locks at the fork: glibc's fork makes that safe. */
	for (int i = 0; i < 1000; i++)
		free(malloc(100 + (size_t)i * 37));
	return fn_copy(in, out, arg);
}

static void *jail_thread(void *arg)
{
	int *fails = arg;
	for (int i = 0; i < 20; i++) {
		pl_jail_result_t r;
		int in = scratch("tin", "from a thread\n"), out = scratch("tout", NULL);
		if (pl_jail_run(NULL, in, out, fn_alloc_copy, NULL, &r) != 0)
			(*fails)++;
		close(in);
		close(out);
	}
	return NULL;
}

static void test_from_threads(void **state)
{
	pthread_t ch[3], jt;
	int fails = 0;
	(void)state;
	churning = 1;
	for (int i = 0; i < 3; i++)
		assert_int_equal(pthread_create(&ch[i], NULL, churn, NULL), 0);
	assert_int_equal(pthread_create(&jt, NULL, jail_thread, &fails), 0);
	pthread_join(jt, NULL);
	churning = 0;
	for (int i = 0; i < 3; i++)
		pthread_join(ch[i], NULL);
	assert_int_equal(fails, 0);
}

/* ---- pl_sandbox_restrict, in a child ---- */

#define CHECK(cond, code)                                                     \
	do {                                                                  \
		if (!(cond)) {                                                \
			fprintf(stderr, "restrict-self check failed: %s (%s)\n", #cond, \
				strerror(errno));                             \
			_exit(code);                                          \
		}                                                             \
	} while (0)

static int has_line(const char *text, const char *line)
{
	return text && strstr(text, line) != NULL;
}

static void restricted_child(int abi)
{
	pl_sandbox_t sb;
	pl_sandbox_status_t st;
	char allowed[128], path[256];
	snprintf(allowed, sizeof(allowed), "%s/allowed", dir);
	pl_sandbox_init(&sb);
	CHECK(pl_sandbox_allow(&sb, allowed, PL_SANDBOX_RW) == 0, 10);
	CHECK(pl_sandbox_restrict(&sb, &st) == 0, 11);
	fprintf(stderr, "# %s\n", st.msg);
	snprintf(path, sizeof(path), "%s/new", allowed);
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	CHECK(fd >= 0 && write(fd, "ok", 2) == 2, 12);
	close(fd);
	CHECK(unlink(path) == 0, 13);
	CHECK((fd = open("/etc/passwd", O_RDONLY | O_CLOEXEC)) >= 0, 14);
	close(fd);
	if (abi > 0) {
		snprintf(path, sizeof(path), "%s/outside", dir);
		CHECK(open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600) < 0 && errno == EACCES, 15);
		snprintf(path, sizeof(path), "%s/secret", dir);
		CHECK(open(path, O_RDONLY | O_CLOEXEC) < 0 && errno == EACCES, 16);
		CHECK(mkdir("/tmp/plsc-sandbox-escape", 0700) < 0 && errno == EACCES, 17);
	}
	char *status = pl_read_file("/proc/self/status", 1u << 16, NULL);
	CHECK(has_line(status, "NoNewPrivs:\t1\n"), 18);
	CHECK(has_line(status, "Seccomp:\t2\n"), 19);
	free(status);
	if (!UNDER_ASAN) /* LeakSanitizer needs ptrace: see pl_sandbox.h */
		CHECK(ptrace(PTRACE_TRACEME, 0, NULL, NULL) < 0 && errno == EPERM, 20);
	CHECK(unshare(CLONE_NEWUSER) < 0 && errno == EPERM, 21);
	CHECK(setuid(0) < 0 && errno == EPERM, 22);
	/* A sandboxed service can still jail a decoder (fork, pidfd, its
	 * own stricter filter and Landlock domain stack on top). */
	pl_jail_result_t r;
	snprintf(path, sizeof(path), "%s/jin", allowed);
	int in = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	snprintf(path, sizeof(path), "%s/jout", allowed);
	int out = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	CHECK(in >= 0 && out >= 0 && write(in, "x\n", 2) == 2 && lseek(in, 0, SEEK_SET) == 0, 23);
	CHECK(pl_jail_run(NULL, in, out, fn_copy, NULL, &r) == 0, 24);
	CHECK(pread(out, path, 2, 0) == 2, 25);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(9) };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK(pl_jail_run(NULL, in, out, fn_net, &sa, &r) == 0, 26);
	/* Landlock's signal scope lets it kill its own (nested) jail. */
	pl_jail_limits_t lim = { .wall_ms = 200 };
	CHECK(pl_jail_run(&lim, in, out, fn_sleep, NULL, &r) < 0 && r.end == PL_JAIL_TIMEOUT &&
		      r.wall_ms < 5000, 27);
	_exit(0);
}

static void test_restrict_self(void **state)
{
	char allowed[128];
	int status;
	(void)state;
	snprintf(allowed, sizeof(allowed), "%s/allowed", dir);
	mkdir(allowed, 0700);
	close(scratch("secret", "key material"));
	int abi = pl_sandbox_landlock_abi();
	if (abi == 0)
		printf("# no Landlock in this kernel: only seccomp and no_new_privs checked\n");
	fflush(stdout);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		restricted_child(abi);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	/* The parent is not restricted by its child's sandbox. */
	char path[256];
	snprintf(path, sizeof(path), "%s/outside", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
}

/* The documented fallback, on this kernel: a filter makes the Landlock
 * and seccomp system calls fail with ENOSYS, as on a kernel without them;
 * restricting then succeeds with what is left and says what is missing. */
static void fallback_child(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_landlock_create_ruleset, 2, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_seccomp, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
	};
	struct sock_fprog prog = { .len = PL_ARRAY_LEN(f), .filter = f };
	pl_sandbox_t sb;
	pl_sandbox_status_t st;
	CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0, 30);
	CHECK(syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) == 0, 31);
	CHECK(pl_sandbox_landlock_abi() == 0, 32);
	pl_sandbox_init(&sb);
	CHECK(pl_sandbox_restrict(&sb, &st) == 0, 33);
	fprintf(stderr, "# %s\n", st.msg);
	CHECK(st.no_new_privs == 1 && st.landlock_abi == 0 && st.seccomp == 0, 34);
	CHECK(strstr(st.msg, "no Landlock in this kernel") != NULL, 35);
	CHECK(strstr(st.msg, "no seccomp filters in this kernel") != NULL, 36);
	/* The jail runs too, with what is left (rlimits, no network
	 * namespace when allowed, the timeout). */
	pl_jail_limits_t lim = { .wall_ms = 200 };
	pl_jail_result_t r;
	CHECK(pl_jail_run(&lim, 0, 2, fn_sleep, NULL, &r) < 0 && r.end == PL_JAIL_TIMEOUT, 37);
	_exit(0);
}

static void test_fallback_without_landlock_or_seccomp(void **state)
{
	int status;
	(void)state;
	fflush(stdout);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		fallback_child();
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_allow_bounds(void **state)
{
	pl_sandbox_t sb;
	char longp[PL_SANDBOX_PATH_MAX + 8], p[32];
	(void)state;
	pl_sandbox_init(&sb);
	size_t base = sb.n;
	memset(longp, 'a', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = '\0';
	assert_int_equal(pl_sandbox_allow(&sb, longp, PL_SANDBOX_RO), -1);
	assert_int_equal(errno, ENAMETOOLONG);
	assert_int_equal(pl_sandbox_allow(&sb, "/etc", PL_SANDBOX_RW), 0);
	assert_int_equal(sb.n, base); /* replaced, not added */
	int rc = 0;
	for (int i = 0; rc == 0 && i < PL_SANDBOX_MAX_RULES; i++) {
		snprintf(p, sizeof(p), "/x%d", i);
		rc = pl_sandbox_allow(&sb, p, PL_SANDBOX_RO);
	}
	assert_int_equal(rc, -1);
	assert_int_equal(errno, ENOSPC);
	assert_int_equal(sb.n, PL_SANDBOX_MAX_RULES);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_copy),
		cmocka_unit_test(test_no_network),
		cmocka_unit_test(test_no_files),
		cmocka_unit_test(test_memory_limit),
		cmocka_unit_test(test_cpu_limit),
		cmocka_unit_test(test_output_limit),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_privileged_calls),
		cmocka_unit_test(test_crash_and_exit),
		cmocka_unit_test(test_from_threads),
		cmocka_unit_test(test_restrict_self),
		cmocka_unit_test(test_fallback_without_landlock_or_seccomp),
		cmocka_unit_test(test_allow_bounds),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
