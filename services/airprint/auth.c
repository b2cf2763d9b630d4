/* HTTP Basic over TLS (conn.c refuses credentials on plain IPP before they
 * get here). The user is who the credentials prove, never
 * requesting-user-name. Checked against the directory (the PIN the
 * administrator set: plsc users add NAME --pin) and, when ldap_uri is set,
 * by a simple bind as the user over LDAPS (lib/ldap). Failures count per
 * address and per user: auth_max_failures of them lock that key out for
 * auth_lockout_s, during which nothing is checked at all (no oracle, no
 * scrypt work for an attacker). */
#include "ap.h"
#include "ap-basic.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#include "pl_ldap.h"
#include "pl_log.h"
#include "pl_util.h"

/* auth_lock held. The slot for key, a free one, or the stalest. */
static ap_auth_slot_t *slot_for(ap_t *ap, const char *key, int create)
{
	ap_auth_slot_t *free_s = NULL, *old = NULL;
	for (int i = 0; i < AP_AUTH_SLOTS; i++) {
		ap_auth_slot_t *s = &ap->auth[i];
		if (s->key[0] && strcmp(s->key, key) == 0)
			return s;
		if (!s->key[0] && !free_s)
			free_s = s;
		if (s->key[0] && (!old || s->last_ms < old->last_ms))
			old = s;
	}
	if (!create)
		return NULL;
	ap_auth_slot_t *s = free_s ? free_s : old;
	memset(s, 0, sizeof(*s));
	(void)pl_fmt(s->key, sizeof(s->key), "%s", key);
	return s;
}

static int locked(ap_t *ap, const char *key, int64_t now)
{
	ap_auth_slot_t *s = slot_for(ap, key, 0);
	return s && s->until_ms > now;
}

static void note(ap_t *ap, const char *key, int ok, int64_t now)
{
	if (ok) {
		ap_auth_slot_t *s = slot_for(ap, key, 0);
		if (s)
			s->key[0] = '\0';
		return;
	}
	ap_auth_slot_t *s = slot_for(ap, key, 1);
	s->last_ms = now;
	if (++s->failures >= ap->auth_max_failures) {
		s->until_ms = now + ap->auth_lockout_ms;
		s->failures = 0;
	}
}

static int check_ldap(ap_t *ap, const char *user, const char *pass)
{
	char dn[1024];
	pl_err_t err;
	if (!ap->ldap_uri[0])
		return 0;
	/* the name went through ap_user_name_ok: no DN metacharacters */
	if (pl_fmt(dn, sizeof(dn), ap->ldap_dn, user) < 0)
		return 0;
	pl_ldap_conf_t c = { .uri = ap->ldap_uri, .ca_file = ap->ldap_ca[0] ? ap->ldap_ca : NULL,
			     .network_timeout_s = 5, .op_timeout_s = 5 };
	int rc = pl_ldap_check_password(&c, dn, pass, &err);
	if (rc < 0)
		pl_warn("LDAP check for %s: %s", user, err.msg);
	return rc == 1;
}

int ap_auth_check(ap_t *ap, const char *authorization, const char *addr, char *user, size_t usz,
		  const char **why)
{
	char pass[AP_BASIC_MAX], akey[160], ukey[160];
	int64_t now = (int64_t)pl_now_ms();
	pl_err_t err;

	*why = NULL;
	if (ap_basic_decode(authorization, user, usz, pass, sizeof(pass)) < 0) {
		*why = "malformed Basic credentials";
		user[0] = '\0';
		return 0;
	}
	if (!ap_user_name_ok(user)) {
		*why = "not a valid user name";
		OPENSSL_cleanse(pass, sizeof(pass));
		user[0] = '\0';
		return 0;
	}
	(void)pl_fmt(akey, sizeof(akey), "a:%s", addr);
	(void)pl_fmt(ukey, sizeof(ukey), "u:%s", user);
	pthread_mutex_lock(&ap->auth_lock);
	int lock = locked(ap, akey, now) || locked(ap, ukey, now);
	pthread_mutex_unlock(&ap->auth_lock);
	if (lock) {
		*why = "too many failed attempts: locked out for now";
		OPENSSL_cleanse(pass, sizeof(pass));
		user[0] = '\0';
		return 0;
	}
	pthread_mutex_lock(&ap->adir_lock);
	int ok = pl_dir_pin_check(ap->adir, user, pass, &err);
	pthread_mutex_unlock(&ap->adir_lock);
	if (ok < 0)
		pl_warn("directory: %s", err.msg);
	if (ok != 1)
		ok = check_ldap(ap, user, pass);
	OPENSSL_cleanse(pass, sizeof(pass));
	pthread_mutex_lock(&ap->auth_lock);
	note(ap, akey, ok == 1, now);
	note(ap, ukey, ok == 1, now);
	if (ok != 1)
		ap->refused_auth++;
	pthread_mutex_unlock(&ap->auth_lock);
	if (ok != 1) {
		*why = "wrong user name or password";
		pl_info("authentication failed for user %s from %s", user, addr);
		user[0] = '\0';
		return 0;
	}
	return 1;
}
