/* http_head.c — bounded storage for a message head. */
#include "http/http_head.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

void http_head_init(struct http_head *h, uint32_t max_bytes, uint32_t max_fields)
{
	memset(h, 0, sizeof(*h));
	h->max_bytes = max_bytes;
	h->max_fields = max_fields;
}

void http_head_reset(struct http_head *h)
{
	h->len = 0;
	h->nfields = 0;
	h->method_off = h->method_len = 0;
	h->url_off = h->url_len = 0;
	h->reason_off = h->reason_len = 0;
	h->overflow = HEAD_FITS;
	h->last = HEAD_SPAN_NONE;
}

void http_head_cache_free(struct http_head_cache *cache)
{
	while (cache->nbufs)
		free(cache->bufs[--cache->nbufs]);
	while (cache->nfields)
		free(cache->fields[--cache->nfields]);
}

void http_head_release(struct http_head *h)
{
	struct http_head_cache *cache = h->cache;

	if (cache && h->cap == HEAD_CACHE_BYTES && cache->nbufs < HEAD_CACHE_MAX)
		cache->bufs[cache->nbufs++] = h->buf;
	else
		free(h->buf);
	if (cache && h->fields_cap == HEAD_CACHE_FIELDS && cache->nfields < HEAD_CACHE_MAX)
		cache->fields[cache->nfields++] = h->fields;
	else
		free(h->fields);
	h->buf = NULL;
	h->fields = NULL;
	h->cap = h->fields_cap = 0;
	http_head_reset(h);
}

void http_head_free(struct http_head *h)
{
	http_head_release(h);
	memset(h, 0, sizeof(*h));
}

/* First storage of a head: from the cache when it has some. */
static void take_cached(struct http_head *h)
{
	struct http_head_cache *cache = h->cache;

	if (h->cap == 0 && cache && cache->nbufs) {
		h->buf = cache->bufs[--cache->nbufs];
		h->cap = HEAD_CACHE_BYTES;
	}
}

/* Copy a span; every span gets a NUL after it when it ends (callers rely on
 * that only through the _off/_len pairs, the NUL is a safety net). */
static int append(struct http_head *h, const char *at, size_t len)
{
	if (h->overflow != HEAD_FITS)
		return -1;
	if ((uint64_t)h->len + len + 1 > h->max_bytes) {
		h->overflow = HEAD_TOO_BIG;
		return -1;
	}
	take_cached(h);
	if (h->len + len + 1 > h->cap) {
		uint32_t cap = h->cap ? h->cap : HEAD_CACHE_BYTES;
		while (cap < h->len + len + 1)
			cap *= 2;
		if (cap > h->max_bytes)
			cap = h->max_bytes;
		char *buf = realloc(h->buf, cap);
		if (!buf) {
			h->overflow = HEAD_NO_MEMORY;
			return -1;
		}
		h->buf = buf;
		h->cap = cap;
	}
	memcpy(h->buf + h->len, at, len);
	h->len += (uint32_t)len;
	h->buf[h->len] = '\0';
	return 0;
}

/* A span continues the previous one when llhttp split it across reads; the
 * NUL written after the previous piece is overwritten by the next. */
static int add_span(struct http_head *h, int kind, const char *at, size_t len, uint32_t *off,
		    uint32_t *span_len)
{
	bool cont = h->last == kind;

	if (cont && h->len)
		h->len--; /* drop the NUL terminator, append after it */
	else
		*off = h->len;
	if (append(h, at, len) < 0)
		return -1;
	if (!cont)
		*span_len = 0;
	*span_len += (uint32_t)len;
	h->len++; /* keep the NUL */
	h->last = kind;
	return 0;
}

int http_head_add_method(struct http_head *h, const char *at, size_t len)
{
	return add_span(h, HEAD_SPAN_METHOD, at, len, &h->method_off, &h->method_len);
}

int http_head_add_url(struct http_head *h, const char *at, size_t len)
{
	return add_span(h, HEAD_SPAN_URL, at, len, &h->url_off, &h->url_len);
}

int http_head_add_reason(struct http_head *h, const char *at, size_t len)
{
	return add_span(h, HEAD_SPAN_REASON, at, len, &h->reason_off, &h->reason_len);
}

int http_head_add_name(struct http_head *h, const char *at, size_t len)
{
	if (h->last != HEAD_SPAN_NAME) {
		if (h->nfields == h->max_fields) {
			h->overflow = HEAD_TOO_MANY;
			return -1;
		}
		if (h->fields_cap == 0 && h->cache && h->cache->nfields) {
			h->fields = h->cache->fields[--h->cache->nfields];
			h->fields_cap = HEAD_CACHE_FIELDS;
		}
		if (h->nfields == h->fields_cap) {
			uint32_t cap = h->fields_cap ? h->fields_cap * 2 : HEAD_CACHE_FIELDS;
			struct http_field *f = realloc(h->fields, cap * sizeof(*f));
			if (!f) {
				h->overflow = HEAD_NO_MEMORY;
				return -1;
			}
			h->fields = f;
			h->fields_cap = cap;
		}
		memset(&h->fields[h->nfields++], 0, sizeof(struct http_field));
	}
	struct http_field *f = &h->fields[h->nfields - 1];
	return add_span(h, HEAD_SPAN_NAME, at, len, &f->name_off, &f->name_len);
}

int http_head_add_value(struct http_head *h, const char *at, size_t len)
{
	if (h->nfields == 0)
		return -1;
	struct http_field *f = &h->fields[h->nfields - 1];
	return add_span(h, HEAD_SPAN_VALUE, at, len, &f->value_off, &f->value_len);
}

int http_head_set_value(struct http_head *h, uint32_t i, const char *at, size_t len)
{
	uint32_t off = h->len;

	if (i >= h->nfields || append(h, at, len) < 0)
		return -1;
	h->fields[i].value_off = off;
	h->fields[i].value_len = (uint32_t)len;
	return 0;
}

const struct http_field *http_head_find(const struct http_head *h, const char *name,
					unsigned *count)
{
	const struct http_field *first = NULL;
	size_t len = strlen(name);
	unsigned n = 0;

	for (uint32_t i = 0; i < h->nfields; i++) {
		const struct http_field *f = &h->fields[i];
		if (f->name_len != len || strncasecmp(h->buf + f->name_off, name, len) != 0)
			continue;
		if (!first)
			first = &h->fields[i];
		n++;
	}
	if (count)
		*count = n;
	return first;
}

static bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

bool http_list_has_token(const char *list, size_t len, const char *token, size_t token_len)
{
	size_t i = 0;

	while (i < len) {
		while (i < len && (is_ows(list[i]) || list[i] == ','))
			i++;
		size_t start = i;
		while (i < len && list[i] != ',')
			i++;
		size_t end = i;
		while (end > start && is_ows(list[end - 1]))
			end--;
		if (end - start == token_len && strncasecmp(list + start, token, token_len) == 0)
			return true;
	}
	return false;
}

bool http_head_connection_names(const struct http_head *h, const struct http_field *f)
{
	for (uint32_t i = 0; i < h->nfields; i++) {
		const struct http_field *c = &h->fields[i];
		if (http_field_is(h, c, "connection") &&
		    http_list_has_token(h->buf + c->value_off, c->value_len, h->buf + f->name_off,
					f->name_len))
			return true;
	}
	return false;
}

static uint8_t count_breaks(const char *from, const char *to, uint8_t n)
{
	for (; from < to && n < 2; from++)
		if (*from == '\n')
			n++;
	return n;
}

void fold_guard_name(struct fold_guard *g, const char *at, size_t len, const char *chunk_end)
{
	/* A span that stops short of the bytes' end stopped at the colon;
	 * one that reaches it goes on in the next bytes. */
	if (at + len < chunk_end) {
		g->name_end = at + len;
		g->before_value = true;
		g->breaks = 0;
	}
}

bool fold_guard_value(struct fold_guard *g, const char *at, size_t len, const char *chunk,
		      char prev)
{
	if (!g->before_value)
		return (at > chunk ? at[-1] : prev) == '\n';
	uint8_t breaks = count_breaks(g->name_end ? g->name_end : chunk, at, g->breaks);
	g->before_value = false;
	g->name_end = NULL;
	return breaks > (len == 0 ? 1 : 0);
}

void fold_guard_end(struct fold_guard *g, const char *chunk, size_t used)
{
	if (g->before_value)
		g->breaks = count_breaks(g->name_end ? g->name_end : chunk, chunk + used,
					 g->breaks);
	g->name_end = NULL;
}
