/* http_worker.c — the HTTP/1 protocol's state in one worker (struct
 * http_worker: the pool of idle server connections, the head storage
 * cache, a scratch buffer) and the calls the worker makes into it:
 * accept, the housekeeping tick, stop and free.
 */
#include <stdlib.h>

#include "http/http.h"
#include "http/http_client.h"
#include "http/http_conn.h"

static void *http_worker_new(struct worker *w)
{
	struct http_worker *hw = calloc(1, sizeof(*hw));

	if (!hw)
		return NULL;
	hw->w = w;
	TAILQ_INIT(&hw->warm);
	hw->pool = upstream_pool_new(hw);
	if (!hw->pool) {
		free(hw);
		return NULL;
	}
	return hw;
}

static int http_worker_accept(void *ctx, size_t listener_index, int fd, const struct sockaddr *peer,
			      socklen_t peer_len)
{
	return client_accept(ctx, listener_index, fd, peer);
}

static void http_worker_tick(void *ctx)
{
	struct http_worker *hw = ctx;

	upstream_pool_close_unavailable(hw->pool);
	http_worker_trim_spares(hw, CLIENT_SPARES_MAX);
}

static void http_worker_stop(void *ctx)
{
	struct http_worker *hw = ctx;

	upstream_pool_close_idle(hw->pool);
}

static void http_worker_free(void *ctx)
{
	struct http_worker *hw = ctx;

	upstream_pool_free(hw->pool);
	http_worker_trim_spares(hw, 0);
	strbuf_free(&hw->scratch);
	http_head_cache_free(&hw->head_cache);
	free(hw);
}

const struct worker_protocol http_protocol = {
	.name = "http",
	.init = http_worker_new,
	.accept = http_worker_accept,
	.tick = http_worker_tick,
	.stop = http_worker_stop,
	.free = http_worker_free,
};
