/* pl_directory: the embedded directory (DESIGN.md §6): an SQLite database
 * in WAL mode at <state_dir>/directory/directory.db with versioned schema
 * migrations. This release holds printers and workstation tokens; users,
 * badges and readers come with later issues (new migrations).
 *
 * Tokens: "plsc_<id>_<secret>" where id (8 hex) names the row and secret
 * (32 random bytes, base64url) is stored only as SHA-256. Shown once at
 * creation. Verification is constant-time on the hash. */
#ifndef PL_DIRECTORY_H
#define PL_DIRECTORY_H

#include <stddef.h>
#include <stdint.h>

#include "pl_config.h" /* pl_err_t */

#define PL_DIR_SCHEMA_VERSION 1
#define PL_TOKEN_MAX 96

typedef struct pl_dir pl_dir_t;

typedef struct {
	char name[128];
	char uri[512];
	char location[256];
	char formats[256]; /* comma-separated MIME types; "" = any */
} pl_dir_printer_t;

typedef struct {
	char workstation[128];
	char id[16];
	int64_t created_ms;
	int64_t last_used_ms; /* 0 = never */
	int revoked;
} pl_dir_token_t;

/* Open or create (with migrations); readonly opens without creating. */
int pl_dir_open(pl_dir_t **d, const char *path, int readonly, pl_err_t *err);
void pl_dir_close(pl_dir_t *d);
int pl_dir_schema_version(pl_dir_t *d);

/* Printers. add fails if the name exists (unless replace). get: 0 found,
 * 1 not found, -1 error. */
int pl_dir_printer_add(pl_dir_t *d, const pl_dir_printer_t *p, int replace,
		       pl_err_t *err);
int pl_dir_printer_del(pl_dir_t *d, const char *name, pl_err_t *err);
int pl_dir_printer_get(pl_dir_t *d, const char *name, pl_dir_printer_t *out,
		       pl_err_t *err);
int pl_dir_printer_list(pl_dir_t *d, pl_dir_printer_t **out, size_t *n,
			pl_err_t *err);

/* Workstation tokens. create writes the token (shown once) into tok. A
 * workstation may hold several tokens; revoke revokes all of its tokens
 * (or the one whose id is given as "id:<id>"). verify: 1 valid (fills
 * workstation, updates last_used), 0 unknown/wrong/revoked, -1 error. */
int pl_dir_token_create(pl_dir_t *d, const char *workstation,
			char tok[PL_TOKEN_MAX], pl_err_t *err);
int pl_dir_token_verify(pl_dir_t *d, const char *token, char *workstation,
			size_t wsz, pl_err_t *err);
int pl_dir_token_revoke(pl_dir_t *d, const char *which, pl_err_t *err);
int pl_dir_token_list(pl_dir_t *d, pl_dir_token_t **out, size_t *n,
		      pl_err_t *err);

#endif
