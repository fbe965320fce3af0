/* gzip_stream.c — streamed gzip with zlib (gzip_stream.h). */
#include "util/gzip_stream.h"

#include <stdlib.h>
#include <zlib.h>

/* windowBits 14 and memLevel 7 at most; zlib's gzip wrapper is asked for
 * by adding 16 to windowBits. */
#define WINDOW_BITS_MAX 14
#define WINDOW_BITS_MIN 9
#define GZIP_WRAPPER 16

struct gzip_stream {
	z_stream z;
	bool pending; /* input was deflated since the last flush */
};

/* The smallest window that still holds the whole input, and a hash table
 * to match (nginx's ngx_http_gzip_filter_deflate_start does the same). */
static void window_for(int64_t size_hint, int *wbits, int *memlevel)
{
	*wbits = WINDOW_BITS_MAX;
	*memlevel = WINDOW_BITS_MAX - 7;
	if (size_hint < 0)
		return;
	while (*wbits > WINDOW_BITS_MIN && size_hint < (int64_t)1 << (*wbits - 1)) {
		(*wbits)--;
		if (*memlevel > 1)
			(*memlevel)--;
	}
}

struct gzip_stream *gzip_stream_new(int level, int64_t size_hint)
{
	struct gzip_stream *gz = calloc(1, sizeof(*gz));
	int wbits, memlevel;

	if (!gz)
		return NULL;
	window_for(size_hint, &wbits, &memlevel);
	if (deflateInit2(&gz->z, level, Z_DEFLATED, wbits + GZIP_WRAPPER, memlevel,
			 Z_DEFAULT_STRATEGY) != Z_OK) {
		free(gz);
		return NULL;
	}
	return gz;
}

/* Run deflate with FLUSH until it needs more input (or, finishing, until
 * the stream ends), giving each filled piece to SINK. */
static int drive(struct gzip_stream *gz, int flush, gzip_sink_fn sink, void *arg)
{
	unsigned char piece[GZIP_PIECE_MAX];
	int rc;

	do {
		gz->z.next_out = piece;
		gz->z.avail_out = sizeof(piece);
		rc = deflate(&gz->z, flush);
		if (rc == Z_STREAM_ERROR)
			return -1;
		size_t made = sizeof(piece) - gz->z.avail_out;
		if (made && sink(arg, piece, made) < 0)
			return -1;
		/* A full piece may mean more is waiting, whatever deflate said. */
	} while (gz->z.avail_out == 0 || (flush == Z_FINISH && rc != Z_STREAM_END));
	return 0;
}

int gzip_stream_write(struct gzip_stream *gz, const void *data, size_t len, gzip_sink_fn sink,
		      void *arg)
{
	const unsigned char *p = data;

	while (len) {
		/* avail_in is an unsigned int */
		uInt n = len > (1u << 30) ? (1u << 30) : (uInt)len;
		gz->z.next_in = (unsigned char *)(uintptr_t)p;
		gz->z.avail_in = n;
		if (drive(gz, Z_NO_FLUSH, sink, arg) < 0)
			return -1;
		p += n;
		len -= n;
		gz->pending = true;
	}
	return 0;
}

int gzip_stream_flush(struct gzip_stream *gz, gzip_sink_fn sink, void *arg)
{
	if (!gz->pending)
		return 0; /* a second flush would add an empty block */
	gz->pending = false;
	gz->z.avail_in = 0;
	return drive(gz, Z_SYNC_FLUSH, sink, arg);
}

int gzip_stream_finish(struct gzip_stream *gz, gzip_sink_fn sink, void *arg)
{
	gz->z.avail_in = 0;
	gz->pending = false;
	return drive(gz, Z_FINISH, sink, arg);
}

uint64_t gzip_stream_bytes_in(const struct gzip_stream *gz)
{
	return gz->z.total_in;
}

uint64_t gzip_stream_bytes_out(const struct gzip_stream *gz)
{
	return gz->z.total_out;
}

void gzip_stream_free(struct gzip_stream *gz)
{
	if (!gz)
		return;
	deflateEnd(&gz->z);
	free(gz);
}
