// fuzz-sources: lib/mail/mime.c lib/mail/head.c lib/mail/authres.c lib/mail/text.c common/util.c
/* libFuzzer target: the MIME walk and the converter's input selection
 * (pl_mail_walk: which part is the body, which are attachments or cid
 * resources, what kind each is and so how MuPDF will be asked to open
 * it), everything before MuPDF renders anything. Runs in the jailed
 * child on any message anyone sends.
 *
 * Input layout:
 *   byte 0   max_depth (0..15)
 *   byte 1   max_attachments (0..31)
 *   rest     the message
 * Bounds: 1 MiB decoded. The answer must keep them: a refusal with a
 * reason, or parts within the counts, each with data, TEXT and HTML in
 * valid UTF-8, document kinds with a MuPDF magic, resources with a cid. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail-private.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) abort(); } while (0)

static void check_utf8(const uint8_t *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		uint8_t c = s[i];
		size_t l = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
		CHECK(l && i + l <= n);
		for (size_t k = 1; k < l; k++)
			CHECK((s[i + k] & 0xc0) == 0x80);
		i += l;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	pl_mail_opts_t o;
	pl_mail_opts_default(&o);
	o.max_depth = data[0] & 15;
	o.max_attachments = data[1] & 31;
	o.max_decoded_bytes = 1u << 20;
	/* half the inputs with the external converter on: Office parts are
	 * then kept (PL_MAIL_K_EXT) for it instead of skipped */
	o.ext.argc = (data[0] & 16) ? 1 : 0;
	pl_mail_parts_t *ps = malloc(sizeof(*ps));
	if (!ps)
		return 0;
	int rc = pl_mail_walk(data + 2, size - 2, &o, ps);
	CHECK(rc == 0 || rc == PL_MAIL_EREJECT || rc == -1);
	if (rc == PL_MAIL_EREJECT) {
		CHECK(ps->reason[0]);
		CHECK(ps->n == 0);
	}
	if (rc == 0) {
		CHECK(ps->n <= PL_MAIL_PARTS_MAX);
		CHECK(ps->n_attach <= o.max_attachments);
		CHECK(ps->decoded <= o.max_decoded_bytes);
		CHECK(strnlen(ps->skipped, sizeof(ps->skipped)) < sizeof(ps->skipped));
		unsigned bodies = 0;
		for (unsigned i = 0; i < ps->n; i++) {
			const pl_mail_part_t *p = &ps->v[i];
			CHECK(p->data);
			CHECK(p->kind != PL_MAIL_K_SKIP);
			bodies += p->role == PL_MAIL_R_BODY;
			if (p->role == PL_MAIL_R_RESOURCE)
				CHECK(p->cid[0]);
			if (p->kind == PL_MAIL_K_TEXT || p->kind == PL_MAIL_K_HTML) {
				check_utf8(p->data, p->len);
				CHECK(p->data[p->len] == 0);
			} else if (p->kind == PL_MAIL_K_EXT) {
				const char *x = pl_mail_ext_match(&o.ext, p->type, p->name);
				CHECK(o.ext.argc && p->role == PL_MAIL_R_ATTACH && x);
				CHECK(strlen(x) <= 8 && !strchr(x, '/') && !strchr(x, '.'));
				CHECK(pl_mail_kind_of(p->type, p->name, p->data, p->len) ==
				      PL_MAIL_K_SKIP);
				continue;
			} else {
				CHECK(pl_mail_kind_magic(p->kind, p->data, p->len));
			}
			if (p->kind != PL_MAIL_K_TEXT && p->kind != PL_MAIL_K_HTML)
				CHECK(pl_mail_kind_of(p->type, p->name, p->data, p->len) == p->kind);
			CHECK(!strchr(p->name, '/'));
		}
		CHECK(bodies <= 1);
	}
	pl_mail_parts_free(ps);
	free(ps);
	return 0;
}
