/* Job events for reporting: metadata only, never content; titles only
 * when report_titles is on. Typed fields, not JSON: the supervisor (root)
 * checks each one and writes the line of <log_dir>/job-events.jsonl
 * itself, so it never parses JSON a child wrote (PROTOCOL.md §9). */
#include "holder-private.h"

#include "pl_log.h"

static void event_send(pl_holder_t *h, const char *event, const pl_job_meta_t *m,
		       const char *detail)
{
	pl_msg_t msg;
	if (pl_msg_init(&msg, PL_MSG_JOB_EVENT, 0, 0) < 0)
		return;
	pl_msg_add_str(&msg, PL_TAG_EVENT, event);
	pl_msg_add_u64(&msg, PL_TAG_TIME_MS, (uint64_t)pl_log_now_ms());
	if (m->id[0])
		pl_msg_add_str(&msg, PL_TAG_JOB_ID, m->id);
	pl_msg_add_str(&msg, PL_TAG_USER, m->owner);
	pl_msg_add_str(&msg, PL_TAG_WORKSTATION, m->workstation);
	pl_msg_add_str(&msg, PL_TAG_PRINTER, m->printer);
	if (h->conf.report_titles)
		pl_msg_add_str(&msg, PL_TAG_TITLE, m->title);
	pl_msg_add_str(&msg, PL_TAG_PAGE_SIZE, m->page_size);
	if (m->pages) /* absent = unknown */
		pl_msg_add_u32(&msg, PL_TAG_PAGES, m->pages);
	pl_msg_add_u64(&msg, PL_TAG_SIZE, m->size);
	pl_msg_add_str(&msg, PL_TAG_FORMAT, m->format);
	if (detail)
		pl_msg_add_str(&msg, PL_TAG_DETAIL, detail);
	if (pl_msg_finish(&msg) == 0)
		holder_send(h, &msg);
	pl_msg_free(&msg);
}

void pl_holder_event(pl_holder_t *h, const char *event,
		     const pl_job_meta_t *m, const char *detail)
{
	if (h->events)
		event_send(h, event, m, detail);
	if (h->event_hook)
		h->event_hook(h->event_arg, event, m, detail);
}
