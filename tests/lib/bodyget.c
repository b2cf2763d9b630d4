/* plsc-bodyget: the router's body download (services/offnetwork/body.c)
 * run alone, for t93: the same code, its trust rules (CA + host name, or
 * gateway_fingerprint checked before any request byte), against a real
 * TLS peer started by the test. Prints "ok SHA256" or "refused: why". */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "on.h"
#include "pl_util.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: plsc-bodyget --host H --port P --token-file F --id ID --size N\n"
		   "                    --out FILE [--ca FILE] [--pin SHA256] [--dead-s N]\n"
		   "GET https://H:P/v1/router/jobs/ID/body as the off-network router does.\n");
}

static void done(on_body_t *b)
{
	pl_loop_stop(b->on->loop);
}

static int read_token(const char *path, char *tok, size_t n)
{
	FILE *f = fopen(path, "r");
	if (!f || !fgets(tok, (int)n, f)) {
		if (f)
			fclose(f);
		return -1;
	}
	fclose(f);
	tok[strcspn(tok, "\r\n")] = '\0';
	return 0;
}

int main(int argc, char **argv)
{
	static on_t on;
	static on_body_t b;
	static const struct option opts[] = {
		{ "host", 1, NULL, 'h' }, { "port", 1, NULL, 'p' }, { "token-file", 1, NULL, 't' },
		{ "id", 1, NULL, 'i' },	  { "size", 1, NULL, 's' }, { "out", 1, NULL, 'o' },
		{ "ca", 1, NULL, 'c' },	  { "pin", 1, NULL, 'P' },  { "dead-s", 1, NULL, 'd' },
		{ "help", 0, NULL, 'H' }, { NULL, 0, NULL, 0 },
	};
	const char *out = NULL, *tokfile = NULL;
	pl_err_t err;
	int o;
	on.conf.dead_s = 5;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'h': pl_strlcpy(on.conf.host, optarg, sizeof(on.conf.host)); break;
		case 'p': on.conf.port = atoi(optarg); break;
		case 't': tokfile = optarg; break;
		case 'i': pl_strlcpy(b.id, optarg, sizeof(b.id)); break;
		case 's': b.size = strtoull(optarg, NULL, 10); break;
		case 'o': out = optarg; break;
		case 'c': pl_strlcpy(on.conf.ca_file, optarg, sizeof(on.conf.ca_file)); break;
		case 'd': on.conf.dead_s = (uint32_t)atoi(optarg); break;
		case 'P':
			if (on_pin_parse(optarg, on.conf.pin, &err) < 0) {
				fprintf(stderr, "plsc-bodyget: %s\n", err.msg);
				return 2;
			}
			on.conf.has_pin = 1;
			break;
		case 'H': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!on.conf.host[0] || !on.conf.port || !tokfile || !b.id[0] || !out ||
	    read_token(tokfile, on.conf.token, sizeof(on.conf.token)) < 0) {
		usage(stderr);
		return 2;
	}
	b.fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	b.md = EVP_MD_CTX_new();
	on.loop = pl_loop_new();
	if (b.fd < 0 || !b.md || !on.loop || EVP_DigestInit_ex(b.md, EVP_sha256(), NULL) != 1 ||
	    on_body_open(&on, &err) < 0) {
		fprintf(stderr, "plsc-bodyget: cannot start: %s\n", strerror(errno));
		return 2;
	}
	b.done = done;
	if (on_body_fetch(&on, &b) < 0)
		return 2;
	pl_loop_run(on.loop);
	on_body_close(&on);
	uint8_t md[32];
	unsigned int n = 0;
	if (!b.ok) {
		printf("refused: %s (%llu bytes)\n", b.why, (unsigned long long)b.got);
		return 1;
	}
	EVP_DigestFinal_ex(b.md, md, &n);
	printf("ok ");
	for (unsigned i = 0; i < n; i++)
		printf("%02x", md[i]);
	printf("\n");
	return 0;
}
