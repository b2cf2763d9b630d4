/* pl_badge: badge-reader frames and badge IDs (issue: badge release).
 *
 * A network badge reader sends each card read as a short frame: bytes
 * up to a terminator (CR, LF, CRLF) or a fixed length, maybe with a
 * prefix or suffix, carrying the card number as hex or decimal text. Card
 * numbers are normalised to one canonical form, so a badge registered as
 * decimal matches the same card read as hex: the canonical form is the
 * card number's value as lowercase hex without leading zeros ("0" for
 * zero), after applying the reader's byte order (LSB-first readers send
 * the bytes of the number reversed). */
#ifndef PL_BADGE_H
#define PL_BADGE_H

#include <stddef.h>
#include <stdint.h>

#include "pl_config.h" /* pl_err_t */

#define PL_BADGE_MAX 64	      /* canonical ID, hex digits */
#define PL_BADGE_FRAME_MAX 256 /* longest frame we accept */

typedef enum {
	PL_BADGE_TERM_CR,
	PL_BADGE_TERM_LF,
	PL_BADGE_TERM_CRLF,
	PL_BADGE_TERM_FIXED, /* no terminator: fixed_len bytes a frame */
} pl_badge_term_t;

typedef enum { PL_BADGE_HEX, PL_BADGE_DEC } pl_badge_base_t;
typedef enum { PL_BADGE_MSB_FIRST, PL_BADGE_LSB_FIRST } pl_badge_order_t;

typedef struct {
	pl_badge_term_t term;
	size_t fixed_len;   /* for PL_BADGE_TERM_FIXED */
	char prefix[16];    /* stripped when present */
	char suffix[16];
	pl_badge_base_t base;
	pl_badge_order_t order; /* of the bytes, for hex IDs */
	size_t max_len;     /* longest frame before it is noise; default 64 */
} pl_badge_format_t;

/* Presets: "elatec-tcpconv2", "rfideas-e241". 0 or -1. */
int pl_badge_preset(const char *name, pl_badge_format_t *f, pl_err_t *err);
/* The format from a config/CLI description (JSON object with keys
 * preset, terminator ("cr","lf","crlf","none"), length, prefix, suffix,
 * base ("hex","dec"), order ("msb","lsb"), max_length). */
int pl_badge_format_parse(const char *json, pl_badge_format_t *f,
			  pl_err_t *err);

/* Streaming frame splitter for one reader connection. */
typedef struct {
	pl_badge_format_t fmt;
	char buf[PL_BADGE_FRAME_MAX];
	size_t len;
	int discarding; /* inside an over-long line: drop until terminator */
} pl_badge_reader_t;

void pl_badge_reader_init(pl_badge_reader_t *r, const pl_badge_format_t *f);
/* Feed bytes; calls cb for each complete frame's canonical badge ID, or
 * with id NULL and a reason for a frame that is not a badge (noise). */
typedef void (*pl_badge_cb)(void *arg, const char *id, const char *why);
void pl_badge_reader_feed(pl_badge_reader_t *r, const void *p, size_t n,
			  pl_badge_cb cb, void *arg);

/* One frame's payload (terminator removed) to a canonical ID. 0 or -1. */
int pl_badge_decode(const pl_badge_format_t *f, const char *frame, size_t n,
		    char id[PL_BADGE_MAX + 1], pl_err_t *err);
/* A badge ID as an administrator types it: "0x1A2B", "1a2b" (hex),
 * "6699" or "dec:6699" (decimal), "hex:1A2B". Returns the canonical form. */
int pl_badge_normalize(const char *text, char id[PL_BADGE_MAX + 1],
		       pl_err_t *err);
/* For logs: all but the last 4 characters masked ("****1a2b"). */
void pl_badge_mask(const char *id, char *out, size_t outsz);

#endif
