/* pl_ldap: connections, binds and paged searches (pl_ldap.h). libldap's
 * synchronous API: each call blocks for at most the operation timeout, so
 * callers run these on a worker thread. */
#include "pl_ldap.h"

#include <ldap.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

#include "pl_util.h"

struct pl_ldap {
	LDAP *ld;
	int tls;   /* TLS is in place: a bind may be sent */
	int op_timeout_s;
};

static int fail(pl_err_t *err, int cls, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(pl_err_t *err, int cls, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (err)
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return cls;
}

/* libldap's diagnostic for the last operation, "" when none. */
static const char *diag(LDAP *ld, char *buf, size_t sz)
{
	char *msg = NULL;
	buf[0] = '\0';
	if (ld && ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &msg) == LDAP_OPT_SUCCESS &&
	    msg) {
		snprintf(buf, sz, " (%s)", msg);
		ldap_memfree(msg);
	}
	return buf;
}

static int connect_class(int rc)
{
	return rc == LDAP_SERVER_DOWN || rc == LDAP_CONNECT_ERROR || rc == LDAP_TIMEOUT ||
			       rc == LDAP_UNAVAILABLE || rc == LDAP_BUSY
		       ? PL_LDAP_ECONNECT
		       : PL_LDAP_ERR;
}

static int set_opt(LDAP *ld, int opt, const void *val, const char *what, pl_err_t *err)
{
	int rc = ldap_set_option(ld, opt, val);
	if (rc != LDAP_OPT_SUCCESS)
		return fail(err, PL_LDAP_ERR, "LDAP option %s: %s", what, ldap_err2string(rc));
	return 0;
}

/* The per-handle options. The TLS ones are read when a TLS context is
 * made: LDAP_OPT_X_TLS_NEWCTX last, or the handle would go on using the
 * library's global context (and its CA settings, or none). */
static int set_options(LDAP *ld, const pl_ldap_conf_t *c, pl_err_t *err)
{
	int v3 = LDAP_VERSION3, hard = LDAP_OPT_X_TLS_HARD, tls12 = LDAP_OPT_X_TLS_PROTOCOL_TLS1_2;
	int server = 0;
	struct timeval net = { c->network_timeout_s, 0 }, op = { c->op_timeout_s, 0 };
	if (set_opt(ld, LDAP_OPT_PROTOCOL_VERSION, &v3, "version", err) < 0 ||
	    set_opt(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF, "referrals", err) < 0 ||
	    set_opt(ld, LDAP_OPT_NETWORK_TIMEOUT, &net, "network timeout", err) < 0 ||
	    set_opt(ld, LDAP_OPT_TIMEOUT, &op, "timeout", err) < 0 ||
	    set_opt(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &hard, "require_cert", err) < 0 ||
	    set_opt(ld, LDAP_OPT_X_TLS_PROTOCOL_MIN, &tls12, "TLS minimum", err) < 0 ||
	    set_opt(ld, LDAP_OPT_X_TLS_CACERTFILE, c->ca_file, "CA file", err) < 0 ||
	    set_opt(ld, LDAP_OPT_X_TLS_NEWCTX, &server, "new TLS context", err) < 0)
		return -1;
	return 0;
}

static int check_conf(const pl_ldap_conf_t *c, int *ldaps, pl_err_t *err)
{
	if (!c->uri || !c->ca_file || !c->ca_file[0])
		return fail(err, PL_LDAP_ERR, "LDAP: a URI and a CA file are required");
	*ldaps = strncasecmp(c->uri, "ldaps://", 8) == 0;
	if (!*ldaps && strncasecmp(c->uri, "ldap://", 7) != 0)
		return fail(err, PL_LDAP_ERR, "LDAP: the URI must start with ldaps:// or ldap://");
	if (!*ldaps && !c->starttls)
		return fail(err, PL_LDAP_ERR,
			    "LDAP: plain ldap:// without StartTLS is refused (a bind would "
			    "send the password in clear)");
	if (c->network_timeout_s <= 0 || c->op_timeout_s <= 0)
		return fail(err, PL_LDAP_ERR, "LDAP: timeouts must be positive");
	return 0;
}

int pl_ldap_connect(pl_ldap_t **out, const pl_ldap_conf_t *c, pl_err_t *err)
{
	char dbuf[256];
	int ldaps = 0, rc;
	*out = NULL;
	if (check_conf(c, &ldaps, err) < 0)
		return PL_LDAP_ERR;
	pl_ldap_t *l = calloc(1, sizeof(*l));
	if (!l)
		return fail(err, PL_LDAP_ERR, "out of memory");
	l->op_timeout_s = c->op_timeout_s;
	if ((rc = ldap_initialize(&l->ld, c->uri)) != LDAP_SUCCESS) {
		free(l);
		return fail(err, PL_LDAP_ERR, "LDAP URI %s: %s", c->uri, ldap_err2string(rc));
	}
	if (set_options(l->ld, c, err) < 0) {
		pl_ldap_close(l);
		return PL_LDAP_ERR;
	}
	/* ldaps://: connect now, so that a bad certificate shows here, not
	 * as a failed bind. ldap://: StartTLS connects first. */
	rc = ldaps ? ldap_connect(l->ld) : ldap_start_tls_s(l->ld, NULL, NULL);
	if (rc != LDAP_SUCCESS) {
		int cls = connect_class(rc);
		fail(err, cls == PL_LDAP_ERR ? PL_LDAP_ECONNECT : cls, "LDAP %s: %s%s%s", c->uri,
		     ldaps ? "TLS connection failed: " : "StartTLS failed: ", ldap_err2string(rc),
		     diag(l->ld, dbuf, sizeof(dbuf)));
		pl_ldap_close(l);
		return PL_LDAP_ECONNECT;
	}
	l->tls = ldap_tls_inplace(l->ld) || ldaps;
	*out = l;
	return PL_LDAP_OK;
}

int pl_ldap_bind(pl_ldap_t *l, const char *dn, const char *password, pl_err_t *err)
{
	char dbuf[256];
	if (!l->tls)
		return fail(err, PL_LDAP_ERR, "LDAP: refusing a bind without TLS");
	if (!dn || !dn[0] || !password || !password[0])
		/* An empty password is an unauthenticated bind (RFC 4513
		 * 5.1.2): it would "succeed" for any DN. */
		return fail(err, PL_LDAP_ECREDENTIALS, "LDAP bind: empty DN or password");
	struct berval cred = { strlen(password), (char *)password };
	int rc = ldap_sasl_bind_s(l->ld, dn, LDAP_SASL_SIMPLE, &cred, NULL, NULL, NULL);
	if (rc == LDAP_SUCCESS)
		return PL_LDAP_OK;
	if (rc == LDAP_INVALID_CREDENTIALS)
		return fail(err, PL_LDAP_ECREDENTIALS, "LDAP bind as %s: invalid credentials", dn);
	return fail(err, connect_class(rc), "LDAP bind as %s: %s%s", dn, ldap_err2string(rc),
		    diag(l->ld, dbuf, sizeof(dbuf)));
}

void pl_ldap_close(pl_ldap_t *l)
{
	if (!l)
		return;
	if (l->ld)
		ldap_unbind_ext_s(l->ld, NULL, NULL);
	free(l);
}

int pl_ldap_check_password(const pl_ldap_conf_t *c, const char *dn, const char *password,
			   pl_err_t *err)
{
	pl_ldap_t *l;
	if (!password || !password[0])
		return 0;
	if (pl_ldap_connect(&l, c, err) != PL_LDAP_OK)
		return -1;
	int rc = pl_ldap_bind(l, dn, password, err);
	pl_ldap_close(l);
	return rc == PL_LDAP_OK ? 1 : rc == PL_LDAP_ECREDENTIALS ? 0 : -1;
}

/* ---- entries ---- */

/* An entry's strings and value arrays, in two buffers reused from one
 * entry to the next (a search of 100,000 entries made a dozen small
 * allocations an entry before, a fifth of a sync's CPU). While an entry is
 * copied, names and values are offsets into text and attributes' values
 * offsets into vals; pointers are set once both have stopped growing. */
typedef struct {
	pl_ldap_entry_t e;
	pl_ldap_attr_t attrs[PL_LDAP_MAX_ATTRS];
	char *text;
	size_t tlen, tcap;
	pl_ldap_val_t *vals;
	size_t nv, vcap;
} entry_buf_t;

static void entry_buf_free(entry_buf_t *b)
{
	free(b->text);
	free(b->vals);
}

/* n bytes and a NUL appended to text; the offset, or -1. */
static long text_add(entry_buf_t *b, const char *p, size_t n)
{
	if (b->tlen + n + 1 > b->tcap) {
		size_t cap = b->tcap ? b->tcap : 4096;
		while (cap < b->tlen + n + 1)
			cap *= 2;
		char *t = realloc(b->text, cap);
		if (!t)
			return -1;
		b->text = t;
		b->tcap = cap;
	}
	long off = (long)b->tlen;
	if (n)
		memcpy(b->text + b->tlen, p, n);
	b->text[b->tlen + n] = '\0';
	b->tlen += n + 1;
	return off;
}

static int vals_room(entry_buf_t *b, size_t n)
{
	if (b->nv + n <= b->vcap)
		return 0;
	size_t cap = b->vcap ? b->vcap : 256;
	while (cap < b->nv + n)
		cap *= 2;
	pl_ldap_val_t *v = realloc(b->vals, cap * sizeof(*v));
	if (!v)
		return -1;
	b->vals = v;
	b->vcap = cap;
	return 0;
}

static int copy_values(entry_buf_t *b, pl_ldap_attr_t *a, BerVarray bv)
{
	size_t n = 0;
	while (bv && bv[n].bv_val)
		n++;
	if (n > PL_LDAP_MAX_VALUES) {
		b->e.dropped += n - PL_LDAP_MAX_VALUES;
		n = PL_LDAP_MAX_VALUES;
	}
	if (vals_room(b, n) < 0)
		return -1;
	a->vals = (pl_ldap_val_t *)(uintptr_t)b->nv; /* an offset until fixed */
	for (size_t i = 0; i < n; i++) {
		if (bv[i].bv_len > PL_LDAP_MAX_VALUE) {
			b->e.dropped++;
			continue;
		}
		long off = text_add(b, bv[i].bv_val, bv[i].bv_len);
		if (off < 0)
			return -1;
		b->vals[b->nv].v = (const char *)(uintptr_t)off;
		b->vals[b->nv++].len = bv[i].bv_len;
		a->nvals++;
	}
	return 0;
}

/* Offsets to pointers, once text and vals are final. */
static void entry_fix(entry_buf_t *b, long dn)
{
	b->e.dn = b->text + dn;
	for (size_t i = 0; i < b->nv; i++)
		b->vals[i].v = b->text + (uintptr_t)b->vals[i].v;
	for (size_t i = 0; i < b->e.nattrs; i++) {
		b->attrs[i].name = b->text + (uintptr_t)b->attrs[i].name;
		b->attrs[i].vals = b->vals + (uintptr_t)b->attrs[i].vals;
	}
}

static int entry_copy(LDAP *ld, LDAPMessage *msg, entry_buf_t *b)
{
	BerElement *ber = NULL;
	struct berval dnv = { 0, NULL }, name;
	BerVarray vals = NULL;
	memset(&b->e, 0, sizeof(b->e));
	b->e.attrs = b->attrs;
	b->tlen = b->nv = 0;
	if (ldap_get_dn_ber(ld, msg, &ber, &dnv) != LDAP_SUCCESS) {
		ber_free(ber, 0);
		return -1;
	}
	long dn = text_add(b, dnv.bv_val ? dnv.bv_val : "", dnv.bv_val ? dnv.bv_len : 0);
	int rc = dn < 0 ? -1 : 0;
	while (rc == 0 && ldap_get_attribute_ber(ld, msg, ber, &name, &vals) == LDAP_SUCCESS &&
	       name.bv_val) {
		if (b->e.nattrs >= PL_LDAP_MAX_ATTRS) {
			b->e.dropped++;
		} else {
			pl_ldap_attr_t *at = &b->attrs[b->e.nattrs];
			long off = text_add(b, name.bv_val, name.bv_len);
			memset(at, 0, sizeof(*at));
			at->name = (const char *)(uintptr_t)off;
			rc = off < 0 ? -1 : copy_values(b, at, vals);
			b->e.nattrs++;
		}
		ber_memfree(vals);
		vals = NULL;
	}
	ber_free(ber, 0);
	if (rc < 0) {
		b->e.nattrs = 0;
		return -1;
	}
	entry_fix(b, dn);
	return 0;
}

/* The entries of one page to fn; the first non-zero from fn, or -1 out
 * of memory. */
static int page_entries(LDAP *ld, LDAPMessage *res, pl_ldap_entry_fn fn, void *arg)
{
	entry_buf_t b;
	int rc = 0;
	memset(&b, 0, sizeof(b));
	for (LDAPMessage *m = ldap_first_entry(ld, res); m && rc == 0;
	     m = ldap_next_entry(ld, m))
		rc = entry_copy(ld, m, &b) < 0 ? -1 : fn(arg, &b.e);
	entry_buf_free(&b);
	return rc;
}

/* The cookie of the page's response control into *cookie (owned). */
static int page_cookie(LDAP *ld, LDAPMessage *res, struct berval *cookie, pl_err_t *err)
{
	int code = LDAP_SUCCESS;
	LDAPControl **ctrls = NULL;
	char *matched = NULL, *text = NULL;
	int rc = ldap_parse_result(ld, res, &code, &matched, &text, NULL, &ctrls, 0);
	if (rc == LDAP_SUCCESS && code != LDAP_SUCCESS)
		rc = code;
	if (rc != LDAP_SUCCESS)
		fail(err, connect_class(rc), "LDAP search: %s%s%s", ldap_err2string(rc),
		     text && *text ? ": " : "", text ? text : "");
	ldap_memfree(matched);
	ldap_memfree(text);
	if (rc != LDAP_SUCCESS) {
		ldap_controls_free(ctrls);
		return connect_class(rc);
	}
	LDAPControl *pc = ldap_control_find(LDAP_CONTROL_PAGEDRESULTS, ctrls, NULL);
	ber_int_t estimate = 0;
	cookie->bv_val = NULL;
	cookie->bv_len = 0;
	if (pc && ldap_parse_pageresponse_control(ld, pc, &estimate, cookie) != LDAP_SUCCESS) {
		ldap_controls_free(ctrls);
		return fail(err, PL_LDAP_ERR, "LDAP search: malformed paged-results response");
	}
	ldap_controls_free(ctrls);
	return 0;
}

/* Ask for the page after cookie (asynchronously) into *msgid.
 * PL_LDAP_OK or a negative class with err set. */
static int page_ask(pl_ldap_t *l, const char *base, const char *filter,
		    const char *const *attrs, int page_size, struct berval *cookie, int *msgid,
		    pl_err_t *err)
{
	char dbuf[256];
	struct timeval tv = { l->op_timeout_s, 0 };
	LDAPControl *pc = NULL, *ctrls[2] = { NULL, NULL };
	*msgid = -1;
	if (ldap_create_page_control(l->ld, page_size, cookie, 1, &pc) != LDAP_SUCCESS)
		return fail(err, PL_LDAP_ERR, "out of memory");
	ctrls[0] = pc;
	int lr = ldap_search_ext(l->ld, base, LDAP_SCOPE_SUBTREE, filter, (char **)attrs, 0, ctrls,
				 NULL, &tv, 0, msgid);
	ldap_control_free(pc);
	if (lr != LDAP_SUCCESS) {
		*msgid = -1;
		return fail(err, connect_class(lr), "LDAP search of %s: %s%s", base,
			    ldap_err2string(lr), diag(l->ld, dbuf, sizeof(dbuf)));
	}
	return PL_LDAP_OK;
}

/* A page's messages, all of them (the server's result ends the page):
 * PL_LDAP_OK with *res, or a negative class. */
static int page_wait(pl_ldap_t *l, const char *base, int msgid, LDAPMessage **res,
		     pl_err_t *err)
{
	char dbuf[256];
	struct timeval tv = { l->op_timeout_s, 0 };
	*res = NULL;
	int t = ldap_result(l->ld, msgid, LDAP_MSG_ALL, &tv, res);
	if (t == LDAP_RES_SEARCH_RESULT)
		return PL_LDAP_OK;
	ldap_msgfree(*res);
	*res = NULL;
	if (t == 0)
		ldap_abandon_ext(l->ld, msgid, NULL, NULL);
	return fail(err, PL_LDAP_ECONNECT, "LDAP search of %s: %s%s", base,
		    t == 0 ? "timed out" : "connection lost", diag(l->ld, dbuf, sizeof(dbuf)));
}

/* The next page is asked for as soon as a page has come, before its
 * entries are handed to fn: the server reads the next one while this one
 * is mapped and compared (a sync's reading took 1.5 times ldapsearch's
 * time when each page waited for the previous one's work). */
int pl_ldap_search(pl_ldap_t *l, const char *base, const char *filter,
		   const char *const *attrs, int page_size, pl_ldap_entry_fn fn,
		   void *arg, unsigned *pages, pl_err_t *err)
{
	struct berval cookie = { 0, NULL };
	int rc = 0, msgid;
	if (page_size < 1 || page_size > PL_LDAP_PAGE_MAX)
		return fail(err, PL_LDAP_ERR, "LDAP page size: 1 to %d", PL_LDAP_PAGE_MAX);
	if (pages)
		*pages = 0;
	rc = page_ask(l, base, filter, attrs, page_size, &cookie, &msgid, err);
	while (msgid >= 0 && rc == 0) {
		LDAPMessage *res = NULL;
		rc = page_wait(l, base, msgid, &res, err);
		msgid = -1;
		if (rc == 0)
			rc = page_cookie(l->ld, res, &cookie, err);
		if (rc == 0 && cookie.bv_len > 0)
			rc = page_ask(l, base, filter, attrs, page_size, &cookie, &msgid, err);
		ber_memfree(cookie.bv_val);
		cookie.bv_val = NULL;
		cookie.bv_len = 0;
		if (rc == 0) {
			rc = page_entries(l->ld, res, fn, arg);
			if (rc == -1)
				rc = fail(err, PL_LDAP_ERR, "out of memory");
		}
		ldap_msgfree(res);
		if (pages && rc == 0)
			(*pages)++;
	}
	if (rc != 0 && msgid >= 0)
		ldap_abandon_ext(l->ld, msgid, NULL, NULL); /* the page asked ahead */
	return rc;
}

int pl_ldap_read(pl_ldap_t *l, const char *dn, const char *const *attrs, pl_ldap_entry_fn fn,
		 void *arg, pl_err_t *err)
{
	char dbuf[256];
	struct timeval tv = { l->op_timeout_s, 0 };
	LDAPMessage *res = NULL;
	int lr = ldap_search_ext_s(l->ld, dn, LDAP_SCOPE_BASE, "(objectClass=*)", (char **)attrs,
				   0, NULL, NULL, &tv, 1, &res);
	if (lr != LDAP_SUCCESS && !res)
		return fail(err, connect_class(lr), "LDAP read of %s: %s%s", dn, ldap_err2string(lr),
			    diag(l->ld, dbuf, sizeof(dbuf)));
	int rc = page_entries(l->ld, res, fn, arg);
	if (rc == 0) {
		struct berval cookie = { 0, NULL };
		rc = page_cookie(l->ld, res, &cookie, err);
		ber_memfree(cookie.bv_val);
	} else if (rc == -1) {
		rc = fail(err, PL_LDAP_ERR, "out of memory");
	}
	ldap_msgfree(res);
	return rc;
}

/* ---- content synchronisation (RFC 4533), refresh-only ---- */

/* The sync request control: refreshOnly, with the cookie if there is one. */
static int sync_control(const pl_ldap_cookie_t *c, LDAPControl **out)
{
	BerElement *ber = ber_alloc_t(LBER_USE_DER);
	struct berval cv = { (ber_len_t)c->len, (char *)c->v }, bv = { 0, NULL };
	int rc = -1;
	if (!ber)
		return -1;
	int pr = c->set ? ber_printf(ber, "{eON}", (ber_int_t)LDAP_SYNC_REFRESH_ONLY, &cv)
			: ber_printf(ber, "{eN}", (ber_int_t)LDAP_SYNC_REFRESH_ONLY);
	if (pr != -1 && ber_flatten2(ber, &bv, 0) == 0 &&
	    ldap_control_create(LDAP_CONTROL_SYNC, 1, &bv, 1, out) == LDAP_SUCCESS)
		rc = 0;
	ber_free(ber, 1);
	return rc;
}

typedef struct {
	LDAP *ld;
	pl_ldap_sync_fn fn;
	void *arg;
	pl_ldap_cookie_t *cookie;
	int refresh_deletes;
	long got; /* entries and UUIDs handed to fn */
	entry_buf_t b;
	pl_ldap_sync_info_t info;
	pl_err_t *err;
} sync_t;

static int sync_entry(sync_t *s, LDAPMessage *m)
{
	LDAPControl **ctrls = NULL;
	char uuid[PL_LDAP_UUID_TEXT];
	int state = -1, rc;
	if (ldap_get_entry_controls(s->ld, m, &ctrls) != LDAP_SUCCESS)
		ctrls = NULL;
	LDAPControl *c = ldap_control_find(LDAP_CONTROL_SYNC_STATE, ctrls, NULL);
	rc = c && pl_ldap_sync_state_parse(c->ldctl_value.bv_val, c->ldctl_value.bv_len, &state,
					   uuid) == 0
		     ? 0
		     : -1;
	ldap_controls_free(ctrls);
	if (rc < 0)
		return fail(s->err, PL_LDAP_ERR, "LDAP sync: an entry without a valid syncState");
	const pl_ldap_entry_t *e = NULL;
	if (state == PL_LDAP_SYNC_ADD || state == PL_LDAP_SYNC_MODIFY) {
		if (entry_copy(s->ld, m, &s->b) < 0)
			return fail(s->err, PL_LDAP_ERR, "out of memory");
		e = &s->b.e;
	}
	s->got++;
	return s->fn(s->arg, state, uuid, e);
}

static int sync_uuid(void *arg, const char *uuid)
{
	sync_t *s = arg;
	s->got++;
	return s->fn(s->arg, s->info.refresh_deletes ? PL_LDAP_SYNC_DELETE : PL_LDAP_SYNC_PRESENT,
		     uuid, NULL);
}

static int sync_info(sync_t *s, LDAPMessage *m)
{
	char *oid = NULL;
	struct berval *data = NULL;
	int rc = 0;
	if (ldap_parse_intermediate(s->ld, m, &oid, &data, NULL, 0) != LDAP_SUCCESS)
		return fail(s->err, PL_LDAP_ERR, "LDAP sync: a malformed intermediate response");
	if (oid && strcmp(oid, LDAP_SYNC_INFO) == 0) {
		if (!data || pl_ldap_sync_info_parse(data->bv_val, data->bv_len, &s->info, sync_uuid,
						     s) < 0)
			rc = fail(s->err, PL_LDAP_ERR, "LDAP sync: a malformed syncInfo");
		else if (s->info.fn_rc)
			rc = s->info.fn_rc;
		else if (s->info.cookie.set)
			*s->cookie = s->info.cookie;
	}
	ldap_memfree(oid);
	ber_bvfree(data);
	return rc;
}

static int sync_done(sync_t *s, LDAPMessage *m)
{
	int code = LDAP_SUCCESS, rc = 0;
	LDAPControl **ctrls = NULL;
	char *matched = NULL, *text = NULL;
	int pr = ldap_parse_result(s->ld, m, &code, &matched, &text, NULL, &ctrls, 0);
	if (pr != LDAP_SUCCESS)
		code = pr;
	LDAPControl *c = ldap_control_find(LDAP_CONTROL_SYNC_DONE, ctrls, NULL);
	pl_ldap_cookie_t ck;
	if (code == LDAP_SYNC_REFRESH_REQUIRED)
		rc = fail(s->err, PL_LDAP_ESYNC_REFRESH, "LDAP sync: the server asks for a full "
			  "refresh (the cookie is too old)");
	else if ((code == LDAP_UNAVAILABLE_CRITICAL_EXTENSION || (code == LDAP_SUCCESS && !c)) &&
		 s->got == 0)
		rc = fail(s->err, PL_LDAP_ESYNC_UNSUPPORTED, "LDAP sync: the server does not "
			  "offer content synchronisation (RFC 4533)");
	else if (code != LDAP_SUCCESS)
		rc = fail(s->err, connect_class(code), "LDAP sync search: %s%s%s",
			  ldap_err2string(code), text && *text ? ": " : "", text ? text : "");
	else if (!c || pl_ldap_sync_done_parse(c->ldctl_value.bv_val, c->ldctl_value.bv_len, &ck,
					       &s->refresh_deletes) < 0)
		rc = fail(s->err, PL_LDAP_ERR, "LDAP sync: a missing or malformed syncDone");
	else if (ck.set)
		*s->cookie = ck;
	ldap_memfree(matched);
	ldap_memfree(text);
	ldap_controls_free(ctrls);
	return rc;
}

int pl_ldap_sync_refresh(pl_ldap_t *l, const char *base, int subtree, const char *filter,
			 const char *const *attrs, pl_ldap_cookie_t *cookie,
			 int *refresh_deletes, pl_ldap_sync_fn fn, void *arg, pl_err_t *err)
{
	char dbuf[256];
	struct timeval tv = { l->op_timeout_s, 0 };
	LDAPControl *sc = NULL, *ctrls[2] = { NULL, NULL };
	int msgid = -1, rc = 0, done = 0;
	sync_t *s = calloc(1, sizeof(*s));
	if (!s || sync_control(cookie, &sc) < 0) {
		free(s);
		return fail(err, PL_LDAP_ERR, "out of memory");
	}
	*s = (sync_t){ .ld = l->ld, .fn = fn, .arg = arg, .cookie = cookie, .err = err };
	ctrls[0] = sc;
	int lr = ldap_search_ext(l->ld, base, subtree ? LDAP_SCOPE_SUBTREE : LDAP_SCOPE_BASE,
				 filter, (char **)attrs, 0, ctrls, NULL, &tv, 0, &msgid);
	ldap_control_free(sc);
	if (lr != LDAP_SUCCESS)
		rc = fail(err, connect_class(lr), "LDAP sync search of %s: %s%s", base,
			  ldap_err2string(lr), diag(l->ld, dbuf, sizeof(dbuf)));
	while (rc == 0 && !done) {
		LDAPMessage *m = NULL;
		/* the timeout is per message: the watchdog bounds the whole */
		int t = ldap_result(l->ld, msgid, LDAP_MSG_ONE, &tv, &m);
		if (t == LDAP_RES_SEARCH_ENTRY)
			rc = sync_entry(s, m);
		else if (t == LDAP_RES_INTERMEDIATE)
			rc = sync_info(s, m);
		else if (t == LDAP_RES_SEARCH_RESULT)
			rc = sync_done(s, m), done = 1;
		else if (t <= 0)
			rc = fail(err, PL_LDAP_ECONNECT, "LDAP sync search of %s: %s%s", base,
				  t == 0 ? "timed out" : "connection lost",
				  diag(l->ld, dbuf, sizeof(dbuf)));
		ldap_msgfree(m); /* a reference: ignored, as referrals are */
	}
	if (!done && msgid >= 0 && rc != PL_LDAP_ECONNECT)
		ldap_abandon_ext(l->ld, msgid, NULL, NULL);
	*refresh_deletes = s->refresh_deletes;
	entry_buf_free(&s->b);
	free(s);
	return rc;
}
