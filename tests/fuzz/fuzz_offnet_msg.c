// fuzz-sources: services/offnetwork/msg.c proto/*.c common/util.c common/log.c
/* libFuzzer target: the off-network WebSocket messages
 * (services/offnetwork/msg.c), both directions in one decoder: what a
 * gateway pushes to the router (SUBMIT_BEGIN, SUBMIT_DATA, SUBMIT_END) and
 * what a router answers the gateway (RESULT), and the outcomes of held
 * jobs (JOB_EVENT, router -> gateway) with their acknowledgements (RESULT
 * with SEQ, gateway -> router). The input is one whole
 * WebSocket message. Whatever it holds, it is refused with a reason, or
 * decoded into a message whose strings are terminated, whose id is a
 * valid gateway job id, and whose data lies inside the input; a decoded
 * RESULT, JOB_EVENT or event acknowledgement, encoded again, decodes to
 * the same. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../services/offnetwork/on.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) abort(); } while (0)

static void check_result(const on_msg_t *m)
{
	pl_msg_t out;
	on_msg_t again;
	pl_err_t err;
	CHECK(pl_msg_init(&out, PL_MSG_RESULT, 0, 0) == 0);
	CHECK(on_msg_result(&out, m->id, m->event, m->reason) == 0);
	CHECK(on_msg_decode(out.buf, out.len, &again, &err) == 0);
	CHECK(again.kind == ON_M_RESULT);
	CHECK(strcmp(again.id, m->id) == 0 && strcmp(again.event, m->event) == 0);
	CHECK(strcmp(again.reason, m->reason) == 0);
	pl_msg_free(&out);
}

static void check_event(const on_msg_t *m)
{
	pl_msg_t out;
	on_msg_t again;
	pl_err_t err;
	CHECK(m->seq != 0 && on_id_valid(m->id) && on_event_valid(m->event));
	CHECK(pl_msg_init(&out, PL_MSG_JOB_EVENT, 0, 0) == 0);
	CHECK(on_msg_job_event(&out, m->seq, m->id, m->event, m->time_ms, m->printer,
			       m->reason) == 0);
	CHECK(on_msg_decode(out.buf, out.len, &again, &err) == 0);
	CHECK(again.kind == ON_M_EVENT && again.seq == m->seq && again.time_ms == m->time_ms);
	CHECK(strcmp(again.id, m->id) == 0 && strcmp(again.event, m->event) == 0);
	CHECK(strcmp(again.printer, m->printer) == 0 && strcmp(again.reason, m->reason) == 0);
	pl_msg_free(&out);
}

static void check_event_ack(const on_msg_t *m)
{
	pl_msg_t out;
	on_msg_t again;
	pl_err_t err;
	CHECK(m->seq != 0 && (!m->id[0] || on_id_valid(m->id)));
	CHECK(pl_msg_init(&out, PL_MSG_RESULT, 0, 0) == 0);
	CHECK(on_msg_event_ack(&out, m->seq, m->id) == 0);
	CHECK(on_msg_decode(out.buf, out.len, &again, &err) == 0);
	CHECK(again.kind == ON_M_EVENT_ACK && again.seq == m->seq);
	CHECK(strcmp(again.id, m->id) == 0);
	pl_msg_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	on_msg_t m;
	pl_err_t err;
	err.msg[0] = '\0';
	if (on_msg_decode(data, size, &m, &err) < 0) {
		CHECK(err.msg[0] != '\0');
		return 0;
	}
	CHECK(memchr(m.printer, 0, sizeof(m.printer)) && memchr(m.user, 0, sizeof(m.user)));
	CHECK(memchr(m.title, 0, sizeof(m.title)) && memchr(m.reason, 0, sizeof(m.reason)));
	switch (m.kind) {
	case ON_M_DATA:
		CHECK(m.data >= data && m.data + m.dlen <= data + size);
		break;
	case ON_M_BEGIN:
	case ON_M_END:
		CHECK(on_id_valid(m.id));
		CHECK(m.hold <= 1);
		break;
	case ON_M_RESULT:
		CHECK(on_id_valid(m.id));
		check_result(&m);
		break;
	case ON_M_EVENT:
		check_event(&m);
		break;
	case ON_M_EVENT_ACK:
		check_event_ack(&m);
		break;
	default:
		abort();
	}
	return 0;
}
