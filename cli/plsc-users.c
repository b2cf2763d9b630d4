/* plsc users | readers: people, their badges and PINs, and the network
 * badge readers, in the directory (opened directly, like printers). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "pl_badge.h"
#include "pl_directory.h"
#include "pl_util.h"
#include "plsc.h"

/* A PIN as it is read: the digits, and room for a line end and a byte
 * more, so that a longer one is refused rather than cut. */
#define PIN_MAX 32
#define PIN_BUF (PIN_MAX + 3)

static int add_email(pl_dir_user_t *u, const char *text, char *msg, size_t msz)
{
	if (u->nemails >= PL_DIR_MAX_EMAILS) {
		snprintf(msg, msz, "at most %d e-mail addresses a user", PL_DIR_MAX_EMAILS);
		return -1;
	}
	pl_strlcpy(u->emails[u->nemails++], text, sizeof(u->emails[0]));
	return 0;
}

static int users_add(pl_dir_t *d, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "email", required_argument, NULL, 'e' },
		{ "badge", required_argument, NULL, 'b' },
		{ "pin", no_argument, NULL, 'p' },
		{ "pin-file", required_argument, NULL, 'P' },
		{ "groups", required_argument, NULL, 'g' },
		{ "replace", no_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	pl_dir_user_t u;
	pl_err_t err;
	char msg[512], pin[PIN_BUF];
	const char *pin_file = NULL;
	int replace = 0, ask_pin = 0, o;
	memset(&u, 0, sizeof(u));
	pl_strlcpy(u.source, "local", sizeof(u.source));
	optind = 0;
	while ((o = getopt_long(argc, argv, "n:e:b:pg:r", opts, NULL)) != -1) {
		switch (o) {
		case 'n': pl_strlcpy(u.display_name, optarg, sizeof(u.display_name)); break;
		case 'e':
			if (add_email(&u, optarg, msg, sizeof(msg)) < 0)
				goto bad;
			break;
		case 'b':
			if (pl_dir_user_add_badge(&u, optarg, msg, sizeof(msg)) < 0)
				goto bad;
			break;
		case 'p': ask_pin = 1; break;
		case 'P': pin_file = optarg; break;
		case 'g': pl_strlcpy(u.groups, optarg, sizeof(u.groups)); break;
		case 'r': replace = 1; break;
		default: return EXIT_USAGE;
		}
	}
	if (optind + 1 != argc || (ask_pin && pin_file)) {
		if (ask_pin && optind + 2 == argc)
			fprintf(stderr, "plsc: --pin takes no value (one on the command line "
					"shows in ps): give the PIN at the prompt, on standard "
					"input, or with --pin-file FILE\n");
		fprintf(stderr, "Usage: plsc users add USERNAME [--name N] [--email E]... "
				"[--badge ID]... [--pin | --pin-file FILE] [--groups G,...] "
				"[--replace]\n");
		return EXIT_USAGE;
	}
	pl_strlcpy(u.username, argv[optind], sizeof(u.username));
	if ((ask_pin && plsc_ask_secret("PIN", "PIN", pin, sizeof(pin), PIN_MAX) < 0) ||
	    (pin_file && plsc_read_secret_file(pin_file, "PIN", pin, sizeof(pin), PIN_MAX) < 0))
		return EXIT_FAIL;
	int rc = pl_dir_user_put(d, &u, ask_pin || pin_file ? pin : NULL, replace, &err);
	explicit_bzero(pin, sizeof(pin));
	if (rc < 0) {
		fprintf(stderr, "plsc: %s\n", err.msg);
		return EXIT_FAIL;
	}
	printf("user %s %s\n", u.username, replace ? "saved" : "added");
	return EXIT_OK;
bad:
	fprintf(stderr, "plsc: %s\n", msg);
	return EXIT_FAIL;
}

/* ---- CSV import (pl_dir_user_import_csv) ---- */

#define IMPORT_MAX (16u << 20) /* bytes of CSV read at once */

/* The whole of fd, at most max bytes, into a malloc'ed buffer. 0, or -1
 * with errno (EFBIG: longer than max). */
static int read_all(int fd, size_t max, char **out, size_t *len)
{
	size_t cap = 64 * 1024, n = 0;
	char *buf = malloc(cap);
	if (!buf)
		return -1;
	for (;;) {
		if (n == cap) {
			/* One byte past max tells "too long" from "exactly max". */
			size_t ncap = cap * 2 > max + 1 ? max + 1 : cap * 2;
			char *nb = ncap > cap ? realloc(buf, ncap) : NULL;
			if (!nb) {
				free(buf);
				if (ncap <= cap)
					errno = EFBIG;
				return -1;
			}
			buf = nb;
			cap = ncap;
		}
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			free(buf);
			errno = e;
			return -1;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > max) {
			free(buf);
			errno = EFBIG;
			return -1;
		}
	}
	*out = buf;
	*len = n;
	return 0;
}

static void import_error(void *arg, long line, const char *message)
{
	if (line > 0)
		fprintf(stderr, "%s:%ld: %s\n", (const char *)arg, line, message);
	else
		fprintf(stderr, "plsc: %s\n", message);
}

static int users_import(pl_dir_t *d, const char *path)
{
	int is_stdin = strcmp(path, "-") == 0;
	int fd = is_stdin ? 0 : open(path, O_RDONLY | O_CLOEXEC);
	char *text = NULL;
	size_t len = 0;
	long good = 0, bad = 0;
	if (fd < 0 || read_all(fd, IMPORT_MAX, &text, &len) < 0) {
		if (errno == EFBIG)
			fprintf(stderr, "plsc: %s: larger than %u MiB; split it "
					"and import the parts\n",
				path, IMPORT_MAX >> 20);
		else
			fprintf(stderr, "plsc: %s: %s\n", path, strerror(errno));
		if (fd > 0)
			close(fd);
		return EXIT_FAIL;
	}
	if (!is_stdin)
		close(fd);
	int rc = pl_dir_user_import_csv(d, text, len, import_error, (void *)path,
					&good, &bad);
	free(text);
	if (rc < 0)
		return EXIT_FAIL;
	printf("imported %ld user%s, %ld line%s with errors\n", good,
	       good == 1 ? "" : "s", bad, bad == 1 ? "" : "s");
	return bad ? EXIT_FAIL : EXIT_OK;
}

/* Badge IDs are masked in the table (they open doors, and screens are
 * seen over shoulders); --show-badges shows them whole, as --json does. */
/* Does this PIN work for this user (a PIN set here, or one a sync took
 * from the identity source)? The same check as every PIN's. */
static int users_check_pin(pl_dir_t *d, const char *username, const char *pin_file)
{
	char pin[PIN_BUF];
	pl_err_t err = { "" };
	if (plsc_read_secret_file(pin_file, "PIN", pin, sizeof(pin), PIN_MAX) < 0)
		return EXIT_FAIL;
	int ok = pl_dir_pin_check(d, username, pin, &err);
	explicit_bzero(pin, sizeof(pin));
	if (ok < 0) {
		fprintf(stderr, "plsc: %s\n", err.msg);
		return EXIT_FAIL;
	}
	printf("%s\n", ok ? "PIN right" : "PIN wrong (or no PIN set)");
	return ok ? EXIT_OK : EXIT_FAIL;
}

static int users_list(pl_dir_t *d, int as_json, int show_badges)
{
	pl_dir_user_t *v = NULL;
	size_t n = 0;
	pl_err_t err;
	if (pl_dir_user_list(d, &v, &n, &err) < 0) {
		fprintf(stderr, "plsc: %s\n", err.msg);
		return EXIT_FAIL;
	}
	json_t *arr = json_array();
	if (!as_json)
		printf("%-20s %-24s %-28s %-4s %-6s %s\n", "USER", "NAME", "E-MAIL",
		       "PIN", "SOURCE", "BADGES");
	for (size_t i = 0; i < n; i++) {
		if (as_json) {
			json_array_append_new(arr, pl_dir_user_json(&v[i]));
			continue;
		}
		char masked[PL_DIR_MAX_BADGES * 72] = "";
		for (int k = 0; k < v[i].nbadges; k++) {
			char m[80];
			if (show_badges)
				pl_strlcpy(m, v[i].badges[k], sizeof(m));
			else
				pl_badge_mask(v[i].badges[k], m, sizeof(m));
			size_t off = strlen(masked);
			snprintf(masked + off, sizeof(masked) - off, "%s%s", k ? "," : "", m);
		}
		printf("%-20s %-24s %-28s %-4s %-6s %s\n", v[i].username, v[i].display_name,
		       v[i].nemails ? v[i].emails[0] : "", v[i].has_pin ? "yes" : "no",
		       v[i].source, masked);
	}
	plsc_print_list("users", arr, as_json);
	free(v);
	return EXIT_OK;
}

int plsc_cmd_users(plsc_t *p, int argc, char **argv)
{
	pl_dir_t *d;
	pl_err_t err;
	const char *sub = argc >= 2 ? argv[1] : "";
	int rc;
	if (!((strcmp(sub, "add") == 0 && argc >= 3) ||
	      (strcmp(sub, "del") == 0 && argc == 3) ||
	      (strcmp(sub, "import") == 0 && argc == 3) ||
	      (strcmp(sub, "check-pin") == 0 &&
	       (argc == 3 || (argc == 5 && strcmp(argv[3], "--pin-file") == 0))) ||
	      (strcmp(sub, "list") == 0 && argc <= 4))) {
		fprintf(stderr, "Usage: plsc users add USERNAME [options] | del USERNAME | "
				"list [--json] [--show-badges] | import FILE.csv | "
				"check-pin USERNAME [--pin-file F]\n");
		return EXIT_USAGE;
	}
	int as_json = 0, show_badges = 0;
	for (int i = 2; strcmp(sub, "list") == 0 && i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			as_json = 1;
		else if (strcmp(argv[i], "--show-badges") == 0)
			show_badges = 1;
		else {
			fprintf(stderr, "plsc: users list: unknown option '%s'\n", argv[i]);
			return EXIT_USAGE;
		}
	}
	if ((rc = plsc_open_dir(p, &d)) != EXIT_OK)
		return rc;
	if (strcmp(sub, "add") == 0) {
		rc = users_add(d, argc - 1, argv + 1);
	} else if (strcmp(sub, "del") == 0) {
		rc = pl_dir_user_del(d, argv[2], &err) < 0 ? EXIT_FAIL : EXIT_OK;
		if (rc)
			fprintf(stderr, "plsc: %s\n", err.msg);
		else
			printf("user %s deleted\n", argv[2]);
	} else if (strcmp(sub, "import") == 0) {
		rc = users_import(d, argv[2]);
	} else if (strcmp(sub, "check-pin") == 0) {
		rc = users_check_pin(d, argv[2], argc == 5 ? argv[4] : "-");
	} else {
		rc = users_list(d, as_json, show_badges);
	}
	pl_dir_close(d);
	return rc;
}

/* ---- readers ---- */

static int readers_add(pl_dir_t *d, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "address", required_argument, NULL, 'a' },
		{ "printer", required_argument, NULL, 'p' },
		{ "direction", required_argument, NULL, 'd' },
		{ "port", required_argument, NULL, 'P' },
		{ "preset", required_argument, NULL, 's' },
		{ "format", required_argument, NULL, 'f' },
		{ "mode", required_argument, NULL, 'm' },
		{ "replace", no_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	pl_dir_reader_t r;
	pl_badge_format_t fmt;
	pl_err_t err;
	const char *preset = NULL, *format = NULL;
	int replace = 0, o;
	memset(&r, 0, sizeof(r));
	pl_strlcpy(r.direction, "connect", sizeof(r.direction));
	pl_strlcpy(r.mode, "most-recent", sizeof(r.mode));
	optind = 0;
	while ((o = getopt_long(argc, argv, "a:p:d:P:s:f:m:r", opts, NULL)) != -1) {
		switch (o) {
		case 'a': pl_strlcpy(r.address, optarg, sizeof(r.address)); break;
		case 'p': pl_strlcpy(r.printer, optarg, sizeof(r.printer)); break;
		case 'd': pl_strlcpy(r.direction, optarg, sizeof(r.direction)); break;
		case 'P': {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*end || v < 1 || v > 65535) {
				fprintf(stderr, "plsc: --port expects a number from 1 to 65535\n");
				return EXIT_USAGE;
			}
			r.port = (int)v;
			break;
		}
		case 's': preset = optarg; break;
		case 'f': format = optarg; break;
		case 'm': pl_strlcpy(r.mode, optarg, sizeof(r.mode)); break;
		case 'r': replace = 1; break;
		default: return EXIT_USAGE;
		}
	}
	if (optind + 1 != argc || !r.address[0] || !r.printer[0] || (preset && format)) {
		fprintf(stderr, "Usage: plsc readers add NAME --address A --printer P "
				"[--direction connect|listen] [--port N]\n"
				"       [--preset elatec-tcpconv2|rfideas-e241 | --format JSON] "
				"[--mode most-recent|all] [--replace]\n");
		return EXIT_USAGE;
	}
	pl_strlcpy(r.name, argv[optind], sizeof(r.name));
	if (!format) {
		json_t *j = json_pack("{s:s}", "preset", preset ? preset : "elatec-tcpconv2");
		char *s = json_dumps(j, JSON_COMPACT);
		pl_strlcpy(r.format, s ? s : "", sizeof(r.format));
		free(s);
		json_decref(j);
	} else {
		pl_strlcpy(r.format, format, sizeof(r.format));
	}
	if (pl_badge_format_parse(r.format, &fmt, &err) < 0 ||
	    pl_dir_reader_put(d, &r, replace, &err) < 0) {
		fprintf(stderr, "plsc: %s\n", err.msg);
		return EXIT_FAIL;
	}
	printf("reader %s %s (%s %s%s%.0d) -> %s, %s\n", r.name,
	       replace ? "saved" : "added", r.direction, r.address,
	       r.port ? ":" : "", r.port, r.printer, r.mode);
	return EXIT_OK;
}

static int readers_list(pl_dir_t *d, int as_json)
{
	pl_dir_reader_t *v = NULL;
	size_t n = 0;
	pl_err_t err;
	if (pl_dir_reader_list(d, &v, &n, &err) < 0) {
		fprintf(stderr, "plsc: %s\n", err.msg);
		return EXIT_FAIL;
	}
	json_t *arr = json_array();
	if (!as_json)
		printf("%-16s %-8s %-22s %-16s %-12s %s\n", "READER", "DIR", "ADDRESS",
		       "PRINTER", "MODE", "FORMAT");
	for (size_t i = 0; i < n; i++) {
		char addr[300];
		snprintf(addr, sizeof(addr), "%s%s%.0d", v[i].address, v[i].port ? ":" : "",
			 v[i].port);
		if (as_json)
			json_array_append_new(arr, pl_dir_reader_json(&v[i]));
		else
			printf("%-16s %-8s %-22s %-16s %-12s %s\n", v[i].name, v[i].direction,
			       addr, v[i].printer, v[i].mode, v[i].format);
	}
	plsc_print_list("readers", arr, as_json);
	free(v);
	return EXIT_OK;
}

int plsc_cmd_readers(plsc_t *p, int argc, char **argv)
{
	pl_dir_t *d;
	pl_err_t err;
	const char *sub = argc >= 2 ? argv[1] : "";
	int rc;
	if (!((strcmp(sub, "add") == 0 && argc >= 3) ||
	      (strcmp(sub, "del") == 0 && argc == 3) ||
	      (strcmp(sub, "list") == 0 && argc <= 3))) {
		fprintf(stderr, "Usage: plsc readers add NAME [options] | del NAME | list [--json]\n");
		return EXIT_USAGE;
	}
	if ((rc = plsc_open_dir(p, &d)) != EXIT_OK)
		return rc;
	if (strcmp(sub, "add") == 0) {
		rc = readers_add(d, argc - 1, argv + 1);
	} else if (strcmp(sub, "del") == 0) {
		rc = pl_dir_reader_del(d, argv[2], &err) < 0 ? EXIT_FAIL : EXIT_OK;
		if (rc)
			fprintf(stderr, "plsc: %s\n", err.msg);
		else
			printf("reader %s deleted\n", argv[2]);
	} else {
		rc = readers_list(d, argc == 3 && strcmp(argv[2], "--json") == 0);
	}
	pl_dir_close(d);
	return rc;
}
