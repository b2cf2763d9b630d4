/* CSV import of users into the directory, shared by `plsc users import`
 * and the web console's POST /api/v1/users/import: each record that
 * directory-csv.c parses is stored on its own with pl_dir_user_put, so a
 * bad line costs only itself. */
#include "directory-private.h"

#include "pl_util.h"

typedef struct {
	pl_dir_t *d;
	pl_dir_import_err_fn on_error;
	void *arg;
	long good, bad;
} import_t;

static int import_one(void *arg, long line, pl_dir_user_t *u, const char *pin,
		      const char *bad)
{
	import_t *im = arg;
	pl_err_t err;
	pl_dir_user_t old;
	/* The file has no groups or source column: an existing user keeps
	 * his (an LDAP-synced user stays "ldap", his groups stay). */
	if (!bad && pl_dir_user_get(im->d, u->username, &old, &err) == 0) {
		pl_strlcpy(u->groups, old.groups, sizeof(u->groups));
		pl_strlcpy(u->source, old.source, sizeof(u->source));
	}
	if (!bad && pl_dir_user_put(im->d, u, pin, 1, &err) < 0)
		bad = err.msg;
	if (bad) {
		im->bad++;
		if (im->on_error)
			im->on_error(im->arg, line, bad);
		return -1;
	}
	im->good++;
	return 0;
}

int pl_dir_user_import_csv(pl_dir_t *d, const char *text, size_t len,
			   pl_dir_import_err_fn on_error, void *arg,
			   long *imported, long *failed)
{
	return pl_dir_user_import_csv_from(d, text, len, 1, on_error, arg, imported,
					   failed);
}

int pl_dir_user_import_csv_from(pl_dir_t *d, const char *text, size_t len,
				long first_line, pl_dir_import_err_fn on_error,
				void *arg, long *imported, long *failed)
{
	import_t im = { .d = d, .on_error = on_error, .arg = arg };
	if (imported)
		*imported = 0;
	if (failed)
		*failed = 0;
	if (!d || (!text && len) || first_line < 1) {
		if (on_error)
			on_error(arg, 0, "import: no directory or no text");
		return -1;
	}
	pl_dir_users_csv_parse_from(text, len, first_line, import_one, &im);
	if (imported)
		*imported = im.good;
	if (failed)
		*failed = im.bad;
	return 0;
}
