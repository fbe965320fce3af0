/* route.h — choosing a route for a request: a listener's routes in order,
 * the first whose every condition (host, path prefix, path, methods,
 * headers, query) holds wins; it names a pool or a redirect. */
#ifndef LBD_ROUTE_H
#define LBD_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

struct http_head;

/* What routing looks at in a request. HOST is its host as received (any
 * case, an optional ":port" and trailing dot are ignored; NULL or empty
 * when the request had none). PATH is the target's path; NULL for
 * "OPTIONS *", which path conditions do not concern. QUERY is what follows
 * the "?" (NULL: no "?"). HEAD holds the fields (NULL: none). */
struct route_request {
	const char *host;
	size_t host_len;
	const char *path;
	size_t path_len;
	const char *query;
	size_t query_len;
	const char *method;
	size_t method_len;
	const struct http_head *head;
};

/* NULL when no route matches, else the first route that does (its pool,
 * its rules). */
const struct route_conf *route_match(const struct listener_conf *listener,
				     const struct route_request *rq);

/* True when QUERY (LEN bytes, without the "?") has a parameter NAME whose
 * raw value is VALUE. "a" and "a=" both give a the value ""; with a
 * repeated name, any of its values will do. */
bool route_query_has(const char *query, size_t len, const char *name, const char *value);

/* The raw value of the first parameter NAME of QUERY (LEN bytes, without
 * the "?"; NULL: none), in *VALUE / *VALUE_LEN. False when it has none. */
bool route_query_find(const char *query, size_t len, const char *name, const char **value,
		      size_t *value_len);

/* The pool of split S for a request whose split key is KEY (LEN bytes;
 * NULL: the request has none, and RANDOM, 64 random bits, picks). The key's
 * hash is a point in [0, total weight), each side owning a stretch of it
 * as long as its weight, so one key always lands on one side while the
 * weights stay, and a change of weights moves only the keys whose point
 * crosses a moved boundary. */
struct pool_conf *route_split_pick(const struct split_conf *s, const char *key, size_t len,
				   uint64_t random);

/* strip_prefix: how many bytes of TARGET (LEN bytes, an origin-form target
 * that R matched) the server does not get, 0 when R strips nothing; *SLASH
 * says whether what is left needs a "/" in front to be a path again. */
size_t route_strip(const struct route_conf *r, const char *target, size_t len, bool *slash);

struct strbuf;
/* The Location of redirect R for a request whose path and query are TARGET
 * (LEN bytes; SLASH: a "/" goes first, as http_rewrite.h's target_slash),
 * appended to OUT. Returns 0, or -1 out of memory. */
int route_location(const struct redirect_conf *r, const char *target, size_t len, bool slash,
		   struct strbuf *out);

#endif
