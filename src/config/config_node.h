/* config_node.h — the YAML document as a small tree (private to the
 * configuration loader).
 *
 * config_yaml.c builds it from libyaml events and rejects everything the
 * schema has no use for (aliases, anchors, foreign tags, several documents,
 * duplicate keys, deep nesting); config_include.c pulls in the files the
 * top-level include: names and config_env.c puts environment variables
 * into values; config_schema.c walks the result. Every node keeps its file,
 * its 1-based line:column and a way back to its parent, so any error can
 * name the file it came from and its key path.
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
	const char *file; /* the file it was read from (owned by struct cerrs) */
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
 * sorted into file order (the main file, then the included ones in the
 * order they were read) before they reach the caller. */
struct cerrs {
	const char *file; /* the file being parsed: the main one, or an included one */
	struct config_errors list;
	char **included; /* the names of the included files, in reading order */
	size_t nincluded;
	char **patterns; /* the include patterns, resolved, in reading order */
	size_t npatterns;
};

/* Parse DATA (LEN bytes) of errs->file into a tree. Returns the top node,
 * or NULL with errors added to ERRS; with EMPTY_OK, an empty document
 * (nothing, or comments only) is NULL without an error. The tree is owned
 * by the caller (cnode_free). */
struct cnode *cnode_parse(const char *data, size_t len, struct cerrs *errs, bool empty_ok);
void cnode_free(struct cnode *n);

/* Read PATH whole (a regular file of at most CONFIG_FILE_MAX bytes).
 * Returns a buffer the caller frees, or NULL with the reason in WHY
 * ("cannot open: No such file or directory"). */
char *config_read_file(const char *path, size_t *len, char *why, size_t whylen);

/* Replace ${NAME}, ${NAME:-default} and $$ in every scalar value (not in
 * keys) under ROOT; errors (an unset variable without a default) go to
 * ERRS at the value. */
void config_env_substitute(struct cnode *root, struct cerrs *errs);

/* Merge into ROOT, the top of FILE, the files its top-level include:
 * names, recursively; errors go to ERRS. The include: key stays, for the
 * schema to accept. */
void config_include(struct cnode *root, const char *file, struct cerrs *errs);
/* The names in errs->included and errs->patterns. */
void config_include_free(struct cerrs *errs);

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
