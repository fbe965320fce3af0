/* request_parser.c — parsing a client's requests and framing their bodies
 * for the server, with the checks llhttp leaves to lbd. */
#include "http/request_parser.h"

#include <event2/buffer.h>
#include <string.h>

static struct request_parser *parser_of(llhttp_t *p)
{
	return p->data;
}

/* A callback's refusal: llhttp stops, the feed answers STATUS; WHY is for
 * the log (llhttp itself would only say "Span callback error"). */
static int refuse(struct request_parser *rp, int status, const char *why)
{
	rp->status = status;
	rp->reason = why;
	return -1;
}

static int on_message_begin(llhttp_t *p)
{
	struct request_parser *rp = parser_of(p);

	rp->head.max_bytes = (uint32_t)rp->header_size;
	rp->head.max_fields = rp->headers;
	http_head_reset(&rp->head);
	rp->cg = (struct chunk_guard){ 0 };
	rp->fg = (struct fold_guard){ 0 };
	rp->started = true;
	return 0;
}

static int head_overflowed(struct request_parser *rp)
{
	switch (rp->head.overflow) {
	case HEAD_NO_MEMORY:
		return refuse(rp, 500, "out of memory storing the request head");
	case HEAD_TOO_MANY:
		return refuse(rp, 431, "more header fields than limits.headers");
	default:
		return refuse(rp, 431, "request head larger than limits.header_size");
	}
}

/* The method as the client sent it: llhttp's span, or the extension
 * method llhttp was given "GET" for. */
static int on_method(llhttp_t *p, const char *at, size_t len)
{
	struct request_parser *rp = parser_of(p);

	if (rp->ext_method) {
		at = rp->method_buf;
		len = rp->method_held;
	}
	return http_head_add_method(&rp->head, at, len) < 0 ? head_overflowed(rp) : 0;
}

static int on_url(llhttp_t *p, const char *at, size_t len)
{
	struct request_parser *rp = parser_of(p);

	/* RFC 9112 §3: one space between method and target; llhttp skips
	 * extra ones, a stricter parser behind lbd would not. */
	if (rp->head.url_len == 0 && rp->head.last != HEAD_SPAN_URL) {
		char before2 = at - rp->chunk >= 2 ? at[-2] :
			       at - rp->chunk == 1 ? rp->chunk_prev :
						     rp->chunk_prev2;
		if (before2 == ' ' || before2 == '\t')
			return refuse(rp, 400, "more than one space after the method");
	}
	return http_head_add_url(&rp->head, at, len) < 0 ? head_overflowed(rp) : 0;
}

static int on_header_field(llhttp_t *p, const char *at, size_t len)
{
	struct request_parser *rp = parser_of(p);

	fold_guard_name(&rp->fg, at, len, rp->chunk_end);
	return http_head_add_name(&rp->head, at, len) < 0 ? head_overflowed(rp) : 0;
}

static int on_header_value(llhttp_t *p, const char *at, size_t len)
{
	struct request_parser *rp = parser_of(p);

	if (fold_guard_value(&rp->fg, at, len, rp->chunk, rp->chunk_prev))
		return refuse(rp, 400, "obsolete line folding in a header value");
	return http_head_add_value(&rp->head, at, len) < 0 ? head_overflowed(rp) : 0;
}

/* Stop at the end of the head: the body is read only once the owner has a
 * server connection to take it. */
static int on_headers_complete(llhttp_t *p)
{
	struct request_parser *rp = parser_of(p);

	if (rp->head.method_len == 0)
		return refuse(rp, 400, "no method");
	http_head_complete(&rp->head);
	/* RFC 9110 §7.8: an Upgrade in an HTTP/1.0 request is ignored; llhttp
	 * would take what follows the head for the new protocol. */
	if (p->http_major == 1 && p->http_minor == 0 && p->method != HTTP_CONNECT)
		p->upgrade = 0;
	rp->method = rp->head.buf + rp->head.method_off;
	rp->body = p->flags & F_CHUNKED        ? BODY_CHUNKED :
		   p->flags & F_CONTENT_LENGTH ? BODY_LENGTH :
						 BODY_NONE;
	rp->in_head = false;
	return HPE_PAUSED;
}

static int on_body(llhttp_t *p, const char *at, size_t len)
{
	struct request_parser *rp = parser_of(p);

	rp->body_bytes += len;
	if (rp->body_size && rp->body_bytes > rp->body_size)
		return refuse(rp, 413, "request body larger than limits.body_size");
	if (rp->body == BODY_CHUNKED && chunk_guard_body(&rp->cg, at, len, rp->chunk_end) < 0)
		return refuse(rp, 400, "no CRLF after chunk data");
	return body_write(rp->out, rp->raw_out ? BODY_EOF : rp->body, at, len);
}

static int on_chunk_header(llhttp_t *p)
{
	chunk_guard_header(&parser_of(p)->cg, p->content_length);
	return 0;
}

static int on_message_complete(llhttp_t *p)
{
	struct request_parser *rp = parser_of(p);

	if (p->upgrade)
		return 0; /* llhttp stops with HPE_PAUSED_UPGRADE */
	rp->at_start = true;
	if (rp->discarding) {
		/* Answered already: on to the next one, whose method lbd reads
		 * first (request_parser_feed). */
		rp->discarding = false;
		rp->skipped = true;
		return HPE_PAUSED;
	}
	body_finish(rp->out, rp->raw_out ? BODY_EOF : rp->body);
	rp->complete = true;
	return HPE_PAUSED;
}

static const llhttp_settings_t request_settings = {
	.on_message_begin = on_message_begin,
	.on_method = on_method,
	.on_url = on_url,
	.on_header_field = on_header_field,
	.on_header_value = on_header_value,
	.on_headers_complete = on_headers_complete,
	.on_body = on_body,
	.on_chunk_header = on_chunk_header,
	.on_message_complete = on_message_complete,
};

void request_parser_init(struct request_parser *rp, struct http_head_cache *cache)
{
	memset(rp, 0, sizeof(*rp));
	llhttp_init(&rp->p, HTTP_REQUEST, &request_settings);
	rp->p.data = rp;
	rp->head.cache = cache;
	rp->in_head = true;
	rp->at_start = true;
}

void request_parser_free(struct request_parser *rp)
{
	http_head_free(&rp->head);
}

/* llhttp parses LEN bytes at BUF; *USED receives how many it took. */
static enum llhttp_errno run(struct request_parser *rp, const char *buf, size_t len, size_t *used)
{
	rp->chunk = buf;
	rp->chunk_end = buf + len;
	enum llhttp_errno err = llhttp_execute(&rp->p, buf, len);
	size_t n = err == HPE_OK ? len : (size_t)(llhttp_get_error_pos(&rp->p) - buf);
	if (n >= 2)
		rp->chunk_prev2 = buf[n - 2];
	else if (n == 1)
		rp->chunk_prev2 = rp->chunk_prev;
	if (n)
		rp->chunk_prev = buf[n - 1];
	fold_guard_end(&rp->fg, buf, n);
	*used = n;
	return err;
}

/* The methods llhttp parses as HTTP (and PRI, the HTTP/2 preface's). */
static bool llhttp_knows(const char *m, size_t len)
{
#define METHOD_NAME(num, name, string) #string,
	static const char *const known[] = { HTTP_METHOD_MAP(METHOD_NAME) "PRI" };
#undef METHOD_NAME

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strlen(known[i]) == len && memcmp(known[i], m, len) == 0)
			return true;
	return false;
}

/* llhttp 8 knows a fixed list of methods and refuses every other token,
 * while any token is a method (RFC 9110 §9.1: extension methods, such as
 * WebDAV's or a cache's PURGE variants) that a proxy passes on. So lbd reads
 * a request's method before llhttp does: a method llhttp knows goes through
 * as it came; another token followed by a space is kept in METHOD_BUF and
 * llhttp gets "GET " in its place (the framing of a request does not depend
 * on its method, except CONNECT's, which llhttp knows). The bytes of a
 * method a read ends in are held back until its end arrives. Returns how
 * many bytes of BUF the gate used, or LEN when it holds them all back;
 * what it feeds llhttp itself can end in an error (ERR). */
static size_t method_gate(struct request_parser *rp, const char *buf, size_t len,
			  enum llhttp_errno *err)
{
	size_t i = 0, used;

	*err = HPE_OK;
	if (rp->method_held == 0) /* empty lines before a request: llhttp's */
		while (i < len && (buf[i] == '\r' || buf[i] == '\n'))
			i++;
	size_t start = i;
	while (i < len && rp->method_held + (i - start) < METHOD_MAX &&
	       http_is_tchar((unsigned char)buf[i]))
		i++;
	size_t tok = i - start, mlen = rp->method_held + tok;
	if (i == len && mlen < METHOD_MAX) {
		if (tok == 0)
			return 0; /* empty lines, or nothing: llhttp takes them */
		if (start && (*err = run(rp, buf, start, &used)) != HPE_OK)
			return used;
		memcpy(rp->method_buf + rp->method_held, buf + start, tok);
		rp->method_held = (uint8_t)mlen;
		rp->started = true;
		return len;
	}
	rp->at_start = false;
	if (mlen && mlen < METHOD_MAX && buf[i] == ' ') {
		memcpy(rp->method_buf + rp->method_held, buf + start, tok);
		rp->method_held = (uint8_t)mlen;
		if (!llhttp_knows(rp->method_buf, mlen)) {
			if (start && (*err = run(rp, buf, start, &used)) != HPE_OK)
				return used;
			rp->ext_method = true;
			if ((*err = run(rp, "GET ", 4, &used)) != HPE_OK)
				return start;
			return i + 1;
		}
		rp->method_held -= (uint8_t)tok;
	}
	/* llhttp reads the method: what was held back, then BUF. */
	if (rp->method_held && (*err = run(rp, rp->method_buf, rp->method_held, &used)) != HPE_OK)
		return 0;
	return 0;
}

static enum request_step step_of(struct request_parser *rp, enum llhttp_errno err, bool in_head)
{
	switch (err) {
	case HPE_OK:
		return REQUEST_MORE;
	case HPE_PAUSED:
		rp->paused = true;
		return in_head ? REQUEST_HEAD : REQUEST_DONE;
	case HPE_PAUSED_UPGRADE:
		rp->paused = true;
		rp->complete = true;
		return REQUEST_UPGRADE;
	case HPE_INVALID_VERSION:
		/* llhttp knows 0.9, 1.0, 1.1 and 2.0; another well-formed
		 * HTTP/x.y is a version lbd does not speak (RFC 9110 §15.6.6),
		 * which llhttp tells from a malformed one by its reason only. */
		if (!rp->status &&
		    strcmp(llhttp_get_error_reason(&rp->p), "Invalid HTTP version") == 0)
			refuse(rp, 505, "an HTTP version lbd does not speak");
		/* fall through */
	default:
		if (!rp->status)
			rp->status = 400;
		return REQUEST_ERROR;
	}
}

enum request_step request_parser_feed(struct request_parser *rp, const char *buf, size_t len,
				      size_t *used)
{
	bool in_head = rp->in_head;
	enum llhttp_errno err = HPE_OK;
	size_t off = 0, n;

	*used = 0;
	if (!in_head && chunk_guard_feed(&rp->cg, buf, len) < 0) {
		refuse(rp, 400, "no CRLF after chunk data");
		return REQUEST_ERROR;
	}
	if (rp->at_start)
		off = method_gate(rp, buf, len, &err);
	n = 0;
	if (err == HPE_OK) /* an empty feed too: it completes a request */
		err = run(rp, buf + off, len - off, &n);
	*used = off + n;
	if (in_head) {
		/* Parsing pauses at the end of a head, so these bytes hold
		 * no body: the count is the head's raw size exactly. */
		rp->head_bytes += *used;
		if (rp->started && rp->head_bytes > rp->header_size) {
			refuse(rp, 431, "request head larger than limits.header_size");
			return REQUEST_ERROR;
		}
	}
	if (err == HPE_PAUSED && rp->skipped) {
		/* The end of a request answered at its head: the next one
		 * starts after it. */
		rp->skipped = false;
		rp->head_bytes = 0;
		llhttp_resume(&rp->p);
		return REQUEST_MORE;
	}
	return step_of(rp, err, in_head);
}

/* Before a server sees the head, the body bytes already received are parsed
 * on a copy of the parser: a request whose framing is broken (a bad chunk
 * size, more data than a chunk announced) or whose body is over the limit
 * is refused while nothing of it has left lbd. Most hostile requests arrive
 * whole in one read; a broken body that arrives later ends the request
 * mid-stream, and lbd's own re-framing keeps the server in sync. */
struct lookahead {
	uint64_t body;
	uint64_t limit;
	int status;
	const char *why;
	struct chunk_guard cg;
	const char *end; /* of the buffer being parsed */
};

static int lookahead_on_body(llhttp_t *p, const char *at, size_t len)
{
	struct lookahead *la = p->data;

	la->body += len;
	if (la->limit && la->body > la->limit) {
		la->status = 413;
		la->why = "request body larger than limits.body_size";
		return -1;
	}
	if ((p->flags & F_CHUNKED) && chunk_guard_body(&la->cg, at, len, la->end) < 0) {
		la->why = "no CRLF after chunk data";
		return -1;
	}
	return 0;
}

static int lookahead_on_chunk_header(llhttp_t *p)
{
	chunk_guard_header(&((struct lookahead *)p->data)->cg, p->content_length);
	return 0;
}

static int lookahead_on_message_complete(llhttp_t *p)
{
	return HPE_PAUSED;
}

static const llhttp_settings_t lookahead_settings = {
	.on_body = lookahead_on_body,
	.on_chunk_header = lookahead_on_chunk_header,
	.on_message_complete = lookahead_on_message_complete,
};

static int lookahead_status(struct request_parser *rp, struct evbuffer *in)
{
	struct evbuffer_iovec v[16];
	struct lookahead la = { .limit = rp->body_size };
	llhttp_t probe = rp->p;
	int n = evbuffer_peek(in, -1, NULL, v, 16);

	probe.settings = (void *)&lookahead_settings;
	probe.data = &la;
	llhttp_resume(&probe);
	for (int i = 0; i < n && i < 16; i++) {
		la.end = (const char *)v[i].iov_base + v[i].iov_len;
		if (chunk_guard_feed(&la.cg, v[i].iov_base, v[i].iov_len) < 0) {
			la.why = "no CRLF after chunk data";
			break;
		}
		enum llhttp_errno err = llhttp_execute(&probe, v[i].iov_base, v[i].iov_len);
		if (err == HPE_PAUSED)
			return 0;
		if (err != HPE_OK) {
			if (!la.why)
				la.why = llhttp_get_error_reason(&probe);
			if (!la.why || !*la.why)
				la.why = "malformed request body";
			break;
		}
	}
	if (!la.why)
		return 0;
	refuse(rp, la.status ? la.status : 400, la.why);
	return rp->status;
}

int request_parser_check_body(struct request_parser *rp, uint64_t body_size, struct evbuffer *in)
{
	rp->body_size = body_size;
	if (body_size && rp->body == BODY_LENGTH && rp->p.content_length > body_size) {
		refuse(rp, 413, "Content-Length larger than limits.body_size");
		return 413;
	}
	return rp->body == BODY_NONE ? 0 : lookahead_status(rp, in);
}

void request_parser_resume(struct request_parser *rp)
{
	if (!rp->paused)
		return;
	llhttp_resume(&rp->p);
	rp->paused = false;
}

void request_parser_next(struct request_parser *rp)
{
	rp->discarding = !rp->complete;
	rp->method = NULL;
	rp->body = BODY_NONE;
	rp->raw_out = false;
	rp->body_size = 0;
	rp->body_bytes = 0;
	rp->started = false;
	rp->complete = false;
	rp->in_head = true;
	rp->head_bytes = 0;
	rp->method_held = 0;
	rp->ext_method = false;
	rp->reason = NULL;
	if (!rp->paused)
		return;
	if (llhttp_get_errno(&rp->p) == HPE_PAUSED_UPGRADE)
		llhttp_resume_after_upgrade(&rp->p);
	else
		llhttp_resume(&rp->p);
	rp->paused = false;
}

const char *request_parser_error(const struct request_parser *rp)
{
	const char *why;

	if (rp->reason)
		return rp->reason;
	why = llhttp_get_error_reason(&rp->p);
	return why && *why ? why : "malformed request";
}
