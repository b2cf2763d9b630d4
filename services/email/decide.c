/* Which of the three modes a message is, from its parsed headers and the
 * directory, before any conversion is paid for:
 *   a recipient that is a printer's own address (or <printer>@direct_domain)
 *     guest printer          -> GUEST, from any sender (limits in handle.c)
 *     known, trusted sender  -> DIRECT to that printer
 *     else                   -> REJECT
 *   no printer among the recipients
 *     known, trusted sender  -> HOLD for that user
 *     else                   -> REJECT
 * "Trusted" is lib/mail's verdict on the Authentication-Results of the
 * site's own MTA (trusted_authserv_id), unless the check is configured
 * off: a From header alone is trivially forged. */
#include "em.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "pl_util.h"

static int reject(em_decision_t *d, const char *fmt, const char *arg)
{
	d->mode = EM_MODE_REJECT;
	(void)pl_fmt(d->reason, sizeof(d->reason), fmt, arg);
	return 0;
}

/* <name>@direct_domain: the printer called name. */
static int printer_by_local_part(em_t *em, const char *rcpt, pl_dir_printer_t *p,
				 pl_err_t *err)
{
	const char *at = strrchr(rcpt, '@');
	char local[128];
	if (!em->conf.direct_domain[0] || !at || strcasecmp(at + 1, em->conf.direct_domain) != 0)
		return 1;
	size_t n = (size_t)(at - rcpt);
	if (n == 0 || n >= sizeof(local))
		return 1;
	memcpy(local, rcpt, n);
	local[n] = 0;
	if (!pl_valid_name(local))
		return 1;
	pl_dir_printer_t *list = NULL;
	size_t cnt = 0;
	/* printer names are case-sensitive in the directory; addresses are not */
	if (pl_dir_printer_list(em->dir, &list, &cnt, err) < 0)
		return -1;
	int rc = 1;
	for (size_t i = 0; i < cnt && rc == 1; i++)
		if (strcasecmp(list[i].name, local) == 0) {
			*p = list[i];
			rc = 0;
		}
	free(list);
	return rc;
}

/* The first recipient that names a printer: 0 found, 1 none, -1 error. */
static int find_printer(em_t *em, const pl_mail_head_t *h, pl_dir_printer_t *p, pl_err_t *err)
{
	for (unsigned i = 0; i < h->n_rcpt && i < PL_MAIL_RCPT_MAX; i++) {
		int rc = pl_dir_printer_by_email(em->dir, h->rcpt[i], p, err);
		if (rc == 1)
			rc = printer_by_local_part(em, h->rcpt[i], p, err);
		if (rc <= 0)
			return rc;
	}
	return 1;
}

int em_decide(em_t *em, const pl_mail_head_t *h, em_decision_t *d, pl_err_t *err)
{
	memset(d, 0, sizeof(*d));
	if (!h->from[0])
		return reject(d, "%sno single valid From address", "");
	int pr = find_printer(em, h, &d->printer, err);
	if (pr < 0)
		return -1;
	int known = pl_dir_user_by_email(em->dir, h->from, d->user, sizeof(d->user), err);
	if (known < 0)
		return -1;
	int trusted = !em->conf.authserv[0] || h->auth == PL_MAIL_AUTH_PASS;
	if (pr == 0 && d->printer.guest) {
		d->mode = EM_MODE_GUEST;
		if (!(known == 0 && trusted))
			d->user[0] = 0; /* a guest: no notice, no name */
		return 0;
	}
	if (!trusted) {
		d->user[0] = 0;
		return reject(d, "the sender %s is not authenticated (no trusted "
				 "Authentication-Results pass)", h->from);
	}
	if (known != 0)
		return reject(d, "the sender %s is not a known user", h->from);
	if (pr == 0) {
		d->mode = EM_MODE_DIRECT;
		return 0;
	}
	d->mode = EM_MODE_HOLD;
	return 0;
}
