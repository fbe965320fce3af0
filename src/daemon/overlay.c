/* overlay.c — what changes on the running configuration without reading
 * the file again: a server's weight set through the admin API (lbctl
 * weight), and the shares of slow start (slow_start.c). The
 * weight lives in the server's runtime state, by identity, so it holds
 * across reloads until it is cleared; the pool's balancer data in the
 * newest generation is rebuilt at once, and the data it replaces is freed
 * once every worker has passed a quiescent point (event/grace.h).
 */
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>

#include "balance/balance.h"
#include "config/config.h"
#include "core/log.h"
#include "core/runtime.h"
#include "daemon/daemon.h"
#include "daemon/daemon_private.h"
#include "event/grace.h"

/* Rebuild POOL_NAME's balancing data in CFG (a generation without the
 * pool has nothing to rebuild). */
static int rebuild(struct daemon *d, struct config *cfg, const char *pool_name)
{
	struct pool_conf *pool = cfg ? config_find_pool(cfg, pool_name) : NULL;
	struct pool_members *old;
	struct grace_item *item;

	if (!pool)
		return 0;
	if (!(item = grace_prepare()))
		return -1;
	if (balance_rebuild(pool, &old) < 0) {
		free(item);
		return -1;
	}
	grace_retire(d->grace, item, pool_members_free, old);
	return 0;
}

int daemon_rebuild_pool(struct daemon *d, const char *pool_name)
{
	if (rebuild(d, d->cfg, pool_name) < 0 || rebuild(d, d->pending, pool_name) < 0)
		return -1;
	return 0;
}

int daemon_set_weight(struct daemon *d, const char *pool_name, struct server_rt *rt, int weight)
{
	int old_weight = atomic_exchange(&rt->weight_override, weight);

	/* A reload under way has built its generation's data already. */
	if (!config_find_pool(d->cfg, pool_name) || rebuild(d, d->cfg, pool_name) < 0 ||
	    rebuild(d, d->pending, pool_name) < 0) {
		atomic_store(&rt->weight_override, old_weight);
		rebuild(d, d->cfg, pool_name);
		return -1;
	}
	return 0;
}
