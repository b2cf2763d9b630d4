// fuzz-sources: lib/ldap/ldap-syncval.c
// fuzz-libs: ldap
/* libFuzzer target: the values of RFC 4533's controls and messages a
 * server sends during a syncrepl refresh (lib/ldap/ldap-syncval.c):
 * syncState (an entry's state and UUID), syncDone (the final cookie and
 * how deletions were told) and syncInfo (a new cookie, a phase's end, a
 * syncIdSet of UUIDs). Input: one byte choosing the parser, then the
 * value. Checks: a state in range; UUIDs as 36 lower-case hex-and-dash
 * characters; a cookie within its buffer; flags 0 or 1. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pl_ldap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) abort(); } while (0)

static void check_uuid(const char *u)
{
	CHECK(strlen(u) == 36);
	for (int i = 0; i < 36; i++)
		CHECK((i == 8 || i == 13 || i == 18 || i == 23)
			      ? u[i] == '-'
			      : (u[i] >= '0' && u[i] <= '9') || (u[i] >= 'a' && u[i] <= 'f'));
}

static int on_uuid(void *arg, const char *uuid)
{
	check_uuid(uuid);
	return ++*(int *)arg > 100000; /* a stop is honoured, too */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char uuid[PL_LDAP_UUID_TEXT];
	pl_ldap_cookie_t c;
	pl_ldap_sync_info_t in;
	int st = -1, rd = -1, n = 0;
	if (size < 1)
		return 0;
	const char *v = (const char *)data + 1;
	size_t len = size - 1;
	switch (data[0] % 3) {
	case 0:
		if (pl_ldap_sync_state_parse(v, len, &st, uuid) == 0) {
			CHECK(st >= PL_LDAP_SYNC_PRESENT && st <= PL_LDAP_SYNC_DELETE);
			check_uuid(uuid);
		}
		break;
	case 1:
		if (pl_ldap_sync_done_parse(v, len, &c, &rd) == 0) {
			CHECK(rd == 0 || rd == 1);
			CHECK(!c.set || c.len <= sizeof(c.v));
		}
		break;
	default:
		if (pl_ldap_sync_info_parse(v, len, &in, on_uuid, &n) == 0) {
			CHECK(in.refresh_done == 0 || in.refresh_done == 1);
			CHECK(in.refresh_deletes == 0 || in.refresh_deletes == 1);
			CHECK(!in.cookie.set || in.cookie.len <= sizeof(in.cookie.v));
			CHECK(in.fn_rc == 0 || in.fn_rc == 1);
		}
		break;
	}
	return 0;
}
