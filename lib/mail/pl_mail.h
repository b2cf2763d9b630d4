/* pl_mail: the bytes of one e-mail message, parsed without trusting them
 * (issue 14). Two entry points for the Email service:
 *   pl_mail_head_parse  the header block: From, recipients, subject,
 *                       Message-ID and the Authentication-Results verdict
 *                       (RFC 5322 with obsolete syntax, RFC 2047 encoded
 *                       words, RFC 8601), bounded, in the caller's process
 *                       (a pure function over a byte buffer: fuzzed);
 *   pl_mail_to_pdf      the whole message to one PDF (body, then each
 *                       attachment) with MuPDF, in a pl_jail child.
 * Every parser of a message's bytes lives here; the service owns the
 * network, the state and the decisions. */
#ifndef PL_MAIL_H
#define PL_MAIL_H

#include <stddef.h>
#include <stdint.h>

#include "pl_config.h" /* pl_err_t */

#define PL_MAIL_ADDR_MAX 320 /* RFC 5321: 64 + 1 + 255 */
#define PL_MAIL_RCPT_MAX 16

/* Everything the service needs from the headers of one message, parsed
 * without trusting it (RFC 5322 with obsolete syntax, RFC 2047 words,
 * bounded). Addresses are addr-specs, lower-cased, at most 320 bytes. */
typedef struct {
	char from[PL_MAIL_ADDR_MAX + 1];   /* the From address; "" if none/invalid/several */
	char rcpt[PL_MAIL_RCPT_MAX][PL_MAIL_ADDR_MAX + 1]; /* To, Cc, Delivered-To,
	                                    * X-Original-To addresses, deduplicated */
	unsigned n_rcpt;
	char subject[256];           /* decoded to UTF-8, control chars removed (for the job title) */
	char message_id[256];        /* for logs */
	int auth;                    /* PL_MAIL_AUTH_*: see pl_mail_head_parse */
} pl_mail_head_t;

enum { PL_MAIL_AUTH_NONE = 0, PL_MAIL_AUTH_PASS = 1, PL_MAIL_AUTH_FAIL = -1 };

/* Parse the header block of msg (only the first max bytes are looked at).
 * trusted_authserv: the authserv-id of the organisation's own MTA, or NULL
 * when the check is off. With it, h->auth is PASS only when an
 * Authentication-Results header (RFC 8601) with exactly that authserv-id
 * says dmarc=pass, or dkim=pass with header.d / header.i aligned with the
 * From domain (relaxed: same organisational domain suffix), or spf=pass
 * with smtp.mailfrom aligned; headers from any other authserv-id are
 * ignored. 0, or -1 with err (not a message at all). */
int pl_mail_head_parse(const uint8_t *msg, size_t len, const char *trusted_authserv,
		       pl_mail_head_t *h, pl_err_t *err);

#define PL_MAIL_EXT_ARGV_MAX 24
#define PL_MAIL_EXT_TYPES_MAX 48

/* The optional external converter (LibreOffice headless; off when argc is
 * 0). An attachment MuPDF cannot read whose media type or file-name
 * extension is in types is converted by running argv (placeholders
 * {in}: the input file, {outdir}: its directory, {out}: the PDF expected,
 * {outdir}/in.pdf) in a child confined as lib/mail/ext.c describes; the
 * PDF it writes is then opened by MuPDF in the jail like any attachment. */
typedef struct {
	char argv[PL_MAIL_EXT_ARGV_MAX][1024]; /* each at most 1023 bytes */
	unsigned argc;
	char types[PL_MAIL_EXT_TYPES_MAX][80]; /* "application/msword" or "docx" */
	unsigned ntypes;
	unsigned timeout_s;   /* wall clock, and CPU, of one conversion (default 60) */
	uint64_t mem_bytes;   /* its address space (default 2 GiB) */
	char tmp_dir[256];    /* where its per-conversion dirs go ("": $TMPDIR or /tmp) */
} pl_mail_ext_t;

typedef struct {
	uint64_t max_message_bytes;   /* refuse larger (default 25 MiB) */
	unsigned max_attachments;     /* default 20 */
	unsigned max_pages;           /* total pages of the PDF, default 200 */
	unsigned max_depth;           /* multipart + message/rfc822 nesting, default 8 */
	uint64_t max_decoded_bytes;   /* all decoded parts together, default 100 MiB */
	unsigned cpu_seconds;         /* jail limits, defaults 30 s CPU, */
	unsigned wall_ms;             /* 60 s wall, */
	uint64_t mem_bytes;           /* 1 GiB address space */
	int body;                     /* 1: body first (default), 0: attachments only */
	int monospace;                /* text/plain in a monospace font */
	pl_mail_ext_t ext;            /* the external converter, off by default */
} pl_mail_opts_t;

void pl_mail_opts_default(pl_mail_opts_t *o);
/* The default external types: doc docx xls xlsx ppt pptx odt ods odp rtf
 * and their media types. */
void pl_mail_ext_default_types(pl_mail_ext_t *e);

typedef struct {
	unsigned pages;               /* of the PDF written */
	unsigned parts;               /* parts that became pages */
	char skipped[1024];           /* unsupported attachments, "name (type); ..." */
	char reason[256];             /* PL_MAIL_EREJECT: why, for the log, the notice and the event */
} pl_mail_result_t;

#define PL_MAIL_EREJECT (-2)   /* the message is refused: a bound, nothing printable, a decoder crash or limit */

/* Turn one message (msg_fd, a regular file or memfd positioned at 0) into
 * one PDF written to pdf_fd (a regular file or memfd, truncated and
 * written from 0): body first, then each attachment in order. All decoding
 * runs in a pl_jail child (common/pl_jail.h) with the opts' limits; the
 * child never sees anything but the two fds. Safe to call from a worker
 * thread. 0: written, r filled; PL_MAIL_EREJECT: refused, r->reason set;
 * -1: error of ours (err), e.g. cannot fork. */
int pl_mail_to_pdf(int msg_fd, int pdf_fd, const pl_mail_opts_t *o,
		   pl_mail_result_t *r, pl_err_t *err);

#endif
