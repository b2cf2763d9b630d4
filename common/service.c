/* The service runtime: argument handling, the supervisor channel, the main
 * loop. See pl_service.h for the contract. */
#include "pl_service.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "pl_chan.h"
#include "pl_log.h"
#include "pl_sandbox.h"
#include "pl_util.h"
#include "pl_watchdog.h"
#include "pl_work.h"

#define SVC_MAX_LISTEN 8
#define SVC_CHANNEL_MAX_FRAME PL_CHAN_SUPERVISOR_MAX_FRAME
#define SVC_CHANNEL_MAX_QUEUE (8u * 1024u * 1024u)
#define SVC_MAX_POOLS 8
#define SVC_DETAIL_MAX 200 /* the supervisor keeps 200 bytes of it */
/* At most one status line a second: a service that counts its requests
 * (a swipe each) would otherwise send one a request, and a burst of 50
 * swipes made 50 more frames for the supervisor to take in. */
#define SVC_STATUS_GAP_MS 1000

struct pl_service {
	const pl_service_def_t *def;
	void *ctx;
	char name[64];
	char state_dir[PATH_MAX];
	pl_loop_t *loop;
	int supervised;
	pl_chan_t *chan; /* the supervisor channel (NULL in --foreground) */
	int started;
	int exiting;
	int exit_code;
	pl_config_t *cfg;
	pl_timer_t *grace;
	struct {
		char name[32];
		int fd;
	} listen[SVC_MAX_LISTEN];
	int nlisten;
	/* Health the runtime reports for the service (PING handling). */
	pl_watchdogs_t *wds; /* created on first use */
	struct {
		pl_work_t *w;
		uint32_t stuck_ms;
	} pools[SVC_MAX_POOLS];
	int npools;
	char status[SVC_DETAIL_MAX]; /* the service's own line */
	char sent[SVC_DETAIL_MAX];   /* the detail last sent */
	uint64_t status_ms;	     /* when pl_service_status last sent one */
	pl_timer_t *status_timer;    /* sends the latest line when the gap ends */
};

typedef struct {
	const char *name;
	const char *config_file;
	int foreground;
	int level;
} svc_args_t;

static void usage(const pl_service_def_t *def, FILE *out)
{
	fprintf(out,
		"Usage: %s [-f] [-c FILE] [-l LEVEL]\n"
		"%s\n\n"
		"Normally started by plsc-supervisor(8), which passes the configuration\n"
		"over its channel. Options:\n"
		"  -f, --foreground     run alone for debugging: read the config file,\n"
		"                       bind own sockets, stop on Ctrl-C\n"
		"  -c, --config FILE    config file for --foreground (default %s)\n"
		"  -n, --name NAME      with --foreground: run as this service (its\n"
		"                       section of the config; default %s)\n"
		"  -l, --log-level LVL  debug, info, notice, warn, error (default info)\n"
		"  -h, --help           this text\n"
		"  -V, --version        print the version\n",
		def->name, def->summary ? def->summary : "",
		PL_DEFAULT_CONFIG_FILE, def->name);
	if (def->schema) {
		fprintf(out, "\nConfiguration (services.%s), checked by plsc-supervisor -n\n"
			"and by a reload as well:\n"
			"  enabled, path, user, log_level, listen   the supervisor's\n",
			def->name);
		pl_schema_help(def->schema, out);
	}
	if (def->help)
		fprintf(out, "\n%s", def->help);
}

/* 0 = continue, otherwise 1 + exit code. */
static int parse_args(int argc, char **argv, const pl_service_def_t *def,
		      svc_args_t *a)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "config", required_argument, NULL, 'c' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "name", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	a->config_file = PL_DEFAULT_CONFIG_FILE;
	a->name = def->name;
	a->foreground = 0;
	a->level = PL_LOG_INFO;
	while ((c = getopt_long(argc, argv, "hVc:fl:n:", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(def, stdout);
			return 1;
		case 'V':
			printf("%s %s\n", def->name, PL_VERSION);
			return 1;
		case 'c':
			a->config_file = optarg;
			break;
		case 'f':
			a->foreground = 1;
			break;
		case 'n':
			if (!pl_valid_name(optarg)) {
				fprintf(stderr, "%s: invalid service name '%s'\n",
					def->name, optarg);
				return 1 + 2;
			}
			a->name = optarg;
			break;
		case 'l':
			a->level = pl_log_level_parse(optarg);
			if (a->level < 0) {
				fprintf(stderr, "%s: unknown log level '%s'\n",
					def->name, optarg);
				return 1 + 2;
			}
			break;
		default:
			usage(def, stderr);
			return 1 + 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", def->name,
			argv[optind]);
		return 1 + 2;
	}
	return 0;
}

/* ---- accessors ---- */

pl_loop_t *pl_service_loop(pl_service_t *svc)
{
	return svc->loop;
}

const char *pl_service_name(const pl_service_t *svc)
{
	return svc->name;
}

const char *pl_service_state_dir(const pl_service_t *svc)
{
	return svc->state_dir;
}

int pl_service_supervised(const pl_service_t *svc)
{
	return svc->supervised;
}

int pl_service_listen_fd(pl_service_t *svc, const char *name)
{
	for (int i = 0; i < svc->nlisten; i++)
		if (strcmp(svc->listen[i].name, name) == 0)
			return svc->listen[i].fd;
	return -1;
}

/* ---- channel ---- */

/* A reply too large for the channel: the asker still gets an answer (an
 * error), rather than waiting out its deadline for one never sent. */
static void send_too_large(pl_service_t *svc, const pl_msg_t *big)
{
	pl_msg_t m;
	pl_frame_t h;
	if (pl_frame_parse_header(big->buf, big->len, PL_PROTO_MAX_FRAME, &h) < 0)
		return;
	pl_err("a %s of %zu bytes is over the supervisor channel's limit of %u; "
	       "not sent", pl_msg_type_name(h.type), big->len - PL_PROTO_HDR_LEN,
	       SVC_CHANNEL_MAX_FRAME);
	if (!(h.flags & PL_FLAG_REPLY) ||
	    pl_msg_init(&m, PL_MSG_RESULT, PL_FLAG_REPLY | PL_FLAG_ERROR, h.seq) < 0)
		return;
	pl_msg_add_u32(&m, PL_TAG_STATUS, PL_STATUS_ERROR);
	pl_msg_add_str(&m, PL_TAG_MESSAGE, "the answer is too large for the "
		       "supervisor channel (see the service's log)");
	if (pl_msg_finish(&m) == 0)
		(void)pl_chan_send(svc->chan, &m);
	pl_msg_free(&m);
}

int pl_service_send(pl_service_t *svc, const pl_msg_t *m)
{
	if (!svc->supervised || !svc->chan)
		return -PL_PROTO_EIO;
	int rc = pl_chan_send(svc->chan, m);
	if (rc == -PL_PROTO_ETOOBIG)
		send_too_large(svc, m);
	return rc;
}

static void send_simple(pl_service_t *svc, uint16_t type, uint8_t flags,
			uint32_t seq)
{
	pl_msg_t m;
	if (pl_msg_init(&m, type, flags, seq) < 0)
		return;
	if (pl_msg_finish(&m) == 0 && pl_service_send(svc, &m) < 0)
		pl_warn("cannot send %s to the supervisor",
			pl_msg_type_name(type));
	pl_msg_free(&m);
}

static void send_hello(pl_service_t *svc)
{
	pl_msg_t m;
	if (pl_msg_init(&m, PL_MSG_HELLO, 0, 0) < 0)
		return;
	pl_msg_add_str(&m, PL_TAG_NAME, svc->name);
	pl_msg_add_u32(&m, PL_TAG_PID, (uint32_t)getpid());
	pl_msg_add_str(&m, PL_TAG_VERSION, PL_VERSION);
	pl_msg_add_u32(&m, PL_TAG_CAPS, svc->def->caps);
	if (pl_msg_finish(&m) == 0)
		pl_service_send(svc, &m);
	pl_msg_free(&m);
}

static void send_detail(pl_service_t *svc, const char *text)
{
	pl_msg_t m;
	if (!svc->supervised || pl_msg_init(&m, PL_MSG_SVC_STATUS, 0, 0) < 0)
		return;
	pl_msg_add_str(&m, PL_TAG_DETAIL, text);
	if (pl_msg_finish(&m) == 0 && pl_service_send(svc, &m) == 0)
		pl_strlcpy(svc->sent, text, sizeof(svc->sent));
	pl_msg_free(&m);
}

/* The detail plsc status shows: the service's own line, then a note for
 * each registered pool whose oldest job is older than its threshold. Sent
 * only when it changed (the ages are in seconds, so at most about once a
 * second while a pool is stuck). */
static void status_update(pl_service_t *svc)
{
	char text[SVC_DETAIL_MAX];
	size_t len = pl_strlcpy(text, svc->status, sizeof(text));
	for (int i = 0; i < svc->npools && len < sizeof(text); i++) {
		char note[SVC_DETAIL_MAX];
		if (!pl_work_describe(svc->pools[i].w, svc->pools[i].stuck_ms,
				      note, sizeof(note)))
			continue;
		if (len)
			len += pl_strlcpy(text + len, "; ", sizeof(text) - len);
		if (len < sizeof(text))
			len += pl_strlcpy(text + len, note, sizeof(text) - len);
	}
	if (strcmp(text, svc->sent) != 0)
		send_detail(svc, text);
}

/* Always sent, even unchanged: the service may repeat a line on purpose. */
static void status_send(pl_service_t *svc)
{
	svc->sent[0] = '\0';
	svc->status_ms = pl_now_ms();
	status_update(svc);
}

static void status_due(pl_loop_t *loop, void *arg)
{
	pl_service_t *svc = arg;
	(void)loop;
	svc->status_timer = NULL;
	status_send(svc);
}

/* The first line after a quiet second goes at once; those within the
 * second after it are folded into one, the latest, sent when it ends. */
void pl_service_status(pl_service_t *svc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(svc->status, sizeof(svc->status), fmt, ap);
	va_end(ap);
	if (svc->status_timer)
		return; /* it will send this line */
	uint64_t since = pl_now_ms() - svc->status_ms;
	if (!svc->status_ms || since >= SVC_STATUS_GAP_MS || !svc->loop)
		status_send(svc);
	else
		svc->status_timer = pl_loop_timer(svc->loop, SVC_STATUS_GAP_MS - since,
						  status_due, svc);
}

/* ---- health: watchdogs and pools ---- */

pl_watchdog_t *pl_service_watchdog(pl_service_t *svc, const char *name,
				   uint32_t max_silence_ms)
{
	if (!svc->wds && !(svc->wds = pl_watchdogs_new()))
		return NULL;
	return pl_watchdogs_add(svc->wds, name, max_silence_ms);
}

void pl_service_watchdog_remove(pl_service_t *svc, pl_watchdog_t *wd)
{
	if (svc->wds && wd)
		pl_watchdogs_remove(svc->wds, wd);
}

int pl_service_add_pool(pl_service_t *svc, pl_work_t *w, uint32_t stuck_ms)
{
	if (svc->npools >= SVC_MAX_POOLS)
		return -1;
	svc->pools[svc->npools].w = w;
	svc->pools[svc->npools++].stuck_ms = stuck_ms;
	return 0;
}

void pl_service_remove_pool(pl_service_t *svc, pl_work_t *w)
{
	for (int i = 0; i < svc->npools; i++) {
		if (svc->pools[i].w != w)
			continue;
		svc->pools[i] = svc->pools[--svc->npools];
		return;
	}
}

/* PONG means "the main loop turns and every watchdog was kicked in
 * time". An expired watchdog withholds it, so the supervisor's heartbeat
 * timeout restarts us; the detail names the watchdog for its log. */
static void on_ping(pl_service_t *svc, uint32_t seq)
{
	int first = 0;
	uint64_t now = pl_now_ms();
	pl_watchdog_t *wd = svc->wds ? pl_watchdogs_check(svc->wds, now, &first)
				     : NULL;
	if (wd) {
		char text[SVC_DETAIL_MAX];
		snprintf(text, sizeof(text), "watchdog '%s' silent for %llu ms",
			 pl_watchdog_name(wd),
			 (unsigned long long)pl_watchdog_silence(wd, now));
		if (first)
			pl_err("%s", text);
		send_detail(svc, text);
		return;
	}
	status_update(svc);
	send_simple(svc, PL_MSG_PONG, PL_FLAG_REPLY, seq);
}

void pl_service_exit(pl_service_t *svc, int code)
{
	svc->exiting = 1;
	svc->exit_code = code;
	pl_loop_stop(svc->loop);
}

static void grace_expired(pl_loop_t *loop, void *arg)
{
	pl_service_t *svc = arg;
	(void)loop;
	svc->grace = NULL;
	pl_warn("grace period over with work in flight; exiting now");
	pl_service_exit(svc, 0);
}

static void begin_shutdown(pl_service_t *svc, uint32_t grace_ms)
{
	if (svc->exiting || svc->grace)
		return;
	pl_info("shutting down (grace %u ms)", grace_ms);
	if (!svc->def->shutdown || !svc->started) {
		pl_service_exit(svc, 0);
		return;
	}
	/* Leave a margin so we exit on our own before the supervisor's
	 * SIGKILL. */
	uint32_t margin = grace_ms > 200 ? grace_ms - 100 : grace_ms;
	svc->grace = pl_loop_timer(svc->loop, margin, grace_expired, svc);
	svc->def->shutdown(svc, grace_ms, svc->ctx);
}

/* Confine the service (pl_sandbox.h) before its start(): Landlock binds
 * only the threads created after it, and start() creates the worker
 * pools. Temporary files (SQLite's, for one) go to the state dir, the one
 * place left writable for them. */
static int sandbox_self(pl_service_t *svc, const pl_cnode_t *cfg)
{
	pl_sandbox_t sb; /* 20 KiB: the main thread's stack has room */
	pl_sandbox_status_t st;

	pl_sandbox_init(&sb);
	if (svc->state_dir[0]) {
		setenv("TMPDIR", svc->state_dir, 1);
		if (pl_sandbox_allow(&sb, svc->state_dir, PL_SANDBOX_RW) < 0) {
			pl_err("sandbox: %s: %s", svc->state_dir, strerror(errno));
			return 1;
		}
	}
	int rc = svc->def->sandbox ? svc->def->sandbox(svc, cfg, &sb, svc->ctx) : 0;
	if (rc != 0)
		return rc;
	if (pl_sandbox_restrict(&sb, &st) < 0) {
		pl_err("sandbox: %s", st.msg);
		return 1;
	}
	if (st.landlock_abi && st.seccomp)
		pl_info("%s", st.msg);
	else
		pl_notice("%s", st.msg);
	if (st.threads > 1)
		pl_warn("sandbox: %d other threads ran before it: Landlock does not bind them",
			st.threads - 1);
	return 0;
}

static int apply_config(pl_service_t *svc, const char *name, const char *text,
			size_t len)
{
	pl_err_t err;
	pl_cnode_t node;
	char path[PL_CPATH_MAX];

	pl_config_t *cfg = pl_config_parse(name, text, len, &err);
	if (!cfg) {
		pl_err("%s", err.msg);
		return PL_EXIT_CONFIG;
	}
	snprintf(path, sizeof(path), "services.%s", svc->name);
	pl_cnode_make(&node, cfg, pl_config_json(cfg), path);
	int rc;
	if (!svc->started) {
		rc = sandbox_self(svc, &node);
		if (rc == 0)
			rc = svc->def->start ? svc->def->start(svc, &node, svc->ctx) : 0;
		if (rc == 0)
			svc->started = 1;
	} else if (!svc->def->reconfig) {
		pl_info("new configuration needs a restart; exiting");
		pl_service_exit(svc, 0);
		rc = 0;
	} else {
		rc = svc->def->reconfig(svc, &node, svc->ctx);
		if (rc != 0)
			pl_err("new configuration rejected; keeping the old one");
	}
	if (rc == 0 || !svc->started) {
		pl_config_free(svc->cfg);
		svc->cfg = cfg;
	} else {
		pl_config_free(cfg);
	}
	return svc->started ? 0 : rc;
}

/* Frames only the supervisor itself may send. Whatever another service
 * gets routed to us carries FROM (the supervisor stamps it on every routed
 * frame and on none of its own), so such a frame with FROM is a forgery
 * the router should have stopped: dropped here too, and said. */
static int forged(const pl_frame_t *f)
{
	pl_field_t fl;
	switch (f->type) {
	case PL_MSG_PING:
	case PL_MSG_CONFIG:
	case PL_MSG_SHUTDOWN:
	case PL_MSG_JOBS_QUERY:
	case PL_MSG_RELEASE_JOBS:
	case PL_MSG_DELETE_JOBS:
	case PL_MSG_SYNC_NOW:
		break;
	default:
		return 0;
	}
	if (pl_frame_find(f, PL_TAG_FROM, &fl) != 1)
		return 0;
	pl_warn("dropped %s from service %.*s: only the supervisor sends it",
		pl_msg_type_name(f->type), (int)(fl.len > 64 ? 64 : fl.len),
		(const char *)fl.val);
	return 1;
}

static void handle_frame(pl_service_t *svc, pl_frame_t *f)
{
	if (forged(f)) {
		if (f->fd >= 0)
			close(f->fd);
		return;
	}
	switch (f->type) {
	case PL_MSG_PING:
		on_ping(svc, f->seq);
		break;
	case PL_MSG_CONFIG: {
		pl_field_t fl;
		int was_started = svc->started;
		if (pl_frame_find(f, PL_TAG_CONFIG, &fl) != 1) {
			pl_err("CONFIG without a configuration");
			break;
		}
		int rc = apply_config(svc, "supervisor configuration",
				      (const char *)fl.val, fl.len);
		if (rc != 0) {
			pl_service_exit(svc, rc);
		} else if (!was_started) {
			send_simple(svc, PL_MSG_READY, 0, 0);
			pl_info("ready");
		}
		break;
	}
	case PL_MSG_SHUTDOWN: {
		uint32_t grace = 5000;
		pl_frame_get_u32(f, PL_TAG_GRACE_MS, &grace);
		begin_shutdown(svc, grace);
		break;
	}
	default:
		if (svc->def->message)
			svc->def->message(svc, f, svc->ctx);
		else
			pl_debug("ignoring %s", pl_msg_type_name(f->type));
	}
	if (f->fd >= 0 && !svc->def->message)
		close(f->fd);
}

static void chan_frame(pl_chan_t *ch, pl_frame_t *f, void *arg)
{
	(void)ch;
	handle_frame(arg, f);
}

static void chan_lost(pl_chan_t *ch, int rc, void *arg)
{
	pl_service_t *svc = arg;
	(void)ch;
	if (rc == -PL_PROTO_EOF)
		pl_notice("supervisor went away; exiting");
	else
		pl_err("supervisor channel: %s; exiting",
		       pl_proto_strerror(rc));
	pl_chan_free(svc->chan);
	svc->chan = NULL;
	pl_service_exit(svc, 0);
}

static const pl_chan_ops_t chan_ops = { chan_frame, chan_lost };

/* ---- set-up ---- */

static int parse_listen_env(pl_service_t *svc, const char *env)
{
	char buf[1024];
	if (pl_fmt(buf, sizeof(buf), "%s", env) < 0)
		return -1;
	char *save = NULL;
	for (char *tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		if (!eq || svc->nlisten >= SVC_MAX_LISTEN)
			return -1;
		*eq = '\0';
		pl_strlcpy(svc->listen[svc->nlisten].name, tok,
			   sizeof(svc->listen[0].name));
		svc->listen[svc->nlisten].fd = atoi(eq + 1);
		pl_set_cloexec(svc->listen[svc->nlisten].fd, 1);
		svc->nlisten++;
	}
	return 0;
}

static void on_term(pl_loop_t *loop, int signo, void *arg);

static int setup_supervised(pl_service_t *svc, const char *chan)
{
	const char *name = getenv(PL_ENV_SERVICE);
	const char *sd = getenv(PL_ENV_STATE_DIR);
	const char *lfds = getenv(PL_ENV_LISTEN);

	if (name && pl_valid_name(name))
		pl_strlcpy(svc->name, name, sizeof(svc->name));
	if (sd)
		pl_strlcpy(svc->state_dir, sd, sizeof(svc->state_dir));
	if (lfds && parse_listen_env(svc, lfds) < 0) {
		fprintf(stderr, "%s: malformed %s\n", svc->name, PL_ENV_LISTEN);
		return PL_EXIT_CONFIG;
	}
	int fd = atoi(chan);
	svc->supervised = 1;
	pl_set_cloexec(fd, 1);
	/* Backstop for "exit when the supervisor dies": EOF on the channel
	 * is the primary signal, this catches a wedged read. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() == 1)
		return 1;
	unsetenv(PL_ENV_CHANNEL);
	unsetenv(PL_ENV_LISTEN);
	svc->chan = pl_chan_new(svc->loop, fd, SVC_CHANNEL_MAX_FRAME,
				SVC_CHANNEL_MAX_QUEUE, &chan_ops, svc);
	if (!svc->chan)
		return 1;
	/* What the supervisor would call a protocol error (and kill us for)
	 * is refused at our end: pl_service_send. */
	pl_chan_set_send_max(svc->chan, SVC_CHANNEL_MAX_FRAME);
	/* SIGTERM arrives from PR_SET_PDEATHSIG or a supervisor escalating:
	 * treat it as SHUTDOWN. The terminal's SIGINT is the supervisor's. */
	pl_loop_signal(svc->loop, SIGTERM, on_term, svc);
	signal(SIGINT, SIG_IGN);
	send_hello(svc);
	return 0;
}

static int foreground_listen(pl_service_t *svc, const pl_cnode_t *sec)
{
	pl_cnode_t lst;
	pl_err_t err;
	if (pl_cnode_object(sec, "listen", 0, &lst, &err) < 0) {
		pl_err("%s", err.msg);
		return PL_EXIT_CONFIG;
	}
	if (!lst.node)
		return 0;
	const char *key;
	json_t *val;
	json_object_foreach(lst.node, key, val) {
		char msg[256];
		if (!json_is_string(val) || svc->nlisten >= SVC_MAX_LISTEN) {
			pl_cnode_error(&lst, key, &err, "expected \"host:port\"");
			pl_err("%s", err.msg);
			return PL_EXIT_CONFIG;
		}
		int fd = pl_listen_tcp(json_string_value(val), 128, msg,
				       sizeof(msg));
		if (fd < 0) {
			pl_err("listen %s: %s", key, msg);
			return 1;
		}
		pl_strlcpy(svc->listen[svc->nlisten].name, key,
			   sizeof(svc->listen[0].name));
		svc->listen[svc->nlisten++].fd = fd;
	}
	return 0;
}

static void on_term(pl_loop_t *loop, int signo, void *arg)
{
	pl_service_t *svc = arg;
	(void)loop;
	pl_info("signal %d", signo);
	begin_shutdown(svc, 5000);
}

static int setup_foreground(pl_service_t *svc, const char *file)
{
	pl_err_t err;
	pl_cnode_t root, sec, paths;
	const char *sd = "/var/lib/plsc";

	svc->cfg = pl_config_load(file, &err);
	if (!svc->cfg) {
		pl_err("%s", err.msg);
		return PL_EXIT_CONFIG;
	}
	root = pl_config_root(svc->cfg);
	if (pl_cnode_object(&root, "paths", 0, &paths, &err) < 0 ||
	    (paths.node &&
	     pl_cnode_str(&paths, "state_dir", sd, &sd, &err) < 0)) {
		pl_err("%s", err.msg);
		return PL_EXIT_CONFIG;
	}
	if (pl_fmt(svc->state_dir, sizeof(svc->state_dir), "%s/%s", sd,
		   svc->name) < 0)
		return PL_EXIT_CONFIG;
	pl_cnode_t services;
	if (pl_cnode_object(&root, "services", 0, &services, &err) < 0 ||
	    (services.node &&
	     pl_cnode_object(&services, svc->name, 0, &sec, &err) < 0)) {
		pl_err("%s", err.msg);
		return PL_EXIT_CONFIG;
	}
	if (!services.node || !sec.node) {
		json_t *empty = json_object();
		json_object_set_new(pl_config_json(svc->cfg), "__empty", empty);
		pl_cnode_make(&sec, svc->cfg, empty, "services");
		snprintf(sec.path, sizeof(sec.path), "services.%s", svc->name);
	}
	int rc = foreground_listen(svc, &sec);
	if (rc)
		return rc;
	pl_loop_signal(svc->loop, SIGINT, on_term, svc);
	pl_loop_signal(svc->loop, SIGTERM, on_term, svc);
	if (pl_mkdir_p(svc->state_dir, 0700) < 0)
		pl_warn("state dir %s: %s", svc->state_dir, strerror(errno));
	rc = sandbox_self(svc, &sec);
	if (rc == 0)
		rc = svc->def->start ? svc->def->start(svc, &sec, svc->ctx) : 0;
	if (rc == 0) {
		svc->started = 1;
		pl_info("ready (foreground)");
	}
	return rc;
}



/* Summaries of rate-limited log lines (pl_log_flush_suppressed). */
#define LOG_FLUSH_MS 10000

static void log_flush_tick(pl_loop_t *loop, void *arg)
{
	pl_log_flush_suppressed();
	pl_loop_timer(loop, LOG_FLUSH_MS, log_flush_tick, arg);
}

int pl_service_main(int argc, char **argv, const pl_service_def_t *def,
		    void *ctx)
{
	svc_args_t a;
	pl_service_t svc;
	int rc = parse_args(argc, argv, def, &a);
	if (rc)
		return rc - 1;

	memset(&svc, 0, sizeof(svc));
	svc.def = def;
	svc.ctx = ctx;
	pl_strlcpy(svc.name, def->name, sizeof(svc.name));
	signal(SIGPIPE, SIG_IGN);
	const char *lt = getenv(PL_ENV_LOG_TIME);
	pl_log_set_local_time(lt && strcmp(lt, "local") == 0);
	const char *chan = getenv(PL_ENV_CHANNEL);
	svc.loop = pl_loop_new();
	if (!svc.loop) {
		fprintf(stderr, "%s: cannot create event loop: %s\n", def->name,
			strerror(errno));
		return 1;
	}
	if (chan && !a.foreground) {
		rc = setup_supervised(&svc, chan);
		pl_log_init(svc.name, (pl_log_level_t)a.level, 2);
	} else {
		pl_strlcpy(svc.name, a.name, sizeof(svc.name));
		pl_log_init(svc.name, (pl_log_level_t)a.level, 2);
		rc = setup_foreground(&svc, a.config_file);
	}
	if (rc == 0)
		pl_loop_timer(svc.loop, LOG_FLUSH_MS, log_flush_tick, NULL);
	if (rc == 0 && pl_loop_run(svc.loop) < 0) {
		pl_crit("event loop: %s", strerror(errno));
		rc = 1;
	} else if (rc == 0) {
		rc = svc.exit_code;
	}
	if (svc.started && def->stop)
		def->stop(&svc, ctx);
	/* Best effort: a final message (e.g. a shutdown RESULT) should reach
	 * the supervisor, but never block for long. */
	if (svc.chan) {
		pl_chan_drain(svc.chan, 100);
		pl_chan_free(svc.chan);
	}
	if (svc.grace)
		pl_loop_timer_cancel(svc.loop, svc.grace);
	if (svc.status_timer)
		pl_loop_timer_cancel(svc.loop, svc.status_timer);
	pl_loop_free(svc.loop);
	pl_watchdogs_free(svc.wds);
	pl_config_free(svc.cfg);
	return rc;
}
