/* Outcomes of held off-network jobs, for the gateway (PROTOCOL.md §12.1):
 * each is a JOB_EVENT with a number (SEQ) of ours, kept in <state>/outbox
 * until the gateway acknowledges that number, and sent again on every new
 * connection until then, exactly once a connection (each pending event
 * carries the number of the connection it went on: an event made durable
 * while a connection was being set up goes with the resend at its
 * establishment, not a second time from the send queue). At least once
 * across connections: a gateway recognises a repeat by its SEQ.
 *
 * SEQ = epoch << 32 | count: the epoch is random, drawn when the journal
 * is new (and when the count runs out), so a router that lost its state
 * directory and numbers again does not repeat an old SEQ (§12.1).
 *
 * <state>/outbox is a journal of tab-separated lines:
 *   N <next seq>                               first line, after compaction
 *   E <seq> <time ms> <id> <event> <printer> <detail>
 *   A <seq>                                    acknowledged
 * An E is appended and fdatasync'ed before it is sent; an A is appended
 * without a sync (lost, the event is merely sent once more). At open, and
 * when the journal holds many acknowledged events, it is rewritten with
 * the pending ones only (tmp, fsync, rename, fsync the directory).
 *
 * The file is written by one worker thread only, in order; the pending
 * list is shared with the loop thread (which sends) under a mutex. */
#include "on.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pl_log.h"
#include "pl_random.h"
#include "pl_util.h"

#define OB_COMPACT_LINES 4096u /* acknowledged lines before a rewrite */

typedef struct ob_ev {
	struct ob_ev *next;
	uint64_t seq, time_ms;
	uint64_t sent_conn; /* the connection it went on (mu), 0 none */
	char id[ON_ID_MAX + 1];
	char event[16];
	char printer[128];
	char detail[256];
} ob_ev_t;

typedef struct {
	on_t *on;
	pl_work_t *disk;
	pthread_mutex_t mu;
	ob_ev_t *head, **tail; /* pending, oldest first */
	size_t npending;
	uint64_t next_seq;
	/* the worker's alone */
	char path[4096];
	int fd;
	size_t acked_lines;
} ob_t;

typedef struct {
	ob_t *ob;
	ob_ev_t *ev; /* an event to append; NULL: an ack */
	uint64_t ack;
	int ok, errnum;
	ob_ev_t sent; /* the event made durable, to send */
} ob_task_t;

/* Tabs and line ends would split a line: they become spaces. */
static void clean(char *s)
{
	for (; *s; s++)
		if (*s == '\t' || *s == '\n' || *s == '\r')
			*s = ' ';
}

static int ev_line(const ob_ev_t *e, char *buf, size_t size)
{
	return snprintf(buf, size, "E\t%" PRIu64 "\t%" PRIu64 "\t%s\t%s\t%s\t%s\n", e->seq,
			e->time_ms, e->id, e->event, e->printer, e->detail);
}

/* ---- the pending list (mu held) ---- */

static void pending_push(ob_t *ob, ob_ev_t *e)
{
	e->next = NULL;
	*ob->tail = e;
	ob->tail = &e->next;
	ob->npending++;
}

static int pending_remove(ob_t *ob, uint64_t seq)
{
	for (ob_ev_t **pp = &ob->head; *pp; pp = &(*pp)->next) {
		ob_ev_t *e = *pp;
		if (e->seq != seq)
			continue;
		*pp = e->next;
		if (ob->tail == &e->next)
			ob->tail = pp;
		ob->npending--;
		free(e);
		return 1;
	}
	return 0;
}

/* ---- the journal ---- */

static void load_line(ob_t *ob, char *line)
{
	char *f[7];
	int n = 0;
	for (char *p = line; n < 7; n++) {
		f[n] = p;
		p = strchr(p, '\t');
		if (!p) {
			n++;
			break;
		}
		*p++ = '\0';
	}
	uint64_t seq = n >= 2 ? strtoull(f[1], NULL, 10) : 0;
	if (n == 2 && strcmp(f[0], "N") == 0 && seq > ob->next_seq)
		ob->next_seq = seq;
	else if (n == 2 && strcmp(f[0], "A") == 0)
		pending_remove(ob, seq);
	else if (n == 7 && strcmp(f[0], "E") == 0 && seq && on_id_valid(f[3]) &&
		 on_event_valid(f[4])) {
		ob_ev_t *e = calloc(1, sizeof(*e));
		if (!e)
			return;
		e->seq = seq;
		e->time_ms = strtoull(f[2], NULL, 10);
		pl_strlcpy(e->id, f[3], sizeof(e->id));
		pl_strlcpy(e->event, f[4], sizeof(e->event));
		pl_strlcpy(e->printer, f[5], sizeof(e->printer));
		pl_strlcpy(e->detail, f[6], sizeof(e->detail));
		if (seq >= ob->next_seq)
			ob->next_seq = seq + 1;
		pending_push(ob, e);
	}
	/* anything else (a torn last line after a crash) is skipped */
}

static int load(ob_t *ob, pl_err_t *err)
{
	FILE *f = fopen(ob->path, "r");
	char line[1024];
	if (!f) {
		if (errno == ENOENT)
			return 0;
		snprintf(err->msg, sizeof(err->msg), "%.900s: %s", ob->path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		size_t n = strcspn(line, "\n");
		if (line[n] != '\n') { /* too long, or torn: skip the rest */
			int c;
			while ((c = fgetc(f)) != EOF && c != '\n')
				;
			continue;
		}
		line[n] = '\0';
		load_line(ob, line);
	}
	fclose(f);
	return 0;
}

/* Rewrite the journal with the pending events only (mu held: nothing is
 * added meanwhile). Worker thread, or open. */
static int compact(ob_t *ob, pl_err_t *err)
{
	char tmp[4200], line[1024];
	snprintf(tmp, sizeof(tmp), "%s.tmp", ob->path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		goto fail;
	int n = snprintf(line, sizeof(line), "N\t%" PRIu64 "\n", ob->next_seq);
	if (pl_write_all(fd, line, (size_t)n) < 0)
		goto fail;
	for (ob_ev_t *e = ob->head; e; e = e->next) {
		n = ev_line(e, line, sizeof(line));
		if (n < 0 || (size_t)n >= sizeof(line) || pl_write_all(fd, line, (size_t)n) < 0)
			goto fail;
	}
	if (fsync(fd) < 0 || rename(tmp, ob->path) < 0)
		goto fail;
	if (pl_fsync_dir_of(ob->path) < 0)
		pl_warn("cannot sync the directory of %s", ob->path);
	if (ob->fd >= 0)
		close(ob->fd);
	ob->fd = fd; /* the new file, still open for appending */
	if (lseek(fd, 0, SEEK_END) < 0)
		goto fail;
	ob->acked_lines = 0;
	return 0;
fail:
	snprintf(err->msg, sizeof(err->msg), "%.900s: %s", tmp, strerror(errno));
	if (fd >= 0 && fd != ob->fd)
		close(fd);
	unlink(tmp);
	return -1;
}

/* ---- the worker ---- */

static void task_run(void *arg)
{
	ob_task_t *t = arg;
	ob_t *ob = t->ob;
	char line[1024];
	pl_err_t err;
	pthread_mutex_lock(&ob->mu);
	if (t->ev) {
		int n = ev_line(t->ev, line, sizeof(line));
		t->ok = ob->fd >= 0 && n > 0 && (size_t)n < sizeof(line) &&
			pl_write_all(ob->fd, line, (size_t)n) == 0 && fdatasync(ob->fd) == 0;
		if (t->ok) {
			t->sent = *t->ev;
			pending_push(ob, t->ev);
			t->ev = NULL;
		} else {
			t->errnum = errno;
		}
	} else if (pending_remove(ob, t->ack)) {
		int n = snprintf(line, sizeof(line), "A\t%" PRIu64 "\n", t->ack);
		if (ob->fd < 0 || pl_write_all(ob->fd, line, (size_t)n) < 0)
			pl_warn("outbox: cannot record an acknowledgement: %s", strerror(errno));
		if (++ob->acked_lines >= OB_COMPACT_LINES && compact(ob, &err) < 0)
			pl_warn("outbox: %s", err.msg);
	}
	pthread_mutex_unlock(&ob->mu);
}

static void send_ev(on_t *on, const ob_ev_t *e)
{
	pl_msg_t m;
	if (pl_msg_init(&m, PL_MSG_JOB_EVENT, 0, 0) < 0)
		return;
	if (on_msg_job_event(&m, e->seq, e->id, e->event, e->time_ms, e->printer, e->detail) == 0)
		(void)on_router_send(on, &m);
	pl_msg_free(&m);
}

/* Send the pending events (seq 0: all, else that one) not yet sent on the
 * established connection, and mark them sent on it. Not connected: none;
 * the resend at the next establishment takes them. Loop thread. */
static void send_new(ob_t *ob, uint64_t seq)
{
	uint64_t conn = on_router_connection(ob->on);
	if (!conn)
		return;
	pthread_mutex_lock(&ob->mu);
	size_t n = 0;
	for (ob_ev_t *e = ob->head; e; e = e->next)
		n += (!seq || e->seq == seq) && e->sent_conn != conn;
	ob_ev_t *copy = n ? calloc(n, sizeof(*copy)) : NULL;
	size_t i = 0;
	for (ob_ev_t *e = ob->head; copy && e && i < n; e = e->next) {
		if ((seq && e->seq != seq) || e->sent_conn == conn)
			continue;
		e->sent_conn = conn;
		copy[i++] = *e;
	}
	pthread_mutex_unlock(&ob->mu);
	if (i && !seq)
		pl_info("outbox: %zu outcome%s sent to the gateway again", i, i == 1 ? "" : "s");
	for (size_t k = 0; k < i; k++)
		send_ev(ob->on, &copy[k]);
	free(copy);
}

static void task_done(void *arg)
{
	ob_task_t *t = arg;
	ob_t *ob = t->ob;
	if (t->ev) { /* not made durable: said once, and kept in memory */
		pl_err("outbox: cannot record that job %s was %s: %s; told to the gateway "
		       "now, but not again after a restart", t->ev->id, t->ev->event,
		       strerror(t->errnum ? t->errnum : EIO));
		pthread_mutex_lock(&ob->mu);
		t->sent = *t->ev;
		pending_push(ob, t->ev);
		t->ev = NULL;
		pthread_mutex_unlock(&ob->mu);
		send_new(ob, t->sent.seq);
	} else if (t->ok) {
		send_new(ob, t->sent.seq);
	}
	on_status_note(ob->on);
	free(t);
}

static void submit(ob_t *ob, ob_ev_t *ev, uint64_t ack)
{
	ob_task_t *t = calloc(1, sizeof(*t));
	if (!t) {
		free(ev);
		return;
	}
	t->ob = ob;
	t->ev = ev;
	t->ack = ack;
	if (pl_work_submit(ob->disk, task_run, task_done, t) < 0) {
		free(t->ev);
		free(t);
	}
}

/* ---- the service's side ---- */

/* The first SEQ of a new numbering: a random epoch 1..2^31-1 in the high
 * half, the count from 1. */
static uint64_t new_epoch(void)
{
	uint32_t rnd = 0;
	pl_random_bytes(&rnd, sizeof(rnd));
	return ((uint64_t)(rnd % 0x7fffffffu + 1u) << 32) | 1u;
}

void on_outbox_add(on_t *on, const char *id, const char *event, const char *printer,
		   const char *detail)
{
	ob_t *ob = on->outbox;
	struct timespec ts;
	if (!ob)
		return;
	ob_ev_t *e = calloc(1, sizeof(*e));
	if (!e)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	pthread_mutex_lock(&ob->mu);
	if (ob->npending >= ON_OUTBOX_MAX && ob->head) {
		pl_warn("outbox: %u outcomes unacknowledged; the oldest (job %s %s) is dropped",
			ON_OUTBOX_MAX, ob->head->id, ob->head->event);
		ob_ev_t *old = ob->head;
		ob->head = old->next;
		if (!ob->head)
			ob->tail = &ob->head;
		ob->npending--;
		free(old);
	}
	e->seq = ob->next_seq++;
	if (!(ob->next_seq & 0xffffffffu)) /* the count ran out: a new epoch */
		ob->next_seq = new_epoch();
	pthread_mutex_unlock(&ob->mu);
	e->time_ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
	pl_strlcpy(e->id, id, sizeof(e->id));
	pl_strlcpy(e->event, event, sizeof(e->event));
	pl_strlcpy(e->printer, printer ? printer : "", sizeof(e->printer));
	pl_strlcpy(e->detail, detail ? detail : "", sizeof(e->detail));
	clean(e->printer);
	clean(e->detail);
	pl_info("job %s: %s; telling the gateway (event %" PRIu64 ")", e->id, e->event, e->seq);
	submit(ob, e, 0);
}

void on_outbox_ack(on_t *on, uint64_t seq)
{
	ob_t *ob = on->outbox;
	if (ob)
		submit(ob, NULL, seq);
}

void on_outbox_resend(on_t *on)
{
	if (on->outbox)
		send_new(on->outbox, 0);
}

size_t on_outbox_pending(on_t *on)
{
	ob_t *ob = on->outbox;
	size_t n;
	if (!ob)
		return 0;
	pthread_mutex_lock(&ob->mu);
	n = ob->npending;
	pthread_mutex_unlock(&ob->mu);
	return n;
}

int on_outbox_open(on_t *on, pl_err_t *err)
{
	ob_t *ob = calloc(1, sizeof(*ob));
	if (!ob) {
		snprintf(err->msg, sizeof(err->msg), "out of memory");
		return -1;
	}
	pthread_mutex_init(&ob->mu, NULL);
	ob->on = on;
	ob->tail = &ob->head;
	ob->fd = -1;
	ob->next_seq = 0; /* from the journal, or a new epoch */
	snprintf(ob->path, sizeof(ob->path), "%.4000s/outbox", pl_service_state_dir(on->svc));
	on->outbox = ob;
	if (load(ob, err) < 0)
		return -1;
	/* A journal of before the epochs goes on counting from where it was
	 * (epoch 0): its gateway has seen those numbers. */
	if (!ob->next_seq)
		ob->next_seq = new_epoch();
	if (compact(ob, err) < 0)
		return -1;
	ob->disk = pl_work_new(on->loop, "on-outbox", 1, 0);
	if (!ob->disk) {
		snprintf(err->msg, sizeof(err->msg), "cannot start the outbox worker");
		return -1;
	}
	if (ob->npending)
		pl_info("outbox: %zu outcome%s for the gateway not yet acknowledged",
			ob->npending, ob->npending == 1 ? "" : "s");
	return 0;
}

void on_outbox_close(on_t *on)
{
	ob_t *ob = on->outbox;
	if (!ob)
		return;
	pl_work_free(ob->disk); /* finishes what is queued */
	on->outbox = NULL;
	while (ob->head) {
		ob_ev_t *e = ob->head;
		ob->head = e->next;
		free(e);
	}
	if (ob->fd >= 0)
		close(ob->fd);
	pthread_mutex_destroy(&ob->mu);
	free(ob);
}
