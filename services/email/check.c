/* PrinterLogicServiceEmail --test [-c plsc.json] (plsc email test): read
 * the service's section as the service would, log in to the mailbox,
 * look at its folders and print each finding, so an administrator sees
 * what is wrong (a refused certificate, a wrong password, a missing
 * folder) without reading logs. Exit 0: usable; 1: not; 78: bad config. */
#include "em.h"

#include <stdio.h>
#include <stdlib.h>

#include "pl_util.h"

int em_check(const char *config_file)
{
	pl_err_t err;
	em_conf_t *c = calloc(1, sizeof(*c));
	pl_config_t *cfg = pl_config_load(config_file, &err);
	if (!cfg || !c) {
		printf("FAILED: %s\n", cfg ? "out of memory" : err.msg);
		free(c);
		pl_config_free(cfg);
		return PL_EXIT_CONFIG;
	}
	pl_cnode_t root = pl_config_root(cfg), svcs, sec;
	const char *sd = "/var/lib/plsc";
	pl_cnode_t paths;
	if (pl_cnode_object(&root, "paths", 0, &paths, &err) == 0)
		(void)pl_cnode_str(&paths, "state_dir", sd, &sd, &err);
	char state[4200];
	snprintf(state, sizeof(state), "%s/%s", sd, EM_NAME);
	int rc;
	if (pl_cnode_object(&root, "services", 0, &svcs, &err) < 0 ||
	    pl_cnode_object(&svcs, EM_NAME, 1, &sec, &err) < 0 ||
	    em_conf_read(c, &sec, state, &err) < 0) {
		printf("FAILED: %s\n", err.msg);
		rc = PL_EXIT_CONFIG;
	} else {
		rc = em_imap_check(c);
	}
	pl_config_free(cfg);
	free(c);
	return rc;
}
