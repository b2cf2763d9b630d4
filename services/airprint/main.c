/* PrinterLogicServiceAirprint: iPhones and iPads print over IPPS; each job
 * becomes a PDF held encrypted until released at a printer. See ap.h for
 * the modules and docs/PrinterLogicServiceAirprint.8.
 *
 * The IPP server is libcups' server-side API (as CUPS' ippeveprinter uses
 * it), not PAPPL: PAPPL runs its own main loop and listener threads
 * (papplSystemRun) that bind addresses themselves and cannot take the
 * socket the supervisor bound for us, nor join our loop or our watchdogs;
 * libcups gives us the accept, the HTTP and TLS layers and the IPP
 * encoding, and leaves the threads and the loop to us. */
#include "ap.h"
#include "dnssd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pl_log.h"
#include "pl_random.h"
#include "pl_schemas.h"
#include "pl_tls.h"
#include "pl_util.h"

#define MIB (1024ull * 1024ull)
#define AP_CN "plsc-airprint"

static void ap_err(pl_err_t *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void ap_err(pl_err_t *err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}

static int str_setting(const pl_cnode_t *cfg, const char *key, char *dst, size_t sz,
		       pl_err_t *err)
{
	const char *v = NULL;
	if (pl_schema_str(&pl_schema_airprint, cfg, key, &v, err) < 0)
		return -1;
	if (pl_fmt(dst, sz, "%s", v ? v : "") < 0) {
		ap_err(err, "%s: too long", key);
		return -1;
	}
	return 0;
}

static int ap_settings(ap_t *ap, const pl_cnode_t *cfg, pl_err_t *err)
{
	const pl_schema_t *s = &pl_schema_airprint;
	long long mj, ct, mc, jt, af, al, ui;
	int dns_sd;
	if (pl_schema_check(s, cfg, err) < 0 ||
	    pl_holder_conf_parse(&ap->hconf, cfg, pl_service_state_dir(ap->svc), err) < 0 ||
	    pl_schema_int(s, cfg, "max_job_mb", &mj, err) < 0 ||
	    pl_schema_int(s, cfg, "client_timeout_s", &ct, err) < 0 ||
	    pl_schema_int(s, cfg, "max_clients", &mc, err) < 0 ||
	    pl_schema_int(s, cfg, "job_table", &jt, err) < 0 ||
	    pl_schema_int(s, cfg, "max_user_jobs_in_flight", &ui, err) < 0 ||
	    pl_schema_int(s, cfg, "auth_max_failures", &af, err) < 0 ||
	    pl_schema_int(s, cfg, "auth_lockout_s", &al, err) < 0 ||
	    pl_schema_bool(s, cfg, "dns_sd", &dns_sd, err) < 0 ||
	    str_setting(cfg, "printer_name", ap->printer_name, sizeof(ap->printer_name), err) < 0 ||
	    str_setting(cfg, "location", ap->location, sizeof(ap->location), err) < 0 ||
	    str_setting(cfg, "hostname", ap->hostname, sizeof(ap->hostname), err) < 0 ||
	    str_setting(cfg, "ldap_uri", ap->ldap_uri, sizeof(ap->ldap_uri), err) < 0 ||
	    str_setting(cfg, "ldap_user_dn", ap->ldap_dn, sizeof(ap->ldap_dn), err) < 0 ||
	    str_setting(cfg, "ldap_ca", ap->ldap_ca, sizeof(ap->ldap_ca), err) < 0)
		return -1;
	if (ap->ldap_dn[0]) {
		const char *p = strstr(ap->ldap_dn, "%s");
		if (!p || strchr(ap->ldap_dn, '%') != p || strchr(p + 1, '%')) {
			ap_err(err, "ldap_user_dn: needs exactly one %%s and no other %%");
			return -1;
		}
	}
	ap->max_job_bytes = (uint64_t)mj * MIB;
	ap->client_timeout_ms = (uint32_t)ct * 1000;
	ap->max_clients = (uint32_t)mc;
	ap->job_table = (uint32_t)jt;
	ap->user_inflight_max = (uint32_t)ui;
	ap->auth_max_failures = (uint32_t)af;
	ap->auth_lockout_ms = (uint32_t)al * 1000;
	ap->dns_sd = dns_sd;
	return 0;
}

/* printer-uuid: made once, kept in the state dir, so phones know the
 * printer again after a restart. */
static int load_uuid(ap_t *ap, pl_err_t *err)
{
	char path[4200], buf[64] = "";
	uint8_t u[16];
	(void)pl_fmt(path, sizeof(path), "%s/printer-uuid", pl_service_state_dir(ap->svc));
	FILE *f = fopen(path, "r");
	if (f) {
		if (fgets(buf, sizeof(buf), f))
			buf[strcspn(buf, "\n")] = '\0';
		fclose(f);
		if (strncmp(buf, "urn:uuid:", 9) == 0 && strlen(buf) == 45) {
			(void)pl_fmt(ap->uuid, sizeof(ap->uuid), "%s", buf);
			return 0;
		}
	}
	if (pl_random_bytes(u, sizeof(u)) < 0) {
		ap_err(err, "no random bytes for printer-uuid");
		return -1;
	}
	u[6] = (uint8_t)((u[6] & 0x0f) | 0x40);
	u[8] = (uint8_t)((u[8] & 0x3f) | 0x80);
	(void)pl_fmt(ap->uuid, sizeof(ap->uuid),
		     "urn:uuid:%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		     u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12],
		     u[13], u[14], u[15]);
	f = fopen(path, "w");
	if (!f || fprintf(f, "%s\n", ap->uuid) < 0 || fclose(f) != 0) {
		ap_err(err, "%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int copy_file(const char *from, const char *to, mode_t mode)
{
	char buf[16384];
	int in = open(from, O_RDONLY | O_CLOEXEC), out = -1, rc = -1;
	ssize_t n;
	if (in < 0)
		return -1;
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (out < 0)
		goto done;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			goto done;
	rc = n == 0 ? 0 : -1;
done:
	if (out >= 0 && close(out) != 0)
		rc = -1;
	close(in);
	return rc;
}

/* TLS: our certificate (configured, or generated by pl_tls like every
 * listener's), put where libcups' GnuTLS layer looks for it: a keychain
 * directory with NAME.crt and NAME.key, NAME being the common name we
 * give (used for loopback and numeric addresses) or the host name the
 * client's address resolves to; we write both names we can know. */
static int setup_tls(ap_t *ap, const pl_cnode_t *cfg, pl_err_t *err)
{
	const char *cert, *key;
	char dir[4200], fp[128], path[4400], host[256];
	const char *sd = pl_service_state_dir(ap->svc);
	if (pl_schema_str(&pl_schema_airprint, cfg, "tls_cert", &cert, err) < 0 ||
	    pl_schema_str(&pl_schema_airprint, cfg, "tls_key", &key, err) < 0)
		return -1;
	SSL_CTX *ctx = pl_tls_server_ctx(cert, key, sd, AP_NAME, err);
	if (!ctx)
		return -1;
	if (pl_tls_fingerprint(ctx, fp, sizeof(fp)) == 0)
		pl_info("TLS certificate %s, SHA-256 %s",
			cert ? cert : "self-signed (tls-cert.pem in the state dir)", fp);
	SSL_CTX_free(ctx);
	char gcert[4300], gkey[4300];
	(void)pl_fmt(gcert, sizeof(gcert), "%s/tls-cert.pem", sd);
	(void)pl_fmt(gkey, sizeof(gkey), "%s/tls-key.pem", sd);
	(void)pl_fmt(dir, sizeof(dir), "%s/ipp-keys", sd);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		ap_err(err, "%s: %s", dir, strerror(errno));
		return -1;
	}
	const char *names[3] = { AP_CN, ap->hostname[0] ? ap->hostname : NULL, NULL };
	if (gethostname(host, sizeof(host)) == 0) {
		host[sizeof(host) - 1] = '\0';
		names[2] = host;
	}
	for (int i = 0; i < 3; i++) {
		if (!names[i])
			continue;
		(void)pl_fmt(path, sizeof(path), "%s/%s.crt", dir, names[i]);
		int rc = copy_file(cert ? cert : gcert, path, 0600);
		(void)pl_fmt(path, sizeof(path), "%s/%s.key", dir, names[i]);
		if (rc < 0 || copy_file(key ? key : gkey, path, 0600) < 0) {
			ap_err(err, "%s: cannot copy the TLS pair: %s", path, strerror(errno));
			return -1;
		}
	}
	cupsSetServerCredentials(dir, AP_CN, 0);
	return 0;
}

static int ap_send(void *arg, const pl_msg_t *m)
{
	ap_t *ap = arg;
	return pl_service_send(ap->svc, m);
}

static int start_holder(ap_t *ap, pl_err_t *err)
{
	int rc = pl_holder_store_open(pl_service_state_dir(ap->svc), &ap->hconf, &ap->store, err);
	if (rc < 0)
		return rc == PL_JS_EKEY ? PL_EXIT_CONFIG : 1;
	pl_holder_opts_t ho = {
		.loop = ap->loop,
		.name = "ap",
		.store = ap->store,
		.dir = ap->dir,
		.send = ap_send,
		.send_arg = ap,
		.events = pl_service_supervised(ap->svc),
		.conf = &ap->hconf,
	};
	return pl_holder_new(&ap->holder, &ho, err) < 0 ? 1 : 0;
}

static int ap_sandbox(pl_service_t *svc, const pl_cnode_t *cfg, pl_sandbox_t *sb, void *ctx)
{
	ap_t *ap = ctx;
	pl_err_t err;
	ap->svc = svc;
	if (ap_settings(ap, cfg, &err) < 0 || pl_tls_sandbox(cfg, sb, &err) < 0) {
		pl_err("%s", err.msg);
		return PL_EXIT_CONFIG;
	}
	if (ap->ldap_ca[0] && pl_sandbox_allow(sb, ap->ldap_ca, PL_SANDBOX_RO) < 0) {
		pl_err("ldap_ca: cannot allow %s", ap->ldap_ca);
		return PL_EXIT_CONFIG;
	}
	if (pl_dir_sandbox(sb, ap->hconf.directory_path, PL_DIR_READ_CREATE, &err) < 0 ||
	    pl_holder_sandbox(sb, &ap->hconf, &err) < 0) {
		pl_err("%s", err.msg);
		return 1;
	}
	return 0;
}

static int local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t l = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &l) < 0)
		return 0;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return 0;
}

static int open_listeners(ap_t *ap)
{
	char msg[256];
	ap->listen_fd = pl_service_listen_fd(ap->svc, "main");
	ap->plain_fd = pl_service_listen_fd(ap->svc, "plain");
	if (ap->listen_fd < 0) {
		/* 631 is cupsd's on most machines: no default address */
		pl_err("listen.main is not set: name the LAN address to serve on, "
		       "e.g. \"192.168.1.10:631\" (cupsd usually holds localhost:631)");
		return PL_EXIT_CONFIG;
	}
	(void)msg;
	ap->listen_port = local_port(ap->listen_fd);
	if (ap_conn_listen(ap, ap->listen_fd, 1) < 0)
		return 1;
	if (ap->plain_fd >= 0) {
		ap->plain_port = local_port(ap->plain_fd);
		if (ap_conn_listen(ap, ap->plain_fd, 0) < 0)
			return 1;
	}
	return 0;
}

static void status_tick(pl_loop_t *loop, void *arg)
{
	ap_t *ap = arg;
	pl_service_status(ap->svc, "%u clients, %llu jobs held, %llu logins refused", ap->nconns,
			  (unsigned long long)__atomic_load_n(&ap->held, __ATOMIC_RELAXED),
			  (unsigned long long)__atomic_load_n(&ap->refused_auth, __ATOMIC_RELAXED));
	if (!ap->stopping)
		pl_loop_timer(loop, 1000, status_tick, ap);
}

static int ap_start(pl_service_t *svc, const pl_cnode_t *cfg, void *ctx)
{
	ap_t *ap = ctx;
	pl_err_t err;

	ap->svc = svc;
	ap->loop = pl_service_loop(svc);
	ap->start_s = time(NULL);
	if (ap_settings(ap, cfg, &err) < 0 || setup_tls(ap, cfg, &err) < 0 ||
	    load_uuid(ap, &err) < 0) {
		pl_err("%s", err.msg);
		return PL_EXIT_CONFIG;
	}
	if (pl_dir_open(&ap->dir, ap->hconf.directory_path, PL_DIR_READ_CREATE, &err) < 0 ||
	    pl_dir_open(&ap->adir, ap->hconf.directory_path, PL_DIR_READ, &err) < 0) {
		pl_err("directory: %s", err.msg);
		return 1;
	}
	int rc = start_holder(ap, &err);
	if (rc != 0) {
		pl_err("%s", err.msg);
		return rc;
	}
	if (ap_jobids_load(ap) < 0)
		return 1;
	ap_jobs_restore(ap);
	if (ap_attrs_build(ap) < 0) {
		pl_err("the printer's attributes could not be built (out of memory)");
		return 1;
	}
	ap->conns = pl_work_new(ap->loop, "ap-conn", (int)ap->max_clients, 0);
	if (!ap->conns)
		return 1;
	(void)pl_service_add_pool(svc, ap->conns, AP_CONN_MAX_MS + ap->client_timeout_ms);
	if ((rc = open_listeners(ap)) != 0)
		return rc;
	pl_info("AirPrint printer \"%s\" (%s) on port %d%s", ap->printer_name, ap->uuid,
		ap->listen_port, ap->ldap_uri[0] ? ", passwords also checked by LDAP bind" : "");
	if (ap->dns_sd)
		ap->dnssd = ap_dnssd_start(svc, ap->printer_name, ap->uuid, ap->hostname,
					   ap->listen_fd);
	status_tick(ap->loop, ap);
	return 0;
}

static void drain_check(pl_loop_t *loop, void *arg)
{
	ap_t *ap = arg;
	if (pl_work_pending(ap->conns) == 0 && pl_holder_pending(ap->holder) == 0) {
		pl_info("in-flight work finished");
		pl_service_exit(ap->svc, 0);
		return;
	}
	pl_loop_timer(loop, 20, drain_check, ap);
}

static void ap_shutdown(pl_service_t *svc, uint32_t grace_ms, void *ctx)
{
	ap_t *ap = ctx;
	(void)svc;
	(void)grace_ms;
	ap_dnssd_stop(ap->dnssd); /* phones stop offering it first */
	ap->dnssd = NULL;
	ap_conn_stop(ap);
	drain_check(ap->loop, ap);
}

static void ap_message(pl_service_t *svc, const pl_frame_t *f, void *ctx)
{
	ap_t *ap = ctx;
	(void)svc;
	if (f->fd >= 0)
		close(f->fd);
	if (!pl_holder_message(ap->holder, f))
		pl_debug("ignoring %s", pl_msg_type_name(f->type));
}

static void ap_stop(pl_service_t *svc, void *ctx)
{
	ap_t *ap = ctx;
	(void)svc;
	ap_dnssd_stop(ap->dnssd);
	ap->dnssd = NULL;
	ap_conn_stop(ap);
	if (ap->conns) {
		pl_service_remove_pool(svc, ap->conns);
		pl_work_free(ap->conns); /* waits for the connections */
	}
	if (ap->holder)
		pl_holder_free(ap->holder);
	if (ap->listen_fd >= 0)
		close(ap->listen_fd);
	if (ap->plain_fd >= 0)
		close(ap->plain_fd);
	pl_jobstore_close(ap->store);
	pl_dir_close(ap->adir);
	pl_dir_close(ap->dir);
	ap_attrs_free(ap);
}

int main(int argc, char **argv)
{
	static const pl_service_def_t def = {
		.name = AP_NAME,
		.summary = "AirPrint / IPP Everywhere printer over IPPS: phones print, the job\n"
			   "is held as a PDF until released at any printer.",
		.schema = &pl_schema_airprint,
		.help = "listen.main (IPPS) must name the LAN address, e.g. \"192.168.1.10:631\";\n"
			"listen.plain (optional) answers plain IPP without credentials.\n"
			"dns_sd (default true): advertised by multicast DNS-SD through avahi-daemon.\n"
			"--dns-sd-zone --domain D --host H [--port P] [--name N] [--state-dir DIR]\n"
			"  prints the unicast DNS-SD records (PTR, SRV, TXT) as a zone fragment.\n"
			"See PrinterLogicServiceAirprint(8).\n",
		.caps = PL_CAP_HOLDS_JOBS,
		.start = ap_start,
		.shutdown = ap_shutdown,
		.message = ap_message,
		.stop = ap_stop,
		.sandbox = ap_sandbox,
	};
	if (argc > 1 && strcmp(argv[1], "--dns-sd-zone") == 0)
		return ap_zone_main(argc, argv);
	static ap_t ap; /* the job table makes it large for a stack */
	ap.listen_fd = ap.plain_fd = -1;
	pthread_mutex_init(&ap.attrs_lock, NULL);
	pthread_mutex_init(&ap.jobs_lock, NULL);
	pthread_mutex_init(&ap.auth_lock, NULL);
	pthread_mutex_init(&ap.adir_lock, NULL);
	return pl_service_main(argc, argv, &def, &ap);
}
