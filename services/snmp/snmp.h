/* PrinterLogicServiceSNMP: printer status, supplies, counters and alerts
 * over SNMP (PrinterLogicServiceSNMP(8)). */
#ifndef SNMP_SVC_H
#define SNMP_SVC_H

#include <limits.h>
#include <stddef.h>

#include "pl_config.h"
#include "snmp-poll.h"

#define SNMP_NAME "PrinterLogicServiceSNMP"
#define SNMP_MAX_PROFILES 32

typedef struct {
	sp_profile_t profiles[SNMP_MAX_PROFILES];
	size_t nprofiles;
	long long window, alert_polls, toner_low;
	char mail_to[256], mail_from[256], smtp_url[256];
	char directory_path[PATH_MAX];
} snmp_conf_t;

/* The section into c (profiles' Ku keys computed here, once; the
 * passphrases and community files are read here and never logged). 0,
 * or -1 with err. */
int snmp_conf_parse(const pl_cnode_t *cfg, const char *state_dir, snmp_conf_t *c,
		    pl_err_t *err);
const sp_profile_t *snmp_conf_profile(const snmp_conf_t *c, const char *name);

/* Mail one alert text to the admin (libcurl SMTP, blocking: run it on a
 * worker). 0, or -1 with why. */
int snmp_mail_send(const snmp_conf_t *c, const char *subject, const char *body, char *why,
		   size_t whysz);

#endif
