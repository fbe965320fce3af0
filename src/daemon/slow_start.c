/* slow_start.c — pools[].slow_start. A server that joins its pool (a reload
 * adds it) or becomes available again (its health check passes again, its
 * passive failure window ends, lbctl enable) takes its share of requests
 * gradually, as a freshly started JVM or Node.js instance needs while it
 * warms up: from 5 % of its weight, up in steps of 5 %, to all of it once
 * the pool's slow_start has passed.
 *
 * The main thread watches the servers of those pools every
 * SLOW_START_TICK_MS: it notices a server coming back by polling what the
 * balancers read (server_rt_available()), so health checks, passive
 * checks and the admin API need not know of it, and it writes the share to
 * the server's runtime state, where every balancer reads it
 * (balance_share()). When a share changed, the pool's balancing data is
 * rebuilt (round-robin's schedule follows the shares) and the old data
 * retired through the grace period. A server that is out waits at the
 * first step, so that it never gets its whole share at once on return.
 */
#include "daemon/slow_start.h"

#include <event2/event.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "balance/balance.h"
#include "config/config.h"
#include "core/health_state.h"
#include "core/log.h"
#include "core/runtime.h"
#include "daemon/daemon_private.h"
#include "util/clock.h"

#define SLOW_START_TICK_MS 250

struct ramp {
	struct server_rt *rt;
	uint64_t duration_ms;
	uint64_t since_ms; /* when it became available; 0: not ramping or out */
};

struct slow_start {
	struct daemon *d;
	struct event *tick;
	struct ramp *ramps;
	size_t n;
};

unsigned slow_start_permille(uint64_t elapsed_ms, uint64_t duration_ms)
{
	if (!duration_ms || elapsed_ms >= duration_ms)
		return 1000;
	uint64_t share = SLOW_START_FIRST + elapsed_ms * (1000 - SLOW_START_FIRST) / duration_ms;
	share -= share % SLOW_START_STEP;
	return share < SLOW_START_FIRST ? SLOW_START_FIRST : (unsigned)share;
}

/* Marks by server id: which of CFG's servers there are. */
static bool *servers_of(const struct config *cfg)
{
	uint32_t n = runtime_server_count();
	bool *mark = calloc(n ? n : 1, sizeof(*mark));

	for (size_t i = 0; mark && cfg && i < cfg->npools; i++)
		for (size_t j = 0; j < cfg->pools[i].nservers; j++)
			mark[cfg->pools[i].servers[j].rt->id] = true;
	return mark;
}

int slow_start_join(const struct config *old, struct config *new)
{
	bool *had;

	if (!old)
		return 0; /* lbd starts: every server is up at once */
	if (!(had = servers_of(old)))
		return -1;
	for (size_t i = 0; i < new->npools; i++) {
		const struct pool_conf *p = &new->pools[i];
		for (size_t j = 0; p->slow_start_ms && j < p->nservers; j++)
			if (!had[p->servers[j].rt->id])
				atomic_store(&p->servers[j].rt->ramp_permille, SLOW_START_FIRST);
	}
	free(had);
	return 0;
}

/* RAMP's next share, and whether it changed. */
static bool step(struct ramp *r, uint64_t now)
{
	unsigned cur = atomic_load(&r->rt->ramp_permille), next;

	if (!server_rt_available(r->rt)) {
		r->since_ms = 0;
		next = SLOW_START_FIRST;
	} else if (!cur) {
		return false; /* up with its whole weight */
	} else {
		if (!r->since_ms)
			r->since_ms = now;
		next = slow_start_permille(now - r->since_ms, r->duration_ms);
		if (next >= 1000) {
			next = 0;
			log_info("pool %s: server %s: slow start over, whole weight",
				 r->rt->pool_name, r->rt->server_name);
		}
	}
	if (next == cur)
		return false;
	atomic_store(&r->rt->ramp_permille, next);
	return true;
}

/* Rebuild each pool named in CHANGED (server_rt pool names) once. */
static void rebuild_pools(struct slow_start *ss, const char **changed, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		bool seen = false;
		for (size_t j = 0; j < i && !seen; j++)
			seen = strcmp(changed[i], changed[j]) == 0;
		if (!seen && daemon_rebuild_pool(ss->d, changed[i]) < 0)
			log_error(
				"slow start: pool %s: out of memory rebuilding its balancing data",
				changed[i]);
	}
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct slow_start *ss = arg;
	uint64_t now = health_now_ms();
	const char **changed = calloc(ss->n ? ss->n : 1, sizeof(*changed));
	size_t nchanged = 0;

	for (size_t i = 0; i < ss->n; i++)
		if (step(&ss->ramps[i], now) && changed)
			changed[nchanged++] = ss->ramps[i].rt->pool_name;
	rebuild_pools(ss, changed, nchanged);
	free(changed);
}

struct slow_start *slow_start_new(struct daemon *d)
{
	struct slow_start *ss = calloc(1, sizeof(*ss));

	if (!ss)
		return NULL;
	ss->d = d;
	ss->tick = event_new(d->base, -1, EV_PERSIST, on_tick, ss);
	if (!ss->tick) {
		free(ss);
		return NULL;
	}
	return ss;
}

static struct ramp *find(struct slow_start *ss, const struct server_rt *rt)
{
	for (size_t i = 0; i < ss->n; i++)
		if (ss->ramps[i].rt == rt)
			return &ss->ramps[i];
	return NULL;
}

uint64_t slow_start_since(const struct slow_start *ss, const struct server_rt *rt)
{
	for (size_t i = 0; i < ss->n; i++)
		if (ss->ramps[i].rt == rt)
			return ss->ramps[i].since_ms;
	return 0;
}

void slow_start_resume(struct slow_start *ss, struct server_rt *rt, unsigned permille,
		       uint64_t since_ms)
{
	struct ramp *r = find(ss, rt);

	if (!r)
		permille = 0;
	else
		r->since_ms = permille ? since_ms : 0;
	if (atomic_exchange(&rt->ramp_permille, permille) != permille &&
	    daemon_rebuild_pool(ss->d, rt->pool_name) < 0)
		log_error("slow start: pool %s: out of memory rebuilding its balancing data",
			  rt->pool_name);
}

int slow_start_apply(struct slow_start *ss, const struct config *cfg)
{
	size_t n = 0, k = 0;
	struct ramp *ramps;
	struct timeval tv;

	for (size_t i = 0; i < cfg->npools; i++)
		if (cfg->pools[i].slow_start_ms)
			n += balance_members(&cfg->pools[i])->n;
	ramps = calloc(n ? n : 1, sizeof(*ramps));
	if (!ramps)
		return -1;
	for (size_t i = 0; i < cfg->npools; i++) {
		const struct pool_conf *p = &cfg->pools[i];
		const struct pool_members *m = balance_members(p);
		for (size_t j = 0; p->slow_start_ms && j < m->n; j++) {
			struct ramp *was = find(ss, m->servers[j]->rt);
			ramps[k] = was ? *was : (struct ramp){ .rt = m->servers[j]->rt };
			ramps[k++].duration_ms = p->slow_start_ms;
		}
	}
	/* A server no longer watched ramps no more: its whole weight now. */
	for (size_t i = 0; i < ss->n; i++) {
		bool kept = false;
		for (size_t j = 0; j < k && !kept; j++)
			kept = ramps[j].rt == ss->ramps[i].rt;
		if (!kept && atomic_exchange(&ss->ramps[i].rt->ramp_permille, 0) != 0 &&
		    daemon_rebuild_pool(ss->d, ss->ramps[i].rt->pool_name) < 0)
			log_error(
				"slow start: pool %s: out of memory rebuilding its balancing data",
				ss->ramps[i].rt->pool_name);
	}
	free(ss->ramps);
	ss->ramps = ramps;
	ss->n = k;
	if (k && !event_pending(ss->tick, EV_TIMEOUT, NULL)) {
		ms_to_timeval(SLOW_START_TICK_MS, &tv);
		event_add(ss->tick, &tv);
	} else if (!k) {
		event_del(ss->tick);
	}
	return 0;
}

void slow_start_free(struct slow_start *ss)
{
	if (!ss)
		return;
	event_free(ss->tick);
	free(ss->ramps);
	free(ss);
}
