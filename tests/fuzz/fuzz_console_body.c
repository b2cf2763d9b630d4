// fuzz-sources: console/body.c lib/directory/directory-body.c lib/directory/directory-csv.c lib/badge/badge.c common/util.c
/* libFuzzer target: what the web console reads from an HTTP request body
 * (console/body.c) and the texts it turns into JSON answers.
 *
 * Input layout: byte 0 picks the parser (mod 6), the rest is the body:
 *   0 login   1 user   2 printer   3 badge reader (as added, and as
 *   updated with the name from the path)   (JSON bodies, parsed
 *   by pl_dir_body_object first, as every API handler does; the record
 *   parsers live in lib/directory/directory-body.c, shared with
 *   plsc-directory)
 *   4 log text to a JSON string   5 job-events lines to the history
 * Every input is also a sync-apply batch line for pl_dir_body_sync_key
 * (the key without a JSON parse): what it takes must parse to the same
 * key, or not parse at all; and for pl_dir_body_sync_put (a whole put
 * line without a JSON parse): what it takes parses as JSON to the same
 * key and record.
 * Checks: a refused body always has a message; an accepted one leaves
 * terminated strings, counts in range and canonical badges; the log text
 * always becomes a valid JSON string (invalid UTF-8 replaced, never
 * dropped: at least one character out per byte in is not required, but
 * the result must encode back to JSON); the history is an array. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../console/body.h"
#include "pl_badge.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) abort(); } while (0)
#define TERMINATED(a) CHECK(memchr((a), '\0', sizeof(a)) != NULL)

static void check_user(const pl_dir_user_t *u)
{
	TERMINATED(u->display_name);
	TERMINATED(u->groups);
	CHECK(u->nemails >= 0 && u->nemails <= PL_DIR_MAX_EMAILS);
	CHECK(u->nbadges >= 0 && u->nbadges <= PL_DIR_MAX_BADGES);
	for (int i = 0; i < u->nemails; i++)
		TERMINATED(u->emails[i]);
	for (int i = 0; i < u->nbadges; i++) {
		char hex[80], again[PL_BADGE_MAX + 1];
		pl_err_t e;
		TERMINATED(u->badges[i]);
		snprintf(hex, sizeof(hex), "hex:%s", u->badges[i]);
		CHECK(pl_badge_normalize(hex, again, &e) == 0 && strcmp(again, u->badges[i]) == 0);
	}
}

static void check_sync_key(const char *p, size_t n)
{
	int remove;
	char key[129];
	if (!pl_dir_body_sync_key(p, n, &remove, key, sizeof(key)))
		return;
	CHECK(key[0] && strlen(key) < sizeof(key));
	json_t *j = json_loadb(p, n, JSON_REJECT_DUPLICATES, NULL);
	if (j && json_is_object(j)) {
		json_t *rm = json_object_get(j, "remove");
		CHECK(remove == (rm != NULL));
		json_t *k = remove ? rm : json_object_get(j, "key");
		CHECK(json_is_string(k) && strcmp(json_string_value(k), key) == 0);
	}
	json_decref(j);
}

/* What pl_dir_body_sync_put takes, the JSON way (plsc-directory's
 * item_from_json) takes too, to the same key and record. */
static void check_sync_put(const char *p, size_t n)
{
	static pl_dir_user_t fast, slow;
	char key[129], jkey[129], err[400];
	memset(&fast, 0, sizeof(fast));
	memset(&slow, 0, sizeof(slow));
	if (!pl_dir_body_sync_put(p, n, key, sizeof(key), &fast))
		return;
	check_user(&fast);
	json_t *j = json_loadb(p, n, JSON_REJECT_DUPLICATES, NULL);
	CHECK(j && json_is_object(j) && !json_object_get(j, "remove") &&
	      !json_object_get(j, "pin_mark"));
	CHECK(pl_dir_body_str(j, "key", jkey, sizeof(jkey), err, sizeof(err)) == 0);
	CHECK(pl_dir_body_str(j, "username", slow.username, sizeof(slow.username), err,
			      sizeof(err)) == 0);
	CHECK(pl_dir_body_user(j, &slow, err, sizeof(err)) == 0);
	CHECK(strcmp(key, jkey) == 0 && key[0]);
	CHECK(memcmp(&fast, &slow, sizeof(fast)) == 0);
	json_decref(j);
}

static void json_body(int which, const char *p, size_t n)
{
	char err[400] = "";
	json_t *j = pl_dir_body_object(p, n, err, sizeof(err));
	if (!j) {
		CHECK(err[0]);
		return;
	}
	int rc = -1;
	if (which == 0) {
		char user[128], pw[1025];
		rc = cs_body_login(j, user, sizeof(user), pw, sizeof(pw), err, sizeof(err));
		if (rc == 0)
			CHECK(user[0] && strlen(user) < sizeof(user) && strlen(pw) < sizeof(pw));
	} else if (which == 1) {
		pl_dir_user_t u;
		memset(&u, 0, sizeof(u));
		rc = pl_dir_body_user(j, &u, err, sizeof(err));
		if (rc == 0)
			check_user(&u);
	} else if (which == 2) {
		pl_dir_printer_t pr;
		memset(&pr, 0, sizeof(pr));
		rc = pl_dir_body_printer(j, 1, &pr, err, sizeof(err));
		if (rc == 0) {
			TERMINATED(pr.uri);
			TERMINATED(pr.location);
			CHECK(pr.name[0] && pr.uri[0]);
		}
	} else {
		pl_dir_reader_t r;
		memset(&r, 0, sizeof(r));
		rc = pl_dir_body_reader(j, 1, &r, err, sizeof(err));
		if (rc == 0) {
			TERMINATED(r.format);
			CHECK(r.name[0] && r.address[0] && r.printer[0] && r.direction[0] &&
			      r.mode[0] && r.port >= 0 && r.port <= 65535);
		}
		/* The update's way (the name from the path): the same body
		 * is taken or refused alike, and the name stays. */
		pl_dir_reader_t u;
		char uerr[400] = "";
		memset(&u, 0, sizeof(u));
		memcpy(u.name, "R", 2);
		int urc = pl_dir_body_reader(j, 0, &u, uerr, sizeof(uerr));
		CHECK(urc < 0 ? uerr[0] != '\0' : strcmp(u.name, "R") == 0);
		if (rc == 0)
			CHECK(urc == 0);
	}
	if (rc < 0)
		CHECK(err[0]);
	json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	int which = data[0] % 6;
	const char *p = (const char *)data + 1;
	size_t n = size - 1;
	check_sync_key(p, n);
	check_sync_put(p, n);
	if (which < 4) {
		json_body(which, p, n);
	} else if (which == 4) {
		json_t *s = cs_text_json(p, n);
		CHECK(json_is_string(s));
		char *enc = json_dumps(s, JSON_ENCODE_ANY);
		CHECK(enc != NULL);
		free(enc);
		json_decref(s);
	} else {
		json_t *a = cs_history_json(p, n);
		CHECK(json_is_array(a));
		json_decref(a);
	}
	return 0;
}
