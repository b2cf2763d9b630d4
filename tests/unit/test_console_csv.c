/* The console's CSV exports (console/csv.c): RFC 4180 quoting and the
 * formula-injection guard. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../console/csv.h"

/* One row of the given cells, as text (freed by the caller). */
static char *row(const char *const *cells, size_t n)
{
	cs_csv_t c = { 0 };
	size_t len;
	for (size_t i = 0; i < n; i++)
		cs_csv_cell(&c, cells[i]);
	cs_csv_row_end(&c);
	char *t = cs_csv_take(&c, &len);
	assert_non_null(t);
	assert_int_equal(len, strlen(t));
	return t;
}

#define ROW(want, ...)                                                           \
	do {                                                                      \
		const char *const cells_[] = { __VA_ARGS__ };                     \
		char *t_ = row(cells_, sizeof(cells_) / sizeof(cells_[0]));        \
		assert_string_equal(t_, want);                                    \
		free(t_);                                                         \
	} while (0)

static void test_quoting(void **state)
{
	(void)state;
	ROW("a,b,c\r\n", "a", "b", "c");
	ROW(",,\r\n", "", NULL, "");
	ROW("\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",\"cr\rhere\"\r\n", "a,b", "say \"hi\"",
	    "two\nlines", "cr\rhere");
	ROW("\" padded \",in side\r\n", " padded ", "in side");
	ROW("\"\"\"\"\r\n", "\"");
	ROW("caf\xc3\xa9\r\n", "caf\xc3\xa9");
}

static void test_formula_guard(void **state)
{
	(void)state;
	ROW("'=1+2,'+1,'-1,'@SUM(A1),'\tx,a=b\r\n", "=1+2", "+1", "-1", "@SUM(A1)", "\tx", "a=b");
	/* Quoted and guarded: the quote goes outside, the ' inside. */
	ROW("\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"\r\n", "=HYPERLINK(\"http://x\",\"y\")");
	ROW("\"'\rx\"\r\n", "\rx");
}

static void test_json_cells(void **state)
{
	(void)state;
	cs_csv_t c = { 0 };
	size_t len;
	json_t *j = json_pack("{s:s,s:I,s:n,s:b,s:[ss],s:[i],s:{s:i}}", "s", "-x", "i",
			      (json_int_t)-5, "n", "t", 1, "a", "x", "y", "ai", 3, "o", "k", 1);
	const char *keys[] = { "s", "i", "n", "t", "a", "ai", "o", "missing" };
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		cs_csv_json(&c, json_object_get(j, keys[i]));
	cs_csv_row_end(&c);
	char *t = cs_csv_take(&c, &len);
	assert_string_equal(t, "'-x,'-5,,true,x y,[3],\"{\"\"k\"\":1}\",\r\n");
	free(t);
	json_decref(j);
}

static void test_empty_and_large(void **state)
{
	(void)state;
	cs_csv_t c = { 0 };
	size_t len = 99;
	char *t = cs_csv_take(&c, &len);
	assert_non_null(t);
	assert_int_equal(len, 0);
	assert_string_equal(t, "");
	free(t);
	for (int i = 0; i < 100000; i++) {
		cs_csv_cell(&c, "0123456789");
		cs_csv_row_end(&c);
	}
	t = cs_csv_take(&c, &len);
	assert_non_null(t);
	assert_int_equal(len, 100000 * 12);
	free(t);
	cs_csv_cell(&c, "x");
	cs_csv_free(&c);
	assert_null(c.p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_quoting),
		cmocka_unit_test(test_formula_guard),
		cmocka_unit_test(test_json_cells),
		cmocka_unit_test(test_empty_and_large),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
