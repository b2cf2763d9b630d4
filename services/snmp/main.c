/* PrinterLogicServiceSNMP (snmp.h, PrinterLogicServiceSNMP(8)).
 *
 * Every second the loop reads the printers and their SNMP options from
 * the directory (read-only: this service faces the network and writes no
 * directory) and hands the printers that are due to the poller (poll.c),
 * which keeps up to `window` of them in flight at once. Each result is
 * decoded (decode.c), run through the alert hysteresis (alerts.c) and
 * written to the status file (lib/prstatus) in one transaction a round.
 * Raised and cleared alerts are logged, sent to the supervisor as
 * printer-alert events (job-events.jsonl) and, when mail_to is set,
 * mailed from a worker thread. */
#include "snmp.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include <curl/curl.h>

#include "alerts.h"
#include "decode.h"
#include "pl_directory.h"
#include "pl_log.h"
#include "pl_prstatus.h"
#include "pl_schemas.h"
#include "pl_service.h"
#include "pl_util.h"

#define SNMP_TICK_MS 1000

typedef struct {
	char name[128];
	sp_target_t t;
	sa_printer_t alerts;
	pl_dir_snmp_t opt;
	uint64_t next_ms;
	int in_flight, ever_answered, present;
	char profile_missing;
} pr_t;

typedef struct {
	pl_service_t *svc;
	snmp_conf_t conf;
	int parsed;
	pl_dir_t *dir;
	pl_prstatus_t *store;
	sp_poll_t *poll;
	pl_work_t *mailer;
	pl_timer_t *tick;
	pr_t **pr;
	size_t npr;
	json_t *rows; /* printer -> row, written at the next flush */
	unsigned long long polls, answered, silent, refused;
	char status[256];
	/* the round in progress: from the first printer handed to an idle
	 * poller until it is idle again */
	uint64_t round_ms;
	unsigned long long round_n, round_ok;
} snmp_t;

/* ---- the row a poll leaves ---- */

static int toner_like(const sd_supply_t *s)
{
	if (s->cls == 4)
		return 0;
	if (s->type == 3 || s->type == 5 || s->type == 6 || s->type == 21)
		return 1;
	return s->type <= 2 && (strcasestr(s->desc, "toner") || strcasestr(s->desc, "ink"));
}

static void observe(const snmp_t *m, const pr_t *p, const char *word, sa_obs_t *o)
{
	const sp_target_t *t = &p->t;
	const sd_state_t *s = &t->st;
	int ok = t->outcome == SP_OK;
	memset(o->seen, -1, sizeof(o->seen));
	if (strcmp(word, "unreachable") == 0 || (ok && strcmp(word, "offline") == 0))
		o->seen[SA_OFFLINE] = 1;
	else if (ok)
		o->seen[SA_OFFLINE] = 0;
	if (!ok)
		return;
	int low = s->err_valid && (s->err_bits & SD_ERR_NO_TONER);
	for (size_t i = 0; i < s->nsup; i++)
		if (toner_like(&s->sup[i]) && s->sup[i].pct >= 0 &&
		    s->sup[i].pct <= m->conf.toner_low)
			low = 1;
	o->seen[SA_LOW_TONER] = (int8_t)low;
	o->seen[SA_JAM] = s->err_valid ? !!(s->err_bits & SD_ERR_JAMMED) : 0;
	o->seen[SA_NO_PAPER] = s->err_valid ? !!(s->err_bits & SD_ERR_NO_PAPER) : 0;
	o->seen[SA_DOOR_OPEN] = s->err_valid ? !!(s->err_bits & SD_ERR_DOOR_OPEN) : 0;
}

static const char *state_word(const pr_t *p)
{
	switch (p->t.outcome) {
	case SP_OK: return sd_state_word(&p->t.st);
	case SP_NO_ANSWER: return p->ever_answered ? "unreachable" : "no-snmp";
	case SP_AUTH: return "auth-failed";
	default: return "snmp-error";
	}
}

static int64_t unix_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static json_t *row_of(const pr_t *p, const char *word)
{
	const sp_target_t *t = &p->t;
	json_t *al = json_array();
	for (int k = 0; k < SA_COUNT; k++)
		if (p->alerts.active[k])
			json_array_append_new(al, json_string(sa_name(k)));
	json_t *r = json_pack("{s:s,s:I,s:b,s:s,s:s,s:s,s:i,s:s,s:I,s:o}", "printer", p->name,
			      "polled_ms", (json_int_t)unix_ms(), "reachable",
			      t->outcome == SP_OK, "state", word, "why", t->why, "host", t->host,
			      "port", (int)t->port, "profile", p->opt.profile, "took_ms",
			      (json_int_t)t->took_ms, "alerts", al);
	json_object_set_new(r, "interval_s", json_integer(p->opt.interval_s));
	if (t->outcome == SP_OK)
		json_object_set_new(r, "snmp", sd_json(&t->st));
	return r;
}

/* ---- alerts: log, event, mail ---- */

typedef struct {
	snmp_t *m;
	char subject[200], body[1200];
	char why[200];
	int rc;
} mail_job_t;

static void mail_work(void *arg)
{
	mail_job_t *j = arg;
	j->rc = snmp_mail_send(&j->m->conf, j->subject, j->body, j->why, sizeof(j->why));
}

static void mail_done(void *arg)
{
	mail_job_t *j = arg;
	if (j->rc < 0)
		pl_warn("alert mail to %s not sent: %s", j->m->conf.mail_to, j->why);
	else
		pl_info("alert mail sent to %s: %s", j->m->conf.mail_to, j->subject);
	free(j);
}

static void alert_event(snmp_t *m, const pr_t *p, int which, int raised, const char *detail)
{
	pl_msg_t msg;
	char d[300];
	snprintf(d, sizeof(d), "%s: %s", sa_name(which), detail);
	if (pl_msg_init(&msg, PL_MSG_JOB_EVENT, 0, 0) == 0) {
		pl_msg_add_str(&msg, PL_TAG_EVENT, raised ? "printer-alert" : "printer-alert-cleared");
		pl_msg_add_str(&msg, PL_TAG_PRINTER, p->name);
		pl_msg_add_str(&msg, PL_TAG_DETAIL, d);
		pl_msg_add_u64(&msg, PL_TAG_TIME_MS, (uint64_t)unix_ms());
		if (pl_msg_finish(&msg) == 0 && pl_service_supervised(m->svc))
			(void)pl_service_send(m->svc, &msg);
		pl_msg_free(&msg);
	}
	if (!m->conf.mail_to[0] || !m->mailer)
		return;
	mail_job_t *j = calloc(1, sizeof(*j));
	if (!j)
		return;
	j->m = m;
	snprintf(j->subject, sizeof(j->subject), "[plsc] printer %s: %s %s", p->name,
		 sa_name(which), raised ? "raised" : "cleared");
	snprintf(j->body, sizeof(j->body), "Printer %s (%s): alert %s %s.\r\n%s\r\n", p->name,
		 p->t.host, sa_name(which), raised ? "raised" : "cleared", detail);
	if (pl_work_submit(m->mailer, mail_work, mail_done, j) < 0)
		free(j);
}

static void alerts_apply(snmp_t *m, pr_t *p, const char *word)
{
	sa_obs_t o;
	unsigned up, down;
	char detail[256], errs[200];
	observe(m, p, word, &o);
	sa_update(&p->alerts, &o, (int)m->conf.alert_polls, &up, &down);
	if (!up && !down)
		return;
	sd_err_names(p->t.st.err_valid ? p->t.st.err_bits : 0, errs, sizeof(errs));
	snprintf(detail, sizeof(detail), "state %s%s%s", word, errs[0] ? ", errors " : "", errs);
	for (int k = 0; k < SA_COUNT; k++) {
		if (up & (1u << k))
			pl_warn("alert raised: printer %s %s (%s, %lld polls)", p->name, sa_name(k),
				detail, m->conf.alert_polls);
		if (down & (1u << k))
			pl_info("alert cleared: printer %s %s (%s)", p->name, sa_name(k), detail);
		if ((up | down) & (1u << k))
			alert_event(m, p, k, !!(up & (1u << k)), detail);
	}
}

/* ---- the poll round ---- */

static void report(snmp_t *m)
{
	char now[sizeof(m->status)];
	snprintf(now, sizeof(now), "%zu printers; %llu polls: %llu answered, %llu no answer, "
		 "%llu refused", m->npr, m->polls, m->answered, m->silent, m->refused);
	if (strcmp(now, m->status) == 0)
		return;
	pl_strlcpy(m->status, now, sizeof(m->status));
	pl_service_status(m->svc, "%s", now);
}

static void flush(snmp_t *m)
{
	pl_err_t err = { "" };
	const char *name;
	json_t *row;
	if (!m->store || json_object_size(m->rows) == 0)
		return;
	if (pl_prstatus_begin(m->store, &err) == 0) {
		json_object_foreach(m->rows, name, row)
			if (pl_prstatus_put(m->store, name, row, &err) < 0)
				break;
		if (!err.msg[0])
			(void)pl_prstatus_commit(m->store, &err);
	}
	if (err.msg[0])
		pl_err("%s", err.msg);
	json_object_clear(m->rows);
}

static void polled(sp_target_t *t, void *arg)
{
	snmp_t *m = arg;
	pr_t *p = t->user;
	p->in_flight = 0;
	m->polls++;
	if (t->outcome == SP_OK) {
		m->answered++;
		p->ever_answered = 1;
		sd_finish(&t->st);
	} else if (t->outcome == SP_NO_ANSWER) {
		m->silent++;
	} else {
		m->refused++;
		if (t->outcome == SP_AUTH)
			pl_warn("printer %s (%s): %s", p->name, t->host, t->why);
	}
	const char *word = state_word(p);
	alerts_apply(m, p, word);
	pl_debug("polled %s: %s %s (%llu ms)", p->name, word, t->why,
		 (unsigned long long)t->took_ms);
	json_object_set_new(m->rows, p->name, row_of(p, word));
	if (!p->present) /* deleted while in flight */
		json_object_del(m->rows, p->name);
	m->round_n++;
	m->round_ok += t->outcome == SP_OK;
	if (sp_busy(m->poll) == 0) {
		flush(m);
		report(m);
		/* big rounds are news; a printer or two due alone are not */
		pl_log(m->round_n >= 50 ? PL_LOG_INFO : PL_LOG_DEBUG,
		       "poll round: %llu printers in %llu ms, %llu answered", m->round_n,
		       (unsigned long long)(pl_now_ms() - m->round_ms), m->round_ok);
		m->round_ms = 0;
	}
}

static pr_t *find_pr(snmp_t *m, const char *name)
{
	for (size_t i = 0; i < m->npr; i++)
		if (strcmp(m->pr[i]->name, name) == 0)
			return m->pr[i];
	return NULL;
}

static pr_t *add_pr(snmp_t *m, const char *name)
{
	pr_t **v = realloc(m->pr, (m->npr + 1) * sizeof(*v));
	pr_t *p = calloc(1, sizeof(*p));
	if (!v || !p) {
		free(p);
		if (v)
			m->pr = v;
		return NULL;
	}
	m->pr = v;
	pl_strlcpy(p->name, name, sizeof(p->name));
	m->pr[m->npr++] = p;
	return p;
}

/* Printers gone from the directory leave (once not in flight). */
static void drop_gone(snmp_t *m)
{
	for (size_t i = 0; i < m->npr;) {
		pr_t *p = m->pr[i];
		if (p->present || p->in_flight) {
			i++;
			continue;
		}
		m->pr[i] = m->pr[--m->npr];
		free(p);
	}
}

static void off_row(snmp_t *m, pr_t *p, const char *word, const char *why)
{
	json_t *r = json_pack("{s:s,s:I,s:b,s:s,s:s,s:[]}", "printer", p->name, "polled_ms",
			      (json_int_t)unix_ms(), "reachable", 0, "state", word, "why", why,
			      "alerts");
	json_object_set_new(m->rows, p->name, r);
}

static void consider(snmp_t *m, const pl_dir_printer_t *dp, uint64_t now)
{
	char text[PL_DIR_SNMP_TEXT_MAX], why[128];
	pl_err_t err = { "" };
	pr_t *p = find_pr(m, dp->name);
	if (!p && !(p = add_pr(m, dp->name)))
		return;
	p->present = 1;
	if (p->in_flight || now < p->next_ms)
		return;
	if (pl_dir_snmp_get(m->dir, dp->name, text, &err) < 0 ||
	    pl_dir_snmp_parse(text, &p->opt, why, sizeof(why)) < 0) {
		pl_dir_snmp_defaults(&p->opt);
		pl_warn("printer %s: SNMP options ignored: %s", dp->name, err.msg[0] ? err.msg : why);
	}
	p->next_ms = now + (uint64_t)p->opt.interval_s * 1000u;
	if (!p->opt.enabled) {
		off_row(m, p, "snmp-off", "SNMP polling is off for this printer");
		return;
	}
	sp_target_t *t = &p->t;
	const sp_profile_t *prof = snmp_conf_profile(&m->conf, p->opt.profile);
	memset(t->host, 0, sizeof(t->host));
	if (p->opt.host[0])
		pl_strlcpy(t->host, p->opt.host, sizeof(t->host));
	else if (pl_dir_uri_host(dp->uri, t->host, sizeof(t->host)) < 0) {
		off_row(m, p, "snmp-error", "no host in the printer's URI (set host=)");
		return;
	}
	if (!prof) {
		snprintf(why, sizeof(why), "no SNMP profile \"%s\" in the configuration",
			 p->opt.profile);
		off_row(m, p, "snmp-error", why);
		return;
	}
	pl_strlcpy(t->name, dp->name, sizeof(t->name));
	t->port = (unsigned)p->opt.port;
	t->timeout_ms = p->opt.timeout_ms;
	t->retries = p->opt.retries;
	t->prof = prof;
	t->user = p;
	p->in_flight = 1;
	if (sp_busy(m->poll) == 0 && !m->round_ms) {
		m->round_ms = pl_now_ms();
		m->round_n = m->round_ok = 0;
	}
	sp_submit(m->poll, t);
}

static void on_tick(pl_loop_t *loop, void *arg)
{
	snmp_t *m = arg;
	pl_dir_printer_t *v = NULL;
	size_t n = 0;
	pl_err_t err = { "" };
	uint64_t now = pl_now_ms();
	m->tick = pl_loop_timer(loop, SNMP_TICK_MS, on_tick, m);
	if (pl_dir_printer_list(m->dir, &v, &n, &err) < 0) {
		pl_err("directory: %s", err.msg);
		return;
	}
	for (size_t i = 0; i < m->npr; i++)
		m->pr[i]->present = 0;
	for (size_t i = 0; i < n; i++)
		consider(m, &v[i], now);
	drop_gone(m);
	const char **keep = calloc(n + 1, sizeof(*keep));
	for (size_t i = 0; keep && i < n; i++)
		keep[i] = v[i].name;
	if (keep && m->store && pl_prstatus_prune(m->store, keep, n, &err) < 0)
		pl_err("%s", err.msg);
	free(keep);
	free(v);
	flush(m);
	report(m);
}

/* A restart keeps what printers answered before: one that did is
 * "unreachable" when silent, not "no-snmp"; active alerts stay active. */
static void load_previous(snmp_t *m)
{
	pl_err_t err = { "" };
	json_t *all = m->store ? pl_prstatus_all(m->store, &err) : NULL;
	const char *name;
	json_t *row;
	json_object_foreach(all, name, row) {
		pr_t *p = add_pr(m, name);
		if (!p)
			break;
		const char *w = json_string_value(json_object_get(row, "state"));
		p->ever_answered = json_is_true(json_object_get(row, "reachable")) ||
				   (w && strcmp(w, "unreachable") == 0);
		json_t *al = json_object_get(row, "alerts"), *a;
		size_t i;
		json_array_foreach(al, i, a)
			for (int k = 0; k < SA_COUNT; k++)
				if (json_is_string(a) && strcmp(json_string_value(a), sa_name(k)) == 0)
					p->alerts.active[k] = 1;
	}
	json_decref(all);
}

/* ---- the service ---- */

static int snmp_settings(snmp_t *m, const pl_cnode_t *cfg)
{
	pl_err_t err = { "" };
	if (m->parsed)
		return 0;
	if (snmp_conf_parse(cfg, pl_service_state_dir(m->svc), &m->conf, &err) < 0) {
		pl_err("%s", err.msg);
		return PL_EXIT_CONFIG;
	}
	m->parsed = 1;
	return 0;
}

static int snmp_sandbox(pl_service_t *svc, const pl_cnode_t *cfg, pl_sandbox_t *sb, void *ctx)
{
	snmp_t *m = ctx;
	pl_err_t err = { "" };
	m->svc = svc;
	int rc = snmp_settings(m, cfg);
	if (rc)
		return rc;
	if (pl_dir_sandbox(sb, m->conf.directory_path, PL_DIR_READ_CREATE, &err) < 0) {
		pl_err("sandbox: %s", err.msg);
		return 1;
	}
	return 0;
}

static int snmp_start(pl_service_t *svc, const pl_cnode_t *cfg, void *ctx)
{
	snmp_t *m = ctx;
	pl_err_t err = { "" };
	char path[PATH_MAX];
	m->svc = svc;
	int rc = snmp_settings(m, cfg);
	if (rc)
		return rc;
	if (pl_dir_open(&m->dir, m->conf.directory_path, PL_DIR_READ_CREATE, &err) < 0) {
		pl_err("directory: %s", err.msg);
		return 1;
	}
	/* plsc and the console read the status file: the state dir may be
	 * entered (not listed) by them, the file read */
	(void)chmod(pl_service_state_dir(svc), 0711);
	if (pl_fmt(path, sizeof(path), "%s/%s", pl_service_state_dir(svc), PL_PRSTATUS_FILE) < 0 ||
	    !(m->store = pl_prstatus_open(path, 1, &err))) {
		pl_err("%s", err.msg[0] ? err.msg : "status file path too long");
		return 1;
	}
	(void)chmod(path, 0644);
	sp_global_init(pl_service_state_dir(svc));
	curl_global_init(CURL_GLOBAL_DEFAULT);
	m->rows = json_object();
	m->poll = sp_new(pl_service_loop(svc), (size_t)m->conf.window, polled, m);
	m->mailer = m->conf.mail_to[0] ? pl_work_new(pl_service_loop(svc), "snmp-mail", 1, 5)
				       : NULL;
	if (!m->rows || !m->poll || (m->conf.mail_to[0] && !m->mailer)) {
		pl_err("out of memory");
		return 1;
	}
	if (m->mailer)
		(void)pl_service_add_pool(svc, m->mailer, 120000);
	load_previous(m);
	pl_info("polling printers over SNMP: %zu profiles, %lld at once, alerts after %lld "
		"polls, low toner at %lld%%%s%s", m->conf.nprofiles, m->conf.window,
		m->conf.alert_polls, m->conf.toner_low, m->conf.mail_to[0] ? ", mail to " : "",
		m->conf.mail_to);
	report(m);
	on_tick(pl_service_loop(svc), m);
	return 0;
}

static void snmp_stop(pl_service_t *svc, void *ctx)
{
	snmp_t *m = ctx;
	if (m->tick)
		pl_loop_timer_cancel(pl_service_loop(svc), m->tick);
	m->tick = NULL;
	if (m->mailer) {
		pl_service_remove_pool(svc, m->mailer);
		pl_work_free(m->mailer);
	}
	sp_free(m->poll);
	flush(m);
	json_decref(m->rows);
	pl_prstatus_close(m->store);
	pl_dir_close(m->dir);
	for (size_t i = 0; i < m->npr; i++)
		free(m->pr[i]);
	free(m->pr);
	for (size_t i = 0; i < m->conf.nprofiles; i++) {
		memset(m->conf.profiles[i].community, 0, sizeof(m->conf.profiles[i].community));
		memset(m->conf.profiles[i].ku_auth, 0, sizeof(m->conf.profiles[i].ku_auth));
		memset(m->conf.profiles[i].ku_priv, 0, sizeof(m->conf.profiles[i].ku_priv));
	}
}

int main(int argc, char **argv)
{
	static const pl_service_def_t def = {
		.name = SNMP_NAME,
		.summary = "Polls every printer in the directory over SNMP (v1, v2c, v3) and\n"
			   "keeps its status, supplies, page counter and alerts current for\n"
			   "plsc, the console and job release.",
		.schema = &pl_schema_snmp,
		.help = "Per-printer options: plsc printers snmp NAME OPTIONS. The status:\n"
			"plsc printers list / show NAME. See PrinterLogicServiceSNMP(8).\n",
		.start = snmp_start,
		.stop = snmp_stop,
		.sandbox = snmp_sandbox,
	};
	static snmp_t m;
	return pl_service_main(argc, argv, &def, &m);
}
