/* config_schema.c — the lbd.yaml schema: which keys exist where, their
 * types, bounds and defaults, and the checks that span sections (unique
 * names and binds, routes naming pools, tcp listeners).
 *
 * Defaults are set by config.c before the walk; a pool copies the
 * top-level defaults when it is created, and the top-level table lists
 * defaults before pools, so "defaults:" may appear anywhere in the file.
 */
#include "config/config_schema.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "util/units.h"

/* field_enum stores an int. */
_Static_assert(sizeof(enum listener_protocol) == sizeof(int), "enum size");
_Static_assert(sizeof(enum balance_algo) == sizeof(int), "enum size");
_Static_assert(sizeof(enum log_level) == sizeof(int), "enum size");
_Static_assert(sizeof(enum access_format) == sizeof(int), "enum size");
_Static_assert(sizeof(enum send_proxy) == sizeof(int), "enum size");

static const struct enum_name log_levels[] = {
	{ "error", LOG_LEVEL_ERROR },
	{ "warn", LOG_LEVEL_WARN },
	{ "info", LOG_LEVEL_INFO },
	{ "debug", LOG_LEVEL_DEBUG },
	{ NULL, 0 },
};
static const struct enum_name access_formats[] = {
	{ "json", ACCESS_FORMAT_JSON },
	{ "combined", ACCESS_FORMAT_COMBINED },
	{ NULL, 0 },
};
static const struct enum_name protocols[] = {
	{ "http", PROTO_HTTP },
	{ "tcp", PROTO_TCP },
	{ NULL, 0 },
};
static const struct enum_name pool_protocols[] = {
	{ "http1", POOL_HTTP1 },
	{ "h2", POOL_H2 },
	{ NULL, 0 },
};
static const struct enum_name send_proxies[] = {
	{ "v1", SEND_PROXY_V1 },
	{ "v2", SEND_PROXY_V2 },
	{ "off", SEND_PROXY_OFF },
	{ NULL, 0 },
};
static const struct enum_name balances[] = {
	{ "round_robin", BALANCE_ROUND_ROBIN }, { "least_conn", BALANCE_LEAST_CONN },
	{ "ip_hash", BALANCE_IP_HASH },         { "sticky_cookie", BALANCE_STICKY_COOKIE },
	{ "maglev", BALANCE_MAGLEV },           { NULL, 0 },
};
static const struct enum_name fallbacks[] = {
	{ "round_robin", BALANCE_ROUND_ROBIN },
	{ "least_conn", BALANCE_LEAST_CONN },
	{ "ip_hash", BALANCE_IP_HASH },
	{ NULL, 0 },
};

#define DUR(k, member, lo) \
	{ \
		k, field_duration, offsetof(struct timeouts_conf, member), lo, DURATION_MAX_MS, \
			NULL, false \
	}

/* global */
static const struct field log_fields[] = {
	{ "level", field_enum, offsetof(struct global_conf, log.level), 0, 0, log_levels, false },
	{ "access", field_access, offsetof(struct global_conf, log.access), 0, 0, NULL, false },
	{ "format", field_enum, offsetof(struct global_conf, log.format), 0, 0, access_formats,
	  false },
};
static const struct section log_section = SECTION(log_fields);

/* A TCP listener of the process (admin, metrics): HOST:PORT or
 * [IPv6]:PORT, not unix:. */
static bool tcp_listen(struct walk *w, const struct cnode *v, struct lbd_addr *out)
{
	if (walk_address(w, v, out) != 0)
		return false;
	if (out->sa.ss_family == AF_UNIX) {
		cerr_at(w->errs, v,
			"expected HOST:PORT or [IPv6]:PORT, got a unix: address "
			"(the admin UNIX socket is global.admin.socket)");
		return false;
	}
	return true;
}

static void field_admin_listen(struct walk *w, const struct field *f, const struct cnode *v,
			       void *obj)
{
	struct global_conf *g = obj;

	g->admin.has_listen = tcp_listen(w, v, &g->admin.listen);
}

static void field_metrics_listen(struct walk *w, const struct field *f, const struct cnode *v,
				 void *obj)
{
	struct global_conf *g = obj;

	g->metrics.has_listen = tcp_listen(w, v, &g->metrics.listen);
}

static const struct field admin_fields[] = {
	{ "socket", field_socket_path, offsetof(struct global_conf, admin.socket), 0, 0, NULL,
	  false },
	{ "listen", field_admin_listen, 0, 0, 0, NULL, false },
	{ "token_file", field_token_file, 0, 0, 0, NULL, false },
};
static const struct section admin_section = SECTION(admin_fields);

static const struct field metrics_fields[] = {
	{ "listen", field_metrics_listen, 0, 0, 0, NULL, false },
};
static const struct section metrics_section = SECTION(metrics_fields);

static const struct field global_fields[] = {
	{ "workers", field_workers, offsetof(struct global_conf, workers), 1, CONFIG_WORKERS_MAX,
	  NULL, false },
	{ "max_connections", field_u32, offsetof(struct global_conf, max_connections), 1, 10000000,
	  NULL, false },
	{ "user", field_user, offsetof(struct global_conf, user), 0, 0, NULL, false },
	{ "group", field_group, offsetof(struct global_conf, group), 0, 0, NULL, false },
	{ "watch_config", field_bool, offsetof(struct global_conf, watch_config), 0, 0, NULL,
	  false },
	{ "shutdown_delay", field_duration, offsetof(struct global_conf, shutdown_delay_ms), 0,
	  3600 * 1000, NULL, false },
	{ "state_file", field_tls_path, offsetof(struct global_conf, state_file), 0, 0, NULL,
	  false },
	{ "admin", field_section, 0, 0, 0, &admin_section, false },
	{ "metrics", field_section, 0, 0, 0, &metrics_section, false },
	{ "log", field_section, 0, 0, 0, &log_section, false },
};
static const struct section global_section = SECTION(global_fields);

/* defaults */
static const struct field defaults_timeout_fields[] = {
	DUR("connect", connect_ms, 1),         DUR("header", header_ms, 1),
	DUR("client_idle", client_idle_ms, 1), DUR("server", server_ms, 1),
	DUR("tunnel", tunnel_ms, 1),           DUR("drain", drain_ms, 0),
};
static const struct section defaults_timeouts = SECTION(defaults_timeout_fields);

static const struct field defaults_limit_fields[] = {
	{ "header_size", field_size, offsetof(struct limits_conf, header_size), 1024, 1024 * 1024,
	  NULL, false },
	{ "headers", field_u32, offsetof(struct limits_conf, headers), 1, 1000, NULL, false },
	{ "body_size", field_size, offsetof(struct limits_conf, body_size), 0, SIZE_MAX_BYTES, NULL,
	  false },
	{ "h2_max_streams", field_u32, offsetof(struct limits_conf, h2_max_streams), 1,
	  CONFIG_H2_STREAMS_MAX, NULL, false },
	{ "h2_max_requests", field_u32, offsetof(struct limits_conf, h2_max_requests), 1,
	  UINT32_MAX, NULL, false },
};
static const struct section defaults_limits = SECTION(defaults_limit_fields);

static const struct field defaults_fields[] = {
	{ "timeouts", field_section, offsetof(struct config, timeouts), 0, 0, &defaults_timeouts,
	  false },
	{ "retries", field_u32, offsetof(struct config, retries), 0, CONFIG_RETRIES_MAX, NULL,
	  false },
	{ "limits", field_section, offsetof(struct config, limits), 0, 0, &defaults_limits, false },
	{ "passive", field_passive, offsetof(struct config, passive), 0, 0, &passive_section,
	  false },
};
static const struct section defaults_section = SECTION(defaults_fields);

/* pools */
static const struct field pool_timeout_fields[] = {
	DUR("connect", connect_ms, 1),
	DUR("server", server_ms, 1),
	DUR("tunnel", tunnel_ms, 1),
};
#define CLIENT_SIDE(k, where) \
	{ \
		k, "a client-side setting: it applies before a pool is chosen, so it belongs under defaults." where \
	}
static const struct misplaced pool_timeout_misplaced[] = {
	CLIENT_SIDE("header", "timeouts"),
	CLIENT_SIDE("client_idle", "timeouts"),
	{ "drain",
	  "a process-wide setting (the wait on stop): it belongs under defaults.timeouts" },
};
static const struct section pool_timeouts = SECTION_ELSEWHERE(pool_timeout_fields,
							      pool_timeout_misplaced);

static const struct field pool_limit_fields[] = {
	{ "body_size", field_size, offsetof(struct limits_conf, body_size), 0, SIZE_MAX_BYTES, NULL,
	  false },
};
static const struct misplaced pool_limit_misplaced[] = {
	CLIENT_SIDE("header_size", "limits"),
	CLIENT_SIDE("headers", "limits"),
	CLIENT_SIDE("h2_max_streams", "limits"),
	CLIENT_SIDE("h2_max_requests", "limits"),
};
static const struct section pool_limits = SECTION_ELSEWHERE(pool_limit_fields,
							    pool_limit_misplaced);

static const struct field server_fields[] = {
	{ "name", field_server_name, offsetof(struct server_conf, name), 0, 0, NULL, false },
	{ "address", field_server_address, 0, 0, 0, NULL, true },
	{ "weight", field_u32, offsetof(struct server_conf, weight), 0, CONFIG_WEIGHT_MAX, NULL,
	  false },
	{ "backup", field_bool, offsetof(struct server_conf, backup), 0, 0, NULL, false },
};
static const struct section server_section = SECTION(server_fields);

static const struct field sticky_fields[] = {
	{ "cookie", field_cookie_name, offsetof(struct sticky_conf, cookie), 0, 0, NULL, false },
	{ "max_age", field_duration, offsetof(struct sticky_conf, max_age_ms), 1000,
	  DURATION_MAX_MS, NULL, false },
	{ "fallback", field_enum, offsetof(struct sticky_conf, fallback), 0, 0, fallbacks, false },
	{ "secret", field_sticky_secret, offsetof(struct sticky_conf, secret), 0, 0, NULL, false },
	{ "secret_file", field_sticky_secret_file, offsetof(struct sticky_conf, secret), 0, 0, NULL,
	  false },
	{ "previous_secret", field_sticky_secret, offsetof(struct sticky_conf, previous_secret), 0,
	  0, NULL, false },
	{ "previous_secret_file", field_sticky_secret_file,
	  offsetof(struct sticky_conf, previous_secret), 0, 0, NULL, false },
};
static const struct section sticky_section = SECTION(sticky_fields);

static const struct enum_name tls_versions[] = {
	{ "1.2", 0x0303 },
	{ "1.3", 0x0304 },
	{ NULL, 0 },
};
static const struct field pool_tls_fields[] = {
	{ "verify", field_bool, offsetof(struct pool_tls_conf, verify), 0, 0, NULL, false },
	{ "ca", field_tls_path, offsetof(struct pool_tls_conf, ca), 0, 0, NULL, false },
	{ "sni", field_tls_name, offsetof(struct pool_tls_conf, sni), 0, 0, NULL, false },
	/* min 1: field_tls_name takes an IP address too */
	{ "verify_name", field_tls_name, offsetof(struct pool_tls_conf, verify_name), 1, 0, NULL,
	  false },
	{ "cert", field_tls_path, offsetof(struct pool_tls_conf, cert), 0, 0, NULL, false },
	{ "key", field_tls_path, offsetof(struct pool_tls_conf, key), 0, 0, NULL, false },
	{ "min_version", field_enum, offsetof(struct pool_tls_conf, min_version), 0, 0,
	  tls_versions, false },
};
static const struct section pool_tls_section = SECTION(pool_tls_fields);

static const struct field queue_fields[] = {
	{ "size", field_u32, offsetof(struct queue_conf, size), 1, CONFIG_QUEUE_SIZE_MAX, NULL,
	  false },
	{ "timeout", field_duration, offsetof(struct queue_conf, timeout_ms), 1,
	  CONFIG_QUEUE_TIMEOUT_MAX_MS, NULL, false },
};
static const struct section queue_section = SECTION(queue_fields);

static const struct field pool_fields[] = {
	{ "name", field_name, offsetof(struct pool_conf, name), 0, 0, NULL, true },
	{ "balance", field_enum, offsetof(struct pool_conf, balance), 0, 0, balances, false },
	{ "protocol", field_enum, offsetof(struct pool_conf, protocol), 0, 0, pool_protocols,
	  false },
	{ "hash_key", field_hash_key, 0, 0, 0, NULL, false },
	{ "sticky", field_sticky, offsetof(struct pool_conf, sticky), 0, 0, &sticky_section,
	  false },
	{ "timeouts", field_section, offsetof(struct pool_conf, timeouts), 0, 0, &pool_timeouts,
	  false },
	{ "retries", field_u32, offsetof(struct pool_conf, retries), 0, CONFIG_RETRIES_MAX, NULL,
	  false },
	{ "retry_budget", field_percent, offsetof(struct pool_conf, retry_budget), 0, 0, NULL,
	  false },
	{ "limits", field_section, offsetof(struct pool_conf, limits), 0, 0, &pool_limits, false },
	{ "health_check", field_health_check, offsetof(struct pool_conf, health_check), 0, 0,
	  &health_check_section, false },
	{ "passive", field_passive, offsetof(struct pool_conf, passive), 0, 0, &passive_section,
	  false },
	{ "tls", field_pool_tls, offsetof(struct pool_conf, tls), 0, 0, &pool_tls_section, false },
	{ "send_proxy", field_enum, offsetof(struct pool_conf, send_proxy), 0, 0, send_proxies,
	  false },
	{ "slow_start", field_duration, offsetof(struct pool_conf, slow_start_ms), 0,
	  CONFIG_SLOW_START_MAX_MS, NULL, false },
	{ "max_requests_per_server", field_u32, offsetof(struct pool_conf, max_requests_per_server),
	  0, 1000000, NULL, false },
	{ "queue", field_queue, offsetof(struct pool_conf, queue), 0, 0, &queue_section, false },
	{ "discovery", field_discovery, offsetof(struct pool_conf, discovery), 0, 0,
	  &discovery_section, false },
	{ "servers", field_servers, 0, 0, 0, &server_section, false },
};
static const struct section pool_section = SECTION(pool_fields);

/* listeners */
static const struct field match_fields[] = {
	{ "host", field_host, offsetof(struct route_conf, host), 0, 0, NULL, false },
	{ "path_prefix", field_path_prefix, offsetof(struct route_conf, path_prefix), 0, 0, NULL,
	  false },
	{ "path", field_match_path, 0, 0, 0, NULL, false },
	{ "methods", field_match_methods, 0, 0, 0, NULL, false },
	{ "headers", field_match_headers, 0, 0, 0, NULL, false },
	{ "query", field_match_query, 0, 0, 0, NULL, false },
};
static const struct section match_section = SECTION(match_fields);

static const struct field rate_limit_fields[] = {
	{ "key", field_rate_key, 0, 0, 0, NULL, false },
	{ "rate", field_rate, 0, 0, 0, NULL, true },
	{ "burst", field_u32, offsetof(struct rate_limit_conf, burst), 1, 1000000000, NULL, false },
	{ "table_size", field_u32, offsetof(struct rate_limit_conf, table_size), 8, 1u << 24, NULL,
	  false },
};
/* Server-side timeouts only: the client-side ones apply before routing. */
static const struct field route_timeout_fields[] = {
	DUR("connect", connect_ms, 1),
	DUR("server", server_ms, 1),
};
static const struct section route_timeouts = SECTION(route_timeout_fields);

static const struct section rate_limit_section = SECTION(rate_limit_fields);

static const struct field redirect_fields[] = {
	{ "to", field_redirect_to, offsetof(struct redirect_conf, to), 0, 0, NULL, true },
	{ "status", field_redirect_status, offsetof(struct redirect_conf, status), 0, 0, NULL,
	  false },
};
static const struct section redirect_section = SECTION(redirect_fields);

static const struct field split_fields[] = {
	{ "pool", field_split_pool, 0, 0, 0, NULL, true },
	{ "weight", field_u32, offsetof(struct split_side, weight), 0, CONFIG_WEIGHT_MAX, NULL,
	  true },
};
static const struct section split_section = SECTION(split_fields);

/* pool, split or redirect: field_routes checks that a route has exactly
 * one. */
static const struct field route_fields[] = {
	{ "match", field_match, 0, 0, 0, &match_section, false },
	{ "pool", field_pool_ref, 0, 0, 0, NULL, false },
	{ "split", field_split, 0, 0, 0, &split_section, false },
	{ "split_key", field_split_key, 0, 0, 0, NULL, false },
	{ "retry_on", field_retry_on, 0, 0, 0, NULL, false },
	{ "rate_limit", field_rate_limit, offsetof(struct route_conf, rate_limit), 0, 0,
	  &rate_limit_section, false },
	{ "redirect", field_section, offsetof(struct route_conf, redirect), 0, 0, &redirect_section,
	  false },
	{ "strip_prefix", field_bool, offsetof(struct route_conf, strip_prefix), 0, 0, NULL,
	  false },
	{ "restore_prefix", field_bool, offsetof(struct route_conf, restore_prefix), 0, 0, NULL,
	  false },
	{ "request_headers", field_section, offsetof(struct route_conf, request_headers), 0, 0,
	  &request_headers_section, false },
	{ "response_headers", field_section, offsetof(struct route_conf, response_headers), 0, 0,
	  &response_headers_section, false },
	{ "timeouts", field_section, offsetof(struct route_conf, timeouts), 0, 0, &route_timeouts,
	  false },
	{ "allow", field_allow, offsetof(struct route_conf, access), 0, 0, NULL, false },
	{ "deny", field_deny, offsetof(struct route_conf, access), 0, 0, NULL, false },
};
static const struct section route_section = SECTION(route_fields);

static const struct field compression_fields[] = {
	{ "types", field_compression_types, 0, 0, 0, NULL, false },
	{ "min_size", field_size, offsetof(struct compression_conf, min_size), 0,
	  1024ull * 1024 * 1024, NULL, false },
	{ "level", field_u32, offsetof(struct compression_conf, level), 1, 9, NULL, false },
};
static const struct section compression_section = SECTION(compression_fields);

static const struct field listener_fields[] = {
	{ "name", field_name, offsetof(struct listener_conf, name), 0, 0, NULL, true },
	{ "bind", field_binds, 0, 0, 0, NULL, true },
	{ "protocol", field_enum, offsetof(struct listener_conf, protocol), 0, 0, protocols,
	  false },
	{ "proxy_protocol", field_bool, offsetof(struct listener_conf, proxy_protocol), 0, 0, NULL,
	  false },
	{ "http2", field_bool, offsetof(struct listener_conf, http2), 0, 0, NULL, false },
	{ "tls", field_listener_tls, 0, 0, 0, &listener_tls_section, false },
	{ "share_port", field_bool, offsetof(struct listener_conf, share_port), 0, 0, NULL, false },
	{ "trusted_proxies", field_trusted, 0, 0, 0, NULL, false },
	{ "allow", field_allow, offsetof(struct listener_conf, access), 0, 0, NULL, false },
	{ "deny", field_deny, offsetof(struct listener_conf, access), 0, 0, NULL, false },
	{ "errors", field_error_pages, 0, 0, 0, NULL, false },
	{ "compression", field_compression, offsetof(struct listener_conf, compression), 0, 0,
	  &compression_section, false },
	{ "routes", field_routes, 0, 0, 0, &route_section, true },
};
static const struct section listener_section = SECTION(listener_fields);

/* The included files were read and merged into the tree before the walk
 * (config_include.c), which also checked the key's value. */
static void field_include(struct walk *w, const struct field *f, const struct cnode *v, void *obj)
{
}

/* top level: defaults before pools (inheritance), pools before listeners
 * (routes name pools) */
static const struct field top_fields[] = {
	{ "global", field_section, offsetof(struct config, global), 0, 0, &global_section, false },
	{ "defaults", field_section, 0, 0, 0, &defaults_section, false },
	{ "resolvers", field_resolvers, 0, 0, 0, &resolver_section, false },
	{ "pools", field_pools, 0, 0, 0, &pool_section, true },
	{ "listeners", field_listeners, 0, 0, 0, &listener_section, true },
	{ "include", field_include, 0, 0, 0, NULL, false },
};
static const struct section top_section = SECTION(top_fields);

/* ---- the list of keys, for the documentation tests ---- */

/* Lists of mappings, so that their paths show "[]". */
static bool field_is_list(const struct field *f)
{
	return f->parse == field_listeners || f->parse == field_pools ||
	       f->parse == field_servers || f->parse == field_routes ||
	       f->parse == field_certificates || f->parse == field_resolvers ||
	       f->parse == field_split;
}

static int keys_walk(const struct section *s, char *path, size_t len, size_t cap, config_key_fn fn,
		     void *ctx)
{
	for (size_t i = 0; i < s->nfields; i++) {
		const struct field *f = &s->fields[i];
		bool nested = f->arg && f->parse != field_enum;
		bool list = nested && field_is_list(f);
		int n = snprintf(path + len, cap - len, "%s%s%s", len ? "." : "", f->key,
				 list ? "[]" : "");

		if (n < 0 || (size_t)n >= cap - len)
			return -1;
		fn(ctx, path,
		   nested ? (list ? CONFIG_KEY_LIST : CONFIG_KEY_SECTION) : CONFIG_KEY_VALUE, NULL);
		if (f->parse == field_enum)
			for (const struct enum_name *e = f->arg; e->name; e++)
				fn(ctx, path, CONFIG_KEY_ENUM_VALUE, e->name);
		if (nested && keys_walk(f->arg, path, len + (size_t)n, cap, fn, ctx) < 0)
			return -1;
		path[len] = '\0';
	}
	return 0;
}

int config_schema_keys(config_key_fn fn, void *ctx)
{
	char path[256] = "";

	return keys_walk(&top_section, path, 0, sizeof(path), fn, ctx);
}

void config_schema_apply(struct walk *w, const struct cnode *root)
{
	walk_section(w, &top_section, root, w->cfg);
	free(w->pool_index);
	w->pool_index = NULL;
	w->npool_index = 0;
}
