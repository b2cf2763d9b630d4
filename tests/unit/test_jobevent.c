/* JOB_EVENT in the supervisor (supervisor/jobevent.c): typed fields in,
 * one valid JSON line of job-events.jsonl out, whatever a child sends:
 * quotes, newlines, control bytes and invalid UTF-8 are neutralised,
 * unknown events, over-long and mistyped fields are refused. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jobevent.h"
#include "sv.h"

#define OP "PrinterLogicServiceOfflinePrint"

typedef struct {
	char dir[PATH_MAX];
	char file[PATH_MAX + 32];
	sv_sup_t *sup;
	sv_svc_t *svc;
} fx_t;

static int setup(void **state)
{
	fx_t *f = calloc(1, sizeof(*f));
	const char *tmp = getenv("TMPDIR");
	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "%s/test_jobevent.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->file, sizeof(f->file), "%s/job-events.jsonl", f->dir);
	f->sup = calloc(1, sizeof(*f->sup));
	f->svc = calloc(1, sizeof(*f->svc));
	assert_non_null(f->sup);
	assert_non_null(f->svc);
	assert_non_null(f->sup->cfg.log_dir = strdup(f->dir));
	f->sup->cfg.log_max_bytes = 1 << 20;
	f->sup->cfg.log_keep = 2;
	snprintf(f->svc->conf.name, sizeof(f->svc->conf.name), "%s", OP);
	f->svc->sup = f->sup;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx_t *f = *state;
	if (f->sup->events_open)
		sv_logfile_close(&f->sup->events);
	unlink(f->file);
	rmdir(f->dir);
	free(f->sup->cfg.log_dir);
	free(f->sup);
	free(f->svc);
	free(f);
	return 0;
}

/* A frame as a holder would build it; strings given with their length so
 * that NUL bytes can be sent too. */
static void frame_of(pl_msg_t *m, pl_frame_t *fr)
{
	size_t used;
	assert_int_equal(pl_msg_finish(m), 0);
	assert_int_equal(pl_frame_parse(m->buf, m->len, PL_PROTO_DEFAULT_MAX, fr, &used), 0);
	fr->fd = -1;
}

static void event_msg(pl_msg_t *m, const char *event, const char *title, size_t tlen)
{
	assert_int_equal(pl_msg_init(m, PL_MSG_JOB_EVENT, 0, 0), 0);
	pl_msg_add_str(m, PL_TAG_EVENT, event);
	pl_msg_add_u64(m, PL_TAG_TIME_MS, 1795850600903ull);
	pl_msg_add_str(m, PL_TAG_JOB_ID, "2e99000e0a888377800a2d640b7fd8f7");
	pl_msg_add_str(m, PL_TAG_USER, "bob");
	pl_msg_add_str(m, PL_TAG_WORKSTATION, "ws1");
	pl_msg_add_str(m, PL_TAG_PRINTER, "P1");
	if (title)
		pl_msg_add(m, PL_TAG_TITLE, title, tlen);
	pl_msg_add_str(m, PL_TAG_PAGE_SIZE, "");
	pl_msg_add_u32(m, PL_TAG_PAGES, 0);
	pl_msg_add_u64(m, PL_TAG_SIZE, 6);
	pl_msg_add_str(m, PL_TAG_FORMAT, "application/octet-stream");
}

static char *line_of(pl_msg_t *m, char *why, size_t whysz)
{
	pl_frame_t fr;
	frame_of(m, &fr);
	char *line = sv_jobevent_line(&fr, OP, why, whysz);
	pl_msg_free(m);
	return line;
}

/* The line is byte for byte what the services wrote before (the example
 * of PROTOCOL.md §9), and the title is left out when not sent. */
static void test_line_as_before(void **state)
{
	(void)state;
	pl_msg_t m;
	char why[160];
	event_msg(&m, "printed", "doc", 3);
	char *line = line_of(&m, why, sizeof(why));
	assert_non_null(line);
	assert_string_equal(line,
		"{\"time\":\"2026-11-28T07:23:20.903Z\",\"event\":\"printed\","
		"\"job_id\":\"2e99000e0a888377800a2d640b7fd8f7\",\"user\":\"bob\","
		"\"workstation\":\"ws1\",\"printer\":\"P1\",\"title\":\"doc\","
		"\"page_size\":\"\",\"pages\":null,\"size\":6,"
		"\"format\":\"application/octet-stream\",\"service\":\"" OP "\"}");
	free(line);

	event_msg(&m, "print-failed", NULL, 0);
	pl_msg_add_str(&m, PL_TAG_DETAIL, "P1: connection refused; the job is kept");
	line = line_of(&m, why, sizeof(why));
	assert_non_null(line);
	assert_null(strstr(line, "\"title\""));
	assert_non_null(strstr(line, ",\"format\":\"application/octet-stream\","
				     "\"detail\":\"P1: connection refused; the job is kept\","
				     "\"service\":"));
	free(line);
}

static void test_refused(void **state)
{
	(void)state;
	pl_msg_t m;
	char why[160], big[2000];
	/* unknown events, and the old JSON object in EVENT */
	event_msg(&m, "exploded", "t", 1);
	assert_null(line_of(&m, why, sizeof(why)));
	assert_string_equal(why, "unknown event \"exploded\"");
	event_msg(&m, "{\"event\":\"held\"}", "t", 1);
	assert_null(line_of(&m, why, sizeof(why)));
	/* an over-long title */
	memset(big, 'x', sizeof(big));
	event_msg(&m, "held", big, sizeof(big));
	assert_null(line_of(&m, why, sizeof(why)));
	assert_non_null(strstr(why, "title of 2000 bytes"));
	/* a mistyped number */
	assert_int_equal(pl_msg_init(&m, PL_MSG_JOB_EVENT, 0, 0), 0);
	pl_msg_add_str(&m, PL_TAG_EVENT, "held");
	pl_msg_add_u32(&m, PL_TAG_SIZE, 6);
	assert_null(line_of(&m, why, sizeof(why)));
	assert_string_equal(why, "size is not a u64");
	/* no event at all */
	assert_int_equal(pl_msg_init(&m, PL_MSG_JOB_EVENT, 0, 0), 0);
	pl_msg_add_str(&m, PL_TAG_USER, "bob");
	assert_null(line_of(&m, why, sizeof(why)));
}

/* Hostile strings through the whole path into job-events.jsonl: one
 * valid JSON object a line, one line an event, nothing raw. */
static void test_hostile_to_file(void **state)
{
	fx_t *f = *state;
	static const char title[] = "a\"b\nc\x01" "d\xff\xfe e\xc3(\x7f\xc3\xa9\0z\xe2\x80\xa8"
				   "\xed\xa0\x80\xc0\xaf\xf4\x90\x80\x80\\";
	static const char expect[] = "a\"b\xEF\xBF\xBD" "c\xEF\xBF\xBD" "d\xEF\xBF\xBD\xEF\xBF\xBD"
				    " e\xEF\xBF\xBD(\xEF\xBF\xBD\xc3\xa9\xEF\xBF\xBDz\xe2\x80\xa8"
				    /* surrogate: 3, overlong: 2, over U+10FFFF: 4 */
				    "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"
				    "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\\";
	const char *events[] = { "held", "refused", "exploded", "printed" };
	pl_msg_t m;
	pl_frame_t fr;
	for (int i = 0; i < 4; i++) {
		event_msg(&m, events[i], title, sizeof(title) - 1);
		pl_msg_add_str(&m, PL_TAG_DETAIL, "bad token\r\n{\"event\":\"printed\"}\n");
		frame_of(&m, &fr);
		sv_jobevent(f->sup, f->svc, &fr);
		pl_msg_free(&m);
	}
	FILE *fp = fopen(f->file, "r");
	assert_non_null(fp);
	char *line = NULL;
	size_t cap = 0;
	int n = 0;
	while (getline(&line, &cap, fp) > 0) {
		json_error_t jerr;
		json_t *o = json_loads(line, JSON_REJECT_DUPLICATES, &jerr);
		assert_true(json_is_object(o));
		const char *want = n == 0 ? "held" : n == 1 ? "refused" : "printed";
		assert_string_equal(json_string_value(json_object_get(o, "event")), want);
		assert_string_equal(json_string_value(json_object_get(o, "title")), expect);
		assert_string_equal(json_string_value(json_object_get(o, "detail")),
				    "bad token\xEF\xBF\xBD\xEF\xBF\xBD{\"event\":\"printed\"}\xEF\xBF\xBD");
		assert_string_equal(json_string_value(json_object_get(o, "service")), OP);
		json_decref(o);
		n++;
	}
	free(line);
	fclose(fp);
	assert_int_equal(n, 3); /* the unknown event wrote nothing */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_line_as_before),
		cmocka_unit_test(test_refused),
		cmocka_unit_test_setup_teardown(test_hostile_to_file, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
