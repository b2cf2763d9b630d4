// fuzz-sources: services/offnetwork/gw-parse.c services/offnetwork/msg.c proto/*.c common/util.c common/log.c
/* libFuzzer target: what the off-network gateway reads from strangers
 * (services/offnetwork/gw-parse.c) and from routers. The first byte picks
 * the reader, the rest is its input:
 *   0  an Authorization header value: a token comes out only when it is
 *      1..size-1 printable bytes without spaces
 *   1  a request path: a job id comes out only for /v1/jobs/<valid id>
 *   2  a string escaped for JSON: no raw quote, backslash or control byte
 *      survives, and the output is terminated within its buffer
 *   3  a router's WebSocket message as the gateway decodes it (msg.c): a
 *      RESULT with a valid id and a known outcome, a JOB_EVENT (a held
 *      job's later state) with a valid id, a known event and a seq, or a
 *      refusal
 *   4  the constant-time comparison agrees with strcmp */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../services/offnetwork/gw.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) abort(); } while (0)

static void text_readers(int mode, const char *s)
{
	char tok[64], id[ON_ID_MAX + 1], esc[128];
	switch (mode) {
	case 0:
		if (gw_parse_bearer(s, tok, sizeof(tok))) {
			size_t n = strlen(tok);
			CHECK(n >= 1 && n < sizeof(tok));
			for (size_t i = 0; i < n; i++)
				CHECK(tok[i] > 0x20 && tok[i] < 0x7f);
		}
		break;
	case 1:
		if (gw_parse_job_path(s, id)) {
			CHECK(on_id_valid(id));
			CHECK(strncmp(s, "/v1/jobs/", 9) == 0 && strcmp(s + 9, id) == 0);
		}
		if (gw_parse_body_path(s, id)) {
			size_t n = strlen(id);
			CHECK(on_id_valid(id));
			CHECK(strncmp(s, "/v1/router/jobs/", 16) == 0 &&
			      strncmp(s + 16, id, n) == 0 && strcmp(s + 16 + n, "/body") == 0);
		}
		break;
	case 2:
		gw_json_escape(esc, sizeof(esc), s);
		CHECK(memchr(esc, 0, sizeof(esc)));
		for (size_t i = 0; esc[i]; i++) {
			CHECK((unsigned char)esc[i] >= 0x20);
			if (esc[i] == '\\') {
				i++;
				CHECK(esc[i] == '\\' || esc[i] == '"' || esc[i] == 'u');
			} else {
				CHECK(esc[i] != '"');
			}
		}
		break;
	default: {
		size_t half = strlen(s) / 2;
		char a[256];
		memcpy(a, s, half);
		a[half] = '\0';
		CHECK(gw_token_equal(a, s + half) == (strcmp(a, s + half) == 0));
		break;
	}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	int mode = data[0] % 5;
	data++;
	size--;
	if (mode == 3) {
		on_msg_t m;
		pl_err_t err;
		err.msg[0] = '\0';
		if (on_msg_decode(data, size, &m, &err) < 0) {
			CHECK(err.msg[0] != '\0');
			return 0;
		}
		if (m.kind == ON_M_RESULT) {
			CHECK(on_id_valid(m.id));
			CHECK(!strcmp(m.event, "printed") || !strcmp(m.event, "held") ||
			      !strcmp(m.event, "failed"));
			CHECK(memchr(m.reason, 0, sizeof(m.reason)));
		}
		if (m.kind == ON_M_EVENT) {
			/* what gw_event_record takes as it is */
			CHECK(on_id_valid(m.id) && on_event_valid(m.event) && m.seq > 0);
			CHECK(memchr(m.printer, 0, sizeof(m.printer)));
			CHECK(memchr(m.reason, 0, sizeof(m.reason)));
		}
		return 0;
	}
	if (size > 500)
		return 0;
	char s[512];
	memcpy(s, data, size);
	s[size] = '\0';
	text_readers(mode, s);
	return 0;
}
