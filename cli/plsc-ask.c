/* plsc-ask: secrets for plsc (console passwords, PINs). A secret is never
 * taken from the command line, where every user of the machine can read
 * it in the process list (ps, /proc/PID/cmdline): it is asked for twice,
 * without echo, on a terminal; read as one line from standard input
 * otherwise; or read from a file that only its owner may read. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "plsc.h"

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	interrupted = sig;
}

static const int caught[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };

/* Catch the signals that would end us while echo is off, without
 * SA_RESTART, so that read() returns and the terminal is restored. */
static void signals_catch(struct sigaction old[])
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	interrupted = 0;
	for (size_t i = 0; i < sizeof(caught) / sizeof(caught[0]); i++)
		sigaction(caught[i], &sa, &old[i]);
}

static void signals_restore(const struct sigaction old[])
{
	for (size_t i = 0; i < sizeof(caught) / sizeof(caught[0]); i++)
		sigaction(caught[i], &old[i], NULL);
}

/* One line from fd, a byte at a time so nothing after it is consumed,
 * without its line end (LF, CR LF), at most max bytes. 0, 1 at end of
 * input before any byte, -1 on error (message printed). */
static int read_line(int fd, const char *what, char *buf, size_t max)
{
	size_t n = 0;
	int any = 0;
	for (;;) {
		char c;
		if (interrupted) {
			fprintf(stderr, "\nplsc: interrupted\n");
			return -1;
		}
		ssize_t r = read(fd, &c, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			fprintf(stderr, "plsc: reading the %s: %s\n", what, strerror(errno));
			return -1;
		}
		if (r == 0 && !any)
			return 1;
		any = 1;
		if (r == 0 || c == '\n')
			break;
		if (c == '\0') {
			fprintf(stderr, "plsc: a %s cannot contain a NUL byte\n", what);
			return -1;
		}
		/* one byte more than max: the CR of a CR LF */
		if (n > max) {
			fprintf(stderr, "plsc: %s too long: at most %zu bytes\n", what, max);
			return -1;
		}
		buf[n++] = c;
	}
	if (n && buf[n - 1] == '\r')
		n--;
	if (n > max) {
		fprintf(stderr, "plsc: %s too long: at most %zu bytes\n", what, max);
		return -1;
	}
	buf[n] = '\0';
	return 0;
}

/* Prompt on standard error and read a line from the terminal on fd 0
 * with echo off. 0, 1 for an empty answer (Enter or end of input), or -1
 * (message printed). */
static int ask(const char *prompt, const char *what, char *buf, size_t max)
{
	struct termios saved, quiet;
	struct sigaction old[sizeof(caught) / sizeof(caught[0])];
	if (tcgetattr(0, &saved) < 0) {
		fprintf(stderr, "plsc: terminal: %s\n", strerror(errno));
		return -1;
	}
	quiet = saved;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK | ECHONL);
	/* Echo off before the prompt shows (as readpassphrase(3) does):
	 * TCSAFLUSH drops what was typed ahead, so it must come before
	 * anyone can see the prompt and answer it, or a quick answer is
	 * discarded and the read waits for ever. */
	signals_catch(old);
	if (tcsetattr(0, TCSAFLUSH, &quiet) < 0) {
		signals_restore(old);
		fprintf(stderr, "plsc: terminal: %s\n", strerror(errno));
		return -1;
	}
	fputs(prompt, stderr);
	fflush(stderr);
	int rc = read_line(0, what, buf, max);
	(void)tcsetattr(0, TCSAFLUSH, &saved);
	signals_restore(old);
	fputc('\n', stderr); /* the Enter that was not echoed */
	return rc == 1 || (rc == 0 && !buf[0]) ? 1 : rc;
}

/* Asked twice on the terminal; 0 when both answers are the same and not
 * empty. */
static int ask_twice(const char *prompt, const char *what, char *buf, size_t sz,
		     size_t max)
{
	char p[64];
	char *again = malloc(sz);
	int rc = again ? 0 : -1;

	snprintf(p, sizeof(p), "%s: ", prompt);
	if (rc == 0)
		rc = ask(p, what, buf, max);
	if (rc == 1)
		fprintf(stderr, "plsc: no %s given\n", what);
	if (rc == 0 && (rc = ask("Again: ", what, again, max)) == 1) {
		again[0] = '\0';
		rc = 0;
	}
	if (rc == 0 && strcmp(buf, again) != 0) {
		fprintf(stderr, "plsc: the %ss differ; nothing changed\n", what);
		rc = -1;
	}
	if (again) {
		explicit_bzero(again, sz);
		free(again);
	}
	return rc == 0 ? 0 : -1;
}

int plsc_ask_secret(const char *prompt, const char *what, char *buf, size_t sz,
		    size_t max)
{
	if (sz < max + 3) {
		fprintf(stderr, "plsc: no room for a %s\n", what);
		return -1;
	}
	if (isatty(0))
		return ask_twice(prompt, what, buf, sz, max);
	int rc = read_line(0, what, buf, max);
	if (rc == 1)
		fprintf(stderr, "plsc: no %s on standard input\n", what);
	return rc == 0 ? 0 : -1;
}

int plsc_read_secret_file(const char *path, const char *what, char *buf, size_t sz,
			  size_t max)
{
	struct stat st;
	if (sz < max + 3) {
		fprintf(stderr, "plsc: no room for a %s\n", what);
		return -1;
	}
	if (strcmp(path, "-") == 0)
		return plsc_ask_secret(what, what, buf, sz, max);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "plsc: %s file %s: %s\n", what, path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	/* Written for us, it can be made private; one others can read has
	 * already told them. */
	if (st.st_mode & 0077) {
		fprintf(stderr, "plsc: %s file %s is readable by group or others (mode %04o); "
			"chmod 600 it\n", what, path, (unsigned)(st.st_mode & 07777));
		close(fd);
		return -1;
	}
	int rc = read_line(fd, what, buf, max);
	close(fd);
	if (rc == 1)
		buf[0] = '\0'; /* an empty file: an empty secret */
	return rc < 0 ? -1 : 0;
}
