/* grace.h — freeing what worker threads may still be reading.
 *
 * The main thread replaces a pointer that workers read without a lock (a
 * pool's balancer data, rebuilt when a runtime weight changes) and retires
 * the old value here. It is freed once every worker has passed a quiescent
 * point after the swap: its housekeeping tick, which runs between events,
 * so no pick that could have loaded the old pointer is still running
 * (quiescent-state-based reclamation, as RCU does). Workers pay one atomic
 * load and store per tick; the request path pays nothing.
 */
#ifndef LBD_GRACE_H
#define LBD_GRACE_H

#include <stdatomic.h>
#include <stdint.h>

struct event_base;
struct grace;
struct grace_item;

/* NREADERS worker threads read what is retired here; the collection timer
 * runs on the main loop BASE. NULL when out of memory. */
struct grace *grace_new(struct event_base *base, unsigned nreaders);

/* Free everything still retired (the readers have stopped) and G. */
void grace_free(struct grace *g);

/* Main thread: room to retire one value, taken before the swap so that
 * retiring cannot fail after it. NULL when out of memory (then do not
 * swap). */
struct grace_item *grace_prepare(void);

/* Main thread, after the swap: FREE_FN(P) once every reader has passed a
 * quiescent point. Takes ITEM (from grace_prepare()). */
void grace_retire(struct grace *g, struct grace_item *item, void (*free_fn)(void *), void *p);

/* Reader READER (a worker's index), at a quiescent point. */
void grace_quiescent(struct grace *g, unsigned reader);

/* Values retired and not yet freed (for the tests). */
unsigned grace_pending(const struct grace *g);

#endif
