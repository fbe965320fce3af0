/* peer_queue.c — a worker's requests waiting for a server slot
 * (pools[].max_requests_per_server and pools[].queue; the rules are in
 * core/pool_queue.h).
 *
 * Each worker keeps its own waiters, so a request waits, is served and
 * gives up on the thread that owns it, and its client going away takes it
 * out at once (peer_release()). Workers meet only through atomics and
 * their doorbells: a worker that frees a slot rings the worker holding the
 * pool's oldest waiter (worker_wake_queue(); its own wake event when that
 * is itself), and that worker then gives its waiters their turn, oldest
 * first. No lock is taken.
 *
 * A wake can miss: the oldest waiter may leave before its worker looks,
 * or a slot may free while a waiter is being queued elsewhere. The tick
 * (every WORKER_TICK_MS) therefore gives every waiter its turn as well as
 * ending the waits past queue.timeout, so a free slot never idles longer
 * than a tick while someone waits.
 */
#include "event/peer.h"

#include <event2/event.h>
#include <stdlib.h>

#include "core/runtime.h"
#include "event/worker.h"
#include "util/clock.h"

_Static_assert(CONFIG_WORKERS_MAX <= QUEUE_WORKERS_MAX, "a queue tells every worker apart");

struct peer_queue {
	struct worker *w;
	struct queue_list list;
	struct event *wake; /* activated by its worker (peer_queue_wake()) */
};

/* Every worker's queue by index, for the wake of another thread. Set
 * before the workers run and cleared after they stopped. */
static struct peer_queue *_Atomic queues[QUEUE_WORKERS_MAX];
static atomic_uint nqueues;

static struct peer *peer_of_waiter(struct queue_waiter *wt)
{
	return (struct peer *)((char *)wt - offsetof(struct peer, wait));
}

static uint64_t now_ms(void)
{
	return monotonic_us() / 1000;
}

/* The pools seen in one pass over a worker's waiters: whether a waiter
 * for any server found every slot taken (later ones of the pool would
 * too), and whether any waiter of the pool is still waiting. A pass over
 * more pools than this only tries more and tells no other worker. */
#define PASS_POOLS 16

struct pass {
	struct queue_rt *q[PASS_POOLS];
	struct pool_rt *rt[PASS_POOLS];
	bool full[PASS_POOLS];
	bool waits[PASS_POOLS];
	size_t n;
};

static int pass_find(struct pass *ps, struct queue_rt *q)
{
	for (size_t i = 0; i < ps->n; i++)
		if (ps->q[i] == q)
			return (int)i;
	return -1;
}

/* Give each waiter of PQ its turn, oldest first. A pool whose waiters here
 * all got a slot while others still wait elsewhere may have more free
 * slots: the worker holding its oldest waiter is told (each such call
 * follows a served waiter, so two workers never wake each other for
 * nothing). */
static void serve(struct peer_queue *pq)
{
	struct pass ps = { .n = 0 };
	struct queue_waiter *wt = TAILQ_FIRST(&pq->list.waiters);

	while (wt) {
		struct peer *p = peer_of_waiter(wt);
		int i = pass_find(&ps, wt->q);
		uint64_t ticket = wt->ticket;
		if (i < 0 && ps.n < PASS_POOLS) {
			i = (int)ps.n++;
			ps.q[i] = wt->q;
			ps.rt[i] = p->pool->rt;
			ps.full[i] = false;
			ps.waits[i] = false;
		}
		if (i >= 0 && ((!wt->target && ps.full[i]) || !peer_take_turn(p))) {
			/* Still waiting, still in the list: on to the next. */
			ps.waits[i] = true;
			ps.full[i] |= !wt->target;
			wt = TAILQ_NEXT(wt, link);
			continue;
		}
		if (i < 0 && !peer_take_turn(p)) {
			wt = TAILQ_NEXT(wt, link);
			continue;
		}
		/* It left: what it called may have freed or queued others, so
		 * the walk goes on from its ticket, not from a pointer. */
		wt = queue_next(&pq->list, ticket);
	}
	for (size_t i = 0; i < ps.n; i++)
		if (!ps.waits[i] && atomic_load(&ps.q[i]->length))
			peer_queue_kick(ps.rt[i]);
}

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	serve(arg);
}

struct peer_queue *peer_queue_new(struct worker *w)
{
	struct peer_queue *pq = calloc(1, sizeof(*pq));

	if (!pq)
		return NULL;
	pq->w = w;
	queue_list_init(&pq->list, w->index);
	pq->wake = event_new(w->base, -1, 0, on_wake, pq);
	if (!pq->wake || w->index >= QUEUE_WORKERS_MAX) {
		peer_queue_free(pq);
		return NULL;
	}
	atomic_store(&queues[w->index], pq);
	unsigned n = atomic_load(&nqueues);
	while (n < w->index + 1 && !atomic_compare_exchange_weak(&nqueues, &n, w->index + 1))
		;
	return pq;
}

void peer_queue_free(struct peer_queue *pq)
{
	if (!pq)
		return;
	if (pq->w->index < QUEUE_WORKERS_MAX && atomic_load(&queues[pq->w->index]) == pq)
		atomic_store(&queues[pq->w->index], NULL);
	if (pq->wake)
		event_free(pq->wake);
	free(pq);
}

/* The waits past their deadline end with a 503, then everyone else gets a
 * turn. Nothing to do, and nothing done, while no one waits. */
void peer_queue_tick(struct peer_queue *pq)
{
	struct queue_waiter *wt;
	uint64_t now;

	if (!pq || !pq->list.n)
		return;
	now = now_ms();
	while ((wt = queue_expired(&pq->list, now)) != NULL) {
		struct peer *p = peer_of_waiter(wt);
		atomic_fetch_add_explicit(&wt->q->rejected[QUEUE_REJECT_TIMEOUT], 1,
					  memory_order_relaxed);
		peer_queue_leave(p);
		p->queue_rejected = true;
		p->reject = QUEUE_REJECT_TIMEOUT;
		p->ops->failed(p, 503);
	}
	serve(pq);
}

static struct peer_queue *queue_of(const struct peer *p)
{
	return p->worker ? atomic_load(&queues[p->worker->index]) : NULL;
}

void peer_queue_wait(struct peer *p, struct server_rt *target)
{
	struct peer_queue *pq = queue_of(p);
	struct pool_rt *rt = p->pool->rt;

	if (!pq || !queue_admit(&rt->queue, p->pool->queue.size)) {
		if (!pq)
			atomic_fetch_add_explicit(&rt->queue.rejected[QUEUE_REJECT_FULL], 1,
						  memory_order_relaxed);
		p->queue_rejected = true;
		p->reject = QUEUE_REJECT_FULL;
		p->ops->failed(p, 503);
		return;
	}
	queue_push(&pq->list, &p->wait, &rt->queue, target, target ? &target->queued : NULL,
		   now_ms(), p->pool->queue.timeout_ms);
	p->waiting = true;
	/* A slot may have freed while it joined (pool_queue.c): its own
	 * worker looks again once this call has returned. */
	event_active(pq->wake, EV_TIMEOUT, 0);
}

void peer_queue_leave(struct peer *p)
{
	struct peer_queue *pq = queue_of(p);
	struct pool_rt *rt = p->pool->rt;
	uint64_t waited_us = (now_ms() - p->wait.since_ms) * 1000;

	if (!p->waiting || !pq)
		return;
	queue_remove(&pq->list, &p->wait);
	p->waiting = false;
	latency_observe(&rt->queue_wait, waited_us);
	uint64_t max = atomic_load_explicit(&rt->queue_max_wait_ms, memory_order_relaxed);
	while (waited_us / 1000 > max &&
	       !atomic_compare_exchange_weak(&rt->queue_max_wait_ms, &max, waited_us / 1000))
		;
}

void peer_queue_retarget(struct peer *p, struct server_rt *target)
{
	if (p->waiting && p->wait.target != target)
		queue_retarget(&p->wait, target, target ? &target->queued : NULL);
}

void peer_queue_kick(struct pool_rt *rt)
{
	int who = queue_oldest_worker(&rt->queue, atomic_load(&nqueues));
	struct peer_queue *pq = who >= 0 ? atomic_load(&queues[who]) : NULL;

	if (pq)
		worker_wake_queue(pq->w);
}

void peer_queue_wake(struct peer_queue *pq)
{
	event_active(pq->wake, EV_TIMEOUT, 0);
}
