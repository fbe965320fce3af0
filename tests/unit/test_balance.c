/* test_balance.c — the balancing algorithms on their own: round-robin
 * shares and smoothness, least_conn under uneven load, ip_hash shares and
 * key movement, sticky_cookie values (with and without a secret, and a
 * secret's rotation) and placement; skipped servers, backups and weight 0
 * for each. */
#include <check.h>

#include "check_main.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "balance/balance.h"
#include "config/config.h"
#include "core/runtime.h"
#include "util/hash.h"

#define MAX_SERVERS 16
#define KEYS 100000

struct fixture {
	char names[MAX_SERVERS][16];
	struct pool_rt prt;
	struct server_rt srt[MAX_SERVERS];
	struct server_conf servers[MAX_SERVERS];
	struct pool_conf pool;
};

/* The pool's members: its servers, with data built for them now. */
static void fixture_publish(struct fixture *f)
{
	struct server_conf *servers[MAX_SERVERS];
	struct pool_members *old;

	for (size_t i = 0; i < f->pool.nservers; i++)
		servers[i] = &f->servers[i];
	ck_assert_int_eq(balance_publish(&f->pool, servers, f->pool.nservers, &old), 0);
	pool_members_free(old);
}

static void fixture_algo(struct fixture *f, enum balance_algo algo, const unsigned *weights,
			 const int *backup, size_t n)
{
	memset(f, 0, sizeof(*f));
	for (size_t i = 0; i < n; i++) {
		snprintf(f->names[i], sizeof(f->names[i]), "s%zu", i);
		f->servers[i].name = f->names[i];
		f->servers[i].weight = weights[i];
		f->servers[i].backup = backup ? backup[i] : 0;
		f->servers[i].rt = &f->srt[i];
		atomic_init(&f->srt[i].state, SERVER_UP);
		atomic_init(&f->srt[i].weight_override, -1);
	}
	f->pool.name = "p";
	f->pool.balance = algo;
	f->pool.sticky.fallback = BALANCE_ROUND_ROBIN;
	f->pool.servers = f->servers;
	f->pool.nservers = n;
	f->pool.rt = &f->prt;
	fixture_publish(f);
}

static void fixture_init(struct fixture *f, const unsigned *weights, const int *backup, size_t n)
{
	fixture_algo(f, BALANCE_ROUND_ROBIN, weights, backup, n);
}

static void fixture_free(struct fixture *f)
{
	pool_members_free(f->pool.members);
}

static size_t pick_index(struct fixture *f)
{
	struct balance_ctx ctx = { 0 };
	struct server_conf *s = balance_pick(&f->pool, &ctx);
	return s ? (size_t)(s - f->servers) : SIZE_MAX;
}

START_TEST(shares_follow_weights)
{
	static const unsigned w[] = { 1, 2, 3, 4 };
	struct fixture f;
	unsigned counts[4] = { 0 };

	fixture_init(&f, w, NULL, 4);
	for (int i = 0; i < 100000; i++)
		counts[pick_index(&f)]++;
	for (int i = 0; i < 4; i++) {
		double share = counts[i] / 100000.0, want = w[i] / 10.0;
		ck_assert_msg(share > want * 0.97 && share < want * 1.03,
			      "server %d: share %.4f, want %.4f", i, share, want);
	}
	fixture_free(&f);
}
END_TEST

/* A weight set at run time counts once the pool's data is rebuilt (round
 * robin's schedule) and at once where it is read per pick (least_conn,
 * ip_hash); clearing it gives the file's weight back. */
START_TEST(runtime_weights_after_rebuild)
{
	static const unsigned w[] = { 1, 1 };
	static const enum balance_algo algos[] = { BALANCE_ROUND_ROBIN, BALANCE_LEAST_CONN,
						   BALANCE_IP_HASH };

	for (size_t a = 0; a < sizeof(algos) / sizeof(algos[0]); a++) {
		struct fixture f;
		unsigned counts[2] = { 0 };
		struct pool_members *old;

		fixture_algo(&f, algos[a], w, NULL, 2);
		atomic_store(&f.srt[0].weight_override, 3);
		ck_assert_int_eq(balance_rebuild(&f.pool, &old), 0);
		pool_members_free(old);
		for (int i = 0; i < 40000; i++) {
			char key[16];
			struct balance_ctx ctx = { .key = key };
			ctx.key_len = (size_t)snprintf(key, sizeof(key), "k%d", i);
			struct server_conf *s = balance_pick(&f.pool, &ctx);
			counts[s - f.servers]++;
			if (algos[a] == BALANCE_LEAST_CONN) /* held: loads follow the weights */
				atomic_fetch_add(&s->rt->active, 1);
		}
		double share = counts[0] / 40000.0;
		ck_assert_msg(share > 0.70 && share < 0.80, "algorithm %zu: share %.3f", a, share);
		ck_assert_uint_eq(balance_weight(&f.servers[0]), 3);
		atomic_store(&f.srt[0].weight_override, -1);
		ck_assert_uint_eq(balance_weight(&f.servers[0]), 1);
		fixture_free(&f);
	}
}
END_TEST

START_TEST(smooth_sequence_has_no_burst)
{
	static const unsigned w[] = { 5, 1, 1 };
	struct fixture f;
	char seq[8] = { 0 };

	fixture_init(&f, w, NULL, 3);
	for (int i = 0; i < 7; i++)
		seq[i] = (char)('a' + pick_index(&f));
	/* nginx's smooth weighted round-robin for 5,1,1 */
	ck_assert_str_eq(seq, "aabacaa");
	fixture_free(&f);
}
END_TEST

START_TEST(equal_weights_alternate)
{
	static const unsigned w[] = { 3, 3, 3 };
	struct fixture f;
	size_t prev = SIZE_MAX;

	fixture_init(&f, w, NULL, 3);
	for (int i = 0; i < 300; i++) {
		size_t s = pick_index(&f);
		ck_assert_uint_ne(s, prev);
		prev = s;
	}
	fixture_free(&f);
}
END_TEST

START_TEST(down_server_share_is_spread)
{
	static const unsigned w[] = { 1, 1, 1, 1 };
	struct fixture f;
	unsigned counts[4] = { 0 };

	fixture_init(&f, w, NULL, 4);
	atomic_store(&f.srt[1].state, SERVER_DOWN);
	for (int i = 0; i < 30000; i++)
		counts[pick_index(&f)]++;
	ck_assert_uint_eq(counts[1], 0);
	static const int up[] = { 0, 2, 3 };
	for (int k = 0; k < 3; k++)
		ck_assert_msg(counts[up[k]] > 9700 && counts[up[k]] < 10300, "server %d got %u",
			      up[k], counts[up[k]]);
	fixture_free(&f);
}
END_TEST

START_TEST(weight_zero_and_tried_are_skipped)
{
	static const unsigned w[] = { 0, 1, 1 };
	struct fixture f;

	fixture_init(&f, w, NULL, 3);
	struct server_conf *tried[] = { &f.servers[1] };
	struct balance_ctx ctx = { .tried = tried, .ntried = 1 };
	for (int i = 0; i < 10; i++)
		ck_assert_ptr_eq(balance_pick(&f.pool, &ctx), &f.servers[2]);
	struct server_conf *both[] = { &f.servers[1], &f.servers[2] };
	struct balance_ctx none = { .tried = both, .ntried = 2 };
	ck_assert_ptr_null(balance_pick(&f.pool, &none));
	fixture_free(&f);
}
END_TEST

START_TEST(backups_only_when_no_primary)
{
	static const unsigned w[] = { 1, 1, 1 };
	static const int backup[] = { 0, 0, 1 };
	struct fixture f;

	fixture_init(&f, w, backup, 3);
	for (int i = 0; i < 100; i++)
		ck_assert_uint_ne(pick_index(&f), 2);
	atomic_store(&f.srt[0].state, SERVER_DOWN);
	atomic_store(&f.srt[1].state, SERVER_DISABLED);
	for (int i = 0; i < 10; i++)
		ck_assert_uint_eq(pick_index(&f), 2);
	atomic_store(&f.srt[1].state, SERVER_UP);
	ck_assert_uint_eq(pick_index(&f), 1);
	fixture_free(&f);
}
END_TEST

START_TEST(all_weights_zero_gives_none)
{
	static const unsigned w[] = { 0, 0 };
	struct fixture f;

	fixture_init(&f, w, NULL, 2);
	ck_assert_uint_eq(pick_index(&f), SIZE_MAX);
	fixture_free(&f);
}
END_TEST

/* ---- least_conn ---- */

/* A pick as the proxy makes it: the server's active count rises until the
 * request ends (HOLD: it never does in the test). */
static size_t lc_take(struct fixture *f, bool hold)
{
	struct balance_ctx ctx = { 0 };
	struct server_conf *s = balance_pick(&f->pool, &ctx);

	if (!s)
		return SIZE_MAX;
	if (hold)
		atomic_fetch_add(&s->rt->active, 1);
	return (size_t)(s - f->servers);
}

START_TEST(lc_shares_follow_weights_under_load)
{
	static const unsigned w[] = { 1, 2, 3, 4 };
	struct fixture f;
	unsigned counts[4] = { 0 };

	fixture_algo(&f, BALANCE_LEAST_CONN, w, NULL, 4);
	for (int i = 0; i < KEYS; i++)
		counts[lc_take(&f, true)]++;
	for (int i = 0; i < 4; i++) {
		double share = counts[i] / (double)KEYS, want = w[i] / 10.0;
		ck_assert_msg(share > want * 0.97 && share < want * 1.03,
			      "server %d: share %.4f, want %.4f", i, share, want);
	}
	fixture_free(&f);
}
END_TEST

START_TEST(lc_idle_equal_servers_rotate)
{
	static const unsigned w[] = { 2, 2, 2 };
	struct fixture f;
	unsigned counts[3] = { 0 };

	fixture_algo(&f, BALANCE_LEAST_CONN, w, NULL, 3);
	for (int i = 0; i < 3000; i++)
		counts[lc_take(&f, false)]++;
	for (int i = 0; i < 3; i++)
		ck_assert_uint_eq(counts[i], 1000);
	fixture_free(&f);
}
END_TEST

START_TEST(lc_uneven_load)
{
	static const unsigned w[] = { 1, 1, 1 }, w2[] = { 1, 4 };
	struct fixture f;

	fixture_algo(&f, BALANCE_LEAST_CONN, w, NULL, 3);
	atomic_store(&f.srt[0].active, 5);
	atomic_store(&f.srt[1].active, 2);
	atomic_store(&f.srt[2].active, 7);
	for (int i = 0; i < 10; i++)
		ck_assert_uint_eq(lc_take(&f, false), 1);
	/* once server 1 holds as many as server 0, they share the picks */
	for (int i = 0; i < 3; i++)
		ck_assert_uint_eq(lc_take(&f, true), 1);
	unsigned c[3] = { 0 };
	for (int i = 0; i < 4; i++)
		c[lc_take(&f, true)]++;
	ck_assert_uint_eq(c[0], 2);
	ck_assert_uint_eq(c[1], 2);
	ck_assert_uint_eq(c[2], 0);
	fixture_free(&f);

	/* relative to weight: (1+1)/1 > (3+1)/4 */
	fixture_algo(&f, BALANCE_LEAST_CONN, w2, NULL, 2);
	atomic_store(&f.srt[0].active, 1);
	atomic_store(&f.srt[1].active, 3);
	ck_assert_uint_eq(lc_take(&f, false), 1);
	atomic_store(&f.srt[1].active, 8);
	ck_assert_uint_eq(lc_take(&f, false), 0);
	fixture_free(&f);
}
END_TEST

START_TEST(lc_skips_and_backups)
{
	static const unsigned w[] = { 0, 1, 1, 1 };
	static const int backup[] = { 0, 0, 0, 1 };
	struct fixture f;

	fixture_algo(&f, BALANCE_LEAST_CONN, w, backup, 4);
	atomic_store(&f.srt[2].state, SERVER_DRAINING);
	for (int i = 0; i < 10; i++)
		ck_assert_uint_eq(lc_take(&f, true), 1);
	atomic_store(&f.srt[1].state, SERVER_DOWN);
	ck_assert_uint_eq(lc_take(&f, true), 3);
	atomic_store(&f.srt[3].state, SERVER_DISABLED);
	ck_assert_uint_eq(lc_take(&f, true), SIZE_MAX);
	fixture_free(&f);
}
END_TEST

/* Under pools[].max_requests_per_server, waiters for one server alone
 * count as its load; a capped pick leaves full servers out. */
START_TEST(lc_counts_queued_and_slot_cap)
{
	static const unsigned w[] = { 1, 1 };
	struct fixture f;
	struct balance_ctx ctx = { .slot_cap = 2 };

	fixture_algo(&f, BALANCE_LEAST_CONN, w, NULL, 2);
	atomic_store(&f.srt[0].active, 1);
	atomic_store(&f.srt[1].active, 0);
	atomic_store(&f.srt[1].queued, 3);
	for (int i = 0; i < 4; i++)
		ck_assert_uint_eq(lc_take(&f, false), 0);
	atomic_store(&f.srt[0].active, 2);
	atomic_store(&f.srt[1].active, 1);
	/* server 0 is full: a capped pick takes server 1, however loaded */
	for (int i = 0; i < 4; i++)
		ck_assert_ptr_eq(balance_pick(&f.pool, &ctx), &f.servers[1]);
	atomic_store(&f.srt[1].active, 2);
	ck_assert_ptr_null(balance_pick(&f.pool, &ctx));
	fixture_free(&f);
}
END_TEST

START_TEST(rr_slot_cap_skips_full_servers)
{
	static const unsigned w[] = { 1, 1, 1 };
	struct fixture f;
	struct balance_ctx ctx = { .slot_cap = 1 };

	fixture_init(&f, w, NULL, 3);
	atomic_store(&f.srt[1].active, 1);
	for (int i = 0; i < 6; i++)
		ck_assert_ptr_ne(balance_pick(&f.pool, &ctx), &f.servers[1]);
	atomic_store(&f.srt[0].active, 1);
	atomic_store(&f.srt[2].active, 1);
	ck_assert_ptr_null(balance_pick(&f.pool, &ctx));
	/* no cap: full does not matter */
	ctx.slot_cap = 0;
	ck_assert_ptr_nonnull(balance_pick(&f.pool, &ctx));
	fixture_free(&f);
}
END_TEST

/* ---- ip_hash ---- */

static size_t hash_pick_key(struct fixture *f, int k)
{
	char key[32];
	struct balance_ctx ctx = { 0 };

	ctx.key_len = (size_t)snprintf(key, sizeof(key), "10.%d.%d.%d", k >> 16 & 255, k >> 8 & 255,
				       k & 255);
	ctx.key = key;
	struct server_conf *s = balance_pick(&f->pool, &ctx);
	return s ? (size_t)(s - f->servers) : SIZE_MAX;
}

START_TEST(hash_shares_follow_weights)
{
	static const unsigned w[] = { 1, 2, 3, 4 };
	struct fixture f;
	unsigned counts[4] = { 0 };

	fixture_algo(&f, BALANCE_IP_HASH, w, NULL, 4);
	for (int k = 0; k < KEYS; k++)
		counts[hash_pick_key(&f, k)]++;
	for (int i = 0; i < 4; i++) {
		double share = counts[i] / (double)KEYS, want = w[i] / 10.0;
		ck_assert_msg(share > want * 0.97 && share < want * 1.03,
			      "server %d: share %.4f, want %.4f", i, share, want);
	}
	fixture_free(&f);
}
END_TEST

START_TEST(hash_equal_shares)
{
	static const unsigned w[] = { 3, 3, 3, 3, 3, 3, 3, 3, 3, 3 };
	struct fixture f;
	unsigned counts[10] = { 0 };

	fixture_algo(&f, BALANCE_IP_HASH, w, NULL, 10);
	for (int k = 0; k < KEYS; k++)
		counts[hash_pick_key(&f, k)]++;
	unsigned lo = counts[0], hi = counts[0];
	for (int i = 0; i < 10; i++) {
		ck_assert_msg(counts[i] > 9700 && counts[i] < 10300, "server %d: %u", i, counts[i]);
		lo = counts[i] < lo ? counts[i] : lo;
		hi = counts[i] > hi ? counts[i] : hi;
	}
	/* the balance lbd(8) promises at equal weights */
	ck_assert_msg(hi <= 1.05 * lo, "largest share %u over smallest %u", hi, lo);
	fixture_free(&f);
}
END_TEST

/* The ip_hash contract of lbd(8) (HASHING), pinned: the same key reaches
 * the same server in every lbd, of this version and of later ones. The
 * expected values come from an independent implementation of the
 * documented rule (FNV-1a 64 and the MurmurHash3 finalizer; per server a
 * seed from its name; the largest score at equal weights, else the
 * smallest -ln(u)/weight). Changing any of them re-maps every client of
 * every user: never change them. */
START_TEST(hash_contract_vectors)
{
	static const char *const names[] = { "api1", "api2", "api3", "api4", "api5" };
	static const unsigned equal[] = { 1, 1, 1, 1, 1 }, weighted[] = { 1, 2, 3, 4, 5 };
	static const struct {
		const char *key;
		const char *equal, *weighted;
	} cases[] = {
		{ "10.0.0.1", "api5", "api5" },     { "10.0.0.2", "api1", "api5" },
		{ "192.168.1.77", "api5", "api5" }, { "2001:db8::1", "api3", "api3" },
		{ "session-42", "api5", "api5" },   { "", "api2", "api2" },
	};

	ck_assert(hash64("api1", 4, 0x6c62642d68617368ULL) == 0x45ff49d5575e338dULL);
	ck_assert(hash64("10.0.0.1", 8, 0) == 0xc879e56ddc6c5c88ULL);
	ck_assert(hash64("", 0, 0) == 0xefd01f60ba992926ULL);
	for (int w = 0; w < 2; w++) {
		struct fixture f;
		fixture_algo(&f, BALANCE_IP_HASH, w ? weighted : equal, NULL, 5);
		for (size_t i = 0; i < 5; i++)
			f.servers[i].name = (char *)names[i];
		fixture_publish(&f);
		for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
			struct balance_ctx ctx = { .key = cases[c].key,
						   .key_len = strlen(cases[c].key) };
			struct server_conf *s = balance_pick(&f.pool, &ctx);
			const char *want = w ? cases[c].weighted : cases[c].equal;
			ck_assert_msg(s && strcmp(s->name, want) == 0,
				      "key \"%s\" (%s): %s, want %s", cases[c].key,
				      w ? "weighted" : "equal weights", s ? s->name : "none", want);
		}
		/* the order servers are listed in changes nothing */
		struct server_conf tmp = f.servers[0];
		f.servers[0] = f.servers[4];
		f.servers[4] = tmp;
		fixture_publish(&f);
		struct balance_ctx ctx = { .key = "10.0.0.2", .key_len = 8 };
		ck_assert_str_eq(balance_pick(&f.pool, &ctx)->name, w ? "api5" : "api1");
		fixture_free(&f);
	}
}
END_TEST

static uint8_t map_a[KEYS], map_b[KEYS];

static void hash_map(struct fixture *f, uint8_t *map)
{
	for (int k = 0; k < KEYS; k++)
		map[k] = (uint8_t)hash_pick_key(f, k);
}

/* N servers, then one added (as the last) or removed (the last): the keys
 * that move all move to (or from) that server, at most 1.2/N of them. */
static void check_add_remove(const unsigned *w, size_t n)
{
	struct fixture small, big;
	unsigned moved = 0;

	fixture_algo(&small, BALANCE_IP_HASH, w, NULL, n);
	fixture_algo(&big, BALANCE_IP_HASH, w, NULL, n + 1);
	hash_map(&small, map_a);
	hash_map(&big, map_b);
	for (int k = 0; k < KEYS; k++) {
		if (map_a[k] == map_b[k])
			continue;
		moved++;
		ck_assert_msg(map_b[k] == n, "key %d moved from %u to %u, not to the new server", k,
			      map_a[k], map_b[k]);
	}
	ck_assert_msg(moved <= 1.2 * KEYS / (double)(n + 1), "added: %u keys moved of %d (N=%zu)",
		      moved, KEYS, n + 1);
	ck_assert_msg(moved >= 0.8 * KEYS / (double)(n + 1), "added: only %u keys moved", moved);
	fixture_free(&small);
	fixture_free(&big);
}

START_TEST(hash_add_remove_moves_few_keys)
{
	static const unsigned eq[] = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 };
	static const unsigned mixed[] = { 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5 };

	/* adding server N+1 to N is removing it from N+1, read backwards */
	check_add_remove(eq, 4);
	check_add_remove(eq, 9);
	check_add_remove(mixed, 11);
}
END_TEST

START_TEST(hash_weighted_add_moves_its_share)
{
	static const unsigned w[] = { 1, 2, 3, 4, 2 };
	struct fixture small, big;
	unsigned moved = 0;

	fixture_algo(&small, BALANCE_IP_HASH, w, NULL, 4);
	fixture_algo(&big, BALANCE_IP_HASH, w, NULL, 5);
	hash_map(&small, map_a);
	hash_map(&big, map_b);
	for (int k = 0; k < KEYS; k++) {
		if (map_a[k] != map_b[k]) {
			moved++;
			ck_assert_uint_eq(map_b[k], 4);
		}
	}
	/* the new server's weight share: 2/12 */
	ck_assert_msg(moved > KEYS * 2 / 12 * 0.97 && moved < KEYS * 2 / 12 * 1.03, "%u moved",
		      moved);
	fixture_free(&small);
	fixture_free(&big);
}
END_TEST

START_TEST(hash_down_server_keys_return)
{
	static const unsigned w[] = { 1, 1, 1, 1, 1 };
	struct fixture f;
	unsigned moved = 0, spread[5] = { 0 };

	fixture_algo(&f, BALANCE_IP_HASH, w, NULL, 5);
	hash_map(&f, map_a);
	atomic_store(&f.srt[2].state, SERVER_DOWN);
	hash_map(&f, map_b);
	for (int k = 0; k < KEYS; k++) {
		ck_assert_uint_ne(map_b[k], 2);
		if (map_a[k] != map_b[k]) {
			ck_assert_uint_eq(map_a[k], 2); /* only the down server's keys move */
			spread[map_b[k]]++;
			moved++;
		}
	}
	for (int i = 0; i < 5; i++)
		if (i != 2) /* ... and they spread over all the others */
			ck_assert_msg(spread[i] > moved / 4 * 0.9 && spread[i] < moved / 4 * 1.1,
				      "server %d took %u of %u", i, spread[i], moved);
	atomic_store(&f.srt[2].state, SERVER_UP);
	hash_map(&f, map_b);
	ck_assert(memcmp(map_a, map_b, sizeof(map_a)) == 0);
	fixture_free(&f);
}
END_TEST

START_TEST(hash_same_in_independent_instances)
{
	static const unsigned w[] = { 1, 3, 2, 1, 1, 5 };
	struct fixture *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));

	fixture_algo(a, BALANCE_IP_HASH, w, NULL, 6);
	fixture_algo(b, BALANCE_IP_HASH, w, NULL, 6);
	hash_map(a, map_a);
	hash_map(b, map_b);
	ck_assert(memcmp(map_a, map_b, sizeof(map_a)) == 0);
	/* and in every build of lbd: the hash is fixed, not per process */
	static const uint8_t golden[8] = { 1, 2, 4, 2, 5, 1, 5, 3 };
	for (int k = 0; k < 8; k++)
		ck_assert_msg(map_a[k] == golden[k], "key %d: %u", k, map_a[k]);
	fixture_free(a);
	fixture_free(b);
	free(a);
	free(b);
}
END_TEST

START_TEST(hash_skips_and_backups)
{
	static const unsigned w[] = { 0, 1, 1, 1 };
	static const int backup[] = { 0, 0, 0, 1 };
	struct fixture f;

	fixture_algo(&f, BALANCE_IP_HASH, w, backup, 4);
	for (int k = 0; k < 1000; k++) {
		size_t s = hash_pick_key(&f, k);
		ck_assert(s == 1 || s == 2);
	}
	atomic_store(&f.srt[1].state, SERVER_DOWN);
	atomic_store(&f.srt[2].state, SERVER_DRAINING);
	for (int k = 0; k < 100; k++)
		ck_assert_uint_eq(hash_pick_key(&f, k), 3);
	/* a key without a value (no header, no address) still hashes */
	struct balance_ctx ctx = { 0 };
	ck_assert_ptr_eq(balance_pick(&f.pool, &ctx), &f.servers[3]);
	fixture_free(&f);
}
END_TEST

/* ---- sticky_cookie ---- */

static size_t sticky_pick_cookie(struct fixture *f, const char *cookie)
{
	struct balance_ctx ctx = { .cookie = cookie, .cookie_len = cookie ? strlen(cookie) : 0 };
	struct server_conf *s = balance_pick(&f->pool, &ctx);

	return s ? (size_t)(s - f->servers) : SIZE_MAX;
}

START_TEST(sticky_ids_stable_across_configurations)
{
	static const char yaml[] =
		"listeners: [ { name: web, bind: 127.0.0.1:8080, routes: [ { pool: app } ] } ]\n"
		"pools:\n"
		"  - name: app\n"
		"    balance: sticky_cookie\n"
		"    servers:\n"
		"      - { name: a, address: 10.0.0.1:80 }\n"
		"      - { address: 10.0.0.2:80 }\n";
	struct config_errors errs = { 0 };
	struct config *one = config_load_buffer("one.yaml", yaml, sizeof(yaml) - 1, &errs);
	struct config *two = config_load_buffer("two.yaml", yaml, sizeof(yaml) - 1, &errs);
	char a1[STICKY_VALUE_MAX + 1], a2[STICKY_VALUE_MAX + 1], b1[STICKY_VALUE_MAX + 1];

	ck_assert_ptr_nonnull(one);
	ck_assert_ptr_nonnull(two);
	const struct pool_conf *p1 = &one->pools[0], *p2 = &two->pools[0];
	ck_assert_uint_eq(balance_sticky_compute(p1->name, p1->servers[0].name, &p1->sticky.secret,
						 a1),
			  16);
	ck_assert_uint_eq(balance_sticky_compute(p2->name, p2->servers[0].name, &p2->sticky.secret,
						 a2),
			  16);
	ck_assert_uint_eq(balance_sticky_compute(p1->name, p1->servers[1].name, &p1->sticky.secret,
						 b1),
			  16);
	ck_assert_str_eq(a1, a2);
	ck_assert_str_ne(a1, b1);
	ck_assert_uint_eq(strspn(a1, "0123456789abcdef"), 16);
	/* fixed across builds and releases (cookies outlive an upgrade), and
	 * not the address */
	ck_assert_str_eq(a1, "131d806f104a057b");
	ck_assert_ptr_null(strstr(b1, "10"));
	config_unref(one);
	config_unref(two);
}
END_TEST

START_TEST(sticky_cookie_placement)
{
	static const unsigned w[] = { 1, 1, 1, 1 };
	static const int backup[] = { 0, 0, 0, 1 };
	struct fixture f;
	char id[4][STICKY_VALUE_MAX + 1];

	fixture_algo(&f, BALANCE_STICKY_COOKIE, w, backup, 4);
	for (int i = 0; i < 4; i++)
		ck_assert_uint_eq(balance_sticky_value(&f.pool, &f.servers[i], id[i]), 16);
	for (int n = 0; n < 10; n++) {
		ck_assert_uint_eq(sticky_pick_cookie(&f, id[2]), 2);
		ck_assert_uint_eq(sticky_pick_cookie(&f, id[0]), 0);
	}
	/* no cookie, or one that is malformed, unknown or oversized: the
	 * fallback (round-robin over the primaries) places the client */
	static const char *const bad[] = {
		NULL,
		"",
		"zzzzzzzzzzzzzzzz",
		"0000000000000000",
		"ABCDEF0123456789",
		"0123456789abcdef0",
		"0123456789abcde",
	};
	for (size_t b = 0; b < sizeof(bad) / sizeof(bad[0]); b++) {
		unsigned c[4] = { 0 };
		for (int n = 0; n < 300; n++)
			c[sticky_pick_cookie(&f, bad[b])]++;
		ck_assert_msg(c[0] == 100 && c[1] == 100 && c[2] == 100 && c[3] == 0,
			      "bad cookie %zu: %u %u %u %u", b, c[0], c[1], c[2], c[3]);
	}
	char upper[STICKY_VALUE_MAX + 1];
	for (int i = 0; i <= 16; i++)
		upper[i] = (char)(id[2][i] >= 'a' ? id[2][i] - 32 : id[2][i]);
	if (strcmp(upper, id[2]) != 0)
		ck_assert_uint_ne(sticky_pick_cookie(&f, upper), SIZE_MAX);
	/* its server down, disabled or at weight 0: placed anew */
	static const int states[] = { SERVER_DOWN, SERVER_DISABLED };
	for (int s = 0; s < 2; s++) {
		atomic_store(&f.srt[2].state, states[s]);
		for (int n = 0; n < 10; n++)
			ck_assert_uint_ne(sticky_pick_cookie(&f, id[2]), 2);
		atomic_store(&f.srt[2].state, SERVER_UP);
	}
	/* draining: its sticky clients stay, new clients go elsewhere */
	atomic_store(&f.srt[2].state, SERVER_DRAINING);
	for (int n = 0; n < 10; n++) {
		ck_assert_uint_eq(sticky_pick_cookie(&f, id[2]), 2);
		ck_assert_uint_ne(sticky_pick_cookie(&f, NULL), 2);
		ck_assert_uint_ne(sticky_pick_cookie(&f, id[0]), 2);
	}
	atomic_store(&f.srt[2].state, SERVER_UP);
	f.servers[2].weight = 0;
	ck_assert_uint_ne(sticky_pick_cookie(&f, id[2]), 2);
	f.servers[2].weight = 1;
	/* tried already (its connect failed): the retry goes elsewhere */
	struct server_conf *tried[] = { &f.servers[2] };
	struct balance_ctx ctx = { .tried = tried, .ntried = 1, .cookie = id[2], .cookie_len = 16 };
	ck_assert_ptr_ne(balance_pick(&f.pool, &ctx), &f.servers[2]);
	/* a client on the backup returns to the primaries once one is up */
	ck_assert_uint_ne(sticky_pick_cookie(&f, id[3]), 3);
	for (int i = 0; i < 3; i++)
		atomic_store(&f.srt[i].state, SERVER_DOWN);
	ck_assert_uint_eq(sticky_pick_cookie(&f, id[3]), 3);
	ck_assert_uint_eq(sticky_pick_cookie(&f, id[1]), 3);
	fixture_free(&f);
}
END_TEST

START_TEST(sticky_fallback_least_conn)
{
	static const unsigned w[] = { 1, 1 };
	struct fixture f;
	char id0[STICKY_VALUE_MAX + 1];

	memset(&f, 0, sizeof(f));
	fixture_algo(&f, BALANCE_STICKY_COOKIE, w, NULL, 2);
	f.pool.sticky.fallback = BALANCE_LEAST_CONN;
	fixture_publish(&f);
	balance_sticky_value(&f.pool, &f.servers[0], id0);
	atomic_store(&f.srt[0].active, 10);
	ck_assert_uint_eq(sticky_pick_cookie(&f, NULL), 1);
	ck_assert_uint_eq(sticky_pick_cookie(&f, id0), 0); /* the cookie wins over load */
	fixture_free(&f);
}
END_TEST

/* Set the pool's secrets (NULL: none) and build its data anew. */
static void sticky_secrets(struct fixture *f, const char *secret, const char *previous)
{
	f->pool.sticky.secret = (struct sticky_secret){ (unsigned char *)secret,
							secret ? strlen(secret) : 0 };
	f->pool.sticky.previous_secret = (struct sticky_secret){ (unsigned char *)previous,
								 previous ? strlen(previous) : 0 };
	fixture_publish(f);
}

static struct sticky_secret secret_of(const char *s)
{
	return (struct sticky_secret){ (unsigned char *)s, strlen(s) };
}

/* The contract of lbd.yaml(5): the first 22 characters of the base64url
 * encoding of HMAC-SHA256(secret, pool "\0" server). The expected values
 * were computed apart from lbd, with Python's hmac module:
 *   base64.urlsafe_b64encode(hmac.new(b"s3cret", b"api\0api1",
 *                                     hashlib.sha256).digest())[:22]
 * and checked with openssl dgst -sha256 -hmac s3cret. */
START_TEST(sticky_hmac_test_vectors)
{
	struct sticky_secret s3cret = secret_of("s3cret"), old = secret_of("old");
	char v[STICKY_VALUE_MAX + 1];

	ck_assert_uint_eq(balance_sticky_compute("api", "api1", &s3cret, v), 22);
	ck_assert_str_eq(v, "SlrWRpsOCDae_iVAnWYa0V");
	balance_sticky_compute("api", "api2", &s3cret, v);
	ck_assert_str_eq(v, "YJCOgju-ELXgTiDQ4PjA3w");
	balance_sticky_compute("api", "api1", &old, v);
	ck_assert_str_eq(v, "jAoZpAKqBQF85RrHGU8foE");
	/* the NUL after the pool's name: "ap" + "iapi1" is another input */
	balance_sticky_compute("ap", "iapi1", &s3cret, v);
	ck_assert_str_eq(v, "SzMe50Cz4j9tTxrsnWhd7j");
	/* without a secret: the hex values lbd always gave */
	ck_assert_uint_eq(balance_sticky_compute("app", "a", NULL, v), 16);
	ck_assert_str_eq(v, "131d806f104a057b");
	struct sticky_secret none = { NULL, 0 };
	balance_sticky_compute("app", "a", &none, v);
	ck_assert_str_eq(v, "131d806f104a057b");
}
END_TEST

START_TEST(sticky_secret_values_and_forgeries)
{
	static const unsigned w[] = { 1, 1, 1 };
	struct fixture f;
	char v[3][STICKY_VALUE_MAX + 1], hex[STICKY_VALUE_MAX + 1], other[STICKY_VALUE_MAX + 1];
	struct sticky_secret s3cret = secret_of("s3cret");

	fixture_algo(&f, BALANCE_STICKY_COOKIE, w, NULL, 3);
	balance_sticky_value(&f.pool, &f.servers[1], hex);
	f.pool.name = "api";
	snprintf(f.names[1], sizeof(f.names[1]), "api1");
	sticky_secrets(&f, "s3cret", NULL);
	/* the table holds what the contract computes */
	for (int i = 0; i < 3; i++) {
		ck_assert_uint_eq(balance_sticky_value(&f.pool, &f.servers[i], v[i]), 22);
		ck_assert_uint_eq(strspn(v[i],
					 "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
					 "0123456789-_"),
				  22);
	}
	ck_assert_str_eq(v[1], "SlrWRpsOCDae_iVAnWYa0V");
	balance_sticky_compute("api", "s2", &s3cret, other);
	ck_assert_str_eq(v[2], other);
	for (int n = 0; n < 10; n++)
		for (size_t i = 0; i < 3; i++)
			ck_assert_uint_eq(sticky_pick_cookie(&f, v[i]), i);
	/* anything else is no cookie: the fallback (round-robin) places the
	 * client, as it places clients without one */
	char flipped[STICKY_VALUE_MAX + 1], shorter[STICKY_VALUE_MAX + 1], longer[40];
	char wrong_secret[STICKY_VALUE_MAX + 1], wrong_pool[STICKY_VALUE_MAX + 1];
	struct sticky_secret guess = secret_of("s3cre");
	strcpy(flipped, v[1]);
	flipped[21] = flipped[21] == 'A' ? 'B' : 'A';
	memcpy(shorter, v[1], 21);
	shorter[21] = '\0';
	snprintf(longer, sizeof(longer), "%sA", v[1]);
	balance_sticky_compute("api", "api1", &guess, wrong_secret);
	balance_sticky_compute("app", "api1", &s3cret, wrong_pool);
	const char *const bad[] = {
		hex,          /* the value without a secret: guessable, not honoured */
		flipped,      /* one character changed */
		shorter,      /* a prefix */
		longer,       /* a value and more */
		wrong_secret, /* another secret's */
		wrong_pool,   /* another pool's */
		"",
		"AAAAAAAAAAAAAAAAAAAAAA",
		"SlrWRpsOCDae_iVAnWYa0V\\",
		"\"SlrWRpsOCDae_iVAnWYa0V\"",
	};
	for (size_t b = 0; b < sizeof(bad) / sizeof(bad[0]); b++) {
		unsigned c[3] = { 0 };
		for (int n = 0; n < 300; n++)
			c[sticky_pick_cookie(&f, bad[b])]++;
		ck_assert_msg(c[0] == 100 && c[1] == 100 && c[2] == 100,
			      "bad cookie %zu (%s): %u %u %u", b, bad[b], c[0], c[1], c[2]);
	}
	/* the cookie's bytes only count: a NUL inside does not end it early */
	struct balance_ctx ctx = { .cookie = "SlrWRpsOCDae_iVAnWYa0V\0xyz", .cookie_len = 26 };
	unsigned c[3] = { 0 };
	for (int n = 0; n < 30; n++)
		c[balance_pick(&f.pool, &ctx) - f.servers]++;
	ck_assert_uint_eq(c[1], 10);
	f.pool.sticky.secret = (struct sticky_secret){ NULL, 0 };
	fixture_free(&f);
}
END_TEST

START_TEST(sticky_previous_secret_honoured_then_replaced)
{
	static const unsigned w[] = { 1, 1, 1 };
	struct fixture f;
	char before[3][STICKY_VALUE_MAX + 1], now[STICKY_VALUE_MAX + 1];

	fixture_algo(&f, BALANCE_STICKY_COOKIE, w, NULL, 3);
	sticky_secrets(&f, "old", NULL);
	for (int i = 0; i < 3; i++)
		balance_sticky_value(&f.pool, &f.servers[i], before[i]);
	/* rotation: old cookies keep their servers; the value the response
	 * carries is the new secret's, so the client's cookie is replaced */
	sticky_secrets(&f, "new", "old");
	for (size_t i = 0; i < 3; i++) {
		for (int n = 0; n < 5; n++)
			ck_assert_uint_eq(sticky_pick_cookie(&f, before[i]), i);
		balance_sticky_value(&f.pool, &f.servers[i], now);
		ck_assert_str_ne(now, before[i]);
		for (int n = 0; n < 5; n++)
			ck_assert_uint_eq(sticky_pick_cookie(&f, now), i);
	}
	/* the rotation done: the old values count as no cookie */
	sticky_secrets(&f, "new", NULL);
	unsigned c[3] = { 0 };
	for (int n = 0; n < 30; n++)
		c[sticky_pick_cookie(&f, before[0])]++;
	ck_assert_msg(c[0] == 10 && c[1] == 10 && c[2] == 10, "%u %u %u", c[0], c[1], c[2]);
	/* a server down under a previous-secret cookie: placed anew */
	sticky_secrets(&f, "new", "old");
	atomic_store(&f.srt[1].state, SERVER_DOWN);
	for (int n = 0; n < 10; n++)
		ck_assert_uint_ne(sticky_pick_cookie(&f, before[1]), 1);
	f.pool.sticky.secret = f.pool.sticky.previous_secret = (struct sticky_secret){ NULL, 0 };
	fixture_free(&f);
}
END_TEST

/* The value is read from the table the build made, never computed per
 * request; a server of another pool has none there. */
START_TEST(sticky_value_is_the_built_table)
{
	static const unsigned w[] = { 1, 1 };
	struct fixture f, g;
	char v[STICKY_VALUE_MAX + 1];

	fixture_algo(&f, BALANCE_STICKY_COOKIE, w, NULL, 2);
	fixture_algo(&g, BALANCE_ROUND_ROBIN, w, NULL, 2);
	ck_assert_uint_eq(balance_sticky_value(&f.pool, &g.servers[0], v), 0);
	ck_assert_str_eq(v, "");
	ck_assert_uint_eq(balance_sticky_value(&g.pool, &g.servers[0], v), 0);
	sticky_secrets(&f, "s3cret", NULL);
	f.pool.name = "renamed"; /* the configuration is immutable: only a build reads it */
	ck_assert_uint_eq(balance_sticky_value(&f.pool, &f.servers[0], v), 22);
	char want[STICKY_VALUE_MAX + 1];
	struct sticky_secret s = secret_of("s3cret");
	balance_sticky_compute("p", "s0", &s, want);
	ck_assert_str_eq(v, want);
	f.pool.sticky.secret = (struct sticky_secret){ NULL, 0 };
	fixture_free(&f);
	fixture_free(&g);
}
END_TEST

/* ---- maglev ---- */

/* Keys that move when the last of 10 equal servers goes, under ALGO:
 * their count, and how many moved between two servers that both stay. */
static void removal_moves(enum balance_algo algo, unsigned *moved, unsigned *between_survivors)
{
	static const unsigned eq[] = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 };
	struct fixture ten, nine;

	fixture_algo(&ten, algo, eq, NULL, 10);
	fixture_algo(&nine, algo, eq, NULL, 9);
	hash_map(&ten, map_a);
	hash_map(&nine, map_b);
	*moved = *between_survivors = 0;
	for (int k = 0; k < KEYS; k++) {
		if (map_a[k] == map_b[k])
			continue;
		(*moved)++;
		*between_survivors += map_a[k] != 9;
	}
	fixture_free(&ten);
	fixture_free(&nine);
}

/* The disruption lbd(8) states: removing 1 of 10 servers moves between 8 %
 * and 12 % of the keys; rendezvous moves none between the servers that
 * stay, maglev at most 2 % of the keys more. */
START_TEST(maglev_disruption_beside_rendezvous)
{
	unsigned rv_moved, rv_between, mg_moved, mg_between;

	removal_moves(BALANCE_IP_HASH, &rv_moved, &rv_between);
	removal_moves(BALANCE_MAGLEV, &mg_moved, &mg_between);
	ck_assert_msg(rv_moved >= 0.08 * KEYS && rv_moved <= 0.12 * KEYS, "rendezvous: %u moved",
		      rv_moved);
	ck_assert_uint_eq(rv_between, 0);
	ck_assert_msg(mg_moved >= 0.08 * KEYS && mg_moved <= 0.12 * KEYS, "maglev: %u moved",
		      mg_moved);
	ck_assert_msg(mg_moved <= rv_moved + 0.02 * KEYS, "maglev moved %u, rendezvous %u",
		      mg_moved, rv_moved);
	fprintf(stderr,
		"remove 1 of 10: rendezvous moves %.2f %% of the keys (%.2f %% between survivors), "
		"maglev %.2f %% (%.2f %%)\n",
		100.0 * rv_moved / KEYS, 100.0 * rv_between / KEYS, 100.0 * mg_moved / KEYS,
		100.0 * mg_between / KEYS);
}
END_TEST

START_TEST(maglev_balance_and_weights)
{
	static const unsigned eq[] = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 }, w[] = { 1, 2, 3, 4 };
	struct fixture f;
	unsigned counts[10] = { 0 };

	fixture_algo(&f, BALANCE_MAGLEV, eq, NULL, 10);
	for (int k = 0; k < KEYS; k++)
		counts[hash_pick_key(&f, k)]++;
	unsigned lo = counts[0], hi = counts[0];
	for (int i = 0; i < 10; i++) {
		lo = counts[i] < lo ? counts[i] : lo;
		hi = counts[i] > hi ? counts[i] : hi;
	}
	ck_assert_msg(hi <= 1.05 * lo, "largest share %u over smallest %u", hi, lo);
	fprintf(stderr, "maglev, 10 equal servers, %d keys: largest share over smallest %.3f\n",
		KEYS, (double)hi / lo);
	fixture_free(&f);

	unsigned wc[4] = { 0 };
	fixture_algo(&f, BALANCE_MAGLEV, w, NULL, 4);
	for (int k = 0; k < KEYS; k++)
		wc[hash_pick_key(&f, k)]++;
	for (int i = 0; i < 4; i++) {
		double share = wc[i] / (double)KEYS, want = w[i] / 10.0;
		ck_assert_msg(share > want * 0.95 && share < want * 1.05,
			      "server %d: share %.4f, want %.4f", i, share, want);
	}
	fixture_free(&f);
}
END_TEST

/* Names, not the order of the file or of a DNS answer, place the keys. */
START_TEST(maglev_order_does_not_matter)
{
	static const unsigned eq[] = { 1, 1, 1, 1, 1, 1 };
	struct fixture f;

	fixture_algo(&f, BALANCE_MAGLEV, eq, NULL, 6);
	for (int k = 0; k < 1000; k++)
		map_a[k] = (uint8_t)hash_pick_key(&f, k);
	/* the same servers listed backwards: each key, the same name */
	struct server_conf tmp[6];
	memcpy(tmp, f.servers, sizeof(tmp));
	for (int i = 0; i < 6; i++)
		f.servers[i] = tmp[5 - i];
	fixture_publish(&f);
	for (int k = 0; k < 1000; k++) {
		size_t i = hash_pick_key(&f, k);
		ck_assert_str_eq(f.servers[i].name, tmp[map_a[k]].name);
	}
	fixture_free(&f);
}
END_TEST

START_TEST(maglev_skips_down_and_backups)
{
	static const unsigned w[] = { 1, 1, 1, 1 };
	static const int backup[] = { 0, 0, 0, 1 };
	struct fixture f;
	unsigned counts[4] = { 0 }, back = 0;

	fixture_algo(&f, BALANCE_MAGLEV, w, backup, 4);
	for (int k = 0; k < 3000; k++)
		map_a[k] = (uint8_t)hash_pick_key(&f, k);
	atomic_store(&f.srt[1].state, SERVER_DOWN);
	for (int k = 0; k < 3000; k++) {
		size_t i = hash_pick_key(&f, k);
		counts[i]++;
		/* only the down server's keys move, and they spread */
		ck_assert(map_a[k] == 1 ? i != 1 : i == map_a[k]);
		back += map_a[k] == 1;
	}
	ck_assert_uint_eq(counts[1], 0);
	ck_assert_uint_eq(counts[3], 0);
	ck_assert(counts[0] > 1000 + back / 4 && counts[2] > 1000 + back / 4);
	atomic_store(&f.srt[1].state, SERVER_UP);
	for (int k = 0; k < 3000; k++)
		ck_assert_uint_eq(hash_pick_key(&f, k), map_a[k]); /* they come back */
	atomic_store(&f.srt[0].state, SERVER_DOWN);
	atomic_store(&f.srt[1].state, SERVER_DOWN);
	atomic_store(&f.srt[2].state, SERVER_DISABLED);
	ck_assert_uint_eq(hash_pick_key(&f, 7), 3); /* the backup */
	atomic_store(&f.srt[3].state, SERVER_DOWN);
	ck_assert_uint_eq(hash_pick_key(&f, 7), SIZE_MAX);
	fixture_free(&f);
}
END_TEST

/* The maglev rule of lbd(8), pinned: the expected servers come from an
 * independent implementation of the documented rule (a few lines of
 * Python). Changing them re-maps every client: never change them. */
START_TEST(maglev_contract_vectors)
{
	static const char *const names[] = { "api1", "api2", "api3", "api4", "api5" };
	/* listed backwards: api5 first, with weight 5 */
	static const unsigned equal[] = { 1, 1, 1, 1, 1 }, weighted[] = { 5, 4, 3, 2, 1 };
	static const struct {
		const char *key;
		const char *equal, *weighted;
	} cases[] = {
		{ "10.0.0.1", "api4", "api4" },     { "10.0.0.2", "api2", "api2" },
		{ "192.168.1.77", "api1", "api5" }, { "2001:db8::1", "api2", "api4" },
		{ "session-42", "api4", "api4" },   { "", "api5", "api5" },
	};

	for (int w = 0; w < 2; w++) {
		struct fixture f;
		fixture_algo(&f, BALANCE_MAGLEV, w ? weighted : equal, NULL, 5);
		for (size_t i = 0; i < 5; i++)
			f.servers[4 - i].name = (char *)names[i];
		fixture_publish(&f);
		for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
			struct balance_ctx ctx = { .key = cases[c].key,
						   .key_len = strlen(cases[c].key) };
			struct server_conf *s = balance_pick(&f.pool, &ctx);
			const char *want = w ? cases[c].weighted : cases[c].equal;
			ck_assert_msg(s && strcmp(s->name, want) == 0,
				      "key \"%s\" (%s): %s, want %s", cases[c].key,
				      w ? "weighted" : "equal weights", s ? s->name : "none", want);
		}
		fixture_free(&f);
	}
}
END_TEST

START_TEST(maglev_table_sizes)
{
	ck_assert_uint_eq(balance_maglev_table_size(1), 4099);
	ck_assert_uint_eq(balance_maglev_table_size(40), 4099);
	ck_assert_uint_eq(balance_maglev_table_size(41), 16411);
	ck_assert_uint_eq(balance_maglev_table_size(1000), 262147);
	ck_assert_uint_eq(balance_maglev_table_size(100000), 1048583);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("balance");
	TCase *tc = tcase_create("round_robin");

	tcase_add_test(tc, shares_follow_weights);
	tcase_add_test(tc, smooth_sequence_has_no_burst);
	tcase_add_test(tc, runtime_weights_after_rebuild);
	tcase_add_test(tc, equal_weights_alternate);
	tcase_add_test(tc, down_server_share_is_spread);
	tcase_add_test(tc, weight_zero_and_tried_are_skipped);
	tcase_add_test(tc, backups_only_when_no_primary);
	tcase_add_test(tc, all_weights_zero_gives_none);
	suite_add_tcase(s, tc);

	tc = tcase_create("least_conn");
	tcase_add_test(tc, lc_shares_follow_weights_under_load);
	tcase_add_test(tc, lc_idle_equal_servers_rotate);
	tcase_add_test(tc, lc_uneven_load);
	tcase_add_test(tc, lc_skips_and_backups);
	tcase_add_test(tc, lc_counts_queued_and_slot_cap);
	tcase_add_test(tc, rr_slot_cap_skips_full_servers);
	suite_add_tcase(s, tc);

	tc = tcase_create("ip_hash");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, hash_shares_follow_weights);
	tcase_add_test(tc, hash_equal_shares);
	tcase_add_test(tc, hash_contract_vectors);
	tcase_add_test(tc, hash_add_remove_moves_few_keys);
	tcase_add_test(tc, hash_weighted_add_moves_its_share);
	tcase_add_test(tc, hash_down_server_keys_return);
	tcase_add_test(tc, hash_same_in_independent_instances);
	tcase_add_test(tc, hash_skips_and_backups);
	suite_add_tcase(s, tc);

	tc = tcase_create("maglev");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, maglev_disruption_beside_rendezvous);
	tcase_add_test(tc, maglev_balance_and_weights);
	tcase_add_test(tc, maglev_order_does_not_matter);
	tcase_add_test(tc, maglev_skips_down_and_backups);
	tcase_add_test(tc, maglev_table_sizes);
	tcase_add_test(tc, maglev_contract_vectors);
	suite_add_tcase(s, tc);

	tc = tcase_create("sticky_cookie");
	tcase_add_test(tc, sticky_ids_stable_across_configurations);
	tcase_add_test(tc, sticky_cookie_placement);
	tcase_add_test(tc, sticky_fallback_least_conn);
	tcase_add_test(tc, sticky_hmac_test_vectors);
	tcase_add_test(tc, sticky_secret_values_and_forgeries);
	tcase_add_test(tc, sticky_previous_secret_honoured_then_replaced);
	tcase_add_test(tc, sticky_value_is_the_built_table);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
