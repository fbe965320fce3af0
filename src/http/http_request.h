/* http_request.h — what lbd makes of a complete request head: is it
 * acceptable, where does it go, and how is it framed onward. Pure
 * functions, so the unit tests can hold them to RFC 9110/9112.
 */
#ifndef LBD_HTTP_REQUEST_H
#define LBD_HTTP_REQUEST_H

#include <llhttp.h>
#include <stdbool.h>

#include "config/config.h"
#include "http/http_head.h"
#include "http/http_rewrite.h"

struct request_plan {
	struct request_out out;         /* client_ip, client_v6, proto: caller's */
	const struct route_conf *route; /* the route that matched */
	struct pool_conf *pool;         /* its pool; NULL: the route redirects or splits */
	bool is_head;
	bool replayable;    /* idempotent (RFC 9110 §9.2.2) and without a body */
	const char *reason; /* why it was refused, for the log */
};

/* Check the request parsed by P into H, route it with LISTENER's routes and
 * fill PLAN (the target as the server gets it: a route's strip_prefix is
 * applied). Returns 0, or the status to answer (400, 404, 405, 417, 501,
 * 505) with plan->reason saying why. */
int http_request_plan(const llhttp_t *p, const struct http_head *h,
		      const struct listener_conf *listener, struct request_plan *plan);

/* Render the head to send to the server into a new buffer (*OUT, *LEN;
 * the caller frees it). Returns 0, or -1 out of memory. */
int http_request_render(const struct http_head *h, const struct request_out *req, char **out,
			size_t *len);

#endif
