/* config_node.h — the YAML document as a small tree (private to the
 * configuration loader).
 *
 * config_yaml.c builds it from libyaml events and rejects everything the
 * schema has no use for (aliases, anchors, foreign tags, several documents,
 * duplicate keys, deep nesting); config_schema.c walks it. Every node keeps
 * its 1-based line:column and a way back to its parent, so any error can
 * name its key path.
 */
#ifndef LBD_CONFIG_NODE_H
#define LBD_CONFIG_NODE_H

#include <stdbool.h>
#include <stddef.h>

#include "config/config_error.h"

#define CNODE_DEPTH_MAX 32
#define CNODE_COUNT_MAX 1000000
#define CONFIG_FILE_MAX (16u * 1024 * 1024)

enum cnode_kind {
	CNODE_SCALAR,
	CNODE_MAP,
	CNODE_SEQ,
};

struct cnode {
	enum cnode_kind kind;
	unsigned line, column;
	struct cnode *parent;    /* the enclosing map or sequence; NULL at top */
	const struct cnode *key; /* under a map: the key scalar (a key: itself) */
	size_t index;            /* under a sequence: the position */
	char *str;               /* scalar text, NUL-terminated, no inner NUL */
	bool quoted;             /* written quoted or as a block scalar */
	bool null;               /* plain empty, "~" or "null" */
	/* Maps hold key, value, key, value...; sequences hold items. */
	struct cnode **items;
	size_t n, cap;
};

/* Errors are collected here while a configuration is loaded; they are
 * sorted into file order before they reach the caller. */
struct cerrs {
	const char *file;
	struct config_errors list;
};

/* Parse DATA (LEN bytes) into a tree. Returns the top node, or NULL with
 * errors added to ERRS. The tree is owned by the caller (cnode_free). */
struct cnode *cnode_parse(const char *data, size_t len, struct cerrs *errs);
void cnode_free(struct cnode *n);

/* Map lookup; NULL when KEY is absent. Returns the value node. */
const struct cnode *cnode_get(const struct cnode *map, const char *key);

/* "listeners[0].routes[1].pool" for a node (a key node names its key). */
void cnode_path(const struct cnode *n, char *buf, size_t len);

/* What a person would call N in "got ...": "\"300\"", "a list", "nothing". */
void cnode_describe(const struct cnode *n, char *buf, size_t len);

/* Report an error at N's position under N's key path. */
void cerr_at(struct cerrs *errs, const struct cnode *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Report an error at a position with no key path (document level). */
void cerr_doc(struct cerrs *errs, unsigned line, unsigned column, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
