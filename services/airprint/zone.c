/* The unicast DNS-SD records for networks multicast does not reach (RFC
 * 6763 §11: the b/lb browse-domain PTRs, the service and subtype PTRs,
 * SRV and TXT), as a zone-file fragment for the site's DNS server:
 *   PrinterLogicServiceAirprint --dns-sd-zone --domain example.org \
 *       --host print.example.org [--port 631] [--name NAME] [--uuid URN]
 *       [--state-dir DIR]
 * The TXT keys are the ones iOS looks for (txtvers, qtotal, rp, ty, pdl,
 * URF, TLS, UUID, Color, Duplex, kind, air, adminurl), made by
 * ap_txt_build, which the Avahi advertisement (dnssd.c) uses too. */
#include "ap.h"
#include "dnssd.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pl_util.h"

/* A DNS label in zone-file syntax: \DDD for what is not a letter, digit,
 * '-' or '_' (RFC 1035 §5.1); at most 63 bytes. */
static int zone_label(const char *in, char *out, size_t osz)
{
	size_t o = 0, n = strlen(in);
	if (n == 0 || n > 63)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];
		int plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			    (c >= '0' && c <= '9') || c == '-' || c == '_';
		if (o + 5 >= osz)
			return -1;
		if (plain)
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, osz - o, "\\%03u", c);
	}
	out[o] = '\0';
	return 0;
}

/* A name ending in one dot. */
static void fqdn(const char *in, char *out, size_t osz)
{
	size_t n = strlen(in);
	(void)pl_fmt(out, osz, "%s%s", in, n && in[n - 1] == '.' ? "" : ".");
}

/* A TXT character-string: quotes and backslashes escaped. */
static void txt_put(const char *key, const char *val)
{
	fputs(" \"", stdout);
	for (const char *p = key; *p; p++)
		putchar(*p);
	putchar('=');
	for (const char *p = val; *p; p++) {
		if (*p == '"' || *p == '\\')
			putchar('\\');
		putchar(*p);
	}
	putchar('"');
}

static void txt_add(ap_txt_t *t, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void txt_add(ap_txt_t *t, const char *key, const char *fmt, ...)
{
	va_list ap;
	if (t->n >= AP_TXT_MAX)
		return;
	t->kv[t->n].key = key;
	va_start(ap, fmt);
	vsnprintf(t->kv[t->n].val, sizeof(t->kv[t->n].val), fmt, ap);
	va_end(ap);
	t->n++;
}

/* The one place the TXT keys are made: the zone fragment and the Avahi
 * advertisement both print these. */
void ap_txt_build(ap_txt_t *t, const char *name, const char *uuid, const char *host, long port)
{
	static const char *const fmts[] = { "application/pdf", "image/jpeg", "image/png", "image/pwg-raster",
					    "image/urf" };
	char pdl[256] = "", urf[128] = "";
	for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++)
		(void)pl_fmt(pdl + strlen(pdl), sizeof(pdl) - strlen(pdl), "%s%s", i ? "," : "",
			     fmts[i]);
	for (int i = 0; i < AP_URF_N; i++)
		(void)pl_fmt(urf + strlen(urf), sizeof(urf) - strlen(urf), "%s%s", i ? "," : "",
			     ap_urf[i]);
	t->n = 0;
	txt_add(t, "txtvers", "1");
	txt_add(t, "qtotal", "1");
	txt_add(t, "rp", "%s", &AP_RESOURCE[1]); /* without the leading slash */
	txt_add(t, "ty", "%s", name);
	txt_add(t, "pdl", "%s", pdl);
	txt_add(t, "URF", "%s", urf);
	txt_add(t, "TLS", "1.2");
	if (uuid && strncmp(uuid, "urn:uuid:", 9) == 0)
		txt_add(t, "UUID", "%s", uuid + 9);
	txt_add(t, "Color", "T");
	txt_add(t, "Duplex", "T");
	txt_add(t, "kind", "document,photo");
	txt_add(t, "air", "username,password");
	txt_add(t, "adminurl", "https://%s:%ld/", host, port);
}

static int read_uuid(const char *state_dir, char *uuid, size_t sz)
{
	char path[4200];
	(void)pl_fmt(path, sizeof(path), "%s/printer-uuid", state_dir);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	int ok = fgets(uuid, (int)sz, f) != NULL;
	fclose(f);
	uuid[strcspn(uuid, "\n")] = '\0';
	return ok && strncmp(uuid, "urn:uuid:", 9) == 0 ? 0 : -1;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: " AP_NAME " --dns-sd-zone --domain DOMAIN --host HOST [--port PORT]\n"
		   "       [--name NAME] [--uuid urn:uuid:...|--state-dir DIR]\n"
		   "Prints the unicast DNS-SD records of the printer (PTR, SRV, TXT) as a\n"
		   "zone-file fragment for DOMAIN. The UUID is the printer's (its state\n"
		   "directory's printer-uuid file, made at its first start).\n");
}

int ap_zone_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dns-sd-zone", no_argument, NULL, 'z' }, { "domain", required_argument, NULL, 'd' },
		{ "host", required_argument, NULL, 'H' },  { "port", required_argument, NULL, 'p' },
		{ "name", required_argument, NULL, 'n' },  { "uuid", required_argument, NULL, 'u' },
		{ "state-dir", required_argument, NULL, 's' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *domain = NULL, *host = NULL, *name = "Service Client", *sdir = NULL;
	char uuid[64] = "", dom[300], hst[300], inst[300], hname[300], port_s[16];
	ap_txt_t txt;
	long port = 631;
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'z': break;
		case 'd': domain = optarg; break;
		case 'H': host = optarg; break;
		case 'p': port = strtol(optarg, NULL, 10); break;
		case 'n': name = optarg; break;
		case 'u': (void)pl_fmt(uuid, sizeof(uuid), "%s", optarg); break;
		case 's': sdir = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!domain || !host || port < 1 || port > 65535 || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (!uuid[0] && sdir && read_uuid(sdir, uuid, sizeof(uuid)) < 0) {
		fprintf(stderr, "no printer-uuid in %s: start the service once first\n", sdir);
		return 1;
	}
	if (zone_label(name, inst, sizeof(inst)) < 0) {
		fprintf(stderr, "--name: 1 to 63 bytes\n");
		return 2;
	}
	fqdn(domain, dom, sizeof(dom));
	fqdn(host, hst, sizeof(hst));
	(void)pl_fmt(port_s, sizeof(port_s), "%ld", port);
	(void)pl_fmt(hname, sizeof(hname), "%.*s", (int)strlen(hst) - 1, hst);
	ap_txt_build(&txt, name, uuid, hname, port);

	printf("; unicast DNS-SD for %s (%s), from " AP_NAME " --dns-sd-zone\n", name, dom);
	printf("b._dns-sd._udp.%s IN PTR %s\n", dom, dom);
	printf("lb._dns-sd._udp.%s IN PTR %s\n", dom, dom);
	printf("_ipps._tcp.%s IN PTR %s._ipps._tcp.%s\n", dom, inst, dom);
	printf("_universal._sub._ipps._tcp.%s IN PTR %s._ipps._tcp.%s\n", dom, inst, dom);
	printf("_print._sub._ipps._tcp.%s IN PTR %s._ipps._tcp.%s\n", dom, inst, dom);
	printf("%s._ipps._tcp.%s IN SRV 0 0 %ld %s\n", inst, dom, port, hst);
	printf("%s._ipps._tcp.%s IN TXT", inst, dom);
	for (int i = 0; i < txt.n; i++)
		txt_put(txt.kv[i].key, txt.kv[i].val);
	putchar('\n');
	return 0;
}
