/* route.c — first-match routing by host and path prefix, and what a
 * route changes on the way: the prefix it strips, the URL it redirects to.
 *
 * Host rules follow nginx's server_name: "api.example.com" matches that
 * name only; "*.example.com" matches every name below example.com at any
 * depth, but not example.com itself. A path prefix is a plain byte prefix
 * of the path, as nginx's prefix locations and HAProxy's path_beg are:
 * "/api" matches "/api", "/api/v1" and "/apis".
 */
#include "http/route.h"

#include "util/strbuf.h"

#include <string.h>
#include <strings.h>

static size_t host_significant_len(const char *host, size_t len)
{
	/* An IPv6 literal keeps its brackets; a port after it goes. */
	if (len && host[0] == '[') {
		const char *end = memchr(host, ']', len);
		return end ? (size_t)(end - host) + 1 : len;
	}
	const char *colon = memchr(host, ':', len);
	if (colon)
		len = (size_t)(colon - host);
	if (len && host[len - 1] == '.')
		len--;
	return len;
}

static int host_matches(const char *rule, const char *host, size_t len)
{
	if (rule[0] == '*' && rule[1] == '.') {
		size_t suffix = strlen(rule + 1); /* ".example.com" */
		return len > suffix && strncasecmp(host + len - suffix, rule + 1, suffix) == 0;
	}
	return strlen(rule) == len && strncasecmp(rule, host, len) == 0;
}

static int path_matches(const char *prefix, const char *path, size_t len)
{
	size_t plen = strlen(prefix);
	return len >= plen && memcmp(path, prefix, plen) == 0;
}

const struct route_conf *route_match(const struct listener_conf *listener, const char *host,
				     size_t host_len, const char *path, size_t path_len)
{
	if (!host)
		host_len = 0;
	host_len = host_significant_len(host ? host : "", host_len);

	for (size_t i = 0; i < listener->nroutes; i++) {
		const struct route_conf *r = &listener->routes[i];
		if (r->host && !host_matches(r->host, host, host_len))
			continue;
		if (r->path_prefix && path && !path_matches(r->path_prefix, path, path_len))
			continue;
		return r;
	}
	return NULL;
}

size_t route_strip(const struct route_conf *r, const char *target, size_t len, bool *slash)
{
	size_t skip = r->path_prefix ? strlen(r->path_prefix) : 0;

	if (!r->strip_prefix || skip > len)
		return 0;
	/* What is left must still be a path: "/api" leaves "", "/api?x"
	 * leaves "?x" and "/api/" before "users" leaves "users"; each gets
	 * its "/" back when written. */
	*slash = skip == len || target[skip] != '/';
	return skip;
}

int route_location(const struct redirect_conf *r, const char *target, size_t len, bool slash,
		   struct strbuf *out)
{
	size_t to_len = strlen(r->to);

	/* "https://example.com/" and "/users" make one slash, not two. */
	if (to_len && r->to[to_len - 1] == '/' && (slash || (len && target[0] == '/')))
		to_len--;
	strbuf_add(out, r->to, to_len);
	if (slash)
		strbuf_add(out, "/", 1);
	strbuf_add(out, target, len);
	return strbuf_failed(out) ? -1 : 0;
}
