/* http_client_conn.c — a client connection's socket from accept to close:
 * its start (PROXY header, TLS handshake: stream/inbound.h; a plain HTTP
 * request on a TLS port is answered 400), the events of the socket and of
 * the connection's timer, the worker's stop, the lingering close and
 * freeing. What arrives is handed to http_client.c, which owns the
 * requests (http_client.h).
 */
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "core/log.h"
#include "core/runtime.h"
#include "event/io.h"
#include "http/http_client.h"
#include "http/http_error.h"
#include "stream/inbound.h"
#include "tls/tls_listener.h"

/* After lbd's last answer, how long it keeps reading (and discarding) what
 * the client still sends, so that closing does not reset the connection
 * before the client has read the answer (nginx's lingering close). */
#define LINGER_MS 2000

/* --- the end of a connection ------------------------------------------- */

void client_free(struct client_conn *c)
{
	if (c->in_process) {
		c->free_pending = true;
		return;
	}
	client_exchange_end(c, false);
	if (c->timer)
		event_free(c->timer);
	inbound_free(&c->in);
	io_reader_free(&c->rd);
	if (c->bev)
		bufferevent_free(c->bev);
	request_parser_free(&c->req);
	http_head_free(&c->ex.resp);
	http_head_free(&c->ex.trailers);
	if (!c->handed_over) {
		atomic_fetch_sub_explicit(&c->lrt->connections, 1, memory_order_relaxed);
		worker_conn_remove(c->w, &c->link);
	}
	free(c);
}

static void linger_on_read(struct bufferevent *bev, void *arg)
{
	struct evbuffer *in = bufferevent_get_input(bev);

	evbuffer_drain(in, evbuffer_get_length(in));
}

static void linger_on_event(struct bufferevent *bev, short what, void *arg)
{
	client_free(arg);
}

/* Stop writing, discard input for a moment, close. */
void client_start_linger(struct client_conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);

	if (c->in.tls)
		tls_close_notify(c->bev);
	shutdown(bufferevent_getfd(c->bev), SHUT_WR);
	io_reader_set(&c->rd, false); /* the bufferevent reads from now on */
	evbuffer_drain(in, evbuffer_get_length(in));
	bufferevent_setcb(c->bev, linger_on_read, NULL, linger_on_event, c);
	bufferevent_set_timeouts(c->bev, NULL, NULL);
	bufferevent_setwatermark(c->bev, EV_READ, 0, 0);
	bufferevent_enable(c->bev, EV_READ);
	client_arm_timer(c, LINGER_MS);
}

/* --- connection events ----------------------------------------------------- */

static void on_readable(void *arg)
{
	client_process(arg);
}

static void on_write(struct bufferevent *bev, void *arg)
{
	struct client_conn *c = arg;
	bool empty = io_written(bev);

	if (c->state == CLIENT_CLOSING) {
		if (empty)
			client_start_linger(c);
		return;
	}
	if (exchange_attached(&c->ex))
		upstream_client_drained(&c->ex);
}

/* A plain HTTP request on a TLS port (OpenSSL recognises one by its first
 * bytes and writes nothing): answer 400 in the clear, as nginx does, so the
 * client learns why instead of seeing the connection drop (one access-log
 * line, as for every answer of lbd's own). What the client
 * sent is read first so that closing does not reset the answer away; the
 * answer is small enough for an empty socket buffer. */
static void answer_plain_http(struct client_conn *c)
{
	int fd = inbound_fd(&c->in);
	struct evbuffer *out = evbuffer_new();
	char discard[4096];

	for (int i = 0; i < 16 && recv(fd, discard, sizeof(discard), MSG_DONTWAIT) > 0; i++)
		;
	if (!out)
		return;
	log_info("listener %s: client %s: 400: plain HTTP on a TLS port", c->lrt->name,
		 c->in.peer_ip);
	c->ex.start_us = monotonic_us();
	clock_gettime(CLOCK_REALTIME, &c->ex.start_real);
	c->ex.status = 400;
	c->ex.termination = ACCESS_TERM_REFUSED;
	c->ex.bytes_out = http_error_write(out, 400, true, 0, NULL, NULL);
	evbuffer_write(out, fd);
	evbuffer_free(out);
	shutdown(fd, SHUT_WR);
	client_log_exchange(c);
}

static void on_tls_read(struct bufferevent *bev, void *arg)
{
	struct client_conn *c = arg;

	io_reader_tls_readable(&c->rd);
}

/* The client's end of the socket closed, failed or timed out. */
static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct client_conn *c = arg;

	if ((what & BEV_EVENT_EOF) && c->state == CLIENT_FORWARD && c->req.complete &&
	    c->ex.resp_started) {
		/* The end of the client's sending while the response streams:
		 * perhaps a half-close, perhaps gone; writing tells which. */
		c->keep_alive = false;
		return;
	}
	if ((what & BEV_EVENT_TIMEOUT) && (what & BEV_EVENT_READING) &&
	    c->state == CLIENT_FORWARD && !c->ex.resp_started) {
		client_refuse(c, 408, "the request body stalled for timeouts.client_idle");
		return;
	}
	/* Before any response, the end of the client's sending is taken as
	 * the client leaving (nginx does the same): 499, and the server's
	 * request is abandoned by closing its connection. */
	client_abort(c, (what & BEV_EVENT_TIMEOUT) ? ACCESS_TERM_CLIENT_TIMEOUT :
						     ACCESS_TERM_CLIENT_CLOSED);
}

static void on_read_event(short what, void *arg)
{
	struct client_conn *c = arg;

	on_event(c->bev, what, c);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct client_conn *c = arg;

	if (c->state == CLIENT_HEAD) {
		client_refuse(c, 408, "the request head was not complete within timeouts.header");
		return;
	}
	client_free(c); /* idle keep-alive, or the end of a lingering close */
}

static void client_stop(struct conn_link *link)
{
	struct client_conn *c = (struct client_conn *)link;

	/* Retiring for an upgrade, every connection carries on: its next
	 * request head, read while stopping, is answered with Connection:
	 * close (http_client.c), so no client meets a connection closed under
	 * a request it sent. */
	if (c->w->keeps_idle)
		return;
	if (c->state == CLIENT_IDLE)
		client_free(c);
	else
		c->keep_alive = false;
}

static void client_destroy(struct conn_link *link)
{
	client_abort((struct client_conn *)link, ACCESS_TERM_SHUTDOWN);
}

/* --- set-up ----------------------------------------------------------------- */

/* Give C its bufferevent and start reading. Returns 0, or -1 with BEV
 * left to the caller. */
static int client_attach(struct client_conn *c, struct bufferevent *bev)
{
	if (io_reader_init(&c->rd, c->w->base, bev, RELAY_HIGH_WATER, on_readable, on_read_event,
			   c) < 0) {
		io_reader_free(&c->rd);
		return -1;
	}
	c->bev = bev;
	c->ex.side.to_client = bufferevent_get_output(bev);
	bufferevent_setcb(c->bev, c->in.tls ? on_tls_read : NULL, on_write, on_event, c);
	bufferevent_setwatermark(c->bev, EV_WRITE, RELAY_LOW_WATER, 0);
	bufferevent_disable(c->bev, EV_WRITE); /* on by default; see io.h */
	io_reader_set(&c->rd, true);
	return 0;
}

/* The client speaks HTTP/2: the connection goes to the HTTP/2 side with
 * BEV and what it has read. */
static void client_hand_over(struct client_conn *c, struct bufferevent *bev)
{
	struct client_handover ho = { .hw = c->hw,
				      .bev = bev,
				      .in = c->in,
				      .lrt = c->lrt,
				      .link = &c->link };

	io_reader_free(&c->rd);
	c->bev = NULL;
	c->in.cert_subject = NULL; /* the HTTP/2 side's, with its copy */
	if (c->hw->h2_start(&ho) == 0)
		c->handed_over = true;
	else
		bufferevent_free(bev);
	client_free(c);
}

bool client_h2_preface(struct client_conn *c)
{
	static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
	struct evbuffer *in = bufferevent_get_input(c->bev);
	char buf[sizeof(preface) - 1];
	size_t n = evbuffer_get_length(in);

	if (n > sizeof(buf))
		n = sizeof(buf);
	evbuffer_copyout(in, buf, n);
	if (memcmp(buf, preface, n) != 0) {
		c->h2_sniff = false; /* HTTP/1, as ever */
		return false;
	}
	if (n < sizeof(buf))
		return true;
	c->h2_sniff = false;
	client_hand_over(c, c->bev);
	return true;
}

/* The connection's start is over (inbound.h): requests may come. */
static void on_ready(void *arg, struct bufferevent *bev)
{
	struct client_conn *c = arg;

	if (c->h2_allowed && c->in.tls && tls_selected_h2(bev)) {
		client_hand_over(c, bev);
		return;
	}
	c->h2_sniff = c->h2_allowed && !c->in.tls;
	if (client_attach(c, bev) < 0) {
		bufferevent_free(bev);
		client_free(c);
	}
}

static void on_start_failed(void *arg, enum inbound_failure why)
{
	struct client_conn *c = arg;

	if (why == INBOUND_PLAIN_HTTP)
		answer_plain_http(c);
	client_free(c);
}

static const struct inbound_ops client_start_ops = {
	.ready = on_ready,
	.failed = on_start_failed,
};

int client_accept(struct http_worker *hw, size_t listener_index, int fd,
		  const struct sockaddr *peer)
{
	struct worker *w = hw->w;
	struct client_conn *c = calloc(1, sizeof(*c));
	const struct listener_conf *l = &w->cfg->listeners[listener_index];

	if (!c)
		return -1;
	c->w = w;
	c->hw = hw;
	c->lrt = l->rt;
	c->h2_allowed = l->http2 && hw->h2_start;
	c->timer = evtimer_new(w->base, on_timer, c);
	if (!c->timer || inbound_init(&c->in, w, l, fd, peer) < 0) {
		if (c->timer)
			event_free(c->timer);
		free(c);
		return -1;
	}
	c->link.stop = client_stop;
	c->link.destroy = client_destroy;
	client_requests_init(c);
	listener_rt_opened(c->lrt);
	worker_conn_add(w, &c->link);
	/* The first request must start arriving within the header timeout,
	 * counted from accept: it bounds the PROXY header and the TLS
	 * handshake too. */
	client_arm_timer(c, w->cfg->timeouts.header_ms);
	inbound_start(&c->in, &client_start_ops, c);
	return 0;
}
