/* Roles and the allow-list: which message types a service may send to the
 * supervisor, and which it may have routed to which other service.
 *
 * Any service that parses network input may be compromised (DESIGN.md §7).
 * So a service's rights come from its role, and its role from its name in
 * the configuration, never from what it announces about itself; and a
 * frame that no line below allows is dropped, counted and logged with its
 * sender and type, in the manner of OpenBSD's per-peer imsg dispatch.
 *
 * Never routed, whoever asks: CONFIG, SHUTDOWN and PING (the supervisor's
 * own), JOBS_QUERY, RELEASE_JOBS and DELETE_JOBS (the supervisor asks the
 * holders itself, for a request it checked), SYNC_NOW (it relays plsc sync
 * now to IdentitySync, syncreq.c), and the control socket's
 * CTL_* (which only the control socket takes). The service runtime drops
 * the supervisor-only types from any other sender as well (service.c). */
#include "sv.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "pl_log.h"
#include "pl_util.h"

#define R(x) (1u << SV_ROLE_##x)
#define ANYONE (R(OTHER) | R(HOLDER) | R(GATEWAY) | R(BADGE) | R(IDENTITY) | \
		R(SNMP) | R(CONSOLE) | R(DIRECTORY))
#define TO_SUPERVISOR 0u

static const struct sv_rule {
	uint16_t type;
	unsigned from; /* roles that may send it */
	unsigned to;   /* roles it may be routed to; TO_SUPERVISOR: for us */
} rules[] = {
	/* type                 from                     to */
	{ PL_MSG_HELLO,         ANYONE,                  TO_SUPERVISOR },
	{ PL_MSG_READY,         ANYONE,                  TO_SUPERVISOR },
	{ PL_MSG_PONG,          ANYONE,                  TO_SUPERVISOR },
	{ PL_MSG_SVC_STATUS,    ANYONE,                  TO_SUPERVISOR },
	{ PL_MSG_RESULT,        R(HOLDER) | R(GATEWAY),  TO_SUPERVISOR }, /* answers to JOBS_QUERY... */
	{ PL_MSG_RESULT,        R(IDENTITY),             TO_SUPERVISOR }, /* ... and to SYNC_NOW */
	{ PL_MSG_JOB_EVENT,     R(HOLDER) | R(GATEWAY),  TO_SUPERVISOR },
	{ PL_MSG_JOB_EVENT,     R(SNMP),                 TO_SUPERVISOR }, /* printer-alert(-cleared) */
	{ PL_MSG_RELEASE,       R(BADGE) | R(GATEWAY),   TO_SUPERVISOR },
	/* between services (a reply may go back along any of these). A
	 * holder's DIR_WRITE may only be token-used (a workstation token's
	 * last use): plsc-directory refuses it every other operation, by the
	 * FROM we stamp (services/directory/op.c); we do not read OP. */
	{ PL_MSG_DIR_WRITE,     R(CONSOLE) | R(IDENTITY) | R(HOLDER), R(DIRECTORY) },
	{ PL_MSG_ECHO,          R(OTHER),                R(OTHER) },
};

static const struct {
	const char *name;
	sv_role_t role;
	const char *user;
} known[] = {
	{ "PrinterLogicServiceOfflinePrint", SV_ROLE_HOLDER, "plsc-offlineprint" },
	{ "PrinterLogicServiceSimpleBadgeRelease", SV_ROLE_BADGE, "plsc-badge" },
	{ "PrinterLogicServiceEmail", SV_ROLE_HOLDER, "plsc-email" },
	{ "PrinterLogicServiceAirprint", SV_ROLE_HOLDER, "plsc-airprint" },
	{ "PrinterLogicServiceOffNetworkServer", SV_ROLE_GATEWAY, "plsc-offnetwork" },
	{ "PrinterLogicServiceIdentitySync", SV_ROLE_IDENTITY, "plsc-identity" },
	{ "PrinterLogicServiceSNMP", SV_ROLE_SNMP, "plsc-snmp" },
	{ "plsc-console", SV_ROLE_CONSOLE, "plsc-console" },
	{ "plsc-directory", SV_ROLE_DIRECTORY, "plsc-directory" },
};

static const char *const role_names[] = {
	[SV_ROLE_OTHER] = "other",       [SV_ROLE_HOLDER] = "holder",
	[SV_ROLE_GATEWAY] = "gateway",   [SV_ROLE_BADGE] = "badge",
	[SV_ROLE_IDENTITY] = "identity", [SV_ROLE_SNMP] = "snmp",
	[SV_ROLE_CONSOLE] = "console",   [SV_ROLE_DIRECTORY] = "directory",
};

const char *sv_role_name(sv_role_t r)
{
	return (unsigned)r < PL_ARRAY_LEN(role_names) ? role_names[r] : "?";
}

sv_role_t sv_role_of(const char *name)
{
	for (size_t i = 0; i < PL_ARRAY_LEN(known); i++)
		if (strcmp(known[i].name, name) == 0)
			return known[i].role;
	return SV_ROLE_OTHER;
}

void sv_default_user(const char *name, char *user, size_t sz)
{
	for (size_t i = 0; i < PL_ARRAY_LEN(known); i++) {
		if (strcmp(known[i].name, name) == 0) {
			pl_strlcpy(user, known[i].user, sz);
			return;
		}
	}
	/* plsc-<name>, lower case, in what useradd accepts. */
	size_t n = (size_t)snprintf(user, sz, "plsc-");
	for (const char *p = name; *p && n + 1 < sz && n < SV_USER_MAX - 1; p++) {
		unsigned char c = (unsigned char)*p;
		user[n++] = isalnum(c) || c == '-' || c == '_' ? (char)tolower(c) : '-';
	}
	user[n] = '\0';
}

int sv_role_holds_jobs(sv_role_t r)
{
	return r == SV_ROLE_HOLDER || r == SV_ROLE_GATEWAY;
}

static int rule_allows(uint16_t type, sv_role_t from, unsigned to_mask)
{
	for (size_t i = 0; i < PL_ARRAY_LEN(rules); i++) {
		const struct sv_rule *r = &rules[i];
		if (r->type == type && (r->from & (1u << from)) &&
		    (to_mask == TO_SUPERVISOR ? r->to == TO_SUPERVISOR
					      : (r->to & to_mask) != 0))
			return 1;
	}
	return 0;
}

int sv_policy_allows(uint16_t type, int reply, sv_role_t from,
		     const sv_role_t *to)
{
	if (!to)
		return rule_allows(type, from, TO_SUPERVISOR);
	if (!reply)
		return rule_allows(type, from, 1u << *to);
	/* A reply goes back along a flow that allows the request. */
	for (size_t i = 0; i < PL_ARRAY_LEN(rules); i++)
		if (rules[i].to != TO_SUPERVISOR && (rules[i].from & (1u << *to)) &&
		    (rules[i].to & (1u << from)))
			return 1;
	return 0;
}

void sv_policy_deny(sv_svc_t *from, const pl_frame_t *f, const char *to,
		    const char *why)
{
	from->denied++;
	/* A flood of forbidden frames must not flood our log: the first of
	 * each type from this process, then every power of two, each with
	 * the running count. */
	uint64_t n = from->denied;
	int seen = 0;
	for (int i = 0; i < from->ndenied_types && !seen; i++)
		seen = from->denied_types[i] == f->type;
	if (!seen && from->ndenied_types < SV_DENIED_TYPES)
		from->denied_types[from->ndenied_types++] = f->type;
	if (seen && (n & (n - 1)) != 0)
		return;
	/* Bounded here (per type, then powers of two): not rate-limited,
	 * so that every kind of denial is on record. */
	pl_log_unlimited(PL_LOG_WARN, "%s[%ld]: denied %s (0x%04x)%s%s%s from role %s: %s; dropped "
		"(%llu denied so far)", from->conf.name, (long)from->pid,
		pl_msg_type_name(f->type), f->type,
		(f->flags & PL_FLAG_REPLY) ? " reply" : "", to ? " to " : "",
		to ? to : "", sv_role_name(from->conf.role), why,
		(unsigned long long)n);
}
