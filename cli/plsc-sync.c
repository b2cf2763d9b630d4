/* plsc sync now [--dry-run] [--json] [NAME]: a sync of IdentitySync at
 * once, relayed by the supervisor (CTL_SYNC), and what it changed, or
 * (--dry-run) would change. The service's report is JSON (PAYLOAD). */
#include "plsc.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "pl_proto.h"
#include "pl_util.h"

/* Above the supervisor's own wait (55 s), which answers first. */
#define SYNC_TIMEOUT_MS 65000

static void print_list(json_t *r, const char *key, const char *title)
{
	json_t *arr = json_object_get(r, key), *it;
	size_t i;
	if (json_array_size(arr) == 0)
		return;
	printf("%s:\n", title);
	json_array_foreach(arr, i, it) {
		const char *change = json_string_value(json_object_get(it, "change"));
		const char *user = json_string_value(json_object_get(it, "user"));
		const char *was = json_string_value(json_object_get(it, "was"));
		const char *msg = json_string_value(json_object_get(it, "message"));
		const char *dn = json_string_value(json_object_get(it, "dn"));
		const char *field = json_string_value(json_object_get(it, "field"));
		if (change && was)
			printf("  %-8s %s (was %s)\n", change, user ? user : "", was);
		else if (change && field)
			printf("  %-8s %s (%s)\n", change, user ? user : "", field);
		else if (change)
			printf("  %-8s %s\n", change, user ? user : "");
		else
			printf("  %s: %s\n", user && *user ? user : dn ? dn : "?", msg ? msg : "");
	}
}

static int show(const pl_frame_t *f, int as_json)
{
	char msg[512] = "";
	pl_field_t fl;
	json_t *r = NULL;
	(void)pl_frame_get_str(f, PL_TAG_MESSAGE, msg, sizeof(msg));
	if (pl_frame_find(f, PL_TAG_PAYLOAD, &fl) == 1)
		r = json_loadb((const char *)fl.val, fl.len, 0, NULL);
	if (as_json) {
		json_t *out = json_is_object(r) ? json_incref(r) : json_object();
		json_object_set_new(out, "message", json_string(msg));
		json_object_set_new(out, "ok", json_boolean(!(f->flags & PL_FLAG_ERROR)));
		json_dumpf(out, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(out);
	} else {
		printf("%s\n", msg);
		print_list(r, "changes", "changes");
		print_list(r, "errors", "errors");
	}
	json_decref(r);
	return (f->flags & PL_FLAG_ERROR) ? EXIT_FAIL : EXIT_OK;
}

int plsc_cmd_sync(plsc_t *p, int argc, char **argv)
{
	int dry = 0, as_json = 0;
	const char *name = NULL;
	if (argc < 2 || strcmp(argv[1], "now") != 0)
		goto usage;
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--dry-run") == 0)
			dry = 1;
		else if (strcmp(argv[i], "--json") == 0)
			as_json = 1;
		else if (!name && argv[i][0] != '-' && pl_valid_name(argv[i]))
			name = argv[i];
		else
			goto usage;
	}
	pl_ctl_client_t c;
	pl_frame_t f;
	pl_msg_t m;
	int rc = plsc_connect(p, &c);
	if (rc)
		return rc;
	if (pl_msg_init(&m, PL_MSG_CTL_SYNC, 0, 0) < 0) {
		pl_ctl_close(&c);
		return EXIT_FAIL;
	}
	if (name)
		pl_msg_add_str(&m, PL_TAG_NAME, name);
	pl_msg_add_u8(&m, PL_TAG_DRY_RUN, (uint8_t)dry);
	int prc = pl_ctl_call(&c, &m, &f, SYNC_TIMEOUT_MS);
	pl_msg_free(&m);
	if (prc < 0) {
		fprintf(stderr, "plsc: sync: %s\n", pl_proto_strerror(prc));
		pl_ctl_close(&c);
		return EXIT_FAIL;
	}
	rc = show(&f, as_json);
	pl_ctl_close(&c);
	return rc;
usage:
	fprintf(stderr, "Usage: plsc sync now [--dry-run] [--json] [SERVICE]\n");
	return EXIT_USAGE;
}
