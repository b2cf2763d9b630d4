/* pl_prstatus_offline: when refuse_offline_printers refuses a release.
 * Only a fresh "offline" or "unreachable" poll refuses; no-snmp, unknown,
 * stale, future and malformed rows let the printer be tried. Times are
 * given, not read: no clock in this test. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "pl_prstatus.h"

#define NOW 1800000000000LL

static json_t *row(const char *state, int64_t polled_ms, int interval_s, const char *errs)
{
	json_t *r = json_pack("{s:s,s:s,s:I,s:i}", "printer", "Lobby", "state", state,
			      "polled_ms", (json_int_t)polled_ms, "interval_s", interval_s);
	if (errs)
		json_object_set_new(r, "snmp", json_pack("{s:s,s:o}", "state", state, "errors",
							 json_loads(errs, 0, NULL)));
	return r;
}

static int refuses(json_t *r, char *msg, size_t size)
{
	int rc = pl_prstatus_offline(r, "Lobby", NOW, msg, size);
	json_decref(r);
	return rc;
}

static void t_offline_fresh(void **state)
{
	(void)state;
	char msg[300] = "";
	assert_int_equal(refuses(row("offline", NOW - 20000, 60, "[\"jammed\",\"offline\"]"), msg,
				 sizeof(msg)), 1);
	assert_string_equal(msg, "Lobby is offline (SNMP, polled 20 s ago: jammed/offline): "
				 "not released; the job stays held");
	/* hrDeviceStatus down with no error bits */
	assert_int_equal(refuses(row("offline", NOW - 1000, 60, "[]"), msg, sizeof(msg)), 1);
	assert_non_null(strstr(msg, "polled 1 s ago: device down)"));
	/* answered once, silent now */
	assert_int_equal(refuses(row("unreachable", NOW, 60, NULL), msg, sizeof(msg)), 1);
	assert_non_null(strstr(msg, "polled 0 s ago: no answer)"));
}

/* "error" is the column's word for a jammed printer even when it is also
 * offline: the offline bit or a device that is down still refuses. */
static void t_error_and_offline(void **state)
{
	(void)state;
	char msg[300] = "";
	json_t *r = row("error", NOW - 3000, 60, "[\"jammed\",\"offline\"]");
	json_object_set_new(r, "reachable", json_true());
	assert_int_equal(refuses(r, msg, sizeof(msg)), 1);
	assert_non_null(strstr(msg, "polled 3 s ago: jammed/offline)"));
	r = row("error", NOW - 3000, 60, "[\"noPaper\"]");
	json_object_set_new(r, "reachable", json_true());
	json_object_set_new(json_object_get(r, "snmp"), "device_status", json_string("down"));
	assert_int_equal(refuses(r, msg, sizeof(msg)), 1);
	/* jammed only: the printer is on, a person can clear it */
	r = row("error", NOW - 3000, 60, "[\"jammed\"]");
	json_object_set_new(r, "reachable", json_true());
	assert_int_equal(refuses(r, msg, sizeof(msg)), 0);
	/* not answered: the bits are not this poll's */
	r = row("error", NOW - 3000, 60, "[\"offline\"]");
	json_object_set_new(r, "reachable", json_false());
	assert_int_equal(refuses(r, msg, sizeof(msg)), 0);
}

static void t_not_definite(void **state)
{
	(void)state;
	char msg[300] = "";
	static const char *const tried[] = { "no-snmp", "unknown", "snmp-off", "auth-failed",
					     "snmp-error", "error", "warning", "idle", "" };
	for (size_t i = 0; i < sizeof(tried) / sizeof(tried[0]); i++)
		assert_int_equal(refuses(row(tried[i], NOW - 1000, 60, "[\"offline\"]"), msg,
					 sizeof(msg)), 0);
	assert_int_equal(pl_prstatus_offline(NULL, "Lobby", NOW, msg, sizeof(msg)), 0);
}

static void t_freshness(void **state)
{
	(void)state;
	char msg[300];
	/* three intervals */
	assert_int_equal(refuses(row("offline", NOW - 180000, 60, "[]"), msg, sizeof(msg)), 1);
	assert_int_equal(refuses(row("offline", NOW - 180001, 60, "[]"), msg, sizeof(msg)), 0);
	/* never less than PL_PRSTATUS_FRESH_MIN_MS */
	assert_int_equal(refuses(row("offline", NOW - PL_PRSTATUS_FRESH_MIN_MS, 1, "[]"), msg,
				 sizeof(msg)), 1);
	assert_int_equal(refuses(row("offline", NOW - PL_PRSTATUS_FRESH_MIN_MS - 1, 1, "[]"),
				 msg, sizeof(msg)), 0);
	/* a poll from the future (a clock step): not trusted */
	assert_int_equal(refuses(row("offline", NOW + 5000, 60, "[]"), msg, sizeof(msg)), 0);
	/* a little skew is fine, and not shown as a negative age */
	assert_int_equal(refuses(row("offline", NOW + 500, 60, "[]"), msg, sizeof(msg)), 1);
	assert_non_null(strstr(msg, "polled 0 s ago"));
}

static void t_malformed(void **state)
{
	(void)state;
	char msg[300];
	json_t *row_keep;
	json_t *r = row("offline", NOW, 60, "[]");
	json_object_del(r, "interval_s"); /* an off_row: no interval */
	assert_int_equal(refuses(r, msg, sizeof(msg)), 0);
	r = row("offline", NOW, 60, "[]");
	json_object_set_new(r, "polled_ms", json_string("now"));
	assert_int_equal(refuses(r, msg, sizeof(msg)), 0);
	assert_int_equal(refuses(row("offline", NOW, 0, "[]"), msg, sizeof(msg)), 0);
	/* times that would overflow the age (found by fuzz_prstatus_row) */
	assert_int_equal(refuses(row("offline", INT64_MIN, 60, "[]"), msg, sizeof(msg)), 0);
	assert_int_equal(refuses(row("offline", -1, 60, "[]"), msg, sizeof(msg)), 0);
	assert_int_equal(refuses(row("offline", INT64_MAX, 60, "[]"), msg, sizeof(msg)), 0);
	assert_int_equal(pl_prstatus_offline(row_keep = row("offline", 5, 60, "[]"), "Lobby",
					     INT64_MIN, msg, sizeof(msg)), 0);
	json_decref(row_keep);
	r = row("offline", NOW, 60, "[1, null, \"jammed\"]"); /* odd names skipped */
	assert_int_equal(refuses(r, msg, sizeof(msg)), 1);
	assert_non_null(strstr(msg, "ago: jammed)"));
	/* a small buffer: truncated, terminated */
	char small[16];
	assert_int_equal(refuses(row("offline", NOW, 60, "[]"), small, sizeof(small)), 1);
	assert_true(strlen(small) < sizeof(small));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_offline_fresh),
		cmocka_unit_test(t_error_and_offline),
		cmocka_unit_test(t_not_definite),
		cmocka_unit_test(t_freshness),
		cmocka_unit_test(t_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
