/* plsc-supervisor: reads the config, binds listening sockets, forks one
 * binary per enabled service, captures its output, restarts it when it
 * dies or hangs, routes messages, answers the control socket. It parses
 * no network input (DESIGN.md §1). */
#include "sv.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pl_log.h"
#include "pl_service.h"
#include "pl_util.h"


typedef struct {
	const char *config;
	int check_only;
	int create_users;
	int print_default;
	const char *base;
	const char *prefix;
	int quiet;
} sv_args_t;

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: plsc-supervisor [-c FILE] [-n] [-q]\n"
		"       plsc-supervisor --print-default-config [--base DIR] [--prefix DIR]\n"
		"Supervise the Service Client's services (see plsc-supervisor(8)).\n\n"
		"  -c, --config FILE   configuration (default %s)\n"
		"  -n, --check         check the configuration and exit: 0 ok, 1 error\n"
		"  -q, --quiet         do not copy the supervisor's log to stderr\n"
		"      --create-users  as root: create the groups and each service's\n"
		"                      system user that the configuration names, then exit\n"
		"      --print-default-config  print a complete default configuration\n"
		"      --base DIR      with --print-default-config: state, log and run\n"
		"                      directories under DIR (development)\n"
		"      --prefix DIR    with --print-default-config: services live in\n"
		"                      DIR/libexec/plsc (default %s)\n"
		"  -h, --help          this text\n"
		"  -V, --version       print the version\n",
		PL_DEFAULT_CONFIG_FILE, PL_PREFIX);
}

static int parse_args(int argc, char **argv, sv_args_t *a)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 'n' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "print-default-config", no_argument, NULL, 'D' },
		{ "create-users", no_argument, NULL, 'U' },
		{ "base", required_argument, NULL, 'B' },
		{ "prefix", required_argument, NULL, 'P' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(a, 0, sizeof(*a));
	a->config = getenv("PLSC_CONFIG") ? getenv("PLSC_CONFIG")
					  : PL_DEFAULT_CONFIG_FILE;
	while ((c = getopt_long(argc, argv, "c:nqhV", opts, NULL)) != -1) {
		switch (c) {
		case 'c': a->config = optarg; break;
		case 'n': a->check_only = 1; break;
		case 'q': a->quiet = 1; break;
		case 'D': a->print_default = 1; break;
		case 'U': a->create_users = 1; break;
		case 'B': a->base = optarg; break;
		case 'P': a->prefix = optarg; break;
		case 'h': usage(stdout); return 1;
		case 'V': printf("plsc-supervisor %s\n", PL_VERSION); return 1;
		default: usage(stderr); return 3;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "plsc-supervisor: unexpected argument '%s'\n",
			argv[optind]);
		return 3;
	}
	return 0;
}

static int print_default(const sv_args_t *a)
{
	const char *prefix = a->prefix ? a->prefix : PL_PREFIX;
	char *text = sv_config_default(a->base, prefix);
	if (!text)
		return 1;
	printf("%s\n", text);
	free(text);
	return 0;
}

sv_svc_t *sv_find(sv_sup_t *sup, const char *name)
{
	for (int i = 0; i < sup->nsvcs; i++)
		if (strcmp(sup->svcs[i]->conf.name, name) == 0)
			return sup->svcs[i];
	return NULL;
}

/* ---- start-up ---- */

static int make_dirs(const sv_sup_t *sup)
{
	const sv_config_t *c = &sup->cfg;
	const char *dirs[] = { c->state_dir, c->log_dir, c->run_dir };
	char msg[PATH_MAX + 128];
	for (size_t i = 0; i < PL_ARRAY_LEN(dirs); i++) {
		if (pl_mkdir_p(dirs[i], 0755) < 0) {
			fprintf(stderr, "plsc-supervisor: cannot create %s: %s\n",
				dirs[i], strerror(errno));
			return -1;
		}
		/* Made earlier by someone else (plsc as root with umask 077,
		 * before our first start): put right, as systemd's
		 * StateDirectory= would, or no service can reach its own. */
		int rc = sup->drop_privs ? sv_privsep_base_dir(dirs[i], msg, sizeof(msg)) : 0;
		if (rc < 0) {
			fprintf(stderr, "plsc-supervisor: %s\n", msg);
			return -1;
		}
		if (rc > 0)
			fprintf(stderr, "plsc-supervisor: %s\n", msg);
	}
	return 0;
}

/* The shared directory database (printers, tokens, users) lives in
 * <state_dir>/directory: with privilege separation it belongs to its one
 * writer (plsc-directory's user) and the services' group, which reads it
 * (privsep.c). */
static int make_directory_dir(sv_sup_t *sup)
{
	char msg[PATH_MAX + 128];
	uid_t uid;
	gid_t gid;
	int rc = sv_privsep_directory_owner(&sup->cfg, &uid, &gid, msg, sizeof(msg));
	if (rc == 0)
		rc = sv_privsep_directory(sup->cfg.state_dir, (uid_t)-1, (gid_t)-1,
					  msg, sizeof(msg));
	else if (rc > 0)
		rc = sv_privsep_directory(sup->cfg.state_dir, uid, gid, msg,
					  sizeof(msg));
	if (rc < 0) {
		fprintf(stderr, "plsc-supervisor: %s: %s\n", sup->cfg.file, msg);
		return -1;
	}
	return 0;
}

static int open_ownlog(sv_sup_t *sup)
{
	pl_log_set_local_time(sup->cfg.log_local);
	char path[PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s/%s.log", sup->cfg.log_dir, SV_OWNLOG);
	if (sv_logfile_open(&sup->ownlog, path, SV_OWNLOG,
			    sup->cfg.log_max_bytes, sup->cfg.log_keep) < 0) {
		fprintf(stderr, "plsc-supervisor: cannot open %s: %s\n", path,
			strerror(errno));
		return -1;
	}
	pl_log_init(SV_OWNLOG, (pl_log_level_t)pl_log_level_parse(sup->cfg.log_level),
		    sup->ownlog.fd);
	/* Until start-up succeeded, errors go to stderr too, -q or not: a
	 * failed start must say why where the operator is looking. */
	pl_log_set_tee(2);
	return 0;
}

static void ownlog_check(pl_loop_t *loop, void *arg)
{
	sv_sup_t *sup = arg;
	struct stat st;
	/* pl_log writes straight to the fd; rotate between lines here. */
	if (fstat(sup->ownlog.fd, &st) == 0 &&
	    (uint64_t)st.st_size > sup->cfg.log_max_bytes) {
		sv_logfile_rotate(&sup->ownlog);
		pl_log_init(SV_OWNLOG, pl_log_get_level(), sup->ownlog.fd);
	}
	/* Summaries of rate-limited lines, every 10 s. */
	if (++sup->ticks % 10 == 0)
		pl_log_flush_suppressed();
	pl_loop_timer(loop, 1000, ownlog_check, sup);
}

static int add_service(sv_sup_t *sup, const sv_svcconf_t *sc)
{
	sv_svc_t *s = calloc(1, sizeof(*s));
	if (!s || sup->nsvcs >= SV_MAX_SERVICES)
		goto fail;
	if (sv_svc_init(s, sup, sc) < 0) {
		sv_svc_free(s);
		goto fail;
	}
	sup->svcs[sup->nsvcs++] = s;
	return 0;
fail:
	free(s);
	pl_err("%s: cannot set up supervision", sc->name);
	return -1;
}

/* ---- signals ---- */

static void reap(pl_loop_t *loop, int signo, void *arg)
{
	sv_sup_t *sup = arg;
	int status;
	pid_t pid;
	(void)loop;
	(void)signo;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (int i = 0; i < sup->nsvcs; i++) {
			if (sup->svcs[i]->pid == pid) {
				sv_svc_exited(sup->svcs[i], status);
				break;
			}
		}
	}
}

static void on_hup(pl_loop_t *loop, int signo, void *arg)
{
	(void)loop;
	pl_err_t err;
	(void)signo;
	pl_info("SIGHUP: reloading the configuration");
	sv_reload(arg, &err);
}

static void on_term(pl_loop_t *loop, int signo, void *arg)
{
	(void)loop;
	pl_info("signal %d: stopping every service", signo);
	sv_begin_shutdown(arg);
}

/* ---- reload ---- */

static void reload_service(sv_sup_t *sup, sv_svc_t *s, const sv_svcconf_t *nc)
{
	int restart = sv_svcconf_needs_restart(&s->conf, nc);
	int resend = !sv_svcconf_section_equal(&s->conf, nc);

	/* Sockets are kept across restarts (no refused connects), so a
	 * changed listen list must drop the old ones whatever the state. A
	 * running child keeps its own copies until it restarts. */
	if (!sv_svcconf_listen_equal(&s->conf, nc))
		sv_svc_close_listen(s);

	sv_svcconf_t was = s->conf;
	if (sv_svcconf_copy(&s->conf, nc) < 0) {
		pl_err("%s: out of memory; its configuration is not changed", s->conf.name);
		return;
	}
	sv_svcconf_clear(&was);
	sv_logfile_set_limits(&s->log, sup->cfg.log_max_bytes, sup->cfg.log_keep);
	int now_enabled = sv_svc_enabled(s);
	if (!now_enabled) {
		sv_svc_stop(s, SV_STOP_DISABLE);
	} else if (s->pid <= 0) {
		/* Includes failed and throttled: a reload is a new chance. */
		sv_svc_start(s);
	} else if (restart) {
		pl_info("%s: path, sockets or log level changed; restarting",
			s->conf.name);
		sv_svc_stop(s, SV_STOP_RESTART);
	} else if (resend && s->helloed) {
		pl_info("%s: sending new configuration", s->conf.name);
		sv_svc_send_config(s);
	}
}

int sv_reload(sv_sup_t *sup, pl_err_t *err)
{
	sv_config_t nc;

	if (sv_config_load(sup->config_file, &nc, err) < 0) {
		pl_err("reload failed, keeping the running configuration: %s",
		       err->msg);
		return -1;
	}
	if (strcmp(nc.state_dir, sup->cfg.state_dir) ||
	    strcmp(nc.log_dir, sup->cfg.log_dir) ||
	    strcmp(nc.run_dir, sup->cfg.run_dir) ||
	    nc.privsep != sup->cfg.privsep || strcmp(nc.group, sup->cfg.group) ||
	    strcmp(nc.admin_group, sup->cfg.admin_group))
		pl_warn("paths, privsep and groups change only on a supervisor restart");
	/* The paths in force stay (the new ones go with the old config). */
	char *keep[] = { sup->cfg.state_dir, sup->cfg.log_dir, sup->cfg.run_dir };
	sup->cfg.state_dir = nc.state_dir;
	sup->cfg.log_dir = nc.log_dir;
	sup->cfg.run_dir = nc.run_dir;
	nc.state_dir = keep[0];
	nc.log_dir = keep[1];
	nc.run_dir = keep[2];
	nc.privsep = sup->cfg.privsep;
	pl_strlcpy(nc.group, sup->cfg.group, sizeof(nc.group));
	pl_strlcpy(nc.admin_group, sup->cfg.admin_group, sizeof(nc.admin_group));
	sv_config_t old = sup->cfg;
	sup->cfg = nc;
	pl_log_set_level((pl_log_level_t)pl_log_level_parse(nc.log_level));
	pl_log_set_local_time(nc.log_local); /* services: at their next start */
	sv_logfile_set_limits(&sup->ownlog, nc.log_max_bytes, nc.log_keep);
	sv_logfile_set_limits(&sup->events, nc.log_max_bytes, nc.log_keep);
	sv_state_dirs_make(sup);
	for (int i = 0; i < sup->nsvcs; i++) {
		sv_svc_t *s = sup->svcs[i];
		const sv_svcconf_t *sc = sv_config_find(&nc, s->conf.name);
		if (sc) {
			reload_service(sup, s, sc);
		} else {
			pl_info("%s: removed from the configuration", s->conf.name);
			sv_svc_stop(s, SV_STOP_REMOVE);
		}
	}
	for (int i = 0; i < nc.nsvcs; i++) {
		if (sv_find(sup, nc.svcs[i].name))
			continue;
		if (add_service(sup, &nc.svcs[i]) == 0) {
			sv_overrides_load(sup);
			sv_svc_start(sup->svcs[sup->nsvcs - 1]);
		}
	}
	sv_config_free(&old);
	malloc_trim(0);
	sv_check_shutdown(sup);
	pl_info("configuration reloaded from %s", sup->config_file);
	return 0;
}

/* ---- start-up order ---- */

static void hold_expired(pl_loop_t *loop, void *arg)
{
	sv_sup_t *sup = arg;
	(void)loop;
	sup->hold_timer = NULL;
	pl_warn("the directory's writer is not ready after %u ms; starting "
		"the other services anyway", sup->cfg.start_timeout_ms);
	sv_start_held(sup);
}

/* The directory's writer first. The services that read the directory
 * cannot create it (privsep.c), so on a first start they would fail and
 * be throttled until it exists; they start once the writer is ready, or
 * has failed, or after start_timeout_ms at most (s6's readiness
 * dependency, for the one dependency there is). */
static void start_all(sv_sup_t *sup)
{
	for (int i = 0; i < sup->nsvcs; i++) {
		sv_svc_t *s = sup->svcs[i];
		if (s->conf.role == SV_ROLE_DIRECTORY && sv_svc_enabled(s)) {
			sup->holding = 1;
			sv_svc_start(s);
		}
	}
	if (!sup->holding) {
		for (int i = 0; i < sup->nsvcs; i++)
			sv_svc_start(sup->svcs[i]);
		return;
	}
	sup->hold_timer = pl_loop_timer(sup->loop, sup->cfg.start_timeout_ms,
					hold_expired, sup);
	/* The writer may have failed at once (no binary). */
	for (int i = 0; i < sup->nsvcs; i++)
		if (sup->svcs[i]->conf.role == SV_ROLE_DIRECTORY &&
		    sup->svcs[i]->state != SV_STARTING)
			sv_start_held(sup);
}

void sv_start_held(sv_sup_t *sup)
{
	if (!sup->holding)
		return;
	sup->holding = 0;
	pl_loop_timer_cancel(sup->loop, sup->hold_timer);
	sup->hold_timer = NULL;
	/* Only those never started: the writer keeps its own restart delay. */
	for (int i = 0; i < sup->nsvcs; i++)
		if (sup->svcs[i]->state == SV_STOPPED)
			sv_svc_start(sup->svcs[i]);
}

/* ---- shutdown ---- */

static void shutdown_expired(pl_loop_t *loop, void *arg)
{
	sv_sup_t *sup = arg;
	sup->shutdown_timer = NULL;
	for (int i = 0; i < sup->nsvcs; i++)
		sv_svc_kill(sup->svcs[i], "supervisor shutdown");
	pl_loop_stop(loop);
}

void sv_begin_shutdown(sv_sup_t *sup)
{
	if (sup->shutting_down)
		return;
	sup->shutting_down = 1;
	sup->holding = 0; /* the held-back services stay stopped */
	pl_loop_timer_cancel(sup->loop, sup->hold_timer);
	sup->hold_timer = NULL;
	for (int i = 0; i < sup->nsvcs; i++) {
		sv_svc_t *s = sup->svcs[i];
		if (s->pid > 0)
			sv_svc_stop(s, SV_STOP_REST);
		else if (s->state == SV_BACKOFF || s->state == SV_THROTTLED)
			sv_svc_stop(s, SV_STOP_REST); /* cancels the restart */
		/* failed and disabled stay visible as they are */
	}
	/* Each child has stop_grace_ms; add a margin for the SIGKILL. */
	sup->shutdown_timer = pl_loop_timer(sup->loop,
					    sup->cfg.stop_grace_ms + 1000,
					    shutdown_expired, sup);
	sv_check_shutdown(sup);
}

void sv_check_shutdown(sv_sup_t *sup)
{
	/* Drop services removed by a reload once their child is gone. */
	for (int i = 0; i < sup->nsvcs; i++) {
		sv_svc_t *s = sup->svcs[i];
		if (s->removed && s->pid <= 0) {
			sv_svc_free(s);
			free(s);
			memmove(&sup->svcs[i], &sup->svcs[i + 1],
				sizeof(sup->svcs[0]) * (size_t)(sup->nsvcs - i - 1));
			sup->nsvcs--;
			i--;
		}
	}
	if (!sup->shutting_down)
		return;
	for (int i = 0; i < sup->nsvcs; i++)
		if (sup->svcs[i]->pid > 0)
			return;
	pl_loop_stop(sup->loop);
}

static void reap_all_blocking(sv_sup_t *sup)
{
	/* After SIGKILL nothing can delay death for long; wait so that no
	 * child outlives us (and none becomes a zombie of init). */
	for (int i = 0; i < sup->nsvcs; i++) {
		sv_svc_t *s = sup->svcs[i];
		if (s->pid <= 0)
			continue;
		sv_svc_kill(s, "supervisor shutdown");
		int status;
		if (waitpid(s->pid, &status, 0) == s->pid)
			sv_svc_exited(s, status);
	}
}

static int run(sv_sup_t *sup)
{
	pl_loop_signal(sup->loop, SIGCHLD, reap, sup);
	pl_loop_signal(sup->loop, SIGHUP, on_hup, sup);
	pl_loop_signal(sup->loop, SIGTERM, on_term, sup);
	pl_loop_signal(sup->loop, SIGINT, on_term, sup);
	signal(SIGPIPE, SIG_IGN);
	if (sv_control_open(sup) < 0)
		return 1;
	for (int i = 0; i < sup->cfg.nsvcs; i++)
		add_service(sup, &sup->cfg.svcs[i]);
	sv_overrides_load(sup);
	pl_info("started (version %s, config %s, %d services)", PL_VERSION,
		sup->config_file, sup->nsvcs);
	if (sup->quiet)
		pl_log_set_tee(-1);
	sv_state_dirs_make(sup);
	start_all(sup);
	pl_loop_timer(sup->loop, 1000, ownlog_check, sup);
	/* Parsing the config left freed heap behind; give it back, the
	 * supervisor is meant to stay small. */
	malloc_trim(0);
	int rc = pl_loop_run(sup->loop) < 0 ? 1 : 0;
	reap_all_blocking(sup);
	sv_jobops_free_all(sup);
	sv_syncreq_free_all(sup);
	sv_control_close(sup);
	if (sup->events_open)
		sv_logfile_close(&sup->events);
	sv_cgroup_free(sup);
	for (int i = 0; i < sup->nsvcs; i++) {
		sv_svc_free(sup->svcs[i]);
		free(sup->svcs[i]);
	}
	pl_info("stopped");
	return rc;
}

int main(int argc, char **argv)
{
	sv_args_t a;
	/* Static: zero without touching its pages, and off the stack. */
	static sv_sup_t sup;
	pl_err_t err;

	int rc = parse_args(argc, argv, &a);
	if (rc)
		return rc == 1 ? 0 : 2;
	if (a.print_default)
		return print_default(&a);
	sup.ctl_fd = -1;
	if (!(sup.config_file = realpath(a.config, NULL)) &&
	    !(sup.config_file = strdup(a.config))) {
		fprintf(stderr, "plsc-supervisor: out of memory\n");
		return 1;
	}
	if (sv_config_load(a.config, &sup.cfg, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	if (a.create_users) {
		rc = sv_privsep_create_users(&sup.cfg) < 0 ? 1 : 0;
		sv_config_free(&sup.cfg);
		return rc;
	}
	if (a.check_only) {
		printf("%s: configuration ok (%d services)\n", a.config,
		       sup.cfg.nsvcs);
		sv_config_free(&sup.cfg);
		return 0;
	}
	if (sv_privsep_init(&sup) < 0 || make_dirs(&sup) < 0 ||
	    make_directory_dir(&sup) < 0 || open_ownlog(&sup) < 0 ||
	    sv_cgroup_init(&sup) < 0)
		return 1;
	sup.loop = pl_loop_new();
	if (!sup.loop)
		return 1;
	sup.started_at = pl_now_ms();
	sup.quiet = a.quiet;
	rc = run(&sup);
	sv_logfile_close(&sup.ownlog);
	pl_loop_free(sup.loop);
	sv_config_free(&sup.cfg);
	free(sup.config_file);
	return rc;
}
