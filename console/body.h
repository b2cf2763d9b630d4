/* console/body.c: request bodies and texts into our types (fuzzed by
 * tests/fuzz/fuzz_console_body.c). Each returns 0, or -1 with a sentence
 * in err for a 400 answer. Nothing here stores or sends anything. */
#ifndef CS_BODY_H
#define CS_BODY_H

#include <jansson.h>
#include <stddef.h>

#include "pl_directory.h"

/* The body as a JSON object (malformed JSON: the line and column). */
json_t *cs_body_object(const char *body, size_t len, char *err, size_t esz);
/* A string member into out; absent or null: "". Too long, not a string,
 * or with a NUL inside: -1. */
int cs_body_str(json_t *j, const char *key, char *out, size_t sz, char *err, size_t esz);
int cs_body_login(json_t *j, char *user, size_t usz, char *pw, size_t psz, char *err,
		  size_t esz);
/* display_name, groups, emails, badges (normalised); not the username or
 * the PIN, which the caller takes as it needs. */
int cs_body_user(json_t *j, pl_dir_user_t *u, char *err, size_t esz);
/* name (with_name), uri, location, formats; the URI is not parsed here. */
int cs_body_printer(json_t *j, int with_name, pl_dir_printer_t *p, char *err, size_t esz);
/* Every field, defaults filled in, the frame format parsed. */
int cs_body_reader(json_t *j, pl_dir_reader_t *r, char *err, size_t esz);
/* Log text as a JSON string: invalid UTF-8 becomes U+FFFD. */
json_t *cs_text_json(const char *p, size_t n);
/* job-events.jsonl lines as an array of objects, newest first; lines
 * that are not JSON objects are skipped. */
json_t *cs_history_json(const char *text, size_t len);

#endif
