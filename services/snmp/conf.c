/* PrinterLogicServiceSNMP's section (pl_schema_snmp) into snmp_conf_t.
 *
 * "profiles": {"NAME": {"version": "1" | "2c" | "3", "community": "...",
 *   "community_file": "/path", "user": "...", "auth": "SHA" | "SHA-224" |
 *   "SHA-256" | "SHA-384" | "SHA-512", "auth_password_file": "/path",
 *   "priv": "AES", "priv_password_file": "/path"}}
 * Secret files must not be readable by group or others (0600 or 0400):
 * a secret that others can read is refused, not used. Without a
 * "default" profile, "default" is v2c community "public". */
#include "snmp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>

#include "pl_schemas.h"
#include "pl_util.h"

#define S (&pl_schema_snmp)

static int str_key(const pl_cnode_t *cfg, const char *key, char *out, size_t sz, pl_err_t *err)
{
	const char *v;
	if (pl_schema_str(S, cfg, key, &v, err) < 0)
		return -1;
	if (pl_fmt(out, sz, "%s", v ? v : "") < 0)
		return pl_cnode_error(cfg, key, err, "too long (at most %zu bytes)", sz - 1);
	return 0;
}

/* One line from a 0600 file: the secret, without its line end. */
static int secret_file(const pl_cnode_t *n, const char *key, char *out, size_t sz,
		       pl_err_t *err)
{
	const char *path;
	struct stat st;
	size_t len = 0;
	if (pl_cnode_str_req(n, key, &path, err) < 0)
		return -1;
	if (stat(path, &st) < 0)
		return pl_cnode_error(n, key, err, "cannot read %s", path);
	if (st.st_mode & 077)
		return pl_cnode_error(n, key, err, "%s is readable by others: chmod 600 it", path);
	char *text = pl_read_file(path, 4096, &len);
	if (!text)
		return pl_cnode_error(n, key, err, "cannot read %s", path);
	text[strcspn(text, "\r\n")] = '\0';
	int rc = 0;
	if (!text[0] || pl_fmt(out, sz, "%s", text) < 0)
		rc = pl_cnode_error(n, key, err, "%s: empty, or longer than %zu bytes", path,
				    sz - 1);
	OPENSSL_cleanse(text, len);
	free(text);
	return rc;
}

static int auth_of(const char *s)
{
	static const struct {
		const char *name;
		int v;
	} m[] = { { "SHA", 1 }, { "SHA-1", 1 }, { "SHA-224", 224 }, { "SHA-256", 256 },
		  { "SHA-384", 384 }, { "SHA-512", 512 } };
	for (size_t i = 0; i < PL_ARRAY_LEN(m); i++)
		if (strcmp(s, m[i].name) == 0)
			return m[i].v;
	return 0;
}

static int profile_v3(const pl_cnode_t *n, sp_profile_t *p, pl_err_t *err)
{
	const char *user, *auth, *priv;
	if (pl_cnode_str_req(n, "user", &user, err) < 0 ||
	    pl_cnode_str(n, "auth", "SHA", &auth, err) < 0 ||
	    pl_cnode_str(n, "priv", "", &priv, err) < 0)
		return -1;
	if (pl_fmt(p->user, sizeof(p->user), "%s", user) < 0 || !user[0])
		return pl_cnode_error(n, "user", err, "1 to %zu bytes", sizeof(p->user) - 1);
	if (!(p->auth = auth_of(auth)))
		return pl_cnode_error(n, "auth", err, "SHA, SHA-224, SHA-256, SHA-384 or SHA-512");
	if (priv[0] && strcmp(priv, "AES") != 0 && strcmp(priv, "AES-128") != 0)
		return pl_cnode_error(n, "priv", err, "AES (AES-128), or absent for authNoPriv");
	p->level = priv[0] ? 3 : 2;
	p->priv = priv[0] ? 1 : 0;
	if (secret_file(n, "auth_password_file", p->auth_pass, sizeof(p->auth_pass), err) < 0 ||
	    (p->level == 3 &&
	     secret_file(n, "priv_password_file", p->priv_pass, sizeof(p->priv_pass), err) < 0))
		return -1;
	char why[128];
	if (sp_profile_keys(p, why, sizeof(why)) < 0)
		return pl_cnode_error(n, NULL, err, "%s", why);
	return 0;
}

static int profile(const pl_cnode_t *n, const char *name, sp_profile_t *p, pl_err_t *err)
{
	static const char *const keys[] = { "version", "community", "community_file", "user",
					    "auth", "auth_password_file", "priv",
					    "priv_password_file", NULL };
	const char *ver, *comm;
	memset(p, 0, sizeof(*p));
	if (pl_cnode_check_keys(n, keys, err) < 0 || pl_cnode_str(n, "version", "2c", &ver, err) < 0)
		return -1;
	if (pl_fmt(p->name, sizeof(p->name), "%s", name) < 0)
		return pl_cnode_error(n, NULL, err, "profile name too long");
	p->version = strcmp(ver, "1") == 0 ? 1 : strcmp(ver, "2c") == 0 ? 2
						: strcmp(ver, "3") == 0 ? 3 : 0;
	if (!p->version)
		return pl_cnode_error(n, "version", err, "\"1\", \"2c\" or \"3\"");
	if (p->version == 3)
		return profile_v3(n, p, err);
	if (json_object_get(n->node, "community_file"))
		return secret_file(n, "community_file", p->community, sizeof(p->community), err);
	if (pl_cnode_str(n, "community", "public", &comm, err) < 0)
		return -1;
	if (pl_fmt(p->community, sizeof(p->community), "%s", comm) < 0)
		return pl_cnode_error(n, "community", err, "too long");
	return 0;
}

static int profiles(const pl_cnode_t *cfg, snmp_conf_t *c, pl_err_t *err)
{
	pl_cnode_t obj, one;
	const char *name;
	json_t *v;
	if (pl_cnode_object(cfg, "profiles", 0, &obj, err) < 0)
		return -1;
	json_object_foreach(obj.node, name, v) {
		if (c->nprofiles == SNMP_MAX_PROFILES)
			return pl_cnode_error(&obj, name, err, "at most %d profiles",
					      SNMP_MAX_PROFILES);
		if (pl_cnode_object(&obj, name, 1, &one, err) < 0 ||
		    profile(&one, name, &c->profiles[c->nprofiles], err) < 0)
			return -1;
		c->nprofiles++;
	}
	if (!snmp_conf_profile(c, "default") && c->nprofiles < SNMP_MAX_PROFILES) {
		sp_profile_t *p = &c->profiles[c->nprofiles++];
		memset(p, 0, sizeof(*p));
		pl_strlcpy(p->name, "default", sizeof(p->name));
		p->version = 2;
		pl_strlcpy(p->community, "public", sizeof(p->community));
	}
	return 0;
}

int snmp_conf_parse(const pl_cnode_t *cfg, const char *state_dir, snmp_conf_t *c,
		    pl_err_t *err)
{
	memset(c, 0, sizeof(*c));
	if (pl_schema_int(S, cfg, "window", &c->window, err) < 0 ||
	    pl_schema_int(S, cfg, "alert_polls", &c->alert_polls, err) < 0 ||
	    pl_schema_int(S, cfg, "toner_low_percent", &c->toner_low, err) < 0 ||
	    str_key(cfg, "mail_to", c->mail_to, sizeof(c->mail_to), err) < 0 ||
	    str_key(cfg, "mail_from", c->mail_from, sizeof(c->mail_from), err) < 0 ||
	    str_key(cfg, "smtp_url", c->smtp_url, sizeof(c->smtp_url), err) < 0 ||
	    str_key(cfg, "directory", c->directory_path, sizeof(c->directory_path), err) < 0)
		return -1;
	if (!c->directory_path[0])
		(void)pl_fmt(c->directory_path, sizeof(c->directory_path),
			     "%s/../directory/directory.db", state_dir);
	return profiles(cfg, c, err);
}

const sp_profile_t *snmp_conf_profile(const snmp_conf_t *c, const char *name)
{
	for (size_t i = 0; i < c->nprofiles; i++)
		if (strcmp(c->profiles[i].name, name) == 0)
			return &c->profiles[i];
	return NULL;
}
