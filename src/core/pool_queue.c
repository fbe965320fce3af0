/* pool_queue.c — server slots and waiting requests (pool_queue.h).
 *
 * The slot count and the queue length use sequentially consistent
 * atomics: a worker that frees a slot decrements `active` and then reads
 * `length`, a request that joins the queue increments `length` and then
 * looks for a free slot, so at least one of them sees the other and no
 * waiter is left behind while a slot stays free.
 */
#include "core/pool_queue.h"

const char *const queue_reject_names[QUEUE_REJECT_KINDS] = {
	[QUEUE_REJECT_FULL] = "queue_full",
	[QUEUE_REJECT_TIMEOUT] = "queue_timeout",
};

/* Every waiter's ticket, of every pool: one counter, taken only on the
 * queue's path. 0 is never handed out (queue_next() starts after it). */
static atomic_uint_fast64_t next_ticket;

void queue_rt_init(struct queue_rt *q)
{
	atomic_init(&q->length, 0);
	for (unsigned i = 0; i < QUEUE_REJECT_KINDS; i++)
		atomic_init(&q->rejected[i], 0);
	for (unsigned i = 0; i < QUEUE_WORKERS_MAX; i++)
		atomic_init(&q->head[i], QUEUE_NO_TICKET);
}

void queue_list_init(struct queue_list *l, unsigned worker)
{
	TAILQ_INIT(&l->waiters);
	l->n = 0;
	l->worker = worker < QUEUE_WORKERS_MAX ? worker : QUEUE_WORKERS_MAX - 1;
}

bool queue_slot_take(atomic_int *active, uint32_t max)
{
	if (!max) {
		atomic_fetch_add(active, 1);
		return true;
	}
	int n = atomic_load(active);

	while (n < 0 || (uint32_t)n < max)
		if (atomic_compare_exchange_weak(active, &n, n + 1))
			return true;
	return false;
}

bool queue_slot_free(const atomic_int *active, uint32_t max)
{
	int n = atomic_load((atomic_int *)active);

	return !max || n < 0 || (uint32_t)n < max;
}

bool queue_admit(struct queue_rt *q, uint32_t size)
{
	unsigned n = atomic_load(&q->length);

	while (n < size)
		if (atomic_compare_exchange_weak(&q->length, &n, n + 1))
			return true;
	atomic_fetch_add_explicit(&q->rejected[QUEUE_REJECT_FULL], 1, memory_order_relaxed);
	return false;
}

/* The ticket of L's oldest waiter of Q. */
static uint64_t head_of(const struct queue_list *l, const struct queue_rt *q)
{
	const struct queue_waiter *w;

	TAILQ_FOREACH (w, &l->waiters, link)
		if (w->q == q)
			return w->ticket;
	return QUEUE_NO_TICKET;
}

void queue_push(struct queue_list *l, struct queue_waiter *w, struct queue_rt *q,
		const void *target, atomic_int *target_len, uint64_t now_ms, uint64_t timeout_ms)
{
	w->q = q;
	w->target = NULL;
	w->target_len = NULL;
	queue_retarget(w, target, target_len);
	w->ticket = atomic_fetch_add(&next_ticket, 1) + 1;
	w->since_ms = now_ms;
	w->deadline_ms = now_ms + timeout_ms;
	/* Tickets grow, and a worker takes them one at a time: the list stays
	 * in ticket order. */
	TAILQ_INSERT_TAIL(&l->waiters, w, link);
	l->n++;
	if (head_of(l, q) == w->ticket)
		atomic_store(&q->head[l->worker], w->ticket);
}

void queue_retarget(struct queue_waiter *w, const void *target, atomic_int *target_len)
{
	if (w->target_len)
		atomic_fetch_sub_explicit(w->target_len, 1, memory_order_relaxed);
	w->target = target;
	w->target_len = target_len;
	if (target_len)
		atomic_fetch_add_explicit(target_len, 1, memory_order_relaxed);
}

void queue_remove(struct queue_list *l, struct queue_waiter *w)
{
	struct queue_rt *q = w->q;

	TAILQ_REMOVE(&l->waiters, w, link);
	l->n--;
	queue_retarget(w, NULL, NULL);
	atomic_store(&q->head[l->worker], head_of(l, q));
	atomic_fetch_sub(&q->length, 1);
	w->q = NULL;
}

struct queue_waiter *queue_next(const struct queue_list *l, uint64_t after)
{
	struct queue_waiter *w;

	TAILQ_FOREACH (w, &l->waiters, link)
		if (w->ticket > after)
			return w;
	return NULL;
}

struct queue_waiter *queue_expired(const struct queue_list *l, uint64_t now_ms)
{
	struct queue_waiter *w;

	TAILQ_FOREACH (w, &l->waiters, link)
		if (w->deadline_ms <= now_ms)
			return w;
	return NULL;
}

int queue_oldest_worker(struct queue_rt *q, unsigned nworkers)
{
	uint64_t best = QUEUE_NO_TICKET;
	int who = -1;

	if (nworkers > QUEUE_WORKERS_MAX)
		nworkers = QUEUE_WORKERS_MAX;
	for (unsigned i = 0; i < nworkers; i++) {
		uint64_t t = atomic_load_explicit(&q->head[i], memory_order_relaxed);
		if (t < best) {
			best = t;
			who = (int)i;
		}
	}
	return who;
}
