/* pl_printer: deliver a document to a printer (DESIGN.md §6).
 *   socket://host[:port]   raw AppSocket/JetDirect (default port 9100):
 *                          success = every byte written and the printer
 *                          closed the connection cleanly after our
 *                          shutdown(SHUT_WR)
 *   ipp://host[:port]/path, ipps://...  (default 631) Print-Job through
 *                          libcups' IPP API with the job's
 *                          document-format: success = an IPP successful
 *                          status
 * Connect and I/O timeouts apply to every step; a partial delivery is
 * always a failure. Blocking: run it off the main loop. */
#ifndef PL_PRINTER_H
#define PL_PRINTER_H

#include <stddef.h>
#include <sys/types.h>

#include "pl_config.h" /* pl_err_t */

typedef struct {
	int connect_timeout_ms; /* default 10000 */
	int io_timeout_ms;	/* default 30000 */
	const char *job_name;	/* IPP job-name */
	const char *user;	/* IPP requesting-user-name */
	const char *format;	/* IPP document-format; NULL = application/octet-stream */
	/* Print options: "name=value" pairs, spaces between (as
	 * cupsParseOptions reads them); NULL or "" = none. Applied over IPP
	 * only, and only copies, sides, print-color-mode and media, each only
	 * when the printer lists the value as supported (one Get-Printer-
	 * Attributes on the same connection first): a strict printer refuses
	 * a whole job for one value it lacks, and a release must not fail for
	 * a duplex wish. socket:// carries none: raw AppSocket has no job
	 * attributes. */
	const char *options;
	/* Out (NULL: not wanted): the options not applied, "name=value"
	 * pairs in name order, spaces between; "" when all were; an option
	 * that does not fit whole is left out. Filled by pl_print. */
	char *not_applied;
	size_t not_applied_sz;
} pl_print_opts_t;

/* Supplies the document: >0 bytes in buf, 0 at the end, <0 error (with
 * the reason in err). */
typedef ssize_t (*pl_print_source_t)(void *arg, void *buf, size_t n,
				     pl_err_t *err);

/* A source that reads the file whose descriptor is *(int *)arg, from its
 * offset. Given to pl_print, a socket:// printer gets the file with
 * sendfile(2), never copied through our memory (a regular file: 100 MiB
 * off-network jobs); ipp:// reads it like any source. */
ssize_t pl_print_fd_source(void *arg, void *buf, size_t n, pl_err_t *err);

/* Is uri one we can print to? 0 or -1 with a reason in err. */
int pl_printer_check_uri(const char *uri, pl_err_t *err);
/* Deliver; 0 on confirmed success, -1 with err ("printer.example:9100:
 * connection refused", "IPP status client-error-document-format-not-
 * supported", ...). *sent (if not NULL) counts bytes handed over. */
int pl_print(const char *uri, const pl_print_opts_t *o,
	     pl_print_source_t src, void *arg, size_t *sent, pl_err_t *err);

/* Connecting ahead of the document: pl_print_start begins the TCP connect
 * to a socket:// printer and returns at once, so that the connection is
 * made while the caller gets the document ready (a release records its
 * claim meanwhile); pl_print_via then delivers as pl_print does, over that
 * connection, finishing the connect within what is left of
 * connect_timeout_ms (counted from pl_print_start). NULL (any other
 * scheme, a URI or host that does not resolve, no memory) just means
 * pl_print_via connects itself, and reports any error. pl_print_via takes
 * pre whatever happens; one not used is given back with pl_print_cancel,
 * which resets the connection: the printer sees it aborted, without a
 * byte. */
typedef struct pl_print_conn pl_print_conn_t;
pl_print_conn_t *pl_print_start(const char *uri);
int pl_print_via(pl_print_conn_t *pre, const char *uri, const pl_print_opts_t *o,
		 pl_print_source_t src, void *arg, size_t *sent, pl_err_t *err);
void pl_print_cancel(pl_print_conn_t *pre);

#endif
