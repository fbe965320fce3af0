/* balance_rr.c — smooth weighted round-robin, fair across worker threads.
 *
 * The sequence nginx's smooth weighted round-robin produces for a set of
 * weights is computed once, when the configuration is built, and again
 * when a runtime weight changes (balance_rebuild()) (weights 5,1,1
 * give a,a,b,a,c,a,a: no burst to the heavy server). Workers then share one
 * atomic position per pool: each pick is one fetch-and-add into the
 * schedule, so the interleaving is smooth for the whole process, not per
 * thread, and no lock is taken. A server that cannot take the request
 * (down, draining, tried) gives its turn away to the next position, so the
 * remaining servers keep their relative shares. Backup servers have their
 * own schedule, used only when no primary can be picked.
 */
#include <stdint.h>
#include <stdlib.h>

#include "balance/balance.h"
#include "core/runtime.h"

struct rr_schedule {
	uint32_t *slots; /* server indexes */
	size_t len;
};

struct rr_data {
	struct rr_schedule primary, backup;
};

static uint32_t gcd(uint32_t a, uint32_t b)
{
	while (b) {
		uint32_t t = a % b;
		a = b;
		b = t;
	}
	return a;
}

static int schedule_build(struct rr_schedule *sch, const struct pool_conf *pool, int backup)
{
	uint32_t g = 0;
	size_t total = 0;

	for (size_t i = 0; i < pool->nservers; i++)
		if (pool->servers[i].backup == backup && balance_share(&pool->servers[i]))
			g = gcd(g, balance_share(&pool->servers[i]));
	if (g == 0)
		return 0; /* no server of this kind takes traffic */
	for (size_t i = 0; i < pool->nservers; i++)
		if (pool->servers[i].backup == backup)
			total += balance_share(&pool->servers[i]) / g;

	int64_t *current = calloc(pool->nservers, sizeof(*current));
	sch->slots = malloc(total * sizeof(*sch->slots));
	if (!current || !sch->slots) {
		free(current);
		return -1;
	}
	for (size_t n = 0; n < total; n++) {
		size_t best = SIZE_MAX;
		for (size_t i = 0; i < pool->nservers; i++) {
			const struct server_conf *s = &pool->servers[i];
			uint32_t weight = balance_share(s);
			if (s->backup != backup || weight == 0)
				continue;
			current[i] += weight / g;
			if (best == SIZE_MAX || current[i] > current[best])
				best = i;
		}
		current[best] -= (int64_t)total;
		sch->slots[n] = (uint32_t)best;
	}
	sch->len = total;
	free(current);
	return 0;
}

static void rr_free(void *data)
{
	struct rr_data *rr = data;

	if (!rr)
		return;
	free(rr->primary.slots);
	free(rr->backup.slots);
	free(rr);
}

static void *rr_build(const struct pool_conf *pool)
{
	struct rr_data *rr = calloc(1, sizeof(*rr));

	if (!rr)
		return NULL;
	if (schedule_build(&rr->primary, pool, 0) < 0 || schedule_build(&rr->backup, pool, 1) < 0) {
		rr_free(rr);
		return NULL;
	}
	return rr;
}

static struct server_conf *schedule_pick(const struct pool_conf *pool,
					 const struct rr_schedule *sch,
					 const struct balance_ctx *ctx)
{
	/* Each attempt takes a fresh position so that a skipped server's turn
	 * goes to whoever is next, not always to its neighbour. */
	for (size_t attempt = 0; attempt < sch->len; attempt++) {
		uint64_t pos = atomic_fetch_add_explicit(&pool->rt->rr_next, 1,
							 memory_order_relaxed);
		struct server_conf *srv = &pool->servers[sch->slots[pos % sch->len]];
		if (balance_server_eligible(srv, ctx))
			return srv;
	}
	return NULL;
}

static struct server_conf *rr_pick(const struct pool_conf *pool, void *data,
				   const struct balance_ctx *ctx)
{
	struct rr_data *rr = data;
	struct server_conf *srv = NULL;

	if (rr->primary.len)
		srv = schedule_pick(pool, &rr->primary, ctx);
	if (!srv && rr->backup.len)
		srv = schedule_pick(pool, &rr->backup, ctx);
	return srv;
}

const struct balancer_ops balance_round_robin = {
	.name = "round_robin",
	.build = rr_build,
	.free = rr_free,
	.pick = rr_pick,
};
