/* pl_schema: a service's configuration keys declared as data, so that the
 * supervisor can check a service's section (plsc-supervisor -n, reload)
 * without running the service, and the service reads its section through
 * the same declaration. The tables themselves are in pl_schemas.h.
 *
 *   static const pl_skey_t keys[] = {
 *       { "max_clients", PL_SK_INT, 1, 100000, 256, NULL, NULL,
 *         "clients connected at once" },
 *       PL_SCHEMA_END,
 *   };
 *
 * Errors look like every other config error:
 *   plsc.json:7:7: services.X.max_clients: expected an integer between 1 and 100000 */
#ifndef PL_SCHEMA_H
#define PL_SCHEMA_H

#include <stdio.h>

#include "pl_config.h"

typedef enum {
	PL_SK_INT,    /* min..max, default def_int */
	PL_SK_BOOL,   /* default def_int (0 or 1) */
	PL_SK_STRING, /* default def_str (NULL: absent, the service decides) */
	PL_SK_PATH,   /* an absolute path; default as for a string */
	PL_SK_OBJECT, /* only the type is checked: the service checks inside */
	PL_SK_ARRAY,  /* likewise */
} pl_skind_t;

typedef struct {
	const char *key; /* NULL ends a table */
	pl_skind_t type;
	long long min, max;
	long long def_int;
	const char *def_str;
	/* Another key this one cannot go without (tls_cert needs tls_key). */
	const char *needs;
	const char *help; /* one line, for --help */
} pl_skey_t;

/* Ends a table (designated: no missing-field warning from clang). */
#define PL_SCHEMA_END { .key = NULL }

typedef struct pl_schema {
	const char *service; /* its name under "services" */
	const pl_skey_t *keys;
	/* Keys shared with other services (the held-jobs settings), or NULL. */
	const struct pl_schema *include;
} pl_schema_t;

/* Keys every service section may carry; the supervisor reads and checks
 * them itself (enabled, path, user, log_level, listen). */
int pl_schema_is_supervisor_key(const char *key);

/* Check object n (NULL JSON: an absent section, fine) against s: every key
 * is the supervisor's or declared, and every declared key present has the
 * right type and range. Returns 0, or -1 with err "file:line:col:
 * path.key: message". */
int pl_schema_check(const pl_schema_t *s, const pl_cnode_t *n, pl_err_t *err);

/* The service's reads: the value of key in n, or the declared default when
 * absent. A key that s does not declare is an error (a bug in the
 * service), as is a value of the wrong type or range. For strings and
 * paths, *out is NULL when the key is absent and has no default. */
int pl_schema_int(const pl_schema_t *s, const pl_cnode_t *n, const char *key,
		  long long *out, pl_err_t *err);
int pl_schema_bool(const pl_schema_t *s, const pl_cnode_t *n, const char *key,
		   int *out, pl_err_t *err);
int pl_schema_str(const pl_schema_t *s, const pl_cnode_t *n, const char *key,
		  const char **out, pl_err_t *err);

/* The declaration of key in s (or what s includes), or NULL. */
const pl_skey_t *pl_schema_find(const pl_schema_t *s, const char *key);

/* One line a key: "  name  default  help", for --help. */
void pl_schema_help(const pl_schema_t *s, FILE *out);

#endif
