/* client_addr.c — the client behind trusted HTTP proxies (client_addr.h). */
#include "http/client_addr.h"

#include <arpa/inet.h>
#include <string.h>

static bool is_trusted(const struct cidr *trusted, size_t n, const struct ip_addr *a)
{
	for (size_t i = 0; i < n; i++)
		if (cidr_contains(&trusted[i], a))
			return true;
	return false;
}

/* The X-Forwarded-For elements from right to left (the last field's last
 * element first): the first that is not a trusted proxy is the client. An
 * element that is not an address stops the walk; the client is then the
 * last trusted address seen, or the peer. */
static bool walk_forwarded(const struct http_head *h, const struct cidr *trusted, size_t ntrusted,
			   struct ip_addr *client)
{
	bool found = false;

	for (uint32_t i = h->nfields; i-- > 0;) {
		const struct http_field *f = &h->fields[i];
		if (!http_field_is(h, f, "x-forwarded-for"))
			continue;
		const char *v = http_field_value(h, f);
		size_t end = f->value_len;
		while (end > 0) {
			size_t start = end;
			while (start > 0 && v[start - 1] != ',')
				start--;
			size_t a = start, b = end;
			while (a < b && (v[a] == ' ' || v[a] == '\t'))
				a++;
			while (b > a && (v[b - 1] == ' ' || v[b - 1] == '\t'))
				b--;
			end = start ? start - 1 : 0;
			if (a == b)
				continue; /* an empty element: "a,,b" */
			struct ip_addr ip;
			if (ip_parse(v + a, b - a, &ip) < 0)
				return found;
			*client = ip;
			found = true;
			if (!is_trusted(trusted, ntrusted, &ip))
				return true;
		}
	}
	return found;
}

bool client_addr_trusted(const struct cidr *trusted, size_t ntrusted, const char *peer)
{
	struct ip_addr a;

	return ip_parse(peer, strlen(peer), &a) == 0 && is_trusted(trusted, ntrusted, &a);
}

bool client_addr_forwarded(const struct http_head *h, const struct cidr *trusted, size_t ntrusted,
			   const char *peer, char out[INET6_ADDRSTRLEN])
{
	struct ip_addr a, client;

	if (ip_parse(peer, strlen(peer), &a) < 0 || !is_trusted(trusted, ntrusted, &a) ||
	    !walk_forwarded(h, trusted, ntrusted, &client))
		return false;
	return inet_ntop(client.family, client.bytes, out, INET6_ADDRSTRLEN) != NULL;
}
