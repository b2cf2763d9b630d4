/* pl_pdfconv: documents a phone sends (JPEG, PNG, Apple URF, PWG raster)
 * made into PDF, so that every held job is a PDF (AirPrint today).
 *   JPEG        embedded as it is (/DCTDecode): only its frame header is
 *               read (size, components), never its image data
 *   PNG         decoded by MuPDF, drawn on white (transparency), deflated:
 *               whoever links pl_pdfconv_convert links MuPDF (MUPDF_LIBS)
 *   URF, PWG    read with libcups' raster reader (cupsRasterReadHeader2
 *               understands both), each page one image, deflated line by
 *               line (zlib), at the page size its resolution gives
 * Untrusted bytes: pl_pdfconv_jailed runs the conversion in a pl_jail
 * child (no network, no files, rlimits); pl_pdfconv_convert is the same
 * conversion in-process, for that child and for the fuzz target. */
#ifndef PL_PDFCONV_H
#define PL_PDFCONV_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
	PL_PDFCONV_PDF,	 /* kept as it is */
	PL_PDFCONV_JPEG,
	PL_PDFCONV_PNG,
	PL_PDFCONV_URF,
	PL_PDFCONV_PWG,
	PL_PDFCONV_UNKNOWN,
} pl_pdfconv_fmt_t;

typedef struct {
	uint32_t max_pages;	   /* 0 = 1000 */
	uint64_t max_page_pixels;  /* width x height of one page; 0 = 150 M */
	uint64_t max_out_bytes;	   /* the PDF; 0 = 512 MiB */
} pl_pdfconv_limits_t;

/* lim with its zeros replaced by the defaults (in may be NULL). */
void pl_pdfconv_default_limits(const pl_pdfconv_limits_t *in, pl_pdfconv_limits_t *l);

/* From a MIME type, or (octet-stream, or NULL) by sniffing the bytes. */
pl_pdfconv_fmt_t pl_pdfconv_format(const char *mime, const uint8_t *p, size_t n);

/* Convert in-process. 0 with *out (malloc'd, caller frees), *out_len and
 * *pages; -1 with msg. */
int pl_pdfconv_convert(pl_pdfconv_fmt_t fmt, const uint8_t *in, size_t n,
		       const pl_pdfconv_limits_t *lim, uint8_t **out, size_t *out_len,
		       uint32_t *pages, char *msg, size_t msz);

/* The same in a jailed child (cpu_s, wall_ms: its limits). PDF input is
 * returned as a copy without a child. */
int pl_pdfconv_jailed(pl_pdfconv_fmt_t fmt, const uint8_t *in, size_t n,
		      const pl_pdfconv_limits_t *lim, uint32_t cpu_s, uint32_t wall_ms,
		      uint8_t **out, size_t *out_len, uint32_t *pages, char *msg, size_t msz);

/* ---- the PDF writer (pdfconv-pdf.c), for the converters ---- */
typedef struct pl_pdfw pl_pdfw_t;
pl_pdfw_t *pl_pdfw_new(uint64_t max_bytes);
/* One page showing one image of w x h pixels (8 bits a component,
 * ncomp 1 = gray, 3 = RGB) of data (already encoded with filter
 * "FlateDecode" or "DCTDecode"), the page w_pt x h_pt points. 0 or -1. */
int pl_pdfw_image_page(pl_pdfw_t *w, uint32_t px_w, uint32_t px_h, int ncomp,
		       const char *filter, int decode_invert, const uint8_t *data, size_t len,
		       double w_pt, double h_pt);
/* Finish: 0 with the PDF (w freed), -1 (w freed). */
int pl_pdfw_finish(pl_pdfw_t *w, uint8_t **out, size_t *len, uint32_t *pages);
void pl_pdfw_free(pl_pdfw_t *w);

#endif
