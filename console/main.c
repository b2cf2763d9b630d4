/* plsc-console: the administrators' web console, a supervised service
 * serving HTTPS on 127.0.0.1:8443 by default. See cs.h for the modules,
 * README "Web console" and docs/plsc-console.8. */
#include "cs.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pl_log.h"
#include "pl_prstatus.h"
#include "pl_schemas.h"
#include "pl_tls.h"
#include "pl_util.h"

#define CS_ASSET_MAX (4u * 1024u * 1024u)
#define CS_MAX_ASSETS 64

/* The keys, ranges and defaults: pl_schema_console (pl_schemas.h),
 * which the supervisor checks too. */
static int cs_settings(cs_t *cs, const pl_cnode_t *cfg, pl_err_t *err)
{
	const pl_schema_t *s = &pl_schema_console;
	long long idle, max, fails, lock, nb, mc, mpa, rt;
	const char *dirpath, *assets, *ctl;
	char def[PATH_MAX];
	const char *env_ctl = getenv(PL_ENV_CONTROL);

	snprintf(def, sizeof(def), "%s/../directory/directory.db",
		 pl_service_state_dir(cs->svc));
	if (pl_schema_check(s, cfg, err) < 0 ||
	    pl_schema_int(s, cfg, "session_idle_s", &idle, err) < 0 ||
	    pl_schema_int(s, cfg, "session_max_s", &max, err) < 0 ||
	    pl_schema_int(s, cfg, "login_max_failures", &fails, err) < 0 ||
	    pl_schema_int(s, cfg, "login_lockout_s", &lock, err) < 0 ||
	    pl_schema_int(s, cfg, "login_name_backoff_s", &nb, err) < 0 ||
	    pl_schema_int(s, cfg, "max_connections", &mc, err) < 0 ||
	    pl_schema_int(s, cfg, "max_connections_per_address", &mpa, err) < 0 ||
	    pl_schema_int(s, cfg, "request_timeout_s", &rt, err) < 0 ||
	    pl_schema_str(s, cfg, "directory", &dirpath, err) < 0 ||
	    pl_schema_str(s, cfg, "assets_dir", &assets, err) < 0 ||
	    pl_schema_str(s, cfg, "control_socket", &ctl, err) < 0)
		return -1;
	if (!dirpath)
		dirpath = def;
	/* The supervisor passes its socket in the environment. */
	if (!ctl)
		ctl = env_ctl ? env_ctl : "/run/plsc/plsc.sock";
	cs->session_idle_s = (uint32_t)idle;
	cs->session_max_s = (uint32_t)max;
	cs->login_max_failures = (uint32_t)fails;
	cs->login_lockout_s = (uint32_t)lock;
	cs->login_name_backoff_s = (uint32_t)nb;
	cs->max_connections = (uint32_t)mc;
	cs->max_per_address = (uint32_t)mpa;
	cs->request_timeout_s = (uint32_t)rt;
	pl_strlcpy(cs->directory_path, dirpath, sizeof(cs->directory_path));
	(void)pl_fmt(cs->status_path, sizeof(cs->status_path), "%s/../%s/%s",
		     pl_service_state_dir(cs->svc), PL_PRSTATUS_SERVICE, PL_PRSTATUS_FILE);
	pl_strlcpy(cs->assets_dir, assets, sizeof(cs->assets_dir));
	pl_strlcpy(cs->control_path, ctl, sizeof(cs->control_path));
	return 0;
}

/* ---- the pages: every regular file of assets_dir, read once ---- */

static const char *asset_type(const char *name)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
		{ ".html", "text/html; charset=utf-8" },
		{ ".js", "text/javascript; charset=utf-8" },
		{ ".css", "text/css; charset=utf-8" },
		{ ".svg", "image/svg+xml" },
		{ ".png", "image/png" },
		{ ".ico", "image/x-icon" },
		{ ".txt", "text/plain; charset=utf-8" },
	};
	const char *dot = strrchr(name, '.');
	for (size_t i = 0; dot && i < PL_ARRAY_LEN(types); i++)
		if (strcmp(dot, types[i].ext) == 0)
			return types[i].type;
	return NULL;
}

static int asset_name_ok(const char *name)
{
	if (name[0] == '.' || strlen(name) >= sizeof(((struct cs_asset *)0)->name))
		return 0;
	for (const char *p = name; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-' && *p != '_')
			return 0;
	return asset_type(name) != NULL;
}

static int load_assets(cs_t *cs, pl_err_t *err)
{
	DIR *d = opendir(cs->assets_dir);
	struct dirent *de;
	if (!d) {
		pl_fmt(err->msg, sizeof(err->msg), "assets_dir %s: %s", cs->assets_dir,
		       strerror(errno));
		return -1;
	}
	cs->assets = calloc(CS_MAX_ASSETS, sizeof(*cs->assets));
	while (cs->assets && (de = readdir(d)) != NULL && cs->nassets < CS_MAX_ASSETS) {
		char path[PATH_MAX];
		struct stat st;
		if (!asset_name_ok(de->d_name) ||
		    pl_fmt(path, sizeof(path), "%s/%s", cs->assets_dir, de->d_name) < 0 ||
		    stat(path, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		struct cs_asset *a = &cs->assets[cs->nassets];
		a->data = pl_read_file(path, CS_ASSET_MAX, &a->len);
		if (!a->data) {
			pl_warn("assets_dir: cannot read %s: %s", path, strerror(errno));
			continue;
		}
		pl_strlcpy(a->name, de->d_name, sizeof(a->name));
		a->type = asset_type(de->d_name);
		cs->nassets++;
	}
	closedir(d);
	for (size_t i = 0; i < cs->nassets; i++)
		if (strcmp(cs->assets[i].name, "index.html") == 0)
			return 0;
	pl_fmt(err->msg, sizeof(err->msg), "assets_dir %s has no index.html", cs->assets_dir);
	return -1;
}

/* ---- TLS: OpenSSL checks (or makes) the pair; MHD takes the PEM text ---- */

static int load_tls(cs_t *cs, const pl_cnode_t *cfg, char **cert_pem, char **key_pem,
		    pl_err_t *err)
{
	const char *cert, *key;
	char fp[128], cpath[PATH_MAX], kpath[PATH_MAX];
	/* cs_settings checked them, "needs" included: both or neither. */
	if (pl_schema_str(&pl_schema_console, cfg, "tls_cert", &cert, err) < 0 ||
	    pl_schema_str(&pl_schema_console, cfg, "tls_key", &key, err) < 0)
		return -1;
	SSL_CTX *ctx = pl_tls_server_ctx(cert, key, pl_service_state_dir(cs->svc), CS_NAME, err);
	if (!ctx)
		return -1;
	if (pl_tls_fingerprint(ctx, fp, sizeof(fp)) == 0)
		pl_info("TLS certificate %s, SHA-256 %s",
			cert ? cert : "self-signed (tls-cert.pem in the state dir)", fp);
	SSL_CTX_free(ctx);
	(void)pl_fmt(cpath, sizeof(cpath), "%s", cert ? cert : "");
	(void)pl_fmt(kpath, sizeof(kpath), "%s", key ? key : "");
	if (!cert && (pl_fmt(cpath, sizeof(cpath), "%s/tls-cert.pem",
			     pl_service_state_dir(cs->svc)) < 0 ||
		      pl_fmt(kpath, sizeof(kpath), "%s/tls-key.pem",
			     pl_service_state_dir(cs->svc)) < 0))
		return -1;
	*cert_pem = pl_read_file(cpath, 1u << 20, NULL);
	*key_pem = pl_read_file(kpath, 1u << 20, NULL);
	if (!*cert_pem || !*key_pem) {
		pl_fmt(err->msg, sizeof(err->msg), "cannot read %s or %s: %s", cpath, kpath,
		       strerror(errno));
		return -1;
	}
	return 0;
}

/* ---- plsc status ---- */

static void status_now(pl_loop_t *loop, void *arg)
{
	cs_t *cs = arg;
	(void)loop;
	cs->status_timer = NULL;
	pl_service_status(cs->svc, "%llu password checks, %llu wrong; %llu logins refused "
			  "by the lock-out", (unsigned long long)cs->sessions.checked,
			  (unsigned long long)cs->sessions.failed,
			  (unsigned long long)cs->sessions.refused);
}

void cs_status_note(cs_t *cs)
{
	if (!cs->status_timer)
		cs->status_timer = pl_loop_timer(cs->loop, 1000, status_now, cs);
}

/* ---- the worker pool ---- */

typedef struct {
	cs_req_t *r;
	void (*fn)(void *), (*done)(void *);
	void *arg;
} run_t;

static void run_work(void *arg)
{
	run_t *t = arg;
	t->fn(t->arg);
}

static void run_done(void *arg)
{
	run_t *t = arg;
	t->done(t->arg);
	free(t);
}

void cs_run(cs_req_t *r, void (*fn)(void *), void (*done)(void *), void *arg)
{
	run_t *t = calloc(1, sizeof(*t));
	if (!t) {
		cs_reply_error(r, 500, "out of memory");
		return;
	}
	*t = (run_t){ .r = r, .fn = fn, .done = done, .arg = arg };
	if (pl_work_submit(r->cs->work, run_work, run_done, t) < 0) {
		free(t);
		cs_reply_error(r, 503, "busy; try again");
	}
}

/* ---- the service ---- */

/* The sandbox beyond the default: the pages (assets_dir) and configured
 * TLS files read-only, the directory's folder read-only (users, printers,
 * admins: the console faces the network, so it reads; plsc-directory
 * writes). The control socket needs no file-system right: connecting to
 * a Unix socket is not a Landlock access. */
static int cs_sandbox(pl_service_t *svc, const pl_cnode_t *cfg, pl_sandbox_t *sb,
		      void *ctx)
{
	cs_t *cs = ctx;
	pl_err_t err = { "" };
	cs->svc = svc;
	if (cs_settings(cs, cfg, &err) < 0 || pl_tls_sandbox(cfg, sb, &err) < 0) {
		pl_err("%s", err.msg);
		return PL_EXIT_CONFIG;
	}
	if (pl_sandbox_allow(sb, cs->assets_dir, PL_SANDBOX_RO) < 0 ||
	    pl_dir_sandbox(sb, cs->directory_path, PL_DIR_READ_CREATE, &err) < 0) {
		pl_err("sandbox: %s", err.msg[0] ? err.msg : strerror(errno));
		return 1;
	}
	/* the printers' SNMP status: its folder read-only, when there is one
	 * (the sandbox can only name what exists now) */
	char sdir[sizeof(cs->status_path)];
	pl_strlcpy(sdir, cs->status_path, sizeof(sdir));
	char *slash = strrchr(sdir, '/');
	if (slash)
		*slash = '\0';
	if (access(sdir, X_OK) != 0 || pl_sandbox_allow(sb, sdir, PL_SANDBOX_RO) < 0)
		cs->status_path[0] = '\0';
	return 0;
}

static int cs_start(pl_service_t *svc, const pl_cnode_t *cfg, void *ctx)
{
	cs_t *cs = ctx;
	pl_err_t err = { "" };
	char *cert = NULL, *key = NULL, msg[256];
	int rc = 1;

	cs->svc = svc;
	cs->loop = pl_service_loop(svc);
	if (cs_settings(cs, cfg, &err) < 0 || load_assets(cs, &err) < 0 ||
	    load_tls(cs, cfg, &cert, &key, &err) < 0) {
		pl_err("%s", err.msg);
		rc = PL_EXIT_CONFIG;
		goto out;
	}
	cs_sessions_init(&cs->sessions, (uint64_t)cs->session_idle_s * 1000,
			 (uint64_t)cs->session_max_s * 1000, cs->login_max_failures,
			 (uint64_t)cs->login_lockout_s * 1000,
			 (uint64_t)cs->login_name_backoff_s * 1000);
	/* Read-only: changes go to plsc-directory (dirw.c). A missing
	 * database is created first where we may (a first start without
	 * privilege separation, before plsc-directory made it). */
	if (pl_dir_open(&cs->dir, cs->directory_path, PL_DIR_READ_CREATE, &err) < 0) {
		pl_err("directory: %s", err.msg);
		goto out;
	}
	cs->work = pl_work_new(cs->loop, "cs-work", 2, 0);
	cs->ctl = pl_ctl_new(cs->loop, cs->control_path);
	if (!cs->work || !cs->ctl) {
		pl_err("control_socket %s: path too long or out of memory", cs->control_path);
		goto out;
	}
	int fd = pl_service_listen_fd(svc, "main");
	if (fd < 0 && (fd = pl_listen_tcp(CS_DEFAULT_LISTEN, 64, msg, sizeof(msg))) < 0) {
		pl_err("listen: %s", msg);
		goto out;
	}
	cs->http = cs_http_start(cs, fd, cert, key, &err);
	if (!cs->http) {
		pl_err("%s", err.msg);
		goto out;
	}
	pl_info("serving %zu pages from %s; supervisor at %s", cs->nassets, cs->assets_dir,
		cs->control_path);
	rc = 0;
out:
	if (key)
		OPENSSL_cleanse(key, strlen(key));
	free(cert);
	free(key);
	return rc;
}

/* Routed frames: the answers of plsc-directory (or the supervisor's, when
 * it could not deliver) to our DIR_WRITEs. */
static void cs_message(pl_service_t *svc, const pl_frame_t *f, void *ctx)
{
	(void)svc;
	if (f->fd >= 0)
		close(f->fd);
	cs_dirw_message(ctx, f);
}

static void cs_stop(pl_service_t *svc, void *ctx)
{
	cs_t *cs = ctx;
	(void)svc;
	pl_loop_timer_cancel(cs->loop, cs->status_timer);
	cs->status_timer = NULL;
	/* Answers still in the works resume their connections first: MHD
	 * must not be stopped with a connection suspended. */
	pl_work_free(cs->work);
	cs->work = NULL;
	cs_dirw_free(cs);
	pl_ctl_free(cs->ctl);
	cs->ctl = NULL;
	cs_http_stop(cs->http);
	pl_dir_close(cs->dir);
	for (size_t i = 0; i < cs->nassets; i++)
		free(cs->assets[i].data);
	free(cs->assets);
}

int main(int argc, char **argv)
{
	static const pl_service_def_t def = {
		.name = CS_NAME,
		.summary = "The administrators' web console: services, logs, held jobs,\n"
			   "users, printers and badge readers, over HTTPS.",
		.schema = &pl_schema_console,
		.help = "listen.main defaults to \"127.0.0.1:8443\".\n"
			"Changes to the directory go to plsc-directory (DIR_WRITE).\n"
			"Administrators: plsc admin add NAME. See plsc-console(8).\n",
		.start = cs_start,
		.message = cs_message,
		.stop = cs_stop,
		.sandbox = cs_sandbox,
	};
	static cs_t cs; /* large (session tables): not on the stack */
	return pl_service_main(argc, argv, &def, &cs);
}
