/* cidr.h — IP addresses and networks as text: "192.0.2.7", "2001:db8::1",
 * "[2001:db8::1]", "10.0.0.0/8", "2001:db8::/32". For trusted proxy lists
 * and allow / deny rules. */
#ifndef LBD_UTIL_CIDR_H
#define LBD_UTIL_CIDR_H

#include <stdbool.h>
#include <stddef.h>

struct ip_addr {
	int family;              /* AF_INET or AF_INET6 */
	unsigned char bytes[16]; /* network order; 4 used for IPv4 */
};

struct cidr {
	struct ip_addr net; /* bits beyond the prefix are zero */
	unsigned prefix;    /* 0..32 or 0..128 */
};

/* A numeric IPv4 or IPv6 address, IPv6 optionally in brackets; LEN bytes
 * of S. Returns 0, or -1 when it is not one. */
int ip_parse(const char *s, size_t len, struct ip_addr *out);

/* "ADDRESS" (a single host) or "ADDRESS/PREFIX". Returns 0, or -1 when
 * malformed, when the prefix is too long for the family, or when the
 * address has bits set beyond the prefix ("10.0.0.1/8": a likely typo). */
int cidr_parse(const char *s, struct cidr *out);

bool cidr_contains(const struct cidr *c, const struct ip_addr *a);

/* Whether any of the N networks at LIST holds A. */
bool cidr_list_contains(const struct cidr *list, size_t n, const struct ip_addr *a);

#endif
