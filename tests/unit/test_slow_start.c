/* test_slow_start.c — the shares of slow start (daemon/slow_start.h) and
 * how the balancers follow a ramping server's share. */
#include <check.h>

#include "check_main.h"
#include <string.h>

#include "balance/balance.h"
#include "config/config.h"
#include "core/runtime.h"
#include "daemon/slow_start.h"

START_TEST(steps)
{
	ck_assert_uint_eq(slow_start_permille(0, 20000), SLOW_START_FIRST);
	ck_assert_uint_eq(slow_start_permille(999, 20000), SLOW_START_FIRST);
	ck_assert_uint_eq(slow_start_permille(10000, 20000), 500); /* 525, down to a step */
	ck_assert_uint_eq(slow_start_permille(19999, 20000), 950);
	ck_assert_uint_eq(slow_start_permille(20000, 20000), 1000);
	ck_assert_uint_eq(slow_start_permille(5, 0), 1000);
	unsigned last = 0;
	for (uint64_t t = 0; t <= 20000; t += 37) { /* never down, always a step */
		unsigned p = slow_start_permille(t, 20000);
		ck_assert_uint_ge(p, last);
		ck_assert_uint_eq(p % SLOW_START_STEP, 0);
		last = p;
	}
}
END_TEST

/* Two servers of weight 2; the second ramps at a quarter of its share:
 * round-robin's schedule gives it one request in five. */
START_TEST(round_robin_follows_the_share)
{
	struct server_rt rt[2];
	struct server_conf servers[2];
	struct pool_rt prt;
	struct pool_conf pool;
	unsigned counts[2] = { 0 };

	memset(rt, 0, sizeof(rt));
	memset(servers, 0, sizeof(servers));
	memset(&prt, 0, sizeof(prt));
	memset(&pool, 0, sizeof(pool));
	for (int i = 0; i < 2; i++) {
		atomic_init(&rt[i].state, SERVER_UP);
		atomic_init(&rt[i].weight_override, -1);
		servers[i].name = i ? "b" : "a";
		servers[i].weight = 2;
		servers[i].rt = &rt[i];
	}
	atomic_init(&rt[1].ramp_permille, 250);
	pool.name = "p";
	pool.balance = BALANCE_ROUND_ROBIN;
	pool.servers = servers;
	pool.nservers = 2;
	pool.rt = &prt;
	struct server_conf *list[2] = { &servers[0], &servers[1] };
	struct pool_members *none;
	ck_assert_int_eq(balance_publish(&pool, list, 2, &none), 0);
	ck_assert_ptr_null(none);
	ck_assert_uint_eq(balance_share(&servers[0]), 2000);
	ck_assert_uint_eq(balance_share(&servers[1]), 500);
	for (int i = 0; i < 1000; i++) {
		struct balance_ctx ctx = { 0 };
		counts[balance_pick(&pool, &ctx) - servers]++;
	}
	ck_assert_uint_eq(counts[0], 800);
	ck_assert_uint_eq(counts[1], 200);
	pool_members_free(pool.members);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("slow_start");
	TCase *tc = tcase_create("slow_start");

	tcase_add_test(tc, steps);
	tcase_add_test(tc, round_robin_follows_the_share);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
