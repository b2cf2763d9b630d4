/* PrinterLogicServiceEmail without IMAP: the durable state (imap.state,
 * guest.counts) and the mode decision (decide.c) against a real directory.
 * No network: the headers are filled in as lib/mail would. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "em.h"
#include "pl_util.h"

typedef struct {
	char dir[64];
	char db[128];
	em_t em;
} fx_t;

static int setup(void **state)
{
	fx_t *f = calloc(1, sizeof(*f));
	pl_err_t err;
	assert_non_null(f);
	strcpy(f->dir, "/tmp/test_email.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->db, sizeof(f->db), "%s/directory.db", f->dir);
	assert_int_equal(pl_dir_open(&f->em.dir, f->db, PL_DIR_WRITE, &err), 0);
	pl_strlcpy(f->em.conf.authserv, "mx.corp.example", sizeof(f->em.conf.authserv));
	pl_strlcpy(f->em.conf.direct_domain, "print.corp.example",
		   sizeof(f->em.conf.direct_domain));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx_t *f = *state;
	char cmd[128];
	pl_dir_close(f->em.dir);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static void test_state_roundtrip(void **state)
{
	fx_t *f = *state;
	em_state_t s, got;
	pl_err_t err;
	assert_int_equal(em_state_load(f->dir, &got, &err), 0); /* none yet: empty */
	assert_int_equal(got.uidvalidity, 0);
	assert_int_equal(got.last_uid, 0);
	memset(&s, 0, sizeof(s));
	s.uidvalidity = 4000000000u;
	s.last_uid = 42;
	s.printing = 43;
	s.mbox = 0xdeadbeefu;
	pl_strlcpy(s.last_dest, "rejected", sizeof(s.last_dest));
	assert_int_equal(em_state_save(f->dir, &s, &err), 0);
	assert_int_equal(em_state_load(f->dir, &got, &err), 0);
	assert_int_equal(got.uidvalidity, 4000000000u);
	assert_int_equal(got.last_uid, 42);
	assert_int_equal(got.printing, 43);
	assert_string_equal(got.last_dest, "rejected");
	assert_int_equal(got.mbox, 0xdeadbeefu);
	/* a damaged file is an error, never a silent restart from UID 0 */
	char p[160];
	snprintf(p, sizeof(p), "%s/imap.state", f->dir);
	assert_int_equal(pl_write_file_atomic(p, "garbage\n", 8, 0600), 0);
	assert_int_equal(em_state_load(f->dir, &got, &err), -1);
	assert_non_null(strstr(err.msg, "not a state file"));
}

static void test_guest_limit(void **state)
{
	fx_t *f = *state;
	pl_err_t err;
	assert_int_equal(em_guest_take(f->dir, "a@x.example", 2, &err), 1);
	assert_int_equal(em_guest_take(f->dir, "b@x.example", 2, &err), 1);
	assert_int_equal(em_guest_take(f->dir, "a@x.example", 2, &err), 1);
	assert_int_equal(em_guest_take(f->dir, "a@x.example", 2, &err), 0); /* third: no */
	assert_int_equal(em_guest_take(f->dir, "b@x.example", 2, &err), 1);
	assert_int_equal(em_guest_take(f->dir, "b@x.example", 2, &err), 0);
	assert_int_equal(em_guest_take(f->dir, "c@x.example", 1, &err), 1);
}

static void head(pl_mail_head_t *h, const char *from, const char *to, int auth)
{
	memset(h, 0, sizeof(*h));
	pl_strlcpy(h->from, from, sizeof(h->from));
	pl_strlcpy(h->rcpt[0], to, sizeof(h->rcpt[0]));
	h->n_rcpt = 1;
	h->auth = auth;
}

static void add_fixtures(fx_t *f)
{
	pl_err_t err;
	pl_dir_user_t u;
	pl_dir_printer_t p;
	memset(&u, 0, sizeof(u));
	pl_strlcpy(u.username, "alice", sizeof(u.username));
	pl_strlcpy(u.emails[0], "Alice@Corp.Example", sizeof(u.emails[0]));
	u.nemails = 1;
	assert_int_equal(pl_dir_user_put(f->em.dir, &u, NULL, 0, &err), 0);
	memset(&p, 0, sizeof(p));
	pl_strlcpy(p.name, "LOBBY", sizeof(p.name));
	pl_strlcpy(p.uri, "socket://127.0.0.1:9100", sizeof(p.uri));
	pl_strlcpy(p.email, "lobby@corp.example", sizeof(p.email));
	assert_int_equal(pl_dir_printer_add(f->em.dir, &p, 0, &err), 0);
	pl_strlcpy(p.name, "VISIT", sizeof(p.name));
	pl_strlcpy(p.email, "guest@corp.example", sizeof(p.email));
	p.guest = 1;
	assert_int_equal(pl_dir_printer_add(f->em.dir, &p, 0, &err), 0);
}

static void test_modes(void **state)
{
	fx_t *f = *state;
	pl_mail_head_t h;
	em_decision_t d;
	pl_err_t err;
	add_fixtures(f);

	head(&h, "alice@corp.example", "print@corp.example", PL_MAIL_AUTH_PASS);
	assert_int_equal(em_decide(&f->em, &h, &d, &err), 0);
	assert_int_equal(d.mode, EM_MODE_HOLD);
	assert_string_equal(d.user, "alice");

	head(&h, "alice@corp.example", "lobby@corp.example", PL_MAIL_AUTH_PASS);
	assert_int_equal(em_decide(&f->em, &h, &d, &err), 0);
	assert_int_equal(d.mode, EM_MODE_DIRECT);
	assert_string_equal(d.printer.name, "LOBBY");

	head(&h, "alice@corp.example", "lobby@print.corp.example", PL_MAIL_AUTH_PASS);
	assert_int_equal(em_decide(&f->em, &h, &d, &err), 0);
	assert_int_equal(d.mode, EM_MODE_DIRECT); /* <printer>@direct_domain */

	head(&h, "alice@corp.example", "lobby@elsewhere.example", PL_MAIL_AUTH_PASS);
	assert_int_equal(em_decide(&f->em, &h, &d, &err), 0);
	assert_int_equal(d.mode, EM_MODE_HOLD); /* another domain: not the printer */

	head(&h, "stranger@x.example", "guest@corp.example", PL_MAIL_AUTH_NONE);
	assert_int_equal(em_decide(&f->em, &h, &d, &err), 0);
	assert_int_equal(d.mode, EM_MODE_GUEST);
	assert_string_equal(d.user, ""); /* a guest: no notice */

	head(&h, "alice@corp.example", "guest@corp.example", PL_MAIL_AUTH_NONE);
	assert_int_equal(em_decide(&f->em, &h, &d, &err), 0);
	assert_int_equal(d.mode, EM_MODE_GUEST);
	assert_string_equal(d.user, ""); /* a forged alice is a guest too */

	head(&h, "stranger@x.example", "lobby@corp.example", PL_MAIL_AUTH_PASS);
	assert_int_equal(em_decide(&f->em, &h, &d, &err), 0);
	assert_int_equal(d.mode, EM_MODE_REJECT);
	assert_non_null(strstr(d.reason, "not a known user"));

	head(&h, "alice@corp.example", "print@corp.example", PL_MAIL_AUTH_NONE);
	assert_int_equal(em_decide(&f->em, &h, &d, &err), 0);
	assert_int_equal(d.mode, EM_MODE_REJECT);
	assert_non_null(strstr(d.reason, "not authenticated"));

	head(&h, "alice@corp.example", "print@corp.example", PL_MAIL_AUTH_FAIL);
	assert_int_equal(em_decide(&f->em, &h, &d, &err), 0);
	assert_int_equal(d.mode, EM_MODE_REJECT);

	head(&h, "", "print@corp.example", PL_MAIL_AUTH_PASS);
	assert_int_equal(em_decide(&f->em, &h, &d, &err), 0);
	assert_int_equal(d.mode, EM_MODE_REJECT);
	assert_non_null(strstr(d.reason, "From"));

	/* the check configured off: the From alone is believed */
	f->em.conf.authserv[0] = 0;
	head(&h, "alice@corp.example", "print@corp.example", PL_MAIL_AUTH_NONE);
	assert_int_equal(em_decide(&f->em, &h, &d, &err), 0);
	assert_int_equal(d.mode, EM_MODE_HOLD);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_state_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_guest_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_modes, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
