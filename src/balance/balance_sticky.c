/* balance_sticky.c — sticky_cookie: a client returns to the server named
 * by its cookie.
 *
 * A server's cookie value depends only on the pool's name, the server's
 * name and the pool's sticky.secret, so it is the same after a reload and
 * in every lbd instance with the same configuration, and it does not carry
 * the server's address:
 *  - with a secret: the first STICKY_HMAC_LEN characters of the unpadded
 *    base64url encoding of HMAC-SHA256(secret, pool "\0" server), i.e. its
 *    first 132 bits. Names hold no NUL, so the NUL ends the pool's name and
 *    no pair of names gives another pair's input. Without the secret a
 *    value cannot be computed or guessed: a client cannot pick its server.
 *  - without: STICKY_HASH_LEN lowercase hex digits of a fixed 64-bit hash
 *    of the same input (the values lbd always gave, so cookies outlive an
 *    upgrade). Anyone who knows or guesses the names can compute them (a
 *    server named after its address can be confirmed by someone who
 *    guesses the address: give servers names).
 * Every value is computed when the balancer data is built (once per
 * generation, and on a runtime weight change), never per request. A
 * cookie is honoured when it equals, byte for byte, one of the values
 * under the secret or under sticky.previous_secret: a value under the
 * previous one is honoured and the response replaces it (http_upstream.c
 * sends a cookie whenever the one that came in is not the current value),
 * so clients move to the new secret while both are configured.
 *
 * A pick honours the cookie when it names an eligible server of the pool
 * (up, or draining: a drain keeps the clients it has; not disabled, weight
 * above 0, not already tried), a backup only while no primary is;
 * anything else — no cookie, a malformed, unknown, forged or oversized
 * value, one under a secret no longer configured, a server that is down,
 * disabled or gone — is placed by the fallback algorithm, and the response
 * then carries a new cookie.
 */
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "balance/balance.h"
#include "core/runtime.h"
#include "util/hash.h"

#define ID_SALT 0x6c62642d73746b79ULL /* "lbd-stky" */
#define STICKY_HASH_LEN 16
#define STICKY_HMAC_LEN 22 /* 6 bits each: 132 of the MAC's 256 */

_Static_assert(STICKY_HASH_LEN <= STICKY_VALUE_MAX && STICKY_HMAC_LEN <= STICKY_VALUE_MAX,
	       "STICKY_VALUE_MAX");

struct sticky_value {
	char s[STICKY_VALUE_MAX]; /* len bytes of it, no NUL */
	size_t index;             /* the server's, in the members */
};

struct sticky_data {
	const struct balancer_ops *fallback;
	void *fallback_data;
	struct sticky_value *current; /* server i's value at [i] */
	struct sticky_value *known;   /* current and previous values, sorted */
	size_t nknown;
	size_t len; /* every value's length */
};

static uint64_t sticky_id(const char *pool, const char *server)
{
	uint64_t h = hash64(pool, strlen(pool) + 1, ID_SALT); /* with the NUL */

	return hash64(server, strlen(server), h);
}

static size_t hash_value(const char *pool, const char *server, char *out)
{
	static const char hex[] = "0123456789abcdef";
	uint64_t id = sticky_id(pool, server);

	for (int i = STICKY_HASH_LEN - 1; i >= 0; i--, id >>= 4)
		out[i] = hex[id & 15];
	return STICKY_HASH_LEN;
}

/* The first STICKY_HMAC_LEN characters of MAC in base64url: cookie-safe
 * (RFC 6265's cookie-octet) and URL-safe without quoting. */
static void base64url_prefix(const unsigned char *mac, char *out)
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

	for (size_t i = 0; i < STICKY_HMAC_LEN; i++) {
		size_t bit = i * 6, byte = bit / 8, shift = bit % 8;
		unsigned v = (unsigned)mac[byte] << 8 | mac[byte + 1];
		out[i] = b64[(v >> (10 - shift)) & 63];
	}
}

/* HMAC-SHA256(secret, pool "\0" server) through MAC (an HMAC fetched by the
 * caller, so that a build fetches it once). 0 when OpenSSL fails. */
static size_t hmac_value(EVP_MAC *mac, const struct sticky_secret *secret, const char *pool,
			 const char *server, char *out)
{
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
		OSSL_PARAM_construct_end(),
	};
	EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(mac);
	unsigned char md[32];
	size_t mdlen = 0;
	int ok = ctx && EVP_MAC_init(ctx, secret->bytes, secret->len, params) &&
		 EVP_MAC_update(ctx, (const unsigned char *)pool, strlen(pool) + 1) &&
		 EVP_MAC_update(ctx, (const unsigned char *)server, strlen(server)) &&
		 EVP_MAC_final(ctx, md, &mdlen, sizeof(md)) && mdlen == sizeof(md);

	EVP_MAC_CTX_free(ctx);
	if (!ok)
		return 0;
	base64url_prefix(md, out);
	return STICKY_HMAC_LEN;
}

static size_t compute(EVP_MAC *mac, const struct sticky_secret *secret, const char *pool,
		      const char *server, char *out)
{
	if (!secret || !secret->bytes)
		return hash_value(pool, server, out);
	return mac ? hmac_value(mac, secret, pool, server, out) : 0;
}

static EVP_MAC *fetch_hmac(const struct sticky_secret *secret)
{
	return secret && secret->bytes ? EVP_MAC_fetch(NULL, "HMAC", NULL) : NULL;
}

size_t balance_sticky_compute(const char *pool, const char *server,
			      const struct sticky_secret *secret, char out[STICKY_VALUE_MAX + 1])
{
	EVP_MAC *mac = fetch_hmac(secret);
	size_t len = compute(mac, secret, pool, server, out);

	EVP_MAC_free(mac);
	out[len] = '\0';
	return len;
}

/* SRV's index in M: a server of the file (or its copy at the address its
 * name resolves to now) stands where it stands in the file (the file's
 * come first), another is looked for. */
static size_t index_of(const struct pool_conf *pool, const struct pool_members *m,
		       const struct server_conf *srv)
{
	/* by address, without comparing pointers into different arrays */
	uintptr_t off = (uintptr_t)(srv->file ? srv->file : srv) - (uintptr_t)pool->servers;
	size_t i = off / sizeof(*srv);

	if (off % sizeof(*srv) == 0 && i < pool->nservers && i < m->n && m->servers[i] == srv)
		return i;
	for (i = pool->nservers < m->n ? pool->nservers : 0; i < m->n; i++)
		if (m->servers[i] == srv)
			return i;
	return SIZE_MAX;
}

size_t balance_sticky_value(const struct pool_conf *pool, const struct server_conf *srv,
			    char out[STICKY_VALUE_MAX + 1])
{
	const struct pool_members *m = balance_members(pool);
	const struct sticky_data *d = m ? m->balancer : NULL;
	size_t i, len = 0;

	if (pool->balance == BALANCE_STICKY_COOKIE && d &&
	    (i = index_of(pool, m, srv)) != SIZE_MAX) {
		len = d->len;
		memcpy(out, d->current[i].s, len);
	}
	out[len] = '\0';
	return len;
}

static int value_cmp(const void *a, const void *b)
{
	const struct sticky_value *x = a, *y = b;

	/* every value of a table has the same length */
	return memcmp(x->s, y->s, sizeof(x->s));
}

static void sticky_free(void *data)
{
	struct sticky_data *d = data;

	if (!d)
		return;
	if (d->fallback_data)
		d->fallback->free(d->fallback_data);
	free(d->current);
	free(d->known);
	free(d);
}

/* Fill the tables; -1 when OpenSSL fails. */
static int fill_values(struct sticky_data *d, const struct pool_conf *pool,
		       struct server_conf *const *servers, size_t n)
{
	const struct sticky_secret *prev = pool->sticky.previous_secret.bytes ?
						   &pool->sticky.previous_secret :
						   NULL;
	EVP_MAC *mac = fetch_hmac(&pool->sticky.secret);
	int rc = 0;

	for (size_t i = 0; i < n && rc == 0; i++) {
		const char *name = servers[i]->name;
		struct sticky_value *v = &d->current[i];

		v->index = i;
		d->len = compute(mac, &pool->sticky.secret, pool->name, name, v->s);
		d->known[d->nknown++] = *v;
		if (prev) {
			v = &d->known[d->nknown++];
			v->index = i;
			if (compute(mac, prev, pool->name, name, v->s) != d->len)
				rc = -1;
		}
		if (d->len == 0)
			rc = -1;
	}
	EVP_MAC_free(mac);
	qsort(d->known, d->nknown, sizeof(*d->known), value_cmp);
	return rc;
}

static void *sticky_build(const struct pool_conf *pool, struct server_conf *const *servers,
			  size_t count)
{
	struct sticky_data *d = calloc(1, sizeof(*d));
	size_t n = count ? count : 1;

	if (!d)
		return NULL;
	d->fallback = balance_ops(pool->sticky.fallback);
	d->fallback_data = d->fallback->build(pool, servers, count);
	d->current = calloc(n, sizeof(*d->current));
	d->known = calloc(2 * n, sizeof(*d->known));
	if (!d->fallback_data || !d->current || !d->known ||
	    fill_values(d, pool, servers, count) != 0) {
		sticky_free(d);
		return NULL;
	}
	return d;
}

static bool primary_eligible(const struct pool_members *m, const struct balance_ctx *ctx)
{
	for (size_t i = 0; i < m->n; i++)
		if (!m->servers[i]->backup && balance_server_eligible(m->servers[i], ctx))
			return true;
	return false;
}

static struct server_conf *sticky_pick(const struct pool_conf *pool, const struct pool_members *m,
				       const struct balance_ctx *ctx)
{
	const struct sticky_data *d = m->balancer;
	struct sticky_value key;

	if (ctx->cookie && ctx->cookie_len == d->len) {
		memset(key.s, 0, sizeof(key.s));
		memcpy(key.s, ctx->cookie, d->len);
		const struct sticky_value *e = bsearch(&key, d->known, d->nknown, sizeof(*d->known),
						       value_cmp);
		struct server_conf *srv = e ? m->servers[e->index] : NULL;
		/* A client placed on a backup goes back to the primaries as
		 * soon as one is up. */
		if (srv && balance_server_sticky_eligible(srv, ctx) &&
		    (!srv->backup || !primary_eligible(m, ctx)))
			return srv;
	}
	/* The fallback picks from the same servers, with its own data. */
	struct pool_members fallback = *m;
	fallback.balancer = d->fallback_data;
	return d->fallback->pick(pool, &fallback, ctx);
}

const struct balancer_ops balance_sticky_cookie = {
	.name = "sticky_cookie",
	.build = sticky_build,
	.free = sticky_free,
	.pick = sticky_pick,
};
