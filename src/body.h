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
	BODY_NONE,      /* no body */
	BODY_LENGTH,    /* Content-Length */
	BODY_CHUNKED,   /* Transfer-Encoding: chunked */
	BODY_EOF,       /* delimited by closing the connection */
};

/* Append LEN payload bytes framed for MODE. */
int body_write(struct evbuffer *out, enum body_mode mode, const char *data, size_t len);

/* Append what ends a body of MODE (the last chunk for BODY_CHUNKED). */
int body_finish(struct evbuffer *out, enum body_mode mode);

#endif
