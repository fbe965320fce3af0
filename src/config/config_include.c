/* config_include.c — the top-level include: of lbd.yaml, for configurations
 * assembled from pieces (conf.d/, one file per mounted ConfigMap key).
 *
 * include: is a pattern or a list of them, relative to the directory of the
 * file that says it; each is expanded in sorted order (glob(3)), and a
 * pattern that matches nothing is not an error while a path without
 * wildcards that does not exist is. Each included file is a mapping like
 * the main one, read, given its environment variables and its own
 * includes, then merged into the file that included it:
 *  - the items of a top-level list (listeners:, pools:) are appended, in
 *    order, after those already there;
 *  - mappings (global:, defaults: and what they hold) are merged key by
 *    key, and a key that is already set anywhere is an error that names
 *    both places, so no setting silently wins over another.
 * Includes nest up to INCLUDE_DEPTH_MAX files deep; a file is read once, so
 * a cycle, or a file reached twice, is an error. Every node keeps the name
 * of its file, so later errors name the included file and its line.
 */
#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config/config_node.h"

#define INCLUDE_DEPTH_MAX 8   /* files within files */
#define INCLUDE_FILES_MAX 256 /* included files in all */

/* The files being included, innermost first, for cycles and directories. */
struct chain {
	const char *name;
	dev_t dev;
	ino_t ino;
	bool known; /* dev and ino are set (a buffer has no file) */
	const struct chain *up;
};

struct seen {
	dev_t dev;
	ino_t ino;
};

struct includer {
	struct cerrs *errs;
	struct seen *seen;
	size_t nseen, cap;
};

static void expand(struct includer *x, struct cnode *root, const struct chain *chain,
		   unsigned depth);

static int push(struct cnode *c, struct cnode *n)
{
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 8;
		struct cnode **items = realloc(c->items, cap * sizeof(*items));
		if (!items)
			return -1;
		c->items = items;
		c->cap = cap;
	}
	c->items[c->n++] = n;
	return 0;
}

static size_t key_index(const struct cnode *map, const char *key)
{
	for (size_t i = 0; i + 1 < map->n; i += 2)
		if (map->items[i] && map->items[i]->str && strcmp(map->items[i]->str, key) == 0)
			return i;
	return SIZE_MAX;
}

static bool is_empty_value(const struct cnode *n)
{
	return n->kind == CNODE_SCALAR && n->null && !n->quoted && !n->str[0];
}

/* Move the pair at I of SRC to the end of DST. */
static void move_pair(struct cerrs *errs, struct cnode *dst, struct cnode *src, size_t i)
{
	struct cnode *k = src->items[i], *v = src->items[i + 1];

	if (push(dst, k) < 0 || push(dst, v) < 0) {
		if (dst->n && dst->items[dst->n - 1] == k)
			dst->n--;
		cerr_at(errs, k, "out of memory");
		return;
	}
	k->parent = v->parent = dst;
	v->key = k;
	src->items[i] = src->items[i + 1] = NULL;
}

/* Append the items of the list SRC to the list DST. */
static void append_items(struct cerrs *errs, struct cnode *dst, struct cnode *src)
{
	for (size_t j = 0; j < src->n; j++) {
		struct cnode *item = src->items[j];
		if (push(dst, item) < 0) {
			cerr_at(errs, item, "out of memory");
			return;
		}
		item->parent = dst;
		item->index = dst->n - 1;
		src->items[j] = NULL;
	}
}

static void merge_map(struct cerrs *errs, struct cnode *dst, struct cnode *src, bool top)
{
	for (size_t i = 0; i + 1 < src->n; i += 2) {
		struct cnode *k = src->items[i], *v = src->items[i + 1];
		if (!k || !k->str || (top && strcmp(k->str, "include") == 0))
			continue;
		size_t at = key_index(dst, k->str);
		if (at == SIZE_MAX) {
			move_pair(errs, dst, src, i);
			continue;
		}
		struct cnode *first = dst->items[at], *old = dst->items[at + 1];
		if (top && old->kind == CNODE_SEQ && v->kind == CNODE_SEQ) {
			append_items(errs, old, v);
		} else if (old->kind == CNODE_MAP && v->kind == CNODE_MAP) {
			merge_map(errs, old, v, false);
		} else if (is_empty_value(old)) {
			/* "listeners:" with nothing under it is no value: take this one */
			cnode_free(old);
			dst->items[at + 1] = v;
			v->parent = dst;
			v->key = first;
			src->items[i + 1] = NULL;
		} else if (!is_empty_value(v)) {
			cerr_at(errs, k,
				"already set at %s:%u:%u (an included file adds to lists, "
				"and may not set a key again)",
				first->file ? first->file : errs->file, first->line, first->column);
		}
	}
}

static bool remember(struct includer *x, const struct stat *st)
{
	if (x->nseen == x->cap) {
		size_t cap = x->cap ? x->cap * 2 : 16;
		struct seen *s = realloc(x->seen, cap * sizeof(*s));
		if (!s)
			return false;
		x->seen = s;
		x->cap = cap;
	}
	x->seen[x->nseen++] = (struct seen){ st->st_dev, st->st_ino };
	return true;
}

static bool already_read(const struct includer *x, const struct stat *st)
{
	for (size_t i = 0; i < x->nseen; i++)
		if (x->seen[i].dev == st->st_dev && x->seen[i].ino == st->st_ino)
			return true;
	return false;
}

/* Whether PATH (named by the include item P) may be included; reports
 * why not. */
static bool check_file(struct includer *x, const char *path, const struct cnode *p,
		       const struct chain *chain, struct stat *st)
{
	if (stat(path, st) < 0) {
		cerr_at(x->errs, p, "%s: cannot open: %s", path, strerror(errno));
		return false;
	}
	if (!S_ISREG(st->st_mode)) {
		cerr_at(x->errs, p, "%s: cannot read: %s", path,
			S_ISDIR(st->st_mode) ? strerror(EISDIR) : "not a regular file");
		return false;
	}
	for (const struct chain *c = chain; c; c = c->up)
		if (c->known && c->dev == st->st_dev && c->ino == st->st_ino) {
			cerr_at(x->errs, p, "%s: include cycle: %s is already being read", path,
				c->name);
			return false;
		}
	if (already_read(x, st)) {
		cerr_at(x->errs, p, "%s: included a second time (a file is read once)", path);
		return false;
	}
	if (x->errs->nincluded >= INCLUDE_FILES_MAX) {
		cerr_at(x->errs, p, "%s: more than %u included files", path, INCLUDE_FILES_MAX);
		return false;
	}
	return true;
}

/* A name that lives as long as the errors (node->file points at it). */
static char *keep_name(struct cerrs *errs, const char *path)
{
	char **names = realloc(errs->included, (errs->nincluded + 1) * sizeof(*names));

	if (!names)
		return NULL;
	errs->included = names;
	names[errs->nincluded] = strdup(path);
	return names[errs->nincluded] ? names[errs->nincluded++] : NULL;
}

/* An include pattern, resolved, kept for global.watch_config: its
 * directory is watched for files that come to match it. */
static bool keep_pattern(struct cerrs *errs, const char *path)
{
	char **p = realloc(errs->patterns, (errs->npatterns + 1) * sizeof(*p));

	if (!p)
		return false;
	errs->patterns = p;
	p[errs->npatterns] = strdup(path);
	return p[errs->npatterns] ? (errs->npatterns++, true) : false;
}

static void include_file(struct includer *x, struct cnode *root, const char *path,
			 const struct cnode *p, const struct chain *chain, unsigned depth)
{
	struct stat st;
	char why[256], *data, *name;
	size_t len = 0;

	if (!check_file(x, path, p, chain, &st))
		return;
	if (!remember(x, &st) || !(name = keep_name(x->errs, path))) {
		cerr_at(x->errs, p, "out of memory");
		return;
	}
	data = config_read_file(path, &len, why, sizeof(why));
	if (!data) {
		cerr_at(x->errs, p, "%s: %s", path, why);
		return;
	}
	const char *outer = x->errs->file;
	x->errs->file = name;
	struct cnode *sub = cnode_parse(data, len, x->errs, true);
	x->errs->file = outer;
	free(data);
	if (!sub)
		return; /* empty (a placeholder is fine), or reported */
	if (sub->kind != CNODE_MAP) {
		char got[96];
		cnode_describe(sub, got, sizeof(got));
		cerr_at(x->errs, sub,
			"expected a mapping with keys global, defaults, pools, listeners, include, got "
			"%s",
			got);
		cnode_free(sub);
		return;
	}
	config_env_substitute(sub, x->errs);
	struct chain link = { name, st.st_dev, st.st_ino, true, chain };
	expand(x, sub, &link, depth + 1);
	merge_map(x->errs, root, sub, true);
	cnode_free(sub);
}

/* glob(3) calls back without a context; loading runs on one thread. */
static _Thread_local int glob_errno;

/* A directory of the pattern that does not exist matches nothing, like an
 * empty one; one that cannot be read is an error. */
static int on_glob_error(const char *path, int err)
{
	if (err == ENOENT || err == ENOTDIR)
		return 0;
	glob_errno = err;
	return 1;
}

static bool has_wildcard(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

static void include_pattern(struct includer *x, struct cnode *root, const struct cnode *p,
			    const struct chain *chain, unsigned depth)
{
	const char *slash = strrchr(chain->name, '/');
	int dir = p->str[0] != '/' && slash ? (int)(slash - chain->name) + 1 : 0;
	char path[PATH_MAX];
	glob_t g;

	if (depth >= INCLUDE_DEPTH_MAX) {
		cerr_at(x->errs, p, "includes nest deeper than %u files", INCLUDE_DEPTH_MAX);
		return;
	}
	if ((size_t)snprintf(path, sizeof(path), "%.*s%s", dir, chain->name, p->str) >=
	    sizeof(path)) {
		cerr_at(x->errs, p, "the path is too long");
		return;
	}
	if (!keep_pattern(x->errs, path)) {
		cerr_at(x->errs, p, "out of memory");
		return;
	}
	if (!has_wildcard(p->str)) {
		include_file(x, root, path, p, chain, depth);
		return;
	}
	glob_errno = 0;
	switch (glob(path, 0, on_glob_error, &g)) {
	case 0:
		for (size_t i = 0; i < g.gl_pathc; i++)
			include_file(x, root, g.gl_pathv[i], p, chain, depth);
		break;
	case GLOB_NOMATCH:
		break; /* an empty conf.d/ is fine */
	case GLOB_ABORTED:
		cerr_at(x->errs, p, "%s: cannot read a directory on the way: %s", path,
			strerror(glob_errno));
		break;
	default:
		cerr_at(x->errs, p, "%s: out of memory", path);
		break;
	}
	globfree(&g);
}

static void expand(struct includer *x, struct cnode *root, const struct chain *chain,
		   unsigned depth)
{
	const struct cnode *v = cnode_get(root, "include");
	char got[96];

	if (!v || is_empty_value(v))
		return;
	if (v->kind == CNODE_SCALAR) {
		include_pattern(x, root, v, chain, depth);
		return;
	}
	if (v->kind == CNODE_SEQ) {
		for (size_t i = 0; i < v->n; i++) {
			const struct cnode *p = v->items[i];
			if (p->kind == CNODE_SCALAR && !p->null && p->str[0]) {
				include_pattern(x, root, p, chain, depth);
				continue;
			}
			cnode_describe(p, got, sizeof(got));
			cerr_at(x->errs, p, "expected a file or a glob pattern, got %s", got);
		}
		return;
	}
	cnode_describe(v, got, sizeof(got));
	cerr_at(x->errs, v, "expected a file or a glob pattern, or a list of them, got %s", got);
}

void config_include(struct cnode *root, const char *file, struct cerrs *errs)
{
	struct includer x = { .errs = errs };
	struct chain top = { .name = file };
	struct stat st;

	if (!root || root->kind != CNODE_MAP || !cnode_get(root, "include"))
		return;
	if (stat(file, &st) == 0) {
		top.dev = st.st_dev;
		top.ino = st.st_ino;
		top.known = remember(&x, &st);
	}
	expand(&x, root, &top, 0);
	free(x.seen);
}

void config_include_free(struct cerrs *errs)
{
	for (size_t i = 0; i < errs->nincluded; i++)
		free(errs->included[i]);
	free(errs->included);
	errs->included = NULL;
	errs->nincluded = 0;
	for (size_t i = 0; i < errs->npatterns; i++)
		free(errs->patterns[i]);
	free(errs->patterns);
	errs->patterns = NULL;
	errs->npatterns = 0;
}
