/* pool_queue.h — server slots and the queue of requests that wait for one
 * (pools[].max_requests_per_server, pools[].queue).
 *
 * A server's slots are its `active` count (struct server_rt): a request
 * takes one with a compare-and-swap that never goes past the cap, and
 * gives it back with a decrement, so the count holds across every worker
 * and every reload that keeps the server.
 *
 * The requests that find no free slot wait in their pool's queue. Each
 * worker keeps its own waiters in one list (struct queue_list), in the
 * order they came; what the workers share for a pool is struct queue_rt,
 * all atomics: the length of the queue (bounded by queue.size) and, per
 * worker, the ticket of its oldest waiter of the pool. Tickets come from
 * one process-wide counter, so they order every waiter across workers
 * (and a worker's list, of every pool, is in ticket order). A freed slot
 * goes to the worker that holds the lowest ticket of the pool
 * (queue_oldest_worker()), which serves its waiters in order.
 *
 * Nothing here knows libevent or the configuration, so the rules are unit
 * tested alone (tests/unit/test_pool_queue.c).
 */
#ifndef LBD_POOL_QUEUE_H
#define LBD_POOL_QUEUE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

/* The most workers a queue tells apart (global.workers' upper bound). */
#define QUEUE_WORKERS_MAX 256
/* No waiter: the head ticket of a worker without one. */
#define QUEUE_NO_TICKET UINT64_MAX

/* Why a request left the queue without a slot. */
enum queue_reject {
	QUEUE_REJECT_FULL,    /* the queue held queue.size requests already */
	QUEUE_REJECT_TIMEOUT, /* it waited queue.timeout */
	QUEUE_REJECT_KINDS,
};

/* The label of each kind in /metrics and the access log's termination. */
extern const char *const queue_reject_names[QUEUE_REJECT_KINDS];

/* A pool's queue as every worker sees it (in struct pool_rt: by identity,
 * so a reload that keeps the pool keeps its queue). */
struct queue_rt {
	atomic_uint length; /* waiting now, every worker */
	atomic_uint_fast64_t rejected[QUEUE_REJECT_KINDS];
	atomic_uint_fast64_t head[QUEUE_WORKERS_MAX]; /* per worker: its oldest
						       * waiter's ticket, or
						       * QUEUE_NO_TICKET */
};

/* One waiting request, inside the request's own state (struct peer). */
struct queue_waiter {
	TAILQ_ENTRY(queue_waiter) link;
	struct queue_rt *q;     /* its pool's */
	const void *target;     /* what it waits for: a server's runtime state
				 * (sticky and hashed requests), NULL: any */
	atomic_int *target_len; /* the target's count of waiters, or NULL */
	uint64_t ticket;
	uint64_t since_ms;    /* when it started waiting */
	uint64_t deadline_ms; /* when it gives up */
};

/* One worker's waiters, of every pool, oldest first. */
struct queue_list {
	TAILQ_HEAD(, queue_waiter) waiters;
	unsigned n;
	unsigned worker; /* its index into queue_rt.head */
};

void queue_rt_init(struct queue_rt *q);
void queue_list_init(struct queue_list *l, unsigned worker);

/* Take a slot of a server whose in-flight count is *ACTIVE: true when it
 * was below MAX (and is now one more); MAX 0 means no cap. */
bool queue_slot_take(atomic_int *active, uint32_t max);

/* Whether a slot of *ACTIVE is free now (MAX 0: always). */
bool queue_slot_free(const atomic_int *active, uint32_t max);

/* Make room for one more waiter of Q: false when it holds SIZE already
 * (counted as rejected, full). */
bool queue_admit(struct queue_rt *q, uint32_t size);

/* W (admitted) joins L: it gets the next ticket and waits for TARGET (NULL:
 * any server; TARGET_LEN, when not NULL, counts it) from NOW_MS until
 * NOW_MS + TIMEOUT_MS. */
void queue_push(struct queue_list *l, struct queue_waiter *w, struct queue_rt *q,
		const void *target, atomic_int *target_len, uint64_t now_ms, uint64_t timeout_ms);

/* W leaves L (served, gone, or given up): Q's length and the head ticket
 * of L's worker follow. */
void queue_remove(struct queue_list *l, struct queue_waiter *w);

/* W now waits for TARGET instead (its server went away): its place stays. */
void queue_retarget(struct queue_waiter *w, const void *target, atomic_int *target_len);

/* The oldest waiter of L whose ticket is above AFTER (0: from the start),
 * or NULL: lets a caller walk L while what it calls removes waiters. */
struct queue_waiter *queue_next(const struct queue_list *l, uint64_t after);

/* The oldest waiter of L whose deadline is at or before NOW_MS, or NULL. */
struct queue_waiter *queue_expired(const struct queue_list *l, uint64_t now_ms);

/* The worker (< NWORKERS) whose oldest waiter of Q is the oldest of all,
 * or -1 when no worker has one. */
int queue_oldest_worker(struct queue_rt *q, unsigned nworkers);

#endif
