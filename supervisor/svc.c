/* One supervised service: spawning, the channel, the restart policy.
 *
 * Supervision is a table of state x event (s6-supervise is the model),
 * at the end of this file: every change of state goes through
 * svc_event(), which looks up the action for the service's state and the
 * event, so a reader sees at a glance what each event does in each state
 * and that nothing else changes it. The events: START (enable, restart,
 * reload), STOP (disable, restart, remove, shutdown), READY, EXIT
 * (waitpid), TIMER (the one per-service timer: the restart delay, the
 * start timeout or the stop grace, by state). The heartbeat has a timer of
 * its own and kills; the kill comes back as EXIT. */
#include "sv.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pl_log.h"
#include "pl_service.h"
#include "pl_util.h"

static const char *const state_names[] = {
	[SV_DISABLED] = "disabled", [SV_STOPPED] = "stopped",
	[SV_STARTING] = "starting", [SV_RUNNING] = "running",
	[SV_BACKOFF] = "backoff",   [SV_THROTTLED] = "throttled",
	[SV_FAILED] = "failed",     [SV_STOPPING] = "stopping",
};

const char *sv_state_name(sv_state_t s)
{
	return (unsigned)s < PL_ARRAY_LEN(state_names) ? state_names[s] : "?";
}

static int live(const sv_svc_t *s)
{
	return s->pid > 0;
}

int sv_svc_enabled(const sv_svc_t *s)
{
	return s->override >= 0 ? s->override : s->conf.enabled;
}

static void log_io(pl_loop_t *loop, int fd, uint32_t ev, void *arg)
{
	sv_svc_t *s = arg;
	char buf[16384];
	(void)loop;
	(void)ev;
	/* Bounded per wake-up so one chatty service cannot starve the rest;
	 * the pipe applies back-pressure to it meanwhile. */
	for (int i = 0; i < 16; i++) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			break;
		sv_logfile_feed(&s->log, buf, (size_t)n, s->last_pid);
	}
}

static void drain_log(sv_svc_t *s)
{
	log_io(s->sup->loop, s->log_r, EPOLLIN, s);
}

int sv_svc_init(sv_svc_t *s, sv_sup_t *sup, const sv_svcconf_t *conf)
{
	char path[PATH_MAX + 8];
	int p[2];

	memset(s, 0, sizeof(*s));
	s->sup = sup;
	s->log.fd = -1;
	s->log_r = s->log_w = -1;
	if (sv_svcconf_copy(&s->conf, conf) < 0)
		return -1;
	s->override = -1;
	s->state = SV_STOPPED;
	s->run_uid = (uid_t)-1;
	for (int i = 0; i < SV_MAX_LISTEN; i++)
		s->listen_fds[i] = -1;
	(void)pl_fmt(path, sizeof(path), "%s/%s.log", sup->cfg.log_dir,
		     conf->name);
	if (sv_logfile_open(&s->log, path, conf->name, sup->cfg.log_max_bytes,
			    sup->cfg.log_keep) < 0) {
		pl_err("%s: cannot open log %s: %s", conf->name, path,
		       strerror(errno));
		return -1;
	}
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	s->log_r = p[0];
	s->log_w = p[1];
	pl_set_nonblock(s->log_r);
	s->log_watch = pl_loop_watch(sup->loop, s->log_r, EPOLLIN, log_io, s);
	return s->log_watch ? 0 : -1;
}

void sv_svc_close_listen(sv_svc_t *s)
{
	for (int i = 0; i < SV_MAX_LISTEN; i++) {
		if (s->listen_fds[i] >= 0)
			close(s->listen_fds[i]);
		s->listen_fds[i] = -1;
	}
}

static void chan_close(sv_svc_t *s)
{
	pl_chan_free(s->chan); /* deferred while its own callback runs */
	s->chan = NULL;
	s->helloed = 0;
}

static void cancel_timers(sv_svc_t *s)
{
	pl_loop_timer_cancel(s->sup->loop, s->timer);
	pl_loop_timer_cancel(s->sup->loop, s->hb);
	s->timer = s->hb = NULL;
}

void sv_svc_free(sv_svc_t *s)
{
	cancel_timers(s);
	chan_close(s);
	if (s->log_watch) {
		drain_log(s);
		pl_loop_unwatch(s->sup->loop, s->log_watch);
	}
	sv_logfile_flush(&s->log, s->last_pid);
	sv_logfile_close(&s->log);
	if (s->log_r >= 0)
		close(s->log_r);
	if (s->log_w >= 0)
		close(s->log_w);
	sv_svc_close_listen(s);
	sv_svcconf_clear(&s->conf);
}

void sv_svc_kill(sv_svc_t *s, const char *why)
{
	if (!live(s))
		return;
	if (why && !s->kill_reason[0])
		pl_strlcpy(s->kill_reason, why, sizeof(s->kill_reason));
	/* The whole process group, and its cgroup: helpers the service
	 * forked go too, even one that left the group with setsid. */
	kill(-s->pid, SIGKILL);
	kill(s->pid, SIGKILL);
	(void)sv_cgroup_kill(s);
}

/* ---- channel ---- */

int sv_svc_send(sv_svc_t *s, const pl_msg_t *m)
{
	if (!s->chan)
		return -PL_PROTO_EIO;
	int rc = pl_chan_send(s->chan, m);
	if (rc == -PL_PROTO_ETOOBIG) {
		/* Our message, not the child's fault: it stays up. */
		pl_err("%s: a frame of %zu bytes is over the channel's limit; not sent",
		       s->conf.name, m->len - PL_PROTO_HDR_LEN);
		return rc;
	}
	if (rc == -PL_PROTO_EQUEUE) {
		/* A child that does not read its channel is not healthy. */
		pl_warn("%s: channel: %s", s->conf.name, pl_proto_strerror(rc));
		sv_svc_kill(s, "channel overflow");
		return rc;
	}
	return rc; /* < 0: the child is going away; waitpid will say how */
}

void sv_svc_send_config(sv_svc_t *s)
{
	pl_msg_t m;
	char *text = json_dumps(s->conf.section, JSON_COMPACT);
	if (!text || pl_msg_init(&m, PL_MSG_CONFIG, 0, 0) < 0) {
		free(text);
		return;
	}
	pl_msg_add_str(&m, PL_TAG_CONFIG, text);
	if (pl_msg_finish(&m) == 0)
		sv_svc_send(s, &m);
	pl_msg_free(&m);
	free(text);
}

static void send_simple(sv_svc_t *s, uint16_t type, uint32_t seq,
			uint32_t grace)
{
	pl_msg_t m;
	if (pl_msg_init(&m, type, 0, seq) < 0)
		return;
	if (grace)
		pl_msg_add_u32(&m, PL_TAG_GRACE_MS, grace);
	if (pl_msg_finish(&m) == 0)
		sv_svc_send(s, &m);
	pl_msg_free(&m);
}

static void heartbeat(pl_loop_t *loop, void *arg)
{
	sv_svc_t *s = arg;
	uint64_t now = pl_now_ms();
	s->hb = NULL;
	if (s->state != SV_RUNNING)
		return;
	if (now - s->last_pong > s->sup->cfg.heartbeat_timeout_ms) {
		/* The service's last status says why, when it knows (a
		 * watchdog that withheld the PONG names itself there). */
		char why[sizeof(s->detail) + 64];
		int n = snprintf(why, sizeof(why), "no heartbeat reply for %llu ms",
				 (unsigned long long)(now - s->last_pong));
		if (s->detail[0] && n > 0 && (size_t)n < sizeof(why))
			snprintf(why + n, sizeof(why) - (size_t)n, " (%s)", s->detail);
		pl_err("%s[%ld]: %s; killing it", s->conf.name, (long)s->pid, why);
		sv_svc_kill(s, why);
		return;
	}
	send_simple(s, PL_MSG_PING, ++s->ping_seq, 0);
	s->hb = pl_loop_timer(loop, s->sup->cfg.heartbeat_interval_ms,
			      heartbeat, s);
}

static void svc_event(sv_svc_t *s, int ev, int arg);
enum { EV_START, EV_STOP, EV_READY, EV_EXIT, EV_TIMER, EV_COUNT };

static void on_hello(sv_svc_t *s, const pl_frame_t *f)
{
	uint32_t caps = 0;
	char ver[64] = "?";
	pl_frame_get_u32(f, PL_TAG_CAPS, &caps);
	pl_frame_get_str(f, PL_TAG_VERSION, ver, sizeof(ver));
	/* Holding jobs is a right of the role, not of what a service says:
	 * a rogue one must not be asked for (and answer) anyone's jobs. */
	if ((caps & PL_CAP_HOLDS_JOBS) && !sv_role_holds_jobs(s->conf.role)) {
		pl_warn("%s[%ld]: claims to hold jobs, but its role (%s) does not;"
			" ignored", s->conf.name, (long)s->pid,
			sv_role_name(s->conf.role));
		caps &= ~PL_CAP_HOLDS_JOBS;
	}
	s->caps = caps;
	s->helloed = 1;
	pl_debug("%s[%ld]: hello version %s caps %#x", s->conf.name,
		 (long)s->pid, ver, caps);
	sv_svc_send_config(s);
}

static void handle_frame(sv_svc_t *s, const pl_frame_t *f)
{
	if (!s->helloed && f->type != PL_MSG_HELLO) {
		pl_warn("%s: %s before HELLO; dropped", s->conf.name,
			pl_msg_type_name(f->type));
		return;
	}
	/* A frame naming a destination is routed (route.c checks it against
	 * the allow-list there), whatever its type; anything else is for us,
	 * if the allow-list lets this service's role send it to us. */
	pl_field_t to;
	if (pl_frame_find(f, PL_TAG_TO, &to) == 1) {
		sv_route(s->sup, s, f);
		return;
	}
	if (f->type == PL_MSG_RESULT && (f->flags & PL_FLAG_REPLY)) {
		/* An answer to one of our requests; a late one is dropped. */
		if (sv_policy_allows(f->type, 0, s->conf.role, NULL))
			(void)(sv_syncreq_reply(s->sup, s, f) || sv_jobops_reply(s->sup, s, f));
		else
			sv_policy_deny(s, f, NULL, "not allowed to the supervisor");
		return;
	}
	if (!sv_policy_allows(f->type, 0, s->conf.role, NULL)) {
		sv_policy_deny(s, f, NULL, "not allowed to the supervisor");
		return;
	}
	switch (f->type) {
	case PL_MSG_HELLO:
		on_hello(s, f);
		break;
	case PL_MSG_READY:
		svc_event(s, EV_READY, 0);
		break;
	case PL_MSG_PONG:
		s->last_pong = pl_now_ms();
		break;
	case PL_MSG_SVC_STATUS:
		/* Gossip: a malformed one is dropped. */
		if (pl_frame_get_str(f, PL_TAG_DETAIL, s->detail, sizeof(s->detail)) < 0)
			s->detail[0] = '\0';
		break;
	case PL_MSG_JOB_EVENT:
		sv_jobevent(s->sup, s, f);
		break;
	case PL_MSG_RELEASE: {
		sv_asker_t a = { .is_client = 0, .seq = f->seq };
		pl_strlcpy(a.svc, s->conf.name, sizeof(a.svc));
		sv_jobops_start(s->sup, SV_OP_RELEASE, f, &a);
		break;
	}
	default:
		/* Allowed to us, but nothing we act on (a RESULT that is no
		 * reply): status from a child is gossip (Postfix), dropped. */
		pl_debug("%s: %s ignored", s->conf.name, pl_msg_type_name(f->type));
	}
}

static void chan_frame(pl_chan_t *ch, pl_frame_t *f, void *arg)
{
	sv_svc_t *s = arg;
	(void)ch;
	handle_frame(s, f);
	if (f->fd >= 0)
		close(f->fd); /* services never pass fds up, yet */
}

static void chan_closed(pl_chan_t *ch, int rc, void *arg)
{
	sv_svc_t *s = arg;
	(void)ch;
	/* EOF or an I/O error: the child is exiting, and waitpid will tell
	 * us how. Anything else is a broken frame. */
	if (rc != -PL_PROTO_EOF && rc != -PL_PROTO_EIO) {
		pl_err("%s[%ld]: bad frame on channel: %s; killing it",
		       s->conf.name, (long)s->pid, pl_proto_strerror(rc));
		sv_svc_kill(s, "protocol error on channel");
	}
	chan_close(s);
}

static const pl_chan_ops_t chan_ops = { chan_frame, chan_closed };

/* ---- spawning ---- */

static int bind_listen(sv_svc_t *s)
{
	char err[256];
	for (int i = 0; i < s->conf.nlisten; i++) {
		if (s->listen_fds[i] >= 0)
			continue; /* kept across restarts: no missed connects */
		int fd = pl_listen_tcp(s->conf.listen[i].addr, 128, err,
				       sizeof(err));
		if (fd < 0) {
			(void)pl_fmt(s->last_exit, sizeof(s->last_exit),
				     "cannot listen on %s", err);
			return -1;
		}
		s->listen_fds[i] = fd;
	}
	return 0;
}

/* Everything the child needs, prepared in the parent: after vfork() the
 * child may only make async-signal-safe system calls (it borrows our
 * memory until it execs), so no allocation, no stdio, no setenv. vfork
 * rather than fork: copying the supervisor's page tables dominated
 * restart latency (see make bench). */
typedef struct {
	char *argv[4];
	char **envp;
	char env_chan[32], env_svc[96], env_state[PATH_MAX + 32];
	char env_ctl[PATH_MAX + 32];
	char env_logtime[32];
	char env_listen[600];
	int chan, logw, devnull;
	int lfd[SV_MAX_LISTEN];
	int nlisten;
	int drop;
	sv_cred_t cred;
	int exe; /* the binary, opened by us: see child_exec */
	int cg;	 /* its cgroup's cgroup.procs, or -1 */
	struct rlimit nproc; /* with drop: its user's processes (and threads) */
} spawn_plan_t;

static int plan_env(spawn_plan_t *p, sv_svc_t *s, const char *state_dir)
{
	extern char **environ;
	size_t n = 0, k = 0, off = 0;
	while (environ[n])
		n++;
	p->envp = calloc(n + 7, sizeof(char *));
	if (!p->envp)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "PLSC_", 5) != 0)
			p->envp[k++] = environ[i];
	snprintf(p->env_chan, sizeof(p->env_chan), "%s=%d", PL_ENV_CHANNEL,
		 PL_CHANNEL_FD);
	snprintf(p->env_svc, sizeof(p->env_svc), "%s=%s", PL_ENV_SERVICE,
		 s->conf.name);
	(void)pl_fmt(p->env_state, sizeof(p->env_state), "%s=%s",
		     PL_ENV_STATE_DIR, state_dir);
	p->envp[k++] = p->env_chan;
	p->envp[k++] = p->env_svc;
	p->envp[k++] = p->env_state;
	/* Where the control socket is: for the console only. The socket's
	 * group (supervisor.admin_group), which only the console gets, is
	 * what keeps the others out; not telling them is the first line. */
	if (s->conf.role == SV_ROLE_CONSOLE && s->sup->ctl_path &&
	    pl_fmt(p->env_ctl, sizeof(p->env_ctl), "%s=%s", PL_ENV_CONTROL,
		   s->sup->ctl_path) == 0)
		p->envp[k++] = p->env_ctl;
	if (s->sup->cfg.log_local) {
		snprintf(p->env_logtime, sizeof(p->env_logtime), "%s=local",
			 PL_ENV_LOG_TIME);
		p->envp[k++] = p->env_logtime;
	}
	off = (size_t)snprintf(p->env_listen, sizeof(p->env_listen), "%s=",
			       PL_ENV_LISTEN);
	for (int i = 0; i < s->conf.nlisten; i++) {
		int m = snprintf(p->env_listen + off, sizeof(p->env_listen) - off,
				 "%s%s=%d", i ? "," : "", s->conf.listen[i].name,
				 PL_CHANNEL_FD + 1 + i);
		if (m > 0 && (size_t)m < sizeof(p->env_listen) - off)
			off += (size_t)m;
	}
	if (s->conf.nlisten)
		p->envp[k++] = p->env_listen;
	p->envp[k] = NULL;
	return 0;
}

static void child_say(const char *a, const char *b)
{
	/* write(2) only: we are a vfork child. Failures have nowhere to go. */
	if (write(2, a, strlen(a)) < 0 || write(2, b, strlen(b)) < 0 ||
	    write(2, "\n", 1) < 0)
		return;
}

/* Runs in the vfork child. */
static void child_exec(const spawn_plan_t *p, const char *path)
{
	sigset_t none;
	const int high = 64;
	int fds[SV_MAX_LISTEN];

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL); /* the one disposition exec would keep */
	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	/* Into its cgroup before anything else can run: nothing it starts
	 * is ever outside (a failure leaves the process group, logged). */
	if (p->cg >= 0 && write(p->cg, "0", 1) != 1)
		child_say("cannot join its cgroup: ", strerror(errno));
	if (p->drop && setrlimit(RLIMIT_NPROC, &p->nproc) < 0)
		child_say("cannot limit its processes: ", strerror(errno));
	/* Move everything above the fixed numbers first so no dup2 clobbers
	 * a descriptor still to be placed. Fixed numbers: 0 /dev/null, 1+2
	 * the log pipe, 3 the channel, 4.. the listening sockets. */
	int chan = fcntl(p->chan, F_DUPFD, high);
	int logw = fcntl(p->logw, F_DUPFD, high);
	int devnull = fcntl(p->devnull, F_DUPFD, high);
	for (int i = 0; i < p->nlisten; i++)
		fds[i] = fcntl(p->lfd[i], F_DUPFD, high);
	if (chan < 0 || logw < 0 || devnull < 0)
		_exit(127);
	dup2(devnull, 0);
	dup2(logw, 1);
	dup2(logw, 2);
	dup2(chan, PL_CHANNEL_FD);
	for (int i = 0; i < p->nlisten; i++)
		dup2(fds[i], PL_CHANNEL_FD + 1 + i);
	/* The binary's descriptor goes right after the fixed numbers,
	 * close-on-exec, and everything above it is closed. */
	int exe = -1, first_free = PL_CHANNEL_FD + 1 + p->nlisten;
	if (p->exe >= 0) {
		int hi = fcntl(p->exe, F_DUPFD, high);
		if (hi >= 0 && dup3(hi, first_free, O_CLOEXEC) == first_free)
			exe = first_free++;
	}
	closefrom(first_free);
	if (p->drop && (setgroups(p->cred.admin != (gid_t)-1 ? 1 : 0,
				  &p->cred.admin) < 0 ||
			setgid(p->cred.gid) < 0 || setuid(p->cred.uid) < 0 ||
			setuid(0) == 0)) {
		child_say("cannot drop privileges: ", strerror(errno));
		_exit(PL_EXIT_CONFIG);
	}
	/* The working directory may be one the service's user cannot enter. */
	if (chdir("/") < 0)
		_exit(127);
	/* Through the descriptor we opened as root: the service's user needs
	 * execute permission on the binary, not search permission on every
	 * directory above it (a checkout under /root is 0700). A script's
	 * interpreter could not reopen a close-on-exec descriptor (ENOENT):
	 * then by path. */
	if (exe >= 0)
		syscall(SYS_execveat, exe, "", p->argv, p->envp, AT_EMPTY_PATH);
	execve(path, p->argv, p->envp);
	child_say("cannot execute ", path);
	_exit(127);
}

static int prepare_state_dir(sv_svc_t *s, const sv_cred_t *cred, char *dir,
			     size_t sz)
{
	if (pl_fmt(dir, sz, "%s/%s", s->sup->cfg.state_dir, s->conf.name) < 0)
		return -1;
	if (pl_mkdir_p(dir, 0700) < 0)
		return -1;
	/* Each service owns its namespace, 0700: no other service's user can
	 * read its keys or jobs. (Without privilege separation cred is -1:
	 * the owner stays.) */
	int fd = sv_privsep_own_dir(dir, cred->uid, cred->gid, 0700);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

static void set_failed(sv_svc_t *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void set_failed(sv_svc_t *s, const char *fmt, ...)
{
	char msg[sizeof(s->last_exit)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	s->state = SV_FAILED;
	memcpy(s->last_exit, msg, sizeof(msg));
	pl_err("%s: %s", s->conf.name, s->last_exit);
	sv_check_shutdown(s->sup);
}

static void timer_fired(pl_loop_t *loop, void *arg)
{
	sv_svc_t *s = arg;
	(void)loop;
	s->timer = NULL;
	svc_event(s, EV_TIMER, 0);
}

static void spawn(sv_svc_t *s)
{
	char dir[PATH_MAX];
	int sp[2];

	sv_cred_t cred = { (uid_t)-1, (gid_t)-1, (gid_t)-1 };
	char msg[sizeof(s->last_exit)];

	if (access(s->conf.path, X_OK) < 0) {
		/* No binary yet (a later release ships it): a clear, steady
		 * state, not a restart loop. */
		set_failed(s, "binary not found or not executable: %s",
			   s->conf.path);
		return;
	}
	if (s->sup->drop_privs &&
	    sv_privsep_cred(s->sup, &s->conf, &cred, msg, sizeof(msg)) < 0) {
		set_failed(s, "%s", msg);
		return;
	}
	s->run_uid = cred.uid; /* the control socket tells services from admins */
	if (prepare_state_dir(s, &cred, dir, sizeof(dir)) < 0) {
		set_failed(s, "cannot prepare state dir: %s", strerror(errno));
		return;
	}
	if (bind_listen(s) < 0) {
		set_failed(s, "%s", s->last_exit);
		return;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0) {
		set_failed(s, "socketpair: %s", strerror(errno));
		return;
	}
	spawn_plan_t plan;
	memset(&plan, 0, sizeof(plan));
	plan.argv[0] = s->conf.path;
	plan.argv[1] = "--log-level";
	plan.argv[2] = s->conf.log_level;
	plan.chan = sp[1];
	plan.logw = s->log_w;
	plan.devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	plan.nlisten = s->conf.nlisten;
	for (int i = 0; i < plan.nlisten; i++)
		plan.lfd[i] = s->listen_fds[i];
	plan.drop = s->sup->drop_privs;
	plan.cred = cred;
	plan.exe = open(s->conf.path, O_PATH | O_CLOEXEC);
	plan.cg = sv_cgroup_prepare(s, s->conf.max_processes);
	plan.nproc.rlim_cur = plan.nproc.rlim_max = s->conf.max_processes;
	if (plan.devnull < 0 || plan_env(&plan, s, dir) < 0) {
		close(sp[0]);
		close(sp[1]);
		if (plan.devnull >= 0)
			close(plan.devnull);
		if (plan.exe >= 0)
			close(plan.exe);
		if (plan.cg >= 0)
			close(plan.cg);
		set_failed(s, "cannot prepare the child: %s", strerror(errno));
		return;
	}
	pid_t pid = vfork();
	if (pid == 0)
		child_exec(&plan, s->conf.path);
	free(plan.envp);
	close(plan.devnull);
	if (plan.exe >= 0)
		close(plan.exe);
	if (plan.cg >= 0)
		close(plan.cg);
	if (pid < 0) {
		close(sp[0]);
		close(sp[1]);
		set_failed(s, "fork: %s", strerror(errno));
		return;
	}
	close(sp[1]);
	/* Also from the parent side: no window where a signal to the group
	 * misses the child. */
	setpgid(pid, pid);
	s->pid = pid;
	s->last_pid = pid;
	s->chan = pl_chan_new(s->sup->loop, sp[0], SV_CHANNEL_MAX_FRAME,
			      SV_CHANNEL_MAX_QUEUE, &chan_ops, s);
	if (!s->chan) {
		close(sp[0]);
		sv_svc_kill(s, "cannot set up its channel");
	} else {
		/* A frame the child would refuse is not sent (sv_svc_send). */
		pl_chan_set_send_max(s->chan, SV_CHANNEL_MAX_FRAME);
	}
	s->state = SV_STARTING;
	s->started_at = pl_now_ms();
	s->kill_reason[0] = '\0';
	s->detail[0] = '\0';
	s->log.last_error[0] = '\0';
	s->ndenied_types = 0; /* a new process: its first denials are logged */
	s->stop_then = SV_STOP_REST;
	s->timer = pl_loop_timer(s->sup->loop, s->sup->cfg.start_timeout_ms,
				 timer_fired, s);
	pl_info("%s[%ld]: started %s", s->conf.name, (long)pid, s->conf.path);
}

/* ---- the restart policy ---- */

static void describe_exit(sv_svc_t *s, int status)
{
	if (WIFEXITED(status)) {
		int c = WEXITSTATUS(status);
		snprintf(s->last_exit, sizeof(s->last_exit), "exit %d%s", c,
			 c == PL_EXIT_CONFIG ? " (bad configuration)" :
			 c == 127 ? " (cannot execute)" : "");
	} else if (WIFSIGNALED(status)) {
		int sig = WTERMSIG(status);
		snprintf(s->last_exit, sizeof(s->last_exit), "signal %d (SIG%s)%s",
			 sig, sigabbrev_np(sig) ? sigabbrev_np(sig) : "?",
			 WCOREDUMP(status) ? ", core dumped" : "");
	}
	if (s->kill_reason[0]) {
		size_t n = strlen(s->last_exit);
		snprintf(s->last_exit + n, sizeof(s->last_exit) - n, ": %s",
			 s->kill_reason);
	} else if (WIFEXITED(status) && WEXITSTATUS(status) != 0 &&
		   s->log.last_error[0]) {
		/* Why, in the service's own words (its last error line): a
		 * path it cannot reach, a key it refuses. */
		size_t n = strlen(s->last_exit);
		snprintf(s->last_exit + n, sizeof(s->last_exit) - n, ": %s",
			 s->log.last_error);
	}
}

static uint32_t count_deaths(sv_svc_t *s, uint64_t now)
{
	uint32_t win = s->sup->cfg.death_window_ms, kept = 0;
	for (uint32_t i = 0; i < s->ndeaths; i++)
		if (now - s->deaths[i] <= win)
			s->deaths[kept++] = s->deaths[i];
	s->ndeaths = kept;
	if (s->ndeaths < SV_MAX_DEATHS)
		s->deaths[s->ndeaths++] = now;
	return s->ndeaths;
}

static uint32_t backoff_delay(sv_svc_t *s)
{
	const sv_config_t *c = &s->sup->cfg;
	uint64_t d;
	if (s->backoff_step == 0)
		d = c->restart_first_ms;
	else if (s->backoff_step > 20)
		d = c->restart_max_ms;
	else
		d = (uint64_t)c->restart_base_ms << (s->backoff_step - 1);
	if (d > c->restart_max_ms)
		d = c->restart_max_ms;
	s->backoff_step++;
	return (uint32_t)d;
}

static void schedule_restart(sv_svc_t *s, int was_ready, uint64_t now)
{
	const sv_config_t *c = &s->sup->cfg;
	uint32_t deaths = count_deaths(s, now);

	if (deaths >= c->max_deaths) {
		s->state = SV_FAILED;
		pl_err("%s: %u deaths in %u s; giving up until 'plsc restart %s'",
		       s->conf.name, deaths, c->death_window_ms / 1000,
		       s->conf.name);
		return;
	}
	uint32_t delay;
	if (!was_ready) {
		/* Died before it ever served: likely bad config or a missing
		 * resource, so don't hammer it (Postfix's throttle). */
		s->state = SV_THROTTLED;
		delay = c->throttle_ms;
	} else {
		if (now - s->ready_at >= c->stable_after_ms)
			s->backoff_step = 0; /* a stable run forgives */
		s->state = SV_BACKOFF;
		delay = backoff_delay(s);
	}
	pl_notice("%s: restarting in %u ms (%s)", s->conf.name, delay,
		  sv_state_name(s->state));
	s->timer = pl_loop_timer(s->sup->loop, delay, timer_fired, s);
}

/* ---- actions: one per (state, event) cell of the table ---- */

/* START where nothing runs: a fresh start (a new death tally). */
static void act_start(sv_svc_t *s, int arg)
{
	(void)arg;
	if (s->sup->shutting_down)
		return;
	cancel_timers(s);
	if (!sv_svc_enabled(s)) {
		s->state = SV_DISABLED;
		return;
	}
	s->ndeaths = 0;
	s->backoff_step = 0;
	spawn(s);
}

/* TIMER in BACKOFF or THROTTLED: the restart delay is over. */
static void act_respawn(sv_svc_t *s, int arg)
{
	(void)arg;
	s->restarts++;
	spawn(s);
}

/* Where a stop leads once nothing runs (arg: SV_STOP_*). */
static void act_settle(sv_svc_t *s, int then)
{
	cancel_timers(s);
	switch (then) {
	case SV_STOP_DISABLE:
		s->state = SV_DISABLED;
		break;
	case SV_STOP_RESTART:
		s->state = SV_STOPPED;
		act_start(s, 0);
		break;
	case SV_STOP_REMOVE:
		s->state = SV_STOPPED;
		s->removed = 1;
		break;
	default:
		s->state = sv_svc_enabled(s) ? SV_STOPPED : SV_DISABLED;
	}
}

/* STOP of a live child: SHUTDOWN (or SIGTERM before HELLO), then the
 * grace timer. */
static void act_stop(sv_svc_t *s, int then)
{
	s->stop_then = then;
	s->state = SV_STOPPING;
	cancel_timers(s);
	pl_info("%s[%ld]: stopping", s->conf.name, (long)s->pid);
	if (s->helloed)
		send_simple(s, PL_MSG_SHUTDOWN, 0, s->sup->cfg.stop_grace_ms);
	else
		kill(s->pid, SIGTERM);
	s->timer = pl_loop_timer(s->sup->loop, s->sup->cfg.stop_grace_ms,
				 timer_fired, s);
}

/* STOP while already stopping: only where it leads changes. */
static void act_retarget(sv_svc_t *s, int then)
{
	s->stop_then = then;
}

static void act_ready(sv_svc_t *s, int arg)
{
	(void)arg;
	pl_loop_timer_cancel(s->sup->loop, s->timer);
	s->timer = NULL;
	s->state = SV_RUNNING;
	s->ready_at = s->last_pong = pl_now_ms();
	pl_info("%s[%ld]: ready after %llu ms", s->conf.name, (long)s->pid,
		(unsigned long long)(s->ready_at - s->started_at));
	s->hb = pl_loop_timer(s->sup->loop, s->sup->cfg.heartbeat_interval_ms,
			      heartbeat, s);
}

static void act_start_timeout(sv_svc_t *s, int arg)
{
	(void)arg;
	pl_err("%s[%ld]: not ready after %u ms; killing it", s->conf.name,
	       (long)s->pid, s->sup->cfg.start_timeout_ms);
	sv_svc_kill(s, "not ready in time");
}

static void act_grace_over(sv_svc_t *s, int arg)
{
	(void)arg;
	pl_warn("%s[%ld]: still running %u ms after SHUTDOWN; killing it",
		s->conf.name, (long)s->pid, s->sup->cfg.stop_grace_ms);
	sv_svc_kill(s, "did not stop within the grace period");
}

/* EXIT of a child we asked to stop. */
static void act_stopped(sv_svc_t *s, int status)
{
	(void)status;
	act_settle(s, s->stop_then);
}

/* EXIT of a child nobody asked to stop (arg: the wait status). */
static void act_died(sv_svc_t *s, int status)
{
	int was_ready = s->state == SV_RUNNING;
	if (!was_ready)
		s->ready_at = 0;
	if (s->sup->shutting_down) {
		act_settle(s, SV_STOP_REST);
	} else if (WIFEXITED(status) && WEXITSTATUS(status) == PL_EXIT_CONFIG) {
		s->state = SV_FAILED;
		pl_err("%s: bad configuration; fix it, then 'plsc restart %s'",
		       s->conf.name, s->conf.name);
	} else if (!sv_svc_enabled(s)) {
		s->state = SV_DISABLED;
	} else {
		schedule_restart(s, was_ready, pl_now_ms());
	}
}

/* ---- the table ---- */

typedef void sv_action_fn(sv_svc_t *s, int arg);

/* NULL: the event means nothing in that state (a READY from a child
 * being stopped, a START of one that runs) and is ignored. */
static sv_action_fn *const fsm[][EV_COUNT] = {
	/*               START      STOP          READY      EXIT         TIMER */
	[SV_DISABLED]  = { act_start, act_settle,   NULL,      NULL,        NULL },
	[SV_STOPPED]   = { act_start, act_settle,   NULL,      NULL,        NULL },
	[SV_STARTING]  = { NULL,      act_stop,     act_ready, act_died,    act_start_timeout },
	[SV_RUNNING]   = { NULL,      act_stop,     NULL,      act_died,    NULL },
	[SV_BACKOFF]   = { act_start, act_settle,   NULL,      NULL,        act_respawn },
	[SV_THROTTLED] = { act_start, act_settle,   NULL,      NULL,        act_respawn },
	[SV_FAILED]    = { act_start, act_settle,   NULL,      NULL,        NULL },
	[SV_STOPPING]  = { NULL,      act_retarget, NULL,      act_stopped, act_grace_over },
};

static void svc_event(sv_svc_t *s, int ev, int arg)
{
	if ((unsigned)s->state >= PL_ARRAY_LEN(fsm) || ev < 0 || ev >= EV_COUNT)
		return;
	sv_action_fn *fn = fsm[s->state][ev];
	if (fn)
		fn(s, arg);
	/* Ready, failed or given up: the services held back for the
	 * directory's writer go (main.c). */
	if (s->conf.role == SV_ROLE_DIRECTORY && s->state != SV_STARTING)
		sv_start_held(s->sup);
}

void sv_svc_start(sv_svc_t *s)
{
	svc_event(s, EV_START, 0);
}

void sv_svc_stop(sv_svc_t *s, int then)
{
	svc_event(s, EV_STOP, then);
}

void sv_svc_exited(sv_svc_t *s, int status)
{
	uint64_t now = pl_now_ms();
	/* The child's last words first: describe_exit may quote them. */
	drain_log(s);
	sv_logfile_flush(&s->log, s->pid);
	describe_exit(s, status);
	pl_log(status == 0 || s->state == SV_STOPPING ? PL_LOG_INFO : PL_LOG_WARN,
	       "%s[%ld]: exited: %s (ran %llu ms)", s->conf.name, (long)s->pid,
	       s->last_exit, (unsigned long long)(now - s->started_at));
	/* What it started goes with it, before any restart: a helper that
	 * outlived it (setsid, a double fork) must not hold its port or its
	 * files against the next instance. */
	int left = sv_cgroup_kill(s);
	if (left > 0)
		pl_warn("%s: killed %d process%s it left behind", s->conf.name, left,
			left == 1 ? "" : "es");
	s->pid = 0;
	chan_close(s);
	sv_jobops_service_gone(s->sup, s);
	sv_syncreq_service_gone(s->sup, s);
	cancel_timers(s);
	svc_event(s, EV_EXIT, status);
	sv_check_shutdown(s->sup);
}
