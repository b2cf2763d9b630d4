/* plsc email test: check the Email service's mailbox as the service would
 * (TLS, login, folders), printing each finding. It runs
 * PrinterLogicServiceEmail --test with the same configuration file: the
 * service's own code reads the section and speaks IMAP, so plsc links no
 * IMAP library and the check cannot disagree with the service. */
#include "plsc.h"

#include <jansson.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pl_util.h"

#define EM_BIN "PrinterLogicServiceEmail"

/* The service's binary: its "path" in the config, else beside plsc, else
 * where make install puts it. */
static void em_binary(const char *config, char *out, size_t sz)
{
	json_t *root = json_load_file(config, 0, NULL);
	const char *p = json_string_value(
		json_object_get(json_object_get(json_object_get(root, "services"), EM_BIN), "path"));
	char self[PATH_MAX];
	ssize_t n;
	if (p && p[0]) {
		pl_strlcpy(out, p, sz);
	} else if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) > 0) {
		self[n] = 0;
		(void)pl_fmt(out, sz, "%s/%s", dirname(self), EM_BIN);
		if (access(out, X_OK) != 0)
			(void)pl_fmt(out, sz, "%s/libexec/plsc/%s", PL_PREFIX, EM_BIN);
	} else {
		(void)pl_fmt(out, sz, "%s/libexec/plsc/%s", PL_PREFIX, EM_BIN);
	}
	json_decref(root);
}

int plsc_cmd_email(plsc_t *p, int argc, char **argv)
{
	char bin[PATH_MAX];
	if (argc != 2 || strcmp(argv[1], "test") != 0) {
		fprintf(stderr, "Usage: plsc email test\n");
		return EXIT_USAGE;
	}
	em_binary(p->config, bin, sizeof(bin));
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0) {
		perror("plsc: fork");
		return EXIT_FAIL;
	}
	if (pid == 0) {
		execl(bin, bin, "--test", "-c", p->config, (char *)NULL);
		fprintf(stderr, "plsc: %s: %m\n", bin);
		_exit(127);
	}
	int st;
	if (waitpid(pid, &st, 0) < 0)
		return EXIT_FAIL;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? EXIT_OK : EXIT_FAIL;
}
