/* balance.h — one interface for every balancing algorithm.
 *
 * An algorithm is one file that fills a struct balancer_ops: build its data
 * for a pool's servers of one moment (struct pool_members, config.h: the
 * file's, then those found or added at run time), pick a server for a
 * request, and free its data. Picks run on worker threads concurrently and take no lock:
 * shared state is atomics in the runtime (runtime.h).
 */
#ifndef LBD_BALANCE_H
#define LBD_BALANCE_H

#include <stddef.h>

#include "config/config.h"
#include "core/runtime.h"

/* What a pick may look at. TRIED lists the servers this request already
 * failed to connect to; they are not picked again. KEY is what ip_hash
 * hashes (the client address text, or a header's value); COOKIE the value
 * of the pool's sticky cookie as the client sent it (NULL when absent).
 * Both point into the request and live as long as the pick. SLOT_CAP,
 * when not 0, leaves out the servers with that many requests in flight
 * (pools[].max_requests_per_server: a request that may go to any server
 * takes one with a free slot). */
struct balance_ctx {
	struct server_conf *const *tried;
	size_t ntried;
	uint32_t slot_cap;
	const char *key;
	size_t key_len;
	const char *cookie;
	size_t cookie_len;
};

struct balancer_ops {
	const char *name;
	void *(*build)(const struct pool_conf *pool, struct server_conf *const *servers, size_t n);
	void (*free)(void *data);
	/* From M's servers, with M's data; NULL when none can take it. */
	struct server_conf *(*pick)(const struct pool_conf *pool, const struct pool_members *m,
				    const struct balance_ctx *ctx);
};

extern const struct balancer_ops balance_round_robin;
extern const struct balancer_ops balance_least_conn;
extern const struct balancer_ops balance_ip_hash;
extern const struct balancer_ops balance_sticky_cookie;
extern const struct balancer_ops balance_maglev;

/* The entries of a maglev table for NSERVERS servers: a prime, at least
 * 4,099 and 100 a server, at most 1,048,583. */
uint32_t balance_maglev_table_size(size_t nservers);

/* The algorithm of ALGO. */
const struct balancer_ops *balance_ops(enum balance_algo algo);

/* Give every pool of CFG its first members, the servers of the file.
 * Returns 0, or -1 out of memory. */
int balance_build(struct config *cfg);

/* POOL's members now (one atomic load): valid on the main thread until it
 * publishes others, on a worker until its next quiescent point. */
static inline struct pool_members *balance_members(const struct pool_conf *pool)
{
	return atomic_load_explicit(&((struct pool_conf *)pool)->members, memory_order_acquire);
}

/* Members SERVERS (N, copied) for POOL with the algorithm's data built for
 * them, published at once: workers pick from them from their next pick
 * on. *OLD receives the members they replace, which workers may still be
 * reading: the caller frees them (pool_members_free) after a grace period
 * (event/grace.h). Returns 0, or -1 when out of memory (nothing changed). */
int balance_publish(struct pool_conf *pool, struct server_conf *const *servers, size_t n,
		    struct pool_members **old);

/* The same servers again, with data built from their weights and shares
 * as they are now (a runtime weight or a slow-start share changed). */
int balance_rebuild(struct pool_conf *pool, struct pool_members **old);

/* A server's weight: the one set through the admin API (a runtime
 * override, by identity), else the file's. */
static inline uint32_t balance_weight(const struct server_conf *s)
{
	int w = atomic_load_explicit(&s->rt->weight_override, memory_order_relaxed);

	return w >= 0 ? (uint32_t)w : s->weight;
}

/* What the algorithms weigh a server by: its weight in thousandths, of
 * which a server in slow start gets its ramp's part (a ramp is never 0, so
 * neither is the share of a server whose weight is not). */
static inline uint32_t balance_share(const struct server_conf *s)
{
	uint32_t w = balance_weight(s);
	unsigned ramp = atomic_load_explicit(&s->rt->ramp_permille, memory_order_relaxed);

	return w * (ramp ? ramp : 1000);
}

/* NULL when no server is available (the caller answers 503). */
struct server_conf *balance_pick(const struct pool_conf *pool, const struct balance_ctx *ctx);

/* The algorithm's name as lbd.yaml spells it ("round_robin"). */
const char *balance_name(enum balance_algo algo);

/* True when SRV may take a new request of this pick. */
int balance_server_eligible(const struct server_conf *srv, const struct balance_ctx *ctx);

/* True when SRV may take a request whose sticky cookie names it: as
 * balance_server_eligible, and a draining server too (drain turns away new
 * clients only, as HAProxy's and nginx Plus's drain do; disable moves
 * everyone). */
int balance_server_sticky_eligible(const struct server_conf *srv, const struct balance_ctx *ctx);

/* Sticky cookie values (balance_sticky.c): 22 base64url characters of an
 * HMAC under the pool's sticky.secret, or without one 16 lowercase hex
 * digits of a hash of the pool and server names. */
#define STICKY_VALUE_MAX 22

/* SRV's current value as POOL's members hold it, copied into OUT
 * with a NUL: its length, 0 when POOL is not sticky or SRV not its own.
 * Costs a copy, nothing is computed: the response path calls it. */
size_t balance_sticky_value(const struct pool_conf *pool, const struct server_conf *srv,
			    char out[STICKY_VALUE_MAX + 1]);

/* The value of server SERVER in pool POOL under SECRET (NULL or without
 * bytes: none) into OUT with a NUL: its length, 0 when OpenSSL fails.
 * Computed anew on each call. */
size_t balance_sticky_compute(const char *pool, const char *server,
			      const struct sticky_secret *secret, char out[STICKY_VALUE_MAX + 1]);

#endif
