/* The service's section (pl_schema_email) read into em_conf_t: the keys'
 * ranges are the schema's; here are the rules between keys. */
#include "em.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "pl_log.h"
#include "pl_schemas.h"
#include "pl_util.h"

#define MIB (1024ull * 1024ull)

static const pl_schema_t *S = &pl_schema_email;

/* A string key into a fixed buffer ("" when absent). */
static int str_key(const pl_cnode_t *cfg, const char *key, char *out, size_t sz,
		   pl_err_t *err)
{
	const char *v;
	if (pl_schema_str(S, cfg, key, &v, err) < 0)
		return -1;
	if (!v)
		v = "";
	if (strlen(v) >= sz)
		return pl_cnode_error(cfg, key, err, "too long (at most %zu bytes)", sz - 1);
	pl_strlcpy(out, v, sz);
	return 0;
}

static int security_key(const pl_cnode_t *cfg, const char *key, int *out, pl_err_t *err)
{
	char v[16];
	if (str_key(cfg, key, v, sizeof(v), err) < 0)
		return -1;
	if (strcmp(v, "tls") == 0)
		*out = EM_SEC_TLS;
	else if (strcmp(v, "starttls") == 0)
		*out = EM_SEC_STARTTLS;
	else
		return pl_cnode_error(cfg, key, err, "expected \"tls\" or \"starttls\"");
	return 0;
}

static int server_key(const pl_cnode_t *cfg, const char *key, int defport, char *host,
		      size_t hsz, int *port, pl_err_t *err)
{
	char v[300];
	if (str_key(cfg, key, v, sizeof(v), err) < 0)
		return -1;
	if (!v[0]) {
		host[0] = 0;
		return 0;
	}
	if (pl_parse_server(v, defport, host, hsz, port) < 0)
		return pl_cnode_error(cfg, key, err, "expected host or host:port");
	return 0;
}

static int imap_keys(em_conf_t *c, const pl_cnode_t *cfg, pl_err_t *err)
{
	char auth[16];
	long long to;
	if (security_key(cfg, "imap_security", &c->security, err) < 0 ||
	    server_key(cfg, "imap_server", c->security == EM_SEC_TLS ? 993 : 143, c->host,
		       sizeof(c->host), &c->port, err) < 0 ||
	    str_key(cfg, "imap_user", c->user, sizeof(c->user), err) < 0 ||
	    str_key(cfg, "imap_auth", auth, sizeof(auth), err) < 0 ||
	    str_key(cfg, "imap_password_file", c->password_file, sizeof(c->password_file), err) < 0 ||
	    str_key(cfg, "imap_oauth2_token_file", c->token_file, sizeof(c->token_file), err) < 0 ||
	    str_key(cfg, "imap_ca_file", c->ca_file, sizeof(c->ca_file), err) < 0 ||
	    str_key(cfg, "imap_fingerprint", c->fingerprint, sizeof(c->fingerprint), err) < 0 ||
	    str_key(cfg, "imap_tls_name", c->tls_name, sizeof(c->tls_name), err) < 0 ||
	    pl_schema_int(S, cfg, "imap_timeout_s", &to, err) < 0)
		return -1;
	if (!c->host[0])
		return pl_cnode_error(cfg, "imap_server", err, "required");
	if (!c->user[0])
		return pl_cnode_error(cfg, "imap_user", err, "required");
	if (strcmp(auth, "login") == 0)
		c->auth = EM_AUTH_LOGIN;
	else if (strcmp(auth, "xoauth2") == 0)
		c->auth = EM_AUTH_XOAUTH2;
	else
		return pl_cnode_error(cfg, "imap_auth", err, "expected \"login\" or \"xoauth2\"");
	if (c->auth == EM_AUTH_LOGIN && !c->password_file[0])
		return pl_cnode_error(cfg, "imap_password_file", err, "required with imap_auth login");
	if (c->auth == EM_AUTH_XOAUTH2 && !c->token_file[0])
		return pl_cnode_error(cfg, "imap_oauth2_token_file", err,
				      "required with imap_auth xoauth2");
	if (!c->tls_name[0])
		pl_strlcpy(c->tls_name, c->host, sizeof(c->tls_name));
	c->timeout_ms = (uint32_t)to * 1000;
	return 0;
}

static int folder_keys(em_conf_t *c, const pl_cnode_t *cfg, pl_err_t *err)
{
	long long ir, pi, rm;
	if (str_key(cfg, "mailbox", c->mailbox, sizeof(c->mailbox), err) < 0 ||
	    str_key(cfg, "printed_folder", c->printed, sizeof(c->printed), err) < 0 ||
	    str_key(cfg, "rejected_folder", c->rejected, sizeof(c->rejected), err) < 0 ||
	    pl_schema_int(S, cfg, "idle_renew_s", &ir, err) < 0 ||
	    pl_schema_int(S, cfg, "poll_interval_s", &pi, err) < 0 ||
	    pl_schema_int(S, cfg, "reconnect_max_s", &rm, err) < 0)
		return -1;
	if (!c->mailbox[0])
		return pl_cnode_error(cfg, "mailbox", err, "must not be empty");
	/* IMAP quoting is libetpan's; a folder name with CR, LF or NUL
	 * cannot be quoted at all. */
	if (strpbrk(c->mailbox, "\r\n") || strpbrk(c->printed, "\r\n") ||
	    strpbrk(c->rejected, "\r\n"))
		return pl_cnode_error(cfg, NULL, err, "a folder name holds a line break");
	c->idle_renew_ms = (uint32_t)ir * 1000;
	c->poll_ms = (uint32_t)pi * 1000;
	c->reconnect_max_ms = (uint32_t)rm * 1000;
	return 0;
}

static int mail_keys(em_conf_t *c, const pl_cnode_t *cfg, pl_err_t *err)
{
	long long mm, ma, mp, md, dm, cs, cw, cm, gp, gd;
	pl_mail_opts_default(&c->mopts);
	if (pl_schema_int(S, cfg, "max_message_mb", &mm, err) < 0 ||
	    pl_schema_int(S, cfg, "max_attachments", &ma, err) < 0 ||
	    pl_schema_int(S, cfg, "max_pages", &mp, err) < 0 ||
	    pl_schema_int(S, cfg, "max_depth", &md, err) < 0 ||
	    pl_schema_int(S, cfg, "max_decoded_mb", &dm, err) < 0 ||
	    pl_schema_int(S, cfg, "convert_cpu_s", &cs, err) < 0 ||
	    pl_schema_int(S, cfg, "convert_wall_s", &cw, err) < 0 ||
	    pl_schema_int(S, cfg, "convert_mem_mb", &cm, err) < 0 ||
	    pl_schema_bool(S, cfg, "print_body", &c->mopts.body, err) < 0 ||
	    pl_schema_bool(S, cfg, "monospace", &c->mopts.monospace, err) < 0 ||
	    pl_schema_int(S, cfg, "guest_max_pages", &gp, err) < 0 ||
	    pl_schema_int(S, cfg, "guest_max_per_day", &gd, err) < 0)
		return -1;
	c->mopts.max_message_bytes = (uint64_t)mm * MIB;
	c->mopts.max_attachments = (unsigned)ma;
	c->mopts.max_pages = (unsigned)mp;
	c->mopts.max_depth = (unsigned)md;
	c->mopts.max_decoded_bytes = (uint64_t)dm * MIB;
	c->mopts.cpu_seconds = (unsigned)cs;
	c->mopts.wall_ms = (unsigned)cw * 1000;
	c->mopts.mem_bytes = (uint64_t)cm * MIB;
	c->guest_max_pages = (uint32_t)gp;
	c->guest_max_per_day = (uint32_t)gd;
	return 0;
}

/* An array of strings into dst[max][sz]; *n how many. */
static int str_array(const pl_cnode_t *cfg, const char *key, char (*dst)[80], size_t sz,
		     unsigned max, unsigned *n, pl_err_t *err)
{
	pl_cnode_t arr, el;
	if (pl_cnode_array(cfg, key, 0, &arr, err) < 0)
		return -1;
	size_t k = arr.node ? json_array_size(arr.node) : 0;
	if (k > max)
		return pl_cnode_error(cfg, key, err, "at most %u entries", max);
	for (size_t i = 0; i < k; i++) {
		const char *v;
		pl_cnode_index(&arr, i, &el);
		if (pl_cnode_str_req(&el, NULL, &v, err) < 0)
			return -1;
		if (!v[0] || pl_fmt(dst[i], sz, "%s", v) < 0)
			return pl_cnode_error(&el, NULL, err, "1 to %zu bytes", sz - 1);
	}
	*n = (unsigned)k;
	return 0;
}

/* The external converter (off unless external_converter is set). */
static int ext_keys(em_conf_t *c, const pl_cnode_t *cfg, pl_err_t *err)
{
	pl_mail_ext_t *e = &c->mopts.ext;
	long long t, m;
	pl_cnode_t arr, el;
	if (pl_schema_int(S, cfg, "external_timeout_s", &t, err) < 0 ||
	    pl_schema_int(S, cfg, "external_mem_mb", &m, err) < 0 ||
	    pl_cnode_array(cfg, "external_converter", 0, &arr, err) < 0)
		return -1;
	e->timeout_s = (unsigned)t;
	e->mem_bytes = (uint64_t)m * MIB;
	size_t n = arr.node ? json_array_size(arr.node) : 0;
	if (n > PL_MAIL_EXT_ARGV_MAX)
		return pl_cnode_error(cfg, "external_converter", err, "at most %d arguments",
				      PL_MAIL_EXT_ARGV_MAX);
	for (size_t i = 0; i < n; i++) {
		const char *v;
		pl_cnode_index(&arr, i, &el);
		if (pl_cnode_str_req(&el, NULL, &v, err) < 0)
			return -1;
		if (pl_fmt(e->argv[i], sizeof(e->argv[i]), "%s", v) < 0)
			return pl_cnode_error(&el, NULL, err, "at most %zu bytes",
					      sizeof(e->argv[i]) - 1);
	}
	if (n && e->argv[0][0] != '/')
		return pl_cnode_error(cfg, "external_converter", err,
				      "the program must be an absolute path");
	e->argc = (unsigned)n;
	pl_cnode_t types;
	if (pl_cnode_array(cfg, "external_types", 0, &types, err) < 0)
		return -1;
	if (types.node && str_array(cfg, "external_types", e->types, sizeof(e->types[0]),
				    PL_MAIL_EXT_TYPES_MAX, &e->ntypes, err) < 0)
		return -1;
	return 0;
}

static int auth_keys(em_conf_t *c, const pl_cnode_t *cfg, pl_err_t *err)
{
	if (str_key(cfg, "trusted_authserv_id", c->authserv, sizeof(c->authserv), err) < 0 ||
	    pl_schema_bool(S, cfg, "require_authentication", &c->require_auth, err) < 0 ||
	    str_key(cfg, "direct_domain", c->direct_domain, sizeof(c->direct_domain), err) < 0)
		return -1;
	if (c->require_auth && !c->authserv[0])
		return pl_cnode_error(cfg, "trusted_authserv_id", err,
				      "required unless require_authentication is false "
				      "(a From header alone is trivially forged)");
	if (!c->require_auth)
		c->authserv[0] = 0;
	return 0;
}

static int notice_keys(em_conf_t *c, const pl_cnode_t *cfg, pl_err_t *err)
{
	if (pl_schema_bool(S, cfg, "notices", &c->notices, err) < 0 ||
	    security_key(cfg, "smtp_security", &c->smtp_security, err) < 0 ||
	    server_key(cfg, "smtp_server", c->smtp_security == EM_SEC_TLS ? 465 : 587,
		       c->smtp_host, sizeof(c->smtp_host), &c->smtp_port, err) < 0 ||
	    str_key(cfg, "smtp_user", c->smtp_user, sizeof(c->smtp_user), err) < 0 ||
	    str_key(cfg, "smtp_password_file", c->smtp_password_file,
		    sizeof(c->smtp_password_file), err) < 0 ||
	    str_key(cfg, "smtp_ca_file", c->smtp_ca_file, sizeof(c->smtp_ca_file), err) < 0 ||
	    str_key(cfg, "smtp_from", c->smtp_from, sizeof(c->smtp_from), err) < 0)
		return -1;
	if (!c->smtp_host[0])
		c->notices = 0; /* nowhere to send them */
	if (!c->smtp_from[0])
		pl_strlcpy(c->smtp_from, c->user, sizeof(c->smtp_from));
	if (c->smtp_user[0] && !c->smtp_password_file[0])
		return pl_cnode_error(cfg, "smtp_password_file", err, "required with smtp_user");
	return 0;
}

int em_conf_read(em_conf_t *c, const pl_cnode_t *cfg, const char *state_dir,
		 pl_err_t *err)
{
	memset(c, 0, sizeof(*c));
	if (pl_schema_check(S, cfg, err) < 0 ||
	    pl_holder_conf_parse(&c->hconf, cfg, state_dir, err) < 0 ||
	    imap_keys(c, cfg, err) < 0 || folder_keys(c, cfg, err) < 0 ||
	    mail_keys(c, cfg, err) < 0 || ext_keys(c, cfg, err) < 0 ||
	    auth_keys(c, cfg, err) < 0 ||
	    notice_keys(c, cfg, err) < 0)
		return -1;
	/* the external converter's per-conversion dirs: in the state dir,
	 * which the service's sandbox lets it write */
	if (pl_fmt(c->mopts.ext.tmp_dir, sizeof(c->mopts.ext.tmp_dir), "%s/extconv",
		   state_dir ? state_dir : "") < 0)
		return pl_cnode_error(cfg, NULL, err, "state_dir too long");
	const char *p = getenv("PL_TEST_EMAIL_PAUSE_BEFORE_MOVE");
	c->pause_before_move_ms = p ? (uint32_t)strtoul(p, NULL, 10) : 0;
	p = getenv("PL_TEST_EMAIL_PAUSE_BEFORE_RECORD");
	c->pause_before_record_ms = p ? (uint32_t)strtoul(p, NULL, 10) : 0;
	return 0;
}
