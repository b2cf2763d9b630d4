/* CTL_LOGS: a service's log (or the supervisor's, or job-events.jsonl)
 * read for a control client: the last lines, or what was written since a
 * given offset of a given file (live follow). The answer is bounded, so a
 * client that asks for too much gets the newest part, never a frame over
 * the limit. The supervisor reads files it wrote itself; no network input
 * is parsed here. */
#include "sv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pl_log.h"
#include "pl_util.h"

#define LOGS_MAX_BYTES (64u * 1024u)
#define LOGS_MAX_LINES 2000u
#define LOGS_EVENTS "job-events"

/* <log_dir>/<name>.log for a service or the supervisor,
 * <log_dir>/job-events.jsonl for the job events. */
static int log_path(const sv_sup_t *sup, const char *name, char *path,
		    size_t sz)
{
	if (strcmp(name, LOGS_EVENTS) == 0)
		return pl_fmt(path, sz, "%s/job-events.jsonl", sup->cfg.log_dir);
	if (strcmp(name, SV_OWNLOG) != 0 && !sv_find((sv_sup_t *)sup, name))
		return -1;
	return pl_fmt(path, sz, "%s/%s.log", sup->cfg.log_dir, name);
}

/* The last `lines` lines of the file's last LOGS_MAX_BYTES. */
static ssize_t read_tail(int fd, off_t size, uint32_t lines, char *buf)
{
	off_t floor = size > (off_t)LOGS_MAX_BYTES ? size - LOGS_MAX_BYTES : 0;
	off_t start = pl_tail_start(fd, size, lines, floor);
	ssize_t n = pread(fd, buf, (size_t)(size - start), start);
	if (n <= 0 || start > floor || floor == 0)
		return n;
	/* Fewer lines than asked fill the window: it starts mid-line, and
	 * that partial line goes. */
	char *nl = memchr(buf, '\n', (size_t)n);
	ssize_t from = nl ? nl - buf + 1 : n;
	memmove(buf, buf + from, (size_t)(n - from));
	return n - from;
}

/* What follows `offset`, at most LOGS_MAX_BYTES, cut after the last
 * whole line when the window is full (the next call continues there). */
static ssize_t read_from(int fd, off_t size, off_t offset, char *buf)
{
	size_t want = (size_t)(size - offset);
	if (want > LOGS_MAX_BYTES)
		want = LOGS_MAX_BYTES;
	ssize_t n = pread(fd, buf, want, offset);
	if (n == (ssize_t)LOGS_MAX_BYTES) {
		char *nl = memrchr(buf, '\n', (size_t)n);
		if (nl)
			n = nl - buf + 1;
	}
	return n;
}

static void logs_reply(sv_client_t *c, uint32_t seq, const char *text, size_t n,
		       uint64_t file, uint64_t offset, int rotated)
{
	pl_msg_t m;
	if (pl_msg_init(&m, PL_MSG_RESULT, PL_FLAG_REPLY, seq) < 0)
		return;
	pl_msg_add_u32(&m, PL_TAG_STATUS, PL_STATUS_OK);
	pl_msg_add(&m, PL_TAG_TEXT, text, n);
	pl_msg_add_u64(&m, PL_TAG_FILE_ID, file);
	pl_msg_add_u64(&m, PL_TAG_OFFSET, offset);
	pl_msg_add_u8(&m, PL_TAG_ROTATED, (uint8_t)rotated);
	sv_client_send(c, &m);
	pl_msg_free(&m);
}

void sv_logs_request(sv_client_t *c, sv_sup_t *sup, const pl_frame_t *f)
{
	char name[SV_NAME_MAX], path[PATH_MAX];
	uint32_t lines = 20;
	uint64_t file = 0, offset = 0;
	int follow;

	if (pl_frame_get_str(f, PL_TAG_NAME, name, sizeof(name)) < 0) {
		sv_client_reply(c, f->seq, PL_STATUS_BADREQ, "a log request needs a NAME");
		return;
	}
	if (log_path(sup, name, path, sizeof(path)) < 0) {
		sv_client_reply(c, f->seq, PL_STATUS_NOTFOUND, "no such log: %s", name);
		return;
	}
	pl_frame_get_u32(f, PL_TAG_COUNT, &lines);
	if (lines > LOGS_MAX_LINES)
		lines = LOGS_MAX_LINES;
	follow = pl_frame_get_u64(f, PL_TAG_FILE_ID, &file) == 0 &&
		 pl_frame_get_u64(f, PL_TAG_OFFSET, &offset) == 0;

	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		logs_reply(c, f->seq, "", 0, 0, 0, follow && file != 0);
		return; /* nothing logged yet */
	}
	char *buf = malloc(LOGS_MAX_BYTES);
	if (fd < 0 || fstat(fd, &st) < 0 || !buf) {
		sv_client_reply(c, f->seq, PL_STATUS_ERROR, "cannot read %s: %s", path,
				strerror(errno));
		if (fd >= 0)
			close(fd);
		free(buf);
		return;
	}
	/* Rotated (another inode) or truncated: the new file from its start. */
	int rotated = follow && ((uint64_t)st.st_ino != file || (off_t)offset > st.st_size);
	if (rotated)
		offset = 0;
	ssize_t n = follow ? read_from(fd, st.st_size, (off_t)offset, buf)
			   : read_tail(fd, st.st_size, lines, buf);
	close(fd);
	if (n < 0) {
		sv_client_reply(c, f->seq, PL_STATUS_ERROR, "cannot read %s: %s", path,
				strerror(errno));
	} else {
		uint64_t end = follow ? offset + (uint64_t)n : (uint64_t)st.st_size;
		logs_reply(c, f->seq, buf, (size_t)n, (uint64_t)st.st_ino, end, rotated);
	}
	free(buf);
}
