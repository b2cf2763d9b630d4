/* One sync, on the worker thread (ids.h): read the source, compare with
 * the directory's users of source ldap (a read-only handle), and write the
 * changes as a batch for plsc-directory. Nothing is sent from here: the
 * loop sends the batch (main.c), or, for a dry run, only reports it.
 *
 * The directory's users are read first, each kept as its key and the
 * comparable text of its record (ids_user_canon, ~150 bytes, not the
 * record's ~2.9 KB), sorted by key. Each entry the server sends is then
 * mapped, compared and, if changed, written to the batch at once: nothing
 * of the source is held but the batch (and the keys of entries that are
 * disabled or cannot be mapped).
 *
 * Full sync: every entry under every base DN; a synced user whose key is
 *   not among them (or whose entry is disabled) is removed.
 * Incremental: the entries whose change_attr is at or above the high-water
 *   mark (>=: a change in the same second as the mark is read again,
 *   which costs a comparison), then a presence pass that asks only for the
 *   keys (and userAccountControl) of every entry, so that deletions show
 *   at the next incremental sync and not only at the next full one.
 * Any search that fails (the server going away mid-page included) fails
 * the whole sync: nothing is sent, so nothing is half-applied. An entry
 * that cannot be mapped is reported and its user left as it is (never
 * removed for it). */
#include "ids.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pl_log.h"
#include "pl_loop.h"
#include "pl_util.h"

#define REPORT_MAX 1000 /* changes and errors listed in a report */

/* A directory user, as a sync compares it. One allocation holds the key,
 * the name, the PIN mark and the comparable text. */
typedef struct {
	const char *key, *username, *pin_mark, *canon; /* canon NULL: not read yet */
	char *more; /* pin_mark and canon when read later (an incremental sync) */
	unsigned seen : 1;    /* read in this sync (mapped) */
	unsigned bad : 1;     /* its entry could not be mapped: keep */
	unsigned gone : 1;    /* its entry is disabled: remove */
	unsigned present : 1; /* the presence pass (or syncrepl's present phase) saw its key */
	unsigned removed : 1;
} cur_t;

typedef struct {
	ids_job_t *j;
	cur_t *cur;
	size_t ncur, capcur;
	ids_groups_t *groups; /* from a group search, or NULL */
	int keys_only;	      /* the presence pass */
	int oom;
	long sync_got;	      /* syncrepl: entries and UUIDs handed over */
	int present_phase;    /* syncrepl told deletions by presence */
	unsigned char pin_key[32];
} pull_t;

void ids_job_fail(ids_job_t *j, const char *msg)
{
	if (j->failed)
		return;
	j->failed = 1;
	pl_strlcpy(j->err, msg, sizeof(j->err));
}

void ids_report_add(ids_job_t *j, const char *list, json_t *item)
{
	json_t *arr = json_object_get(j->report, list);
	if (json_array_size(arr) < REPORT_MAX)
		json_array_append(arr, item);
	json_decref(item);
}

/* Is there room for one more item in list? (Items past it are counted,
 * not built.) */
static int report_room(ids_job_t *j, const char *list)
{
	return json_array_size(json_object_get(j->report, list)) < REPORT_MAX;
}

/* ---- the directory's users ---- */

static int on_dir_user(void *arg, const pl_dir_user_t *u)
{
	pull_t *p = arg;
	char canon[IDS_CANON_MAX];
	int n = ids_user_canon(u, canon, sizeof(canon));
	if (n < 0)
		return 0; /* cannot happen (bounded fields); never equal: rewritten */
	if (p->ncur == p->capcur) {
		size_t nc = p->capcur ? p->capcur * 2 : 1024;
		cur_t *c = realloc(p->cur, nc * sizeof(*c));
		if (!c)
			return 1;
		p->cur = c;
		p->capcur = nc;
	}
	size_t kl = strlen(u->external_id) + 1, ul = strlen(u->username) + 1,
	       ml = strlen(u->pin_mark) + 1;
	char *b = malloc(kl + ul + ml + (size_t)n + 1);
	if (!b)
		return 1;
	cur_t *c = &p->cur[p->ncur++];
	memset(c, 0, sizeof(*c));
	c->key = memcpy(b, u->external_id, kl);
	c->username = memcpy(b + kl, u->username, ul);
	c->pin_mark = memcpy(b + kl + ul, u->pin_mark, ml);
	c->canon = memcpy(b + kl + ul + ml, canon, (size_t)n + 1);
	return 0;
}

/* An incremental sync reads only the keys and names (the presence pass
 * needs no more), and the whole record of the few users whose entries
 * changed when they come (cur_fill). */
static int on_dir_key(void *arg, const char *key, const char *username)
{
	pull_t *p = arg;
	if (p->ncur == p->capcur) {
		size_t nc = p->capcur ? p->capcur * 2 : 1024;
		cur_t *c = realloc(p->cur, nc * sizeof(*c));
		if (!c)
			return 1;
		p->cur = c;
		p->capcur = nc;
	}
	size_t kl = strlen(key) + 1, ul = strlen(username) + 1;
	char *b = malloc(kl + ul);
	if (!b)
		return 1;
	cur_t *c = &p->cur[p->ncur++];
	memset(c, 0, sizeof(*c));
	c->key = memcpy(b, key, kl);
	c->username = memcpy(b + kl, username, ul);
	return 0;
}

/* c's record, if not read yet. 0 or -1 (the job failed). */
static int cur_fill(pull_t *p, cur_t *c)
{
	pl_dir_user_t u;
	char canon[IDS_CANON_MAX];
	pl_err_t err = { "" };
	if (c->canon)
		return 0;
	int rc = pl_dir_user_get(p->j->dir, c->username, &u, &err);
	int n = rc == 0 ? ids_user_canon(&u, canon, sizeof(canon)) : -1;
	size_t ml = strlen(u.pin_mark) + 1;
	if (rc != 0 || n < 0 || !(c->more = malloc(ml + (size_t)n + 1))) {
		ids_job_fail(p->j, rc < 0 ? err.msg : "the directory changed during the sync");
		return -1;
	}
	c->pin_mark = memcpy(c->more, u.pin_mark, ml);
	c->canon = memcpy(c->more + ml, canon, (size_t)n + 1);
	return 0;
}

static int cmp_cur(const void *a, const void *b)
{
	return strcmp(((const cur_t *)a)->key, ((const cur_t *)b)->key);
}

static int load_dir(ids_job_t *j, pull_t *p)
{
	pl_err_t err = { "" };
	int rc = j->full ? pl_dir_user_each_source(j->dir, "ldap", on_dir_user, p, &err)
			 : pl_dir_user_keys_source(j->dir, "ldap", on_dir_key, p, &err);
	if (rc != 0) {
		ids_job_fail(j, rc > 0 ? "out of memory" : err.msg);
		return -1;
	}
	if (p->ncur > 1)
		qsort(p->cur, p->ncur, sizeof(*p->cur), cmp_cur);
	return 0;
}

static cur_t *find_cur(pull_t *p, const char *key)
{
	cur_t k = { .key = key };
	return p->ncur ? bsearch(&k, p->cur, p->ncur, sizeof(*p->cur), cmp_cur) : NULL;
}

/* ---- the batch ---- */

/* A line (text, n bytes) onto the batch, which the loop may be sending from: the
 * loop is told when a part's worth waits (main.c sends it while the
 * reading goes on). 0 or -1. */
static int job_add_text(ids_job_t *j, const char *s, size_t n)
{
	pthread_mutex_lock(&j->mu);
	int rc = ids_batch_add_text(&j->batch, SIZE_MAX, s, n);
	int wake = rc == 0 && j->ready && !j->wake_posted &&
		   j->batch.len - j->sent >= IDS_PART_MAX;
	if (wake)
		j->wake_posted = 1;
	pthread_mutex_unlock(&j->mu);
	if (wake && pl_loop_post(j->loop, j->ready, j->ready_arg) < 0) {
		pthread_mutex_lock(&j->mu);
		j->wake_posted = 0; /* the next line tries again */
		pthread_mutex_unlock(&j->mu);
	}
	return rc;
}

static int job_add(ids_job_t *j, json_t *line)
{
	char *s = line ? json_dumps(line, JSON_COMPACT) : NULL;
	json_decref(line);
	int rc = s ? job_add_text(j, s, strlen(s)) : -1;
	free(s);
	return rc;
}

/* The PIN's part of u's batch line: set (the slow hash, here on the
 * worker), cleared, or nothing (kept). */
static int pin_line(ids_job_t *j, const pl_dir_user_t *u, const cur_t *old, const char *pin,
		    json_t *line)
{
	char hash[PL_DIR_PIN_HASH_MAX];
	pl_err_t err = { "" };
	if (!j->conf.pin_attr[0] || !strcmp(old ? old->pin_mark : "", u->pin_mark))
		return 0;
	if (!u->pin_mark[0])
		return json_object_set_new(line, "pin_mark", json_string(""));
	if (j->dry_run)
		return 0;
	pl_watchdog_kick(j->wd);
	if (pl_dir_pin_hash(pin, hash, &err) < 0)
		return -1;
	int rc = json_object_set_new(line, "pin_mark", json_string(u->pin_mark)) ||
		 json_object_set_new(line, "pin_hash", json_string(hash));
	OPENSSL_cleanse(hash, sizeof(hash));
	return rc ? -1 : 0;
}

static int put(ids_job_t *j, const pl_dir_user_t *u, const char *canon, const cur_t *old,
	       const char *pin)
{
	const char *what = !old ? "add" : strcmp(old->username, u->username) ? "rename" : "update";
	if (!old)
		j->adds++;
	else
		j->updates++;
	if (report_room(j, "changes")) {
		json_t *item = json_pack("{s:s,s:s}", "change", what, "user", u->username);
		if (old && strcmp(old->username, u->username))
			json_object_set_new(item, "was", json_string(old->username));
		else if (old)
			json_object_set_new(item, "field",
					    json_string(ids_canon_diff(old->canon, canon)));
		ids_report_add(j, "changes", item);
	}
	/* no PIN change (pin_line would add nothing): the plain writer */
	char text[IDS_LINE_MAX];
	int tl = !j->conf.pin_attr[0] || !strcmp(old ? old->pin_mark : "", u->pin_mark)
			 ? ids_user_line_plain(u, text, sizeof(text))
			 : -1;
	if (tl > 0)
		return job_add_text(j, text, (size_t)tl);
	json_t *line = ids_user_line(u);
	if (!line || pin_line(j, u, old, pin, line) < 0) {
		json_decref(line);
		return -1;
	}
	return job_add(j, line);
}

static int remove_user(ids_job_t *j, cur_t *old)
{
	if (old->removed)
		return 0;
	old->removed = 1;
	j->removes++;
	if (report_room(j, "changes"))
		ids_report_add(j, "changes",
			       json_pack("{s:s,s:s}", "change", "remove", "user", old->username));
	return job_add(j, json_pack("{s:s}", "remove", old->key));
}

/* u's mark from the PIN read (st as ids_map_pin's): the PIN's; none: "";
 * no pin_attr or a value that is not a PIN: the directory's as it is. */
static void pin_mark_set(pull_t *p, pl_dir_user_t *u, const cur_t *old, int st,
			 const char *pin)
{
	if (p->j->conf.pin_attr[0] && st > 0)
		ids_pin_mark(p->pin_key, u->external_id, pin, u->pin_mark);
	else if (p->j->conf.pin_attr[0] && st == 0)
		u->pin_mark[0] = '\0';
	else
		pl_strlcpy(u->pin_mark, old ? old->pin_mark : "", sizeof(u->pin_mark));
}

/* ---- entries ---- */

static int on_presence(pull_t *p, const pl_dir_user_t *u, int disabled)
{
	/* only the key matters: disabled or unmappable, it is present */
	cur_t *c = u->external_id[0] ? find_cur(p, u->external_id) : NULL;
	if (c) {
		c->present = 1;
		c->gone |= (unsigned)disabled;
	}
	return 0;
}

/* A mapped, enabled user: compared with the directory's, put if changed. */
static int on_user(pull_t *p, const pl_ldap_entry_t *e, pl_dir_user_t *u)
{
	ids_job_t *j = p->j;
	char pin[IDS_PIN_MAX + 1] = "", canon[IDS_CANON_MAX];
	int skipped = 0, st = 0, rc = 0;
	if (p->groups)
		ids_groups_of(p->groups, e->dn, u->groups, sizeof(u->groups), &skipped);
	if (j->conf.pin_attr[0] && (st = ids_map_pin(&j->conf, e, pin, sizeof(pin))) < 0) {
		/* the value stays out of the report and the log */
		j->errors++;
		ids_report_add(j, "errors",
			       json_pack("{s:s,s:s}", "dn", e->dn, "message",
					 "the PIN attribute is not a PIN (4 to 32 digits); the "
					 "user's PIN is left as it was"));
	}
	cur_t *old = find_cur(p, u->external_id);
	if (old && cur_fill(p, old) < 0)
		return -1;
	if (old)
		old->seen = 1;
	pin_mark_set(p, u, old, st, pin);
	if (ids_user_canon(u, canon, sizeof(canon)) < 0 || !old || strcmp(old->canon, canon))
		rc = put(j, u, canon, old, pin);
	OPENSSL_cleanse(pin, sizeof(pin));
	return rc;
}

static int on_entry(void *arg, const pl_ldap_entry_t *e)
{
	pull_t *p = arg;
	ids_job_t *j = p->j;
	char why[200], change[64];
	int disabled, skipped = 0;
	pl_dir_user_t u;
	pl_watchdog_kick(j->wd); /* progress: one more entry */
	if (__atomic_load_n(&j->stop, __ATOMIC_ACQUIRE)) {
		ids_job_fail(j, "stopped: the batch could not be applied");
		return 1; /* the search ends here */
	}
	int rc = ids_map_entry(&j->conf, e, &u, &disabled, change, sizeof(change), &skipped, why,
			       sizeof(why));
	if (ids_change_newer(change, j->hwm_out))
		pl_strlcpy(j->hwm_out, change, sizeof(j->hwm_out));
	if (p->keys_only)
		return on_presence(p, &u, disabled);
	j->entries++;
	if (rc < 0) {
		cur_t *c = u.external_id[0] ? find_cur(p, u.external_id) : NULL;
		if (c)
			c->bad = 1;
		j->errors++;
		ids_report_add(j, "errors", json_pack("{s:s,s:s}", "dn", e->dn, "message", why));
		return 0;
	}
	if (disabled) {
		cur_t *c = find_cur(p, u.external_id);
		if (c)
			c->gone = 1;
		j->disabled++;
		return 0;
	}
	return on_user(p, e, &u) < 0 ? (p->oom = 1) : 0;
}

/* syncrepl: an added or changed entry is read as any other; a deleted
 * one's user goes; a present one's stays (present phase). */
static int on_sync(void *arg, int state, const char *uuid, const pl_ldap_entry_t *e)
{
	pull_t *p = arg;
	p->sync_got++;
	if (e)
		return on_entry(p, e);
	pl_watchdog_kick(p->j->wd);
	cur_t *c = find_cur(p, uuid);
	if (c && state == PL_LDAP_SYNC_DELETE)
		c->gone = 1;
	else if (c)
		c->present = 1;
	return 0;
}

/* The removals, once everything is read: a disabled entry's user; in a
 * full sync, a user whose key no entry had (an unmappable entry keeps
 * its user); in an incremental one, a user the presence pass did not
 * see, or, through syncrepl, a deleted entry's user (and when the server
 * told deletions by presence, one it neither sent nor said present). */
static int removals(ids_job_t *j, pull_t *p)
{
	int syncrepl = !j->full && !strcmp(j->path, "syncrepl");
	for (size_t i = 0; i < p->ncur; i++) {
		cur_t *c = &p->cur[i];
		int gone = c->gone;
		if (!gone && j->full)
			gone = !c->seen && !c->bad;
		else if (!gone && syncrepl)
			gone = p->present_phase && !c->present && !c->seen && !c->bad;
		else if (!gone)
			gone = !c->present;
		if (gone && remove_user(j, c) < 0)
			return -1;
	}
	return 0;
}

static void pull_free(pull_t *p)
{
	/* each cur_t's strings are one allocation, from its key */
	for (size_t i = 0; i < p->ncur; i++) {
		free((char *)p->cur[i].key);
		free(p->cur[i].more);
	}
	free(p->cur);
	OPENSSL_cleanse(p->pin_key, sizeof(p->pin_key));
	memset(p, 0, sizeof(*p));
}

/* ---- LDAP ---- */

static int connect_bind(ids_job_t *j, pl_ldap_t **l)
{
	char pw[IDS_PASSWORD_MAX + 1];
	pl_err_t err = { "" };
	pl_ldap_conf_t lc = { j->conf.uri, j->conf.starttls, j->conf.ca_file,
			      (int)j->conf.net_timeout_s, (int)j->conf.op_timeout_s };
	if (ids_secret_load(j->conf.state_dir, pw, sizeof(pw), &err) < 0) {
		ids_job_fail(j, err.msg);
		return -1;
	}
	int rc = pl_ldap_connect(l, &lc, &err);
	if (rc == PL_LDAP_OK && (rc = pl_ldap_bind(*l, j->conf.bind_dn, pw, &err)) != PL_LDAP_OK) {
		pl_ldap_close(*l);
		*l = NULL;
	}
	OPENSSL_cleanse(pw, sizeof(pw));
	if (rc != PL_LDAP_OK) {
		ids_job_fail(j, err.msg);
		return -1;
	}
	return 0;
}

static int search_all(ids_job_t *j, pl_ldap_t *l, const char *filter, const char **attrs,
		      pull_t *p)
{
	pl_err_t err = { "" };
	for (int b = 0; b < j->conf.nbases; b++) {
		int rc = pl_ldap_search(l, j->conf.bases[b], filter, attrs, (int)j->conf.page_size,
					on_entry, p, NULL, &err);
		if (rc != 0 || p->oom) {
			ids_job_fail(j, rc > 0 || p->oom ? "out of memory" : err.msg);
			return -1;
		}
	}
	return 0;
}

int ids_syncrepl_wanted(const ids_conf_t *c)
{
	return c->inc_mode != IDS_INC_TIMESTAMP && strcasecmp(c->key_attr, "entryUUID") == 0;
}

static int on_base_entry(void *arg, int state, const char *uuid, const pl_ldap_entry_t *e)
{
	(void)arg, (void)state, (void)uuid, (void)e;
	return 0;
}

/* A full sync's cookies, taken before its search so that whatever
 * changes during it is read again by the next incremental sync: a
 * refresh of each base DN's own entry (no cookie: the server answers with
 * its current one). 0; -1 the job failed. A server without syncrepl:
 * none kept (auto), or the job failed (syncrepl). */
static int take_cookies(ids_job_t *j, pl_ldap_t *l)
{
	const char *none[] = { "1.1", NULL };
	pl_err_t err = { "" };
	ids_cookies_t *k = &j->cookies;
	if (j->dry_run)
		return 0; /* nothing is kept of a dry run */
	memset(k, 0, sizeof(*k));
	if (!ids_syncrepl_wanted(&j->conf))
		return 0;
	for (int b = 0; b < j->conf.nbases; b++) {
		int rd = 0;
		int rc = pl_ldap_sync_refresh(l, j->conf.bases[b], 0, "(objectClass=*)", none,
					      &k->c[b], &rd, on_base_entry, j, &err);
		if (rc == 0 && k->c[b].set)
			continue;
		memset(k, 0, sizeof(*k));
		if (rc == PL_LDAP_ECONNECT || j->conf.inc_mode == IDS_INC_SYNCREPL) {
			ids_job_fail(j, rc ? err.msg : "LDAP sync: the server sent no cookie");
			return -1;
		}
		pl_info("no syncrepl: incremental syncs read by %s (%s)", j->conf.change_attr,
			rc ? err.msg : "no cookie");
		return 0;
	}
	k->n = j->conf.nbases;
	return 0;
}

/* An incremental sync through syncrepl: each base DN from its cookie.
 * 1: it could not be used and nothing was read (read by timestamp
 * instead; the cookies are dropped); 0 done; -1 the job failed. */
static int read_syncrepl(ids_job_t *j, pl_ldap_t *l, const char **attrs, pull_t *p)
{
	pl_err_t err = { "" };
	int presents = 0;
	for (int b = 0; b < j->conf.nbases; b++) {
		int rd = 0;
		int rc = pl_ldap_sync_refresh(l, j->conf.bases[b], 1, j->conf.filter, attrs,
					      &j->cookies.c[b], &rd, on_sync, p, &err);
		if (rc == 0 && !p->oom) {
			presents += !rd;
			continue;
		}
		if (rc < 0 && rc != PL_LDAP_ECONNECT && p->sync_got == 0 && !p->oom &&
		    j->conf.inc_mode == IDS_INC_AUTO) {
			pl_info("syncrepl not used, this sync reads by %s: %s", j->conf.change_attr,
				err.msg);
			memset(&j->cookies, 0, sizeof(j->cookies));
			return 1;
		}
		ids_job_fail(j, rc > 0 || p->oom ? "out of memory" : err.msg);
		return -1;
	}
	/* a present phase lists one base's entries: with several bases, it
	 * says nothing of the others' users, so all of them are listed */
	if (presents && j->conf.nbases > 1) {
		const char *keys[] = { j->conf.key_attr, "userAccountControl", NULL };
		p->keys_only = 1;
		j->path = "timestamp";
		return search_all(j, l, j->conf.filter, keys, p);
	}
	p->present_phase = presents > 0;
	return 0;
}

static int read_source(ids_job_t *j, pl_ldap_t *l, pull_t *p, ids_groups_t *g)
{
	const char *attrs[32];
	char filter[1200];
	pl_err_t err = { "" };
	ids_conf_attrs(&j->conf, attrs, PL_ARRAY_LEN(attrs));
	if (j->conf.pin_attr[0] && ids_pin_key(j->conf.state_dir, p->pin_key, &err) < 0) {
		ids_job_fail(j, err.msg);
		return -1;
	}
	if (j->conf.group_base[0]) {
		if (ids_groups_read(j, l, g) < 0)
			return -1;
		p->groups = g;
	}
	if (j->full)
		return take_cookies(j, l) < 0 ? -1 : search_all(j, l, j->conf.filter, attrs, p);
	if (j->cookies.n == j->conf.nbases && ids_syncrepl_wanted(&j->conf)) {
		j->path = "syncrepl";
		int rc = read_syncrepl(j, l, attrs, p);
		if (rc <= 0)
			return rc;
	}
	j->path = "timestamp";
	if (pl_ldap_filter_and_ge(j->conf.filter, j->conf.change_attr, j->hwm_in, filter,
				  sizeof(filter)) < 0) {
		ids_job_fail(j, "the incremental filter is too long");
		return -1;
	}
	if (search_all(j, l, filter, attrs, p) < 0)
		return -1;
	const char *keys[] = { j->conf.key_attr, "userAccountControl", j->conf.change_attr,
			       NULL };
	p->keys_only = 1;
	return search_all(j, l, j->conf.filter, keys, p);
}

/* A full sync that would remove most synced users is more likely a wrong
 * filter or base DN than a mass departure. */
static int too_many_removals(ids_job_t *j, size_t ncur)
{
	if (ncur < 10 || j->removes * 100 <= (long)ncur * j->conf.max_remove_percent)
		return 0;
	char msg[300];
	snprintf(msg, sizeof(msg),
		 "refused: the sync would remove %ld of %zu synced users (over max_remove_percent "
		 "%lld%%); check filter and base_dns, or raise the limit",
		 j->removes, ncur, j->conf.max_remove_percent);
	ids_job_fail(j, msg);
	return 1;
}

void ids_pull_run(void *arg)
{
	ids_job_t *j = arg;
	pull_t p = { .j = j };
	ids_groups_t groups = { 0 };
	pl_ldap_t *l = NULL;
	j->started_ms = pl_now_ms();
	pl_strlcpy(j->hwm_out, j->hwm_in, sizeof(j->hwm_out));
	j->path = j->full ? "full" : "timestamp";
	j->report = json_pack("{s:[],s:[]}", "changes", "errors");
	pl_watchdog_kick(j->wd);
	if (!j->report)
		ids_job_fail(j, "out of memory");
	else if (connect_bind(j, &l) == 0 && load_dir(j, &p) == 0 &&
		 read_source(j, l, &p, &groups) == 0) {
		if (removals(j, &p) < 0)
			ids_job_fail(j, "out of memory");
		else
			(void)too_many_removals(j, p.ncur);
	}
	pl_ldap_close(l);
	pull_free(&p);
	ids_groups_free(&groups);
	j->took_ms = pl_now_ms() - j->started_ms;
	pl_watchdog_park(j->wd);
}

void ids_job_free(ids_job_t *j)
{
	if (!j)
		return;
	free(j->batch.text);
	json_decref(j->report);
	pthread_mutex_destroy(&j->mu);
	free(j);
}
