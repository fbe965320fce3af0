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
	static const char what[] = "client_ip, header:NAME or cookie:NAME";
	static const char tchar[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				    "0123456789!#$%&'*+-.^_`|~";
	struct split_conf *s = &((struct route_conf *)obj)->split;
	const char *str = walk_scalar(w, v, what);
	size_t skip = 0;

	if (!str)
		return;
	if (strcmp(str, "client_ip") == 0) {
		s->key = SPLIT_KEY_CLIENT_IP;
		return;
	}
	if (strncmp(str, "header:", 7) == 0) {
		s->key = SPLIT_KEY_HEADER;
		skip = 7;
	} else if (strncmp(str, "cookie:", 7) == 0) {
		s->key = SPLIT_KEY_COOKIE;
		skip = 7;
	}
	size_t n = skip ? strspn(str + skip, tchar) : 0;
	if (n == 0 || n > CONFIG_NAME_MAX || str[skip + n] != '\0') {
		s->key = SPLIT_KEY_NONE;
		cerr_at(w->errs, v, "expected %s (NAME a header or cookie name), got \"%s\"", what,
			str);
		return;
	}
	s->key_name = strdup(str + skip);
	if (!s->key_name)
		cerr_at(w->errs, v, "out of memory");
}
