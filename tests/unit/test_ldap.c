/* pl_ldap's text helpers (lib/ldap/ldap-text.c: RFC 4515 escaping, the
 * configured-filter check, the incremental filter, a DN's first value)
 * and IdentitySync's entry mapping (services/identitysync/map.c). No
 * network: t34 runs the real thing against slapd. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape),	   cmocka_unit_test(test_filter_check),
		cmocka_unit_test(test_dn),	   cmocka_unit_test(test_map),
		cmocka_unit_test(test_change_marks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
