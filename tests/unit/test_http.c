/* test_http.c — the request parser (request_parser.c) without sockets,
 * request checks, routing and the heads lbd forwards. */
#include <check.h>

#include "check_main.h"
#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/body.h"
#include "http/header_rules.h"
#include "http/http_request.h"
#include "http/http_rewrite.h"
#include "http/request_parser.h"
#include "http/route.h"

/* --- feeding the request parser, as http_client.c does ------------------ */

/* Feed LEN bytes at IN, STEP bytes a read (0: all at once), from *POS on,
 * until a step other than REQUEST_MORE or the end; *POS advances by what
 * was used. */
static enum request_step feed(struct request_parser *rp, const char *in, size_t len, size_t step,
			      size_t *pos)
{
	enum request_step st = REQUEST_MORE;

	while (*pos < len && st == REQUEST_MORE) {
		size_t n = step && len - *pos > step ? step : len - *pos, used;
		st = request_parser_feed(rp, in + *pos, n, &used);
		*pos += used;
	}
	return st;
}

static void start(struct request_parser *rp, uint64_t header_size, uint32_t headers)
{
	request_parser_init(rp, NULL);
	rp->header_size = header_size;
	rp->headers = headers;
}

/* Parse RAW byte by byte (to exercise split spans) up to the end of its
 * head. */
static enum request_step parse(struct request_parser *rp, const char *raw)
{
	size_t pos = 0;

	start(rp, 16384, 100);
	return feed(rp, raw, strlen(raw), 1, &pos);
}

/* --- a configuration with routes, built by hand ------------------------ */

static struct pool_conf pools[3] = { { .name = "api" }, { .name = "wild" }, { .name = "web" } };
static struct route_conf routes[] = {
	{ .host = "api.example.com", .path_prefix = "/api", .pool = &pools[0] },
	{ .host = "*.example.com", .pool = &pools[1] },
	{ .path_prefix = "/static", .pool = &pools[2] },
};
static const struct listener_conf listener = { .name = "web", .routes = routes, .nroutes = 3 };

static const char *route_of(const char *host, const char *path)
{
	struct route_request rq = { .host = host,
				    .host_len = host ? strlen(host) : 0,
				    .path = path,
				    .path_len = strlen(path),
				    .method = "GET",
				    .method_len = 3 };
	const struct route_conf *r = route_match(&listener, &rq);
	return r ? r->pool->name : "none";
}

START_TEST(routes_first_match_wins)
{
	ck_assert_str_eq(route_of("api.example.com", "/api/v1"), "api");
	ck_assert_str_eq(route_of("API.Example.COM:8080", "/api"), "api");
	ck_assert_str_eq(route_of("api.example.com.", "/apis"), "api");
	ck_assert_str_eq(route_of("api.example.com", "/other"), "wild");
	ck_assert_str_eq(route_of("a.b.example.com", "/"), "wild");
	ck_assert_str_eq(route_of("example.com", "/static/x"), "web");
	ck_assert_str_eq(route_of("example.com", "/"), "none");
	ck_assert_str_eq(route_of(NULL, "/static"), "web");
	ck_assert_str_eq(route_of("badexample.com", "/x"), "none");
}
END_TEST

static bool query_has(const char *query, const char *name, const char *value)
{
	return route_query_has(query, query ? strlen(query) : 0, name, value);
}

START_TEST(query_parameters_match_raw)
{
	ck_assert(query_has("a=1&b=2", "a", "1"));
	ck_assert(query_has("a=1&b=2", "b", "2"));
	ck_assert(!query_has("a=1&b=2", "a", "2"));
	ck_assert(!query_has("a=1&b=2", "c", ""));
	/* a name alone and a name with "=" both have the empty value */
	ck_assert(query_has("a", "a", ""));
	ck_assert(query_has("a=", "a", ""));
	ck_assert(!query_has("a", "a", "1"));
	ck_assert(query_has("x=1&a", "a", ""));
	/* a repeated name: any of its values */
	ck_assert(query_has("a=1&a=2", "a", "1"));
	ck_assert(query_has("a=1&a=2", "a", "2"));
	ck_assert(!query_has("a=1&a=2", "a", "3"));
	/* no query, an empty one, empty pieces */
	ck_assert(!query_has(NULL, "a", ""));
	ck_assert(!query_has("", "a", ""));
	ck_assert(query_has("&&a=1&", "a", "1"));
	/* raw: no percent-decoding, names are case-sensitive, "=" in a value */
	ck_assert(query_has("q=a%20b", "q", "a%20b"));
	ck_assert(!query_has("q=a%20b", "q", "a b"));
	ck_assert(!query_has("A=1", "a", "1"));
	ck_assert(query_has("t=x=y", "t", "x=y"));
	ck_assert(!query_has("ab=1", "a", "1"));
}
END_TEST

static char *get_methods[] = { "GET", "HEAD" };
static struct match_pair beta_header[] = { { "X-Beta", "on" } };
static struct match_pair v2_query[] = { { "v", "2" } };
static struct route_conf cond_routes[] = {
	{ .path = "/exact", .pool = &pools[0] },
	{ .methods = get_methods,
	  .nmethods = 2,
	  .headers = beta_header,
	  .nheaders = 1,
	  .pool = &pools[1] },
	{ .query = v2_query, .nquery = 1, .pool = &pools[2] },
};
static const struct listener_conf cond_listener = { .name = "c",
						    .routes = cond_routes,
						    .nroutes = 3 };

/* The pool for METHOD TARGET with the fields of RAW_FIELDS ("Name: value"
 * lines), parsed as a client's request would be. */
static const char *cond_route_of(const char *method, const char *target, const char *fields)
{
	static char raw[512];
	static struct request_parser rp;
	struct request_plan plan;

	snprintf(raw, sizeof(raw), "%s %s HTTP/1.1\r\nHost: h\r\n%s\r\n", method, target, fields);
	ck_assert_int_eq(parse(&rp, raw), REQUEST_HEAD);
	int status = http_request_plan(&rp.p, &rp.head, &cond_listener, &plan);
	const char *name = status ? "none" : plan.route->pool->name;
	request_parser_free(&rp);
	return name;
}

START_TEST(routes_match_path_methods_headers_query)
{
	ck_assert_str_eq(cond_route_of("GET", "/exact", ""), "api");
	ck_assert_str_eq(cond_route_of("POST", "/exact?x=1", ""), "api");
	ck_assert_str_eq(cond_route_of("GET", "/exact/", ""), "none");
	ck_assert_str_eq(cond_route_of("GET", "/", "x-beta: on\r\n"), "wild");
	ck_assert_str_eq(cond_route_of("HEAD", "/", "X-Beta: on\r\n"), "wild");
	ck_assert_str_eq(cond_route_of("POST", "/", "X-Beta: on\r\n"), "none");
	ck_assert_str_eq(cond_route_of("GET", "/", "X-Beta: On\r\n"), "none");
	ck_assert_str_eq(cond_route_of("get", "/", "X-Beta: on\r\n"), "none");
	ck_assert_str_eq(cond_route_of("GET", "/", "X-Beta: off\r\nX-Beta: on\r\n"), "wild");
	ck_assert_str_eq(cond_route_of("DELETE", "/p?a=1&v=2", ""), "web");
	ck_assert_str_eq(cond_route_of("GET", "http://h?v=2", ""), "web");
	ck_assert_str_eq(cond_route_of("GET", "/p?v=20", ""), "none");
}
END_TEST

static struct pool_conf split_pools[3] = { { .name = "stable" },
					   { .name = "canary" },
					   { .name = "third" } };

/* Requests out of 10000, by side, for keys "client-0" .. "client-9999"
 * (or random picks without keys). */
static void split_counts(const struct split_conf *s, bool keyed, unsigned counts[3])
{
	uint64_t x = 12345;

	counts[0] = counts[1] = counts[2] = 0;
	for (int i = 0; i < 10000; i++) {
		char key[32];
		int n = snprintf(key, sizeof(key), "client-%d", i);
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		const struct pool_conf *p = route_split_pick(s, keyed ? key : NULL, (size_t)n, x);
		counts[p - split_pools]++;
	}
}

START_TEST(split_shares_follow_the_weights)
{
	struct split_side sides[] = { { &split_pools[0], 95 }, { &split_pools[1], 5 } };
	struct split_conf s = { .sides = sides, .nsides = 2, .total = 100 };
	unsigned c[3];

	split_counts(&s, true, c);
	ck_assert_uint_ge(c[1], 400);
	ck_assert_uint_le(c[1], 600);
	split_counts(&s, false, c);
	ck_assert_uint_ge(c[1], 400);
	ck_assert_uint_le(c[1], 600);
	/* a side of weight 0 gets nothing */
	struct split_side none[] = { { &split_pools[0], 0 }, { &split_pools[1], 3 } };
	struct split_conf z = { .sides = none, .nsides = 2, .total = 3 };
	split_counts(&z, true, c);
	ck_assert_uint_eq(c[0], 0);
}
END_TEST

START_TEST(split_keys_stay_and_move_only_across_a_boundary)
{
	struct split_side a[] = { { &split_pools[0], 95 }, { &split_pools[1], 5 } };
	struct split_side b[] = { { &split_pools[0], 90 }, { &split_pools[1], 10 } };
	struct split_side c3[] = { { &split_pools[0], 190 },
				   { &split_pools[1], 10 },
				   { &split_pools[2], 0 } };
	struct split_conf sa = { .sides = a, .nsides = 2, .total = 100 };
	struct split_conf sb = { .sides = b, .nsides = 2, .total = 100 };
	struct split_conf sc = { .sides = c3, .nsides = 3, .total = 200 };

	for (int i = 0; i < 5000; i++) {
		char key[32];
		size_t n = (size_t)snprintf(key, sizeof(key), "10.0.%d.%d", i / 256, i % 256);
		const struct pool_conf *pa = route_split_pick(&sa, key, n, 0);
		/* the same key, the same side, whatever the random bits */
		ck_assert_ptr_eq(route_split_pick(&sa, key, n, 99), pa);
		/* 95/5 to 90/10: canary keeps its clients, stable only gives */
		if (pa == &split_pools[1])
			ck_assert_ptr_eq(route_split_pick(&sb, key, n, 0), &split_pools[1]);
		/* the same shares written with other numbers: nobody moves */
		ck_assert_ptr_eq(route_split_pick(&sc, key, n, 0), pa);
	}
}
END_TEST

/* The target the server gets under a route stripping PREFIX ("" for a
 * route that strips nothing). */
static const char *stripped(const char *prefix, const char *target)
{
	static char buf[128];
	struct route_conf r = { .path_prefix = prefix[0] ? (char *)prefix : NULL,
				.strip_prefix = prefix[0] != '\0' };
	bool slash = false;
	size_t skip = route_strip(&r, target, strlen(target), &slash);

	snprintf(buf, sizeof(buf), "%s%s", slash ? "/" : "", target + skip);
	return buf;
}

START_TEST(strip_prefix_keeps_a_path_and_the_query)
{
	ck_assert_str_eq(stripped("/api", "/api/users?x=1"), "/users?x=1");
	ck_assert_str_eq(stripped("/api", "/api"), "/");
	ck_assert_str_eq(stripped("/api", "/api?x"), "/?x");
	ck_assert_str_eq(stripped("/api/", "/api/users"), "/users");
	ck_assert_str_eq(stripped("/api", "/apis"), "/s");
	ck_assert_str_eq(stripped("/", "/a?b"), "/a?b");
	ck_assert_str_eq(stripped("", "/api/users"), "/api/users");
}
END_TEST

static const char *location(const char *to, const char *target, bool slash)
{
	static char buf[128];
	struct redirect_conf r = { .to = (char *)to, .status = 301 };
	struct strbuf sb = { 0 };

	ck_assert_int_eq(route_location(&r, target, strlen(target), slash, &sb), 0);
	snprintf(buf, sizeof(buf), "%.*s", (int)sb.len, sb.data);
	strbuf_free(&sb);
	return buf;
}

START_TEST(redirect_keeps_path_and_query)
{
	ck_assert_str_eq(location("https://www.example.com", "/a/b?c=d", false),
			 "https://www.example.com/a/b?c=d");
	ck_assert_str_eq(location("https://www.example.com/", "/a?x", false),
			 "https://www.example.com/a?x");
	ck_assert_str_eq(location("https://www.example.com/", "?x", true),
			 "https://www.example.com/?x");
	ck_assert_str_eq(location("https://n.example.com/v2", "", true),
			 "https://n.example.com/v2/");
	ck_assert_str_eq(location("https://n.example.com/", "", false), "https://n.example.com/");
}
END_TEST

static char *render(struct request_parser *r, struct request_plan *pl);

static const char *filled(const char *value, const struct header_vars *vars)
{
	static char buf[128];
	struct strbuf sb = { 0 };

	header_value_write(&sb, value, vars);
	ck_assert(!strbuf_failed(&sb));
	snprintf(buf, sizeof(buf), "%.*s", (int)sb.len, sb.data ? sb.data : "");
	strbuf_free(&sb);
	return buf;
}

START_TEST(header_values_are_filled_in)
{
	const struct header_vars v = { "192.0.2.7", "0123abcd", "app1" };
	const struct header_vars none = { 0 };

	ck_assert_str_eq(filled("prod", &v), "prod");
	ck_assert_str_eq(filled("", &v), "");
	ck_assert_str_eq(filled("${client_ip}", &v), "192.0.2.7");
	ck_assert_str_eq(filled("for=${client_ip};id=${request_id};by=${server}${server}", &v),
			 "for=192.0.2.7;id=0123abcd;by=app1app1");
	ck_assert_str_eq(filled("${server}", &none), "");
	ck_assert_str_eq(filled("$5 ${x ${client_ip}", &v), "$5 ${x 192.0.2.7");
}
END_TEST

START_TEST(header_rules_name_fields_in_any_case)
{
	struct header_set set[] = { { "X-Env", "prod" }, { "X-Id", "${request_id}" } };
	char *remove[] = { "server" };
	struct header_rules r = { set, 2, remove, 1 };
	const struct header_vars v = { .request_id = "42" };
	struct strbuf sb = { 0 };

	ck_assert(header_rules_names(&r, "x-env", 5));
	ck_assert(header_rules_names(&r, "SERVER", 6));
	ck_assert(!header_rules_names(&r, "X-En", 4));
	ck_assert(!header_rules_names(NULL, "x-env", 5));
	header_rules_write(&sb, &r, &v);
	ck_assert_int_eq((int)sb.len, (int)strlen("X-Env: prod\r\nX-Id: 42\r\n"));
	ck_assert(memcmp(sb.data, "X-Env: prod\r\nX-Id: 42\r\n", sb.len) == 0);
	strbuf_free(&sb);
}
END_TEST

START_TEST(strip_prefix_in_the_forwarded_head)
{
	struct route_conf strip[] = {
		{ .path_prefix = "/api", .strip_prefix = true, .pool = &pools[0] },
	};
	const struct listener_conf l = { .name = "gw", .routes = strip, .nroutes = 1 };
	struct request_parser r;
	struct request_plan pl;

	ck_assert_int_eq(parse(&r, "GET /api?q=1 HTTP/1.1\r\nHost: a\r\n\r\n"), REQUEST_HEAD);
	ck_assert_int_eq(http_request_plan(&r.p, &r.head, &l, &pl), 0);
	char *s = render(&r, &pl);
	const char *line = "GET /?q=1 HTTP/1.1\r\n";
	ck_assert_msg(strncmp(s, line, strlen(line)) == 0, "%s", s);
	free(s);
	request_parser_free(&r);
}
END_TEST

static int plan(const char *raw, struct request_parser *r, struct request_plan *pl)
{
	ck_assert_int_eq(parse(r, raw), REQUEST_HEAD);
	ck_assert_ptr_nonnull(r->method);
	return http_request_plan(&r->p, &r->head, &listener, pl);
}

static char *render(struct request_parser *r, struct request_plan *pl)
{
	char *out;
	size_t len;

	pl->out.client_ip = "192.0.2.7";
	pl->out.proto = "http";
	ck_assert_int_eq(http_request_render(&r->head, &pl->out, &out, &len), 0);
	char *s = malloc(len + 1);
	memcpy(s, out, len);
	s[len] = '\0';
	free(out);
	return s;
}

START_TEST(request_head_is_rewritten)
{
	struct request_parser r;
	struct request_plan pl;

	ck_assert_int_eq(plan("POST /api/x?y=1 HTTP/1.1\r\n"
			      "Host: api.example.com\r\n"
			      "Connection: keep-alive, X-Secret\r\n"
			      "X-Secret: 1\r\n"
			      "Keep-Alive: timeout=5\r\n"
			      "TE: trailers\r\n"
			      "X-Forwarded-For: 10.0.0.1\r\n"
			      "X-Forwarded-Proto: https\r\n"
			      "Forwarded: for=10.0.0.1\r\n"
			      "Content-Length: 5\r\n"
			      "Accept: */*\r\n\r\n",
			      &r, &pl),
			 0);
	ck_assert_str_eq(pl.pool->name, "api");
	ck_assert_int_eq(pl.out.body, BODY_LENGTH);
	ck_assert_uint_eq(pl.out.content_length, 5);
	ck_assert(!pl.replayable);
	char *s = render(&r, &pl);
	ck_assert_str_eq(s, "POST /api/x?y=1 HTTP/1.1\r\n"
			    "Host: api.example.com\r\n"
			    "Accept: */*\r\n"
			    "Content-Length: 5\r\n"
			    "X-Forwarded-For: 10.0.0.1, 192.0.2.7\r\n"
			    "X-Forwarded-Proto: http\r\n"
			    "X-Forwarded-Host: api.example.com\r\n"
			    "Forwarded: for=192.0.2.7;host=api.example.com;proto=http\r\n"
			    "\r\n");
	free(s);
	/* From a trusted proxy, what it says of the hop before it stays. */
	pl.out.trusted = true;
	s = render(&r, &pl);
	ck_assert_str_eq(
		s, "POST /api/x?y=1 HTTP/1.1\r\n"
		   "Host: api.example.com\r\n"
		   "X-Forwarded-Proto: https\r\n"
		   "Accept: */*\r\n"
		   "Content-Length: 5\r\n"
		   "X-Forwarded-For: 10.0.0.1, 192.0.2.7\r\n"
		   "X-Forwarded-Host: api.example.com\r\n"
		   "Forwarded: for=10.0.0.1, for=192.0.2.7;host=api.example.com;proto=http\r\n"
		   "\r\n");
	free(s);
	request_parser_free(&r);
}
END_TEST

/* RFC 7239 §6: a node is an address, "unknown" or an obfuscated name. */
START_TEST(unix_client_is_forwarded_as_unknown)
{
	struct request_parser r;
	struct request_plan pl;

	ck_assert_int_eq(plan("GET /static HTTP/1.1\r\nHost: h\r\n\r\n", &r, &pl), 0);
	char *s = render(&r, &pl);
	free(s);
	pl.out.client_ip = "unix";
	struct strbuf sb = { 0 };
	ck_assert_int_eq(http_request_write(&sb, &r.head, &pl.out), 0);
	strbuf_add(&sb, "", 1);
	ck_assert_ptr_nonnull(strstr(sb.data, "\r\nForwarded: for=unknown;host=h;proto=http\r\n"));
	strbuf_free(&sb);
	request_parser_free(&r);
}
END_TEST

START_TEST(absolute_form_replaces_host)
{
	struct request_parser r;
	struct request_plan pl;

	ck_assert_int_eq(plan("GET http://API.example.com:81/api?q HTTP/1.1\r\n"
			      "Host: other\r\n\r\n",
			      &r, &pl),
			 0);
	ck_assert_str_eq(pl.pool->name, "api");
	ck_assert(pl.replayable);
	char *s = render(&r, &pl);
	ck_assert_str_eq(s, "GET /api?q HTTP/1.1\r\n"
			    "Host: API.example.com:81\r\n"
			    "X-Forwarded-For: 192.0.2.7\r\n"
			    "X-Forwarded-Proto: http\r\n"
			    "X-Forwarded-Host: API.example.com:81\r\n"
			    "Forwarded: for=192.0.2.7;host=\"API.example.com:81\";proto=http\r\n"
			    "\r\n");
	free(s);
	request_parser_free(&r);
}
END_TEST

START_TEST(absolute_form_with_an_empty_path)
{
	struct request_parser r;
	struct request_plan pl;

	ck_assert_int_eq(plan("GET http://x.example.com?a=/b HTTP/1.1\r\nHost: x\r\n\r\n", &r, &pl),
			 0);
	ck_assert_str_eq(pl.pool->name, "wild");
	char *s = render(&r, &pl);
	static const char want[] = "GET /?a=/b HTTP/1.1\r\nHost: x.example.com\r\n";
	ck_assert_msg(strncmp(s, want, strlen(want)) == 0, "%s", s);
	free(s);
	request_parser_free(&r);
}
END_TEST

START_TEST(chunked_and_upgrade_framing)
{
	struct request_parser r;
	struct request_plan pl;

	ck_assert_int_eq(plan("PUT /static/f HTTP/1.1\r\nHost: h\r\n"
			      "Transfer-Encoding: chunked\r\n\r\n",
			      &r, &pl),
			 0);
	ck_assert_int_eq(pl.out.body, BODY_CHUNKED);
	request_parser_free(&r);

	ck_assert_int_eq(plan("GET /static/ws HTTP/1.1\r\nHost: h\r\n"
			      "Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
			      &r, &pl),
			 0);
	ck_assert(pl.out.upgrade);
	char *s = render(&r, &pl);
	ck_assert_ptr_nonnull(strstr(s, "Connection: upgrade\r\nUpgrade: websocket\r\n"));
	free(s);
	request_parser_free(&r);
}
END_TEST

START_TEST(bad_requests_are_refused)
{
	static const struct {
		const char *raw;
		int status;
	} cases[] = {
		{ "GET / HTTP/1.1\r\n\r\n", 400 },                       /* no Host */
		{ "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400 }, /* two Hosts */
		{ "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400 },          /* bad Host */
		{ "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", 400 },
		{ "GET * HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
		{ "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n", 405 },
		{ "GET / HTTP/1.1\r\nHost: a\r\nExpect: foo\r\n\r\n", 417 },
		{ "GET /nowhere HTTP/1.1\r\nHost: example.com\r\n\r\n", 404 },
		{ "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501 },
		{ "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505 },
		{ "GET / HTTP/1.1\r\nHOST: a\r\nhost: a\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nHostx: a\r\n\r\n", 400 }, /* no Host either */
		{ "GET / HTTP/1.1\r\nHost: a\\b\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nHost: a?b\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nHost: a#b\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nHost: a\"b\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nHost: a<b>\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nHost: a\x7f\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nHost: a\xc3\xa9\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nHost: a\r\nEXPECT: foo\r\n\r\n", 417 },
		{ "POST / HTTP/1.1\r\nHost: a\r\ntransfer-ENCODING: gzip, chunked\r\n\r\n", 501 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct request_parser r;
		struct request_plan pl;
		/* llhttp refuses some bytes itself, which is as good */
		enum request_step st = parse(&r, cases[i].raw);
		ck_assert_msg(st == REQUEST_HEAD || (st == REQUEST_ERROR && r.status == 400),
			      "case %zu", i);
		ck_assert_msg((st == REQUEST_ERROR ? r.status :
						     http_request_plan(&r.p, &r.head, &listener,
								       &pl)) == cases[i].status,
			      "case %zu", i);
		request_parser_free(&r);
	}
}
END_TEST

/* Field names are known in any case, and only whole: a name that starts
 * like one lbd acts on is an ordinary field. */
START_TEST(near_names_pass_through)
{
	struct request_parser r;
	struct request_plan pl;

	ck_assert_int_eq(plan("GET /api/x HTTP/1.1\r\n"
			      "HOST: api.example.com\r\n"
			      "Hostx: b\r\n"
			      "Content-Length2: 5\r\n"
			      "X-Forwarded-Forx: 1\r\n"
			      "x-request-idx: 2\r\n"
			      "TEx: 3\r\n"
			      "CONNECTION: X-Secret, content-length2\r\n"
			      "x-secret: 1\r\n"
			      "X-Secretx: 2\r\n"
			      "x-forwarded-FOR: 10.0.0.1\r\n"
			      "UPGRADE: h2c\r\n"
			      "X-Request-ID: abc\r\n"
			      "x-client-cert-VERIFY: SUCCESS\r\n\r\n",
			      &r, &pl),
			 0);
	ck_assert_int_eq(pl.out.body, BODY_NONE);
	ck_assert(!pl.out.upgrade);
	pl.out.request_id = "abc";
	char *s = render(&r, &pl);
	ck_assert_str_eq(s, "GET /api/x HTTP/1.1\r\n"
			    "HOST: api.example.com\r\n"
			    "Hostx: b\r\n"
			    "X-Forwarded-Forx: 1\r\n"
			    "x-request-idx: 2\r\n"
			    "TEx: 3\r\n"
			    "X-Secretx: 2\r\n"
			    "X-Forwarded-For: 10.0.0.1, 192.0.2.7\r\n"
			    "X-Forwarded-Proto: http\r\n"
			    "X-Forwarded-Host: api.example.com\r\n"
			    "Forwarded: for=192.0.2.7;host=api.example.com;proto=http\r\n"
			    "X-Request-Id: abc\r\n"
			    "\r\n");
	free(s);
	request_parser_free(&r);
}
END_TEST

/* llhttp lets a few bytes into values that lbd refuses: at any place of a
 * value, short or long (they are looked for eight bytes at a time). */
START_TEST(line_breaks_anywhere_in_a_value_are_400)
{
	static const llhttp_settings_t none;
	static const struct {
		char byte;
		int status;
	} cases[] = { { '\r', 400 }, { '\n', 400 }, { '\0', 400 }, { '\x0e', 0 },
		      { '\t', 0 },   { '\x0c', 0 }, { '\x8d', 0 }, { '\x8a', 0 } };
	char value[41];

	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		for (size_t len = 1; len <= sizeof(value); len++) {
			for (size_t at = 0; at < len; at++) {
				struct http_head h;
				struct request_plan pl;
				llhttp_t p;
				llhttp_init(&p, HTTP_REQUEST, &none);
				p.http_major = 1;
				p.http_minor = 1;
				p.method = HTTP_GET;
				memset(value, 'v', sizeof(value));
				value[at] = cases[c].byte;
				http_head_init(&h, 16384, 100);
				http_head_add_method(&h, "GET", 3);
				http_head_add_url(&h, "/static/", 8);
				http_head_add_name(&h, "Host", 4);
				http_head_add_value(&h, "a", 1);
				http_head_add_name(&h, "X", 1);
				http_head_add_value(&h, value, len);
				http_head_complete(&h);
				ck_assert_msg(http_request_plan(&p, &h, &listener, &pl) ==
						      cases[c].status,
					      "byte %d at %zu of %zu", cases[c].byte, at, len);
				http_head_free(&h);
			}
		}
	}
}
END_TEST

START_TEST(http10_without_host_is_fine)
{
	struct request_parser r;
	struct request_plan pl;

	ck_assert_int_eq(plan("GET /static/a HTTP/1.0\r\n\r\n", &r, &pl), 0);
	ck_assert_str_eq(pl.pool->name, "web");
	ck_assert_ptr_null(pl.out.host); /* the server's address is added */
	request_parser_free(&r);
}
END_TEST

/* An HTTP/1.0 request becomes HTTP/1.1 without gaining meaning: its
 * Upgrade and 100-continue, which HTTP/1.0 servers ignore, are dropped. */
START_TEST(http10_upgrade_and_expect_are_ignored)
{
	struct request_parser r;
	struct request_plan pl;

	ck_assert_int_eq(plan("POST /static/ws HTTP/1.0\r\nHost: h\r\nConnection: Upgrade\r\n"
			      "Upgrade: websocket\r\nExpect: 100-continue\r\n"
			      "Content-Length: 1\r\n\r\n",
			      &r, &pl),
			 0);
	ck_assert(!pl.out.upgrade && !r.p.upgrade);
	char *s = render(&r, &pl);
	ck_assert_ptr_null(strstr(s, "pgrade"));
	ck_assert_ptr_null(strstr(s, "Expect"));
	free(s);
	request_parser_free(&r);
}
END_TEST

/* RFC 9110 §9.1: any token is a method; llhttp knows a list of them, lbd
 * passes the others on too, split anywhere across reads. */
START_TEST(extension_methods)
{
	static const char *const methods[] = {
		"FOO",      "get",          "BREW",
		"PLAY",     "X-CUSTOM_1.0", "VERSION-CONTROL",
		"PROPFIND", "M-SEARCH",     "A234567890123456789012345678901"
	};
	char raw[512];

	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		for (size_t step = 0; step <= 1; step++) {
			struct request_parser r;
			struct request_plan pl;
			size_t pos = 0;
			snprintf(
				raw, sizeof(raw),
				"\r\n%s /static/x HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nab"
				"GET /static/y HTTP/1.1\r\nHost: h\r\n\r\n"
				"%s /static/z HTTP/1.1\r\nHost: h\r\n\r\n",
				methods[i], methods[i]);
			start(&r, 16384, 100);
			ck_assert_msg(feed(&r, raw, strlen(raw), step, &pos) == REQUEST_HEAD,
				      "%s step %zu: %d", methods[i], step, r.status);
			ck_assert_str_eq(r.method, methods[i]);
			ck_assert_int_eq(http_request_plan(&r.p, &r.head, &listener, &pl), 0);
			ck_assert(!pl.replayable && !pl.is_head);
			ck_assert_int_eq(r.body, BODY_LENGTH);
			char *s = render(&r, &pl);
			ck_assert_int_eq(strncmp(s, methods[i], strlen(methods[i])), 0);
			ck_assert_int_eq(strncmp(s + strlen(methods[i]), " /static/x HTTP/1.1\r\n",
						 21),
					 0);
			free(s);
			struct evbuffer *out = evbuffer_new();
			r.out = out;
			request_parser_resume(&r);
			ck_assert_int_eq(feed(&r, raw, strlen(raw), step, &pos), REQUEST_DONE);
			ck_assert_uint_eq(evbuffer_get_length(out), 2);
			evbuffer_free(out);
			request_parser_next(&r);
			ck_assert_int_eq(feed(&r, raw, strlen(raw), step, &pos), REQUEST_HEAD);
			ck_assert_str_eq(r.method, "GET");
			/* answered at its head: the next one is read after it */
			request_parser_next(&r);
			ck_assert_int_eq(feed(&r, raw, strlen(raw), step, &pos), REQUEST_HEAD);
			ck_assert_str_eq(r.method, methods[i]);
			ck_assert_int_eq(strncmp(r.head.buf + r.head.url_off, "/static/z", 9), 0);
			ck_assert_uint_eq(pos, strlen(raw));
			request_parser_free(&r);
		}
	}
}
END_TEST

START_TEST(bad_methods_are_400)
{
	static const char *const heads[] = {
		"A2345678901234567890123456789012 / HTTP/1.1\r\nHost: a\r\n\r\n", /* too long */
		"G(T / HTTP/1.1\r\nHost: a\r\n\r\n",
		"FOO\t/ HTTP/1.1\r\nHost: a\r\n\r\n",
		"FOO  / HTTP/1.1\r\nHost: a\r\n\r\n",
		" GET / HTTP/1.1\r\nHost: a\r\n\r\n",
		"FOO/ HTTP/1.1\r\nHost: a\r\n\r\n",
	};
	struct request_parser r;
	size_t pos;

	for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
		for (size_t step = 0; step <= 1; step++) {
			start(&r, 16384, 100);
			pos = 0;
			ck_assert_msg(feed(&r, heads[i], strlen(heads[i]), step, &pos) ==
						      REQUEST_ERROR &&
					      r.status == 400,
				      "case %zu step %zu", i, step);
			request_parser_free(&r);
		}
	}
}
END_TEST

/* "OPTIONS *" concerns the server, not a path: routed by host alone. */
START_TEST(asterisk_form_is_routed_by_host)
{
	struct request_parser r;
	struct request_plan pl;

	ck_assert_int_eq(plan("OPTIONS * HTTP/1.1\r\nHost: api.example.com\r\n\r\n", &r, &pl), 0);
	ck_assert_str_eq(pl.pool->name, "api");
	ck_assert(pl.replayable);
	char *s = render(&r, &pl);
	static const char want[] = "OPTIONS * HTTP/1.1\r\nHost: api.example.com\r\n";
	ck_assert_msg(strncmp(s, want, strlen(want)) == 0, "%s", s);
	free(s);
	request_parser_free(&r);
	ck_assert_int_eq(plan("OPTIONS * HTTP/1.1\r\nHost: other.org\r\n\r\n", &r, &pl), 0);
	ck_assert_str_eq(pl.pool->name, "web");
	request_parser_free(&r);
}
END_TEST

/* RFC 9110 §5.5: a field value may be empty. */
START_TEST(empty_values_are_kept)
{
	struct request_parser r;
	struct request_plan pl;

	ck_assert_int_eq(plan("GET /static HTTP/1.1\r\nX-Empty:\r\nHost: h\r\nCookie: \r\n"
			      "Accept-Encoding:\t\r\nExpect:\r\nX-Last:\r\n\r\n",
			      &r, &pl),
			 0);
	char *s = render(&r, &pl);
	static const char want[] = "GET /static HTTP/1.1\r\nX-Empty:\r\nHost: h\r\nCookie:\r\n"
				   "Accept-Encoding:\r\nExpect:\r\nX-Last:\r\nX-Forwarded-For";
	ck_assert_msg(strncmp(s, want, strlen(want)) == 0, "%s", s);
	free(s);
	request_parser_free(&r);
}
END_TEST

START_TEST(smuggling_is_refused_by_the_parser)
{
	static const char *const raw[] = {
		"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n",
		"GET / HTTP/1.1\r\nHost : a\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nX: y\r\n z\r\n\r\n",
		"GET / HTTP/1.1\r\nHo\x01st: a\r\n\r\n",
	};

	for (size_t i = 0; i < sizeof(raw) / sizeof(raw[0]); i++) {
		struct request_parser r;
		enum request_step st = parse(&r, raw[i]);
		if (st == REQUEST_HEAD) {
			struct request_plan pl;
			ck_assert_msg(http_request_plan(&r.p, &r.head, &listener, &pl) == 400,
				      "case %zu accepted", i);
		} else {
			ck_assert_msg(st == REQUEST_ERROR && r.status == 400, "case %zu", i);
		}
		request_parser_free(&r);
	}
}
END_TEST

/* --- the checks on the raw bytes, the limits, pipelining ------------------ */

/* A parser given the head of RAW (fed whole), routed with BODY_SIZE over
 * what IN already holds: request_parser_check_body()'s answer. */
static int check_body(struct request_parser *rp, const char *raw, uint64_t body_size,
		      struct evbuffer *in)
{
	size_t pos = 0;

	start(rp, 16384, 100);
	ck_assert_int_eq(feed(rp, raw, strlen(raw), 0, &pos), REQUEST_HEAD);
	ck_assert_uint_eq(pos, strlen(raw));
	return request_parser_check_body(rp, body_size, in);
}

/* Route and resume RP, then feed BODY STEP bytes a read into OUT. */
static enum request_step feed_body(struct request_parser *rp, const char *body, size_t step,
				   struct evbuffer *out, size_t *pos)
{
	rp->out = out;
	request_parser_resume(rp);
	*pos = 0;
	return feed(rp, body, strlen(body), step, pos);
}

static char *drain(struct evbuffer *b)
{
	size_t len = evbuffer_get_length(b);
	char *s = calloc(1, len + 1);

	evbuffer_remove(b, s, len);
	return s;
}

START_TEST(body_over_the_limit_is_413)
{
	static const char cl[] = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n";
	static const char te[] = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
	struct evbuffer *in = evbuffer_new(), *out = evbuffer_new();
	struct request_parser r;
	size_t pos;

	/* Content-Length over the limit: refused at the head. */
	ck_assert_int_eq(check_body(&r, cl, 9, in), 413);
	request_parser_free(&r);
	ck_assert_int_eq(check_body(&r, cl, 10, in), 0);
	request_parser_free(&r);
	ck_assert_int_eq(check_body(&r, cl, 0, in), 0);
	request_parser_free(&r);
	/* A chunked body over it, already received: refused before the head
	 * leaves lbd. */
	evbuffer_add_printf(in, "4\r\nabcd\r\n4\r\nefgh\r\n0\r\n\r\n");
	ck_assert_int_eq(check_body(&r, te, 5, in), 413);
	request_parser_free(&r);
	ck_assert_int_eq(check_body(&r, te, 8, in), 0);
	request_parser_free(&r);
	/* ... or arriving later, one byte at a time: the first byte over it. */
	evbuffer_drain(in, evbuffer_get_length(in));
	for (size_t step = 0; step <= 1; step++) {
		ck_assert_int_eq(check_body(&r, te, 5, in), 0);
		ck_assert_int_eq(feed_body(&r, "4\r\nabcd\r\n4\r\nefgh\r\n0\r\n\r\n", step, out,
					   &pos),
				 REQUEST_ERROR);
		ck_assert_int_eq(r.status, 413);
		ck_assert_uint_eq(r.body_bytes, step ? 6 : 8);
		request_parser_free(&r);
		evbuffer_drain(out, evbuffer_get_length(out));
	}
	evbuffer_free(in);
	evbuffer_free(out);
}
END_TEST

START_TEST(head_over_the_limits_is_431)
{
	static const char head[] = "GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n\r\n";
	struct request_parser r;
	size_t pos;

	for (size_t step = 0; step <= 1; step++) {
		/* Raw bytes over header_size (38 here), stored bytes within. */
		start(&r, sizeof(head) - 2, 100);
		pos = 0;
		ck_assert_int_eq(feed(&r, head, strlen(head), step, &pos), REQUEST_ERROR);
		ck_assert_int_eq(r.status, 431);
		request_parser_free(&r);
		start(&r, sizeof(head) - 1, 100);
		pos = 0;
		ck_assert_int_eq(feed(&r, head, strlen(head), step, &pos), REQUEST_HEAD);
		request_parser_free(&r);
		/* Empty lines before a request count towards its head. */
		start(&r, sizeof(head) - 1, 100);
		pos = 0;
		ck_assert_int_eq(feed(&r, "\r\n", 2, step, &pos), REQUEST_MORE);
		ck_assert(!r.started);
		pos = 0;
		ck_assert_int_eq(feed(&r, head, strlen(head), step, &pos), REQUEST_ERROR);
		ck_assert_int_eq(r.status, 431);
		request_parser_free(&r);
		/* More fields than allowed. */
		start(&r, 16384, 2);
		pos = 0;
		ck_assert_int_eq(feed(&r, head, strlen(head), step, &pos), REQUEST_ERROR);
		ck_assert_int_eq(r.status, 431);
		request_parser_free(&r);
		start(&r, 16384, 3);
		pos = 0;
		ck_assert_int_eq(feed(&r, head, strlen(head), step, &pos), REQUEST_HEAD);
		request_parser_free(&r);
	}
}
END_TEST

START_TEST(broken_chunks_are_400)
{
	static const char te[] = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
	static const char *const bodies[] = {
		"3\r\nabcXX0\r\n\r\n",                              /* no CRLF after the data */
		"3\r\nabc\rX0\r\n\r\n",   "3\r\nabcd\r\n0\r\n\r\n", /* more data than announced */
		"zz\r\nabc\r\n0\r\n\r\n",                           /* not a chunk size */
		"3 \r\nabc\r\n0\r\n\r\n", "-3\r\nabc\r\n0\r\n\r\n",
		"fffffffffffffffff\r\n", /* over 64 bits */
	};
	struct evbuffer *in = evbuffer_new(), *out = evbuffer_new();
	struct request_parser r;
	size_t pos;

	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		/* Received with the head: the look-ahead refuses it. */
		evbuffer_add(in, bodies[i], strlen(bodies[i]));
		ck_assert_msg(check_body(&r, te, 0, in) == 400, "case %zu ahead", i);
		request_parser_free(&r);
		evbuffer_drain(in, evbuffer_get_length(in));
		/* Received later, whole or a byte at a time. */
		for (size_t step = 0; step <= 1; step++) {
			ck_assert_int_eq(check_body(&r, te, 0, in), 0);
			ck_assert_msg(feed_body(&r, bodies[i], step, out, &pos) == REQUEST_ERROR &&
					      r.status == 400,
				      "case %zu step %zu", i, step);
			request_parser_free(&r);
		}
	}
	/* What passes is framed anew: extensions and odd sizes stay behind. */
	ck_assert_int_eq(check_body(&r, te, 0, in), 0);
	evbuffer_drain(out, evbuffer_get_length(out));
	ck_assert_int_eq(feed_body(&r, "03;x=y\r\nabc\r\n0\r\nT: 1\r\n\r\n", 0, out, &pos),
			 REQUEST_DONE);
	ck_assert(r.complete);
	char *s = drain(out);
	ck_assert_str_eq(s, "3\r\nabc\r\n0\r\n\r\n");
	free(s);
	request_parser_free(&r);
	evbuffer_free(in);
	evbuffer_free(out);
}
END_TEST

START_TEST(raw_byte_checks_are_400)
{
	static const char *const heads[] = {
		"GET / HTTP/1.1\r\nHost: a\r\nX: y\r\n z\r\n\r\n", /* obs-fold */
		"GET / HTTP/1.1\r\nHost: a\r\nX: y\r\n\tz\r\n\r\n",
		"GET  / HTTP/1.1\r\nHost: a\r\n\r\n", /* two spaces */
		"GET \t/ HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nX:\r\n z\r\n\r\n",   /* a fold after nothing */
		"GET / HTTP/1.1\r\nHost: a\r\nX:  \r\n\t\r\n\r\n", /* a fold of spaces */
		"GET / HTTP/1.1\r\nHost: a\r\nX: y\r\n \r\n\r\n",
		"FOO  / HTTP/1.1\r\nHost: a\r\n\r\n",
	};
	struct request_parser r;
	size_t pos;

	for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
		for (size_t step = 0; step <= 1; step++) {
			start(&r, 16384, 100);
			pos = 0;
			ck_assert_msg(feed(&r, heads[i], strlen(heads[i]), step, &pos) ==
						      REQUEST_ERROR &&
					      r.status == 400,
				      "case %zu step %zu", i, step);
			request_parser_free(&r);
		}
	}
}
END_TEST

START_TEST(pipelined_requests_wait_their_turn)
{
	static const char in[] = "POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"
				 "GET /b HTTP/1.1\r\nHost: a\r\n\r\n"
				 "GET /c HTTP/1.1\r\nHost: a\r\n\r\n";
	struct evbuffer *out = evbuffer_new();
	struct request_parser r;
	size_t pos = 0, len = strlen(in);

	for (size_t step = 0; step <= 1; step++) {
		start(&r, 16384, 100);
		pos = 0;
		ck_assert_int_eq(feed(&r, in, len, step, &pos), REQUEST_HEAD);
		ck_assert_int_eq(strncmp(r.head.buf + r.head.url_off, "/a", 2), 0);
		ck_assert_int_eq(r.body, BODY_LENGTH);
		ck_assert(r.paused && request_parser_body_left(&r));
		r.out = out;
		request_parser_resume(&r);
		ck_assert_int_eq(feed(&r, in, len, step, &pos), REQUEST_DONE);
		ck_assert(r.complete && r.paused && !request_parser_body_left(&r));
		char *s = drain(out);
		ck_assert_str_eq(s, "abc");
		free(s);
		/* The second request stays unparsed until the first is done. */
		ck_assert_str_eq(in + pos, "GET /b HTTP/1.1\r\nHost: a\r\n\r\n"
					   "GET /c HTTP/1.1\r\nHost: a\r\n\r\n");
		ck_assert_int_eq(strncmp(r.head.buf + r.head.url_off, "/a", 2), 0);
		request_parser_next(&r);
		ck_assert(!r.discarding && r.method == NULL);
		ck_assert_int_eq(feed(&r, in, len, step, &pos), REQUEST_HEAD);
		ck_assert_int_eq(strncmp(r.head.buf + r.head.url_off, "/b", 2), 0);
		ck_assert_str_eq(r.method, "GET");
		/* Answered at its head (no body left): the next one follows. */
		ck_assert(!request_parser_body_left(&r) && r.paused);
		request_parser_next(&r);
		ck_assert(r.discarding && !request_parser_needs_bytes(&r));
		ck_assert_int_eq(feed(&r, in, len, step, &pos), REQUEST_HEAD);
		ck_assert_int_eq(strncmp(r.head.buf + r.head.url_off, "/c", 2), 0);
		ck_assert(!r.discarding);
		ck_assert_uint_eq(pos, len);
		request_parser_free(&r);
	}
	evbuffer_free(out);
}
END_TEST

START_TEST(http_versions)
{
	struct request_parser r;

	/* Well formed, not spoken: 505; malformed: 400. */
	static const struct {
		const char *version;
		int status;
	} refused[] = { { "1.2", 505 }, { "1.9", 505 },  { "3.0", 505 },  { "0.5", 505 },
			{ "1.A", 400 }, { "11.1", 400 }, { "1.12", 400 }, { "1", 400 } };
	char raw[64];
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		snprintf(raw, sizeof(raw), "GET / HTTP/%s\r\nHost: a\r\n\r\n", refused[i].version);
		ck_assert_int_eq(parse(&r, raw), REQUEST_ERROR);
		ck_assert_msg(r.status == refused[i].status, "HTTP/%s: %d", refused[i].version,
			      r.status);
		request_parser_free(&r);
	}
	ck_assert_int_eq(parse(&r, "GET / HTTP/1.0\r\n\r\n"), REQUEST_HEAD);
	ck_assert_int_eq(r.p.http_minor, 0);
	ck_assert(!request_parser_keep_alive(&r));
	request_parser_free(&r);
	ck_assert_int_eq(parse(&r, "GET / HTTP/1.1\r\nHost: a\r\n\r\n"), REQUEST_HEAD);
	ck_assert_int_eq(r.p.http_minor, 1);
	ck_assert(request_parser_keep_alive(&r));
	request_parser_free(&r);
}
END_TEST

START_TEST(response_head_for_clients)
{
	struct http_head h;
	struct strbuf out = { 0 };

	http_head_init(&h, 4096, 10);
	http_head_add_reason(&h, "OK", 2);
	http_head_add_name(&h, "Content-Type", 12);
	http_head_add_value(&h, "text/plain", 10);
	http_head_add_name(&h, "Connection", 10);
	http_head_add_value(&h, "keep-alive", 10);
	http_head_add_name(&h, "Transfer-Encoding", 17);
	http_head_add_value(&h, "chunked", 7);
	struct response_out r = { .status = 200,
				  .body = BODY_EOF,
				  .declared_length = -1,
				  .keep_alive = false,
				  .client_minor = 0 };
	ck_assert_int_eq(http_response_write(&out, &h, &r), 0);
	strbuf_add(&out, "", 1);
	ck_assert_str_eq(
		out.data,
		"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n");
	strbuf_free(&out);
	http_head_free(&h);
}
END_TEST

START_TEST(chunk_framing)
{
	struct evbuffer *out = evbuffer_new();

	body_write(out, BODY_CHUNKED, "hello", 5);
	body_write(out, BODY_CHUNKED, "", 0);
	body_write(out, BODY_CHUNKED, "0123456789abcdef0", 17);
	body_finish(out, BODY_CHUNKED);
	size_t len = evbuffer_get_length(out);
	char *s = calloc(1, len + 1);
	evbuffer_remove(out, s, len);
	ck_assert_str_eq(s, "5\r\nhello\r\n11\r\n0123456789abcdef0\r\n0\r\n\r\n");
	free(s);
	evbuffer_free(out);
}
END_TEST

START_TEST(chunk_guard_checks_the_crlf_after_data)
{
	struct chunk_guard g = { 0 };
	const char ok[] = "abc\r\n", bad[] = "abcXX";

	chunk_guard_header(&g, 3);
	ck_assert_int_eq(chunk_guard_body(&g, ok, 3, ok + 5), 0);
	chunk_guard_header(&g, 3);
	ck_assert_int_eq(chunk_guard_body(&g, bad, 3, bad + 5), -1);
	/* data split over two reads, the CRLF over the next two */
	chunk_guard_header(&g, 3);
	ck_assert_int_eq(chunk_guard_body(&g, "ab", 2, "ab" + 2), 0);
	ck_assert_int_eq(chunk_guard_body(&g, "c\r", 1, "c\r" + 2), 0);
	ck_assert_int_eq(chunk_guard_feed(&g, "\n0", 2), 0);
	chunk_guard_header(&g, 1);
	ck_assert_int_eq(chunk_guard_body(&g, "x", 1, "x" + 1), 0);
	ck_assert_int_eq(chunk_guard_feed(&g, "\rX", 2), -1);
	/* more data than the chunk announced */
	chunk_guard_header(&g, 1);
	ck_assert_int_eq(chunk_guard_body(&g, "xy", 2, "xy" + 2), -1);
}
END_TEST

START_TEST(head_limits)
{
	struct http_head h;

	http_head_init(&h, 64, 2);
	ck_assert_int_eq(http_head_add_name(&h, "a", 1), 0);
	ck_assert_int_eq(http_head_add_value(&h, "1", 1), 0);
	ck_assert_int_eq(http_head_add_name(&h, "b", 1), 0);
	ck_assert_int_eq(http_head_add_value(&h, "2", 1), 0);
	ck_assert_int_eq(http_head_add_name(&h, "c", 1), -1);
	ck_assert_int_eq(h.overflow, HEAD_TOO_MANY);
	http_head_reset(&h);
	char big[100];
	memset(big, 'x', sizeof(big));
	ck_assert_int_eq(http_head_add_url(&h, big, sizeof(big)), -1);
	ck_assert_int_eq(h.overflow, HEAD_TOO_BIG);
	http_head_free(&h);
}
END_TEST

START_TEST(connection_tokens)
{
	ck_assert(http_list_has_token("keep-alive, Upgrade", 19, "upgrade", 7));
	ck_assert(http_list_has_token(" close ", 7, "close", 5));
	ck_assert(!http_list_has_token("closed", 6, "close", 5));
	ck_assert(!http_list_has_token("", 0, "close", 5));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("http");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, routes_first_match_wins);
	tcase_add_test(tc, query_parameters_match_raw);
	tcase_add_test(tc, routes_match_path_methods_headers_query);
	tcase_add_test(tc, split_shares_follow_the_weights);
	tcase_add_test(tc, split_keys_stay_and_move_only_across_a_boundary);
	tcase_add_test(tc, strip_prefix_keeps_a_path_and_the_query);
	tcase_add_test(tc, redirect_keeps_path_and_query);
	tcase_add_test(tc, strip_prefix_in_the_forwarded_head);
	tcase_add_test(tc, header_values_are_filled_in);
	tcase_add_test(tc, header_rules_name_fields_in_any_case);
	tcase_add_test(tc, request_head_is_rewritten);
	tcase_add_test(tc, absolute_form_replaces_host);
	tcase_add_test(tc, chunked_and_upgrade_framing);
	tcase_add_test(tc, bad_requests_are_refused);
	tcase_add_test(tc, near_names_pass_through);
	tcase_add_test(tc, line_breaks_anywhere_in_a_value_are_400);
	tcase_add_test(tc, http10_without_host_is_fine);
	tcase_add_test(tc, http10_upgrade_and_expect_are_ignored);
	tcase_add_test(tc, unix_client_is_forwarded_as_unknown);
	tcase_add_test(tc, absolute_form_with_an_empty_path);
	tcase_add_test(tc, extension_methods);
	tcase_add_test(tc, bad_methods_are_400);
	tcase_add_test(tc, asterisk_form_is_routed_by_host);
	tcase_add_test(tc, empty_values_are_kept);
	tcase_add_test(tc, smuggling_is_refused_by_the_parser);
	tcase_add_test(tc, response_head_for_clients);
	tcase_add_test(tc, chunk_framing);
	tcase_add_test(tc, head_limits);
	tcase_add_test(tc, chunk_guard_checks_the_crlf_after_data);
	tcase_add_test(tc, connection_tokens);
	tcase_add_test(tc, body_over_the_limit_is_413);
	tcase_add_test(tc, head_over_the_limits_is_431);
	tcase_add_test(tc, broken_chunks_are_400);
	tcase_add_test(tc, raw_byte_checks_are_400);
	tcase_add_test(tc, pipelined_requests_wait_their_turn);
	tcase_add_test(tc, http_versions);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
