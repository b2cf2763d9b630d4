/* plsc printers show NAME [--json] | snmp NAME OPTIONS, and the STATUS
 * column of plsc printers list: the last SNMP poll as
 * PrinterLogicServiceSNMP left it in its status file (pl_prstatus.h),
 * read-only, whether or not the supervisor runs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "pl_directory.h"
#include "pl_prstatus.h"
#include "pl_util.h"
#include "plsc.h"

pl_prstatus_t *plsc_status_open(const plsc_t *p)
{
	char path[PATH_MAX];
	pl_err_t err = { "" };
	if (pl_prstatus_path(p->state_dir, path, sizeof(path)) < 0)
		return NULL;
	return pl_prstatus_open(path, 0, &err); /* none yet: no status column values */
}

static void when(json_t *row, char *out, size_t size)
{
	time_t t = (time_t)(json_integer_value(json_object_get(row, "polled_ms")) / 1000);
	struct tm tm;
	localtime_r(&t, &tm);
	strftime(out, size, "%Y-%m-%d %H:%M:%S", &tm);
}

static void show_supplies(json_t *sup)
{
	size_t i;
	json_t *s;
	if (json_array_size(sup) == 0) {
		printf("  supplies:   none reported\n");
		return;
	}
	printf("  supplies:\n");
	json_array_foreach(sup, i, s) {
		json_t *pct = json_object_get(s, "percent");
		const char *lt = json_string_value(json_object_get(s, "level_text"));
		char level[48];
		if (json_is_integer(pct))
			snprintf(level, sizeof(level), "%lld%%%s", (long long)json_integer_value(pct),
				 strcmp(json_string_value(json_object_get(s, "class")), "receptacle")
					 ? "" : " room left");
		else
			snprintf(level, sizeof(level), "%s", lt ? lt : "unknown");
		printf("    %-32s %s\n", json_string_value(json_object_get(s, "description")),
		       level);
	}
}

static void show_text(const char *name, json_t *row)
{
	char t[32];
	json_t *snmp = json_object_get(row, "snmp"), *v;
	size_t i;
	when(row, t, sizeof(t));
	printf("printer %s\n", name);
	printf("  status:     %s\n", pl_prstatus_word(row));
	const char *why = json_string_value(json_object_get(row, "why"));
	if (why && why[0])
		printf("  detail:     %s\n", why);
	printf("  polled:     %s (%s:%lld, profile %s, every %lld s)\n", t,
	       json_string_value(json_object_get(row, "host")) ?: "-",
	       (long long)json_integer_value(json_object_get(row, "port")),
	       json_string_value(json_object_get(row, "profile")) ?: "-",
	       (long long)json_integer_value(json_object_get(row, "interval_s")));
	printf("  alerts:    ");
	json_array_foreach(json_object_get(row, "alerts"), i, v)
		printf(" %s", json_string_value(v));
	printf("%s\n", json_array_size(json_object_get(row, "alerts")) ? "" : " none");
	if (!snmp)
		return;
	printf("  model:      %s\n", json_string_value(json_object_get(snmp, "sysdescr")));
	printf("  serial:     %s\n", json_string_value(json_object_get(snmp, "serial")));
	json_t *pages = json_object_get(snmp, "pages");
	if (json_is_integer(pages))
		printf("  pages:      %lld\n", (long long)json_integer_value(pages));
	printf("  errors:    ");
	json_array_foreach(json_object_get(snmp, "errors"), i, v)
		printf(" %s", json_string_value(v));
	printf("%s\n", json_array_size(json_object_get(snmp, "errors")) ? "" : " none");
	show_supplies(json_object_get(snmp, "supplies"));
	json_array_foreach(json_object_get(snmp, "printer_alerts"), i, v)
		printf("  printer alert: %s %s (code %lld)\n",
		       json_string_value(json_object_get(v, "severity")),
		       json_string_value(json_object_get(v, "description")),
		       (long long)json_integer_value(json_object_get(v, "code")));
}

int plsc_printers_show(const plsc_t *p, pl_dir_t *d, const char *name, int as_json)
{
	pl_dir_printer_t pr;
	pl_err_t err = { "" };
	char opts[PL_DIR_SNMP_TEXT_MAX];
	int rc = pl_dir_printer_get(d, name, &pr, &err);
	if (rc != 0) {
		fprintf(stderr, "plsc: %s\n", rc > 0 ? "no such printer" : err.msg);
		return EXIT_FAIL;
	}
	if (pl_dir_snmp_get(d, name, opts, &err) < 0)
		opts[0] = '\0';
	pl_prstatus_t *st = plsc_status_open(p);
	json_t *row = st ? pl_prstatus_get(st, name, &err) : NULL;
	pl_prstatus_close(st);
	if (as_json) {
		json_t *j = pl_dir_printer_json(&pr);
		json_object_set_new(j, "snmp_options", json_string(opts[0] ? opts : "default"));
		json_object_set_new(j, "status", json_string(pl_prstatus_word(row)));
		json_object_set_new(j, "snmp_status", row ? json_incref(row) : json_null());
		char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		printf("%s\n", s ? s : "{}");
		free(s);
		json_decref(j);
	} else {
		printf("printer %s\n  uri:        %s\n  location:   %s\n  snmp:       %s\n", pr.name,
		       pr.uri, pr.location, opts[0] ? opts : "default");
		if (row)
			show_text(name, row);
		else
			printf("  status:     - (not polled yet: is PrinterLogicServiceSNMP running?)\n");
	}
	json_decref(row);
	return EXIT_OK;
}

int plsc_printers_snmp(pl_dir_t *d, const char *name, const char *opts)
{
	pl_err_t err = { "" };
	if (pl_dir_snmp_set(d, name, opts, &err) < 0) {
		fprintf(stderr, "plsc: %s\n", err.msg);
		return EXIT_FAIL;
	}
	printf("printer %s: SNMP options %s\n", name, opts[0] ? opts : "default");
	return EXIT_OK;
}
