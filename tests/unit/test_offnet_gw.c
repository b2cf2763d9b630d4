/* The off-network gateway's readers of strangers' requests
 * (services/offnetwork/gw-parse.c): the Authorization header, the status
 * query's path, the constant-time token comparison, JSON escaping. No
 * network: t91 runs the gateway itself. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../services/offnetwork/gw.h"
#include "pl_util.h"

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

/* ---- the outcomes record (gw-outcomes.c) ---- */

#define DAY (86400ll * 1000)
#define NOW (1800000000000ll)

static void mkdir_tmp(char *dir, size_t n)
{
	snprintf(dir, n, "/tmp/test_offnet_gw.XXXXXX");
	assert_non_null(mkdtemp(dir));
}

static void rm_dir(const char *dir)
{
	char p[300];
	snprintf(p, sizeof(p), "%s/outcomes", dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/outcomes.tmp", dir);
	rmdir(p); /* a test makes it a directory */
	unlink(p);
	rmdir(dir);
}

static void put(gw_oc_t *oc, int id, const char *event, int64_t at)
{
	gw_outcome_t o;
	pl_err_t err;
	memset(&o, 0, sizeof(o));
	snprintf(o.id, sizeof(o.id), "%032x", id);
	pl_strlcpy(o.workstation, "ws\tone", sizeof(o.workstation));
	pl_strlcpy(o.event, event, sizeof(o.event));
	pl_strlcpy(o.reason, "why\nnot", sizeof(o.reason));
	o.at_ms = at;
	assert_int_equal(gw_oc_append(oc, &o, 0, &err), 0);
}

static const char *state_of(const gw_oc_t *oc, int id)
{
	char s[PL_JOB_ID_LEN + 1];
	snprintf(s, sizeof(s), "%032x", id);
	const gw_outcome_t *o = gw_oc_find(oc, s);
	return o ? o->event : "";
}

static size_t file_lines(const char *dir)
{
	char p[300], line[800];
	size_t n = 0;
	snprintf(p, sizeof(p), "%s/outcomes", dir);
	FILE *f = fopen(p, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		n++;
	fclose(f);
	return n;
}

static int needed_7(void *arg, const char *id)
{
	char s[PL_JOB_ID_LEN + 1];
	(void)arg;
	snprintf(s, sizeof(s), "%032x", 7);
	return strcmp(id, s) == 0;
}

/* One line an outcome, fields cleaned; the newest line of an id is its
 * state; compaction keeps each id's newest line, the newest `keep` ids,
 * up to `keep` more that are not final, those still needed whatever
 * their age, none past the age limit; the file and memory agree, also
 * after reopening. */
static void test_outcomes_compact(void **state)
{
	char dir[64];
	gw_oc_t oc;
	pl_err_t err;
	(void)state;
	mkdir_tmp(dir, sizeof(dir));
	assert_int_equal(gw_oc_open(&oc, dir, 3, 10 * DAY, NOW, &err), 0);
	put(&oc, 7, "offered", NOW - 20 * DAY); /* old, but its job is stored */
	put(&oc, 1, "offered", NOW - 2 * DAY);
	put(&oc, 1, "held", NOW - 2 * DAY);	/* not final */
	put(&oc, 2, "expired", NOW - 11 * DAY); /* past the age limit */
	put(&oc, 3, "printed", NOW - DAY);
	put(&oc, 4, "offered", NOW - DAY);
	put(&oc, 4, "printed", NOW - DAY);
	assert_int_equal(gw_oc_due(&oc, NOW), 1); /* 7 lines > 2 x 3 */
	assert_string_equal(state_of(&oc, 1), "held");
	put(&oc, 5, "printed", NOW);
	put(&oc, 6, "failed", NOW);
	long dropped = gw_oc_compact(&oc, NOW, needed_7, NULL, &err);
	/* kept: 6, 5, 4 (the newest three), 1 (held: not final), 7 (needed) */
	assert_int_equal(dropped, 9 - 5);
	assert_int_equal(oc.n, 5);
	assert_int_equal(file_lines(dir), 5);
	assert_string_equal(state_of(&oc, 1), "held");
	assert_string_equal(state_of(&oc, 2), "");
	assert_string_equal(state_of(&oc, 3), "");
	assert_string_equal(state_of(&oc, 4), "printed");
	assert_string_equal(state_of(&oc, 7), "offered");
	assert_int_equal(gw_oc_due(&oc, NOW), 0);
	/* appends go to the new file */
	put(&oc, 8, "printed", NOW);
	gw_oc_close(&oc);
	assert_int_equal(gw_oc_open(&oc, dir, 3, 10 * DAY, NOW, &err), 0);
	assert_int_equal(oc.n, 6);
	assert_string_equal(state_of(&oc, 8), "printed");
	assert_string_equal(state_of(&oc, 6), "failed");
	const gw_outcome_t *o = gw_oc_find(&oc, "00000000000000000000000000000008");
	assert_non_null(o);
	assert_string_equal(o->workstation, "ws one");
	assert_string_equal(o->reason, "why not");
	assert_int_equal(o->at_ms, NOW);
	gw_oc_close(&oc);
	rm_dir(dir);
}

static int needed_all(void *arg, const char *id)
{
	(void)arg;
	(void)id;
	return 1;
}

/* Lines of stored jobs outlive keep; the next compaction waits for twice
 * what this one kept, so that they are not rewritten at every append. */
static void test_outcomes_needed(void **state)
{
	char dir[64];
	gw_oc_t oc;
	pl_err_t err;
	(void)state;
	mkdir_tmp(dir, sizeof(dir));
	assert_int_equal(gw_oc_open(&oc, dir, 1, 0, NOW, &err), 0);
	for (int i = 10; i < 16; i++)
		put(&oc, i, "offered", NOW - 400 * DAY);
	assert_int_equal(gw_oc_due(&oc, NOW), 1);
	assert_int_equal(gw_oc_compact(&oc, NOW, needed_all, NULL, &err), 0);
	assert_int_equal(oc.n, 6);
	put(&oc, 16, "printed", NOW);
	assert_int_equal(gw_oc_due(&oc, NOW), 0); /* no age limit; 7 <= 2 x 6 */
	for (int i = 17; i < 22; i++)
		put(&oc, i, "printed", NOW);
	assert_int_equal(gw_oc_due(&oc, NOW), 0); /* 12 */
	put(&oc, 22, "printed", NOW);
	assert_int_equal(gw_oc_due(&oc, NOW), 1); /* 13 */
	gw_oc_close(&oc);
	rm_dir(dir);
}

/* A compaction the last run did not finish (a leftover outcomes.tmp) is
 * removed at open and the old file is the record; a compaction that
 * cannot write its temp file leaves the old file whole and in use; lines
 * written before the time field age from the open. */
static void test_outcomes_atomic(void **state)
{
	char dir[64], p[300];
	gw_oc_t oc;
	pl_err_t err;
	(void)state;
	mkdir_tmp(dir, sizeof(dir));
	snprintf(p, sizeof(p), "%s/outcomes", dir);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fprintf(f, "%032x\tws\tprinted\t\n", 1);		    /* the first format */
	fprintf(f, "%032x\tws\theld\tat P1\t4294967297\n", 2); /* with a seq */
	fprintf(f, "short\tws\tprinted\t\n");		    /* not an id: skipped */
	fclose(f);
	snprintf(p, sizeof(p), "%s/outcomes.tmp", dir);
	f = fopen(p, "w");
	assert_non_null(f);
	fprintf(f, "half a compaction");
	fclose(f);
	assert_int_equal(gw_oc_open(&oc, dir, 1, DAY, NOW, &err), 0);
	assert_int_equal(access(p, F_OK), -1);
	assert_int_equal(oc.n, 2);
	assert_string_equal(state_of(&oc, 1), "printed");
	assert_int_equal(gw_oc_find(&oc, "00000000000000000000000000000002")->seq, 4294967297ull);
	assert_int_equal(oc.out[0].at_ms, NOW);
	/* the temp file cannot be made: the compaction fails, nothing lost */
	assert_int_equal(mkdir(p, 0700), 0);
	put(&oc, 3, "printed", NOW);
	assert_int_equal(gw_oc_due(&oc, NOW), 1);
	assert_true(gw_oc_compact(&oc, NOW, NULL, NULL, &err) < 0);
	assert_non_null(strstr(err.msg, "outcomes.tmp"));
	assert_int_equal(file_lines(dir), 4);
	assert_int_equal(oc.n, 3);
	put(&oc, 4, "printed", NOW);
	assert_int_equal(file_lines(dir), 5);
	assert_int_equal(rmdir(p), 0);
	/* and works once it can: keep 1, plus one more not final (2, held) */
	assert_int_equal(gw_oc_compact(&oc, NOW, NULL, NULL, &err), 2);
	assert_int_equal(file_lines(dir), 2);
	assert_string_equal(state_of(&oc, 4), "printed");
	assert_string_equal(state_of(&oc, 2), "held");
	/* the age limit: a day later everything goes, and not more often
	 * than hourly on age alone */
	assert_int_equal(gw_oc_due(&oc, NOW + DAY + 1), 1);
	assert_int_equal(gw_oc_compact(&oc, NOW + DAY + 1, NULL, NULL, &err), 2);
	assert_int_equal(file_lines(dir), 0);
	gw_oc_close(&oc);
	rm_dir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bearer),
		cmocka_unit_test(test_path),
		cmocka_unit_test(test_token_equal),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_outcomes_compact),
		cmocka_unit_test(test_outcomes_needed),
		cmocka_unit_test(test_outcomes_atomic),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
