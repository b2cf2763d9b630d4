/* The raw pieces of pl_sandbox that pl_jail's child uses as well. Each is
 * system calls on caller-provided memory only (no malloc, no locks, no
 * logging), so a child forked from a threaded process may call them. */
#ifndef PL_SANDBOX_PRIVATE_H
#define PL_SANDBOX_PRIVATE_H

#include <linux/filter.h>
#include <stddef.h>
#include <stdint.h>

/* Room for the longest filter pl_sb_filter_build writes. */
#define PL_SB_FILTER_MAX 256

typedef enum {
	PL_SB_FILTER_SERVICE, /* the deny list */
	PL_SB_FILTER_JAIL,    /* the deny list, plus: sockets other than
				 AF_UNIX, fork (clone without CLONE_THREAD),
				 and always ptrace */
} pl_sb_filter_kind_t;

/* Write the filter for this architecture into f[cap]; its length, or -1
 * when this architecture has no filter (seccomp is then skipped). */
int pl_sb_filter_build(struct sock_filter *f, size_t cap, pl_sb_filter_kind_t kind);
/* Install it (no_new_privs must be set); flags SECCOMP_FILTER_FLAG_*. 0 or
 * -1 with errno (EINVAL/ENOSYS: the kernel has no filter mode). */
int pl_sb_filter_install(struct sock_filter *f, size_t n, unsigned flags);

/* Landlock rights the given ABI knows. */
uint64_t pl_sb_fs_handled(int abi);
/* Enforce on the calling thread a Landlock domain that allows nothing:
 * no file system access (open file descriptors keep working), and for
 * ABI 4+ no TCP bind or connect, for ABI 6+ no abstract Unix sockets and
 * no signals outside the domain. 0 or -1 with errno. */
int pl_sb_landlock_nothing(int abi);
/* The raw system calls (glibc has no wrappers). */
int pl_sb_ll_create(const void *attr, size_t size, uint32_t flags);
int pl_sb_ll_add_rule(int ruleset, int type, const void *attr);
int pl_sb_ll_restrict(int ruleset);

#endif
