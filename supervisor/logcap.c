/* Per-service log files. The supervisor owns the read end of each
 * service's output pipe, assembles complete lines, stamps raw output (a
 * crash trace, a library's printf) with the common line format, and
 * rotates by size so that no line is ever split across two files. */
#include "sv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "pl_log.h"
#include "pl_util.h"

static int logfile_reopen(sv_logfile_t *lf)
{
	struct stat st;
	if (!lf->path)
		return -1; /* closed */
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
	memset(lf, 0, sizeof(*lf));
	lf->fd = -1;
	lf->max_bytes = max_bytes;
	lf->keep = keep;
	pl_strlcpy(lf->ident, ident, sizeof(lf->ident));
	if (strlen(path) >= PATH_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (!(lf->path = strdup(path)))
		return -1;
	return logfile_reopen(lf);
}

void sv_logfile_close(sv_logfile_t *lf)
{
	if (lf->fd >= 0)
		close(lf->fd);
	lf->fd = -1;
	free(lf->path);
	free(lf->line);
	lf->path = lf->line = NULL;
	lf->linelen = 0;
}

void sv_logfile_set_limits(sv_logfile_t *lf, uint64_t max_bytes, uint32_t keep)
{
	lf->max_bytes = max_bytes;
	lf->keep = keep;
}

int sv_logfile_rotate(sv_logfile_t *lf)
{
	char from[PATH_MAX + 16], to[PATH_MAX + 16];

	if (!lf->path)
		return -1;
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

/* len bytes in iov, rotating first if they would not fit. */
static void logfile_writev(sv_logfile_t *lf, struct iovec *iov, int niov, size_t len)
{
	if (lf->fd < 0 && logfile_reopen(lf) < 0)
		return;
	if (lf->size > 0 && lf->size + len > lf->max_bytes)
		sv_logfile_rotate(lf);
	/* The log file may have been removed or moved by an administrator;
	 * O_APPEND keeps our size estimate honest enough for rotation. A
	 * short write (a full disk) is finished by plain writes. */
	ssize_t w;
	do
		w = writev(lf->fd, iov, niov);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		return;
	lf->size += (size_t)w;
	size_t skip = (size_t)w;
	for (int i = 0; i < niov && skip < len; i++) {
		if (skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			len -= iov[i].iov_len;
			continue;
		}
		size_t left = iov[i].iov_len - skip;
		if (pl_write_all(lf->fd, (const char *)iov[i].iov_base + skip, left) < 0)
			return;
		lf->size += left;
		len -= iov[i].iov_len;
		skip = 0;
	}
}

void sv_logfile_write(sv_logfile_t *lf, const char *line, size_t len)
{
	struct iovec iov = { (void *)line, len };
	logfile_writev(lf, &iov, 1, len);
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

/* One line, one write (writev for a stamped line and its newline), so
 * lines never interleave even if someone else appends to the file. */
static void emit_line(sv_logfile_t *lf, const char *p, size_t n, long pid)
{
	if (pl_log_is_stamped(p, n)) {
		note_error(lf, p, n);
		/* Already in our format (pl_log in the child): keep as is. */
		struct iovec iov[2] = { { (void *)p, n }, { "\n", 1 } };
		logfile_writev(lf, iov, 2, n + 1);
		return;
	}
	/* Raw output (a crash trace, a library's printf): stamped here. */
	char *buf = malloc(SV_LOG_LINE_MAX + 256);
	if (!buf)
		return;
	size_t len = pl_log_format(buf, SV_LOG_LINE_MAX + 256, pl_log_now_ms(),
				   "output", lf->ident, pid, p, n);
	sv_logfile_write(lf, buf, len);
	free(buf);
}

/* Keep the start of a line that has not ended yet. */
static void hold_partial(sv_logfile_t *lf, const char *p, size_t n, long pid)
{
	while (n > 0) {
		if (!lf->line && !(lf->line = malloc(SV_LOG_LINE_MAX))) {
			/* No memory: out as it is rather than lost. */
			emit_line(lf, p, n, pid);
			return;
		}
		size_t take = SV_LOG_LINE_MAX - lf->linelen;
		if (take > n)
			take = n;
		memcpy(lf->line + lf->linelen, p, take);
		lf->linelen += take;
		p += take;
		n -= take;
		if (lf->linelen == SV_LOG_LINE_MAX) {
			/* An over-long line: write what we have as one event
			 * rather than grow without bound. */
			emit_line(lf, lf->line, lf->linelen, pid);
			lf->linelen = 0;
		}
	}
}

void sv_logfile_feed(sv_logfile_t *lf, const char *p, size_t n, long pid)
{
	while (n > 0) {
		const char *nl = memchr(p, '\n', n);
		if (!nl) {
			hold_partial(lf, p, n, pid);
			return;
		}
		size_t k = (size_t)(nl - p);
		if (lf->linelen) {
			/* The end of a line begun in an earlier read. */
			hold_partial(lf, p, k, pid);
			sv_logfile_flush(lf, pid);
		} else {
			/* A whole line in this read: straight to the file (an
			 * over-long one in pieces, as a partial one would be). */
			size_t off = 0;
			for (; k - off > SV_LOG_LINE_MAX; off += SV_LOG_LINE_MAX)
				emit_line(lf, p + off, SV_LOG_LINE_MAX, pid);
			emit_line(lf, p + off, k - off, pid);
		}
		p = nl + 1;
		n -= k + 1;
	}
}

void sv_logfile_flush(sv_logfile_t *lf, long pid)
{
	if (lf->linelen)
		emit_line(lf, lf->line, lf->linelen, pid);
	lf->linelen = 0;
	free(lf->line); /* until the next partial line */
	lf->line = NULL;
}
