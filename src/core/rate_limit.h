/* rate_limit.h — request rates per key with GCRA (the generic cell rate
 * algorithm), shared by every worker thread without a lock.
 *
 * A key's whole state is one 64-bit "theoretical arrival time" (TAT): the
 * moment its budget would be full again. A request at NOW is allowed when
 * TAT + one interval - NOW stays within the burst, and then moves TAT on
 * by one interval with a single compare-and-swap, so one key has one
 * budget across all threads.
 *
 * The keys live in a fixed, open-addressed table of {tag, TAT} slots (the
 * tag is a seeded 64-bit hash of the key, never 0). A key looks at a small
 * neighbourhood of slots; when every one holds another key, it takes the
 * stalest (the oldest TAT: the key closest to a full budget). Two keys
 * with the same tag share a budget, which errs on the side of limiting.
 * Memory is therefore bounded whatever the number of clients.
 */
#ifndef LBD_CORE_RATE_LIMIT_H
#define LBD_CORE_RATE_LIMIT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* Slots a key probes from its home slot. */
#define RATE_LIMIT_PROBE 8
#define RATE_LIMIT_SLOTS_DEFAULT 16384u

struct rate_limit_slot {
	_Atomic uint64_t tag; /* 0: never used */
	_Atomic uint64_t tat; /* ns on the caller's monotonic clock */
};

struct rate_limit {
	uint64_t interval_ns;         /* one request's cost: period / count */
	uint64_t tolerance_ns;        /* burst * interval: how far TAT may run ahead */
	uint64_t seed;                /* keys hash differently in every table */
	uint32_t mask;                /* slots - 1 (a power of two) */
	atomic_uint_fast64_t limited; /* requests refused, for /metrics */
	struct rate_limit_slot slots[];
};

/* A table allowing COUNT requests per PERIOD_NS, BURST at once (at least
 * 1), in SLOTS slots (rounded up to a power of two, at least
 * RATE_LIMIT_PROBE). NULL when out of memory or the values are 0. */
struct rate_limit *rate_limit_new(uint64_t count, uint64_t period_ns, uint64_t burst,
				  uint32_t slots);
void rate_limit_free(struct rate_limit *rl);

/* The key's tag in RL: a seeded hash, never 0. */
uint64_t rate_limit_tag(const struct rate_limit *rl, const void *key, size_t len);

/* One request of the key tagged TAG at NOW_NS: 0 when allowed (and
 * counted), else the nanoseconds until it would be (at least 1). */
uint64_t rate_limit_take(struct rate_limit *rl, uint64_t tag, uint64_t now_ns);

/* A binary upgrade carries the budgets to the new process (CLOCK_MONOTONIC
 * is the same in both): FN gets each slot of RL whose budget is not full
 * at NOW_NS, by its index. */
typedef void rate_limit_slot_fn(void *arg, uint32_t index, uint64_t tag, uint64_t tat);
void rate_limit_export(const struct rate_limit *rl, uint64_t now_ns, rate_limit_slot_fn *fn,
		       void *arg);

/* In the new process, before any thread uses RL: the old table's SEED
 * (its tags are hashed with it), and one slot. Returns 0, or -1 when
 * INDEX is not in RL (another table size: nothing changes). */
void rate_limit_adopt_seed(struct rate_limit *rl, uint64_t seed);
int rate_limit_adopt_slot(struct rate_limit *rl, uint32_t index, uint64_t tag, uint64_t tat);

#endif
