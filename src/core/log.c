/* log.c — the error log: leveled lines on stderr.
 *
 * Each line is built whole in a stack buffer and written with one write(2):
 * no stdio, no lock, so worker threads can log at any time and lines from
 * different threads never interleave. A line is at most LOG_LINE_MAX bytes,
 * which is PIPE_BUF, so the write stays atomic even when stderr is a pipe
 * (journald, a container runtime). Longer messages are cut and end in "...".
 *
 * Under systemd, when stderr is the journal's stream, each line starts with
 * its syslog priority instead ("<4>warn: ..."): journald files the entry
 * under it (SyslogLevelPrefix=, on by default) and adds the time and the
 * pid itself.
 */
#include "core/log.h"
#include "build_config.h"

#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX PIPE_BUF
#define LOG_ELLIPSIS "..."

static _Atomic int log_level = LOG_LEVEL_INFO;
static _Atomic bool log_journal;

static const char *const level_names[] = {
	[LOG_LEVEL_ERROR] = "error",
	[LOG_LEVEL_WARN] = "warn",
	[LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_DEBUG] = "debug",
};

/* syslog(3)'s priorities: LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG. */
static const char *const journal_prefixes[] = {
	[LOG_LEVEL_ERROR] = "<3>",
	[LOG_LEVEL_WARN] = "<4>",
	[LOG_LEVEL_INFO] = "<6>",
	[LOG_LEVEL_DEBUG] = "<7>",
};

bool log_detect_journal(void)
{
	const char *v = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char end;

	/* systemd.exec(5): "DEVICE:INODE" of the stream it connected; stderr
	 * is the journal only while it is still that file (not redirected). */
	bool on = v && sscanf(v, "%llu:%llu%c", &dev, &ino, &end) == 2 &&
		  fstat(STDERR_FILENO, &st) == 0 && (unsigned long long)st.st_dev == dev &&
		  (unsigned long long)st.st_ino == ino;
	atomic_store_explicit(&log_journal, on, memory_order_relaxed);
	return on;
}

void log_set_level(enum log_level level)
{
	atomic_store_explicit(&log_level, (int)level, memory_order_relaxed);
}

enum log_level log_get_level(void)
{
	return (enum log_level)atomic_load_explicit(&log_level, memory_order_relaxed);
}

int log_level_parse(const char *s, enum log_level *out)
{
	if (s == NULL)
		return -1;
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

/* "2026-11-25T10:00:00.123Z lbd[1234]: warn: ", or "<4>warn: " to the
 * journal. */
static size_t format_prefix(char *buf, size_t len, enum log_level level)
{
	struct timespec ts;
	struct tm tm;
	int n;

	if (atomic_load_explicit(&log_journal, memory_order_relaxed)) {
		n = snprintf(buf, len, "%s%s: ", journal_prefixes[level], level_names[level]);
		return n < 0 ? 0 : (size_t)n < len ? (size_t)n : len - 1;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = snprintf(buf, len,
		     "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ lbd[%ld]: %s: ", tm.tm_year + 1900,
		     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		     (int)(ts.tv_nsec / 1000000), (long)getpid(), level_names[level]);
	if (n < 0)
		return 0;
	return (size_t)n < len ? (size_t)n : len - 1;
}

/* Copy MSG into OUT (CAP bytes), escaping control bytes so that one event
 * stays one line and a hostile string cannot forge a second one. Returns the
 * bytes used; sets *CUT when MSG did not fit. */
static size_t escape_message(char *out, size_t cap, const char *msg, int *cut)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	*cut = 0;
	for (const unsigned char *p = (const unsigned char *)msg; *p != '\0'; p++) {
		char esc[4];
		size_t n;

		if (*p == '\n' || *p == '\r' || *p == '\t') {
			esc[0] = '\\';
			esc[1] = *p == '\n' ? 'n' : *p == '\r' ? 'r' : 't';
			n = 2;
		} else if (*p < 0x20 || *p == 0x7f) {
			esc[0] = '\\';
			esc[1] = 'x';
			esc[2] = hex[*p >> 4];
			esc[3] = hex[*p & 0xf];
			n = 4;
		} else {
			esc[0] = (char)*p;
			n = 1;
		}
		if (o + n > cap) {
			*cut = 1;
			break;
		}
		memcpy(out + o, esc, n);
		o += n;
	}
	return o;
}

static void write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return; /* nowhere left to report it */
		}
		buf += n;
		len -= (size_t)n;
	}
}

void log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	char msg[LOG_LINE_MAX];
	char line[LOG_LINE_MAX];
	size_t o, room;
	int saved_errno = errno;
	int n, cut;

	if ((int)level > atomic_load_explicit(&log_level, memory_order_relaxed))
		return;
	if ((int)level < LOG_LEVEL_ERROR || level > LOG_LEVEL_DEBUG)
		level = LOG_LEVEL_ERROR;

	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n < 0)
		n = snprintf(msg, sizeof(msg), "(unformattable message: %s)", fmt);

	o = format_prefix(line, sizeof(line), level);
	/* Keep room for the ellipsis and the newline. */
	room = sizeof(line) - o - (sizeof(LOG_ELLIPSIS) - 1) - 1;
	o += escape_message(line + o, room, msg, &cut);
	if (cut || (size_t)n >= sizeof(msg)) {
		memcpy(line + o, LOG_ELLIPSIS, sizeof(LOG_ELLIPSIS) - 1);
		o += sizeof(LOG_ELLIPSIS) - 1;
	}
	line[o++] = '\n';
	write_all(STDERR_FILENO, line, o);
	errno = saved_errno;
}
