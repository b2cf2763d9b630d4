/* The control socket: <run_dir>/plsc.sock, mode 0660, speaking the same
 * TLV protocol. Clients are plsc(1) and the console. Each client is
 * bounded in frame size, queue size and idle time. */
#include "sv.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "pl_log.h"
#include "pl_util.h"

#define CTL_MAX_CLIENTS 64
#define CTL_MAX_FRAME (64u * 1024u)
#define CTL_MAX_QUEUE (4u * 1024u * 1024u)
#define CTL_IDLE_MS 60000u

struct sv_client {
	sv_sup_t *sup;
	uint64_t id;
	pl_chan_t *chan;
	char peer[48]; /* "uid U pid P", from the kernel (SO_PEERCRED) */
	pl_timer_t *idle;
	int closing;
	struct sv_client *next;
};

static void client_free(sv_client_t *c)
{
	sv_sup_t *sup = c->sup;
	for (sv_client_t **pp = &sup->clients; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	sup->nclients--;
	pl_loop_timer_cancel(sup->loop, c->idle);
	pl_chan_free(c->chan); /* deferred while its own callback runs */
	free(c);
}

static void client_idle(pl_loop_t *loop, void *arg)
{
	sv_client_t *c = arg;
	(void)loop;
	c->idle = NULL;
	client_free(c);
}

void sv_client_send(sv_client_t *c, pl_msg_t *m)
{
	if (pl_msg_finish(m) < 0 || pl_chan_send(c->chan, m) < 0)
		c->closing = 1;
}

static void vreply(sv_client_t *c, uint32_t seq, uint32_t status,
		   const char *fmt, va_list ap)
{
	char msg[512];
	pl_msg_t m;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (pl_msg_init(&m, PL_MSG_RESULT,
			PL_FLAG_REPLY | (status ? PL_FLAG_ERROR : 0), seq) < 0)
		return;
	pl_msg_add_u32(&m, PL_TAG_STATUS, status);
	pl_msg_add_str(&m, PL_TAG_MESSAGE, msg);
	sv_client_send(c, &m);
	pl_msg_free(&m);
}

void sv_client_reply(sv_client_t *c, uint32_t seq, uint32_t status,
		     const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreply(c, seq, status, fmt, ap);
	va_end(ap);
}

/* ok: STATUS 0; otherwise ERROR, or the status a caller names below. */
static void reply(sv_client_t *c, uint32_t seq, int ok, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void reply(sv_client_t *c, uint32_t seq, int ok, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreply(c, seq, ok ? PL_STATUS_OK : PL_STATUS_ERROR, fmt, ap);
	va_end(ap);
}

static void add_service(pl_msg_t *m, const sv_svc_t *s, uint64_t now)
{
	pl_msg_nest_begin(m, PL_TAG_SERVICE);
	pl_msg_add_str(m, PL_TAG_NAME, s->conf.name);
	pl_msg_add_u8(m, PL_TAG_ENABLED, (uint8_t)sv_svc_enabled(s));
	pl_msg_add_str(m, PL_TAG_STATE, sv_state_name(s->state));
	pl_msg_add_u32(m, PL_TAG_PID, s->pid > 0 ? (uint32_t)s->pid : 0);
	pl_msg_add_u32(m, PL_TAG_RESTARTS, s->restarts);
	if (s->pid > 0)
		pl_msg_add_u64(m, PL_TAG_UPTIME_MS, now - s->started_at);
	if (s->last_exit[0])
		pl_msg_add_str(m, PL_TAG_LAST_EXIT, s->last_exit);
	pl_msg_add_str(m, PL_TAG_PATH, s->conf.path);
	if (s->detail[0] && s->pid > 0)
		pl_msg_add_str(m, PL_TAG_DETAIL, s->detail);
	pl_msg_add_str(m, PL_TAG_ROLE, sv_role_name(s->conf.role));
	if (s->sup->drop_privs)
		pl_msg_add_str(m, PL_TAG_RUN_USER, s->conf.user);
	pl_msg_add_u64(m, PL_TAG_DENIED, s->denied);
	pl_msg_nest_end(m);
}

static void do_status(sv_client_t *c, uint32_t seq)
{
	sv_sup_t *sup = c->sup;
	uint64_t now = pl_now_ms();
	pl_msg_t m;

	if (pl_msg_init(&m, PL_MSG_RESULT, PL_FLAG_REPLY, seq) < 0)
		return;
	pl_msg_add_u32(&m, PL_TAG_STATUS, 0);
	pl_msg_nest_begin(&m, PL_TAG_SUPERVISOR);
	pl_msg_add_u32(&m, PL_TAG_PID, (uint32_t)getpid());
	pl_msg_add_str(&m, PL_TAG_VERSION, PL_VERSION);
	pl_msg_add_u64(&m, PL_TAG_UPTIME_MS, now - sup->started_at);
	pl_msg_add_str(&m, PL_TAG_PATH, sup->config_file);
	pl_msg_nest_end(&m);
	for (int i = 0; i < sup->nsvcs; i++)
		add_service(&m, sup->svcs[i], now);
	sv_client_send(c, &m);
	pl_msg_free(&m);
}

static sv_svc_t *named(sv_client_t *c, const pl_frame_t *f, char *name,
		       size_t sz)
{
	if (pl_frame_get_str(f, PL_TAG_NAME, name, sz) < 0) {
		sv_client_reply(c, f->seq, PL_STATUS_BADREQ,
				"request without a valid service name");
		return NULL;
	}
	sv_svc_t *s = sv_find(c->sup, name);
	if (!s)
		sv_client_reply(c, f->seq, PL_STATUS_NOTFOUND, "no such service: %s", name);
	return s;
}

/* Who asked: the client's uid and pid as the kernel says, and the
 * administrator the console names (ASKED_BY: the console's word, which
 * only the admin group can give). */
static const char *asked_by(const sv_client_t *c, const pl_frame_t *f,
			    char *buf, size_t sz)
{
	char admin[128];
	if (pl_frame_get_str(f, PL_TAG_ASKED_BY, admin, sizeof(admin)) == 0 &&
	    admin[0])
		snprintf(buf, sz, "%s (console administrator %s)", c->peer, admin);
	else
		snprintf(buf, sz, "%s", c->peer);
	return buf;
}

static void do_toggle(sv_client_t *c, const pl_frame_t *f, int on)
{
	char name[SV_NAME_MAX];
	sv_svc_t *s = named(c, f, name, sizeof(name));
	if (!s)
		return;
	s->override = on;
	if (sv_overrides_save(c->sup) < 0) {
		reply(c, f->seq, 0, "cannot persist the change (see the supervisor log)");
		return;
	}
	char who[200];
	pl_info("%s: %s by control request from %s", name,
		on ? "enabled" : "disabled", asked_by(c, f, who, sizeof(who)));
	if (on)
		sv_svc_start(s);
	else
		sv_svc_stop(s, SV_STOP_DISABLE);
	reply(c, f->seq, 1, "%s %s", name, on ? "enabled" : "disabled");
}

static void do_restart(sv_client_t *c, const pl_frame_t *f)
{
	char name[SV_NAME_MAX];
	sv_svc_t *s = named(c, f, name, sizeof(name));
	if (!s)
		return;
	if (!sv_svc_enabled(s)) {
		sv_client_reply(c, f->seq, PL_STATUS_CONFLICT,
				"%s is disabled; enable it first", name);
		return;
	}
	char who[200];
	pl_info("%s: restart by control request from %s", name,
		asked_by(c, f, who, sizeof(who)));
	if (s->pid > 0)
		sv_svc_stop(s, SV_STOP_RESTART);
	else
		sv_svc_start(s); /* failed and throttled included */
	reply(c, f->seq, 1, "%s restarting", name);
}

static void handle(sv_client_t *c, const pl_frame_t *f)
{
	switch (f->type) {
	case PL_MSG_CTL_STATUS:
		do_status(c, f->seq);
		break;
	case PL_MSG_CTL_ENABLE:
		do_toggle(c, f, 1);
		break;
	case PL_MSG_CTL_DISABLE:
		do_toggle(c, f, 0);
		break;
	case PL_MSG_CTL_RESTART:
		do_restart(c, f);
		break;
	case PL_MSG_CTL_RELOAD: {
		pl_err_t err;
		char who[200];
		pl_info("reload by control request from %s", asked_by(c, f, who, sizeof(who)));
		if (sv_reload(c->sup, &err) == 0)
			reply(c, f->seq, 1, "configuration reloaded");
		else
			reply(c, f->seq, 0,
			      "reload refused, the running configuration stays: %s",
			      err.msg);
		break;
	}
	case PL_MSG_CTL_JOBS:
	case PL_MSG_CTL_RELEASE:
	case PL_MSG_CTL_DELETE: {
		sv_asker_t a = { .is_client = 1, .client_id = c->id, .seq = f->seq };
		int kind = f->type == PL_MSG_CTL_JOBS ? SV_OP_JOBS
			 : f->type == PL_MSG_CTL_RELEASE ? SV_OP_RELEASE
			 : SV_OP_DELETE;
		if (kind != SV_OP_JOBS)
			pl_info("control request: %s from %s", pl_msg_type_name(f->type),
				asked_by(c, f, a.who, sizeof(a.who)));
		sv_jobops_start(c->sup, kind, f, &a);
		break;
	}
	case PL_MSG_CTL_LOGS:
		sv_logs_request(c, c->sup, f);
		break;
	case PL_MSG_CTL_STOP: {
		char who[200];
		pl_info("stop by control request from %s", asked_by(c, f, who, sizeof(who)));
		reply(c, f->seq, 1, "stopping");
		sv_begin_shutdown(c->sup);
		break;
	}
	default:
		reply(c, f->seq, 0, "unsupported request %s",
		      pl_msg_type_name(f->type));
	}
}

static void client_frame(pl_chan_t *ch, pl_frame_t *f, void *arg)
{
	sv_client_t *c = arg;
	(void)ch;
	/* Idle means silent, not merely old: re-arm. */
	pl_loop_timer_cancel(c->sup->loop, c->idle);
	c->idle = pl_loop_timer(c->sup->loop, CTL_IDLE_MS, client_idle, c);
	if (f->fd >= 0)
		close(f->fd);
	handle(c, f);
	if (c->closing)
		client_free(c);
}

static void client_closed(pl_chan_t *ch, int rc, void *arg)
{
	(void)ch;
	if (rc != -PL_PROTO_EOF && rc != -PL_PROTO_EIO)
		pl_warn("control client: %s", pl_proto_strerror(rc));
	client_free(arg);
}

static const pl_chan_ops_t client_ops = { client_frame, client_closed };

static void ctl_accept(pl_loop_t *loop, int fd, uint32_t ev, void *arg)
{
	sv_sup_t *sup = arg;
	(void)ev;
	for (;;) {
		int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd < 0)
			return;
		if (sup->nclients >= CTL_MAX_CLIENTS) {
			pl_warn("control socket: too many clients; refusing one");
			close(cfd);
			continue;
		}
		sv_client_t *c = calloc(1, sizeof(*c));
		if (c)
			c->chan = pl_chan_new(loop, cfd, CTL_MAX_FRAME, CTL_MAX_QUEUE,
					      &client_ops, c);
		if (!c || !c->chan) {
			free(c);
			close(cfd);
			continue;
		}
		c->sup = sup;
		c->id = ++sup->next_client_id;
		struct ucred cr;
		socklen_t crlen = sizeof(cr);
		if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cr, &crlen) == 0)
			snprintf(c->peer, sizeof(c->peer), "uid %ld pid %ld",
				 (long)cr.uid, (long)cr.pid);
		else
			pl_strlcpy(c->peer, "an unknown client", sizeof(c->peer));
		c->idle = pl_loop_timer(loop, CTL_IDLE_MS, client_idle, c);
		c->next = sup->clients;
		sup->clients = c;
		sup->nclients++;
	}
}

int sv_control_send(sv_sup_t *sup, uint64_t client_id, pl_msg_t *m)
{
	for (sv_client_t *c = sup->clients; c; c = c->next) {
		if (c->id != client_id)
			continue;
		sv_client_send(c, m);
		if (c->closing)
			client_free(c);
		return 0;
	}
	return -1; /* the client left before the answer was ready */
}

int sv_control_open(sv_sup_t *sup)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (pl_fmt(sa.sun_path, sizeof(sa.sun_path), "%s/plsc.sock",
		   sup->cfg.run_dir) < 0) {
		pl_crit("control socket path too long: %s/plsc.sock",
			sup->cfg.run_dir);
		return -1;
	}
	free(sup->ctl_path);
	if (!(sup->ctl_path = strdup(sa.sun_path))) {
		pl_crit("out of memory");
		return -1;
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	/* A live supervisor answers connect(); a stale socket does not. */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		pl_crit("another supervisor is running on %s", sup->ctl_path);
		close(fd);
		return -1;
	}
	unlink(sup->ctl_path);
	mode_t old = umask(0117);
	int rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc < 0 || listen(fd, 32) < 0) {
		pl_crit("control socket %s: %s", sup->ctl_path, strerror(errno));
		close(fd);
		return -1;
	}
	/* root:admin_group 0660: plsc for the admin group's members, and the
	 * console, the one service that gets that group. */
	if (sup->drop_privs && chown(sup->ctl_path, 0, sup->admin_gid) < 0)
		pl_warn("chown %s: %s", sup->ctl_path, strerror(errno));
	sup->ctl_fd = fd;
	sup->ctl_w = pl_loop_watch(sup->loop, fd, EPOLLIN, ctl_accept, sup);
	return sup->ctl_w ? 0 : -1;
}

void sv_control_close(sv_sup_t *sup)
{
	while (sup->clients) {
		sv_client_t *c = sup->clients;
		pl_chan_drain(c->chan, 0); /* what the socket takes now */
		client_free(c);
	}
	if (sup->ctl_w)
		pl_loop_unwatch(sup->loop, sup->ctl_w);
	sup->ctl_w = NULL;
	if (sup->ctl_fd >= 0) {
		close(sup->ctl_fd);
		unlink(sup->ctl_path);
	}
	sup->ctl_fd = -1;
	free(sup->ctl_path);
	sup->ctl_path = NULL;
}
