/* body.c — framing payload bytes for the peer. */
#include "http/body.h"

#include <event2/buffer.h>

int body_write(struct evbuffer *out, enum body_mode mode, const char *data, size_t len)
{
	if (len == 0)
		return 0; /* an empty chunk would end a chunked body */
	if (mode == BODY_CHUNKED) {
		static const char hex[] = "0123456789abcdef";
		char size[24];
		size_t n = sizeof(size);
		size[--n] = '\n';
		size[--n] = '\r';
		for (size_t v = len; v; v >>= 4)
			size[--n] = hex[v & 15];
		if (evbuffer_add(out, size + n, sizeof(size) - n) < 0 ||
		    evbuffer_add(out, data, len) < 0 || evbuffer_add(out, "\r\n", 2) < 0)
			return -1;
		return 0;
	}
	return evbuffer_add(out, data, len);
}

int body_finish(struct evbuffer *out, enum body_mode mode)
{
	if (mode == BODY_CHUNKED)
		return evbuffer_add(out, "0\r\n\r\n", 5);
	return 0;
}

/* Check the CRLF expected at P (up to END), starting with its byte number
 * FROM (0 for '\r', 1 for '\n'); what END cuts off is left pending. */
static int check_crlf(struct chunk_guard *g, const char *p, const char *end, unsigned from)
{
	static const char crlf[] = "\r\n";

	for (unsigned i = from; i < 2; i++, p++) {
		if (p >= end) {
			g->pending = 2 - i;
			return 0;
		}
		if (*p != crlf[i])
			return -1;
	}
	g->pending = 0;
	return 0;
}

int chunk_guard_body(struct chunk_guard *g, const char *at, size_t len, const char *end)
{
	if (len > g->left)
		return -1;
	g->left -= len;
	if (g->left)
		return 0;
	return check_crlf(g, at + len, end, 0);
}

int chunk_guard_feed(struct chunk_guard *g, const char *buf, size_t len)
{
	if (!g->pending)
		return 0;
	return check_crlf(g, buf, buf + len, 2 - g->pending);
}
