/* The off-network gateway's readers of strangers' requests
 * (services/offnetwork/gw-parse.c): the Authorization header, the status
 * query's path, the constant-time token comparison, JSON escaping. No
 * network: t91 runs the gateway itself. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../services/offnetwork/gw.h"

static void test_bearer(void **state)
{
	char tok[32];
	(void)state;
	assert_int_equal(gw_parse_bearer("Bearer plsc_ab_cd", tok, sizeof(tok)), 1);
	assert_string_equal(tok, "plsc_ab_cd");
	assert_int_equal(gw_parse_bearer("bearer   x", tok, sizeof(tok)), 1);
	assert_string_equal(tok, "x");
	assert_int_equal(gw_parse_bearer(NULL, tok, sizeof(tok)), 0);
	assert_int_equal(gw_parse_bearer("Basic Zm9vOmJhcg==", tok, sizeof(tok)), 0);
	assert_int_equal(gw_parse_bearer("Bearer ", tok, sizeof(tok)), 0);
	assert_int_equal(gw_parse_bearer("Bearer a b", tok, sizeof(tok)), 0);
	assert_int_equal(gw_parse_bearer("Bearer a\x01", tok, sizeof(tok)), 0);
	assert_int_equal(gw_parse_bearer("Bearerx", tok, sizeof(tok)), 0);
	/* a token that does not fit is refused, not cut */
	assert_int_equal(gw_parse_bearer("Bearer 0123456789012345678901234567890123456789",
					 tok, sizeof(tok)), 0);
}

static void test_path(void **state)
{
	char id[ON_ID_MAX + 1];
	(void)state;
	assert_int_equal(gw_parse_job_path("/v1/jobs/0123456789abcdef0123456789abcdef", id), 1);
	assert_string_equal(id, "0123456789abcdef0123456789abcdef");
	assert_int_equal(gw_parse_job_path("/v1/jobs/", id), 0);
	assert_int_equal(gw_parse_job_path("/v1/jobs/../x", id), 0);
	assert_int_equal(gw_parse_job_path("/v1/jobs/a/b", id), 0);
	assert_int_equal(gw_parse_job_path("/v2/jobs/a", id), 0);
	assert_int_equal(gw_parse_job_path("/v1/jobs/a?x=1", id), 0);
	assert_int_equal(gw_parse_job_path(NULL, id), 0);
	char longp[200] = "/v1/jobs/";
	memset(longp + 9, 'a', ON_ID_MAX + 1);
	assert_int_equal(gw_parse_job_path(longp, id), 0);
}

static void test_token_equal(void **state)
{
	(void)state;
	assert_true(gw_token_equal("site-token", "site-token"));
	assert_false(gw_token_equal("site-token", "site-tokeN"));
	assert_false(gw_token_equal("site-token", "site-token2"));
	assert_false(gw_token_equal("site-token", "site"));
	assert_false(gw_token_equal("", "x"));
	assert_true(gw_token_equal("", ""));
}

static void test_json(void **state)
{
	char out[64];
	(void)state;
	gw_json_escape(out, sizeof(out), "a \"b\" \\ c\n");
	assert_string_equal(out, "a \\\"b\\\" \\\\ c\\u000a");
	char small[10];
	gw_json_escape(small, sizeof(small), "\"\"\"\"\"\"");
	assert_true(strlen(small) < sizeof(small));
	assert_int_equal(strlen(small) % 2, 0); /* never half an escape */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bearer),
		cmocka_unit_test(test_path),
		cmocka_unit_test(test_token_equal),
		cmocka_unit_test(test_json),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
