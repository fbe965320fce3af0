/* head_parser.h — a request-head parser for the tests and fuzz targets,
 * built the way http_client.c parses: llhttp into a bounded http_head,
 * obs-fold refused, paused at the end of the head. Feed it with
 * head_parser_feed(); PREV is the byte before DATA (0 at the start). */
#ifndef LBD_TESTS_HEAD_PARSER_H
#define LBD_TESTS_HEAD_PARSER_H

#include <llhttp.h>
#include <string.h>

#include "http/http_head.h"

struct head_parser {
	llhttp_t p;
	struct http_head h;
	int done;             /* the head is complete */
	const char *chunk;
	char prev;
};

static int head_parser_url(llhttp_t *p, const char *at, size_t len)
{
	return http_head_add_url(&((struct head_parser *)p->data)->h, at, len);
}

static int head_parser_field(llhttp_t *p, const char *at, size_t len)
{
	return http_head_add_name(&((struct head_parser *)p->data)->h, at, len);
}

static int head_parser_value(llhttp_t *p, const char *at, size_t len)
{
	struct head_parser *r = p->data;

	if (http_value_is_folded(at, r->chunk, r->prev))
		return -1;
	return http_head_add_value(&r->h, at, len);
}

static int head_parser_headers_complete(llhttp_t *p)
{
	((struct head_parser *)p->data)->done = 1;
	return HPE_PAUSED;
}

static const llhttp_settings_t head_parser_settings = {
	.on_url = head_parser_url,
	.on_header_field = head_parser_field,
	.on_header_value = head_parser_value,
	.on_headers_complete = head_parser_headers_complete,
};

static inline void head_parser_init(struct head_parser *r, uint32_t max_bytes, uint32_t max_fields)
{
	memset(r, 0, sizeof(*r));
	http_head_init(&r->h, max_bytes, max_fields);
	llhttp_init(&r->p, HTTP_REQUEST, &head_parser_settings);
	r->p.data = r;
}

static inline enum llhttp_errno head_parser_feed(struct head_parser *r, const char *data,
						 size_t len, char prev)
{
	r->chunk = data;
	r->prev = prev;
	return llhttp_execute(&r->p, data, len);
}

#endif
