/* A sync-apply batch (PROTOCOL.md, plsc-directory's sync-apply): one JSON
 * line per changed user. The LDAP pull and the SCIM server build it the
 * same way, here. */
#include "ids.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ids_batch_add(ids_batch_t *b, size_t max, json_t *line)
{
	char *s = json_dumps(line, JSON_COMPACT);
	json_decref(line);
	size_t n = s ? strlen(s) : 0;
	if (!s || b->len + n + 1 > max) {
		free(s);
		return -1;
	}
	if (b->len + n + 2 > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 4096;
		while (cap < b->len + n + 2)
			cap *= 2;
		char *t = realloc(b->text, cap);
		if (!t) {
			free(s);
			return -1;
		}
		b->text = t;
		b->cap = cap;
	}
	memcpy(b->text + b->len, s, n);
	b->len += n;
	b->text[b->len++] = '\n';
	b->text[b->len] = '\0';
	free(s);
	return 0;
}

json_t *ids_user_line(const pl_dir_user_t *u)
{
	json_t *em = json_array(), *bd = json_array();
	char hex[PL_DIR_EXTERNAL_ID_MAX];
	for (int k = 0; k < u->nemails; k++)
		json_array_append_new(em, json_string(u->emails[k]));
	/* canonical IDs are hex, but "18700" would be read back as decimal:
	 * the base is said */
	for (int k = 0; k < u->nbadges; k++) {
		snprintf(hex, sizeof(hex), "hex:%s", u->badges[k]);
		json_array_append_new(bd, json_string(hex));
	}
	return json_pack("{s:s,s:s,s:s,s:s,s:o,s:o}", "key", u->external_id, "username",
			 u->username, "display_name", u->display_name, "groups", u->groups,
			 "emails", em, "badges", bd);
}
