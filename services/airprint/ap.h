/* PrinterLogicServiceAirprint: an AirPrint / IPP Everywhere printer over
 * IPPS whose jobs are held like every other held job.
 *   main.c     the service definition, configuration, start and stop
 *   conn.c     connections: accepted on the loop, each served by a worker
 *              thread with libcups' HTTP layer (TLS by libcups/GnuTLS with
 *              our certificate), bounded by timeouts
 *   ipp.c      the IPP operations (libcups' ipp_t API)
 *   attrs.c    the printer's attributes (what iOS asks for), each
 *              encoded once at start; answers written with them
 *   auth.c     HTTP Basic over TLS: the directory's PIN or an LDAP bind,
 *              failures rate-limited per address and per user
 *   jobs.c     the IPP job table and the held-job store
 *   dnssd.c    the multicast DNS-SD advertisement (Avahi); zone.c the
 *              unicast zone fragment and the TXT keys both carry
 * Listing, release, delete, expiry and job events are lib/holder's. */
#ifndef AP_H
#define AP_H

#include <cups/cups.h>
#include <cups/ipp.h>
#include <pthread.h>
#include <stdint.h>

#include "pl_directory.h"
#include "pl_holder.h"
#include "pl_jobstore.h"
#include "pl_loop.h"
#include "pl_service.h"
#include "pl_work.h"

#define AP_NAME "PrinterLogicServiceAirprint"
#define AP_SOURCE "airprint"
#define AP_RESOURCE "/ipp/print"
#define AP_MAX_JOBS 1024    /* IPP job table's largest size (job_table) */
#define AP_AUTH_SLOTS 1024  /* rate-limit entries (addresses and users) */
#define AP_CONN_MAX_MS (10u * 60u * 1000u) /* one connection's whole life */
#define AP_ID_BLOCK 1000     /* job ids reserved by one write of job-ids */
#define AP_ID_MAX 2000000000 /* then they wrap (IPP's limit is 2^31 - 1) */
#define AP_ID_KEY "ipp-job-"  /* + the IPP job id: the held job's idem_key */

typedef struct ap ap_t;

/* One IPP job: a held job (store_id) or one that has left the store. */
typedef struct {
	int id;				   /* 0: free slot */
	char store_id[PL_JOB_ID_LEN + 1];  /* "" until a document is held */
	char owner[128];
	char name[256];
	char format[64];
	ipp_jstate_t state;
	uint32_t pages;
	int64_t created_s, completed_s;
	int awaiting_doc; /* Create-Job without its Send-Document yet */
	/* print options, sealed with the held job (pl_jobw_options) and
	 * applied at release where the printer is IPP */
	int copies; /* 0: not known (a job held before a restart) */
	char sides[32], color[32], media[64];
} ap_job_t;

typedef struct {
	char key[160]; /* "a:ADDRESS" or "u:USER"; "" free */
	uint32_t failures;
	int64_t until_ms; /* refused until */
	int64_t last_ms;
} ap_auth_slot_t;

struct ap {
	/* settings */
	pl_holder_conf_t hconf;
	uint64_t max_job_bytes;
	uint32_t client_timeout_ms;
	uint32_t max_clients;
	uint32_t user_inflight_max; /* max_user_jobs_in_flight */
	uint32_t auth_max_failures;
	uint32_t auth_lockout_ms;
	char printer_name[128];
	char location[128];
	char hostname[256]; /* in printer URIs ("" = the Host header's) */
	char ldap_uri[512]; /* "" = PIN only */
	char ldap_dn[512];  /* with %s for the user name */
	char ldap_ca[4096];
	char uuid[64];	    /* urn:uuid:..., kept in the state dir */
	int dns_sd;	    /* advertise with Avahi (dnssd.c) */
	/* state */
	pl_service_t *svc;
	pl_loop_t *loop;
	pl_jobstore_t *store;
	pl_dir_t *dir;	 /* the holder's (loop thread) */
	pl_dir_t *adir;	 /* auth look-ups (workers, under auth_lock) */
	pl_holder_t *holder;
	pl_work_t *conns; /* one worker thread a connection */
	int listen_fd, plain_fd;
	int listen_port, plain_port; /* for URIs when there is no Host */
	pl_watch_t *listen_w, *plain_w;
	struct ap_dnssd *dnssd; /* NULL: not advertised */
	int stopping;	       /* workers leave at the next request */
	uint32_t nconns;       /* loop thread */
	int64_t start_s;
	ipp_t *attrs;	       /* static printer attributes (attrs_lock) */
	pthread_mutex_t attrs_lock;
	/* the same, each attribute encoded once at start (attrs.c); read-only
	 * afterwards, so requests share them without a lock */
	struct ap_enc_attr *enc;
	size_t nenc;
	uint32_t job_table; /* slots of jobs[] in use (job_table, <= AP_MAX_JOBS) */
	pthread_mutex_t jobs_lock;
	/* Full IPP state for the jobs in flight and the newest finished or
	 * held ones; a held job pushed out of it stays in the store and is
	 * answered from there by its key (ap_job_from_store). */
	ap_job_t jobs[AP_MAX_JOBS];
	int next_job_id;  /* the last id given (jobs_lock) */
	int64_t id_mark;  /* ids up to this are reserved in job-ids */
	pthread_mutex_t auth_lock;
	pthread_mutex_t adir_lock; /* adir */
	ap_auth_slot_t auth[AP_AUTH_SLOTS];
	uint64_t held, refused_auth;
};

/* attrs.c */
#define AP_URF_N 9
extern const char *const ap_urf[AP_URF_N]; /* urf-supported, the TXT key URF */
int ap_attrs_build(ap_t *ap);
/* The printer's attributes that ra (requested-attributes, NULL = all)
 * names: the per-request ones (URIs from host, times, counts) added to
 * resp, the static ones as their encoding in *out (malloc'ed, *olen
 * bytes; NULL when none), which ap_ipp_write puts in resp's printer
 * group. 0, or -1 out of memory. */
int ap_attrs_copy(ap_t *ap, ipp_t *resp, cups_array_t *ra, const char *host, int port,
		  int tls, uint8_t **out, size_t *olen);
void ap_attrs_free(ap_t *ap);
/* Write resp, with extra (encoded printer attributes, or NULL) appended
 * to its printer group, to cb: 0 or -1. */
int ap_ipp_write(ipp_t *resp, const uint8_t *extra, size_t elen, ipp_iocb_t cb, void *ctx);
/* Its length in bytes. */
size_t ap_ipp_length(ipp_t *resp, size_t elen);
/* Is value in the printer's keyword/mime attribute name? */
int ap_attrs_supports(ap_t *ap, const char *name, const char *value);

/* zone.c: PrinterLogicServiceAirprint --dns-sd-zone ...: print the
 * unicast DNS-SD records as a zone-file fragment; an exit code. */
int ap_zone_main(int argc, char **argv);

/* auth.c: 1 authenticated (user filled), 0 wrong or refused for now
 * (why says which), -1 no credentials. */
int ap_auth_check(ap_t *ap, const char *authorization, const char *addr,
		  char *user, size_t usz, const char **why);

/* conn.c */
int ap_conn_listen(ap_t *ap, int fd, int tls);
void ap_conn_stop(ap_t *ap);

/* ipp.c: answer one IPP request (resp filled). user "" = not
 * authenticated; 1 when the operation needs a user and there is none
 * (answer 401 instead). */
typedef struct {
	ap_t *ap;
	http_t *http;
	const char *user;
	const char *host;
	int port;
	int tls;
	/* out: encoded printer attributes for the answer (ap_attrs_copy),
	 * freed by the caller */
	uint8_t *extra;
	size_t extra_len;
} ap_req_t;
int ap_ipp_needs_auth(ipp_t *req);
ipp_t *ap_ipp_handle(ap_req_t *r, ipp_t *req);

/* jobids.c: job ids that go on after a restart (<state_dir>/job-ids).
 * load: at start, 0 or -1 (logged). next: jobs_lock held, the next id,
 * or -1 when the mark could not be moved (logged; no job is taken). */
int ap_jobids_load(ap_t *ap);
int ap_jobids_next(ap_t *ap);

/* jobs.c */
/* How many jobs one user may have in flight (being received or
 * converted, or created and waiting for the document): the setting
 * max_user_jobs_in_flight, at most half the table, at least 1. */
uint32_t ap_user_inflight_cap(const ap_t *ap);
/* jobs_lock held; NULL with why (an IPP status-message): the table is
 * all jobs in flight, or owner has ap_user_inflight_cap of them. */
ap_job_t *ap_job_new(ap_t *ap, const char *owner, const char *name, const char **why);
ap_job_t *ap_job_find(ap_t *ap, int id);			    /* jobs_lock held */
/* A held job of owner that is not in the table (pushed out by newer
 * ones, or held before a restart), from the store by its key AP_ID_KEY
 * + id: 1 with *out filled (state held), 0 none. jobs_lock held. */
int ap_job_from_store(ap_t *ap, int id, const char *owner, ap_job_t *out);
/* The IPP id in a held job's key (AP_ID_KEY + id), 0 when none. */
int ap_job_key_id(const pl_job_meta_t *m);
/* A job of the table's shape, held, from the store's metadata. */
void ap_job_from_meta(ap_job_t *j, int id, const pl_job_meta_t *m);
/* At start, before any request: the held jobs of the store back in the
 * table under their IPP ids (the newest job_table). */
void ap_jobs_restore(ap_t *ap);
/* The job's options as pl_jobstore keeps them ("copies=2 sides=..."). */
void ap_job_options(const ap_job_t *j, char *buf, size_t sz);
/* Hold the document (PDF) of job id: 0 or an IPP status with msg. */
ipp_status_t ap_job_store(ap_t *ap, int id, const uint8_t *doc, size_t len,
			  const char *format, char *msg, size_t msz);
ipp_status_t ap_job_cancel(ap_t *ap, int id, const char *user, char *msg, size_t msz);
/* Jobs the holder released or shredded since: completed. jobs_lock held. */
void ap_job_refresh(ap_t *ap, ap_job_t *j);

#endif
