/* compress.h — listeners[].compression: which responses lbd gzips, and the
 * gzip body as it streams through (util/gzip_stream.h).
 *
 * A response is eligible when its media type is one of the listener's and
 * nothing forbids changing it: no Content-Encoding already, no range
 * (206, Content-Range), no Cache-Control: no-transform, a status with a
 * body. An eligible response carries Vary: Accept-Encoding whatever this
 * client gets, so that caches keep the variants apart. It is gzipped when
 * the client's Accept-Encoding takes gzip, the client speaks HTTP/1.1 or
 * HTTP/2 (HTTP/1.0 has no chunks: a gzipped body would end the
 * connection), the request was not HEAD, and a declared Content-Length is
 * at least min_size. Then Content-Length goes (chunked or HTTP/2 DATA
 * frames frame it), Content-Encoding: gzip comes, and a strong ETag
 * becomes weak (the bytes differ; nginx does the same).
 *
 * The body is deflated piece by piece as it comes and flushed (Z_SYNC_FLUSH)
 * each time the server pauses (an HTTP/1 server's bytes are all parsed; an
 * HTTP/2 server's DATA frame ends), so a slow stream stays a stream; the
 * output is no larger than the input give or take a few bytes, so the
 * watermarks that stop reading a server hold as before. zlib's state is
 * allocated only when a response is gzipped and freed at its end.
 */
#ifndef LBD_COMPRESS_H
#define LBD_COMPRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "http/body.h"
#include "http/http_head.h"
#include "util/gzip_stream.h"
#include "util/strbuf.h"

struct evbuffer;

enum compress_verdict {
	COMPRESS_NONE, /* sent as it is */
	COMPRESS_VARY, /* eligible by type: Vary: Accept-Encoding, body as it is */
	COMPRESS_GZIP, /* gzipped */
};

/* One exchange's compression: the inputs set when the request is routed,
 * the verdict and the encoder once the response head came. */
struct response_compression {
	const struct compression_conf *conf; /* the listener's; NULL: off */
	bool client_gzip;                    /* the client takes gzip (and chunks) */
	bool is_head;
	struct listener_rt *lrt; /* counted in when a gzipped body ends */
	enum compress_verdict verdict;
	struct gzip_stream *gz; /* while a gzipped body streams */
};

/* Whether the request head's Accept-Encoding fields take gzip: "gzip" or
 * "x-gzip" with a q-value above 0, or else "*" with one. No field, an
 * empty one or "gzip;q=0" refuse it. */
bool compress_accepts_gzip(const struct http_head *req);

/* The verdict for a response of STATUS with head RESP and CONTENT_LENGTH
 * (-1: not declared) under CONF (NULL: off). CLIENT_GZIP and IS_HEAD as in
 * struct response_compression. */
enum compress_verdict compress_decide(const struct compression_conf *conf, bool client_gzip,
				      bool is_head, int status, const struct http_head *resp,
				      int64_t content_length);

/* Set up RC for the response: RC->verdict decided and, for COMPRESS_GZIP,
 * the encoder made (sized by CONTENT_LENGTH). Out of memory, the response
 * is sent as it is (COMPRESS_VARY). */
void compress_start(struct response_compression *rc, int status, const struct http_head *resp,
		    int64_t content_length);

/* Whether the body streams through the encoder. */
static inline bool compress_active(const struct response_compression *rc)
{
	return rc && rc->gz;
}

/* Body bytes through the encoder, onto OUT framed for MODE (body.h). */
int compress_body_write(struct response_compression *rc, struct evbuffer *out, enum body_mode mode,
			const void *data, size_t len);
/* The server paused: hand out what was deflated so far. */
int compress_body_flush(struct response_compression *rc, struct evbuffer *out, enum body_mode mode);
/* The body ended: the gzip trailer, the counters, the encoder freed. */
int compress_body_finish(struct response_compression *rc, struct evbuffer *out,
			 enum body_mode mode);
/* Drop the encoder (a response that ends early); any time. */
void compress_end(struct response_compression *rc);

/* The head as the client gets it. VARY_PENDING starts as
 * compress_vary_pending(); a field for which compress_field_rewritten() is
 * true is sent with the value compress_field_value() writes instead of its
 * own: a strong ETag of a gzipped response becomes weak (W/), and the first
 * Vary gains Accept-Encoding. When *VARY_PENDING is still true after the
 * last field, "Vary: Accept-Encoding" is added. */
bool compress_vary_pending(enum compress_verdict v, const struct http_head *h);
bool compress_field_rewritten(enum compress_verdict v, const struct http_head *h,
			      const struct http_field *f, bool *vary_pending);
void compress_field_value(const struct http_head *h, const struct http_field *f, struct strbuf *sb);

#endif
