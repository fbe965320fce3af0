/* test_client_addr.c — the client named by X-Forwarded-For behind trusted
 * proxies. */
#include <check.h>

#include "check_main.h"
#include <string.h>

#include "http/client_addr.h"

static struct cidr trusted[3];

static void setup(void)
{
	ck_assert_int_eq(cidr_parse("127.0.0.1", &trusted[0]), 0);
	ck_assert_int_eq(cidr_parse("10.0.0.0/8", &trusted[1]), 0);
	ck_assert_int_eq(cidr_parse("2001:db8::/32", &trusted[2]), 0);
}

/* The client for PEER and the X-Forwarded-For fields XFF (NULL-ended), or
 * "peer" when the peer is the client. */
static const char *client(const char *peer, const char *const *xff)
{
	static char out[INET6_ADDRSTRLEN];
	struct http_head h;

	http_head_init(&h, 4096, 16);
	http_head_add_name(&h, "Host", 4);
	http_head_add_value(&h, "x", 1);
	for (size_t i = 0; xff && xff[i]; i++) {
		http_head_add_name(&h, "X-Forwarded-For", 15);
		http_head_add_value(&h, xff[i], strlen(xff[i]));
	}
	bool found = client_addr_forwarded(&h, trusted, 3, peer, out);
	http_head_free(&h);
	return found ? out : "peer";
}

#define XFF(...) ((const char *const[]){ __VA_ARGS__, NULL })

START_TEST(trusted_peer)
{
	setup();
	ck_assert_str_eq(client("127.0.0.1", NULL), "peer");
	ck_assert_str_eq(client("127.0.0.1", XFF("203.0.113.5")), "203.0.113.5");
	ck_assert_str_eq(client("127.0.0.1", XFF("203.0.113.5, 10.0.0.2")), "203.0.113.5");
	ck_assert_str_eq(client("10.1.1.1", XFF("1.1.1.1, 203.0.113.5 ,\t10.0.0.2")),
			 "203.0.113.5");
	ck_assert_str_eq(client("127.0.0.1", XFF("1.1.1.1", "203.0.113.6,10.1.2.3")),
			 "203.0.113.6");
	ck_assert_str_eq(client("127.0.0.1", XFF("203.0.113.7", "10.1.2.3")), "203.0.113.7");
	ck_assert_str_eq(client("2001:db8::1", XFF("2001:db8::5, [2001:db9::0001]")),
			 "2001:db9::1");
	ck_assert_str_eq(client("127.0.0.1", XFF("10.0.0.1, 10.0.0.2")), "10.0.0.1");
	ck_assert_str_eq(client("127.0.0.1", XFF("unknown, 10.0.0.2")), "10.0.0.2");
	ck_assert_str_eq(client("127.0.0.1", XFF("203.0.113.5, unknown")), "peer");
	ck_assert_str_eq(client("127.0.0.1", XFF("203.0.113.5:4000")), "peer");
	ck_assert_str_eq(client("127.0.0.1", XFF("")), "peer");
	ck_assert_str_eq(client("127.0.0.1", XFF(" , 203.0.113.8,,")), "203.0.113.8");
}
END_TEST

START_TEST(untrusted_peer)
{
	setup();
	ck_assert_str_eq(client("192.0.2.1", XFF("203.0.113.5")), "peer");
	ck_assert_str_eq(client("2001:db9::1", XFF("203.0.113.5")), "peer");
	ck_assert_str_eq(client("not an address", XFF("203.0.113.5")), "peer");
}
END_TEST

/* Whose X-Forwarded-Proto, X-Forwarded-Host and Forwarded are kept. */
START_TEST(which_peers_are_trusted)
{
	setup();
	ck_assert(client_addr_trusted(trusted, 3, "127.0.0.1"));
	ck_assert(client_addr_trusted(trusted, 3, "10.200.0.1"));
	ck_assert(client_addr_trusted(trusted, 3, "2001:db8::5"));
	ck_assert(!client_addr_trusted(trusted, 3, "127.0.0.2"));
	ck_assert(!client_addr_trusted(trusted, 3, "unix"));
	ck_assert(!client_addr_trusted(trusted, 3, ""));
	ck_assert(!client_addr_trusted(trusted, 0, "127.0.0.1"));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("client_addr");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, trusted_peer);
	tcase_add_test(tc, untrusted_peer);
	tcase_add_test(tc, which_peers_are_trusted);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
