/* plsc jobs | release | delete: held jobs across every job-holding
 * service, through the supervisor (it holds no job data itself). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "pl_ctlreply.h"
#include "pl_jobpage.h"
#include "pl_util.h"
#include "plsc.h"

#define RELEASE_TIMEOUT_MS (16 * 60 * 1000) /* the supervisor gives up at 15 */

static json_t *job_json(const pl_job_row_t *j)
{
	json_t *o = json_object();
	json_object_set_new(o, "id", json_string(j->id));
	json_object_set_new(o, "user", json_string(j->user));
	json_object_set_new(o, "workstation", json_string(j->ws));
	json_object_set_new(o, "title", json_string(j->title));
	json_object_set_new(o, "printer", json_string(j->printer));
	json_object_set_new(o, "format", json_string(j->format));
	json_object_set_new(o, "page_size", json_string(j->page_size));
	/* 0 is "not known" (pl_job_row_t): null, never a count of 0. */
	json_object_set_new(o, "pages", j->pages ? json_integer(j->pages) : json_null());
	json_object_set_new(o, "size", json_integer((json_int_t)j->size));
	json_object_set_new(o, "created_ms", json_integer((json_int_t)j->created));
	json_object_set_new(o, "expires_ms", json_integer((json_int_t)j->expires));
	json_object_set_new(o, "service", json_string(j->source));
	/* When a release of it was cut off after bytes went out: it may
	 * have printed, and prints again only with release --reprint. */
	json_object_set_new(o, "maybe_printed_ms",
			    j->maybe ? json_integer((json_int_t)j->maybe) : json_null());
	return o;
}

static void print_job(const pl_job_row_t *j)
{
	char age[32];
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t now = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	char pages[16];
	pl_fmt_duration(age, sizeof(age), now > j->created ? now - j->created : 0);
	/* Unknown pages: an en dash, padded by hand (printf pads bytes, and
	 * the dash is three). */
	if (j->pages)
		(void)pl_fmt(pages, sizeof(pages), "%5u", j->pages);
	else
		(void)pl_fmt(pages, sizeof(pages), "    \u2013");
	printf("%-32s %-16s %-16s %10llu %s %-9s %-12s %s%s\n", j->id, j->user,
	       j->printer[0] ? j->printer : "(any)", (unsigned long long)j->size,
	       pages, age, j->ws, j->maybe ? "[MAYBE PRINTED] " : "", j->title);
}

static int call(plsc_t *p, pl_msg_t *m, int timeout, pl_frame_t *f,
		pl_ctl_client_t *c)
{
	int prc = pl_msg_finish(m);
	if (prc == 0)
		prc = pl_ctl_call(c, m, f, timeout);
	pl_msg_free(m);
	if (prc < 0) {
		fprintf(stderr, "plsc: %s: %s\n", p->socket, pl_proto_strerror(prc));
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

/* A holder that did not answer: its jobs are missing from the list, so
 * the list must not pass for complete (exit 1 unless --partial). */
static int report_unavailable(json_t *missing, int partial)
{
	size_t i;
	json_t *v;
	json_array_foreach(missing, i, v)
		fprintf(stderr, "plsc: warning: the list is incomplete: %s did not "
			"answer (it is not running); its held jobs are not listed\n",
			json_string_value(v));
	return json_array_size(missing) && !partial ? EXIT_FAIL : EXIT_OK;
}

/* The listing comes a page at a time (the supervisor answers at most
 * JOBS_PAGE jobs a request) and goes out as it comes: a table, or one
 * JSON document whose "jobs" are written a line each. */
#define JOBS_PAGE 500u

typedef struct {
	const char *user;
	int as_json, partial;
	unsigned long limit; /* 0: every job */
	unsigned long listed;
	uint32_t total;	     /* the last page's TOTAL */
	int more;	     /* jobs after the last page */
	pl_jobpos_t after;
	int has_after;
	json_t *missing;     /* holders that did not answer, any page */
} jobs_walk_t;

static int jobs_opts(jobs_walk_t *w, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "user", required_argument, NULL, 'u' },
		{ "json", no_argument, NULL, 'j' },
		{ "partial", no_argument, NULL, 'p' },
		{ "limit", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	int o;
	char *end;
	optind = 0;
	while ((o = getopt_long(argc, argv, "u:jpn:", opts, NULL)) != -1) {
		if (o == 'u') {
			w->user = optarg;
		} else if (o == 'j') {
			w->as_json = 1;
		} else if (o == 'p') {
			w->partial = 1;
		} else if (o == 'n') {
			w->limit = strtoul(optarg, &end, 10);
			if (*end || !w->limit || optarg[0] == '-' || w->limit > 100000000ul)
				goto usage;
		} else {
			return EXIT_USAGE;
		}
	}
	if (optind == argc)
		return EXIT_OK;
usage:
	fprintf(stderr, "Usage: plsc jobs [--user U] [--limit N] [--json] [--partial]\n");
	return EXIT_USAGE;
}

static void note_missing(jobs_walk_t *w, const char *name)
{
	size_t i;
	json_t *v;
	json_array_foreach(w->missing, i, v)
		if (strcmp(json_string_value(v), name) == 0)
			return;
	json_array_append_new(w->missing, json_string(name));
}

/* One page's jobs out, and what follows it. */
static void print_page(jobs_walk_t *w, const pl_frame_t *f)
{
	pl_iter_t it;
	pl_field_t fl;
	pl_job_row_t j;
	char name[64];
	uint8_t more = 0;
	w->has_after = 0;
	pl_iter_frame(&it, f);
	while (pl_iter_next(&it, &fl) == 1) {
		if (fl.tag == PL_TAG_UNAVAILABLE && pl_field_str(&fl, name, sizeof(name)) == 0)
			note_missing(w, name);
		else if (fl.tag == PL_TAG_TOTAL)
			(void)pl_field_u32(&fl, &w->total);
		else if (fl.tag == PL_TAG_MORE)
			(void)pl_field_u8(&fl, &more);
		else if (fl.tag == PL_TAG_AFTER)
			w->has_after = pl_jobpos_decode(&fl, &w->after) == 0;
		if (fl.tag != PL_TAG_JOB || (w->limit && w->listed >= w->limit))
			continue;
		(void)pl_job_row_decode(&fl, &j);
		if (w->as_json) {
			json_t *o = job_json(&j);
			char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
			printf("%s\n    %s", w->listed ? "," : "", text ? text : "{}");
			free(text);
			json_decref(o);
		} else {
			print_job(&j);
		}
		w->listed++;
	}
	w->more = more == 1;
}

static void print_head(const jobs_walk_t *w)
{
	if (w->as_json)
		printf("{\n  \"jobs\": [");
	else
		printf("%-32s %-16s %-16s %10s %5s %-9s %-12s %s\n", "JOB", "USER",
		       "PRINTER", "BYTES", "PAGES", "AGE", "WORKSTATION", "TITLE");
}

/* The end of the document: still valid JSON when a page failed (error). */
static void print_tail(const jobs_walk_t *w, const char *error)
{
	if (!w->as_json) {
		if (w->limit && w->more)
			fprintf(stderr, "plsc: %lu of %u held jobs listed (--limit %lu)\n",
				w->listed, w->total, w->limit);
		return;
	}
	char *missing = json_dumps(w->missing, JSON_COMPACT);
	printf("%s  ],\n  \"unavailable\": %s,\n  \"total\": %u,\n  \"more\": %s",
	       w->listed ? "\n" : "", missing ? missing : "[]", w->total,
	       w->more ? "true" : "false");
	free(missing);
	if (error) {
		json_t *e = json_string(error);
		char *text = json_dumps(e, JSON_ENCODE_ANY);
		printf(",\n  \"error\": %s", text ? text : "\"\"");
		free(text);
		json_decref(e);
	}
	printf("\n}\n");
}

/* Ask for the next page. EXIT_OK with *f, or an exit code (printed). */
static int ask_page(plsc_t *p, pl_ctl_client_t *c, const jobs_walk_t *w, pl_frame_t *f)
{
	pl_msg_t m;
	unsigned long left = w->limit ? w->limit - w->listed : JOBS_PAGE;
	pl_msg_init(&m, PL_MSG_CTL_JOBS, 0, 0);
	if (w->user)
		pl_msg_add_str(&m, PL_TAG_USER, w->user);
	pl_msg_add_u32(&m, PL_TAG_LIMIT, left < JOBS_PAGE ? (uint32_t)left : JOBS_PAGE);
	if (w->has_after)
		pl_jobpos_add(&m, PL_TAG_AFTER, &w->after);
	int rc = call(p, &m, PL_CTL_TIMEOUT_MS, f, c);
	if (rc == EXIT_OK && (f->flags & PL_FLAG_ERROR))
		rc = plsc_print_error(f);
	return rc;
}

/* Page after page until the last, or --limit. A page that says more
 * follows but not where (or where it already was) ends the walk with an
 * error rather than a loop. */
static int walk(plsc_t *p, pl_ctl_client_t *c, jobs_walk_t *w)
{
	pl_frame_t f;
	for (int page = 0;; page++) {
		pl_jobpos_t before = w->after;
		int had = w->has_after;
		int rc = ask_page(p, c, w, &f);
		if (rc != EXIT_OK) {
			if (page)
				print_tail(w, "the listing stopped: a page could not be read");
			return rc;
		}
		if (page == 0)
			print_head(w);
		print_page(w, &f);
		if (!w->more || (w->limit && w->listed >= w->limit))
			break;
		if (!w->has_after || (had && pl_jobpos_cmpp(&w->after, &before) <= 0)) {
			fprintf(stderr, "plsc: the supervisor's answer does not say where "
				"the next page starts\n");
			print_tail(w, "the listing stopped: no next page");
			return EXIT_FAIL;
		}
	}
	print_tail(w, NULL);
	return report_unavailable(w->missing, w->partial);
}

int plsc_cmd_jobs(plsc_t *p, int argc, char **argv)
{
	jobs_walk_t w = { 0 };
	pl_ctl_client_t c;
	int rc = jobs_opts(&w, argc, argv);
	if (rc)
		return rc;
	rc = plsc_connect(p, &c);
	if (rc)
		return rc;
	w.missing = json_array();
	rc = walk(p, &c, &w);
	json_decref(w.missing);
	pl_ctl_close(&c);
	return rc;
}

static void print_results(const pl_frame_t *f)
{
	pl_iter_t it;
	pl_field_t fl;
	pl_result_row_t res;
	pl_iter_frame(&it, f);
	while (pl_iter_next(&it, &fl) == 1)
		if (fl.tag == PL_TAG_JOB && pl_result_row_decode(&fl, &res) == 0)
			printf("  %s: %s%s\n", res.id, res.status ? "FAILED: " : "", res.message);
}

/* The reply's MESSAGE: stdout on success, stderr (and EXIT_FAIL) if not. */
static int print_outcome(const pl_frame_t *f)
{
	char msg[512] = "";
	pl_frame_get_str(f, PL_TAG_MESSAGE, msg, sizeof(msg));
	if (f->flags & PL_FLAG_ERROR) {
		fprintf(stderr, "plsc: %s\n", msg);
		return EXIT_FAIL;
	}
	printf("%s\n", msg);
	return EXIT_OK;
}

int plsc_cmd_release(plsc_t *p, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "user", required_argument, NULL, 'u' },
		{ "printer", required_argument, NULL, 'p' },
		{ "all", no_argument, NULL, 'a' },
		{ "job", required_argument, NULL, 'j' },
		{ "any-printer", no_argument, NULL, 'A' },
		{ "reprint", no_argument, NULL, 'R' },
		{ NULL, 0, NULL, 0 },
	};
	const char *user = NULL, *printer = NULL, *job = NULL;
	int all = 0, any = 0, reprint = 0, o;
	optind = 0;
	while ((o = getopt_long(argc, argv, "u:p:aj:", opts, NULL)) != -1) {
		if (o == 'u') user = optarg;
		else if (o == 'p') printer = optarg;
		else if (o == 'a') all = 1;
		else if (o == 'j') job = optarg;
		else if (o == 'A') any = 1;
		else if (o == 'R') reprint = 1;
		else return EXIT_USAGE;
	}
	if (!printer || optind != argc || !(user || job) || (job && (user || all)) ||
	    (reprint && !job)) {
		fprintf(stderr, "Usage: plsc release --user U --printer P [--all] [--any-printer]\n"
				"       plsc release --job JOB_ID --printer P [--any-printer] [--reprint]\n");
		return EXIT_USAGE;
	}
	pl_ctl_client_t c;
	pl_frame_t f;
	pl_msg_t m;
	int rc = plsc_connect(p, &c);
	if (rc)
		return rc;
	pl_msg_init(&m, PL_MSG_CTL_RELEASE, 0, 0);
	if (job)
		pl_msg_add_str(&m, PL_TAG_JOB_ID, job);
	else
		pl_msg_add_str(&m, PL_TAG_USER, user);
	pl_msg_add_str(&m, PL_TAG_PRINTER, printer);
	pl_msg_add_str(&m, PL_TAG_MODE, all ? "all" : "most-recent");
	/* Secure jobs print only at their own printer; this overrides that
	 * for this one release, and the holder logs it. */
	if (any)
		pl_msg_add_u8(&m, PL_TAG_ANY_PRINTER, 1);
	/* A job marked maybe-printed prints again only when asked. */
	if (reprint)
		pl_msg_add_u8(&m, PL_TAG_REPRINT, 1);
	rc = call(p, &m, RELEASE_TIMEOUT_MS, &f, &c);
	if (rc == EXIT_OK) {
		rc = print_outcome(&f);
		print_results(&f);
	}
	pl_ctl_close(&c);
	return rc;
}

int plsc_cmd_delete(plsc_t *p, int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "Usage: plsc delete JOB_ID\n");
		return EXIT_USAGE;
	}
	pl_ctl_client_t c;
	pl_frame_t f;
	pl_msg_t m;
	int rc = plsc_connect(p, &c);
	if (rc)
		return rc;
	pl_msg_init(&m, PL_MSG_CTL_DELETE, 0, 0);
	pl_msg_add_str(&m, PL_TAG_JOB_ID, argv[1]);
	rc = call(p, &m, PL_CTL_TIMEOUT_MS, &f, &c);
	if (rc == EXIT_OK)
		rc = print_outcome(&f);
	pl_ctl_close(&c);
	return rc;
}
