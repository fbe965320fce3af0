/* config_compression.c — listeners[].compression: which responses lbd
 * gzips for the clients that accept it. `true` (or an empty mapping) takes
 * the defaults: the common text types, 1k and up, level 1 (zlib's fastest,
 * as nginx's gzip_comp_level: a load balancer spends its CPU on many
 * connections, and level 1 already shrinks text several times).
 */
#include <stdlib.h>
#include <string.h>

#include "config/config_schema.h"

static const char *const default_types[] = {
	"text/html",        "text/plain",      "text/css",
	"text/xml",         "text/javascript", "application/javascript",
	"application/json", "application/xml", "application/manifest+json",
	"image/svg+xml",
};

/* RFC 9110 §5.6.2 tchar */
static bool is_tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* TYPE/SUBTYPE of tokens, or TYPE/ * for a whole top-level type. */
static bool media_type_ok(const char *s)
{
	const char *slash = strchr(s, '/');

	if (!slash || slash == s || strlen(s) > COMPRESSION_TYPE_MAX)
		return false;
	for (const char *p = s; p < slash; p++)
		if (!is_tchar(*p))
			return false;
	if (strcmp(slash + 1, "*") == 0)
		return true;
	if (!slash[1])
		return false;
	for (const char *p = slash + 1; *p; p++)
		if (!is_tchar(*p) || *p == '/')
			return false;
	return true;
}

static char *lower_dup(const char *s)
{
	char *d = strdup(s);

	for (char *p = d; p && *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p + 32);
	return d;
}

void field_compression_types(struct walk *w, const struct field *f, const struct cnode *v,
			     void *obj)
{
	struct compression_conf *c = obj;

	(void)f;
	if (!walk_list(w, v, "media types such as text/html"))
		return;
	c->types = walk_calloc(w, v, v->n, sizeof(*c->types));
	if (!c->types)
		return;
	for (size_t i = 0; i < v->n; i++) {
		const char *t = walk_scalar(w, v->items[i], "a media type such as text/html");
		if (!t)
			continue;
		if (!media_type_ok(t)) {
			walk_expected(w, v->items[i],
				      "a media type such as text/html or text/* (no parameters)");
			continue;
		}
		if (!(c->types[c->ntypes] = lower_dup(t))) {
			cerr_at(w->errs, v, "out of memory");
			return;
		}
		c->ntypes++;
	}
}

static void default_compression(struct walk *w, const struct cnode *v, struct compression_conf *c)
{
	size_t n = sizeof(default_types) / sizeof(default_types[0]);

	if (!c->min_size && !cnode_get(v, "min_size"))
		c->min_size = COMPRESSION_MIN_SIZE_DEFAULT;
	if (!c->level)
		c->level = COMPRESSION_LEVEL_DEFAULT;
	if (c->types || cnode_get(v, "types"))
		return;
	c->types = walk_calloc(w, v, n, sizeof(*c->types));
	for (size_t i = 0; c->types && i < n; i++) {
		if (!(c->types[i] = strdup(default_types[i]))) {
			cerr_at(w->errs, v, "out of memory");
			return;
		}
		c->ntypes++;
	}
}

void field_compression(struct walk *w, const struct field *f, const struct cnode *v, void *obj)
{
	struct compression_conf *c = walk_slot(obj, f->off);

	if (v->kind == CNODE_SCALAR && !v->null) {
		field_bool(w, &(struct field){ .off = offsetof(struct compression_conf, enabled) },
			   v, c);
		if (c->enabled)
			default_compression(w, v, c);
		return;
	}
	c->enabled = true;
	field_section(w, f, v, obj);
	default_compression(w, v, c);
}

void compression_conf_free(struct compression_conf *c)
{
	for (size_t i = 0; i < c->ntypes; i++)
		free(c->types[i]);
	free(c->types);
}
