/* A sync-apply batch (PROTOCOL.md, plsc-directory's sync-apply): one JSON
 * line per changed user. The LDAP pull and the SCIM server build it the
 * same way, here. */
#include "ids.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ids_batch_add_text(ids_batch_t *b, size_t max, const char *s, size_t n)
{
	if (b->len + n + 1 > max)
		return -1;
	if (b->len + n + 2 > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 4096;
		while (cap < b->len + n + 2)
			cap *= 2;
		char *t = realloc(b->text, cap);
		if (!t)
			return -1;
		b->text = t;
		b->cap = cap;
	}
	memcpy(b->text + b->len, s, n);
	b->len += n;
	b->text[b->len++] = '\n';
	b->text[b->len] = '\0';
	return 0;
}

int ids_batch_add(ids_batch_t *b, size_t max, json_t *line)
{
	char *s = json_dumps(line, JSON_COMPACT);
	json_decref(line);
	int rc = s ? ids_batch_add_text(b, max, s, strlen(s)) : -1;
	free(s);
	return rc;
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

/* s onto out at *pos as a JSON string when it needs no escape (printable
 * ASCII, no quote, no backslash). 0, or -1 (another character, or no
 * room). */
static int plain_str(char *out, size_t osz, size_t *pos, const char *s)
{
	size_t n = strlen(s);
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e || s[i] == '"' || s[i] == '\\')
			return -1;
	if (*pos + n + 2 >= osz)
		return -1;
	out[(*pos)++] = '"';
	memcpy(out + *pos, s, n);
	*pos += n;
	out[(*pos)++] = '"';
	return 0;
}

static int plain_lit(char *out, size_t osz, size_t *pos, const char *lit)
{
	size_t n = strlen(lit);
	if (*pos + n >= osz)
		return -1;
	memcpy(out + *pos, lit, n);
	*pos += n;
	return 0;
}

int ids_user_line_plain(const pl_dir_user_t *u, char *out, size_t osz)
{
	size_t pos = 0;
	char hex[PL_DIR_EXTERNAL_ID_MAX];
	int bad = plain_lit(out, osz, &pos, "{\"key\":") ||
		  plain_str(out, osz, &pos, u->external_id) ||
		  plain_lit(out, osz, &pos, ",\"username\":") ||
		  plain_str(out, osz, &pos, u->username) ||
		  plain_lit(out, osz, &pos, ",\"display_name\":") ||
		  plain_str(out, osz, &pos, u->display_name) ||
		  plain_lit(out, osz, &pos, ",\"groups\":") ||
		  plain_str(out, osz, &pos, u->groups) ||
		  plain_lit(out, osz, &pos, ",\"emails\":[");
	for (int k = 0; !bad && k < u->nemails; k++)
		bad = (k && plain_lit(out, osz, &pos, ",")) ||
		      plain_str(out, osz, &pos, u->emails[k]);
	bad = bad || plain_lit(out, osz, &pos, "],\"badges\":[");
	for (int k = 0; !bad && k < u->nbadges; k++) {
		snprintf(hex, sizeof(hex), "hex:%s", u->badges[k]);
		bad = (k && plain_lit(out, osz, &pos, ",")) || plain_str(out, osz, &pos, hex);
	}
	if (bad || plain_lit(out, osz, &pos, "]}"))
		return -1;
	out[pos] = '\0';
	return (int)pos;
}
