/* Each service in its own cgroup (v2), so that everything it started goes
 * when it goes. A process group is not enough: a child that calls setsid
 * leaves it, and survived every restart of its service. A cgroup cannot
 * be left without privileges the service does not have.
 *
 * Where: a directory of ours, plsc.<pid>, under the supervisor's own
 * cgroup (from /proc/self/cgroup, "0::/path", under the cgroup2 mount:
 * /sys/fs/cgroup, or /sys/fs/cgroup/unified on a hybrid system); each
 * service is plsc.<pid>/<name>. The pid keeps two supervisors (a test run
 * beside a live one) from ever killing each other's services; directories
 * of supervisors that are gone are swept at start.
 *
 * The child joins its cgroup itself, before exec (it writes "0" to the
 * cgroup.procs descriptor the supervisor opened), so nothing it starts is
 * ever outside. When its main process has exited, and on every kill, the
 * whole cgroup is killed (cgroup.kill, Linux 5.14; else each pid listed
 * in cgroup.procs). The pids controller, where the kernel lets us enable
 * it (our own cgroup must pass it down: the root cgroup, or a systemd unit
 * with Delegate=yes), caps each service's tasks at max_processes; so does
 * RLIMIT_NPROC, for each service's own user (privilege separation).
 *
 * Without a writable cgroup2 (not root, no cgroup2 mounted, not delegated)
 * the process groups and RLIMIT_NPROC (per service user) remain; the
 * supervisor says so once at start. */
#include "sv.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pl_log.h"
#include "pl_util.h"

/* The cgroup2 mount point, from /proc/self/mountinfo. 0 or -1. */
static int cg_mount(char *out, size_t sz)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4096];
	int rc = -1;
	if (!f)
		return -1;
	while (rc < 0 && fgets(line, sizeof(line), f)) {
		/* id parent maj:min root mountpoint opts ... - fstype src opts */
		char *dash = strstr(line, " - cgroup2 ");
		char mnt[PATH_MAX];
		if (dash && sscanf(line, "%*s %*s %*s %*s %4095s", mnt) == 1 &&
		    pl_fmt(out, sz, "%s", mnt) == 0)
			rc = 0;
	}
	fclose(f);
	return rc;
}

/* Our own cgroup v2 path ("/" or "/system.slice/plsc.service"). */
static int cg_self(char *out, size_t sz)
{
	FILE *f = fopen("/proc/self/cgroup", "re");
	char line[4096];
	int rc = -1;
	if (!f)
		return -1;
	while (rc < 0 && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "0::", 3) != 0)
			continue;
		line[strcspn(line, "\n")] = '\0';
		rc = pl_fmt(out, sz, "%s", line + 3);
	}
	fclose(f);
	return rc;
}

static int cg_write(const char *dir, const char *file, const char *val)
{
	char path[PATH_MAX];
	if (pl_fmt(path, sizeof(path), "%s/%s", dir, file) < 0)
		return -1;
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t w = write(fd, val, strlen(val));
	int e = errno;
	close(fd);
	errno = e;
	return w == (ssize_t)strlen(val) ? 0 : -1;
}

static int cg_has(const char *dir, const char *file, const char *word)
{
	char path[PATH_MAX], buf[512];
	if (pl_fmt(path, sizeof(path), "%s/%s", dir, file) < 0)
		return 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	for (char *t = strtok(buf, " \n"); t; t = strtok(NULL, " \n"))
		if (strcmp(t, word) == 0)
			return 1;
	return 0;
}

/* Remove stale plsc.<pid> directories of supervisors that are gone. */
static void cg_sweep(const char *own)
{
	DIR *d = opendir(own);
	struct dirent *de;
	if (!d)
		return;
	while ((de = readdir(d)) != NULL) {
		long pid;
		char *end;
		if (strncmp(de->d_name, "plsc.", 5) != 0)
			continue;
		pid = strtol(de->d_name + 5, &end, 10);
		if (*end || pid <= 0 || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		char dir[PATH_MAX];
		if (pl_fmt(dir, sizeof(dir), "%s/%s", own, de->d_name) == 0) {
			(void)cg_write(dir, "cgroup.kill", "1");
			sv_cgroup_rmtree(dir);
		}
	}
	closedir(d);
}

void sv_cgroup_rmtree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	if (d) {
		while ((de = readdir(d)) != NULL) {
			char sub[PATH_MAX];
			if (de->d_type != DT_DIR || de->d_name[0] == '.' ||
			    pl_fmt(sub, sizeof(sub), "%s/%s", dir, de->d_name) < 0)
				continue;
			rmdir(sub); /* a cgroup's files go with it */
		}
		closedir(d);
	}
	rmdir(dir);
}

int sv_cgroup_init(sv_sup_t *sup)
{
	char mnt[PATH_MAX], self[PATH_MAX], own[PATH_MAX], base[PATH_MAX];
	sup->cg_base = NULL;
	if (geteuid() != 0)
		return 0; /* nothing to delegate to us: process groups only */
	if (cg_mount(mnt, sizeof(mnt)) < 0 || cg_self(self, sizeof(self)) < 0 ||
	    pl_fmt(own, sizeof(own), "%s%s", mnt, strcmp(self, "/") ? self : "") < 0) {
		pl_notice("no cgroup v2 here: a service's helpers are stopped with "
			  "its process group only (one that calls setsid escapes)");
		return 0;
	}
	cg_sweep(own);
	if (pl_fmt(base, sizeof(base), "%s/plsc.%ld", own, (long)getpid()) < 0 ||
	    (mkdir(base, 0755) < 0 && errno != EEXIST)) {
		pl_notice("cannot make cgroup %s/plsc.%ld (%s): a service's helpers "
			  "are stopped with its process group only (one that calls "
			  "setsid escapes)", own, (long)getpid(), strerror(errno));
		return 0;
	}
	/* Best effort: the pids controller, where our cgroup passes it down. */
	if (cg_has(base, "cgroup.controllers", "pids"))
		(void)cg_write(base, "cgroup.subtree_control", "+pids");
	sup->cg_pids = cg_has(base, "cgroup.subtree_control", "pids");
	sup->cg_base = strdup(base);
	if (!sup->cg_base)
		return -1;
	pl_info("services run in cgroups under %s%s", base,
		sup->cg_pids ? " (pids capped by max_processes)" : "");
	return 0;
}

void sv_cgroup_free(sv_sup_t *sup)
{
	if (!sup->cg_base)
		return;
	/* The services are gone by now; anything left in theirs goes. */
	for (int i = 0; i < sup->nsvcs; i++) {
		char dir[PATH_MAX];
		if (pl_fmt(dir, sizeof(dir), "%s/%s", sup->cg_base,
			   sup->svcs[i]->conf.name) == 0) {
			(void)cg_write(dir, "cgroup.kill", "1");
			rmdir(dir);
		}
	}
	rmdir(sup->cg_base);
	free(sup->cg_base);
	sup->cg_base = NULL;
}

int sv_cgroup_prepare(sv_svc_t *s, uint32_t max_procs)
{
	sv_sup_t *sup = s->sup;
	char dir[PATH_MAX], num[32];
	if (!sup->cg_base)
		return -1;
	if (pl_fmt(dir, sizeof(dir), "%s/%s", sup->cg_base, s->conf.name) < 0 ||
	    (mkdir(dir, 0755) < 0 && errno != EEXIST))
		return -1;
	if (sup->cg_pids) {
		snprintf(num, sizeof(num), "%u", (unsigned)max_procs);
		(void)cg_write(dir, "pids.max", num);
	}
	char path[PATH_MAX];
	if (pl_fmt(path, sizeof(path), "%s/cgroup.procs", dir) < 0)
		return -1;
	return open(path, O_WRONLY | O_CLOEXEC);
}

/* Kill by listing, for kernels without cgroup.kill: repeat until the list
 * is empty (a fork between reading and killing adds a pid). */
static int cg_kill_listed(const char *dir)
{
	char path[PATH_MAX];
	int total = 0;
	if (pl_fmt(path, sizeof(path), "%s/cgroup.procs", dir) < 0)
		return 0;
	for (int round = 0; round < 16; round++) {
		FILE *f = fopen(path, "re");
		long pid;
		int n = 0;
		if (!f)
			break;
		while (fscanf(f, "%ld", &pid) == 1) {
			kill((pid_t)pid, SIGKILL);
			n++;
		}
		fclose(f);
		if (n == 0)
			break;
		total += n;
		usleep(1000);
	}
	return total;
}

int sv_cgroup_kill(sv_svc_t *s)
{
	char dir[PATH_MAX], path[PATH_MAX];
	if (!s->sup->cg_base ||
	    pl_fmt(dir, sizeof(dir), "%s/%s", s->sup->cg_base, s->conf.name) < 0 ||
	    pl_fmt(path, sizeof(path), "%s/cgroup.procs", dir) < 0)
		return 0;
	/* Count first, for the log line: how many outlived their service. */
	FILE *f = fopen(path, "re");
	long pid;
	int n = 0;
	if (!f)
		return 0;
	while (fscanf(f, "%ld", &pid) == 1)
		n++;
	fclose(f);
	if (n == 0)
		return 0;
	if (cg_write(dir, "cgroup.kill", "1") < 0)
		cg_kill_listed(dir);
	return n;
}
