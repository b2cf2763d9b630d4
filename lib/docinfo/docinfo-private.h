/* pl_docinfo's per-format scanners, fed by docinfo.c once the format is
 * known. Each takes any chunking and keeps only its fixed state. */
#ifndef DOCINFO_PRIVATE_H
#define DOCINFO_PRIVATE_H

#include "pl_docinfo.h"

void pl_docinfo_pdf_init(pl_docinfo_pdf_t *s);
void pl_docinfo_pdf_feed(pl_docinfo_pdf_t *s, const uint8_t *p, size_t n);
void pl_docinfo_pdf_result(pl_docinfo_pdf_t *s, pl_docinfo_result_t *out);

void pl_docinfo_ps_feed(pl_docinfo_ps_t *s, const uint8_t *p, size_t n);
void pl_docinfo_ps_result(pl_docinfo_ps_t *s, pl_docinfo_result_t *out);

/* urf: 0 for PWG raster (after "RaS2"), 1 for URF (after "UNIRAST\0"). */
void pl_docinfo_ras_init(pl_docinfo_ras_t *s, int urf);
void pl_docinfo_ras_feed(pl_docinfo_ras_t *s, const uint8_t *p, size_t n);
void pl_docinfo_ras_result(pl_docinfo_ras_t *s, pl_docinfo_result_t *out);

#endif
