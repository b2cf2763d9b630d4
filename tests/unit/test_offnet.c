/* Off-network router: the pinned gateway certificate
 * (services/offnetwork/pin.c): gateway_fingerprint's forms, and the TLS
 * verify step on a real certificate: a match is accepted whatever OpenSSL
 * said of its chain, anything else refused, and without a pin OpenSSL's
 * verdict stands. And the gateway's check of a JOB_EVENT's number. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "../../services/offnetwork/on.h"

static const char HEX[] = "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF";

static void test_pin_parse(void **state)
{
	uint8_t pin[32];
	pl_err_t err;
	char colons[200] = "";
	(void)state;
	assert_int_equal(on_pin_parse(HEX, pin, &err), 0);
	assert_int_equal(pin[0], 0x00);
	assert_int_equal(pin[1], 0x11);
	assert_int_equal(pin[31], 0xff);
	for (int i = 0; i < 64; i += 2) /* AB:CD:... as openssl prints it */
		snprintf(colons + strlen(colons), sizeof(colons) - strlen(colons), "%s%.2s",
			 i ? ":" : "", HEX + i);
	assert_int_equal(on_pin_parse(colons, pin, &err), 0);
	assert_int_equal(pin[16], 0x00);
	assert_int_equal(pin[31], 0xff);
	assert_int_equal(on_pin_parse("0011", pin, &err), -1); /* too short */
	assert_non_null(strstr(err.msg, "gateway_fingerprint"));
	char longer[80];
	snprintf(longer, sizeof(longer), "%s00", HEX); /* too long */
	assert_int_equal(on_pin_parse(longer, pin, &err), -1);
	char odd[80];
	snprintf(odd, sizeof(odd), "%.63s", HEX); /* half a byte */
	assert_int_equal(on_pin_parse(odd, pin, &err), -1);
	char bad[80];
	snprintf(bad, sizeof(bad), "%.62sgg", HEX);
	assert_int_equal(on_pin_parse(bad, pin, &err), -1);
	assert_int_equal(on_pin_parse("", pin, &err), -1);
}

static X509 *self_signed(void)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	assert_non_null(k);
	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, k);
	X509_NAME *n = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"gw", -1, -1, 0);
	X509_set_issuer_name(x, n);
	assert_true(X509_sign(x, k, EVP_sha256()) > 0);
	EVP_PKEY_free(k);
	return x;
}

static void test_pin_verify(void **state)
{
	static on_t on;
	unsigned char md[32];
	unsigned int n = 0;
	(void)state;
	X509 *cert = self_signed();
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	assert_int_equal(X509_STORE_CTX_init(ctx, store, cert, NULL), 1);
	X509_STORE_CTX_set_current_cert(ctx, cert);
	X509_STORE_CTX_set_error_depth(ctx, 0);
	assert_int_equal(X509_digest(cert, EVP_sha256(), md, &n), 1);

	/* no pin: OpenSSL's verdict stands, its error untouched */
	X509_STORE_CTX_set_error(ctx, X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT);
	assert_int_equal(on_pin_verify(&on, ctx, 0), 0);
	assert_int_equal(X509_STORE_CTX_get_error(ctx), X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT);

	/* the right pin: accepted, the self-signed error overruled */
	on.conf.has_pin = 1;
	memcpy(on.conf.pin, md, 32);
	assert_int_equal(on_pin_verify(&on, ctx, 0), 0);
	assert_int_equal(X509_STORE_CTX_get_error(ctx), X509_V_OK);

	/* a wrong pin: refused even where OpenSSL was content */
	on.conf.pin[5] ^= 1;
	assert_int_equal(on_pin_verify(&on, ctx, 1), 1);
	assert_int_not_equal(X509_STORE_CTX_get_error(ctx), X509_V_OK);
	assert_non_null(strstr(on.last_error, "is not gateway_fingerprint"));
	char hex[65];
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	assert_string_equal(on.pin_seen, hex);

	/* above the leaf: the leaf decides, so the chain's errors pass */
	X509_STORE_CTX_set_error_depth(ctx, 1);
	X509_STORE_CTX_set_error(ctx, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT);
	assert_int_equal(on_pin_verify(&on, ctx, 0), 0);
	assert_int_equal(X509_STORE_CTX_get_error(ctx), X509_V_OK);

	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	X509_free(cert);
}

/* A gateway's repeat check on the router's OFFNET_SEQ (§12.1): within an
 * epoch (the high 32 bits) by order, across epochs never a repeat, so a
 * router that lost its state and numbers from a new epoch is heard. */
static void test_seq_repeat(void **state)
{
	const uint64_t a = (uint64_t)7 << 32, b = (uint64_t)3 << 32;
	(void)state;
	assert_int_equal(on_seq_repeat(0, a | 1), 0); /* nothing recorded yet */
	assert_int_equal(on_seq_repeat(a | 5, a | 5), 1); /* sent again */
	assert_int_equal(on_seq_repeat(a | 5, a | 4), 1); /* an older one again */
	assert_int_equal(on_seq_repeat(a | 5, a | 6), 0); /* newer */
	assert_int_equal(on_seq_repeat(a | 5, b | 1), 0); /* a new epoch, lower */
	assert_int_equal(on_seq_repeat(b | 9, a | 1), 0); /* a new epoch, higher */
	assert_int_equal(on_seq_repeat(5, 5), 1);	   /* before epochs: by order */
	assert_int_equal(on_seq_repeat(5, 6), 0);
	assert_int_equal(on_seq_repeat(500, a | 1), 0); /* old journal, then a fresh one */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pin_parse),
		cmocka_unit_test(test_pin_verify),
		cmocka_unit_test(test_seq_repeat),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
