/* PrinterLogicServiceSNMP's pure parts: what printers' values mean
 * (services/snmp/decode.c) and the alert hysteresis (alerts.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "alerts.h"
#include "decode.h"

#define MIB2 1, 3, 6, 1, 2, 1

static int feed_int(sd_state_t *s, const uint32_t *o, size_t n, int type, int64_t v)
{
	sd_vb_t vb = { o, n, type, v, NULL, 0 };
	return sd_feed(s, &vb);
}

static int feed_str(sd_state_t *s, const uint32_t *o, size_t n, const void *p, size_t len)
{
	sd_vb_t vb = { o, n, SD_T_STR, 0, p, len };
	return sd_feed(s, &vb);
}

static void supply(sd_state_t *s, uint32_t col, uint32_t idx, int64_t v)
{
	uint32_t o[] = { MIB2, 43, 11, 1, 1, col, 1, idx };
	assert_int_equal(feed_int(s, o, 13, SD_T_INT, v), 1);
}

static void t_error_bits(void **st)
{
	(void)st;
	sd_state_t s;
	uint32_t o[] = { MIB2, 25, 3, 5, 1, 2, 1 };
	char names[200];
	sd_init(&s);
	/* one octet: 0x80 lowPaper, 0x04 jammed */
	assert_int_equal(feed_str(&s, o, 12, "\x84", 1), 1);
	assert_int_equal(s.err_bits, SD_ERR_LOW_PAPER | SD_ERR_JAMMED);
	sd_err_names(s.err_bits, names, sizeof(names));
	assert_string_equal(names, "lowPaper,jammed");
	assert_string_equal(sd_state_word(&s), "error");
	/* two octets: second octet 0x80 inputTrayMissing; first 0x02 offline */
	assert_int_equal(feed_str(&s, o, 12, "\x02\x80", 2), 1);
	assert_int_equal(s.err_bits, SD_ERR_OFFLINE | SD_ERR_INPUT_MISSING);
	/* an integer where the octets belong */
	assert_int_equal(feed_int(&s, o, 12, SD_T_INT, 0x40), 1);
	assert_int_equal(s.err_bits, SD_ERR_NO_PAPER);
	/* empty string, wrong type: refused, the last good value stays */
	assert_int_equal(feed_str(&s, o, 12, "", 0), -1);
	assert_int_equal(feed_int(&s, o, 12, SD_T_OID, 0), -1);
	assert_int_equal(s.err_bits, SD_ERR_NO_PAPER);
	assert_int_equal(s.dropped, 2);
}

static void t_supplies(void **st)
{
	(void)st;
	sd_state_t s;
	sd_init(&s);
	/* toner: 800 of 10000 -> 8% */
	supply(&s, 4, 1, 3);
	supply(&s, 5, 1, 3);
	supply(&s, 8, 1, 10000);
	supply(&s, 9, 1, 800);
	/* waste toner (receptacle) 30 of 100 percent-unit -> 70% room */
	supply(&s, 4, 2, 4);
	supply(&s, 7, 2, 19);
	supply(&s, 8, 2, 100);
	supply(&s, 9, 2, 30);
	/* level -3 "some remaining": no percentage */
	supply(&s, 8, 3, 5000);
	supply(&s, 9, 3, -3);
	/* level above capacity: 100 */
	supply(&s, 8, 4, 100);
	supply(&s, 9, 4, 250);
	/* percent unit, capacity unknown (-2) */
	supply(&s, 7, 5, 19);
	supply(&s, 8, 5, -2);
	supply(&s, 9, 5, 42);
	/* a level as a decimal string is taken; garbage is not */
	uint32_t o6[] = { MIB2, 43, 11, 1, 1, 9, 1, 6 }, o8[] = { MIB2, 43, 11, 1, 1, 8, 1, 6 };
	assert_int_equal(feed_str(&s, o6, 13, "25", 2), 1);
	assert_int_equal(feed_int(&s, o8, 13, SD_T_GAUGE, 50), 1);
	assert_int_equal(feed_str(&s, o8, 13, "5x", 2), -1);
	/* a level below -3 is refused */
	uint32_t o7[] = { MIB2, 43, 11, 1, 1, 9, 1, 7 };
	assert_int_equal(feed_int(&s, o7, 13, SD_T_INT, -9), -1);
	sd_finish(&s);
	assert_int_equal(s.nsup, 6);
	assert_int_equal(s.sup[0].pct, 8);
	assert_int_equal(s.sup[1].pct, 70);
	assert_int_equal(s.sup[2].pct, -1);
	assert_int_equal(s.sup[2].level, SD_LEVEL_SOME);
	assert_int_equal(s.sup[3].pct, 100);
	assert_int_equal(s.sup[4].pct, 42);
	assert_int_equal(s.sup[5].pct, 50);
	json_t *j = sd_json(&s);
	json_t *s2 = json_array_get(json_object_get(j, "supplies"), 2);
	assert_string_equal(json_string_value(json_object_get(s2, "level_text")), "some remaining");
	assert_true(json_is_null(json_object_get(s2, "percent")));
	json_decref(j);
}

static void t_text(void **st)
{
	(void)st;
	char out[32];
	sd_text((const uint8_t *)"caf\xc3\xa9 ok\x00\x00  ", 12, out, sizeof(out));
	assert_string_equal(out, "caf\xc3\xa9 ok");
	/* not UTF-8: ISO 8859-1 */
	sd_text((const uint8_t *)"\xe9t\xe9\x01", 4, out, sizeof(out));
	assert_string_equal(out, "\xc3\xa9t\xc3\xa9?");
	/* cut at a character boundary */
	sd_text((const uint8_t *)"\xe9\xe9\xe9", 3, out, 6);
	assert_string_equal(out, "\xc3\xa9\xc3\xa9");
}

static void t_scalars(void **st)
{
	(void)st;
	sd_state_t s;
	uint32_t up[] = { MIB2, 1, 3, 0 }, dev[] = { MIB2, 25, 3, 2, 1, 5, 1 },
		 prt[] = { MIB2, 25, 3, 5, 1, 1, 1 }, pages[] = { MIB2, 43, 10, 2, 1, 4, 1, 1 },
		 other[] = { 1, 3, 6, 1, 4, 1, 11 };
	sd_init(&s);
	assert_int_equal(feed_int(&s, up, 9, SD_T_TICKS, 12345), 1);
	assert_int_equal(feed_int(&s, dev, 12, SD_T_INT, 9), -1); /* out of range */
	assert_int_equal(feed_int(&s, dev, 12, SD_T_INT, 2), 1);
	assert_int_equal(feed_int(&s, prt, 12, SD_T_INT, 4), 1);
	assert_int_equal(feed_int(&s, pages, 13, SD_T_COUNTER, 48213), 1);
	assert_int_equal(feed_int(&s, other, 7, SD_T_INT, 1), 0);
	assert_int_equal(feed_int(&s, pages, 13, SD_T_NOSUCH, 0), 0);
	assert_int_equal(s.pages, 48213);
	assert_string_equal(sd_state_word(&s), "printing");
	assert_true(sd_in_column(5, (const uint32_t[]){ MIB2, 43, 11, 1, 1, 9, 1, 1 }, 13));
	assert_false(sd_in_column(5, (const uint32_t[]){ MIB2, 43, 11, 1, 1, 10, 1, 1 }, 13));
}

static void t_hysteresis(void **st)
{
	(void)st;
	sa_printer_t p;
	sa_obs_t jam = { { 0, 1, 0, 0, 0 } }, clear = { { 0, 0, 0, 0, 0 } },
		 unknown = { { -1, -1, -1, -1, -1 } };
	unsigned up, down;
	memset(&p, 0, sizeof(p));
	sa_update(&p, &jam, 3, &up, &down);
	sa_update(&p, &jam, 3, &up, &down);
	assert_int_equal(up, 0);
	sa_update(&p, &unknown, 3, &up, &down); /* cannot tell: no change, no reset */
	assert_int_equal(up, 0);
	sa_update(&p, &jam, 3, &up, &down);
	assert_int_equal(up, 1u << SA_JAM);
	assert_int_equal(p.active[SA_JAM], 1);
	/* a flap does not clear it: the streak starts over */
	sa_update(&p, &clear, 3, &up, &down);
	sa_update(&p, &jam, 3, &up, &down);
	sa_update(&p, &clear, 3, &up, &down);
	sa_update(&p, &clear, 3, &up, &down);
	assert_int_equal(down, 0);
	sa_update(&p, &clear, 3, &up, &down);
	assert_int_equal(down, 1u << SA_JAM);
	assert_string_equal(sa_name(SA_LOW_TONER), "low-toner");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_error_bits), cmocka_unit_test(t_supplies),
		cmocka_unit_test(t_text),	cmocka_unit_test(t_scalars),
		cmocka_unit_test(t_hysteresis),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
