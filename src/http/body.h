/* body.h — how a message body is framed on one side of lbd.
 *
 * lbd decodes each body as it parses it (llhttp hands out the payload
 * bytes) and frames it again for the other side, so chunk extensions,
 * odd chunk sizes and other framing tricks never reach the peer.
 */
#ifndef LBD_BODY_H
#define LBD_BODY_H

#include <stddef.h>
#include <stdint.h>

struct evbuffer;

enum body_mode {
	BODY_NONE,    /* no body */
	BODY_LENGTH,  /* Content-Length */
	BODY_CHUNKED, /* Transfer-Encoding: chunked */
	BODY_EOF,     /* delimited by closing the connection */
};

/* llhttp 8 does not check the CRLF that ends each chunk's data: any two
 * bytes pass ("3\r\nabcXX0\r\n\r\n" is accepted), a smuggling vector.
 * A chunk_guard checks them on the raw bytes: chunk_guard_header() from
 * on_chunk_header with the chunk size, chunk_guard_body() from on_body with
 * the end of the buffer being parsed, chunk_guard_feed() before each new
 * buffer. Each returns 0, or -1 when the CRLF is missing. */
struct chunk_guard {
	uint64_t left;    /* data bytes of the current chunk still to come */
	unsigned pending; /* CRLF bytes not yet seen (in the next buffer) */
};

static inline void chunk_guard_header(struct chunk_guard *g, uint64_t size)
{
	g->left = size;
	g->pending = 0;
}

int chunk_guard_body(struct chunk_guard *g, const char *at, size_t len, const char *end);
int chunk_guard_feed(struct chunk_guard *g, const char *buf, size_t len);

/* Append LEN payload bytes framed for MODE. */
int body_write(struct evbuffer *out, enum body_mode mode, const char *data, size_t len);

/* Append what ends a body of MODE (the last chunk for BODY_CHUNKED). */
int body_finish(struct evbuffer *out, enum body_mode mode);

#endif
