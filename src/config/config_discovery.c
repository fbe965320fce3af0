/* config_discovery.c — resolvers[] and pools[].discovery as the schema walks
 * them (config_schema.c holds the tables): the resolvers discovery may use,
 * and what a pool discovers, with the checks between them. Nothing is
 * resolved here: lbd -t checks the syntax and the resolvers' addresses. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_schema.h"
#include "util/units.h"

#define DISCOVERY_HOLD_DEFAULT_MS 5000
#define DISCOVERY_EMPTY_AFTER_DEFAULT_MS 30000

static void field_nameservers(struct walk *w, const struct field *f, const struct cnode *v,
			      void *obj)
{
	struct resolver_conf *r = obj;

	if (!walk_list(w, v, "nameserver addresses (IP:PORT)"))
		return;
	r->nameservers = walk_calloc(w, v, v->n, sizeof(*r->nameservers));
	if (!r->nameservers)
		return;
	for (size_t i = 0; i < v->n; i++) {
		struct lbd_addr *a = &r->nameservers[i];
		const struct cnode *item = v->items[i];
		/* A name server's name would need a name server: never resolved. */
		if (item->kind == CNODE_SCALAR && !addr_is_numeric(item->str)) {
			walk_expected(w, item, "an IP address and port (IP:PORT or [IPv6]:PORT)");
			continue;
		}
		if (walk_address(w, item, a) < 0)
			continue;
		if (a->sa.ss_family != AF_INET && a->sa.ss_family != AF_INET6)
			cerr_at(w->errs, v->items[i], "expected an IP address and port, got %s",
				a->text);
		else
			r->nnameservers++;
	}
}

static const struct field resolver_fields[] = {
	{ "name", field_name, offsetof(struct resolver_conf, name), 0, 0, NULL, true },
	{ "nameservers", field_nameservers, 0, 0, 0, NULL, true },
	{ "timeout", field_duration, offsetof(struct resolver_conf, timeout_ms), 100, 60000, NULL,
	  false },
	{ "attempts", field_u32, offsetof(struct resolver_conf, attempts), 1, 10, NULL, false },
};
const struct section resolver_section = SECTION(resolver_fields);

static void report_dup_resolver(struct walk *w, const struct uniq *dup, const struct uniq *first)
{
	cerr_at(w->errs, dup->node, "duplicate resolver name \"%s\" (first at line %u)", dup->key,
		first->node->line);
}

void field_resolvers(struct walk *w, const struct field *f, const struct cnode *v, void *obj)
{
	struct config *cfg = w->cfg;
	struct uniq *u;
	size_t nu = 0;

	if (!walk_list(w, v, "resolvers"))
		return;
	cfg->resolvers = walk_calloc(w, v, v->n, sizeof(*cfg->resolvers));
	if (!cfg->resolvers)
		return;
	cfg->nresolvers = v->n;
	for (size_t i = 0; i < v->n; i++) {
		cfg->resolvers[i].timeout_ms = 2000;
		cfg->resolvers[i].attempts = 2;
		walk_section(w, f->arg, v->items[i], &cfg->resolvers[i]);
	}
	u = walk_calloc(w, v, v->n, sizeof(*u));
	if (!u)
		return;
	for (size_t i = 0; i < v->n; i++)
		if (cfg->resolvers[i].name)
			u[nu++] = (struct uniq){ cfg->resolvers[i].name,
						 cnode_get(v->items[i], "name"), NULL, i };
	walk_unique(w, u, nu, report_dup_resolver);
	free(u);
}

/* A DNS name: labels of letters, digits, '-' and '_' (SRV's), dots
 * between them, at most 253 bytes; a final dot is allowed. */
static bool dns_name_ok(const char *s)
{
	size_t len = strlen(s), label = 0;

	if (!len || len > 254 || (len == 254 && s[253] != '.'))
		return false;
	for (const char *p = s; *p; p++) {
		if (*p == '.') {
			if (!label)
				return false;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_')
			return false;
		if (++label > 63)
			return false;
	}
	return true;
}

static void field_dns(struct walk *w, const struct field *f, const struct cnode *v, void *obj)
{
	struct discovery_conf *d = obj;
	const char *s = walk_scalar(w, v, "a DNS name");

	if (!s)
		return;
	if (!dns_name_ok(s)) {
		walk_expected(w, v,
			      "a DNS name (letters, digits, '-' and '_', dots between labels)");
		return;
	}
	d->dns = strdup(s);
	d->srv = s[0] == '_';
}

static void field_resolver_ref(struct walk *w, const struct field *f, const struct cnode *v,
			       void *obj)
{
	struct discovery_conf *d = obj;
	const struct config *cfg = w->cfg;
	const char *s = walk_scalar(w, v, "the name of a resolver");

	if (!s)
		return;
	for (size_t i = 0; i < cfg->nresolvers; i++) {
		if (cfg->resolvers[i].name && strcmp(cfg->resolvers[i].name, s) == 0) {
			d->resolver = strdup(s);
			return;
		}
	}
	cerr_at(w->errs, v, "no resolver named \"%s\" (resolvers[] names them)", s);
}

static const struct field discovery_fields[] = {
	{ "dns", field_dns, 0, 0, 0, NULL, true },
	{ "port", field_u32, offsetof(struct discovery_conf, port), 1, 65535, NULL, false },
	{ "resolver", field_resolver_ref, 0, 0, 0, NULL, false },
	{ "refresh", field_duration, offsetof(struct discovery_conf, refresh_ms), 1000, 3600 * 1000,
	  NULL, false },
	{ "hold", field_duration, offsetof(struct discovery_conf, hold_ms), 0, 3600 * 1000, NULL,
	  false },
	{ "empty_after", field_duration, offsetof(struct discovery_conf, empty_after_ms), 0,
	  24 * 3600 * 1000, NULL, false },
};
const struct section discovery_section = SECTION(discovery_fields);

void field_discovery(struct walk *w, const struct field *f, const struct cnode *v, void *obj)
{
	struct discovery_conf *d = (void *)((char *)obj + f->off);
	uint32_t port = 0;

	*d = (struct discovery_conf){
		.enabled = true,
		.refresh_ms = DISCOVERY_REFRESH_DEFAULT_MS,
		.hold_ms = DISCOVERY_HOLD_DEFAULT_MS,
		.empty_after_ms = DISCOVERY_EMPTY_AFTER_DEFAULT_MS,
	};
	walk_section(w, f->arg, v, d);
	port = d->port;
	if (v->kind != CNODE_MAP || !d->dns)
		return;
	const struct cnode *k = cnode_get(v, "port");
	if (d->srv && k)
		cerr_at(w->errs, k, "an SRV name gives the servers' ports (drop port)");
	else if (!d->srv && !port)
		cerr_at(w->errs, cnode_get(v, "dns"),
			"an A/AAAA name needs port: the servers' port (or give an SRV name, "
			"\"_service._tcp.NAME\")");
}
