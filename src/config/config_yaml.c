/* config_yaml.c — libyaml events to a node tree, with file positions.
 *
 * The event API is used instead of yaml_parser_load() because a document
 * tree would expand aliases ("billion laughs") before we could refuse them.
 * Here nothing is expanded: an alias or anchor is an error, and depth and
 * node count are bounded while the events arrive.
 */
#include "config/config_node.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

struct builder {
	yaml_parser_t parser;
	const char *data;
	size_t len;
	struct cerrs *errs;
	struct cnode *root;
	struct cnode *cur; /* the innermost open map or sequence */
	unsigned depth;
	size_t count;
	unsigned documents;
	bool tainted; /* an error that makes the tree unusable */
};

static const char NO_ALIASES[] = "aliases and anchors are not supported";

void cerr_doc(struct cerrs *errs, unsigned line, unsigned column, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	config_errors_add(&errs->list, errs->file, line, column, NULL, "%s", msg);
}

void cerr_at(struct cerrs *errs, const struct cnode *n, const char *fmt, ...)
{
	char msg[1024], path[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cnode_path(n, path, sizeof(path));
	config_errors_add(&errs->list, n->file ? n->file : errs->file, n->line, n->column, path,
			  "%s", msg);
}

void cnode_free(struct cnode *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->n; i++)
		cnode_free(n->items[i]);
	free(n->items);
	free(n->str);
	free(n);
}

const struct cnode *cnode_get(const struct cnode *map, const char *key)
{
	if (!map || map->kind != CNODE_MAP)
		return NULL;
	for (size_t i = 0; i + 1 < map->n; i += 2)
		if (map->items[i]->str && strcmp(map->items[i]->str, key) == 0)
			return map->items[i + 1];
	return NULL;
}

/* Append S to BUF (at *POS, capacity LEN) with control characters shown as
 * '?', so a path never breaks the one-error-per-line output. */
static void append_clean(char *buf, size_t len, size_t *pos, const char *s)
{
	if (!s)
		s = "?"; /* a key that is not a scalar, already reported */
	for (; *s && *pos + 1 < len; s++)
		buf[(*pos)++] = ((unsigned char)*s < 0x20 || *s == 0x7f) ? '?' : *s;
	buf[*pos] = '\0';
}

static void path_into(const struct cnode *n, char *buf, size_t len, size_t *pos)
{
	if (!n->parent)
		return;
	path_into(n->parent, buf, len, pos);
	if (n->parent->kind == CNODE_SEQ) {
		char idx[32];
		snprintf(idx, sizeof(idx), "[%zu]", n->index);
		append_clean(buf, len, pos, idx);
		return;
	}
	if (*pos > 0)
		append_clean(buf, len, pos, ".");
	append_clean(buf, len, pos, n->key->str);
}

void cnode_path(const struct cnode *n, char *buf, size_t len)
{
	size_t pos = 0;

	if (len == 0)
		return;
	buf[0] = '\0';
	path_into(n, buf, len, &pos);
}

void cnode_describe(const struct cnode *n, char *buf, size_t len)
{
	const size_t shown = 60;
	char text[64];

	if (n->kind == CNODE_MAP) {
		snprintf(buf, len, "a mapping");
		return;
	}
	if (n->kind == CNODE_SEQ) {
		snprintf(buf, len, "a list");
		return;
	}
	if (n->null && !n->quoted && n->str[0] == '\0') {
		snprintf(buf, len, "nothing");
		return;
	}
	snprintf(text, sizeof(text), "%.*s", (int)shown, n->str);
	for (char *p = text; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	snprintf(buf, len, "\"%s%s\"", text, strlen(n->str) > shown ? "..." : "");
}

/* libyaml reports reader errors (bad UTF-8, control characters) as a byte
 * offset; turn it into line:column the way its marks count them. */
static void offset_to_mark(const char *data, size_t len, size_t off, unsigned *line,
			   unsigned *column)
{
	*line = 1;
	*column = 1;
	for (size_t i = 0; i < off && i < len; i++) {
		if (data[i] == '\n') {
			(*line)++;
			*column = 1;
		} else if (((unsigned char)data[i] & 0xc0) != 0x80) {
			(*column)++;
		}
	}
}

static void report_parser_error(struct builder *b)
{
	yaml_parser_t *p = &b->parser;
	unsigned line, column;

	if (p->error == YAML_MEMORY_ERROR) {
		cerr_doc(b->errs, 0, 0, "out of memory while reading YAML");
		return;
	}
	if (p->error == YAML_READER_ERROR) {
		offset_to_mark(b->data, b->len, p->problem_offset, &line, &column);
		cerr_doc(b->errs, line, column, "not valid YAML text: %s (byte 0x%02X)",
			 p->problem ? p->problem : "unreadable input",
			 (unsigned)p->problem_value & 0xffu);
		return;
	}
	line = (unsigned)p->problem_mark.line + 1;
	column = (unsigned)p->problem_mark.column + 1;
	if (p->problem_mark.index < b->len && b->data[p->problem_mark.index] == '\t') {
		cerr_doc(b->errs, line, column,
			 "YAML syntax error: tab character where indentation is expected "
			 "(indent with spaces only)");
		return;
	}
	if (p->context)
		cerr_doc(b->errs, line, column, "YAML syntax error: %s (%s at line %u)",
			 p->problem ? p->problem : "unknown problem", p->context,
			 (unsigned)p->context_mark.line + 1);
	else
		cerr_doc(b->errs, line, column, "YAML syntax error: %s",
			 p->problem ? p->problem : "unknown problem");
}

static bool is_null_text(const char *s)
{
	return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
	       !strcmp(s, "NULL");
}

/* "tag:yaml.org,2002:str" is what "!!str" resolves to. */
static bool tag_allowed(const yaml_char_t *tag, enum cnode_kind kind)
{
	static const char *const ok[] = {
		[CNODE_SCALAR] = "tag:yaml.org,2002:str",
		[CNODE_MAP] = "tag:yaml.org,2002:map",
		[CNODE_SEQ] = "tag:yaml.org,2002:seq",
	};
	return !tag || strcmp((const char *)tag, ok[kind]) == 0;
}

static void report_tag(struct builder *b, const yaml_char_t *tag, unsigned line, unsigned column)
{
	const char *t = (const char *)tag;
	const char *std = "tag:yaml.org,2002:";

	if (strncmp(t, std, strlen(std)) == 0)
		cerr_doc(b->errs, line, column,
			 "tag \"!!%.40s\" is not supported (only !!str, !!map and !!seq)",
			 t + strlen(std));
	else
		cerr_doc(b->errs, line, column,
			 "tag \"%.40s\" is not supported (only !!str, !!map and !!seq)", t);
	b->tainted = true;
}

static struct cnode *node_new(struct builder *b, enum cnode_kind kind, const yaml_mark_t *m)
{
	struct cnode *n;

	if (++b->count > CNODE_COUNT_MAX) {
		cerr_doc(b->errs, (unsigned)m->line + 1, (unsigned)m->column + 1,
			 "too many values (more than %u)", (unsigned)CNODE_COUNT_MAX);
		return NULL;
	}
	n = calloc(1, sizeof(*n));
	if (!n) {
		cerr_doc(b->errs, 0, 0, "out of memory while reading YAML");
		return NULL;
	}
	n->kind = kind;
	n->file = b->errs->file;
	n->line = (unsigned)m->line + 1;
	n->column = (unsigned)m->column + 1;
	return n;
}

/* Hang N under the open container. Returns -1 (N freed) when it cannot. */
static int attach(struct builder *b, struct cnode *n)
{
	struct cnode *c = b->cur;

	if (!c) {
		b->root = n;
		return 0;
	}
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 8;
		struct cnode **items = realloc(c->items, cap * sizeof(*items));
		if (!items) {
			cerr_doc(b->errs, 0, 0, "out of memory while reading YAML");
			cnode_free(n);
			return -1;
		}
		c->items = items;
		c->cap = cap;
	}
	n->parent = c;
	if (c->kind == CNODE_SEQ) {
		n->index = c->n;
	} else if (c->n % 2 == 0) {
		n->key = n;
		if (n->kind != CNODE_SCALAR || n->str[0] == '\0') {
			cerr_doc(b->errs, n->line, n->column, "a key must be a plain name, not %s",
				 n->kind == CNODE_SCALAR ? "empty" :
				 n->kind == CNODE_MAP    ? "a mapping" :
							   "a list");
			b->tainted = true;
		}
	} else {
		n->key = c->items[c->n - 1];
	}
	c->items[c->n++] = n;
	return 0;
}

static int on_scalar(struct builder *b, const yaml_event_t *ev)
{
	const char *v = (const char *)ev->data.scalar.value;
	size_t vlen = ev->data.scalar.length;
	struct cnode *n;

	n = node_new(b, CNODE_SCALAR, &ev->start_mark);
	if (!n)
		return -1;
	n->str = malloc(vlen + 1);
	if (!n->str) {
		cnode_free(n);
		cerr_doc(b->errs, 0, 0, "out of memory while reading YAML");
		return -1;
	}
	memcpy(n->str, v, vlen);
	n->str[vlen] = '\0';
	n->quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE || ev->data.scalar.tag != NULL;
	n->null = !n->quoted && is_null_text(n->str);
	if (memchr(v, '\0', vlen)) {
		cerr_doc(b->errs, n->line, n->column, "NUL characters are not allowed");
		b->tainted = true;
	}
	if (ev->data.scalar.anchor) {
		cerr_doc(b->errs, n->line, n->column, NO_ALIASES);
		b->tainted = true;
	}
	if (!tag_allowed(ev->data.scalar.tag, CNODE_SCALAR))
		report_tag(b, ev->data.scalar.tag, n->line, n->column);
	return attach(b, n);
}

/* An alias still takes a place in its map or sequence, so that the keys
 * and values after it keep their pairing and their positions. */
static int attach_placeholder(struct builder *b, const yaml_mark_t *mark)
{
	struct cnode *n = node_new(b, CNODE_SCALAR, mark);

	if (!n)
		return -1;
	n->str = strdup("*");
	if (!n->str) {
		cnode_free(n);
		cerr_doc(b->errs, 0, 0, "out of memory while reading YAML");
		return -1;
	}
	return attach(b, n);
}

static int on_open(struct builder *b, const yaml_event_t *ev, enum cnode_kind kind)
{
	const yaml_char_t *anchor = kind == CNODE_MAP ? ev->data.mapping_start.anchor :
							ev->data.sequence_start.anchor;
	const yaml_char_t *tag = kind == CNODE_MAP ? ev->data.mapping_start.tag :
						     ev->data.sequence_start.tag;
	struct cnode *n;

	if (b->depth >= CNODE_DEPTH_MAX) {
		cerr_doc(b->errs, (unsigned)ev->start_mark.line + 1,
			 (unsigned)ev->start_mark.column + 1, "nested deeper than %u levels",
			 (unsigned)CNODE_DEPTH_MAX);
		return -1;
	}
	n = node_new(b, kind, &ev->start_mark);
	if (!n)
		return -1;
	if (anchor) {
		cerr_doc(b->errs, n->line, n->column, NO_ALIASES);
		b->tainted = true;
	}
	if (!tag_allowed(tag, kind))
		report_tag(b, tag, n->line, n->column);
	if (attach(b, n) != 0)
		return -1;
	b->cur = n;
	b->depth++;
	return 0;
}

static const char *key_text(const struct cnode *key)
{
	return key->str ? key->str : "";
}

struct keyref {
	const struct cnode *key;
	size_t pos;
};

static int keyref_cmp(const void *a, const void *b)
{
	const struct keyref *x = a, *y = b;
	int c = strcmp(key_text(x->key), key_text(y->key));

	if (c)
		return c;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* Report every repeated key of MAP and drop the repeats, so the schema sees
 * the first value only. Sorting keeps this O(n log n) on hostile input. */
static void drop_duplicate_keys(struct builder *b, struct cnode *map)
{
	size_t npairs = map->n / 2, kept = 0;
	struct keyref *refs;

	if (npairs < 2)
		return;
	refs = malloc(npairs * sizeof(*refs));
	if (!refs)
		return;
	for (size_t i = 0; i < npairs; i++)
		refs[i] = (struct keyref){ map->items[2 * i], i };
	qsort(refs, npairs, sizeof(*refs), keyref_cmp);
	for (size_t i = 1; i < npairs; i++) {
		size_t first = i - 1;
		while (i < npairs &&
		       strcmp(key_text(refs[i].key), key_text(refs[first].key)) == 0) {
			cerr_at(b->errs, refs[i].key, "duplicate key (first at line %u)",
				refs[first].key->line);
			cnode_free(map->items[2 * refs[i].pos]);
			cnode_free(map->items[2 * refs[i].pos + 1]);
			map->items[2 * refs[i].pos] = NULL;
			i++;
		}
	}
	free(refs);
	for (size_t i = 0; i < npairs; i++) {
		if (!map->items[2 * i])
			continue;
		map->items[kept++] = map->items[2 * i];
		map->items[kept++] = map->items[2 * i + 1];
	}
	map->n = kept;
}

static void on_close(struct builder *b)
{
	struct cnode *c = b->cur;

	if (c->kind == CNODE_MAP)
		drop_duplicate_keys(b, c);
	b->cur = c->parent;
	b->depth--;
}

/* One event. Returns 1 at the end of the stream, 0 to go on, -1 to stop. */
static int on_event(struct builder *b, const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_STREAM_END_EVENT:
		return 1;
	case YAML_DOCUMENT_START_EVENT:
		if (b->documents++ > 0) {
			cerr_doc(b->errs, (unsigned)ev->start_mark.line + 1,
				 (unsigned)ev->start_mark.column + 1,
				 "a second YAML document; the file must hold exactly one");
			return -1;
		}
		return 0;
	case YAML_ALIAS_EVENT:
		cerr_doc(b->errs, (unsigned)ev->start_mark.line + 1,
			 (unsigned)ev->start_mark.column + 1, NO_ALIASES);
		b->tainted = true;
		return attach_placeholder(b, &ev->start_mark);
	case YAML_SCALAR_EVENT:
		return on_scalar(b, ev);
	case YAML_SEQUENCE_START_EVENT:
		return on_open(b, ev, CNODE_SEQ);
	case YAML_MAPPING_START_EVENT:
		return on_open(b, ev, CNODE_MAP);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		on_close(b);
		return 0;
	default:
		return 0;
	}
}

static void run(struct builder *b)
{
	for (;;) {
		yaml_event_t ev;
		int r;

		if (!yaml_parser_parse(&b->parser, &ev)) {
			report_parser_error(b);
			b->tainted = true;
			return;
		}
		r = on_event(b, &ev);
		yaml_event_delete(&ev);
		if (r != 0) {
			if (r < 0)
				b->tainted = true;
			return;
		}
	}
}

struct cnode *cnode_parse(const char *data, size_t len, struct cerrs *errs, bool empty_ok)
{
	struct builder b = { .data = data, .len = len, .errs = errs };

	if (len == 0) {
		if (!empty_ok)
			cerr_doc(errs, 0, 0, "the file is empty");
		return NULL;
	}
	if (!yaml_parser_initialize(&b.parser)) {
		cerr_doc(errs, 0, 0, "out of memory while reading YAML");
		return NULL;
	}
	yaml_parser_set_input_string(&b.parser, (const unsigned char *)data, len);
	run(&b);
	yaml_parser_delete(&b.parser);
	if (!b.tainted && (!b.root || (b.root->kind == CNODE_SCALAR && b.root->null))) {
		if (!empty_ok)
			cerr_doc(errs, b.root ? b.root->line : 0, b.root ? b.root->column : 0,
				 "the document is empty");
		b.tainted = true;
	}
	if (b.tainted) {
		cnode_free(b.root);
		return NULL;
	}
	return b.root;
}
