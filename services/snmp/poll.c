/* Many printers at once over net-snmp single sessions (poll.h). The
 * library's callback only records what came back; the next request of a
 * printer's conversation is built after snmp_sess_read2 or
 * snmp_sess_timeout has returned (step), never inside net-snmp. */
#include "snmp-poll.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/crypto.h>

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <net-snmp/library/large_fd_set.h>

#include "pl_adapt.h"
#include "pl_log.h"
#include "pl_util.h"

/* A walk stops after this many requests (32 supplies and 32 alerts take
 * 11 GETBULKs of 3 repetitions; v1's GETNEXT a row a request). The 7
 * scalars and 3 repetitions of the 9 columns are 34 bindings: under the
 * 64 that agents such as snmpsim put in one response, a toner and a waste
 * toner box in the first request, and each repetition costs the agent
 * (an embedded printer, a simulator) work on every poll. */
#define SP_MAX_REQUESTS 80
#define SP_BULK_REPS 3

enum { PH_PROBE, PH_GET, PH_WALK, PH_DONE };
enum { NEXT_NONE, NEXT_GET, NEXT_WALK }; /* sp_target_t.step */

struct sp_poll {
	pl_loop_t *loop;
	pl_adapt_t *adapt;
	size_t window, nactive;
	sp_target_t **active;
	sp_target_t *qhead, *qtail;
	size_t queued;
	sp_done_fn done;
	void *arg;
};

/* ---- profiles ---- */

static int auth_oid(int auth, const oid **o, size_t *len)
{
	switch (auth) {
	case 1: *o = usmHMACSHA1AuthProtocol; break;
	case 224: *o = usmHMAC128SHA224AuthProtocol; break;
	case 256: *o = usmHMAC192SHA256AuthProtocol; break;
	case 384: *o = usmHMAC256SHA384AuthProtocol; break;
	case 512: *o = usmHMAC384SHA512AuthProtocol; break;
	default: return -1;
	}
	*len = USM_AUTH_PROTO_SHA_LEN;
	return 0;
}

int sp_profile_keys(sp_profile_t *p, char *why, size_t whysz)
{
	const oid *ao;
	size_t alen;
	int rc = 0;
	if (p->version != 3)
		return 0;
	if (auth_oid(p->auth, &ao, &alen) < 0) {
		snprintf(why, whysz, "unknown auth protocol");
		return -1;
	}
	if (strlen(p->auth_pass) < 8 || (p->level == 3 && strlen(p->priv_pass) < 8)) {
		snprintf(why, whysz, "a v3 passphrase must have at least 8 characters");
		rc = -1;
	}
	p->ku_auth_len = sizeof(p->ku_auth);
	if (rc == 0 && generate_Ku(ao, (u_int)alen, (const u_char *)p->auth_pass,
				   strlen(p->auth_pass), p->ku_auth, &p->ku_auth_len) != SNMPERR_SUCCESS) {
		snprintf(why, whysz, "cannot derive the auth key");
		rc = -1;
	}
	p->ku_priv_len = sizeof(p->ku_priv);
	if (rc == 0 && p->level == 3 &&
	    generate_Ku(ao, (u_int)alen, (const u_char *)p->priv_pass, strlen(p->priv_pass),
			p->ku_priv, &p->ku_priv_len) != SNMPERR_SUCCESS) {
		snprintf(why, whysz, "cannot derive the privacy key");
		rc = -1;
	}
	/* the passphrases are not needed again */
	OPENSSL_cleanse(p->auth_pass, sizeof(p->auth_pass));
	OPENSSL_cleanse(p->priv_pass, sizeof(p->priv_pass));
	return rc;
}

void sp_global_init(const char *persist_dir)
{
	static const int off[] = { NETSNMP_DS_LIB_DONT_READ_CONFIGS, NETSNMP_DS_LIB_DONT_PERSIST_STATE,
				   NETSNMP_DS_LIB_DISABLE_PERSISTENT_LOAD,
				   NETSNMP_DS_LIB_DISABLE_PERSISTENT_SAVE,
				   NETSNMP_DS_LIB_ALARM_DONT_USE_SIG };
	for (size_t i = 0; i < PL_ARRAY_LEN(off); i++)
		netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, off[i], 1);
	netsnmp_ds_set_string(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_PERSISTENT_DIR, persist_dir);
	netsnmp_set_mib_directory("");
	setenv("MIBS", "", 1);
	init_snmp("plsc-snmp");
}

/* ---- the conversation ---- */

static void finish(sp_target_t *t, int outcome, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void finish(sp_target_t *t, int outcome, const char *fmt, ...)
{
	if (t->phase == PH_DONE)
		return;
	t->outcome = outcome;
	if (fmt) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(t->why, sizeof(t->why), fmt, ap);
		va_end(ap);
	}
	t->phase = PH_DONE;
	t->done = 1;
}

static void add_oid(netsnmp_pdu *pdu, const uint32_t *o, size_t n)
{
	oid tmp[SD_OID_MAX];
	for (size_t i = 0; i < n && i < SD_OID_MAX; i++)
		tmp[i] = o[i];
	snmp_add_null_var(pdu, tmp, n);
}

static void send_pdu(sp_target_t *t, netsnmp_pdu *pdu)
{
	if (!pdu) {
		finish(t, SP_ERROR, "out of memory");
		return;
	}
	t->nreq++;
	if (snmp_sess_async_send(t->sess, pdu, NULL, NULL) == 0) {
		char *msg = NULL;
		int e1, e2;
		snmp_sess_error(t->sess, &e1, &e2, &msg);
		finish(t, SP_ERROR, "cannot send: %s", msg ? msg : "?");
		free(msg);
		snmp_free_pdu(pdu);
		return;
	}
	t->deadline_ms = pl_now_ms() + (uint64_t)t->timeout_ms;
}

/* The scalars; in v1 an OID the agent lacks fails the whole GET
 * (noSuchName), so those are left out of the next try (t->cursor[0][i]
 * marks them). */
static const struct {
	const uint32_t *o;
	const size_t *n;
} scalars[] = {
	{ sd_oid_sysdescr, &sd_oid_sysdescr_len }, { sd_oid_uptime, &sd_oid_uptime_len },
	{ sd_oid_devstatus, &sd_oid_devstatus_len }, { sd_oid_prtstatus, &sd_oid_prtstatus_len },
	{ sd_oid_errstate, &sd_oid_errstate_len }, { sd_oid_pages, &sd_oid_pages_len },
	{ sd_oid_serial, &sd_oid_serial_len },
};

static void start_walk(sp_target_t *t);
static void send_walk(sp_target_t *t);

/* v2c and v3: the scalars and the first rows of every column in ONE
 * GETBULK (the scalars as non-repeaters, each a GETNEXT of its object:
 * the instance comes back), so most printers take one round trip. */
static void send_first_bulk(sp_target_t *t)
{
	start_walk(t);
	t->nonrep = PL_ARRAY_LEN(scalars);
	send_walk(t);
}

static void send_get(sp_target_t *t)
{
	if (t->prof->version != 1) {
		send_first_bulk(t);
		return;
	}
	netsnmp_pdu *pdu = snmp_pdu_create(SNMP_MSG_GET);
	size_t n = 0;
	for (size_t i = 0; pdu && i < PL_ARRAY_LEN(scalars); i++)
		if (!t->cursor[0][i]) {
			add_oid(pdu, scalars[i].o, *scalars[i].n);
			n++;
		}
	if (n == 0) {
		snmp_free_pdu(pdu);
		finish(t, SP_OK, "no scalars");
		return;
	}
	t->phase = PH_GET;
	send_pdu(t, pdu);
}

static void start_walk(sp_target_t *t)
{
	for (size_t c = 0; c < SD_NCOLUMNS; c++) {
		memcpy(t->cursor[c], sd_columns[c], sd_column_len[c] * sizeof(uint32_t));
		t->cursor_len[c] = sd_column_len[c];
		t->walking[c] = 1;
	}
	t->phase = PH_WALK;
}

static void send_walk(sp_target_t *t)
{
	int v1 = t->prof->version == 1;
	netsnmp_pdu *pdu = snmp_pdu_create(v1 ? SNMP_MSG_GETNEXT : SNMP_MSG_GETBULK);
	size_t n = 0;
	if (!pdu) {
		finish(t, SP_ERROR, "out of memory");
		return;
	}
	if (!v1) {
		pdu->non_repeaters = (long)t->nonrep;
		pdu->max_repetitions = SP_BULK_REPS;
	}
	for (size_t i = 0; i < t->nonrep; i++)
		add_oid(pdu, scalars[i].o, *scalars[i].n - 1); /* the object: GETNEXT */
	for (size_t c = 0; c < SD_NCOLUMNS; c++)
		if (t->walking[c]) {
			add_oid(pdu, t->cursor[c], t->cursor_len[c]);
			n++;
		}
	if (n == 0 || t->nreq >= SP_MAX_REQUESTS) {
		snmp_free_pdu(pdu);
		finish(t, SP_OK, NULL);
		return;
	}
	send_pdu(t, pdu);
}

static int vb_of(const netsnmp_variable_list *v, uint32_t *o, sd_vb_t *vb)
{
	if (v->name_length == 0 || v->name_length > SD_OID_MAX)
		return -1;
	for (size_t i = 0; i < v->name_length; i++)
		o[i] = (uint32_t)v->name[i];
	memset(vb, 0, sizeof(*vb));
	vb->oid = o;
	vb->oidlen = v->name_length;
	switch (v->type) {
	case ASN_INTEGER: vb->type = SD_T_INT; vb->num = *v->val.integer; break;
	case ASN_OCTET_STR:
		vb->type = SD_T_STR;
		vb->str = v->val.string;
		vb->len = v->val_len;
		break;
	case ASN_OBJECT_ID: vb->type = SD_T_OID; break;
	case ASN_TIMETICKS:
		vb->type = SD_T_TICKS;
		vb->num = (uint32_t)*v->val.integer;
		break;
	case ASN_COUNTER:
	case ASN_GAUGE:
		vb->type = v->type == ASN_COUNTER ? SD_T_COUNTER : SD_T_GAUGE;
		vb->num = (uint32_t)*v->val.integer;
		break;
	case ASN_COUNTER64:
		vb->type = SD_T_COUNTER;
		vb->num = (int64_t)(((uint64_t)(v->val.counter64->high & 0x7fffffffu) << 32) |
				    (v->val.counter64->low & 0xffffffffu));
		break;
	case ASN_NULL: vb->type = SD_T_NULL; break;
	case SNMP_NOSUCHOBJECT:
	case SNMP_NOSUCHINSTANCE:
	case SNMP_ENDOFMIBVIEW: vb->type = SD_T_NOSUCH; break;
	default: vb->type = SD_T_OTHER; break;
	}
	return 0;
}

static void got_get(sp_target_t *t, netsnmp_pdu *pdu)
{
	if (pdu->errstat == SNMP_ERR_NOSUCHNAME && pdu->errindex > 0) {
		/* v1: drop the named OID and ask again */
		long k = 0;
		for (size_t i = 0; i < PL_ARRAY_LEN(scalars); i++)
			if (!t->cursor[0][i] && ++k == pdu->errindex)
				t->cursor[0][i] = 1;
		t->phase = PH_GET;
		t->step = NEXT_GET;
		return;
	}
	if (pdu->errstat != SNMP_ERR_NOERROR) {
		finish(t, SP_ERROR, "agent error: %s", snmp_errstring((int)pdu->errstat));
		return;
	}
	uint32_t o[SD_OID_MAX];
	sd_vb_t vb;
	for (netsnmp_variable_list *v = pdu->variables; v; v = v->next_variable)
		if (vb_of(v, o, &vb) == 0)
			(void)sd_feed(&t->st, &vb);
	memset(t->cursor[0], 0, sizeof(t->cursor[0]));
	start_walk(t);
	t->step = NEXT_WALK;
}

static void got_walk(sp_target_t *t, netsnmp_pdu *pdu)
{
	size_t cols[SD_NCOLUMNS], k = 0, j = 0;
	unsigned char seen[SD_NCOLUMNS] = { 0 };
	for (size_t c = 0; c < SD_NCOLUMNS; c++)
		if (t->walking[c])
			cols[k++] = c;
	if (pdu->errstat != SNMP_ERR_NOERROR) {
		t->nonrep = 0;
		/* v1 at the end of the MIB: that column is done */
		if (pdu->errstat == SNMP_ERR_NOSUCHNAME && pdu->errindex >= 1 &&
		    (size_t)pdu->errindex <= k)
			t->walking[cols[pdu->errindex - 1]] = 0;
		else
			memset(t->walking, 0, sizeof(t->walking));
		t->step = NEXT_WALK;
		return;
	}
	uint32_t o[SD_OID_MAX];
	sd_vb_t vb;
	netsnmp_variable_list *v = pdu->variables;
	/* the non-repeaters first: the scalars */
	for (size_t i = 0; v && i < t->nonrep; i++, v = v->next_variable)
		if (vb_of(v, o, &vb) == 0)
			(void)sd_feed(&t->st, &vb);
	t->nonrep = 0;
	for (; v && k; v = v->next_variable, j++) {
		size_t c = cols[j % k];
		if (!t->walking[c])
			continue;
		seen[c] = 1;
		if (vb_of(v, o, &vb) < 0 || vb.type == SD_T_NOSUCH || !sd_in_column(c, o, vb.oidlen)) {
			t->walking[c] = 0;
			continue;
		}
		/* an agent that does not move forward would loop forever */
		oid a[SD_OID_MAX], b[SD_OID_MAX];
		for (size_t i = 0; i < vb.oidlen; i++)
			a[i] = o[i];
		for (size_t i = 0; i < t->cursor_len[c]; i++)
			b[i] = t->cursor[c][i];
		if (snmp_oid_compare(a, vb.oidlen, b, t->cursor_len[c]) <= 0) {
			t->walking[c] = 0;
			continue;
		}
		(void)sd_feed(&t->st, &vb);
		memcpy(t->cursor[c], o, vb.oidlen * sizeof(uint32_t));
		t->cursor_len[c] = vb.oidlen;
	}
	for (size_t i = 0; i < k; i++)
		if (!seen[cols[i]])
			t->walking[cols[i]] = 0;
	t->step = NEXT_WALK;
}

/* The probe's answer (a report, or with some agents a response) names
 * the agent's engine: the session learns it, and the user's keys are
 * localised to it (the profile's Ku: no passphrase hashing here). */
static void got_probe(sp_target_t *t, netsnmp_session *ss, netsnmp_pdu *pdu)
{
	if (pdu->securityEngineIDLen == 0) {
		finish(t, SP_ERROR, "v3: the agent named no engine ID");
		return;
	}
	if (!ss->securityEngineIDLen) {
		ss->securityEngineID = netsnmp_memdup(pdu->securityEngineID, pdu->securityEngineIDLen);
		ss->securityEngineIDLen = ss->securityEngineID ? pdu->securityEngineIDLen : 0;
	}
	if (!ss->contextEngineIDLen) {
		ss->contextEngineID = netsnmp_memdup(pdu->securityEngineID, pdu->securityEngineIDLen);
		ss->contextEngineIDLen = ss->contextEngineID ? pdu->securityEngineIDLen : 0;
	}
	if (!ss->securityEngineIDLen || usm_create_user_from_session(ss) != SNMPERR_SUCCESS)
		finish(t, SP_ERROR, "v3: cannot set up the user for this engine");
	else
		t->step = NEXT_GET;
}

static void got_report(sp_target_t *t, netsnmp_pdu *pdu)
{
	int type = snmpv3_get_report_type(pdu);
	if (type == SNMPERR_NOT_IN_TIME_WINDOW)
		return; /* net-snmp resends with the agent's time itself */
	finish(t, SP_AUTH, "v3 refused: %s", snmp_api_errstring(type));
}

static int on_pdu(int op, netsnmp_session *ss, int reqid, netsnmp_pdu *pdu, void *magic)
{
	sp_target_t *t = magic;
	(void)reqid;
	if (t->phase == PH_DONE)
		return 1;
	switch (op) {
	case NETSNMP_CALLBACK_OP_RECEIVED_MESSAGE:
		if (pdu->command != SNMP_MSG_REPORT && t->phase != PH_PROBE)
			t->answered = 1;
		if (t->phase == PH_PROBE)
			got_probe(t, ss, pdu);
		else if (pdu->command == SNMP_MSG_REPORT)
			got_report(t, pdu);
		else if (t->phase == PH_GET)
			got_get(t, pdu);
		else if (t->phase == PH_WALK)
			got_walk(t, pdu);
		break;
	case NETSNMP_CALLBACK_OP_TIMED_OUT:
		if (t->phase == PH_WALK && t->answered)
			finish(t, SP_OK, "the table walk timed out; partial");
		else
			finish(t, SP_NO_ANSWER, "no answer (%d tries of %ld ms)", t->retries + 1,
			       t->timeout_ms);
		break;
	case NETSNMP_CALLBACK_OP_SEC_ERROR:
		/* e.g. the agent's authenticationFailure report (wrong digest) */
		if (pdu && pdu->command == SNMP_MSG_REPORT)
			got_report(t, pdu);
		else
			finish(t, SP_AUTH, "v3 security error (wrong passphrase or protocol?)");
		break;
	default:
		finish(t, SP_ERROR, "send failed");
		break;
	}
	t->deadline_ms = pl_now_ms() + (uint64_t)t->timeout_ms;
	return 1;
}

/* The next request after an answer, outside net-snmp's own calls. */
static void step(sp_target_t *t)
{
	int next = t->step;
	t->step = 0;
	if (t->phase == PH_DONE)
		return;
	if (next == NEXT_GET)
		send_get(t);
	else if (next == NEXT_WALK)
		send_walk(t);
}

/* ---- sessions ---- */

static int resolve(const sp_target_t *t, struct sockaddr_storage *ss, socklen_t *len,
		   char *peer, size_t psz)
{
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM }, *ai = NULL;
	char port[8], ip[INET6_ADDRSTRLEN];
	snprintf(port, sizeof(port), "%u", t->port);
	if (getaddrinfo(t->host, port, &hints, &ai) != 0 || !ai)
		return -1;
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*len = ai->ai_addrlen;
	int v6 = ai->ai_family == AF_INET6;
	getnameinfo(ai->ai_addr, ai->ai_addrlen, ip, sizeof(ip), NULL, 0, NI_NUMERICHOST);
	freeaddrinfo(ai);
	return pl_fmt(peer, psz, v6 ? "udp6:[%s]:%u" : "udp:%s:%u", ip, t->port);
}

static void sess_setup_v3(netsnmp_session *s, const sp_profile_t *p)
{
	const oid *ao = usmHMACSHA1AuthProtocol;
	size_t alen = USM_AUTH_PROTO_SHA_LEN;
	s->securityName = (char *)p->user;
	s->securityNameLen = strlen(p->user);
	s->securityModel = USM_SEC_MODEL_NUMBER;
	s->securityLevel = p->level;
	(void)auth_oid(p->auth, &ao, &alen);
	s->securityAuthProto = (oid *)ao;
	s->securityAuthProtoLen = alen;
	memcpy(s->securityAuthKey, p->ku_auth, p->ku_auth_len);
	s->securityAuthKeyLen = p->ku_auth_len;
	if (p->level == 3) {
		s->securityPrivProto = usmAESPrivProtocol;
		s->securityPrivProtoLen = USM_PRIV_PROTO_AES_LEN;
		memcpy(s->securityPrivKey, p->ku_priv, p->ku_priv_len);
		s->securityPrivKeyLen = p->ku_priv_len;
	}
	/* engine discovery is ours, asynchronous (PH_PROBE), not a blocking
	 * probe inside snmp_sess_open */
	s->flags |= SNMP_FLAGS_DONT_PROBE;
}

static void open_target(sp_target_t *t)
{
	netsnmp_session s;
	struct sockaddr_storage addr;
	socklen_t alen;
	char peer[320];
	const sp_profile_t *p = t->prof;
	t->started_ms = pl_now_ms();
	t->phase = PH_GET;
	sd_init(&t->st);
	if (resolve(t, &addr, &alen, peer, sizeof(peer)) < 0) {
		finish(t, SP_ERROR, "cannot resolve %s", t->host);
		return;
	}
	snmp_sess_init(&s);
	s.peername = peer;
	s.version = p->version == 1 ? SNMP_VERSION_1 : p->version == 2 ? SNMP_VERSION_2c
									: SNMP_VERSION_3;
	s.timeout = t->timeout_ms * 1000L;
	s.retries = t->retries;
	s.callback = on_pdu;
	s.callback_magic = t;
	if (p->version == 3) {
		sess_setup_v3(&s, p);
	} else {
		s.community = (u_char *)p->community;
		s.community_len = strlen(p->community);
	}
	t->sess = snmp_sess_open(&s);
	if (!t->sess) {
		finish(t, SP_ERROR, "cannot open a session to %s", t->host);
		return;
	}
	netsnmp_transport *tr = snmp_sess_transport(t->sess);
	t->fd = tr ? tr->sock : -1;
	/* only the printer's own address and port can answer */
	if (t->fd < 0 || connect(t->fd, (struct sockaddr *)&addr, alen) < 0) {
		finish(t, SP_ERROR, "cannot connect the socket to %s", t->host);
		return;
	}
	if (p->version == 3) {
		netsnmp_pdu *pdu = snmp_pdu_create(SNMP_MSG_GET);
		if (pdu)
			pdu->securityLevel = SNMP_SEC_LEVEL_NOAUTH;
		t->phase = PH_PROBE;
		send_pdu(t, pdu);
	} else {
		send_get(t);
	}
}

static void close_target(sp_poll_t *p, size_t i)
{
	sp_target_t *t = p->active[i];
	if (t->sess)
		snmp_sess_close(t->sess);
	t->sess = NULL;
	t->fd = -1;
	t->took_ms = pl_now_ms() - t->started_ms;
	p->active[i] = p->active[--p->nactive];
	p->done(t, p->arg);
}

static void fill(sp_poll_t *p)
{
	while (p->nactive < p->window && p->qhead) {
		sp_target_t *t = p->qhead;
		p->qhead = t->next;
		if (!p->qhead)
			p->qtail = NULL;
		p->queued--;
		t->next = NULL;
		p->active[p->nactive++] = t;
		open_target(t);
	}
}

/* Close what is done and start what waits, until the window is full of
 * printers still talking. */
static void reap(sp_poll_t *p)
{
	for (;;) {
		for (size_t i = 0; i < p->nactive;) {
			sp_target_t *t = p->active[i];
			step(t);
			if (t->done)
				close_target(p, i);
			else
				i++;
		}
		size_t before = p->nactive;
		fill(p);
		int again = 0;
		for (size_t i = before; i < p->nactive; i++)
			again |= p->active[i]->done;
		if (!again)
			break;
	}
}

/* ---- the adapter ---- */

static void ad_refresh(pl_adapt_t *a, void *arg)
{
	sp_poll_t *p = arg;
	for (size_t i = 0; i < p->nactive; i++)
		if (p->active[i]->fd >= 0 && !p->active[i]->done)
			(void)pl_adapt_want(a, p->active[i]->fd, EPOLLIN);
}

static long ad_timeout(pl_adapt_t *a, void *arg)
{
	sp_poll_t *p = arg;
	uint64_t now = pl_now_ms(), best = UINT64_MAX;
	(void)a;
	for (size_t i = 0; i < p->nactive; i++)
		if (p->active[i]->deadline_ms < best)
			best = p->active[i]->deadline_ms;
	if (best == UINT64_MAX)
		return -1;
	return best <= now ? 0 : (long)(best - now);
}

static void read_fd(sp_poll_t *p, int fd)
{
	for (size_t i = 0; i < p->nactive; i++) {
		sp_target_t *t = p->active[i];
		if (t->fd != fd || !t->sess || t->done)
			continue;
		netsnmp_large_fd_set fs;
		netsnmp_large_fd_set_init(&fs, fd + 1);
		NETSNMP_LARGE_FD_SET(fd, &fs);
		int rc = snmp_sess_read2(t->sess, &fs);
		netsnmp_large_fd_set_cleanup(&fs);
		/* the connected socket reports an ICMP port unreachable as a
		 * failed read: that printer will not answer */
		if (rc != 0 && !t->done)
			finish(t, SP_NO_ANSWER, "no answer (port unreachable)");
		return;
	}
}

static void ad_run(pl_adapt_t *a, const pl_adapt_ready_t *ready, size_t n, void *arg)
{
	sp_poll_t *p = arg;
	(void)a;
	for (size_t i = 0; i < n; i++)
		read_fd(p, ready[i].fd);
	uint64_t now = pl_now_ms();
	for (size_t i = 0; i < p->nactive; i++) {
		sp_target_t *t = p->active[i];
		if (t->done || t->deadline_ms > now)
			continue;
		snmp_sess_timeout(t->sess);
		t->deadline_ms = now + (uint64_t)t->timeout_ms;
		/* net-snmp dropped the request without telling us (a report it
		 * resent too often): the whole conversation has a bound too */
		if (!t->done && now - t->started_ms >
				(uint64_t)t->timeout_ms * (uint64_t)(t->retries + 1) * 8u + 1000u)
			finish(t, t->answered ? SP_OK : SP_NO_ANSWER, "gave up waiting");
	}
	reap(p);
}

sp_poll_t *sp_new(pl_loop_t *loop, size_t window, sp_done_fn done, void *arg)
{
	static const pl_adapt_ops_t ops = { ad_refresh, ad_timeout, ad_run };
	sp_poll_t *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->loop = loop;
	p->window = window ? window : 1;
	p->done = done;
	p->arg = arg;
	p->active = calloc(p->window, sizeof(*p->active));
	p->adapt = p->active ? pl_adapt_new(loop, &ops, p) : NULL;
	if (!p->adapt) {
		free(p->active);
		free(p);
		return NULL;
	}
	return p;
}

void sp_submit(sp_poll_t *p, sp_target_t *t)
{
	t->next = NULL;
	t->done = 0;
	t->step = 0;
	t->nonrep = 0;
	t->answered = 0;
	t->nreq = 0;
	t->fd = -1;
	t->sess = NULL;
	t->deadline_ms = UINT64_MAX;
	t->outcome = SP_OK;
	t->why[0] = '\0';
	memset(t->walking, 0, sizeof(t->walking));
	memset(t->cursor, 0, sizeof(t->cursor));
	if (p->qtail)
		p->qtail->next = t;
	else
		p->qhead = t;
	p->qtail = t;
	p->queued++;
	reap(p);
	pl_adapt_wake(p->adapt);
}

size_t sp_busy(const sp_poll_t *p)
{
	return p->nactive + p->queued;
}

void sp_free(sp_poll_t *p)
{
	if (!p)
		return;
	pl_adapt_free(p->adapt);
	for (size_t i = 0; i < p->nactive; i++)
		if (p->active[i]->sess)
			snmp_sess_close(p->active[i]->sess);
	free(p->active);
	free(p);
}
