// fuzz-sources: lib/directory/directory-csv.c lib/badge/badge.c common/util.c
/* libFuzzer target: the CSV of users that `plsc users import` and the web
 * console's POST /api/v1/users/import take (an administrator's upload,
 * possibly an export from another system: untrusted text).
 *
 * The input is the whole file. Every record the parser yields must be
 * sane: a non-empty, trimmed username without a line end, badges canonical (each
 * survives pl_badge_normalize unchanged), counts in range, strings
 * terminated; every bad line carries a message and a line number within
 * the file's line count. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pl_badge.h"
#include "pl_directory.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) abort(); } while (0)

typedef struct {
	long lines, last;
} seen_t;

static int on_record(void *arg, long line, pl_dir_user_t *u, const char *pin,
		     const char *bad)
{
	seen_t *s = arg;
	CHECK(line >= 1 && line <= s->lines && line > s->last);
	s->last = line;
	if (bad) {
		CHECK(u == NULL && bad[0]);
		return -1;
	}
	CHECK(u != NULL);
	CHECK(memchr(u->username, '\0', sizeof(u->username)) && u->username[0]);
	/* Lines end at LF; other control bytes are the directory's to refuse
	 * (pl_dir_user_put checks names), not the parser's. Fields are
	 * trimmed. */
	CHECK(!strchr(u->username, '\n'));
	CHECK(u->username[0] != ' ' && u->username[strlen(u->username) - 1] != ' ');
	CHECK(memchr(u->display_name, '\0', sizeof(u->display_name)));
	CHECK(u->nemails >= 0 && u->nemails <= PL_DIR_MAX_EMAILS);
	CHECK(u->nbadges >= 0 && u->nbadges <= PL_DIR_MAX_BADGES);
	for (int i = 0; i < u->nbadges; i++) {
		char again[PL_BADGE_MAX + 1], hex[80];
		pl_err_t err;
		CHECK(memchr(u->badges[i], '\0', sizeof(u->badges[i])));
		/* canonical IDs are hex digits: "hex:" ID gives them back */
		snprintf(hex, sizeof(hex), "hex:%s", u->badges[i]);
		CHECK(pl_badge_normalize(hex, again, &err) == 0);
		CHECK(strcmp(again, u->badges[i]) == 0);
	}
	CHECK(!pin || (pin[0] && !strchr(pin, '\n')));
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	seen_t s = { 1, 0 };
	for (size_t i = 0; i < size; i++)
		s.lines += data[i] == '\n';
	pl_dir_users_csv_parse((const char *)data, size, on_record, &s);
	return 0;
}
