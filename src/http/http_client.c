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
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "event/io.h"
#include "http/http_client.h"
#include "http/http_error.h"
#include "stream/tunnel.h"
#include "util/clock.h"

void client_arm_timer(struct client_conn *c, uint64_t ms)
{
	deadline_set_ms(&c->timer, ms);
}

static const struct timeouts_conf *client_timeouts(const struct client_conn *c)
{
	return c->b->ex.cfg ? &c->b->ex.cfg->timeouts : &c->w->cfg->timeouts;
}

/* --- the end of an exchange --------------------------------------------- */

void client_log_exchange(struct client_conn *c)
{
	exchange_log(&c->b->ex, c->w->cfg);
}

/* An exchange holds nothing before exchange_begin() takes its generation
 * (ex->cfg) nor after exchange_end() let it go: a connection that closes
 * after its answer ends it once, not twice. */
void client_exchange_end(struct client_conn *c, bool upstream_reusable)
{
	if (c->b && c->b->ex.cfg)
		exchange_end(&c->b->ex, upstream_reusable);
}

/* Write what the output holds now (io_flush()). A plain HTTP connection
 * starts without TCP_NODELAY: its first write leaves at once anyway
 * (nothing of it is in flight yet), and a client that closes after one
 * answer saves the setsockopt(). Before any later write, or when the first
 * one does not go out whole, Nagle's algorithm could hold a small segment
 * back until the client acknowledges the one before: it is turned off
 * then. */
bool client_write(struct client_conn *c)
{
	bool done;

	if (c->wrote)
		inbound_nodelay(&c->in);
	else
		c->wrote = evbuffer_get_length(bufferevent_get_output(c->b->bev)) != 0;
	done = io_flush(c->b->bev);
	if (!done)
		inbound_nodelay(&c->in);
	return done;
}

/* Close once the output is flushed. */
static void client_close_after_flush(struct client_conn *c)
{
	c->state = CLIENT_CLOSING;
	c->keep_alive = false;
	io_reader_set(&c->rd, false);
	bufferevent_setwatermark(c->b->bev, EV_WRITE, 0, 0);
	if (client_write(c) && !c->in_process)
		client_start_linger(c);
}

/* Whether the connection can take another request after lbd answered
 * STATUS itself: only when the request was read to its end (or has no body
 * left to read) and the error says nothing about the connection. */
static bool error_keeps_connection(const struct client_conn *c, int status)
{
	const struct exchange *ex = &c->b->ex;

	if (!c->keep_alive || c->w->stopping || ex->upgrade || !c->b->req.method)
		return false;
	/* After a refused CONNECT the client would send tunnel bytes, and an
	 * expectation lbd does not know says the client is confused: both
	 * close. A 403 keeps it: behind a trusted proxy the next request
	 * may be another client's. */
	if (!ex->location && status != 403 && status != 404 && status != 429 && status != 502 &&
	    status != 503 && status != 504)
		return false;
	/* A request refused or redirected at its head (403, 404, 429, 3xx) with a
	 * body: the body has nowhere to go. */
	return !request_parser_body_left(&c->b->req);
}

static void client_next_request(struct client_conn *c);

void client_error(struct client_conn *c, int status, enum access_termination term)
{
	struct exchange *ex = &c->b->ex;

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
	ex->bytes_out += http_error_write(bufferevent_get_output(c->b->bev), status, !keep,
					  ex->retry_after_s, ex->location,
					  listener_error_page(ex->listener, status));
	client_log_exchange(c);
	client_exchange_end(c, false);
	deadline_clear(&c->timer);
	if (keep)
		client_next_request(c);
	else
		client_close_after_flush(c);
}

void client_refuse(struct client_conn *c, int status, const char *why)
{
	exchange_log_refusal(&c->b->ex, status, why);
	client_error(c, status,
		     c->b->ex.location ? ACCESS_TERM_OK :
		     status == 408     ? ACCESS_TERM_CLIENT_TIMEOUT :
		     status == 500     ? ACCESS_TERM_INTERNAL :
		     status == 429     ? ACCESS_TERM_RATE_LIMITED :
		     status == 403     ? ACCESS_TERM_DENIED :
					 ACCESS_TERM_REFUSED);
}

void client_abort(struct client_conn *c, enum access_termination term)
{
	struct exchange *ex = c->b ? &c->b->ex : NULL;

	/* ex->cfg is held from a request's first byte until its line is
	 * written: an exchange without its line yet. A parked connection
	 * has none. */
	if (ex && ex->cfg) {
		if (ex->resp_started) {
			/* What is still queued never reached the client. */
			size_t queued = evbuffer_get_length(bufferevent_get_output(c->b->bev));
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

/* The parser saw a request's first byte: the exchange starts, under the
 * generation whose limits the parser was given. */
static void client_request_begins(struct client_conn *c)
{
	exchange_begin(&c->b->ex, c->w->cfg);
	c->state = CLIENT_HEAD;
	c->client_done = false;
	/* A connection's first request keeps the deadline set at accept: the
	 * head must be complete within `header` of connecting. */
	if (c->served)
		client_arm_timer(c, c->b->ex.cfg->timeouts.header_ms);
}

static const struct exchange_ops client_exchange_ops;

void client_requests_init(struct client_conn *c)
{
	c->state = CLIENT_IDLE;
	c->b->ex.upstream_us = -1;
	request_parser_init(&c->b->req, &c->hw->head_cache);
	c->b->ex.resp.cache = &c->hw->head_cache;
	c->b->ex.side = (struct exchange_side){
		.ops = &client_exchange_ops,
		.hw = c->hw,
		.lrt = c->lrt,
		.in = &c->in,
		.req = &c->b->req,
		.keep_alive = &c->keep_alive,
	};
}

static void handle_head(struct client_conn *c)
{
	const char *why;
	int status;

	deadline_clear(&c->timer);
	c->client_done = !request_parser_keep_alive(&c->b->req);
	c->keep_alive = !c->client_done && !c->w->stopping;
	if (!c->b->ex.listener) /* nothing routes its requests any more */
		c->keep_alive = false;
	status = exchange_route(&c->b->ex, bufferevent_get_input(c->b->bev), &why);
	if (status)
		client_refuse(c, status, why);
}

/* --- reading ------------------------------------------------------------- */

static bool may_parse(const struct client_conn *c)
{
	if (c->b->req.paused)
		return false;
	switch (c->state) {
	case CLIENT_IDLE:
	case CLIENT_HEAD:
		return true;
	case CLIENT_FORWARD:
		return !c->b->req.complete;
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
	client_refuse(c, c->b->req.status, request_parser_error(&c->b->req));
}

void client_process(struct client_conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->b->bev);
	struct request_parser *rp = &c->b->req;

	if (c->h2_sniff && client_h2_preface(c))
		return;
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
			rp->out = upstream_output(&c->b->ex);
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
		c->b->ex.bytes_in += used;
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
			upstream_request_sent(&c->b->ex);
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
	if (exchange_attached(&c->b->ex) && c->state == CLIENT_FORWARD)
		upstream_flush(&c->b->ex);
	client_write(c);
	io_reader_drained(&c->rd);
	if (c->state == CLIENT_CLOSING &&
	    evbuffer_get_length(bufferevent_get_output(c->b->bev)) == 0 && !c->rd.on)
		client_start_linger(c);
	else if (c->state == CLIENT_IDLE)
		client_park(c);
}

/* --- what the server side reports ---------------------------------------- */

static struct client_conn *client_of(struct exchange *ex)
{
	return ((struct client_busy *)((char *)ex - offsetof(struct client_busy, ex)))->c;
}

static void client_upstream_ready(struct exchange *ex)
{
	struct client_conn *c = client_of(ex);
	struct timeval tv;

	c->state = CLIENT_FORWARD;
	ms_to_timeval(client_timeouts(c)->client_idle_ms, &tv);
	/* A request without a body completes on the parser's next (empty)
	 * feed, before anything more is read: no read timeout to arm. */
	io_reader_timeout(&c->rd, request_parser_body_left(&c->b->req) ? &tv : NULL);
	io_write_timeout(c->b->bev, &tv);
	if (c->b->ex.upgrade && c->b->req.complete)
		return; /* nothing to relay before the 101 */
	request_parser_resume(&c->b->req);
	if (!c->in_process)
		client_process(c);
}

static void client_upstream_failed(struct exchange *ex, int status, enum access_termination term)
{
	client_error(client_of(ex), status, term);
}

static void client_upstream_drained(struct exchange *ex)
{
	struct client_conn *c = client_of(ex);

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
	if (evbuffer_get_length(bufferevent_get_input(c->b->bev)) == 0) {
		http_head_release(&c->b->req.head);
		http_head_release(&c->b->ex.resp);
	}
	request_parser_next(&c->b->req);
	c->state = CLIENT_IDLE;
	/* The write timeout stays: it counts only while a response is still
	 * being written (this one's, bounded like any), and the next request
	 * sets the same one, which then costs nothing (io_write_timeout()). */
	io_reader_timeout(&c->rd, NULL);
	client_arm_timer(c, client_timeouts(c)->client_idle_ms);
	if (c->read_blocked) {
		c->read_blocked = false;
		io_reader_set(&c->rd, true);
	}
	if (!c->in_process)
		client_process(c); /* a pipelined request may be waiting */
}

static void client_response_done(struct exchange *ex, bool server_reusable, bool closes_client)
{
	struct client_conn *c = client_of(ex);
	bool reusable = server_reusable && c->b->req.complete;
	bool keep_alive = c->keep_alive && !closes_client;

	client_log_exchange(c);
	client_exchange_end(c, reusable);
	/* A response that told the client it may go on keeps its word when
	 * lbd retires for an upgrade; a plain stop closes. */
	if (!keep_alive || (c->w->stopping && !c->w->keeps_idle)) {
		client_close_after_flush(c);
		return;
	}
	client_next_request(c);
}

static void client_upgraded(struct exchange *ex, struct bufferevent *server_bev)
{
	struct client_conn *c = client_of(ex);
	struct bufferevent *client_bev = c->b->bev;
	uint64_t idle_ms = ex->pool->timeouts.tunnel_ms;

	client_log_exchange(c);
	client_exchange_end(c, false);
	io_reader_free(&c->rd);
	inbound_nodelay(&c->in); /* a tunnel writes as bytes come */
	c->b->bev = NULL;
	tunnel_start(c->w, client_bev, server_bev, idle_ms, NULL, NULL);
	client_free(c);
}

/* Response bytes are queued: write them right away. */
static void client_flush(struct exchange *ex)
{
	client_write(client_of(ex));
}

static const struct exchange_ops client_exchange_ops = {
	.ready = client_upstream_ready,
	.failed = client_upstream_failed,
	.done = client_response_done,
	.upgraded = client_upgraded,
	.drained = client_upstream_drained,
	.flush = client_flush,
};
