/* IdentitySync's SCIM parsers and PATCH (services/identitysync/scim-parse.c,
 * scim-patch.c, scim-res.c): filters, paths, the operations in the shapes
 * Entra ID and Okta send, and the projection to a directory user. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../services/identitysync/scim.h"

#define ENT SCIM_URI_ENTERPRISE

static void filter_ok(const char *text, const char *attr, const char *value, int is_str)
{
	scim_filter_t f;
	char why[200] = "";
	if (scim_filter_parse(text, &f, why, sizeof(why)) < 0)
		fail_msg("%s: refused: %s", text, why);
	assert_string_equal(f.attr, attr);
	assert_string_equal(f.value, value);
	assert_int_equal(f.is_str, is_str);
}

static void filter_bad(const char *text, const char *why_part)
{
	scim_filter_t f;
	char why[200] = "";
	if (scim_filter_parse(text, &f, why, sizeof(why)) == 0)
		fail_msg("%s: taken", text);
	if (!strstr(why, why_part))
		fail_msg("%s: \"%s\" lacks \"%s\"", text, why, why_part);
}

static void test_filter(void **state)
{
	scim_filter_t f;
	char why[200];
	(void)state;
	filter_ok("userName eq \"bjensen\"", "userName", "bjensen", 1);
	filter_ok("  USERNAME EQ \"Bjensen@Example.com\"  ", "USERNAME", "Bjensen@Example.com", 1);
	filter_ok("externalId eq \"a\\\"b\\\\c\"", "externalId", "a\"b\\c", 1);
	filter_ok("userName eq \"\\u00e9t\\u00e9\"", "userName", "\xc3\xa9t\xc3\xa9", 1);
	filter_ok("active eq true", "active", "true", 0);
	filter_ok("employeeNumber eq 42", "employeeNumber", "42", 0);
	assert_int_equal(scim_filter_parse("urn:ietf:params:scim:schemas:core:2.0:User:userName eq "
					   "\"x\"", &f, why, sizeof(why)), 0);
	assert_string_equal(f.uri, "");
	assert_string_equal(f.attr, "userName");
	assert_int_equal(scim_filter_parse(ENT ":employeeNumber eq \"7\"", &f, why, sizeof(why)), 0);
	assert_string_equal(f.uri, ENT);
	assert_string_equal(f.attr, "employeeNumber");
	assert_int_equal(scim_filter_parse("name.givenName eq \"B\"", &f, why, sizeof(why)), 0);
	assert_string_equal(f.attr, "name");
	assert_string_equal(f.sub, "givenName");

	filter_bad("userName ne \"x\"", "not supported (only eq)");
	filter_bad("userName sw \"x\"", "not supported");
	filter_bad("userName pr", "not supported");
	filter_bad("userName eq \"x\" and externalId eq \"y\"", "one comparison only");
	filter_bad("(userName eq \"x\")", "grouping");
	filter_bad("emails[type eq \"work\"]", "grouping");
	filter_bad("userName eq \"x", "unterminated");
	filter_bad("userName eq x", "not a quoted string");
	filter_bad("userName eq \"a\\u0000b\"", "not a string");
	filter_bad("", "empty attribute name");
	filter_bad("user;Name eq \"x\"", "with ';'");
	filter_bad("userName", "expected ATTRIBUTE eq");
	char big[SCIM_TEXT_MAX + 10];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	filter_bad(big, "over");
}

static void test_path(void **state)
{
	scim_path_t p;
	char why[200] = "";
	(void)state;
	assert_int_equal(scim_path_parse("displayName", &p, why, sizeof(why)), 0);
	assert_string_equal(p.attr, "displayName");
	assert_false(p.has_filter);
	assert_int_equal(scim_path_parse("name.familyName", &p, why, sizeof(why)), 0);
	assert_string_equal(p.sub, "familyName");
	assert_int_equal(scim_path_parse("emails[type eq \"work\"].value", &p, why, sizeof(why)), 0);
	assert_string_equal(p.attr, "emails");
	assert_true(p.has_filter);
	assert_string_equal(p.filter.attr, "type");
	assert_string_equal(p.filter.value, "work");
	assert_string_equal(p.sub, "value");
	assert_int_equal(scim_path_parse("members[value eq \"2819c223-7f76-453a\"]", &p, why,
					 sizeof(why)), 0);
	assert_string_equal(p.filter.value, "2819c223-7f76-453a");
	assert_string_equal(p.sub, "");
	assert_int_equal(scim_path_parse("members[value eq \"a]b\"]", &p, why, sizeof(why)), 0);
	assert_string_equal(p.filter.value, "a]b");
	assert_int_equal(scim_path_parse(ENT ":employeeNumber", &p, why, sizeof(why)), 0);
	assert_string_equal(p.uri, ENT);
	assert_string_equal(p.attr, "employeeNumber");
	assert_int_equal(scim_path_parse(SCIM_URI_USER ":name.givenName", &p, why, sizeof(why)), 0);
	assert_string_equal(p.uri, "");
	assert_string_equal(p.sub, "givenName");

	assert_int_equal(scim_path_parse("emails[type eq \"work\"", &p, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "without its ']'"));
	assert_int_equal(scim_path_parse("emails[type eq \"work\"]x", &p, why, sizeof(why)), -1);
	assert_int_equal(scim_path_parse("name.x[a eq \"b\"]", &p, why, sizeof(why)), -1);
	assert_int_equal(scim_path_parse("emails[type ne \"w\"]", &p, why, sizeof(why)), -1);
	assert_int_equal(scim_path_parse("emails[]", &p, why, sizeof(why)), -1);
	assert_int_equal(scim_path_parse("a b", &p, why, sizeof(why)), -1);
	assert_int_equal(scim_path_parse("", &p, why, sizeof(why)), -1);
}

/* Apply ops (JSON text) to doc (JSON text); the result as compact
 * sorted JSON, or "ERR scimType: detail". */
static char out[4096];

static const char *patch(const char *doc, const char *ops, int is_group)
{
	json_t *d = json_loads(doc, 0, NULL), *b = json_loads(ops, 0, NULL);
	scim_err_t e;
	assert_non_null(d);
	assert_non_null(b);
	if (scim_patch_apply(d, b, is_group, &e) < 0) {
		snprintf(out, sizeof(out), "ERR %d %s: %s", e.status, e.type, e.detail);
	} else {
		char *s = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS);
		snprintf(out, sizeof(out), "%s", s);
		free(s);
	}
	json_decref(d);
	json_decref(b);
	return out;
}

#define OPS(...) "{\"schemas\":[\"" SCIM_URI_PATCH "\"],\"Operations\":[" __VA_ARGS__ "]}"

static void test_patch_user(void **state)
{
	(void)state;
	const char *u = "{\"userName\":\"ava\",\"emails\":[{\"type\":\"work\",\"value\":\"a@x.org\"}]}";
	assert_string_equal(patch(u, OPS("{\"op\":\"Replace\",\"path\":\"displayName\",\"value\":\"Ava\"}"), 0),
			    "{\"displayName\":\"Ava\",\"emails\":[{\"type\":\"work\",\"value\":\"a@x.org\"}],\"userName\":\"ava\"}");
	/* Entra: an e-mail through a filter; one that matches nothing is added */
	assert_string_equal(patch(u, OPS("{\"op\":\"replace\",\"path\":\"emails[type eq \\\"work\\\"].value\",\"value\":\"b@x.org\"}"), 0),
			    "{\"emails\":[{\"type\":\"work\",\"value\":\"b@x.org\"}],\"userName\":\"ava\"}");
	assert_string_equal(patch(u, OPS("{\"op\":\"Replace\",\"path\":\"emails[type eq \\\"other\\\"].value\",\"value\":\"c@x.org\"}"), 0),
			    "{\"emails\":[{\"type\":\"work\",\"value\":\"a@x.org\"},{\"type\":\"other\",\"value\":\"c@x.org\"}],\"userName\":\"ava\"}");
	/* add to a multi-valued attribute appends, once */
	assert_string_equal(patch(u, OPS("{\"op\":\"ADD\",\"path\":\"emails\",\"value\":[{\"value\":\"a@x.org\"},{\"value\":\"d@x.org\"}]}"), 0),
			    "{\"emails\":[{\"type\":\"work\",\"value\":\"a@x.org\"},{\"value\":\"d@x.org\"}],\"userName\":\"ava\"}");
	/* the enterprise extension by its URI, and without a path */
	assert_string_equal(patch(u, OPS("{\"op\":\"Add\",\"path\":\"" ENT ":employeeNumber\",\"value\":\"42\"}"), 0),
			    "{\"emails\":[{\"type\":\"work\",\"value\":\"a@x.org\"}],\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\":{\"employeeNumber\":\"42\"},\"userName\":\"ava\"}");
	assert_string_equal(patch("{\"userName\":\"ava\"}", OPS("{\"op\":\"replace\",\"value\":{\"" ENT "\":{\"employeeNumber\":\"7\"},\"name.givenName\":\"A\",\"active\":false}}"), 0),
			    "{\"active\":false,\"name\":{\"givenName\":\"A\"},\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\":{\"employeeNumber\":\"7\"},\"userName\":\"ava\"}");
	/* Entra: a single value wrapped in an array or in {"value": } */
	assert_string_equal(patch("{\"userName\":\"ava\"}", OPS("{\"op\":\"Replace\",\"path\":\"active\",\"value\":[{\"value\":\"False\"}]}"), 0),
			    "{\"active\":\"False\",\"userName\":\"ava\"}");
	/* complex attributes merge */
	assert_string_equal(patch("{\"userName\":\"ava\",\"name\":{\"givenName\":\"A\",\"familyName\":\"E\"}}",
				  OPS("{\"op\":\"replace\",\"path\":\"name\",\"value\":{\"familyName\":\"F\"}}"), 0),
			    "{\"name\":{\"familyName\":\"F\",\"givenName\":\"A\"},\"userName\":\"ava\"}");
	/* remove: an attribute, a sub-attribute, values through a filter */
	assert_string_equal(patch(u, OPS("{\"op\":\"remove\",\"path\":\"emails[type eq \\\"WORK\\\"]\"}"), 0),
			    "{\"userName\":\"ava\"}");
	assert_string_equal(patch("{\"userName\":\"ava\",\"title\":\"x\",\"name\":{\"givenName\":\"A\"}}",
				  OPS("{\"op\":\"remove\",\"path\":\"title\"},{\"op\":\"remove\",\"path\":\"name.givenName\"}"), 0),
			    "{\"name\":{},\"userName\":\"ava\"}");
	/* what the server owns is left alone */
	assert_string_equal(patch("{\"userName\":\"ava\"}", OPS("{\"op\":\"replace\",\"value\":{\"id\":\"x\",\"meta\":{}}}"), 0),
			    "{\"userName\":\"ava\"}");
	/* refusals */
	assert_string_equal(patch(u, OPS("{\"op\":\"move\",\"path\":\"x\"}"), 0),
			    "ERR 400 invalidSyntax: \"op\" is add, replace or remove");
	assert_string_equal(patch(u, OPS("{\"op\":\"remove\"}"), 0),
			    "ERR 400 noTarget: a remove without a path must list the members to remove");
	assert_string_equal(patch(u, "{\"Operations\":[]}", 0),
			    "ERR 400 invalidSyntax: a PatchOp needs \"Operations\", an array");
	assert_string_equal(patch(u, OPS("{\"op\":\"add\",\"path\":\"displayName\"}"), 0),
			    "ERR 400 invalidSyntax: add of displayName without a value");
	assert_string_equal(patch(u, OPS("{\"op\":\"add\",\"path\":\"emails.value\",\"value\":\"x\"}"), 0),
			    "ERR 400 invalidPath: emails is multi-valued: choose values with emails[...]");
	assert_string_equal(patch(u, OPS("{\"op\":\"replace\",\"value\":\"x\"}"), 0),
			    "ERR 400 invalidSyntax: without a path the value is an object of attributes");
	assert_non_null(strstr(patch(u, OPS("{\"op\":\"add\",\"path\":\"a[b eq]\",\"value\":1}"), 0),
			       "ERR 400 invalidPath"));
}

static void test_patch_group(void **state)
{
	(void)state;
	const char *g = "{\"displayName\":\"G\",\"members\":[{\"value\":\"u1\"},{\"value\":\"u2\"},{\"value\":\"u3\"}]}";
	/* Entra: remove with a path and a value: only those listed */
	assert_string_equal(patch(g, OPS("{\"op\":\"Remove\",\"path\":\"members\",\"value\":[{\"value\":\"u2\"}]}"), 1),
			    "{\"displayName\":\"G\",\"members\":[{\"value\":\"u1\"},{\"value\":\"u3\"}]}");
	/* Entra: remove without a path, with the members */
	assert_string_equal(patch(g, OPS("{\"op\":\"Remove\",\"value\":[{\"value\":\"u1\"},{\"value\":\"u3\"}]}"), 1),
			    "{\"displayName\":\"G\",\"members\":[{\"value\":\"u2\"}]}");
	assert_string_equal(patch(g, OPS("{\"op\":\"remove\",\"value\":{\"members\":[{\"value\":\"u1\"}]}}"), 1),
			    "{\"displayName\":\"G\",\"members\":[{\"value\":\"u2\"},{\"value\":\"u3\"}]}");
	/* never empties a group without saying whom */
	assert_string_equal(patch(g, OPS("{\"op\":\"Remove\"}"), 1),
			    "ERR 400 noTarget: a remove without a path must list the members to remove");
	/* Okta: by filter */
	assert_string_equal(patch(g, OPS("{\"op\":\"remove\",\"path\":\"members[value eq \\\"u3\\\"]\"}"), 1),
			    "{\"displayName\":\"G\",\"members\":[{\"value\":\"u1\"},{\"value\":\"u2\"}]}");
	/* ids compare exactly */
	assert_string_equal(patch(g, OPS("{\"op\":\"remove\",\"path\":\"members[value eq \\\"U3\\\"]\"}"), 1), g);
	/* add: once each; a bare id is taken as {"value": id} */
	assert_string_equal(patch(g, OPS("{\"op\":\"add\",\"path\":\"members\",\"value\":[{\"value\":\"u1\"},\"u4\"]}"), 1),
			    "{\"displayName\":\"G\",\"members\":[{\"value\":\"u1\"},{\"value\":\"u2\"},{\"value\":\"u3\"},{\"value\":\"u4\"}]}");
	/* RFC 7644: remove "members" without a value empties it */
	assert_string_equal(patch(g, OPS("{\"op\":\"remove\",\"path\":\"members\"}"), 1),
			    "{\"displayName\":\"G\"}");
	/* Okta: rename without a path, its id ignored */
	assert_string_equal(patch(g, OPS("{\"op\":\"replace\",\"value\":{\"id\":\"x\",\"displayName\":\"H\"}}"), 1),
			    "{\"displayName\":\"H\",\"members\":[{\"value\":\"u1\"},{\"value\":\"u2\"},{\"value\":\"u3\"}]}");
}

static void check_user(const char *doc, const scim_rules_t *r, pl_dir_user_t *u, const char *err)
{
	json_t *d = json_loads(doc, 0, NULL);
	scim_err_t e;
	assert_non_null(d);
	int rc = scim_user_check(d, r, u, &e);
	if (err && (rc == 0 || !strstr(e.detail, err)))
		fail_msg("%s: expected \"%s\", got %d %s", doc, err, rc, rc ? e.detail : "");
	if (!err && rc < 0)
		fail_msg("%s: refused: %s", doc, e.detail);
	json_decref(d);
}

static void test_user_check(void **state)
{
	scim_rules_t r = { ENT ":employeeNumber", 1, 0 };
	pl_dir_user_t u;
	(void)state;
	check_user("{\"userName\":\"ava@contoso.com\",\"name\":{\"givenName\":\"Ava\",\"familyName\":\"E\"},"
		   "\"emails\":[{\"value\":\"b@x.org\"},{\"value\":\"a@x.org\",\"primary\":\"True\"},{\"value\":\"A@x.org\"}],"
		   "\"" ENT "\":{\"employeeNumber\":\"6699\"},\"password\":\"p\"}", &r, &u, NULL);
	assert_string_equal(u.username, "ava@contoso.com");
	assert_string_equal(u.display_name, "Ava E");
	assert_int_equal(u.nemails, 2);
	assert_string_equal(u.emails[0], "a@x.org"); /* primary first, duplicates once */
	assert_int_equal(u.nbadges, 1);
	assert_string_equal(u.badges[0], "1a2b");
	assert_string_equal(u.source, "scim");
	/* inactive: no badges */
	check_user("{\"userName\":\"ava\",\"active\":\"False\",\"" ENT "\":{\"employeeNumber\":6699}}", &r, &u, NULL);
	assert_int_equal(u.nbadges, 0);
	/* hex badges, 0x allowed, and a custom attribute */
	scim_rules_t h = { "urn:acme:scim:2.0:User:badges", 0, 1 };
	check_user("{\"userName\":\"Ava\",\"urn:acme:scim:2.0:User\":{\"badges\":[\"0x1A2B\",{\"value\":\"ff\"}]}}", &h, &u, NULL);
	assert_string_equal(u.username, "ava");
	assert_int_equal(u.nbadges, 2);
	assert_string_equal(u.badges[1], "ff");
	check_user("{\"displayName\":\"x\"}", &r, &u, "userName is required");
	check_user("{\"userName\":\"a b\"}", &r, &u, "userName: letters");
	check_user("{\"userName\":\"a\",\"emails\":[{\"value\":\"not-an-address\"}]}", &r, &u,
		   "not an address the directory takes");
	check_user("{\"userName\":\"a\",\"active\":\"maybe\"}", &r, &u, "active: true or false");
	check_user("{\"userName\":\"a\",\"" ENT "\":{\"employeeNumber\":\"12ab\"}}", &r, &u,
		   "not a decimal badge ID");
	check_user("{\"userName\":\"a\",\"displayName\":\"a\\u0001b\"}", &r, &u, "invalid display name");
	check_user("{\"userName\":\"a\",\"emails\":[{\"value\":\"1@x.org\"},{\"value\":\"2@x.org\"},"
		   "{\"value\":\"3@x.org\"},{\"value\":\"4@x.org\"},{\"value\":\"5@x.org\"}]}", &r, &u,
		   "at most 4");
}

static void test_group_check(void **state)
{
	json_t *m = NULL, *d;
	scim_err_t e;
	(void)state;
	d = json_loads("{\"displayName\":\"G\",\"id\":\"x\",\"members\":[{\"value\":\"a\"},\"b\",{\"value\":\"a\"}]}", 0, NULL);
	assert_int_equal(scim_group_check(d, &m, &e), 0);
	assert_int_equal(json_array_size(m), 2);
	assert_null(json_object_get(d, "members"));
	assert_null(json_object_get(d, "id"));
	json_decref(m);
	json_decref(d);
	d = json_loads("{\"members\":[]}", 0, NULL);
	assert_int_equal(scim_group_check(d, &m, &e), -1);
	assert_string_equal(e.detail, "displayName is required");
	json_decref(d);
	d = json_loads("{\"displayName\":\"G\",\"members\":[{\"display\":\"no value\"}]}", 0, NULL);
	assert_int_equal(scim_group_check(d, &m, &e), -1);
	json_decref(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_filter),	    cmocka_unit_test(test_path),
		cmocka_unit_test(test_patch_user),  cmocka_unit_test(test_patch_group),
		cmocka_unit_test(test_user_check),  cmocka_unit_test(test_group_check),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
