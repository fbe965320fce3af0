/* config_pools.c — the pools of lbd.yaml as the schema walks them
 * (config_schema.c holds the tables): each pool and its servers, the hash
 * key and sticky sections, the checks between a pool's keys, and unique
 * pool and server names.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "config/config_schema.h"
#include "core/retry_budget.h"
#include "util/units.h"

void field_hash_key(struct walk *w, const struct field *f, const struct cnode *v, void *obj)
{
	struct pool_conf *pool = obj;

	pool->has_hash_key = true;
	config_request_key(w, v, &pool->hash_key);
}

void field_sticky(struct walk *w, const struct field *f, const struct cnode *v, void *obj)
{
	((struct pool_conf *)obj)->has_sticky = true;
	field_section(w, f, v, obj);
	config_check_sticky_secrets(w, v);
}

void field_queue(struct walk *w, const struct field *f, const struct cnode *v, void *obj)
{
	((struct pool_conf *)obj)->has_queue = true;
	field_section(w, f, v, obj);
}

/* A queue holds the requests over max_requests_per_server: without the
 * cap nothing would ever wait in it. */
static void check_queue(struct walk *w, const struct pool_conf *p, const struct cnode *v)
{
	const struct cnode *k;

	if (p->has_queue && !p->max_requests_per_server && (k = cnode_get(v, "queue")))
		cerr_at(w->errs, k->key, "applies only with max_requests_per_server above 0");
}

/* Keys that only make sense with some algorithms. */
static void check_balance(struct walk *w, const struct pool_conf *p, const struct cnode *v)
{
	const struct cnode *k;
	bool hashes = p->balance == BALANCE_IP_HASH || p->balance == BALANCE_MAGLEV ||
		      (p->balance == BALANCE_STICKY_COOKIE &&
		       p->sticky.fallback == BALANCE_IP_HASH);

	if (p->has_hash_key && !hashes && (k = cnode_get(v, "hash_key")))
		cerr_at(w->errs, k->key,
			"hash_key applies only with balance: ip_hash or maglev "
			"(or sticky_cookie with fallback: ip_hash)");
	if (p->has_sticky && p->balance != BALANCE_STICKY_COOKIE && (k = cnode_get(v, "sticky")))
		cerr_at(w->errs, k->key, "sticky applies only with balance: sticky_cookie");
}

/* The header goes first on the connection, before any TLS handshake, and
 * an h2 connection carries the streams of many clients: lbd does neither
 * (pools[].send_proxy in lbd.yaml(5)). */
static void check_send_proxy(struct walk *w, const struct pool_conf *p, const struct cnode *v)
{
	const struct cnode *k = cnode_get(v, "send_proxy");

	if (!k || p->send_proxy == SEND_PROXY_OFF)
		return;
	if (p->protocol == POOL_H2)
		cerr_at(w->errs, k->key,
			"send_proxy does not go with protocol: h2 (one connection carries many "
			"clients' streams); use protocol: http1 for this pool");
	else if (p->tls.enabled)
		cerr_at(w->errs, k->key,
			"send_proxy does not go with tls: lbd sends the PROXY header only on plain "
			"connections to servers");
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

void field_servers(struct walk *w, const struct field *f, const struct cnode *v, void *obj)
{
	struct pool_conf *pool = obj;
	struct uniq *u;
	size_t nu = 0;

	if (v->kind == CNODE_SEQ && v->n == 0)
		return; /* servers: [] beside discovery (checked with the pool) */
	if (!walk_list(w, v, "servers"))
		return;
	pool->servers = walk_calloc(w, v, v->n, sizeof(*pool->servers));
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
	u = walk_calloc(w, v, v->n, sizeof(*u));
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

	w->pool_index = walk_calloc(w, v, cfg->npools, sizeof(*w->pool_index));
	if (!w->pool_index)
		return;
	for (size_t i = 0; i < cfg->npools; i++)
		if (cfg->pools[i].name)
			w->pool_index[w->npool_index++] = &cfg->pools[i];
	qsort(w->pool_index, w->npool_index, sizeof(*w->pool_index), pool_cmp);
}

struct pool_conf *walk_find_pool(struct walk *w, const char *name)
{
	struct pool_conf key = { .name = (char *)name }, *keyp = &key, **found;

	if (!w->npool_index)
		return NULL;
	found = bsearch(&keyp, w->pool_index, w->npool_index, sizeof(*w->pool_index), pool_cmp);
	return found ? *found : NULL;
}

void field_pools(struct walk *w, const struct field *f, const struct cnode *v, void *obj)
{
	struct config *cfg = w->cfg;
	struct uniq *u;
	size_t nu = 0;

	if (!walk_list(w, v, "pools"))
		return;
	cfg->pools = walk_calloc(w, v, v->n, sizeof(*cfg->pools));
	if (!cfg->pools)
		return;
	cfg->npools = v->n;
	for (size_t i = 0; i < v->n; i++) {
		struct pool_conf *p = &cfg->pools[i];
		p->balance = BALANCE_ROUND_ROBIN;
		p->timeouts = cfg->timeouts;
		p->retries = cfg->retries;
		p->retry_budget = RETRY_BUDGET_DEFAULT_PERCENT;
		p->limits = cfg->limits;
		p->passive = cfg->passive;
		p->sticky.fallback = BALANCE_ROUND_ROBIN;
		p->queue.size = CONFIG_QUEUE_SIZE_DEFAULT;
		p->queue.timeout_ms = CONFIG_QUEUE_TIMEOUT_DEFAULT_MS;
		walk_section(w, f->arg, v->items[i], p);
		if (!p->sticky.cookie)
			p->sticky.cookie = strdup(STICKY_COOKIE_DEFAULT);
		check_balance(w, p, v->items[i]);
		check_queue(w, p, v->items[i]);
		check_send_proxy(w, p, v->items[i]);
		/* servers: [] (or none) only beside discovery */
		if (!p->nservers && !p->discovery.enabled && v->items[i]->kind == CNODE_MAP)
			cerr_at(w->errs,
				cnode_get(v->items[i], "servers") ?
					cnode_get(v->items[i], "servers") :
					v->items[i],
				"a pool needs servers, or discovery to find them");
		config_build_pool_tls(w, p, v->items[i]);
	}
	u = walk_calloc(w, v, v->n, sizeof(*u));
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
