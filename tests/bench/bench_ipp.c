/* bench_ipp: IPP requests per second against an IPP printer, N clients
 * (threads), each on its own kept-alive connection (libcups client).
 *   bench_ipp URI gpa|print SECONDS CLIENTS [FILE]
 * URI may carry user:password (Basic, as libcups answers a 401). Prints
 * "RATE OK FAILED" (requests/s, counts); exit 2 when nothing succeeded. */
#include <cups/cups.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static char g_uri[1024], g_host[256], g_res[256], g_pass[256], g_user[256];
static int g_port, g_print, g_tls;
static const char *g_file;
static double g_until;
static atomic_long g_ok, g_failed;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static const char *pw_cb(const char *prompt, http_t *http, const char *method,
			 const char *resource, void *data)
{
	(void)prompt;
	(void)http;
	(void)method;
	(void)resource;
	(void)data;
	return g_pass;
}

static void *client(void *arg)
{
	(void)arg;
	/* libcups keeps the user and the callback per thread */
	cupsSetPasswordCB2(pw_cb, NULL);
	if (g_user[0])
		cupsSetUser(g_user);
	http_t *http = httpConnect2(g_host, g_port, NULL, AF_UNSPEC,
				    g_tls ? HTTP_ENCRYPTION_ALWAYS : HTTP_ENCRYPTION_IF_REQUESTED, 1,
				    10000, NULL);
	if (!http) {
		atomic_fetch_add(&g_failed, 1);
		return NULL;
	}
	while (now_s() < g_until) {
		ipp_t *req = ippNewRequest(g_print ? IPP_OP_PRINT_JOB : IPP_OP_GET_PRINTER_ATTRIBUTES);
		ippAddString(req, IPP_TAG_OPERATION, IPP_TAG_URI, "printer-uri", NULL, g_uri);
		ippAddString(req, IPP_TAG_OPERATION, IPP_TAG_NAME, "requesting-user-name", NULL,
			     cupsUser());
		ipp_t *resp;
		if (g_print) {
			ippAddString(req, IPP_TAG_OPERATION, IPP_TAG_MIMETYPE, "document-format", NULL,
				     "application/pdf");
			resp = cupsDoFileRequest(http, req, g_res, g_file);
		} else {
			resp = cupsDoRequest(http, req, g_res);
		}
		if (resp && ippGetStatusCode(resp) <= IPP_STATUS_OK_CONFLICTING)
			atomic_fetch_add(&g_ok, 1);
		else
			atomic_fetch_add(&g_failed, 1);
		ippDelete(resp);
	}
	httpClose(http);
	return NULL;
}

int main(int argc, char **argv)
{
	char scheme[32], user[256];
	if (argc < 5 || (strcmp(argv[2], "print") == 0 && argc < 6)) {
		fprintf(stderr, "usage: bench_ipp URI gpa|print SECONDS CLIENTS [FILE]\n");
		return 2;
	}
	if (httpSeparateURI(HTTP_URI_CODING_ALL, argv[1], scheme, sizeof(scheme), user,
			    sizeof(user), g_host, sizeof(g_host), &g_port, g_res,
			    sizeof(g_res)) < HTTP_URI_STATUS_OK) {
		fprintf(stderr, "bench_ipp: bad URI\n");
		return 2;
	}
	g_tls = strcmp(scheme, "ipps") == 0;
	char *colon = strchr(user, ':');
	if (colon) {
		*colon = '\0';
		snprintf(g_pass, sizeof(g_pass), "%s", colon + 1);
		snprintf(g_user, sizeof(g_user), "%s", user);
	}
	httpAssembleURI(HTTP_URI_CODING_ALL, g_uri, sizeof(g_uri), scheme, NULL, g_host, g_port,
			g_res);
	g_print = strcmp(argv[2], "print") == 0;
	g_file = argc > 5 ? argv[5] : NULL;
	int n = atoi(argv[4]);
	double secs = atof(argv[3]);
	if (n < 1 || n > 256 || secs <= 0) {
		fprintf(stderr, "bench_ipp: bad SECONDS or CLIENTS\n");
		return 2;
	}
	pthread_t th[256];
	double t0 = now_s();
	g_until = t0 + secs;
	for (int i = 0; i < n; i++)
		pthread_create(&th[i], NULL, client, NULL);
	for (int i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	double el = now_s() - t0;
	long ok = atomic_load(&g_ok), bad = atomic_load(&g_failed);
	printf("%.1f %ld %ld\n", ok / el, ok, bad);
	if (ok == 0) {
		fprintf(stderr, "bench_ipp: no request succeeded (%s)\n", cupsLastErrorString());
		return 2;
	}
	return 0;
}
