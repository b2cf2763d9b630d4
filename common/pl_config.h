/* pl_config: JSON configuration (Jansson) with errors that point at the
 * place in the file:
 *   plsc.json:14:9: services.PrinterLogicServiceEmail.poll_seconds: expected an integer
 * Jansson does not record positions of values, so on error we re-scan the
 * original text for the key path (pl_config_locate). */
#ifndef PL_CONFIG_H
#define PL_CONFIG_H

#include <jansson.h>
#include <stddef.h>

#define PL_ERR_MAX 1024
#define PL_CPATH_MAX 256

typedef struct {
	char msg[PL_ERR_MAX];
} pl_err_t;

typedef struct pl_config pl_config_t;

/* A position in the tree: the config it belongs to, the JSON node, and the
 * dotted key path ("services.PrinterLogicServiceEmail", "a.b[2].c"). */
typedef struct {
	pl_config_t *cfg;
	json_t *node;
	char path[PL_CPATH_MAX];
} pl_cnode_t;

/* Load a file. On error returns NULL with err set ("file:line:col: msg"). */
pl_config_t *pl_config_load(const char *file, pl_err_t *err);
/* Parse text held in memory; name is used in messages. */
pl_config_t *pl_config_parse(const char *name, const char *text, size_t len,
			     pl_err_t *err);
void pl_config_free(pl_config_t *cfg);
json_t *pl_config_json(const pl_config_t *cfg);
const char *pl_config_name(const pl_config_t *cfg);

/* The root node. */
pl_cnode_t pl_config_root(pl_config_t *cfg);
/* Make a node for a sub-tree that came from elsewhere (e.g. a service's
 * section received over the channel), with a path prefix for messages. */
void pl_cnode_make(pl_cnode_t *n, pl_config_t *cfg, json_t *node,
		   const char *path);

/* Find the 1-based line and column (column in bytes) of path in the
 * original text. Path is dotted keys with optional array indices
 * ("services.PrinterLogicServiceEmail.poll_seconds", "a.b[2].c"; "" is the
 * root value); keys are compared with the decoded JSON keys. The position
 * is that of the KEY (its opening quote) when the path ends in a key, since
 * that is what a reader looks for; of the element's first character when it
 * ends in an index; of the root value for "". When only the last step is
 * missing, it is the enclosing object's '{' (or array's '['). Returns 0 on
 * success, -1 if the text cannot be walked to that path. */
int pl_config_locate(const char *text, size_t len, const char *path, int *line,
		     int *col);

/* Report an error at n.key (key may be NULL for n itself):
 *   file:line:col: path.key: <formatted message>
 * Always returns -1 so callers can `return pl_cnode_error(...)`. */
int pl_cnode_error(const pl_cnode_t *n, const char *key, pl_err_t *err,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Typed getters. A missing key yields def (or an error when required is
 * set, see the _req variants). A present key of the wrong type or out of
 * range is an error: "expected an integer", "expected an integer between 1
 * and 3600", "expected true or false", "expected a string", ... All return
 * 0 or -1. A key of NULL means n itself (e.g. an element from
 * pl_cnode_index). A node whose JSON is NULL (an optional object or array
 * that was absent) reads as empty, so its keys yield their defaults. */
int pl_cnode_object(const pl_cnode_t *n, const char *key, int required,
		    pl_cnode_t *out, pl_err_t *err);
int pl_cnode_array(const pl_cnode_t *n, const char *key, int required,
		   pl_cnode_t *out, pl_err_t *err);
/* Element i of an array node; path gets "[i]". */
void pl_cnode_index(const pl_cnode_t *arr, size_t i, pl_cnode_t *out);
int pl_cnode_int(const pl_cnode_t *n, const char *key, long long min,
		 long long max, long long def, long long *out, pl_err_t *err);
int pl_cnode_bool(const pl_cnode_t *n, const char *key, int def, int *out,
		  pl_err_t *err);
/* *out points into the JSON tree (valid while the config lives). */
int pl_cnode_str(const pl_cnode_t *n, const char *key, const char *def,
		 const char **out, pl_err_t *err);
int pl_cnode_str_req(const pl_cnode_t *n, const char *key, const char **out,
		     pl_err_t *err);
/* Every key of object n must be in allowed (NULL-terminated):
 * "unknown key (expected one of: a, b, c)". */
int pl_cnode_check_keys(const pl_cnode_t *n, const char *const *allowed,
			pl_err_t *err);

#endif
