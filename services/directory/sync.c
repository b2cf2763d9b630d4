/* sync-apply: IdentitySync's batch of changes to the users it syncs,
 * received in parts (a batch may exceed a channel frame) and applied in
 * one transaction: all or nothing.
 *
 * Staged: the parts are kept as text and the last one applies the whole
 * batch (pl_dir_sync_apply_from: removes first, then puts). A batch whose
 * sender dies half-way is dropped by the next batch's first part, never
 * half-applied.
 * Streamed: when the source has no synced user yet (a first sync, the
 * large one: 100,000 users), part 1 opens the transaction on a connection
 * of the stage's own and every part is applied as it arrives, while the
 * sender is still reading its LDAP server; the last part commits. What
 * the two walks of the staged way would do then comes down to the puts in
 * order (pl_dir_sync_stream_begin), so the outcome is the same. The
 * transaction is rolled back, nothing applied, at a database error, a
 * malformed line, a part out of order, a part saying the sender gave up
 * ({"abort": WHY}, its only line), the next batch's part 1, and after
 * DS_SYNC_IDLE_MS without a part (the sender died: ds_stage_expire);
 * plsc-directory dying takes it with it (SQLite never commits half a
 * transaction). Meanwhile every other write is answered BUSY at once
 * (op.c), since SQLite's write lock is the stream's; readers keep seeing
 * the last commit.
 *
 * A batch of one part (LINE 1, no MORE: every SCIM request's) is applied
 * from its frame without touching the stage, so a SCIM change arriving
 * while an LDAP batch is half sent does not drop that batch (while one
 * is streamed, BUSY: the IdP retries). SOURCE names the users' source:
 * "ldap" (the default) or "scim".
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
#include "pl_loop.h"
#include "pl_util.h"

/* Errors listed in an answer (the rest are counted). */
#define SYNC_ERRORS_MAX 200

void ds_stage_init(ds_stage_t *st, const char *path)
{
	memset(st, 0, sizeof(*st));
	pthread_mutex_init(&st->mu, NULL);
	if (path)
		pl_strlcpy(st->path, path, sizeof(st->path));
}

int ds_stage_streaming(ds_stage_t *st)
{
	return __atomic_load_n(&st->streaming, __ATOMIC_ACQUIRE);
}

/* The streamed batch (if any) rolled back. Under st->mu. */
static void stream_drop(ds_stage_t *st)
{
	pl_err_t err = { "" };
	if (st->streaming)
		(void)pl_dir_sync_stream_end(st->sdir, 0, &err);
	__atomic_store_n(&st->streaming, 0, __ATOMIC_RELEASE);
	json_decref(st->errors);
	st->errors = NULL;
	memset(&st->counts, 0, sizeof(st->counts));
}

static void stage_reset(ds_stage_t *st)
{
	stream_drop(st);
	free(st->text);
	st->text = NULL;
	st->len = st->cap = 0;
	st->next_part = 0;
	st->id[0] = '\0';
}

void ds_stage_free(ds_stage_t *st)
{
	stage_reset(st);
	pl_dir_close(st->sdir);
	st->sdir = NULL;
	pthread_mutex_destroy(&st->mu);
}

void ds_stage_checkpoint(ds_stage_t *st)
{
	pthread_mutex_lock(&st->mu);
	if (__atomic_exchange_n(&st->checkpoint_due, 0, __ATOMIC_ACQ_REL) && !st->streaming &&
	    st->sdir)
		pl_dir_sync_stream_checkpoint(st->sdir);
	pthread_mutex_unlock(&st->mu);
}

int ds_stage_expire(ds_stage_t *st, uint64_t now_ms, char *id, size_t idsz)
{
	int rc = 0;
	if (!ds_stage_streaming(st) || pthread_mutex_trylock(&st->mu) != 0)
		return 0; /* none, or a part is being applied: not idle */
	if (st->streaming && now_ms - st->last_ms >= DS_SYNC_IDLE_MS) {
		pl_strlcpy(id, st->id, idsz);
		stage_reset(st);
		rc = 1;
	}
	pthread_mutex_unlock(&st->mu);
	return rc;
}

static void sfail(ds_req_t *q, uint32_t status, const char *msg)
{
	q->status = status;
	pl_strlcpy(q->msg, msg, sizeof(q->msg));
}

/* Append q's part (staged, not streamed); -1 after failing q. Under st->mu. */
static int stage_part(ds_req_t *q, ds_stage_t *st)
{
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
	json_t *errs = arg;
	if (json_array_size(errs) >= SYNC_ERRORS_MAX)
		return;
	json_array_append_new(errs, json_pack("{s:s,s:s,s:s}", "key", it->key, "user",
					      it->remove ? "" : it->user.username, "message",
					      message));
}

static uint32_t err_status(const char *msg)
{
	return strstr(msg, "sync-apply:") || strstr(msg, "the source must") ? PL_STATUS_BADREQ
									      : PL_STATUS_ERROR;
}

/* The last part's answer: counts c and the refused items' errors (taken). */
static void answer_counts(ds_req_t *q, const pl_dir_sync_counts_t *c, json_t *errors)
{
	q->sync_result = json_pack("{s:o,s:i,s:i,s:i,s:i,s:i}", "errors",
				   errors ? errors : json_array(), "added", (json_int_t)c->added,
				   "updated", (json_int_t)c->updated, "renamed",
				   (json_int_t)c->renamed, "removed", (json_int_t)c->removed,
				   "failed", (json_int_t)c->failed);
	if (!q->sync_result) {
		sfail(q, PL_STATUS_BUSY, "out of memory");
		return;
	}
	(void)pl_fmt(q->msg, sizeof(q->msg),
		     "sync %s applied: %ld added, %ld updated, %ld renamed, %ld removed, "
		     "%ld refused",
		     q->name, c->added, c->updated, c->renamed, c->removed, c->failed);
}

static void apply(ds_req_t *q, pl_dir_t *d, const char *text, size_t len)
{
	batch_t b = { text, len, 0, 0, 0 };
	const char *source = q->source[0] ? q->source : "ldap";
	pl_dir_sync_counts_t c;
	pl_err_t err = { "" };
	json_t *errors = json_array();
	if (!errors) {
		sfail(q, PL_STATUS_BUSY, "out of memory");
		return;
	}
	if (pl_dir_sync_apply_from(d, source, batch_next, &b, sync_error, errors, &c, &err) < 0) {
		json_decref(errors);
		sfail(q, err_status(err.msg), err.msg);
		return;
	}
	answer_counts(q, &c, errors);
}

/* A part saying its sender gave up ({"abort": WHY}, its only line): 1 and
 * why into why, else 0. */
static int part_abort(const ds_req_t *q, char *why, size_t wsz)
{
	static const char head[] = "{\"abort\"";
	if (!q->payload || q->len < sizeof(head) - 1 || q->len > 2048 ||
	    memcmp(q->payload, head, sizeof(head) - 1) != 0)
		return 0;
	json_t *j = json_loadb(q->payload, q->len, 0, NULL);
	const char *w = json_string_value(json_object_get(j, "abort"));
	pl_strlcpy(why, w ? w : "no reason given", wsz);
	json_decref(j);
	return 1;
}

/* Part 1 of a batch in parts: a new batch replaces an unfinished one, and
 * is streamed when it can be. -1 after failing q. Under st->mu. */
static int batch_begin(ds_req_t *q, ds_stage_t *st)
{
	pl_err_t err = { "" };
	stage_reset(st);
	pl_strlcpy(st->id, q->name, sizeof(st->id));
	pl_strlcpy(st->source, q->source[0] ? q->source : "ldap", sizeof(st->source));
	if (!st->path[0])
		return 0;
	if (!st->sdir && pl_dir_open(&st->sdir, st->path, PL_DIR_WRITE, &err) < 0) {
		st->sdir = NULL;
		sfail(q, PL_STATUS_ERROR, err.msg);
		return -1;
	}
	int rc = pl_dir_sync_stream_begin(st->sdir, st->source, &err);
	if (rc < 0) {
		sfail(q, err_status(err.msg), err.msg);
		return -1;
	}
	if (rc == 0 && !(st->errors = json_array())) {
		(void)pl_dir_sync_stream_end(st->sdir, 0, &err);
		sfail(q, PL_STATUS_BUSY, "out of memory");
		return -1;
	}
	__atomic_store_n(&st->streaming, rc == 0, __ATOMIC_RELEASE);
	return 0;
}

/* q's part applied inside the open transaction; the last one commits.
 * Under st->mu. */
static void stream_part(ds_req_t *q, ds_stage_t *st)
{
	batch_t b = { q->payload ? q->payload : "", q->len, 0, 0, 0 };
	pl_err_t err = { "" };
	uint64_t t0 = pl_now_ms();
	if (pl_dir_sync_stream_part(st->sdir, st->source, batch_next, &b, sync_error, st->errors,
				    &st->counts, &err) < 0) {
		stage_reset(st);
		sfail(q, err_status(err.msg), err.msg);
		return;
	}
	if (q->more) {
		(void)pl_fmt(q->msg, sizeof(q->msg),
			     "sync %s: part %u applied (not committed yet) in %llu ms", q->name,
			     q->first_line, (unsigned long long)(pl_now_ms() - t0));
		return;
	}
	if (pl_dir_sync_stream_end(st->sdir, 1, &err) < 0) {
		__atomic_store_n(&st->streaming, 0, __ATOMIC_RELEASE);
		stage_reset(st);
		sfail(q, err_status(err.msg), err.msg);
		return;
	}
	__atomic_store_n(&st->streaming, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&st->checkpoint_due, 1, __ATOMIC_RELEASE);
	answer_counts(q, &st->counts, st->errors);
	st->errors = NULL;
	stage_reset(st);
}

/* A part of a batch in parts (LINE, MORE). Under st->mu. */
static void batch_part(ds_req_t *q, pl_dir_t *d, ds_stage_t *st)
{
	char why[300];
	const char *source = q->source[0] ? q->source : "ldap";
	if (part_abort(q, why, sizeof(why))) {
		int was = st->id[0] && strcmp(st->id, q->name) == 0;
		if (was)
			stage_reset(st);
		sfail(q, PL_STATUS_ERROR, "");
		(void)pl_fmt(q->msg, sizeof(q->msg),
			     "sync %s abandoned by its sender (%.200s): nothing applied", q->name, why);
		return;
	}
	if (q->first_line == 1) {
		if (batch_begin(q, st) < 0)
			return;
	} else if (st->next_part != q->first_line || strcmp(st->id, q->name) != 0 ||
		   strcmp(st->source, source) != 0) {
		stage_reset(st);
		sfail(q, PL_STATUS_BADREQ, "sync-apply: part out of order; the batch is dropped");
		return;
	}
	st->next_part = q->first_line + 1;
	st->last_ms = pl_now_ms();
	if (st->streaming) {
		stream_part(q, st);
		return;
	}
	if (stage_part(q, st) < 0)
		return;
	if (q->more)
		(void)pl_fmt(q->msg, sizeof(q->msg), "sync %s: part %u staged", q->name,
			     q->first_line);
	else
		apply(q, d, st->text, st->len);
	if (!q->more)
		stage_reset(st);
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
		if (ds_stage_streaming(st))
			sfail(q, PL_STATUS_BUSY, "a sync is being applied; try again in a moment");
		else
			apply(q, d, q->payload ? q->payload : "", q->len);
		return;
	}
	pthread_mutex_lock(&st->mu);
	batch_part(q, d, st);
	pthread_mutex_unlock(&st->mu);
}
