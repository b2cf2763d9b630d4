/* lib/mail internals shared by its modules, the unit tests and the fuzz
 * targets. Nothing here links MuPDF except conv.c (pl_mail_conv_run):
 * head.c, authres.c, text.c and mime.c are pure functions over bytes. */
#ifndef PL_MAIL_PRIVATE_H
#define PL_MAIL_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

#include "pl_mail.h"

/* A header block longer than this is not a mail header: the walker
 * refuses it, pl_mail_head_parse looks at this much only. */
#define PL_MAIL_HEADER_MAX (256u * 1024)
/* One field's unfolded value, as far as anyone reads it. */
#define PL_MAIL_FIELD_MAX (16u * 1024)
/* MIME parts of any kind in one message (containers included). */
#define PL_MAIL_PARTS_MAX 512u
/* Pixels of one image (w * h): more is a decompression bomb. */
#define PL_MAIL_PIXELS_MAX (64u * 1024 * 1024)

/* --- header fields (head.c) --------------------------------------------- */
typedef struct {
	const uint8_t *p;
	size_t len; /* of the header block, its end included */
	size_t pos;
} pl_mail_hdr_iter_t;

/* Where the header block of msg ends: the offset of the body (after the
 * empty line), or len when there is no empty line. */
size_t pl_mail_hdr_end(const uint8_t *msg, size_t len);
void pl_mail_hdr_init(pl_mail_hdr_iter_t *it, const uint8_t *msg, size_t len);
/* The next field: its name (not terminated) and its raw value (folded).
 * 1, or 0 at the end. Lines without a colon are skipped. */
int pl_mail_hdr_next(pl_mail_hdr_iter_t *it, const char **name, size_t *nlen,
		     const uint8_t **val, size_t *vlen);
/* Unfold a raw value into out (CR and LF dropped, NUL bytes as spaces,
 * leading and trailing white space trimmed), truncated to outsz - 1. */
size_t pl_mail_unfold(const uint8_t *v, size_t n, char *out, size_t outsz);
int pl_mail_name_is(const char *name, size_t nlen, const char *want);

/* RFC 5322 address lists: every addr-spec of s (groups, display names,
 * comments, obsolete routes), lower-cased, each at most 320 bytes; calls
 * fn for each. Returns how many were valid; *bad counts the invalid. */
unsigned pl_mail_addr_list(const char *s, void (*fn)(const char *addr, void *arg),
			   void *arg, unsigned *bad);

/* --- Authentication-Results (authres.c) --------------------------------- */
/* Evaluate one Authentication-Results value: PL_MAIL_AUTH_NONE when its
 * authserv-id is not trusted (ignore it), else _PASS or _FAIL for the From
 * domain from_domain ("" when From is unusable: never PASS). */
int pl_mail_authres_eval(const char *value, const char *trusted,
			 const char *from_domain);
/* Relaxed alignment (DMARC's "organisational domain", approximated
 * without the public suffix list): 1 when a and b share it. */
int pl_mail_domain_aligned(const char *a, const char *b);

/* --- text (text.c) ------------------------------------------------------ */
/* A growing output bounded by max bytes. */
typedef struct {
	char *p;
	size_t len, cap, max;
	int over;  /* something did not fit under max */
	int nomem; /* an allocation failed */
} pl_mail_buf_t;
int pl_mail_buf_add(pl_mail_buf_t *b, const void *s, size_t n);
void pl_mail_buf_free(pl_mail_buf_t *b);

/* Decode base64 / quoted-printable in into out (at most max bytes; 0 or
 * -1 over the limit). Garbage characters in base64 are skipped (as
 * mail readers do); a truncated quantum is dropped. */
int pl_mail_b64_decode(const uint8_t *in, size_t n, pl_mail_buf_t *out);
int pl_mail_qp_decode(const uint8_t *in, size_t n, pl_mail_buf_t *out);
/* Text in charset cs to UTF-8 (invalid sequences as U+FFFD). UTF-8,
 * US-ASCII, ISO-8859-1, ISO-8859-15 and Windows-1252 are converted here;
 * others through iconv; a charset iconv does not know is read as
 * ISO-8859-1 (documented: never refused, never raw bytes). */
int pl_mail_to_utf8(const char *cs, const uint8_t *in, size_t n, pl_mail_buf_t *out);
/* An unstructured field (Subject) with RFC 2047 encoded words decoded,
 * to UTF-8, control characters dropped, truncated to outsz - 1 bytes on
 * a character boundary. */
void pl_mail_decode_words(const char *s, char *out, size_t outsz);

/* --- MIME (mime.c) ------------------------------------------------------ */
typedef enum {
	PL_MAIL_K_SKIP = 0, /* not printable: named in skipped */
	PL_MAIL_K_TEXT,
	PL_MAIL_K_HTML,
	PL_MAIL_K_PDF,
	PL_MAIL_K_IMAGE,
	PL_MAIL_K_XPS,
	PL_MAIL_K_EPUB,
	PL_MAIL_K_SVG,
	PL_MAIL_K_EXT, /* for the external converter (opts.ext): its PDF is printed */
} pl_mail_kind_t;

typedef enum {
	PL_MAIL_R_BODY = 0, /* the message's text (printed first when opts.body) */
	PL_MAIL_R_ATTACH,   /* printed after the body, in order */
	PL_MAIL_R_RESOURCE, /* only referenced (cid:) by an HTML part */
} pl_mail_role_t;

typedef struct {
	pl_mail_kind_t kind;
	pl_mail_role_t role;
	char type[80];  /* media type, lower-cased */
	char name[128]; /* file name (UTF-8, printable) or "" */
	char cid[128];  /* Content-ID without <>, or "" */
	uint8_t *data;  /* decoded; TEXT and HTML in UTF-8 */
	size_t len;
} pl_mail_part_t;

typedef struct {
	pl_mail_part_t v[PL_MAIL_PARTS_MAX];
	unsigned n;
	unsigned n_attach; /* attachments, skipped ones included */
	uint64_t decoded;
	char skipped[1024];
	char reason[256];
} pl_mail_parts_t;

/* Walk msg: every leaf part decoded, typed and given a role, under o's
 * bounds (attachments, depth, decoded bytes). 0; PL_MAIL_EREJECT with
 * ps->reason; -1 out of memory. ps is large: allocate it. */
int pl_mail_walk(const uint8_t *msg, size_t len, const pl_mail_opts_t *o,
		 pl_mail_parts_t *ps);
void pl_mail_parts_free(pl_mail_parts_t *ps);
/* The kind of a part from its media type, file name and first bytes
 * (the bytes win: a PDF called .txt is a PDF). */
pl_mail_kind_t pl_mail_kind_of(const char *type, const char *name,
			       const uint8_t *data, size_t len);
const char *pl_mail_kind_magic(pl_mail_kind_t k, const uint8_t *data, size_t len);

/* --- the external converter (ext.c) --------------------------------------- */
/* What the external converter made of one part (the parent's side,
 * handed to the jailed child in its copy of the parent's memory). pdf
 * NULL: it failed, why says how. */
typedef struct {
	unsigned part;        /* index in pl_mail_parts_t.v */
	const uint8_t *pdf;
	size_t len;
	char why[160];
} pl_mail_extout_t;

/* --- conversion (conv.c, links MuPDF) ----------------------------------- */
/* The result the jailed child hands back after the PDF: a fixed-size
 * trailer appended to its output, read and checked by the parent. */
#define PL_MAIL_TRAILER_MAGIC "PLMAILR1"
typedef struct {
	char magic[8];
	uint32_t status; /* 0 written, 1 refused */
	uint32_t pages, parts;
	uint64_t pdf_len;
	char skipped[1024];
	char reason[256];
} pl_mail_trailer_t;

/* The parent's side: check the trailer at the end of pdf_fd as input from
 * a compromised process, fill r and cut the trailer off. 0; or
 * PL_MAIL_EREJECT with r->reason (the file truncated to 0); -1 (errno)
 * when the file cannot be truncated. */
int pl_mail_trailer_read(int pdf_fd, const pl_mail_opts_t *o, pl_mail_result_t *r);
/* What the jailed child is asked to do (its arg). */
typedef struct {
	const pl_mail_opts_t *o;
	int extract;                 /* 1: only write the PL_MAIL_K_EXT parts (ext.c) */
	const pl_mail_extout_t *ext; /* 0: convert, with these results of the */
	unsigned n_ext;              /*    external converter */
} pl_mail_job_t;
/* The child's body (arg: a pl_mail_job_t): message on in; on out the PDF
 * + trailer, or (extract) a pl_mail_xrec_t + data for each EXT part and
 * a record with part UINT32_MAX at the end. */
int pl_mail_conv_child(int in, int out, void *job);
#define PL_MAIL_XREC_MAGIC "PLMAILX1"
typedef struct {
	char magic[8];
	uint32_t part, pad;
	uint64_t len;
	char type[80], name[128];
} pl_mail_xrec_t;
/* Convert parts into a PDF held in memory (the child's work; tests call
 * it directly). 0 with *pdf (malloc'd), or PL_MAIL_EREJECT with reason. */
int pl_mail_conv_parts(const pl_mail_parts_t *ps, const pl_mail_opts_t *o,
		       uint8_t **pdf, size_t *pdf_len, pl_mail_result_t *r);

/* The extension ("docx") a part of type/name is converted as, when ext
 * takes it; NULL when it does not. */
const char *pl_mail_ext_match(const pl_mail_ext_t *e, const char *type, const char *name);
/* Run the converter on data (len bytes): its PDF in *pdf (malloc'd, at
 * most max_pdf bytes, checked to start with %PDF-), or -1 with why. The
 * converter's output (stdout and stderr, bounded) in log (may be NULL). */
int pl_mail_ext_run(const pl_mail_ext_t *e, const uint8_t *data, size_t len, const char *ext,
		    uint64_t max_pdf, uint8_t **pdf, size_t *pdf_len, char *why, size_t whysz,
		    char *log, size_t logsz);
/* Convert parts with the external converter's results (n of them). */
int pl_mail_conv_parts_ext(const pl_mail_parts_t *ps, const pl_mail_opts_t *o,
			   const pl_mail_extout_t *ext, unsigned n_ext, uint8_t **pdf,
			   size_t *pdf_len, pl_mail_result_t *r);

#endif
