/* test_request_key.c — the value a request is keyed by (hash_key,
 * split_key): client_ip, uri, header:NAME, cookie:NAME, query:NAME, and
 * what counts as absent. */
#include <check.h>

#include "check_main.h"
#include <string.h>

#include "http/request_key.h"
#include "http/request_parser.h"

/* KEY's value (KIND, NAME) in the request RAW, as a string; "(none)" when
 * the request has none. */
static const char *value_of(enum request_key_kind kind, const char *name, const char *raw)
{
	static char buf[256];
	struct request_parser rp;
	struct request_key key = { .kind = kind, .name = (char *)name };
	size_t used, len;

	request_parser_init(&rp, NULL);
	rp.header_size = 16384;
	rp.headers = 100;
	ck_assert_int_eq(request_parser_feed(&rp, raw, strlen(raw), &used), REQUEST_HEAD);
	const char *v = request_key_value(&key, &rp.head, "192.0.2.7", &len);
	if (v)
		snprintf(buf, sizeof(buf), "%.*s", (int)len, v);
	else
		snprintf(buf, sizeof(buf), "(none)");
	ck_assert(v ? len > 0 : len == 0);
	request_parser_free(&rp);
	return buf;
}

#define GET(target, fields) "GET " target " HTTP/1.1\r\nHost: x\r\n" fields "\r\n"

START_TEST(client_ip_and_uri)
{
	ck_assert_str_eq(value_of(REQUEST_KEY_CLIENT_IP, NULL, GET("/a", "")), "192.0.2.7");
	ck_assert_str_eq(value_of(REQUEST_KEY_NONE, NULL, GET("/a", "")), "(none)");
	/* path and query as received, nothing decoded or normalised */
	ck_assert_str_eq(value_of(REQUEST_KEY_URI, NULL, GET("/a/../b?x=%41&y", "")),
			 "/a/../b?x=%41&y");
}
END_TEST

START_TEST(headers)
{
	ck_assert_str_eq(value_of(REQUEST_KEY_HEADER, "X-User", GET("/", "x-user: ann\r\n")),
			 "ann");
	ck_assert_str_eq(value_of(REQUEST_KEY_HEADER, "X-User", GET("/", "X-Other: ann\r\n")),
			 "(none)");
	ck_assert_str_eq(value_of(REQUEST_KEY_HEADER, "X-User", GET("/", "X-User:\r\n")), "(none)");
}
END_TEST

START_TEST(cookies)
{
	ck_assert_str_eq(value_of(REQUEST_KEY_COOKIE, "sid", GET("/", "Cookie: a=1; sid=s42\r\n")),
			 "s42");
	/* in a second Cookie field, as HTTP/2 clients send them */
	ck_assert_str_eq(value_of(REQUEST_KEY_COOKIE, "sid",
				  GET("/", "Cookie: a=1\r\nCookie: sid=\"q\"\r\n")),
			 "q");
	/* names are case-sensitive; a prefix is another cookie */
	ck_assert_str_eq(value_of(REQUEST_KEY_COOKIE, "sid", GET("/", "Cookie: SID=1; sidx=2\r\n")),
			 "(none)");
	ck_assert_str_eq(value_of(REQUEST_KEY_COOKIE, "sid", GET("/", "Cookie: sid=\r\n")),
			 "(none)");
	ck_assert_str_eq(value_of(REQUEST_KEY_COOKIE, "sid", GET("/", "")), "(none)");
}
END_TEST

START_TEST(query_parameters)
{
	ck_assert_str_eq(value_of(REQUEST_KEY_QUERY, "user", GET("/p?a=1&user=bo%20b&c", "")),
			 "bo%20b");
	/* the first of a repeated name */
	ck_assert_str_eq(value_of(REQUEST_KEY_QUERY, "user", GET("/p?user=1&user=2", "")), "1");
	ck_assert_str_eq(value_of(REQUEST_KEY_QUERY, "user", GET("/p?username=1", "")), "(none)");
	ck_assert_str_eq(value_of(REQUEST_KEY_QUERY, "user", GET("/p?user=&x=1", "")), "(none)");
	ck_assert_str_eq(value_of(REQUEST_KEY_QUERY, "user", GET("/p?user", "")), "(none)");
	ck_assert_str_eq(value_of(REQUEST_KEY_QUERY, "user", GET("/p/user=1", "")), "(none)");
	/* a proxy's absolute form has its query too */
	ck_assert_str_eq(value_of(REQUEST_KEY_QUERY, "user", GET("http://x/p?user=7", "")), "7");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("request_key");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, client_ip_and_uri);
	tcase_add_test(tc, headers);
	tcase_add_test(tc, cookies);
	tcase_add_test(tc, query_parameters);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
