/* http_head.h — a parsed HTTP/1 message head (request or response).
 *
 * llhttp hands out spans that point into the read buffer and may be split
 * across reads; the head copies them into one bounded buffer so that it
 * outlives the input it came from. The bound is the configured header_size:
 * a head that does not fit is refused (431 for requests, 502 for
 * responses), never grown without limit.
 */
#ifndef LBD_HTTP_HEAD_H
#define LBD_HTTP_HEAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "http/http_name.h"

struct http_field {
	uint32_t name_off, name_len;
	uint32_t value_off, value_len;
	uint8_t name_id; /* enum http_name, kept up to date as the name grows */
};

/* Storage of the common size, recycled between the heads of one worker so
 * that a busy keep-alive connection allocates nothing per request and an
 * idle one holds nothing: idle connections give their storage back, active
 * ones take it. Bounded: beyond HEAD_CACHE_MAX blocks, storage is freed. */
#define HEAD_CACHE_BYTES 1024
#define HEAD_CACHE_FIELDS 16
#define HEAD_CACHE_MAX 256

struct http_head_cache {
	void *bufs[HEAD_CACHE_MAX];
	void *fields[HEAD_CACHE_MAX];
	unsigned nbufs, nfields;
};

void http_head_cache_free(struct http_head_cache *cache);

enum http_head_overflow {
	HEAD_FITS,
	HEAD_TOO_BIG,  /* more bytes than the limit */
	HEAD_TOO_MANY, /* more fields than the limit */
	HEAD_NO_MEMORY,
};

enum {
	HEAD_SPAN_NONE,
	HEAD_SPAN_METHOD,
	HEAD_SPAN_URL,
	HEAD_SPAN_REASON,
	HEAD_SPAN_NAME,
	HEAD_SPAN_VALUE
};

struct http_head {
	char *buf;
	uint32_t len, cap, max_bytes;
	struct http_field *fields;
	uint32_t nfields, fields_cap, max_fields;
	uint32_t method_off, method_len; /* method, requests only */
	uint32_t url_off, url_len;       /* request-target, requests only */
	uint32_t reason_off, reason_len; /* reason phrase, responses only */
	enum http_head_overflow overflow;
	int last;                      /* which span was appended last (HEAD_SPAN_) */
	struct http_head_cache *cache; /* where storage comes from, or NULL */
	/* The names (HTTP_NAME_BIT) some field may have: a name split across
	 * reads can leave the bit of what its first part was, so a bit is a
	 * hint, and a missing bit is a certainty. */
	uint64_t names;
	/* Set by http_head_complete(): what the Connection fields name. */
	bool connection_known;   /* the two below hold */
	bool connection_other;   /* a name that is not a known one */
	uint64_t connection_ids; /* the known names (HTTP_NAME_BIT) */
};

void http_head_init(struct http_head *h, uint32_t max_bytes, uint32_t max_fields);
void http_head_reset(struct http_head *h);
/* Give the storage back (to the cache when there is one); the head stays
 * usable and takes storage again when something is added. */
void http_head_release(struct http_head *h);
void http_head_free(struct http_head *h);

/* Append a span of the method, request-target, reason, field name or field
 * value.
 * Return 0, or -1 once the head overflows (see h->overflow). */
int http_head_add_method(struct http_head *h, const char *at, size_t len);
int http_head_add_url(struct http_head *h, const char *at, size_t len);
int http_head_add_reason(struct http_head *h, const char *at, size_t len);
int http_head_add_name(struct http_head *h, const char *at, size_t len);
int http_head_add_value(struct http_head *h, const char *at, size_t len);

/* The head is complete: note what its Connection fields name, which every
 * field's hop-by-hop check asks (http_head_connection_names). A head that
 * was never completed answers the same, by comparing names. */
void http_head_complete(struct http_head *h);

/* Give field I of a complete head the value AT (LEN bytes), stored after
 * what the head holds, within its bound. Returns 0, or -1 once the head
 * overflows. */
int http_head_set_value(struct http_head *h, uint32_t i, const char *at, size_t len);

/* llhttp accepts obs-fold (a field value continued on the next line); RFC
 * 9112 §5.2 lets a proxy refuse it, and lbd does, since folded values are a
 * smuggling vector. llhttp hands a continuation over as one more value span
 * that starts right after a line break, and a value that only begins on a
 * continuation line ("X:\r\n b") as a first span with a line break between
 * the name and itself. An empty value ("X:\r\n") is a span of no bytes at
 * the start of the next line: one line break, its own, and no fold. The
 * guard watches the raw bytes between a field's name and its value. */
struct fold_guard {
	const char *name_end; /* in the bytes being parsed; NULL: before them */
	bool before_value;    /* a name ended, its value has not begun */
	uint8_t breaks;       /* line feeds since the name in earlier bytes (to 2) */
};

/* A name span AT, LEN of the bytes being parsed, which end at CHUNK_END. */
void fold_guard_name(struct fold_guard *g, const char *at, size_t len, const char *chunk_end);

/* A value span AT, LEN of the bytes starting at CHUNK (PREV: the last byte
 * before them). True when it is (or follows) a fold. */
bool fold_guard_value(struct fold_guard *g, const char *at, size_t len, const char *chunk,
		      char prev);

/* The parser used USED bytes at CHUNK. */
void fold_guard_end(struct fold_guard *g, const char *chunk, size_t used);

static inline const char *http_field_name(const struct http_head *h, const struct http_field *f)
{
	return h->buf + f->name_off;
}

static inline const char *http_field_value(const struct http_head *h, const struct http_field *f)
{
	return h->buf + f->value_off;
}

/* The first field named NAME (LEN bytes, case-insensitive), or NULL.
 * COUNT, when not NULL, receives how many fields have that name. */
const struct http_field *http_head_find_name(const struct http_head *h, const char *name,
					     size_t len, unsigned *count);

/* The same for a NUL-terminated NAME; inline, so that a literal's length
 * is known when compiling. */
static inline const struct http_field *http_head_find(const struct http_head *h, const char *name,
						      unsigned *count)
{
	return http_head_find_name(h, name, strlen(name), count);
}

/* Whether H may have a field named ID: false is certain, true a hint. */
static inline bool http_head_may_have(const struct http_head *h, enum http_name id)
{
	return (h->names & HTTP_NAME_BIT(id)) != 0;
}

const struct http_field *http_head_find_known(const struct http_head *h, enum http_name id,
					      unsigned *count);

/* http_head_find() for a known name ID (not HN_OTHER). Inline: most of
 * the fields asked for are absent, which one bit test tells. */
static inline const struct http_field *http_head_find_id(const struct http_head *h,
							 enum http_name id, unsigned *count)
{
	if (http_head_may_have(h, id))
		return http_head_find_known(h, id, count);
	if (count)
		*count = 0;
	return NULL;
}

/* True when field name F equals NAME, case-insensitively. */
static inline bool http_field_is(const struct http_head *h, const struct http_field *f,
				 const char *name)
{
	/* Inline: strlen() of a literal name folds away, and the length is
	 * compared before any byte (this runs for every field of every head
	 * against several names). */
	size_t n = strlen(name);

	return f->name_len == n && strncasecmp(h->buf + f->name_off, name, n) == 0;
}

/* True when a token of a comma-separated list equals TOKEN,
 * case-insensitively ("keep-alive, Upgrade" has "upgrade"). */
bool http_list_has_token(const char *list, size_t len, const char *token, size_t token_len);

bool http_head_connection_lists(const struct http_head *h, const struct http_field *f);

/* True when any Connection field of H lists the field name of F. Inline:
 * asked for every field, and most heads have no Connection field. */
static inline bool http_head_connection_names(const struct http_head *h, const struct http_field *f)
{
	return http_head_may_have(h, HN_CONNECTION) && http_head_connection_lists(h, f);
}

#endif
