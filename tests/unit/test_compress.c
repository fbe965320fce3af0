/* test_compress.c — listeners[].compression: the verdict for a response
 * (Accept-Encoding with q-values, media types, encoded, ranged, small,
 * no-transform, HEAD), the head as the client gets it, and the streamed
 * gzip encoder round-tripped through zlib's inflate. */
#include <check.h>

#include "check_main.h"
#include <event2/buffer.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "http/compress.h"
#include "http/http_rewrite.h"
#include "util/gzip_stream.h"

/* A head of NAME, VALUE pairs (NULL-ended), owned by the caller. */
static struct http_head *head_of(const char *const *kv)
{
	static struct http_head h;

	http_head_free(&h);
	http_head_init(&h, 8192, 32);
	for (size_t i = 0; kv && kv[i]; i += 2) {
		ck_assert_int_eq(http_head_add_name(&h, kv[i], strlen(kv[i])), 0);
		ck_assert_int_eq(http_head_add_value(&h, kv[i + 1], strlen(kv[i + 1])), 0);
	}
	return &h;
}

#define H(...) head_of((const char *const[]){ __VA_ARGS__, NULL })

static bool accepts(const char *value)
{
	return compress_accepts_gzip(H("Accept-Encoding", value));
}

START_TEST(accept_encoding_q_values)
{
	ck_assert(accepts("gzip"));
	ck_assert(accepts("GZip"));
	ck_assert(accepts("x-gzip"));
	ck_assert(accepts("deflate, gzip;q=0.8, br"));
	ck_assert(accepts("br ; q=1, gzip ; Q=0.001"));
	ck_assert(accepts("gzip;q=1.000"));
	ck_assert(accepts("*"));
	ck_assert(accepts("br, *;q=0.1"));
	ck_assert(!accepts(""));
	ck_assert(!accepts("identity"));
	ck_assert(!accepts("br, deflate"));
	ck_assert(!accepts("gzip;q=0"));
	ck_assert(!accepts("gzip;q=0.000"));
	ck_assert(!accepts("gzip;q=0, *")); /* an explicit refusal wins */
	ck_assert(!accepts("*;q=0"));
	ck_assert(!accepts("gzip;q=2"));      /* malformed: refused */
	ck_assert(!accepts("gzip;q=0.0001")); /* four decimals: malformed */
	ck_assert(!accepts("gzipx, xgzip"));
	ck_assert(!compress_accepts_gzip(H("Host", "x")));
	/* Several fields are one list; the first mention counts. */
	ck_assert(compress_accepts_gzip(H("Accept-Encoding", "br", "accept-encoding", "gzip")));
	ck_assert(!compress_accepts_gzip(
		H("Accept-Encoding", "gzip;q=0", "Accept-Encoding", "gzip")));
}
END_TEST

static char *types[] = { "text/html", "application/json", "image/*" };
static const struct compression_conf conf = {
	.enabled = true, .types = types, .ntypes = 3, .min_size = 1024, .level = 1
};

static enum compress_verdict decide(bool gzip, bool head, int status, int64_t length,
				    const struct http_head *h)
{
	return compress_decide(&conf, gzip, head, status, h, length);
}

START_TEST(verdict)
{
	const struct http_head *html = H("Content-Type", "text/html; charset=utf-8");

	ck_assert_int_eq(decide(true, false, 200, -1, html), COMPRESS_GZIP);
	ck_assert_int_eq(decide(true, false, 200, 1024, html), COMPRESS_GZIP);
	ck_assert_int_eq(decide(true, false, 404, 5000, html), COMPRESS_GZIP);
	ck_assert_int_eq(decide(true, false, 200, -1, H("Content-Type", " APPLICATION/Json ")),
			 COMPRESS_GZIP);
	ck_assert_int_eq(decide(true, false, 200, -1, H("Content-Type", "image/svg+xml")),
			 COMPRESS_GZIP);
	/* Eligible, but not for this client or not worth it: Vary only. */
	ck_assert_int_eq(decide(false, false, 200, -1, html), COMPRESS_VARY);
	ck_assert_int_eq(decide(true, true, 200, 5000, html), COMPRESS_VARY);
	ck_assert_int_eq(decide(true, false, 200, 1023, html), COMPRESS_VARY);
	/* Not eligible at all. */
	ck_assert_int_eq(decide(true, false, 200, -1, H("Content-Type", "text/htmlx")),
			 COMPRESS_NONE);
	ck_assert_int_eq(decide(true, false, 200, -1,
				H("Content-Type", "application/octet-stream")),
			 COMPRESS_NONE);
	ck_assert_int_eq(decide(true, false, 200, -1, H("Content-Type", "imagex/png")),
			 COMPRESS_NONE);
	ck_assert_int_eq(decide(true, false, 200, -1, H("X-Other", "1")), COMPRESS_NONE);
	ck_assert_int_eq(decide(true, false, 200, -1,
				H("Content-Type", "text/html", "Content-Encoding", "identity")),
			 COMPRESS_NONE);
	ck_assert_int_eq(decide(true, false, 206, -1, html), COMPRESS_NONE);
	ck_assert_int_eq(decide(true, false, 200, -1,
				H("Content-Type", "text/html", "Content-Range", "bytes 0-1/2")),
			 COMPRESS_NONE);
	ck_assert_int_eq(decide(true, false, 200, -1,
				H("Content-Type", "text/html", "Cache-Control",
				  "max-age=1, No-Transform")),
			 COMPRESS_NONE);
	ck_assert_int_eq(decide(true, false, 204, -1, html), COMPRESS_NONE);
	ck_assert_int_eq(decide(true, false, 304, -1, html), COMPRESS_NONE);
	ck_assert_int_eq(decide(true, false, 101, -1, html), COMPRESS_NONE);
	ck_assert_int_eq(compress_decide(NULL, true, false, 200, html, -1), COMPRESS_NONE);
}
END_TEST

/* The head an HTTP/1.1 client gets for H under verdict V. */
static char *written(enum compress_verdict v, const struct http_head *h)
{
	struct strbuf sb = { 0 };
	struct response_out out = {
		.status = 200,
		.body = v == COMPRESS_GZIP ? BODY_CHUNKED : BODY_LENGTH,
		.content_length = 5,
		.declared_length = -1,
		.keep_alive = true,
		.client_minor = 1,
		.compress = v,
	};

	ck_assert_int_eq(http_response_write(&sb, h, &out), 0);
	ck_assert(strbuf_reserve(&sb, 1));
	sb.data[sb.len] = '\0';
	return sb.data;
}

START_TEST(head_fields)
{
	char *s = written(COMPRESS_GZIP, H("Content-Type", "text/html", "ETag", "\"x\"", "Vary",
					   "Origin", "Content-Length", "5"));
	ck_assert_str_eq(s, "HTTP/1.1 200 \r\nContent-Type: text/html\r\nETag: W/\"x\"\r\n"
			    "Vary: Origin, Accept-Encoding\r\nContent-Encoding: gzip\r\n"
			    "Transfer-Encoding: chunked\r\n\r\n");
	free(s);
	s = written(COMPRESS_GZIP, H("ETag", "W/\"x\"", "Vary", "accept-encoding"));
	ck_assert_str_eq(s, "HTTP/1.1 200 \r\nETag: W/\"x\"\r\nVary: accept-encoding\r\n"
			    "Content-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n");
	free(s);
	s = written(COMPRESS_VARY, H("ETag", "\"x\"", "Vary", ""));
	ck_assert_str_eq(s, "HTTP/1.1 200 \r\nETag: \"x\"\r\nVary: Accept-Encoding\r\n"
			    "Content-Length: 5\r\n\r\n");
	free(s);
	s = written(COMPRESS_VARY, H("Content-Type", "text/html"));
	ck_assert_str_eq(s, "HTTP/1.1 200 \r\nContent-Type: text/html\r\n"
			    "Vary: Accept-Encoding\r\nContent-Length: 5\r\n\r\n");
	free(s);
	s = written(COMPRESS_NONE, H("ETag", "\"x\""));
	ck_assert_str_eq(s, "HTTP/1.1 200 \r\nETag: \"x\"\r\nContent-Length: 5\r\n\r\n");
	free(s);
}
END_TEST

struct collected {
	unsigned char *data;
	size_t len, cap, calls;
	int refuse_after; /* calls; -1: never */
};

static int collect(void *arg, const void *data, size_t len)
{
	struct collected *c = arg;

	ck_assert_uint_le(len, GZIP_PIECE_MAX);
	if (c->refuse_after >= 0 && c->calls >= (size_t)c->refuse_after)
		return -1;
	c->calls++;
	if (c->len + len > c->cap) {
		c->cap = (c->len + len) * 2;
		c->data = realloc(c->data, c->cap);
		ck_assert_ptr_nonnull(c->data);
	}
	memcpy(c->data + c->len, data, len);
	c->len += len;
	return 0;
}

/* Inflate the gzip member in C into OUT (capacity CAP): its length. */
static size_t inflate_all(const struct collected *c, unsigned char *out, size_t cap, bool *ended)
{
	z_stream z = { 0 };

	ck_assert_int_eq(inflateInit2(&z, 16 + 15), Z_OK);
	z.next_in = c->data;
	z.avail_in = (uInt)c->len;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	int rc = inflate(&z, Z_SYNC_FLUSH);
	ck_assert(rc == Z_OK || rc == Z_STREAM_END || rc == Z_BUF_ERROR);
	*ended = rc == Z_STREAM_END;
	size_t n = cap - z.avail_out;
	inflateEnd(&z);
	return n;
}

static unsigned char *sample(size_t n)
{
	unsigned char *p = malloc(n);
	unsigned seed = 1;

	ck_assert_ptr_nonnull(p);
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245 + 12345;
		/* text-like: words from a small alphabet, some noise */
		p[i] = (unsigned char)(i % 7 == 6 ? ' ' : 'a' + (seed >> 16) % 6);
	}
	return p;
}

START_TEST(stream_round_trip)
{
	size_t n = 3 * 1024 * 1024 + 17;
	unsigned char *in = sample(n), *out = malloc(n + 1);
	struct collected c = { .refuse_after = -1 };
	struct gzip_stream *gz = gzip_stream_new(1, -1);
	bool ended;

	ck_assert_ptr_nonnull(gz);
	ck_assert_ptr_nonnull(out);
	/* Many small pieces of odd sizes, a flush now and then. */
	for (size_t at = 0, step = 1; at < n; at += step, step = step * 3 % 4099 + 1) {
		if (step > n - at)
			step = n - at;
		ck_assert_int_eq(gzip_stream_write(gz, in + at, step, collect, &c), 0);
		if (at % 7 == 0) {
			ck_assert_int_eq(gzip_stream_flush(gz, collect, &c), 0);
			/* Everything given so far inflates now. */
			ck_assert_uint_eq(inflate_all(&c, out, n + 1, &ended), at + step);
			ck_assert(!ended);
		}
	}
	ck_assert_int_eq(gzip_stream_finish(gz, collect, &c), 0);
	ck_assert_uint_eq(gzip_stream_bytes_in(gz), n);
	ck_assert_uint_eq(gzip_stream_bytes_out(gz), c.len);
	ck_assert_uint_lt(c.len, n / 2);
	gzip_stream_free(gz);
	ck_assert_uint_eq(inflate_all(&c, out, n + 1, &ended), n);
	ck_assert(ended);
	ck_assert_mem_eq(out, in, n);
	free(c.data);
	free(in);
	free(out);
}
END_TEST

START_TEST(stream_small_and_empty)
{
	unsigned char out[64];
	bool ended;

	for (int64_t hint = -1; hint <= 1000000; hint = hint < 0 ? 0 : hint * 10 + 1) {
		struct collected c = { .refuse_after = -1 };
		struct gzip_stream *gz = gzip_stream_new(9, hint);
		ck_assert_ptr_nonnull(gz);
		ck_assert_int_eq(gzip_stream_flush(gz, collect, &c), 0); /* nothing yet */
		ck_assert_int_eq(gzip_stream_write(gz, "hello", 5, collect, &c), 0);
		ck_assert_int_eq(gzip_stream_finish(gz, collect, &c), 0);
		gzip_stream_free(gz);
		ck_assert_uint_eq(inflate_all(&c, out, sizeof(out), &ended), 5);
		ck_assert(ended);
		ck_assert_mem_eq(out, "hello", 5);
		free(c.data);
	}
	struct collected c = { .refuse_after = -1 };
	struct gzip_stream *gz = gzip_stream_new(1, 0);
	ck_assert_int_eq(gzip_stream_finish(gz, collect, &c), 0);
	gzip_stream_free(gz);
	ck_assert_uint_eq(inflate_all(&c, out, sizeof(out), &ended), 0);
	ck_assert(ended);
	free(c.data);
	gzip_stream_free(NULL);
}
END_TEST

START_TEST(sink_refusal_is_an_error)
{
	size_t n = 1 << 20;
	unsigned char *in = sample(n);
	struct collected c = { .refuse_after = 0 };
	struct gzip_stream *gz = gzip_stream_new(1, -1);

	ck_assert_int_eq(gzip_stream_write(gz, in, n, collect, &c), -1);
	gzip_stream_free(gz);
	free(in);
	free(c.data);
}
END_TEST

/* compress_body_*: chunks on an evbuffer, the encoder freed at the end. */
START_TEST(body_through_the_encoder)
{
	struct response_compression rc = { .conf = &conf, .client_gzip = true };
	struct evbuffer *out = evbuffer_new();

	compress_start(&rc, 200, H("Content-Type", "text/html"), -1);
	ck_assert_int_eq(rc.verdict, COMPRESS_GZIP);
	ck_assert(compress_active(&rc));
	ck_assert_int_eq(compress_body_write(&rc, out, BODY_EOF, "abcabcabc", 9), 0);
	ck_assert_int_eq(compress_body_flush(&rc, out, BODY_EOF), 0);
	ck_assert_int_eq(compress_body_finish(&rc, out, BODY_EOF), 0);
	ck_assert(!compress_active(&rc));
	struct collected c = { .refuse_after = -1 };
	size_t len = evbuffer_get_length(out);
	c.data = malloc(len);
	c.len = len;
	evbuffer_remove(out, c.data, len);
	unsigned char text[16];
	bool ended;
	ck_assert_uint_eq(inflate_all(&c, text, sizeof(text), &ended), 9);
	ck_assert(ended);
	compress_start(&rc, 200, H("Content-Type", "text/html"), 10);
	ck_assert_int_eq(rc.verdict, COMPRESS_VARY);
	ck_assert(!compress_active(&rc));
	compress_end(&rc);
	free(c.data);
	evbuffer_free(out);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("compress");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, accept_encoding_q_values);
	tcase_add_test(tc, verdict);
	tcase_add_test(tc, head_fields);
	tcase_add_test(tc, stream_round_trip);
	tcase_add_test(tc, stream_small_and_empty);
	tcase_add_test(tc, sink_refusal_is_an_error);
	tcase_add_test(tc, body_through_the_encoder);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
