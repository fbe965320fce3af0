/* fuzz_request.c — libFuzzer target for the request path: bytes in, the
 * way lbd's client side parses them (llhttp, strict, into a bounded head,
 * obs-fold refused), then the checks, routing and rewriting lbd applies
 * before a server sees anything. The input is fed in two pieces, split
 * where its first byte says, so that spans split across reads are
 * exercised too. `make fuzz-http` runs it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http_request.h"

struct parsed {
	llhttp_t p;
	struct http_head h;
	const char *chunk;
	char prev;
	int done;
};

static int on_url(llhttp_t *p, const char *at, size_t len)
{
	return http_head_add_url(&((struct parsed *)p->data)->h, at, len);
}

static int on_field(llhttp_t *p, const char *at, size_t len)
{
	return http_head_add_name(&((struct parsed *)p->data)->h, at, len);
}

static int on_value(llhttp_t *p, const char *at, size_t len)
{
	struct parsed *r = p->data;

	if (http_value_is_folded(at, r->chunk, r->prev))
		return -1;
	return http_head_add_value(&r->h, at, len);
}

static int on_headers_complete(llhttp_t *p)
{
	((struct parsed *)p->data)->done = 1;
	return HPE_PAUSED;
}

static const llhttp_settings_t settings = {
	.on_url = on_url,
	.on_header_field = on_field,
	.on_header_value = on_value,
	.on_headers_complete = on_headers_complete,
};

static struct pool_conf pools[2] = { { .name = "api" }, { .name = "web" } };
static struct route_conf routes[] = {
	{ .host = "*.example.com", .path_prefix = "/api", .pool = &pools[0] },
	{ .pool = &pools[1] },
};
static const struct listener_conf listener = { .name = "web", .routes = routes, .nroutes = 2 };

static enum llhttp_errno feed(struct parsed *r, const char *data, size_t len, char prev)
{
	r->chunk = data;
	r->prev = prev;
	return llhttp_execute(&r->p, data, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct parsed r;
	struct request_plan plan;

	if (size < 1)
		return 0;
	size_t split = data[0] % (size);
	const char *in = (const char *)data + 1;
	size_t len = size - 1;
	if (split > len)
		split = len;

	memset(&r, 0, sizeof(r));
	http_head_init(&r.h, 8192, 64);
	llhttp_init(&r.p, HTTP_REQUEST, &settings);
	r.p.data = &r;
	enum llhttp_errno err = feed(&r, in, split, 0);
	if (err == HPE_OK && !r.done)
		err = feed(&r, in + split, len - split, split ? in[split - 1] : 0);
	if (err == HPE_PAUSED && r.done &&
	    http_request_plan(&r.p, &r.h, &listener, &plan) == 0) {
		char *out;
		size_t out_len;
		plan.out.client_ip = "192.0.2.1";
		plan.out.proto = "http";
		if (http_request_render(&r.h, &plan.out, &out, &out_len) == 0) {
			/* What is forwarded never holds a bare CR or LF inside a line. */
			for (size_t i = 0; i + 1 < out_len; i++)
				if ((out[i] == '\r') != (out[i + 1] == '\n'))
					abort();
			free(out);
		}
	}
	http_head_free(&r.h);
	return 0;
}
