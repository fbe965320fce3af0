/* runtime.h — per-server and per-pool runtime state, keyed by identity.
 *
 * A server's identity is its pool name + server name. Its runtime state
 * (active requests, counters, health and admin flags) lives here, apart from
 * the immutable configuration, so that it survives every reload in which the
 * identity survives. Worker threads touch it only through atomics.
 */
#ifndef LBD_RUNTIME_H
#define LBD_RUNTIME_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/health_state.h"
#include "core/pool_queue.h"
#include "core/retry_budget.h"

/* Status classes of answered requests: 1xx .. 5xx, and anything else. */
enum status_class {
	STATUS_1XX,
	STATUS_2XX,
	STATUS_3XX,
	STATUS_4XX,
	STATUS_5XX,
	STATUS_OTHER,
	STATUS_CLASSES,
};

/* "1xx" .. "5xx" and "other": the label of each class in /metrics and
 * /status. */
extern const char *const status_class_names[STATUS_CLASSES];

/* Upstream response time: non-cumulative counts per bucket (the last one
 * is +Inf) and the sum. Workers add with relaxed atomics; a scrape adds the
 * buckets up, so the count always equals the +Inf bucket. */
#define LATENCY_BOUNDS 13
#define LATENCY_BUCKETS (LATENCY_BOUNDS + 1)
extern const uint64_t latency_bounds_us[LATENCY_BOUNDS];

struct latency_hist {
	atomic_uint_fast64_t bucket[LATENCY_BUCKETS];
	atomic_uint_fast64_t sum_us;
};

/* The counters every request adds to are kept in RUNTIME_SHARDS copies,
 * each on cache lines of its own (RUNTIME_LINE): a worker adds to the copy
 * of its shard (runtime_shard, set once per worker thread) and a reader
 * (metrics, admin) adds the copies up. With one copy, two workers would
 * pass its cache line between their CPUs on every request. Workers past
 * RUNTIME_SHARDS share copies; the atomics keep that correct. */
#define RUNTIME_SHARDS 4
#define RUNTIME_LINE 64

/* The calling thread's shard; 0 outside the workers. */
extern _Thread_local unsigned runtime_shard;
/* From a worker thread: take the shard of worker INDEX. */
void runtime_set_shard(unsigned index);
/* The sum of the RUNTIME_SHARDS counters at FIRST, FIRST + STRIDE bytes,
 * and so on. */
uint64_t runtime_sum(const atomic_uint_fast64_t *first, size_t stride);
/* The sum of FIELD over the array of shards SHARDS. */
#define RUNTIME_SUM(shards, field) runtime_sum(&(shards)[0].field, sizeof((shards)[0]))

/* A copy of a histogram, or the sum of several (a pool's servers). */
struct latency_snapshot {
	uint64_t bucket[LATENCY_BUCKETS];
	uint64_t sum_us;
};

/* The admin state (lbctl drain/disable/enable). Health is apart, in
 * struct health_rt: enable never overrides a failing check. */
enum server_state {
	SERVER_UP,
	SERVER_DOWN,
	SERVER_DRAINING,
	SERVER_DISABLED,
};

struct server_rt {
	uint32_t id; /* dense, for per-worker tables */
	char *pool_name;
	char *server_name;
	atomic_int state;  /* enum server_state */
	atomic_int active; /* requests in flight, all workers: its slots
			    * taken (pool_queue.h); one atomic, since taking a
			    * slot is a compare-and-swap against the cap */
	atomic_int queued; /* requests waiting for it alone */
	atomic_uint_fast64_t failures;
	struct server_rt *next; /* registry list */
	/* Weight set through the admin API (lbctl weight); -1: none. The
	 * balancers use it instead of the file's weight (balance_weight()). */
	atomic_int weight_override;
	/* Slow start (pools[].slow_start): while the server ramps up, the
	 * share of its weight it gets, in thousandths; 0 when it does not
	 * ramp (its whole weight). Stepped by the main thread. */
	atomic_uint ramp_permille;
	struct health_rt health; /* active and passive checks */
	/* Each shard on cache lines of its own: the first member's alignment
	 * (C11 allows it there, not after the struct) aligns and pads it. */
	struct {
		/* times a balancer picked it */
		_Alignas(RUNTIME_LINE) atomic_uint_fast64_t requests;
		/* Requests whose access-log line names this server, by status. */
		atomic_uint_fast64_t answered[STATUS_CLASSES];
		struct latency_hist latency;
	} shard[RUNTIME_SHARDS];
};

/* Why lbd ended an HTTP/2 connection before its client did (http2/): one
 * counter each per listener. */
enum h2_abuse {
	H2_ABUSE_RAPID_RESET,  /* streams reset faster than the rate allows */
	H2_ABUSE_CONTINUATION, /* a header block in too many CONTINUATIONs */
	H2_ABUSE_FLOOD,        /* SETTINGS, PING or other frames lbd must answer */
	H2_ABUSE_STREAMS,      /* streams over h2_max_streams, again and again */
	H2_ABUSE_ZERO_WINDOW,  /* a response stalled on a closed window */
	H2_ABUSE_GLITCHES,     /* too many refused or reset streams and bad frames */
	H2_ABUSE_PROTOCOL,     /* a protocol error (bad preface, frame or HPACK) */
	H2_ABUSE_KINDS,
};

/* The label of each kind in /metrics and the log. */
extern const char *const h2_abuse_names[H2_ABUSE_KINDS];

struct listener_rt {
	char *name;
	atomic_uint connections;                       /* client connections open, all workers */
	atomic_uint_fast64_t h2_connections;           /* connections that spoke HTTP/2 */
	atomic_uint_fast64_t h2_streams;               /* HTTP/2 requests answered */
	atomic_uint_fast64_t h2_abuse[H2_ABUSE_KINDS]; /* connections ended, by why */
	/* Gzipped responses (listeners[].compression), counted when their
	 * body ends: how many, and the body bytes before and after. One
	 * atomic each, like the HTTP/2 counters above: gzipping a body costs
	 * far more than passing a cache line between CPUs. */
	atomic_uint_fast64_t compressed;
	atomic_uint_fast64_t compressed_in;
	atomic_uint_fast64_t compressed_out;
	struct listener_rt *next;
	struct {
		_Alignas(RUNTIME_LINE) atomic_uint_fast64_t accepted; /* connections accepted */
		atomic_uint_fast64_t answered[STATUS_CLASSES];        /* HTTP requests, by status */
		/* Bytes from and to clients: HTTP requests and responses when
		 * their access-log line is written, TCP connections when they
		 * end. */
		atomic_uint_fast64_t bytes_in;
		atomic_uint_fast64_t bytes_out;
	} shard[RUNTIME_SHARDS];
};

/* Why a request went to another server of its pool. */
enum retry_reason {
	RETRY_CONNECT_FAILURE, /* the connect failed (pools[].retries) */
	RETRY_STATUS,          /* the server answered a status of retry_on */
	RETRY_RESET,           /* it closed before answering (retry_on 502) */
	RETRY_TIMEOUT,         /* it did not answer in time (retry_on 504) */
	RETRY_REASONS,
};

/* The label of each reason in /metrics. */
extern const char *const retry_reason_names[RETRY_REASONS];

struct pool_rt {
	char *name;
	/* Round-robin position, all workers: one atomic, since every worker
	 * must see the others' picks for the rotation to stay even. */
	atomic_uint_fast64_t rr_next;
	/* pools[].queue: who waits, and how long those that got a slot
	 * waited (the longest in max_wait_ms). */
	struct queue_rt queue;
	struct latency_hist queue_wait;
	atomic_uint_fast64_t queue_max_wait_ms;
	/* One atomic each: written on a retry or a refusal, not on every
	 * request, so their cache line rarely moves. */
	atomic_uint_fast64_t retries[RETRY_REASONS];
	/* Retries by status refused because the budget was spent: the
	 * server's answer went to the client as it was. */
	atomic_uint_fast64_t retry_budget_exhausted;
	struct retry_budget retry_budget; /* kept across reloads, like the rest */
	struct pool_rt *next;
	struct {
		/* requests routed here */
		_Alignas(RUNTIME_LINE) atomic_uint_fast64_t answered[STATUS_CLASSES];
	} shard[RUNTIME_SHARDS];
};

/* A route's rate limit (routes[].rate_limit): its key table, shared by
 * the generations whose rule is the same, so that a reload that keeps the
 * rule keeps every client's budget. Counted references, taken and dropped
 * under the registry's lock: only when a generation is bound or freed,
 * never per request. */
struct rate_limit_rt {
	char *identity; /* the listener, the route and the whole rule */
	unsigned refs;  /* generations that use it */
	struct rate_limit *table;
	struct rate_limit_rt *next;
};

/* The registry's lock. config_attach_runtime() holds it across the lookups
 * of one configuration, so that nothing reading the registry sees a
 * generation half bound. */
void runtime_lock(void);
void runtime_unlock(void);

/* With the lock held: the runtime state of an identity, created (and a
 * server given the next id) when it is seen for the first time. NULL when
 * out of memory. */
struct server_rt *runtime_server_get(const char *pool, const char *server);
struct pool_rt *runtime_pool_get(const char *name);
struct listener_rt *runtime_listener_get(const char *name);
/* With the lock held: a reference to the rate limit of IDENTITY, made with
 * the rule's values (rate_limit_new()) when no generation has it. */
struct rate_limit_rt *runtime_rate_limit_get(const char *identity, uint64_t count,
					     uint64_t period_ns, uint64_t burst, uint32_t slots);
/* Drop a reference (takes the lock); the last one frees the table. */
void runtime_rate_limit_put(struct rate_limit_rt *rl);

/* RT's server left the configuration: its admin state, weight override and
 * passive failure window go back to what a new server has. */
void runtime_server_forget(struct server_rt *rt);

/* Open client connections of the listener named NAME (0 when unknown). */
unsigned runtime_listener_connections(const char *name);

/* Number of server ids handed out so far (for sizing per-worker tables). */
uint32_t runtime_server_count(void);

/* The upstream response times of every server the pool named NAME ever
 * had (servers removed by a reload included, so the sum never goes back). */
void runtime_pool_latency(const char *name, struct latency_snapshot *out);

/* Free every runtime entry; only at exit, once no worker runs. */
void runtime_shutdown(void);

static inline enum status_class status_class_of(int status)
{
	return status >= 100 && status <= 599 ? (enum status_class)(status / 100 - 1) :
						STATUS_OTHER;
}

static inline void counter_add(atomic_uint_fast64_t *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static inline void latency_observe(struct latency_hist *h, uint64_t us)
{
	unsigned i = 0;

	while (i < LATENCY_BOUNDS && us > latency_bounds_us[i])
		i++;
	counter_add(&h->bucket[i], 1);
	counter_add(&h->sum_us, us);
}

void latency_read(const struct latency_hist *h, struct latency_snapshot *out);
/* The server's histogram, its shards added up. */
void server_latency_read(const struct server_rt *s, struct latency_snapshot *out);

/* A client connection opened on L (HTTP or TCP). */
static inline void listener_rt_opened(struct listener_rt *l)
{
	atomic_fetch_add_explicit(&l->connections, 1, memory_order_relaxed);
	counter_add(&l->shard[runtime_shard].accepted, 1);
}

/* One answered HTTP request, counted where its access-log line is written
 * so that the counters and the log agree. POOL is NULL when no route
 * matched, SERVER when no server was tried; UPSTREAM_US is -1 when no
 * server answered. */
static inline void runtime_count_request(struct listener_rt *l, struct pool_rt *pool,
					 struct server_rt *server, int status, int64_t upstream_us,
					 uint64_t bytes_in, uint64_t bytes_out)
{
	enum status_class sc = status_class_of(status);
	unsigned k = runtime_shard;

	counter_add(&l->shard[k].answered[sc], 1);
	counter_add(&l->shard[k].bytes_in, bytes_in);
	counter_add(&l->shard[k].bytes_out, bytes_out);
	if (pool)
		counter_add(&pool->shard[k].answered[sc], 1);
	if (server) {
		counter_add(&server->shard[k].answered[sc], 1);
		if (upstream_us >= 0)
			latency_observe(&server->shard[k].latency, (uint64_t)upstream_us);
	}
}

/* On the request path (balancers): admin state allows and health says up. */
static inline bool server_rt_available(const struct server_rt *rt)
{
	return atomic_load_explicit(&rt->state, memory_order_relaxed) == SERVER_UP &&
	       health_rt_up(&rt->health);
}

#endif
