/* plsc-submit: send a document to a Service Client to be held until its
 * owner releases it at a printer. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pl_util.h"
#include "submit.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: plsc-submit --server HOST[:PORT] --token-file F --user U\n"
		"                   [--title T] [--printer P] [--format MIME] [--pages N]\n"
		"                   [--page-size S] (--ca PEM | --fingerprint SHA256 | --insecure)\n"
		"                   [--timeout SECONDS] [--idempotency-key KEY] [--hold] [FILE]\n"
		"Send FILE (or standard input) to the Service Client's held-print service\n"
		"(port 31989). Prints the job id once the job is stored. See plsc-submit(1).\n"
		"Without --format, the format is detected from the first bytes.\n"
		"The same --idempotency-key again (same user, same token) answers the job\n"
		"already held instead of holding a second copy.\n"
		"--hold: to an off-network gateway, hold the job for release at the\n"
		"remote site instead of printing it at once (--printer optional then).\n"
		"Exit status: 0 held, 1 refused or failed (an empty document too), 2 usage,\n"
		"3 try again later (server unreachable, busy, or the connection broke).\n");
}

/* The exit status for sub_send's answer: 3 whenever the same command
 * later may succeed as it is. */
static int exit_for(int rc)
{
	switch (rc) {
	case SUB_ECONNECT:
	case SUB_ELOST:
	case SUB_EUNKNOWN:
	case SUB_EBUSY:
		return 3;
	case SUB_EUSAGE:
		return 2;
	default:
		return 1;
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "server", required_argument, NULL, 's' },
		{ "token-file", required_argument, NULL, 'k' },
		{ "user", required_argument, NULL, 'u' },
		{ "title", required_argument, NULL, 't' },
		{ "printer", required_argument, NULL, 'p' },
		{ "format", required_argument, NULL, 'f' },
		{ "pages", required_argument, NULL, 'n' },
		{ "page-size", required_argument, NULL, 'z' },
		{ "ca", required_argument, NULL, 'c' },
		{ "fingerprint", required_argument, NULL, 'F' },
		{ "insecure", no_argument, NULL, 'I' },
		{ "hold", no_argument, NULL, 'H' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "idempotency-key", required_argument, NULL, 'K' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	sub_opts_t o = { .port = 31989, .timeout_ms = 30000 };
	const char *server = NULL, *token_file = NULL;
	char host[256], tok[128], msg[1024], id[64], key[SUB_KEY_MAX + 1];
	int c;

	/* A server that closes while we write is an error we report (exit
	 * 3), never a SIGPIPE that kills us (exit 141). */
	signal(SIGPIPE, SIG_IGN);
	while ((c = getopt_long(argc, argv, "s:k:u:t:p:f:hV", opts, NULL)) != -1) {
		switch (c) {
		case 's': server = optarg; break;
		case 'k': token_file = optarg; break;
		case 'u': o.user = optarg; break;
		case 't': o.title = optarg; break;
		case 'p': o.printer = optarg; break;
		case 'f': o.format = optarg; break;
		case 'n': o.pages = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'z': o.page_size = optarg; break;
		case 'c': o.ca = optarg; break;
		case 'F': o.fingerprint = optarg; break;
		case 'I': o.insecure = 1; break;
		case 'H': o.hold = 1; break;
		case 'T': o.timeout_ms = atoi(optarg) * 1000; break;
		case 'K': o.idem_key = optarg; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("plsc-submit %s\n", PL_VERSION); return 0;
		default: usage(stderr); return 2;
		}
	}
	/* Name what is missing or wrong rather than print the usage alone. */
	const char *missing = !server ? "--server" : !token_file ? "--token-file"
			      : !o.user ? "--user" : NULL;
	if (missing) {
		fprintf(stderr, "plsc-submit: %s is required (see --help)\n", missing);
		return 2;
	}
	if (optind < argc - 1 || o.timeout_ms <= 0) {
		fprintf(stderr, "plsc-submit: %s (see --help)\n", optind < argc - 1
			? "one FILE at most" : "--timeout must be a positive number of seconds");
		return 2;
	}
	if (pl_parse_server(server, o.port, host, sizeof(host), &o.port) < 0) {
		fprintf(stderr, "plsc-submit: bad server '%s' (HOST, HOST:PORT, [IPv6]:PORT)\n",
			server);
		return 2;
	}
	o.host = host;
	if (o.idem_key && !sub_key_valid(o.idem_key)) {
		fprintf(stderr, "plsc-submit: bad --idempotency-key: 1 to %d of A-Z a-z 0-9 . _ : -\n",
			SUB_KEY_MAX);
		return 2;
	}
	/* Every submission names itself, so that a retry after an unknown
	 * outcome (the answer lost) can name it again: the key is shown
	 * then. */
	if (!o.idem_key && sub_key_random(key, sizeof(key)) == 0)
		o.idem_key = key;
	if (sub_read_token(token_file, tok, sizeof(tok), msg, sizeof(msg)) < 0) {
		fprintf(stderr, "plsc-submit: %s\n", msg);
		return 2;
	}
	o.token = tok;
	int fd;
	if (optind == argc - 1 && strcmp(argv[optind], "-") != 0) {
		fd = open(argv[optind], O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			fprintf(stderr, "plsc-submit: %s: %s\n", argv[optind], strerror(errno));
			return 1;
		}
		if (!o.title) {
			const char *slash = strrchr(argv[optind], '/');
			o.title = slash ? slash + 1 : argv[optind];
		}
	} else {
		fd = sub_spool(0, msg, sizeof(msg));
		if (fd < 0) {
			fprintf(stderr, "plsc-submit: %s\n", msg);
			return 1;
		}
	}
	/* IPP printers need the real document-format at release. */
	if (!o.format)
		o.format = sub_detect_format(fd);
	int rc = sub_send(&o, fd, id, sizeof(id), msg, sizeof(msg));
	close(fd);
	memset(tok, 0, sizeof(tok));
	if (rc == SUB_OK) {
		if (msg[0])
			fprintf(stderr, "plsc-submit: %s\n", msg);
		printf("%s\n", id);
		return 0;
	}
	fprintf(stderr, "plsc-submit: %s\n", msg);
	if (rc == SUB_EUNKNOWN)
		fprintf(stderr, "plsc-submit: the job may be held or not; to try again "
			"without holding it twice: --idempotency-key %s\n", o.idem_key);
	return exit_for(rc);
}
