// fuzz-sources: services/snmp/decode.c services/snmp/alerts.c
/* libFuzzer target: what PrinterLogicServiceSNMP makes of the values a
 * printer returned (services/snmp/decode.c): the error-state bitmask,
 * the supplies table (levels, units, classes), the alert table, text in
 * any charset, and values of the wrong type; then the alert hysteresis.
 *
 * Input: records [type u8][oid length u8][one byte a sub-id][value length
 * u8][value bytes]: a string's bytes, or a number's (big-endian, signed,
 * at most 8). A sub-id byte 0xff stands for 1.3.6.1.2.1 (mib-2), so that
 * short inputs reach the printer OIDs. Checks: every text is terminated
 * valid UTF-8 without control characters, percentages are -1..100,
 * counts in range, the JSON dumps. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerts.h"
#include "decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

static void check_text(const char *s, size_t cap)
{
	size_t len = strnlen(s, cap);
	if (len == cap)
		abort();
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			abort();
	json_t *j = json_string(s); /* NULL: not valid UTF-8 */
	if (!j)
		abort();
	json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	static sd_state_t s;
	size_t i = 0;
	sd_init(&s);
	while (i + 2 <= n) {
		uint32_t oid[SD_OID_MAX + 8];
		size_t ol = 0, len;
		int type = d[i] % 10;
		size_t k = d[i + 1];
		i += 2;
		for (size_t j = 0; j < k && i < n && ol < SD_OID_MAX; j++, i++) {
			if (d[i] == 0xff && ol + 6 <= SD_OID_MAX) {
				static const uint32_t mib2[] = { 1, 3, 6, 1, 2, 1 };
				memcpy(oid + ol, mib2, sizeof(mib2));
				ol += 6;
			} else {
				oid[ol++] = d[i];
			}
		}
		if (i >= n)
			break;
		len = d[i++];
		if (len > n - i)
			len = n - i;
		int64_t num = 0;
		for (size_t j = 0; j < len && j < 8; j++)
			num = (int64_t)((uint64_t)num << 8 | d[i + j]);
		if (len > 0 && len < 8 && (d[i] & 0x80))
			num -= (int64_t)1 << (8 * len);
		sd_vb_t vb = { oid, ol, type, num, d + i, len };
		(void)sd_feed(&s, &vb);
		i += len;
	}
	sd_finish(&s);
	if (s.nsup > SD_MAX_SUPPLIES || s.nalert > SD_MAX_ALERTS)
		abort();
	check_text(s.sysdescr, sizeof(s.sysdescr));
	check_text(s.serial, sizeof(s.serial));
	for (size_t j = 0; j < s.nsup; j++) {
		check_text(s.sup[j].desc, sizeof(s.sup[j].desc));
		if (s.sup[j].pct < -1 || s.sup[j].pct > 100)
			abort();
	}
	for (size_t j = 0; j < s.nalert; j++)
		check_text(s.alert[j].desc, sizeof(s.alert[j].desc));
	(void)sd_state_word(&s);
	json_t *j = sd_json(&s);
	char *txt = j ? json_dumps(j, JSON_COMPACT) : NULL;
	if (!txt)
		abort();
	free(txt);
	json_decref(j);
	/* the hysteresis takes whatever a poll saw */
	sa_printer_t p;
	sa_obs_t o;
	unsigned up, down;
	memset(&p, 0, sizeof(p));
	for (size_t r = 0; r < n && r < 64; r++) {
		for (int k = 0; k < SA_COUNT; k++)
			o.seen[k] = (int8_t)((d[r] >> k) % 3) - 1;
		sa_update(&p, &o, 1 + d[0] % 5, &up, &down);
		if (up & down)
			abort();
	}
	return 0;
}
