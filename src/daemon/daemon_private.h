/* daemon_private.h — the daemon's state, shared by lifecycle.c (start-up,
 * signals, stop) and reload.c (new generations). Nothing else includes it:
 * the rest of lbd sees daemon.h. */
#ifndef LBD_DAEMON_PRIVATE_H
#define LBD_DAEMON_PRIVATE_H

#include <stdbool.h>
#include <time.h>

#include "daemon/daemon.h"
#include "event/binds.h"
#include "event/worker.h"
#include "util/strbuf.h"

struct handover_inherit;
struct upgrade;

struct daemon {
	const char *path;  /* the configuration file */
	char *const *argv; /* lbd's arguments, for the upgrade's new process */
	const char *exe;   /* lbd's own path, resolved at start-up */
	int upgrade_fd;    /* started by an upgrade: the pair to the old lbd, else -1 */
	struct handover_inherit *inherit; /* what the old lbd handed over, until used */
	struct upgrade *upgrade;          /* an upgrade under way (upgrade.c) */
	char start_error[640];            /* why start-up failed, for the old lbd */
	struct config *cfg;               /* the newest generation; one reference */
	struct conn_limit conns;          /* client connections, all workers */
	struct access_log *access_log;
	struct worker_adoption adoption; /* a reload's handshake with the workers */
	struct worker *workers;
	unsigned nworkers;
	unsigned started;
	struct bind_table binds; /* the sockets of the newest generation */
	struct event_base *base;
	struct event *drain_ev;
	struct event *reap_ev;
	struct event *delay_ev; /* the end of global.shutdown_delay */
	bool stopping;          /* from the first SIGTERM on: /healthz answers 503 */
	bool draining;          /* the workers stopped accepting */
	time_t started_at;

	/* A reload under way: the generation the workers are adopting, the
	 * sockets it retires, and whom to tell. */
	struct config *pending;
	struct bind_table retired;
	reload_done_fn reload_done;
	void *reload_arg;
	struct timespec reload_started;
	struct strbuf reload_warnings; /* settings it could not apply, one per line */
	uint64_t reloads_ok;           /* reloads that ended, by outcome */
	uint64_t reloads_rejected;
	bool last_reload_rejected;

	struct grace *grace;           /* frees what workers may still read (overlay.c) */
	struct slow_start *slow_start; /* pools[].slow_start (slow_start.c) */
	struct membership *membership; /* servers added at run time (membership.c) */
	struct discovery *discovery;   /* pools that follow DNS (discovery/discovery.c) */
	struct admin *admin;           /* the admin API (admin.c) */
	struct health *health;         /* active checks (health.c), on base */
	struct watch *watch;           /* global.watch_config (watch.c) */
};

/* Bind the runtime state and build the balancers of CFG, which follows OLD
 * (NULL at start-up), and publish it as generation GENERATION. Returns 0
 * or -1 (out of memory). */
int daemon_prepare(const struct config *old, struct config *cfg, uint64_t generation);

/* Rebuild the balancing data of the pool named POOL in the newest
 * generation (and in one being adopted), after a server's weight or share
 * changed; the old data is freed after the grace period (overlay.c).
 * Returns 0, or -1 when out of memory. */
int daemon_rebuild_pool(struct daemon *d, const char *pool);

/* Open the listening sockets of d->cfg and give each worker its share
 * (start-up). Returns 0, or -1 after logging which bind failed. */
int daemon_open_listeners(struct daemon *d);

/* Stop accepting and drain, the new process of an upgrade serving:
 * /healthz of this one answers 503, no shutdown_delay (lifecycle.c). */
void daemon_retire(struct daemon *d, const char *why);

/* Stop an upgrade under way: its new process is killed (upgrade.c). */
void daemon_upgrade_cancel(struct daemon *d);

/* Start-up of reloading: the event workers activate when they adopted a
 * generation. Returns 0 or -1. */
int daemon_reload_init(struct daemon *d);
void daemon_reload_cleanup(struct daemon *d);

#endif
