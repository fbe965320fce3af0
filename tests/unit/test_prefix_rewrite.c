/* test_prefix_rewrite.c — Location and Set-Cookie of a strip_prefix
 * route's responses get the prefix back. */
#include <check.h>

#include "check_main.h"
#include <string.h>

#include "http/prefix_rewrite.h"

static const struct prefix_rewrite api = {
	.prefix = "/api",
	.host = "shop.example.com:8080",
	.host_len = 21,
	.scheme = "https",
	.server = "10.0.0.7:9001",
};

typedef int rewrite_fn(const struct prefix_rewrite *, const char *, size_t, struct strbuf *);

/* What FN makes of V ("" when it stays as it is). */
static const char *rewritten(rewrite_fn *fn, const struct prefix_rewrite *rw, const char *v)
{
	static char buf[512];
	struct strbuf sb = { 0 };
	int rc = fn(rw, v, strlen(v), &sb);

	ck_assert_int_ge(rc, 0);
	ck_assert_int_eq(rc == 0, sb.len == 0);
	memcpy(buf, sb.data ? sb.data : "", sb.len);
	buf[sb.len] = '\0';
	strbuf_free(&sb);
	return buf;
}

static const char *loc(const struct prefix_rewrite *rw, const char *v)
{
	return rewritten(prefix_rewrite_location, rw, v);
}

static const char *cookie(const struct prefix_rewrite *rw, const char *v)
{
	return rewritten(prefix_rewrite_set_cookie, rw, v);
}

START_TEST(location_absolute_path)
{
	struct prefix_rewrite slash = api;

	ck_assert_str_eq(loc(&api, "/users/1"), "/api/users/1");
	ck_assert_str_eq(loc(&api, "/users/1?x=1#f"), "/api/users/1?x=1#f");
	ck_assert_str_eq(loc(&api, "/"), "/api/");
	/* a prefix written with its slash makes no double one */
	slash.prefix = "/api/";
	ck_assert_str_eq(loc(&slash, "/users/1"), "/api/users/1");
}
END_TEST

START_TEST(location_absolute_url)
{
	/* the Host the server saw: scheme and host as they are */
	ck_assert_str_eq(loc(&api, "http://shop.example.com:8080/users/1"),
			 "http://shop.example.com:8080/api/users/1");
	ck_assert_str_eq(loc(&api, "HTTPS://SHOP.example.com:8080/a?b"),
			 "HTTPS://SHOP.example.com:8080/api/a?b");
	ck_assert_str_eq(loc(&api, "http://shop.example.com:8080"),
			 "http://shop.example.com:8080/api/");
	/* the server's own address: the client's scheme and Host instead */
	ck_assert_str_eq(loc(&api, "http://10.0.0.7:9001/users/1"),
			 "https://shop.example.com:8080/api/users/1");
}
END_TEST

START_TEST(location_unchanged)
{
	struct prefix_rewrite off = api, no_host = api;
	static const char *const same[] = {
		"https://elsewhere.example.org/x", /* another host */
		"http://shop.example.com/x",       /* another port: another origin */
		"//shop.example.com:8080/x",       /* a network-path reference */
		"users/1",                         /* relative to the request's path */
		"?page=2",
		"",
		"mailto:a@example.com",
	};

	for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++)
		ck_assert_str_eq(loc(&api, same[i]), "");
	off.prefix = NULL;
	ck_assert_str_eq(loc(&off, "/users/1"), "");
	/* without a Host the server's address cannot be replaced */
	no_host.host = NULL;
	no_host.host_len = 0;
	ck_assert_str_eq(loc(&no_host, "http://10.0.0.7:9001/users/1"), "");
	ck_assert_str_eq(loc(&no_host, "/users/1"), "/api/users/1");
}
END_TEST

START_TEST(cookie_path)
{
	ck_assert_str_eq(cookie(&api, "sid=abc; Path=/x; HttpOnly"),
			 "sid=abc; Path=/api/x; HttpOnly");
	ck_assert_str_eq(cookie(&api, "sid=abc;path=/"), "sid=abc; path=/api");
	ck_assert_str_eq(cookie(&api, "sid=a;b=c ;  PATH = /a/b ; Secure"),
			 "sid=a; b=c; PATH = /api/a/b; Secure");
	/* no Path, or one that is not absolute: as it came */
	ck_assert_str_eq(cookie(&api, "sid=abc; HttpOnly; Max-Age=60"), "");
	ck_assert_str_eq(cookie(&api, "sid=abc"), "");
	ck_assert_str_eq(cookie(&api, "sid=abc; Path=x"), "");
}
END_TEST

START_TEST(cookie_domain)
{
	struct prefix_rewrite v6 = api;

	/* the server's address host: dropped (the cookie is the client's
	 * Host's); any other domain stays */
	ck_assert_str_eq(cookie(&api, "sid=1; Domain=10.0.0.7; Path=/"), "sid=1; Path=/api");
	ck_assert_str_eq(cookie(&api, "sid=1; domain=.10.0.0.7"), "sid=1");
	ck_assert_str_eq(cookie(&api, "sid=1; Domain=example.com"), "");
	v6.server = "[2001:db8::7]:80";
	ck_assert_str_eq(cookie(&v6, "sid=1; Domain=2001:db8::7"), "sid=1");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("prefix_rewrite");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, location_absolute_path);
	tcase_add_test(tc, location_absolute_url);
	tcase_add_test(tc, location_unchanged);
	tcase_add_test(tc, cookie_path);
	tcase_add_test(tc, cookie_domain);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
