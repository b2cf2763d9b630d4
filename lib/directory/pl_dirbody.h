/* pl_dirbody: directory records from JSON request bodies, the parsers the
 * web console runs on what a browser sends and plsc-directory runs again
 * on what the console forwards (DIR_WRITE, proto/PROTOCOL.md): one code
 * path for both, fuzzed once (tests/fuzz/fuzz_console_body.c). Each
 * returns 0, or -1 with a sentence in err for a 400 answer; nothing here
 * stores or sends anything. */
#ifndef PL_DIRBODY_H
#define PL_DIRBODY_H

#include <jansson.h>
#include <stddef.h>

#include "pl_directory.h"

/* The body as a JSON object (malformed JSON: the line and column). */
json_t *pl_dir_body_object(const char *body, size_t len, char *err, size_t esz);
/* A string member into out; absent or null: "". Too long, not a string,
 * or with a NUL inside: -1. */
int pl_dir_body_str(json_t *j, const char *key, char *out, size_t sz, char *err,
		    size_t esz);
/* display_name, groups, emails, badges (normalised); not the username or
 * the PIN, which the caller takes as it needs. */
int pl_dir_body_user(json_t *j, pl_dir_user_t *u, char *err, size_t esz);
/* name (with_name), uri, location, formats; the URI is not parsed here. */
int pl_dir_body_printer(json_t *j, int with_name, pl_dir_printer_t *p, char *err,
			size_t esz);
/* Every field (name only with_name; else r->name is the caller's: an
 * update names the reader in its path, and a "name" in the body is
 * ignored, as a printer's), defaults filled in, the frame format parsed. */
int pl_dir_body_reader(json_t *j, int with_name, pl_dir_reader_t *r, char *err,
		       size_t esz);

/* A sync-apply batch line's key without a JSON parse, when the line has
 * the shape IdentitySync writes: {"remove":"KEY"} exactly, or
 * {"key":"KEY",... with no other "remove" and no escape anywhere; KEY
 * without control
 * characters, 1 to ksz - 1 bytes. 1 (*remove, key set) or 0 (not that
 * shape: parse it). A line it takes parses as JSON to the same key, or
 * not at all (fuzzed). */
int pl_dir_body_sync_key(const char *line, size_t n, int *remove, char *key, size_t ksz);

/* A sync-apply put line without a JSON parse, when it is exactly what
 * IdentitySync writes for a user without a PIN change:
 * {"key":K,"username":U,"display_name":D,"groups":G,"emails":[...],
 * "badges":[...]}, compact, printable ASCII only, no escape; every field
 * within its bound. 1: key (ksz bytes) and u's username, display_name,
 * groups, emails and badges set as pl_dir_body_str and pl_dir_body_user
 * set them from the parsed line (u's other fields untouched); 0: not
 * that shape, or anything the JSON way would refuse (parse it, to say
 * why). Fuzzed against the JSON way (fuzz_console_body). */
int pl_dir_body_sync_put(const char *line, size_t n, char *key, size_t ksz, pl_dir_user_t *u);

#endif
