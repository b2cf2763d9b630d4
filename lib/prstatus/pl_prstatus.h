/* pl_prstatus: the printers' last SNMP poll, as PrinterLogicServiceSNMP
 * wrote it, for plsc, the console and job release to read.
 *
 * A small SQLite file of its own, <state_dir>/PrinterLogicServiceSNMP/
 * printer-status.db, not a table in the directory: the SNMP service
 * faces the network and so must not write the directory (DESIGN.md §7),
 * the status changes every minute while the directory changes rarely,
 * and a separate file keeps the directory's migrations out of it. One
 * writer (the service); readers open it read-only. Rollback journal (not
 * WAL), so a reader needs only read access to the file and its folder.
 * The status is not secret (no community or key is ever stored in it).
 *
 * Each printer's row is one JSON object (PrinterLogicServiceSNMP(8),
 * "Status"): {"printer", "polled_ms", "reachable", "state", "why",
 * "snmp": {...decode.h's sd_json...}, "alerts": ["jam", ...]}. */
#ifndef PL_PRSTATUS_H
#define PL_PRSTATUS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "pl_config.h" /* pl_err_t */

#define PL_PRSTATUS_SERVICE "PrinterLogicServiceSNMP"
#define PL_PRSTATUS_FILE "printer-status.db"

typedef struct pl_prstatus pl_prstatus_t;

/* <state_dir>/PrinterLogicServiceSNMP/printer-status.db. 0 or -1. */
int pl_prstatus_path(const char *state_dir, char *out, size_t size);
/* write: create if missing. Read-only opens of a missing file fail with
 * err "no status yet (...)". */
pl_prstatus_t *pl_prstatus_open(const char *path, int write, pl_err_t *err);
void pl_prstatus_close(pl_prstatus_t *s);

/* Writes, between begin and commit (one transaction a poll round). */
int pl_prstatus_begin(pl_prstatus_t *s, pl_err_t *err);
int pl_prstatus_put(pl_prstatus_t *s, const char *printer, const json_t *row, pl_err_t *err);
int pl_prstatus_commit(pl_prstatus_t *s, pl_err_t *err);
/* Forget printers not in keep[0..n) (deleted from the directory). */
int pl_prstatus_prune(pl_prstatus_t *s, const char *const *keep, size_t n, pl_err_t *err);

/* One printer's row (new reference), or NULL (none, or an error in err
 * when err->msg is set). */
json_t *pl_prstatus_get(pl_prstatus_t *s, const char *printer, pl_err_t *err);
/* Every row: an object printer -> row; NULL on error. */
json_t *pl_prstatus_all(pl_prstatus_t *s, pl_err_t *err);

/* The one-word status column of `plsc printers list` and the console:
 * "idle", "printing", "error", "offline", "no-snmp", "snmp-off",
 * "auth-failed", ... or "-" when row is NULL. */
const char *pl_prstatus_word(const json_t *row);

/* A poll is fresh for this many poll intervals (the row's interval_s),
 * and never less than PL_PRSTATUS_FRESH_MIN_MS: a service slowed by a
 * round of silent printers must not make an offline printer look
 * unknown, nor a long-gone poll look current. */
#define PL_PRSTATUS_FRESH_POLLS 3
#define PL_PRSTATUS_FRESH_MIN_MS 10000

/* The holders' refuse_offline_printers decision: 1 when the row says
 * the printer is definitely off -- state "offline" (error bit offline or
 * hrDeviceStatus down), any answered poll with that bit or that status
 * (a jammed printer that is offline too polls as "error"), or
 * "unreachable" (it answered SNMP once and has stopped) -- and the poll is fresh at now_ms (Unix ms), with msg set to
 * the answer ("Lobby is offline (SNMP, polled 20 s ago: jammed/offline):
 * not released; the job stays held"). 0 for everything else, so the
 * printer is tried as without the setting: no row, "no-snmp" (never
 * answered SNMP: says nothing about printing), "snmp-off", "auth-failed",
 * "unknown", any other state, a stale poll, a poll from the future (a
 * clock step), a row missing its time or interval. Pure: no I/O. */
int pl_prstatus_offline(const json_t *row, const char *printer, int64_t now_ms, char *msg,
			size_t size);

#endif
