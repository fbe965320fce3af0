/* http_upstream.c — the server side of an HTTP exchange: picking a server,
 * connecting (with retries on other servers), the worker's pool of idle
 * keep-alive connections, and parsing and relaying the response.
 *
 * A request is sent again only when no byte of it can have reached a
 * server: after a failed connect, or — for an idempotent request without a
 * body — when a pooled connection turns out to have been closed by the
 * server before it answered anything (the race every keep-alive pool has).
 */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "balance.h"
#include "http_conn.h"
#include "http_rewrite.h"
#include "io.h"
#include "log.h"
#include "proxy.h"
#include "runtime.h"

/* How long an idle pooled connection is kept: shorter than the keep-alive
 * timeout of common servers (nginx 75 s, Apache 5 s is the odd one out) so
 * lbd usually closes first. */
#define UPSTREAM_IDLE_MS 30000

/* Bounds of a response head. Servers are trusted more than clients, but a
 * broken one must not make lbd buffer without limit: 64 KiB holds the
 * largest cookie sets seen in practice. */
#define RESPONSE_HEAD_MAX_BYTES (64 * 1024)
#define RESPONSE_HEAD_MAX_FIELDS 500

static void ms_to_tv(uint64_t ms, struct timeval *tv)
{
	tv->tv_sec = (time_t)(ms / 1000);
	tv->tv_usec = (suseconds_t)((ms % 1000) * 1000);
}

static void up_free(struct upstream_conn *up)
{
	io_reader_free(&up->rd);
	bufferevent_free(up->bev);
	free(up);
}

/* --- accounting --------------------------------------------------------- */

static void assign_server(struct exchange *ex, struct server_conf *srv)
{
	ex->server = srv;
	ex->served_by = srv;
	atomic_fetch_add_explicit(&srv->rt->active, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&srv->rt->requests, 1, memory_order_relaxed);
}

static void release_server(struct exchange *ex)
{
	if (ex->server)
		atomic_fetch_sub_explicit(&ex->server->rt->active, 1, memory_order_relaxed);
}

static void note_failure(struct exchange *ex, int status)
{
	struct server_conf *srv = ex->server;

	atomic_fetch_add_explicit(&srv->rt->failures, 1, memory_order_relaxed);
	release_server(ex);
	ex->tried[ex->ntried++] = srv;
	/* 504 only when every try timed out; any other failure makes it 502. */
	ex->fail_status = (ex->ntried == 1 || ex->fail_status == 504) && status == 504 ? 504 : 502;
	ex->server = NULL;
}

/* --- the idle pool ------------------------------------------------------ */

/* The worker's idle lists are indexed by server id, grown on demand. */
static struct upstream_list *idle_list(struct worker *w, const struct server_rt *rt)
{
	if (rt->id >= w->nidle_lists) {
		uint32_t n = rt->id + 16;
		struct upstream_list *lists = realloc(w->idle, n * sizeof(*lists));
		if (!lists)
			return NULL;
		for (uint32_t i = w->nidle_lists; i < n; i++)
			TAILQ_INIT(&lists[i]);
		/* TAILQ heads point at themselves when empty: fix up moved ones. */
		for (uint32_t i = 0; i < w->nidle_lists; i++) {
			if (TAILQ_EMPTY(&lists[i]))
				TAILQ_INIT(&lists[i]);
			else
				TAILQ_FIRST(&lists[i])->idle_link.tqe_prev = &TAILQ_FIRST(&lists[i]);
		}
		w->idle = lists;
		w->nidle_lists = n;
	}
	return &w->idle[rt->id];
}


static void idle_on_read(void *arg)
{
	struct upstream_conn *up = arg;

	/* A server must not send anything on an idle connection: whatever it
	 * is (a close, a timeout, stray bytes), the connection goes. */
	TAILQ_REMOVE(idle_list(up->w, up->rt), up, idle_link);
	up_free(up);
}

static void idle_on_event(short what, void *arg)
{
	idle_on_read(arg);
}

static void idle_on_bev_event(struct bufferevent *bev, short what, void *arg)
{
	idle_on_read(arg);
}

static void idle_put(struct upstream_conn *up)
{
	struct upstream_list *list = idle_list(up->w, up->rt);
	struct timeval tv;

	if (!list || up->w->stopping) {
		up_free(up);
		return;
	}
	up->c = NULL;
	up->read_blocked = false;
	up->resp_bytes = 0;
	TAILQ_INSERT_HEAD(list, up, idle_link);
	bufferevent_setcb(up->bev, NULL, NULL, idle_on_bev_event, up);
	bufferevent_set_timeouts(up->bev, NULL, NULL);
	io_reader_callbacks(&up->rd, idle_on_read, idle_on_event, up);
	ms_to_tv(UPSTREAM_IDLE_MS, &tv);
	io_reader_timeout(&up->rd, &tv);
	io_reader_set(&up->rd, true);
}

/* An idle connection to SRV. The pool is kept by server identity, which
 * outlives reloads; a reload may have given the server another address,
 * and connections to the old one are closed instead of reused. */
static struct upstream_conn *idle_take(struct worker *w, const struct server_conf *srv)
{
	if (srv->rt->id >= w->nidle_lists)
		return NULL;
	struct upstream_list *list = &w->idle[srv->rt->id];
	struct upstream_conn *up;
	while ((up = TAILQ_FIRST(list)) != NULL) {
		TAILQ_REMOVE(list, up, idle_link);
		if (addr_equal(&up->addr, &srv->addr))
			return up;
		up_free(up);
	}
	return NULL;
}

void upstream_close_idle(struct worker *w)
{
	for (uint32_t i = 0; i < w->nidle_lists; i++) {
		struct upstream_conn *up;
		while ((up = TAILQ_FIRST(&w->idle[i])) != NULL) {
			TAILQ_REMOVE(&w->idle[i], up, idle_link);
			up_free(up);
		}
	}
}

/* --- response parsing --------------------------------------------------- */

static struct client_conn *parser_client(llhttp_t *p)
{
	return p->data;
}

static int resp_on_message_begin(llhttp_t *p)
{
	http_head_reset(&parser_client(p)->ex.resp);
	parser_client(p)->ex.up->cg = (struct chunk_guard){ 0 };
	return 0;
}

static int resp_on_chunk_header(llhttp_t *p)
{
	chunk_guard_header(&parser_client(p)->ex.up->cg, p->content_length);
	return 0;
}

static int resp_on_status(llhttp_t *p, const char *at, size_t len)
{
	return http_head_add_reason(&parser_client(p)->ex.resp, at, len);
}

static int resp_on_header_field(llhttp_t *p, const char *at, size_t len)
{
	return http_head_add_name(&parser_client(p)->ex.resp, at, len);
}

static int resp_on_header_value(llhttp_t *p, const char *at, size_t len)
{
	struct upstream_conn *up = parser_client(p)->ex.up;

	if (http_value_is_folded(at, up->chunk, up->chunk_prev))
		return -1;
	return http_head_add_value(&parser_client(p)->ex.resp, at, len);
}

static struct evbuffer *client_out(struct client_conn *c)
{
	return bufferevent_get_output(c->bev);
}

/* Render the response head for the client and queue it. */
static int send_response_head(struct client_conn *c, const struct response_out *out)
{
	struct strbuf *sb = &c->w->scratch;

	sb->len = 0;
	if (http_response_write(sb, &c->ex.resp, out) < 0) {
		sb->failed = false;
		return -1;
	}
	c->ex.bytes_out += sb->len;
	return evbuffer_add(client_out(c), sb->data, sb->len);
}

/* Interim responses (100 Continue, 103 Early Hints) go to HTTP/1.1 clients
 * as they come; HTTP/1.0 clients cannot take them. */
static int relay_interim(struct client_conn *c, int status)
{
	struct response_out out = {
		.status = status, .body = BODY_NONE, .declared_length = -1,
		.keep_alive = true, .client_minor = 1,
	};
	if (c->parser.http_minor >= 1 && send_response_head(c, &out) < 0)
		return -1;
	return 1;
}

/* RFC 9112 §6.3: a response with both Content-Length and Transfer-Encoding,
 * or a Transfer-Encoding that does not end in chunked, cannot be framed
 * safely; lbd refuses it rather than guess. */
static bool response_framing_ok(const llhttp_t *p, const struct http_head *h)
{
	unsigned ncl;
	bool te = http_head_find(h, "transfer-encoding", NULL) != NULL;

	http_head_find(h, "content-length", &ncl);
	if (te && ncl)
		return false;
	if (te && !(p->flags & F_CHUNKED))
		return false;
	return true;
}

static enum body_mode client_framing(const struct client_conn *c, const llhttp_t *p)
{
	if (p->flags & F_CONTENT_LENGTH)
		return BODY_LENGTH;
	/* Chunked or close-delimited from the server: HTTP/1.1 clients get
	 * chunks (the connection can stay open), HTTP/1.0 clients get the
	 * bytes until lbd closes. */
	return c->parser.http_minor >= 1 ? BODY_CHUNKED : BODY_EOF;
}

/* A sticky pool's response carries a cookie when the client sent none or
 * one that names another server (it was placed anew). ID receives the
 * value. */
static bool sticky_cookie_needed(const struct exchange *ex, char id[STICKY_ID_LEN + 1])
{
	if (ex->pool->balance != BALANCE_STICKY_COOKIE || !ex->server)
		return false;
	balance_sticky_id(ex->pool, ex->server, id);
	return !(ex->cookie && ex->cookie_len == STICKY_ID_LEN &&
		 memcmp(ex->cookie, id, STICKY_ID_LEN) == 0);
}

static struct set_cookie sticky_set_cookie(const struct client_conn *c, const char *id)
{
	const struct exchange *ex = &c->ex;

	return (struct set_cookie){
		.name = ex->pool->sticky.cookie,
		.value = id,
		.max_age_s = ex->pool->sticky.max_age_ms / 1000,
		.secure = c->tls,
	};
}

static int resp_on_headers_complete(llhttp_t *p)
{
	struct client_conn *c = parser_client(p);
	struct exchange *ex = &c->ex;
	int status = p->status_code;

	if (!response_framing_ok(p, &ex->resp))
		return -1;
	if (status < 200 && status != 101)
		return relay_interim(c, status);
	ex->status = status;
	if (status == 101) {
		if (!ex->upgrade)
			return -1;
		struct response_out out = { .status = 101, .body = BODY_NONE,
					    .declared_length = -1, .keep_alive = true,
					    .client_minor = 1, .upgrade = true };
		char id[STICKY_ID_LEN + 1];
		struct set_cookie sc;
		if (sticky_cookie_needed(ex, id)) {
			sc = sticky_set_cookie(c, id);
			out.set_cookie = &sc;
		}
		if (send_response_head(c, &out) < 0)
			return -1;
		ex->resp_started = true;
		return 0;
	}

	bool no_body = ex->is_head || status == 204 || status == 304;
	struct response_out out = {
		.status = status,
		.body = no_body ? BODY_NONE : client_framing(c, p),
		.content_length = p->content_length,
		.declared_length = -1,
		.client_minor = c->parser.http_minor,
	};
	if (no_body && (p->flags & F_CONTENT_LENGTH))
		out.declared_length = (int64_t)p->content_length;
	char id[STICKY_ID_LEN + 1];
	struct set_cookie sc;
	if (sticky_cookie_needed(ex, id)) {
		sc = sticky_set_cookie(c, id);
		out.set_cookie = &sc;
	}
	if (out.body == BODY_EOF || !ex->req_complete)
		c->keep_alive = false;
	out.keep_alive = c->keep_alive;
	ex->resp_body = out.body;
	if (send_response_head(c, &out) < 0)
		return -1;
	ex->resp_started = true;
	return no_body ? 1 : 0;
}

static int resp_on_body(llhttp_t *p, const char *at, size_t len)
{
	struct client_conn *c = parser_client(p);
	struct evbuffer *out = client_out(c);
	size_t before = evbuffer_get_length(out);
	struct upstream_conn *up = c->ex.up;

	if ((p->flags & F_CHUNKED) && chunk_guard_body(&up->cg, at, len, up->chunk_end) < 0)
		return -1;
	if (body_write(out, c->ex.resp_body, at, len) < 0)
		return -1;
	c->ex.bytes_out += evbuffer_get_length(out) - before;
	return 0;
}

static int resp_on_message_complete(llhttp_t *p)
{
	struct client_conn *c = parser_client(p);
	struct exchange *ex = &c->ex;

	if (!ex->resp_started)
		return 0; /* an interim response: the final one follows */
	if (ex->status == 101)
		return 0; /* llhttp stops with HPE_PAUSED_UPGRADE */
	ex->resp_keep_alive = llhttp_should_keep_alive(p);
	ex->resp_complete = true;
	size_t before = evbuffer_get_length(client_out(c));
	body_finish(client_out(c), ex->resp_body);
	ex->bytes_out += evbuffer_get_length(client_out(c)) - before;
	return HPE_PAUSED;
}

static const llhttp_settings_t response_settings = {
	.on_message_begin = resp_on_message_begin,
	.on_status = resp_on_status,
	.on_header_field = resp_on_header_field,
	.on_header_value = resp_on_header_value,
	.on_headers_complete = resp_on_headers_complete,
	.on_body = resp_on_body,
	.on_chunk_header = resp_on_chunk_header,
	.on_message_complete = resp_on_message_complete,
};

static void fail(struct client_conn *c, int status)
{
	struct exchange *ex = &c->ex;

	if (ex->server) {
		atomic_fetch_add_explicit(&ex->server->rt->failures, 1, memory_order_relaxed);
		log_warn("pool %s: server %s: %s while %s %.*s", ex->pool->name,
			 ex->server->name,
			 status == 504 ? "timed out" : "failed",
			 ex->resp_started ? "relaying the response to" : "waiting for the response to",
			 (int)c->req.url_len, c->req.buf + c->req.url_off);
	}
	client_upstream_failed(c, status);
}

/* Parse what the server sent. Returns false when the exchange ended (the
 * client may be gone). */
static bool process_response(struct client_conn *c)
{
	struct exchange *ex = &c->ex;
	struct upstream_conn *up = ex->up;
	struct evbuffer *in = bufferevent_get_input(up->bev);

	while (!ex->resp_complete) {
		if (evbuffer_get_length(client_out(c)) >= RELAY_HIGH_WATER) {
			io_reader_set(&up->rd, false);
			up->read_blocked = true;
			return true;
		}
		struct evbuffer_iovec v;
		if (evbuffer_peek(in, -1, NULL, &v, 1) < 1 || v.iov_len == 0)
			return true;
		if (ex->upstream_us < 0)
			ex->upstream_us = (int64_t)(monotonic_us() - ex->upstream_start_us);
		up->chunk = v.iov_base;
		up->chunk_end = up->chunk + v.iov_len;
		if (chunk_guard_feed(&up->cg, v.iov_base, v.iov_len) < 0) {
			fail(c, 502);
			return false;
		}
		enum llhttp_errno err = llhttp_execute(&ex->rparser, v.iov_base, v.iov_len);
		size_t used = err == HPE_OK ? v.iov_len :
			(size_t)(llhttp_get_error_pos(&ex->rparser) - (const char *)v.iov_base);
		if (used)
			up->chunk_prev = up->chunk[used - 1];
		evbuffer_drain(in, used);
		up->resp_bytes += used;
		if (err == HPE_OK || err == HPE_PAUSED)
			continue;
		if (err == HPE_PAUSED_UPGRADE) {
			struct bufferevent *bev = up->bev;
			io_reader_free(&up->rd); /* the tunnel reads from now on */
			release_server(ex);
			ex->server = NULL;
			ex->up = NULL;
			free(up);
			client_upgraded(c, bev);
			return false;
		}
		log_debug("pool %s: invalid response: %s", ex->pool->name,
			  llhttp_get_error_reason(&ex->rparser));
		fail(c, 502);
		return false;
	}
	client_response_done(c);
	return false;
}

/* Parse and relay, then write what the client has queued right away. */
static void relay_response(struct client_conn *c)
{
	struct bufferevent *client_bev = c->bev;

	if (process_response(c))
		io_flush(client_bev);
}

/* --- the active connection ---------------------------------------------- */

static void up_on_read(void *arg)
{
	struct upstream_conn *up = arg;

	relay_response(up->c);
}

static void up_on_write(struct bufferevent *bev, void *arg)
{
	struct upstream_conn *up = arg;

	if (up->connected)
		io_written(bev);
	client_upstream_drained(up->c);
}

static void connect_failed(struct client_conn *c, int status, const char *why)
{
	struct exchange *ex = &c->ex;
	struct upstream_conn *up = ex->up;

	log_warn("pool %s: server %s (%s): connect %s", ex->pool->name, ex->server->name,
		 ex->server->addr.text, why);
	ex->up = NULL;
	up_free(up);
	note_failure(ex, status);
	if (ex->ntried > ex->pool->retries) {
		client_upstream_failed(c, status);
		return;
	}
	upstream_dispatch(c);
}

/* `server` bounds how long the server may stay silent once it has the
 * whole request (nginx's proxy_read_timeout), and how long it may refuse
 * to read the request body; while a client is still uploading, only the
 * latter applies. */
static void set_server_timeouts(struct client_conn *c)
{
	struct exchange *ex = &c->ex;
	struct timeval tv;

	ms_to_tv(ex->pool->timeouts.server_ms, &tv);
	io_reader_timeout(&ex->up->rd, ex->req_complete ? &tv : NULL);
	bufferevent_set_timeouts(ex->up->bev, NULL, &tv);
}

void upstream_request_sent(struct client_conn *c)
{
	if (c->ex.up && c->ex.up->connected)
		set_server_timeouts(c);
}

static void on_connected(struct client_conn *c)
{
	struct upstream_conn *up = c->ex.up;
	int one = 1;

	up->connected = true;
	setsockopt(bufferevent_getfd(up->bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	set_server_timeouts(c);
	io_reader_set(&up->rd, true);
	client_upstream_ready(c);
}

/* A pooled connection that the server closed before answering anything:
 * send the request again on a fresh connection, once, when that is safe. */
static bool retry_stale(struct client_conn *c)
{
	struct exchange *ex = &c->ex;
	struct upstream_conn *up = ex->up;

	if (!up->reused || up->resp_bytes || !ex->replayable || ex->resp_started)
		return false;
	ex->replayable = false;
	ex->up = NULL;
	up_free(up);
	release_server(ex);
	ex->server = NULL;
	upstream_dispatch(c);
	return true;
}

static void up_on_event(struct bufferevent *bev, short what, void *arg)
{
	struct upstream_conn *up = arg;
	struct client_conn *c = up->c;
	struct exchange *ex = &c->ex;

	if (what & BEV_EVENT_CONNECTED) {
		on_connected(c);
		return;
	}
	if (!up->connected) {
		connect_failed(c, (what & BEV_EVENT_TIMEOUT) ? 504 : 502,
			       (what & BEV_EVENT_TIMEOUT) ? "timed out" :
			       evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		fail(c, 504);
		return;
	}
	if ((what & BEV_EVENT_EOF) && ex->resp_started && !ex->resp_complete &&
	    llhttp_message_needs_eof(&ex->rparser)) {
		if (!process_response(c))
			return;
		if (llhttp_finish(&ex->rparser) == HPE_OK || ex->resp_complete) {
			ex->resp_keep_alive = false;
			client_response_done(c);
			return;
		}
	}
	if (retry_stale(c))
		return;
	fail(c, 502);
}

static void up_on_read_event(short what, void *arg)
{
	struct upstream_conn *up = arg;

	up_on_event(up->bev, what, up);
}

static struct upstream_conn *connect_new(struct worker *w, struct server_conf *srv,
					 const struct pool_conf *pool)
{
	struct upstream_conn *up = calloc(1, sizeof(*up));
	struct timeval tv;

	if (!up)
		return NULL;
	up->w = w;
	up->rt = srv->rt;
	up->addr = srv->addr;
	up->bev = bufferevent_socket_new(w->base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (!up->bev) {
		free(up);
		return NULL;
	}
	ms_to_tv(pool->timeouts.connect_ms, &tv);
	bufferevent_set_timeouts(up->bev, NULL, &tv);
	if (bufferevent_socket_connect(up->bev, (const struct sockaddr *)&srv->addr.sa,
				       (int)srv->addr.salen) < 0 ||
	    io_reader_init(&up->rd, w->base, up->bev, 0, up_on_read, up_on_read_event, up) < 0) {
		up_free(up);
		return NULL;
	}
	return up;
}

static void attach(struct client_conn *c, struct upstream_conn *up)
{
	struct exchange *ex = &c->ex;

	up->c = c;
	ex->up = up;
	llhttp_init(&ex->rparser, HTTP_RESPONSE, &response_settings);
	ex->rparser.data = c;
	ex->resp.max_bytes = RESPONSE_HEAD_MAX_BYTES;
	ex->resp.max_fields = RESPONSE_HEAD_MAX_FIELDS;
	http_head_reset(&ex->resp);
	bufferevent_setcb(up->bev, NULL, up_on_write, up_on_event, up);
	bufferevent_setwatermark(up->bev, EV_WRITE, RELAY_LOW_WATER, 0);
	io_reader_callbacks(&up->rd, up_on_read, up_on_read_event, up);
	io_reader_timeout(&up->rd, NULL);
	/* A connecting socket needs write interest to learn it connected (and
	 * is read from then on); a pooled one is written speculatively. */
	if (up->connected) {
		bufferevent_disable(up->bev, EV_WRITE);
		io_reader_set(&up->rd, true);
	} else {
		io_reader_set(&up->rd, false);
		bufferevent_enable(up->bev, EV_WRITE);
	}
	bufferevent_write(up->bev, ex->head_out, ex->head_out_len);
	ex->upstream_start_us = monotonic_us();
}

void upstream_dispatch(struct client_conn *c)
{
	struct exchange *ex = &c->ex;

	for (;;) {
		struct balance_ctx ctx = {
			.tried = ex->tried, .ntried = ex->ntried,
			.key = ex->hash_key, .key_len = ex->hash_key_len,
			.cookie = ex->cookie, .cookie_len = ex->cookie_len,
		};
		struct server_conf *srv = balance_pick(ex->pool, &ctx);
		if (!srv) {
			if (!ex->ntried)
				log_warn("pool %s: no server available", ex->pool->name);
			client_upstream_failed(c, ex->ntried ? ex->fail_status : 503);
			return;
		}
		assign_server(ex, srv);
		/* A retry after a stale pooled connection goes to a fresh one. */
		struct upstream_conn *up = ex->replayable || !ex->req_sent ?
			idle_take(c->w, srv) : NULL;
		if (up) {
			up->reused = true;
			attach(c, up);
			set_server_timeouts(c);
			ex->req_sent = true;
			client_upstream_ready(c);
			return;
		}
		up = connect_new(c->w, srv, ex->pool);
		if (up) {
			attach(c, up);
			ex->req_sent = true;
			return;
		}
		log_warn("pool %s: server %s: cannot open a connection: %s", ex->pool->name,
			 srv->name, strerror(errno));
		note_failure(ex, 502);
		if (ex->ntried > ex->pool->retries) {
			client_upstream_failed(c, 502);
			return;
		}
	}
}

void upstream_detach(struct client_conn *c, bool reusable)
{
	struct exchange *ex = &c->ex;
	struct upstream_conn *up = ex->up;

	release_server(ex);
	ex->server = NULL;
	if (!up)
		return;
	ex->up = NULL;
	if (reusable && up->connected &&
	    evbuffer_get_length(bufferevent_get_input(up->bev)) == 0 &&
	    evbuffer_get_length(bufferevent_get_output(up->bev)) == 0)
		idle_put(up);
	else
		up_free(up);
}

void upstream_client_drained(struct client_conn *c)
{
	struct upstream_conn *up = c->ex.up;

	if (!up || !up->read_blocked)
		return;
	up->read_blocked = false;
	io_reader_set(&up->rd, true);
	relay_response(c);
}

void upstream_flush(struct client_conn *c)
{
	if (c->ex.up->connected)
		io_flush(c->ex.up->bev);
}

struct evbuffer *upstream_output(struct client_conn *c)
{
	return bufferevent_get_output(c->ex.up->bev);
}
