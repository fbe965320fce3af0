/* access_log.c — one line per request (rendered by access_format.c),
 * written out by every worker thread.
 *
 * The hot path takes no lock: each thread appends to a buffer of its own,
 * found through a small thread-local cache keyed by the log's unique id, and
 * writes it out with one write(2) when it passes ACCESS_FLUSH_AT or when its
 * event loop calls access_log_flush(). The log owns every thread's buffer (a
 * list under a mutex taken only the first time a thread writes), so a buffer
 * outlives neither the log nor its thread's need for it, and
 * access_log_close() can write out whatever is still buffered.
 *
 * Rotation never closes the descriptor writers use: access_log_reopen()
 * opens the path anew and dup3()s the new file onto it, so a concurrent
 * write(2) lands either in the old file or in the new one, never nowhere.
 */
#include "core/access_log.h"
#include "build_config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A thread's lines are written once they pass this size (or on a flush). */
#define ACCESS_FLUSH_AT (16 * 1024)
/* Room for the flush threshold plus a long line; a longer line is written
 * on its own. */
#define ACCESS_BUF_SIZE (32 * 1024)
/* Logs a thread writes to at once: the current one, plus an old one for a
 * moment after a reload changes the target. */
#define ACCESS_TLS_SLOTS 4

struct access_buf {
	struct access_buf *next; /* in access_log.bufs */
	pthread_t owner;
	size_t used;
	char data[ACCESS_BUF_SIZE];
};

struct access_log {
	enum access_format format;
	int fd;               /* -1 when "off" */
	bool own_fd;          /* false for stdout */
	_Atomic bool pipe;    /* split writes at lines, each <= PIPE_BUF */
	uint64_t id;          /* unique for the life of the process */
	char *path;           /* NULL for stdout and off */
	pthread_mutex_t lock; /* guards bufs */
	struct access_buf *bufs;
	_Atomic uint64_t dropped;
};

/* Ids, not pointers, key the thread-local cache: a new log may reuse the
 * address of a closed one, and must not inherit the closed one's buffers. */
static _Atomic uint64_t next_log_id = 1;

struct tls_slot {
	uint64_t id;
	struct access_buf *buf; /* NULL: this thread has no buffer in log id */
};
static _Thread_local struct tls_slot tls_slots[ACCESS_TLS_SLOTS];
static _Thread_local unsigned tls_next;

/* ---- writing ---- */

static uint64_t count_lines(const char *p, size_t len)
{
	uint64_t n = 0;

	while (len > 0) {
		const char *nl = memchr(p, '\n', len);

		if (nl == NULL)
			break;
		n++;
		len -= (size_t)(nl + 1 - p);
		p = nl + 1;
	}
	return n;
}

/* Returns -1 when the rest of P could not be written. A write(2) to a full
 * non-blocking pipe gives up rather than spin in a worker thread. */
static int write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Only writes of at most PIPE_BUF bytes to a pipe are atomic; a longer one
 * may interleave with another thread's when the pipe is full. So on a pipe
 * (a container's stdout) the buffer goes out in runs of whole lines of at
 * most PIPE_BUF bytes each; to a file it goes out in one write(2). */
static size_t next_chunk(const char *p, size_t len)
{
	const char *nl;

	if (len <= PIPE_BUF)
		return len;
	nl = memrchr(p, '\n', PIPE_BUF);
	if (nl != NULL)
		return (size_t)(nl + 1 - p);
	nl = memchr(p, '\n', len); /* one line longer than PIPE_BUF */
	return nl != NULL ? (size_t)(nl + 1 - p) : len;
}

static void log_write_out(struct access_log *log, const char *p, size_t len)
{
	bool pipe = atomic_load_explicit(&log->pipe, memory_order_relaxed);

	while (len > 0) {
		size_t n = pipe ? next_chunk(p, len) : len;

		if (write_all(log->fd, p, n) < 0) {
			atomic_fetch_add_explicit(&log->dropped, count_lines(p, len),
						  memory_order_relaxed);
			return;
		}
		p += n;
		len -= n;
	}
}

static void buf_flush(struct access_log *log, struct access_buf *b)
{
	if (b->used == 0)
		return;
	log_write_out(log, b->data, b->used);
	b->used = 0;
}

/* The slow path of buffer lookup: the first line a thread writes to this
 * log, or a thread that has used more logs than it has slots. */
static struct access_buf *buf_register(struct access_log *log, bool create)
{
	pthread_t self = pthread_self();
	struct access_buf *b;

	pthread_mutex_lock(&log->lock);
	for (b = log->bufs; b != NULL; b = b->next)
		if (pthread_equal(b->owner, self))
			break;
	/* A thread that exits and one that starts later may share a
	 * pthread_t; the new one then simply inherits the buffer. */
	if (b == NULL && create) {
		b = malloc(sizeof(*b));
		if (b != NULL) {
			b->owner = self;
			b->used = 0;
			b->next = log->bufs;
			log->bufs = b;
		}
	}
	pthread_mutex_unlock(&log->lock);
	return b;
}

static struct access_buf *thread_buf(struct access_log *log, bool create)
{
	struct tls_slot *slot = NULL;

	for (unsigned i = 0; i < ACCESS_TLS_SLOTS; i++) {
		if (tls_slots[i].id == log->id) {
			slot = &tls_slots[i];
			break;
		}
	}
	if (slot != NULL && (slot->buf != NULL || !create))
		return slot->buf;
	if (slot == NULL)
		slot = &tls_slots[tls_next++ % ACCESS_TLS_SLOTS];
	slot->id = log->id;
	slot->buf = buf_register(log, create);
	return slot->buf;
}

/* A line longer than the whole buffer: rare (a huge request-target), and
 * written on its own so that nothing is cut. */
static void write_long_line(struct access_log *log, const struct access_entry *e, size_t n)
{
	char *line = malloc(n + 1);

	if (line == NULL) {
		atomic_fetch_add_explicit(&log->dropped, 1, memory_order_relaxed);
		return;
	}
	access_log_format(log->format, e, line, n + 1);
	log_write_out(log, line, n);
	free(line);
}

bool access_log_on(const struct access_log *log)
{
	return log != NULL && log->fd >= 0;
}

void access_log_write(struct access_log *log, const struct access_entry *e)
{
	struct access_buf *b;
	size_t n;

	if (log == NULL || log->fd < 0)
		return;
	b = thread_buf(log, true);
	if (b == NULL) {
		atomic_fetch_add_explicit(&log->dropped, 1, memory_order_relaxed);
		return;
	}
	n = access_log_format(log->format, e, b->data + b->used, sizeof(b->data) - b->used);
	if (n >= sizeof(b->data) - b->used) {
		buf_flush(log, b);
		if (n >= sizeof(b->data)) {
			write_long_line(log, e, n);
			return;
		}
		access_log_format(log->format, e, b->data, sizeof(b->data));
	}
	b->used += n;
	if (b->used >= ACCESS_FLUSH_AT)
		buf_flush(log, b);
}

void access_log_flush(struct access_log *log)
{
	struct access_buf *b;

	if (log == NULL || log->fd < 0)
		return;
	b = thread_buf(log, false);
	if (b != NULL)
		buf_flush(log, b);
}

uint64_t access_log_dropped(const struct access_log *log)
{
	return log != NULL ? atomic_load_explicit(&log->dropped, memory_order_relaxed) : 0;
}

/* ---- opening, rotation, closing ---- */

static bool fd_is_pipe(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode));
}

static int open_file(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);

	if (fd < 0)
		snprintf(err, errlen, "access log %s: %s", path, strerror(errno));
	return fd;
}

struct access_log *access_log_open(const char *target, enum access_format format, char *err,
				   size_t errlen)
{
	struct access_log *log;

	if (target == NULL || *target == '\0') {
		snprintf(err, errlen, "access log: no target (stdout, off or a path)");
		return NULL;
	}
	log = calloc(1, sizeof(*log));
	if (log == NULL) {
		snprintf(err, errlen, "access log: out of memory");
		return NULL;
	}
	log->format = format;
	log->id = atomic_fetch_add(&next_log_id, 1);
	if (strcmp(target, "off") == 0) {
		log->fd = -1;
	} else if (strcmp(target, "stdout") == 0) {
		log->fd = STDOUT_FILENO;
	} else {
		log->path = strdup(target);
		log->fd = log->path != NULL ? open_file(target, err, errlen) : -1;
		if (log->fd < 0) {
			if (log->path == NULL)
				snprintf(err, errlen, "access log: out of memory");
			free(log->path);
			free(log);
			return NULL;
		}
		log->own_fd = true;
	}
	atomic_init(&log->pipe, log->fd >= 0 && fd_is_pipe(log->fd));
	pthread_mutex_init(&log->lock, NULL);
	return log;
}

int access_log_reopen(struct access_log *log, char *err, size_t errlen)
{
	int fd;

	if (log == NULL || log->path == NULL)
		return 0;
	fd = open_file(log->path, err, errlen);
	if (fd < 0)
		return -1;
	/* dup3, not dup2: keep close-on-exec on the descriptor writers use. */
	if (dup3(fd, log->fd, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "access log %s: %s", log->path, strerror(errno));
		close(fd);
		return -1;
	}
	atomic_store_explicit(&log->pipe, fd_is_pipe(fd), memory_order_relaxed);
	close(fd);
	return 0;
}

void access_log_close(struct access_log *log)
{
	struct access_buf *b, *next;

	if (log == NULL)
		return;
	for (b = log->bufs; b != NULL; b = next) {
		next = b->next;
		if (log->fd >= 0)
			buf_flush(log, b);
		free(b);
	}
	if (log->own_fd)
		close(log->fd);
	pthread_mutex_destroy(&log->lock);
	free(log->path);
	free(log);
}
