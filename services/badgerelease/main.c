/* PrinterLogicServiceSimpleBadgeRelease: a badge swipe at a network badge
 * reader releases its owner's held jobs at the reader's printer. Readers
 * (address, direction, port, frame format, printer, mode) and badges live
 * in the directory; see br.h and PrinterLogicServiceSimpleBadgeRelease(8). */
#include "br.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pl_log.h"
#include "pl_util.h"

/* The keys, ranges and defaults: pl_schema_badgerelease (pl_schemas.h),
 * which the supervisor checks too. */
static int br_settings(br_t *br, const pl_cnode_t *cfg, pl_err_t *err)
{
	const pl_schema_t *s = &pl_schema_badgerelease;
	long long dd, rf, mc, rd;
	const char *dirpath;
	char def[PATH_MAX];
	snprintf(def, sizeof(def), "%s/../directory/directory.db",
		 pl_service_state_dir(br->svc));
	if (pl_schema_check(s, cfg, err) < 0 ||
	    pl_schema_int(s, cfg, "dedupe_ms", &dd, err) < 0 ||
	    pl_schema_int(s, cfg, "refresh_s", &rf, err) < 0 ||
	    pl_schema_int(s, cfg, "max_connections", &mc, err) < 0 ||
	    pl_schema_int(s, cfg, "redial_max_ms", &rd, err) < 0 ||
	    pl_schema_str(s, cfg, "directory", &dirpath, err) < 0)
		return -1;
	if (!dirpath)
		dirpath = def;
	br->dedupe_ms = (uint32_t)dd;
	br->refresh_ms = (uint32_t)rf * 1000;
	br->max_conns = (uint32_t)mc;
	br->redial_max_ms = (uint32_t)rd;
	pl_strlcpy(br->directory_path, dirpath, sizeof(br->directory_path));
	return 0;
}

/* Read the readers from the directory; keep the old list on error. */
static void refresh(br_t *br)
{
	pl_dir_reader_t *v = NULL;
	size_t n = 0;
	pl_err_t err;
	if (pl_dir_reader_list(br->dir, &v, &n, &err) < 0) {
		pl_err("reading the badge readers: %s", err.msg);
		return;
	}
	br_reader_t *list = calloc(n ? n : 1, sizeof(*list));
	size_t k = 0;
	for (size_t i = 0; list && i < n; i++) {
		br_reader_t *r = &list[k];
		r->d = v[i];
		if (pl_badge_format_parse(v[i].format, &r->fmt, &err) < 0) {
			pl_err("reader %s: bad frame format: %s; ignored", v[i].name, err.msg);
			continue;
		}
		r->dial = strcmp(v[i].direction, "listen") == 0;
		k++;
	}
	free(v);
	if (!list)
		return;
	size_t before = br->nreaders;
	br_readers_apply(br, list, k);
	if (k != before) {
		pl_info("%zu badge reader%s configured", k, k == 1 ? "" : "s");
		br_report(br);
	}
}

static void refresh_tick(pl_loop_t *loop, void *arg)
{
	br_t *br = arg;
	refresh(br);
	br->refresh = pl_loop_timer(loop, br->refresh_ms, refresh_tick, br);
}

/* The sandbox beyond the default: the directory's folder read-only
 * (readers and badges; it faces the network, so it only reads). Sockets
 * stay usable: readers and printers. */
static int br_sandbox(pl_service_t *svc, const pl_cnode_t *cfg, pl_sandbox_t *sb,
		      void *ctx)
{
	br_t *br = ctx;
	pl_err_t err;
	br->svc = svc;
	if (br_settings(br, cfg, &err) < 0) {
		pl_err("%s", err.msg);
		return PL_EXIT_CONFIG;
	}
	if (pl_dir_sandbox(sb, br->directory_path, PL_DIR_READ_CREATE, &err) < 0) {
		pl_err("%s", err.msg);
		return 1;
	}
	return 0;
}

static int br_start(pl_service_t *svc, const pl_cnode_t *cfg, void *ctx)
{
	br_t *br = ctx;
	pl_err_t err;
	char msg[256];
	br->svc = svc;
	br->loop = pl_service_loop(svc);
	if (br_settings(br, cfg, &err) < 0) {
		pl_err("%s", err.msg);
		return PL_EXIT_CONFIG;
	}
	if (pl_dir_open(&br->dir, br->directory_path, PL_DIR_READ_CREATE, &err) < 0) {
		pl_err("directory: %s", err.msg);
		return 1;
	}
	int fd = pl_service_listen_fd(svc, "main");
	if (fd < 0 && (fd = pl_listen_tcp(BR_DEFAULT_LISTEN, 128, msg, sizeof(msg))) < 0) {
		pl_err("listen: %s", msg);
		return 1;
	}
	if (br_listen(br, fd) < 0)
		return 1;
	refresh_tick(br->loop, br);
	return 0;
}

static int br_reconfig(pl_service_t *svc, const pl_cnode_t *cfg, void *ctx)
{
	br_t *br = ctx;
	pl_err_t err;
	(void)svc;
	br_t probe = *br;
	if (br_settings(&probe, cfg, &err) < 0) {
		pl_err("%s", err.msg);
		return -1;
	}
	br->dedupe_ms = probe.dedupe_ms;
	br->refresh_ms = probe.refresh_ms;
	br->max_conns = probe.max_conns;
	br->redial_max_ms = probe.redial_max_ms;
	refresh(br);
	return 0;
}

static void br_message(pl_service_t *svc, const pl_frame_t *f, void *ctx)
{
	(void)svc;
	if (f->fd >= 0)
		close(f->fd);
	if (f->type == PL_MSG_RESULT && (f->flags & PL_FLAG_REPLY))
		br_result(ctx, f);
}

static void br_stop(pl_service_t *svc, void *ctx)
{
	br_t *br = ctx;
	(void)svc;
	pl_loop_timer_cancel(br->loop, br->refresh);
	br_close_all(br);
	br_pending_free(br);
	if (br->listen_fd >= 0)
		close(br->listen_fd);
	pl_dir_close(br->dir);
	pl_info("%llu swipes, %llu unknown badges, %llu connections refused",
		(unsigned long long)br->swipes, (unsigned long long)br->unknown,
		(unsigned long long)br->refused_peers);
}

int main(int argc, char **argv)
{
	static const pl_service_def_t def = {
		.name = BR_NAME,
		.summary = "Badge release: a swipe at a network badge reader releases the\n"
			   "owner's held jobs at the reader's printer (port 31990).",
		.schema = &pl_schema_badgerelease,
		.help = "listen.main (\"0.0.0.0:31990\"): for readers that connect to us.\n"
			"Readers and badges: plsc readers ..., plsc users ... (plsc(1)).\n",
		.start = br_start,
		.reconfig = br_reconfig,
		.message = br_message,
		.stop = br_stop,
		.sandbox = br_sandbox,
	};
	br_t br;
	memset(&br, 0, sizeof(br));
	br.listen_fd = -1;
	return pl_service_main(argc, argv, &def, &br);
}
