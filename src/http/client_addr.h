/* client_addr.h — which client a request comes from when lbd sits behind
 * HTTP balancers it trusts (listeners[].trusted_proxies).
 *
 * Such a balancer appends the address it got the request from to
 * X-Forwarded-For. Read from the right, every element up to the first
 * untrusted one was written by a trusted hop; that first untrusted address
 * is the client. Anything further left was written by the client itself and
 * proves nothing. Pure, unit tested in tests/unit/test_client_addr.c.
 */
#ifndef LBD_CLIENT_ADDR_H
#define LBD_CLIENT_ADDR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>

#include "http/http_head.h"
#include "util/cidr.h"

/* True when PEER (numeric text) is in TRUSTED. */
bool client_addr_trusted(const struct cidr *trusted, size_t ntrusted, const char *peer);

/* When PEER (numeric text) is in TRUSTED and the X-Forwarded-For fields of
 * H name a client, write its numeric text to OUT and return true; false:
 * the peer is the client. The elements are read right to left (the last
 * field's last element first): the first that is not trusted is the
 * client; when all are, the leftmost; an element that is not a plain
 * address stops the walk at the last trusted one read. */
bool client_addr_forwarded(const struct http_head *h, const struct cidr *trusted, size_t ntrusted,
			   const char *peer, char out[INET6_ADDRSTRLEN]);

#endif
