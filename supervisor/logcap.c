/* Per-service log files. The supervisor owns the read end of each
 * service's output pipe, assembles complete lines, stamps raw output (a
 * crash trace, a library's printf) with the common line format, and
 * rotates by size so that no line is ever split across two files. */
#include "sv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pl_log.h"
#include "pl_util.h"

static int logfile_reopen(sv_logfile_t *lf)
{
	struct stat st;
	int fd = open(lf->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (fd < 0)
		return -1;
	if (lf->fd >= 0)
		close(lf->fd);
	lf->fd = fd;
	lf->size = (fstat(fd, &st) == 0) ? (uint64_t)st.st_size : 0;
	return 0;
}

int sv_logfile_open(sv_logfile_t *lf, const char *path, const char *ident,
		    uint64_t max_bytes, uint32_t keep)
{
	/* Field by field: the 8 KiB line buffer is not touched until a
	 * partial line needs it (resident memory with many services). */
	lf->fd = -1;
	lf->size = 0;
	lf->linelen = 0;
	lf->max_bytes = max_bytes;
	lf->keep = keep;
	pl_strlcpy(lf->ident, ident, sizeof(lf->ident));
	if (pl_fmt(lf->path, sizeof(lf->path), "%s", path) < 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return logfile_reopen(lf);
}

void sv_logfile_close(sv_logfile_t *lf)
{
	if (lf->fd >= 0)
		close(lf->fd);
	lf->fd = -1;
}

void sv_logfile_set_limits(sv_logfile_t *lf, uint64_t max_bytes, uint32_t keep)
{
	lf->max_bytes = max_bytes;
	lf->keep = keep;
}

int sv_logfile_rotate(sv_logfile_t *lf)
{
	char from[PATH_MAX + 16], to[PATH_MAX + 16];

	if (lf->keep == 0) {
		/* Nothing to keep: start the file afresh. */
		if (lf->fd >= 0 && ftruncate(lf->fd, 0) == 0)
			lf->size = 0;
		return 0;
	}
	snprintf(from, sizeof(from), "%s.%u", lf->path, lf->keep);
	unlink(from);
	for (uint32_t i = lf->keep; i > 1; i--) {
		snprintf(from, sizeof(from), "%s.%u", lf->path, i - 1);
		snprintf(to, sizeof(to), "%s.%u", lf->path, i);
		if (rename(from, to) < 0 && errno != ENOENT)
			return -1;
	}
	snprintf(to, sizeof(to), "%s.1", lf->path);
	if (rename(lf->path, to) < 0 && errno != ENOENT)
		return -1;
	return logfile_reopen(lf);
}

void sv_logfile_write(sv_logfile_t *lf, const char *line, size_t len)
{
	if (lf->fd < 0 && logfile_reopen(lf) < 0)
		return;
	if (lf->size > 0 && lf->size + len > lf->max_bytes)
		sv_logfile_rotate(lf);
	/* The log file may have been removed or moved by an administrator;
	 * O_APPEND keeps our size estimate honest enough for rotation. */
	if (pl_write_all(lf->fd, line, len) == 0)
		lf->size += len;
}

/* "<time> error NAME[pid]: message": keep the message, so that a service
 * that exits on an error can be reported with it (plsc status). Gossip:
 * a line that does not have this shape is ignored. */
static void note_error(sv_logfile_t *lf, const char *p, size_t n)
{
	const char *sp = memchr(p, ' ', n);
	if (!sp)
		return;
	size_t rest = n - (size_t)(sp + 1 - p);
	int err = rest > 6 && memcmp(sp + 1, "error ", 6) == 0;
	int crit = rest > 5 && memcmp(sp + 1, "crit ", 5) == 0;
	if (!err && !crit)
		return;
	const char *msg = memmem(sp, rest, "]: ", 3);
	if (!msg)
		return;
	msg += 3;
	size_t m = n - (size_t)(msg - p);
	if (m >= sizeof(lf->last_error))
		m = sizeof(lf->last_error) - 1;
	memcpy(lf->last_error, msg, m);
	lf->last_error[m] = '\0';
}

static void emit_line(sv_logfile_t *lf, const char *p, size_t n, long pid)
{
	char buf[SV_LOG_LINE_MAX + 256];

	if (pl_log_is_stamped(p, n)) {
		note_error(lf, p, n);
		/* Already in our format (pl_log in the child): keep as is. */
		if (n < sizeof(buf)) {
			memcpy(buf, p, n);
			buf[n] = '\n';
			sv_logfile_write(lf, buf, n + 1);
		}
		return;
	}
	size_t len = pl_log_format(buf, sizeof(buf), pl_log_now_ms(), "output",
				   lf->ident, pid, p, n);
	sv_logfile_write(lf, buf, len);
}

void sv_logfile_feed(sv_logfile_t *lf, const char *p, size_t n, long pid)
{
	while (n > 0) {
		const char *nl = memchr(p, '\n', n);
		size_t take = nl ? (size_t)(nl - p) : n;
		size_t room = sizeof(lf->line) - lf->linelen;
		if (take > room)
			take = room;
		memcpy(lf->line + lf->linelen, p, take);
		lf->linelen += take;
		p += take;
		n -= take;
		if (nl && n > 0 && *p == '\n') {
			emit_line(lf, lf->line, lf->linelen, pid);
			lf->linelen = 0;
			p++;
			n--;
		} else if (lf->linelen == sizeof(lf->line)) {
			/* An over-long line: write what we have as one event
			 * rather than grow without bound. */
			emit_line(lf, lf->line, lf->linelen, pid);
			lf->linelen = 0;
		}
	}
}

void sv_logfile_flush(sv_logfile_t *lf, long pid)
{
	if (lf->linelen) {
		emit_line(lf, lf->line, lf->linelen, pid);
		lf->linelen = 0;
	}
}
