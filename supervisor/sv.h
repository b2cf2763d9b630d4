/* plsc-supervisor internals. Modules:
 *   sconf.c    the supervisor's view of the config (schema, defaults)
 *   svc.c      one supervised service: spawn, channel, state machine
 *   logcap.c   per-service log files: line assembly, stamping, rotation
 *   control.c  the control socket (plsc, console)
 *   overrides.c persisted enable/disable
 *   route.c    routing TLV messages between services
 *   policy.c   roles and the allow-list of messages between them
 *   privsep.c  one system user per service, the shared data's owners
 *   main.c     arguments, start-up, signals, reload, shutdown */
#ifndef SV_H
#define SV_H

#include <limits.h>
#include <stdint.h>
#include <sys/types.h>

#include "pl_chan.h"
#include "pl_config.h"
#include "pl_loop.h"
#include "pl_proto.h"

#define SV_MAX_SERVICES 32
#define SV_MAX_PROCESSES_DEFAULT 512 /* a service's tasks, threads included */
#define SV_MAX_LISTEN 8
#define SV_MAX_DEATHS 64
#define SV_NAME_MAX 64
#define SV_CHANNEL_MAX_FRAME PL_CHAN_SUPERVISOR_MAX_FRAME
#define SV_CHANNEL_MAX_QUEUE (16u * 1024u * 1024u)

/* ---- configuration (sconf.c) ---- */

/* What a service may do, from its name (policy.c): a role grants rights,
 * so it is never taken from what the service says about itself. */
typedef enum {
	SV_ROLE_OTHER,    /* not a Service Client service: test services */
	SV_ROLE_HOLDER,   /* holds jobs: OfflinePrint, Email, Airprint */
	SV_ROLE_GATEWAY,  /* OffNetworkServer: holds jobs, asks for releases */
	SV_ROLE_BADGE,    /* SimpleBadgeRelease: asks for releases */
	SV_ROLE_IDENTITY, /* IdentitySync */
	SV_ROLE_SNMP,     /* SNMP */
	SV_ROLE_CONSOLE,  /* plsc-console: the control socket; asks for directory changes */
	SV_ROLE_DIRECTORY, /* plsc-directory: the directory's one writer, no network */
} sv_role_t;

#define SV_USER_MAX 33 /* useradd's limit is 32 characters */

typedef struct {
	char name[SV_NAME_MAX];
	int enabled;
	sv_role_t role;
	char user[SV_USER_MAX]; /* its own system user (privilege separation) */
	char *path; /* owned: sv_svcconf_copy, sv_svcconf_clear */
	char log_level[16];
	uint32_t max_processes; /* its tasks (threads count): cgroup pids.max, RLIMIT_NPROC */
	json_t *section; /* owned reference: sent to the service as CONFIG */
	int nlisten;
	struct {
		char name[32];
		char addr[128];
	} listen[SV_MAX_LISTEN];
} sv_svcconf_t;

/* The paths are allocated (at most PATH_MAX - 1 bytes), freed by
 * sv_config_free. */
typedef struct {
	char *file;
	char *state_dir;
	char *log_dir;
	char *run_dir;
	int privsep;		  /* as root: each service as its own user */
	char group[SV_USER_MAX];  /* every service's group: reads shared data */
	char admin_group[SV_USER_MAX]; /* the control socket's group */
	char log_level[16];
	int log_local; /* log_time "local": timestamps with the local offset */
	uint32_t heartbeat_interval_ms;
	uint32_t heartbeat_timeout_ms;
	uint32_t start_timeout_ms;
	uint32_t stop_grace_ms;
	uint32_t restart_first_ms;
	uint32_t restart_base_ms;
	uint32_t restart_max_ms;
	uint32_t stable_after_ms;
	uint32_t throttle_ms;
	uint32_t max_deaths;
	uint32_t death_window_ms;
	uint64_t log_max_bytes;
	uint32_t log_keep;
	int nsvcs;
	sv_svcconf_t *svcs; /* heap: keeps the supervisor's resident set small */
} sv_config_t;

/* Load and validate; on error returns -1 with err set (file:line:col). */
int sv_config_load(const char *file, sv_config_t *c, pl_err_t *err);
void sv_config_free(sv_config_t *c);
/* The complete default configuration; base = directory for state/log/run
 * (NULL: the system paths), bindir = where the service binaries live. */
char *sv_config_default(const char *base, const char *prefix);
const sv_svcconf_t *sv_config_find(const sv_config_t *c, const char *name);
/* Do two service configs differ in what needs a restart (path, listen)? */
int sv_svcconf_needs_restart(const sv_svcconf_t *a, const sv_svcconf_t *b);
int sv_svcconf_section_equal(const sv_svcconf_t *a, const sv_svcconf_t *b);
int sv_svcconf_listen_equal(const sv_svcconf_t *a, const sv_svcconf_t *b);
/* dst = src with its own path and a reference to the section: 0, or -1
 * (out of memory; dst untouched). clear frees them. */
int sv_svcconf_copy(sv_svcconf_t *dst, const sv_svcconf_t *src);
void sv_svcconf_clear(sv_svcconf_t *sc);

/* ---- log files (logcap.c) ---- */

#define SV_LOG_LINE_MAX 8192

/* The path and the partial-line buffer are allocated when needed: whole
 * lines (nearly all) go from the read buffer to the file, and a dozen
 * services' fixed 12 KiB each was most of the supervisor's own memory. */
typedef struct {
	char *path;
	int fd;
	uint64_t size;
	uint64_t max_bytes;
	uint32_t keep;
	char ident[SV_NAME_MAX];
	char *line;	/* SV_LOG_LINE_MAX bytes while a partial line waits */
	size_t linelen;
	char last_error[120]; /* the last error line's message, this run */
} sv_logfile_t;

int sv_logfile_open(sv_logfile_t *lf, const char *path, const char *ident,
		    uint64_t max_bytes, uint32_t keep);
/* Close the file and free what open allocated (a partial line is lost:
 * flush first). */
void sv_logfile_close(sv_logfile_t *lf);
void sv_logfile_set_limits(sv_logfile_t *lf, uint64_t max_bytes, uint32_t keep);
/* Raw bytes from a child: split into lines, stamp unstamped ones. */
void sv_logfile_feed(sv_logfile_t *lf, const char *p, size_t n, long pid);
/* Flush a partial line (child died mid-line). */
void sv_logfile_flush(sv_logfile_t *lf, long pid);
/* One complete line (with newline); rotates first if it would not fit. */
void sv_logfile_write(sv_logfile_t *lf, const char *line, size_t len);
int sv_logfile_rotate(sv_logfile_t *lf);

/* ---- services (svc.c) ---- */

typedef enum {
	SV_DISABLED,
	SV_STOPPED,
	SV_STARTING,
	SV_RUNNING,
	SV_BACKOFF,
	SV_THROTTLED,
	SV_FAILED,
	SV_STOPPING,
} sv_state_t;

const char *sv_state_name(sv_state_t s);

typedef struct sv_sup sv_sup_t;

typedef struct sv_svc {
	sv_sup_t *sup;
	sv_svcconf_t conf;
	int override; /* -1 none, 0 disabled, 1 enabled (persisted) */
	sv_state_t state;
	pid_t pid;
	long last_pid;
	pl_chan_t *chan; /* NULL while no child runs */
	int helloed;
	unsigned caps;
	uint64_t denied; /* messages the allow-list dropped */
#define SV_DENIED_TYPES 16
	uint16_t denied_types[SV_DENIED_TYPES]; /* logged once each */
	int ndenied_types;
	int log_r, log_w; /* the log pipe outlives restarts */
	pl_watch_t *log_watch;
	sv_logfile_t log;
	int listen_fds[SV_MAX_LISTEN];
	uint64_t started_at, ready_at;
	uint32_t restarts;
	uint32_t backoff_step;
	uint64_t deaths[SV_MAX_DEATHS];
	uint32_t ndeaths;
	pl_timer_t *timer;   /* restart delay, start timeout or stop grace */
	pl_timer_t *hb;      /* heartbeat */
	uint64_t last_pong;
	uint32_t ping_seq;
	char last_exit[256];
	char detail[200]; /* the service's own status line (SVC_STATUS) */
	char kill_reason[200]; /* with the last status detail (a watchdog) */
	uid_t run_uid; /* its user once started under privsep, else -1 */
	int stop_then; /* after the child exits: SV_STOP_* */
	int removed;   /* dropped from the config on reload */
} sv_svc_t;

enum { SV_STOP_REST = 0, SV_STOP_RESTART, SV_STOP_DISABLE, SV_STOP_REMOVE };

int sv_svc_init(sv_svc_t *s, sv_sup_t *sup, const sv_svcconf_t *conf);
void sv_svc_free(sv_svc_t *s);
int sv_svc_enabled(const sv_svc_t *s);
/* Start if enabled and idle (clears failed/throttled). */
void sv_svc_start(sv_svc_t *s);
/* Ask the child to stop; then per "then" (SV_STOP_*). */
void sv_svc_stop(sv_svc_t *s, int then);
/* waitpid() said our child exited. */
void sv_svc_exited(sv_svc_t *s, int status);
/* Send a frame to the child (routing, CONFIG). */
int sv_svc_send(sv_svc_t *s, const pl_msg_t *m);
void sv_svc_send_config(sv_svc_t *s);
/* Close the listening sockets kept for the service (its listen config
 * changed; the next start binds the new ones). */
void sv_svc_close_listen(sv_svc_t *s);
/* SIGKILL the child's process group (shutdown escalation). */
void sv_svc_kill(sv_svc_t *s, const char *why);

/* ---- one cgroup per service (cgroup.c) ---- */

/* Find and make our cgroup directory (root only; sets sup->cg_base, or
 * leaves it NULL and says why). -1 only when out of memory. */
int sv_cgroup_init(sv_sup_t *sup);
/* Kill what is left and remove our directories. */
void sv_cgroup_free(sv_sup_t *sup);
/* Make the service's cgroup; the descriptor of its cgroup.procs, which the
 * child writes "0" to before exec, or -1 (no cgroups). */
int sv_cgroup_prepare(sv_svc_t *s, uint32_t max_procs);
/* SIGKILL every process in the service's cgroup; how many there were. */
int sv_cgroup_kill(sv_svc_t *s);
void sv_cgroup_rmtree(const char *dir);

/* ---- the supervisor (main.c) ---- */

struct sv_sup {
	pl_loop_t *loop;
	sv_config_t cfg;
	char *config_file; /* absolute where it could be resolved */
	int nsvcs;
	sv_svc_t *svcs[SV_MAX_SERVICES];
	int shutting_down;
	int quiet;
	uint64_t started_at;
	pl_timer_t *shutdown_timer;
	int holding;           /* the others wait for the directory's writer */
	pl_timer_t *hold_timer;
	int drop_privs;   /* root and privsep: services run as their users */
	gid_t shared_gid; /* supervisor.group */
	gid_t admin_gid;  /* supervisor.admin_group */
	sv_logfile_t ownlog;
	int ctl_fd;
	pl_watch_t *ctl_w;
	struct sv_client *clients;
	int nclients;
	struct pl_slots *ctl_slots; /* who may hold a connection (control.c) */
	uint64_t ctl_warn_ms;	    /* its refusals, logged a few a second */
	uint32_t ctl_warned;
	uint64_t next_client_id;
	uint32_t next_seq; /* for requests the supervisor originates */
	struct sv_op *ops;
	struct sv_relay *relays; /* plsc sync now, waiting for IdentitySync (syncreq.c) */
	sv_logfile_t events; /* job-events.jsonl, rotated like the logs */
	int events_open;
	char *ctl_path; /* NULL until the control socket is bound */
	char *cg_base;	/* <cgroup2>/<own>/plsc.<pid>, or NULL: process groups only */
	int cg_pids;	/* the pids controller is on there */
	unsigned ticks;	/* of the 1 s housekeeping timer */
};

sv_svc_t *sv_find(sv_sup_t *sup, const char *name);
/* A child changed state: if shutting down and none is left, finish. */
void sv_check_shutdown(sv_sup_t *sup);
/* Re-read the config; -1 with err set when it is refused. */
int sv_reload(sv_sup_t *sup, pl_err_t *err);
void sv_begin_shutdown(sv_sup_t *sup);
/* The directory's writer is ready, or will not be: start the services
 * held back for it (no-op when none are). */
void sv_start_held(sv_sup_t *sup);

/* ---- persisted enable/disable (overrides.c) ---- */

int sv_overrides_load(sv_sup_t *sup);
int sv_overrides_save(sv_sup_t *sup);

/* ---- control socket (control.c) ---- */

int sv_control_open(sv_sup_t *sup);
void sv_control_close(sv_sup_t *sup);

/* ---- job operations across holders (jobops.c) ---- */

/* Who asked: a service (by name, checked again at reply time) or a
 * control client (by id: it may have gone away meanwhile). */
typedef struct {
	int is_client;
	char svc[SV_NAME_MAX];
	uint64_t client_id;
	uint32_t seq;
	/* a control client: who, as its log line names them (uid, pid, the
	 * console's administrator); a release override passes it on */
	char who[200];
} sv_asker_t;

/* The supervisor's own log: <log_dir>/plsc-supervisor.log */
#define SV_OWNLOG "plsc-supervisor"

/* control.c: a client of the control socket (plsc, the console). */
typedef struct sv_client sv_client_t;
void sv_client_send(sv_client_t *c, pl_msg_t *m);
void sv_client_reply(sv_client_t *c, uint32_t seq, uint32_t status,
		     const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* logread.c: CTL_LOGS */
void sv_logs_request(sv_client_t *c, sv_sup_t *sup, const pl_frame_t *f);

enum { SV_OP_JOBS, SV_OP_RELEASE, SV_OP_DELETE };

/* Start an operation from a request frame (CTL_JOBS, CTL_RELEASE,
 * CTL_DELETE, RELEASE). The answer goes to the asker as a RESULT. */
void sv_jobops_start(sv_sup_t *sup, int kind, const pl_frame_t *f,
		     const sv_asker_t *asker);
/* A RESULT reply from a service: 1 if it belonged to an operation. */
int sv_jobops_reply(sv_sup_t *sup, sv_svc_t *from, const pl_frame_t *f);
/* A service went away: its outstanding answers count as failures. */
void sv_jobops_service_gone(sv_sup_t *sup, sv_svc_t *s);
void sv_jobops_free_all(sv_sup_t *sup);
/* Append one job event (typed fields from a service) to job-events.jsonl
 * (jobevent.c). */
void sv_jobevent(sv_sup_t *sup, sv_svc_t *from, const pl_frame_t *f);
/* ---- plsc sync now (syncreq.c) ---- */
typedef struct sv_relay sv_relay_t;
void sv_syncreq_start(sv_sup_t *sup, sv_client_t *c, uint64_t client_id, const pl_frame_t *f,
		      const char *who);
/* A RESULT from a service: 1 if it answered a relayed SYNC_NOW. */
int sv_syncreq_reply(sv_sup_t *sup, sv_svc_t *from, const pl_frame_t *f);
void sv_syncreq_service_gone(sv_sup_t *sup, sv_svc_t *s);
void sv_syncreq_free_all(sv_sup_t *sup);
/* Deliver a reply to a control client by id (control.c); -1 if gone. */
int sv_control_send(sv_sup_t *sup, uint64_t client_id, pl_msg_t *m);

/* ---- routing (route.c) ---- */

void sv_route(sv_sup_t *sup, sv_svc_t *from, const pl_frame_t *f);

/* ---- roles and the allow-list (policy.c) ---- */

sv_role_t sv_role_of(const char *name);
const char *sv_role_name(sv_role_t r);
/* The user a service runs as when none is configured: plsc-<short name>. */
void sv_default_user(const char *name, char *user, size_t sz);
/* May a frame of this type go from a service of role `from` to the
 * supervisor itself (to == NULL) or be routed to a service of role *to? */
int sv_policy_allows(uint16_t type, int reply, sv_role_t from,
		     const sv_role_t *to);
/* Does this role hold jobs (asked by JOBS_QUERY, may send JOB_EVENT)? */
int sv_role_holds_jobs(sv_role_t r);
/* Count and log (rate-limited) a frame the allow-list dropped. */
void sv_policy_deny(sv_svc_t *from, const pl_frame_t *f, const char *to,
		    const char *why);

/* ---- privilege separation (privsep.c) ---- */

typedef struct {
	uid_t uid;
	gid_t gid;     /* the shared group */
	gid_t admin;   /* supplementary: the admin group, or (gid_t)-1 */
} sv_cred_t;

/* Resolve the shared and admin groups (sup->shared_gid, admin_gid) and
 * decide drop_privs. -1 with a message on stderr for a missing group. */
int sv_privsep_init(sv_sup_t *sup);
/* The credentials of a service: 0, or -1 with msg (no such user). */
int sv_privsep_cred(const sv_sup_t *sup, const sv_svcconf_t *sc,
		    sv_cred_t *cred, char *msg, size_t msgsz);
/* A directory of ours given to uid:gid (-1: unchanged) with mode, through
 * a descriptor that follows no symbolic link, so nothing planted in its
 * parent can turn root's chown elsewhere. The open descriptor, or -1. */
int sv_privsep_own_dir(const char *dir, uid_t uid, gid_t gid, mode_t mode);
/* Make every configured service's missing state dir, owned as its start
 * would own it (0700, its user under privsep); existing ones untouched. */
void sv_state_dirs_make(const sv_sup_t *sup);
/* Give <state_dir>/directory and its database files to their writer
 * (plsc-directory's user) and the shared group: 0750 and 0640, never following a
 * symbolic link. uid/gid -1: leave the owner. */
int sv_privsep_directory(const char *state_dir, uid_t uid, gid_t gid,
			 char *msg, size_t msgsz);
/* The directory's writer and group from a config, as root with privsep
 * on: 1 (set), 0 (no privilege separation), -1 (msg says why). */
int sv_privsep_directory_owner(const sv_config_t *c, uid_t *uid, gid_t *gid,
			       char *msg, size_t msgsz);
/* A directory of ours (state, log, run): root's and 0755. 0 as it was,
 * 1 repaired (msg says what), -1 (msg says why). */
int sv_privsep_base_dir(const char *dir, char *msg, size_t msgsz);
/* useradd/groupadd whatever the config names and the system lacks. */
int sv_privsep_create_users(const sv_config_t *c);

#endif
