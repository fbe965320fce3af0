/* retry_budget.h — how many retries a pool may make (pools[].retry_budget),
 * shared by every worker thread without a lock.
 *
 * A token bucket counted in requests, not in time, as gRPC's retry
 * throttling and Finagle's retry budgets are: every request to the pool
 * deposits PERCENT hundredths of a retry, every retry withdraws a whole
 * one, and the bucket holds at most RETRY_BUDGET_BURST retries. So over any
 * stretch of traffic the retries stay within PERCENT % of the requests
 * (plus the burst), and a pool whose servers all fail cannot be flooded
 * with retries that multiply its load.
 *
 * The state is one atomic counter of what was spent, in thousandths of a
 * retry: zero (a new pool, or one that was calm for a while) is a full
 * bucket, so the first failures of a quiet pool may still be retried.
 */
#ifndef LBD_CORE_RETRY_BUDGET_H
#define LBD_CORE_RETRY_BUDGET_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* Retries a full bucket allows at once. */
#define RETRY_BUDGET_BURST 10
/* The share of requests a pool may retry when its file names none. */
#define RETRY_BUDGET_DEFAULT_PERCENT 20

struct retry_budget {
	_Atomic uint64_t spent; /* thousandths of a retry; 0: full */
};

/* One request to the pool: PERCENT (0 to 100) hundredths of a retry go
 * back into the bucket. */
void retry_budget_deposit(struct retry_budget *b, uint32_t percent);

/* Take one retry out of the bucket: true when there was one. A budget of
 * 0 % allows none. */
bool retry_budget_withdraw(struct retry_budget *b, uint32_t percent);

/* What was spent, in thousandths of a retry (0: full, RETRY_BUDGET_SPENT_MAX:
 * empty), and setting it back: an upgrade carries it to the new process so
 * that a pool whose budget was spent does not get a fresh one. */
#define RETRY_BUDGET_SPENT_MAX ((uint64_t)RETRY_BUDGET_BURST * 1000u)
uint64_t retry_budget_spent(const struct retry_budget *b);
void retry_budget_restore(struct retry_budget *b, uint64_t spent);

#endif
