/* plsc printers | token: the directory (SQLite) is opened directly, so
 * these work whether or not the supervisor runs. Run as root, plsc keeps
 * the database owned by the services' user, who must be able to write
 * it (SQLite gives its -wal and -shm files the database file's owner). */
#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "pl_directory.h"
#include "pl_printer.h"
#include "pl_prstatus.h"
#include "pl_util.h"
#include "plsc.h"
#include "sv.h"

int plsc_open_dir(const plsc_t *p, pl_dir_t **d)
{
	char dir[PATH_MAX], db[PATH_MAX + 16], msg[PATH_MAX + 128];
	pl_err_t err;

	if (pl_fmt(dir, sizeof(dir), "%s/directory", p->state_dir) < 0)
		return EXIT_FAIL;
	snprintf(db, sizeof(db), "%s/directory.db", dir);
	if (pl_mkdir_p(dir, 0750) < 0) {
		fprintf(stderr, "plsc: cannot create %s: %s\n", dir, strerror(errno));
		return EXIT_FAIL;
	}
	if (pl_dir_open(d, db, 0, &err) < 0) {
		fprintf(stderr, "plsc: %s\n", err.msg);
		return EXIT_FAIL;
	}
	/* Files root made here (a new database, its WAL) go to the writer
	 * and the services' group, as the supervisor leaves them; the state
	 * dir, perhaps made just now under root's umask, stays enterable. */
	if (p->dir_owned &&
	    (sv_privsep_base_dir(p->state_dir, msg, sizeof(msg)) < 0 ||
	     sv_privsep_directory(p->state_dir, p->dir_uid, p->dir_gid, msg,
				  sizeof(msg)) < 0))
		fprintf(stderr, "plsc: warning: %s\n", msg);
	return EXIT_OK;
}

static int printers_add(pl_dir_t *d, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "location", required_argument, NULL, 'l' },
		{ "formats", required_argument, NULL, 'f' },
		{ "replace", no_argument, NULL, 'r' },
		{ "email", required_argument, NULL, 'e' },
		{ "guest", no_argument, NULL, 'g' },
		{ NULL, 0, NULL, 0 },
	};
	pl_dir_printer_t pr;
	pl_err_t err;
	int replace = 0, o;
	memset(&pr, 0, sizeof(pr));
	optind = 0;
	while ((o = getopt_long(argc, argv, "l:f:re:g", opts, NULL)) != -1) {
		if (o == 'l') pl_strlcpy(pr.location, optarg, sizeof(pr.location));
		else if (o == 'e') pl_strlcpy(pr.email, optarg, sizeof(pr.email));
		else if (o == 'g') pr.guest = 1;
		else if (o == 'f') pl_strlcpy(pr.formats, optarg, sizeof(pr.formats));
		else if (o == 'r') replace = 1;
		else return EXIT_USAGE;
	}
	if (optind + 2 != argc) {
		fprintf(stderr, "Usage: plsc printers add NAME URI [--location L] "
				"[--formats TYPE,...] [--email ADDRESS] [--guest] [--replace]\n");
		return EXIT_USAGE;
	}
	pl_strlcpy(pr.name, argv[optind], sizeof(pr.name));
	pl_strlcpy(pr.uri, argv[optind + 1], sizeof(pr.uri));
	if (pl_printer_check_uri(pr.uri, &err) < 0 ||
	    pl_dir_printer_add(d, &pr, replace, &err) < 0) {
		fprintf(stderr, "plsc: %s\n", err.msg);
		return EXIT_FAIL;
	}
	printf("printer %s added (%s)\n", pr.name, pr.uri);
	return EXIT_OK;
}

/* STATUS: the last SNMP poll's one word (PrinterLogicServiceSNMP), "-"
 * when there is none. */
static int printers_list(const plsc_t *p, pl_dir_t *d, int as_json)
{
	pl_dir_printer_t *v = NULL;
	size_t n = 0;
	pl_err_t err;
	if (pl_dir_printer_list(d, &v, &n, &err) < 0) {
		fprintf(stderr, "plsc: %s\n", err.msg);
		return EXIT_FAIL;
	}
	pl_prstatus_t *st = plsc_status_open(p);
	json_t *all = st ? pl_prstatus_all(st, &err) : NULL;
	pl_prstatus_close(st);
	json_t *arr = json_array();
	if (!as_json)
		printf("%-24s %-12s %-40s %-20s %-20s %s\n", "PRINTER", "STATUS", "URI",
		       "LOCATION", "FORMATS", "EMAIL");
	for (size_t i = 0; i < n; i++) {
		const char *word = pl_prstatus_word(json_object_get(all, v[i].name));
		if (as_json) {
			json_t *j = pl_dir_printer_json(&v[i]);
			json_object_set_new(j, "status", json_string(word));
			json_array_append_new(arr, j);
		} else {
			printf("%-24s %-12s %-40s %-20s %-20s %s%s\n", v[i].name, word, v[i].uri,
			       v[i].location, v[i].formats[0] ? v[i].formats : "(any)",
			       v[i].email[0] ? v[i].email : "-", v[i].guest ? " (guest)" : "");
		}
	}
	json_decref(all);
	plsc_print_list("printers", arr, as_json);
	free(v);
	return EXIT_OK;
}

int plsc_cmd_printers(plsc_t *p, int argc, char **argv)
{
	pl_dir_t *d;
	pl_err_t err;
	int rc;
	if (argc < 2) {
		fprintf(stderr, "Usage: plsc printers add|del|list|show|snmp ...\n");
		return EXIT_USAGE;
	}
	const char *sub = argv[1];
	if (strcmp(sub, "add") && strcmp(sub, "del") && strcmp(sub, "list") &&
	    strcmp(sub, "show") && strcmp(sub, "snmp")) {
		fprintf(stderr, "plsc: printers: unknown command '%s'\n", sub);
		return EXIT_USAGE;
	}
	if (strcmp(sub, "del") == 0 && argc != 3) {
		fprintf(stderr, "Usage: plsc printers del NAME\n");
		return EXIT_USAGE;
	}
	if (strcmp(sub, "show") == 0 &&
	    (argc < 3 || argc > 4 || (argc == 4 && strcmp(argv[3], "--json") != 0))) {
		fprintf(stderr, "Usage: plsc printers show NAME [--json]\n");
		return EXIT_USAGE;
	}
	if (strcmp(sub, "snmp") == 0 && argc != 4) {
		fprintf(stderr, "Usage: plsc printers snmp NAME OPTIONS|default\n"
				"  OPTIONS: off|on,interval=S,timeout=MS,retries=N,port=N,"
				"profile=NAME,host=HOST\n");
		return EXIT_USAGE;
	}
	if ((rc = plsc_open_dir(p, &d)) != EXIT_OK)
		return rc;
	if (strcmp(sub, "add") == 0) {
		rc = printers_add(d, argc - 1, argv + 1);
	} else if (strcmp(sub, "del") == 0) {
		rc = pl_dir_printer_del(d, argv[2], &err) < 0 ? EXIT_FAIL : EXIT_OK;
		if (rc)
			fprintf(stderr, "plsc: %s\n", err.msg);
		else
			printf("printer %s deleted\n", argv[2]);
	} else if (strcmp(sub, "show") == 0) {
		rc = plsc_printers_show(p, d, argv[2], argc == 4);
	} else if (strcmp(sub, "snmp") == 0) {
		rc = plsc_printers_snmp(d, argv[2], argv[3]);
	} else {
		rc = printers_list(p, d, argc == 3 && strcmp(argv[2], "--json") == 0);
	}
	pl_dir_close(d);
	return rc;
}

static int token_list(pl_dir_t *d, int as_json)
{
	pl_dir_token_t *v = NULL;
	size_t n = 0;
	pl_err_t err;
	if (pl_dir_token_list(d, &v, &n, &err) < 0) {
		fprintf(stderr, "plsc: %s\n", err.msg);
		return EXIT_FAIL;
	}
	json_t *arr = json_array();
	if (!as_json)
		printf("%-24s %-10s %-8s %-20s %s\n", "WORKSTATION", "ID", "STATE",
		       "CREATED", "LAST USED");
	for (size_t i = 0; i < n; i++) {
		char cr[32] = "-", lu[32] = "never";
		time_t t = (time_t)(v[i].created_ms / 1000);
		strftime(cr, sizeof(cr), "%Y-%m-%d %H:%M", localtime(&t));
		if (v[i].last_used_ms) {
			t = (time_t)(v[i].last_used_ms / 1000);
			strftime(lu, sizeof(lu), "%Y-%m-%d %H:%M", localtime(&t));
		}
		if (as_json)
			json_array_append_new(arr, json_pack("{s:s,s:s,s:b,s:I,s:I}",
				"workstation", v[i].workstation, "id", v[i].id,
				"revoked", v[i].revoked, "created_ms",
				(json_int_t)v[i].created_ms, "last_used_ms",
				(json_int_t)v[i].last_used_ms));
		else
			printf("%-24s %-10s %-8s %-20s %s\n", v[i].workstation, v[i].id,
			       v[i].revoked ? "revoked" : "active", cr, lu);
	}
	plsc_print_list("tokens", arr, as_json);
	free(v);
	return EXIT_OK;
}

int plsc_cmd_token(plsc_t *p, int argc, char **argv)
{
	pl_dir_t *d;
	pl_err_t err;
	char tok[PL_TOKEN_MAX];
	int rc;
	const char *sub = argc >= 2 ? argv[1] : "";
	int ok_shape = (strcmp(sub, "create") == 0 && argc == 3) ||
		       (strcmp(sub, "revoke") == 0 && argc == 3) ||
		       (strcmp(sub, "list") == 0 && argc <= 3);
	if (!ok_shape) {
		fprintf(stderr, "Usage: plsc token create WORKSTATION | list [--json] | "
				"revoke WORKSTATION|id:ID\n");
		return EXIT_USAGE;
	}
	if ((rc = plsc_open_dir(p, &d)) != EXIT_OK)
		return rc;
	if (strcmp(sub, "create") == 0) {
		rc = pl_dir_token_create(d, argv[2], tok, &err) < 0 ? EXIT_FAIL : EXIT_OK;
		if (rc == EXIT_OK) {
			printf("%s\n", tok);
			fprintf(stderr, "plsc: token for %s created; it is shown only "
					"this once. Store it on the workstation in a file "
					"readable only by root (e.g. /etc/plsc/token).\n", argv[2]);
		}
		memset(tok, 0, sizeof(tok));
	} else if (strcmp(sub, "revoke") == 0) {
		rc = pl_dir_token_revoke(d, argv[2], &err) < 0 ? EXIT_FAIL : EXIT_OK;
		if (rc == EXIT_OK)
			printf("revoked %s\n", argv[2]);
	} else {
		rc = token_list(d, argc == 3 && strcmp(argv[2], "--json") == 0);
	}
	if (rc == EXIT_FAIL && strcmp(sub, "list") != 0)
		fprintf(stderr, "plsc: %s\n", err.msg);
	pl_dir_close(d);
	return rc;
}
