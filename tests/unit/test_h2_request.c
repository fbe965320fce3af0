/* test_h2_request.c — HTTP/2 request fields into the HTTP/1.1 head the
 * request parser reads: pseudo fields, Host, cookie crumbs, framing and
 * the header list's limits. */
#include <check.h>

#include "check_main.h"
#include <stdio.h>
#include <string.h>

#include "http2/h2_request.h"

static void field(struct h2_request *r, const char *name, const char *value)
{
	h2_request_field(r, (const uint8_t *)name, strlen(name), (const uint8_t *)value,
			 strlen(value));
}

/* The head rendered for R, as a C string (the caller frees R). */
static const char *render(struct h2_request *r, bool end_stream)
{
	static char out[4096];
	struct strbuf sb = { 0 };

	ck_assert_int_eq(h2_request_render(r, end_stream, &sb), 0);
	ck_assert_uint_lt(sb.len, sizeof(out));
	memcpy(out, sb.data, sb.len);
	out[sb.len] = '\0';
	strbuf_free(&sb);
	return out;
}

static void request(struct h2_request *r, const char *method, const char *path)
{
	h2_request_init(r, 16384, 100);
	field(r, ":method", method);
	field(r, ":scheme", "https");
	field(r, ":authority", "example.com");
	field(r, ":path", path);
}

START_TEST(pseudo_fields_make_the_request_line_and_host)
{
	struct h2_request r;

	request(&r, "GET", "/a?b=c");
	field(&r, "accept", "*/*");
	ck_assert_str_eq(render(&r, true), "GET /a?b=c HTTP/1.1\r\n"
					   "Host: example.com\r\n"
					   "accept: */*\r\n"
					   "\r\n");
	ck_assert(!h2_request_chunked(&r));
	h2_request_free(&r);
}
END_TEST

START_TEST(authority_wins_over_host)
{
	struct h2_request r;

	request(&r, "GET", "/");
	field(&r, "host", "other.example");
	ck_assert_str_eq(render(&r, true), "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n");
	h2_request_free(&r);

	/* Without :authority, a host field names the host (RFC 9113 §8.3.1). */
	h2_request_init(&r, 16384, 100);
	field(&r, ":method", "GET");
	field(&r, ":path", "/");
	field(&r, "host", "h.example");
	ck_assert_str_eq(render(&r, true), "GET / HTTP/1.1\r\nHost: h.example\r\n\r\n");
	h2_request_free(&r);
}
END_TEST

START_TEST(cookie_crumbs_are_joined)
{
	struct h2_request r;

	request(&r, "GET", "/");
	field(&r, "cookie", "a=1");
	field(&r, "x-other", "y");
	field(&r, "cookie", "b=2");
	ck_assert_str_eq(render(&r, true), "GET / HTTP/1.1\r\nHost: example.com\r\n"
					   "x-other: y\r\n"
					   "Cookie: a=1; b=2\r\n\r\n");
	h2_request_free(&r);
}
END_TEST

START_TEST(te_is_dropped)
{
	struct h2_request r;

	request(&r, "GET", "/");
	field(&r, "te", "trailers");
	ck_assert_str_eq(render(&r, true), "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n");
	h2_request_free(&r);
}
END_TEST

START_TEST(a_body_without_length_is_chunked)
{
	struct h2_request r;

	request(&r, "POST", "/up");
	ck_assert_str_eq(render(&r, false), "POST /up HTTP/1.1\r\nHost: example.com\r\n"
					    "Transfer-Encoding: chunked\r\n\r\n");
	ck_assert(h2_request_chunked(&r));
	h2_request_free(&r);

	request(&r, "POST", "/up");
	field(&r, "content-length", "5");
	ck_assert_str_eq(render(&r, false), "POST /up HTTP/1.1\r\nHost: example.com\r\n"
					    "content-length: 5\r\n\r\n");
	ck_assert(!h2_request_chunked(&r));
	h2_request_free(&r);
}
END_TEST

START_TEST(connect_names_the_authority)
{
	struct h2_request r;

	h2_request_init(&r, 16384, 100);
	field(&r, ":method", "CONNECT");
	field(&r, ":authority", "db.example:5432");
	ck_assert_str_eq(render(&r, true), "CONNECT db.example:5432 HTTP/1.1\r\n"
					   "Host: db.example:5432\r\n\r\n");
	h2_request_free(&r);
}
END_TEST

START_TEST(limits_hold_as_fields_arrive)
{
	struct h2_request r;
	char name[16];

	/* Size: each field costs its name, its value and 32 bytes. */
	h2_request_init(&r, 200, 100);
	field(&r, ":method", "GET");
	field(&r, ":path", "/");
	ck_assert(!r.over_limit);
	ck_assert_int_eq(
		h2_request_field(&r, (const uint8_t *)"x", 1,
				 (const uint8_t *)"0123456789012345678901234567890123456789"
						  "0123456789012345678901234567890123456789"
						  "0123456789",
				 110),
		-1);
	ck_assert(r.over_limit);
	/* Once over, every later field is dropped, never stored. */
	ck_assert_int_eq(h2_request_field(&r, (const uint8_t *)"y", 1, (const uint8_t *)"z", 1),
			 -1);
	ck_assert_uint_eq(r.fields.len, 0);
	h2_request_free(&r);

	/* Count: 100 fields pass, the 101st does not (the pseudo fields are
	 * not counted). */
	request(&r, "GET", "/");
	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "x-%d", i);
		field(&r, name, "v");
	}
	ck_assert(!r.over_limit);
	field(&r, "x-last", "v");
	ck_assert(r.over_limit);
	h2_request_free(&r);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("h2_request");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, pseudo_fields_make_the_request_line_and_host);
	tcase_add_test(tc, authority_wins_over_host);
	tcase_add_test(tc, cookie_crumbs_are_joined);
	tcase_add_test(tc, te_is_dropped);
	tcase_add_test(tc, a_body_without_length_is_chunked);
	tcase_add_test(tc, connect_names_the_authority);
	tcase_add_test(tc, limits_hold_as_fields_arrive);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
