/* access_log.h — one line per request, JSON or "combined", on stdout or a
 * file.
 *
 * Worker threads append to a buffer of their own (no lock on the request
 * path) and flush it with one write(2) when it fills or when their event
 * loop calls access_log_flush() (a short timer), so lines never interleave.
 * access_log_reopen() (SIGUSR1, logrotate) swaps the file under the writers
 * with dup3() (a dup2() that keeps close-on-exec), so no line is lost or
 * written to a closed descriptor.
 *
 * One log is shared by every worker thread and by successive configuration
 * generations; the daemon owns it. Writing, flushing and reopening are safe
 * from any thread at any time. Closing is not: call access_log_close() only
 * once no thread can write to the log any more (workers stopped, or moved to
 * another log and past their last write to this one). It writes out what
 * every thread still has buffered, then frees the buffers.
 */
#ifndef LBD_ACCESS_LOG_H
#define LBD_ACCESS_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

enum access_format {
	ACCESS_FORMAT_JSON,
	ACCESS_FORMAT_COMBINED,
};

/* How an exchange ended, in the spirit of HAProxy's termination state; the
 * names (access_termination_name()) are the log's words, documented in
 * lbd(8) LOGGING. */
enum access_termination {
	ACCESS_TERM_OK,               /* the whole response was sent */
	ACCESS_TERM_REFUSED,          /* lbd refused the request (4xx, 501, 505) */
	ACCESS_TERM_CLIENT_CLOSED,    /* the client left before any response (499) */
	ACCESS_TERM_CLIENT_ABORTED,   /* the client left during the response */
	ACCESS_TERM_CLIENT_TIMEOUT,   /* the client was too slow (408, unread response) */
	ACCESS_TERM_NO_SERVER,        /* no server available (503) */
	ACCESS_TERM_CONNECT_FAILED,   /* no connection could be made (502) */
	ACCESS_TERM_CONNECT_TIMEOUT,  /* every connect timed out (504) */
	ACCESS_TERM_SERVER_ABORTED,   /* the server closed or reset early */
	ACCESS_TERM_SERVER_TIMEOUT,   /* the server stayed silent too long */
	ACCESS_TERM_INVALID_RESPONSE, /* the server's response was malformed (502) */
	ACCESS_TERM_INTERNAL,         /* lbd failed (out of memory) */
	ACCESS_TERM_SHUTDOWN,         /* lbd's stop ended it (drain timeout) */
	ACCESS_TERM_RATE_LIMITED,     /* over its route's rate limit (429) */
	ACCESS_TERM_DENIED,           /* the client address is not allowed (403) */
	ACCESS_TERM_QUEUE_FULL,       /* every slot taken, the pool's queue full (503) */
	ACCESS_TERM_QUEUE_TIMEOUT,    /* waited queue.timeout for a slot (503) */
	ACCESS_TERM_COUNT,
};

/* The termination's name in the log ("ok", "client_closed"...). */
const char *access_termination_name(enum access_termination t);

/* A request as the access log sees it. Strings are not NUL-terminated where
 * a length is given; NULL or length 0 prints as "-" (combined) or "" (JSON). */
struct access_entry {
	struct timespec start; /* CLOCK_REALTIME when the request began */
	const char *client;    /* client address, numeric */
	const char *method;
	size_t method_len;
	const char *target;
	size_t target_len; /* request-target as received */
	const char *host;
	size_t host_len;
	const char *user_agent;
	size_t user_agent_len;
	const char *referer;
	size_t referer_len;
	int http_minor;          /* HTTP/1.<minor>; -1 when the request
				       head was never parsed */
	bool http2;              /* the request came over HTTP/2 */
	int status;              /* status sent to the client */
	uint64_t bytes_sent;     /* bytes sent to the client, head and body */
	uint64_t bytes_received; /* request bytes received, head and body */
	const char *listener;
	const char *pool;    /* NULL when no route matched */
	const char *server;  /* NULL when no server was reached */
	int64_t upstream_us; /* -1 when no server answered */
	uint64_t total_us;
	uint64_t generation;
	enum access_termination termination;
	unsigned retries;       /* servers tried after the first */
	const char *request_id; /* its X-Request-Id; NULL before its head */
};

struct access_log;

/* TARGET is "stdout", "off" or a file path (opened O_APPEND, created 0640).
 * Returns NULL with a message in ERR when the file cannot be opened. "off"
 * returns a log whose writes do nothing. */
struct access_log *access_log_open(const char *target, enum access_format format, char *err,
				   size_t errlen);
void access_log_close(struct access_log *log);

/* Whether lines are written at all ("off": they are not), so that a
 * caller skips gathering what a line would hold. */
bool access_log_on(const struct access_log *log);

/* Append one line for E to the calling thread's buffer. */
void access_log_write(struct access_log *log, const struct access_entry *e);

/* Write out the calling thread's buffered lines. */
void access_log_flush(struct access_log *log);

/* Lines lost so far: a write(2) failed (disk full, a full non-blocking
 * pipe) or memory ran out. For metrics; the log never blocks to avoid it. */
uint64_t access_log_dropped(const struct access_log *log);

/* Reopen the file at the same path (a no-op for stdout and off). Returns 0,
 * or -1 with a message in ERR; the old file stays in use on failure. */
int access_log_reopen(struct access_log *log, char *err, size_t errlen);

/* Format E as one line ending in '\n' into BUF. Returns the length, or the
 * length it would have had when LEN is too small (like snprintf: the line
 * fits when the result is below LEN, and BUF is NUL-terminated whenever LEN
 * is not 0). Exposed for the unit tests. */
size_t access_log_format(enum access_format format, const struct access_entry *e, char *buf,
			 size_t len);

#endif
