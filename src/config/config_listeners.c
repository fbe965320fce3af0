/* config_listeners.c — the listeners of lbd.yaml as the schema walks them
 * (config_schema.c holds the tables): binds, trusted proxies, routes and
 * the pools they name, the rules of tcp listeners, and unique listener
 * names and bind addresses.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "config/config_schema.h"
#include "util/units.h"

/* A route naming an unknown pool is told this many of the known ones. */
#define POOL_NAMES_SHOWN 8

/* ---- routes ---- */

void field_match(struct walk *w, const struct field *f, const struct cnode *v, void *obj)
{
	if ((v->kind == CNODE_MAP && v->n == 0) || (v->kind == CNODE_SCALAR && v->null)) {
		cerr_at(w->errs, v,
			"an empty match: give host, path_prefix, path, methods, headers "
			"or query, or leave match out to match every request");
		return;
	}
	walk_section(w, f->arg, v, obj);
}

void config_no_such_pool(struct walk *w, const struct cnode *v, const char *name)
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

void field_pool_ref(struct walk *w, const struct field *f, const struct cnode *v, void *obj)
{
	struct route_conf *r = obj;
	const char *name = walk_scalar(w, v, "the name of a pool");

	if (!name)
		return;
	r->pool = walk_find_pool(w, name);
	if (!r->pool)
		config_no_such_pool(w, v, name);
}

/* An absolute http(s) URL or a path of this site, written as the client
 * will see it in Location: nothing that could end the field. */
void field_redirect_to(struct walk *w, const struct field *f, const struct cnode *v, void *obj)
{
	static const char what[] = "an http:// or https:// URL, or a path starting with \"/\"";
	const char *s = walk_scalar(w, v, what);
	char **slot = walk_slot(obj, f->off);

	if (!s)
		return;
	if (strncmp(s, "http://", 7) != 0 && strncmp(s, "https://", 8) != 0 && s[0] != '/') {
		walk_expected(w, v, what);
		return;
	}
	for (const char *p = s; *p; p++) {
		if ((unsigned char)*p <= 0x20 || *p == 0x7f || *p == '?' || *p == '#') {
			walk_expected(w, v,
				      "a URL without spaces, control characters, \"?\" or \"#\" "
				      "(the request's path and query are added to it)");
			return;
		}
	}
	free(*slot);
	*slot = strdup(s);
	if (!*slot)
		cerr_at(w->errs, v, "out of memory");
}

void field_redirect_status(struct walk *w, const struct field *f, const struct cnode *v, void *obj)
{
	static const char what[] = "a redirect status: 301, 302, 303, 307 or 308";
	const char *s = walk_scalar(w, v, what);
	uint32_t *slot = walk_slot(obj, f->off);

	if (!s)
		return;
	if (strcmp(s, "301") && strcmp(s, "302") && strcmp(s, "303") && strcmp(s, "307") &&
	    strcmp(s, "308")) {
		walk_expected(w, v, what);
		return;
	}
	*slot = (uint32_t)atoi(s);
}

/* A route sends requests to a pool, splits them between pools or answers
 * them with a redirect; strip_prefix needs a prefix to strip. */
static void check_route(struct walk *w, const struct route_conf *r, const struct cnode *v)
{
	const struct cnode *pool = cnode_get(v, "pool");
	const struct cnode *split = cnode_get(v, "split");
	const struct cnode *key = cnode_get(v, "split_key");
	const struct cnode *redirect = cnode_get(v, "redirect");
	const struct cnode *strip = cnode_get(v, "strip_prefix");
	const struct cnode *restore = cnode_get(v, "restore_prefix");

	if (pool && redirect)
		cerr_at(w->errs, redirect->key,
			"a route has either pool or redirect: this one has both");
	else if (split && (pool || redirect))
		cerr_at(w->errs, split->key,
			"a route has one of pool, split and redirect: this one has split and %s",
			pool ? "pool" : "redirect");
	else if (!pool && !redirect && !split)
		cerr_at(w->errs, v, "a route needs pool (where requests go), split or redirect");
	if (key && !split)
		cerr_at(w->errs, key->key, "split_key needs split: there is no side to keep");
	if (strip && r->strip_prefix && !r->path_prefix)
		cerr_at(w->errs, strip->key,
			"strip_prefix needs match.path_prefix: there is no prefix to strip");
	if (restore && !r->strip_prefix)
		cerr_at(w->errs, restore->key,
			"restore_prefix applies only with strip_prefix: true (nothing was taken "
			"off the path)");
}

void field_routes(struct walk *w, const struct field *f, const struct cnode *v, void *obj)
{
	struct listener_conf *l = obj;

	if (!walk_list(w, v, "routes"))
		return;
	l->routes = walk_calloc(w, v, v->n, sizeof(*l->routes));
	if (!l->routes)
		return;
	l->nroutes = v->n;
	for (size_t i = 0; i < v->n; i++) {
		l->routes[i].redirect.status = 301;
		l->routes[i].restore_prefix = true;
		walk_section(w, f->arg, v->items[i], &l->routes[i]);
		if (v->items[i]->kind == CNODE_MAP)
			check_route(w, &l->routes[i], v->items[i]);
	}
}

/* ---- listeners ---- */

void field_binds(struct walk *w, const struct field *f, const struct cnode *v, void *obj)
{
	struct listener_conf *l = obj;
	size_t n = v->kind == CNODE_SEQ ? v->n : 1;

	if (v->kind == CNODE_SEQ && !walk_list(w, v, "addresses"))
		return;
	l->binds = walk_calloc(w, v, n, sizeof(*l->binds));
	if (!l->binds)
		return;
	l->nbinds = n;
	for (size_t i = 0; i < n; i++)
		walk_address(w, v->kind == CNODE_SEQ ? v->items[i] : v, &l->binds[i]);
}

/* A list of addresses and networks into *OUT (N of them valid); each bad
 * one is reported at its place. */
static void cidr_list(struct walk *w, const struct cnode *v, struct cidr **out, size_t *n)
{
	static const char what[] = "an IP address or a network without address bits beyond "
				   "its prefix (10.0.0.0/8, 2001:db8::/32)";

	if (!walk_list(w, v, "addresses or networks"))
		return;
	*out = walk_calloc(w, v, v->n, sizeof(**out));
	if (!*out)
		return;
	for (size_t i = 0; i < v->n; i++) {
		const char *s = walk_scalar(w, v->items[i], what);
		if (!s)
			continue;
		if (cidr_parse(s, &(*out)[*n]) < 0)
			cerr_at(w->errs, v->items[i], "expected %s, got \"%s\"", what, s);
		else
			(*n)++;
	}
}

void field_trusted(struct walk *w, const struct field *f, const struct cnode *v, void *obj)
{
	struct listener_conf *l = obj;

	cidr_list(w, v, &l->trusted, &l->ntrusted);
}

/* OFF is the offset of the struct access_rules in a listener or a route. */
void field_allow(struct walk *w, const struct field *f, const struct cnode *v, void *obj)
{
	struct access_rules *a = (struct access_rules *)((char *)obj + f->off);

	cidr_list(w, v, &a->allow, &a->nallow);
}

void field_deny(struct walk *w, const struct field *f, const struct cnode *v, void *obj)
{
	struct access_rules *a = (struct access_rules *)((char *)obj + f->off);

	cidr_list(w, v, &a->deny, &a->ndeny);
}

static void check_tcp(struct walk *w, const struct listener_conf *l, const struct cnode *v)
{
	const struct cnode *routes = cnode_get(v, "routes");
	const struct cnode *trusted = cnode_get(v, "trusted_proxies");
	const struct cnode *http2 = cnode_get(v, "http2");

	if (l->protocol == PROTO_TCP && trusted)
		cerr_at(w->errs, trusted->key,
			"trusted_proxies applies to http listeners only "
			"(X-Forwarded-For is an HTTP header); a tcp listener behind a balancer "
			"can take the client address from proxy_protocol");
	static const char *const http_keys[] = { "allow", "deny", "errors", "compression" };
	for (size_t i = 0; i < sizeof(http_keys) / sizeof(http_keys[0]); i++) {
		const struct cnode *k = cnode_get(v, http_keys[i]);
		if (l->protocol == PROTO_TCP && k)
			cerr_at(w->errs, k->key,
				"%s applies to http listeners only (it concerns HTTP "
				"answers)",
				http_keys[i]);
	}
	if (l->protocol == PROTO_TCP && http2)
		cerr_at(w->errs, http2->key,
			"http2 applies to http listeners only: a tcp listener relays bytes, "
			"whatever protocol they carry");
	if (l->protocol != PROTO_TCP || !routes || routes->kind != CNODE_SEQ || routes->n == 0)
		return;
	if (routes->n > 1) {
		cerr_at(w->errs, routes->items[1],
			"tcp listeners route by pool only: expected exactly one route, got %zu",
			routes->n);
		return;
	}
	static const char *const http_only[] = { "match",           "redirect",
						 "strip_prefix",    "restore_prefix",
						 "request_headers", "response_headers",
						 "split",           "split_key",
						 "allow",           "deny",
						 "timeouts",        "retry_on" };
	for (size_t i = 0; i < sizeof(http_only) / sizeof(http_only[0]); i++) {
		const struct cnode *k = cnode_get(routes->items[0], http_only[i]);
		if (k)
			cerr_at(w->errs, k->key, "tcp listeners route by pool only");
	}
	if (l->nroutes && l->routes[0].pool && l->routes[0].pool->protocol == POOL_H2)
		cerr_at(w->errs, routes->items[0],
			"pool %s speaks h2: a tcp listener relays bytes, it needs a pool of "
			"protocol http1",
			l->routes[0].pool->name);
	const struct pool_conf *p = l->routes ? l->routes[0].pool : NULL;
	const struct cnode *ref = cnode_get(routes->items[0], "pool");
	if (!p || !ref)
		return;
	if (p->balance == BALANCE_STICKY_COOKIE)
		cerr_at(w->errs, ref,
			"pool \"%s\" balances by sticky_cookie, which needs HTTP: "
			"a tcp listener cannot use it",
			p->name);
	else if (p->hash_key.kind > REQUEST_KEY_CLIENT_IP) {
		char text[CONFIG_NAME_MAX + 16];
		cerr_at(w->errs, ref,
			"pool \"%s\" hashes a part of the request (hash_key: %s), "
			"which needs HTTP: a tcp listener cannot use it",
			p->name, config_request_key_text(&p->hash_key, text, sizeof(text)));
	}
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
	u = walk_calloc(w, v, total, sizeof(*u));
	keys = walk_calloc(w, v, total, sizeof(*keys));
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

void field_listeners(struct walk *w, const struct field *f, const struct cnode *v, void *obj)
{
	struct config *cfg = w->cfg;
	struct uniq *u;
	size_t nu = 0;

	if (!walk_list(w, v, "listeners"))
		return;
	cfg->listeners = walk_calloc(w, v, v->n, sizeof(*cfg->listeners));
	if (!cfg->listeners)
		return;
	cfg->nlisteners = v->n;
	for (size_t i = 0; i < v->n; i++) {
		struct listener_conf *l = &cfg->listeners[i];
		l->protocol = PROTO_HTTP;
		l->http2 = true;
		walk_section(w, f->arg, v->items[i], l);
		if (l->protocol == PROTO_TCP)
			l->http2 = false;
		check_tcp(w, l, v->items[i]);
	}
	u = walk_calloc(w, v, v->n, sizeof(*u));
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
