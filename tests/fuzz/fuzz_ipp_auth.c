// fuzz-sources: services/airprint/basic.c
/* libFuzzer target: what PrinterLogicServiceAirprint parses itself before
 * libcups' IPP reader (which it does not reimplement): the HTTP Basic
 * Authorization header (base64 of user:password) and the user-name check
 * that keeps LDAP DN metacharacters out. Input: the header value. A
 * success must give a user name and password that are terminated within
 * their buffers, a user name that the name check can judge, and a round
 * trip: encoding them again decodes to the same. */
#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ap-basic.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char hdr[2048], user[128], pass[AP_BASIC_MAX];
	if (size >= sizeof(hdr))
		return 0;
	memcpy(hdr, data, size);
	hdr[size] = '\0';
	if (ap_basic_decode(hdr, user, sizeof(user), pass, sizeof(pass)) != 0)
		return 0;
	CHECK(memchr(user, '\0', sizeof(user)) && memchr(pass, '\0', sizeof(pass)));
	CHECK(!strchr(user, ':'));
	(void)ap_user_name_ok(user);
	/* round trip */
	char plain[AP_BASIC_MAX + 2], enc[AP_BASIC_MAX * 2], again[AP_BASIC_MAX * 2 + 8];
	char u2[128], p2[AP_BASIC_MAX];
	size_t n = strlen(user) + 1 + strlen(pass);
	if (n > AP_BASIC_MAX)
		return 0;
	memcpy(plain, user, strlen(user));
	plain[strlen(user)] = ':';
	memcpy(plain + strlen(user) + 1, pass, strlen(pass));
	int el = EVP_EncodeBlock((unsigned char *)enc, (const unsigned char *)plain, (int)n);
	CHECK(el >= 0);
	enc[el] = '\0';
	memcpy(again, "Basic ", 6);
	memcpy(again + 6, enc, (size_t)el + 1);
	if ((size_t)el <= (AP_BASIC_MAX / 3) * 4) {
		CHECK(ap_basic_decode(again, u2, sizeof(u2), p2, sizeof(p2)) == 0);
		CHECK(strcmp(u2, user) == 0 && strcmp(p2, pass) == 0);
	}
	return 0;
}
