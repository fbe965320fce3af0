/* h2_stream.c — an HTTP/2 stream as an exchange. Its header block becomes
 * the HTTP/1.1 head the request parser reads (h2_request.h), its DATA the
 * body (chunked when no length was given), so routing, the balancers,
 * sticky cookies, limits, X-Forwarded-* and the access log treat it as
 * they treat an HTTP/1 request (http/exchange.c); the server side
 * (http/http_upstream.c) hands the response head over (response_head_fn)
 * and queues the body's payload, which leaves as DATA frames as the
 * client's window allows.
 *
 * Flow control follows the bytes: a DATA frame's bytes are given back to
 * the client's window (nghttp2_session_consume) only once they are queued
 * towards the server below its bound, so a slow server stops the client;
 * the response buffer is bounded the same way (RELAY_HIGH_WATER), so a
 * client that does not open its window stops the server.
 */
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "http/cookie.h"
#include "http/http_error.h"
#include "http/http_rewrite.h"
#include "http2/h2_conn.h"

static const struct exchange_ops h2_exchange_ops;
static int stream_head(void *arg, const struct http_head *h, const struct response_out *out);
static ssize_t stream_read(nghttp2_session *session, int32_t id, uint8_t *buf, size_t length,
			   uint32_t *flags, nghttp2_data_source *source, void *user_data);

/* STATUS (100 to 999) as :status wants it, in CODE. */
static void status_code(char code[4], int status)
{
	code[0] = (char)('0' + status / 100 % 10);
	code[1] = (char)('0' + status / 10 % 10);
	code[2] = (char)('0' + status % 10);
	code[3] = '\0';
}

static struct h2_stream *stream_of(struct exchange *ex)
{
	return (struct h2_stream *)((char *)ex - offsetof(struct h2_stream, ex));
}

/* A worker keeps this many freed streams, with their buffers, for the next
 * ones: a stream then costs no allocation of its own. */
#define H2_SPARE_STREAMS 64

/* A stream's storage: a spare one of the worker's, or new. */
static struct h2_stream *stream_alloc(struct http_worker *hw)
{
	struct h2_stream *s = hw->h2_spare;

	if (s) {
		hw->h2_spare = s->spare_next;
		hw->h2_nspare--;
		return s;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->in = evbuffer_new();
	s->out = evbuffer_new();
	if (!s->in || !s->out) {
		if (s->in)
			evbuffer_free(s->in);
		if (s->out)
			evbuffer_free(s->out);
		free(s);
		return NULL;
	}
	h2_request_init(&s->fields, 0, 0);
	return s;
}

static void stream_storage_free(struct h2_stream *s)
{
	h2_request_free(&s->fields);
	strbuf_free(&s->trailers);
	evbuffer_free(s->in);
	evbuffer_free(s->out);
	free(s);
}

/* Keep S's storage for another stream (its buffers empty), or free it. */
static void stream_release_storage(struct http_worker *hw, struct h2_stream *s)
{
	struct evbuffer *in = s->in, *out = s->out;
	struct h2_request fields = s->fields;
	struct strbuf trailers = s->trailers;

	if (hw->h2_nspare >= H2_SPARE_STREAMS) {
		stream_storage_free(s);
		return;
	}
	evbuffer_drain(in, evbuffer_get_length(in));
	evbuffer_drain(out, evbuffer_get_length(out));
	memset(s, 0, sizeof(*s));
	s->in = in;
	s->out = out;
	s->fields = fields;
	s->trailers = trailers;
	s->spare_next = hw->h2_spare;
	hw->h2_spare = s;
	hw->h2_nspare++;
}

void h2_stream_spares_free(struct http_worker *hw)
{
	struct h2_stream *s;

	while ((s = hw->h2_spare) != NULL) {
		hw->h2_spare = s->spare_next;
		stream_storage_free(s);
	}
	hw->h2_nspare = 0;
}

struct h2_stream *h2_stream_new(struct h2_conn *c, int32_t id)
{
	const struct limits_conf *limits = &h2_conn_config(c)->limits;
	struct h2_stream *s = stream_alloc(c->hw);

	if (!s)
		return NULL;
	s->conn = c;
	s->id = id;
	s->keep_alive = true;
	s->trailers.len = 0;
	h2_request_reset(&s->fields, limits->header_size, limits->headers);
	request_parser_init(&s->req, &c->hw->head_cache);
	/* The HTTP/1 form of a head within the limits fits them too: its
	 * fields cost 4 bytes of framing where HTTP/2 counts 32, and Host
	 * comes from :authority. */
	s->req.header_size = limits->header_size;
	s->req.headers = limits->headers + 1;
	s->ex.resp.cache = &c->hw->head_cache;
	s->ex.side = (struct exchange_side){
		.ops = &h2_exchange_ops,
		.head_fn = stream_head,
		.hw = c->hw,
		.lrt = c->lrt,
		.in = &c->in,
		.req = &s->req,
		.to_client = s->out,
		.keep_alive = &s->keep_alive,
		.http2 = true,
	};
	exchange_begin(&s->ex, c->w->cfg);
	s->counted = true;
	c->in_flight++;
	TAILQ_INSERT_TAIL(&c->streams, s, link);
	return s;
}

/* --- flow control -------------------------------------------------------- */

/* Give the client back the window of the DATA bytes that left lbd's hands:
 * all of them once none waits in IN (or the stream no longer needs them). */
static void stream_consume(struct h2_stream *s)
{
	if (!s->unconsumed || (s->state != H2S_ENDED && evbuffer_get_length(s->in)))
		return;
	nghttp2_session_consume(s->conn->session, s->id, s->unconsumed);
	s->unconsumed = 0;
	h2_conn_flush(s->conn); /* the WINDOW_UPDATE frames */
}

/* --- the end of the exchange ---------------------------------------------- */

static void stream_release(struct h2_stream *s)
{
	if (!s->counted)
		return;
	s->counted = false;
	s->conn->in_flight--;
}

/* One access-log line, and the exchange is over; the stream may still
 * have response bytes to send. */
static void stream_finish(struct h2_stream *s, bool upstream_reusable)
{
	struct h2_conn *c = s->conn;

	exchange_log(&s->ex, c->w->cfg);
	atomic_fetch_add_explicit(&c->lrt->h2_streams, 1, memory_order_relaxed);
	exchange_end(&s->ex, upstream_reusable);
	s->state = H2S_ENDED;
	stream_release(s);
	evbuffer_drain(s->in, evbuffer_get_length(s->in));
	stream_consume(s);
}

static void stream_resume_data(struct h2_stream *s)
{
	if (!s->deferred)
		return;
	s->deferred = false;
	nghttp2_session_resume_data(s->conn->session, s->id);
}

/* lbd's own answer STATUS (SPEC §3: a short text body), or a reset when a
 * response already started. */
static void stream_error(struct h2_stream *s, int status, enum access_termination term)
{
	struct exchange *ex = &s->ex;
	nghttp2_session *session = s->conn->session;

	ex->termination = term;
	if (s->resp_submitted) {
		nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, s->id,
					  NGHTTP2_INTERNAL_ERROR);
		stream_finish(s, false);
		h2_conn_flush(s->conn);
		return;
	}
	char code[4], length[24], retry[12];
	const struct error_page *page = listener_error_page(ex->listener, status);
	const char *type = page ? page->type : "text/plain";
	size_t blen = page ? page->len : 0;
	if (page)
		evbuffer_add(s->out, page->body, page->len);
	else
		blen = (size_t)evbuffer_add_printf(s->out, "%d %s\n", status, http_reason(status));
	status_code(code, status);
	snprintf(length, sizeof(length), "%zu", blen);
	nghttp2_nv nv[] = {
		{ (uint8_t *)":status", (uint8_t *)code, 7, 3, NGHTTP2_NV_FLAG_NONE },
		{ (uint8_t *)"content-type", (uint8_t *)type, 12, strlen(type),
		  NGHTTP2_NV_FLAG_NONE },
		{ (uint8_t *)"content-length", (uint8_t *)length, 14, strlen(length),
		  NGHTTP2_NV_FLAG_NONE },
		{ (uint8_t *)"cache-control", (uint8_t *)"no-store", 13, 8, NGHTTP2_NV_FLAG_NONE },
		{ (uint8_t *)"retry-after", (uint8_t *)retry, 11, 0, NGHTTP2_NV_FLAG_NONE },
		{ (uint8_t *)"location", (uint8_t *)ex->location, 8,
		  ex->location ? strlen(ex->location) : 0, NGHTTP2_NV_FLAG_NONE },
	};
	size_t nnv = sizeof(nv) / sizeof(nv[0]);
	ex->status = status;
	ex->bytes_out += (uint64_t)blen;
	s->resp_complete = true;
	s->resp_submitted = true;
	nghttp2_data_provider prd = { .source.ptr = s, .read_callback = stream_read };
	/* Retry-After (a 429) and Location (a route's redirect) end the list,
	 * each only when set. */
	if (ex->retry_after_s)
		nv[4].valuelen = (size_t)snprintf(retry, sizeof(retry), "%u", ex->retry_after_s);
	else
		nv[4] = nv[5];
	nnv -= !ex->retry_after_s + !ex->location;
	nghttp2_submit_response(session, s->id, nv, nnv, &prd);
	stream_finish(s, false);
	h2_conn_flush(s->conn);
}

/* Refuse the request with STATUS: one line in the error log, then the
 * answer. */
static void stream_refuse(struct h2_stream *s, int status, const char *why)
{
	exchange_log_refusal(&s->ex, status, why);
	if (status == 400 || status == 431)
		h2_conn_glitch(s->conn, H2_ABUSE_GLITCHES, why);
	stream_error(s, status,
		     s->ex.location ? ACCESS_TERM_OK :
		     status == 408  ? ACCESS_TERM_CLIENT_TIMEOUT :
		     status == 500  ? ACCESS_TERM_INTERNAL :
		     status == 429  ? ACCESS_TERM_RATE_LIMITED :
		     status == 403  ? ACCESS_TERM_DENIED :
				      ACCESS_TERM_REFUSED);
}

/* --- the request ------------------------------------------------------------ */

static bool may_parse(const struct h2_stream *s)
{
	if (s->req.paused)
		return false;
	if (s->state == H2S_HEAD)
		return true;
	return s->state == H2S_FORWARD && !s->req.complete;
}

/* Feed the request's HTTP/1 form to the parser as far as the server side
 * takes it: the same steps as an HTTP/1 connection's (http_client.c). */
static void stream_process(struct h2_stream *s)
{
	struct request_parser *rp = &s->req;

	if (s->in_process)
		return;
	s->in_process = true;
	while (may_parse(s)) {
		struct evbuffer_iovec v;
		bool kick = false;
		if (evbuffer_peek(s->in, -1, NULL, &v, 1) < 1 || v.iov_len == 0) {
			if (request_parser_needs_bytes(rp))
				break;
			v = (struct evbuffer_iovec){ .iov_base = (void *)"", .iov_len = 0 };
			kick = true;
		}
		if (s->state == H2S_FORWARD) {
			rp->out = upstream_output(&s->ex);
			if (evbuffer_get_length(rp->out) >= RELAY_HIGH_WATER)
				break; /* the server side calls drained() */
		}
		size_t used;
		enum request_step step = request_parser_feed(rp, v.iov_base, v.iov_len, &used);
		evbuffer_drain(s->in, used);
		if (step == REQUEST_MORE && kick)
			break;
		if (step == REQUEST_MORE)
			continue;
		if (step == REQUEST_HEAD) {
			const char *why;
			s->state = H2S_CONNECT;
			int status = exchange_route(&s->ex, s->in, &why);
			if (status)
				stream_refuse(s, status, why);
			continue;
		}
		if (step == REQUEST_DONE) {
			/* A body of a known length is whole before the stream
			 * ends: trailer fields may still come for the server. */
			if (s->end_stream)
				upstream_request_sent(&s->ex);
			else
				s->sent_pending = true;
			continue;
		}
		stream_refuse(s, step == REQUEST_ERROR ? rp->status : 400,
			      step == REQUEST_ERROR ? request_parser_error(rp) :
						      "an upgrade is not an HTTP/2 request");
		break;
	}
	s->in_process = false;
	if (s->state == H2S_FORWARD && exchange_attached(&s->ex))
		upstream_flush(&s->ex);
	stream_consume(s);
}

void h2_stream_field(struct h2_stream *s, const uint8_t *name, size_t name_len,
		     const uint8_t *value, size_t value_len)
{
	s->ex.bytes_in += name_len + value_len;
	if (s->state != H2S_HEAD) {
		/* Trailer fields: for an HTTP/2 server (an HTTP/1 one gets
		 * none), bounded as the head is; beyond, they are dropped. */
		if (s->state == H2S_ENDED)
			return;
		struct http_head *t = &s->req_trailers;
		if (!s->ex.req_trailers) {
			http_head_init(t, (uint32_t)s->fields.max_size, s->fields.max_fields);
			s->ex.req_trailers = t;
		}
		if (http_head_add_name(t, (const char *)name, name_len) < 0 ||
		    http_head_add_value(t, (const char *)value, value_len) < 0)
			http_head_reset(t);
		return;
	}
	h2_request_field(&s->fields, name, name_len, value, value_len);
}

void h2_stream_head_done(struct h2_stream *s, bool end_stream)
{
	struct strbuf *head = &s->conn->hw->scratch; /* the worker's, reused */

	s->end_stream = end_stream;
	if (s->fields.over_limit) {
		stream_refuse(s, 431,
			      "the header list is over limits.header_size or limits.headers");
		return;
	}
	head->len = 0;
	if (h2_request_render(&s->fields, end_stream, head) < 0 ||
	    evbuffer_add(s->in, head->data, head->len) < 0) {
		head->failed = false;
		stream_refuse(s, 500, "out of memory reading an HTTP/2 request");
		return;
	}
	stream_process(s);
}

void h2_stream_data(struct h2_stream *s, const uint8_t *data, size_t len)
{
	s->unconsumed += len;
	s->ex.bytes_in += len;
	if (s->state == H2S_ENDED) {
		stream_consume(s); /* answered already: dropped */
		return;
	}
	if (h2_request_chunked(&s->fields) && len) {
		evbuffer_add_printf(s->in, "%zx\r\n", len);
		evbuffer_add(s->in, data, len);
		evbuffer_add(s->in, "\r\n", 2);
	} else {
		evbuffer_add(s->in, data, len);
	}
	stream_process(s);
}

void h2_stream_end(struct h2_stream *s)
{
	if (s->end_stream || s->state == H2S_ENDED)
		return;
	s->end_stream = true;
	if (s->sent_pending) {
		s->sent_pending = false;
		upstream_request_sent(&s->ex);
		return;
	}
	if (h2_request_chunked(&s->fields))
		evbuffer_add(s->in, "0\r\n\r\n", 5);
	stream_process(s);
}

/* --- the response ------------------------------------------------------------ */

/* The trailer fields kept by h2_trailers(), after the last DATA frame
 * (gRPC's status). Returns 0, or -1 (the stream then just ends). */
static int stream_submit_trailers(struct h2_stream *s)
{
	nghttp2_nv *nv = calloc(s->ntrailers, sizeof(*nv));
	const char *p = s->trailers.data;
	int rc;

	if (!nv)
		return -1;
	for (uint32_t i = 0; i < s->ntrailers; i++) {
		size_t nlen = strlen(p), vlen = strlen(p + nlen + 1);
		nv[i] = (nghttp2_nv){ (uint8_t *)p, (uint8_t *)p + nlen + 1, nlen, vlen,
				      NGHTTP2_NV_FLAG_NONE };
		p += nlen + vlen + 2;
	}
	rc = nghttp2_submit_trailer(s->conn->session, s->id, nv, s->ntrailers);
	free(nv);
	return rc == 0 ? 0 : -1;
}

/* The response body for DATA frames, as far as it has come. */
static ssize_t stream_read(nghttp2_session *session, int32_t id, uint8_t *buf, size_t length,
			   uint32_t *flags, nghttp2_data_source *source, void *user_data)
{
	struct h2_stream *s = source->ptr;
	size_t have = evbuffer_get_length(s->out);
	int n = have ? evbuffer_remove(s->out, buf, length < have ? length : have) : 0;

	(void)session, (void)id, (void)user_data;
	if (n <= 0 && !s->resp_complete) {
		s->deferred = true;
		return NGHTTP2_ERR_DEFERRED;
	}
	if (s->resp_complete && evbuffer_get_length(s->out) == 0) {
		*flags |= NGHTTP2_DATA_FLAG_EOF;
		if (s->ntrailers && stream_submit_trailers(s) == 0)
			*flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
	}
	return n > 0 ? n : 0;
}

static bool lower_copy(struct strbuf *sb, const char *s, size_t len)
{
	if (sb->len + len > sb->cap && !strbuf_reserve(sb, len))
		return false;
	for (size_t i = 0; i < len; i++)
		sb->data[sb->len + i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i]);
	sb->len += len;
	return true;
}

/* Whether the server's field F goes to the client: no field of one
 * connection, none the route's rules name, and no Content-Length on a
 * body lbd gzips (its length is unknown until its end). */
static bool stream_head_keeps(const struct http_head *h, const struct http_field *f,
			      const struct response_out *out)
{
	return !http_is_hop_by_hop(h, f) &&
	       !header_rules_names(out->rules, http_field_name(h, f), f->name_len) &&
	       !(out->compress == COMPRESS_GZIP && http_field_is(h, f, "content-length"));
}

/* The fields compression gives a new value (compress.h), appended to NV
 * from N with name and value as offsets in the scratch buffer for now;
 * returns the new count. */
static size_t stream_head_compressed(struct h2_stream *s, const struct http_head *h,
				     const struct response_out *out, nghttp2_nv *nv, size_t n)
{
	struct strbuf *sb = &s->conn->hw->scratch;
	bool vary = compress_vary_pending(out->compress, h);

	if (out->compress == COMPRESS_NONE)
		return n;
	for (uint32_t i = 0; i < h->nfields; i++) {
		const struct http_field *f = &h->fields[i];
		if (!stream_head_keeps(h, f, out) ||
		    !compress_field_rewritten(out->compress, h, f, &vary))
			continue;
		size_t name_at = sb->len;
		lower_copy(sb, h->buf + f->name_off, f->name_len);
		size_t value_at = sb->len;
		compress_field_value(h, f, sb);
		nv[n++] = (nghttp2_nv){ (uint8_t *)(uintptr_t)name_at,
					(uint8_t *)(uintptr_t)value_at, f->name_len,
					sb->len - value_at, NGHTTP2_NV_FLAG_NONE };
		s->ex.bytes_out += f->name_len + sb->len - value_at;
	}
	return n;
}

/* Fields of a response head kept on the stack; more take an allocation. */
#define H2_NV_ON_STACK 48

/* The server's head as HTTP/2 fields: names in lower case, no field of
 * one connection (http_rewrite.h), the route's header rules applied, the
 * sticky cookie added. Names and the
 * cookie are written to the worker's scratch buffer, and the fields point
 * into it once it no longer moves. */
static int stream_head(void *arg, const struct http_head *h, const struct response_out *out)
{
	struct h2_stream *s = stream_of(arg);
	struct strbuf *sb = &s->conn->hw->scratch;
	nghttp2_nv stack[H2_NV_ON_STACK], *nv = stack;
	size_t n = 0, cookie_at = 0, nset = out->rules ? out->rules->nset : 0;
	size_t max = h->nfields + 4 + nset;
	bool vary = compress_vary_pending(out->compress, h);
	char code[4];
	int rv = -1;

	if (max > H2_NV_ON_STACK && !(nv = calloc(max, sizeof(*nv))))
		return -1;
	sb->len = 0;
	status_code(code, out->status);
	nv[n++] = (nghttp2_nv){ (uint8_t *)":status", (uint8_t *)code, 7, 3, NGHTTP2_NV_FLAG_NONE };
	for (uint32_t i = 0; i < h->nfields; i++) {
		const struct http_field *f = &h->fields[i];
		if (!stream_head_keeps(h, f, out) ||
		    compress_field_rewritten(out->compress, h, f, &vary))
			continue;
		/* (the name's offset in SB for now) */
		nv[n++] = (nghttp2_nv){ (uint8_t *)(uintptr_t)sb->len,
					(uint8_t *)http_field_value(h, f), f->name_len,
					f->value_len, NGHTTP2_NV_FLAG_NONE };
		lower_copy(sb, h->buf + f->name_off, f->name_len);
		s->ex.bytes_out += f->name_len + f->value_len;
	}
	size_t set_at = n;
	n = stream_head_compressed(s, h, out, nv, n);
	for (size_t i = 0; i < nset; i++) {
		/* (name and value as offsets in SB for now) */
		const struct header_set *hs = &out->rules->set[i];
		size_t name_at = sb->len, name_len = strlen(hs->name);
		lower_copy(sb, hs->name, name_len);
		size_t value_at = sb->len;
		header_value_write(sb, hs->value, out->vars);
		nv[n++] = (nghttp2_nv){ (uint8_t *)(uintptr_t)name_at,
					(uint8_t *)(uintptr_t)value_at, name_len,
					sb->len - value_at, NGHTTP2_NV_FLAG_NONE };
		s->ex.bytes_out += name_len + sb->len - value_at;
	}
	if (out->set_cookie) {
		/* "Set-Cookie: " VALUE "\r\n" as HTTP/1 writes it. */
		cookie_at = sb->len;
		cookie_write_set(sb, out->set_cookie);
	}
	if (strbuf_failed(sb) || (out->set_cookie && sb->len - cookie_at < 14))
		goto out;
	for (size_t i = 1; i < n; i++)
		nv[i].name = (uint8_t *)sb->data + (uintptr_t)nv[i].name;
	for (size_t i = set_at; i < n; i++)
		nv[i].value = (uint8_t *)sb->data + (uintptr_t)nv[i].value;
	if (vary) {
		nv[n++] = (nghttp2_nv){ (uint8_t *)"vary", (uint8_t *)"Accept-Encoding", 4, 15,
					NGHTTP2_NV_FLAG_NONE };
		s->ex.bytes_out += 4 + 15;
	}
	if (out->compress == COMPRESS_GZIP) {
		nv[n++] = (nghttp2_nv){ (uint8_t *)"content-encoding", (uint8_t *)"gzip", 16, 4,
					NGHTTP2_NV_FLAG_NONE };
		s->ex.bytes_out += 16 + 4;
	}
	if (out->set_cookie)
		nv[n++] = (nghttp2_nv){ (uint8_t *)"set-cookie",
					(uint8_t *)sb->data + cookie_at + 12, 10,
					sb->len - cookie_at - 14, NGHTTP2_NV_FLAG_NONE };
	nghttp2_data_provider prd = { .source.ptr = s, .read_callback = stream_read };
	bool no_body = out->body == BODY_NONE;
	if (nghttp2_submit_response(s->conn->session, s->id, nv, n, no_body ? NULL : &prd) == 0) {
		rv = 0;
		s->resp_submitted = true;
		s->resp_complete = no_body;
	}
out:
	sb->failed = false;
	if (nv != stack)
		free(nv);
	return rv;
}

void h2_stream_after_send(struct h2_stream *s)
{
	if (exchange_attached(&s->ex) && evbuffer_get_length(s->out) < RELAY_LOW_WATER)
		upstream_client_drained(&s->ex);
}

/* --- what the server side reports ------------------------------------------- */

static void h2_ready(struct exchange *ex)
{
	struct h2_stream *s = stream_of(ex);

	s->state = H2S_FORWARD;
	request_parser_resume(&s->req);
	stream_process(s);
}

static void h2_failed(struct exchange *ex, int status, enum access_termination term)
{
	stream_error(stream_of(ex), status, term);
}

static void h2_done(struct exchange *ex, bool server_reusable, bool closes_client)
{
	struct h2_stream *s = stream_of(ex);

	(void)closes_client; /* the rest of the request, if any, is dropped */
	s->resp_complete = true;
	stream_resume_data(s);
	stream_finish(s, server_reusable && s->req.complete);
	h2_conn_flush(s->conn);
}

/* An HTTP/2 server's trailer fields: kept until the body is out (their
 * values hold no NUL: nghttp2 checked them). */
static int h2_trailers(struct exchange *ex, const struct http_head *t)
{
	struct h2_stream *s = stream_of(ex);

	for (uint32_t i = 0; i < t->nfields; i++) {
		const struct http_field *f = &t->fields[i];
		if (http_is_hop_by_hop(t, f))
			continue;
		if (!lower_copy(&s->trailers, t->buf + f->name_off, f->name_len))
			return -1;
		strbuf_add(&s->trailers, "", 1);
		strbuf_add(&s->trailers, http_field_value(t, f), f->value_len);
		strbuf_add(&s->trailers, "", 1);
		s->ntrailers++;
	}
	return strbuf_failed(&s->trailers) ? -1 : 0;
}

static void h2_upgraded(struct exchange *ex, struct bufferevent *server_bev)
{
	/* The response parser refuses a 101 for an HTTP/2 client. */
	bufferevent_free(server_bev);
	stream_error(stream_of(ex), 502, ACCESS_TERM_INVALID_RESPONSE);
}

static void h2_drained(struct exchange *ex)
{
	struct h2_stream *s = stream_of(ex);

	stream_process(s);
	h2_conn_flush(s->conn); /* the window updates */
}

static void h2_flush(struct exchange *ex)
{
	struct h2_stream *s = stream_of(ex);

	stream_resume_data(s);
	h2_conn_flush(s->conn);
}

static const struct exchange_ops h2_exchange_ops = {
	.ready = h2_ready,
	.failed = h2_failed,
	.done = h2_done,
	.upgraded = h2_upgraded,
	.trailers = h2_trailers,
	.drained = h2_drained,
	.flush = h2_flush,
};

/* --- the stream's end --------------------------------------------------------- */

static void stream_free(struct h2_stream *s)
{
	TAILQ_REMOVE(&s->conn->streams, s, link);
	nghttp2_session_set_stream_user_data(s->conn->session, s->id, NULL);
	request_parser_free(&s->req);
	http_head_free(&s->ex.resp);
	http_head_free(&s->ex.trailers);
	http_head_free(&s->req_trailers);
	stream_release_storage(s->conn->hw, s);
}

void h2_stream_abort(struct h2_stream *s, enum access_termination term)
{
	struct exchange *ex = &s->ex;

	if (s->state != H2S_ENDED) {
		if (s->resp_submitted) {
			size_t queued = evbuffer_get_length(s->out);
			ex->bytes_out -= queued < ex->bytes_out ? queued : ex->bytes_out;
			if (term == ACCESS_TERM_CLIENT_CLOSED)
				term = ACCESS_TERM_CLIENT_ABORTED;
		} else if (term == ACCESS_TERM_CLIENT_CLOSED) {
			ex->status = 499; /* nginx's "client closed request" */
		}
		ex->termination = term;
		stream_finish(s, false); /* closes the server connection */
	}
	stream_free(s);
}

void h2_stream_closed(struct h2_stream *s, uint32_t error_code)
{
	if (s->state != H2S_ENDED && error_code != NGHTTP2_NO_ERROR)
		h2_conn_glitch(s->conn, H2_ABUSE_RAPID_RESET, "streams in flight were reset");
	h2_stream_abort(s, ACCESS_TERM_CLIENT_CLOSED);
}
