/* test_grace.c — what is retired is freed only once every reader has passed
 * a quiescent point after it was retired (event/grace.h). */
#include <check.h>

#include "check_main.h"
#include <event2/event.h>

#include "event/grace.h"

static int freed;

static void count_free(void *p)
{
	freed += *(int *)p;
}

/* Run the main loop long enough for one collection. */
static void collect(struct event_base *base)
{
	struct timeval tv = { 0, 250 * 1000 };

	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

START_TEST(freed_after_every_reader)
{
	struct event_base *base = event_base_new();
	struct grace *g = grace_new(base, 2);
	static int one = 1, ten = 10;

	ck_assert_ptr_nonnull(g);
	freed = 0;
	grace_quiescent(g, 0); /* before the retirement: does not count */
	grace_quiescent(g, 1);
	grace_retire(g, grace_prepare(), count_free, &one);
	collect(base);
	ck_assert_int_eq(freed, 0);
	grace_quiescent(g, 0);
	collect(base);
	ck_assert_int_eq(freed, 0); /* reader 1 may still read it */
	grace_retire(g, grace_prepare(), count_free, &ten);
	grace_quiescent(g, 1);
	collect(base);
	ck_assert_int_eq(freed, 1); /* the second one waits for reader 0 again */
	ck_assert_uint_eq(grace_pending(g), 1);
	grace_quiescent(g, 0);
	collect(base);
	ck_assert_int_eq(freed, 11);
	ck_assert_uint_eq(grace_pending(g), 0);
	grace_quiescent(g, 7); /* not a reader: ignored */
	grace_free(g);
	event_base_free(base);
}
END_TEST

START_TEST(free_takes_what_is_left)
{
	struct event_base *base = event_base_new();
	struct grace *g = grace_new(base, 1);
	static int five = 5;

	freed = 0;
	grace_retire(g, grace_prepare(), count_free, &five);
	grace_free(g); /* the readers have stopped */
	ck_assert_int_eq(freed, 5);
	event_base_free(base);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("grace");
	TCase *tc = tcase_create("grace");

	tcase_add_test(tc, freed_after_every_reader);
	tcase_add_test(tc, free_takes_what_is_left);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
