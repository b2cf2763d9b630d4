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

/* PCL 5 and PCL XL sections: each feed takes what belongs to its section
 * and returns how many bytes that was (fewer than n once the section's
 * UEL is read: done is then set). _end gives the section's pages, or -1
 * when they are not known. env: the PL_PJL_* PJL set before. */
void pl_docinfo_pcl5_init(pl_docinfo_pcl5_t *s, int env);
size_t pl_docinfo_pcl5_feed(pl_docinfo_pcl5_t *s, const uint8_t *p, size_t n);
int64_t pl_docinfo_pcl5_end(pl_docinfo_pcl5_t *s);

void pl_docinfo_pclxl_init(pl_docinfo_pclxl_t *s);
size_t pl_docinfo_pclxl_feed(pl_docinfo_pclxl_t *s, const uint8_t *p, size_t n);
int64_t pl_docinfo_pclxl_end(pl_docinfo_pclxl_t *s);

/* PJL around them (and around PostScript and PDF). */
void pl_docinfo_pcl_init(pl_docinfo_pcl_t *s);
void pl_docinfo_pcl_feed(pl_docinfo_pcl_t *s, const uint8_t *p, size_t n);
void pl_docinfo_pcl_result(pl_docinfo_pcl_t *s, pl_docinfo_result_t *out);

#endif
