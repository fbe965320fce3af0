/* retry_budget.c — a pool's retry budget (retry_budget.h): one counter,
 * changed with compare-and-swap so that two workers never spend the same
 * retry. */
#include "core/retry_budget.h"

#define MILLI 1000u
#define CAPACITY RETRY_BUDGET_SPENT_MAX

void retry_budget_deposit(struct retry_budget *b, uint32_t percent)
{
	uint64_t give = (uint64_t)percent * (MILLI / 100);
	uint64_t spent = atomic_load_explicit(&b->spent, memory_order_relaxed);

	/* A full bucket (the usual case) costs one load, no write. */
	while (spent && give) {
		uint64_t next = spent > give ? spent - give : 0;
		if (atomic_compare_exchange_weak_explicit(&b->spent, &spent, next,
							  memory_order_relaxed,
							  memory_order_relaxed))
			return;
	}
}

bool retry_budget_withdraw(struct retry_budget *b, uint32_t percent)
{
	uint64_t spent = atomic_load_explicit(&b->spent, memory_order_relaxed);

	if (!percent)
		return false;
	while (spent + MILLI <= CAPACITY) {
		if (atomic_compare_exchange_weak_explicit(&b->spent, &spent, spent + MILLI,
							  memory_order_relaxed,
							  memory_order_relaxed))
			return true;
	}
	return false;
}

uint64_t retry_budget_spent(const struct retry_budget *b)
{
	return atomic_load_explicit(&b->spent, memory_order_relaxed);
}

void retry_budget_restore(struct retry_budget *b, uint64_t spent)
{
	atomic_store_explicit(&b->spent, spent < CAPACITY ? spent : CAPACITY, memory_order_relaxed);
}
