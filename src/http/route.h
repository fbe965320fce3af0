/* route.h — choosing a pool for a request: a listener's routes in order,
 * the first whose host and path prefix match wins. */
#ifndef LBD_ROUTE_H
#define LBD_ROUTE_H

#include <stddef.h>

#include "config/config.h"

/* HOST is the request's host as received (any case, an optional ":port" and
 * trailing dot are ignored; NULL or empty when the request had none). PATH is
 * the request target's path; NULL for "OPTIONS *", which path prefixes do
 * not concern (the host alone routes it). Returns NULL when no route
 * matches, else the first route that does (its pool, its rules). */
const struct route_conf *route_match(const struct listener_conf *listener, const char *host,
				     size_t host_len, const char *path, size_t path_len);

#endif
