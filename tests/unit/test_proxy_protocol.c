/* test_proxy_protocol.c — PROXY protocol v1 and v2 headers: complete,
 * partial, broken, and the address they carry. */
#include <check.h>

#include "check_main.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "stream/proxy_protocol.h"

static enum pp_status parse(const void *buf, size_t len, struct pp_result *r, size_t *used)
{
	memset(r, 0, sizeof(*r));
	return pp_parse(buf, len, r, used);
}

static const char *src_text(const struct pp_result *r, char *buf, size_t len, unsigned *port)
{
	if (r->src.ss_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)&r->src;
		*port = ntohs(s->sin_port);
		return inet_ntop(AF_INET, &s->sin_addr, buf, (socklen_t)len);
	}
	const struct sockaddr_in6 *s6 = (const void *)&r->src;
	*port = ntohs(s6->sin6_port);
	return inet_ntop(AF_INET6, &s6->sin6_addr, buf, (socklen_t)len);
}

START_TEST(v1_tcp4_and_tcp6)
{
	static const char h4[] = "PROXY TCP4 192.0.2.7 198.51.100.1 51234 80\r\nGET / HTTP/1.1\r\n";
	static const char h6[] = "PROXY TCP6 2001:db8::7 2001:db8::1 65535 443\r\n";
	struct pp_result r;
	size_t used;
	char buf[64];
	unsigned port;

	ck_assert_int_eq(parse(h4, sizeof(h4) - 1, &r, &used), PP_DONE);
	ck_assert_uint_eq(used, strlen("PROXY TCP4 192.0.2.7 198.51.100.1 51234 80\r\n"));
	ck_assert(r.has_addr);
	ck_assert_str_eq(src_text(&r, buf, sizeof(buf), &port), "192.0.2.7");
	ck_assert_uint_eq(port, 51234);
	ck_assert_int_eq(parse(h6, sizeof(h6) - 1, &r, &used), PP_DONE);
	ck_assert_uint_eq(used, sizeof(h6) - 1);
	ck_assert_str_eq(src_text(&r, buf, sizeof(buf), &port), "2001:db8::7");
	ck_assert_uint_eq(port, 65535);
	/* every prefix is a valid beginning */
	for (size_t n = 0; n < strlen(h6); n++)
		ck_assert_int_eq(parse(h6, n, &r, &used), PP_MORE);
}
END_TEST

START_TEST(v1_unknown)
{
	static const char *const ok[] = {
		"PROXY UNKNOWN\r\n",
		"PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n",
	};
	struct pp_result r;
	size_t used;

	for (size_t i = 0; i < 2; i++) {
		ck_assert_int_eq(parse(ok[i], strlen(ok[i]), &r, &used), PP_DONE);
		ck_assert(!r.has_addr);
		ck_assert_uint_eq(used, strlen(ok[i]));
	}
}
END_TEST

START_TEST(v1_broken)
{
	static const char *const bad[] = {
		"GET / HTTP/1.1\r\n\r\n",
		"PROXY\r\n",
		"PROXY \r\n",
		"proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n",
		"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n",
		"PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n",
		"PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n",
		"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n",
		"PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n",
		"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n",
		"PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n",
		"PROXY TCP4 2001:db8::1 5.6.7.8 1 2\r\n",
		"PROXY TCP6 1.2.3.4 2001:db8::1 1 2\r\n",
		"PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n",
		"PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n",
		"PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n",
	};
	struct pp_result r;
	size_t used;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(parse(bad[i], strlen(bad[i]), &r, &used) == PP_BAD, "case %zu: %s", i,
			      bad[i]);
	/* no CRLF within 107 bytes */
	char longline[200] = "PROXY UNKNOWN ";
	memset(longline + 14, 'x', 150);
	ck_assert_int_eq(parse(longline, 106, &r, &used), PP_MORE);
	ck_assert_int_eq(parse(longline, 107, &r, &used), PP_BAD);
	ck_assert_int_eq(parse(longline, 164, &r, &used), PP_BAD);
}
END_TEST

static const unsigned char sig[12] = { 0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
				       0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A };

static size_t v2(unsigned char *out, unsigned char vercmd, unsigned char fam,
		 const unsigned char *body, size_t blen)
{
	memcpy(out, sig, 12);
	out[12] = vercmd;
	out[13] = fam;
	out[14] = (unsigned char)(blen >> 8);
	out[15] = (unsigned char)blen;
	memcpy(out + 16, body, blen);
	return 16 + blen;
}

START_TEST(v2_addresses)
{
	unsigned char buf[PP_MAX + 64], body[64] = { 0 };
	struct pp_result r;
	size_t used, n;
	char text[64];
	unsigned port;

	/* TCP4 192.0.2.9:4660 -> 198.51.100.1:80, plus a TLV that is skipped */
	memcpy(body, "\xc0\x00\x02\x09\xc6\x33\x64\x01\x12\x34\x00\x50", 12);
	memcpy(body + 12,
	       "\x04\x00\x02"
	       "ab",
	       5);
	n = v2(buf, 0x21, 0x11, body, 17);
	memcpy(buf + n, "GET", 3);
	ck_assert_int_eq(parse(buf, n + 3, &r, &used), PP_DONE);
	ck_assert_uint_eq(used, n);
	ck_assert(r.has_addr);
	ck_assert_str_eq(src_text(&r, text, sizeof(text), &port), "192.0.2.9");
	ck_assert_uint_eq(port, 0x1234);
	for (size_t k = 0; k < n; k++)
		ck_assert_int_eq(parse(buf, k, &r, &used), PP_MORE);

	/* TCP6 */
	memset(body, 0, sizeof(body));
	memcpy(body, "\x20\x01\x0d\xb8", 4);
	body[15] = 7;
	body[32] = 0x01;
	body[33] = 0xbb;
	n = v2(buf, 0x21, 0x21, body, 36);
	ck_assert_int_eq(parse(buf, n, &r, &used), PP_DONE);
	ck_assert_str_eq(src_text(&r, text, sizeof(text), &port), "2001:db8::7");
	ck_assert_uint_eq(port, 443);

	/* LOCAL (the balancer's own health check), UNSPEC and UNIX: no address */
	n = v2(buf, 0x20, 0x00, body, 0);
	ck_assert_int_eq(parse(buf, n, &r, &used), PP_DONE);
	ck_assert(!r.has_addr);
	ck_assert_uint_eq(used, 16);
	n = v2(buf, 0x21, 0x00, body, 0);
	ck_assert_int_eq(parse(buf, n, &r, &used), PP_DONE);
	ck_assert(!r.has_addr);
	n = v2(buf, 0x21, 0x31, body, 0);
	ck_assert_int_eq(parse(buf, n, &r, &used), PP_DONE);
	ck_assert(!r.has_addr);
}
END_TEST

START_TEST(v2_broken)
{
	unsigned char buf[PP_MAX + 64], body[64] = { 0 };
	struct pp_result r;
	size_t used, n;

	n = v2(buf, 0x11, 0x11, body, 12); /* version 1 in a v2 header */
	ck_assert_int_eq(parse(buf, n, &r, &used), PP_BAD);
	n = v2(buf, 0x22, 0x11, body, 12); /* command 2 */
	ck_assert_int_eq(parse(buf, n, &r, &used), PP_BAD);
	n = v2(buf, 0x21, 0x11, body, 8); /* TCP4 too short for its addresses */
	ck_assert_int_eq(parse(buf, n, &r, &used), PP_BAD);
	n = v2(buf, 0x21, 0x21, body, 20); /* TCP6 too short */
	ck_assert_int_eq(parse(buf, n, &r, &used), PP_BAD);
	n = v2(buf, 0x21, 0x41, body, 12); /* family 4 */
	ck_assert_int_eq(parse(buf, n, &r, &used), PP_BAD);
	/* longer than lbd accepts: refused from the first 16 bytes */
	n = v2(buf, 0x21, 0x11, body, 12);
	buf[14] = (unsigned char)((PP_MAX - 15) >> 8);
	buf[15] = (unsigned char)(PP_MAX - 15);
	ck_assert_int_eq(parse(buf, 16, &r, &used), PP_BAD);
	/* a broken signature */
	n = v2(buf, 0x21, 0x11, body, 12);
	buf[5] = 0x0E;
	ck_assert_int_eq(parse(buf, n, &r, &used), PP_BAD);
	ck_assert_int_eq(parse(buf, 6, &r, &used), PP_BAD);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("proxy_protocol");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, v1_tcp4_and_tcp6);
	tcase_add_test(tc, v1_unknown);
	tcase_add_test(tc, v1_broken);
	tcase_add_test(tc, v2_addresses);
	tcase_add_test(tc, v2_broken);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
