// fuzz-sources: lib/mail/head.c lib/mail/authres.c lib/mail/text.c common/util.c
/* libFuzzer target: pl_mail_head_parse, which the Email service runs on
 * every message's header block (hostile: anyone can send mail), with the
 * Authentication-Results check on or off, and the address-list and
 * encoded-word parsers on their own.
 *
 * Input layout:
 *   byte 0   bit 0: check Authentication-Results against "mx.corp.example"
 *   rest     the message
 * The answer must be sane: a From that is "" or one lower-case addr-spec
 * of at most 320 bytes, at most 16 distinct recipients, a subject and a
 * Message-ID terminated and free of control characters, auth one of the
 * three values (and NONE when the check is off). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail-private.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) abort(); } while (0)

static void check_addr(const char *a)
{
	size_t l = strnlen(a, PL_MAIL_ADDR_MAX + 1);
	CHECK(l <= PL_MAIL_ADDR_MAX);
	CHECK(strchr(a, '@'));
	for (size_t i = 0; i < l; i++)
		CHECK(!(a[i] >= 'A' && a[i] <= 'Z'));
}

static void count_addr(const char *a, void *arg)
{
	check_addr(a);
	(*(unsigned *)arg)++;
}

static void check_text(const char *s, size_t sz)
{
	size_t l = strnlen(s, sz);
	CHECK(l < sz);
	for (size_t i = 0; i < l; i++)
		CHECK((unsigned char)s[i] >= 32 && s[i] != 127);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const char *trusted = (data[0] & 1) ? "mx.corp.example" : NULL;
	pl_mail_head_t h;
	pl_err_t err;
	int rc = pl_mail_head_parse(data + 1, size - 1, trusted, &h, &err);
	CHECK(rc == 0 || rc == -1);
	if (rc == 0) {
		if (h.from[0])
			check_addr(h.from);
		CHECK(h.n_rcpt <= PL_MAIL_RCPT_MAX);
		for (unsigned i = 0; i < h.n_rcpt; i++) {
			check_addr(h.rcpt[i]);
			for (unsigned j = 0; j < i; j++)
				CHECK(strcmp(h.rcpt[i], h.rcpt[j]));
		}
		check_text(h.subject, sizeof(h.subject));
		check_text(h.message_id, sizeof(h.message_id));
		CHECK(h.auth == PL_MAIL_AUTH_NONE || h.auth == PL_MAIL_AUTH_PASS ||
		      h.auth == PL_MAIL_AUTH_FAIL);
		if (!trusted)
			CHECK(h.auth == PL_MAIL_AUTH_NONE);
		if (h.auth == PL_MAIL_AUTH_PASS)
			CHECK(h.from[0]);
	}
	/* the same bytes as one field value */
	size_t n = size - 1 < 4096 ? size - 1 : 4096;
	char *v = malloc(n + 1);
	if (!v)
		return 0;
	pl_mail_unfold(data + 1, n, v, n + 1);
	unsigned good = 0, bad = 0;
	CHECK(pl_mail_addr_list(v, count_addr, &good, &bad) == good);
	char out[256];
	pl_mail_decode_words(v, out, sizeof(out));
	check_text(out, sizeof(out));
	int a = pl_mail_authres_eval(v, "mx.corp.example", "corp.example");
	CHECK(a == PL_MAIL_AUTH_NONE || a == PL_MAIL_AUTH_PASS || a == PL_MAIL_AUTH_FAIL);
	free(v);
	return 0;
}
