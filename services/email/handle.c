/* One message, on the IMAP thread: parse its headers (lib/mail, without
 * trusting them), decide the mode (decide.c), convert it to one PDF in the
 * sandboxed child (pl_mail_to_pdf), then
 *   HOLD          a job in the store, durable before this returns, under
 *                 an idempotency key made of the message's SHA-256: the
 *                 same message fetched again after a crash finds its job
 *                 (EEXIST) instead of holding a second one
 *   DIRECT/GUEST  printed at once through lib/printer; imap.state records
 *                 that the print began before a byte goes out, so a crash
 *                 mid-print never prints the message a second time
 *   REJECT        nothing kept: a log line with the Message-ID (never the
 *                 body), a "rejected" job event, a notice to a known sender
 * The message's body never reaches a log. */
#include "em.h"

#include <errno.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pl_log.h"
#include "pl_printer.h"
#include "pl_util.h"

#define CHUNK (64u * 1024u)

typedef struct {
	em_t *em;
	const em_msg_t *m;
	pl_mail_head_t h;
	em_decision_t d;
	pl_mail_result_t r;
	int pdf_fd;
	uint64_t pdf_size;
	char key[PL_JOB_KEY_MAX + 1];
} job_t;

static void base_meta(const job_t *j, pl_job_meta_t *meta)
{
	memset(meta, 0, sizeof(*meta));
	pl_strlcpy(meta->owner, j->d.user[0] ? j->d.user : j->h.from, sizeof(meta->owner));
	pl_strlcpy(meta->workstation, EM_WORKSTATION, sizeof(meta->workstation));
	pl_strlcpy(meta->title, j->h.subject[0] ? j->h.subject : "(no subject)",
		   sizeof(meta->title));
	pl_strlcpy(meta->printer, j->d.printer.name, sizeof(meta->printer));
	pl_strlcpy(meta->format, "application/pdf", sizeof(meta->format));
	pl_strlcpy(meta->source, "email", sizeof(meta->source));
	pl_strlcpy(meta->idem_key, j->key, sizeof(meta->idem_key));
	meta->pages = j->r.pages;
	meta->size = j->pdf_size;
}

static const char *mid(const job_t *j)
{
	return j->h.message_id[0] ? j->h.message_id : "(no Message-ID)";
}

static void notify(job_t *j, const char *subject, const char *text)
{
	/* Known users only, never a guest or a stranger: no backscatter. */
	if (j->d.user[0] && j->h.from[0])
		em_notice(j->em, j->h.from, subject, text);
}

static em_done_t rejected(job_t *j, const char *why)
{
	pl_job_meta_t meta;
	char detail[600], text[800];
	base_meta(j, &meta);
	meta.idem_key[0] = 0;
	(void)pl_fmt(detail, sizeof(detail), "%s; message %s uid %u", why, mid(j), j->m->uid);
	pl_warn("rejected message %s (uid %u) from %s: %s", mid(j), j->m->uid,
		j->h.from[0] ? j->h.from : "(none)", why);
	em_event(j->em, "rejected", &meta, detail);
	j->em->counts.rejected++;
	(void)pl_fmt(text, sizeof(text),
		 "Your message \"%s\" was not printed: %s.\r\n", meta.title, why);
	notify(j, "Not printed", text);
	return EM_DONE_REJECTED;
}

/* "mail-" and 48 hex digits of the message's SHA-256. */
static void idem_key(const em_msg_t *m, char key[PL_JOB_KEY_MAX + 1])
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	SHA256(m->data, m->len, md);
	memcpy(key, "mail-", 5);
	for (int i = 0; i < 24; i++)
		snprintf(key + 5 + 2 * i, 3, "%02x", md[i]);
}

static int memfd_with(const em_msg_t *m, pl_err_t *err)
{
	int fd = memfd_create("em-mail", MFD_CLOEXEC);
	if (fd < 0 || pl_write_all(fd, m->data, m->len) < 0 || lseek(fd, 0, SEEK_SET) < 0) {
		pl_fmt(err->msg, sizeof(err->msg), "memfd: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* -1: ours (err); PL_MAIL_EREJECT: the message's; 0: PDF in j->pdf_fd. */
static int convert(job_t *j, pl_err_t *err)
{
	int mfd = memfd_with(j->m, err);
	if (mfd < 0)
		return -1;
	j->pdf_fd = memfd_create("em-pdf", MFD_CLOEXEC);
	if (j->pdf_fd < 0) {
		close(mfd);
		return pl_fmt(err->msg, sizeof(err->msg), "memfd: %s", strerror(errno)), -1;
	}
	pl_watchdog_kick(j->em->wd);
	int rc = pl_mail_to_pdf(mfd, j->pdf_fd, &j->em->conf.mopts, &j->r, err);
	pl_watchdog_kick(j->em->wd);
	close(mfd);
	if (rc != 0)
		return rc;
	off_t end = lseek(j->pdf_fd, 0, SEEK_END);
	if (end <= 0)
		return pl_fmt(err->msg, sizeof(err->msg), "the conversion wrote nothing"), -1;
	j->pdf_size = (uint64_t)end;
	return 0;
}

static int store_pdf(job_t *j, pl_jobw_t *w, pl_err_t *err)
{
	static __thread unsigned char buf[CHUNK];
	for (uint64_t off = 0; off < j->pdf_size;) {
		ssize_t n = pread(j->pdf_fd, buf, CHUNK, (off_t)off);
		if (n <= 0)
			return pl_fmt(err->msg, sizeof(err->msg), "reading the PDF: %s",
				      n < 0 ? strerror(errno) : "short"), -1;
		if (pl_jobw_write(w, buf, (size_t)n, err) < 0)
			return -1;
		off += (uint64_t)n;
	}
	return 0;
}

static em_done_t hold(job_t *j)
{
	em_t *em = j->em;
	pl_job_meta_t meta, out;
	pl_jobw_t *w = NULL;
	pl_err_t err;
	char text[600];
	base_meta(j, &meta);
	meta.printer[0] = 0; /* pull printing: any printer */
	int rc = pl_jobstore_begin(em->store, &meta, &w, &err);
	if (rc == PL_JS_EEXIST) {
		/* fetched again after a crash: the job is held already */
		pl_info("message %s (uid %u): already held for %s", mid(j), j->m->uid, meta.owner);
		return EM_DONE_PRINTED;
	}
	if (rc == PL_JS_EQUOTA)
		return rejected(j, "over the print quota");
	if (rc < 0) {
		pl_err("message %s: %s", mid(j), err.msg);
		return EM_DONE_RETRY;
	}
	if (store_pdf(j, w, &err) < 0 ||
	    pl_jobw_describe(w, "application/pdf", j->r.pages, NULL, &err) < 0) {
		pl_jobw_abort(w);
		pl_err("message %s: %s", mid(j), err.msg);
		return EM_DONE_RETRY;
	}
	if (pl_jobw_commit(w, NULL, 1, &out, &err) < 0) {
		pl_err("message %s: %s", mid(j), err.msg);
		return EM_DONE_RETRY;
	}
	pl_info("held job %s for %s: message %s (uid %u), %u pages, %llu bytes%s%s", out.id,
		out.owner, mid(j), j->m->uid, out.pages, (unsigned long long)out.size,
		j->r.skipped[0] ? "; skipped: " : "", j->r.skipped);
	em_event(em, "held", &out, NULL);
	em->counts.held++;
	(void)pl_fmt(text, sizeof(text),
		 "Your message \"%s\" is held: %u pages. Release it at any printer "
		 "with your badge.%s%s\r\n",
		 out.title, out.pages, j->r.skipped[0] ? "\r\nNot printed (unsupported): " : "",
		 j->r.skipped);
	notify(j, "Held for printing", text);
	return EM_DONE_PRINTED;
}

typedef struct {
	int fd;
	uint64_t off;
} src_t;

static ssize_t pdf_source(void *arg, void *buf, size_t n, pl_err_t *err)
{
	src_t *s = arg;
	ssize_t r = pread(s->fd, buf, n, (off_t)s->off);
	if (r < 0)
		return pl_fmt(err->msg, sizeof(err->msg), "reading the PDF: %s", strerror(errno)), -1;
	s->off += (uint64_t)r;
	return r;
}

static em_done_t print_now(job_t *j, em_state_t *st)
{
	em_t *em = j->em;
	const char *sd = pl_service_state_dir(em->svc);
	pl_job_meta_t meta;
	pl_err_t err;
	char text[600];
	base_meta(j, &meta);
	meta.idem_key[0] = 0;
	if (st->printing == j->m->uid) {
		pl_warn("message %s (uid %u): a print to %s began before a restart; it may "
			"have printed and is not printed again", mid(j), j->m->uid, meta.printer);
		em_event(em, "maybe-printed", &meta, "interrupted by a restart; not printed again");
		return EM_DONE_PRINTED;
	}
	if (j->d.mode == EM_MODE_GUEST) {
		if (j->r.pages > em->conf.guest_max_pages)
			return rejected(j, "more pages than a guest may print");
		int g = em_guest_take(sd, j->h.from, em->conf.guest_max_per_day, &err);
		if (g < 0) {
			pl_err("%s", err.msg);
			return EM_DONE_RETRY;
		}
		if (g == 0)
			return rejected(j, "the sender printed as many guest messages today as allowed");
	}
	st->printing = j->m->uid;
	if (em_state_save(sd, st, &err) < 0) {
		pl_err("%s", err.msg);
		return EM_DONE_RETRY;
	}
	pl_print_opts_t po = {
		.connect_timeout_ms = (int)em->conf.hconf.print_connect_timeout_ms,
		.io_timeout_ms = (int)em->conf.hconf.print_io_timeout_ms,
		.job_name = meta.title,
		.user = meta.owner,
		.format = "application/pdf",
	};
	src_t src = { j->pdf_fd, 0 };
	pl_watchdog_kick(em->wd);
	int rc = pl_print(j->d.printer.uri, &po, pdf_source, &src, NULL, &err);
	pl_watchdog_kick(em->wd);
	if (rc < 0) {
		pl_err("message %s (uid %u): printing to %s failed: %s", mid(j), j->m->uid,
		       meta.printer, err.msg);
		em_event(em, "print-failed", &meta, err.msg);
		em->counts.failed++;
		(void)pl_fmt(text, sizeof(text), "Your message \"%s\" could not be printed on %s.\r\n",
			 meta.title, meta.printer);
		notify(j, "Not printed", text);
		return EM_DONE_REJECTED;
	}
	pl_info("printed message %s (uid %u) from %s on %s (%s), %u pages", mid(j), j->m->uid,
		j->d.mode == EM_MODE_GUEST ? "a guest" : meta.owner, meta.printer,
		j->d.mode == EM_MODE_GUEST ? "guest" : "direct", j->r.pages);
	em_event(em, "printed", &meta, j->d.mode == EM_MODE_GUEST ? "guest" : "direct");
	em->counts.printed++;
	(void)pl_fmt(text, sizeof(text), "Your message \"%s\" was printed on %s (%u pages).\r\n",
		 meta.title, meta.printer, j->r.pages);
	notify(j, "Printed", text);
	return EM_DONE_PRINTED;
}

em_done_t em_handle(em_t *em, const em_msg_t *m, em_state_t *st)
{
	job_t j = { .em = em, .m = m, .pdf_fd = -1 };
	pl_err_t err;
	em_done_t done;
	idem_key(m, j.key);
	if (pl_mail_head_parse(m->data, m->len, em->conf.authserv[0] ? em->conf.authserv : NULL,
			       &j.h, &err) < 0) {
		memset(&j.h, 0, sizeof(j.h));
		char why[300];
		(void)pl_fmt(why, sizeof(why), "not a message (%.200s)", err.msg);
		return rejected(&j, why);
	}
	if (em_decide(em, &j.h, &j.d, &err) < 0) {
		pl_err("directory: %s", err.msg);
		return EM_DONE_RETRY;
	}
	if (j.d.mode == EM_MODE_REJECT)
		return rejected(&j, j.d.reason);
	/* a print of it began before a restart: not converted, not printed */
	if (j.d.mode != EM_MODE_HOLD && st->printing == m->uid)
		return print_now(&j, st);
	int rc = convert(&j, &err);
	if (rc == PL_MAIL_EREJECT)
		done = rejected(&j, j.r.reason[0] ? j.r.reason : "cannot be converted");
	else if (rc < 0) {
		pl_err("message %s (uid %u): conversion: %s", mid(&j), m->uid, err.msg);
		done = EM_DONE_RETRY;
	} else if (j.d.mode == EM_MODE_HOLD)
		done = hold(&j);
	else
		done = print_now(&j, st);
	if (j.pdf_fd >= 0)
		close(j.pdf_fd);
	return done;
}
