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

#include "config/config.h"
#include "core/runtime.h"

/* What a pick may look at. TRIED lists the servers this request already
 * failed to connect to; they are not picked again. KEY is what ip_hash
 * hashes (the client address text, or a header's value); COOKIE the value
 * of the pool's sticky cookie as the client sent it (NULL when absent).
 * Both point into the request and live as long as the pick. */
struct balance_ctx {
	struct server_conf *const *tried;
	size_t ntried;
	const char *key;
	size_t key_len;
	const char *cookie;
	size_t cookie_len;
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
extern const struct balancer_ops balance_least_conn;
extern const struct balancer_ops balance_ip_hash;
extern const struct balancer_ops balance_sticky_cookie;

/* The algorithm of ALGO. */
const struct balancer_ops *balance_ops(enum balance_algo algo);

/* Build every pool's balancer data. Returns 0, or -1 out of memory. */
int balance_build(struct config *cfg);

/* Build POOL's balancer data anew with the servers' weights as they are
 * now (a runtime weight changed) and swap it in; workers pick with the new
 * data from their next pick on. *OLD receives the data it replaced, which
 * workers may still be reading: the caller frees it with
 * pool->balancer_free after a grace period (event/grace.h). Returns 0, or
 * -1 when out of memory (nothing changed). */
int balance_rebuild(struct pool_conf *pool, void **old);

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

/* SRV's current value as POOL's balancer data holds it, copied into OUT
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
