/* static_names.c — the servers of the file written as host:port, at the
 * address their names resolve to now (static_names.h).
 *
 * A record says where one server is, by pool and name, for as long as the
 * file writes its address the same way; its copies are the entries made
 * for it, each for one pool of one generation (its tls settings and its
 * index among the file's servers are that generation's). Few servers are
 * written with names, so lists do.
 */
#include "daemon/static_names.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

struct copy {
	struct copy *next;
	const struct pool_conf *p; /* where it is published; compared, never read */
	struct server_conf *srv;   /* owned until retired */
};

struct record {
	struct record *next;
	char *pool;
	char *server;
	char written[ADDR_TEXT_MAX]; /* the address as the file writes it */
	struct lbd_addr addr;        /* where its name resolves now (numeric text) */
	struct copy *copies;
};

struct static_names {
	struct record *records;
};

struct static_names *static_names_new(void)
{
	return calloc(1, sizeof(struct static_names));
}

static void copy_free(struct copy *c)
{
	free(c->srv->name);
	free(c->srv);
	free(c);
}

static void record_free(struct record *r)
{
	while (r->copies) {
		struct copy *c = r->copies;
		r->copies = c->next;
		copy_free(c);
	}
	free(r->pool);
	free(r->server);
	free(r);
}

void static_names_free(struct static_names *sn)
{
	if (!sn)
		return;
	while (sn->records) {
		struct record *r = sn->records;
		sn->records = r->next;
		record_free(r);
	}
	free(sn);
}

/* The record of S, a server of POOL's file, if the file still writes S's
 * address as the record knows it. */
static struct record *find(const struct static_names *sn, const char *pool,
			   const struct server_conf *s, bool any_address)
{
	for (struct record *r = sn->records; r; r = r->next)
		if (strcmp(r->pool, pool) == 0 && strcmp(r->server, s->name) == 0)
			return any_address || strcmp(r->written, s->addr.text) == 0 ? r : NULL;
	return NULL;
}

const struct lbd_addr *static_names_addr(const struct static_names *sn, const char *pool,
					 const struct server_conf *s)
{
	const struct record *r = find(sn, pool, s, false);

	if (r)
		return &r->addr;
	return s->unresolved ? NULL : &s->addr;
}

int static_names_set(struct static_names *sn, const char *pool, const struct server_conf *s,
		     const struct lbd_addr *addr)
{
	struct record *r = find(sn, pool, s, true);

	if (!r) {
		if (!(r = calloc(1, sizeof(*r))) || !(r->pool = strdup(pool)) ||
		    !(r->server = strdup(s->name))) {
			if (r)
				record_free(r);
			return -1;
		}
		r->next = sn->records;
		sn->records = r;
	}
	/* The copies made so far stay until their pools publish others. */
	snprintf(r->written, sizeof(r->written), "%s", s->addr.text);
	r->addr = *addr;
	return 0;
}

/* A copy of S at R's address, for P. */
static struct copy *copy_new(const struct pool_conf *p, struct server_conf *s,
			     const struct record *r)
{
	struct copy *c = calloc(1, sizeof(*c));

	if (!c || !(c->srv = malloc(sizeof(*c->srv)))) {
		free(c);
		return NULL;
	}
	*c->srv = *s;
	if (!(c->srv->name = strdup(s->name))) {
		free(c->srv);
		free(c);
		return NULL;
	}
	/* The written text stays: logs, status, the Host a check sends and
	 * the TLS names are the file's. */
	c->srv->addr.sa = r->addr.sa;
	c->srv->addr.salen = r->addr.salen;
	c->srv->unresolved = false;
	c->srv->file = s;
	c->p = p;
	return c;
}

struct server_conf *static_names_entry(struct static_names *sn, const struct pool_conf *p,
				       struct server_conf *s)
{
	struct record *r = find(sn, p->name, s, false);
	struct copy *c;

	if (!r || (!s->unresolved && addr_equal(&r->addr, &s->addr)))
		return s;
	for (c = r->copies; c; c = c->next)
		if (c->p == p && c->srv->file == s && addr_equal(&c->srv->addr, &r->addr))
			return c->srv;
	if (!(c = copy_new(p, s, r))) {
		log_error("pool %s: server %s: out of memory; it stays at %s", p->name, s->name,
			  s->unresolved ? "no address" : "the address of the load");
		return s;
	}
	c->next = r->copies;
	r->copies = c;
	return c->srv;
}

static bool holds(struct server_conf *const *servers, size_t n, const struct server_conf *srv)
{
	for (size_t i = 0; i < n; i++)
		if (servers[i] == srv)
			return true;
	return false;
}

void static_names_published(struct static_names *sn, const struct pool_conf *p,
			    struct server_conf *const *servers, size_t n,
			    static_names_retire_fn *retire, void *arg)
{
	for (struct record *r = sn->records; r; r = r->next)
		for (struct copy **cp = &r->copies; *cp;) {
			struct copy *c = *cp;
			if (c->p != p || holds(servers, n, c->srv)) {
				cp = &c->next;
				continue;
			}
			*cp = c->next;
			retire(arg, c->srv);
			free(c);
		}
}

/* Whether CFG's file writes R's server as R knows it. */
static bool written_so(const struct config *cfg, const struct record *r)
{
	const struct pool_conf *p = config_find_pool(cfg, r->pool);

	for (size_t i = 0; p && i < p->nservers; i++)
		if (strcmp(p->servers[i].name, r->server) == 0)
			return strcmp(p->servers[i].addr.text, r->written) == 0;
	return false;
}

void static_names_keep(struct static_names *sn, const struct config *cfg,
		       static_names_retire_fn *retire, void *arg)
{
	for (struct record **rp = &sn->records; *rp;) {
		struct record *r = *rp;
		if (written_so(cfg, r)) {
			rp = &r->next;
			continue;
		}
		*rp = r->next;
		while (r->copies) {
			struct copy *c = r->copies;
			r->copies = c->next;
			retire(arg, c->srv);
			free(c);
		}
		record_free(r);
	}
}
