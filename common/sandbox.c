/* Self-restriction of a service: no_new_privs, Landlock, a seccomp deny
 * list. See pl_sandbox.h for the contract and sandbox-private.h for the
 * pieces pl_jail shares. The filter and the Landlock rules are written by
 * hand against the kernel headers: a page of BPF does not justify a
 * dependency (libseccomp), and Debian 12 has no liblandlock. */
#include "pl_sandbox.h"
#include "sandbox-private.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/landlock.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "pl_util.h"

/* ---- architecture ---- */

#if defined(__x86_64__) && !defined(__ILP32__)
#define SB_ARCH AUDIT_ARCH_X86_64
#define SB_X32_BIT 0x40000000u /* x32 calls share the arch, not the numbers */
#elif defined(__aarch64__)
#define SB_ARCH AUDIT_ARCH_AARCH64
#endif

#if defined(__SANITIZE_ADDRESS__)
#define SB_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SB_UNDER_ASAN 1
#endif
#endif
#ifndef SB_UNDER_ASAN
#define SB_UNDER_ASAN 0
#endif

/* ---- Landlock constants newer than Debian 12's headers ---- */

#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14) /* ABI 3 */
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15) /* ABI 5 */
#endif
#define SB_LL_NET_BIND_TCP (1ULL << 0)          /* ABI 4 */
#define SB_LL_NET_CONNECT_TCP (1ULL << 1)       /* ABI 4 */
#define SB_LL_SCOPE_ABSTRACT_UNIX (1ULL << 0)   /* ABI 6 */
#define SB_LL_SCOPE_SIGNAL (1ULL << 1)          /* ABI 6 */

/* The attribute as ABI 6 knows it; older kernels get a shorter size. */
struct sb_ll_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;
	uint64_t scoped;
};

#define LL_RO (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR)
#define LL_RX (LL_RO | LANDLOCK_ACCESS_FS_EXECUTE)
#define LL_RW_FILES                                                           \
	(LL_RO | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_TRUNCATE |  \
	 LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_REMOVE_FILE)
#define LL_RW                                                                 \
	(LL_RW_FILES | LANDLOCK_ACCESS_FS_MAKE_DIR |                           \
	 LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REFER)
/* The rights a rule on a non-directory may carry. */
#define LL_FILE_RIGHTS                                                        \
	(LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE |           \
	 LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_TRUNCATE |           \
	 LANDLOCK_ACCESS_FS_IOCTL_DEV)

/* ---- raw Landlock calls ---- */

int pl_sb_ll_create(const void *attr, size_t size, uint32_t flags)
{
	return (int)syscall(SYS_landlock_create_ruleset, attr, size, flags);
}

int pl_sb_ll_add_rule(int ruleset, int type, const void *attr)
{
	return (int)syscall(SYS_landlock_add_rule, ruleset, type, attr, 0);
}

int pl_sb_ll_restrict(int ruleset)
{
	return (int)syscall(SYS_landlock_restrict_self, ruleset, 0);
}

int pl_sandbox_landlock_abi(void)
{
	int abi = pl_sb_ll_create(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	return abi < 0 ? 0 : abi;
}

uint64_t pl_sb_fs_handled(int abi)
{
	uint64_t r = 0;
	if (abi >= 1)
		r = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1; /* bits 0..12 */
	if (abi >= 2)
		r |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		r |= LANDLOCK_ACCESS_FS_TRUNCATE;
	if (abi >= 5)
		r |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
	return r;
}

/* The attribute's size the kernel expects for what we fill in. */
static size_t ll_attr_size(int abi)
{
	if (abi >= 6)
		return sizeof(struct sb_ll_attr);
	if (abi >= 4)
		return offsetof(struct sb_ll_attr, scoped);
	return offsetof(struct sb_ll_attr, handled_access_net);
}

int pl_sb_landlock_nothing(int abi)
{
	struct sb_ll_attr a = { .handled_access_fs = pl_sb_fs_handled(abi) };
	if (abi >= 4)
		a.handled_access_net = SB_LL_NET_BIND_TCP | SB_LL_NET_CONNECT_TCP;
	if (abi >= 6)
		a.scoped = SB_LL_SCOPE_ABSTRACT_UNIX | SB_LL_SCOPE_SIGNAL;
	int fd = pl_sb_ll_create(&a, ll_attr_size(abi), 0);
	if (fd < 0)
		return -1;
	int rc = pl_sb_ll_restrict(fd);
	int e = errno;
	close(fd);
	errno = e;
	return rc;
}

/* ---- the seccomp filter ---- */

/* Never needed by a print service; EPERM. */
static const int deny_list[] = {
	__NR_process_vm_readv, __NR_process_vm_writev,
	__NR_mount, __NR_umount2, __NR_pivot_root, __NR_chroot,
	__NR_fsopen, __NR_fsconfig, __NR_fsmount, __NR_fspick,
	__NR_move_mount, __NR_open_tree,
#ifdef __NR_mount_setattr
	__NR_mount_setattr,
#endif
	__NR_kexec_load, __NR_kexec_file_load,
	__NR_init_module, __NR_finit_module, __NR_delete_module,
	__NR_bpf, __NR_perf_event_open, __NR_userfaultfd, __NR_fanotify_init,
	__NR_keyctl, __NR_add_key, __NR_request_key,
	__NR_unshare, __NR_setns, __NR_reboot, __NR_swapon, __NR_swapoff,
	__NR_acct, __NR_personality, __NR_vhangup, __NR_syslog,
	__NR_sethostname, __NR_setdomainname, __NR_kcmp, __NR_pidfd_getfd,
	__NR_open_by_handle_at, __NR_name_to_handle_at,
	__NR_quotactl,
#ifdef __NR_quotactl_fd
	__NR_quotactl_fd,
#endif
	__NR_clock_settime, __NR_clock_adjtime, __NR_settimeofday, __NR_adjtimex,
	__NR_setuid, __NR_setgid, __NR_setreuid, __NR_setregid,
	__NR_setresuid, __NR_setresgid, __NR_setfsuid, __NR_setfsgid,
	__NR_setgroups,
	/* io_uring operations are not seen by seccomp. */
	__NR_io_uring_setup, __NR_io_uring_enter, __NR_io_uring_register,
#ifdef __NR_iopl
	__NR_iopl, __NR_ioperm, __NR_modify_ldt,
#endif
#ifdef __NR_uselib
	__NR_uselib, __NR__sysctl, __NR_ustat, __NR_sysfs,
	__NR_create_module, __NR_get_kernel_syms, __NR_query_module,
	__NR_nfsservctl, __NR_lookup_dcookie,
#endif
};

#define SB_NS_FLAGS                                                           \
	(CLONE_NEWNS | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET |            \
	 CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP)

typedef struct {
	struct sock_filter *f;
	size_t n, cap;
	int full;
} prog_t;

static void emit(prog_t *p, struct sock_filter ins)
{
	if (p->n < p->cap)
		p->f[p->n++] = ins;
	else
		p->full = 1;
}

static void ret_errno(prog_t *p, int err)
{
	emit(p, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
					      SECCOMP_RET_ERRNO | ((uint32_t)err & SECCOMP_RET_DATA)));
}

static void ret_allow(prog_t *p)
{
	emit(p, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
}

/* if (nr == sysno) return -err; */
static void deny_nr(prog_t *p, int sysno, int err)
{
	emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)sysno, 0, 1));
	ret_errno(p, err);
}

static void load_arg0(prog_t *p)
{
	/* The low word of args[0] (little-endian: both architectures). */
	emit(p, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
					      offsetof(struct seccomp_data, args[0])));
}

/* clone(): never into new namespaces (that would undo unshare's denial);
 * in the jail only threads, never a new process. Ends the program for
 * clone, so it comes after every check that needs nr. */
static void clone_block(prog_t *p, int jail)
{
	emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone, 0,
					      jail ? 6 : 4));
	load_arg0(p);
	emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, SB_NS_FLAGS, 0, 1));
	ret_errno(p, EPERM);
	if (jail) {
		emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, CLONE_THREAD, 1, 0));
		ret_errno(p, EPERM);
	}
	ret_allow(p);
}

/* socket(): AF_UNIX only. */
static void socket_block(prog_t *p)
{
	emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_socket, 0, 4));
	load_arg0(p);
	emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AF_UNIX, 1, 0));
	ret_errno(p, EPERM);
	ret_allow(p);
}

int pl_sb_filter_build(struct sock_filter *f, size_t cap, pl_sb_filter_kind_t kind)
{
#ifndef SB_ARCH
	(void)f;
	(void)cap;
	(void)kind;
	return -1;
#else
	prog_t p = { .f = f, .cap = cap };
	int jail = kind == PL_SB_FILTER_JAIL;

	/* Another ABI (i386 through int 0x80) would number calls differently:
	 * refuse all of them. */
	emit(&p, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
					       offsetof(struct seccomp_data, arch)));
	emit(&p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SB_ARCH, 1, 0));
	ret_errno(&p, EPERM);
	emit(&p, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
					       offsetof(struct seccomp_data, nr)));
#ifdef SB_X32_BIT
	emit(&p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, SB_X32_BIT, 0, 1));
	ret_errno(&p, EPERM);
#endif
	for (size_t i = 0; i < PL_ARRAY_LEN(deny_list); i++)
		deny_nr(&p, deny_list[i], EPERM);
	if (jail || !SB_UNDER_ASAN)
		deny_nr(&p, __NR_ptrace, EPERM);
	/* Its arguments live in memory the filter cannot read; ENOSYS makes
	 * glibc fall back to clone(). */
	deny_nr(&p, __NR_clone3, ENOSYS);
	if (jail) {
#ifdef __NR_fork
		deny_nr(&p, __NR_fork, EPERM);
		deny_nr(&p, __NR_vfork, EPERM);
#endif
		socket_block(&p);
	}
	clone_block(&p, jail);
	ret_allow(&p);
	return p.full ? -1 : (int)p.n;
#endif
}

int pl_sb_filter_install(struct sock_filter *f, size_t n, unsigned flags)
{
	struct sock_fprog prog = { .len = (unsigned short)n, .filter = f };
	long rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
	if (rc > 0) { /* TSYNC: a thread that could not be synchronised */
		errno = EBUSY;
		return -1;
	}
	return (int)rc;
}

/* ---- descriptions ---- */

void pl_sandbox_init(pl_sandbox_t *sb)
{
	static const char *const sys[] = { PL_SANDBOX_SYSTEM_RO };
	sb->n = 0;
	sb->deny_tcp = 0;
	for (size_t i = 0; i < PL_ARRAY_LEN(sys); i++)
		(void)pl_sandbox_allow(sb, sys[i], PL_SANDBOX_RO);
	(void)pl_sandbox_allow(sb, "/dev/null", PL_SANDBOX_RW);
}

int pl_sandbox_allow(pl_sandbox_t *sb, const char *path, pl_sandbox_access_t a)
{
	if (strlen(path) >= PL_SANDBOX_PATH_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	size_t i = 0;
	while (i < sb->n && strcmp(sb->rule[i].path, path) != 0)
		i++;
	if (i == sb->n) {
		if (sb->n >= PL_SANDBOX_MAX_RULES) {
			errno = ENOSPC;
			return -1;
		}
		pl_strlcpy(sb->rule[sb->n++].path, path, PL_SANDBOX_PATH_MAX);
	}
	sb->rule[i].access = a;
	return 0;
}

/* ---- restricting ourselves ---- */

__attribute__((format(printf, 2, 3))) static int fail(pl_sandbox_status_t *st,
						      const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(st->msg, sizeof(st->msg), fmt, ap);
	va_end(ap);
	return -1;
}

static int count_threads(void)
{
	char *s = pl_read_file("/proc/self/status", 1u << 16, NULL);
	const char *t = s ? strstr(s, "\nThreads:") : NULL;
	int n = t ? atoi(t + 9) : 0;
	free(s);
	return n;
}

static uint64_t rights_of(pl_sandbox_access_t a)
{
	switch (a) {
	case PL_SANDBOX_RW:
		return LL_RW;
	case PL_SANDBOX_RW_FILES:
		return LL_RW_FILES;
	case PL_SANDBOX_RX:
		return LL_RX;
	case PL_SANDBOX_RO:
	default:
		return LL_RO;
	}
}

/* 1 added, 0 the path does not exist (skipped), -1 error. */
static int add_path(int ruleset, const char *path, pl_sandbox_access_t a, uint64_t handled)
{
	struct stat st;
	int fd = open(path, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	struct landlock_path_beneath_attr pb = { .parent_fd = fd };
	pb.allowed_access = rights_of(a) & handled;
	if (fstat(fd, &st) == 0 && !S_ISDIR(st.st_mode))
		pb.allowed_access &= LL_FILE_RIGHTS;
	int rc = pl_sb_ll_add_rule(ruleset, LANDLOCK_RULE_PATH_BENEATH, &pb);
	int e = errno;
	close(fd);
	errno = e;
	return rc < 0 ? -1 : 1;
}

static int landlock_apply(const pl_sandbox_t *sb, int abi, pl_sandbox_status_t *st)
{
	/* Signals only within the sandbox: a compromised service cannot
	 * signal the supervisor or another service running as the same
	 * user (one-user development setups). */
	struct sb_ll_attr a = { .handled_access_fs = pl_sb_fs_handled(abi),
				.scoped = abi >= 6 ? SB_LL_SCOPE_SIGNAL : 0 };
	if (sb->deny_tcp && abi >= 4)
		a.handled_access_net = SB_LL_NET_BIND_TCP | SB_LL_NET_CONNECT_TCP;
	int fd = pl_sb_ll_create(&a, ll_attr_size(abi), 0);
	if (fd < 0)
		return fail(st, "Landlock ruleset: %s", strerror(errno));
	for (size_t i = 0; i < sb->n; i++) {
		if (add_path(fd, sb->rule[i].path, sb->rule[i].access,
			     a.handled_access_fs) < 0) {
			int e = errno;
			close(fd);
			return fail(st, "Landlock rule for %s: %s", sb->rule[i].path,
				    strerror(e));
		}
	}
	int rc = pl_sb_ll_restrict(fd);
	int e = errno;
	close(fd);
	if (rc < 0)
		return fail(st, "Landlock: %s", strerror(e));
	return 0;
}

static int seccomp_apply(pl_sandbox_status_t *st, const char **note)
{
	struct sock_filter f[PL_SB_FILTER_MAX];
	int n = pl_sb_filter_build(f, PL_ARRAY_LEN(f), PL_SB_FILTER_SERVICE);
	if (n < 0) {
		*note = "; no seccomp filter for this architecture";
		return 0;
	}
	if (pl_sb_filter_install(f, (size_t)n, SECCOMP_FILTER_FLAG_TSYNC) < 0) {
		if (errno == ENOSYS || errno == EINVAL) {
			*note = "; no seccomp filters in this kernel";
			return 0;
		}
		return fail(st, "seccomp: %s", strerror(errno));
	}
	st->seccomp = 1;
	return 0;
}

static int is_system(const char *path)
{
	static const char *const sys[] = { PL_SANDBOX_SYSTEM_RO, "/dev/null" };
	for (size_t i = 0; i < PL_ARRAY_LEN(sys); i++)
		if (strcmp(sys[i], path) == 0)
			return 1;
	return 0;
}

/* "rw /a, files /b, ro /c": the paths beyond the system ones, for the log. */
static void describe(const pl_sandbox_t *sb, char *buf, size_t sz)
{
	static const char *const names[] = { [PL_SANDBOX_RO] = "ro", [PL_SANDBOX_RW] = "rw",
					     [PL_SANDBOX_RW_FILES] = "files", [PL_SANDBOX_RX] = "rx" };
	size_t len = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < sb->n && len < sz; i++) {
		if (is_system(sb->rule[i].path))
			continue;
		int k = snprintf(buf + len, sz - len, "%s%s %s", len ? ", " : "",
				 names[sb->rule[i].access], sb->rule[i].path);
		if (k < 0)
			break;
		len += (size_t)k;
	}
}

int pl_sandbox_restrict(const pl_sandbox_t *sb, pl_sandbox_status_t *st)
{
	const char *sc_note = "";
	char paths[300];

	memset(st, 0, sizeof(*st));
	st->threads = count_threads();
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return fail(st, "no_new_privs: %s", strerror(errno));
	st->no_new_privs = 1;
	int abi = pl_sandbox_landlock_abi();
	if (abi > 0 && landlock_apply(sb, abi, st) < 0)
		return -1;
	st->landlock_abi = abi;
	if (seccomp_apply(st, &sc_note) < 0)
		return -1;
	describe(sb, paths, sizeof(paths));
	if (abi > 0)
		snprintf(st->msg, sizeof(st->msg),
			 "sandbox: no_new_privs, %s, Landlock ABI %d (%s%ssystem paths "
			 "read-only; nothing else)%s",
			 st->seccomp ? "seccomp filter" : "no seccomp", abi, paths,
			 paths[0] ? "; " : "", sc_note);
	else
		snprintf(st->msg, sizeof(st->msg),
			 "sandbox: no_new_privs, %s; no Landlock in this kernel: the "
			 "file system is not confined (only by file modes)%s",
			 st->seccomp ? "seccomp filter" : "no seccomp", sc_note);
	return 0;
}
