/* plsc-adaptsvc: a service for tests/integration/t10-runtime-adapters.t,
 * exercising the runtime's foreign-loop adapter, watchdogs and pool ages
 * with real libraries. Its section's "mode" picks one:
 *   "curl":  download "url" with libcurl multi driven the "set + timeout"
 *            way (curl_multi_fdset, curl_multi_timeout, curl_multi_perform)
 *            and write "bytes N sha256 HEX" to <state>/download;
 *   "ws":    a libwebsockets client driven the "one by one" way (external
 *            poll callbacks, lws_service_fd) sends "count" messages to
 *            ws://127.0.0.1:"ws_port"/ and writes each reply, a line each,
 *            to <state>/ws;
 *   "hang":  a worker thread kicks a watchdog named "worker" (maximum
 *            silence "watchdog_ms") every 50 ms, until a file <state>/hang
 *            appears: it removes the file and stops kicking;
 *   "stuck": a pool "slow", registered with the runtime with a threshold
 *            of "stuck_ms", runs one job that sleeps until <state>/release
 *            appears (or a minute passes).
 * Every mode writes <state>/pid. */
#include <curl/curl.h>
#include <libwebsockets.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pl_adapt.h"
#include "pl_log.h"
#include "pl_service.h"
#include "pl_util.h"

#define AS_WS_MAX_MSG 256

typedef struct {
	pl_service_t *svc;
	const char *mode;
	/* curl */
	CURLM *multi;
	CURL *easy;
	pl_adapt_t *adapt;
	int maxfd;
	unsigned char *body;
	size_t len, cap;
	/* ws */
	struct lws_context *lws;
	long long ws_port, count;
	long long sent, got;
	char replies[4096];
	/* hang */
	pthread_t th;
	int th_started;
	atomic_int stopping;
	pl_watchdog_t *wd;
	/* stuck */
	pl_work_t *pool;
} as_t;

static void state_path(as_t *s, const char *name, char *buf, size_t size)
{
	snprintf(buf, size, "%s/%s", pl_service_state_dir(s->svc), name);
}

static void write_state(as_t *s, const char *name, const char *text)
{
	char path[4096];
	state_path(s, name, path, sizeof(path));
	if (pl_write_file_atomic(path, text, strlen(text), 0644) < 0)
		pl_err("cannot write %s", path);
}

static int state_exists(as_t *s, const char *name)
{
	char path[4096];
	state_path(s, name, path, sizeof(path));
	return access(path, F_OK) == 0;
}

/* ---- curl: "set + timeout" ---- */

static size_t curl_body(char *data, size_t size, size_t n, void *arg)
{
	as_t *s = arg;
	size_t len = size * n;
	if (s->len + len > s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 65536;
		while (cap < s->len + len)
			cap *= 2;
		unsigned char *nb = realloc(s->body, cap);
		if (!nb)
			return 0;
		s->body = nb;
		s->cap = cap;
	}
	memcpy(s->body + s->len, data, len);
	s->len += len;
	return len;
}

static void curl_refresh(pl_adapt_t *a, void *arg)
{
	as_t *s = arg;
	fd_set rs, ws, es;
	FD_ZERO(&rs);
	FD_ZERO(&ws);
	FD_ZERO(&es);
	s->maxfd = -1;
	curl_multi_fdset(s->multi, &rs, &ws, &es, &s->maxfd);
	pl_adapt_want_fdset(a, s->maxfd + 1, &rs, &ws, &es);
}

static long curl_timeout(pl_adapt_t *a, void *arg)
{
	as_t *s = arg;
	long t = -1;
	(void)a;
	curl_multi_timeout(s->multi, &t);
	/* No fd yet (a resolver thread, say): curl's advice is to look
	 * again soon. */
	if (s->maxfd < 0 && (t < 0 || t > 100))
		t = 100;
	return t;
}

static void curl_done(as_t *s, CURLcode rc)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char hex[2 * EVP_MAX_MD_SIZE + 1], line[256];
	if (rc != CURLE_OK) {
		pl_err("download failed: %s", curl_easy_strerror(rc));
		write_state(s, "download", "error\n");
		return;
	}
	EVP_Digest(s->body ? s->body : (const unsigned char *)"", s->len, md,
		   &mdlen, EVP_sha256(), NULL);
	for (unsigned int i = 0; i < mdlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	snprintf(line, sizeof(line), "bytes %zu sha256 %s\n", s->len, hex);
	write_state(s, "download", line);
	pl_info("downloaded %zu bytes", s->len);
	pl_service_status(s->svc, "downloaded %zu bytes", s->len);
}

static void curl_run(pl_adapt_t *a, const pl_adapt_ready_t *ready, size_t n,
		     void *arg)
{
	as_t *s = arg;
	int running = 0, left;
	CURLMsg *msg;
	(void)ready;
	(void)n;
	curl_multi_perform(s->multi, &running);
	while ((msg = curl_multi_info_read(s->multi, &left))) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_done(s, msg->data.result);
		curl_multi_remove_handle(s->multi, s->easy);
		curl_easy_cleanup(s->easy);
		s->easy = NULL;
		/* Safe inside run: freed when run returns. */
		pl_adapt_free(a);
		s->adapt = NULL;
	}
}

static int start_curl(as_t *s, const pl_cnode_t *cfg, pl_err_t *err)
{
	static const pl_adapt_ops_t ops = {
		.refresh = curl_refresh,
		.timeout = curl_timeout,
		.run = curl_run,
	};
	const char *url;
	if (pl_cnode_str_req(cfg, "url", &url, err) < 0)
		return -1;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	s->multi = curl_multi_init();
	s->easy = curl_easy_init();
	if (!s->multi || !s->easy)
		return -1;
	curl_easy_setopt(s->easy, CURLOPT_URL, url);
	curl_easy_setopt(s->easy, CURLOPT_WRITEFUNCTION, curl_body);
	curl_easy_setopt(s->easy, CURLOPT_WRITEDATA, s);
	curl_easy_setopt(s->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(s->easy, CURLOPT_FAILONERROR, 1L);
	curl_multi_add_handle(s->multi, s->easy);
	s->adapt = pl_adapt_new(pl_service_loop(s->svc), &ops, s);
	return s->adapt ? 0 : -1;
}

static void stop_curl(as_t *s)
{
	pl_adapt_free(s->adapt);
	if (s->easy) {
		curl_multi_remove_handle(s->multi, s->easy);
		curl_easy_cleanup(s->easy);
	}
	if (s->multi)
		curl_multi_cleanup(s->multi);
	free(s->body);
	curl_global_cleanup();
}

/* ---- libwebsockets: "one by one" ---- */

static int ws_send(as_t *s, struct lws *wsi)
{
	unsigned char buf[LWS_PRE + AS_WS_MAX_MSG];
	int len = snprintf((char *)buf + LWS_PRE, AS_WS_MAX_MSG, "hello %lld",
			   s->sent + 1);
	if (lws_write(wsi, buf + LWS_PRE, (size_t)len, LWS_WRITE_TEXT) < len)
		return -1;
	s->sent++;
	return 0;
}

/* Debian 12's libwebsockets (4.1) is built without LWS_WITH_EXTERNAL_POLL,
 * so its ADD/DEL/CHANGE_MODE_POLL_FD callbacks never come. The client then
 * registers its connection's fd one by one itself, with the events it is
 * waiting for, and lws_service_fd does the rest; the POLL_FD cases below
 * serve builds that have external poll. */
static void ws_track(as_t *s, struct lws *wsi, uint32_t events)
{
	int fd = (int)lws_get_socket_fd(wsi);
	if (fd >= 0)
		pl_adapt_set(s->adapt, fd, events);
}

static void ws_want_write(as_t *s, struct lws *wsi)
{
	ws_track(s, wsi, EPOLLIN | EPOLLOUT);
	lws_callback_on_writable(wsi);
}

static int ws_cb(struct lws *wsi, enum lws_callback_reasons reason,
		 void *user, void *in, size_t len)
{
	as_t *s = lws_context_user(lws_get_context(wsi));
	const struct lws_pollargs *pa = in;
	(void)user;
	switch (reason) {
	case LWS_CALLBACK_ADD_POLL_FD:
	case LWS_CALLBACK_CHANGE_MODE_POLL_FD:
		/* lws's POLLIN/POLLOUT are epoll's values on Linux. */
		if (pl_adapt_set(s->adapt, pa->fd, (uint32_t)pa->events) < 0)
			return 1;
		break;
	case LWS_CALLBACK_DEL_POLL_FD:
		pl_adapt_set(s->adapt, pa->fd, 0);
		break;
	case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
		/* Connected; the upgrade request goes out next. */
		ws_track(s, wsi, EPOLLIN | EPOLLOUT);
		break;
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		pl_info("websocket connected");
		ws_want_write(s, wsi);
		break;
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		ws_track(s, wsi, EPOLLIN);
		if (s->sent < s->count && s->sent == s->got)
			return ws_send(s, wsi);
		break;
	case LWS_CALLBACK_CLIENT_CLOSED:
		ws_track(s, wsi, 0);
		break;
	case LWS_CALLBACK_CLIENT_RECEIVE: {
		size_t have = strlen(s->replies);
		snprintf(s->replies + have, sizeof(s->replies) - have, "%.*s\n",
			 (int)(len > AS_WS_MAX_MSG ? AS_WS_MAX_MSG : len),
			 (const char *)in);
		s->got++;
		if (s->got < s->count) {
			ws_want_write(s, wsi);
			break;
		}
		write_state(s, "ws", s->replies);
		pl_info("websocket: %lld replies", s->got);
		pl_service_status(s->svc, "%lld websocket replies", s->got);
		return -1; /* done: close */
	}
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		pl_err("websocket: %s", in ? (const char *)in : "connection error");
		write_state(s, "ws", "error\n");
		ws_track(s, wsi, 0);
		break;
	default:
		break;
	}
	return 0;
}

static long ws_timeout(pl_adapt_t *a, void *arg)
{
	as_t *s = arg;
	(void)a;
	/* lws schedules its own timers inside; with external poll it asks
	 * only to be serviced now and then (0 = at once). */
	return lws_service_adjust_timeout(s->lws, 1000, 0);
}

static void ws_run(pl_adapt_t *a, const pl_adapt_ready_t *ready, size_t n,
		   void *arg)
{
	as_t *s = arg;
	(void)a;
	for (size_t i = 0; i < n; i++) {
		struct lws_pollfd pfd = {
			.fd = ready[i].fd,
			.events = (short)ready[i].events,
			.revents = (short)ready[i].events,
		};
		lws_service_fd(s->lws, &pfd);
	}
	if (!n) /* deadline: forced service and lws's timers, no wait */
		lws_service(s->lws, -1);
}

static void ws_log(int level, const char *line)
{
	char msg[512];
	pl_strlcpy(msg, line, sizeof(msg));
	msg[strcspn(msg, "\n")] = '\0';
	if (level & LLL_ERR)
		pl_err("lws: %s", msg);
	else
		pl_warn("lws: %s", msg);
}

static int start_ws(as_t *s, const pl_cnode_t *cfg, pl_err_t *err)
{
	static const pl_adapt_ops_t ops = { .timeout = ws_timeout, .run = ws_run };
	static const struct lws_protocols protocols[] = {
		{ "plsc-echo", ws_cb, 0, AS_WS_MAX_MSG, 0, NULL, 0 },
		{ NULL, NULL, 0, 0, 0, NULL, 0 },
	};
	struct lws_context_creation_info info;
	struct lws_client_connect_info cc;

	if (pl_cnode_int(cfg, "ws_port", 1, 65535, 0, &s->ws_port, err) < 0 ||
	    pl_cnode_int(cfg, "count", 1, 20, 3, &s->count, err) < 0)
		return -1;
	lws_set_log_level(LLL_ERR | LLL_WARN, ws_log);
	/* The adapter first: lws registers fds while it starts. */
	s->adapt = pl_adapt_new(pl_service_loop(s->svc), &ops, s);
	if (!s->adapt)
		return -1;
	memset(&info, 0, sizeof(info));
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	info.user = s;
	s->lws = lws_create_context(&info);
	if (!s->lws)
		return -1;
	memset(&cc, 0, sizeof(cc));
	cc.context = s->lws;
	cc.address = "127.0.0.1";
	cc.port = (int)s->ws_port;
	cc.path = "/";
	cc.host = cc.address;
	cc.origin = cc.address;
	struct lws *wsi = lws_client_connect_via_info(&cc);
	if (!wsi) {
		pl_err("websocket: cannot start connecting");
		return -1;
	}
	/* Connecting: writable means connected. */
	ws_track(s, wsi, EPOLLIN | EPOLLOUT);
	return 0;
}

static void stop_ws(as_t *s)
{
	if (s->lws)
		lws_context_destroy(s->lws);
	pl_adapt_free(s->adapt);
}

/* ---- a worker thread with a watchdog ---- */

static void *hang_worker(void *arg)
{
	as_t *s = arg;
	int hung = 0;
	while (!atomic_load(&s->stopping)) {
		if (!hung && state_exists(s, "hang")) {
			char path[4096];
			state_path(s, "hang", path, sizeof(path));
			unlink(path);
			hung = 1; /* from now on, as if stuck in a call */
		}
		if (!hung)
			pl_watchdog_kick(s->wd);
		usleep(50000);
	}
	return NULL;
}

static int start_hang(as_t *s, const pl_cnode_t *cfg, pl_err_t *err)
{
	long long ms;
	if (pl_cnode_int(cfg, "watchdog_ms", 50, 600000, 500, &ms, err) < 0)
		return -1;
	s->wd = pl_service_watchdog(s->svc, "worker", (uint32_t)ms);
	if (!s->wd || pthread_create(&s->th, NULL, hang_worker, s) != 0)
		return -1;
	s->th_started = 1;
	return 0;
}

/* ---- a pool with a stuck job ---- */

static void slow_job(void *arg)
{
	as_t *s = arg;
	for (int i = 0; i < 1200 && !state_exists(s, "release"); i++)
		usleep(50000);
}

static int start_stuck(as_t *s, const pl_cnode_t *cfg, pl_err_t *err)
{
	long long ms;
	if (pl_cnode_int(cfg, "stuck_ms", 0, 600000, 300, &ms, err) < 0)
		return -1;
	s->pool = pl_work_new(pl_service_loop(s->svc), "slow", 1, 0);
	if (!s->pool || pl_service_add_pool(s->svc, s->pool, (uint32_t)ms) < 0)
		return -1;
	pl_service_status(s->svc, "one slow job");
	return pl_work_submit(s->pool, slow_job, NULL, s);
}

/* ---- the service ---- */

static int as_start(pl_service_t *svc, const pl_cnode_t *cfg, void *ctx)
{
	as_t *s = ctx;
	pl_err_t err = { 0 };
	char pid[32];
	int rc;
	s->svc = svc;
	if (pl_cnode_str_req(cfg, "mode", &s->mode, &err) < 0) {
		pl_err("%s", err.msg);
		return PL_EXIT_CONFIG;
	}
	snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	write_state(s, "pid", pid);
	if (strcmp(s->mode, "curl") == 0)
		rc = start_curl(s, cfg, &err);
	else if (strcmp(s->mode, "ws") == 0)
		rc = start_ws(s, cfg, &err);
	else if (strcmp(s->mode, "hang") == 0)
		rc = start_hang(s, cfg, &err);
	else if (strcmp(s->mode, "stuck") == 0)
		rc = start_stuck(s, cfg, &err);
	else {
		pl_err("%s: unknown mode '%s'", cfg->path, s->mode);
		return PL_EXIT_CONFIG;
	}
	if (rc < 0) {
		pl_err("%s: %s", s->mode, err.msg[0] ? err.msg : "cannot start");
		return err.msg[0] ? PL_EXIT_CONFIG : 1;
	}
	return 0;
}

static void as_stop(pl_service_t *svc, void *ctx)
{
	as_t *s = ctx;
	if (strcmp(s->mode, "curl") == 0)
		stop_curl(s);
	else if (strcmp(s->mode, "ws") == 0)
		stop_ws(s);
	if (s->th_started) {
		atomic_store(&s->stopping, 1);
		pthread_join(s->th, NULL);
	}
	if (s->pool) {
		pl_service_remove_pool(svc, s->pool);
		pl_work_free(s->pool); /* waits for the slow job */
	}
}

int main(int argc, char **argv)
{
	static as_t s;
	static const pl_service_def_t def = {
		.name = "plsc-adaptsvc",
		.summary = "Test service for the runtime's foreign-loop adapter, watchdogs and pools.",
		.help = "Config keys: mode (curl, ws, hang, stuck), url, ws_port, count,\n"
			"watchdog_ms, stuck_ms.\n",
		.start = as_start,
		.stop = as_stop,
	};
	return pl_service_main(argc, argv, &def, &s);
}
