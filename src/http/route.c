/* route.c — first-match routing by host, path, method, header fields and
 * query parameters, and what a route changes on the way: the prefix it
 * strips, the URL it redirects to.
 *
 * Host rules follow nginx's server_name: "api.example.com" matches that
 * name only; "*.example.com" matches every name below example.com at any
 * depth, but not example.com itself. A path prefix is a plain byte prefix
 * of the path, as nginx's prefix locations and HAProxy's path_beg are:
 * "/api" matches "/api", "/api/v1" and "/apis".
 *
 * Paths, header values and query parameters compare as sent, byte for byte,
 * without percent-decoding: a rule says what a client writes, and decoding
 * here would let "/adm%69n" and "/admin" route apart or together depending
 * on a server's view of them. Only the method is case-sensitive by nature;
 * header names compare in any case.
 */
#include "http/route.h"

#include "http/http_head.h"
#include "util/hash.h"
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

static bool method_matches(const struct route_conf *r, const struct route_request *rq)
{
	for (size_t i = 0; i < r->nmethods; i++)
		if (strlen(r->methods[i]) == rq->method_len &&
		    memcmp(r->methods[i], rq->method, rq->method_len) == 0)
			return true;
	return false;
}

/* Some field named NAME has exactly VALUE: a repeated field is not joined,
 * so "X-A: 1" and "X-A: 2" match either value. */
static bool header_has(const struct http_head *h, const char *name, const char *value)
{
	size_t vlen = strlen(value);

	for (uint32_t i = 0; h && i < h->nfields; i++) {
		const struct http_field *f = &h->fields[i];
		if (http_field_is(h, f, name) && f->value_len == vlen &&
		    memcmp(http_field_value(h, f), value, vlen) == 0)
			return true;
	}
	return false;
}

/* The parameter of QUERY (LEN bytes) that starts at *POS: its NAME and
 * VALUE ("a" and "a=" both give ""), *POS moved past it. False at the end. */
static bool query_next(const char *query, size_t len, size_t *pos, const char **name,
		       size_t *name_len, const char **value, size_t *value_len)
{
	if (!query || *pos >= len)
		return false;
	const char *p = query + *pos;
	const char *amp = memchr(p, '&', len - *pos);
	size_t plen = amp ? (size_t)(amp - p) : len - *pos;
	const char *eq = memchr(p, '=', plen);

	*name = p;
	*name_len = eq ? (size_t)(eq - p) : plen;
	*value = eq ? eq + 1 : p + plen;
	*value_len = plen - *name_len - (eq ? 1 : 0);
	*pos += plen + 1;
	return true;
}

bool route_query_find(const char *query, size_t len, const char *name, const char **value,
		      size_t *value_len)
{
	size_t nlen = strlen(name), pos = 0, klen;
	const char *k;

	while (query_next(query, len, &pos, &k, &klen, value, value_len))
		if (klen == nlen && memcmp(k, name, nlen) == 0)
			return true;
	return false;
}

bool route_query_has(const char *query, size_t len, const char *name, const char *value)
{
	size_t nlen = strlen(name), vlen = strlen(value), pos = 0, klen, have;
	const char *k, *v;

	while (query_next(query, len, &pos, &k, &klen, &v, &have))
		if (klen == nlen && memcmp(k, name, nlen) == 0 && have == vlen &&
		    memcmp(v, value, vlen) == 0)
			return true;
	return false;
}

/* Conditions beyond host and path prefix: all must hold. */
static bool rest_matches(const struct route_conf *r, const struct route_request *rq)
{
	if (r->path && rq->path &&
	    (strlen(r->path) != rq->path_len || memcmp(r->path, rq->path, rq->path_len) != 0))
		return false;
	if (r->nmethods && !method_matches(r, rq))
		return false;
	for (size_t i = 0; i < r->nheaders; i++)
		if (!header_has(rq->head, r->headers[i].name, r->headers[i].value))
			return false;
	for (size_t i = 0; i < r->nquery; i++)
		if (!route_query_has(rq->query, rq->query_len, r->query[i].name, r->query[i].value))
			return false;
	return true;
}

const struct route_conf *route_match(const struct listener_conf *listener,
				     const struct route_request *rq)
{
	const char *host = rq->host ? rq->host : "";
	size_t host_len = host_significant_len(host, rq->host ? rq->host_len : 0);

	for (size_t i = 0; i < listener->nroutes; i++) {
		const struct route_conf *r = &listener->routes[i];
		if (r->host && !host_matches(r->host, host, host_len))
			continue;
		if (r->path_prefix && rq->path &&
		    !path_matches(r->path_prefix, rq->path, rq->path_len))
			continue;
		if (!rest_matches(r, rq))
			continue;
		return r;
	}
	return NULL;
}

struct pool_conf *route_split_pick(const struct split_conf *s, const char *key, size_t len,
				   uint64_t random)
{
	uint64_t h = key ? hash64(key, len, 0) : random;
	/* The high 32 bits scaled to the total (at most 64 sides of 256
	 * weight each: the product fits), so the point is the key's fraction
	 * of the whole, whatever the total. */
	uint64_t point = ((h >> 32) * s->total) >> 32;

	for (size_t i = 0; i < s->nsides; i++) {
		if (point < s->sides[i].weight)
			return s->sides[i].pool;
		point -= s->sides[i].weight;
	}
	return s->sides[s->nsides - 1].pool;
}

size_t route_strip(const struct route_conf *r, const char *target, size_t len, bool *slash)
{
	if (!r->strip_prefix || !r->path_prefix)
		return 0;
	size_t skip = strlen(r->path_prefix);
	if (skip > len)
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
