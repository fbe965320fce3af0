/* grace.c — retiring what workers may still read (grace.h). */
#include "event/grace.h"

#include <event2/event.h>
#include <stdlib.h>

#include "util/clock.h"

/* How often the main thread looks for what it may free: about a worker
 * tick, so a retired value lives a few hundred milliseconds. */
#define GRACE_COLLECT_MS 100

struct grace_item {
	struct grace_item *next;
	uint64_t epoch; /* freed once every reader has seen it */
	void (*free_fn)(void *);
	void *p;
};

struct grace {
	atomic_uint_fast64_t epoch;
	atomic_uint_fast64_t *seen; /* per reader: the epoch at its last quiescent point */
	unsigned nreaders;
	struct grace_item *items; /* main thread only */
	struct event *collect_ev;
	unsigned npending;
};

static uint64_t oldest_seen(const struct grace *g)
{
	uint64_t min = UINT64_MAX;

	for (unsigned i = 0; i < g->nreaders; i++) {
		uint64_t s = atomic_load_explicit(&g->seen[i], memory_order_acquire);
		if (s < min)
			min = s;
	}
	return min;
}

static void arm(struct grace *g)
{
	struct timeval tv;

	ms_to_timeval(GRACE_COLLECT_MS, &tv);
	evtimer_add(g->collect_ev, &tv);
}

static void on_collect(evutil_socket_t fd, short what, void *arg)
{
	struct grace *g = arg;
	uint64_t seen = oldest_seen(g);
	struct grace_item **link = &g->items;

	while (*link) {
		struct grace_item *it = *link;
		if (it->epoch > seen) {
			link = &it->next;
			continue;
		}
		*link = it->next;
		it->free_fn(it->p);
		free(it);
		g->npending--;
	}
	if (g->items)
		arm(g);
}

struct grace *grace_new(struct event_base *base, unsigned nreaders)
{
	struct grace *g = calloc(1, sizeof(*g));

	if (!g)
		return NULL;
	g->nreaders = nreaders;
	g->seen = calloc(nreaders ? nreaders : 1, sizeof(*g->seen));
	g->collect_ev = evtimer_new(base, on_collect, g);
	if (!g->seen || !g->collect_ev) {
		grace_free(g);
		return NULL;
	}
	return g;
}

static void free_all(struct grace_item *it)
{
	while (it) {
		struct grace_item *next = it->next;
		it->free_fn(it->p);
		free(it);
		it = next;
	}
}

void grace_free(struct grace *g)
{
	if (!g)
		return;
	free_all(g->items);
	if (g->collect_ev)
		event_free(g->collect_ev);
	free(g->seen);
	free(g);
}

struct grace_item *grace_prepare(void)
{
	return calloc(1, sizeof(struct grace_item));
}

void grace_retire(struct grace *g, struct grace_item *it, void (*free_fn)(void *), void *p)
{
	/* The swap came first: a reader that sees this epoch at a quiescent
	 * point reads the new pointer from then on. */
	it->epoch = atomic_fetch_add_explicit(&g->epoch, 1, memory_order_seq_cst) + 1;
	it->free_fn = free_fn;
	it->p = p;
	it->next = g->items;
	g->items = it;
	g->npending++;
	if (!evtimer_pending(g->collect_ev, NULL))
		arm(g);
}

void grace_quiescent(struct grace *g, unsigned reader)
{
	if (reader < g->nreaders)
		atomic_store_explicit(&g->seen[reader],
				      atomic_load_explicit(&g->epoch, memory_order_seq_cst),
				      memory_order_release);
}

unsigned grace_pending(const struct grace *g)
{
	return g->npending;
}
