/* The rogue mode of plsc-testsvc ("mode": "rogue"): a compromised service,
 * as an attacker would drive it. Once ready it tries every message the
 * allow-list forbids it and every file and socket its user must not reach,
 * and writes what happened to <state_dir>/rogue.txt, one attempt a line:
 *   "read PATH: EACCES", "write PATH: ok", "connect PATH: EACCES", ...
 * then "done". The test then checks that nothing happened but log lines.
 * Config keys:
 *   "victim": NAME        the service it sends SHUTDOWN, CONFIG, ... to
 *   "job_id": ID          a job it asks to delete and release
 *   "read": [PATH...]     files it tries to read
 *   "write": [PATH...]    files it tries to open for writing (never
 *                         truncated or created: O_WRONLY only)
 *   "connect": [PATH...]  Unix sockets it tries to connect to
 *   "flood": N            then N more forbidden SHUTDOWNs to the victim, as
 *                         fast as the channel takes them */
#include "rogue.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "pl_log.h"
#include "pl_util.h"

typedef struct {
	pl_service_t *svc;
	char victim[64];
	char job_id[64];
	json_t *read, *write, *connect; /* owned references */
	long long flood;
	FILE *out;
} rogue_t;

static void say(rogue_t *r, const char *what, const char *path, int rc)
{
	fprintf(r->out, "%s %s: %s\n", what, path,
		rc == 0 ? "ok" : strerrorname_np(errno) ? strerrorname_np(errno) : "?");
	fflush(r->out);
}

static void send_to(rogue_t *r, uint16_t type, const char *to)
{
	pl_msg_t m;
	if (pl_msg_init(&m, type, 0, 7) < 0)
		return;
	if (to)
		pl_msg_add_str(&m, PL_TAG_TO, to);
	/* What each type would carry from the supervisor. */
	pl_msg_add_u32(&m, PL_TAG_GRACE_MS, 1);
	pl_msg_add_str(&m, PL_TAG_CONFIG, "{\"mode\": \"crash\"}");
	pl_msg_add_str(&m, PL_TAG_USER, "alice");
	pl_msg_add_str(&m, PL_TAG_PRINTER, "Lobby");
	pl_msg_add_str(&m, PL_TAG_JOB_ID, r->job_id);
	pl_msg_add_str(&m, PL_TAG_OP, "printer-del"); /* DIR_WRITE: P1 gone */
	pl_msg_add_str(&m, PL_TAG_NAME, "P1");
	pl_msg_add_str(&m, PL_TAG_FROM, "plsc-supervisor");
	if (pl_msg_finish(&m) == 0)
		pl_service_send(r->svc, &m);
	pl_msg_free(&m);
	fprintf(r->out, "sent %s to %s\n", pl_msg_type_name(type),
		to ? to : "the supervisor");
}

static void try_messages(rogue_t *r)
{
	static const uint16_t routed[] = {
		PL_MSG_SHUTDOWN, PL_MSG_CONFIG, PL_MSG_PING, PL_MSG_JOBS_QUERY,
		PL_MSG_RELEASE_JOBS, PL_MSG_DELETE_JOBS, PL_MSG_CTL_STOP,
		PL_MSG_JOB_EVENT, PL_MSG_RELEASE,
	};
	static const uint16_t direct[] = {
		PL_MSG_CTL_STOP, PL_MSG_CTL_DISABLE, PL_MSG_JOB_EVENT,
		PL_MSG_RELEASE, PL_MSG_DELETE_JOBS,
	};
	for (size_t i = 0; i < PL_ARRAY_LEN(routed); i++) {
		send_to(r, routed[i], r->victim);
		send_to(r, routed[i], "*holders");
	}
	for (size_t i = 0; i < PL_ARRAY_LEN(direct); i++)
		send_to(r, direct[i], NULL);
	/* Only the console and IdentitySync may ask the directory's writer. */
	send_to(r, PL_MSG_DIR_WRITE, "plsc-directory");
}

static void try_files(rogue_t *r, json_t *list, int flags, const char *what)
{
	size_t i;
	json_t *v;
	json_array_foreach(list, i, v) {
		const char *p = json_string_value(v);
		if (!p)
			continue;
		int fd = open(p, flags | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
		say(r, what, p, fd < 0 ? -1 : 0);
		if (fd >= 0)
			close(fd);
	}
}

static void try_sockets(rogue_t *r)
{
	size_t i;
	json_t *v;
	json_array_foreach(r->connect, i, v) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		const char *p = json_string_value(v);
		if (!p || strlen(p) >= sizeof(sa.sun_path))
			continue;
		pl_strlcpy(sa.sun_path, p, sizeof(sa.sun_path));
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		int rc = fd < 0 ? -1 : connect(fd, (struct sockaddr *)&sa, sizeof(sa));
		say(r, "connect", p, rc);
		if (fd >= 0)
			close(fd);
	}
}

/* A flood of forbidden frames: the supervisor must drop them all, count
 * them all, and log only a few lines. */
static long long flood(rogue_t *r)
{
	long long sent = 0;
	for (long long i = 0; i < r->flood; i++) {
		pl_msg_t m;
		if (pl_msg_init(&m, PL_MSG_SHUTDOWN, 0, (uint32_t)i) < 0)
			break;
		pl_msg_add_str(&m, PL_TAG_TO, r->victim);
		pl_msg_add_u32(&m, PL_TAG_GRACE_MS, 1);
		int rc = pl_msg_finish(&m);
		if (rc == 0)
			rc = pl_service_send(r->svc, &m);
		pl_msg_free(&m);
		if (rc < 0)
			break; /* our own queue is full: what went out counts */
		sent++;
	}
	return sent;
}

static void attack(pl_loop_t *loop, void *arg)
{
	rogue_t *r = arg;
	(void)loop;
	try_messages(r);
	try_files(r, r->read, O_RDONLY, "read");
	try_files(r, r->write, O_WRONLY, "write");
	try_sockets(r);
	if (r->flood)
		fprintf(r->out, "flood sent %lld\n", flood(r));
	fprintf(r->out, "control socket in environment: %s\n",
		getenv(PL_ENV_CONTROL) ? "yes" : "no");
	fprintf(r->out, "done\n");
	fflush(r->out);
	pl_info("rogue: every attempt made");
}

int rogue_start(pl_service_t *svc, const pl_cnode_t *cfg)
{
	static rogue_t r; /* lives as long as the process */
	pl_err_t err;
	const char *victim, *job;
	pl_cnode_t rd, wr, cn;
	char path[4096];

	r.svc = svc;
	if (pl_cnode_str(cfg, "victim", "nobody", &victim, &err) < 0 ||
	    pl_cnode_str(cfg, "job_id", "0123456789abcdef", &job, &err) < 0 ||
	    pl_cnode_array(cfg, "read", 0, &rd, &err) < 0 ||
	    pl_cnode_array(cfg, "write", 0, &wr, &err) < 0 ||
	    pl_cnode_array(cfg, "connect", 0, &cn, &err) < 0 ||
	    pl_cnode_int(cfg, "flood", 0, 1000000, 0, &r.flood, &err) < 0) {
		pl_err("%s", err.msg);
		return PL_EXIT_CONFIG;
	}
	pl_strlcpy(r.victim, victim, sizeof(r.victim));
	pl_strlcpy(r.job_id, job, sizeof(r.job_id));
	r.read = rd.node ? json_incref(rd.node) : json_array();
	r.write = wr.node ? json_incref(wr.node) : json_array();
	r.connect = cn.node ? json_incref(cn.node) : json_array();
	snprintf(path, sizeof(path), "%s/rogue.txt", pl_service_state_dir(svc));
	r.out = fopen(path, "we");
	if (!r.out) {
		pl_err("%s: %s", path, strerror(errno));
		return 1;
	}
	/* After READY: the supervisor has routed nothing from us before. */
	pl_loop_timer(pl_service_loop(svc), 200, attack, &r);
	return 0;
}
