/* daemon.h — what the admin API and signals may ask of the running daemon.
 *
 * Every function here runs on the main thread (the one with the admin
 * socket and the signal events); worker threads never call them.
 */
#ifndef LBD_DAEMON_H
#define LBD_DAEMON_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

struct config;
struct daemon;
struct event_base;
struct server_rt;

struct reload_result {
	bool ok;
	uint64_t generation;  /* the generation serving after the reload */
	const char *errors;   /* when !ok: every error, one per line */
	const char *warnings; /* when ok: settings that wait for a restart,
			       * one per line; NULL: none */
};

/* Called on the main thread when a reload ends; RESULT lives only during
 * the call. */
typedef void (*reload_done_fn)(void *arg, const struct reload_result *result);

/* Re-read and validate the configuration file, then switch every worker to
 * the new generation. DONE runs once every worker serves it, or at once
 * when the file is rejected (nothing changes then). Returns 0, or -1 when
 * a reload or an upgrade is already under way or lbd is stopping (DONE is
 * not called). */
int daemon_reload(struct daemon *d, reload_done_fn done, void *arg);

struct upgrade_result {
	bool ok;
	long pid;            /* the new process (when ok) */
	uint64_t generation; /* the generation it serves (when ok) */
	const char *why;     /* when !ok: why the old process goes on serving */
};

/* Called on the main thread when an upgrade ends; RESULT lives only during
 * the call. */
typedef void (*upgrade_done_fn)(void *arg, const struct upgrade_result *result);

/* Start BINARY (NULL: lbd's own path) with lbd's arguments, hand it the
 * listening sockets and the runtime state, and once it serves, stop
 * accepting and drain (upgrade.c). DONE runs when the new process serves
 * or has failed (the old one then goes on serving). Returns 0, or -1 with
 * *WHY set when an upgrade or a reload is under way or lbd is stopping
 * (DONE is not called). */
int daemon_upgrade(struct daemon *d, const char *binary, upgrade_done_fn done, void *arg,
		   const char **why);

/* Set the runtime weight of the server RT of pool POOL (0 to
 * CONFIG_WEIGHT_MAX), or clear it with -1 to use the file's again; the
 * balancers use it from their next pick on, on every worker, without a
 * reload (overlay.c). Returns 0, or -1 when out of memory or POOL is not
 * in the newest configuration (nothing changed). */
int daemon_set_weight(struct daemon *d, const char *pool, struct server_rt *rt, int weight);

/* Servers added, changed and removed at run time (membership.h): the
 * admin API's calls on the daemon's membership. */
struct member_spec;
int daemon_member_add(struct daemon *d, const char *pool, const struct member_spec *spec, char *why,
		      size_t len);
int daemon_member_set(struct daemon *d, const char *pool, const struct member_spec *spec, char *why,
		      size_t len);
int daemon_member_remove(struct daemon *d, const char *pool, const char *name, char *why,
			 size_t len);

/* The newest configuration. No reference is taken: it stays valid on the
 * main thread until the next reload completes. */
const struct config *daemon_config(const struct daemon *d);

/* Configuration generations still alive (the newest, plus older ones that
 * requests in flight still hold). */
unsigned daemon_live_generations(void);

uint64_t daemon_uptime_s(const struct daemon *d);
bool daemon_stopping(const struct daemon *d);

/* Graceful stop, as SIGTERM does; WHY goes to the log. */
void daemon_stop(struct daemon *d, const char *why);

/* Client connections open on the listener named NAME, all workers. */
unsigned daemon_listener_connections(const struct daemon *d, const char *name);

/* Process-wide figures for GET /metrics. */
struct daemon_counters {
	uint64_t reloads_ok;
	uint64_t reloads_rejected;
	bool last_reload_ok; /* false from a rejected reload to the next good one */
	time_t started_at;
	unsigned connections; /* client connections, all listeners */
	unsigned max_connections;
	uint64_t access_log_dropped;
};

void daemon_counters(const struct daemon *d, struct daemon_counters *out);

/* Milliseconds since POOL's DNS discovery last had an answer, while its
 * resolver fails; 0 while fresh or without discovery. */
uint64_t daemon_discovery_stale_ms(const struct daemon *d, const char *pool);

struct event_base *daemon_base(struct daemon *d);

#endif
