/* prefix_rewrite.h — a strip_prefix route's responses, put back in the
 * client's terms (routes[].restore_prefix, on by default): the server saw
 * /users/1 where the client asked for /api/users/1, so the paths it names
 * in Location and in Set-Cookie's Path lack the prefix the client needs.
 * As nginx's proxy_redirect default and proxy_cookie_path do, lbd adds it
 * back:
 *
 *   Location: /users/1                    ->  /api/users/1
 *   Location: http://HOST/users/1         ->  http://HOST/api/users/1
 *             (HOST: the Host the server saw, the client's; kept as it is)
 *   Location: http://SERVER/users/1       ->  SCHEME://HOST/api/users/1
 *             (SERVER: the server's own address as the pool writes it,
 *             which the client could not reach: the client's scheme and
 *             Host replace it)
 *   Set-Cookie: a=1; Path=/x              ->  a=1; Path=/api/x
 *   Set-Cookie: a=1; Path=/               ->  a=1; Path=/api
 *   Set-Cookie: a=1; Domain=SERVERHOST    ->  a=1  (the server's address
 *             host: the attribute goes, the cookie is the client's Host's)
 *
 * Other locations (another host, a relative path without a leading slash,
 * a network-path "//host/x") and other attributes pass unchanged.
 * Pure functions: no lbd state, unit tested on their own.
 */
#ifndef LBD_PREFIX_REWRITE_H
#define LBD_PREFIX_REWRITE_H

#include <stdbool.h>
#include <stddef.h>

#include "http/http_head.h"
#include "util/strbuf.h"

struct prefix_rewrite {
	const char *prefix; /* the route's path_prefix; NULL: nothing to do */
	const char *host;   /* the Host the server saw; NULL: none */
	size_t host_len;
	const char *scheme; /* the client's: "http" or "https" */
	const char *server; /* the server's address as written ("10.0.0.1:8080",
			     * "api.internal:80"); NULL: unknown */
};

/* Append to OUT what the Location value V (LEN bytes) becomes. Returns 1
 * when it changed, 0 when it stays as it is (OUT untouched), -1 when OUT
 * could not grow. */
int prefix_rewrite_location(const struct prefix_rewrite *rw, const char *v, size_t len,
			    struct strbuf *out);

/* The same for a Set-Cookie value. */
int prefix_rewrite_set_cookie(const struct prefix_rewrite *rw, const char *v, size_t len,
			      struct strbuf *out);

/* Rewrite every Location and Set-Cookie field of the response head H
 * (SCRATCH holds each new value on its way). Returns 0, or -1 when H
 * overflows its bound or memory runs out. */
int prefix_rewrite_head(const struct prefix_rewrite *rw, struct http_head *h,
			struct strbuf *scratch);

#endif
