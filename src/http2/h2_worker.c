/* h2_worker.c — HTTP/1's worker protocol with the HTTP/2 client side
 * plugged in: the same per-worker state (one pool of server connections
 * for both), and connections that turn out to speak HTTP/2 handed over. */
#include "http/http.h"
#include "http2/http2.h"

static void *h2_worker_new(struct worker *w)
{
	struct http_worker *hw = http_protocol.init(w);

	if (hw)
		hw->h2_start = h2_conn_start;
	return hw;
}

static int h2_worker_accept(void *ctx, size_t listener_index, int fd, const struct sockaddr *peer,
			    socklen_t peer_len)
{
	return http_protocol.accept(ctx, listener_index, fd, peer, peer_len);
}

static void h2_worker_tick(void *ctx)
{
	http_protocol.tick(ctx);
}

static void h2_worker_stop(void *ctx)
{
	http_protocol.stop(ctx);
}

static void h2_worker_free(void *ctx)
{
	http_protocol.free(ctx);
}

const struct worker_protocol http2_protocol = {
	.name = "http",
	.init = h2_worker_new,
	.accept = h2_worker_accept,
	.tick = h2_worker_tick,
	.stop = h2_worker_stop,
	.free = h2_worker_free,
};
