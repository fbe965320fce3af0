/* rate_limit.c — GCRA per key over a lock-free table (rate_limit.h). */
#include "core/rate_limit.h"

#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "util/hash.h"

static uint32_t pow2_at_least(uint32_t n)
{
	uint32_t p = RATE_LIMIT_PROBE;

	while (p < n && p < (1u << 30))
		p <<= 1;
	return p;
}

/* Keys must not be steerable onto another client's slot by someone who
 * knows lbd's hash: each table gets its own seed. */
static uint64_t table_seed(const void *rl)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return hash_mix64((uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^
			  (uint64_t)(uintptr_t)rl);
}

struct rate_limit *rate_limit_new(uint64_t count, uint64_t period_ns, uint64_t burst,
				  uint32_t slots)
{
	if (count == 0 || period_ns == 0 || burst == 0)
		return NULL;
	uint32_t n = pow2_at_least(slots);
	struct rate_limit *rl = calloc(1, sizeof(*rl) + (size_t)n * sizeof(rl->slots[0]));

	if (!rl)
		return NULL;
	rl->interval_ns = period_ns / count ? period_ns / count : 1;
	rl->tolerance_ns = burst * rl->interval_ns;
	rl->mask = n - 1;
	rl->seed = table_seed(rl);
	return rl;
}

void rate_limit_free(struct rate_limit *rl)
{
	free(rl);
}

uint64_t rate_limit_tag(const struct rate_limit *rl, const void *key, size_t len)
{
	uint64_t h = hash64(key, len, rl->seed);

	return h ? h : 1;
}

/* The key's slot: its own, a free one it claims, or the stalest of the
 * neighbourhood, which it takes over. A slot lost to another thread's
 * claim makes it look again; after a few rounds it shares whatever slot
 * it last saw, which only errs on the side of limiting. */
static struct rate_limit_slot *slot_of(struct rate_limit *rl, uint64_t tag)
{
	for (int round = 0; round < 4; round++) {
		struct rate_limit_slot *stalest = NULL;
		uint64_t stalest_tat = UINT64_MAX, seen = 0;
		for (uint32_t i = 0; i < RATE_LIMIT_PROBE; i++) {
			struct rate_limit_slot *s = &rl->slots[(tag + i) & rl->mask];
			uint64_t t = atomic_load_explicit(&s->tag, memory_order_acquire);
			if (t == tag)
				return s;
			if (t == 0) {
				if (atomic_compare_exchange_strong(&s->tag, &t, tag) || t == tag)
					return s;
				continue;
			}
			uint64_t tat = atomic_load_explicit(&s->tat, memory_order_relaxed);
			if (tat < stalest_tat) {
				stalest = s, stalest_tat = tat, seen = t;
			}
		}
		if (!stalest)
			continue;
		/* The old key's TAT stays: it is the oldest around, and
		 * take() only ever moves on from max(TAT, now). */
		if (atomic_compare_exchange_strong(&stalest->tag, &seen, tag) || seen == tag)
			return stalest;
	}
	return &rl->slots[tag & rl->mask];
}

uint64_t rate_limit_take(struct rate_limit *rl, uint64_t tag, uint64_t now_ns)
{
	struct rate_limit_slot *s = slot_of(rl, tag);
	uint64_t tat = atomic_load_explicit(&s->tat, memory_order_relaxed);
	uint64_t limit = rl->tolerance_ns;

	for (;;) {
		/* A clock that went back leaves TAT where it was: the budget
		 * never grows by it. */
		uint64_t next = (tat > now_ns ? tat : now_ns) + rl->interval_ns;
		if (next - now_ns > limit) {
			atomic_fetch_add_explicit(&rl->limited, 1, memory_order_relaxed);
			return next - now_ns - limit;
		}
		if (atomic_compare_exchange_weak_explicit(&s->tat, &tat, next, memory_order_relaxed,
							  memory_order_relaxed))
			return 0;
	}
}

void rate_limit_export(const struct rate_limit *rl, uint64_t now_ns, rate_limit_slot_fn *fn,
		       void *arg)
{
	for (uint32_t i = 0; i <= rl->mask; i++) {
		uint64_t tag = atomic_load_explicit(&rl->slots[i].tag, memory_order_acquire);
		uint64_t tat = atomic_load_explicit(&rl->slots[i].tat, memory_order_relaxed);
		if (tag && tat > now_ns)
			fn(arg, i, tag, tat);
	}
}

void rate_limit_adopt_seed(struct rate_limit *rl, uint64_t seed)
{
	rl->seed = seed;
}

int rate_limit_adopt_slot(struct rate_limit *rl, uint32_t index, uint64_t tag, uint64_t tat)
{
	if (index > rl->mask || tag == 0)
		return -1;
	atomic_store(&rl->slots[index].tag, tag);
	atomic_store(&rl->slots[index].tat, tat);
	return 0;
}
