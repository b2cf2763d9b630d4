/* The supervisor's CTL_STATUS and CTL_JOBS answers into structs; see
 * pl_ctlreply.h. */
#include "pl_ctlreply.h"

#include <string.h>

int pl_svc_row_decode(const pl_field_t *fl, pl_svc_row_t *r)
{
	pl_iter_t it;
	pl_field_t f;
	int rc;
	memset(r, 0, sizeof(*r));
	if (pl_iter_nested(&it, fl) < 0)
		return -1;
	while ((rc = pl_iter_next(&it, &f)) == 1) {
		switch (f.tag) {
		case PL_TAG_NAME: rc = pl_field_str(&f, r->name, sizeof(r->name)); break;
		case PL_TAG_STATE: rc = pl_field_str(&f, r->state, sizeof(r->state)); break;
		case PL_TAG_LAST_EXIT: rc = pl_field_str(&f, r->last_exit, sizeof(r->last_exit)); break;
		case PL_TAG_PATH: rc = pl_field_str(&f, r->path, sizeof(r->path)); break;
		case PL_TAG_DETAIL: rc = pl_field_str(&f, r->detail, sizeof(r->detail)); break;
		case PL_TAG_ROLE: rc = pl_field_str(&f, r->role, sizeof(r->role)); break;
		case PL_TAG_RUN_USER: rc = pl_field_str(&f, r->user, sizeof(r->user)); break;
		case PL_TAG_DENIED: rc = pl_field_u64(&f, &r->denied); break;
		case PL_TAG_ENABLED: rc = pl_field_u8(&f, &r->enabled); break;
		case PL_TAG_PID: rc = pl_field_u32(&f, &r->pid); break;
		case PL_TAG_RESTARTS: rc = pl_field_u32(&f, &r->restarts); break;
		case PL_TAG_UPTIME_MS:
			rc = pl_field_u64(&f, &r->uptime);
			r->has_uptime = 1;
			break;
		default: rc = 0;
		}
		if (rc < 0)
			return -1;
	}
	return rc;
}

int pl_sup_row_decode(const pl_field_t *fl, pl_sup_row_t *r)
{
	pl_iter_t it;
	pl_field_t f;
	memset(r, 0, sizeof(*r));
	if (pl_iter_nested(&it, fl) < 0)
		return -1;
	while (pl_iter_next(&it, &f) == 1) {
		switch (f.tag) {
		case PL_TAG_PID: (void)pl_field_u32(&f, &r->pid); break;
		case PL_TAG_UPTIME_MS: (void)pl_field_u64(&f, &r->uptime); break;
		case PL_TAG_VERSION: (void)pl_field_str(&f, r->version, sizeof(r->version)); break;
		case PL_TAG_PATH: (void)pl_field_str(&f, r->config, sizeof(r->config)); break;
		default: break;
		}
	}
	return 0;
}

int pl_job_row_decode(const pl_field_t *fl, pl_job_row_t *j)
{
	pl_iter_t it;
	pl_field_t f;
	memset(j, 0, sizeof(*j));
	if (pl_iter_nested(&it, fl) < 0)
		return -1;
	while (pl_iter_next(&it, &f) == 1) {
		switch (f.tag) {
		case PL_TAG_JOB_ID: (void)pl_field_str(&f, j->id, sizeof(j->id)); break;
		case PL_TAG_USER: (void)pl_field_str(&f, j->user, sizeof(j->user)); break;
		case PL_TAG_WORKSTATION: (void)pl_field_str(&f, j->ws, sizeof(j->ws)); break;
		case PL_TAG_TITLE: (void)pl_field_str(&f, j->title, sizeof(j->title)); break;
		case PL_TAG_PRINTER: (void)pl_field_str(&f, j->printer, sizeof(j->printer)); break;
		case PL_TAG_FORMAT: (void)pl_field_str(&f, j->format, sizeof(j->format)); break;
		case PL_TAG_PAGE_SIZE: (void)pl_field_str(&f, j->page_size, sizeof(j->page_size)); break;
		case PL_TAG_SOURCE: (void)pl_field_str(&f, j->source, sizeof(j->source)); break;
		case PL_TAG_PAGES: (void)pl_field_u32(&f, &j->pages); break;
		case PL_TAG_SIZE: (void)pl_field_u64(&f, &j->size); break;
		case PL_TAG_CREATED_MS: (void)pl_field_u64(&f, &j->created); break;
		case PL_TAG_EXPIRES_MS: (void)pl_field_u64(&f, &j->expires); break;
		case PL_TAG_MAYBE_PRINTED: (void)pl_field_u64(&f, &j->maybe); break;
		default: break;
		}
	}
	return 0;
}

int pl_result_row_decode(const pl_field_t *fl, pl_result_row_t *r)
{
	pl_iter_t it;
	pl_field_t f;
	memset(r, 0, sizeof(*r));
	r->status = PL_STATUS_ERROR;
	if (pl_iter_nested(&it, fl) < 0)
		return -1;
	while (pl_iter_next(&it, &f) == 1) {
		if (f.tag == PL_TAG_JOB_ID)
			(void)pl_field_str(&f, r->id, sizeof(r->id));
		else if (f.tag == PL_TAG_MESSAGE)
			(void)pl_field_str(&f, r->message, sizeof(r->message));
		else if (f.tag == PL_TAG_STATUS)
			(void)pl_field_u32(&f, &r->status);
	}
	return 0;
}
