/* Alert hysteresis (alerts.h). */
#include "alerts.h"

const char *sa_name(int which)
{
	static const char *const n[SA_COUNT] = { "offline", "jam", "no-paper", "low-toner",
						 "door-open" };
	return which >= 0 && which < SA_COUNT ? n[which] : "?";
}

void sa_update(sa_printer_t *p, const sa_obs_t *o, int polls, unsigned *raised,
	       unsigned *cleared)
{
	*raised = *cleared = 0;
	if (polls < 1)
		polls = 1;
	for (int k = 0; k < SA_COUNT; k++) {
		int s = o->seen[k];
		if (s < 0)
			continue; /* this poll could not tell */
		if (s == p->active[k]) {
			p->streak[k] = 0; /* agrees with the current state */
			continue;
		}
		if (p->streak[k] < 255)
			p->streak[k]++;
		if (p->streak[k] >= polls) {
			p->active[k] = (uint8_t)s;
			p->streak[k] = 0;
			if (s)
				*raised |= 1u << k;
			else
				*cleared |= 1u << k;
		}
	}
}
