/* plsc-testsvc's rogue mode (rogue.c): a compromised service's attempts. */
#ifndef ROGUE_H
#define ROGUE_H

#include "pl_config.h"
#include "pl_service.h"

/* Read the rogue keys of cfg and attack once the service is ready. */
int rogue_start(pl_service_t *svc, const pl_cnode_t *cfg);

#endif
