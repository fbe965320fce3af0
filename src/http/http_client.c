/* http_client.c — the requests on a client connection: feeding them to the
 * request parser (request_parser.h), routing them, relaying request bodies,
 * the end of each exchange (one access-log line and the counters), and what
 * happens between requests (keep-alive, pipelining, the header and idle
 * deadlines, lbd's own error answers). The connection's socket, from accept
 * to close, is http_client_conn.c's (http_client.h).
 */
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "core/runtime.h"
#include "event/io.h"
#include "http/client_addr.h"
#include "http/cookie.h"
#include "http/http_client.h"
#include "http/http_error.h"
#include "http/http_request.h"
#include "http/route.h"
#include "stream/tunnel.h"
#include "util/clock.h"

void client_arm_timer(struct client_conn *c, uint64_t ms)
{
	struct timeval tv;

	ms_to_timeval(ms, &tv);
	evtimer_add(c->timer, &tv);
}

static const struct timeouts_conf *client_timeouts(const struct client_conn *c)
{
	return c->ex.cfg ? &c->ex.cfg->timeouts : &c->w->cfg->timeouts;
}

/* --- the end of an exchange --------------------------------------------- */

/* One access-log line and the request counters (runtime.h), written at the
 * same point so that /metrics and the access log always agree. */
void client_log_exchange(struct client_conn *c)
{
	struct exchange *ex = &c->ex;
	const struct config *cfg = ex->cfg ? ex->cfg : c->w->cfg;
	const struct http_head *h = &c->req.head;
	const char *method = c->req.method;
	struct access_entry e = {
		.start = ex->start_real,
		.client = ex->client ? ex->client : c->in.peer_ip,
		.method = method,
		.method_len = method ? strlen(method) : 0,
		.target = h->url_len ? h->buf + h->url_off : NULL,
		.target_len = h->url_len,
		.http_minor = method ? c->req.p.http_minor : -1,
		.status = ex->status,
		.bytes_sent = ex->bytes_out,
		.bytes_received = ex->bytes_in,
		.listener = c->lrt->name,
		.pool = ex->pool ? ex->pool->name : NULL,
		.server = ex->peer.served_by ? ex->peer.served_by->server_name : NULL,
		.upstream_us = ex->upstream_us,
		.total_us = monotonic_us() - ex->start_us,
		.generation = cfg->generation,
		.termination = ex->termination,
		.retries = ex->peer.picks > 1 ? ex->peer.picks - 1 : 0,
	};
	const struct http_field *f;

	if (method && (f = http_head_find(h, "host", NULL))) {
		e.host = http_field_value(h, f);
		e.host_len = f->value_len;
	}
	if (method && (f = http_head_find(h, "user-agent", NULL))) {
		e.user_agent = http_field_value(h, f);
		e.user_agent_len = f->value_len;
	}
	if (method && (f = http_head_find(h, "referer", NULL))) {
		e.referer = http_field_value(h, f);
		e.referer_len = f->value_len;
	}
	access_log_write(c->w->env.access_log, &e);
	runtime_count_request(c->lrt, ex->pool ? ex->pool->rt : NULL, ex->peer.served_by,
			      ex->status, ex->upstream_us, ex->bytes_in, ex->bytes_out);
}

/* Forget the exchange: its server, its generation, its buffers. */
void client_exchange_end(struct client_conn *c, bool upstream_reusable)
{
	struct exchange *ex = &c->ex;

	upstream_detach(c, upstream_reusable);
	if (ex->cfg)
		config_unref(ex->cfg);
	free(ex->head_out);
	struct http_head resp = ex->resp;
	memset(ex, 0, sizeof(*ex));
	ex->resp = resp;
	ex->upstream_us = -1;
	http_head_reset(&ex->resp);
}

/* Close once the output is flushed. */
static void client_close_after_flush(struct client_conn *c)
{
	c->state = CLIENT_CLOSING;
	c->keep_alive = false;
	io_reader_set(&c->rd, false);
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	if (io_flush(c->bev) && !c->in_process)
		client_start_linger(c);
}

/* Whether the connection can take another request after lbd answered
 * STATUS itself: only when the request was read to its end (or has no body
 * left to read) and the error says nothing about the connection. */
static bool error_keeps_connection(const struct client_conn *c, int status)
{
	const struct exchange *ex = &c->ex;

	if (!c->keep_alive || c->w->stopping || ex->upgrade || !c->req.method)
		return false;
	/* After a refused CONNECT the client would send tunnel bytes, and an
	 * expectation lbd does not know says the client is confused: both
	 * close. */
	if (status != 404 && status != 502 && status != 503 && status != 504)
		return false;
	/* A request refused at its head (404) with a body: the body has
	 * nowhere to go. */
	return !request_parser_body_left(&c->req);
}

static void client_next_request(struct client_conn *c);

void client_error(struct client_conn *c, int status, enum access_termination term)
{
	struct exchange *ex = &c->ex;

	ex->termination = term;
	if (ex->resp_started) {
		/* Part of the response is out: the client can only learn of the
		 * failure by the connection closing before the body's end. */
		client_log_exchange(c);
		client_exchange_end(c, false);
		client_free(c);
		return;
	}
	bool keep = error_keeps_connection(c, status);
	ex->status = status;
	ex->bytes_out += http_error_write(bufferevent_get_output(c->bev), status, !keep);
	client_log_exchange(c);
	client_exchange_end(c, false);
	evtimer_del(c->timer);
	if (keep)
		client_next_request(c);
	else
		client_close_after_flush(c);
}

void client_refuse(struct client_conn *c, int status, const char *why)
{
	const char *client = c->ex.client ? c->ex.client : c->in.peer_ip;
	const struct http_head *h = &c->req.head;

	/* The request line once its head was read (a client's bytes: the log
	 * escapes them and bounds the line). */
	if (c->req.method)
		log_msg(status == 500 ? LOG_LEVEL_ERROR : LOG_LEVEL_INFO,
			"listener %s: client %s: %d: %s (%s %.*s)", c->lrt->name, client, status,
			why, c->req.method, (int)h->url_len, h->buf + h->url_off);
	else
		log_msg(status == 500 ? LOG_LEVEL_ERROR : LOG_LEVEL_INFO,
			"listener %s: client %s: %d: %s", c->lrt->name, client, status, why);
	client_error(c, status,
		     status == 408 ? ACCESS_TERM_CLIENT_TIMEOUT :
		     status == 500 ? ACCESS_TERM_INTERNAL :
				     ACCESS_TERM_REFUSED);
}

void client_abort(struct client_conn *c, enum access_termination term)
{
	struct exchange *ex = &c->ex;

	/* ex->cfg is held from a request's first byte until its line is
	 * written: an exchange without its line yet. */
	if (ex->cfg) {
		if (ex->resp_started) {
			/* What is still queued never reached the client. */
			size_t queued = evbuffer_get_length(bufferevent_get_output(c->bev));
			ex->bytes_out -= queued < ex->bytes_out ? queued : ex->bytes_out;
			if (term == ACCESS_TERM_CLIENT_CLOSED)
				term = ACCESS_TERM_CLIENT_ABORTED;
		} else if (term == ACCESS_TERM_CLIENT_CLOSED) {
			ex->status = 499; /* nginx's "client closed request" */
		}
		ex->termination = term;
		client_log_exchange(c);
		client_exchange_end(c, false); /* closes the server connection */
	}
	client_free(c);
}

/* --- a request's start and head ------------------------------------------ */

/* The connection's listener in CFG, found by identity: after a reload it
 * may sit at another index, or be gone (NULL). */
static const struct listener_conf *conn_listener(const struct config *cfg,
						 const struct listener_rt *lrt)
{
	for (size_t i = 0; i < cfg->nlisteners; i++)
		if (cfg->listeners[i].rt == lrt)
			return &cfg->listeners[i];
	return NULL;
}

/* The parser saw a request's first byte: the exchange starts, under the
 * generation whose limits the parser was given. */
static void client_request_begins(struct client_conn *c)
{
	struct exchange *ex = &c->ex;

	ex->cfg = config_ref(c->w->cfg);
	ex->listener = conn_listener(ex->cfg, c->lrt);
	ex->upstream_us = -1;
	ex->start_us = monotonic_us();
	clock_gettime(CLOCK_REALTIME, &ex->start_real);
	c->state = CLIENT_HEAD;
	/* A connection's first request keeps the deadline set at accept: the
	 * head must be complete within `header` of connecting. */
	if (c->served)
		client_arm_timer(c, ex->cfg->timeouts.header_ms);
}

void client_requests_init(struct client_conn *c)
{
	c->state = CLIENT_IDLE;
	c->ex.upstream_us = -1;
	request_parser_init(&c->req, &c->hw->head_cache);
	c->ex.resp.cache = &c->hw->head_cache;
}

/* The client address of this request: the connection's (its peer, or the
 * source of its PROXY header), or the one X-Forwarded-For names when that
 * is one of the listener's trusted proxies (client_addr.h). Returns whether
 * it is one. */
static bool request_client(struct client_conn *c)
{
	struct exchange *ex = &c->ex;
	const struct listener_conf *l = ex->listener; /* checked by the caller */

	ex->client = c->in.peer_ip;
	if (!l->ntrusted || !client_addr_trusted(l->trusted, l->ntrusted, c->in.peer_ip))
		return false;
	if (client_addr_forwarded(&c->req.head, l->trusted, l->ntrusted, c->in.peer_ip,
				  ex->client_buf))
		ex->client = ex->client_buf;
	return true;
}

/* What the pool's algorithm looks at: the key ip_hash hashes (a header's
 * value when the pool names one and the request has it, else the client
 * address) and the sticky cookie. */
static void balance_inputs(struct client_conn *c)
{
	struct exchange *ex = &c->ex;
	const struct pool_conf *pool = ex->pool;
	const struct http_head *h = &c->req.head;
	const struct http_field *f;

	ex->peer.key = ex->client;
	ex->peer.key_len = strlen(ex->client);
	if (pool->hash_key.header && (f = http_head_find(h, pool->hash_key.header, NULL)) &&
	    f->value_len) {
		ex->peer.key = http_field_value(h, f);
		ex->peer.key_len = f->value_len;
	}
	ex->peer.cookie = NULL;
	ex->peer.cookie_len = 0;
	if (pool->balance != BALANCE_STICKY_COOKIE)
		return;
	for (uint32_t i = 0; i < h->nfields; i++) {
		f = &h->fields[i];
		if (http_field_is(h, f, "cookie") &&
		    cookie_find(http_field_value(h, f), f->value_len, pool->sticky.cookie,
				&ex->peer.cookie, &ex->peer.cookie_len))
			return;
	}
}

static void handle_head(struct client_conn *c)
{
	struct exchange *ex = &c->ex;
	struct request_plan plan;
	int status;

	evtimer_del(c->timer);
	c->keep_alive = request_parser_keep_alive(&c->req) && !c->w->stopping;
	if (!ex->listener) {
		/* A reload removed this connection's listener: nothing routes
		 * its requests any more. */
		c->keep_alive = false;
		client_refuse(c, 503, "a reload removed the connection's listener");
		return;
	}
	bool trusted = request_client(c);
	status = http_request_plan(&c->req.p, &c->req.head, ex->listener, &plan);
	if (status) {
		client_refuse(c, status, plan.reason);
		return;
	}
	ex->pool = plan.pool;
	balance_inputs(c);
	ex->upgrade = plan.out.upgrade;
	ex->is_head = plan.is_head;
	ex->replayable = plan.replayable;
	status = request_parser_check_body(&c->req, ex->pool->limits.body_size,
					   bufferevent_get_input(c->bev));
	if (status) {
		client_refuse(c, status, request_parser_error(&c->req));
		return;
	}
	plan.out.client_ip = c->in.peer_ip;
	plan.out.client_v6 = c->in.peer_v6;
	plan.out.proto = c->in.tls ? "https" : "http";
	plan.out.trusted = trusted;
	if (http_request_render(&c->req.head, &plan.out, &ex->head_out, &ex->head_out_len) < 0) {
		client_refuse(c, 500, "out of memory rendering the request head");
		return;
	}
	if (!plan.out.host) /* HTTP/1.0 without Host: the server gets one */
		ex->host_at = (size_t)((char *)memchr(ex->head_out, '\n', ex->head_out_len) -
				       ex->head_out) +
			      1;
	upstream_dispatch(c);
}

/* --- reading ------------------------------------------------------------- */

static bool may_parse(const struct client_conn *c)
{
	if (c->req.paused)
		return false;
	switch (c->state) {
	case CLIENT_IDLE:
	case CLIENT_HEAD:
		return true;
	case CLIENT_FORWARD:
		return !c->req.complete;
	default:
		return false;
	}
}

static bool upstream_full(struct client_conn *c, struct evbuffer *out)
{
	if (evbuffer_get_length(out) < RELAY_HIGH_WATER)
		return false;
	io_reader_set(&c->rd, false);
	c->read_blocked = true;
	return true;
}

static void on_parse_error(struct client_conn *c)
{
	client_refuse(c, c->req.status, request_parser_error(&c->req));
}

void client_process(struct client_conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	struct request_parser *rp = &c->req;

	c->in_process = true;
	while (!c->free_pending && may_parse(c)) {
		struct evbuffer_iovec v;
		bool kick = false;
		if (evbuffer_peek(in, -1, NULL, &v, 1) < 1 || v.iov_len == 0) {
			/* llhttp paused at the end of a head whose message has no
			 * body bytes: it completes the message on an empty feed. */
			if (request_parser_needs_bytes(rp))
				break;
			v = (struct evbuffer_iovec){ .iov_base = (void *)"", .iov_len = 0 };
			kick = true;
		}
		if (c->state == CLIENT_FORWARD) {
			rp->out = upstream_output(c);
			if (upstream_full(c, rp->out))
				break;
		} else if (c->state == CLIENT_IDLE) {
			/* The limits of the generation a request starting here
			 * would be served by. */
			rp->header_size = c->w->cfg->limits.header_size;
			rp->headers = c->w->cfg->limits.headers;
		}
		size_t used;
		enum request_step step = request_parser_feed(rp, v.iov_base, v.iov_len, &used);
		evbuffer_drain(in, used);
		c->ex.bytes_in += used;
		if (c->state == CLIENT_IDLE && (rp->started || step == REQUEST_ERROR))
			client_request_begins(c);
		if (step == REQUEST_MORE && kick)
			break; /* nothing more to complete without bytes */
		if (step == REQUEST_MORE)
			continue;
		if (step == REQUEST_HEAD) {
			c->state = CLIENT_CONNECT;
			handle_head(c);
			continue;
		}
		if (step == REQUEST_DONE) {
			upstream_request_sent(c);
			/* The client may send nothing more for a while: only the
			 * response (and the server's timeout) matters now. */
			io_reader_timeout(&c->rd, NULL);
			continue;
		}
		if (step == REQUEST_ERROR)
			on_parse_error(c);
		break; /* an error, or an upgrade: the bytes after it are not HTTP */
	}
	c->in_process = false;
	if (c->free_pending) {
		client_free(c);
		return;
	}
	if (c->ex.up && c->state == CLIENT_FORWARD)
		upstream_flush(c);
	io_flush(c->bev);
	io_reader_drained(&c->rd);
	if (c->state == CLIENT_CLOSING &&
	    evbuffer_get_length(bufferevent_get_output(c->bev)) == 0 && !c->rd.on)
		client_start_linger(c);
}

/* --- what the server side reports ---------------------------------------- */

void client_upstream_ready(struct client_conn *c)
{
	struct timeval tv;

	c->state = CLIENT_FORWARD;
	ms_to_timeval(client_timeouts(c)->client_idle_ms, &tv);
	io_reader_timeout(&c->rd, c->req.complete ? NULL : &tv);
	bufferevent_set_timeouts(c->bev, NULL, &tv);
	if (c->ex.upgrade && c->req.complete)
		return; /* nothing to relay before the 101 */
	request_parser_resume(&c->req);
	if (!c->in_process)
		client_process(c);
}

void client_upstream_failed(struct client_conn *c, int status, enum access_termination term)
{
	client_error(c, status, term);
}

void client_upstream_drained(struct client_conn *c)
{
	if (!c->read_blocked)
		return;
	c->read_blocked = false;
	io_reader_set(&c->rd, true);
	client_process(c);
}

/* The exchange is over and the connection stays: wait for (or parse the
 * already buffered) next request. */
static void client_next_request(struct client_conn *c)
{
	c->served = true;
	/* An idle keep-alive connection holds no head storage, so that many
	 * thousands of them cost little; pipelined requests keep it. */
	if (evbuffer_get_length(bufferevent_get_input(c->bev)) == 0) {
		http_head_release(&c->req.head);
		http_head_release(&c->ex.resp);
	}
	request_parser_next(&c->req);
	c->state = CLIENT_IDLE;
	bufferevent_set_timeouts(c->bev, NULL, NULL);
	io_reader_timeout(&c->rd, NULL);
	client_arm_timer(c, client_timeouts(c)->client_idle_ms);
	if (c->read_blocked) {
		c->read_blocked = false;
		io_reader_set(&c->rd, true);
	}
	if (!c->in_process)
		client_process(c); /* a pipelined request may be waiting */
}

void client_response_done(struct client_conn *c, bool server_reusable, bool closes_client)
{
	bool reusable = server_reusable && c->req.complete;
	bool keep_alive = c->keep_alive && !closes_client;

	client_log_exchange(c);
	client_exchange_end(c, reusable);
	if (!keep_alive || c->w->stopping) {
		client_close_after_flush(c);
		return;
	}
	client_next_request(c);
}

void client_upgraded(struct client_conn *c, struct bufferevent *server_bev)
{
	struct exchange *ex = &c->ex;
	struct bufferevent *client_bev = c->bev;
	uint64_t idle_ms = ex->pool->timeouts.tunnel_ms;

	client_log_exchange(c);
	client_exchange_end(c, false);
	io_reader_free(&c->rd);
	c->bev = NULL;
	tunnel_start(c->w, client_bev, server_bev, idle_ms, NULL, NULL);
	client_free(c);
}
