/* config_runtime.c — binding a configuration to runtime state: here, not
 * in core/runtime.c, because the registry below knows identities (names)
 * only and the configuration model is a layer above it. */
#include "config/config_runtime.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

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
		}
	}
	runtime_unlock();
	return rc;
}

int config_forget_runtime(const struct config *old, const struct config *new)
{
	uint32_t n = runtime_server_count();
	bool *stays = calloc(n ? n : 1, sizeof(*stays));

	if (!stays)
		return -1;
	for (size_t i = 0; i < new->npools; i++)
		for (size_t j = 0; j < new->pools[i].nservers; j++)
			stays[new->pools[i].servers[j].rt->id] = true;
	for (size_t i = 0; i < old->npools; i++) {
		for (size_t j = 0; j < old->pools[i].nservers; j++) {
			struct server_rt *rt = old->pools[i].servers[j].rt;
			if (!stays[rt->id])
				runtime_server_forget(rt);
		}
	}
	free(stays);
	return 0;
}
