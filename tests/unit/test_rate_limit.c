/* test_rate_limit.c — GCRA per key: bursts, the steady rate, a clock that
 * goes back, keys that share a slot, a full table. */
#include <check.h>

#include "check_main.h"
#include <pthread.h>
#include <string.h>

#include "core/rate_limit.h"

#define SEC 1000000000ull

/* Requests allowed out of N at NOW, one after another. */
static unsigned allowed(struct rate_limit *rl, uint64_t tag, uint64_t now, unsigned n)
{
	unsigned ok = 0;

	for (unsigned i = 0; i < n; i++)
		ok += rate_limit_take(rl, tag, now) == 0;
	return ok;
}

START_TEST(burst)
{
	struct rate_limit *rl = rate_limit_new(100, SEC, 50, 64);
	uint64_t now = 1000 * SEC;

	ck_assert_ptr_nonnull(rl);
	ck_assert_uint_eq(allowed(rl, 7, now, 80), 50);
	/* refused: told to come back after one interval, not sooner */
	uint64_t wait = rate_limit_take(rl, 7, now);
	ck_assert_uint_eq(wait, SEC / 100);
	ck_assert_uint_eq(rate_limit_take(rl, 7, now + wait), 0);
	ck_assert_uint_eq(atomic_load(&rl->limited), 31);
	rate_limit_free(rl);
}
END_TEST

START_TEST(steady)
{
	struct rate_limit *rl = rate_limit_new(10, SEC, 1, 64);
	uint64_t now = 5 * SEC;
	unsigned ok = 0;

	/* 100 tries a second for 10 seconds: 10 a second get through */
	for (unsigned i = 0; i < 1000; i++)
		ok += rate_limit_take(rl, 3, now + i * (SEC / 100)) == 0;
	ck_assert_uint_eq(ok, 100);
	rate_limit_free(rl);

	/* a minute's rate */
	rl = rate_limit_new(60, 60 * SEC, 5, 64);
	ck_assert_uint_eq(allowed(rl, 3, now, 10), 5);
	ck_assert_uint_eq(allowed(rl, 3, now + SEC, 10), 1);
	rate_limit_free(rl);
}
END_TEST

START_TEST(clock_back)
{
	struct rate_limit *rl = rate_limit_new(10, SEC, 5, 64);
	uint64_t now = 100 * SEC;

	ck_assert_uint_eq(allowed(rl, 9, now, 10), 5);
	/* an earlier time, even far back, grants nothing more */
	ck_assert_uint_eq(allowed(rl, 9, now - SEC, 10), 0);
	ck_assert_uint_eq(allowed(rl, 9, 0, 10), 0);
	ck_assert_uint_eq(allowed(rl, 9, now, 10), 0);
	ck_assert_uint_eq(allowed(rl, 9, now + SEC / 10, 10), 1);
	rate_limit_free(rl);
}
END_TEST

START_TEST(keys)
{
	struct rate_limit *rl = rate_limit_new(10, SEC, 5, 64);
	uint64_t now = SEC, a = rate_limit_tag(rl, "192.0.2.1", 9),
		 b = rate_limit_tag(rl, "192.0.2.2", 9);

	ck_assert_uint_ne(a, 0);
	ck_assert_uint_eq(a, rate_limit_tag(rl, "192.0.2.1", 9));
	ck_assert_uint_eq(allowed(rl, a, now, 10), 5);
	ck_assert_uint_eq(allowed(rl, b, now, 10), 5);
	/* two keys with one tag (a collision) share one budget */
	ck_assert_uint_eq(allowed(rl, 42, now, 3), 3);
	ck_assert_uint_eq(allowed(rl, 42, now, 10), 2);
	rate_limit_free(rl);
}
END_TEST

START_TEST(full)
{
	/* 8 slots: one neighbourhood, the whole table */
	struct rate_limit *rl = rate_limit_new(1, SEC, 1, 1);
	uint64_t now = 10 * SEC;

	ck_assert_uint_eq(rl->mask, RATE_LIMIT_PROBE - 1);
	for (uint64_t k = 1; k <= RATE_LIMIT_PROBE; k++)
		ck_assert_uint_eq(rate_limit_take(rl, k, now + k * SEC / 10), 0);
	/* a new key takes the stalest slot (key 1's, the oldest TAT, whose
	 * budget is whole again by now) */
	now += SEC + SEC * 15 / 100;
	ck_assert_uint_eq(rate_limit_take(rl, 100, now), 0);
	for (uint32_t i = 0; i <= rl->mask; i++)
		ck_assert_uint_ne(atomic_load(&rl->slots[i].tag), 1);
	/* the others kept their budgets, spent */
	for (uint64_t k = 2; k <= RATE_LIMIT_PROBE; k++)
		ck_assert_uint_ne(rate_limit_take(rl, k, now), 0);
	rate_limit_free(rl);
}
END_TEST

struct race {
	struct rate_limit *rl;
	unsigned ok;
};

static void *racer(void *arg)
{
	struct race *r = arg;

	r->ok = allowed(r->rl, 5, SEC, 100000);
	return NULL;
}

START_TEST(threads)
{
	struct rate_limit *rl = rate_limit_new(1, SEC, 1000, 64);
	struct race r[4];
	pthread_t t[4];
	unsigned total = 0;

	for (int i = 0; i < 4; i++) {
		r[i] = (struct race){ rl, 0 };
		pthread_create(&t[i], NULL, racer, &r[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		total += r[i].ok;
	}
	/* one key, one budget, however many threads spend it */
	ck_assert_uint_eq(total, 1000);
	rate_limit_free(rl);
}
END_TEST

START_TEST(bad)
{
	ck_assert_ptr_null(rate_limit_new(0, SEC, 1, 64));
	ck_assert_ptr_null(rate_limit_new(1, SEC, 0, 64));
}
END_TEST

/* A binary upgrade: the slots exported from one table and adopted with its
 * seed into another of the same size give every key the same budget. */
static void copy_slot(void *arg, uint32_t index, uint64_t tag, uint64_t tat)
{
	ck_assert_int_eq(rate_limit_adopt_slot(arg, index, tag, tat), 0);
}

START_TEST(carried_over)
{
	struct rate_limit *old = rate_limit_new(10, SEC, 5, 64);
	struct rate_limit *new = rate_limit_new(10, SEC, 5, 64);
	struct rate_limit *small = rate_limit_new(10, SEC, 5, 8);
	uint64_t now = 1000 * SEC, a = rate_limit_tag(old, "a", 1), b = rate_limit_tag(old, "b", 1);

	ck_assert_uint_eq(allowed(old, a, now, 5), 5);
	ck_assert_uint_eq(allowed(old, b, now, 2), 2);
	rate_limit_adopt_seed(new, old->seed);
	rate_limit_export(old, now, copy_slot, new);
	ck_assert_uint_eq(rate_limit_tag(new, "a", 1), a);
	ck_assert_uint_eq(allowed(new, a, now, 5), 0);
	ck_assert_uint_eq(allowed(new, b, now, 5), 3);
	/* Past the budgets' refill, nothing is exported. */
	rate_limit_export(old, now + 10 * SEC, copy_slot, NULL);
	ck_assert_int_eq(rate_limit_adopt_slot(small, 63, a, now), -1);
	ck_assert_int_eq(rate_limit_adopt_slot(small, 1, 0, now), -1);
	rate_limit_free(old);
	rate_limit_free(new);
	rate_limit_free(small);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("rate_limit");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, burst);
	tcase_add_test(tc, steady);
	tcase_add_test(tc, clock_back);
	tcase_add_test(tc, keys);
	tcase_add_test(tc, full);
	tcase_add_test(tc, threads);
	tcase_add_test(tc, bad);
	tcase_add_test(tc, carried_over);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
