/* pl_service: the runtime every service binary is built on.
 *
 * One entry point (pl_service_main) handles --help, --version, --config,
 * --foreground and the supervisor channel (DESIGN.md §4):
 *   child -> HELLO; supervisor -> CONFIG (this service's section as JSON);
 *   child starts serving, -> READY; PING is answered with PONG from the main
 *   loop (so a reply proves the loop is alive, not a helper thread), and
 *   only while every watchdog (pl_service_watchdog) was kicked in time;
 *   SHUTDOWN asks for a graceful exit within the grace period; EOF on the
 *   channel means the supervisor died, and the service exits.
 * In --foreground mode the service reads its section from --config itself,
 * binds its own listening sockets and stops on SIGINT/SIGTERM.
 *
 * Hosting a foreign library's loop: the runtime always runs pl_loop, and
 * the library joins it from start():
 *  - a library that lends its descriptors and timeout (libmicrohttpd,
 *    libcurl multi, libwebsockets, net-snmp): pl_adapt_new(
 *    pl_service_loop(svc), ...) keeps them in the loop (pl_adapt.h); the
 *    console does this with MHD, and plsc-adaptsvc (tests/lib/adaptsvc.c,
 *    t10) with curl, lws and net-snmp under the real supervisor;
 *  - a library that must block in its own calls (libetpan's IMAP IDLE, a
 *    synchronous LDAP search): run it on a thread of its own, register a
 *    watchdog for that thread (below) and kick it each turn, and hand
 *    results to the loop with pl_loop_post (pl_loop.h);
 * Either way PONG keeps meaning "the main loop and every registered
 * watchdog are alive". */
#ifndef PL_SERVICE_H
#define PL_SERVICE_H

#include <stdint.h>

#include "pl_config.h"
#include "pl_loop.h"
#include "pl_proto.h"
#include "pl_sandbox.h"
#include "pl_schema.h"
#include "pl_watchdog.h"
#include "pl_work.h"

/* Exit code meaning "my configuration is bad: do not restart me"
 * (EX_CONFIG from sysexits.h). */
#define PL_EXIT_CONFIG 78

/* Environment handed from the supervisor to a child. */
#define PL_ENV_CHANNEL "PLSC_CHANNEL_FD"
#define PL_ENV_SERVICE "PLSC_SERVICE"
#define PL_ENV_LISTEN "PLSC_LISTEN_FDS" /* "name=fd,name=fd" */
#define PL_ENV_STATE_DIR "PLSC_STATE_DIR"
#define PL_ENV_CONTROL "PLSC_CONTROL_SOCKET" /* the supervisor's control socket */
#define PL_ENV_LOG_TIME "PLSC_LOG_TIME" /* "local": log timestamps in local time */
/* The channel's fixed fd number in a child (Postfix-style fixed fds). */
#define PL_CHANNEL_FD 3

#define PL_DEFAULT_CONFIG_FILE "/etc/plsc/plsc.json"

typedef struct pl_service pl_service_t;

typedef struct {
	const char *name;    /* default service name (argv[0] style) */
	const char *summary; /* one line for --help */
	/* The service's configuration keys: --help lists them (with the
	 * supervisor's own), then help follows. NULL: help only. */
	const struct pl_schema *schema;
	const char *help;    /* extra --help text */
	unsigned caps;       /* PL_CAP_* announced in HELLO */
	/* Validate the section and start serving. Return 0, or an exit code
	 * (PL_EXIT_CONFIG after logging the config error). */
	int (*start)(pl_service_t *svc, const pl_cnode_t *cfg, void *ctx);
	/* New settings at run time. 0 = applied; non-zero = rejected, the old
	 * settings stay (the runtime logs that). NULL = restart needed: the
	 * runtime exits 0 and the supervisor restarts it. */
	int (*reconfig)(pl_service_t *svc, const pl_cnode_t *cfg, void *ctx);
	/* Stop accepting, finish in-flight work, then pl_service_exit(svc, 0).
	 * NULL = exit at once. */
	void (*shutdown)(pl_service_t *svc, uint32_t grace_ms, void *ctx);
	/* Any frame the runtime does not handle itself (routed messages). */
	void (*message)(pl_service_t *svc, const pl_frame_t *f, void *ctx);
	/* Called once after the loop ends, to free resources. */
	void (*stop)(pl_service_t *svc, void *ctx);

	/* ---- sandboxing (pl_sandbox.h) ---- */
	/* Called right before start() with the same section, to add what the
	 * service needs to the sandbox beyond the default: its state dir
	 * read-write and the system paths read-only (PL_SANDBOX_SYSTEM_RO),
	 * nothing else. E.g. the directory's folder, TLS files, assets.
	 * Return 0, or an exit code (PL_EXIT_CONFIG after logging a config
	 * error). NULL = the default. The runtime then restricts the process
	 * before start(), so that the threads start() creates are bound too;
	 * paths a later reconfig names are not reachable (restart instead). */
	int (*sandbox)(pl_service_t *svc, const pl_cnode_t *cfg, pl_sandbox_t *sb,
		       void *ctx);
} pl_service_def_t;

int pl_service_main(int argc, char **argv, const pl_service_def_t *def,
		    void *ctx);

pl_loop_t *pl_service_loop(pl_service_t *svc);
const char *pl_service_name(const pl_service_t *svc);
/* This service's private state directory (created, 0700). */
const char *pl_service_state_dir(const pl_service_t *svc);
/* A listening socket the supervisor bound for us (or that we bound in
 * --foreground) from the section's "listen" object, -1 if none. */
int pl_service_listen_fd(pl_service_t *svc, const char *name);
int pl_service_supervised(const pl_service_t *svc);
/* Queue a frame to the supervisor; 0, or <0 (no channel, queue full). */
int pl_service_send(pl_service_t *svc, const pl_msg_t *m);
/* A one-line status of the service's own ("12 swipes, 3 unknown badges"),
 * shown by plsc status; gossip. Call it as often as it changes: the first
 * line after a quiet second is sent at once, later ones within a second of
 * it are folded into the latest, sent when that second ends. */
void pl_service_status(pl_service_t *svc, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* ---- health ----
 * Watchdogs: one per helper thread or foreign loop that must keep moving
 * (pl_watchdog.h). The thread kicks it (lock-free) each turn; when the
 * supervisor's PING finds one silent for longer than max_silence_ms, the
 * runtime logs once "watchdog 'NAME' silent for N ms" at error level,
 * sends that as the status detail and withholds PONG, so the supervisor
 * kills and restarts the service after its heartbeat timeout and names the
 * watchdog in its log. Owned by the runtime (freed at exit); call from the
 * loop thread. NULL when 32 are registered already. */
pl_watchdog_t *pl_service_watchdog(pl_service_t *svc, const char *name,
				   uint32_t max_silence_ms);
void pl_service_watchdog_remove(pl_service_t *svc, pl_watchdog_t *wd);
/* Work pools whose age the runtime reports: at each PING, a pool whose
 * oldest queued-or-running job is older than stuck_ms adds
 * "pool NAME: 3 pending, oldest 42 s" to the status detail (after the
 * service's own line). Remove a pool before freeing it. 0, or -1 when 8
 * are registered already. */
int pl_service_add_pool(pl_service_t *svc, pl_work_t *w, uint32_t stuck_ms);
void pl_service_remove_pool(pl_service_t *svc, pl_work_t *w);

/* Leave the loop and exit with code once the channel queue is flushed. */
void pl_service_exit(pl_service_t *svc, int code);

#endif
