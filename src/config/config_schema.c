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

#define POOL_NAMES_SHOWN 8

static void field_listeners(struct walk *w, const struct field *f, const struct cnode *v,
			    void *obj);
static void field_pools(struct walk *w, const struct field *f, const struct cnode *v, void *obj);
static void field_servers(struct walk *w, const struct field *f, const struct cnode *v, void *obj);
static void field_routes(struct walk *w, const struct field *f, const struct cnode *v, void *obj);
static void field_binds(struct walk *w, const struct field *f, const struct cnode *v, void *obj);
static void field_match(struct walk *w, const struct field *f, const struct cnode *v, void *obj);
static void field_pool_ref(struct walk *w, const struct field *f, const struct cnode *v, void *obj);
static void field_hash_key(struct walk *w, const struct field *f, const struct cnode *v, void *obj);
static void field_trusted(struct walk *w, const struct field *f, const struct cnode *v, void *obj);
static void field_sticky(struct walk *w, const struct field *f, const struct cnode *v, void *obj);

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
static const struct enum_name balances[] = {
	{ "round_robin", BALANCE_ROUND_ROBIN },
	{ "least_conn", BALANCE_LEAST_CONN },
	{ "ip_hash", BALANCE_IP_HASH },
	{ "sticky_cookie", BALANCE_STICKY_COOKIE },
	{ NULL, 0 },
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

static void field_admin_listen(struct walk *w, const struct field *f, const struct cnode *v,
			       void *obj)
{
	struct global_conf *g = obj;

	if (walk_address(w, v, &g->admin.listen) != 0)
		return;
	if (g->admin.listen.sa.ss_family == AF_UNIX) {
		cerr_at(w->errs, v,
			"expected HOST:PORT or [IPv6]:PORT, got a unix: address "
			"(the admin UNIX socket is global.admin.socket)");
		return;
	}
	g->admin.has_listen = true;
}

static const struct field admin_fields[] = {
	{ "socket", field_socket_path, offsetof(struct global_conf, admin.socket), 0, 0, NULL,
	  false },
	{ "listen", field_admin_listen, 0, 0, 0, NULL, false },
};
static const struct section admin_section = SECTION(admin_fields);

static const struct field global_fields[] = {
	{ "workers", field_workers, offsetof(struct global_conf, workers), 1, CONFIG_WORKERS_MAX,
	  NULL, false },
	{ "max_connections", field_u32, offsetof(struct global_conf, max_connections), 1, 10000000,
	  NULL, false },
	{ "user", field_user, offsetof(struct global_conf, user), 0, 0, NULL, false },
	{ "group", field_group, offsetof(struct global_conf, group), 0, 0, NULL, false },
	{ "admin", field_section, 0, 0, 0, &admin_section, false },
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
};
static const struct section pool_limits = SECTION_ELSEWHERE(pool_limit_fields,
							    pool_limit_misplaced);

static const struct field server_fields[] = {
	{ "name", field_server_name, offsetof(struct server_conf, name), 0, 0, NULL, false },
	{ "address", field_address, offsetof(struct server_conf, addr), 0, 0, NULL, true },
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

static const struct field pool_fields[] = {
	{ "name", field_name, offsetof(struct pool_conf, name), 0, 0, NULL, true },
	{ "balance", field_enum, offsetof(struct pool_conf, balance), 0, 0, balances, false },
	{ "hash_key", field_hash_key, 0, 0, 0, NULL, false },
	{ "sticky", field_sticky, offsetof(struct pool_conf, sticky), 0, 0, &sticky_section,
	  false },
	{ "timeouts", field_section, offsetof(struct pool_conf, timeouts), 0, 0, &pool_timeouts,
	  false },
	{ "retries", field_u32, offsetof(struct pool_conf, retries), 0, CONFIG_RETRIES_MAX, NULL,
	  false },
	{ "limits", field_section, offsetof(struct pool_conf, limits), 0, 0, &pool_limits, false },
	{ "health_check", field_health_check, offsetof(struct pool_conf, health_check), 0, 0,
	  &health_check_section, false },
	{ "passive", field_passive, offsetof(struct pool_conf, passive), 0, 0, &passive_section,
	  false },
	{ "tls", field_pool_tls, offsetof(struct pool_conf, tls), 0, 0, &pool_tls_section, false },
	{ "servers", field_servers, 0, 0, 0, &server_section, true },
};
static const struct section pool_section = SECTION(pool_fields);

/* listeners */
static const struct field match_fields[] = {
	{ "host", field_host, offsetof(struct route_conf, host), 0, 0, NULL, false },
	{ "path_prefix", field_path_prefix, offsetof(struct route_conf, path_prefix), 0, 0, NULL,
	  false },
};
static const struct section match_section = SECTION(match_fields);

static const struct field route_fields[] = {
	{ "match", field_match, 0, 0, 0, &match_section, false },
	{ "pool", field_pool_ref, 0, 0, 0, NULL, true },
};
static const struct section route_section = SECTION(route_fields);

static const struct field listener_fields[] = {
	{ "name", field_name, offsetof(struct listener_conf, name), 0, 0, NULL, true },
	{ "bind", field_binds, 0, 0, 0, NULL, true },
	{ "protocol", field_enum, offsetof(struct listener_conf, protocol), 0, 0, protocols,
	  false },
	{ "proxy_protocol", field_bool, offsetof(struct listener_conf, proxy_protocol), 0, 0, NULL,
	  false },
	{ "tls", field_listener_tls, 0, 0, 0, &listener_tls_section, false },
	{ "trusted_proxies", field_trusted, 0, 0, 0, NULL, false },
	{ "routes", field_routes, 0, 0, 0, &route_section, true },
};
static const struct section listener_section = SECTION(listener_fields);

/* top level: defaults before pools (inheritance), pools before listeners
 * (routes name pools) */
static const struct field top_fields[] = {
	{ "global", field_section, offsetof(struct config, global), 0, 0, &global_section, false },
	{ "defaults", field_section, 0, 0, 0, &defaults_section, false },
	{ "pools", field_pools, 0, 0, 0, &pool_section, true },
	{ "listeners", field_listeners, 0, 0, 0, &listener_section, true },
};
static const struct section top_section = SECTION(top_fields);

static void *xcalloc(struct walk *w, const struct cnode *v, size_t n, size_t size)
{
	void *p = calloc(n, size);

	if (!p)
		cerr_at(w->errs, v, "out of memory");
	return p;
}

/* ---- pools ---- */

/* "client_ip" or "header:NAME" with NAME an HTTP field name (a token). */
static void field_hash_key(struct walk *w, const struct field *f, const struct cnode *v, void *obj)
{
	static const char what[] = "client_ip or header:NAME (NAME an HTTP header name)";
	static const char tchar[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				    "0123456789!#$%&'*+-.^_`|~";
	struct pool_conf *pool = obj;
	const char *s = walk_scalar(w, v, what);

	if (!s)
		return;
	pool->has_hash_key = true;
	if (strcmp(s, "client_ip") == 0)
		return;
	if (strncmp(s, "header:", 7) == 0) {
		size_t n = strspn(s + 7, tchar);
		if (n > 0 && n <= CONFIG_NAME_MAX && s[7 + n] == '\0') {
			pool->hash_key.header = strdup(s + 7);
			if (!pool->hash_key.header)
				cerr_at(w->errs, v, "out of memory");
			return;
		}
	}
	cerr_at(w->errs, v, "expected %s, got \"%s\"", what, s);
}

static void field_sticky(struct walk *w, const struct field *f, const struct cnode *v, void *obj)
{
	((struct pool_conf *)obj)->has_sticky = true;
	field_section(w, f, v, obj);
}

/* Keys that only make sense with some algorithms. */
static void check_balance(struct walk *w, const struct pool_conf *p, const struct cnode *v)
{
	const struct cnode *k;
	bool hashes = p->balance == BALANCE_IP_HASH || (p->balance == BALANCE_STICKY_COOKIE &&
							p->sticky.fallback == BALANCE_IP_HASH);

	if (p->has_hash_key && !hashes && (k = cnode_get(v, "hash_key")))
		cerr_at(w->errs, k->key,
			"hash_key applies only with balance: ip_hash "
			"(or sticky_cookie with fallback: ip_hash)");
	if (p->has_sticky && p->balance != BALANCE_STICKY_COOKIE && (k = cnode_get(v, "sticky")))
		cerr_at(w->errs, k->key, "sticky applies only with balance: sticky_cookie");
}

static void report_dup_server(struct walk *w, const struct uniq *dup, const struct uniq *first)
{
	const struct cnode *name = cnode_get(dup->node, "name");

	if (name)
		cerr_at(w->errs, name, "duplicate server name \"%s\" (first at line %u)", dup->key,
			first->node->line);
	else
		cerr_at(w->errs, dup->node,
			"duplicate server name \"%s\" (first at line %u); a server's name "
			"defaults to its address, so give these servers names",
			dup->key, first->node->line);
}

static void field_servers(struct walk *w, const struct field *f, const struct cnode *v, void *obj)
{
	struct pool_conf *pool = obj;
	struct uniq *u;
	size_t nu = 0;

	if (!walk_list(w, v, "servers"))
		return;
	pool->servers = xcalloc(w, v, v->n, sizeof(*pool->servers));
	if (!pool->servers)
		return;
	pool->nservers = v->n;
	for (size_t i = 0; i < v->n; i++) {
		struct server_conf *s = &pool->servers[i];
		s->weight = 1;
		walk_section(w, f->arg, v->items[i], s);
		if (!s->name && s->addr.salen)
			s->name = strdup(s->addr.text);
	}
	u = xcalloc(w, v, v->n, sizeof(*u));
	if (!u)
		return;
	for (size_t i = 0; i < v->n; i++)
		if (pool->servers[i].name)
			u[nu++] = (struct uniq){ pool->servers[i].name, v->items[i], NULL, i };
	walk_unique(w, u, nu, report_dup_server);
	free(u);
}

static void report_dup_pool(struct walk *w, const struct uniq *dup, const struct uniq *first)
{
	cerr_at(w->errs, dup->node, "duplicate pool name \"%s\" (first at line %u)", dup->key,
		first->node->line);
}

static int pool_cmp(const void *a, const void *b)
{
	const struct pool_conf *const *x = a, *const *y = b;

	return strcmp((*x)->name, (*y)->name);
}

/* Routes look pools up by name; a sorted index keeps that O(log n). */
static void index_pools(struct walk *w, const struct cnode *v)
{
	struct config *cfg = w->cfg;

	w->pool_index = xcalloc(w, v, cfg->npools, sizeof(*w->pool_index));
	if (!w->pool_index)
		return;
	for (size_t i = 0; i < cfg->npools; i++)
		if (cfg->pools[i].name)
			w->pool_index[w->npool_index++] = &cfg->pools[i];
	qsort(w->pool_index, w->npool_index, sizeof(*w->pool_index), pool_cmp);
}

static void field_pools(struct walk *w, const struct field *f, const struct cnode *v, void *obj)
{
	struct config *cfg = w->cfg;
	struct uniq *u;
	size_t nu = 0;

	if (!walk_list(w, v, "pools"))
		return;
	cfg->pools = xcalloc(w, v, v->n, sizeof(*cfg->pools));
	if (!cfg->pools)
		return;
	cfg->npools = v->n;
	for (size_t i = 0; i < v->n; i++) {
		struct pool_conf *p = &cfg->pools[i];
		p->balance = BALANCE_ROUND_ROBIN;
		p->timeouts = cfg->timeouts;
		p->retries = cfg->retries;
		p->limits = cfg->limits;
		p->passive = cfg->passive;
		p->sticky.fallback = BALANCE_ROUND_ROBIN;
		walk_section(w, f->arg, v->items[i], p);
		if (!p->sticky.cookie)
			p->sticky.cookie = strdup(STICKY_COOKIE_DEFAULT);
		check_balance(w, p, v->items[i]);
		config_build_pool_tls(w, p, v->items[i]);
	}
	u = xcalloc(w, v, v->n, sizeof(*u));
	if (!u)
		return;
	for (size_t i = 0; i < v->n; i++)
		if (cfg->pools[i].name)
			u[nu++] = (struct uniq){ cfg->pools[i].name, cnode_get(v->items[i], "name"),
						 NULL, i };
	walk_unique(w, u, nu, report_dup_pool);
	free(u);
	index_pools(w, v);
}

/* ---- routes ---- */

static void field_match(struct walk *w, const struct field *f, const struct cnode *v, void *obj)
{
	if ((v->kind == CNODE_MAP && v->n == 0) || (v->kind == CNODE_SCALAR && v->null)) {
		cerr_at(w->errs, v,
			"an empty match: give host, path_prefix or both, or leave "
			"match out to match every request");
		return;
	}
	walk_section(w, f->arg, v, obj);
}

static void no_such_pool(struct walk *w, const struct cnode *v, const char *name)
{
	char names[POOL_NAMES_SHOWN * (CONFIG_NAME_MAX + 2) + 8] = "";
	size_t pos = 0, shown = 0;

	for (size_t i = 0; i < w->cfg->npools; i++) {
		const char *n = w->cfg->pools[i].name;
		if (!n)
			continue;
		if (shown++ == POOL_NAMES_SHOWN) {
			strcat(names, ", ...");
			break;
		}
		/* names are at most CONFIG_NAME_MAX bytes: the buffer holds them */
		pos += (size_t)snprintf(names + pos, sizeof(names) - pos, "%s%s",
					shown > 1 ? ", " : "", n);
	}
	if (shown)
		cerr_at(w->errs, v, "no pool named \"%s\" (pools: %s)", name, names);
	else
		cerr_at(w->errs, v, "no pool named \"%s\" (no pools are defined)", name);
}

static void field_pool_ref(struct walk *w, const struct field *f, const struct cnode *v, void *obj)
{
	struct route_conf *r = obj;
	struct pool_conf key, *keyp = &key, **found;
	const char *name = walk_scalar(w, v, "the name of a pool");

	if (!name)
		return;
	key.name = (char *)name;
	found = w->npool_index ? bsearch(&keyp, w->pool_index, w->npool_index,
					 sizeof(*w->pool_index), pool_cmp) :
				 NULL;
	if (!found) {
		no_such_pool(w, v, name);
		return;
	}
	r->pool = *found;
}

static void field_routes(struct walk *w, const struct field *f, const struct cnode *v, void *obj)
{
	struct listener_conf *l = obj;

	if (!walk_list(w, v, "routes"))
		return;
	l->routes = xcalloc(w, v, v->n, sizeof(*l->routes));
	if (!l->routes)
		return;
	l->nroutes = v->n;
	for (size_t i = 0; i < v->n; i++)
		walk_section(w, f->arg, v->items[i], &l->routes[i]);
}

/* ---- listeners ---- */

static void field_binds(struct walk *w, const struct field *f, const struct cnode *v, void *obj)
{
	struct listener_conf *l = obj;
	size_t n = v->kind == CNODE_SEQ ? v->n : 1;

	if (v->kind == CNODE_SEQ && !walk_list(w, v, "addresses"))
		return;
	l->binds = xcalloc(w, v, n, sizeof(*l->binds));
	if (!l->binds)
		return;
	l->nbinds = n;
	for (size_t i = 0; i < n; i++)
		walk_address(w, v->kind == CNODE_SEQ ? v->items[i] : v, &l->binds[i]);
}

static void field_trusted(struct walk *w, const struct field *f, const struct cnode *v, void *obj)
{
	static const char what[] = "an IP address or a network without address bits beyond "
				   "its prefix (10.0.0.0/8, 2001:db8::/32)";
	struct listener_conf *l = obj;

	if (!walk_list(w, v, "addresses or networks"))
		return;
	l->trusted = xcalloc(w, v, v->n, sizeof(*l->trusted));
	if (!l->trusted)
		return;
	for (size_t i = 0; i < v->n; i++) {
		const char *s = walk_scalar(w, v->items[i], what);
		if (!s)
			continue;
		if (cidr_parse(s, &l->trusted[l->ntrusted]) < 0)
			cerr_at(w->errs, v->items[i], "expected %s, got \"%s\"", what, s);
		else
			l->ntrusted++;
	}
}

static void check_tcp(struct walk *w, const struct listener_conf *l, const struct cnode *v)
{
	const struct cnode *routes = cnode_get(v, "routes");
	const struct cnode *trusted = cnode_get(v, "trusted_proxies");

	if (l->protocol == PROTO_TCP && trusted)
		cerr_at(w->errs, trusted->key,
			"trusted_proxies applies to http listeners only "
			"(X-Forwarded-For is an HTTP header); a tcp listener behind a balancer "
			"can take the client address from proxy_protocol");
	if (l->protocol != PROTO_TCP || !routes || routes->kind != CNODE_SEQ || routes->n == 0)
		return;
	if (routes->n > 1) {
		cerr_at(w->errs, routes->items[1],
			"tcp listeners route by pool only: expected exactly one route, got %zu",
			routes->n);
		return;
	}
	const struct cnode *match = cnode_get(routes->items[0], "match");
	if (match)
		cerr_at(w->errs, match->key, "tcp listeners route by pool only");
	const struct pool_conf *p = l->routes ? l->routes[0].pool : NULL;
	const struct cnode *ref = cnode_get(routes->items[0], "pool");
	if (!p || !ref)
		return;
	if (p->balance == BALANCE_STICKY_COOKIE)
		cerr_at(w->errs, ref,
			"pool \"%s\" balances by sticky_cookie, which needs HTTP: "
			"a tcp listener cannot use it",
			p->name);
	else if (p->hash_key.header)
		cerr_at(w->errs, ref,
			"pool \"%s\" hashes a header (hash_key: header:%s), "
			"which needs HTTP: a tcp listener cannot use it",
			p->name, p->hash_key.header);
}

/* "192.0.2.1:80", "[2001:db8::1%2]:80", "unix:/path": one text per socket
 * address, so equal addresses written differently collide. */
static void bind_key(const struct lbd_addr *a, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN + 16];
	const struct sockaddr *sa = (const struct sockaddr *)&a->sa;

	addr_host_text(sa, host, sizeof(host));
	if (sa->sa_family == AF_INET)
		snprintf(buf, len, "%s:%u", host,
			 ntohs(((const struct sockaddr_in *)(const void *)sa)->sin_port));
	else if (sa->sa_family == AF_INET6)
		snprintf(buf, len, "[%s%%%u]:%u", host,
			 ((const struct sockaddr_in6 *)(const void *)sa)->sin6_scope_id,
			 ntohs(((const struct sockaddr_in6 *)(const void *)sa)->sin6_port));
	else
		snprintf(buf, len, "unix:%s",
			 ((const struct sockaddr_un *)(const void *)sa)->sun_path);
}

static void report_dup_bind(struct walk *w, const struct uniq *dup, const struct uniq *first)
{
	const struct listener_conf *owner = first->owner;

	if (owner->name)
		cerr_at(w->errs, dup->node,
			"duplicate bind address \"%s\" (first at line %u, listener \"%s\")",
			dup->node->str, first->node->line, owner->name);
	else
		cerr_at(w->errs, dup->node, "duplicate bind address \"%s\" (first at line %u)",
			dup->node->str, first->node->line);
}

static void report_dup_listener(struct walk *w, const struct uniq *dup, const struct uniq *first)
{
	cerr_at(w->errs, dup->node, "duplicate listener name \"%s\" (first at line %u)", dup->key,
		first->node->line);
}

static const struct cnode *bind_node(const struct cnode *listener, size_t i)
{
	const struct cnode *b = cnode_get(listener, "bind");

	return b->kind == CNODE_SEQ ? b->items[i] : b;
}

static void unique_binds(struct walk *w, const struct cnode *v)
{
	struct config *cfg = w->cfg;
	struct uniq *u;
	char(*keys)[ADDR_TEXT_MAX + 32];
	size_t total = 0, nu = 0;

	for (size_t i = 0; i < cfg->nlisteners; i++)
		total += cfg->listeners[i].nbinds;
	if (total < 2)
		return;
	u = xcalloc(w, v, total, sizeof(*u));
	keys = xcalloc(w, v, total, sizeof(*keys));
	for (size_t i = 0; u && keys && i < cfg->nlisteners; i++) {
		const struct listener_conf *l = &cfg->listeners[i];
		for (size_t j = 0; j < l->nbinds; j++) {
			if (!l->binds[j].salen)
				continue; /* already reported */
			bind_key(&l->binds[j], keys[nu], sizeof(keys[nu]));
			u[nu] = (struct uniq){ keys[nu], bind_node(v->items[i], j), l, nu };
			nu++;
		}
	}
	if (u && keys)
		walk_unique(w, u, nu, report_dup_bind);
	free(keys);
	free(u);
}

static void field_listeners(struct walk *w, const struct field *f, const struct cnode *v, void *obj)
{
	struct config *cfg = w->cfg;
	struct uniq *u;
	size_t nu = 0;

	if (!walk_list(w, v, "listeners"))
		return;
	cfg->listeners = xcalloc(w, v, v->n, sizeof(*cfg->listeners));
	if (!cfg->listeners)
		return;
	cfg->nlisteners = v->n;
	for (size_t i = 0; i < v->n; i++) {
		struct listener_conf *l = &cfg->listeners[i];
		l->protocol = PROTO_HTTP;
		walk_section(w, f->arg, v->items[i], l);
		check_tcp(w, l, v->items[i]);
	}
	u = xcalloc(w, v, v->n, sizeof(*u));
	if (!u)
		return;
	for (size_t i = 0; i < v->n; i++)
		if (cfg->listeners[i].name)
			u[nu++] = (struct uniq){ cfg->listeners[i].name,
						 cnode_get(v->items[i], "name"), NULL, i };
	walk_unique(w, u, nu, report_dup_listener);
	free(u);
	unique_binds(w, v);
}

/* ---- the list of keys, for the documentation tests ---- */

/* Lists of mappings, so that their paths show "[]". */
static bool field_is_list(const struct field *f)
{
	return f->parse == field_listeners || f->parse == field_pools ||
	       f->parse == field_servers || f->parse == field_routes ||
	       f->parse == field_certificates;
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
