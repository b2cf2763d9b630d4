/* plsc users | readers: people, their badges and PINs, and the network
 * badge readers, in the directory (opened directly, like printers). */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "pl_badge.h"
#include "pl_directory.h"
#include "pl_util.h"
#include "plsc.h"

static int add_badge(pl_dir_user_t *u, const char *text, char *msg, size_t msz)
{
	pl_err_t err;
	if (u->nbadges >= PL_DIR_MAX_BADGES) {
		snprintf(msg, msz, "at most %d badges a user", PL_DIR_MAX_BADGES);
		return -1;
	}
	if (pl_badge_normalize(text, u->badges[u->nbadges], &err) < 0) {
		(void)pl_fmt(msg, msz, "badge '%s': %s", text, err.msg);
		return -1;
	}
	u->nbadges++;
	return 0;
}

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
		{ "pin", required_argument, NULL, 'p' },
		{ "groups", required_argument, NULL, 'g' },
		{ "replace", no_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	pl_dir_user_t u;
	pl_err_t err;
	char msg[512];
	const char *pin = NULL;
	int replace = 0, o;
	memset(&u, 0, sizeof(u));
	pl_strlcpy(u.source, "local", sizeof(u.source));
	optind = 0;
	while ((o = getopt_long(argc, argv, "n:e:b:p:g:r", opts, NULL)) != -1) {
		switch (o) {
		case 'n': pl_strlcpy(u.display_name, optarg, sizeof(u.display_name)); break;
		case 'e':
			if (add_email(&u, optarg, msg, sizeof(msg)) < 0)
				goto bad;
			break;
		case 'b':
			if (add_badge(&u, optarg, msg, sizeof(msg)) < 0)
				goto bad;
			break;
		case 'p': pin = optarg; break;
		case 'g': pl_strlcpy(u.groups, optarg, sizeof(u.groups)); break;
		case 'r': replace = 1; break;
		default: return EXIT_USAGE;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "Usage: plsc users add USERNAME [--name N] [--email E]... "
				"[--badge ID]... [--pin PIN] [--groups G,...] [--replace]\n");
		return EXIT_USAGE;
	}
	pl_strlcpy(u.username, argv[optind], sizeof(u.username));
	if (pl_dir_user_put(d, &u, pin, replace, &err) < 0) {
		fprintf(stderr, "plsc: %s\n", err.msg);
		return EXIT_FAIL;
	}
	printf("user %s %s\n", u.username, replace ? "saved" : "added");
	return EXIT_OK;
bad:
	fprintf(stderr, "plsc: %s\n", msg);
	return EXIT_FAIL;
}

/* ---- CSV import: username, display name, email, badge IDs, PIN ---- */

/* Split one CSV record (RFC 4180 quoting, no embedded newlines) into at
 * most nf fields, in place. Returns the field count or -1. */
static int csv_split(char *line, char **f, int nf)
{
	int n = 0;
	char *p = line, *o;
	while (n < nf) {
		f[n++] = o = p;
		if (*p == '"') {
			p++;
			for (;;) {
				if (*p == '\0')
					return -1; /* unterminated quote */
				if (*p == '"' && p[1] == '"') {
					*o++ = '"';
					p += 2;
				} else if (*p == '"') {
					p++;
					break;
				} else {
					*o++ = *p++;
				}
			}
			if (*p != ',' && *p != '\0')
				return -1;
		} else {
			while (*p && *p != ',')
				*o++ = *p++;
		}
		int more = *p == ',';
		if (*p)
			p++;
		*o = '\0';
		if (!more)
			return n;
	}
	return -1; /* too many fields */
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

static int import_line(pl_dir_t *d, char *line, char *msg, size_t msz)
{
	char *f[5] = { 0 };
	pl_dir_user_t u;
	pl_err_t err;
	int n = csv_split(line, f, 5);
	if (n < 1 || !trim(f[0])[0]) {
		snprintf(msg, msz, n < 0 ? "malformed CSV (quotes or too many columns)"
					 : "no username");
		return -1;
	}
	memset(&u, 0, sizeof(u));
	pl_strlcpy(u.source, "local", sizeof(u.source));
	pl_strlcpy(u.username, trim(f[0]), sizeof(u.username));
	if (n > 1)
		pl_strlcpy(u.display_name, trim(f[1]), sizeof(u.display_name));
	if (n > 2 && trim(f[2])[0] && add_email(&u, trim(f[2]), msg, msz) < 0)
		return -1;
	if (n > 3) {
		char *save = NULL;
		for (char *b = strtok_r(f[3], " ;|", &save); b; b = strtok_r(NULL, " ;|", &save))
			if (add_badge(&u, b, msg, msz) < 0)
				return -1;
	}
	const char *pin = (n > 4 && trim(f[4])[0]) ? trim(f[4]) : NULL;
	if (pl_dir_user_put(d, &u, pin, 1, &err) < 0) {
		(void)pl_fmt(msg, msz, "%s", err.msg);
		return -1;
	}
	return 0;
}

static int users_import(pl_dir_t *d, const char *path)
{
	FILE *fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	char line[4096], msg[600];
	long lineno = 0, good = 0, bad = 0;
	if (!fp) {
		fprintf(stderr, "plsc: %s: %s\n", path, strerror(errno));
		return EXIT_FAIL;
	}
	while (fgets(line, sizeof(line), fp)) {
		lineno++;
		size_t n = strlen(line);
		if (n && line[n - 1] != '\n' && !feof(fp)) {
			fprintf(stderr, "%s:%ld: line too long; skipped\n", path, lineno);
			bad++;
			int c;
			while ((c = fgetc(fp)) != EOF && c != '\n')
				;
			continue;
		}
		line[strcspn(line, "\r\n")] = '\0';
		char *t = trim(line);
		if (!t[0] || t[0] == '#')
			continue;
		if (lineno == 1 && strncasecmp(t, "username", 8) == 0)
			continue; /* a header row */
		if (import_line(d, t, msg, sizeof(msg)) < 0) {
			fprintf(stderr, "%s:%ld: %s\n", path, lineno, msg);
			bad++;
		} else {
			good++;
		}
	}
	if (fp != stdin)
		fclose(fp);
	printf("imported %ld user%s, %ld line%s with errors\n", good,
	       good == 1 ? "" : "s", bad, bad == 1 ? "" : "s");
	return bad ? EXIT_FAIL : EXIT_OK;
}

static int users_list(pl_dir_t *d, int as_json)
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
		json_t *em = json_array(), *bd = json_array();
		char masked[PL_DIR_MAX_BADGES * 72] = "";
		for (int k = 0; k < v[i].nemails; k++)
			json_array_append_new(em, json_string(v[i].emails[k]));
		for (int k = 0; k < v[i].nbadges; k++) {
			char m[80];
			json_array_append_new(bd, json_string(v[i].badges[k]));
			pl_badge_mask(v[i].badges[k], m, sizeof(m));
			size_t off = strlen(masked);
			snprintf(masked + off, sizeof(masked) - off, "%s%s", k ? "," : "", m);
		}
		if (as_json) {
			json_array_append_new(arr, json_pack("{s:s,s:s,s:o,s:o,s:s,s:b,s:s}",
				"username", v[i].username, "display_name", v[i].display_name,
				"emails", em, "badges", bd, "groups", v[i].groups,
				"has_pin", v[i].has_pin, "source", v[i].source));
		} else {
			printf("%-20s %-24s %-28s %-4s %-6s %s\n", v[i].username,
			       v[i].display_name, v[i].nemails ? v[i].emails[0] : "",
			       v[i].has_pin ? "yes" : "no", v[i].source, masked);
			json_decref(em);
			json_decref(bd);
		}
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
	      (strcmp(sub, "list") == 0 && argc <= 3))) {
		fprintf(stderr, "Usage: plsc users add USERNAME [options] | del USERNAME | "
				"list [--json] | import FILE.csv\n");
		return EXIT_USAGE;
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
	} else {
		rc = users_list(d, argc == 3 && strcmp(argv[2], "--json") == 0);
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
			json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:i,s:s,s:s,s:s}",
				"name", v[i].name, "direction", v[i].direction,
				"address", v[i].address, "port", v[i].port,
				"printer", v[i].printer, "mode", v[i].mode,
				"format", v[i].format));
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
