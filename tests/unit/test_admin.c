/* test_admin.c — the pure parts of the admin API: JSON strings written and
 * read back, request paths, weight bodies, the status document, and the
 * check of a request head before evhttp reads it. */
#include <check.h>

#include "check_main.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "balance/balance.h"
#include "config/config.h"
#include "config/config_runtime.h"
#include "core/runtime.h"
#include "daemon/admin_head.h"
#include "daemon/admin_proto.h"
#include "daemon/status_page.h"
#include "util/json.h"

static char *escaped(const char *s)
{
	struct strbuf sb = { 0 };

	json_add_string(&sb, s);
	strbuf_add(&sb, "", 1);
	ck_assert(!strbuf_failed(&sb));
	return sb.data;
}

START_TEST(json_escaping)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "", "\"\"" },
		{ "plain", "\"plain\"" },
		{ "a\"b\\c", "\"a\\\"b\\\\c\"" },
		{ "line\nnext\ttab\r", "\"line\\nnext\\ttab\\r\"" },
		{ "\x01\x1f\x7f", "\"\\u0001\\u001f\\u007f\"" },
		{ "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
		  "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"" },
		{ "bad\xff", "\"bad\\ufffd\"" },
		{ "\xc0\xaf", "\"\\ufffd\\ufffd\"" },            /* overlong '/' */
		{ "\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"" }, /* a surrogate */
		{ "\xe2\x82", "\"\\ufffd\\ufffd\"" },            /* truncated */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = escaped(cases[i].in);
		ck_assert_str_eq(got, cases[i].out);
		free(got);
	}
}
END_TEST

START_TEST(json_round_trip)
{
	const char *in = "x\"\\/\n\x01 caf\xc3\xa9";
	char *doc = escaped(in), out[64];

	ck_assert_ptr_nonnull(json_string(doc, out, sizeof(out)));
	ck_assert_str_eq(out, in);
	free(doc);
	ck_assert_ptr_nonnull(json_string("\"\\u00e9\\ud83d\\ude00\"", out, sizeof(out)));
	ck_assert_str_eq(out, "\xc3\xa9\xf0\x9f\x98\x80");
	ck_assert_ptr_nonnull(json_string("\"abcdef\"", out, 4));
	ck_assert_str_eq(out, "abc");
	ck_assert_ptr_null(json_string("\"open", out, sizeof(out)));
	ck_assert_ptr_null(json_string("\"\\x\"", out, sizeof(out)));
	ck_assert_ptr_null(json_string("\"\\u12\"", out, sizeof(out)));
	ck_assert_ptr_null(json_string("\"a\nb\"", out, sizeof(out)));
}
END_TEST

START_TEST(json_members)
{
	const char *doc = " {\"ok\": false, \"nested\": {\"errors\": [1]}, \"n\": 42,"
			  " \"errors\": [\"a:1:2: x\", \"b\\\"\" ], \"z\": null}";
	const char *v, *it = NULL;
	char s[64];
	uint64_t n;

	ck_assert_ptr_nonnull(v = json_member(doc, "n"));
	ck_assert_ptr_nonnull(json_u64(v, &n));
	ck_assert_uint_eq(n, 42);
	ck_assert_ptr_nonnull(v = json_member(doc, "errors"));
	ck_assert(json_array_next(v, &it));
	ck_assert_ptr_nonnull(json_string(it, s, sizeof(s)));
	ck_assert_str_eq(s, "a:1:2: x");
	ck_assert(json_array_next(v, &it));
	ck_assert_ptr_nonnull(json_string(it, s, sizeof(s)));
	ck_assert_str_eq(s, "b\"");
	ck_assert(!json_array_next(v, &it));
	ck_assert_ptr_null(json_member(doc, "missing"));
	ck_assert_ptr_null(json_member("[1]", "n"));
	ck_assert_ptr_null(json_member("{\"a\": tru, \"n\": 1}", "n"));
	ck_assert_ptr_null(json_member("{\"a\" 1}", "a"));
	ck_assert_ptr_null(json_skip(
		"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"));
	ck_assert_ptr_null(json_u64("18446744073709551616", &n));
	ck_assert_ptr_null(json_u64("01", &n));
	ck_assert_ptr_null(json_u64("-1", &n));
}
END_TEST

START_TEST(paths)
{
	char seg[ADMIN_SEGMENTS_MAX][ADMIN_SEGMENT_MAX];
	char longp[ADMIN_SEGMENT_MAX + 8];

	ck_assert_int_eq(admin_path_split("/status", seg, ADMIN_SEGMENTS_MAX), 1);
	ck_assert_str_eq(seg[0], "status");
	ck_assert_int_eq(admin_path_split("/status/", seg, ADMIN_SEGMENTS_MAX), 1);
	ck_assert_int_eq(admin_path_split("/", seg, ADMIN_SEGMENTS_MAX), 0);
	ck_assert_int_eq(admin_path_split("/servers/api/10.0.0.1%3a80/drain", seg,
					  ADMIN_SEGMENTS_MAX),
			 4);
	ck_assert_str_eq(seg[2], "10.0.0.1:80");
	ck_assert_int_eq(admin_path_split("/servers/p/%5B%3A%3A1%5D%3A80%2Fx/weight", seg,
					  ADMIN_SEGMENTS_MAX),
			 4);
	ck_assert_str_eq(seg[2], "[::1]:80/x");
	ck_assert_int_eq(admin_path_split("status", seg, ADMIN_SEGMENTS_MAX), -1);
	ck_assert_int_eq(admin_path_split("//status", seg, ADMIN_SEGMENTS_MAX), -1);
	ck_assert_int_eq(admin_path_split("/a//b", seg, ADMIN_SEGMENTS_MAX), -1);
	ck_assert_int_eq(admin_path_split("/a%2", seg, ADMIN_SEGMENTS_MAX), -1);
	ck_assert_int_eq(admin_path_split("/a%zz", seg, ADMIN_SEGMENTS_MAX), -1);
	ck_assert_int_eq(admin_path_split("/a%00b", seg, ADMIN_SEGMENTS_MAX), -1);
	ck_assert_int_eq(admin_path_split("/1/2/3/4/5/6/7/8/9", seg, ADMIN_SEGMENTS_MAX), -1);
	memset(longp, 'x', sizeof(longp));
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	ck_assert_int_eq(admin_path_split(longp, seg, ADMIN_SEGMENTS_MAX), -1);
}
END_TEST

static int weight(const char *body, unsigned *w)
{
	return admin_parse_weight(body, strlen(body), w);
}

START_TEST(weights)
{
	static const char *const bad[] = {
		"",
		" ",
		"x",
		"-1",
		"257",
		"1.5",
		"1e2",
		"01",
		"{",
		"{}",
		"{\"weight\": -1}",
		"{\"weight\": \"2\"}",
		"{\"weight\": 2, \"x\": 1}",
		"{\"wait\": 2}",
		"[2]",
		"2 3",
		"{\"weight\": 2} x",
		"99999999999999999999999",
	};
	unsigned w = 7;

	ck_assert_int_eq(weight("3", &w), 0);
	ck_assert_uint_eq(w, 3);
	ck_assert_int_eq(weight(" 0\n", &w), 0);
	ck_assert_uint_eq(w, 0);
	ck_assert_int_eq(weight("{\"weight\":256}", &w), 0);
	ck_assert_uint_eq(w, 256);
	ck_assert_int_eq(weight(" { \"weight\" : 12 }\r\n", &w), 0);
	ck_assert_uint_eq(w, 12);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(weight(bad[i], &w) == -1, "accepted %s", bad[i]);
	ck_assert_int_eq(admin_parse_weight("1\0", 2, &w), -1);
}
END_TEST

static unsigned conns(const struct listener_conf *lc, void *arg)
{
	return strcmp(lc->name, "web") == 0 ? 3 : 0;
}

START_TEST(status_document)
{
	static const char yaml[] =
		"listeners:\n"
		"  - { name: web, bind: [127.0.0.1:8080, \"[::1]:8080\"], routes: [{ pool: p }] }\n"
		"pools:\n"
		"  - name: p\n"
		"    servers:\n"
		"      - { name: \"a\", address: 127.0.0.1:9001, weight: 2 }\n"
		"      - { address: 127.0.0.1:9002, backup: true }\n";
	struct config_errors errs;
	struct config *cfg;
	struct strbuf sb = { 0 };
	struct admin_status_info info = { .generation = 7,
					  .live_generations = 2,
					  .uptime_s = 3600,
					  .listener_connections = conns };

	config_errors_init(&errs);
	cfg = config_load_buffer("t.yaml", yaml, sizeof(yaml) - 1, &errs);
	ck_assert_ptr_nonnull(cfg);
	ck_assert_int_eq(config_attach_runtime(cfg), 0);
	ck_assert_int_eq(balance_build(cfg), 0);
	atomic_store(&cfg->pools[0].servers[1].rt->state, SERVER_DRAINING);
	atomic_store(&cfg->pools[0].servers[0].rt->shard[0].requests, 12);
	atomic_store(&cfg->pools[0].servers[0].rt->active, 1);
	atomic_store(&cfg->pools[0].servers[0].rt->failures, 4);
	/* Two workers' shards: "responses" shows their sum. */
	atomic_store(&cfg->pools[0].servers[0].rt->shard[0].answered[STATUS_2XX], 6);
	atomic_store(&cfg->pools[0].servers[0].rt->shard[1].answered[STATUS_2XX], 4);
	atomic_store(&cfg->pools[0].servers[0].rt->shard[1].answered[STATUS_5XX], 2);
	admin_status_json(&sb, cfg, &info);
	strbuf_add(&sb, "", 1);
	ck_assert_str_eq(
		sb.data,
		"{\"generation\":7,\"live_generations\":2,\"uptime_s\":3600,"
		"\"listeners\":[{\"name\":\"web\",\"bind\":[\"127.0.0.1:8080\",\"[::1]:8080\"],"
		"\"protocol\":\"http\",\"active_connections\":3}],"
		"\"pools\":[{\"name\":\"p\",\"balance\":\"round_robin\","
		"\"servers\":["
		"{\"name\":\"a\",\"address\":\"127.0.0.1:9001\",\"state\":\"up\",\"origin\":\"config\",\"weight\":2,\"weight_source\":\"config\","
		"\"backup\":false,\"active\":1,\"queued\":0,\"requests\":12,\"failures\":4,"
		"\"responses\":{\"1xx\":0,\"2xx\":10,\"3xx\":0,\"4xx\":0,\"5xx\":2,\"other\":0},"
		"\"check\":{\"status\":\"none\"},"
		"\"passive\":{\"out\":false,\"out_for_ms\":0,\"trips\":0}},"
		"{\"name\":\"127.0.0.1:9002\",\"address\":\"127.0.0.1:9002\",\"state\":\"draining\",\"origin\":\"config\","
		"\"weight\":1,\"weight_source\":\"config\",\"backup\":true,\"active\":0,\"queued\":0,\"requests\":0,\"failures\":0,"
		"\"responses\":{\"1xx\":0,\"2xx\":0,\"3xx\":0,\"4xx\":0,\"5xx\":0,\"other\":0},"
		"\"check\":{\"status\":\"none\"},"
		"\"passive\":{\"out\":false,\"out_for_ms\":0,\"trips\":0}}],"
		"\"max_requests_per_server\":0,\"queue\":{\"length\":0,\"size\":1000,"
		"\"timeout_ms\":5000,\"max_wait_ms\":0,\"queue_full\":0,\"queue_timeout\":0}}]}\n");
	strbuf_free(&sb);
	memset(&sb, 0, sizeof(sb));
	admin_status_table(&sb, cfg, &info);
	strbuf_add(&sb, "", 1);
	ck_assert_ptr_nonnull(strstr(sb.data, "generation 7 (2 live), up 3600s\n"));
	ck_assert_ptr_nonnull(strstr(sb.data, "draining"));
	strbuf_free(&sb);
	config_unref(cfg);
	config_errors_free(&errs);
	runtime_shutdown();
}
END_TEST

/* A pool that follows DNS shows what it asks and how stale its answer is. */
static uint64_t stale_ms(const void *arg, const char *pool)
{
	(void)arg;
	return strcmp(pool, "d") == 0 ? 4500 : 0;
}

START_TEST(status_discovery)
{
	static const char yaml[] =
		"listeners:\n"
		"  - { name: web, bind: 127.0.0.1:8080, routes: [{ pool: d }] }\n"
		"pools:\n"
		"  - name: d\n"
		"    discovery: { dns: api.example.com, port: 80, refresh: 5s }\n";
	struct config_errors errs;
	struct config *cfg;
	struct strbuf sb = { 0 };
	struct admin_status_info info = { .generation = 1,
					  .listener_connections = conns,
					  .discovery_stale_ms = stale_ms };

	config_errors_init(&errs);
	cfg = config_load_buffer("t.yaml", yaml, sizeof(yaml) - 1, &errs);
	ck_assert_ptr_nonnull(cfg);
	ck_assert_int_eq(config_attach_runtime(cfg), 0);
	ck_assert_int_eq(balance_build(cfg), 0);
	admin_status_json(&sb, cfg, &info);
	strbuf_add(&sb, "", 1);
	ck_assert_ptr_nonnull(strstr(sb.data,
				     "\"name\":\"d\",\"balance\":\"round_robin\","
				     "\"discovery\":{\"dns\":\"api.example.com\","
				     "\"refresh_ms\":5000,\"stale_ms\":4500},\"servers\":["));
	strbuf_free(&sb);
	config_unref(cfg);
	config_errors_free(&errs);
	runtime_shutdown();
}
END_TEST

/* The policy names the page's style and script by their SHA-256, and
 * refuses a page where either is missing or comes twice. */
START_TEST(status_page_policy)
{
	static const char page[] = "<html><style>body{}</style><script>go()</script></html>";
	static const char *const bad[] = {
		"<style>body{}</style>",
		"<script>go()</script>",
		"<!-- <script> --><style>body{}</style><script>go()</script>",
		"<style>body{}</style><script>go()</script><script>more()</script>",
		"<style>body{}</style><script>go()",
	};
	char csp[STATUS_PAGE_CSP_MAX];

	ck_assert_int_eq(status_page_csp(page, sizeof(page) - 1, csp, sizeof(csp)), 0);
	ck_assert_str_eq(csp, "default-src 'none'; "
			      "script-src 'sha256-5KYv+PUboo5h+0+YAtGRPbwv5d/QxzHslP4YGnUaxRw='; "
			      "style-src 'sha256-fJgEClQWV1hGkK4qHMO0KotTsVnMYMXTq7/suurGyUo='; "
			      "connect-src 'self'; base-uri 'none'; form-action 'none'; "
			      "frame-ancestors 'none'");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_int_eq(status_page_csp(bad[i], strlen(bad[i]), csp, sizeof(csp)), -1);
	ck_assert_int_eq(status_page_csp(page, sizeof(page) - 1, csp, 40), -1);
	/* lbd's own page has its one style and one script. */
	ck_assert_int_eq(status_page_csp(status_page_html, status_page_html_len, csp, sizeof(csp)),
			 0);
	ck_assert_uint_eq(strlen(status_page_html), status_page_html_len);
}
END_TEST

START_TEST(bearer_tokens)
{
	static const char tok[] = "s3cr3t";

	ck_assert(admin_bearer_ok("Bearer s3cr3t", tok, 6));
	ck_assert(admin_bearer_ok("bearer   s3cr3t ", tok, 6));
	ck_assert(!admin_bearer_ok(NULL, tok, 6));
	ck_assert(!admin_bearer_ok("", tok, 6));
	ck_assert(!admin_bearer_ok("Bearer", tok, 6));
	ck_assert(!admin_bearer_ok("Bearer ", tok, 6));
	ck_assert(!admin_bearer_ok("Bearer s3cr3", tok, 6));
	ck_assert(!admin_bearer_ok("Bearer s3cr3tt", tok, 6));
	ck_assert(!admin_bearer_ok("Bearer S3CR3T", tok, 6));
	ck_assert(!admin_bearer_ok("Basic s3cr3t", tok, 6));
	ck_assert(!admin_bearer_ok("s3cr3t", tok, 6));
	/* no token configured: nothing passes */
	ck_assert(!admin_bearer_ok("Bearer ", NULL, 0));
	ck_assert(!admin_bearer_ok("Bearer x", "", 0));
}
END_TEST

static enum admin_head_result check(const char *head, struct admin_head *h)
{
	return admin_head_check(head, strlen(head), 64, 10, h);
}

START_TEST(heads_taken)
{
	static const struct {
		const char *in;
		size_t head_len, body_len;
		bool is_head;
	} cases[] = {
		{ "GET / HTTP/1.1\r\n\r\n", 18, 0, false },
		{ "GET /status?x=1 HTTP/1.0\n\nGET", 26, 0, false },
		{ "HEAD /livez HTTP/1.1\r\nHost: x\r\n\r\n", 33, 0, true },
		{ "PUT /w HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123456789", 39, 10, false },
		{ "PUT /w HTTP/1.1\r\ncontent-length:\t3 \r\nContent-Length: 3\r\n\r\n", 58, 3,
		  false },
		{ "PUT /w HTTP/1.1\r\nContent-Length: 1\r\nExpect: 100-Continue\r\n\r\n", 60, 1,
		  false },
		/* no body after HEAD or TRACE, as evhttp reads none */
		{ "HEAD / HTTP/1.1\r\nContent-Length: 99\r\n\r\n", 39, 0, true },
		{ "CONNECT h:1 HTTP/1.1\r\n\r\n", 24, 0, false },
		{ "GET http://h/status HTTP/1.1\r\n\r\n", 32, 0, false },
	};
	struct admin_head h;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_msg(check(cases[i].in, &h) == ADMIN_HEAD_OK, "%s: %d %s", cases[i].in,
			      h.code, h.error);
		ck_assert_uint_eq(h.head_len, cases[i].head_len);
		ck_assert_uint_eq(h.body_len, cases[i].body_len);
		ck_assert_int_eq(h.is_head, cases[i].is_head);
	}
}
END_TEST

START_TEST(heads_waited_for)
{
	static const char *const cases[] = {
		"",
		"G",
		"GET / HTTP/1.1",
		"GET / HTTP/1.1\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\n\r",
	};
	struct admin_head h;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_assert_msg(check(cases[i], &h) == ADMIN_HEAD_MORE, "%s", cases[i]);
}
END_TEST

START_TEST(heads_refused)
{
	static const struct {
		const char *in;
		int code;
		const char *error;
	} cases[] = {
		{ "\r\n\r\n", 400, "malformed request line" },
		{ "GET\r\n\r\n", 400, "malformed request line" },
		{ "GET /\r\n", 400, "malformed request line" },
		{ "GET  / HTTP/1.1\r\n", 400, "malformed request line" },
		{ "GET /a b HTTP/1.1\r\n", 400, "malformed request line" },
		{ "GET / HTTP/1.1 \r\n", 400, "unsupported HTTP version" },
		{ "GET / HTTP/2.0\r\n", 400, "unsupported HTTP version" },
		{ "GET / HTTP/1.10\r\n", 400, "unsupported HTTP version" },
		{ "GET / HTTX/1.1\r\n", 400, "malformed request line" },
		{ "GET /\x01 HTTP/1.1\r\n", 400, "malformed request line" },
		{ "G\x80T / HTTP/1.1\r\n", 400, "malformed request line" },
		{ "GET http://[::1/ HTTP/1.1\r\n", 400, "malformed request target" },
		{ "FOO / HTTP/1.1\r\n", 501, "method FOO is not implemented" },
		{ "get / HTTP/1.1\r\n", 501, "method get is not implemented" },
		{ "GET / HTTP/1.1\r\nHost x\r\n", 400, "malformed header line" },
		{ "GET / HTTP/1.1\r\n: x\r\n", 400, "malformed header line" },
		{ "GET / HTTP/1.1\r\nA: b\r\n c\r\n", 400, "malformed header line" },
		{ "GET / HTTP/1.1\r\nA: b\rc\r\n", 400, "malformed header line" },
		{ "GET / HTTP/1.1\r\nA b: c\r\n", 400, "malformed header line" },
		{ "PUT / HTTP/1.1\r\nContent-Length: -5\r\n\r\n", 400, "malformed Content-Length" },
		{ "PUT / HTTP/1.1\r\nContent-Length: +5\r\n\r\n", 400, "malformed Content-Length" },
		{ "PUT / HTTP/1.1\r\nContent-Length:\r\n\r\n", 400, "malformed Content-Length" },
		{ "PUT / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400,
		  "conflicting Content-Length headers" },
		{ "PUT / HTTP/1.1\r\nContent-Length: 11\r\n\r\n", 413,
		  "request body over 10 bytes" },
		{ "PUT / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n", 413,
		  "request body over 10 bytes" },
		{ "PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 411,
		  "a request body needs Content-Length" },
		{ "PUT / HTTP/1.1\r\nContent-Length: 1\r\nExpect: x\r\n\r\n", 417,
		  "only Expect: 100-continue is understood" },
		{ "GET / HTTP/1.1\r\nX: 01234567890123456789012345678901234567890123\r\n", 431,
		  "request head over 64 bytes" },
		{ "GET / HTTP/1.1\r\nX: 01234567890123456789012345678901234567890123456789", 431,
		  "request head over 64 bytes" },
	};
	struct admin_head h;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_msg(check(cases[i].in, &h) == ADMIN_HEAD_REFUSED, "%s", cases[i].in);
		ck_assert_int_eq(h.code, cases[i].code);
		ck_assert_str_eq(h.error, cases[i].error);
		ck_assert_ptr_nonnull(h.reason);
	}
	/* an Expect without a body is not looked at, as evhttp does not */
	ck_assert(check("GET / HTTP/1.1\r\nExpect: x\r\n\r\n", &h) == ADMIN_HEAD_OK);
	/* HTTP/1.0 has no Expect */
	ck_assert(check("PUT / HTTP/1.0\r\nContent-Length: 1\r\nExpect: x\r\n\r\n", &h) ==
		  ADMIN_HEAD_OK);
	/* a body too large is announced, to be read and dropped first */
	ck_assert(check("PUT / HTTP/1.1\r\nContent-Length: 12\r\n\r\n", &h) == ADMIN_HEAD_REFUSED);
	ck_assert_uint_eq(h.head_len, 38);
	ck_assert_uint_eq(h.body_len, 12);
	ck_assert(check("PUT / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n", &h) ==
		  ADMIN_HEAD_REFUSED);
	ck_assert_uint_eq(h.body_len, SIZE_MAX);
	/* unless the client waits for 100-continue: it sends none */
	ck_assert(check("PUT / HTTP/1.1\r\nContent-Length: 12\r\nExpect: 100-continue\r\n\r\n",
			&h) == ADMIN_HEAD_REFUSED);
	ck_assert_int_eq(h.code, 413);
	ck_assert_uint_eq(h.body_len, 0);
	/* a refused HEAD is answered without a body */
	ck_assert(check("HEAD / HTTP/1.1\r\nX: 01234567890123456789012345678901234567890123456789",
			&h) == ADMIN_HEAD_REFUSED);
	ck_assert(h.is_head);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("admin");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, json_escaping);
	tcase_add_test(tc, json_round_trip);
	tcase_add_test(tc, json_members);
	tcase_add_test(tc, paths);
	tcase_add_test(tc, weights);
	tcase_add_test(tc, status_document);
	tcase_add_test(tc, status_discovery);
	tcase_add_test(tc, status_page_policy);
	tcase_add_test(tc, bearer_tokens);
	tcase_add_test(tc, heads_taken);
	tcase_add_test(tc, heads_waited_for);
	tcase_add_test(tc, heads_refused);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
