/* Line-oriented logging to stderr (captured by the supervisor). */
#include "pl_log.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* Identity and threshold: written once in main (pl_log_init) and read
 * everywhere. This is the one piece of process-wide state we accept, as in
 * OpenBSD's log.c, because every module logs. */
static struct {
	char ident[64];
	pl_log_level_t min;
	int fd;
	int tee;
	long pid;
	int local_time; /* RFC 3339 with the local offset instead of Z */
} log_state = { "plsc", PL_LOG_INFO, 2, -1, 0, 0 };

/* Repeated notices, warnings and errors are rate-limited per call site
 * (its format string): a burst of LIMIT_BURST lines, then one every
 * LIMIT_EVERY_MS. What is dropped is counted, and the next line from that
 * site, or pl_log_flush_suppressed, says how many. A peer that sends junk
 * (400 KB of it from a badge reader made 17 MB of warnings) can no longer
 * rotate the audit trail out of the log. Info and debug lines (one per
 * job, per swipe: the audit trail itself) are not limited. Process-wide,
 * like log_state, behind a mutex: every thread logs. */
#define LIMIT_SITES 128
#define LIMIT_BURST 10
#define LIMIT_EVERY_MS 1000
#define LIMIT_SAMPLE 160

typedef struct {
	const char *fmt; /* NULL: free slot */
	pl_log_level_t level;
	double tokens;
	long long refill_ms;	 /* tokens last added */
	unsigned long dropped;	 /* since the last line from this site */
	long long first_drop_ms;
	char sample[LIMIT_SAMPLE]; /* the first dropped line, for the summary */
} limit_site_t;

static struct {
	pthread_mutex_t mu;
	limit_site_t site[LIMIT_SITES];
} limit_state = { PTHREAD_MUTEX_INITIALIZER, { { 0 } } };

static const char *const level_names[] = {
	"debug", "info", "notice", "warn", "error", "crit",
};

const char *pl_log_level_name(pl_log_level_t l)
{
	if ((unsigned)l >= sizeof(level_names) / sizeof(level_names[0]))
		return "?";
	return level_names[l];
}

int pl_log_level_parse(const char *s)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (strcmp(s, level_names[i]) == 0)
			return (int)i;
	if (strcmp(s, "warning") == 0)
		return PL_LOG_WARN;
	if (strcmp(s, "err") == 0)
		return PL_LOG_ERR;
	return -1;
}

void pl_log_init(const char *ident, pl_log_level_t min, int fd)
{
	snprintf(log_state.ident, sizeof(log_state.ident), "%s", ident);
	log_state.min = min;
	log_state.fd = fd;
	log_state.pid = (long)getpid();
}

void pl_log_set_level(pl_log_level_t min)
{
	log_state.min = min;
}

void pl_log_set_local_time(int on)
{
	/* Read the zone now: later the sandbox may forbid the files. */
	if (on)
		tzset();
	log_state.local_time = on;
}

void pl_log_set_tee(int fd)
{
	log_state.tee = fd;
}

pl_log_level_t pl_log_get_level(void)
{
	return log_state.min;
}

long long pl_log_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static size_t fmt_time(char *buf, size_t sz, long long ms)
{
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;
	char zone[8] = "Z";
	if (log_state.local_time) {
		localtime_r(&secs, &tm);
		long off = tm.tm_gmtoff / 60;
		snprintf(zone, sizeof(zone), "%c%02ld:%02ld", off < 0 ? '-' : '+',
			 (off < 0 ? -off : off) / 60 % 100, (off < 0 ? -off : off) % 60);
	} else {
		gmtime_r(&secs, &tm);
	}
	int n = snprintf(buf, sz, "%04d-%02d-%02dT%02d:%02d:%02d.%03d%s",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
			 tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000), zone);
	return n < 0 ? 0 : (size_t)n;
}

size_t pl_log_format(char *buf, size_t bufsz, long long epoch_ms,
		     const char *level, const char *ident, long pid,
		     const char *msg, size_t msglen)
{
	static const char ellipsis[] = "\xe2\x80\xa6"; /* … */
	char ts[96]; /* room for any int, to keep -Wformat-truncation quiet */
	size_t n;

	if (bufsz < 64)
		return 0;
	fmt_time(ts, sizeof(ts), epoch_ms);
	int h = snprintf(buf, bufsz, "%s %s %s[%ld]: ", ts, level, ident, pid);
	n = (h < 0) ? 0 : (size_t)h;
	if (n > bufsz - 8)
		n = bufsz - 8;
	/* Escape control characters so one event is always one line. Leave
	 * room for the ellipsis and the newline. */
	size_t room = bufsz - sizeof(ellipsis) - 1;
	for (size_t i = 0; i < msglen; i++) {
		unsigned char c = (unsigned char)msg[i];
		size_t need = (c < 0x20 || c == 0x7f) ? 4 : 1;
		if (n + need > room) {
			memcpy(buf + n, ellipsis, sizeof(ellipsis) - 1);
			n += sizeof(ellipsis) - 1;
			break;
		}
		if (need == 4) {
			if (c == '\n' && i + 1 == msglen)
				break; /* a trailing newline is ours to add */
			snprintf(buf + n, 5, "\\x%02x", c);
		} else {
			buf[n] = (char)c;
		}
		n += need;
	}
	buf[n++] = '\n';
	buf[n] = '\0';
	return n;
}

int pl_log_is_stamped(const char *s, size_t len)
{
	/* 2026-11-28T06:07:31.123Z␠ or, in local time, ...123+01:00␠ */
	static const char utc[] = "dddd-dd-ddTdd:dd:dd.dddZ ";
	static const char local[] = "dddd-dd-ddTdd:dd:dd.ddd+dd:dd ";
	const char *shape = len > 23 && s[23] != 'Z' ? local : utc;
	size_t n = strlen(shape);
	if (len < n)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (shape[i] == 'd') {
			if (s[i] < '0' || s[i] > '9')
				return 0;
		} else if (shape[i] == '+') {
			if (s[i] != '+' && s[i] != '-')
				return 0;
		} else if (s[i] != shape[i]) {
			return 0;
		}
	}
	return 1;
}

static void write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return; /* nowhere left to report it */
		}
		p += w;
		n -= (size_t)w;
	}
}

static void emit(pl_log_level_t l, const char *msg, size_t mlen)
{
	char line[PIPE_BUF]; /* one atomic write to a pipe */
	size_t n = pl_log_format(line, sizeof(line), pl_log_now_ms(),
				 pl_log_level_name(l), log_state.ident,
				 log_state.pid ? log_state.pid : (long)getpid(),
				 msg, mlen);
	write_all(log_state.fd, line, n);
	if (log_state.tee >= 0)
		write_all(log_state.tee, line, n);
}

static limit_site_t *limit_find(const char *fmt)
{
	size_t h = ((uintptr_t)fmt >> 3) % LIMIT_SITES;
	for (size_t k = 0; k < LIMIT_SITES; k++) {
		limit_site_t *e = &limit_state.site[(h + k) % LIMIT_SITES];
		if (e->fmt == fmt || e->fmt == NULL)
			return e;
	}
	return NULL; /* a full table: more sites than we expect; unlimited */
}

static void summary_text(const limit_site_t *e, long long now, char *out,
			 size_t sz)
{
	snprintf(out, sz, "(%lu more line%s like this in the last %lld s, not "
		 "logged; the first: \"%s\")", e->dropped, e->dropped == 1 ? "" : "s",
		 (now - e->first_drop_ms + 999) / 1000, e->sample);
}

/* 1: log it (with *summary filled when lines were dropped before it);
 * 0: drop it (counted). */
static int limit_pass(pl_log_level_t l, const char *fmt, const char *msg,
		      char *summary, size_t sz)
{
	long long now = pl_log_now_ms();
	int pass = 1;
	summary[0] = '\0';
	pthread_mutex_lock(&limit_state.mu);
	limit_site_t *e = limit_find(fmt);
	if (e && e->fmt == NULL) {
		e->fmt = fmt;
		e->level = l;
		e->tokens = LIMIT_BURST;
		e->refill_ms = now;
	}
	if (e) {
		e->tokens += (double)(now - e->refill_ms) / LIMIT_EVERY_MS;
		if (e->tokens > LIMIT_BURST)
			e->tokens = LIMIT_BURST;
		e->refill_ms = now;
		if (e->tokens >= 1) {
			e->tokens -= 1;
			if (e->dropped)
				summary_text(e, now, summary, sz);
			e->dropped = 0;
		} else {
			if (e->dropped++ == 0) {
				e->first_drop_ms = now;
				size_t k = strnlen(msg, sizeof(e->sample) - 1);
				memcpy(e->sample, msg, k); /* cut, as a sample */
				e->sample[k] = '\0';
			}
			pass = 0;
		}
	}
	pthread_mutex_unlock(&limit_state.mu);
	return pass;
}

void pl_log_flush_suppressed(void)
{
	long long now = pl_log_now_ms();
	for (size_t i = 0; i < LIMIT_SITES; i++) {
		char text[LIMIT_SAMPLE + 128];
		pl_log_level_t l = PL_LOG_WARN;
		text[0] = '\0';
		pthread_mutex_lock(&limit_state.mu);
		limit_site_t *e = &limit_state.site[i];
		if (e->fmt && e->dropped) {
			summary_text(e, now, text, sizeof(text));
			l = e->level;
			e->dropped = 0;
		}
		pthread_mutex_unlock(&limit_state.mu);
		if (text[0])
			emit(l, text, strlen(text));
	}
}

void pl_logv(pl_log_level_t l, const char *fmt, va_list ap)
{
	char msg[PL_LOG_LINE_MAX];
	char summary[LIMIT_SAMPLE + 128];
	int saved = errno;

	if (l < log_state.min)
		return;
	int m = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (m < 0)
		m = 0;
	size_t mlen = (size_t)m < sizeof(msg) ? (size_t)m : sizeof(msg) - 1;
	if (l >= PL_LOG_NOTICE && l < PL_LOG_CRIT &&
	    !limit_pass(l, fmt, msg, summary, sizeof(summary))) {
		errno = saved;
		return;
	}
	if (l >= PL_LOG_NOTICE && l < PL_LOG_CRIT && summary[0])
		emit(l, summary, strlen(summary));
	emit(l, msg, mlen);
	errno = saved;
}

void pl_log_unlimited(pl_log_level_t l, const char *fmt, ...)
{
	char msg[PL_LOG_LINE_MAX];
	va_list ap;
	int saved = errno;
	if (l < log_state.min)
		return;
	va_start(ap, fmt);
	int m = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (m < 0)
		m = 0;
	emit(l, msg, (size_t)m < sizeof(msg) ? (size_t)m : sizeof(msg) - 1);
	errno = saved;
}

void pl_log(pl_log_level_t l, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	pl_logv(l, fmt, ap);
	va_end(ap);
}
