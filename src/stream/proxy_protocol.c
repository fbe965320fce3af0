/* proxy_protocol.c — PROXY protocol v1 and v2 (see proxy_protocol.h and
 * https://www.haproxy.org/download/2.8/doc/proxy-protocol.txt). */
#include "stream/proxy_protocol.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static const unsigned char v2_sig[12] = {
	0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A,
};

/* A decimal port without sign or leading zero, 0 to 65535. */
static int parse_port(const char *s, size_t len, uint16_t *port)
{
	unsigned v = 0;

	if (len == 0 || len > 5 || (s[0] == '0' && len > 1))
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

static int parse_ip(int family, const char *s, size_t len, void *dst)
{
	char buf[INET6_ADDRSTRLEN];

	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return inet_pton(family, buf, dst) == 1 ? 0 : -1;
}

/* "PROXY TCP4 SRC DST SPORT DPORT\r\n", "PROXY UNKNOWN[ ...]\r\n". */
static enum pp_status parse_v1(const char *p, size_t len, struct pp_result *out, size_t *consumed)
{
	const char *end = NULL;

	for (size_t i = 0; i < len && i < PP_V1_MAX; i++) {
		if (p[i] == '\n') {
			if (i == 0 || p[i - 1] != '\r')
				return PP_BAD;
			end = p + i - 1;
			break;
		}
		if (p[i] == '\0')
			return PP_BAD;
	}
	if (!end)
		return len >= PP_V1_MAX ? PP_BAD : PP_MORE;
	*consumed = (size_t)(end - p) + 2;

	/* p starts with "PROXY " (checked by the caller) */
	const char *s = p + 6;
	size_t rest = (size_t)(end - s);
	out->has_addr = false;
	if (rest >= 7 && memcmp(s, "UNKNOWN", 7) == 0 && (rest == 7 || s[7] == ' '))
		return PP_DONE; /* the rest of the line is ignored */

	const char *tok[5];
	size_t tlen[5], n = 0;
	while (s < end) {
		const char *sp = memchr(s, ' ', (size_t)(end - s));
		const char *e = sp ? sp : end;
		if (n == 5 || e == s || (sp && sp + 1 == end))
			return PP_BAD; /* too many fields, or an empty one */
		tok[n] = s;
		tlen[n++] = (size_t)(e - s);
		s = sp ? sp + 1 : end;
	}
	if (n != 5)
		return PP_BAD;
	int family;
	if (tlen[0] == 4 && memcmp(tok[0], "TCP4", 4) == 0)
		family = AF_INET;
	else if (tlen[0] == 4 && memcmp(tok[0], "TCP6", 4) == 0)
		family = AF_INET6;
	else
		return PP_BAD;
	unsigned char dst[16];
	uint16_t sport, dport;
	memset(&out->src, 0, sizeof(out->src));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&out->src;
		if (parse_ip(AF_INET, tok[1], tlen[1], &sin->sin_addr) < 0)
			return PP_BAD;
		sin->sin_family = AF_INET;
		out->srclen = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&out->src;
		if (parse_ip(AF_INET6, tok[1], tlen[1], &sin6->sin6_addr) < 0)
			return PP_BAD;
		sin6->sin6_family = AF_INET6;
		out->srclen = sizeof(*sin6);
	}
	if (parse_ip(family, tok[2], tlen[2], dst) < 0 || parse_port(tok[3], tlen[3], &sport) < 0 ||
	    parse_port(tok[4], tlen[4], &dport) < 0)
		return PP_BAD;
	if (family == AF_INET)
		((struct sockaddr_in *)&out->src)->sin_port = htons(sport);
	else
		((struct sockaddr_in6 *)&out->src)->sin6_port = htons(sport);
	out->has_addr = true;
	return PP_DONE;
}

static enum pp_status parse_v2(const unsigned char *p, size_t len, struct pp_result *out,
			       size_t *consumed)
{
	if (len < 16)
		return PP_MORE;
	unsigned ver = p[12] >> 4, cmd = p[12] & 15, fam = p[13] >> 4, proto = p[13] & 15;
	size_t body = (size_t)p[14] << 8 | p[15];
	if (ver != 2 || cmd > 1 || 16 + body > PP_MAX)
		return PP_BAD;
	if (len < 16 + body)
		return PP_MORE;
	*consumed = 16 + body;
	out->has_addr = false;
	if (cmd == 0) /* LOCAL: a health check of the balancer itself */
		return PP_DONE;
	if (fam > 3 || proto > 2)
		return PP_BAD;
	if ((fam != 1 && fam != 2) || proto == 0)
		return PP_DONE; /* unspecified or UNIX: no usable address */
	memset(&out->src, 0, sizeof(out->src));
	if (fam == 1) {
		if (body < 12)
			return PP_BAD;
		struct sockaddr_in *sin = (struct sockaddr_in *)&out->src;
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, p + 16, 4);
		memcpy(&sin->sin_port, p + 24, 2);
		out->srclen = sizeof(*sin);
	} else {
		if (body < 36)
			return PP_BAD;
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&out->src;
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, p + 16, 16);
		memcpy(&sin6->sin6_port, p + 48, 2);
		out->srclen = sizeof(*sin6);
	}
	out->has_addr = true;
	return PP_DONE;
}

enum pp_status pp_parse(const void *buf, size_t len, struct pp_result *out, size_t *consumed)
{
	const unsigned char *p = buf;
	size_t n;

	*consumed = 0;
	if (len == 0)
		return PP_MORE;
	if (p[0] == 'P') {
		n = len < 6 ? len : 6;
		if (memcmp(p, "PROXY ", n) != 0)
			return PP_BAD;
		return len < 6 ? PP_MORE : parse_v1(buf, len, out, consumed);
	}
	n = len < sizeof(v2_sig) ? len : sizeof(v2_sig);
	if (memcmp(p, v2_sig, n) != 0)
		return PP_BAD;
	return len < sizeof(v2_sig) ? PP_MORE : parse_v2(p, len, out, consumed);
}

/* --- the header lbd sends (pools[].send_proxy) --------------------------- */

/* An endpoint as the header carries it: 4 or 16 address bytes, a port in
 * network order. */
struct pp_endpoint {
	unsigned char addr[16];
	uint16_t port;
	bool v6;
};

static bool endpoint_of(const struct sockaddr *sa, struct pp_endpoint *e)
{
	memset(e, 0, sizeof(*e));
	if (sa && sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
		memcpy(e->addr, &sin->sin_addr, 4);
		e->port = sin->sin_port;
		return true;
	}
	if (sa && sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
		memcpy(e->addr, &sin6->sin6_addr, 16);
		e->port = sin6->sin6_port;
		e->v6 = true;
		return true;
	}
	return false;
}

/* ::ffff:a.b.c.d, so that both ends of a header share a family. */
static void map_v6(struct pp_endpoint *e)
{
	if (e->v6)
		return;
	memmove(e->addr + 12, e->addr, 4);
	memset(e->addr, 0, 10);
	e->addr[10] = e->addr[11] = 0xff;
	e->v6 = true;
}

static size_t encode_v1(const struct pp_endpoint *s, const struct pp_endpoint *d, bool known,
			unsigned char *out)
{
	char sa[INET6_ADDRSTRLEN], da[INET6_ADDRSTRLEN];
	int family = s->v6 ? AF_INET6 : AF_INET;

	if (!known) {
		memcpy(out, "PROXY UNKNOWN\r\n", 15);
		return 15;
	}
	inet_ntop(family, s->addr, sa, sizeof(sa));
	inet_ntop(family, d->addr, da, sizeof(da));
	/* At most 104 bytes (TCP6, two full IPv6 addresses, two 5-digit ports). */
	char line[PP_ENCODED_MAX + 1];
	int n = snprintf(line, sizeof(line), "PROXY %s %s %s %u %u\r\n", s->v6 ? "TCP6" : "TCP4",
			 sa, da, (unsigned)ntohs(s->port), (unsigned)ntohs(d->port));
	memcpy(out, line, (size_t)n);
	return (size_t)n;
}

static size_t encode_v2(const struct pp_endpoint *s, const struct pp_endpoint *d, bool local,
			bool known, unsigned char *out)
{
	size_t alen = s->v6 ? 16 : 4, body = known ? 2 * alen + 4 : 0;

	memcpy(out, v2_sig, sizeof(v2_sig));
	out[12] = local ? 0x20 : 0x21;                 /* version 2, LOCAL or PROXY */
	out[13] = !known ? 0x00 : s->v6 ? 0x21 : 0x11; /* AF_INET6 or AF_INET, STREAM */
	out[14] = (unsigned char)(body >> 8);
	out[15] = (unsigned char)body;
	if (!known)
		return 16;
	memcpy(out + 16, s->addr, alen);
	memcpy(out + 16 + alen, d->addr, alen);
	memcpy(out + 16 + 2 * alen, &s->port, 2);
	memcpy(out + 18 + 2 * alen, &d->port, 2);
	return 16 + body;
}

size_t pp_encode(int version, const struct sockaddr *src, const struct sockaddr *dst,
		 unsigned char out[PP_ENCODED_MAX])
{
	struct pp_endpoint s = { 0 }, d = { 0 }; /* read for their family even when unknown */
	bool local = src == NULL;
	bool known = !local && endpoint_of(src, &s) && endpoint_of(dst, &d);

	if (known && s.v6 != d.v6) {
		map_v6(&s);
		map_v6(&d);
	}
	return version == 1 ? encode_v1(&s, &d, known, out) : encode_v2(&s, &d, local, known, out);
}
