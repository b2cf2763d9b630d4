/* plsc-ldapcheck URI CA_FILE DN: pl_ldap_check_password (lib/ldap), the
 * check AirPrint makes of a user's password, run once against a real
 * server for t53. The password is read from standard input (one line), so
 * it is never in a command line. Prints "right", "wrong" or "error: ..."
 * and exits 0, 1 or 2. A test peer, not installed. */
#include <stdio.h>
#include <string.h>

#include "pl_ldap.h"

int main(int argc, char **argv)
{
	char pw[512];
	pl_err_t err = { "" };
	if (argc != 4 || strcmp(argv[1], "--help") == 0) {
		fprintf(stderr, "usage: %s URI CA_FILE DN < password\n"
			"checks the password by a simple bind as DN (pl_ldap_check_password)\n",
			argv[0]);
		return argc == 2 ? 0 : 2;
	}
	if (!fgets(pw, sizeof(pw), stdin))
		pw[0] = '\0';
	pw[strcspn(pw, "\r\n")] = '\0';
	pl_ldap_conf_t c = { .uri = argv[1], .ca_file = argv[2][0] ? argv[2] : NULL,
			     .network_timeout_s = 5, .op_timeout_s = 5 };
	int rc = pl_ldap_check_password(&c, argv[3], pw, &err);
	memset(pw, 0, sizeof(pw));
	if (rc == 1)
		puts("right");
	else if (rc == 0)
		puts("wrong");
	else
		printf("error: %s\n", err.msg);
	return rc == 1 ? 0 : rc == 0 ? 1 : 2;
}
