/* pl_jail: decode untrusted bytes (a mail attachment, AirPrint raster,
 * anything MuPDF opens) in a short-lived child that can harm nothing
 * (DESIGN.md §7). pl_jail_run forks; the child
 *   - keeps only in_fd (as fd 0), out_fd (as fd 1) and stderr (fd 2),
 *   - resets every signal to its default and unblocks them all (a worker
 *     thread's blocked mask must not swallow SIGXCPU or SIGXFSZ),
 *   - gets rlimits: RLIMIT_CPU (SIGXCPU at the limit, SIGKILL a second
 *     later), RLIMIT_AS (as_bytes more than the child inherited: see
 *     below), RLIMIT_FSIZE (SIGXFSZ: applies to regular files; a caller
 *     that gives a pipe bounds what it reads itself), RLIMIT_NOFILE small,
 *     RLIMIT_CORE 0, RLIMIT_NPROC 0 (effective for an unprivileged user;
 *     the filter below covers root),
 *   - leaves the network: unshare(CLONE_NEWNET) where allowed (as root;
 *     otherwise with CLONE_NEWUSER; a sandboxed service's own filter
 *     refuses unshare, so then only the next two layers hold),
 *   - PR_SET_NO_NEW_PRIVS, PR_SET_PDEATHSIG (SIGKILL),
 *   - Landlock allowing nothing: no path can be opened at all (the fds it
 *     was given keep working), no TCP bind/connect (ABI 4), no abstract
 *     Unix sockets or signals outside (ABI 6),
 *   - a seccomp filter: the service deny list (pl_sandbox.h), ptrace,
 *     socket() for any family but AF_UNIX, and fork (clone without
 *     CLONE_THREAD; decoders may still start threads),
 * then runs fn(0, 1, arg) and exits with its return value.
 *
 * The parent waits on a pidfd with the wall-clock limit, SIGKILLs the
 * child when it is over, reaps it, and says how it ended (pl_jail_result_t).
 *
 * Why fork without exec. The decoder is code of the service binary, handed
 * over as a function pointer; an exec'd helper would need its own binary
 * per decoder and a protocol to pass the arguments. fork is safe enough
 * here because the child runs only our code between fork and fn: system
 * calls on memory prepared before the fork (the BPF program is built by
 * the parent), nothing that takes a lock another thread may have held at
 * the fork. fn itself may use malloc: glibc's fork() takes every malloc
 * arena lock before forking and re-initialises them in the child (that is
 * glibc behaviour, not POSIX; this code targets glibc on Debian), so the
 * child's heap is consistent even when a worker thread of a busy service
 * forks. fn must NOT use what other threads may have locked at the fork:
 * stdio on shared FILEs, pl_log, the directory, the job store, OpenSSL
 * objects of the parent. A decoder creates its own state (e.g. its own
 * MuPDF context) from its input fd. The child also starts with the
 * parent's address space (copy-on-write), which is why RLIMIT_AS is set
 * relative to what the child inherited: a threaded service has hundreds of
 * MB of thread stacks reserved, and an absolute limit would either be
 * meaningless or fail the first allocation.
 *
 * Callable from a worker thread (pl_work): nothing here touches state of
 * the service; it blocks the calling thread until the child ended (at most
 * wall_ms plus the time to reap it). PR_SET_PDEATHSIG fires when the
 * forking *thread* exits, which is also right: that thread is the one
 * waiting for the child. */
#ifndef PL_JAIL_H
#define PL_JAIL_H

#include <stdint.h>

/* Exit codes fn returns to say why it failed; the result names them. */
#define PL_JAIL_EXIT_NOMEM 120  /* an allocation failed: the memory limit */
#define PL_JAIL_EXIT_TOOBIG 121 /* a write failed with EFBIG */
#define PL_JAIL_EXIT_SETUP 122  /* (the jail itself) the child could not be confined */

typedef struct {
	uint32_t cpu_s;       /* CPU seconds (0 = 10) */
	uint64_t as_bytes;    /* address space beyond the inherited (0 = 512 MiB) */
	uint64_t fsize_bytes; /* largest file the child may write (0 = 256 MiB) */
	uint32_t nofile;      /* open files (0 = 16) */
	uint32_t wall_ms;     /* wall-clock limit (0 = 30 s) */
} pl_jail_limits_t;

typedef enum {
	PL_JAIL_OK,      /* exit 0 */
	PL_JAIL_FAILED,  /* exit with another code (fn's own failure) */
	PL_JAIL_SIGNAL,  /* killed by a signal (a crash) */
	PL_JAIL_CPU,     /* CPU limit: SIGXCPU, or SIGKILL at the hard limit */
	PL_JAIL_MEMORY,  /* memory limit: PL_JAIL_EXIT_NOMEM */
	PL_JAIL_OUTPUT,  /* output size limit: SIGXFSZ or PL_JAIL_EXIT_TOOBIG */
	PL_JAIL_TIMEOUT, /* wall-clock limit: we killed it */
	PL_JAIL_ERROR,   /* could not fork, or could not confine the child */
} pl_jail_end_t;

typedef struct {
	pl_jail_end_t end;
	int code;      /* exit code (PL_JAIL_OK, _FAILED, _MEMORY, ...) */
	int signo;     /* the signal that ended it, 0 if none */
	uint64_t cpu_ms, wall_ms;
	char msg[160]; /* "CPU limit (2 s) exceeded", "exit 3", ... */
} pl_jail_result_t;

/* Run fn(in, out, arg) in a jailed child under lim (NULL = defaults).
 * 0 when the child exited 0; -1 otherwise, res says how it ended. fn's
 * in and out are the child's fd 0 and 1, duplicates of in_fd and out_fd
 * (which stay open in the caller). */
int pl_jail_run(const pl_jail_limits_t *lim, int in_fd, int out_fd,
		int (*fn)(int in, int out, void *arg), void *arg,
		pl_jail_result_t *res);
/* A name for end, for logs: "ok", "cpu limit", ... */
const char *pl_jail_end_name(pl_jail_end_t end);

#endif
