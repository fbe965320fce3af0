/* gzip_stream.h — one gzip member deflated as its input streams in, with
 * zlib, and handed out piece by piece: nothing is kept but zlib's own
 * state, so a body of any length costs the same memory.
 *
 * The window shrinks for an input whose size is known and small (as nginx
 * does), and is at most 16 KiB (windowBits 14, memLevel 7): about 128 KiB
 * of zlib state per stream instead of the 256 KiB of zlib's defaults, for
 * a ratio on text that differs by a few percent.
 */
#ifndef LBD_GZIP_STREAM_H
#define LBD_GZIP_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct gzip_stream;

/* Where the compressed bytes go: called with each piece (at most
 * GZIP_PIECE_MAX bytes) as zlib makes it. Returns 0, or -1 to stop. */
typedef int (*gzip_sink_fn)(void *arg, const void *data, size_t len);

#define GZIP_PIECE_MAX (16 * 1024)

/* A new stream at LEVEL (1-9); SIZE_HINT is the input's length when it
 * is known, else -1. NULL when out of memory. */
struct gzip_stream *gzip_stream_new(int level, int64_t size_hint);

/* Deflate LEN bytes at DATA. Output may stay inside zlib until a flush
 * or the finish. Returns 0, or -1 (zlib failed, or the sink refused). */
int gzip_stream_write(struct gzip_stream *gz, const void *data, size_t len, gzip_sink_fn sink,
		      void *arg);

/* Hand out everything deflated so far (Z_SYNC_FLUSH), so that the reader
 * can inflate all of the input given until now. */
int gzip_stream_flush(struct gzip_stream *gz, gzip_sink_fn sink, void *arg);

/* End the member: the last deflated bytes and the gzip trailer. */
int gzip_stream_finish(struct gzip_stream *gz, gzip_sink_fn sink, void *arg);

/* Bytes given to the stream, and bytes it handed out. */
uint64_t gzip_stream_bytes_in(const struct gzip_stream *gz);
uint64_t gzip_stream_bytes_out(const struct gzip_stream *gz);

void gzip_stream_free(struct gzip_stream *gz);

#endif
