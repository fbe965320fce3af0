/* slow_start.h — pools[].slow_start: a server that joins its pool or comes
 * back takes its share of requests gradually (slow_start.c). */
#ifndef LBD_SLOW_START_H
#define LBD_SLOW_START_H

#include <stdint.h>

struct config;
struct daemon;
struct server_rt;
struct slow_start;

/* The share a ramping server starts from, in thousandths of its weight,
 * and the step its share grows by. */
#define SLOW_START_FIRST 50
#define SLOW_START_STEP 50

/* The share, in thousandths, of a server that has ramped for ELAPSED_MS of
 * DURATION_MS: from SLOW_START_FIRST up in steps of SLOW_START_STEP; 1000
 * once the duration has passed. */
unsigned slow_start_permille(uint64_t elapsed_ms, uint64_t duration_ms);

/* Before NEW's balancing data is built: its servers that OLD (NULL at
 * start-up: none) does not have, in pools with slow_start, start at the
 * first step, so that not one request sees them at their whole weight. */
int slow_start_join(const struct config *old, struct config *new);

/* The stepper of daemon D, on its main loop. NULL when out of memory. */
struct slow_start *slow_start_new(struct daemon *d);

/* CFG is the newest generation: watch the servers of its pools with
 * slow_start (a ramp under way goes on across the reload); a server whose
 * pool no longer has slow_start gets its whole weight at once. Returns 0,
 * or -1 when out of memory (the watch stays as it was). */
int slow_start_apply(struct slow_start *ss, const struct config *cfg);

/* The old process of an upgrade: when RT's ramp began (health_now_ms(),
 * the monotonic clock both processes share); 0 when none is under way or
 * RT is not watched. */
uint64_t slow_start_since(const struct slow_start *ss, const struct server_rt *rt);

/* The new process, once slow_start_apply() watches its servers and before
 * any worker serves: RT's ramp as the old process left it, at share
 * PERMILLE (0: its whole weight) since SINCE_MS, so that neither a ramp
 * under way nor one finished starts over. A server whose pool no longer
 * has slow_start takes its whole weight. */
void slow_start_resume(struct slow_start *ss, struct server_rt *rt, unsigned permille,
		       uint64_t since_ms);

void slow_start_free(struct slow_start *ss);

#endif
