/* The AirPrint service's DNS-SD: the TXT record iOS reads (built once,
 * in zone.c, for both the unicast zone fragment and the multicast
 * advertisement) and the Avahi publisher (dnssd.c). */
#ifndef AP_DNSSD_H
#define AP_DNSSD_H

#include "pl_service.h"

#define AP_TXT_MAX 16

typedef struct {
	struct {
		const char *key;
		char val[256];
	} kv[AP_TXT_MAX];
	int n;
} ap_txt_t;

/* The TXT keys iOS looks for: txtvers, qtotal, rp, ty, pdl, URF, TLS,
 * UUID (when uuid, "urn:uuid:..." or "", is known), Color, Duplex, kind,
 * air, adminurl. ty is name; adminurl is https://HOST:PORT/. */
void ap_txt_build(ap_txt_t *t, const char *name, const char *uuid, const char *host, long port);

typedef struct ap_dnssd ap_dnssd_t;

/* Advertise _ipps._tcp (subtypes _universal and _print) with the TXT
 * above, through avahi-daemon on the D-Bus system bus, on the interface
 * that holds listen_fd's address (all when it is a wildcard). host: the
 * adminurl's host ("" = Avahi's own NAME.local). Never fails the service:
 * without D-Bus or avahi-daemon it warns once and keeps trying; NULL only
 * when out of memory or threads (logged). Call from the loop thread. */
ap_dnssd_t *ap_dnssd_start(pl_service_t *svc, const char *name, const char *uuid,
			   const char *host, int listen_fd);
/* Withdraws the advertisement and joins Avahi's thread. NULL is fine. */
void ap_dnssd_stop(ap_dnssd_t *d);

#endif
