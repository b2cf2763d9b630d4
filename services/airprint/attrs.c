/* The printer's attributes: IPP/1.1 and 2.0 required ones, IPP Everywhere
 * and what iOS looks for before it offers the printer (document formats,
 * urf-supported, pwg-raster-document-*, media, sides, colour modes,
 * printer-kind, printer-uuid, printer-more-info, job-password-supported,
 * identify-printer). Built once; the per-request ones (URIs, times,
 * counts) are added on each answer. */
#include "ap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pl_util.h"

#define N(a) (int)(sizeof(a) / sizeof((a)[0]))

static const char *const formats[] = { "application/pdf", "image/jpeg", "image/png",
				       "image/pwg-raster", "image/urf" };
static const char *const media[] = { "iso_a4_210x297mm", "na_letter_8.5x11in" };
static const int media_dim[][2] = { { 21000, 29700 }, { 21590, 27940 } };
static const char *const sides[] = { "one-sided", "two-sided-long-edge",
				     "two-sided-short-edge" };
static const char *const colors[] = { "auto", "color", "monochrome" };
const char *const ap_urf[AP_URF_N] = { "V1.4", "CP1", "DM1", "IS1", "MT1", "PQ4", "RS300",
				   "SRGB24", "W8" };
static const char *const pwg_types[] = { "black_8", "sgray_8", "srgb_8" };
static const char *const kinds[] = { "document", "photo" };
static const char *const creation[] = { "copies", "sides", "print-color-mode", "media",
					"media-col", "print-quality", "job-name" };
static const char *const which_jobs[] = { "completed", "not-completed" };
static const char *const compression[] = { "none" };
static const char *const charsets[] = { "utf-8", "us-ascii" };
static const char *const versions[] = { "1.1", "2.0" };
static const char *const identify[] = { "display" };
static const char *const media_types[] = { "stationery" };
static const char *const media_sources[] = { "auto" };
static const char *const job_attrs_descr[] = { "job-name" };

static const int ops[] = {
	IPP_OP_PRINT_JOB,	    IPP_OP_VALIDATE_JOB,     IPP_OP_CREATE_JOB,
	IPP_OP_SEND_DOCUMENT,	    IPP_OP_CANCEL_JOB,	     IPP_OP_GET_JOB_ATTRIBUTES,
	IPP_OP_GET_JOBS,	    IPP_OP_GET_PRINTER_ATTRIBUTES, IPP_OP_CANCEL_MY_JOBS,
	IPP_OP_CLOSE_JOB,	    IPP_OP_IDENTIFY_PRINTER,
};

static ipp_t *media_col(int i)
{
	ipp_t *col = ippNew(), *size = ippNew();
	ippAddInteger(size, IPP_TAG_ZERO, IPP_TAG_INTEGER, "x-dimension", media_dim[i][0]);
	ippAddInteger(size, IPP_TAG_ZERO, IPP_TAG_INTEGER, "y-dimension", media_dim[i][1]);
	ippAddCollection(col, IPP_TAG_ZERO, "media-size", size);
	ippDelete(size);
	ippAddString(col, IPP_TAG_ZERO, IPP_TAG_KEYWORD, "media-size-name", NULL, media[i]);
	static const char *const m[] = { "media-bottom-margin", "media-left-margin",
					 "media-right-margin", "media-top-margin" };
	for (int k = 0; k < 4; k++)
		ippAddInteger(col, IPP_TAG_ZERO, IPP_TAG_INTEGER, m[k], 423);
	ippAddString(col, IPP_TAG_ZERO, IPP_TAG_KEYWORD, "media-source", NULL, "auto");
	ippAddString(col, IPP_TAG_ZERO, IPP_TAG_KEYWORD, "media-type", NULL, "stationery");
	return col;
}

static void add_media(ipp_t *a)
{
	ippAddStrings(a, IPP_TAG_PRINTER, IPP_TAG_KEYWORD, "media-supported", N(media),
		      NULL, media);
	ippAddStrings(a, IPP_TAG_PRINTER, IPP_TAG_KEYWORD, "media-ready", 2, NULL, media);
	ippAddString(a, IPP_TAG_PRINTER, IPP_TAG_KEYWORD, "media-default", NULL, media[0]);
	ipp_t *c0 = media_col(0), *c1 = media_col(1);
	ipp_attribute_t *r = ippAddCollection(a, IPP_TAG_PRINTER, "media-col-ready", c0);
	ippSetCollection(a, &r, 1, c1);
	ipp_attribute_t *d = ippAddCollection(a, IPP_TAG_PRINTER, "media-col-database", c0);
	ippSetCollection(a, &d, 1, c1);
	ippAddCollection(a, IPP_TAG_PRINTER, "media-col-default", c0);
	ippDelete(c0);
	ippDelete(c1);
	static const char *const col_sup[] = { "media-bottom-margin", "media-left-margin",
					       "media-right-margin", "media-size",
					       "media-size-name", "media-source",
					       "media-top-margin", "media-type" };
	ippAddStrings(a, IPP_TAG_PRINTER, IPP_TAG_KEYWORD, "media-col-supported",
		      N(col_sup), NULL, col_sup);
	ipp_t *s0 = ippNew(), *s1 = ippNew();
	ippAddInteger(s0, IPP_TAG_ZERO, IPP_TAG_INTEGER, "x-dimension", media_dim[0][0]);
	ippAddInteger(s0, IPP_TAG_ZERO, IPP_TAG_INTEGER, "y-dimension", media_dim[0][1]);
	ippAddInteger(s1, IPP_TAG_ZERO, IPP_TAG_INTEGER, "x-dimension", media_dim[1][0]);
	ippAddInteger(s1, IPP_TAG_ZERO, IPP_TAG_INTEGER, "y-dimension", media_dim[1][1]);
	ipp_attribute_t *ms = ippAddCollection(a, IPP_TAG_PRINTER, "media-size-supported", s0);
	ippSetCollection(a, &ms, 1, s1);
	ippDelete(s0);
	ippDelete(s1);
	ippAddStrings(a, IPP_TAG_PRINTER, IPP_TAG_KEYWORD, "media-type-supported", 1, NULL,
		      media_types);
	ippAddStrings(a, IPP_TAG_PRINTER, IPP_TAG_KEYWORD, "media-source-supported", 1, NULL,
		      media_sources);
	static const int margins[] = { 0, 423 };
	ippAddIntegers(a, IPP_TAG_PRINTER, IPP_TAG_INTEGER, "media-bottom-margin-supported", 2,
		       margins);
	ippAddIntegers(a, IPP_TAG_PRINTER, IPP_TAG_INTEGER, "media-left-margin-supported", 2,
		       margins);
	ippAddIntegers(a, IPP_TAG_PRINTER, IPP_TAG_INTEGER, "media-right-margin-supported", 2,
		       margins);
	ippAddIntegers(a, IPP_TAG_PRINTER, IPP_TAG_INTEGER, "media-top-margin-supported", 2,
		       margins);
}

static void add_print_options(ipp_t *a)
{
	ippAddStrings(a, IPP_TAG_PRINTER, IPP_TAG_KEYWORD, "sides-supported", 3, NULL, sides);
	ippAddString(a, IPP_TAG_PRINTER, IPP_TAG_KEYWORD, "sides-default", NULL, sides[0]);
	ippAddStrings(a, IPP_TAG_PRINTER, IPP_TAG_KEYWORD, "print-color-mode-supported", 3, NULL,
		      colors);
	ippAddString(a, IPP_TAG_PRINTER, IPP_TAG_KEYWORD, "print-color-mode-default", NULL, "auto");
	ippAddBoolean(a, IPP_TAG_PRINTER, "color-supported", 1);
	ippAddRange(a, IPP_TAG_PRINTER, "copies-supported", 1, 999);
	ippAddInteger(a, IPP_TAG_PRINTER, IPP_TAG_INTEGER, "copies-default", 1);
	ippAddInteger(a, IPP_TAG_PRINTER, IPP_TAG_ENUM, "finishings-supported", IPP_FINISHINGS_NONE);
	ippAddInteger(a, IPP_TAG_PRINTER, IPP_TAG_ENUM, "finishings-default", IPP_FINISHINGS_NONE);
	/* a held-jobs queue prints nothing itself: the figures are nominal */
	ippAddInteger(a, IPP_TAG_PRINTER, IPP_TAG_INTEGER, "pages-per-minute", 20);
	ippAddInteger(a, IPP_TAG_PRINTER, IPP_TAG_INTEGER, "pages-per-minute-color", 20);
	static const int q[] = { IPP_QUALITY_DRAFT, IPP_QUALITY_NORMAL, IPP_QUALITY_HIGH };
	ippAddIntegers(a, IPP_TAG_PRINTER, IPP_TAG_ENUM, "print-quality-supported", 3, q);
	ippAddInteger(a, IPP_TAG_PRINTER, IPP_TAG_ENUM, "print-quality-default", IPP_QUALITY_NORMAL);
	static const int orient[] = { IPP_ORIENT_PORTRAIT, IPP_ORIENT_LANDSCAPE,
				      IPP_ORIENT_REVERSE_LANDSCAPE, IPP_ORIENT_REVERSE_PORTRAIT,
				      IPP_ORIENT_NONE };
	ippAddIntegers(a, IPP_TAG_PRINTER, IPP_TAG_ENUM, "orientation-requested-supported", 5,
		       orient);
	ippAddInteger(a, IPP_TAG_PRINTER, IPP_TAG_ENUM, "orientation-requested-default",
		      IPP_ORIENT_PORTRAIT);
	ippAddResolution(a, IPP_TAG_PRINTER, "printer-resolution-supported", IPP_RES_PER_INCH, 300,
			 300);
	ippAddResolution(a, IPP_TAG_PRINTER, "printer-resolution-default", IPP_RES_PER_INCH, 300,
			 300);
	ippAddString(a, IPP_TAG_PRINTER, IPP_TAG_KEYWORD, "output-bin-supported", NULL, "face-down");
	ippAddString(a, IPP_TAG_PRINTER, IPP_TAG_KEYWORD, "output-bin-default", NULL, "face-down");
	ippAddStrings(a, IPP_TAG_PRINTER, IPP_TAG_KEYWORD, "job-creation-attributes-supported",
		      N(creation), NULL, creation);
	ippAddRange(a, IPP_TAG_PRINTER, "job-impressions-supported", 1, 100000);
	ippAddRange(a, IPP_TAG_PRINTER, "job-k-octets-supported", 0, 1 << 20);
	/* every job is held until released; "no-hold" is what clients may
	 * ask for, and what the job template looks like to them */
	ippAddStrings(a, IPP_TAG_PRINTER, IPP_TAG_KEYWORD, "job-hold-until-supported", 2, NULL,
		      (const char *const[]){ "no-hold", "indefinite" });
	ippAddString(a, IPP_TAG_PRINTER, IPP_TAG_KEYWORD, "job-hold-until-default", NULL,
		     "no-hold");
	ippAddStrings(a, IPP_TAG_PRINTER, IPP_TAG_KEYWORD, "job-settable-attributes-supported", 1,
		      NULL, job_attrs_descr);
}

/* What iOS checks: raster formats and their capabilities, kind, password. */
static void add_airprint(ipp_t *a)
{
	ippAddStrings(a, IPP_TAG_PRINTER, IPP_TAG_KEYWORD, "urf-supported", AP_URF_N,
		      NULL, ap_urf);
	ippAddResolution(a, IPP_TAG_PRINTER, "pwg-raster-document-resolution-supported",
			 IPP_RES_PER_INCH, 300, 300);
	ippAddStrings(a, IPP_TAG_PRINTER, IPP_TAG_KEYWORD, "pwg-raster-document-type-supported",
		      3, NULL, pwg_types);
	ippAddString(a, IPP_TAG_PRINTER, IPP_TAG_KEYWORD, "pwg-raster-document-sheet-back", NULL,
		     "normal");
	ippAddStrings(a, IPP_TAG_PRINTER, IPP_TAG_KEYWORD, "printer-kind", 2, NULL, kinds);
	/* PIN holds (job-password) are not taken: release is by badge or
	 * user, so advertise none rather than accept a PIN we ignore. */
	ippAddInteger(a, IPP_TAG_PRINTER, IPP_TAG_INTEGER, "job-password-supported", 0);
	ippAddStrings(a, IPP_TAG_PRINTER, IPP_TAG_KEYWORD, "identify-actions-supported", 1, NULL,
		      identify);
	ippAddString(a, IPP_TAG_PRINTER, IPP_TAG_KEYWORD, "identify-actions-default", NULL,
		     "display");
}

/* ---- the static attributes, encoded once ----
 * Get-Printer-Attributes is what phones ask most. Copying ~100 attributes
 * into each answer went through libcups' global string pool (a mutex and
 * a search a name), and shared the collections (media-col-*) between
 * answers by reference: their use counts and ippWrite's position in them
 * are plain fields, changed by every worker thread writing or freeing an
 * answer at once. Each attribute's wire form is made here, once, and an
 * answer is its per-request attributes (ipp_t) followed by these bytes. */

struct ap_enc_attr {
	const char *name; /* the attribute's, in ap->attrs */
	uint8_t *bytes;	  /* value tag, name, values (collections inline) */
	size_t len;
};

typedef struct {
	uint8_t *p;
	size_t n, cap;
	int oom;
} membuf_t;

static ssize_t membuf_write(void *ctx, ipp_uchar_t *data, size_t n)
{
	membuf_t *b = ctx;
	if (b->n + n > b->cap) {
		size_t cap = b->cap ? b->cap : 1024;
		while (cap < b->n + n)
			cap *= 2;
		uint8_t *p = realloc(b->p, cap);
		if (!p) {
			b->oom = 1;
			return -1;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->n, data, n);
	b->n += n;
	return (ssize_t)n;
}

/* ipp's encoding into b: 0 or -1. */
static int encode(ipp_t *ipp, membuf_t *b)
{
	ipp_state_t st;
	do {
		st = ippWriteIO(b, membuf_write, 1, NULL, ipp);
	} while (st != IPP_STATE_DATA && st != IPP_STATE_ERROR);
	return st == IPP_STATE_DATA && !b->oom ? 0 : -1;
}

/* One printer attribute alone in a message: header (8 bytes), the
 * printer group's tag, the attribute, the end tag. The attribute's bytes
 * are what is kept. */
static int encode_one(ipp_attribute_t *attr, struct ap_enc_attr *e)
{
	membuf_t b = { 0 };
	ipp_t *one = ippNew();
	int rc = -1;
	if (one && ippCopyAttribute(one, attr, 0) && encode(one, &b) == 0 && b.n > 10 &&
	    b.p[8] == IPP_TAG_PRINTER && b.p[b.n - 1] == IPP_TAG_END) {
		e->len = b.n - 10;
		e->bytes = malloc(e->len);
		if (e->bytes) {
			memcpy(e->bytes, b.p + 9, e->len);
			e->name = ippGetName(attr);
			rc = 0;
		}
	}
	free(b.p);
	ippDelete(one);
	return rc;
}

static int encode_all(ap_t *ap)
{
	size_t n = 0;
	for (ipp_attribute_t *a = ippFirstAttribute(ap->attrs); a; a = ippNextAttribute(ap->attrs))
		n++;
	ap->enc = calloc(n ? n : 1, sizeof(*ap->enc));
	if (!ap->enc)
		return -1;
	for (ipp_attribute_t *a = ippFirstAttribute(ap->attrs); a; a = ippNextAttribute(ap->attrs)) {
		if (ap->nenc == n || encode_one(a, &ap->enc[ap->nenc]) < 0)
			return -1;
		ap->nenc++;
	}
	return 0;
}

void ap_attrs_free(ap_t *ap)
{
	for (size_t i = 0; i < ap->nenc; i++)
		free(ap->enc[i].bytes);
	free(ap->enc);
	ap->enc = NULL;
	ap->nenc = 0;
	ippDelete(ap->attrs);
	ap->attrs = NULL;
}

/* Does resp end in the printer group (so that more printer attributes
 * can follow without a group tag)? */
static int ends_in_printer_group(ipp_t *resp)
{
	ipp_tag_t last = IPP_TAG_ZERO;
	for (ipp_attribute_t *a = ippFirstAttribute(resp); a; a = ippNextAttribute(resp))
		if (ippGetGroupTag(a) != IPP_TAG_ZERO)
			last = ippGetGroupTag(a);
	return last == IPP_TAG_PRINTER;
}

size_t ap_ipp_length(ipp_t *resp, size_t elen)
{
	return ippLength(resp) + (elen && !ends_in_printer_group(resp) ? 1 : 0) + elen;
}

int ap_ipp_write(ipp_t *resp, const uint8_t *extra, size_t elen, ipp_iocb_t cb, void *ctx)
{
	membuf_t b = { 0 };
	if (!extra || !elen) {
		ipp_state_t st;
		do {
			st = ippWriteIO(ctx, cb, 1, NULL, resp);
		} while (st != IPP_STATE_DATA && st != IPP_STATE_ERROR);
		return st == IPP_STATE_DATA ? 0 : -1;
	}
	/* resp's encoding without its end tag, the printer group (its tag
	 * when resp has none yet), extra, the end tag */
	int rc = encode(resp, &b);
	if (rc == 0 && (b.n < 9 || b.p[b.n - 1] != IPP_TAG_END))
		rc = -1;
	ipp_uchar_t tag[1] = { IPP_TAG_PRINTER }, end[1] = { IPP_TAG_END };
	if (rc == 0 && cb(ctx, b.p, b.n - 1) != (ssize_t)(b.n - 1))
		rc = -1;
	if (rc == 0 && !ends_in_printer_group(resp) && cb(ctx, tag, 1) != 1)
		rc = -1;
	if (rc == 0 && cb(ctx, (ipp_uchar_t *)extra, elen) != (ssize_t)elen)
		rc = -1;
	if (rc == 0 && cb(ctx, end, 1) != 1)
		rc = -1;
	free(b.p);
	return rc;
}

int ap_attrs_build(ap_t *ap)
{
	ipp_t *a = ippNew();
	char dev_id[512];

	ippAddStrings(a, IPP_TAG_PRINTER, IPP_TAG_CHARSET, "charset-supported", 2, NULL, charsets);
	ippAddString(a, IPP_TAG_PRINTER, IPP_TAG_CHARSET, "charset-configured", NULL, "utf-8");
	ippAddString(a, IPP_TAG_PRINTER, IPP_TAG_LANGUAGE, "natural-language-configured", NULL,
		     "en");
	ippAddString(a, IPP_TAG_PRINTER, IPP_TAG_LANGUAGE, "generated-natural-language-supported",
		     NULL, "en");
	ippAddStrings(a, IPP_TAG_PRINTER, IPP_TAG_KEYWORD, "compression-supported", 1, NULL,
		      compression);
	ippAddStrings(a, IPP_TAG_PRINTER, IPP_TAG_MIMETYPE, "document-format-supported",
		      N(formats), NULL, formats);
	ippAddString(a, IPP_TAG_PRINTER, IPP_TAG_MIMETYPE, "document-format-default", NULL,
		     "application/pdf");
	ippAddStrings(a, IPP_TAG_PRINTER, IPP_TAG_KEYWORD, "ipp-versions-supported", 2, NULL,
		      versions);
	ippAddIntegers(a, IPP_TAG_PRINTER, IPP_TAG_ENUM, "operations-supported",
		       N(ops), ops);
	ippAddString(a, IPP_TAG_PRINTER, IPP_TAG_KEYWORD, "pdl-override-supported", NULL,
		     "attempted");
	ippAddString(a, IPP_TAG_PRINTER, IPP_TAG_NAME, "printer-name", NULL, ap->printer_name);
	ippAddString(a, IPP_TAG_PRINTER, IPP_TAG_TEXT, "printer-info", NULL, ap->printer_name);
	ippAddString(a, IPP_TAG_PRINTER, IPP_TAG_TEXT, "printer-location", NULL, ap->location);
	ippAddString(a, IPP_TAG_PRINTER, IPP_TAG_TEXT, "printer-make-and-model", NULL,
		     "PrinterLogic Service Client");
	(void)pl_fmt(dev_id, sizeof(dev_id),
		     "MFG:PrinterLogic;MDL:Service Client;CMD:PDF,URF,PWGRaster;");
	ippAddString(a, IPP_TAG_PRINTER, IPP_TAG_TEXT, "printer-device-id", NULL, dev_id);
	ippAddString(a, IPP_TAG_PRINTER, IPP_TAG_URI, "printer-uuid", NULL, ap->uuid);
	ippAddBoolean(a, IPP_TAG_PRINTER, "printer-is-accepting-jobs", 1);
	ippAddBoolean(a, IPP_TAG_PRINTER, "multiple-document-jobs-supported", 0);
	ippAddBoolean(a, IPP_TAG_PRINTER, "job-ids-supported", 1);
	ippAddStrings(a, IPP_TAG_PRINTER, IPP_TAG_KEYWORD, "which-jobs-supported", 2, NULL,
		      which_jobs);
	ippAddInteger(a, IPP_TAG_PRINTER, IPP_TAG_INTEGER, "multiple-operation-time-out", 60);
	ippAddString(a, IPP_TAG_PRINTER, IPP_TAG_KEYWORD, "multiple-operation-time-out-action",
		     NULL, "abort-job");
	ippAddString(a, IPP_TAG_PRINTER, IPP_TAG_KEYWORD, "printer-state-reasons", NULL, "none");
	add_media(a);
	add_print_options(a);
	add_airprint(a);
	ap->attrs = a;
	return encode_all(ap);
}

static int wanted(cups_array_t *ra, const char *name)
{
	return !ra || cupsArrayFind(ra, (void *)name) != NULL;
}

int ap_attrs_copy(ap_t *ap, ipp_t *resp, cups_array_t *ra, const char *host, int port,
		  int tls, uint8_t **out, size_t *olen)
{
	char uri[1024], more[1024];
	time_t now = time(NULL);
	size_t len = 0;

	*out = NULL;
	*olen = 0;
	for (size_t i = 0; i < ap->nenc; i++)
		if (wanted(ra, ap->enc[i].name))
			len += ap->enc[i].len;
	if (len) {
		uint8_t *p = malloc(len);
		if (!p)
			return -1;
		*out = p;
		*olen = len;
		for (size_t i = 0; i < ap->nenc; i++)
			if (wanted(ra, ap->enc[i].name)) {
				memcpy(p, ap->enc[i].bytes, ap->enc[i].len);
				p += ap->enc[i].len;
			}
	}

	httpAssembleURI(HTTP_URI_CODING_ALL, uri, sizeof(uri), tls ? "ipps" : "ipp", NULL, host,
			port, AP_RESOURCE);
	httpAssembleURI(HTTP_URI_CODING_ALL, more, sizeof(more), tls ? "https" : "http", NULL,
			host, port, "/");
	if (wanted(ra, "printer-uri-supported"))
		ippAddString(resp, IPP_TAG_PRINTER, IPP_TAG_URI, "printer-uri-supported", NULL, uri);
	if (wanted(ra, "uri-security-supported"))
		ippAddString(resp, IPP_TAG_PRINTER, IPP_TAG_KEYWORD, "uri-security-supported", NULL,
			     tls ? "tls" : "none");
	if (wanted(ra, "uri-authentication-supported"))
		ippAddString(resp, IPP_TAG_PRINTER, IPP_TAG_KEYWORD, "uri-authentication-supported",
			     NULL, tls ? "basic" : "none");
	if (wanted(ra, "printer-more-info"))
		ippAddString(resp, IPP_TAG_PRINTER, IPP_TAG_URI, "printer-more-info", NULL, more);
	if (wanted(ra, "printer-supply-info-uri"))
		ippAddString(resp, IPP_TAG_PRINTER, IPP_TAG_URI, "printer-supply-info-uri", NULL,
			     more);
	if (wanted(ra, "printer-icons")) {
		char icon[1100];
		(void)pl_fmt(icon, sizeof(icon), "%sicon.png", more);
		ippAddString(resp, IPP_TAG_PRINTER, IPP_TAG_URI, "printer-icons", NULL, icon);
	}
	if (wanted(ra, "printer-state"))
		ippAddInteger(resp, IPP_TAG_PRINTER, IPP_TAG_ENUM, "printer-state",
			      IPP_PSTATE_IDLE);
	if (wanted(ra, "printer-up-time"))
		ippAddInteger(resp, IPP_TAG_PRINTER, IPP_TAG_INTEGER, "printer-up-time",
			      (int)(now - ap->start_s) + 1);
	if (wanted(ra, "printer-current-time"))
		ippAddDate(resp, IPP_TAG_PRINTER, "printer-current-time", ippTimeToDate(now));
	if (wanted(ra, "printer-state-change-time"))
		ippAddInteger(resp, IPP_TAG_PRINTER, IPP_TAG_INTEGER, "printer-state-change-time", 1);
	if (wanted(ra, "printer-config-change-time"))
		ippAddInteger(resp, IPP_TAG_PRINTER, IPP_TAG_INTEGER, "printer-config-change-time", 1);
	if (wanted(ra, "queued-job-count")) {
		/* every held job (the store keeps the count: no pass over it,
		 * and those out of the table count too), and the table's jobs
		 * not held yet: being received, converted, or waiting for
		 * their document (a job committed at that moment may be
		 * counted twice in that one answer) */
		size_t n = ap->store ? pl_jobstore_count(ap->store, NULL) : 0;
		pthread_mutex_lock(&ap->jobs_lock);
		for (uint32_t i = 0; i < ap->job_table; i++)
			if (ap->jobs[i].id && ap->jobs[i].state == IPP_JSTATE_PENDING)
				n++;
		pthread_mutex_unlock(&ap->jobs_lock);
		ippAddInteger(resp, IPP_TAG_PRINTER, IPP_TAG_INTEGER, "queued-job-count",
			      n > INT32_MAX ? INT32_MAX : (int)n);
	}
	return 0;
}

int ap_attrs_supports(ap_t *ap, const char *name, const char *value)
{
	int yes = 0;
	pthread_mutex_lock(&ap->attrs_lock);
	ipp_attribute_t *a = ippFindAttribute(ap->attrs, name, IPP_TAG_ZERO);
	if (a)
		yes = ippContainsString(a, value);
	pthread_mutex_unlock(&ap->attrs_lock);
	return yes;
}
