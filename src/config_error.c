/* config_error.c — accumulating configuration errors (skeleton). */
#include "config_error.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void config_errors_init(struct config_errors *errs) { memset(errs, 0, sizeof(*errs)); }
void config_errors_free(struct config_errors *errs) { (void)errs; }
void config_errors_add(struct config_errors *errs, const char *file, unsigned line,
		       unsigned column, const char *path, const char *fmt, ...)
{
	(void)errs; (void)file; (void)line; (void)column; (void)path; (void)fmt;
}
int config_error_format(const struct config_error *e, char *buf, size_t len) { (void)e; (void)buf; (void)len; return 0; }
void config_errors_print(const struct config_errors *errs, FILE *out) { (void)errs; (void)out; }
