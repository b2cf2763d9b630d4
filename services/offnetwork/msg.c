/* The messages on the off-network WebSocket (proto/PROTOCOL.md §12): each
 * binary WebSocket message is exactly one TLV frame of the job-submission
 * protocol, so the gateway pushes a job to the router the way a
 * workstation submits one to OfflinePrint (SUBMIT_BEGIN, SUBMIT_DATA...,
 * SUBMIT_END), and the router answers RESULT. Later outcomes of held jobs
 * go up as JOB_EVENT (with OFFNET_SEQ), acknowledged by a RESULT carrying
 * that SEQ (§12.1). Both directions are decoded here, so the gateway role
 * can share this. Everything here reads bytes from the network: it is
 * fuzzed by tests/fuzz/fuzz_offnet_msg.c. */
#include "on.h"

#include <stdio.h>
#include <string.h>

int on_id_valid(const char *id)
{
	size_t n = strlen(id);
	if (n < 1 || n > ON_ID_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = id[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' || c == ':' || c == '-'))
			return 0;
	}
	return 1;
}

/* An optional string: absent leaves "" (the caller zeroed it). */
static int opt_str(const pl_frame_t *f, uint16_t tag, char *dst, size_t size)
{
	int rc = pl_frame_get_str(f, tag, dst, size);
	return rc == -PL_PROTO_EMISSING ? 0 : rc;
}

static int get_id(const pl_frame_t *f, on_msg_t *m, pl_err_t *err)
{
	if (pl_frame_get_str(f, PL_TAG_JOB_ID, m->id, sizeof(m->id)) < 0 ||
	    !on_id_valid(m->id)) {
		snprintf(err->msg, sizeof(err->msg), "%s: missing or bad job id",
			 pl_msg_type_name(f->type));
		return -1;
	}
	return 0;
}

static int decode_begin(const pl_frame_t *f, on_msg_t *m, pl_err_t *err)
{
	pl_field_t fl;
	m->kind = ON_M_BEGIN;
	if (get_id(f, m, err) < 0)
		return -1;
	if (pl_frame_get_str(f, PL_TAG_PRINTER, m->printer, sizeof(m->printer)) < 0 ||
	    pl_frame_get_u64(f, PL_TAG_SIZE, &m->size) < 0 ||
	    opt_str(f, PL_TAG_USER, m->user, sizeof(m->user)) < 0 ||
	    opt_str(f, PL_TAG_TITLE, m->title, sizeof(m->title)) < 0 ||
	    opt_str(f, PL_TAG_FORMAT, m->format, sizeof(m->format)) < 0) {
		snprintf(err->msg, sizeof(err->msg), "SUBMIT_BEGIN %s: bad fields", m->id);
		return -1;
	}
	int rc = pl_frame_find(f, PL_TAG_OFFNET_HOLD, &fl);
	if (rc < 0 || (rc == 1 && pl_field_u8(&fl, &m->hold) < 0) || m->hold > 1) {
		snprintf(err->msg, sizeof(err->msg), "SUBMIT_BEGIN %s: bad hold flag", m->id);
		return -1;
	}
	rc = pl_frame_find(f, PL_TAG_OFFNET_BODY, &fl);
	if (rc < 0 || (rc == 1 && pl_field_u8(&fl, &m->body) < 0) || m->body > 1) {
		snprintf(err->msg, sizeof(err->msg), "SUBMIT_BEGIN %s: bad body flag", m->id);
		return -1;
	}
	rc = pl_frame_find(f, PL_TAG_SHA256, &fl);
	if (rc < 0 || (rc == 1 && fl.len != sizeof(m->sha256))) {
		snprintf(err->msg, sizeof(err->msg), "SUBMIT_BEGIN %s: bad sha256", m->id);
		return -1;
	}
	if (rc == 1) {
		memcpy(m->sha256, fl.val, sizeof(m->sha256));
		m->has_sha = 1;
	}
	return 0;
}

static int decode_data(const pl_frame_t *f, on_msg_t *m, pl_err_t *err)
{
	pl_field_t fl;
	m->kind = ON_M_DATA;
	if (pl_frame_find(f, PL_TAG_PAYLOAD, &fl) != 1) {
		snprintf(err->msg, sizeof(err->msg), "SUBMIT_DATA without payload");
		return -1;
	}
	m->data = fl.val;
	m->dlen = fl.len;
	return 0;
}

int on_event_valid(const char *event)
{
	static const char *const ok[] = { "printed", "print-failed", "maybe-printed",
					  "deleted", "expired", "damaged" };
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (strcmp(event, ok[i]) == 0)
			return 1;
	return 0;
}

int on_seq_repeat(uint64_t last, uint64_t seq)
{
	if (!last || (last >> 32) != (seq >> 32))
		return 0;
	return (seq & 0xffffffffu) <= (last & 0xffffffffu);
}

/* gateway -> router: a RESULT with SEQ acknowledges our JOB_EVENT. */
static int decode_event_ack(const pl_frame_t *f, on_msg_t *m, pl_err_t *err)
{
	m->kind = ON_M_EVENT_ACK;
	if (pl_frame_get_u64(f, PL_TAG_OFFNET_SEQ, &m->seq) < 0 || m->seq == 0 ||
	    opt_str(f, PL_TAG_JOB_ID, m->id, sizeof(m->id)) < 0 ||
	    (m->id[0] && !on_id_valid(m->id))) {
		snprintf(err->msg, sizeof(err->msg), "RESULT for a job event: bad fields");
		return -1;
	}
	return 0;
}

/* router -> gateway (decoded here for the gateway role and the fuzzer). */
static int decode_event(const pl_frame_t *f, on_msg_t *m, pl_err_t *err)
{
	m->kind = ON_M_EVENT;
	if (get_id(f, m, err) < 0)
		return -1;
	if (pl_frame_get_u64(f, PL_TAG_OFFNET_SEQ, &m->seq) < 0 || m->seq == 0 ||
	    pl_frame_get_u64(f, PL_TAG_TIME_MS, &m->time_ms) < 0 ||
	    pl_frame_get_str(f, PL_TAG_EVENT, m->event, sizeof(m->event)) < 0 ||
	    opt_str(f, PL_TAG_PRINTER, m->printer, sizeof(m->printer)) < 0 ||
	    opt_str(f, PL_TAG_MESSAGE, m->reason, sizeof(m->reason)) < 0) {
		snprintf(err->msg, sizeof(err->msg), "JOB_EVENT %s: bad fields", m->id);
		return -1;
	}
	if (!on_event_valid(m->event)) {
		snprintf(err->msg, sizeof(err->msg), "JOB_EVENT %s: unknown event", m->id);
		return -1;
	}
	return 0;
}

static int decode_result(const pl_frame_t *f, on_msg_t *m, pl_err_t *err)
{
	pl_field_t fl;
	if (pl_frame_find(f, PL_TAG_OFFNET_SEQ, &fl) == 1)
		return decode_event_ack(f, m, err);
	m->kind = ON_M_RESULT;
	if (get_id(f, m, err) < 0)
		return -1;
	if (pl_frame_get_str(f, PL_TAG_EVENT, m->event, sizeof(m->event)) < 0 ||
	    opt_str(f, PL_TAG_MESSAGE, m->reason, sizeof(m->reason)) < 0) {
		snprintf(err->msg, sizeof(err->msg), "RESULT %s: bad fields", m->id);
		return -1;
	}
	if (strcmp(m->event, "printed") != 0 && strcmp(m->event, "held") != 0 &&
	    strcmp(m->event, "failed") != 0) {
		snprintf(err->msg, sizeof(err->msg), "RESULT %s: unknown outcome", m->id);
		return -1;
	}
	return 0;
}

int on_msg_decode(const uint8_t *buf, size_t len, on_msg_t *m, pl_err_t *err)
{
	pl_frame_t f;
	size_t used = 0;
	memset(m, 0, sizeof(*m));
	int rc = pl_frame_parse(buf, len, ON_MSG_MAX, &f, &used);
	if (rc < 0 || used != len || (f.flags & PL_FLAG_FD)) {
		snprintf(err->msg, sizeof(err->msg), "not one well-formed frame (%s)",
			 rc < 0 ? pl_proto_strerror(rc) : "trailing bytes or fd flag");
		return -1;
	}
	switch (f.type) {
	case PL_MSG_SUBMIT_BEGIN:
		return decode_begin(&f, m, err);
	case PL_MSG_SUBMIT_DATA:
		return decode_data(&f, m, err);
	case PL_MSG_SUBMIT_END:
		m->kind = ON_M_END;
		return get_id(&f, m, err);
	case PL_MSG_RESULT:
		return decode_result(&f, m, err);
	case PL_MSG_JOB_EVENT:
		return decode_event(&f, m, err);
	default:
		snprintf(err->msg, sizeof(err->msg), "unexpected message %s",
			 pl_msg_type_name(f.type));
		return -1;
	}
}

int on_msg_result(pl_msg_t *m, const char *id, const char *event, const char *reason)
{
	pl_msg_reset(m, PL_MSG_RESULT, 0, 0);
	m->max = ON_MSG_MAX;
	pl_msg_add_str(m, PL_TAG_JOB_ID, id);
	pl_msg_add_str(m, PL_TAG_EVENT, event);
	if (reason && *reason)
		pl_msg_add_str(m, PL_TAG_MESSAGE, reason);
	return pl_msg_finish(m);
}

int on_msg_job_event(pl_msg_t *m, uint64_t seq, const char *id, const char *event,
		     uint64_t time_ms, const char *printer, const char *detail)
{
	pl_msg_reset(m, PL_MSG_JOB_EVENT, 0, 0);
	m->max = ON_MSG_MAX;
	pl_msg_add_str(m, PL_TAG_JOB_ID, id);
	pl_msg_add_u64(m, PL_TAG_OFFNET_SEQ, seq);
	pl_msg_add_str(m, PL_TAG_EVENT, event);
	pl_msg_add_u64(m, PL_TAG_TIME_MS, time_ms);
	if (printer && *printer)
		pl_msg_add_str(m, PL_TAG_PRINTER, printer);
	if (detail && *detail)
		pl_msg_add_str(m, PL_TAG_MESSAGE, detail);
	return pl_msg_finish(m);
}

int on_msg_event_ack(pl_msg_t *m, uint64_t seq, const char *id)
{
	pl_msg_reset(m, PL_MSG_RESULT, 0, 0);
	m->max = ON_MSG_MAX;
	pl_msg_add_u64(m, PL_TAG_OFFNET_SEQ, seq);
	if (id && *id)
		pl_msg_add_str(m, PL_TAG_JOB_ID, id);
	return pl_msg_finish(m);
}
