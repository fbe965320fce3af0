/* balance_hash.c — ip_hash: weighted rendezvous (highest random weight)
 * hashing.
 *
 * Every server gets a seed from its name. For a key, each eligible server
 * scores hash(key) mixed with its seed, turned into u in (0,1), and the
 * key goes to the server with the smallest -ln(u) / weight (the weighted
 * rendezvous rule: a server's chance of winning is its weight over the
 * total). Why rendezvous rather than a ring or Maglev:
 *  - a key moves only when its winner changes: adding a server takes just
 *    the keys it now wins (weight / total of them), removing one moves just
 *    its own keys, and nobody else's keys move at all: the minimum there is;
 *  - a down (or draining, disabled, tried) server is skipped at pick time
 *    and its keys go to their second choice, spread over all the others;
 *    when it returns they come back. No table is rebuilt on health changes,
 *    which matters because health is runtime state shared by workers;
 *  - the mapping depends only on server names, weights and the key, so two
 *    lbd processes with the same configuration agree on every key;
 *  - weights are exact, with no virtual nodes and no memory per weight.
 * The cost is O(servers) per pick: fine for the tens of servers a pool
 * usually has, measurable at a thousand (bench/run reports it). When all
 * primaries have one weight, the smallest -ln(u)/w is simply the largest
 * hash, and the logarithm is skipped.
 *
 * Backup servers are hashed only when no primary is eligible.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "balance/balance.h"
#include "core/runtime.h"
#include "util/hash.h"

#define SEED_SALT 0x6c62642d68617368ULL /* "lbd-hash" */

struct hash_data {
	uint64_t *seeds; /* per server, from its name */
	bool uniform[2]; /* primaries / backups all share one weight */
};

static void hash_free(void *data)
{
	struct hash_data *h = data;

	if (!h)
		return;
	free(h->seeds);
	free(h);
}

static void *hash_build(const struct pool_conf *pool, struct server_conf *const *servers, size_t n)
{
	struct hash_data *h = calloc(1, sizeof(*h));
	uint32_t weight[2] = { 0, 0 };

	if (!h)
		return NULL;
	h->seeds = calloc(n ? n : 1, sizeof(*h->seeds));
	if (!h->seeds) {
		free(h);
		return NULL;
	}
	h->uniform[0] = h->uniform[1] = true;
	for (size_t i = 0; i < n; i++) {
		const struct server_conf *s = servers[i];
		h->seeds[i] = hash64(s->name, strlen(s->name), SEED_SALT);
		if (balance_share(s) == 0)
			continue;
		if (weight[s->backup] && weight[s->backup] != balance_share(s))
			h->uniform[s->backup] = false;
		weight[s->backup] = balance_share(s);
	}
	return h;
}

/* -ln(u) / w with u in (0,1) from the top 53 bits of SCORE. */
static double weighted_cost(uint64_t score, uint32_t weight)
{
	double u = ((double)(score >> 11) + 0.5) * (1.0 / 9007199254740992.0);

	return -log(u) / (double)weight;
}

static struct server_conf *rendezvous(const struct pool_members *m, const struct hash_data *h,
				      uint64_t key, bool backup, const struct balance_ctx *ctx)
{
	struct server_conf *best = NULL;
	uint64_t best_score = 0;
	double best_cost = 0;

	for (size_t i = 0; i < m->n; i++) {
		struct server_conf *s = m->servers[i];
		if (s->backup != backup || !balance_server_eligible(s, ctx))
			continue;
		uint64_t score = hash_mix64(key ^ h->seeds[i]);
		if (h->uniform[backup]) {
			if (!best || score > best_score) {
				best = s;
				best_score = score;
			}
			continue;
		}
		double cost = weighted_cost(score, balance_share(s));
		if (!best || cost < best_cost) {
			best = s;
			best_cost = cost;
		}
	}
	return best;
}

static struct server_conf *hash_pick(const struct pool_conf *pool, const struct pool_members *m,
				     const struct balance_ctx *ctx)
{
	const struct hash_data *h = m->balancer;
	uint64_t key = hash64(ctx->key, ctx->key ? ctx->key_len : 0, 0);
	struct server_conf *srv = rendezvous(m, h, key, false, ctx);

	return srv ? srv : rendezvous(m, h, key, true, ctx);
}

const struct balancer_ops balance_ip_hash = {
	.name = "ip_hash",
	.build = hash_build,
	.free = hash_free,
	.pick = hash_pick,
};
