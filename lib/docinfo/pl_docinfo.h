/* pl_docinfo: what a print document is, from its bytes: the format (from
 * the first bytes), the page count and the page size where the format
 * states them. The documents are hostile input (anyone with a
 * workstation token sends them), so this is a streaming scanner with a
 * fixed amount of state: it never allocates (zlib works in an arena
 * inside the state, so a pl_docinfo_t must not be copied while in use),
 * never looks back more than its own small buffers, and gives up
 * ("unknown") rather than guess.
 *
 * What is counted, and how (see docinfo-*.c):
 *   PDF          the linearization dictionary's /N when the file is still
 *                the length it states; the page tree root's /Count (the
 *                catalog's /Pages, else the last /Type /Pages without
 *                /Parent, so incremental updates win); else the number of
 *                /Type /Page objects. Object streams filtered by
 *                /FlateDecode alone are inflated as they pass (zlib, in a
 *                fixed arena, 16 MiB inflated at most per document); a
 *                count that an unread object stream could change is
 *                unknown.
 *   PostScript   DSC "%%Pages: N" (the header's, or the trailer's when the
 *                header says "(atend)"); else the number of "%%Page:"
 *                comments outside embedded documents.
 *   PWG raster,  every page header, each page's compressed lines decoded
 *   Apple URF    (without storing them) to find the next header: exact,
 *                and a malformed stream is unknown.
 *   PCL          PJL's sections summed (docinfo-pjl.c): PCL XL's EndPage
 *                operators, the stream tokenized (docinfo-pclxl.c); PCL 5's
 *                form feeds and page ejects, escape sequences tokenized
 *                (docinfo-pcl5.c); PostScript and PDF as above.
 *   JPEG, PNG    one page.
 *   plain text   unknown: text pagination is the printer's.
 * Page size: PWG and URF page headers, the first /MediaBox of a PDF page
 * (or of the root page tree), as "A4", "A3", "A5", "Letter", "Legal" or
 * "WxH mm". */
#ifndef PL_DOCINFO_H
#define PL_DOCINFO_H

#include <stddef.h>
#include <stdint.h>

#include <zlib.h>

/* The bytes the format sniffer looks at (plain text is all of them). */
#define PL_DOCINFO_HEAD 512
/* Page counts are unknown as 0: a document that prints has a page, and
 * jobs stored before pages were counted carry 0 too. */
#define PL_PAGES_UNKNOWN 0u
#define PL_DOCINFO_PAGES_MAX 1000000u /* more is a lie, not a document */

typedef enum {
	PL_DOC_UNKNOWN = 0,
	PL_DOC_PDF,
	PL_DOC_PS,
	PL_DOC_PCL, /* PCL 5, PCL XL, or anything behind a PJL header */
	PL_DOC_PWG,
	PL_DOC_URF,
	PL_DOC_JPEG,
	PL_DOC_PNG,
	PL_DOC_TEXT,
} pl_doc_format_t;

/* The MIME type of a format ("application/octet-stream" for unknown). */
const char *pl_docinfo_mime(pl_doc_format_t f);
/* The format from the first n bytes (give PL_DOCINFO_HEAD, or the whole
 * document when it is shorter). */
pl_doc_format_t pl_docinfo_sniff(const void *p, size_t n);

/* ---- the streaming counter; the fields are its own ---- */

/* One dictionary being read by a PDF lexer: what its keys said. */
typedef struct {
	uint8_t page, pages, parent, has_count, has_box;
	uint8_t catalog, has_pages_ref, objstm, lin, parms, other_filter;
	uint8_t nfilters;
	uint32_t count, pages_ref, n, first;
	uint64_t len; /* a linearization dictionary's /L */
	int64_t box[4];
} pl_docinfo_pdfdict_t;

/* One PDF lexer: the file's own, or the one reading an object stream's
 * inflated bytes. */
typedef struct {
	int state, sub, str_depth;
	char tok[32];
	size_t toklen;
	uint64_t ring;	   /* the last 8 bytes, to find "endstream" */
	uint64_t pos, tok_pos; /* bytes lexed; where the token began */
	int after_type, want; /* the previous name was /Type; a value wanted */
	int nbox;
	int64_t box[4];	   /* MediaBox being read, in 1/1000 pt */
	int depth;	   /* dictionary nesting */
	pl_docinfo_pdfdict_t d[8];
	int64_t num[2];	   /* the last two integers outside dictionaries */
	uint32_t ref;	   /* the object number of a reference being read */
	uint32_t obj;	   /* the object being read, 0 when not known */
	int stream_cr;	   /* "stream" ended with CR: skip the LF after it */
	pl_docinfo_pdfdict_t last; /* the last object's dictionary, for "stream" */
	int have_last;
} pl_docinfo_pdflex_t;

#define PL_DOCINFO_OBJSTM_PAIRS 256 /* object numbers kept per stream */
#define PL_DOCINFO_ROOTS 16	    /* page tree roots remembered */
#define PL_DOCINFO_ZARENA (48 * 1024) /* zlib's inflate state and window */

typedef struct { /* PDF: the lexers, object streams, and what they found */
	pl_docinfo_pdflex_t top, sub;
	uint64_t nbytes;
	/* The object stream being inflated (sub reads its bytes). */
	int inflating, skip_lf;
	z_stream z;
	uint8_t out[4096];
	uint32_t stm_first, npairs, nheader;
	int pairs_cut; /* more objects than pairs: the tail's numbers unknown */
	int pairs_bad; /* a header that is not pairs of growing offsets */
	uint32_t pairs[PL_DOCINFO_OBJSTM_PAIRS][2]; /* object number, offset */
	uint32_t pair_idx;
	uint64_t inflated; /* over the whole document, against a budget */
	uint32_t nstreams;
	size_t arena_used;
	_Alignas(16) uint8_t arena[PL_DOCINFO_ZARENA];
	/* What the objects said. */
	uint64_t seq;	   /* orders roots and failed object streams */
	uint64_t fail_seq; /* the last object stream not read, 0 when none */
	struct {
		uint32_t obj, count;
		uint64_t seq;
	} roots[PL_DOCINFO_ROOTS];
	uint32_t nroots;
	uint32_t catalog_pages;
	int have_catalog;
	uint32_t page_objs;
	uint32_t nxref; /* "startxref": one a revision */
	uint32_t ndicts; /* top-level dictionaries of the file so far */
	int have_lin;
	uint32_t lin_n;
	uint64_t lin_len;
	int have_box;
	int64_t first_box[4];
} pl_docinfo_pdf_t;

typedef struct { /* PostScript DSC comments */
	char line[40];
	size_t len;
	int skip_line, nested, pages_atend, have_pages;
	uint32_t pages, page_marks;
} pl_docinfo_ps_t;

typedef struct { /* PWG raster and URF: headers, then compressed lines */
	uint8_t hdr[1796];
	size_t hlen, hsize;
	int state;
	uint32_t unit, line_bytes, lines_left, pos;
	uint32_t run_left;
	uint32_t pages;
	int bad;
	uint32_t w_mm10, h_mm10; /* first page, tenths of mm */
} pl_docinfo_ras_t;

typedef struct { /* PCL 5: escape sequences, and where pages end */
	int state, after_data; /* the state after a command's data */
	uint8_t cls, grp;      /* parameterized and group characters */
	int neg, sign, point, present, garbage;
	uint64_t ival;	       /* the value's integer part (clamped) */
	uint32_t frac;	       /* and its thousandths */
	uint64_t skip;	       /* data bytes still to skip */
	int bad, done, mark;
	uint32_t pages;
	/* Where the cursor is, for line feeds that could end a page:
	 * centipoints (7200 to the inch); negative when not known. */
	int64_t vmi, y, top, text;
	int y_known, orient, psize, lt, wrap, at_home;
	int rect_w, rect_h; /* the rectangle's size is not 0 */
	int env; /* what PJL set before: PL_PJL_* */
} pl_docinfo_pcl5_t;

/* PJL settings that change how PCL 5 pages end. */
#define PL_PJL_FORMLINES 1 /* the default line spacing */
#define PL_PJL_PAPER 2	   /* a paper other than Letter, A4 or larger */
#define PL_PJL_LINETERM 4  /* what CR and LF do */

typedef struct { /* PCL XL: the binary stream's tokens */
	int state, be;	 /* be: the header declared big-endian numbers */
	uint32_t hlen;	 /* header bytes read */
	int kind;	 /* what the number being read counts */
	uint8_t num[4];
	uint32_t nlen, nwant, elem;
	uint64_t skip;	 /* bytes still to skip */
	uint32_t uel;	 /* bytes of a UEL matched */
	int in_page, bad, done;
	uint32_t pages;
} pl_docinfo_pclxl_t;

typedef struct { /* PJL, and the languages it enters */
	int state, lang;
	char line[64];	/* the PJL line being read (its start) */
	size_t len;
	uint32_t uel;	/* bytes of a UEL matched in PostScript or PDF */
	uint32_t pages; /* of the sections ended */
	int bad;
	int env; /* PL_PJL_* */
	union {
		pl_docinfo_pcl5_t p5;
		pl_docinfo_pclxl_t xl;
		pl_docinfo_ps_t ps;
		pl_docinfo_pdf_t pdf;
	} u;
} pl_docinfo_pcl_t;

typedef struct {
	uint8_t head[PL_DOCINFO_HEAD];
	size_t hlen;
	pl_doc_format_t format;
	int decided;
	uint64_t total;
	union {
		pl_docinfo_pdf_t pdf;
		pl_docinfo_ps_t ps;
		pl_docinfo_ras_t ras;
		pl_docinfo_pcl_t pcl;
	} u;
} pl_docinfo_t;

typedef struct {
	pl_doc_format_t format;
	const char *mime;
	uint32_t pages;	    /* PL_PAGES_UNKNOWN when the format does not say */
	char page_size[32]; /* "" when unknown */
} pl_docinfo_result_t;

void pl_docinfo_init(pl_docinfo_t *d);
/* Any chunking: the result depends on the bytes only. */
void pl_docinfo_feed(pl_docinfo_t *d, const void *p, size_t n);
/* After the last byte. */
void pl_docinfo_result(pl_docinfo_t *d, pl_docinfo_result_t *out);

/* A page size name from millimetres (tenths): "A4", ... or "WxH mm". */
void pl_docinfo_size_name(uint32_t w_mm10, uint32_t h_mm10, char *buf,
			  size_t sz);

#endif
