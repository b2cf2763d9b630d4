/* A SCIM resource as we keep it, and the directory user it projects to.
 * A body (POST, PUT, or one a PATCH produced) is made a stored resource:
 * the members the server owns dropped, booleans made booleans, then
 * checked for what the directory needs (a user name it takes, e-mail
 * addresses it takes, a badge ID in the declared base). What does not fit
 * is a 400 with the reason, never cut short or skipped: the IdP shows the
 * reason to its administrator, who can fix the source. */
#include "scim.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pl_badge.h"
#include "pl_util.h"

/* The server's members, and a password (Okta sends one on create when
 * asked to sync passwords): never stored, never returned. */
static void drop_server_owned(json_t *doc, int is_group)
{
	static const char *const keys[] = { "id", "meta", "schemas", "password", "groups" };
	for (size_t i = 0; i < PL_ARRAY_LEN(keys) - (is_group ? 1 : 0); i++) {
		const char *real;
		if (scim_get(doc, keys[i], &real))
			json_object_del(doc, real);
	}
}

static int fix_bool(json_t *obj, const char *key, const char *what, scim_err_t *e)
{
	const char *real;
	json_t *v = scim_get(obj, key, &real);
	if (!v)
		return 0;
	int b = scim_bool(v);
	if (b < 0)
		return scim_fail(e, 400, "invalidValue", "%s: true or false", what);
	json_object_set_new(obj, real, json_boolean(b));
	return 0;
}

int scim_user_active(const json_t *doc)
{
	return scim_bool(scim_get(doc, "active", NULL)) != 0;
}

static int valid_username(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 127)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!(isalnum(c) || c == '.' || c == '_' || c == '@' || c == '-') || c >= 0x80)
			return 0;
	}
	return 1;
}

static int str_member(const json_t *obj, const char *key, const char *what, size_t max,
		      const char **out, scim_err_t *e)
{
	json_t *v = scim_get(obj, key, NULL);
	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v) || json_string_length(v) > max ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return scim_fail(e, 400, "invalidValue", "%s: a string of at most %zu bytes", what,
				 max);
	*out = json_string_value(v);
	return 0;
}

static int user_names(const json_t *doc, const scim_rules_t *r, pl_dir_user_t *u,
		      scim_err_t *e)
{
	const char *name, *ext, *dn, *f, *g, *fam;
	json_t *n = scim_get(doc, "name", NULL);
	if (str_member(doc, "userName", "userName", 127, &name, e) < 0 ||
	    str_member(doc, "externalId", "externalId", 128, &ext, e) < 0 ||
	    str_member(doc, "displayName", "displayName", 255, &dn, e) < 0 ||
	    str_member(n, "formatted", "name.formatted", 255, &f, e) < 0 ||
	    str_member(n, "givenName", "name.givenName", 127, &g, e) < 0 ||
	    str_member(n, "familyName", "name.familyName", 127, &fam, e) < 0)
		return -1;
	if (!name)
		return scim_fail(e, 400, "invalidValue", "userName is required");
	if (!valid_username(name))
		return scim_fail(e, 400, "invalidValue",
				 "userName: letters, digits, . _ @ - only (at most 127): the "
				 "directory's user names");
	for (size_t i = 0; name[i]; i++)
		u->username[i] = r->lowercase ? (char)tolower((unsigned char)name[i]) : name[i];
	if (dn && dn[0])
		pl_strlcpy(u->display_name, dn, sizeof(u->display_name));
	else if (f && f[0])
		pl_strlcpy(u->display_name, f, sizeof(u->display_name));
	else if (g || fam)
		snprintf(u->display_name, sizeof(u->display_name), "%s%s%s", g ? g : "",
			 g && fam ? " " : "", fam ? fam : "");
	return 0;
}

/* Primary first, then the others in order, each once. */
static int user_emails(json_t *doc, pl_dir_user_t *u, scim_err_t *e)
{
	json_t *arr = scim_get(doc, "emails", NULL);
	if (!arr || json_is_null(arr))
		return 0;
	if (!json_is_array(arr))
		return scim_fail(e, 400, "invalidValue", "emails: an array");
	for (int pass = 0; pass < 2; pass++) {
		size_t i;
		json_t *el;
		json_array_foreach(arr, i, el) {
			const char *v;
			if (!json_is_object(el))
				return scim_fail(e, 400, "invalidValue", "emails[%zu]: an object", i);
			if (fix_bool(el, "primary", "emails.primary", e) < 0 ||
			    str_member(el, "value", "emails.value", 255, &v, e) < 0)
				return -1;
			if (!v || (pass == 0) != (scim_bool(scim_get(el, "primary", NULL)) == 1))
				continue;
			const char *why = pl_dir_email_check(v);
			if (why)
				return scim_fail(e, 400, "invalidValue",
						 "emails[%zu].value: not an address the directory "
						 "takes: %s", i, why);
			int dup = 0;
			for (int k = 0; k < u->nemails && !dup; k++)
				dup = strcasecmp(u->emails[k], v) == 0;
			if (dup)
				continue;
			if (u->nemails >= PL_DIR_MAX_EMAILS)
				return scim_fail(e, 400, "invalidValue",
						 "emails: at most %d addresses", PL_DIR_MAX_EMAILS);
			pl_strlcpy(u->emails[u->nemails++], v, sizeof(u->emails[0]));
		}
	}
	return 0;
}

static int one_badge(const json_t *v, const scim_rules_t *r, pl_dir_user_t *u, scim_err_t *e)
{
	char text[PL_BADGE_MAX + 8], id[PL_BADGE_MAX + 1], num[32];
	pl_err_t err;
	const char *s = json_string_value(v);
	if (json_is_object(v))
		return one_badge(scim_get(v, "value", NULL), r, u, e);
	if (json_is_integer(v)) {
		snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
		s = num;
	}
	if (!s)
		return scim_fail(e, 400, "invalidValue", "the badge attribute: a string");
	if (!s[0])
		return 0;
	/* "0x1A2B" is how hex IDs are often written */
	if (!r->badge_dec && (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) && s[2])
		s += 2;
	if (strlen(s) > PL_BADGE_MAX ||
	    pl_fmt(text, sizeof(text), "%s:%s", r->badge_dec ? "dec" : "hex", s) < 0 ||
	    pl_badge_normalize(text, id, &err) < 0)
		return scim_fail(e, 400, "invalidValue",
				 "the badge attribute: not a %s badge ID (scim_badge_format)",
				 r->badge_dec ? "decimal" : "hexadecimal");
	for (int k = 0; k < u->nbadges; k++)
		if (strcmp(u->badges[k], id) == 0)
			return 0;
	if (u->nbadges >= PL_DIR_MAX_BADGES)
		return scim_fail(e, 400, "invalidValue", "at most %d badges", PL_DIR_MAX_BADGES);
	pl_strlcpy(u->badges[u->nbadges++], id, sizeof(u->badges[0]));
	return 0;
}

/* The value at the configured path (checked at configuration). */
static int user_badges(const json_t *doc, const scim_rules_t *r, pl_dir_user_t *u,
		       scim_err_t *e)
{
	scim_path_t p;
	char why[200];
	if (!r->badge_path[0] || scim_path_parse(r->badge_path, &p, why, sizeof(why)) < 0)
		return 0;
	const json_t *c = p.uri[0] ? scim_get(doc, p.uri, NULL) : doc;
	json_t *v = scim_get(c, p.attr, NULL);
	if (p.sub[0])
		v = scim_get(v, p.sub, NULL);
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return one_badge(v, r, u, e);
	size_t i;
	json_t *el;
	json_array_foreach(v, i, el)
		if (one_badge(el, r, u, e) < 0)
			return -1;
	return 0;
}

static int doc_size_ok(const json_t *doc, scim_err_t *e)
{
	char *s = json_dumps(doc, JSON_COMPACT);
	size_t n = s ? strlen(s) : SCIM_BODY_MAX + 1;
	free(s);
	if (n > SCIM_BODY_MAX)
		return scim_fail(e, 400, "invalidValue", "the resource is over %u bytes",
				 SCIM_BODY_MAX);
	return 0;
}

int scim_user_check(json_t *doc, const scim_rules_t *r, pl_dir_user_t *u, scim_err_t *e)
{
	pl_err_t err = { "" };
	memset(u, 0, sizeof(*u));
	pl_strlcpy(u->source, "scim", sizeof(u->source));
	if (!json_is_object(doc))
		return scim_fail(e, 400, "invalidSyntax", "a User is a JSON object");
	drop_server_owned(doc, 0);
	if (fix_bool(doc, "active", "active", e) < 0 || user_names(doc, r, u, e) < 0 ||
	    user_emails(doc, u, e) < 0 || user_badges(doc, r, u, e) < 0 || doc_size_ok(doc, e) < 0)
		return -1;
	/* Deactivated: kept, but no badge of theirs releases anything. */
	if (!scim_user_active(doc))
		u->nbadges = 0;
	if (pl_dir_user_check(u, &err) < 0)
		return scim_fail(e, 400, "invalidValue", "%s", err.msg);
	return 0;
}

int scim_group_check(json_t *doc, json_t **members, scim_err_t *e)
{
	const char *dn, *ext, *real;
	*members = NULL;
	if (!json_is_object(doc))
		return scim_fail(e, 400, "invalidSyntax", "a Group is a JSON object");
	drop_server_owned(doc, 1);
	if (str_member(doc, "displayName", "displayName", 255, &dn, e) < 0 ||
	    str_member(doc, "externalId", "externalId", 128, &ext, e) < 0)
		return -1;
	if (!dn || !dn[0])
		return scim_fail(e, 400, "invalidValue", "displayName is required");
	for (const unsigned char *p = (const unsigned char *)dn; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return scim_fail(e, 400, "invalidValue", "displayName: no control characters");
	json_t *m = scim_get(doc, "members", &real), *ids = json_array();
	if (m && !json_is_null(m) && !json_is_array(m)) {
		json_decref(ids);
		return scim_fail(e, 400, "invalidValue", "members: an array");
	}
	size_t i;
	json_t *el;
	json_array_foreach(m, i, el) {
		json_t *v = json_is_object(el) ? scim_get(el, "value", NULL) : el;
		const char *id = json_string_value(v);
		if (!id || !id[0] || strlen(id) >= 40) {
			json_decref(ids);
			return scim_fail(e, 400, "invalidValue", "members[%zu]: {\"value\": ID}", i);
		}
		int dup = 0;
		size_t k;
		json_t *x;
		json_array_foreach(ids, k, x)
			dup |= strcmp(json_string_value(x), id) == 0;
		if (!dup)
			json_array_append_new(ids, json_string(id));
	}
	if (json_array_size(ids) > SCIM_MEMBERS_MAX) {
		json_decref(ids);
		return scim_fail(e, 400, "invalidValue", "at most %d members", SCIM_MEMBERS_MAX);
	}
	if (m)
		json_object_del(doc, real);
	if (doc_size_ok(doc, e) < 0) {
		json_decref(ids);
		return -1;
	}
	*members = ids;
	return 0;
}
