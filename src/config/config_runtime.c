/* config_runtime.c — binding a configuration to runtime state: here, not
 * in core/runtime.c, because the registry below knows identities (names)
 * only and the configuration model is a layer above it. */
#include "config/config_runtime.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "config/config.h"
#include "core/runtime.h"

/* A rate limit's identity: its listener, its route (place and match) and
 * every value of the rule, so that only an unchanged rule keeps its
 * table. */
static int limiter_attach(const struct listener_conf *l, size_t i, struct route_conf *r)
{
	static const char fmt[] = "%s\n%zu\n%s\n%s\n%s\n%llu/%llu/%u/%u";
	const struct rate_limit_conf *c = &r->rate_limit;
	const char *host = r->host ? r->host : "", *prefix = r->path_prefix ? r->path_prefix : "";
	const char *header = c->header ? c->header : "";
	unsigned long long count = c->count, period = c->period_ms;

	if (!c->enabled)
		return 0;
	int n = snprintf(NULL, 0, fmt, l->name, i, host, prefix, header, count, period, c->burst,
			 c->table_size);
	char *id = n < 0 ? NULL : malloc((size_t)n + 1);
	if (!id)
		return -1;
	snprintf(id, (size_t)n + 1, fmt, l->name, i, host, prefix, header, count, period, c->burst,
		 c->table_size);
	r->limiter = runtime_rate_limit_get(id, c->count, c->period_ms * 1000000, c->burst,
					    c->table_size);
	free(id);
	return r->limiter ? 0 : -1;
}

int config_attach_runtime(struct config *cfg)
{
	int rc = 0;

	runtime_lock();
	for (size_t i = 0; i < cfg->nlisteners && rc == 0; i++) {
		struct listener_conf *l = &cfg->listeners[i];
		l->rt = runtime_listener_get(l->name);
		if (!l->rt)
			rc = -1;
		for (size_t j = 0; j < l->nroutes && rc == 0; j++)
			rc = limiter_attach(l, j, &l->routes[j]);
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

void config_detach_runtime(struct config *cfg)
{
	for (size_t i = 0; i < cfg->nlisteners; i++)
		for (size_t j = 0; j < cfg->listeners[i].nroutes; j++)
			if (cfg->listeners[i].routes[j].limiter)
				runtime_rate_limit_put(cfg->listeners[i].routes[j].limiter);
}
