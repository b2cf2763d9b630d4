// fuzz-sources: supervisor/jobevent.c supervisor/logcap.c proto/*.c common/util.c common/log.c
/* libFuzzer target: the supervisor's side of JOB_EVENT. A holder (which
 * may be compromised) sends typed fields; the supervisor, as root, checks
 * them and writes the job-events.jsonl line itself (supervisor/jobevent.c).
 * The input is the frame's payload. Whatever it holds, the line is either
 * refused with a reason, or one JSON object on one line, in valid UTF-8
 * (Jansson refuses anything else when it reads it back), with the event
 * and the service in it. The supervisor writes the line itself, without
 * Jansson; read back and dumped again by Jansson (compact, in order) it
 * must come out byte for byte the same, so the escaping and the numbers
 * are exactly what Jansson wrote when it built the line. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "jobevent.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char why[256];
	pl_frame_t f = { .type = PL_MSG_JOB_EVENT, .payload = data,
			 .len = (uint32_t)size, .fd = -1 };
	if (size > PL_PROTO_MAX_FRAME)
		return 0;
	why[0] = '\0';
	char *line = sv_jobevent_line(&f, "PrinterLogicServiceOfflinePrint", why,
				      sizeof(why));
	if (!line) {
		CHECK(why[0] != '\0');
		return 0;
	}
	CHECK(strchr(line, '\n') == NULL);
	json_error_t err;
	json_t *o = json_loads(line, JSON_REJECT_DUPLICATES, &err);
	CHECK(json_is_object(o));
	CHECK(json_is_string(json_object_get(o, "event")));
	CHECK(json_is_string(json_object_get(o, "time")));
	CHECK(strcmp(json_string_value(json_object_get(o, "service")),
		     "PrinterLogicServiceOfflinePrint") == 0);
	char *again = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	CHECK(again != NULL && strcmp(again, line) == 0);
	free(again);
	json_decref(o);
	free(line);
	return 0;
}
