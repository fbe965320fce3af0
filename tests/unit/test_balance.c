/* test_balance.c — smooth weighted round-robin: shares, smoothness,
 * skipped servers, backups, weight 0. */
#include <check.h>

#include "check_main.h"
#include <stdlib.h>
#include <string.h>

#include "balance.h"
#include "runtime.h"

#define MAX_SERVERS 8

struct fixture {
	struct pool_rt prt;
	struct server_rt srt[MAX_SERVERS];
	struct server_conf servers[MAX_SERVERS];
	struct pool_conf pool;
};

static void fixture_init(struct fixture *f, const unsigned *weights, const int *backup, size_t n)
{
	memset(f, 0, sizeof(*f));
	for (size_t i = 0; i < n; i++) {
		f->servers[i].name = "s";
		f->servers[i].weight = weights[i];
		f->servers[i].backup = backup ? backup[i] : 0;
		f->servers[i].rt = &f->srt[i];
		atomic_init(&f->srt[i].state, SERVER_UP);
	}
	f->pool.name = "p";
	f->pool.balance = BALANCE_ROUND_ROBIN;
	f->pool.servers = f->servers;
	f->pool.nservers = n;
	f->pool.rt = &f->prt;
	f->pool.balancer = balance_round_robin.build(&f->pool);
	f->pool.balancer_free = balance_round_robin.free;
	ck_assert_ptr_nonnull(f->pool.balancer);
}

static void fixture_free(struct fixture *f)
{
	f->pool.balancer_free(f->pool.balancer);
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
		ck_assert_msg(counts[up[k]] > 9700 && counts[up[k]] < 10300,
			      "server %d got %u", up[k], counts[up[k]]);
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

int main(void)
{
	Suite *s = suite_create("balance");
	TCase *tc = tcase_create("round_robin");

	tcase_add_test(tc, shares_follow_weights);
	tcase_add_test(tc, smooth_sequence_has_no_burst);
	tcase_add_test(tc, equal_weights_alternate);
	tcase_add_test(tc, down_server_share_is_spread);
	tcase_add_test(tc, weight_zero_and_tried_are_skipped);
	tcase_add_test(tc, backups_only_when_no_primary);
	tcase_add_test(tc, all_weights_zero_gives_none);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
