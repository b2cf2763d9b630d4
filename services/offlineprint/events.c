/* Job events for reporting: metadata only, never content; titles only
 * when report_titles is on. The supervisor appends them to
 * <log_dir>/job-events.jsonl. */
#include "op.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <jansson.h>

#include "pl_log.h"

static void iso_time(char *buf, size_t sz, int64_t ms)
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&s, &tm);
	size_t n = strftime(buf, sz, "%Y-%m-%dT%H:%M:%S", &tm);
	if (n && n + 6 < sz)
		snprintf(buf + n, sz - n, ".%03dZ", (int)(ms % 1000));
}

void op_event(op_t *op, const char *event, const pl_job_meta_t *m,
	      const char *detail)
{
	char when[40];
	pl_msg_t msg;
	json_t *o = json_object();
	iso_time(when, sizeof(when), pl_log_now_ms());
	json_object_set_new(o, "time", json_string(when));
	json_object_set_new(o, "event", json_string(event));
	if (m->id[0])
		json_object_set_new(o, "job_id", json_string(m->id));
	json_object_set_new(o, "user", json_string(m->owner));
	json_object_set_new(o, "workstation", json_string(m->workstation));
	json_object_set_new(o, "printer", json_string(m->printer));
	if (op->report_titles)
		json_object_set_new(o, "title", json_string(m->title));
	json_object_set_new(o, "page_size", json_string(m->page_size));
	json_object_set_new(o, "pages", json_integer(m->pages));
	json_object_set_new(o, "size", json_integer((json_int_t)m->size));
	json_object_set_new(o, "format", json_string(m->format));
	if (detail)
		json_object_set_new(o, "detail", json_string(detail));
	char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (!text)
		return;
	if (pl_service_supervised(op->svc) &&
	    pl_msg_init(&msg, PL_MSG_JOB_EVENT, 0, 0) == 0) {
		pl_msg_add_str(&msg, PL_TAG_EVENT, text);
		if (pl_msg_finish(&msg) == 0)
			op_reply(op, &msg);
		pl_msg_free(&msg);
	}
	free(text);
}
