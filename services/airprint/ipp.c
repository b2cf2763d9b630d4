/* The IPP operations, on libcups' ipp_t. Every refusal is an IPP status
 * with a message (status-message), and logged. The owner of a job is the
 * authenticated user (auth.c); requesting-user-name is ignored. */
#include "ap.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pl_log.h"
#include "pl_pdfconv.h"
#include "pl_util.h"

#include <cups/pwg.h>

#define MSG 256


static void refuse(ipp_t *resp, ipp_status_t st, const char *fmt, ...)
{
	char msg[MSG];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ippSetStatusCode(resp, st);
	ippAddString(resp, IPP_TAG_OPERATION, IPP_TAG_TEXT, "status-message", NULL, msg);
	pl_info("request refused: %s (%s)",
		msg, ippErrorString(st));
}

int ap_ipp_needs_auth(ipp_t *req)
{
	switch (ippGetOperation(req)) {
	case IPP_OP_PRINT_JOB:
	case IPP_OP_CREATE_JOB:
	case IPP_OP_SEND_DOCUMENT:
	case IPP_OP_GET_JOBS:
	case IPP_OP_GET_JOB_ATTRIBUTES:
	case IPP_OP_CANCEL_JOB:
	case IPP_OP_CANCEL_MY_JOBS:
	case IPP_OP_CLOSE_JOB:
		return 1;
	default:
		return 0;
	}
}

/* RFC 8011 §4.1.4-4.1.5: charset and language first, then the target. */
static int check_request(ipp_t *req, ipp_t *resp)
{
	int major, minor;
	major = ippGetVersion(req, &minor);
	if (major < 1 || major > 2) {
		refuse(resp, IPP_STATUS_ERROR_VERSION_NOT_SUPPORTED, "IPP version %d.%d", major,
		       minor);
		return -1;
	}
	if (ippGetRequestId(req) <= 0) {
		refuse(resp, IPP_STATUS_ERROR_BAD_REQUEST, "request-id must be positive");
		return -1;
	}
	ipp_attribute_t *a = ippFirstAttribute(req);
	if (!a || ippGetGroupTag(a) != IPP_TAG_OPERATION) {
		refuse(resp, IPP_STATUS_ERROR_BAD_REQUEST, "no operation attributes");
		return -1;
	}
	const char *n1 = ippGetName(a);
	ipp_attribute_t *b = ippNextAttribute(req);
	const char *n2 = b ? ippGetName(b) : NULL;
	if (!n1 || strcmp(n1, "attributes-charset") || ippGetValueTag(a) != IPP_TAG_CHARSET ||
	    !n2 || strcmp(n2, "attributes-natural-language") ||
	    ippGetValueTag(b) != IPP_TAG_LANGUAGE) {
		refuse(resp, IPP_STATUS_ERROR_BAD_REQUEST,
		       "attributes-charset and attributes-natural-language must come first");
		return -1;
	}
	const char *cs = ippGetString(a, 0, NULL);
	if (!cs || (strcasecmp(cs, "utf-8") && strcasecmp(cs, "us-ascii"))) {
		refuse(resp, IPP_STATUS_ERROR_CHARSET, "charset %s is not supported", cs ? cs : "");
		return -1;
	}
	if (!ippFindAttribute(req, "printer-uri", IPP_TAG_URI) &&
	    !ippFindAttribute(req, "job-uri", IPP_TAG_URI)) {
		refuse(resp, IPP_STATUS_ERROR_BAD_REQUEST, "no printer-uri or job-uri");
		return -1;
	}
	return 0;
}

/* job-id from job-id or job-uri; 0 when neither. */
static int target_job(ipp_t *req)
{
	ipp_attribute_t *a = ippFindAttribute(req, "job-id", IPP_TAG_INTEGER);
	if (a)
		return ippGetInteger(a, 0);
	a = ippFindAttribute(req, "job-uri", IPP_TAG_URI);
	if (a) {
		const char *u = ippGetString(a, 0, NULL), *s = u ? strrchr(u, '/') : NULL;
		if (s)
			return atoi(s + 1);
	}
	return 0;
}

static const char *doc_format(ipp_t *req)
{
	ipp_attribute_t *a = ippFindAttribute(req, "document-format", IPP_TAG_MIMETYPE);
	const char *f = a ? ippGetString(a, 0, NULL) : NULL;
	return f ? f : "application/octet-stream";
}

/* media-col, as iOS sends it: its media-size-name, or the PWG name of
 * its media-size, must be one of media-supported, and is kept as media
 * (a "media" beside it wins, checked after). Its source, type and
 * margins are not kept: every printer picks its own. */
/* Can this value tag be echoed as the client sent it? The standard ones;
 * libcups sizes others (a tag above 0x7f, say) differently in ippLength
 * and ippWrite, and the answer would not be as long as its
 * Content-Length. A collection: every member, at every depth. */
static int tag_echoable(ipp_attribute_t *a, int depth)
{
	ipp_tag_t t = ippGetValueTag(a);
	if ((t >= IPP_TAG_INTEGER && t <= IPP_TAG_ENUM) ||
	    (t >= IPP_TAG_STRING && t <= IPP_TAG_RANGE) ||
	    (t >= IPP_TAG_TEXTLANG && t <= IPP_TAG_NAMELANG) ||
	    (t >= IPP_TAG_TEXT && t <= IPP_TAG_MIMETYPE))
		return 1;
	if (t != IPP_TAG_BEGIN_COLLECTION || depth > 4)
		return 0;
	for (int i = 0; i < ippGetCount(a); i++) {
		ipp_t *col = ippGetCollection(a, i);
		for (ipp_attribute_t *m = ippFirstAttribute(col); m; m = ippNextAttribute(col))
			if (!tag_echoable(m, depth + 1))
				return 0;
	}
	return 1;
}

/* The request's attribute a, refused: back in the unsupported-attributes
 * group, as sent when it can be, else as the out-of-band "unsupported". */
static void echo_unsupported(ipp_t *resp, ipp_attribute_t *a)
{
	const char *name = ippGetName(a);
	if (!name)
		return;
	if (!tag_echoable(a, 0)) {
		ippAddOutOfBand(resp, IPP_TAG_UNSUPPORTED_GROUP, IPP_TAG_UNSUPPORTED_VALUE, name);
		return;
	}
	ipp_attribute_t *c = ippCopyAttribute(resp, a, 0);
	if (c)
		ippSetGroupTag(resp, &c, IPP_TAG_UNSUPPORTED_GROUP);
}

static int media_col(ap_req_t *r, ipp_t *req, ipp_t *resp, ap_job_t *keep)
{
	ipp_attribute_t *a = ippFindAttribute(req, "media-col", IPP_TAG_ZERO);
	if (!a)
		return 0;
	ipp_t *col = ippGetCount(a) == 1 ? ippGetCollection(a, 0) : NULL;
	const char *name = NULL;
	if (col) {
		ipp_attribute_t *n = ippFindAttribute(col, "media-size-name", IPP_TAG_ZERO);
		ipp_attribute_t *sz = ippFindAttribute(col, "media-size", IPP_TAG_BEGIN_COLLECTION);
		ipp_t *size = sz && ippGetCount(sz) == 1 ? ippGetCollection(sz, 0) : NULL;
		if (n && ippGetCount(n) == 1 &&
		    (ippGetValueTag(n) == IPP_TAG_KEYWORD || ippGetValueTag(n) == IPP_TAG_NAME))
			name = ippGetString(n, 0, NULL);
		else if (size) {
			ipp_attribute_t *x = ippFindAttribute(size, "x-dimension", IPP_TAG_INTEGER);
			ipp_attribute_t *y = ippFindAttribute(size, "y-dimension", IPP_TAG_INTEGER);
			pwg_media_t *pm = x && y ? pwgMediaForSize(ippGetInteger(x, 0),
								    ippGetInteger(y, 0)) : NULL;
			name = pm ? pm->pwg : NULL;
		}
	}
	if (!name || !ap_attrs_supports(r->ap, "media-supported", name)) {
		refuse(resp, IPP_STATUS_ERROR_ATTRIBUTES_OR_VALUES, "media-col: %s is not supported",
		       name ? name : "no media size this printer knows");
		echo_unsupported(resp, a);
		return -1;
	}
	if (keep)
		(void)pl_fmt(keep->media, sizeof(keep->media), "%s", name);
	return 0;
}

/* The job template attributes we keep: checked against what we support. */
static int check_template(ap_req_t *r, ipp_t *req, ipp_t *resp, ap_job_t *keep)
{
	ipp_attribute_t *a;
	const char *f = doc_format(req);
	if (strcmp(f, "application/octet-stream") && !ap_attrs_supports(r->ap, "document-format-supported", f)) {
		refuse(resp, IPP_STATUS_ERROR_DOCUMENT_FORMAT_NOT_SUPPORTED,
		       "document-format %s is not supported", f);
		ippAddString(resp, IPP_TAG_UNSUPPORTED_GROUP, IPP_TAG_MIMETYPE, "document-format",
			     NULL, f);
		return -1;
	}
	if ((a = ippFindAttribute(req, "copies", IPP_TAG_ZERO)) != NULL) {
		if (ippGetValueTag(a) != IPP_TAG_INTEGER || ippGetCount(a) != 1 ||
		    ippGetInteger(a, 0) < 1 || ippGetInteger(a, 0) > 999) {
			refuse(resp, IPP_STATUS_ERROR_ATTRIBUTES_OR_VALUES, "copies must be 1 to 999");
			echo_unsupported(resp, a);
			return -1;
		}
		if (keep)
			keep->copies = ippGetInteger(a, 0);
	}
	static const struct {
		const char *name, *supported;
		size_t off, sz;
	} kw[] = {
		{ "sides", "sides-supported", offsetof(ap_job_t, sides), sizeof(((ap_job_t *)0)->sides) },
		{ "print-color-mode", "print-color-mode-supported", offsetof(ap_job_t, color),
		  sizeof(((ap_job_t *)0)->color) },
		{ "media", "media-supported", offsetof(ap_job_t, media),
		  sizeof(((ap_job_t *)0)->media) },
	};
	if (media_col(r, req, resp, keep) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(kw) / sizeof(kw[0]); i++) {
		if (!(a = ippFindAttribute(req, kw[i].name, IPP_TAG_ZERO)))
			continue;
		const char *v = ippGetString(a, 0, NULL);
		if (ippGetCount(a) != 1 || !v ||
		    (ippGetValueTag(a) != IPP_TAG_KEYWORD && ippGetValueTag(a) != IPP_TAG_NAME) ||
		    !ap_attrs_supports(r->ap, kw[i].supported, v)) {
			refuse(resp, IPP_STATUS_ERROR_ATTRIBUTES_OR_VALUES, "%s %s is not supported",
			       kw[i].name, v ? v : "(not a keyword)");
			echo_unsupported(resp, a);
			return -1;
		}
		if (keep)
			(void)pl_fmt((char *)keep + kw[i].off, kw[i].sz, "%s", v);
	}
	return 0;
}

static void job_uri(ap_req_t *r, int id, char *buf, size_t sz)
{
	char res[64];
	(void)pl_fmt(res, sizeof(res), AP_RESOURCE "/%d", id);
	httpAssembleURI(HTTP_URI_CODING_ALL, buf, (int)sz, r->tls ? "ipps" : "ipp", NULL, r->host,
			r->port, res);
}

static const char *state_reason(const ap_job_t *j)
{
	switch (j->state) {
	case IPP_JSTATE_HELD:
		return "job-hold-until-specified";
	case IPP_JSTATE_PENDING:
		return j->awaiting_doc ? "job-incoming" : "none";
	case IPP_JSTATE_CANCELED:
		return "job-canceled-by-user";
	case IPP_JSTATE_ABORTED:
		return "aborted-by-system";
	case IPP_JSTATE_COMPLETED:
		return "job-completed-successfully";
	default:
		return "none";
	}
}

/* jobs_lock held. */
static void add_job(ap_req_t *r, ipp_t *resp, const ap_job_t *j, cups_array_t *ra)
{
	char uri[1024], puri[1024];
#define W(n) (!ra || cupsArrayFind(ra, (void *)(n)))
	job_uri(r, j->id, uri, sizeof(uri));
	httpAssembleURI(HTTP_URI_CODING_ALL, puri, sizeof(puri), r->tls ? "ipps" : "ipp", NULL,
			r->host, r->port, AP_RESOURCE);
	if (W("job-id"))
		ippAddInteger(resp, IPP_TAG_JOB, IPP_TAG_INTEGER, "job-id", j->id);
	if (W("job-uri"))
		ippAddString(resp, IPP_TAG_JOB, IPP_TAG_URI, "job-uri", NULL, uri);
	if (W("job-printer-uri"))
		ippAddString(resp, IPP_TAG_JOB, IPP_TAG_URI, "job-printer-uri", NULL, puri);
	if (W("job-state"))
		ippAddInteger(resp, IPP_TAG_JOB, IPP_TAG_ENUM, "job-state", (int)j->state);
	if (W("job-state-reasons"))
		ippAddString(resp, IPP_TAG_JOB, IPP_TAG_KEYWORD, "job-state-reasons", NULL,
			     state_reason(j));
	if (W("job-state-message"))
		ippAddString(resp, IPP_TAG_JOB, IPP_TAG_TEXT, "job-state-message", NULL,
			     j->state == IPP_JSTATE_HELD ? "held: release it at a printer" : "");
	if (W("job-name"))
		ippAddString(resp, IPP_TAG_JOB, IPP_TAG_NAME, "job-name", NULL, j->name);
	if (W("job-originating-user-name"))
		ippAddString(resp, IPP_TAG_JOB, IPP_TAG_NAME, "job-originating-user-name", NULL,
			     j->owner);
	if (W("job-printer-up-time"))
		ippAddInteger(resp, IPP_TAG_JOB, IPP_TAG_INTEGER, "job-printer-up-time",
			      (int)(time(NULL) - r->ap->start_s) + 1);
	if (W("time-at-creation"))
		ippAddInteger(resp, IPP_TAG_JOB, IPP_TAG_INTEGER, "time-at-creation",
			      (int)(j->created_s - r->ap->start_s) + 1);
	if (W("time-at-processing"))
		ippAddOutOfBand(resp, IPP_TAG_JOB, IPP_TAG_NOVALUE, "time-at-processing");
	if (W("time-at-completed")) {
		if (j->completed_s)
			ippAddInteger(resp, IPP_TAG_JOB, IPP_TAG_INTEGER, "time-at-completed",
				      (int)(j->completed_s - r->ap->start_s) + 1);
		else
			ippAddOutOfBand(resp, IPP_TAG_JOB, IPP_TAG_NOVALUE, "time-at-completed");
	}
	if (W("job-impressions"))
		ippAddInteger(resp, IPP_TAG_JOB, IPP_TAG_INTEGER, "job-impressions", (int)j->pages);
	if (W("job-impressions-completed"))
		ippAddInteger(resp, IPP_TAG_JOB, IPP_TAG_INTEGER, "job-impressions-completed",
			      j->state == IPP_JSTATE_COMPLETED ? (int)j->pages : 0);
	if (W("job-media-sheets"))
		ippAddInteger(resp, IPP_TAG_JOB, IPP_TAG_INTEGER, "job-media-sheets", (int)j->pages);
	if (W("job-media-sheets-completed"))
		ippAddInteger(resp, IPP_TAG_JOB, IPP_TAG_INTEGER, "job-media-sheets-completed",
			      j->state == IPP_JSTATE_COMPLETED ? (int)j->pages : 0);
	if (W("document-format") && j->format[0])
		ippAddString(resp, IPP_TAG_JOB, IPP_TAG_MIMETYPE, "document-format", NULL, j->format);
	if (W("copies") && j->copies > 0)
		ippAddInteger(resp, IPP_TAG_JOB, IPP_TAG_INTEGER, "copies", j->copies);
	if (W("sides") && j->sides[0])
		ippAddString(resp, IPP_TAG_JOB, IPP_TAG_KEYWORD, "sides", NULL, j->sides);
	if (W("print-color-mode") && j->color[0])
		ippAddString(resp, IPP_TAG_JOB, IPP_TAG_KEYWORD, "print-color-mode", NULL, j->color);
	if (W("media") && j->media[0])
		ippAddString(resp, IPP_TAG_JOB, IPP_TAG_KEYWORD, "media", NULL, j->media);
#undef W
}

/* The document body, at most max_job_bytes. NULL with resp set. */
static uint8_t *read_doc(ap_req_t *r, ipp_t *resp, size_t *len)
{
	size_t cap = 64 * 1024, n = 0;
	uint8_t *buf = malloc(cap);
	ssize_t got;
	while (buf) {
		if (n == cap) {
			if (cap > r->ap->max_job_bytes) {
				free(buf);
				refuse(resp, IPP_STATUS_ERROR_REQUEST_ENTITY,
				       "the document is larger than max_job_mb");
				return NULL;
			}
			uint8_t *nb = realloc(buf, cap * 2);
			if (!nb)
				break;
			buf = nb;
			cap *= 2;
		}
		got = httpRead2(r->http, (char *)buf + n, cap - n);
		if (got < 0) {
			free(buf);
			refuse(resp, IPP_STATUS_ERROR_INTERNAL, "the document did not arrive whole");
			return NULL;
		}
		if (got == 0)
			break;
		n += (size_t)got;
		if (n > r->ap->max_job_bytes) {
			free(buf);
			refuse(resp, IPP_STATUS_ERROR_REQUEST_ENTITY,
			       "the document is larger than max_job_mb");
			return NULL;
		}
	}
	if (!buf) {
		refuse(resp, IPP_STATUS_ERROR_INTERNAL, "out of memory");
		return NULL;
	}
	*len = n;
	return buf;
}

/* Read, convert, hold the document of job j (id), answer in resp. */
static void take_document(ap_req_t *r, ipp_t *req, ipp_t *resp, int id)
{
	size_t len = 0;
	char msg[MSG];
	const char *fmt = doc_format(req);
	uint8_t *doc = read_doc(r, resp, &len);
	if (!doc)
		goto fail;
	if (len == 0) {
		refuse(resp, IPP_STATUS_ERROR_BAD_REQUEST, "no document data");
		goto fail;
	}
	pl_pdfconv_fmt_t f = pl_pdfconv_format(fmt, doc, len);
	if (f == PL_PDFCONV_UNKNOWN) {
		refuse(resp, IPP_STATUS_ERROR_DOCUMENT_FORMAT_NOT_SUPPORTED,
		       "%s: not a PDF, JPEG, PNG, URF or PWG raster document", fmt);
		goto fail;
	}
	if (f != PL_PDFCONV_PDF) {
		/* untrusted bytes: decoded in a jailed child */
		uint8_t *pdf = NULL;
		size_t plen = 0;
		uint32_t pages = 0;
		pl_pdfconv_limits_t lim = { .max_out_bytes = r->ap->max_job_bytes * 4 };
		if (pl_pdfconv_jailed(f, doc, len, &lim, 30, 60000, &pdf, &plen, &pages, msg,
				      sizeof(msg)) < 0) {
			refuse(resp, IPP_STATUS_ERROR_DOCUMENT_FORMAT_ERROR, "%s: %s", fmt, msg);
			goto fail;
		}
		free(doc);
		doc = pdf;
		len = plen;
	}
	ipp_status_t st = ap_job_store(r->ap, id, doc, len, "application/pdf", msg, sizeof(msg));
	if (st != IPP_STATUS_OK) {
		refuse(resp, st, "%s", msg);
		goto fail;
	}
	free(doc);
	return;
fail:
	free(doc);
	pthread_mutex_lock(&r->ap->jobs_lock);
	ap_job_t *j = ap_job_find(r->ap, id);
	if (j && j->state < IPP_JSTATE_CANCELED) {
		j->state = IPP_JSTATE_ABORTED;
		j->completed_s = time(NULL);
	}
	pthread_mutex_unlock(&r->ap->jobs_lock);
}

static const char *job_name(ipp_t *req)
{
	ipp_attribute_t *a = ippFindAttribute(req, "job-name", IPP_TAG_NAME);
	const char *n = a ? ippGetString(a, 0, NULL) : NULL;
	if (!n) {
		a = ippFindAttribute(req, "document-name", IPP_TAG_NAME);
		n = a ? ippGetString(a, 0, NULL) : NULL;
	}
	return n;
}

static int cmp_str(void *a, void *b, void *data)
{
	(void)data;
	return strcmp(a, b);
}

static void answer_job(ap_req_t *r, ipp_t *resp, int id)
{
	static const char *const ra_names[] = { "job-id", "job-uri", "job-state",
						"job-state-reasons", "job-state-message" };
	cups_array_t *ra = cupsArrayNew(cmp_str, NULL);
	for (size_t i = 0; i < sizeof(ra_names) / sizeof(ra_names[0]); i++)
		cupsArrayAdd(ra, (void *)ra_names[i]);
	pthread_mutex_lock(&r->ap->jobs_lock);
	ap_job_t *j = ap_job_find(r->ap, id);
	if (j)
		add_job(r, resp, j, ra);
	pthread_mutex_unlock(&r->ap->jobs_lock);
	cupsArrayDelete(ra);
}

/* Print-Job (doc = 1) and Create-Job. */
static void op_create(ap_req_t *r, ipp_t *req, ipp_t *resp, int doc)
{
	ap_job_t keep;
	memset(&keep, 0, sizeof(keep));
	keep.copies = 1;
	if (check_template(r, req, resp, &keep) < 0)
		return;
	pthread_mutex_lock(&r->ap->jobs_lock);
	const char *why = "";
	ap_job_t *j = ap_job_new(r->ap, r->user, job_name(req), &why);
	int id = 0;
	if (j) {
		id = j->id;
		j->copies = keep.copies;
		memcpy(j->sides, keep.sides, sizeof(j->sides));
		memcpy(j->color, keep.color, sizeof(j->color));
		memcpy(j->media, keep.media, sizeof(j->media));
		j->awaiting_doc = !doc;
	}
	pthread_mutex_unlock(&r->ap->jobs_lock);
	if (!j) {
		refuse(resp, IPP_STATUS_ERROR_BUSY, "%s", why);
		return;
	}
	if (doc)
		take_document(r, req, resp, id);
	answer_job(r, resp, id);
}

static void op_send_document(ap_req_t *r, ipp_t *req, ipp_t *resp)
{
	int id = target_job(req);
	pthread_mutex_lock(&r->ap->jobs_lock);
	ap_job_t *j = ap_job_find(r->ap, id);
	int ok = j && strcmp(j->owner, r->user) == 0;
	int waiting = ok && j->awaiting_doc && j->state == IPP_JSTATE_PENDING;
	int last = ippFindAttribute(req, "last-document", IPP_TAG_BOOLEAN) != NULL;
	if (waiting && last)
		j->awaiting_doc = 0; /* in flight now: its slot is not taken (jobs.c) */
	pthread_mutex_unlock(&r->ap->jobs_lock);
	if (!ok) {
		refuse(resp, IPP_STATUS_ERROR_NOT_FOUND, "no job %d of yours", id);
		return;
	}
	if (!waiting) {
		refuse(resp, IPP_STATUS_ERROR_NOT_POSSIBLE, "job %d takes no more documents", id);
		return;
	}
	if (!last) {
		refuse(resp, IPP_STATUS_ERROR_BAD_REQUEST, "last-document is missing");
		return;
	}
	take_document(r, req, resp, id);
	answer_job(r, resp, id);
}

static int newest_first(const void *a, const void *b)
{
	const ap_job_t *x = *(ap_job_t *const *)a, *y = *(ap_job_t *const *)b;
	if (x->created_s != y->created_s)
		return x->created_s > y->created_s ? -1 : 1;
	return x->id > y->id ? -1 : x->id < y->id;
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return x < y ? -1 : x > y;
}

static void op_get_jobs(ap_req_t *r, ipp_t *req, ipp_t *resp)
{
	ipp_attribute_t *a = ippFindAttribute(req, "which-jobs", IPP_TAG_KEYWORD);
	const char *which = a ? ippGetString(a, 0, NULL) : "not-completed";
	a = ippFindAttribute(req, "limit", IPP_TAG_INTEGER);
	int limit = a ? ippGetInteger(a, 0) : 0, n = 0;
	int done;
	if (!which || (strcmp(which, "completed") && strcmp(which, "not-completed"))) {
		refuse(resp, IPP_STATUS_ERROR_ATTRIBUTES_OR_VALUES, "which-jobs %s is not supported",
		       which ? which : "");
		return;
	}
	done = strcmp(which, "completed") == 0;
	/* NULL: "all" asked for; without requested-attributes, job-id and
	 * job-uri (RFC 8011 §4.2.6.1) */
	cups_array_t *ra = ippCreateRequestedArray(req);
	static const char *const dflt[] = { "job-id", "job-uri" };
	if (!ra && !ippFindAttribute(req, "requested-attributes", IPP_TAG_KEYWORD)) {
		ra = cupsArrayNew(cmp_str, NULL);
		cupsArrayAdd(ra, (void *)dflt[0]);
		cupsArrayAdd(ra, (void *)dflt[1]);
	}
	/* newest first; only the authenticated user's jobs. The table, not
	 * the id range: ids go on across restarts and run into millions;
	 * and, not completed, the user's held jobs that are out of the table
	 * (from the store: as many as the holder's quotas let one user hold) */
	pl_job_meta_t *held = NULL;
	size_t nh = 0;
	if (!done && pl_jobstore_list(r->ap->store, r->user, &held, &nh) != PL_JS_OK)
		nh = 0;
	pthread_mutex_lock(&r->ap->jobs_lock);
	ap_job_t *old = nh ? malloc(sizeof(*old) * nh) : NULL;
	ap_job_t **mine = malloc(sizeof(*mine) * (r->ap->job_table + nh));
	size_t nm = 0;
	for (uint32_t i = 0; mine && i < r->ap->job_table; i++) {
		ap_job_t *j = &r->ap->jobs[i];
		if (!j->id || strcmp(j->owner, r->user))
			continue;
		ap_job_refresh(r->ap, j);
		if ((j->state >= IPP_JSTATE_CANCELED) == done)
			mine[nm++] = j;
	}
	/* the table's ids, sorted: a held job is shown once, from the table
	 * when it is there, without a pass over the table for each */
	int *tids = nh ? malloc(sizeof(*tids) * r->ap->job_table) : NULL;
	size_t nt = 0;
	for (uint32_t i = 0; tids && i < r->ap->job_table; i++)
		if (r->ap->jobs[i].id)
			tids[nt++] = r->ap->jobs[i].id;
	if (tids)
		qsort(tids, nt, sizeof(*tids), cmp_int);
	for (size_t i = 0, k = 0; mine && old && tids && i < nh; i++) {
		int id = ap_job_key_id(&held[i]);
		if (id && !bsearch(&id, tids, nt, sizeof(*tids), cmp_int) &&
		    strcmp(held[i].workstation, "airprint") == 0) {
			ap_job_from_meta(&old[k], id, &held[i]);
			mine[nm++] = &old[k++];
		}
	}
	if (mine)
		qsort(mine, nm, sizeof(*mine), newest_first);
	for (size_t k = 0; k < nm && (limit <= 0 || n < limit); k++) {
		if (n++)
			ippAddSeparator(resp);
		add_job(r, resp, mine[k], ra);
	}
	pthread_mutex_unlock(&r->ap->jobs_lock);
	free(mine);
	free(old);
	free(tids);
	free(held);
	cupsArrayDelete(ra);
}

static void op_get_job_attrs(ap_req_t *r, ipp_t *req, ipp_t *resp)
{
	int id = target_job(req);
	cups_array_t *ra = ippCreateRequestedArray(req);
	pthread_mutex_lock(&r->ap->jobs_lock);
	ap_job_t old;
	ap_job_t *j = ap_job_find(r->ap, id);
	/* another user's job, in the table or not, is not found, as in
	 * Cancel-Job: the answer tells no one which ids are in use */
	if (j && strcmp(j->owner, r->user) == 0)
		ap_job_refresh(r->ap, j);
	else if (!j && ap_job_from_store(r->ap, id, r->user, &old))
		j = &old; /* still held, out of the table */
	else
		j = NULL;
	if (j)
		add_job(r, resp, j, ra);
	pthread_mutex_unlock(&r->ap->jobs_lock);
	cupsArrayDelete(ra);
	if (!j)
		refuse(resp, IPP_STATUS_ERROR_NOT_FOUND,
		       "no job %d of yours (a job that was released, canceled or expired is "
		       "remembered only among the newest %u)", id, r->ap->job_table);
}

static void op_cancel(ap_req_t *r, ipp_t *req, ipp_t *resp)
{
	char msg[MSG];
	int id = target_job(req);
	if (id <= 0) {
		refuse(resp, IPP_STATUS_ERROR_BAD_REQUEST, "job-id is missing");
		return;
	}
	ipp_status_t st = ap_job_cancel(r->ap, id, r->user, msg, sizeof(msg));
	if (st != IPP_STATUS_OK)
		refuse(resp, st, "%s", msg);
	else
		pl_info("job %d canceled by %s", id, r->user);
}

/* Every job of the user's not yet finished: those in the table and the
 * held ones out of it. */
static void op_cancel_my_jobs(ap_req_t *r, ipp_t *resp)
{
	char msg[MSG];
	pl_job_meta_t *held = NULL;
	size_t nh = 0;
	uint32_t n = 0;
	int *ids = malloc(sizeof(*ids) * r->ap->job_table);
	pthread_mutex_lock(&r->ap->jobs_lock);
	for (uint32_t i = 0; ids && i < r->ap->job_table; i++) {
		ap_job_t *j = &r->ap->jobs[i];
		if (j->id && j->state < IPP_JSTATE_CANCELED && strcmp(j->owner, r->user) == 0)
			ids[n++] = j->id;
	}
	pthread_mutex_unlock(&r->ap->jobs_lock);
	for (uint32_t i = 0; i < n; i++)
		(void)ap_job_cancel(r->ap, ids[i], r->user, msg, sizeof(msg));
	free(ids);
	if (pl_jobstore_list(r->ap->store, r->user, &held, &nh) != PL_JS_OK)
		nh = 0;
	for (size_t i = 0; i < nh; i++) {
		int id = ap_job_key_id(&held[i]);
		if (id && strcmp(held[i].workstation, "airprint") == 0)
			(void)ap_job_cancel(r->ap, id, r->user, msg, sizeof(msg));
	}
	free(held);
	(void)resp;
}

ipp_t *ap_ipp_handle(ap_req_t *r, ipp_t *req)
{
	ipp_t *resp = ippNewResponse(req);
	if (check_request(req, resp) < 0)
		return resp;
	ipp_op_t op = ippGetOperation(req);
	switch (op) {
	case IPP_OP_GET_PRINTER_ATTRIBUTES: {
		cups_array_t *ra = ippCreateRequestedArray(req);
		if (ap_attrs_copy(r->ap, resp, ra, r->host, r->port, r->tls, &r->extra,
				  &r->extra_len) < 0)
			refuse(resp, IPP_STATUS_ERROR_INTERNAL, "out of memory");
		cupsArrayDelete(ra);
		break;
	}
	case IPP_OP_VALIDATE_JOB:
		(void)check_template(r, req, resp, NULL);
		break;
	case IPP_OP_PRINT_JOB:
		op_create(r, req, resp, 1);
		break;
	case IPP_OP_CREATE_JOB:
		op_create(r, req, resp, 0);
		break;
	case IPP_OP_SEND_DOCUMENT:
		op_send_document(r, req, resp);
		break;
	case IPP_OP_GET_JOBS:
		op_get_jobs(r, req, resp);
		break;
	case IPP_OP_GET_JOB_ATTRIBUTES:
		op_get_job_attrs(r, req, resp);
		break;
	case IPP_OP_CANCEL_JOB:
		op_cancel(r, req, resp);
		break;
	case IPP_OP_CANCEL_MY_JOBS:
		op_cancel_my_jobs(r, resp);
		break;
	case IPP_OP_CLOSE_JOB:
		break;
	case IPP_OP_IDENTIFY_PRINTER:
		pl_info("Identify-Printer: someone is looking for this printer");
		break;
	default:
		refuse(resp, IPP_STATUS_ERROR_OPERATION_NOT_SUPPORTED, "%s is not supported",
		       ippOpString(op));
	}
	return resp;
}
