/* plsc-testsvc: a service for the supervisor's integration tests, built on
 * the real service runtime. Its section of the config says how to
 * misbehave:
 *   "mode": "normal" | "crash" (abort crash_after_ms after READY)
 *           | "exit_before_ready" | "bad_config" (exit 78) | "hang_on_start"
 *           | "rogue" (a compromised service: rogue.c)
 *           | "escape" (start a helper that leaves the process group with
 *             setsid and lives on; its pid goes to the "escapee" file)
 *   "crash_after_ms": N, "flood_lines": N, "flood_line_len": N,
 *   "stop_delay_ms": N (delay a graceful stop), "ignore_shutdown": bool,
 *   "peer": NAME (send ECHO to NAME every echo_ms and log the replies)
 * Signals at run time: SIGUSR1 hangs the main loop (heartbeats stop),
 * SIGUSR2 crashes (abort). It writes "pid" and "uid" files to its state
 * directory so tests can find it. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pl_log.h"
#include "pl_service.h"
#include "pl_util.h"
#include "rogue.h"

typedef struct {
	pl_service_t *svc;
	long long crash_after_ms, flood_lines, flood_len, stop_delay_ms, echo_ms;
	int ignore_shutdown;
	const char *peer;
	uint32_t seq;
} tsvc_t;

static void write_fact(pl_service_t *svc, const char *name, long v)
{
	char path[4096], buf[32];
	snprintf(path, sizeof(path), "%s/%s", pl_service_state_dir(svc), name);
	snprintf(buf, sizeof(buf), "%ld\n", v);
	pl_write_file_atomic(path, buf, strlen(buf), 0644);
}

static void crash_now(pl_loop_t *loop, void *arg)
{
	(void)loop;
	(void)arg;
	fprintf(stderr, "testsvc: crashing on request\n");
	abort();
}

static void hang(pl_loop_t *loop, int signo, void *arg)
{
	(void)loop;
	(void)signo;
	(void)arg;
	pl_warn("hanging on request");
	for (;;)
		pause();
}

static void crash_sig(pl_loop_t *loop, int signo, void *arg)
{
	(void)signo;
	crash_now(loop, arg);
}

static void flood(const tsvc_t *t)
{
	char *line = malloc((size_t)t->flood_len + 1);
	if (!line)
		return;
	for (long long i = 0; i < t->flood_lines; i++) {
		/* Each line carries its number so a test can prove none was
		 * lost or split. */
		int n = snprintf(line, (size_t)t->flood_len + 1, "flood %08lld ", i);
		memset(line + n, 'x', (size_t)(t->flood_len - n));
		line[t->flood_len] = '\0';
		pl_info("%s", line);
	}
	free(line);
	pl_info("flood done %lld lines", t->flood_lines);
}

static void echo_tick(pl_loop_t *loop, void *arg)
{
	tsvc_t *t = arg;
	pl_msg_t m;
	if (pl_msg_init(&m, PL_MSG_ECHO, 0, ++t->seq) == 0) {
		pl_msg_add_str(&m, PL_TAG_TO, t->peer);
		pl_msg_add_str(&m, PL_TAG_PAYLOAD, "ping");
		if (pl_msg_finish(&m) == 0)
			pl_service_send(t->svc, &m);
		pl_msg_free(&m);
	}
	pl_loop_timer(loop, (uint64_t)t->echo_ms, echo_tick, t);
}

/* A connection on the socket the supervisor bound for us gets one line
 * naming us, so tests can prove the socket was handed over. */
static void on_accept(pl_loop_t *loop, int fd, uint32_t ev, void *arg)
{
	tsvc_t *t = arg;
	char line[128];
	(void)loop;
	(void)ev;
	int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
	if (c < 0)
		return;
	int n = snprintf(line, sizeof(line), "testsvc %s uid %ld\n",
			 pl_service_name(t->svc), (long)getuid());
	if (write(c, line, (size_t)n) < 0)
		pl_warn("write: %s", strerror(errno));
	close(c);
}

/* "mode": "sandbox_probe": try what the sandbox must refuse, and write
 * what happened to "probe" in the state dir, one "what=errno-name" a line
 * ("0" when it worked): "write" creates probe_write (a path outside the
 * state dir), "read" reads probe_read (e.g. another service's file),
 * "etc" reads /etc/passwd (system paths stay readable), "own" writes in
 * its own state dir. */
static const char *probe_errno(int ok)
{
	const char *name = ok ? "0" : strerrorname_np(errno);
	return name ? name : "?";
}

static void sandbox_probe(pl_service_t *svc, const pl_cnode_t *cfg)
{
	pl_err_t err;
	const char *wpath = NULL, *rpath = NULL;
	char buf[512], own[4096];
	int n = 0;
	if (pl_cnode_str(cfg, "probe_write", NULL, &wpath, &err) < 0 ||
	    pl_cnode_str(cfg, "probe_read", NULL, &rpath, &err) < 0)
		pl_err("%s", err.msg);
	if (wpath) {
		int fd = open(wpath, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, "write=%s\n", probe_errno(fd >= 0));
		if (fd >= 0)
			close(fd);
	}
	if (rpath) {
		int fd = open(rpath, O_RDONLY | O_CLOEXEC);
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, "read=%s\n", probe_errno(fd >= 0));
		if (fd >= 0)
			close(fd);
	}
	int fd = open("/etc/passwd", O_RDONLY | O_CLOEXEC);
	n += snprintf(buf + n, sizeof(buf) - (size_t)n, "etc=%s\n", probe_errno(fd >= 0));
	if (fd >= 0)
		close(fd);
	snprintf(own, sizeof(own), "%s/probe-own", pl_service_state_dir(svc));
	int ok = pl_write_file_atomic(own, "x", 1, 0600) == 0;
	n += snprintf(buf + n, sizeof(buf) - (size_t)n, "own=%s\n", probe_errno(ok));
	snprintf(own, sizeof(own), "%s/probe", pl_service_state_dir(svc));
	pl_write_file_atomic(own, buf, (size_t)n, 0644);
}

/* "mode": "escape": a helper that setsid()s out of the service's process
 * group and outlives it, unless its cgroup is killed. */
static void escape(pl_service_t *svc)
{
	pid_t pid = fork();
	if (pid == 0) {
		setsid();
		if (fork() > 0) /* and a double fork: not our child either */
			_exit(0);
		write_fact(svc, "escapee", (long)getpid());
		for (;;)
			pause();
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
}

static int ts_start(pl_service_t *svc, const pl_cnode_t *cfg, void *ctx)
{
	tsvc_t *t = ctx;
	pl_err_t err;
	const char *mode;

	t->svc = svc;
	if (pl_cnode_str(cfg, "mode", "normal", &mode, &err) < 0 ||
	    pl_cnode_int(cfg, "crash_after_ms", 0, 3600000, 100, &t->crash_after_ms, &err) < 0 ||
	    pl_cnode_int(cfg, "flood_lines", 0, 100000000, 0, &t->flood_lines, &err) < 0 ||
	    pl_cnode_int(cfg, "flood_line_len", 20, 4000, 200, &t->flood_len, &err) < 0 ||
	    pl_cnode_int(cfg, "stop_delay_ms", 0, 3600000, 0, &t->stop_delay_ms, &err) < 0 ||
	    pl_cnode_int(cfg, "echo_ms", 1, 3600000, 200, &t->echo_ms, &err) < 0 ||
	    pl_cnode_bool(cfg, "ignore_shutdown", 0, &t->ignore_shutdown, &err) < 0 ||
	    pl_cnode_str(cfg, "peer", NULL, &t->peer, &err) < 0) {
		pl_err("%s", err.msg);
		return PL_EXIT_CONFIG;
	}
	write_fact(svc, "pid", (long)getpid());
	write_fact(svc, "uid", (long)getuid());
	printf("raw output from testsvc pid %ld\n", (long)getpid());
	fflush(stdout);
	if (strcmp(mode, "bad_config") == 0) {
		pl_err("%s.mode: bad_config requested", "services");
		return PL_EXIT_CONFIG;
	}
	if (strcmp(mode, "exit_before_ready") == 0) {
		pl_err("exiting before ready on request");
		return 1;
	}
	if (strcmp(mode, "hang_on_start") == 0)
		hang(NULL, 0, NULL);
	pl_loop_t *loop = pl_service_loop(svc);
	pl_loop_signal(loop, SIGUSR1, hang, t);
	pl_loop_signal(loop, SIGUSR2, crash_sig, t);
	if (strcmp(mode, "crash") == 0)
		pl_loop_timer(loop, (uint64_t)t->crash_after_ms, crash_now, t);
	else if (strcmp(mode, "sandbox_probe") == 0)
		sandbox_probe(svc, cfg);
	else if (strcmp(mode, "escape") == 0)
		escape(svc);
	else if (strcmp(mode, "rogue") == 0) {
		int rc = rogue_start(svc, cfg);
		if (rc)
			return rc;
	} else if (strcmp(mode, "normal") != 0) {
		pl_cnode_error(cfg, "mode", &err, "unknown mode");
		pl_err("%s", err.msg);
		return PL_EXIT_CONFIG;
	}
	int lfd = pl_service_listen_fd(svc, "main");
	if (lfd >= 0) {
		pl_info("serving on inherited socket fd %d", lfd);
		pl_loop_watch(loop, lfd, EPOLLIN, on_accept, t);
	}
	if (t->flood_lines)
		flood(t);
	if (t->peer)
		pl_loop_timer(loop, (uint64_t)t->echo_ms, echo_tick, t);
	return 0;
}

static int ts_reconfig(pl_service_t *svc, const pl_cnode_t *cfg, void *ctx)
{
	(void)svc;
	(void)ctx;
	char *s = json_dumps(cfg->node, JSON_COMPACT | JSON_SORT_KEYS);
	pl_info("reconfigured: %s", s ? s : "?");
	free(s);
	return 0;
}

static void stop_later(pl_loop_t *loop, void *arg)
{
	(void)loop;
	tsvc_t *t = arg;
	pl_info("graceful stop complete");
	pl_service_exit(t->svc, 0);
}

static void ts_shutdown(pl_service_t *svc, uint32_t grace_ms, void *ctx)
{
	tsvc_t *t = ctx;
	(void)grace_ms;
	if (t->ignore_shutdown) {
		/* Wedge the main loop, so even the runtime's own grace timer
		 * cannot fire: only the supervisor's SIGKILL ends this. */
		pl_warn("ignoring SHUTDOWN on request");
		signal(SIGTERM, SIG_IGN);
		for (;;)
			pause();
	}
	pl_loop_timer(pl_service_loop(svc), (uint64_t)t->stop_delay_ms,
		      stop_later, t);
}

static void ts_message(pl_service_t *svc, const pl_frame_t *f, void *ctx)
{
	char from[64] = "?", payload[256] = "";
	(void)ctx;
	pl_frame_get_str(f, PL_TAG_FROM, from, sizeof(from));
	pl_frame_get_str(f, PL_TAG_PAYLOAD, payload, sizeof(payload));
	if (f->fd >= 0)
		close(f->fd);
	if (f->type == PL_MSG_RESULT) {
		char msg[256] = "";
		pl_frame_get_str(f, PL_TAG_MESSAGE, msg, sizeof(msg));
		pl_info("result seq %u: %s", f->seq, msg);
		return;
	}
	if (f->type != PL_MSG_ECHO)
		return;
	if (f->flags & PL_FLAG_REPLY) {
		pl_info("echo reply seq %u from %s: %s", f->seq, from, payload);
		return;
	}
	pl_info("echo request seq %u from %s: %s", f->seq, from, payload);
	pl_msg_t m;
	if (pl_msg_init(&m, PL_MSG_ECHO, PL_FLAG_REPLY, f->seq) == 0) {
		pl_msg_add_str(&m, PL_TAG_TO, from);
		pl_msg_add_str(&m, PL_TAG_PAYLOAD, "pong");
		if (pl_msg_finish(&m) == 0)
			pl_service_send(svc, &m);
		pl_msg_free(&m);
	}
}

int main(int argc, char **argv)
{
	static const pl_service_def_t def = {
		.name = "plsc-testsvc",
		.summary = "Test service for the supervisor's integration tests.",
		.help = "Config keys: mode, crash_after_ms, flood_lines, flood_line_len,\n"
			"stop_delay_ms, ignore_shutdown, peer, echo_ms.\n",
		/* No PL_CAP_HOLDS_JOBS: it answers no JOBS_QUERY, and a job
		 * operation would wait out its deadline for it. */
		.start = ts_start,
		.reconfig = ts_reconfig,
		.shutdown = ts_shutdown,
		.message = ts_message,
	};
	tsvc_t t;
	memset(&t, 0, sizeof(t));
	return pl_service_main(argc, argv, &def, &t);
}
