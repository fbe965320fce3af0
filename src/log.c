/* log.c — skeleton. */
#include "log.h"
#include <stdio.h>
void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}
void log_vmsg(enum log_level level, const char *fmt, va_list ap) { (void)level; vfprintf(stderr, fmt, ap); fputc('\n', stderr); }
