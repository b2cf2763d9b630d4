/* PrinterLogicServiceIdentitySync: the directory's users kept in step with
 * an LDAP server or Active Directory (README "Identity sync").
 *   main.c    the service: settings, the sync timer, SYNC_NOW, sending a
 *             batch to plsc-directory in parts and reading its answer
 *   conf.c    the section's keys into ids_conf_t
 *   map.c     one LDAP entry to a directory user (no network: unit tested
 *             and fuzzed)
 *   pull.c    one sync on the worker thread: bind, paged searches, the
 *             diff against the directory (read-only), the batch
 *   groups.c  groups from a group search (member, read in ranges as
 *             Active Directory serves a large group)
 *   secret.c  the bind password, encrypted under a key of the service's own;
 *             the key of the PIN marks
 *
 * Threads: libldap's calls block, so a sync runs on a one-thread pool
 * (pl_work) whose watchdog ("ldap") the search kicks at every entry and
 * parks between syncs; the loop keeps answering heartbeats, and a search
 * stuck past the operation timeout plus a margin gets the service
 * restarted. libldap's asynchronous API would need its descriptors in
 * our loop and TLS reads that never block, which libldap does not promise
 * for StartTLS and the bind; a thread is simpler and as bounded. */
#ifndef IDS_H
#define IDS_H

#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "pl_config.h"
#include "pl_directory.h"
#include "pl_ldap.h"
#include "pl_loop.h"
#include "pl_watchdog.h"

/* A sync-apply batch: JSON lines, one per changed user (batch.c). */
typedef struct {
	char *text;
	size_t len, cap;
} ids_batch_t;

/* Append line (taken) as one line; -1 when out of memory or when the
 * batch would pass max bytes. */
int ids_batch_add(ids_batch_t *b, size_t max, json_t *line);
/* The same with the line's text (n bytes, no newline). */
int ids_batch_add_text(ids_batch_t *b, size_t max, const char *s, size_t n);
/* A directory user as a batch line ("key", "username", ..., badges
 * with their base said: "hex:..."). */
json_t *ids_user_line(const pl_dir_user_t *u);
/* The same line as json_dumps(ids_user_line(u), JSON_COMPACT) writes,
 * without jansson (a quarter of the worker's CPU in a 100,000-user first
 * sync), when no field needs an escape (printable ASCII without '"' and
 * '\\'): its length, or -1 (take the JSON way) also when out (osz bytes;
 * IDS_LINE_MAX is enough) is too small. */
#define IDS_LINE_MAX 8192
int ids_user_line_plain(const pl_dir_user_t *u, char *out, size_t osz);

#define IDS_NAME "PrinterLogicServiceIdentitySync"
#define IDS_MAX_BASES 8
#define IDS_MAX_MAILS 4
#define IDS_MAX_BADGE_ATTRS 4
#define IDS_ATTR_MAX 65
/* The bind password file and its key, in the service's state dir. */
#define IDS_SECRET_FILE "bind-password.enc"
#define IDS_KEY_FILE "bind-password.key"
#define IDS_PASSWORD_MAX 512
/* The key of the PIN marks (pl_dir_user_t.pin_mark), in the state dir. */
#define IDS_PIN_KEY_FILE "pin-mark.key"
#define IDS_PIN_MAX 32
/* Parts of a batch: cut at line ends, well below a frame (1 MiB). */
#define IDS_PART_MAX (512u * 1024u)

typedef struct {
	char attr[IDS_ATTR_MAX];
	int dec; /* 1: decimal digits; 0: hex */
} ids_badge_attr_t;

/* How an incremental sync reads the changes (the "incremental" key). */
enum { IDS_INC_AUTO, IDS_INC_SYNCREPL, IDS_INC_TIMESTAMP };

/* The sync cookies (RFC 4533), one a base DN, and what they are for. */
typedef struct {
	pl_ldap_cookie_t c[IDS_MAX_BASES];
	int n; /* 0: none (an incremental sync reads by timestamp) */
} ids_cookies_t;

typedef struct {
	char uri[512];
	int starttls;
	char ca_file[PATH_MAX];
	char bind_dn[512];
	char bases[IDS_MAX_BASES][512];
	int nbases;
	char filter[1025];
	int ad; /* server_type "ad" */
	char key_attr[IDS_ATTR_MAX], username_attr[IDS_ATTR_MAX], display_attr[IDS_ATTR_MAX];
	char group_attr[IDS_ATTR_MAX], change_attr[IDS_ATTR_MAX];
	char pin_attr[IDS_ATTR_MAX]; /* "": PINs are not synced */
	/* groups from a group search (group_base set; group_attr unused) */
	char group_base[512];
	char group_filter[1025];
	char group_name_attr[IDS_ATTR_MAX], member_attr[IDS_ATTR_MAX];
	char mail_attrs[IDS_MAX_MAILS][IDS_ATTR_MAX];
	int nmails;
	ids_badge_attr_t badges[IDS_MAX_BADGE_ATTRS];
	int nbadges;
	int lowercase; /* usernames in lower case */
	long long full_minutes, incremental_s, page_size, net_timeout_s, op_timeout_s;
	long long max_remove_percent;
	int inc_mode; /* IDS_INC_* */
	char directory_path[PATH_MAX];
	char state_dir[PATH_MAX];
	int ldap; /* uri given: LDAP pulls */
	/* SCIM (scim.h): pushes from an IdP */
	int scim;
	char scim_cert[PATH_MAX], scim_key[PATH_MAX]; /* "": self-signed */
	char scim_badge_attr[256];		      /* a SCIM path; "": none */
	int scim_badge_dec;
	long long scim_max_conn, scim_max_per_addr, scim_timeout_s;
} ids_conf_t;

/* conf.c: the section into c (state_dir: the service's). 0 or -1. */
int ids_conf_parse(const pl_cnode_t *cfg, const char *state_dir, ids_conf_t *c,
		   pl_err_t *err);
/* The attributes a search asks for (NULL-ended, into attrs of n). */
void ids_conf_attrs(const ids_conf_t *c, const char **attrs, size_t n);

/* map.c: one entry to u (its key in u->external_id). *disabled: AD's
 * userAccountControl has ACCOUNTDISABLE (0x2). change (may be NULL) gets
 * the entry's change_attr value (the high-water mark's candidate), "" if
 * none. 0, or -1 with why (the entry cannot be a user: no key, no or a bad
 * user name); a bad mail or badge value is skipped, counted in *skipped. */
int ids_map_entry(const ids_conf_t *c, const pl_ldap_entry_t *e, pl_dir_user_t *u,
		  int *disabled, char *change, size_t csz, int *skipped, char *why,
		  size_t wsz);
/* The PIN attribute's value into pin (psz bytes): 1 a PIN, 0 none (no
 * pin_attr, no value), -1 a value that is not a PIN (4 to 32 digits);
 * the value is never copied anywhere else. */
int ids_map_pin(const ids_conf_t *c, const pl_ldap_entry_t *e, char *pin, size_t psz);
/* The mark of key's PIN: HMAC-SHA256 under mkey over key, a NUL and pin,
 * as hex (64 characters). */
void ids_pin_mark(const unsigned char mkey[32], const char *key, const char *pin,
		  char out[PL_DIR_PIN_MARK_MAX]);
/* Is a newer than b as change marks (uSNChanged: numbers; timestamps:
 * GeneralizedTime of one length)? */
int ids_change_newer(const char *a, const char *b);
/* Same user record as far as a sync is concerned. */
int ids_user_same(const pl_dir_user_t *a, const pl_dir_user_t *b);
/* The first field that differs ("badges"), or NULL. */
const char *ids_user_diff(const pl_dir_user_t *a, const pl_dir_user_t *b);
/* The fields a sync compares (those of ids_user_same) as one text, so a
 * sync keeps ~150 bytes of each directory user instead of the record's
 * ~2.9 KB: equal texts, same user. Its length, or -1 when out (osz
 * bytes, IDS_CANON_MAX is enough) is too small. */
#define IDS_CANON_MAX 4096
int ids_user_canon(const pl_dir_user_t *u, char *out, size_t osz);
/* The first field two such texts differ in ("badges"), or NULL. */
const char *ids_canon_diff(const char *a, const char *b);

/* secret.c */
int ids_secret_store(const char *state_dir, const char *password, pl_err_t *err);
int ids_secret_load(const char *state_dir, char *out, size_t osz, pl_err_t *err);
/* The PIN marks' key, made (0600) the first time. 0 or -1. */
int ids_pin_key(const char *state_dir, unsigned char key[32], pl_err_t *err);

/* pull.c: one sync, run on the worker. */
typedef struct {
	/* in */
	ids_conf_t conf;
	pl_dir_t *dir;
	pl_watchdog_t *wd;
	int full, dry_run;
	char hwm_in[64];
	ids_cookies_t cookies; /* in: the last sync's; out: this one's */
	/* Sending while reading (main.c): the loop sends the batch in parts
	 * as it fills; ready(ready_arg) is posted to loop when a part's worth
	 * is waiting (ready NULL: a dry run, nothing is sent before the end).
	 * mu guards batch, sent and wake_posted; stop (atomic) asks the
	 * worker to give up (plsc-directory refused a part). */
	pthread_mutex_t mu;
	pl_loop_t *loop;
	pl_post_cb ready;
	void *ready_arg;
	size_t sent; /* bytes of batch.text sent (the loop's) */
	int wake_posted, stop;
	/* out */
	const char *path; /* "full", "syncrepl" or "timestamp" */
	int failed;
	char err[PL_ERR_MAX];
	ids_batch_t batch; /* JSON lines (sync.c of plsc-directory), from sent on unsent */
	long entries, adds, updates, removes, errors, disabled;
	json_t *report; /* {changes: [...], errors: [...]} */
	char hwm_out[64];
	uint64_t started_ms, took_ms;
} ids_job_t;

void ids_pull_run(void *arg);
/* Can this configuration use syncrepl at all (mode, key entryUUID)? */
int ids_syncrepl_wanted(const ids_conf_t *c);
/* The job failed with msg (the first failure's words are kept). */
void ids_job_fail(ids_job_t *j, const char *msg);
/* item (taken) into the report's list "changes" or "errors" (at most
 * 1000 listed). */
void ids_report_add(ids_job_t *j, const char *list, json_t *item);

/* groups.c: who is in which group, from a group search. */
typedef struct {
	char *dn;	   /* a member's DN, ASCII lower case */
	const char *group; /* into names */
} ids_member_t;

typedef struct {
	ids_member_t *m;
	size_t n, cap;
	char **names; /* group names */
	size_t nnames, capnames;
	int sorted;
} ids_groups_t;

/* Every group under group_base matching group_filter, with all its
 * members (member;range= continued until range=N-*). 0, or -1 with the
 * job failed. */
int ids_groups_read(ids_job_t *j, pl_ldap_t *l, ids_groups_t *g);
/* Record that dn is a member of group (a copy of each is kept). 0 or -1. */
int ids_groups_add(ids_groups_t *g, const char *group, const char *dn, size_t dnlen);
/* The groups of the user at dn, by name, comma-joined into out (osz
 * bytes; names that do not fit are left out and counted in *skipped). */
void ids_groups_of(ids_groups_t *g, const char *dn, char *out, size_t osz, int *skipped);
void ids_groups_free(ids_groups_t *g);
void ids_job_free(ids_job_t *j);

#endif
