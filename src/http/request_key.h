/* request_key.h — the value a request is keyed by (struct request_key,
 * config.h): what ip_hash and maglev hash (pools[].hash_key) and what
 * keeps a client on its side of a split (routes[].split_key). A pure
 * function of the parsed request head.
 */
#ifndef LBD_REQUEST_KEY_H
#define LBD_REQUEST_KEY_H

#include <stddef.h>

#include "config/config.h"
#include "http/http_head.h"

/* KEY's value in the request whose head is H (its target included), as
 * received: a header's or a cookie's value, a query parameter's raw value
 * (not percent-decoded), the whole target for uri, CLIENT for client_ip.
 * NULL, with *LEN 0, when the request has none or it is empty; the caller
 * decides what stands in for it. */
const char *request_key_value(const struct request_key *key, const struct http_head *h,
			      const char *client, size_t *len);

#endif
