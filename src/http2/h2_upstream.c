/* h2_upstream.c — HTTP/2 to servers (h2_upstream.h).
 *
 * A server is reached through the peer (event/peer.h), as for HTTP/1.1:
 * the balancer picks it, and a connection of this worker to it with room
 * for one more stream is offered first (peer ops reuse), else a new one is
 * opened. The request head the client side rendered for HTTP/1.1 (with
 * X-Forwarded-* and Host) becomes the HTTP/2 fields; its body is queued
 * unframed (request_parser raw_out) and sent as DATA as the server's
 * window allows. The response comes back through exchange.c, which gives
 * it to an HTTP/1 client (chunks, trailers in the last one) or an HTTP/2
 * stream (fields, trailers as fields) alike.
 *
 * Flow control follows the bytes both ways: response DATA is given back to
 * the server's window only once the client side holds less than its bound
 * of it (RELAY_HIGH_WATER), and request bytes are taken from the client
 * side only as the server's window lets them leave.
 */
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <nghttp2/nghttp2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "core/log.h"
#include "event/peer.h"
#include "http/http_rewrite.h"
#include "http2/h2_upstream.h"
#include "tls/tls_listener.h"
#include "tls/tls_upstream.h"
#include "util/clock.h"
#include "util/units.h"

#define H2_UP_STREAMS_MAX 100
#define H2_UP_IDLE_MS 30000
#define H2_UP_OUT_HIGH (64 * 1024)
#define H2_UP_CONNECTION_WINDOW (1024 * 1024)
/* The request body kept until the response begins, so that a stream the
 * server refused can be sent again: beyond this, it cannot. */
#define H2_UP_REPLAY_MAX (64 * 1024)
/* Bounds of a response head and of its trailers, as for HTTP/1.1. */
#define H2_UP_HEAD_MAX_BYTES (64 * 1024)
#define H2_UP_HEAD_MAX_FIELDS 500

struct h2_upstream_stream;
TAILQ_HEAD(h2_up_streams, h2_upstream_stream);

struct h2_up_conn {
	TAILQ_ENTRY(h2_up_conn) link;
	struct h2_up_streams streams;
	struct h2_upstream_pool *pool;
	struct bufferevent *bev;
	struct server_rt *rt;
	struct lbd_addr addr;
	const void *tls_id;
	nghttp2_session *session;
	struct event *idle;  /* no stream for H2_UP_IDLE_MS: closed */
	struct event *defer; /* freed on the next turn of the loop */
	uint32_t nstreams;
	bool goaway;  /* no new stream: the server said GOAWAY, or it failed */
	bool in_send; /* inside conn_send() */
	bool send_again;
	bool in_recv; /* inside nghttp2's callbacks */
	bool dead;    /* to be freed */
};

struct h2_upstream_stream {
	TAILQ_ENTRY(h2_upstream_stream) link; /* in its connection, or waiting */
	struct h2_up_conn *conn;
	struct h2_up_connecting *waiting_on; /* the connection being made */
	struct exchange *ex;
	int32_t id;
	struct evbuffer *body; /* the request body, waiting for DATA */
	struct evbuffer *sent; /* what of it left, until the response begins */
	bool sent_overflow;    /* more than H2_UP_REPLAY_MAX left: no replay */
	struct event *timer;   /* timeouts.server */
	int status;            /* of the response: 0 before its final head */
	bool body_end;         /* the whole request body is in BODY */
	bool deferred;         /* the data source waits for BODY */
	bool head_done;        /* the final head went to the client side */
	bool took_body;        /* DATA left since the client side was told */
	uint64_t unconsumed;   /* response DATA not given back to the window */
};

TAILQ_HEAD(h2_up_list, h2_up_conn);

/* A connection to a server being made by one exchange (OWNER, through its
 * peer): the exchanges for the same server that come meanwhile wait for it
 * instead of each opening its own. */
struct h2_up_connecting {
	TAILQ_ENTRY(h2_up_connecting) link;
	struct exchange *owner;
	struct server_rt *rt;
	struct lbd_addr addr;
	const void *tls_id;
	struct h2_up_streams waiting;
	uint32_t nwaiting;
};

TAILQ_HEAD(h2_up_connectings, h2_up_connecting);

struct h2_upstream_pool {
	struct http_worker *hw;
	struct h2_up_list conns;
	struct h2_up_connectings connecting;
};

static void conn_send(struct h2_up_conn *conn);
static void stream_fail(struct h2_upstream_stream *st, int status, enum access_termination term,
			const char *what);

/* --- connections ---------------------------------------------------------------- */

static void conn_free(struct h2_up_conn *conn)
{
	TAILQ_REMOVE(&conn->pool->conns, conn, link);
	nghttp2_session_del(conn->session);
	if (conn->idle)
		event_free(conn->idle);
	if (conn->defer)
		event_free(conn->defer);
	bufferevent_free(conn->bev);
	free(conn);
}

static void on_defer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what;
	conn_free(arg);
}

/* The connection is over: no new stream; freed from the loop once it
 * carries none. */
static void conn_retire(struct h2_up_conn *conn)
{
	conn->goaway = true;
	if (conn->nstreams || conn->dead)
		return;
	conn->dead = true;
	event_active(conn->defer, EV_TIMEOUT, 0);
}

static void on_idle(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what;
	conn_retire(arg);
}

static bool conn_has_room(struct h2_up_conn *conn)
{
	uint32_t max = nghttp2_session_get_remote_settings(conn->session,
							   NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);

	if (max > H2_UP_STREAMS_MAX)
		max = H2_UP_STREAMS_MAX;
	return !conn->goaway && conn->nstreams < max;
}

/* A connection of this worker to SRV of POOL with room for a stream; the
 * address and TLS settings must still be the server's (a reload or a DNS
 * change may have moved it). */
static struct h2_up_conn *conn_find(struct h2_upstream_pool *up, const struct pool_conf *pool,
				    const struct server_conf *srv)
{
	struct h2_up_conn *conn;

	TAILQ_FOREACH (conn, &up->conns, link)
		if (conn->rt == srv->rt && addr_equal(&conn->addr, &srv->addr) &&
		    conn->tls_id == tls_upstream_pool_identity(&pool->tls) && conn_has_room(conn))
			return conn;
	return NULL;
}

static void conn_stream_gone(struct h2_up_conn *conn)
{
	struct timeval tv;

	conn->nstreams--;
	if (conn->nstreams)
		return;
	if (conn->goaway) {
		conn_retire(conn);
		return;
	}
	ms_to_timeval(H2_UP_IDLE_MS, &tv);
	evtimer_add(conn->idle, &tv);
}

/* --- streams ----------------------------------------------------------------------- */

static struct h2_upstream_stream *stream_of(nghttp2_session *session, int32_t id)
{
	return nghttp2_session_get_stream_user_data(session, id);
}

static void stream_arm_timer(struct h2_upstream_stream *st)
{
	struct timeval tv;

	ms_to_timeval(st->ex->server_ms, &tv);
	evtimer_add(st->timer, &tv);
}

/* Forget ST (the exchange no longer points at it); a stream still open is
 * cancelled. */
/* Take ST off its connection (a stream still open is cancelled). */
static void stream_unlink(struct h2_upstream_stream *st, bool cancel)
{
	struct h2_up_conn *conn = st->conn;

	if (!conn)
		return;
	if (st->id > 0) {
		nghttp2_session_set_stream_user_data(conn->session, st->id, NULL);
		if (cancel && nghttp2_session_find_stream(conn->session, st->id))
			nghttp2_submit_rst_stream(conn->session, NGHTTP2_FLAG_NONE, st->id,
						  NGHTTP2_CANCEL);
	}
	st->id = 0;
	st->conn = NULL;
	TAILQ_REMOVE(&conn->streams, st, link);
	conn_stream_gone(conn);
	conn_send(conn);
}

static void stream_free(struct h2_upstream_stream *st, bool cancel)
{
	if (st->waiting_on) {
		TAILQ_REMOVE(&st->waiting_on->waiting, st, link);
		st->waiting_on->nwaiting--;
	}
	stream_unlink(st, cancel);
	if (st->ex)
		st->ex->up2 = NULL;
	event_free(st->timer);
	evbuffer_free(st->body);
	evbuffer_free(st->sent);
	free(st);
}

static void stream_fail(struct h2_upstream_stream *st, int status, enum access_termination term,
			const char *what)
{
	struct exchange *ex = st->ex;
	const struct http_head *req = &ex->side.req->head;

	peer_server_failed(&ex->peer, what);
	log_warn("pool %s: server %s (%s): %s while %s %.*s%s", ex->pool->name,
		 ex->peer.server->name, ex->peer.server->addr.text, what,
		 ex->resp_started ? "relaying the response to" : "waiting for the response to",
		 (int)req->url_len, req->buf + req->url_off,
		 ex->resp_started ? "; the client's stream or connection is closed" : "");
	ex->side.ops->failed(ex, status, term);
}

/* exchange_retry_allowed() said yes before the response began: the stream
 * leaves its connection (reset with CANCEL when it is still open), and the
 * request (which has no body) goes to another server on this same stream
 * state, as a refused stream does. */
static void stream_retry(struct h2_upstream_stream *st, bool cancel, enum retry_reason reason,
			 int status, const char *why)
{
	stream_unlink(st, cancel);
	evtimer_del(st->timer);
	st->deferred = false;
	exchange_retry(st->ex, reason, status, why);
}

static void on_stream_timer(evutil_socket_t fd, short what, void *arg)
{
	struct h2_upstream_stream *st = arg;
	char d[32], why[96];

	(void)fd, (void)what;
	format_duration(st->ex->server_ms, d, sizeof(d));
	snprintf(why, sizeof(why), "timed out (timeouts.server, %s)", d);
	if (!st->head_done && exchange_retry_allowed(st->ex, 504))
		stream_retry(st, true, RETRY_TIMEOUT, 504, why);
	else
		stream_fail(st, 504, ACCESS_TERM_SERVER_TIMEOUT, why);
}

/* The client's trailer fields after the request body (an HTTP/2 client's
 * names are in lower case already). Returns 0, or -1 (the stream then
 * just ends). */
static int submit_request_trailers(struct h2_upstream_stream *st)
{
	const struct http_head *t = st->ex->req_trailers;
	nghttp2_nv *nv = calloc(t->nfields, sizeof(*nv));
	int rc;

	if (!nv)
		return -1;
	for (uint32_t i = 0; i < t->nfields; i++) {
		const struct http_field *f = &t->fields[i];
		nv[i] = (nghttp2_nv){ (uint8_t *)t->buf + f->name_off,
				      (uint8_t *)http_field_value(t, f), f->name_len, f->value_len,
				      NGHTTP2_NV_FLAG_NONE };
	}
	rc = nghttp2_submit_trailer(st->conn->session, st->id, nv, t->nfields);
	free(nv);
	return rc == 0 ? 0 : -1;
}

static ssize_t read_body(nghttp2_session *session, int32_t id, uint8_t *buf, size_t length,
			 uint32_t *flags, nghttp2_data_source *source, void *user_data)
{
	struct h2_upstream_stream *st = source->ptr;
	size_t have = evbuffer_get_length(st->body);
	int n = have ? evbuffer_remove(st->body, buf, length < have ? length : have) : 0;

	(void)session, (void)id, (void)user_data;
	st->took_body = st->took_body || n > 0;
	if (n > 0 && !st->sent_overflow) {
		st->sent_overflow = evbuffer_get_length(st->sent) + (size_t)n > H2_UP_REPLAY_MAX;
		if (st->sent_overflow)
			evbuffer_drain(st->sent, evbuffer_get_length(st->sent));
		else
			evbuffer_add(st->sent, buf, (size_t)n);
	}
	if (n <= 0 && !st->body_end) {
		st->deferred = true;
		return NGHTTP2_ERR_DEFERRED;
	}
	if (st->body_end && evbuffer_get_length(st->body) == 0) {
		*flags |= NGHTTP2_DATA_FLAG_EOF;
		if (st->ex && st->ex->req_trailers && st->ex->req_trailers->nfields &&
		    submit_request_trailers(st) == 0)
			*flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
	}
	return n > 0 ? n : 0;
}

static bool field_is(const char *name, size_t len, const char *what)
{
	return len == strlen(what) && strncasecmp(name, what, len) == 0;
}

/* Fields of one connection (RFC 9113 §8.2.2), and Host, which becomes
 * :authority. */
static bool field_dropped(const char *name, size_t len)
{
	return http_name_is_hop_by_hop(name, len) || field_is(name, len, "host");
}

static void nv_add(nghttp2_nv *nv, size_t *n, const char *name, size_t nlen, const char *value,
		   size_t vlen)
{
	nv[*n] = (nghttp2_nv){ (uint8_t *)name, (uint8_t *)value, nlen, vlen,
			       NGHTTP2_NV_FLAG_NONE };
	(*n)++;
}

/* The request head the client side rendered for HTTP/1.1 (HEAD, LEN) as
 * HTTP/2 fields in NV (room for every line and five more), their lower-case
 * names in NAMES. Returns how many, or 0 when the head is not one lbd
 * renders. */
static size_t request_fields(const char *head, size_t len, const char *scheme,
			     const char *authority, nghttp2_nv *nv, char *names)
{
	const char *end = head + len, *sp1, *sp2, *eol;
	size_t n = 0;

	eol = memchr(head, '\n', len);
	sp1 = memchr(head, ' ', len);
	if (!eol || !sp1 || sp1 > eol || !(sp2 = memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1))))
		return 0;
	nv_add(nv, &n, ":method", 7, head, (size_t)(sp1 - head));
	nv_add(nv, &n, ":scheme", 7, scheme, strlen(scheme));
	nv_add(nv, &n, ":path", 5, sp1 + 1, (size_t)(sp2 - sp1 - 1));
	size_t authority_at = n;
	if (authority)
		nv_add(nv, &n, ":authority", 10, authority, strlen(authority));
	/* gRPC servers want it; lbd passes trailers on. */
	nv_add(nv, &n, "te", 2, "trailers", 8);
	for (const char *line = eol + 1; line < end; line = eol + 1) {
		eol = memchr(line, '\n', (size_t)(end - line));
		if (!eol || eol - line <= 1)
			break; /* the empty line that ends the head */
		const char *colon = memchr(line, ':', (size_t)(eol - line));
		if (!colon)
			return 0;
		size_t nlen = (size_t)(colon - line);
		const char *value = colon + 1;
		while (value < eol && (*value == ' ' || *value == '\t'))
			value++;
		size_t vlen = (size_t)(eol - value);
		while (vlen && (value[vlen - 1] == '\r' || value[vlen - 1] == ' '))
			vlen--;
		if (field_is(line, nlen, "host") && !authority) {
			nv_add(nv, &n, ":authority", 10, value, vlen);
			/* pseudo fields first (RFC 9113 §8.3) */
			nghttp2_nv a = nv[n - 1];
			memmove(&nv[authority_at + 1], &nv[authority_at],
				(n - 1 - authority_at) * sizeof(*nv));
			nv[authority_at] = a;
			authority = "";
			continue;
		}
		if (field_dropped(line, nlen))
			continue;
		for (size_t i = 0; i < nlen; i++)
			names[i] = (char)(line[i] >= 'A' && line[i] <= 'Z' ? line[i] + 32 :
									     line[i]);
		nv_add(nv, &n, names, nlen, value, vlen);
		names += nlen;
	}
	return n;
}

/* Send the exchange's request on CONN. Returns 0, or -1 (the exchange is
 * told). */
/* A new stream's state, or the one of a stream being sent again (with its
 * body). */
static struct h2_upstream_stream *stream_state(struct h2_upstream_pool *up, struct exchange *ex)
{
	struct h2_upstream_stream *st = ex->up2;

	if (st)
		return st;
	st = calloc(1, sizeof(*st));
	if (!st)
		return NULL;
	st->body = evbuffer_new();
	st->sent = evbuffer_new();
	st->timer = evtimer_new(up->hw->w->base, on_stream_timer, st);
	if (!st->body || !st->sent || !st->timer) {
		if (st->body)
			evbuffer_free(st->body);
		if (st->sent)
			evbuffer_free(st->sent);
		if (st->timer)
			event_free(st->timer);
		free(st);
		return NULL;
	}
	st->ex = ex;
	st->body_end = ex->side.req->body == BODY_NONE;
	return st;
}

static int stream_start(struct h2_up_conn *conn, struct exchange *ex)
{
	struct h2_upstream_stream *st = stream_state(conn->pool, ex);
	size_t lines = 0;

	for (size_t i = 0; i < ex->head_out_len; i++)
		lines += ex->head_out[i] == '\n';
	nghttp2_nv *nv = calloc(lines + 6, sizeof(*nv));
	char *names = malloc(ex->head_out_len + 1);
	if (!st || !nv || !names) {
		if (st)
			stream_free(st, false);
		free(nv);
		free(names);
		log_error("pool %s: server %s: out of memory", ex->pool->name,
			  ex->peer.server->name);
		ex->side.ops->failed(ex, 502, ACCESS_TERM_INTERNAL);
		return -1;
	}
	st->conn = conn;
	TAILQ_INSERT_TAIL(&conn->streams, st, link);
	conn->nstreams++;
	evtimer_del(conn->idle);
	/* An HTTP/1.0 request without Host: the server's address (host_at). */
	const char *authority = ex->host_at ? ex->peer.server->addr.text : NULL;
	size_t n = request_fields(ex->head_out, ex->head_out_len,
				  ex->pool->tls.enabled ? "https" : "http", authority, nv, names);
	struct request_parser *req = ex->side.req;
	nghttp2_data_provider prd = { .source.ptr = st, .read_callback = read_body };
	bool has_body = req->body != BODY_NONE;
	st->id = n ? nghttp2_submit_request(conn->session, NULL, nv, n, has_body ? &prd : NULL,
					    st) :
		     -1;
	free(nv);
	free(names);
	ex->up2 = st;
	if (st->id < 0) {
		st->id = 0;
		stream_fail(st, 502, ACCESS_TERM_INTERNAL, "could not take the request as HTTP/2");
		return -1;
	}
	req->raw_out = true; /* HTTP/2 frames the body itself */
	ex->upstream_start_us = monotonic_us();
	ex->req_sent = true;
	ex->resp.max_bytes = H2_UP_HEAD_MAX_BYTES;
	ex->resp.max_fields = H2_UP_HEAD_MAX_FIELDS;
	ex->trailers.max_bytes = H2_UP_HEAD_MAX_BYTES;
	ex->trailers.max_fields = H2_UP_HEAD_MAX_FIELDS;
	if (req->complete)
		stream_arm_timer(st);
	conn_send(conn);
	ex->side.ops->ready(ex);
	return 0;
}

/* --- nghttp2's callbacks ------------------------------------------------------- */

static int on_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name,
		     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
		     void *arg)
{
	struct h2_upstream_stream *st = stream_of(session, frame->hd.stream_id);
	struct http_head *h;

	(void)flags, (void)arg;
	if (!st || frame->hd.type != NGHTTP2_HEADERS)
		return 0;
	if (namelen == 7 && memcmp(name, ":status", 7) == 0) {
		st->status = 0;
		for (size_t i = 0; i < valuelen && i < 3; i++)
			st->status = st->status * 10 + (value[i] - '0');
		return 0;
	}
	h = st->head_done ? &st->ex->trailers : &st->ex->resp;
	if (http_head_add_name(h, (const char *)name, namelen) < 0 ||
	    http_head_add_value(h, (const char *)value, valuelen) < 0)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* reset: 502 follows */
	return 0;
}

static int64_t content_length(const struct http_head *h)
{
	const struct http_field *f = http_head_find(h, "content-length", NULL);
	int64_t v = 0;

	if (!f || f->value_len == 0 || f->value_len > 18)
		return -1;
	for (uint32_t i = 0; i < f->value_len; i++) {
		char c = http_field_value(h, f)[i];
		if (c < '0' || c > '9')
			return -1;
		v = v * 10 + (c - '0');
	}
	return v;
}

/* The response is complete: its trailers, and the exchange's end. */
static void stream_done(struct h2_upstream_stream *st)
{
	struct exchange *ex = st->ex;
	bool closes = ex->resp_body == BODY_EOF && !ex->side.head_fn;

	evtimer_del(st->timer);
	if (exchange_response_end(ex) < 0) {
		stream_fail(st, 502, ACCESS_TERM_INTERNAL, "could not pass the trailers on");
		return;
	}
	ex->side.ops->flush(ex);
	ex->side.ops->done(ex, true, closes || !ex->side.req->complete);
}

static void stream_head(struct h2_upstream_stream *st, bool whole)
{
	struct exchange *ex = st->ex;

	if (st->status >= 100 && st->status < 200) {
		http_head_reset(&ex->resp); /* interim: the final one follows */
		return;
	}
	if (st->status >= 200 && st->status <= 999 && exchange_retry_allowed(ex, st->status)) {
		stream_retry(st, true, RETRY_STATUS, st->status, NULL);
		return;
	}
	if (ex->upstream_us < 0)
		ex->upstream_us = (int64_t)(monotonic_us() - ex->upstream_start_us);
	st->head_done = true;
	/* The server took the request: no replay from here on. */
	evbuffer_drain(st->sent, evbuffer_get_length(st->sent));
	st->sent_overflow = true;
	if (st->status < 200 || st->status > 999 ||
	    exchange_response_head(ex, st->status, content_length(&ex->resp), whole) < 0) {
		stream_fail(st, 502, ACCESS_TERM_INVALID_RESPONSE, "sent an invalid response head");
		return;
	}
	ex->side.ops->flush(ex);
}

static int on_frame_recv(nghttp2_session *session, const nghttp2_frame *frame, void *arg)
{
	struct h2_up_conn *conn = arg;
	struct h2_upstream_stream *st;

	if (frame->hd.type == NGHTTP2_GOAWAY) {
		conn->goaway = true; /* the streams above its last id close */
		return 0;
	}
	st = stream_of(session, frame->hd.stream_id);
	if (!st)
		return 0;
	if (evtimer_pending(st->timer, NULL))
		stream_arm_timer(st);
	if (frame->hd.type == NGHTTP2_HEADERS && !st->head_done)
		stream_head(st, frame->hd.flags & NGHTTP2_FLAG_END_STREAM);
	if (!(st = stream_of(session, frame->hd.stream_id)) || !st->head_done)
		return 0;
	if ((frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
	    (frame->hd.flags & NGHTTP2_FLAG_END_STREAM))
		stream_done(st);
	return 0;
}

/* Give the server's window back for what the client side has taken. */
static void stream_consume(struct h2_upstream_stream *st)
{
	if (!st->unconsumed || evbuffer_get_length(st->ex->side.to_client) >= RELAY_HIGH_WATER)
		return;
	nghttp2_session_consume(st->conn->session, st->id, st->unconsumed);
	st->unconsumed = 0;
}

static int on_data_chunk(nghttp2_session *session, uint8_t flags, int32_t id, const uint8_t *data,
			 size_t len, void *arg)
{
	struct h2_upstream_stream *st = stream_of(session, id);

	(void)flags, (void)arg;
	if (!st || !st->head_done) {
		nghttp2_session_consume(session, id, len);
		return 0;
	}
	st->unconsumed += len;
	if (exchange_response_body(st->ex, data, len) < 0)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	stream_consume(st);
	st->ex->side.ops->flush(st->ex);
	return 0;
}

static int on_stream_close(nghttp2_session *session, int32_t id, uint32_t error_code, void *arg)
{
	struct h2_upstream_stream *st = stream_of(session, id);
	struct exchange *ex;
	char why[96];

	(void)arg;
	if (!st)
		return 0;
	ex = st->ex;
	/* Refused (or above the last id of a GOAWAY): the server did not
	 * process it (RFC 9113 §8.7), so it is sent again, on another
	 * connection, with the body that had left (while lbd still has it). */
	if (error_code == NGHTTP2_REFUSED_STREAM && !st->head_done && !st->sent_overflow) {
		stream_unlink(st, false);
		evtimer_del(st->timer);
		evbuffer_prepend_buffer(st->body, st->sent);
		st->deferred = false;
		peer_release(&ex->peer);
		ex->req_sent = false;
		peer_connect(&ex->peer);
		return 0;
	}
	snprintf(why, sizeof(why), "reset the stream (%s)", nghttp2_http2_strerror(error_code));
	if (!st->head_done && exchange_retry_allowed(ex, 502))
		stream_retry(st, false, RETRY_RESET, 502, why);
	else
		stream_fail(st, 502, ACCESS_TERM_SERVER_ABORTED, why);
	return 0;
}

static int session_new(struct h2_up_conn *conn)
{
	nghttp2_session_callbacks *cbs;
	nghttp2_option *opt;
	int rv;

	if (nghttp2_session_callbacks_new(&cbs) != 0)
		return -1;
	if (nghttp2_option_new(&opt) != 0) {
		nghttp2_session_callbacks_del(cbs);
		return -1;
	}
	nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, on_frame_recv);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_data_chunk);
	nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_stream_close);
	nghttp2_option_set_no_auto_window_update(opt, 1);
	rv = nghttp2_session_client_new2(&conn->session, cbs, conn, opt);
	nghttp2_option_del(opt);
	nghttp2_session_callbacks_del(cbs);
	if (rv != 0)
		return -1;
	const nghttp2_settings_entry settings[] = { { NGHTTP2_SETTINGS_ENABLE_PUSH, 0 } };
	if (nghttp2_submit_settings(conn->session, NGHTTP2_FLAG_NONE, settings, 1) != 0 ||
	    nghttp2_session_set_local_window_size(conn->session, NGHTTP2_FLAG_NONE, 0,
						  H2_UP_CONNECTION_WINDOW) != 0)
		return -1;
	return 0;
}

/* --- the socket ------------------------------------------------------------------- */

/* Fail every stream of a connection that broke. */
static void conn_broken(struct h2_up_conn *conn, const char *why)
{
	struct h2_upstream_stream *st;

	conn->goaway = true;
	while ((st = TAILQ_FIRST(&conn->streams)) != NULL) {
		stream_fail(st, 502, ACCESS_TERM_SERVER_ABORTED, why);
		if (TAILQ_FIRST(&conn->streams) == st)
			break; /* (the client side always ends it; never loop) */
	}
	conn_retire(conn);
}

static void conn_send(struct h2_up_conn *conn)
{
	struct evbuffer *out = bufferevent_get_output(conn->bev);

	if (conn->in_send || conn->in_recv) {
		conn->send_again = true;
		return;
	}
	conn->in_send = true;
	do {
		conn->send_again = false;
		while (evbuffer_get_length(out) < H2_UP_OUT_HIGH) {
			const uint8_t *data;
			ssize_t n = nghttp2_session_mem_send(conn->session, &data);
			if (n <= 0)
				break;
			evbuffer_add(out, data, (size_t)n);
		}
	} while (conn->send_again && evbuffer_get_length(out) < H2_UP_OUT_HIGH);
	conn->in_send = false;
	/* Request bodies that drained below their bound: the client sides
	 * may read on (which may queue more DATA). */
	struct h2_upstream_stream *st, *next;
	for (st = TAILQ_FIRST(&conn->streams); st; st = next) {
		next = TAILQ_NEXT(st, link);
		if (st->took_body && st->ex && evbuffer_get_length(st->body) < RELAY_LOW_WATER) {
			st->took_body = false;
			st->ex->side.ops->drained(st->ex);
		}
	}
}

static void conn_on_read(struct bufferevent *bev, void *arg)
{
	struct h2_up_conn *conn = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	ssize_t n = 0;

	conn->in_recv = true;
	while (evbuffer_get_length(in) && !conn->dead) {
		struct evbuffer_iovec v;
		evbuffer_peek(in, -1, NULL, &v, 1);
		n = nghttp2_session_mem_recv(conn->session, v.iov_base, v.iov_len);
		if (n < 0)
			break;
		evbuffer_drain(in, (size_t)n);
	}
	conn->in_recv = false;
	if (n < 0) {
		char why[96];
		snprintf(why, sizeof(why), "broke HTTP/2 (%s)", nghttp2_strerror((int)n));
		conn_broken(conn, why);
		return;
	}
	conn_send(conn);
	if (!nghttp2_session_want_read(conn->session) && !nghttp2_session_want_write(conn->session))
		conn_broken(conn, "ended the connection");
}

static void conn_on_write(struct bufferevent *bev, void *arg)
{
	(void)bev;
	conn_send(arg);
}

static void conn_on_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	conn_broken(arg, (what & BEV_EVENT_EOF) ? "closed the connection" : "connection failed");
}

static struct h2_up_conn *conn_new(struct h2_upstream_pool *up, struct exchange *ex,
				   struct bufferevent *bev)
{
	struct h2_up_conn *conn = calloc(1, sizeof(*conn));
	struct event_base *base = up->hw->w->base;

	if (!conn)
		return NULL;
	conn->pool = up;
	TAILQ_INIT(&conn->streams);
	conn->bev = bev;
	conn->rt = ex->peer.server->rt;
	conn->addr = ex->peer.server->addr;
	conn->tls_id = tls_upstream_pool_identity(&ex->pool->tls);
	conn->idle = evtimer_new(base, on_idle, conn);
	conn->defer = event_new(base, -1, 0, on_defer, conn);
	if (!conn->idle || !conn->defer || session_new(conn) < 0) {
		if (conn->session)
			nghttp2_session_del(conn->session);
		if (conn->idle)
			event_free(conn->idle);
		if (conn->defer)
			event_free(conn->defer);
		free(conn);
		return NULL;
	}
	TAILQ_INSERT_TAIL(&up->conns, conn, link);
	bufferevent_setcb(bev, conn_on_read, conn_on_write, conn_on_event, conn);
	bufferevent_setwatermark(bev, EV_WRITE, H2_UP_OUT_HIGH / 2, 0);
	bufferevent_set_timeouts(bev, NULL, NULL);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
	return conn;
}

/* --- connections being made ------------------------------------------------------- */

static bool same_server(const struct server_rt *rt, const struct lbd_addr *addr, const void *tls_id,
			const struct pool_conf *pool, const struct server_conf *srv)
{
	return rt == srv->rt && addr_equal(addr, &srv->addr) &&
	       tls_id == tls_upstream_pool_identity(&pool->tls);
}

/* The connection EX's peer is making, or NULL. */
static struct h2_up_connecting *connecting_of(struct h2_upstream_pool *up,
					      const struct exchange *ex)
{
	struct h2_up_connecting *cg;

	TAILQ_FOREACH (cg, &up->connecting, link)
		if (cg->owner == ex)
			return cg;
	return NULL;
}

/* A connection being made to SRV of POOL that can still take a stream. */
static struct h2_up_connecting *connecting_find(struct h2_upstream_pool *up,
						const struct pool_conf *pool,
						const struct server_conf *srv)
{
	struct h2_up_connecting *cg;

	TAILQ_FOREACH (cg, &up->connecting, link)
		if (same_server(cg->rt, &cg->addr, cg->tls_id, pool, srv) &&
		    cg->nwaiting + 1 < H2_UP_STREAMS_MAX)
			return cg;
	return NULL;
}

/* EX's peer is about to connect to SRV: later exchanges may wait for it
 * (without memory they simply open connections of their own). */
static void connecting_new(struct h2_upstream_pool *up, struct exchange *ex,
			   const struct server_conf *srv)
{
	struct h2_up_connecting *cg = calloc(1, sizeof(*cg));

	if (!cg)
		return;
	cg->owner = ex;
	cg->rt = srv->rt;
	cg->addr = srv->addr;
	cg->tls_id = tls_upstream_pool_identity(&ex->pool->tls);
	TAILQ_INIT(&cg->waiting);
	TAILQ_INSERT_TAIL(&up->connecting, cg, link);
}

/* Reach a server for EX again, from the start. */
static void redispatch(struct exchange *ex)
{
	peer_release(&ex->peer);
	peer_connect(&ex->peer);
}

/* The connection CG stood for is up (CONN), or will not come (NULL): the
 * exchanges that waited start on it while it has room, or go through the
 * peer again. */
static void connecting_end(struct h2_upstream_pool *up, struct h2_up_connecting *cg,
			   struct h2_up_conn *conn)
{
	struct h2_upstream_stream *st;

	TAILQ_REMOVE(&up->connecting, cg, link);
	while ((st = TAILQ_FIRST(&cg->waiting)) != NULL) {
		TAILQ_REMOVE(&cg->waiting, st, link);
		st->waiting_on = NULL;
		if (conn && conn_has_room(conn))
			stream_start(conn, st->ex);
		else
			redispatch(st->ex);
	}
	free(cg);
}

/* EX waits for the connection CG is making. Returns false without memory. */
static bool stream_wait(struct h2_upstream_pool *up, struct h2_up_connecting *cg,
			struct exchange *ex)
{
	struct h2_upstream_stream *st = stream_state(up, ex);

	if (!st)
		return false;
	ex->up2 = st;
	st->waiting_on = cg;
	TAILQ_INSERT_TAIL(&cg->waiting, st, link);
	cg->nwaiting++;
	return true;
}

/* --- the peer's calls ------------------------------------------------------------ */

static bool peer_reuse(struct peer *p)
{
	struct exchange *ex = exchange_of_peer(p);
	struct h2_upstream_pool *up = ex->side.hw->h2_pool;
	struct h2_up_connecting *cg = connecting_of(up, ex);
	struct h2_up_conn *conn;

	/* A retry: the server EX was connecting to failed, and those that
	 * waited for it go through the peer again. */
	if (cg)
		connecting_end(up, cg, NULL);
	conn = conn_find(up, ex->pool, p->server);
	if (conn) {
		stream_start(conn, ex);
		return true;
	}
	cg = connecting_find(up, ex->pool, p->server);
	if (cg && stream_wait(up, cg, ex))
		return true;
	connecting_new(up, ex, p->server);
	return false;
}

static void peer_connected(struct peer *p, struct bufferevent *bev)
{
	struct exchange *ex = exchange_of_peer(p);
	struct h2_upstream_pool *up = ex->side.hw->h2_pool;
	struct h2_up_connecting *cg = connecting_of(up, ex);
	struct h2_up_conn *conn;

	if (ex->pool->tls.enabled && !tls_selected_h2(bev)) {
		if (cg)
			connecting_end(up, cg, NULL);
		bufferevent_free(bev);
		peer_server_failed(p, "did not agree to h2 by ALPN");
		log_warn("pool %s: server %s (%s): did not agree to h2 by ALPN (protocol: h2)",
			 ex->pool->name, p->server->name, p->server->addr.text);
		ex->side.ops->failed(ex, 502, ACCESS_TERM_CONNECT_FAILED);
		return;
	}
	conn = conn_new(up, ex, bev);
	if (!conn) {
		if (cg)
			connecting_end(up, cg, NULL);
		bufferevent_free(bev);
		log_error("pool %s: server %s: out of memory", ex->pool->name, p->server->name);
		ex->side.ops->failed(ex, 502, ACCESS_TERM_INTERNAL);
		return;
	}
	stream_start(conn, ex);
	if (cg)
		connecting_end(up, cg, conn);
}

static void peer_failed(struct peer *p, int status)
{
	struct exchange *ex = exchange_of_peer(p);
	struct h2_upstream_pool *up = ex->side.hw->h2_pool;
	struct h2_up_connecting *cg = connecting_of(up, ex);

	if (cg)
		connecting_end(up, cg, NULL);
	ex->side.ops->failed(ex, status, exchange_peer_failure(ex, status));
}

static const struct peer_ops h2_peer_ops = {
	.reuse = peer_reuse,
	.connected = peer_connected,
	.failed = peer_failed,
};

/* --- the exchange's calls --------------------------------------------------------- */

static void h2u_dispatch(struct exchange *ex)
{
	ex->peer.base = ex->side.hw->w->base;
	ex->peer.worker = ex->side.hw->w;
	ex->peer.pool = ex->pool;
	ex->peer.ops = &h2_peer_ops;
	peer_connect(&ex->peer);
}

static void h2u_detach(struct exchange *ex, bool reusable)
{
	struct h2_upstream_stream *st = ex->up2;

	struct h2_up_connecting *cg = connecting_of(ex->side.hw->h2_pool, ex);

	(void)reusable; /* the connection stays for other streams */
	if (cg)
		connecting_end(ex->side.hw->h2_pool, cg, NULL);
	peer_release(&ex->peer);
	if (!st)
		return;
	st->ex = NULL;
	ex->up2 = NULL;
	stream_free(st, true);
}

static void h2u_client_drained(struct exchange *ex)
{
	struct h2_upstream_stream *st = ex->up2;

	if (!st || !st->conn)
		return; /* (being sent again: no connection yet) */
	stream_consume(st);
	conn_send(st->conn);
}

static void h2u_flush(struct exchange *ex)
{
	struct h2_upstream_stream *st = ex->up2;

	if (!st || !st->conn)
		return;
	if (st->deferred) {
		st->deferred = false;
		nghttp2_session_resume_data(st->conn->session, st->id);
	}
	conn_send(st->conn);
}

static void h2u_request_sent(struct exchange *ex)
{
	struct h2_upstream_stream *st = ex->up2;

	if (!st)
		return;
	st->body_end = true;
	if (st->conn)
		stream_arm_timer(st);
	h2u_flush(ex);
}

static struct evbuffer *h2u_output(struct exchange *ex)
{
	return ex->up2->body;
}

const struct upstream_ops h2_upstream_ops = {
	.dispatch = h2u_dispatch,
	.detach = h2u_detach,
	.client_drained = h2u_client_drained,
	.flush = h2u_flush,
	.request_sent = h2u_request_sent,
	.output = h2u_output,
};

/* --- the worker's pool ----------------------------------------------------------- */

struct h2_upstream_pool *h2_upstream_pool_new(struct http_worker *hw)
{
	struct h2_upstream_pool *up = calloc(1, sizeof(*up));

	if (!up)
		return NULL;
	up->hw = hw;
	TAILQ_INIT(&up->conns);
	TAILQ_INIT(&up->connecting);
	return up;
}

void h2_upstream_pool_close_idle(struct h2_upstream_pool *up)
{
	struct h2_up_conn *conn, *next;

	for (conn = TAILQ_FIRST(&up->conns); conn; conn = next) {
		next = TAILQ_NEXT(conn, link);
		if (!conn->nstreams && !conn->dead)
			conn_free(conn);
		else
			conn->goaway = true;
	}
}

void h2_upstream_pool_free(struct h2_upstream_pool *up)
{
	struct h2_up_conn *conn;

	if (!up)
		return;
	struct h2_up_connecting *cg;

	while ((conn = TAILQ_FIRST(&up->conns)) != NULL)
		conn_free(conn);
	while ((cg = TAILQ_FIRST(&up->connecting)) != NULL) {
		TAILQ_REMOVE(&up->connecting, cg, link);
		free(cg); /* (no exchange is left to wait) */
	}
	free(up);
}
