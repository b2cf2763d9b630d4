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
 *   "snmp":  net-snmp single sessions (snmp_sess_*) in asynchronous mode,
 *            one to each of "agents" ("udp:127.0.0.1:PORT", at most 8),
 *            driven the "set + timeout" way (snmp_sess_select_info,
 *            snmp_sess_read, snmp_sess_timeout): SNMPv2c GETs of sysDescr.0
 *            and sysName.0, all in flight at once, with "community",
 *            "timeout_ms" and "retries"; writes "AGENT NAME = VALUE" or
 *            "AGENT NAME timeout", a line each, to <state>/snmp;
 *   "hang":  a worker thread kicks a watchdog named "worker" (maximum
 *            silence "watchdog_ms") every 50 ms, until a file <state>/hang
 *            appears: it removes the file and stops kicking;
 *   "stuck": a pool "slow", registered with the runtime with a threshold
 *            of "stuck_ms", runs one job that sleeps until <state>/release
 *            appears (or a minute passes).
 * Every mode writes <state>/pid. */
#include <curl/curl.h>
#include <errno.h>
#include <libwebsockets.h>
#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pl_adapt.h"
#include "pl_log.h"
#include "pl_service.h"
#include "pl_util.h"

#define AS_WS_MAX_MSG 256
/* A test's handful of agents; the SNMP service will have its own bound. */
#define AS_SNMP_MAX_AGENTS 8
#define AS_SNMP_NOIDS 2
#define AS_SNMP_VALUE_MAX 256

typedef struct as as_t;

typedef struct {
	as_t *s;
	char name[128];
	void *sess; /* net-snmp's single-session handle */
	int pending; /* requests in flight */
	int timeouts;
	/* Per OID: the value, or "" while none came. */
	char value[AS_SNMP_NOIDS][AS_SNMP_VALUE_MAX];
	int got[AS_SNMP_NOIDS];
} as_agent_t;

struct as {
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
	/* snmp (shares adapt with curl) */
	as_agent_t agent[AS_SNMP_MAX_AGENTS];
	size_t nagents;
	int snmp_inited, snmp_reported, snmp_warned;
	uint64_t snmp_due; /* pl_now_ms() of net-snmp's next deadline; 0 none */
};

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

/* ---- net-snmp: "set + timeout", a single session an agent ---- */

static const struct {
	const char *name;
	oid id[9];
	size_t len;
} as_snmp_oids[AS_SNMP_NOIDS] = {
	{ "sysDescr.0", { 1, 3, 6, 1, 2, 1, 1, 1, 0 }, 9 },
	{ "sysName.0", { 1, 3, 6, 1, 2, 1, 1, 5, 0 }, 9 },
};

/* net-snmp reads snmp.conf files and MIBs at init_snmp and loads and saves
 * persistent state under /var/lib/snmp; none of that is ours to depend on,
 * and the sandbox grants /usr and /etc read-only and nothing below /var.
 * So it reads and writes none of it: OIDs are numeric. Its TLS support
 * still creates an empty cert_indexes/ in the persistent dir whatever the
 * flags say, hence a persistent dir of our own in the state dir. Its
 * alarms run from our deadline instead of SIGALRM (run_alarms in
 * as_snmp_run). */
static void as_snmp_init_quiet(as_t *s)
{
	char dir[4096];
	state_path(s, "net-snmp", dir, sizeof(dir));
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID,
			       NETSNMP_DS_LIB_DONT_READ_CONFIGS, 1);
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID,
			       NETSNMP_DS_LIB_DONT_PERSIST_STATE, 1);
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID,
			       NETSNMP_DS_LIB_DISABLE_PERSISTENT_LOAD, 1);
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID,
			       NETSNMP_DS_LIB_DISABLE_PERSISTENT_SAVE, 1);
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID,
			       NETSNMP_DS_LIB_ALARM_DONT_USE_SIG, 1);
	netsnmp_ds_set_string(NETSNMP_DS_LIBRARY_ID,
			      NETSNMP_DS_LIB_PERSISTENT_DIR, dir);
	/* No MIB directory to scan and no MIB module to load (only the
	 * environment can say "none" to the default module list). */
	netsnmp_set_mib_directory("");
	setenv("MIBS", "", 1);
	init_snmp("plsc-adaptsvc");
	s->snmp_inited = 1;
}

static void as_snmp_value(const netsnmp_variable_list *v, char *buf, size_t size)
{
	if (v->type == ASN_OCTET_STR) {
		size_t len = v->val_len < size - 1 ? v->val_len : size - 1;
		/* One line each in the result file: no control bytes. */
		for (size_t i = 0; i < len; i++) {
			unsigned char c = v->val.string[i];
			buf[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
		}
		buf[len] = '\0';
	} else if (v->type == SNMP_NOSUCHOBJECT || v->type == SNMP_NOSUCHINSTANCE ||
		   v->type == SNMP_ENDOFMIBVIEW) {
		pl_strlcpy(buf, "(no such object)", size);
	} else {
		snprintf(buf, size, "(type 0x%02x)", (unsigned)v->type);
	}
}

static void as_snmp_received(as_agent_t *ag, const netsnmp_pdu *pdu)
{
	if (pdu->errstat != SNMP_ERR_NOERROR) {
		pl_warn("snmp: %s: %s", ag->name, snmp_errstring((int)pdu->errstat));
		return;
	}
	for (const netsnmp_variable_list *v = pdu->variables; v;
	     v = v->next_variable)
		for (size_t k = 0; k < AS_SNMP_NOIDS; k++)
			if (snmp_oid_compare(v->name, v->name_length,
					     as_snmp_oids[k].id, as_snmp_oids[k].len) == 0) {
				as_snmp_value(v, ag->value[k], sizeof(ag->value[k]));
				ag->got[k] = 1;
			}
}

/* net-snmp calls this from snmp_sess_read and snmp_sess_timeout, once a
 * request with its outcome (RESEND and CONNECT are progress, not one). */
static int as_snmp_cb(int op, netsnmp_session *ss, int reqid, netsnmp_pdu *pdu,
		   void *magic)
{
	as_agent_t *ag = magic;
	(void)ss;
	(void)reqid;
	switch (op) {
	case NETSNMP_CALLBACK_OP_RECEIVED_MESSAGE:
		as_snmp_received(ag, pdu);
		break;
	case NETSNMP_CALLBACK_OP_TIMED_OUT:
		ag->timeouts++;
		break;
	case NETSNMP_CALLBACK_OP_SEND_FAILED:
	case NETSNMP_CALLBACK_OP_SEC_ERROR:
		pl_warn("snmp: %s: request failed (%d)", ag->name, op);
		break;
	default:
		return 1;
	}
	ag->pending--;
	return 1;
}

/* Once every request has its outcome: the result file, the log, the
 * status line. */
static void as_snmp_report(as_t *s)
{
	char out[AS_SNMP_MAX_AGENTS * AS_SNMP_NOIDS *
		 (sizeof(s->agent[0].name) + AS_SNMP_VALUE_MAX + 32)];
	size_t len = 0;
	int values = 0, timeouts = 0, silent = 0;

	if (s->snmp_reported)
		return;
	for (size_t i = 0; i < s->nagents; i++)
		if (s->agent[i].pending > 0)
			return;
	out[0] = '\0';
	for (size_t i = 0; i < s->nagents; i++) {
		const as_agent_t *ag = &s->agent[i];
		timeouts += ag->timeouts;
		silent += ag->timeouts > 0;
		for (size_t k = 0; k < AS_SNMP_NOIDS; k++) {
			if (ag->got[k])
				values++;
			/* Sized above for the longest name and value. */
			len += (size_t)snprintf(out + len, sizeof(out) - len,
				"%s %s %s%s\n", ag->name, as_snmp_oids[k].name,
				ag->got[k] ? "= " : "",
				ag->got[k] ? ag->value[k] :
				ag->timeouts ? "timeout" : "error");
		}
	}
	s->snmp_reported = 1;
	write_state(s, "snmp", out);
	pl_info("snmp: %d values from %zu agents, %d requests timed out (%d agents)",
		values, s->nagents, timeouts, silent);
	pl_service_status(s->svc, "snmp: %d values, %d timeouts", values,
			  timeouts);
}

static void as_snmp_refresh(pl_adapt_t *a, void *arg)
{
	as_t *s = arg;
	fd_set rs;
	int nfds = 0;
	long ms = -1;

	FD_ZERO(&rs);
	for (size_t i = 0; i < s->nagents; i++) {
		/* A block flag and a timeval per session: asked about a session
		 * with nothing in flight, snmp_sess_select_info sets *block = 1
		 * even when an earlier session had cleared it, so a shared flag
		 * would forget the earlier deadline. */
		struct timeval tv = { 0, 0 };
		int block = 1;
		snmp_sess_select_info(s->agent[i].sess, &nfds, &rs, &tv, &block);
		if (block)
			continue;
		/* Rounded up: waking before the deadline would only spin. */
		long t = (long)tv.tv_sec * 1000 + (tv.tv_usec + 999) / 1000;
		if (ms < 0 || t < ms)
			ms = t;
	}
	s->snmp_due = ms < 0 ? 0 : pl_now_ms() + (uint64_t)ms;
	if (pl_adapt_want_fdset(a, nfds, &rs, NULL, NULL) < 0 && !s->snmp_warned) {
		/* Its requests then time out: visible in the result. */
		pl_err("snmp: cannot watch a session's socket: %s", strerror(errno));
		s->snmp_warned = 1;
	}
}

static long as_snmp_timeout(pl_adapt_t *a, void *arg)
{
	as_t *s = arg;
	uint64_t now = pl_now_ms();
	(void)a;
	if (!s->snmp_due)
		return -1;
	return s->snmp_due <= now ? 0 : (long)(s->snmp_due - now);
}

static void as_snmp_run(pl_adapt_t *a, const pl_adapt_ready_t *ready, size_t n,
		     void *arg)
{
	as_t *s = arg;
	fd_set rs, ws, es;
	int nfds;
	int due = s->snmp_due && s->snmp_due <= pl_now_ms();
	(void)a;

	pl_adapt_fdset(ready, n, &rs, &ws, &es, &nfds);
	for (size_t i = 0; i < s->nagents; i++) {
		/* Each session reads only when its own socket is in rs. */
		if (n)
			snmp_sess_read(s->agent[i].sess, &rs);
		if (due)
			snmp_sess_timeout(s->agent[i].sess);
	}
	if (due)
		run_alarms();
	as_snmp_report(s);
}

static int as_snmp_config(const pl_cnode_t *cfg, as_t *s, pl_err_t *err)
{
	pl_cnode_t arr, el;
	const char *name;
	size_t n;

	if (pl_cnode_array(cfg, "agents", 1, &arr, err) < 0)
		return -1;
	n = json_array_size(arr.node);
	if (n < 1 || n > AS_SNMP_MAX_AGENTS)
		return pl_cnode_error(cfg, "agents", err,
				      "expected 1 to %d agents", AS_SNMP_MAX_AGENTS);
	for (size_t i = 0; i < n; i++) {
		pl_cnode_index(&arr, i, &el);
		if (pl_cnode_str_req(&el, NULL, &name, err) < 0)
			return -1;
		if (strlen(name) >= sizeof(s->agent[i].name))
			return pl_cnode_error(&el, NULL, err, "too long");
		pl_strlcpy(s->agent[i].name, name, sizeof(s->agent[i].name));
		s->agent[i].s = s;
	}
	s->nagents = n;
	return 0;
}

static void as_snmp_lib_error(const char *what, const char *agent, void *sess,
			   netsnmp_session *plain)
{
	char *msg = NULL;
	int liberr = 0, syserr = 0;
	if (sess)
		snmp_sess_error(sess, &liberr, &syserr, &msg);
	else
		snmp_error(plain, &liberr, &syserr, &msg);
	pl_err("snmp: %s %s: %s", what, agent, msg ? msg : "unknown error");
	free(msg);
}

/* Open agent's session and send its GETs, one an OID, all in flight at
 * once (the SNMP service will poll many printers this way). */
static int as_snmp_open_agent(as_agent_t *ag, const char *community,
			   long long timeout_ms, long long retries)
{
	netsnmp_session conf;

	snmp_sess_init(&conf);
	conf.peername = ag->name;
	conf.version = SNMP_VERSION_2c;
	/* snmp_sess_open copies it. */
	conf.community = (u_char *)(uintptr_t)community;
	conf.community_len = strlen(community);
	conf.timeout = (long)timeout_ms * 1000; /* microseconds */
	conf.retries = (int)retries;
	ag->sess = snmp_sess_open(&conf);
	if (!ag->sess) {
		as_snmp_lib_error("cannot open", ag->name, NULL, &conf);
		return -1;
	}
	for (size_t k = 0; k < AS_SNMP_NOIDS; k++) {
		netsnmp_pdu *pdu = snmp_pdu_create(SNMP_MSG_GET);
		if (!pdu)
			return -1;
		snmp_add_null_var(pdu, as_snmp_oids[k].id, as_snmp_oids[k].len);
		if (!snmp_sess_async_send(ag->sess, pdu, as_snmp_cb, ag)) {
			as_snmp_lib_error("cannot send to", ag->name, ag->sess, NULL);
			snmp_free_pdu(pdu);
			return -1;
		}
		ag->pending++;
	}
	return 0;
}

static int start_snmp(as_t *s, const pl_cnode_t *cfg, pl_err_t *err)
{
	static const pl_adapt_ops_t ops = {
		.refresh = as_snmp_refresh,
		.timeout = as_snmp_timeout,
		.run = as_snmp_run,
	};
	const char *community;
	long long timeout_ms, retries;

	if (as_snmp_config(cfg, s, err) < 0 ||
	    pl_cnode_str(cfg, "community", "public", &community, err) < 0 ||
	    pl_cnode_int(cfg, "timeout_ms", 10, 60000, 1000, &timeout_ms, err) < 0 ||
	    pl_cnode_int(cfg, "retries", 0, 5, 1, &retries, err) < 0)
		return -1;
	as_snmp_init_quiet(s);
	for (size_t i = 0; i < s->nagents; i++)
		if (as_snmp_open_agent(&s->agent[i], community, timeout_ms,
				    retries) < 0)
			return -1;
	s->adapt = pl_adapt_new(pl_service_loop(s->svc), &ops, s);
	return s->adapt ? 0 : -1;
}

static void stop_snmp(as_t *s)
{
	pl_adapt_free(s->adapt);
	/* Closing calls back TIMED_OUT for requests still in flight: no
	 * report from those. */
	s->snmp_reported = 1;
	for (size_t i = 0; i < s->nagents; i++)
		if (s->agent[i].sess)
			snmp_sess_close(s->agent[i].sess);
	if (s->snmp_inited)
		snmp_shutdown("plsc-adaptsvc");
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
	else if (strcmp(s->mode, "snmp") == 0)
		rc = start_snmp(s, cfg, &err);
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
	else if (strcmp(s->mode, "snmp") == 0)
		stop_snmp(s);
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
		.help = "Config keys: mode (curl, ws, snmp, hang, stuck), url, ws_port,\n"
			"count, agents, community, timeout_ms, retries, watchdog_ms,\n"
			"stuck_ms.\n",
		.start = as_start,
		.stop = as_stop,
	};
	return pl_service_main(argc, argv, &def, &s);
}
