/* tcp_proxy.c — listeners with protocol: tcp: a client connection is
 * joined to a server of the listener's pool, reached through the peer
 * (event/peer.h: pick, connect plain or TLS, retry on another server),
 * and both are handed to a tunnel. */
#include "stream/tcp_proxy.h"

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/runtime.h"
#include "event/peer.h"
#include "event/worker.h"
#include "stream/inbound.h"
#include "stream/proxy_protocol.h"
#include "stream/tunnel.h"

struct tcp_conn {
	struct conn_link link; /* first: the worker's list points here */
	struct worker *w;
	struct config *cfg; /* one ref, for the pool's lifetime */
	struct pool_conf *pool;
	struct bufferevent *client;
	struct peer peer;                           /* the server side */
	struct listener_rt *lrt;                    /* counts this connection until it ends */
	struct inbound in;                          /* the start: PROXY header, TLS */
	unsigned char proxy_header[PP_ENCODED_MAX]; /* pools[].send_proxy */
};

static void tcp_free(struct tcp_conn *t)
{
	inbound_free(&t->in);
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

	counter_add(&t->lrt->shard[runtime_shard].bytes_in, bytes[0]);
	counter_add(&t->lrt->shard[runtime_shard].bytes_out, bytes[1]);
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

	if (status == 503 && t->peer.queue_rejected)
		log_warn("pool %s: TCP client %s turned away: %s", t->pool->name, t->in.peer_ip,
			 queue_reject_names[t->peer.reject]);
	else if (status == 503)
		log_warn("pool %s: no server available for TCP client %s", t->pool->name,
			 t->in.peer_ip);
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
		.worker = t->w,
		.pool = t->pool,
		.ops = &tcp_peer_ops,
		.key = t->in.peer_ip,
		.key_len = strlen(t->in.peer_ip),
	};
	if (t->pool->send_proxy != SEND_PROXY_OFF) {
		t->peer.send_first = t->proxy_header;
		t->peer.send_first_len = inbound_proxy_header(&t->in, (int)t->pool->send_proxy,
							      t->proxy_header);
	}
	peer_connect(&t->peer);
}

/* Before a server is reached: a client that fails is let go; one that
 * ends its stream keeps its place (its bytes wait in the input buffer, and
 * the tunnel, reading again, sees the end and passes it on). */
static void on_client_event(struct bufferevent *bev, short what, void *arg)
{
	if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR)) {
		bufferevent_disable(bev, EV_READ);
		return;
	}
	tcp_free(arg);
}

/* The client's start is over (inbound.h; with TLS the handshake is done,
 * so that garbage or a stalled handshake never costs a server connection):
 * the server is reached now (ip_hash hashes the address a PROXY header
 * carried). What the client sends meanwhile is read into its input buffer
 * (up to the read watermark) and relayed by the tunnel. */
static void on_ready(void *arg, struct bufferevent *bev)
{
	struct tcp_conn *t = arg;

	t->client = bev;
	bufferevent_setwatermark(t->client, EV_READ, 0, 64 * 1024);
	bufferevent_setcb(t->client, NULL, NULL, on_client_event, t);
	bufferevent_enable(t->client, EV_READ);
	connect_server(t);
}

static void on_start_failed(void *arg, enum inbound_failure why)
{
	tcp_free(arg);
}

static const struct inbound_ops tcp_start_ops = {
	.ready = on_ready,
	.failed = on_start_failed,
};

static void tcp_stop(struct conn_link *link)
{
}

static void tcp_destroy(struct conn_link *link)
{
	tcp_free((struct tcp_conn *)link);
}

static int tcp_proxy_accept(void *ctx, size_t listener_index, int fd, const struct sockaddr *peer,
			    socklen_t peer_len)
{
	struct worker *w = ctx;
	struct tcp_conn *t = calloc(1, sizeof(*t));
	const struct listener_conf *l = &w->cfg->listeners[listener_index];

	if (!t)
		return -1;
	if (inbound_init(&t->in, w, l, fd, peer) < 0) {
		free(t);
		return -1;
	}
	t->w = w;
	t->cfg = config_ref(w->cfg);
	t->pool = l->routes[0].pool;
	t->lrt = l->rt;
	listener_rt_opened(t->lrt);
	t->link.stop = tcp_stop;
	t->link.destroy = tcp_destroy;
	worker_conn_add(w, &t->link);
	inbound_start(&t->in, &tcp_start_ops, t);
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
