/* pl_sandbox: a service restricts itself once it knows what it needs
 * (DESIGN.md §7: assume any service that parses network input can be
 * compromised, and make that harmless).
 *
 * pl_sandbox_restrict applies, in this order:
 *   1. PR_SET_NO_NEW_PRIVS: no exec can ever gain privileges again (and
 *      seccomp and Landlock both require it of an unprivileged process).
 *   2. Landlock, when the kernel offers it: the file system becomes
 *      deny-by-default; only the paths added with pl_sandbox_allow stay
 *      reachable, each read-only, read-write, or "files only" (read, write,
 *      create and delete regular files, no new directories: what an SQLite
 *      database in WAL mode needs of its directory). pl_sandbox_init adds the
 *      system paths every service needs read-only (PL_SANDBOX_SYSTEM_RO).
 *      Landlock here restricts the file system (and, ABI 6+, signals to
 *      processes outside the sandbox); sockets stay usable: services print
 *      over the network.
 *   3. A seccomp-BPF filter (TSYNC: every thread) that fails with EPERM the
 *      system calls a print service never needs: ptrace and
 *      process_vm_*, mount and the new mount API, chroot, pivot_root,
 *      module loading, kexec, bpf, perf_event_open, the key rings,
 *      unshare, setns and clone() into new namespaces, reboot, swap,
 *      acct, personality, userfaultfd, *_by_handle_at, iopl/ioperm,
 *      quotactl, setting the clock, the setuid family, io_uring (its
 *      operations bypass seccomp), and every call of another ABI (x32,
 *      i386 via int 0x80). EPERM rather than a kill: libraries probe some
 *      of these and cope with a refusal. clone3 fails with ENOSYS, which
 *      makes glibc fall back to clone(), whose flags the filter can see.
 *
 * Fallback (documented in README "Sandboxing"): where the kernel has no
 * Landlock (ENOSYS, or EOPNOTSUPP when built in but disabled at boot) or
 * no seccomp filter mode, that layer is skipped and the status says so in
 * one notice; the service runs with what remains. Any other failure (a
 * path that cannot be added, a filter the kernel rejects) is an error:
 * a sandbox that half-applied is not one.
 *
 * Threads: Landlock binds the calling thread and the threads and children
 * it creates afterwards, never threads that already run (ABI < 8 has no
 * way to do so). So restrict before starting worker threads: the service
 * runtime calls this right before the service's start() (pl_service.h),
 * whose worker pools, libmicrohttpd threads and jail children inherit it.
 * no_new_privs and the seccomp filter do reach threads already running
 * (SECCOMP_FILTER_FLAG_TSYNC); the status counts threads found running.
 *
 * Sanitizer builds: LeakSanitizer stops the world with ptrace at exit, so
 * under AddressSanitizer the service filter leaves ptrace allowed (the
 * jail's filter never does). */
#ifndef PL_SANDBOX_H
#define PL_SANDBOX_H

#include <stddef.h>

#define PL_SANDBOX_MAX_RULES 40
#define PL_SANDBOX_PATH_MAX 512

typedef enum {
	PL_SANDBOX_RO,       /* read files, list directories */
	PL_SANDBOX_RW,       /* anything below: files, directories, renames */
	PL_SANDBOX_RW_FILES, /* read, write, create, delete regular files */
	PL_SANDBOX_RX,       /* read and execute (programs and their libraries: only
	                      * the Email service's external converter needs it) */
} pl_sandbox_access_t;

/* The system paths every service reads (read-only): shared libraries,
 * /etc (NSS: passwd, hosts, nsswitch.conf, resolv.conf, gai.conf; OpenSSL:
 * /etc/ssl; libcups: /etc/cups), /usr (tzdata, /usr/lib/ssl), its own
 * /proc/self, /dev/urandom, the CPU list glibc reads for its arena count,
 * /run/cups (libcups' local socket). /dev/null is read-write. A path that
 * does not exist on this system is skipped. */
#define PL_SANDBOX_SYSTEM_RO                                                  \
	"/usr", "/lib", "/lib64", "/lib32", "/libx32", "/etc", "/proc/self",  \
		"/dev/urandom", "/dev/random", "/sys/devices/system/cpu",     \
		"/run/cups"

typedef struct {
	struct {
		char path[PL_SANDBOX_PATH_MAX];
		pl_sandbox_access_t access;
	} rule[PL_SANDBOX_MAX_RULES];
	size_t n;
	int deny_tcp; /* 1: no TCP bind or connect either (Landlock ABI 4+);
	               * pl_sandbox_init sets 0: services print over TCP */
} pl_sandbox_t;

/* What pl_sandbox_restrict put in force. */
typedef struct {
	int no_new_privs;  /* 1 when set */
	int seccomp;       /* 1 when the filter is installed */
	int landlock_abi;  /* the ABI used, 0 when the kernel has none */
	int threads;       /* threads running when it was applied */
	char msg[512];     /* one line for the log: what is in force, or why not */
} pl_sandbox_status_t;

/* An empty description holding the system paths (PL_SANDBOX_SYSTEM_RO). */
void pl_sandbox_init(pl_sandbox_t *sb);
/* Allow path (a directory: everything below; a file: that file). Adding
 * the same path again replaces its access. 0, or -1 (ENAMETOOLONG, or
 * ENOSPC when PL_SANDBOX_MAX_RULES are used). */
int pl_sandbox_allow(pl_sandbox_t *sb, const char *path, pl_sandbox_access_t a);
/* The highest Landlock ABI the kernel offers; 0 when it has none. */
int pl_sandbox_landlock_abi(void);
/* Restrict the calling process as described above. 0 when everything the
 * kernel offers is in force (st->msg says what, and which layers the
 * kernel lacks); -1 on an error (st->msg says which). */
int pl_sandbox_restrict(const pl_sandbox_t *sb, pl_sandbox_status_t *st);

#endif
