/* Service configuration schemas: check a section against its declared
 * keys, read it through the same declaration. See pl_schema.h. */
#include "pl_schema.h"

#include <limits.h>
#include <string.h>

#include "pl_util.h"

/* Longest key a suggestion is computed for (longer ones: no suggestion). */
#define SK_KEY_MAX 64

int pl_schema_is_supervisor_key(const char *key)
{
	static const char *const keys[] = { "enabled", "path", "user",
					    "log_level", "listen", "max_processes" };
	for (size_t i = 0; i < PL_ARRAY_LEN(keys); i++)
		if (strcmp(key, keys[i]) == 0)
			return 1;
	return 0;
}

const pl_skey_t *pl_schema_find(const pl_schema_t *s, const char *key)
{
	for (; s; s = s->include)
		for (const pl_skey_t *k = s->keys; k && k->key; k++)
			if (strcmp(k->key, key) == 0)
				return k;
	return NULL;
}

/* Edit distance (insert, delete, substitute), for "did you mean". */
static size_t distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[SK_KEY_MAX + 1];
	if (la > SK_KEY_MAX || lb > SK_KEY_MAX)
		return (size_t)-1;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

/* A typo names the key it was probably meant to be; anything else lists
 * the keys (as pl_cnode_check_keys does). */
static int unknown_key(const pl_schema_t *s, const pl_cnode_t *n,
		       const char *key, pl_err_t *err)
{
	const char *best = NULL;
	size_t best_d = 3; /* at most two edits away */
	char list[PL_ERR_MAX / 2];
	size_t used = 0;

	list[0] = '\0';
	for (const pl_schema_t *p = s; p; p = p->include) {
		for (const pl_skey_t *k = p->keys; k && k->key; k++) {
			size_t d = distance(key, k->key);
			if (d < best_d) {
				best_d = d;
				best = k->key;
			}
			if (used < sizeof(list))
				used += (size_t)snprintf(list + used, sizeof(list) - used,
							 "%s%s", used ? ", " : "", k->key);
		}
	}
	if (best)
		return pl_cnode_error(n, key, err, "unknown key (did you mean %s?)",
				      best);
	return pl_cnode_error(n, key, err, "unknown key (expected one of: %s)", list);
}

/* One present value against its declaration. */
static int check_value(const pl_cnode_t *n, const pl_skey_t *k, pl_err_t *err)
{
	long long i;
	int b;
	const char *str;
	pl_cnode_t sub;

	switch (k->type) {
	case PL_SK_INT:
		return pl_cnode_int(n, k->key, k->min, k->max, k->def_int, &i, err);
	case PL_SK_BOOL:
		return pl_cnode_bool(n, k->key, 0, &b, err);
	case PL_SK_STRING:
		return pl_cnode_str(n, k->key, NULL, &str, err);
	case PL_SK_PATH:
		if (pl_cnode_str(n, k->key, NULL, &str, err) < 0)
			return -1;
		if (str[0] != '/')
			return pl_cnode_error(n, k->key, err, "expected an absolute path");
		if (strlen(str) >= PATH_MAX)
			return pl_cnode_error(n, k->key, err, "path too long");
		return 0;
	case PL_SK_OBJECT:
		return pl_cnode_object(n, k->key, 0, &sub, err);
	case PL_SK_ARRAY:
		return pl_cnode_array(n, k->key, 0, &sub, err);
	}
	return pl_cnode_error(n, k->key, err, "bad schema entry (a bug)");
}

int pl_schema_check(const pl_schema_t *s, const pl_cnode_t *n, pl_err_t *err)
{
	const char *key;
	json_t *v;

	if (n->node == NULL)
		return 0;
	if (!json_is_object(n->node))
		return pl_cnode_error(n, NULL, err, "expected an object");
	json_object_foreach(n->node, key, v) {
		(void)v;
		if (pl_schema_is_supervisor_key(key))
			continue;
		const pl_skey_t *k = pl_schema_find(s, key);
		if (!k)
			return unknown_key(s, n, key, err);
		if (check_value(n, k, err) < 0)
			return -1;
		if (k->needs && !json_object_get(n->node, k->needs))
			return pl_cnode_error(n, key, err, "needs %s too", k->needs);
	}
	return 0;
}

static const pl_skey_t *lookup(const pl_schema_t *s, const pl_cnode_t *n,
			       const char *key, pl_skind_t t1, pl_skind_t t2,
			       pl_err_t *err)
{
	const pl_skey_t *k = pl_schema_find(s, key);
	if (!k || (k->type != t1 && k->type != t2)) {
		pl_cnode_error(n, key, err, "not declared with this type in the "
			       "schema of %s (a bug)", s->service);
		return NULL;
	}
	return k;
}

int pl_schema_int(const pl_schema_t *s, const pl_cnode_t *n, const char *key,
		  long long *out, pl_err_t *err)
{
	const pl_skey_t *k = lookup(s, n, key, PL_SK_INT, PL_SK_INT, err);
	if (!k)
		return -1;
	return pl_cnode_int(n, key, k->min, k->max, k->def_int, out, err);
}

int pl_schema_bool(const pl_schema_t *s, const pl_cnode_t *n, const char *key,
		   int *out, pl_err_t *err)
{
	const pl_skey_t *k = lookup(s, n, key, PL_SK_BOOL, PL_SK_BOOL, err);
	if (!k)
		return -1;
	return pl_cnode_bool(n, key, k->def_int != 0, out, err);
}

int pl_schema_str(const pl_schema_t *s, const pl_cnode_t *n, const char *key,
		  const char **out, pl_err_t *err)
{
	const pl_skey_t *k = lookup(s, n, key, PL_SK_STRING, PL_SK_PATH, err);
	if (!k)
		return -1;
	/* The check is the same as the supervisor's, so a section it passed
	 * reads here without surprises. */
	if (json_object_get(n->node, key) && check_value(n, k, err) < 0)
		return -1;
	return pl_cnode_str(n, key, k->def_str, out, err);
}

static void help_default(const pl_skey_t *k, char *buf, size_t sz)
{
	switch (k->type) {
	case PL_SK_INT:
		snprintf(buf, sz, "%lld", k->def_int);
		break;
	case PL_SK_BOOL:
		snprintf(buf, sz, "%s", k->def_int ? "true" : "false");
		break;
	case PL_SK_STRING:
	case PL_SK_PATH:
		snprintf(buf, sz, "%s", k->def_str ? k->def_str : "-");
		break;
	case PL_SK_OBJECT:
	case PL_SK_ARRAY:
		snprintf(buf, sz, "-");
		break;
	}
}

void pl_schema_help(const pl_schema_t *s, FILE *out)
{
	char def[64];
	for (; s; s = s->include) {
		for (const pl_skey_t *k = s->keys; k && k->key; k++) {
			help_default(k, def, sizeof(def));
			if (strlen(def) > 8) /* a long default on a line of its own */
				fprintf(out, "  %-24s %s\n  %-24s %-8s %s\n", k->key, def,
					"", "", k->help);
			else
				fprintf(out, "  %-24s %-8s %s\n", k->key, def, k->help);
		}
	}
}
