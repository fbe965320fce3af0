/* runtime.c — the registry of runtime state by identity. */
#include "core/runtime.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/rate_limit.h"

/* The registry is touched only when a configuration is attached (start-up
 * and reload, on the main thread); the lock keeps that true if it ever is
 * not. Worker threads hold direct pointers and never look things up. */
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct server_rt *servers;
static struct pool_rt *pools;
static struct listener_rt *listeners;
static struct rate_limit_rt *rate_limits;
static uint32_t next_server_id;

void runtime_lock(void)
{
	pthread_mutex_lock(&registry_lock);
}

void runtime_unlock(void)
{
	pthread_mutex_unlock(&registry_lock);
}

/* Prometheus's default buckets, with 1 ms and 2.5 ms in front: servers
 * behind a load balancer on the same network often answer in less than
 * 5 ms. */
const char *const h2_abuse_names[H2_ABUSE_KINDS] = {
	[H2_ABUSE_RAPID_RESET] = "rapid_reset",
	[H2_ABUSE_CONTINUATION] = "continuation",
	[H2_ABUSE_FLOOD] = "flood",
	[H2_ABUSE_STREAMS] = "streams",
	[H2_ABUSE_ZERO_WINDOW] = "zero_window",
	[H2_ABUSE_GLITCHES] = "glitches",
	[H2_ABUSE_PROTOCOL] = "protocol",
};

const char *const retry_reason_names[RETRY_REASONS] = {
	[RETRY_CONNECT_FAILURE] = "connect_failure",
	[RETRY_STATUS] = "status",
	[RETRY_RESET] = "reset",
	[RETRY_TIMEOUT] = "timeout",
};

const char *const status_class_names[STATUS_CLASSES] = {
	"1xx", "2xx", "3xx", "4xx", "5xx", "other",
};

const uint64_t latency_bounds_us[LATENCY_BOUNDS] = {
	1000,   2500,   5000,    10000,   25000,   50000,    100000,
	250000, 500000, 1000000, 2500000, 5000000, 10000000,
};

_Thread_local unsigned runtime_shard;

void runtime_set_shard(unsigned index)
{
	runtime_shard = index % RUNTIME_SHARDS;
}

uint64_t runtime_sum(const atomic_uint_fast64_t *first, size_t stride)
{
	uint64_t n = 0;

	for (unsigned k = 0; k < RUNTIME_SHARDS; k++)
		n += atomic_load_explicit(
			(const atomic_uint_fast64_t *)(const void *)((const char *)first +
								     k * stride),
			memory_order_relaxed);
	return n;
}

/* A zeroed entry aligned for its shards (their cache lines). */
static void *entry_alloc(size_t size)
{
	size_t rounded = (size + RUNTIME_LINE - 1) / RUNTIME_LINE * RUNTIME_LINE;
	void *p = aligned_alloc(RUNTIME_LINE, rounded);

	if (p)
		memset(p, 0, rounded);
	return p;
}

struct server_rt *runtime_server_get(const char *pool, const char *server)
{
	for (struct server_rt *s = servers; s; s = s->next)
		if (strcmp(s->pool_name, pool) == 0 && strcmp(s->server_name, server) == 0)
			return s;
	struct server_rt *s = entry_alloc(sizeof(*s));
	if (!s)
		return NULL;
	s->pool_name = strdup(pool);
	s->server_name = strdup(server);
	if (!s->pool_name || !s->server_name) {
		free(s->pool_name);
		free(s->server_name);
		free(s);
		return NULL;
	}
	s->id = next_server_id++;
	atomic_init(&s->state, SERVER_UP);
	atomic_init(&s->weight_override, -1);
	s->next = servers;
	servers = s;
	return s;
}

struct pool_rt *runtime_pool_get(const char *name)
{
	for (struct pool_rt *p = pools; p; p = p->next)
		if (strcmp(p->name, name) == 0)
			return p;
	struct pool_rt *p = entry_alloc(sizeof(*p));
	if (!p)
		return NULL;
	p->name = strdup(name);
	if (!p->name) {
		free(p);
		return NULL;
	}
	queue_rt_init(&p->queue);
	p->next = pools;
	pools = p;
	return p;
}

struct listener_rt *runtime_listener_get(const char *name)
{
	for (struct listener_rt *l = listeners; l; l = l->next)
		if (strcmp(l->name, name) == 0)
			return l;
	struct listener_rt *l = entry_alloc(sizeof(*l));
	if (!l)
		return NULL;
	l->name = strdup(name);
	if (!l->name) {
		free(l);
		return NULL;
	}
	l->next = listeners;
	listeners = l;
	return l;
}

void runtime_server_forget(struct server_rt *rt)
{
	atomic_store(&rt->state, SERVER_UP);
	atomic_store(&rt->weight_override, -1);
	atomic_store(&rt->ramp_permille, 0);
	atomic_store(&rt->health.passive_until_ms, 0);
	atomic_store(&rt->health.window_start_ms, 0);
	atomic_store(&rt->health.window_fails, 0);
}

unsigned runtime_listener_connections(const char *name)
{
	unsigned n = 0;

	pthread_mutex_lock(&registry_lock);
	for (struct listener_rt *l = listeners; l; l = l->next)
		if (strcmp(l->name, name) == 0)
			n = atomic_load(&l->connections);
	pthread_mutex_unlock(&registry_lock);
	return n;
}

void latency_read(const struct latency_hist *h, struct latency_snapshot *out)
{
	for (unsigned i = 0; i < LATENCY_BUCKETS; i++)
		out->bucket[i] = atomic_load_explicit(&h->bucket[i], memory_order_relaxed);
	out->sum_us = atomic_load_explicit(&h->sum_us, memory_order_relaxed);
}

void server_latency_read(const struct server_rt *s, struct latency_snapshot *out)
{
	struct latency_snapshot one;

	memset(out, 0, sizeof(*out));
	for (unsigned k = 0; k < RUNTIME_SHARDS; k++) {
		latency_read(&s->shard[k].latency, &one);
		for (unsigned i = 0; i < LATENCY_BUCKETS; i++)
			out->bucket[i] += one.bucket[i];
		out->sum_us += one.sum_us;
	}
}

void runtime_pool_latency(const char *name, struct latency_snapshot *out)
{
	struct latency_snapshot one;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&registry_lock);
	for (struct server_rt *s = servers; s; s = s->next) {
		if (strcmp(s->pool_name, name) != 0)
			continue;
		server_latency_read(s, &one);
		for (unsigned i = 0; i < LATENCY_BUCKETS; i++)
			out->bucket[i] += one.bucket[i];
		out->sum_us += one.sum_us;
	}
	pthread_mutex_unlock(&registry_lock);
}

uint32_t runtime_server_count(void)
{
	pthread_mutex_lock(&registry_lock);
	uint32_t n = next_server_id;
	pthread_mutex_unlock(&registry_lock);
	return n;
}

struct rate_limit_rt *runtime_rate_limit_get(const char *identity, uint64_t count,
					     uint64_t period_ns, uint64_t burst, uint32_t slots)
{
	for (struct rate_limit_rt *r = rate_limits; r; r = r->next)
		if (strcmp(r->identity, identity) == 0) {
			r->refs++;
			return r;
		}
	struct rate_limit_rt *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->identity = strdup(identity);
	r->table = rate_limit_new(count, period_ns, burst, slots);
	if (!r->identity || !r->table) {
		free(r->identity);
		rate_limit_free(r->table);
		free(r);
		return NULL;
	}
	r->refs = 1;
	r->next = rate_limits;
	rate_limits = r;
	return r;
}

void runtime_rate_limit_put(struct rate_limit_rt *rl)
{
	pthread_mutex_lock(&registry_lock);
	if (--rl->refs == 0) {
		for (struct rate_limit_rt **p = &rate_limits; *p; p = &(*p)->next)
			if (*p == rl) {
				*p = rl->next;
				break;
			}
		free(rl->identity);
		rate_limit_free(rl->table);
		free(rl);
	}
	pthread_mutex_unlock(&registry_lock);
}

/* Rate limits are left to their generations: the last one frees them,
 * whether before this or after. */
void runtime_shutdown(void)
{
	pthread_mutex_lock(&registry_lock);
	while (servers) {
		struct server_rt *s = servers;
		servers = s->next;
		free(s->pool_name);
		free(s->server_name);
		free(s);
	}
	while (listeners) {
		struct listener_rt *l = listeners;
		listeners = l->next;
		free(l->name);
		free(l);
	}
	while (pools) {
		struct pool_rt *p = pools;
		pools = p->next;
		free(p->name);
		free(p);
	}
	next_server_id = 0;
	pthread_mutex_unlock(&registry_lock);
}
