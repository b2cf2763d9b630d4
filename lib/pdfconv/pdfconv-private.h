/* pl_pdfconv internals shared by its converters. */
#ifndef PDFCONV_PRIVATE_H
#define PDFCONV_PRIVATE_H

#include "pl_pdfconv.h"

/* The page for an image of w x h pixels: its aspect, its longer side
 * A4's longer side (points). */
void pl_pdfconv_fit_a4(uint32_t w, uint32_t h, double *pw, double *ph);
/* pdfconv-png.c: one PNG as one page of w. 0, or -1 with msg. */
int pl_pdfconv_png(const uint8_t *in, size_t n, const pl_pdfconv_limits_t *l, pl_pdfw_t *w,
		   char *msg, size_t msz);

#endif
