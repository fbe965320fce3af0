/* http_upstream.c — the server side of an HTTP exchange: reaching a
 * server (through the peer, event/peer.h, which picks, connects and
 * retries; a connection from the worker's pool of idle keep-alive
 * connections is offered to it first), that pool, and parsing and
 * relaying the response.
 *
 * A request is sent again only when no byte of it can have reached a
 * server: after a failed connect, or — for an idempotent request without a
 * body — when a pooled connection turns out to have been closed by the
 * server before it answered anything (the race every keep-alive pool has).
 *
 * Connections to a pool with tls are TLS bufferevents (tls_upstream.h):
 * they do their own reading and writing, so the io_reader and the
 * speculative writes of io.h are for plain connections only; up_reading()
 * and up_timeouts() hide the difference.
 */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "balance/balance.h"
#include "core/health_state.h"
#include "core/log.h"
#include "core/runtime.h"
#include "event/io.h"
#include "event/peer.h"
#include "http/http_conn.h"
#include "http/http_rewrite.h"
#include "tls/tls_upstream.h"
#include "util/clock.h"
#include "util/units.h"

/* How long an idle pooled connection is kept: shorter than the keep-alive
 * timeout of common servers (nginx 75 s, Apache 5 s is the odd one out) so
 * lbd usually closes first. */
#define UPSTREAM_IDLE_MS 30000

/* Bounds of a response head. Servers are trusted more than clients, but a
 * broken one must not make lbd buffer without limit: 64 KiB holds the
 * largest cookie sets seen in practice. */
#define RESPONSE_HEAD_MAX_BYTES (64 * 1024)
#define RESPONSE_HEAD_MAX_FIELDS 500

struct upstream_conn {
	TAILQ_ENTRY(upstream_conn) idle_link;
	struct http_worker *hw;
	struct bufferevent *bev;
	struct io_reader rd;
	struct server_rt *rt;
	struct lbd_addr addr; /* where it is connected */
	const void *tls_id;   /* its pool's TLS settings; NULL: plain */
	struct exchange *ex;  /* NULL while idle in the pool */
	bool tls;             /* bev is a TLS bufferevent: it reads
				* and writes itself (no io_reader,
				* no speculative writes) */
	bool reused;
	bool read_blocked; /* the client side is full */
	/* The PROXY header it started with (pools[].send_proxy): it serves
	 * only the client connection that header names. */
	uint8_t proxy_len;
	unsigned char proxy_header[PP_ENCODED_MAX];
	uint64_t resp_bytes;
	struct response_parser rp;               /* the response (http_response.h) */
	struct set_cookie sticky;                /* the sticky cookie it gets, and */
	char sticky_value[STICKY_VALUE_MAX + 1]; /* its value */
};

TAILQ_HEAD(upstream_list, upstream_conn);

/* A worker's idle connections, one list per server id (runtime.h), grown
 * on demand. */
struct upstream_pool {
	struct http_worker *hw;
	struct upstream_list *lists;
	uint32_t nlists;
	uint64_t health_epoch; /* health_down_epoch() last acted on */
};

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
	io_write_timeout(up->bev, wr);
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

/* --- the idle pool ------------------------------------------------------ */

static struct upstream_list *idle_list(struct upstream_pool *pool, const struct server_rt *rt)
{
	if (rt->id >= pool->nlists) {
		uint32_t n = rt->id + 16;
		struct upstream_list *lists = realloc(pool->lists, n * sizeof(*lists));
		if (!lists)
			return NULL;
		for (uint32_t i = pool->nlists; i < n; i++)
			TAILQ_INIT(&lists[i]);
		/* TAILQ heads point at themselves when empty: fix up moved ones. */
		for (uint32_t i = 0; i < pool->nlists; i++) {
			if (TAILQ_EMPTY(&lists[i]))
				TAILQ_INIT(&lists[i]);
			else
				TAILQ_FIRST(&lists[i])->idle_link.tqe_prev = &TAILQ_FIRST(
					&lists[i]);
		}
		pool->lists = lists;
		pool->nlists = n;
	}
	return &pool->lists[rt->id];
}

static void idle_on_read(void *arg)
{
	struct upstream_conn *up = arg;

	/* A server must not send anything on an idle connection: whatever it
	 * is (a close, a timeout, stray bytes), the connection goes. */
	TAILQ_REMOVE(idle_list(up->hw->pool, up->rt), up, idle_link);
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
	struct upstream_list *list = idle_list(up->hw->pool, up->rt);
	struct timeval tv;

	/* A server that went down while this exchange ran keeps no idle
	 * connection: the sweep after its fall has already passed. */
	if (!list || up->hw->w->stopping || !server_rt_available(up->rt)) {
		up_free(up);
		return;
	}
	up->ex = NULL;
	up->read_blocked = false;
	up->resp_bytes = 0;
	TAILQ_INSERT_HEAD(list, up, idle_link);
	bufferevent_setcb(up->bev, up->tls ? up_tls_read : NULL, NULL, idle_on_bev_event, up);
	io_reader_callbacks(&up->rd, idle_on_read, idle_on_event, up);
	ms_to_timeval(UPSTREAM_IDLE_MS, &tv);
	/* A plain connection done writing keeps its write timeout while
	 * idle: nothing uses it before the next exchange sets it again. */
	if (up->tls || (bufferevent_get_enabled(up->bev) & EV_WRITE))
		up_timeouts(up, &tv, NULL);
	else
		io_reader_timeout(&up->rd, &tv);
	up_reading(up, true);
}

/* Whether UP started with the PROXY header P would send (none, when the
 * pool sends none). */
static bool same_proxy_header(const struct upstream_conn *up, const struct peer *p)
{
	return up->proxy_len == p->send_first_len &&
	       (up->proxy_len == 0 || memcmp(up->proxy_header, p->send_first, up->proxy_len) == 0);
}

/* An idle connection to P's server. The pool is kept by server identity,
 * which outlives reloads; a reload may have given the server another
 * address, other TLS settings or another send_proxy, and connections made
 * with the old ones are closed instead of reused. With send_proxy, the
 * connections of other clients are passed over and stay. */
static struct upstream_conn *idle_take(struct upstream_pool *idle, const struct peer *p)
{
	const struct server_conf *srv = p->server;

	if (srv->rt->id >= idle->nlists)
		return NULL;
	struct upstream_list *list = &idle->lists[srv->rt->id];
	struct upstream_conn *up, *next;
	for (up = TAILQ_FIRST(list); up; up = next) {
		next = TAILQ_NEXT(up, idle_link);
		bool usable = addr_equal(&up->addr, &srv->addr) &&
			      up->tls_id == tls_upstream_pool_identity(&p->pool->tls) &&
			      (up->proxy_len != 0) == (p->send_first_len != 0);
		if (usable && !same_proxy_header(up, p))
			continue;
		TAILQ_REMOVE(list, up, idle_link);
		if (usable)
			return up;
		up_free(up);
	}
	return NULL;
}

static void close_list(struct upstream_list *list)
{
	struct upstream_conn *up;

	while ((up = TAILQ_FIRST(list)) != NULL) {
		TAILQ_REMOVE(list, up, idle_link);
		up_free(up);
	}
}

struct upstream_pool *upstream_pool_new(struct http_worker *hw)
{
	struct upstream_pool *pool = calloc(1, sizeof(*pool));

	if (pool)
		pool->hw = hw;
	return pool;
}

void upstream_pool_close_idle(struct upstream_pool *pool)
{
	for (uint32_t i = 0; i < pool->nlists; i++)
		close_list(&pool->lists[i]);
}

void upstream_pool_close_unavailable(struct upstream_pool *pool)
{
	uint64_t epoch = health_down_epoch();

	if (epoch == pool->health_epoch)
		return;
	pool->health_epoch = epoch;
	for (uint32_t i = 0; i < pool->nlists; i++) {
		struct upstream_conn *up = TAILQ_FIRST(&pool->lists[i]);
		if (up && !server_rt_available(up->rt))
			close_list(&pool->lists[i]);
	}
}

void upstream_pool_free(struct upstream_pool *pool)
{
	if (!pool)
		return;
	upstream_pool_close_idle(pool);
	free(pool->lists);
	free(pool);
}

/* --- the response -------------------------------------------------------- */

static struct evbuffer *client_out(struct exchange *ex)
{
	return ex->side.to_client;
}

/* What the parser relayed becomes the exchange's record (one way): its
 * status, whether a head went out, the bytes the client got. */
static void record_response(struct exchange *ex, struct response_parser *rp)
{
	if (rp->status)
		ex->status = rp->status;
	ex->resp_started = rp->started;
	ex->bytes_out += rp->bytes_out;
	rp->bytes_out = 0;
}

static void response_done(struct exchange *ex, const struct response_parser *rp)
{
	ex->side.ops->done(ex, rp->server_keep_alive, rp->closes_client);
}

/* The server failed after it was reached: WHAT it did, in the error log
 * with the request it was serving; TERM in the access log. Before the
 * response started the client gets STATUS, after it the client connection
 * closes. */
static void fail(struct exchange *ex, int status, enum access_termination term, const char *what)
{
	const struct http_head *req = &ex->side.req->head;

	if (ex->peer.server) {
		peer_server_failed(&ex->peer, what);
		log_warn("pool %s: server %s (%s): %s while %s %.*s%s", ex->pool->name,
			 ex->peer.server->name, ex->peer.server->addr.text, what,
			 ex->resp_started ? "relaying the response to" :
					    "waiting for the response to",
			 (int)req->url_len, req->buf + req->url_off,
			 ex->resp_started ? "; the client connection is closed" : "");
	}
	ex->side.ops->failed(ex, status, term);
}

/* The parser's question (response_retry_fn); an interim response it
 * queued for the client already (103) counts as sent. */
static bool response_retry(void *arg, int status)
{
	struct exchange *ex = arg;

	return !ex->up->rp.bytes_out && exchange_retry_allowed(ex, status);
}

/* exchange_retry_allowed() said yes: the server's connection is closed
 * (what it sent is dropped unread; the request had no body, so nothing
 * else is lost) and another server gets the request. */
static void retry_elsewhere(struct exchange *ex, enum retry_reason reason, int status,
			    const char *why)
{
	struct upstream_conn *up = ex->up;

	ex->up = NULL;
	up_free(up);
	exchange_retry(ex, reason, status, why);
}

/* Parse what the server sent. Returns false when the exchange ended (the
 * client may be gone). */
static bool process_response(struct exchange *ex)
{
	struct upstream_conn *up = ex->up;
	struct evbuffer *in = bufferevent_get_input(up->bev);

	while (!up->rp.complete) {
		if (evbuffer_get_length(client_out(ex)) >= RELAY_HIGH_WATER) {
			up_reading(up, false);
			up->read_blocked = true;
			return true;
		}
		struct evbuffer_iovec v;
		if (evbuffer_peek(in, -1, NULL, &v, 1) < 1 || v.iov_len == 0) {
			/* The server paused: what gzip holds goes out. */
			if (response_parser_pause(&up->rp) < 0) {
				log_error("listener %s: out of memory compressing a response",
					  ex->side.lrt->name);
				ex->side.ops->failed(ex, 502, ACCESS_TERM_INTERNAL);
				return false;
			}
			record_response(ex, &up->rp);
			return true;
		}
		if (ex->upstream_us < 0)
			ex->upstream_us = (int64_t)(monotonic_us() - ex->upstream_start_us);
		struct response_parser *rp = &up->rp;
		size_t used;
		enum response_step step = response_parser_feed(rp, v.iov_base, v.iov_len, &used);
		record_response(ex, rp);
		evbuffer_drain(in, used);
		up->resp_bytes += used;
		if (step == RESPONSE_MORE || step == RESPONSE_DONE)
			continue;
		if (step == RESPONSE_UPGRADE) {
			struct bufferevent *bev = up->bev;
			io_reader_free(&up->rd); /* the tunnel reads from now on */
			peer_release(&ex->peer);
			ex->up = NULL;
			free(up);
			ex->side.ops->upgraded(ex, bev);
			return false;
		}
		if (step == RESPONSE_RETRY) {
			retry_elsewhere(ex, RETRY_STATUS, rp->status, NULL);
			return false;
		}
		char why[192];
		snprintf(why, sizeof(why), "sent an invalid response (%s)",
			 response_parser_error(rp));
		fail(ex, 502, ACCESS_TERM_INVALID_RESPONSE, why);
		return false;
	}
	response_done(ex, &up->rp);
	return false;
}

/* Parse and relay, then write what the client has queued right away. */
static void relay_response(struct exchange *ex)
{
	if (process_response(ex))
		ex->side.ops->flush(ex);
}

/* --- the active connection ---------------------------------------------- */

static void up_on_read(void *arg)
{
	struct upstream_conn *up = arg;

	relay_response(up->ex);
}

static void up_on_write(struct bufferevent *bev, void *arg)
{
	struct upstream_conn *up = arg;

	if (!up->tls)
		io_written(bev);
	up->ex->side.ops->drained(up->ex);
}

/* `server` bounds how long the server may stay silent once it has the
 * whole request (nginx's proxy_read_timeout), and how long it may refuse
 * to read the request body; while a client is still uploading, only the
 * latter applies. */
static void set_server_timeouts(struct exchange *ex)
{
	struct timeval tv;

	ms_to_timeval(ex->server_ms, &tv);
	up_timeouts(ex->up, ex->side.req->complete ? &tv : NULL, &tv);
}

static void h1_request_sent(struct exchange *ex)
{
	if (ex->up)
		set_server_timeouts(ex);
}

/* A pooled connection that the server closed before answering anything:
 * send the request again on a fresh connection, once, when that is safe. */
static bool retry_stale(struct exchange *ex)
{
	struct upstream_conn *up = ex->up;

	if (!up->reused || up->resp_bytes || !ex->replayable || ex->stale_retried ||
	    ex->resp_started)
		return false;
	ex->stale_retried = true;
	ex->up = NULL;
	up_free(up);
	peer_release(&ex->peer);
	peer_connect(&ex->peer);
	return true;
}

static void up_on_event(struct bufferevent *bev, short what, void *arg)
{
	struct upstream_conn *up = arg;
	struct exchange *ex = up->ex;
	int err = EVUTIL_SOCKET_ERROR();
	char why[128];

	if (what & BEV_EVENT_TIMEOUT) {
		char d[32];
		format_duration(ex->server_ms, d, sizeof(d));
		snprintf(why, sizeof(why), "timed out (timeouts.server, %s)", d);
		if (!up->resp_bytes && exchange_retry_allowed(ex, 504))
			retry_elsewhere(ex, RETRY_TIMEOUT, 504, why);
		else
			fail(ex, 504, ACCESS_TERM_SERVER_TIMEOUT, why);
		return;
	}
	if ((what & BEV_EVENT_EOF) && response_parser_needs_eof(&up->rp)) {
		if (!process_response(ex))
			return;
		bool done = response_parser_finish(&up->rp);
		record_response(ex, &up->rp);
		if (done) {
			response_done(ex, &up->rp);
			return;
		}
	}
	if (retry_stale(ex))
		return;
	if (what & BEV_EVENT_EOF)
		snprintf(why, sizeof(why), "closed the connection");
	else if (err == ECONNRESET)
		snprintf(why, sizeof(why), "reset the connection");
	else
		snprintf(why, sizeof(why), "connection failed (%s)",
			 err ? evutil_socket_error_to_string(err) : "TLS error");
	if (!up->resp_bytes && exchange_retry_allowed(ex, 502))
		retry_elsewhere(ex, RETRY_RESET, 502, why);
	else
		fail(ex, 502, ACCESS_TERM_SERVER_ABORTED, why);
}

static void up_on_read_event(short what, void *arg)
{
	struct upstream_conn *up = arg;

	up_on_event(up->bev, what, up);
}

/* A new connection BEV to the exchange's server, just connected. */
static struct upstream_conn *up_new(struct exchange *ex, struct bufferevent *bev)
{
	struct upstream_conn *up = calloc(1, sizeof(*up));
	const struct pool_conf *pool = ex->pool;

	if (!up)
		return NULL;
	up->hw = ex->side.hw;
	up->bev = bev;
	up->rt = ex->peer.server->rt;
	up->addr = ex->peer.server->addr;
	up->tls = pool->tls.enabled;
	up->tls_id = tls_upstream_pool_identity(&pool->tls);
	up->proxy_len = (uint8_t)ex->peer.send_first_len;
	memcpy(up->proxy_header, ex->proxy_header, up->proxy_len);
	if (!up->tls)
		io_bev_quiet(bev); /* written the io.h way (io.h) */
	if (!up->tls && io_reader_init(&up->rd, up->hw->w->base, bev, 0, up_on_read,
				       up_on_read_event, up) < 0) {
		io_reader_free(&up->rd);
		free(up);
		return NULL;
	}
	return up;
}

/* The request head; one without Host (HTTP/1.0 allows it, HTTP/1.1 does
 * not, RFC 9112 §3.2) gets the server's address, as nginx's default
 * proxy_set_header Host $proxy_host does ("localhost" for a unix socket). */
static void write_head(struct bufferevent *bev, const struct exchange *ex,
		       const struct server_conf *srv)
{
	if (!ex->host_at) {
		bufferevent_write(bev, ex->head_out, ex->head_out_len);
		return;
	}
	const char *host = srv->addr.sa.ss_family == AF_UNIX ? "localhost" : srv->addr.text;
	char line[sizeof(srv->addr.text) + 16];
	int n = snprintf(line, sizeof(line), "Host: %s\r\n", host);

	bufferevent_write(bev, ex->head_out, ex->host_at);
	bufferevent_write(bev, line, (size_t)n);
	bufferevent_write(bev, ex->head_out + ex->host_at, ex->head_out_len - ex->host_at);
}

static void attach(struct exchange *ex, struct upstream_conn *up)
{
	up->ex = ex;
	ex->up = up;
	ex->resp.max_bytes = RESPONSE_HEAD_MAX_BYTES;
	ex->resp.max_fields = RESPONSE_HEAD_MAX_FIELDS;
	response_parser_init(&up->rp, &ex->resp, client_out(ex), &up->hw->scratch);
	up->rp.is_head = ex->is_head;
	up->rp.upgrade = ex->upgrade;
	up->rp.req_complete = &ex->side.req->complete;
	up->rp.client_keep_alive = ex->side.keep_alive;
	up->rp.client_minor = ex->side.req->p.http_minor;
	up->rp.set_cookie = exchange_sticky_cookie(ex, &up->sticky, up->sticky_value);
	exchange_response_rules(ex, &up->rp.rules);
	up->rp.prefix = exchange_rewrite(ex);
	up->rp.vars = &ex->vars;
	up->rp.compress = &ex->compress;
	up->rp.retry_fn = response_retry;
	up->rp.retry_arg = ex;
	if (ex->side.head_fn) {
		up->rp.head_fn = ex->side.head_fn;
		up->rp.head_arg = ex;
	}
	bufferevent_setcb(up->bev, up->tls ? up_tls_read : NULL, up_on_write, up_on_event, up);
	bufferevent_setwatermark(up->bev, EV_WRITE, RELAY_LOW_WATER, 0);
	io_reader_callbacks(&up->rd, up_on_read, up_on_read_event, up);
	if (!up->tls)
		io_reader_timeout(&up->rd, NULL);
	/* A plain connection is written speculatively (io.h); a TLS
	 * bufferevent keeps write interest: it writes whatever is queued. */
	if (up->tls)
		bufferevent_enable(up->bev, EV_WRITE);
	else if (bufferevent_get_enabled(up->bev) & EV_WRITE)
		bufferevent_disable(up->bev, EV_WRITE);
	up_reading(up, true);
	write_head(up->bev, ex, ex->peer.server);
	ex->upstream_start_us = monotonic_us();
	ex->req_sent = true;
	set_server_timeouts(ex);
	ex->side.ops->ready(ex);
}

/* The peer's calls (peer.h): its P is the exchange's. */

/* A pooled connection to the picked server, unless this is a retry after
 * a stale one: that goes to a fresh connection. */
static bool peer_reuse(struct peer *p)
{
	struct exchange *ex = exchange_of_peer(p);
	struct upstream_conn *up;

	if (ex->req_sent && (!ex->replayable || ex->stale_retried))
		return false;
	up = idle_take(ex->side.hw->pool, p);
	if (!up)
		return false;
	up->reused = true;
	attach(ex, up);
	return true;
}

static void peer_connected(struct peer *p, struct bufferevent *bev)
{
	struct exchange *ex = exchange_of_peer(p);
	struct upstream_conn *up = up_new(ex, bev);

	if (!up) {
		bufferevent_free(bev);
		log_error("pool %s: server %s: out of memory", ex->pool->name, p->server->name);
		ex->side.ops->failed(ex, 502, ACCESS_TERM_INTERNAL);
		return;
	}
	attach(ex, up);
}

static void peer_failed(struct peer *p, int status)
{
	struct exchange *ex = exchange_of_peer(p);

	ex->side.ops->failed(ex, status, exchange_peer_failure(ex, status));
}

static const struct peer_ops exchange_peer_ops = {
	.reuse = peer_reuse,
	.connected = peer_connected,
	.failed = peer_failed,
};

static void h1_dispatch(struct exchange *ex)
{
	ex->peer.base = ex->side.hw->w->base;
	ex->peer.worker = ex->side.hw->w;
	ex->peer.pool = ex->pool;
	ex->peer.ops = &exchange_peer_ops;
	ex->peer.send_first = NULL;
	ex->peer.send_first_len = 0;
	if (ex->pool->send_proxy != SEND_PROXY_OFF) {
		ex->peer.send_first = ex->proxy_header;
		ex->peer.send_first_len = inbound_proxy_header(ex->side.in,
							       (int)ex->pool->send_proxy,
							       ex->proxy_header);
	}
	peer_connect(&ex->peer);
}

static void h1_detach(struct exchange *ex, bool reusable)
{
	struct upstream_conn *up = ex->up;

	peer_release(&ex->peer);
	if (!up)
		return;
	ex->up = NULL;
	/* A connection that names its client (send_proxy) serves no one
	 * once that client's connection is done. */
	if (up->proxy_len && !*ex->side.keep_alive)
		reusable = false;
	if (reusable && evbuffer_get_length(bufferevent_get_input(up->bev)) == 0 &&
	    evbuffer_get_length(bufferevent_get_output(up->bev)) == 0)
		idle_put(up);
	else
		up_free(up);
}

static void h1_client_drained(struct exchange *ex)
{
	struct upstream_conn *up = ex->up;

	if (!up || !up->read_blocked)
		return;
	up->read_blocked = false;
	up_reading(up, true);
	relay_response(ex);
}

static void h1_flush(struct exchange *ex)
{
	if (!ex->up->tls)
		io_flush(ex->up->bev);
}

static struct evbuffer *h1_output(struct exchange *ex)
{
	return bufferevent_get_output(ex->up->bev);
}

const struct upstream_ops http1_upstream_ops = {
	.dispatch = h1_dispatch,
	.detach = h1_detach,
	.client_drained = h1_client_drained,
	.flush = h1_flush,
	.request_sent = h1_request_sent,
	.output = h1_output,
};

/* --- the server side, whatever it speaks ------------------------------------ */

void upstream_dispatch(struct exchange *ex)
{
	const struct upstream_ops *ops = &http1_upstream_ops;

	if (ex->pool->protocol == POOL_H2 && ex->side.hw->h2_upstream)
		ops = ex->side.hw->h2_upstream;
	ex->upstream = ops;
	ops->dispatch(ex);
}

void upstream_detach(struct exchange *ex, bool reusable)
{
	if (ex->upstream)
		ex->upstream->detach(ex, reusable);
}

void upstream_client_drained(struct exchange *ex)
{
	if (ex->upstream)
		ex->upstream->client_drained(ex);
}

void upstream_flush(struct exchange *ex)
{
	ex->upstream->flush(ex);
}

void upstream_request_sent(struct exchange *ex)
{
	if (ex->upstream)
		ex->upstream->request_sent(ex);
}

struct evbuffer *upstream_output(struct exchange *ex)
{
	return ex->upstream->output(ex);
}
