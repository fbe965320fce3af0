/* balance.c — dispatch from a pool to its algorithm. */
#include <stdlib.h>
#include <string.h>

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
	case BALANCE_MAGLEV:
		return &balance_maglev;
	}
	return &balance_round_robin;
}

static struct pool_members *members_new(const struct pool_conf *pool,
					struct server_conf *const *servers, size_t n)
{
	const struct balancer_ops *ops = balance_ops(pool->balance);
	struct pool_members *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->servers = calloc(n ? n : 1, sizeof(*m->servers));
	if (m->servers) {
		memcpy(m->servers, servers, n * sizeof(*servers));
		m->n = n;
		m->balancer = ops->build(pool, m->servers, n);
		m->balancer_free = ops->free;
	}
	if (!m->servers || !m->balancer) {
		m->balancer_free = NULL;
		pool_members_free(m);
		return NULL;
	}
	return m;
}

int balance_build(struct config *cfg)
{
	for (size_t i = 0; i < cfg->npools; i++) {
		struct pool_conf *pool = &cfg->pools[i];
		struct server_conf **servers = calloc(pool->nservers ? pool->nservers : 1,
						      sizeof(*servers));
		if (!servers)
			return -1;
		for (size_t j = 0; j < pool->nservers; j++)
			servers[j] = &pool->servers[j];
		struct pool_members *m = members_new(pool, servers, pool->nservers);
		free(servers);
		if (!m)
			return -1;
		atomic_store(&pool->members, m);
	}
	return 0;
}

int balance_publish(struct pool_conf *pool, struct server_conf *const *servers, size_t n,
		    struct pool_members **old)
{
	struct pool_members *m = members_new(pool, servers, n);

	if (!m)
		return -1;
	*old = atomic_exchange_explicit(&pool->members, m, memory_order_acq_rel);
	return 0;
}

int balance_rebuild(struct pool_conf *pool, struct pool_members **old)
{
	const struct pool_members *now = balance_members(pool);

	return balance_publish(pool, now->servers, now->n, old);
}

struct server_conf *balance_pick(const struct pool_conf *pool, const struct balance_ctx *ctx)
{
	const struct pool_members *m = balance_members(pool);

	return balance_ops(pool->balance)->pick(pool, m, ctx);
}

int balance_server_eligible(const struct server_conf *srv, const struct balance_ctx *ctx)
{
	if (srv->leaving || srv->unresolved || balance_weight(srv) == 0 ||
	    !server_rt_available(srv->rt) ||
	    (ctx->slot_cap && !queue_slot_free(&srv->rt->active, ctx->slot_cap)))
		return 0;
	for (size_t i = 0; i < ctx->ntried; i++)
		if (ctx->tried[i] == srv)
			return 0;
	return 1;
}

int balance_server_sticky_eligible(const struct server_conf *srv, const struct balance_ctx *ctx)
{
	int state = atomic_load_explicit(&srv->rt->state, memory_order_relaxed);

	if (srv->leaving || balance_weight(srv) == 0 ||
	    (state != SERVER_UP && state != SERVER_DRAINING) || !health_rt_up(&srv->rt->health))
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
