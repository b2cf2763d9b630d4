/* plsc: shared pieces of the CLI (plsc.c: main, status, toggles, logs;
 * plsc-jobs.c: held jobs via the supervisor; plsc-dir.c: printers and
 * workstation tokens in the directory; plsc-users.c: users and badge
 * readers; plsc-admin.c: web console administrators; plsc-ask.c:
 * passwords and PINs). */
#ifndef PLSC_H
#define PLSC_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

#include "pl_ctlclient.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2, EXIT_NOSUP = 3 };

typedef struct {
	const char *config;
	const char *socket;
	char sockbuf[PATH_MAX];
	char log_dir[PATH_MAX];
	char state_dir[PATH_MAX];
	/* The directory's owner when plsc runs as root with privilege
	 * separation (privsep.c): what plsc gives the files it writes. */
	int dir_owned;
	uid_t dir_uid;
	gid_t dir_gid;
} plsc_t;

/* Connect to the supervisor; EXIT_OK or an exit code (message printed). */
int plsc_connect(const plsc_t *p, pl_ctl_client_t *c);
/* Print the MESSAGE of an error RESULT; returns EXIT_FAIL. */
int plsc_print_error(const pl_frame_t *f);
/* The --json form of a listing, {"KEY": [...]}; takes arr. Without
 * as_json just drops arr (the caller printed the table). */
struct json_t;
void plsc_print_list(const char *key, struct json_t *arr, int as_json);

int plsc_cmd_jobs(plsc_t *p, int argc, char **argv);
int plsc_cmd_release(plsc_t *p, int argc, char **argv);
int plsc_cmd_delete(plsc_t *p, int argc, char **argv);
int plsc_cmd_printers(plsc_t *p, int argc, char **argv);
int plsc_cmd_token(plsc_t *p, int argc, char **argv);
int plsc_cmd_users(plsc_t *p, int argc, char **argv);
int plsc_cmd_readers(plsc_t *p, int argc, char **argv);
int plsc_cmd_admin(plsc_t *p, int argc, char **argv);
int plsc_cmd_sync(plsc_t *p, int argc, char **argv);
int plsc_cmd_email(plsc_t *p, int argc, char **argv);

/* Secrets (plsc-ask.c), never from the command line: asked twice without
 * echo on a terminal, else one line of standard input; or one line of a
 * file only its owner may read ("-": as plsc_ask_secret). At most max
 * bytes into buf (sz >= max + 3). 0, or -1 with a message printed. An
 * empty line (not at the prompt) is an empty secret. */
int plsc_ask_secret(const char *prompt, const char *what, char *buf, size_t sz,
		    size_t max);
int plsc_read_secret_file(const char *path, const char *what, char *buf, size_t sz,
			  size_t max);

/* Open the directory (plsc-dir.c), keeping it owned by the services' user
 * when run as root. */
struct pl_dir;
int plsc_open_dir(const plsc_t *p, struct pl_dir **d);
/* plsc-printers-snmp.c: PrinterLogicServiceSNMP's status file (NULL:
 * none yet), plsc printers show and snmp. */
struct pl_prstatus;
struct pl_prstatus *plsc_status_open(const plsc_t *p);
int plsc_printers_show(const plsc_t *p, struct pl_dir *d, const char *name, int as_json);
int plsc_printers_snmp(struct pl_dir *d, const char *name, const char *opts);

#endif
