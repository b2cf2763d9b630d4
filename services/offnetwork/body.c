/* A job's body fetched off the WebSocket (PROTOCOL.md §12.4): when the
 * gateway's SUBMIT_BEGIN carries OFFNET_BODY 1, the router GETs
 * https://HOST:PORT/v1/router/jobs/ID/body from the same gateway with
 * libcurl, on a worker (never on the loop), and spools and hashes the
 * bytes as they arrive. Why: lws 4.1's client frame parser copies payload
 * one byte a call (the README's [14] profile); curl hands us the TLS
 * records' bytes in large blocks.
 *
 * The same trust as the WebSocket: the site token as Bearer; the CA (or
 * the system's) and the host name; or, with gateway_fingerprint, the leaf
 * certificate's SHA-256 checked in CURLOPT_PREREQFUNCTION, which curl runs
 * after the TLS handshake and before it sends a byte of the request (so
 * a wrong certificate never sees the token). libcurl here is the GnuTLS
 * flavour: no OpenSSL verify callback, so the pinned mode turns curl's own
 * verification off and reads the chain from CURLINFO_CERTINFO instead. */
#include "on.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "pl_log.h"
#include "pl_util.h"

#define ON_BODY_CONNECT_MS 10000L
#define ON_BODY_BUFFER (512L * 1024L)

/* The leaf's SHA-256 from the chain curl collected: 0 ok, -1 none. */
static int leaf_digest(CURL *h, uint8_t md[32])
{
	struct curl_certinfo *ci = NULL;
	if (curl_easy_getinfo(h, CURLINFO_CERTINFO, &ci) != CURLE_OK || !ci ||
	    ci->num_of_certs < 1)
		return -1;
	for (struct curl_slist *s = ci->certinfo[0]; s; s = s->next) {
		if (strncmp(s->data, "Cert:", 5) != 0)
			continue;
		BIO *b = BIO_new_mem_buf(s->data + 5, -1);
		X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
		unsigned int n = 0;
		int rc = x && X509_digest(x, EVP_sha256(), md, &n) == 1 && n == 32 ? 0 : -1;
		X509_free(x);
		BIO_free(b);
		return rc;
	}
	return -1;
}

/* Before the request: in the pinned mode, the leaf must be the pinned
 * certificate, or the transfer stops here. */
static int body_prereq(void *arg, char *conn_ip, char *local_ip, int conn_port,
		       int local_port)
{
	on_body_t *b = arg;
	uint8_t md[32];
	(void)conn_ip;
	(void)local_ip;
	(void)conn_port;
	(void)local_port;
	if (!b->on->conf.has_pin)
		return CURL_PREREQFUNC_OK;
	if (leaf_digest(b->h, md) == 0 && memcmp(md, b->on->conf.pin, 32) == 0) {
		b->pin_ok = 1;
		return CURL_PREREQFUNC_OK;
	}
	snprintf(b->why, sizeof(b->why),
		 "the gateway's certificate is not the pinned one (gateway_fingerprint)");
	return CURL_PREREQFUNC_ABORT;
}

static size_t body_write(char *ptr, size_t size, size_t nmemb, void *arg)
{
	on_body_t *b = arg;
	size_t n = size * nmemb;
	long code = 0;
	if (!b->got && !b->checked) {
		curl_easy_getinfo(b->h, CURLINFO_RESPONSE_CODE, &code);
		b->http = code;
		b->checked = 1;
		if (code != 200) {
			snprintf(b->why, sizeof(b->why), "the gateway answered HTTP %ld", code);
			return 0;
		}
	}
	if (n > b->size - b->got) {
		snprintf(b->why, sizeof(b->why), "more bytes than the announced size");
		b->too_big = 1;
		return 0;
	}
	if (pl_write_all(b->fd, ptr, n) < 0) {
		snprintf(b->why, sizeof(b->why), "cannot spool: %s", strerror(errno));
		return 0;
	}
	EVP_DigestUpdate(b->md, ptr, n);
	b->got += n;
	if (b->on->conf.body_slow_us) /* the test hook (on the worker) */
		usleep(b->on->conf.body_slow_us);
	return n;
}

/* The connection the job came on dropped (on_job_abort), or we stop. */
static int body_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut,
			 curl_off_t un)
{
	on_body_t *b = arg;
	(void)dt;
	(void)dn;
	(void)ut;
	(void)un;
	return atomic_load(&b->on->body_epoch) != b->epoch;
}

static void body_url(const on_t *on, const char *id, char *url, size_t n)
{
	const char *h = on->conf.host;
	int v6 = strchr(h, ':') != NULL;
	snprintf(url, n, "https://%s%s%s:%d/v1/router/jobs/%s/body", v6 ? "[" : "", h,
		 v6 ? "]" : "", on->conf.port, id);
}

static void body_setup(on_body_t *b, struct curl_slist *hdr, const char *url)
{
	const on_conf_t *c = &b->on->conf;
	CURL *h = b->h;
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, ON_BODY_CONNECT_MS);
	/* a stalled transfer: under 1 byte/s for dead_s */
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, (long)(c->dead_s ? c->dead_s : 30));
	curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)b->size);
	curl_easy_setopt(h, CURLOPT_BUFFERSIZE, ON_BODY_BUFFER);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, body_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, b);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, body_progress);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, b);
	curl_easy_setopt(h, CURLOPT_PREREQFUNCTION, body_prereq);
	curl_easy_setopt(h, CURLOPT_PREREQDATA, b);
	if (c->has_pin) {
		/* the digest alone decides (pin.c does the same for lws):
		 * checked in body_prereq before any request byte */
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
		curl_easy_setopt(h, CURLOPT_CERTINFO, 1L);
	} else if (c->ca_file[0]) {
		/* ca_file alone, as on the WebSocket: without this, curl also
		 * loads the build's CA directory (/etc/ssl/certs, ~300 files)
		 * on every fetch, tens of ms of ASN.1 before the first byte */
		curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
		curl_easy_setopt(h, CURLOPT_CAPATH, NULL);
	}
	if (c->client_cert[0]) {
		curl_easy_setopt(h, CURLOPT_SSLCERT, c->client_cert);
		curl_easy_setopt(h, CURLOPT_SSLKEY, c->client_key[0] ? c->client_key
								  : c->client_cert);
	}
}

/* On the worker. */
static void body_run(void *arg)
{
	on_body_t *b = arg;
	char url[1400], auth[600];
	struct curl_slist *hdr = NULL;
	b->h = curl_easy_init();
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", b->on->conf.token);
	hdr = curl_slist_append(NULL, auth);
	OPENSSL_cleanse(auth, sizeof(auth));
	if (!b->h || !hdr) {
		snprintf(b->why, sizeof(b->why), "out of memory");
		goto out;
	}
	body_url(b->on, b->id, url, sizeof(url));
	body_setup(b, hdr, url);
	CURLcode rc = curl_easy_perform(b->h);
	if (!b->checked)
		curl_easy_getinfo(b->h, CURLINFO_RESPONSE_CODE, &b->http);
	if (rc == CURLE_FILESIZE_EXCEEDED) { /* Content-Length over the size */
		snprintf(b->why, sizeof(b->why), "more bytes than the announced size");
		b->too_big = 1;
	}
	if (rc == CURLE_OK && b->http == 200 && b->got == b->size)
		b->ok = 1;
	else if (!b->why[0] && rc == CURLE_OK && b->http != 200)
		snprintf(b->why, sizeof(b->why), "the gateway answered HTTP %ld", b->http);
	else if (!b->why[0] && rc == CURLE_OK)
		snprintf(b->why, sizeof(b->why), "%llu of %llu bytes",
			 (unsigned long long)b->got, (unsigned long long)b->size);
	else if (!b->why[0])
		snprintf(b->why, sizeof(b->why), "%s", curl_easy_strerror(rc));
out:
	if (hdr) {
		OPENSSL_cleanse(hdr->data, strlen(hdr->data));
		curl_slist_free_all(hdr);
	}
	if (b->h)
		curl_easy_cleanup(b->h);
	b->h = NULL;
}

static void body_done(void *arg)
{
	on_body_t *b = arg;
	b->done(b);
}

int on_body_open(on_t *on, pl_err_t *err)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(err->msg, sizeof(err->msg), "libcurl: cannot initialise");
		return -1;
	}
	on->body = pl_work_new(on->loop, "on-body", 1, 0);
	if (!on->body) {
		snprintf(err->msg, sizeof(err->msg), "cannot start the body worker");
		return -1;
	}
	return 0;
}

void on_body_close(on_t *on)
{
	atomic_fetch_add(&on->body_epoch, 1); /* a transfer under way stops */
	pl_work_free(on->body);
	on->body = NULL;
	curl_global_cleanup();
}

int on_body_fetch(on_t *on, on_body_t *b)
{
	b->on = on;
	b->epoch = atomic_load(&on->body_epoch);
	b->t0_ms = pl_now_ms();
	return pl_work_submit(on->body, body_run, body_done, b);
}
