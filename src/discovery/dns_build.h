/* dns_build.h — DNS answer messages to a struct dns_answer, without
 * sockets: what resolver.c does with the bytes c-ares hands it, callable
 * on any bytes (tests/fuzz/fuzz_dns.c).
 *
 * A build follows one lookup. An SRV lookup first records the SRV answer
 * (dns_build_srv), which names the targets; then, as for a host name,
 * each name's A and AAAA answers are recorded (dns_build_addrs), in any
 * order; dns_build_finish() decides. c-ares parses every message (its
 * ares_parse_*_reply functions); this file decides what lbd makes of it.
 */
#ifndef LBD_DISCOVERY_DNS_BUILD_H
#define LBD_DISCOVERY_DNS_BUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "discovery/resolver.h"

/* Bounds that keep a hostile answer from growing memory: addresses per
 * name and record type, targets per answer. Above either the answer is
 * DNS_FAILED ("too many records") rather than silently cut short. */
#define DNS_ADDRS_MAX 1024
#define DNS_TARGETS_MAX 4096

/* A c-ares status (ARES_SUCCESS, ARES_ENOTFOUND, ...) as lbd sees it:
 * the dns_status it means, and the word for the log. */
enum dns_status dns_status_of(int ares_status, const char **why);

struct dns_build;

/* A build for NAME (SRV when it starts with '_') and PORT (host names).
 * NULL when out of memory. A name that cannot be asked (empty, longer
 * than 253 characters) makes a build with no query to send, whose answer
 * is DNS_FAILED "bad name". */
struct dns_build *dns_build_new(const char *name, uint16_t port);
void dns_build_free(struct dns_build *b);

bool dns_build_is_srv(const struct dns_build *b);

/* The SRV name to ask; NULL for a host name or a name that cannot be
 * asked. */
const char *dns_build_srv_name(const struct dns_build *b);

/* The SRV query ended with c-ares STATUS; with ARES_SUCCESS, BUF and LEN
 * are the answer. Running out of memory is recorded as a failure. */
void dns_build_srv(struct dns_build *b, int status, const unsigned char *buf, int len);

/* The names whose A and AAAA are to be asked: the host name (none when it
 * is an IPv4 or IPv6 address, which answers itself), or (after
 * dns_build_srv) the SRV targets, each once. */
size_t dns_build_nnames(const struct dns_build *b);
const char *dns_build_name(const struct dns_build *b, size_t i);

/* Name I's A (AAAA when AAAA is true) query ended with STATUS; with
 * ARES_SUCCESS, BUF and LEN are the answer. */
void dns_build_addrs(struct dns_build *b, size_t i, bool aaaa, int status, const unsigned char *buf,
		     int len);

/* The answer from what was recorded; a query never recorded counts as a
 * timeout. Valid until dns_build_free(); NULL when out of memory. */
const struct dns_answer *dns_build_finish(struct dns_build *b);

#endif
