/* metrics.h — what GET /metrics reports: lbd's counters and gauges in the
 * Prometheus text format (util/prom.h), rendered on the admin thread from
 * the runtime state (runtime.h) and the newest configuration. The request
 * path only ever increments atomics; all the work is done here, at scrape
 * time.
 */
#ifndef LBD_METRICS_H
#define LBD_METRICS_H

#include <stdint.h>

#include "config/config.h"
#include "daemon/daemon.h"
#include "util/strbuf.h"

/* What the metrics report besides the configuration and runtime state. */
struct metrics_info {
	uint64_t generation;
	unsigned live_generations;
	uint64_t now; /* Unix time of the scrape, seconds */
	struct daemon_counters daemon;
	/* Milliseconds a pool's discovery has been stale (0: fresh). */
	uint64_t (*discovery_stale_ms)(const void *arg, const char *pool);
	const void *arg;
};

/* Every family, for the listeners, pools and servers of CFG. */
void metrics_render(struct strbuf *sb, const struct config *cfg, const struct metrics_info *info);

#endif
