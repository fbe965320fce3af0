/* http_client.c — the requests on a client connection: reading them with
 * llhttp (strict mode), checking and routing them, relaying request
 * bodies, the end of each exchange (one access-log line and the counters),
 * and what happens between requests (keep-alive, pipelining, the header
 * and idle deadlines, lbd's own error answers). The connection's socket,
 * from accept to close, is http_client_conn.c's (http_client.h).
 */
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http/client_addr.h"
#include "http/cookie.h"
#include "http/http_client.h"
#include "http/http_error.h"
#include "http/http_request.h"
#include "event/io.h"
#include "core/log.h"
#include "http/route.h"
#include "core/runtime.h"
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
	const struct http_head *h = &c->req;
	struct access_entry e = {
		.start = ex->start_real,
		.client = ex->client ? ex->client : c->peer_ip,
		.method = ex->method,
		.method_len = ex->method ? strlen(ex->method) : 0,
		.target = h->url_len ? h->buf + h->url_off : NULL,
		.target_len = h->url_len,
		.http_minor = ex->method ? c->parser.http_minor : -1,
		.status = ex->status,
		.bytes_sent = ex->bytes_out,
		.bytes_received = ex->bytes_in,
		.listener = c->lrt->name,
		.pool = ex->pool ? ex->pool->name : NULL,
		.server = ex->served_by ? ex->served_by->name : NULL,
		.upstream_us = ex->upstream_us,
		.total_us = monotonic_us() - ex->start_us,
		.generation = cfg->generation,
	};
	const struct http_field *f;

	if (ex->method && (f = http_head_find(h, "host", NULL))) {
		e.host = http_field_value(h, f);
		e.host_len = f->value_len;
	}
	if (ex->method && (f = http_head_find(h, "user-agent", NULL))) {
		e.user_agent = http_field_value(h, f);
		e.user_agent_len = f->value_len;
	}
	if (ex->method && (f = http_head_find(h, "referer", NULL))) {
		e.referer = http_field_value(h, f);
		e.referer_len = f->value_len;
	}
	access_log_write(c->w->shared->access_log, &e);
	runtime_count_request(c->lrt, ex->pool ? ex->pool->rt : NULL,
			      ex->served_by ? ex->served_by->rt : NULL, ex->status,
			      ex->upstream_us, ex->bytes_in, ex->bytes_out);
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

	if (!c->keep_alive || c->w->stopping || ex->upgrade || !ex->method)
		return false;
	/* After a refused CONNECT the client would send tunnel bytes, and an
	 * expectation lbd does not know says the client is confused: both
	 * close. */
	if (status != 404 && status != 502 && status != 503 && status != 504)
		return false;
	/* llhttp's framing, not ex->req_body: a request refused at its head
	 * (404) was never framed, and its body has nowhere to go. */
	return ex->req_complete ||
	       (!(c->parser.flags & F_CHUNKED) && c->parser.content_length == 0);
}

static void client_next_request(struct client_conn *c);

void client_error(struct client_conn *c, int status)
{
	struct exchange *ex = &c->ex;

	if (ex->resp_started) {
		/* Part of the response is out: the client can only learn of the
		 * failure by the connection closing before the body's end. */
		client_log_exchange(c);
		client_free(c);
		return;
	}
	bool keep = error_keeps_connection(c, status);
	ex->status = status;
	ex->bytes_out += http_error_write(bufferevent_get_output(c->bev), status, !keep);
	client_log_exchange(c);
	/* A request answered at its head has the rest of its message (no
	 * body bytes) still to be parsed, and discarded. */
	c->discarding = keep && !ex->req_complete;
	client_exchange_end(c, false);
	evtimer_del(c->timer);
	if (keep)
		client_next_request(c);
	else
		client_close_after_flush(c);
}

/* --- llhttp callbacks for requests --------------------------------------- */

static struct client_conn *parser_client(llhttp_t *p)
{
	return p->data;
}

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

static int req_on_message_begin(llhttp_t *p)
{
	struct client_conn *c = parser_client(p);
	struct exchange *ex = &c->ex;

	ex->cfg = config_ref(c->w->cfg);
	ex->listener = conn_listener(ex->cfg, c->lrt);
	c->cg = (struct chunk_guard){ 0 };
	ex->upstream_us = -1;
	ex->start_us = monotonic_us();
	clock_gettime(CLOCK_REALTIME, &ex->start_real);
	c->req.max_bytes = (uint32_t)ex->cfg->limits.header_size;
	c->req.max_fields = ex->cfg->limits.headers;
	http_head_reset(&c->req);
	if (c->state == CLIENT_IDLE) {
		c->state = CLIENT_HEAD;
		/* A connection's first request keeps the deadline set at accept:
		 * the head must be complete within `header` of connecting. */
		if (c->served)
			client_arm_timer(c, ex->cfg->timeouts.header_ms);
	}
	return 0;
}

static int head_overflowed(struct client_conn *c)
{
	c->parse_status = c->req.overflow == HEAD_NO_MEMORY ? 500 : 431;
	return -1;
}

static int req_on_url(llhttp_t *p, const char *at, size_t len)
{
	struct client_conn *c = parser_client(p);

	/* RFC 9112 §3: one space between method and target; llhttp skips
	 * extra ones, a stricter parser behind lbd would not. */
	if (c->req.url_len == 0 && c->req.last == 0) {
		char before2 = at - c->chunk >= 2 ? at[-2] :
			at - c->chunk == 1 ? c->chunk_prev : c->chunk_prev2;
		if (before2 == ' ' || before2 == '\t') {
			c->parse_status = 400;
			return -1;
		}
	}
	return http_head_add_url(&c->req, at, len) < 0 ? head_overflowed(c) : 0;
}

static int req_on_header_field(llhttp_t *p, const char *at, size_t len)
{
	struct client_conn *c = parser_client(p);

	return http_head_add_name(&c->req, at, len) < 0 ? head_overflowed(c) : 0;
}

static int req_on_header_value(llhttp_t *p, const char *at, size_t len)
{
	struct client_conn *c = parser_client(p);

	if (http_value_is_folded(at, c->chunk, c->chunk_prev)) {
		c->parse_status = 400;
		return -1;
	}
	return http_head_add_value(&c->req, at, len) < 0 ? head_overflowed(c) : 0;
}

/* Stop at the end of the head: the body is read only once a server
 * connection is there to take it. */
static int req_on_headers_complete(llhttp_t *p)
{
	struct client_conn *c = parser_client(p);

	c->ex.method = llhttp_method_name(p->method);
	c->state = CLIENT_CONNECT;
	return HPE_PAUSED;
}

static int req_on_body(llhttp_t *p, const char *at, size_t len)
{
	struct client_conn *c = parser_client(p);
	struct exchange *ex = &c->ex;
	uint64_t limit = ex->pool->limits.body_size;

	ex->req_length += len;
	if (limit && ex->req_length > limit) {
		c->parse_status = 413;
		return -1;
	}
	if (ex->req_body == BODY_CHUNKED && chunk_guard_body(&c->cg, at, len, c->chunk_end) < 0) {
		c->parse_status = 400;
		return -1;
	}
	return body_write(upstream_output(c), ex->req_body, at, len);
}

static int req_on_chunk_header(llhttp_t *p)
{
	chunk_guard_header(&parser_client(p)->cg, p->content_length);
	return 0;
}

static int req_on_message_complete(llhttp_t *p)
{
	struct client_conn *c = parser_client(p);
	struct exchange *ex = &c->ex;

	if (c->discarding) {
		c->discarding = false; /* answered already; on to the next one */
		return 0;
	}
	if (p->upgrade)
		return 0; /* llhttp stops with HPE_PAUSED_UPGRADE */
	body_finish(upstream_output(c), ex->req_body);
	ex->req_complete = true;
	upstream_request_sent(c);
	/* The client may send nothing more for a while: only the response
	 * (and the server's timeout) matters now. */
	io_reader_timeout(&c->rd, NULL);
	return HPE_PAUSED;
}

static const llhttp_settings_t request_settings = {
	.on_message_begin = req_on_message_begin,
	.on_url = req_on_url,
	.on_header_field = req_on_header_field,
	.on_header_value = req_on_header_value,
	.on_headers_complete = req_on_headers_complete,
	.on_body = req_on_body,
	.on_chunk_header = req_on_chunk_header,
	.on_message_complete = req_on_message_complete,
};

void client_requests_init(struct client_conn *c)
{
	c->state = CLIENT_IDLE;
	c->ex.upstream_us = -1;
	llhttp_init(&c->parser, HTTP_REQUEST, &request_settings);
	c->parser.data = c;
	c->req.cache = &c->w->head_cache;
	c->ex.resp.cache = &c->w->head_cache;
}

/* --- a complete request head --------------------------------------------- */

/* Before a server sees the head, the body bytes already received are parsed
 * on a copy of the parser: a request whose framing is broken (a bad chunk
 * size, more data than a chunk announced) or whose body is over the limit
 * is refused while nothing of it has left lbd. Most hostile requests arrive
 * whole in one read; a broken body that arrives later ends the request
 * mid-stream, and lbd's own re-framing keeps the server in sync. */
struct lookahead {
	uint64_t body;
	uint64_t limit;
	int status;
	struct chunk_guard cg;
	const char *end;          /* of the buffer being parsed */
};

static int lookahead_on_body(llhttp_t *p, const char *at, size_t len)
{
	struct lookahead *la = p->data;

	la->body += len;
	if (la->limit && la->body > la->limit) {
		la->status = 413;
		return -1;
	}
	if ((p->flags & F_CHUNKED) && chunk_guard_body(&la->cg, at, len, la->end) < 0)
		return -1;
	return 0;
}

static int lookahead_on_chunk_header(llhttp_t *p)
{
	chunk_guard_header(&((struct lookahead *)p->data)->cg, p->content_length);
	return 0;
}

static int lookahead_on_message_complete(llhttp_t *p)
{
	return HPE_PAUSED;
}

static const llhttp_settings_t lookahead_settings = {
	.on_body = lookahead_on_body,
	.on_chunk_header = lookahead_on_chunk_header,
	.on_message_complete = lookahead_on_message_complete,
};

static int lookahead_status(struct client_conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	struct evbuffer_iovec v[16];
	struct lookahead la = { .limit = c->ex.pool->limits.body_size };
	llhttp_t probe = c->parser;
	int n = evbuffer_peek(in, -1, NULL, v, 16);

	probe.settings = (void *)&lookahead_settings;
	probe.data = &la;
	llhttp_resume(&probe);
	for (int i = 0; i < n && i < 16; i++) {
		la.end = (const char *)v[i].iov_base + v[i].iov_len;
		if (chunk_guard_feed(&la.cg, v[i].iov_base, v[i].iov_len) < 0)
			return 400;
		enum llhttp_errno err = llhttp_execute(&probe, v[i].iov_base, v[i].iov_len);
		if (err == HPE_PAUSED)
			return 0;
		if (err != HPE_OK)
			return la.status ? la.status : 400;
	}
	return 0;
}

/* The client address of this request: the connection's (its peer, or the
 * source of its PROXY header), or the one X-Forwarded-For names when that
 * is one of the listener's trusted proxies (client_addr.h). */
static void request_client(struct client_conn *c)
{
	struct exchange *ex = &c->ex;
	const struct listener_conf *l = ex->listener; /* checked by the caller */

	ex->client = c->peer_ip;
	if (l->ntrusted &&
	    client_addr_forwarded(&c->req, l->trusted, l->ntrusted, c->peer_ip, ex->client_buf))
		ex->client = ex->client_buf;
}

/* What the pool's algorithm looks at: the key ip_hash hashes (a header's
 * value when the pool names one and the request has it, else the client
 * address) and the sticky cookie. */
static void balance_inputs(struct client_conn *c)
{
	struct exchange *ex = &c->ex;
	const struct pool_conf *pool = ex->pool;
	const struct http_field *f;

	ex->hash_key = ex->client;
	ex->hash_key_len = strlen(ex->client);
	if (pool->hash_key.header && (f = http_head_find(&c->req, pool->hash_key.header, NULL)) &&
	    f->value_len) {
		ex->hash_key = http_field_value(&c->req, f);
		ex->hash_key_len = f->value_len;
	}
	ex->cookie = NULL;
	ex->cookie_len = 0;
	if (pool->balance != BALANCE_STICKY_COOKIE)
		return;
	for (uint32_t i = 0; i < c->req.nfields; i++) {
		f = &c->req.fields[i];
		if (http_field_is(&c->req, f, "cookie") &&
		    cookie_find(http_field_value(&c->req, f), f->value_len, pool->sticky.cookie,
				&ex->cookie, &ex->cookie_len))
			return;
	}
}

static void handle_head(struct client_conn *c)
{
	struct exchange *ex = &c->ex;
	struct request_plan plan;
	int status;

	evtimer_del(c->timer);
	c->keep_alive = llhttp_should_keep_alive(&c->parser) && !c->w->stopping;
	if (!ex->listener) {
		/* A reload removed this connection's listener: nothing routes
		 * its requests any more. */
		c->keep_alive = false;
		client_error(c, 503);
		return;
	}
	request_client(c);
	status = http_request_plan(&c->parser, &c->req, ex->listener, &plan);
	if (status) {
		client_error(c, status);
		return;
	}
	ex->pool = plan.pool;
	balance_inputs(c);
	ex->req_body = plan.out.body;
	ex->upgrade = plan.out.upgrade;
	ex->is_head = plan.is_head;
	ex->replayable = plan.replayable;
	if (ex->pool->limits.body_size && plan.out.body == BODY_LENGTH &&
	    plan.out.content_length > ex->pool->limits.body_size) {
		client_error(c, 413);
		return;
	}
	if (plan.out.body != BODY_NONE && (status = lookahead_status(c))) {
		client_error(c, status);
		return;
	}
	plan.out.client_ip = c->peer_ip;
	plan.out.client_v6 = c->peer_v6;
	plan.out.proto = c->tls ? "https" : "http";
	if (http_request_render(&c->req, &plan.out, &ex->head_out, &ex->head_out_len) < 0) {
		client_error(c, 500);
		return;
	}
	upstream_dispatch(c);
}

/* --- reading ------------------------------------------------------------- */

static bool may_parse(const struct client_conn *c)
{
	if (c->parser_paused)
		return false;
	switch (c->state) {
	case CLIENT_IDLE:
	case CLIENT_HEAD:
		return true;
	case CLIENT_FORWARD:
		return !c->ex.req_complete;
	default:
		return false;
	}
}

/* In FORWARD, whether the rest of the request still needs bytes. */
static bool body_expected(const struct client_conn *c)
{
	if (c->discarding)
		return false;
	if (c->state != CLIENT_FORWARD)
		return true;
	if (c->ex.req_body == BODY_NONE)
		return false;
	return !(c->ex.req_body == BODY_LENGTH && c->parser.content_length == 0 &&
		 c->ex.req_length == 0);
}

static bool upstream_full(struct client_conn *c)
{
	if (evbuffer_get_length(upstream_output(c)) < RELAY_HIGH_WATER)
		return false;
	io_reader_set(&c->rd, false);
	c->read_blocked = true;
	return true;
}

static void on_parse_error(struct client_conn *c, enum llhttp_errno err)
{
	int status = c->parse_status ? c->parse_status : 400;

	if (status == 400)
		log_debug("client %s: bad request: %s", c->peer_ip,
			  llhttp_get_error_reason(&c->parser));
	if (c->state == CLIENT_IDLE && !c->ex.cfg)
		req_on_message_begin(&c->parser); /* garbage as the first byte */
	client_error(c, status);
}

void client_process(struct client_conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);

	c->in_process = true;
	while (!c->free_pending && may_parse(c)) {
		struct evbuffer_iovec v;
		bool kick = false;
		if (evbuffer_peek(in, -1, NULL, &v, 1) < 1 || v.iov_len == 0) {
			/* llhttp paused at the end of a head whose message has no
			 * body bytes: it completes the message on an empty feed. */
			if (body_expected(c))
				break;
			v = (struct evbuffer_iovec){ .iov_base = (void *)"", .iov_len = 0 };
			kick = true;
		}
		if (c->state == CLIENT_FORWARD && upstream_full(c))
			break;
		bool in_head = c->state == CLIENT_IDLE || c->state == CLIENT_HEAD;
		c->chunk = v.iov_base;
		c->chunk_end = c->chunk + v.iov_len;
		if (c->state == CLIENT_FORWARD && chunk_guard_feed(&c->cg, v.iov_base, v.iov_len) < 0) {
			c->parse_status = 400;
			on_parse_error(c, HPE_USER);
			break;
		}
		enum llhttp_errno err = llhttp_execute(&c->parser, v.iov_base, v.iov_len);
		size_t used = err == HPE_OK ? v.iov_len :
			(size_t)(llhttp_get_error_pos(&c->parser) - (const char *)v.iov_base);
		if (used >= 2)
			c->chunk_prev2 = c->chunk[used - 2];
		else if (used == 1)
			c->chunk_prev2 = c->chunk_prev;
		if (used)
			c->chunk_prev = c->chunk[used - 1];
		evbuffer_drain(in, used);
		c->ex.bytes_in += used;
		if (in_head) {
			/* Parsing pauses at the end of a head, so USED holds no
			 * body bytes: the count is the head's raw size exactly. */
			c->head_bytes += used;
			if (c->ex.cfg && c->head_bytes > c->ex.cfg->limits.header_size) {
				client_error(c, 431);
				break;
			}
		}
		if (err == HPE_OK && kick)
			break; /* nothing more to complete without bytes */
		if (err == HPE_OK)
			continue;
		if (err == HPE_PAUSED) {
			c->parser_paused = true;
			if (c->state == CLIENT_CONNECT)
				handle_head(c);
			continue;
		}
		if (err == HPE_PAUSED_UPGRADE) {
			c->parser_paused = true;
			c->ex.req_complete = true;
			if (c->state == CLIENT_CONNECT)
				handle_head(c); /* an upgrade request without body */
			break;
		}
		on_parse_error(c, err);
		break;
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
	    evbuffer_get_length(bufferevent_get_output(c->bev)) == 0 &&
	    !c->rd.on)
		client_start_linger(c);
}

/* --- what the server side reports ---------------------------------------- */

void client_upstream_ready(struct client_conn *c)
{
	struct timeval tv;

	c->state = CLIENT_FORWARD;
	ms_to_timeval(client_timeouts(c)->client_idle_ms, &tv);
	io_reader_timeout(&c->rd, c->ex.req_complete ? NULL : &tv);
	bufferevent_set_timeouts(c->bev, NULL, &tv);
	if (c->ex.upgrade && c->ex.req_complete)
		return; /* nothing to relay before the 101 */
	if (c->parser_paused) {
		llhttp_resume(&c->parser);
		c->parser_paused = false;
	}
	if (!c->in_process)
		client_process(c);
}

void client_upstream_failed(struct client_conn *c, int status)
{
	client_error(c, status);
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
		http_head_release(&c->req);
		http_head_release(&c->ex.resp);
	}
	c->head_bytes = 0;
	c->state = CLIENT_IDLE;
	bufferevent_set_timeouts(c->bev, NULL, NULL);
	io_reader_timeout(&c->rd, NULL);
	client_arm_timer(c, client_timeouts(c)->client_idle_ms);
	if (c->read_blocked) {
		c->read_blocked = false;
		io_reader_set(&c->rd, true);
	}
	if (c->parser_paused) {
		if (llhttp_get_errno(&c->parser) == HPE_PAUSED_UPGRADE)
			llhttp_resume_after_upgrade(&c->parser);
		else
			llhttp_resume(&c->parser);
		c->parser_paused = false;
	}
	if (!c->in_process)
		client_process(c); /* a pipelined request may be waiting */
}

void client_response_done(struct client_conn *c)
{
	struct exchange *ex = &c->ex;
	bool reusable = ex->resp_keep_alive && ex->req_complete;

	client_log_exchange(c);
	client_exchange_end(c, reusable);
	if (!c->keep_alive || c->w->stopping) {
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
