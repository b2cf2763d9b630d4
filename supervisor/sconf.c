/* The supervisor's configuration: schema, defaults, validation. The
 * supervisor reads enabled, path, user, listen and log_level of every
 * service section; the rest of a known service's section is checked
 * against that service's schema (pl_schemas.h), so that -n and a reload
 * refuse what the service would refuse at its next start. Sections of
 * services without a schema (test services, unknown names) pass through
 * unchecked. */
#include "sv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pl_log.h"
#include "pl_schemas.h"
#include "pl_util.h"

/* Off by default: the services that cannot start before the site names
 * what they serve (Email: the mailbox, imap_server; AirPrint: the LAN
 * address, as cupsd usually holds localhost:631; IdentitySync: the
 * directory server). The rest run on the defaults (OffNetwork idles until
 * a gateway is named). */
static const struct {
	const char *name;
	const char *listen; /* NULL: none */
	int enabled;
} default_services[] = {
	{ "PrinterLogicServiceOfflinePrint", "0.0.0.0:31989", 1 },
	{ "PrinterLogicServiceSimpleBadgeRelease", "0.0.0.0:31990", 1 },
	{ "PrinterLogicServiceEmail", NULL, 0 },
	{ "PrinterLogicServiceAirprint", NULL, 0 },
	{ "PrinterLogicServiceOffNetworkServer", NULL, 1 },
	{ "PrinterLogicServiceIdentitySync", NULL, 0 },
	{ "PrinterLogicServiceSNMP", NULL, 1 },
	{ "plsc-console", "127.0.0.1:8443", 1 },
	{ "plsc-directory", NULL, 1 },
};

char *sv_config_default(const char *base, const char *prefix)
{
	char sd[PATH_MAX], ld[PATH_MAX], rd[PATH_MAX], p[PATH_MAX + 128], bindir[PATH_MAX];
	json_t *root = json_object(), *paths = json_object();
	json_t *sup = json_object(), *svcs = json_object();

	if (base) {
		snprintf(sd, sizeof(sd), "%s/lib", base);
		snprintf(ld, sizeof(ld), "%s/log", base);
		snprintf(rd, sizeof(rd), "%s/run", base);
	} else {
		snprintf(sd, sizeof(sd), "/var/lib/plsc");
		snprintf(ld, sizeof(ld), "/var/log/plsc");
		snprintf(rd, sizeof(rd), "/run/plsc");
	}
	(void)pl_fmt(bindir, sizeof(bindir), "%s/libexec/plsc", prefix);
	json_object_set_new(paths, "state_dir", json_string(sd));
	json_object_set_new(paths, "log_dir", json_string(ld));
	json_object_set_new(paths, "run_dir", json_string(rd));
	json_object_set_new(sup, "privsep", json_true());
	json_object_set_new(sup, "group", json_string("plsc"));
	json_object_set_new(sup, "admin_group", json_string("plsc-admin"));
	json_object_set_new(sup, "log_level", json_string("info"));
	json_object_set_new(sup, "log_time", json_string("utc"));
	json_object_set_new(sup, "heartbeat_interval_ms", json_integer(5000));
	json_object_set_new(sup, "heartbeat_timeout_ms", json_integer(15000));
	json_object_set_new(sup, "start_timeout_ms", json_integer(30000));
	json_object_set_new(sup, "stop_grace_ms", json_integer(5000));
	json_object_set_new(sup, "restart_first_ms", json_integer(0));
	json_object_set_new(sup, "restart_base_ms", json_integer(250));
	json_object_set_new(sup, "restart_max_ms", json_integer(30000));
	json_object_set_new(sup, "stable_after_ms", json_integer(10000));
	json_object_set_new(sup, "throttle_ms", json_integer(5000));
	json_object_set_new(sup, "max_deaths", json_integer(10));
	json_object_set_new(sup, "death_window_ms", json_integer(60000));
	json_object_set_new(sup, "log_max_bytes", json_integer(10485760));
	json_object_set_new(sup, "log_keep", json_integer(5));
	for (size_t i = 0; i < PL_ARRAY_LEN(default_services); i++) {
		json_t *s = json_object();
		(void)pl_fmt(p, sizeof(p), "%s/%s", bindir, default_services[i].name);
		json_object_set_new(s, "enabled", json_boolean(default_services[i].enabled));
		json_object_set_new(s, "path", json_string(p));
		if (default_services[i].listen) {
			json_t *l = json_object();
			json_object_set_new(l, "main",
				json_string(default_services[i].listen));
			json_object_set_new(s, "listen", l);
		}
		if (strcmp(default_services[i].name, "plsc-console") == 0) {
			(void)pl_fmt(p, sizeof(p), "%s/share/plsc/console", prefix);
			json_object_set_new(s, "assets_dir", json_string(p));
		}
		json_object_set_new(svcs, default_services[i].name, s);
	}
	json_object_set_new(root, "paths", paths);
	json_object_set_new(root, "supervisor", sup);
	json_object_set_new(root, "services", svcs);
	char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(root);
	return text;
}

static int get_u32(const pl_cnode_t *n, const char *key, long long min,
		   long long max, uint32_t *out, pl_err_t *err)
{
	long long v;
	if (pl_cnode_int(n, key, min, max, *out, &v, err) < 0)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/* *dst (allocated: the default) replaced by the key's value, if any. */
static int get_path(const pl_cnode_t *n, const char *key, char **dst,
		    pl_err_t *err)
{
	const char *v;
	if (pl_cnode_str(n, key, *dst, &v, err) < 0)
		return -1;
	if (v[0] != '/')
		return pl_cnode_error(n, key, err, "expected an absolute path");
	if (strlen(v) >= PATH_MAX)
		return pl_cnode_error(n, key, err, "path too long");
	if (v == *dst)
		return 0;
	char *d = strdup(v);
	if (!d)
		return pl_cnode_error(n, key, err, "out of memory");
	free(*dst);
	*dst = d;
	return 0;
}

static int load_paths(const pl_cnode_t *root, sv_config_t *c, pl_err_t *err)
{
	static const char *const keys[] = { "state_dir", "log_dir", "run_dir",
					    NULL };
	pl_cnode_t p;
	if (pl_cnode_object(root, "paths", 0, &p, err) < 0)
		return -1;
	if (!p.node)
		return 0;
	if (pl_cnode_check_keys(&p, keys, err) < 0 ||
	    get_path(&p, "state_dir", &c->state_dir, err) < 0 ||
	    get_path(&p, "log_dir", &c->log_dir, err) < 0 ||
	    get_path(&p, "run_dir", &c->run_dir, err) < 0)
		return -1;
	return 0;
}

/* A user or group name as useradd takes it. */
static int valid_account(const char *v)
{
	size_t n = strlen(v);
	if (n == 0 || n >= SV_USER_MAX || v[0] == '-')
		return 0;
	for (size_t i = 0; i < n; i++) {
		char ch = v[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		      ch == '-' || ch == '_' || ch == '.'))
			return 0;
	}
	return 1;
}

static int get_name(const pl_cnode_t *n, const char *key, char dst[SV_USER_MAX],
		    pl_err_t *err)
{
	const char *v;
	if (pl_cnode_str(n, key, dst, &v, err) < 0)
		return -1;
	if (!valid_account(v))
		return pl_cnode_error(n, key, err,
			"expected a system account name (lower case letters, "
			"digits, '-', '_', '.'; at most %d)", SV_USER_MAX - 1);
	if (v != dst)
		pl_strlcpy(dst, v, SV_USER_MAX);
	return 0;
}

/* "utc" (the default: 2026-11-28T06:07:31.123Z) or "local" (with the
 * local offset: ...07:07:31.123+01:00). */
static int get_log_time(const pl_cnode_t *n, int *local, pl_err_t *err)
{
	const char *v;
	if (pl_cnode_str(n, "log_time", *local ? "local" : "utc", &v, err) < 0)
		return -1;
	if (strcmp(v, "utc") != 0 && strcmp(v, "local") != 0)
		return pl_cnode_error(n, "log_time", err, "expected \"utc\" or \"local\"");
	*local = strcmp(v, "local") == 0;
	return 0;
}

static int check_level(const pl_cnode_t *n, const char *key, char *dst,
		       size_t sz, pl_err_t *err)
{
	const char *v;
	if (pl_cnode_str(n, key, dst, &v, err) < 0)
		return -1;
	if (pl_log_level_parse(v) < 0)
		return pl_cnode_error(n, key, err,
			"expected one of debug, info, notice, warn, error");
	if (v != dst)
		pl_strlcpy(dst, v, sz);
	return 0;
}

static int load_supervisor(const pl_cnode_t *root, sv_config_t *c,
			   pl_err_t *err)
{
	static const char *const keys[] = {
		"user", "privsep", "group", "admin_group", "log_level",
		"heartbeat_interval_ms",
		"heartbeat_timeout_ms", "start_timeout_ms", "stop_grace_ms",
		"restart_first_ms", "restart_base_ms", "restart_max_ms",
		"stable_after_ms", "throttle_ms", "max_deaths",
		"death_window_ms", "log_max_bytes", "log_keep", "log_time", NULL
	};
	pl_cnode_t s;
	const char *user;
	long long lmb;
	int legacy_user;

	if (pl_cnode_object(root, "supervisor", 0, &s, err) < 0)
		return -1;
	if (!s.node)
		return 0;
	if (pl_cnode_check_keys(&s, keys, err) < 0 ||
	    pl_cnode_str(&s, "user", "plsc", &user, err) < 0 ||
	    pl_cnode_bool(&s, "privsep", 1, &c->privsep, err) < 0 ||
	    get_name(&s, "group", c->group, err) < 0 ||
	    get_name(&s, "admin_group", c->admin_group, err) < 0 ||
	    check_level(&s, "log_level", c->log_level, sizeof(c->log_level), err) < 0 ||
	    get_log_time(&s, &c->log_local, err) < 0 ||
	    get_u32(&s, "heartbeat_interval_ms", 10, 3600000, &c->heartbeat_interval_ms, err) < 0 ||
	    get_u32(&s, "heartbeat_timeout_ms", 20, 3600000, &c->heartbeat_timeout_ms, err) < 0 ||
	    get_u32(&s, "start_timeout_ms", 10, 3600000, &c->start_timeout_ms, err) < 0 ||
	    get_u32(&s, "stop_grace_ms", 10, 600000, &c->stop_grace_ms, err) < 0 ||
	    get_u32(&s, "restart_first_ms", 0, 60000, &c->restart_first_ms, err) < 0 ||
	    get_u32(&s, "restart_base_ms", 1, 600000, &c->restart_base_ms, err) < 0 ||
	    get_u32(&s, "restart_max_ms", 1, 3600000, &c->restart_max_ms, err) < 0 ||
	    get_u32(&s, "stable_after_ms", 0, 3600000, &c->stable_after_ms, err) < 0 ||
	    get_u32(&s, "throttle_ms", 0, 3600000, &c->throttle_ms, err) < 0 ||
	    get_u32(&s, "max_deaths", 1, SV_MAX_DEATHS, &c->max_deaths, err) < 0 ||
	    get_u32(&s, "death_window_ms", 1, 86400000, &c->death_window_ms, err) < 0 ||
	    get_u32(&s, "log_keep", 0, 100, &c->log_keep, err) < 0 ||
	    pl_cnode_int(&s, "log_max_bytes", 4096, 1LL << 40, (long long)c->log_max_bytes, &lmb, err) < 0)
		return -1;
	/* Before each service had its own user, "user" named the one they
	 * shared, and "" turned privilege dropping off: that still does. */
	legacy_user = json_object_get(s.node, "user") != NULL;
	if (legacy_user && user[0] == '\0')
		c->privsep = 0;
	if (c->heartbeat_timeout_ms <= c->heartbeat_interval_ms)
		return pl_cnode_error(&s, "heartbeat_timeout_ms", err,
			"must be larger than heartbeat_interval_ms (%u)",
			c->heartbeat_interval_ms);
	c->log_max_bytes = (uint64_t)lmb;
	return 0;
}

static int load_listen(const pl_cnode_t *sec, sv_svcconf_t *sc, pl_err_t *err)
{
	pl_cnode_t l;
	const char *key;
	json_t *val;

	if (pl_cnode_object(sec, "listen", 0, &l, err) < 0)
		return -1;
	if (!l.node)
		return 0;
	json_object_foreach(l.node, key, val) {
		char host[128];
		int port;
		if (sc->nlisten >= SV_MAX_LISTEN)
			return pl_cnode_error(&l, key, err, "too many sockets (max %d)",
					      SV_MAX_LISTEN);
		if (!pl_valid_name(key) || strlen(key) >= sizeof(sc->listen[0].name))
			return pl_cnode_error(&l, key, err, "invalid socket name");
		if (!json_is_string(val) ||
		    pl_parse_hostport(json_string_value(val), host, sizeof(host), &port) < 0 ||
		    strlen(json_string_value(val)) >= sizeof(sc->listen[0].addr))
			return pl_cnode_error(&l, key, err,
				"expected \"host:port\" (e.g. \"0.0.0.0:31989\")");
		pl_strlcpy(sc->listen[sc->nlisten].name, key, sizeof(sc->listen[0].name));
		pl_strlcpy(sc->listen[sc->nlisten].addr, json_string_value(val),
			   sizeof(sc->listen[0].addr));
		sc->nlisten++;
	}
	return 0;
}

static int load_service(const pl_cnode_t *svcs, const char *name,
			sv_config_t *c, pl_err_t *err)
{
	pl_cnode_t sec;
	const char *path;
	if (c->nsvcs >= SV_MAX_SERVICES)
		return pl_cnode_error(svcs, name, err, "too many services (max %d)",
				      SV_MAX_SERVICES);
	sv_svcconf_t *grown = realloc(c->svcs, sizeof(*grown) * (size_t)(c->nsvcs + 1));
	if (!grown)
		return pl_cnode_error(svcs, name, err, "out of memory");
	c->svcs = grown;
	sv_svcconf_t *sc = &c->svcs[c->nsvcs];
	if (!pl_valid_name(name))
		return pl_cnode_error(svcs, name, err,
			"invalid service name (letters, digits, '_', '-', '.')");
	if (pl_cnode_object(svcs, name, 1, &sec, err) < 0)
		return -1;
	memset(sc, 0, sizeof(*sc));
	pl_strlcpy(sc->name, name, sizeof(sc->name));
	pl_strlcpy(sc->log_level, c->log_level, sizeof(sc->log_level));
	sc->role = sv_role_of(name);
	sv_default_user(name, sc->user, sizeof(sc->user));
	sc->max_processes = SV_MAX_PROCESSES_DEFAULT;
	if (pl_cnode_bool(&sec, "enabled", 1, &sc->enabled, err) < 0 ||
	    get_u32(&sec, "max_processes", 16, 65536, &sc->max_processes, err) < 0 ||
	    get_name(&sec, "user", sc->user, err) < 0 ||
	    pl_cnode_str_req(&sec, "path", &path, err) < 0 ||
	    check_level(&sec, "log_level", sc->log_level, sizeof(sc->log_level), err) < 0 ||
	    load_listen(&sec, sc, err) < 0)
		return -1;
	if (path[0] != '/')
		return pl_cnode_error(&sec, "path", err, "expected an absolute path");
	const pl_schema_t *schema = pl_schemas_for(name);
	if (schema && pl_schema_check(schema, &sec, err) < 0)
		return -1;
	if (strlen(path) >= PATH_MAX)
		return pl_cnode_error(&sec, "path", err, "path too long");
	if (!(sc->path = strdup(path)))
		return pl_cnode_error(&sec, "path", err, "out of memory");
	sc->section = json_incref(sec.node);
	c->nsvcs++;
	return 0;
}

static int set_defaults(sv_config_t *c, const char *file)
{
	memset(c, 0, sizeof(*c));
	c->file = strdup(file);
	c->state_dir = strdup("/var/lib/plsc");
	c->log_dir = strdup("/var/log/plsc");
	c->run_dir = strdup("/run/plsc");
	c->privsep = 1;
	pl_strlcpy(c->group, "plsc", sizeof(c->group));
	pl_strlcpy(c->admin_group, "plsc-admin", sizeof(c->admin_group));
	pl_strlcpy(c->log_level, "info", sizeof(c->log_level));
	c->heartbeat_interval_ms = 5000;
	c->heartbeat_timeout_ms = 15000;
	c->start_timeout_ms = 30000;
	c->stop_grace_ms = 5000;
	c->restart_first_ms = 0;
	c->restart_base_ms = 250;
	c->restart_max_ms = 30000;
	c->stable_after_ms = 10000;
	c->throttle_ms = 5000;
	c->max_deaths = 10;
	c->death_window_ms = 60000;
	c->log_max_bytes = 10u * 1024u * 1024u;
	c->log_keep = 5;
	return c->file && c->state_dir && c->log_dir && c->run_dir ? 0 : -1;
}

int sv_config_load(const char *file, sv_config_t *c, pl_err_t *err)
{
	static const char *const keys[] = { "paths", "supervisor", "services",
					    NULL };
	pl_cnode_t root, svcs;
	const char *name;
	json_t *val;

	if (set_defaults(c, file) < 0) {
		sv_config_free(c);
		(void)pl_fmt(err->msg, sizeof(err->msg), "%s: out of memory", file);
		return -1;
	}
	pl_config_t *cfg = pl_config_load(file, err);
	if (!cfg) {
		sv_config_free(c);
		return -1;
	}
	root = pl_config_root(cfg);
	int rc = -1;
	if (pl_cnode_check_keys(&root, keys, err) < 0 ||
	    load_paths(&root, c, err) < 0 ||
	    load_supervisor(&root, c, err) < 0 ||
	    pl_cnode_object(&root, "services", 1, &svcs, err) < 0)
		goto out;
	json_object_foreach(svcs.node, name, val) {
		(void)val;
		if (load_service(&svcs, name, c, err) < 0)
			goto out;
	}
	rc = 0;
out:
	if (rc < 0)
		sv_config_free(c);
	pl_config_free(cfg);
	return rc;
}

void sv_config_free(sv_config_t *c)
{
	for (int i = 0; i < c->nsvcs; i++)
		sv_svcconf_clear(&c->svcs[i]);
	free(c->svcs);
	c->svcs = NULL;
	c->nsvcs = 0;
	free(c->file);
	free(c->state_dir);
	free(c->log_dir);
	free(c->run_dir);
	c->file = c->state_dir = c->log_dir = c->run_dir = NULL;
}

int sv_svcconf_copy(sv_svcconf_t *dst, const sv_svcconf_t *src)
{
	char *path = strdup(src->path);
	if (!path)
		return -1;
	*dst = *src;
	dst->path = path;
	json_incref(dst->section);
	return 0;
}

void sv_svcconf_clear(sv_svcconf_t *sc)
{
	free(sc->path);
	sc->path = NULL;
	json_decref(sc->section);
	sc->section = NULL;
}

const sv_svcconf_t *sv_config_find(const sv_config_t *c, const char *name)
{
	for (int i = 0; i < c->nsvcs; i++)
		if (strcmp(c->svcs[i].name, name) == 0)
			return &c->svcs[i];
	return NULL;
}

int sv_svcconf_listen_equal(const sv_svcconf_t *a, const sv_svcconf_t *b)
{
	if (a->nlisten != b->nlisten)
		return 0;
	for (int i = 0; i < a->nlisten; i++)
		if (strcmp(a->listen[i].name, b->listen[i].name) != 0 ||
		    strcmp(a->listen[i].addr, b->listen[i].addr) != 0)
			return 0;
	return 1;
}

int sv_svcconf_needs_restart(const sv_svcconf_t *a, const sv_svcconf_t *b)
{
	return strcmp(a->path, b->path) != 0 ||
	       strcmp(a->log_level, b->log_level) != 0 ||
	       strcmp(a->user, b->user) != 0 ||
	       !sv_svcconf_listen_equal(a, b);
}

int sv_svcconf_section_equal(const sv_svcconf_t *a, const sv_svcconf_t *b)
{
	return json_equal(a->section, b->section);
}
