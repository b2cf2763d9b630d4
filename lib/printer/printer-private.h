/* pl_printer internals shared by printer.c (URIs, socket://) and
 * printer-ipp.c (ipp://, ipps://). Not part of the public API. */
#ifndef PL_PRINTER_PRIVATE_H
#define PL_PRINTER_PRIVATE_H

#include <signal.h>
#include <stddef.h>
#include <sys/types.h>

#include "pl_printer.h"

#define PL_PRINTER_URI_MAX 1024	 /* longest URI we accept */
#define PL_PRINTER_HOST_MAX 256	 /* a DNS name is at most 253 */
#define PL_PRINTER_RES_MAX 1024	 /* ipp(s) resource path */
#define PL_PRINTER_CONNECT_MS 10000 /* defaults of pl_print_opts_t */
#define PL_PRINTER_IO_MS 30000

typedef enum {
	PL_PRINTER_SOCKET,
	PL_PRINTER_IPP,
	PL_PRINTER_IPPS,
} pl_printer_kind_t;

/* A parsed printer URI. where is "host:port" ("[v6]:port"), the prefix of
 * every delivery error, so a log line says which printer failed. */
typedef struct {
	pl_printer_kind_t kind;
	char host[PL_PRINTER_HOST_MAX];
	int port;
	char resource[PL_PRINTER_RES_MAX];
	char where[PL_PRINTER_HOST_MAX + 16];
} pl_printer_uri_t;

/* A delivery in progress: resolved options, the source, the running byte
 * count (what *sent reports) and the error to fill. */
typedef struct {
	const char *uri;
	pl_printer_uri_t u;
	pl_print_opts_t o; /* timeouts > 0, format never NULL */
	pl_print_source_t src;
	void *arg;
	size_t sent;
	pl_err_t *err;
	pl_print_conn_t *pre; /* socket://: a connect begun by pl_print_start */
} pl_printer_job_t;

int pl_printer_parse_uri(const char *uri, pl_printer_uri_t *u, pl_err_t *err);
/* "where: <formatted>" into job->err; always returns -1. */
int pl_printer_fail(pl_printer_job_t *job, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Pull the next piece of the document: >0 bytes, 0 at its end, -1 with
 * job->err set when the source failed or misbehaved. */
ssize_t pl_printer_pull(pl_printer_job_t *job, void *buf, size_t n);
/* TCP connect to the job's host and port within connect_timeout_ms,
 * trying each address: a non-blocking socket, or -1 with job->err set
 * ("connection refused", "timed out after N ms connecting", ...). */
int pl_printer_connect(pl_printer_job_t *job);
/* Lower-case strerror text ("connection refused"), thread-safe. */
const char *pl_printer_strerror(int e, char *buf, size_t sz);

/* Note one option ("name=value") as not applied, in job->o.not_applied
 * when the caller asked and it fits whole. */
void pl_printer_not_applied(pl_printer_job_t *job, const char *opt);
/* Note every option of job->o.options so (printer-ipp.c: libcups parses
 * them, in name order). */
void pl_printer_drop_options(pl_printer_job_t *job);

/* SIGPIPE blocked in this thread around writes that could raise it. */
typedef struct {
	sigset_t old;
	int was_pending;
} pl_printer_sigpipe_t;
void pl_printer_sigpipe_block(pl_printer_sigpipe_t *s);
void pl_printer_sigpipe_restore(const pl_printer_sigpipe_t *s);

int pl_printer_socket_print(pl_printer_job_t *job);
int pl_printer_ipp_print(pl_printer_job_t *job);

#endif
