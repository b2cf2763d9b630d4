/* pl_pdfconv_jailed: the conversion in a pl_jail child. The input goes
 * in as a memfd (mapped read-only by the child), the PDF comes back in
 * another, followed by a trailer the parent checks before believing the
 * page count. */
#include "pl_pdfconv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pl_jail.h"
#include "pl_util.h"

#define TRAILER_MAGIC "PLPC"

typedef struct {
	pl_pdfconv_fmt_t fmt;
	pl_pdfconv_limits_t lim;
	size_t n;
} job_t;

/* In the child: fd 0 holds the input (a memfd of n bytes), fd 1 gets the
 * PDF then a trailer: "PLPC", pages (u32). */
static int child(int in, int out, void *arg)
{
	job_t *j = arg;
	char msg[160];
	uint8_t *pdf = NULL;
	size_t len = 0;
	uint32_t pages = 0;
	void *p = j->n ? mmap(NULL, j->n, PROT_READ, MAP_PRIVATE, in, 0) : NULL;
	if (p == MAP_FAILED)
		return PL_JAIL_EXIT_NOMEM;
	if (pl_pdfconv_convert(j->fmt, p, j->n, &j->lim, &pdf, &len, &pages, msg, sizeof(msg)) < 0) {
		(void)pl_write_all(2, msg, strlen(msg));
		return 1;
	}
	uint8_t tr[8];
	memcpy(tr, TRAILER_MAGIC, 4);
	memcpy(tr + 4, &pages, 4);
	if (pl_write_all(out, pdf, len) < 0 || pl_write_all(out, tr, sizeof(tr)) < 0)
		return errno == EFBIG ? PL_JAIL_EXIT_TOOBIG : 1;
	return 0;
}

int pl_pdfconv_jailed(pl_pdfconv_fmt_t fmt, const uint8_t *in, size_t n,
		      const pl_pdfconv_limits_t *lim, uint32_t cpu_s, uint32_t wall_ms,
		      uint8_t **out, size_t *out_len, uint32_t *pages, char *msg, size_t msz)
{
	job_t j = { .fmt = fmt, .n = n };
	pl_pdfconv_default_limits(lim, &j.lim);
	if (fmt == PL_PDFCONV_PDF) {
		*out = malloc(n ? n : 1);
		if (!*out) {
			(void)pl_fmt(msg, msz, "out of memory");
			return -1;
		}
		memcpy(*out, in, n);
		*out_len = n;
		*pages = 0; /* the caller counts them (pl_docinfo) */
		return 0;
	}
	int ifd = memfd_create("pdfconv-in", MFD_CLOEXEC), ofd = memfd_create("pdfconv-out", MFD_CLOEXEC);
	int rc = -1;
	uint8_t *buf = NULL;
	if (ifd < 0 || ofd < 0 || pl_write_all(ifd, in, n) < 0) {
		(void)pl_fmt(msg, msz, "memfd: %s", strerror(errno));
		goto done;
	}
	pl_jail_limits_t jl = { .cpu_s = cpu_s, .wall_ms = wall_ms,
				.fsize_bytes = j.lim.max_out_bytes + 8,
				.as_bytes = j.lim.max_out_bytes * 2 + (256ull << 20) };
	pl_jail_result_t res;
	if (pl_jail_run(&jl, ifd, ofd, child, &j, &res) < 0) {
		(void)pl_fmt(msg, msz, "conversion failed (%s)", res.msg);
		goto done;
	}
	off_t size = lseek(ofd, 0, SEEK_END);
	if (size < 8 || (uint64_t)size > j.lim.max_out_bytes + 8) {
		(void)pl_fmt(msg, msz, "conversion gave no PDF");
		goto done;
	}
	buf = malloc((size_t)size);
	if (!buf || pread(ofd, buf, (size_t)size, 0) != size) {
		(void)pl_fmt(msg, msz, "reading the PDF: %s", strerror(errno));
		goto done;
	}
	/* the child's word, checked: a trailer, a PDF, a sane page count */
	uint32_t pg;
	memcpy(&pg, buf + size - 4, 4);
	if (memcmp(buf + size - 8, TRAILER_MAGIC, 4) || memcmp(buf, "%PDF-", 5) || pg == 0 ||
	    pg > j.lim.max_pages) {
		(void)pl_fmt(msg, msz, "conversion gave no PDF");
		goto done;
	}
	*out = buf;
	*out_len = (size_t)size - 8;
	*pages = pg;
	buf = NULL;
	rc = 0;
done:
	free(buf);
	if (ifd >= 0)
		close(ifd);
	if (ofd >= 0)
		close(ofd);
	return rc;
}
