/* metrics.c — lbd's metric families, in the order a reader wants them:
 * the process, listeners, pools, servers. Every family is written whole
 * (header, then every series) so that HELP and TYPE precede its samples.
 *
 * Status classes appear as the label code="1xx" .. "5xx" (and "other"),
 * the way HAProxy's exporter names them. A request counts once on each
 * level it reached: its listener always, its pool when a route matched,
 * its server when one was tried (the server its access-log line names).
 */
#include "daemon/metrics.h"
#include "build_config.h"

#include <stdio.h>
#include <string.h>

#include "balance/balance.h"
#include "core/rate_limit.h"
#include "core/runtime.h"
#include "daemon/admin_proto.h"
#include "daemon/health.h"
#include "util/prom.h"

static void gauge1(struct strbuf *sb, const char *name, const char *help, uint64_t v)
{
	prom_family(sb, name, PROM_GAUGE, help);
	prom_sample(sb, name, NULL, 0, v);
}

static void write_process(struct strbuf *sb, const struct metrics_info *info)
{
	const struct daemon_counters *d = &info->daemon;
	const struct prom_label version = { "version", PACKAGE_VERSION };
	struct prom_label result = { "result", "ok" };
	uint64_t started = d->started_at > 0 ? (uint64_t)d->started_at : 0;

	prom_family(sb, "lbd_build_info", PROM_GAUGE, "lbd's version, as a label; always 1.");
	prom_sample(sb, "lbd_build_info", &version, 1, 1);
	gauge1(sb, "lbd_start_time_seconds", "When lbd started, in seconds since the Unix epoch.",
	       started);
	gauge1(sb, "lbd_uptime_seconds", "Seconds since lbd started.",
	       info->now > started ? info->now - started : 0);
	gauge1(sb, "lbd_config_generation",
	       "Generation of the configuration serving new requests (1 at start, +1 per "
	       "successful reload).",
	       info->generation);
	gauge1(sb, "lbd_config_live_generations",
	       "Configuration generations still in memory: the newest, and older ones that "
	       "requests in flight hold.",
	       info->live_generations);
	gauge1(sb, "lbd_config_last_reload_successful", "1 unless the last reload was rejected.",
	       d->last_reload_ok);
	prom_family(sb, "lbd_reloads_total", PROM_COUNTER,
		    "Reloads (SIGHUP, lbctl reload) by result: ok, or rejected "
		    "(the file was invalid; the running configuration stayed).");
	prom_sample(sb, "lbd_reloads_total", &result, 1, d->reloads_ok);
	result.value = "rejected";
	prom_sample(sb, "lbd_reloads_total", &result, 1, d->reloads_rejected);
	gauge1(sb, "lbd_connections", "Client connections open, all listeners together.",
	       d->connections);
	gauge1(sb, "lbd_connections_max", "global.max_connections.", d->max_connections);
	prom_family(sb, "lbd_access_log_dropped_lines_total", PROM_COUNTER,
		    "Access-log lines lost because a write failed or memory ran out.");
	prom_sample(sb, "lbd_access_log_dropped_lines_total", NULL, 0, d->access_log_dropped);
}

/* One series per status class: LABELS (at most 2) plus code. */
static void write_codes(struct strbuf *sb, const struct prom_label *labels, size_t nlabels,
			const char *name, const atomic_uint_fast64_t *answered, size_t stride)
{
	struct prom_label l[3];

	for (size_t i = 0; i < nlabels; i++)
		l[i] = labels[i];
	l[nlabels].name = "code";
	for (unsigned c = 0; c < STATUS_CLASSES; c++) {
		l[nlabels].value = status_class_names[c];
		prom_sample(sb, name, l, nlabels + 1, runtime_sum(&answered[c], stride));
	}
}

static uint64_t listener_open(const struct listener_rt *rt)
{
	return atomic_load_explicit(&rt->connections, memory_order_relaxed);
}

static uint64_t listener_accepted(const struct listener_rt *rt)
{
	return RUNTIME_SUM(rt->shard, accepted);
}

static uint64_t listener_bytes_in(const struct listener_rt *rt)
{
	return RUNTIME_SUM(rt->shard, bytes_in);
}

static uint64_t listener_bytes_out(const struct listener_rt *rt)
{
	return RUNTIME_SUM(rt->shard, bytes_out);
}

static uint64_t listener_h2_connections(const struct listener_rt *rt)
{
	return atomic_load_explicit(&rt->h2_connections, memory_order_relaxed);
}

static uint64_t listener_compressed(const struct listener_rt *rt)
{
	return atomic_load_explicit(&rt->compressed, memory_order_relaxed);
}

static uint64_t listener_compressed_in(const struct listener_rt *rt)
{
	return atomic_load_explicit(&rt->compressed_in, memory_order_relaxed);
}

static uint64_t listener_compressed_out(const struct listener_rt *rt)
{
	return atomic_load_explicit(&rt->compressed_out, memory_order_relaxed);
}

static uint64_t listener_h2_streams(const struct listener_rt *rt)
{
	return atomic_load_explicit(&rt->h2_streams, memory_order_relaxed);
}

/* HTTP/2 connections lbd ended for abuse, one series per reason. */
static void write_h2_abuse(struct strbuf *sb, const struct config *cfg)
{
	static const char name[] = "lbd_listener_http2_abuse_total";

	prom_family(sb, name, PROM_COUNTER,
		    "HTTP/2 connections lbd ended with GOAWAY because the client abused them, by "
		    "reason: rapid_reset, continuation, flood (SETTINGS, PING), streams, "
		    "zero_window, glitches (refused, reset or malformed streams), protocol.");
	for (size_t i = 0; i < cfg->nlisteners; i++) {
		const struct listener_conf *lc = &cfg->listeners[i];
		if (lc->protocol != PROTO_HTTP)
			continue;
		for (unsigned k = 0; k < H2_ABUSE_KINDS; k++) {
			struct prom_label l[2] = { { "listener", lc->name },
						   { "reason", h2_abuse_names[k] } };
			prom_sample(sb, name, l, 2,
				    atomic_load_explicit(&lc->rt->h2_abuse[k],
							 memory_order_relaxed));
		}
	}
}

/* Requests refused by a route's rate limit. Routes have no names: a
 * route is its place in the listener's list, from 0. The count lives with
 * the rule's table, so it goes on across reloads that keep the rule. */
static void write_rate_limited(struct strbuf *sb, const struct config *cfg)
{
	static const char name[] = "lbd_route_rate_limited_total";

	prom_family(sb, name, PROM_COUNTER,
		    "Requests answered 429 by a route's rate_limit; route is the route's index "
		    "in the listener's routes, from 0.");
	for (size_t i = 0; i < cfg->nlisteners; i++) {
		const struct listener_conf *lc = &cfg->listeners[i];
		for (size_t j = 0; j < lc->nroutes; j++) {
			const struct rate_limit_rt *r = lc->routes[j].limiter;
			char index[24];
			if (!r)
				continue;
			snprintf(index, sizeof(index), "%zu", j);
			struct prom_label l[2] = { { "listener", lc->name }, { "route", index } };
			prom_sample(sb, name, l, 2,
				    atomic_load_explicit(&r->table->limited, memory_order_relaxed));
		}
	}
}

static void write_listeners(struct strbuf *sb, const struct config *cfg)
{
	static const struct {
		const char *name, *help;
		enum prom_type type;
		uint64_t (*value)(const struct listener_rt *rt); /* NULL: by status */
	} fams[] = {
		{ "lbd_listener_connections", "Client connections open on the listener.",
		  PROM_GAUGE, listener_open },
		{ "lbd_listener_connections_accepted_total",
		  "Client connections the listener accepted.", PROM_COUNTER, listener_accepted },
		{ "lbd_listener_requests_total",
		  "HTTP requests answered on the listener, by status class (lbd's own error "
		  "answers included).",
		  PROM_COUNTER, NULL },
		{ "lbd_listener_received_bytes_total",
		  "Bytes received from clients: HTTP requests, head and body, counted when "
		  "answered; TCP connections when they end.",
		  PROM_COUNTER, listener_bytes_in },
		{ "lbd_listener_sent_bytes_total",
		  "Bytes sent to clients: HTTP responses, head and body; TCP connections when "
		  "they end.",
		  PROM_COUNTER, listener_bytes_out },
		{ "lbd_listener_http2_connections_total",
		  "Client connections that spoke HTTP/2 (ALPN h2, or the h2c preface).",
		  PROM_COUNTER, listener_h2_connections },
		{ "lbd_listener_http2_requests_total",
		  "HTTP/2 requests (streams) answered on the listener; they are counted in "
		  "lbd_listener_requests_total too.",
		  PROM_COUNTER, listener_h2_streams },
		{ "lbd_listener_compressed_responses_total",
		  "Responses gzipped on the listener (listeners[].compression), counted when "
		  "their body ends.",
		  PROM_COUNTER, listener_compressed },
		{ "lbd_listener_compression_in_bytes_total",
		  "Body bytes of the gzipped responses before compression.", PROM_COUNTER,
		  listener_compressed_in },
		{ "lbd_listener_compression_out_bytes_total",
		  "Body bytes of the gzipped responses after compression.", PROM_COUNTER,
		  listener_compressed_out },
	};

	for (size_t f = 0; f < sizeof(fams) / sizeof(fams[0]); f++) {
		prom_family(sb, fams[f].name, fams[f].type, fams[f].help);
		for (size_t i = 0; i < cfg->nlisteners; i++) {
			const struct listener_conf *lc = &cfg->listeners[i];
			struct prom_label l = { "listener", lc->name };
			if (fams[f].value)
				prom_sample(sb, fams[f].name, &l, 1, fams[f].value(lc->rt));
			else if (lc->protocol == PROTO_HTTP)
				write_codes(sb, &l, 1, fams[f].name, lc->rt->shard[0].answered,
					    sizeof(lc->rt->shard[0]));
		}
	}
	write_h2_abuse(sb, cfg);
	write_rate_limited(sb, cfg);
}

/* pools[].queue: written for every pool (a pool without
 * max_requests_per_server has an empty queue), so that a dashboard's
 * series do not appear and vanish with a reload. */
static void write_pool_queues(struct strbuf *sb, const struct config *cfg)
{
	prom_family(sb, "lbd_pool_queue_length", PROM_GAUGE,
		    "Requests waiting in the pool's queue for a server slot "
		    "(max_requests_per_server), every worker.");
	for (size_t i = 0; i < cfg->npools; i++) {
		struct prom_label l = { "pool", cfg->pools[i].name };
		prom_sample(sb, "lbd_pool_queue_length", &l, 1,
			    atomic_load(&cfg->pools[i].rt->queue.length));
	}
	prom_family(sb, "lbd_pool_queue_wait_seconds", PROM_HISTOGRAM,
		    "Time requests spent in the pool's queue, however they left it (a slot, "
		    "queue.timeout, or their client going away).");
	for (size_t i = 0; i < cfg->npools; i++) {
		struct prom_label l = { "pool", cfg->pools[i].name };
		struct latency_snapshot snap;
		latency_read(&cfg->pools[i].rt->queue_wait, &snap);
		prom_histogram(sb, "lbd_pool_queue_wait_seconds", &l, 1, latency_bounds_us,
			       LATENCY_BOUNDS, snap.bucket, snap.sum_us);
	}
	prom_family(sb, "lbd_pool_queue_rejected_total", PROM_COUNTER,
		    "Requests answered 503 by the pool's queue, by reason: queue_full (every slot "
		    "taken and queue.size waiting), queue_timeout (waited queue.timeout).");
	for (size_t i = 0; i < cfg->npools; i++)
		for (unsigned k = 0; k < QUEUE_REJECT_KINDS; k++) {
			struct prom_label l[2] = { { "pool", cfg->pools[i].name },
						   { "reason", queue_reject_names[k] } };
			prom_sample(sb, "lbd_pool_queue_rejected_total", l, 2,
				    atomic_load_explicit(&cfg->pools[i].rt->queue.rejected[k],
							 memory_order_relaxed));
		}
}

/* Retries by why, and retries by status the budget refused. */
static void write_pool_retries(struct strbuf *sb, const struct config *cfg)
{
	static const char retries[] = "lbd_pool_retries_total";
	static const char exhausted[] = "lbd_pool_retry_budget_exhausted_total";

	prom_family(sb, retries, PROM_COUNTER,
		    "Requests sent to another server of the pool: after a failed connect "
		    "(connect_failure), or under a route's retry_on after a listed status "
		    "(status), a close before any answer (reset) or timeouts.server (timeout).");
	for (size_t i = 0; i < cfg->npools; i++) {
		const struct pool_rt *rt = cfg->pools[i].rt;
		for (int r = 0; r < RETRY_REASONS; r++) {
			struct prom_label l[2] = { { "pool", cfg->pools[i].name },
						   { "reason", retry_reason_names[r] } };
			prom_sample(sb, retries, l, 2,
				    atomic_load_explicit(&rt->retries[r], memory_order_relaxed));
		}
	}
	prom_family(sb, exhausted, PROM_COUNTER,
		    "Retries under retry_on that the pool's retry_budget refused: the server's "
		    "answer went to the client.");
	for (size_t i = 0; i < cfg->npools; i++) {
		struct prom_label l = { "pool", cfg->pools[i].name };
		prom_sample(sb, exhausted, &l, 1,
			    atomic_load_explicit(&cfg->pools[i].rt->retry_budget_exhausted,
						 memory_order_relaxed));
	}
}

static void write_pools(struct strbuf *sb, const struct config *cfg)
{
	prom_family(sb, "lbd_pool_requests_total", PROM_COUNTER,
		    "HTTP requests routed to the pool, by status class (503 when no server was "
		    "available included).");
	for (size_t i = 0; i < cfg->npools; i++) {
		struct prom_label l = { "pool", cfg->pools[i].name };
		write_codes(sb, &l, 1, "lbd_pool_requests_total",
			    cfg->pools[i].rt->shard[0].answered,
			    sizeof(cfg->pools[i].rt->shard[0]));
	}
	prom_family(sb, "lbd_pool_servers_up", PROM_GAUGE,
		    "Servers of the pool in state up (taking new requests).");
	for (size_t i = 0; i < cfg->npools; i++) {
		struct prom_label l = { "pool", cfg->pools[i].name };
		const struct pool_members *m = balance_members(&cfg->pools[i]);
		uint64_t up = 0;
		for (size_t j = 0; m && j < m->n; j++)
			up += !m->servers[j]->leaving && !m->servers[j]->unresolved &&
			      server_rt_available(m->servers[j]->rt);
		prom_sample(sb, "lbd_pool_servers_up", &l, 1, up);
	}
	prom_family(sb, "lbd_pool_upstream_response_seconds", PROM_HISTOGRAM,
		    "Time from sending a request to a server of the pool (a new connection's "
		    "connect included) to the first byte of its response.");
	for (size_t i = 0; i < cfg->npools; i++) {
		struct prom_label l = { "pool", cfg->pools[i].name };
		struct latency_snapshot snap;
		runtime_pool_latency(cfg->pools[i].name, &snap);
		prom_histogram(sb, "lbd_pool_upstream_response_seconds", &l, 1, latency_bounds_us,
			       LATENCY_BOUNDS, snap.bucket, snap.sum_us);
	}
	write_pool_queues(sb, cfg);
	write_pool_retries(sb, cfg);
}

/* Writes the series of family NAME for server S, labelled L (pool, server). */
typedef void server_series_fn(struct strbuf *sb, const char *name, const struct prom_label *l,
			      const struct server_conf *s);

static void server_family(struct strbuf *sb, const struct config *cfg, const char *name,
			  enum prom_type type, const char *help, server_series_fn *fn)
{
	prom_family(sb, name, type, help);
	for (size_t p = 0; p < cfg->npools; p++) {
		const struct pool_members *m = balance_members(&cfg->pools[p]);
		for (size_t i = 0; m && i < m->n; i++) {
			const struct server_conf *s = m->servers[i];
			const struct prom_label l[2] = { { "pool", cfg->pools[p].name },
							 { "server", s->name } };
			fn(sb, name, l, s);
		}
	}
}

/* One series per value of VALUES under the label "state", 1 for NOW. */
static void state_series(struct strbuf *sb, const char *name, const struct prom_label *l,
			 const char *const *values, size_t n, const char *now)
{
	struct prom_label ls[3] = { l[0], l[1], { "state", NULL } };

	for (size_t k = 0; k < n; k++) {
		ls[2].value = values[k];
		prom_sample(sb, name, ls, 3, strcmp(now, values[k]) == 0);
	}
}

static int server_state(const struct server_conf *s)
{
	return atomic_load_explicit(&s->rt->state, memory_order_relaxed);
}

static void series_up(struct strbuf *sb, const char *name, const struct prom_label *l,
		      const struct server_conf *s)
{
	prom_sample(sb, name, l, 2, !s->unresolved && server_rt_available(s->rt));
}

static void series_state(struct strbuf *sb, const char *name, const struct prom_label *l,
			 const struct server_conf *s)
{
	static const char *const states[] = { "up", "down", "draining", "disabled" };

	int now = server_state(s);

	/* As /status shows it: an enabled server that health took out is down. */
	if (now == SERVER_UP && !health_rt_up(&s->rt->health))
		now = SERVER_DOWN;
	state_series(sb, name, l, states, 4, admin_server_state_name(now));
}

static void series_admin_state(struct strbuf *sb, const char *name, const struct prom_label *l,
			       const struct server_conf *s)
{
	static const char *const states[] = { "enabled", "draining", "disabled" };
	int now = server_state(s);

	state_series(sb, name, l, states, 3,
		     now == SERVER_DRAINING ? "draining" :
		     now == SERVER_DISABLED ? "disabled" :
					      "enabled");
}

static void series_weight(struct strbuf *sb, const char *name, const struct prom_label *l,
			  const struct server_conf *s)
{
	prom_sample(sb, name, l, 2, balance_weight(s));
}

static void series_active(struct strbuf *sb, const char *name, const struct prom_label *l,
			  const struct server_conf *s)
{
	int active = atomic_load_explicit(&s->rt->active, memory_order_relaxed);

	prom_sample(sb, name, l, 2, active > 0 ? (uint64_t)active : 0);
}

static void series_selected(struct strbuf *sb, const char *name, const struct prom_label *l,
			    const struct server_conf *s)
{
	prom_sample(sb, name, l, 2, RUNTIME_SUM(s->rt->shard, requests));
}

static void series_failures(struct strbuf *sb, const char *name, const struct prom_label *l,
			    const struct server_conf *s)
{
	prom_sample(sb, name, l, 2, atomic_load_explicit(&s->rt->failures, memory_order_relaxed));
}

static void series_requests(struct strbuf *sb, const char *name, const struct prom_label *l,
			    const struct server_conf *s)
{
	write_codes(sb, l, 2, name, s->rt->shard[0].answered, sizeof(s->rt->shard[0]));
}

static void series_latency(struct strbuf *sb, const char *name, const struct prom_label *l,
			   const struct server_conf *s)
{
	struct latency_snapshot snap;

	server_latency_read(s->rt, &snap);
	prom_histogram(sb, name, l, 2, latency_bounds_us, LATENCY_BOUNDS, snap.bucket, snap.sum_us);
}

static void write_server_states(struct strbuf *sb, const struct config *cfg)
{
	server_family(sb, cfg, "lbd_server_up", PROM_GAUGE,
		      "1 when the server takes new requests (state up), else 0.", series_up);
	server_family(sb, cfg, "lbd_server_state", PROM_GAUGE,
		      "The server's state as lbctl status shows it: 1 for the current one of up, "
		      "down, draining and disabled, 0 for the others.",
		      series_state);
	server_family(sb, cfg, "lbd_server_admin_state", PROM_GAUGE,
		      "What the admin API set (lbctl drain, disable, enable): 1 for the current "
		      "one of enabled, draining and disabled, 0 for the others.",
		      series_admin_state);
	server_family(sb, cfg, "lbd_server_weight", PROM_GAUGE,
		      "The server's weight as the balancers use it: the one set at run time "
		      "(lbctl weight), else the file's.",
		      series_weight);
}

/* Health-check series exist only for servers whose pool has a
 * health_check: for the others a 0 would claim a failed check, a 1 a
 * passing one. */
static void series_check_up(struct strbuf *sb, const char *name, const struct prom_label *l,
			    const struct server_conf *s)
{
	struct health_info hi;

	health_server_info(s->rt, &hi);
	if (hi.status != HEALTH_CHECK_NONE)
		prom_sample(sb, name, l, 2, hi.status == HEALTH_CHECK_PASSING);
}

static void series_check_duration(struct strbuf *sb, const char *name, const struct prom_label *l,
				  const struct server_conf *s)
{
	struct health_info hi;

	health_server_info(s->rt, &hi);
	if (hi.status != HEALTH_CHECK_NONE && hi.checks > 0)
		prom_sample_seconds(sb, name, l, 2, (uint64_t)hi.last_ms * 1000);
}

static void series_checks(struct strbuf *sb, const char *name, const struct prom_label *l,
			  const struct server_conf *s)
{
	struct health_info hi;
	struct prom_label ls[3] = { l[0], l[1], { "result", "passed" } };

	health_server_info(s->rt, &hi);
	if (hi.status == HEALTH_CHECK_NONE)
		return;
	prom_sample(sb, name, ls, 3, hi.checks - hi.checks_failed);
	ls[2].value = "failed";
	prom_sample(sb, name, ls, 3, hi.checks_failed);
}

static void series_passive_out(struct strbuf *sb, const char *name, const struct prom_label *l,
			       const struct server_conf *s)
{
	struct health_info hi;

	health_server_info(s->rt, &hi);
	prom_sample(sb, name, l, 2, hi.passive_out);
}

static void series_passive_trips(struct strbuf *sb, const char *name, const struct prom_label *l,
				 const struct server_conf *s)
{
	struct health_info hi;

	health_server_info(s->rt, &hi);
	prom_sample(sb, name, l, 2, hi.passive_trips);
}

static void write_server_checks(struct strbuf *sb, const struct config *cfg)
{
	server_family(sb, cfg, "lbd_server_check_up", PROM_GAUGE,
		      "1 while the server's active health checks pass, 0 once fall checks "
		      "failed in a row; only for pools with a health_check.",
		      series_check_up);
	server_family(sb, cfg, "lbd_server_check_duration_seconds", PROM_GAUGE,
		      "How long the server's last active health check took.",
		      series_check_duration);
	server_family(sb, cfg, "lbd_server_checks_total", PROM_COUNTER,
		      "Active health checks of the server, by result (passed, failed).",
		      series_checks);
	server_family(sb, cfg, "lbd_server_passive_out", PROM_GAUGE,
		      "1 while passive checks keep the server out (max_fails failures within "
		      "fail_timeout), else 0.",
		      series_passive_out);
	server_family(sb, cfg, "lbd_server_passive_trips_total", PROM_COUNTER,
		      "Times passive checks took the server out.", series_passive_trips);
}

static void write_server_traffic(struct strbuf *sb, const struct config *cfg)
{
	server_family(sb, cfg, "lbd_server_active_requests", PROM_GAUGE,
		      "Requests (and TCP connections) in flight on the server, all workers.",
		      series_active);
	server_family(sb, cfg, "lbd_server_selected_total", PROM_COUNTER,
		      "Times a balancer picked the server: HTTP requests and their retries, TCP "
		      "connections.",
		      series_selected);
	server_family(sb, cfg, "lbd_server_failures_total", PROM_COUNTER,
		      "Failed attempts on the server: connect errors and timeouts, broken or "
		      "late responses.",
		      series_failures);
	server_family(sb, cfg, "lbd_server_requests_total", PROM_COUNTER,
		      "HTTP requests whose access-log line names the server (the last one "
		      "tried), by status class; 502 and 504 answered by lbd after it failed "
		      "included.",
		      series_requests);
	server_family(sb, cfg, "lbd_server_upstream_response_seconds", PROM_HISTOGRAM,
		      "Time from sending a request to the server (a new connection's connect "
		      "included) to the first byte of its response.",
		      series_latency);
}

/* Pools that follow DNS: how long their resolver has failed (the last
 * answer stands meanwhile). */
static void write_discovery(struct strbuf *sb, const struct config *cfg,
			    const struct metrics_info *info)
{
	bool any = false;

	for (size_t i = 0; i < cfg->npools; i++)
		any |= cfg->pools[i].discovery.enabled;
	if (!any || !info->discovery_stale_ms)
		return;
	prom_family(sb, "lbd_discovery_stale_seconds", PROM_GAUGE,
		    "Seconds since the pool's DNS discovery last had an answer, while its "
		    "resolver fails (the servers of the last answer keep serving); 0 while "
		    "its answers are fresh.");
	for (size_t i = 0; i < cfg->npools; i++) {
		if (!cfg->pools[i].discovery.enabled)
			continue;
		struct prom_label l = { "pool", cfg->pools[i].name };
		prom_sample_seconds(sb, "lbd_discovery_stale_seconds", &l, 1,
				    info->discovery_stale_ms(info->arg, cfg->pools[i].name) * 1000);
	}
}

void metrics_render(struct strbuf *sb, const struct config *cfg, const struct metrics_info *info)
{
	write_process(sb, info);
	write_listeners(sb, cfg);
	write_pools(sb, cfg);
	write_discovery(sb, cfg, info);
	write_server_states(sb, cfg);
	write_server_checks(sb, cfg);
	write_server_traffic(sb, cfg);
}
