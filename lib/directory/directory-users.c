/* Users of the directory (schema version 2): a user row, its emails and
 * badges (child tables that cascade with it), and its PIN as a salted
 * scrypt hash (directory-secret.c).
 *
 * scrypt costs ~50 ms a hash: it always runs outside the handle's mutex.
 * A PIN is never copied (the caller owns and wipes its buffer); hash
 * strings are wiped once used. */
#include "directory-private.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "pl_badge.h"
#include "pl_util.h"

#define PIN_MIN 4
#define PIN_MAX 32
#define PIN_RULE "a PIN is 4 to 32 digits"
#define PIN_HASH_MAX PL_DIR_SECRET_HASH_MAX
/* Starts the messages of hashing errors ("PIN: scrypt failed"). */
#define PIN_WHAT "PIN"

#define USERNAME_MAX 127
#define BADGE_LEN_MAX 64

/* ---- validation ---- */

static int valid_username(const char *s)
{
	size_t n = s ? strnlen(s, USERNAME_MAX + 1) : 0;
	if (n == 0 || n > USERNAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			 (c >= '0' && c <= '9') || c == '.' || c == '_' ||
			 c == '@' || c == '-';
		if (!ok)
			return 0;
	}
	return 1;
}

/* Length of the UTF-8 sequence at s (at most n bytes) if it encodes a
 * printable character (no C0/C1 controls, no DEL, no overlong form, no
 * surrogate), else 0. */
static size_t printable_char(const unsigned char *s, size_t n)
{
	if (s[0] < 0x80)
		return s[0] >= 0x20 && s[0] != 0x7f;
	size_t len = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc0 ? 2 : 0;
	if (len == 0 || len > n || s[0] > 0xf4)
		return 0;
	uint32_t cp = s[0] & (0x7f >> len);
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	static const uint32_t min_cp[] = { 0, 0, 0x80, 0x800, 0x10000 };
	if (cp < min_cp[len] || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp < 0xa0)
		return 0;
	return len;
}

/* NUL-terminated within cap bytes and printable UTF-8 ("" allowed). */
static int printable_field(const char *s, size_t cap)
{
	size_t n = strnlen(s, cap);
	if (n >= cap)
		return 0;
	const unsigned char *p = (const unsigned char *)s;
	for (size_t i = 0; i < n;) {
		size_t l = printable_char(p + i, n - i);
		if (l == 0)
			return 0;
		i += l;
	}
	return 1;
}

static int valid_badge(const char *s)
{
	size_t n = s ? strnlen(s, BADGE_LEN_MAX + 1) : 0;
	if (n == 0 || n > BADGE_LEN_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

static int valid_pin(const char *pin)
{
	return pl_dir_pin_valid(pin);
}

static const char *user_source(const pl_dir_user_t *u)
{
	static const char *const known[] = { "local", "ldap", "scim" };
	if (u->source[0] == '\0')
		return "local";
	for (size_t i = 0; i < PL_ARRAY_LEN(known); i++)
		if (strncmp(u->source, known[i], sizeof(u->source)) == 0)
			return known[i];
	return NULL;
}

int pl_dir_user_check(const pl_dir_user_t *u, pl_err_t *err)
{
	if (!valid_username(u->username))
		return pl_dir_fail(err, "invalid user name");
	const char *name = u->username;
	if (!printable_field(u->display_name, sizeof(u->display_name)))
		return pl_dir_fail(err, "user %s: invalid display name "
				   "(printable, at most %zu bytes)",
				   name, sizeof(u->display_name) - 1);
	if (!printable_field(u->groups, sizeof(u->groups)))
		return pl_dir_fail(err, "user %s: invalid groups "
				   "(printable, at most %zu bytes)",
				   name, sizeof(u->groups) - 1);
	if (u->nemails < 0 || u->nemails > PL_DIR_MAX_EMAILS)
		return pl_dir_fail(err, "user %s: %d emails (at most %d)", name,
				   u->nemails, PL_DIR_MAX_EMAILS);
	for (int i = 0; i < u->nemails; i++) {
		const char *e = u->emails[i];
		const char *why = strnlen(e, sizeof(u->emails[i])) == sizeof(u->emails[i])
				? "more than 255 bytes" : pl_dir_email_check(e);
		/* Not the address itself: it may be anything, and the message
		 * goes to logs and the console. */
		if (why)
			return pl_dir_fail(err, "user %s: invalid email address: %s",
					   name, why);
	}
	if (u->nbadges < 0 || u->nbadges > PL_DIR_MAX_BADGES)
		return pl_dir_fail(err, "user %s: %d badges (at most %d)", name,
				   u->nbadges, PL_DIR_MAX_BADGES);
	for (int i = 0; i < u->nbadges; i++)
		if (!valid_badge(u->badges[i]))
			return pl_dir_fail(err, "user %s: invalid badge ID "
					   "(canonical: lowercase hex, at most %d digits)",
					   name, BADGE_LEN_MAX);
	if (!user_source(u))
		return pl_dir_fail(err, "user %s: source must be local, ldap or scim",
				   name);
	if (strnlen(u->external_id, sizeof(u->external_id)) == sizeof(u->external_id) ||
	    !printable_field(u->external_id, sizeof(u->external_id)))
		return pl_dir_fail(err, "user %s: invalid external id", name);
	return 0;
}

int pl_dir_user_local_only(pl_dir_t *d, const char *username, pl_err_t *err)
{
	sqlite3_stmt *st = pl_dir_prepare(d, "SELECT source FROM users WHERE username = ?1", err);
	if (!st)
		return -1;
	int rc = pl_dir_bind_text(st, 1, username) < 0 ? SQLITE_ERROR : sqlite3_step(st);
	char source[16] = "";
	if (rc == SQLITE_ROW)
		pl_strlcpy(source, pl_dir_col_text(st, 0), sizeof(source));
	else if (rc != SQLITE_DONE)
		pl_dir_sqlfail(d, err, "user source");
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return -1;
	if (source[0] && strcmp(source, "local") != 0)
		return pl_dir_fail(err, "user %s is synced from %s (IdentitySync): its record is "
				   "read-only here; change it in the identity source",
				   username, source);
	return 0;
}

/* ---- put ---- */

static const char sql_user_insert[] =
	"INSERT INTO users(username, display_name, groups, pin_hash, source,"
	" created_ms, updated_ms, external_id) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?6, ?8)";
/* Replace keeps created_ms, and the PIN hash when ?7 (no PIN given). */
static const char sql_user_upsert[] =
	"INSERT INTO users(username, display_name, groups, pin_hash, source,"
	" created_ms, updated_ms, external_id) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?6, ?8)"
	" ON CONFLICT(username) DO UPDATE SET"
	" display_name = excluded.display_name, groups = excluded.groups,"
	" pin_hash = CASE WHEN ?7 THEN users.pin_hash ELSE excluded.pin_hash END,"
	" source = excluded.source, updated_ms = excluded.updated_ms,"
	" external_id = excluded.external_id";

/* hash: NULL with keep = no PIN (new user) or keep the existing one. */
static int user_row_put(pl_dir_t *d, const pl_dir_user_t *u, const char *hash,
			int keep, int replace, pl_err_t *err)
{
	sqlite3_stmt *st = pl_dir_prepare(
		d, replace ? sql_user_upsert : sql_user_insert, err);
	if (!st)
		return -1;
	int bad = pl_dir_bind_text(st, 1, u->username) < 0 ||
		  pl_dir_bind_text(st, 2, u->display_name) < 0 ||
		  pl_dir_bind_text(st, 3, u->groups) < 0 ||
		  (hash ? pl_dir_bind_text(st, 4, hash) < 0
			: sqlite3_bind_null(st, 4) != SQLITE_OK) ||
		  pl_dir_bind_text(st, 5, user_source(u)) < 0 ||
		  sqlite3_bind_int64(st, 6, pl_dir_now_ms()) != SQLITE_OK ||
		  (replace && sqlite3_bind_int(st, 7, keep) != SQLITE_OK) ||
		  (u->external_id[0] ? pl_dir_bind_text(st, 8, u->external_id) < 0
				     : sqlite3_bind_null(st, 8) != SQLITE_OK);
	if (bad) {
		pl_dir_sqlfail(d, err, "put user");
		sqlite3_finalize(st);
		return -1;
	}
	int rc = pl_dir_run(d, st, "put user", err);
	if (rc == SQLITE_CONSTRAINT_PRIMARYKEY)
		return pl_dir_fail(err, "user %s already exists", u->username);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* Run one statement with text parameters a (and b, if not NULL). */
static int run_text2(pl_dir_t *d, const char *sql, const char *a,
		     const char *b, const char *what, pl_err_t *err)
{
	sqlite3_stmt *st = pl_dir_kept(d, sql, err);
	if (!st)
		return -1;
	if (pl_dir_bind_text(st, 1, a) < 0 ||
	    (b && pl_dir_bind_text(st, 2, b) < 0)) {
		pl_dir_sqlfail(d, err, what);
		pl_dir_kept_done(d, st);
		return -1;
	}
	return pl_dir_run_kept(d, st, what, err);
}

int pl_dir_child_insert(pl_dir_t *d, const char *sql, const char *username,
			const char *value, int pos, const char *what, pl_err_t *err)
{
	sqlite3_stmt *st = pl_dir_kept(d, sql, err);
	if (!st)
		return -1;
	if (pl_dir_bind_text(st, 1, username) < 0 || pl_dir_bind_text(st, 2, value) < 0 ||
	    sqlite3_bind_int(st, 3, pos) != SQLITE_OK) {
		pl_dir_sqlfail(d, err, what);
		pl_dir_kept_done(d, st);
		return -1;
	}
	return pl_dir_run_kept(d, st, what, err);
}

/* A duplicate within the list is dropped (the pair is the key). */
int pl_dir_user_emails_put(pl_dir_t *d, const pl_dir_user_t *u, pl_err_t *err)
{
	if (run_text2(d, "DELETE FROM user_emails WHERE username = ?1",
		      u->username, NULL, "put user emails", err) != SQLITE_DONE)
		return -1;
	return pl_dir_user_emails_add(d, u, err);
}

int pl_dir_user_emails_add(pl_dir_t *d, const pl_dir_user_t *u, pl_err_t *err)
{
	for (int i = 0; i < u->nemails; i++)
		if (pl_dir_child_insert(d,
					"INSERT OR IGNORE INTO user_emails(username, email, pos)"
					" VALUES(?1, ?2, ?3)",
					u->username, u->emails[i], i, "put user emails",
					err) != SQLITE_DONE)
			return -1;
	return 0;
}

/* The owner of a badge into owner: 0 found, 1 unknown, -1 error. */
int pl_dir_badge_owner(pl_dir_t *d, const char *badge, char *owner, size_t osz,
		       pl_err_t *err)
{
	sqlite3_stmt *st = pl_dir_cached(
		d, PL_DIR_ST_BADGE_OWNER,
		"SELECT username FROM badges WHERE badge_id = ?1", err);
	if (!st)
		return -1;
	int rc = pl_dir_bind_text(st, 1, badge) < 0 ? SQLITE_ERROR
						    : sqlite3_step(st);
	if (rc == SQLITE_ROW)
		pl_strlcpy(owner, pl_dir_col_text(st, 0), osz);
	else if (rc != SQLITE_DONE)
		pl_dir_sqlfail(d, err, "badge owner");
	pl_dir_cached_done(st);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : -1;
}

int pl_dir_user_badges_put(pl_dir_t *d, const pl_dir_user_t *u, pl_err_t *err)
{
	if (run_text2(d, "DELETE FROM badges WHERE username = ?1", u->username,
		      NULL, "put user badges", err) != SQLITE_DONE)
		return -1;
	return pl_dir_user_badges_add(d, u, err);
}

int pl_dir_user_badges_add(pl_dir_t *d, const pl_dir_user_t *u, pl_err_t *err)
{
	char owner[128], masked[BADGE_LEN_MAX + 1];
	for (int i = 0; i < u->nbadges; i++) {
		int rc = pl_dir_child_insert(d,
					     "INSERT INTO badges(badge_id, username, pos)"
					     " VALUES(?2, ?1, ?3)",
					     u->username, u->badges[i], i, "put user badges", err);
		if (rc == SQLITE_DONE)
			continue;
		if (rc != SQLITE_CONSTRAINT_PRIMARYKEY)
			return -1;
		rc = pl_dir_badge_owner(d, u->badges[i], owner, sizeof(owner), err);
		if (rc < 0)
			return -1;
		if (rc == 0 && strcmp(owner, u->username) == 0)
			continue; /* listed twice */
		pl_badge_mask(u->badges[i], masked, sizeof(masked));
		return pl_dir_fail(err, "badge %s already belongs to %s", masked,
				   rc == 0 ? owner : "another user");
	}
	return 0;
}

static int user_store(pl_dir_t *d, const pl_dir_user_t *u, const char *hash,
		      int keep, int replace, pl_err_t *err)
{
	if (pl_dir_begin(d, 1, "put user", err) < 0)
		return -1;
	int rc = replace ? pl_dir_user_local_only(d, u->username, err) : 0;
	if (rc == 0)
		rc = user_row_put(d, u, hash, keep, replace, err);
	if (rc == 0)
		rc = pl_dir_user_emails_put(d, u, err);
	if (rc == 0)
		rc = pl_dir_user_badges_put(d, u, err);
	return pl_dir_end(d, rc, "put user", err);
}

int pl_dir_user_put(pl_dir_t *d, const pl_dir_user_t *u, const char *pin,
		    int replace, pl_err_t *err)
{
	char hash[PIN_HASH_MAX];
	if (!u)
		return pl_dir_fail(err, "put user: no user");
	if (pl_dir_user_check(u, err) < 0)
		return -1;
	if (pin && *pin && !valid_pin(pin))
		return pl_dir_fail(err, PIN_RULE);
	/* The slow hash before taking the lock. */
	if (pin && *pin && pl_dir_secret_hash(pin, hash, PIN_WHAT, err) < 0)
		return -1;
	pl_dir_lock(d);
	int rc = user_store(d, u, pin && *pin ? hash : NULL, pin == NULL,
			    replace, err);
	pl_dir_unlock(d);
	OPENSSL_cleanse(hash, sizeof(hash));
	return rc;
}

/* ---- get and list ---- */

#define USER_COLUMNS \
	"SELECT username, display_name, groups, pin_hash IS NOT NULL, source," \
	" created_ms, updated_ms, external_id, pin_mark FROM users"

static void user_from_row(sqlite3_stmt *st, void *elem)
{
	pl_dir_user_t *u = elem;
	memset(u, 0, sizeof(*u));
	pl_strlcpy(u->username, pl_dir_col_text(st, 0), sizeof(u->username));
	pl_strlcpy(u->display_name, pl_dir_col_text(st, 1),
		   sizeof(u->display_name));
	pl_strlcpy(u->groups, pl_dir_col_text(st, 2), sizeof(u->groups));
	u->has_pin = sqlite3_column_int(st, 3) != 0;
	pl_strlcpy(u->source, pl_dir_col_text(st, 4), sizeof(u->source));
	u->created_ms = sqlite3_column_int64(st, 5);
	u->updated_ms = sqlite3_column_int64(st, 6);
	pl_strlcpy(u->external_id, pl_dir_col_text(st, 7), sizeof(u->external_id));
	pl_strlcpy(u->pin_mark, pl_dir_col_text(st, 8), sizeof(u->pin_mark));
}

static void add_email(pl_dir_user_t *u, const char *e)
{
	if (u->nemails < PL_DIR_MAX_EMAILS)
		pl_strlcpy(u->emails[u->nemails++], e, sizeof(u->emails[0]));
}

static void add_badge(pl_dir_user_t *u, const char *b)
{
	if (u->nbadges < PL_DIR_MAX_BADGES)
		pl_strlcpy(u->badges[u->nbadges++], b, sizeof(u->badges[0]));
}

/* Rows (username, value) ordered by username, merged into users (sorted
 * by username too, or a single user). Children come in the order they
 * were put (pos: their place in the user's list). */
static int children_fill(pl_dir_t *d, const char *sql, const char *username,
			 pl_dir_user_t *users, size_t n,
			 void (*add)(pl_dir_user_t *, const char *),
			 const char *what, pl_err_t *err)
{
	sqlite3_stmt *st = pl_dir_prepare(d, sql, err);
	if (!st)
		return -1;
	int rc = SQLITE_OK;
	if (username && pl_dir_bind_text(st, 1, username) < 0)
		rc = SQLITE_ERROR;
	size_t i = 0;
	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *owner = pl_dir_col_text(st, 0);
		while (i < n && strcmp(users[i].username, owner) < 0)
			i++;
		if (i < n && strcmp(users[i].username, owner) == 0)
			add(&users[i], pl_dir_col_text(st, 1));
		rc = SQLITE_OK;
	}
	if (rc != SQLITE_DONE)
		pl_dir_sqlfail(d, err, what);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int user_children(pl_dir_t *d, const char *username,
			 pl_dir_user_t *users, size_t n, pl_err_t *err)
{
	const char *what = username ? "get user" : "list users";
	const char *emails = username
		? "SELECT username, email FROM user_emails"
		  " WHERE username = ?1 ORDER BY pos"
		: "SELECT username, email FROM user_emails ORDER BY username, pos";
	const char *badges = username
		? "SELECT username, badge_id FROM badges"
		  " WHERE username = ?1 ORDER BY pos"
		: "SELECT username, badge_id FROM badges ORDER BY username, pos";
	if (children_fill(d, emails, username, users, n, add_email, what, err) < 0 ||
	    children_fill(d, badges, username, users, n, add_badge, what, err) < 0)
		return -1;
	return 0;
}

static int user_select(pl_dir_t *d, const char *username, pl_dir_user_t *out,
		       pl_err_t *err)
{
	sqlite3_stmt *st = pl_dir_prepare(d, USER_COLUMNS " WHERE username = ?1",
					  err);
	if (!st)
		return -1;
	int rc = pl_dir_bind_text(st, 1, username) < 0 ? SQLITE_ERROR
						       : sqlite3_step(st);
	if (rc == SQLITE_ROW)
		user_from_row(st, out);
	else if (rc != SQLITE_DONE)
		pl_dir_sqlfail(d, err, "get user");
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? 1 : -1;
	return user_children(d, username, out, 1, err);
}

int pl_dir_user_get(pl_dir_t *d, const char *username, pl_dir_user_t *out,
		    pl_err_t *err)
{
	pl_dir_user_t u;
	if (!valid_username(username))
		return pl_dir_fail(err, "invalid user name");
	pl_dir_lock(d);
	int rc = pl_dir_begin(d, 0, "get user", err);
	if (rc == 0)
		rc = pl_dir_end(d, user_select(d, username, &u, err), "get user",
				err);
	pl_dir_unlock(d);
	if (rc == 0 && out)
		*out = u;
	return rc;
}

/* source: NULL for every user; else spliced into the statement, so
 * only our own constants ("ldap", "scim") are accepted. */
static int user_list_where(pl_dir_t *d, const char *source, pl_dir_user_t **out, size_t *n,
			   pl_err_t *err)
{
	void *arr = NULL;
	size_t cnt = 0;
	const char *sql = USER_COLUMNS " ORDER BY username";
	*out = NULL;
	*n = 0;
	if (source && strcmp(source, "ldap") == 0)
		sql = USER_COLUMNS " WHERE source = 'ldap' ORDER BY username";
	else if (source && strcmp(source, "scim") == 0)
		sql = USER_COLUMNS " WHERE source = 'scim' ORDER BY username";
	else if (source)
		return pl_dir_fail(err, "list users: unknown source");
	pl_dir_lock(d);
	int rc = pl_dir_begin(d, 0, "list users", err);
	if (rc == 0) {
		rc = pl_dir_collect(d, sql,
				    sizeof(pl_dir_user_t), user_from_row, &arr,
				    &cnt, "list users", err);
		if (rc == 0)
			rc = user_children(d, NULL, arr, cnt, err);
		rc = pl_dir_end(d, rc, "list users", err);
	}
	pl_dir_unlock(d);
	if (rc < 0) {
		free(arr);
		return -1;
	}
	*out = arr;
	*n = cnt;
	return 0;
}

int pl_dir_user_list(pl_dir_t *d, pl_dir_user_t **out, size_t *n, pl_err_t *err)
{
	return user_list_where(d, NULL, out, n, err);
}

int pl_dir_user_list_source(pl_dir_t *d, const char *source, pl_dir_user_t **out,
			    size_t *n, pl_err_t *err)
{
	return user_list_where(d, source ? source : "", out, n, err);
}

/* A children cursor (username, value rows ordered by username) stepped
 * along with the users. */
typedef struct {
	sqlite3_stmt *st;
	int rc; /* SQLITE_ROW: a row is current */
} child_cur_t;

static void child_take(child_cur_t *c, pl_dir_user_t *u,
		       void (*add)(pl_dir_user_t *, const char *))
{
	while (c->rc == SQLITE_ROW) {
		int cmp = strcmp(pl_dir_col_text(c->st, 0), u->username);
		if (cmp > 0)
			break;
		if (cmp == 0)
			add(u, pl_dir_col_text(c->st, 1));
		c->rc = sqlite3_step(c->st);
	}
}

static int each_source(pl_dir_t *d, const char *sql, pl_dir_user_fn fn, void *arg,
		       pl_err_t *err)
{
	pl_dir_user_t *u = malloc(sizeof(*u));
	sqlite3_stmt *st = pl_dir_prepare(d, sql, err);
	child_cur_t em = { pl_dir_prepare(d, "SELECT username, email FROM user_emails"
					  " ORDER BY username, pos", err), SQLITE_DONE };
	child_cur_t bd = { pl_dir_prepare(d, "SELECT username, badge_id FROM badges"
					  " ORDER BY username, pos", err), SQLITE_DONE };
	int rc = u && st && em.st && bd.st ? SQLITE_OK : SQLITE_ERROR, stop = 0;
	if (rc == SQLITE_OK) {
		em.rc = sqlite3_step(em.st);
		bd.rc = sqlite3_step(bd.st);
	}
	while (rc == SQLITE_OK && !stop && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		user_from_row(st, u);
		child_take(&em, u, add_email);
		child_take(&bd, u, add_badge);
		stop = fn(arg, u);
		rc = SQLITE_OK;
	}
	int bad = (rc != SQLITE_DONE && !stop) || (em.rc != SQLITE_ROW && em.rc != SQLITE_DONE) ||
		  (bd.rc != SQLITE_ROW && bd.rc != SQLITE_DONE);
	if (bad && !u)
		pl_dir_fail(err, "out of memory");
	else if (bad && (!err || !err->msg[0]))
		pl_dir_sqlfail(d, err, "list users");
	sqlite3_finalize(st);
	sqlite3_finalize(em.st);
	sqlite3_finalize(bd.st);
	free(u);
	return bad ? -1 : stop;
}

int pl_dir_user_each_source(pl_dir_t *d, const char *source, pl_dir_user_fn fn, void *arg,
			    pl_err_t *err)
{
	const char *sql;
	if (source && strcmp(source, "ldap") == 0)
		sql = USER_COLUMNS " WHERE source = 'ldap' ORDER BY username";
	else if (source && strcmp(source, "scim") == 0)
		sql = USER_COLUMNS " WHERE source = 'scim' ORDER BY username";
	else
		return pl_dir_fail(err, "list users: unknown source");
	pl_dir_lock(d);
	int rc = pl_dir_begin(d, 0, "list users", err);
	if (rc == 0) {
		rc = each_source(d, sql, fn, arg, err);
		rc = pl_dir_end(d, rc < 0 ? -1 : 0, "list users", err) < 0 ? -1 : rc;
	}
	pl_dir_unlock(d);
	return rc;
}

int pl_dir_user_keys_source(pl_dir_t *d, const char *source, pl_dir_key_fn fn, void *arg,
			    pl_err_t *err)
{
	if (!source || (strcmp(source, "ldap") != 0 && strcmp(source, "scim") != 0))
		return pl_dir_fail(err, "list users: unknown source");
	pl_dir_lock(d);
	int rc = pl_dir_begin(d, 0, "list users", err), stop = 0;
	sqlite3_stmt *st = rc == 0 ? pl_dir_prepare(d, "SELECT external_id, username FROM users"
						   " WHERE source = ?1", err)
				   : NULL;
	if (st && pl_dir_bind_text(st, 1, source) == 0) {
		int r;
		while (!stop && (r = sqlite3_step(st)) == SQLITE_ROW)
			stop = fn(arg, pl_dir_col_text(st, 0), pl_dir_col_text(st, 1));
		if (!stop && r != SQLITE_DONE)
			rc = pl_dir_sqlfail(d, err, "list users");
	} else if (rc == 0) {
		rc = st ? pl_dir_sqlfail(d, err, "list users") : -1;
	}
	sqlite3_finalize(st);
	if (rc == 0 || rc == -1)
		rc = pl_dir_end(d, rc, "list users", err);
	pl_dir_unlock(d);
	return rc < 0 ? -1 : stop;
}

/* ---- delete, badge look-up ---- */

int pl_dir_user_del(pl_dir_t *d, const char *username, pl_err_t *err)
{
	if (!valid_username(username))
		return pl_dir_fail(err, "invalid user name");
	pl_dir_lock(d);
	/* emails and badges go with the user (ON DELETE CASCADE) */
	int rc = pl_dir_user_local_only(d, username, err);
	if (rc == 0)
		rc = run_text2(d, "DELETE FROM users WHERE username = ?1", username,
			       NULL, "delete user", err) == SQLITE_DONE
			     ? 0
			     : -1;
	if (rc == 0 && sqlite3_changes(d->db) == 0)
		rc = pl_dir_fail(err, "no user named %s", username);
	pl_dir_unlock(d);
	return rc;
}

int pl_dir_badge_user(pl_dir_t *d, const char *badge, char *username,
		      size_t usz, pl_err_t *err)
{
	char owner[128] = "";
	if (!valid_badge(badge))
		return pl_dir_fail(err, "invalid badge ID");
	pl_dir_lock(d);
	int rc = pl_dir_badge_owner(d, badge, owner, sizeof(owner), err);
	pl_dir_unlock(d);
	if (rc == 0 && username && usz)
		pl_strlcpy(username, owner, usz);
	return rc;
}

/* ---- PINs ---- */

/* The stored hash: 0 (copied), 1 user absent or without a PIN, -1 error. */
static int pin_hash_get(pl_dir_t *d, const char *username,
			char out[PIN_HASH_MAX], pl_err_t *err)
{
	sqlite3_stmt *st = pl_dir_prepare(
		d, "SELECT pin_hash FROM users WHERE username = ?1", err);
	if (!st)
		return -1;
	int rc = pl_dir_bind_text(st, 1, username) < 0 ? SQLITE_ERROR
						       : sqlite3_step(st);
	int found = 1;
	if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
		found = pl_strlcpy(out, pl_dir_col_text(st, 0), PIN_HASH_MAX) <
				PIN_HASH_MAX
			? 0
			: pl_dir_fail(err, "PIN: stored hash is malformed");
	else if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		found = pl_dir_sqlfail(d, err, "check PIN");
	sqlite3_finalize(st);
	return found;
}

int pl_dir_pin_check(pl_dir_t *d, const char *username, const char *pin,
		     pl_err_t *err)
{
	char stored[PIN_HASH_MAX];
	if (!valid_username(username))
		return pl_dir_fail(err, "invalid user name");
	if (!pin || !valid_pin(pin))
		return 0; /* could never have been set */
	pl_dir_lock(d);
	int rc = pin_hash_get(d, username, stored, err);
	pl_dir_unlock(d);
	if (rc < 0)
		return -1;
	/* The slow part outside the lock; a user absent or without a PIN
	 * costs the same time as a wrong PIN (no enumeration by timing). */
	int ok = pl_dir_secret_verify(pin, rc == 0 ? stored : NULL, PIN_WHAT,
				      err);
	OPENSSL_cleanse(stored, sizeof(stored));
	return ok;
}

int pl_dir_pin_set(pl_dir_t *d, const char *username, const char *pin,
		   pl_err_t *err)
{
	char hash[PIN_HASH_MAX];
	int clear = !pin || !*pin;
	if (!valid_username(username))
		return pl_dir_fail(err, "invalid user name");
	if (!clear && !valid_pin(pin))
		return pl_dir_fail(err, PIN_RULE);
	if (!clear && pl_dir_secret_hash(pin, hash, PIN_WHAT, err) < 0)
		return -1;
	pl_dir_lock(d);
	sqlite3_stmt *st = pl_dir_prepare(
		d,
		/* set here, the PIN is no longer the source's */
		"UPDATE users SET pin_hash = ?2, pin_mark = NULL, updated_ms = ?3"
		" WHERE username = ?1",
		err);
	int rc = -1;
	if (st) {
		if (pl_dir_bind_text(st, 1, username) < 0 ||
		    (clear ? sqlite3_bind_null(st, 2) != SQLITE_OK
			   : pl_dir_bind_text(st, 2, hash) < 0) ||
		    sqlite3_bind_int64(st, 3, pl_dir_now_ms()) != SQLITE_OK) {
			pl_dir_sqlfail(d, err, "set PIN");
			sqlite3_finalize(st);
		} else if (pl_dir_run(d, st, "set PIN", err) == SQLITE_DONE) {
			rc = sqlite3_changes(d->db) == 1
				     ? 0
				     : pl_dir_fail(err, "no user named %s", username);
		}
	}
	pl_dir_unlock(d);
	OPENSSL_cleanse(hash, sizeof(hash));
	return rc;
}

int pl_dir_pin_hash(const char *pin, char out[PL_DIR_PIN_HASH_MAX], pl_err_t *err)
{
	if (!pl_dir_pin_valid(pin))
		return pl_dir_fail(err, PIN_RULE);
	return pl_dir_secret_hash(pin, out, PIN_WHAT, err);
}
