/* What the gateway reads from an HTTP request before anything else:
 * the Authorization header and the status query's path. Both come from
 * anyone on the internet: fuzzed by tests/fuzz/fuzz_offnet_gw.c. */
#include "gw.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "pl_util.h"

int gw_parse_bearer(const char *hdr, char *tok, size_t toksz)
{
	size_t n;
	if (!hdr || strncasecmp(hdr, "Bearer ", 7) != 0)
		return 0;
	hdr += 7;
	while (*hdr == ' ')
		hdr++;
	n = strcspn(hdr, " \t\r\n");
	if (n == 0 || n >= toksz || hdr[n] != '\0')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (hdr[i] < 0x21 || hdr[i] > 0x7e)
			return 0;
	memcpy(tok, hdr, n);
	tok[n] = '\0';
	return 1;
}

int gw_parse_job_path(const char *path, char id[ON_ID_MAX + 1])
{
	static const char prefix[] = "/v1/jobs/";
	if (!path || strncmp(path, prefix, sizeof(prefix) - 1) != 0)
		return 0;
	path += sizeof(prefix) - 1;
	if (strlen(path) > ON_ID_MAX || !on_id_valid(path))
		return 0;
	pl_strlcpy(id, path, ON_ID_MAX + 1);
	return 1;
}

int gw_parse_body_path(const char *path, char id[ON_ID_MAX + 1])
{
	static const char prefix[] = "/v1/router/jobs/", suffix[] = "/body";
	if (!path || strncmp(path, prefix, sizeof(prefix) - 1) != 0)
		return 0;
	path += sizeof(prefix) - 1;
	size_t n = strlen(path);
	if (n < sizeof(suffix) || n - (sizeof(suffix) - 1) > ON_ID_MAX ||
	    strcmp(path + n - (sizeof(suffix) - 1), suffix) != 0)
		return 0;
	char tmp[ON_ID_MAX + 1];
	memcpy(tmp, path, n - (sizeof(suffix) - 1));
	tmp[n - (sizeof(suffix) - 1)] = '\0';
	if (!on_id_valid(tmp))
		return 0;
	pl_strlcpy(id, tmp, ON_ID_MAX + 1);
	return 1;
}

/* Every byte of the longer one is looked at, whatever matches: the time
 * says nothing about how much of a guess was right. */
int gw_token_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), n = la > lb ? la : lb;
	unsigned diff = (unsigned)(la ^ lb);
	for (size_t i = 0; i < n; i++) {
		unsigned char x = i < la ? (unsigned char)a[i] : 0;
		unsigned char y = i < lb ? (unsigned char)b[i] : 0;
		diff |= (unsigned)(x ^ y);
	}
	return diff == 0;
}

void gw_json_escape(char *dst, size_t dsz, const char *s)
{
	size_t o = 0;
	if (!dsz)
		return;
	for (; *s && o + 7 < dsz; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			dst[o++] = '\\';
			dst[o++] = (char)c;
		} else if (c < 0x20) {
			o += (size_t)snprintf(dst + o, dsz - o, "\\u%04x", c);
		} else {
			dst[o++] = (char)c;
		}
	}
	dst[o] = '\0';
}
