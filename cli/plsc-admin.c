/* plsc admin: the administrators of the web console (plsc-console), in
 * the directory (opened directly, like users and printers). A password is
 * never taken from the command line (plsc-ask.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "pl_directory.h"
#include "plsc.h"

#define ADMIN_USAGE \
	"Usage: plsc admin add NAME | passwd NAME | del NAME | list [--json]\n"
/* A password and its line end, and one byte more to tell a longer line. */
#define PW_BUF (PL_DIR_ADMIN_PASSWORD_MAX + 3)

/* ---- commands ---- */

/* add (replace = 0) or passwd (replace = 1). */
static int admin_put(pl_dir_t *d, const char *name, int replace)
{
	char pw[PW_BUF];
	pl_err_t err;
	/* Say what is wrong before asking for a password, where we can; the
	 * put checks again. */
	int exists = pl_dir_admin_exists(d, name, &err);
	if (exists < 0) {
		fprintf(stderr, "plsc: %s\n", err.msg);
		return EXIT_FAIL;
	}
	if (exists && !replace) {
		fprintf(stderr, "plsc: administrator %s already exists "
				"(plsc admin passwd %s sets a new password)\n",
			name, name);
		return EXIT_FAIL;
	}
	if (!exists && replace) {
		fprintf(stderr, "plsc: no administrator %s\n", name);
		return EXIT_FAIL;
	}
	if (plsc_ask_secret("Password", "password", pw, sizeof(pw), PL_DIR_ADMIN_PASSWORD_MAX) < 0) {
		explicit_bzero(pw, sizeof(pw));
		return EXIT_FAIL;
	}
	int rc = pl_dir_admin_put(d, name, pw, replace, &err);
	explicit_bzero(pw, sizeof(pw));
	if (rc < 0) {
		fprintf(stderr, "plsc: %s\n", err.msg);
		return EXIT_FAIL;
	}
	if (replace)
		printf("password of %s changed\n", name);
	else
		printf("administrator %s added\n", name);
	return EXIT_OK;
}

static void fmt_time(char *buf, size_t sz, int64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	if (!localtime_r(&t, &tm) || strftime(buf, sz, "%Y-%m-%d %H:%M", &tm) == 0)
		snprintf(buf, sz, "-");
}

static int admin_list(pl_dir_t *d, int as_json)
{
	pl_dir_admin_t *v = NULL;
	size_t n = 0;
	pl_err_t err;
	if (pl_dir_admin_list(d, &v, &n, &err) < 0) {
		fprintf(stderr, "plsc: %s\n", err.msg);
		return EXIT_FAIL;
	}
	json_t *arr = json_array();
	if (!as_json)
		printf("%-24s %-17s %s\n", "ADMINISTRATOR", "CREATED",
		       "PASSWORD CHANGED");
	for (size_t i = 0; i < n; i++) {
		char cr[32], up[32];
		if (as_json) {
			json_array_append_new(arr, json_pack("{s:s,s:I,s:I}",
				"name", v[i].name,
				"created_ms", (json_int_t)v[i].created_ms,
				"updated_ms", (json_int_t)v[i].updated_ms));
			continue;
		}
		fmt_time(cr, sizeof(cr), v[i].created_ms);
		fmt_time(up, sizeof(up), v[i].updated_ms);
		printf("%-24s %-17s %s\n", v[i].name, cr, up);
	}
	plsc_print_list("admins", arr, as_json);
	free(v);
	return EXIT_OK;
}

int plsc_cmd_admin(plsc_t *p, int argc, char **argv)
{
	pl_dir_t *d;
	pl_err_t err;
	const char *sub = argc >= 2 ? argv[1] : "";
	int as_json = argc == 3 && strcmp(argv[2], "--json") == 0;
	int rc;
	if (!((strcmp(sub, "add") == 0 && argc == 3) ||
	      (strcmp(sub, "passwd") == 0 && argc == 3) ||
	      (strcmp(sub, "del") == 0 && argc == 3) ||
	      (strcmp(sub, "list") == 0 && (argc == 2 || as_json)))) {
		fputs(ADMIN_USAGE, stderr);
		return EXIT_USAGE;
	}
	if ((rc = plsc_open_dir(p, &d)) != EXIT_OK)
		return rc;
	if (strcmp(sub, "add") == 0 || strcmp(sub, "passwd") == 0) {
		rc = admin_put(d, argv[2], strcmp(sub, "passwd") == 0);
	} else if (strcmp(sub, "del") == 0) {
		rc = pl_dir_admin_del(d, argv[2], &err) < 0 ? EXIT_FAIL : EXIT_OK;
		if (rc)
			fprintf(stderr, "plsc: %s\n", err.msg);
		else
			printf("administrator %s deleted\n", argv[2]);
	} else {
		rc = admin_list(d, as_json);
	}
	pl_dir_close(d);
	return rc;
}
