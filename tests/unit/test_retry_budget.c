/* test_retry_budget.c — a pool's retry budget: the burst of a full
 * bucket, the share of requests over time, 0 % and 100 %, threads that
 * spend it together. */
#include <check.h>

#include "check_main.h"
#include <pthread.h>

#include "core/retry_budget.h"

static unsigned withdraw_all(struct retry_budget *b, uint32_t percent, unsigned n)
{
	unsigned ok = 0;

	for (unsigned i = 0; i < n; i++)
		ok += retry_budget_withdraw(b, percent);
	return ok;
}

START_TEST(burst)
{
	struct retry_budget b = { 0 };

	/* a new pool starts with a full bucket, and no more */
	ck_assert_uint_eq(withdraw_all(&b, 20, 100), RETRY_BUDGET_BURST);
	ck_assert(!retry_budget_withdraw(&b, 20));
}
END_TEST

START_TEST(share)
{
	struct retry_budget b = { 0 };
	unsigned retried = 0;

	withdraw_all(&b, 20, RETRY_BUDGET_BURST);
	/* every request fails and wants a retry: one in five gets it */
	for (unsigned i = 0; i < 1000; i++) {
		retry_budget_deposit(&b, 20);
		retried += retry_budget_withdraw(&b, 20);
	}
	ck_assert_uint_eq(retried, 200);
}
END_TEST

START_TEST(calm_refills_to_the_burst_only)
{
	struct retry_budget b = { 0 };

	withdraw_all(&b, 50, RETRY_BUDGET_BURST);
	for (unsigned i = 0; i < 100000; i++)
		retry_budget_deposit(&b, 50);
	ck_assert_uint_eq(withdraw_all(&b, 50, 100), RETRY_BUDGET_BURST);
}
END_TEST

START_TEST(zero_and_full)
{
	struct retry_budget b = { 0 };

	/* 0 %: never a retry, even from a full bucket */
	ck_assert_uint_eq(withdraw_all(&b, 0, 10), 0);
	/* 100 %: one retry per request, forever */
	withdraw_all(&b, 100, RETRY_BUDGET_BURST);
	for (unsigned i = 0; i < 50; i++) {
		retry_budget_deposit(&b, 100);
		ck_assert(retry_budget_withdraw(&b, 100));
	}
	ck_assert(!retry_budget_withdraw(&b, 100));
}
END_TEST

#define THREADS 4
#define ROUNDS 20000

struct worker_arg {
	struct retry_budget *b;
	unsigned ok;
};

static void *spend(void *arg)
{
	struct worker_arg *a = arg;

	for (unsigned i = 0; i < ROUNDS; i++) {
		retry_budget_deposit(a->b, 10);
		a->ok += retry_budget_withdraw(a->b, 10);
	}
	return NULL;
}

START_TEST(threads)
{
	struct retry_budget b = { 0 };
	struct worker_arg args[THREADS];
	pthread_t t[THREADS];
	unsigned total = 0;

	for (int i = 0; i < THREADS; i++) {
		args[i] = (struct worker_arg){ .b = &b };
		pthread_create(&t[i], NULL, spend, &args[i]);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		total += args[i].ok;
	}
	/* every retry was paid for: the burst plus 10 % of the requests */
	ck_assert_uint_le(total, RETRY_BUDGET_BURST + THREADS * ROUNDS / 10);
	ck_assert_uint_ge(total, THREADS * ROUNDS / 10);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("retry_budget");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, burst);
	tcase_add_test(tc, share);
	tcase_add_test(tc, calm_refills_to_the_burst_only);
	tcase_add_test(tc, zero_and_full);
	tcase_add_test(tc, threads);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
