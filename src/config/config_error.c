/* config_error.c — accumulating configuration errors.
 *
 * Allocation failures drop the error rather than abort: the caller still
 * sees that loading failed, only with one message fewer.
 */
#include "config/config_error.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void config_errors_init(struct config_errors *errs)
{
	memset(errs, 0, sizeof(*errs));
}

static void error_clear(struct config_error *e)
{
	free(e->file);
	free(e->path);
	free(e->message);
}

void config_errors_free(struct config_errors *errs)
{
	for (size_t i = 0; i < errs->count; i++)
		error_clear(&errs->items[i]);
	free(errs->items);
	config_errors_init(errs);
}

static struct config_error *errors_push(struct config_errors *errs)
{
	if (errs->count == errs->cap) {
		size_t cap = errs->cap ? errs->cap * 2 : 8;
		struct config_error *items = realloc(errs->items, cap * sizeof(*items));
		if (!items)
			return NULL;
		errs->items = items;
		errs->cap = cap;
	}
	return &errs->items[errs->count];
}

void config_errors_add(struct config_errors *errs, const char *file, unsigned line, unsigned column,
		       const char *path, const char *fmt, ...)
{
	struct config_error *e = errors_push(errs);
	va_list ap;
	int n;

	if (!e)
		return;
	memset(e, 0, sizeof(*e));
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	e->message = malloc((size_t)n + 1);
	e->file = strdup(file ? file : "-");
	e->path = path && *path ? strdup(path) : NULL;
	if (!e->message || !e->file || (path && *path && !e->path)) {
		error_clear(e);
		return;
	}
	va_start(ap, fmt);
	vsnprintf(e->message, (size_t)n + 1, fmt, ap);
	va_end(ap);
	e->line = line;
	e->column = column;
	errs->count++;
}

int config_error_format(const struct config_error *e, char *buf, size_t len)
{
	char pos[32] = "";

	if (e->line)
		snprintf(pos, sizeof(pos), ":%u:%u", e->line, e->column);
	return snprintf(buf, len, "%s%s: %s%s%s", e->file, pos, e->path ? e->path : "",
			e->path ? ": " : "", e->message);
}

void config_errors_print(const struct config_errors *errs, FILE *out)
{
	for (size_t i = 0; i < errs->count; i++) {
		char small[512];
		const struct config_error *e = &errs->items[i];
		int n = config_error_format(e, small, sizeof(small));

		if (n < 0)
			continue;
		if ((size_t)n < sizeof(small)) {
			fprintf(out, "%s\n", small);
			continue;
		}
		char *big = malloc((size_t)n + 1);
		if (big) {
			config_error_format(e, big, (size_t)n + 1);
			fprintf(out, "%s\n", big);
			free(big);
		}
	}
}
