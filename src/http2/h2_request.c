/* h2_request.c — HTTP/2 request fields into an HTTP/1.1 head (h2_request.h). */
#include "http2/h2_request.h"

#include <string.h>

/* RFC 9113 §6.5.2: each field counts its name, its value and 32 bytes. */
#define FIELD_OVERHEAD 32

void h2_request_init(struct h2_request *r, uint64_t max_size, uint32_t max_fields)
{
	memset(r, 0, sizeof(*r));
	r->max_size = max_size;
	r->max_fields = max_fields;
}

void h2_request_reset(struct h2_request *r, uint64_t max_size, uint32_t max_fields)
{
	struct strbuf *bufs[] = { &r->method, &r->path, &r->authority, &r->fields, &r->cookie };

	for (size_t i = 0; i < sizeof(bufs) / sizeof(bufs[0]); i++) {
		bufs[i]->len = 0;
		bufs[i]->failed = false;
	}
	r->max_size = max_size;
	r->max_fields = max_fields;
	r->size = 0;
	r->nfields = 0;
	r->over_limit = false;
	r->has_length = false;
}

void h2_request_free(struct h2_request *r)
{
	strbuf_free(&r->method);
	strbuf_free(&r->path);
	strbuf_free(&r->authority);
	strbuf_free(&r->fields);
	strbuf_free(&r->cookie);
}

static bool is(const uint8_t *name, size_t len, const char *what)
{
	return len == strlen(what) && memcmp(name, what, len) == 0;
}

static void set(struct strbuf *sb, const uint8_t *value, size_t len)
{
	sb->len = 0;
	strbuf_add(sb, value, len);
}

int h2_request_field(struct h2_request *r, const uint8_t *name, size_t name_len,
		     const uint8_t *value, size_t value_len)
{
	bool pseudo = name_len && name[0] == ':';

	r->size += name_len + value_len + FIELD_OVERHEAD;
	r->nfields += !pseudo; /* limits.headers counts header fields */
	if (r->over_limit || r->size > r->max_size || r->nfields > r->max_fields) {
		r->over_limit = true;
		return -1;
	}
	if (pseudo) {
		if (is(name, name_len, ":method"))
			set(&r->method, value, value_len);
		else if (is(name, name_len, ":path"))
			set(&r->path, value, value_len);
		else if (is(name, name_len, ":authority"))
			set(&r->authority, value, value_len);
		return 0; /* :scheme: lbd knows its own */
	}
	if (is(name, name_len, "cookie")) {
		if (r->cookie.len)
			strbuf_add(&r->cookie, "; ", 2);
		strbuf_add(&r->cookie, value, value_len);
		return 0;
	}
	if (is(name, name_len, "te"))
		return 0; /* "trailers" at most (nghttp2 checked): hop-by-hop */
	if (is(name, name_len, "content-length"))
		r->has_length = true;
	if (is(name, name_len, "host")) {
		if (r->authority.len)
			return 0; /* :authority wins (RFC 9113 §8.3.1) */
		set(&r->authority, value, value_len);
		return 0;
	}
	strbuf_add(&r->fields, name, name_len);
	strbuf_add(&r->fields, ": ", 2);
	strbuf_add(&r->fields, value, value_len);
	strbuf_add(&r->fields, "\r\n", 2);
	return 0;
}

int h2_request_render(struct h2_request *r, bool end_stream, struct strbuf *out)
{
	bool connect = r->path.len == 0; /* CONNECT names only :authority */

	strbuf_add(out, r->method.data, r->method.len);
	strbuf_add(out, " ", 1);
	if (connect)
		strbuf_add(out, r->authority.data, r->authority.len);
	else
		strbuf_add(out, r->path.data, r->path.len);
	strbuf_adds(out, " HTTP/1.1\r\n");
	if (r->authority.len) {
		strbuf_adds(out, "Host: ");
		strbuf_add(out, r->authority.data, r->authority.len);
		strbuf_add(out, "\r\n", 2);
	}
	strbuf_add(out, r->fields.data, r->fields.len);
	if (r->cookie.len) {
		strbuf_adds(out, "Cookie: ");
		strbuf_add(out, r->cookie.data, r->cookie.len);
		strbuf_add(out, "\r\n", 2);
	}
	if (!end_stream && !r->has_length)
		strbuf_adds(out, "Transfer-Encoding: chunked\r\n");
	else if (end_stream)
		r->has_length = true; /* no body: nothing to frame */
	strbuf_add(out, "\r\n", 2);
	return strbuf_failed(out) || strbuf_failed(&r->fields) || strbuf_failed(&r->cookie) ||
			       strbuf_failed(&r->method) || strbuf_failed(&r->path) ||
			       strbuf_failed(&r->authority) ?
		       -1 :
		       0;
}
