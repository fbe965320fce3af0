/* resolver.h — DNS lookups for discovery: one c-ares channel driven by the
 * main thread's libevent loop.
 *
 * A lookup is an SRV name (it starts with '_': targets and ports from the
 * records, each target's A and AAAA looked up too) or a host name (its A
 * and AAAA, with the caller's port). Names are always absolute: the search
 * list of resolv.conf never applies, so a Kubernetes resolv.conf
 * (ndots:5, three search domains) costs one query per record type.
 * Answers over UDP that come back truncated are asked again over TCP, and
 * EDNS is on, so a service of hundreds of instances is seen whole.
 *
 * A lookup ends after at most timeout × attempts (c-ares would wait
 * longer: it doubles its timeout after each round over the servers), with
 * DNS_FAILED "timeout" when nothing useful came back by then.
 */
#ifndef LBD_DISCOVERY_RESOLVER_H
#define LBD_DISCOVERY_RESOLVER_H

#include <stddef.h>
#include <stdint.h>

#include "discovery/dns_answer.h"
#include "util/addr.h"

struct event_base;
struct resolver;

/* From a resolvers: entry, or all zero/NULL for the system's. */
struct resolver_options {
	const struct lbd_addr *nameservers; /* IPv4 or IPv6 with port; none: resolv.conf's */
	size_t nnameservers;
	uint64_t timeout_ms;     /* per attempt; 0: resolv.conf's "options timeout:", else 5 s */
	unsigned attempts;       /* 0: resolv.conf's "options attempts:", else 2 */
	const char *resolv_conf; /* NULL: /etc/resolv.conf (the tests write their own) */
};

/* A resolver on BASE (the main thread's loop). NULL with ERR set when
 * c-ares cannot start (no memory, a nameserver that is not IPv4 or IPv6,
 * an unreadable resolv.conf). */
struct resolver *resolver_new(struct event_base *base, const struct resolver_options *o, char *err,
			      size_t errlen);

/* Cancels the lookups still running: each callback runs, inside this call,
 * with DNS_CANCELLED. Not to be called from a lookup's callback. */
void resolver_free(struct resolver *r);

typedef void (*resolver_cb)(void *arg, const struct dns_answer *a);

/* Looks NAME up: SRV when it starts with '_', else A and AAAA with PORT.
 * One target per address: an SRV target with an A and an AAAA record
 * gives two. An SRV target that does not resolve is left out; when none
 * resolves the answer is DNS_FAILED, or DNS_EMPTY when every target is
 * authoritatively empty. A host name answered in one family only is
 * DNS_OK (a server that drops AAAA queries does not hide the A records);
 * an IPv4 or IPv6 address as NAME answers itself, without a query.
 * Bad input (an empty or too long name, a malformed answer) gives
 * DNS_FAILED. Returns 0, or -1 (out of memory, or the resolver is being
 * freed; CB is not called). */
int resolver_lookup(struct resolver *r, const char *name, uint16_t port, resolver_cb cb, void *arg);

#endif
