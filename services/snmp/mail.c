/* Alert mail to the administrator over SMTP with libcurl (blocking,
 * bounded by its timeouts: the service runs it on a worker). */
#include "snmp.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "pl_util.h"

typedef struct {
	const char *text;
	size_t len, off;
} mail_body_t;

static size_t body_read(char *buf, size_t size, size_t n, void *arg)
{
	mail_body_t *b = arg;
	size_t k = size * n, left = b->len - b->off;
	if (k > left)
		k = left;
	memcpy(buf, b->text + b->off, k);
	b->off += k;
	return k;
}

/* A header value: no line ends (no header injection from a printer's
 * text), cut to fit. */
static void header_safe(const char *in, char *out, size_t size)
{
	size_t o = 0;
	for (; *in && o + 1 < size; in++)
		out[o++] = (*in == '\r' || *in == '\n') ? ' ' : *in;
	out[o] = '\0';
}

int snmp_mail_send(const snmp_conf_t *c, const char *subject, const char *body, char *why,
		   size_t whysz)
{
	char msg[4096], subj[256], date[64];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	header_safe(subject, subj, sizeof(subj));
	int n = snprintf(msg, sizeof(msg),
			 "Date: %s\r\nFrom: <%s>\r\nTo: <%s>\r\nSubject: %s\r\n"
			 "Content-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n",
			 date, c->mail_from, c->mail_to, subj, body);
	if (n < 0 || (size_t)n >= sizeof(msg)) {
		snprintf(why, whysz, "mail too long");
		return -1;
	}
	CURL *h = curl_easy_init();
	struct curl_slist *rcpt = NULL;
	mail_body_t b = { msg, (size_t)n, 0 };
	char from[300];
	snprintf(from, sizeof(from), "<%s>", c->mail_from);
	if (!h || !(rcpt = curl_slist_append(NULL, c->mail_to))) {
		snprintf(why, whysz, "out of memory");
		curl_easy_cleanup(h);
		return -1;
	}
	curl_easy_setopt(h, CURLOPT_URL, c->smtp_url);
	curl_easy_setopt(h, CURLOPT_MAIL_FROM, from);
	curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(h, CURLOPT_READFUNCTION, body_read);
	curl_easy_setopt(h, CURLOPT_READDATA, &b);
	curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	CURLcode rc = curl_easy_perform(h);
	if (rc != CURLE_OK)
		snprintf(why, whysz, "%s", curl_easy_strerror(rc));
	curl_slist_free_all(rcpt);
	curl_easy_cleanup(h);
	return rc == CURLE_OK ? 0 : -1;
}
