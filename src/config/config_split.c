/* config_split.c — a route's split between pools (routes[].split) and the
 * key that keeps a client on its side (routes[].split_key). The pick is
 * made per request by http/route.c.
 */
#include <stdlib.h>
#include <string.h>

#include "config/config_schema.h"

/* Sides beyond this are a configuration mistake, and the bound keeps the
 * total weight within 32 bits. */
#define SPLIT_SIDES_MAX 64

void field_split_pool(struct walk *w, const struct field *f, const struct cnode *v, void *obj)
{
	struct split_side *side = obj;
	const char *name = walk_scalar(w, v, "the name of a pool");

	if (!name)
		return;
	side->pool = walk_find_pool(w, name);
	if (!side->pool)
		config_no_such_pool(w, v, name);
}

void field_split(struct walk *w, const struct field *f, const struct cnode *v, void *obj)
{
	struct split_conf *s = &((struct route_conf *)obj)->split;

	if (!walk_list(w, v, "pools and their weights"))
		return;
	if (v->n > SPLIT_SIDES_MAX) {
		cerr_at(w->errs, v, "a split has at most %d pools, got %zu", SPLIT_SIDES_MAX, v->n);
		return;
	}
	s->sides = walk_calloc(w, v, v->n, sizeof(*s->sides));
	if (!s->sides)
		return;
	s->nsides = v->n;
	for (size_t i = 0; i < v->n; i++) {
		walk_section(w, f->arg, v->items[i], &s->sides[i]);
		s->total += s->sides[i].weight;
	}
	if (s->total == 0)
		cerr_at(w->errs, v,
			"the weights of a split add up to 0: no pool would get a request");
}

void field_split_key(struct walk *w, const struct field *f, const struct cnode *v, void *obj)
{
	config_request_key(w, v, &((struct route_conf *)obj)->split.key);
}
