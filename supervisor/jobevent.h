/* Job events (PROTOCOL.md §9): a holder sends typed fields, the
 * supervisor checks them and writes the JSON line itself, so the root
 * process never parses JSON a child wrote. */
#ifndef SV_JOBEVENT_H
#define SV_JOBEVENT_H

#include <stddef.h>

#include "pl_proto.h"

/* The job-events.jsonl line (no newline) for a JOB_EVENT frame sent by
 * service: malloc'd, or NULL with the reason in why (an unknown event, a
 * field too long or of the wrong type). Invalid UTF-8 and control
 * characters in strings become U+FFFD. */
char *sv_jobevent_line(const pl_frame_t *f, const char *service, char *why,
		       size_t whysz);

#endif
