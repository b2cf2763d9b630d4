/* Users synced from an identity source (IdentitySync's LDAP pull, later
 * SCIM): one batch of changes applied in one transaction
 * (pl_dir_sync_apply, pl_directory.h). An item is checked before anything
 * of it is written, so a refused item leaves nothing to undo, while the
 * batch stays all or nothing against crashes and database errors. (Each
 * item had a savepoint once; it journalled every page the item changed,
 * most of a 100,000-user sync's cost.) The one exception is a new user of
 * a streamed batch (stream_add): its INSERTs are its checks, and a refusal
 * deletes the few badge rows it wrote. */
#include "directory-private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pl_badge.h"
#include "pl_util.h"

typedef struct {
	char username[128];
	int64_t created_ms;
	char pin_hash[PL_DIR_SECRET_HASH_MAX];
	char pin_mark[PL_DIR_PIN_MARK_MAX];
	int has_pin;
} sync_row_t;

static int stmt_text(pl_dir_t *d, sqlite3_stmt *st, const char *a, const char *b,
		     const char *what, pl_err_t *err)
{
	if (pl_dir_bind_text(st, 1, a) < 0 || (b && pl_dir_bind_text(st, 2, b) < 0)) {
		pl_dir_sqlfail(d, err, what);
		pl_dir_kept_done(d, st);
		return -1;
	}
	return 0;
}

/* The user of source with key: 0 found (into r), 1 none, -1 error. */
static int row_by_key(pl_dir_t *d, const char *source, const char *key, sync_row_t *r,
		      pl_err_t *err)
{
	sqlite3_stmt *st = pl_dir_kept(d,
					  "SELECT username, created_ms, pin_hash, pin_mark FROM users"
					  " WHERE source = ?1 AND external_id = ?2",
					  err);
	if (!st || stmt_text(d, st, source, key, "sync: find user", err) < 0)
		return -1;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		pl_strlcpy(r->username, pl_dir_col_text(st, 0), sizeof(r->username));
		r->created_ms = sqlite3_column_int64(st, 1);
		r->has_pin = sqlite3_column_type(st, 2) != SQLITE_NULL;
		pl_strlcpy(r->pin_hash, pl_dir_col_text(st, 2), sizeof(r->pin_hash));
		pl_strlcpy(r->pin_mark, pl_dir_col_text(st, 3), sizeof(r->pin_mark));
	} else if (rc != SQLITE_DONE) {
		pl_dir_sqlfail(d, err, "sync: find user");
	}
	pl_dir_kept_done(d, st);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : -1;
}

/* Who holds username now: 0 nobody, 1 this source with another key or
 * none, 2 another source; -1 error. */
static int name_holder(pl_dir_t *d, const char *source, const char *username,
		       char *holder, size_t hsz, pl_err_t *err)
{
	sqlite3_stmt *st = pl_dir_kept(d, "SELECT source FROM users WHERE username = ?1", err);
	if (!st || stmt_text(d, st, username, NULL, "sync: user name", err) < 0)
		return -1;
	int rc = sqlite3_step(st), who = 0;
	if (rc == SQLITE_ROW) {
		pl_strlcpy(holder, pl_dir_col_text(st, 0), hsz);
		who = strcmp(holder, source) == 0 ? 1 : 2;
	} else if (rc != SQLITE_DONE) {
		who = pl_dir_sqlfail(d, err, "sync: user name");
	}
	pl_dir_kept_done(d, st);
	return who;
}

static int exec_text(pl_dir_t *d, const char *sql, const char *a, const char *b,
		     const char *what, pl_err_t *err)
{
	sqlite3_stmt *st = pl_dir_kept(d, sql, err);
	if (!st || stmt_text(d, st, a, b, what, err) < 0)
		return -1;
	return pl_dir_run_kept(d, st, what, err) == SQLITE_DONE ? 0 : -1;
}

/* The row's INSERT: SQLite's result (SQLITE_DONE, or ..._PRIMARYKEY when
 * the name is taken: err set either way but for SQLITE_DONE). */
static int row_insert_rc(pl_dir_t *d, const char *source, const pl_dir_user_t *u,
			 const sync_row_t *old, pl_err_t *err)
{
	sqlite3_stmt *st = pl_dir_kept(
		d,
		"INSERT INTO users(username, display_name, groups, pin_hash, source,"
		" created_ms, updated_ms, external_id, pin_mark)"
		" VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, NULLIF(?9, ''))",
		err);
	if (!st)
		return SQLITE_ERROR;
	int64_t now = pl_dir_now_ms();
	int bad = pl_dir_bind_text(st, 1, u->username) < 0 ||
		  pl_dir_bind_text(st, 2, u->display_name) < 0 ||
		  pl_dir_bind_text(st, 3, u->groups) < 0 ||
		  (old && old->has_pin ? pl_dir_bind_text(st, 4, old->pin_hash) < 0
				       : sqlite3_bind_null(st, 4) != SQLITE_OK) ||
		  pl_dir_bind_text(st, 5, source) < 0 ||
		  sqlite3_bind_int64(st, 6, old ? old->created_ms : now) != SQLITE_OK ||
		  sqlite3_bind_int64(st, 7, now) != SQLITE_OK ||
		  pl_dir_bind_text(st, 8, u->external_id) < 0 ||
		  pl_dir_bind_text(st, 9, old ? old->pin_mark : "") < 0;
	if (bad) {
		pl_dir_sqlfail(d, err, "sync: add user");
		pl_dir_kept_done(d, st);
		return SQLITE_ERROR;
	}
	return pl_dir_run_kept(d, st, "sync: add user", err);
}

static int row_insert(pl_dir_t *d, const char *source, const pl_dir_user_t *u,
		      const sync_row_t *old, pl_err_t *err)
{
	return row_insert_rc(d, source, u, old, err) == SQLITE_DONE ? 0 : -1;
}

static int row_update(pl_dir_t *d, const pl_dir_user_t *u, pl_err_t *err)
{
	sqlite3_stmt *st = pl_dir_kept(
		d,
		"UPDATE users SET display_name = ?2, groups = ?3, updated_ms = ?4"
		" WHERE username = ?1",
		err);
	if (!st)
		return -1;
	if (pl_dir_bind_text(st, 1, u->username) < 0 ||
	    pl_dir_bind_text(st, 2, u->display_name) < 0 ||
	    pl_dir_bind_text(st, 3, u->groups) < 0 ||
	    sqlite3_bind_int64(st, 4, pl_dir_now_ms()) != SQLITE_OK) {
		pl_dir_sqlfail(d, err, "sync: update user");
		pl_dir_kept_done(d, st);
		return -1;
	}
	return pl_dir_run_kept(d, st, "sync: update user", err) == SQLITE_DONE ? 0 : -1;
}

/* The item's PIN change on the row just put (a hash checked first: the
 * sender faces the network, and a malformed hash would only fail later,
 * at every check). */
static int item_pin(pl_dir_t *d, const pl_dir_sync_item_t *it, pl_err_t *err)
{
	int set = it->pin_op == PL_DIR_SYNC_PIN_SET;
	if (it->pin_op == PL_DIR_SYNC_PIN_KEEP)
		return 0;
	if (set && (!pl_dir_secret_wellformed(it->pin_hash) || !it->user.pin_mark[0]))
		return pl_dir_fail(err, "user %s: the PIN is not a well-formed stored hash with "
				   "its mark", it->user.username);
	sqlite3_stmt *st = pl_dir_kept(
		d, "UPDATE users SET pin_hash = ?2, pin_mark = ?3 WHERE username = ?1", err);
	if (!st)
		return -1;
	if (pl_dir_bind_text(st, 1, it->user.username) < 0 ||
	    (set ? pl_dir_bind_text(st, 2, it->pin_hash) < 0 ||
			   pl_dir_bind_text(st, 3, it->user.pin_mark) < 0
		 : sqlite3_bind_null(st, 2) != SQLITE_OK ||
			   sqlite3_bind_null(st, 3) != SQLITE_OK)) {
		pl_dir_sqlfail(d, err, "sync: PIN");
		pl_dir_kept_done(d, st);
		return -1;
	}
	return pl_dir_run_kept(d, st, "sync: PIN", err) == SQLITE_DONE ? 0 : -1;
}

/* Would u's badges go to it without taking one from another user? (The
 * badges of every user the batch puts were cleared in pass 0.) 0, 1
 * refused (ierr), -1 error (err). */
static int badges_free(pl_dir_t *d, const pl_dir_user_t *u, pl_err_t *ierr, pl_err_t *err)
{
	char owner[128], masked[72];
	for (int i = 0; i < u->nbadges; i++) {
		int rc = pl_dir_badge_owner(d, u->badges[i], owner, sizeof(owner), err);
		if (rc < 0)
			return -1;
		if (rc == 0 && strcmp(owner, u->username) != 0) {
			pl_badge_mask(u->badges[i], masked, sizeof(masked));
			pl_dir_fail(ierr, "badge %s already belongs to %s", masked, owner);
			return 1;
		}
	}
	return 0;
}

/* Is u's name another user's? 0 no, 1 refused (ierr), -1 error (err). */
static int name_refusal(pl_dir_t *d, const char *source, const pl_dir_user_t *u,
			pl_err_t *ierr, pl_err_t *err)
{
	char holder[16];
	int who = name_holder(d, source, u->username, holder, sizeof(holder), err);
	if (who < 0)
		return -1;
	if (who == 2)
		pl_dir_fail(ierr, "user %s exists as a %s user; not replaced", u->username,
			    holder);
	else if (who == 1)
		pl_dir_fail(ierr, "user %s is already synced under another key", u->username);
	return who ? 1 : 0;
}

/* The checks of a put, made before anything of it is written, so that a
 * refused item needs no savepoint to undo (a savepoint an item journalled
 * every page the item changed: most of a large sync's cost). 0 (old and
 * *found set as row_by_key's), 1 refused (ierr), -1 error (err). */
static int put_check(pl_dir_t *d, const char *source, const pl_dir_sync_item_t *it, int stream,
		     sync_row_t *old, int *found, pl_err_t *ierr, pl_err_t *err)
{
	const pl_dir_user_t *u = &it->user;
	if (pl_dir_user_check(u, ierr) < 0 || !u->external_id[0]) {
		if (!ierr->msg[0])
			pl_strlcpy(ierr->msg, "a synced user needs its key", sizeof(ierr->msg));
		return 1;
	}
	if (it->pin_op == PL_DIR_SYNC_PIN_SET &&
	    (!pl_dir_secret_wellformed(it->pin_hash) || !u->pin_mark[0])) {
		pl_dir_fail(ierr, "user %s: the PIN is not a well-formed stored hash with its mark",
			    u->username);
		return 1;
	}
	/* in a stream every item is taken for a new user: stream_add checks
	 * as it writes, the key by the row's UNIQUE index */
	if (stream) {
		*found = 1;
		return 0;
	}
	if ((*found = row_by_key(d, source, u->external_id, old, err)) < 0)
		return -1;
	if (*found != 0 || strcmp(old->username, u->username) != 0) {
		int nr = name_refusal(d, source, u, ierr, err);
		if (nr != 0)
			return nr;
	}
	return badges_free(d, u, ierr, err);
}

/* A new user of a stream (no row has its key), written with its checks
 * folded into the writing: its badges first, each INSERT its own check
 * (the foreign key to the row is checked at COMMIT), then the row, whose
 * INSERT checks the name: three lookups a user fewer than put_check's,
 * where nothing but this batch writes. The key is not looked up first:
 * the row's INSERT refuses a key an earlier item of the stream put
 * (users_external is UNIQUE), and only then is the row looked for. A
 * refusal takes back the badges this item wrote and gives put_check's
 * words, the name's first. 0 added, 1 refused (ierr), 2 the key is
 * there already (nothing written: put it the ordinary way), -1 error
 * (err). */
static int stream_add(pl_dir_t *d, const char *source, const pl_dir_sync_item_t *it,
		      pl_err_t *ierr, pl_err_t *err)
{
	const pl_dir_user_t *u = &it->user;
	char owner[128] = "", masked[72];
	int wrote[PL_DIR_MAX_BADGES] = { 0 }, taken = -1, rc;
	for (int i = 0; i < u->nbadges && taken < 0; i++) {
		sqlite3_stmt *st = pl_dir_kept(d,
						  "INSERT INTO badges(badge_id, username, pos)"
						  " VALUES(?1, ?2, ?3)",
						  err);
		if (!st || stmt_text(d, st, u->badges[i], u->username, "sync: badges", err) < 0)
			return -1;
		if (sqlite3_bind_int(st, 3, i) != SQLITE_OK) {
			pl_dir_sqlfail(d, err, "sync: badges");
			pl_dir_kept_done(d, st);
			return -1;
		}
		rc = sqlite3_step(st);
		pl_dir_kept_done(d, st);
		if (rc == SQLITE_DONE) {
			wrote[i] = 1;
			continue;
		}
		if (rc != SQLITE_CONSTRAINT_PRIMARYKEY) {
			pl_dir_sqlfail(d, err, "sync: badges");
			return -1;
		}
		rc = pl_dir_badge_owner(d, u->badges[i], owner, sizeof(owner), err);
		if (rc < 0)
			return -1;
		/* listed twice, or the badge of the name's holder (the row's
		 * INSERT refuses that) */
		if (rc != 0 || strcmp(owner, u->username) != 0)
			taken = i;
	}
	if (taken < 0) {
		rc = row_insert_rc(d, source, u, NULL, err);
		if (rc == SQLITE_DONE) {
			int wr = pl_dir_user_emails_add(d, u, err);
			return wr == 0 ? item_pin(d, it, err) : -1;
		}
		if (rc != SQLITE_CONSTRAINT_PRIMARYKEY && rc != SQLITE_CONSTRAINT_UNIQUE)
			return -1;
	}
	/* refused: nothing of the item stays */
	for (int i = 0; i < u->nbadges; i++)
		if (wrote[i] && exec_text(d, "DELETE FROM badges WHERE badge_id = ?1", u->badges[i],
					  NULL, "sync: badges", err) < 0)
			return -1;
	sync_row_t old;
	rc = row_by_key(d, source, u->external_id, &old, err);
	memset(old.pin_hash, 0, sizeof(old.pin_hash));
	if (rc <= 0)
		return rc < 0 ? -1 : 2;
	rc = name_refusal(d, source, u, ierr, err);
	if (rc != 0)
		return rc;
	if (taken < 0)
		return pl_dir_fail(err, "sync: user %s: its row was refused", u->username);
	pl_badge_mask(u->badges[taken], masked, sizeof(masked));
	pl_dir_fail(ierr, "badge %s already belongs to %s", masked, owner[0] ? owner : "another user");
	return 1;
}

/* 0 added, 1 updated, 2 renamed; -1 refused (ierr, nothing written); -2
 * a database error (err): the batch cannot go on. */
static int item_put(pl_dir_t *d, const char *source, const pl_dir_sync_item_t *it, int stream,
		    pl_err_t *ierr, pl_err_t *err)
{
	const pl_dir_user_t *u = &it->user;
	sync_row_t old;
	int found = 1;
	int ck = put_check(d, source, it, stream, &old, &found, ierr, err);
	if (ck == 0 && stream && (ck = stream_add(d, source, it, ierr, err)) == 2) {
		stream = 0; /* a key the stream put before: the ordinary way */
		ck = put_check(d, source, it, stream, &old, &found, ierr, err);
	}
	if (ck != 0 || (stream && found == 1)) {
		memset(old.pin_hash, 0, sizeof(old.pin_hash));
		return ck > 0 ? -1 : ck < 0 ? -2 : 0;
	}
	int same_name = found == 0 && strcmp(old.username, u->username) == 0;
	int rc;
	if (same_name) {
		rc = row_update(d, u, err);
	} else if (found == 0) {
		/* A rename: the children reference the name, so the row goes
		 * and comes back under the new one with its PIN and age. The
		 * children deleted here, not by the cascade: a stream writes
		 * with foreign keys off (stream_pragmas). */
		rc = exec_text(d, "DELETE FROM badges WHERE username = ?1", old.username, NULL,
			       "sync: rename user", err);
		if (rc == 0)
			rc = exec_text(d, "DELETE FROM user_emails WHERE username = ?1",
				       old.username, NULL, "sync: rename user", err);
		if (rc == 0)
			rc = exec_text(d, "DELETE FROM users WHERE username = ?1", old.username,
				       NULL, "sync: rename user", err);
		if (rc == 0)
			rc = row_insert(d, source, u, &old, err);
	} else {
		rc = row_insert(d, source, u, NULL, err);
	}
	/* a new user (found 1: nobody held the name) has no rows to replace */
	if (rc == 0)
		rc = found ? pl_dir_user_emails_add(d, u, err) : pl_dir_user_emails_put(d, u, err);
	if (rc == 0)
		rc = found ? pl_dir_user_badges_add(d, u, err) : pl_dir_user_badges_put(d, u, err);
	if (rc == 0)
		rc = item_pin(d, it, err);
	memset(old.pin_hash, 0, sizeof(old.pin_hash));
	if (rc < 0)
		return -2;
	return same_name ? 1 : found == 0 ? 2 : 0;
}

/* 1 removed, 0 there was none; -1 error. */
static int item_remove(pl_dir_t *d, const char *source, const char *key, pl_err_t *err)
{
	if (exec_text(d, "DELETE FROM users WHERE source = ?1 AND external_id = ?2", source, key,
		      "sync: remove user", err) < 0)
		return -1;
	return sqlite3_changes(d->db) > 0;
}

typedef struct {
	pl_dir_t *d;
	const char *source;
	pl_dir_sync_err_fn on_error;
	void *arg;
	pl_dir_sync_counts_t *c;
	int stream; /* pl_dir_sync_stream_part: badges_first for new users */
} apply_t;

/* One item; -1 only for a database failure that ends the batch (a
 * refused item writes nothing: its checks come first). */
static int apply_one(apply_t *a, const pl_dir_sync_item_t *it, pl_err_t *err)
{
	pl_err_t ierr = { "" };
	int rc;
	if (it->remove) {
		rc = item_remove(a->d, a->source, it->key, err);
		if (rc < 0)
			return -1;
		a->c->removed += rc;
		return 0;
	}
	rc = item_put(a->d, a->source, it, a->stream, &ierr, err);
	if (rc == -2)
		return -1;
	if (rc >= 0) {
		long *cnt[] = { &a->c->added, &a->c->updated, &a->c->renamed };
		(*cnt[rc])++;
		return 0;
	}
	a->c->failed++;
	if (a->on_error)
		a->on_error(a->arg, it, ierr.msg);
	return 0;
}

/* What pass 0 has to do, known before it starts: with no user of the
 * source yet (a first sync) every remove and every clearing would find
 * nothing, and with none of them holding a badge no clearing would (a
 * remove deletes, so what pass 0 finds at its start holds through it). A
 * first sync of 100,000 users walked its batch once more for 100,000
 * DELETEs of nothing. */
enum { PASS0_NONE, PASS0_REMOVES, PASS0_ALL };

/* 1 when the query (?1 the source) has a row, 0 not, -1 error. */
static int source_has(pl_dir_t *d, const char *sql, const char *source, pl_err_t *err)
{
	sqlite3_stmt *st = pl_dir_kept(d, sql, err);
	if (!st || stmt_text(d, st, source, NULL, "sync: pass 0", err) < 0)
		return -1;
	int rc = sqlite3_step(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		pl_dir_sqlfail(d, err, "sync: pass 0");
	pl_dir_kept_done(d, st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

/* PASS0_*, or -1 error. "external_id IS NOT NULL": the partial index
 * users_external answers it. */
static int pass0_work(pl_dir_t *d, const char *source, pl_err_t *err)
{
	int rc = source_has(d,
			    "SELECT 1 FROM users WHERE source = ?1 AND external_id IS NOT NULL"
			    " LIMIT 1",
			    source, err);
	if (rc <= 0)
		return rc < 0 ? -1 : PASS0_NONE;
	rc = source_has(d,
			"SELECT 1 FROM users u JOIN badges b ON b.username = u.username"
			" WHERE u.source = ?1 AND u.external_id IS NOT NULL LIMIT 1",
			source, err);
	return rc < 0 ? -1 : rc ? PASS0_ALL : PASS0_REMOVES;
}

/* Pass 0: removes, and the badges of every user put cleared (a badge
 * that moves between two users of the batch is then no conflict; one
 * pass, since neither kind of line touches what the other reads);
 * pass 1: puts. Each line is parsed once a pass. work: pass 0's
 * (pass0_work). */
static int apply_pass(apply_t *a, int pass, int work, pl_dir_sync_next_fn next, void *narg,
		      pl_dir_sync_item_t *it, pl_err_t *err)
{
	int rc, restart = pass == 0 ? PL_DIR_SYNC_RESTART_KEYS : PL_DIR_SYNC_RESTART_WHOLE;
	if (pass == 0 && work == PASS0_NONE)
		return 0;
	while ((rc = next(narg, restart, it, err)) == 1) {
		restart = 0;
		if (pass == 0 && it->remove)
			rc = apply_one(a, it, err);
		else if (pass == 0 && work == PASS0_ALL)
			/* "= (SELECT ...)", not "IN (SELECT ...)": the key is
			 * unique in its source, and IN built a temporary table
			 * at every line (13% of a 100,000-user first sync) */
			rc = exec_text(a->d,
				       "DELETE FROM badges WHERE username = (SELECT username"
				       " FROM users WHERE source = ?1 AND external_id = ?2)",
				       a->source, it->user.external_id, "sync: badges", err);
		else if (pass == 1 && !it->remove)
			rc = apply_one(a, it, err);
		else
			rc = 0;
		if (rc < 0)
			return -1;
	}
	return rc;
}

int pl_dir_sync_apply_from(pl_dir_t *d, const char *source, pl_dir_sync_next_fn next,
			   void *narg, pl_dir_sync_err_fn on_error, void *arg,
			   pl_dir_sync_counts_t *counts, pl_err_t *err)
{
	pl_dir_sync_counts_t c = { 0 };
	apply_t a = { d, source, on_error, arg, &c, 0 };
	if (!source || (strcmp(source, "ldap") != 0 && strcmp(source, "scim") != 0))
		return pl_dir_fail(err, "sync: the source must be ldap or scim");
	pl_dir_sync_item_t *it = calloc(1, sizeof(*it));
	if (!it)
		return pl_dir_fail(err, "out of memory");
	pl_dir_lock(d);
	/* A cache that holds the batch's pages, so a large sync does not
	 * spill pages into the WAL half-way (and write them again), and the
	 * statement journals in memory. Set before BEGIN: temp_store does
	 * not change inside a transaction. */
	(void)pl_dir_exec(d, "PRAGMA cache_size = -262144; PRAGMA temp_store = MEMORY", "sync",
			  NULL);
	int rc = pl_dir_begin(d, 1, "sync", err) < 0 ? -2 : 0;
	/* Foreign keys checked at COMMIT (the pragma ends with the
	 * transaction): an immediate check made every INSERT of a child row
	 * open and close a statement journal, for a parent the same item has
	 * just written. A violation still fails the whole batch, as before. */
	if (rc == 0 && pl_dir_exec(d, "PRAGMA defer_foreign_keys = ON", "sync", err) < 0)
		rc = -1;
	int work = rc == 0 ? pass0_work(d, source, err) : 0;
	if (work < 0)
		rc = -1;
	for (int pass = 0; rc == 0 && pass < 2; pass++)
		rc = apply_pass(&a, pass, work, next, narg, it, err);
	if (rc != -2) /* -2: BEGIN failed, nothing to end */
		rc = pl_dir_end(d, rc, "sync", err);
	(void)pl_dir_exec(d, "PRAGMA cache_size = -2000; PRAGMA temp_store = DEFAULT", "sync",
			  NULL);
	pl_dir_unlock(d);
	memset(it, 0, sizeof(*it));
	free(it);
	if (rc == 0 && counts)
		*counts = c;
	return rc < 0 ? -1 : 0;
}

/* ---- a sync applied as it arrives (plsc-directory's streamed parts) ----
 *
 * The same transaction as pl_dir_sync_apply_from's, kept open across
 * calls, so that the writing overlaps the sender's reading. Only where
 * pass 0 would do nothing (no user of the source yet: a first sync): then
 * applying the puts in the order they come is exactly what the two passes
 * would do, refusals included. Each call takes the handle's lock for
 * itself; the caller keeps the calls of one stream in order and the
 * handle to itself (a connection of its own: other writers wait on
 * SQLite's write lock, and readers see the last commit). */

/* Foreign keys off for the stream (a no-op inside a transaction, so set
 * before BEGIN and back after the end). Even deferred, each child row's
 * INSERT looked its parent up, and each new row looked for children to
 * settle the count of outstanding violations: five lookups a user (with
 * two badges and an address), a quarter of plsc-directory's CPU in a
 * first sync. What the keys guarded holds by construction here: a child
 * row is written under the name of the row the item puts (or taken back
 * when the item is refused), and the one DELETE of a user a stream can
 * make (a key that comes twice under two names) deletes the children
 * itself (item_put). (Should a pragma fail, the keys stay as they were:
 * on is only slower, and off is what every stream on this connection
 * sets anyway — the caller's connection is the streams' own.) */
static void stream_pragmas(pl_dir_t *d, int on)
{
	(void)pl_dir_exec(d,
			  on ? "PRAGMA cache_size = -262144; PRAGMA temp_store = MEMORY"
			     : "PRAGMA cache_size = -2000; PRAGMA temp_store = DEFAULT",
			  "sync", NULL);
	(void)pl_dir_exec(d, on ? "PRAGMA foreign_keys = OFF" : "PRAGMA foreign_keys = ON",
			  "sync", NULL);
	/* users' CHECK stays on: written as ORs since schema version 8, it
	 * no longer builds its list as a temporary b-tree at every INSERT
	 * (which, as "IN (...)", was a fifth of a first sync's CPU). */
}

int pl_dir_sync_stream_begin(pl_dir_t *d, const char *source, pl_err_t *err)
{
	if (!source || (strcmp(source, "ldap") != 0 && strcmp(source, "scim") != 0))
		return pl_dir_fail(err, "sync: the source must be ldap or scim");
	pl_dir_lock(d);
	stream_pragmas(d, 1);
	/* COMMIT would copy the whole WAL back at once (SQLite's automatic
	 * checkpoint, in the committing call): the caller does it after
	 * answering (pl_dir_sync_stream_checkpoint) */
	(void)pl_dir_exec(d, "PRAGMA wal_autocheckpoint = 0", "sync", NULL);
	if (pl_dir_begin(d, 1, "sync", err) < 0) {
		stream_pragmas(d, 0);
		pl_dir_unlock(d);
		return -1;
	}
	int work = pl_dir_exec(d, "PRAGMA defer_foreign_keys = ON", "sync", err) < 0
			   ? -1 : pass0_work(d, source, err);
	if (work != PASS0_NONE) {
		(void)pl_dir_end(d, -1, "sync", err);
		stream_pragmas(d, 0);
	}
	pl_dir_unlock(d);
	return work < 0 ? -1 : work != PASS0_NONE;
}

int pl_dir_sync_stream_part(pl_dir_t *d, const char *source, pl_dir_sync_next_fn next,
			    void *narg, pl_dir_sync_err_fn on_error, void *arg,
			    pl_dir_sync_counts_t *counts, pl_err_t *err)
{
	apply_t a = { d, source, on_error, arg, counts, 1 };
	pl_dir_sync_item_t *it = calloc(1, sizeof(*it));
	if (!it)
		return pl_dir_fail(err, "out of memory");
	pl_dir_lock(d);
	int rc = apply_pass(&a, 1, PASS0_NONE, next, narg, it, err);
	pl_dir_unlock(d);
	memset(it, 0, sizeof(*it));
	free(it);
	return rc < 0 ? -1 : 0;
}

void pl_dir_sync_stream_checkpoint(pl_dir_t *d)
{
	pl_dir_lock(d);
	(void)pl_dir_exec(d, "PRAGMA wal_checkpoint(PASSIVE)", "sync", NULL);
	pl_dir_unlock(d);
}

int pl_dir_sync_stream_end(pl_dir_t *d, int commit, pl_err_t *err)
{
	pl_dir_lock(d);
	int rc = pl_dir_end(d, commit ? 0 : -1, "sync", err);
	stream_pragmas(d, 0);
	pl_dir_unlock(d);
	return rc < 0 ? -1 : 0;
}

typedef struct {
	const pl_dir_sync_item_t *items;
	size_t n, i;
} array_iter_t;

static int array_next(void *arg, int restart, pl_dir_sync_item_t *it, pl_err_t *err)
{
	array_iter_t *ai = arg;
	(void)err;
	if (restart)
		ai->i = 0;
	if (ai->i >= ai->n)
		return 0;
	*it = ai->items[ai->i++];
	return 1;
}

int pl_dir_sync_apply(pl_dir_t *d, const char *source, const pl_dir_sync_item_t *items,
		      size_t n, pl_dir_sync_err_fn on_error, void *arg,
		      pl_dir_sync_counts_t *counts, pl_err_t *err)
{
	array_iter_t ai = { items, n, 0 };
	return pl_dir_sync_apply_from(d, source, array_next, &ai, on_error, arg, counts, err);
}
