/* test_cookie.c — finding a cookie in a Cookie field, writing Set-Cookie. */
#include <check.h>

#include "check_main.h"
#include <string.h>

#include "http/cookie.h"

static const char *find(const char *list, const char *name)
{
	static char buf[COOKIE_VALUE_MAX + 1];
	const char *v;
	size_t len;

	if (!cookie_find(list, strlen(list), name, &v, &len))
		return NULL;
	memcpy(buf, v, len);
	buf[len] = '\0';
	return buf;
}

START_TEST(finds_a_cookie)
{
	ck_assert_str_eq(find("LBSRV=abc", "LBSRV"), "abc");
	ck_assert_str_eq(find("a=1; LBSRV=abc; b=2", "LBSRV"), "abc");
	ck_assert_str_eq(find("a=1;LBSRV=abc;b=2", "LBSRV"), "abc");
	ck_assert_str_eq(find("  LBSRV = abc  ;b=2", "LBSRV"), "abc");
	ck_assert_str_eq(find("LBSRV=\"abc\"", "LBSRV"), "abc");
	ck_assert_str_eq(find("LBSRV=first; LBSRV=second", "LBSRV"), "first");
	ck_assert_str_eq(find("LBSRV=", "LBSRV"), "");
	ck_assert_str_eq(find("flag; LBSRV=x", "LBSRV"), "x");
	ck_assert_str_eq(find("v=a=b", "v"), "a=b");
}
END_TEST

START_TEST(absent_cookies)
{
	ck_assert_ptr_null(find("", "LBSRV"));
	ck_assert_ptr_null(find(";;;", "LBSRV"));
	ck_assert_ptr_null(find("lbsrv=abc", "LBSRV")); /* names are case-sensitive */
	ck_assert_ptr_null(find("XLBSRV=abc; LBSRVX=abc", "LBSRV"));
	ck_assert_ptr_null(find("LBSRV", "LBSRV")); /* no value at all */
	ck_assert_ptr_null(find("a=LBSRV=1", "LBSRV"));
}
END_TEST

START_TEST(oversized_value_is_absent)
{
	char list[COOKIE_VALUE_MAX + 32] = "LBSRV=";
	size_t n = strlen(list);

	memset(list + n, 'a', COOKIE_VALUE_MAX);
	list[n + COOKIE_VALUE_MAX] = '\0';
	ck_assert_ptr_nonnull(find(list, "LBSRV"));
	strcat(list, "a");
	ck_assert_ptr_null(find(list, "LBSRV"));
}
END_TEST

START_TEST(value_is_bounded_by_the_length)
{
	static const char list[] = "LBSRV=abcdef";
	const char *v;
	size_t len;

	/* not NUL-terminated where it ends: the field value is a span */
	ck_assert(cookie_find(list, 9, "LBSRV", &v, &len));
	ck_assert_uint_eq(len, 3);
	ck_assert(memcmp(v, "abc", 3) == 0);
}
END_TEST

START_TEST(writes_set_cookie)
{
	struct strbuf sb = { 0 };
	struct set_cookie sc = { .name = "LBSRV", .value = "0123456789abcdef" };

	cookie_write_set(&sb, &sc);
	strbuf_add(&sb, "", 1);
	ck_assert_str_eq(sb.data,
			 "Set-Cookie: LBSRV=0123456789abcdef; Path=/; HttpOnly; SameSite=Lax\r\n");
	sb.len = 0;
	sc.max_age_s = 3600;
	sc.secure = true;
	cookie_write_set(&sb, &sc);
	strbuf_add(&sb, "", 1);
	ck_assert_str_eq(sb.data, "Set-Cookie: LBSRV=0123456789abcdef; Path=/; Max-Age=3600; "
				  "HttpOnly; SameSite=Lax; Secure\r\n");
	strbuf_free(&sb);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("cookie");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, finds_a_cookie);
	tcase_add_test(tc, absent_cookies);
	tcase_add_test(tc, oversized_value_is_absent);
	tcase_add_test(tc, value_is_bounded_by_the_length);
	tcase_add_test(tc, writes_set_cookie);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
