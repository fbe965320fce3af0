/* test_addr.c — every address form lbd.yaml accepts, and the sentences
 * that explain a rejection. */
#include <arpa/inet.h>
#include <check.h>

#include "check_main.h"
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "util/addr.h"

static const char *parse_ok(const char *s, struct lbd_addr *a)
{
	const char *why = NULL;

	ck_assert_msg(addr_parse(s, a, &why) == 0, "\"%s\" rejected: %s", s, why ? why : "?");
	ck_assert_str_eq(a->text, s);
	return s;
}

static const char *parse_bad(const char *s)
{
	struct lbd_addr a;
	const char *why = NULL;

	ck_assert_msg(addr_parse(s, &a, &why) == -1, "\"%s\" accepted", s ? s : "(null)");
	ck_assert_ptr_nonnull(why);
	return why;
}

static unsigned port_of(const struct lbd_addr *a)
{
	if (a->sa.ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)&a->sa)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)&a->sa)->sin6_port);
}

static const char *host_of(const struct lbd_addr *a)
{
	static char buf[64];
	addr_host_text((const struct sockaddr *)&a->sa, buf, sizeof(buf));
	return buf;
}

START_TEST(test_ipv4)
{
	struct lbd_addr a;

	parse_ok("1.2.3.4:80", &a);
	ck_assert_int_eq(a.sa.ss_family, AF_INET);
	ck_assert_uint_eq(a.salen, sizeof(struct sockaddr_in));
	ck_assert_uint_eq(port_of(&a), 80);
	ck_assert_str_eq(host_of(&a), "1.2.3.4");
	parse_ok("255.255.255.255:65535", &a);
	ck_assert_uint_eq(port_of(&a), 65535);
	parse_ok("0.0.0.0:1", &a);
	ck_assert_uint_eq(port_of(&a), 1);
}
END_TEST

START_TEST(test_wildcard)
{
	struct lbd_addr a, b;

	parse_ok("*:8080", &a);
	ck_assert_int_eq(a.sa.ss_family, AF_INET);
	ck_assert_str_eq(host_of(&a), "0.0.0.0");
	parse_ok("0.0.0.0:8080", &b);
	ck_assert(addr_equal(&a, &b));
}
END_TEST

START_TEST(test_ipv6)
{
	struct lbd_addr a, b;

	parse_ok("[::1]:80", &a);
	ck_assert_int_eq(a.sa.ss_family, AF_INET6);
	ck_assert_uint_eq(a.salen, sizeof(struct sockaddr_in6));
	ck_assert_uint_eq(port_of(&a), 80);
	ck_assert_str_eq(host_of(&a), "::1");
	parse_ok("[::]:8080", &a);
	ck_assert_str_eq(host_of(&a), "::");
	parse_ok("[2001:db8::1]:443", &a);
	parse_ok("[2001:0db8:0000::0001]:443", &b);
	ck_assert(addr_equal(&a, &b));
	parse_ok("[::ffff:192.0.2.1]:80", &a);
	ck_assert_str_eq(host_of(&a), "::ffff:192.0.2.1");
	parse_ok("[fe80::1%lo]:80", &a);
	ck_assert_uint_ne(((struct sockaddr_in6 *)&a.sa)->sin6_scope_id, 0);
	parse_ok("[fe80::1%1]:80", &a);
	ck_assert_uint_eq(((struct sockaddr_in6 *)&a.sa)->sin6_scope_id, 1);
}
END_TEST

START_TEST(test_unix)
{
	struct lbd_addr a, b;
	char path[200];

	parse_ok("unix:/run/lbd/x.sock", &a);
	ck_assert_int_eq(a.sa.ss_family, AF_UNIX);
	ck_assert_str_eq(((struct sockaddr_un *)&a.sa)->sun_path, "/run/lbd/x.sock");
	ck_assert_uint_eq(a.salen, offsetof(struct sockaddr_un, sun_path) + 16);
	ck_assert_str_eq(host_of(&a), "unix");
	parse_ok("unix:relative.sock", &b);
	ck_assert(!addr_equal(&a, &b));

	/* sun_path holds 107 bytes and the NUL. */
	strcpy(path, "unix:/");
	memset(path + 6, 'a', 106);
	path[112] = '\0';
	parse_ok(path, &a);
	ck_assert_uint_eq(strlen(((struct sockaddr_un *)&a.sa)->sun_path), 107);
	strcat(path, "a");
	ck_assert_str_eq(parse_bad(path), "a unix socket path of 1 to 107 bytes after \"unix:\"");
	ck_assert_str_eq(parse_bad("unix:"),
			 "a unix socket path of 1 to 107 bytes after \"unix:\"");
}
END_TEST

START_TEST(test_hostname)
{
	struct lbd_addr a;

	parse_ok("localhost:8080", &a);
	ck_assert(a.sa.ss_family == AF_INET || a.sa.ss_family == AF_INET6);
	ck_assert_uint_eq(port_of(&a), 8080);
}
END_TEST

START_TEST(test_bad_ports)
{
	static const char *const bad[] = {
		"1.2.3.4:0",      "1.2.3.4:65536", "1.2.3.4:99999", "1.2.3.4:",    "1.2.3.4:-1",
		"1.2.3.4:+80",    "1.2.3.4:80a",   "1.2.3.4:http",  "1.2.3.4: 80", "1.2.3.4:0x50",
		"1.2.3.4:100000", "[::1]:0",       "[::1]:",        "*:0",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(strcmp(parse_bad(bad[i]), "a port from 1 to 65535") == 0, "%s",
			      bad[i]);
}
END_TEST

START_TEST(test_bad_forms)
{
	ck_assert_str_eq(parse_bad(NULL), "HOST:PORT, [IPv6]:PORT or unix:/path");
	ck_assert_str_eq(parse_bad(""), "HOST:PORT, [IPv6]:PORT or unix:/path");
	ck_assert_str_eq(parse_bad("1.2.3.4"), "HOST:PORT, [IPv6]:PORT or unix:/path");
	ck_assert_str_eq(parse_bad("localhost"), "HOST:PORT, [IPv6]:PORT or unix:/path");
	ck_assert_str_eq(parse_bad("::1:80"), "a numeric IPv6 address in brackets, as in [::1]:80");
	ck_assert_str_eq(parse_bad("[::1]80"), "a port from 1 to 65535");
	ck_assert_str_eq(parse_bad("[::1:80"),
			 "a numeric IPv6 address in brackets, as in [::1]:80");
	ck_assert_str_eq(parse_bad("[]:80"), "a numeric IPv6 address in brackets, as in [::1]:80");
	ck_assert_str_eq(parse_bad("[1.2.3.4]:80"),
			 "a numeric IPv6 address in brackets, as in [::1]:80");
	ck_assert_str_eq(parse_bad("[localhost]:80"),
			 "a numeric IPv6 address in brackets, as in [::1]:80");
	ck_assert_str_eq(parse_bad("[::g]:80"),
			 "a numeric IPv6 address in brackets, as in [::1]:80");
	ck_assert_str_eq(parse_bad(":80"),
			 "a host name, an IPv4 address or an [IPv6] address before the port");
	ck_assert_str_eq(parse_bad("bad_host!:80"),
			 "a host name, an IPv4 address or an [IPv6] address before the port");
	ck_assert_str_eq(parse_bad("a b:80"),
			 "a host name, an IPv4 address or an [IPv6] address before the port");
	ck_assert_str_eq(parse_bad("-x:80"),
			 "a host name, an IPv4 address or an [IPv6] address before the port");
	ck_assert_str_eq(parse_bad("1.2.3.256:80"), "an IPv4 address such as 192.0.2.1");
	ck_assert_str_eq(parse_bad("1.2.3:80"), "an IPv4 address such as 192.0.2.1");
	ck_assert_str_eq(parse_bad("127.1:80"), "an IPv4 address such as 192.0.2.1");
	ck_assert_str_eq(parse_bad("0x7f.0.0.1:80"), "an IPv4 address such as 192.0.2.1");
}
END_TEST

START_TEST(test_too_long)
{
	char s[300];

	memset(s, 'a', 200);
	strcpy(s + 200, ":80");
	ck_assert_str_eq(parse_bad(s), "an address of at most 127 characters");
}
END_TEST

START_TEST(test_equal)
{
	struct lbd_addr a, b;

	parse_ok("1.2.3.4:80", &a);
	parse_ok("1.2.3.4:81", &b);
	ck_assert(!addr_equal(&a, &b));
	parse_ok("1.2.3.5:80", &b);
	ck_assert(!addr_equal(&a, &b));
	parse_ok("[::ffff:1.2.3.4]:80", &b);
	ck_assert(!addr_equal(&a, &b)); /* different families bind differently */
	parse_ok("unix:/a", &a);
	parse_ok("unix:/a", &b);
	ck_assert(addr_equal(&a, &b));
	parse_ok("[fe80::1%1]:80", &a);
	parse_ok("[fe80::1]:80", &b);
	ck_assert(!addr_equal(&a, &b));
}
END_TEST

START_TEST(test_host_text_small_buffer)
{
	struct lbd_addr a;
	char buf[4] = "xyz";

	parse_ok("192.0.2.100:80", &a);
	addr_host_text((struct sockaddr *)&a.sa, buf, sizeof(buf));
	ck_assert_str_eq(buf, "-");
	addr_host_text((struct sockaddr *)&a.sa, buf, 0);
	ck_assert_str_eq(buf, "-");
}
END_TEST

START_TEST(test_host_text_ipv4_digits)
{
	static const char *const hosts[] = { "0.9.10.99", "100.199.200.255", "10.0.0.1",
					     "255.255.255.255", "0.0.0.0" };
	struct lbd_addr a;

	for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
		char text[64];
		snprintf(text, sizeof(text), "%s:80", hosts[i]);
		parse_ok(text, &a);
		ck_assert_str_eq(host_of(&a), hosts[i]);
	}
}
END_TEST

START_TEST(test_host_name)
{
	char host[ADDR_TEXT_MAX], small[4];
	unsigned port = 0;

	ck_assert(addr_host_name("app.example.com.:8080", host, sizeof(host), &port));
	ck_assert_str_eq(host, "app.example.com.");
	ck_assert_uint_eq(port, 8080);
	ck_assert(addr_host_name("localhost:80", host, sizeof(host), &port));
	ck_assert_str_eq(host, "localhost");
	ck_assert(!addr_host_name("app.example.com:80", small, sizeof(small), &port));
	ck_assert(!addr_host_name("10.0.0.1:80", host, sizeof(host), &port));
	ck_assert(!addr_host_name("[::1]:80", host, sizeof(host), &port));
	ck_assert(!addr_host_name("*:80", host, sizeof(host), &port));
	ck_assert(!addr_host_name("unix:/run/a.sock", host, sizeof(host), &port));
	ck_assert(!addr_host_name("app:0", host, sizeof(host), &port));
	ck_assert(!addr_host_name("app", host, sizeof(host), &port));
	ck_assert(!addr_host_name(":80", host, sizeof(host), &port));
	ck_assert(!addr_host_name("127.1:80", host, sizeof(host), &port));
}
END_TEST

START_TEST(test_numeric_text)
{
	struct lbd_addr a;
	char buf[ADDR_TEXT_MAX];

	parse_ok("192.0.2.1:8080", &a);
	snprintf(a.text, sizeof(a.text), "app.example.com:8080"); /* as written */
	addr_numeric_text(&a, buf, sizeof(buf));
	ck_assert_str_eq(buf, "192.0.2.1:8080");
	parse_ok("[2001:DB8::1]:443", &a);
	addr_numeric_text(&a, buf, sizeof(buf));
	ck_assert_str_eq(buf, "[2001:db8::1]:443");
	parse_ok("unix:/run/a.sock", &a);
	addr_numeric_text(&a, buf, sizeof(buf));
	ck_assert_str_eq(buf, "unix:/run/a.sock");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("addr");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_ipv4);
	tcase_add_test(tc, test_wildcard);
	tcase_add_test(tc, test_ipv6);
	tcase_add_test(tc, test_unix);
	tcase_add_test(tc, test_hostname);
	tcase_add_test(tc, test_bad_ports);
	tcase_add_test(tc, test_bad_forms);
	tcase_add_test(tc, test_too_long);
	tcase_add_test(tc, test_equal);
	tcase_add_test(tc, test_host_text_small_buffer);
	tcase_add_test(tc, test_host_text_ipv4_digits);
	tcase_add_test(tc, test_host_name);
	tcase_add_test(tc, test_numeric_text);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
