/* dns_answer.h — what one DNS answer said about a pool's discovery name:
 * the resolver (discovery/resolver.h) fills it, the membership rules
 * (discovery/members.h) read it. Types only, so that each side includes it
 * without including the other.
 */
#ifndef LBD_DISCOVERY_DNS_ANSWER_H
#define LBD_DISCOVERY_DNS_ANSWER_H

#include <stddef.h>
#include <stdint.h>

#include "util/addr.h"

enum dns_status {
	DNS_OK,        /* records: TARGETS holds them */
	DNS_EMPTY,     /* authoritative: NXDOMAIN, or the name has no such records */
	DNS_FAILED,    /* timeout, SERVFAIL, REFUSED, unreachable: says nothing */
	DNS_CANCELLED, /* the query was dropped (reload, shutdown): says nothing */
};

/* One address of one server the answer names. An SRV target with several
 * addresses is one dns_target per address, all with the same TARGET. */
struct dns_target {
	char target[256];          /* SRV: the target host name as in the record; A/AAAA: unused */
	struct lbd_addr addr;      /* AF_INET or AF_INET6, with the port (SRV's, or the pool's) */
	uint16_t priority, weight; /* SRV only */
};

struct dns_answer {
	enum dns_status status;
	const char *why;                  /* DNS_EMPTY, DNS_FAILED: a static word for the log */
	const struct dns_target *targets; /* DNS_OK: N of them, owned by the caller */
	size_t n;
	uint32_t ttl_s; /* DNS_OK, A/AAAA: the smallest TTL of the records */
};

#endif
