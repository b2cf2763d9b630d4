/* pl_directory: the embedded directory (DESIGN.md §6): an SQLite database
 * in WAL mode at <state_dir>/directory/directory.db with versioned schema
 * migrations: printers and workstation tokens (version 1); users, their
 * badges and PIN hashes, and badge readers (version 2).
 *
 * Tokens: "plsc_<id>_<secret>" where id (8 hex) names the row and secret
 * (32 random bytes, base64url) is stored only as SHA-256. Shown once at
 * creation. Verification is constant-time on the hash. */
#ifndef PL_DIRECTORY_H
#define PL_DIRECTORY_H

#include <stddef.h>
#include <stdint.h>

#include "pl_config.h" /* pl_err_t */

#define PL_DIR_SCHEMA_VERSION 2
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

/* ---- users, badges, badge readers (schema version 2) ---- */

#define PL_DIR_MAX_BADGES 8
#define PL_DIR_MAX_EMAILS 4

typedef struct {
	char username[128];
	char display_name[256];
	char emails[PL_DIR_MAX_EMAILS][256];
	int nemails;
	char groups[512]; /* comma-separated */
	char badges[PL_DIR_MAX_BADGES][65]; /* canonical IDs (pl_badge) */
	int nbadges;
	int has_pin;
	char source[16]; /* "local", "ldap", "scim" */
	int64_t created_ms, updated_ms;
} pl_dir_user_t;

typedef struct {
	char name[128];
	char address[256];  /* IP address (or host) of the reader */
	char direction[16]; /* "connect" (it connects to us) or "listen" (we dial it) */
	int port;	    /* its port when we dial; 0 otherwise */
	char format[512];   /* JSON frame format (pl_badge_format_parse) */
	char printer[128];
	char mode[16];	    /* "most-recent" or "all" */
} pl_dir_reader_t;

/* Users. put adds or replaces (replace=1) a user with its emails and
 * badges; a badge already owned by another user is refused ("badge ...
 * already belongs to bob"). pin (may be NULL: keep / none; "" clears) is
 * stored as a salted slow hash (scrypt). get: 0 found, 1 not found, -1
 * error. */
int pl_dir_user_put(pl_dir_t *d, const pl_dir_user_t *u, const char *pin,
		    int replace, pl_err_t *err);
int pl_dir_user_del(pl_dir_t *d, const char *username, pl_err_t *err);
int pl_dir_user_get(pl_dir_t *d, const char *username, pl_dir_user_t *out,
		    pl_err_t *err);
int pl_dir_user_list(pl_dir_t *d, pl_dir_user_t **out, size_t *n,
		     pl_err_t *err);
/* The owner of a canonical badge ID: 0 found, 1 unknown, -1 error. */
int pl_dir_badge_user(pl_dir_t *d, const char *badge, char *username,
		      size_t usz, pl_err_t *err);
/* Check a PIN: 1 right, 0 wrong or no PIN set, -1 error. set: NULL or ""
 * clears the PIN. */
int pl_dir_pin_check(pl_dir_t *d, const char *username, const char *pin,
		     pl_err_t *err);
int pl_dir_pin_set(pl_dir_t *d, const char *username, const char *pin,
		   pl_err_t *err);

/* Badge readers. */
int pl_dir_reader_put(pl_dir_t *d, const pl_dir_reader_t *r, int replace,
		      pl_err_t *err);
int pl_dir_reader_del(pl_dir_t *d, const char *name, pl_err_t *err);
int pl_dir_reader_list(pl_dir_t *d, pl_dir_reader_t **out, size_t *n,
		       pl_err_t *err);

#endif
