/* pl_ldap: LDAP and Active Directory over TLS, for IdentitySync's pull and
 * for any service that checks a user's password by a simple bind
 * (AirPrint, later). Built on OpenLDAP's libldap (synchronous calls: run
 * them off the event loop, on a worker whose watchdog the caller kicks).
 *
 * Transport rules, enforced here and not left to callers:
 *  - ldaps:// (TLS from the first byte), or ldap:// followed by StartTLS;
 *    a bind is never sent over plain LDAP (pl_ldap_bind refuses it);
 *  - the server's certificate is verified against the configured CA file
 *    (only that one: the system store is not consulted), with its host
 *    name checked against the URI's host; TLS 1.2 at least;
 *  - a network (connect) timeout and an operation timeout on every call;
 *  - referrals are never chased (a referral could send the bind password
 *    to another server).
 *
 * Untrusted input: everything the server sends. Entries are copied into
 * pl_ldap_entry_t (bounded: at most PL_LDAP_MAX_ATTRS attributes and
 * PL_LDAP_MAX_VALUES values an attribute, each value at most
 * PL_LDAP_MAX_VALUE bytes; the rest is dropped and counted). */
#ifndef PL_LDAP_H
#define PL_LDAP_H

#include <stddef.h>

#include "pl_config.h" /* pl_err_t */

#define PL_LDAP_MAX_ATTRS 64
/* Active Directory serves 1500 values an answer (MaxValRange; up to
 * 5000 when raised), the rest by ranged retrieval. */
#define PL_LDAP_MAX_VALUES 5000
#define PL_LDAP_MAX_VALUE 4096
/* Below Active Directory's default MaxPageSize (1000). */
#define PL_LDAP_PAGE_MAX 999

typedef struct {
	const char *uri;     /* ldaps://host[:port] or ldap://host[:port] */
	int starttls;	     /* 1: StartTLS on an ldap:// URI (required for it) */
	const char *ca_file; /* PEM CA certificate(s) the server's chains to */
	int network_timeout_s;
	int op_timeout_s;
} pl_ldap_conf_t;

typedef struct pl_ldap pl_ldap_t;

/* Result classes, so callers tell "wrong password" from "server away". */
enum {
	PL_LDAP_OK = 0,
	PL_LDAP_ERR = -1,	   /* a local error, a refused configuration */
	PL_LDAP_ECONNECT = -2,	   /* server unreachable, TLS refused, timeout */
	PL_LDAP_ECREDENTIALS = -3, /* invalid credentials (bind) */
};

/* Open a connection: TLS set up and (ldap://) StartTLS done, nothing
 * bound. A URI that is neither ldaps:// nor ldap:// with starttls is
 * refused before any packet is sent. PL_LDAP_OK or a negative class. */
int pl_ldap_connect(pl_ldap_t **out, const pl_ldap_conf_t *c, pl_err_t *err);
/* A simple bind; the password is neither copied nor logged.
 * PL_LDAP_ECREDENTIALS for a wrong DN or password. */
int pl_ldap_bind(pl_ldap_t *l, const char *dn, const char *password, pl_err_t *err);
void pl_ldap_close(pl_ldap_t *l);

/* Check a user's password (AirPrint): connect, bind as dn, close.
 * 1 right, 0 wrong (or an empty password: never an anonymous bind), -1
 * error (unreachable, TLS, configuration). */
int pl_ldap_check_password(const pl_ldap_conf_t *c, const char *dn, const char *password,
			   pl_err_t *err);

/* ---- entries ---- */
typedef struct {
	const char *v; /* NUL-terminated copy (binary values may hold NULs) */
	size_t len;
} pl_ldap_val_t;

typedef struct {
	const char *name; /* as the server spelled it */
	size_t nvals;
	pl_ldap_val_t *vals;
} pl_ldap_attr_t;

typedef struct {
	const char *dn;
	size_t nattrs;
	pl_ldap_attr_t *attrs;
	size_t dropped; /* attributes or values past the bounds above */
} pl_ldap_entry_t;

/* The attribute named name (ASCII case-insensitive, options such as
 * ";binary" ignored), or NULL. */
const pl_ldap_attr_t *pl_ldap_entry_attr(const pl_ldap_entry_t *e, const char *name);

/* Called for each entry of a search; non-zero stops the search (that
 * value is returned). */
typedef int (*pl_ldap_entry_fn)(void *arg, const pl_ldap_entry_t *e);

/* A subtree search of base with filter, asking for attrs (NULL-ended),
 * through the paged-results control (RFC 2696) with page_size entries a
 * page (1..PL_LDAP_PAGE_MAX). Every entry goes to fn before the next page
 * is asked for. PL_LDAP_OK, the callback's non-zero value, or a negative
 * class with err set (a page that failed: the caller must treat the
 * search as incomplete). *pages (may be NULL) counts the pages. */
int pl_ldap_search(pl_ldap_t *l, const char *base, const char *filter,
		   const char *const *attrs, int page_size, pl_ldap_entry_fn fn,
		   void *arg, unsigned *pages, pl_err_t *err);

/* The entry at dn itself (a base search, no paging), asking for attrs;
 * fn gets it (at most one entry). Same returns as pl_ldap_search. */
int pl_ldap_read(pl_ldap_t *l, const char *dn, const char *const *attrs, pl_ldap_entry_fn fn,
		 void *arg, pl_err_t *err);

/* ---- content synchronisation (RFC 4533), refresh-only ----
 * What OpenLDAP's syncprov overlay offers: a search with the sync request
 * control and a cookie from the last one returns only what changed since
 * that cookie (entries with a syncState control: add or modify, with
 * their attributes; present, without), the deleted entries' UUIDs (a
 * syncIdSet, when the server's session log covers the interval), and a
 * new cookie. One round trip when nothing changed. */

#define PL_LDAP_UUID_TEXT 37 /* "8-4-4-4-12" hex and a NUL */
#define PL_LDAP_COOKIE_MAX 1024

typedef struct {
	size_t len;
	int set;
	char v[PL_LDAP_COOKIE_MAX];
} pl_ldap_cookie_t;

enum {
	PL_LDAP_SYNC_PRESENT = 0, /* the states of RFC 4533's syncState */
	PL_LDAP_SYNC_ADD = 1,
	PL_LDAP_SYNC_MODIFY = 2,
	PL_LDAP_SYNC_DELETE = 3,
};

/* More result classes of pl_ldap_sync_refresh. */
enum {
	PL_LDAP_ESYNC_UNSUPPORTED = -4, /* the server does not offer the control */
	PL_LDAP_ESYNC_REFRESH = -5,	/* the cookie is too old: read everything */
};

/* One entry of a refresh: state, the entry's UUID (text), and e, its
 * attributes (add, modify), or NULL (present, delete: a UUID only, from
 * an entry without attributes or a syncIdSet). Non-zero stops. */
typedef int (*pl_ldap_sync_fn)(void *arg, int state, const char *uuid,
			       const pl_ldap_entry_t *e);

/* A refresh-only sync search of base (subtree, or base itself: a cheap
 * way to a cookie for "now") with filter and attrs,
 * from cookie (in; not set: from nothing, every entry comes as an add).
 * Entries and UUIDs go to fn as they come. On success the new cookie is
 * in *cookie (or it is left as it was when the server sent none), and
 * *refresh_deletes says how deletions were told: 1, each one (deletes
 * phase: what was not mentioned is unchanged); 0, by presence (present
 * phase: an entry neither added, modified nor present is gone).
 * PL_LDAP_OK, fn's non-zero, a negative class, PL_LDAP_ESYNC_UNSUPPORTED
 * (no entry was sent: fall back to another way) or PL_LDAP_ESYNC_REFRESH. */
int pl_ldap_sync_refresh(pl_ldap_t *l, const char *base, int subtree, const char *filter,
			 const char *const *attrs, pl_ldap_cookie_t *cookie,
			 int *refresh_deletes, pl_ldap_sync_fn fn, void *arg, pl_err_t *err);

/* ---- the values (ldap-syncval.c): no network; unit-tested, fuzzed ---- */
void pl_ldap_uuid_text(const unsigned char uuid[16], char out[PL_LDAP_UUID_TEXT]);
/* syncState control value: state and UUID. 0 or -1 (malformed). */
int pl_ldap_sync_state_parse(const void *v, size_t len, int *state,
			     char uuid[PL_LDAP_UUID_TEXT]);
/* syncDone control value: cookie (set or not) and refreshDeletes. 0/-1. */
int pl_ldap_sync_done_parse(const void *v, size_t len, pl_ldap_cookie_t *cookie,
			    int *refresh_deletes);
typedef int (*pl_ldap_uuid_fn)(void *arg, const char *uuid);
typedef struct {
	int kind; /* the choice's tag: 0x80 newcookie, 0xa1 refreshDelete,
		     0xa2 refreshPresent, 0xa3 syncIdSet */
	pl_ldap_cookie_t cookie;
	int refresh_done;    /* refreshDelete, refreshPresent */
	int refresh_deletes; /* syncIdSet: 1 the UUIDs are deleted, 0 present */
	int fn_rc;	     /* fn's non-zero that stopped the set */
} pl_ldap_sync_info_t;
/* syncInfo intermediate value; a syncIdSet's UUIDs go to fn (may be
 * NULL). 0 or -1 (malformed, or another choice). */
int pl_ldap_sync_info_parse(const void *v, size_t len, pl_ldap_sync_info_t *out,
			    pl_ldap_uuid_fn fn, void *arg);

/* ---- text (ldap-text.c): no network; unit-tested and fuzzed ---- */

/* RFC 4515 escaping of a value for a filter: '*', '(', ')', '\\' and NUL
 * (and every byte outside printable ASCII) become \XX. The result's
 * length, or (size_t)-1 when out (osz bytes) is too small. */
size_t pl_ldap_filter_escape(const char *in, size_t len, char *out, size_t osz);
/* Is f a plausible filter from configuration: "(...)" with balanced
 * parentheses outside escapes, printable, at most 1024 bytes. NULL, or
 * why not. */
const char *pl_ldap_filter_check(const char *f);
/* "(&BASE(ATTR>=VALUE))": base (checked) and-ed with one assertion whose
 * value is escaped. 0, or -1 when out is too small or attr is not an
 * attribute description ([A-Za-z][A-Za-z0-9-]*). */
int pl_ldap_filter_and_ge(const char *base, const char *attr, const char *value, char *out,
			  size_t osz);
/* The value of a DN's first RDN ("CN=Print Users,OU=Groups,DC=x" ->
 * "Print Users"), RFC 4514 escapes undone ("\\," "\\2C"); multi-valued
 * RDNs give their first value. 0, or -1 (not a DN, empty value, value
 * over osz - 1 bytes, or an escape of a NUL). */
int pl_ldap_dn_first_value(const char *dn, size_t len, char *out, size_t osz);
/* Ranged retrieval (Active Directory): a multi-valued attribute with
 * more values than the server's MaxValRange (1500) comes back as
 * "member;range=0-1499", and the rest is asked for as
 * "member;range=1500-*" until an answer's range ends in "*".
 * parse: name is attr (case-insensitive) with a range option: 1, with
 * *lo and *hi (-1 for "*"); attr without one: 0 (all the values); -1
 * another attribute or a malformed range (hi < lo, numbers over
 * PL_LDAP_RANGE_MAX, two ranges). Other options (";binary") are skipped.
 * next: after an answer of [lo, hi] to a request that started at want_lo:
 * 0 done (hi -1), 1 with the next request's attribute in out
 * ("member;range=1500-*"), -1 an answer that is not the part asked for
 * (the caller stops instead of looping). */
#define PL_LDAP_RANGE_MAX 2000000000L
int pl_ldap_range_parse(const char *name, const char *attr, long *lo, long *hi);
int pl_ldap_range_next(const char *attr, long want_lo, long lo, long hi, char *out,
		       size_t osz);

/* An attribute description: [A-Za-z][A-Za-z0-9-]{0,63}. */
int pl_ldap_valid_attr(const char *a);

#endif
