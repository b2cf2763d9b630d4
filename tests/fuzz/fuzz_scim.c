// fuzz-sources: services/identitysync/scim-parse.c services/identitysync/scim-patch.c services/identitysync/scim-res.c lib/directory/*.c lib/badge/badge.c common/util.c common/random.c common/config.c common/log.c common/sandbox.c
// fuzz-libs: sqlite3
/* libFuzzer target: what IdentitySync's SCIM server makes of what an
 * identity provider sends (services/identitysync/scim-*.c): filters,
 * PATCH paths, PatchOp bodies applied to a user and to a group, and
 * User and Group bodies checked and projected to a directory user.
 *
 * Input: the first byte picks the parser (mod 6), the rest is its text:
 * 0 a filter, 1 a path, 2 a PatchOp on a user, 3 a PatchOp on a group,
 * 4 a User body, 5 a Group body. Checks: parsed fields are terminated;
 * a patched resource is still an object, checks again without crashing,
 * and a projected user has terminated fields and counts in range. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../services/identitysync/scim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) abort(); } while (0)
#define TERMINATED(a) CHECK(memchr((a), '\0', sizeof(a)) != NULL)

static const char USER[] =
	"{\"userName\":\"ava\",\"active\":true,\"name\":{\"givenName\":\"A\"},"
	"\"emails\":[{\"type\":\"work\",\"value\":\"a@x.org\",\"primary\":true}],"
	"\"" SCIM_URI_ENTERPRISE "\":{\"employeeNumber\":\"42\"}}";
static const char GROUP[] =
	"{\"displayName\":\"G\",\"members\":[{\"value\":\"u1\"},{\"value\":\"u2\"}]}";

static void check_projection(json_t *doc)
{
	static const scim_rules_t r = { SCIM_URI_ENTERPRISE ":employeeNumber", 1, 0 };
	pl_dir_user_t u;
	scim_err_t e;
	if (scim_user_check(doc, &r, &u, &e) == 0) {
		TERMINATED(u.username);
		TERMINATED(u.display_name);
		CHECK(u.nemails >= 0 && u.nemails <= PL_DIR_MAX_EMAILS);
		CHECK(u.nbadges >= 0 && u.nbadges <= PL_DIR_MAX_BADGES);
		for (int i = 0; i < u.nbadges; i++)
			TERMINATED(u.badges[i]);
	} else {
		TERMINATED(e.detail);
		CHECK(e.status >= 400 && e.status < 600);
	}
}

static void patch(const char *text, size_t n, int group)
{
	json_t *doc = json_loads(group ? GROUP : USER, 0, NULL);
	json_t *body = json_loadb(text, n, 0, NULL);
	scim_err_t e;
	json_t *members = NULL;
	if (doc && body && scim_patch_apply(doc, body, group, &e) == 0) {
		CHECK(json_is_object(doc));
		if (group && scim_group_check(doc, &members, &e) == 0)
			CHECK(json_is_array(members));
		else if (!group)
			check_projection(doc);
	}
	json_decref(members);
	json_decref(body);
	json_decref(doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char why[200], text[SCIM_TEXT_MAX + 2];
	if (size < 1)
		return 0;
	int mode = data[0] % 6;
	const char *p = (const char *)data + 1;
	size_t n = size - 1;
	if (mode <= 1) {
		if (n >= sizeof(text))
			n = sizeof(text) - 1;
		memcpy(text, p, n);
		text[n] = '\0';
		if (mode == 0) {
			scim_filter_t f;
			if (scim_filter_parse(text, &f, why, sizeof(why)) == 0) {
				TERMINATED(f.attr);
				TERMINATED(f.value);
				CHECK(f.attr[0]);
			}
		} else {
			scim_path_t pa;
			if (scim_path_parse(text, &pa, why, sizeof(why)) == 0) {
				TERMINATED(pa.attr);
				TERMINATED(pa.sub);
				TERMINATED(pa.uri);
				CHECK(pa.attr[0]);
			}
		}
		return 0;
	}
	if (mode == 2 || mode == 3) {
		patch(p, n, mode == 3);
		return 0;
	}
	json_t *doc = json_loadb(p, n, 0, NULL), *members = NULL;
	scim_err_t e;
	if (doc && mode == 4)
		check_projection(doc);
	else if (doc && scim_group_check(doc, &members, &e) == 0)
		CHECK(json_array_size(members) <= SCIM_MEMBERS_MAX);
	json_decref(members);
	json_decref(doc);
	return 0;
}
