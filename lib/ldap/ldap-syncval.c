/* The values of RFC 4533's controls and messages as the server sends
 * them (pl_ldap.h, "content synchronisation"): no network, unit-tested
 * and fuzzed (tests/fuzz/fuzz_ldap_sync.c). Every value is untrusted: a
 * malformed one is refused whole, and nothing of it is kept but copies
 * into the caller's bounded buffers. */
#include "pl_ldap.h"

#include <lber.h>
#include <ldap.h>
#include <string.h>

/* A BER reader over (v, len); NULL out of memory or for an empty value. */
static BerElement *reader(const void *v, size_t len)
{
	struct berval bv = { (ber_len_t)len, (char *)v };
	return len ? ber_init(&bv) : NULL;
}

/* Is the next element a SEQUENCE? (lber's "{" takes any tag.) */
static int is_seq(BerElement *ber)
{
	ber_len_t l;
	return ber && ber_peek_tag(ber, &l) == LBER_SEQUENCE;
}

void pl_ldap_uuid_text(const unsigned char uuid[16], char out[PL_LDAP_UUID_TEXT])
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	for (int i = 0; i < 16; i++) {
		/* 8-4-4-4-12, lower case, as OpenLDAP writes entryUUID */
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[uuid[i] >> 4];
		out[o++] = hex[uuid[i] & 15];
	}
	out[o] = '\0';
}

static int uuid_of(const struct berval *bv, char out[PL_LDAP_UUID_TEXT])
{
	if (bv->bv_len != 16)
		return -1;
	pl_ldap_uuid_text((const unsigned char *)bv->bv_val, out);
	return 0;
}

static int cookie_copy(const struct berval *bv, pl_ldap_cookie_t *c)
{
	if (bv->bv_len > sizeof(c->v))
		return -1;
	memcpy(c->v, bv->bv_val, bv->bv_len);
	c->len = bv->bv_len;
	c->set = 1;
	return 0;
}

int pl_ldap_sync_state_parse(const void *v, size_t len, int *state,
			     char uuid[PL_LDAP_UUID_TEXT])
{
	BerElement *ber = reader(v, len);
	ber_int_t st = -1;
	struct berval u = { 0, NULL };
	int rc = -1;
	if (is_seq(ber) && ber_scanf(ber, "{em", &st, &u) != LBER_ERROR && st >= LDAP_SYNC_PRESENT &&
	    st <= LDAP_SYNC_DELETE && uuid_of(&u, uuid) == 0) {
		*state = (int)st;
		rc = 0;
	}
	if (ber)
		ber_free(ber, 1);
	return rc;
}

/* [cookie] [boolean]: the optional tail the sequences share. */
static int cookie_bool(BerElement *ber, pl_ldap_cookie_t *c, int *flag)
{
	ber_len_t l;
	struct berval bv;
	ber_int_t b;
	ber_tag_t tag = ber_peek_tag(ber, &l);
	if (tag == LBER_OCTETSTRING) {
		if (ber_scanf(ber, "m", &bv) == LBER_ERROR || cookie_copy(&bv, c) < 0)
			return -1;
		tag = ber_peek_tag(ber, &l);
	}
	if (tag == LBER_BOOLEAN) {
		if (ber_scanf(ber, "b", &b) == LBER_ERROR)
			return -1;
		*flag = b != 0;
	}
	return 0;
}

int pl_ldap_sync_done_parse(const void *v, size_t len, pl_ldap_cookie_t *cookie,
			    int *refresh_deletes)
{
	BerElement *ber = reader(v, len);
	int rc = -1;
	*refresh_deletes = 0; /* DEFAULT FALSE */
	cookie->set = 0;
	if (is_seq(ber) && ber_scanf(ber, "{") != LBER_ERROR)
		rc = cookie_bool(ber, cookie, refresh_deletes);
	if (ber)
		ber_free(ber, 1);
	return rc;
}

/* syncIdSet's SET OF syncUUID, each to fn (a non-zero from fn stops
 * it, kept in out->fn_rc). 0, or -1 malformed. */
static int id_set(BerElement *ber, pl_ldap_sync_info_t *out, pl_ldap_uuid_fn fn, void *arg)
{
	ber_len_t l;
	char *last;
	struct berval u;
	char text[PL_LDAP_UUID_TEXT];
	if (ber_peek_tag(ber, &l) != LBER_SET)
		return -1;
	for (ber_tag_t t = ber_first_element(ber, &l, &last); t != LBER_DEFAULT;
	     t = ber_next_element(ber, &l, last)) {
		if (t != LBER_OCTETSTRING || ber_scanf(ber, "m", &u) == LBER_ERROR ||
		    uuid_of(&u, text) < 0)
			return -1;
		if (fn && (out->fn_rc = fn(arg, text)) != 0)
			return 0;
	}
	return 0;
}

int pl_ldap_sync_info_parse(const void *v, size_t len, pl_ldap_sync_info_t *out,
			    pl_ldap_uuid_fn fn, void *arg)
{
	BerElement *ber = reader(v, len);
	ber_len_t l;
	struct berval bv;
	int rc = -1;
	memset(out, 0, sizeof(*out));
	ber_tag_t tag = ber ? ber_peek_tag(ber, &l) : LBER_DEFAULT;
	out->kind = (int)tag;
	if (tag == LDAP_TAG_SYNC_NEW_COOKIE) {
		if (ber_scanf(ber, "m", &bv) != LBER_ERROR)
			rc = cookie_copy(&bv, &out->cookie);
	} else if (tag == LDAP_TAG_SYNC_REFRESH_DELETE || tag == LDAP_TAG_SYNC_REFRESH_PRESENT) {
		out->refresh_done = 1; /* DEFAULT TRUE */
		if (ber_scanf(ber, "{") != LBER_ERROR)
			rc = cookie_bool(ber, &out->cookie, &out->refresh_done);
	} else if (tag == LDAP_TAG_SYNC_ID_SET) {
		if (ber_scanf(ber, "{") != LBER_ERROR &&
		    cookie_bool(ber, &out->cookie, &out->refresh_deletes) == 0) {
			rc = id_set(ber, out, fn, arg);
		}
	}
	if (ber)
		ber_free(ber, 1);
	return rc;
}
