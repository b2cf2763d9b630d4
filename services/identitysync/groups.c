/* Groups from a group search (group_base_dn set), for servers whose users
 * carry no memberOf: every group entry under group_base_dn matching
 * group_filter, its name (group_name_attr) and its members' DNs
 * (group_member_attr). Active Directory answers a group of more than
 * MaxValRange (1500) members with "member;range=0-1499" and the rest must
 * be asked for, a range at a time, by reading the group again with
 * "member;range=1500-*" until an answer's range ends in "*"
 * (pl_ldap_range_parse / pl_ldap_range_next). OpenLDAP never does that,
 * so only the whole-attribute path runs against slapd in t50; the ranged
 * path is unit tested and fuzzed at the level of those two functions.
 *
 * A user's groups are then looked up by the user's DN (ASCII case folded,
 * as both servers compare DNs); names come out sorted, so the same
 * membership gives the same text at every sync. */
#include "ids.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pl_util.h"

/* A group cannot take more rounds than this (1500 values each: 15M). */
#define RANGE_ROUNDS_MAX 10000

int ids_groups_add(ids_groups_t *g, const char *group, const char *dn, size_t dnlen)
{
	if (g->nnames == 0 || strcmp(g->names[g->nnames - 1], group) != 0) {
		if (g->nnames == g->capnames) {
			size_t nc = g->capnames ? g->capnames * 2 : 64;
			char **p = realloc(g->names, nc * sizeof(*p));
			if (!p)
				return -1;
			g->names = p;
			g->capnames = nc;
		}
		if (!(g->names[g->nnames] = strdup(group)))
			return -1;
		g->nnames++;
	}
	if (g->n == g->cap) {
		size_t nc = g->cap ? g->cap * 2 : 1024;
		ids_member_t *m = realloc(g->m, nc * sizeof(*m));
		if (!m)
			return -1;
		g->m = m;
		g->cap = nc;
	}
	char *d = malloc(dnlen + 1);
	if (!d)
		return -1;
	for (size_t i = 0; i < dnlen; i++)
		d[i] = (char)tolower((unsigned char)dn[i]);
	d[dnlen] = '\0';
	g->m[g->n++] = (ids_member_t){ d, g->names[g->nnames - 1] };
	g->sorted = 0;
	return 0;
}

static int cmp_member(const void *a, const void *b)
{
	const ids_member_t *x = a, *y = b;
	int c = strcmp(x->dn, y->dn);
	return c ? c : strcmp(x->group, y->group);
}

void ids_groups_of(ids_groups_t *g, const char *dn, char *out, size_t osz, int *skipped)
{
	char key[1024];
	size_t len = 0, n = strlen(dn);
	out[0] = '\0';
	if (g->n == 0 || n >= sizeof(key))
		return;
	if (!g->sorted) {
		qsort(g->m, g->n, sizeof(*g->m), cmp_member);
		g->sorted = 1;
	}
	for (size_t i = 0; i <= n; i++)
		key[i] = (char)tolower((unsigned char)dn[i]);
	/* the first member entry of dn */
	size_t lo = 0, hi = g->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(g->m[mid].dn, key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	const char *prev = NULL;
	for (size_t i = lo; i < g->n && strcmp(g->m[i].dn, key) == 0; i++) {
		const char *name = g->m[i].group;
		size_t nl = strlen(name);
		if (prev && strcmp(prev, name) == 0)
			continue; /* two groups of one name */
		prev = name;
		if (len + nl + (len ? 1 : 0) >= osz) {
			(*skipped)++;
			continue;
		}
		if (len)
			out[len++] = ',';
		memcpy(out + len, name, nl + 1);
		len += nl;
	}
}

void ids_groups_free(ids_groups_t *g)
{
	for (size_t i = 0; i < g->n; i++)
		free(g->m[i].dn);
	for (size_t i = 0; i < g->nnames; i++)
		free(g->names[i]);
	free(g->m);
	free(g->names);
	memset(g, 0, sizeof(*g));
}

/* ---- reading ---- */

typedef struct {
	ids_job_t *j;
	ids_groups_t *g;
	pl_ldap_t *l;
	char name[256]; /* the group being read */
	long want_lo;	/* the range asked for */
	char next[IDS_ATTR_MAX + 40];
	int more; /* a next range to ask for */
	int failed;
} greader_t;

/* The member values of e (whole, or one range) to the group in gr->name;
 * gr->more and gr->next say whether another range must be read. */
static int take_members(greader_t *gr, const pl_ldap_entry_t *e)
{
	const char *attr = gr->j->conf.member_attr;
	gr->more = 0;
	for (size_t i = 0; i < e->nattrs; i++) {
		const pl_ldap_attr_t *a = &e->attrs[i];
		long lo = 0, hi = -1;
		int r = pl_ldap_range_parse(a->name, attr, &lo, &hi);
		if (r < 0)
			continue;
		for (size_t k = 0; k < a->nvals; k++)
			if (ids_groups_add(gr->g, gr->name, a->vals[k].v, a->vals[k].len) < 0)
				return -1;
		if (r == 1) {
			int nx = pl_ldap_range_next(attr, gr->want_lo, lo, hi, gr->next,
						    sizeof(gr->next));
			if (nx < 0) {
				gr->failed = 1;
				return 0;
			}
			gr->more = nx;
			gr->want_lo = hi + 1;
		}
		break;
	}
	return 0;
}

static int on_range(void *arg, const pl_ldap_entry_t *e)
{
	greader_t *gr = arg;
	pl_watchdog_kick(gr->j->wd);
	return take_members(gr, e) < 0 ? 1 : 0;
}

/* The rest of a group served in ranges: read again, a range at a time. */
static int read_ranges(greader_t *gr, const char *dn)
{
	pl_err_t err = { "" };
	for (int round = 0; gr->more; round++) {
		const char *attrs[] = { gr->next, NULL };
		gr->more = 0;
		if (round >= RANGE_ROUNDS_MAX) {
			gr->failed = 1;
			break;
		}
		int rc = pl_ldap_read(gr->l, dn, attrs, on_range, gr, &err);
		if (rc != 0) {
			ids_job_fail(gr->j, rc > 0 ? "out of memory" : err.msg);
			return -1;
		}
	}
	if (gr->failed) {
		char msg[400];
		snprintf(msg, sizeof(msg), "group %.200s: the server's ranges of %s do not follow on; "
			 "the sync stops rather than miss members", gr->name,
			 gr->j->conf.member_attr);
		ids_job_fail(gr->j, msg);
		return -1;
	}
	return 0;
}

static int on_group(void *arg, const pl_ldap_entry_t *e)
{
	greader_t *gr = arg;
	const pl_ldap_attr_t *n = pl_ldap_entry_attr(e, gr->j->conf.group_name_attr);
	pl_watchdog_kick(gr->j->wd);
	if (!n || !n->nvals || n->vals[0].len == 0 || n->vals[0].len >= sizeof(gr->name) ||
	    memchr(n->vals[0].v, '\0', n->vals[0].len))
		return 0; /* no usable name: not a group we can name */
	memcpy(gr->name, n->vals[0].v, n->vals[0].len + 1);
	for (char *p = gr->name; *p; p++)
		if (*p == ',' || (unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' '; /* the directory's list separator */
	if (e->dropped) {
		char msg[400];
		snprintf(msg, sizeof(msg), "group %.200s: %zu values past the bounds of one read were "
			 "not read", gr->name, e->dropped);
		ids_report_add(gr->j, "errors",
			       json_pack("{s:s,s:s}", "dn", e->dn, "message", msg));
		gr->j->errors++;
	}
	gr->want_lo = 0;
	gr->failed = 0;
	if (take_members(gr, e) < 0)
		return 1;
	if ((gr->more || gr->failed) && read_ranges(gr, e->dn) < 0)
		return 2;
	return 0;
}

int ids_groups_read(ids_job_t *j, pl_ldap_t *l, ids_groups_t *g)
{
	greader_t gr = { .j = j, .g = g, .l = l };
	const char *attrs[] = { j->conf.group_name_attr, j->conf.member_attr, NULL };
	pl_err_t err = { "" };
	int rc = pl_ldap_search(l, j->conf.group_base, j->conf.group_filter, attrs,
				(int)j->conf.page_size, on_group, &gr, NULL, &err);
	if (rc == 1 || rc < 0)
		ids_job_fail(j, rc > 0 ? "out of memory" : err.msg);
	return rc == 0 ? 0 : -1;
}
