/* Privilege separation: started as root, the supervisor runs each service
 * as a system user of its own (services.<Name>.user, default plsc-<short
 * name>), with the shared group (supervisor.group, "plsc") as its group.
 * Each service owns only its state directory, 0700, so no service can
 * read another's keys or jobs. The directory database, which several
 * services read, belongs to its one writer (plsc-directory's user) and the
 * shared group: 0750 and 0640, so the others read it and cannot write it.
 * The control socket belongs to root and supervisor.admin_group, which
 * only the console gets as a supplementary group.
 *
 * The accounts are made by `plsc-supervisor --create-users` (make install
 * and the tests' root runs call it), never silently at start: a service
 * whose user is missing fails with a message that says how to make it. */
#include "sv.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pl_log.h"
#include "pl_util.h"

#define DIRECTORY_SUBDIR "directory"

static int group_id(const char *name, gid_t *gid)
{
	struct group *gr = getgrnam(name);
	if (!gr)
		return -1;
	*gid = gr->gr_gid;
	return 0;
}

int sv_privsep_init(sv_sup_t *sup)
{
	const sv_config_t *c = &sup->cfg;
	sup->drop_privs = 0;
	sup->shared_gid = sup->admin_gid = (gid_t)-1;
	if (geteuid() != 0 || !c->privsep)
		return 0;
	const char *missing = group_id(c->group, &sup->shared_gid) < 0 ? c->group
			      : group_id(c->admin_group, &sup->admin_gid) < 0
				      ? c->admin_group : NULL;
	if (missing) {
		fprintf(stderr,
			"plsc-supervisor: %s: no such group '%s' (create the "
			"accounts with 'plsc-supervisor --create-users -c %s', or "
			"set \"privsep\": false)\n", c->file, missing, c->file);
		return -1;
	}
	sup->drop_privs = 1;
	return 0;
}

int sv_privsep_cred(const sv_sup_t *sup, const sv_svcconf_t *sc,
		    sv_cred_t *cred, char *msg, size_t msgsz)
{
	struct passwd *pw = getpwnam(sc->user);
	if (!pw) {
		snprintf(msg, msgsz, "no such user '%s' (create it with "
			 "'plsc-supervisor --create-users', or set "
			 "services.%s.user)", sc->user, sc->name);
		return -1;
	}
	if (pw->pw_uid == 0) {
		snprintf(msg, msgsz, "user '%s' is root; a service never runs "
			 "as root", sc->user);
		return -1;
	}
	cred->uid = pw->pw_uid;
	cred->gid = sup->shared_gid;
	cred->admin = sc->role == SV_ROLE_CONSOLE ? sup->admin_gid : (gid_t)-1;
	return 0;
}

/* fchown + fchmod a regular file of dfd through its own descriptor, so a
 * symbolic link planted by the writer never turns root's chown onto
 * another file; a hard link (more than one name) is refused too. */
static int fix_file(int dfd, const char *name, uid_t uid, gid_t gid)
{
	struct stat st;
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	int rc = -1;
	if (fstat(fd, &st) < 0)
		goto out;
	if (!S_ISREG(st.st_mode) || st.st_nlink != 1) {
		errno = EPERM;
		goto out;
	}
	rc = fchown(fd, uid, gid) < 0 || fchmod(fd, 0640) < 0 ? -1 : 0;
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

int sv_privsep_own_dir(const char *dir, uid_t uid, gid_t gid, mode_t mode)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fchown(fd, uid, gid) < 0 || fchmod(fd, mode) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* Every configured service's state dir exists before any service starts,
 * enabled or not: a holder allows the SNMP service's dir (where it reads
 * printer-status.db) in its sandbox once, at its own start, and a dir
 * that did not exist then cannot be allowed later. Only a missing dir is
 * made here, with the owner and mode its service's start gives it; one
 * that exists is left as it is (the SNMP service opens its own to 0711
 * while it runs; a reload must not close it under the holders), and put
 * right at its service's next start as before. */
void sv_state_dirs_make(const sv_sup_t *sup)
{
	for (int i = 0; i < sup->cfg.nsvcs; i++) {
		const sv_svcconf_t *sc = &sup->cfg.svcs[i];
		sv_cred_t cred = { (uid_t)-1, (gid_t)-1, (gid_t)-1 };
		char dir[PATH_MAX], msg[256];
		if (pl_fmt(dir, sizeof(dir), "%s/%s", sup->cfg.state_dir, sc->name) < 0 ||
		    access(dir, F_OK) == 0)
			continue;
		/* No user yet: its start says so, and makes the dir once the
		 * user exists. */
		if (sup->drop_privs && sv_privsep_cred(sup, sc, &cred, msg, sizeof(msg)) < 0)
			continue;
		int fd = -1;
		if (mkdir(dir, 0700) < 0 ||
		    (fd = sv_privsep_own_dir(dir, cred.uid, cred.gid, 0700)) < 0) {
			if (errno != EEXIST)
				pl_warn("%s: cannot create its state dir %s: %s",
					sc->name, dir, strerror(errno));
		}
		if (fd >= 0)
			close(fd);
	}
}

int sv_privsep_directory(const char *state_dir, uid_t uid, gid_t gid,
			 char *msg, size_t msgsz)
{
	static const char *const files[] = { "directory.db", "directory.db-wal",
					     "directory.db-shm" };
	char dir[PATH_MAX];
	if (pl_fmt(dir, sizeof(dir), "%s/%s", state_dir, DIRECTORY_SUBDIR) < 0 ||
	    pl_mkdir_p(dir, 0750) < 0) {
		snprintf(msg, msgsz, "cannot create %s: %s", dir, strerror(errno));
		return -1;
	}
	int dfd = sv_privsep_own_dir(dir, uid, gid, 0750);
	if (dfd < 0) {
		snprintf(msg, msgsz, "cannot give %s to its owner: %s", dir,
			 strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < PL_ARRAY_LEN(files); i++) {
		if (fix_file(dfd, files[i], uid, gid) < 0) {
			snprintf(msg, msgsz, "cannot give %s/%s to its owner: %s",
				 dir, files[i], strerror(errno));
			close(dfd);
			return -1;
		}
	}
	close(dfd);
	return 0;
}

int sv_privsep_base_dir(const char *dir, char *msg, size_t msgsz)
{
	struct stat st;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		snprintf(msg, msgsz, "%s: %s", dir, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	int rc = 0;
	if (st.st_uid != 0 || st.st_gid != 0 || (st.st_mode & 07777) != 0755) {
		if (fchown(fd, 0, 0) < 0 || fchmod(fd, 0755) < 0) {
			snprintf(msg, msgsz, "%s: cannot make it root's, mode 0755: %s",
				 dir, strerror(errno));
			rc = -1;
		} else {
			snprintf(msg, msgsz, "%s was mode %04o, owner %ld:%ld; made "
				 "root's, mode 0755", dir, (unsigned)(st.st_mode & 07777),
				 (long)st.st_uid, (long)st.st_gid);
			rc = 1;
		}
	}
	close(fd);
	return rc;
}

int sv_privsep_directory_owner(const sv_config_t *c, uid_t *uid, gid_t *gid,
			       char *msg, size_t msgsz)
{
	if (geteuid() != 0 || !c->privsep)
		return 0;
	if (group_id(c->group, gid) < 0) {
		snprintf(msg, msgsz, "no such group '%s' (plsc-supervisor "
			 "--create-users)", c->group);
		return -1;
	}
	*uid = 0; /* no directory service: only root (plsc) writes it */
	for (int i = 0; i < c->nsvcs; i++) {
		if (c->svcs[i].role != SV_ROLE_DIRECTORY)
			continue;
		struct passwd *pw = getpwnam(c->svcs[i].user);
		if (!pw) {
			snprintf(msg, msgsz, "no such user '%s' (plsc-supervisor "
				 "--create-users)", c->svcs[i].user);
			return -1;
		}
		*uid = pw->pw_uid;
		break;
	}
	return 1;
}

/* ---- --create-users ---- */

static int run_tool(char *const argv[])
{
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		execvp(argv[0], argv);
		fprintf(stderr, "plsc-supervisor: cannot run %s: %s\n", argv[0],
			strerror(errno));
		_exit(127);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static int ensure_group(const char *name)
{
	gid_t g;
	if (group_id(name, &g) == 0)
		return 0;
	char *argv[] = { "groupadd", "--system", (char *)name, NULL };
	printf("plsc-supervisor: creating group %s\n", name);
	return run_tool(argv);
}

static int ensure_user(const char *user, const char *group, const char *svc)
{
	char comment[128];
	if (getpwnam(user))
		return 0;
	snprintf(comment, sizeof(comment), "Service Client %s", svc);
	char *argv[] = { "useradd", "--system", "--no-create-home",
			 "--home-dir", "/nonexistent", "--shell",
			 "/usr/sbin/nologin", "--gid", (char *)group,
			 "--comment", comment, (char *)user, NULL };
	printf("plsc-supervisor: creating user %s for %s\n", user, svc);
	return run_tool(argv);
}

int sv_privsep_create_users(const sv_config_t *c)
{
	if (geteuid() != 0) {
		fprintf(stderr, "plsc-supervisor: --create-users needs root\n");
		return -1;
	}
	if (ensure_group(c->group) < 0 || ensure_group(c->admin_group) < 0)
		return -1;
	int rc = 0;
	for (int i = 0; i < c->nsvcs; i++)
		if (ensure_user(c->svcs[i].user, c->group, c->svcs[i].name) < 0)
			rc = -1;
	return rc;
}
