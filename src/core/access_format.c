/* access_format.c — an access-log line, JSON or "combined", rendered into
 * a caller's bounded buffer without allocating (access_log_format()); the
 * writer (access_log.c) calls it once per request. Timestamps are
 * rendered from a per-thread cache of the current second.
 */
#include "core/access_log.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

static const char *const termination_names[ACCESS_TERM_COUNT] = {
	[ACCESS_TERM_OK] = "ok",
	[ACCESS_TERM_REFUSED] = "refused",
	[ACCESS_TERM_RATE_LIMITED] = "rate_limited",
	[ACCESS_TERM_DENIED] = "denied",
	[ACCESS_TERM_QUEUE_FULL] = "queue_full",
	[ACCESS_TERM_QUEUE_TIMEOUT] = "queue_timeout",
	[ACCESS_TERM_CLIENT_CLOSED] = "client_closed",
	[ACCESS_TERM_CLIENT_ABORTED] = "client_aborted",
	[ACCESS_TERM_CLIENT_TIMEOUT] = "client_timeout",
	[ACCESS_TERM_NO_SERVER] = "no_server",
	[ACCESS_TERM_CONNECT_FAILED] = "connect_failed",
	[ACCESS_TERM_CONNECT_TIMEOUT] = "connect_timeout",
	[ACCESS_TERM_SERVER_ABORTED] = "server_aborted",
	[ACCESS_TERM_SERVER_TIMEOUT] = "server_timeout",
	[ACCESS_TERM_INVALID_RESPONSE] = "invalid_response",
	[ACCESS_TERM_INTERNAL] = "internal",
	[ACCESS_TERM_SHUTDOWN] = "shutdown",
};

const char *access_termination_name(enum access_termination t)
{
	return (unsigned)t < ACCESS_TERM_COUNT ? termination_names[t] : "internal";
}

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

static void json_protocol(struct out *o, int http_minor, bool http2)
{
	if (http2) {
		out_str(o, "\"HTTP/2.0\"");
		return;
	}
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
	json_protocol(o, e->http_minor, e->http2);
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
	out_str(o, ",\"termination\":\"");
	out_str(o, access_termination_name(e->termination));
	out_str(o, "\",\"retries\":");
	out_u64(o, e->retries);
	out_str(o, ",\"request_id\":");
	json_cstr_or_null(o, e->request_id);
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
		if (e->http2) {
			out_str(o, "HTTP/2.0");
		} else if (e->http_minor < 0) {
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
	out_str(o, " termination=");
	out_str(o, access_termination_name(e->termination));
	out_str(o, " retries=");
	out_u64(o, e->retries);
	out_str(o, " request_id=");
	clf_cstr(o, e->request_id, false);
	out_ch(o, '\n');
}

size_t access_log_format(enum access_format format, const struct access_entry *e, char *buf,
			 size_t len)
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
