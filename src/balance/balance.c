/* balance.c — dispatch from a pool to its algorithm. */
#include "balance/balance.h"

#include "core/runtime.h"

const struct balancer_ops *balance_ops(enum balance_algo algo)
{
	switch (algo) {
	case BALANCE_ROUND_ROBIN:
		return &balance_round_robin;
	case BALANCE_LEAST_CONN:
		return &balance_least_conn;
	case BALANCE_IP_HASH:
		return &balance_ip_hash;
	case BALANCE_STICKY_COOKIE:
		return &balance_sticky_cookie;
	}
	return &balance_round_robin;
}

int balance_build(struct config *cfg)
{
	for (size_t i = 0; i < cfg->npools; i++) {
		struct pool_conf *pool = &cfg->pools[i];
		const struct balancer_ops *ops = balance_ops(pool->balance);
		pool->balancer = ops->build(pool);
		if (!pool->balancer)
			return -1;
		pool->balancer_free = ops->free;
	}
	return 0;
}

int balance_rebuild(struct pool_conf *pool, void **old)
{
	void *data = balance_ops(pool->balance)->build(pool);

	if (!data)
		return -1;
	*old = atomic_exchange_explicit(&pool->balancer, data, memory_order_acq_rel);
	return 0;
}

struct server_conf *balance_pick(const struct pool_conf *pool, const struct balance_ctx *ctx)
{
	void *data = atomic_load_explicit(&pool->balancer, memory_order_acquire);

	return balance_ops(pool->balance)->pick(pool, data, ctx);
}

int balance_server_eligible(const struct server_conf *srv, const struct balance_ctx *ctx)
{
	if (balance_weight(srv) == 0 || !server_rt_available(srv->rt))
		return 0;
	for (size_t i = 0; i < ctx->ntried; i++)
		if (ctx->tried[i] == srv)
			return 0;
	return 1;
}

int balance_server_sticky_eligible(const struct server_conf *srv, const struct balance_ctx *ctx)
{
	int state = atomic_load_explicit(&srv->rt->state, memory_order_relaxed);

	if (balance_weight(srv) == 0 || (state != SERVER_UP && state != SERVER_DRAINING) ||
	    !health_rt_up(&srv->rt->health))
		return 0;
	for (size_t i = 0; i < ctx->ntried; i++)
		if (ctx->tried[i] == srv)
			return 0;
	return 1;
}

const char *balance_name(enum balance_algo algo)
{
	return balance_ops(algo)->name;
}
