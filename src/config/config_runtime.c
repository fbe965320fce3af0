/* config_runtime.c — binding a configuration to runtime state: here, not
 * in core/runtime.c, because the registry below knows identities (names)
 * only and the configuration model is a layer above it. */
#include "config/config_runtime.h"

#include <stdatomic.h>
#include <stdint.h>

#include "config/config.h"
#include "core/runtime.h"

int config_attach_runtime(struct config *cfg)
{
	int rc = 0;

	runtime_lock();
	for (size_t i = 0; i < cfg->nlisteners && rc == 0; i++) {
		cfg->listeners[i].rt = runtime_listener_get(cfg->listeners[i].name);
		if (!cfg->listeners[i].rt)
			rc = -1;
	}
	for (size_t i = 0; i < cfg->npools && rc == 0; i++) {
		struct pool_conf *pool = &cfg->pools[i];
		pool->rt = runtime_pool_get(pool->name);
		if (!pool->rt)
			rc = -1;
		for (size_t j = 0; j < pool->nservers && rc == 0; j++) {
			struct server_conf *srv = &pool->servers[j];
			srv->rt = runtime_server_get(pool->name, srv->name);
			if (!srv->rt)
				rc = -1;
			else if (atomic_load(&srv->rt->weight_override) >= 0)
				srv->weight = (uint32_t)atomic_load(&srv->rt->weight_override);
		}
	}
	runtime_unlock();
	return rc;
}
