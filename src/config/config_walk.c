/* config_walk.c — the schema engine: walking a section table over a
 * mapping, unknown keys with a suggestion, lists, unique names. The value
 * types its fields parse are config_fields.c's.
 */
#include "config/config_schema.h"

#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "util/units.h"

#define SUGGEST_KEY_MAX 64

const char *walk_scalar(struct walk *w, const struct cnode *v, const char *what)
{
	char got[96];

	if (v->kind == CNODE_SCALAR && !(v->null && !v->quoted && !v->str[0]))
		return v->str;
	cnode_describe(v, got, sizeof(got));
	cerr_at(w->errs, v, "expected %s, got %s", what, got);
	return NULL;
}

const struct cnode *walk_list(struct walk *w, const struct cnode *v, const char *what)
{
	char got[96];

	if (v->kind == CNODE_SEQ && v->n > 0)
		return v;
	cnode_describe(v, got, sizeof(got));
	cerr_at(w->errs, v, "expected a non-empty list of %s, got %s", what,
		v->kind == CNODE_SEQ ? "an empty list" : got);
	return NULL;
}

void walk_expected(struct walk *w, const struct cnode *v, const char *what)
{
	char got[96];

	cnode_describe(v, got, sizeof(got));
	cerr_at(w->errs, v, "expected %s, got %s", what, got);
}

/* Edit distance with a transposition counted as one edit, so "wieght"
 * finds "weight". Keys are short; longer ones are never compared. */
static size_t distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t d[SUGGEST_KEY_MAX + 1][SUGGEST_KEY_MAX + 1];

	if (la > SUGGEST_KEY_MAX || lb > SUGGEST_KEY_MAX)
		return SIZE_MAX;
	for (size_t i = 0; i <= la; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= la; i++) {
		for (size_t j = 1; j <= lb; j++) {
			size_t best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
			if (d[i - 1][j] + 1 < best)
				best = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < best)
				best = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    d[i - 2][j - 2] + 1 < best)
				best = d[i - 2][j - 2] + 1;
			d[i][j] = best;
		}
	}
	return d[la][lb];
}

static bool close_enough(const char *key, const char *cand, size_t d)
{
	size_t lc = strlen(cand), lk = strlen(key);
	size_t limit = lc / 3 > 1 ? lc / 3 : 1;

	if (lk >= 3 && lk < lc && strncmp(key, cand, lk) == 0)
		return true; /* "addr" for "address" */
	if (lk >= 4 && strstr(cand, key))
		return true; /* "idle" for "client_idle" */
	return d <= limit && d < lk;
}

static void report_unknown(struct walk *w, const struct section *s, const struct cnode *key)
{
	const char *best = NULL;
	size_t best_d = SIZE_MAX;
	char list[512] = "";
	size_t pos = 0;

	for (size_t i = 0; i < s->nfields; i++) {
		const char *cand = s->fields[i].key;
		size_t d = distance(key->str, cand);
		if (close_enough(key->str, cand, d) && (d < best_d || !best)) {
			best = cand;
			best_d = d;
		}
		pos += (size_t)snprintf(list + pos, sizeof(list) - pos, "%s%s", i ? ", " : "",
					cand);
		if (pos >= sizeof(list))
			pos = sizeof(list) - 1;
	}
	if (best)
		cerr_at(w->errs, key, "unknown key (did you mean \"%s\"?)", best);
	else
		cerr_at(w->errs, key, "unknown key (expected one of: %s)", list);
}

static const struct field *find_field(const struct section *s, const char *key)
{
	for (size_t i = 0; i < s->nfields; i++)
		if (strcmp(s->fields[i].key, key) == 0)
			return &s->fields[i];
	return NULL;
}

static const struct misplaced *find_misplaced(const struct section *s, const char *key)
{
	for (size_t i = 0; i < s->nmisplaced; i++)
		if (strcmp(s->misplaced[i].key, key) == 0)
			return &s->misplaced[i];
	return NULL;
}

static void expected_mapping(struct walk *w, const struct section *s, const struct cnode *v)
{
	char keys[512] = "", what[600];
	size_t pos = 0;

	for (size_t i = 0; i < s->nfields && pos < sizeof(keys) - 1; i++) {
		pos += (size_t)snprintf(keys + pos, sizeof(keys) - pos, "%s%s", i ? ", " : "",
					s->fields[i].key);
		if (pos >= sizeof(keys))
			pos = sizeof(keys) - 1;
	}
	snprintf(what, sizeof(what), "a mapping with keys %s", keys);
	walk_expected(w, v, what);
}

void walk_section(struct walk *w, const struct section *s, const struct cnode *v, void *obj)
{
	if (v->kind != CNODE_MAP) {
		expected_mapping(w, s, v);
		return;
	}
	/* Fields in table order, not file order: the schema decides what must
	 * be known first (defaults before pools, pools before routes). */
	for (size_t i = 0; i < s->nfields; i++) {
		const struct field *f = &s->fields[i];
		const struct cnode *val = cnode_get(v, f->key);
		if (val)
			f->parse(w, f, val, obj);
		else if (f->required)
			cerr_at(w->errs, v, "missing required key \"%s\"", f->key);
	}
	for (size_t i = 0; i + 1 < v->n; i += 2) {
		const struct cnode *key = v->items[i];
		const struct misplaced *m;

		if (find_field(s, key->str))
			continue;
		m = find_misplaced(s, key->str);
		if (m)
			cerr_at(w->errs, key, "%s", m->why);
		else
			report_unknown(w, s, key);
	}
}

void field_section(struct walk *w, const struct field *f, const struct cnode *v, void *obj)
{
	/* "global:" with nothing under it means "all defaults". */
	if (v->kind == CNODE_SCALAR && v->null)
		return;
	walk_section(w, f->arg, v, walk_slot(obj, f->off));
}

static int uniq_cmp(const void *a, const void *b)
{
	const struct uniq *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	if (c)
		return c;
	return x->order < y->order ? -1 : x->order > y->order;
}

void walk_unique(struct walk *w, struct uniq *u, size_t n,
		 void (*report)(struct walk *w, const struct uniq *dup, const struct uniq *first))
{
	size_t first = 0;

	qsort(u, n, sizeof(*u), uniq_cmp);
	for (size_t i = 1; i < n; i++) {
		if (strcmp(u[i].key, u[first].key) == 0)
			report(w, &u[i], &u[first]);
		else
			first = i;
	}
}

void *walk_calloc(struct walk *w, const struct cnode *v, size_t n, size_t size)
{
	void *p = calloc(n, size);

	if (!p)
		cerr_at(w->errs, v, "out of memory");
	return p;
}
