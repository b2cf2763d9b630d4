/* PNG to a PDF page: MuPDF reads the PNG (its header first, so the pixel
 * bound is checked before a byte of image data is inflated), draws it
 * onto a white page-sized pixmap (transparency, palettes, 16-bit and gray
 * with alpha all come out as plain 8-bit gray or RGB), and our PDF writer
 * takes those pixels deflated. Runs where pl_pdfconv_convert runs: in the
 * jailed child for the service; hostile input, so MuPDF's own messages
 * are dropped (fd 2 carries our one-line reason) and every MuPDF error is
 * a refusal. */
#include "pdfconv-private.h"

#include <limits.h>
#include <mupdf/fitz.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "pl_util.h"

#define PNG_STORE (16u << 20) /* MuPDF's resource cache */

static void quiet(void *user, const char *message)
{
	(void)user;
	(void)message;
}

/* The pixels of the image drawn on white: gray for a gray PNG, else RGB. */
static fz_pixmap *png_on_white(fz_context *ctx, fz_image *img)
{
	fz_colorspace *cs = img->colorspace && fz_colorspace_is_gray(ctx, img->colorspace)
				    ? fz_device_gray(ctx)
				    : fz_device_rgb(ctx);
	fz_pixmap *pix = fz_new_pixmap(ctx, cs, img->w, img->h, NULL, 0);
	fz_device *dev = NULL;
	fz_var(dev);
	fz_try(ctx) {
		fz_clear_pixmap_with_value(ctx, pix, 255);
		dev = fz_new_draw_device(ctx, fz_identity, pix);
		fz_fill_image(ctx, dev, img, fz_scale((float)img->w, (float)img->h), 1.0f,
			      fz_default_color_params);
		fz_close_device(ctx, dev);
	}
	fz_always(ctx)
		fz_drop_device(ctx, dev);
	fz_catch(ctx) {
		fz_drop_pixmap(ctx, pix);
		fz_rethrow(ctx);
	}
	return pix;
}

static int png_page(fz_context *ctx, fz_pixmap *pix, pl_pdfw_t *w, char *msg, size_t msz)
{
	int pw = fz_pixmap_width(ctx, pix), ph = fz_pixmap_height(ctx, pix);
	int nc = fz_pixmap_components(ctx, pix);
	size_t row = (size_t)pw * (size_t)nc, len = row * (size_t)ph;
	const unsigned char *s = fz_pixmap_samples(ctx, pix);
	uLongf zlen = compressBound((uLong)len);
	uint8_t *z = fz_pixmap_stride(ctx, pix) == (ptrdiff_t)row ? malloc(zlen) : NULL;
	if (!z || compress2(z, &zlen, s, (uLong)len, 6) != Z_OK) {
		free(z);
		(void)pl_fmt(msg, msz, "PNG of %dx%d pixels: out of memory", pw, ph);
		return -1;
	}
	double wpt, hpt;
	pl_pdfconv_fit_a4((uint32_t)pw, (uint32_t)ph, &wpt, &hpt);
	int rc = pl_pdfw_image_page(w, (uint32_t)pw, (uint32_t)ph, nc, "FlateDecode", 0, z,
				    zlen, wpt, hpt);
	free(z);
	if (rc < 0)
		(void)pl_fmt(msg, msz, "PDF too large");
	return rc;
}

int pl_pdfconv_png(const uint8_t *in, size_t n, const pl_pdfconv_limits_t *l, pl_pdfw_t *w,
		   char *msg, size_t msz)
{
	static const uint8_t magic[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
	if (n < 8 || memcmp(in, magic, 8) != 0 || n > INT_MAX) {
		(void)pl_fmt(msg, msz, "not a PNG");
		return -1;
	}
	fz_context *ctx = fz_new_context(NULL, NULL, PNG_STORE);
	if (!ctx) {
		(void)pl_fmt(msg, msz, "out of memory");
		return -1;
	}
	fz_set_error_callback(ctx, quiet, NULL);
	fz_set_warning_callback(ctx, quiet, NULL);
	fz_buffer *buf = NULL;
	fz_image *img = NULL;
	fz_pixmap *pix = NULL;
	int rc = -1;
	fz_var(buf);
	fz_var(img);
	fz_var(pix);
	fz_try(ctx) {
		buf = fz_new_buffer_from_shared_data(ctx, in, n);
		img = fz_new_image_from_buffer(ctx, buf); /* the header only */
		if ((uint64_t)img->w * (uint64_t)img->h > l->max_page_pixels)
			(void)pl_fmt(msg, msz, "PNG of %dx%d pixels is too large", img->w, img->h);
		else if ((pix = png_on_white(ctx, img)) != NULL)
			rc = png_page(ctx, pix, w, msg, msz);
	}
	fz_always(ctx) {
		fz_drop_pixmap(ctx, pix);
		fz_drop_image(ctx, img);
		fz_drop_buffer(ctx, buf);
	}
	fz_catch(ctx) {
		(void)pl_fmt(msg, msz, "not a PNG this printer takes: %.100s", fz_caught_message(ctx));
		rc = -1;
	}
	fz_drop_context(ctx);
	return rc;
}
