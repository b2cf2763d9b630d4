// fuzz-sources: services/identitysync/map.c lib/ldap/ldap-text.c lib/badge/badge.c lib/directory/directory-email.c lib/directory/directory-pin.c common/util.c common/random.c common/config.c
/* libFuzzer target: what IdentitySync makes of an LDAP entry the server
 * sent (services/identitysync/map.c) and the text helpers under it
 * (lib/ldap/ldap-text.c): a DN's first value (memberOf), RFC 4515
 * escaping, the filter check.
 *
 * Input: lines "NAME:VALUE" (VALUE may hold any byte but a newline), each
 * a value of attribute NAME, grouped into one entry as a server would send
 * it. The PIN attribute is "pager"; every attribute name also goes through
 * the ranged-retrieval parser (member;range=LO-HI). Checks: a mapped user has terminated fields, counts in range, a
 * username of the directory's characters, canonical badges; an escaped
 * value holds no unescaped special character; a DN's value is terminated
 * and never longer than the DN. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../services/identitysync/ids.h"
#include "pl_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) abort(); } while (0)
#define TERMINATED(a) CHECK(memchr((a), '\0', sizeof(a)) != NULL)
#define MAXA 16
#define MAXV 64

static void conf_init(ids_conf_t *c)
{
	memset(c, 0, sizeof(*c));
	strcpy(c->key_attr, "objectGUID");
	strcpy(c->username_attr, "sAMAccountName");
	strcpy(c->display_attr, "displayName");
	strcpy(c->group_attr, "memberOf");
	strcpy(c->change_attr, "uSNChanged");
	strcpy(c->pin_attr, "pager");
	strcpy(c->mail_attrs[0], "mail");
	strcpy(c->mail_attrs[1], "proxyAddresses");
	c->nmails = 2;
	strcpy(c->badges[0].attr, "employeeNumber");
	c->badges[0].dec = 1;
	strcpy(c->badges[1].attr, "employeeID");
	c->nbadges = 2;
	c->lowercase = 1;
}

/* A range the parser accepts is sane, and its continuation either ends,
 * moves forward or refuses. */
static void check_range(const char *name)
{
	long lo = -7, hi = -7;
	char next[128];
	int r = pl_ldap_range_parse(name, "member", &lo, &hi);
	CHECK(r >= -1 && r <= 1);
	if (r != 1)
		return;
	CHECK(lo >= 0 && lo <= PL_LDAP_RANGE_MAX);
	CHECK(hi == -1 || (hi >= lo && hi <= PL_LDAP_RANGE_MAX));
	int nx = pl_ldap_range_next("member", lo, lo, hi, next, sizeof(next));
	CHECK(nx >= -1 && nx <= 1);
	if (nx == 1) {
		long lo2, hi2;
		CHECK(pl_ldap_range_parse(next, "member", &lo2, &hi2) == 1);
		CHECK(lo2 == hi + 1 && hi2 == -1);
	}
}

static void check_escape(const char *in, size_t n)
{
	char out[4 * 256 + 1];
	size_t len = pl_ldap_filter_escape(in, n > 256 ? 256 : n, out, sizeof(out));
	CHECK(len != (size_t)-1);
	CHECK(strlen(out) == len);
	for (size_t i = 0; i < len; i++) {
		CHECK(out[i] != '(' && out[i] != ')' && out[i] != '*');
		if (out[i] == '\\')
			CHECK(i + 2 < len + 1 && pl_hex_digit(out[i + 1]) >= 0 &&
			      pl_hex_digit(out[i + 2]) >= 0);
	}
	(void)pl_ldap_filter_check(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static pl_ldap_attr_t attrs[MAXA];
	static pl_ldap_val_t vals[MAXA][MAXV];
	static char names[MAXA][65];
	ids_conf_t c;
	char *copy = malloc(size + 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	check_escape(copy, size);
	check_range(copy);
	char first[256];
	if (pl_ldap_dn_first_value(copy, size, first, sizeof(first)) == 0) {
		TERMINATED(first);
		CHECK(strlen(first) <= size);
	}
	pl_ldap_entry_t e = { "dn", 0, attrs, 0 };
	char *p = copy, *end = copy + size;
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		char *line_end = nl ? nl : end;
		char *colon = memchr(p, ':', (size_t)(line_end - p));
		if (colon && colon - p < 64) {
			char name[65];
			memcpy(name, p, (size_t)(colon - p));
			name[colon - p] = '\0';
			*line_end = '\0';
			size_t a = 0;
			while (a < e.nattrs && strcmp(names[a], name) != 0)
				a++;
			check_range(name);
			if (a == e.nattrs && a < MAXA) {
				strcpy(names[a], name);
				attrs[a] = (pl_ldap_attr_t){ names[a], 0, vals[a] };
				e.nattrs++;
			}
			if (a < e.nattrs && attrs[a].nvals < MAXV)
				vals[a][attrs[a].nvals++] =
					(pl_ldap_val_t){ colon + 1, (size_t)(line_end - colon - 1) };
		}
		p = line_end + 1;
	}
	conf_init(&c);
	pl_dir_user_t u;
	char why[200], change[64];
	int disabled, skipped = 0;
	if (ids_map_entry(&c, &e, &u, &disabled, change, sizeof(change), &skipped, why,
			  sizeof(why)) == 0) {
		TERMINATED(u.username);
		TERMINATED(u.display_name);
		TERMINATED(u.groups);
		TERMINATED(u.external_id);
		CHECK(u.username[0] && u.external_id[0]);
		CHECK(u.nemails >= 0 && u.nemails <= PL_DIR_MAX_EMAILS);
		CHECK(u.nbadges >= 0 && u.nbadges <= PL_DIR_MAX_BADGES);
		for (const char *s = u.username; *s; s++)
			CHECK(strchr("abcdefghijklmnopqrstuvwxyz0123456789._@-", *s));
		for (int i = 0; i < u.nbadges; i++)
			for (const char *s = u.badges[i]; *s; s++)
				CHECK(pl_hex_digit(*s) >= 0 && !(*s >= 'A' && *s <= 'F'));
		CHECK(ids_user_same(&u, &u) && ids_user_diff(&u, &u) == NULL);
	}
	TERMINATED(change);
	char pin[IDS_PIN_MAX + 1];
	int pr = ids_map_pin(&c, &e, pin, sizeof(pin));
	CHECK(pr >= -1 && pr <= 1);
	TERMINATED(pin);
	CHECK(pr == 1 ? pl_dir_pin_valid(pin) : pin[0] == '\0');
	free(copy);
	return 0;
}
