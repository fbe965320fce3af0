/* config_headers.c — the header rules of routes (request_headers,
 * response_headers): field names checked at load, values checked for the
 * variables they may use. The rules are applied per request by
 * http/header_rules.c.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/config_schema.h"

/* Fields lbd owns: the framing and the connection's own (hop-by-hop), and
 * Host, which routing read. A rule on them would break the exchange. */
static const char *const owned[] = {
	"connection", "keep-alive",        "proxy-connection", "te",   "trailer",
	"upgrade",    "transfer-encoding", "content-length",   "host",
};

bool config_header_name_ok(const char *name, const char **why)
{
	static const char extra[] = "!#$%&'*+-.^_`|~";

	if (!*name) {
		*why = "an empty field name";
		return false;
	}
	for (const char *p = name; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      strchr(extra, c))) {
			*why = "a field name is made of letters, digits and !#$%&'*+-.^_`|~";
			return false;
		}
	}
	for (size_t i = 0; i < sizeof(owned) / sizeof(owned[0]); i++) {
		if (strcasecmp(name, owned[i]) == 0) {
			*why = "lbd owns this field (the framing, the connection's own fields "
			       "and Host are not for rules to change)";
			return false;
		}
	}
	return true;
}

bool config_header_value_ok(const char *value, bool server, const char **why)
{
	for (const char *p = value; *p; p++) {
		if (((unsigned char)*p < 0x20 && *p != '\t') || *p == 0x7f) {
			*why = "a control character in a field value";
			return false;
		}
		if (p[0] != '$' || p[1] != '{')
			continue;
		const char *end = strchr(p, '}');
		size_t len = end ? (size_t)(end - p - 2) : 0;
		if ((len == 9 && strncmp(p + 2, "client_ip", 9) == 0) ||
		    (len == 10 && strncmp(p + 2, "request_id", 10) == 0) ||
		    (server && len == 6 && strncmp(p + 2, "server", 6) == 0)) {
			p = end;
			continue;
		}
		*why = server ? "a value may use ${client_ip}, ${request_id} and ${server}" :
				"a request's value may use ${client_ip} and ${request_id} "
				"(the server is not chosen yet when its head is written)";
		return false;
	}
	return true;
}

static bool name_checked(struct walk *w, const struct cnode *v, const char *name)
{
	const char *why;

	if (config_header_name_ok(name, &why))
		return true;
	cerr_at(w->errs, v, "\"%s\": %s", name, why);
	return false;
}

/* f->max is 1 where ${server} is known: in responses. */
static void field_header_set(struct walk *w, const struct field *f, const struct cnode *v,
			     void *obj)
{
	struct header_rules *r = walk_slot(obj, f->off);
	const char *why;

	if (v->kind != CNODE_MAP || v->n == 0) {
		walk_expected(w, v, "a mapping of field names to values");
		return;
	}
	r->set = walk_calloc(w, v, v->n / 2, sizeof(*r->set));
	if (!r->set)
		return;
	for (size_t i = 0; i + 1 < v->n; i += 2) {
		const struct cnode *k = v->items[i], *val = v->items[i + 1];
		if (!name_checked(w, k, k->str))
			continue;
		if (val->kind != CNODE_SCALAR) {
			walk_expected(w, val, "a field value");
			continue;
		}
		if (!config_header_value_ok(val->str, f->max == 1, &why)) {
			cerr_at(w->errs, val, "%s", why);
			continue;
		}
		struct header_set *hs = &r->set[r->nset];
		hs->name = strdup(k->str);
		hs->value = strdup(val->null ? "" : val->str);
		if (!hs->name || !hs->value) {
			free(hs->name);
			free(hs->value);
			cerr_at(w->errs, v, "out of memory");
			return;
		}
		r->nset++;
	}
}

static void field_header_remove(struct walk *w, const struct field *f, const struct cnode *v,
				void *obj)
{
	struct header_rules *r = walk_slot(obj, f->off);

	if (!walk_list(w, v, "field names"))
		return;
	r->remove = walk_calloc(w, v, v->n, sizeof(*r->remove));
	if (!r->remove)
		return;
	for (size_t i = 0; i < v->n; i++) {
		const char *name = walk_scalar(w, v->items[i], "a field name");
		if (!name || !name_checked(w, v->items[i], name))
			continue;
		if (!(r->remove[r->nremove] = strdup(name))) {
			cerr_at(w->errs, v, "out of memory");
			return;
		}
		r->nremove++;
	}
}

static const struct field request_header_fields[] = {
	{ "set", field_header_set, 0, 0, 0, NULL, false },
	{ "remove", field_header_remove, 0, 0, 0, NULL, false },
};
const struct section request_headers_section = SECTION(request_header_fields);

static const struct field response_header_fields[] = {
	{ "set", field_header_set, 0, 0, 1, NULL, false },
	{ "remove", field_header_remove, 0, 0, 0, NULL, false },
};
const struct section response_headers_section = SECTION(response_header_fields);

void header_rules_free(struct header_rules *r)
{
	for (size_t i = 0; i < r->nset; i++) {
		free(r->set[i].name);
		free(r->set[i].value);
	}
	for (size_t i = 0; i < r->nremove; i++)
		free(r->remove[i]);
	free(r->set);
	free(r->remove);
}
