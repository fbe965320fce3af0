/* access_log.c — one line per request, JSON or "combined".
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
#include "build_config.h"
#include "core/access_log.h"

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
	int fd;             /* -1 when "off" */
	bool own_fd;        /* false for stdout */
	_Atomic bool pipe;  /* split writes at lines, each <= PIPE_BUF */
	uint64_t id;        /* unique for the life of the process */
	char *path;         /* NULL for stdout and off */
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

/* ---- output into a bounded buffer, snprintf-style ---- */

struct out {
	char *buf;
	size_t len;
	size_t pos; /* may pass len: the length the whole line needs */
};

static void out_mem(struct out *o, const void *p, size_t n)
{
	if (n > 0 && o->pos < o->len) {
		size_t room = o->len - o->pos;

		memcpy(o->buf + o->pos, p, n < room ? n : room);
	}
	o->pos += n;
}

static void out_str(struct out *o, const char *s)
{
	out_mem(o, s, strlen(s));
}

static void out_ch(struct out *o, char c)
{
	if (o->pos < o->len)
		o->buf[o->pos] = c;
	o->pos++;
}

static void out_u64(struct out *o, uint64_t v)
{
	char tmp[20];
	size_t i = sizeof(tmp);

	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	out_mem(o, tmp + i, sizeof(tmp) - i);
}

static void out_int(struct out *o, int v)
{
	if (v < 0) {
		out_ch(o, '-');
		out_u64(o, -(uint64_t)v);
	} else {
		out_u64(o, (uint64_t)v);
	}
}

static void out_digits(struct out *o, unsigned v, int width)
{
	char tmp[8];

	for (int i = width - 1; i >= 0; i--) {
		tmp[i] = (char)('0' + v % 10);
		v /= 10;
	}
	out_mem(o, tmp, (size_t)width);
}

/* Microseconds as seconds with millisecond precision, rounded, the way
 * nginx prints $request_time: 3499us -> "0.003". */
static void out_seconds(struct out *o, uint64_t us)
{
	uint64_t ms = us / 1000 + (us % 1000 >= 500);

	out_u64(o, ms / 1000);
	out_ch(o, '.');
	out_digits(o, (unsigned)(ms % 1000), 3);
}

/* ---- time ---- */

/* Both formats print the request's start second; a thread formats each new
 * second once (a busy thread logs many requests per second). */
struct time_cache {
	time_t sec;
	bool valid;
	char iso[19]; /* 2026-11-25T10:00:00 */
	char clf[20]; /* 25/Nov/2026:10:00:00 */
};
static _Thread_local struct time_cache tls_time;

static void put_digits(char *p, unsigned v, int width)
{
	for (int i = width - 1; i >= 0; i--) {
		p[i] = (char)('0' + v % 10);
		v /= 10;
	}
}

static const struct time_cache *time_for(time_t sec)
{
	static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct time_cache *c = &tls_time;
	struct tm tm;

	if (c->valid && c->sec == sec)
		return c;
	if (gmtime_r(&sec, &tm) == NULL || tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999)
		memset(&tm, 0, sizeof(tm)); /* an absurd clock: print 1900-01-00 */
	put_digits(c->iso, (unsigned)(tm.tm_year + 1900), 4);
	c->iso[4] = '-';
	put_digits(c->iso + 5, (unsigned)tm.tm_mon + 1, 2);
	c->iso[7] = '-';
	put_digits(c->iso + 8, (unsigned)tm.tm_mday, 2);
	c->iso[10] = 'T';
	put_digits(c->iso + 11, (unsigned)tm.tm_hour, 2);
	c->iso[13] = ':';
	put_digits(c->iso + 14, (unsigned)tm.tm_min, 2);
	c->iso[16] = ':';
	put_digits(c->iso + 17, (unsigned)tm.tm_sec, 2);

	put_digits(c->clf, (unsigned)tm.tm_mday, 2);
	c->clf[2] = '/';
	memcpy(c->clf + 3, months[tm.tm_mon], 3);
	c->clf[6] = '/';
	put_digits(c->clf + 7, (unsigned)(tm.tm_year + 1900), 4);
	c->clf[11] = ':';
	memcpy(c->clf + 12, c->iso + 11, 8); /* HH:MM:SS */
	c->sec = sec;
	c->valid = true;
	return c;
}

/* ---- JSON ---- */

/* Length of the well-formed UTF-8 sequence at S (Unicode table 3-7: no
 * overlong forms, no surrogates, nothing above U+10FFFF), or 0. */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t need;

	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		need = 2;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		need = 3;
		if (s[0] == 0xe0)
			lo = 0xa0;
		else if (s[0] == 0xed)
			hi = 0x9f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		need = 4;
		if (s[0] == 0xf0)
			lo = 0x90;
		else if (s[0] == 0xf4)
			hi = 0x8f;
	} else {
		return 0;
	}
	if (n < need || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < need; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return need;
}

/* S as a JSON string. Client bytes are hostile, so every byte that is not
 * printable ASCII or part of valid UTF-8 becomes \u00XX (the byte read as
 * Latin-1): the line is always valid JSON and always one line. */
static void json_str(struct out *o, const char *str, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)(str != NULL ? str : "");
	size_t i = 0, run = 0;

	if (str == NULL)
		len = 0;
	out_ch(o, '"');
	while (i < len) {
		unsigned char c = s[i];
		size_t seq = 1;

		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
			i++;
			continue;
		}
		if (c >= 0x80 && (seq = utf8_seq_len(s + i, len - i)) != 0) {
			i += seq;
			continue;
		}
		out_mem(o, s + run, i - run);
		if (c == '"' || c == '\\') {
			out_ch(o, '\\');
			out_ch(o, (char)c);
		} else {
			char esc[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xf] };

			out_mem(o, esc, sizeof(esc));
		}
		run = ++i;
	}
	out_mem(o, s + run, i - run);
	out_ch(o, '"');
}

static void json_cstr(struct out *o, const char *s)
{
	json_str(o, s, s != NULL ? strlen(s) : 0);
}

static void json_cstr_or_null(struct out *o, const char *s)
{
	if (s == NULL)
		out_str(o, "null");
	else
		json_cstr(o, s);
}

static void json_protocol(struct out *o, int http_minor)
{
	if (http_minor < 0) {
		out_str(o, "\"\"");
		return;
	}
	out_str(o, "\"HTTP/1.");
	out_int(o, http_minor);
	out_ch(o, '"');
}

static void format_json(struct out *o, const struct access_entry *e)
{
	const struct time_cache *t = time_for(e->start.tv_sec);

	out_str(o, "{\"time\":\"");
	out_mem(o, t->iso, sizeof(t->iso));
	out_ch(o, '.');
	out_digits(o, (unsigned)(e->start.tv_nsec / 1000000) % 1000, 3);
	out_str(o, "Z\",\"client\":");
	json_cstr(o, e->client);
	out_str(o, ",\"listener\":");
	json_cstr(o, e->listener);
	out_str(o, ",\"method\":");
	json_str(o, e->method, e->method != NULL ? e->method_len : 0);
	out_str(o, ",\"path\":");
	json_str(o, e->target, e->target != NULL ? e->target_len : 0);
	out_str(o, ",\"protocol\":");
	json_protocol(o, e->http_minor);
	out_str(o, ",\"host\":");
	json_str(o, e->host, e->host != NULL ? e->host_len : 0);
	out_str(o, ",\"status\":");
	out_int(o, e->status);
	out_str(o, ",\"bytes\":");
	out_u64(o, e->bytes_sent);
	out_str(o, ",\"bytes_in\":");
	out_u64(o, e->bytes_received);
	out_str(o, ",\"pool\":");
	json_cstr_or_null(o, e->pool);
	out_str(o, ",\"server\":");
	json_cstr_or_null(o, e->server);
	out_str(o, ",\"upstream_time\":");
	if (e->upstream_us < 0)
		out_str(o, "null");
	else
		out_seconds(o, (uint64_t)e->upstream_us);
	out_str(o, ",\"total_time\":");
	out_seconds(o, e->total_us);
	out_str(o, ",\"generation\":");
	out_u64(o, e->generation);
	out_str(o, ",\"user_agent\":");
	json_str(o, e->user_agent, e->user_agent != NULL ? e->user_agent_len : 0);
	out_str(o, "}\n");
}

/* ---- combined ---- */

/* Like nginx's default log escaping: '"', '\' and bytes outside printable
 * ASCII become \xHH. Unquoted fields escape the space too, so that a field
 * never splits in two. Missing values print as "-". */
static void clf_str(struct out *o, const char *str, size_t len, bool quoted)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *s = (const unsigned char *)str;
	size_t run = 0;

	if (str == NULL || len == 0) {
		out_ch(o, '-');
		return;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = s[i];

		if (c > 0x20 && c < 0x7f && c != '"' && c != '\\')
			continue;
		if (c == ' ' && quoted)
			continue;
		out_mem(o, s + run, i - run);
		char esc[4] = { '\\', 'x', hex[c >> 4], hex[c & 0xf] };

		out_mem(o, esc, sizeof(esc));
		run = i + 1;
	}
	out_mem(o, s + run, len - run);
}

static void clf_cstr(struct out *o, const char *s, bool quoted)
{
	clf_str(o, s, s != NULL ? strlen(s) : 0, quoted);
}

/* "GET /a HTTP/1.1", each missing part "-"; "-" alone when the request
 * head was never parsed. */
static void clf_request(struct out *o, const struct access_entry *e)
{
	bool no_method = e->method == NULL || e->method_len == 0;
	bool no_target = e->target == NULL || e->target_len == 0;

	out_ch(o, '"');
	if (no_method && no_target && e->http_minor < 0) {
		out_ch(o, '-');
	} else {
		clf_str(o, e->method, e->method_len, true);
		out_ch(o, ' ');
		clf_str(o, e->target, e->target_len, true);
		out_ch(o, ' ');
		if (e->http_minor < 0) {
			out_ch(o, '-');
		} else {
			out_str(o, "HTTP/1.");
			out_int(o, e->http_minor);
		}
	}
	out_ch(o, '"');
}

static void format_combined(struct out *o, const struct access_entry *e)
{
	const struct time_cache *t = time_for(e->start.tv_sec);

	clf_cstr(o, e->client, false);
	out_str(o, " - - [");
	out_mem(o, t->clf, sizeof(t->clf));
	out_str(o, " +0000] ");
	clf_request(o, e);
	out_ch(o, ' ');
	out_int(o, e->status);
	out_ch(o, ' ');
	out_u64(o, e->bytes_sent);
	out_str(o, " \"");
	clf_str(o, e->referer, e->referer_len, true);
	out_str(o, "\" \"");
	clf_str(o, e->user_agent, e->user_agent_len, true);
	out_str(o, "\" listener=");
	clf_cstr(o, e->listener, false);
	out_str(o, " pool=");
	clf_cstr(o, e->pool, false);
	out_str(o, " server=");
	clf_cstr(o, e->server, false);
	out_str(o, " upstream_time=");
	if (e->upstream_us < 0)
		out_ch(o, '-');
	else
		out_seconds(o, (uint64_t)e->upstream_us);
	out_str(o, " total_time=");
	out_seconds(o, e->total_us);
	out_str(o, " generation=");
	out_u64(o, e->generation);
	out_ch(o, '\n');
}

size_t access_log_format(enum access_format format, const struct access_entry *e,
			 char *buf, size_t len)
{
	struct out o = { .buf = buf, .len = len, .pos = 0 };

	if (format == ACCESS_FORMAT_COMBINED)
		format_combined(&o, e);
	else
		format_json(&o, e);
	if (len > 0)
		buf[o.pos < len ? o.pos : len - 1] = '\0';
	return o.pos;
}

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

struct access_log *access_log_open(const char *target, enum access_format format,
				   char *err, size_t errlen)
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
