/* cidr.c — numeric addresses and networks (see cidr.h). */
#include "util/cidr.h"

#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

int ip_parse(const char *s, size_t len, struct ip_addr *out)
{
	char buf[INET6_ADDRSTRLEN + 2];

	if (len >= 2 && s[0] == '[' && s[len - 1] == ']') {
		s++;
		len -= 2;
		if (len == 0 || len >= sizeof(buf) || !memchr(s, ':', len))
			return -1;
		memcpy(buf, s, len);
		buf[len] = '\0';
		out->family = AF_INET6;
		return inet_pton(AF_INET6, buf, out->bytes) == 1 ? 0 : -1;
	}
	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	memset(out->bytes, 0, sizeof(out->bytes));
	if (inet_pton(AF_INET, buf, out->bytes) == 1) {
		out->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, buf, out->bytes) == 1) {
		out->family = AF_INET6;
		return 0;
	}
	return -1;
}

int cidr_parse(const char *s, struct cidr *out)
{
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);

	if (ip_parse(s, alen, &out->net) < 0 || (alen && s[0] == '['))
		return -1;
	unsigned max = out->net.family == AF_INET ? 32 : 128;
	out->prefix = max;
	if (slash) {
		const char *p = slash + 1;
		unsigned v = 0;
		size_t n = strlen(p);
		if (n == 0 || n > 3 || (p[0] == '0' && n > 1))
			return -1;
		for (size_t i = 0; i < n; i++) {
			if (p[i] < '0' || p[i] > '9')
				return -1;
			v = v * 10 + (unsigned)(p[i] - '0');
		}
		if (v > max)
			return -1;
		out->prefix = v;
	}
	for (unsigned bit = out->prefix; bit < max; bit++)
		if (out->net.bytes[bit / 8] & (0x80 >> (bit % 8)))
			return -1;
	return 0;
}

bool cidr_contains(const struct cidr *c, const struct ip_addr *a)
{
	unsigned full = c->prefix / 8, rest = c->prefix % 8;

	if (a->family != c->net.family)
		return false;
	if (memcmp(a->bytes, c->net.bytes, full) != 0)
		return false;
	if (rest) {
		unsigned char mask = (unsigned char)(0xff << (8 - rest));
		if ((a->bytes[full] & mask) != c->net.bytes[full])
			return false;
	}
	return true;
}

bool cidr_list_contains(const struct cidr *list, size_t n, const struct ip_addr *a)
{
	for (size_t i = 0; i < n; i++)
		if (cidr_contains(&list[i], a))
			return true;
	return false;
}
