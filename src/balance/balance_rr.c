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

static int schedule_build(struct rr_schedule *sch, struct server_conf *const *servers, size_t n,
			  int backup)
{
	uint32_t g = 0;
	size_t total = 0;

	for (size_t i = 0; i < n; i++)
		if (servers[i]->backup == backup && balance_share(servers[i]))
			g = gcd(g, balance_share(servers[i]));
	if (g == 0)
		return 0; /* no server of this kind takes traffic */
	for (size_t i = 0; i < n; i++)
		if (servers[i]->backup == backup)
			total += balance_share(servers[i]) / g;

	int64_t *current = calloc(n, sizeof(*current));
	sch->slots = malloc(total * sizeof(*sch->slots));
	if (!current || !sch->slots) {
		free(current);
		return -1;
	}
	for (size_t slot = 0; slot < total; slot++) {
		size_t best = SIZE_MAX;
		for (size_t i = 0; i < n; i++) {
			const struct server_conf *s = servers[i];
			uint32_t weight = balance_share(s);
			if (s->backup != backup || weight == 0)
				continue;
			current[i] += weight / g;
			if (best == SIZE_MAX || current[i] > current[best])
				best = i;
		}
		current[best] -= (int64_t)total;
		sch->slots[slot] = (uint32_t)best;
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

static void *rr_build(const struct pool_conf *pool, struct server_conf *const *servers, size_t n)
{
	struct rr_data *rr = calloc(1, sizeof(*rr));

	if (!rr)
		return NULL;
	if (schedule_build(&rr->primary, servers, n, 0) < 0 ||
	    schedule_build(&rr->backup, servers, n, 1) < 0) {
		rr_free(rr);
		return NULL;
	}
	return rr;
}

static struct server_conf *schedule_pick(const struct pool_conf *pool, const struct pool_members *m,
					 const struct rr_schedule *sch,
					 const struct balance_ctx *ctx)
{
	/* Each attempt takes a fresh position so that a skipped server's turn
	 * goes to whoever is next, not always to its neighbour. */
	for (size_t attempt = 0; attempt < sch->len; attempt++) {
		uint64_t pos = atomic_fetch_add_explicit(&pool->rt->rr_next, 1,
							 memory_order_relaxed);
		struct server_conf *srv = m->servers[sch->slots[pos % sch->len]];
		if (balance_server_eligible(srv, ctx))
			return srv;
	}
	return NULL;
}

static struct server_conf *rr_pick(const struct pool_conf *pool, const struct pool_members *m,
				   const struct balance_ctx *ctx)
{
	const struct rr_data *rr = m->balancer;
	struct server_conf *srv = NULL;

	if (rr->primary.len)
		srv = schedule_pick(pool, m, &rr->primary, ctx);
	if (!srv && rr->backup.len)
		srv = schedule_pick(pool, m, &rr->backup, ctx);
	return srv;
}

const struct balancer_ops balance_round_robin = {
	.name = "round_robin",
	.build = rr_build,
	.free = rr_free,
	.pick = rr_pick,
};
