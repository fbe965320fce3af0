/* h2_conn.c — an HTTP/2 client connection (h2_conn.h): the nghttp2 server
 * session over the connection's bufferevent, the frames in and out, and
 * what keeps one client from costing more than its share.
 *
 * Bytes are fed to nghttp2_session_mem_recv() as they are read, and what
 * the session has to send is taken from nghttp2_session_mem_send() while
 * the socket's output stays under H2_OUT_HIGH: a client that does not
 * read stops lbd from producing frames for it.
 *
 * Against abuse (SPEC §9): streams in flight are capped (h2_max_streams,
 * advertised as SETTINGS_MAX_CONCURRENT_STREAMS and counted until the
 * server side of each stream is done, so resetting streams cannot pile up
 * work behind lbd); a read pass opens at most H2_NEW_STREAMS_PER_PASS
 * streams; a connection serves h2_max_requests streams and then says
 * GOAWAY; refused, reset and malformed streams count as glitches, and
 * H2_GLITCHES_MAX of them within 10 s end the connection with ENHANCE_YOUR_CALM, as do
 * nghttp2's own limits (reset rate, CONTINUATION frames per header block,
 * unanswered SETTINGS and PING); a response stalled on a closed window for
 * timeouts.client_idle ends it too. Each is counted in /metrics and logged
 * once per connection.
 */
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "http2/h2_conn.h"
#include "http2/http2.h"
#include "util/clock.h"

/* The socket's output is filled up to this before the session waits. */
#define H2_OUT_HIGH (64 * 1024)
/* Request bodies all streams of a connection may have in lbd's hands. */
#define H2_CONNECTION_WINDOW (1024 * 1024)
#define H2_NEW_STREAMS_PER_PASS 32
#define H2_GLITCHES_MAX 100
#define H2_GLITCH_WINDOW_MS 10000
/* How often a connection with streams looks for a stalled window. */
#define H2_STALL_CHECK_MS 1000

static void conn_free(struct h2_conn *c);

const struct config *h2_conn_config(const struct h2_conn *c)
{
	return c->w->cfg;
}

/* --- the end --------------------------------------------------------------- */

static void conn_abort_streams(struct h2_conn *c, enum access_termination term)
{
	struct h2_stream *s;

	while ((s = TAILQ_FIRST(&c->streams)) != NULL)
		h2_stream_abort(s, term);
}

static void conn_free(struct h2_conn *c)
{
	if (c->in_process) {
		c->free_pending = true;
		return;
	}
	conn_abort_streams(c, ACCESS_TERM_CLIENT_CLOSED);
	nghttp2_session_del(c->session);
	if (c->timer)
		event_free(c->timer);
	if (c->resume)
		event_free(c->resume);
	if (c->write)
		event_free(c->write);
	io_reader_free(&c->rd);
	bufferevent_free(c->bev);
	inbound_free(&c->in);
	atomic_fetch_sub_explicit(&c->lrt->connections, 1, memory_order_relaxed);
	worker_conn_remove(c->w, &c->link);
	free(c);
}

void h2_conn_abuse(struct h2_conn *c, enum h2_abuse abuse, const char *why)
{
	if (c->abused)
		return;
	c->abused = true;
	atomic_fetch_add_explicit(&c->lrt->h2_abuse[abuse], 1, memory_order_relaxed);
	log_info("listener %s: client %s: HTTP/2 %s: %s; the connection ends with GOAWAY",
		 c->lrt->name, c->in.peer_ip, h2_abuse_names[abuse], why);
	nghttp2_session_terminate_session(c->session, NGHTTP2_ENHANCE_YOUR_CALM);
	c->closing = true;
	h2_conn_flush(c);
}

void h2_conn_glitch(struct h2_conn *c, enum h2_abuse kind, const char *why)
{
	uint64_t now = monotonic_us();

	/* Counted per window: a long-lived connection (a gRPC channel whose
	 * calls are cancelled now and then) never adds up to an abuse, an
	 * attack (thousands a second) does at once. */
	if (now - c->glitch_window_us > H2_GLITCH_WINDOW_MS * 1000) {
		c->glitch_window_us = now;
		c->glitches = 0;
	}
	if (++c->glitches > H2_GLITCHES_MAX)
		h2_conn_abuse(c, kind, why);
}

/* Graceful: no stream after the last one lbd took; those run to their
 * end. */
static void conn_goaway(struct h2_conn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	nghttp2_submit_goaway(c->session, NGHTTP2_FLAG_NONE,
			      nghttp2_session_get_last_proc_stream_id(c->session), NGHTTP2_NO_ERROR,
			      NULL, 0);
}

/* --- timers ------------------------------------------------------------------ */

/* Idle without streams: client_idle from the moment the last stream
 * ended; with streams, a look at stalled windows every H2_STALL_CHECK_MS.
 * Armed only when the mode changes or the timer has fired: frames coming
 * and going (PING included) neither postpone the idle end nor the look. */
static void conn_arm_timer(struct h2_conn *c)
{
	bool busy = c->in_flight || !TAILQ_EMPTY(&c->streams);
	struct timeval tv;

	if (busy == c->timer_busy && evtimer_pending(c->timer, NULL))
		return;
	c->timer_busy = busy;
	ms_to_timeval(busy ? H2_STALL_CHECK_MS : c->w->cfg->timeouts.client_idle_ms, &tv);
	evtimer_add(c->timer, &tv);
}

/* Whether a response waits on the client's window (its data is queued in
 * lbd, the window is closed). */
static bool conn_stalled(struct h2_conn *c)
{
	struct h2_stream *s;

	if (nghttp2_session_get_remote_window_size(c->session) > 0) {
		TAILQ_FOREACH (s, &c->streams, link)
			if (evbuffer_get_length(s->out) && !s->deferred &&
			    nghttp2_session_get_stream_remote_window_size(c->session, s->id) <= 0)
				return true;
		return false;
	}
	TAILQ_FOREACH (s, &c->streams, link)
		if (evbuffer_get_length(s->out))
			return true;
	return false;
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct h2_conn *c = arg;

	(void)fd, (void)what;
	if (TAILQ_EMPTY(&c->streams)) {
		/* Idle: say so and close once GOAWAY is out. */
		conn_goaway(c);
		c->idle_closed = true;
		h2_conn_flush(c);
		return;
	}
	if (!conn_stalled(c)) {
		c->stalled_since_us = 0;
	} else if (!c->stalled_since_us) {
		c->stalled_since_us = monotonic_us();
	} else if (monotonic_us() - c->stalled_since_us >=
		   c->w->cfg->timeouts.client_idle_ms * 1000) {
		h2_conn_abuse(c, H2_ABUSE_ZERO_WINDOW,
			      "a response waited on a closed window for timeouts.client_idle");
		return;
	}
	conn_arm_timer(c);
}

/* --- sending ------------------------------------------------------------------ */

/* Whether the connection is over: the session wants nothing more and
 * everything is out. */
static bool conn_over(struct h2_conn *c)
{
	if (nghttp2_session_want_read(c->session) && !c->idle_closed)
		return false;
	if (nghttp2_session_want_write(c->session))
		return false;
	return evbuffer_get_length(bufferevent_get_output(c->bev)) == 0;
}

/* When the connection is over (or must end), it is freed from the loop,
 * never under a caller that may still hold one of its streams. */
static bool conn_check_over(struct h2_conn *c)
{
	if (!c->free_pending && !conn_over(c))
		return false;
	if (!c->over) {
		c->over = true;
		event_active(c->resume, EV_TIMEOUT, 0);
	}
	return true;
}

void h2_conn_flush(struct h2_conn *c)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	struct h2_stream *s, *next;

	if (c->in_process) {
		c->send_pending = true;
		return;
	}
	c->in_process = true;
	do {
		c->send_pending = false;
		while (evbuffer_get_length(out) < H2_OUT_HIGH) {
			const uint8_t *data;
			ssize_t n = nghttp2_session_mem_send(c->session, &data);
			if (n <= 0) {
				if (n < 0)
					c->free_pending = true;
				break;
			}
			evbuffer_add(out, data, (size_t)n);
		}
		/* Responses drained below their bound: the servers may send
		 * more (which may queue more frames). */
		for (s = TAILQ_FIRST(&c->streams); s; s = next) {
			next = TAILQ_NEXT(s, link);
			h2_stream_after_send(s);
		}
	} while (c->send_pending && !c->free_pending && evbuffer_get_length(out) < H2_OUT_HIGH);
	c->in_process = false;
	/* One write for every frame of this pass of the loop: the responses
	 * of many streams arrive in one batch of events and leave together
	 * (HAProxy does the same), instead of a write(2) each. */
	if (!c->write_queued && evbuffer_get_length(out)) {
		c->write_queued = true;
		event_active(c->write, EV_WRITE, 0);
	}
	if (conn_check_over(c))
		return;
	conn_arm_timer(c);
}

static void on_write_pass(evutil_socket_t fd, short what, void *arg)
{
	struct h2_conn *c = arg;

	(void)fd, (void)what;
	c->write_queued = false;
	io_flush(c->bev);
	conn_check_over(c);
}

static void on_write(struct bufferevent *bev, void *arg)
{
	struct h2_conn *c = arg;

	io_written(bev);
	h2_conn_flush(c);
}

/* --- receiving ---------------------------------------------------------------- */

/* What a failed nghttp2_session_mem_recv() says of the client. */
static void recv_failed(struct h2_conn *c, ssize_t err)
{
	switch (err) {
	case NGHTTP2_ERR_FLOODED:
		h2_conn_abuse(c, H2_ABUSE_FLOOD,
			      "frames that must be answered (SETTINGS, PING, RST_STREAM) "
			      "came faster than it read the answers");
		break;
	case NGHTTP2_ERR_TOO_MANY_CONTINUATIONS:
		h2_conn_abuse(c, H2_ABUSE_CONTINUATION,
			      "a header block came in too many CONTINUATION frames");
		break;
	case NGHTTP2_ERR_BAD_CLIENT_MAGIC:
		/* Not HTTP/2 after all (a TLS client that chose h2 and then
		 * sent something else): nothing to answer. */
		h2_conn_abuse(c, H2_ABUSE_PROTOCOL, "no HTTP/2 connection preface");
		c->free_pending = true;
		break;
	default:
		/* nghttp2 queued a GOAWAY with the error when it could. */
		if (!c->abused) {
			char why[96];
			snprintf(why, sizeof(why), "%s", nghttp2_strerror((int)err));
			h2_conn_abuse(c, H2_ABUSE_PROTOCOL, why);
		}
		break;
	}
	c->closing = true;
}

static void conn_process(struct h2_conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);

	c->in_process = true;
	c->pass_new = 0;
	while (!c->free_pending && !c->paused && !c->abused) {
		struct evbuffer_iovec v;
		if (evbuffer_peek(in, -1, NULL, &v, 1) < 1 || v.iov_len == 0)
			break;
		ssize_t n = nghttp2_session_mem_recv(c->session, v.iov_base, v.iov_len);
		if (n < 0) {
			recv_failed(c, n);
			evbuffer_drain(in, evbuffer_get_length(in));
			break;
		}
		evbuffer_drain(in, (size_t)n);
	}
	if (c->abused)
		evbuffer_drain(in, evbuffer_get_length(in));
	c->in_process = false;
	if (c->paused && !c->over) {
		/* Other connections go first; this one resumes on the next
		 * turn of the loop. */
		io_reader_set(&c->rd, false);
		event_active(c->resume, EV_TIMEOUT, 0);
	}
	h2_conn_flush(c);
}

static void on_readable(void *arg)
{
	struct h2_conn *c = arg;

	conn_process(c);
	if (!c->free_pending)
		io_reader_drained(&c->rd);
}

static void on_resume(evutil_socket_t fd, short what, void *arg)
{
	struct h2_conn *c = arg;

	(void)fd, (void)what;
	if (c->over) {
		conn_free(c);
		return;
	}
	c->paused = false;
	if (!c->abused)
		io_reader_set(&c->rd, true);
	on_readable(c);
}

static void on_tls_read(struct bufferevent *bev, void *arg)
{
	struct h2_conn *c = arg;

	(void)bev;
	io_reader_tls_readable(&c->rd);
}

/* The client closed, failed or timed out: every stream ends with it. */
static void on_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev, (void)what;
	conn_free(arg);
}

static void on_read_event(short what, void *arg)
{
	struct h2_conn *c = arg;

	on_event(c->bev, what, c);
}

/* --- nghttp2's callbacks ------------------------------------------------------ */

static struct h2_stream *stream_data(nghttp2_session *session, int32_t id)
{
	return nghttp2_session_get_stream_user_data(session, id);
}

static int on_begin_headers(nghttp2_session *session, const nghttp2_frame *frame, void *arg)
{
	struct h2_conn *c = arg;
	const struct limits_conf *limits = &c->w->cfg->limits;
	int32_t id = frame->hd.stream_id;

	if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0;
	if (c->closing)
		return 0; /* nghttp2 drops streams after GOAWAY's last id */
	if (c->goaway_pending) {
		/* Its GOAWAY waits for the last stream's answer: later ones
		 * were not processed, and the client sends them again. */
		nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, id, NGHTTP2_REFUSED_STREAM);
		return 0;
	}
	if (c->in_flight >= limits->h2_max_streams) {
		/* The client's streams are closed but their servers are
		 * still busy (a reset does not stop a server): no more. */
		nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, id, NGHTTP2_REFUSED_STREAM);
		h2_conn_glitch(c, H2_ABUSE_STREAMS, "streams over limits.h2_max_streams");
		return 0;
	}
	struct h2_stream *s = h2_stream_new(c, id);
	if (!s) {
		nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, id, NGHTTP2_INTERNAL_ERROR);
		return 0;
	}
	nghttp2_session_set_stream_user_data(session, id, s);
	/* This one is served (a 503 when a reload removed the listener: no
	 * route is left for it); the client opens a new connection for the
	 * next ones. */
	if (++c->requests >= limits->h2_max_requests || !s->ex.listener) {
		c->goaway_pending = true;
		c->goaway_last = id;
	}
	c->pass_new++;
	return 0;
}

static int on_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name,
		     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
		     void *arg)
{
	struct h2_conn *c = arg;
	struct h2_stream *s = stream_data(session, frame->hd.stream_id);

	(void)flags;
	if (s)
		h2_stream_field(s, name, namelen, value, valuelen);
	if (c->pass_new >= H2_NEW_STREAMS_PER_PASS && !c->paused) {
		c->paused = true;
		return NGHTTP2_ERR_PAUSE;
	}
	return 0;
}

static int on_frame_recv(nghttp2_session *session, const nghttp2_frame *frame, void *arg)
{
	struct h2_stream *s = stream_data(session, frame->hd.stream_id);
	bool end = frame->hd.flags & NGHTTP2_FLAG_END_STREAM;

	(void)arg;
	if (!s)
		return 0;
	if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST)
		h2_stream_head_done(s, end);
	else if ((frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) && end)
		h2_stream_end(s);
	return 0;
}

static int on_data_chunk(nghttp2_session *session, uint8_t flags, int32_t id, const uint8_t *data,
			 size_t len, void *arg)
{
	struct h2_stream *s = stream_data(session, id);

	(void)flags, (void)arg;
	if (!s) {
		nghttp2_session_consume(session, id, len);
		return 0;
	}
	h2_stream_data(s, data, len);
	return 0;
}

static int on_stream_close(nghttp2_session *session, int32_t id, uint32_t error_code, void *arg)
{
	struct h2_conn *c = arg;
	struct h2_stream *s = stream_data(session, id);

	if (s)
		h2_stream_closed(s, error_code);
	/* The last stream ended without its answer (a reset): GOAWAY now. */
	if (c->goaway_pending && id == c->goaway_last) {
		c->goaway_pending = false;
		conn_goaway(c);
	}
	return 0;
}

static int on_invalid_frame(nghttp2_session *session, const nghttp2_frame *frame, int error,
			    void *arg)
{
	(void)session, (void)frame;
	/* nghttp2 refuses the streams over SETTINGS_MAX_CONCURRENT_STREAMS
	 * itself, before on_begin_headers() sees them. */
	h2_conn_glitch(arg,
		       error == NGHTTP2_ERR_REFUSED_STREAM ? H2_ABUSE_STREAMS : H2_ABUSE_GLITCHES,
		       nghttp2_strerror(error));
	return 0;
}

static int on_frame_send(nghttp2_session *session, const nghttp2_frame *frame, void *arg)
{
	struct h2_conn *c = arg;

	(void)session;
	/* The GOAWAY that follows the answer to the last stream (some clients
	 * take nothing after a GOAWAY, whatever its last stream id). */
	if (c->goaway_pending && frame->hd.stream_id == c->goaway_last &&
	    (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
		c->goaway_pending = false;
		conn_goaway(c);
	}
	/* nghttp2's own limit on the rate of RST_STREAM (rapid reset,
	 * CVE-2023-44487) says GOAWAY with INTERNAL_ERROR and leaves the
	 * session open; lbd never sends that code itself (its own GOAWAYs say
	 * NO_ERROR, or ENHANCE_YOUR_CALM once abused is set). */
	if (frame->hd.type == NGHTTP2_GOAWAY &&
	    frame->goaway.error_code == NGHTTP2_INTERNAL_ERROR && !c->abused)
		h2_conn_abuse(c, H2_ABUSE_RAPID_RESET, "streams were reset faster than allowed");
	return 0;
}

/* --- the start ----------------------------------------------------------------- */

/* The session, its options against abuse, and lbd's SETTINGS. */
static int session_new(struct h2_conn *c)
{
	const struct limits_conf *limits = &c->w->cfg->limits;
	nghttp2_session_callbacks *cbs;
	nghttp2_option *opt;
	int rv;

	if (nghttp2_session_callbacks_new(&cbs) != 0)
		return -1;
	if (nghttp2_option_new(&opt) != 0) {
		nghttp2_session_callbacks_del(cbs);
		return -1;
	}
	nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, on_begin_headers);
	nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, on_frame_recv);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_data_chunk);
	nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_stream_close);
	nghttp2_session_callbacks_set_on_invalid_frame_recv_callback(cbs, on_invalid_frame);
	nghttp2_session_callbacks_set_on_frame_send_callback(cbs, on_frame_send);
	/* Windows open as the bytes leave lbd (h2_stream.c), not as they
	 * arrive. */
	nghttp2_option_set_no_auto_window_update(opt, 1);
	/* The header list is bounded as it arrives (h2_request.c); nghttp2
	 * bounds each field's HPACK decoding the same way. */
	nghttp2_option_set_max_send_header_block_length(opt, 64 * 1024);
	rv = nghttp2_session_server_new2(&c->session, cbs, c, opt);
	nghttp2_option_del(opt);
	nghttp2_session_callbacks_del(cbs);
	if (rv != 0)
		return -1;
	const nghttp2_settings_entry settings[] = {
		{ NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, limits->h2_max_streams },
		{ NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE,
		  (uint32_t)(limits->header_size > UINT32_MAX ? UINT32_MAX : limits->header_size) },
	};
	if (nghttp2_submit_settings(c->session, NGHTTP2_FLAG_NONE, settings,
				    sizeof(settings) / sizeof(settings[0])) != 0 ||
	    nghttp2_session_set_local_window_size(c->session, NGHTTP2_FLAG_NONE, 0,
						  H2_CONNECTION_WINDOW) != 0)
		return -1;
	return 0;
}

static void conn_stop(struct conn_link *link)
{
	struct h2_conn *c = (struct h2_conn *)link;

	conn_goaway(c);
	h2_conn_flush(c);
}

static void conn_destroy(struct conn_link *link)
{
	struct h2_conn *c = (struct h2_conn *)link;

	conn_abort_streams(c, ACCESS_TERM_SHUTDOWN);
	conn_free(c);
}

int h2_conn_start(const struct client_handover *ho)
{
	struct h2_conn *c = calloc(1, sizeof(*c));
	struct worker *w = ho->hw->w;

	if (!c)
		return -1;
	c->w = w;
	c->hw = ho->hw;
	c->lrt = ho->lrt;
	c->in = ho->in;
	TAILQ_INIT(&c->streams);
	c->timer = evtimer_new(w->base, on_timer, c);
	c->resume = event_new(w->base, -1, 0, on_resume, c);
	c->write = event_new(w->base, -1, 0, on_write_pass, c);
	if (!c->timer || !c->resume || !c->write || session_new(c) < 0 ||
	    io_reader_init(&c->rd, w->base, ho->bev, IO_READ_SIZE, on_readable, on_read_event, c) <
		    0) {
		if (c->session)
			nghttp2_session_del(c->session);
		if (c->timer)
			event_free(c->timer);
		if (c->resume)
			event_free(c->resume);
		if (c->write)
			event_free(c->write);
		io_reader_free(&c->rd);
		free(c->in.cert_subject); /* handed over with the rest */
		free(c);
		return -1;
	}
	c->bev = ho->bev;
	bufferevent_setcb(c->bev, c->in.tls ? on_tls_read : NULL, on_write, on_event, c);
	bufferevent_setwatermark(c->bev, EV_WRITE, H2_OUT_HIGH / 2, 0);
	bufferevent_disable(c->bev, EV_WRITE); /* see io.h */
	bufferevent_set_timeouts(c->bev, NULL, NULL);
	c->link.stop = conn_stop;
	c->link.destroy = conn_destroy;
	worker_conn_replace(w, ho->link, &c->link);
	atomic_fetch_add_explicit(&c->lrt->h2_connections, 1, memory_order_relaxed);
	if (w->stopping)
		conn_goaway(c);
	io_reader_set(&c->rd, true);
	conn_process(c); /* the preface, and what came with it */
	return 0;
}
