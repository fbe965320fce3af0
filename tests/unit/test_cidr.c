/* test_cidr.c — numeric addresses and networks for trusted proxy lists
 * and allow / deny rules. */
#include <check.h>

#include "check_main.h"
#include <string.h>
#include <sys/socket.h>

#include "util/cidr.h"

static struct ip_addr ip(const char *s)
{
	struct ip_addr a;

	ck_assert_msg(ip_parse(s, strlen(s), &a) == 0, "%s", s);
	return a;
}

static bool in(const char *net, const char *addr)
{
	struct cidr c;
	struct ip_addr a = ip(addr);

	ck_assert_msg(cidr_parse(net, &c) == 0, "%s", net);
	return cidr_contains(&c, &a);
}

START_TEST(addresses)
{
	struct ip_addr a;
	static const char *const bad[] = {
		"",         "1.2.3",          "1.2.3.4.5", "256.1.1.1",   "1.2.3.4:80", "[1.2.3.4]",
		"[::1",     "::1]",           "[]",        "example.com", " 1.2.3.4",   "1.2.3.4 ",
		"01.2.3.4", "2001:db8::1/64",
	};

	ck_assert_int_eq(ip("192.0.2.7").family, AF_INET);
	ck_assert_int_eq(ip("2001:db8::1").family, AF_INET6);
	ck_assert_int_eq(ip("[2001:db8::1]").family, AF_INET6);
	ck_assert(memcmp(ip("[::1]").bytes, ip("::1").bytes, 16) == 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(ip_parse(bad[i], strlen(bad[i]), &a) < 0, "%s", bad[i]);
	/* a span, not a C string */
	ck_assert_int_eq(ip_parse("10.0.0.1, 10.0.0.2", 8, &a), 0);
}
END_TEST

START_TEST(networks)
{
	struct cidr c;
	static const char *const bad[] = {
		"",
		"/8",
		"10.0.0.0/",
		"10.0.0.0/33",
		"10.0.0.0/08",
		"10.0.0.1/8",
		"::/129",
		"2001:db8::1/32",
		"[::1]/128",
		"10.0.0.0/8/8",
		"10.0.0.0/-1",
		"10.0.0.0/1000",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(cidr_parse(bad[i], &c) < 0, "%s", bad[i]);
	ck_assert(in("10.0.0.0/8", "10.200.3.4"));
	ck_assert(!in("10.0.0.0/8", "11.0.0.1"));
	ck_assert(in("192.0.2.7", "192.0.2.7"));
	ck_assert(!in("192.0.2.7", "192.0.2.8"));
	ck_assert(in("192.0.2.0/25", "192.0.2.127"));
	ck_assert(!in("192.0.2.0/25", "192.0.2.128"));
	ck_assert(in("0.0.0.0/0", "203.0.113.1"));
	ck_assert(!in("0.0.0.0/0", "::1"));
	ck_assert(in("2001:db8::/32", "2001:db8:ffff::1"));
	ck_assert(!in("2001:db8::/32", "2001:db9::1"));
	ck_assert(in("2001:db8::/33", "2001:db8:7fff::1"));
	ck_assert(!in("2001:db8::/33", "2001:db8:8000::1"));
	ck_assert(in("::1", "[::1]"));
	ck_assert(!in("::/0", "127.0.0.1"));
}
END_TEST

/* Any network of a list; an empty list holds nothing. */
START_TEST(lists)
{
	struct cidr list[2];
	struct ip_addr a;

	ck_assert_int_eq(cidr_parse("10.0.0.0/8", &list[0]), 0);
	ck_assert_int_eq(cidr_parse("2001:db8::/32", &list[1]), 0);
	a = ip("10.9.8.7");
	ck_assert(cidr_list_contains(list, 2, &a));
	ck_assert(!cidr_list_contains(list, 0, &a));
	a = ip("2001:db8::5");
	ck_assert(cidr_list_contains(list, 2, &a));
	ck_assert(!cidr_list_contains(list, 1, &a));
	a = ip("192.0.2.1");
	ck_assert(!cidr_list_contains(list, 2, &a));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("cidr");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, addresses);
	tcase_add_test(tc, networks);
	tcase_add_test(tc, lists);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
