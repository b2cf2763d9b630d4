/* plsc: the command-line client of plsc-supervisor's control socket.
 * Exit codes: 0 ok, 1 failed, 2 usage, 3 supervisor not running. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plsc.h"
#include "pl_log.h"
#include "pl_service.h"
#include "pl_ctlreply.h"
#include "pl_util.h"
#include "sv.h"


static void usage(FILE *out)
{
	fprintf(out,
		"Usage: plsc [-c FILE] [-s SOCKET] COMMAND [ARGS]\n"
		"Control the Service Client supervisor (see plsc(1)).\n\n"
		"Commands:\n"
		"  status [--json]          every service: enabled, state, pid, uptime,\n"
		"                           restarts, last exit\n"
		"  enable NAME              switch a service on (persisted)\n"
		"  disable NAME             switch a service off (persisted)\n"
		"  restart NAME             restart a service (also clears 'failed')\n"
		"  logs NAME [-n N] [-f]    last N lines (default 20) of a service's log;\n"
		"                           -f follows it across rotations\n"
		"  reload                   re-read the configuration (like SIGHUP)\n"
		"  stop                     stop every service and the supervisor\n"
		"  jobs [--user U] [--limit N] [--json] [--partial]\n"
		"                           held jobs across every service, oldest first,\n"
		"                           all of them (or the first N), a page at a time\n"
		"                           (exit 1 when a holder did not answer, unless\n"
		"                           --partial)\n"
		"  release --user U --printer P [--all] [--any-printer]\n"
		"                           print U's most recent held job (or all) on P;\n"
		"                           a job submitted for a printer (secure) prints\n"
		"                           only there, unless --any-printer (logged)\n"
		"  release --job JOB_ID --printer P [--any-printer] [--reprint]\n"
		"                           print that one job on P; a job marked\n"
		"                           maybe-printed (a release of it was cut off)\n"
		"                           prints again only with --reprint\n"
		"  delete JOB_ID            shred one held job\n"
		"  printers add NAME URI [--location L] [--formats F] [--email A] [--guest]\n"
		"           | del NAME | list [--json] | show NAME [--json]\n"
		"           | snmp NAME OPTIONS|default (SNMP status)\n"
		"  token create WORKSTATION | list [--json] | revoke WORKSTATION|id:ID\n"
		"  users add USERNAME [--name N] [--email E]... [--badge ID]... [--pin | --pin-file F]\n"
		"        [--groups G,...] [--replace] | del USERNAME | list [--json]\n"
		"        | import FILE.csv   (username, display name, email, badge IDs, PIN)\n"
		"        | check-pin USERNAME [--pin-file F]   exit 0 if the PIN is right\n"
		"                           --pin: the PIN is asked twice (or read as one\n"
		"                           line from stdin), never given on the command line\n"
		"  readers add NAME --address A --printer P [--direction connect|listen]\n"
		"        [--port N] [--preset P | --format JSON] [--mode most-recent|all]\n"
		"        | del NAME | list [--json]\n"
		"  sync now [--dry-run] [--json] [SERVICE]\n"
		"                           IdentitySync: a full sync at once, and what it\n"
		"                           changed (--dry-run: would change, changing nothing)\n"
		"  email test               the Email service's mailbox: TLS, login, folders\n"
		"  admin add NAME | passwd NAME | del NAME | list [--json]\n"
		"                           web console administrators; the password is\n"
		"                           asked twice (or read as one line from stdin)\n\n"
		"Options:\n"
		"  -c, --config FILE   configuration (default $PLSC_CONFIG or %s)\n"
		"  -s, --socket PATH   control socket (default <run_dir>/plsc.sock)\n"
		"  -h, --help          this text\n"
		"  -V, --version       print the version\n\n"
		"Exit status: 0 ok, 1 the request failed, 2 usage error,\n"
		"3 the supervisor is not running.\n",
		PL_DEFAULT_CONFIG_FILE);
}

/* paths.<key> of the config text. When the text is JSON, from the tree;
 * when it is not (a syntax error), the first "key": "value" in it, so a
 * broken file still names the running supervisor's paths. Plain strings
 * only there (a path with escapes falls back to the default). */
static const char *scan_path(const char *text, json_t *root, const char *key,
			     char *buf, size_t sz)
{
	char quoted[64];
	const char *at, *end;
	if (root) {
		at = json_string_value(json_object_get(json_object_get(root, "paths"), key));
		if (!at || strlen(at) >= sz)
			return NULL;
		return strcpy(buf, at);
	}
	snprintf(quoted, sizeof(quoted), "\"%s\"", key);
	if (!text || !(at = strstr(text, quoted)))
		return NULL;
	at += strlen(quoted);
	at += strspn(at, " \t\r\n");
	if (*at++ != ':')
		return NULL;
	at += strspn(at, " \t\r\n");
	if (*at++ != '"' || !(end = strpbrk(at, "\"\\\n")) || *end != '"' ||
	    (size_t)(end - at) >= sz || end == at)
		return NULL;
	memcpy(buf, at, (size_t)(end - at));
	buf[end - at] = '\0';
	return buf;
}

/* The config does not load: take its paths as best we can, so status,
 * logs, stop and reload still reach the running supervisor (-s always
 * wins). */
static int load_paths_only(plsc_t *p, const pl_err_t *why)
{
	char run[PATH_MAX], log[PATH_MAX], st[PATH_MAX];
	size_t len;
	char *text = pl_read_file(p->config, 1u << 20, &len);

	fprintf(stderr, "plsc: %s\n", why->msg);
	if (!text && !p->socket)
		return EXIT_FAIL;
	json_t *root = text ? json_loads(text, 0, NULL) : NULL;
	const char *r = scan_path(text, root, "run_dir", run, sizeof(run));
	const char *l = scan_path(text, root, "log_dir", log, sizeof(log));
	const char *s = scan_path(text, root, "state_dir", st, sizeof(st));
	json_decref(root);
	free(text);
	if (!p->socket) {
		snprintf(p->sockbuf, sizeof(p->sockbuf), "%.*s/plsc.sock",
			 (int)(sizeof(p->sockbuf) - 16), r ? r : "/run/plsc");
		p->socket = p->sockbuf;
	}
	fprintf(stderr, "plsc: (using its paths anyway: control socket %s)\n",
		p->socket);
	pl_strlcpy(p->log_dir, l ? l : "/var/log/plsc", sizeof(p->log_dir));
	pl_strlcpy(p->state_dir, s ? s : "/var/lib/plsc", sizeof(p->state_dir));
	return EXIT_OK;
}

/* The paths come from the same config the supervisor reads. */
static int load_paths(plsc_t *p)
{
	sv_config_t *c = calloc(1, sizeof(*c));
	pl_err_t err;
	if (!c)
		return EXIT_FAIL;
	if (sv_config_load(p->config, c, &err) < 0) {
		/* A broken config must not lock the admin out of the running
		 * supervisor (to reload a fixed one, or to see status): fall
		 * back to just the paths, and say what is wrong. */
		free(c);
		return load_paths_only(p, &err);
	}
	if (!p->socket) {
		snprintf(p->sockbuf, sizeof(p->sockbuf), "%.*s/plsc.sock",
			 (int)(sizeof(p->sockbuf) - 16), c->run_dir);
		p->socket = p->sockbuf;
	}
	pl_strlcpy(p->log_dir, c->log_dir, sizeof(p->log_dir));
	pl_strlcpy(p->state_dir, c->state_dir, sizeof(p->state_dir));
	char msg[256];
	int own = sv_privsep_directory_owner(c, &p->dir_uid, &p->dir_gid, msg,
					     sizeof(msg));
	if (own < 0)
		fprintf(stderr, "plsc: warning: %s\n", msg);
	p->dir_owned = own > 0;
	sv_config_free(c);
	free(c);
	return EXIT_OK;
}

int plsc_print_error(const pl_frame_t *f)
{
	char msg[512] = "request failed";
	pl_frame_get_str(f, PL_TAG_MESSAGE, msg, sizeof(msg));
	fprintf(stderr, "plsc: %s\n", msg);
	return EXIT_FAIL;
}

void plsc_print_list(const char *key, json_t *arr, int as_json)
{
	if (!as_json) {
		json_decref(arr);
		return;
	}
	json_t *root = json_pack("{s:o}", key, arr);
	char *s = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	printf("%s\n", s ? s : "{}");
	free(s);
	json_decref(root);
}

int plsc_connect(const plsc_t *p, pl_ctl_client_t *c)
{
	if (pl_ctl_connect(c, p->socket) == 0)
		return EXIT_OK;
	if (errno == ENOENT || errno == ECONNREFUSED)
		fprintf(stderr,
			"plsc: the supervisor is not running (nothing answers on %s)\n",
			p->socket);
	else
		fprintf(stderr, "plsc: cannot connect to %s: %s\n", p->socket,
			strerror(errno));
	return (errno == EACCES) ? EXIT_FAIL : EXIT_NOSUP;
}

/* The state the supervisor shows for name: 0, or -1. */
static int service_row(pl_ctl_client_t *c, const char *name, pl_svc_row_t *row)
{
	pl_frame_t f;
	pl_iter_t it;
	pl_field_t fl;
	if (pl_ctl_request(c, PL_MSG_CTL_STATUS, NULL, &f) < 0)
		return -1;
	pl_iter_frame(&it, &f);
	while (pl_iter_next(&it, &fl) == 1)
		if (fl.tag == PL_TAG_SERVICE && pl_svc_row_decode(&fl, row) >= 0 &&
		    strcmp(row->name, name) == 0)
			return 0;
	return -1;
}

/* After enable: wait (briefly) for the state the service reaches, so a
 * service that fails at once is not reported as a success. */
static int report_started(pl_ctl_client_t *c, const char *name)
{
	pl_svc_row_t row;
	for (int i = 0; i < 100; i++) { /* 10 s at most */
		if (service_row(c, name, &row) < 0)
			break;
		if (strcmp(row.state, "running") == 0) {
			printf("%s enabled, running (pid %u)\n", name, row.pid);
			return EXIT_OK;
		}
		if (strcmp(row.state, "failed") == 0 ||
		    strcmp(row.state, "throttled") == 0 ||
		    strcmp(row.state, "backoff") == 0) {
			fprintf(stderr, "plsc: %s enabled, but it did not start: %s "
				"(%s; see plsc logs %s)\n", name, row.state,
				row.last_exit[0] ? row.last_exit : "no exit status",
				name);
			return EXIT_FAIL;
		}
		usleep(100 * 1000);
	}
	printf("%s enabled, still starting\n", name);
	return EXIT_OK;
}

static int request(const plsc_t *p, uint16_t type, const char *name,
		   int (*show)(const pl_frame_t *, int), int flag)
{
	pl_ctl_client_t c;
	pl_frame_t f;
	int rc = plsc_connect(p, &c);
	if (rc)
		return rc;
	int prc = pl_ctl_request(&c, type, name, &f);
	if (prc < 0) {
		fprintf(stderr, "plsc: %s: %s\n", p->socket,
			prc == -PL_PROTO_EOF ? "the supervisor closed the connection"
					     : pl_proto_strerror(prc));
		pl_ctl_close(&c);
		return prc == -PL_PROTO_EOF ? EXIT_NOSUP : EXIT_FAIL;
	}
	if (f.flags & PL_FLAG_ERROR) {
		char msg[512] = "request failed";
		pl_frame_get_str(&f, PL_TAG_MESSAGE, msg, sizeof(msg));
		fprintf(stderr, "plsc: %s\n", msg);
		rc = EXIT_FAIL;
	} else if (show) {
		rc = show(&f, flag);
	} else if (type == PL_MSG_CTL_ENABLE) {
		rc = report_started(&c, name);
	} else {
		char msg[512] = "ok";
		pl_frame_get_str(&f, PL_TAG_MESSAGE, msg, sizeof(msg));
		printf("%s\n", msg);
	}
	pl_ctl_close(&c);
	return rc;
}

/* ---- status ---- */

static json_t *row_json(const pl_svc_row_t *r)
{
	json_t *o = json_object();
	json_object_set_new(o, "name", json_string(r->name));
	json_object_set_new(o, "enabled", json_boolean(r->enabled));
	json_object_set_new(o, "state", json_string(r->state));
	json_object_set_new(o, "pid", r->pid ? json_integer(r->pid) : json_null());
	json_object_set_new(o, "restarts", json_integer(r->restarts));
	json_object_set_new(o, "uptime_ms",
			    r->has_uptime ? json_integer((json_int_t)r->uptime) : json_null());
	json_object_set_new(o, "last_exit",
			    r->last_exit[0] ? json_string(r->last_exit) : json_null());
	json_object_set_new(o, "path", json_string(r->path));
	json_object_set_new(o, "detail",
			    r->detail[0] ? json_string(r->detail) : json_null());
	json_object_set_new(o, "role", json_string(r->role));
	json_object_set_new(o, "user", r->user[0] ? json_string(r->user) : json_null());
	json_object_set_new(o, "denied", json_integer((json_int_t)r->denied));
	return o;
}

static json_t *supervisor_json(const pl_field_t *fl)
{
	pl_sup_row_t r;
	json_t *o = json_object();
	(void)pl_sup_row_decode(fl, &r);
	json_object_set_new(o, "pid", json_integer(r.pid));
	json_object_set_new(o, "version", json_string(r.version));
	json_object_set_new(o, "uptime_ms", json_integer((json_int_t)r.uptime));
	json_object_set_new(o, "config", json_string(r.config));
	return o;
}

static void print_row(const pl_svc_row_t *r)
{
	char up[32] = "-", pid[16] = "-";
	if (r->has_uptime)
		pl_fmt_duration(up, sizeof(up), r->uptime);
	if (r->pid)
		snprintf(pid, sizeof(pid), "%u", r->pid);
	printf("%-38s %-3s %-10s %-8s %-11s %8u  %s\n", r->name,
	       r->enabled ? "yes" : "no", r->state, pid, up, r->restarts,
	       r->last_exit[0] ? r->last_exit : "-");
	if (r->detail[0])
		printf("    %s\n", r->detail);
	if (r->denied)
		printf("    %llu messages denied by the allow-list (see the "
		       "supervisor's log)\n", (unsigned long long)r->denied);
}

static int show_status(const pl_frame_t *f, int as_json)
{
	pl_iter_t it;
	pl_field_t fl;
	pl_svc_row_t r;
	json_t *root = json_object(), *arr = json_array();
	int rc;

	if (!as_json)
		printf("%-38s %-3s %-10s %-8s %-11s %8s  %s\n", "SERVICE", "ON",
		       "STATE", "PID", "UPTIME", "RESTARTS", "LAST EXIT");
	pl_iter_frame(&it, f);
	while ((rc = pl_iter_next(&it, &fl)) == 1) {
		if (fl.tag == PL_TAG_SUPERVISOR) {
			json_object_set_new(root, "supervisor", supervisor_json(&fl));
		} else if (fl.tag == PL_TAG_SERVICE) {
			if (pl_svc_row_decode(&fl, &r) < 0) {
				rc = -1;
				break;
			}
			if (as_json)
				json_array_append_new(arr, row_json(&r));
			else
				print_row(&r);
		}
	}
	json_object_set_new(root, "services", arr);
	if (as_json && rc == 0) {
		char *s = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		printf("%s\n", s ? s : "{}");
		free(s);
	}
	json_decref(root);
	if (rc < 0) {
		fprintf(stderr, "plsc: malformed status reply\n");
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

/* ---- logs ---- */

/* Print the last n lines of fd (and leave the offset at its end). */
static void print_tail(int fd, long n)
{
	struct stat st;
	char buf[8192];
	if (fstat(fd, &st) < 0)
		return;
	lseek(fd, pl_tail_start(fd, st.st_size, (unsigned long)n, 0), SEEK_SET);
	ssize_t r;
	while ((r = read(fd, buf, sizeof(buf))) > 0)
		if (pl_write_all(1, buf, (size_t)r) < 0)
			return;
}

static int follow(const char *path, int fd)
{
	char buf[8192];
	struct stat a, b;
	for (;;) {
		ssize_t r = read(fd, buf, sizeof(buf));
		if (r > 0) {
			if (pl_write_all(1, buf, (size_t)r) < 0)
				return EXIT_OK; /* reader went away */
			continue;
		}
		poll(NULL, 0, 200);
		/* Rotated (new inode) or truncated: start on the new file. */
		if (stat(path, &b) == 0 && fstat(fd, &a) == 0 &&
		    (a.st_ino != b.st_ino || b.st_size < lseek(fd, 0, SEEK_CUR))) {
			/* Finish the old file before switching. */
			while ((r = read(fd, buf, sizeof(buf))) > 0)
				pl_write_all(1, buf, (size_t)r);
			int nfd = open(path, O_RDONLY | O_CLOEXEC);
			if (nfd >= 0) {
				close(fd);
				fd = nfd;
			}
		}
	}
}

static int cmd_logs(const plsc_t *p, int argc, char **argv)
{
	long n = 20;
	int fflag = 0, c;
	char path[PATH_MAX + 80];
	optind = 0; /* glibc: full re-initialisation, permuting again */
	while ((c = getopt(argc, argv, "n:f")) != -1) {
		if (c == 'n') {
			char *end;
			n = strtol(optarg, &end, 10);
			if (*end || n < 0) {
				fprintf(stderr, "plsc: logs: -n expects a number\n");
				return EXIT_USAGE;
			}
		} else if (c == 'f') {
			fflag = 1;
		} else {
			return EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "Usage: plsc logs NAME [-n N] [-f]\n");
		return EXIT_USAGE;
	}
	const char *name = argv[optind];
	if (!pl_valid_name(name)) {
		fprintf(stderr, "plsc: invalid service name '%s'\n", name);
		return EXIT_USAGE;
	}
	snprintf(path, sizeof(path), "%s/%s.log", p->log_dir, name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "plsc: %s: %s\n", path, strerror(errno));
		return EXIT_FAIL;
	}
	print_tail(fd, n);
	int rc = fflag ? follow(path, fd) : EXIT_OK;
	close(fd);
	return rc;
}

static int need_name(int argc, char **argv, const char *cmd)
{
	if (argc != 2) {
		fprintf(stderr, "Usage: plsc %s NAME\n", cmd);
		return 0;
	}
	if (!pl_valid_name(argv[1])) {
		fprintf(stderr, "plsc: invalid service name '%s'\n", argv[1]);
		return 0;
	}
	return 1;
}

static int dispatch(plsc_t *p, int argc, char **argv)
{
	const char *cmd = argv[0];
	static const struct {
		const char *name;
		uint16_t type;
		int needs_name;
	} simple[] = {
		{ "enable", PL_MSG_CTL_ENABLE, 1 },
		{ "disable", PL_MSG_CTL_DISABLE, 1 },
		{ "restart", PL_MSG_CTL_RESTART, 1 },
		{ "reload", PL_MSG_CTL_RELOAD, 0 },
		{ "stop", PL_MSG_CTL_STOP, 0 },
	};
	int rc = load_paths(p);
	if (rc)
		return rc;
	if (strcmp(cmd, "status") == 0) {
		int as_json = argc == 2 && strcmp(argv[1], "--json") == 0;
		if (argc > 2 || (argc == 2 && !as_json)) {
			fprintf(stderr, "Usage: plsc status [--json]\n");
			return EXIT_USAGE;
		}
		return request(p, PL_MSG_CTL_STATUS, NULL, show_status, as_json);
	}
	if (strcmp(cmd, "logs") == 0)
		return cmd_logs(p, argc, argv);
	static const struct {
		const char *name;
		int (*fn)(plsc_t *, int, char **);
	} cmds[] = {
		{ "jobs", plsc_cmd_jobs },	   { "release", plsc_cmd_release },
		{ "delete", plsc_cmd_delete },	   { "printers", plsc_cmd_printers },
		{ "token", plsc_cmd_token },	   { "users", plsc_cmd_users },
		{ "readers", plsc_cmd_readers },   { "admin", plsc_cmd_admin },
		{ "sync", plsc_cmd_sync },	   { "email", plsc_cmd_email },
	};
	for (size_t i = 0; i < PL_ARRAY_LEN(cmds); i++)
		if (strcmp(cmd, cmds[i].name) == 0)
			return cmds[i].fn(p, argc, argv);
	for (size_t i = 0; i < PL_ARRAY_LEN(simple); i++) {
		if (strcmp(cmd, simple[i].name) != 0)
			continue;
		if (simple[i].needs_name && !need_name(argc, argv, cmd))
			return EXIT_USAGE;
		if (!simple[i].needs_name && argc != 1) {
			fprintf(stderr, "Usage: plsc %s\n", cmd);
			return EXIT_USAGE;
		}
		return request(p, simple[i].type,
			       simple[i].needs_name ? argv[1] : NULL, NULL, 0);
	}
	fprintf(stderr, "plsc: unknown command '%s' (try plsc --help)\n", cmd);
	return EXIT_USAGE;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	plsc_t p;
	int c;

	memset(&p, 0, sizeof(p));
	p.config = getenv("PLSC_CONFIG") ? getenv("PLSC_CONFIG")
					 : PL_DEFAULT_CONFIG_FILE;
	/* '+': stop at the command, so its own options stay its own. */
	while ((c = getopt_long(argc, argv, "+c:s:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'c': p.config = optarg; break;
		case 's': p.socket = optarg; break;
		case 'h': usage(stdout); return EXIT_OK;
		case 'V': printf("plsc %s\n", PL_VERSION); return EXIT_OK;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	return dispatch(&p, argc - optind, argv + optind);
}
