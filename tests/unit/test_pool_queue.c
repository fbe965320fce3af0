/* test_pool_queue.c — server slots and the queue of waiting requests:
 * slot accounting under a cap, the queue's bound, FIFO order across pools
 * and workers, expiry, and a waiter that leaves. */
#include <check.h>

#include "check_main.h"
#include <pthread.h>

#include "core/pool_queue.h"

START_TEST(slots_capped)
{
	atomic_int active;

	atomic_init(&active, 0);
	ck_assert(queue_slot_take(&active, 2));
	ck_assert(queue_slot_take(&active, 2));
	ck_assert(!queue_slot_take(&active, 2));
	ck_assert(!queue_slot_free(&active, 2));
	ck_assert_int_eq(atomic_load(&active), 2);
	atomic_fetch_sub(&active, 1);
	ck_assert(queue_slot_free(&active, 2));
	ck_assert(queue_slot_take(&active, 2));
	/* no cap: always, and counted */
	ck_assert(queue_slot_take(&active, 0));
	ck_assert(queue_slot_free(&active, 0));
	ck_assert_int_eq(atomic_load(&active), 3);
}
END_TEST

static atomic_int shared_active;
static atomic_int max_seen;

static void *hammer(void *arg)
{
	(void)arg;
	for (int i = 0; i < 20000; i++) {
		if (!queue_slot_take(&shared_active, 3))
			continue;
		int n = atomic_load(&shared_active);
		int m = atomic_load(&max_seen);
		while (n > m && !atomic_compare_exchange_weak(&max_seen, &m, n))
			;
		atomic_fetch_sub(&shared_active, 1);
	}
	return NULL;
}

START_TEST(slots_across_threads)
{
	pthread_t t[4];

	atomic_init(&shared_active, 0);
	atomic_init(&max_seen, 0);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, hammer, NULL), 0);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	ck_assert_int_le(atomic_load(&max_seen), 3);
	ck_assert_int_eq(atomic_load(&shared_active), 0);
}
END_TEST

START_TEST(admit_bounded)
{
	struct queue_rt q;

	queue_rt_init(&q);
	ck_assert(queue_admit(&q, 2));
	ck_assert(queue_admit(&q, 2));
	ck_assert(!queue_admit(&q, 2));
	ck_assert_uint_eq(atomic_load(&q.length), 2);
	ck_assert_uint_eq(atomic_load(&q.rejected[QUEUE_REJECT_FULL]), 1);
}
END_TEST

START_TEST(fifo_and_leave)
{
	struct queue_rt a, b;
	struct queue_list l;
	struct queue_waiter w[4];
	atomic_int target_len;

	queue_rt_init(&a);
	queue_rt_init(&b);
	queue_list_init(&l, 3);
	atomic_init(&target_len, 0);
	for (int i = 0; i < 4; i++) {
		struct queue_rt *q = i == 1 ? &b : &a;
		ck_assert(queue_admit(q, 10));
		queue_push(&l, &w[i], q, i == 2 ? &target_len : NULL, i == 2 ? &target_len : NULL,
			   1000, 500);
	}
	ck_assert_int_eq(atomic_load(&target_len), 1);
	/* tickets grow in the order of arrival, across pools */
	ck_assert_uint_lt(w[0].ticket, w[1].ticket);
	ck_assert_uint_lt(w[1].ticket, w[3].ticket);
	ck_assert_ptr_eq(queue_next(&l, 0), &w[0]);
	ck_assert_ptr_eq(queue_next(&l, w[0].ticket), &w[1]);
	ck_assert_ptr_eq(queue_next(&l, w[3].ticket), NULL);
	ck_assert_uint_eq(atomic_load(&a.head[3]), w[0].ticket);
	ck_assert_uint_eq(atomic_load(&b.head[3]), w[1].ticket);
	ck_assert_uint_eq(atomic_load(&a.head[2]), QUEUE_NO_TICKET);
	/* the oldest leaves: the next of its pool heads it */
	queue_remove(&l, &w[0]);
	ck_assert_uint_eq(atomic_load(&a.head[3]), w[2].ticket);
	ck_assert_uint_eq(atomic_load(&a.length), 2);
	/* one in the middle leaves: the order of the others stays */
	queue_remove(&l, &w[2]);
	ck_assert_int_eq(atomic_load(&target_len), 0);
	ck_assert_ptr_eq(queue_next(&l, w[1].ticket), &w[3]);
	ck_assert_uint_eq(atomic_load(&a.head[3]), w[3].ticket);
	queue_remove(&l, &w[3]);
	queue_remove(&l, &w[1]);
	ck_assert_uint_eq(l.n, 0);
	ck_assert_uint_eq(atomic_load(&a.head[3]), QUEUE_NO_TICKET);
	ck_assert_uint_eq(atomic_load(&b.length), 0);
}
END_TEST

START_TEST(expiry)
{
	struct queue_rt q;
	struct queue_list l;
	struct queue_waiter slow, quick;

	queue_rt_init(&q);
	queue_list_init(&l, 0);
	queue_admit(&q, 10);
	queue_push(&l, &slow, &q, NULL, NULL, 1000, 5000);
	queue_admit(&q, 10);
	queue_push(&l, &quick, &q, NULL, NULL, 1100, 100);
	ck_assert_ptr_eq(queue_expired(&l, 1199), NULL);
	ck_assert_ptr_eq(queue_expired(&l, 1200), &quick);
	queue_remove(&l, &quick);
	ck_assert_ptr_eq(queue_expired(&l, 5999), NULL);
	ck_assert_ptr_eq(queue_expired(&l, 6000), &slow);
	queue_remove(&l, &slow);
}
END_TEST

START_TEST(oldest_worker)
{
	struct queue_rt q;
	struct queue_list l0, l1;
	struct queue_waiter first, second;

	queue_rt_init(&q);
	queue_list_init(&l0, 0);
	queue_list_init(&l1, 1);
	ck_assert_int_eq(queue_oldest_worker(&q, 2), -1);
	queue_admit(&q, 10);
	queue_push(&l1, &first, &q, NULL, NULL, 0, 100);
	queue_admit(&q, 10);
	queue_push(&l0, &second, &q, NULL, NULL, 0, 100);
	ck_assert_int_eq(queue_oldest_worker(&q, 2), 1);
	queue_remove(&l1, &first);
	ck_assert_int_eq(queue_oldest_worker(&q, 2), 0);
	/* a worker beyond NWORKERS is not looked at */
	ck_assert_int_eq(queue_oldest_worker(&q, 0), -1);
	queue_remove(&l0, &second);
}
END_TEST

START_TEST(retarget)
{
	struct queue_rt q;
	struct queue_list l;
	struct queue_waiter w;
	atomic_int s1, s2;
	int a, b;

	atomic_init(&s1, 0);
	atomic_init(&s2, 0);
	queue_rt_init(&q);
	queue_list_init(&l, 0);
	queue_admit(&q, 1);
	queue_push(&l, &w, &q, &a, &s1, 0, 100);
	ck_assert_int_eq(atomic_load(&s1), 1);
	queue_retarget(&w, &b, &s2);
	ck_assert_int_eq(atomic_load(&s1), 0);
	ck_assert_int_eq(atomic_load(&s2), 1);
	ck_assert_ptr_eq(w.target, &b);
	queue_remove(&l, &w);
	ck_assert_int_eq(atomic_load(&s2), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pool_queue");
	TCase *tc = tcase_create("queue");

	tcase_add_test(tc, slots_capped);
	tcase_add_test(tc, slots_across_threads);
	tcase_add_test(tc, admit_bounded);
	tcase_add_test(tc, fifo_and_leave);
	tcase_add_test(tc, expiry);
	tcase_add_test(tc, oldest_worker);
	tcase_add_test(tc, retarget);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
