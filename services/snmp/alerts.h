/* snmp_alerts: raise and clear a printer's alerts with hysteresis. An
 * alert is raised only after `polls` consecutive polls saw its condition,
 * and cleared only after as many polls in a row did not; a poll that
 * could not tell (no answer: no error bits to read) leaves the count of a
 * condition that needs an answer where it was. Pure: no I/O. */
#ifndef SNMP_ALERTS_H
#define SNMP_ALERTS_H

#include <stdint.h>

enum {
	SA_OFFLINE,   /* unreachable (after having answered), or reports offline */
	SA_JAM,	      /* jammed */
	SA_NO_PAPER,  /* noPaper */
	SA_LOW_TONER, /* a toner or ink supply at or below the threshold, or noToner */
	SA_DOOR_OPEN, /* doorOpen */
	SA_COUNT,
};

/* What one poll saw of each condition: 1 yes, 0 no, -1 cannot tell. */
typedef struct {
	int8_t seen[SA_COUNT];
} sa_obs_t;

typedef struct {
	uint8_t active[SA_COUNT];
	uint8_t streak[SA_COUNT]; /* consecutive polls against the active state */
} sa_printer_t;

/* Apply one poll. *raised and *cleared get bit (1 << SA_x) for each alert
 * that changed state now. polls: 1..100. */
void sa_update(sa_printer_t *p, const sa_obs_t *o, int polls, unsigned *raised,
	       unsigned *cleared);

/* "offline", "jam", "no-paper", "low-toner", "door-open". */
const char *sa_name(int which);

#endif
