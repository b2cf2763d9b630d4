/* pl_directory: open and migrations, printers, workstation tokens, users,
 * badges, PINs, badge readers, console administrators, the CSV user
 * import, and two connections at once. Each test gets its own mkdtemp
 * directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "directory-private.h" /* d->db, to check the pragmas we set */
#include "pl_directory.h"
#include "pl_dirbody.h"
/* The current schema version as text: migrations are appended in
 * parallel branches, so no test names the number itself. */
#define DIR_V_(x) #x
#define DIR_V_S(x) DIR_V_(x)
#define DIR_V DIR_V_S(PL_DIR_SCHEMA_VERSION)
#include "pl_util.h"

typedef struct {
	char dir[64];
	char db[128]; /* <dir>/state/directory/directory.db */
} fixture_t;

static int rm_entry(const char *p, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static int setup(void **state)
{
	fixture_t *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	pl_strlcpy(f->dir, "/tmp/plsc-dirtest-XXXXXX", sizeof(f->dir));
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->db, sizeof(f->db), "%s/state/directory/directory.db", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture_t *f = *state;
	nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static pl_dir_t *open_rw(const fixture_t *f)
{
	pl_dir_t *d = NULL;
	pl_err_t err = { "" };
	if (pl_dir_open(&d, f->db, 0, &err) < 0)
		fail_msg("open %s: %s", f->db, err.msg);
	return d;
}

/* A plain SQLite connection, as another tool (or an attacker) would have. */
static sqlite3 *raw_open(const fixture_t *f)
{
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	return db;
}

static int raw_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	int v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

static void raw_exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
}

static pl_dir_printer_t printer(const char *name, const char *uri)
{
	pl_dir_printer_t p;
	memset(&p, 0, sizeof(p));
	pl_strlcpy(p.name, name, sizeof(p.name));
	pl_strlcpy(p.uri, uri, sizeof(p.uri));
	pl_strlcpy(p.location, "2nd floor", sizeof(p.location));
	pl_strlcpy(p.formats, "application/pdf", sizeof(p.formats));
	return p;
}

/* ---- open, pragmas, migrations ---- */

static void test_open_creates(void **state)
{
	fixture_t *f = *state;
	char parent[128];
	struct stat st;
	pl_dir_t *d = open_rw(f);
	assert_int_equal(pl_dir_schema_version(d), PL_DIR_SCHEMA_VERSION);
	pl_dir_close(d);
	/* parent created 0750 (or tighter under the umask), file not
	 * world-readable */
	snprintf(parent, sizeof(parent), "%s/state/directory", f->dir);
	assert_int_equal(stat(parent, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 0027, 0);
	assert_int_equal(stat(f->db, &st), 0);
	assert_int_equal(st.st_mode & 0007, 0);
}

static void test_pragmas(void **state)
{
	fixture_t *f = *state;
	pl_dir_t *d = open_rw(f);
	assert_int_equal(raw_int(d->db, "PRAGMA synchronous"), 2); /* FULL */
	assert_int_equal(raw_int(d->db, "PRAGMA foreign_keys"), 1);
	assert_int_equal(raw_int(d->db, "PRAGMA busy_timeout"), 5000);
	/* WAL is a property of the file: another connection sees it. */
	sqlite3 *raw = raw_open(f);
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_prepare_v2(raw, "PRAGMA journal_mode", -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	sqlite3_close(raw);
	pl_dir_close(d);
}

static void test_reopen_keeps_data(void **state)
{
	fixture_t *f = *state;
	char tok[PL_TOKEN_MAX], ws[128];
	pl_dir_printer_t p = printer("hp-1", "socket://10.0.0.5:9100"), got;
	pl_dir_t *d = open_rw(f);
	assert_int_equal(pl_dir_printer_add(d, &p, 0, NULL), 0);
	assert_int_equal(pl_dir_token_create(d, "ws-01", tok, NULL), 0);
	pl_dir_close(d);
	d = open_rw(f);
	assert_int_equal(pl_dir_printer_get(d, "hp-1", &got, NULL), 0);
	assert_string_equal(got.uri, "socket://10.0.0.5:9100");
	assert_string_equal(got.location, "2nd floor");
	assert_string_equal(got.formats, "application/pdf");
	assert_int_equal(pl_dir_token_verify(d, tok, ws, sizeof(ws), NULL), 1);
	assert_string_equal(ws, "ws-01");
	pl_dir_close(d);
}

static void test_migrations_once(void **state)
{
	fixture_t *f = *state;
	pl_dir_close(open_rw(f));
	sqlite3 *raw = raw_open(f);
	assert_int_equal(raw_int(raw, "PRAGMA user_version"), PL_DIR_SCHEMA_VERSION);
	int objects = raw_int(raw, "SELECT count(*) FROM sqlite_schema");
	/* A marker row: re-running migration 1 would fail on CREATE TABLE,
	 * and a rebuilt table would lose the row. */
	raw_exec(raw, "INSERT INTO printers(name, uri, created_ms)"
		      " VALUES('marker', 'ipp://m/', 1)");
	sqlite3_close(raw);
	for (int i = 0; i < 3; i++)
		pl_dir_close(open_rw(f));
	raw = raw_open(f);
	assert_int_equal(raw_int(raw, "PRAGMA user_version"), PL_DIR_SCHEMA_VERSION);
	assert_int_equal(raw_int(raw, "SELECT count(*) FROM sqlite_schema"), objects);
	assert_int_equal(raw_int(raw, "SELECT count(*) FROM printers"), 1);
	sqlite3_close(raw);
}

static void test_newer_version_refused(void **state)
{
	fixture_t *f = *state;
	pl_err_t err = { "" };
	pl_dir_t *d = NULL;
	pl_dir_close(open_rw(f));
	sqlite3 *raw = raw_open(f);
	raw_exec(raw, "PRAGMA user_version = 99");
	sqlite3_close(raw);
	assert_int_equal(pl_dir_open(&d, f->db, 0, &err), -1);
	assert_null(d);
	assert_non_null(strstr(err.msg, "directory.db has schema version 99, "
					"this program knows up to " DIR_V ": "
					"upgrade the Service Client"));
	err.msg[0] = '\0';
	assert_int_equal(pl_dir_open(&d, f->db, 1, &err), -1);
	assert_non_null(strstr(err.msg, "has schema version 99"));
	/* and nothing was changed */
	raw = raw_open(f);
	assert_int_equal(raw_int(raw, "PRAGMA user_version"), 99);
	sqlite3_close(raw);
}

static void test_readonly_missing(void **state)
{
	fixture_t *f = *state;
	pl_err_t err = { "" };
	pl_dir_t *d = NULL;
	struct stat st;
	assert_int_equal(pl_dir_open(&d, f->db, 1, &err), -1);
	assert_null(d);
	assert_non_null(strstr(err.msg, f->db));
	assert_non_null(strstr(err.msg, "does not exist"));
	assert_int_not_equal(stat(f->db, &st), 0);
}

/* A file at version 0 (empty) cannot be read by this program, and a
 * read-only open must not migrate it. */
static void test_readonly_old_version(void **state)
{
	fixture_t *f = *state;
	pl_err_t err = { "" };
	pl_dir_t *d = NULL;
	char dir[128];
	snprintf(dir, sizeof(dir), "%s/state/directory", f->dir);
	assert_int_equal(pl_mkdir_p(dir, 0750), 0);
	assert_int_equal(pl_write_file_atomic(f->db, "", 0, 0640), 0);
	assert_int_equal(pl_dir_open(&d, f->db, 1, &err), -1);
	assert_non_null(strstr(err.msg, "has schema version 0, this program needs " DIR_V));
	sqlite3 *raw = raw_open(f);
	assert_int_equal(raw_int(raw, "PRAGMA user_version"), 0);
	sqlite3_close(raw);
}

static void test_readonly_open(void **state)
{
	fixture_t *f = *state;
	pl_err_t err = { "" };
	pl_dir_t *d = open_rw(f), *ro = NULL;
	pl_dir_printer_t p = printer("lobby", "ipp://lobby/ipp/print"), got;
	pl_dir_printer_t *list = NULL;
	size_t n = 0;
	assert_int_equal(pl_dir_printer_add(d, &p, 0, NULL), 0);
	/* the CLI reads while the service has it open */
	assert_int_equal(pl_dir_open(&ro, f->db, 1, &err), 0);
	assert_int_equal(pl_dir_printer_get(ro, "lobby", &got, &err), 0);
	assert_string_equal(got.uri, "ipp://lobby/ipp/print");
	pl_dir_close(ro);
	pl_dir_close(d); /* the last connection out removes -wal and -shm */
	assert_int_equal(pl_dir_open(&ro, f->db, 1, &err), 0);
	assert_int_equal(pl_dir_printer_list(ro, &list, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(list[0].name, "lobby");
	free(list);
	p = printer("other", "ipp://other/");
	assert_int_equal(pl_dir_printer_add(ro, &p, 0, &err), -1);
	assert_non_null(strstr(err.msg, "readonly"));
	pl_dir_close(ro);
}

static void test_not_a_database(void **state)
{
	fixture_t *f = *state;
	pl_err_t err = { "" };
	pl_dir_t *d = NULL;
	char dir[128];
	snprintf(dir, sizeof(dir), "%s/state/directory", f->dir);
	assert_int_equal(pl_mkdir_p(dir, 0750), 0);
	const char junk[] = "this is not an SQLite database, it is a text file\n";
	assert_int_equal(pl_write_file_atomic(f->db, junk, sizeof(junk), 0640), 0);
	assert_int_equal(pl_dir_open(&d, f->db, 0, &err), -1);
	assert_non_null(strstr(err.msg, "not a database"));
}

/* ---- printers ---- */

static void test_printers_crud(void **state)
{
	fixture_t *f = *state;
	pl_err_t err = { "" };
	pl_dir_t *d = open_rw(f);
	pl_dir_printer_t *list = NULL, got;
	size_t n = 99;
	assert_int_equal(pl_dir_printer_list(d, &list, &n, &err), 0);
	assert_int_equal(n, 0);
	free(list);
	const char *names[] = { "zeta", "Alpha.2", "mid_1", "b-3" };
	for (size_t i = 0; i < PL_ARRAY_LEN(names); i++) {
		pl_dir_printer_t p = printer(names[i], "ipps://printer.example/ipp");
		assert_int_equal(pl_dir_printer_add(d, &p, 0, &err), 0);
	}
	assert_int_equal(pl_dir_printer_get(d, "mid_1", &got, &err), 0);
	assert_string_equal(got.name, "mid_1");
	assert_string_equal(got.uri, "ipps://printer.example/ipp");
	assert_int_equal(pl_dir_printer_get(d, "nope", &got, &err), 1);
	assert_int_equal(pl_dir_printer_list(d, &list, &n, &err), 0);
	assert_int_equal(n, 4);
	/* ordered by name (SQLite's binary collation) */
	assert_string_equal(list[0].name, "Alpha.2");
	assert_string_equal(list[1].name, "b-3");
	assert_string_equal(list[2].name, "mid_1");
	assert_string_equal(list[3].name, "zeta");
	free(list);
	assert_int_equal(pl_dir_printer_del(d, "b-3", &err), 0);
	assert_int_equal(pl_dir_printer_get(d, "b-3", &got, &err), 1);
	assert_int_equal(pl_dir_printer_del(d, "b-3", &err), -1);
	assert_non_null(strstr(err.msg, "no printer named b-3"));
	assert_int_equal(pl_dir_printer_list(d, &list, &n, &err), 0);
	assert_int_equal(n, 3);
	free(list);
	pl_dir_close(d);
}

static void test_printer_duplicate(void **state)
{
	fixture_t *f = *state;
	pl_err_t err = { "" };
	pl_dir_t *d = open_rw(f);
	pl_dir_printer_t p = printer("hp-1", "socket://10.0.0.5:9100"), got;
	assert_int_equal(pl_dir_printer_add(d, &p, 0, &err), 0);
	pl_strlcpy(p.uri, "socket://10.0.0.6:9100", sizeof(p.uri));
	p.location[0] = '\0';
	assert_int_equal(pl_dir_printer_add(d, &p, 0, &err), -1);
	assert_non_null(strstr(err.msg, "printer hp-1 already exists"));
	assert_int_equal(pl_dir_printer_get(d, "hp-1", &got, NULL), 0);
	assert_string_equal(got.uri, "socket://10.0.0.5:9100");
	assert_int_equal(pl_dir_printer_add(d, &p, 1, &err), 0);
	assert_int_equal(pl_dir_printer_get(d, "hp-1", &got, NULL), 0);
	assert_string_equal(got.uri, "socket://10.0.0.6:9100");
	assert_string_equal(got.location, "");
	pl_dir_close(d);
}

static void test_printer_invalid(void **state)
{
	fixture_t *f = *state;
	pl_err_t err = { "" };
	pl_dir_t *d = open_rw(f);
	pl_dir_printer_t p, got;
	char longname[129];
	const char *bad[] = { "", "a b", "x/y", "semi;colon", "quote'", "\xc3\xbc",
			      "tab\t", "name%" };
	for (size_t i = 0; i < PL_ARRAY_LEN(bad); i++) {
		p = printer(bad[i], "ipp://x/");
		err.msg[0] = '\0';
		assert_int_equal(pl_dir_printer_add(d, &p, 0, &err), -1);
		assert_string_equal(err.msg, "invalid printer name");
		assert_int_equal(pl_dir_printer_get(d, bad[i], &got, &err), -1);
		assert_int_equal(pl_dir_printer_del(d, bad[i], &err), -1);
	}
	memset(longname, 'n', 127);
	longname[127] = '\0';
	p = printer(longname, "ipp://x/");
	assert_int_equal(pl_dir_printer_add(d, &p, 0, &err), 0); /* 127: fine */
	assert_int_equal(pl_dir_printer_get(d, longname, &got, &err), 0);
	longname[127] = 'n';
	longname[128] = '\0';
	assert_int_equal(pl_dir_printer_get(d, longname, &got, &err), -1);
	assert_string_equal(err.msg, "invalid printer name");
	/* uri: empty, and filling its array (no room for a terminator) */
	p = printer("ok", "");
	assert_int_equal(pl_dir_printer_add(d, &p, 0, &err), -1);
	assert_non_null(strstr(err.msg, "empty uri"));
	memset(p.uri, 'u', sizeof(p.uri));
	assert_int_equal(pl_dir_printer_add(d, &p, 0, &err), -1);
	assert_non_null(strstr(err.msg, "uri too long"));
	memset(p.uri, 'u', sizeof(p.uri) - 1);
	p.uri[sizeof(p.uri) - 1] = '\0';
	assert_int_equal(pl_dir_printer_add(d, &p, 0, &err), 0); /* 511: fine */
	pl_dir_close(d);
}

/* ---- tokens ---- */

static void test_token_create_verify(void **state)
{
	fixture_t *f = *state;
	pl_err_t err = { "" };
	char tok[PL_TOKEN_MAX], ws[128] = "";
	pl_dir_t *d = open_rw(f);
	assert_int_equal(pl_dir_token_create(d, "WS-ACCT-07.corp", tok, &err), 0);
	/* plsc_ + 8 hex + _ + 43 base64url */
	assert_int_equal(strlen(tok), 5 + 8 + 1 + 43);
	assert_memory_equal(tok, "plsc_", 5);
	assert_int_equal(strspn(tok + 5, "0123456789abcdef"), 8);
	assert_int_equal(tok[13], '_');
	assert_int_equal(strspn(tok + 14, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
					  "0123456789-_"),
			 43);
	assert_int_equal(pl_dir_token_verify(d, tok, ws, sizeof(ws), &err), 1);
	assert_string_equal(ws, "WS-ACCT-07.corp");
	/* a small buffer is truncated, not overrun */
	char small[4];
	assert_int_equal(pl_dir_token_verify(d, tok, small, sizeof(small), &err), 1);
	assert_string_equal(small, "WS-");
	/* a second token differs in both id and secret */
	char tok2[PL_TOKEN_MAX];
	assert_int_equal(pl_dir_token_create(d, "WS-ACCT-07.corp", tok2, &err), 0);
	assert_memory_not_equal(tok, tok2, 13);
	assert_string_not_equal(tok + 14, tok2 + 14);
	pl_dir_close(d);
}

static void test_token_wrong_secret(void **state)
{
	fixture_t *f = *state;
	pl_err_t err = { "" };
	char tok[PL_TOKEN_MAX], ws[128] = "untouched";
	pl_dir_t *d = open_rw(f);
	assert_int_equal(pl_dir_token_create(d, "ws-01", tok, &err), 0);
	/* one character of the secret changed, still well-formed */
	char orig = tok[20];
	tok[20] = orig == 'A' ? 'B' : 'A';
	assert_int_equal(pl_dir_token_verify(d, tok, ws, sizeof(ws), &err), 0);
	assert_string_equal(ws, "untouched");
	/* the right secret under another (unknown) id */
	tok[20] = orig;
	assert_int_equal(pl_dir_token_verify(d, tok, NULL, 0, &err), 1);
	tok[5] = tok[5] == '0' ? '1' : '0';
	assert_int_equal(pl_dir_token_verify(d, tok, NULL, 0, &err), 0);
	pl_dir_close(d);
}

static void test_token_malformed(void **state)
{
	fixture_t *f = *state;
	pl_err_t err = { "" };
	char tok[PL_TOKEN_MAX], bad[PL_TOKEN_MAX + 16];
	pl_dir_t *d = open_rw(f);
	assert_int_equal(pl_dir_token_create(d, "ws-01", tok, &err), 0);
	const char *id = tok + 5, *sec = tok + 14;
	const char *fixed[] = {
		"", "plsc", "plsc_", "plsc__", "plsctoken", "garbage", "plsc_abc",
	};
	for (size_t i = 0; i < PL_ARRAY_LEN(fixed); i++)
		assert_int_equal(pl_dir_token_verify(d, fixed[i], NULL, 0, &err), 0);
	assert_int_equal(pl_dir_token_verify(d, NULL, NULL, 0, &err), 0);
	/* Each variant below is the good token with one defect. */
	const char *fmts[] = {
		"PLSC_%.8s_%s",     /* prefix case */
		"plsc%.8s_%s",      /* no underscore after prefix */
		"plsc_%.8s%s",      /* no underscore after id */
		"plsc_%.7s_%s",     /* short id */
		"plsc_%.8s0_%s",    /* long id */
		"plsc_%.8s_%s_x",   /* extra part */
		"plsc_%.8s_%s=",    /* padding */
		"x_plsc_%.8s_%s",   /* leading junk */
		"plsc_%.8s_%.42s",  /* short secret */
		"plsc_%.8s_%sAAAA", /* long secret */
		"plsc_%.8s_%s ",    /* trailing space */
	};
	for (size_t i = 0; i < PL_ARRAY_LEN(fmts); i++) {
		snprintf(bad, sizeof(bad), fmts[i], id, sec);
		if (pl_dir_token_verify(d, bad, NULL, 0, &err) != 0)
			fail_msg("accepted %s", bad);
	}
	/* right length, separator replaced */
	pl_strlcpy(bad, tok, sizeof(bad));
	bad[13] = 'x';
	assert_int_equal(pl_dir_token_verify(d, bad, NULL, 0, &err), 0);
	pl_strlcpy(bad, tok, sizeof(bad));
	bad[4] = '-';
	assert_int_equal(pl_dir_token_verify(d, bad, NULL, 0, &err), 0);
	/* non-hex and uppercase id */
	pl_strlcpy(bad, tok, sizeof(bad));
	bad[6] = 'g';
	assert_int_equal(pl_dir_token_verify(d, bad, NULL, 0, &err), 0);
	pl_strlcpy(bad, tok, sizeof(bad));
	memcpy(bad + 5, "ABCDEF12", 8);
	assert_int_equal(pl_dir_token_verify(d, bad, NULL, 0, &err), 0);
	/* bad base64: standard alphabet, and a non-canonical last character
	 * (it must carry two zero bits) */
	pl_strlcpy(bad, tok, sizeof(bad));
	bad[20] = '+';
	assert_int_equal(pl_dir_token_verify(d, bad, NULL, 0, &err), 0);
	bad[20] = '/';
	assert_int_equal(pl_dir_token_verify(d, bad, NULL, 0, &err), 0);
	pl_strlcpy(bad, tok, sizeof(bad));
	const char *alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t last = strlen(bad) - 1;
	bad[last] = alpha[(strchr(alpha, bad[last]) - alpha) | 1];
	assert_int_equal(pl_dir_token_verify(d, bad, NULL, 0, &err), 0);
	/* the good one still works */
	assert_int_equal(pl_dir_token_verify(d, tok, NULL, 0, &err), 1);
	pl_dir_close(d);
}

static void test_token_revoke_workstation(void **state)
{
	fixture_t *f = *state;
	pl_err_t err = { "" };
	char a1[PL_TOKEN_MAX], a2[PL_TOKEN_MAX], b[PL_TOKEN_MAX], ws[128];
	pl_dir_t *d = open_rw(f);
	assert_int_equal(pl_dir_token_create(d, "ws-a", a1, &err), 0);
	assert_int_equal(pl_dir_token_create(d, "ws-a", a2, &err), 0);
	assert_int_equal(pl_dir_token_create(d, "ws-b", b, &err), 0);
	assert_int_equal(pl_dir_token_revoke(d, "ws-a", &err), 0);
	assert_int_equal(pl_dir_token_verify(d, a1, NULL, 0, &err), 0);
	assert_int_equal(pl_dir_token_verify(d, a2, NULL, 0, &err), 0);
	assert_int_equal(pl_dir_token_verify(d, b, ws, sizeof(ws), &err), 1);
	assert_string_equal(ws, "ws-b");
	/* again: the tokens exist, revoked stays revoked */
	assert_int_equal(pl_dir_token_revoke(d, "ws-a", &err), 0);
	assert_int_equal(pl_dir_token_revoke(d, "nobody", &err), -1);
	assert_string_equal(err.msg, "no token for workstation nobody");
	assert_int_equal(pl_dir_token_revoke(d, "", &err), -1);
	assert_string_equal(err.msg, "invalid workstation name");
	pl_dir_close(d);
}

static void test_token_revoke_id(void **state)
{
	fixture_t *f = *state;
	pl_err_t err = { "" };
	char t1[PL_TOKEN_MAX], t2[PL_TOKEN_MAX], which[32];
	pl_dir_t *d = open_rw(f);
	assert_int_equal(pl_dir_token_create(d, "ws-a", t1, &err), 0);
	assert_int_equal(pl_dir_token_create(d, "ws-a", t2, &err), 0);
	snprintf(which, sizeof(which), "id:%.8s", t1 + 5);
	assert_int_equal(pl_dir_token_revoke(d, which, &err), 0);
	assert_int_equal(pl_dir_token_verify(d, t1, NULL, 0, &err), 0);
	assert_int_equal(pl_dir_token_verify(d, t2, NULL, 0, &err), 1);
	/* an id that is not there, and ids of the wrong shape */
	snprintf(which, sizeof(which), "id:%s",
		 memcmp(t2 + 5, "00000000", 8) ? "00000000" : "11111111");
	assert_int_equal(pl_dir_token_revoke(d, which, &err), -1);
	assert_non_null(strstr(err.msg, "no token with id"));
	const char *bad[] = { "id:", "id:1234567", "id:123456789", "id:ABCDEF12",
			      "id:zzzzzzzz" };
	for (size_t i = 0; i < PL_ARRAY_LEN(bad); i++) {
		assert_int_equal(pl_dir_token_revoke(d, bad[i], &err), -1);
		assert_non_null(strstr(err.msg, "invalid token id"));
	}
	assert_int_equal(pl_dir_token_verify(d, t2, NULL, 0, &err), 1);
	pl_dir_close(d);
}

static void test_workstation_invalid(void **state)
{
	fixture_t *f = *state;
	pl_err_t err = { "" };
	char tok[PL_TOKEN_MAX], longname[129];
	pl_dir_t *d = open_rw(f);
	memset(longname, 'w', 128);
	longname[128] = '\0';
	const char *bad[] = { "", "line\nbreak", "del\x7f", "\xc3\xa9t\xc3\xa9",
			      "id:deadbeef", longname };
	for (size_t i = 0; i < PL_ARRAY_LEN(bad); i++) {
		assert_int_equal(pl_dir_token_create(d, bad[i], tok, &err), -1);
		assert_string_equal(err.msg, "invalid workstation name");
	}
	assert_int_equal(pl_dir_token_create(d, NULL, tok, &err), -1);
	longname[127] = '\0';
	assert_int_equal(pl_dir_token_create(d, longname, tok, &err), 0);
	assert_int_equal(pl_dir_token_create(d, "Room 12 (front desk)", tok, &err), 0);
	pl_dir_close(d);
}

static void test_token_list(void **state)
{
	fixture_t *f = *state;
	pl_err_t err = { "" };
	char b1[PL_TOKEN_MAX], a1[PL_TOKEN_MAX], b2[PL_TOKEN_MAX], which[32];
	pl_dir_token_t *list = NULL;
	size_t n = 0;
	pl_dir_t *d = open_rw(f);
	assert_int_equal(pl_dir_token_create(d, "ws-b", b1, &err), 0);
	assert_int_equal(pl_dir_token_create(d, "ws-a", a1, &err), 0);
	assert_int_equal(pl_dir_token_create(d, "ws-b", b2, &err), 0);
	assert_int_equal(pl_dir_token_verify(d, b2, NULL, 0, &err), 1);
	snprintf(which, sizeof(which), "id:%.8s", b1 + 5);
	assert_int_equal(pl_dir_token_revoke(d, which, &err), 0);
	assert_int_equal(pl_dir_token_list(d, &list, &n, &err), 0);
	assert_int_equal(n, 3);
	/* by workstation, then by creation */
	assert_string_equal(list[0].workstation, "ws-a");
	assert_memory_equal(list[0].id, a1 + 5, 8);
	assert_int_equal(list[0].revoked, 0);
	assert_int_equal(list[0].last_used_ms, 0);
	assert_string_equal(list[1].workstation, "ws-b");
	assert_memory_equal(list[1].id, b1 + 5, 8);
	assert_int_equal(list[1].revoked, 1);
	assert_int_equal(list[1].last_used_ms, 0);
	assert_string_equal(list[2].workstation, "ws-b");
	assert_memory_equal(list[2].id, b2 + 5, 8);
	assert_int_equal(list[2].revoked, 0);
	assert_true(list[2].last_used_ms >= list[2].created_ms);
	assert_true(list[1].created_ms <= list[2].created_ms);
	int64_t now = (int64_t)time(NULL) * 1000;
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(strlen(list[i].id), 8);
		assert_true(list[i].created_ms > now - 60000 &&
			    list[i].created_ms < now + 60000);
	}
	free(list);
	pl_dir_close(d);
}

/* A token verified on a read-only handle (a service facing the network)
 * records no use; pl_dir_token_touch on a writer's handle (plsc-directory)
 * records it, at most once a minute, never for a revoked token. */
static void test_token_touch(void **state)
{
	fixture_t *f = *state;
	pl_err_t err = { "" };
	char tok[PL_TOKEN_MAX], id[PL_DIR_TOKEN_ID_LEN + 1], which[32];
	pl_dir_token_t *list = NULL;
	size_t n = 0;
	pl_dir_t *d = open_rw(f), *ro = NULL;
	assert_int_equal(pl_dir_token_create(d, "ws-t", tok, &err), 0);
	assert_int_equal(pl_dir_open(&ro, f->db, PL_DIR_READ, &err), 0);
	assert_int_equal(pl_dir_token_verify(ro, tok, NULL, 0, &err), 1);
	assert_int_equal(pl_dir_token_list(d, &list, &n, &err), 0);
	assert_int_equal(list[0].last_used_ms, 0);
	free(list);
	assert_int_equal(pl_dir_token_id(tok, id), 0);
	assert_memory_equal(id, tok + 5, 8);
	assert_int_equal(id[8], '\0');
	assert_int_equal(pl_dir_token_id("plsc_zz", id), -1);
	assert_int_equal(pl_dir_token_id(NULL, id), -1);
	assert_int_equal(pl_dir_token_touch(d, id, &err), 1);
	assert_int_equal(pl_dir_token_list(d, &list, &n, &err), 0);
	int64_t first = list[0].last_used_ms;
	assert_true(first >= list[0].created_ms);
	free(list);
	/* within the minute: not written again */
	assert_int_equal(pl_dir_token_touch(d, id, &err), 0);
	assert_int_equal(pl_dir_token_list(d, &list, &n, &err), 0);
	assert_int_equal(list[0].last_used_ms, first);
	free(list);
	assert_int_equal(pl_dir_token_touch(ro, id, &err), -1); /* read-only */
	assert_int_equal(pl_dir_token_touch(d, "0000000g", &err), -1);
	assert_non_null(strstr(err.msg, "invalid token id"));
	assert_int_equal(pl_dir_token_touch(d, "00000000", &err), -1);
	assert_string_equal(err.msg, "no token with id 00000000");
	/* a revoked token, never used: its use is not recorded */
	assert_int_equal(pl_dir_token_create(d, "ws-u", tok, &err), 0);
	assert_int_equal(pl_dir_token_id(tok, id), 0);
	snprintf(which, sizeof(which), "id:%s", id);
	assert_int_equal(pl_dir_token_revoke(d, which, &err), 0);
	assert_int_equal(pl_dir_token_touch(d, id, &err), 0);
	assert_int_equal(pl_dir_token_list(d, &list, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(list[1].workstation, "ws-u");
	assert_int_equal(list[1].last_used_ms, 0);
	free(list);
	pl_dir_close(ro);
	pl_dir_close(d);
}

/* ---- secrets at rest ---- */

static char *slurp(const char *path, size_t *len)
{
	*len = 0;
	return pl_read_file(path, 64u << 20, len);
}

static int contains(const char *hay, size_t n, const void *needle, size_t m)
{
	return memmem(hay, n, needle, m) != NULL;
}

static void test_secret_not_stored(void **state)
{
	fixture_t *f = *state;
	pl_err_t err = { "" };
	char tok[PL_TOKEN_MAX], std64[64], path[160];
	unsigned char raw[33], hash[32];
	pl_dir_t *d = open_rw(f);
	assert_int_equal(pl_dir_token_create(d, "ws-secret", tok, &err), 0);
	const char *sec = tok + 14;
	/* the raw secret bytes, via the standard decoder (pad to a multiple
	 * of 4, url alphabet mapped back) */
	char padded[48];
	assert_int_equal(strlen(sec), 43);
	memcpy(padded, sec, 43);
	memcpy(padded + 43, "=", 2);
	for (char *c = padded; *c; c++)
		*c = *c == '-' ? '+' : *c == '_' ? '/' : *c;
	assert_int_equal(EVP_DecodeBlock(raw, (const unsigned char *)padded, 44), 33);
	memcpy(std64, padded, sizeof(padded));
	unsigned int hl = 0;
	assert_int_equal(EVP_Digest(raw, 32, hash, &hl, EVP_sha256(), NULL), 1);
	/* Scan while open (data may sit in the WAL) and after close
	 * (checkpointed into the main file). */
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1)
			pl_dir_close(d);
		int hash_seen = 0;
		for (int w = 0; w < 2; w++) {
			snprintf(path, sizeof(path), "%s%s", f->db, w ? "-wal" : "");
			size_t n;
			char *bytes = slurp(path, &n);
			if (!bytes)
				continue;
			assert_false(contains(bytes, n, sec, 43));
			assert_false(contains(bytes, n, std64, 43));
			assert_false(contains(bytes, n, tok, strlen(tok)));
			assert_false(contains(bytes, n, raw, 32));
			hash_seen |= contains(bytes, n, hash, 32);
			free(bytes);
		}
		/* the scan does see what is stored */
		assert_true(hash_seen);
	}
}

/* ---- two connections: the CLI and a service ---- */

static void test_two_connections(void **state)
{
	fixture_t *f = *state;
	pl_err_t err = { "" };
	char tok[PL_TOKEN_MAX], ws[128];
	pl_dir_t *svc = open_rw(f), *cli = open_rw(f);
	pl_dir_printer_t p = printer("hall", "ipp://hall/"), got;
	assert_int_equal(pl_dir_printer_add(cli, &p, 0, &err), 0);
	assert_int_equal(pl_dir_printer_get(svc, "hall", &got, &err), 0);
	assert_int_equal(pl_dir_token_create(cli, "ws-9", tok, &err), 0);
	assert_int_equal(pl_dir_token_verify(svc, tok, ws, sizeof(ws), &err), 1);
	assert_string_equal(ws, "ws-9");
	assert_int_equal(pl_dir_token_revoke(cli, "ws-9", &err), 0);
	assert_int_equal(pl_dir_token_verify(svc, tok, NULL, 0, &err), 0);
	pl_dir_close(cli);
	pl_dir_close(svc);
}

typedef struct {
	sqlite3 *db;
	int hold_ms;
} holder_t;

static void *release_later(void *arg)
{
	holder_t *h = arg;
	struct timespec ts = { 0, (long)h->hold_ms * 1000000L };
	nanosleep(&ts, NULL);
	raw_exec(h->db, "COMMIT");
	return NULL;
}

static double mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* While another process holds the write lock, a writer waits (busy
 * timeout) instead of failing with "database is locked". */
static void test_busy_wait(void **state)
{
	fixture_t *f = *state;
	pl_err_t err = { "" };
	pl_dir_t *d = open_rw(f);
	pl_dir_printer_t p = printer("waits", "ipp://w/"), *list = NULL;
	size_t n = 0;
	holder_t h = { raw_open(f), 300 };
	pthread_t th;
	raw_exec(h.db, "BEGIN IMMEDIATE");
	raw_exec(h.db, "INSERT INTO printers(name, uri, created_ms)"
		       " VALUES('first', 'ipp://f/', 1)");
	/* readers are not blocked by a writer in WAL mode */
	double t0 = mono_ms();
	assert_int_equal(pl_dir_printer_list(d, &list, &n, &err), 0);
	assert_int_equal(n, 0);
	free(list);
	assert_true(mono_ms() - t0 < 250);
	assert_int_equal(pthread_create(&th, NULL, release_later, &h), 0);
	t0 = mono_ms();
	if (pl_dir_printer_add(d, &p, 0, &err) < 0)
		fail_msg("add while locked: %s", err.msg);
	assert_true(mono_ms() - t0 >= 200);
	pthread_join(th, NULL);
	sqlite3_close(h.db);
	assert_int_equal(pl_dir_printer_list(d, &list, &n, &err), 0);
	assert_int_equal(n, 2);
	free(list);
	pl_dir_close(d);
}

/* One handle shared by threads: the handle's mutex serialises them. */
typedef struct {
	pl_dir_t *d;
	int failures;
} worker_t;

static void *token_worker(void *arg)
{
	worker_t *w = arg;
	char tok[PL_TOKEN_MAX], ws[128];
	for (int i = 0; i < 10; i++) {
		if (pl_dir_token_create(w->d, "ws-thread", tok, NULL) < 0 ||
		    pl_dir_token_verify(w->d, tok, ws, sizeof(ws), NULL) != 1 ||
		    strcmp(ws, "ws-thread") != 0)
			w->failures++;
	}
	return NULL;
}

static void test_shared_handle_threads(void **state)
{
	fixture_t *f = *state;
	pl_dir_t *d = open_rw(f);
	worker_t w[4];
	pthread_t th[4];
	pl_dir_token_t *list = NULL;
	size_t n = 0;
	for (int i = 0; i < 4; i++) {
		w[i] = (worker_t){ d, 0 };
		assert_int_equal(pthread_create(&th[i], NULL, token_worker, &w[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(w[i].failures, 0);
	}
	assert_int_equal(pl_dir_token_list(d, &list, &n, NULL), 0);
	assert_int_equal(n, 40);
	free(list);
	pl_dir_close(d);
}

/* ---- migration from version 1 ---- */

/* Migration 1 as it shipped: a database in the field at version 1. */
static const char v1_schema[] =
	"CREATE TABLE printers("
	" name TEXT PRIMARY KEY,"
	" uri TEXT NOT NULL,"
	" location TEXT NOT NULL DEFAULT '',"
	" formats TEXT NOT NULL DEFAULT '',"
	" created_ms INTEGER NOT NULL);"
	"CREATE TABLE tokens("
	" id TEXT PRIMARY KEY,"
	" workstation TEXT NOT NULL,"
	" secret_sha256 BLOB NOT NULL,"
	" created_ms INTEGER NOT NULL,"
	" last_used_ms INTEGER NOT NULL DEFAULT 0,"
	" revoked INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX tokens_workstation ON tokens(workstation, created_ms);"
	"INSERT INTO printers(name, uri, location, created_ms)"
	" VALUES('old-hp', 'socket://10.0.0.9:9100', 'basement', 1);"
	"INSERT INTO tokens(id, workstation, secret_sha256, created_ms)"
	" VALUES('0badcafe', 'ws-old', zeroblob(32), 2);"
	"PRAGMA user_version = 1;";

static void test_migrate_from_v1(void **state)
{
	fixture_t *f = *state;
	pl_err_t err = { "" };
	char dir[128];
	pl_dir_t *d = NULL;
	snprintf(dir, sizeof(dir), "%s/state/directory", f->dir);
	assert_int_equal(pl_mkdir_p(dir, 0750), 0);
	sqlite3 *raw = raw_open(f);
	raw_exec(raw, v1_schema);
	sqlite3_close(raw);
	/* a read-only open does not migrate */
	assert_int_equal(pl_dir_open(&d, f->db, 1, &err), -1);
	assert_non_null(strstr(err.msg, "has schema version 1, this program needs " DIR_V));
	d = open_rw(f);
	assert_int_equal(pl_dir_schema_version(d), PL_DIR_SCHEMA_VERSION);
	pl_dir_printer_t p;
	assert_int_equal(pl_dir_printer_get(d, "old-hp", &p, &err), 0);
	assert_string_equal(p.uri, "socket://10.0.0.9:9100");
	assert_string_equal(p.location, "basement");
	pl_dir_token_t *toks = NULL;
	size_t n = 0;
	assert_int_equal(pl_dir_token_list(d, &toks, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(toks[0].id, "0badcafe");
	assert_string_equal(toks[0].workstation, "ws-old");
	free(toks);
	/* the new tables are there and usable */
	pl_dir_user_t u;
	memset(&u, 0, sizeof(u));
	pl_strlcpy(u.username, "alice", sizeof(u.username));
	assert_int_equal(pl_dir_user_put(d, &u, NULL, 0, &err), 0);
	pl_dir_close(d);
	raw = raw_open(f);
	assert_int_equal(raw_int(raw, "PRAGMA user_version"), PL_DIR_SCHEMA_VERSION);
	assert_int_equal(raw_int(raw, "SELECT count(*) FROM sqlite_schema WHERE"
				      " name IN ('users', 'user_emails', 'badges',"
				      " 'readers', 'admins')"),
			 5);
	assert_int_equal(raw_int(raw, "SELECT count(*) FROM users"), 1);
	sqlite3_close(raw);
}

/* ---- users ---- */

static pl_dir_user_t user(const char *name, const char *display)
{
	pl_dir_user_t u;
	memset(&u, 0, sizeof(u));
	pl_strlcpy(u.username, name, sizeof(u.username));
	pl_strlcpy(u.display_name, display, sizeof(u.display_name));
	return u;
}

static void user_add_email(pl_dir_user_t *u, const char *e)
{
	pl_strlcpy(u->emails[u->nemails++], e, sizeof(u->emails[0]));
}

static void user_add_badge(pl_dir_user_t *u, const char *b)
{
	pl_strlcpy(u->badges[u->nbadges++], b, sizeof(u->badges[0]));
}

static pl_dir_sync_item_t sync_put(const char *name, const char *badge)
{
	pl_dir_sync_item_t it;
	memset(&it, 0, sizeof(it));
	it.user = user(name, "");
	snprintf(it.key, sizeof(it.key), "k-%s", name);
	pl_strlcpy(it.user.external_id, it.key, sizeof(it.user.external_id));
	if (badge)
		user_add_badge(&it.user, badge);
	return it;
}

static void assert_badge_of(pl_dir_t *d, const char *badge, const char *who)
{
	char owner[128];
	pl_err_t err = { "" };
	assert_int_equal(pl_dir_badge_user(d, badge, owner, sizeof(owner), &err), 0);
	assert_string_equal(owner, who);
}

/* A put line as IdentitySync writes it is taken without a JSON parse;
 * anything else (a PIN, an escape, UTF-8, a space, a field over its
 * bound, a bad badge) is left to the JSON way. */
static void test_body_sync_put(void **state)
{
	(void)state;
	static pl_dir_user_t u;
	char key[PL_DIR_EXTERNAL_ID_MAX];
	const char *ok = "{\"key\":\"k-1\",\"username\":\"ann\",\"display_name\":\"Ann B\","
			 "\"groups\":\"a;b\",\"emails\":[\"ann@x.example\",\"\"],"
			 "\"badges\":[\"hex:00AB\",\"hex:1f\"]}";
	memset(&u, 0, sizeof(u));
	assert_int_equal(pl_dir_body_sync_put(ok, strlen(ok), key, sizeof(key), &u), 1);
	assert_string_equal(key, "k-1");
	assert_string_equal(u.username, "ann");
	assert_string_equal(u.display_name, "Ann B");
	assert_string_equal(u.groups, "a;b");
	assert_int_equal(u.nemails, 1);
	assert_string_equal(u.emails[0], "ann@x.example");
	assert_int_equal(u.nbadges, 2);
	const char *empty = "{\"key\":\"k\",\"username\":\"\",\"display_name\":\"\","
			    "\"groups\":\"\",\"emails\":[],\"badges\":[]}";
	assert_int_equal(pl_dir_body_sync_put(empty, strlen(empty), key, sizeof(key), &u), 1);
	assert_int_equal(u.nemails + u.nbadges, 0);
	static const char *const no[] = {
		"{\"key\":\"\",\"username\":\"a\",\"display_name\":\"\",\"groups\":\"\","
		"\"emails\":[],\"badges\":[]}",
		"{\"key\":\"k\",\"username\":\"a\",\"display_name\":\"\",\"groups\":\"\","
		"\"emails\":[],\"badges\":[],\"pin_mark\":\"\"}",
		"{\"key\":\"k\",\"username\":\"a\\u0062\",\"display_name\":\"\",\"groups\":\"\","
		"\"emails\":[],\"badges\":[]}",
		"{\"key\":\"k\",\"username\":\"\xc3\xa9\",\"display_name\":\"\",\"groups\":\"\","
		"\"emails\":[],\"badges\":[]}",
		"{\"key\":\"k\", \"username\":\"a\",\"display_name\":\"\",\"groups\":\"\","
		"\"emails\":[],\"badges\":[]}",
		"{\"key\":\"k\",\"username\":\"a\",\"display_name\":\"\",\"groups\":\"\","
		"\"emails\":[],\"badges\":[\"hex:zz\"]}",
		"{\"key\":\"k\",\"username\":\"a\",\"display_name\":\"\",\"groups\":\"\","
		"\"emails\":[],\"badges\":[]",
		"{\"remove\":\"k\"}",
	};
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		assert_int_equal(pl_dir_body_sync_put(no[i], strlen(no[i]), key, sizeof(key), &u), 0);
	char longname[400];
	int n = snprintf(longname, sizeof(longname),
			 "{\"key\":\"k\",\"username\":\"%0200d\",\"display_name\":\"\","
			 "\"groups\":\"\",\"emails\":[],\"badges\":[]}",
			 0);
	assert_int_equal(pl_dir_body_sync_put(longname, (size_t)n, key, sizeof(key), &u), 0);
}

/* The first walk (removes, and the badges of the users put cleared) is
 * skipped when it would change nothing: a first sync (no user of the
 * source: a remove finds nobody, a local user's badge still refuses),
 * and the clearing alone when none of the source's users has a badge;
 * each way, a badge moving between two users of a batch still moves. */
static void test_sync_first_walk(void **state)
{
	fixture_t *f = *state;
	pl_err_t err = { "" };
	pl_dir_t *d = open_rw(f);
	pl_dir_user_t loco = user("loco", "Local"), got;
	pl_dir_sync_counts_t sc;
	user_add_badge(&loco, "cc");
	assert_int_equal(pl_dir_user_put(d, &loco, NULL, 0, &err), 0);
	pl_dir_sync_item_t first[4] = { sync_put("alice", "aa"), sync_put("bob", "bb"),
					sync_put("dave", "cc") };
	first[3].remove = 1;
	pl_strlcpy(first[3].key, "k-nobody", sizeof(first[3].key));
	assert_int_equal(pl_dir_sync_apply(d, "ldap", first, 4, NULL, NULL, &sc, &err), 0);
	assert_int_equal(sc.added, 2);
	assert_int_equal(sc.removed, 0);
	assert_int_equal(sc.failed, 1);
	assert_int_equal(pl_dir_user_get(d, "dave", &got, &err), 1);
	assert_badge_of(d, "cc", "loco");
	/* the two swap their badges: both cleared first */
	pl_dir_sync_item_t swap[2] = { sync_put("alice", "bb"), sync_put("bob", "aa") };
	assert_int_equal(pl_dir_sync_apply(d, "ldap", swap, 2, NULL, NULL, &sc, &err), 0);
	assert_int_equal(sc.updated, 2);
	assert_int_equal(sc.failed, 0);
	assert_badge_of(d, "aa", "bob");
	assert_badge_of(d, "bb", "alice");
	/* no badges left among them; then a remove, and a badge taken */
	pl_dir_sync_item_t none[2] = { sync_put("alice", NULL), sync_put("bob", NULL) };
	assert_int_equal(pl_dir_sync_apply(d, "ldap", none, 2, NULL, NULL, &sc, &err), 0);
	assert_int_equal(sc.updated, 2);
	pl_dir_sync_item_t last[2] = { sync_put("alice", "aa") };
	last[1].remove = 1;
	pl_strlcpy(last[1].key, "k-bob", sizeof(last[1].key));
	assert_int_equal(pl_dir_sync_apply(d, "ldap", last, 2, NULL, NULL, &sc, &err), 0);
	assert_int_equal(sc.removed, 1);
	assert_int_equal(sc.updated, 1);
	assert_int_equal(sc.failed, 0);
	assert_badge_of(d, "aa", "alice");
	assert_int_equal(pl_dir_user_get(d, "bob", &got, &err), 1);
	pl_dir_close(d);
}

/* A sync sets a PIN from its stored hash with the mark, keeps it when the
 * item says nothing, keeps it across a rename, and clears it; a hash that
 * is not well-formed is refused for that item alone; plsc's own PIN drops
 * the mark (#13). */
static void test_sync_pin(void **state)
{
	fixture_t *f = *state;
	pl_err_t err = { "" };
	pl_dir_t *d = open_rw(f);
	pl_dir_sync_item_t it;
	pl_dir_sync_counts_t sc;
	pl_dir_user_t got, *list;
	size_t n;
	memset(&it, 0, sizeof(it));
	it.user = user("pinny", "Pin Ny");
	pl_strlcpy(it.key, "k-pin", sizeof(it.key));
	pl_strlcpy(it.user.external_id, "k-pin", sizeof(it.user.external_id));
	it.pin_op = PL_DIR_SYNC_PIN_SET;
	pl_strlcpy(it.user.pin_mark, "ab12", sizeof(it.user.pin_mark));
	assert_int_equal(pl_dir_pin_hash("12a4", it.pin_hash, &err), -1);
	assert_int_equal(pl_dir_pin_hash("4711", it.pin_hash, &err), 0);
	assert_int_equal(pl_dir_sync_apply(d, "ldap", &it, 1, NULL, NULL, &sc, &err), 0);
	assert_int_equal(sc.added, 1);
	assert_int_equal(pl_dir_pin_check(d, "pinny", "4711", &err), 1);
	assert_int_equal(pl_dir_pin_check(d, "pinny", "4712", &err), 0);
	assert_int_equal(pl_dir_user_list_source(d, "ldap", &list, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(list[0].pin_mark, "ab12");
	assert_int_equal(list[0].has_pin, 1);
	free(list);

	/* kept, and kept across a rename */
	it.pin_op = PL_DIR_SYNC_PIN_KEEP;
	it.pin_hash[0] = '\0';
	pl_strlcpy(it.user.username, "pinny2", sizeof(it.user.username));
	assert_int_equal(pl_dir_sync_apply(d, "ldap", &it, 1, NULL, NULL, &sc, &err), 0);
	assert_int_equal(sc.renamed, 1);
	assert_int_equal(pl_dir_pin_check(d, "pinny2", "4711", &err), 1);
	assert_int_equal(pl_dir_user_get(d, "pinny2", &got, &err), 0);
	assert_string_equal(got.pin_mark, "ab12");

	/* a malformed hash: that item refused, the PIN unchanged */
	it.pin_op = PL_DIR_SYNC_PIN_SET;
	pl_strlcpy(it.pin_hash, "$scrypt$ln=99,r=8,p=1$AAAA$AAAA", sizeof(it.pin_hash));
	assert_int_equal(pl_dir_sync_apply(d, "ldap", &it, 1, NULL, NULL, &sc, &err), 0);
	assert_int_equal(sc.failed, 1);
	assert_int_equal(pl_dir_pin_check(d, "pinny2", "4711", &err), 1);

	/* cleared with its mark */
	it.pin_op = PL_DIR_SYNC_PIN_CLEAR;
	it.user.pin_mark[0] = '\0';
	assert_int_equal(pl_dir_sync_apply(d, "ldap", &it, 1, NULL, NULL, &sc, &err), 0);
	assert_int_equal(pl_dir_user_get(d, "pinny2", &got, &err), 0);
	assert_int_equal(got.has_pin, 0);
	assert_string_equal(got.pin_mark, "");
	assert_int_equal(pl_dir_pin_check(d, "pinny2", "4711", &err), 0);

	/* set again, then by plsc: the mark goes */
	it.pin_op = PL_DIR_SYNC_PIN_SET;
	pl_strlcpy(it.user.pin_mark, "cd34", sizeof(it.user.pin_mark));
	assert_int_equal(pl_dir_pin_hash("4711", it.pin_hash, &err), 0);
	assert_int_equal(pl_dir_sync_apply(d, "ldap", &it, 1, NULL, NULL, &sc, &err), 0);
	assert_int_equal(pl_dir_pin_set(d, "pinny2", "9999", &err), 0);
	assert_int_equal(pl_dir_user_get(d, "pinny2", &got, &err), 0);
	assert_string_equal(got.pin_mark, "");
	assert_int_equal(pl_dir_pin_check(d, "pinny2", "9999", &err), 1);
	pl_dir_close(d);
}

/* A refused item writes nothing of itself (its checks come before any
 * write), and the rest of the batch commits: a name held by a local user,
 * a badge of a local user, a badge already taken by an earlier item. */
static void test_sync_refused(void **state)
{
	fixture_t *f = *state;
	pl_err_t err = { "" };
	pl_dir_t *d = open_rw(f);
	pl_dir_user_t loco = user("loco", "Local"), got;
	pl_dir_sync_item_t it[5];
	pl_dir_sync_counts_t sc;
	static const char *const names[] = { "loco", "newb", "good", "x1", "x2" };
	static const char *const badges[] = { "", "aa", "bb", "cc", "cc" };
	user_add_badge(&loco, "aa");
	assert_int_equal(pl_dir_user_put(d, &loco, NULL, 0, &err), 0);
	memset(it, 0, sizeof(it));
	for (int i = 0; i < 5; i++) {
		it[i].user = user(names[i], "");
		snprintf(it[i].key, sizeof(it[i].key), "k%d", i);
		pl_strlcpy(it[i].user.external_id, it[i].key, sizeof(it[i].user.external_id));
		if (badges[i][0])
			user_add_badge(&it[i].user, badges[i]);
	}
	assert_int_equal(pl_dir_sync_apply(d, "ldap", it, 5, NULL, NULL, &sc, &err), 0);
	assert_int_equal(sc.added, 2);
	assert_int_equal(sc.failed, 3);
	assert_int_equal(pl_dir_user_get(d, "loco", &got, &err), 0);
	assert_string_equal(got.source, "local");
	assert_int_equal(pl_dir_user_get(d, "newb", &got, &err), 1);
	assert_int_equal(pl_dir_user_get(d, "x2", &got, &err), 1);
	assert_int_equal(pl_dir_user_get(d, "good", &got, &err), 0);
	assert_int_equal(got.nbadges, 1);
	assert_int_equal(pl_dir_user_get(d, "x1", &got, &err), 0);
	assert_string_equal(got.badges[0], "cc");
	char owner[128];
	assert_int_equal(pl_dir_badge_user(d, "aa", owner, sizeof(owner), &err), 0);
	assert_string_equal(owner, "loco");
	pl_dir_close(d);
}

static void test_users_crud(void **state)
{
	fixture_t *f = *state;
	pl_err_t err = { "" };
	pl_dir_t *d = open_rw(f);
	pl_dir_user_t u = user("alice", "Alice Liddell"), got, *list = NULL;
	size_t n = 99;
	assert_int_equal(pl_dir_user_list(d, &list, &n, &err), 0);
	assert_int_equal(n, 0);
	assert_null(list);
	pl_strlcpy(u.groups, "staff,print-color", sizeof(u.groups));
	user_add_email(&u, "alice@example.org");
	user_add_email(&u, "a.liddell@example.org");
	user_add_badge(&u, "dead1a2b");
	user_add_badge(&u, "7");
	if (pl_dir_user_put(d, &u, NULL, 0, &err) < 0)
		fail_msg("put: %s", err.msg);
	pl_dir_user_t b = user("bob.smith@corp", "Bob Smith \xc3\xa9");
	pl_strlcpy(b.source, "ldap", sizeof(b.source));
	pl_strlcpy(b.external_id, "k-bob", sizeof(b.external_id));
	user_add_badge(&b, "0");
	assert_int_equal(pl_dir_user_put(d, &b, NULL, 0, &err), 0);
	pl_dir_user_t z = user("Zed_9", "");
	pl_strlcpy(z.source, "scim", sizeof(z.source));
	assert_int_equal(pl_dir_user_put(d, &z, NULL, 1, &err), 0); /* new, replace=1 */

	assert_int_equal(pl_dir_user_get(d, "alice", &got, &err), 0);
	assert_string_equal(got.username, "alice");
	assert_string_equal(got.display_name, "Alice Liddell");
	assert_string_equal(got.groups, "staff,print-color");
	assert_string_equal(got.source, "local"); /* the default */
	assert_int_equal(got.nemails, 2);
	assert_string_equal(got.emails[0], "alice@example.org");
	assert_string_equal(got.emails[1], "a.liddell@example.org");
	assert_int_equal(got.nbadges, 2);
	assert_string_equal(got.badges[0], "dead1a2b");
	assert_string_equal(got.badges[1], "7");
	assert_int_equal(got.has_pin, 0);
	assert_true(got.created_ms > 0);
	assert_int_equal(got.updated_ms, got.created_ms);
	assert_int_equal(pl_dir_user_get(d, "nobody", &got, &err), 1);

	assert_int_equal(pl_dir_user_list(d, &list, &n, &err), 0);
	assert_int_equal(n, 3);
	/* ordered by username (binary collation) */
	assert_string_equal(list[0].username, "Zed_9");
	assert_string_equal(list[0].source, "scim");
	assert_int_equal(list[0].nemails, 0);
	assert_int_equal(list[0].nbadges, 0);
	assert_string_equal(list[1].username, "alice");
	assert_int_equal(list[1].nemails, 2);
	assert_string_equal(list[1].emails[1], "a.liddell@example.org");
	assert_int_equal(list[1].nbadges, 2);
	assert_string_equal(list[1].badges[0], "dead1a2b");
	assert_string_equal(list[2].username, "bob.smith@corp");
	assert_string_equal(list[2].display_name, "Bob Smith \xc3\xa9");
	assert_string_equal(list[2].source, "ldap");
	assert_int_equal(list[2].nemails, 0);
	assert_int_equal(list[2].nbadges, 1);
	assert_string_equal(list[2].badges[0], "0");
	free(list);

	/* add again without replace: refused, nothing changed */
	u.display_name[0] = '\0';
	assert_int_equal(pl_dir_user_put(d, &u, NULL, 0, &err), -1);
	assert_string_equal(err.msg, "user alice already exists");
	assert_int_equal(pl_dir_user_get(d, "alice", &got, &err), 0);
	assert_string_equal(got.display_name, "Alice Liddell");

	/* a synced user is read-only but to a sync */
	assert_int_equal(pl_dir_user_del(d, "bob.smith@corp", &err), -1);
	assert_non_null(strstr(err.msg, "is synced from ldap"));
	pl_dir_sync_item_t rm = { .remove = 1, .key = "k-bob" };
	pl_dir_sync_counts_t sc;
	assert_int_equal(pl_dir_sync_apply(d, "ldap", &rm, 1, NULL, NULL, &sc, &err), 0);
	assert_int_equal(sc.removed, 1);
	assert_int_equal(pl_dir_user_get(d, "bob.smith@corp", &got, &err), 1);
	assert_int_equal(pl_dir_user_del(d, "bob.smith@corp", &err), -1);
	assert_string_equal(err.msg, "no user named bob.smith@corp");
	assert_int_equal(pl_dir_user_list(d, &list, &n, &err), 0);
	assert_int_equal(n, 2);
	free(list);
	pl_dir_close(d);
}

static void test_user_replace(void **state)
{
	fixture_t *f = *state;
	pl_err_t err = { "" };
	pl_dir_t *d = open_rw(f);
	pl_dir_user_t u = user("alice", "Alice"), got, before;
	user_add_email(&u, "alice@example.org");
	user_add_email(&u, "al@example.org");
	user_add_badge(&u, "1111");
	user_add_badge(&u, "2222");
	assert_int_equal(pl_dir_user_put(d, &u, NULL, 0, &err), 0);
	assert_int_equal(pl_dir_user_get(d, "alice", &before, &err), 0);
	struct timespec ts = { 0, 5 * 1000000L };
	nanosleep(&ts, NULL);
	/* the sets are replaced, not merged; a duplicate in the list is one */
	u = user("alice", "Alice L.");
	pl_strlcpy(u.source, "ldap", sizeof(u.source));
	user_add_email(&u, "new@example.org");
	user_add_email(&u, "new@example.org");
	user_add_badge(&u, "3333");
	user_add_badge(&u, "2222");
	user_add_badge(&u, "3333");
	if (pl_dir_user_put(d, &u, NULL, 1, &err) < 0)
		fail_msg("replace: %s", err.msg);
	assert_int_equal(pl_dir_user_get(d, "alice", &got, &err), 0);
	assert_string_equal(got.display_name, "Alice L.");
	assert_string_equal(got.source, "ldap");
	assert_int_equal(got.nemails, 1);
	assert_string_equal(got.emails[0], "new@example.org");
	assert_int_equal(got.nbadges, 2);
	assert_string_equal(got.badges[0], "3333");
	assert_string_equal(got.badges[1], "2222");
	assert_int_equal(got.created_ms, before.created_ms);
	assert_true(got.updated_ms > before.updated_ms);
	char who[128];
	assert_int_equal(pl_dir_badge_user(d, "1111", who, sizeof(who), &err), 1);
	/* alice is synced from ldap now: read-only to put */
	u = user("alice", "Alice L.");
	assert_int_equal(pl_dir_user_put(d, &u, NULL, 1, &err), -1);
	assert_non_null(strstr(err.msg, "user alice is synced from ldap"));
	assert_int_equal(pl_dir_user_get(d, "alice", &got, &err), 0);
	assert_int_equal(got.nemails, 1);
	assert_int_equal(got.nbadges, 2);
	pl_dir_close(d);
}

static void test_badge_duplicate(void **state)
{
	fixture_t *f = *state;
	pl_err_t err = { "" };
	char who[128] = "";
	pl_dir_t *d = open_rw(f);
	pl_dir_user_t a = user("alice", "Alice"), b = user("bob", "Bob"), got;
	user_add_badge(&b, "c0ffee1a2b");
	user_add_email(&b, "bob@example.org");
	assert_int_equal(pl_dir_user_put(d, &b, NULL, 0, &err), 0);
	/* a new user with bob's badge: refused, and alice is not created */
	user_add_email(&a, "alice@example.org");
	user_add_badge(&a, "aaaa");
	user_add_badge(&a, "c0ffee1a2b");
	assert_int_equal(pl_dir_user_put(d, &a, NULL, 0, &err), -1);
	assert_string_equal(err.msg, "badge ******1a2b already belongs to bob");
	assert_int_equal(pl_dir_user_get(d, "alice", &got, &err), 1);
	assert_int_equal(pl_dir_badge_user(d, "aaaa", who, sizeof(who), &err), 1);
	/* bob replacing himself with alice's badge: refused, bob unchanged */
	a.nbadges = 1;
	assert_int_equal(pl_dir_user_put(d, &a, NULL, 0, &err), 0);
	b = user("bob", "Robert");
	user_add_badge(&b, "9999");
	user_add_badge(&b, "aaaa");
	assert_int_equal(pl_dir_user_put(d, &b, NULL, 1, &err), -1);
	assert_string_equal(err.msg, "badge ***a already belongs to alice");
	assert_int_equal(pl_dir_user_get(d, "bob", &got, &err), 0);
	assert_string_equal(got.display_name, "Bob");
	assert_int_equal(got.nemails, 1);
	assert_int_equal(got.nbadges, 1);
	assert_string_equal(got.badges[0], "c0ffee1a2b");
	assert_int_equal(pl_dir_badge_user(d, "9999", who, sizeof(who), &err), 1);
	pl_dir_close(d);
}

static void test_badge_lookup(void **state)
{
	fixture_t *f = *state;
	pl_err_t err = { "" };
	char who[128] = "", small[3];
	pl_dir_t *d = open_rw(f);
	pl_dir_user_t u = user("carol", "Carol");
	char longest[65];
	memset(longest, 'f', 64);
	longest[64] = '\0';
	user_add_badge(&u, "4a3b2c1d");
	user_add_badge(&u, longest);
	assert_int_equal(pl_dir_user_put(d, &u, NULL, 0, &err), 0);
	assert_int_equal(pl_dir_badge_user(d, "4a3b2c1d", who, sizeof(who), &err), 0);
	assert_string_equal(who, "carol");
	assert_int_equal(pl_dir_badge_user(d, longest, who, sizeof(who), &err), 0);
	assert_int_equal(pl_dir_badge_user(d, "4a3b2c1d", small, sizeof(small), &err), 0);
	assert_string_equal(small, "ca");
	assert_int_equal(pl_dir_badge_user(d, "4a3b2c1e", who, sizeof(who), &err), 1);
	assert_int_equal(pl_dir_badge_user(d, "4a3b2c1d", NULL, 0, &err), 0);
	/* not canonical: never stored, so refused rather than looked up */
	const char *bad[] = { "", "4A3B2C1D", "0x4a3b", "4a3b 2c1d", "g" };
	for (size_t i = 0; i < PL_ARRAY_LEN(bad); i++)
		assert_int_equal(pl_dir_badge_user(d, bad[i], who, sizeof(who), &err), -1);
	assert_int_equal(pl_dir_badge_user(d, NULL, who, sizeof(who), &err), -1);
	pl_dir_close(d);
}

/* The statements a job, a swipe or a release runs stay prepared in the
 * handle; none of them may answer from what it saw last time. A service's
 * read-only handle keeps using its kept statements while plsc-directory
 * (another handle, here d) revokes the token, moves the badge, removes the
 * printer: each next call sees the change. */
static void test_kept_statements_not_stale(void **state)
{
	fixture_t *f = *state;
	pl_err_t err = { "" };
	char tok[PL_TOKEN_MAX], tok2[PL_TOKEN_MAX], id[PL_DIR_TOKEN_ID_LEN + 1];
	char which[32], ws[128], who[128];
	pl_dir_printer_t p = printer("P1", "socket://10.0.0.1:9100"), got;
	pl_dir_t *d = open_rw(f), *ro = NULL;
	pl_dir_user_t u = user("alice", "Alice");

	user_add_badge(&u, "4a3b2c1d");
	assert_int_equal(pl_dir_user_put(d, &u, NULL, 0, &err), 0);
	assert_int_equal(pl_dir_printer_add(d, &p, 0, &err), 0);
	assert_int_equal(pl_dir_token_create(d, "ws-a", tok, &err), 0);
	assert_int_equal(pl_dir_token_create(d, "ws-b", tok2, &err), 0);
	assert_int_equal(pl_dir_open(&ro, f->db, PL_DIR_READ, &err), 0);
	/* Two jobs with the token, a second token between: all answered. */
	assert_int_equal(pl_dir_token_verify(ro, tok, ws, sizeof(ws), &err), 1);
	assert_string_equal(ws, "ws-a");
	assert_int_equal(pl_dir_token_verify(ro, tok2, ws, sizeof(ws), &err), 1);
	assert_string_equal(ws, "ws-b");
	assert_int_equal(pl_dir_token_verify(ro, tok, ws, sizeof(ws), &err), 1);
	assert_int_equal(pl_dir_badge_user(ro, "4a3b2c1d", who, sizeof(who), &err), 0);
	assert_string_equal(who, "alice");
	assert_int_equal(pl_dir_printer_get(ro, "P1", &got, &err), 0);
	/* Revoked between two jobs: the next one is refused. */
	assert_int_equal(pl_dir_token_id(tok, id), 0);
	snprintf(which, sizeof(which), "id:%s", id);
	assert_int_equal(pl_dir_token_revoke(d, which, &err), 0);
	assert_int_equal(pl_dir_token_verify(ro, tok, ws, sizeof(ws), &err), 0);
	assert_int_equal(pl_dir_token_verify(ro, tok2, ws, sizeof(ws), &err), 1);
	/* The writer's own handle keeps its statements too (match, touch,
	 * match again): the same answer there. */
	assert_int_equal(pl_dir_token_verify(d, tok, ws, sizeof(ws), &err), 0);
	assert_int_equal(pl_dir_token_verify(d, tok2, ws, sizeof(ws), &err), 1);
	assert_int_equal(pl_dir_token_verify(d, tok2, ws, sizeof(ws), &err), 1);
	/* The badge moves to bob, then its owner is gone. */
	pl_dir_user_t b = user("bob", "Bob");
	u = user("alice", "Alice");
	user_add_badge(&b, "4a3b2c1d");
	assert_int_equal(pl_dir_user_put(d, &u, NULL, 1, &err), 0);
	assert_int_equal(pl_dir_user_put(d, &b, NULL, 0, &err), 0);
	assert_int_equal(pl_dir_badge_user(ro, "4a3b2c1d", who, sizeof(who), &err), 0);
	assert_string_equal(who, "bob");
	assert_int_equal(pl_dir_user_del(d, "bob", &err), 0);
	assert_int_equal(pl_dir_badge_user(ro, "4a3b2c1d", who, sizeof(who), &err), 1);
	/* The printer changes, then goes. */
	p = printer("P1", "socket://10.0.0.2:9100");
	assert_int_equal(pl_dir_printer_add(d, &p, 1, &err), 0);
	assert_int_equal(pl_dir_printer_get(ro, "P1", &got, &err), 0);
	assert_string_equal(got.uri, "socket://10.0.0.2:9100");
	assert_int_equal(pl_dir_printer_del(d, "P1", &err), 0);
	assert_int_equal(pl_dir_printer_get(ro, "P1", &got, &err), 1);
	pl_dir_close(ro);
	pl_dir_close(d);
}

static void test_user_invalid(void **state)
{
	fixture_t *f = *state;
	pl_err_t err = { "" };
	pl_dir_t *d = open_rw(f);
	pl_dir_user_t u, got;
	char longname[129];
	memset(longname, 'u', 128);
	longname[128] = '\0';
	const char *badnames[] = { "", "a b", "semi;colon", "quote'", "x/y",
				   "\xc3\xbc", "tab\t", "a+b", longname };
	for (size_t i = 0; i < PL_ARRAY_LEN(badnames); i++) {
		u = user(badnames[i], "X");
		if (badnames[i] == longname) /* fills the array: no terminator */
			memset(u.username, 'u', sizeof(u.username));
		assert_int_equal(pl_dir_user_put(d, &u, NULL, 0, &err), -1);
		assert_string_equal(err.msg, "invalid user name");
		assert_int_equal(pl_dir_user_get(d, badnames[i], &got, &err), -1);
		assert_int_equal(pl_dir_user_del(d, badnames[i], &err), -1);
	}
	longname[127] = '\0';
	u = user(longname, "");
	assert_int_equal(pl_dir_user_put(d, &u, NULL, 0, &err), 0); /* 127: fine */

	u = user("dave", "line\nbreak");
	assert_int_equal(pl_dir_user_put(d, &u, NULL, 0, &err), -1);
	assert_non_null(strstr(err.msg, "user dave: invalid display name"));
	u = user("dave", "bad utf-8 \xc3");
	assert_int_equal(pl_dir_user_put(d, &u, NULL, 0, &err), -1);
	u = user("dave", "");
	memset(u.display_name, 'x', sizeof(u.display_name)); /* no terminator */
	assert_int_equal(pl_dir_user_put(d, &u, NULL, 0, &err), -1);
	memset(u.display_name, 'x', 255);
	u.display_name[255] = '\0';
	assert_int_equal(pl_dir_user_put(d, &u, NULL, 0, &err), 0); /* 255: fine */

	u = user("erin", "Erin");
	user_add_email(&u, "no-at-sign");
	assert_int_equal(pl_dir_user_put(d, &u, NULL, 0, &err), -1);
	assert_non_null(strstr(err.msg, "user erin: invalid email"));
	u = user("erin", "Erin");
	memset(u.emails[0], 'e', sizeof(u.emails[0]));
	u.emails[0][3] = '@';
	u.nemails = 1;
	assert_int_equal(pl_dir_user_put(d, &u, NULL, 0, &err), -1);
	u = user("erin", "Erin");
	u.nemails = PL_DIR_MAX_EMAILS + 1;
	assert_int_equal(pl_dir_user_put(d, &u, NULL, 0, &err), -1);
	u.nemails = -1;
	assert_int_equal(pl_dir_user_put(d, &u, NULL, 0, &err), -1);

	const char *badbadges[] = { "", "ABCD", "0x1a", "12 34", "xyz" };
	for (size_t i = 0; i < PL_ARRAY_LEN(badbadges); i++) {
		u = user("erin", "Erin");
		user_add_badge(&u, badbadges[i]);
		assert_int_equal(pl_dir_user_put(d, &u, NULL, 0, &err), -1);
		assert_non_null(strstr(err.msg, "user erin: invalid badge ID"));
	}
	u = user("erin", "Erin");
	memset(u.badges[0], 'a', 65); /* 65 digits, no terminator */
	u.nbadges = 1;
	assert_int_equal(pl_dir_user_put(d, &u, NULL, 0, &err), -1);
	u = user("erin", "Erin");
	u.nbadges = PL_DIR_MAX_BADGES + 1;
	assert_int_equal(pl_dir_user_put(d, &u, NULL, 0, &err), -1);

	u = user("erin", "Erin");
	pl_strlcpy(u.source, "LDAP", sizeof(u.source));
	assert_int_equal(pl_dir_user_put(d, &u, NULL, 0, &err), -1);
	assert_string_equal(err.msg, "user erin: source must be local, ldap or scim");

	/* invalid PINs are refused before any hashing */
	const char *badpins[] = { "123", "12a4", "1234 ", "-1234",
				  "123456789012345678901234567890123" };
	u = user("erin", "Erin");
	for (size_t i = 0; i < PL_ARRAY_LEN(badpins); i++) {
		assert_int_equal(pl_dir_user_put(d, &u, badpins[i], 0, &err), -1);
		assert_string_equal(err.msg, "a PIN is 4 to 32 digits");
	}
	assert_int_equal(pl_dir_user_get(d, "erin", &got, &err), 1);
	assert_int_equal(pl_dir_user_put(d, NULL, NULL, 0, &err), -1);
	pl_dir_close(d);
}

/* ---- PINs ---- */

static char *db_hash(const fixture_t *f, const char *username)
{
	sqlite3 *raw = raw_open(f);
	sqlite3_stmt *st = NULL;
	char *h = NULL;
	assert_int_equal(sqlite3_prepare_v2(raw, "SELECT pin_hash FROM users"
						 " WHERE username = ?1",
					    -1, &st, NULL),
			 SQLITE_OK);
	sqlite3_bind_text(st, 1, username, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	if (sqlite3_column_type(st, 0) != SQLITE_NULL)
		h = strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(raw);
	return h;
}

static void db_set_hash(const fixture_t *f, const char *username,
			const char *hash)
{
	sqlite3 *raw = raw_open(f);
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_prepare_v2(raw, "UPDATE users SET pin_hash = ?2"
						 " WHERE username = ?1",
					    -1, &st, NULL),
			 SQLITE_OK);
	sqlite3_bind_text(st, 1, username, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, hash, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	sqlite3_close(raw);
}

/* "$scrypt$ln=14,r=8,p=1$" + 22 base64 (16 bytes) + "$" + 43 (32 bytes) */
static void assert_hash_shape(const char *h)
{
	const char *b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *prefix = "$scrypt$ln=14,r=8,p=1$";
	assert_non_null(h);
	assert_memory_equal(h, prefix, strlen(prefix));
	h += strlen(prefix);
	assert_int_equal(strspn(h, b64), 22);
	assert_int_equal(h[22], '$');
	assert_int_equal(strspn(h + 23, b64), 43);
	assert_int_equal(strlen(h + 23), 43);
}

static void test_pin(void **state)
{
	fixture_t *f = *state;
	pl_err_t err = { "" };
	char path[160];
	const char *pin = "73918264";
	pl_dir_t *d = open_rw(f);
	pl_dir_user_t u = user("alice", "Alice"), got;
	if (pl_dir_user_put(d, &u, pin, 0, &err) < 0) /* hash 1 */
		fail_msg("put: %s", err.msg);
	assert_int_equal(pl_dir_user_get(d, "alice", &got, &err), 0);
	assert_int_equal(got.has_pin, 1);
	char *h1 = db_hash(f, "alice");
	assert_hash_shape(h1);
	assert_null(strstr(h1, pin));
	assert_int_equal(pl_dir_pin_check(d, "alice", pin, &err), 1);	  /* 2 */
	assert_int_equal(pl_dir_pin_check(d, "alice", "73918265", &err), 0); /* 3 */
	/* malformed PINs and absent users are simply wrong */
	assert_int_equal(pl_dir_pin_check(d, "alice", "7391826x", &err), 0);
	assert_int_equal(pl_dir_pin_check(d, "alice", "", &err), 0);
	assert_int_equal(pl_dir_pin_check(d, "alice", NULL, &err), 0);
	assert_int_equal(pl_dir_pin_check(d, "nobody", pin, &err), 0); /* 4 */
	assert_int_equal(pl_dir_pin_check(d, "no body", pin, &err), -1);

	/* replace without a PIN keeps it */
	pl_strlcpy(u.display_name, "Alice L.", sizeof(u.display_name));
	assert_int_equal(pl_dir_user_put(d, &u, NULL, 1, &err), 0);
	char *h2 = db_hash(f, "alice");
	assert_string_equal(h1, h2);
	free(h2);
	/* an invalid PIN on replace changes nothing */
	assert_int_equal(pl_dir_user_put(d, &u, "12", 1, &err), -1);
	assert_string_equal(err.msg, "a PIN is 4 to 32 digits");

	/* no PIN digits in the files, open (WAL) and closed */
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1)
			pl_dir_close(d);
		for (int w = 0; w < 2; w++) {
			snprintf(path, sizeof(path), "%s%s", f->db, w ? "-wal" : "");
			size_t n;
			char *bytes = slurp(path, &n);
			if (!bytes)
				continue;
			assert_false(contains(bytes, n, pin, strlen(pin)));
			free(bytes);
		}
	}
	d = open_rw(f);

	/* set a new one (fresh salt), clear it */
	assert_int_equal(pl_dir_pin_set(d, "alice", "2468", &err), 0); /* 5 */
	h2 = db_hash(f, "alice");
	assert_hash_shape(h2);
	assert_string_not_equal(h1, h2);
	free(h2);
	assert_int_equal(pl_dir_pin_check(d, "alice", "2468", &err), 1); /* 6 */
	const char *pin33 = "246800000000000000000000000000000";
	assert_int_equal(pl_dir_pin_set(d, "alice", pin33, &err), -1);
	assert_int_equal(pl_dir_pin_set(d, "alice", "24 68", &err), -1);
	assert_string_equal(err.msg, "a PIN is 4 to 32 digits");
	assert_int_equal(pl_dir_pin_set(d, "nobody", "", &err), -1);
	assert_string_equal(err.msg, "no user named nobody");
	assert_int_equal(pl_dir_pin_set(d, "alice", "", &err), 0);
	assert_null(db_hash(f, "alice"));
	assert_int_equal(pl_dir_user_get(d, "alice", &got, &err), 0);
	assert_int_equal(got.has_pin, 0);
	assert_int_equal(pl_dir_pin_check(d, "alice", "2468", &err), 0); /* 7 */

	/* put with "" clears too */
	db_set_hash(f, "alice", h1);
	assert_int_equal(pl_dir_user_put(d, &u, "", 1, &err), 0);
	assert_null(db_hash(f, "alice"));
	free(h1);
	pl_dir_close(d);
}

/* Parameters come from the stored string: a hash made with other
 * (cheaper) parameters still verifies; a malformed one is an error. */
static void test_pin_stored_params(void **state)
{
	fixture_t *f = *state;
	pl_err_t err = { "" };
	unsigned char salt[16], key[32];
	char salt64[32], key64[64], hash[160];
	pl_dir_t *d = open_rw(f);
	pl_dir_user_t u = user("frank", "Frank");
	assert_int_equal(pl_dir_user_put(d, &u, NULL, 0, &err), 0);
	for (size_t i = 0; i < sizeof(salt); i++)
		salt[i] = (unsigned char)(i * 17 + 3);
	assert_int_equal(EVP_PBE_scrypt("5555", 4, salt, sizeof(salt), 1024, 4, 2,
					0, key, sizeof(key)),
			 1);
	EVP_EncodeBlock((unsigned char *)salt64, salt, sizeof(salt));
	EVP_EncodeBlock((unsigned char *)key64, key, sizeof(key));
	*strchr(salt64, '=') = '\0';
	*strchr(key64, '=') = '\0';
	snprintf(hash, sizeof(hash), "$scrypt$ln=10,r=4,p=2$%s$%s", salt64, key64);
	db_set_hash(f, "frank", hash);
	assert_int_equal(pl_dir_pin_check(d, "frank", "5555", &err), 1);
	assert_int_equal(pl_dir_pin_check(d, "frank", "5556", &err), 0);
	const char *bad[] = {
		"$scrypt$garbage", "$2b$10$abcdefghijklmnopqrstuv",
		"$scrypt$ln=10,r=4$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"$scrypt$ln=99,r=4,p=2$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"$scrypt$ln=10,r=4,p=2$AAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"$scrypt$ln=10,r=4,p=2$AAAAAAAAAAAAAAAAAAAAAA$!!",
	};
	for (size_t i = 0; i < PL_ARRAY_LEN(bad); i++) {
		db_set_hash(f, "frank", bad[i]);
		err.msg[0] = '\0';
		if (pl_dir_pin_check(d, "frank", "5555", &err) != -1)
			fail_msg("accepted %s", bad[i]);
		assert_non_null(strstr(err.msg, "malformed"));
	}
	pl_dir_close(d);
}

static void test_user_cascade(void **state)
{
	fixture_t *f = *state;
	pl_err_t err = { "" };
	char who[128];
	pl_dir_t *d = open_rw(f);
	pl_dir_user_t a = user("alice", "Alice"), b = user("bob", "Bob");
	user_add_email(&a, "alice@example.org");
	user_add_email(&a, "shared@example.org");
	user_add_badge(&a, "a1");
	user_add_badge(&a, "a2");
	user_add_email(&b, "shared@example.org");
	user_add_badge(&b, "b1");
	assert_int_equal(pl_dir_user_put(d, &a, NULL, 0, &err), 0);
	assert_int_equal(pl_dir_user_put(d, &b, NULL, 0, &err), 0);
	assert_int_equal(pl_dir_user_del(d, "alice", &err), 0);
	sqlite3 *raw = raw_open(f);
	assert_int_equal(raw_int(raw, "SELECT count(*) FROM user_emails"), 1);
	assert_int_equal(raw_int(raw, "SELECT count(*) FROM user_emails"
				      " WHERE username = 'alice'"),
			 0);
	assert_int_equal(raw_int(raw, "SELECT count(*) FROM badges"), 1);
	sqlite3_close(raw);
	assert_int_equal(pl_dir_badge_user(d, "a1", who, sizeof(who), &err), 1);
	assert_int_equal(pl_dir_badge_user(d, "b1", who, sizeof(who), &err), 0);
	assert_string_equal(who, "bob");
	/* the badge is free again */
	b.nbadges = 0;
	user_add_badge(&b, "a2");
	assert_int_equal(pl_dir_user_put(d, &b, NULL, 1, &err), 0);
	assert_int_equal(pl_dir_badge_user(d, "a2", who, sizeof(who), &err), 0);
	assert_string_equal(who, "bob");
	pl_dir_close(d);
}

/* ---- badge readers ---- */

static pl_dir_reader_t reader(const char *name, const char *direction, int port,
			      const char *printer_name)
{
	pl_dir_reader_t r;
	memset(&r, 0, sizeof(r));
	pl_strlcpy(r.name, name, sizeof(r.name));
	pl_strlcpy(r.address, "10.1.2.3", sizeof(r.address));
	pl_strlcpy(r.direction, direction, sizeof(r.direction));
	r.port = port;
	pl_strlcpy(r.format, "{\"preset\":\"elatec-tcpconv2\"}", sizeof(r.format));
	pl_strlcpy(r.printer, printer_name, sizeof(r.printer));
	pl_strlcpy(r.mode, "most-recent", sizeof(r.mode));
	return r;
}

static void test_readers(void **state)
{
	fixture_t *f = *state;
	pl_err_t err = { "" };
	pl_dir_t *d = open_rw(f);
	pl_dir_printer_t p = printer("hp-1", "socket://10.0.0.5:9100");
	pl_dir_reader_t *list = NULL;
	size_t n = 99;
	assert_int_equal(pl_dir_printer_add(d, &p, 0, &err), 0);
	assert_int_equal(pl_dir_reader_list(d, &list, &n, &err), 0);
	assert_int_equal(n, 0);
	free(list);
	pl_dir_reader_t r1 = reader("lobby", "listen", 10001, "hp-1");
	pl_dir_reader_t r2 = reader("Annex.2", "connect", 0, "hp-1");
	pl_strlcpy(r2.mode, "all", sizeof(r2.mode));
	pl_strlcpy(r2.address, "reader-7.corp.example", sizeof(r2.address));
	if (pl_dir_reader_put(d, &r1, 0, &err) < 0)
		fail_msg("put: %s", err.msg);
	assert_int_equal(pl_dir_reader_put(d, &r2, 0, &err), 0);
	assert_int_equal(pl_dir_reader_list(d, &list, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(list[0].name, "Annex.2");
	assert_string_equal(list[0].address, "reader-7.corp.example");
	assert_string_equal(list[0].direction, "connect");
	assert_int_equal(list[0].port, 0);
	assert_string_equal(list[0].mode, "all");
	assert_string_equal(list[1].name, "lobby");
	assert_string_equal(list[1].address, "10.1.2.3");
	assert_string_equal(list[1].direction, "listen");
	assert_int_equal(list[1].port, 10001);
	assert_string_equal(list[1].format, "{\"preset\":\"elatec-tcpconv2\"}");
	assert_string_equal(list[1].printer, "hp-1");
	assert_string_equal(list[1].mode, "most-recent");
	free(list);

	/* duplicate, then replace */
	r1.port = 10002;
	assert_int_equal(pl_dir_reader_put(d, &r1, 0, &err), -1);
	assert_string_equal(err.msg, "reader lobby already exists");
	assert_int_equal(pl_dir_reader_put(d, &r1, 1, &err), 0);
	assert_int_equal(pl_dir_reader_list(d, &list, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_int_equal(list[1].port, 10002);
	free(list);

	/* unknown printer: refused, nothing stored */
	pl_dir_reader_t r3 = reader("hall", "connect", 0, "nope");
	assert_int_equal(pl_dir_reader_put(d, &r3, 0, &err), -1);
	assert_string_equal(err.msg, "unknown printer nope");
	assert_int_equal(pl_dir_reader_put(d, &r3, 1, &err), -1);

	/* update: every field but the name, only of a reader that exists */
	pl_dir_reader_t got;
	pl_dir_printer_t p2 = printer("hp-2", "socket://10.0.0.6:9100");
	assert_int_equal(pl_dir_printer_add(d, &p2, 0, &err), 0);
	pl_dir_reader_t u = reader("lobby", "connect", 0, "hp-2");
	pl_strlcpy(u.address, "10.1.2.4", sizeof(u.address));
	pl_strlcpy(u.mode, "all", sizeof(u.mode));
	if (pl_dir_reader_update(d, &u, &err) < 0)
		fail_msg("update: %s", err.msg);
	assert_int_equal(pl_dir_reader_get(d, "lobby", &got, &err), 0);
	assert_string_equal(got.address, "10.1.2.4");
	assert_string_equal(got.direction, "connect");
	assert_int_equal(got.port, 0);
	assert_string_equal(got.printer, "hp-2");
	assert_string_equal(got.mode, "all");
	u = reader("ghost", "connect", 0, "hp-2");
	assert_int_equal(pl_dir_reader_update(d, &u, &err), -1);
	assert_string_equal(err.msg, "no reader named ghost");
	assert_int_equal(pl_dir_reader_get(d, "ghost", &got, &err), 1);
	assert_int_equal(pl_dir_reader_get(d, "a b", &got, &err), 1);
	u = reader("lobby", "connect", 0, "nope");
	assert_int_equal(pl_dir_reader_update(d, &u, &err), -1);
	assert_string_equal(err.msg, "unknown printer nope");
	u = reader("lobby", "listen", 0, "hp-2");
	assert_int_equal(pl_dir_reader_update(d, &u, &err), -1);
	assert_non_null(strstr(err.msg, "needs a port"));
	assert_int_equal(pl_dir_reader_update(d, NULL, &err), -1);
	/* the refused updates changed nothing */
	assert_int_equal(pl_dir_reader_get(d, "lobby", &got, &err), 0);
	assert_string_equal(got.printer, "hp-2");
	assert_string_equal(got.direction, "connect");

	assert_int_equal(pl_dir_reader_del(d, "lobby", &err), 0);
	assert_int_equal(pl_dir_reader_del(d, "lobby", &err), -1);
	assert_string_equal(err.msg, "no reader named lobby");
	assert_int_equal(pl_dir_reader_del(d, "a b", &err), -1);
	assert_string_equal(err.msg, "invalid reader name");
	assert_int_equal(pl_dir_reader_list(d, &list, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(list[0].name, "Annex.2");
	free(list);
	pl_dir_close(d);
}

static void test_reader_invalid(void **state)
{
	fixture_t *f = *state;
	pl_err_t err = { "" };
	pl_dir_t *d = open_rw(f);
	pl_dir_printer_t p = printer("hp-1", "socket://10.0.0.5:9100");
	pl_dir_reader_t r;
	assert_int_equal(pl_dir_printer_add(d, &p, 0, &err), 0);
	const char *badnames[] = { "", "a b", "x/y", "semi;colon", "\xc3\xbc" };
	for (size_t i = 0; i < PL_ARRAY_LEN(badnames); i++) {
		r = reader(badnames[i], "connect", 0, "hp-1");
		assert_int_equal(pl_dir_reader_put(d, &r, 0, &err), -1);
		assert_string_equal(err.msg, "invalid reader name");
	}
	r = reader("r", "listen", 0, "hp-1"); /* we dial it: needs a port */
	assert_int_equal(pl_dir_reader_put(d, &r, 0, &err), -1);
	assert_non_null(strstr(err.msg, "needs a port"));
	r.port = 65536;
	assert_int_equal(pl_dir_reader_put(d, &r, 0, &err), -1);
	r = reader("r", "connect", -1, "hp-1");
	assert_int_equal(pl_dir_reader_put(d, &r, 0, &err), -1);
	r = reader("r", "dial", 4000, "hp-1");
	assert_int_equal(pl_dir_reader_put(d, &r, 0, &err), -1);
	assert_non_null(strstr(err.msg, "direction must be connect or listen"));
	r = reader("r", "connect", 0, "hp-1");
	pl_strlcpy(r.mode, "first", sizeof(r.mode));
	assert_int_equal(pl_dir_reader_put(d, &r, 0, &err), -1);
	assert_non_null(strstr(err.msg, "mode must be most-recent or all"));
	r = reader("r", "connect", 0, "hp-1");
	r.address[0] = '\0';
	assert_int_equal(pl_dir_reader_put(d, &r, 0, &err), -1);
	assert_non_null(strstr(err.msg, "invalid address"));
	memset(r.address, 'a', sizeof(r.address)); /* no terminator */
	assert_int_equal(pl_dir_reader_put(d, &r, 0, &err), -1);
	r = reader("r", "connect", 0, "hp-1");
	r.format[0] = '\0';
	assert_int_equal(pl_dir_reader_put(d, &r, 0, &err), -1);
	assert_non_null(strstr(err.msg, "format"));
	memset(r.format, '{', sizeof(r.format));
	assert_int_equal(pl_dir_reader_put(d, &r, 0, &err), -1);
	r = reader("r", "connect", 0, "bad printer");
	assert_int_equal(pl_dir_reader_put(d, &r, 0, &err), -1);
	assert_non_null(strstr(err.msg, "invalid printer name"));
	assert_int_equal(pl_dir_reader_put(d, NULL, 0, &err), -1);
	/* the edges that are fine: a 255-byte address, 511-byte format
	 * (not parsed here), port 65535, connect with a port */
	r = reader("r", "connect", 65535, "hp-1");
	memset(r.address, 'a', 255);
	r.address[255] = '\0';
	memset(r.format, 'x', 511);
	r.format[511] = '\0';
	if (pl_dir_reader_put(d, &r, 0, &err) < 0)
		fail_msg("edges: %s", err.msg);
	pl_dir_reader_t *list = NULL;
	size_t n = 0;
	assert_int_equal(pl_dir_reader_list(d, &list, &n, &err), 0);
	assert_int_equal(n, 1);
	free(list);
	pl_dir_close(d);
}

/* ---- migration from version 2 ---- */

/* Migration 2 as it shipped, run on top of v1_schema. */
static const char v2_migration[] =
	"CREATE TABLE users("
	" username TEXT PRIMARY KEY,"
	" display_name TEXT NOT NULL DEFAULT '',"
	" groups TEXT NOT NULL DEFAULT '',"
	" pin_hash TEXT,"
	" source TEXT NOT NULL DEFAULT 'local'"
	"  CHECK(source IN ('local', 'ldap', 'scim')),"
	" created_ms INTEGER NOT NULL,"
	" updated_ms INTEGER NOT NULL);"
	"CREATE TABLE user_emails("
	" username TEXT NOT NULL REFERENCES users(username) ON DELETE CASCADE,"
	" email TEXT NOT NULL,"
	" PRIMARY KEY(username, email));"
	"CREATE INDEX user_emails_email ON user_emails(email);"
	"CREATE TABLE badges("
	" badge_id TEXT PRIMARY KEY,"
	" username TEXT NOT NULL REFERENCES users(username) ON DELETE CASCADE);"
	"CREATE INDEX badges_username ON badges(username);"
	"CREATE TABLE readers("
	" name TEXT PRIMARY KEY,"
	" address TEXT NOT NULL,"
	" direction TEXT NOT NULL CHECK(direction IN ('connect', 'listen')),"
	" port INTEGER NOT NULL DEFAULT 0 CHECK(port BETWEEN 0 AND 65535),"
	" format TEXT NOT NULL,"
	" printer TEXT NOT NULL,"
	" mode TEXT NOT NULL CHECK(mode IN ('most-recent', 'all')),"
	" created_ms INTEGER NOT NULL);";

/* A PIN hash made by the code before PIN and password hashing were
 * shared (directory-secret.c): PIN 40916283, scrypt ln=14, r=8, p=1. It
 * must verify forever. */
#define LEGACY_PIN "40916283"
#define LEGACY_PIN_HASH \
	"$scrypt$ln=14,r=8,p=1$YBTcx5PZKnxiKpXSfZychg" \
	"$vJDoOMmBaR/KsPlUWGxn9EsQXUe0+j5aSTIm8GV/AwU"

static const char v2_rows[] =
	"INSERT INTO users(username, display_name, groups, pin_hash, source,"
	" created_ms, updated_ms) VALUES('olga', 'Olga O', 'print,scan', '"
	LEGACY_PIN_HASH "', 'local', 3, 4);"
	"INSERT INTO users(username, display_name, created_ms, updated_ms)"
	" VALUES('pete', 'Pete P', 5, 5);"
	"INSERT INTO user_emails(username, email) VALUES('olga', 'olga@example.org');"
	"INSERT INTO badges(badge_id, username) VALUES('1a2b', 'olga');"
	"INSERT INTO badges(badge_id, username) VALUES('ff01', 'pete');"
	"INSERT INTO readers(name, address, direction, port, format, printer,"
	" mode, created_ms) VALUES('lobby-1', '10.0.5.21', 'connect', 0,"
	" '{\"preset\":\"elatec-tcpconv2\"}', 'old-hp', 'all', 6);"
	"PRAGMA user_version = 2;";

static void test_migrate_from_v2(void **state)
{
	fixture_t *f = *state;
	pl_err_t err = { "" };
	char dir[128], who[128];
	pl_dir_t *d = NULL;
	snprintf(dir, sizeof(dir), "%s/state/directory", f->dir);
	assert_int_equal(pl_mkdir_p(dir, 0750), 0);
	sqlite3 *raw = raw_open(f);
	raw_exec(raw, v1_schema);
	raw_exec(raw, v2_migration);
	raw_exec(raw, v2_rows);
	sqlite3_close(raw);
	/* a read-only open does not migrate */
	assert_int_equal(pl_dir_open(&d, f->db, 1, &err), -1);
	assert_non_null(strstr(err.msg, "has schema version 2, this program needs " DIR_V));
	d = open_rw(f);
	assert_int_equal(pl_dir_schema_version(d), PL_DIR_SCHEMA_VERSION);
	/* printers, users with their emails, badges and PINs, readers: all kept */
	pl_dir_printer_t p;
	assert_int_equal(pl_dir_printer_get(d, "old-hp", &p, &err), 0);
	assert_string_equal(p.location, "basement");
	pl_dir_user_t u;
	assert_int_equal(pl_dir_user_get(d, "olga", &u, &err), 0);
	assert_string_equal(u.display_name, "Olga O");
	assert_string_equal(u.groups, "print,scan");
	assert_int_equal(u.nemails, 1);
	assert_string_equal(u.emails[0], "olga@example.org");
	assert_int_equal(u.nbadges, 1);
	assert_string_equal(u.badges[0], "1a2b");
	assert_int_equal(u.has_pin, 1);
	assert_int_equal(u.created_ms, 3);
	assert_int_equal(pl_dir_badge_user(d, "ff01", who, sizeof(who), &err), 0);
	assert_string_equal(who, "pete");
	pl_dir_reader_t *rd = NULL;
	size_t n = 0;
	assert_int_equal(pl_dir_reader_list(d, &rd, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(rd[0].name, "lobby-1");
	assert_string_equal(rd[0].printer, "old-hp");
	assert_string_equal(rd[0].mode, "all");
	free(rd);
	/* the PIN hashed before the refactor still verifies (2 scrypt runs) */
	if (pl_dir_pin_check(d, "olga", LEGACY_PIN, &err) != 1)
		fail_msg("legacy PIN: %s", err.msg);
	assert_int_equal(pl_dir_pin_check(d, "olga", "40916284", &err), 0);
	/* the new table is there, empty */
	pl_dir_admin_t *admins = NULL;
	n = 99;
	assert_int_equal(pl_dir_admin_list(d, &admins, &n, &err), 0);
	assert_int_equal(n, 0);
	assert_null(admins);
	assert_int_equal(pl_dir_admin_exists(d, "root", &err), 0);
	pl_dir_close(d);
	raw = raw_open(f);
	assert_int_equal(raw_int(raw, "PRAGMA user_version"), PL_DIR_SCHEMA_VERSION);
	assert_int_equal(raw_int(raw, "SELECT count(*) FROM sqlite_schema"
				      " WHERE type = 'table' AND name = 'admins'"),
			 1);
	assert_int_equal(raw_int(raw, "SELECT count(*) FROM users"), 2);
	assert_int_equal(raw_int(raw, "SELECT count(*) FROM badges"), 2);
	sqlite3_close(raw);
}

/* ---- migration 8: users, user_emails and badges without rowids ---- */

/* Migrations 3 to 7 as they shipped, on top of v2_migration. */
static const char v3_to_v7[] =
	"CREATE TABLE admins("
	" name TEXT PRIMARY KEY,"
	" password_hash TEXT NOT NULL,"
	" created_ms INTEGER NOT NULL,"
	" updated_ms INTEGER NOT NULL);"
	"ALTER TABLE users ADD COLUMN external_id TEXT;"
	"CREATE UNIQUE INDEX users_external ON users(source, external_id)"
	" WHERE external_id IS NOT NULL;"
	"ALTER TABLE users ADD COLUMN pin_mark TEXT;"
	"CREATE TABLE printer_snmp("
	" printer TEXT PRIMARY KEY REFERENCES printers(name) ON DELETE CASCADE,"
	" options TEXT NOT NULL,"
	" updated_ms INTEGER NOT NULL);"
	"ALTER TABLE printers ADD COLUMN email TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE printers ADD COLUMN guest INTEGER NOT NULL DEFAULT 0;"
	"CREATE INDEX printers_email ON printers(email COLLATE NOCASE) WHERE email != '';"
	"CREATE INDEX user_emails_email_nocase ON user_emails(email COLLATE NOCASE);";

#define MARK64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* Local, LDAP and SCIM users, children written interleaved and out of
 * sorted order (their order was their rowid), rows in other tables that
 * reference a printer, and children of no user that only a writer with
 * foreign keys off could leave. */
static const char v7_rows[] =
	"PRAGMA foreign_keys = ON;"
	"INSERT INTO users(username, display_name, groups, pin_hash, source,"
	" created_ms, updated_ms) VALUES('olga', 'Olga O', 'print,scan', '"
	LEGACY_PIN_HASH "', 'local', 3, 4);"
	"INSERT INTO users(username, display_name, source, created_ms, updated_ms,"
	" external_id, pin_mark) VALUES('lena', 'Lena L', 'ldap', 5, 6, 'uuid-lena', '"
	MARK64 "');"
	"INSERT INTO users(username, display_name, source, created_ms, updated_ms,"
	" external_id) VALUES('sam', 'Sam S', 'scim', 7, 8, 'ext-sam');"
	"INSERT INTO users(username, display_name, created_ms, updated_ms)"
	" VALUES('pete', 'Pete P', 9, 9);"
	"INSERT INTO user_emails(username, email) VALUES('olga', 'zz-olga@example.org');"
	"INSERT INTO badges(badge_id, username) VALUES('ff01', 'olga');"
	"INSERT INTO user_emails(username, email) VALUES('lena', 'lena@example.org');"
	"INSERT INTO badges(badge_id, username) VALUES('c0de', 'lena');"
	"INSERT INTO user_emails(username, email) VALUES('olga', 'Olga@Example.org');"
	"INSERT INTO badges(badge_id, username) VALUES('1a2b', 'olga');"
	"INSERT INTO badges(badge_id, username) VALUES('beef', 'lena');"
	"INSERT INTO user_emails(username, email) VALUES('sam', 'sam@b.example');"
	"INSERT INTO user_emails(username, email) VALUES('sam', 'sam@a.example');"
	"INSERT INTO badges(badge_id, username) VALUES('77', 'olga');"
	"INSERT INTO printer_snmp(printer, options, updated_ms) VALUES('old-hp', 'interval=30', 10);"
	"INSERT INTO readers(name, address, direction, port, format, printer,"
	" mode, created_ms) VALUES('lobby-1', '10.0.5.21', 'connect', 0,"
	" '{\"preset\":\"elatec-tcpconv2\"}', 'old-hp', 'all', 6);"
	"INSERT INTO admins(name, password_hash, created_ms, updated_ms)"
	" VALUES('root', 'x', 1, 1);"
	"PRAGMA foreign_keys = OFF;"
	"INSERT INTO badges(badge_id, username) VALUES('dead', 'ghost');"
	"INSERT INTO user_emails(username, email) VALUES('ghost', 'ghost@example.org');"
	"PRAGMA user_version = 7;";

static void user_has(pl_dir_t *d, const char *name, const char *const *emails, int ne,
		     const char *const *badges, int nb)
{
	pl_err_t err = { "" };
	pl_dir_user_t u;
	if (pl_dir_user_get(d, name, &u, &err) != 0)
		fail_msg("get %s: %s", name, err.msg);
	assert_int_equal(u.nemails, ne);
	for (int i = 0; i < ne; i++)
		assert_string_equal(u.emails[i], emails[i]);
	assert_int_equal(u.nbadges, nb);
	for (int i = 0; i < nb; i++)
		assert_string_equal(u.badges[i], badges[i]);
}

/* A constraint (primary code SQLITE_CONSTRAINT) refuses sql. */
static void raw_refused(sqlite3 *db, const char *sql)
{
	int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	if ((rc & 0xff) != SQLITE_CONSTRAINT)
		fail_msg("not refused by a constraint (%d): %s", rc, sql);
}

static void v8_constraints(sqlite3 *raw)
{
	raw_exec(raw, "PRAGMA foreign_keys = ON");
	raw_refused(raw, "INSERT INTO badges(badge_id, username, pos) VALUES('0bad', 'nobody', 0)");
	raw_refused(raw, "INSERT INTO badges(badge_id, username, pos) VALUES('ff01', 'lena', 5)");
	raw_refused(raw, "INSERT INTO badges(badge_id, username) VALUES('0bad', 'lena')");
	raw_refused(raw, "INSERT INTO badges(badge_id, username, pos) VALUES(NULL, 'lena', 5)");
	raw_refused(raw, "INSERT INTO user_emails(username, email, pos)"
			 " VALUES('olga', 'Olga@Example.org', 9)");
	raw_refused(raw, "INSERT INTO user_emails(username, email, pos) VALUES('nobody', 'n@x', 0)");
	raw_refused(raw, "INSERT INTO user_emails(username, email, pos) VALUES('olga', NULL, 0)");
	raw_refused(raw, "INSERT INTO users(username, source, created_ms, updated_ms)"
			 " VALUES('x', 'other', 1, 1)");
	raw_refused(raw, "UPDATE users SET source = 'LDAP' WHERE username = 'pete'");
	raw_refused(raw, "INSERT INTO users(username, created_ms, updated_ms) VALUES('olga', 1, 1)");
	raw_refused(raw, "INSERT INTO users(username, created_ms, updated_ms) VALUES(NULL, 1, 1)");
	raw_refused(raw, "INSERT INTO users(username, created_ms) VALUES('x', 1)");
	raw_refused(raw, "INSERT INTO users(username, display_name, created_ms, updated_ms)"
			 " VALUES('x', NULL, 1, 1)");
	raw_refused(raw, "INSERT INTO users(username, source, created_ms, updated_ms, external_id)"
			 " VALUES('x', 'ldap', 1, 1, 'uuid-lena')");
	/* what the constraints allow still goes in: the same key in another
	 * source, local users without one, the same address for two users */
	raw_exec(raw, "INSERT INTO users(username, source, created_ms, updated_ms, external_id)"
		      " VALUES('x', 'scim', 1, 1, 'uuid-lena');"
		      "INSERT INTO users(username, created_ms, updated_ms) VALUES('y', 1, 1);"
		      "INSERT INTO user_emails(username, email, pos) VALUES('y', 'lena@example.org', 0);"
		      "DELETE FROM users WHERE username IN ('x', 'y')");
	/* the cascade: a user's addresses and badges go with it */
	raw_exec(raw, "DELETE FROM users WHERE username = 'lena'");
	assert_int_equal(raw_int(raw, "SELECT count(*) FROM badges WHERE username = 'lena'"), 0);
	assert_int_equal(raw_int(raw, "SELECT count(*) FROM user_emails WHERE username = 'lena'"), 0);
	assert_int_equal(raw_int(raw, "SELECT count(*) FROM user_emails"
				      " WHERE email = 'lena@example.org'"), 0);
	assert_int_equal(raw_int(raw, "SELECT count(*) FROM pragma_foreign_key_check"), 0);
}

static void test_migrate_v7_rowless(void **state)
{
	fixture_t *f = *state;
	pl_err_t err = { "" };
	char dir[128], who[128], text[PL_DIR_SNMP_TEXT_MAX];
	snprintf(dir, sizeof(dir), "%s/state/directory", f->dir);
	assert_int_equal(pl_mkdir_p(dir, 0750), 0);
	sqlite3 *raw = raw_open(f);
	raw_exec(raw, v1_schema);
	raw_exec(raw, v2_migration);
	raw_exec(raw, v3_to_v7);
	raw_exec(raw, v7_rows);
	/* a migration that fails half-way leaves version 7 as it was (one
	 * transaction): a table in the way of its renames */
	raw_exec(raw, "CREATE TABLE users_v7(x)");
	pl_dir_t *d = NULL;
	assert_int_equal(pl_dir_open(&d, f->db, 0, &err), -1);
	assert_non_null(strstr(err.msg, "users_v7"));
	assert_int_equal(raw_int(raw, "PRAGMA user_version"), 7);
	assert_int_equal(raw_int(raw, "SELECT count(*) FROM users"), 4);
	assert_int_equal(raw_int(raw, "SELECT count(*) FROM badges"), 6);
	assert_int_equal(raw_int(raw, "SELECT count(*) FROM sqlite_schema"
				      " WHERE name IN ('user_emails_email', 'badges_username')"),
			 2);
	raw_exec(raw, "DROP TABLE users_v7");
	sqlite3_close(raw);
	d = open_rw(f);
	assert_int_equal(pl_dir_schema_version(d), PL_DIR_SCHEMA_VERSION);
	/* every user with its addresses and badges in the order put */
	static const char *const olga_e[] = { "zz-olga@example.org", "Olga@Example.org" },
				 *const olga_b[] = { "ff01", "1a2b", "77" },
				 *const lena_e[] = { "lena@example.org" },
				 *const lena_b[] = { "c0de", "beef" },
				 *const sam_e[] = { "sam@b.example", "sam@a.example" };
	user_has(d, "olga", olga_e, 2, olga_b, 3);
	user_has(d, "lena", lena_e, 1, lena_b, 2);
	user_has(d, "sam", sam_e, 2, NULL, 0);
	user_has(d, "pete", NULL, 0, NULL, 0);
	pl_dir_user_t *list = NULL;
	size_t n = 0;
	assert_int_equal(pl_dir_user_list(d, &list, &n, &err), 0);
	assert_int_equal(n, 4);
	assert_string_equal(list[0].username, "lena");
	assert_string_equal(list[0].source, "ldap");
	assert_string_equal(list[0].external_id, "uuid-lena");
	assert_string_equal(list[0].pin_mark, MARK64);
	assert_int_equal(list[0].created_ms, 5);
	assert_string_equal(list[1].username, "olga");
	assert_int_equal(list[1].nbadges, 3);
	assert_string_equal(list[1].badges[2], "77");
	assert_string_equal(list[1].emails[1], "Olga@Example.org");
	assert_int_equal(list[1].has_pin, 1);
	assert_string_equal(list[1].groups, "print,scan");
	assert_string_equal(list[3].username, "sam");
	assert_string_equal(list[3].source, "scim");
	assert_string_equal(list[3].emails[1], "sam@a.example");
	free(list);
	/* the lookups: by address in any case, by badge; the PIN */
	assert_int_equal(pl_dir_user_by_email(d, "OLGA@example.ORG", who, sizeof(who), &err), 0);
	assert_string_equal(who, "olga");
	assert_int_equal(pl_dir_badge_user(d, "beef", who, sizeof(who), &err), 0);
	assert_string_equal(who, "lena");
	assert_int_equal(pl_dir_badge_user(d, "dead", who, sizeof(who), &err), 1);
	assert_int_equal(pl_dir_user_by_email(d, "ghost@example.org", who, sizeof(who), &err), 1);
	if (pl_dir_pin_check(d, "olga", LEGACY_PIN, &err) != 1)
		fail_msg("legacy PIN: %s", err.msg);
	/* the rows of other tables */
	assert_int_equal(pl_dir_snmp_get(d, "old-hp", text, &err), 0);
	assert_string_equal(text, "interval=30");
	assert_int_equal(pl_dir_admin_exists(d, "root", &err), 1);
	pl_dir_reader_t *rd = NULL;
	assert_int_equal(pl_dir_reader_list(d, &rd, &n, &err), 0);
	assert_int_equal(n, 1);
	free(rd);
	/* a sync and a put on the new tables keep their lists' order */
	pl_dir_sync_item_t it;
	memset(&it, 0, sizeof(it));
	pl_strlcpy(it.key, "uuid-lena", sizeof(it.key));
	it.user = user("lena", "Lena L");
	pl_strlcpy(it.user.external_id, "uuid-lena", sizeof(it.user.external_id));
	pl_strlcpy(it.user.emails[0], "lena@example.org", sizeof(it.user.emails[0]));
	it.user.nemails = 1;
	char msg[128];
	assert_int_equal(pl_dir_user_add_badge(&it.user, "hex:ff02", msg, sizeof(msg)), 0);
	assert_int_equal(pl_dir_user_add_badge(&it.user, "hex:c0de", msg, sizeof(msg)), 0);
	assert_int_equal(pl_dir_user_add_badge(&it.user, "hex:1234", msg, sizeof(msg)), 0);
	pl_dir_sync_counts_t c;
	if (pl_dir_sync_apply(d, "ldap", &it, 1, NULL, NULL, &c, &err) < 0)
		fail_msg("sync: %s", err.msg);
	assert_int_equal(c.updated, 1);
	static const char *const lena_b2[] = { "ff02", "c0de", "1234" };
	user_has(d, "lena", lena_e, 1, lena_b2, 3);
	pl_dir_close(d);

	raw = raw_open(f);
	assert_int_equal(raw_int(raw, "PRAGMA user_version"), PL_DIR_SCHEMA_VERSION);
	assert_int_equal(raw_int(raw, "SELECT count(*) FROM pragma_table_list"
				      " WHERE name IN ('users', 'user_emails', 'badges') AND wr = 1"),
			 3);
	/* nothing of the old tables left, and the unused index gone */
	assert_int_equal(raw_int(raw, "SELECT count(*) FROM sqlite_schema WHERE name LIKE '%v7%'"
				      " OR sql LIKE '%v7%' OR name = 'user_emails_email'"),
			 0);
	assert_int_equal(raw_int(raw, "SELECT count(*) FROM sqlite_schema WHERE name IN"
				      " ('users_external', 'user_emails_email_nocase',"
				      " 'badges_username', 'printers_email', 'tokens_workstation')"),
			 5);
	assert_int_equal(raw_int(raw, "SELECT count(*) FROM users"), 4);
	assert_int_equal(raw_int(raw, "SELECT count(*) FROM badges"), 6);
	assert_int_equal(raw_int(raw, "SELECT count(*) FROM user_emails"), 5);
	assert_int_equal(raw_int(raw, "SELECT count(*) FROM pragma_foreign_key_check"), 0);
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_prepare_v2(raw, "PRAGMA integrity_check", -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
	sqlite3_finalize(st);
	v8_constraints(raw);
	sqlite3_close(raw);
}

/* The statements on the three tables each find their rows by a key or
 * an index (EXPLAIN QUERY PLAN): no table scan where one row or one
 * user's rows are wanted. */
static void test_v8_query_plans(void **state)
{
	fixture_t *f = *state;
	static const struct {
		const char *sql, *uses;
	} q[] = {
		{ "SELECT username FROM users WHERE source = 'ldap' AND external_id = 'k'",
		  "users_external" },
		{ "SELECT source FROM users WHERE username = 'u'", "PRIMARY KEY" },
		{ "DELETE FROM users WHERE username = 'u'", "PRIMARY KEY" },
		{ "DELETE FROM users WHERE source = 'ldap' AND external_id = 'k'", "users_external" },
		{ "SELECT username FROM badges WHERE badge_id = 'b'", "PRIMARY KEY" },
		{ "DELETE FROM badges WHERE badge_id = 'b'", "PRIMARY KEY" },
		{ "DELETE FROM badges WHERE username = 'u'", "badges_username" },
		{ "SELECT username, badge_id FROM badges WHERE username = 'u' ORDER BY pos",
		  "badges_username" },
		{ "DELETE FROM user_emails WHERE username = 'u'", "PRIMARY KEY" },
		{ "SELECT username, email FROM user_emails WHERE username = 'u' ORDER BY pos",
		  "PRIMARY KEY" },
		{ "SELECT username FROM user_emails WHERE email = 'a@b' COLLATE NOCASE"
		  " ORDER BY username LIMIT 1",
		  "user_emails_email_nocase" },
		{ "SELECT 1 FROM users u JOIN badges b ON b.username = u.username"
		  " WHERE u.source = 'ldap' AND u.external_id IS NOT NULL LIMIT 1",
		  "badges_username" },
	};
	pl_dir_close(open_rw(f));
	sqlite3 *raw = raw_open(f);
	for (size_t i = 0; i < PL_ARRAY_LEN(q); i++) {
		char sql[512], plan[1024] = "";
		sqlite3_stmt *st = NULL;
		snprintf(sql, sizeof(sql), "EXPLAIN QUERY PLAN %s", q[i].sql);
		assert_int_equal(sqlite3_prepare_v2(raw, sql, -1, &st, NULL), SQLITE_OK);
		while (sqlite3_step(st) == SQLITE_ROW) {
			size_t len = strlen(plan);
			snprintf(plan + len, sizeof(plan) - len, "%s; ",
				 (const char *)sqlite3_column_text(st, 3));
		}
		sqlite3_finalize(st);
		if (strstr(plan, "SCAN") || !strstr(plan, q[i].uses))
			fail_msg("%s: %s", q[i].sql, plan);
	}
	sqlite3_close(raw);
}

/* ---- administrators ---- */

static char *db_admin_hash(const fixture_t *f, const char *name)
{
	sqlite3 *raw = raw_open(f);
	sqlite3_stmt *st = NULL;
	char *h = NULL;
	assert_int_equal(sqlite3_prepare_v2(raw, "SELECT password_hash FROM admins"
						 " WHERE name = ?1",
					    -1, &st, NULL),
			 SQLITE_OK);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		h = strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(raw);
	return h;
}

/* About nine scrypt runs (~50 ms each): every put that passes the checks
 * and every check. */
static void test_admins(void **state)
{
	fixture_t *f = *state;
	pl_err_t err = { "" };
	const char *pw = "0123456789"; /* exactly the minimum */
	pl_dir_t *d = open_rw(f);
	pl_dir_admin_t *list = NULL;
	size_t n = 0;

	assert_int_equal(pl_dir_admin_exists(d, "alice", &err), 0);
	if (pl_dir_admin_put(d, "alice", pw, 0, &err) < 0) /* 1 */
		fail_msg("put: %s", err.msg);
	assert_int_equal(pl_dir_admin_exists(d, "alice", &err), 1);
	char *h1 = db_admin_hash(f, "alice");
	assert_hash_shape(h1); /* never the password itself */
	assert_null(strstr(h1, pw));

	assert_int_equal(pl_dir_admin_check(d, "alice", pw, &err), 1);		/* 2 */
	assert_int_equal(pl_dir_admin_check(d, "alice", "0123456788", &err), 0); /* 3 */
	/* an unknown or impossible name is simply wrong, after the same work */
	assert_int_equal(pl_dir_admin_check(d, "nobody", pw, &err), 0);	/* 4 */
	assert_int_equal(pl_dir_admin_check(d, "no body", pw, &err), 0);	/* 5 */
	assert_int_equal(pl_dir_admin_check(d, NULL, pw, &err), 0);		/* 6 */
	assert_int_equal(pl_dir_admin_check(d, "alice", NULL, &err), 0);

	/* a second add fails and keeps the password */
	assert_int_equal(pl_dir_admin_put(d, "alice", "another password", 0, &err),
			 -1); /* 7 */
	assert_string_equal(err.msg, "administrator alice already exists");
	char *h2 = db_admin_hash(f, "alice");
	assert_string_equal(h1, h2);
	free(h2);
	/* passwd of a missing one */
	assert_int_equal(pl_dir_admin_put(d, "bob", "another password", 1, &err),
			 -1); /* 8 */
	assert_string_equal(err.msg, "no administrator bob");
	assert_int_equal(pl_dir_admin_exists(d, "bob", &err), 0);

	/* passwords: 10 characters (not bytes) to 1024 bytes; names as
	 * printers'. None of these hash. */
	static const char nine_chars[] = /* in 18 bytes */
		"\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4"
		"\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4";
	const char *shorts[] = { "", "012345678", nine_chars };
	for (size_t i = 0; i < PL_ARRAY_LEN(shorts); i++) {
		assert_int_equal(pl_dir_admin_put(d, "carol", shorts[i], 0, &err), -1);
		assert_string_equal(err.msg, "password too short: at least 10 characters");
	}
	assert_int_equal(pl_dir_admin_put(d, "carol", NULL, 0, &err), -1);
	assert_string_equal(err.msg, "password too short: at least 10 characters");
	char longpw[1026];
	memset(longpw, 'x', 1025);
	longpw[1025] = '\0';
	assert_int_equal(pl_dir_admin_put(d, "carol", longpw, 0, &err), -1);
	assert_string_equal(err.msg, "password too long: at most 1024 bytes");
	assert_int_equal(pl_dir_admin_check(d, "alice", longpw, &err), 0);
	const char *badnames[] = { "", "no body", "a/b", "caf\xc3\xa9" };
	for (size_t i = 0; i < PL_ARRAY_LEN(badnames); i++) {
		assert_int_equal(pl_dir_admin_put(d, badnames[i], pw, 0, &err), -1);
		assert_non_null(strstr(err.msg, "invalid administrator name"));
		assert_int_equal(pl_dir_admin_exists(d, badnames[i], &err), -1);
		assert_int_equal(pl_dir_admin_del(d, badnames[i], &err), -1);
	}
	assert_int_equal(pl_dir_admin_put(d, NULL, pw, 0, &err), -1);
	assert_int_equal(raw_int(d->db, "SELECT count(*) FROM admins"), 1);

	/* passwd: a fresh hash, created_ms kept, the old password wrong */
	assert_int_equal(pl_dir_admin_list(d, &list, &n, &err), 0);
	assert_int_equal(n, 1);
	int64_t created = list[0].created_ms;
	free(list);
	if (pl_dir_admin_put(d, "alice", "a new password", 1, &err) < 0) /* 9 */
		fail_msg("passwd: %s", err.msg);
	h2 = db_admin_hash(f, "alice");
	assert_hash_shape(h2);
	assert_string_not_equal(h1, h2);
	free(h2);
	assert_int_equal(pl_dir_admin_check(d, "alice", "a new password", &err), 1);
	assert_int_equal(pl_dir_admin_check(d, "alice", pw, &err), 0);
	free(h1);

	/* list: by name, no hashes */
	sqlite3 *raw = raw_open(f);
	raw_exec(raw, "INSERT INTO admins(name, password_hash, created_ms,"
		      " updated_ms) VALUES('Zed', 'x', 7, 8), ('bob', 'y', 9, 9)");
	sqlite3_close(raw);
	assert_int_equal(pl_dir_admin_list(d, &list, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_string_equal(list[0].name, "Zed"); /* byte order */
	assert_int_equal(list[0].created_ms, 7);
	assert_int_equal(list[0].updated_ms, 8);
	assert_string_equal(list[1].name, "alice");
	assert_int_equal(list[1].created_ms, created);
	assert_true(list[1].updated_ms >= created);
	assert_string_equal(list[2].name, "bob");
	free(list);
	/* a malformed stored hash is an error, not a match */
	assert_int_equal(pl_dir_admin_check(d, "bob", "whatever password", &err), -1);
	assert_non_null(strstr(err.msg, "password: stored hash is malformed"));

	/* del */
	assert_int_equal(pl_dir_admin_del(d, "bob", &err), 0);
	assert_int_equal(pl_dir_admin_exists(d, "bob", &err), 0);
	assert_int_equal(pl_dir_admin_del(d, "bob", &err), -1);
	assert_string_equal(err.msg, "no administrator bob");
	assert_int_equal(pl_dir_admin_list(d, &list, &n, &err), 0);
	assert_int_equal(n, 2);
	free(list);
	pl_dir_close(d);

	/* a read-only handle reads but does not write */
	pl_dir_t *ro = NULL;
	assert_int_equal(pl_dir_open(&ro, f->db, 1, &err), 0);
	assert_int_equal(pl_dir_admin_exists(ro, "alice", &err), 1);
	assert_int_equal(pl_dir_admin_del(ro, "alice", &err), -1);
	assert_non_null(strstr(err.msg, "readonly"));
	pl_dir_close(ro);
}

/* ---- CSV import ---- */

typedef struct {
	long lines[16];
	char msgs[16][256];
	int n;
} import_errs_t;

static void collect_err(void *arg, long line, const char *message)
{
	import_errs_t *e = arg;
	if (e->n >= 16)
		fail_msg("too many errors (line %ld: %s)", line, message);
	e->lines[e->n] = line;
	pl_strlcpy(e->msgs[e->n], message, sizeof(e->msgs[0]));
	e->n++;
}

static int import(pl_dir_t *d, const char *text, size_t len,
		  import_errs_t *e, long *good, long *bad)
{
	memset(e, 0, sizeof(*e));
	*good = *bad = -1;
	return pl_dir_user_import_csv(d, text, len, collect_err, e, good, bad);
}

static void expect_err(const import_errs_t *e, int i, long line,
		       const char *part)
{
	assert_true(i < e->n);
	if (e->lines[i] != line || !strstr(e->msgs[i], part))
		fail_msg("error %d: line %ld: %s (expected line %ld: ...%s...)", i,
			 e->lines[i], e->msgs[i], line, part);
}

/* One PIN in the whole test: one scrypt run. */
static void test_import_csv(void **state)
{
	fixture_t *f = *state;
	pl_err_t err = { "" };
	pl_dir_t *d = open_rw(f);
	import_errs_t e;
	long good, bad;
	pl_dir_user_t u;
	char *text = malloc(16384), *p = text;
	assert_non_null(text);
#define ADD(s) (memcpy(p, s, sizeof(s) - 1), p += sizeof(s) - 1)
	/* 1: a byte-order mark, then a header; CR LF line ends throughout */
	ADD("\xef\xbb\xbfusername,display name,email,badge IDs,PIN\r\n");
	ADD("carol,Carol C,carol@example.org,0x77aa;1234567|42 ,\r\n"); /* 2 */
	ADD("# a comment\r\n");						  /* 3 */
	ADD("\r\n");							  /* 4 */
	ADD("dave,Dave D,dave@example.org,0xZZ,\r\n");			  /* 5 */
	ADD("erin,\"Erin \"\"EJ\"\", Jr.\",erin@example.org,dec:6699,4321\r\n"); /* 6 */
	ADD(",no name,x@example.org,,\r\n");				  /* 7 */
	ADD("frank,Frank,frank@example.org,4242,12\r\n");		  /* 8 */
	ADD("gina,\"unterminated,x@example.org\r\n");			  /* 9 */
	ADD("hank,a,b@c,d,e,f\r\n");					  /* 10 */
	ADD("ivan,Ivan,ivan@example.org,0x77AA\r\n");			  /* 11 */
	memset(p, 'x', 4096); /* 12: one byte too long */
	p += 4096;
	ADD("\r\n");
	*p++ = '#'; /* 13: exactly 4095 bytes before CR LF */
	memset(p, 'y', 4094);
	p += 4094;
	ADD("\r\n");
	ADD("   \t\r\n");					/* 14: blank */
	ADD("  judy , Judy J , judy@example.org ");	/* 15: no line end */
#undef ADD
	assert_int_equal(import(d, text, (size_t)(p - text), &e, &good, &bad), 0);
	assert_int_equal(good, 3);
	assert_int_equal(bad, 7);
	assert_int_equal(e.n, 7);
	expect_err(&e, 0, 5, "badge '0xZZ'");
	expect_err(&e, 1, 7, "no username");
	expect_err(&e, 2, 8, "a PIN is 4 to 32 digits");
	expect_err(&e, 3, 9, "malformed CSV");
	expect_err(&e, 4, 10, "malformed CSV");
	expect_err(&e, 5, 11, "badge ***a already belongs to carol");
	expect_err(&e, 6, 12, "line too long");

	assert_int_equal(pl_dir_user_get(d, "carol", &u, &err), 0);
	assert_string_equal(u.display_name, "Carol C");
	assert_string_equal(u.source, "local");
	assert_int_equal(u.nemails, 1);
	assert_string_equal(u.emails[0], "carol@example.org");
	assert_int_equal(u.nbadges, 3); /* normalised, in order */
	assert_string_equal(u.badges[0], "77aa");
	assert_string_equal(u.badges[1], "12d687");
	assert_string_equal(u.badges[2], "2a");
	assert_int_equal(u.has_pin, 0);
	assert_int_equal(pl_dir_user_get(d, "erin", &u, &err), 0);
	assert_string_equal(u.display_name, "Erin \"EJ\", Jr.");
	assert_string_equal(u.badges[0], "1a2b");
	assert_int_equal(u.has_pin, 1);
	assert_int_equal(pl_dir_user_get(d, "judy", &u, &err), 0);
	assert_string_equal(u.display_name, "Judy J");
	assert_string_equal(u.emails[0], "judy@example.org");
	assert_int_equal(u.nbadges, 0);
	for (size_t i = 0; i < 5; i++) {
		const char *absent[] = { "username", "\xef\xbb\xbfusername", "dave",
					 "frank", "ivan" };
		assert_int_not_equal(pl_dir_user_get(d, absent[i], &u, &err), 0);
	}

	/* A mark without a header: line 1 is a user. LF line ends. A line
	 * replaces the user (badges and e-mail go), keeps the PIN, and keeps
	 * the groups and source the file has no column for. */
	assert_int_equal(pl_dir_user_get(d, "erin", &u, &err), 0);
	pl_strlcpy(u.groups, "print-admins,staff", sizeof(u.groups));
	pl_strlcpy(u.source, "ldap", sizeof(u.source));
	assert_int_equal(pl_dir_user_put(d, &u, NULL, 1, &err), 0);
	static const char again[] = "\xef\xbb\xbf" "erin,Erin Two\nkim,Kim\n";
	assert_int_equal(import(d, again, sizeof(again) - 1, &e, &good, &bad), 0);
	/* erin is synced from ldap now: her line is refused (read-only) */
	assert_int_equal(good, 1);
	assert_int_equal(bad, 1);
	assert_int_equal(pl_dir_user_get(d, "erin", &u, &err), 0);
	assert_string_not_equal(u.display_name, "Erin Two");
	assert_int_equal(u.has_pin, 1);
	assert_string_equal(u.groups, "print-admins,staff");
	assert_string_equal(u.source, "ldap");

	/* a quoted header; fields too long for the directory are errors, not
	 * cut short; a NUL byte */
	char big[1024];
	int len = snprintf(big, sizeof(big),
			   "\"Username\",\"Name\"\n%0200d,x\nlen,%0300d\n"
			   "nul,a", 0, 0);
	assert_true(len > 0 && (size_t)len + 10 < sizeof(big));
	memcpy(big + len, "\0b\nok-1\n", 8);
	assert_int_equal(import(d, big, (size_t)len + 8, &e, &good, &bad), 0);
	assert_int_equal(good, 1);
	assert_int_equal(bad, 3);
	expect_err(&e, 0, 2, "invalid user name");
	expect_err(&e, 1, 3, "user len: invalid display name");
	expect_err(&e, 2, 4, "NUL");
	assert_int_equal(pl_dir_user_get(d, "ok-1", &u, &err), 0);
	assert_int_not_equal(pl_dir_user_get(d, "Username", &u, &err), 0);

	/* nothing to import; and a fatal error is line 0 */
	assert_int_equal(import(d, "", 0, &e, &good, &bad), 0);
	assert_int_equal(good + bad + e.n, 0);
	assert_int_equal(import(d, "\xef\xbb\xbf", 3, &e, &good, &bad), 0);
	assert_int_equal(good + bad + e.n, 0);
	assert_int_equal(import(NULL, "a\n", 2, &e, &good, &bad), -1);
	assert_int_equal(e.n, 1);
	assert_int_equal(e.lines[0], 0);
	assert_int_equal(good + bad, 0);
	assert_int_equal(pl_dir_user_import_csv(d, "lee\n", 4, NULL, NULL, NULL,
						NULL),
			 0);
	assert_int_equal(pl_dir_user_get(d, "lee", &u, &err), 0);
	free(text);
	pl_dir_close(d);
}

/* ---- e-mail addresses ---- */

/* The conservative addr-spec, then the same rule through a put and a CSV
 * import (the console's writes are puts too). */
#define LOCAL64 "llllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllll"

/* E-mail printing (schema 5): a printer's own address and guest flag
 * survive a round trip; senders and printers are found by address
 * without regard to case; a bad printer address is refused. */
static void test_by_email(void **state)
{
	fixture_t *f = *state;
	pl_dir_t *d = open_rw(f);
	pl_err_t err;
	char who[128];
	pl_dir_printer_t p = printer("lobby", "socket://10.0.0.7:9100"), got;
	pl_strlcpy(p.email, "Lobby@Print.Example.org", sizeof(p.email));
	p.guest = 1;
	assert_int_equal(pl_dir_printer_add(d, &p, 0, &err), 0);
	assert_int_equal(pl_dir_printer_get(d, "lobby", &got, &err), 0);
	assert_string_equal(got.email, "Lobby@Print.Example.org");
	assert_int_equal(got.guest, 1);
	memset(&got, 0, sizeof(got));
	assert_int_equal(pl_dir_printer_by_email(d, "lobby@print.example.org", &got, &err), 0);
	assert_string_equal(got.name, "lobby");
	assert_int_equal(pl_dir_printer_by_email(d, "hall@print.example.org", &got, &err), 1);
	assert_int_equal(pl_dir_printer_by_email(d, "", &got, &err), 1);
	pl_dir_printer_t q = printer("hall", "socket://10.0.0.8:9100");
	assert_int_equal(pl_dir_printer_by_email(d, "", &got, &err), 1); /* "" never matches */
	pl_strlcpy(q.email, "not an address", sizeof(q.email));
	assert_int_equal(pl_dir_printer_add(d, &q, 0, &err), -1);
	assert_non_null(strstr(err.msg, "invalid email address"));

	pl_dir_user_t u;
	memset(&u, 0, sizeof(u));
	pl_strlcpy(u.username, "alice", sizeof(u.username));
	pl_strlcpy(u.emails[0], "Alice.Smith@Corp.Example", sizeof(u.emails[0]));
	pl_strlcpy(u.emails[1], "alice@home.example", sizeof(u.emails[1]));
	u.nemails = 2;
	assert_int_equal(pl_dir_user_put(d, &u, NULL, 0, &err), 0);
	assert_int_equal(pl_dir_user_by_email(d, "alice.smith@corp.example", who, sizeof(who), &err), 0);
	assert_string_equal(who, "alice");
	assert_int_equal(pl_dir_user_by_email(d, "ALICE@HOME.EXAMPLE", who, sizeof(who), &err), 0);
	assert_int_equal(pl_dir_user_by_email(d, "bob@corp.example", who, sizeof(who), &err), 1);
	pl_dir_close(d);
}

static void test_email_check(void **state)
{
	static const char *const good[] = {
		"alice@example.org", "a.b-c_d+tag@mail.example.co.uk",
		"o'brien@example.ie", "x@a.io", "!#$%&'*+-/=?^_`{|}~@example.org",
		"user@xn--bcher-kva.example", "a@1a.example", "a@example.c0m",
	};
	static const char *const bad[] = {
		"\"><script>alert(1)</script>@x.org", "no-at-sign", "a@b@example.org",
		"@example.org", "alice@", "al ice@example.org", ".alice@example.org",
		"alice.@example.org", "al..ice@example.org", "\"a b\"@example.org",
		"alice@localhost", "alice@[192.0.2.1]", "alice@192.0.2.1",
		"alice@-example.org", "alice@example-.org", "alice@example..org",
		"alice@example.org.", "alice@exa_mple.org", "al\xc3\xa9@example.org",
		"alice@ex\xc3\xa4mple.org", "a<b@example.org", "a,b@example.org",
		"a;b@example.org", "a\\b@example.org", "alice@example.org\n",
	};
	char local[80], label[90], longdomain[300];
	for (size_t i = 0; i < PL_ARRAY_LEN(good); i++)
		if (pl_dir_email_check(good[i]))
			fail_msg("refused %s: %s", good[i], pl_dir_email_check(good[i]));
	for (size_t i = 0; i < PL_ARRAY_LEN(bad); i++)
		if (!pl_dir_email_check(bad[i]))
			fail_msg("took %s", bad[i]);
	/* The limits: 64 before the @, 63 a label, 255 the domain. */
	snprintf(local, sizeof(local), "%s@example.org", LOCAL64);
	assert_null(pl_dir_email_check(local));
	snprintf(local, sizeof(local), "l%s@example.org", LOCAL64);
	assert_string_equal(pl_dir_email_check(local), "more than 64 characters before the @");
	snprintf(label, sizeof(label), "a@%.63s.org", LOCAL64);
	assert_null(pl_dir_email_check(label));
	snprintf(label, sizeof(label), "a@%s.org", LOCAL64);
	assert_non_null(pl_dir_email_check(label));
	snprintf(longdomain, sizeof(longdomain), "a@%.63s.%.63s.%.63s.%.63s.org", LOCAL64,
		 LOCAL64, LOCAL64, LOCAL64); /* 4 * 64 + 3 = 259 characters */
	assert_string_equal(pl_dir_email_check(longdomain),
			    "a domain of more than 255 characters");
	snprintf(longdomain, sizeof(longdomain), "a@%.63s.%.63s.%.63s.%.59s.org", LOCAL64,
		 LOCAL64, LOCAL64, LOCAL64); /* 255 */
	assert_null(pl_dir_email_check(longdomain));
	assert_string_equal(pl_dir_email_check(bad[0]),
			    "a character that is not allowed before the @ (letters, digits "
			    "and !#$%&'*+-/=?^_`{|}~ with single dots)");

	fixture_t *f = *state;
	pl_err_t err = { "" };
	pl_dir_t *d = open_rw(f);
	pl_dir_user_t u = user("mal", "Mal");
	user_add_email(&u, bad[0]);
	assert_int_equal(pl_dir_user_put(d, &u, NULL, 0, &err), -1);
	assert_string_equal(err.msg, "user mal: invalid email address: a character that is "
			    "not allowed before the @ (letters, digits and "
			    "!#$%&'*+-/=?^_`{|}~ with single dots)");
	import_errs_t e;
	long ok, nbad;
	const char csv[] = "kim,Kim,kim@example.org\nlee,Lee,\"\"\"><script>x</script>@x.org\"\n"
			   "max,Max,max@localhost\n";
	assert_int_equal(import(d, csv, sizeof(csv) - 1, &e, &ok, &nbad), 0);
	assert_int_equal(ok, 1);
	assert_int_equal(nbad, 2);
	expect_err(&e, 0, 2, "user lee: invalid email address: a character that is not allowed");
	expect_err(&e, 1, 3, "user max: invalid email address: a domain needs a dot");
	pl_dir_close(d);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_open_creates),
		T(test_pragmas),
		T(test_reopen_keeps_data),
		T(test_migrations_once),
		T(test_newer_version_refused),
		T(test_readonly_missing),
		T(test_readonly_old_version),
		T(test_readonly_open),
		T(test_not_a_database),
		T(test_printers_crud),
		T(test_printer_duplicate),
		T(test_printer_invalid),
		T(test_token_create_verify),
		T(test_token_wrong_secret),
		T(test_token_malformed),
		T(test_token_revoke_workstation),
		T(test_token_revoke_id),
		T(test_workstation_invalid),
		T(test_token_list),
		T(test_token_touch),
		T(test_kept_statements_not_stale),
		T(test_secret_not_stored),
		T(test_two_connections),
		T(test_busy_wait),
		T(test_shared_handle_threads),
		T(test_migrate_from_v1),
		T(test_users_crud),
		T(test_sync_pin),
		T(test_body_sync_put),
		T(test_sync_first_walk),
		T(test_sync_refused),
		T(test_user_replace),
		T(test_badge_duplicate),
		T(test_badge_lookup),
		T(test_user_invalid),
		T(test_pin),
		T(test_pin_stored_params),
		T(test_user_cascade),
		T(test_readers),
		T(test_reader_invalid),
		T(test_migrate_from_v2),
		T(test_migrate_v7_rowless),
		T(test_v8_query_plans),
		T(test_admins),
		T(test_import_csv),
		T(test_by_email),
		T(test_email_check),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
