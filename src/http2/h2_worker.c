/* h2_worker.c — HTTP/1's worker protocol with HTTP/2 plugged in: the same
 * per-worker state, connections that turn out to speak HTTP/2 handed to
 * the HTTP/2 client side, and the HTTP/2 server side for pools of protocol
 * h2 (with its own pool of server connections). */
#include "http/http.h"
#include "http2/h2_conn.h"
#include "http2/h2_upstream.h"
#include "http2/http2.h"

static void *h2_worker_new(struct worker *w)
{
	struct http_worker *hw = http_protocol.init(w);

	if (!hw)
		return NULL;
	hw->h2_pool = h2_upstream_pool_new(hw);
	if (!hw->h2_pool) {
		http_protocol.free(hw);
		return NULL;
	}
	hw->h2_start = h2_conn_start;
	hw->h2_upstream = &h2_upstream_ops;
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
	struct http_worker *hw = ctx;

	h2_upstream_pool_close_idle(hw->h2_pool);
	http_protocol.stop(ctx);
}

static void h2_worker_free(void *ctx)
{
	struct http_worker *hw = ctx;

	h2_upstream_pool_free(hw->h2_pool);
	h2_stream_spares_free(hw);
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
