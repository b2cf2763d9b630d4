/* Writes the job store behind jobstore-v1-fixture.h: one job, stored by a
 * build from before print options were sealed with the metadata (main at
 * 77b8a1c), so that test_jobstore proves such a store still opens and
 * reads. Not built by the Makefile; made once with
 *   cc -std=c11 -D_GNU_SOURCE -I/work/main/lib/jobstore -I/work/main/common \
 *      -I/work/main/proto tests/unit/gen-jobstore-v1.c \
 *      /work/main/build/obj/libpljobstore.a /work/main/build/obj/libplcommon.a \
 *      /work/main/build/obj/libplproto.a -ljansson -lcrypto -lpthread -o gen
 *   ./gen DIR && xxd -i ... (see the header). */
#include <stdio.h>
#include <string.h>

#include "pl_jobstore.h"

int main(int argc, char **argv)
{
	char jobs[4096], key[4096];
	pl_jobstore_t *js;
	pl_jobw_t *w;
	pl_job_meta_t m, out;
	pl_err_t err;
	static const char doc[] = "%PDF-1.4 stored before print options\n";

	if (argc != 2)
		return 2;
	snprintf(jobs, sizeof(jobs), "%s/jobs", argv[1]);
	snprintf(key, sizeof(key), "%s/master.key", argv[1]);
	pl_jobstore_opts_t o = { .dir = jobs, .master_key = key,
				 .expiry_ms = 100ull * 365 * 24 * 3600 * 1000 };
	if (pl_jobstore_open(&js, &o, &err) < 0)
		goto fail;
	memset(&m, 0, sizeof(m));
	strcpy(m.owner, "alice");
	strcpy(m.workstation, "airprint");
	strcpy(m.title, "old format");
	strcpy(m.format, "application/pdf");
	strcpy(m.source, "airprint");
	m.size = sizeof(doc) - 1;
	if (pl_jobstore_begin(js, &m, &w, &err) < 0 || pl_jobw_write(w, doc, m.size, &err) < 0 ||
	    pl_jobw_commit(w, NULL, 1, &out, &err) < 0)
		goto fail;
	printf("%s\n", out.id);
	pl_jobstore_close(js);
	return 0;
fail:
	fprintf(stderr, "%s\n", err.msg);
	return 1;
}
