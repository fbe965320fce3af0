/* discovery.h — the pools that follow DNS (pools[].discovery) and the
 * servers of the file written as host:port: one lookup timer a name on the
 * main loop, the answers turned into members by the rules of members.h,
 * and every change told to the owner (the daemon's membership), which
 * publishes it (discovery.c). */
#ifndef LBD_DISCOVERY_H
#define LBD_DISCOVERY_H

#include <stdint.h>

#include "discovery/members.h"
#include "util/addr.h"

struct config;
struct discovery;
struct event_base;

/* What discovery tells its owner, on the main thread. IDENTITY is the
 * member's name ("target:port" for SRV, "ip:port" for A/AAAA). */
struct discovery_ops {
	void (*added)(void *arg, const char *pool, const char *identity,
		      const struct lbd_addr *addr);
	void (*moved)(void *arg, const char *pool, const char *identity,
		      const struct lbd_addr *addr);
	void (*removed)(void *arg, const char *pool, const char *identity);
	/* SERVER, a server of POOL's file written as host:port, is at ADDR
	 * (numeric): its name's first answer, then each move. The server
	 * stays the file's; an answer without an address, or a failing
	 * resolver, says nothing. */
	void (*resolved)(void *arg, const char *pool, const char *server,
			 const struct lbd_addr *addr);
};

struct discovery *discovery_new(struct event_base *base, const struct discovery_ops *ops,
				void *arg);

/* Stops every lookup; tells nothing more. */
void discovery_free(struct discovery *d);

/* CFG is the newest generation: its pools with discovery are followed,
 * and so are the servers of its file whose host names lbd follows
 * (config_server_followed()). Those ask the resolvers[] entry named
 * RESOLVER_DEFAULT, else the system's, as do pools that name no resolver;
 * as often as their TTL says, at most every DISCOVERY_REFRESH_DEFAULT_MS.
 * A pool whose discovery settings stay keeps its members, its state and its
 * schedule; one that no longer discovers sees its members removed; a
 * server whose address is written as before keeps its schedule. A name's
 * first lookup starts at once. Returns 0, or -1 when out of memory (said
 * in the log; the names followed before are followed still). */
int discovery_follow(struct discovery *d, const struct config *cfg);

/* Milliseconds since POOL's resolver last answered, while it fails now
 * (lbd_discovery_stale_seconds; before a first answer, since the first
 * failure); 0 while its answers are fresh or for a pool that does not
 * discover. */
uint64_t discovery_pool_stale_ms(const struct discovery *d, const char *pool);

/* Each member of each pool's discovery (not the servers of the file it
 * resolves), for a binary upgrade to carry over. */
typedef void discovery_each_fn(void *arg, const char *pool, const struct discovered *m);
void discovery_each(const struct discovery *d, discovery_each_fn *fn, void *arg);

/* After a binary upgrade: POOL's discovery starts from the N members M
 * the old process had, as if their answer had come again (each is told as
 * added), so that the pool serves until this process's first answer,
 * which is then applied to them by the usual rules. A pool that does not
 * discover, or has had an answer already, is left alone. Returns 0, or -1
 * when out of memory. */
int discovery_seed(struct discovery *d, const char *pool, const struct discovered *m, size_t n);

#endif
