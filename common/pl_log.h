/* pl_log: one line an event, in the format of DESIGN.md §4:
 *   2026-11-28T06:07:31.123Z info PrinterLogicServiceEmail[4242]: message
 * Written to stderr (which the supervisor captures into the service's log)
 * with a single write() per line so lines from concurrent writers never
 * interleave. The identity is set once in main; nothing else mutates it. */
#ifndef PL_LOG_H
#define PL_LOG_H

#include <stdarg.h>
#include <stddef.h>

typedef enum {
	PL_LOG_DEBUG = 0,
	PL_LOG_INFO,
	PL_LOG_NOTICE,
	PL_LOG_WARN,
	PL_LOG_ERR,
	PL_LOG_CRIT,
} pl_log_level_t;

#define PL_LOG_LINE_MAX 4096

/* Set the identity (name, pid taken now), the threshold and the output fd. */
void pl_log_init(const char *ident, pl_log_level_t min, int fd);
void pl_log_set_level(pl_log_level_t min);
/* Timestamps in local time with its offset (2026-11-28T07:07:31.123+01:00)
 * instead of UTC (...06:07:31.123Z). */
void pl_log_set_local_time(int on);
/* Add a second output (the supervisor logs to its file and a tty). -1 = none. */
void pl_log_set_tee(int fd);
pl_log_level_t pl_log_get_level(void);
/* "debug", "info", ...; parse returns -1 for an unknown name. */
const char *pl_log_level_name(pl_log_level_t l);
int pl_log_level_parse(const char *s);

void pl_log(pl_log_level_t l, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void pl_logv(pl_log_level_t l, const char *fmt, va_list ap);
/* Notices, warnings and errors are rate-limited per call site (a burst of
 * 10, then one a second); this logs, for each site that dropped lines
 * since, how many and the first of them. Called on a timer by the service
 * runtime and the supervisor; the next line from a site says it too. */
void pl_log_flush_suppressed(void);
/* The same line, never rate-limited: for a call site that bounds its own
 * output (e.g. once per kind, then at powers of two). */
void pl_log_unlimited(pl_log_level_t l, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define pl_debug(...) pl_log(PL_LOG_DEBUG, __VA_ARGS__)
#define pl_info(...) pl_log(PL_LOG_INFO, __VA_ARGS__)
#define pl_notice(...) pl_log(PL_LOG_NOTICE, __VA_ARGS__)
#define pl_warn(...) pl_log(PL_LOG_WARN, __VA_ARGS__)
#define pl_err(...) pl_log(PL_LOG_ERR, __VA_ARGS__)
#define pl_crit(...) pl_log(PL_LOG_CRIT, __VA_ARGS__)

/* Format one line into buf (newline- and NUL-terminated, truncated with "…"
 * if needed; control characters in the message are escaped so one event is
 * always one line). Returns the length. Exposed for tests and for the
 * supervisor, which stamps raw child output with the same format. */
size_t pl_log_format(char *buf, size_t bufsz, long long epoch_ms,
		     const char *level, const char *ident, long pid,
		     const char *msg, size_t msglen);
/* Does this line already start with our timestamp format? */
int pl_log_is_stamped(const char *line, size_t len);
long long pl_log_now_ms(void); /* wall clock, ms since the epoch */

#endif
