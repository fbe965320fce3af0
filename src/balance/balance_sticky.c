/* balance_sticky.c — sticky_cookie: a client returns to the server named
 * by its cookie.
 *
 * A server's cookie value is STICKY_ID_LEN hex digits of a hash of the pool
 * name and the server name, so it is the same after a reload and in every
 * lbd instance with the same configuration, and it does not carry the
 * server's address (a server named after its address can be confirmed by
 * someone who guesses the address and hashes it: give servers names).
 *
 * A pick honours the cookie when it names an eligible server of the pool
 * (up, or draining: a drain keeps the clients it has; not disabled, weight
 * above 0, not already tried), a backup only while no primary is;
 * anything else — no cookie, a malformed, unknown or oversized value, a
 * server that is down, disabled or gone — is placed by the fallback algorithm, and
 * the response then carries a new cookie (http_upstream.c compares the
 * server that answered with the cookie that came in).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "balance/balance.h"
#include "core/runtime.h"
#include "util/hash.h"

#define ID_SALT 0x6c62642d73746b79ULL /* "lbd-stky" */

struct sticky_entry {
	uint64_t id;
	size_t index;
};

struct sticky_data {
	const struct balancer_ops *fallback;
	void *fallback_data;
	struct sticky_entry *ids; /* sorted by id */
	size_t nids;
};

static uint64_t sticky_id(const char *pool, const char *server)
{
	uint64_t h = hash64(pool, strlen(pool) + 1, ID_SALT); /* with the NUL */

	return hash64(server, strlen(server), h);
}

void balance_sticky_id(const struct pool_conf *pool, const struct server_conf *srv,
		       char out[STICKY_ID_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	uint64_t id = sticky_id(pool->name, srv->name);

	for (int i = STICKY_ID_LEN - 1; i >= 0; i--, id >>= 4)
		out[i] = hex[id & 15];
	out[STICKY_ID_LEN] = '\0';
}

/* Exactly STICKY_ID_LEN lowercase hex digits, else -1. */
static int parse_id(const char *s, size_t len, uint64_t *id)
{
	uint64_t v = 0;

	if (!s || len != STICKY_ID_LEN)
		return -1;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
		if (d < 0)
			return -1;
		v = v << 4 | (uint64_t)d;
	}
	*id = v;
	return 0;
}

static int entry_cmp(const void *a, const void *b)
{
	const struct sticky_entry *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static void sticky_free(void *data)
{
	struct sticky_data *d = data;

	if (!d)
		return;
	if (d->fallback_data)
		d->fallback->free(d->fallback_data);
	free(d->ids);
	free(d);
}

static void *sticky_build(const struct pool_conf *pool)
{
	struct sticky_data *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->fallback = balance_ops(pool->sticky.fallback);
	d->fallback_data = d->fallback->build(pool);
	d->ids = calloc(pool->nservers ? pool->nservers : 1, sizeof(*d->ids));
	if (!d->fallback_data || !d->ids) {
		sticky_free(d);
		return NULL;
	}
	for (size_t i = 0; i < pool->nservers; i++)
		d->ids[i] = (struct sticky_entry){ sticky_id(pool->name, pool->servers[i].name),
						   i };
	d->nids = pool->nservers;
	qsort(d->ids, d->nids, sizeof(*d->ids), entry_cmp);
	return d;
}

static bool primary_eligible(const struct pool_conf *pool, const struct balance_ctx *ctx)
{
	for (size_t i = 0; i < pool->nservers; i++)
		if (!pool->servers[i].backup && balance_server_eligible(&pool->servers[i], ctx))
			return true;
	return false;
}

static struct server_conf *sticky_pick(const struct pool_conf *pool, void *data,
				       const struct balance_ctx *ctx)
{
	struct sticky_data *d = data;
	struct sticky_entry key = { 0, 0 };

	if (parse_id(ctx->cookie, ctx->cookie_len, &key.id) == 0) {
		const struct sticky_entry *e = bsearch(&key, d->ids, d->nids, sizeof(*d->ids),
						       entry_cmp);
		struct server_conf *srv = e ? &pool->servers[e->index] : NULL;
		/* A client placed on a backup goes back to the primaries as
		 * soon as one is up. */
		if (srv && balance_server_sticky_eligible(srv, ctx) &&
		    (!srv->backup || !primary_eligible(pool, ctx)))
			return srv;
	}
	return d->fallback->pick(pool, d->fallback_data, ctx);
}

const struct balancer_ops balance_sticky_cookie = {
	.name = "sticky_cookie",
	.build = sticky_build,
	.free = sticky_free,
	.pick = sticky_pick,
};
