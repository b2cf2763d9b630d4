/* pl_slots: who may hold a connection to a server that strangers can
 * reach: OfflinePrint's 31989, the console's HTTPS, the supervisor's
 * control socket. A cap on connections alone lets a few hundred sockets
 * that say nothing (or one byte every 29 s) shut everyone else out; these
 * rules keep a newcomer from ever waiting behind a connection that is
 * doing nothing.
 *
 * Each connection embeds one pl_slot_t. A slot is PENDING from admission
 * until the server has reason to trust it (a token checked, a complete
 * request in hand: pl_slots_trust), and may become PENDING again
 * (between requests: pl_slots_pend). A newcomer from a peer (an address,
 * a uid) is admitted when
 *   - its peer holds fewer than max_per_peer slots (0: no cap),
 *   - fewer than max_pending slots are pending (max_total - max_pending is
 *     a reserve that only trusted connections can fill),
 *   - fewer than max_total slots are held, or max_total - reserve for an
 *     unprivileged newcomer (the rest is kept for privileged peers: root
 *     on the control socket).
 * Where a rule would refuse, a pending slot is dropped instead (and the
 * newcomer is refused only when none is pending):
 *   - at the peer's cap, one of the peer's own;
 *   - when the pool is full, the oldest of the peer with the most pending
 *     slots if it holds at least two more than the newcomer's peer (the
 *     pool is shared fairly between peers, so an attacker reconnecting as
 *     fast as it is dropped cannot crowd out an address with one honest
 *     client), else any peer's.
 * "One of" is the oldest when it has been pending grace_ms, else one at
 * random: an idle or dripping connection goes first, and an attacker who
 * reconnects in bursts, so that every slot is young just after each, still
 * cannot refuse a newcomer; a client that needs a few milliseconds to
 * authenticate is unlikely to be picked meanwhile, and an honest burst
 * larger than the pool still makes progress. And
 * with deadline_ms, a slot pending that long is dropped (the loop's timer
 * sweeps; without a loop, the caller calls pl_slots_sweep).
 *
 * A dropped slot is already removed when its owner's drop callback runs;
 * the owner closes the connection (pl_slots_remove is then a no-op). */
#ifndef PL_SLOTS_H
#define PL_SLOTS_H

#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "pl_loop.h"

/* A peer's identity: an IPv4 address, an IPv6 /64 (one host there holds
 * 2^64 addresses), or a uid. */
typedef struct {
	uint8_t len;
	uint8_t b[17]; /* a kind byte, then the value */
} pl_slot_key_t;

/* From a peer's address (IPv4-mapped IPv6 counts as IPv4). 0, or -1 for
 * another family (the key is then the family's, shared by all). */
int pl_slot_key_addr(pl_slot_key_t *k, const struct sockaddr *sa);
void pl_slot_key_uid(pl_slot_key_t *k, uid_t uid);

typedef struct pl_slot pl_slot_t;
struct pl_slot {
	pl_slot_t *prev, *next;	  /* every pending slot, oldest first */
	pl_slot_t *pprev, *pnext; /* its peer's pending slots, oldest first */
	struct pl_slot_peer *peer; /* NULL: not admitted (or removed) */
	uint64_t since_ms;	  /* pending since (admission, pl_slots_pend) */
	int pending;
};

typedef struct {
	uint32_t max_total;    /* >= 1 */
	uint32_t max_pending;  /* 1 .. max_total */
	uint32_t max_per_peer; /* 0: no cap */
	uint32_t reserve;      /* of max_total, for privileged newcomers */
	uint64_t grace_ms;     /* pending this long: dropped first, oldest first */
	uint64_t deadline_ms;  /* 0: none */
} pl_slots_conf_t;

typedef enum { PL_SLOT_EVICTED = 1, PL_SLOT_EXPIRED } pl_slot_why_t;

/* Admission refused: the peer's cap, or the server's. */
#define PL_SLOTS_PEER_FULL (-1)
#define PL_SLOTS_FULL (-2)

typedef void (*pl_slots_drop_cb)(void *arg, pl_slot_t *slot, pl_slot_why_t why);

typedef struct pl_slots pl_slots_t;

typedef struct {
	uint32_t held, pending, peers;
	uint64_t evicted, expired, refused;
	/* the most ever at once: pending slots, and slots of one peer */
	uint32_t pending_peak, peer_peak;
} pl_slots_stats_t;

/* loop may be NULL (no deadline timer: tests call pl_slots_sweep). */
pl_slots_t *pl_slots_new(pl_loop_t *loop, const pl_slots_conf_t *conf,
			 pl_slots_drop_cb drop, void *arg);
/* Slots still held are forgotten; their owners must not use them again. */
void pl_slots_free(pl_slots_t *s);
/* New limits: for newcomers from now on; a new deadline for every pending
 * slot (counted from when it became pending). */
void pl_slots_set_conf(pl_slots_t *s, const pl_slots_conf_t *conf);
/* Admit slot (zeroed or removed) for a newcomer from key at now, pending,
 * dropping others as the rules say: 0, PL_SLOTS_PEER_FULL or
 * PL_SLOTS_FULL (slot untouched). */
int pl_slots_admit(pl_slots_t *s, pl_slot_t *slot, const pl_slot_key_t *key,
		   int privileged, uint64_t now);
void pl_slots_trust(pl_slots_t *s, pl_slot_t *slot);
void pl_slots_pend(pl_slots_t *s, pl_slot_t *slot, uint64_t now);
/* Give the slot back (idempotent). */
void pl_slots_remove(pl_slots_t *s, pl_slot_t *slot);
/* Drop every slot pending deadline_ms or longer at now. */
void pl_slots_sweep(pl_slots_t *s, uint64_t now);
void pl_slots_stats(const pl_slots_t *s, pl_slots_stats_t *st);
/* Slots held by key's peer. */
uint32_t pl_slots_peer_held(const pl_slots_t *s, const pl_slot_key_t *key);

#endif
