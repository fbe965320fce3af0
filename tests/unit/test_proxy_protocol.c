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

static struct sockaddr_storage sa_of(const char *ip, unsigned port)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(ip, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		inet_pton(AF_INET6, ip, &s6->sin6_addr);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		inet_pton(AF_INET, ip, &s4->sin_addr);
	}
	return ss;
}

#define SA(ss) ((const struct sockaddr *)&(ss))

static void encodes(int v, const struct sockaddr *src, const struct sockaddr *dst, const void *want,
		    size_t want_len)
{
	unsigned char out[PP_ENCODED_MAX];
	size_t n = pp_encode(v, src, dst, out);

	ck_assert_uint_eq(n, want_len);
	ck_assert_mem_eq(out, want, want_len);
}

/* Byte for byte as proxy-protocol.txt §2.1 and §2.2 lay them out. */
START_TEST(encode_v1_vectors)
{
	struct sockaddr_storage c4 = sa_of("192.0.2.7", 51234), l4 = sa_of("198.51.100.1", 80);
	struct sockaddr_storage c6 = sa_of("2001:db8::7", 65535), l6 = sa_of("2001:db8::1", 443);
	struct sockaddr_storage unix_sa = { .ss_family = AF_UNIX };
	static const char *const wide = "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
					"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
	struct sockaddr_storage w = sa_of("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535);

	encodes(1, SA(c4), SA(l4), "PROXY TCP4 192.0.2.7 198.51.100.1 51234 80\r\n", 44);
	encodes(1, SA(c6), SA(l6), "PROXY TCP6 2001:db8::7 2001:db8::1 65535 443\r\n", 46);
	encodes(1, SA(c4), SA(l6), "PROXY TCP6 ::ffff:192.0.2.7 2001:db8::1 51234 443\r\n", 51);
	encodes(1, NULL, NULL, "PROXY UNKNOWN\r\n", 15);
	encodes(1, SA(unix_sa), SA(l4), "PROXY UNKNOWN\r\n", 15);
	/* the longest TCP6 line: 104 bytes, within the spec's 107 (its
	 * bound is for "UNKNOWN" with the same addresses) */
	ck_assert_uint_eq(strlen(wide), 104);
	encodes(1, SA(w), SA(w), wide, 104);
}
END_TEST

START_TEST(encode_v2_vectors)
{
	struct sockaddr_storage c4 = sa_of("192.0.2.7", 51234), l4 = sa_of("198.51.100.1", 80);
	struct sockaddr_storage c6 = sa_of("2001:db8::7", 65535), l6 = sa_of("2001:db8::1", 443);
	struct sockaddr_storage unix_sa = { .ss_family = AF_UNIX };
#define SIG 0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A
	static const unsigned char tcp4[] = {
		SIG, 0x21, 0x11, 0x00, 12,   192,  0,    2,  7, /* PROXY, TCP over IPv4 */
		198, 51,   100,  1,    0xC8, 0x22, 0x00, 80,
	};
	static const unsigned char tcp6[] = {
		SIG, 0x21, 0x21, 0x00, 36, 0x20, 0x01, 0x0d, 0xb8, 0,    0,    0,    0,    0,
		0,   0,    0,    0,    0,  0,    0x07, 0x20, 0x01, 0x0d, 0xb8, 0,    0,    0,
		0,   0,    0,    0,    0,  0,    0,    0,    0x01, 0xFF, 0xFF, 0x01, 0xBB,
	};
	static const unsigned char local[] = { SIG, 0x20, 0x00, 0x00, 0x00 };
	static const unsigned char unspec[] = { SIG, 0x21, 0x00, 0x00, 0x00 };
	struct pp_result r;
	size_t used;
	unsigned char out[PP_ENCODED_MAX];

	encodes(2, SA(c4), SA(l4), tcp4, sizeof(tcp4));
	encodes(2, SA(c6), SA(l6), tcp6, sizeof(tcp6));
	encodes(2, NULL, NULL, local, sizeof(local));
	encodes(2, SA(unix_sa), SA(l4), unspec, sizeof(unspec));
	/* what lbd sends, lbd reads back */
	size_t n = pp_encode(2, SA(c4), SA(l6), out);
	ck_assert_uint_eq(n, 52);
	ck_assert_int_eq(parse(out, n, &r, &used), PP_DONE);
	ck_assert_uint_eq(used, n);
	char buf[64];
	unsigned port;
	ck_assert_str_eq(src_text(&r, buf, sizeof(buf), &port), "::ffff:192.0.2.7");
	ck_assert_uint_eq(port, 51234);
#undef SIG
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
	tcase_add_test(tc, encode_v1_vectors);
	tcase_add_test(tc, encode_v2_vectors);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
