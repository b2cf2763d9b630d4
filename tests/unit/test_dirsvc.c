/* plsc-directory's requests (services/directory/op.c), driven without the
 * service around them: a DIR_WRITE frame as the supervisor delivers it,
 * carried out against a directory in a temporary folder, and its RESULT
 * answer. Every operation, and the refusals: an unknown operation, no OP,
 * a bad record, a missing user, printer or reader, a name taken; tokens and
 * administrators from any sender but the console, token-used from any
 * sender but a job holder and anything else from one, the last administrator,
 * one's own account, a short password, a wrong current password. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "ds.h"
#include "pl_proto.h"

static char tmp[] = "/tmp/test_dirsvc.XXXXXX";
static char db[256];
static pl_dir_t *D;

static int setup(void **state)
{
	pl_err_t err;
	(void)state;
	if (!mkdtemp(tmp))
		return -1;
	snprintf(db, sizeof(db), "%s/directory.db", tmp);
	return pl_dir_open(&D, db, PL_DIR_WRITE, &err);
}

static int teardown(void **state)
{
	char cmd[300];
	(void)state;
	pl_dir_close(D);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	return system(cmd) == 0 ? 0 : -1;
}

static const char *sender = "plsc-console", *asker = "alice";

/* One request as the supervisor routes it (FROM stamped), carried out. */
static ds_req_t *ask(const char *op, const char *name, const char *body, uint32_t line)
{
	pl_msg_t m;
	pl_frame_t f;
	size_t used;
	assert_int_equal(pl_msg_init(&m, PL_MSG_DIR_WRITE, 0, 42), 0);
	if (op)
		pl_msg_add_str(&m, PL_TAG_OP, op);
	if (name)
		pl_msg_add_str(&m, PL_TAG_NAME, name);
	if (asker)
		pl_msg_add_str(&m, PL_TAG_USER, asker);
	if (line)
		pl_msg_add_u32(&m, PL_TAG_LINE, line);
	if (body)
		pl_msg_add(&m, PL_TAG_PAYLOAD, body, strlen(body));
	pl_msg_add_str(&m, PL_TAG_FROM, sender);
	assert_int_equal(pl_msg_finish(&m), 0);
	assert_int_equal(pl_frame_parse(m.buf, m.len, PL_PROTO_MAX_FRAME, &f, &used), 0);
	f.fd = -1;
	ds_req_t *q = ds_req_parse(&f);
	pl_msg_free(&m); /* the request holds its own copy */
	assert_non_null(q);
	ds_req_run(q, D);
	ds_req_log(q);
	return q;
}

/* ask(), check the status (and the message when msg is not NULL). */
static void expect(const char *op, const char *name, const char *body, uint32_t status,
		   const char *msg)
{
	ds_req_t *q = ask(op, name, body, 0);
	if (q->status != status)
		fail_msg("%s %s: status %u (%s), expected %u", op ? op : "(none)",
			 name ? name : "", q->status, q->msg, status);
	if (msg && !strstr(q->msg, msg))
		fail_msg("%s: message \"%s\" lacks \"%s\"", op ? op : "(none)", q->msg, msg);
	ds_req_free(q);
}

static void test_users(void **state)
{
	pl_dir_user_t u;
	pl_err_t err;
	(void)state;
	expect("user-add", NULL,
	       "{\"username\": \"bob\", \"display_name\": \"Bob\", \"badges\": \"0x1A2B3C\","
	       " \"pin\": \"4321\"}",
	       PL_STATUS_OK, "user bob added");
	assert_int_equal(pl_dir_user_get(D, "bob", &u, &err), 0);
	assert_string_equal(u.source, "local");
	assert_int_equal(u.nbadges, 1);
	assert_int_equal(pl_dir_pin_check(D, "bob", "4321", &err), 1);
	expect("user-add", NULL, "{\"username\": \"bob\"}", PL_STATUS_CONFLICT,
	       "already exists");
	expect("user-add", NULL, "{\"display_name\": \"nobody\"}", PL_STATUS_BADREQ,
	       "needs a \"username\"");
	expect("user-add", NULL, "{\"username\": \"eve\", \"badges\": [\"not a badge!\"]}",
	       PL_STATUS_BADREQ, NULL);
	expect("user-add", NULL, "{\"username\": ", PL_STATUS_BADREQ, "malformed JSON");
	expect("user-add", NULL, NULL, PL_STATUS_BADREQ, "JSON object");
	assert_int_equal(pl_dir_user_get(D, "eve", &u, &err), 1);

	/* A save keeps the PIN and the source. */
	expect("user-put", "bob", "{\"display_name\": \"Robert\"}", PL_STATUS_OK,
	       "user bob saved");
	assert_int_equal(pl_dir_user_get(D, "bob", &u, &err), 0);
	assert_string_equal(u.display_name, "Robert");
	assert_int_equal(pl_dir_pin_check(D, "bob", "4321", &err), 1);
	expect("user-put", "nobody", "{}", PL_STATUS_NOTFOUND, "no user named nobody");
	expect("user-put", NULL, "{}", PL_STATUS_BADREQ, "needs NAME");

	expect("pin-set", "bob", "{\"pin\": \"9999\"}", PL_STATUS_OK, "PIN of bob changed");
	assert_int_equal(pl_dir_pin_check(D, "bob", "9999", &err), 1);
	expect("pin-set", "bob", "{}", PL_STATUS_BADREQ, "needs \"pin\"");
	expect("pin-set", "nobody", "{\"pin\": \"1\"}", PL_STATUS_NOTFOUND, "no user named");

	expect("user-del", "bob", NULL, PL_STATUS_OK, "user bob deleted");
	expect("user-del", "bob", NULL, PL_STATUS_NOTFOUND, "no user named bob");
}

static void test_import(void **state)
{
	pl_dir_user_t u;
	pl_err_t err;
	pl_msg_t m;
	pl_frame_t f;
	size_t used;
	uint32_t count = 0, st = 99;
	char to[64];
	pl_field_t fl;
	(void)state;
	ds_req_t *q = ask("users-import", NULL,
			  "username,display name\ncarol,Carol,c@example.com,,1234\n"
			  "bad name!,X\n",
			  0);
	assert_int_equal(q->status, PL_STATUS_OK);
	assert_int_equal(q->imported, 1);
	assert_int_equal(q->failed, 1);
	assert_int_equal(pl_dir_user_get(D, "carol", &u, &err), 0);
	/* The answer: COUNT, and the lines with errors as JSON. */
	assert_int_equal(ds_req_reply(q, &m), 0);
	assert_int_equal(pl_frame_parse(m.buf, m.len, PL_PROTO_MAX_FRAME, &f, &used), 0);
	assert_int_equal(f.type, PL_MSG_RESULT);
	assert_int_equal(f.seq, 42);
	assert_int_equal(f.flags, PL_FLAG_REPLY);
	assert_int_equal(pl_frame_get_str(&f, PL_TAG_TO, to, sizeof(to)), 0);
	assert_string_equal(to, "plsc-console");
	assert_int_equal(pl_frame_get_u32(&f, PL_TAG_STATUS, &st), 0);
	assert_int_equal(st, 0);
	assert_int_equal(pl_frame_get_u32(&f, PL_TAG_COUNT, &count), 0);
	assert_int_equal(count, 1);
	assert_int_equal(pl_frame_find(&f, PL_TAG_PAYLOAD, &fl), 1);
	json_t *res = json_loadb((const char *)fl.val, fl.len, 0, NULL);
	assert_non_null(res);
	assert_int_equal(json_integer_value(json_object_get(res, "failed")), 1);
	json_t *e = json_array_get(json_object_get(res, "errors"), 0);
	assert_int_equal(json_integer_value(json_object_get(e, "line")), 3);
	json_decref(res);
	pl_msg_free(&m);
	ds_req_free(q);

	/* A later part: numbered on, no header looked for. */
	q = ask("users-import", NULL, "bad name!\ndave,Dave\n", 7);
	assert_int_equal(q->status, PL_STATUS_OK);
	assert_int_equal(q->imported, 1);
	e = json_array_get(q->errors, 0);
	assert_int_equal(json_integer_value(json_object_get(e, "line")), 7);
	ds_req_free(q);
	q = ask("users-import", NULL, "username,Header Or User\n", 2);
	assert_int_equal(q->imported, 1);
	ds_req_free(q);
	assert_int_equal(pl_dir_user_get(D, "username", &u, &err), 0);
	/* An empty file imports nothing, and that is fine. */
	expect("users-import", NULL, "", PL_STATUS_OK, "imported 0 users");
}

static void test_printers_readers(void **state)
{
	pl_dir_printer_t p;
	pl_err_t err;
	(void)state;
	expect("printer-add", NULL, "{\"name\": \"P1\", \"uri\": \"socket://127.0.0.1:9100\"}",
	       PL_STATUS_OK, "printer P1 added");
	expect("printer-add", NULL, "{\"name\": \"P1\", \"uri\": \"socket://127.0.0.1:9100\"}",
	       PL_STATUS_CONFLICT, "already exists");
	expect("printer-add", NULL, "{\"name\": \"P2\", \"uri\": \"gopher://x\"}",
	       PL_STATUS_BADREQ, NULL);
	expect("printer-add", NULL, "{\"name\": \"P2\"}", PL_STATUS_BADREQ, "needs a");
	expect("printer-put", "P1",
	       "{\"uri\": \"ipp://127.0.0.1:631/ipp/print\", \"location\": \"hall\"}",
	       PL_STATUS_OK, "printer P1 saved");
	assert_int_equal(pl_dir_printer_get(D, "P1", &p, &err), 0);
	assert_string_equal(p.location, "hall");
	expect("printer-put", "P9", "{\"uri\": \"socket://127.0.0.1:9100\"}",
	       PL_STATUS_NOTFOUND, "no printer named P9");

	expect("reader-add", NULL,
	       "{\"name\": \"R1\", \"address\": \"127.0.0.1\", \"printer\": \"P1\"}",
	       PL_STATUS_OK, "reader R1 added");
	expect("reader-add", NULL, "{\"name\": \"R2\", \"address\": \"127.0.0.1\"}",
	       PL_STATUS_BADREQ, "needs a");
	expect("reader-add", NULL,
	       "{\"name\": \"R3\", \"address\": \"127.0.0.1\", \"printer\": \"P1\","
	       " \"preset\": \"no-such-preset\"}",
	       PL_STATUS_BADREQ, NULL);
	/* reader-put: every field replaced, the name kept (a name in the
	 * body is ignored), checked as an add is; never a new reader. */
	pl_dir_reader_t rd;
	expect("printer-add", NULL, "{\"name\": \"P2\", \"uri\": \"socket://127.0.0.1:9101\"}",
	       PL_STATUS_OK, "printer P2 added");
	expect("reader-put", "R1",
	       "{\"name\": \"R9\", \"address\": \"127.0.0.2\", \"printer\": \"P2\","
	       " \"direction\": \"listen\", \"port\": 2001, \"preset\": \"rfideas-e241\","
	       " \"mode\": \"all\"}",
	       PL_STATUS_OK, "reader R1 saved");
	assert_int_equal(pl_dir_reader_get(D, "R1", &rd, &err), 0);
	assert_string_equal(rd.address, "127.0.0.2");
	assert_string_equal(rd.printer, "P2");
	assert_string_equal(rd.direction, "listen");
	assert_int_equal(rd.port, 2001);
	assert_string_equal(rd.mode, "all");
	assert_non_null(strstr(rd.format, "rfideas-e241"));
	assert_int_equal(pl_dir_reader_get(D, "R9", &rd, &err), 1);
	expect("reader-put", "R1", "{\"address\": \"127.0.0.2\", \"printer\": \"P2\","
	       " \"direction\": \"listen\"}", PL_STATUS_BADREQ, "needs a port");
	expect("reader-put", "R1", "{\"address\": \"127.0.0.2\"}", PL_STATUS_BADREQ,
	       "needs an \"address\" and a \"printer\"");
	expect("reader-put", "R1", "{\"address\": \"127.0.0.2\", \"printer\": \"P2\","
	       " \"preset\": \"no-such-preset\"}", PL_STATUS_BADREQ, NULL);
	expect("reader-put", "R1", "{\"address\": \"127.0.0.2\", \"printer\": \"P9\"}",
	       PL_STATUS_BADREQ, "unknown printer P9");
	expect("reader-put", "R1", "{\"address\": ", PL_STATUS_BADREQ, "malformed JSON");
	expect("reader-put", "R7", "{\"address\": \"127.0.0.2\", \"printer\": \"P2\"}",
	       PL_STATUS_NOTFOUND, "no reader named R7");
	expect("reader-put", NULL, "{\"address\": \"127.0.0.2\", \"printer\": \"P2\"}",
	       PL_STATUS_BADREQ, "needs NAME");
	assert_int_equal(pl_dir_reader_get(D, "R7", &rd, &err), 1);
	/* the refusals changed nothing */
	assert_int_equal(pl_dir_reader_get(D, "R1", &rd, &err), 0);
	assert_string_equal(rd.printer, "P2");
	assert_int_equal(rd.port, 2001);
	expect("reader-del", "R1", NULL, PL_STATUS_OK, "reader R1 deleted");
	expect("printer-del", "P2", NULL, PL_STATUS_OK, "printer P2 deleted");
	expect("reader-del", "R1", NULL, PL_STATUS_NOTFOUND, "no reader named R1");
	expect("printer-del", "P1", NULL, PL_STATUS_OK, "printer P1 deleted");
	expect("printer-del", "P1", NULL, PL_STATUS_NOTFOUND, "no printer named P1");
}

static void test_refusals(void **state)
{
	pl_msg_t m;
	pl_frame_t f;
	size_t used;
	(void)state;
	expect("drop-table", NULL, NULL, PL_STATUS_BADREQ, "unknown directory operation");
	expect("admin-add", NULL, "{\"name\": \"mallory\"}", PL_STATUS_BADREQ, "unknown");
	expect(NULL, NULL, NULL, PL_STATUS_BADREQ, "without OP");
	expect("user-del", NULL, NULL, PL_STATUS_BADREQ, "needs NAME");
	/* A refusal's answer is flagged as one. */
	ds_req_t *q = ask("drop-table", NULL, NULL, 0);
	assert_int_equal(ds_req_reply(q, &m), 0);
	assert_int_equal(pl_frame_parse(m.buf, m.len, PL_PROTO_MAX_FRAME, &f, &used), 0);
	assert_int_equal(f.flags, PL_FLAG_REPLY | PL_FLAG_ERROR);
	pl_msg_free(&m);
	ds_req_free(q);
}

static void test_tokens(void **state)
{
	pl_msg_t m;
	pl_frame_t f;
	size_t used;
	char tok[PL_TOKEN_MAX], id[16], ws[128];
	pl_err_t err;
	(void)state;
	ds_req_t *q = ask("token-create", "ws1", NULL, 0);
	assert_int_equal(q->status, PL_STATUS_OK);
	assert_non_null(strstr(q->msg, "created for workstation ws1"));
	/* The secret is in the answer (TOKEN), never in the message. */
	assert_null(strstr(q->msg, q->token));
	assert_int_equal(ds_req_reply(q, &m), 0);
	assert_int_equal(pl_frame_parse(m.buf, m.len, PL_PROTO_MAX_FRAME, &f, &used), 0);
	assert_int_equal(pl_frame_get_str(&f, PL_TAG_TOKEN, tok, sizeof(tok)), 0);
	assert_int_equal(pl_frame_get_str(&f, PL_TAG_NAME, id, sizeof(id)), 0);
	assert_int_equal(strlen(id), 8);
	assert_non_null(strstr(tok, id));
	pl_msg_free(&m);
	ds_req_free(q);
	assert_int_equal(pl_dir_token_verify(D, tok, ws, sizeof(ws), &err), 1);
	assert_string_equal(ws, "ws1");
	expect("token-create", NULL, NULL, PL_STATUS_BADREQ, "needs NAME");
	expect("token-create", "id:x", NULL, PL_STATUS_BADREQ, "invalid workstation");
	expect("token-revoke", "zz", NULL, PL_STATUS_BADREQ, "invalid token id");
	expect("token-revoke", "00000000", NULL, PL_STATUS_NOTFOUND, "no token");
	expect("token-revoke", id, NULL, PL_STATUS_OK, "revoked");
	assert_int_equal(pl_dir_token_verify(D, tok, ws, sizeof(ws), &err), 0);

	/* Not from IdentitySync (nor anyone but the console), nor without
	 * the administrator who asks. */
	sender = "PrinterLogicServiceIdentitySync";
	expect("token-create", "ws2", NULL, PL_STATUS_AUTH, "may ask only for sync-apply");
	expect("token-revoke", id, NULL, PL_STATUS_AUTH, "may ask only for sync-apply");
	expect("admin-put", NULL, "{\"name\": \"m\", \"password\": \"0123456789ab\"}",
	       PL_STATUS_AUTH, "may ask only for sync-apply");
	expect("admin-del", "alice", NULL, PL_STATUS_AUTH, "may ask only for sync-apply");
	sender = "Rogue";
	expect("token-create", "ws2", NULL, PL_STATUS_AUTH, "plsc-console only");
	expect("admin-passwd", "alice", "{}", PL_STATUS_AUTH, "plsc-console only");
	sender = "plsc-console";
	asker = NULL;
	expect("token-create", "ws2", NULL, PL_STATUS_BADREQ, "needs the administrator");
	asker = "alice";
}

/* sync-apply as IdentitySync sends it: parts (LINE, MORE) of a batch
 * with a SOURCE, staged in st. */
static ds_req_t *sync_part(ds_stage_t *st, const char *batch, const char *source, uint32_t part,
			   int more, const char *text)
{
	pl_msg_t m;
	pl_frame_t f;
	size_t used;
	assert_int_equal(pl_msg_init(&m, PL_MSG_DIR_WRITE, 0, 43), 0);
	pl_msg_add_str(&m, PL_TAG_OP, "sync-apply");
	pl_msg_add_str(&m, PL_TAG_NAME, batch);
	if (source)
		pl_msg_add_str(&m, PL_TAG_SOURCE, source);
	pl_msg_add_u32(&m, PL_TAG_LINE, part);
	pl_msg_add_u8(&m, PL_TAG_MORE, (uint8_t)more);
	pl_msg_add(&m, PL_TAG_PAYLOAD, text, strlen(text));
	pl_msg_add_str(&m, PL_TAG_FROM, "PrinterLogicServiceIdentitySync");
	assert_int_equal(pl_msg_finish(&m), 0);
	assert_int_equal(pl_frame_parse(m.buf, m.len, PL_PROTO_MAX_FRAME, &f, &used), 0);
	f.fd = -1;
	ds_req_t *q = ds_req_parse(&f);
	pl_msg_free(&m);
	assert_non_null(q);
	q->stage = st;
	ds_req_run(q, D);
	return q;
}

/* SOURCE picks the users' source; a one-part batch (SCIM's) is applied
 * without the stage, so an LDAP batch half sent survives it. */
static void test_sync_source(void **state)
{
	ds_stage_t st;
	pl_dir_user_t u;
	pl_err_t err;
	(void)state;
	ds_stage_init(&st, NULL);
	ds_req_t *q = sync_part(&st, "ldap-1", NULL, 1, 1,
				"{\"key\":\"L1\",\"username\":\"lara\",\"badges\":[]}\n");
	assert_int_equal(q->status, PL_STATUS_OK);
	ds_req_free(q);
	q = sync_part(&st, "scim-1", "scim", 1, 0,
		      "{\"key\":\"S1\",\"username\":\"sam\",\"badges\":[\"hex:5a5a\"]}\n");
	assert_int_equal(q->status, PL_STATUS_OK);
	ds_req_free(q);
	assert_int_equal(pl_dir_user_get(D, "sam", &u, &err), 0);
	assert_string_equal(u.source, "scim");
	assert_string_equal(u.external_id, "S1");
	q = sync_part(&st, "ldap-1", NULL, 2, 0,
		      "{\"key\":\"L2\",\"username\":\"leo\",\"badges\":[]}\n");
	assert_int_equal(q->status, PL_STATUS_OK);
	ds_req_free(q);
	assert_int_equal(pl_dir_user_get(D, "lara", &u, &err), 0);
	assert_string_equal(u.source, "ldap");
	assert_int_equal(pl_dir_user_get(D, "leo", &u, &err), 0);
	/* a scim batch never touches the ldap user of the same key space */
	q = sync_part(&st, "scim-2", "scim", 1, 0, "{\"remove\":\"L1\"}\n");
	assert_int_equal(q->status, PL_STATUS_OK);
	ds_req_free(q);
	assert_int_equal(pl_dir_user_get(D, "lara", &u, &err), 0);
	q = sync_part(&st, "x-1", "local", 1, 0, "{\"remove\":\"L1\"}\n");
	assert_int_equal(q->status, PL_STATUS_BADREQ);
	ds_req_free(q);
	ds_stage_free(&st);
}

/* A request carried out against d with the stage st, as the service does. */
static ds_req_t *staged_req(ds_stage_t *st, pl_dir_t *d, const char *from, const char *op,
			    const char *batch, const char *source, uint32_t part, int more,
			    const char *text)
{
	pl_msg_t m;
	pl_frame_t f;
	size_t used;
	assert_int_equal(pl_msg_init(&m, PL_MSG_DIR_WRITE, 0, 44), 0);
	pl_msg_add_str(&m, PL_TAG_OP, op);
	if (batch)
		pl_msg_add_str(&m, PL_TAG_NAME, batch);
	if (source)
		pl_msg_add_str(&m, PL_TAG_SOURCE, source);
	if (part) {
		pl_msg_add_u32(&m, PL_TAG_LINE, part);
		pl_msg_add_u8(&m, PL_TAG_MORE, (uint8_t)more);
	}
	pl_msg_add(&m, PL_TAG_PAYLOAD, text, strlen(text));
	pl_msg_add_str(&m, PL_TAG_FROM, from);
	pl_msg_add_str(&m, PL_TAG_USER, "alice");
	assert_int_equal(pl_msg_finish(&m), 0);
	assert_int_equal(pl_frame_parse(m.buf, m.len, PL_PROTO_MAX_FRAME, &f, &used), 0);
	f.fd = -1;
	ds_req_t *q = ds_req_parse(&f);
	pl_msg_free(&m);
	assert_non_null(q);
	q->stage = st;
	ds_req_run(q, d);
	return q;
}

#define IDS "PrinterLogicServiceIdentitySync"
#define U(k, n, b) "{\"key\":\"" k "\",\"username\":\"" n "\",\"badges\":[\"hex:" b "\"]}\n"

/* One streamed part; its status and a word of its message checked. */
static void spart(ds_stage_t *st, pl_dir_t *d, const char *batch, const char *source,
		  uint32_t part, int more, const char *text, uint32_t status, const char *msg)
{
	ds_req_t *q = staged_req(st, d, IDS, "sync-apply", batch, source, part, more, text);
	if (q->status != status || (msg && !strstr(q->msg, msg)))
		fail_msg("%s part %u: status %u (%s), expected %u (%s)", batch, part, q->status,
			 q->msg, status, msg ? msg : "");
	ds_req_free(q);
}

static int users_of(pl_dir_t *d, const char *name)
{
	pl_dir_user_t u;
	pl_err_t err;
	return pl_dir_user_get(d, name, &u, &err) == 0;
}

/* A first sync is streamed: each part applied at once in one transaction
 * on the stage's own connection, invisible until the last part commits;
 * other writes are BUSY meanwhile; an abort, a part out of order, a bad
 * line, the next batch's part 1 and the idle bound roll it all back. A
 * source with users is staged as before. */
static void test_sync_stream(void **state)
{
	char path[300], id[128];
	ds_stage_t st;
	pl_dir_t *d;
	pl_err_t err;
	(void)state;
	snprintf(path, sizeof(path), "%s/stream.db", tmp);
	assert_int_equal(pl_dir_open(&d, path, PL_DIR_WRITE, &err), 0);
	ds_stage_init(&st, path);
	spart(&st, d, "ldap-1", NULL, 1, 1, U("K1", "kim", "0a01") U("K2", "kai", "0a02"),
	      PL_STATUS_OK, "part 1 applied (not committed yet)");
	assert_true(ds_stage_streaming(&st));
	assert_false(users_of(d, "kim")); /* another connection: the last commit */
	ds_req_t *q = staged_req(&st, d, "plsc-console", "user-add", NULL, NULL, 0, 0,
				 "{\"username\": \"carl\"}");
	assert_int_equal(q->status, PL_STATUS_BUSY);
	assert_non_null(strstr(q->msg, "applying a sync"));
	ds_req_free(q);
	spart(&st, d, "scim-1", "scim", 1, 0, U("S1", "sue", "0b01"), PL_STATUS_BUSY, "sync");
	/* the same badge twice: the second refused, as the staged way does */
	spart(&st, d, "ldap-1", NULL, 2, 0,
	      U("K3", "kit", "0a03") U("K4", "kaz", "0a03")
	      "{\"key\":\"K6\",\"username\":\"kev\",\"badges\":[\"hex:0a06\",\"hex:0a01\"]}\n",
	      PL_STATUS_OK, "3 added, 0 updated, 0 renamed, 0 removed, 2 refused");
	/* kev's first badge went with the refusal of its second */
	char owner[128];
	pl_dir_user_t ku;
	assert_int_equal(pl_dir_user_get(d, "kim", &ku, &err), 0);
	assert_int_equal(ku.nbadges, 1);
	assert_int_equal(pl_dir_badge_user(d, ku.badges[0], owner, sizeof(owner), &err), 0);
	assert_string_equal(owner, "kim");
	ku.badges[0][strlen(ku.badges[0]) - 1] = '6'; /* 0a06 as the directory writes it */
	assert_int_equal(pl_dir_badge_user(d, ku.badges[0], owner, sizeof(owner), &err), 1);
	assert_false(users_of(d, "kev"));
	assert_false(ds_stage_streaming(&st));
	assert_true(users_of(d, "kim") && users_of(d, "kai") && users_of(d, "kit"));
	assert_false(users_of(d, "kaz"));
	ds_stage_checkpoint(&st);
	/* ldap has users now: staged */
	spart(&st, d, "ldap-2", NULL, 1, 1, U("K5", "kip", "0a05"), PL_STATUS_OK, "staged");
	assert_false(ds_stage_streaming(&st));
	spart(&st, d, "ldap-2", NULL, 2, 0, "{\"remove\":\"K1\"}\n", PL_STATUS_OK,
	      "1 added, 0 updated, 0 renamed, 1 removed");
	assert_false(users_of(d, "kim"));
	/* scim has none: streamed, and rolled back at each way of giving up */
	spart(&st, d, "scim-2", "scim", 1, 1, U("S2", "sam", "0b02"), PL_STATUS_OK, "applied");
	spart(&st, d, "scim-2", "scim", 2, 0, "{\"abort\":\"the LDAP server went away\"}",
	      PL_STATUS_ERROR, "abandoned by its sender (the LDAP server went away)");
	assert_false(ds_stage_streaming(&st));
	spart(&st, d, "scim-3", "scim", 1, 1, U("S2", "sam", "0b02"), PL_STATUS_OK, "applied");
	spart(&st, d, "scim-3", "scim", 3, 1, U("S3", "sid", "0b03"), PL_STATUS_BADREQ,
	      "out of order");
	spart(&st, d, "scim-4", "scim", 1, 1, U("S2", "sam", "0b02"), PL_STATUS_OK, "applied");
	spart(&st, d, "scim-4", "scim", 2, 1, "{\"key\":", PL_STATUS_BADREQ, "batch line 1");
	spart(&st, d, "scim-5", "scim", 1, 1, U("S2", "sam", "0b02"), PL_STATUS_OK, "applied");
	assert_int_equal(ds_stage_expire(&st, st.last_ms + DS_SYNC_IDLE_MS - 1, id, sizeof(id)), 0);
	assert_int_equal(ds_stage_expire(&st, st.last_ms + DS_SYNC_IDLE_MS, id, sizeof(id)), 1);
	assert_string_equal(id, "scim-5");
	assert_false(ds_stage_streaming(&st));
	assert_false(users_of(d, "sam"));
	/* the write lock is free again */
	q = staged_req(&st, d, "plsc-console", "user-add", NULL, NULL, 0, 0,
		       "{\"username\": \"carl\", \"badges\": \"0x0c01\"}");
	assert_int_equal(q->status, PL_STATUS_OK);
	ds_req_free(q);
	/* a new batch's part 1 drops the unfinished one */
	spart(&st, d, "scim-6", "scim", 1, 1, U("S2", "sam", "0b02"), PL_STATUS_OK, "applied");
	spart(&st, d, "scim-7", "scim", 1, 1, U("S3", "sid", "0b03"), PL_STATUS_OK, "applied");
	/* refused as put_check refuses: a local user's name, a name synced
	 * under another key, a local user's badge; nothing of them stays */
	q = staged_req(&st, d, IDS, "sync-apply", "scim-7", "scim", 2, 0,
		       U("S4", "carl", "0b04") U("S5", "sid", "0b05") U("S6", "sol", "0c01"));
	assert_int_equal(q->status, PL_STATUS_OK);
	assert_non_null(strstr(q->msg, "1 added, 0 updated, 0 renamed, 0 removed, 3 refused"));
	char *res = json_dumps(q->sync_result, JSON_COMPACT);
	assert_non_null(strstr(res, "user carl exists as a local user; not replaced"));
	assert_non_null(strstr(res, "user sid is already synced under another key"));
	assert_non_null(strstr(res, "already belongs to carl"));
	free(res);
	ds_req_free(q);
	assert_false(users_of(d, "sam") || users_of(d, "sol"));
	assert_true(users_of(d, "sid"));
	assert_int_equal(pl_dir_badge_user(d, "b04", owner, sizeof(owner), &err), 1);
	assert_int_equal(pl_dir_badge_user(d, "b05", owner, sizeof(owner), &err), 1);
	assert_int_equal(pl_dir_badge_user(d, "c01", owner, sizeof(owner), &err), 0);
	assert_string_equal(owner, "carl");
	ds_stage_free(&st);
	pl_dir_close(d);
}

/* A key that comes twice in one streamed first sync (the row's UNIQUE
 * index finds it, no lookup first): the second time it is put the
 * ordinary way, an update under the same name and a rename under
 * another; the stream writes with foreign keys off, so the renamed
 * user's old badges and address must go with the old name all the same,
 * and no child row may be left without its user. */
static void test_sync_stream_key_twice(void **state)
{
	char path[300], owner[128];
	ds_stage_t st;
	pl_dir_t *d;
	pl_err_t err;
	sqlite3 *raw;
	sqlite3_stmt *chk;
	(void)state;
	snprintf(path, sizeof(path), "%s/twice.raw", tmp);
	assert_int_equal(pl_dir_open(&d, path, PL_DIR_WRITE, &err), 0);
	ds_stage_init(&st, path);
	spart(&st, d, "ldap-1", NULL, 1, 1,
	      "{\"key\":\"K1\",\"username\":\"kim\",\"emails\":[\"kim@example.org\"],"
	      "\"badges\":[\"hex:0a01\"]}\n" U("K2", "kai", "0a02"),
	      PL_STATUS_OK, "applied");
	assert_true(ds_stage_streaming(&st));
	spart(&st, d, "ldap-1", NULL, 2, 1, U("K2", "kai", "0a22"), PL_STATUS_OK, "applied");
	spart(&st, d, "ldap-1", NULL, 3, 0, U("K1", "kit", "0a11") U("K3", "kay", "0a01"),
	      PL_STATUS_OK, "3 added, 1 updated, 1 renamed, 0 removed, 0 refused");
	assert_false(users_of(d, "kim"));
	assert_true(users_of(d, "kit") && users_of(d, "kai") && users_of(d, "kay"));
	assert_int_equal(pl_dir_badge_user(d, "a01", owner, sizeof(owner), &err), 0);
	assert_string_equal(owner, "kay");
	assert_int_equal(pl_dir_badge_user(d, "a11", owner, sizeof(owner), &err), 0);
	assert_string_equal(owner, "kit");
	assert_int_equal(pl_dir_badge_user(d, "a22", owner, sizeof(owner), &err), 0);
	assert_string_equal(owner, "kai");
	assert_int_equal(pl_dir_badge_user(d, "a02", owner, sizeof(owner), &err), 1);
	assert_int_equal(pl_dir_user_by_email(d, "kim@example.org", owner, sizeof(owner), &err), 1);
	ds_stage_free(&st);
	pl_dir_close(d);
	assert_int_equal(sqlite3_open(path, &raw), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(raw, "PRAGMA foreign_key_check", -1, &chk, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(chk), SQLITE_DONE); /* no orphan */
	sqlite3_finalize(chk);
	sqlite3_close(raw);
}

/* token-used: a holder (OfflinePrint) records a token's last use, and may
 * ask for nothing else; nobody else may ask for it. */
static void test_token_used(void **state)
{
	char tok[PL_TOKEN_MAX], id[PL_DIR_TOKEN_ID_LEN + 1];
	pl_dir_token_t *list = NULL;
	size_t n = 0;
	pl_err_t err;
	(void)state;
	assert_int_equal(pl_dir_token_create(D, "ws-used", tok, &err), 0);
	assert_int_equal(pl_dir_token_id(tok, id), 0);
	sender = "PrinterLogicServiceOfflinePrint";
	asker = NULL; /* a holder names no administrator */
	expect("token-used", id, NULL, PL_STATUS_OK, "recorded");
	assert_int_equal(pl_dir_token_list(D, &list, &n, &err), 0);
	int64_t used = 0;
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i].id, id) == 0)
			used = list[i].last_used_ms;
	free(list);
	assert_true(used > 0);
	expect("token-used", id, NULL, PL_STATUS_OK, "not recorded: used within the minute");
	expect("token-used", "00000000", NULL, PL_STATUS_NOTFOUND, "no token with id 00000000");
	expect("token-used", "not-an-id", NULL, PL_STATUS_BADREQ, "invalid token id");
	expect("token-used", NULL, NULL, PL_STATUS_BADREQ, "needs NAME");
	/* A holder may ask for nothing else: not a printer, not a token. */
	expect("printer-add", NULL, "{\"name\": \"PX\", \"uri\": \"socket://127.0.0.1:9100\"}",
	       PL_STATUS_AUTH, "may ask only for token-used");
	expect("user-del", "bob", NULL, PL_STATUS_AUTH, "may ask only for token-used");
	expect("token-create", "ws-evil", NULL, PL_STATUS_AUTH, "may ask only for token-used");
	sender = "PrinterLogicServiceEmail";
	expect("reader-del", "R1", NULL, PL_STATUS_AUTH, "may ask only for token-used");
	/* Nobody but a holder may send it. */
	asker = "alice";
	const char *others[] = { "plsc-console", "PrinterLogicServiceIdentitySync",
				 "PrinterLogicServiceSimpleBadgeRelease", "Rogue", "" };
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		sender = others[i];
		expect("token-used", id, NULL, PL_STATUS_AUTH, "for the services that hold jobs only");
	}
	sender = "plsc-console";
	pl_dir_printer_t p;
	assert_int_equal(pl_dir_printer_get(D, "PX", &p, &err), 1);
}

static void test_admins(void **state)
{
	pl_err_t err;
	pl_dir_admin_t a;
	(void)state;
	assert_int_equal(pl_dir_admin_put(D, "alice", "alice-password-1", 0, &err), 0);
	expect("admin-put", NULL, "{\"name\": \"bob\", \"password\": \"short\"}",
	       PL_STATUS_BADREQ, "password too short");
	expect("admin-put", NULL, "{\"name\": \"bad name\", \"password\": \"long enough pw\"}",
	       PL_STATUS_BADREQ, "invalid administrator name");
	expect("admin-put", NULL, "{\"name\": \"bob\"}", PL_STATUS_BADREQ, "needs \"password\"");
	expect("admin-put", NULL, "{\"password\": \"long enough pw\"}", PL_STATUS_BADREQ,
	       "needs a \"name\"");
	expect("admin-put", NULL, "{\"name\": \"bob\", \"password\": \"bob-password-1\"}",
	       PL_STATUS_OK, "administrator bob added");
	assert_int_equal(pl_dir_admin_check(D, "bob", "bob-password-1", &err), 1);
	expect("admin-put", NULL, "{\"name\": \"bob\", \"password\": \"bob-password-2\"}",
	       PL_STATUS_CONFLICT, "already exists");

	/* One's own password only, the current one first. */
	expect("admin-passwd", "bob", "{\"current\": \"bob-password-1\", \"password\": "
	       "\"bob-password-3\"}", PL_STATUS_AUTH, "only their own");
	expect("admin-passwd", "alice", "{\"current\": \"wrong-password\", \"password\": "
	       "\"alice-password-2\"}", PL_STATUS_AUTH, "current password is wrong");
	expect("admin-passwd", "alice", "{\"current\": \"alice-password-1\", \"password\": "
	       "\"short\"}", PL_STATUS_BADREQ, "password too short");
	expect("admin-passwd", "alice", "{\"password\": \"alice-password-2\"}",
	       PL_STATUS_BADREQ, "needs \"current\"");
	assert_int_equal(pl_dir_admin_get(D, "alice", &a, &err), 0);
	int64_t before = a.updated_ms;
	usleep(2000);
	expect("admin-passwd", "alice", "{\"current\": \"alice-password-1\", \"password\": "
	       "\"alice-password-2\"}", PL_STATUS_OK, "password of alice changed");
	assert_int_equal(pl_dir_admin_check(D, "alice", "alice-password-2", &err), 1);
	assert_int_equal(pl_dir_admin_get(D, "alice", &a, &err), 0);
	assert_true(a.updated_ms > before);
	asker = "ghost"; /* an administrator deleted meanwhile */
	expect("admin-passwd", "ghost", "{\"current\": \"ghost-password\", \"password\": "
	       "\"ghost-password-2\"}", PL_STATUS_NOTFOUND, "no administrator ghost");
	asker = "alice";

	/* Not oneself, not an unknown one, not the last one. */
	expect("admin-del", "alice", NULL, PL_STATUS_CONFLICT, "own account");
	expect("admin-del", "nobody", NULL, PL_STATUS_NOTFOUND, "no administrator nobody");
	expect("admin-del", "bob", NULL, PL_STATUS_OK, "administrator bob deleted");
	asker = "bob"; /* a session that outlived its account */
	expect("admin-del", "alice", NULL, PL_STATUS_CONFLICT, "last administrator");
	asker = "alice";
	assert_int_equal(pl_dir_admin_get(D, "alice", &a, &err), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_users),
		cmocka_unit_test(test_import),
		cmocka_unit_test(test_printers_readers),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_tokens),
		cmocka_unit_test(test_token_used),
		cmocka_unit_test(test_sync_source),
		cmocka_unit_test(test_sync_stream),
		cmocka_unit_test(test_sync_stream_key_twice),
		cmocka_unit_test(test_admins),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
