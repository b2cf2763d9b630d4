/* The release journal, <jobs dir>/release.journal: what the store must
 * remember about a release across a crash. Claims used to live in memory
 * only, so a holder killed while printing offered the job again after its
 * restart, and it printed twice. Now a claim is a record, durable before
 * the first byte goes to a printer, and what became of the release
 * follows it:
 *
 *   C <id> <ms>\n  claimed for a release; fdatasync'ed before printing
 *   P <id> <ms>\n  the printer confirmed every byte: shred, never print
 *   M <id> <ms>\n  bytes went out, the printer did not confirm: the job
 *                  may have printed (held again, flagged)
 *   U <id> <ms>\n  handed back before any byte went out: held as before
 *
 * <ms> is 16 decimal digits, so every record is JSJ_REC_LEN bytes. At
 * open the last record of each id decides (jobstore.c): C (the holder died
 * mid-release) and M hold the job again as maybe-printed; P shreds it; U
 * changes nothing. Only C needs its fsync: a P, M or U that a power cut
 * loses leaves the C before it, which errs towards "maybe printed", never
 * towards printing twice. A torn last record is cut off at open (its claim
 * never finished, so nothing was printed), and a failed append is cut off
 * at once, so every record starts where the one before ended.
 *
 * Concurrent claims share their fsyncs (group commit, as for the jobs
 * directory). The journal is rewritten with only what is still true when
 * it grows past a bound (pl_jsj_rewrite); that takes the sync slot, so no
 * fsync ever runs on a descriptor being replaced. */
#include "jobstore-private.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pl_util.h"

#define JSJ_NAME "release.journal"
#define JSJ_TMP_NAME ".tmp-release.journal" /* removed by recovery if left */
#define JSJ_REC_LEN PL_JSJ_REC_LEN

static int jsj_fail(pl_err_t *err, int e, const char *what, const char *path)
{
	return pl_js_fail(err, PL_JS_EIO, "%s %s: %s", what, path, strerror(e));
}

int pl_jsj_open(pl_jsj_t *j, const char *dir, pl_err_t *err)
{
	memset(j, 0, sizeof(*j));
	j->fd = -1;
	if (pl_fmt(j->dir, sizeof(j->dir), "%s", dir) < 0 ||
	    pl_fmt(j->path, sizeof(j->path), "%s/" JSJ_NAME, dir) < 0)
		return pl_js_fail(err, PL_JS_EINVAL, "jobs directory path too long");
	if (pthread_mutex_init(&j->mu, NULL) != 0)
		return pl_js_fail(err, PL_JS_EIO, "cannot create a mutex");
	if (pthread_mutex_init(&j->sync_mu, NULL) != 0 ||
	    pthread_cond_init(&j->sync_cv, NULL) != 0) {
		pthread_mutex_destroy(&j->mu);
		return pl_js_fail(err, PL_JS_EIO, "cannot create a mutex");
	}
	j->inited = 1;
	j->fd = open(j->path, O_RDWR | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC,
		     0600);
	if (j->fd < 0)
		return jsj_fail(err, errno, "opening", j->path);
	struct stat st;
	if (fstat(j->fd, &st) < 0)
		return jsj_fail(err, errno, "reading", j->path);
	j->size = (uint64_t)st.st_size;
	return PL_JS_OK;
}

void pl_jsj_close(pl_jsj_t *j)
{
	if (!j->inited) /* never opened (a zeroed store) */
		return;
	if (j->fd >= 0)
		close(j->fd);
	j->fd = -1;
	pthread_mutex_destroy(&j->mu);
	pthread_mutex_destroy(&j->sync_mu);
	pthread_cond_destroy(&j->sync_cv);
	j->inited = 0;
}

/* One record: its type, a valid id, 16 digits and the newline. */
static int jsj_parse(const char *p, char *type, char *id, int64_t *ms)
{
	if (!strchr("CPMU", p[0]) || p[1] != ' ' || p[2 + PL_JOB_ID_LEN] != ' ' ||
	    p[JSJ_REC_LEN - 1] != '\n')
		return -1;
	int64_t v = 0;
	for (int i = 0; i < 16; i++) {
		char c = p[3 + PL_JOB_ID_LEN + i];
		if (c < '0' || c > '9')
			return -1;
		v = v * 10 + (c - '0');
	}
	for (int i = 0; i < PL_JOB_ID_LEN; i++) {
		char c = p[2 + i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return -1;
	}
	*type = p[0];
	memcpy(id, p + 2, PL_JOB_ID_LEN);
	id[PL_JOB_ID_LEN] = '\0';
	*ms = v;
	return 0;
}

/* Hand every well-formed record to apply, oldest first. A record that is
 * not well formed can only be the torn end of the last append before a
 * crash (appends never continue after a short write): the file is cut
 * there, and the count of bytes dropped goes to *dropped. */
int pl_jsj_replay(pl_jsj_t *j, pl_jsj_apply_fn apply, void *arg,
		  uint64_t *dropped, pl_err_t *err)
{
	char buf[JSJ_REC_LEN * 256];
	uint64_t off = 0;

	*dropped = 0;
	for (;;) {
		ssize_t n = pread(j->fd, buf, sizeof(buf), (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return jsj_fail(err, errno, "reading", j->path);
		size_t k = 0;
		for (; k + JSJ_REC_LEN <= (size_t)n; k += JSJ_REC_LEN) {
			char type, id[PL_JOB_ID_LEN + 1];
			int64_t ms;
			if (jsj_parse(buf + k, &type, id, &ms) < 0)
				break;
			apply(arg, type, id, ms);
		}
		off += k;
		if (k < (size_t)n || n == 0)
			break;
	}
	if (off < j->size) {
		*dropped = j->size - off;
		if (ftruncate(j->fd, (off_t)off) < 0)
			return jsj_fail(err, errno, "truncating", j->path);
		j->size = off;
	}
	return PL_JS_OK;
}

static void jsj_format(char *rec, char type, const char *id, int64_t ms)
{
	char tmp[JSJ_REC_LEN + 1];
	if (ms < 0)
		ms = 0;
	snprintf(tmp, sizeof(tmp), "%c %.32s %016lld\n", type, id,
		 (long long)(ms % 10000000000000000LL));
	memcpy(rec, tmp, JSJ_REC_LEN);
}

/* Append one record (j->mu held). A short write is cut back off, so the
 * next record starts where a whole one ended. */
static int jsj_append_locked(pl_jsj_t *j, const char *rec, pl_err_t *err)
{
	ssize_t w;
	do
		w = write(j->fd, rec, JSJ_REC_LEN);
	while (w < 0 && errno == EINTR);
	if (w == JSJ_REC_LEN) {
		j->size += JSJ_REC_LEN;
		return PL_JS_OK;
	}
	int e = w < 0 ? errno : ENOSPC;
	if (w > 0 && ftruncate(j->fd, (off_t)j->size) < 0)
		j->broken = 1; /* cannot keep records whole: refuse from now on */
	return jsj_fail(err, e, "writing", j->path);
}

/* Group commit: every caller needs an fdatasync that started after its
 * append. One runs at a time; whoever arrives meanwhile waits for the next
 * one, which covers them all. */
static int jsj_sync(pl_jsj_t *j, uint64_t mine, pl_err_t *err)
{
	int rc = PL_JS_OK;
	pthread_mutex_lock(&j->sync_mu);
	while (j->sync_done < mine) {
		if (j->sync_busy) {
			pthread_cond_wait(&j->sync_cv, &j->sync_mu);
			continue;
		}
		uint64_t covers = j->sync_asked;
		j->sync_busy = 1;
		int fd = j->fd; /* not replaced while sync_busy (pl_jsj_rewrite) */
		pthread_mutex_unlock(&j->sync_mu);
		int r = fdatasync(fd) < 0 ? errno : 0;
		pthread_mutex_lock(&j->sync_mu);
		j->sync_busy = 0;
		j->sync_done = covers;
		j->sync_errno = r;
		pthread_cond_broadcast(&j->sync_cv);
	}
	if (j->sync_errno)
		rc = jsj_fail(err, j->sync_errno, "syncing", j->path);
	pthread_mutex_unlock(&j->sync_mu);
	return rc;
}

int pl_jsj_append(pl_jsj_t *j, char type, const char *id, int64_t ms,
		  int sync, pl_err_t *err)
{
	char rec[JSJ_REC_LEN];
	uint64_t mine = 0;
	int rc;

	jsj_format(rec, type, id, ms);
	pthread_mutex_lock(&j->mu);
	if (j->broken)
		rc = pl_js_fail(err, PL_JS_EIO, "%s cannot be written", j->path);
	else
		rc = jsj_append_locked(j, rec, err);
	if (rc == PL_JS_OK && sync) {
		/* Numbered under j->mu, so a sync asked later covers it. */
		pthread_mutex_lock(&j->sync_mu);
		mine = ++j->sync_asked;
		pthread_mutex_unlock(&j->sync_mu);
	}
	pthread_mutex_unlock(&j->mu);
	if (rc == PL_JS_OK && sync)
		rc = jsj_sync(j, mine, err);
	return rc;
}

uint64_t pl_jsj_size(pl_jsj_t *j)
{
	pthread_mutex_lock(&j->mu);
	uint64_t s = j->size;
	pthread_mutex_unlock(&j->mu);
	return s;
}

/* Write the records emit produces to a new file, make it durable and put
 * it in place (j->mu held, and the sync slot taken). */
static int jsj_rewrite_locked(pl_jsj_t *j, pl_jsj_emit_fn emit, void *arg,
			      pl_err_t *err)
{
	char tmp[PATH_MAX];
	if (pl_fmt(tmp, sizeof(tmp), "%s/" JSJ_TMP_NAME, j->dir) < 0)
		return pl_js_fail(err, PL_JS_EINVAL, "jobs directory path too long");
	int fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_APPEND | O_NOFOLLOW |
			   O_CLOEXEC, 0600);
	if (fd < 0)
		return jsj_fail(err, errno, "creating", tmp);
	char *buf = NULL;
	size_t n = 0;
	int rc = emit(arg, &buf, &n);
	if (rc < 0)
		rc = pl_js_fail(err, PL_JS_EIO, "out of memory");
	else if ((n && pl_write_all(fd, buf, n) < 0) || fdatasync(fd) < 0 ||
		 rename(tmp, j->path) < 0)
		rc = jsj_fail(err, errno, "rewriting", j->path);
	free(buf);
	if (rc < 0) {
		close(fd);
		unlink(tmp);
		return rc;
	}
	int dfd = open(j->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd) < 0)
		rc = jsj_fail(err, errno, "syncing directory", j->dir);
	if (dfd >= 0)
		close(dfd);
	/* Renamed: the new file is the journal even if the directory sync
	 * failed (the old one then comes back after a power cut, and still
	 * says nothing untrue: only more). */
	close(j->fd);
	j->fd = fd;
	j->size = n;
	j->broken = 0;
	return rc;
}

int pl_jsj_rewrite(pl_jsj_t *j, pl_jsj_emit_fn emit, void *arg, pl_err_t *err)
{
	pthread_mutex_lock(&j->mu);
	pthread_mutex_lock(&j->sync_mu);
	while (j->sync_busy)
		pthread_cond_wait(&j->sync_cv, &j->sync_mu);
	j->sync_busy = 1;
	pthread_mutex_unlock(&j->sync_mu);

	int rc = jsj_rewrite_locked(j, emit, arg, err);

	pthread_mutex_lock(&j->sync_mu);
	j->sync_busy = 0;
	if (rc == PL_JS_OK) {
		/* Everything asked so far is in the new file, synced. */
		j->sync_done = j->sync_asked;
		j->sync_errno = 0;
	}
	pthread_cond_broadcast(&j->sync_cv);
	pthread_mutex_unlock(&j->sync_mu);
	pthread_mutex_unlock(&j->mu);
	return rc;
}

int pl_jsj_record(char *out, char type, const char *id, int64_t ms)
{
	jsj_format(out, type, id, ms);
	return JSJ_REC_LEN;
}
