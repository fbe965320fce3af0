/* test_pp_socket.c — a PROXY header read from a socket takes the header's
 * bytes and not one more (pp_socket.c), over a socketpair. */
#include <check.h>

#include "check_main.h"
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "stream/pp_socket.h"

static int pair[2];

static void setup(void)
{
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);
	fcntl(pair[0], F_SETFL, O_NONBLOCK);
}

static void teardown(void)
{
	close(pair[0]);
	close(pair[1]);
}

static void put(const char *s, size_t n)
{
	ck_assert_int_eq(write(pair[1], s, n), (ssize_t)n);
}

/* What is left in the socket after the header. */
static const char *rest(void)
{
	static char buf[256];
	ssize_t n = recv(pair[0], buf, sizeof(buf) - 1, 0);

	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

START_TEST(whole_header_then_tls_bytes)
{
	static const char in[] = "PROXY TCP4 203.0.113.7 192.0.2.1 5555 443\r\n\x16\x03\x01hello";
	struct pp_socket st = { .have = 0 };
	struct pp_result pp;

	put(in, sizeof(in) - 1);
	ck_assert_int_eq(pp_socket_read(pair[0], &st, &pp), PP_DONE);
	ck_assert(pp.has_addr);
	ck_assert_str_eq(rest(), "\x16\x03\x01hello");
}
END_TEST

START_TEST(header_in_pieces)
{
	static const char v2[] = "\r\n\r\n\0\r\nQUIT\n\x21\x11\x00\x0c"
				 "\xc6\x33\x64\x01\x7f\x00\x00\x01\x0f\xa0\x01\xbb";
	struct pp_socket st = { .have = 0 };
	struct pp_result pp;

	ck_assert_int_eq(pp_socket_read(pair[0], &st, &pp), PP_MORE); /* nothing yet */
	put(v2, 5);
	ck_assert_int_eq(pp_socket_read(pair[0], &st, &pp), PP_MORE);
	put(v2 + 5, 15);
	ck_assert_int_eq(pp_socket_read(pair[0], &st, &pp), PP_MORE);
	put(v2 + 20, sizeof(v2) - 1 - 20);
	put("after", 5);
	ck_assert_int_eq(pp_socket_read(pair[0], &st, &pp), PP_DONE);
	ck_assert(pp.has_addr);
	ck_assert_str_eq(rest(), "after");
}
END_TEST

START_TEST(not_a_header_or_closed)
{
	struct pp_socket st = { .have = 0 };
	struct pp_result pp;

	put("\x16\x03\x01\x02\x00", 5);
	ck_assert_int_eq(pp_socket_read(pair[0], &st, &pp), PP_BAD);
	teardown();
	setup();
	st.have = 0;
	put("PROXY TCP4", 10);
	ck_assert_int_eq(pp_socket_read(pair[0], &st, &pp), PP_MORE);
	close(pair[1]);
	pair[1] = open("/dev/null", O_WRONLY);
	ck_assert_int_eq(pp_socket_read(pair[0], &st, &pp), PP_BAD); /* the peer left */
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pp_socket");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, whole_header_then_tls_bytes);
	tcase_add_test(tc, header_in_pieces);
	tcase_add_test(tc, not_a_header_or_closed);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
