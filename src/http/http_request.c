/* http_request.c — checking, routing and framing a request head. */
#include "http/http_request.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/route.h"

/* A refusal: STATUS, and WHY for the log. */
static int refuse(const char **why, int status, const char *text)
{
	*why = text;
	return status;
}

/* RFC 9110 §7.2: a Host is a uri-host with an optional port; anything that
 * could change how the target is understood downstream is refused. */
static bool host_acceptable(const char *host, size_t len)
{
	static const bool refused[256] = {
		[0 ... ' '] = true, [0x7f ... 0xff] = true, ['/'] = true, ['\\'] = true,
		['@'] = true,       ['?'] = true,           ['#'] = true, ['"'] = true,
		['<'] = true,       ['>'] = true,
	};

	for (size_t i = 0; i < len; i++)
		if (refused[(unsigned char)host[i]])
			return false;
	return true;
}

/* The length of the prefix of S (LEN bytes) without any of the bytes of
 * STOP. */
static size_t strcspn_n(const char *s, size_t len, const char *stop)
{
	size_t i = 0;

	while (i < len && !strchr(stop, s[i]))
		i++;
	return i;
}

/* Split an absolute-form target ("http://host:port/path?q") into its
 * authority and origin-form path; RFC 9112 §3.2.2 says the authority then
 * replaces the Host field. */
static int split_absolute(struct request_out *out, const char *url, size_t len)
{
	size_t skip;

	if (len >= 7 && strncasecmp(url, "http://", 7) == 0)
		skip = 7;
	else if (len >= 8 && strncasecmp(url, "https://", 8) == 0)
		skip = 8;
	else
		return -1;
	const char *auth = url + skip;
	size_t rest = len - skip;
	/* The authority ends at the path, or at the query of an empty path
	 * ("http://h?q" is "/?q" in origin form, RFC 9112 §3.2.1). */
	size_t auth_len = strcspn_n(auth, rest, "/?");
	if (auth_len == 0 || !host_acceptable(auth, auth_len))
		return -1;
	out->host = auth;
	out->host_len = auth_len;
	out->replace_host = true;
	if (auth_len < rest && auth[auth_len] == '/') {
		out->target = auth + auth_len;
		out->target_len = rest - auth_len;
	} else if (auth_len < rest) {
		/* "/" then the query: the target is rebuilt when written */
		out->target = auth + auth_len;
		out->target_len = rest - auth_len;
		out->target_slash = true;
	} else {
		out->target = "/";
		out->target_len = 1;
	}
	return 0;
}

static bool method_is(const struct request_out *out, const char *name)
{
	return out->method_len == strlen(name) && memcmp(out->method, name, out->method_len) == 0;
}

static int plan_target(const llhttp_t *p, const struct http_head *h, struct request_out *out,
		       const char **why)
{
	const char *url = h->buf + h->url_off;
	size_t len = h->url_len;

	if (p->method == HTTP_CONNECT) /* lbd is a reverse proxy, not a forward one */
		return refuse(why, 405, "CONNECT is not served");
	if (len == 0)
		return refuse(why, 400, "empty request target");
	if (url[0] == '/') {
		out->target = url;
		out->target_len = len;
		return 0;
	}
	if (len == 1 && url[0] == '*') {
		if (!method_is(out, "OPTIONS"))
			return refuse(why, 400,
				      "request target * with a method other than OPTIONS");
		out->target = url;
		out->target_len = 1;
		out->asterisk = true;
		return 0;
	}
	return split_absolute(out, url, len) < 0 ? refuse(why, 400, "invalid request target") : 0;
}

static int plan_host(const llhttp_t *p, const struct http_head *h, struct request_out *out,
		     const char **why)
{
	unsigned n;
	const struct http_field *host = http_head_find_id(h, HN_HOST, &n);

	if (n > 1)
		return refuse(why, 400, "more than one Host field");
	if (n == 0 && p->http_minor >= 1) /* RFC 9112 §3.2: HTTP/1.1 requests carry a Host */
		return refuse(why, 400, "no Host field in an HTTP/1.1 request");
	if (out->replace_host)
		return 0;
	if (host) {
		if (!host_acceptable(http_field_value(h, host), host->value_len))
			return refuse(why, 400, "invalid Host field");
		out->host = http_field_value(h, host);
		out->host_len = host->value_len;
	}
	return 0;
}

/* lbd decodes chunked and nothing else: a request that applies another
 * coding (gzip, chunked) would lose it on the way (RFC 9112 §6.1: 501),
 * and chunked applied twice is malformed. */
static int plan_codings(const struct http_head *h, const char **why)
{
	unsigned chunked = 0;

	for (uint32_t i = 0; i < h->nfields; i++) {
		const struct http_field *f = &h->fields[i];
		if (f->name_id != HN_TRANSFER_ENCODING)
			continue;
		const char *v = http_field_value(h, f);
		size_t len = f->value_len, pos = 0;
		while (pos < len) {
			while (pos < len && (v[pos] == ' ' || v[pos] == '\t' || v[pos] == ','))
				pos++;
			size_t start = pos;
			while (pos < len && v[pos] != ',')
				pos++;
			size_t end = pos;
			while (end > start && (v[end - 1] == ' ' || v[end - 1] == '\t'))
				end--;
			if (end == start)
				continue;
			if (end - start == 7 && strncasecmp(v + start, "chunked", 7) == 0)
				chunked++;
			else
				return refuse(why, 501, "a transfer coding other than chunked");
		}
	}
	return chunked == 1 ? 0 : refuse(why, 400, "chunked applied more than once");
}

static int plan_body(const llhttp_t *p, const struct http_head *h, struct request_out *out,
		     const char **why)
{
	unsigned ncl;
	/* llhttp flags no Transfer-Encoding whose value is empty: the field's
	 * presence is what counts (it names no final chunked: 400). */
	bool te = (p->flags & (F_CHUNKED | F_TRANSFER_ENCODING)) ||
		  http_head_find_id(h, HN_TRANSFER_ENCODING, NULL);

	http_head_find_id(h, HN_CONTENT_LENGTH, &ncl);
	/* llhttp refuses this too: never rely on one guard */
	if (te && ncl)
		return refuse(why, 400, "both Content-Length and Transfer-Encoding");
	/* RFC 9112 §6.1: Transfer-Encoding in an HTTP/1.0 message means the
	 * framing is faulty (an HTTP/1.0 peer behind lbd would not decode it). */
	if (te && p->http_minor == 0)
		return refuse(why, 400, "Transfer-Encoding in an HTTP/1.0 request");
	if (p->flags & F_CHUNKED) {
		int status = plan_codings(h, why);
		if (status)
			return status;
		out->body = BODY_CHUNKED;
	} else if (te)
		return refuse(why, 400, "Transfer-Encoding whose final coding is not chunked");
	else if (p->flags & F_CONTENT_LENGTH) {
		out->body = BODY_LENGTH;
		out->content_length = p->content_length;
	} else {
		out->body = BODY_NONE;
	}
	return 0;
}

static int plan_expect(const llhttp_t *p, const struct http_head *h, const char **why)
{
	const struct http_field *f = http_head_find_id(h, HN_EXPECT, NULL);

	/* RFC 9110 §10.1.1: HTTP/1.0 servers ignore it; an empty list asks
	 * for nothing. */
	if (!f || p->http_minor == 0 || f->value_len == 0)
		return 0;
	if (f->value_len == 12 && strncasecmp(http_field_value(h, f), "100-continue", 12) == 0)
		return 0;
	return refuse(why, 417, "an Expect other than 100-continue");
}

/* Whether the eight bytes at P have one below 0x0e (CR, LF and NUL are):
 * (x - N * ones) & ~x & highs is not 0 exactly when a byte is below N. */
static bool word_has_low_byte(const char *p)
{
	const uint64_t ones = UINT64_C(0x0101010101010101), highs = ones << 7;
	uint64_t x;

	memcpy(&x, p, 8);
	return ((x - ones * 0x0e) & ~x & highs) != 0;
}

/* Whether V (LEN bytes) holds a CR, LF or NUL. Hardly any byte of a value
 * is that low: whole words are checked (the last one overlapping the one
 * before), and bytes one by one only after a word had such a byte. */
static bool has_line_break_or_nul(const char *v, size_t len)
{
	if (len >= 8) {
		bool low = false;
		for (size_t i = 0; i + 8 < len && !low; i += 8)
			low = word_has_low_byte(v + i);
		if (!low && !word_has_low_byte(v + len - 8))
			return false;
	}
	for (size_t i = 0; i < len; i++)
		if (v[i] == '\r' || v[i] == '\n' || v[i] == '\0')
			return true;
	return false;
}

/* llhttp 8 is lenient in places a proxy must not be: it accepts field
 * names that are empty or hold spaces, and obs-fold (RFC 9112 §5.2), whose
 * line break it hands through inside the value. lbd refuses all of them:
 * each is a way to make two parsers disagree about a request. */
static int plan_fields(const struct http_head *h, const char **why)
{
	for (uint32_t i = 0; i < h->nfields; i++) {
		const struct http_field *f = &h->fields[i];
		const char *name = http_field_name(h, f);
		if (f->name_len == 0)
			return refuse(why, 400, "an empty header field name");
		for (uint32_t j = 0; j < f->name_len; j++)
			if (!http_is_tchar((unsigned char)name[j]))
				return refuse(why, 400,
					      "an invalid character in a header field name");
		if (has_line_break_or_nul(http_field_value(h, f), f->value_len))
			return refuse(why, 400, "CR, LF or NUL in a header field value");
	}
	return 0;
}

/* What routing looks at. "OPTIONS *" is about the server as a whole: no
 * path; an absolute target with an empty path ("http://h?q") has "/". */
static const struct route_conf *plan_route(const struct http_head *h,
					   const struct listener_conf *listener,
					   const struct request_out *out)
{
	struct route_request rq = { .host = out->host,
				    .host_len = out->host_len,
				    .method = out->method,
				    .method_len = out->method_len,
				    .head = h };
	const char *q = out->asterisk ? NULL : memchr(out->target, '?', out->target_len);

	if (out->target_slash) {
		rq.path = "/";
		rq.path_len = 1;
	} else if (!out->asterisk) {
		rq.path = out->target;
		rq.path_len = q ? (size_t)(q - out->target) : out->target_len;
	}
	if (q) {
		rq.query = q + 1;
		rq.query_len = out->target_len - (size_t)(q + 1 - out->target);
	}
	return route_match(listener, &rq);
}

int http_request_plan(const llhttp_t *p, const struct http_head *h,
		      const struct listener_conf *listener, struct request_plan *plan)
{
	struct request_out *out = &plan->out;
	int status;

	const char **why = &plan->reason;

	memset(plan, 0, sizeof(*plan));
	if (p->http_major == 0) /* an HTTP/0.9 request line ("GET /"): malformed here */
		return refuse(why, 400, "an HTTP/0.9 request line");
	if (p->http_major != 1)
		return refuse(why, 505, "an HTTP version other than 1.0 and 1.1");
	if (h->method_len == 0)
		return refuse(why, 400, "no method");
	out->method = h->buf + h->method_off;
	out->method_len = h->method_len;
	out->http_minor = p->http_minor;
	if ((status = plan_fields(h, why)) || (status = plan_target(p, h, out, why)) ||
	    (status = plan_host(p, h, out, why)) || (status = plan_body(p, h, out, why)) ||
	    (status = plan_expect(p, h, why)))
		return status;
	out->upgrade = p->upgrade && http_head_find_id(h, HN_UPGRADE, NULL) != NULL;
	/* By their names: an extension method reached llhttp as "GET". */
	plan->is_head = method_is(out, "HEAD");
	/* The idempotent methods of RFC 9110 §9.2.2, and only without a
	 * body: a body that reached a server is never sent again. */
	plan->replayable = out->body == BODY_NONE &&
			   (method_is(out, "GET") || plan->is_head || method_is(out, "OPTIONS") ||
			    method_is(out, "TRACE") || method_is(out, "PUT") ||
			    method_is(out, "DELETE"));
	plan->route = plan_route(h, listener, out);
	if (!plan->route)
		return refuse(why, 404, "no route matches");
	plan->pool = plan->route->pool;
	if (!out->asterisk && !out->target_slash) {
		size_t skip = route_strip(plan->route, out->target, out->target_len,
					  &out->target_slash);
		out->target += skip;
		out->target_len -= skip;
	}
	return 0;
}

int http_request_render(const struct http_head *h, const struct request_out *req, char **out,
			size_t *len)
{
	struct strbuf sb = { 0 };

	if (http_request_write(&sb, h, req) < 0) {
		strbuf_free(&sb);
		return -1;
	}
	*out = sb.data;
	*len = sb.len;
	return 0;
}
