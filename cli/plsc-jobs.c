/* plsc jobs | release | delete: held jobs across every job-holding
 * service, through the supervisor (it holds no job data itself). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "pl_ctlreply.h"
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

int plsc_cmd_jobs(plsc_t *p, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "user", required_argument, NULL, 'u' },
		{ "json", no_argument, NULL, 'j' },
		{ "partial", no_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	const char *user = NULL;
	int as_json = 0, partial = 0, o;
	optind = 0;
	while ((o = getopt_long(argc, argv, "u:jp", opts, NULL)) != -1) {
		if (o == 'u')
			user = optarg;
		else if (o == 'j')
			as_json = 1;
		else if (o == 'p')
			partial = 1;
		else
			return EXIT_USAGE;
	}
	if (optind != argc) {
		fprintf(stderr, "Usage: plsc jobs [--user U] [--json] [--partial]\n");
		return EXIT_USAGE;
	}
	pl_ctl_client_t c;
	pl_frame_t f;
	pl_msg_t m;
	int rc = plsc_connect(p, &c);
	if (rc)
		return rc;
	pl_msg_init(&m, PL_MSG_CTL_JOBS, 0, 0);
	if (user)
		pl_msg_add_str(&m, PL_TAG_USER, user);
	rc = call(p, &m, PL_CTL_TIMEOUT_MS, &f, &c);
	if (rc == EXIT_OK && (f.flags & PL_FLAG_ERROR))
		rc = plsc_print_error(&f);
	if (rc == EXIT_OK) {
		pl_iter_t it;
		pl_field_t fl;
		pl_job_row_t j;
		json_t *arr = json_array();
		if (!as_json)
			printf("%-32s %-16s %-16s %10s %5s %-9s %-12s %s\n", "JOB",
			       "USER", "PRINTER", "BYTES", "PAGES", "AGE",
			       "WORKSTATION", "TITLE");
		json_t *missing = json_array();
		pl_iter_frame(&it, &f);
		while (pl_iter_next(&it, &fl) == 1) {
			char name[64];
			if (fl.tag == PL_TAG_UNAVAILABLE &&
			    pl_field_str(&fl, name, sizeof(name)) == 0)
				json_array_append_new(missing, json_string(name));
			if (fl.tag != PL_TAG_JOB)
				continue;
			(void)pl_job_row_decode(&fl, &j);
			if (as_json)
				json_array_append_new(arr, job_json(&j));
			else
				print_job(&j);
		}
		rc = report_unavailable(missing, partial);
		if (as_json) {
			json_t *root = json_pack("{s:o,s:O}", "jobs", arr,
						 "unavailable", missing);
			char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
			printf("%s\n", text ? text : "{}");
			free(text);
			json_decref(root);
		} else {
			json_decref(arr);
		}
		json_decref(missing);
	}
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
