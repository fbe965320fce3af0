/* http_upstream.c — the server side of an HTTP exchange: picking a server,
 * connecting (with retries on other servers), the worker's pool of idle
 * keep-alive connections, and parsing and relaying the response.
 *
 * A request is sent again only when no byte of it can have reached a
 * server: after a failed connect, or — for an idempotent request without a
 * body — when a pooled connection turns out to have been closed by the
 * server before it answered anything (the race every keep-alive pool has).
 *
 * Connections to a pool with tls are TLS bufferevents (tls_upstream.h):
 * they do their own reading and writing, so the io_reader and the
 * speculative writes of io.h are for plain connections only; up_reading()
 * and up_timeouts() hide the difference. A TLS connection reports that it
 * connected once its handshake is done, so timeouts.connect covers both,
 * and a failed handshake is a failed connect (retried on another server).
 */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "balance/balance.h"
#include "daemon/health.h"
#include "http/http_conn.h"
#include "http/http_rewrite.h"
#include "event/io.h"
#include "core/log.h"
#include "event/proxy.h"
#include "core/runtime.h"
#include "tls/tls_upstream.h"
#include "util/clock.h"

/* How long an idle pooled connection is kept: shorter than the keep-alive
 * timeout of common servers (nginx 75 s, Apache 5 s is the odd one out) so
 * lbd usually closes first. */
#define UPSTREAM_IDLE_MS 30000

/* Bounds of a response head. Servers are trusted more than clients, but a
 * broken one must not make lbd buffer without limit: 64 KiB holds the
 * largest cookie sets seen in practice. */
#define RESPONSE_HEAD_MAX_BYTES (64 * 1024)
#define RESPONSE_HEAD_MAX_FIELDS 500

/* Reading on or off, and the read (silence) and write timeouts. A plain
 * connection reads through its io_reader; a TLS bufferevent reads itself. */
static void up_reading(struct upstream_conn *up, bool on)
{
	if (!up->tls)
		io_reader_set(&up->rd, on);
	else if (on)
		bufferevent_enable(up->bev, EV_READ);
	else
		bufferevent_disable(up->bev, EV_READ);
}

static void up_timeouts(struct upstream_conn *up, const struct timeval *rd,
			const struct timeval *wr)
{
	if (up->tls) {
		bufferevent_set_timeouts(up->bev, rd, wr);
		return;
	}
	io_reader_timeout(&up->rd, rd);
	bufferevent_set_timeouts(up->bev, NULL, wr);
}

/* A TLS bufferevent's read callback: the io_reader's callbacks stand for
 * whoever owns the connection now (the pool or an exchange). */
static void up_tls_read(struct bufferevent *bev, void *arg)
{
	struct upstream_conn *up = arg;

	up->rd.on_read(up->rd.arg);
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

	/* A server that went down while this exchange ran keeps no idle
	 * connection: the sweep after its fall has already passed. */
	if (!list || up->w->stopping || !server_rt_available(up->rt)) {
		up_free(up);
		return;
	}
	up->c = NULL;
	up->read_blocked = false;
	up->resp_bytes = 0;
	TAILQ_INSERT_HEAD(list, up, idle_link);
	bufferevent_setcb(up->bev, up->tls ? up_tls_read : NULL, NULL, idle_on_bev_event, up);
	io_reader_callbacks(&up->rd, idle_on_read, idle_on_event, up);
	ms_to_timeval(UPSTREAM_IDLE_MS, &tv);
	up_timeouts(up, &tv, NULL);
	up_reading(up, true);
}

/* An idle connection to SRV of POOL. The pool is kept by server identity,
 * which outlives reloads; a reload may have given the server another
 * address or other TLS settings, and connections made with the old ones
 * are closed instead of reused. */
static struct upstream_conn *idle_take(struct worker *w, const struct pool_conf *pool,
				       const struct server_conf *srv)
{
	if (srv->rt->id >= w->nidle_lists)
		return NULL;
	struct upstream_list *list = &w->idle[srv->rt->id];
	struct upstream_conn *up;
	while ((up = TAILQ_FIRST(list)) != NULL) {
		TAILQ_REMOVE(list, up, idle_link);
		if (addr_equal(&up->addr, &srv->addr) &&
		    up->tls_id == tls_upstream_pool_identity(pool))
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

void upstream_close_unavailable(struct worker *w)
{
	uint64_t epoch = health_down_epoch();

	if (epoch == w->health_epoch)
		return;
	w->health_epoch = epoch;
	for (uint32_t i = 0; i < w->nidle_lists; i++) {
		struct upstream_conn *up = TAILQ_FIRST(&w->idle[i]);
		if (!up || server_rt_available(up->rt))
			continue;
		while ((up = TAILQ_FIRST(&w->idle[i])) != NULL) {
			TAILQ_REMOVE(&w->idle[i], up, idle_link);
			up_free(up);
		}
	}
}

/* --- the response -------------------------------------------------------- */

static struct evbuffer *client_out(struct client_conn *c)
{
	return bufferevent_get_output(c->bev);
}

/* A sticky pool's response carries a cookie when the client sent none or
 * one that names another server (it was placed anew). */
static const struct set_cookie *sticky_cookie(struct client_conn *c, struct upstream_conn *up)
{
	struct exchange *ex = &c->ex;

	if (ex->pool->balance != BALANCE_STICKY_COOKIE || !ex->server)
		return NULL;
	balance_sticky_id(ex->pool, ex->server, up->sticky_id);
	if (ex->cookie && ex->cookie_len == STICKY_ID_LEN &&
	    memcmp(ex->cookie, up->sticky_id, STICKY_ID_LEN) == 0)
		return NULL;
	up->sticky = (struct set_cookie){
		.name = ex->pool->sticky.cookie,
		.value = up->sticky_id,
		.max_age_s = ex->pool->sticky.max_age_ms / 1000,
		.secure = c->tls, /* SPEC §4: Secure on TLS listeners */
	};
	return &up->sticky;
}

/* What the parser must know of the exchange before it is fed. */
static void give_exchange_state(struct client_conn *c, struct response_parser *rp)
{
	rp->req_complete = c->req.complete;
	rp->keep_alive = c->keep_alive;
}

/* What the parser found becomes the exchange's (http_client.c reads it). */
static void take_response_state(struct client_conn *c, struct response_parser *rp)
{
	struct exchange *ex = &c->ex;

	c->keep_alive = rp->keep_alive;
	if (rp->status)
		ex->status = rp->status;
	ex->resp_started = rp->started;
	ex->resp_complete = rp->complete;
	ex->resp_keep_alive = rp->server_keep_alive;
	ex->resp_body = rp->body;
	ex->bytes_out += rp->bytes_out;
	rp->bytes_out = 0;
}

static void fail(struct client_conn *c, int status)
{
	struct exchange *ex = &c->ex;

	if (ex->server) {
		atomic_fetch_add_explicit(&ex->server->rt->failures, 1, memory_order_relaxed);
		health_passive_failure(ex->server->rt, &ex->pool->passive,
				       status == 504 ? "response timed out (504)" :
				       "broken or cut response (502)");
		log_warn("pool %s: server %s: %s while %s %.*s", ex->pool->name,
			 ex->server->name,
			 status == 504 ? "timed out" : "failed",
			 ex->resp_started ? "relaying the response to" : "waiting for the response to",
			 (int)c->req.head.url_len, c->req.head.buf + c->req.head.url_off);
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
			up_reading(up, false);
			up->read_blocked = true;
			return true;
		}
		struct evbuffer_iovec v;
		if (evbuffer_peek(in, -1, NULL, &v, 1) < 1 || v.iov_len == 0)
			return true;
		if (ex->upstream_us < 0)
			ex->upstream_us = (int64_t)(monotonic_us() - ex->upstream_start_us);
		struct response_parser *rp = &up->rp;
		size_t used;
		give_exchange_state(c, rp);
		enum response_step step = response_parser_feed(rp, v.iov_base, v.iov_len, &used);
		take_response_state(c, rp);
		evbuffer_drain(in, used);
		up->resp_bytes += used;
		if (step == RESPONSE_MORE || step == RESPONSE_DONE)
			continue;
		if (step == RESPONSE_UPGRADE) {
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
			  response_parser_error(rp));
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

	if (up->connected && !up->tls)
		io_written(bev);
	client_upstream_drained(up->c);
}

/* WHY: "connect timed out", "TLS handshake failed: ...". */
static void connect_failed(struct client_conn *c, int status, const char *why)
{
	struct exchange *ex = &c->ex;
	struct upstream_conn *up = ex->up;

	log_warn("pool %s: server %s (%s): %s", ex->pool->name, ex->server->name,
		 ex->server->addr.text, why);
	ex->up = NULL;
	up_free(up);
	health_passive_failure(ex->server->rt, &ex->pool->passive, why);
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

	ms_to_timeval(ex->pool->timeouts.server_ms, &tv);
	up_timeouts(ex->up, c->req.complete ? &tv : NULL, &tv);
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
	if (up->tls)
		tls_upstream_log_connected(c->ex.pool, c->ex.server, up->bev);
	set_server_timeouts(c);
	up_reading(up, true);
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

	if (what & BEV_EVENT_CONNECTED) {
		on_connected(c);
		return;
	}
	if (!up->connected) {
		char why[256];
		if (up->tls)
			tls_upstream_error(bev, what, why, sizeof(why));
		else
			snprintf(why, sizeof(why), "connect %s", (what & BEV_EVENT_TIMEOUT) ?
				 "timed out" : evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		connect_failed(c, (what & BEV_EVENT_TIMEOUT) ? 504 : 502, why);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		fail(c, 504);
		return;
	}
	if ((what & BEV_EVENT_EOF) && response_parser_needs_eof(&up->rp)) {
		if (!process_response(c))
			return;
		give_exchange_state(c, &up->rp);
		bool done = response_parser_finish(&up->rp);
		take_response_state(c, &up->rp);
		if (done) {
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
	up->tls = pool->tls.enabled;
	up->tls_id = tls_upstream_pool_identity(pool);
	up->bev = up->tls ? tls_upstream_bev(w->base, pool, srv) :
		bufferevent_socket_new(w->base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (!up->bev) {
		free(up);
		return NULL;
	}
	ms_to_timeval(pool->timeouts.connect_ms, &tv);
	/* A TLS handshake waits for reading as often as for writing: both
	 * are bounded by the connect timeout until it is done. */
	bufferevent_set_timeouts(up->bev, up->tls ? &tv : NULL, &tv);
	if (up->tls)
		io_reader_callbacks(&up->rd, up_on_read, up_on_read_event, up);
	if (bufferevent_socket_connect(up->bev, (const struct sockaddr *)&srv->addr.sa,
				       (int)srv->addr.salen) < 0 ||
	    (!up->tls &&
	     io_reader_init(&up->rd, w->base, up->bev, 0, up_on_read, up_on_read_event, up) < 0)) {
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
	ex->resp.max_bytes = RESPONSE_HEAD_MAX_BYTES;
	ex->resp.max_fields = RESPONSE_HEAD_MAX_FIELDS;
	response_parser_init(&up->rp, &ex->resp, client_out(c), &c->w->scratch);
	up->rp.is_head = ex->is_head;
	up->rp.upgrade = ex->upgrade;
	up->rp.client_minor = c->req.p.http_minor;
	up->rp.set_cookie = sticky_cookie(c, up);
	bufferevent_setcb(up->bev, up->tls ? up_tls_read : NULL, up_on_write, up_on_event, up);
	bufferevent_setwatermark(up->bev, EV_WRITE, RELAY_LOW_WATER, 0);
	io_reader_callbacks(&up->rd, up_on_read, up_on_read_event, up);
	/* A TLS connection keeps its timeouts: while it connects they bound
	 * the handshake, once pooled set_server_timeouts() follows. */
	if (!up->tls)
		io_reader_timeout(&up->rd, NULL);
	/* A connecting socket needs write interest to learn it connected (and
	 * is read from then on); a pooled one is written speculatively. A TLS
	 * bufferevent keeps write interest: it writes whatever is queued. */
	if (up->tls) {
		bufferevent_enable(up->bev, EV_WRITE);
		up_reading(up, up->connected);
	} else if (up->connected) {
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
			idle_take(c->w, ex->pool, srv) : NULL;
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
	up_reading(up, true);
	relay_response(c);
}

void upstream_flush(struct client_conn *c)
{
	if (c->ex.up->connected && !c->ex.up->tls)
		io_flush(c->ex.up->bev);
}

struct evbuffer *upstream_output(struct client_conn *c)
{
	return bufferevent_get_output(c->ex.up->bev);
}
