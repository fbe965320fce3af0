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
	h->names = 0;
	h->connection_known = false;
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

/* Room for NEED bytes within the bound: cached storage first, then a
 * bigger block. */
static int grow(struct http_head *h, uint64_t need)
{
	struct http_head_cache *cache = h->cache;

	if (need > h->max_bytes) {
		h->overflow = HEAD_TOO_BIG;
		return -1;
	}
	if (h->cap == 0 && cache && cache->nbufs) {
		h->buf = cache->bufs[--cache->nbufs];
		h->cap = HEAD_CACHE_BYTES;
	}
	if (need <= h->cap)
		return 0;
	uint32_t cap = h->cap ? h->cap : HEAD_CACHE_BYTES;
	while (cap < need)
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
	return 0;
}

/* Copy a span; every span gets a NUL after it when it ends (callers rely on
 * that only through the _off/_len pairs, the NUL is a safety net). */
static inline int append(struct http_head *h, const char *at, size_t len)
{
	uint64_t need = (uint64_t)h->len + len + 1;

	if (h->overflow != HEAD_FITS)
		return -1;
	/* A cached block can be larger than a small bound. */
	if ((need > h->cap || need > h->max_bytes) && grow(h, need) < 0)
		return -1;
	memcpy(h->buf + h->len, at, len);
	h->len += (uint32_t)len;
	h->buf[h->len] = '\0';
	return 0;
}

/* A span continues the previous one when llhttp split it across reads; the
 * NUL written after the previous piece is overwritten by the next. */
static inline int add_span(struct http_head *h, int kind, const char *at, size_t len, uint32_t *off,
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

/* Room for one more field (within the limit: the caller's check). */
static int field_room(struct http_head *h)
{
	if (h->nfields < h->fields_cap)
		return 0;
	if (h->fields_cap == 0 && h->cache && h->cache->nfields) {
		h->fields = h->cache->fields[--h->cache->nfields];
		h->fields_cap = HEAD_CACHE_FIELDS;
		return 0;
	}
	uint32_t cap = h->fields_cap ? h->fields_cap * 2 : HEAD_CACHE_FIELDS;
	struct http_field *f = realloc(h->fields, cap * sizeof(*f));
	if (!f) {
		h->overflow = HEAD_NO_MEMORY;
		return -1;
	}
	h->fields = f;
	h->fields_cap = cap;
	return 0;
}

int http_head_add_name(struct http_head *h, const char *at, size_t len)
{
	if (h->last != HEAD_SPAN_NAME) {
		if (h->nfields == h->max_fields) {
			h->overflow = HEAD_TOO_MANY;
			return -1;
		}
		if (field_room(h) < 0)
			return -1;
		h->fields[h->nfields++] = (struct http_field){ 0 };
	}
	struct http_field *f = &h->fields[h->nfields - 1];
	if (add_span(h, HEAD_SPAN_NAME, at, len, &f->name_off, &f->name_len) < 0)
		return -1;
	/* Again for each piece of a split name: the id is always that of
	 * the name so far. */
	f->name_id = (uint8_t)http_name_of(h->buf + f->name_off, f->name_len);
	h->names |= HTTP_NAME_BIT(f->name_id);
	h->connection_known = false;
	return 0;
}

int http_head_add_value(struct http_head *h, const char *at, size_t len)
{
	if (h->nfields == 0)
		return -1;
	struct http_field *f = &h->fields[h->nfields - 1];
	h->connection_known = false;
	return add_span(h, HEAD_SPAN_VALUE, at, len, &f->value_off, &f->value_len);
}

int http_head_set_value(struct http_head *h, uint32_t i, const char *at, size_t len)
{
	uint32_t off = h->len;

	if (i >= h->nfields || append(h, at, len) < 0)
		return -1;
	h->fields[i].value_off = off;
	h->fields[i].value_len = (uint32_t)len;
	if (h->connection_known && h->fields[i].name_id == HN_CONNECTION)
		http_head_complete(h);
	return 0;
}

/* The fields named ID; NAME (LEN bytes) tells HN_OTHER names apart. */
static const struct http_field *find(const struct http_head *h, enum http_name id, const char *name,
				     size_t len, unsigned *count)
{
	const struct http_field *first = NULL;
	uint32_t nfields = http_head_may_have(h, id) ? h->nfields : 0;
	unsigned n = 0;

	for (uint32_t i = 0; i < nfields; i++) {
		const struct http_field *f = &h->fields[i];
		if (f->name_id != id ||
		    (id == HN_OTHER &&
		     (f->name_len != len || strncasecmp(h->buf + f->name_off, name, len) != 0)))
			continue;
		if (!first)
			first = f;
		n++;
	}
	if (count)
		*count = n;
	return first;
}

const struct http_field *http_head_find_name(const struct http_head *h, const char *name,
					     size_t len, unsigned *count)
{
	return find(h, http_name_of(name, len), name, len, count);
}

const struct http_field *http_head_find_known(const struct http_head *h, enum http_name id,
					      unsigned *count)
{
	return find(h, id, NULL, 0, count);
}

static bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* The next token of a comma-separated list from *POS on (OWS trimmed; the
 * empty one after a trailing separator too): its start, its length in
 * *TOKEN_LEN. False at the end. */
static bool next_token(const char *list, size_t len, size_t *pos, const char **token,
		       size_t *token_len)
{
	size_t i = *pos;

	if (i >= len)
		return false;
	while (i < len && (is_ows(list[i]) || list[i] == ','))
		i++;
	size_t start = i;
	while (i < len && list[i] != ',')
		i++;
	size_t end = i;
	while (end > start && is_ows(list[end - 1]))
		end--;
	*pos = i;
	*token = list + start;
	*token_len = end - start;
	return true;
}

bool http_list_has_token(const char *list, size_t len, const char *token, size_t token_len)
{
	const char *t;
	size_t pos = 0, n;

	while (next_token(list, len, &pos, &t, &n))
		if (n == token_len && strncasecmp(t, token, token_len) == 0)
			return true;
	return false;
}

/* Note what the Connection field value V (LEN bytes) names. */
static void note_tokens(struct http_head *h, const char *v, size_t len)
{
	const char *t;
	size_t pos = 0, n;

	while (next_token(v, len, &pos, &t, &n)) {
		enum http_name id = http_name_of(t, n);
		if (id == HN_OTHER)
			h->connection_other = true;
		else
			h->connection_ids |= HTTP_NAME_BIT(id);
	}
}

void http_head_complete(struct http_head *h)
{
	uint32_t nfields = http_head_may_have(h, HN_CONNECTION) ? h->nfields : 0;

	h->connection_ids = 0;
	h->connection_other = false;
	for (uint32_t i = 0; i < nfields; i++) {
		const struct http_field *c = &h->fields[i];
		if (c->name_id == HN_CONNECTION)
			note_tokens(h, h->buf + c->value_off, c->value_len);
	}
	h->connection_known = true;
}

/* By comparing names, as a head that was not completed must. */
static bool connection_lists(const struct http_head *h, const struct http_field *f)
{
	for (uint32_t i = 0; i < h->nfields; i++) {
		const struct http_field *c = &h->fields[i];
		if (c->name_id == HN_CONNECTION &&
		    http_list_has_token(h->buf + c->value_off, c->value_len, h->buf + f->name_off,
					f->name_len))
			return true;
	}
	return false;
}

bool http_head_connection_lists(const struct http_head *h, const struct http_field *f)
{
	if (!h->connection_known)
		return connection_lists(h, f);
	/* A known name is listed when a token is that name; another one can
	 * only be listed by a token that is not a known name either. */
	if (f->name_id != HN_OTHER)
		return (h->connection_ids & HTTP_NAME_BIT(f->name_id)) != 0;
	return h->connection_other && connection_lists(h, f);
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
