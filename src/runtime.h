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
#include <stdint.h>

#include "health_state.h"

struct config;

/* The admin state (lbctl drain/disable/enable). Health is apart, in
 * struct health_rt: enable never overrides a failing check. */
enum server_state {
	SERVER_UP,
	SERVER_DOWN,
	SERVER_DRAINING,
	SERVER_DISABLED,
};

struct server_rt {
	uint32_t id;                 /* dense, for per-worker tables */
	char *pool_name;
	char *server_name;
	atomic_int state;            /* enum server_state */
	atomic_int active;           /* requests in flight, all workers */
	atomic_uint_fast64_t requests;
	atomic_uint_fast64_t failures;
	struct server_rt *next;      /* registry list */
	/* Weight set through the admin API (lbctl weight); -1: none. A new
	 * generation's server takes it instead of the file's weight. */
	atomic_int weight_override;
	struct health_rt health;     /* active and passive checks */
};

struct listener_rt {
	char *name;
	atomic_uint connections;      /* client connections open, all workers */
	struct listener_rt *next;
};

struct pool_rt {
	char *name;
	atomic_uint_fast64_t rr_next; /* round-robin position, all workers */
	struct pool_rt *next;
};

/* Bind every server and pool of CFG to its runtime state, creating state
 * for identities seen for the first time. Called before CFG is published.
 * Returns 0, or -1 when out of memory. */
int runtime_attach(struct config *cfg);

/* Open client connections of the listener named NAME (0 when unknown). */
unsigned runtime_listener_connections(const char *name);

/* Number of server ids handed out so far (for sizing per-worker tables). */
uint32_t runtime_server_count(void);

/* Free every runtime entry; only at exit, once no worker runs. */
void runtime_shutdown(void);

/* On the request path (balancers): admin state allows and health says up. */
static inline bool server_rt_available(const struct server_rt *rt)
{
	return atomic_load_explicit(&rt->state, memory_order_relaxed) == SERVER_UP &&
	       health_rt_up(&rt->health);
}

#endif
