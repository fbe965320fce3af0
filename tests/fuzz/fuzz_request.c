/* fuzz_request.c — libFuzzer target for the request path: a client's bytes
 * through the request parser lbd's client side uses (request_parser.c: every
 * check on the raw bytes, the limits, the body look-ahead, bodies framed
 * again, pipelining), and through the checks, routing and rewriting lbd
 * applies to each head, driven as http_client.c drives them.
 *
 * Input: one byte of limits (small or large head, few or many fields, a
 * body limit or none), one byte that says how the rest is cut into reads,
 * then the client's bytes. What a server would get for each request must
 * parse again, strictly, as one complete request with the same body.
 * `make fuzz-http` runs it.
 */
#include <event2/buffer.h>
#include <llhttp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/compress.h"
#include "http/http_request.h"
#include "http/request_parser.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct pool_conf pools[2] = { { .name = "api" }, { .name = "web" } };
static struct route_conf routes[] = {
	{ .host = "*.example.com", .path_prefix = "/api", .pool = &pools[0] },
	{ .path_prefix = "/", .pool = &pools[1] },
};
static const struct listener_conf listener = { .name = "web", .routes = routes, .nroutes = 2 };

/* --- the server's view: a strict parse of what lbd forwarded ------------- */

struct server_view {
	llhttp_t p;
	uint64_t body;
	bool complete;
};

static int view_body(llhttp_t *p, const char *at, size_t len)
{
	((struct server_view *)p->data)->body += len;
	return 0;
}

static int view_message_complete(llhttp_t *p)
{
	((struct server_view *)p->data)->complete = true;
	return HPE_PAUSED;
}

static const llhttp_settings_t view_settings = {
	.on_body = view_body,
	.on_message_complete = view_message_complete,
};

/* HEAD (the rendered head) and BODY (the body as framed again) are one
 * complete request, with BODY_BYTES of payload and nothing after it. */
static void check_forwarded(const char *head, size_t head_len, struct evbuffer *body,
			    uint64_t body_bytes)
{
	struct server_view v = { 0 };

	if (evbuffer_prepend(body, head, head_len) < 0)
		abort();
	size_t len = evbuffer_get_length(body);
	const char *b = (const char *)evbuffer_pullup(body, -1);
	/* The method is a token (lbd passes extension methods on, which
	 * llhttp does not know): the view reads "GET" in its place. */
	const char *sp = memchr(b, ' ', len);
	if (!sp || sp == b)
		abort();
	for (const char *m = b; m < sp; m++)
		if (*m <= ' ' || *m >= 0x7f || strchr("\"(),/:;<=>?@[\\]{}", *m))
			abort();
	llhttp_init(&v.p, HTTP_REQUEST, &view_settings);
	v.p.data = &v;
	if (llhttp_execute(&v.p, "GET", 3) != HPE_OK ||
	    llhttp_execute(&v.p, sp, len - (size_t)(sp - b)) != HPE_PAUSED || !v.complete ||
	    llhttp_get_error_pos(&v.p) != b + len)
		abort(); /* a server would read something else */
	if (v.body != body_bytes)
		abort();
	evbuffer_drain(body, len);
}

/* --- a client connection, as http_client.c handles one ------------------- */

struct conn {
	struct request_parser rp;
	struct evbuffer *in;  /* read, not yet parsed */
	struct evbuffer *out; /* towards the server */
	uint64_t body_size;
	char *head_out; /* the head forwarded for the request */
	size_t head_out_len;
	bool closed;
	bool keep_alive;
	unsigned gzip; /* requests whose Accept-Encoding takes gzip */
};

/* lbd answered STATUS itself: the connection stays only after a 404 whose
 * request has no body left (http_client.c, error_keeps_connection). */
static void answer(struct conn *c, int status)
{
	if (status == 404 && c->keep_alive && !request_parser_body_left(&c->rp))
		request_parser_next(&c->rp);
	else
		c->closed = true;
}

static void handle_head(struct conn *c)
{
	struct request_plan plan;
	int status;

	c->keep_alive = request_parser_keep_alive(&c->rp);
	/* Accept-Encoding, as the exchange reads it for compression. */
	c->gzip += compress_accepts_gzip(&c->rp.head);
	status = http_request_plan(&c->rp.p, &c->rp.head, &listener, &plan);
	if (!status)
		status = request_parser_check_body(&c->rp, c->body_size, c->in);
	if (status) {
		answer(c, status);
		return;
	}
	plan.out.client_ip = "192.0.2.1";
	plan.out.proto = "http";
	if (http_request_render(&c->rp.head, &plan.out, &c->head_out, &c->head_out_len) < 0)
		abort();
	/* What is forwarded never holds a bare CR or LF inside a line. */
	for (size_t i = 0; i + 1 < c->head_out_len; i++)
		if ((c->head_out[i] == '\r') != (c->head_out[i + 1] == '\n'))
			abort();
	request_parser_resume(&c->rp);
}

static void process(struct conn *c)
{
	struct request_parser *rp = &c->rp;

	while (!c->closed && !rp->paused && !(c->head_out && rp->complete)) {
		struct evbuffer_iovec v;
		bool kick = false;
		if (evbuffer_peek(c->in, -1, NULL, &v, 1) < 1 || v.iov_len == 0) {
			if (request_parser_needs_bytes(rp))
				return;
			v = (struct evbuffer_iovec){ .iov_base = (void *)"", .iov_len = 0 };
			kick = true;
		}
		size_t used;
		enum request_step step = request_parser_feed(rp, v.iov_base, v.iov_len, &used);
		if (used > v.iov_len)
			abort();
		evbuffer_drain(c->in, used);
		switch (step) {
		case REQUEST_MORE:
			if (kick)
				return;
			break;
		case REQUEST_HEAD:
			if (rp->in_head || !rp->method)
				abort();
			handle_head(c);
			break;
		case REQUEST_DONE:
			if (!rp->complete || !c->head_out)
				abort();
			check_forwarded(c->head_out, c->head_out_len, c->out, rp->body_bytes);
			free(c->head_out);
			c->head_out = NULL;
			/* The response is done: on to the next request. */
			if (c->keep_alive)
				request_parser_next(rp);
			else
				c->closed = true;
			break;
		case REQUEST_UPGRADE:
			c->closed = true; /* a tunnel from here */
			break;
		case REQUEST_ERROR:
			if (rp->status != 400 && rp->status != 413 && rp->status != 431 &&
			    rp->status != 500 && rp->status != 505)
				abort();
			c->closed = true;
			break;
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conn c = { 0 };

	if (size < 2)
		return 0;
	uint8_t limits = data[0], cut = data[1];
	const char *in = (const char *)data + 2;
	size_t len = size - 2;

	c.in = evbuffer_new();
	c.out = evbuffer_new();
	if (!c.in || !c.out)
		abort();
	request_parser_init(&c.rp, NULL);
	c.rp.header_size = limits & 1 ? 96 : 8192;
	c.rp.headers = limits & 2 ? 4 : 64;
	c.body_size = limits & 4 ? 0 : (limits >> 3) + 1;
	c.rp.out = c.out;

	/* Reads of varying sizes (all at once when CUT is 0): what a read
	 * leaves unparsed waits in IN for the next. */
	uint32_t x = cut;
	for (size_t pos = 0; pos < len && !c.closed;) {
		x = x * 1103515245u + 12345u;
		size_t n = cut ? 1 + (x >> 16) % cut : len;
		if (n > len - pos)
			n = len - pos;
		evbuffer_add(c.in, in + pos, n);
		pos += n;
		process(&c);
	}

	free(c.head_out);
	request_parser_free(&c.rp);
	evbuffer_free(c.in);
	evbuffer_free(c.out);
	return 0;
}
