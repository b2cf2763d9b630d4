/* The gateway's durable record of outcomes (what the status query answers
 * once a job is gone): <state>/outcomes, one line an outcome,
 *   id TAB workstation TAB event TAB reason [TAB seq [TAB at_ms]]
 * appended and synced before the job is deleted (the router's RESULT, seq
 * 0; "offered" marks; "expired") or before a JOB_EVENT is acknowledged
 * (seq from the router). The newest line of an id is its state.
 *
 * Compaction keeps the file bounded: once it holds more than twice
 * `keep` lines (and twice what the last compaction kept), or, at most
 * hourly, its oldest line is past the age limit, it is rewritten with each id's newest line only, the newest
 * `keep` of them and up to `keep` more that are not final (a held job
 * whose later events must still find it), none older than the age limit,
 * and always those of jobs still stored. The rewrite goes to
 * outcomes.tmp, is fsynced, renamed over the record and the directory
 * fsynced: a crash at any point leaves the old file or the new one
 * (a leftover outcomes.tmp is removed at open). */
#include "gw.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pl_log.h"
#include "pl_util.h"

#define AGE_COMPACT_EVERY_MS (3600ll * 1000)

static void clean_field(char *dst, size_t size, const char *s)
{
	pl_strlcpy(dst, s ? s : "", size);
	for (char *p = dst; *p; p++)
		if ((unsigned char)*p < 0x20)
			*p = ' ';
}

/* The lines the file may grow to before a compaction: twice keep, or
 * twice what the last one kept (lines of stored jobs are kept whatever
 * keep says; doubling keeps the rewrites' cost per append constant). */
static size_t bound(const gw_oc_t *oc)
{
	return 2 * (oc->keep > oc->after ? oc->keep : oc->after);
}

/* Memory is bounded even when compaction fails (a full disk): the oldest
 * half goes from memory (they stay in the file, and a restart reads
 * them). */
static int keep_mem(gw_oc_t *oc, const gw_outcome_t *o)
{
	size_t hard = 2 * bound(oc) + 16;
	if (oc->n >= hard) {
		memmove(oc->out, oc->out + hard / 2, (oc->n - hard / 2) * sizeof(*oc->out));
		oc->n -= hard / 2;
	}
	if (oc->n == oc->cap) {
		size_t cap = oc->cap ? oc->cap * 2 : 256;
		gw_outcome_t *g = realloc(oc->out, cap * sizeof(*g));
		if (!g)
			return -1;
		oc->out = g;
		oc->cap = cap;
	}
	oc->out[oc->n++] = *o;
	return 0;
}

int gw_oc_parse_line(char *line, gw_outcome_t *o)
{
	char *f[6] = { NULL };
	memset(o, 0, sizeof(*o));
	line[strcspn(line, "\n")] = '\0';
	for (int i = 0; i < 6 && line; i++) {
		f[i] = line;
		line = strchr(line, '\t');
		if (line)
			*line++ = '\0';
	}
	if (!f[3] || strlen(f[0]) != PL_JOB_ID_LEN)
		return -1;
	if (f[4])
		o->seq = strtoull(f[4], NULL, 10);
	if (f[5])
		o->at_ms = strtoll(f[5], NULL, 10);
	pl_strlcpy(o->id, f[0], sizeof(o->id));
	pl_strlcpy(o->workstation, f[1], sizeof(o->workstation));
	pl_strlcpy(o->event, f[2], sizeof(o->event));
	pl_strlcpy(o->reason, f[3], sizeof(o->reason));
	return 0;
}

/* One line; -1 when it does not fit (it always does: the fields are
 * bounded). */
static int format_line(const gw_outcome_t *o, char *line, size_t size)
{
	int n = snprintf(line, size, "%s\t%s\t%s\t%s\t%llu\t%lld\n", o->id, o->workstation,
			 o->event, o->reason, (unsigned long long)o->seq, (long long)o->at_ms);
	return n < 0 || (size_t)n >= size ? -1 : n;
}

static int reopen_append(gw_oc_t *oc, pl_err_t *err)
{
	int fd = open(oc->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err->msg, sizeof(err->msg), "%.900s: %s", oc->path, strerror(errno));
		return -1;
	}
	if (oc->fd >= 0)
		close(oc->fd);
	oc->fd = fd;
	return 0;
}

int gw_oc_open(gw_oc_t *oc, const char *dir, size_t keep, int64_t age_ms, int64_t now_ms,
	       pl_err_t *err)
{
	char line[700];
	gw_outcome_t o;
	memset(oc, 0, sizeof(*oc));
	oc->fd = -1;
	oc->keep = keep ? keep : 1;
	oc->age_ms = age_ms;
	oc->last_age_ms = now_ms;
	if (pl_fmt(oc->path, sizeof(oc->path), "%s/outcomes", dir) < 0 ||
	    pl_fmt(oc->tmp, sizeof(oc->tmp), "%s/outcomes.tmp", dir) < 0) {
		snprintf(err->msg, sizeof(err->msg), "state dir path too long");
		return -1;
	}
	/* a compaction the last run did not finish: the record is the old
	 * file, whole */
	if (unlink(oc->tmp) == 0)
		pl_notice("outcomes: removed an unfinished compaction (%s)", oc->tmp);
	FILE *f = fopen(oc->path, "r");
	if (f) {
		while (fgets(line, sizeof(line), f)) {
			if (gw_oc_parse_line(line, &o) < 0)
				continue;
			/* written before lines had a time: they age from now */
			if (o.at_ms <= 0)
				o.at_ms = now_ms;
			if (keep_mem(oc, &o) < 0)
				break;
		}
		fclose(f);
	}
	oc->lines = oc->n;
	return reopen_append(oc, err);
}

int gw_oc_append(gw_oc_t *oc, const gw_outcome_t *in, int sync, pl_err_t *err)
{
	char line[700];
	gw_outcome_t o = *in;
	/* tabs and newlines become spaces: one line, six fields */
	clean_field(o.workstation, sizeof(o.workstation), in->workstation);
	clean_field(o.event, sizeof(o.event), in->event);
	clean_field(o.reason, sizeof(o.reason), in->reason);
	int n = format_line(&o, line, sizeof(line));
	errno = 0;
	if (n < 0 || write(oc->fd, line, (size_t)n) != n) {
		snprintf(err->msg, sizeof(err->msg), "outcomes: %s", strerror(errno ? errno : EIO));
		return -1;
	}
	oc->dirty = 1;
	oc->lines++;
	if (sync && gw_oc_sync(oc, err) < 0)
		return -1;
	(void)keep_mem(oc, &o);
	return 0;
}

int gw_oc_sync(gw_oc_t *oc, pl_err_t *err)
{
	if (!oc->dirty)
		return 0;
	if (fdatasync(oc->fd) < 0) {
		snprintf(err->msg, sizeof(err->msg), "outcomes: %s", strerror(errno));
		return -1;
	}
	oc->dirty = 0;
	return 0;
}

const gw_outcome_t *gw_oc_find(const gw_oc_t *oc, const char *id)
{
	for (size_t i = oc->n; i-- > 0;)
		if (strcmp(oc->out[i].id, id) == 0)
			return &oc->out[i];
	return NULL;
}

int gw_oc_due(const gw_oc_t *oc, int64_t now_ms)
{
	if (oc->lines > bound(oc))
		return 1;
	return oc->age_ms > 0 && oc->n > 0 && oc->out[0].at_ms + oc->age_ms < now_ms &&
	       now_ms - oc->last_age_ms >= AGE_COMPACT_EVERY_MS;
}

/* ---- compaction ---- */

static const gw_outcome_t *sort_base;

/* By id, then newest first (the later index). qsort has no argument;
 * sort_base is set for one sort on the loop thread. */
static int by_id_newest(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int c = strcmp(sort_base[x].id, sort_base[y].id);
	if (c)
		return c;
	return x < y ? 1 : x > y ? -1 : 0;
}

/* keep[i] = 1 for each line the new file holds. */
static int choose(const gw_oc_t *oc, int64_t now_ms, gw_needed_fn needed, void *arg,
		  unsigned char *keep)
{
	size_t *idx = malloc((oc->n ? oc->n : 1) * sizeof(*idx));
	unsigned char *newest = calloc(oc->n ? oc->n : 1, 1);
	if (!idx || !newest) {
		free(idx);
		free(newest);
		return -1;
	}
	for (size_t i = 0; i < oc->n; i++)
		idx[i] = i;
	sort_base = oc->out;
	qsort(idx, oc->n, sizeof(*idx), by_id_newest);
	sort_base = NULL;
	for (size_t i = 0; i < oc->n; i++)
		if (i == 0 || strcmp(oc->out[idx[i]].id, oc->out[idx[i - 1]].id) != 0)
			newest[idx[i]] = 1;
	free(idx);
	size_t kept = 0, open_extra = 0;
	for (size_t i = oc->n; i-- > 0;) {
		const gw_outcome_t *o = &oc->out[i];
		keep[i] = 0;
		if (!newest[i])
			continue;
		if (needed && needed(arg, o->id)) {
			keep[i] = 1;
			continue;
		}
		if (oc->age_ms > 0 && o->at_ms + oc->age_ms < now_ms)
			continue;
		if (kept < oc->keep) {
			keep[i] = 1;
			kept++;
		} else if (!gw_state_final(o->event) && open_extra < oc->keep) {
			keep[i] = 1;
			open_extra++;
		}
	}
	free(newest);
	return 0;
}

static int write_tmp(const gw_oc_t *oc, const unsigned char *keep, pl_err_t *err)
{
	static char buf[64 * 1024]; /* loop thread only */
	size_t used = 0;
	int fd = open(oc->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		goto fail;
	for (size_t i = 0; i < oc->n; i++) {
		if (!keep[i])
			continue;
		if (sizeof(buf) - used < 700) {
			if (pl_write_all(fd, buf, used) < 0)
				goto fail;
			used = 0;
		}
		int n = format_line(&oc->out[i], buf + used, sizeof(buf) - used);
		if (n < 0) {
			errno = EOVERFLOW;
			goto fail;
		}
		used += (size_t)n;
	}
	if (pl_write_all(fd, buf, used) < 0 || fsync(fd) < 0)
		goto fail;
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	return 0;
fail:
	snprintf(err->msg, sizeof(err->msg), "outcomes: compaction: %.900s: %s", oc->tmp,
		 strerror(errno));
	if (fd >= 0)
		close(fd);
	unlink(oc->tmp);
	return -1;
}

long gw_oc_compact(gw_oc_t *oc, int64_t now_ms, gw_needed_fn needed, void *arg, pl_err_t *err)
{
	unsigned char *keep = malloc(oc->n ? oc->n : 1);
	oc->last_age_ms = now_ms;
	if (!keep || choose(oc, now_ms, needed, arg, keep) < 0) {
		free(keep);
		snprintf(err->msg, sizeof(err->msg), "outcomes: compaction: out of memory");
		return -1;
	}
	/* what is appended meanwhile must reach the old file first: its
	 * lines are in memory and so in the new one */
	if (gw_oc_sync(oc, err) < 0 || write_tmp(oc, keep, err) < 0) {
		free(keep);
		return -1;
	}
	if (oc->pause_ms) /* tests: a kill -9 between the temp file and the rename */
		usleep(oc->pause_ms * 1000u);
	if (rename(oc->tmp, oc->path) < 0) {
		snprintf(err->msg, sizeof(err->msg), "outcomes: compaction: rename: %s",
			 strerror(errno));
		unlink(oc->tmp);
		free(keep);
		return -1;
	}
	/* Renamed: the new file is the record (once the directory is synced;
	 * before that a crash leaves the old one, whole). */
	int dsync = pl_fsync_dir_of(oc->path);
	size_t j = 0, was = oc->lines;
	for (size_t i = 0; i < oc->n; i++)
		if (keep[i])
			oc->out[j++] = oc->out[i];
	oc->n = j;
	oc->lines = j;
	oc->after = j;
	free(keep);
	if (reopen_append(oc, err) < 0)
		return -1;
	if (dsync < 0) {
		snprintf(err->msg, sizeof(err->msg), "outcomes: compaction: directory sync: %s",
			 strerror(errno));
		return -1;
	}
	return (long)(was - j);
}

void gw_oc_close(gw_oc_t *oc)
{
	if (oc->fd >= 0)
		close(oc->fd);
	oc->fd = -1;
	free(oc->out);
	oc->out = NULL;
	oc->n = oc->cap = 0;
}

int gw_state_final(const char *state)
{
	static const char *const fin[] = { "printed", "failed", "deleted", "expired",
					   "damaged" };
	for (size_t i = 0; i < PL_ARRAY_LEN(fin); i++)
		if (strcmp(state, fin[i]) == 0)
			return 1;
	return 0;
}
