/* JOB_EVENT from a holder -> one line of <log_dir>/job-events.jsonl.
 * The fields are typed TLVs; each string is bounded, and invalid UTF-8
 * and control characters are replaced, so whatever a compromised child
 * sends, the file stays one valid JSON object a line, with the keys and
 * meanings the console's history page reads. The line is written here
 * directly, byte for byte as Jansson's compact dump of the same object
 * would be (fuzz_jobevent checks that), without building one: a JSON
 * object per printed job was most of the supervisor's own cost of a
 * badge swipe. */
#include "jobevent.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pl_log.h"
#include "pl_util.h"
#include "sv.h"

/* Bytes a string field may have on the wire; sanitised it can grow to
 * three times that (each bad byte becomes the 3-byte U+FFFD). */
#define EV_NAME_MAX 32
#define EV_ID_MAX 64
#define EV_NAMEISH_MAX 255 /* user, workstation, printer */
#define EV_SHORT_MAX 127   /* page size, format */
#define EV_TEXT_MAX 1023   /* title, detail */
#define EV_BUF(n) ((n) * 3 + 1)
/* 9999-12-31T23:59:59.999Z: gmtime and the format stay in range. */
#define EV_TIME_MAX 253402300799999ull

static const char *const ev_names[] = {
	"held", "printed", "print-failed", "expired", "deleted", "refused",
	"maybe-printed", "damaged",
	/* PrinterLogicServiceEmail: a message refused */
	"rejected",
	/* PrinterLogicServiceSNMP: an alert raised or cleared (PRINTER, DETAIL) */
	"printer-alert", "printer-alert-cleared", NULL
};

typedef struct {
	char time[40];
	char event[EV_BUF(EV_NAME_MAX)];
	char job_id[EV_BUF(EV_ID_MAX)];
	char user[EV_BUF(EV_NAMEISH_MAX)];
	char workstation[EV_BUF(EV_NAMEISH_MAX)];
	char printer[EV_BUF(EV_NAMEISH_MAX)];
	char title[EV_BUF(EV_TEXT_MAX)];
	char page_size[EV_BUF(EV_SHORT_MAX)];
	char format[EV_BUF(EV_SHORT_MAX)];
	char detail[EV_BUF(EV_TEXT_MAX)];
	int has_job_id, has_title, has_detail;
	uint32_t pages;
	uint64_t size;
} ev_t;

/* Length of the valid UTF-8 sequence at p (code point in *cp), 0 if the
 * bytes are not one: overlong forms and surrogates included. */
static size_t utf8_seq(const uint8_t *p, size_t n, uint32_t *cp)
{
	uint8_t c = p[0];
	size_t len;
	uint32_t v, min;
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf)
		len = 2, v = c & 0x1fu, min = 0x80;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, v = c & 0x0fu, min = 0x800;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, v = c & 0x07u, min = 0x10000;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (p[i] & 0x3fu);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return len;
}

static int is_control(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

/* Copy the bytes, each invalid sequence or control character (NUL
 * included) as U+FFFD. out holds EV_BUF(n). */
static void sanitize(const uint8_t *p, size_t n, char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < n;) {
		uint32_t cp = 0;
		size_t k = utf8_seq(p + i, n - i, &cp);
		if (k == 0 || is_control(cp)) {
			memcpy(out + o, "\xEF\xBF\xBD", 3);
			o += 3;
			i += k ? k : 1;
			continue;
		}
		memcpy(out + o, p + i, k);
		o += k;
		i += k;
	}
	out[o] = '\0';
}

/* 1 copied, 0 absent (out is ""), -1 longer than max bytes. */
static int ev_text(const pl_frame_t *f, uint16_t tag, size_t max, char *out,
		   const char *name, char *why, size_t whysz)
{
	pl_field_t fl;
	out[0] = '\0';
	if (pl_frame_find(f, tag, &fl) != 1)
		return 0;
	if (fl.len > max) {
		(void)pl_fmt(why, whysz, "%s of %u bytes (at most %zu)", name, fl.len, max);
		return -1;
	}
	sanitize(fl.val, fl.len, out);
	return 1;
}

/* 0 with *v (0 when absent), -1 when the field has the wrong size. */
static int ev_u64(const pl_frame_t *f, uint16_t tag, uint64_t *v,
		  const char *name, char *why, size_t whysz)
{
	pl_field_t fl;
	*v = 0;
	if (pl_frame_find(f, tag, &fl) != 1)
		return 0;
	if (pl_field_u64(&fl, v) < 0) {
		(void)pl_fmt(why, whysz, "%s is not a u64", name);
		return -1;
	}
	return 0;
}

static int ev_known(const char *name)
{
	for (int i = 0; ev_names[i]; i++)
		if (strcmp(ev_names[i], name) == 0)
			return 1;
	return 0;
}

/* 2026-11-28T07:23:20.903Z, as the services stamped it before. */
static void iso_time(char *buf, size_t sz, uint64_t ms)
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;
	buf[0] = '\0';
	if (!gmtime_r(&s, &tm))
		return;
	size_t n = strftime(buf, sz, "%Y-%m-%dT%H:%M:%S", &tm);
	if (n && n + 6 < sz)
		snprintf(buf + n, sz - n, ".%03dZ", (int)(ms % 1000));
}

static int ev_strings(const pl_frame_t *f, ev_t *e, char *why, size_t whysz)
{
	int rc;
	if (ev_text(f, PL_TAG_EVENT, EV_NAME_MAX, e->event, "event", why, whysz) < 0 ||
	    (rc = ev_text(f, PL_TAG_JOB_ID, EV_ID_MAX, e->job_id, "job id", why, whysz)) < 0)
		return -1;
	e->has_job_id = rc;
	if (ev_text(f, PL_TAG_USER, EV_NAMEISH_MAX, e->user, "user", why, whysz) < 0 ||
	    ev_text(f, PL_TAG_WORKSTATION, EV_NAMEISH_MAX, e->workstation, "workstation",
		    why, whysz) < 0 ||
	    ev_text(f, PL_TAG_PRINTER, EV_NAMEISH_MAX, e->printer, "printer", why, whysz) < 0 ||
	    (rc = ev_text(f, PL_TAG_TITLE, EV_TEXT_MAX, e->title, "title", why, whysz)) < 0)
		return -1;
	e->has_title = rc;
	if (ev_text(f, PL_TAG_PAGE_SIZE, EV_SHORT_MAX, e->page_size, "page size", why,
		    whysz) < 0 ||
	    ev_text(f, PL_TAG_FORMAT, EV_SHORT_MAX, e->format, "format", why, whysz) < 0 ||
	    (rc = ev_text(f, PL_TAG_DETAIL, EV_TEXT_MAX, e->detail, "detail", why, whysz)) < 0)
		return -1;
	e->has_detail = rc;
	return 0;
}

static int ev_numbers(const pl_frame_t *f, ev_t *e, char *why, size_t whysz)
{
	pl_field_t fl;
	uint64_t ms;
	e->pages = 0;
	if (pl_frame_find(f, PL_TAG_PAGES, &fl) == 1 && pl_field_u32(&fl, &e->pages) < 0) {
		(void)pl_fmt(why, whysz, "pages is not a u32");
		return -1;
	}
	if (ev_u64(f, PL_TAG_SIZE, &e->size, "size", why, whysz) < 0 ||
	    ev_u64(f, PL_TAG_TIME_MS, &ms, "time", why, whysz) < 0)
		return -1;
	if (e->size > INT64_MAX || ms > EV_TIME_MAX) {
		(void)pl_fmt(why, whysz, "size or time out of range");
		return -1;
	}
	/* A service that sent no time: when it reached us. */
	iso_time(e->time, sizeof(e->time), ms ? ms : (uint64_t)pl_log_now_ms());
	return 0;
}

static int ev_parse(const pl_frame_t *f, ev_t *e, char *why, size_t whysz)
{
	if (ev_strings(f, e, why, whysz) < 0 || ev_numbers(f, e, why, whysz) < 0)
		return -1;
	if (!ev_known(e->event)) {
		(void)pl_fmt(why, whysz, "unknown event \"%s\"", e->event);
		return -1;
	}
	return 0;
}

/* The line being written: cap is reserved up front (ev_line_cap). */
typedef struct {
	char *p;
	size_t len;
} jb_t;

static void jb_raw(jb_t *b, const char *s)
{
	size_t n = strlen(s);
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

/* A JSON string as Jansson writes it: '"' and '\' escaped, control
 * characters as their short escape or \u00XX (sanitize leaves none, but
 * the escaper does not rely on that); UTF-8 as it is. */
static void jb_str(jb_t *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	b->p[b->len++] = '"';
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		const char *esc = NULL;
		switch (*c) {
		case '"': esc = "\\\""; break;
		case '\\': esc = "\\\\"; break;
		case '\b': esc = "\\b"; break;
		case '\f': esc = "\\f"; break;
		case '\n': esc = "\\n"; break;
		case '\r': esc = "\\r"; break;
		case '\t': esc = "\\t"; break;
		}
		if (esc) {
			jb_raw(b, esc);
		} else if (*c < 0x20) {
			char u[7] = { '\\', 'u', '0', '0', hex[*c >> 4], hex[*c & 15], 0 };
			jb_raw(b, u);
		} else {
			b->p[b->len++] = (char)*c;
		}
	}
	b->p[b->len++] = '"';
}

/* ,"key":"value" */
static void jb_kv(jb_t *b, const char *key, const char *val)
{
	b->p[b->len++] = ',';
	jb_str(b, key);
	b->p[b->len++] = ':';
	jb_str(b, val);
}

static void jb_knum(jb_t *b, const char *key, uint64_t v, int null_if_0)
{
	char num[24];
	snprintf(num, sizeof(num), "%llu", (unsigned long long)v);
	b->p[b->len++] = ',';
	jb_str(b, key);
	b->p[b->len++] = ':';
	jb_raw(b, null_if_0 && v == 0 ? "null" : num);
}

/* Room for the line: every string escaped at its worst (6 bytes for a
 * control byte, twice its length otherwise), keys, punctuation, numbers. */
static size_t ev_line_cap(const ev_t *e, const char *svc)
{
	const char *s[] = { e->time, e->event, e->job_id, e->user, e->workstation,
			    e->printer, e->title, e->page_size, e->format, e->detail,
			    svc };
	size_t n = 512;
	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
		n += 6 * strlen(s[i]);
	return n;
}

/* The keys and their order are those of the JSON the services sent
 * before; the optional ones are left out when absent. Pages 0 is "not
 * known" (no document prints no page): null. */
static char *ev_line(const ev_t *e, const char *svc)
{
	jb_t b = { .p = malloc(ev_line_cap(e, svc)), .len = 0 };
	if (!b.p)
		return NULL;
	b.p[b.len++] = '{';
	jb_str(&b, "time");
	b.p[b.len++] = ':';
	jb_str(&b, e->time);
	jb_kv(&b, "event", e->event);
	if (e->has_job_id)
		jb_kv(&b, "job_id", e->job_id);
	jb_kv(&b, "user", e->user);
	jb_kv(&b, "workstation", e->workstation);
	jb_kv(&b, "printer", e->printer);
	if (e->has_title)
		jb_kv(&b, "title", e->title);
	jb_kv(&b, "page_size", e->page_size);
	jb_knum(&b, "pages", e->pages, 1);
	jb_knum(&b, "size", e->size, 0);
	jb_kv(&b, "format", e->format);
	if (e->has_detail)
		jb_kv(&b, "detail", e->detail);
	jb_kv(&b, "service", svc);
	b.p[b.len++] = '}';
	b.p[b.len] = '\0';
	return b.p;
}

char *sv_jobevent_line(const pl_frame_t *f, const char *service, char *why,
		       size_t whysz)
{
	ev_t *e = calloc(1, sizeof(*e)); /* about 8 KiB: not on the stack */
	char svc[EV_BUF(SV_NAME_MAX)];
	if (!e) {
		(void)pl_fmt(why, whysz, "out of memory");
		return NULL;
	}
	if (ev_parse(f, e, why, whysz) < 0) {
		free(e);
		return NULL;
	}
	sanitize((const uint8_t *)service, strnlen(service, SV_NAME_MAX), svc);
	char *line = ev_line(e, svc);
	free(e);
	if (!line)
		(void)pl_fmt(why, whysz, "out of memory");
	return line;
}

static void events_append(sv_sup_t *sup, char *line)
{
	/* Rotated by size like the logs (log_max_bytes, log_keep), whole
	 * lines only: job-events.jsonl.1 ... */
	if (!sup->events_open) {
		char path[PATH_MAX];
		if (pl_fmt(path, sizeof(path), "%s/job-events.jsonl", sup->cfg.log_dir) == 0 &&
		    sv_logfile_open(&sup->events, path, "job-events", sup->cfg.log_max_bytes,
				    sup->cfg.log_keep) == 0)
			sup->events_open = 1;
		else
			pl_err("cannot open job-events.jsonl: %s", strerror(errno));
	}
	size_t n = strlen(line);
	line[n] = '\n'; /* one write() per event: lines never interleave */
	if (sup->events_open)
		sv_logfile_write(&sup->events, line, n + 1);
}

void sv_jobevent(sv_sup_t *sup, sv_svc_t *from, const pl_frame_t *f)
{
	char why[160];
	char *line = sv_jobevent_line(f, from->conf.name, why, sizeof(why));
	if (!line) {
		pl_warn("%s: job event refused: %s", from->conf.name, why);
		return;
	}
	events_append(sup, line);
	free(line);
}
