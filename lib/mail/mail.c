/* NOT DONE: stubs so that services/email can build against pl_mail.h.
 * The implementation follows on this branch. */
#include <string.h>

#include "pl_mail.h"
#include "pl_util.h"

void pl_mail_opts_default(pl_mail_opts_t *o)
{
	memset(o, 0, sizeof(*o));
	o->max_message_bytes = 25ull << 20;
	o->max_attachments = 20;
	o->max_pages = 200;
	o->max_depth = 8;
	o->max_decoded_bytes = 100ull << 20;
	o->cpu_seconds = 30;
	o->wall_ms = 60000;
	o->mem_bytes = 1ull << 30;
	o->body = 1;
	o->monospace = 0;
}

int pl_mail_head_parse(const uint8_t *msg, size_t len, const char *trusted_authserv,
		       pl_mail_head_t *h, pl_err_t *err)
{
	(void)msg; (void)len; (void)trusted_authserv;
	memset(h, 0, sizeof(*h));
	pl_strlcpy(err->msg, "pl_mail_head_parse: not implemented yet", sizeof(err->msg));
	return -1;
}

int pl_mail_to_pdf(int msg_fd, int pdf_fd, const pl_mail_opts_t *o,
		   pl_mail_result_t *r, pl_err_t *err)
{
	(void)msg_fd; (void)pdf_fd; (void)o;
	memset(r, 0, sizeof(*r));
	pl_strlcpy(err->msg, "pl_mail_to_pdf: not implemented yet", sizeof(err->msg));
	return -1;
}
