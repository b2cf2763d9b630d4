/* Run-time enable/disable, persisted so that a service switched off stays
 * off across supervisor restarts: <state_dir>/supervisor/services.json,
 * {"Name": true|false}, replaced atomically (tmp + fsync + rename). */
#include "sv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pl_log.h"
#include "pl_util.h"

static int overrides_path(const sv_sup_t *sup, char *buf, size_t sz)
{
	return pl_fmt(buf, sz, "%s/supervisor/services.json",
		      sup->cfg.state_dir);
}

int sv_overrides_load(sv_sup_t *sup)
{
	char path[PATH_MAX];
	json_error_t jerr;

	if (overrides_path(sup, path, sizeof(path)) < 0)
		return -1;
	json_t *o = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!o) {
		if (errno == ENOENT || strstr(jerr.text, "No such file"))
			return 0;
		/* A broken overrides file must not stop the suite: the
		 * config's "enabled" applies and the admin is told. */
		pl_err("%s:%d:%d: %s; ignoring run-time enable/disable state",
		       path, jerr.line, jerr.column, jerr.text);
		return -1;
	}
	for (int i = 0; i < sup->nsvcs; i++) {
		json_t *v = json_object_get(o, sup->svcs[i]->conf.name);
		sup->svcs[i]->override = json_is_boolean(v) ? json_is_true(v) : -1;
	}
	json_decref(o);
	return 0;
}

int sv_overrides_save(sv_sup_t *sup)
{
	char path[PATH_MAX], dir[PATH_MAX];
	json_t *o = json_object();

	if (overrides_path(sup, path, sizeof(path)) < 0 ||
	    pl_fmt(dir, sizeof(dir), "%s/supervisor", sup->cfg.state_dir) < 0)
		return -1;
	for (int i = 0; i < sup->nsvcs; i++)
		if (sup->svcs[i]->override >= 0)
			json_object_set_new(o, sup->svcs[i]->conf.name,
					    json_boolean(sup->svcs[i]->override));
	char *text = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(o);
	if (!text)
		return -1;
	int rc = pl_mkdir_p(dir, 0700);
	if (rc == 0)
		rc = pl_write_file_atomic(path, text, strlen(text), 0600);
	if (rc < 0)
		pl_err("cannot save %s: %s", path, strerror(errno));
	free(text);
	return rc;
}
