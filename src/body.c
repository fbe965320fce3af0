/* body.c — framing payload bytes for the peer. */
#include "body.h"

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
		    evbuffer_add(out, data, len) < 0 ||
		    evbuffer_add(out, "\r\n", 2) < 0)
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
