/* Administrators of the web console (schema version 3): a name and a
 * password kept only as a salted scrypt hash (directory-secret.c). The
 * console checks logins with pl_dir_admin_check and ends the sessions of
 * an administrator that pl_dir_admin_exists no longer finds.
 *
 * scrypt costs ~50 ms a hash: it always runs outside the handle's mutex.
 * A password is never copied (the caller owns and wipes its buffer); hash
 * strings are wiped once used. */
#include "directory-private.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "pl_util.h"

/* Starts the messages of hashing errors ("password: scrypt failed"). */
#define PASSWORD_WHAT "password"
#define NAME_RULE \
	"invalid administrator name (1 to 127 letters, digits, '.', '_' or '-')"

static int valid_admin_name(const char *name)
{
	return name && pl_dir_valid_name(name);
}

/* Characters, not bytes: a UTF-8 continuation byte does not count. */
static size_t utf8_chars(const char *s, size_t n)
{
	size_t c = 0;
	for (size_t i = 0; i < n; i++)
		c += ((unsigned char)s[i] & 0xc0) != 0x80;
	return c;
}

static int password_check(const char *password, pl_err_t *err)
{
	size_t n = password ? strnlen(password, PL_DIR_ADMIN_PASSWORD_MAX + 1) : 0;
	if (n > PL_DIR_ADMIN_PASSWORD_MAX)
		return pl_dir_fail(err, "password too long: at most %d bytes",
				   PL_DIR_ADMIN_PASSWORD_MAX);
	if (utf8_chars(password ? password : "", n) < PL_DIR_ADMIN_PASSWORD_MIN)
		return pl_dir_fail(err, "password too short: at least %d characters",
				   PL_DIR_ADMIN_PASSWORD_MIN);
	return 0;
}

/* ---- put, del ---- */

static int admin_insert(pl_dir_t *d, const char *name, const char *hash,
			pl_err_t *err)
{
	sqlite3_stmt *st = pl_dir_prepare(
		d,
		"INSERT INTO admins(name, password_hash, created_ms, updated_ms)"
		" VALUES(?1, ?2, ?3, ?3)",
		err);
	if (!st)
		return -1;
	if (pl_dir_bind_text(st, 1, name) < 0 || pl_dir_bind_text(st, 2, hash) < 0 ||
	    sqlite3_bind_int64(st, 3, pl_dir_now_ms()) != SQLITE_OK) {
		pl_dir_sqlfail(d, err, "add administrator");
		sqlite3_finalize(st);
		return -1;
	}
	int rc = pl_dir_run(d, st, "add administrator", err);
	if (rc == SQLITE_CONSTRAINT_PRIMARYKEY)
		return pl_dir_fail(err, "administrator %s already exists", name);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* created_ms stays: the administrator is the same one. */
static int admin_update(pl_dir_t *d, const char *name, const char *hash,
			pl_err_t *err)
{
	sqlite3_stmt *st = pl_dir_prepare(
		d,
		"UPDATE admins SET password_hash = ?2, updated_ms = ?3"
		" WHERE name = ?1",
		err);
	if (!st)
		return -1;
	if (pl_dir_bind_text(st, 1, name) < 0 || pl_dir_bind_text(st, 2, hash) < 0 ||
	    sqlite3_bind_int64(st, 3, pl_dir_now_ms()) != SQLITE_OK) {
		pl_dir_sqlfail(d, err, "set password");
		sqlite3_finalize(st);
		return -1;
	}
	if (pl_dir_run(d, st, "set password", err) != SQLITE_DONE)
		return -1;
	if (sqlite3_changes(d->db) == 0)
		return pl_dir_fail(err, "no administrator %s", name);
	return 0;
}

int pl_dir_admin_put(pl_dir_t *d, const char *name, const char *password,
		     int replace, pl_err_t *err)
{
	char hash[PL_DIR_SECRET_HASH_MAX];
	if (!valid_admin_name(name))
		return pl_dir_fail(err, NAME_RULE);
	if (password_check(password, err) < 0)
		return -1;
	/* The slow hash before taking the lock. */
	if (pl_dir_secret_hash(password, hash, PASSWORD_WHAT, err) < 0)
		return -1;
	pl_dir_lock(d);
	int rc = replace ? admin_update(d, name, hash, err)
			 : admin_insert(d, name, hash, err);
	pl_dir_unlock(d);
	OPENSSL_cleanse(hash, sizeof(hash));
	return rc;
}

static int admin_hash_get(pl_dir_t *d, const char *name,
			  char out[PL_DIR_SECRET_HASH_MAX], const char *what,
			  pl_err_t *err);

/* keep_one: not the last administrator (the count and the delete are one
 * statement, so two deletes at once cannot leave none). */
static int admin_delete(pl_dir_t *d, const char *name, int keep_one,
			pl_err_t *err)
{
	sqlite3_stmt *st = pl_dir_prepare(
		d,
		keep_one ? "DELETE FROM admins WHERE name = ?1"
			   " AND (SELECT COUNT(*) FROM admins) > 1"
			 : "DELETE FROM admins WHERE name = ?1",
		err);
	if (!st)
		return -1;
	if (pl_dir_bind_text(st, 1, name) < 0) {
		pl_dir_sqlfail(d, err, "delete administrator");
		sqlite3_finalize(st);
		return -1;
	}
	if (pl_dir_run(d, st, "delete administrator", err) != SQLITE_DONE)
		return -1;
	if (sqlite3_changes(d->db) == 0) {
		int rc = keep_one ? admin_hash_get(d, name, NULL, "delete administrator",
						  err)
				  : 1;
		if (rc < 0)
			return -1;
		return rc == 0 ? pl_dir_fail(err, "%s is the last administrator", name)
			       : pl_dir_fail(err, "no administrator %s", name);
	}
	return 0;
}

int pl_dir_admin_del(pl_dir_t *d, const char *name, pl_err_t *err)
{
	if (!valid_admin_name(name))
		return pl_dir_fail(err, NAME_RULE);
	pl_dir_lock(d);
	int rc = admin_delete(d, name, 0, err);
	pl_dir_unlock(d);
	return rc;
}

int pl_dir_admin_del_not_last(pl_dir_t *d, const char *name, pl_err_t *err)
{
	if (!valid_admin_name(name))
		return pl_dir_fail(err, NAME_RULE);
	pl_dir_lock(d);
	int rc = admin_delete(d, name, 1, err);
	pl_dir_unlock(d);
	return rc;
}

/* ---- check, exists ---- */

/* The stored hash into out (if not NULL): 0 found, 1 no such
 * administrator, -1 error. Under the mutex. */
static int admin_hash_get(pl_dir_t *d, const char *name,
			  char out[PL_DIR_SECRET_HASH_MAX], const char *what,
			  pl_err_t *err)
{
	sqlite3_stmt *st = pl_dir_prepare(
		d, "SELECT password_hash FROM admins WHERE name = ?1", err);
	if (!st)
		return -1;
	int rc = pl_dir_bind_text(st, 1, name) < 0 ? SQLITE_ERROR
						   : sqlite3_step(st);
	int found = 1;
	if (rc == SQLITE_ROW)
		found = !out || pl_strlcpy(out, pl_dir_col_text(st, 0),
					   PL_DIR_SECRET_HASH_MAX) <
					PL_DIR_SECRET_HASH_MAX
				? 0
				: pl_dir_fail(err, "%s: stored hash is malformed",
					      PASSWORD_WHAT);
	else if (rc != SQLITE_DONE)
		found = pl_dir_sqlfail(d, err, what);
	sqlite3_finalize(st);
	return found;
}

int pl_dir_admin_check(pl_dir_t *d, const char *name, const char *password,
		       pl_err_t *err)
{
	char stored[PL_DIR_SECRET_HASH_MAX];
	int rc = 1;
	/* Longer than any password that could have been set: wrong, and
	 * not worth hashing. */
	if (!password || strnlen(password, PL_DIR_ADMIN_PASSWORD_MAX + 1) >
				 PL_DIR_ADMIN_PASSWORD_MAX)
		return 0;
	/* An invalid name is an unknown one, at the same cost. */
	if (valid_admin_name(name)) {
		pl_dir_lock(d);
		rc = admin_hash_get(d, name, stored, "check password", err);
		pl_dir_unlock(d);
		if (rc < 0)
			return -1;
	}
	/* The slow part outside the lock; an unknown name runs against the
	 * dummy hash and costs the same time as a wrong password. */
	int ok = pl_dir_secret_verify(password, rc == 0 ? stored : NULL,
				      PASSWORD_WHAT, err);
	OPENSSL_cleanse(stored, sizeof(stored));
	return ok;
}

int pl_dir_admin_exists(pl_dir_t *d, const char *name, pl_err_t *err)
{
	if (!valid_admin_name(name))
		return pl_dir_fail(err, NAME_RULE);
	pl_dir_lock(d);
	int rc = admin_hash_get(d, name, NULL, "find administrator", err);
	pl_dir_unlock(d);
	return rc < 0 ? -1 : rc == 0;
}

/* ---- get, list ---- */

static void admin_from_row(sqlite3_stmt *st, void *elem)
{
	pl_dir_admin_t *a = elem;
	memset(a, 0, sizeof(*a));
	pl_strlcpy(a->name, pl_dir_col_text(st, 0), sizeof(a->name));
	a->created_ms = sqlite3_column_int64(st, 1);
	a->updated_ms = sqlite3_column_int64(st, 2);
}

int pl_dir_admin_get(pl_dir_t *d, const char *name, pl_dir_admin_t *out,
		     pl_err_t *err)
{
	if (!valid_admin_name(name))
		return pl_dir_fail(err, NAME_RULE);
	pl_dir_lock(d);
	sqlite3_stmt *st = pl_dir_prepare(
		d, "SELECT name, created_ms, updated_ms FROM admins WHERE name = ?1", err);
	int rc = -1;
	if (st) {
		int step = pl_dir_bind_text(st, 1, name) < 0 ? SQLITE_ERROR : sqlite3_step(st);
		if (step == SQLITE_ROW) {
			admin_from_row(st, out);
			rc = 0;
		} else if (step == SQLITE_DONE) {
			rc = 1;
		} else {
			pl_dir_sqlfail(d, err, "find administrator");
		}
		sqlite3_finalize(st);
	}
	pl_dir_unlock(d);
	return rc;
}

int pl_dir_admin_list(pl_dir_t *d, pl_dir_admin_t **out, size_t *n,
		      pl_err_t *err)
{
	void *arr = NULL;
	pl_dir_lock(d);
	int rc = pl_dir_collect(d,
				"SELECT name, created_ms, updated_ms FROM admins"
				" ORDER BY name",
				sizeof(**out), admin_from_row, &arr, n,
				"list administrators", err);
	pl_dir_unlock(d);
	*out = arr;
	return rc;
}
