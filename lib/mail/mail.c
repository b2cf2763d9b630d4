/* pl_mail_to_pdf: the conversion run in a pl_jail child (conv.c does the
 * work there). The child writes the PDF to the output fd, followed by a
 * fixed-size trailer (pl_mail_trailer_t) with the page count, the
 * skipped parts and the reason of a refusal; this side reads the trailer
 * back, checks it as input from a possibly compromised process (magic,
 * lengths that add up, counts within the bounds, strings terminated and
 * printable) and cuts it off the file. */
#include <errno.h>
#include <fcntl.h>
#include <iconv.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mail-private.h"
#include "pl_jail.h"
#include "pl_util.h"

/* Charsets the child may need iconv for. In the jail iconv can neither
 * read its module list nor load a module from disk; modules the parent
 * holds open at the fork are there in the child, already loaded (glibc
 * finds them by name and does not load them again). The parent opens
 * these around each conversion (about 1 ms for all of them, against
 * 20-50 ms for a conversion: glibc unloads a module a little after its
 * last close, so most are loaded again each time). A charset not here
 * is read as ISO-8859-1 by the child (text.c). */
static const char *const held_charsets[] = {
	"UTF-16", "UTF-16LE", "UTF-16BE", "UTF-7",
	"ISO-8859-2", "ISO-8859-3", "ISO-8859-4", "ISO-8859-5", "ISO-8859-6",
	"ISO-8859-7", "ISO-8859-8", "ISO-8859-9", "ISO-8859-13", "ISO-8859-16",
	"WINDOWS-1250", "WINDOWS-1251", "WINDOWS-1253", "WINDOWS-1254",
	"WINDOWS-1255", "WINDOWS-1256", "WINDOWS-1257", "WINDOWS-1258",
	"KOI8-R", "KOI8-U", "SHIFT_JIS", "CP932", "EUC-JP", "ISO-2022-JP",
	"GB2312", "GBK", "GB18030", "BIG5", "EUC-KR", "CP949", "TIS-620",
};

static void charsets_open(iconv_t held[])
{
	for (size_t i = 0; i < PL_ARRAY_LEN(held_charsets); i++)
		held[i] = iconv_open("UTF-8", held_charsets[i]);
}

static void charsets_close(iconv_t held[])
{
	for (size_t i = 0; i < PL_ARRAY_LEN(held_charsets); i++)
		if (held[i] != (iconv_t)-1)
			iconv_close(held[i]);
}

static int refused(pl_mail_result_t *r, int pdf_fd, const char *why)
{
	memset(r, 0, sizeof(*r));
	pl_strlcpy(r->reason, why, sizeof(r->reason));
	if (ftruncate(pdf_fd, 0) < 0) {
		/* nothing more to do: the caller discards the file on refusal */
	}
	return PL_MAIL_EREJECT;
}

/* A string from the child: terminated, printable (UTF-8 kept). */
static void take_string(char *dst, size_t dsz, char *src, size_t ssz)
{
	src[ssz - 1] = 0;
	for (char *p = src; *p; p++)
		if ((unsigned char)*p < 32 || *p == 127)
			*p = ' ';
	pl_strlcpy(dst, src, dsz);
}

int pl_mail_trailer_read(int pdf_fd, const pl_mail_opts_t *o, pl_mail_result_t *r)
{
	struct stat st;
	pl_mail_trailer_t t;
	if (fstat(pdf_fd, &st) < 0 || (uint64_t)st.st_size < sizeof(t))
		return refused(r, pdf_fd, "the converter gave no result");
	off_t at = st.st_size - (off_t)sizeof(t);
	if (pread(pdf_fd, &t, sizeof(t), at) != (ssize_t)sizeof(t) ||
	    memcmp(t.magic, PL_MAIL_TRAILER_MAGIC, 8) || t.pdf_len != (uint64_t)at)
		return refused(r, pdf_fd, "the converter's result is malformed");
	if (t.status != 0) {
		char why[sizeof(t.reason)];
		take_string(why, sizeof(why), t.reason, sizeof(t.reason));
		return refused(r, pdf_fd, why[0] ? why : "refused by the converter");
	}
	char head[5];
	if (t.pages == 0 || t.pages > o->max_pages || t.parts > PL_MAIL_PARTS_MAX ||
	    pread(pdf_fd, head, 5, 0) != 5 || memcmp(head, "%PDF-", 5))
		return refused(r, pdf_fd, "the converter's result is malformed");
	if (ftruncate(pdf_fd, at) < 0)
		return -1;
	memset(r, 0, sizeof(*r));
	r->pages = t.pages;
	r->parts = t.parts;
	take_string(r->skipped, sizeof(r->skipped), t.skipped, sizeof(t.skipped));
	return 0;
}

/* A read-only descriptor of the message for the child: a memfd is open
 * for writing too, and a compromised child must not change the bytes the
 * service still holds. -1 when /proc is not there (the caller's fd is
 * used then). */
static int reopen_readonly(int fd)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	int ro = open(path, O_RDONLY | O_CLOEXEC);
	if (ro >= 0 && (fcntl(ro, F_GETFL) & O_ACCMODE) != O_RDONLY) {
		close(ro);
		ro = -1;
	}
	return ro;
}

/* One jailed pass over the message (extract, or convert). */
static int jail_pass(int msg_fd, int out_fd, const pl_mail_opts_t *o, pl_mail_job_t *job,
		     pl_jail_result_t *jr)
{
	/* The PDF may be as large as what was decoded plus the pages drawn. */
	uint64_t fsize = o->max_decoded_bytes + (uint64_t)o->max_pages * (1u << 20) + (64u << 20);
	pl_jail_limits_t lim = {
		.cpu_s = o->cpu_seconds ? o->cpu_seconds : 30,
		.as_bytes = o->mem_bytes ? o->mem_bytes : (1ull << 30),
		.fsize_bytes = fsize,
		.nofile = 16,
		.wall_ms = o->wall_ms ? o->wall_ms : 60000,
	};
	iconv_t held[PL_ARRAY_LEN(held_charsets)];
	charsets_open(held);
	int ro = reopen_readonly(msg_fd);
	int jrc = pl_jail_run(&lim, ro >= 0 ? ro : msg_fd, out_fd, pl_mail_conv_child, job, jr);
	if (ro >= 0)
		close(ro);
	charsets_close(held);
	return jrc;
}

typedef struct {
	pl_mail_extout_t *v;
	unsigned n;
} extouts_t;

static void extouts_free(extouts_t *x)
{
	for (unsigned i = 0; i < x->n; i++)
		free((void *)(uintptr_t)x->v[i].pdf);
	free(x->v);
	x->v = NULL;
	x->n = 0;
}

/* The records of the extract pass (from a possibly compromised child:
 * magic, bounds, strings checked), each run through the converter. A
 * broken record list ends the list: its parts are then skipped by the
 * convert pass as "not converted". -1 out of memory. */
static int ext_convert(const pl_mail_opts_t *o, const uint8_t *m, size_t size, extouts_t *x)
{
	uint64_t budget = o->max_decoded_bytes;
	size_t at = 0;
	while (x->n < PL_MAIL_PARTS_MAX && size - at >= sizeof(pl_mail_xrec_t)) {
		pl_mail_xrec_t h;
		memcpy(&h, m + at, sizeof(h));
		at += sizeof(h);
		if (memcmp(h.magic, PL_MAIL_XREC_MAGIC, 8) || h.part >= PL_MAIL_PARTS_MAX ||
		    h.len > size - at)
			break;
		char type[sizeof(h.type)], name[sizeof(h.name)];
		take_string(type, sizeof(type), h.type, sizeof(h.type));
		take_string(name, sizeof(name), h.name, sizeof(h.name));
		const char *ext = pl_mail_ext_match(&o->ext, type, name);
		pl_mail_extout_t *v = realloc(x->v, (x->n + 1) * sizeof(*v));
		if (!v)
			return -1;
		x->v = v;
		pl_mail_extout_t *e = &v[x->n++];
		memset(e, 0, sizeof(*e));
		e->part = h.part;
		uint8_t *pdf = NULL;
		char log[256];
		if (!ext)
			pl_strlcpy(e->why, "not an external type", sizeof(e->why));
		else if (pl_mail_ext_run(&o->ext, m + at, (size_t)h.len, ext, budget, &pdf, &e->len,
					 e->why, sizeof(e->why), log, sizeof(log)) == 0) {
			e->pdf = pdf;
			budget -= e->len < budget ? e->len : budget;
		}
		at += (size_t)h.len;
	}
	return 0;
}

/* The external converter's pass: the EXT parts extracted by a jailed
 * child, each converted. 0 (x filled, maybe empty), or -1 with err. */
static int ext_pass(int msg_fd, const pl_mail_opts_t *o, extouts_t *x, pl_err_t *err)
{
	int fd = memfd_create("plsc-ext", MFD_CLOEXEC);
	if (fd < 0)
		return snprintf(err->msg, sizeof(err->msg), "memfd: %s", strerror(errno)), -1;
	pl_mail_job_t job = { .o = o, .extract = 1 };
	pl_jail_result_t jr;
	int rc = 0;
	struct stat st;
	if (jail_pass(msg_fd, fd, o, &job, &jr) == 0 && fstat(fd, &st) == 0 && st.st_size > 0) {
		void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (m == MAP_FAILED) {
			rc = -1;
			snprintf(err->msg, sizeof(err->msg), "mmap: %s", strerror(errno));
		} else {
			if (ext_convert(o, m, (size_t)st.st_size, x) < 0) {
				rc = -1;
				snprintf(err->msg, sizeof(err->msg), "out of memory");
			}
			munmap(m, (size_t)st.st_size);
		}
	}
	/* a failed extract pass is not ours to report: the convert pass
	 * meets the same message and says what is wrong with it */
	close(fd);
	if (rc < 0)
		extouts_free(x);
	return rc;
}

int pl_mail_to_pdf(int msg_fd, int pdf_fd, const pl_mail_opts_t *o,
		   pl_mail_result_t *r, pl_err_t *err)
{
	memset(r, 0, sizeof(*r));
	struct stat st;
	if (fstat(msg_fd, &st) < 0) {
		snprintf(err->msg, sizeof(err->msg), "message: fstat: %s", strerror(errno));
		return -1;
	}
	if ((uint64_t)st.st_size > o->max_message_bytes) {
		char why[96];
		snprintf(why, sizeof(why), "message over %llu bytes",
			 (unsigned long long)o->max_message_bytes);
		return refused(r, pdf_fd, why);
	}
	if (lseek(msg_fd, 0, SEEK_SET) < 0 || ftruncate(pdf_fd, 0) < 0 ||
	    lseek(pdf_fd, 0, SEEK_SET) < 0) {
		snprintf(err->msg, sizeof(err->msg), "message or PDF file: %s", strerror(errno));
		return -1;
	}
	extouts_t x = { NULL, 0 };
	if (o->ext.argc && ext_pass(msg_fd, o, &x, err) < 0)
		return -1;
	pl_mail_job_t job = { .o = o, .ext = x.v, .n_ext = x.n };
	pl_jail_result_t jr;
	int jrc = jail_pass(msg_fd, pdf_fd, o, &job, &jr);
	extouts_free(&x);
	if (jrc < 0) {
		if (jr.end == PL_JAIL_ERROR) {
			snprintf(err->msg, sizeof(err->msg), "conversion: %s", jr.msg);
			return -1;
		}
		char why[200];
		snprintf(why, sizeof(why), "conversion failed: %s", jr.msg);
		return refused(r, pdf_fd, why);
	}
	int rc = pl_mail_trailer_read(pdf_fd, o, r);
	if (rc == -1)
		snprintf(err->msg, sizeof(err->msg), "PDF file: %s", strerror(errno));
	return rc;
}
