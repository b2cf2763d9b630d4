/* IdentitySync's section (pl_schema_identitysync) into ids_conf_t, with
 * the defaults that follow server_type ("openldap" or "ad"). */
#include "ids.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "pl_schemas.h"
#include "pl_util.h"
#include "scim.h"

#define S (&pl_schema_identitysync)

static int str_key(const pl_cnode_t *cfg, const char *key, const char *def, char *out,
		   size_t sz, pl_err_t *err)
{
	const char *v;
	if (pl_schema_str(S, cfg, key, &v, err) < 0)
		return -1;
	if (!v)
		v = def;
	if (pl_fmt(out, sz, "%s", v) < 0)
		return pl_cnode_error(cfg, key, err, "too long (at most %zu bytes)", sz - 1);
	return 0;
}

static int attr_key(const pl_cnode_t *cfg, const char *key, const char *def, char *out,
		    pl_err_t *err)
{
	if (str_key(cfg, key, def, out, IDS_ATTR_MAX, err) < 0)
		return -1;
	if (out[0] && !pl_ldap_valid_attr(out))
		return pl_cnode_error(cfg, key, err, "not an attribute name");
	return 0;
}

/* "a,b:dec" style lists. */
static int list_next(const char **p, char *out, size_t sz)
{
	while (**p == ',' || **p == ' ')
		(*p)++;
	size_t n = strcspn(*p, ", ");
	if (n == 0)
		return 0;
	if (n >= sz)
		return -1;
	memcpy(out, *p, n);
	out[n] = '\0';
	*p += n;
	return 1;
}

static int mails(const pl_cnode_t *cfg, ids_conf_t *c, pl_err_t *err)
{
	char list[512], one[IDS_ATTR_MAX];
	const char *p = list;
	int rc;
	if (str_key(cfg, "mail_attrs", "mail", list, sizeof(list), err) < 0)
		return -1;
	while ((rc = list_next(&p, one, sizeof(one))) == 1) {
		if (c->nmails >= IDS_MAX_MAILS || !pl_ldap_valid_attr(one))
			return pl_cnode_error(cfg, "mail_attrs", err,
					      "at most %d attribute names, comma-separated",
					      IDS_MAX_MAILS);
		pl_strlcpy(c->mail_attrs[c->nmails++], one, IDS_ATTR_MAX);
	}
	return rc < 0 ? pl_cnode_error(cfg, "mail_attrs", err, "a name too long") : 0;
}

static int badges(const pl_cnode_t *cfg, ids_conf_t *c, pl_err_t *err)
{
	char list[512], one[IDS_ATTR_MAX + 8];
	const char *p = list;
	int rc;
	if (str_key(cfg, "badge_attrs", "", list, sizeof(list), err) < 0)
		return -1;
	while ((rc = list_next(&p, one, sizeof(one))) == 1) {
		char *fmt = strchr(one, ':');
		ids_badge_attr_t *b = &c->badges[c->nbadges];
		if (fmt)
			*fmt++ = '\0';
		if (c->nbadges >= IDS_MAX_BADGE_ATTRS || !pl_ldap_valid_attr(one) ||
		    (fmt && strcmp(fmt, "hex") != 0 && strcmp(fmt, "dec") != 0))
			return pl_cnode_error(cfg, "badge_attrs", err,
					      "at most %d of ATTRIBUTE:hex or ATTRIBUTE:dec, "
					      "comma-separated", IDS_MAX_BADGE_ATTRS);
		pl_strlcpy(b->attr, one, sizeof(b->attr));
		b->dec = fmt && strcmp(fmt, "dec") == 0;
		c->nbadges++;
	}
	return rc < 0 ? pl_cnode_error(cfg, "badge_attrs", err, "a name too long") : 0;
}

static int bases(const pl_cnode_t *cfg, ids_conf_t *c, pl_err_t *err)
{
	pl_cnode_t arr, el;
	if (pl_cnode_array(cfg, "base_dns", 1, &arr, err) < 0)
		return -1;
	size_t n = json_array_size(arr.node);
	if (n == 0 || n > IDS_MAX_BASES)
		return pl_cnode_error(cfg, "base_dns", err, "1 to %d base DNs", IDS_MAX_BASES);
	for (size_t i = 0; i < n; i++) {
		const char *v;
		pl_cnode_index(&arr, i, &el);
		if (pl_cnode_str_req(&el, NULL, &v, err) < 0)
			return -1;
		if (!v[0] || pl_fmt(c->bases[i], sizeof(c->bases[i]), "%s", v) < 0)
			return pl_cnode_error(&el, NULL, err, "a DN of 1 to 511 bytes");
	}
	c->nbases = (int)n;
	return 0;
}

static int ints(const pl_cnode_t *cfg, ids_conf_t *c, pl_err_t *err)
{
	int st;
	if (pl_schema_int(S, cfg, "full_sync_minutes", &c->full_minutes, err) < 0 ||
	    pl_schema_int(S, cfg, "incremental_seconds", &c->incremental_s, err) < 0 ||
	    pl_schema_int(S, cfg, "page_size", &c->page_size, err) < 0 ||
	    pl_schema_int(S, cfg, "network_timeout_s", &c->net_timeout_s, err) < 0 ||
	    pl_schema_int(S, cfg, "timeout_s", &c->op_timeout_s, err) < 0 ||
	    pl_schema_int(S, cfg, "max_remove_percent", &c->max_remove_percent, err) < 0 ||
	    pl_schema_bool(S, cfg, "starttls", &st, err) < 0 ||
	    pl_schema_bool(S, cfg, "lowercase_usernames", &c->lowercase, err) < 0)
		return -1;
	c->starttls = st;
	return 0;
}

/* The SCIM keys; listen.scim is required with scim (an IdP must reach
 * us at an address the administrator chose). */
static int scim_keys(const pl_cnode_t *cfg, ids_conf_t *c, pl_err_t *err)
{
	char fmt[8], why[200];
	scim_path_t path;
	pl_cnode_t listen;
	if (pl_schema_bool(S, cfg, "scim", &c->scim, err) < 0 ||
	    str_key(cfg, "scim_tls_cert", "", c->scim_cert, sizeof(c->scim_cert), err) < 0 ||
	    str_key(cfg, "scim_tls_key", "", c->scim_key, sizeof(c->scim_key), err) < 0 ||
	    str_key(cfg, "scim_badge_attr", "", c->scim_badge_attr, sizeof(c->scim_badge_attr),
		    err) < 0 ||
	    str_key(cfg, "scim_badge_format", "dec", fmt, sizeof(fmt), err) < 0 ||
	    pl_schema_int(S, cfg, "scim_max_connections", &c->scim_max_conn, err) < 0 ||
	    pl_schema_int(S, cfg, "scim_max_connections_per_address", &c->scim_max_per_addr,
			  err) < 0 ||
	    pl_schema_int(S, cfg, "scim_request_timeout_s", &c->scim_timeout_s, err) < 0)
		return -1;
	if (strcmp(fmt, "dec") != 0 && strcmp(fmt, "hex") != 0)
		return pl_cnode_error(cfg, "scim_badge_format", err, "dec or hex");
	c->scim_badge_dec = strcmp(fmt, "dec") == 0;
	if (c->scim_badge_attr[0] &&
	    (scim_path_parse(c->scim_badge_attr, &path, why, sizeof(why)) < 0 ||
	     path.has_filter))
		return pl_cnode_error(cfg, "scim_badge_attr", err,
				      "a SCIM attribute path without a filter (%s)",
				      path.has_filter ? "no [...]" : why);
	if (c->scim && (pl_cnode_object(cfg, "listen", 0, &listen, err) < 0 || !listen.node ||
			!json_object_get(listen.node, "scim")))
		return pl_cnode_error(cfg, "listen", err,
				      "\"scim\": true needs a listening socket \"scim\" in "
				      "listen (e.g. {\"scim\": \"0.0.0.0:9443\"})");
	return 0;
}

int ids_conf_parse(const pl_cnode_t *cfg, const char *state_dir, ids_conf_t *c,
		   pl_err_t *err)
{
	char type[16], inc[16];
	const char *why;
	memset(c, 0, sizeof(*c));
	if (pl_schema_check(S, cfg, err) < 0 ||
	    str_key(cfg, "server_type", "openldap", type, sizeof(type), err) < 0)
		return -1;
	if (strcmp(type, "openldap") != 0 && strcmp(type, "ad") != 0)
		return pl_cnode_error(cfg, "server_type", err, "openldap or ad");
	c->ad = strcmp(type, "ad") == 0;
	if (str_key(cfg, "uri", "", c->uri, sizeof(c->uri), err) < 0 ||
	    str_key(cfg, "ca_file", "", c->ca_file, sizeof(c->ca_file), err) < 0 ||
	    str_key(cfg, "bind_dn", "", c->bind_dn, sizeof(c->bind_dn), err) < 0 ||
	    str_key(cfg, "filter",
		    c->ad ? "(&(objectCategory=person)(objectClass=user))" : "(objectClass=person)",
		    c->filter, sizeof(c->filter), err) < 0 ||
	    attr_key(cfg, "key_attr", c->ad ? "objectGUID" : "entryUUID", c->key_attr, err) < 0 ||
	    attr_key(cfg, "username_attr", c->ad ? "sAMAccountName" : "uid", c->username_attr,
		     err) < 0 ||
	    attr_key(cfg, "display_name_attr", c->ad ? "displayName" : "cn", c->display_attr,
		     err) < 0 ||
	    attr_key(cfg, "group_attr", "memberOf", c->group_attr, err) < 0 ||
	    attr_key(cfg, "change_attr", c->ad ? "uSNChanged" : "modifyTimestamp",
		     c->change_attr, err) < 0 ||
	    attr_key(cfg, "pin_attr", "", c->pin_attr, err) < 0 ||
	    str_key(cfg, "group_base_dn", "", c->group_base, sizeof(c->group_base), err) < 0 ||
	    str_key(cfg, "group_filter",
		    c->ad ? "(objectClass=group)" : "(objectClass=groupOfNames)", c->group_filter,
		    sizeof(c->group_filter), err) < 0 ||
	    attr_key(cfg, "group_name_attr", "cn", c->group_name_attr, err) < 0 ||
	    attr_key(cfg, "group_member_attr", "member", c->member_attr, err) < 0 ||
	    mails(cfg, c, err) < 0 || badges(cfg, c, err) < 0 || ints(cfg, c, err) < 0 ||
	    scim_keys(cfg, c, err) < 0 ||
	    str_key(cfg, "directory", "", c->directory_path, sizeof(c->directory_path), err) < 0 ||
	    str_key(cfg, "incremental", "auto", inc, sizeof(inc), err) < 0)
		return -1;
	if (strcmp(inc, "auto") == 0)
		c->inc_mode = IDS_INC_AUTO;
	else if (strcmp(inc, "syncrepl") == 0)
		c->inc_mode = IDS_INC_SYNCREPL;
	else if (strcmp(inc, "timestamp") == 0)
		c->inc_mode = IDS_INC_TIMESTAMP;
	else
		return pl_cnode_error(cfg, "incremental", err, "syncrepl, timestamp or auto");
	if (!c->directory_path[0])
		(void)pl_fmt(c->directory_path, sizeof(c->directory_path),
			     "%s/../directory/directory.db", state_dir);
	pl_strlcpy(c->state_dir, state_dir, sizeof(c->state_dir));
	c->ldap = c->uri[0] != '\0';
	if (!c->ldap && !c->scim)
		return pl_cnode_error(cfg, NULL, err,
				      "nothing to sync from: set uri (LDAP), \"scim\": true, or both");
	if (!c->ldap)
		return 0; /* SCIM only: the LDAP keys keep their defaults, unused */
	if (bases(cfg, c, err) < 0)
		return -1;
	if (!c->uri[0] || !c->ca_file[0] || !c->bind_dn[0])
		return pl_cnode_error(cfg, NULL, err, "uri, ca_file and bind_dn are required");
	if (strncasecmp(c->uri, "ldaps://", 8) != 0 &&
	    !(strncasecmp(c->uri, "ldap://", 7) == 0 && c->starttls))
		return pl_cnode_error(cfg, "uri", err,
				      "ldaps://, or ldap:// with \"starttls\": true (never a bind "
				      "over plain LDAP)");
	if ((why = pl_ldap_filter_check(c->filter)))
		return pl_cnode_error(cfg, "filter", err, "not an LDAP filter: %s", why);
	if (c->group_base[0] && (why = pl_ldap_filter_check(c->group_filter)))
		return pl_cnode_error(cfg, "group_filter", err, "not an LDAP filter: %s", why);
	if (c->group_base[0] && (!c->group_name_attr[0] || !c->member_attr[0]))
		return pl_cnode_error(cfg, "group_base_dn", err,
				      "a group search needs group_name_attr and group_member_attr");
	if (c->group_base[0])
		c->group_attr[0] = '\0'; /* the search gives the groups */
	if (!c->key_attr[0] || !c->username_attr[0])
		return pl_cnode_error(cfg, "key_attr", err, "key_attr and username_attr are needed");
	if (c->inc_mode == IDS_INC_SYNCREPL && strcasecmp(c->key_attr, "entryUUID") != 0)
		return pl_cnode_error(cfg, "incremental", err,
				      "syncrepl tells deletions by entryUUID: it needs key_attr "
				      "entryUUID");
	return 0;
}

void ids_conf_attrs(const ids_conf_t *c, const char **attrs, size_t n)
{
	size_t k = 0;
	const char *one[] = { c->key_attr,   c->username_attr,	   c->display_attr,
			      c->group_attr, c->change_attr,	   "userAccountControl",
			      c->pin_attr };
	for (size_t i = 0; i < PL_ARRAY_LEN(one) && k + 1 < n; i++)
		if (one[i][0])
			attrs[k++] = one[i];
	for (int i = 0; i < c->nmails && k + 1 < n; i++)
		attrs[k++] = c->mail_attrs[i];
	for (int i = 0; i < c->nbadges && k + 1 < n; i++)
		attrs[k++] = c->badges[i].attr;
	attrs[k] = NULL;
}
