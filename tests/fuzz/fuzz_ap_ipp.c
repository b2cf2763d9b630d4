// fuzz-sources: services/airprint/ipp.c services/airprint/attrs.c common/util.c common/log.c
// fuzz-ldflags: -lcups
/* libFuzzer target: PrinterLogicServiceAirprint's own checks of an IPP
 * request that libcups has parsed (hostile input: anyone who reaches port
 * 631; Validate-Job and Get-Printer-Attributes need no login): the
 * request's first attributes, the job template (copies, sides,
 * print-color-mode, media) and media-col, which iOS sends and whose size
 * we map to a PWG media name; Get-Jobs and Get-Job-Attributes on an empty
 * job table and store. Input: one byte choosing the operation, then the IPP
 * message. Operations that would hold a document are never chosen, so the
 * job table and conversion functions below are never reached (they abort
 * if they are). The answer must carry a status, and be written as long
 * as its Content-Length says (ap_ipp_length): the first run of that check
 * found refused attributes echoed with value tags libcups sizes
 * differently in ippLength and ippWrite (seeds validate-odd-tag-length*). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ap.h"
#include "pl_log.h"
#include "pl_pdfconv.h"

static ssize_t count_cb(void *ctx, ipp_uchar_t *data, size_t n)
{
	(void)data;
	*(size_t *)ctx += n;
	return (ssize_t)n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- what ipp.c calls in jobs.c and lib/pdfconv: never here ---- */
ap_job_t *ap_job_new(ap_t *ap, const char *owner, const char *name, const char **why)
{
	(void)ap, (void)owner, (void)name, (void)why;
	abort();
}

ap_job_t *ap_job_find(ap_t *ap, int id)
{
	(void)ap, (void)id;
	return NULL;
}

void ap_job_refresh(ap_t *ap, ap_job_t *j)
{
	(void)ap, (void)j;
	abort(); /* the table is empty */
}

ipp_status_t ap_job_store(ap_t *ap, int id, const uint8_t *doc, size_t len, const char *format,
			  char *msg, size_t msz)
{
	(void)ap, (void)id, (void)doc, (void)len, (void)format, (void)msg, (void)msz;
	abort();
}

ipp_status_t ap_job_cancel(ap_t *ap, int id, const char *user, char *msg, size_t msz)
{
	(void)ap, (void)id, (void)user, (void)msg, (void)msz;
	abort();
}

int ap_job_from_store(ap_t *ap, int id, const char *owner, ap_job_t *out)
{
	(void)ap, (void)id, (void)owner, (void)out;
	return 0; /* the store is empty */
}

int ap_job_key_id(const pl_job_meta_t *m)
{
	(void)m;
	abort();
}

void ap_job_from_meta(ap_job_t *j, int id, const pl_job_meta_t *m)
{
	(void)j, (void)id, (void)m;
	abort();
}

/* Get-Jobs' held jobs out of the table: none */
int pl_jobstore_list(pl_jobstore_t *js, const char *owner, pl_job_meta_t **out, size_t *n)
{
	(void)js, (void)owner;
	*out = NULL;
	*n = 0;
	return PL_JS_OK;
}

/* queued-job-count's held jobs: none (no store here) */
size_t pl_jobstore_count(pl_jobstore_t *js, const char *owner)
{
	(void)js, (void)owner;
	return 0;
}

pl_pdfconv_fmt_t pl_pdfconv_format(const char *mime, const uint8_t *p, size_t n)
{
	(void)mime, (void)p, (void)n;
	abort();
}

int pl_pdfconv_jailed(pl_pdfconv_fmt_t fmt, const uint8_t *in, size_t n,
		      const pl_pdfconv_limits_t *lim, uint32_t cpu_s, uint32_t wall_ms,
		      uint8_t **out, size_t *out_len, uint32_t *pages, char *msg, size_t msz)
{
	(void)fmt, (void)in, (void)n, (void)lim, (void)cpu_s, (void)wall_ms, (void)out;
	(void)out_len, (void)pages, (void)msg, (void)msz;
	abort();
}

/* ---- the target ---- */
typedef struct {
	const uint8_t *p;
	size_t n, pos;
} rd_t;

static ssize_t rd(void *ctx, ipp_uchar_t *buf, size_t len)
{
	rd_t *r = ctx;
	size_t take = r->n - r->pos < len ? r->n - r->pos : len;
	memcpy(buf, r->p + r->pos, take);
	r->pos += take;
	return (ssize_t)take;
}

static ap_t *printer(void)
{
	static ap_t *ap;
	if (!ap) {
		pl_log_init("fuzz_ap_ipp", PL_LOG_CRIT, 2);
		ap = calloc(1, sizeof(*ap));
		if (!ap)
			abort();
		strcpy(ap->printer_name, "Fuzz");
		ap->job_table = AP_MAX_JOBS;
		ap->user_inflight_max = 4;
		strcpy(ap->uuid, "urn:uuid:00000000-0000-4000-8000-000000000000");
		pthread_mutex_init(&ap->attrs_lock, NULL);
		pthread_mutex_init(&ap->jobs_lock, NULL);
		ap_attrs_build(ap);
	}
	return ap;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const ipp_op_t ops[] = { IPP_OP_VALIDATE_JOB, IPP_OP_GET_PRINTER_ATTRIBUTES,
					IPP_OP_GET_JOBS, IPP_OP_GET_JOB_ATTRIBUTES };
	if (size < 1)
		return 0;
	rd_t r = { data + 1, size - 1, 0 };
	ipp_t *req = ippNew();
	if (ippReadIO(&r, rd, 1, NULL, req) != IPP_STATE_DATA) {
		ippDelete(req);
		return 0;
	}
	ippSetOperation(req, ops[data[0] % 4]);
	ap_req_t ar = { .ap = printer(), .user = "alice", .host = "localhost", .port = 631,
			.tls = 1 };
	ipp_t *resp = ap_ipp_handle(&ar, req);
	if (!resp || ippGetStatusCode(resp) < 0)
		abort();
	/* the answer as conn.c sends it: as long as its Content-Length says */
	size_t sent = 0;
	if (ap_ipp_write(resp, ar.extra, ar.extra_len, count_cb, &sent) < 0 ||
	    sent != ap_ipp_length(resp, ar.extra_len))
		abort();
	free(ar.extra);
	ippDelete(resp);
	ippDelete(req);
	return 0;
}
