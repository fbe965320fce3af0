/* http_client_conn.c — a client connection's socket from accept to close:
 * the bufferevent (plain, or TLS with the handshake, and a plain HTTP
 * request on a TLS port answered 400), the PROXY header (from the input
 * buffer, or from the socket before the handshake), the events of the
 * socket and of the connection's timer, the worker's stop, the lingering
 * close and freeing. What arrives is handed to http_client.c, which owns
 * the requests (http_client.h).
 */
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include "http/http_client.h"
#include "http/http_error.h"
#include "event/io.h"
#include "core/log.h"
#include "stream/pp_socket.h"
#include "stream/proxy_protocol.h"
#include "event/proxy.h"
#include "core/runtime.h"
#include "stream/tcp_proxy.h"
#include "tls/tls_listener.h"
#include "util/addr.h"

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
	pp_wait_free(c->ppw, 1);
	io_reader_free(&c->rd);
	if (c->bev)
		bufferevent_free(c->bev);
	request_parser_free(&c->req);
	http_head_free(&c->ex.resp);
	atomic_fetch_sub_explicit(&c->lrt->connections, 1, memory_order_relaxed);
	worker_conn_remove(c->w, &c->link);
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

	if (c->tls)
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

/* --- the PROXY header ---------------------------------------------------- */

/* The PROXY header at the start of a connection: its source becomes the
 * client address. Returns 1 when it is done, 0 to wait for more bytes, -1
 * when the connection was closed (not a valid header: nothing is
 * answered, as HAProxy does). */
static int read_proxy_header(struct client_conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	size_t len = evbuffer_get_length(in), used;
	struct pp_result pp;

	if (len > PP_MAX)
		len = PP_MAX;
	const unsigned char *p = evbuffer_pullup(in, (ev_ssize_t)len);
	enum pp_status st = len ? pp_parse(p, len, &pp, &used) : PP_MORE;
	if (st == PP_MORE && len < PP_MAX)
		return 0;
	if (st != PP_DONE) {
		log_debug("client %s: no valid PROXY protocol header; closing", c->peer_ip);
		client_free(c);
		return -1;
	}
	evbuffer_drain(in, used);
	c->proxy_header = false;
	if (pp.has_addr) {
		addr_host_text((const struct sockaddr *)&pp.src, c->peer_ip, sizeof(c->peer_ip));
		c->peer_v6 = pp.src.ss_family == AF_INET6;
	}
	return 1;
}

/* --- connection events ----------------------------------------------------- */

static void on_readable(void *arg)
{
	struct client_conn *c = arg;

	/* Only bytes read here can hold the header: the requests after it
	 * are client_process()'s. */
	if (c->proxy_header && read_proxy_header(c) <= 0)
		return;
	client_process(c);
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
	if (c->ex.up)
		upstream_client_drained(c);
}

/* A plain HTTP request on a TLS port (OpenSSL recognises one by its first
 * bytes and writes nothing): answer 400 in the clear, as nginx does, so the
 * client learns why instead of seeing the connection drop (one access-log
 * line, as for every answer of lbd's own). What the client
 * sent is read first so that closing does not reset the answer away; the
 * answer is small enough for an empty socket buffer. */
static void answer_plain_http(struct client_conn *c)
{
	int fd = bufferevent_getfd(c->bev);
	struct evbuffer *out = evbuffer_new();
	char discard[4096];

	for (int i = 0; i < 16 && recv(fd, discard, sizeof(discard), MSG_DONTWAIT) > 0; i++)
		;
	if (!out)
		return;
	c->ex.start_us = monotonic_us();
	clock_gettime(CLOCK_REALTIME, &c->ex.start_real);
	c->ex.status = 400;
	c->ex.bytes_out = http_error_write(out, 400, true);
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

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct client_conn *c = arg;

	if (what & BEV_EVENT_CONNECTED)
		return; /* the TLS handshake is done; the request follows */

	if ((what & BEV_EVENT_EOF) && c->state == CLIENT_FORWARD && c->req.complete) {
		/* A half-close after a complete request: answer, then close. */
		c->keep_alive = false;
		return;
	}
	if ((what & BEV_EVENT_TIMEOUT) && (what & BEV_EVENT_READING) &&
	    c->state == CLIENT_FORWARD && !c->ex.resp_started) {
		client_error(c, 408); /* the request body stalled */
		return;
	}
	if (c->tls && (what & BEV_EVENT_ERROR) && !c->served && c->state == CLIENT_IDLE) {
		char why[128];
		bool plain = tls_error_text(c->bev, why, sizeof(why));
		log_debug("client %s: TLS handshake failed: %s", c->peer_ip, why);
		if (plain)
			answer_plain_http(c);
	}
	client_free(c);
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
		log_debug("client %s: request head not complete in time", c->peer_ip);
		client_error(c, 408);
		return;
	}
	client_free(c); /* idle keep-alive, or the end of a lingering close */
}

static void client_stop(struct conn_link *link)
{
	struct client_conn *c = (struct client_conn *)link;

	if (c->state == CLIENT_IDLE)
		client_free(c);
	else
		c->keep_alive = false;
}

static void client_destroy(struct conn_link *link)
{
	client_free((struct client_conn *)link);
}

/* --- set-up ----------------------------------------------------------------- */

/* Give C its bufferevent and start reading. Returns 0, or -1 with BEV
 * left to the caller. */
static int client_attach(struct client_conn *c, struct bufferevent *bev)
{
	if (io_reader_init(&c->rd, c->w->base, bev, RELAY_HIGH_WATER, on_readable,
			   on_read_event, c) < 0) {
		io_reader_free(&c->rd);
		return -1;
	}
	c->bev = bev;
	bufferevent_setcb(c->bev, c->tls ? on_tls_read : NULL, on_write, on_event, c);
	bufferevent_setwatermark(c->bev, EV_WRITE, RELAY_LOW_WATER, 0);
	bufferevent_disable(c->bev, EV_WRITE); /* on by default; see io.h */
	io_reader_set(&c->rd, true);
	return 0;
}

/* A TLS listener with proxy_protocol: the PROXY header, read from the
 * socket itself (pp_socket.h), then the TLS bufferevent. The header
 * timeout set at accept bounds both. */
static void on_pp_readable(evutil_socket_t fd, short what, void *arg)
{
	struct client_conn *c = arg;
	struct pp_result pp;
	enum pp_status st = pp_socket_read(fd, &c->ppw->st, &pp);
	struct bufferevent *bev;

	if (st == PP_MORE)
		return;
	if (st != PP_DONE) {
		log_debug("client %s: no valid PROXY protocol header; closing", c->peer_ip);
		client_free(c);
		return;
	}
	if (pp.has_addr) {
		addr_host_text((const struct sockaddr *)&pp.src, c->peer_ip, sizeof(c->peer_ip));
		c->peer_v6 = pp.src.ss_family == AF_INET6;
	}
	bev = tls_bev_new(c->ppw->ssl, c->w->base, fd);
	c->ppw->ssl = NULL; /* the bufferevent's now, or freed */
	if (!bev) {
		client_free(c);
		return;
	}
	if (client_attach(c, bev) < 0) {
		bufferevent_setfd(bev, -1); /* ppw closes FD */
		bufferevent_free(bev);
		client_free(c);
		return;
	}
	pp_wait_free(c->ppw, 0);
	c->ppw = NULL;
}

static int client_accept(struct worker *w, size_t listener_index, int fd,
			 const struct sockaddr *peer)
{
	struct client_conn *c = calloc(1, sizeof(*c));
	const struct listener_conf *l = &w->cfg->listeners[listener_index];
	struct bufferevent *bev = NULL;
	int one = 1;

	if (!c)
		return -1;
	c->w = w;
	c->lrt = l->rt;
	c->tls = l->tls != NULL;
	c->timer = evtimer_new(w->base, on_timer, c);
	if (c->timer && c->tls && l->proxy_protocol) {
		SSL *ssl = tls_listener_ssl(l->tls->ctx);
		if (ssl)
			c->ppw = pp_wait_new(w->base, fd, ssl, on_pp_readable, c, 0);
	} else if (c->timer && c->tls) {
		bev = tls_listener_bev(l->tls->ctx, w->base, fd);
	} else if (c->timer) {
		bev = bufferevent_socket_new(w->base, fd, BEV_OPT_CLOSE_ON_FREE);
	}
	if (!c->timer || (!bev && !c->ppw) || (bev && client_attach(c, bev) < 0)) {
		if (bev) {
			bufferevent_setfd(bev, -1); /* the caller closes FD */
			bufferevent_free(bev);
		}
		pp_wait_free(c->ppw, 0);
		if (c->timer)
			event_free(c->timer);
		free(c);
		return -1;
	}
	if (peer->sa_family != AF_UNIX)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	addr_host_text(peer, c->peer_ip, sizeof(c->peer_ip));
	c->peer_v6 = peer->sa_family == AF_INET6;
	/* Before TLS the header was read already (ppw). */
	c->proxy_header = l->proxy_protocol && !c->tls;
	c->link.stop = client_stop;
	c->link.destroy = client_destroy;
	client_requests_init(c);
	listener_rt_opened(c->lrt);
	worker_conn_add(w, &c->link);
	/* The first request must start arriving within the header timeout. */
	client_arm_timer(c, w->cfg->timeouts.header_ms);
	return 0;
}

int proxy_accept(struct worker *w, size_t listener_index, int fd,
		 const struct sockaddr *peer, socklen_t peer_len)
{
	if (w->cfg->listeners[listener_index].protocol == PROTO_TCP)
		return tcp_proxy_accept(w, listener_index, fd, peer);
	return client_accept(w, listener_index, fd, peer);
}
