/* IPP job ids that survive a restart. A phone keeps a job's id and asks
 * about it later (Get-Job-Attributes, Cancel-Job); were ids to start at 1
 * again after a restart, its old id would name someone else's new job.
 * So the ids continue: <state_dir>/job-ids holds a high-water mark, ids
 * are handed out below it, and the mark moves AP_ID_BLOCK ahead
 * (durably: tmp, fsync, rename) each time the ids reach it, so one job in
 * AP_ID_BLOCK pays for a write, not every job. A restart starts at the
 * mark: up to AP_ID_BLOCK ids are skipped, none is used twice. Past
 * AP_ID_MAX the ids wrap to 1 (jobs that old expired long ago). */
#include "ap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pl_log.h"
#include "pl_util.h"

static void ids_path(const ap_t *ap, char *buf, size_t sz)
{
	(void)pl_fmt(buf, sz, "%s/job-ids", pl_service_state_dir(ap->svc));
}

static int ids_save(ap_t *ap, int64_t mark)
{
	char path[4200], line[32];
	ids_path(ap, path, sizeof(path));
	int n = snprintf(line, sizeof(line), "%lld\n", (long long)mark);
	if (pl_write_file_atomic(path, line, (size_t)n, 0600) < 0) {
		pl_err("%s: %s: job ids cannot be kept across a restart, so no job "
		       "is taken", path, strerror(errno));
		return -1;
	}
	ap->id_mark = mark;
	return 0;
}

int ap_jobids_load(ap_t *ap)
{
	char path[4200];
	ids_path(ap, path, sizeof(path));
	size_t len = 0;
	char *s = pl_read_file(path, 64, &len);
	long long mark = 0;
	if (s) {
		char *end;
		errno = 0;
		mark = strtoll(s, &end, 10);
		if (errno || end == s || (*end && *end != '\n') || mark < 0 || mark > AP_ID_MAX) {
			pl_warn("%s: not a job id mark; ids start again after the held "
				"jobs' (ids of finished jobs may come again)", path);
			mark = 0;
		}
		free(s);
	} else if (errno != ENOENT) {
		pl_err("%s: %s", path, strerror(errno));
		return -1;
	}
	ap->next_job_id = (int)(mark >= AP_ID_MAX ? 0 : mark);
	return ids_save(ap, ap->next_job_id + AP_ID_BLOCK);
}

int ap_jobids_next(ap_t *ap)
{
	if (ap->next_job_id >= AP_ID_MAX) {
		pl_info("job ids wrap to 1 after %d", AP_ID_MAX);
		ap->next_job_id = 0;
		if (ids_save(ap, AP_ID_BLOCK) < 0)
			return -1;
	}
	if (ap->next_job_id + 1 > ap->id_mark &&
	    ids_save(ap, (int64_t)ap->next_job_id + AP_ID_BLOCK) < 0)
		return -1;
	return ++ap->next_job_id;
}
