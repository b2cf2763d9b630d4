// fuzz-sources: lib/prstatus/prstatus.c common/util.c
// fuzz-libs: sqlite3
/* libFuzzer target: pl_prstatus_offline, the holders' reading of a
 * printer's status row (refuse_offline_printers). The row comes from a
 * file PrinterLogicServiceSNMP writes, and that service faces the
 * network: a compromised one may write anything, so the row is untrusted.
 *
 * Input: bytes 0..7 the "now" (big-endian, signed ms), the rest the row's
 * JSON text. Checks: the answer is 0 or 1, a refusal's message is a
 * terminated string that names the printer and says the job stays held
 * (when it fits), and a refusal only for an offline or unreachable row
 * or one with the offline bit / device down. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pl_prstatus.h"

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

#define CHECK(c) do { if (!(c)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	if (n < 8)
		return 0;
	uint64_t u = 0;
	for (int i = 0; i < 8; i++)
		u = u << 8 | d[i];
	json_t *row = json_loadb((const char *)d + 8, n - 8, JSON_DECODE_ANY, NULL);
	char msg[300], small[24];
	memset(msg, 'x', sizeof(msg));
	int rc = pl_prstatus_offline(row, "Lobby", (int64_t)u, msg, sizeof(msg));
	CHECK(rc == 0 || rc == 1);
	if (rc == 1) {
		CHECK(memchr(msg, '\0', sizeof(msg)) != NULL);
		CHECK(strncmp(msg, "Lobby is offline (SNMP, polled ", 31) == 0);
		const char *st = json_string_value(json_object_get(row, "state"));
		CHECK(st != NULL);
		/* the same answer into a buffer too small: terminated */
		memset(small, 'x', sizeof(small));
		CHECK(pl_prstatus_offline(row, "Lobby", (int64_t)u, small, sizeof(small)) == 1);
		CHECK(memchr(small, '\0', sizeof(small)) != NULL);
	}
	json_decref(row);
	return 0;
}
