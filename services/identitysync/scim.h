/* SCIM 2.0 (RFC 7643, RFC 7644) inside IdentitySync: identity providers
 * that push (Entra ID, Okta) create, change and remove users and groups
 * over HTTPS (README "Identity sync", PrinterLogicServiceIdentitySync(8)).
 *   scim-parse.c  filters ("userName eq \"x\"") and PATCH paths
 *                 ("emails[type eq \"work\"].value"): untrusted text,
 *                 unit tested and fuzzed (tests/fuzz/fuzz_scim.c)
 *   scim-patch.c  a PatchOp body applied to a resource (JSON), with the
 *                 Entra ID quirks; pure, unit tested and fuzzed
 *   scim-res.c    a resource checked, normalised and projected to a
 *                 directory user; its rendering with meta
 *   scim-store.c  the SCIM state (resources, ids, groups and members) in
 *                 scim.db in the service's state dir (SQLite)
 *   scim.c        the endpoints, one request at a time, each change sent
 *                 to plsc-directory (sync-apply, source "scim") and
 *                 committed to scim.db only when the directory took it
 *   scim-http.c   libmicrohttpd over TLS on the service loop, admission
 *                 limits (pl_slots) and the bearer token
 *
 * Why a store of our own: SCIM needs what the directory does not hold (the
 * IdP's externalId, active, groups as resources with members, the
 * attributes the IdP sent). scim.db is the SCIM truth and the directory's
 * users of source "scim" are its projection: a user's name, display name,
 * e-mail addresses, badges (none while inactive) and groups. The service
 * reads the directory and never writes it. */
#ifndef SCIM_H
#define SCIM_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "pl_directory.h"
#include "pl_loop.h"
#include "pl_proto.h"
#include "pl_service.h"

#define SCIM_URI_USER "urn:ietf:params:scim:schemas:core:2.0:User"
#define SCIM_URI_GROUP "urn:ietf:params:scim:schemas:core:2.0:Group"
#define SCIM_URI_ENTERPRISE "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
#define SCIM_URI_PATCH "urn:ietf:params:scim:api:messages:2.0:PatchOp"
#define SCIM_URI_LIST "urn:ietf:params:scim:api:messages:2.0:ListResponse"
#define SCIM_URI_ERROR "urn:ietf:params:scim:api:messages:2.0:Error"

#define SCIM_NAME_MAX 64    /* an attribute name */
#define SCIM_URI_MAX 128    /* a schema URI */
#define SCIM_VALUE_MAX 512  /* a compared value */
#define SCIM_TEXT_MAX 1024  /* a filter or a path */
#define SCIM_BODY_MAX (64u * 1024u)
#define SCIM_PAGE_MAX 200   /* resources in one answer */
#define SCIM_OPS_MAX 100    /* operations in one PATCH */
#define SCIM_MEMBERS_MAX 20000
#define SCIM_TOKEN_FILE "scim-token.sha256"

/* ---- scim-parse.c ---- */

/* "ATTR eq VALUE": the one comparison a filter may make. value is the
 * JSON literal's text: a string's contents, or true, false, null or a
 * number as written (is_str 0). */
typedef struct {
	char uri[SCIM_URI_MAX]; /* an extension's URI; "" for a core attribute */
	char attr[SCIM_NAME_MAX];
	char sub[SCIM_NAME_MAX]; /* "name.givenName": "givenName" */
	char value[SCIM_VALUE_MAX];
	int is_str;
} scim_filter_t;
/* 0, or -1 with why (for a 400 invalidFilter). Only "eq" (any case); no
 * and/or/not, no other operator. */
int scim_filter_parse(const char *text, scim_filter_t *f, char *why, size_t wsz);

/* A PATCH path: attrPath [ "[" valFilter "]" ] [ "." subAttr ], with an
 * optional schema URI before the attribute (RFC 7644 3.5.2). */
typedef struct {
	char uri[SCIM_URI_MAX]; /* an extension's URI; "" for a core attribute */
	char attr[SCIM_NAME_MAX];
	char sub[SCIM_NAME_MAX];
	int has_filter;
	scim_filter_t filter; /* within [ ]: relative to each value */
} scim_path_t;
int scim_path_parse(const char *text, scim_path_t *p, char *why, size_t wsz);

/* Does v (a JSON value) equal f's literal? Strings compare without regard
 * to case unless exact; "True"/"False" strings equal true and false
 * (Entra ID sends booleans as strings). */
int scim_value_eq(const json_t *v, const scim_filter_t *f, int exact);
/* A boolean, also from "true"/"True"/"false"/"False": 1, 0, or -1. */
int scim_bool(const json_t *v);
/* obj's member named key, its name compared without regard to case (SCIM
 * attribute names are case-insensitive); *real gets the stored name. */
json_t *scim_get(const json_t *obj, const char *key, const char **real);

/* ---- scim-patch.c ---- */

typedef struct {
	int status;	/* 400, 404, 409, ... */
	char type[32];	/* scimType ("invalidFilter", "noTarget", ...); "" none */
	char detail[300];
} scim_err_t;

int scim_fail(scim_err_t *e, int status, const char *type, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Apply a PatchOp body to doc (a stored resource, changed in place): ops
 * add, replace, remove in any case; a path, or none with an object value
 * whose keys are paths. Entra ID's ways are taken too: a remove of
 * members (or without a path) with a value removes the members listed and
 * no others; a value wrapped in a one-element array, or as
 * {"value": x}, for a single-valued attribute; booleans as strings. A
 * remove without a path or a value is refused (noTarget), never taken as
 * "everything". 0, or -1 with e. */
int scim_patch_apply(json_t *doc, const json_t *body, int is_group, scim_err_t *e);

/* ---- scim-res.c ---- */

typedef struct {
	char badge_path[256]; /* "" : no badge attribute */
	int badge_dec;
	int lowercase;
} scim_rules_t;

/* A User body (POST, PUT) or a patched one made a stored resource in
 * place: read-only and server-made members dropped (id, meta, groups,
 * schemas), booleans from strings; checked (userName, e-mail addresses,
 * the badge, sizes) and projected into u (username, display name,
 * e-mails, badges; source "scim"; badges left out when active is false;
 * groups not set). 0, or -1 with e (400 invalidValue, the reason). */
int scim_user_check(json_t *doc, const scim_rules_t *r, pl_dir_user_t *u, scim_err_t *e);
/* A Group body likewise: displayName required; members as
 * [{"value": ID}] (ids go to *members, a JSON array of strings, which the
 * caller frees; members is dropped from doc). */
int scim_group_check(json_t *doc, json_t **members, scim_err_t *e);
/* The active attribute (absent: 1). */
int scim_user_active(const json_t *doc);

/* ---- scim-store.c ---- */

typedef struct scim_store scim_store_t;

typedef struct {
	char id[40];
	json_t *doc; /* the stored attributes (caller frees) */
	int64_t created_ms, updated_ms;
	int64_t version;
} scim_row_t;

int scim_store_open(scim_store_t **s, const char *path, pl_err_t *err);
void scim_store_close(scim_store_t *s);
int scim_store_begin(scim_store_t *s, pl_err_t *err);
int scim_store_commit(scim_store_t *s, pl_err_t *err);
void scim_store_rollback(scim_store_t *s);
/* kind: 'u' users, 'g' groups. get: 0 found, 1 none, -1 error. */
int scim_store_get(scim_store_t *s, int kind, const char *id, scim_row_t *row, pl_err_t *err);
/* The id of the resource whose unique name (userName, a group's
 * displayName; any case) is name: 0 found, 1 none, -1 error. */
int scim_store_find_name(scim_store_t *s, int kind, const char *name, char *id, size_t isz,
			 pl_err_t *err);
/* Add (created now) or replace the resource id with doc (its name and
 * externalId are read from doc). */
int scim_store_put(scim_store_t *s, int kind, const char *id, const json_t *doc, pl_err_t *err);
int scim_store_del(scim_store_t *s, int kind, const char *id, pl_err_t *err);
/* One page of resources, by creation: those whose attr (userName,
 * externalId, displayName) equals value when attr is not NULL; *total is
 * the count of all matches. rows (at most max) are the caller's to free
 * with scim_rows_free. */
int scim_store_list(scim_store_t *s, int kind, const char *attr, const char *value,
		    long start, long max, scim_row_t **rows, size_t *n, long *total,
		    pl_err_t *err);
void scim_rows_free(scim_row_t *rows, size_t n);
/* Members of a group (JSON array of user ids), set and read; the groups
 * of a user ([{"value": ID, "display": NAME}]). */
int scim_store_members(scim_store_t *s, const char *gid, json_t **ids, pl_err_t *err);
int scim_store_set_members(scim_store_t *s, const char *gid, const json_t *ids,
			   pl_err_t *err);
int scim_store_user_groups(scim_store_t *s, const char *uid, json_t **groups, pl_err_t *err);
/* Every user id (for the projection at start). */
int scim_store_user_ids(scim_store_t *s, json_t **ids, pl_err_t *err);
/* A new resource id (a random UUID, version 4). */
void scim_new_id(char id[40]);

/* ---- scim.c ---- */

typedef struct scim scim_t;
typedef struct scim_req scim_req_t;

/* One request, from scim-http.c to scim.c and back. */
struct scim_req {
	scim_req_t *next; /* the queue */
	scim_t *s;
	char method[8];
	char path[256];	  /* below /scim/v2, e.g. "/Users/ID" */
	char base[320];	  /* "https://HOST/scim/v2", for locations */
	char filter[SCIM_TEXT_MAX + 1];
	char excluded[256];
	long start_index, count; /* -1: not given */
	int bad_query;		 /* a startIndex or count that is not a number */
	char *body;
	size_t len;
	/* the answer */
	int done;
	int status;
	json_t *answer;	  /* NULL: no body (204) */
	char etag[32];
	char location[400];
	/* scim-http.c's: told when the answer is ready; gone when the
	 * client left (the request is then freed by scim.c). */
	void (*on_done)(scim_req_t *r);
	void *http;
	int gone;
	/* scim.c's: the change waiting for plsc-directory */
	uint32_t seq;
	int kind;
	char id[40];
};

/* Start: scim.db opened, the projection checked against the directory
 * (d, read-only) and the difference sent, the HTTPS server on listen_fd.
 * svc sends the DIR_WRITEs. NULL with err. */
scim_t *scim_start(pl_service_t *svc, const scim_rules_t *rules, pl_dir_t *d,
		   const char *state_dir, int listen_fd, const char *cert_pem,
		   const char *key_pem, uint32_t max_conn, uint32_t max_per_addr,
		   uint32_t timeout_s, pl_err_t *err);
void scim_stop(scim_t *s);
/* A RESULT for one of our DIR_WRITEs (its seq has SCIM_SEQ_BIT): 1
 * taken, 0 not ours. */
#define SCIM_SEQ_BIT 0x80000000u
int scim_on_answer(scim_t *s, const pl_frame_t *f);
/* Queue a request (scim-http.c); its on_done is called once answered. */
void scim_submit(scim_t *s, scim_req_t *r);
/* The client left: forget r (freed now if queued, later if in flight). */
void scim_cancel(scim_t *s, scim_req_t *r);
void scim_req_free(scim_req_t *r);
/* The counters for plsc status. */
const char *scim_status(scim_t *s);
/* The error answer (RFC 7644 3.12). */
json_t *scim_error_json(int status, const char *type, const char *detail);

/* ---- scim-meta.c ---- */

/* The discovery documents: /ServiceProviderConfig, /Schemas[/URI],
 * /ResourceTypes[/NAME] (path below /scim/v2), with locations under base;
 * NULL for any other path. */
json_t *scim_meta_doc(const char *path, const char *base);

/* ---- scim-http.c ---- */

typedef struct scim_http scim_http_t;
scim_http_t *scim_http_start(scim_t *s, pl_loop_t *loop, int listen_fd,
			     const char *cert_pem, const char *key_pem, uint32_t max_conn,
			     uint32_t max_per_addr, uint32_t timeout_s, const char *state_dir,
			     pl_err_t *err);
void scim_http_stop(scim_http_t *h);
/* The bearer token: the SHA-256 of token (constant-time compare) against
 * the hex in state_dir/scim-token.sha256. 1 right, 0 wrong, -1 no token
 * file. */
int scim_token_check(const char *state_dir, const char *token);
/* scim-token: a new token into *out (64 hex digits after "scim_"), its
 * hash stored 0600. 0 or -1 with err. */
int scim_token_create(const char *state_dir, char *out, size_t osz, pl_err_t *err);

#endif
