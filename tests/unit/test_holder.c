/* pl_holder driven as the supervisor drives it: requests travel over a
 * socketpair into pl_holder_message, answers and job events come back
 * over it, and releases go to a recording raw printer (a listening socket
 * in this test, read on a thread). Every test has its own mkdtemp store
 * and directory. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "pl_chan.h"
#include "pl_holder.h"
#include "pl_jobpage.h"

#define WAIT_MS 10000
#define REC_MAX (2 * 1024 * 1024)

/* A raw printer: accepts connections one after another, records each
 * one's bytes until EOF, then closes (the clean close that confirms). A
 * gated one waits for the test to open its gate before that close, so a
 * release stays in the print pool for as long as the test wants. */
typedef struct {
	int lfd;
	int port;
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int gated, gate_open;
	char last[REC_MAX];
	size_t last_len;
	size_t bytes; /* over every connection */
	int jobs;     /* connections, each recorded at its end */
} rec_t;

typedef struct {
	char base[PATH_MAX];
	pl_loop_t *loop;
	pl_jobstore_t *store;
	pl_dir_t *dir;
	pl_holder_t *h;
	pl_holder_conf_t conf;
	int sv[2]; /* [0] the service's end, [1] the "supervisor's" */
	pl_reader_t svc_rd, sup_rd;
	rec_t rec;
	uint32_t seq;
	/* frames the supervisor end received: the last reply, the events */
	uint8_t *reply;
	size_t reply_len;
	char events[32][256]; /* "event user printer title?|detail?" */
	int nevents;
} fx_t;

/* ---- the recording printer ---- */

static void *rec_main(void *arg)
{
	rec_t *r = arg;
	for (;;) {
		int c = accept(r->lfd, NULL, NULL);
		if (c < 0)
			return NULL;
		char *buf = malloc(REC_MAX);
		size_t len = 0;
		ssize_t n;
		while (buf && (n = read(c, buf + len, REC_MAX - len)) > 0)
			len += (size_t)n;
		pthread_mutex_lock(&r->mu);
		if (buf)
			memcpy(r->last, buf, len);
		r->last_len = len;
		r->bytes += len;
		r->jobs++;
		pthread_cond_broadcast(&r->cv);
		while (r->gated && !r->gate_open)
			pthread_cond_wait(&r->cv, &r->mu);
		pthread_mutex_unlock(&r->mu);
		free(buf);
		close(c); /* recorded first: the close is what confirms */
	}
}

static int listen_any(int *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t al = sizeof(a);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(fd, 16) < 0 || getsockname(fd, (struct sockaddr *)&a, &al) < 0)
		return -1;
	*port = ntohs(a.sin_port);
	return fd;
}

static void rec_start(rec_t *r, int gated)
{
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	r->gated = gated;
	assert_true((r->lfd = listen_any(&r->port)) >= 0);
	assert_int_equal(pthread_create(&r->th, NULL, rec_main, r), 0);
}

static void rec_open_gate(rec_t *r)
{
	pthread_mutex_lock(&r->mu);
	r->gate_open = 1;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
}

static void rec_stop(rec_t *r)
{
	rec_open_gate(r);
	shutdown(r->lfd, SHUT_RDWR); /* ends the printer's accept() */
	pthread_join(r->th, NULL);
	close(r->lfd);
	pthread_mutex_destroy(&r->mu);
	pthread_cond_destroy(&r->cv);
}

static void add_printer(fx_t *f, const char *name, int port)
{
	pl_dir_printer_t p = { 0 };
	pl_err_t err;
	snprintf(p.name, sizeof(p.name), "%s", name);
	snprintf(p.uri, sizeof(p.uri), "socket://127.0.0.1:%d", port);
	assert_int_equal(pl_dir_printer_add(f->dir, &p, 0, &err), 0);
}

/* ---- the supervisor's end of the channel ---- */

/* Straight into the supervisor end's reader: the holder answers on this
 * thread (the loop's), before the test reads, and a page of hundreds of
 * jobs would not fit the socket's buffer. */
static int send_to_sup(void *arg, const pl_msg_t *m)
{
	fx_t *f = arg;
	return pl_reader_feed(&f->sup_rd, m->buf, m->len) < 0 ? -1 : 0;
}

static void note_event(fx_t *f, const pl_frame_t *fr)
{
	char ev[32] = "", user[64] = "", printer[64] = "", title[64] = "-",
	     detail[64] = "-";
	pl_frame_get_str(fr, PL_TAG_EVENT, ev, sizeof(ev));
	pl_frame_get_str(fr, PL_TAG_USER, user, sizeof(user));
	pl_frame_get_str(fr, PL_TAG_PRINTER, printer, sizeof(printer));
	pl_frame_get_str(fr, PL_TAG_TITLE, title, sizeof(title));
	pl_frame_get_str(fr, PL_TAG_DETAIL, detail, sizeof(detail));
	assert_true(f->nevents < 32);
	snprintf(f->events[f->nevents++], sizeof(f->events[0]), "%s %s %s %s|%.20s",
		 ev, user, printer, title, detail);
}

/* Run the loop (worker done callbacks) and read what the holder sent,
 * until the reply to seq (0: any) arrived. */
static void wait_reply(fx_t *f, uint32_t seq)
{
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	free(f->reply);
	f->reply = NULL;
	while (!f->reply) {
		pl_frame_t fr;
		int rc = 0;
		/* One reply at a time: the next may be another wait's. */
		while (!f->reply && (rc = pl_reader_next(&f->sup_rd, &fr)) == 1) {
			if (fr.type == PL_MSG_JOB_EVENT) {
				note_event(f, &fr);
			} else if (fr.type == PL_MSG_RESULT && (fr.seq == seq || !seq)) {
				assert_true(fr.flags & PL_FLAG_REPLY);
				f->reply = malloc(fr.len + 1);
				memcpy(f->reply, fr.payload, fr.len);
				f->reply_len = fr.len;
			}
		}
		if (f->reply)
			break;
		assert_int_equal(rc, 0);
		pl_reader_fill(&f->sup_rd, f->sv[1]);
		pl_loop_run_once(f->loop, 10);
		clock_gettime(CLOCK_MONOTONIC, &t);
		assert_true((t.tv_sec - t0.tv_sec) * 1000 < WAIT_MS);
	}
}

/* Send a request as the supervisor does and hand it to the holder as the
 * service runtime does; its seq, for wait_reply. */
static uint32_t send_req(fx_t *f, pl_msg_t *m)
{
	pl_frame_t fr;
	uint32_t seq = ++f->seq;
	pl_msg_set_seq(m, seq);
	assert_int_equal(pl_msg_finish(m), 0);
	assert_int_equal(pl_send_frame(f->sv[1], m, WAIT_MS), 0);
	pl_msg_free(m);
	assert_int_equal(pl_recv_frame(f->sv[0], &f->svc_rd, &fr, WAIT_MS), 0);
	assert_int_equal(pl_holder_message(f->h, &fr), 1);
	return seq;
}

/* ... and wait for the answer. */
static void ask(fx_t *f, pl_msg_t *m)
{
	wait_reply(f, send_req(f, m));
}

/* Let the shreds queued after an answer finish. */
static void settle(fx_t *f)
{
	for (int i = 0; i < WAIT_MS / 10 && pl_holder_pending(f->h); i++)
		pl_loop_run_once(f->loop, 10);
	assert_int_equal(pl_holder_pending(f->h), 0);
}

static void reply_frame(const fx_t *f, pl_frame_t *fr)
{
	memset(fr, 0, sizeof(*fr));
	fr->type = PL_MSG_RESULT;
	fr->payload = f->reply;
	fr->len = (uint32_t)f->reply_len;
	fr->fd = -1;
}

/* The first per-job result of the reply: status and message. */
static uint32_t job_result(const fx_t *f, char *msg, size_t msgsz)
{
	pl_frame_t fr;
	pl_field_t fl, jf;
	pl_iter_t jt;
	uint32_t status = 999;
	reply_frame(f, &fr);
	assert_int_equal(pl_frame_find(&fr, PL_TAG_JOB, &fl), 1);
	assert_int_equal(pl_iter_nested(&jt, &fl), 0);
	while (pl_iter_next(&jt, &jf) == 1) {
		if (jf.tag == PL_TAG_STATUS)
			assert_int_equal(pl_field_u32(&jf, &status), 0);
		else if (jf.tag == PL_TAG_MESSAGE)
			assert_int_equal(pl_field_str(&jf, msg, msgsz), 0);
	}
	return status;
}

/* ---- fixture ---- */

/* A job of len bytes for printer ("" = a pull job). */
static void hold_len(fx_t *f, const char *owner, const char *title, const void *data,
		     size_t len, const char *printer, char *id)
{
	pl_job_meta_t m = { 0 }, out;
	pl_jobw_t *w;
	pl_err_t err;
	snprintf(m.owner, sizeof(m.owner), "%s", owner);
	snprintf(m.printer, sizeof(m.printer), "%s", printer);
	snprintf(m.title, sizeof(m.title), "%s", title);
	snprintf(m.workstation, sizeof(m.workstation), "ws1");
	snprintf(m.format, sizeof(m.format), "application/octet-stream");
	m.size = len;
	assert_int_equal(pl_jobstore_begin(f->store, &m, &w, &err), 0);
	assert_int_equal(pl_jobw_write(w, data, m.size, &err), 0);
	assert_int_equal(pl_jobw_commit(w, NULL, 1, &out, &err), 0);
	strcpy(id, out.id);
	/* distinct creation times: "most recent" must be unambiguous */
	usleep(3000);
}

static void hold_for(fx_t *f, const char *owner, const char *title, const char *data,
		     const char *printer, char *id)
{
	hold_len(f, owner, title, data, strlen(data), printer, id);
}

static void hold(fx_t *f, const char *owner, const char *title, const char *data,
		 char *id)
{
	hold_for(f, owner, title, data, "", id);
}

static int setup(void **state)
{
	const char *tmp = getenv("TMPDIR");
	char path[PATH_MAX + 32];
	pl_err_t err;
	fx_t *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	snprintf(f->base, sizeof(f->base), "%s/test_holder.XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(f->base));
	f->conf = (pl_holder_conf_t){
		.expiry_ms = 3600 * 1000,
		.expiry_check_ms = 0,
		.print_connect_timeout_ms = 2000,
		.print_io_timeout_ms = 5000,
		.print_workers = 2,
		.report_titles = 1,
	};
	assert_int_equal(pl_holder_store_open(f->base, &f->conf, &f->store, &err), 0);
	snprintf(path, sizeof(path), "%s/directory.db", f->base);
	assert_int_equal(pl_dir_open(&f->dir, path, 0, &err), 0);
	assert_non_null(f->loop = pl_loop_new());
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, f->sv), 0);
	fcntl(f->sv[1], F_SETFL, O_NONBLOCK);
	assert_int_equal(pl_reader_init(&f->svc_rd, 0), 0);
	assert_int_equal(pl_reader_init(&f->sup_rd, 0), 0);
	rec_start(&f->rec, 0);
	add_printer(f, "P1", f->rec.port);
	pl_holder_opts_t o = {
		.loop = f->loop, .name = "th", .store = f->store, .dir = f->dir,
		.send = send_to_sup, .send_arg = f, .events = 1, .conf = &f->conf,
	};
	assert_int_equal(pl_holder_new(&f->h, &o, &err), 0);
	*state = f;
	return 0;
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(p);
}

static int teardown(void **state)
{
	fx_t *f = *state;
	pl_holder_free(f->h);
	rec_stop(&f->rec);
	pl_jobstore_close(f->store);
	pl_dir_close(f->dir);
	pl_loop_free(f->loop);
	pl_reader_free(&f->svc_rd);
	pl_reader_free(&f->sup_rd);
	close(f->sv[0]);
	close(f->sv[1]);
	free(f->reply);
	nftw(f->base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* ---- tests ---- */

/* A release's query (no FULL) gets ids and creation times and nothing
 * else; the listing for plsc jobs and the console gets every field. */
static void test_query_brief_and_full(void **state)
{
	fx_t *f = *state;
	char a1[64], a2[64], b1[64];
	pl_msg_t m;
	hold(f, "alice", "secret plans", "one", a1);
	hold(f, "alice", "more plans", "two", a2);
	hold(f, "bob", "bob's", "three", b1);

	for (int full = 0; full <= 1; full++) {
		pl_frame_t fr;
		pl_iter_t it, jt;
		pl_field_t fl, jf;
		uint32_t count = 0;
		int njobs = 0;
		assert_int_equal(pl_msg_init(&m, PL_MSG_JOBS_QUERY, 0, 0), 0);
		pl_msg_add_str(&m, PL_TAG_USER, "alice");
		if (full)
			pl_msg_add_u8(&m, PL_TAG_FULL, 1);
		ask(f, &m);
		reply_frame(f, &fr);
		assert_int_equal(pl_frame_get_u32(&fr, PL_TAG_COUNT, &count), 0);
		assert_int_equal(count, 2);
		pl_iter_frame(&it, &fr);
		while (pl_iter_next(&it, &fl) == 1) {
			if (fl.tag != PL_TAG_JOB)
				continue;
			int tags = 0, title = 0;
			char id[64] = "";
			uint64_t created = 0;
			assert_int_equal(pl_iter_nested(&jt, &fl), 0);
			while (pl_iter_next(&jt, &jf) == 1) {
				tags++;
				title |= jf.tag == PL_TAG_TITLE;
				if (jf.tag == PL_TAG_JOB_ID)
					pl_field_str(&jf, id, sizeof(id));
				if (jf.tag == PL_TAG_CREATED_MS)
					pl_field_u64(&jf, &created);
				if (!full)
					assert_true(jf.tag == PL_TAG_JOB_ID ||
						    jf.tag == PL_TAG_CREATED_MS);
			}
			assert_string_equal(id, njobs == 0 ? a1 : a2); /* oldest first */
			assert_true(created > 0);
			/* 10: no PAGES, as these jobs' page counts are not known */
			assert_int_equal(tags, full ? 10 : 2);
			assert_int_equal(title, full);
			njobs++;
		}
		assert_int_equal(njobs, 2);
	}
	/* No user: everyone's jobs. */
	assert_int_equal(pl_msg_init(&m, PL_MSG_JOBS_QUERY, 0, 0), 0);
	ask(f, &m);
	pl_frame_t fr;
	uint32_t count = 0;
	reply_frame(f, &fr);
	assert_int_equal(pl_frame_get_u32(&fr, PL_TAG_COUNT, &count), 0);
	assert_int_equal(count, 3);
}

/* ---- listings a page at a time ---- */

/* A JOBS_QUERY's answer, decoded. */
typedef struct {
	char ids[600][64];
	uint64_t created[600];
	int njobs;
	uint32_t count, total, elsewhere, maybe;
	int more, has_after;
	pl_jobpos_t after;
} page_t;

static void read_page(const fx_t *f, page_t *p)
{
	pl_frame_t fr;
	pl_iter_t it, jt;
	pl_field_t fl, jf;
	uint8_t more = 0;
	memset(p, 0, sizeof(*p));
	reply_frame(f, &fr);
	pl_iter_frame(&it, &fr);
	while (pl_iter_next(&it, &fl) == 1) {
		if (fl.tag == PL_TAG_COUNT)
			assert_int_equal(pl_field_u32(&fl, &p->count), 0);
		else if (fl.tag == PL_TAG_TOTAL)
			assert_int_equal(pl_field_u32(&fl, &p->total), 0);
		else if (fl.tag == PL_TAG_ELSEWHERE)
			assert_int_equal(pl_field_u32(&fl, &p->elsewhere), 0);
		else if (fl.tag == PL_TAG_MAYBE_COUNT)
			assert_int_equal(pl_field_u32(&fl, &p->maybe), 0);
		else if (fl.tag == PL_TAG_MORE)
			assert_int_equal(pl_field_u8(&fl, &more), 0);
		else if (fl.tag == PL_TAG_AFTER)
			p->has_after = pl_jobpos_decode(&fl, &p->after) == 0;
		if (fl.tag != PL_TAG_JOB)
			continue;
		assert_true(p->njobs < 600);
		assert_int_equal(pl_iter_nested(&jt, &fl), 0);
		while (pl_iter_next(&jt, &jf) == 1) {
			if (jf.tag == PL_TAG_JOB_ID)
				pl_field_str(&jf, p->ids[p->njobs], sizeof(p->ids[0]));
			if (jf.tag == PL_TAG_CREATED_MS)
				pl_field_u64(&jf, &p->created[p->njobs]);
		}
		p->njobs++;
	}
	p->more = more == 1;
	assert_int_equal(p->count, p->njobs);
}

/* JOBS_QUERY for user ("" = everyone), LIMIT limit (0: none given),
 * after the cursor (NULL: from the start). */
static void query_page(fx_t *f, const char *user, uint32_t limit, int full,
		       const pl_jobpos_t *after, page_t *p)
{
	pl_msg_t m;
	assert_int_equal(pl_msg_init(&m, PL_MSG_JOBS_QUERY, 0, 0), 0);
	if (user[0])
		pl_msg_add_str(&m, PL_TAG_USER, user);
	if (limit)
		pl_msg_add_u32(&m, PL_TAG_LIMIT, limit);
	if (full)
		pl_msg_add_u8(&m, PL_TAG_FULL, 1);
	if (after)
		pl_jobpos_add(&m, PL_TAG_AFTER, after);
	ask(f, &m);
	read_page(f, p);
}

/* Pages of 5: every job once, oldest first, with TOTAL on each, MORE and
 * the next cursor until the last. */
static void test_query_pages(void **state)
{
	fx_t *f = *state;
	char ids[12][64], other[64];
	static page_t p;
	for (int i = 0; i < 12; i++)
		hold(f, "alice", "t", "x", ids[i]);
	hold(f, "bob", "b", "y", other);
	pl_jobpos_t cur;
	const pl_jobpos_t *after = NULL;
	int seen = 0;
	for (int page = 0; page < 3; page++) {
		query_page(f, "alice", 5, 1, after, &p);
		assert_int_equal(p.total, 12);
		assert_int_equal(p.njobs, page < 2 ? 5 : 2);
		for (int k = 0; k < p.njobs; k++)
			assert_string_equal(p.ids[k], ids[seen++]);
		assert_int_equal(p.more, page < 2);
		assert_int_equal(p.has_after, page < 2);
		if (p.has_after) {
			assert_string_equal(p.after.id, p.ids[4]);
			assert_int_equal(p.after.created_ms, p.created[4]);
			cur = p.after;
			after = &cur;
		}
	}
	assert_int_equal(seen, 12);
	/* Everyone's, from a cursor in the middle: the rest, and bob's. */
	query_page(f, "", 0, 0, after, &p);
	assert_int_equal(p.total, 13);
	assert_int_equal(p.njobs, 3);
	assert_string_equal(p.ids[2], other);
	assert_false(p.more);
}

/* At their largest, a page of jobs stays under half the channel's frame,
 * with MORE; asked for more than a page holds, the same. */
static void test_query_page_bound(void **state)
{
	fx_t *f = *state;
	static page_t p;
	pl_job_meta_t m = { 0 }, out;
	pl_err_t err;
	memset(m.owner, 'o', sizeof(m.owner) - 1);
	memset(m.workstation, 'w', sizeof(m.workstation) - 1);
	memset(m.title, 't', sizeof(m.title) - 1);
	memset(m.format, 'f', sizeof(m.format) - 1);
	memset(m.page_size, 'p', sizeof(m.page_size) - 1);
	m.pages = 1;
	for (int i = 0; i < 520; i++) {
		pl_jobw_t *w;
		m.size = 1;
		assert_int_equal(pl_jobstore_begin(f->store, &m, &w, &err), 0);
		assert_int_equal(pl_jobw_write(w, "z", 1, &err), 0);
		assert_int_equal(pl_jobw_commit(w, NULL, 0, &out, &err), 0);
	}
	for (uint32_t limit = 0; limit <= 1000; limit += 1000) {
		query_page(f, "", limit, 1, NULL, &p);
		assert_int_equal(p.total, 520);
		assert_int_equal(p.njobs, 500);
		assert_true(p.more);
		assert_true(f->reply_len <= PL_CHAN_SUPERVISOR_MAX_FRAME / 2);
	}
	pl_jobpos_t cur = p.after;
	query_page(f, "", 0, 1, &cur, &p);
	assert_int_equal(p.njobs, 20);
	assert_false(p.more);
}

/* NEWEST: the one newest job a release may print there: not a secure job
 * for another printer, not a maybe-printed one; both counted. */
static void test_query_newest(void **state)
{
	fx_t *f = *state;
	char old[64], maybe[64], secure[64], id[64];
	static page_t p;
	pl_job_meta_t meta;
	pl_msg_t m;
	add_printer(f, "P2", f->rec.port);
	hold(f, "erin", "old", "1", old);
	hold(f, "erin", "cut off", "2", maybe);
	hold_for(f, "erin", "payslip", "3", "P2", secure);
	hold(f, "frank", "his", "4", id);
	assert_int_equal(pl_jobstore_claim(f->store, maybe, 0, &meta, NULL), 0);
	pl_jobstore_unclaim(f->store, maybe, 1); /* bytes went out: maybe printed */
	for (int at = 0; at <= 2; at++) {
		assert_int_equal(pl_msg_init(&m, PL_MSG_JOBS_QUERY, 0, 0), 0);
		pl_msg_add_str(&m, PL_TAG_USER, "erin");
		pl_msg_add_u8(&m, PL_TAG_NEWEST, 1);
		if (at)
			pl_msg_add_str(&m, PL_TAG_RELEASE_AT, at == 1 ? "P1" : "P2");
		ask(f, &m);
		read_page(f, &p);
		assert_int_equal(p.njobs, 1);
		assert_string_equal(p.ids[0], at == 1 ? old : secure);
		assert_int_equal(p.elsewhere, at == 1);
		assert_int_equal(p.maybe, 1);
		assert_false(p.more);
	}
	/* By id: that job, wherever it may print; another's: none. */
	assert_int_equal(pl_msg_init(&m, PL_MSG_JOBS_QUERY, 0, 0), 0);
	pl_msg_add_str(&m, PL_TAG_JOB_ID, maybe);
	ask(f, &m);
	read_page(f, &p);
	assert_int_equal(p.njobs, 1);
	assert_string_equal(p.ids[0], maybe);
	assert_int_equal(pl_msg_init(&m, PL_MSG_JOBS_QUERY, 0, 0), 0);
	pl_msg_add_str(&m, PL_TAG_JOB_ID, "0123456789abcdef0123456789abcdef");
	ask(f, &m);
	read_page(f, &p);
	assert_int_equal(p.njobs, 0);
	assert_false(p.more);
}

static void release(fx_t *f, const char *printer, const char *id)
{
	pl_msg_t m;
	assert_int_equal(pl_msg_init(&m, PL_MSG_RELEASE_JOBS, 0, 0), 0);
	pl_msg_add_str(&m, PL_TAG_PRINTER, printer);
	pl_msg_add_str(&m, PL_TAG_JOB_ID, id);
	ask(f, &m);
}

/* Printed byte for byte, answered, reported, then shredded. */
static void test_release_prints_then_shreds(void **state)
{
	fx_t *f = *state;
	char id[64], msg[300] = "";
	pl_job_meta_t meta;
	hold(f, "alice", "report.pdf", "the document bytes", id);
	release(f, "P1", id);
	assert_int_equal(job_result(f, msg, sizeof(msg)), PL_STATUS_OK);
	assert_string_equal(msg, "printed");
	pthread_mutex_lock(&f->rec.mu);
	assert_int_equal(f->rec.jobs, 1);
	assert_int_equal(f->rec.last_len, strlen("the document bytes"));
	assert_memory_equal(f->rec.last, "the document bytes", f->rec.last_len);
	pthread_mutex_unlock(&f->rec.mu);
	assert_int_equal(f->nevents, 1);
	assert_string_equal(f->events[0], "printed alice P1 report.pdf|-");
	settle(f);
	assert_true(pl_jobstore_get(f->store, id, &meta) < 0);
	/* Gone: a second release finds nothing. */
	release(f, "P1", id);
	assert_int_equal(job_result(f, msg, sizeof(msg)), PL_STATUS_NOTFOUND);
}

/* A printer that does not take the job: the claim is given back, the
 * job stays held, and the next release prints it. */
static void test_failed_print_keeps_job(void **state)
{
	fx_t *f = *state;
	char id[64], msg[300] = "";
	int port;
	int fd = listen_any(&port);
	assert_true(fd >= 0);
	close(fd); /* nothing listens there now: connection refused */
	add_printer(f, "DEAD", port);
	hold(f, "bob", "memo", "bytes", id);
	release(f, "DEAD", id);
	assert_int_equal(job_result(f, msg, sizeof(msg)), PL_STATUS_PRINTER);
	assert_non_null(strstr(msg, "the job is kept"));
	assert_int_equal(f->nevents, 1);
	assert_int_equal(strncmp(f->events[0], "print-failed bob DEAD memo|", 27), 0);
	settle(f);
	pl_job_meta_t meta;
	assert_int_equal(pl_jobstore_get(f->store, id, &meta), 0);
	release(f, "P1", id);
	assert_int_equal(job_result(f, msg, sizeof(msg)), PL_STATUS_OK);
	settle(f);
	assert_true(pl_jobstore_get(f->store, id, &meta) < 0);
}

/* A job claimed by another release is not printed twice; an unknown
 * printer is an answer too. */
static void test_claimed_and_unknown_printer(void **state)
{
	fx_t *f = *state;
	char id[64], msg[300] = "";
	pl_job_meta_t meta;
	hold(f, "carol", "c", "data", id);
	assert_int_equal(pl_jobstore_claim(f->store, id, 0, &meta, NULL), 0);
	release(f, "P1", id);
	assert_int_equal(job_result(f, msg, sizeof(msg)), PL_STATUS_BUSY);
	assert_string_equal(msg, "already being released");
	pl_jobstore_unclaim(f->store, id, 0);
	release(f, "NOPE", id);
	assert_int_equal(job_result(f, msg, sizeof(msg)), PL_STATUS_NOTFOUND);
	assert_string_equal(msg, "unknown printer");
	assert_int_equal(f->nevents, 0);
	pthread_mutex_lock(&f->rec.mu);
	assert_int_equal(f->rec.jobs, 0);
	pthread_mutex_unlock(&f->rec.mu);
}

/* Deleted on request, reported without the title when report_titles is
 * off; a second delete finds nothing. */
static void test_delete(void **state)
{
	fx_t *f = *state;
	char id[64], msg[300] = "";
	pl_msg_t m;
	pl_job_meta_t meta;
	hold(f, "dave", "private", "data", id);
	pl_holder_conf_t c = f->conf;
	c.report_titles = 0;
	pl_holder_reconfig(f->h, &c);
	for (int round = 0; round < 2; round++) {
		assert_int_equal(pl_msg_init(&m, PL_MSG_DELETE_JOBS, 0, 0), 0);
		pl_msg_add_str(&m, PL_TAG_JOB_ID, id);
		ask(f, &m);
		assert_int_equal(job_result(f, msg, sizeof(msg)),
				 round ? PL_STATUS_NOTFOUND : PL_STATUS_OK);
		assert_string_equal(msg, round ? "no such job" : "deleted");
	}
	assert_true(pl_jobstore_get(f->store, id, &meta) < 0);
	assert_int_equal(f->nevents, 1);
	assert_string_equal(f->events[0], "deleted dave  -|-");
}

static char hook_seen[512];

static void hook(void *arg, const char *event, const pl_job_meta_t *m, const char *detail)
{
	(void)arg;
	size_t n = strlen(hook_seen);
	snprintf(hook_seen + n, sizeof(hook_seen) - n, "%s %s %s;", event, m->owner,
		 detail ? detail : "-");
}

/* The event hook (OffNetwork tells its gateway what became of a job): it
 * sees every job event, also when no JOB_EVENT goes to a supervisor. */
static void test_event_hook(void **state)
{
	fx_t *f = *state;
	char id[64], msg[300] = "";
	pl_msg_t m;
	pl_err_t err;
	pl_holder_free(f->h);
	pl_holder_opts_t o = {
		.loop = f->loop, .name = "th", .store = f->store, .dir = f->dir,
		.send = send_to_sup, .send_arg = f, .events = 0, .conf = &f->conf,
		.event_hook = hook, .event_arg = f,
	};
	assert_int_equal(pl_holder_new(&f->h, &o, &err), 0);
	hook_seen[0] = '\0';
	hold(f, "erin", "t", "data", id);
	assert_int_equal(pl_msg_init(&m, PL_MSG_DELETE_JOBS, 0, 0), 0);
	pl_msg_add_str(&m, PL_TAG_JOB_ID, id);
	ask(f, &m);
	assert_int_equal(job_result(f, msg, sizeof(msg)), PL_STATUS_OK);
	assert_string_equal(hook_seen, "deleted erin -;");
	assert_int_equal(f->nevents, 0);
}

static int rec_jobs(fx_t *f)
{
	pthread_mutex_lock(&f->rec.mu);
	int n = f->rec.jobs;
	pthread_mutex_unlock(&f->rec.mu);
	return n;
}

/* A secure job (submitted for P1) is refused at P2, unclaimed and still
 * held; the administrator's override prints it there, and says so in the
 * job event; a pull job prints anywhere. */
static void test_secure_and_pull(void **state)
{
	fx_t *f = *state;
	char sec[64], pull[64], msg[300] = "";
	pl_job_meta_t meta;
	pl_msg_t m;
	add_printer(f, "P2", f->rec.port); /* the same recorder, another name */
	hold_for(f, "erin", "payslip", "secret", "P1", sec);
	hold(f, "erin", "menu", "lunch", pull);

	release(f, "P2", sec);
	assert_int_equal(job_result(f, msg, sizeof(msg)), PL_STATUS_CONFLICT);
	assert_string_equal(msg, "secure job for P1: release it there");
	assert_int_equal(rec_jobs(f), 0);
	assert_int_equal(f->nevents, 1);
	assert_string_equal(f->events[0], "print-failed erin P2 payslip|secure job for P1: r");
	assert_int_equal(pl_jobstore_claim(f->store, sec, 0, &meta, NULL), 0); /* not left claimed */
	pl_jobstore_unclaim(f->store, sec, 0);

	/* Answering for P2: the pull job only, and one left out. */
	assert_int_equal(pl_msg_init(&m, PL_MSG_JOBS_QUERY, 0, 0), 0);
	pl_msg_add_str(&m, PL_TAG_USER, "erin");
	pl_msg_add_str(&m, PL_TAG_RELEASE_AT, "P2");
	ask(f, &m);
	pl_frame_t fr;
	pl_field_t fl;
	char id[64] = "";
	uint32_t count = 0, elsewhere = 0;
	reply_frame(f, &fr);
	assert_int_equal(pl_frame_get_u32(&fr, PL_TAG_COUNT, &count), 0);
	assert_int_equal(count, 1);
	assert_int_equal(pl_frame_get_u32(&fr, PL_TAG_ELSEWHERE, &elsewhere), 0);
	assert_int_equal(elsewhere, 1);
	assert_int_equal(pl_frame_find(&fr, PL_TAG_JOB, &fl), 1);
	assert_int_equal(pl_find(fl.val, fl.len, PL_TAG_JOB_ID, &fl), 1);
	assert_int_equal(pl_field_str(&fl, id, sizeof(id)), 0);
	assert_string_equal(id, pull);

	release(f, "P2", pull);
	assert_int_equal(job_result(f, msg, sizeof(msg)), PL_STATUS_OK);
	assert_int_equal(rec_jobs(f), 1);

	/* The override: a malformed flag (not u8 1) is no override. */
	assert_int_equal(pl_msg_init(&m, PL_MSG_RELEASE_JOBS, 0, 0), 0);
	pl_msg_add_str(&m, PL_TAG_PRINTER, "P2");
	pl_msg_add_u32(&m, PL_TAG_ANY_PRINTER, 1);
	pl_msg_add_str(&m, PL_TAG_JOB_ID, sec);
	ask(f, &m);
	assert_int_equal(job_result(f, msg, sizeof(msg)), PL_STATUS_CONFLICT);
	assert_int_equal(pl_msg_init(&m, PL_MSG_RELEASE_JOBS, 0, 0), 0);
	pl_msg_add_str(&m, PL_TAG_PRINTER, "P2");
	pl_msg_add_u8(&m, PL_TAG_ANY_PRINTER, 1);
	pl_msg_add_str(&m, PL_TAG_ASKED_BY, "root");
	pl_msg_add_str(&m, PL_TAG_JOB_ID, sec);
	ask(f, &m);
	assert_int_equal(job_result(f, msg, sizeof(msg)), PL_STATUS_OK);
	assert_int_equal(rec_jobs(f), 2);
	assert_string_equal(f->events[f->nevents - 1],
			    "printed erin P2 payslip|override: secure job");
	settle(f);
	assert_true(pl_jobstore_get(f->store, sec, &meta) < 0);
}

static void job_file(const fx_t *f, const char *id, char *path, size_t sz)
{
	int n = snprintf(path, sz, "%s/jobs/%.32s.job", f->base, id);
	assert_true(n > 0 && (size_t)n < sz);
}

static int file_exists(const fx_t *f, const char *id)
{
	char path[PATH_MAX + 64];
	job_file(f, id, path, sizeof(path));
	return access(path, F_OK) == 0;
}

static void pattern(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)((i * 2654435761u + seed) >> 13);
}

/* What the printer gets is what was held, byte for byte: jobs read whole
 * into memory (one decryption; up to 1 MiB, across several chunks) and a
 * larger one, streamed after its check. */
static void test_release_content_identical(void **state)
{
	fx_t *f = *state;
	const size_t sizes[] = { 1, 70000, 1024 * 1024, 1536 * 1024 + 3 };
	uint8_t *data = malloc(sizes[3]);
	char id[64], msg[300] = "";
	assert_non_null(data);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		pattern(data, sizes[i], (unsigned)i);
		hold_len(f, "frank", "doc", data, sizes[i], "", id);
		release(f, "P1", id);
		assert_int_equal(job_result(f, msg, sizeof(msg)), PL_STATUS_OK);
		pthread_mutex_lock(&f->rec.mu);
		assert_int_equal(f->rec.jobs, (int)i + 1);
		assert_int_equal(f->rec.last_len, sizes[i]);
		assert_memory_equal(f->rec.last, data, sizes[i]);
		pthread_mutex_unlock(&f->rec.mu);
	}
	settle(f);
	free(data);
}

/* A damaged small job: set aside, answered "damaged", and the printer
 * never even sees a connection for it, let alone a byte (the job is
 * verified before the connect). The printer takes connections in turn,
 * so once the next job is recorded, any earlier one would have been. */
static void test_damaged_never_connects(void **state)
{
	fx_t *f = *state;
	char bad[64], good[64], msg[300] = "", path[PATH_MAX + 64];
	uint8_t data[5000];
	pattern(data, sizeof(data), 7);
	hold_len(f, "gina", "bad", data, sizeof(data), "", bad);
	hold(f, "gina", "good", "all fine", good);
	job_file(f, bad, path, sizeof(path));
	int fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	uint8_t c;
	assert_int_equal(pread(fd, &c, 1, 80 + 4 + 4000), 1); /* a data byte */
	c ^= 0x10;
	assert_int_equal(pwrite(fd, &c, 1, 80 + 4 + 4000), 1);
	close(fd);

	release(f, "P1", bad);
	assert_int_equal(job_result(f, msg, sizeof(msg)), PL_STATUS_INTEGRITY);
	assert_non_null(strstr(msg, "damaged"));
	release(f, "P1", good);
	assert_int_equal(job_result(f, msg, sizeof(msg)), PL_STATUS_OK);
	pthread_mutex_lock(&f->rec.mu);
	assert_int_equal(f->rec.jobs, 1);
	assert_int_equal(f->rec.bytes, strlen("all fine"));
	pthread_mutex_unlock(&f->rec.mu);
	settle(f);
	pl_job_meta_t meta;
	assert_true(pl_jobstore_get(f->store, bad, &meta) < 0);
	strcat(path, ".corrupt");
	assert_int_equal(access(path, F_OK), 0);
}

/* Shreds wait for the print pool to be idle and then go in one batch:
 * while one release is still at a (gated) printer, a job printed
 * meanwhile is out of every listing but its file is still there; a crash
 * now (a second open of the store sees what a restart would) shreds it at
 * start, never offers it, and holds the unfinished release as maybe-
 * printed. Once the gate opens and the pool is idle, every printed job is
 * shredded. */
static void test_shreds_batched_when_idle(void **state)
{
	fx_t *f = *state;
	rec_t *gate = calloc(1, sizeof(*gate)); /* 2 MiB: not on the stack */
	char slow[64], fast[3][64], msg[300] = "";
	pl_msg_t m;
	pl_err_t err;
	assert_non_null(gate);
	rec_start(gate, 1);
	add_printer(f, "GATE", gate->port);
	hold(f, "hank", "slow", "the slow one", slow);
	for (int i = 0; i < 3; i++)
		hold(f, "hank", "fast", "a fast one", fast[i]);

	assert_int_equal(pl_msg_init(&m, PL_MSG_RELEASE_JOBS, 0, 0), 0);
	pl_msg_add_str(&m, PL_TAG_PRINTER, "GATE");
	pl_msg_add_str(&m, PL_TAG_JOB_ID, slow);
	uint32_t slow_seq = send_req(f, &m);
	/* The gated printer has every byte of it, and has not confirmed. */
	pthread_mutex_lock(&gate->mu);
	while (gate->jobs == 0)
		pthread_cond_wait(&gate->cv, &gate->mu);
	pthread_mutex_unlock(&gate->mu);

	assert_int_equal(pl_msg_init(&m, PL_MSG_RELEASE_JOBS, 0, 0), 0);
	pl_msg_add_str(&m, PL_TAG_PRINTER, "P1");
	for (int i = 0; i < 3; i++)
		pl_msg_add_str(&m, PL_TAG_JOB_ID, fast[i]);
	ask(f, &m);
	assert_int_equal(job_result(f, msg, sizeof(msg)), PL_STATUS_OK);
	assert_int_equal(rec_jobs(f), 3);
	pl_job_meta_t *list = NULL;
	size_t n = 9;
	assert_int_equal(pl_jobstore_list(f->store, "hank", &list, &n), 0);
	assert_int_equal(n, 0); /* three printed, one being released */
	free(list);
	for (int i = 0; i < 3; i++)
		assert_true(file_exists(f, fast[i])); /* waiting for the batch */

	/* "Crash" now: what a restart would find. */
	pl_jobstore_t *again = NULL;
	pl_jobstore_opts_t o = { 0 };
	char dir[PATH_MAX + 16], key[PATH_MAX + 16];
	snprintf(dir, sizeof(dir), "%s/jobs", f->base);
	snprintf(key, sizeof(key), "%s/master.key", f->base);
	o.dir = dir;
	o.master_key = key;
	assert_int_equal(pl_jobstore_open(&again, &o, &err), 0);
	assert_int_equal(pl_jobstore_printed_at_open(again), 3);
	for (int i = 0; i < 3; i++)
		assert_false(file_exists(f, fast[i]));
	assert_int_equal(pl_jobstore_list(again, "hank", &list, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(list[0].id, slow);
	assert_true(list[0].maybe_printed_ms > 0);
	free(list);
	pl_jobstore_close(again);

	rec_open_gate(gate);
	wait_reply(f, slow_seq);
	assert_int_equal(job_result(f, msg, sizeof(msg)), PL_STATUS_OK);
	settle(f);
	assert_false(file_exists(f, slow));
	assert_int_equal(pl_jobstore_list(f->store, NULL, &list, &n), 0);
	assert_int_equal(n, 0);
	free(list);
	rec_stop(gate);
	free(gate);
}

/* Many releases in flight at once (more than the print workers): every
 * printed job is shredded once the pool is idle, none is left behind. */
static void test_every_printed_job_shredded(void **state)
{
	fx_t *f = *state;
	char id[20][64];
	for (int i = 0; i < 20; i++)
		hold(f, "ivy", "many", "page", id[i]);
	for (int i = 0; i < 20; i++) {
		pl_msg_t m;
		assert_int_equal(pl_msg_init(&m, PL_MSG_RELEASE_JOBS, 0, 0), 0);
		pl_msg_add_str(&m, PL_TAG_PRINTER, "P1");
		pl_msg_add_str(&m, PL_TAG_JOB_ID, id[i]);
		send_req(f, &m);
	}
	for (int i = 0; i < 20; i++) {
		char msg[300] = "";
		wait_reply(f, 0);
		assert_int_equal(job_result(f, msg, sizeof(msg)), PL_STATUS_OK);
	}
	settle(f);
	assert_int_equal(rec_jobs(f), 20);
	for (int i = 0; i < 20; i++)
		assert_false(file_exists(f, id[i]));
}

/* RELEASE_JOBS with USER and NEWEST (the supervisor's one-holder form):
 * the holder chooses the newest job that may print and releases it. */
static void release_newest(fx_t *f, const char *user, const char *printer, int any,
			   int reprint)
{
	pl_msg_t m;
	assert_int_equal(pl_msg_init(&m, PL_MSG_RELEASE_JOBS, 0, 0), 0);
	pl_msg_add_str(&m, PL_TAG_PRINTER, printer);
	if (any) {
		pl_msg_add_u8(&m, PL_TAG_ANY_PRINTER, 1);
		pl_msg_add_str(&m, PL_TAG_ASKED_BY, "root");
	}
	if (reprint)
		pl_msg_add_u8(&m, PL_TAG_REPRINT, 1);
	pl_msg_add_str(&m, PL_TAG_USER, user);
	pl_msg_add_u8(&m, PL_TAG_NEWEST, 1);
	ask(f, &m);
}

/* The answer's u32 field tag; 0 when absent. */
static uint32_t reply_u32(const fx_t *f, uint16_t tag)
{
	pl_frame_t fr;
	uint32_t v = 0;
	reply_frame(f, &fr);
	if (pl_frame_get_u32(&fr, tag, &v) < 0)
		v = 0;
	return v;
}

/* The answer's per-job results: how many, and the first one's id. */
static int reply_jobs(const fx_t *f, char *id, size_t idsz)
{
	pl_frame_t fr;
	pl_iter_t it;
	pl_field_t fl, jf;
	int n = 0;
	reply_frame(f, &fr);
	assert_false(fr.flags & PL_FLAG_ERROR);
	assert_int_equal(reply_u32(f, PL_TAG_STATUS), PL_STATUS_OK);
	pl_iter_frame(&it, &fr);
	while (pl_iter_next(&it, &fl) == 1) {
		if (fl.tag != PL_TAG_JOB || n++)
			continue;
		assert_int_equal(pl_find(fl.val, fl.len, PL_TAG_JOB_ID, &jf), 1);
		assert_int_equal(pl_field_str(&jf, id, idsz), 0);
	}
	return n;
}

/* Secure print and maybe-printed jobs as in NEWEST's answer: at P1 the
 * newest job that may print there (the secure job for P2 and the
 * maybe-printed one passed over, and counted); nothing left: no job, the
 * counts; at P2 the secure job; REPRINT does not apply to NEWEST; a user
 * with nothing held: no job, no counts. */
static void test_release_newest_rules(void **state)
{
	fx_t *f = *state;
	char old[64], maybe[64], secure[64], id[64], msg[300] = "";
	pl_job_meta_t meta;
	add_printer(f, "P2", f->rec.port);
	hold(f, "erin", "old", "the old one", old);
	hold(f, "erin", "cut off", "maybe", maybe);
	hold_for(f, "erin", "payslip", "secret", "P2", secure);
	assert_int_equal(pl_jobstore_claim(f->store, maybe, 0, &meta, NULL), 0);
	pl_jobstore_unclaim(f->store, maybe, 1);

	release_newest(f, "erin", "P1", 0, 0);
	assert_int_equal(reply_jobs(f, id, sizeof(id)), 1);
	assert_string_equal(id, old);
	assert_int_equal(job_result(f, msg, sizeof(msg)), PL_STATUS_OK);
	assert_int_equal(reply_u32(f, PL_TAG_ELSEWHERE), 1);
	assert_int_equal(reply_u32(f, PL_TAG_MAYBE_COUNT), 1);
	pthread_mutex_lock(&f->rec.mu);
	assert_int_equal(f->rec.jobs, 1);
	assert_memory_equal(f->rec.last, "the old one", f->rec.last_len);
	pthread_mutex_unlock(&f->rec.mu);
	assert_string_equal(f->events[f->nevents - 1], "printed erin P1 old|-");

	release_newest(f, "erin", "P1", 0, 1); /* REPRINT: ignored with NEWEST */
	assert_int_equal(reply_jobs(f, id, sizeof(id)), 0);
	assert_int_equal(reply_u32(f, PL_TAG_ELSEWHERE), 1);
	assert_int_equal(reply_u32(f, PL_TAG_MAYBE_COUNT), 1);
	assert_int_equal(rec_jobs(f), 1);

	release_newest(f, "erin", "P2", 0, 0);
	assert_int_equal(reply_jobs(f, id, sizeof(id)), 1);
	assert_string_equal(id, secure);
	assert_int_equal(job_result(f, msg, sizeof(msg)), PL_STATUS_OK);
	assert_int_equal(reply_u32(f, PL_TAG_ELSEWHERE), 0);
	assert_int_equal(rec_jobs(f), 2);

	release_newest(f, "nobody", "P1", 0, 0);
	assert_int_equal(reply_jobs(f, id, sizeof(id)), 0);
	assert_int_equal(reply_u32(f, PL_TAG_ELSEWHERE), 0);
	assert_int_equal(reply_u32(f, PL_TAG_MAYBE_COUNT), 0);
	settle(f);
	assert_true(pl_jobstore_get(f->store, old, &meta) < 0);
	assert_true(pl_jobstore_get(f->store, secure, &meta) < 0);
	assert_int_equal(pl_jobstore_get(f->store, maybe, &meta), 0); /* still held */
}

/* The override takes the newest job wherever it may print, and says so;
 * an unknown printer fails the job the holder would have chosen (as a
 * release by id would); a damaged newest job is set aside and answered
 * INTEGRITY, so that the supervisor asks again and the next one prints. */
static void test_release_newest_override_damaged(void **state)
{
	fx_t *f = *state;
	char sec[64], good[64], bad[64], id[64], msg[300] = "", path[PATH_MAX + 64];
	uint8_t data[5000];
	pl_job_meta_t meta;
	hold_for(f, "gina", "payslip", "secret", "P2", sec);
	release_newest(f, "gina", "NOPE", 0, 0);
	assert_int_equal(reply_jobs(f, id, sizeof(id)), 0); /* P2's, not NOPE's */
	assert_int_equal(reply_u32(f, PL_TAG_ELSEWHERE), 1);
	release_newest(f, "gina", "NOPE", 1, 0);
	assert_int_equal(reply_jobs(f, id, sizeof(id)), 1);
	assert_string_equal(id, sec);
	assert_int_equal(job_result(f, msg, sizeof(msg)), PL_STATUS_NOTFOUND);
	assert_string_equal(msg, "unknown printer");
	release_newest(f, "gina", "P1", 1, 0);
	assert_int_equal(reply_jobs(f, id, sizeof(id)), 1);
	assert_string_equal(id, sec);
	assert_int_equal(job_result(f, msg, sizeof(msg)), PL_STATUS_OK);
	assert_string_equal(f->events[f->nevents - 1],
			    "printed gina P1 payslip|override: secure job");

	pattern(data, sizeof(data), 3);
	hold(f, "hank", "good", "fine", good);
	hold_len(f, "hank", "bad", data, sizeof(data), "", bad);
	job_file(f, bad, path, sizeof(path));
	int fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	uint8_t c;
	assert_int_equal(pread(fd, &c, 1, 80 + 4 + 4000), 1);
	c ^= 0x10;
	assert_int_equal(pwrite(fd, &c, 1, 80 + 4 + 4000), 1);
	close(fd);
	release_newest(f, "hank", "P1", 0, 0);
	assert_int_equal(reply_jobs(f, id, sizeof(id)), 1);
	assert_string_equal(id, bad);
	assert_int_equal(job_result(f, msg, sizeof(msg)), PL_STATUS_INTEGRITY);
	release_newest(f, "hank", "P1", 0, 0);
	assert_int_equal(reply_jobs(f, id, sizeof(id)), 1);
	assert_string_equal(id, good);
	assert_int_equal(job_result(f, msg, sizeof(msg)), PL_STATUS_OK);
	pthread_mutex_lock(&f->rec.mu);
	assert_int_equal(f->rec.jobs, 2);
	assert_memory_equal(f->rec.last, "fine", f->rec.last_len);
	pthread_mutex_unlock(&f->rec.mu);
	settle(f);
	assert_true(pl_jobstore_get(f->store, good, &meta) < 0);
}

static void test_not_for_the_holder(void **state)
{
	fx_t *f = *state;
	pl_msg_t m;
	pl_frame_t fr;
	size_t used;
	assert_int_equal(pl_msg_init(&m, PL_MSG_ECHO, 0, 1), 0);
	assert_int_equal(pl_msg_finish(&m), 0);
	assert_int_equal(pl_frame_parse(m.buf, m.len, PL_PROTO_DEFAULT_MAX, &fr, &used), 0);
	fr.fd = -1;
	assert_int_equal(pl_holder_message(f->h, &fr), 0);
	pl_msg_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_query_brief_and_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_query_pages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_query_page_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_query_newest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_release_prints_then_shreds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_print_keeps_job, setup, teardown),
		cmocka_unit_test_setup_teardown(test_claimed_and_unknown_printer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_secure_and_pull, setup, teardown),
		cmocka_unit_test_setup_teardown(test_release_content_identical, setup, teardown),
		cmocka_unit_test_setup_teardown(test_damaged_never_connects, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shreds_batched_when_idle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_every_printed_job_shredded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_release_newest_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_release_newest_override_damaged, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_not_for_the_holder, setup, teardown),
		cmocka_unit_test_setup_teardown(test_event_hook, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
