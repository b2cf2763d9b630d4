/* pl_printer: URI checks, and delivery to real peers on loopback only:
 * plsc-recprinter (a recording raw printer, one per mode) for socket://,
 * ippeveprinter for ipp:// and ipps://, and in-process listeners that
 * never answer for the timeout cases.
 *
 * ippeveprinter (CUPS 2.4) will not start without a D-Bus system bus for
 * its Avahi client, even with DNS-SD off (-r off), and it insists on an
 * IPv6 listener too (-n localhost gives it ::1; -n 127.0.0.1 fails). We
 * give it a private dbus-daemon on a Unix socket in our temp dir, with no
 * Avahi behind it, so nothing is ever advertised. Every child gets
 * PR_SET_PDEATHSIG so none outlives a crashed test. When ippeveprinter or
 * dbus-daemon is missing the IPP tests are skipped, loudly. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pl_printer.h"
#include "pl_util.h"
#include "printer-private.h" /* the parsed form of URIs */

#define MIB (1024 * 1024)
#define BIG_LEN (20 * MIB)
#define IPPEVE "/usr/sbin/ippeveprinter"
#define DBUS_DAEMON "/usr/bin/dbus-daemon"

enum { REC_NORMAL, REC_EARLY, REC_STALL, REC_REFUSE, REC_COUNT };

typedef struct {
	pid_t pid;
	char dir[1024];
	int port;
	int jobs; /* connections made so far = number of the last job */
} child_t;

typedef struct {
	char dir[512]; /* short enough for a Unix socket path inside it */
	char build[PATH_MAX];
	child_t rec[REC_COUNT];
	child_t dbus, ipp; /* ipp.port 0: IPP tests skip */
	char spool[PATH_MAX];
	unsigned char *big; /* BIG_LEN bytes of a fixed pseudo-random pattern */
	char pdf[1024];
	size_t pdf_len;
} fixture_t;

/* ---- document sources --------------------------------------------------- */

typedef struct {
	const unsigned char *data;
	size_t len, off;
	size_t fail_at; /* fail once this many bytes went out; SIZE_MAX never */
} memsrc_t;

static ssize_t mem_read(void *arg, void *buf, size_t n, pl_err_t *err)
{
	memsrc_t *m = arg;
	size_t left = m->len - m->off;

	if (m->off >= m->fail_at) {
		snprintf(err->msg, sizeof(err->msg), "disk on fire");
		return -1;
	}
	if (n > left)
		n = left;
	if (m->fail_at != SIZE_MAX && n > m->fail_at - m->off)
		n = m->fail_at - m->off;
	memcpy(buf, m->data + m->off, n);
	m->off += n;
	return (ssize_t)n;
}

static memsrc_t mem(const void *data, size_t len)
{
	memsrc_t m = { data, len, 0, SIZE_MAX };
	return m;
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* A one-page PDF with a correct xref table (offsets computed here). */
static size_t make_pdf(char *out, size_t sz)
{
	static const char *const objs[] = {
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
		"/Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
		"<< /Length 44 >>\nstream\n"
		"BT /F1 24 Tf 72 720 Td (plsc test) Tj ET\n\nendstream",
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
	};
	size_t off[5], n;

	n = (size_t)snprintf(out, sz, "%%PDF-1.4\n");
	for (int i = 0; i < 5; i++) {
		off[i] = n;
		n += (size_t)snprintf(out + n, sz - n, "%d 0 obj\n%s\nendobj\n",
				      i + 1, objs[i]);
	}
	size_t xref = n;
	n += (size_t)snprintf(out + n, sz - n, "xref\n0 6\n0000000000 65535 f \n");
	for (int i = 0; i < 5; i++)
		n += (size_t)snprintf(out + n, sz - n, "%010zu 00000 n \n", off[i]);
	n += (size_t)snprintf(out + n, sz - n,
			      "trailer\n<< /Size 6 /Root 1 0 R >>\nstartxref\n%zu\n%%%%EOF\n",
			      xref);
	return n;
}

/* ---- children --------------------------------------------------------------- */

static pid_t spawn(const char *log, char *const argv[], const char *env)
{
	pid_t parent = getpid(), pid = fork();

	if (pid != 0)
		return pid;
	/* Die with the test, even if it crashes before its teardown. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127);
	int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	int nul = open("/dev/null", O_RDONLY);
	if (fd < 0 || nul < 0 || dup2(nul, 0) < 0 || dup2(fd, 1) < 0 ||
	    dup2(fd, 2) < 0)
		_exit(127);
	if (env != NULL)
		putenv((char *)env);
	execv(argv[0], argv);
	_exit(127);
}

static int alive(child_t *c)
{
	int st;
	if (c->pid <= 0)
		return 0;
	if (waitpid(c->pid, &st, WNOHANG) == c->pid) {
		c->pid = 0;
		return 0;
	}
	return 1;
}

static void stop(child_t *c)
{
	int st;

	if (c->pid <= 0)
		return;
	kill(c->pid, SIGTERM);
	for (int i = 0; i < 200; i++) {
		if (waitpid(c->pid, &st, WNOHANG) == c->pid) {
			c->pid = 0;
			return;
		}
		sleep_ms(10);
	}
	kill(c->pid, SIGKILL);
	waitpid(c->pid, &st, 0);
	c->pid = 0;
}

static int wait_file(child_t *c, const char *path, int ms)
{
	for (long long end = now_ms() + ms; now_ms() < end; sleep_ms(10)) {
		if (access(path, F_OK) == 0)
			return 0;
		if (!alive(c))
			return -1;
	}
	return -1;
}

static int can_connect(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), ok;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons((uint16_t)port);
	ok = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

/* A loopback socket bound to a free port. listening: kernel-queued
 * connects succeed but nobody ever reads (a hung printer); otherwise
 * connects are refused (no printer). */
static int loopback_socket(int listening, int *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    (listening && listen(fd, 8) < 0) ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*port = ntohs(sa.sin_port);
	return fd;
}

/* A listener whose accept queue is full (backlog 0, one connection
 * queued, one more pending): Linux drops further SYNs, so a connect to it
 * times out, all on loopback. fill[] holds the sockets that fill it. */
static int full_listener(int *port, int fill[2])
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, 0) < 0 || getsockname(fd, (struct sockaddr *)&sa, &sl) < 0)
		return -1;
	*port = ntohs(sa.sin_port);
	for (int i = 0; i < 2; i++) {
		fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fill[i] >= 0)
			(void)connect(fill[i], (struct sockaddr *)&sa, sizeof(sa));
	}
	sleep_ms(50);
	return fd;
}

static int start_recprinter(fixture_t *f, child_t *c, const char *mode)
{
	char bin[PATH_MAX + 32], log[PATH_MAX + 16], port[PATH_MAX + 16];
	char *argv[] = { bin, "-d", c->dir, "-m", (char *)mode, "-n", "1000", NULL };

	snprintf(bin, sizeof(bin), "%s/bin/plsc-recprinter", f->build);
	snprintf(c->dir, sizeof(c->dir), "%s/rec-%s", f->dir, mode);
	snprintf(log, sizeof(log), "%s.log", c->dir);
	snprintf(port, sizeof(port), "%s/port", c->dir);
	if (mkdir(c->dir, 0755) < 0)
		return -1;
	c->pid = spawn(log, argv, NULL);
	if (c->pid < 0 || wait_file(c, port, 5000) < 0) {
		fprintf(stderr, "# %s did not start (see %s)\n", bin, log);
		return -1;
	}
	char *txt = pl_read_file(port, 64, NULL);
	c->port = txt != NULL ? atoi(txt) : 0;
	free(txt);
	return c->port > 0 ? 0 : -1;
}

static int start_dbus(fixture_t *f)
{
	char conf[PATH_MAX + 16], bus[PATH_MAX + 16], log[PATH_MAX + 16];
	char arg[PATH_MAX + 32];
	char *argv[] = { DBUS_DAEMON, arg, "--nofork", "--nopidfile", NULL };
	FILE *fp;

	snprintf(conf, sizeof(conf), "%s/dbus.conf", f->dir);
	snprintf(bus, sizeof(bus), "%s/bus", f->dir);
	snprintf(log, sizeof(log), "%s/dbus.log", f->dir);
	snprintf(arg, sizeof(arg), "--config-file=%s", conf);
	if (strlen(bus) >= 100 || (fp = fopen(conf, "w")) == NULL)
		return -1;
	fprintf(fp, "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
		    " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
		    "<busconfig><type>session</type><listen>unix:path=%s</listen>\n"
		    "<auth>EXTERNAL</auth><policy context=\"default\">\n"
		    "<allow user=\"*\"/><allow own=\"*\"/>\n"
		    "<allow send_destination=\"*\"/><allow receive_sender=\"*\"/>\n"
		    "</policy></busconfig>\n",
		bus);
	fclose(fp);
	f->dbus.pid = spawn(log, argv, NULL);
	return f->dbus.pid > 0 && wait_file(&f->dbus, bus, 5000) == 0 ? 0 : -1;
}

static int start_ippeve_once(fixture_t *f, int port)
{
	static char env[PATH_MAX + 64];
	char p[16], keys[PATH_MAX + 16], log[PATH_MAX + 16];
	char *argv[] = { IPPEVE, "-p", p, "-n", "localhost", "-d", f->spool,
			 "-K", keys, "-c", "/bin/true", "-f",
			 "application/pdf,application/octet-stream", "-k",
			 "-r", "off", "-v", "TestPrinter", NULL };

	snprintf(p, sizeof(p), "%d", port);
	snprintf(keys, sizeof(keys), "%s/keys", f->dir);
	snprintf(log, sizeof(log), "%s/ippeveprinter.log", f->dir);
	snprintf(env, sizeof(env), "DBUS_SYSTEM_BUS_ADDRESS=unix:path=%s/bus",
		 f->dir);
	mkdir(keys, 0700);
	f->ipp.pid = spawn(log, argv, env);
	for (long long end = now_ms() + 10000; now_ms() < end; sleep_ms(50)) {
		if (!alive(&f->ipp))
			return -1;
		if (can_connect(port)) {
			f->ipp.port = port;
			return 0;
		}
	}
	stop(&f->ipp);
	return -1;
}

/* A free port can be taken between our probe and ippeveprinter's bind
 * (on 127.0.0.1 or ::1): try a few. */
static void start_ippeve(fixture_t *f)
{
	snprintf(f->spool, sizeof(f->spool), "%s/spool", f->dir);
	if (access(IPPEVE, X_OK) != 0 || access(DBUS_DAEMON, X_OK) != 0) {
		fprintf(stderr, "# %s or %s missing: IPP tests will be skipped\n",
			IPPEVE, DBUS_DAEMON);
		return;
	}
	if (mkdir(f->spool, 0755) < 0 || start_dbus(f) < 0) {
		fprintf(stderr, "# private dbus-daemon did not start: IPP tests will be skipped\n");
		return;
	}
	for (int i = 0; i < 3 && f->ipp.port == 0; i++) {
		int port = 0, fd = loopback_socket(0, &port);
		if (fd < 0)
			break;
		close(fd);
		start_ippeve_once(f, port);
	}
	if (f->ipp.port == 0)
		fprintf(stderr, "# ippeveprinter did not start (see %s/ippeveprinter.log): IPP tests will be skipped\n",
			f->dir);
}

/* The build whose recprinter we run: $PLSC_BUILD, else the build this
 * test binary belongs to (BUILD/tests/unit/test_printer: the ASan pass
 * uses build-asan), else "build". */
static void find_build(fixture_t *f)
{
	const char *env = getenv("PLSC_BUILD");
	char exe[PATH_MAX], bin[PATH_MAX + 32];
	ssize_t n;

	pl_strlcpy(f->build, env != NULL && *env != '\0' ? env : "build",
		   sizeof(f->build));
	if ((env != NULL && *env != '\0') ||
	    (n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) <= 0)
		return;
	exe[n] = '\0';
	for (int up = 0; up < 3; up++) {
		char *slash = strrchr(exe, '/');
		if (slash == NULL)
			return;
		*slash = '\0';
	}
	snprintf(bin, sizeof(bin), "%s/bin/plsc-recprinter", exe);
	if (access(bin, X_OK) == 0)
		pl_strlcpy(f->build, exe, sizeof(f->build));
}

static int rm_entry(const char *path, const struct stat *sb, int flag,
		    struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static int group_teardown(void **state)
{
	fixture_t *f = *state;

	for (int i = 0; i < REC_COUNT; i++)
		stop(&f->rec[i]);
	stop(&f->ipp);
	stop(&f->dbus);
	if (getenv("PLSC_KEEP_TMP") == NULL)
		nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f->big);
	free(f);
	return 0;
}

static int group_setup(void **state)
{
	static const char *const modes[REC_COUNT] = { "normal", "close-early",
						      "stall", "refuse" };
	const char *tmp = getenv("TMPDIR");
	fixture_t *f = calloc(1, sizeof(*f));
	uint32_t x = 2463534242u;

	if (f == NULL || (f->big = malloc(BIG_LEN)) == NULL)
		return -1;
	*state = f;
	for (size_t i = 0; i < BIG_LEN; i++) { /* xorshift32 */
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		f->big[i] = (unsigned char)x;
	}
	/* ippeveprinter auto-types application/octet-stream from the first
	 * bytes and refuses what it cannot type: make the pattern a "PDF". */
	memcpy(f->big, "%PDF-1.4\n", 9);
	f->pdf_len = make_pdf(f->pdf, sizeof(f->pdf));
	if (pl_fmt(f->dir, sizeof(f->dir), "%s/test_printer.XXXXXX",
		   tmp != NULL && *tmp != '\0' ? tmp : "/tmp") < 0 ||
	    mkdtemp(f->dir) == NULL)
		return -1;
	find_build(f);
	for (int i = 0; i < REC_COUNT; i++)
		if (start_recprinter(f, &f->rec[i], modes[i]) < 0) {
			group_teardown(state);
			return -1;
		}
	start_ippeve(f);
	return 0;
}

/* ---- helpers for assertions ------------------------------------------------- */

static pl_print_opts_t opts(int io_ms)
{
	pl_print_opts_t o = { .connect_timeout_ms = 2000, .io_timeout_ms = io_ms,
			      .job_name = "plsc-test", .user = "tester" };
	return o;
}

static char *job_path(const child_t *c, int n, const char *ext)
{
	static char path[PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/job-%d.%s", c->dir, n, ext);
	return path;
}

static void assert_job_equals(const child_t *c, int n, const void *data,
			      size_t len)
{
	size_t got = 0;
	char *bytes = pl_read_file(job_path(c, n, "bin"), len + 1, &got);

	assert_non_null(bytes);
	assert_int_equal(got, len);
	assert_memory_equal(bytes, data, len);
	free(bytes);
}

static int socket_print(fixture_t *f, int which, memsrc_t *m,
			const pl_print_opts_t *o, size_t *sent, pl_err_t *err)
{
	char uri[64];
	child_t *c = &f->rec[which];

	snprintf(uri, sizeof(uri), "socket://127.0.0.1:%d", c->port);
	if (which != REC_REFUSE)
		c->jobs++;
	return pl_print(uri, o, mem_read, m, sent, err);
}

static void socket_roundtrip(fixture_t *f, size_t len)
{
	pl_print_opts_t o = opts(5000);
	memsrc_t m = mem(f->big, len);
	size_t sent = 1;
	pl_err_t err;

	assert_int_equal(socket_print(f, REC_NORMAL, &m, &o, &sent, &err), 0);
	assert_int_equal(sent, len);
	assert_job_equals(&f->rec[REC_NORMAL], f->rec[REC_NORMAL].jobs, f->big, len);
}

/* ---- URIs ------------------------------------------------------------------- */

static void test_uri_valid(void **state)
{
	static const char *const good[] = {
		"socket://127.0.0.1",
		"socket://printer.example:9101",
		"socket://printer-2.example/",
		"socket://[::1]:9100",
		"SOCKET://Printer.Example",
		"ipp://printer.example/ipp/print",
		"ipp://127.0.0.1:8631/printers/lobby",
		"ipps://printer.example/ipp/print",
		"ipps://[::1]:443/ipp/print",
	};
	pl_err_t err;

	(void)state;
	for (size_t i = 0; i < PL_ARRAY_LEN(good); i++) {
		if (pl_printer_check_uri(good[i], &err) != 0)
			fail_msg("%s: %s", good[i], err.msg);
	}
	assert_int_equal(pl_printer_check_uri("socket://host", NULL), 0);
}

static void expect_parsed(const char *uri, pl_printer_kind_t kind,
			  const char *host, int port, const char *resource,
			  const char *where)
{
	pl_printer_uri_t u;
	pl_err_t err;

	if (pl_printer_parse_uri(uri, &u, &err) != 0)
		fail_msg("%s: %s", uri, err.msg);
	assert_int_equal(u.kind, kind);
	assert_string_equal(u.host, host);
	assert_int_equal(u.port, port);
	assert_string_equal(u.resource, resource);
	assert_string_equal(u.where, where);
}

static void test_uri_parse(void **state)
{
	(void)state;
	expect_parsed("socket://printer.example", PL_PRINTER_SOCKET,
		      "printer.example", 9100, "", "printer.example:9100");
	expect_parsed("socket://10.0.0.7:9101/", PL_PRINTER_SOCKET, "10.0.0.7",
		      9101, "", "10.0.0.7:9101");
	expect_parsed("socket://[fe80::1]", PL_PRINTER_SOCKET, "fe80::1", 9100,
		      "", "[fe80::1]:9100");
	expect_parsed("ipp://printer.example/ipp/print", PL_PRINTER_IPP,
		      "printer.example", 631, "/ipp/print", "printer.example:631");
	expect_parsed("ipps://printer.example:8443/printers/a%20b", PL_PRINTER_IPPS,
		      "printer.example", 8443, "/printers/a b", "printer.example:8443");
	expect_parsed("ipp://printer.example", PL_PRINTER_IPP, "printer.example",
		      631, "/", "printer.example:631");
	expect_parsed("ipps://[::1]/ipp/print", PL_PRINTER_IPPS, "::1", 631,
		      "/ipp/print", "[::1]:631");
}

static void expect_bad_uri(const char *uri, const char *needle)
{
	pl_err_t err = { .msg = "" };

	if (pl_printer_check_uri(uri, &err) == 0)
		fail_msg("accepted bad URI '%s'", uri != NULL ? uri : "(null)");
	if (strstr(err.msg, needle) == NULL)
		fail_msg("'%s': message '%s' lacks '%s'",
			 uri != NULL ? uri : "(null)", err.msg, needle);
}

static void test_uri_invalid(void **state)
{
	(void)state;
	expect_bad_uri("lpd://host/queue",
		       "unsupported printer URI scheme 'lpd' (use socket://, ipp:// or ipps://)");
	expect_bad_uri("http://host/", "unsupported printer URI scheme 'http'");
	expect_bad_uri(NULL, "no printer URI");
	expect_bad_uri("", "no printer URI");
	expect_bad_uri("printer.example", "invalid printer URI");
	expect_bad_uri("://host", "invalid printer URI");
	expect_bad_uri("socket://", "missing host");
	expect_bad_uri("socket://:9100", "missing host");
	expect_bad_uri("socket://host:", "bad port");
	expect_bad_uri("socket://host:0", "bad port");
	expect_bad_uri("socket://host:65536", "bad port");
	expect_bad_uri("socket://host:91x0", "bad port");
	expect_bad_uri("socket://host:9100/queue", "no path or options");
	expect_bad_uri("socket://host?waiteof=false", "no path or options");
	expect_bad_uri("socket://user@host", "passwords");
	expect_bad_uri("socket://::1", "brackets");
	expect_bad_uri("socket://[::1", "missing ']'");
	expect_bad_uri("socket://[::1]x", "after ']'");
	expect_bad_uri("socket://ho$t", "invalid host");
	expect_bad_uri("socket://ho st", "space or control character");
	expect_bad_uri("ipp:///ipp/print", "missing host");
	expect_bad_uri("ipp://host:99999/ipp/print", "bad port");
	expect_bad_uri("ipp://host:abc/ipp/print", "bad port");
	expect_bad_uri("ipps://bob:secret@host/ipp/print", "passwords");

	char longuri[2048];
	memset(longuri, 'a', sizeof(longuri) - 1);
	memcpy(longuri, "ipp://", 6);
	longuri[sizeof(longuri) - 1] = '\0';
	expect_bad_uri(longuri, "too long");
}

/* ---- socket:// ----------------------------------------------------------------- */

static void test_socket_sizes(void **state)
{
	fixture_t *f = *state;

	socket_roundtrip(f, 0);
	socket_roundtrip(f, 1);
	socket_roundtrip(f, MIB);
	socket_roundtrip(f, BIG_LEN);
}

static void test_socket_defaults(void **state)
{
	fixture_t *f = *state;
	memsrc_t m = mem(f->big, 1000);
	size_t sent = 0;

	/* No options, no error buffer: defaults apply. */
	assert_int_equal(socket_print(f, REC_NORMAL, &m, NULL, &sent, NULL), 0);
	assert_int_equal(sent, 1000);
	assert_job_equals(&f->rec[REC_NORMAL], f->rec[REC_NORMAL].jobs, f->big, 1000);
}

/* A raw printer takes no print options: all are reported not applied. */
static void test_socket_options(void **state)
{
	fixture_t *f = *state;
	memsrc_t m = mem(f->big, 1000);
	char na[64] = "x";
	pl_print_opts_t o = opts(5000);
	o.options = "copies=2 sides=two-sided-long-edge";
	o.not_applied = na;
	o.not_applied_sz = sizeof(na);
	assert_int_equal(socket_print(f, REC_NORMAL, &m, &o, NULL, NULL), 0);
	assert_string_equal(na, "copies=2 sides=two-sided-long-edge"); /* name order */
	assert_job_equals(&f->rec[REC_NORMAL], f->rec[REC_NORMAL].jobs, f->big, 1000);
	/* a buffer too small for the next whole option stops before it */
	m = mem(f->big, 10);
	o.not_applied_sz = 12;
	assert_int_equal(socket_print(f, REC_NORMAL, &m, &o, NULL, NULL), 0);
	assert_string_equal(na, "copies=2");
}

/* The printer hangs up after 1000 bytes of a 20 MiB job: a failure, never
 * a success, and SIGPIPE (default action restored here) must not kill us.
 * Loopback buffers can swallow several MiB, so the error may come while
 * writing or only while waiting for the printer to finish. */
static void test_socket_close_early(void **state)
{
	fixture_t *f = *state;
	pl_print_opts_t o = opts(5000);
	memsrc_t m = mem(f->big, BIG_LEN);
	void (*old)(int) = signal(SIGPIPE, SIG_DFL);
	size_t sent = 0;
	pl_err_t err;
	int rc = socket_print(f, REC_EARLY, &m, &o, &sent, &err);

	signal(SIGPIPE, old);
	assert_int_equal(rc, -1);
	if (strstr(err.msg, "reset") == NULL && strstr(err.msg, "closed") == NULL)
		fail_msg("unexpected message: %s", err.msg);
	assert_non_null(strstr(err.msg, "127.0.0.1:"));
	assert_int_equal(access(job_path(&f->rec[REC_EARLY], f->rec[REC_EARLY].jobs, "bin"),
				F_OK), -1);
}

/* A file of f->big's first len bytes in the fixture's directory, open
 * for reading at its start (unlinked: gone at close). */
static int big_file(fixture_t *f, size_t len)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/fdsrc.bin", f->dir);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, f->big, len), (ssize_t)len);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	unlink(path);
	return fd;
}

static int fd_print(fixture_t *f, int which, int *fd, const pl_print_opts_t *o,
		    size_t *sent, pl_err_t *err)
{
	char uri[64];
	child_t *c = &f->rec[which];

	snprintf(uri, sizeof(uri), "socket://127.0.0.1:%d", c->port);
	c->jobs++;
	return pl_print(uri, o, pl_print_fd_source, fd, sent, err);
}

/* pl_print_fd_source: a regular file goes by sendfile, a pipe (which
 * sendfile cannot read) by read and send; the same bytes either way. */
static void test_socket_fd_source(void **state)
{
	fixture_t *f = *state;
	pl_print_opts_t o = opts(5000);
	const size_t lens[] = { 0, 1, MIB + 7, BIG_LEN };
	size_t sent = 1;
	pl_err_t err;
	int p[2];

	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		int fd = big_file(f, lens[i]);
		assert_int_equal(fd_print(f, REC_NORMAL, &fd, &o, &sent, &err), 0);
		close(fd);
		assert_int_equal(sent, lens[i]);
		assert_job_equals(&f->rec[REC_NORMAL], f->rec[REC_NORMAL].jobs, f->big,
				  lens[i]);
	}
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], f->big, 1000), 1000);
	close(p[1]);
	assert_int_equal(fd_print(f, REC_NORMAL, &p[0], &o, &sent, &err), 0);
	close(p[0]);
	assert_int_equal(sent, 1000);
	assert_job_equals(&f->rec[REC_NORMAL], f->rec[REC_NORMAL].jobs, f->big, 1000);
}

/* test_socket_close_early by sendfile: a failure, and no SIGPIPE (sendfile
 * has no MSG_NOSIGNAL) kills us with its default action restored. */
static void test_socket_fd_close_early(void **state)
{
	fixture_t *f = *state;
	pl_print_opts_t o = opts(5000);
	int fd = big_file(f, BIG_LEN);
	void (*old)(int) = signal(SIGPIPE, SIG_DFL);
	size_t sent = 0;
	pl_err_t err;
	int rc = fd_print(f, REC_EARLY, &fd, &o, &sent, &err);

	signal(SIGPIPE, old);
	close(fd);
	assert_int_equal(rc, -1);
	if (strstr(err.msg, "reset") == NULL && strstr(err.msg, "closed") == NULL &&
	    strstr(err.msg, "broken pipe") == NULL)
		fail_msg("unexpected message: %s", err.msg);
	assert_int_equal(access(job_path(&f->rec[REC_EARLY], f->rec[REC_EARLY].jobs, "bin"),
				F_OK), -1);
}

static void test_socket_refuse(void **state)
{
	fixture_t *f = *state;
	pl_print_opts_t o = opts(5000);
	memsrc_t m = mem(f->big, 4 * MIB);
	pl_err_t err;

	assert_int_equal(socket_print(f, REC_REFUSE, &m, &o, NULL, &err), -1);
	assert_true(err.msg[0] != '\0');
}

static void test_socket_stall(void **state)
{
	fixture_t *f = *state;
	pl_print_opts_t o = opts(300);
	memsrc_t m = mem(f->big, BIG_LEN);
	long long t0 = now_ms();
	pl_err_t err;
	size_t sent = 0;

	assert_int_equal(socket_print(f, REC_STALL, &m, &o, &sent, &err), -1);
	assert_true(now_ms() - t0 < 5000);
	assert_non_null(strstr(err.msg, "timed out after 300 ms writing"));
	assert_true(sent < BIG_LEN);
}

static void test_socket_conn_refused(void **state)
{
	fixture_t *f = *state;
	int port = 0, fd = loopback_socket(0, &port);
	memsrc_t m = mem(f->big, 100);
	pl_print_opts_t o = opts(1000);
	char uri[64], want[64];
	long long t0 = now_ms();
	pl_err_t err;

	assert_true(fd >= 0);
	snprintf(uri, sizeof(uri), "socket://127.0.0.1:%d", port);
	snprintf(want, sizeof(want), "127.0.0.1:%d: connection refused", port);
	assert_int_equal(pl_print(uri, &o, mem_read, &m, NULL, &err), -1);
	close(fd);
	assert_string_equal(err.msg, want);
	assert_true(now_ms() - t0 < 1000);
}

static void expect_connect_timeout(const char *scheme)
{
	int port = 0, fill[2] = { -1, -1 }, fd = full_listener(&port, fill);
	memsrc_t m = mem("x", 1);
	pl_print_opts_t o = opts(1000);
	char uri[64], want[80];
	long long t0 = now_ms();
	pl_err_t err;

	assert_true(fd >= 0);
	o.connect_timeout_ms = 300;
	snprintf(uri, sizeof(uri), "%s://127.0.0.1:%d%s", scheme, port,
		 strcmp(scheme, "socket") == 0 ? "" : "/ipp/print");
	snprintf(want, sizeof(want), "127.0.0.1:%d: timed out after 300 ms connecting",
		 port);
	assert_int_equal(pl_print(uri, &o, mem_read, &m, NULL, &err), -1);
	close(fd);
	close(fill[0]);
	close(fill[1]);
	assert_string_equal(err.msg, want);
	assert_true(now_ms() - t0 < 2000);
}

static void test_connect_timeout(void **state)
{
	(void)state;
	expect_connect_timeout("socket");
	expect_connect_timeout("ipp");
	expect_connect_timeout("ipps");
}

/* Connecting ahead: the connect begun by pl_print_start carries the job
 * pl_print_via sends, byte for byte; one cancelled reaches the printer as
 * an aborted connection without a byte; a refused or stuck connect is
 * reported as pl_print reports it, the timeout counted from the start;
 * other schemes and bad URIs connect later, in pl_print_via. */
static void test_socket_connect_ahead(void **state)
{
	fixture_t *f = *state;
	child_t *c = &f->rec[REC_NORMAL];
	pl_print_opts_t o = opts(5000);
	memsrc_t m = mem(f->big, 3 * MIB + 7);
	char uri[64], want[80];
	size_t sent = 0, got = 1;
	pl_err_t err;

	snprintf(uri, sizeof(uri), "socket://127.0.0.1:%d", c->port);
	pl_print_conn_t *pre = pl_print_start(uri);
	assert_non_null(pre);
	assert_int_equal(pl_print_via(pre, uri, &o, mem_read, &m, &sent, &err), 0);
	assert_int_equal(sent, 3 * MIB + 7);
	assert_job_equals(c, ++c->jobs, f->big, 3 * MIB + 7);

	assert_non_null(pre = pl_print_start(uri));
	pl_print_cancel(pre);
	c->jobs++;
	assert_int_equal(wait_file(c, job_path(c, c->jobs, "incomplete"), 5000), 0);
	char *bytes = pl_read_file(job_path(c, c->jobs, "incomplete"), 16, &got);
	assert_non_null(bytes);
	assert_int_equal(got, 0);
	free(bytes);
	assert_int_equal(access(job_path(c, c->jobs, "bin"), F_OK), -1);

	int port = 0, fd = loopback_socket(0, &port);
	assert_true(fd >= 0);
	snprintf(uri, sizeof(uri), "socket://127.0.0.1:%d", port);
	snprintf(want, sizeof(want), "127.0.0.1:%d: connection refused", port);
	m = mem(f->big, 100);
	pre = pl_print_start(uri);
	assert_int_equal(pl_print_via(pre, uri, &o, mem_read, &m, NULL, &err), -1);
	close(fd);
	assert_string_equal(err.msg, want);

	int fill[2] = { -1, -1 };
	assert_true((fd = full_listener(&port, fill)) >= 0);
	snprintf(uri, sizeof(uri), "socket://127.0.0.1:%d", port);
	snprintf(want, sizeof(want), "127.0.0.1:%d: timed out after 300 ms connecting",
		 port);
	o.connect_timeout_ms = 300;
	assert_non_null(pre = pl_print_start(uri));
	assert_int_equal(pl_print_via(pre, uri, &o, mem_read, &m, NULL, &err), -1);
	assert_string_equal(err.msg, want);
	close(fd);
	close(fill[0]);
	close(fill[1]);

	assert_null(pl_print_start("ipp://127.0.0.1:1/ipp/print"));
	assert_null(pl_print_start("socket://"));
	assert_int_equal(pl_print_via(NULL, "socket://", &o, mem_read, &m, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "missing host"));
	pl_print_cancel(NULL);
}

/* The source fails after 3 MiB: failure, and the printer is left with an
 * aborted job (reset), never a complete one. */
static void test_socket_source_error(void **state)
{
	fixture_t *f = *state;
	child_t *c = &f->rec[REC_NORMAL];
	pl_print_opts_t o = opts(5000);
	memsrc_t m = mem(f->big, 5 * MIB);
	size_t sent = 0;
	pl_err_t err;

	m.fail_at = 3 * MIB;
	assert_int_equal(socket_print(f, REC_NORMAL, &m, &o, &sent, &err), -1);
	assert_non_null(strstr(err.msg, "document source failed after"));
	assert_non_null(strstr(err.msg, "disk on fire"));
	assert_int_equal(sent, 3 * MIB);
	for (long long end = now_ms() + 3000; now_ms() < end; sleep_ms(10))
		if (access(job_path(c, c->jobs, "incomplete"), F_OK) == 0)
			break;
	assert_int_equal(access(job_path(c, c->jobs, "incomplete"), F_OK), 0);
	assert_int_not_equal(access(job_path(c, c->jobs, "bin"), F_OK), 0);
}

static void test_print_args(void **state)
{
	pl_err_t err;
	size_t sent = 7;

	(void)state;
	assert_int_equal(pl_print("socket://127.0.0.1:9", NULL, NULL, NULL,
				  &sent, &err), -1);
	assert_int_equal(sent, 0);
	assert_non_null(strstr(err.msg, "no document source"));
	assert_int_equal(pl_print("lpd://x/q", NULL, mem_read, NULL, &sent, &err), -1);
	assert_non_null(strstr(err.msg, "unsupported printer URI scheme 'lpd'"));
}

/* ---- ipp:// and ipps:// ----------------------------------------------------------- */

static void need_ipp(const fixture_t *f)
{
	if (f->ipp.port == 0)
		skip();
}

/* The spool file ippeveprinter made for job-name name ("<id>-<name>.<ext>"). */
static char *spool_file(const fixture_t *f, const char *name, const char *ext,
			size_t max, size_t *len)
{
	char suffix[128], path[PATH_MAX * 2];
	struct dirent *de;
	DIR *d = opendir(f->spool);
	char *data = NULL;

	snprintf(suffix, sizeof(suffix), "-%s.%s", name, ext);
	while (d != NULL && data == NULL && (de = readdir(d)) != NULL) {
		size_t n = strlen(de->d_name), s = strlen(suffix);
		if (n > s && strcmp(de->d_name + n - s, suffix) == 0) {
			snprintf(path, sizeof(path), "%s/%s", f->spool, de->d_name);
			data = pl_read_file(path, max, len);
		}
	}
	if (d != NULL)
		closedir(d);
	return data;
}

static int ipp_print(const fixture_t *f, const char *scheme, const char *name,
		     const char *format, memsrc_t *m, size_t *sent, pl_err_t *err)
{
	pl_print_opts_t o = { .connect_timeout_ms = 2000, .io_timeout_ms = 5000,
			      .job_name = name, .user = "tester", .format = format };
	char uri[128];

	snprintf(uri, sizeof(uri), "%s://127.0.0.1:%d/ipp/print", scheme,
		 f->ipp.port);
	return pl_print(uri, &o, mem_read, m, sent, err);
}

static void ipp_roundtrip(const fixture_t *f, const char *scheme,
			  const char *name, const char *format, const char *ext,
			  const void *data, size_t len)
{
	size_t sent = 0, got = 0;
	pl_err_t err;
	char *spooled;
	int rc = -1;

	/* ippeveprinter takes one job at a time and answers server-error-busy
	 * while the last one (a /bin/true "print") is still finishing. */
	for (int i = 0; i < 50 && rc != 0; i++) {
		memsrc_t m = mem(data, len);
		rc = ipp_print(f, scheme, name, format, &m, &sent, &err);
		if (rc != 0 && strstr(err.msg, "server-error-busy") == NULL)
			break;
		if (rc != 0)
			sleep_ms(100);
	}
	if (rc != 0)
		fail_msg("%s: %s", scheme, err.msg);
	assert_int_equal(sent, len);
	spooled = spool_file(f, name, ext, len + 1, &got);
	assert_non_null(spooled);
	assert_int_equal(got, len);
	assert_memory_equal(spooled, data, len);
	free(spooled);
}

static void test_ipp_pdf(void **state)
{
	fixture_t *f = *state;

	need_ipp(f);
	ipp_roundtrip(f, "ipp", "plsc-ipp-pdf", "application/pdf", "pdf",
		      f->pdf, f->pdf_len);
}

/* ippeveprinter's certificate is self-signed, made on the spot. */
static void test_ipps_pdf(void **state)
{
	fixture_t *f = *state;

	need_ipp(f);
	ipp_roundtrip(f, "ipps", "plsc-ipps-pdf", "application/pdf", "pdf",
		      f->pdf, f->pdf_len);
}

/* Several MiB in many chunks with the default format
 * (application/octet-stream), which ippeveprinter auto-types as PDF. */
static void test_ipp_large(void **state)
{
	fixture_t *f = *state;

	need_ipp(f);
	ipp_roundtrip(f, "ipp", "plsc-ipp-large", NULL, "pdf", f->big, 3 * MIB);
}

/* ippeveprinter here is one-sided: copies and media go with the job,
 * sides and a name we do not apply are reported, and the job prints. */
static void test_ipp_options(void **state)
{
	fixture_t *f = *state;
	char na[128], uri[128];
	size_t sent = 0;
	pl_err_t err;
	int rc = -1;

	need_ipp(f);
	snprintf(uri, sizeof(uri), "ipp://127.0.0.1:%d/ipp/print", f->ipp.port);
	pl_print_opts_t o = { .connect_timeout_ms = 2000, .io_timeout_ms = 5000,
			      .job_name = "plsc-ipp-options", .user = "tester",
			      .format = "application/pdf",
			      .options = "copies=2 sides=two-sided-long-edge media=iso_a4_210x297mm "
					 "finishings=4",
			      .not_applied = na, .not_applied_sz = sizeof(na) };
	for (int i = 0; i < 50 && rc != 0; i++) { /* busy: see ipp_roundtrip */
		memsrc_t m = mem(f->pdf, f->pdf_len);
		rc = pl_print(uri, &o, mem_read, &m, &sent, &err);
		if (rc != 0 && strstr(err.msg, "server-error-busy") == NULL)
			break;
		if (rc != 0)
			sleep_ms(100);
	}
	if (rc != 0)
		fail_msg("%s", err.msg);
	assert_string_equal(na, "finishings=4 sides=two-sided-long-edge"); /* name order */
}

static void test_ipp_bad_format(void **state)
{
	fixture_t *f = *state;
	memsrc_t m = mem(f->pdf, f->pdf_len);
	pl_err_t err;

	need_ipp(f);
	assert_int_equal(ipp_print(f, "ipp", "plsc-ipp-bogus", "application/x-bogus",
				   &m, NULL, &err), -1);
	/* ippeveprinter uses the generic status for it (a real printer may
	 * say client-error-document-format-not-supported), with a message. */
	assert_non_null(strstr(err.msg, "IPP client-error-"));
	assert_non_null(strstr(err.msg, "document-format"));
	print_message("# %s\n", err.msg);
}

/* How often ippeveprinter's log says what. */
static int ipp_log_count(const fixture_t *f, const char *what)
{
	char log[sizeof(f->dir) + 32], *text;
	int n = 0;

	snprintf(log, sizeof(log), "%s/ippeveprinter.log", f->dir);
	text = pl_read_file(log, 16 * MIB, NULL);
	for (const char *p = text; p != NULL && (p = strstr(p, what)) != NULL; p++)
		n++;
	free(text);
	return n;
}

/* The source fails after 1 MiB. The reset makes ippeveprinter fail its
 * read of the document ("Unable to read print file."), abort the job and
 * drop the file. If it was still busy with the previous job it refused
 * this one before reading it (server-error-busy): then try again. */
static void test_ipp_source_error(void **state)
{
	static const char busy[] = "Print-Job server-error-busy";
	static const char unread[] = "Unable to read print file";
	fixture_t *f = *state;
	int aborted = ipp_log_count(f, unread), done = 0;
	size_t got = 0;
	pl_err_t err;

	need_ipp(f);
	for (int i = 0; i < 20 && !done; i++) {
		memsrc_t m = mem(f->big, 2 * MIB);
		int was_busy = ipp_log_count(f, busy);

		m.fail_at = MIB;
		assert_int_equal(ipp_print(f, "ipp", "plsc-ipp-srcerr", NULL, &m,
					   NULL, &err), -1);
		assert_non_null(strstr(err.msg, "document source failed after"));
		assert_non_null(strstr(err.msg, "disk on fire"));
		for (long long end = now_ms() + 3000; !done; sleep_ms(20)) {
			done = ipp_log_count(f, unread) > aborted;
			if (done || ipp_log_count(f, busy) > was_busy)
				break;
			if (now_ms() >= end)
				fail_msg("ippeveprinter neither aborted the job nor was busy");
		}
		if (!done)
			sleep_ms(100);
	}
	assert_true(done);
	assert_null(spool_file(f, "plsc-ipp-srcerr", "pdf", 4 * MIB, &got));
}

static void test_ipp_conn_refused(void **state)
{
	int port = 0, fd = loopback_socket(0, &port);
	memsrc_t m = mem("x", 1);
	pl_print_opts_t o = opts(1000);
	char uri[64], want[64];
	pl_err_t err;

	(void)state;
	assert_true(fd >= 0);
	snprintf(uri, sizeof(uri), "ipp://127.0.0.1:%d/ipp/print", port);
	snprintf(want, sizeof(want), "127.0.0.1:%d: connection refused", port);
	assert_int_equal(pl_print(uri, &o, mem_read, &m, NULL, &err), -1);
	close(fd);
	assert_string_equal(err.msg, want);
}

/* A peer that hangs up mid-document (the raw close-early printer, which
 * reads 1000 bytes of our HTTP request and closes). libcups writes
 * without MSG_NOSIGNAL and ignores SIGPIPE only once per process, so the
 * default action is restored here: the caller must survive anyway. */
static void test_ipp_peer_hangs_up(void **state)
{
	fixture_t *f = *state;
	memsrc_t m = mem(f->big, 4 * MIB);
	pl_print_opts_t o = opts(5000);
	char uri[64];
	pl_err_t err;
	void (*old)(int) = signal(SIGPIPE, SIG_DFL);
	int rc;

	snprintf(uri, sizeof(uri), "ipp://127.0.0.1:%d/ipp/print",
		 f->rec[REC_EARLY].port);
	f->rec[REC_EARLY].jobs++;
	rc = pl_print(uri, &o, mem_read, &m, NULL, &err);
	signal(SIGPIPE, old);
	assert_int_equal(rc, -1);
	print_message("# %s\n", err.msg);
	assert_non_null(strstr(err.msg, "127.0.0.1:"));
}

/* A printer that accepts the connection and then never says a word:
 * plain IPP waits for an answer (1 s of libcups' 100-continue wait plus
 * io_timeout_ms), ipps for the TLS handshake, for which libcups allows
 * itself at least 10 s whatever our timeout. Both must give up. */
static void expect_hung_peer(const char *scheme, const char *needle,
			     int max_ms)
{
	int port = 0, fd = loopback_socket(1, &port);
	memsrc_t m = mem("%PDF-1.4\n", 9);
	pl_print_opts_t o = opts(300);
	char uri[64];
	long long t0 = now_ms();
	pl_err_t err;

	assert_true(fd >= 0);
	snprintf(uri, sizeof(uri), "%s://127.0.0.1:%d/ipp/print", scheme, port);
	assert_int_equal(pl_print(uri, &o, mem_read, &m, NULL, &err), -1);
	close(fd);
	if (strstr(err.msg, needle) == NULL)
		fail_msg("%s: '%s' lacks '%s'", scheme, err.msg, needle);
	assert_true(now_ms() - t0 < max_ms);
}

static void test_ipp_hung_peer(void **state)
{
	(void)state;
	expect_hung_peer("ipp", "timed out after 300 ms waiting for the printer's answer",
			 3000);
	expect_hung_peer("ipps", "TLS handshake failed", 12000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uri_valid),
		cmocka_unit_test(test_uri_parse),
		cmocka_unit_test(test_uri_invalid),
		cmocka_unit_test(test_print_args),
		cmocka_unit_test(test_socket_sizes),
		cmocka_unit_test(test_socket_defaults),
		cmocka_unit_test(test_socket_close_early),
		cmocka_unit_test(test_socket_fd_source),
		cmocka_unit_test(test_socket_fd_close_early),
		cmocka_unit_test(test_socket_refuse),
		cmocka_unit_test(test_socket_stall),
		cmocka_unit_test(test_socket_conn_refused),
		cmocka_unit_test(test_connect_timeout),
		cmocka_unit_test(test_socket_connect_ahead),
		cmocka_unit_test(test_socket_source_error),
		cmocka_unit_test(test_socket_options),
		cmocka_unit_test(test_ipp_pdf),
		cmocka_unit_test(test_ipps_pdf),
		cmocka_unit_test(test_ipp_large),
		cmocka_unit_test(test_ipp_options),
		cmocka_unit_test(test_ipp_bad_format),
		cmocka_unit_test(test_ipp_source_error),
		cmocka_unit_test(test_ipp_conn_refused),
		cmocka_unit_test(test_ipp_peer_hangs_up),
		cmocka_unit_test(test_ipp_hung_peer),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
