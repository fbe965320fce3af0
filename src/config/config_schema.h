/* config_schema.h — the table-driven schema engine (private to the
 * configuration loader).
 *
 * A section is a table of fields: key, parser, offset into the object being
 * filled, bounds, a nested table or value list, and whether it is required.
 * config_walk.c implements the engine and the scalar types (integers,
 * durations, sizes, names...); config_schema.c holds the tables for
 * lbd.yaml, the lists, and the checks that span several sections.
 */
#ifndef LBD_CONFIG_SCHEMA_H
#define LBD_CONFIG_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "config/config_node.h"

struct walk {
	struct config *cfg;
	struct cerrs *errs;
	struct pool_conf **pool_index; /* named pools sorted by name, for routes */
	size_t npool_index;
};

struct field;
typedef void (*field_fn)(struct walk *w, const struct field *f, const struct cnode *v, void *obj);

struct field {
	const char *key;
	field_fn parse; /* reads V into (char *)OBJ + off */
	size_t off;
	uint64_t min, max; /* integers, durations, sizes */
	const void *arg;   /* a nested struct section (a mapping, or the
			    * items of a list of mappings), or struct
			    * enum_name[] for field_enum */
	bool required;
};

/* A key that is valid elsewhere, with the sentence that says where. */
struct misplaced {
	const char *key;
	const char *why;
};

struct section {
	const struct field *fields;
	size_t nfields;
	const struct misplaced *misplaced;
	size_t nmisplaced;
};

#define SECTION(f) \
	{ \
		(f), sizeof(f) / sizeof((f)[0]), NULL, 0 \
	}
#define SECTION_ELSEWHERE(f, m) \
	{ \
		(f), sizeof(f) / sizeof((f)[0]), (m), sizeof(m) / sizeof((m)[0]) \
	}

struct enum_name {
	const char *name; /* NULL ends the list */
	int value;
};

/* Fill OBJ from the mapping V: every field present is parsed, every
 * required one absent and every unknown key is reported. */
void walk_section(struct walk *w, const struct section *s, const struct cnode *v, void *obj);

/* V's text when it is a non-empty scalar, else reports "expected WHAT". */
const char *walk_scalar(struct walk *w, const struct cnode *v, const char *what);

/* V when it is a non-empty list, else reports "expected a non-empty list of WHAT". */
const struct cnode *walk_list(struct walk *w, const struct cnode *v, const char *what);

/* Field parsers; OBJ + off points at the type named. */
void field_section(struct walk *w, const struct field *f, const struct cnode *v, void *obj);
void field_u32(struct walk *w, const struct field *f, const struct cnode *v, void *obj);
void field_duration(struct walk *w, const struct field *f, const struct cnode *v, void *obj);
void field_size(struct walk *w, const struct field *f, const struct cnode *v, void *obj);
void field_bool(struct walk *w, const struct field *f, const struct cnode *v, void *obj);
void field_enum(struct walk *w, const struct field *f, const struct cnode *v, void *obj);
void field_name(struct walk *w, const struct field *f, const struct cnode *v, void *obj);
void field_server_name(struct walk *w, const struct field *f, const struct cnode *v, void *obj);
void field_address(struct walk *w, const struct field *f, const struct cnode *v, void *obj);
/* pools[].servers[].address: as field_address, but a host name that does
 * not resolve marks the server unresolved instead of failing the file. */
void field_server_address(struct walk *w, const struct field *f, const struct cnode *v, void *obj);
void field_workers(struct walk *w, const struct field *f, const struct cnode *v, void *obj);
void field_access(struct walk *w, const struct field *f, const struct cnode *v, void *obj);
void field_socket_path(struct walk *w, const struct field *f, const struct cnode *v, void *obj);
/* global.admin.token_file: the file is read here, so that a token that
 * cannot be read fails the load (and a reload picks up a new one). */
void field_token_file(struct walk *w, const struct field *f, const struct cnode *v, void *obj);
void field_user(struct walk *w, const struct field *f, const struct cnode *v, void *obj);
void field_group(struct walk *w, const struct field *f, const struct cnode *v, void *obj);
void field_host(struct walk *w, const struct field *f, const struct cnode *v, void *obj);
void field_cookie_name(struct walk *w, const struct field *f, const struct cnode *v, void *obj);
/* "expected WHAT, got ..." at V. */
void walk_expected(struct walk *w, const struct cnode *v, const char *what);

/* The field at offset OFF of the object being filled. */
static inline void *walk_slot(void *obj, size_t off)
{
	return (char *)obj + off;
}

/* calloc() that reports running out of memory at V. */
void *walk_calloc(struct walk *w, const struct cnode *v, size_t n, size_t size);

/* The pools and their servers (config_pools.c). */
void field_pools(struct walk *w, const struct field *f, const struct cnode *v, void *obj);
void field_servers(struct walk *w, const struct field *f, const struct cnode *v, void *obj);
void field_hash_key(struct walk *w, const struct field *f, const struct cnode *v, void *obj);
void field_sticky(struct walk *w, const struct field *f, const struct cnode *v, void *obj);
void field_queue(struct walk *w, const struct field *f, const struct cnode *v, void *obj);
/* Its secrets (config_secret.c): a string, or a file read now (relative to
 * the file that names it); OBJ + off is a struct sticky_secret. The check
 * takes the sticky mapping once it is walked: at most one of secret and
 * secret_file (and of the previous_ pair), and a previous one only with a
 * current one. */
void field_sticky_secret(struct walk *w, const struct field *f, const struct cnode *v, void *obj);
void field_sticky_secret_file(struct walk *w, const struct field *f, const struct cnode *v,
			      void *obj);
void config_check_sticky_secrets(struct walk *w, const struct cnode *v);
/* The pool named NAME, once the pools were walked; NULL when none is. */
struct pool_conf *walk_find_pool(struct walk *w, const char *name);
/* The listeners and their routes (config_listeners.c). */
void field_listeners(struct walk *w, const struct field *f, const struct cnode *v, void *obj);
void field_binds(struct walk *w, const struct field *f, const struct cnode *v, void *obj);
void field_trusted(struct walk *w, const struct field *f, const struct cnode *v, void *obj);
void field_error_pages(struct walk *w, const struct field *f, const struct cnode *v, void *obj);
/* listeners[].compression (config_compression.c): true, false, or a
 * mapping of the section in f->arg, with defaults for what it leaves out. */
void field_compression(struct walk *w, const struct field *f, const struct cnode *v, void *obj);
void field_compression_types(struct walk *w, const struct field *f, const struct cnode *v,
			     void *obj);
void field_allow(struct walk *w, const struct field *f, const struct cnode *v, void *obj);
void field_deny(struct walk *w, const struct field *f, const struct cnode *v, void *obj);
void field_routes(struct walk *w, const struct field *f, const struct cnode *v, void *obj);
void field_match(struct walk *w, const struct field *f, const struct cnode *v, void *obj);
void field_pool_ref(struct walk *w, const struct field *f, const struct cnode *v, void *obj);
/* "no pool named NAME", with the names of some that are
 * (config_listeners.c). */
void config_no_such_pool(struct walk *w, const struct cnode *v, const char *name);
/* What a request is keyed by (pools[].hash_key, routes[].split_key), read
 * from V into *KEY (config_request_key.c). */
void config_request_key(struct walk *w, const struct cnode *v, struct request_key *key);
/* Its text as written ("header:X-User"), in BUF of LEN bytes. */
const char *config_request_key_text(const struct request_key *key, char *buf, size_t len);
/* routes[].split, its sides' pools, and split_key (config_split.c). */
void field_split(struct walk *w, const struct field *f, const struct cnode *v, void *obj);
void field_split_pool(struct walk *w, const struct field *f, const struct cnode *v, void *obj);
void field_split_key(struct walk *w, const struct field *f, const struct cnode *v, void *obj);
/* routes[].retry_on and pools[].retry_budget (config_retry.c); OBJ + off
 * of field_percent is a uint32_t. */
void field_retry_on(struct walk *w, const struct field *f, const struct cnode *v, void *obj);
void field_percent(struct walk *w, const struct field *f, const struct cnode *v, void *obj);
/* match.path, methods, headers and query (config_match.c). */
void field_match_path(struct walk *w, const struct field *f, const struct cnode *v, void *obj);
void field_match_methods(struct walk *w, const struct field *f, const struct cnode *v, void *obj);
void field_match_headers(struct walk *w, const struct field *f, const struct cnode *v, void *obj);
void field_match_query(struct walk *w, const struct field *f, const struct cnode *v, void *obj);
/* routes[].rate_limit (config_rate_limit.c). */
void field_rate_limit(struct walk *w, const struct field *f, const struct cnode *v, void *obj);
void field_rate_key(struct walk *w, const struct field *f, const struct cnode *v, void *obj);
void field_rate(struct walk *w, const struct field *f, const struct cnode *v, void *obj);
/* routes[].redirect.to and .status (config_listeners.c). */
void field_redirect_to(struct walk *w, const struct field *f, const struct cnode *v, void *obj);
void field_redirect_status(struct walk *w, const struct field *f, const struct cnode *v, void *obj);
/* routes[].request_headers and response_headers (config_headers.c): the
 * sections, with set (a mapping of names to values) and remove (a list of
 * names); OBJ + off is a struct header_rules. */
extern const struct section request_headers_section, response_headers_section;
/* The checks on their names and values, pure for the unit tests: false
 * with *WHY saying what is wrong. SERVER: ${server} may be used. */
bool config_header_name_ok(const char *name, const char **why);
bool config_header_value_ok(const char *value, bool server, const char **why);
/* resolvers[] and pools[].discovery (config_discovery.c). */
extern const struct section resolver_section, discovery_section;
void field_resolvers(struct walk *w, const struct field *f, const struct cnode *v, void *obj);
void field_discovery(struct walk *w, const struct field *f, const struct cnode *v, void *obj);

/* Their fields take these sections as arg (so the key walk sees them). */
extern const struct section health_check_section, passive_section;
void field_health_check(struct walk *w, const struct field *f, const struct cnode *v, void *obj);
void field_passive(struct walk *w, const struct field *f, const struct cnode *v, void *obj);
void field_path_prefix(struct walk *w, const struct field *f, const struct cnode *v, void *obj);

/* pools[].tls (config_pool_tls.c): the section (a mapping only), host
 * names (with min 1: or an IP address); file paths, relative to the
 * configuration's directory (config_listener_tls.c). */
void field_pool_tls(struct walk *w, const struct field *f, const struct cnode *v, void *obj);
void field_tls_path(struct walk *w, const struct field *f, const struct cnode *v, void *obj);
void field_tls_name(struct walk *w, const struct field *f, const struct cnode *v, void *obj);
/* Build POOL's TLS context once its servers are parsed (V: the pool's
 * node), reporting a CA file or client certificate that cannot be loaded. */
void config_build_pool_tls(struct walk *w, struct pool_conf *pool, const struct cnode *v);
/* listeners[].tls (config_listener_tls.c): OBJ is the listener; the certificates
 * and keys are loaded and checked. */
void field_listener_tls(struct walk *w, const struct field *f, const struct cnode *v, void *obj);
/* Its section and its list of {cert, key} items (arg: the item section). */
extern const struct section listener_tls_section, listener_tls_cert_section;
void field_certificates(struct walk *w, const struct field *f, const struct cnode *v, void *obj);

/* Parse an address from V into OUT; reports and returns -1 when invalid. */
int walk_address(struct walk *w, const struct cnode *v, struct lbd_addr *out);

/* Uniqueness over many entries in O(n log n): each repeat of a key is
 * passed to REPORT with the first entry of that key. */
struct uniq {
	const char *key;
	const struct cnode *node;
	const void *owner;
	size_t order;
};
void walk_unique(struct walk *w, struct uniq *u, size_t n,
		 void (*report)(struct walk *w, const struct uniq *dup, const struct uniq *first));

/* What config_schema_keys reports for one key. */
enum config_key_kind {
	CONFIG_KEY_VALUE,      /* a scalar, or a list of scalars */
	CONFIG_KEY_SECTION,    /* a mapping of further keys */
	CONFIG_KEY_LIST,       /* a list of mappings of further keys */
	CONFIG_KEY_ENUM_VALUE, /* one of the words an enumeration accepts */
};
typedef void (*config_key_fn)(void *ctx, const char *path, enum config_key_kind kind,
			      const char *value);

/* Every key of the lbd.yaml schema, straight from the tables, in table
 * order: PATH is the key's path from the top ("pools[].servers[].weight";
 * "[]" marks an item of a list of mappings), VALUE is NULL except for
 * CONFIG_KEY_ENUM_VALUE. The documentation tests compare it with
 * lbd.yaml(5). A field is seen as nested when its arg is set and its parser
 * is not field_enum, so every parser of a mapping or of a list of mappings
 * must take its section from arg. Returns -1 when a path does not fit in
 * 256 bytes. */
int config_schema_keys(config_key_fn fn, void *ctx);

/* Apply the lbd.yaml schema to ROOT, filling CFG (which holds the built-in
 * defaults). Errors go to W->errs. */
void config_schema_apply(struct walk *w, const struct cnode *root);

#endif
