/* tcp_proxy.c — listeners with protocol: tcp: a client connection is
 * joined to a server of the listener's pool, reached through the peer
 * (event/peer.h: pick, connect plain or TLS, retry on another server),
 * and both are handed to a tunnel. */
#include "stream/tcp_proxy.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "stream/pp_socket.h"
#include "stream/proxy_protocol.h"
#include "core/runtime.h"
#include "tls/tls_listener.h"
#include "stream/tunnel.h"
#include "event/peer.h"
#include "event/worker.h"
#include "util/clock.h"

struct tcp_conn {
	struct conn_link link;          /* first: the worker's list points here */
	struct worker *w;
	struct config *cfg;             /* one ref, for the pool's lifetime */
	struct pool_conf *pool;
	struct bufferevent *client;
	struct peer peer;               /* the server side */
	struct listener_rt *lrt;        /* counts this connection until it ends */
	struct pp_wait *ppw;            /* TLS after a PROXY header: no client
					 * bufferevent until it is read */
	char peer_ip[INET6_ADDRSTRLEN];
};

static void tcp_free(struct tcp_conn *t)
{
	pp_wait_free(t->ppw, 1);
	if (t->client)
		bufferevent_free(t->client);
	peer_release(&t->peer);
	atomic_fetch_sub_explicit(&t->lrt->connections, 1, memory_order_relaxed);
	config_unref(t->cfg);
	worker_conn_remove(t->w, &t->link);
	free(t);
}

/* The tunnel is over: its bytes are counted (BYTES[0] came from the
 * client), the server's active count and the generation go. */
static void tunnel_done(void *arg, const uint64_t bytes[2])
{
	struct tcp_conn *t = arg;

	counter_add(&t->lrt->bytes_in, bytes[0]);
	counter_add(&t->lrt->bytes_out, bytes[1]);
	peer_release(&t->peer);
	atomic_fetch_sub_explicit(&t->lrt->connections, 1, memory_order_relaxed);
	config_unref(t->cfg);
	free(t);
}

static struct tcp_conn *tcp_of(struct peer *p)
{
	return (struct tcp_conn *)((char *)p - offsetof(struct tcp_conn, peer));
}

static void peer_connected(struct peer *p, struct bufferevent *server)
{
	struct tcp_conn *t = tcp_of(p);
	struct bufferevent *client = t->client;

	t->client = NULL;
	/* The tunnel takes both sockets; this record lives on only as the
	 * tunnel's argument, for its end. */
	int rc = tunnel_start(t->w, client, server, t->pool->timeouts.tunnel_ms, tunnel_done, t);
	worker_conn_remove(t->w, &t->link);
	if (rc < 0)
		tunnel_done(t, (uint64_t[2]){ 0, 0 });
}

static void peer_failed(struct peer *p, int status)
{
	struct tcp_conn *t = tcp_of(p);

	if (status == 503)
		log_warn("pool %s: no server available for TCP client %s", t->pool->name,
			 t->peer_ip);
	tcp_free(t);
}

static const struct peer_ops tcp_peer_ops = {
	.connected = peer_connected,
	.failed = peer_failed,
};

static void connect_server(struct tcp_conn *t)
{
	t->peer = (struct peer){
		.base = t->w->base,
		.pool = t->pool,
		.ops = &tcp_peer_ops,
		.key = t->peer_ip,
		.key_len = strlen(t->peer_ip),
	};
	peer_connect(&t->peer);
}

static void on_client_event(struct bufferevent *bev, short what, void *arg)
{
	tcp_free(arg); /* the client left before a server was reached, or its
			* PROXY header did not arrive in time */
}

/* A listener with proxy_protocol: the header comes first, then the server
 * is picked (ip_hash hashes the address it carries). Anything else than a
 * valid header closes the connection. */
static void on_client_header(struct bufferevent *bev, void *arg)
{
	struct tcp_conn *t = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t len = evbuffer_get_length(in), used;
	struct pp_result pp;

	if (len > PP_MAX)
		len = PP_MAX;
	enum pp_status st = pp_parse(evbuffer_pullup(in, (ev_ssize_t)len), len, &pp, &used);
	if (st == PP_MORE && len < PP_MAX)
		return;
	if (st != PP_DONE) {
		log_debug("TCP client %s: no valid PROXY protocol header; closing", t->peer_ip);
		tcp_free(t);
		return;
	}
	evbuffer_drain(in, used);
	if (pp.has_addr)
		addr_host_text((const struct sockaddr *)&pp.src, t->peer_ip, sizeof(t->peer_ip));
	bufferevent_setcb(t->client, NULL, NULL, on_client_event, t);
	bufferevent_set_timeouts(t->client, NULL, NULL);
	/* What followed the header waits in the input buffer; the tunnel
	 * relays it and reads on (an end of stream already sent must not end
	 * the connection before the server is reached). */
	bufferevent_disable(t->client, EV_READ);
	connect_server(t);
}

/* A TLS listener: the server is reached once the client's handshake is
 * done, so that garbage or a stalled handshake never costs a server
 * connection. */
static void on_client_handshake(struct bufferevent *bev, short what, void *arg)
{
	struct tcp_conn *t = arg;

	if (!(what & BEV_EVENT_CONNECTED)) {
		char why[128] = "timed out";
		if (!(what & BEV_EVENT_TIMEOUT))
			tls_error_text(bev, why, sizeof(why));
		log_debug("TCP client %s: TLS handshake failed: %s", t->peer_ip, why);
		tcp_free(t);
		return;
	}
	bufferevent_setcb(t->client, NULL, NULL, on_client_event, t);
	bufferevent_set_timeouts(t->client, NULL, NULL);
	connect_server(t);
}

static void start_handshake(struct tcp_conn *t)
{
	struct timeval tv;

	ms_to_timeval(t->cfg->timeouts.header_ms, &tv);
	bufferevent_setcb(t->client, NULL, NULL, on_client_handshake, t);
	bufferevent_set_timeouts(t->client, &tv, NULL);
	bufferevent_enable(t->client, EV_READ);
}

/* A TLS listener with proxy_protocol: the header is read from the socket
 * itself (pp_socket.h), then the handshake starts. */
static void on_pp_readable(evutil_socket_t fd, short what, void *arg)
{
	struct tcp_conn *t = arg;
	struct pp_result pp;
	enum pp_status st = (what & EV_TIMEOUT) ? PP_BAD : pp_socket_read(fd, &t->ppw->st, &pp);

	if (st == PP_MORE)
		return;
	if (st != PP_DONE) {
		log_debug("TCP client %s: no valid PROXY protocol header; closing", t->peer_ip);
		tcp_free(t);
		return;
	}
	if (pp.has_addr)
		addr_host_text((const struct sockaddr *)&pp.src, t->peer_ip, sizeof(t->peer_ip));
	t->client = tls_bev_new(t->ppw->ssl, t->w->base, fd);
	t->ppw->ssl = NULL; /* the bufferevent's now, or freed */
	if (!t->client) {
		tcp_free(t);
		return;
	}
	pp_wait_free(t->ppw, 0);
	t->ppw = NULL;
	bufferevent_setwatermark(t->client, EV_READ, 0, 64 * 1024);
	start_handshake(t);
}

static void tcp_stop(struct conn_link *link)
{
}

static void tcp_destroy(struct conn_link *link)
{
	tcp_free((struct tcp_conn *)link);
}

static int tcp_proxy_accept(void *ctx, size_t listener_index, int fd,
			    const struct sockaddr *peer, socklen_t peer_len)
{
	struct worker *w = ctx;
	struct tcp_conn *t = calloc(1, sizeof(*t));
	const struct listener_conf *l = &w->cfg->listeners[listener_index];

	if (!t)
		return -1;
	if (l->tls && l->proxy_protocol) {
		SSL *ssl = tls_listener_ssl(l->tls->ctx);
		if (ssl)
			t->ppw = pp_wait_new(w->base, fd, ssl, on_pp_readable, t,
					     w->cfg->timeouts.header_ms);
	} else if (l->tls) {
		t->client = tls_listener_bev(l->tls->ctx, w->base, fd);
	} else {
		t->client = bufferevent_socket_new(w->base, fd, BEV_OPT_CLOSE_ON_FREE);
	}
	if (!t->client && !t->ppw) {
		free(t);
		return -1;
	}
	t->w = w;
	t->cfg = config_ref(w->cfg);
	t->pool = t->cfg->listeners[listener_index].routes[0].pool;
	t->lrt = t->cfg->listeners[listener_index].rt;
	listener_rt_opened(t->lrt);
	t->link.stop = tcp_stop;
	t->link.destroy = tcp_destroy;
	addr_host_text(peer, t->peer_ip, sizeof(t->peer_ip));
	worker_conn_add(w, &t->link);
	if (t->ppw)
		return 0;
	/* Bytes the client sends early wait in its input buffer (bounded by
	 * the read watermark) and are relayed once the server is there. */
	bufferevent_setwatermark(t->client, EV_READ, 0, 64 * 1024);
	if (t->cfg->listeners[listener_index].proxy_protocol) {
		struct timeval tv;
		ms_to_timeval(t->cfg->timeouts.header_ms, &tv);
		bufferevent_setcb(t->client, on_client_header, NULL, on_client_event, t);
		bufferevent_set_timeouts(t->client, &tv, NULL);
		bufferevent_enable(t->client, EV_READ);
		return 0;
	}
	if (l->tls) {
		start_handshake(t); /* over within the header timeout */
		return 0;
	}
	bufferevent_setcb(t->client, NULL, NULL, on_client_event, t);
	bufferevent_enable(t->client, EV_READ);
	connect_server(t);
	return 0;
}

/* TCP keeps no per-worker state: its context is the worker itself. */
static void *tcp_worker_init(struct worker *w)
{
	return w;
}

static void tcp_worker_free(void *ctx)
{
}

const struct worker_protocol tcp_protocol = {
	.name = "tcp",
	.init = tcp_worker_init,
	.accept = tcp_proxy_accept,
	.free = tcp_worker_free,
};
