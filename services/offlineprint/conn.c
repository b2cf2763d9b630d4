/* Workstation connections: TLS on 31989 carrying the TLV submission
 * protocol (proto/PROTOCOL.md, "Job submission"):
 *   SUBMIT_BEGIN(TOKEN, USER, SIZE, [TITLE, PRINTER, PAGES, PAGE_SIZE,
 *   FORMAT, IDEMPOTENCY_KEY]) -> RESULT (with the JOB_ID when that key's
 *   job is held already: nothing more is sent); SUBMIT_DATA(PAYLOAD)...;
 *   SUBMIT_END(SHA256) -> RESULT(JOB_ID) once the job is durable.
 * Refusals we can foresee (quota, size, free space) answer SUBMIT_BEGIN,
 * before any data. Several jobs may follow on one connection. Every error
 * is answered with a RESULT saying what went wrong, logged once here, and
 * (for protocol and auth errors) the connection is closed. One slow or
 * hostile client never blocks another: sockets are non-blocking, the
 * durable commit runs on a worker thread, a stalled upload is dropped
 * after client_timeout_ms without a byte, a slow one below
 * min_upload_kib_s, and a client that has not authenticated within
 * auth_deadline_ms of connecting is dropped however many bytes it
 * trickles (limits.c).
 *
 * The data path is the service's hot loop (make bench: intake): TLS is
 * decrypted straight into a frame reader, each DATA payload is sealed
 * where it lies and lent to the job writer, whose own thread computes the
 * SHA-256 meanwhile, while the next frames are read into other readers. */
#include "op.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>

#include "pl_docinfo.h"
#include "pl_log.h"
#include "pl_tls.h"
#include "pl_util.h"

enum { C_HANDSHAKE, C_IDLE, C_RECEIVING, C_COMMITTING, C_CLOSING };

/* What one connection may read per wake-up before letting the loop turn. */
#define READ_BUDGET (1024u * 1024u)
/* Frame readers a connection takes turns with: the job writer's hash
 * thread may still read the frames of the last few while the next one is
 * filled. Slack for the scheduler: with the client, the loop and the hash
 * thread sharing two cores, a hash thread descheduled for a time slice
 * stalled the loop with 4 readers (0.7 s of waiting per GiB), hardly with
 * 8 (make bench: intake). */
#define READERS 8
/* ... but never more than this lent at once, whatever the frame size the
 * client picks (2 MiB is 8 of plsc-submit's 256 KiB frames). */
#define LENT_MAX (2u * 1024u * 1024u)
/* A reader grown past this is reset when its job ends. */
#define READER_KEEP (64u * 1024u)

struct op_conn {
	op_t *op;
	int fd;
	SSL *ssl;
	pl_watch_t *w;
	pl_timer_t *idle;   /* set once; re-armed only when it fires early */
	uint64_t active_ms; /* the last bytes in (pl_now_ms) */
	pl_timer_t *kick; /* resume reading what OpenSSL buffered */
	pl_timer_t *rate; /* the end of an upload window */
	uint64_t window_bytes; /* read since the window began */
	pl_slot_t slot; /* pending until the token checked (limits.c) */
	char peer[64];
	int state;
	int busy;   /* a worker holds a pointer to us */
	int closed; /* freed when no longer busy */
	/* TLS is read straight into these, one frame each. A DATA frame's
	 * payload is lent to the job writer (its SHA-256 runs on another
	 * thread meanwhile), so the next frame goes into the next reader,
	 * and a reader is reused only once its lent frame is settled. */
	pl_reader_t rd[READERS];
	unsigned cur;		/* the reader being filled */
	uint64_t lent[READERS]; /* the writer's ticket for each reader's frame, or 0 */
	size_t lent_len[READERS], lent_sum; /* payload bytes lent */
	uint8_t *out;
	size_t outlen, outcap;
	int want_write;
	pl_jobw_t *jw;
	pl_jobw_t *commit_jw; /* handed to a disk worker by on_end */
	pl_job_meta_t meta;
	pl_docinfo_t doc; /* what the data is, learnt as it passes */
	uint64_t received;
	uint8_t sha[32];
	uint32_t end_seq;
	int commit_rc;
	pl_err_t commit_err;
	op_conn_t *next;
};

static void conn_process(op_conn_t *c);
static void conn_update(op_conn_t *c);
static void do_read(op_conn_t *c);

/* ---- lifetime ---- */

static void conn_free(op_conn_t *c)
{
	op_t *op = c->op;
	for (op_conn_t **pp = &op->conns; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	op->nconns--;
	for (unsigned i = 0; i < READERS; i++)
		pl_reader_free(&c->rd[i]);
	free(c->out);
	free(c);
}

/* The job being received ends (aborted): the writer gives back every
 * payload it was lent before it goes. */
static void conn_drop_job(op_conn_t *c)
{
	if (c->jw)
		pl_jobw_abort(c->jw); /* nothing partial remains */
	c->jw = NULL;
	memset(c->lent, 0, sizeof(c->lent));
	c->lent_sum = 0;
}

static void conn_close(op_conn_t *c)
{
	if (c->closed)
		return;
	c->closed = 1;
	conn_drop_job(c);
	pl_loop_unwatch(c->op->loop, c->w);
	pl_loop_timer_cancel(c->op->loop, c->idle);
	pl_loop_timer_cancel(c->op->loop, c->kick);
	pl_loop_timer_cancel(c->op->loop, c->rate);
	pl_slots_remove(c->op->slots, &c->slot);
	op_limits_note(c->op);
	c->w = NULL;
	c->idle = NULL;
	c->kick = NULL;
	c->rate = NULL;
	if (c->ssl) {
		SSL_shutdown(c->ssl); /* best effort close_notify */
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	close(c->fd);
	/* Not freed here: callers up the stack still hold c. Each entry
	 * point (I/O, timer, commit done) ends with conn_release. */
}

static void conn_release(op_conn_t *c)
{
	if (c->closed && !c->busy)
		conn_free(c);
}

static void conn_idle(pl_loop_t *loop, void *arg);

/* Activity: the idle timer is not moved (that was a timer re-armed every
 * 16 KiB of an upload); it checks the time of the last activity when it
 * fires, and waits again for the rest if there was some. */
static void conn_touch(op_conn_t *c)
{
	c->active_ms = pl_now_ms();
	if (!c->idle)
		c->idle = pl_loop_timer(c->op->loop, c->op->client_timeout_ms,
					conn_idle, c);
}

/* ---- output ---- */

static int conn_flush(op_conn_t *c)
{
	if (c->closed || !c->ssl)
		return -1; /* a send that failed closed it (its SSL is gone) */
	while (c->outlen > 0) {
		ERR_clear_error();
		int n = SSL_write(c->ssl, c->out, (int)c->outlen);
		if (n > 0) {
			memmove(c->out, c->out + n, c->outlen - (size_t)n);
			c->outlen -= (size_t)n;
			continue;
		}
		int e = SSL_get_error(c->ssl, n);
		if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
			c->want_write = 1;
			return 0;
		}
		return -1;
	}
	c->want_write = 0;
	return 0;
}

static void conn_send(op_conn_t *c, pl_msg_t *m)
{
	if (pl_msg_finish(m) < 0 || c->closed)
		return;
	if (c->outlen + m->len > c->outcap) {
		size_t ncap = (c->outlen + m->len) * 2;
		uint8_t *nb = realloc(c->out, ncap);
		if (!nb) {
			conn_close(c);
			return;
		}
		c->out = nb;
		c->outcap = ncap;
	}
	memcpy(c->out + c->outlen, m->buf, m->len);
	c->outlen += m->len;
	if (conn_flush(c) < 0)
		conn_close(c);
}

static void conn_result(op_conn_t *c, uint32_t seq, uint32_t status,
			const char *msg, const char *job_id)
{
	pl_msg_t m;
	if (pl_msg_init(&m, PL_MSG_RESULT,
			PL_FLAG_REPLY | (status ? PL_FLAG_ERROR : 0), seq) < 0)
		return;
	pl_msg_add_u32(&m, PL_TAG_STATUS, status);
	pl_msg_add_str(&m, PL_TAG_MESSAGE, msg);
	if (job_id)
		pl_msg_add_str(&m, PL_TAG_JOB_ID, job_id);
	conn_send(c, &m);
	pl_msg_free(&m);
}

/* Refuse: tell the client why (what a client may read: no paths), log it
 * once with the detail, close after the answer. */
static void conn_refuse(op_conn_t *c, uint32_t seq, uint32_t status,
			const char *told, const char *detail)
{
	pl_warn("%s: %s", c->peer, detail);
	conn_drop_job(c);
	conn_result(c, seq, status, told, NULL);
	if (c->closed)
		return;
	c->state = C_CLOSING;
	conn_update(c);
	if (c->outlen == 0)
		conn_close(c);
}

static void conn_fail(op_conn_t *c, uint32_t seq, uint32_t status,
		      const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void conn_fail(op_conn_t *c, uint32_t seq, uint32_t status,
		      const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	conn_refuse(c, seq, status, msg, msg);
}

/* ---- the protocol ---- */

/* A job-store error as the client hears it: its words where they name
 * no server path (quotas, sizes, checksums), else a summary; the log
 * keeps the detail. No room now (the disk, a key being stored) is BUSY:
 * the same job may go later. At commit a bad request is INTEGRITY. */
static void store_fail(op_conn_t *c, uint32_t seq, int rc, const pl_err_t *err,
		       int at_commit)
{
	char told[512];
	uint32_t st = PL_STATUS_ERROR;
	const char *text = "the server could not store the job (a disk error, "
			   "in its log); try again later";

	if (rc == PL_JS_EQUOTA || rc == PL_JS_EINVAL) {
		st = rc == PL_JS_EQUOTA ? PL_STATUS_QUOTA
		     : at_commit ? PL_STATUS_INTEGRITY : PL_STATUS_BADREQ;
		text = err->msg;
	} else if (rc == PL_JS_ENOSPACE) {
		st = PL_STATUS_BUSY;
		(void)pl_fmt(told, sizeof(told), "%s; try again later", err->msg);
		text = told;
	} else if (rc == PL_JS_EIO && strstr(err->msg, "no space")) {
		st = PL_STATUS_BUSY;
		text = "the server ran out of disk space for held jobs; try again later";
	} else if (rc == PL_JS_EBUSY || rc == PL_JS_EEXIST) {
		st = PL_STATUS_BUSY;
		text = "a job with this idempotency key is being stored; try again shortly";
	}
	conn_refuse(c, seq, st, text, err->msg);
}

static int valid_text(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n == 0 || n > max)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

static int get_opt_str(const pl_frame_t *f, uint16_t tag, char *dst, size_t sz)
{
	int rc = pl_frame_get_str(f, tag, dst, sz);
	if (rc == -PL_PROTO_EMISSING) {
		dst[0] = '\0';
		return 0;
	}
	return rc;
}

static int parse_begin(const pl_frame_t *f, pl_job_meta_t *m, const char **why)
{
	uint64_t size;
	memset(m, 0, sizeof(*m));
	*why = "malformed SUBMIT_BEGIN";
	if (pl_frame_get_str(f, PL_TAG_USER, m->owner, sizeof(m->owner)) < 0 ||
	    !valid_text(m->owner, sizeof(m->owner) - 1)) {
		*why = "SUBMIT_BEGIN needs a user name";
		return -1;
	}
	if (pl_frame_get_u64(f, PL_TAG_SIZE, &size) < 0) {
		*why = "SUBMIT_BEGIN needs the job size";
		return -1;
	}
	/* A failed filter upstream leaves 0 bytes: held, it would later
	 * "print" successfully and nobody would learn of the failure. */
	if (size == 0) {
		*why = "empty job (SIZE 0): there is nothing to print; the document "
		       "or the filter that produced it failed";
		return -1;
	}
	if (get_opt_str(f, PL_TAG_TITLE, m->title, sizeof(m->title)) < 0 ||
	    get_opt_str(f, PL_TAG_PRINTER, m->printer, sizeof(m->printer)) < 0 ||
	    get_opt_str(f, PL_TAG_PAGE_SIZE, m->page_size, sizeof(m->page_size)) < 0 ||
	    get_opt_str(f, PL_TAG_FORMAT, m->format, sizeof(m->format)) < 0)
		return -1;
	if (pl_frame_get_u32(f, PL_TAG_PAGES, &m->pages) == -PL_PROTO_ETYPE)
		return -1;
	if (get_opt_str(f, PL_TAG_IDEMPOTENCY_KEY, m->idem_key, sizeof(m->idem_key)) < 0 ||
	    (m->idem_key[0] && strspn(m->idem_key, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				      "abcdefghijklmnopqrstuvwxyz0123456789._:-") !=
				       strlen(m->idem_key))) {
		*why = "malformed idempotency key (1 to 64 of A-Z a-z 0-9 . _ : -)";
		return -1;
	}
	m->size = size;
	pl_strlcpy(m->source, "offlineprint", sizeof(m->source));
	return 0;
}

static int auth(op_conn_t *c, const pl_frame_t *f, char *ws, size_t wsz)
{
	char token[PL_TOKEN_MAX];
	pl_err_t err;
	if (pl_frame_get_str(f, PL_TAG_TOKEN, token, sizeof(token)) < 0)
		return 0;
	int ok = pl_dir_token_verify(c->op->dir, token, ws, wsz, &err);
	if (ok == 1) {
		op_token_used(c->op, token);
		/* No longer a stranger: out of the pre-authentication pool,
		 * past its deadline, never evicted for a newcomer. */
		pl_slots_trust(c->op->slots, &c->slot);
	}
	OPENSSL_cleanse(token, sizeof(token));
	if (ok < 0)
		pl_err("token check: %s", err.msg);
	return ok == 1;
}

/* A submission we have seen (its idempotency key, from this workstation
 * and user): answer the job already held, which the client takes for
 * "done, send nothing"; or, while that job is still being stored, BUSY.
 * 1 when answered. */
static int begin_known(op_conn_t *c, const pl_frame_t *f, const pl_job_meta_t *m)
{
	char id[PL_JOB_ID_LEN + 1];
	int rc = pl_jobstore_find_key(c->op->store, m->owner, m->workstation,
				      m->idem_key, id);
	if (rc == 0)
		return 0;
	if (rc == PL_JS_EBUSY) {
		conn_fail(c, f->seq, PL_STATUS_BUSY, "a job with this idempotency key is "
			  "being stored; try again shortly");
		return 1;
	}
	pl_info("%s: job %s for %s is already held (the same idempotency key): "
		"answered with its id, nothing stored again", c->peer, id, m->owner);
	conn_result(c, f->seq, PL_STATUS_OK, "already held (the same idempotency key)", id);
	return 1;
}

static void on_begin(op_conn_t *c, const pl_frame_t *f)
{
	op_t *op = c->op;
	const char *why;
	pl_err_t err;
	pl_job_meta_t m;

	if (c->state != C_IDLE) {
		conn_fail(c, f->seq, PL_STATUS_BADREQ, "SUBMIT_BEGIN in the middle of a job");
		return;
	}
	if (op->draining) {
		conn_fail(c, f->seq, PL_STATUS_BUSY, "the service is shutting down; try again shortly");
		return;
	}
	if (parse_begin(f, &m, &why) < 0) {
		conn_fail(c, f->seq, PL_STATUS_BADREQ, "%s", why);
		return;
	}
	if (!auth(c, f, m.workstation, sizeof(m.workstation))) {
		conn_fail(c, f->seq, PL_STATUS_AUTH,
			  "missing, wrong or revoked workstation token (user %s)", m.owner);
		/* The user name is only a claim: it goes in the detail, so the
		 * history never files a stranger's attempt under that user. */
		char claim[300];
		(void)pl_fmt(claim, sizeof(claim), "bad token from %s, claiming user %s",
			     c->peer, m.owner);
		m.owner[0] = '\0';
		pl_holder_event(op->holder, "refused", &m, claim);
		return;
	}
	/* Before the limits: a retry of a job we hold is answered with it,
	 * even when that job now fills the user's quota. */
	if (m.idem_key[0] && begin_known(c, f, &m))
		return;
	if (m.size > op->max_job_bytes) {
		conn_fail(c, f->seq, PL_STATUS_QUOTA,
			  "job of %llu bytes is over the limit of %llu bytes",
			  (unsigned long long)m.size, (unsigned long long)op->max_job_bytes);
		return;
	}
	if (m.printer[0]) {
		pl_dir_printer_t p;
		if (pl_dir_printer_get(op->dir, m.printer, &p, &err) != 0) {
			conn_fail(c, f->seq, PL_STATUS_NOTFOUND, "unknown printer '%s'", m.printer);
			return;
		}
	}
	int rc = pl_jobstore_begin(op->store, &m, &c->jw, &err);
	if (rc < 0) {
		store_fail(c, f->seq, rc, &err, 0);
		return;
	}
	c->meta = m;
	c->received = 0;
	pl_docinfo_init(&c->doc);
	c->state = C_RECEIVING;
	conn_result(c, f->seq, PL_STATUS_OK, "send the data", NULL);
}

/* Wait until the writer is done with the frame lent from reader i. */
static void conn_settle(op_conn_t *c, unsigned i)
{
	if (!c->lent[i])
		return;
	pl_jobw_settle(c->jw, c->lent[i]);
	c->lent[i] = 0;
	c->lent_sum -= c->lent_len[i];
}

/* Over LENT_MAX: settle the oldest frames (those after cur, in turn). */
static void conn_lent_bound(op_conn_t *c)
{
	for (unsigned k = 0; k < READERS && c->lent_sum > LENT_MAX; k++)
		conn_settle(c, (c->cur + k) % READERS);
}

static void on_data(op_conn_t *c, const pl_frame_t *f)
{
	pl_field_t fl;
	pl_err_t err;
	if (c->state != C_RECEIVING) {
		conn_fail(c, f->seq, PL_STATUS_BADREQ, "SUBMIT_DATA without SUBMIT_BEGIN");
		return;
	}
	if (pl_frame_find(f, PL_TAG_PAYLOAD, &fl) != 1) {
		conn_fail(c, f->seq, PL_STATUS_BADREQ, "SUBMIT_DATA without a payload");
		return;
	}
	uint64_t ticket = 0;
	int rc = pl_jobw_write_lent(c->jw, fl.val, fl.len, &ticket, &err);
	if (rc < 0) {
		store_fail(c, f->seq, rc, &err, 0);
		return;
	}
	pl_docinfo_feed(&c->doc, fl.val, fl.len);
	c->received += fl.len;
	/* The writer still reads this payload: the next frame goes into
	 * the next reader (conn_reader waits for it before reusing one). */
	if (ticket) {
		c->lent[c->cur] = ticket;
		c->lent_len[c->cur] = fl.len;
		c->lent_sum += fl.len;
		c->cur = (c->cur + 1) % READERS;
		conn_lent_bound(c);
	}
}

/* The stored description is what the bytes say: a recognised format
 * replaces the client's claim (plain text only fills a missing one, as
 * text is a guess), and our page count and size replace the client's
 * figures; the client's stay only for what we cannot tell. */
static int describe(op_conn_t *c, pl_err_t *err)
{
	pl_docinfo_result_t r;
	const char *format = NULL;
	const char *claim = c->meta.format;

	pl_docinfo_result(&c->doc, &r);
	if (r.format != PL_DOC_UNKNOWN && r.format != PL_DOC_TEXT)
		format = r.mime;
	else if (!claim[0] || strcmp(claim, "application/octet-stream") == 0)
		format = r.mime;
	return pl_jobw_describe(c->jw, format,
				r.pages != PL_PAGES_UNKNOWN ? r.pages : c->meta.pages,
				r.page_size, err);
}

static void commit_work(void *arg)
{
	op_conn_t *c = arg;
	pl_job_meta_t out;
	/* One fsync of the job file, then a directory fsync shared with the
	 * other disk workers' commits: durable before the answer. The
	 * writer is this thread's alone (conn_close leaves it be), and so
	 * are the readers' buffers it may still hash from, until
	 * commit_done. */
	c->commit_rc = pl_jobw_commit(c->commit_jw, c->sha, 1, &out, &c->commit_err);
	c->commit_jw = NULL;
	if (c->commit_rc == 0)
		c->meta = out;
}

/* A large upload's readers give their memory back when it ends: only the
 * one being filled keeps what it has (every other one is empty). */
static void conn_readers_trim(op_conn_t *c)
{
	for (unsigned i = 0; i < READERS; i++) {
		pl_reader_t fresh;
		if (i == c->cur || c->rd[i].cap <= READER_KEEP ||
		    pl_reader_init(&fresh, OP_FRAME_MAX) < 0)
			continue;
		pl_reader_free(&c->rd[i]);
		c->rd[i] = fresh;
	}
}

static void commit_done(void *arg)
{
	op_conn_t *c = arg;
	op_t *op = c->op;
	c->busy = 0;
	if (c->commit_rc == 0) {
		char pages[24] = "pages unknown";
		if (c->meta.pages != PL_PAGES_UNKNOWN)
			(void)pl_fmt(pages, sizeof(pages), "%u pages", c->meta.pages);
		pl_info("held job %s for %s from %s: %llu bytes, %s, %s, \"%s\"%s%s",
			c->meta.id, c->meta.owner, c->meta.workstation,
			(unsigned long long)c->meta.size, c->meta.format, pages,
			op->hconf.report_titles ? c->meta.title : "(title withheld)",
			c->meta.printer[0] ? " for " : "", c->meta.printer);
		pl_holder_event(op->holder, "held", &c->meta, NULL);
	}
	if (c->closed) {
		if (c->commit_rc == 0)
			pl_notice("%s left before the reply; job %s is held all the same",
				  c->peer, c->meta.id);
		conn_free(c);
		return;
	}
	if (c->commit_rc < 0) {
		store_fail(c, c->end_seq, c->commit_rc, &c->commit_err, 1);
		conn_release(c);
		return;
	}
	c->state = C_IDLE;
	conn_readers_trim(c);
	conn_result(c, c->end_seq, PL_STATUS_OK, "job held", c->meta.id);
	if (!c->closed) {
		conn_touch(c);
		conn_process(c); /* frames that arrived meanwhile */
		/* And bytes OpenSSL buffered while we were not reading: epoll
		 * will not report those. */
		do_read(c);
		conn_update(c);
	}
	conn_release(c);
}

static void on_end(op_conn_t *c, const pl_frame_t *f)
{
	pl_field_t fl;
	if (c->state != C_RECEIVING) {
		conn_fail(c, f->seq, PL_STATUS_BADREQ, "SUBMIT_END without SUBMIT_BEGIN");
		return;
	}
	if (pl_frame_find(f, PL_TAG_SHA256, &fl) != 1 || fl.len != 32) {
		conn_fail(c, f->seq, PL_STATUS_BADREQ, "SUBMIT_END needs the SHA-256 of the data");
		return;
	}
	memcpy(c->sha, fl.val, 32);
	pl_err_t err;
	int rc = describe(c, &err);
	if (rc < 0) {
		store_fail(c, f->seq, rc, &err, 0);
		return;
	}
	c->state = C_COMMITTING;
	c->busy = 1;
	c->end_seq = f->seq;
	c->commit_jw = c->jw;
	c->jw = NULL;
	if (pl_work_submit(c->op->disk, commit_work, commit_done, c) < 0) {
		c->busy = 0;
		c->jw = c->commit_jw;
		c->commit_jw = NULL;
		conn_fail(c, f->seq, PL_STATUS_ERROR, "out of memory");
		return;
	}
	/* Commit settles every lent payload before it returns. */
	memset(c->lent, 0, sizeof(c->lent));
	c->lent_sum = 0;
	conn_update(c);
}

static void handle(op_conn_t *c, const pl_frame_t *f)
{
	if (f->fd >= 0)
		close(f->fd); /* never over TLS; be safe */
	switch (f->type) {
	case PL_MSG_SUBMIT_BEGIN: on_begin(c, f); break;
	case PL_MSG_SUBMIT_DATA: on_data(c, f); break;
	case PL_MSG_SUBMIT_END: on_end(c, f); break;
	default:
		conn_fail(c, f->seq, PL_STATUS_BADREQ, "unexpected message %s",
			  pl_msg_type_name(f->type));
	}
}

static void conn_proto_error(op_conn_t *c, int rc)
{
	conn_fail(c, 0, PL_STATUS_BADREQ, "protocol error: %s%s",
		  pl_proto_strerror(rc),
		  rc == -PL_PROTO_ETOOBIG ? " (limit 1 MiB a frame)" : "");
}

static void conn_process(op_conn_t *c)
{
	pl_frame_t f;
	int rc;
	while (!c->closed && c->state != C_COMMITTING && c->state != C_CLOSING) {
		rc = pl_reader_next(&c->rd[c->cur], &f);
		if (rc == 0)
			return;
		if (rc < 0) {
			conn_proto_error(c, rc);
			return;
		}
		handle(c, &f);
	}
}

/* The reader to fill next, once the writer is done with the frame lent
 * from it (by then, as a rule: the hash runs beside our TLS and sealing
 * of the frame after). */
static pl_reader_t *conn_reader(op_conn_t *c)
{
	conn_settle(c, c->cur);
	return &c->rd[c->cur];
}

/* ---- I/O ---- */

static void conn_update(op_conn_t *c)
{
	if (c->closed || !c->w)
		return;
	uint32_t ev = 0;
	if (c->state == C_HANDSHAKE || c->state == C_IDLE || c->state == C_RECEIVING)
		ev |= EPOLLIN;
	if (c->want_write || c->outlen)
		ev |= EPOLLOUT;
	pl_loop_watch_mod(c->op->loop, c->w, ev);
}

static void tls_error(op_conn_t *c, const char *what)
{
	char e[256];
	op_t *op = c->op;
	uint64_t now = pl_now_ms();
	/* Port scanners and plain-TCP clients can make a lot of these: log
	 * at most a few a second. */
	if (now - op->rate_last_ms >= 1000) {
		if (op->rate_suppressed)
			pl_warn("(%u similar messages suppressed)", op->rate_suppressed);
		op->rate_last_ms = now;
		op->rate_suppressed = 0;
	}
	if (op->rate_suppressed++ < 5)
		pl_warn("%s: %s: %s", c->peer, what, pl_tls_errstr(e, sizeof(e)));
	ERR_clear_error();
}

static void do_handshake(op_conn_t *c)
{
	ERR_clear_error();
	int rc = SSL_accept(c->ssl);
	if (rc == 1) {
		c->state = C_IDLE;
		pl_debug("%s: TLS %s established", c->peer, SSL_get_version(c->ssl));
		conn_touch(c);
		return;
	}
	int e = SSL_get_error(c->ssl, rc);
	if (e == SSL_ERROR_WANT_READ)
		return;
	if (e == SSL_ERROR_WANT_WRITE) {
		c->want_write = 1;
		return;
	}
	tls_error(c, "TLS handshake failed (not a TLS client?)");
	conn_close(c);
}

static void conn_kick(pl_loop_t *loop, void *arg);
static void conn_rate(pl_loop_t *loop, void *arg);

/* Bytes came in. Only an upload's bytes put off the stall timeout: before
 * authentication the deadline rules, and between jobs the next
 * SUBMIT_BEGIN must be whole within client_timeout_ms, so a byte every
 * few seconds holds nothing. An upload also starts its rate window. */
static void conn_received(op_conn_t *c, size_t n)
{
	op_t *op = c->op;
	c->window_bytes += n;
	if (c->state != C_RECEIVING && c->state != C_COMMITTING)
		return;
	conn_touch(c);
	if (c->state == C_RECEIVING && !c->rate && op_upload_min_bytes(op)) {
		c->window_bytes = 0;
		c->rate = pl_loop_timer(op->loop, op->upload_window_ms, conn_rate, c);
	}
}

/* Decrypt straight into the reader (OpenSSL's copy out of its record
 * buffer is the only one) and take each frame as it completes. 1 to go
 * on, 0 when OpenSSL has no more for now, -1 when closed. */
static int read_some(op_conn_t *c, size_t *budget)
{
	uint8_t *p;
	size_t n;
	pl_reader_t *r = conn_reader(c);
	int rc = pl_reader_space(r, &p, &n);
	if (rc < 0) {
		conn_proto_error(c, rc);
		return -1;
	}
	if (n == 0) { /* a whole frame waits (it came while we committed) */
		conn_process(c);
		return 1;
	}
	ERR_clear_error();
	int k = SSL_read(c->ssl, p, n > INT_MAX ? INT_MAX : (int)n);
	if (k > 0) {
		pl_reader_commit(r, (size_t)k);
		*budget -= (size_t)k < *budget ? (size_t)k : *budget;
		conn_process(c);
		if (!c->closed)
			conn_received(c, (size_t)k); /* the limits' rate and deadline */
		return 1;
	}
	int e = SSL_get_error(c->ssl, k);
	if (e == SSL_ERROR_WANT_READ)
		return 0;
	if (e == SSL_ERROR_WANT_WRITE) {
		c->want_write = 1;
		return 0;
	}
	if (c->state == C_RECEIVING)
		pl_warn("%s: connection lost during the upload of a job for %s "
			"(%llu of %llu bytes); nothing was kept", c->peer,
			c->meta.owner, (unsigned long long)c->received,
			(unsigned long long)c->meta.size);
	conn_close(c);
	return -1;
}

static void do_read(op_conn_t *c)
{
	/* A fast client keeps the socket readable forever: take a bounded
	 * share per wake-up so timers and the heartbeat get their turn. */
	size_t budget = READ_BUDGET;
	int rc = 1;
	while (rc > 0 && !c->closed &&
	       (c->state == C_IDLE || c->state == C_RECEIVING)) {
		if (budget == 0) {
			/* Bytes already inside OpenSSL raise no epoll event:
			 * come back for them on the next loop turn. */
			if (SSL_has_pending(c->ssl) && !c->kick)
				c->kick = pl_loop_timer(c->op->loop, 0, conn_kick, c);
			break;
		}
		rc = read_some(c, &budget);
	}
	if (budget < READ_BUDGET && !c->closed)
		conn_touch(c);
}

static void conn_io(pl_loop_t *loop, int fd, uint32_t ev, void *arg)
{
	op_conn_t *c = arg;
	(void)loop;
	(void)fd;
	(void)ev;
	if (c->state == C_HANDSHAKE) {
		c->want_write = 0;
		do_handshake(c);
	}
	if (!c->closed && (c->outlen || c->want_write) && conn_flush(c) < 0)
		conn_close(c);
	if (!c->closed && c->state == C_CLOSING && c->outlen == 0)
		conn_close(c);
	if (!c->closed && c->state != C_HANDSHAKE)
		do_read(c);
	conn_update(c);
	conn_release(c);
}

static void conn_kick(pl_loop_t *loop, void *arg)
{
	op_conn_t *c = arg;
	c->kick = NULL;
	conn_io(loop, c->fd, EPOLLIN, c);
}

/* The end of an upload window: enough bytes came, or the upload goes. */
static void conn_rate(pl_loop_t *loop, void *arg)
{
	op_conn_t *c = arg;
	op_t *op = c->op;
	c->rate = NULL;
	if (c->state != C_RECEIVING) {
		conn_release(c);
		return; /* the next upload starts its own window */
	}
	uint64_t min = op_upload_min_bytes(op);
	if (min && c->window_bytes < min) {
		op->slow_uploads++;
		conn_fail(c, 0, PL_STATUS_BADREQ,
			  "upload too slow: %llu bytes in the last %u s, below the minimum "
			  "of %u KiB/s; the job was discarded",
			  (unsigned long long)c->window_bytes, op->upload_window_ms / 1000,
			  op->min_upload_kib_s);
		if (!c->closed)
			conn_close(c); /* a dripping client may not read the answer */
	} else {
		c->window_bytes = 0;
		c->rate = pl_loop_timer(loop, op->upload_window_ms, conn_rate, c);
	}
	conn_release(c);
}

static void conn_idle(pl_loop_t *loop, void *arg)
{
	op_conn_t *c = arg;
	uint64_t quiet = pl_now_ms() - c->active_ms;
	c->idle = NULL;
	if (quiet < c->op->client_timeout_ms && c->state != C_COMMITTING) {
		/* Bytes came since it was set: not idle, wait for the rest. */
		c->idle = pl_loop_timer(loop, c->op->client_timeout_ms - quiet,
					conn_idle, c);
		return;
	}
	switch (c->state) {
	case C_COMMITTING:
		conn_touch(c);
		return;
	case C_RECEIVING:
		conn_fail(c, 0, PL_STATUS_BADREQ,
			  "upload stalled: no data for %u ms; the job was discarded",
			  c->op->client_timeout_ms);
		if (!c->closed)
			conn_close(c); /* a stalled client may not read the answer */
		break;
	case C_HANDSHAKE:
		pl_warn("%s: no TLS handshake within %u ms; closed", c->peer,
			c->op->client_timeout_ms);
		conn_close(c);
		break;
	default:
		conn_close(c);
	}
	conn_release(c);
}

/* The peer as logs name it, and as the limits count it. */
static void peer_name(int fd, char *buf, size_t sz, pl_slot_key_t *key)
{
	struct sockaddr_storage ss = { .ss_family = AF_UNSPEC };
	socklen_t sl = sizeof(ss);
	char host[INET6_ADDRSTRLEN] = "?";
	int port = 0;
	if (getpeername(fd, (struct sockaddr *)&ss, &sl) < 0)
		ss.ss_family = AF_UNSPEC;
	(void)pl_slot_key_addr(key, (struct sockaddr *)&ss);
	if (ss.ss_family != AF_UNSPEC) {
		if (ss.ss_family == AF_INET) {
			struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
			inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
			port = ntohs(s4->sin_port);
		} else if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
			inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
			port = ntohs(s6->sin6_port);
		}
	}
	snprintf(buf, sz, "%s:%d", host, port);
}

/* The limits closed c: not authenticated in time, or its slot went to a
 * newcomer. A client past the handshake is told why (BUSY: try again). */
static void conn_dropped(void *arg, pl_slot_t *slot, pl_slot_why_t why)
{
	op_t *op = arg;
	op_conn_t *c = (op_conn_t *)(void *)((char *)slot - offsetof(op_conn_t, slot));
	char msg[200];
	if (why == PL_SLOT_EXPIRED)
		(void)pl_fmt(msg, sizeof(msg), "no authenticated SUBMIT_BEGIN within %u s "
			     "of connecting (auth_deadline_s); closed", op->auth_deadline_ms / 1000);
	else
		(void)pl_fmt(msg, sizeof(msg), "closed to make room for a newcomer: "
			     "not authenticated after %llu ms",
			     (unsigned long long)(pl_now_ms() - slot->since_ms));
	op_limit_warn(op, "%s: %s", c->peer, msg);
	/* conn_result flushes what it can, and closes c when the send fails
	 * (a flood of slow clients): no second flush here, its SSL may be
	 * gone (that was an ASan SEGV in SSL_write under t34's attacks). */
	if (c->state != C_HANDSHAKE && c->outlen == 0)
		conn_result(c, 0, PL_STATUS_BUSY, msg, NULL);
	conn_close(c);
	conn_release(c);
}

/* May a newcomer from key have a slot? 0, or -1 (logged). */
static int conn_admit(op_t *op, op_conn_t *c, const pl_slot_key_t *key)
{
	int rc = pl_slots_admit(op->slots, &c->slot, key, 0, pl_now_ms());
	op_limits_note(op);
	if (rc == 0)
		return 0;
	if (rc == PL_SLOTS_PEER_FULL)
		op_limit_warn(op, "%s: refused: %u connections from that address already "
			      "(max_clients_per_address)", c->peer, op->max_per_address);
	else
		op_limit_warn(op, "%s: refused: no free connection (max_clients %u, of which "
			      "%u%% kept for authenticated clients)", c->peer, op->max_clients,
			      op->auth_reserve_pct);
	return -1;
}

/* Each starts small (4 KiB) and grows to the frames it is given. */
static int conn_readers_init(op_conn_t *c)
{
	for (unsigned i = 0; i < READERS; i++)
		if (pl_reader_init(&c->rd[i], OP_FRAME_MAX) < 0)
			return -1;
	return 0;
}

static void on_accept(pl_loop_t *loop, int lfd, uint32_t ev, void *arg)
{
	op_t *op = arg;
	(void)ev;
	for (int i = 0; i < 64; i++) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		if (op->draining) {
			close(fd);
			continue;
		}
		op_conn_t *c = calloc(1, sizeof(*c));
		if (!c || conn_readers_init(c) < 0 || !(c->ssl = SSL_new(op->tls))) {
			if (c)
				for (unsigned k = 0; k < READERS; k++)
					pl_reader_free(&c->rd[k]);
			free(c);
			close(fd);
			continue;
		}
		pl_slot_key_t key;
		c->op = op;
		c->fd = fd;
		peer_name(fd, c->peer, sizeof(c->peer), &key);
		if (conn_admit(op, c, &key) < 0) {
			SSL_free(c->ssl);
			for (unsigned k = 0; k < READERS; k++)
				pl_reader_free(&c->rd[k]);
			free(c);
			close(fd);
			continue;
		}
		/* Our answers are small and latency-bound (the job id a client
		 * waits for): no Nagle delay behind unacknowledged data. */
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		SSL_set_fd(c->ssl, fd);
		c->state = C_HANDSHAKE;
		c->next = op->conns;
		op->conns = c;
		op->nconns++;
		c->w = pl_loop_watch(loop, fd, EPOLLIN, conn_io, c);
		conn_touch(c);
		if (!c->w) {
			conn_close(c);
			conn_release(c);
		}
	}
}

int op_conn_listen(op_t *op, int fd)
{
	pl_slots_conf_t sc;
	op_limits_conf(op, &sc);
	op->slots = pl_slots_new(op->loop, &sc, conn_dropped, op);
	if (!op->slots)
		return -1;
	op->listen_fd = fd;
	pl_set_nonblock(fd);
	op->listen_w = pl_loop_watch(op->loop, fd, EPOLLIN, on_accept, op);
	return op->listen_w ? 0 : -1;
}

void op_conn_stop_accepting(op_t *op)
{
	if (op->listen_w)
		pl_loop_unwatch(op->loop, op->listen_w);
	op->listen_w = NULL;
}

void op_conn_close_all(op_t *op)
{
	op_conn_t *c = op->conns;
	while (c) {
		op_conn_t *next = c->next;
		conn_close(c);
		conn_release(c);
		c = next;
	}
}
