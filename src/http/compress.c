/* compress.c — gzip for the responses a listener's compression names
 * (compress.h). */
#include "http/compress.h"

#include <event2/buffer.h>
#include <stdatomic.h>
#include <string.h>
#include <strings.h>

#include "core/runtime.h"

static bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* [S, E) without the white space around it. */
static void trim(const char **s, const char **e)
{
	while (*s < *e && is_ows(**s))
		(*s)++;
	while (*e > *s && is_ows((*e)[-1]))
		(*e)--;
}

static bool span_is(const char *s, const char *e, const char *word)
{
	size_t n = strlen(word);

	return (size_t)(e - s) == n && strncasecmp(s, word, n) == 0;
}

/* The q-value of one element's parameters (";q=0.5"), RFC 9110 §12.4.2:
 * 1000 for 1, 0 for 0; a malformed one is 0, so that a coding the client
 * meant to refuse is never chosen by mistake. */
static int element_q(const char *p, const char *e)
{
	while (p < e) {
		const char *next = memchr(p, ';', (size_t)(e - p));
		const char *end = next ? next : e, *s = p;
		trim(&s, &end);
		if (end - s >= 2 && (s[0] == 'q' || s[0] == 'Q') && s[1] == '=') {
			s += 2;
			if (s < end && *s == '1') {
				for (s++, s += s < end && *s == '.'; s < end; s++)
					if (*s != '0')
						return 0;
				return 1000;
			}
			if (s >= end || *s != '0')
				return 0;
			int q = 0, digits = 0;
			for (s++, s += s < end && *s == '.'; s < end; s++, digits++) {
				if (*s < '0' || *s > '9' || digits == 3)
					return 0;
				q = q * 10 + (*s - '0');
			}
			for (; digits < 3; digits++)
				q *= 10;
			return q;
		}
		p = next ? next + 1 : e;
	}
	return 1000;
}

bool compress_accepts_gzip(const struct http_head *req)
{
	int gzip_q = -1, star_q = -1;

	for (uint32_t i = 0; i < req->nfields; i++) {
		const struct http_field *f = &req->fields[i];
		if (f->name_id != HN_ACCEPT_ENCODING)
			continue;
		const char *p = http_field_value(req, f), *end = p + f->value_len;
		while (p < end) {
			const char *comma = memchr(p, ',', (size_t)(end - p));
			const char *e = comma ? comma : end;
			const char *semi = memchr(p, ';', (size_t)(e - p));
			const char *s = p, *name_end = semi ? semi : e;
			trim(&s, &name_end);
			int q = element_q(semi ? semi + 1 : e, e);
			/* The first mention of a coding is the one that counts. */
			if ((span_is(s, name_end, "gzip") || span_is(s, name_end, "x-gzip")) &&
			    gzip_q < 0)
				gzip_q = q;
			else if (span_is(s, name_end, "*") && star_q < 0)
				star_q = q;
			p = comma ? comma + 1 : end;
		}
	}
	return gzip_q >= 0 ? gzip_q > 0 : star_q > 0;
}

/* Whether the media type of Content-Type VALUE (parameters aside) is one
 * of CONF's: exact, or under a "type/ *" entry. */
static bool type_listed(const struct compression_conf *conf, const char *value, size_t len)
{
	const char *s = value, *e = memchr(value, ';', len);

	if (!e)
		e = value + len;
	trim(&s, &e);
	for (size_t i = 0; i < conf->ntypes; i++) {
		const char *t = conf->types[i];
		size_t n = strlen(t);
		if (n >= 2 && t[n - 1] == '*' && t[n - 2] == '/') {
			if ((size_t)(e - s) > n - 1 && strncasecmp(s, t, n - 1) == 0)
				return true;
		} else if (span_is(s, e, t)) {
			return true;
		}
	}
	return false;
}

static bool any_field_has(const struct http_head *h, enum http_name name, const char *token)
{
	uint32_t nfields = http_head_may_have(h, name) ? h->nfields : 0;

	for (uint32_t i = 0; i < nfields; i++) {
		const struct http_field *f = &h->fields[i];
		if (f->name_id == name &&
		    http_list_has_token(http_field_value(h, f), f->value_len, token, strlen(token)))
			return true;
	}
	return false;
}

enum compress_verdict compress_decide(const struct compression_conf *conf, bool client_gzip,
				      bool is_head, int status, const struct http_head *resp,
				      int64_t content_length)
{
	const struct http_field *type;

	if (!conf || !conf->enabled)
		return COMPRESS_NONE;
	/* No body, a part of one, or a body the server encoded or asked to
	 * keep as it is (RFC 9110 §7.7). */
	if (status < 200 || status == 204 || status == 206 || status == 304 ||
	    http_head_find_id(resp, HN_CONTENT_ENCODING, NULL) ||
	    http_head_find_id(resp, HN_CONTENT_RANGE, NULL) ||
	    any_field_has(resp, HN_CACHE_CONTROL, "no-transform"))
		return COMPRESS_NONE;
	type = http_head_find_id(resp, HN_CONTENT_TYPE, NULL);
	if (!type || !type_listed(conf, http_field_value(resp, type), type->value_len))
		return COMPRESS_NONE;
	if (!client_gzip || is_head ||
	    (content_length >= 0 && (uint64_t)content_length < conf->min_size))
		return COMPRESS_VARY;
	return COMPRESS_GZIP;
}

void compress_start(struct response_compression *rc, int status, const struct http_head *resp,
		    int64_t content_length)
{
	compress_end(rc);
	rc->verdict = compress_decide(rc->conf, rc->client_gzip, rc->is_head, status, resp,
				      content_length);
	if (rc->verdict != COMPRESS_GZIP)
		return;
	rc->gz = gzip_stream_new((int)rc->conf->level, content_length);
	if (!rc->gz)
		rc->verdict = COMPRESS_VARY;
}

struct sink {
	struct evbuffer *out;
	enum body_mode mode;
};

static int to_body(void *arg, const void *data, size_t len)
{
	const struct sink *s = arg;

	return body_write(s->out, s->mode, data, len);
}

int compress_body_write(struct response_compression *rc, struct evbuffer *out, enum body_mode mode,
			const void *data, size_t len)
{
	struct sink s = { out, mode };

	return gzip_stream_write(rc->gz, data, len, to_body, &s);
}

int compress_body_flush(struct response_compression *rc, struct evbuffer *out, enum body_mode mode)
{
	struct sink s = { out, mode };

	return compress_active(rc) ? gzip_stream_flush(rc->gz, to_body, &s) : 0;
}

int compress_body_finish(struct response_compression *rc, struct evbuffer *out, enum body_mode mode)
{
	struct sink s = { out, mode };

	if (!compress_active(rc))
		return 0;
	int rv = gzip_stream_finish(rc->gz, to_body, &s);
	if (rv == 0 && rc->lrt) {
		atomic_fetch_add_explicit(&rc->lrt->compressed, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&rc->lrt->compressed_in, gzip_stream_bytes_in(rc->gz),
					  memory_order_relaxed);
		atomic_fetch_add_explicit(&rc->lrt->compressed_out, gzip_stream_bytes_out(rc->gz),
					  memory_order_relaxed);
	}
	compress_end(rc);
	return rv;
}

void compress_end(struct response_compression *rc)
{
	gzip_stream_free(rc->gz);
	rc->gz = NULL;
}

bool compress_vary_pending(enum compress_verdict v, const struct http_head *h)
{
	return v != COMPRESS_NONE && !any_field_has(h, HN_VARY, "accept-encoding") &&
	       !any_field_has(h, HN_VARY, "*");
}

bool compress_field_rewritten(enum compress_verdict v, const struct http_head *h,
			      const struct http_field *f, bool *vary_pending)
{
	if (*vary_pending && f->name_id == HN_VARY) {
		*vary_pending = false;
		return true;
	}
	return v == COMPRESS_GZIP && f->name_id == HN_ETAG && f->value_len &&
	       http_field_value(h, f)[0] == '"';
}

void compress_field_value(const struct http_head *h, const struct http_field *f, struct strbuf *sb)
{
	if (f->name_id == HN_ETAG) {
		strbuf_add(sb, "W/", 2);
		strbuf_add(sb, http_field_value(h, f), f->value_len);
		return;
	}
	strbuf_add(sb, http_field_value(h, f), f->value_len);
	if (f->value_len)
		strbuf_add(sb, ", ", 2);
	strbuf_adds(sb, "Accept-Encoding");
}
