/* One sync, on the worker thread (ids.h): read the source, compare with
 * the directory's users of source ldap (a read-only handle), and write the
 * changes as a batch for plsc-directory. Nothing is sent from here: the
 * loop sends the batch (main.c), or, for a dry run, only reports it.
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

#include "pl_log.h"
#include "pl_loop.h"
#include "pl_util.h"

#define REPORT_MAX 1000 /* changes and errors listed in a report */

/* A user's PIN as read (pin_attr set): its state as ids_map_pin's. */
typedef struct {
	signed char st;
	char v[IDS_PIN_MAX + 1];
} pin_t;

typedef struct {
	ids_job_t *j;
	pl_dir_user_t *users; /* mapped entries (enabled) */
	pin_t *pins;	      /* with users, when pin_attr is set */
	size_t n, cap;
	ids_groups_t *groups; /* from a group search, or NULL */
	unsigned char pin_key[32];
	char **gone; /* keys of disabled entries */
	size_t ngone, capgone;
	char **bad; /* keys (or DNs) of entries that could not be mapped */
	size_t nbad, capbad;
	int keys_only; /* the presence pass */
} pull_t;

void ids_job_fail(ids_job_t *j, const char *msg)
{
	if (j->failed)
		return;
	j->failed = 1;
	pl_strlcpy(j->err, msg, sizeof(j->err));
}

static int push_str(char ***arr, size_t *n, size_t *cap, const char *s)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 64;
		char **p = realloc(*arr, nc * sizeof(*p));
		if (!p)
			return -1;
		*arr = p;
		*cap = nc;
	}
	if (!((*arr)[*n] = strdup(s)))
		return -1;
	(*n)++;
	return 0;
}

void ids_report_add(ids_job_t *j, const char *list, json_t *item)
{
	json_t *arr = json_object_get(j->report, list);
	if (json_array_size(arr) < REPORT_MAX)
		json_array_append(arr, item);
	json_decref(item);
}

static int grow(pull_t *p)
{
	size_t nc = p->cap ? p->cap * 2 : 1024;
	pl_dir_user_t *nu = realloc(p->users, nc * sizeof(*nu));
	if (!nu)
		return -1;
	p->users = nu;
	if (p->j->conf.pin_attr[0]) {
		pin_t *np = malloc(nc * sizeof(*np));
		if (!np)
			return -1;
		/* copied, never realloc'ed: no PIN left behind in freed memory */
		if (p->n)
			memcpy(np, p->pins, p->n * sizeof(*np));
		if (p->pins)
			OPENSSL_cleanse(p->pins, p->cap * sizeof(*np));
		free(p->pins);
		p->pins = np;
	}
	p->cap = nc;
	return 0;
}

static int on_entry(void *arg, const pl_ldap_entry_t *e)
{
	pull_t *p = arg;
	ids_job_t *j = p->j;
	char why[200], change[64];
	int disabled, skipped = 0;
	pl_dir_user_t u;
	pl_watchdog_kick(j->wd); /* progress: one more entry */
	int rc = ids_map_entry(&j->conf, e, &u, &disabled, change, sizeof(change), &skipped, why,
			       sizeof(why));
	if (ids_change_newer(change, j->hwm_out))
		pl_strlcpy(j->hwm_out, change, sizeof(j->hwm_out));
	if (p->keys_only) {
		/* only the key matters: disabled or unmappable, it is present */
		if (u.external_id[0] && push_str(disabled ? &p->gone : &p->bad,
						 disabled ? &p->ngone : &p->nbad,
						 disabled ? &p->capgone : &p->capbad,
						 u.external_id) < 0)
			return 1;
		return 0;
	}
	j->entries++;
	if (rc < 0) {
		j->errors++;
		ids_report_add(j, "errors", json_pack("{s:s,s:s}", "dn", e->dn, "message", why));
		return u.external_id[0] && push_str(&p->bad, &p->nbad, &p->capbad, u.external_id) < 0;
	}
	if (disabled) {
		j->disabled++;
		return push_str(&p->gone, &p->ngone, &p->capgone, u.external_id) < 0;
	}
	if (p->groups)
		ids_groups_of(p->groups, e->dn, u.groups, sizeof(u.groups), &skipped);
	if (p->n == p->cap && grow(p) < 0)
		return 1;
	if (p->pins) {
		pin_t *pn = &p->pins[p->n];
		pn->st = (signed char)ids_map_pin(&j->conf, e, pn->v, sizeof(pn->v));
		if (pn->st < 0) {
			/* the value stays out of the report and the log */
			j->errors++;
			ids_report_add(j, "errors",
				   json_pack("{s:s,s:s}", "dn", e->dn, "message",
					     "the PIN attribute is not a PIN (4 to 32 digits); the "
					     "user's PIN is left as it was"));
		}
	}
	p->users[p->n++] = u;
	return 0;
}

/* ---- sorted look-ups by key ---- */

static int cmp_user_key(const void *a, const void *b)
{
	const pl_dir_user_t *const *x = a, *const *y = b;
	return strcmp((*x)->external_id, (*y)->external_id);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static const pl_dir_user_t **index_users(pl_dir_user_t *u, size_t n)
{
	const pl_dir_user_t **ix = malloc((n ? n : 1) * sizeof(*ix));
	if (!ix)
		return NULL;
	for (size_t i = 0; i < n; i++)
		ix[i] = &u[i];
	if (n > 1)
		qsort(ix, n, sizeof(*ix), cmp_user_key);
	return ix;
}

static const pl_dir_user_t *find_user(const pl_dir_user_t **ix, size_t n, const char *key)
{
	pl_dir_user_t k;
	const pl_dir_user_t *kp = &k;
	pl_strlcpy(k.external_id, key, sizeof(k.external_id));
	const pl_dir_user_t **f = bsearch(&kp, ix, n, sizeof(*ix), cmp_user_key);
	return f ? *f : NULL;
}

static int has_key(char **keys, size_t n, const char *key)
{
	return n && bsearch(&key, keys, n, sizeof(*keys), cmp_str) != NULL;
}

/* ---- the batch ---- */

static int batch_line(ids_job_t *j, json_t *obj)
{
	return ids_batch_add(&j->batch, SIZE_MAX, obj);
}


/* The PIN's part of u's batch line: set (the slow hash, here on the
 * worker), cleared, or nothing (kept). */
static int pin_line(ids_job_t *j, const pl_dir_user_t *u, const pl_dir_user_t *old,
		    const pin_t *pin, json_t *line)
{
	char hash[PL_DIR_PIN_HASH_MAX];
	pl_err_t err = { "" };
	if (!pin || !strcmp(old ? old->pin_mark : "", u->pin_mark))
		return 0;
	if (!u->pin_mark[0])
		return json_object_set_new(line, "pin_mark", json_string(""));
	if (j->dry_run)
		return 0;
	pl_watchdog_kick(j->wd);
	if (pl_dir_pin_hash(pin->v, hash, &err) < 0)
		return -1;
	int rc = json_object_set_new(line, "pin_mark", json_string(u->pin_mark)) ||
		 json_object_set_new(line, "pin_hash", json_string(hash));
	OPENSSL_cleanse(hash, sizeof(hash));
	return rc ? -1 : 0;
}

static int put(ids_job_t *j, const pl_dir_user_t *u, const pl_dir_user_t *old,
	       const pin_t *pin)
{
	const char *what = !old ? "add" : strcmp(old->username, u->username) ? "rename" : "update";
	if (!old)
		j->adds++;
	else
		j->updates++;
	json_t *item = json_pack("{s:s,s:s}", "change", what, "user", u->username);
	if (old && strcmp(old->username, u->username))
		json_object_set_new(item, "was", json_string(old->username));
	else if (old)
		json_object_set_new(item, "field", json_string(ids_user_diff(old, u)));
	ids_report_add(j, "changes", item);
	json_t *line = ids_user_line(u);
	if (!line || pin_line(j, u, old, pin, line) < 0) {
		json_decref(line);
		return -1;
	}
	return batch_line(j, line);
}

/* u's mark from what was read: the PIN's; none: ""; no pin_attr or a
 * value that is not a PIN: the directory's as it is. */
static void pin_mark_set(pull_t *p, pl_dir_user_t *u, const pl_dir_user_t *old,
			 const pin_t *pin)
{
	if (pin && pin->st > 0)
		ids_pin_mark(p->pin_key, u->external_id, pin->v, u->pin_mark);
	else if (pin && pin->st == 0)
		u->pin_mark[0] = '\0';
	else
		pl_strlcpy(u->pin_mark, old ? old->pin_mark : "", sizeof(u->pin_mark));
}

static int remove_user(ids_job_t *j, const pl_dir_user_t *old, char *done)
{
	if (*done)
		return 0;
	*done = 1;
	j->removes++;
	ids_report_add(j, "changes", json_pack("{s:s,s:s}", "change", "remove", "user", old->username));
	return batch_line(j, json_pack("{s:s}", "remove", old->external_id));
}

/* The changes from what was read (p) against the directory (cur). In the
 * presence pass, "gone" holds the keys of disabled entries and "bad" those
 * of every other entry: present. */
static int diff(ids_job_t *j, pull_t *p, pull_t *presence, pl_dir_user_t *cur, size_t ncur)
{
	const pl_dir_user_t **ix = index_users(cur, ncur);
	const pl_dir_user_t **pix = index_users(p->users, p->n);
	char *removed = calloc(ncur ? ncur : 1, 1);
	int rc = ix && pix && removed ? 0 : -1;
	if (p->ngone > 1) /* qsort must not be given NULL, even for none */
		qsort(p->gone, p->ngone, sizeof(char *), cmp_str);
	if (p->nbad > 1)
		qsort(p->bad, p->nbad, sizeof(char *), cmp_str);
	for (size_t i = 0; rc == 0 && i < p->n; i++) {
		const pl_dir_user_t *old = find_user(ix, ncur, p->users[i].external_id);
		const pin_t *pin = p->pins ? &p->pins[i] : NULL;
		pin_mark_set(p, &p->users[i], old, pin);
		if (!old || !ids_user_same(old, &p->users[i]))
			rc = put(j, &p->users[i], old, pin);
	}
	for (size_t i = 0; rc == 0 && i < ncur; i++) {
		const char *key = cur[i].external_id;
		int gone = has_key(p->gone, p->ngone, key);
		if (!gone && j->full)
			/* absent from the source, and not merely unmappable */
			gone = !find_user(pix, p->n, key) && !has_key(p->bad, p->nbad, key);
		else if (!gone && presence)
			gone = has_key(presence->gone, presence->ngone, key) ||
			       !has_key(presence->bad, presence->nbad, key);
		if (gone)
			rc = remove_user(j, &cur[i], &removed[i]);
	}
	free(ix);
	free(pix);
	free(removed);
	return rc;
}

static void pull_free(pull_t *p)
{
	for (size_t i = 0; i < p->ngone; i++)
		free(p->gone[i]);
	for (size_t i = 0; i < p->nbad; i++)
		free(p->bad[i]);
	free(p->gone);
	free(p->bad);
	free(p->users);
	if (p->pins)
		OPENSSL_cleanse(p->pins, p->cap * sizeof(*p->pins));
	free(p->pins);
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
		if (rc != 0) {
			ids_job_fail(j, rc > 0 ? "out of memory" : err.msg);
			return -1;
		}
	}
	return 0;
}

static int read_source(ids_job_t *j, pl_ldap_t *l, pull_t *p, pull_t *presence,
		       ids_groups_t *g)
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
		return search_all(j, l, j->conf.filter, attrs, p);
	if (pl_ldap_filter_and_ge(j->conf.filter, j->conf.change_attr, j->hwm_in, filter,
				  sizeof(filter)) < 0) {
		ids_job_fail(j, "the incremental filter is too long");
		return -1;
	}
	if (search_all(j, l, filter, attrs, p) < 0)
		return -1;
	const char *keys[] = { j->conf.key_attr, "userAccountControl", j->conf.change_attr,
			       NULL };
	presence->j = j;
	presence->keys_only = 1;
	if (search_all(j, l, j->conf.filter, keys, presence) < 0)
		return -1;
	if (presence->ngone > 1)
		qsort(presence->gone, presence->ngone, sizeof(char *), cmp_str);
	if (presence->nbad > 1)
		qsort(presence->bad, presence->nbad, sizeof(char *), cmp_str);
	return 0;
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
	pull_t p = { .j = j }, presence = { .j = j };
	ids_groups_t groups = { 0 };
	pl_ldap_t *l = NULL;
	pl_dir_user_t *cur = NULL;
	size_t ncur = 0;
	pl_err_t err = { "" };
	j->started_ms = pl_now_ms();
	pl_strlcpy(j->hwm_out, j->hwm_in, sizeof(j->hwm_out));
	j->report = json_pack("{s:[],s:[]}", "changes", "errors");
	pl_watchdog_kick(j->wd);
	if (!j->report)
		ids_job_fail(j, "out of memory");
	else if (connect_bind(j, &l) == 0 && read_source(j, l, &p, &presence, &groups) == 0) {
		if (pl_dir_user_list_source(j->dir, "ldap", &cur, &ncur, &err) < 0)
			ids_job_fail(j, err.msg);
		else if (diff(j, &p, j->full ? NULL : &presence, cur, ncur) < 0)
			ids_job_fail(j, "out of memory");
		else
			(void)too_many_removals(j, ncur);
	}
	pl_ldap_close(l);
	free(cur);
	pull_free(&p);
	pull_free(&presence);
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
	free(j);
}
