/* console/body.c: request bodies and texts into our types (fuzzed by
 * tests/fuzz/fuzz_console_body.c), beside the directory records' parsers
 * of pl_dirbody.h. Each returns 0, or -1 with a sentence in err for a 400
 * answer. Nothing here stores or sends anything. */
#ifndef CS_BODY_H
#define CS_BODY_H

#include <jansson.h>
#include <stddef.h>

#include "pl_dirbody.h" /* the records: pl_dir_body_* */

int cs_body_login(json_t *j, char *user, size_t usz, char *pw, size_t psz, char *err,
		  size_t esz);
/* Log text as a JSON string: invalid UTF-8 becomes U+FFFD. */
json_t *cs_text_json(const char *p, size_t n);
/* job-events.jsonl lines as an array of objects, newest first; lines
 * that are not JSON objects are skipped. */
json_t *cs_history_json(const char *text, size_t len);

#endif
