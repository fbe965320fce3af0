/* config_match.c — the conditions of a route's match beyond host and
 * path_prefix: path, methods, headers and query, checked at load so that
 * routing compares bytes and nothing else (http/route.c).
 */
#include <stdlib.h>
#include <string.h>

#include "config/config_schema.h"

/* RFC 9110 §5.6.2: methods and field names are tokens. */
static bool is_token(const char *s)
{
	static const char extra[] = "!#$%&'*+-.^_`|~";

	if (!*s)
		return false;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      strchr(extra, c)))
			return false;
	}
	return true;
}

/* No byte that could not stand in a request line or field as written. */
static bool is_visible(const char *s, const char *also_refused)
{
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || *s == 0x7f || strchr(also_refused, *s))
			return false;
	return true;
}

void field_match_path(struct walk *w, const struct field *f, const struct cnode *v, void *obj)
{
	static const char what[] = "a path starting with \"/\"";
	struct route_conf *r = obj;
	const char *s = walk_scalar(w, v, what);

	if (!s)
		return;
	if (s[0] != '/' || !is_visible(s, "?#")) {
		walk_expected(w, v,
			      "a path starting with \"/\", without spaces, control characters, "
			      "\"?\" or \"#\" (the query is matched by match.query)");
		return;
	}
	free(r->path);
	r->path = strdup(s);
	if (!r->path)
		cerr_at(w->errs, v, "out of memory");
}

/* Methods are case-sensitive (RFC 9110 §9.1): "get" is not GET, and a
 * lower-case name here is far likelier a slip than an extension method. */
static bool method_ok(const char *s)
{
	if (!is_token(s))
		return false;
	for (; *s; s++)
		if (*s >= 'a' && *s <= 'z')
			return false;
	return true;
}

void field_match_methods(struct walk *w, const struct field *f, const struct cnode *v, void *obj)
{
	struct route_conf *r = obj;

	if (!walk_list(w, v, "request methods"))
		return;
	r->methods = walk_calloc(w, v, v->n, sizeof(*r->methods));
	if (!r->methods)
		return;
	for (size_t i = 0; i < v->n; i++) {
		const char *s = walk_scalar(w, v->items[i], "a request method");
		if (!s)
			continue;
		if (!method_ok(s)) {
			walk_expected(w, v->items[i],
				      "a request method in upper case (GET, POST, PURGE)");
			continue;
		}
		if (!(r->methods[r->nmethods] = strdup(s))) {
			cerr_at(w->errs, v, "out of memory");
			return;
		}
		r->nmethods++;
	}
}

/* NAME: VALUE pairs of V into *OUT; NAME_OK and VALUE_OK say what may
 * stand in each, WHAT_* how to say it when it does not. */
static void match_pairs(struct walk *w, const struct cnode *v, struct match_pair **out, size_t *n,
			bool (*name_ok)(const char *), bool (*value_ok)(const char *),
			const char *what_name, const char *what_value)
{
	if (v->kind != CNODE_MAP || v->n == 0) {
		walk_expected(w, v, "a mapping of names to values");
		return;
	}
	*out = walk_calloc(w, v, v->n / 2, sizeof(**out));
	if (!*out)
		return;
	for (size_t i = 0; i + 1 < v->n; i += 2) {
		const struct cnode *k = v->items[i], *val = v->items[i + 1];
		const char *value = val->kind == CNODE_SCALAR && val->null ? "" : val->str;
		if (!name_ok(k->str)) {
			walk_expected(w, k, what_name);
			continue;
		}
		if (val->kind != CNODE_SCALAR || !value_ok(value)) {
			walk_expected(w, val, what_value);
			continue;
		}
		struct match_pair *p = &(*out)[*n];
		p->name = strdup(k->str);
		p->value = strdup(value);
		if (!p->name || !p->value) {
			free(p->name);
			free(p->value);
			cerr_at(w->errs, v, "out of memory");
			return;
		}
		(*n)++;
	}
}

static bool header_value_ok(const char *s)
{
	for (; *s; s++)
		if (((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7f)
			return false;
	return true;
}

void field_match_headers(struct walk *w, const struct field *f, const struct cnode *v, void *obj)
{
	struct route_conf *r = obj;

	match_pairs(w, v, &r->headers, &r->nheaders, is_token, header_value_ok,
		    "a header field name (letters, digits and !#$%&'*+-.^_`|~)",
		    "a field value without control characters");
}

static bool query_name_ok(const char *s)
{
	return *s && is_visible(s, "&=#");
}

static bool query_value_ok(const char *s)
{
	return is_visible(s, "&#");
}

void field_match_query(struct walk *w, const struct field *f, const struct cnode *v, void *obj)
{
	struct route_conf *r = obj;

	match_pairs(w, v, &r->query, &r->nquery, query_name_ok, query_value_ok,
		    "a query parameter name as sent, without spaces, \"&\", \"=\" or \"#\"",
		    "a query parameter value as sent (not percent-decoded), without spaces, "
		    "\"&\" or \"#\"");
}

static void pairs_free(struct match_pair *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(p[i].name);
		free(p[i].value);
	}
	free(p);
}

void route_match_free(struct route_conf *r)
{
	free(r->path);
	for (size_t i = 0; i < r->nmethods; i++)
		free(r->methods[i]);
	free(r->methods);
	pairs_free(r->headers, r->nheaders);
	pairs_free(r->query, r->nquery);
}
