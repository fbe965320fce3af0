/* lifecycle.c — the daemon from start to stop: start-up, the main loop,
 * signals, the graceful stop, and the read side of daemon.h.
 *
 * Start-up order: open the access log, bind the runtime state of the
 * configuration, bind every listener (so a port conflict exits 2 before
 * anything runs), start the admin API and drop privileges, start the
 * workers, then wait for signals on the main thread's own event loop.
 * Signal handlers do no work: libevent turns them into events. Switching
 * to a new generation is reload.c's.
 *
 * Stopping: from the first SIGTERM (or SIGINT, or POST /stop) /healthz
 * answers 503; lbd goes on accepting for global.shutdown_delay, then
 * stops accepting and drains for at most defaults.timeouts.drain.
 */
#include "build_config.h"

#include <event2/event.h>
#include <event2/thread.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "core/access_log.h"
#include "core/log.h"
#include "core/notify.h"
#include "core/rate_limit.h"
#include "core/runtime.h"
#include "daemon/admin.h"
#include "daemon/daemon.h"
#include "daemon/daemon_private.h"
#include "daemon/handover.h"
#include "daemon/health.h"
#include "daemon/lifecycle.h"
#include "daemon/membership.h"
#include "daemon/privs.h"
#include "daemon/slow_start.h"
#include "daemon/state_file.h"
#include "daemon/watch.h"
#include "discovery/discovery.h"
#include "event/event_mem.h"
#include "event/grace.h"
#include "event/worker.h"
#include "http2/http2.h"
#include "stream/tcp_proxy.h"
#include "tls/tls_tickets.h"

/* The protocols, by enum listener_protocol: a listening socket takes the
 * one of its listener. */
static const struct worker_protocol *const protocols[] = {
	[PROTO_HTTP] = &http2_protocol,
	[PROTO_TCP] = &tcp_protocol,
};

/* Workers leave their loops one by one; the main loop ends with the last. */
static void on_reap(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *l = arg;

	for (unsigned i = 0; i < l->started; i++)
		if (!worker_exited(&l->workers[i]))
			return;
	event_base_loopexit(l->base, NULL);
}

static void on_drain_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *l = arg;

	log_warn("drain timeout: closing the connections still open");
	for (unsigned i = 0; i < l->started; i++)
		worker_abort(&l->workers[i]);
}

/* Stop accepting and let what is in flight finish, within the drain
 * timeout. */
static void drain(struct daemon *l, const char *why, const char *verb, bool retire)
{
	struct timeval tv = { 0, 50 * 1000 };

	l->draining = true;
	event_del(l->delay_ev);
	log_info("%s: %s; in-flight requests may take up to %llu ms", why, verb,
		 (unsigned long long)l->cfg->timeouts.drain_ms);
	for (unsigned i = 0; i < l->started; i++)
		if (retire)
			worker_retire(&l->workers[i]);
		else
			worker_stop(&l->workers[i]);
	event_add(l->reap_ev, &tv);
	tv.tv_sec = (time_t)(l->cfg->timeouts.drain_ms / 1000);
	tv.tv_usec = (suseconds_t)(l->cfg->timeouts.drain_ms % 1000) * 1000;
	event_add(l->drain_ev, &tv);
}

void daemon_retire(struct daemon *d, const char *why)
{
	d->stopping = true;
	drain(d, why, "the new process serves; this one stops accepting and drains", true);
}

static void on_delay_over(evutil_socket_t fd, short what, void *arg)
{
	drain(arg, "shutdown_delay over", "draining", false);
}

/* From here on /healthz answers 503. With global.shutdown_delay (and
 * DELAY: not for a failed start-up), lbd goes on accepting that long, so
 * that load balancers and Kubernetes endpoints stop sending before the
 * listeners close; a second request to stop cuts the wait short. */
static void begin_stop(struct daemon *l, const char *why, bool delay)
{
	uint64_t ms = l->cfg->global.shutdown_delay_ms;

	daemon_upgrade_cancel(l); /* one lbd serves after a stop, never two */
	if (l->stopping) {
		if (!l->draining) {
			log_info("%s again: shutdown_delay cut short", why);
			drain(l, why, "draining", false);
		}
		return;
	}
	l->stopping = true;
	notify_stopping(why);
	if (!delay || ms == 0) {
		drain(l, why, "stopping", false);
		return;
	}
	log_info("%s: stopping; /healthz answers 503, connections still accepted for %llu ms "
		 "(global.shutdown_delay), then draining",
		 why, (unsigned long long)ms);
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };
	event_add(l->delay_ev, &tv);
}

/* --- daemon.h ------------------------------------------------------------ */

const struct config *daemon_config(const struct daemon *d)
{
	return d->cfg;
}

unsigned daemon_live_generations(void)
{
	return config_live_generations();
}

uint64_t daemon_uptime_s(const struct daemon *d)
{
	return (uint64_t)(time(NULL) - d->started_at);
}

bool daemon_stopping(const struct daemon *d)
{
	return d->stopping;
}

void daemon_stop(struct daemon *d, const char *why)
{
	begin_stop(d, why, true);
}

unsigned daemon_listener_connections(const struct daemon *d, const char *name)
{
	return runtime_listener_connections(name);
}

uint64_t daemon_discovery_stale_ms(const struct daemon *d, const char *pool)
{
	return discovery_pool_stale_ms(d->discovery, pool);
}

void daemon_counters(const struct daemon *d, struct daemon_counters *out)
{
	*out = (struct daemon_counters){
		.reloads_ok = d->reloads_ok,
		.reloads_rejected = d->reloads_rejected,
		.last_reload_ok = !d->last_reload_rejected,
		.started_at = d->started_at,
		.connections = atomic_load_explicit(&d->conns.open, memory_order_relaxed),
		.max_connections = atomic_load_explicit(&d->conns.max, memory_order_relaxed),
		.access_log_dropped = access_log_dropped(d->access_log),
	};
}

struct event_base *daemon_base(struct daemon *d)
{
	return d->base;
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *l = arg;
	char err[256];

	switch (sig) {
	case SIGTERM:
		begin_stop(l, "SIGTERM", true);
		break;
	case SIGINT:
		begin_stop(l, "SIGINT", true);
		break;
	case SIGUSR1:
		if (access_log_reopen(l->access_log, err, sizeof(err)) < 0)
			log_error("reopening the access log: %s", err);
		else
			log_info("SIGUSR1: access log reopened");
		break;
	case SIGHUP:
		if (daemon_reload(l, NULL, NULL) < 0)
			log_warn("SIGHUP: %s; ignored",
				 l->stopping ? "stopping" :
				 l->upgrade  ? "an upgrade is under way" :
					       "a reload is already under way");
		break;
	case SIGUSR2: {
		const char *why;
		log_info("SIGUSR2: upgrade requested");
		if (daemon_upgrade(l, NULL, NULL, NULL, &why) < 0)
			log_warn("SIGUSR2: %s; ignored", why);
		break;
	}
	}
}

/* --- started by an upgrade ------------------------------------------------- */

/* The old lbd's state of each server and pool, by identity. */
static void adopt_runtime(const struct handover_inherit *in)
{
	runtime_lock();
	for (size_t i = 0; i < in->nservers; i++) {
		const struct handover_server *s = &in->servers[i];
		struct server_rt *rt = runtime_server_get(s->pool, s->name);
		if (!rt)
			continue;
		atomic_store(&rt->state, s->state);
		atomic_store(&rt->weight_override, s->weight);
		atomic_store(&rt->health.checked, s->checked);
		atomic_store(&rt->health.down, s->down);
		atomic_store(&rt->health.ok_run, s->ok_run);
		atomic_store(&rt->health.fail_run, s->fail_run);
		atomic_store(&rt->health.passive_until_ms, s->passive_until_ms);
	}
	for (size_t i = 0; i < in->nchanged; i++) {
		const struct handover_changed *c = &in->changed[i];
		struct server_rt *rt = runtime_server_get(c->pool, c->name);
		if (rt)
			atomic_store(&rt->health.changed_ms, c->changed_ms);
	}
	for (size_t i = 0; i < in->nbudgets; i++) {
		struct pool_rt *rt = runtime_pool_get(in->budgets[i].pool);
		if (rt)
			retry_budget_restore(&rt->retry_budget, in->budgets[i].spent);
	}
	runtime_unlock();
}

/* Before the generation is published: the old lbd's sockets and runtime
 * state. Server state goes in by identity before the generation binds it,
 * so its balancers are built with the weights and flags as they were. */
static int inherit(struct daemon *l, uint64_t *generation)
{
	struct handover_inherit *in = calloc(1, sizeof(*in));
	char err[512];

	if (!in) {
		snprintf(l->start_error, sizeof(l->start_error), "out of memory");
		return -1;
	}
	l->inherit = in;
	if (handover_receive(l->upgrade_fd, l->cfg->global.workers, in, err, sizeof(err)) < 0) {
		snprintf(l->start_error, sizeof(l->start_error), "upgrade: %s", err);
		log_error("%s", l->start_error);
		return -1;
	}
	*generation = in->generation + 1;
	if (in->has_tickets && tls_tickets_adopt(in->tickets) < 0)
		log_warn("upgrade: cannot take the TLS ticket keys; sessions will not resume");
	adopt_runtime(in);
	log_info("upgrade: took over %zu listening address%s and the state of %zu server%s "
		 "from the old lbd",
		 in->binds.n, in->binds.n == 1 ? "" : "es", in->nservers,
		 in->nservers == 1 ? "" : "s");
	return 0;
}

/* The servers the old lbd's admin API added, when no state file brings
 * them back. */
static int adopt_members(struct daemon *l, char *err, size_t errlen)
{
	const struct handover_inherit *in = l->inherit;

	if (!in || !in->nmembers || l->cfg->global.state_file)
		return 0;
	struct state_entry *e = calloc(in->nmembers, sizeof(*e));
	if (!e) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < in->nmembers; i++)
		e[i] = (struct state_entry){ .pool = in->members[i].pool,
					     .name = in->members[i].name,
					     .address = in->members[i].address,
					     .weight = in->members[i].weight,
					     .backup = in->members[i].backup };
	int rc = membership_adopt(l->membership, e, in->nmembers, "upgrade", err, errlen);
	free(e);
	return rc;
}

/* Each pool that follows DNS starts from the old lbd's last answer. */
static int seed_discovery(struct daemon *l)
{
	const struct handover_inherit *in = l->inherit;
	struct discovered *m;
	const char *why;
	int rc = 0;

	if (!in || !in->nfound)
		return 0;
	m = calloc(in->nfound, sizeof(*m));
	if (!m)
		return -1;
	for (size_t i = 0; i < in->nfound && rc == 0; i++) {
		const char *pool = in->found[i].pool;
		size_t n = 0;
		if (i > 0 && strcmp(in->found[i - 1].pool, pool) == 0)
			continue; /* taken with the first of its pool */
		for (size_t k = i; k < in->nfound && strcmp(in->found[k].pool, pool) == 0; k++) {
			const struct handover_found *f = &in->found[k];
			snprintf(m[n].identity, sizeof(m[n].identity), "%s", f->identity);
			if (addr_parse(f->address, &m[n].addr, &why) == 0)
				n++;
		}
		rc = discovery_seed(l->discovery, pool, m, n);
	}
	free(m);
	return rc;
}

/* Each route's rate limit whose rule stays (the same identity) takes the
 * old table's seed and budgets, before any worker runs. */
static void adopt_rate_limits(struct daemon *l)
{
	const struct handover_inherit *in = l->inherit;
	size_t kept = 0;

	for (size_t i = 0; in && i < l->cfg->nlisteners; i++)
		for (size_t j = 0; j < l->cfg->listeners[i].nroutes; j++) {
			struct rate_limit_rt *rl = l->cfg->listeners[i].routes[j].limiter;
			uint64_t id = rl ? handover_rate_id(rl->identity) : 0;
			for (size_t k = 0; rl && k < in->nrates; k++) {
				const struct handover_rate *r = &in->rates[k];
				if (r->id != id)
					continue;
				rate_limit_adopt_seed(rl->table, r->seed);
				for (size_t s = 0; s < r->n; s++)
					kept += rate_limit_adopt_slot(rl->table, r->slots[s].index,
								      r->slots[s].tag,
								      r->slots[s].tat) == 0;
			}
		}
	if (kept)
		log_info("upgrade: took over the rate limit budgets of %zu client%s", kept,
			 kept == 1 ? "" : "s");
}

/* Each server's slow start goes on where the old lbd left it. */
static void resume_slow_starts(struct daemon *l)
{
	const struct handover_inherit *in = l->inherit;

	for (size_t i = 0; in && i < in->nramps; i++) {
		const struct handover_ramp *r = &in->ramps[i];
		runtime_lock();
		struct server_rt *rt = runtime_server_get(r->pool, r->name);
		runtime_unlock();
		if (rt)
			slow_start_resume(l->slow_start, rt, r->permille, r->since_ms);
	}
}

/* The old lbd's sockets not used (their addresses left the configuration)
 * close now; the admin ones were taken by admin_start. */
static void inherit_done(struct daemon *l)
{
	if (!l->inherit)
		return;
	handover_inherit_free(l->inherit);
	free(l->inherit);
	l->inherit = NULL;
}

/* lbd's own path, read now: a package upgrade replaces the file, and the
 * path (not the inode this process runs) names the new binary. */
static void resolve_exe(struct daemon *l, char *buf, size_t len)
{
	ssize_t n = readlink("/proc/self/exe", buf, len - 1);
	static const char deleted[] = " (deleted)";

	if (n <= 0) {
		snprintf(buf, len, "%s", l->argv && l->argv[0] ? l->argv[0] : "lbd");
		return;
	}
	buf[n] = '\0';
	if ((size_t)n > sizeof(deleted) - 1 &&
	    strcmp(buf + n - (sizeof(deleted) - 1), deleted) == 0)
		buf[n - (sizeof(deleted) - 1)] = '\0';
}

static int prepare(struct daemon *l)
{
	char err[512];

	log_set_level(l->cfg->global.log.level);
	l->access_log = access_log_open(l->cfg->global.log.access, l->cfg->global.log.format, err,
					sizeof(err));
	if (!l->access_log) {
		log_error("access log: %s", err);
		return LBD_EXIT_BAD_CONFIG;
	}
	uint64_t generation = 1;
	if (l->upgrade_fd >= 0 && inherit(l, &generation) < 0)
		return LBD_EXIT_RUNTIME;
	if (daemon_prepare(NULL, l->cfg, generation) < 0) {
		log_error("out of memory");
		return LBD_EXIT_RUNTIME;
	}
	adopt_rate_limits(l);
	atomic_store(&l->conns.max, l->cfg->global.max_connections);
	l->nworkers = l->cfg->global.workers;
	l->workers = calloc(l->nworkers, sizeof(*l->workers));
	/* The main loop comes first: the workers are readers of its grace. */
	l->base = event_base_new();
	if (!l->workers || !l->base || !(l->grace = grace_new(l->base, l->nworkers))) {
		log_error("cannot create the main event loop");
		return LBD_EXIT_RUNTIME;
	}
	struct worker_env env = {
		.protocols = protocols,
		.nprotocols = sizeof(protocols) / sizeof(protocols[0]),
		.conns = &l->conns,
		.access_log = l->access_log,
		.adoption = &l->adoption,
		.grace = l->grace,
	};
	for (unsigned i = 0; i < l->nworkers; i++)
		if (worker_init(&l->workers[i], i, &env, l->cfg) < 0) {
			log_error("worker %u: cannot create its event loop", i);
			return LBD_EXIT_RUNTIME;
		}
	if (daemon_open_listeners(l) < 0)
		return LBD_EXIT_RUNTIME;
	return 0;
}

/* The admin sockets are bound like listeners, before privileges are
 * dropped; the socket file goes to the daemon's group first. */
static int start_admin_and_drop_privileges(struct daemon *l)
{
	struct privs p;
	char err[512];

	if (privs_lookup(&l->cfg->global, &p, err, sizeof(err)) < 0) {
		log_error("%s", err);
		return -1;
	}
	l->admin = admin_start(l, l->cfg, l->inherit, err, sizeof(err));
	inherit_done(l);
	if (!l->admin) {
		log_error("%s", err);
		snprintf(l->start_error, sizeof(l->start_error), "%s", err);
		return -1;
	}
	if (p.change && (admin_chown(l->admin, p.gid, err, sizeof(err)) < 0 ||
			 privs_drop(&p, err, sizeof(err)) < 0)) {
		log_error("dropping privileges: %s", err);
		return -1;
	}
	if (p.change)
		log_info("running as uid %u, gid %u", (unsigned)p.uid, (unsigned)p.gid);
	return 0;
}

static void warn_in_log(void *arg, const char *msg)
{
	log_warn("%s", msg);
}

static int run(struct daemon *l, const sigset_t *control)
{
	static const int signals[] = { SIGTERM, SIGINT, SIGUSR1, SIGHUP, SIGUSR2 };
	struct event *sig_ev[sizeof(signals) / sizeof(signals[0])] = { 0 };
	int rc = 0;

	l->started_at = time(NULL);
	if (daemon_reload_init(l) < 0) {
		log_error("cannot create the main event loop");
		return LBD_EXIT_RUNTIME;
	}
	config_unresolved_servers(l->cfg, warn_in_log, NULL);
	l->health = health_new(l->base);
	if (!l->health || health_apply(l->health, l->cfg) < 0) {
		log_error("cannot start the health checks: out of memory");
		return LBD_EXIT_RUNTIME;
	}
	l->slow_start = slow_start_new(l);
	if (!l->slow_start || slow_start_apply(l->slow_start, l->cfg) < 0) {
		log_error("cannot start slow start: out of memory");
		return LBD_EXIT_RUNTIME;
	}
	/* The servers added at run time before a restart join before the
	 * workers serve: a state file that cannot be read stops the start,
	 * rather than lbd serving without them and then writing over it. */
	char err[512];
	l->membership = membership_new(l);
	if (!l->membership) {
		log_error("cannot start the runtime membership: out of memory");
		return LBD_EXIT_RUNTIME;
	}
	if (l->cfg->global.state_file &&
	    membership_load(l->membership, l->cfg->global.state_file, err, sizeof(err)) < 0) {
		log_error("%s", err);
		return LBD_EXIT_BAD_CONFIG;
	}
	if (adopt_members(l, err, sizeof(err)) < 0) {
		log_error("%s", err);
		return LBD_EXIT_RUNTIME;
	}
	if (membership_apply(l->membership, l->cfg, NULL) < 0) {
		log_error("cannot publish the servers added at run time: out of memory");
		return LBD_EXIT_RUNTIME;
	}
	/* lbd serves while discovery has not answered yet: a pool of found
	 * servers only answers 503 until its first answer. */
	l->discovery = discovery_new(l->base, &membership_discovery_ops, l->membership);
	if (!l->discovery || discovery_follow(l->discovery, l->cfg) < 0 || seed_discovery(l) < 0) {
		log_error("cannot start discovery: out of memory");
		return LBD_EXIT_RUNTIME;
	}
	/* The servers added at run time (state file, upgrade) joined after
	 * the checks and slow start first looked: both follow them now. */
	if (health_apply(l->health, l->cfg) < 0 || slow_start_apply(l->slow_start, l->cfg) < 0) {
		log_error("cannot watch the servers added at run time: out of memory");
		return LBD_EXIT_RUNTIME;
	}
	resume_slow_starts(l);
	l->watch = watch_new(l);
	if (!l->watch) {
		log_error("cannot start watch_config: out of memory");
		return LBD_EXIT_RUNTIME;
	}
	watch_apply(l->watch, l->cfg);
	l->drain_ev = evtimer_new(l->base, on_drain_timeout, l);
	l->delay_ev = evtimer_new(l->base, on_delay_over, l);
	l->reap_ev = event_new(l->base, -1, EV_PERSIST, on_reap, l);
	for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++) {
		sig_ev[i] = evsignal_new(l->base, signals[i], on_signal, l);
		evsignal_add(sig_ev[i], NULL);
	}
	if (start_admin_and_drop_privileges(l) < 0)
		rc = LBD_EXIT_RUNTIME;
	for (; rc == 0 && l->started < l->nworkers; l->started++)
		if (worker_start(&l->workers[l->started]) < 0) {
			log_error("cannot start worker thread %u", l->started);
			begin_stop(l, "start-up failure", false);
			rc = LBD_EXIT_RUNTIME;
			break;
		}
	pthread_sigmask(SIG_UNBLOCK, control, NULL);
	if (rc == 0) {
		log_info("lbd %s serving with %u worker%s, configuration %s", PACKAGE_VERSION,
			 l->nworkers, l->nworkers == 1 ? "" : "s", l->cfg->path);
		/* After an upgrade the old lbd, still systemd's main process,
		 * says READY for this one (upgrade.c). */
		if (l->upgrade_fd >= 0) {
			handover_ready(l->upgrade_fd);
			close(l->upgrade_fd);
			l->upgrade_fd = -1;
		} else {
			notify_ready((unsigned long long)l->cfg->generation);
		}
	}
	if (l->started > 0)
		event_base_dispatch(l->base);
	for (unsigned i = 0; i < l->started; i++)
		worker_join(&l->workers[i]);
	for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
		if (sig_ev[i])
			event_free(sig_ev[i]);
	return rc;
}

static void cleanup(struct daemon *l)
{
	for (unsigned i = 0; l->workers && i < l->nworkers; i++)
		worker_free(&l->workers[i]);
	free(l->workers);
	grace_free(l->grace); /* no worker reads any more */
	admin_free(l->admin);
	health_free(l->health);
	slow_start_free(l->slow_start);
	discovery_free(l->discovery); /* before the membership it tells */
	membership_free(l->membership);
	watch_free(l->watch);
	daemon_upgrade_cancel(l);
	inherit_done(l);
	binds_release(&l->binds);
	daemon_reload_cleanup(l);
	if (l->drain_ev)
		event_free(l->drain_ev);
	if (l->reap_ev)
		event_free(l->reap_ev);
	if (l->delay_ev)
		event_free(l->delay_ev);
	if (l->base)
		event_base_free(l->base);
	if (l->access_log)
		access_log_close(l->access_log);
	if (l->cfg)
		config_unref(l->cfg);
	runtime_shutdown();
	libevent_global_shutdown();
}

int daemon_main(const char *path, struct config *cfg, const struct daemon_start *start)
{
	struct daemon l = {
		.path = path,
		.cfg = cfg,
		.argv = start->argv,
		.upgrade_fd = start->upgrade_fd,
	};
	char exe[4096];

	resolve_exe(&l, exe, sizeof(exe));
	l.exe = exe;

	signal(SIGPIPE, SIG_IGN);
	event_mem_init();
	if (evthread_use_pthreads() < 0) {
		log_error("libevent has no thread support");
		config_unref(l.cfg);
		return LBD_EXIT_RUNTIME;
	}
	/* The control signals wait (blocked) until their events exist: a TERM
	 * that arrives while the listeners are being bound then stops lbd
	 * gracefully instead of killing it. Worker threads are created with
	 * them blocked, so only the main thread ever receives them. */
	sigset_t control;
	sigemptyset(&control);
	sigaddset(&control, SIGTERM);
	sigaddset(&control, SIGINT);
	sigaddset(&control, SIGHUP);
	sigaddset(&control, SIGUSR1);
	sigaddset(&control, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &control, NULL);
	int rc = prepare(&l);
	if (rc == 0)
		rc = run(&l, &control);
	if (l.upgrade_fd >= 0) {
		char why[sizeof(l.start_error)];
		snprintf(why, sizeof(why), "%s",
			 l.start_error[0] ? l.start_error :
					    "it could not start (its log says why)");
		handover_failed(l.upgrade_fd, why);
		close(l.upgrade_fd);
	}
	cleanup(&l);
	event_mem_release();
	if (rc == 0)
		log_info("stopped");
	return rc;
}
