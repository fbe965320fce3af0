/* config_error.h — configuration errors a person can act on.
 *
 * Every error names the file, line and column, the key path
 * ("pools[1].servers[0].weight") and what was expected. Errors accumulate so
 * that `lbd -t` and a rejected reload report all of them at once.
 */
#ifndef LBD_CONFIG_ERROR_H
#define LBD_CONFIG_ERROR_H

#include <stddef.h>
#include <stdio.h>

struct config_error {
	char *file;
	unsigned line, column; /* 1-based; 0 when not known (file cannot be read) */
	char *path;            /* key path, or NULL for document-level errors */
	char *message;
};

struct config_errors {
	struct config_error *items;
	size_t count, cap;
};

void config_errors_init(struct config_errors *errs);
void config_errors_free(struct config_errors *errs);

void config_errors_add(struct config_errors *errs, const char *file, unsigned line, unsigned column,
		       const char *path, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

/* "FILE:LINE:COLUMN: PATH: MESSAGE" (PATH and its colon omitted when NULL,
 * LINE:COLUMN omitted when 0). Returns the length like snprintf. */
int config_error_format(const struct config_error *e, char *buf, size_t len);

/* One formatted error per line. */
void config_errors_print(const struct config_errors *errs, FILE *out);

#endif
