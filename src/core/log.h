/* log.h — the error log: leveled lines on stderr.
 *
 * One line per event, written with a single write(2) so that lines from
 * several worker threads never interleave:
 *   2026-11-25T10:00:00.123Z lbd[1234]: warn: pool api: server api1 ...
 * or, to the journal (log_detect_journal()):
 *   <4>warn: pool api: server api1 ...
 */
#ifndef LBD_LOG_H
#define LBD_LOG_H

#include <stdarg.h>
#include <stdbool.h>

enum log_level {
	LOG_LEVEL_ERROR,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};

/* Messages above LEVEL are dropped. The default is LOG_LEVEL_INFO. */
void log_set_level(enum log_level level);
enum log_level log_get_level(void);

/* Whether stderr is the systemd journal's stream (JOURNAL_STREAM names its
 * device and inode): lines then start with their syslog priority ("<3>"
 * for errors) and leave the time and pid to the journal. Call once at
 * start, before the threads; returns what it found. */
bool log_detect_journal(void);

/* "error", "warn", "info" or "debug". Returns 0, or -1 for anything else. */
int log_level_parse(const char *s, enum log_level *out);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_vmsg(enum log_level level, const char *fmt, va_list ap);

#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)

#endif
