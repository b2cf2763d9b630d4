/* sync-apply: IdentitySync's batch of changes to the users it syncs,
 * received in parts (a batch may exceed a channel frame) and applied in
 * one transaction when the last part arrives (pl_dir_sync_apply_from).
 * Until then nothing is written: a batch whose sender dies half-way is
 * dropped by the next batch's first part, never half-applied. A batch of
 * one part (LINE 1, no MORE: every SCIM request's) is applied from its
 * frame without touching the stage, so a SCIM change arriving while an
 * LDAP batch is half sent does not drop that batch. SOURCE names the
 * users' source: "ldap" (the default) or "scim".
 *
 * The batch is text, one JSON object a line (proto/PROTOCOL.md):
 *   {"remove": KEY}
 *   {"key": KEY, "username": U, "display_name": D, "groups": G,
 *    "emails": [...], "badges": [...]}
 * optionally with "pin_mark": M and "pin_hash": H (a PIN set from the
 * source: a stored hash, never the PIN) or "pin_mark": "" (cleared);
 * without "pin_mark" the user's PIN stays as it is,
 * and every line is checked with the console's parsers (pl_dirbody.h)
 * and the directory's own checks again: the sender faces the network. */
#include "ds.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pl_dirbody.h"
#include "pl_util.h"

/* Errors listed in an answer (the rest are counted). */
#define SYNC_ERRORS_MAX 200

void ds_stage_init(ds_stage_t *st)
{
	memset(st, 0, sizeof(*st));
	pthread_mutex_init(&st->mu, NULL);
}

static void stage_reset(ds_stage_t *st)
{
	free(st->text);
	st->text = NULL;
	st->len = st->cap = 0;
	st->next_part = 0;
	st->id[0] = '\0';
}

void ds_stage_free(ds_stage_t *st)
{
	stage_reset(st);
	pthread_mutex_destroy(&st->mu);
}

static void sfail(ds_req_t *q, uint32_t status, const char *msg)
{
	q->status = status;
	pl_strlcpy(q->msg, msg, sizeof(q->msg));
}

/* Append q's part; -1 after failing q. Under st->mu. */
static int stage_part(ds_req_t *q, ds_stage_t *st)
{
	if (q->first_line == 1) {
		stage_reset(st); /* a new batch replaces an unfinished one */
		pl_strlcpy(st->id, q->name, sizeof(st->id));
	} else if (st->next_part != q->first_line || strcmp(st->id, q->name) != 0) {
		stage_reset(st);
		sfail(q, PL_STATUS_BADREQ, "sync-apply: part out of order; the batch is dropped");
		return -1;
	}
	if (st->len + q->len + 1 > DS_SYNC_MAX) {
		stage_reset(st);
		sfail(q, PL_STATUS_BADREQ, "sync-apply: batch over 256 MiB; dropped");
		return -1;
	}
	if (st->len + q->len + 1 > st->cap) {
		size_t cap = st->cap ? st->cap : 1u << 20;
		while (cap < st->len + q->len + 1)
			cap *= 2;
		char *t = realloc(st->text, cap);
		if (!t) {
			stage_reset(st);
			sfail(q, PL_STATUS_BUSY, "out of memory");
			return -1;
		}
		st->text = t;
		st->cap = cap;
	}
	if (q->len)
		memcpy(st->text + st->len, q->payload, q->len);
	st->len += q->len;
	/* parts end at line ends; one more keeps lines apart if not */
	st->text[st->len++] = '\n';
	st->next_part = q->first_line + 1;
	return 0;
}

/* ---- reading the batch ---- */

typedef struct {
	const char *text;
	size_t len, pos;
	long line;
	int keys_only; /* a walk that needs only the keys (PL_DIR_SYNC_RESTART_KEYS) */
} batch_t;

/* The keys-only walk of sync-apply uses only a remove's key and a put's key
 * (pl_dir_sync_apply_from: removes, and the badges of users put cleared),
 * so a line IdentitySync wrote gives its key without a JSON parse
 * (pl_dir_body_sync_key); the second walk parses every line and checks it
 * whole (a bad line then fails the batch, all of it rolled back). 1
 * taken, 0 not that shape. */
static int key_fast(const char *p, size_t n, pl_dir_sync_item_t *it)
{
	int remove;
	char key[PL_DIR_EXTERNAL_ID_MAX];
	if (!pl_dir_body_sync_key(p, n, &remove, key, sizeof(key)))
		return 0;
	memset(it, 0, sizeof(*it));
	it->remove = remove;
	pl_strlcpy(it->key, key, sizeof(it->key));
	if (!remove)
		pl_strlcpy(it->user.external_id, key, sizeof(it->user.external_id));
	return 1;
}

/* A whole put line IdentitySync wrote for a user without a PIN change,
 * without a JSON parse (pl_dir_body_sync_put: the same item as
 * item_from_json's, or 0 and the JSON way says what is wrong); the JSON
 * parse was 15% of plsc-directory's CPU in a 100,000-user first sync. */
static int put_fast(const char *p, size_t n, pl_dir_sync_item_t *it)
{
	memset(it, 0, sizeof(*it));
	if (!pl_dir_body_sync_put(p, n, it->key, sizeof(it->key), &it->user))
		return 0;
	pl_strlcpy(it->user.external_id, it->key, sizeof(it->user.external_id));
	return 1;
}

/* "pin_mark" and "pin_hash" (the hash is checked when applied). */
static int item_pin(json_t *j, pl_dir_sync_item_t *it, pl_err_t *err)
{
	char msg[300];
	if (!json_object_get(j, "pin_mark"))
		return 0;
	if (pl_dir_body_str(j, "pin_mark", it->user.pin_mark, sizeof(it->user.pin_mark), msg,
			    sizeof(msg)) < 0) {
		(void)pl_fmt(err->msg, sizeof(err->msg), "%s", msg);
		return -1;
	}
	if (!it->user.pin_mark[0]) {
		it->pin_op = PL_DIR_SYNC_PIN_CLEAR;
		return 0;
	}
	if (pl_dir_body_str(j, "pin_hash", it->pin_hash, sizeof(it->pin_hash), msg,
			    sizeof(msg)) < 0 || !it->pin_hash[0]) {
		(void)pl_fmt(err->msg, sizeof(err->msg), "\"pin_mark\" needs its \"pin_hash\"");
		return -1;
	}
	it->pin_op = PL_DIR_SYNC_PIN_SET;
	return 0;
}

static int item_from_json(json_t *j, pl_dir_sync_item_t *it, pl_err_t *err)
{
	char msg[300];
	json_t *rm = json_object_get(j, "remove");
	memset(it, 0, sizeof(*it));
	if (rm) {
		it->remove = 1;
		if (pl_dir_body_str(j, "remove", it->key, sizeof(it->key), msg, sizeof(msg)) < 0 ||
		    !it->key[0]) {
			(void)pl_fmt(err->msg, sizeof(err->msg), "\"remove\": a key");
			return -1;
		}
		return 0;
	}
	if (pl_dir_body_str(j, "key", it->key, sizeof(it->key), msg, sizeof(msg)) < 0 ||
	    pl_dir_body_str(j, "username", it->user.username, sizeof(it->user.username), msg,
			    sizeof(msg)) < 0 ||
	    pl_dir_body_user(j, &it->user, msg, sizeof(msg)) < 0) {
		(void)pl_fmt(err->msg, sizeof(err->msg), "%s", msg);
		return -1;
	}
	if (!it->key[0]) {
		(void)pl_fmt(err->msg, sizeof(err->msg), "a user without its \"key\"");
		return -1;
	}
	if (item_pin(j, it, err) < 0)
		return -1;
	pl_strlcpy(it->user.external_id, it->key, sizeof(it->user.external_id));
	return 0;
}

static int batch_next(void *arg, int restart, pl_dir_sync_item_t *it, pl_err_t *err)
{
	batch_t *b = arg;
	if (restart) {
		b->pos = 0;
		b->line = 0;
		b->keys_only = restart == PL_DIR_SYNC_RESTART_KEYS;
	}
	for (;;) {
		if (b->pos >= b->len)
			return 0;
		const char *p = b->text + b->pos;
		const char *nl = memchr(p, '\n', b->len - b->pos);
		size_t n = nl ? (size_t)(nl - p) : b->len - b->pos;
		b->pos += n + (nl ? 1 : 0);
		b->line++;
		if (n == 0)
			continue;
		if (b->keys_only && key_fast(p, n, it))
			return 1;
		if (!b->keys_only && put_fast(p, n, it))
			return 1;
		json_error_t je;
		json_t *j = json_loadb(p, n, JSON_REJECT_DUPLICATES, &je);
		int rc = -1;
		if (j && json_is_object(j))
			rc = item_from_json(j, it, err);
		else
			(void)pl_fmt(err->msg, sizeof(err->msg), "not a JSON object");
		json_decref(j);
		if (rc == 0)
			return 1;
		char why[PL_ERR_MAX];
		pl_strlcpy(why, err->msg, sizeof(why));
		(void)pl_fmt(err->msg, sizeof(err->msg), "sync-apply: batch line %ld: %.300s",
			     b->line, why);
		return -1;
	}
}

static void sync_error(void *arg, const pl_dir_sync_item_t *it, const char *message)
{
	ds_req_t *q = arg;
	json_t *errs = json_object_get(q->sync_result, "errors");
	if (json_array_size(errs) >= SYNC_ERRORS_MAX)
		return;
	json_array_append_new(errs, json_pack("{s:s,s:s,s:s}", "key", it->key, "user",
					      it->remove ? "" : it->user.username, "message",
					      message));
}

static void apply(ds_req_t *q, pl_dir_t *d, const char *text, size_t len)
{
	batch_t b = { text, len, 0, 0, 0 };
	const char *source = q->source[0] ? q->source : "ldap";
	pl_dir_sync_counts_t c;
	pl_err_t err = { "" };
	q->sync_result = json_pack("{s:[]}", "errors");
	if (!q->sync_result) {
		sfail(q, PL_STATUS_BUSY, "out of memory");
		return;
	}
	if (pl_dir_sync_apply_from(d, source, batch_next, &b, sync_error, q, &c, &err) < 0) {
		json_decref(q->sync_result);
		q->sync_result = NULL;
		sfail(q, strstr(err.msg, "sync-apply:") || strstr(err.msg, "the source must")
				 ? PL_STATUS_BADREQ : PL_STATUS_ERROR,
		      err.msg);
		return;
	}
	json_object_set_new(q->sync_result, "added", json_integer(c.added));
	json_object_set_new(q->sync_result, "updated", json_integer(c.updated));
	json_object_set_new(q->sync_result, "renamed", json_integer(c.renamed));
	json_object_set_new(q->sync_result, "removed", json_integer(c.removed));
	json_object_set_new(q->sync_result, "failed", json_integer(c.failed));
	(void)pl_fmt(q->msg, sizeof(q->msg),
		     "sync %s applied: %ld added, %ld updated, %ld renamed, %ld removed, "
		     "%ld refused",
		     q->name, c.added, c.updated, c.renamed, c.removed, c.failed);
}

void ds_sync_run(ds_req_t *q, pl_dir_t *d)
{
	ds_stage_t *st = q->stage;
	if (!st) {
		sfail(q, PL_STATUS_ERROR, "sync-apply is not available here");
		return;
	}
	if (!q->name[0] || q->first_line < 1) {
		sfail(q, PL_STATUS_BADREQ, "sync-apply needs NAME (the batch) and LINE (the part)");
		return;
	}
	if (q->first_line == 1 && !q->more) {
		apply(q, d, q->payload ? q->payload : "", q->len);
		return;
	}
	pthread_mutex_lock(&st->mu);
	if (stage_part(q, st) == 0) {
		if (q->more)
			(void)pl_fmt(q->msg, sizeof(q->msg), "sync %s: part %u staged", q->name,
				     q->first_line);
		else
			apply(q, d, st->text, st->len);
		if (!q->more)
			stage_reset(st);
	}
	pthread_mutex_unlock(&st->mu);
}
