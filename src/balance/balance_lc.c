/* balance_lc.c — least connections, weighted, across worker threads.
 *
 * The pick is the eligible server with the fewest requests in flight
 * relative to its weight, counting the request being placed:
 * (active + 1) / weight, compared by cross-multiplying so that no division
 * or float is involved. Counting the new request makes an idle pool favour
 * the heavier server and, as requests pile up, fills servers in proportion
 * to their weights. `active` is the per-server atomic every worker
 * increments when it assigns a request and decrements when the request
 * ends, so the count is process-wide and no lock is taken; a pick reads
 * slightly stale counts under contention, which only matters for ties.
 *
 * With pools[].max_requests_per_server, the requests that wait for one
 * server alone (sticky ones whose server is full, core/pool_queue.h) count
 * as its load too: they will run there, so a new request placed by this
 * algorithm should not pile onto that server. The pool's other waiters
 * take whichever server frees a slot first and count for none.
 *
 * Ties rotate: the scan starts at a position that advances by one per pick
 * (one atomic add on the pool), and the first strictly better server wins,
 * so equal servers take turns instead of the first one taking every tie.
 * Backup servers are scanned only when no primary is eligible.
 */
#include <stdint.h>
#include <stdlib.h>

#include "balance/balance.h"
#include "core/runtime.h"

/* Nothing to precompute; a non-NULL pointer says "built". */
static void *lc_build(const struct pool_conf *pool, struct server_conf *const *servers, size_t n)
{
	static char built;

	return &built;
}

static void lc_free(void *data)
{
	(void)data;
}

static struct server_conf *scan(const struct pool_members *m, size_t start, bool backup,
				const struct balance_ctx *ctx)
{
	struct server_conf *best = NULL;
	uint64_t best_load = 0, best_weight = 1;
	size_t n = m->n;

	for (size_t k = 0; k < n; k++) {
		struct server_conf *s = m->servers[(start + k) % n];
		if (s->backup != backup || !balance_server_eligible(s, ctx))
			continue;
		int active = atomic_load_explicit(&s->rt->active, memory_order_relaxed) +
			     atomic_load_explicit(&s->rt->queued, memory_order_relaxed);
		uint64_t load = (uint64_t)(active > 0 ? active : 0) + 1;
		uint64_t weight = balance_share(s);
		if (!best || load * best_weight < best_load * weight) {
			best = s;
			best_load = load;
			best_weight = weight;
		}
	}
	return best;
}

static struct server_conf *lc_pick(const struct pool_conf *pool, const struct pool_members *m,
				   const struct balance_ctx *ctx)
{
	if (m->n == 0)
		return NULL;
	size_t start = (size_t)(atomic_fetch_add_explicit(&pool->rt->rr_next, 1,
							  memory_order_relaxed) %
				m->n);
	struct server_conf *srv = scan(m, start, false, ctx);
	return srv ? srv : scan(m, start, true, ctx);
}

const struct balancer_ops balance_least_conn = {
	.name = "least_conn",
	.build = lc_build,
	.free = lc_free,
	.pick = lc_pick,
};
