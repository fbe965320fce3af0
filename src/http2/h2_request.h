/* h2_request.h — an HTTP/2 request's header fields (RFC 9113 §8.3) turned
 * into the HTTP/1.1 head the request parser reads, so that an HTTP/2
 * stream goes through the very checks, routes and rewriting an HTTP/1
 * request does (http/request_parser.h, http/exchange.c).
 *
 * :method and :path make the request line, :authority the Host field
 * (a Host field beside it is dropped), cookie crumbs are joined into one
 * Cookie field (§8.2.3), and a body without Content-Length is sent
 * chunked. nghttp2 has already checked the fields' syntax, the pseudo
 * fields and the connection-specific fields (§8.2.2); the limits of the
 * head (limits.header_size, limits.headers) are enforced here as fields
 * arrive, so no header list is ever kept past them.
 *
 * No sockets and no session: the stream feeds fields and renders.
 */
#ifndef LBD_H2_REQUEST_H
#define LBD_H2_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/strbuf.h"

struct h2_request {
	uint64_t max_size; /* the header list's size (RFC 9113 §6.5.2) */
	uint32_t max_fields;
	uint64_t size;
	uint32_t nfields; /* header fields, pseudo fields not counted */
	bool over_limit;  /* refused with 431: later fields are dropped */
	bool has_length;  /* a content-length field came */
	struct strbuf method, path, authority;
	struct strbuf fields; /* "name: value\r\n"... */
	struct strbuf cookie; /* the crumbs, joined by "; " */
};

/* Start with the limits of the head: anew (zeroed storage), or again,
 * keeping the storage of an earlier request. */
void h2_request_init(struct h2_request *r, uint64_t max_size, uint32_t max_fields);
void h2_request_reset(struct h2_request *r, uint64_t max_size, uint32_t max_fields);
void h2_request_free(struct h2_request *r);

/* Add one field. Returns 0, or -1 when the head went over a limit (it is
 * refused with 431 once complete; the field is dropped). */
int h2_request_field(struct h2_request *r, const uint8_t *name, size_t name_len,
		     const uint8_t *value, size_t value_len);

/* Append the HTTP/1.1 head to OUT; END_STREAM: the request has no body.
 * Returns 0, or -1 out of memory. */
int h2_request_render(struct h2_request *r, bool end_stream, struct strbuf *out);

/* Whether the rendered head said chunked: the body's DATA is framed as
 * chunks (a chunk per DATA frame, and the last chunk at its end). */
static inline bool h2_request_chunked(const struct h2_request *r)
{
	return !r->has_length;
}

#endif
