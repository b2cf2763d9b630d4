/* pl_schema: checking a service's section against its declared keys, the
 * accessors the services read it with, and the real tables (pl_schemas). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pl_schema.h"
#include "pl_schemas.h"

static const pl_skey_t shared_keys[] = {
	{ "workers", PL_SK_INT, 1, 64, 32, NULL, NULL, "threads" },
	PL_SCHEMA_END,
};
static const pl_schema_t shared = { "(shared)", shared_keys, NULL };

static const pl_skey_t own_keys[] = {
	{ "max_clients", PL_SK_INT, 1, 100000, 256, NULL, NULL, "clients" },
	{ "titles", PL_SK_BOOL, 0, 1, 1, NULL, NULL, "report titles" },
	{ "name", PL_SK_STRING, 0, 0, 0, "x", NULL, "a name" },
	{ "cert", PL_SK_PATH, 0, 0, 0, NULL, "key", "certificate" },
	{ "key", PL_SK_PATH, 0, 0, 0, NULL, "cert", "its key" },
	{ "extra", PL_SK_OBJECT, 0, 0, 0, NULL, NULL, "checked by the service" },
	{ "list", PL_SK_ARRAY, 0, 0, 0, NULL, NULL, "likewise" },
	PL_SCHEMA_END,
};
static const pl_schema_t svc = { "Svc", own_keys, &shared };

/* Parse text as the section services.Svc of file "f.json", whose first
 * line is {"services": {"Svc": (so the section's first key is on line 1,
 * column 23); check() returns the message, or "" when it passed. */
static pl_config_t *section(const char *text, pl_cnode_t *n)
{
	pl_err_t err;
	pl_cnode_t root, svcs;
	char doc[1024];
	snprintf(doc, sizeof(doc), "{\"services\": {\"Svc\": %s}}", text);
	pl_config_t *cfg = pl_config_parse("f.json", doc, strlen(doc), &err);
	assert_non_null(cfg);
	root = pl_config_root(cfg);
	assert_int_equal(pl_cnode_object(&root, "services", 1, &svcs, &err), 0);
	assert_int_equal(pl_cnode_object(&svcs, "Svc", 1, n, &err), 0);
	return cfg;
}

static const char *check(const char *text, char *msg, size_t sz)
{
	pl_cnode_t n;
	pl_err_t err;
	pl_config_t *cfg = section(text, &n);
	msg[0] = '\0';
	if (pl_schema_check(&svc, &n, &err) < 0)
		snprintf(msg, sz, "%s", err.msg);
	pl_config_free(cfg);
	return msg;
}

static void test_good_section(void **state)
{
	char m[PL_ERR_MAX];
	(void)state;
	assert_string_equal(check("{}", m, sizeof(m)), "");
	assert_string_equal(check("{\"max_clients\": 1, \"titles\": false, \"name\": \"n\",\n"
				  " \"cert\": \"/c\", \"key\": \"/k\", \"extra\": {\"a\": 1},\n"
				  " \"list\": [1], \"workers\": 64}", m, sizeof(m)), "");
}

static void test_supervisor_keys_pass(void **state)
{
	char m[PL_ERR_MAX];
	(void)state;
	/* The supervisor checks these itself; the schema lets them through. */
	assert_string_equal(check("{\"enabled\": true, \"path\": \"/bin/x\", \"user\": \"u\",\n"
				  " \"log_level\": \"debug\", \"listen\": {}}", m, sizeof(m)), "");
	assert_true(pl_schema_is_supervisor_key("listen"));
	assert_false(pl_schema_is_supervisor_key("max_clients"));
}

static void test_unknown_key(void **state)
{
	char m[PL_ERR_MAX];
	(void)state;
	/* A near miss names the key meant, an included one too. */
	assert_string_equal(check("{\n  \"max_client\": 3\n}", m, sizeof(m)),
		"f.json:2:3: services.Svc.max_client: unknown key (did you mean max_clients?)");
	assert_string_equal(check("{\"worker\": 3}", m, sizeof(m)),
		"f.json:1:23: services.Svc.worker: unknown key (did you mean workers?)");
	/* Anything else lists what is allowed. */
	assert_string_equal(check("{\"colour\": \"red\"}", m, sizeof(m)),
		"f.json:1:23: services.Svc.colour: unknown key (expected one of: max_clients, "
		"titles, name, cert, key, extra, list, workers)");
}

static void test_bad_values(void **state)
{
	char m[PL_ERR_MAX];
	(void)state;
	assert_string_equal(check("{\"max_clients\": 0}", m, sizeof(m)),
		"f.json:1:23: services.Svc.max_clients: expected an integer between 1 and 100000");
	assert_string_equal(check("{\"workers\": \"many\"}", m, sizeof(m)),
		"f.json:1:23: services.Svc.workers: expected an integer");
	assert_non_null(strstr(check("{\"titles\": 1}", m, sizeof(m)),
			       "services.Svc.titles: expected true or false"));
	assert_non_null(strstr(check("{\"name\": 5}", m, sizeof(m)),
			       "services.Svc.name: expected a string"));
	assert_non_null(strstr(check("{\"cert\": \"c.pem\", \"key\": \"/k\"}", m, sizeof(m)),
			       "services.Svc.cert: expected an absolute path"));
	assert_non_null(strstr(check("{\"extra\": []}", m, sizeof(m)),
			       "services.Svc.extra: expected an object"));
	assert_non_null(strstr(check("{\"list\": {}}", m, sizeof(m)),
			       "services.Svc.list: expected an array"));
	assert_non_null(strstr(check("{\"key\": \"/k\"}", m, sizeof(m)),
			       "services.Svc.key: needs cert too"));
}

static void test_accessors(void **state)
{
	pl_cnode_t n;
	pl_err_t err;
	long long v;
	int b;
	const char *s;
	(void)state;
	pl_config_t *cfg = section("{\"max_clients\": 7, \"titles\": false}", &n);
	assert_int_equal(pl_schema_int(&svc, &n, "max_clients", &v, &err), 0);
	assert_int_equal(v, 7);
	assert_int_equal(pl_schema_int(&svc, &n, "workers", &v, &err), 0);
	assert_int_equal(v, 32); /* the declared default, from the include */
	assert_int_equal(pl_schema_bool(&svc, &n, "titles", &b, &err), 0);
	assert_int_equal(b, 0);
	assert_int_equal(pl_schema_str(&svc, &n, "name", &s, &err), 0);
	assert_string_equal(s, "x");
	assert_int_equal(pl_schema_str(&svc, &n, "cert", &s, &err), 0);
	assert_null(s); /* no default: the service decides */
	/* A key the schema does not declare, or with another type: a bug. */
	assert_int_equal(pl_schema_int(&svc, &n, "colour", &v, &err), -1);
	assert_non_null(strstr(err.msg, "not declared"));
	assert_int_equal(pl_schema_int(&svc, &n, "titles", &v, &err), -1);
	pl_config_free(cfg);

	/* An absent section reads as defaults and checks fine. */
	pl_cnode_make(&n, NULL, NULL, "services.Svc");
	assert_int_equal(pl_schema_check(&svc, &n, &err), 0);
	assert_int_equal(pl_schema_int(&svc, &n, "max_clients", &v, &err), 0);
	assert_int_equal(v, 256);
}

/* The real tables: known names, unique keys, defaults in range, help. */
static void test_real_tables(void **state)
{
	static const char *const names[] = {
		"PrinterLogicServiceOfflinePrint", "PrinterLogicServiceSimpleBadgeRelease",
		"plsc-console", "plsc-directory", "PrinterLogicServiceEmail",
		"PrinterLogicServiceAirprint", "PrinterLogicServiceIdentitySync",
		"PrinterLogicServiceSNMP", "PrinterLogicServiceOffNetworkServer",
	};
	(void)state;
	assert_null(pl_schemas_for("plsc-testsvc"));
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const pl_schema_t *s = pl_schemas_for(names[i]);
		assert_non_null(s);
		for (const pl_schema_t *p = s; p; p = p->include) {
			for (const pl_skey_t *k = p->keys; k->key; k++) {
				assert_false(pl_schema_is_supervisor_key(k->key));
				assert_ptr_equal(pl_schema_find(s, k->key), k);
				assert_non_null(k->help);
				if (k->type == PL_SK_INT)
					assert_true(k->min <= k->def_int && k->def_int <= k->max);
				if (k->needs)
					assert_non_null(pl_schema_find(s, k->needs));
			}
		}
	}
	assert_non_null(pl_schema_find(&pl_schema_offlineprint, "expiry_hours"));
	char buf[4096] = "";
	FILE *f = fmemopen(buf, sizeof(buf) - 1, "w");
	assert_non_null(f);
	pl_schema_help(&pl_schema_offlineprint, f);
	fclose(f);
	assert_non_null(strstr(buf, "max_clients              256"));
	assert_non_null(strstr(buf, "expiry_hours             24"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_section),
		cmocka_unit_test(test_supervisor_keys_pass),
		cmocka_unit_test(test_unknown_key),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_accessors),
		cmocka_unit_test(test_real_tables),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
