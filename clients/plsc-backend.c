/* The CUPS backend "plsc": a CUPS queue whose device URI is
 *   plsc://HOST[:PORT]/?printer=NAME[&fingerprint=SHA256|&insecure=1]
 * sends its jobs to a Service Client, where they are held until released.
 * Installed as <cups backend dir>/plsc, mode 0700 root (so cupsd runs it
 * as root and it can read the root-only token file). Conventions of
 * backend(7): no arguments = discovery line; otherwise
 *   plsc job-id user title copies options [file]
 * with DEVICE_URI in the environment; messages on stderr with
 * ERROR:/INFO:/DEBUG: prefixes; CUPS_BACKEND_* exit codes.
 * Settings from the environment (for testing) or defaults:
 *   PLSC_TOKEN_FILE  /etc/plsc/token            (0600 root)
 *   PLSC_CA_FILE     /etc/plsc/server-cert.pem  (if present) */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pl_util.h"
#include "submit.h"

/* From <cups/backend.h>, spelled out so the backend needs no libcups. */
enum {
	CUPS_BACKEND_OK = 0,
	CUPS_BACKEND_FAILED = 1,
	CUPS_BACKEND_AUTH_REQUIRED = 2,
	CUPS_BACKEND_HOLD = 3,
	CUPS_BACKEND_STOP = 4,
	CUPS_BACKEND_CANCEL = 5,
	CUPS_BACKEND_RETRY = 6,
	CUPS_BACKEND_RETRY_CURRENT = 7,
};

typedef struct {
	char host[256];
	int port;
	char printer[128];
	char fingerprint[128];
	int insecure;
} uri_t;

static void unescape(char *s)
{
	char *o = s;
	for (; *s; s++) {
		if (*s == '%' && pl_hex_digit(s[1]) >= 0 && pl_hex_digit(s[2]) >= 0) {
			*o++ = (char)(pl_hex_digit(s[1]) * 16 + pl_hex_digit(s[2]));
			s += 2;
		} else {
			*o++ = *s == '+' ? ' ' : *s;
		}
	}
	*o = '\0';
}

static int parse_uri(const char *uri, uri_t *u)
{
	char buf[1024];
	memset(u, 0, sizeof(*u));
	if (strncmp(uri, "plsc://", 7) != 0 || pl_fmt(buf, sizeof(buf), "%s", uri + 7) < 0)
		return -1;
	char *q = strchr(buf, '?');
	if (q)
		*q++ = '\0';
	char *slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	/* host, host:port, [v6] or [v6]:port */
	if (pl_parse_server(buf, 31989, u->host, sizeof(u->host), &u->port) < 0)
		return -1;
	char *save = NULL;
	for (char *kv = q ? strtok_r(q, "&", &save) : NULL; kv; kv = strtok_r(NULL, "&", &save)) {
		char *eq = strchr(kv, '=');
		if (!eq)
			continue;
		*eq++ = '\0';
		unescape(eq);
		if (strcmp(kv, "printer") == 0)
			pl_strlcpy(u->printer, eq, sizeof(u->printer));
		else if (strcmp(kv, "fingerprint") == 0)
			pl_strlcpy(u->fingerprint, eq, sizeof(u->fingerprint));
		else if (strcmp(kv, "insecure") == 0)
			u->insecure = strcmp(eq, "1") == 0 || strcmp(eq, "yes") == 0;
	}
	return 0;
}

static int exit_for(int rc)
{
	switch (rc) {
	case SUB_OK: return CUPS_BACKEND_OK;
	case SUB_ECONNECT: return CUPS_BACKEND_RETRY;      /* server down: later */
	case SUB_ETLS: return CUPS_BACKEND_STOP;           /* admin must fix trust */
	case SUB_EAUTH: return CUPS_BACKEND_STOP;          /* admin must fix the token */
	case SUB_EREFUSED: return CUPS_BACKEND_CANCEL;     /* this job can't be taken */
	/* The queue's printer= is not (or no longer) in the directory: an
	 * administrator's fix, after which the job can go as it is. Held in
	 * CUPS, it waits for that, visibly, instead of vanishing. */
	case SUB_ENOPRINTER: return CUPS_BACKEND_HOLD;
	/* 0 bytes: a filter before us failed; this job can never print. */
	case SUB_EEMPTY: return CUPS_BACKEND_CANCEL;
	case SUB_EBUSY: return CUPS_BACKEND_RETRY;         /* the server says: later */
	case SUB_EIO: return CUPS_BACKEND_RETRY_CURRENT;
	default: return CUPS_BACKEND_FAILED;
	}
}

int main(int argc, char **argv)
{
	char msg[1024], tok[128], id[64];
	uri_t u;

	setbuf(stderr, NULL);
	if (argc == 1) {
		printf("network plsc \"Unknown\" \"Service Client (held print)\"\n");
		return CUPS_BACKEND_OK;
	}
	if (argc < 6 || argc > 7) {
		fprintf(stderr, "Usage: %s job-id user title copies options [file]\n", argv[0]);
		return CUPS_BACKEND_FAILED;
	}
	const char *uri = getenv("DEVICE_URI");
	if (!uri && strstr(argv[0], "://"))
		uri = argv[0];
	if (!uri || parse_uri(uri, &u) < 0) {
		fprintf(stderr, "ERROR: bad device URI '%s' (expected "
				"plsc://host:31989/?printer=NAME)\n", uri ? uri : "");
		return CUPS_BACKEND_STOP;
	}
	const char *tf = getenv("PLSC_TOKEN_FILE") ? getenv("PLSC_TOKEN_FILE") : "/etc/plsc/token";
	const char *ca = getenv("PLSC_CA_FILE") ? getenv("PLSC_CA_FILE") : "/etc/plsc/server-cert.pem";
	if (sub_read_token(tf, tok, sizeof(tok), msg, sizeof(msg)) < 0) {
		fprintf(stderr, "ERROR: %s\n", msg);
		return CUPS_BACKEND_STOP;
	}
	sub_opts_t o = {
		.host = u.host,
		.port = u.port,
		.token = tok,
		.user = argv[2],
		.title = argv[3],
		.printer = u.printer[0] ? u.printer : NULL,
		.format = getenv("FINAL_CONTENT_TYPE") ? getenv("FINAL_CONTENT_TYPE")
							: getenv("CONTENT_TYPE"),
		.fingerprint = u.fingerprint[0] ? u.fingerprint : NULL,
		.insecure = u.insecure,
		.ca = (!u.fingerprint[0] && !u.insecure && access(ca, R_OK) == 0) ? ca : NULL,
		.timeout_ms = 60000,
	};
	if (atoi(argv[4]) > 1)
		fprintf(stderr, "INFO: %s copies requested; the held job prints once per "
				"release\n", argv[4]);
	int fd = argc == 7 ? open(argv[6], O_RDONLY | O_CLOEXEC) : sub_spool(0, msg, sizeof(msg));
	if (fd < 0) {
		fprintf(stderr, "ERROR: %s\n", argc == 7 ? strerror(errno) : msg);
		return CUPS_BACKEND_FAILED;
	}
	if (!o.format)
		o.format = sub_detect_format(fd);
	fprintf(stderr, "INFO: sending job to %s:%d\n", u.host, u.port);
	int rc = sub_send(&o, fd, id, sizeof(id), msg, sizeof(msg));
	close(fd);
	memset(tok, 0, sizeof(tok));
	if (rc == SUB_OK) {
		fprintf(stderr, "INFO: held on the Service Client as job %s\n", id);
		return CUPS_BACKEND_OK;
	}
	fprintf(stderr, "ERROR: %s\n", msg);
	if (rc == SUB_ENOPRINTER)
		fprintf(stderr, "ERROR: job held: add printer '%s' on the Service Client "
				"(plsc printers add) or correct this queue's printer=, then "
				"release the job (lp -i %s -H resume)\n", u.printer, argv[1]);
	return exit_for(rc);
}
