/* pl_schemas: the configuration schema of every service the supervisor
 * knows, as data (pl_schema.h). They live in the runtime, not beside the
 * services, because the supervisor checks each section with them (-n,
 * reload) and is built with the runtime only (DESIGN.md §2); each service
 * reads its section through the same table, so the two cannot disagree.
 * A service without a table here (the test services, a name the
 * supervisor does not know) has its section passed through unchecked. */
#ifndef PL_SCHEMAS_H
#define PL_SCHEMAS_H

#include "pl_schema.h"

/* The held-jobs settings every holder shares (pl_holder_conf_parse). */
extern const pl_schema_t pl_schema_holder;
extern const pl_schema_t pl_schema_offlineprint;
extern const pl_schema_t pl_schema_airprint;
extern const pl_schema_t pl_schema_badgerelease;
extern const pl_schema_t pl_schema_console;
extern const pl_schema_t pl_schema_directory;
extern const pl_schema_t pl_schema_identitysync;
extern const pl_schema_t pl_schema_snmp;
extern const pl_schema_t pl_schema_email;
extern const pl_schema_t pl_schema_offnetwork;

/* The schema of the service called name, or NULL (unchecked). */
const pl_schema_t *pl_schemas_for(const char *name);

/* Largest max_connections of SimpleBadgeRelease: four a reader. */
#define PL_SCHEMA_BR_MAX_READERS 1024

#endif
