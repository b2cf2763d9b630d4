/* Notices to the sender over SMTP submission with libcurl: STARTTLS on
 * 587 (required, never a fallback to plain) or implicit TLS on 465,
 * authenticated when smtp_user is set, the server verified against
 * smtp_ca_file or the system's CAs. Sent from the IMAP thread, bounded by
 * imap_timeout_s; a notice that fails is logged and dropped (the job is
 * not affected). Only known users get them (handle.c), so a forged From
 * cannot turn the service into a source of backscatter. */
#include "em.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pl_log.h"
#include "pl_random.h"
#include "pl_util.h"

typedef struct {
	const char *p;
	size_t left;
} body_t;

static size_t body_read(char *buf, size_t size, size_t nmemb, void *arg)
{
	body_t *b = arg;
	size_t n = size * nmemb < b->left ? size * nmemb : b->left;
	memcpy(buf, b->p, n);
	b->p += n;
	b->left -= n;
	return n;
}

static int compose(const em_conf_t *c, const char *to, const char *subject, const char *text,
		   char *out, size_t sz)
{
	char date[64], id[33];
	unsigned char rnd[16];
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	pl_random_bytes(rnd, sizeof(rnd));
	for (int i = 0; i < 16; i++)
		snprintf(id + 2 * i, 3, "%02x", rnd[i]);
	const char *dom = strchr(c->smtp_from, '@');
	return pl_fmt(out, sz,
		      "From: Print service <%s>\r\nTo: <%s>\r\nSubject: %s\r\nDate: %s\r\n"
		      "Message-ID: <%s%s>\r\nAuto-Submitted: auto-replied\r\n"
		      "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
		      "Content-Transfer-Encoding: 8bit\r\n\r\n%s",
		      c->smtp_from, to, subject, date, id, dom ? dom : "@localhost", text);
}

static void secret(const char *path, char *out, size_t sz)
{
	size_t len;
	char *t = pl_read_file(path, sz - 1, &len);
	out[0] = 0;
	if (!t)
		return;
	t[strcspn(t, "\r\n")] = 0;
	pl_strlcpy(out, t, sz);
	explicit_bzero(t, len);
	free(t);
}

void em_notice(em_t *em, const char *to, const char *subject, const char *text)
{
	const em_conf_t *c = &em->conf;
	char url[300], from[330], rcpt[330], msg[4096], pw[1024];
	if (!c->notices || pl_dir_email_check(to) != NULL ||
	    compose(c, to, subject, text, msg, sizeof(msg)) < 0)
		return;
	CURL *h = curl_easy_init();
	if (!h)
		return;
	snprintf(url, sizeof(url), "%s://%s:%d", c->smtp_security == EM_SEC_TLS ? "smtps" : "smtp",
		 c->smtp_host, c->smtp_port);
	snprintf(from, sizeof(from), "<%s>", c->smtp_from);
	snprintf(rcpt, sizeof(rcpt), "<%s>", to);
	struct curl_slist *rl = curl_slist_append(NULL, rcpt);
	body_t b = { msg, strlen(msg) };
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
	if (c->smtp_ca_file[0])
		curl_easy_setopt(h, CURLOPT_CAINFO, c->smtp_ca_file);
	if (c->smtp_user[0]) {
		secret(c->smtp_password_file, pw, sizeof(pw));
		curl_easy_setopt(h, CURLOPT_USERNAME, c->smtp_user);
		curl_easy_setopt(h, CURLOPT_PASSWORD, pw);
	}
	curl_easy_setopt(h, CURLOPT_MAIL_FROM, from);
	curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rl);
	curl_easy_setopt(h, CURLOPT_READFUNCTION, body_read);
	curl_easy_setopt(h, CURLOPT_READDATA, &b);
	curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)c->timeout_ms);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)c->timeout_ms);
	CURLcode rc = curl_easy_perform(h);
	explicit_bzero(pw, sizeof(pw));
	if (rc != CURLE_OK)
		pl_warn("notice to %s not sent: %s", to, curl_easy_strerror(rc));
	else
		pl_info("notice \"%s\" sent to %s", subject, to);
	curl_slist_free_all(rl);
	curl_easy_cleanup(h);
}
