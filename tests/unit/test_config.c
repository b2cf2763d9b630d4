/* pl_config: loading, typed getters, and error messages that point at the
 * right line and column. Files live in a private mkdtemp directory. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pl_config.h"
#include "pl_util.h"

typedef struct {
	char dir[PATH_MAX];
} fixture_t;

/* The example of DESIGN.md and pl_config.h: poll_seconds on line 14,
 * its key in column 9. */
static const char plsc_json[] =
	"{\n"
	"    \"log_dir\": \"/var/log/plsc\",\n"
	"    \"state_dir\": \"/var/lib/plsc\",\n"
	"    \"log_level\": \"info\",\n"
	"    \"supervisor\": {\n"
	"        \"heartbeat_seconds\": 5,\n"
	"        \"restart_max_seconds\": 60\n"
	"    },\n"
	"    \"services\": {\n"
	"    \"PrinterLogicServiceOfflinePrint\": {\"enabled\": true, \"port\": 31989},\n"
	"    \"PrinterLogicServiceEmail\": {\n"
	"        \"enabled\": true,\n"
	"        \"mailbox\": \"print@example.com\",\n"
	"        \"poll_seconds\": \"x\"\n"
	"    }\n"
	"    }\n"
	"}\n";

static int group_setup(void **state)
{
	fixture_t *f;
	const char *tmp = getenv("TMPDIR");

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "%s/test_config.XXXXXX",
		 tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	if (mkdtemp(f->dir) == NULL) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int group_teardown(void **state)
{
	fixture_t *f = *state;
	char path[PATH_MAX * 2];
	struct dirent *de;
	DIR *d;

	if ((d = opendir(f->dir)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			snprintf(path, sizeof(path), "%s/%s", f->dir,
				 de->d_name);
			unlink(path);
		}
		closedir(d);
	}
	rmdir(f->dir);
	free(f);
	return 0;
}

/* Write data to dir/name; the full path goes to path. */
static void write_file(void **state, const char *name, const char *data,
		       size_t len, char *path, size_t pathsz)
{
	fixture_t *f = *state;
	FILE *fp;

	assert_true((size_t)snprintf(path, pathsz, "%s/%s", f->dir, name) <
		    pathsz);
	assert_non_null(fp = fopen(path, "w"));
	assert_int_equal(fwrite(data, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
}

static pl_config_t *parse_ok(const char *text)
{
	pl_config_t *cfg;
	pl_err_t err = {""};

	cfg = pl_config_parse("t.json", text, strlen(text), &err);
	if (cfg == NULL)
		fail_msg("parse failed: %s", err.msg);
	return cfg;
}

static void parse_fails(const char *text, const char *want)
{
	pl_err_t err = {""};

	assert_null(pl_config_parse("t.json", text, strlen(text), &err));
	assert_string_equal(err.msg, want);
}

static void locate_at(const char *text, const char *path, int line, int col)
{
	int l = 0, c = 0;

	if (pl_config_locate(text, strlen(text), path, &l, &c) != 0)
		fail_msg("locate \"%s\" failed", path);
	if (l != line || c != col)
		fail_msg("locate \"%s\": got %d:%d, want %d:%d", path, l, c,
			 line, col);
}

static void locate_fails(const char *text, const char *path)
{
	int l = 0, c = 0;

	assert_int_equal(pl_config_locate(text, strlen(text), path, &l, &c),
			 -1);
}

static void test_example_message(void **state)
{
	char path[PATH_MAX * 2], want[PATH_MAX * 3];
	pl_cnode_t root, services, email, offline;
	pl_config_t *cfg;
	pl_err_t err = {""};
	long long v = 0;
	const char *s = NULL;
	int b = 0;

	write_file(state, "plsc.json", plsc_json, strlen(plsc_json), path,
		   sizeof(path));
	cfg = pl_config_load(path, &err);
	assert_non_null(cfg);
	assert_string_equal(pl_config_name(cfg), path);
	root = pl_config_root(cfg);
	assert_int_equal(pl_cnode_object(&root, "services", 1, &services, &err),
			 0);
	assert_string_equal(services.path, "services");
	assert_int_equal(pl_cnode_object(&services, "PrinterLogicServiceEmail",
					 1, &email, &err), 0);
	assert_string_equal(email.path, "services.PrinterLogicServiceEmail");
	assert_int_equal(pl_cnode_bool(&email, "enabled", 0, &b, &err), 0);
	assert_int_equal(b, 1);
	assert_int_equal(pl_cnode_str(&email, "mailbox", NULL, &s, &err), 0);
	assert_string_equal(s, "print@example.com");

	assert_int_equal(pl_cnode_int(&email, "poll_seconds", 1, 3600, 60, &v,
				      &err), -1);
	snprintf(want, sizeof(want), "%s:14:9: services.PrinterLogicServiceEmail"
		 ".poll_seconds: expected an integer", path);
	assert_string_equal(err.msg, want);

	/* A key in the middle of a one-line object. */
	assert_int_equal(pl_cnode_object(&services,
					 "PrinterLogicServiceOfflinePrint", 1,
					 &offline, &err), 0);
	assert_int_equal(pl_cnode_int(&offline, "port", 1, 1024, 0, &v, &err),
			 -1);
	snprintf(want, sizeof(want), "%s:10:58: services."
		 "PrinterLogicServiceOfflinePrint.port: expected an integer "
		 "between 1 and 1024", path);
	assert_string_equal(err.msg, want);
	assert_int_equal(pl_cnode_int(&offline, "port", 1, 65535, 0, &v, &err),
			 0);
	assert_int_equal(v, 31989);
	pl_config_free(cfg);
}

static const char nested_json[] =
	"{\n"
	"  \"a\": {\n"
	"    \"b\": [10, {\"c\": 1},\n"
	"          [1, 2, {\"d\": true}]],\n"
	"    \"e\": []\n"
	"  }\n"
	"}";

static void test_locate_nested(void **state)
{
	(void)state;
	locate_at(nested_json, "", 1, 1);
	locate_at(nested_json, "a", 2, 3);
	locate_at(nested_json, "a.b", 3, 5);
	locate_at(nested_json, "a.b[0]", 3, 11);
	locate_at(nested_json, "a.b[1]", 3, 15);
	locate_at(nested_json, "a.b[1].c", 3, 16);
	locate_at(nested_json, "a.b[2]", 4, 11);
	locate_at(nested_json, "a.b[2][1]", 4, 15);
	locate_at(nested_json, "a.b[2][2].d", 4, 19);
	/* Last step missing: the enclosing object or array. */
	locate_at(nested_json, "a.x", 2, 8);
	locate_at(nested_json, "a.b[1].x", 3, 15);
	locate_at(nested_json, "a.b[3]", 3, 10);
	locate_at(nested_json, "a.e[0]", 5, 10);
	locate_at(nested_json, "zz", 1, 1);
	/* An earlier step missing, or a path through a scalar. */
	locate_fails(nested_json, "x.y");
	locate_fails(nested_json, "a.b[7].c");
	locate_fails(nested_json, "a.b[0].c");
	locate_fails(nested_json, "a.b.c");
	locate_fails(nested_json, "a[0]");
	/* Malformed paths. */
	locate_fails(nested_json, "a..b");
	locate_fails(nested_json, ".a");
	locate_fails(nested_json, "a.");
	locate_fails(nested_json, "a.b[x]");
	locate_fails(nested_json, "a.b[1");
	locate_fails(nested_json, "a.b[]");
	locate_fails(nested_json, "a.b[99999999999999999999999999]");
	/* A root array and a leading index. */
	locate_at(" [\n {\"k\": 1}, 2]", "[0].k", 2, 3);
	locate_at(" [\n {\"k\": 1}, 2]", "[1]", 2, 12);
}

static const char escapes_json[] =
	"{\n"
	"  \"s\": \"a \\\"}{[ \\\\\", \"t\": \"]\",\n"
	"  \"q\\\"k\": 1,\n"
	"  \"\\u0070ort\": 2,\n"
	"  \"caf\\u00e9\": 3, \"\\ud83d\\ude00\": 4,\n"
	"  \"\xc3\xa9t\xc3\xa9\": 5, \"z\": 6,\n"
	"  \"tab\\there\\/\": 7,\n"
	"  \"x\": {\"}\": \"{\", \"y\": [\"[\", \"\\\"]\", 8]}\n"
	"}\n";

static void test_locate_escapes(void **state)
{
	pl_config_t *cfg;
	pl_cnode_t root, x, y;
	pl_err_t err = {""};
	long long v = 0;

	(void)state;
	locate_at(escapes_json, "s", 2, 3);
	locate_at(escapes_json, "t", 2, 22);
	locate_at(escapes_json, "q\"k", 3, 3);
	locate_at(escapes_json, "port", 4, 3);
	locate_at(escapes_json, "caf\xc3\xa9", 5, 3);
	locate_at(escapes_json, "\xf0\x9f\x98\x80", 5, 19);
	/* Columns count bytes: "été" is 5 bytes. */
	locate_at(escapes_json, "z", 6, 15);
	locate_at(escapes_json, "tab\there/", 7, 3);
	locate_at(escapes_json, "x.y", 8, 19);
	locate_at(escapes_json, "x.y[2]", 8, 37);
	/* A raw key is not its escaped spelling. */
	locate_at(escapes_json, "\\u0070ort", 1, 1);
	locate_at(escapes_json, "caf", 1, 1);

	/* The same positions come out of the getters. */
	cfg = parse_ok(escapes_json);
	root = pl_config_root(cfg);
	assert_int_equal(pl_cnode_object(&root, "x", 1, &x, &err), 0);
	assert_int_equal(pl_cnode_array(&x, "y", 1, &y, &err), 0);
	assert_int_equal(pl_cnode_bool(&x, "}", 0, (int[]){0}, &err), -1);
	assert_string_equal(err.msg, "t.json:8:9: x.}: expected true or false");
	assert_int_equal(pl_cnode_int(&root, "port", 0, 1, 0, &v, &err), -1);
	assert_string_equal(err.msg,
			    "t.json:4:3: port: expected an integer between 0 "
			    "and 1");
	pl_config_free(cfg);
}

static void test_locate_malformed(void **state)
{
	static const char *const bad[] = {
		"", "   ", "{", "{\"a\"", "{\"a\":", "{\"a\": \"unterminated",
		"{\"a\\", "{\"a\": [1, 2", "{\"a\" 1}",
		"{\"a\": 1 \"b\": 2}", "{\"a\": @}", "{1: 2}", "{\"a\": tru}",
	};
	size_t i;
	int l, c;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(pl_config_locate(bad[i], strlen(bad[i]), "b",
						  &l, &c), -1);
	/* Length bounds the scan, not a NUL. */
	assert_int_equal(pl_config_locate("{\"a\": 1}", 3, "a", &l, &c), -1);
	/* A key with a broken escape matches nothing but is skipped. */
	locate_at("{\"\\ud800\": 1, \"\\q\": 2, \"b\": 3}", "b", 1, 24);
	locate_at("{\"\\u12\": 1, \"b\": 2}", "b", 1, 13);
	locate_at("{\"a\": 1}", "\xff", 1, 1);
}

static void test_missing_defaults(void **state)
{
	pl_config_t *cfg;
	pl_cnode_t root, sec, arr;
	pl_err_t err = {""};
	long long v = 0;
	const char *s = NULL;
	int b = 5;

	(void)state;
	cfg = parse_ok("{\"sec\": {}}");
	root = pl_config_root(cfg);
	assert_int_equal(pl_cnode_object(&root, "sec", 0, &sec, &err), 0);
	assert_int_equal(pl_cnode_int(&sec, "n", 1, 10, 7, &v, &err), 0);
	assert_int_equal(v, 7);
	assert_int_equal(pl_cnode_bool(&sec, "b", 1, &b, &err), 0);
	assert_int_equal(b, 1);
	assert_int_equal(pl_cnode_str(&sec, "s", "dflt", &s, &err), 0);
	assert_string_equal(s, "dflt");
	assert_int_equal(pl_cnode_str(&sec, "s", NULL, &s, &err), 0);
	assert_null(s);

	/* An absent optional section reads as empty. */
	assert_int_equal(pl_cnode_object(&root, "none", 0, &sec, &err), 0);
	assert_null(sec.node);
	assert_string_equal(sec.path, "none");
	assert_int_equal(pl_cnode_int(&sec, "n", 1, 10, 3, &v, &err), 0);
	assert_int_equal(v, 3);
	assert_int_equal(pl_cnode_check_keys(&sec, (const char *const[]){NULL},
					     &err), 0);
	assert_int_equal(pl_cnode_array(&root, "list", 0, &arr, &err), 0);
	assert_null(arr.node);
	pl_config_free(cfg);
}

static void test_required_missing(void **state)
{
	static const char text[] =
		"{\n"
		"  \"services\": {\n"
		"    \"Mail\": {\n"
		"      \"enabled\": true\n"
		"    }\n"
		"  }\n"
		"}\n";
	pl_cnode_t root, services, mail, out;
	pl_config_t *cfg;
	pl_err_t err = {""};
	const char *s = "unchanged";

	(void)state;
	cfg = parse_ok(text);
	root = pl_config_root(cfg);
	assert_int_equal(pl_cnode_object(&root, "services", 1, &services, &err),
			 0);
	assert_int_equal(pl_cnode_object(&services, "Mail", 1, &mail, &err), 0);
	assert_int_equal(pl_cnode_str_req(&mail, "mailbox", &s, &err), -1);
	assert_null(s);
	assert_string_equal(err.msg, "t.json:3:13: services.Mail.mailbox: "
			    "required key is missing");
	assert_int_equal(pl_cnode_object(&services, "Badge", 1, &out, &err),
			 -1);
	assert_string_equal(err.msg, "t.json:2:15: services.Badge: required "
			    "key is missing");
	assert_int_equal(pl_cnode_array(&root, "printers", 1, &out, &err), -1);
	assert_string_equal(err.msg,
			    "t.json:1:1: printers: required key is missing");
	pl_config_free(cfg);
}

static const char types_json[] =
	"{\"i\": 1, \"r\": 5.0, \"s\": \"x\", \"t\": true, \"n\": null,\n"
	" \"o\": {}, \"a\": [\"p\", 2], \"neg\": -5, \"big\": 9223372036854775807}";

/* The getter on key fails with "t.json:L:C: key: want". */
static void type_error(pl_cnode_t *root, const char *key, int which,
		       const char *want)
{
	pl_err_t err = {""};
	long long v;
	const char *s;
	pl_cnode_t out;
	int b, r = 0;

	switch (which) {
	case 'i': r = pl_cnode_int(root, key, LLONG_MIN, LLONG_MAX, 0, &v,
				   &err); break;
	case 'b': r = pl_cnode_bool(root, key, 0, &b, &err); break;
	case 's': r = pl_cnode_str(root, key, NULL, &s, &err); break;
	case 'S': r = pl_cnode_str_req(root, key, &s, &err); break;
	case 'o': r = pl_cnode_object(root, key, 0, &out, &err); break;
	case 'a': r = pl_cnode_array(root, key, 0, &out, &err); break;
	}
	assert_int_equal(r, -1);
	assert_string_equal(err.msg, want);
}

static void test_wrong_types(void **state)
{
	pl_config_t *cfg;
	pl_cnode_t root, a, el;
	pl_err_t err = {""};
	const char *s = NULL;

	(void)state;
	cfg = parse_ok(types_json);
	root = pl_config_root(cfg);
	type_error(&root, "s", 'i', "t.json:1:20: s: expected an integer");
	type_error(&root, "r", 'i', "t.json:1:10: r: expected an integer");
	type_error(&root, "t", 'i', "t.json:1:30: t: expected an integer");
	type_error(&root, "n", 'i', "t.json:1:41: n: expected an integer");
	type_error(&root, "i", 'b', "t.json:1:2: i: expected true or false");
	type_error(&root, "s", 'b', "t.json:1:20: s: expected true or false");
	type_error(&root, "i", 's', "t.json:1:2: i: expected a string");
	type_error(&root, "n", 'S', "t.json:1:41: n: expected a string");
	type_error(&root, "a", 'o', "t.json:2:11: a: expected an object");
	type_error(&root, "o", 'a', "t.json:2:2: o: expected an array");

	/* Elements by index, checked with key NULL (the node itself). */
	assert_int_equal(pl_cnode_array(&root, "a", 1, &a, &err), 0);
	assert_int_equal(json_array_size(a.node), 2);
	pl_cnode_index(&a, 0, &el);
	assert_string_equal(el.path, "a[0]");
	assert_int_equal(pl_cnode_str(&el, NULL, NULL, &s, &err), 0);
	assert_string_equal(s, "p");
	pl_cnode_index(&a, 1, &el);
	type_error(&el, NULL, 's', "t.json:2:22: a[1]: expected a string");
	/* A getter with a key on a node that is not an object. */
	type_error(&el, "k", 'i', "t.json:2:22: a[1]: expected an object");
	pl_config_free(cfg);
}

static void test_int_ranges(void **state)
{
	pl_config_t *cfg;
	pl_cnode_t root;
	pl_err_t err = {""};
	long long v = 0;

	(void)state;
	cfg = parse_ok(types_json);
	root = pl_config_root(cfg);
	assert_int_equal(pl_cnode_int(&root, "i", 1, 1, 0, &v, &err), 0);
	assert_int_equal(v, 1);
	assert_int_equal(pl_cnode_int(&root, "i", 2, 3600, 0, &v, &err), -1);
	assert_string_equal(err.msg, "t.json:1:2: i: expected an integer "
			    "between 2 and 3600");
	assert_int_equal(pl_cnode_int(&root, "neg", -10, -5, 0, &v, &err), 0);
	assert_int_equal(v, -5);
	assert_int_equal(pl_cnode_int(&root, "neg", -4, 4, 0, &v, &err), -1);
	assert_string_equal(err.msg, "t.json:2:26: neg: expected an integer "
			    "between -4 and 4");
	assert_int_equal(pl_cnode_int(&root, "big", 0, LLONG_MAX, 0, &v, &err),
			 0);
	assert_true(v == LLONG_MAX);
	assert_int_equal(pl_cnode_int(&root, "big", 0, LLONG_MAX - 1, 0, &v,
				      &err), -1);
	/* The default is not range-checked: it is the caller's constant. */
	assert_int_equal(pl_cnode_int(&root, "missing", 1, 2, 99, &v, &err), 0);
	assert_int_equal(v, 99);
	pl_config_free(cfg);
	/* Too big for a long long: Jansson refuses it at parse time. */
	parse_fails("{\"a\": 99999999999999999999}",
		    "t.json:1:7: too big integer near '99999999999999999999'");
}

static void test_unknown_keys(void **state)
{
	static const char *const allowed[] = {"enabled", "port", "hold_hours",
					      NULL};
	pl_config_t *cfg;
	pl_cnode_t root, svc;
	pl_err_t err = {""};

	(void)state;
	cfg = parse_ok("{\"svc\": {\n"
		       "  \"enabled\": true,\n"
		       "  \"prot\": 1, \"port\": 2\n"
		       "}, \"ok\": {\"port\": 1}}");
	root = pl_config_root(cfg);
	assert_int_equal(pl_cnode_object(&root, "svc", 1, &svc, &err), 0);
	assert_int_equal(pl_cnode_check_keys(&svc, allowed, &err), -1);
	assert_string_equal(err.msg, "t.json:3:3: svc.prot: unknown key "
			    "(expected one of: enabled, port, hold_hours)");
	assert_int_equal(pl_cnode_object(&root, "ok", 1, &svc, &err), 0);
	assert_int_equal(pl_cnode_check_keys(&svc, allowed, &err), 0);
	assert_int_equal(pl_cnode_check_keys(&root,
					     (const char *const[]){"svc", NULL},
					     &err), -1);
	assert_string_equal(err.msg, "t.json:4:4: ok: unknown key (expected "
			    "one of: svc)");
	assert_int_equal(pl_cnode_check_keys(&svc, (const char *const[]){NULL},
					     &err), -1);
	assert_string_equal(err.msg, "t.json:4:11: ok.port: unknown key (no "
			    "keys allowed here)");
	pl_config_free(cfg);
}

static void test_parse_errors(void **state)
{
	(void)state;
	parse_fails("{\n  \"a\": 1,\n  \"a\": 2\n}",
		    "t.json:3:3: duplicate object key near '\"a\"'");
	parse_fails("{\n  \"a\": {\"b\": 1, \"b\": 1}\n}",
		    "t.json:2:17: duplicate object key near '\"b\"'");
	parse_fails("{\n  \"a\": 1,\n  \"b\": tru\n}",
		    "t.json:3:8: invalid token near 'tru'");
	parse_fails("{\"\xc3\xa9\": 1, x}",
		    "t.json:1:11: string or '}' expected near 'x'");
	parse_fails("{\"a\": 1,}",
		    "t.json:1:9: string or '}' expected near '}'");
	parse_fails("{\n  \"a\": 1,\n",
		    "t.json:3:1: string or '}' expected near end of file");
	parse_fails("{\"a\": 1} x",
		    "t.json:1:10: end of file expected near 'x'");
}

static void test_root_not_object(void **state)
{
	(void)state;
	parse_fails("[1, 2]",
		    "t.json:1:1: expected a JSON object at the top level");
	parse_fails("42", "t.json:1:1: expected a JSON object at the top level");
	parse_fails("\n\n  \"s\"\n",
		    "t.json:3:3: expected a JSON object at the top level");
	parse_fails("", "t.json:1:1: unexpected token near end of file");
}

static void test_file_errors(void **state)
{
	fixture_t *f = *state;
	char path[PATH_MAX * 2], want[PATH_MAX * 3];
	pl_err_t err = {""};

	snprintf(path, sizeof(path), "%s/nope.json", f->dir);
	assert_null(pl_config_load(path, &err));
	snprintf(want, sizeof(want), "%s: No such file or directory", path);
	assert_string_equal(err.msg, want);

	assert_null(pl_config_load(f->dir, &err));
	snprintf(want, sizeof(want), "%s: Is a directory", f->dir);
	assert_string_equal(err.msg, want);

	write_file(state, "bad.json", "{\n\"a\": [1,,]}", 13, path,
		   sizeof(path));
	assert_null(pl_config_load(path, &err));
	snprintf(want, sizeof(want), "%s:2:9: unexpected token near ','",
		 path);
	assert_string_equal(err.msg, want);
}

static void test_oversize(void **state)
{
	const size_t max = 4 * 1024 * 1024;
	char path[PATH_MAX * 2], want[PATH_MAX * 3];
	pl_config_t *cfg;
	pl_err_t err = {""};
	char *big;

	/* Exactly 4 MiB is accepted... */
	assert_non_null(big = malloc(max + 1));
	memset(big, ' ', max + 1);
	memcpy(big, "{\"a\": 1}", 8);
	write_file(state, "max.json", big, max, path, sizeof(path));
	cfg = pl_config_load(path, &err);
	assert_non_null(cfg);
	pl_config_free(cfg);

	/* ...one byte more is not. */
	write_file(state, "big.json", big, max + 1, path, sizeof(path));
	assert_null(pl_config_load(path, &err));
	snprintf(want, sizeof(want), "%s: file is too large (over 4 MiB)",
		 path);
	assert_string_equal(err.msg, want);
	assert_null(pl_config_parse("mem", big, max + 1, &err));
	assert_string_equal(err.msg, "mem: file is too large (over 4 MiB)");
	free(big);
}

static void test_error_without_position(void **state)
{
	pl_config_t *cfg;
	pl_cnode_t n;
	pl_err_t err = {""};
	long long v = 0;
	char longpath[400];

	(void)state;
	/* A service's section received over the channel: the text is only
	 * the section, so the full path cannot be found in it. */
	cfg = parse_ok("{\"poll_seconds\": \"x\"}");
	pl_cnode_make(&n, cfg, pl_config_json(cfg),
		      "services.PrinterLogicServiceEmail");
	assert_int_equal(pl_cnode_int(&n, "poll_seconds", 1, 60, 5, &v, &err),
			 -1);
	assert_string_equal(err.msg, "t.json: services.PrinterLogicServiceEmail"
			    ".poll_seconds: expected an integer");

	/* No config at all: just the path. */
	pl_cnode_make(&n, NULL, pl_config_json(cfg), "svc");
	assert_int_equal(pl_cnode_int(&n, "poll_seconds", 1, 60, 5, &v, &err),
			 -1);
	assert_string_equal(err.msg, "svc.poll_seconds: expected an integer");

	/* Path joining: empty path, NULL key, both. */
	n = pl_config_root(cfg);
	assert_int_equal(pl_cnode_error(&n, "k", &err, "m %d", 1), -1);
	assert_string_equal(err.msg, "t.json:1:1: k: m 1");
	assert_int_equal(pl_cnode_error(&n, NULL, &err, "whole"), -1);
	assert_string_equal(err.msg, "t.json:1:1: whole");
	pl_cnode_make(&n, cfg, pl_config_json(cfg), "poll_seconds");
	assert_int_equal(pl_cnode_error(&n, NULL, &err, "here"), -1);
	assert_string_equal(err.msg, "t.json:1:2: poll_seconds: here");
	assert_int_equal(pl_cnode_error(&n, NULL, NULL, "no err"), -1);

	/* A path too long to hold is cut visibly and not located. */
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = '\0';
	pl_cnode_make(&n, cfg, pl_config_json(cfg), longpath);
	assert_int_equal(strlen(n.path), PL_CPATH_MAX - 1);
	assert_string_equal(n.path + PL_CPATH_MAX - 4, "...");
	pl_config_free(cfg);
}

/* pl_parse_server: how a user writes the server of plsc-submit and of
 * the CUPS backend's plsc:// URI. (pl_util, tested here with the other
 * parsing of what users write.) */
static void test_parse_server(void **state)
{
	char host[64];
	int port;
	static const struct {
		const char *in, *host;
		int port;
	} good[] = {
		{ "print.example.org", "print.example.org", 31989 },
		{ "print.example.org:4000", "print.example.org", 4000 },
		{ "10.0.0.5:31989", "10.0.0.5", 31989 },
		{ "[::1]", "::1", 31989 },
		{ "[::1]:4000", "::1", 4000 },
		{ "[fe80::1%eth0]:5", "fe80::1%eth0", 5 },
		{ "2001:db8::7", "2001:db8::7", 31989 },
	};
	static const char *const bad[] = {
		"", ":4000", "host:", "host:0", "host:65536", "host:12x", "[::1", "[::1]x",
		"[]:4000", "[::1]:", "averyveryveryveryveryveryveryveryveryveryveryveryverylonghostname1",
	};
	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(pl_parse_server(good[i].in, 31989, host, sizeof(host), &port), 0);
		assert_string_equal(host, good[i].host);
		assert_int_equal(port, good[i].port);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (pl_parse_server(bad[i], 31989, host, sizeof(host), &port) == 0)
			fail_msg("accepted '%s'", bad[i]);
}

/* pl_tail_start: where plsc logs -n and the console's log tail begin. */
static void test_tail_start(void **state)
{
	char path[] = "/tmp/plsc-tail-XXXXXX";
	static const char text[] = "one\ntwo\nthree\nfour\n";
	const off_t end = (off_t)(sizeof(text) - 1);
	int fd = mkstemp(path);
	(void)state;
	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)(sizeof(text) - 1));
	assert_int_equal(pl_tail_start(fd, end, 0, 0), end);
	assert_int_equal(pl_tail_start(fd, end, 1, 0), 14); /* "four\n" */
	assert_int_equal(pl_tail_start(fd, end, 2, 0), 8);  /* "three\nfour\n" */
	assert_int_equal(pl_tail_start(fd, end, 4, 0), 0);
	assert_int_equal(pl_tail_start(fd, end, 99, 0), 0);
	/* a floor: no further back than it */
	assert_int_equal(pl_tail_start(fd, end, 99, 5), 5);
	assert_int_equal(pl_tail_start(fd, end, 1, 5), 14);
	/* a last line without its newline counts as a line */
	assert_int_equal(pl_tail_start(fd, end - 1, 1, 0), 14);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_example_message),
		cmocka_unit_test(test_locate_nested),
		cmocka_unit_test(test_locate_escapes),
		cmocka_unit_test(test_locate_malformed),
		cmocka_unit_test(test_missing_defaults),
		cmocka_unit_test(test_required_missing),
		cmocka_unit_test(test_wrong_types),
		cmocka_unit_test(test_int_ranges),
		cmocka_unit_test(test_unknown_keys),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_root_not_object),
		cmocka_unit_test(test_file_errors),
		cmocka_unit_test(test_oversize),
		cmocka_unit_test(test_error_without_position),
		cmocka_unit_test(test_parse_server),
		cmocka_unit_test(test_tail_start),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
