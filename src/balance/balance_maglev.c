/* balance_maglev.c — maglev: consistent hashing through a lookup table
 * (Eisenbud et al., "Maglev", NSDI 2016), for pools too big for ip_hash's
 * rendezvous scan.
 *
 * The table has a prime number M of entries: at least 4,099 (fewer make a
 * removal move noticeably more keys than the minimum: 12.5 % instead of
 * 10 % for 1 of 10 servers with 1,031 entries, 10.9 % with 4,099) and at
 * least 100 a server (shares then differ by about 1 %), up to 1,048,583. Each server walks its
 * own permutation of the entries (an offset and a skip from two hashes of
 * its name) and, in rounds, takes the next entry of its permutation that is
 * still free, until every entry has a server. A key's server is the entry
 * at hash(key) mod M: one hash and one load per pick, whatever the size of
 * the pool.
 *
 * - Servers fill the table in the order of their names, so the table, and
 *   with it every key's server, depends only on names and weights: two lbd
 *   processes agree whatever the order of their file or their DNS answer.
 * - Weights: in each round a server takes an entry for each whole maximum
 *   weight its credit holds (credit grows by its share each round), so its
 *   part of the table is its share over the total.
 * - Adding or removing one server of N moves about 1/N of the keys, a
 *   little more than rendezvous (entries change hands between surviving
 *   servers too): the price of O(1) picks.
 * - A server that cannot take the request (down, draining, disabled, tried)
 *   is skipped at pick time, never by rebuilding: the key takes the next
 *   entry's server, so a down server's keys spread over the others and come
 *   back with it. The table is rebuilt only when members or weights change,
 *   on the main thread (balance_publish/balance_rebuild).
 * Backup servers have a table of their own, used when no primary can take
 * the key.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "balance/balance.h"
#include "core/runtime.h"
#include "util/hash.h"

#define OFFSET_SALT 0x6c62642d6d676f66ULL /* "lbd-mgof" */
#define SKIP_SALT 0x6c62642d6d67736bULL   /* "lbd-mgsk" */
#define NONE UINT32_MAX

static const uint32_t table_sizes[] = { 4099, 16411, 65537, 262147, 1048583 };

struct maglev_table {
	uint32_t *entry;   /* index into the members' servers */
	uint32_t size;     /* 0: no server in it */
	uint32_t *servers; /* the indexes of its servers, sorted by name */
	uint32_t n;
};

struct maglev_data {
	struct maglev_table table[2]; /* primaries, backups */
};

uint32_t balance_maglev_table_size(size_t nservers)
{
	size_t n = sizeof(table_sizes) / sizeof(table_sizes[0]);

	for (size_t i = 0; i < n; i++)
		if (table_sizes[i] >= 100 * (uint64_t)nservers)
			return table_sizes[i];
	return table_sizes[n - 1];
}

static int by_name(const void *a, const void *b, void *servers)
{
	struct server_conf *const *s = servers;

	return strcmp(s[*(const uint32_t *)a]->name, s[*(const uint32_t *)b]->name);
}

/* Fill T for the servers IDX (N of them, sorted by name; T owns IDX).
 * Returns 0, or -1 when out of memory. */
static int fill(struct maglev_table *t, struct server_conf *const *servers, uint32_t *idx, size_t n)
{
	size_t cells = n ? n : 1;
	uint64_t *next = calloc(cells, sizeof(uint64_t)), *credit = calloc(cells, sizeof(uint64_t));
	uint64_t *offset = calloc(cells, sizeof(uint64_t)), *skip = calloc(cells, sizeof(uint64_t));
	uint32_t wmax = 0, size = balance_maglev_table_size(n), filled = 0;
	int rc = -1;

	t->servers = idx;
	t->n = (uint32_t)n;
	if (!next || !credit || !offset || !skip)
		goto out;
	for (size_t i = 0; i < n; i++) {
		const char *name = servers[idx[i]]->name;
		offset[i] = hash64(name, strlen(name), OFFSET_SALT) % size;
		skip[i] = hash64(name, strlen(name), SKIP_SALT) % (size - 1) + 1;
		if (balance_share(servers[idx[i]]) > wmax)
			wmax = balance_share(servers[idx[i]]);
	}
	rc = 0;
	if (!wmax)
		goto out; /* no server in this table */
	if (!(t->entry = malloc(size * sizeof(*t->entry)))) {
		rc = -1;
		goto out;
	}
	memset(t->entry, 0xff, size * sizeof(*t->entry)); /* every entry free */
	t->size = size;
	while (filled < size) {
		for (size_t i = 0; i < n && filled < size; i++) {
			credit[i] += balance_share(servers[idx[i]]);
			for (; credit[i] >= wmax && filled < size; credit[i] -= wmax) {
				uint32_t e;
				do /* the next free entry of its permutation */
					e = (uint32_t)((offset[i] + next[i]++ * skip[i]) % size);
				while (t->entry[e] != NONE);
				t->entry[e] = idx[i];
				filled++;
			}
		}
	}
out:
	free(next);
	free(credit);
	free(offset);
	free(skip);
	return rc;
}

static void maglev_free(void *data)
{
	struct maglev_data *m = data;

	if (!m)
		return;
	for (int i = 0; i < 2; i++) {
		free(m->table[i].entry);
		free(m->table[i].servers);
	}
	free(m);
}

static void *maglev_build(const struct pool_conf *pool, struct server_conf *const *servers,
			  size_t n)
{
	struct maglev_data *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	for (int backup = 0; backup < 2; backup++) {
		uint32_t *idx = calloc(n ? n : 1, sizeof(*idx));
		size_t k = 0;
		if (!idx) {
			maglev_free(m);
			return NULL;
		}
		for (size_t i = 0; i < n; i++)
			if (servers[i]->backup == backup && balance_share(servers[i]) > 0)
				idx[k++] = (uint32_t)i;
		qsort_r(idx, k, sizeof(*idx), by_name, (void *)servers);
		if (fill(&m->table[backup], servers, idx, k) < 0) {
			maglev_free(m);
			return NULL;
		}
	}
	return m;
}

/* The longest walk along the table before the servers themselves are
 * scanned: with a fraction f of the servers unable to take the key, the
 * walk takes 1 / (1 - f) entries on average. */
#define WALK_MAX 64

static struct server_conf *lookup(const struct pool_members *mem, const struct maglev_table *t,
				  uint64_t key, const struct balance_ctx *ctx)
{
	if (!t->size)
		return NULL;
	uint32_t at = (uint32_t)(key % t->size);
	/* The key's entry, or the next one whose server can take it. */
	for (uint32_t step = 0; step < WALK_MAX; step++) {
		struct server_conf *s = mem->servers[t->entry[(at + step) % t->size]];
		if (balance_server_eligible(s, ctx))
			return s;
	}
	/* Nearly every server is out: the first that can take it, from one
	 * the key chooses, so the keys still spread. */
	for (uint32_t i = 0; i < t->n; i++) {
		struct server_conf *s = mem->servers[t->servers[(at + i) % t->n]];
		if (balance_server_eligible(s, ctx))
			return s;
	}
	return NULL;
}

static struct server_conf *maglev_pick(const struct pool_conf *pool, const struct pool_members *m,
				       const struct balance_ctx *ctx)
{
	const struct maglev_data *d = m->balancer;
	uint64_t key = hash64(ctx->key, ctx->key ? ctx->key_len : 0, 0);
	struct server_conf *srv = lookup(m, &d->table[0], key, ctx);

	return srv ? srv : lookup(m, &d->table[1], key, ctx);
}

const struct balancer_ops balance_maglev = {
	.name = "maglev",
	.build = maglev_build,
	.free = maglev_free,
	.pick = maglev_pick,
};
