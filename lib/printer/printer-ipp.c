/* pl_printer over IPP (ipp://, ipps://): one Print-Job request through
 * libcups' HTTP and IPP API, the document streamed from the source in
 * chunks (chunked transfer encoding: we never know the length up front).
 *
 * Success is the printer's IPP status (successful-ok and its variants)
 * for a request whose document went out whole. A printer that answers
 * before the end of the document, a transport error, or a source error is
 * a failure; in the last two cases the connection is reset without the
 * final chunk, so the printer never sees a properly ended document.
 *
 * Certificates (ipps): libcups 2.4 does not verify the printer's
 * certificate by itself; verification is opt-in through
 * httpCredentialsGetTrust() (what CUPS' ipp backend calls) plus a
 * credential store that trust-on-first-use writes into (~/.cups/ssl, or
 * /etc/cups/ssl for root). We deliberately call neither: office printers
 * ship self-signed certificates that change on reset or firmware update,
 * a failed release is worse for users than an unauthenticated one on the
 * site LAN, and this library writes no files of its own. So ipps gives
 * confidentiality against passive listeners, not printer authentication.
 * Pinning, if wanted, belongs in the directory (§6) next to the URI. */
#include "printer-private.h"

#include <cups/cups.h>
#include <cups/http.h>
#include <cups/ipp.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pl_util.h"

#define IPP_CHUNK (64 * 1024)
#define IPP_NAME_MAX 255 /* octets of an IPP name value (RFC 8011 5.1.3) */

/* libcups writes with send(..., 0) and relies on httpInitialize() having
 * set SIGPIPE to SIG_IGN for the whole process, once, on first use: a
 * setting our caller may change back later. So SIGPIPE is blocked in this
 * thread while libcups runs (pl_printer_sigpipe_block). */

/* libcups calls this when a wait reaches the httpSetTimeout timeout;
 * returning 0 gives up at the first expired wait. libcups 2.4.2 also gives
 * up without a callback (through the SO_SNDTIMEO/SO_RCVTIMEO it sets), but
 * that is undocumented; the callback states our policy explicitly. */
static int ipp_timeout_cb(http_t *http, void *data)
{
	(void)http;
	(void)data;
	return 0;
}

/* A failed write or read inside libcups. httpError() is often still 0
 * when cupsWriteRequestData fails (the cause is only in errno, which the
 * caller saved right after the call); cupsLastErrorString() then says
 * "Success". Prefer whichever is real. */
static int ipp_transport_error(pl_printer_job_t *job, http_t *http,
			       const char *doing, int saved_errno)
{
	int e = httpError(http) != 0 ? httpError(http) : saved_errno;
	const char *last = cupsLastErrorString();
	char eb[128];

	if (e == ETIMEDOUT || e == EAGAIN || e == EWOULDBLOCK)
		return pl_printer_fail(job, "timed out after %d ms %s (%zu bytes sent)",
				       job->o.io_timeout_ms, doing, job->sent);
	if (e == EPIPE || e == ECONNRESET)
		return pl_printer_fail(job, "connection reset by the printer (%zu bytes sent)",
				       job->sent);
	if (e != 0)
		return pl_printer_fail(job, "%s while %s (%zu bytes sent)",
				       pl_printer_strerror(e, eb, sizeof(eb)),
				       doing, job->sent);
	if (cupsLastError() > IPP_STATUS_OK_EVENTS_COMPLETE && last != NULL &&
	    *last != '\0' && strcmp(last, "Success") != 0)
		return pl_printer_fail(job, "IPP %s: %s", ippErrorString(cupsLastError()),
				       last);
	return pl_printer_fail(job, "connection failed while %s (%zu bytes sent)",
			       doing, job->sent);
}

/* libcups reports every refused or failed connect as EHOSTDOWN ("host is
 * down": it never reads SO_ERROR). To say what really happened, repeat
 * the connect once ourselves; this only runs on that fast failure path. */
static void ipp_connect_failed(pl_printer_job_t *job, http_t *http)
{
	int e = httpError(http), fd;
	char eb[128];

	if (e == ETIMEDOUT) {
		pl_printer_fail(job, "timed out after %d ms connecting",
				job->o.connect_timeout_ms);
	} else if (e == EHOSTDOWN) {
		if ((fd = pl_printer_connect(job)) >= 0) {
			close(fd);
			pl_printer_fail(job, "cannot connect (libcups: host is down)");
		}
	} else if (job->u.kind == PL_PRINTER_IPPS) {
		/* A handshake that stalls or fails: libcups says EIO, and
		 * sometimes more in its last error. */
		const char *why = cupsLastErrorString();
		pl_printer_fail(job, "TLS handshake failed: %s",
				why != NULL && *why != '\0' && cupsLastError() != IPP_STATUS_OK
					? why
					: pl_printer_strerror(e, eb, sizeof(eb)));
	} else {
		pl_printer_fail(job, "%s", pl_printer_strerror(e, eb, sizeof(eb)));
	}
}

/* httpConnect2 with msec 0 only creates the connection object, so the
 * I/O timeout is in place before the first byte moves; libcups applies it
 * to the socket (SO_RCVTIMEO/SO_SNDTIMEO) as soon as it exists. For ipps
 * the TLS handshake runs inside httpReconnect2, where libcups (GnuTLS)
 * raises the timeout to at least 10 s for the handshake alone, so a
 * printer that accepts but never answers costs max(10 s, io_timeout). */
static http_t *ipp_connect(pl_printer_job_t *job)
{
	http_encryption_t enc = job->u.kind == PL_PRINTER_IPPS
					? HTTP_ENCRYPTION_ALWAYS
					: HTTP_ENCRYPTION_IF_REQUESTED;
	http_t *http;

	http = httpConnect2(job->u.host, job->u.port, NULL, AF_UNSPEC, enc, 1,
			    0, NULL);
	if (http == NULL) {
		pl_printer_fail(job, "cannot resolve host: %s", cupsLastErrorString());
		return NULL;
	}
	httpSetTimeout(http, job->o.io_timeout_ms / 1000.0, ipp_timeout_cb, NULL);
	if (httpReconnect2(http, job->o.connect_timeout_ms, NULL) == 0)
		return http;
	ipp_connect_failed(job, http);
	httpClose(http);
	return NULL;
}

/* Copy at most IPP_NAME_MAX octets without splitting a UTF-8 sequence. */
static const char *ipp_name(const char *s, char *buf, size_t sz)
{
	size_t n = strlen(s);

	if (n < sz && n <= IPP_NAME_MAX)
		return s;
	n = sz - 1 < IPP_NAME_MAX ? sz - 1 : IPP_NAME_MAX;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return buf;
}

static ipp_t *ipp_request(const pl_printer_job_t *job)
{
	ipp_t *req = ippNewRequest(IPP_OP_PRINT_JOB);
	const char *user = job->o.user;
	char uri[PL_PRINTER_URI_MAX], nb[IPP_NAME_MAX + 1];

	/* The canonical form of the URI we connected to, whatever case or
	 * default-port spelling the configuration used. */
	httpAssembleURI(HTTP_URI_CODING_ALL, uri, sizeof(uri),
			job->u.kind == PL_PRINTER_IPPS ? "ipps" : "ipp", NULL,
			job->u.host, job->u.port, job->u.resource);
	ippAddString(req, IPP_TAG_OPERATION, IPP_TAG_URI, "printer-uri", NULL, uri);
	if (user == NULL || *user == '\0')
		user = cupsUser();
	ippAddString(req, IPP_TAG_OPERATION, IPP_TAG_NAME, "requesting-user-name",
		     NULL, ipp_name(user, nb, sizeof(nb)));
	if (job->o.job_name != NULL && job->o.job_name[0] != '\0')
		ippAddString(req, IPP_TAG_OPERATION, IPP_TAG_NAME, "job-name", NULL,
			     ipp_name(job->o.job_name, nb, sizeof(nb)));
	ippAddString(req, IPP_TAG_OPERATION, IPP_TAG_MIMETYPE, "document-format",
		     NULL, job->o.format);
	return req;
}

/* ---- print options (pl_print_opts_t.options) ---- */

static const char *const ipp_opt_sup[][2] = {
	{ "copies", "copies-supported" },
	{ "sides", "sides-supported" },
	{ "print-color-mode", "print-color-mode-supported" },
	{ "media", "media-supported" },
};
#define IPP_NOPTS (sizeof(ipp_opt_sup) / sizeof(ipp_opt_sup[0]))

/* What the printer supports of the options we apply: a Get-Printer-
 * Attributes response, or NULL (then nothing is applied). */
static ipp_t *ipp_supported(const pl_printer_job_t *job, http_t *http, const char *uri)
{
	const char *names[IPP_NOPTS];
	for (size_t i = 0; i < IPP_NOPTS; i++)
		names[i] = ipp_opt_sup[i][1];
	ipp_t *req = ippNewRequest(IPP_OP_GET_PRINTER_ATTRIBUTES);
	ippAddString(req, IPP_TAG_OPERATION, IPP_TAG_URI, "printer-uri", NULL, uri);
	ippAddStrings(req, IPP_TAG_OPERATION, IPP_TAG_KEYWORD, "requested-attributes",
		      (int)IPP_NOPTS, NULL, names);
	ipp_t *resp = cupsDoRequest(http, req, job->u.resource); /* frees req */
	if (resp != NULL && ippGetStatusCode(resp) > IPP_STATUS_OK_EVENTS_COMPLETE) {
		ippDelete(resp);
		resp = NULL;
	}
	return resp;
}

/* One option: 1 added to req, 0 left out (the printer lacks it, or it is
 * not one we apply). copies=1 is the default: nothing to send. */
static int ipp_option(ipp_t *req, ipp_t *sup, const cups_option_t *o)
{
	size_t i = 0;
	while (i < IPP_NOPTS && strcmp(o->name, ipp_opt_sup[i][0]) != 0)
		i++;
	if (i == IPP_NOPTS || sup == NULL)
		return 0;
	ipp_attribute_t *a = ippFindAttribute(sup, ipp_opt_sup[i][1], IPP_TAG_ZERO);
	if (i == 0) {
		char *end;
		long v = strtol(o->value, &end, 10);
		if (*end != '\0' || v < 1 || v > 999)
			return 0;
		if (v == 1)
			return 1;
		if (a == NULL || !ippContainsInteger(a, (int)v))
			return 0;
		ippAddInteger(req, IPP_TAG_JOB, IPP_TAG_INTEGER, "copies", (int)v);
		return 1;
	}
	if (a == NULL || !ippContainsString(a, o->value))
		return 0;
	ippAddString(req, IPP_TAG_JOB, IPP_TAG_KEYWORD, o->name, NULL, o->value);
	return 1;
}

void pl_printer_drop_options(pl_printer_job_t *job)
{
	cups_option_t *opts = NULL;
	int n = cupsParseOptions(job->o.options, 0, &opts);
	char one[PL_PRINTER_RES_MAX];
	for (int i = 0; i < n; i++) {
		snprintf(one, sizeof(one), "%s=%s", opts[i].name, opts[i].value);
		pl_printer_not_applied(job, one);
	}
	cupsFreeOptions(n, opts);
}

/* Add the options the printer supports to the Print-Job request; note
 * the others (libcups parses them into name order). */
static void ipp_options(pl_printer_job_t *job, http_t *http, ipp_t *req)
{
	cups_option_t *opts = NULL;
	int n = cupsParseOptions(job->o.options, 0, &opts);
	ipp_t *sup = NULL;
	char one[PL_PRINTER_RES_MAX];
	ipp_attribute_t *uri = ippFindAttribute(req, "printer-uri", IPP_TAG_URI);
	if (n > 0 && uri != NULL)
		sup = ipp_supported(job, http, ippGetString(uri, 0, NULL));
	for (int i = 0; i < n; i++) {
		if (ipp_option(req, sup, &opts[i]))
			continue;
		snprintf(one, sizeof(one), "%s=%s", opts[i].name, opts[i].value);
		pl_printer_not_applied(job, one);
	}
	ippDelete(sup);
	cupsFreeOptions(n, opts);
}

/* Send the request and the document. 0 when the printer should now have
 * an answer for us (*complete says whether the whole document went out),
 * -1 with the error set when the connection must be abandoned. */
static int ipp_send(pl_printer_job_t *job, http_t *http, ipp_t *req,
		    char *buf, int *complete)
{
	http_status_t st;
	int saved;

	*complete = 0;
	errno = 0;
	st = cupsSendRequest(http, req, job->u.resource, CUPS_LENGTH_VARIABLE);
	saved = errno;
	while (st == HTTP_STATUS_CONTINUE) {
		ssize_t n = pl_printer_pull(job, buf, IPP_CHUNK);
		if (n < 0)
			return -1;
		if (n == 0) {
			*complete = 1;
			return 0;
		}
		errno = 0;
		st = cupsWriteRequestData(http, buf, (size_t)n);
		saved = errno;
		if (st != HTTP_STATUS_ERROR)
			job->sent += (size_t)n;
	}
	/* Anything else is the printer answering early (an HTTP error or,
	 * usually, an IPP error it could not wait to tell us), which
	 * cupsGetResponse reads, unless the connection itself failed. */
	if (st == HTTP_STATUS_ERROR)
		return ipp_transport_error(job, http, "writing to the printer", saved);
	return 0;
}

static int ipp_status(pl_printer_job_t *job, ipp_t *resp, int complete)
{
	ipp_status_t st = ippGetStatusCode(resp);
	const char *msg;

	if (st > IPP_STATUS_OK_EVENTS_COMPLETE) {
		msg = ippGetString(ippFindAttribute(resp, "status-message", IPP_TAG_TEXT),
				   0, NULL);
		if (msg != NULL && *msg != '\0')
			return pl_printer_fail(job, "IPP %s: %s", ippErrorString(st), msg);
		return pl_printer_fail(job, "IPP %s", ippErrorString(st));
	}
	if (!complete)
		return pl_printer_fail(job, "printer answered IPP %s before the whole document was sent (%zu bytes sent)",
				       ippErrorString(st), job->sent);
	return 0;
}

/* Give up on a request: the printer must see a broken request, never a
 * short document. Servers built on libcups (ippeveprinter, PAPPL) take a
 * chunked body that dies at a chunk boundary for a complete one, however
 * the connection died. So, for plain IPP with the document unfinished,
 * push out what libcups has buffered (whole chunks), announce one more
 * chunk that never comes, then reset: the printer is mid-chunk when the
 * connection breaks, which it has to treat as an error. The http_t is
 * closed right after, so writing under libcups cannot confuse it. With
 * TLS we cannot write beneath libcups; there it is the reset alone. */
static void ipp_abort(const pl_printer_job_t *job, http_t *http, int complete)
{
	static const char cut[] = "1000\r\n"; /* a 4096-byte chunk... */
	struct linger l = { .l_onoff = 1, .l_linger = 0 };
	int fd = httpGetFd(http);

	if (fd >= 0 && !complete && job->u.kind == PL_PRINTER_IPP) {
		(void)httpFlushWrite(http);
		(void)send(fd, cut, sizeof(cut) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
	}
	if (fd >= 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	httpClose(http);
}

static int ipp_deliver(pl_printer_job_t *job, char *buf)
{
	http_t *http;
	ipp_t *req, *resp = NULL;
	int complete = 0, rc;

	if ((http = ipp_connect(job)) == NULL)
		return -1;
	req = ipp_request(job);
	if (job->o.options != NULL && job->o.options[0] != '\0')
		ipp_options(job, http, req);
	rc = ipp_send(job, http, req, buf, &complete);
	if (rc == 0) {
		errno = 0;
		resp = cupsGetResponse(http, job->u.resource);
		rc = resp != NULL ? ipp_status(job, resp, complete)
				  : ipp_transport_error(job, http, "waiting for the printer's answer",
							errno);
	}
	if (resp != NULL)
		httpClose(http);
	else
		ipp_abort(job, http, complete);
	ippDelete(resp);
	ippDelete(req);
	return rc;
}

int pl_printer_ipp_print(pl_printer_job_t *job)
{
	pl_printer_sigpipe_t sp;
	char *buf;
	int rc;

	if ((buf = malloc(IPP_CHUNK)) == NULL)
		return pl_printer_fail(job, "out of memory");
	pl_printer_sigpipe_block(&sp);
	rc = ipp_deliver(job, buf);
	pl_printer_sigpipe_restore(&sp);
	free(buf);
	return rc;
}
