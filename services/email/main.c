/* PrinterLogicServiceEmail: users print by sending mail to one mailbox
 * (IMAPS); each accepted message becomes one PDF, held for its sender or
 * printed at once. See em.h for the modules and
 * docs/PrinterLogicServiceEmail.8. */
#include "em.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pl_log.h"
#include "pl_schemas.h"
#include "pl_util.h"

/* ---- events and status lines, from the IMAP thread to the loop ---- */

typedef struct {
	em_t *em;
	char event[32];
	pl_job_meta_t meta;
	char detail[1024];
	int has_detail;
} ev_post_t;

static void ev_run(pl_loop_t *loop, void *arg)
{
	ev_post_t *p = arg;
	(void)loop;
	if (p->em->holder)
		pl_holder_event(p->em->holder, p->event, &p->meta,
				p->has_detail ? p->detail : NULL);
	free(p);
}

void em_event(em_t *em, const char *event, const pl_job_meta_t *m, const char *detail)
{
	ev_post_t *p = calloc(1, sizeof(*p));
	if (!p)
		return;
	p->em = em;
	pl_strlcpy(p->event, event, sizeof(p->event));
	p->meta = *m;
	if (detail) {
		pl_strlcpy(p->detail, detail, sizeof(p->detail));
		p->has_detail = 1;
	}
	if (pl_loop_post(em->loop, ev_run, p) < 0)
		free(p);
}

typedef struct {
	em_t *em;
	char line[512];
} st_post_t;

static void st_run(pl_loop_t *loop, void *arg)
{
	st_post_t *p = arg;
	(void)loop;
	if (!p->em->stopped) /* posts still queued run in pl_loop_free */
		pl_service_status(p->em->svc, "%s", p->line);
	free(p);
}

void em_status_post(em_t *em)
{
	st_post_t *p = calloc(1, sizeof(*p));
	char when[32] = "never";
	if (!p)
		return;
	if (em->last_check_ms) {
		time_t t = (time_t)(em->last_check_ms / 1000);
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(when, sizeof(when), "%H:%M:%SZ", &tm);
	}
	p->em = em;
	(void)pl_fmt(p->line, sizeof(p->line),
		 "%s, %s %s, last check %s; %llu held, %llu printed, %llu rejected, "
		 "%llu failed%s%.200s",
		 em->state_word, em->conf.host, em->conf.mailbox, when,
		 (unsigned long long)em->counts.held, (unsigned long long)em->counts.printed,
		 (unsigned long long)em->counts.rejected, (unsigned long long)em->counts.failed,
		 em->last_error[0] ? "; last error: " : "", em->last_error);
	if (pl_loop_post(em->loop, st_run, p) < 0)
		free(p);
}

/* ---- the service ---- */

static int em_send(void *arg, const pl_msg_t *m)
{
	em_t *em = arg;
	return pl_service_send(em->svc, m);
}

static int start_holder(em_t *em, pl_err_t *err)
{
	int rc = pl_holder_store_open(pl_service_state_dir(em->svc), &em->conf.hconf, &em->store,
				      err);
	if (rc < 0)
		return rc == PL_JS_EKEY ? PL_EXIT_CONFIG : 1;
	pl_holder_opts_t ho = {
		.loop = em->loop,
		.name = "em",
		.store = em->store,
		.dir = em->dir,
		.send = em_send,
		.send_arg = em,
		.events = pl_service_supervised(em->svc),
		.conf = &em->conf.hconf,
	};
	return pl_holder_new(&em->holder, &ho, err) < 0 ? 1 : 0;
}

static int allow_file(pl_sandbox_t *sb, const char *path, pl_err_t *err)
{
	if (path[0] && pl_sandbox_allow(sb, path, PL_SANDBOX_RO) < 0)
		return pl_fmt(err->msg, sizeof(err->msg), "sandbox: cannot allow %s", path), -1;
	return 0;
}

/* Beyond the default (the state dir: jobs, keys, imap.state): the
 * directory read-only (the service faces the network), and the secret
 * and CA files it names read-only. Sockets stay usable: IMAP, SMTP and
 * printers. */
static int em_sandbox(pl_service_t *svc, const pl_cnode_t *cfg, pl_sandbox_t *sb, void *ctx)
{
	em_t *em = ctx;
	pl_err_t err;
	em->svc = svc;
	const em_conf_t *c = &em->conf;
	if (em_conf_read(&em->conf, cfg, pl_service_state_dir(svc), &err) < 0) {
		pl_err("%s", err.msg);
		return PL_EXIT_CONFIG;
	}
	if (allow_file(sb, c->password_file, &err) < 0 || allow_file(sb, c->token_file, &err) < 0 ||
	    allow_file(sb, c->ca_file, &err) < 0 || allow_file(sb, c->smtp_ca_file, &err) < 0 ||
	    allow_file(sb, c->smtp_password_file, &err) < 0 ||
	    pl_dir_sandbox(sb, c->hconf.directory_path, PL_DIR_READ_CREATE, &err) < 0 ||
	    pl_holder_sandbox(sb, &c->hconf, &err) < 0) {
		pl_err("%s", err.msg);
		return 1;
	}
	/* the external converter is a program: it and its libraries must be
	 * executable (lib/mail/ext.c confines it further) */
	static const char *const rx[] = { "/usr", "/lib", "/lib64", "/bin", "/sbin" };
	for (size_t i = 0; c->mopts.ext.argc && i < PL_ARRAY_LEN(rx); i++)
		if (pl_sandbox_allow(sb, rx[i], PL_SANDBOX_RX) < 0) {
			pl_err("sandbox: cannot allow %s", rx[i]);
			return 1;
		}
	return 0;
}

/* Said once at start: what runs, on what, and how it is confined. */
static int ext_start(const pl_mail_ext_t *e)
{
	if (!e->argc)
		return 0;
	if (mkdir(e->tmp_dir, 0700) < 0 && errno != EEXIST) {
		pl_err("external converter: %s: %s", e->tmp_dir, strerror(errno));
		return 1;
	}
	char types[400] = "";
	size_t n = 0;
	for (unsigned i = 0; i < e->ntypes && n < sizeof(types); i++) {
		int k = snprintf(types + n, sizeof(types) - n, "%s%s", i ? " " : "", e->types[i]);
		n += k > 0 ? (size_t)k : 0;
	}
	pl_notice("external converter ON: %s (%u arguments), timeout %u s, memory %llu MiB, "
		  "dirs in %s; confined by rlimits, its own dir, no TCP, Landlock, seccomp "
		  "(weaker than the MuPDF jail: it may exec and read system files); types: %s",
		  e->argv[0], e->argc, e->timeout_s, (unsigned long long)(e->mem_bytes >> 20),
		  e->tmp_dir, types);
	return 0;
}

static int em_start(pl_service_t *svc, const pl_cnode_t *cfg, void *ctx)
{
	em_t *em = ctx;
	pl_err_t err;
	em->svc = svc;
	em->loop = pl_service_loop(svc);
	if (em_conf_read(&em->conf, cfg, pl_service_state_dir(svc), &err) < 0) {
		pl_err("%s", err.msg);
		return PL_EXIT_CONFIG;
	}
	if (ext_start(&em->conf.mopts.ext) != 0)
		return 1;
	if (!em->conf.authserv[0])
		pl_warn("SENDER AUTHENTICATION IS OFF (require_authentication false): anyone can "
			"print as any known user by forging a From header");
	if (em->conf.pause_before_move_ms || em->conf.pause_before_record_ms)
		pl_warn("test hooks set: pause %u ms before recording a UID, %u ms before "
			"moving a message", em->conf.pause_before_record_ms,
			em->conf.pause_before_move_ms);
	if (pl_dir_open(&em->dir, em->conf.hconf.directory_path, PL_DIR_READ_CREATE, &err) < 0) {
		pl_err("directory: %s", err.msg);
		return 1;
	}
	int rc = start_holder(em, &err);
	if (rc != 0) {
		pl_err("%s", err.msg);
		return rc;
	}
	pl_strlcpy(em->state_word, "starting", sizeof(em->state_word));
	if (em_imap_start(em, &err) < 0) {
		pl_err("%s", err.msg);
		return 1;
	}
	return 0;
}

static void drain_check(pl_loop_t *loop, void *arg)
{
	em_t *em = arg;
	if (pl_holder_pending(em->holder) == 0) {
		pl_info("in-flight work finished");
		pl_service_exit(em->svc, 0);
		return;
	}
	pl_loop_timer(loop, 20, drain_check, em);
}

/* The IMAP thread finishes the message in hand (its steps are each
 * durable, so a cut anywhere is safe too), then releases drain. */
static void em_shutdown(pl_service_t *svc, uint32_t grace_ms, void *ctx)
{
	em_t *em = ctx;
	(void)svc;
	(void)grace_ms;
	em_imap_stop(em);
	drain_check(em->loop, em);
}

static void em_message(pl_service_t *svc, const pl_frame_t *f, void *ctx)
{
	em_t *em = ctx;
	(void)svc;
	if (f->fd >= 0)
		close(f->fd);
	if (!pl_holder_message(em->holder, f))
		pl_debug("ignoring %s", pl_msg_type_name(f->type));
}

static void em_stop(pl_service_t *svc, void *ctx)
{
	em_t *em = ctx;
	(void)svc;
	em_imap_stop(em);
	/* events and status lines the IMAP thread posted may still run, in
	 * pl_loop_free: they find the holder gone and do nothing */
	em->stopped = 1;
	pl_holder_free(em->holder);
	em->holder = NULL;
	pl_jobstore_close(em->store);
	pl_dir_close(em->dir);
}

int main(int argc, char **argv)
{
	static const pl_service_def_t def = {
		.name = EM_NAME,
		.summary = "E-mail printing: messages to an IMAP mailbox become PDFs, held for\n"
			   "their sender, or printed at once (direct and guest printing).",
		.schema = &pl_schema_email,
		.help = "  --test   with --config: log in to the mailbox, check its folders,\n"
			"           say what is wrong (plsc email test), and exit.\n"
			"See PrinterLogicServiceEmail(8).\n",
		.caps = PL_CAP_HOLDS_JOBS,
		.start = em_start,
		.reconfig = NULL, /* a new mailbox or new limits: restart */
		.shutdown = em_shutdown,
		.message = em_message,
		.stop = em_stop,
		.sandbox = em_sandbox,
	};
	static em_t em;
	em.wake_fd = -1;
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--test") == 0) {
			const char *cf = PL_DEFAULT_CONFIG_FILE;
			for (int j = 1; j + 1 < argc; j++)
				if (strcmp(argv[j], "-c") == 0 || strcmp(argv[j], "--config") == 0)
					cf = argv[j + 1];
			return em_check(cf);
		}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	int rc = pl_service_main(argc, argv, &def, &em);
	curl_global_cleanup();
	return rc;
}
