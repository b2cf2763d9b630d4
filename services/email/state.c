/* What must survive a crash, in the state directory, each file replaced
 * durably (tmp, fsync, rename, fsync the directory) before the step that
 * depends on it:
 *   imap.state     "uidvalidity U last_uid N printing P last_dest D mbox M":
 *                  every message up to N is done (held, printed or
 *                  rejected) and D is where N goes; a direct or guest print
 *                  of UID P has begun (after a crash it is not printed
 *                  again: it may have printed)
 *   guest.counts   "YYYY-MM-DD sender count" lines of today: messages
 *                  each guest sender printed */
#include "em.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pl_util.h"

#define STATE_FILE "imap.state"
#define GUEST_FILE "guest.counts"
#define GUEST_MAX_BYTES (4u * 1024 * 1024)

static int path_of(const char *dir, const char *name, char *out, size_t sz, pl_err_t *err)
{
	if (pl_fmt(out, sz, "%s/%s", dir, name) < 0)
		return pl_fmt(err->msg, sizeof(err->msg), "state dir path too long"), -1;
	return 0;
}

int em_state_load(const char *state_dir, em_state_t *s, pl_err_t *err)
{
	char path[4200], dest[16] = "printed";
	size_t len;
	unsigned long v = 0, l = 0, p = 0, m = 0;
	memset(s, 0, sizeof(*s));
	pl_strlcpy(s->last_dest, "printed", sizeof(s->last_dest));
	if (path_of(state_dir, STATE_FILE, path, sizeof(path), err) < 0)
		return -1;
	char *text = pl_read_file(path, 4096, &len);
	if (!text) {
		if (errno == ENOENT)
			return 0;
		return pl_fmt(err->msg, sizeof(err->msg), "%s: %s", path, strerror(errno)), -1;
	}
	int n = sscanf(text, "uidvalidity %lu last_uid %lu printing %lu last_dest %15s mbox %lx",
		       &v, &l, &p, dest, &m);
	free(text);
	if (n < 3 || v > UINT32_MAX || l > UINT32_MAX || p > UINT32_MAX)
		return pl_fmt(err->msg, sizeof(err->msg), "%s: not a state file", path), -1;
	s->uidvalidity = (uint32_t)v;
	s->last_uid = (uint32_t)l;
	s->printing = (uint32_t)p;
	s->mbox = (uint32_t)m;
	pl_strlcpy(s->last_dest, strcmp(dest, "rejected") == 0 ? "rejected" : "printed",
		   sizeof(s->last_dest));
	return 0;
}

int em_state_save(const char *state_dir, const em_state_t *s, pl_err_t *err)
{
	char path[4200], text[160];
	if (path_of(state_dir, STATE_FILE, path, sizeof(path), err) < 0)
		return -1;
	int n = snprintf(text, sizeof(text),
			 "uidvalidity %u last_uid %u printing %u last_dest %s mbox %08x\n",
			 s->uidvalidity, s->last_uid, s->printing, s->last_dest, s->mbox);
	if (pl_write_file_atomic(path, text, (size_t)n, 0600) < 0)
		return pl_fmt(err->msg, sizeof(err->msg), "%s: %s", path, strerror(errno)), -1;
	return 0;
}

static uint32_t fnv(uint32_t h, const char *s)
{
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return (h ^ 0xff) * 16777619u; /* a separator between the parts */
}

uint32_t em_state_mbox(const em_conf_t *c)
{
	return fnv(fnv(fnv(2166136261u, c->user), c->host), c->mailbox);
}

static void today(char out[16])
{
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 16, "%Y-%m-%d", &tm);
}

/* Keep today's lines but sender's, whose count goes to *count. */
static size_t guest_filter(const char *text, const char *day, const char *sender,
			   char *out, size_t outsz, uint32_t *count)
{
	size_t o = 0;
	const char *p = text;
	while (p && *p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		char line[512], d[16], who[400];
		unsigned long c;
		if (n < sizeof(line)) {
			memcpy(line, p, n);
			line[n] = 0;
			if (sscanf(line, "%15s %399s %lu", d, who, &c) == 3 && strcmp(d, day) == 0) {
				if (strcmp(who, sender) == 0)
					*count = c > UINT32_MAX ? UINT32_MAX : (uint32_t)c;
				else if (o + n + 1 <= outsz) {
					memcpy(out + o, line, n);
					o += n;
					out[o++] = '\n';
				}
			}
		}
		p = nl ? nl + 1 : NULL;
	}
	return o;
}

int em_guest_take(const char *state_dir, const char *sender, uint32_t max, pl_err_t *err)
{
	char path[4200], day[16];
	size_t len = 0;
	uint32_t count = 0;
	if (path_of(state_dir, GUEST_FILE, path, sizeof(path), err) < 0)
		return -1;
	today(day);
	char *text = pl_read_file(path, GUEST_MAX_BYTES, &len);
	if (!text && errno != ENOENT)
		return pl_fmt(err->msg, sizeof(err->msg), "%s: %s", path, strerror(errno)), -1;
	char *out = malloc(len + 512);
	if (!out) {
		free(text);
		return pl_fmt(err->msg, sizeof(err->msg), "out of memory"), -1;
	}
	size_t o = guest_filter(text ? text : "", day, sender, out, len + 1, &count);
	free(text);
	if (count >= max) {
		free(out);
		return 0;
	}
	o += (size_t)snprintf(out + o, 512, "%s %s %u\n", day, sender, count + 1);
	int rc = pl_write_file_atomic(path, out, o, 0600);
	free(out);
	if (rc < 0)
		return pl_fmt(err->msg, sizeof(err->msg), "%s: %s", path, strerror(errno)), -1;
	return 1;
}
