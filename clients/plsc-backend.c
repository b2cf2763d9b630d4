/* The CUPS backend "plsc": a CUPS queue whose device URI is
 *   plsc://HOST[:PORT]/?printer=NAME[&fingerprint=SHA256|&insecure=1][&hold=1]
 * sends its jobs to a Service Client, where they are held until released
 * (hold=1: to an off-network gateway, which otherwise prints them at
 * once: held for release at the router, like plsc-submit --hold).
 * Installed as <cups backend dir>/plsc, mode 0700 root (so cupsd runs it
 * as root and it can read the root-only token file). Conventions of
 * backend(7): no arguments = discovery line; otherwise
 *   plsc job-id user title copies options [file]
 * with DEVICE_URI in the environment; messages on stderr with
 * ERROR:/INFO:/DEBUG: prefixes; CUPS_BACKEND_* exit codes.
 * Settings from the environment (for testing) or defaults:
 *   PLSC_TOKEN_FILE  /etc/plsc/token            (0600 root)
 *   PLSC_CA_FILE     /etc/plsc/server-cert.pem  (if present)
 *   PLSC_SALT_FILE   /var/lib/plsc/backend-salt (made 0600 on first use) */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "pl_random.h"
#include "pl_util.h"
#include "submit.h"

#define SALT_HEX 32 /* 128 random bits */

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
	int hold;
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
		else if (strcmp(kv, "hold") == 0)
			u->hold = strcmp(eq, "1") == 0 || strcmp(eq, "yes") == 0;
	}
	return 0;
}

static int salt_read(const char *path, char *salt, size_t sz)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, salt, sz - 1);
	close(fd);
	if (n != SALT_HEX)
		return -2;
	salt[n] = '\0';
	return 0;
}

/* A new salt in a temporary file, linked into place: readers see a whole
 * salt or none, and of two jobs making it at once one wins (EEXIST) and
 * both use the winner's. 0, or -1 with errno set. */
static int salt_make(const char *path, const char *dir, char *salt, size_t sz)
{
	char tmp[PATH_MAX];
	int rc = -1;

	if (pl_fmt(tmp, sizeof(tmp), "%s/.backend-salt-XXXXXX", dir) < 0)
		return -1;
	int fd = mkstemp(tmp);
	if (fd < 0)
		return -1;
	if (pl_random_hex(salt, SALT_HEX / 2) == 0 && pl_write_all(fd, salt, SALT_HEX) == 0 &&
	    fsync(fd) == 0)
		rc = link(tmp, path);
	close(fd);
	unlink(tmp);
	if (rc < 0 && errno == EEXIST)
		rc = salt_read(path, salt, sz);
	return rc;
}

/* The workstation's salt from path, made (0600, in a 0700 directory) the
 * first time. 0, or -1 with msg set. */
static int salt_load(const char *path, char *salt, size_t sz, char *msg, size_t msgsz)
{
	char dir[PATH_MAX], *slash;
	int rc = salt_read(path, salt, sz);

	if (rc == -1 && errno == ENOENT && pl_fmt(dir, sizeof(dir), "%s", path) == 0) {
		slash = strrchr(dir, '/');
		if (slash && slash != dir)
			*slash = '\0';
		else
			pl_strlcpy(dir, slash ? "/" : ".", sizeof(dir));
		(void)mkdir(dir, 0700);
		rc = salt_make(path, dir, salt, sz);
	}
	if (rc < 0) {
		(void)pl_fmt(msg, msgsz, "salt file %s: %s", path,
			     rc == -2 ? "not 32 hex digits" : strerror(errno));
		salt[0] = '\0';
	}
	return rc < 0 ? -1 : 0;
}

/* The idempotency key of this CUPS job: the same for every attempt CUPS
 * makes at it (a retry after a lost answer must not hold it twice), and
 * different for any other job. CUPS keeps a job's id, user and title
 * across retries, and the queue's URI names the server and printer; a
 * random salt of this workstation, kept in a file, makes keys unrelated
 * to anything another workstation or a reinstalled one could send (the
 * server also matches keys only for the same token and user). Stateless
 * otherwise: nothing to clean up when the job ends. */
static int job_key(const char *uri, char **argv, char *key, size_t sz)
{
	const char *sf = getenv("PLSC_SALT_FILE") ? getenv("PLSC_SALT_FILE")
						  : "/var/lib/plsc/backend-salt";
	char salt[SALT_HEX + 1] = "", msg[512];
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (salt_load(sf, salt, sizeof(salt), msg, sizeof(msg)) < 0)
		fprintf(stderr, "DEBUG: %s: the key goes unsalted\n", msg);
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	int ok = c && EVP_DigestInit_ex(c, EVP_sha256(), NULL);
	const char *parts[] = { "plsc-backend-key-1", salt, uri, argv[1], argv[2], argv[3] };
	for (size_t i = 0; ok && i < PL_ARRAY_LEN(parts); i++)
		ok = EVP_DigestUpdate(c, parts[i], strlen(parts[i]) + 1); /* with its NUL */
	ok = ok && EVP_DigestFinal_ex(c, md, &n) && n >= 16 && sz > 32;
	EVP_MD_CTX_free(c);
	if (ok)
		pl_hex(md, 16, key);
	return ok ? 0 : -1;
}

/* The exit status for sub_send's answer (backend(7)): the queue stops
 * only for what an administrator must fix on this workstation or the
 * server (certificate, token, options); a server that is down, busy,
 * short of space or cut the connection is a job for later. */
static int exit_for(int rc)
{
	switch (rc) {
	case SUB_OK: return CUPS_BACKEND_OK;
	case SUB_ECONNECT:	/* not listening, unreachable */
	case SUB_ELOST:		/* closed or reset, silent too long */
	case SUB_EUNKNOWN:	/* the same, after the whole job went: the key makes the retry safe */
	case SUB_EBUSY:		/* the server says: later */
		return CUPS_BACKEND_RETRY;
	/* Not AUTH_REQUIRED: that holds the job for a user's credentials,
	 * and the token is the workstation's, not the user's. */
	case SUB_EAUTH:
	case SUB_ETLS:
	case SUB_EPEER:
	case SUB_EUSAGE:
		return CUPS_BACKEND_STOP;
	case SUB_EREFUSED: return CUPS_BACKEND_CANCEL;     /* this job can't be taken */
	/* The queue's printer= is not (or no longer) in the directory: an
	 * administrator's fix, after which the job can go as it is. Held in
	 * CUPS, it waits for that, visibly, instead of vanishing. */
	case SUB_ENOPRINTER: return CUPS_BACKEND_HOLD;
	/* 0 bytes: a filter before us failed; this job can never print. */
	case SUB_EEMPTY: return CUPS_BACKEND_CANCEL;
	default: return CUPS_BACKEND_FAILED;
	}
}

/* What cupsd shows: the reason on an ERROR: (or, when CUPS will simply
 * try again, WARNING:) line, printer-state-reasons on STATE: lines. */
static void report(int rc, const char *msg, const uri_t *u, char **argv)
{
	if (rc == SUB_OK) {
		fprintf(stderr, "STATE: -cups-pki-invalid,cups-pki-changed,offline-report\n");
		return;
	}
	switch (exit_for(rc)) {
	case CUPS_BACKEND_RETRY:
		if (rc == SUB_ECONNECT)
			fprintf(stderr, "STATE: +offline-report\n");
		fprintf(stderr, "WARNING: %s; CUPS will retry the job later\n", msg);
		if (rc == SUB_EUNKNOWN)
			fprintf(stderr, "INFO: the job may be held already; the retry "
					"will not hold it twice\n");
		return;
	case CUPS_BACKEND_STOP:
		if (rc == SUB_EPEER)
			fprintf(stderr, "STATE: +%s\n", u->fingerprint[0] ? "cups-pki-changed"
									  : "cups-pki-invalid");
		fprintf(stderr, "ERROR: %s\n", msg);
		fprintf(stderr, "ERROR: the queue is stopped until an administrator fixes "
				"this (%s), then enables it (cupsenable)\n",
				rc == SUB_EAUTH ? "the workstation's token"
				: rc == SUB_EUSAGE ? "the queue's device URI or files"
				: "the server's certificate or the URI's fingerprint");
		return;
	default:
		fprintf(stderr, "ERROR: %s\n", msg);
		if (rc == SUB_ENOPRINTER)
			fprintf(stderr, "ERROR: job held: add printer '%s' on the Service Client "
					"(plsc printers add) or correct this queue's printer=, then "
					"release the job (lp -i %s -H resume)\n", u->printer, argv[1]);
	}
}

int main(int argc, char **argv)
{
	char msg[1024], tok[128], id[64], key[33];
	uri_t u;

	setbuf(stderr, NULL);
	/* A server (or cupsd) that closes while we write is an error we
	 * report, never a SIGPIPE that kills us (exit 141, which cupsd
	 * takes for a failure and, by default, stops the queue for). */
	signal(SIGPIPE, SIG_IGN);
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
		.hold = u.hold,
		.ca = (!u.fingerprint[0] && !u.insecure && access(ca, R_OK) == 0) ? ca : NULL,
		.timeout_ms = 60000,
		.idem_key = job_key(uri, argv, key, sizeof(key)) == 0 ? key : NULL,
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
	fprintf(stderr, "STATE: +connecting-to-device\n");
	fprintf(stderr, "INFO: sending job to %s:%d\n", u.host, u.port);
	int rc = sub_send(&o, fd, id, sizeof(id), msg, sizeof(msg));
	close(fd);
	memset(tok, 0, sizeof(tok));
	fprintf(stderr, "STATE: -connecting-to-device\n");
	report(rc, msg, &u, argv);
	if (rc == SUB_OK)
		fprintf(stderr, "INFO: %s on the Service Client as job %s\n",
			msg[0] ? "already held" : "held", id);
	return exit_for(rc);
}
