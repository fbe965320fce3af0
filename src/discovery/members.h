/* members.h — which servers a discovered pool has after each DNS answer
 * (SPEC §7): identities, the hold of a server missing from an answer, the
 * confirmed empty answer, the stale time of a failing resolver, and when to
 * ask again. Pure: no sockets, no event loop, no clock (NOW is given in
 * milliseconds of any monotonic clock), so every rule is unit tested.
 *
 * A member's identity is "target:port" for SRV (the target lowercased,
 * without its trailing dot) and "ip:port" for A/AAAA ("[ip]:port" for IPv6).
 * An SRV target with several addresses takes the lowest one in a fixed
 * order (IPv4 before IPv6, then the address bytes), so every lbd instance
 * that gets the same records picks the same address; so does a server of
 * the file whose host name is followed (discovery_rules.identity).
 */
#ifndef LBD_DISCOVERY_MEMBERS_H
#define LBD_DISCOVERY_MEMBERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "discovery/dns_answer.h"
#include "util/addr.h"

/* At most this many members in one pool; identities of an answer beyond it
 * are ignored and counted (discovery_state.ignored). Members already in the
 * pool keep their places: the new identities are taken in identity order. */
#define DISCOVERY_MAX_MEMBERS 4096
/* "target:port": a 255-byte name, ':', five digits, NUL. */
#define DISCOVERY_IDENTITY_MAX 264
/* No query is sent again sooner than this, whatever the TTL or refresh. */
#define DISCOVERY_MIN_REFRESH_MS 1000

struct discovered {
	char identity[DISCOVERY_IDENTITY_MAX];
	struct lbd_addr addr;      /* text: the numeric "ip:port" */
	bool missing;              /* the last valid answer did not name it: it is held */
	uint64_t missing_since_ms; /* the first answer that missed it */
};

struct discovery_rules {
	uint64_t hold_ms;        /* a missing member keeps serving this long */
	uint64_t empty_after_ms; /* an empty answer empties the pool only after this */
	bool srv;                /* the name is an SRV name */
	/* A server of the file written as host:port: every address of the
	 * answer is this one member's (its name), which takes the lowest, as
	 * an SRV target does. NULL for a pool's discovery. */
	const char *identity;
};

/* One pool's members and answer history. Start from all zeroes: no
 * members until the first answer with records. */
struct discovery_state {
	struct discovered *members; /* sorted by identity; owned */
	size_t n;
	bool answered;           /* an answer came: records or an authoritative empty one */
	bool empty_run;          /* empty answers (and failures) since the last records */
	uint64_t empty_since_ms; /* the first empty answer of the run */
	unsigned empty_answers;  /* empty answers in the run */
	bool stale;              /* failures since the last answer */
	uint64_t stale_since_ms; /* the first failure of the run */
	size_t ignored;          /* last answer with records: identities beyond the maximum */
	size_t invalid;          /* last answer with records: targets that cannot be members */
};

enum member_change {
	MEMBER_ADDED,   /* a new identity: it takes requests now */
	MEMBER_MOVED,   /* same identity at a new address: keeps its counters and health */
	MEMBER_REMOVED, /* gone (its hold ended, or the pool was emptied): it drains */
};

/* Called once per change, in identity order, after the state holds the
 * change. M is valid during the call only; the callback must not call
 * back into the same state. May be NULL. */
typedef void discovery_change_fn(void *arg, const struct discovered *m, enum member_change c);

/* Apply ANSWER, received at NOW, under RULES:
 * - DNS_OK: new identities are added at once, named ones are kept (moved
 *   if their address changed), missing ones are held for hold_ms and then
 *   removed; an identity that comes back during its hold just continues.
 *   Ends the empty and stale runs. An answer without a usable target
 *   counts as DNS_EMPTY (an SRV target of "." says the service is not
 *   there, RFC 2782).
 * - DNS_EMPTY: starts or continues the empty run and ends the stale one;
 *   the pool is emptied by an empty answer that comes empty_after_ms or
 *   more after the first of the run, and is at least its second.
 * - DNS_FAILED: no member changes; starts the stale run if none.
 * - DNS_CANCELLED: nothing.
 * Returns the number of changes reported, or -1 when out of memory: the
 * state is then exactly as before and the same answer may be applied
 * again. */
int discovery_apply(struct discovery_state *st, const struct discovery_rules *rules,
		    const struct dns_answer *answer, uint64_t now_ms, discovery_change_fn *change,
		    void *arg);

/* Remove the members whose hold has ended at NOW, between answers. Same
 * return as discovery_apply. */
int discovery_tick(struct discovery_state *st, const struct discovery_rules *rules, uint64_t now_ms,
		   discovery_change_fn *change, void *arg);

/* When the next hold ends (the time to call discovery_tick), or UINT64_MAX
 * when no member is held. */
uint64_t discovery_next_hold_end_ms(const struct discovery_state *st,
				    const struct discovery_rules *rules);

/* The member named IDENTITY, or NULL. */
const struct discovered *discovery_find(const struct discovery_state *st, const char *identity);

/* How long the resolver has been failing (lbd_discovery_stale_seconds): 0
 * after an answer. */
uint64_t discovery_stale_ms(const struct discovery_state *st, uint64_t now_ms);

/* The delay until the next query after an answer: REFRESH_MS at most; a
 * shorter TTL of an A/AAAA answer (TTL_S) is honoured; SRV answers follow
 * REFRESH_MS (c-ares gives no SRV TTL). Up to a tenth is taken off, by
 * JITTER_SEED, so that instances and pools do not query in step; nothing is
 * added, as refresh is a maximum. Never below DISCOVERY_MIN_REFRESH_MS. */
uint64_t discovery_next_refresh_ms(uint64_t refresh_ms, uint32_t ttl_s, bool srv,
				   uint64_t jitter_seed);

/* The delay until the next query after FAILURES failures in a row (1 for
 * the first): 1 s, doubling, up to REFRESH_MS; the same jitter and floor. */
uint64_t discovery_retry_ms(uint64_t refresh_ms, unsigned failures, uint64_t jitter_seed);

/* Free the members; ST is all zeroes again. */
void discovery_state_free(struct discovery_state *st);

#endif
