/* The AirPrint printer advertised by multicast DNS-SD through
 * avahi-daemon (libavahi-client over the D-Bus system bus):
 * _ipps._tcp, subtypes _universal (what iOS browses for) and _print, the
 * TXT record of ap_txt_build (zone.c, shared with --dns-sd-zone).
 *
 * Which loop: Avahi's threaded poll, one thread of its own, with a
 * watchdog it kicks each second; not pl_adapt on our main loop. AvahiPoll
 * itself would fit pl_adapt's "one by one" shape, but libavahi-client
 * makes every D-Bus call with dbus_connection_send_with_reply_and_block
 * (client creation, each entry-group call, the host name): on the main
 * loop a stopped or slow avahi-daemon would hold the loop for up to the
 * 25 s D-Bus timeout per call, heartbeats would go unanswered and the
 * supervisor would restart a service that was serving IPP fine. On its own
 * thread a stuck daemon delays only the advertisement; CUPS' cupsd and
 * ippeveprinter run Avahi on a threaded poll for the same reason. The
 * watchdog's silence bound (AVAHI_SILENCE_MS) outlasts a few D-Bus
 * timeouts, so only a thread that is really wedged gets the service
 * restarted.
 *
 * Everything below the start/stop pair runs on that thread (Avahi calls
 * its callbacks there with the poll's lock held), so the state needs no
 * lock of ours: start prepares it before the thread runs, stop reads it
 * after the thread has been joined.
 *
 * Failures never stop the service: no system bus, or no avahi-daemon on
 * it, is one warning, then the printer serves IPP unadvertised while
 * Avahi waits for the daemon (AVAHI_CLIENT_NO_FAIL) or we retry the bus
 * every RETRY_MS. A daemon that restarts puts the client in FAILURE
 * (AVAHI_ERR_DISCONNECTED); a new client then waits for the daemon and
 * registers again when it is back. A name taken by another printer on the
 * link is replaced by avahi_alternative_service_name ("NAME #2"). */
#include "dnssd.h"

#include <arpa/inet.h>
#include <avahi-client/client.h>
#include <avahi-client/publish.h>
#include <avahi-common/alternative.h>
#include <avahi-common/domain.h>
#include <avahi-common/error.h>
#include <avahi-common/malloc.h>
#include <avahi-common/thread-watch.h>
#include <avahi-common/timeval.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "ap.h"
#include "pl_log.h"
#include "pl_util.h"
#include "pl_watchdog.h"

#define AP_DNSSD_TYPE "_ipps._tcp"
#define KICK_MS 1000
#define RETRY_MS 30000
#define AVAHI_SILENCE_MS (180u * 1000u)

struct ap_dnssd {
	pl_service_t *svc;
	AvahiThreadedPoll *tp;
	const AvahiPoll *poll;
	AvahiClient *client;
	AvahiEntryGroup *group;
	AvahiTimeout *kick, *retry;
	pl_watchdog_t *wd;
	char *name; /* avahi_strdup'd: avahi_alternative_service_name's */
	char ty[128], uuid[64], host[256];
	int port;
	AvahiIfIndex ifindex;
	AvahiProtocol proto;
	int warned; /* one warning per outage */
	int running;
};

static void client_cb(AvahiClient *c, AvahiClientState state, void *arg);

static void warn_once(ap_dnssd_t *d, const char *what)
{
	if (d->warned)
		return;
	d->warned = 1;
	pl_warn("DNS-SD: %s; the printer is not advertised (phones on the link do not see it) "
		"until it is, and IPP is served meanwhile",
		what);
}

static void tv_in(struct timeval *tv, unsigned ms)
{
	avahi_elapse_time(tv, ms, 0);
}

/* The adminurl's host: the configured one, or Avahi's NAME.local. */
static void admin_host(ap_dnssd_t *d, AvahiClient *c, char *out, size_t sz)
{
	const char *h = d->host[0] ? d->host : avahi_client_get_host_name_fqdn(c);
	(void)pl_fmt(out, sz, "%s", h ? h : "localhost");
}

static int add_services(ap_dnssd_t *d, AvahiClient *c)
{
	static const char *const subs[] = { "_universal._sub." AP_DNSSD_TYPE,
					    "_print._sub." AP_DNSSD_TYPE };
	char host[256];
	ap_txt_t txt;
	AvahiStringList *sl = NULL;
	admin_host(d, c, host, sizeof(host));
	ap_txt_build(&txt, d->ty, d->uuid, host, d->port);
	for (int i = txt.n - 1; i >= 0; i--) /* prepending: keep the order */
		sl = avahi_string_list_add_pair(sl, txt.kv[i].key, txt.kv[i].val);
	int rc = avahi_entry_group_add_service_strlst(d->group, d->ifindex, d->proto, 0, d->name,
						      AP_DNSSD_TYPE, NULL, NULL,
						      (uint16_t)d->port, sl);
	avahi_string_list_free(sl);
	for (size_t i = 0; rc == 0 && i < sizeof(subs) / sizeof(subs[0]); i++)
		rc = avahi_entry_group_add_service_subtype(d->group, d->ifindex, d->proto, 0,
							   d->name, AP_DNSSD_TYPE, NULL, subs[i]);
	if (rc == 0)
		rc = avahi_entry_group_commit(d->group);
	return rc;
}

static void rename_after_collision(ap_dnssd_t *d)
{
	char *n = avahi_alternative_service_name(d->name);
	if (!n)
		return;
	pl_warn("DNS-SD: another service on the link is called \"%s\"; advertising as \"%s\"",
		d->name, n);
	avahi_free(d->name);
	d->name = n;
}

static void publish(ap_dnssd_t *d, AvahiClient *c);

static void group_cb(AvahiEntryGroup *g, AvahiEntryGroupState state, void *arg)
{
	ap_dnssd_t *d = arg;
	switch (state) {
	case AVAHI_ENTRY_GROUP_ESTABLISHED:
		d->warned = 0;
		pl_info("DNS-SD: advertised as \"%s\" (%s, subtypes _universal and _print, port %d)",
			d->name, AP_DNSSD_TYPE, d->port);
		break;
	case AVAHI_ENTRY_GROUP_COLLISION:
		rename_after_collision(d);
		avahi_entry_group_reset(g);
		publish(d, avahi_entry_group_get_client(g));
		break;
	case AVAHI_ENTRY_GROUP_FAILURE:
		pl_warn("DNS-SD: the advertisement failed: %s",
			avahi_strerror(avahi_client_errno(avahi_entry_group_get_client(g))));
		break;
	default:
		break;
	}
}

/* (Re)register the service: on a running client, after a collision. */
static void publish(ap_dnssd_t *d, AvahiClient *c)
{
	if (!d->group && !(d->group = avahi_entry_group_new(c, group_cb, d))) {
		pl_warn("DNS-SD: cannot make an entry group: %s",
			avahi_strerror(avahi_client_errno(c)));
		return;
	}
	if (!avahi_entry_group_is_empty(d->group))
		return;
	for (int tries = 0; tries < 16; tries++) {
		int rc = add_services(d, c);
		if (rc == 0)
			return;
		if (rc != AVAHI_ERR_COLLISION) {
			pl_warn("DNS-SD: cannot advertise \"%s\": %s", d->name, avahi_strerror(rc));
			avahi_entry_group_reset(d->group);
			return;
		}
		/* the daemon knows the name locally already */
		rename_after_collision(d);
		avahi_entry_group_reset(d->group);
	}
}

/* A client that waits for avahi-daemon when it is not on the bus (yet). */
static void connect_client(ap_dnssd_t *d)
{
	int error = 0;
	d->client = avahi_client_new(d->poll, AVAHI_CLIENT_NO_FAIL, client_cb, d, &error);
	if (d->client)
		return;
	/* no system bus at all: NO_FAIL cannot wait for that one */
	char what[160];
	(void)pl_fmt(what, sizeof(what), "no D-Bus system bus (%s; retrying every %d s)",
		     avahi_strerror(error), RETRY_MS / 1000);
	warn_once(d, what);
	struct timeval tv;
	tv_in(&tv, RETRY_MS);
	d->poll->timeout_update(d->retry, &tv);
}

static void retry_cb(AvahiTimeout *t, void *arg)
{
	ap_dnssd_t *d = arg;
	(void)t;
	if (d->client) {
		/* a client may not be freed in its own callback: here */
		avahi_client_free(d->client);
		d->client = NULL;
		d->group = NULL; /* freed with its client */
	}
	connect_client(d);
}

static void client_cb(AvahiClient *c, AvahiClientState state, void *arg)
{
	ap_dnssd_t *d = arg;
	struct timeval tv;
	switch (state) {
	case AVAHI_CLIENT_S_RUNNING:
		publish(d, c);
		break;
	case AVAHI_CLIENT_S_COLLISION:
	case AVAHI_CLIENT_S_REGISTERING:
		/* the daemon's host name changes: register again once it runs */
		if (d->group)
			avahi_entry_group_reset(d->group);
		break;
	case AVAHI_CLIENT_CONNECTING:
		warn_once(d, "avahi-daemon is not running (no org.freedesktop.Avahi on the "
			     "system bus); waiting for it");
		break;
	case AVAHI_CLIENT_FAILURE:
		if (avahi_client_errno(c) == AVAHI_ERR_DISCONNECTED) {
			pl_warn("DNS-SD: avahi-daemon went away; advertising again when it is back");
			d->warned = 1;
			tv_in(&tv, 0);
		} else {
			char what[160];
			(void)pl_fmt(what, sizeof(what), "Avahi failed (%s; retrying every %d s)",
				     avahi_strerror(avahi_client_errno(c)), RETRY_MS / 1000);
			warn_once(d, what);
			tv_in(&tv, RETRY_MS);
		}
		d->poll->timeout_update(d->retry, &tv);
		break;
	default:
		break;
	}
}

static void kick_cb(AvahiTimeout *t, void *arg)
{
	ap_dnssd_t *d = arg;
	struct timeval tv;
	pl_watchdog_kick(d->wd);
	tv_in(&tv, KICK_MS);
	d->poll->timeout_update(t, &tv);
}

/* The first turn on Avahi's thread: nothing of Avahi's blocks ap_start. */
static void first_cb(AvahiTimeout *t, void *arg)
{
	ap_dnssd_t *d = arg;
	d->poll->timeout_update(t, NULL);
	connect_client(d);
}

static int same_addr(const struct sockaddr *a, const struct sockaddr_storage *b)
{
	if (a->sa_family != b->ss_family)
		return 0;
	if (a->sa_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
		      &((const struct sockaddr_in6 *)b)->sin6_addr, sizeof(struct in6_addr)) == 0;
}

/* Advertise where we listen: the interface holding the bound address, or
 * every interface for a wildcard (or an address no interface holds). */
static void listen_scope(ap_dnssd_t *d, int fd)
{
	struct sockaddr_storage ss;
	socklen_t l = sizeof(ss);
	struct ifaddrs *ifs = NULL;
	d->ifindex = AVAHI_IF_UNSPEC;
	d->proto = AVAHI_PROTO_UNSPEC;
	if (getsockname(fd, (struct sockaddr *)&ss, &l) < 0 ||
	    (ss.ss_family != AF_INET && ss.ss_family != AF_INET6))
		return;
	d->port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
						: ((struct sockaddr_in6 *)&ss)->sin6_port);
	if ((ss.ss_family == AF_INET &&
	     ((struct sockaddr_in *)&ss)->sin_addr.s_addr == htonl(INADDR_ANY)) ||
	    (ss.ss_family == AF_INET6 &&
	     IN6_IS_ADDR_UNSPECIFIED(&((struct sockaddr_in6 *)&ss)->sin6_addr)) ||
	    getifaddrs(&ifs) < 0)
		return;
	for (struct ifaddrs *i = ifs; i; i = i->ifa_next) {
		if (!i->ifa_addr || !same_addr(i->ifa_addr, &ss))
			continue;
		unsigned idx = if_nametoindex(i->ifa_name);
		if (idx) {
			d->ifindex = (AvahiIfIndex)idx;
			d->proto = ss.ss_family == AF_INET ? AVAHI_PROTO_INET : AVAHI_PROTO_INET6;
		}
		break;
	}
	freeifaddrs(ifs);
}

static void dnssd_free(ap_dnssd_t *d)
{
	if (d->client)
		avahi_client_free(d->client); /* withdraws the group */
	if (d->tp)
		avahi_threaded_poll_free(d->tp); /* and its timeouts */
	if (d->wd)
		pl_service_watchdog_remove(d->svc, d->wd);
	avahi_free(d->name);
	free(d);
}

/* A DNS label holds 63 bytes: a longer printer_name is cut there, at a
 * UTF-8 character boundary (ty keeps all of it). */
static char *instance_name(const char *name)
{
	size_t n = strlen(name);
	if (n > AVAHI_LABEL_MAX - 1) {
		n = AVAHI_LABEL_MAX - 1;
		while (n > 0 && ((unsigned char)name[n] & 0xc0) == 0x80)
			n--;
	}
	return avahi_strndup(name, n);
}

ap_dnssd_t *ap_dnssd_start(pl_service_t *svc, const char *name, const char *uuid,
			   const char *host, int listen_fd)
{
	ap_dnssd_t *d = calloc(1, sizeof(*d));
	struct timeval now;
	if (!d || !(d->name = instance_name(name))) {
		free(d);
		pl_err("DNS-SD: out of memory");
		return NULL;
	}
	d->svc = svc;
	(void)pl_fmt(d->ty, sizeof(d->ty), "%s", name);
	(void)pl_fmt(d->uuid, sizeof(d->uuid), "%s", uuid);
	(void)pl_fmt(d->host, sizeof(d->host), "%s", host);
	listen_scope(d, listen_fd);
	tv_in(&now, 0);
	if (!(d->tp = avahi_threaded_poll_new()) ||
	    !(d->wd = pl_service_watchdog(svc, "avahi", AVAHI_SILENCE_MS))) {
		pl_err("DNS-SD: no Avahi poll or watchdog");
		dnssd_free(d);
		return NULL;
	}
	d->poll = avahi_threaded_poll_get(d->tp);
	if (!(d->kick = d->poll->timeout_new(d->poll, &now, kick_cb, d)) ||
	    !(d->retry = d->poll->timeout_new(d->poll, NULL, retry_cb, d)) ||
	    !d->poll->timeout_new(d->poll, &now, first_cb, d) ||
	    avahi_threaded_poll_start(d->tp) < 0) {
		pl_err("DNS-SD: cannot start Avahi's thread");
		dnssd_free(d);
		return NULL;
	}
	d->running = 1;
	return d;
}

void ap_dnssd_stop(ap_dnssd_t *d)
{
	if (!d)
		return;
	if (d->running)
		(void)avahi_threaded_poll_stop(d->tp);
	if (d->group)
		pl_info("DNS-SD: \"%s\" withdrawn", d->name);
	dnssd_free(d);
}
