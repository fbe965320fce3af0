/* http_response.c — parsing a server's response and queueing what the
 * client gets: heads rewritten, interim responses passed on to HTTP/1.1
 * clients, bodies framed again. */
#include "http/http_response.h"

#include <event2/buffer.h>
#include <string.h>

#include "http/http_rewrite.h"
#include "http/prefix_rewrite.h"

static struct response_parser *parser_of(llhttp_t *p)
{
	return p->data;
}

static int on_message_begin(llhttp_t *p)
{
	struct response_parser *rp = parser_of(p);

	http_head_reset(rp->head);
	rp->cg = (struct chunk_guard){ 0 };
	rp->fg = (struct fold_guard){ 0 };
	return 0;
}

static int on_chunk_header(llhttp_t *p)
{
	chunk_guard_header(&parser_of(p)->cg, p->content_length);
	return 0;
}

static int on_status(llhttp_t *p, const char *at, size_t len)
{
	return http_head_add_reason(parser_of(p)->head, at, len);
}

static int on_header_field(llhttp_t *p, const char *at, size_t len)
{
	struct response_parser *rp = parser_of(p);

	fold_guard_name(&rp->fg, at, len, rp->chunk_end);
	return http_head_add_name(rp->head, at, len);
}

static int on_header_value(llhttp_t *p, const char *at, size_t len)
{
	struct response_parser *rp = parser_of(p);

	if (fold_guard_value(&rp->fg, at, len, rp->chunk, rp->chunk_prev))
		return -1;
	return http_head_add_value(rp->head, at, len);
}

/* Render the head for the client and queue it (or hand it over). */
static int send_head(struct response_parser *rp, const struct response_out *out)
{
	struct strbuf *sb = rp->scratch;

	if (rp->head_fn)
		return rp->head_fn(rp->head_arg, rp->head, out);

	sb->len = 0;
	if (http_response_write(sb, rp->head, out) < 0) {
		sb->failed = false;
		return -1;
	}
	rp->bytes_out += sb->len;
	return evbuffer_add(rp->out, sb->data, sb->len);
}

/* Interim responses (100 Continue, 103 Early Hints) go to HTTP/1.1 clients
 * as they come; HTTP/1.0 clients cannot take them. */
static int relay_interim(struct response_parser *rp, int status)
{
	struct response_out out = {
		.status = status,
		.body = BODY_NONE,
		.declared_length = -1,
		.keep_alive = true,
		.client_minor = 1,
	};
	if (rp->client_minor >= 1 && !rp->head_fn && send_head(rp, &out) < 0)
		return -1;
	return 1;
}

/* RFC 9112 §6.3: a response with both Content-Length and Transfer-Encoding,
 * or a Transfer-Encoding that does not end in chunked, cannot be framed
 * safely; lbd refuses it rather than guess. */
static bool framing_ok(const llhttp_t *p, const struct http_head *h)
{
	unsigned ncl;
	bool te = http_head_find_id(h, HN_TRANSFER_ENCODING, NULL) != NULL;

	http_head_find_id(h, HN_CONTENT_LENGTH, &ncl);
	if (te && ncl)
		return false;
	if (te && !(p->flags & F_CHUNKED))
		return false;
	return true;
}

static enum body_mode client_framing(const struct response_parser *rp)
{
	if (rp->head_fn)
		return BODY_EOF; /* the payload as it is: the owner frames it */
	if (rp->p.flags & F_CONTENT_LENGTH)
		return BODY_LENGTH;
	/* Chunked or close-delimited from the server: HTTP/1.1 clients get
	 * chunks (the connection can stay open), HTTP/1.0 clients get the
	 * bytes until lbd closes. */
	return rp->client_minor >= 1 ? BODY_CHUNKED : BODY_EOF;
}

static int on_headers_complete(llhttp_t *p)
{
	struct response_parser *rp = parser_of(p);
	int status = p->status_code;

	http_head_complete(rp->head);
	/* llhttp takes one to three digits; a status is three (RFC 9110
	 * §15), and "10" would otherwise pass for an interim response. */
	if (status < 100 || status > 999 || !framing_ok(p, rp->head))
		return -1;
	if (status < 200 && status != 101)
		return relay_interim(rp, status);
	rp->status = status;
	if (status != 101 && rp->retry_fn && rp->retry_fn(rp->retry_arg, status)) {
		rp->retry = true;
		return HPE_PAUSED;
	}
	if (status == 101) {
		/* Only a switch the client asked for, and one the server names
		 * (Upgrade and Connection: upgrade, RFC 9110 §7.8): llhttp
		 * parses anything else as HTTP after the 101 while the client
		 * would already be talking the new protocol. A 1xx has no
		 * body (RFC 9112 §6.1, RFC 9110 §8.6): framing fields on a 101
		 * would make llhttp read a body before the switch. */
		if (!rp->upgrade || !p->upgrade || rp->head_fn ||
		    http_head_find_id(rp->head, HN_TRANSFER_ENCODING, NULL) ||
		    http_head_find_id(rp->head, HN_CONTENT_LENGTH, NULL))
			return -1;
		struct response_out out = { .status = 101,
					    .body = BODY_NONE,
					    .declared_length = -1,
					    .keep_alive = true,
					    .client_minor = 1,
					    .upgrade = true,
					    .set_cookie = rp->set_cookie,
					    .rules = rp->rules,
					    .vars = rp->vars };
		if (send_head(rp, &out) < 0)
			return -1;
		rp->started = true;
		return 0;
	}

	if (rp->prefix && prefix_rewrite_head(rp->prefix, rp->head, rp->scratch) < 0)
		return -1;
	bool no_body = rp->is_head || status == 204 || status == 304;
	struct response_out out = {
		.status = status,
		.body = no_body ? BODY_NONE : client_framing(rp),
		.content_length = p->content_length,
		.declared_length = -1,
		.client_minor = rp->client_minor,
		.set_cookie = rp->set_cookie,
		.rules = rp->rules,
		.vars = rp->vars,
	};
	if (no_body && (p->flags & F_CONTENT_LENGTH))
		out.declared_length = (int64_t)p->content_length;
	if (rp->compress) {
		compress_start(rp->compress, status, rp->head,
			       (p->flags & F_CONTENT_LENGTH) ? (int64_t)p->content_length : -1);
		out.compress = rp->compress->verdict;
		/* gzip's length is known at its end only: chunks, as for a
		 * server's chunked body (client_gzip means HTTP/1.1 or 2). */
		if (compress_active(rp->compress) && out.body == BODY_LENGTH)
			out.body = BODY_CHUNKED;
	}
	rp->closes_client = (out.body == BODY_EOF && !rp->head_fn) || !*rp->req_complete;
	out.keep_alive = *rp->client_keep_alive && !rp->closes_client;
	rp->body = out.body;
	if (send_head(rp, &out) < 0)
		return -1;
	rp->started = true;
	return no_body ? 1 : 0;
}

static int on_body(llhttp_t *p, const char *at, size_t len)
{
	struct response_parser *rp = parser_of(p);
	size_t before = evbuffer_get_length(rp->out);

	if ((p->flags & F_CHUNKED) && chunk_guard_body(&rp->cg, at, len, rp->chunk_end) < 0) {
		rp->guard_failed = true;
		return -1;
	}
	if (compress_active(rp->compress)) {
		if (compress_body_write(rp->compress, rp->out, rp->body, at, len) < 0)
			return -1;
	} else if (body_write(rp->out, rp->body, at, len) < 0) {
		return -1;
	}
	rp->bytes_out += evbuffer_get_length(rp->out) - before;
	return 0;
}

static int on_message_complete(llhttp_t *p)
{
	struct response_parser *rp = parser_of(p);

	if (!rp->started)
		return 0; /* an interim response: the final one follows */
	if (rp->status == 101)
		return 0; /* llhttp stops with HPE_PAUSED_UPGRADE */
	rp->server_keep_alive = llhttp_should_keep_alive(p);
	rp->complete = true;
	size_t before = evbuffer_get_length(rp->out);
	if (rp->compress && compress_body_finish(rp->compress, rp->out, rp->body) < 0)
		return -1;
	body_finish(rp->out, rp->body);
	rp->bytes_out += evbuffer_get_length(rp->out) - before;
	return HPE_PAUSED;
}

static const llhttp_settings_t response_settings = {
	.on_message_begin = on_message_begin,
	.on_status = on_status,
	.on_header_field = on_header_field,
	.on_header_value = on_header_value,
	.on_headers_complete = on_headers_complete,
	.on_body = on_body,
	.on_chunk_header = on_chunk_header,
	.on_message_complete = on_message_complete,
};

void response_parser_init(struct response_parser *rp, struct http_head *head, struct evbuffer *out,
			  struct strbuf *scratch)
{
	memset(rp, 0, sizeof(*rp));
	llhttp_init(&rp->p, HTTP_RESPONSE, &response_settings);
	rp->p.data = rp;
	rp->head = head;
	rp->out = out;
	rp->scratch = scratch;
	http_head_reset(head);
}

enum response_step response_parser_feed(struct response_parser *rp, const char *buf, size_t len,
					size_t *used)
{
	*used = 0;
	rp->chunk = buf;
	rp->chunk_end = buf + len;
	if (chunk_guard_feed(&rp->cg, buf, len) < 0) {
		rp->guard_failed = true;
		return RESPONSE_INVALID;
	}
	enum llhttp_errno err = llhttp_execute(&rp->p, buf, len);
	size_t n = err == HPE_OK ? len : (size_t)(llhttp_get_error_pos(&rp->p) - buf);
	if (n)
		rp->chunk_prev = buf[n - 1];
	fold_guard_end(&rp->fg, buf, n);
	*used = n;
	switch (err) {
	case HPE_OK:
		return RESPONSE_MORE;
	case HPE_PAUSED:
		/* Only a complete message, or a head retry_fn took, pauses
		 * the parser. */
		return rp->retry ? RESPONSE_RETRY : RESPONSE_DONE;
	case HPE_PAUSED_UPGRADE:
		return RESPONSE_UPGRADE;
	default:
		return RESPONSE_INVALID;
	}
}

int response_parser_pause(struct response_parser *rp)
{
	size_t before = evbuffer_get_length(rp->out);

	if (!rp->started || rp->complete || !compress_active(rp->compress))
		return 0;
	if (compress_body_flush(rp->compress, rp->out, rp->body) < 0)
		return -1;
	rp->bytes_out += evbuffer_get_length(rp->out) - before;
	return 0;
}

bool response_parser_needs_eof(const struct response_parser *rp)
{
	return rp->started && !rp->complete && llhttp_message_needs_eof(&rp->p);
}

bool response_parser_finish(struct response_parser *rp)
{
	if (llhttp_finish(&rp->p) != HPE_OK && !rp->complete)
		return false;
	rp->server_keep_alive = false;
	return true;
}

const char *response_parser_error(const struct response_parser *rp)
{
	if (rp->guard_failed)
		return "no CRLF after chunk data";
	return llhttp_get_error_reason(&rp->p);
}
