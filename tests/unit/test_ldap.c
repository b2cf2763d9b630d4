/* pl_ldap's text helpers (lib/ldap/ldap-text.c: RFC 4515 escaping, the
 * configured-filter check, the incremental filter, a DN's first value)
 * and IdentitySync's entry mapping (services/identitysync/map.c). No
 * network: t34 runs the real thing against slapd. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../services/identitysync/ids.h"
#include "pl_util.h"

static void test_escape(void **state)
{
	char out[64];
	(void)state;
	static const char in[] = "a*(b)\\c\0d";
	assert_int_equal(pl_ldap_filter_escape(in, sizeof(in) - 1, out, sizeof(out)), 19);
	assert_string_equal(out, "a\\2a\\28b\\29\\5cc\\00d");
	/* an injection attempt stays one value */
	const char *evil = "x)(uid=*))(|(uid=*";
	assert_true(pl_ldap_filter_escape(evil, strlen(evil), out, sizeof(out)) != (size_t)-1);
	assert_null(strchr(out, '('));
	assert_null(strchr(out, ')'));
	assert_null(strchr(out, '*'));
	/* UTF-8 and controls escaped bytewise */
	assert_int_equal(pl_ldap_filter_escape("\xc3\xa9\n", 3, out, sizeof(out)), 9);
	assert_string_equal(out, "\\c3\\a9\\0a");
	/* too small: refused, never cut */
	assert_int_equal(pl_ldap_filter_escape("(((", 3, out, 9), (size_t)-1);
	assert_int_equal(pl_ldap_filter_escape("(((", 3, out, 10), 9);
}

static void test_filter_check(void **state)
{
	(void)state;
	assert_null(pl_ldap_filter_check("(objectClass=user)"));
	assert_null(pl_ldap_filter_check("(&(objectClass=user)(cn=a\\29b))"));
	assert_non_null(pl_ldap_filter_check(""));
	assert_non_null(pl_ldap_filter_check("objectClass=user"));
	assert_non_null(pl_ldap_filter_check("(a=b))(c=d"));
	assert_non_null(pl_ldap_filter_check("(a=b)(c=d)"));
	assert_non_null(pl_ldap_filter_check("(a=\\zz)"));
	assert_non_null(pl_ldap_filter_check("(a=b\n)"));
	char f[200];
	assert_int_equal(pl_ldap_filter_and_ge("(objectClass=user)", "modifyTimestamp",
					       "20260101000000Z", f, sizeof(f)), 0);
	assert_string_equal(f, "(&(objectClass=user)(modifyTimestamp>=20260101000000Z))");
	/* a mark from a compromised state file cannot widen the filter */
	assert_int_equal(pl_ldap_filter_and_ge("(objectClass=user)", "uSNChanged", "1)(|(a=*",
					       f, sizeof(f)), 0);
	assert_string_equal(f, "(&(objectClass=user)(uSNChanged>=1\\29\\28|\\28a=\\2a))");
	assert_int_equal(pl_ldap_filter_and_ge("(a=b)", "bad attr", "1", f, sizeof(f)), -1);
	assert_int_equal(pl_ldap_filter_and_ge("(a=b", "x", "1", f, sizeof(f)), -1);
}

static void test_dn(void **state)
{
	char v[64];
	(void)state;
	const char *dn = "CN=Print Users\\, East,OU=Groups,DC=example,DC=org";
	assert_int_equal(pl_ldap_dn_first_value(dn, strlen(dn), v, sizeof(v)), 0);
	assert_string_equal(v, "Print Users, East");
	dn = "cn=a\\2Bb+uid=x,dc=y";
	assert_int_equal(pl_ldap_dn_first_value(dn, strlen(dn), v, sizeof(v)), 0);
	assert_string_equal(v, "a+b");
	assert_int_equal(pl_ldap_dn_first_value("cn=#0403", 8, v, sizeof(v)), -1);
	assert_int_equal(pl_ldap_dn_first_value("cn=\\00", 6, v, sizeof(v)), -1);
	assert_int_equal(pl_ldap_dn_first_value("nodn", 4, v, sizeof(v)), -1);
	assert_int_equal(pl_ldap_dn_first_value("cn=,dc=x", 8, v, sizeof(v)), -1);
	assert_int_equal(pl_ldap_dn_first_value("cn=abcdef", 9, v, 4), -1);
}

#define A(name, ...) { name, sizeof((pl_ldap_val_t[]){ __VA_ARGS__ }) / sizeof(pl_ldap_val_t), \
		       (pl_ldap_val_t[]){ __VA_ARGS__ } }
#define V(s) { s, sizeof(s) - 1 }

static void conf(ids_conf_t *c)
{
	memset(c, 0, sizeof(*c));
	strcpy(c->key_attr, "objectGUID");
	strcpy(c->username_attr, "sAMAccountName");
	strcpy(c->display_attr, "displayName");
	strcpy(c->group_attr, "memberOf");
	strcpy(c->change_attr, "uSNChanged");
	strcpy(c->mail_attrs[0], "mail");
	strcpy(c->mail_attrs[1], "otherMailbox");
	c->nmails = 2;
	strcpy(c->badges[0].attr, "employeeNumber");
	c->badges[0].dec = 1;
	strcpy(c->badges[1].attr, "employeeID");
	c->nbadges = 2;
}

/* The plain batch line is json_dumps's, byte for byte, or not written. */
static void test_user_line_plain(void **state)
{
	static const char *names[] = { "alice", "Bob Builder", "o'brien/x", "a\"quote",
				       "back\\slash", "caf\xc3\xa9", "tab\there", "" };
	char out[IDS_LINE_MAX];
	(void)state;
	for (size_t i = 0; i < PL_ARRAY_LEN(names); i++)
		for (int ne = 0; ne <= 2; ne++)
			for (int nb = 0; nb <= 2; nb++) {
				pl_dir_user_t u;
				memset(&u, 0, sizeof(u));
				pl_strlcpy(u.external_id, "0a1b2c", sizeof(u.external_id));
				pl_strlcpy(u.username, "user1", sizeof(u.username));
				pl_strlcpy(u.display_name, names[i], sizeof(u.display_name));
				pl_strlcpy(u.groups, ne ? "g1,g2" : "", sizeof(u.groups));
				for (int k = 0; k < ne; k++)
					snprintf(u.emails[k], sizeof(u.emails[k]), "u%d@x.org", k);
				u.nemails = ne;
				for (int k = 0; k < nb; k++)
					snprintf(u.badges[k], sizeof(u.badges[k]), "%04X", 0x1a2b + k);
				u.nbadges = nb;
				json_t *j = ids_user_line(&u);
				char *want = json_dumps(j, JSON_COMPACT);
				int n = ids_user_line_plain(&u, out, sizeof(out));
				int plain = !strpbrk(names[i], "\"\\\t") &&
					    !(names[i][0] && strchr(names[i], '\xc3'));
				if (plain) {
					assert_int_equal(n, (int)strlen(want));
					assert_string_equal(out, want);
				} else {
					assert_int_equal(n, -1);
				}
				assert_int_equal(ids_user_line_plain(&u, out, 20), -1);
				free(want);
				json_decref(j);
			}
}

static void test_map(void **state)
{
	ids_conf_t c;
	pl_dir_user_t u;
	char why[200], change[64];
	int disabled, skipped = 0;
	(void)state;
	conf(&c);
	pl_ldap_attr_t attrs[] = {
		A("objectGUID;binary", V("\x01\x02\xff\x00\x10")),
		A("SAMACCOUNTNAME", V("alice")),
		A("displayName", V("Alice A")),
		A("mail", V("alice@example.org"), V("not an address")),
		A("otherMailbox", V("alice@example.org"), V("a2@example.org")),
		A("employeeNumber", V("6699"), V("12ab")),
		A("employeeID", V("0x1A2B"), V("FF01")),
		A("memberOf", V("CN=Print Users,OU=G,DC=x"), V("CN=a\\,b,DC=x"), V("#bad")),
		A("userAccountControl", V("512")),
		A("uSNChanged", V("98765")),
	};
	pl_ldap_entry_t e = { "cn=alice", PL_ARRAY_LEN(attrs), attrs, 0 };
	assert_int_equal(ids_map_entry(&c, &e, &u, &disabled, change, sizeof(change), &skipped,
				       why, sizeof(why)), 0);
	assert_string_equal(u.external_id, "0102ff0010"); /* binary key: hex */
	assert_string_equal(u.username, "alice");
	assert_string_equal(u.display_name, "Alice A");
	assert_string_equal(u.source, "ldap");
	assert_int_equal(u.nemails, 2); /* the bad one skipped, the duplicate once */
	assert_string_equal(u.emails[1], "a2@example.org");
	/* 6699 decimal and 0x1A2B hex are one badge, listed once; "12ab"
	 * is not decimal */
	assert_int_equal(u.nbadges, 2);
	assert_string_equal(u.badges[0], "1a2b");
	assert_string_equal(u.badges[1], "ff01");
	assert_string_equal(u.groups, "Print Users,a b");
	assert_string_equal(change, "98765");
	assert_int_equal(disabled, 0);
	assert_int_equal(skipped, 3);

	/* disabled: userAccountControl bit 0x2 */
	attrs[8] = (pl_ldap_attr_t)A("userAccountControl", V("514"));
	assert_int_equal(ids_map_entry(&c, &e, &u, &disabled, NULL, 0, &skipped, why,
				       sizeof(why)), 0);
	assert_int_equal(disabled, 1);
	/* a user name the directory cannot hold */
	attrs[1] = (pl_ldap_attr_t)A("sAMAccountName", V("al ice"));
	assert_int_equal(ids_map_entry(&c, &e, &u, &disabled, NULL, 0, &skipped, why,
				       sizeof(why)), -1);
	assert_non_null(strstr(why, "sAMAccountName"));
	/* no key at all */
	e.nattrs = 0;
	assert_int_equal(ids_map_entry(&c, &e, &u, &disabled, NULL, 0, &skipped, why,
				       sizeof(why)), -1);
	assert_non_null(strstr(why, "objectGUID"));
}

static void test_change_marks(void **state)
{
	(void)state;
	assert_true(ids_change_newer("100", "99"));
	assert_false(ids_change_newer("99", "100"));
	assert_true(ids_change_newer("20260102000000Z", "20260101235959Z"));
	assert_true(ids_change_newer("1", ""));
	assert_false(ids_change_newer("", ""));
}

static void test_pin(void **state)
{
	ids_conf_t c;
	char pin[IDS_PIN_MAX + 1], m1[PL_DIR_PIN_MARK_MAX], m2[PL_DIR_PIN_MARK_MAX];
	unsigned char k1[32], k2[32];
	(void)state;
	conf(&c);
	pl_strlcpy(c.pin_attr, "employeeType", sizeof(c.pin_attr));
	pl_ldap_attr_t attrs[] = { A("EMPLOYEETYPE", V("004711")) };
	pl_ldap_entry_t e = { "cn=alice", 1, attrs, 0 };
	assert_int_equal(ids_map_pin(&c, &e, pin, sizeof(pin)), 1);
	assert_string_equal(pin, "004711");
	/* not a PIN: refused, and nothing of it left in pin */
	const char *bad[] = { "12a4", "123", "123456789012345678901234567890123", "", " 1234" };
	for (size_t i = 0; i < PL_ARRAY_LEN(bad); i++) {
		attrs[0] = (pl_ldap_attr_t)A("employeeType", V(bad[i]));
		attrs[0].vals[0].len = strlen(bad[i]);
		assert_int_equal(ids_map_pin(&c, &e, pin, sizeof(pin)), -1);
		assert_string_equal(pin, "");
	}
	e.nattrs = 0;
	assert_int_equal(ids_map_pin(&c, &e, pin, sizeof(pin)), 0);
	c.pin_attr[0] = '\0';
	assert_int_equal(ids_map_pin(&c, &e, pin, sizeof(pin)), 0);
	/* marks: one per key, user and PIN */
	memset(k1, 1, sizeof(k1));
	memset(k2, 2, sizeof(k2));
	ids_pin_mark(k1, "key-a", "4711", m1);
	assert_int_equal(strlen(m1), 64);
	ids_pin_mark(k1, "key-a", "4711", m2);
	assert_string_equal(m1, m2);
	ids_pin_mark(k1, "key-b", "4711", m2);
	assert_string_not_equal(m1, m2);
	ids_pin_mark(k1, "key-a", "4712", m2);
	assert_string_not_equal(m1, m2);
	ids_pin_mark(k2, "key-a", "4711", m2);
	assert_string_not_equal(m1, m2);
	/* "key-a" + "14711" is not "key-a1" + "4711" */
	ids_pin_mark(k1, "key-a1", "4711", m1);
	ids_pin_mark(k1, "key-a", "14711", m2);
	assert_string_not_equal(m1, m2);
}

static void test_range_parse(void **state)
{
	long lo = -7, hi = -7;
	(void)state;
	assert_int_equal(pl_ldap_range_parse("member", "member", &lo, &hi), 0);
	assert_int_equal(pl_ldap_range_parse("Member;binary", "member", &lo, &hi), 0);
	assert_int_equal(pl_ldap_range_parse("member;range=0-1499", "member", &lo, &hi), 1);
	assert_true(lo == 0 && hi == 1499);
	assert_int_equal(pl_ldap_range_parse("MEMBER;Range=1500-*", "member", &lo, &hi), 1);
	assert_true(lo == 1500 && hi == -1);
	assert_int_equal(pl_ldap_range_parse("member;binary;range=3-4", "member", &lo, &hi), 1);
	assert_true(lo == 3 && hi == 4);
	assert_int_equal(pl_ldap_range_parse("member;range=3-4;x", "member", &lo, &hi), 1);
	const char *bad[] = { "members;range=0-1", "memberOf", "member;range=", "member;range=1",
			      "member;range=-5", "member;range=5-4", "member;range=a-b",
			      "member;range=0-1x", "member;range=0-1;range=2-3",
			      "member;range=99999999999-*", "member;range=0-2000000001",
			      "cn", "" };
	for (size_t i = 0; i < PL_ARRAY_LEN(bad); i++)
		assert_int_equal(pl_ldap_range_parse(bad[i], "member", &lo, &hi), -1);

	char next[64];
	assert_int_equal(pl_ldap_range_next("member", 0, 0, 1499, next, sizeof(next)), 1);
	assert_string_equal(next, "member;range=1500-*");
	assert_int_equal(pl_ldap_range_next("member", 1500, 1500, -1, next, sizeof(next)), 0);
	/* not the part asked for: stop rather than loop */
	assert_int_equal(pl_ldap_range_next("member", 1500, 0, 1499, next, sizeof(next)), -1);
	assert_int_equal(pl_ldap_range_next("member", 0, 0, PL_LDAP_RANGE_MAX, next,
					    sizeof(next)), -1);
	assert_int_equal(pl_ldap_range_next("member", 0, 0, 9, next, 8), -1);
}

/* A server that serves n values max at a time, as Active Directory does
 * (the last part's range ends in "*"): the continuation gets every value
 * exactly once, for every n and max. */
static void test_range_walk(void **state)
{
	(void)state;
	static const long maxes[] = { 1, 2, 3, 1000, 1500, 5000 };
	static const long ns[] = { 1, 2, 3, 1499, 1500, 1501, 2999, 3000, 3001, 10000 };
	for (size_t a = 0; a < PL_ARRAY_LEN(maxes); a++) {
		for (size_t b = 0; b < PL_ARRAY_LEN(ns); b++) {
			long max = maxes[a], n = ns[b], got = 0, want_lo = 0, lo, hi;
			char attr[64] = "member";
			int more = 1, rounds = 0;
			while (more) {
				/* the server's answer to attr */
				long rlo = 0, rhi;
				if (strchr(attr, ';'))
					assert_int_equal(pl_ldap_range_parse(attr, "member", &rlo,
									      &rhi), 1);
				char name[64];
				long last = rlo + max - 1;
				if (n <= max && rlo == 0)
					snprintf(name, sizeof(name), "member");
				else if (last >= n - 1)
					snprintf(name, sizeof(name), "member;range=%ld-*", rlo);
				else
					snprintf(name, sizeof(name), "member;range=%ld-%ld", rlo,
						 last);
				got += (last >= n - 1 ? n - 1 : last) - rlo + 1;
				int r = pl_ldap_range_parse(name, "member", &lo, &hi);
				assert_true(r >= 0);
				more = r == 1 ? pl_ldap_range_next("member", want_lo, lo, hi, attr,
								   sizeof(attr))
					      : 0;
				assert_true(more >= 0);
				want_lo = hi + 1;
				assert_true(++rounds <= n / max + 2);
			}
			assert_int_equal(got, n);
		}
	}
}

/* Robustness: pseudo-random attribute names (a fixed seed, so every run
 * is the same) never crash the parser, and what it accepts is sane. */
static void test_range_fuzz(void **state)
{
	static const char alphabet[] = "member;range=0123456789-*;RANGE=bx";
	uint32_t x = 12345;
	(void)state;
	for (int i = 0; i < 200000; i++) {
		char name[40];
		size_t len = 0;
		x = x * 1103515245u + 12345u;
		size_t n = (x >> 16) % (sizeof(name) - 7);
		memcpy(name, "member", 6);
		len = (x >> 8) % 2 ? 6 : 0;
		while (len < n) {
			x = x * 1103515245u + 12345u;
			name[len++] = alphabet[(x >> 16) % (sizeof(alphabet) - 1)];
		}
		name[len] = '\0';
		long lo = -7, hi = -7;
		int r = pl_ldap_range_parse(name, "member", &lo, &hi);
		assert_true(r >= -1 && r <= 1);
		if (r == 1) {
			assert_true(lo >= 0 && lo <= PL_LDAP_RANGE_MAX);
			assert_true(hi == -1 || (hi >= lo && hi <= PL_LDAP_RANGE_MAX));
			char next[64];
			int nx = pl_ldap_range_next("member", lo, lo, hi, next, sizeof(next));
			assert_true(nx == (hi == -1 ? 0 : hi >= PL_LDAP_RANGE_MAX ? -1 : 1));
		}
	}
}

/* RFC 4533's values as slapd sends them (bytes written out here, so the
 * test does not lean on lber's encoder). */
#define U16 "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\xa0"
#define U16_TEXT "01020304-0506-0708-090a-0b0c0d0e0fa0"

static int uuids_seen;
static int on_uuid(void *arg, const char *uuid)
{
	(void)arg;
	assert_string_equal(uuid, U16_TEXT);
	uuids_seen++;
	return 0;
}

static void test_sync_values(void **state)
{
	char uuid[PL_LDAP_UUID_TEXT];
	int st = -1, rd = -1;
	pl_ldap_cookie_t c;
	pl_ldap_sync_info_t in;
	(void)state;
	/* syncState: SEQUENCE { ENUMERATED modify, OCTET STRING uuid } */
	static const char ss[] = "\x30\x15\x0a\x01\x02\x04\x10" U16;
	assert_int_equal(pl_ldap_sync_state_parse(ss, sizeof(ss) - 1, &st, uuid), 0);
	assert_int_equal(st, PL_LDAP_SYNC_MODIFY);
	assert_string_equal(uuid, U16_TEXT);
	/* a state out of range, a short UUID, a truncated value, nothing */
	static const char bad_state[] = "\x30\x15\x0a\x01\x07\x04\x10" U16;
	static const char short_uuid[] = "\x30\x06\x0a\x01\x01\x04\x01\x41";
	assert_int_equal(pl_ldap_sync_state_parse(bad_state, sizeof(bad_state) - 1, &st, uuid), -1);
	assert_int_equal(pl_ldap_sync_state_parse(short_uuid, sizeof(short_uuid) - 1, &st, uuid), -1);
	assert_int_equal(pl_ldap_sync_state_parse(ss, 10, &st, uuid), -1);
	assert_int_equal(pl_ldap_sync_state_parse("", 0, &st, uuid), -1);
	/* syncDone: SEQUENCE { cookie, refreshDeletes TRUE } */
	static const char done[] = "\x30\x0a\x04\x05rid=1\x01\x01\xff";
	assert_int_equal(pl_ldap_sync_done_parse(done, sizeof(done) - 1, &c, &rd), 0);
	assert_true(c.set && c.len == 5 && memcmp(c.v, "rid=1", 5) == 0 && rd == 1);
	/* both optional: no cookie, refreshDeletes FALSE */
	assert_int_equal(pl_ldap_sync_done_parse("\x30\x00", 2, &c, &rd), 0);
	assert_true(!c.set && rd == 0);
	assert_int_equal(pl_ldap_sync_done_parse("\x04\x00", 2, &c, &rd), -1);
	/* syncInfo newcookie */
	assert_int_equal(pl_ldap_sync_info_parse("\x80\x03" "abc", 5, &in, NULL, NULL), 0);
	assert_true(in.kind == 0x80 && in.cookie.set && in.cookie.len == 3);
	/* refreshDelete { refreshDone FALSE } */
	assert_int_equal(pl_ldap_sync_info_parse("\xa1\x03\x01\x01\x00", 5, &in, NULL, NULL), 0);
	assert_true(in.kind == 0xa1 && !in.refresh_done && !in.cookie.set);
	/* syncIdSet { cookie, refreshDeletes TRUE, SET { uuid, uuid } } */
	static const char ids[] = "\xa3\x2d\x04\x02\x63\x6b\x01\x01\xff\x31\x24"
				  "\x04\x10" U16 "\x04\x10" U16;
	uuids_seen = 0;
	assert_int_equal(pl_ldap_sync_info_parse(ids, sizeof(ids) - 1, &in, on_uuid, NULL), 0);
	assert_true(in.kind == 0xa3 && in.refresh_deletes && in.cookie.len == 2);
	assert_int_equal(uuids_seen, 2);
	/* a UUID of 15 bytes in the set: refused */
	static const char bad_ids[] = "\xa3\x13\x31\x11\x04\x0f" U16;
	assert_int_equal(pl_ldap_sync_info_parse(bad_ids, sizeof(bad_ids) - 1, &in, NULL, NULL), -1);
	/* another choice */
	assert_int_equal(pl_ldap_sync_info_parse("\x04\x00", 2, &in, NULL, NULL), -1);
	/* a cookie over PL_LDAP_COOKIE_MAX */
	static char big[PL_LDAP_COOKIE_MAX + 8];
	big[0] = (char)0x80;
	big[1] = (char)0x82;
	big[2] = (char)((PL_LDAP_COOKIE_MAX + 1) >> 8);
	big[3] = (char)((PL_LDAP_COOKIE_MAX + 1) & 0xff);
	assert_int_equal(pl_ldap_sync_info_parse(big, 4 + PL_LDAP_COOKIE_MAX + 1, &in, NULL, NULL), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape),	   cmocka_unit_test(test_filter_check),
		cmocka_unit_test(test_dn),	   cmocka_unit_test(test_map),
		cmocka_unit_test(test_change_marks), cmocka_unit_test(test_pin),
		cmocka_unit_test(test_range_parse), cmocka_unit_test(test_range_walk),
		cmocka_unit_test(test_range_fuzz), cmocka_unit_test(test_sync_values),
		cmocka_unit_test(test_user_line_plain),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
