/* fuzz_request.c — libFuzzer target for the request path: bytes in, the
 * way lbd's client side parses them (llhttp, strict, into a bounded head,
 * obs-fold refused), then the checks, routing and rewriting lbd applies
 * before a server sees anything. The input is fed in two pieces, split
 * where its first byte says, so that spans split across reads are
 * exercised too. `make fuzz-http` runs it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_request.h"
#include "../unit/head_parser.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct pool_conf pools[2] = { { .name = "api" }, { .name = "web" } };
static struct route_conf routes[] = {
	{ .host = "*.example.com", .path_prefix = "/api", .pool = &pools[0] },
	{ .pool = &pools[1] },
};
static const struct listener_conf listener = { .name = "web", .routes = routes, .nroutes = 2 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct head_parser r;
	struct request_plan plan;

	if (size < 1)
		return 0;
	size_t split = data[0] % (size);
	const char *in = (const char *)data + 1;
	size_t len = size - 1;
	if (split > len)
		split = len;

	head_parser_init(&r, 8192, 64);
	enum llhttp_errno err = head_parser_feed(&r, in, split, 0);
	if (err == HPE_OK && !r.done)
		err = head_parser_feed(&r, in + split, len - split, split ? in[split - 1] : 0);
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
