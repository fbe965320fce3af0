/* test_http.c — request checks, routing and the heads lbd forwards. */
#include <check.h>

#include "check_main.h"
#include <event2/buffer.h>
#include <stdlib.h>
#include <string.h>

#include "http/body.h"
#include "http/http_request.h"
#include "http/http_rewrite.h"
#include "http/route.h"
#include "head_parser.h"

/* --- a tiny request parser feeding http_head, as http_client.c does ---- */

/* Parse RAW byte by byte (to exercise split spans). Returns the llhttp
 * error, HPE_PAUSED on a complete head. */
static enum llhttp_errno parse(struct head_parser *r, const char *raw)
{
	head_parser_init(r, 16384, 100);
	for (size_t i = 0; raw[i]; i++) {
		enum llhttp_errno err = head_parser_feed(r, raw + i, 1, i ? raw[i - 1] : 0);
		if (err != HPE_OK)
			return err;
	}
	return HPE_OK;
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
	struct pool_conf *p = route_match(&listener, host, host ? strlen(host) : 0,
					  path, strlen(path));
	return p ? p->name : "none";
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

static int plan(const char *raw, struct head_parser *r, struct request_plan *pl)
{
	ck_assert_int_eq(parse(r, raw), HPE_PAUSED);
	ck_assert(r->done);
	return http_request_plan(&r->p, &r->h, &listener, pl);
}

static char *render(struct head_parser *r, struct request_plan *pl)
{
	char *out;
	size_t len;

	pl->out.client_ip = "192.0.2.7";
	pl->out.proto = "http";
	ck_assert_int_eq(http_request_render(&r->h, &pl->out, &out, &len), 0);
	char *s = malloc(len + 1);
	memcpy(s, out, len);
	s[len] = '\0';
	free(out);
	return s;
}

START_TEST(request_head_is_rewritten)
{
	struct head_parser r;
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
			      "Accept: */*\r\n\r\n", &r, &pl), 0);
	ck_assert_str_eq(pl.pool->name, "api");
	ck_assert_int_eq(pl.out.body, BODY_LENGTH);
	ck_assert_uint_eq(pl.out.content_length, 5);
	ck_assert(!pl.replayable);
	char *s = render(&r, &pl);
	ck_assert_str_eq(s,
		"POST /api/x?y=1 HTTP/1.1\r\n"
		"Host: api.example.com\r\n"
		"Accept: */*\r\n"
		"Content-Length: 5\r\n"
		"X-Forwarded-For: 10.0.0.1, 192.0.2.7\r\n"
		"X-Forwarded-Proto: http\r\n"
		"X-Forwarded-Host: api.example.com\r\n"
		"Forwarded: for=10.0.0.1, for=192.0.2.7;host=api.example.com;proto=http\r\n"
		"\r\n");
	free(s);
	http_head_free(&r.h);
}
END_TEST

START_TEST(absolute_form_replaces_host)
{
	struct head_parser r;
	struct request_plan pl;

	ck_assert_int_eq(plan("GET http://API.example.com:81/api?q HTTP/1.1\r\n"
			      "Host: other\r\n\r\n", &r, &pl), 0);
	ck_assert_str_eq(pl.pool->name, "api");
	ck_assert(pl.replayable);
	char *s = render(&r, &pl);
	ck_assert_str_eq(s,
		"GET /api?q HTTP/1.1\r\n"
		"Host: API.example.com:81\r\n"
		"X-Forwarded-For: 192.0.2.7\r\n"
		"X-Forwarded-Proto: http\r\n"
		"X-Forwarded-Host: API.example.com:81\r\n"
		"Forwarded: for=192.0.2.7;host=\"API.example.com:81\";proto=http\r\n"
		"\r\n");
	free(s);
	http_head_free(&r.h);
}
END_TEST

START_TEST(chunked_and_upgrade_framing)
{
	struct head_parser r;
	struct request_plan pl;

	ck_assert_int_eq(plan("PUT /static/f HTTP/1.1\r\nHost: h\r\n"
			      "Transfer-Encoding: chunked\r\n\r\n", &r, &pl), 0);
	ck_assert_int_eq(pl.out.body, BODY_CHUNKED);
	http_head_free(&r.h);

	ck_assert_int_eq(plan("GET /static/ws HTTP/1.1\r\nHost: h\r\n"
			      "Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n", &r, &pl), 0);
	ck_assert(pl.out.upgrade);
	char *s = render(&r, &pl);
	ck_assert_ptr_nonnull(strstr(s, "Connection: upgrade\r\nUpgrade: websocket\r\n"));
	free(s);
	http_head_free(&r.h);
}
END_TEST

START_TEST(bad_requests_are_refused)
{
	static const struct { const char *raw; int status; } cases[] = {
		{ "GET / HTTP/1.1\r\n\r\n", 400 },                               /* no Host */
		{ "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400 },         /* two Hosts */
		{ "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400 },                  /* bad Host */
		{ "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", 400 },
		{ "GET * HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
		{ "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n", 405 },
		{ "GET / HTTP/1.1\r\nHost: a\r\nExpect: foo\r\n\r\n", 417 },
		{ "GET /nowhere HTTP/1.1\r\nHost: example.com\r\n\r\n", 404 },
		{ "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501 },
		{ "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct head_parser r;
		struct request_plan pl;
		ck_assert_int_eq(parse(&r, cases[i].raw), HPE_PAUSED);
		ck_assert_msg(http_request_plan(&r.p, &r.h, &listener, &pl) == cases[i].status,
			      "case %zu", i);
		http_head_free(&r.h);
	}
}
END_TEST

START_TEST(http10_without_host_is_fine)
{
	struct head_parser r;
	struct request_plan pl;

	ck_assert_int_eq(plan("GET /static/a HTTP/1.0\r\n\r\n", &r, &pl), 0);
	ck_assert_str_eq(pl.pool->name, "web");
	http_head_free(&r.h);
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
		struct head_parser r;
		enum llhttp_errno err = parse(&r, raw[i]);
		if (err == HPE_PAUSED) {
			struct request_plan pl;
			ck_assert_msg(http_request_plan(&r.p, &r.h, &listener, &pl) == 400,
				      "case %zu accepted", i);
		}
		http_head_free(&r.h);
	}
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
	struct response_out r = { .status = 200, .body = BODY_EOF, .declared_length = -1,
				  .keep_alive = false, .client_minor = 0 };
	ck_assert_int_eq(http_response_write(&out, &h, &r), 0);
	strbuf_add(&out, "", 1);
	ck_assert_str_eq(out.data, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n");
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
	tcase_add_test(tc, request_head_is_rewritten);
	tcase_add_test(tc, absolute_form_replaces_host);
	tcase_add_test(tc, chunked_and_upgrade_framing);
	tcase_add_test(tc, bad_requests_are_refused);
	tcase_add_test(tc, http10_without_host_is_fine);
	tcase_add_test(tc, smuggling_is_refused_by_the_parser);
	tcase_add_test(tc, response_head_for_clients);
	tcase_add_test(tc, chunk_framing);
	tcase_add_test(tc, head_limits);
	tcase_add_test(tc, chunk_guard_checks_the_crlf_after_data);
	tcase_add_test(tc, connection_tokens);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
