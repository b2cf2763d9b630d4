/* pl_holder: the held-jobs side of every service that holds jobs
 * (OfflinePrint today; Email, AirPrint, OffNetwork next). A service takes
 * jobs in its own way and stores them in its pl_jobstore; the holder does
 * the rest, the same way for all of them (proto/PROTOCOL.md §6, §8, §9):
 *   JOBS_QUERY    list held jobs a page at a time, each answer well under
 *                 the channel's frame: ids and creation times only, unless
 *                 the supervisor asks for the full listing (PL_TAG_FULL);
 *                 or only the newest job a release may print (NEWEST)
 *   RELEASE_JOBS  claim, verify, print through lib/printer, answer per
 *                 job, then shred what the printer took (low priority);
 *                 with USER and NEWEST instead of ids (the supervisor's
 *                 form when we are the only holder: the service announces
 *                 PL_CAP_RELEASE_NEWEST), the user's newest job that may
 *                 print, chosen by us
 *   DELETE_JOBS   crypto-shred on request
 *   JOB_EVENT     typed fields for <log_dir>/job-events.jsonl
 *   expiry        unreleased jobs are shredded after expiry_ms
 * Everything here runs on the service's loop thread; blocking work goes to
 * the holder's worker pools (disk, print, shred). */
#ifndef PL_HOLDER_H
#define PL_HOLDER_H

#include <stddef.h>
#include <stdint.h>

#include "pl_config.h"
#include "pl_directory.h"
#include "pl_jobstore.h"
#include "pl_loop.h"
#include "pl_proto.h"
#include "pl_sandbox.h"
#include "pl_work.h"

typedef struct pl_holder pl_holder_t;

/* The held-jobs settings every holder shares (pl_holder_conf_parse). */
typedef struct {
	int64_t expiry_ms;
	uint32_t expiry_check_ms; /* 0: no expiry timer (tests) */
	uint64_t quota_user_bytes, quota_total_bytes; /* 0 = unlimited */
	uint32_t print_connect_timeout_ms, print_io_timeout_ms;
	uint32_t print_workers;
	int report_titles; /* titles in job events */
	/* refuse_offline_printers: a release to a printer whose fresh SNMP
	 * poll says offline is answered at once, before any claim
	 * (pl_prstatus_offline); the status file is prstatus_path */
	int refuse_offline;
	char directory_path[4096];
	char prstatus_path[4096];
} pl_holder_conf_t;

/* Read the shared settings from a service's section. Their keys, ranges
 * and defaults are pl_schema_holder (pl_schemas.h), which the holding
 * service's own schema includes; the service checks its whole section
 * with that before calling this. state_dir gives the directory's default
 * path. 0 or -1 with err. */
int pl_holder_conf_parse(pl_holder_conf_t *c, const pl_cnode_t *cfg,
			 const char *state_dir, pl_err_t *err);

/* The holder's sandbox rules: the SNMP service's state dir read-only,
 * for refuse_offline_printers (always, so that a reload may turn the
 * setting on). Creates that dir when it is missing and we may (one
 * user); where we may not and it is missing, the rule is skipped and a
 * later reload cannot read the status: a warning says to restart once the
 * SNMP service has run. 0 or -1 with err. */
int pl_holder_sandbox(pl_sandbox_t *sb, const pl_holder_conf_t *c, pl_err_t *err);

/* Open the service's job store: <state_dir>/jobs and
 * <state_dir>/master.key, with the expiry and quotas of c; logs how many
 * jobs are held and any damaged files set aside. Returns what
 * pl_jobstore_open returns (PL_JS_EKEY: a configuration problem). */
int pl_holder_store_open(const char *state_dir, const pl_holder_conf_t *c,
			 pl_jobstore_t **js, pl_err_t *err);

/* Sends a frame to the supervisor: 0, or <0 (a PL_PROTO_E* code) when
 * it cannot. */
typedef int (*pl_holder_send_fn)(void *arg, const pl_msg_t *m);

typedef struct {
	pl_loop_t *loop;
	const char *name;	/* worker thread prefix, e.g. "op": op-print ... */
	pl_jobstore_t *store;	/* the service's; it outlives the holder */
	pl_dir_t *dir;		/* printers are looked up here */
	pl_holder_send_fn send; /* answers and job events */
	void *send_arg;
	int events;		/* send JOB_EVENTs (0: not supervised) */
	const pl_holder_conf_t *conf; /* copied */
	/* Optional: told of every job event (pl_holder_event), supervised or
	 * not, on the loop thread, after the supervisor's copy is queued. A
	 * service that reports outcomes elsewhere uses it (OffNetwork tells
	 * its gateway what became of a remote user's held job). */
	void (*event_hook)(void *arg, const char *event, const pl_job_meta_t *m,
			   const char *detail);
	void *event_arg;
} pl_holder_opts_t;

/* Create the worker pools and start the expiry timer. 0 or -1 with err. */
int pl_holder_new(pl_holder_t **h, const pl_holder_opts_t *o, pl_err_t *err);
/* Wait for releases in flight, then shreds, then disk work; stop expiry.
 * The store and directory stay open (they are the service's). */
void pl_holder_free(pl_holder_t *h);

/* New settings at run time: report_titles and the print timeouts apply to
 * the next request; pool sizes, expiry and quotas need a restart. */
void pl_holder_reconfig(pl_holder_t *h, const pl_holder_conf_t *c);

/* A frame from the supervisor: 1 if it was JOBS_QUERY, RELEASE_JOBS or
 * DELETE_JOBS (answered, now or when the work is done), 0 otherwise. */
int pl_holder_message(pl_holder_t *h, const pl_frame_t *f);

/* Report what happened to a job: event is one of "held", "printed",
 * "print-failed", "expired", "deleted", "refused" (the supervisor refuses
 * others); detail may be NULL. The title goes only with report_titles. */
void pl_holder_event(pl_holder_t *h, const char *event,
		     const pl_job_meta_t *m, const char *detail);

/* The disk pool (one queue for commits, deletes and expiry), for the
 * service's own blocking store work. */
pl_work_t *pl_holder_disk(pl_holder_t *h);
/* Work queued or running in any pool (a draining service waits for 0). */
size_t pl_holder_pending(pl_holder_t *h);

#endif
