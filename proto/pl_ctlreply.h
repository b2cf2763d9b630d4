/* pl_ctlreply: the supervisor's answers to CTL_STATUS and CTL_JOBS
 * (proto/PROTOCOL.md) decoded into plain structs, for every client of
 * the control socket: plsc(1) prints them, plsc-console serves them. */
#ifndef PL_CTLREPLY_H
#define PL_CTLREPLY_H

#include <limits.h>
#include <stdint.h>

#include "pl_proto.h"

/* One nested SERVICE of a CTL_STATUS reply. */
typedef struct {
	char name[64], state[32], last_exit[256], path[PATH_MAX];
	char detail[200];
	char role[16], user[33]; /* user: "" without privilege separation */
	uint8_t enabled;
	uint32_t pid, restarts;
	uint64_t uptime;
	uint64_t denied; /* frames the allow-list dropped */
	int has_uptime; /* UPTIME_MS is sent only while a process exists */
} pl_svc_row_t;

/* The nested SUPERVISOR of a CTL_STATUS reply. */
typedef struct {
	char version[64], config[PATH_MAX];
	uint32_t pid;
	uint64_t uptime;
} pl_sup_row_t;

/* One nested JOB of a CTL_JOBS reply. */
typedef struct {
	char id[64], user[128], ws[128], title[256], printer[128], format[64];
	char page_size[32], source[64];
	uint32_t pages; /* 0: not known (the JOB nest had no PAGES) */
	uint64_t size, created, expires;
	uint64_t maybe; /* not 0: a release was cut off then; it may have printed */
} pl_job_row_t;

/* One nested JOB of a release's or a delete's RESULT: its outcome. */
typedef struct {
	char id[64], message[300];
	uint32_t status; /* PL_STATUS_*; absent: PL_STATUS_ERROR */
} pl_result_row_t;

/* Unknown tags are skipped (a newer supervisor). A service row with a
 * malformed field is -1 (plsc status fails on it); the supervisor and job
 * rows skip a malformed field and keep the rest (gossip), -1 only when
 * the nest itself is broken. */
int pl_svc_row_decode(const pl_field_t *fl, pl_svc_row_t *r);
int pl_sup_row_decode(const pl_field_t *fl, pl_sup_row_t *r);
int pl_job_row_decode(const pl_field_t *fl, pl_job_row_t *j);
int pl_result_row_decode(const pl_field_t *fl, pl_result_row_t *r);

#endif
