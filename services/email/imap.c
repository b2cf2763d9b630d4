/* The IMAP thread. libetpan's calls block, so they run here, on a thread
 * of their own with a watchdog kicked at every step (a read waits at most
 * imap_timeout_s; IDLE waits in one-second slices), never on the loop.
 *
 * The mailbox folder is a queue: a message leaves it only after what it
 * asked for is durable. For each message, oldest UID first:
 *   fetch -> handle (convert; the job committed to the store, or printed,
 *   or refused) -> imap.state records the UID (fsync) -> moved to the
 *   printed or rejected folder (UID MOVE; else COPY, \Deleted and UID
 *   EXPUNGE; or with no folder, \Deleted and expunge).
 * A crash anywhere: a UID at or below last_uid is only moved again; a
 * message handled but not yet recorded is handled again, and its held job
 * is found by its idempotency key (the SHA-256 of the message) instead of
 * held twice; a direct print that began but was not recorded is not
 * printed again (state.c). A new UIDVALIDITY (the folder was recreated)
 * forgets last_uid and takes every message in the folder again, the held
 * ones deduplicated by the same key. The folder is selected again before
 * each round and each move, as the server may not say it was recreated
 * (sess_select). */
#include "em.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <libetpan/libetpan.h>

#include "pl_log.h"
#include "pl_util.h"

#define EM_SLICE_MS 1000
#define EM_MAX_UIDS 100000 /* a search answer beyond this is taken in turns */
/* What one command's answer may bring (em_conn_budget), beyond a message
 * fetched whole: a search of EM_MAX_UIDS and more, a folder's status */
#define EM_ANSWER_MAX (16u * 1024 * 1024)

typedef struct {
	em_t *em;
	mailimap *imap;
	em_conn_t *conn; /* owned by imap's stream */
	em_state_t st;
	int has_move, has_uidplus, has_idle;
} sess_t;

static int stopping(em_t *em)
{
	return atomic_load(&em->stop);
}

static void set_word(em_t *em, const char *w)
{
	pl_strlcpy(em->state_word, w, sizeof(em->state_word));
	em_status_post(em);
}

/* "LOGIN: NO [AUTHENTICATIONFAILED] ..." from the server's last answer. */
static int imap_fail(sess_t *s, int r, const char *what, pl_err_t *err)
{
	const char *resp = s->imap && s->imap->imap_response ? s->imap->imap_response : "";
	if (r == MAILIMAP_ERROR_STREAM)
		pl_fmt(err->msg, sizeof(err->msg), "%s: connection lost or timed out", what);
	else
		pl_fmt(err->msg, sizeof(err->msg), "%s failed (libetpan %d)%s%.200s", what, r,
		       resp[0] ? ": " : "", resp);
	return -1;
}

/* A secret from a file: the first line, read at each use (a token file is
 * refreshed by whoever renews the token). */
static int read_secret(const char *path, char *out, size_t sz, pl_err_t *err)
{
	size_t len;
	char *t = pl_read_file(path, sz - 1, &len);
	if (!t)
		return pl_fmt(err->msg, sizeof(err->msg), "%s: %s", path, strerror(errno)), -1;
	t[strcspn(t, "\r\n")] = 0;
	pl_strlcpy(out, t, sz);
	explicit_bzero(t, len);
	free(t);
	if (!out[0])
		return pl_fmt(err->msg, sizeof(err->msg), "%s is empty", path), -1;
	return 0;
}

static int sess_login(sess_t *s, pl_err_t *err)
{
	const em_conf_t *c = &s->em->conf;
	char secret[8192];
	int r;
	if (read_secret(c->auth == EM_AUTH_LOGIN ? c->password_file : c->token_file, secret,
			sizeof(secret), err) < 0)
		return -1;
	if (c->auth == EM_AUTH_LOGIN)
		r = mailimap_login(s->imap, c->user, secret);
	else
		r = mailimap_oauth2_authenticate(s->imap, c->user, secret);
	explicit_bzero(secret, sizeof(secret));
	if (r != MAILIMAP_NO_ERROR)
		return imap_fail(s, r, c->auth == EM_AUTH_LOGIN ? "LOGIN" : "AUTHENTICATE XOAUTH2",
				 err);
	struct mailimap_capability_data *cap = NULL;
	if (mailimap_capability(s->imap, &cap) == MAILIMAP_NO_ERROR)
		mailimap_capability_data_free(cap);
	s->has_idle = mailimap_has_idle(s->imap);
	s->has_move = mailimap_has_extension(s->imap, "MOVE");
	s->has_uidplus = mailimap_has_extension(s->imap, "UIDPLUS");
	return 0;
}

static int sess_connect(sess_t *s, pl_err_t *err)
{
	const em_conf_t *c = &s->em->conf;
	s->conn = em_conn_open(c, c->security == EM_SEC_TLS, s->em->wake_fd, err);
	if (!s->conn)
		return -1;
	em_conn_t *k = s->conn;
	em_conn_budget(k, EM_ANSWER_MAX); /* the greeting, the login's answers */
	mailstream *stream = em_conn_stream(k);
	if (!stream)
		return pl_fmt(err->msg, sizeof(err->msg), "out of memory"), -1;
	s->imap = mailimap_new(0, NULL);
	if (!s->imap) {
		mailstream_close(stream);
		return pl_fmt(err->msg, sizeof(err->msg), "out of memory"), -1;
	}
	int r = mailimap_connect(s->imap, stream);
	if (r != MAILIMAP_NO_ERROR_AUTHENTICATED && r != MAILIMAP_NO_ERROR_NON_AUTHENTICATED)
		return imap_fail(s, r, "greeting", err);
	if (c->security == EM_SEC_STARTTLS) {
		r = mailimap_starttls(s->imap);
		if (r != MAILIMAP_NO_ERROR)
			return imap_fail(s, r, "STARTTLS", err);
		if (em_conn_starttls(k, err) < 0)
			return -1;
	}
	return sess_login(s, err);
}

/* Folders for handled messages: created when missing (an existing one
 * answers NO, which is fine). */
static void sess_folders(sess_t *s)
{
	const em_conf_t *c = &s->em->conf;
	if (c->printed[0])
		(void)mailimap_create(s->imap, c->printed);
	if (c->rejected[0] && strcmp(c->rejected, c->printed) != 0)
		(void)mailimap_create(s->imap, c->rejected);
}

/* SELECT the folder: 0 the same folder as imap.state's, 1 another (a new
 * UIDVALIDITY: logged here, once, and last_uid forgotten), -1 an error.
 * Done again before each round and each move, for a fresh view: Dovecot
 * tells a session nothing when its folder is deleted and made again, and
 * the stale view may answer SEARCH with nothing for ever, or move the new
 * folder's UIDs (even while it answers NO). A STATUS would not do: it
 * answers from the stale view. */
static int sess_select(sess_t *s, pl_err_t *err)
{
	em_t *em = s->em;
	int r = mailimap_select(s->imap, em->conf.mailbox);
	if (r != MAILIMAP_NO_ERROR)
		return imap_fail(s, r, "SELECT", err);
	uint32_t v = s->imap->imap_selection_info ? s->imap->imap_selection_info->sel_uidvalidity
						   : 0;
	if (em_state_load(pl_service_state_dir(em->svc), &s->st, err) < 0)
		return -1;
	uint32_t mbox = em_state_mbox(&em->conf);
	if (s->st.uidvalidity != v || s->st.mbox != mbox) {
		if (s->st.uidvalidity && s->st.mbox != mbox)
			pl_warn("mailbox %s@%s %s: not the mailbox of imap.state: every message "
				"in it is taken (held jobs are not held twice)", em->conf.user,
				em->conf.host, em->conf.mailbox);
		else if (s->st.uidvalidity)
			pl_warn("mailbox %s: UIDVALIDITY changed from %u to %u: every message "
				"in it is taken again (held jobs are not held twice)",
				em->conf.mailbox, s->st.uidvalidity, v);
		memset(&s->st, 0, sizeof(s->st));
		s->st.uidvalidity = v;
		s->st.mbox = mbox;
		pl_strlcpy(s->st.last_dest, "printed", sizeof(s->st.last_dest));
		if (em_state_save(pl_service_state_dir(em->svc), &s->st, err) < 0)
			return -1;
		return 1;
	}
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* Every UID in the folder, ascending. */
static int sess_search(sess_t *s, uint32_t **uids, size_t *n, pl_err_t *err)
{
	clist *res = NULL;
	em_conn_budget(s->conn, EM_ANSWER_MAX);
	struct mailimap_search_key *key = mailimap_search_key_new_all();
	int r = key ? mailimap_uid_search(s->imap, NULL, key, &res) : MAILIMAP_ERROR_MEMORY;
	if (key)
		mailimap_search_key_free(key);
	if (r != MAILIMAP_NO_ERROR)
		return imap_fail(s, r, "UID SEARCH", err);
	size_t cap = (size_t)clist_count(res), k = 0;
	if (cap > EM_MAX_UIDS)
		cap = EM_MAX_UIDS;
	*uids = calloc(cap ? cap : 1, sizeof(uint32_t));
	if (!*uids) {
		mailimap_search_result_free(res);
		return pl_fmt(err->msg, sizeof(err->msg), "out of memory"), -1;
	}
	for (clistiter *it = clist_begin(res); it && k < cap; it = clist_next(it))
		(*uids)[k++] = *(uint32_t *)clist_content(it);
	mailimap_search_result_free(res);
	qsort(*uids, k, sizeof(uint32_t), cmp_u32);
	*n = k;
	return 0;
}

/* The static item of type t in one FETCH answer for uid, or NULL. */
static struct mailimap_msg_att_static *fetch_item(clist *res, uint32_t uid, int t)
{
	for (clistiter *i = clist_begin(res); i; i = clist_next(i)) {
		struct mailimap_msg_att *ma = clist_content(i);
		struct mailimap_msg_att_static *want = NULL;
		uint32_t got = 0;
		for (clistiter *j = clist_begin(ma->att_list); j; j = clist_next(j)) {
			struct mailimap_msg_att_item *it = clist_content(j);
			if (it->att_type != MAILIMAP_MSG_ATT_ITEM_STATIC)
				continue;
			struct mailimap_msg_att_static *st = it->att_data.att_static;
			if (st->att_type == MAILIMAP_MSG_ATT_UID)
				got = st->att_data.att_uid;
			else if (st->att_type == t)
				want = st;
		}
		if (got == uid && want)
			return want;
	}
	return NULL;
}

static int sess_fetch(sess_t *s, uint32_t uid, struct mailimap_fetch_att *att, clist **res,
		      pl_err_t *err)
{
	struct mailimap_set *set = mailimap_set_new_single(uid);
	struct mailimap_fetch_type *ft = mailimap_fetch_type_new_fetch_att_list_empty();
	int r = MAILIMAP_ERROR_MEMORY;
	if (set && ft && att && mailimap_fetch_type_new_fetch_att_list_add(ft, att) == 0) {
		att = NULL;
		r = mailimap_uid_fetch(s->imap, set, ft, res);
	}
	if (att)
		mailimap_fetch_att_free(att);
	if (ft)
		mailimap_fetch_type_free(ft);
	if (set)
		mailimap_set_free(set);
	if (r != MAILIMAP_NO_ERROR)
		return imap_fail(s, r, "UID FETCH", err);
	return 0;
}

/* The message's size: 0 when it is gone (expunged by someone else). */
static int sess_size(sess_t *s, uint32_t uid, uint32_t *size, pl_err_t *err)
{
	clist *res = NULL;
	if (sess_fetch(s, uid, mailimap_fetch_att_new_rfc822_size(), &res, err) < 0)
		return -1;
	struct mailimap_msg_att_static *st = fetch_item(res, uid, MAILIMAP_MSG_ATT_RFC822_SIZE);
	*size = st ? st->att_data.att_rfc822_size : 0;
	mailimap_fetch_list_free(res);
	return 0;
}

static struct mailimap_set *one(uint32_t uid)
{
	return mailimap_set_new_single(uid);
}

static int sess_delete(sess_t *s, uint32_t uid, pl_err_t *err)
{
	struct mailimap_set *set = one(uid);
	struct mailimap_flag_list *fl = mailimap_flag_list_new_empty();
	struct mailimap_store_att_flags *sa = NULL;
	int r = MAILIMAP_ERROR_MEMORY;
	if (set && fl && mailimap_flag_list_add(fl, mailimap_flag_new_deleted()) == 0) {
		sa = mailimap_store_att_flags_new_add_flags_silent(fl);
		if (sa) {
			fl = NULL;
			r = mailimap_uid_store(s->imap, set, sa);
		}
	}
	if (r == MAILIMAP_NO_ERROR)
		r = s->has_uidplus ? mailimap_uid_expunge(s->imap, set) : mailimap_expunge(s->imap);
	if (sa)
		mailimap_store_att_flags_free(sa);
	if (fl)
		mailimap_flag_list_free(fl);
	if (set)
		mailimap_set_free(set);
	return r == MAILIMAP_NO_ERROR ? 0 : imap_fail(s, r, "STORE \\Deleted / EXPUNGE", err);
}

/* Out of the queue: into folder, or flagged and expunged (folder ""). */
static int sess_move(sess_t *s, uint32_t uid, const char *folder, pl_err_t *err)
{
	if (!folder[0])
		return sess_delete(s, uid, err);
	struct mailimap_set *set = one(uid);
	if (!set)
		return pl_fmt(err->msg, sizeof(err->msg), "out of memory"), -1;
	int r = s->has_move ? mailimap_uid_move(s->imap, set, folder)
			    : mailimap_uid_copy(s->imap, set, folder);
	mailimap_set_free(set);
	if (r != MAILIMAP_NO_ERROR)
		return imap_fail(s, r, s->has_move ? "UID MOVE" : "UID COPY", err);
	return s->has_move ? 0 : sess_delete(s, uid, err);
}

static const char *dest_folder(const em_t *em, const char *dest)
{
	return strcmp(dest, "rejected") == 0 ? em->conf.rejected : em->conf.printed;
}

static void test_pause(em_t *em, uint32_t ms, const char *what, uint32_t uid)
{
	if (!ms)
		return;
	pl_info("test hook: pausing %u ms before the %s of uid %u", ms, what, uid);
	while (ms && !stopping(em)) {
		uint32_t step = ms > 100 ? 100 : ms;
		usleep(step * 1000);
		pl_watchdog_kick(em->wd);
		ms -= step;
	}
}

/* A message too large to fetch: refused by its size alone. */
static em_done_t too_large(em_t *em, uint32_t uid, uint32_t size)
{
	char why[160];
	pl_job_meta_t m = { 0 };
	pl_strlcpy(m.workstation, EM_WORKSTATION, sizeof(m.workstation));
	pl_strlcpy(m.source, "email", sizeof(m.source));
	m.size = size;
	(void)pl_fmt(why, sizeof(why), "message of %u bytes is over max_message_mb (uid %u)", size, uid);
	pl_warn("rejected: %s", why);
	em_event(em, "rejected", &m, why);
	em->counts.rejected++;
	return EM_DONE_REJECTED;
}

static em_done_t sess_handle(sess_t *s, uint32_t uid, pl_err_t *err)
{
	em_t *em = s->em;
	uint32_t size;
	if (sess_size(s, uid, &size, err) < 0)
		return EM_DONE_RETRY;
	if (size > em->conf.mopts.max_message_bytes)
		return too_large(em, uid, size);
	clist *res = NULL;
	/* the size the server gave, as a bound on what it may now send */
	em_conn_budget(s->conn, (uint64_t)size + EM_ANSWER_MAX);
	struct mailimap_section *sec = mailimap_section_new(NULL);
	struct mailimap_fetch_att *att = sec ? mailimap_fetch_att_new_body_peek_section(sec) : NULL;
	if (!att && sec)
		mailimap_section_free(sec);
	if (sess_fetch(s, uid, att, &res, err) < 0)
		return EM_DONE_RETRY;
	struct mailimap_msg_att_static *st = fetch_item(res, uid, MAILIMAP_MSG_ATT_BODY_SECTION);
	em_done_t d;
	if (!st || !st->att_data.att_body_section->sec_body_part) {
		pl_fmt(err->msg, sizeof(err->msg), "UID FETCH %u: no message in the answer", uid);
		d = EM_DONE_RETRY;
	} else {
		em_msg_t m = {
			.uid = uid,
			.uidvalidity = s->st.uidvalidity,
			.data = (const uint8_t *)st->att_data.att_body_section->sec_body_part,
			.len = st->att_data.att_body_section->sec_length,
		};
		d = em_handle(em, &m, &s->st);
		if (d == EM_DONE_RETRY)
			pl_fmt(err->msg, sizeof(err->msg), "message uid %u: kept for a retry", uid);
	}
	mailimap_fetch_list_free(res);
	em_conn_budget(s->conn, EM_ANSWER_MAX);
	return d;
}

/* One message: handled, recorded, moved. 0 done, 1 the folder was made
 * again (selected anew, uid not moved), -1 an error. */
static int sess_one(sess_t *s, uint32_t uid, pl_err_t *err)
{
	em_t *em = s->em;
	const char *sd = pl_service_state_dir(em->svc);
	pl_watchdog_kick(em->wd);
	if (uid <= s->st.last_uid) {
		/* handled before a crash or a failed move: only the move is left */
		const char *dest = uid == s->st.last_uid ? s->st.last_dest : "printed";
		int gone = sess_select(s, err);
		return gone != 0 ? gone : sess_move(s, uid, dest_folder(em, dest), err);
	}
	em_done_t d = sess_handle(s, uid, err);
	if (d == EM_DONE_RETRY)
		return -1;
	test_pause(em, em->conf.pause_before_record_ms, "record", uid);
	s->st.last_uid = uid;
	s->st.printing = 0;
	pl_strlcpy(s->st.last_dest, d == EM_DONE_REJECTED ? "rejected" : "printed",
		   sizeof(s->st.last_dest));
	if (em_state_save(sd, &s->st, err) < 0)
		return -1;
	em_status_post(em);
	test_pause(em, em->conf.pause_before_move_ms, "move", uid);
	/* a UID of a folder made again is another message: never moved */
	int gone = sess_select(s, err);
	if (gone != 0)
		return gone;
	return sess_move(s, uid, dest_folder(em, s->st.last_dest), err);
}

/* Every message in the folder: 0 done, 1 the folder was made again (it
 * is selected anew: the caller takes a round at once), -1 an error. */
static int sess_round(sess_t *s, pl_err_t *err)
{
	uint32_t *uids = NULL;
	size_t n = 0;
	s->em->last_check_ms = (int64_t)time(NULL) * 1000;
	int gone = sess_select(s, err);
	if (gone != 0)
		return gone;
	if (sess_search(s, &uids, &n, err) < 0)
		return -1;
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0 && !stopping(s->em); i++)
		rc = sess_one(s, uids[i], err);
	free(uids);
	em_status_post(s->em);
	return rc;
}

/* Wait up to ms for the server (IDLE) or just time (fd -1); 1 data,
 * 0 time is up, -1 stop. */
static int wait_slices(sess_t *s, int fd, uint32_t ms)
{
	em_t *em = s->em;
	uint64_t end = pl_now_ms() + ms;
	for (;;) {
		pl_watchdog_kick(em->wd);
		if (stopping(em))
			return -1;
		if (fd >= 0 && (s->imap->imap_stream->read_buffer_len > 0 ||
				em_conn_pending(s->conn) > 0))
			return 1;
		uint64_t now = pl_now_ms();
		if (now >= end)
			return 0;
		uint64_t left = end - now;
		struct pollfd p[2] = { { .fd = em->wake_fd, .events = POLLIN },
				       { .fd = fd, .events = POLLIN } };
		int n = poll(p, fd >= 0 ? 2 : 1, left > EM_SLICE_MS ? EM_SLICE_MS : (int)left);
		if (n > 0 && (p[0].revents & POLLIN))
			return -1;
		if (n > 0 && fd >= 0 && p[1].revents)
			return 1;
	}
}

static int sess_idle(sess_t *s, pl_err_t *err)
{
	set_word(s->em, "idle");
	em_conn_budget(s->conn, EM_ANSWER_MAX);
	int r = mailimap_idle(s->imap);
	if (r != MAILIMAP_NO_ERROR)
		return imap_fail(s, r, "IDLE", err);
	int w = wait_slices(s, em_conn_fd(s->conn), s->em->conf.idle_renew_ms);
	r = mailimap_idle_done(s->imap);
	if (w < 0)
		return 1;
	if (r != MAILIMAP_NO_ERROR)
		return imap_fail(s, r, "IDLE DONE", err);
	return 0;
}

static int sess_poll(sess_t *s, pl_err_t *err)
{
	set_word(s->em, "polling");
	if (wait_slices(s, -1, s->em->conf.poll_ms) < 0)
		return 1;
	int r = mailimap_noop(s->imap);
	return r == MAILIMAP_NO_ERROR ? 0 : imap_fail(s, r, "NOOP", err);
}

/* One connection, until an error or stop: -1 with err, or 0 (stop). */
static int session(em_t *em, pl_err_t *err)
{
	sess_t s = { .em = em };
	int rc;
	set_word(em, "connecting");
	rc = sess_connect(&s, err);
	if (rc == 0) {
		em_conn_budget(s.conn, EM_ANSWER_MAX);
		sess_folders(&s);
		rc = sess_select(&s, err) < 0 ? -1 : 0;
	}
	if (rc == 0) {
		pl_info("mailbox %s@%s:%d %s: connected (%s%s)", em->conf.user, em->conf.host,
			em->conf.port, em->conf.mailbox, s.has_idle ? "IDLE" : "polling",
			s.has_move ? ", MOVE" : "");
		em->last_error[0] = 0;
	}
	while (rc == 0 && !stopping(em)) {
		rc = sess_round(&s, err);
		if (rc == 1) {
			rc = 0; /* a new UIDVALIDITY: the new folder's messages at once */
			continue;
		}
		if (rc == 0 && !stopping(em))
			rc = s.has_idle ? sess_idle(&s, err) : sess_poll(&s, err);
	}
	if (s.imap) {
		if (rc >= 0 && !stopping(em))
			(void)mailimap_logout(s.imap);
		mailimap_free(s.imap); /* closes the stream and the conn */
	}
	return rc < 0 ? -1 : 0;
}

static void *imap_main(void *arg)
{
	em_t *em = arg;
	uint32_t backoff = 1000;
	pl_err_t err;
	while (!stopping(em)) {
		err.msg[0] = 0;
		uint64_t t0 = pl_now_ms();
		if (session(em, &err) == 0 || stopping(em))
			continue;
		/* The same error again is not worth a line each retry. */
		if (strcmp(em->last_error, err.msg) != 0)
			pl_err("mailbox %s: %s", em->conf.host, err.msg);
		pl_strlcpy(em->last_error, err.msg, sizeof(em->last_error));
		set_word(em, "disconnected");
		if (pl_now_ms() - t0 > 30000)
			backoff = 1000; /* it worked a while: reconnect soon */
		sess_t idle = { .em = em };
		if (wait_slices(&idle, -1, backoff) < 0)
			break;
		backoff = backoff * 2 > em->conf.reconnect_max_ms ? em->conf.reconnect_max_ms
								 : backoff * 2;
	}
	pl_watchdog_park(em->wd);
	return NULL;
}

int em_imap_start(em_t *em, pl_err_t *err)
{
	em->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (em->wake_fd < 0)
		return pl_fmt(err->msg, sizeof(err->msg), "eventfd: %s", strerror(errno)), -1;
	/* Silence allowed: a conversion (its jail's wall limit) or a read that
	 * times out, with room to spare. */
	uint32_t quiet = em->conf.mopts.wall_ms + 2 * em->conf.timeout_ms + 30000;
	em->wd = pl_service_watchdog(em->svc, "imap", quiet);
	if (!em->wd)
		return pl_fmt(err->msg, sizeof(err->msg), "no watchdog left"), -1;
	int rc = pthread_create(&em->thread, NULL, imap_main, em);
	if (rc != 0)
		return pl_fmt(err->msg, sizeof(err->msg), "thread: %s", strerror(rc)), -1;
	pthread_setname_np(em->thread, "em-imap");
	em->thread_started = 1;
	return 0;
}

void em_imap_stop(em_t *em)
{
	atomic_store(&em->stop, 1);
	if (em->wake_fd >= 0) {
		uint64_t one = 1;
		ssize_t w = write(em->wake_fd, &one, sizeof(one));
		(void)w;
	}
	if (em->thread_started) {
		pthread_join(em->thread, NULL);
		em->thread_started = 0;
	}
	if (em->wake_fd >= 0)
		close(em->wake_fd);
	em->wake_fd = -1;
}

/* ---- --test (check.c) ---- */

static void check_folder(sess_t *s, const char *name, const char *what, int *bad)
{
	clist *res = NULL;
	if (!name[0]) {
		printf("ok: %s: none (handled messages are flagged and expunged)\n", what);
		return;
	}
	int r = mailimap_list(s->imap, "", name, &res);
	int found = r == MAILIMAP_NO_ERROR && res && clist_count(res) > 0;
	if (res)
		mailimap_list_result_free(res);
	if (found)
		printf("ok: %s folder \"%s\" exists\n", what, name);
	else {
		printf("note: %s folder \"%s\" does not exist; the service creates it\n", what,
		       name);
		(void)bad;
	}
}

int em_imap_check(const em_conf_t *c)
{
	static em_t em; /* large; one use */
	pl_err_t err;
	int bad = 0;
	em.conf = *c;
	em.wake_fd = -1;
	sess_t s = { .em = &em };
	printf("connecting to %s:%d (%s) ...\n", c->host, c->port,
	       c->security == EM_SEC_TLS ? "implicit TLS" : "STARTTLS");
	if (sess_connect(&s, &err) < 0) {
		printf("FAILED: %s\n", err.msg);
		bad = 1;
	} else {
		printf("ok: TLS verified (%s), logged in as %s\n",
		       c->fingerprint[0] ? "pinned fingerprint" : "CA and host name", c->user);
		printf("ok: server offers %s%s%s\n", s.has_idle ? "IDLE" : "no IDLE (polling)",
		       s.has_move ? ", MOVE" : "", s.has_uidplus ? ", UIDPLUS" : "");
		int r = mailimap_select(s.imap, c->mailbox);
		if (r != MAILIMAP_NO_ERROR) {
			imap_fail(&s, r, "SELECT", &err);
			printf("FAILED: mailbox \"%s\": %s\n", c->mailbox, err.msg);
			bad = 1;
		} else {
			printf("ok: mailbox \"%s\": %u messages waiting\n", c->mailbox,
			       s.imap->imap_selection_info ? s.imap->imap_selection_info->sel_exists
							   : 0);
			check_folder(&s, c->printed, "printed", &bad);
			check_folder(&s, c->rejected, "rejected", &bad);
		}
		(void)mailimap_logout(s.imap);
	}
	if (s.imap)
		mailimap_free(s.imap);
	if (!c->authserv[0])
		printf("warning: sender authentication is off (require_authentication false)\n");
	printf(bad ? "the mailbox is NOT usable\n" : "the mailbox is usable\n");
	return bad ? 1 : 0;
}
