/* pl_log line format, escaping, truncation, levels; the supervisor's log
 * file assembly and rotation (supervisor/logcap.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pl_log.h"
#include "sv.h"

static void test_format(void **state)
{
	char buf[256];
	(void)state;
	/* 2026-11-28T06:07:31.123Z */
	size_t n = pl_log_format(buf, sizeof(buf), 1795846051123LL, "info",
				 "PrinterLogicServiceEmail", 4242,
				 "fetched 3 messages", 18);
	assert_string_equal(buf, "2026-11-28T06:07:31.123Z info "
				 "PrinterLogicServiceEmail[4242]: fetched 3 messages\n");
	assert_int_equal(n, strlen(buf));
	assert_true(pl_log_is_stamped(buf, n));
	assert_false(pl_log_is_stamped("Segmentation fault", 18));
	assert_false(pl_log_is_stamped("2026-11-28", 10));
}

static void test_escape(void **state)
{
	char buf[256];
	(void)state;
	pl_log_format(buf, sizeof(buf), 0, "warn", "x", 1, "a\nb\tc\n", 6);
	/* One event is one line: inner control characters are escaped, a
	 * trailing newline is dropped. */
	assert_non_null(strstr(buf, "a\\x0ab\\x09c\n"));
	assert_int_equal(strchr(buf, '\n') - buf, (long)strlen(buf) - 1);
}

static void test_truncate(void **state)
{
	char buf[128], msg[1000];
	(void)state;
	memset(msg, 'm', sizeof(msg));
	size_t n = pl_log_format(buf, sizeof(buf), 0, "info", "x", 1, msg,
				 sizeof(msg));
	assert_true(n <= sizeof(buf));
	assert_int_equal(buf[n - 1], '\n');
	assert_non_null(strstr(buf, "\xe2\x80\xa6\n"));
}

static void test_levels(void **state)
{
	(void)state;
	assert_int_equal(pl_log_level_parse("debug"), PL_LOG_DEBUG);
	assert_int_equal(pl_log_level_parse("error"), PL_LOG_ERR);
	assert_int_equal(pl_log_level_parse("warning"), PL_LOG_WARN);
	assert_int_equal(pl_log_level_parse("loud"), -1);
	assert_string_equal(pl_log_level_name(PL_LOG_NOTICE), "notice");
}

static void test_threshold(void **state)
{
	char path[] = "/tmp/plsc-logtest-XXXXXX";
	char buf[512];
	(void)state;
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	pl_log_init("unit", PL_LOG_WARN, fd);
	pl_info("hidden");
	pl_warn("shown %d", 42);
	pl_log_init("unit", PL_LOG_INFO, 2);
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_null(strstr(buf, "hidden"));
	assert_non_null(strstr(buf, " warn unit["));
	assert_non_null(strstr(buf, "]: shown 42\n"));
	close(fd);
	unlink(path);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	char *buf = calloc(1, 1 << 20);
	size_t n = fread(buf, 1, (1 << 20) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void test_logfile_lines(void **state)
{
	char dir[] = "/tmp/plsc-logfile-XXXXXX", path[256];
	sv_logfile_t lf;
	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/S.log", dir);
	assert_int_equal(sv_logfile_open(&lf, path, "S", 1 << 20, 2), 0);
	/* Bytes arrive in arbitrary pieces; lines come out whole. */
	const char *in = "2026-11-28T06:07:31.123Z info S[1]: one\nraw tw";
	sv_logfile_feed(&lf, in, strlen(in), 7);
	sv_logfile_feed(&lf, "o\n", 2, 7);
	sv_logfile_feed(&lf, "unfinished", 10, 7);
	sv_logfile_flush(&lf, 7);
	sv_logfile_close(&lf);
	char *s = slurp(path);
	assert_non_null(s);
	assert_non_null(strstr(s, "2026-11-28T06:07:31.123Z info S[1]: one\n"));
	assert_non_null(strstr(s, " output S[7]: raw two\n"));
	assert_non_null(strstr(s, " output S[7]: unfinished\n"));
	free(s);
	unlink(path);
	rmdir(dir);
}

/* Whole lines go from the read to the file and no line buffer exists;
 * one appears only while a line is unfinished, and goes with its end. A
 * line longer than SV_LOG_LINE_MAX comes out in pieces of that size, read
 * whole or in parts; an empty line is a line. */
static void test_logfile_buffer_on_demand(void **state)
{
	char dir[] = "/tmp/plsc-logfile-XXXXXX", path[256];
	sv_logfile_t lf;
	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/S.log", dir);
	assert_int_equal(sv_logfile_open(&lf, path, "S", 1 << 20, 2), 0);
	const char *two = "2026-11-28T06:07:31.123Z info S[1]: a\n"
			  "2026-11-28T06:07:31.124Z info S[1]: b\n";
	sv_logfile_feed(&lf, two, strlen(two), 7);
	assert_null(lf.line);
	sv_logfile_feed(&lf, "half", 4, 7);
	assert_non_null(lf.line);
	sv_logfile_feed(&lf, " way\n\n", 6, 7);
	assert_null(lf.line);
	size_t big = 2 * SV_LOG_LINE_MAX + 10;
	char *long_line = malloc(big + 1);
	assert_non_null(long_line);
	memset(long_line, 'x', big);
	long_line[big] = '\n';
	sv_logfile_feed(&lf, long_line, big + 1, 7);      /* whole */
	sv_logfile_feed(&lf, long_line, 100, 7);          /* in two parts */
	sv_logfile_feed(&lf, long_line + 100, big + 1 - 100, 7);
	assert_null(lf.line);
	free(long_line);
	sv_logfile_close(&lf);
	assert_null(lf.path);

	char *s = slurp(path);
	assert_non_null(s);
	assert_non_null(strstr(s, "info S[1]: a\n2026-11-28T06:07:31.124Z info S[1]: b\n"));
	assert_non_null(strstr(s, " output S[7]: half way\n"));
	assert_non_null(strstr(s, " output S[7]: \n")); /* the empty line */
	int lines = 0, pieces = 0, tens = 0;
	for (char *l = s; *l; lines++) {
		char *nl = strchr(l, '\n');
		assert_non_null(nl);
		char *m = strstr(l, "]: ");
		size_t xs = m && m < nl ? (size_t)(nl - m - 3) : 0;
		pieces += xs == SV_LOG_LINE_MAX;
		tens += xs == 10;
		l = nl + 1;
	}
	assert_int_equal(lines, 2 + 1 + 1 + 2 * 3);
	assert_int_equal(pieces, 4);
	assert_int_equal(tens, 2);
	free(s);
	unlink(path);
	rmdir(dir);
}

static void test_logfile_rotation(void **state)
{
	char dir[] = "/tmp/plsc-logrot-XXXXXX", path[256], p2[300];
	sv_logfile_t lf;
	char line[100];
	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/R.log", dir);
	assert_int_equal(sv_logfile_open(&lf, path, "R", 4096, 3), 0);
	for (int i = 0; i < 2000; i++) {
		int n = snprintf(line, sizeof(line), "line %04d\n", i);
		sv_logfile_write(&lf, line, (size_t)n);
	}
	sv_logfile_close(&lf);
	struct stat st;
	for (int i = 1; i <= 3; i++) {
		snprintf(p2, sizeof(p2), "%s.%d", path, i);
		assert_int_equal(stat(p2, &st), 0);
		assert_true(st.st_size <= 4096);
		/* A file only rotates at a line boundary. */
		char *s = slurp(p2);
		assert_int_equal(s[st.st_size - 1], '\n');
		free(s);
		unlink(p2);
	}
	snprintf(p2, sizeof(p2), "%s.4", path);
	assert_int_not_equal(stat(p2, &st), 0);
	char *s = slurp(path);
	assert_non_null(strstr(s, "line 1999\n"));
	free(s);
	unlink(path);
	rmdir(dir);
}

/* A flood from one call site: a burst, then nothing until the budget
 * refills, and the next line says how many were dropped; another site is
 * not affected; info lines (the audit trail) are never dropped. */
static void test_rate_limit(void **state)
{
	char path[] = "/tmp/plsc-logtest-XXXXXX";
	(void)state;
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	pl_log_init("unit", PL_LOG_INFO, fd);
	for (int i = 0; i < 1000; i++)
		pl_warn("junk frame %d", i);
	pl_err("another site");
	for (int i = 0; i < 50; i++)
		pl_info("audit %d", i);
	pl_log_flush_suppressed();
	pl_log_init("unit", PL_LOG_INFO, 2);
	char *s = slurp(path);
	assert_non_null(s);
	int junk = 0, audit = 0;
	for (char *p = s; (p = strstr(p, "]: junk frame ")) != NULL; p++)
		junk++;
	for (char *p = s; (p = strstr(p, "]: audit ")) != NULL; p++)
		audit++;
	assert_true(junk >= 10 && junk <= 12); /* the burst, perhaps one refill */
	assert_int_equal(audit, 50);
	assert_non_null(strstr(s, "]: another site\n"));
	assert_non_null(strstr(s, "more lines like this in the last"));
	assert_non_null(strstr(s, "the first: \"junk frame "));
	free(s);
	close(fd);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_truncate),
		cmocka_unit_test(test_levels),
		cmocka_unit_test(test_threshold),
		cmocka_unit_test(test_logfile_lines),
		cmocka_unit_test(test_logfile_buffer_on_demand),
		cmocka_unit_test(test_logfile_rotation),
		cmocka_unit_test(test_rate_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
