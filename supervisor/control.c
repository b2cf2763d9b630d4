/* The control socket: <run_dir>/plsc.sock, mode 0660, speaking the same
 * TLV protocol. Clients are plsc(1) and the console. Each client is
 * bounded in frame size, queue size and idle time.
 *
 * Who may connect is the kernel's business (the socket's mode), but how
 * many is ours: 64 connections that said nothing used to shut plsc out.
 * So (pl_slots, one peer a uid): a uid holds at most CTL_MAX_PER_UID
 * connections; the last CTL_RESERVE slots are for root and the
 * administrators (any uid but a service's: under privilege separation the
 * console, the one service that may connect, cannot take them); a
 * connection must send its first request within CTL_FIRST_MS; and a
 * connection with no request in progress makes room for a newcomer when
 * the socket is full (its uid's own, or one of the uid holding most; the
 * one quiet longest if that is CTL_GRACE_MS, else one at random): plsc
 * sends its request as soon as it connects, so it is hardly ever the one
 * picked. */
#include "sv.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "pl_log.h"
#include "pl_slots.h"
#include "pl_util.h"

#define CTL_MAX_CLIENTS 64
#define CTL_RESERVE 8	    /* of those, for root and administrators */
#define CTL_MAX_PER_UID 16
#define CTL_MAX_FRAME (64u * 1024u)
#define CTL_MAX_QUEUE (4u * 1024u * 1024u)
#define CTL_FIRST_MS 5000u  /* from connect to a whole first request */
#define CTL_IDLE_MS 60000u  /* between requests */
#define CTL_GRACE_MS 200u   /* quiet this long: the first to make room */
#define CTL_WAIT_ROUNDS 20  /* idle periods a client waiting for an answer is kept */

struct sv_client {
	sv_sup_t *sup;
	uint64_t id;
	pl_chan_t *chan;
	char peer[48]; /* "uid U pid P", from the kernel (SO_PEERCRED) */
	pl_timer_t *idle;
	int closing;
	uint32_t waiting;   /* requests answered later (job operations) */
	int idle_rounds;    /* idle periods spent waiting for those */
	pl_slot_t slot;     /* pending while no request is in progress */
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
	pl_slots_remove(sup->ctl_slots, &c->slot);
	pl_loop_timer_cancel(sup->loop, c->idle);
	pl_chan_free(c->chan); /* deferred while its own callback runs */
	free(c);
}

/* Quiet too long. A client waiting for a release (which may take
 * minutes) is not quiet: it is kept, for CTL_WAIT_ROUNDS periods at most. */
static void client_idle(pl_loop_t *loop, void *arg)
{
	sv_client_t *c = arg;
	c->idle = NULL;
	if (c->waiting && ++c->idle_rounds < CTL_WAIT_ROUNDS) {
		c->idle = pl_loop_timer(loop, CTL_IDLE_MS, client_idle, c);
		return;
	}
	client_free(c);
}

/* A refused or dropped client: a few a second are logged, then a count
 * (a flood of connections must not become a flood of log lines). */
static void ctl_warn(sv_sup_t *sup, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void ctl_warn(sv_sup_t *sup, const char *fmt, ...)
{
	uint64_t now = pl_now_ms();
	char msg[256];
	va_list ap;
	if (now - sup->ctl_warn_ms >= 1000) {
		if (sup->ctl_warned > 5)
			pl_warn("control socket: %u more clients refused or dropped in that "
				"second", sup->ctl_warned - 5);
		sup->ctl_warn_ms = now;
		sup->ctl_warned = 0;
	}
	if (sup->ctl_warned++ >= 5)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pl_warn("control socket: %s", msg);
}

/* The slot of a client that has nothing in progress any more is pending
 * again: quiet from now on. */
static void client_quiet(sv_client_t *c)
{
	if (!c->waiting)
		pl_slots_pend(c->sup->ctl_slots, &c->slot, pl_now_ms());
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
		c->waiting++; /* until sv_control_send delivers the answer */
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
	case PL_MSG_CTL_SYNC: {
		char who[200];
		sv_syncreq_start(c->sup, c, c->id, f, asked_by(c, f, who, sizeof(who)));
		break;
	}
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
	c->idle_rounds = 0;
	if (f->fd >= 0)
		close(f->fd);
	pl_slots_trust(c->sup->ctl_slots, &c->slot);
	handle(c, f);
	if (c->closing)
		client_free(c);
	else
		client_quiet(c);
}

static void client_closed(pl_chan_t *ch, int rc, void *arg)
{
	(void)ch;
	if (rc != -PL_PROTO_EOF && rc != -PL_PROTO_EIO)
		pl_warn("control client: %s", pl_proto_strerror(rc));
	client_free(arg);
}

static const pl_chan_ops_t client_ops = { client_frame, client_closed };

/* Root, and anyone who is not a service: an administrator. (Without
 * privilege separation everything runs as one user: all are.) */
static int ctl_privileged(const sv_sup_t *sup, uid_t uid)
{
	if (uid == 0 || !sup->drop_privs)
		return 1;
	for (int i = 0; i < sup->nsvcs; i++)
		if (sup->svcs[i]->run_uid == uid)
			return 0;
	return 1;
}

/* The limits made room for a newcomer by closing c, quiet since. */
static void client_dropped(void *arg, pl_slot_t *slot, pl_slot_why_t why)
{
	sv_client_t *c = (sv_client_t *)(void *)((char *)slot - offsetof(sv_client_t, slot));
	(void)why;
	ctl_warn(arg, "closed the connection of %s, quiet for %llu ms, to make room "
		 "for another", c->peer, (unsigned long long)(pl_now_ms() - slot->since_ms));
	client_free(c);
}

/* Who is at the other end, and may they have a slot? 0, or -1 (logged). */
static int client_admit(sv_sup_t *sup, sv_client_t *c, int cfd)
{
	struct ucred cr = { .pid = 0, .uid = (uid_t)-1, .gid = (gid_t)-1 };
	socklen_t crlen = sizeof(cr);
	pl_slot_key_t key;
	if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cr, &crlen) == 0)
		snprintf(c->peer, sizeof(c->peer), "uid %ld pid %ld", (long)cr.uid,
			 (long)cr.pid);
	else
		pl_strlcpy(c->peer, "an unknown client", sizeof(c->peer));
	pl_slot_key_uid(&key, cr.uid);
	int rc = pl_slots_admit(sup->ctl_slots, &c->slot, &key,
				ctl_privileged(sup, cr.uid), pl_now_ms());
	if (rc == PL_SLOTS_PEER_FULL)
		ctl_warn(sup, "refused %s: %d connections of that user already", c->peer,
			 CTL_MAX_PER_UID);
	else if (rc < 0)
		ctl_warn(sup, "refused %s: too many clients (%d, of which %d for root and "
			 "administrators)", c->peer, CTL_MAX_CLIENTS, CTL_RESERVE);
	return rc < 0 ? -1 : 0;
}

static void ctl_accept(pl_loop_t *loop, int fd, uint32_t ev, void *arg)
{
	sv_sup_t *sup = arg;
	(void)ev;
	for (;;) {
		int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd < 0)
			return;
		sv_client_t *c = calloc(1, sizeof(*c));
		if (!c || client_admit(sup, c, cfd) < 0) {
			free(c);
			close(cfd);
			continue;
		}
		c->chan = pl_chan_new(loop, cfd, CTL_MAX_FRAME, CTL_MAX_QUEUE, &client_ops, c);
		if (!c->chan) {
			pl_slots_remove(sup->ctl_slots, &c->slot);
			free(c);
			close(cfd);
			continue;
		}
		c->sup = sup;
		c->id = ++sup->next_client_id;
		c->idle = pl_loop_timer(loop, CTL_FIRST_MS, client_idle, c);
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
		if (c->waiting)
			c->waiting--;
		if (c->closing)
			client_free(c);
		else
			client_quiet(c);
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
	static const pl_slots_conf_t limits = {
		.max_total = CTL_MAX_CLIENTS,
		.max_pending = CTL_MAX_CLIENTS,
		.max_per_peer = CTL_MAX_PER_UID,
		.reserve = CTL_RESERVE,
		.grace_ms = CTL_GRACE_MS,
		.deadline_ms = 0, /* the clients' own timers: CTL_FIRST_MS, CTL_IDLE_MS */
	};
	sup->ctl_slots = pl_slots_new(sup->loop, &limits, client_dropped, sup);
	if (!sup->ctl_slots) {
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
	pl_slots_free(sup->ctl_slots);
	sup->ctl_slots = NULL;
	free(sup->ctl_path);
	sup->ctl_path = NULL;
}
