/* One LDAP entry to a directory user. Everything here comes from the
 * server, so every value is bounded and checked: the key (binary keys such
 * as objectGUID become hex), the user name (the directory's characters),
 * e-mail addresses (pl_dir_email_check), badge IDs (pl_badge_normalize,
 * with the attribute's declared base), group names (a memberOf DN's first
 * value). Fuzzed: tests/fuzz/fuzz_ldap_map.c. */
#include "ids.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pl_badge.h"
#include "pl_random.h"
#include "pl_util.h"

/* Field and list separators of the comparable text (never in a field:
 * every field is printable text or a list of such). */
#define FS '\x1f'
#define RS '\x1e'

static int printable_ascii(const char *v, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)v[i] < 0x21 || (unsigned char)v[i] > 0x7e)
			return 0;
	return len > 0;
}

static int first_value(const pl_ldap_entry_t *e, const char *attr, const pl_ldap_val_t **v)
{
	const pl_ldap_attr_t *a = attr[0] ? pl_ldap_entry_attr(e, attr) : NULL;
	*v = a && a->nvals ? &a->vals[0] : NULL;
	return *v != NULL;
}

static int map_key(const ids_conf_t *c, const pl_ldap_entry_t *e, pl_dir_user_t *u)
{
	const pl_ldap_val_t *v;
	if (!first_value(e, c->key_attr, &v) || v->len == 0)
		return -1;
	if (printable_ascii(v->v, v->len) && v->len < sizeof(u->external_id))
		return pl_fmt(u->external_id, sizeof(u->external_id), "%s", v->v);
	if (v->len * 2 >= sizeof(u->external_id))
		return -1;
	pl_hex(v->v, v->len, u->external_id);
	return 0;
}

static int valid_username_char(unsigned char ch)
{
	return isalnum(ch) || ch == '.' || ch == '_' || ch == '@' || ch == '-';
}

static int map_username(const ids_conf_t *c, const pl_ldap_entry_t *e, pl_dir_user_t *u)
{
	const pl_ldap_val_t *v;
	if (!first_value(e, c->username_attr, &v) || v->len == 0 ||
	    v->len >= sizeof(u->username))
		return -1;
	for (size_t i = 0; i < v->len; i++) {
		unsigned char ch = (unsigned char)v->v[i];
		if (ch >= 0x80 || !valid_username_char(ch))
			return -1;
		u->username[i] = c->lowercase ? (char)tolower(ch) : (char)ch;
	}
	u->username[v->len] = '\0';
	return 0;
}

/* Printable UTF-8 is the directory's rule; a value it refuses is
 * replaced by nothing rather than failing the user. Control characters
 * are the common case, so they are cut here; the directory checks the
 * rest. */
static void map_text(const pl_ldap_entry_t *e, const char *attr, char *out, size_t sz)
{
	const pl_ldap_val_t *v;
	out[0] = '\0';
	if (!first_value(e, attr, &v) || v->len >= sz || memchr(v->v, '\0', v->len))
		return;
	for (size_t i = 0; i < v->len; i++)
		if ((unsigned char)v->v[i] < 0x20 || v->v[i] == 0x7f)
			return;
	memcpy(out, v->v, v->len + 1);
}

static void map_mails(const ids_conf_t *c, const pl_ldap_entry_t *e, pl_dir_user_t *u,
		      int *skipped)
{
	for (int m = 0; m < c->nmails; m++) {
		const pl_ldap_attr_t *a = pl_ldap_entry_attr(e, c->mail_attrs[m]);
		for (size_t i = 0; a && i < a->nvals; i++) {
			const pl_ldap_val_t *v = &a->vals[i];
			int dup = 0;
			if (v->len >= sizeof(u->emails[0]) || memchr(v->v, '\0', v->len) ||
			    pl_dir_email_check(v->v) || u->nemails >= PL_DIR_MAX_EMAILS) {
				(*skipped)++;
				continue;
			}
			for (int k = 0; k < u->nemails && !dup; k++)
				dup = strcmp(u->emails[k], v->v) == 0;
			if (!dup)
				pl_strlcpy(u->emails[u->nemails++], v->v, sizeof(u->emails[0]));
		}
	}
}

static void map_badges(const ids_conf_t *c, const pl_ldap_entry_t *e, pl_dir_user_t *u,
		       int *skipped)
{
	char text[PL_BADGE_MAX + 8], id[PL_BADGE_MAX + 1];
	pl_err_t err;
	for (int b = 0; b < c->nbadges; b++) {
		const pl_ldap_attr_t *a = pl_ldap_entry_attr(e, c->badges[b].attr);
		for (size_t i = 0; a && i < a->nvals; i++) {
			const pl_ldap_val_t *v = &a->vals[i];
			int dup = 0;
			const char *val = v->v;
			/* "0x1A2B" is how hex IDs are often stored */
			if (!c->badges[b].dec && v->len > 2 && val[0] == '0' &&
			    (val[1] == 'x' || val[1] == 'X'))
				val += 2;
			if (v->len > PL_BADGE_MAX || memchr(v->v, '\0', v->len) ||
			    pl_fmt(text, sizeof(text), "%s:%s", c->badges[b].dec ? "dec" : "hex",
				   val) < 0 ||
			    pl_badge_normalize(text, id, &err) < 0 ||
			    u->nbadges >= PL_DIR_MAX_BADGES) {
				(*skipped)++;
				continue;
			}
			for (int k = 0; k < u->nbadges && !dup; k++)
				dup = strcmp(u->badges[k], id) == 0;
			if (!dup)
				pl_strlcpy(u->badges[u->nbadges++], id, sizeof(u->badges[0]));
		}
	}
}

/* Group names from DNs (memberOf) or plain names, comma-joined; commas
 * inside a name become spaces (the directory's list separator). */
static void map_groups(const ids_conf_t *c, const pl_ldap_entry_t *e, pl_dir_user_t *u,
		       int *skipped)
{
	const pl_ldap_attr_t *a = c->group_attr[0] ? pl_ldap_entry_attr(e, c->group_attr) : NULL;
	char name[256];
	size_t len = 0;
	for (size_t i = 0; a && i < a->nvals; i++) {
		const pl_ldap_val_t *v = &a->vals[i];
		if (pl_ldap_dn_first_value(v->v, v->len, name, sizeof(name)) < 0) {
			(*skipped)++;
			continue;
		}
		for (char *p = name; *p; p++)
			if (*p == ',' || (unsigned char)*p < 0x20 || *p == 0x7f)
				*p = ' ';
		size_t n = strlen(name);
		if (len + n + (len ? 1 : 0) >= sizeof(u->groups)) {
			(*skipped)++;
			continue;
		}
		if (len)
			u->groups[len++] = ',';
		memcpy(u->groups + len, name, n + 1);
		len += n;
	}
}

static int map_disabled(const pl_ldap_entry_t *e)
{
	const pl_ldap_val_t *v;
	if (!first_value(e, "userAccountControl", &v) || v->len == 0 || v->len > 11)
		return 0;
	char *end;
	long long uac = strtoll(v->v, &end, 10);
	return *end == '\0' && (uac & 0x2) != 0;
}

int ids_map_entry(const ids_conf_t *c, const pl_ldap_entry_t *e, pl_dir_user_t *u,
		  int *disabled, char *change, size_t csz, int *skipped, char *why,
		  size_t wsz)
{
	const pl_ldap_val_t *v;
	memset(u, 0, sizeof(*u));
	pl_strlcpy(u->source, "ldap", sizeof(u->source));
	*disabled = map_disabled(e);
	if (change) {
		change[0] = '\0';
		if (first_value(e, c->change_attr, &v) && printable_ascii(v->v, v->len) &&
		    v->len < csz)
			memcpy(change, v->v, v->len + 1);
	}
	if (map_key(c, e, u) < 0) {
		snprintf(why, wsz, "no usable %s", c->key_attr);
		return -1;
	}
	if (map_username(c, e, u) < 0) {
		snprintf(why, wsz, "no usable %s (letters, digits, . _ @ -; at most 127)",
			 c->username_attr);
		return -1;
	}
	map_text(e, c->display_attr, u->display_name, sizeof(u->display_name));
	map_mails(c, e, u, skipped);
	map_badges(c, e, u, skipped);
	map_groups(c, e, u, skipped);
	return 0;
}

int ids_map_pin(const ids_conf_t *c, const pl_ldap_entry_t *e, char *pin, size_t psz)
{
	const pl_ldap_val_t *v;
	pin[0] = '\0';
	if (!first_value(e, c->pin_attr, &v))
		return 0;
	if (v->len >= psz || memchr(v->v, '\0', v->len))
		return -1;
	memcpy(pin, v->v, v->len + 1);
	if (!pl_dir_pin_valid(pin)) {
		memset(pin, 0, psz);
		return -1;
	}
	return 1;
}

void ids_pin_mark(const unsigned char mkey[32], const char *key, const char *pin,
		  char out[PL_DIR_PIN_MARK_MAX])
{
	unsigned char buf[PL_DIR_EXTERNAL_ID_MAX + IDS_PIN_MAX + 2], mac[EVP_MAX_MD_SIZE];
	unsigned int mlen = 0;
	size_t kl = strnlen(key, PL_DIR_EXTERNAL_ID_MAX - 1), pl = strnlen(pin, IDS_PIN_MAX);
	/* the key binds the mark to its user: two users with one PIN get
	 * different marks */
	memcpy(buf, key, kl);
	buf[kl] = '\0';
	memcpy(buf + kl + 1, pin, pl);
	if (!HMAC(EVP_sha256(), mkey, 32, buf, kl + 1 + pl, mac, &mlen) || mlen != 32)
		memset(mac, 0, 32); /* never equal to a real mark by chance */
	pl_hex((const char *)mac, 32, out);
	memset(buf, 0, sizeof(buf));
}

int ids_change_newer(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (lb == 0)
		return la > 0;
	/* numbers (uSNChanged) compare by length first; GeneralizedTime of
	 * one form is fixed-length, so the same rule holds */
	return la != lb ? la > lb : strcmp(a, b) > 0;
}

const char *ids_user_diff(const pl_dir_user_t *a, const pl_dir_user_t *b)
{
	if (strcmp(a->username, b->username))
		return "username";
	if (strcmp(a->display_name, b->display_name))
		return "display_name";
	if (strcmp(a->groups, b->groups))
		return "groups";
	int same = a->nemails == b->nemails;
	for (int i = 0; same && i < a->nemails; i++)
		same = !strcmp(a->emails[i], b->emails[i]);
	if (!same)
		return "emails";
	same = a->nbadges == b->nbadges;
	for (int i = 0; same && i < a->nbadges; i++)
		same = !strcmp(a->badges[i], b->badges[i]);
	if (!same)
		return "badges";
	return strcmp(a->pin_mark, b->pin_mark) ? "pin" : NULL;
}

int ids_user_same(const pl_dir_user_t *a, const pl_dir_user_t *b)
{
	if (strcmp(a->username, b->username) || strcmp(a->display_name, b->display_name) ||
	    strcmp(a->groups, b->groups) || a->nemails != b->nemails || a->nbadges != b->nbadges ||
	    strcmp(a->pin_mark, b->pin_mark))
		return 0;
	for (int i = 0; i < a->nemails; i++)
		if (strcmp(a->emails[i], b->emails[i]))
			return 0;
	for (int i = 0; i < a->nbadges; i++)
		if (strcmp(a->badges[i], b->badges[i]))
			return 0;
	return 1;
}

/* ---- the comparable text of a record ---- */

static const char *const canon_fields[] = { "username", "display_name", "groups",
					    "emails",	"badges",	"pin" };

static int canon_put(char *out, size_t osz, size_t *len, const char *s, char sep)
{
	size_t n = strlen(s);
	if (*len + n + 2 > osz)
		return -1;
	memcpy(out + *len, s, n);
	*len += n;
	out[(*len)++] = sep;
	out[*len] = '\0';
	return 0;
}

int ids_user_canon(const pl_dir_user_t *u, char *out, size_t osz)
{
	size_t len = 0;
	int rc = osz ? 0 : -1;
	if (osz)
		out[0] = '\0';
	rc |= canon_put(out, osz, &len, u->username, FS);
	rc |= canon_put(out, osz, &len, u->display_name, FS);
	rc |= canon_put(out, osz, &len, u->groups, FS);
	for (int i = 0; i < u->nemails && i < PL_DIR_MAX_EMAILS; i++)
		rc |= canon_put(out, osz, &len, u->emails[i], RS);
	rc |= canon_put(out, osz, &len, "", FS);
	for (int i = 0; i < u->nbadges && i < PL_DIR_MAX_BADGES; i++)
		rc |= canon_put(out, osz, &len, u->badges[i], RS);
	rc |= canon_put(out, osz, &len, "", FS);
	rc |= canon_put(out, osz, &len, u->pin_mark, FS);
	return rc ? -1 : (int)len;
}

const char *ids_canon_diff(const char *a, const char *b)
{
	size_t f = 0;
	for (; *a && *a == *b; a++, b++)
		if (*a == FS)
			f++;
	if (*a == *b)
		return NULL;
	return f < PL_ARRAY_LEN(canon_fields) ? canon_fields[f] : "record";
}
