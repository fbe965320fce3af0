/* balance.h — one interface for every balancing algorithm.
 *
 * An algorithm is one file that fills a struct balancer_ops: build its data
 * from a pool's (immutable) configuration, pick a server for a request, and
 * free its data. Picks run on worker threads concurrently and take no lock:
 * shared state is atomics in the runtime (runtime.h).
 */
#ifndef LBD_BALANCE_H
#define LBD_BALANCE_H

#include <stddef.h>

#include "config.h"

/* What a pick may look at. TRIED lists the servers this request already
 * failed to connect to; they are not picked again. */
struct balance_ctx {
	struct server_conf *const *tried;
	size_t ntried;
};

struct balancer_ops {
	const char *name;
	void *(*build)(const struct pool_conf *pool);
	void (*free)(void *data);
	/* NULL when no server can take the request. */
	struct server_conf *(*pick)(const struct pool_conf *pool, void *data,
				    const struct balance_ctx *ctx);
};

extern const struct balancer_ops balance_round_robin;

/* Build every pool's balancer data. Returns 0, or -1 out of memory. */
int balance_build(struct config *cfg);

/* NULL when no server is available (the caller answers 503). */
struct server_conf *balance_pick(const struct pool_conf *pool,
				 const struct balance_ctx *ctx);

/* The algorithm's name as lbd.yaml spells it ("round_robin"). */
const char *balance_name(enum balance_algo algo);

/* True when SRV may take a new request of this pick. */
int balance_server_eligible(const struct server_conf *srv,
			    const struct balance_ctx *ctx);

#endif
